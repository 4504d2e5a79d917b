/*
 * session.c -- sessions (one WT_SESSION per thread at a time, cached by the
 * engine), their WT cursor caches, units of work over WT snapshot
 * transactions, and dropping tables that may still have cursors open.
 *
 * Writes outside an explicit unit of work run in an implicit one so a record
 * and its index entries always change together.
 */
#include "storage/storage_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* stor_session_open -- reuse a cached session or open a new WT session. */
int stor_session_open(stor_engine_t *eng, stor_session_t **out, status_t *st)
{
    *out = NULL;
    pthread_mutex_lock(&eng->pool_lock);
    stor_session_t *s = eng->free_sessions;
    if (s != NULL) {
        eng->free_sessions = s->next_free;
    } else {
        s = calloc(1, sizeof(*s));
        INVARIANT(s != NULL);
        int ret = eng->conn->open_session(eng->conn, NULL, "isolation=snapshot", &s->wt);
        if (ret != 0) {
            pthread_mutex_unlock(&eng->pool_lock);
            free(s);
            return stor__wt_status(st, ret, "open_session");
        }
        s->eng = eng;
        s->uow.sess = s;
        s->epoch = atomic_load(&eng->drop_epoch);
        s->next_all = eng->all_sessions;
        eng->all_sessions = s;
    }
    s->in_use = true;
    s->next_free = NULL;
    eng->sessions_in_use++;
    pthread_mutex_unlock(&eng->pool_lock);
    *out = s;
    return 0;
}

/* stor_session_close -- abort what is open and return the session to the cache. */
void stor_session_close(stor_session_t *sess)
{
    if (sess == NULL)
        return;
    if (sess->uow.active)
        stor_uow_abort(&sess->uow);
    if (sess->has_dup) {
        bson_destroy(&sess->dup_pattern);
        bson_destroy(&sess->dup_value);
        sess->has_dup = false;
    }
    stor_engine_t *eng = sess->eng;
    pthread_mutex_lock(&eng->pool_lock);
    sess->in_use = false;
    sess->next_free = eng->free_sessions;
    eng->free_sessions = sess;
    eng->sessions_in_use--;
    pthread_mutex_unlock(&eng->pool_lock);
}

/* stor_session_engine -- the owner. */
stor_engine_t *stor_session_engine(const stor_session_t *sess)
{
    return sess->eng;
}

/* stor__session_close_cursors -- idle cached cursors only; in-use ones belong to a scan. */
void stor__session_close_cursors(stor_session_t *sess, const char *uri)
{
    for (int i = 0; i < STOR_CURSOR_CACHE; i++) {
        stor_cached_cursor_t *cc = &sess->cache[i];
        if (cc->c == NULL || cc->in_use)
            continue;
        if (uri != NULL && strcmp(cc->uri, uri) != 0)
            continue;
        cc->c->close(cc->c);
        free(cc->uri);
        cc->c = NULL;
        cc->uri = NULL;
    }
}

/* stor__cursor_get -- after a drop anywhere, drop the whole idle cache first (drops are rare). */
int stor__cursor_get(stor_session_t *sess, const char *uri, WT_CURSOR **out, status_t *st)
{
    uint64_t epoch = atomic_load(&sess->eng->drop_epoch);
    if (epoch != sess->epoch) {
        stor__session_close_cursors(sess, NULL);
        sess->epoch = epoch;
    }
    int free_slot = -1;
    for (int i = 0; i < STOR_CURSOR_CACHE; i++) {
        stor_cached_cursor_t *cc = &sess->cache[i];
        if (cc->c == NULL) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (!cc->in_use && strcmp(cc->uri, uri) == 0) {
            cc->in_use = true;
            *out = cc->c;
            return 0;
        }
    }
    WT_CURSOR *c;
    int ret = sess->wt->open_cursor(sess->wt, uri, NULL, NULL, &c);
    if (ret == WT_NOTFOUND || ret == ENOENT)
        return status_set(st, ERR_NamespaceNotFound, "table %s does not exist", uri);
    if (ret != 0)
        return stor__wt_status(st, ret, "open_cursor");
    if (free_slot >= 0) {
        sess->cache[free_slot].uri = strdup(uri);
        sess->cache[free_slot].c = c;
        sess->cache[free_slot].in_use = true;
    }
    *out = c;
    return 0;
}

