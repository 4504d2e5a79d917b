/*
 * read.c -- the read side of a replica-set member: cluster-time gossip
 * ($clusterTime in, operationTime and $clusterTime out), read concern waits
 * (afterOpTime / afterClusterTime, bounded by maxTimeMS), the majority
 * snapshot's timestamp, linearizable reads confirmed by a majority-committed
 * no-op, and storage's stable / oldest timestamps following the commit point.
 *
 * Per command, the worker thread keeps what the command's reply and reads
 * need in thread-local state (t_op): the dispatcher runs gate, handler, after
 * hook and decoration on one thread.
 */
#include "mongod/repl/read_concern.h"
#include "mongod/repl/repl_int.h"

#include <string.h>

#define g repl__g

/* MongoDB's maxAcceptableLogicalClockDriftSecs default: one year. */
#define MAX_CLOCK_DRIFT_SECS (365LL * 24 * 60 * 60)

typedef struct op_state {
    const wire_opctx_t *op; /* the command this belongs to */
    int64_t start_us;
    repl_rc_t rc;
    repl_optime_t client_op; /* the newest oplog entry this command wrote */
    repl_read_source_t src;
} op_state_t;

static __thread op_state_t t_op;

static uint64_t g_stable; /* the stable timestamp last given to storage (lock held) */

static bool mine(const wire_opctx_t *op)
{
    return op != NULL && t_op.op == op && t_op.start_us == op->start_us;
}

/* repl__note_client_op -- see repl_int.h. */
void repl__note_client_op(uint64_t ts, int64_t term)
{
    if (ts > t_op.client_op.ts) {
        t_op.client_op.ts = ts;
        t_op.client_op.term = term;
    }
}

/* repl_client_last_op -- see repl.h. */
repl_optime_t repl_client_last_op(void)
{
    return t_op.client_op;
}

/* repl_read_source -- see repl.h. */
repl_read_source_t repl_read_source(void)
{
    return t_op.src;
}

/* repl__update_stable -- see repl_int.h. */
void repl__update_stable(void)
{
    if (!g.enabled || !g.has_config || g.self < 0 || g.m == NULL || g.m->engine == NULL)
        return;
    uint64_t s = g.topo.commit_point.ts;
    uint64_t applied = stor_oplog_visible_ts(g.m->engine);
    if (applied < s)
        s = applied;
    if (s <= g_stable)
        return;
    status_t st = STATUS_INIT;
    /* stable first: oldest may never pass it */
    if (stor_engine_set_stable_ts(g.m->engine, s, &st) != 0 ||
        stor_engine_set_oldest_ts(g.m->engine, s, &st) != 0) {
        LOG(WARNING, REPL, 21370, "Cannot move the stable timestamp", "error", BCON_UTF8(st.msg));
        return;
    }
    g_stable = s;
}

/* repl_stable_ts -- see repl.h. */
uint64_t repl_stable_ts(void)
{
    repl__lock();
    uint64_t s = g_stable;
    repl__unlock();
    return s;
}

/* ---- $clusterTime gossip ------------------------------------------------- */

/* gossip_in -- a command's $clusterTime advances this node's clock. */
static int gossip_in(const wire_opctx_t *op, status_t *st)
{
    bson_iter_t it, sub;
    if (!bson_iter_init_find(&it, &op->body, "$clusterTime"))
        return 0;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it))
        return status_set(st, ERR_TypeMismatch,
                          "\"$clusterTime\" had the wrong type. Expected object, found %s",
                          bsonu_type_name(bson_iter_type(&it)));
    bson_iter_recurse(&it, &sub);
    if (!bson_iter_find(&sub, "clusterTime"))
        return status_set(st, ERR_NoSuchKey, "Missing expected field \"clusterTime\"");
    if (!BSON_ITER_HOLDS_TIMESTAMP(&sub))
        return status_set(st, ERR_TypeMismatch,
                          "\"clusterTime\" had the wrong type. Expected timestamp, found %s",
                          bsonu_type_name(bson_iter_type(&sub)));
    uint32_t secs, inc;
    bson_iter_timestamp(&sub, &secs, &inc);
    int64_t wall = time_now_ms() / 1000;
    if ((int64_t)secs > wall + MAX_CLOCK_DRIFT_SECS)
        return status_set(st, ERR_ClusterTimeFailsRateLimiter,
                          "New cluster time, %u, is too far from this node's wall clock time, "
                          "%lld.",
                          secs, (long long)wall);
    repl_clock_advance(repl_ts_make(secs, inc));
    return 0;
}

