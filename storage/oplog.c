/*
 * oplog.c -- local.oplog.rs: a logged WT table ts ('Q') -> BSON entry, in
 * every mode (it is what replays a replicated node past its stable
 * checkpoint). Appends happen inside the caller's unit of work and commit at
 * the entry's timestamp; readers see an entry only once every earlier
 * append has committed or aborted (no holes), and can wait for the next one
 * on a condition variable. The front is truncated by size in the background.
 */
#include "storage/storage_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Remove from the front until this share of the cap is used, so capping runs in bursts. */
#define STOR_OPLOG_LOW_WATER 0.9

struct stor_oplog_cursor {
    stor_session_t *sess;
    WT_CURSOR *c;
    bool positioned;
    bool started;
    uint64_t start;
    uint64_t last_ts;
    /* the visibility point computed just before the positioning search: the cursor's
     * snapshot (taken by that search) holds every entry at or below it */
    uint64_t snap_visible;
};

/* stor__oplog_init -- the table is always logged; counters come from one scan. */
int stor__oplog_init(stor_engine_t *eng, WT_SESSION *wt, status_t *st)
{
    int ret = wt->create(wt, STOR_OPLOG_URI, "key_format=Q,value_format=u");
    if (ret != 0)
        return stor__wt_status(st, ret, "create oplog");
    WT_CURSOR *c;
    if ((ret = wt->open_cursor(wt, STOR_OPLOG_URI, NULL, NULL, &c)) != 0)
        return stor__wt_status(st, ret, "open oplog");
    int64_t bytes = 0, n = 0;
    uint64_t ts = 0;
    while ((ret = c->next(c)) == 0) {
        WT_ITEM v;
        c->get_key(c, &ts);
        c->get_value(c, &v);
        bytes += (int64_t)v.size;
        n++;
    }
    c->close(c);
    if (ret != WT_NOTFOUND)
        return stor__wt_status(st, ret, "oplog scan");
    atomic_store(&eng->op_bytes, bytes);
    atomic_store(&eng->op_count, n);
    eng->op_last_ts = eng->op_max_committed = ts;
    return 0;
}

/* visible_ts -- entries at or below it have no uncommitted entry before them. */
static uint64_t visible_ts(stor_engine_t *eng)
{
    uint64_t v = eng->op_max_committed;
    for (size_t i = 0; i < eng->op_npending; i++)
        if (eng->op_pending[i].ts - 1 < v)
            v = eng->op_pending[i].ts - 1;
    return v;
}

/* stor_oplog_visible_ts -- see storage.h. */
uint64_t stor_oplog_visible_ts(stor_engine_t *eng)
{
    pthread_mutex_lock(&eng->op_lock);
    uint64_t v = visible_ts(eng);
    pthread_mutex_unlock(&eng->op_lock);
    return v;
}

/* stor_oplog_append -- in the caller's unit, which commits at ts unless it chose one. */
int stor_oplog_append(stor_session_t *sess, uint64_t ts, const bson_t *entry, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    stor_uow_t *uow = &sess->uow;
    if (!uow->active || uow->implicit)
        return status_set(st, ERR_IllegalOperation, "oplog appends need a unit of work");
    if (ts == 0 || entry == NULL)
        return status_set(st, ERR_BadValue, "an oplog entry needs a non-zero ts and a document");
    pthread_mutex_lock(&eng->op_lock);
    if (ts <= eng->op_last_ts) {
        uint64_t last = eng->op_last_ts;
        pthread_mutex_unlock(&eng->op_lock);
        return status_set(st, ERR_OplogOutOfOrder,
                          "oplog entry ts %" PRIu64 " is not after the last one %" PRIu64, ts,
                          last);
    }
    if (eng->op_npending == eng->op_cap_pending) {
        size_t cap = eng->op_cap_pending ? eng->op_cap_pending * 2 : 16;
        void *p = realloc(eng->op_pending, cap * sizeof(*eng->op_pending));
        INVARIANT(p != NULL);
        eng->op_pending = p;
        eng->op_cap_pending = cap;
    }
    eng->op_pending[eng->op_npending].ts = ts;
    eng->op_pending[eng->op_npending].uow = uow;
    eng->op_npending++;
    eng->op_last_ts = ts;
    pthread_mutex_unlock(&eng->op_lock);
    /* From here the unit must end through commit/abort, which clears the hole. */
    if (uow->oplog_ts < ts)
        uow->oplog_ts = ts;
    int ret = 0;
    if (uow->commit_ts == 0)
        ret = stor_uow_set_commit_ts(uow, ts, st);
    WT_CURSOR *c = NULL;
    if (ret == 0)
        ret = stor__cursor_get(sess, STOR_OPLOG_URI, &c, st);
    if (ret == 0) {
        WT_ITEM v = {.data = bson_get_data(entry), .size = entry->len};
        c->set_key(c, ts);
        c->set_value(c, &v);
        ret = stor__wt_status(st, c->insert(c), "oplog insert");
        stor__cursor_put(sess, c);
    }
    if (ret == 0) {
        uow->oplog_bytes += entry->len;
        uow->oplog_count++;
    }
    return ret;
}