/* stor__cursor_put -- reset a cached cursor (releases its snapshot pin) or close a spare. */
void stor__cursor_put(stor_session_t *sess, WT_CURSOR *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < STOR_CURSOR_CACHE; i++) {
        if (sess->cache[i].c == c) {
            c->reset(c);
            sess->cache[i].in_use = false;
            return;
        }
    }
    c->close(c);
}

/* stor__drop_uri -- schema drops return EBUSY while any cursor is open: defer and retry. */
void stor__drop_uri(stor_engine_t *eng, WT_SESSION *wt, const char *uri)
{
    atomic_fetch_add(&eng->drop_epoch, 1);
    int ret = wt->drop(wt, uri, "force=true");
    if (ret == 0)
        return;
    LOG(DEBUG1, STORAGE, 22110, "Deferring table drop", "uri", BCON_UTF8(uri), "error",
        BCON_INT32(ret));
    stor_pending_drop_t *p = calloc(1, sizeof(*p));
    INVARIANT(p != NULL);
    snprintf(p->uri, sizeof(p->uri), "%s", uri);
    pthread_mutex_lock(&eng->pool_lock);
    p->next = eng->pending_drops;
    eng->pending_drops = p;
    pthread_mutex_unlock(&eng->pool_lock);
}

/* stor__retry_pending_drops -- close idle sessions' cursors, then drop what is left. */
void stor__retry_pending_drops(stor_engine_t *eng, WT_SESSION *wt)
{
    pthread_mutex_lock(&eng->pool_lock);
    stor_pending_drop_t *list = eng->pending_drops;
    eng->pending_drops = NULL;
    if (list != NULL)
        for (stor_session_t *s = eng->free_sessions; s; s = s->next_free)
            stor__session_close_cursors(s, NULL);
    pthread_mutex_unlock(&eng->pool_lock);
    while (list) {
        stor_pending_drop_t *p = list;
        list = p->next;
        int ret = wt->drop(wt, p->uri, "force=true");
        if (ret == 0) {
            LOG(DEBUG1, STORAGE, 22111, "Deferred table drop done", "uri", BCON_UTF8(p->uri));
            free(p);
            continue;
        }
        pthread_mutex_lock(&eng->pool_lock);
        p->next = eng->pending_drops;
        eng->pending_drops = p;
        pthread_mutex_unlock(&eng->pool_lock);
    }
}

/* Units of work ------------------------------------------------------------ */

static void uow_clear(stor_uow_t *uow)
{
    for (size_t i = 0; i < uow->nmk; i++)
        free(uow->mk[i].path);
    uow->nmk = 0;
    uow->ndeltas = 0;
    uow->active = false;
    uow->implicit = false;
    uow->commit_ts = 0;
    uow->oplog_ts = 0;
    uow->oplog_bytes = 0;
    uow->oplog_count = 0;
}

static int uow_begin(stor_session_t *sess, uint64_t read_ts, bool round_up, bool implicit,
                     status_t *st)
{
    if (sess->uow.active)
        return status_set(st, ERR_IllegalOperation, "a unit of work is already open");
    /* The session was opened isolation=snapshot: no config string to parse per write. */
    char cfg[96];
    const char *config = NULL;
    if (read_ts != 0) {
        char hex[17];
        stor__ts_hex(read_ts, hex);
        snprintf(cfg, sizeof(cfg), "read_timestamp=%s%s", hex,
                 round_up ? ",roundup_timestamps=(read=true)" : "");
        config = cfg;
    }
    int ret = sess->wt->begin_transaction(sess->wt, config);
    if (ret == EINVAL)
        return status_set(st, ERR_SnapshotTooOld,
                          "Read timestamp %" PRIu64 " is older than the oldest available", read_ts);
    if (ret != 0)
        return stor__wt_status(st, ret, "begin_transaction");
    uow_clear(&sess->uow);
    sess->uow.active = true;
    sess->uow.implicit = implicit;
    return 0;
}

