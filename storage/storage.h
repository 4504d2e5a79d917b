/*
 * storage.h -- the public header of storage/: the only module that talks to
 * WiredTiger. Engine, catalog, record stores, KeyString, indexes, units of
 * work with timestamps, durability, the oplog table. No knowledge of commands
 * or the wire. Depends on common/ and libwiredtiger.
 */
#ifndef MICA_STORAGE_H
#define MICA_STORAGE_H

#include "common/common.h"

/* STOR_KEYSTRING_SECTION_BEGIN -- KeyString encoding (storage/keystring.c) */

/*
 * KeyString: an order-preserving byte encoding of index keys. For keys built
 * with the same descending mask, memcmp order (then length) of the key bytes
 * equals bsonu_compare order of the value lists, field by field. Type
 * information that the order ignores (int32 vs int64 vs double vs decimal and
 * the decimal's exact digits, -0.0, string vs symbol) goes to a separate
 * "type bits" stream, stored beside the key (in the index entry's value) and
 * needed only to decode. storage/keystring.md describes the format.
 *
 * Key layout: field encodings, then one discriminator byte, then (non-unique
 * indexes) an 8-byte RecordId. Field start bytes lie in 0x0A..0xF5, so
 * BEFORE (0x01) < END (0x04) < any further field < AFTER (0xFE): a bound built
 * from a prefix of the fields with BEFORE/AFTER sorts before/after every key
 * that starts with that prefix, whatever follows.
 */
typedef enum stor_ks_disc {
    STOR_KS_BEFORE = 0x01, /* bound: before every key with this prefix */
    STOR_KS_END = 0x04,    /* a stored key: all fields present */
    STOR_KS_AFTER = 0xFE,  /* bound: after every key with this prefix */
} stor_ks_disc_t;

/* Keys nest at most this deep (documents in documents); deeper is BadValue. */
#define STOR_KS_MAX_DEPTH 200

typedef struct stor_ks {
    uint8_t *key; /* the order-preserving bytes */
    size_t key_len;
    size_t key_cap;
    uint8_t *tb; /* type bits */
    size_t tb_len;
    size_t tb_cap;
    uint32_t nfields; /* fields appended so far */
    bool closed;      /* a discriminator has been appended */
} stor_ks_t;

/* stor_ks_init -- an empty key. */
void stor_ks_init(stor_ks_t *ks);
/* stor_ks_destroy -- free the buffers (NULL-safe). */
void stor_ks_destroy(stor_ks_t *ks);
/* stor_ks_reset -- back to empty, keeping the buffers. */
void stor_ks_reset(stor_ks_t *ks);
/* stor_ks_append_value -- append one field's value, inverted when descending. */
int stor_ks_append_value(stor_ks_t *ks, const bson_value_t *v, bool descending, status_t *st);
/* stor_ks_append_iter -- stor_ks_append_value of the value at an iterator. */
int stor_ks_append_iter(stor_ks_t *ks, const bson_iter_t *it, bool descending, status_t *st);
/* stor_ks_close -- append the discriminator; no fields may follow. */
int stor_ks_close(stor_ks_t *ks, stor_ks_disc_t disc, status_t *st);
/*
 * stor_ks_build -- reset, append every value of `values` (a document whose
 * field names are ignored, e.g. {"": 1, "": "x"}); field i descending when
 * bit i of desc_mask is set; then close with disc.
 */
int stor_ks_build(stor_ks_t *ks, const bson_t *values, uint32_t desc_mask, stor_ks_disc_t disc,
                  status_t *st);
/* stor_ks_append_record_id -- append the RecordId suffix (after close). */
int stor_ks_append_record_id(stor_ks_t *ks, int64_t record_id, status_t *st);
/* stor_ks_record_id -- the RecordId at the end of a key built with one. */
int stor_ks_record_id(const uint8_t *key, size_t len, int64_t *record_id, status_t *st);
/* stor_ks_strip_record_id -- length of the key without its RecordId suffix. */
int stor_ks_strip_record_id(const uint8_t *key, size_t len, size_t *out_len, status_t *st);
/*
 * stor_ks_decode -- the values of a key as {"": v1, "": v2, ...} into out
 * (initialised by the callee, even on failure). tb may be NULL: then numbers
 * decode as the narrowest of int32, int64, double that holds them exactly
 * (else decimal128) and string-likes as strings. desc_mask as when built.
 * Stops at the discriminator; a RecordId suffix is ignored.
 */