/* ---- read concern waits -------------------------------------------------- */

/* applied_ts -- what this node holds with no hole before it. */
static uint64_t applied_ts(void)
{
    return g.m != NULL && g.m->engine != NULL ? stor_oplog_visible_ts(g.m->engine) : 0;
}

/* noop_for_wait -- a primary asked to wait for a time past its last entry (a reserved
 * timestamp whose write aborted, or a clock moved by gossip) writes a no-op past it. */
static void noop_for_wait(void)
{
    repl_optime_t at;
    status_t st = STATUS_INIT;
    (void)repl__oplog_noop_as_primary(g.m, "noop write for afterClusterTime read concern", &at,
                                      &st);
}

/*
 * wait_until -- until this node applied (majority: the commit point reached)
 * target; optime compares (term, ts), otherwise by ts alone. MaxTimeMSExpired
 * at the deadline.
 */
static int wait_until(repl_optime_t target, bool by_optime, bool majority, int64_t deadline_us,
                      status_t *st)
{
    bool noop_done = false;
    int ret = 0;
    for (;;) {
        if (majority && repl_is_writable_primary())
            repl__refresh_own_position(g.m);
        repl__lock();
        if (g.stopping) {
            repl__unlock();
            return status_set(st, ERR_InterruptedAtShutdown, "interrupted at shutdown");
        }
        repl_optime_t have;
        if (majority) {
            have = g.topo.commit_point;
        } else {
            have.ts = applied_ts();
            have.term = target.term;
        }
        bool reached = by_optime ? repl_optime_cmp(have, target) >= 0 : have.ts >= target.ts;
        bool primary = g.state == REPL_PRIMARY;
        if (reached) {
            repl__unlock();
            return 0;
        }
        if (primary && !noop_done && applied_ts() < target.ts) {
            repl__unlock();
            noop_for_wait();
            noop_done = true;
            continue;
        }
        int64_t now = time_mono_us();
        if (deadline_us != 0 && now >= deadline_us) {
            ret = status_set(st, ERR_MaxTimeMSExpired, "operation exceeded time limit");
            repl__unlock();
            return ret;
        }
        int64_t wait_us = 100000;
        if (deadline_us != 0 && deadline_us - now < wait_us)
            wait_us = deadline_us - now;
        int64_t wake_ms = time_now_ms() + wait_us / 1000 + 1;
        struct timespec ts = {wake_ms / 1000, (wake_ms % 1000) * 1000000};
        pthread_cond_timedwait(&g.cond, &g.lock, &ts);
        repl__unlock();
    }
}

/* repl_majority_read_ts -- see repl.h. */
int repl_majority_read_ts(uint64_t *ts, status_t *st)
{
    repl__lock();
    uint64_t c = g.has_config && g.self >= 0 ? g.topo.commit_point.ts : 0;
    repl__unlock();
    uint64_t a = applied_ts();
    if (a < c)
        c = a;
    *ts = c;
    if (c == 0)
        return status_set(st, ERR_ReadConcernMajorityNotAvailableYet,
                          "Read concern majority reads are currently not possible.");
    return 0;
}

/* repl_read_begin -- see repl.h. */
int repl_read_begin(wire_opctx_t *op, const repl_rc_t *rc, status_t *st)
{
    memset(&t_op, 0, sizeof(t_op));
    t_op.op = op;
    t_op.start_us = op->start_us;
    t_op.rc = *rc;
    if (!g.enabled)
        return 0;
    ST_RET(gossip_in(op, st));
    if (!rc->present)
        return 0;
    if (rc->level == REPL_RC_LINEARIZABLE) {
        if (rc->has_after_optime)
            return status_set(st, ERR_FailedToParse,
                              "afterOpTime not compatible with linearizable read concern");
        if (!repl_is_writable_primary())
            return status_set(st, ERR_NotWritablePrimary,
                              "cannot satisfy linearizable read concern on non-primary node");
    }
    if (rc->level == REPL_RC_SNAPSHOT)
        return status_set(st, ERR_NotImplemented,
                          "readConcern level 'snapshot' outside transactions is not implemented "
                          "yet in Mica");
    bool majority = rc->level == REPL_RC_MAJORITY;
    if (rc->has_after_cluster_time) {
        uint64_t now = repl_clock_now();
        if (rc->after_cluster_time > now)
            return status_set(st, ERR_InvalidOptions,
                              "readConcern afterClusterTime value must not be greater than the "
                              "current clusterTime. Requested clusterTime: { ts: Timestamp(%u, "
                              "%u) }; current clusterTime: { ts: Timestamp(%u, %u) }",
                              repl_ts_secs(rc->after_cluster_time),
                              repl_ts_inc(rc->after_cluster_time), repl_ts_secs(now),
                              repl_ts_inc(now));
        repl_optime_t target = {0, rc->after_cluster_time};
        ST_RET(wait_until(target, false, majority, op->deadline_us, st));
    } else if (rc->has_after_optime) {
        ST_RET(wait_until(rc->after_optime, true, majority, op->deadline_us, st));
    }
    if (majority) {
        uint64_t ts;
        ST_RET(repl_majority_read_ts(&ts, st)); /* a committed snapshot must exist */
        t_op.src.mode = REPL_READ_MAJORITY;
    }
    return 0;
}

