/*
 * db.h -- private to mongod/: the data-access layer every storage-backed
 * command uses (writes: insert/update/delete/findAndModify and the catalog
 * commands; reads: find/getMore/count/distinct).
 *
 *   - the worker thread's storage session (opened lazily, one per thread);
 *   - namespace rules (InvalidNamespace 73 with MongoDB's messages);
 *   - collection lookup with implicit creation on first write;
 *   - per-collection DDL locks (an index build keeps writers out);
 *   - the write-conflict retry loop (WriteConflict 112 never reaches clients);
 *   - write concern parsing and waiting;
 *   - document checks for inserts (size, _id rules, $-prefixed names);
 *   - the write-error list and command-argument helpers shared by the
 *     batch write commands.
 *
 * mongod/README.md ("Data access (db.c)") tells the rules.
 */
#ifndef MICA_MONGOD_DB_H
#define MICA_MONGOD_DB_H

#include "mongod/micad.h"
#include "query/query.h"

/* MICAD_NS_MAX -- "db.collection" may be at most 255 bytes (MongoDB's limit). */
#define MICAD_NS_MAX 255
/* MICAD_DB_NAME_MAX -- database names are shorter than 64 bytes (MongoDB's limit). */
#define MICAD_DB_NAME_MAX 63

/* ---- sessions ---------------------------------------------------------- */

/*
 * micad_db_session -- the calling thread's storage session on m's engine,
 * opened on first use and kept for the thread's life (closed at thread exit
 * or by micad_db_shutdown). Never close it yourself.
 */
int micad_db_session(micad_t *m, stor_session_t **out, status_t *st);
/*
 * micad_db_shutdown -- close every thread's session (call after the workers
 * stopped, before stor_engine_close). Sessions opened later start afresh.
 */
void micad_db_shutdown(void);
/* micad_db_matcher_ops -- query/'s matcher as storage's partial-index filter ops. */
void micad_db_matcher_ops(stor_matcher_ops_t *ops);

/* ---- namespaces -------------------------------------------------------- */

/* micad_db_check_db_name -- InvalidNamespace unless db is a valid database name. */
int micad_db_check_db_name(const char *db, status_t *st);
/* micad_db_check_coll_name -- InvalidNamespace unless coll is a valid collection name in db. */
int micad_db_check_coll_name(const char *db, const char *coll, status_t *st);
/* micad_db_make_ns -- validate db and coll and write "db.coll" into ns[MICAD_NS_MAX + 1]. */
int micad_db_make_ns(const char *db, const char *coll, char *ns, status_t *st);
/* micad_db_split_ns -- "db.coll" into db[128] and coll (a pointer into ns); InvalidNamespace. */
int micad_db_split_ns(const char *ns, char *db, const char **coll, status_t *st);
/* micad_db_is_system -- whether coll is a system collection ("system." prefix). */
bool micad_db_is_system(const char *coll);
/* micad_db_check_user_write -- InvalidNamespace for namespaces clients may not write. */
int micad_db_check_user_write(const char *db, const char *coll, status_t *st);
/*
 * micad_db_cmd_ns -- the collection a command names in its first field
 * ({insert: "c", ...}) joined with op->db into ns[MICAD_NS_MAX + 1];
 * InvalidNamespace with MongoDB's messages for a wrong type or name.
 */
int micad_db_cmd_ns(const wire_opctx_t *op, const bson_t *cmd, char *ns, status_t *st);

/* ---- collections --------------------------------------------------------- */

/* micad_db_get_collection -- the live collection ns; NamespaceNotFound 26 "ns not found". */
int micad_db_get_collection(micad_t *m, const char *ns, stor_collection_t **out, status_t *st);
/*
 * Per-collection locks: writers of documents hold the namespace shared;
 * catalog changes that must not race with writers (index builds, drop,
 * rename) hold it exclusive. Locks are by namespace (hashed onto a fixed
 * table), so a lock also covers a collection that does not exist yet.
 */
/* micad_db_lock_ns -- take ns's lock, shared or exclusive. */
void micad_db_lock_ns(const char *ns, bool exclusive);
/* micad_db_unlock_ns -- release what micad_db_lock_ns took. */
void micad_db_unlock_ns(const char *ns, bool exclusive);
/* micad_db_lock_ns_pair -- both namespaces exclusive, deadlock-free (renameCollection). */
void micad_db_lock_ns_pair(const char *a, const char *b);
/* micad_db_unlock_ns_pair -- release what micad_db_lock_ns_pair took. */
void micad_db_unlock_ns_pair(const char *a, const char *b);

/* ---- units of work with write-conflict retry ----------------------------- */