int stor_ks_decode(const uint8_t *key, size_t key_len, const uint8_t *tb, size_t tb_len,
                   uint32_t desc_mask, bson_t *out, status_t *st);
/*
 * stor_ks_desc_mask -- the desc_mask of an index key pattern: bit i set when
 * field i's value is a negative number ({a: 1, b: -1} -> 0x2); string values
 * ("hashed", "text", ...) count as ascending. BadValue past 32 fields.
 */
int stor_ks_desc_mask(const bson_t *key_pattern, uint32_t *mask, status_t *st);
/* stor_ks_compare -- memcmp order, then length: the order WiredTiger gives the keys. */
int stor_ks_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* STOR_KEYSTRING_SECTION_END */

/* STOR_ENGINE_SECTION_BEGIN -- engine, catalog, record stores, indexes, oplog */

/*
 * The engine's API is a handful of opaque handles:
 *   stor_engine_t      one per dbpath (one WT_CONNECTION, background threads)
 *   stor_session_t     one per thread at a time (one WT_SESSION + cached cursors);
 *                      taken from and returned to the engine's session cache
 *   stor_uow_t         the session's unit of work (a WT snapshot transaction)
 *   stor_collection_t  a collection's catalog entry (valid until engine close;
 *                      a dropped one answers NamespaceNotFound)
 *   stor_index_t       an index of a collection (same lifetime rule)
 *   stor_cursor_t, stor_index_cursor_t, stor_oplog_cursor_t  scans
 * Every call returns 0 or a MongoDB error code and fills the status_t.
 * storage/README.md tells the rules (transactions, timestamps, durability).
 */
typedef struct stor_engine stor_engine_t;
typedef struct stor_session stor_session_t;
typedef struct stor_uow stor_uow_t;
typedef struct stor_collection stor_collection_t;
typedef struct stor_index stor_index_t;
typedef struct stor_cursor stor_cursor_t;
typedef struct stor_index_cursor stor_index_cursor_t;
typedef struct stor_oplog_cursor stor_oplog_cursor_t;
typedef struct stor_index_build stor_index_build_t;

/* stor_mode_t -- which tables are logged (README: "Two modes"). */
typedef enum stor_mode {
    STOR_MODE_STANDALONE = 0, /* every table logged: a restart keeps every commit */
    STOR_MODE_REPLICATED,     /* collections/indexes/catalog unlogged, oplog logged */
} stor_mode_t;

/*
 * stor_matcher_ops_t -- how storage evaluates a partial index's filter without
 * knowing query/: the caller (mongod) compiles partialFilterExpression into an
 * opaque matcher. Without ops, creating a partial index fails (BadValue).
 */
typedef struct stor_matcher_ops {
    /* compile -- parse filter into *matcher; returns 0 or a code in st. */
    int (*compile)(void *ctx, const bson_t *filter, void **matcher, status_t *st);
    /* matches -- whether doc passes the filter. */
    bool (*matches)(void *matcher, const bson_t *doc);
    /* destroy -- free a compiled matcher. */
    void (*destroy)(void *matcher);
    void *ctx;
} stor_matcher_ops_t;

/* stor_options_t -- engine options; stor_options_init fills the defaults. */
typedef struct stor_options {
    stor_mode_t mode;
    uint64_t cache_size_mb;         /* WT cache; default 256 */
    int checkpoint_interval_s;      /* default 60; 0 disables the periodic checkpoint */
    int group_commit_ms;            /* journal flush period; default 100; 0 disables */
    int64_t oplog_max_bytes;        /* oplog cap; default 192 MiB */
    const char *journal_compressor; /* snappy, zlib or none (NULL: none) */
    const char *block_compressor;   /* of collection tables: snappy, zlib or none (NULL: none) */
    bool read_only;                 /* reserved: must be false */
    stor_matcher_ops_t matcher_ops; /* partial index filters (optional) */
} stor_options_t;

/* stor_options_init -- the defaults above. */
void stor_options_init(stor_options_t *opts);