/* repl_read_after -- see repl.h: a linearizable read confirms that this node was still
 * primary by a no-op that a majority holds. */
int repl_read_after(wire_opctx_t *op, status_t *st)
{
    if (!g.enabled || !mine(op) || t_op.rc.level != REPL_RC_LINEARIZABLE)
        return 0;
    repl_optime_t at;
    status_t wst = STATUS_INIT;
    if (repl__oplog_noop_as_primary(g.m, "linearizable read", &at, &wst) != 0)
        return status_set(st, ERR_NotWritablePrimary,
                          "No longer primary when waiting for linearizable read concern");
    for (;;) {
        repl__refresh_own_position(g.m);
        ST_RET(wire_curop_check_op(op, st)); /* killOp, a step-down (11602) */
        repl__lock();
        bool primary = g.state == REPL_PRIMARY && g.term == at.term && !g.stopping;
        bool done = primary && repl_topo_is_committed(&g.topo, at);
        if (done || !primary) {
            repl__unlock();
            if (!primary)
                return status_set(st, ERR_NotWritablePrimary,
                                  "No longer primary when waiting for linearizable read concern");
            return 0;
        }
        int64_t now = time_mono_us();
        if (op->deadline_us != 0 && now >= op->deadline_us) {
            repl__unlock();
            return status_set(st, ERR_LinearizableReadConcernError,
                              "Failed to confirm that read was linearizable.");
        }
        int64_t wait_us = 100000;
        if (op->deadline_us != 0 && op->deadline_us - now < wait_us)
            wait_us = op->deadline_us - now;
        int64_t wake_ms = time_now_ms() + wait_us / 1000 + 1;
        struct timespec ts = {wake_ms / 1000, (wake_ms % 1000) * 1000000};
        pthread_cond_timedwait(&g.cond, &g.lock, &ts);
        repl__unlock();
    }
}

/* repl_reply_decorate -- see repl.h. */
void repl_reply_decorate(wire_opctx_t *op, bson_t *reply)
{
    if (!g.enabled)
        return;
    uint64_t now = repl_clock_now();
    if (now == 0)
        return; /* no config yet: MongoDB's clock is not initialised either */
    uint64_t op_ts = 0;
    if (mine(op) && t_op.client_op.ts != 0) {
        op_ts = t_op.client_op.ts; /* a write: its own entry */
    } else if (mine(op) && t_op.src.mode == REPL_READ_MAJORITY) {
        status_t st = STATUS_INIT;
        (void)repl_majority_read_ts(&op_ts, &st);
    } else {
        op_ts = applied_ts();
    }
    if (bson_has_field(reply, "operationTime") || bson_has_field(reply, "$clusterTime"))
        return;
    if (op_ts != 0)
        BSON_APPEND_TIMESTAMP(reply, "operationTime", repl_ts_secs(op_ts), repl_ts_inc(op_ts));
    static const uint8_t zero_hash[20];
    bson_t ct, sig;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "$clusterTime", &ct);
    BSON_APPEND_TIMESTAMP(&ct, "clusterTime", repl_ts_secs(now), repl_ts_inc(now));
    BSON_APPEND_DOCUMENT_BEGIN(&ct, "signature", &sig);
    BSON_APPEND_BINARY(&sig, "hash", BSON_SUBTYPE_BINARY, zero_hash, sizeof(zero_hash));
    BSON_APPEND_INT64(&sig, "keyId", 0);
    bson_append_document_end(&ct, &sig);
    bson_append_document_end(reply, &ct);
}
