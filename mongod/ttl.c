/*
 * ttl.c -- the TTL monitor: a background thread that, every
 * ttlMonitorSleepSecs (60 s, as MongoDB; `--setParameter ttlMonitorSleepSecs=N`
 * changes it, which the tests use), walks every collection's
 * TTL indexes (single-field indexes with expireAfterSeconds) and deletes the
 * documents whose indexed date -- or, for an array, earliest date -- is older
 * than expireAfterSeconds. A clustered collection with expireAfterSeconds
 * (clustered.c) expires by its _id the same way, through its _id index.
 *
 * Candidates come from a scan of the index over the date range below the
 * cut-off (dates sort apart from other types, so non-dates are never
 * visited); each one is deleted through the delete command's path
 * (micad_delete_rid: its own unit of work, write-conflict retry, index
 * maintenance) with the namespace lock held shared, and re-matched inside
 * that unit against {field: {$lt: cutoff}} so a document updated since the
 * scan survives. Work is done in batches of TTL_BATCH so a large expiry
 * neither pins one snapshot for long nor holds the lock between batches.
 */
#include "mongod/write.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* MongoDB's ttlMonitorSleepSecs default. */
/* Documents deleted per snapshot and lock hold: bounds both without slowing a big expiry much. */
#define TTL_BATCH 1000

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool running;
    bool stopping;
    micad_t *m;
    int sleep_secs;
    _Atomic int64_t passes;
    _Atomic int64_t deleted;
} ttl = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* stopping -- checked between batches so shutdown is never held up by a long expiry. */
static bool stopping(void)
{
    pthread_mutex_lock(&ttl.lock);
    bool s = ttl.stopping;
    pthread_mutex_unlock(&ttl.lock);
    return s;
}

/* micad_ttl_sleep_secs -- the configured pass interval (--setParameter ttlMonitorSleepSecs). */
int micad_ttl_sleep_secs(void)
{
    return (int)opts_param(OPTS_PARAM_ttlMonitorSleepSecs);
}

/* collect -- up to TTL_BATCH RecordIds of idx's entries with a date before cutoff_ms. */
static int collect(stor_session_t *sess, stor_index_t *idx, bool descending, int64_t cutoff_ms,
                   int64_t *rids, size_t *n, status_t *st)
{
    bson_t lo = BSON_INITIALIZER, hi = BSON_INITIALIZER;
    BSON_APPEND_DATE_TIME(&lo, "", INT64_MIN);
    BSON_APPEND_DATE_TIME(&hi, "", cutoff_ms);
    /* bounds are in scan order: a descending index lists later dates first */
    stor_index_bounds_t b = {.start = descending ? &hi : &lo,
                             .start_inclusive = !descending,
                             .end = descending ? &lo : &hi,
                             .end_inclusive = descending,
                             .forward = true};
    stor_uow_t *uow = NULL;
    stor_index_cursor_t *cur = NULL;
    *n = 0;
    int ret = stor_uow_begin(sess, 0, &uow, st);
    if (ret == 0)
        ret = stor_index_cursor_open(sess, idx, &b, &cur, st);
    while (ret == 0 && *n < TTL_BATCH) {
        int64_t rid;
        bool eof;
        ret = stor_index_cursor_next(cur, &rid, NULL, &eof, st);
        if (ret != 0 || eof)
            break;
        /* a multikey document can appear once per expired element */
        if (*n == 0 || rids[*n - 1] != rid)
            rids[(*n)++] = rid;
    }
    stor_index_cursor_close(cur);
    stor_uow_abort(uow);
    bson_destroy(&lo);
    bson_destroy(&hi);
    return ret;
}