/* stor_cache_default_mb -- mongod's default cache: 50 % of (mem - 1 GB), at least 256 MB. */
uint64_t stor_cache_default_mb(uint64_t mem_bytes);
/* stor_memory_bytes -- physical memory, or the cgroup's memory limit when lower. */
uint64_t stor_memory_bytes(void);
/* stor_compressor_check -- BadValue unless NULL, none, snappy or zlib (zstd is not built). */
int stor_compressor_check(const char *name, status_t *st);

/* stor_engine_open -- lock dbpath, open WiredTiger, load the catalog, drop orphans. */
int stor_engine_open(const char *dbpath, const stor_options_t *opts, stor_engine_t **out,
                     status_t *st);
/* stor_engine_close -- stop threads, final checkpoint, close, unlock. NULL is a no-op.
 * Every session must have been closed first (else IllegalOperation, nothing done). */
int stor_engine_close(stor_engine_t *eng, status_t *st);
/* stor_engine_checkpoint -- take a checkpoint now. */
int stor_engine_checkpoint(stor_engine_t *eng, status_t *st);
/* stor_engine_mode -- the mode the engine was opened in. */
stor_mode_t stor_engine_mode(const stor_engine_t *eng);
/* stor_engine_was_clean -- whether the previous shutdown was clean. */
bool stor_engine_was_clean(const stor_engine_t *eng);

/* stor_engine_stats -- {commits, journalFlushes, checkpoints, sessionsCached, sessionsInUse,
 * pendingDrops, oplogBytes, oplogEntries} into out (initialised by the callee). */
void stor_engine_stats(stor_engine_t *eng, bson_t *out);

/* Timestamps are MongoDB Timestamps as uint64 (seconds << 32 | increment). */

/*
 * stor_work_hook_fn -- called between batches of long work (index builds) on the
 * working thread: what it is doing, how far it is, and a chance to stop it by
 * returning a status (killOp, shutdown). Set once, before the engine serves.
 */
typedef int (*stor_work_hook_fn)(const char *what, int64_t done, int64_t total, status_t *st);
void stor_set_work_hook(stor_work_hook_fn fn);
/*
 * stor_engine_wt_stats -- WiredTiger's connection statistics grouped by section as
 * serverStatus.wiredTiger shows them ({cache: {"bytes currently in the cache": N},
 * transaction: {...}, log: {...}, ...}); out is always initialised.
 */
int stor_engine_wt_stats(stor_engine_t *eng, bson_t *out, status_t *st);
/* stor_engine_set_stable_ts -- checkpoints of unlogged tables hold commits <= ts. */
int stor_engine_set_stable_ts(stor_engine_t *eng, uint64_t ts, status_t *st);
/* stor_engine_set_oldest_ts -- history before ts may be discarded (ts <= stable). */
int stor_engine_set_oldest_ts(stor_engine_t *eng, uint64_t ts, status_t *st);
/* stor_engine_get_ts -- "stable", "oldest", "all_committed", "recovery", "last_checkpoint";
 * *ts = 0 when WT has none. */
int stor_engine_get_ts(stor_engine_t *eng, const char *which, uint64_t *ts, status_t *st);
/* stor_engine_recover_to_stable -- replicated mode: roll unlogged tables back to the stable
 * timestamp (no session may be in a unit of work); recounts sizes. */
int stor_engine_recover_to_stable(stor_engine_t *eng, status_t *st);

/* stor_session_open -- a session for the calling thread (from the cache). */
int stor_session_open(stor_engine_t *eng, stor_session_t **out, status_t *st);
/* stor_session_close -- back to the cache; aborts an open unit of work. NULL is a no-op. */
void stor_session_close(stor_session_t *sess);
/* stor_session_engine -- the engine sess belongs to. */
stor_engine_t *stor_session_engine(const stor_session_t *sess);

/* Units of work ---------------------------------------------------------- */

/* stor_uow_begin -- begin the session's unit of work; read_ts 0 = latest. */
int stor_uow_begin(stor_session_t *sess, uint64_t read_ts, stor_uow_t **out, status_t *st);
/* stor_uow_begin_ts -- as stor_uow_begin; with round_up a read_ts older than the oldest
 * timestamp reads at the oldest instead of failing with SnapshotTooOld (majority reads:
 * oldest never passes the commit point, so the snapshot is still majority-committed). */
