/*
 * storage_int.h -- storage/'s private header: the structures behind the
 * opaque handles of storage.h and the stor__ helpers shared by engine.c,
 * session.c, catalog.c, record_store.c, index.c and oplog.c. Nothing outside
 * storage/ includes it.
 */
#ifndef MICA_STORAGE_INT_H
#define MICA_STORAGE_INT_H

#include "storage/storage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <wiredtiger.h>

/* Log ids of storage/ come from 22100..22199. */

#define STOR_CATALOG_URI "table:_mica_catalog"
#define STOR_OPLOG_URI   "table:oplog-rs"
#define STOR_OPLOG_NS    "local.oplog.rs"
/* The catalog row that carries record counts across a clean shutdown. */
#define STOR_SIZES_KEY "_mica_sizes"
#define STOR_IDENT_MAX 64
#define STOR_URI_MAX   (STOR_IDENT_MAX + 8)

/*
 * STOR_CURSOR_CACHE -- cached WT cursors per session. A worker touches a few
 * collections and their indexes per operation; 32 covers that while keeping
 * the linear lookup cheaper than WT's own open_cursor path.
 */
#define STOR_CURSOR_CACHE 32

struct stor_index {
    stor_collection_t *coll;
    char *name;
    bson_t spec;
    bson_t key_pattern;
    char ident[STOR_IDENT_MAX];
    char uri[STOR_URI_MAX];
    int nfields;
    bool unique;
    bool sparse;
    bool is_id;
    bool partial;
    bool building;             /* being built: not in the catalog row yet */
    stor_index_build_t *build; /* the build filling it (NULL once ready) -- index_build.c */
    int build_slot;            /* its place in build->idx (side-write entries name it) */
    uint32_t desc_mask;        /* bit i: field i descending */
    void *matcher;             /* compiled partialFilterExpression */
    bool wildcard;             /* {"$**": 1} / {"a.$**": 1}: keys {"": path, "": value} */
    bsonu_wc_proj_t wc_proj;   /* wildcard: what the index covers (wildcardProjection) */
    bson_t multikey_paths;     /* {path: true} -- guarded by the engine's catalog lock */
    _Atomic int64_t accesses;  /* queries whose chosen plan used it ($indexStats) */
    int64_t since_ms;          /* wall clock when counting began (load or creation) */
    bool dropped;
    stor_index_t *next;
};

struct stor_collection {
    stor_engine_t *eng;
    char *ns;
    uint8_t uuid[16];
    bson_t options;
    char ident[STOR_IDENT_MAX];
    char uri[STOR_URI_MAX];
    _Atomic int64_t next_rid;
    _Atomic int64_t count;
    _Atomic int64_t data_size;
    stor_index_t *indexes;
    stor_index_t *dropped_indexes; /* freed at close so index handles stay valid */
    stor_index_build_t *builds;    /* running builds: writers record side writes for them */
    bool dropped;
    stor_collection_t *next;
};

/* A per-collection size change, applied to the counters only at commit. */
typedef struct stor_delta {
    stor_collection_t *coll;
    int64_t count;
    int64_t size;
} stor_delta_t;

/* A multikey path first seen in this unit of work, published at commit. */
typedef struct stor_mk_change {
    stor_index_t *idx;
    char *path;
} stor_mk_change_t;

struct stor_uow {
    stor_session_t *sess;
    bool active;
    bool implicit; /* begun by a single write outside any unit of work */
    uint64_t commit_ts;
    stor_delta_t *deltas;
    size_t ndeltas, cap_deltas;
    stor_mk_change_t *mk;
    size_t nmk, cap_mk;
    uint64_t oplog_ts; /* highest oplog ts appended in this unit (0: none) */
    int64_t oplog_bytes;
    int64_t oplog_count;
};

typedef struct stor_cached_cursor {
    char *uri;
    WT_CURSOR *c;
    bool in_use;
} stor_cached_cursor_t;

struct stor_session {
    stor_engine_t *eng;
    WT_SESSION *wt;
    stor_cached_cursor_t cache[STOR_CURSOR_CACHE];
    uint64_t epoch;           /* the engine's drop epoch the cache was checked against */
    uint64_t last_commit_seq; /* this session's newest commit (what j:true waits for) */
    stor_uow_t uow;
    bool has_dup;
    bson_t dup_pattern;
    bson_t dup_value;
    bool in_use;
    stor_session_t *next_free;
    stor_session_t *next_all;
};

