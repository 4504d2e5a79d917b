/*
 * write.h -- private to mongod/: the one write path. Every document write and
 * every catalog change of the data node -- from the write commands, $out and
 * $merge, the TTL monitor, and later the oplog applier and migrations --
 * goes through these functions, and they are the one place that reports
 * writes to the observer (MongoDB's OpObserver): replication registers an
 * observer that writes the oplog entry in the same storage transaction.
 *
 * Layering (DESIGN.md): commands/ -> write.c (this) -> db.c -> storage/.
 * write.c never calls up into commands/ or agg.c; a pipeline-style update
 * reaches it as a transform callback.
 *
 * mongod/README.md ("The write path") tells the rules.
 */
#ifndef MICA_MONGOD_WRITE_H
#define MICA_MONGOD_WRITE_H

#include "mongod/db.h"

/* ---- the observer ------------------------------------------------------- */

/* micad_wev_kind_t -- what an observed write did. */
typedef enum micad_wev_kind {
    MICAD_WEV_INSERT,  /* doc: the stored document */
    MICAD_WEV_UPDATE,  /* before / doc: the document before and after */
    MICAD_WEV_DELETE,  /* before: the document removed */
    MICAD_WEV_COMMAND, /* o / o2: a catalog change in the oplog's command shape */
} micad_wev_kind_t;

/*
 * micad_write_event_t -- one observed write. Everything is borrowed for the
 * call. ns is the collection's namespace ("db.coll"); for a command it is the
 * collection the command concerns (the oplog writes "db.$cmd").
 */
typedef struct micad_write_event {
    micad_wev_kind_t kind;
    const char *ns;
    const uint8_t *uuid; /* the collection's UUID (16 bytes), or NULL */
    const bson_t *doc;
    const bson_t *before;
    const bson_t *o;  /* command: {create: "c", ...}, {drop: "c"}, ... */
    const bson_t *o2; /* command: extra facts (drop: {numRecords}), or NULL */
} micad_write_event_t;

/*
 * micad_write_observer_fn -- called for every write. For documents it runs
 * inside the write's unit of work (sess has it open): a failure aborts the
 * write. For a catalog change (which storage cannot make transactional) it
 * runs in a unit of work of its own right after the change.
 */
typedef int (*micad_write_observer_fn)(void *ctx, stor_session_t *sess,
                                       const micad_write_event_t *ev, status_t *st);

/* micad_write_set_observer -- install the observer (NULL: none, a standalone). */
void micad_write_set_observer(micad_write_observer_fn fn, void *ctx);

/* ---- document primitives (inside the caller's unit of work) ------------- */

/* micad_write_insert -- store doc (prepared, _id first) and observe it; *rid may be NULL. */
int micad_write_insert(stor_session_t *sess, stor_collection_t *coll, const bson_t *doc,
                       int64_t *rid, status_t *st);
/* micad_write_update -- replace rid's document before with after, observed. */
int micad_write_update(stor_session_t *sess, stor_collection_t *coll, int64_t rid,
                       const bson_t *before, const bson_t *after, status_t *st);
/* micad_write_delete -- remove rid (whose document is doc), observed. */
int micad_write_delete(stor_session_t *sess, stor_collection_t *coll, int64_t rid,
                       const bson_t *doc, status_t *st);

/* ---- document operations (each in its own unit of work, conflicts retried) ---- */

/*
 * micad_write_insert_one -- insert the prepared document doc into coll; a
 * capped collection is trimmed from its oldest record in the same unit of
 * work (the caller holds the namespace exclusively for capped collections).
 */
int micad_write_insert_one(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                           const bson_t *doc, status_t *st);
/* micad_write_is_capped -- whether coll is a capped collection (insert under an exclusive lock). */
bool micad_write_is_capped(stor_collection_t *coll);

/*
 * micad_doc_transform_fn -- a pipeline-style update over one document (the
 * write path does not know aggregation: mongod/agg.c provides it).
 */
typedef int (*micad_doc_transform_fn)(const void *arg, const bson_t *doc, qry_update_result_t *res,
                                      status_t *st);

/* micad_update_job_t -- one document's update: inputs, then what happened. */
typedef struct micad_update_job {
    stor_collection_t *coll;
    const qry_match_t *match;
    const qry_update_t *upd;          /* operator or replacement update, or NULL with transform */
    micad_doc_transform_fn transform; /* pipeline-style update, or NULL */
    const void *transform_arg;
    const micad_validator_t *val; /* NULL: bypassDocumentValidation */
    int64_t rid;
    /* results of the last (committed) run */
    bool matched;  /* the document still existed and matched */
    bool modified; /* and the update changed it */
    bson_t before, after;
    bool has_errinfo; /* DocumentValidationFailure details */
    bson_t errinfo;
} micad_update_job_t;