/* stor_uow_begin -- one unit of work per session; WT snapshot isolation. */
int stor_uow_begin(stor_session_t *sess, uint64_t read_ts, stor_uow_t **out, status_t *st)
{
    return stor_uow_begin_ts(sess, read_ts, false, out, st);
}

/* stor_uow_begin_ts -- as stor_uow_begin; round_up reads at oldest when read_ts is older. */
int stor_uow_begin_ts(stor_session_t *sess, uint64_t read_ts, bool round_up, stor_uow_t **out,
                      status_t *st)
{
    *out = NULL;
    ST_RET(uow_begin(sess, read_ts, round_up, false, st));
    *out = &sess->uow;
    return 0;
}

/* stor_session_uow -- the open unit or NULL. */
stor_uow_t *stor_session_uow(stor_session_t *sess)
{
    return sess->uow.active && !sess->uow.implicit ? &sess->uow : NULL;
}

/* stor_uow_set_commit_ts -- via timestamp_transaction so WT tracks it before commit. */
int stor_uow_set_commit_ts(stor_uow_t *uow, uint64_t ts, status_t *st)
{
    if (uow == NULL || !uow->active)
        return status_set(st, ERR_IllegalOperation, "no unit of work is open");
    if (ts == 0)
        return status_set(st, ERR_BadValue, "commit timestamp must be non-zero");
    if (uow->commit_ts == ts)
        return 0;
    char hex[17], cfg[64];
    stor__ts_hex(ts, hex);
    snprintf(cfg, sizeof(cfg), "commit_timestamp=%s", hex);
    int ret = uow->sess->wt->timestamp_transaction(uow->sess->wt, cfg);
    if (ret == EINVAL)
        return status_set(st, ERR_BadValue,
                          "commit timestamp %" PRIu64
                          " is older than the stable/oldest timestamp or an earlier one",
                          ts);
    if (ret != 0)
        return stor__wt_status(st, ret, "timestamp_transaction");
    uow->commit_ts = ts;
    return 0;
}

static void uow_publish(stor_uow_t *uow)
{
    for (size_t i = 0; i < uow->ndeltas; i++) {
        atomic_fetch_add(&uow->deltas[i].coll->count, uow->deltas[i].count);
        atomic_fetch_add(&uow->deltas[i].coll->data_size, uow->deltas[i].size);
    }
    if (uow->nmk > 0) {
        stor_engine_t *eng = uow->sess->eng;
        pthread_rwlock_wrlock(&eng->cat_lock);
        for (size_t i = 0; i < uow->nmk; i++) {
            bson_iter_t it;
            if (!bson_iter_init_find(&it, &uow->mk[i].idx->multikey_paths, uow->mk[i].path))
                BSON_APPEND_BOOL(&uow->mk[i].idx->multikey_paths, uow->mk[i].path, true);
        }
        pthread_rwlock_unlock(&eng->cat_lock);
    }
}

/* stor_uow_commit -- counters, multikey paths and oplog visibility change only now. */
int stor_uow_commit(stor_uow_t *uow, uint64_t commit_ts, status_t *st)
{
    if (uow == NULL || !uow->active)
        return status_set(st, ERR_IllegalOperation, "no unit of work is open");
    stor_session_t *sess = uow->sess;
    int ret = 0;
    if (commit_ts != 0 && commit_ts != uow->commit_ts) {
        ret = stor_uow_set_commit_ts(uow, commit_ts, st);
        if (ret != 0) {
            stor_uow_abort(uow);
            return ret;
        }
    }
    int wret = sess->wt->commit_transaction(sess->wt, NULL);
    bool committed = wret == 0;
    if (committed) {
        uow_publish(uow);
        /*
         * Committed in WT: the outcome cannot change any more, but the caller
         * acknowledges it only once the record is in the OS. A failed write
         * is reported as the commit's error (the data may or may not be there
         * after a crash, as with any I/O error on commit).
         */
        ret = stor__commit_written(sess, st);
    } else {
        ret = stor__wt_status(st, wret, "commit_transaction");
    }
    if (uow->oplog_ts != 0)
        stor__oplog_commit_done(sess->eng, uow, committed);
    uow_clear(uow);
    return ret;
}

