/*
 * db.c -- micad's data-access layer (see db.h): thread sessions, namespace
 * rules, collection lookup and implicit creation, namespace locks, the
 * write-conflict retry loop, write concern, insert document checks, write
 * errors and collection validators. Commands call these; nothing here
 * builds a whole reply.
 */
#include "mongod/db.h"
#include "mongod/ops.h"
#include "mongod/opstats.h"
#include "mongod/exec.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* ======================================================================== */
/* Thread sessions                                                           */
/* ======================================================================== */

/*
 * Every session opened here is on a global list so that shutdown can close
 * the sessions of threads that are still alive (the main thread, or pool
 * workers whose exit has not finished). A thread's own destructor closes its
 * session only if shutdown has not already done so: membership in the list,
 * under the lock, decides. The epoch lets a thread notice that its cached
 * pointer was closed by a shutdown (tests open several engines in turn).
 */
typedef struct db_sess {
    stor_session_t *sess;
    stor_engine_t *eng;
    struct db_sess *next;
} db_sess_t;

static pthread_mutex_t g_sess_lock = PTHREAD_MUTEX_INITIALIZER;
static db_sess_t *g_sessions;
static uint64_t g_epoch = 1;
static pthread_key_t g_sess_key;
static pthread_once_t g_sess_once = PTHREAD_ONCE_INIT;
static __thread db_sess_t *t_sess;
static __thread uint64_t t_epoch;

/* sess_destructor -- thread exit: close this thread's session unless shutdown did. */
static void sess_destructor(void *p)
{
    pthread_mutex_lock(&g_sess_lock);
    for (db_sess_t **pp = &g_sessions; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            db_sess_t *e = *pp;
            *pp = e->next;
            stor_session_close(e->sess);
            bson_free(e);
            break;
        }
    }
    pthread_mutex_unlock(&g_sess_lock);
}

static void sess_key_init(void)
{
    INVARIANT(pthread_key_create(&g_sess_key, sess_destructor) == 0);
}

/* micad_db_session -- cached per thread; opened on first use. */
int micad_db_session(micad_t *m, stor_session_t **out, status_t *st)
{
    *out = NULL;
    if (m == NULL || m->engine == NULL)
        return status_set(st, ERR_InternalError, "the storage engine is not open");
    if (t_sess != NULL && t_epoch == __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE) &&
        t_sess->eng == m->engine) {
        *out = t_sess->sess;
        return 0;
    }
    pthread_once(&g_sess_once, sess_key_init);
    stor_session_t *sess;
    ST_RET(stor_session_open(m->engine, &sess, st));
    db_sess_t *e = bson_malloc0(sizeof(*e));
    e->sess = sess;
    e->eng = m->engine;
    pthread_mutex_lock(&g_sess_lock);
    e->next = g_sessions;
    g_sessions = e;
    t_epoch = g_epoch;
    pthread_mutex_unlock(&g_sess_lock);
    /* A stale entry of an earlier engine stays on the list until shutdown. */
    pthread_setspecific(g_sess_key, e);
    t_sess = e;
    *out = sess;
    return 0;
}

/* micad_db_shutdown -- close all sessions; cached thread pointers become stale. */
void micad_db_shutdown(void)
{
    pthread_mutex_lock(&g_sess_lock);
    db_sess_t *e = g_sessions;
    g_sessions = NULL;
    __atomic_add_fetch(&g_epoch, 1, __ATOMIC_RELEASE);
    while (e != NULL) {
        db_sess_t *next = e->next;
        stor_session_close(e->sess);
        bson_free(e);
        e = next;
    }
    pthread_mutex_unlock(&g_sess_lock);
    t_sess = NULL;
}

/* ---- partial-index filters through query/'s matcher ---- */

static int matcher_compile(void *ctx, const bson_t *filter, void **matcher, status_t *st)
{
    (void)ctx;
    qry_match_t *m = NULL;
    ST_RET(qry_match_parse(filter, NULL, &m, st));
    *matcher = m;
    return 0;
}

static bool matcher_matches(void *matcher, const bson_t *doc)
{
    return qry_match_eval(matcher, doc, NULL);
}

static void matcher_destroy(void *matcher)
{
    qry_match_destroy(matcher);
}

/* micad_db_matcher_ops -- compile/matches/destroy over qry_match_*. */
void micad_db_matcher_ops(stor_matcher_ops_t *ops)
{
    ops->compile = matcher_compile;
    ops->matches = matcher_matches;
    ops->destroy = matcher_destroy;
    ops->ctx = NULL;
}

/* ======================================================================== */
/* Namespaces                                                                */
/* ======================================================================== */

/* micad_db_check_db_name -- MongoDB's DatabaseName rules (no / \ . space " $, < 64 bytes). */
int micad_db_check_db_name(const char *db, status_t *st)
{
    size_t len = db ? strlen(db) : 0;
    if (len == 0)
        return status_set(st, ERR_InvalidNamespace, "Invalid database name: ''");
    if (len > MICAD_DB_NAME_MAX)
        return status_set(st, ERR_InvalidNamespace, "db name is too long: '%s'", db);
    if (strpbrk(db, "/\\. \"$") != NULL)
        return status_set(st, ERR_InvalidNamespace, "Invalid database name: '%s'", db);
    return 0;
}

/* micad_db_check_coll_name -- non-empty, no '$' (bar oplog.$main), no leading '.'. */
int micad_db_check_coll_name(const char *db, const char *coll, status_t *st)
{
    size_t len = strlen(db) + 1 + strlen(coll);
    if (coll[0] == '\0' || coll[0] == '.' ||
        (strchr(coll, '$') != NULL && strcmp(coll, "oplog.$main") != 0))
        return status_set(st, ERR_InvalidNamespace, "Invalid namespace specified '%s.%s'", db,
                          coll);
    if (len > MICAD_NS_MAX)
        return status_set(st, ERR_InvalidNamespace,
                          "Fully qualified namespace is too long. Namespace: %s.%s Max: %d", db,
                          coll, MICAD_NS_MAX);
    return 0;
}