/* stor__oplog_commit_done -- close this unit's holes and wake the tailers. */
void stor__oplog_commit_done(stor_engine_t *eng, stor_uow_t *uow, bool committed)
{
    pthread_mutex_lock(&eng->op_lock);
    size_t j = 0;
    uint64_t max_pending = 0;
    for (size_t i = 0; i < eng->op_npending; i++) {
        if (eng->op_pending[i].uow == uow)
            continue;
        if (eng->op_pending[i].ts > max_pending)
            max_pending = eng->op_pending[i].ts;
        eng->op_pending[j++] = eng->op_pending[i];
    }
    eng->op_npending = j;
    if (committed) {
        if (uow->oplog_ts > eng->op_max_committed)
            eng->op_max_committed = uow->oplog_ts;
        atomic_fetch_add(&eng->op_bytes, uow->oplog_bytes);
        atomic_fetch_add(&eng->op_count, uow->oplog_count);
    } else {
        /* An aborted tail frees its timestamps for reuse. */
        uint64_t last = eng->op_max_committed > max_pending ? eng->op_max_committed : max_pending;
        if (eng->op_last_ts == uow->oplog_ts)
            eng->op_last_ts = last;
    }
    pthread_cond_broadcast(&eng->op_cond);
    pthread_mutex_unlock(&eng->op_lock);
}

static int edge_ts(stor_session_t *sess, bool last, uint64_t *ts, status_t *st)
{
    WT_CURSOR *c;
    *ts = 0;
    ST_RET(stor__cursor_get(sess, STOR_OPLOG_URI, &c, st));
    int ret = last ? c->prev(c) : c->next(c);
    if (ret == 0)
        ret = c->get_key(c, ts);
    stor__cursor_put(sess, c);
    return ret == WT_NOTFOUND ? 0 : stor__wt_status(st, ret, "oplog edge");
}

/* stor_oplog_last_ts -- newest entry in this session's view. */
int stor_oplog_last_ts(stor_session_t *sess, uint64_t *ts, status_t *st)
{
    return edge_ts(sess, true, ts, st);
}

/* stor_oplog_first_ts -- oldest entry still held. */
int stor_oplog_first_ts(stor_session_t *sess, uint64_t *ts, status_t *st)
{
    return edge_ts(sess, false, ts, st);
}