typedef struct stor_pending_drop {
    char uri[STOR_URI_MAX];
    struct stor_pending_drop *next;
} stor_pending_drop_t;

/*
 * stor_group_t -- one level of group commit (engine.c): `done` covers every
 * commit numbered <= it; while `busy`, a leader's flush covers up to `upto`.
 * Waiters that flush will cover sleep on cond[round & 1], later ones on the
 * other, so a finished round wakes exactly the waiters it made durable.
 */
typedef struct stor_group {
    pthread_cond_t cond[2];
    int waiting[2];
    uint64_t done, upto, round;
    uint64_t flushes; /* flushes done */
    bool busy;
} stor_group_t;

struct stor_engine {
    char *dbpath;
    stor_options_t opts;
    char table_cfg[4][160]; /* WT create config: [index * 2 + local]: collections, indexes,
                             * each for other databases and for `local` (always logged) */
    WT_CONNECTION *conn;
    int lock_fd;
    bool was_clean;

    /* catalog (in memory, loaded from STOR_CATALOG_URI) */
    pthread_rwlock_t cat_lock;
    stor_collection_t *colls;
    stor_collection_t *graveyard; /* dropped: freed at close so handles stay valid */
    _Atomic uint64_t next_ident;

    /* session cache */
    pthread_mutex_t pool_lock;
    stor_session_t *free_sessions;
    stor_session_t *all_sessions;
    int sessions_in_use;
    _Atomic uint64_t drop_epoch;
    stor_pending_drop_t *pending_drops;

    /*
     * durability: two group commits (engine.c). Every commit gets a sequence
     * number; `written` hands the journal to the OS (log_flush sync=off, what
     * each commit waits for), `synced` fsyncs it (sync=on: j:true and the
     * periodic flusher). One leader flushes for every waiter whose commit
     * came before its flush began; the others sleep on the round's condition.
     */
    pthread_mutex_t dur_lock;
    _Atomic uint64_t commit_seq; /* commits so far (log records in WT's buffers) */
    stor_group_t written;
    stor_group_t synced;

    /* background threads */
    pthread_mutex_t bg_lock;
    pthread_cond_t bg_cond;
    bool stopping;
    bool threads_started;
    pthread_t housekeeper;
    pthread_t flusher;
    _Atomic uint64_t checkpoints;

    /* oplog */
    pthread_mutex_t op_lock;
    pthread_cond_t op_cond;
    uint64_t op_last_ts; /* highest ts appended (pending or committed) */
    uint64_t op_max_committed;
    struct stor_op_pending {
        uint64_t ts;
        stor_uow_t *uow;
    } * op_pending; /* appends in open units of work: the oplog's holes */
    size_t op_npending, op_cap_pending;
    uint64_t op_truncated_upto;  /* highest ts removed from the front */
    pthread_mutex_t op_cap_lock; /* one truncation at a time: each adjusts the counters */
    _Atomic int64_t op_bytes;
    _Atomic int64_t op_count;
};

/* ---- util.c ---- */
/* stor__wt_status -- turn a WiredTiger return into a status; returns the code. */
int stor__wt_status(status_t *st, int wtret, const char *what);
/* stor__ts_hex -- a timestamp as WT's hex config string. */
void stor__ts_hex(uint64_t ts, char buf[17]);
/* stor__ts_parse -- WT's hex string back to a timestamp. */
uint64_t stor__ts_parse(const char *hex);
/* stor__gen_uuid -- a random (version 4) UUID. */
void stor__gen_uuid(uint8_t uuid[16]);
/* stor__split_ns -- db length of "db.coll"; -1 if ns is not a valid namespace. */
int stor__ns_db_len(const char *ns);

/* ---- session.c ---- */
/* stor__cursor_get -- a cached or new WT cursor on uri (reset, owned until put). */
int stor__cursor_get(stor_session_t *sess, const char *uri, WT_CURSOR **out, status_t *st);
/* stor__cursor_put -- hand a cursor back to the cache (resets it). */
void stor__cursor_put(stor_session_t *sess, WT_CURSOR *c);
/* stor__session_close_cursors -- close the cached (idle) cursors, all or on one uri. */
void stor__session_close_cursors(stor_session_t *sess, const char *uri);
/* stor__uow_enter -- ensure a transaction: the open unit, or an implicit one (*implicit). */
int stor__uow_enter(stor_session_t *sess, bool *implicit, status_t *st);
/* stor__uow_leave -- finish an implicit unit: commit if ret == 0, else abort. */
int stor__uow_leave(stor_session_t *sess, bool implicit, int ret, status_t *st);
/* stor__uow_add_delta -- record a size change to apply at commit. */
int stor__uow_add_delta(stor_uow_t *uow, stor_collection_t *coll, int64_t count, int64_t size,
                        status_t *st);