/* expire_index -- delete what idx says has expired; returns the count deleted. */
static int expire_index(stor_session_t *sess, stor_collection_t *coll, const char *ns,
                        stor_index_t *idx, int64_t expire_secs, int64_t *deleted, status_t *st)
{
    bson_iter_t k;
    bson_iter_init(&k, stor_index_key_pattern(idx));
    if (!bson_iter_next(&k))
        return 0;
    const char *field = bson_iter_key(&k);
    bool descending = bsonu_is_number(bson_iter_type(&k)) && bson_iter_as_double(&k) < 0;
    int64_t cutoff = time_now_ms() - expire_secs * 1000;
    bson_t filter = BSON_INITIALIZER, cond;
    BSON_APPEND_DOCUMENT_BEGIN(&filter, field, &cond);
    BSON_APPEND_DATE_TIME(&cond, "$lt", cutoff);
    bson_append_document_end(&filter, &cond);
    qry_match_t *match = NULL;
    int64_t *rids = calloc(TTL_BATCH, sizeof(int64_t));
    INVARIANT(rids != NULL);
    int ret = qry_match_parse(&filter, NULL, &match, st);
    int64_t start_us = time_mono_us();
    *deleted = 0;
    while (ret == 0 && !stopping()) {
        size_t n = 0, gone = 0;
        micad_db_lock_ns(ns, false);
        ret = collect(sess, idx, descending, cutoff, rids, &n, st);
        for (size_t i = 0; ret == 0 && i < n; i++) {
            bool d = false;
            ret = micad_delete_rid(NULL, sess, coll, match, rids[i], &d, NULL, st);
            gone += d;
        }
        micad_db_unlock_ns(ns, false);
        *deleted += (int64_t)gone;
        if (n < TTL_BATCH || gone == 0)
            break; /* the range is exhausted (or holds only documents that no longer match) */
    }
    if (*deleted > 0)
        LOG(INFO, INDEX, 21563, "Deleted expired documents using index", "namespace", BCON_UTF8(ns),
            "index", BCON_UTF8(stor_index_name(idx)), "numDeleted", BCON_INT64(*deleted),
            "durationMillis", BCON_INT64((time_mono_us() - start_us) / 1000));
    qry_match_destroy(match);
    free(rids);
    bson_destroy(&filter);
    return ret;
}

/* ttl_expire_after -- a TTL index's expireAfterSeconds (false: not a usable TTL index). */
static bool ttl_expire_after(const bson_t *spec, int64_t *secs)
{
    bson_iter_t it, key;
    if (!bson_iter_init_find(&it, spec, "expireAfterSeconds") ||
        !bsonu_is_number(bson_iter_type(&it)))
        return false;
    double d = bson_iter_as_double(&it);
    if (!(d >= 0)) /* NaN and negatives never expire anything */
        return false;
    if (!bson_iter_init_find(&key, spec, "key") || !BSON_ITER_HOLDS_DOCUMENT(&key))
        return false;
    bson_t kp;
    uint32_t len;
    const uint8_t *data;
    bson_iter_document(&key, &len, &data);
    if (!bson_init_static(&kp, data, len) || bson_count_keys(&kp) != 1)
        return false; /* MongoDB ignores TTL on compound indexes */
    *secs = d > 1e12 ? (int64_t)1e12 : (int64_t)d;
    return true;
}

/* expire_collection -- every TTL index of ns. */
static void expire_collection(micad_t *m, stor_session_t *sess, const char *ns)
{
    status_t st = STATUS_INIT;
    stor_collection_t *coll;
    bson_t list;
    bson_iter_t it;
    if (micad_db_get_collection(m, ns, &coll, &st) != 0)
        return;
    bson_iter_t cap;
    if (bson_iter_init_find(&cap, stor_collection_options(coll), "capped") &&
        bson_iter_as_bool(&cap))
        return; /* deletes from capped collections are not allowed */
    int64_t csecs = 0;
    stor_index_t *cidx;
    if (micad_clustered_expire_after(stor_collection_options(coll), &csecs) &&
        stor_index_lookup(coll, "_id_", &cidx, &st) == 0) {
        /* a clustered collection's expireAfterSeconds: TTL by its cluster key (_id) */
        int64_t deleted = 0;
        if (expire_index(sess, coll, ns, cidx, csecs, &deleted, &st) != 0) {
            LOG(WARNING, INDEX, 21564, "TTL pass over an index failed", "namespace", BCON_UTF8(ns),
                "index", BCON_UTF8("_id_"), "error", BCON_UTF8(st.msg), "code",
                BCON_INT32(st.code));
            status_reset(&st);
        }
        atomic_fetch_add(&ttl.deleted, deleted);
    }
    status_reset(&st);
    if (stor_list_indexes(m->engine, ns, &list, &st) != 0)
        return;
    bson_iter_init(&it, &list);
    while (bson_iter_next(&it) && !stopping()) {
        bson_t spec;
        bson_iter_t n;
        stor_index_t *idx;
        int64_t secs, deleted = 0;
        if (micad_db_arg_doc(&it, "listIndexes", &spec, &st) != 0 ||
            !ttl_expire_after(&spec, &secs) || !bson_iter_init_find(&n, &spec, "name") ||
            !BSON_ITER_HOLDS_UTF8(&n) ||
            stor_index_lookup(coll, bson_iter_utf8(&n, NULL), &idx, &st) != 0) {
            status_reset(&st);
            continue;
        }
        if (expire_index(sess, coll, ns, idx, secs, &deleted, &st) != 0) {
            LOG(WARNING, INDEX, 21564, "TTL pass over an index failed", "namespace", BCON_UTF8(ns),
                "index", BCON_UTF8(bson_iter_utf8(&n, NULL)), "error", BCON_UTF8(st.msg), "code",
                BCON_INT32(st.code));
            status_reset(&st);
        }
        atomic_fetch_add(&ttl.deleted, deleted);
    }
    bson_destroy(&list);
}