/* micad_db_make_ns -- both checks, then "db.coll". */
int micad_db_make_ns(const char *db, const char *coll, char *ns, status_t *st)
{
    ST_RET(micad_db_check_db_name(db, st));
    ST_RET(micad_db_check_coll_name(db, coll, st));
    snprintf(ns, MICAD_NS_MAX + 1, "%s.%s", db, coll);
    return 0;
}

/* micad_db_split_ns -- db is everything before the first dot. */
int micad_db_split_ns(const char *ns, char *db, const char **coll, status_t *st)
{
    const char *dot = strchr(ns, '.');
    if (dot == NULL || dot == ns || (size_t)(dot - ns) > MICAD_DB_NAME_MAX)
        return status_set(st, ERR_InvalidNamespace, "Invalid namespace specified '%s'", ns);
    memcpy(db, ns, (size_t)(dot - ns));
    db[dot - ns] = '\0';
    *coll = dot + 1;
    ST_RET(micad_db_check_db_name(db, st));
    return micad_db_check_coll_name(db, *coll, st);
}

/* micad_db_is_system -- "system." prefix. */
bool micad_db_is_system(const char *coll)
{
    return strncmp(coll, "system.", 7) == 0;
}

/*
 * micad_db_check_user_write -- clients may write documents into any
 * collection but system ones; system.js (stored functions) is the exception,
 * as in MongoDB's userAllowedWriteNS.
 */
int micad_db_check_user_write(const char *db, const char *coll, status_t *st)
{
    if (micad_db_is_system(coll) && strcmp(coll, "system.js") != 0)
        return status_set(st, ERR_InvalidNamespace, "cannot write to '%s.%s'", db, coll);
    if (strcmp(db, "local") == 0 && strcmp(coll, "oplog.rs") == 0)
        return status_set(st, ERR_InvalidNamespace, "cannot write to '%s.%s'", db, coll);
    return 0;
}

/* micad_db_cmd_ns -- the first field must be a collection name string. */
int micad_db_cmd_ns(const wire_opctx_t *op, const bson_t *cmd, char *ns, status_t *st)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it))
        return status_set(st, ERR_InvalidNamespace, "empty command");
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_InvalidNamespace, "collection name has invalid type %s",
                          micad_db_bson_type_name(bson_iter_type(&it)));
    uint32_t len;
    const char *coll = bson_iter_utf8(&it, &len);
    if (strlen(coll) != len)
        return status_set(st, ERR_InvalidNamespace, "Invalid namespace specified '%s.%s'", op->db,
                          coll);
    return micad_db_make_ns(op->db, coll, ns, st);
}

/* ======================================================================== */
/* Collections                                                               */
/* ======================================================================== */

/* micad_db_get_collection -- NamespaceNotFound with MongoDB's short "ns not found". */
int micad_db_get_collection(micad_t *m, const char *ns, stor_collection_t **out, status_t *st)
{
    *out = NULL;
    if (stor_collection_lookup(m->engine, ns, out, st) != 0) {
        if (st->code == ERR_NamespaceNotFound)
            status_set(st, ERR_NamespaceNotFound, "ns not found");
        return st->code;
    }
    return 0;
}

/*
 * Namespace locks. MICAD_NS_LOCKS stripes: enough that unrelated collections
 * rarely share one (a shared stripe only delays a DDL behind the other's
 * writers), few enough to be a static table. Writer-preferring, so a waiting
 * index build is not starved by a stream of inserts.
 */
#define MICAD_NS_LOCKS 64
static pthread_rwlock_t g_ns_locks[MICAD_NS_LOCKS];
static pthread_once_t g_ns_once = PTHREAD_ONCE_INIT;

static void ns_locks_init(void)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (int i = 0; i < MICAD_NS_LOCKS; i++)
        pthread_rwlock_init(&g_ns_locks[i], &a);
    pthread_rwlockattr_destroy(&a);
}

static pthread_rwlock_t *ns_lock(const char *ns)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = ns; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    pthread_once(&g_ns_once, ns_locks_init);
    return &g_ns_locks[h % MICAD_NS_LOCKS];
}

/* micad_db_lock_ns -- shared for document writes, exclusive for DDL. */
void micad_db_lock_ns(const char *ns, bool exclusive)
{
    pthread_rwlock_t *l = ns_lock(ns);
    if ((exclusive ? pthread_rwlock_trywrlock(l) : pthread_rwlock_tryrdlock(l)) == 0)
        return;
    wire_curop_set_waiting_for_lock(true); /* currentOp's waitingForLock */
    if (exclusive)
        pthread_rwlock_wrlock(l);
    else
        pthread_rwlock_rdlock(l);
    wire_curop_set_waiting_for_lock(false);
}

/* micad_db_unlock_ns -- release. */
void micad_db_unlock_ns(const char *ns, bool exclusive)
{
    (void)exclusive;
    pthread_rwlock_unlock(ns_lock(ns));
}

/* micad_db_lock_ns_pair -- both exclusive, in stripe order (renameCollection). */
void micad_db_lock_ns_pair(const char *a, const char *b)
{
    pthread_rwlock_t *la = ns_lock(a), *lb = ns_lock(b);
    if (la == lb) {
        pthread_rwlock_wrlock(la);
        return;
    }
    if (la > lb) {
        pthread_rwlock_t *t = la;
        la = lb;
        lb = t;
    }
    pthread_rwlock_wrlock(la);
    pthread_rwlock_wrlock(lb);
}

/* micad_db_unlock_ns_pair -- release what micad_db_lock_ns_pair took. */
void micad_db_unlock_ns_pair(const char *a, const char *b)
{
    pthread_rwlock_t *la = ns_lock(a), *lb = ns_lock(b);
    pthread_rwlock_unlock(la);
    if (la != lb)
        pthread_rwlock_unlock(lb);
}

/* ======================================================================== */
/* Units of work                                                             */
/* ======================================================================== */

/* micad_db_check_deadline -- killOp (Interrupted) and maxTimeMS. */
int micad_db_check_deadline(const wire_opctx_t *op, status_t *st)
{
    ST_RET(wire_curop_check_op(op, st)); /* killOp interrupts here too */
    if (op != NULL && op->deadline_us != 0 && time_mono_us() >= op->deadline_us)
        return status_set(st, ERR_MaxTimeMSExpired, "operation exceeded time limit");
    return 0;
}