/* micad_update_job_init / _destroy -- empty documents; destroy frees them. */
void micad_update_job_init(micad_update_job_t *j);
void micad_update_job_destroy(micad_update_job_t *j);
/* micad_update_one -- update j->rid in a unit of work (re-read, re-match, apply, write). */
int micad_update_one(const wire_opctx_t *op, stor_session_t *sess, micad_update_job_t *j,
                     status_t *st);
/*
 * micad_upsert_insert -- the upsert document for q and upd (or, with
 * transform, q's equalities run through it), checked (micad_db_prepare_insert,
 * validator) and inserted; inserted is initialised here and holds what was
 * stored.
 */
int micad_upsert_insert(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                        const micad_validator_t *val, const qry_update_t *upd,
                        micad_doc_transform_fn transform, const void *transform_arg,
                        const bson_t *q, bson_t *inserted, bson_t *errinfo, bool *has_errinfo,
                        status_t *st);

/*
 * micad_delete_rid -- delete rid in a unit of work if it still matches;
 * *deleted says whether it did; removed (may be NULL; initialised here when
 * not) receives the document removed.
 */
int micad_delete_rid(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                     const qry_match_t *match, int64_t rid, bool *deleted, bson_t *removed,
                     status_t *st);

/* ---- catalog changes (none may run inside a unit of work) ---------------- */

/*
 * micad_write_get_or_create -- the collection ns, created (with its _id_
 * index) if missing, as MongoDB does on a first write; *created says which.
 * Two racing creators both succeed with the same collection.
 */
int micad_write_get_or_create(micad_t *m, stor_session_t *sess, const char *ns,
                              stor_collection_t **out, bool *created, status_t *st);
/* micad_write_create_collection -- create ns with options (may be NULL); out may be NULL. */
int micad_write_create_collection(stor_session_t *sess, const char *ns, const bson_t *options,
                                  stor_collection_t **out, status_t *st);
/* micad_write_create_collection_uuid -- the same with a given UUID (an applied entry's ui). */
int micad_write_create_collection_uuid(stor_session_t *sess, const char *ns, const bson_t *options,
                                       const uint8_t *uuid, stor_collection_t **out, status_t *st);
/* micad_write_drop_collection -- drop ns and its indexes. */
int micad_write_drop_collection(stor_session_t *sess, const char *ns, status_t *st);
/* micad_write_rename_collection -- rename from -> to (drop_target replaces an existing to). */
int micad_write_rename_collection(stor_session_t *sess, const char *from, const char *to,
                                  bool drop_target, status_t *st);
/* micad_write_create_index -- create and build an index (IndexAlreadyExists 68 as storage). */
int micad_write_create_index(stor_session_t *sess, stor_collection_t *coll, const bson_t *spec,
                             status_t *st);
/* micad_write_index_built -- an index an online build just committed: its createIndexes
 * oplog entry (on a primary; nothing on a standalone). Writers still kept out. */
int micad_write_index_built(stor_session_t *sess, stor_collection_t *coll, stor_index_t *idx,
                            status_t *st);
/* micad_write_drop_index -- drop coll's index name. */
int micad_write_drop_index(stor_session_t *sess, stor_collection_t *coll, const char *name,
                           status_t *st);
/*
 * micad_write_coll_mod -- collMod: replace coll's options with opts (NULL:
 * unchanged) and idx's spec with spec (NULL: unchanged), observed as one
 * collMod.
 */
int micad_write_coll_mod(stor_session_t *sess, stor_collection_t *coll, const bson_t *opts,
                         stor_index_t *idx, const bson_t *spec, status_t *st);

/* ---- clustered collections (clustered.c) ---- */

/* micad_clustered_create_options -- create's clusteredIndex and expireAfterSeconds checked as
 * MongoDB 7.0 checks them; the canonical clusteredIndex ({v, key, name, unique}) and
 * expireAfterSeconds appended to opts. 0 and nothing appended when not clustered. */
int micad_clustered_create_options(const bson_t *cmd, bson_t *opts, status_t *st);
/* micad_clustered_spec -- whether a collection's options make it clustered; spec (may be NULL)
 * becomes a view of its clusteredIndex document. */
bool micad_clustered_spec(const bson_t *coll_options, bson_t *spec);
/* micad_clustered_expire_after -- a clustered collection's expireAfterSeconds (TTL by _id). */
bool micad_clustered_expire_after(const bson_t *coll_options, int64_t *secs);
/* micad_clustered_list_indexes -- listIndexes' array with the _id index shown as the cluster
 * key ({v, key, name, unique, clustered: true}) when the collection is clustered. */
void micad_clustered_list_indexes(const bson_t *coll_options, const bson_t *list, bson_t *out);

#endif /* MICA_MONGOD_WRITE_H */
