/*
 * agg.h -- private to mongod/: what connects query/'s aggregation pipelines
 * to the data node (mongod/agg.c).
 *
 *   - a pipeline run over the executor: the leading $match/$sort handed to
 *     the planner (so indexes serve them), only the fields the pipeline needs
 *     fetched, the rest of the stages pulled on top (micad_agg_open);
 *   - the data-source callbacks stages use to reach other namespaces:
 *     $lookup/$graphLookup/$unionWith sub-scans (the same machinery, so an
 *     indexed foreignField uses its index), $out (temp collection + rename
 *     with dropTarget) and $merge writes (db.c's units of work, locks and
 *     validators), $collStats and $indexStats;
 *   - an executor wrapper (micad_exec_create_ext) so the cursor manager parks
 *     an aggregation like a find, and getMore resumes it.
 *
 * mongod/README.md ("Aggregation") tells the design.
 */
#ifndef MICA_MONGOD_AGG_H
#define MICA_MONGOD_AGG_H

#include "mongod/cursors.h"

/*
 * MICAD_AGG_TMP_DIR -- spills of blocking stages go to <dbpath>/_tmp, as
 * MongoDB's; the folder is emptied the first time an aggregation runs in
 * the process (nothing can be spilling then, so leftovers of a crash go).
 */
#define MICAD_AGG_TMP_DIR "_tmp"

/* micad_agg_opts_t -- the aggregate command's options that shape the run. */
typedef struct micad_agg_opts {
    const bson_t *let; /* the command's let (may be NULL) */
    bool has_hint;
    bson_value_t hint;      /* borrowed */
    bool allow_disk_use;    /* default true (6.0+) */
    bool bypass_validation; /* bypassDocumentValidation for $out/$merge */
    int64_t max_time_ms;
} micad_agg_opts_t;

/* micad_agg_t -- one pipeline run: the pipeline, its executor, its data source. */
typedef struct micad_agg micad_agg_t;

/*
 * micad_agg_open -- parse, optimise and open pipeline (a BSON array) over
 * db.coll (coll NULL: collectionless, {aggregate: 1}) for op. On success *out
 * is ready for micad_agg_next inside a batch (micad_agg_begin_batch).
 */
int micad_agg_open(const wire_opctx_t *op, const char *db, const char *coll, const bson_t *pipeline,
                   const micad_agg_opts_t *o, micad_agg_t **out, status_t *st);
/* micad_agg_begin_batch -- restore every storage reader the run has open. */
int micad_agg_begin_batch(micad_agg_t *a, status_t *st);
/* micad_agg_end_batch -- save them (positions released) between batches. */
void micad_agg_end_batch(micad_agg_t *a);
/* micad_agg_next -- the next output document (micad_exec_next's rule for out). */
int micad_agg_next(micad_agg_t *a, int64_t deadline_us, bson_t *out, bool *eof, status_t *st);
/* micad_agg_detach -- the command that opened a is done: later batches run without its op. */
void micad_agg_detach(micad_agg_t *a);
/* micad_agg_destroy -- close everything (NULL-safe). */
void micad_agg_destroy(micad_agg_t *a);
/* micad_agg_to_exec -- wrap a as an executor for the cursor manager (a is owned by it). */
void micad_agg_to_exec(micad_agg_t *a, const char *ns, micad_exec_t **out);

/*
 * micad_agg_explain -- explain's stages for a: [{$cursor: {queryPlanner,
 * executionStats?}}, <the remaining stages>...] appended to reply as
 * "stages", or the queryPlanner alone when the whole pipeline went to the
 * planner. verbosity as micad_exec_explain.
 */
void micad_agg_explain(micad_agg_t *a, int verbosity, int64_t elapsed_ms, bson_t *reply);

/*
 * micad_agg_explain_cmd -- explain of an aggregate command document (the
 * explain command and {aggregate, explain: true}): explainVersion, then the
 * stages or the planner's queryPlanner, into reply (commands/aggregate.c).
 */
int micad_agg_explain_cmd(wire_opctx_t *op, const bson_t *cmd, int verbosity, bson_t *reply,
                          status_t *st);

/*
 * Pipeline-style updates ({u: [{$set: ...}, ...]} in update and
 * findAndModify): only $addFields/$set/$project/$unset/$replaceRoot/
 * $replaceWith (others: InvalidOptions 72), `c` constants as $$name.
 */
typedef struct micad_upd_pipeline micad_upd_pipeline_t;
/*
 * micad_agg_update_parse -- check and parse an update pipeline; constants
 * (`c`) and let_values (the command's let, evaluated) may be NULL; `c` wins
 * over a let variable of the same name.
 */
int micad_agg_update_parse(const bson_t *pipeline, const bson_t *constants,
                           const bson_t *let_values, micad_upd_pipeline_t **out, status_t *st);
/*
 * micad_agg_update_apply -- the pipeline over one document: res is
 * initialised here (doc, changed); _id is kept, and changing it is
 * ImmutableField (66).
 */
int micad_agg_update_apply(const micad_upd_pipeline_t *u, const bson_t *doc,
                           qry_update_result_t *res, status_t *st);
/* micad_agg_update_transform -- micad_agg_update_apply as the write path's transform (arg: u). */
int micad_agg_update_transform(const void *arg, const bson_t *doc, qry_update_result_t *res,
                               status_t *st);
/* micad_agg_update_destroy -- free (NULL-safe). */
void micad_agg_update_destroy(micad_upd_pipeline_t *u);

/*
 * A write command's `let` (update, delete, findAndModify): evaluated once
 * when the command starts; $expr in its filters reads the values as $$name
 * (matchers parsed with micad_let_hooks), and update pipelines get them as
 * constants (micad_let_values).
 */
typedef struct micad_let micad_let_t;
/* micad_let_open -- evaluate let ({name: expression}; NULL: none) into *out. */
int micad_let_open(const bson_t *let, micad_let_t **out, status_t *st);
/* micad_let_hooks -- $expr hooks for qry_match_parse seeing l's variables (l may be NULL). */
qry_match_hooks_t micad_let_hooks(const micad_let_t *l);
/* micad_let_values -- {name: value} (NULL when l is NULL). */
const bson_t *micad_let_values(const micad_let_t *l);
/* micad_let_destroy -- free (NULL-safe); after every matcher parsed with its hooks. */
void micad_let_destroy(micad_let_t *l);

/*
 * micad_agg_max_memory -- the per-stage memory limit: the smaller of the
 * server parameters internalDocumentSourceGroupMaxMemoryBytes and
 * internalQueryMaxBlockingSortMemoryUsageBytes (100 MB each by default).
 */
size_t micad_agg_max_memory(void);

#endif /* MICA_MONGOD_AGG_H */