/* micad_db_txn_fn -- the body of a unit of work; returns 0 or a code in st. */
typedef int (*micad_db_txn_fn)(stor_session_t *sess, void *arg, status_t *st);

/*
 * micad_db_commit_seq / micad_db_wait_commit -- every unit of work that commits bumps a
 * sequence number; an awaitData getMore (a secondary tailing the oplog) reads it before it
 * looks for new documents and, finding none, sleeps until it moves or until_us (monotonic)
 * passes, so a committed write reaches a tailing cursor at once rather than at its next poll.
 */
uint64_t micad_db_commit_seq(void);
void micad_db_wait_commit(uint64_t seen, int64_t until_us);
/*
 * micad_db_run_uow -- begin a unit of work, run fn, commit. WriteConflict
 * (from fn or the commit) aborts and runs fn again after a backoff, as
 * MongoDB's writeConflictRetry does, until op's deadline (MaxTimeMSExpired
 * 50). Any other error aborts and is returned. op may be NULL (no deadline).
 * fn must be safe to re-run: it must not keep effects outside the unit.
 */
int micad_db_run_uow(const wire_opctx_t *op, stor_session_t *sess, micad_db_txn_fn fn, void *arg,
                     status_t *st);
/* micad_db_check_deadline -- MaxTimeMSExpired 50 if op's maxTimeMS has passed. */
int micad_db_check_deadline(const wire_opctx_t *op, status_t *st);

/* ---- finding documents to write ----------------------------------------- */

/*
 * micad_db_find_rids -- the RecordIds of coll's documents that match m (the
 * parsed filter), in RecordId order, at most limit (0: all), into *rids
 * (bson_malloc'd; the caller frees). A filter {_id: <value>} reads the _id_
 * index instead of scanning. With sort (may be NULL) only the first document
 * in sort order is returned (limit must be 1): findAndModify's rule. Reads
 * in a snapshot of its own; writers re-check each document in their unit of
 * work, since it may have changed since. Honours op's deadline.
 */
int micad_db_find_rids(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                       const qry_match_t *m, const qry_sort_t *sort, int64_t limit, int64_t **rids,
                       size_t *n, status_t *st);

/*
 * micad_db_check_hint -- a write's hint must name an existing index (by
 * name, or by key pattern); BadValue "hint provided does not correspond to
 * an existing index" otherwise. {} means no hint. The index is not forced:
 * writes find documents by _id point lookup or scan.
 */
int micad_db_check_hint(micad_t *m, stor_collection_t *coll, const bson_iter_t *hint, status_t *st);
/*
 * micad_db_check_collation -- only the simple collation ({locale: "simple"})
 * is supported: anything else is NotImplemented 238.
 */
int micad_db_check_collation(const bson_iter_t *collation, status_t *st);

/* ---- write concern ------------------------------------------------------- */

/* micad_wc_t -- a parsed writeConcern on a standalone. */
typedef struct micad_wc {
    bool acknowledged; /* w != 0 */
    bool journal;      /* j: true, or w: "majority" (waits for the journal, as MongoDB) */
    int64_t w;         /* numeric w (1 by default); -1 for "majority", -2 for a custom mode */
    int64_t wtimeout;  /* accepted; a standalone never waits for other nodes */
    char mode[64];     /* w == -2: the settings.getLastErrorModes name */
    bool implicit;     /* no w given on a member: the resolver applies the default */
} micad_wc_t;

/*
 * micad_wc_resolver_fn -- a replica-set member's last word on a parsed write
 * concern, before the write runs: the default for one without w
 * (setDefaultRWConcern's, or MongoDB's implicit one), and a custom mode
 * checked against the config (UnknownReplWriteConcern 79).
 */
typedef int (*micad_wc_resolver_fn)(micad_wc_t *wc, status_t *st);
/* micad_db_set_wc_resolver -- install it (mongod/repl at start-up, before the listener). */
void micad_db_set_wc_resolver(micad_wc_resolver_fn fn);

/*
 * micad_db_write_concern -- parse op's writeConcern (w: 0..50 or "majority",
 * j, wtimeout, fsync). A standalone refuses w > 1 and custom modes with
 * BadValue (MongoDB's messages); FailedToParse for out-of-range w.
 */
int micad_db_write_concern(const wire_opctx_t *op, micad_wc_t *wc, status_t *st);
/*
 * micad_wc_waiter_fn -- a replica-set member's wait for wc (w > 1 or
 * "majority") after a write: 0, or WriteConcernFailed 64 on wtimeout.
 */
typedef int (*micad_wc_waiter_fn)(const micad_wc_t *wc, status_t *st);
/*
 * micad_db_set_wc_waiter -- install the waiter (mongod/repl on a member, at
 * start-up). With one installed, w > 1 is allowed and a write without a w
 * defaults to "majority", as in a MongoDB replica set.
 */