int stor_uow_begin_ts(stor_session_t *sess, uint64_t read_ts, bool round_up, stor_uow_t **out,
                      status_t *st);
/* stor_uow_set_commit_ts -- commit timestamp (may be set before writes, as the oplog does). */
int stor_uow_set_commit_ts(stor_uow_t *uow, uint64_t ts, status_t *st);
/* stor_uow_commit -- commit (ts 0: keep any set before). WriteConflict 112 means: retry. */
int stor_uow_commit(stor_uow_t *uow, uint64_t commit_ts, status_t *st);
/* stor_uow_abort -- roll back; the handle is finished. NULL is a no-op. */
void stor_uow_abort(stor_uow_t *uow);
/* stor_session_uow -- the session's open unit of work or NULL. */
stor_uow_t *stor_session_uow(stor_session_t *sess);

/* stor_wait_durable -- wait until every commit so far is fsynced (j:true); waiters share
 * one flush. */
int stor_wait_durable(stor_session_t *sess, status_t *st);

/* Catalog ----------------------------------------------------------------- */

/* stor_collection_create -- create db.coll with options (may be NULL); NamespaceExists 48. */
int stor_collection_create(stor_session_t *sess, const char *ns, const bson_t *options,
                           stor_collection_t **out, status_t *st);
/* stor_collection_create_uuid -- the same with a given UUID (16 bytes; NULL: a fresh one). */
int stor_collection_create_uuid(stor_session_t *sess, const char *ns, const bson_t *options,
                                const uint8_t *uuid, stor_collection_t **out, status_t *st);
/* stor_collection_lookup -- find by namespace; NamespaceNotFound 26. */
int stor_collection_lookup(stor_engine_t *eng, const char *ns, stor_collection_t **out,
                           status_t *st);
/* stor_collection_drop -- drop a collection and its indexes. */
int stor_collection_drop(stor_session_t *sess, const char *ns, status_t *st);
/* stor_collection_rename -- rename from -> to (drop_target: replace an existing to). */
int stor_collection_rename(stor_session_t *sess, const char *from, const char *to, bool drop_target,
                           status_t *st);
/* stor_collection_ns / _uuid / _options -- catalog facts (borrowed). */
const char *stor_collection_ns(const stor_collection_t *coll);
const uint8_t *stor_collection_uuid(const stor_collection_t *coll);
const bson_t *stor_collection_options(const stor_collection_t *coll);
/* stor_collection_count / _data_size -- kept in memory, recounted after a crash. */
int64_t stor_collection_count(const stor_collection_t *coll);
int64_t stor_collection_data_size(const stor_collection_t *coll);

/* stor_list_databases -- {name, sizeOnDisk(approx. data size), empty} per database into
 * out (an array document, initialised by the callee). */
int stor_list_databases(stor_engine_t *eng, bson_t *out, status_t *st);
/* stor_list_collections -- {name, type, options, info:{uuid}} of db into out (array). */
int stor_list_collections(stor_engine_t *eng, const char *db, bson_t *out, status_t *st);
/* stor_list_indexes -- the index specs of ns into out (array). */
int stor_list_indexes(stor_engine_t *eng, const char *ns, bson_t *out, status_t *st);

/* Record store ------------------------------------------------------------ */

/* stor_record_insert -- insert doc with a new RecordId, maintaining every index. */
int stor_record_insert(stor_session_t *sess, stor_collection_t *coll, const bson_t *doc,
                       int64_t *rid, status_t *st);
/* stor_record_update -- replace the record rid with doc, maintaining indexes. */
int stor_record_update(stor_session_t *sess, stor_collection_t *coll, int64_t rid,
                       const bson_t *doc, status_t *st);
/* stor_record_delete -- delete rid and its index entries; NoSuchKey 4 if absent. */
int stor_record_delete(stor_session_t *sess, stor_collection_t *coll, int64_t rid, status_t *st);
/* stor_record_get -- copy rid's document into out (initialised by the callee); *found. */
int stor_record_get(stor_session_t *sess, stor_collection_t *coll, int64_t rid, bson_t *out,
                    bool *found, status_t *st);

/* stor_cursor_open -- a scan of coll in RecordId order (forward or backward). */
int stor_cursor_open(stor_session_t *sess, stor_collection_t *coll, bool forward,
                     stor_cursor_t **out, status_t *st);