/*
 * backoff -- after a write conflict. The first retry is at once (a conflict
 * is usually one racing writer that has already committed); after that each
 * retry sleeps a random time in [0, min(100 ms, 20 us << attempt)] -- capped
 * exponential back-off with full jitter, so writers that collided on a hot
 * document spread out instead of colliding again in lock step (live-lock),
 * and none burns the CPU the winner needs (no sched_yield spinning). The
 * sleep is a marked wait: the worker pool lets another worker run meanwhile.
 */
static void backoff(int attempt)
{
    static __thread uint64_t seed;
    if (attempt < 1)
        return;
    if (seed == 0)
        seed = (uint64_t)time_mono_us() * 2654435761u + (uint64_t)(uintptr_t)&seed;
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    int64_t cap_us = attempt >= 13 ? 100000 : (int64_t)20 << attempt;
    if (cap_us > 100000)
        cap_us = 100000;
    int64_t us = (int64_t)(seed % (uint64_t)(cap_us + 1));
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000L};
    wire_worker_block_begin();
    nanosleep(&ts, NULL);
    wire_worker_block_end();
}

/* fail_write_commit -- the failWriteCommit failpoint: data.errorCode (UnknownError 8). */
static int fail_write_commit(status_t *st)
{
    bson_t data;
    bson_iter_t it;
    int64_t code = ERR_UnknownError;

    if (!FP_FIRE(failWriteCommit, NULL, &data))
        return 0;
    if (bson_iter_init_find(&it, &data, "errorCode") &&
        bsonu_number_as_int64(bson_iter_value(&it), &code) && (code <= 0 || code > INT32_MAX))
        code = ERR_UnknownError;
    bson_destroy(&data);
    return status_set(st, (int)code, "Failing write commit due to failpoint failWriteCommit");
}

static atomic_uint_fast64_t g_commit_seq;
static atomic_int g_commit_waiters;
static pthread_mutex_t g_commit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_commit_cond;
static pthread_once_t g_commit_once = PTHREAD_ONCE_INIT;

static void commit_cond_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&g_commit_cond, &a);
    pthread_condattr_destroy(&a);
}

uint64_t micad_db_commit_seq(void)
{
    return atomic_load(&g_commit_seq);
}

/* committed -- bump the sequence; wake the waiters only when there are some. */
static void committed(void)
{
    atomic_fetch_add(&g_commit_seq, 1);
    if (atomic_load(&g_commit_waiters) > 0) {
        pthread_mutex_lock(&g_commit_lock);
        pthread_cond_broadcast(&g_commit_cond);
        pthread_mutex_unlock(&g_commit_lock);
    }
}

void micad_db_wait_commit(uint64_t seen, int64_t until_us)
{
    struct timespec ts = {until_us / 1000000, (until_us % 1000000) * 1000};
    pthread_once(&g_commit_once, commit_cond_init);
    atomic_fetch_add(&g_commit_waiters, 1); /* before the check: committed() sees us or we it */
    pthread_mutex_lock(&g_commit_lock);
    while (atomic_load(&g_commit_seq) == seen && time_mono_us() < until_us)
        if (pthread_cond_timedwait(&g_commit_cond, &g_commit_lock, &ts) != 0)
            break;
    pthread_mutex_unlock(&g_commit_lock);
    atomic_fetch_sub(&g_commit_waiters, 1);
}

static int run_uow(const wire_opctx_t *op, stor_session_t *sess, micad_db_txn_fn fn, void *arg,
                   status_t *st);

/* micad_db_run_uow -- begin, fn, commit (retry on WriteConflict) inside a write slot. */
int micad_db_run_uow(const wire_opctx_t *op, stor_session_t *sess, micad_db_txn_fn fn, void *arg,
                     status_t *st)
{
    ST_RET(micad_fsync_wait(op, st)); /* fsync {lock: true} holds writers here */
    int ret = run_uow(op, sess, fn, arg, st);
    micad_fsync_leave();
    return ret;
}

/* run_uow -- micad_db_run_uow inside its write slot. */
static int run_uow(const wire_opctx_t *op, stor_session_t *sess, micad_db_txn_fn fn, void *arg,
                   status_t *st)
{
    for (int attempt = 0;; attempt++) {
        stor_uow_t *uow;
        int ret;
        ST_RET(stor_uow_begin(sess, 0, &uow, st));
        ret = fn(sess, arg, st);
        /* only a client's command (op set): never the oplog applier or replication's own writes */
        if (ret == 0 && op != NULL)
            ret = FP_PAUSE(hangBeforeWriteCommit, NULL, op->deadline_us, st);
        if (ret == 0 && op != NULL)
            ret = fail_write_commit(st);
        if (ret == 0) {
            ret = stor_uow_commit(uow, 0, st);
            if (ret == 0)
                committed();
        } else {
            stor_uow_abort(uow);
        }
        if (ret != ERR_WriteConflict)
            return ret;
        micad_counters_write_conflict();
        if (attempt == 100)
            LOG(INFO, WRITE, 21501, "Write conflicts keep happening; still retrying", "attempts",
                BCON_INT32(attempt));
        status_reset(st);
        ST_RET(micad_db_check_deadline(op, st));
        backoff(attempt);
    }
}

/* ======================================================================== */
/* Finding documents to write                                                */
/* ======================================================================== */

/* id_point -- the _id value when the filter is exactly {_id: <plain value>}. */
static bool id_point(const qry_match_t *m, bson_iter_t *val)
{
    const bson_t *f = qry_match_filter(m);
    bson_iter_t it;
    if (!bson_iter_init(&it, f) || !bson_iter_next(&it) || strcmp(bson_iter_key(&it), "_id") != 0)
        return false;
    *val = it;
    if (bson_iter_next(&it))
        return false;
    switch (bson_iter_type(val)) {
    case BSON_TYPE_REGEX:
    case BSON_TYPE_ARRAY:
    case BSON_TYPE_DOCUMENT: /* may hold operators; the scan is always right */
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_NULL: /* null also matches a missing _id */
        return false;
    default:
        return true;
    }
}