/* stor__uow_add_multikey -- record a multikey path to publish at commit. */
int stor__uow_add_multikey(stor_uow_t *uow, stor_index_t *idx, const char *path, status_t *st);
/* stor__uow_has_multikey -- whether this unit already recorded path for idx. */
bool stor__uow_has_multikey(stor_uow_t *uow, stor_index_t *idx, const char *path);
/*
 * stor__commit_written -- number a commit that WT just accepted and wait
 * until its log record is in the OS (one write(2) for every committer
 * waiting meanwhile): from then a process crash cannot lose it.
 */
int stor__commit_written(stor_session_t *sess, status_t *st);
/* stor__drop_uri -- drop a WT table now or, if busy, later; never fails the caller. */
void stor__drop_uri(stor_engine_t *eng, WT_SESSION *wt, const char *uri);
/* stor__retry_pending_drops -- retry the deferred drops (background and close). */
void stor__retry_pending_drops(stor_engine_t *eng, WT_SESSION *wt);

/* ---- catalog.c ---- */
/* stor__catalog_load -- read the catalog table into memory, drop orphan idents. */
int stor__catalog_load(stor_engine_t *eng, WT_SESSION *wt, status_t *st);
/* stor__catalog_free -- free the in-memory catalog (close). */
void stor__catalog_free(stor_engine_t *eng);
/* stor__catalog_write -- write coll's entry (with extra multikey changes) in sess's txn. */
int stor__catalog_write(stor_session_t *sess, stor_collection_t *coll, status_t *st);
/* stor__table_config -- WT create config for a collection/index table of namespace ns in
 * this mode (`local.*` tables are logged in both modes). */
const char *stor__table_config(const stor_engine_t *eng, bool index, const char *ns);
/* stor__ns_logged -- whether ns's tables are logged in this mode. */
bool stor__ns_logged(const stor_engine_t *eng, const char *ns);
/* stor__table_configs_init -- build them from opts (at open). */
void stor__table_configs_init(stor_engine_t *eng);
/* stor__conn_config -- the wiredtiger_open config from opts (engine_config.c). */
int stor__conn_config(const stor_engine_t *eng, char *out, size_t len, status_t *st);
/* stor__recount -- recompute count and data size of every collection by scanning. */
int stor__recount(stor_engine_t *eng, WT_SESSION *wt, status_t *st);
/* stor__save_sizes -- persist the counters (clean shutdown, standalone). */
int stor__save_sizes(stor_engine_t *eng, WT_SESSION *wt, status_t *st);
/* stor__load_sizes -- load counters saved by a clean shutdown; *ok if they were there. */
int stor__load_sizes(stor_engine_t *eng, WT_SESSION *wt, bool *ok, status_t *st);
/* stor__index_free -- free an index structure. */
void stor__index_free(stor_engine_t *eng, stor_index_t *idx);
/* stor__index_from_spec -- build an in-memory index from its catalog spec. */
int stor__index_from_spec(stor_engine_t *eng, stor_collection_t *coll, const bson_t *spec,
                          const char *ident, const bson_t *mk_paths, stor_index_t **out,
                          status_t *st);
/* stor__next_ident -- a fresh "<kind>-<n>" ident. */
void stor__next_ident(stor_engine_t *eng, const char *kind, char out[STOR_IDENT_MAX]);

/* ---- index.c ---- */
/* stor__index_keys -- doc's keys for idx (plain, or wildcard); multikey (may be NULL) gets the
 * wildcard index's array paths. The one place that picks a key generator per index type. */
int stor__index_keys(stor_index_t *idx, const bson_t *doc, bsonu_index_keys_t *keys,
                     bsonu_strlist_t *multikey, status_t *st);
/* stor__index_insert_doc -- add doc's entries (rid) to idx. */
int stor__index_insert_doc(stor_session_t *sess, stor_index_t *idx, const bson_t *doc, int64_t rid,
                           status_t *st);
/* stor__index_remove_doc -- remove doc's entries (rid) from idx. */
int stor__index_remove_doc(stor_session_t *sess, stor_index_t *idx, const bson_t *doc, int64_t rid,
                           status_t *st);