/* stor_cursor_next -- the next record: *eof, or rid + a view valid until the next call. */
int stor_cursor_next(stor_cursor_t *cur, int64_t *rid, bson_t *doc, bool *eof, status_t *st);
/* stor_cursor_seek -- position so that next returns the first record at/after rid
 * (before, backward). */
int stor_cursor_seek(stor_cursor_t *cur, int64_t rid, status_t *st);
/* stor_cursor_save -- release WT positions before a yield (ends nothing else). */
int stor_cursor_save(stor_cursor_t *cur, status_t *st);
/* stor_cursor_restore -- reposition after a yield; a deleted record is skipped. */
int stor_cursor_restore(stor_cursor_t *cur, status_t *st);
/* stor_cursor_close -- NULL is a no-op. */
void stor_cursor_close(stor_cursor_t *cur);

/* Indexes ----------------------------------------------------------------- */

/*
 * stor_index_create -- create and build an index from spec {key, name, unique, sparse,
 * partialFilterExpression, ...}: IndexAlreadyExists 68 (same spec), IndexOptionsConflict 85
 * / IndexKeySpecsConflict 86 (same name or key, different spec), CannotCreateIndex 67.
 * All the phases below in a row: the caller keeps writers out for the whole build
 * (oplog application, $out's temporary collection); createIndexes runs them online.
 */
int stor_index_create(stor_session_t *sess, stor_collection_t *coll, const bson_t *spec,
                      stor_index_t **out, status_t *st);

/*
 * Online ("hybrid") index builds, in phases, as MongoDB's (storage/README.md "Index builds"):
 *   start   -- (writers kept out by the caller) the indexes' tables and a side-writes table
 *              are created and the build registered on the collection: from now on every
 *              write records its key changes for them in the side table;
 *   scan    -- (writers running) a collection scan in batches fills the indexes;
 *   drain   -- (writers running; repeatable) the side writes so far go into the indexes;
 *   commit  -- (writers kept out) the last side writes, then unique indexes re-check the
 *              keys two records held during the build (DuplicateKey 11000 if they still do),
 *              then the catalog row names the indexes and readers see them;
 *   release -- always, last: an uncommitted build is aborted (tables dropped); frees b.
 * The indexes of a running build are not in listIndexes, the planner or validate. A crash
 * leaves the build's tables unnamed by the catalog: start-up drops them (no restart).
 */
/*
 * stor_index_build_start -- register a build of the n specs (a BSON array of specs, or
 * specs[0..n) as documents) on coll. An identical existing index is skipped (no error);
 * *out is NULL when every spec was skipped. Conflicts: IndexOptionsConflict 85,
 * IndexKeySpecsConflict 86; an identical index being built by another build:
 * IndexBuildAlreadyInProgress 285 (wait for that build, then try again).
 */
int stor_index_build_start(stor_session_t *sess, stor_collection_t *coll, const bson_t *specs,
                           size_t n, stor_index_build_t **out, status_t *st);
/* stor_index_build_scan -- the collection scan (work hook between batches; failpoint
 * hangAfterSettingUpIndexBuild before it). */
int stor_index_build_scan(stor_session_t *sess, stor_index_build_t *b, status_t *st);
/* stor_index_build_drain -- apply the side writes visible now; *applied: how many. */
int stor_index_build_drain(stor_session_t *sess, stor_index_build_t *b, int64_t *applied,
                           status_t *st);
/* stor_index_build_commit -- final drain, duplicate re-check, catalog row (writers kept out). */
int stor_index_build_commit(stor_session_t *sess, stor_index_build_t *b, status_t *st);
/* stor_index_build_release -- abort if not committed (why: the reason to log), free b. */
void stor_index_build_release(stor_session_t *sess, stor_index_build_t *b, const status_t *why);
/* stor_index_build_count / _index -- the indexes of b (live ones once committed). */
size_t stor_index_build_count(const stor_index_build_t *b);
stor_index_t *stor_index_build_index(const stor_index_build_t *b, size_t i);
/* stor_index_build_pending -- side writes recorded and not yet drained (an upper bound). */
int64_t stor_index_build_pending(const stor_index_build_t *b);
/* stor_list_index_builds -- [{spec, buildUUID}] of ns's running builds into out (array,
 * initialised by the callee); NamespaceNotFound as stor_list_indexes. */