typedef struct rid_list {
    int64_t *v;
    size_t n, cap;
} rid_list_t;

static void rid_push(rid_list_t *l, int64_t rid)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = bson_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = rid;
}

/* find_by_id -- one index probe, then the document for the full filter. */
static int find_by_id(stor_session_t *sess, stor_collection_t *coll, const qry_match_t *m,
                      bson_iter_t *idval, rid_list_t *out, status_t *st)
{
    stor_index_t *idx;
    stor_index_cursor_t *cur = NULL;
    bson_t key = BSON_INITIALIZER;
    int ret = 0;
    if (stor_index_lookup(coll, "_id_", &idx, st) != 0) {
        bson_destroy(&key);
        return st->code;
    }
    bson_append_iter(&key, "", 0, idval);
    stor_index_bounds_t b = {&key, true, &key, true, true};
    ST_ERR(stor_index_cursor_open(sess, idx, &b, &cur, st));
    for (;;) {
        int64_t rid;
        bool eof, found;
        bson_t doc;
        ST_ERR(stor_index_cursor_next(cur, &rid, NULL, &eof, st));
        if (eof)
            break;
        ST_ERR(stor_record_get(sess, coll, rid, &doc, &found, st));
        if (found && qry_match_eval(m, &doc, NULL))
            rid_push(out, rid);
        bson_destroy(&doc);
    }
err:
    stor_index_cursor_close(cur);
    bson_destroy(&key);
    return ret;
}

/* mentions_expr -- whether $expr appears at any depth of a filter. */
static bool mentions_expr(const bson_t *doc, int depth)
{
    bson_iter_t it;
    if (depth > 100 || !bson_iter_init(&it, doc))
        return depth > 100;
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "$expr") == 0)
            return true;
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_t sub;
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            if (BSON_ITER_HOLDS_ARRAY(&it))
                bson_iter_array(&it, &len, &data);
            if (bson_init_static(&sub, data, len) && mentions_expr(&sub, depth + 1))
                return true;
        }
    }
    return false;
}

static int cmp_rid(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * find_rids_planned -- the writes' document lookup through the query planner
 * and executor (so an indexed filter reads its index, as MongoDB's update and
 * delete do). The executor reads its own snapshot; the caller re-reads and
 * re-matches each document in its unit of work. RecordIds come back sorted.
 */
static int find_rids_planned(const wire_opctx_t *op, stor_collection_t *coll, const qry_match_t *m,
                             int64_t limit, rid_list_t *l, status_t *st)
{
    micad_query_t q;
    micad_exec_t *ex = NULL;
    bool began = false;
    int ret = 0;

    micad_query_init(&q);
    (void)snprintf(q.ns, sizeof(q.ns), "%s", stor_collection_ns(coll));
    bson_concat(&q.filter, qry_match_filter(m));
    q.limit = limit;
    ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
    ST_ERR(micad_exec_begin_batch(ex, st));
    began = true;
    for (;;) {
        int64_t rid;
        bson_t doc;
        bool eof;
        ST_ERR(micad_exec_next_record(ex, op->deadline_us, &rid, &doc, &eof, st));
        if (eof)
            break;
        bson_destroy(&doc);
        rid_push(l, rid);
    }
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_rid);
err:
    if (began)
        micad_exec_end_batch(ex);
    micad_exec_destroy(ex);
    micad_query_destroy(&q);
    return ret;
}

/* micad_db_find_rids -- see db.h. */
int micad_db_find_rids(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                       const qry_match_t *m, const qry_sort_t *sort, int64_t limit, int64_t **rids,
                       size_t *n, status_t *st)
{
    rid_list_t l = {0};
    stor_uow_t *uow = NULL;
    stor_cursor_t *cur = NULL;
    bson_t best = BSON_INITIALIZER;
    bool have_best = false;
    int64_t best_rid = 0, seen = 0;
    bson_iter_t idval;
    int ret = 0;

    *rids = NULL;
    *n = 0;
    ST_ERR(stor_uow_begin(sess, 0, &uow, st));
    if (id_point(m, &idval)) {
        ST_ERR(find_by_id(sess, coll, m, &idval, &l, st));
        if (limit > 0 && l.n > (size_t)limit)
            l.n = (size_t)limit;
        goto done;
    }
    /*
     * Without a sort, let the planner pick an index. A filter with $expr keeps
     * the scan: its let variables live in m's hooks, which the executor's own
     * parse of the filter would not see. The TTL monitor has no op (and no app).
     */
    if (sort == NULL && op != NULL && op->app != NULL && !mentions_expr(qry_match_filter(m), 0)) {
        ST_ERR(find_rids_planned(op, coll, m, limit, &l, st));
        goto done;
    }
    ST_ERR(stor_cursor_open(sess, coll, true, &cur, st));
    for (;;) {
        int64_t rid;
        bool eof;
        bson_t doc;
        if ((++seen & 1023) == 0)
            ST_ERR(micad_db_check_deadline(op, st));
        ST_ERR(stor_cursor_next(cur, &rid, &doc, &eof, st));
        if (eof)
            break;
        if (!qry_match_eval(m, &doc, NULL))
            continue;
        if (sort != NULL) {
            if (!have_best || qry_sort_compare(sort, &doc, &best) < 0) {
                bson_destroy(&best);
                bson_copy_to(&doc, &best);
                best_rid = rid;
                have_best = true;
            }
            continue;
        }
        rid_push(&l, rid);
        if (limit > 0 && l.n >= (size_t)limit)
            break;
    }
    if (have_best)
        rid_push(&l, best_rid);
done:
    *rids = l.v;
    *n = l.n;
    l.v = NULL;
err:
    stor_cursor_close(cur);
    stor_uow_abort(uow);
    bson_destroy(&best);
    bson_free(l.v);
    return ret;
}