void micad_db_set_wc_waiter(micad_wc_waiter_fn fn);
/* micad_db_wait_write_concern -- honour wc after the writes: j -> stor_wait_durable. */
int micad_db_wait_write_concern(stor_session_t *sess, const micad_wc_t *wc, status_t *st);
/*
 * micad_db_finish_write -- after a write command ran (even partly): wait for
 * wc and, if that fails, append writeConcernError {code, codeName, errmsg}
 * to reply, as MongoDB reports write-concern failures beside the result.
 */
void micad_db_finish_write(stor_session_t *sess, const micad_wc_t *wc, bson_t *reply);

/* ---- documents ----------------------------------------------------------- */

/*
 * micad_db_prepare_insert -- check doc for insertion and produce what is
 * stored: at most 16 MiB, no $-prefixed top-level field, _id not an array /
 * regex / undefined and not twice; an ObjectId _id generated when missing;
 * _id moved first. out is initialised here (a copy when doc needed no
 * change). BadValue / BSONObjectTooLarge with MongoDB's messages.
 */
int micad_db_prepare_insert(const bson_t *doc, bson_t *out, status_t *st);
/* micad_db_check_stored_size -- BSONObjectTooLarge when an updated document exceeds 16 MiB. */
int micad_db_check_stored_size(const bson_t *doc, status_t *st);

/* ---- command arguments --------------------------------------------------- */

/*
 * micad_db_docs_t -- a write command's statements ("documents", "updates",
 * "deletes"): an array in the body or an OP_MSG kind-1 sequence.
 */
typedef struct micad_db_docs {
    const wire_doc_seq_t *seq; /* the sequence, or NULL for the body's array */
    size_t off;
    bson_iter_t arr;
    bool has_arr;
    uint32_t count;
} micad_db_docs_t;

/*
 * micad_db_docs_init -- find field as a sequence or an array. Missing:
 * Location40414 "BSON field 'cmd.field' is missing but a required field";
 * not an array: TypeMismatch; an element not a document: TypeMismatch.
 */
int micad_db_docs_init(const wire_opctx_t *op, const bson_t *cmd, const char *field,
                       micad_db_docs_t *d, status_t *st);
/* micad_db_docs_next -- the next statement as a view in *doc; false at the end. */
bool micad_db_docs_next(micad_db_docs_t *d, bson_t *doc);

/* micad_db_arg_bool -- a boolean argument of any numeric or bool type (TypeMismatch else). */
int micad_db_arg_bool(const bson_iter_t *it, const char *cmd, bool *out, status_t *st);
/* micad_db_arg_doc -- a document argument as a view (TypeMismatch if not an object). */
int micad_db_arg_doc(const bson_iter_t *it, const char *cmd, bson_t *out, status_t *st);
/* micad_db_arg_int64 -- an integral number argument (TypeMismatch / BadValue). */
int micad_db_arg_int64(const bson_iter_t *it, const char *cmd, int64_t *out, status_t *st);
/* micad_db_type_error -- TypeMismatch "BSON field 'cmd.field' is the wrong type 'x', expected type
 * 'y'". */
int micad_db_type_error(const bson_iter_t *it, const char *cmd, const char *expected, status_t *st);
/*
 * micad_check_statement_fields -- Location40415 for the first field of any
 * element of cmd's array (updates, deletes) not in names, before the batch
 * runs, as MongoDB's IDL parse of the whole command does (stmt_fields.c).
 */
int micad_check_statement_fields(const wire_opctx_t *op, const bson_t *cmd, const char *array,
                                 const char *const *names, const char *where, status_t *st);
/* micad_db_unknown_field -- Location40415 "BSON field 'cmd.field' is an unknown field." */
int micad_db_unknown_field(const char *cmd, const char *field, status_t *st);
/* micad_db_is_generic_arg -- whether field is a generic command argument dispatch handled. */
bool micad_db_is_generic_arg(const char *field);
/* micad_db_bson_type_name -- MongoDB's alias of a BSON type ("double", "string", "object"...). */
const char *micad_db_bson_type_name(bson_type_t t);

/* ---- write errors -------------------------------------------------------- */

/* micad_write_errors_t -- the writeErrors array of a batch write's reply. */
typedef struct micad_write_errors {
    bson_t arr; /* [{index, code, errmsg, ...}] */
    uint32_t n;
    size_t bytes; /* payload so far: errmsgs are cut once the reply grows large */
} micad_write_errors_t;