int stor_list_index_builds(stor_engine_t *eng, const char *ns, bson_t *out, status_t *st);
/* stor_collection_has_builds -- whether coll has a running index build. */
bool stor_collection_has_builds(stor_collection_t *coll);

/* stor_index_drop -- drop by name; IndexNotFound 27. The _id index cannot be dropped. */
int stor_index_drop(stor_session_t *sess, stor_collection_t *coll, const char *name, status_t *st);
/* stor_index_lookup -- find by name; IndexNotFound 27. */
int stor_index_lookup(stor_collection_t *coll, const char *name, stor_index_t **out, status_t *st);
/* stor_index_name / _spec / _key_pattern / _unique / _multikey -- catalog facts. */
const char *stor_index_name(const stor_index_t *idx);
const bson_t *stor_index_spec(const stor_index_t *idx);
const bson_t *stor_index_key_pattern(const stor_index_t *idx);
bool stor_index_is_unique(const stor_index_t *idx);
bool stor_index_is_multikey(const stor_index_t *idx);
/* stor_index_record_access -- count one query whose chosen plan uses idx ($indexStats). */
void stor_index_record_access(stor_index_t *idx);
/* stor_index_accesses -- that count, and (since_ms) when counting began. */
int64_t stor_index_accesses(const stor_index_t *idx, int64_t *since_ms);
/* stor_index_multikey_paths -- {path: true, ...} of paths seen holding arrays (copy into out). */
void stor_index_multikey_paths(const stor_index_t *idx, bson_t *out);

/* stor_session_dup_key -- after DuplicateKey 11000: the index's key pattern and the
 * duplicate key value ({field: value}) into the caller's uninitialised documents. */
void stor_session_dup_key(stor_session_t *sess, bson_t *key_pattern, bson_t *key_value);

/*
 * Bounds are documents of the index key's values in key-pattern order with empty
 * field names ({"": 1, "": "x"}); NULL means unbounded. A bound shorter than the key
 * pattern is padded (MinKey/MaxKey as the inclusiveness needs).
 */
typedef struct stor_index_bounds {
    const bson_t *start; /* in scan order: the first key (NULL: from the edge) */
    bool start_inclusive;
    const bson_t *end; /* the last key (NULL: to the edge) */
    bool end_inclusive;
    bool forward;
} stor_index_bounds_t;

/* stor_index_cursor_open -- scan idx within bounds. */
int stor_index_cursor_open(stor_session_t *sess, stor_index_t *idx,
                           const stor_index_bounds_t *bounds, stor_index_cursor_t **out,
                           status_t *st);
/* stor_index_cursor_next -- next entry: *eof, or rid and (if key != NULL) the key values
 * into key (initialised by the callee: {"": v, ...}). */
int stor_index_cursor_next(stor_index_cursor_t *cur, int64_t *rid, bson_t *key, bool *eof,
                           status_t *st);
/* stor_index_cursor_save / _restore -- as for record cursors (reposition by key). */
int stor_index_cursor_save(stor_index_cursor_t *cur, status_t *st);
int stor_index_cursor_restore(stor_index_cursor_t *cur, status_t *st);
/* stor_index_cursor_close -- NULL is a no-op. */
void stor_index_cursor_close(stor_index_cursor_t *cur);

/* Oplog (local.oplog.rs) -------------------------------------------------- */

/* stor_oplog_append -- insert entry at ts inside the session's unit of work (required);
 * OplogOutOfOrder 152 if ts is not above the last appended. Sets the commit timestamp. */
int stor_oplog_append(stor_session_t *sess, uint64_t ts, const bson_t *entry, status_t *st);
/* stor_oplog_last_ts / _first_ts -- the newest / oldest entry's ts (0 if empty). */
int stor_oplog_last_ts(stor_session_t *sess, uint64_t *ts, status_t *st);
int stor_oplog_first_ts(stor_session_t *sess, uint64_t *ts, status_t *st);
/* stor_oplog_visible_ts -- the newest ts with no uncommitted append before it (what oplog
 * readers may see; a node's last applied point). 0 when the oplog is empty. */