/* stor_oplog_prev -- see storage.h. */
int stor_oplog_prev(stor_session_t *sess, uint64_t before, uint64_t *ts, bson_t *out, status_t *st)
{
    WT_CURSOR *c;
    *ts = 0;
    if (before == 0)
        return 0;
    ST_RET(stor__cursor_get(sess, STOR_OPLOG_URI, &c, st));
    c->set_key(c, before - 1);
    int exact, ret = c->search_near(c, &exact);
    if (ret == 0 && exact > 0)
        ret = c->prev(c);
    if (ret == 0) {
        WT_ITEM v;
        ret = c->get_key(c, ts);
        if (ret == 0)
            ret = c->get_value(c, &v);
        if (ret == 0) {
            bson_t e;
            if (!bson_init_static(&e, v.data, v.size)) {
                stor__cursor_put(sess, c);
                return status_set(st, ERR_InternalError, "a corrupt oplog entry");
            }
            bson_concat(out, &e);
        }
    }
    stor__cursor_put(sess, c);
    if (ret == WT_NOTFOUND) {
        *ts = 0;
        return 0;
    }
    return stor__wt_status(st, ret, "oplog prev");
}

/* stor_oplog_size -- bytes of committed entries. */
int64_t stor_oplog_size(const stor_engine_t *eng)
{
    return atomic_load(&((stor_engine_t *)eng)->op_bytes);
}

/* truncate_range -- remove [first, upto] with one WT range truncate; counts what went. */
static int truncate_front(stor_engine_t *eng, WT_SESSION *wt, uint64_t limit, int64_t target,
                          status_t *st)
{
    WT_CURSOR *c, *stop = NULL;
    int ret = wt->open_cursor(wt, STOR_OPLOG_URI, NULL, NULL, &c);
    if (ret != 0)
        return stor__wt_status(st, ret, "open oplog");
    int64_t removed = 0, n = 0;
    uint64_t ts = 0, upto = 0;
    int64_t total = atomic_load(&eng->op_bytes);
    while (total - removed > target && (ret = c->next(c)) == 0) {
        WT_ITEM v;
        c->get_key(c, &ts);
        if (ts > limit)
            break;
        /* Keep the newest entry: readers resume from it. */
        if (c->next(c) != 0)
            break;
        c->prev(c);
        c->get_value(c, &v);
        removed += (int64_t)v.size;
        n++;
        upto = ts;
    }
    c->close(c);
    if (ret != 0 && ret != WT_NOTFOUND)
        return stor__wt_status(st, ret, "oplog cap scan");
    if (n == 0)
        return 0;
    if ((ret = wt->open_cursor(wt, STOR_OPLOG_URI, NULL, NULL, &stop)) != 0)
        return stor__wt_status(st, ret, "open oplog");
    stop->set_key(stop, upto);
    ret = wt->truncate(wt, NULL, NULL, stop, NULL);
    stop->close(stop);
    if (ret != 0)
        return stor__wt_status(st, ret, "oplog truncate");
    atomic_fetch_sub(&eng->op_bytes, removed);
    atomic_fetch_sub(&eng->op_count, n);
    pthread_mutex_lock(&eng->op_lock);
    if (upto > eng->op_truncated_upto)
        eng->op_truncated_upto = upto;
    pthread_mutex_unlock(&eng->op_lock);
    LOG(DEBUG1, STORAGE, 22140, "Oplog truncated", "upTo", BCON_INT64((int64_t)upto), "entries",
        BCON_INT64(n), "bytes", BCON_INT64(removed));
    return 0;
}

/* stor__oplog_cap_wt -- replicated mode keeps what recovery may replay (> stable). */
int stor__oplog_cap_wt(stor_engine_t *eng, WT_SESSION *wt, status_t *st)
{
    int64_t max = eng->opts.oplog_max_bytes;
    if (atomic_load(&eng->op_bytes) <= max)
        return 0;
    pthread_mutex_lock(&eng->op_lock);
    uint64_t limit = visible_ts(eng);
    pthread_mutex_unlock(&eng->op_lock);
    if (eng->opts.mode == STOR_MODE_REPLICATED) {
        char hex[32];
        uint64_t stable = 0, ckpt = 0;
        if (eng->conn->query_timestamp(eng->conn, hex, "get=stable") == 0)
            stable = stor__ts_parse(hex);
        if (eng->conn->query_timestamp(eng->conn, hex, "get=last_checkpoint") == 0)
            ckpt = stor__ts_parse(hex);
        uint64_t keep = stable < ckpt ? stable : ckpt;
        if (keep < limit)
            limit = keep;
    }
    if (limit == 0)
        return 0;
    pthread_mutex_lock(&eng->op_cap_lock);
    int ret = truncate_front(eng, wt, limit, (int64_t)((double)max * STOR_OPLOG_LOW_WATER), st);
    pthread_mutex_unlock(&eng->op_cap_lock);
    return ret;
}