/* names_of -- the "name" strings of an array of documents, into a fresh array of copies. */
static char **names_of(const bson_t *arr, size_t *n)
{
    bson_iter_t it;
    size_t cap = bson_count_keys(arr);
    char **out = calloc(cap + 1, sizeof(char *));
    INVARIANT(out != NULL);
    *n = 0;
    bson_iter_init(&it, arr);
    while (bson_iter_next(&it) && *n < cap) {
        bson_iter_t c, f;
        if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &c) &&
            bson_iter_find(&c, "name") && BSON_ITER_HOLDS_UTF8(&c)) {
            f = c;
            out[(*n)++] = strdup(bson_iter_utf8(&f, NULL));
        }
    }
    return out;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* pass -- one sweep over every database's collections. */
static void pass(micad_t *m)
{
    status_t st = STATUS_INIT;
    stor_session_t *sess;
    bson_t dbs;
    if (micad_db_session(m, &sess, &st) != 0) {
        LOG(WARNING, INDEX, 21565, "TTL monitor has no storage session", "error",
            BCON_UTF8(st.msg));
        return;
    }
    if (stor_list_databases(m->engine, &dbs, &st) != 0)
        return;
    size_t ndb;
    char **db_names = names_of(&dbs, &ndb);
    bson_destroy(&dbs);
    for (size_t d = 0; d < ndb && !stopping(); d++) {
        bson_t colls;
        if (strcmp(db_names[d], "local") == 0 ||
            stor_list_collections(m->engine, db_names[d], &colls, &st) != 0) {
            status_reset(&st);
            continue;
        }
        size_t nc;
        char **coll_names = names_of(&colls, &nc);
        bson_destroy(&colls);
        for (size_t c = 0; c < nc && !stopping(); c++) {
            char ns[MICAD_NS_MAX + 1];
            if (micad_db_make_ns(db_names[d], coll_names[c], ns, &st) == 0)
                expire_collection(m, sess, ns);
            status_reset(&st);
        }
        free_names(coll_names, nc);
    }
    free_names(db_names, ndb);
    atomic_fetch_add(&ttl.passes, 1);
}

/* ttl_main -- sleep, pass, until stopped. */
static void *ttl_main(void *arg)
{
    (void)arg;
    log_set_ctx("TTLMonitor");
    for (;;) {
        pthread_mutex_lock(&ttl.lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ttl.sleep_secs;
        while (!ttl.stopping && pthread_cond_timedwait(&ttl.cond, &ttl.lock, &until) == 0)
            ; /* woken without stopping: keep waiting for the interval */
        bool stop = ttl.stopping;
        pthread_mutex_unlock(&ttl.lock);
        if (stop)
            break;
        pass(ttl.m);
    }
    return NULL;
}

/* micad_ttl_start -- start the monitor thread on m's engine. */
int micad_ttl_start(micad_t *m, status_t *st)
{
    pthread_mutex_lock(&ttl.lock);
    if (ttl.running) {
        pthread_mutex_unlock(&ttl.lock);
        return status_set(st, ERR_IllegalOperation, "the TTL monitor is already running");
    }
    ttl.m = m;
    ttl.stopping = false;
    ttl.sleep_secs = micad_ttl_sleep_secs();
    int rc = pthread_create(&ttl.thread, NULL, ttl_main, NULL);
    ttl.running = rc == 0;
    pthread_mutex_unlock(&ttl.lock);
    if (rc != 0)
        return status_set(st, ERR_InternalError, "cannot start the TTL monitor: %s", strerror(rc));
    LOG(INFO, INDEX, 21566, "TTL monitor started", "sleepSecs", BCON_INT32(ttl.sleep_secs));
    return 0;
}

/* micad_ttl_stop -- stop and join the monitor (a no-op if it is not running). */
void micad_ttl_stop(void)
{
    pthread_mutex_lock(&ttl.lock);
    bool running = ttl.running;
    ttl.stopping = true;
    pthread_cond_broadcast(&ttl.cond);
    pthread_mutex_unlock(&ttl.lock);
    if (!running)
        return;
    pthread_join(ttl.thread, NULL);
    pthread_mutex_lock(&ttl.lock);
    ttl.running = false;
    pthread_mutex_unlock(&ttl.lock);
}

/* micad_ttl_stats -- {deletedDocuments, passes} for serverStatus metrics.ttl. */
void micad_ttl_stats(bson_t *out)
{
    BSON_APPEND_INT64(out, "deletedDocuments", atomic_load(&ttl.deleted));
    BSON_APPEND_INT64(out, "passes", atomic_load(&ttl.passes));
}