uint64_t stor_oplog_visible_ts(stor_engine_t *eng);
/* stor_oplog_size -- bytes of entries held (approximate, by counters). */
int64_t stor_oplog_size(const stor_engine_t *eng);
/* stor_oplog_count -- entries held (by counters); stor_oplog_max_bytes -- the cap. */
int64_t stor_oplog_count(const stor_engine_t *eng);
int64_t stor_oplog_max_bytes(const stor_engine_t *eng);
/* stor_oplog_storage_size -- bytes of the oplog's file on disk. */
int64_t stor_oplog_storage_size(const stor_engine_t *eng);
/* stor_oplog_truncate_after -- delete entries with ts > after (rollback); none may be open. */
int stor_oplog_truncate_after(stor_session_t *sess, uint64_t after, status_t *st);
/*
 * stor_oplog_prev -- the newest entry with ts < before (*ts = 0 if none), copied
 * into out (initialised by the caller). Rollback walks its own oplog backwards.
 */
int stor_oplog_prev(stor_session_t *sess, uint64_t before, uint64_t *ts, bson_t *out, status_t *st);
/* stor_oplog_cap -- truncate from the front now until under the cap (also runs in the
 * background); entries above the stable timestamp are kept in replicated mode. */
int stor_oplog_cap(stor_session_t *sess, status_t *st);

/* stor_oplog_cursor_open -- a tailable cursor from the first entry with ts >= start. */
int stor_oplog_cursor_open(stor_session_t *sess, uint64_t start, stor_oplog_cursor_t **out,
                           status_t *st);
/* stor_oplog_cursor_next -- next visible entry (*eof if none yet); entry is a view valid
 * until the next call. CappedPositionLost 136 if the cursor fell off the front. */
int stor_oplog_cursor_next(stor_oplog_cursor_t *cur, uint64_t *ts, bson_t *entry, bool *eof,
                           status_t *st);
/* stor_oplog_cursor_wait -- block until an entry after the cursor's position is committed
 * or deadline_ms (time_now_ms clock) passes; *ready says which. */
int stor_oplog_cursor_wait(stor_oplog_cursor_t *cur, int64_t deadline_ms, bool *ready,
                           status_t *st);
/* stor_oplog_cursor_close -- NULL is a no-op. */
void stor_oplog_cursor_close(stor_oplog_cursor_t *cur);

/* Catalog changes, sizes and validation (storage/stats.c) ------------------ */

/* stor_collection_set_options -- replace and persist coll's options (collMod); the caller
 * keeps the collection's writers out while it runs. */
int stor_collection_set_options(stor_session_t *sess, stor_collection_t *coll,
                                const bson_t *options, status_t *st);
/* stor_index_set_spec -- replace and persist idx's spec; only options storage ignores
 * (hidden, expireAfterSeconds) may differ, else BadValue. */
int stor_index_set_spec(stor_session_t *sess, stor_index_t *idx, const bson_t *spec, status_t *st);
/* stor_collection_storage_size / stor_index_storage_size -- bytes of the WT file on disk. */
int64_t stor_collection_storage_size(const stor_collection_t *coll);
int64_t stor_index_storage_size(const stor_index_t *idx);

/*
 * stor_collection_compact -- WT_SESSION::compact on coll's record table and
 * every index table, after a checkpoint so that freed pages can be reused.
 * A table whose reusable space (WiredTiger's "file bytes available for reuse")
 * is below free_space_target (bytes; 0: no threshold) is left alone.
 * *bytes_freed: the files' size before minus after (never negative). The
 * caller keeps catalog changes of coll out while it runs; writers may go on.
 */
int stor_collection_compact(stor_collection_t *coll, int64_t free_space_target,
                            int64_t *bytes_freed, status_t *st);

/* stor_index_validation_t -- what stor_index_validate found. */
typedef struct stor_index_validation {
    int64_t nkeys;        /* entries in the index */
    int64_t nrecords;     /* records in the collection */
    int64_t bad_entries;  /* entries with no record, or whose record does not produce them */
    int64_t missing_keys; /* record keys with no entry (or, unique, an entry for another record) */
    char first_error[256];
} stor_index_validation_t;

/* stor_index_validate -- check idx against its collection in one snapshot (read only). */
int stor_index_validate(stor_session_t *sess, stor_index_t *idx, stor_index_validation_t *res,
                        status_t *st);

/* STOR_ENGINE_SECTION_END */

#endif /* MICA_STORAGE_H */