/* micad_db_check_hint -- by name or by key pattern. */
int micad_db_check_hint(micad_t *m, stor_collection_t *coll, const bson_iter_t *hint, status_t *st)
{
    stor_index_t *idx;
    status_t ignored = STATUS_INIT;
    if (BSON_ITER_HOLDS_UTF8(hint)) {
        if (coll == NULL ||
            stor_index_lookup(coll, bson_iter_utf8(hint, NULL), &idx, &ignored) == 0)
            return 0;
    } else if (BSON_ITER_HOLDS_DOCUMENT(hint)) {
        bson_t want, list;
        bson_iter_t it;
        bool found = false;
        ST_RET(micad_db_arg_doc(hint, "hint", &want, st));
        if (bson_empty(&want) || coll == NULL)
            return 0;
        ST_RET(stor_list_indexes(m->engine, stor_collection_ns(coll), &list, st));
        if (bson_iter_init(&it, &list)) {
            while (!found && bson_iter_next(&it)) {
                bson_t spec, key;
                bson_iter_t k;
                if (micad_db_arg_doc(&it, "hint", &spec, &ignored) == 0 &&
                    bson_iter_init_find(&k, &spec, "key") &&
                    micad_db_arg_doc(&k, "hint", &key, &ignored) == 0 &&
                    bsonu_compare_doc(&key, &want) == 0)
                    found = true;
            }
        }
        bson_destroy(&list);
        if (found)
            return 0;
    } else {
        return status_set(st, ERR_FailedToParse, "hint must be a string or an object");
    }
    return status_set(st, ERR_BadValue, "hint provided does not correspond to an existing index");
}

/*
 * micad_db_check_collation -- validate the collation document as MongoDB does
 * (query/collation.c); only the simple collation is applied so far, so a valid
 * non-simple one is NotImplemented rather than silently compared bytewise.
 */
int micad_db_check_collation(const bson_iter_t *collation, status_t *st)
{
    bson_t c;
    qry_collation_t *coll = NULL;
    ST_RET(micad_db_arg_doc(collation, "collation", &c, st));
    if (bson_empty(&c))
        return 0;
    ST_RET(qry_collation_parse(&c, &coll, st));
    if (coll == NULL)
        return 0;
    qry_collation_destroy(coll);
    return status_set(st, ERR_NotImplemented, "collations other than simple are not supported yet");
}

/* ======================================================================== */
/* Write concern                                                             */
/* ======================================================================== */

/*
 * The replica-set waiter (mongod/repl installs it on a member): w > 1,
 * w: "majority" and the set's default majority wait there; a standalone has
 * none. Set once at start-up before the listener opens.
 */
static micad_wc_waiter_fn g_wc_waiter;

static micad_wc_resolver_fn g_wc_resolver;

/* micad_db_set_wc_resolver -- see db.h. */
void micad_db_set_wc_resolver(micad_wc_resolver_fn fn)
{
    g_wc_resolver = fn;
}

/* micad_db_set_wc_waiter -- see db.h. */
void micad_db_set_wc_waiter(micad_wc_waiter_fn fn)
{
    g_wc_waiter = fn;
}

/* micad_db_write_concern -- see db.h. */
int micad_db_write_concern(const wire_opctx_t *op, micad_wc_t *wc, status_t *st)
{
    bson_iter_t it;
    bool has_w = false;
    wc->acknowledged = true;
    wc->journal = false;
    wc->w = 1;
    wc->wtimeout = 0;
    wc->mode[0] = '\0';
    wc->implicit = false;
    if (g_wc_waiter != NULL &&
        (!op->has_write_concern || !bson_iter_init_find(&it, &op->write_concern, "w"))) {
        /* MongoDB 5.0+: a replica set's implicit default is w: "majority" (journaled) */
        wc->w = -1;
        wc->journal = true;
        wc->implicit = true; /* the resolver may say otherwise (defaults, arbiters) */
    }
    if (!op->has_write_concern)
        return g_wc_resolver != NULL ? g_wc_resolver(wc, st) : 0;
    if (!bson_iter_init(&it, &op->write_concern))
        return status_set(st, ERR_FailedToParse, "malformed writeConcern");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "w") == 0) {
            if (bsonu_is_number(bson_iter_type(&it))) {
                double d = 0;
                (void)bsonu_number_as_double(bson_iter_value(&it), &d);
                if (d != d)
                    return status_set(st, ERR_FailedToParse, "w cannot be NaN");
                if (d < 0 || d > 50)
                    return status_set(st, ERR_FailedToParse,
                                      "w has to be a non-negative number and not greater than "
                                      "50; found: %lld",
                                      (long long)d);
                wc->w = (int64_t)d;
            } else if (BSON_ITER_HOLDS_UTF8(&it)) {
                const char *mode = bson_iter_utf8(&it, NULL);
                if (strcmp(mode, "majority") != 0 && g_wc_waiter != NULL) {
                    /* a custom mode: the resolver checks it against the config */
                    if (strlen(mode) >= sizeof(wc->mode))
                        return status_set(st, ERR_UnknownReplWriteConcern,
                                          "No write concern mode named '%s' found in replica "
                                          "set configuration",
                                          mode);
                    snprintf(wc->mode, sizeof(wc->mode), "%s", mode);
                    wc->w = -2;
                    continue;
                }
                if (strcmp(mode, "majority") != 0)
                    return status_set(st, ERR_BadValue,
                                      "cannot use non-majority 'w' mode \"%s\" when a host is "
                                      "not a member of a replica set",
                                      mode);
                wc->w = -1;
                /* A standalone's majority is itself once the write is in the journal. */
                wc->journal = true;
            } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
                return status_set(st, ERR_BadValue,
                                  "cannot use non-majority 'w' mode when a host is not a member "
                                  "of a replica set");
            } else {
                return status_set(st, ERR_FailedToParse, "w has to be a number or string");
            }
        } else if (strcmp(k, "j") == 0) {
            if (BSON_ITER_HOLDS_BOOL(&it) || bsonu_is_number(bson_iter_type(&it))) {
                if (bson_iter_as_bool(&it))
                    wc->journal = true;
            } else if (!BSON_ITER_HOLDS_NULL(&it) && !BSON_ITER_HOLDS_UNDEFINED(&it)) {
                return status_set(st, ERR_FailedToParse, "j must be numeric or a boolean value");
            }
        } else if (strcmp(k, "fsync") == 0) {
            if (bson_iter_as_bool(&it))
                wc->journal = true;
        } else if (strcmp(k, "wtimeout") == 0 || strcmp(k, "wtimeoutMS") == 0) {
            if (!bsonu_is_number(bson_iter_type(&it)))
                return status_set(st, ERR_FailedToParse, "wtimeout must be a number");
            wc->wtimeout = bson_iter_as_int64(&it);
        } else if (strcmp(k, "getLastError") == 0 || strcmp(k, "provenance") == 0 ||
                   strcmp(k, "wOpTime") == 0 || strcmp(k, "wElectionId") == 0) {
            /* accepted and ignored, as mongod does */
        } else {
            return status_set(st, ERR_FailedToParse, "unrecognized write concern field: %s", k);
        }
    }
    (void)has_w;
    if (g_wc_resolver != NULL)
        ST_RET(g_wc_resolver(wc, st));
    if (wc->w > 1 && g_wc_waiter == NULL)
        return status_set(st, ERR_BadValue, "cannot use 'w' > 1 when a host is not replicated");
    if (wc->w == 0 && !wc->journal)
        wc->acknowledged = false;
    return 0;
}