/* stor_oplog_cap -- capping on demand (tests, or a caller that just appended a lot). */
int stor_oplog_cap(stor_session_t *sess, status_t *st)
{
    if (sess->uow.active)
        return status_set(st, ERR_IllegalOperation, "cannot cap the oplog inside a unit of work");
    return stor__oplog_cap_wt(sess->eng, sess->wt, st);
}

static int truncate_after_locked(stor_session_t *sess, uint64_t after, status_t *st);

/* stor_oplog_truncate_after -- rollback's cut: everything after `after` goes. */
int stor_oplog_truncate_after(stor_session_t *sess, uint64_t after, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    if (sess->uow.active)
        return status_set(st, ERR_IllegalOperation, "cannot truncate the oplog in a unit of work");
    pthread_mutex_lock(&eng->op_lock);
    bool busy = eng->op_npending > 0;
    pthread_mutex_unlock(&eng->op_lock);
    if (busy)
        return status_set(st, ERR_ConflictingOperationInProgress, "oplog appends are in progress");
    pthread_mutex_lock(&eng->op_cap_lock);
    int ret = truncate_after_locked(sess, after, st);
    pthread_mutex_unlock(&eng->op_cap_lock);
    return ret;
}

/* truncate_after_locked -- under op_cap_lock so capping cannot race the counters. */
static int truncate_after_locked(stor_session_t *sess, uint64_t after, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    WT_CURSOR *c;
    ST_RET(stor__cursor_get(sess, STOR_OPLOG_URI, &c, st));
    c->set_key(c, after + 1);
    int exact, ret = c->search_near(c, &exact);
    if (ret == 0 && exact < 0)
        ret = c->next(c);
    int64_t removed = 0, n = 0;
    uint64_t first = 0;
    bool any = ret == 0;
    if (any)
        c->get_key(c, &first);
    while (ret == 0) {
        WT_ITEM v;
        c->get_value(c, &v);
        removed += (int64_t)v.size;
        n++;
        ret = c->next(c);
    }
    stor__cursor_put(sess, c);
    if (ret != WT_NOTFOUND)
        return stor__wt_status(st, ret, "oplog scan");
    if (any) {
        WT_CURSOR *start;
        if ((ret = sess->wt->open_cursor(sess->wt, STOR_OPLOG_URI, NULL, NULL, &start)) != 0)
            return stor__wt_status(st, ret, "open oplog");
        start->set_key(start, first);
        ret = sess->wt->truncate(sess->wt, NULL, start, NULL, NULL);
        start->close(start);
        if (ret != 0)
            return stor__wt_status(st, ret, "oplog truncate");
        atomic_fetch_sub(&eng->op_bytes, removed);
        atomic_fetch_sub(&eng->op_count, n);
    }
    uint64_t last;
    ST_RET(edge_ts(sess, true, &last, st));
    pthread_mutex_lock(&eng->op_lock);
    eng->op_last_ts = eng->op_max_committed = last;
    pthread_mutex_unlock(&eng->op_lock);
    return 0;
}

/* stor_oplog_cursor_open -- lazily positioned at the first ts >= start. */
int stor_oplog_cursor_open(stor_session_t *sess, uint64_t start, stor_oplog_cursor_t **out,
                           status_t *st)
{
    *out = NULL;
    stor_oplog_cursor_t *cur = calloc(1, sizeof(*cur));
    INVARIANT(cur != NULL);
    cur->sess = sess;
    cur->start = start;
    int ret = stor__cursor_get(sess, STOR_OPLOG_URI, &cur->c, st);
    if (ret != 0) {
        free(cur);
        return ret;
    }
    *out = cur;
    return 0;
}