/* stor_uow_abort -- WT rolls back; nothing was published. */
void stor_uow_abort(stor_uow_t *uow)
{
    if (uow == NULL || !uow->active)
        return;
    stor_session_t *sess = uow->sess;
    sess->wt->rollback_transaction(sess->wt, NULL);
    if (uow->oplog_ts != 0)
        stor__oplog_commit_done(sess->eng, uow, false);
    uow_clear(uow);
}

/* stor__uow_enter -- writes need a transaction; open an implicit one if none. */
int stor__uow_enter(stor_session_t *sess, bool *implicit, status_t *st)
{
    *implicit = false;
    if (sess->uow.active)
        return 0;
    ST_RET(uow_begin(sess, 0, false, true, st));
    *implicit = true;
    return 0;
}

/* stor__uow_leave -- an implicit unit commits on success, aborts on failure. */
int stor__uow_leave(stor_session_t *sess, bool implicit, int ret, status_t *st)
{
    if (!implicit)
        return ret;
    if (ret != 0) {
        stor_uow_abort(&sess->uow);
        return ret;
    }
    return stor_uow_commit(&sess->uow, 0, st);
}

/* stor__uow_add_delta -- merge with an earlier delta of the same collection. */
int stor__uow_add_delta(stor_uow_t *uow, stor_collection_t *coll, int64_t count, int64_t size,
                        status_t *st)
{
    for (size_t i = 0; i < uow->ndeltas; i++) {
        if (uow->deltas[i].coll == coll) {
            uow->deltas[i].count += count;
            uow->deltas[i].size += size;
            return 0;
        }
    }
    if (uow->ndeltas == uow->cap_deltas) {
        size_t cap = uow->cap_deltas ? uow->cap_deltas * 2 : 4;
        stor_delta_t *d = realloc(uow->deltas, cap * sizeof(*d));
        if (d == NULL)
            return status_set(st, ERR_ExceededMemoryLimit, "out of memory");
        uow->deltas = d;
        uow->cap_deltas = cap;
    }
    uow->deltas[uow->ndeltas++] = (stor_delta_t){coll, count, size};
    return 0;
}

/* stor__uow_has_multikey -- avoid recording (and writing the catalog for) a path twice. */
bool stor__uow_has_multikey(stor_uow_t *uow, stor_index_t *idx, const char *path)
{
    for (size_t i = 0; i < uow->nmk; i++)
        if (uow->mk[i].idx == idx && strcmp(uow->mk[i].path, path) == 0)
            return true;
    return false;
}

/* stor__uow_add_multikey -- remember a path to publish in memory at commit. */
int stor__uow_add_multikey(stor_uow_t *uow, stor_index_t *idx, const char *path, status_t *st)
{
    if (uow->nmk == uow->cap_mk) {
        size_t cap = uow->cap_mk ? uow->cap_mk * 2 : 4;
        stor_mk_change_t *m = realloc(uow->mk, cap * sizeof(*m));
        if (m == NULL)
            return status_set(st, ERR_ExceededMemoryLimit, "out of memory");
        uow->mk = m;
        uow->cap_mk = cap;
    }
    uow->mk[uow->nmk].idx = idx;
    uow->mk[uow->nmk].path = strdup(path);
    uow->nmk++;
    return 0;
}

/* stor_session_dup_key -- copies of the last DuplicateKey's pattern and value. */
void stor_session_dup_key(stor_session_t *sess, bson_t *key_pattern, bson_t *key_value)
{
    if (sess->has_dup) {
        bson_copy_to(&sess->dup_pattern, key_pattern);
        bson_copy_to(&sess->dup_value, key_value);
    } else {
        bson_init(key_pattern);
        bson_init(key_value);
    }
}