/* micad_db_wait_write_concern -- the journal flush for j / majority, then the set. */
int micad_db_wait_write_concern(stor_session_t *sess, const micad_wc_t *wc, status_t *st)
{
    int ret = 0;
    if (wc->journal) {
        wire_worker_block_begin(); /* an fsync: let another worker use the CPU meanwhile */
        ret = stor_wait_durable(sess, st);
        wire_worker_block_end();
    }
    if (ret == 0 && g_wc_waiter != NULL && (wc->w == -1 || wc->w == -2 || wc->w > 1)) {
        wire_worker_block_begin(); /* waiting for other members, not for the CPU */
        ret = g_wc_waiter(wc, st);
        wire_worker_block_end();
    }
    return ret;
}

/* micad_db_finish_write -- writeConcernError instead of failing the command. */
void micad_db_finish_write(stor_session_t *sess, const micad_wc_t *wc, bson_t *reply)
{
    status_t st = STATUS_INIT;
    if (sess == NULL || micad_db_wait_write_concern(sess, wc, &st) == 0)
        return;
    bson_t e;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "writeConcernError", &e);
    BSON_APPEND_INT32(&e, "code", st.code);
    BSON_APPEND_UTF8(&e, "codeName", status_code_name(st.code));
    BSON_APPEND_UTF8(&e, "errmsg", st.msg);
    bson_append_document_end(reply, &e);
}

/* ======================================================================== */
/* Insert documents                                                          */
/* ======================================================================== */

/* micad_db_check_stored_size -- the 16 MiB user document limit. */
int micad_db_check_stored_size(const bson_t *doc, status_t *st)
{
    if (doc->len > WIRE_MAX_BSON_BYTES)
        return status_set(st, ERR_BSONObjectTooLarge,
                          "Resulting document after update is larger than %d", WIRE_MAX_BSON_BYTES);
    return 0;
}

/* micad_db_prepare_insert -- MongoDB's fixDocumentForInsert. */
int micad_db_prepare_insert(const bson_t *doc, bson_t *out, status_t *st)
{
    bson_iter_t it;
    bool has_id = false, id_first = false, first = true;

    bson_init(out);
    if (doc->len > WIRE_MAX_BSON_BYTES)
        return status_set(st, ERR_BadValue,
                          "object to insert too large. size in bytes: %u, max size: %d", doc->len,
                          WIRE_MAX_BSON_BYTES);
    if (!bson_iter_init(&it, doc))
        return status_set(st, ERR_InvalidBSON, "invalid BSON document to insert");
    while (bson_iter_next(&it)) {
        /* MongoDB 5.0+ stores $-prefixed field names on insert (dot-dollar rules). */
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "_id") == 0) {
            switch (bson_iter_type(&it)) {
            case BSON_TYPE_REGEX:
                return status_set(st, ERR_BadValue, "can't use a regex for _id");
            case BSON_TYPE_UNDEFINED:
                return status_set(st, ERR_BadValue, "can't use a undefined for _id");
            case BSON_TYPE_ARRAY:
                return status_set(st, ERR_BadValue, "can't use an array for _id");
            case BSON_TYPE_DOCUMENT: {
                /* $-prefixed names are storable anywhere but inside _id. */
                bson_iter_t sub;
                if (bson_iter_recurse(&it, &sub)) {
                    while (bson_iter_next(&sub)) {
                        if (bson_iter_key(&sub)[0] == '$')
                            return status_set(st, ERR_DollarPrefixedFieldName,
                                              "_id fields may not contain '$'-prefixed fields: "
                                              "%s is not valid for storage.",
                                              bson_iter_key(&sub));
                    }
                }
                break;
            }
            default:
                break;
            }
            if (has_id)
                return status_set(st, ERR_BadValue,
                                  "can't have multiple _id fields in one document");
            has_id = true;
            id_first = first;
        }
        first = false;
    }
    if (has_id && id_first) {
        bson_concat(out, doc);
        return 0;
    }
    if (has_id) {
        bson_iter_init_find(&it, doc, "_id");
        bson_append_iter(out, "_id", 3, &it);
    } else {
        bson_oid_t oid;
        bson_oid_init(&oid, NULL);
        BSON_APPEND_OID(out, "_id", &oid);
    }
    bson_iter_init(&it, doc);
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "_id") != 0)
            bson_append_iter(out, bson_iter_key(&it), (int)bson_iter_key_len(&it), &it);
    if (out->len > WIRE_MAX_BSON_BYTES + 16 * 1024)
        return status_set(st, ERR_BadValue,
                          "object to insert too large. size in bytes: %u, max size: %d", out->len,
                          WIRE_MAX_BSON_BYTES);
    return 0;
}

/* ======================================================================== */
/* Command arguments                                                         */
/* ======================================================================== */

/* micad_db_bson_type_name -- the names MongoDB's $type and error messages use. */
const char *micad_db_bson_type_name(bson_type_t t)
{
    return bsonu_type_name(t);
}