/* stor_oplog_cursor_next -- never past the visibility point (no holes for tailers). */
int stor_oplog_cursor_next(stor_oplog_cursor_t *cur, uint64_t *ts, bson_t *entry, bool *eof,
                           status_t *st)
{
    stor_engine_t *eng = cur->sess->eng;
    *eof = false;
    pthread_mutex_lock(&eng->op_lock);
    uint64_t visible = visible_ts(eng);
    bool lost = cur->started && cur->last_ts < eng->op_truncated_upto;
    pthread_mutex_unlock(&eng->op_lock);
    if (lost)
        return status_set(st, ERR_CappedPositionLost,
                          "CollectionScan died due to position in capped collection being "
                          "deleted. Last seen record id: RecordId(%" PRIu64 ")",
                          cur->last_ts);
    /*
     * A positioned cursor reads in the snapshot its positioning search took: an entry that
     * committed after that (a hole then, below the visibility point now) is not in it, and
     * next() would step over it. So next() serves only up to snap_visible; past it, the
     * cursor is reset and searched again in a fresh snapshot, taken after `visible` was
     * computed, which therefore holds every entry at or below `visible` (found by the
     * long failover test: a secondary skipped one entry, which a w: "majority" write then
     * counted it as holding).
     */
    WT_CURSOR *c = cur->c;
    int ret;
    uint64_t limit;
    uint64_t k = 0;
    for (int attempt = 0;; attempt++) {
        if (cur->positioned) {
            ret = c->next(c);
            limit = cur->snap_visible;
        } else {
            uint64_t from = cur->started ? cur->last_ts + 1 : cur->start;
            int exact;
            c->set_key(c, from);
            ret = c->search_near(c, &exact);
            if (ret == 0 && exact < 0)
                ret = c->next(c);
            cur->snap_visible = visible;
            limit = visible;
        }
        k = 0;
        if (ret == 0)
            ret = c->get_key(c, &k);
        if (ret == WT_NOTFOUND || (ret == 0 && k > limit)) {
            bool was_positioned = cur->positioned;
            cur->positioned = false;
            c->reset(c);
            if (was_positioned && attempt == 0 && visible > limit)
                continue; /* more is visible than this snapshot may hold: search again */
            *eof = true;
            return 0;
        }
        break;
    }
    if (ret != 0)
        return stor__wt_status(st, ret, "oplog next");
    WT_ITEM v;
    if ((ret = c->get_value(c, &v)) != 0)
        return stor__wt_status(st, ret, "oplog read");
    if (!bson_init_static(entry, v.data, v.size))
        return status_set(st, ERR_DataCorruptionDetected, "oplog entry %" PRIu64 " is not BSON", k);
    cur->positioned = true;
    cur->started = true;
    cur->last_ts = k;
    *ts = k;
    return 0;
}

/* stor_oplog_cursor_wait -- awaitData: sleep until something past us is visible. */
int stor_oplog_cursor_wait(stor_oplog_cursor_t *cur, int64_t deadline_ms, bool *ready, status_t *st)
{
    stor_engine_t *eng = cur->sess->eng;
    uint64_t after = cur->started ? cur->last_ts : (cur->start ? cur->start - 1 : 0);
    struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};
    pthread_mutex_lock(&eng->op_lock);
    while (visible_ts(eng) <= after && !eng->stopping) {
        if (pthread_cond_timedwait(&eng->op_cond, &eng->op_lock, &ts) == ETIMEDOUT)
            break;
    }
    *ready = visible_ts(eng) > after;
    pthread_mutex_unlock(&eng->op_lock);
    return 0;
}

/* stor_oplog_cursor_close -- NULL-safe. */
void stor_oplog_cursor_close(stor_oplog_cursor_t *cur)
{
    if (cur == NULL)
        return;
    if (cur->c != NULL)
        stor__cursor_put(cur->sess, cur->c);
    free(cur);
}