/* stor__index_update_doc -- move rid's entries from old_doc's keys to new_doc's. */
int stor__index_update_doc(stor_session_t *sess, stor_index_t *idx, const bson_t *old_doc,
                           const bson_t *new_doc, int64_t rid, status_t *st);
/* stor__index_doc_keys -- doc's keys for idx (empty when idx does not index doc); adding notes
 * multikey paths. keys is initialised by the callee. */
int stor__index_doc_keys(stor_session_t *sess, stor_index_t *idx, const bson_t *doc, bool adding,
                         bsonu_index_keys_t *keys, status_t *st);
/* stor__index_put_key / stor__index_del_key -- one entry through cursor c (on idx->uri). */
int stor__index_put_key(stor_session_t *sess, stor_index_t *idx, WT_CURSOR *c, stor_ks_t *ks,
                        const bson_t *key, int64_t rid, status_t *st);
int stor__index_del_key(stor_session_t *sess, stor_index_t *idx, WT_CURSOR *c, stor_ks_t *ks,
                        const bson_t *key, int64_t rid, status_t *st);
/* stor__index_key_owner -- the record a unique idx's entry for key points at (*found). */
int stor__index_key_owner(stor_session_t *sess, stor_index_t *idx, const bson_t *key, int64_t *rid,
                          bool *found, status_t *st);
/* stor__index_conflict -- MongoDB's answer when want clashes with have (0 when it does not). */
int stor__index_conflict(const stor_index_t *have, const stor_index_t *want, status_t *st);
/* stor__dup_key_error -- DuplicateKey 11000 for key in idx (kept for stor_session_dup_key). */
int stor__dup_key_error(stor_session_t *sess, stor_index_t *idx, const bson_t *key, status_t *st);

/*
 * An index build (index_build.c, README "Index builds"). While it runs, its indexes are
 * not in coll->indexes (readers and the planner never see them) but on coll->builds:
 * every writer records the key changes it makes for them in the build's side-writes
 * table, in its own transaction; the build drains that table into the indexes.
 */
typedef struct stor_build_dup {
    int slot;    /* which index of the build */
    bson_t key;  /* the key another record held when this one was inserted */
    int64_t rid; /* the record that could not take the key */
} stor_build_dup_t;

struct stor_index_build {
    stor_engine_t *eng;
    stor_collection_t *coll;
    uint8_t uuid[16]; /* buildUUID (listIndexes includeBuildUUIDs) */
    char side_ident[STOR_IDENT_MAX];
    char side_uri[STOR_URI_MAX];
    stor_index_t **idx; /* the indexes built together (one scan) */
    size_t nidx;
    _Atomic int64_t side_seq; /* next side-writes key */
    int64_t side_applied;     /* entries drained so far */
    stor_build_dup_t *dups;   /* unique: keys found held by another record (build thread) */
    size_t ndups, cap_dups;
    bool checking; /* commit's duplicate re-check: clashes are errors again */
    bool committed;
    int64_t scanned;
    int64_t t0_us;
    stor_index_build_t *next; /* coll->builds */
};

/* ---- index_build.c ---- */
/* stor__build_side_write -- a writer's key changes for idx (on coll->builds) into its side
 * table, in the writer's transaction. Caller holds the catalog read lock. */
int stor__build_side_write(stor_session_t *sess, stor_index_t *idx, const bson_t *old_doc,
                           const bson_t *new_doc, int64_t rid, status_t *st);
/* stor__build_note_dup -- a unique clash while building: remember it for commit's re-check. */
int stor__build_note_dup(stor_index_t *idx, const bson_t *key, int64_t rid, status_t *st);

/* ---- oplog.c ---- */
/* stor__oplog_init -- create/open the oplog table and recover its counters. */
int stor__oplog_init(stor_engine_t *eng, WT_SESSION *wt, status_t *st);
/* stor__oplog_commit_done -- a unit that appended finished (committed or not). */
void stor__oplog_commit_done(stor_engine_t *eng, stor_uow_t *uow, bool committed);
/* stor__oplog_cap_wt -- truncate from the front using wt (housekeeping). */
int stor__oplog_cap_wt(stor_engine_t *eng, WT_SESSION *wt, status_t *st);

/* stor__put_rid / stor__get_rid -- an int64 as 8 big-endian bytes (index values, side writes). */
void stor__put_rid(uint8_t *p, int64_t rid);
int64_t stor__get_rid(const uint8_t *p);

#endif /* MICA_STORAGE_INT_H */