/* micad_db_type_error -- IDL's wrong-type message. */
int micad_db_type_error(const bson_iter_t *it, const char *cmd, const char *expected, status_t *st)
{
    return status_set(st, ERR_TypeMismatch,
                      "BSON field '%s.%s' is the wrong type '%s', expected type '%s'", cmd,
                      bson_iter_key(it), micad_db_bson_type_name(bson_iter_type(it)), expected);
}

/* micad_db_unknown_field -- IDL's unknown-field error (Location40415). */
int micad_db_unknown_field(const char *cmd, const char *field, status_t *st)
{
    return status_set(st, 40415, "BSON field '%s.%s' is an unknown field.", cmd, field);
}

/* micad_db_arg_bool -- bool or number, as IDL's "safeBool" accepts. */
int micad_db_arg_bool(const bson_iter_t *it, const char *cmd, bool *out, status_t *st)
{
    if (BSON_ITER_HOLDS_BOOL(it) || bsonu_is_number(bson_iter_type(it))) {
        *out = bson_iter_as_bool(it);
        return 0;
    }
    return micad_db_type_error(it, cmd, "bool", st);
}

/* micad_db_arg_doc -- an object as a static view. */
int micad_db_arg_doc(const bson_iter_t *it, const char *cmd, bson_t *out, status_t *st)
{
    const uint8_t *data;
    uint32_t len;
    if (!BSON_ITER_HOLDS_DOCUMENT(it))
        return micad_db_type_error(it, cmd, "object", st);
    bson_iter_document(it, &len, &data);
    if (!bson_init_static(out, data, len))
        return status_set(st, ERR_InvalidBSON, "malformed document in '%s.%s'", cmd,
                          bson_iter_key(it));
    return 0;
}

/* micad_db_arg_int64 -- whole numbers only. */
int micad_db_arg_int64(const bson_iter_t *it, const char *cmd, int64_t *out, status_t *st)
{
    if (!bsonu_is_number(bson_iter_type(it)))
        return micad_db_type_error(it, cmd, "long", st);
    if (!bsonu_number_as_int64(bson_iter_value((bson_iter_t *)it), out)) {
        double d = 0;
        (void)bsonu_number_as_double(bson_iter_value((bson_iter_t *)it), &d);
        if (d != d || d > 9.2e18 || d < -9.2e18)
            return status_set(st, ERR_BadValue, "BSON field '%s.%s' is out of range", cmd,
                              bson_iter_key(it));
        *out = (int64_t)d; /* fractions truncate, as safeNumberLong does */
    }
    return 0;
}

/* micad_db_is_generic_arg -- fields every command accepts (wire/command.c parsed them). */
bool micad_db_is_generic_arg(const char *f)
{
    static const char *const generic[] = {
        "$db",
        "lsid",
        "txnNumber",
        "autocommit",
        "startTransaction",
        "readConcern",
        "writeConcern",
        "maxTimeMS",
        "comment",
        "$readPreference",
        "apiVersion",
        "apiStrict",
        "apiDeprecationErrors",
        "$clusterTime",
        "$audit",
        "$client",
        "$configServerState",
        "$gleStats",
        "$oplogQueryData",
        "$replData",
        "$topologyTime",
        "$configTime",
        "databaseVersion",
        "shardVersion",
        "clientOperationKey",
        "mayBypassWriteBlocking",
        "readOnly",
        "tracking_info",
        "$queryOptions",
        "$query",
        "$readPreference",
        "$timestamp",
        "versionContext",
        NULL,
    };
    for (int i = 0; generic[i]; i++)
        if (strcmp(f, generic[i]) == 0)
            return true;
    return false;
}

/* micad_db_docs_init -- a kind-1 sequence wins; else the body's array. */
int micad_db_docs_init(const wire_opctx_t *op, const bson_t *cmd, const char *field,
                       micad_db_docs_t *d, status_t *st)
{
    memset(d, 0, sizeof(*d));
    if (op->req != NULL) {
        for (size_t i = 0; i < op->req->n_seqs; i++) {
            if (strcmp(op->req->seqs[i].identifier, field) == 0) {
                d->seq = &op->req->seqs[i];
                d->count = d->seq->count;
                return 0;
            }
        }
    }
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, field))
        return status_set(st, 40414, "BSON field '%s.%s' is missing but a required field",
                          op->name ? op->name : "", field);
    if (!BSON_ITER_HOLDS_ARRAY(&it))
        return micad_db_type_error(&it, op->name ? op->name : "", "array", st);
    bson_iter_t sub;
    if (!bson_iter_recurse(&it, &sub))
        return status_set(st, ERR_InvalidBSON, "malformed array '%s'", field);
    uint32_t n = 0;
    bson_iter_t check = sub;
    while (bson_iter_next(&check)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&check))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field '%s.%s.%u' is the wrong type '%s', expected type "
                              "'object'",
                              op->name ? op->name : "", field, n,
                              micad_db_bson_type_name(bson_iter_type(&check)));
        n++;
    }
    d->arr = sub;
    d->has_arr = true;
    d->count = n;
    return 0;
}

/* micad_db_docs_next -- sequence documents were validated by the parser. */
bool micad_db_docs_next(micad_db_docs_t *d, bson_t *doc)
{
    if (d->seq != NULL)
        return wire_doc_seq_next(d->seq, &d->off, doc);
    if (!d->has_arr || !bson_iter_next(&d->arr))
        return false;
    const uint8_t *data;
    uint32_t len;
    bson_iter_document(&d->arr, &len, &data);
    return bson_init_static(doc, data, len);
}

/* ======================================================================== */
/* Write errors                                                              */
/* ======================================================================== */

/*
 * MICAD_WRITE_ERRORS_BYTES -- past this much error payload, further errmsgs
 * are shortened (as MongoDB truncates them) so that a large unordered batch
 * of failures still fits in one 16 MiB reply.
 */
#define MICAD_WRITE_ERRORS_BYTES (1024 * 1024)

void micad_write_errors_init(micad_write_errors_t *we)
{
    bson_init(&we->arr);
    we->n = 0;
    we->bytes = 0;
}

void micad_write_errors_destroy(micad_write_errors_t *we)
{
    if (we == NULL)
        return;
    bson_destroy(&we->arr);
}