/* micad_write_errors_init / _destroy -- an empty list; destroy is NULL-safe. */
void micad_write_errors_init(micad_write_errors_t *we);
void micad_write_errors_destroy(micad_write_errors_t *we);
/* micad_db_dup_key_reply -- if ret is DuplicateKey, add keyPattern/keyValue to op's error
 * reply (findAndModify, aggregate's $merge, createIndexes). */
void micad_db_dup_key_reply(wire_opctx_t *op, int ret, const status_t *st);
/*
 * micad_write_errors_add -- append {index, code, codeName?, errmsg} for st;
 * DuplicateKey adds keyPattern and keyValue (from sess, which must not have
 * run another write since); errinfo (may be NULL) is appended as errInfo.
 */
void micad_write_errors_add(micad_write_errors_t *we, int32_t index, const status_t *st,
                            stor_session_t *sess, const bson_t *errinfo);
/* micad_write_errors_append -- "writeErrors": [...] into reply when there are any. */
void micad_write_errors_append(const micad_write_errors_t *we, bson_t *reply);
/*
 * micad_db_is_fatal_batch_error -- whether an error stops a batch whatever
 * `ordered` says (the server is shutting down, the deadline passed).
 */
bool micad_db_is_fatal_batch_error(int code);
/*
 * micad_db_is_interruption -- killOp (Interrupted 11601), shutdown (11600), a
 * step-down (InterruptedDueToReplStateChange 11602) or maxTimeMS (50): MongoDB
 * fails the whole write command with these (a top-level error, which drivers
 * see with its errorLabels), never as one of writeErrors.
 */
bool micad_db_is_interruption(int code);

/* ---- document validation (collection validators) ------------------------ */

/* micad_validator_t -- a collection's validator compiled for one command. */
typedef struct micad_validator {
    qry_match_t *match; /* NULL: no validator, or validationLevel "off" */
    bool moderate;      /* validationLevel "moderate": skip updates of invalid documents */
    bool warn;          /* validationAction "warn": log instead of failing */
} micad_validator_t;

/* micad_validator_load -- compile coll's validator (options.validator); none is fine. */
int micad_validator_load(stor_collection_t *coll, micad_validator_t *v, status_t *st);
/* micad_validator_destroy -- free; NULL-safe. */
void micad_validator_destroy(micad_validator_t *v);
/*
 * micad_validator_check -- DocumentValidationFailure 121 "Document failed
 * validation" when doc fails; *errinfo (initialised here when the check
 * fails) holds {failingDocumentId, details}. old (may be NULL) is the
 * document before an update, for validationLevel "moderate".
 */
int micad_validator_check(const micad_validator_t *v, const char *ns, const bson_t *doc,
                          const bson_t *old, bson_t *errinfo, bool *has_errinfo, status_t *st);

/*
 * micad_db_cursor_reply -- {cursor: {id: 0, ns, firstBatch: docs}}: the whole
 * answer in one batch (listCollections, listIndexes: small results).
 */
void micad_db_cursor_reply(bson_t *reply, const char *ns, const bson_t *docs);

/* ---- collMod / stats / validate / TTL (crud2: commands/{coll_stats,db_stats}.c, ttl.c) ---- */

/* micad_append_number -- n as int32 when it fits, else int64 (MongoDB's appendNumber). */
void micad_append_number(bson_t *doc, const char *key, int64_t n);
/* micad_stats_scale -- the `scale` argument of collStats/dbStats (default 1; >= 1, else 51024). */
int micad_stats_scale(const bson_t *cmd, const char *cmd_name, int64_t *scale, status_t *st);
/* micad_oplog_stats -- collStats' fields for local.oplog.rs on a member (coll_stats.c). */
void micad_oplog_stats(micad_t *m, int64_t scale, bson_t *out);
/*
 * micad_coll_index_sizes -- on-disk bytes of coll's indexes: {name: bytes / scale}
 * appended to out (may be NULL), their number in *nindexes; returns the unscaled total.
 */
int64_t micad_coll_index_sizes(stor_collection_t *coll, const char *ns, micad_t *m, int64_t scale,
                               bson_t *out, int *nindexes);
/*
 * micad_ttl_start -- start the TTL monitor thread (mongod/ttl.c): every
 * micad_ttl_sleep_secs() it deletes documents expired by TTL indexes.
 */
int micad_ttl_start(micad_t *m, status_t *st);
/* micad_ttl_stop -- stop and join it (before micad_db_shutdown); a no-op if not running. */
void micad_ttl_stop(void);
/* micad_ttl_sleep_secs -- --setParameter ttlMonitorSleepSecs (60 by default, 1..86400). */
int micad_ttl_sleep_secs(void);
/* micad_ttl_stats -- {deletedDocuments, passes} (serverStatus metrics.ttl) appended to out. */
void micad_ttl_stats(bson_t *out);

#endif /* MICA_MONGOD_DB_H */
