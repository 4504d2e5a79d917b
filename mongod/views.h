/*
 * views.h -- private to mongod/: read-only views (MongoDB's view catalog).
 *
 * A view is a document {_id: "db.view", viewOn: "coll", pipeline: [...]} in
 * the database's system.views collection, as MongoDB stores it. Reads of a
 * view are rewritten into an aggregation over the collection the view chain
 * ends at, with the views' pipelines (innermost first) before the reader's
 * own stages; writes and index commands answer CommandNotSupportedOnView.
 * mongod/README.md ("Views") tells the rules.
 */
#ifndef MICA_MONGOD_VIEWS_H
#define MICA_MONGOD_VIEWS_H

#include "mongod/db.h"

/*
 * MICAD_VIEW_MAX_DEPTH -- MongoDB's limit on views defined on views (20): a
 * chain is resolved at every read, so its length bounds the work a read does
 * before it reaches a collection.
 */
#define MICAD_VIEW_MAX_DEPTH 20

/* micad_view_t -- a namespace resolved through its view chain. */
typedef struct micad_view {
    bool is_view;                   /* false: ns is not a view (backing == ns) */
    char ns[MICAD_NS_MAX + 1];      /* the view asked for */
    char backing[MICAD_NS_MAX + 1]; /* the collection the chain ends at */
    const char *backing_coll;       /* its collection name (points into backing) */
    bson_t pipeline;                /* array: every view's stages, innermost first */
} micad_view_t;

/* micad_view_resolve -- resolve ns (a view or not; always destroy v). */
int micad_view_resolve(micad_t *m, const char *ns, micad_view_t *v, status_t *st);
/* micad_view_destroy -- NULL-safe. */
void micad_view_destroy(micad_view_t *v);
/* micad_view_is_view -- whether ns names a view (false on any error). */
bool micad_view_is_view(micad_t *m, const char *ns);
/* micad_view_refuse -- CommandNotSupportedOnView 166 if ns is a view (writes, index commands). */
int micad_view_refuse(micad_t *m, const char *ns, status_t *st);

/*
 * micad_view_create -- {create: "v", viewOn, pipeline[, collation]} after the
 * caller parsed them: validates the pipeline (parses, no $out/$merge), refuses
 * cycles (GraphContainsCycle 5) and chains over MICAD_VIEW_MAX_DEPTH (165), and
 * stores the definition. An existing collection or view is NamespaceExists 48.
 */
int micad_view_create(wire_opctx_t *op, const char *ns, const char *view_on, const bson_t *pipeline,
                      status_t *st);
/* micad_view_modify -- collMod of a view: a new pipeline and/or viewOn (NULL: keep). */
int micad_view_modify(wire_opctx_t *op, const char *ns, const char *view_on, const bson_t *pipeline,
                      status_t *st);
/* micad_view_drop -- drop view ns; *dropped false if ns is not a view. */
int micad_view_drop(wire_opctx_t *op, const char *ns, bool *dropped, status_t *st);
/*
 * micad_view_list -- the views of db as listCollections entries
 * ({name, type: "view", options: {viewOn, pipeline}, info: {readOnly: true}})
 * appended to out (an array under construction, *n its next index).
 */
int micad_view_list(micad_t *m, const char *db, bool name_only, const qry_match_t *filter,
                    bson_t *out, uint32_t *n, status_t *st);

/*
 * micad_view_rewrite -- the aggregate command equivalent to cmd (a find,
 * count, distinct or aggregate on view v) over v's backing collection, as
 * MongoDB's asAggregationCommand builds it; out is initialised here. Find
 * options aggregation cannot honour are InvalidPipelineOperator (168).
 */
int micad_view_rewrite(const micad_view_t *v, const bson_t *cmd, bson_t *out, status_t *st);

/* micad_agg_run_opts_t -- how micad_aggregate_run reports its cursor. */
typedef struct micad_agg_run_opts {
    const char *cursor_ns; /* the namespace the cursor reports (a view's) or NULL */
    bool single_batch;     /* find's singleBatch: no cursor stays open */
} micad_agg_run_opts_t;

/* micad_aggregate_run -- the aggregate command (commands/aggregate.c) with run options. */
int micad_aggregate_run(wire_opctx_t *op, const bson_t *cmd, const micad_agg_run_opts_t *ro,
                        bson_t *reply, status_t *st);
/* micad_view_read -- run find/count/distinct/aggregate cmd over view v and answer in the
 * command's own reply shape (cursor; {n}; {values}). */
int micad_view_read(wire_opctx_t *op, const micad_view_t *v, const bson_t *cmd, bson_t *reply,
                    status_t *st);
/* micad_view_explain -- explain of cmd (find/count/distinct/aggregate) on view v. */
int micad_view_explain(wire_opctx_t *op, const micad_view_t *v, const bson_t *cmd, int verbosity,
                       bson_t *reply, status_t *st);

/* micad_view_dispatch -- if cmd (find/count/distinct) names a view, answer it here
 * (*handled); otherwise leave it to the command. */
int micad_view_dispatch(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, bool *handled,
                        status_t *st);
/* micad_view_refuse_cmd -- CommandNotSupportedOnView 166 if cmd's namespace is a view. */
int micad_view_refuse_cmd(wire_opctx_t *op, const bson_t *cmd, status_t *st);

#endif /* MICA_MONGOD_VIEWS_H */