/* micad_write_errors_add -- one element of writeErrors. */
void micad_write_errors_add(micad_write_errors_t *we, int32_t index, const status_t *st,
                            stor_session_t *sess, const bson_t *errinfo)
{
    char key[16];
    const char *k;
    bson_t e;
    bson_uint32_to_string(we->n, &k, key, sizeof(key));
    bson_append_document_begin(&we->arr, k, -1, &e);
    BSON_APPEND_INT32(&e, "index", index);
    BSON_APPEND_INT32(&e, "code", st->code);
    if (we->bytes > MICAD_WRITE_ERRORS_BYTES)
        BSON_APPEND_UTF8(&e, "errmsg", "");
    else
        BSON_APPEND_UTF8(&e, "errmsg", st->msg);
    if (st->code == ERR_DuplicateKey && sess != NULL) {
        bson_t kp, kv;
        stor_session_dup_key(sess, &kp, &kv);
        BSON_APPEND_DOCUMENT(&e, "keyPattern", &kp);
        BSON_APPEND_DOCUMENT(&e, "keyValue", &kv);
        bson_destroy(&kp);
        bson_destroy(&kv);
    }
    if (errinfo != NULL)
        BSON_APPEND_DOCUMENT(&e, "errInfo", errinfo);
    bson_append_document_end(&we->arr, &e);
    we->bytes = we->arr.len;
    we->n++;
}

/* micad_db_dup_key_reply -- a command failing with DuplicateKey: keyPattern and keyValue
 * beside codeName, from this thread's storage session (which raised it). */
void micad_db_dup_key_reply(wire_opctx_t *op, int ret, const status_t *st)
{
    stor_session_t *sess;
    status_t ignore = STATUS_INIT;
    if (op == NULL || ret != ERR_DuplicateKey || st->code != ERR_DuplicateKey ||
        micad_db_session(micad_of(op), &sess, &ignore) != 0)
        return;
    bson_t kp, kv;
    stor_session_dup_key(sess, &kp, &kv);
    bson_t *info = wire_opctx_error_info(op);
    BSON_APPEND_DOCUMENT(info, "keyPattern", &kp);
    BSON_APPEND_DOCUMENT(info, "keyValue", &kv);
    bson_destroy(&kp);
    bson_destroy(&kv);
}

/* micad_write_errors_append -- only when non-empty, as mongod. */
void micad_write_errors_append(const micad_write_errors_t *we, bson_t *reply)
{
    if (we->n > 0)
        BSON_APPEND_ARRAY(reply, "writeErrors", &we->arr);
}

/* micad_db_is_interruption -- see db.h (MongoDB's write_ops_exec handleError). */
bool micad_db_is_interruption(int code)
{
    return code == ERR_Interrupted || code == ERR_InterruptedAtShutdown ||
           code == ERR_InterruptedDueToReplStateChange || code == ERR_MaxTimeMSExpired;
}

/* micad_db_is_fatal_batch_error -- these end an unordered batch too. */
bool micad_db_is_fatal_batch_error(int code)
{
    return code == ERR_MaxTimeMSExpired || code == ERR_InterruptedAtShutdown ||
           code == ERR_InternalError;
}

/* ======================================================================== */
/* Collection validators                                                     */
/* ======================================================================== */

/* micad_validator_load -- options {validator, validationLevel, validationAction}. */
int micad_validator_load(stor_collection_t *coll, micad_validator_t *v, status_t *st)
{
    const bson_t *opts = stor_collection_options(coll);
    bson_iter_t it;
    bson_t filter;
    memset(v, 0, sizeof(*v));
    if (opts == NULL || !bson_iter_init_find(&it, opts, "validator"))
        return 0;
    if (micad_db_arg_doc(&it, "create", &filter, st) != 0 || bson_empty(&filter))
        return 0;
    if (bson_iter_init_find(&it, opts, "validationLevel") && BSON_ITER_HOLDS_UTF8(&it)) {
        const char *lvl = bson_iter_utf8(&it, NULL);
        if (strcmp(lvl, "off") == 0)
            return 0;
        v->moderate = strcmp(lvl, "moderate") == 0;
    }
    if (bson_iter_init_find(&it, opts, "validationAction") && BSON_ITER_HOLDS_UTF8(&it))
        v->warn = strcmp(bson_iter_utf8(&it, NULL), "warn") == 0;
    return qry_match_parse(&filter, NULL, &v->match, st);
}

void micad_validator_destroy(micad_validator_t *v)
{
    if (v == NULL)
        return;
    qry_match_destroy(v->match);
    v->match = NULL;
}

/* micad_validator_check -- fail, warn, or pass. */
int micad_validator_check(const micad_validator_t *v, const char *ns, const bson_t *doc,
                          const bson_t *old, bson_t *errinfo, bool *has_errinfo, status_t *st)
{
    *has_errinfo = false;
    if (v->match == NULL)
        return 0;
    if (qry_match_eval(v->match, doc, NULL))
        return 0;
    /* moderate: updates of documents that were already invalid are not checked. */
    if (v->moderate && old != NULL && !qry_match_eval(v->match, old, NULL))
        return 0;
    bson_iter_t id;
    if (v->warn) {
        LOG(WARNING, STORAGE, 20294, "Document would fail validation", "namespace", BCON_UTF8(ns));
        return 0;
    }
    bson_init(errinfo);
    *has_errinfo = true;
    if (bson_iter_init_find(&id, doc, "_id"))
        bson_append_iter(errinfo, "failingDocumentId", -1, &id);
    {
        bson_t details;
        qry_match_explain_failure(v->match, doc, &details);
        BSON_APPEND_DOCUMENT(errinfo, "details", &details);
        bson_destroy(&details);
    }
    return status_set(st, ERR_DocumentValidationFailure, "Document failed validation");
}

/* micad_db_cursor_reply -- an exhausted cursor holding every result. */
void micad_db_cursor_reply(bson_t *reply, const char *ns, const bson_t *docs)
{
    bson_t c;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &c);
    BSON_APPEND_INT64(&c, "id", 0);
    BSON_APPEND_UTF8(&c, "ns", ns);
    BSON_APPEND_ARRAY(&c, "firstBatch", docs);
    bson_append_document_end(reply, &c);
}
