/*
 * state.c -- this member's replica-set state: the configuration (kept in
 * local.system.replset), the member state, the term (kept with the last vote
 * in local.replset.election), what hello, replSetInitiate, replSetGetConfig
 * and replSetGetStatus show, and the gate that keeps writes off a node that
 * is not primary.
 *
 * One mutex (g.lock) guards the state; it is never held across storage
 * calls that take the namespace locks, except the start-up load.
 *
 * What this step does not do yet (mongod/repl/README.md): members other
 * than this node are not contacted (no heartbeats, no elections among
 * several members, no oplog fetching), so only a set whose only electable
 * voter is this node elects a primary; the others wait as SECONDARY.
 */
#include "mongod/repl/config.h"
#include "mongod/repl/repl_int.h"
#include "mongod/repl/stepdown.h"
#include "mongod/write.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define NS_REPLSET  "local.system.replset"
#define NS_ELECTION "local.replset.election"

repl_state_t repl__g = {.lock = PTHREAD_MUTEX_INITIALIZER,
                        .cond = PTHREAD_COND_INITIALIZER,
                        .self = -1,
                        .primary = -1,
                        .state = REPL_STARTUP};
#define g repl__g /* this file's shorthand */

static atomic_int g_state = REPL_STARTUP; /* lock-free copy for the per-command gate */

/* repl_state_str -- MongoDB's stateStr. */
const char *repl_state_str(repl_member_state_t s)
{
    switch (s) {
    case REPL_STARTUP:
        return "STARTUP";
    case REPL_PRIMARY:
        return "PRIMARY";
    case REPL_SECONDARY:
        return "SECONDARY";
    case REPL_RECOVERING:
        return "RECOVERING";
    case REPL_STARTUP2:
        return "STARTUP2";
    case REPL_ARBITER:
        return "ARBITER";
    case REPL_DOWN:
        return "(not reachable/healthy)";
    case REPL_ROLLBACK:
        return "ROLLBACK";
    case REPL_REMOVED:
        return "REMOVED";
    default:
        return "UNKNOWN";
    }
}

bool repl_enabled(void)
{
    return g.enabled;
}

/* topology_changed -- bump topologyVersion and wake awaitable hellos. */
static void topology_changed(micad_t *m)
{
    __atomic_add_fetch(&m->topology_counter, 1, __ATOMIC_RELEASE);
    if (m->server != NULL)
        wire_server_wake(m->server);
}

/* set_state -- under g.lock. */
static void set_state(repl_member_state_t s)
{
    if (g.state != s)
        LOG(INFO, REPL, 21358, "Replica set state transition", "newState",
            BCON_UTF8(repl_state_str(s)), "oldState", BCON_UTF8(repl_state_str(g.state)));
    g.state = s;
    g.state_since_ms = time_now_ms();
    atomic_store(&g_state, (int)s);
}

/* ======================================================================== */
/* local.* documents                                                         */
/* ======================================================================== */

typedef struct put_job {
    stor_collection_t *coll;
    const bson_t *doc;
} put_job_t;

/* put_fn -- the collection holds exactly doc afterwards. */
static int put_fn(stor_session_t *sess, void *arg, status_t *st)
{
    put_job_t *j = arg;
    stor_cursor_t *cur;
    int ret = 0;
    ST_RET(stor_cursor_open(sess, j->coll, true, &cur, st));
    for (;;) {
        int64_t rid;
        bson_t view, copy;
        bool eof;
        ST_ERR(stor_cursor_next(cur, &rid, &view, &eof, st));
        if (eof)
            break;
        bson_copy_to(&view, &copy);
        ret = micad_write_delete(sess, j->coll, rid, &copy, st);
        bson_destroy(&copy);
        if (ret != 0)
            goto err;
    }
    stor_cursor_close(cur);
    cur = NULL;
    return micad_write_insert(sess, j->coll, j->doc, NULL, st);
err:
    stor_cursor_close(cur);
    return ret;
}

/* put_local -- make ns (a local collection) hold only doc. */
int repl__put_local(micad_t *m, const char *ns, const bson_t *doc, status_t *st)
{
    stor_session_t *sess;
    stor_collection_t *coll = NULL;
    int ret = 0;
    ST_RET(micad_db_session(m, &sess, st));
    micad_db_lock_ns(ns, false);
    /* a system collection of local: created here, not by the user-facing implicit create */
    status_t ignored = STATUS_INIT;
    if (stor_collection_lookup(m->engine, ns, &coll, &ignored) != 0) {
        ret = micad_write_create_collection(sess, ns, NULL, &coll, st);
        if (ret == ERR_NamespaceExists) {
            status_reset(st);
            ret = micad_db_get_collection(m, ns, &coll, st);
        }
    }
    if (ret == 0) {
        put_job_t j = {coll, doc};
        ret = micad_db_run_uow(NULL, sess, put_fn, &j, st);
    }
    micad_db_unlock_ns(ns, false);
    if (ret == 0)
        ret = stor_wait_durable(sess, st); /* a config or a vote must survive a crash */
    return ret;
}

/* get_local -- the first document of ns into out (initialised here); *found. */
static int get_local(micad_t *m, const char *ns, bson_t *out, bool *found, status_t *st)
{
    stor_session_t *sess;
    stor_collection_t *coll;
    stor_cursor_t *cur = NULL;
    status_t ignored = STATUS_INIT;
    int ret = 0;
    bson_init(out);
    *found = false;
    if (stor_collection_lookup(m->engine, ns, &coll, &ignored) != 0)
        return 0;
    ST_RET(micad_db_session(m, &sess, st));
    stor_uow_t *uow;
    ST_RET(stor_uow_begin(sess, 0, &uow, st));
    ST_ERR(stor_cursor_open(sess, coll, true, &cur, st));
    int64_t rid;
    bson_t view;
    bool eof;
    ST_ERR(stor_cursor_next(cur, &rid, &view, &eof, st));
    if (!eof) {
        bson_concat(out, &view);
        *found = true;
    }
err:
    stor_cursor_close(cur);
    stor_uow_abort(uow);
    return ret;
}

/* save_vote -- local.replset.election {_id, term, candidateIndex}. */
static int save_term(micad_t *m, int64_t term, int candidate, status_t *st)
{
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&d, "_id", "lastVote");
    BSON_APPEND_INT64(&d, "term", term);
    BSON_APPEND_INT32(&d, "candidateIndex", candidate);
    int ret = repl__put_local(m, NS_ELECTION, &d, st);
    bson_destroy(&d);
    return ret;
}

/* ======================================================================== */
/* Who am I                                                                  */
/* ======================================================================== */

/*
 * is_self -- whether host:port names this process: the port is ours and the
 * host is a loopback name, this machine's name, or one of our bind addresses.
 */
static bool is_self(micad_t *m, const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || atoi(colon + 1) != m->opts->port)
        return false;
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
        strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0)
        return true;
    char me[256] = "";
    (void)gethostname(me, sizeof(me) - 1);
    if (strcasecmp(host, me) == 0)
        return true;
    const char *b = m->opts->bind_ip;
    while (b != NULL && *b) {
        const char *e = strchr(b, ',');
        size_t n = e ? (size_t)(e - b) : strlen(b);
        while (n > 0 && *b == ' ') {
            b++;
            n--;
        }
        if (n == strlen(host) && strncasecmp(b, host, n) == 0)
            return true;
        b = e ? e + 1 : NULL;
    }
    return false;
}

/* find_self -- the index of this node in c, or -1. */
int repl__find_self(micad_t *m, const repl_config_t *c)
{
    for (int i = 0; i < c->nmembers; i++)
        if (is_self(m, c->members[i].host))
            return i;
    return -1;
}

/* repl__lock / repl__unlock -- see repl_int.h. */
void repl__lock(void)
{
    pthread_mutex_lock(&g.lock);
}

void repl__unlock(void)
{
    pthread_mutex_unlock(&g.lock);
}

/* publish -- copy the coordinator's state out (lock held); a change wakes hellos. */
static void publish(bool changed)
{
    if (g.has_config && g.self >= 0) {
        if (g.topo.state != g.state)
            set_state(g.topo.state), changed = true;
        if (g.topo.primary != g.primary)
            changed = true;
        g.term = g.topo.term;
        g.primary = g.topo.primary;
    }
    if (changed)
        topology_changed(g.m);
}

/* stepdown_victim -- the sweep's predicate (under the registry's lock; self: the caller's op). */
static bool stepdown_victim(const wire_opctx_t *op, void *self)
{
    return repl_stepdown_victim(__atomic_load_n(&op->interrupt_at_stepdown, __ATOMIC_SEQ_CST) != 0,
                                op == self, __atomic_load_n(&op->kill_code, __ATOMIC_RELAXED) != 0);
}

/*
 * interrupt_conflicting_ops -- after a step-down made this node stop accepting
 * writes (the oplog writer's flag and the published state, both stored before):
 * every running operation that writes or reads linearizably is interrupted with
 * InterruptedDueToReplStateChange at its next check point, as MongoDB 4.2+ does;
 * the others (reads, getMores) go on and connections stay open. The operation
 * that carries the step-down out (replSetStepDown, a reconfig) is spared.
 */
static void interrupt_conflicting_ops(void)
{
    wire_opctx_t *self = wire_curop_self();
    int64_t others = wire_curop_count() - (self != NULL ? 1 : 0);
    int killed = wire_curop_kill_if(stepdown_victim, self, ERR_InterruptedDueToReplStateChange);
    int64_t left = others > killed ? others - killed : 0;
    g.stepped_down = true;
    g.ops_killed = killed; /* the last transition's figures, as MongoDB reports them */
    g.ops_left_running = left;
    LOG(INFO, REPL, 21343, "Interrupted the operations that conflict with a step-down",
        "userOpsKilled", BCON_INT64(killed), "userOpsRunning", BCON_INT64(left));
}

/* repl_append_metrics -- see repl.h. */
void repl_append_metrics(bson_t *metrics)
{
    if (!g.enabled)
        return;
    bson_t r, t;
    pthread_mutex_lock(&g.lock);
    BSON_APPEND_DOCUMENT_BEGIN(metrics, "repl", &r);
    BSON_APPEND_DOCUMENT_BEGIN(&r, "stateTransition", &t);
    BSON_APPEND_UTF8(&t, "lastStateTransition", g.stepped_down ? "stepDown" : "");
    BSON_APPEND_INT64(&t, "userOperationsKilled", g.ops_killed);
    BSON_APPEND_INT64(&t, "userOperationsRunning", g.ops_left_running);
    bson_append_document_end(&r, &t);
    bson_append_document_end(metrics, &r);
    pthread_mutex_unlock(&g.lock);
}

/* repl_append_election_metrics -- see repl.h. */
void repl_append_election_metrics(bson_t *reply)
{
    static const char *const names[REPL_ELECT_NREASONS] = {
        [REPL_ELECT_STEP_UP] = "stepUpCmd",
        [REPL_ELECT_PRIORITY_TAKEOVER] = "priorityTakeover",
        [REPL_ELECT_TIMEOUT] = "electionTimeout",
    };
    if (!g.enabled)
        return;
    bson_t e, r;
    pthread_mutex_lock(&g.lock);
    repl_elect_metrics_t em = g.topo.elect_metrics;
    pthread_mutex_unlock(&g.lock);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "electionMetrics", &e);
    for (int i = 0; i < REPL_ELECT_NREASONS; i++) {
        BSON_APPEND_DOCUMENT_BEGIN(&e, names[i], &r);
        BSON_APPEND_INT64(&r, "called", em.called[i]);
        BSON_APPEND_INT64(&r, "successful", em.successful[i]);
        bson_append_document_end(&e, &r);
    }
    BSON_APPEND_INT64(&e, "numStepDownsCausedByHigherTerm", em.step_downs_higher_term);
    bson_append_document_end(reply, &e);
}

/* repl_get_metrics -- see repl.h. */
bool repl_get_metrics(repl_metrics_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!g.enabled)
        return false;
    pthread_mutex_lock(&g.lock);
    bool ok = g.has_config && g.self >= 0;
    if (ok) {
        out->state = (int)g.state;
        out->term = g.term;
        out->elections = g.topo.elect_metrics;
        out->committed_wall_ms = (int64_t)repl_ts_secs(g.topo.commit_point.ts) * 1000;
    }
    pthread_mutex_unlock(&g.lock);
    return ok;
}

/*
 * repl__handle -- carry out the coordinator's actions in their order: the
 * term and vote are durable before anything else happens; a step-down stops
 * writes; a new primary writes its no-op in the new term before it accepts
 * writes or counts the commit point. Election rounds need the network: they
 * are left for the heartbeat thread (node.c), which sees topo.candidate.
 */
void repl__handle(repl_actions_t *a)
{
    for (int round = 0; round < 8 && a->flags != 0; round++) {
        repl_actions_t next = {0};
        status_t st = STATUS_INIT;
        if (a->flags & REPL_ACT_PERSIST_TERM) {
            int vote = g.topo.voted_term == g.topo.term ? g.topo.voted_for : -1;
            if (save_term(g.m, g.topo.term, vote, &st) != 0)
                LOG(ERROR, ELECTION, 21451, "Cannot persist the term", "error", BCON_UTF8(st.msg));
        }
        if (a->flags & REPL_ACT_STEP_DOWN) {
            repl_oplog_enable(false, g.topo.term);
            LOG(INFO, REPL, 21361, "Stepping down", "reason", BCON_UTF8(a->reason ? a->reason : ""),
                "term", BCON_INT64(g.topo.term));
        }
        if (a->flags & REPL_ACT_BECOME_PRIMARY) {
            repl_optime_t at;
            status_reset(&st);
            if (repl_oplog_noop(g.m, "new primary", g.topo.term, &at, &st) != 0) {
                LOG(ERROR, ELECTION, 21452, "Cannot write the new term's no-op", "error",
                    BCON_UTF8(st.msg));
            } else {
                g.election_ms = time_now_ms();
                g.election_optime = at;
                g.applied = at;
                repl_topo_on_term_noop(&g.topo, at, &next);
                repl_oplog_enable(true, g.topo.term);
                LOG(INFO, ELECTION, 21450, "Transitioned to primary", "term",
                    BCON_INT64(g.topo.term));
            }
        }
        publish((a->flags & REPL_ACT_STATE_CHANGED) != 0);
        if (a->flags & REPL_ACT_STEP_DOWN)
            interrupt_conflicting_ops(); /* after the state change: see repl_command_gate */
        if (a->flags & (REPL_ACT_COMMIT_POINT | REPL_ACT_STATE_CHANGED))
            pthread_cond_broadcast(&g.cond);
        *a = next;
    }
    repl__update_stable(); /* the commit point or what this node applied may have moved */
}

/* repl__take_up_config -- install c (moved in) and take the role it gives this node. */
int repl__take_up_config(micad_t *m, repl_config_t *c, int self, status_t *st)
{
    (void)st;
    int32_t old_ids[REPL_MAX_MEMBERS];
    int old_n = 0;
    /* a coordinator already running keeps its role and views (a reconfig) */
    bool running = g.has_config && g.topo.config == &g.config;
    if (g.has_config) {
        old_n = g.config.nmembers;
        for (int i = 0; i < old_n; i++)
            old_ids[i] = g.config.members[i].id;
        repl_config_destroy(&g.config);
    }
    repl_config_move(&g.config, c);
    g.has_config = true;
    g.self = self;
    for (int i = 0; i < REPL_MAX_MEMBERS; i++)
        g.peer_version[i] = -1;
    if (running) {
        repl_actions_t a = {0};
        repl_topo_reconfig(&g.topo, old_ids, old_n, self, g.applied, &a);
        if (self < 0) {
            g.primary = -1;
            set_state(REPL_REMOVED);
        }
        repl__handle(&a);
        publish(true);
        int64_t to = g.config.election_timeout_ms;
        g.election_deadline_us = time_mono_us() + to * 1000;
        pthread_cond_broadcast(&g.cond);
        return 0;
    }
    g.primary = -1;
    if (self < 0) {
        set_state(REPL_REMOVED);
        topology_changed(m);
        return 0;
    }
    repl_topo_init(&g.topo, &g.config, self, g.term, g.applied, g.applied);
    if (g.last_vote_term == g.term) {
        g.topo.voted_term = g.last_vote_term;
        g.topo.voted_for = g.last_vote_for;
    }
    set_state(g.topo.state);
    topology_changed(m);
    /*
     * A set this node alone can elect stands at once; otherwise the election
     * timer runs (heartbeats find the primary, or the timer elects one).
     */
    int64_t to = g.config.election_timeout_ms;
    g.election_deadline_us = time_mono_us() + to * 1000;
    if (repl_topo_majority(&g.topo) <= 1) {
        repl_actions_t a = {0};
        repl_topo_on_election_timeout(&g.topo, &a);
        repl__handle(&a);
    }
    pthread_cond_broadcast(&g.cond); /* the heartbeat thread starts at once */
    return 0;
}

/* repl__take_up_newer_config -- see repl_int.h. */
bool repl__take_up_newer_config(micad_t *m, const bson_t *doc)
{
    repl_config_t c;
    status_t st = STATUS_INIT;
    bool taken = false;
    repl_config_init(&c);
    if (repl_config_parse(doc, &c, &st) == 0 && strcmp(c.set_name, m->opts->repl_set) == 0 &&
        (!g.has_config ||
         repl_config_cmp_version(c.version, c.term, g.config.version, g.config.term) > 0) &&
        repl__put_local(m, NS_REPLSET, &c.raw, &st) == 0) {
        LOG(INFO, REPL, 21364, "Took up a newer config from a heartbeat", "version",
            BCON_INT64(c.version), "term", BCON_INT64(c.term));
        (void)repl__take_up_config(m, &c, repl__find_self(m, &c), &st);
        taken = true;
    }
    repl_config_destroy(&c);
    return taken;
}

/* ======================================================================== */
/* Start, stop                                                               */
/* ======================================================================== */

/* repl_start -- see repl.h. */
int repl_start(micad_t *m, status_t *st)
{
    bson_t doc;
    bool found;
    int ret = 0;
    if (m->opts->repl_set == NULL)
        return 0;
    g.enabled = true;
    g.m = m;
    ST_RET(repl_oplog_start(m, st));
    ST_RET(repl__recover(m, st)); /* replicated storage: stable checkpoint + oplog replay */
    /* the term: the last vote, or the newest entry's, whichever is later */
    repl_optime_t last;
    ST_RET(repl_oplog_last(m, &last, st));
    ST_RET(get_local(m, NS_ELECTION, &doc, &found, st));
    bson_iter_t it;
    int64_t term = last.term;
    g.last_vote_term = -1;
    g.last_vote_for = -1;
    g.applied = last;
    if (found && bson_iter_init_find(&it, &doc, "term") && BSON_ITER_HOLDS_INT64(&it)) {
        int64_t vt = bson_iter_int64(&it);
        if (vt > term)
            term = vt;
        if (bson_iter_init_find(&it, &doc, "candidateIndex") && BSON_ITER_HOLDS_INT32(&it) &&
            bson_iter_int32(&it) >= 0) {
            g.last_vote_term = vt;
            g.last_vote_for = bson_iter_int32(&it);
        }
    }
    bson_destroy(&doc);
    ST_RET(get_local(m, NS_REPLSET, &doc, &found, st));
    pthread_mutex_lock(&g.lock);
    g.term = term;
    set_state(REPL_STARTUP);
    if (found) {
        repl_config_t c;
        repl_config_init(&c);
        ret = repl_config_parse(&doc, &c, st);
        if (ret == 0 && strcmp(c.set_name, m->opts->repl_set) != 0)
            ret = status_set(st, ERR_InvalidReplicaSetConfig,
                             "local.system.replset holds the config of set '%s' but this node "
                             "runs with --replSet %s",
                             c.set_name, m->opts->repl_set);
        if (ret == 0) {
            LOG(INFO, REPL, 21359, "Loaded the replica set config", "config",
                BCON_DOCUMENT(&c.raw));
            ret = repl__take_up_config(m, &c, repl__find_self(m, &c), st);
            repl_config_destroy(&c); /* emptied by the move */
        } else {
            repl_config_destroy(&c);
        }
    }
    pthread_mutex_unlock(&g.lock);
    bson_destroy(&doc);
    if (ret == 0)
        ret = repl__node_start(m, st);
    if (ret == 0) {
        repl__install_wc_waiter();
        repl__install_wc_resolver();
    }
    return ret;
}

/* repl_stop -- stop the threads and writes (after the transport stopped). */
void repl_stop(void)
{
    if (!g.enabled)
        return;
    repl__node_stop();
    pthread_mutex_lock(&g.lock);
    repl_oplog_enable(false, g.term);
    pthread_mutex_unlock(&g.lock);
}

/* ======================================================================== */
/* The gates                                                                 */
/* ======================================================================== */

bool repl_is_writable_primary(void)
{
    return !g.enabled || atomic_load(&g_state) == REPL_PRIMARY;
}

bool repl_can_read(bool secondary_ok)
{
    if (!g.enabled)
        return true;
    int s = atomic_load(&g_state);
    return s == REPL_PRIMARY || (secondary_ok && s == REPL_SECONDARY);
}

/* ======================================================================== */
/* hello                                                                     */
/* ======================================================================== */

/* append_hosts -- hosts / passives / arbiters as MongoDB groups them. */
static void append_hosts(bson_t *reply)
{
    const char *names[3] = {"hosts", "passives", "arbiters"};
    for (int kind = 0; kind < 3; kind++) {
        bson_t arr;
        uint32_t n = 0;
        bool any = false;
        for (int i = 0; i < g.config.nmembers; i++) {
            const repl_member_cfg_t *mc = &g.config.members[i];
            int k = mc->arbiter_only ? 2 : mc->priority == 0 ? 1 : 0;
            if (mc->hidden || k != kind)
                continue;
            if (!any) {
                BSON_APPEND_ARRAY_BEGIN(reply, names[kind], &arr);
                any = true;
            }
            char key[16];
            const char *ks;
            bson_uint32_to_string(n++, &ks, key, sizeof(key));
            BSON_APPEND_UTF8(&arr, ks, mc->host);
        }
        if (any)
            bson_append_array_end(reply, &arr);
    }
}

/* election_id -- MongoDB's OID::fromTerm: 7fffffff then the term, big-endian. */
static void election_id(int64_t term, bson_oid_t *oid)
{
    memset(oid, 0, sizeof(*oid));
    oid->bytes[0] = 0x7f;
    oid->bytes[1] = oid->bytes[2] = oid->bytes[3] = 0xff;
    for (int i = 0; i < 8; i++)
        oid->bytes[4 + i] = (uint8_t)((uint64_t)term >> (56 - 8 * i));
}

/* repl_hello_append -- see repl.h. */
void repl_hello_append(micad_t *m, bson_t *reply, bool legacy_names)
{
    pthread_mutex_lock(&g.lock);
    bool primary = g.state == REPL_PRIMARY;
    BSON_APPEND_BOOL(reply, legacy_names ? "ismaster" : "isWritablePrimary", primary);
    BSON_APPEND_BOOL(reply, "secondary", g.state == REPL_SECONDARY);
    if (!g.has_config || g.self < 0) { /* MongoDB: a REMOVED member answers as unconfigured */
        BSON_APPEND_UTF8(reply, "info", "Does not have a valid replica set config");
        BSON_APPEND_BOOL(reply, "isreplicaset", true);
        pthread_mutex_unlock(&g.lock);
        return;
    }
    append_hosts(reply);
    BSON_APPEND_UTF8(reply, "setName", g.config.set_name);
    BSON_APPEND_INT32(reply, "setVersion", (int32_t)g.config.version);
    if (g.primary >= 0)
        BSON_APPEND_UTF8(reply, "primary", g.config.members[g.primary].host);
    if (g.self >= 0) {
        const repl_member_cfg_t *me = &g.config.members[g.self];
        if (me->arbiter_only)
            BSON_APPEND_BOOL(reply, "arbiterOnly", true);
        if (me->priority == 0 && !me->arbiter_only)
            BSON_APPEND_BOOL(reply, "passive", true);
        if (me->hidden)
            BSON_APPEND_BOOL(reply, "hidden", true);
        if (!bson_empty(&me->tags))
            BSON_APPEND_DOCUMENT(reply, "tags", &me->tags);
        BSON_APPEND_UTF8(reply, "me", me->host);
    }
    if (primary) {
        bson_oid_t oid;
        election_id(g.term, &oid);
        BSON_APPEND_OID(reply, "electionId", &oid);
    }
    repl_optime_t cp = g.self >= 0 ? g.topo.commit_point : (repl_optime_t){0, 0};
    pthread_mutex_unlock(&g.lock);
    repl_optime_t last;
    status_t ignored = STATUS_INIT;
    if (repl_oplog_last(m, &last, &ignored) == 0) {
        bson_t lw;
        int64_t ms = (int64_t)repl_ts_secs(last.ts) * 1000;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "lastWrite", &lw);
        repl_append_optime(&lw, "opTime", last);
        BSON_APPEND_DATE_TIME(&lw, "lastWriteDate", ms);
        repl_append_optime(&lw, "majorityOpTime", cp);
        BSON_APPEND_DATE_TIME(&lw, "majorityWriteDate", (int64_t)repl_ts_secs(cp.ts) * 1000);
        bson_append_document_end(reply, &lw);
    }
}

/* ======================================================================== */
/* replSetInitiate / replSetGetConfig / replSetGetStatus                     */
/* ======================================================================== */

static int check_enabled(status_t *st)
{
    if (!g.enabled)
        return status_set(st, ERR_NoReplicationEnabled,
                          "This node was not started with replication "
                          "enabled.");
    return 0;
}

/* repl_initiate -- see repl.h. */
int repl_initiate(micad_t *m, const bson_t *config, bool has_config, bson_t *reply, status_t *st)
{
    repl_config_t c;
    bson_t doc = BSON_INITIALIZER;
    int ret = 0;
    ST_RET(check_enabled(st));
    repl_config_init(&c);
    if (has_config) {
        bson_concat(&doc, config);
    } else {
        /* a one-member set on this node's own host:port, as MongoDB makes it */
        bson_t arr, mem;
        BSON_APPEND_UTF8(&doc, "_id", m->opts->repl_set);
        BSON_APPEND_INT32(&doc, "version", 1);
        BSON_APPEND_ARRAY_BEGIN(&doc, "members", &arr);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &mem);
        BSON_APPEND_INT32(&mem, "_id", 0);
        BSON_APPEND_UTF8(&mem, "host", m->host);
        bson_append_document_end(&arr, &mem);
        bson_append_array_end(&doc, &arr);
        BSON_APPEND_UTF8(reply, "info2",
                         "no configuration specified. Using a default "
                         "configuration for the set");
        BSON_APPEND_UTF8(reply, "me", m->host);
    }
    pthread_mutex_lock(&g.lock);
    if (g.has_config) {
        ret = status_set(st, ERR_AlreadyInitialized, "already initialized");
        goto out;
    }
    ST_ERR(repl_config_parse(&doc, &c, st));
    if (strcmp(c.set_name, m->opts->repl_set) != 0) {
        ret = status_set(st, ERR_InvalidReplicaSetConfig,
                         "Attempting to initiate a replica set with name %s, but command line "
                         "reports %s; rejecting",
                         c.set_name, m->opts->repl_set);
        goto err;
    }
    int self = repl__find_self(m, &c);
    if (self < 0) {
        ret = status_set(st, ERR_InvalidReplicaSetConfig,
                         "No host described in new configuration with {version: %lld, term: 0} "
                         "for replica set %s maps to this node",
                         (long long)c.version, c.set_name);
        goto err;
    }
    if (c.members[self].arbiter_only) {
        ret = status_set(st, ERR_InvalidReplicaSetConfig,
                         "This node cannot be an arbiter in the config it initiates");
        goto err;
    }
    if (c.nmembers > 1) {
        /* as MongoDB: every other member must answer a heartbeat and hold no config */
        pthread_mutex_unlock(&g.lock);
        ret = repl__quorum_check(m, &c, self, st);
        pthread_mutex_lock(&g.lock);
        if (ret == 0 && g.has_config)
            ret = status_set(st, ERR_AlreadyInitialized, "already initialized");
        if (ret != 0)
            goto err;
    }
    /* the config carries the term it was made in, and a replicaSetId of its own */
    if (!c.has_replica_set_id) {
        bson_oid_init(&c.replica_set_id, NULL);
        c.has_replica_set_id = true;
    }
    c.term = g.term;
    repl_config_normalise(&c);
    ST_ERR(repl__put_local(m, NS_REPLSET, &c.raw, st));
    {
        repl_optime_t at;
        ST_ERR(repl_oplog_noop(m, "initiating set", g.term, &at, st));
        if (repl_optime_cmp(at, g.applied) > 0)
            g.applied = at; /* our position includes it (and lets us stand: may_stand) */
    }
    LOG(INFO, REPL, 21360, "replSetInitiate config object", "config", BCON_DOCUMENT(&c.raw));
    ret = repl__take_up_config(m, &c, self, st);
    repl_config_destroy(&c); /* emptied by the move */
    goto out;
err:
    repl_config_destroy(&c);
out:
    pthread_mutex_unlock(&g.lock);
    bson_destroy(&doc);
    return ret;
}

/* repl_get_config -- {config: {...}} (+ commitmentStatus). */
int repl_get_config(micad_t *m, bool commitment_status, bson_t *reply, status_t *st)
{
    (void)m;
    ST_RET(check_enabled(st));
    pthread_mutex_lock(&g.lock);
    if (!g.has_config) {
        pthread_mutex_unlock(&g.lock);
        return status_set(st, ERR_NotYetInitialized, "no replset config has been received");
    }
    BSON_APPEND_DOCUMENT(reply, "config", &g.config.raw);
    if (commitment_status) {
        if (g.state != REPL_PRIMARY) {
            pthread_mutex_unlock(&g.lock);
            return status_set(st, ERR_NotWritablePrimary,
                              "commitmentStatus is only supported on primary.");
        }
        BSON_APPEND_BOOL(reply, "commitmentStatus", true);
    }
    pthread_mutex_unlock(&g.lock);
    return 0;
}

/* repl_get_status -- the set as this member sees it. */
int repl_get_status(micad_t *m, bson_t *reply, status_t *st)
{
    repl_optime_t last;
    ST_RET(check_enabled(st));
    ST_RET(repl_oplog_last(m, &last, st));
    int64_t now = time_now_ms();
    int64_t last_ms = (int64_t)repl_ts_secs(last.ts) * 1000;
    pthread_mutex_lock(&g.lock);
    if (!g.has_config) {
        pthread_mutex_unlock(&g.lock);
        return status_set(st, ERR_NotYetInitialized, "no replset config has been received");
    }
    if (g.self < 0) {
        pthread_mutex_unlock(&g.lock);
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "Our replica set config is invalid or we are not a member of it");
    }
    const repl_config_t *c = &g.config;
    int voters = repl_config_voters(c), majority = repl_config_majority(c);
    BSON_APPEND_UTF8(reply, "set", c->set_name);
    BSON_APPEND_DATE_TIME(reply, "date", now);
    BSON_APPEND_INT32(reply, "myState", (int32_t)g.state);
    BSON_APPEND_INT64(reply, "term", g.term);
    int src = g.self >= 0 && (g.state == REPL_SECONDARY || g.state == REPL_STARTUP2)
                  ? g.topo.sync_source
                  : -1;
    BSON_APPEND_UTF8(reply, "syncSourceHost", src >= 0 ? c->members[src].host : "");
    BSON_APPEND_INT32(reply, "syncSourceId", src >= 0 ? c->members[src].id : -1);
    BSON_APPEND_INT64(reply, "heartbeatIntervalMillis", c->heartbeat_interval_ms);
    BSON_APPEND_INT32(reply, "majorityVoteCount", majority);
    BSON_APPEND_INT32(reply, "writeMajorityCount", majority);
    BSON_APPEND_INT32(reply, "votingMembersCount", voters);
    BSON_APPEND_INT32(reply, "writableVotingMembersCount", voters);
    repl_optime_t committed = g.self >= 0 ? g.topo.commit_point : (repl_optime_t){0, 0};
    int64_t committed_ms = (int64_t)repl_ts_secs(committed.ts) * 1000;
    {
        bson_t o;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "optimes", &o);
        repl_append_optime(&o, "lastCommittedOpTime", committed);
        BSON_APPEND_DATE_TIME(&o, "lastCommittedWallTime", committed_ms);
        repl_append_optime(&o, "readConcernMajorityOpTime", committed);
        repl_append_optime(&o, "appliedOpTime", last);
        repl_append_optime(&o, "durableOpTime", last);
        BSON_APPEND_DATE_TIME(&o, "lastAppliedWallTime", last_ms);
        BSON_APPEND_DATE_TIME(&o, "lastDurableWallTime", last_ms);
        bson_append_document_end(reply, &o);
    }
    BSON_APPEND_TIMESTAMP(reply, "lastStableRecoveryTimestamp", 0, 0);
    if (g.state == REPL_PRIMARY) {
        bson_t e;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "electionCandidateMetrics", &e);
        BSON_APPEND_UTF8(&e, "lastElectionReason", "electionTimeout");
        BSON_APPEND_DATE_TIME(&e, "lastElectionDate", g.election_ms);
        BSON_APPEND_INT64(&e, "electionTerm", g.term);
        repl_append_optime(&e, "lastCommittedOpTimeAtElection", (repl_optime_t){0, 0});
        repl_append_optime(&e, "lastSeenOpTimeAtElection", g.election_optime);
        BSON_APPEND_INT32(&e, "numVotesNeeded", majority);
        BSON_APPEND_DOUBLE(&e, "priorityAtElection", c->members[g.self].priority);
        BSON_APPEND_INT64(&e, "electionTimeoutMillis", c->election_timeout_ms);
        repl_append_optime(&e, "newTermStartDate", g.election_optime);
        bson_append_document_end(reply, &e);
    }
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(reply, "members", &arr);
    for (int i = 0; i < c->nmembers; i++) {
        const repl_member_cfg_t *mc = &c->members[i];
        bool self = i == g.self;
        char key[16];
        const char *k;
        bson_t e;
        bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
        bson_append_document_begin(&arr, k, -1, &e);
        BSON_APPEND_INT32(&e, "_id", mc->id);
        BSON_APPEND_UTF8(&e, "name", mc->host);
        bool up = self || (g.self >= 0 && g.topo.members[i].up);
        BSON_APPEND_DOUBLE(&e, "health", up ? 1.0 : 0.0);
        repl_member_state_t s = self          ? g.state
                                : g.self >= 0 ? g.topo.members[i].state
                                              : REPL_UNKNOWN;
        if (!up && !self)
            s = REPL_DOWN;
        BSON_APPEND_INT32(&e, "state", (int32_t)s);
        BSON_APPEND_UTF8(&e, "stateStr", repl_state_str(s));
        if (self) {
            BSON_APPEND_INT64(&e, "uptime", (now - m->start_ms) / 1000);
            repl_append_optime(&e, "optime", last);
            BSON_APPEND_DATE_TIME(&e, "optimeDate", last_ms);
            BSON_APPEND_DATE_TIME(&e, "lastAppliedWallTime", last_ms);
            BSON_APPEND_DATE_TIME(&e, "lastDurableWallTime", last_ms);
            BSON_APPEND_UTF8(&e, "syncSourceHost", "");
            BSON_APPEND_INT32(&e, "syncSourceId", -1);
            BSON_APPEND_UTF8(&e, "infoMessage", "");
            if (g.state == REPL_PRIMARY) {
                BSON_APPEND_TIMESTAMP(&e, "electionTime", repl_ts_secs(g.election_optime.ts),
                                      repl_ts_inc(g.election_optime.ts));
                BSON_APPEND_DATE_TIME(&e, "electionDate", g.election_ms);
            }
            BSON_APPEND_INT32(&e, "configVersion", (int32_t)c->version);
            BSON_APPEND_INT64(&e, "configTerm", c->term);
            BSON_APPEND_BOOL(&e, "self", true);
            BSON_APPEND_UTF8(&e, "lastHeartbeatMessage", "");
        } else {
            const repl_member_view_t *v = &g.topo.members[i];
            BSON_APPEND_INT64(&e, "uptime", 0);
            repl_append_optime(&e, "optime", v->applied);
            repl_append_optime(&e, "optimeDurable", v->durable);
            BSON_APPEND_DATE_TIME(&e, "optimeDate", (int64_t)repl_ts_secs(v->applied.ts) * 1000);
            BSON_APPEND_DATE_TIME(&e, "optimeDurableDate",
                                  (int64_t)repl_ts_secs(v->durable.ts) * 1000);
            BSON_APPEND_DATE_TIME(&e, "lastHeartbeat", g.last_hb_ms[i]);
            BSON_APPEND_DATE_TIME(&e, "lastHeartbeatRecv", g.last_hb_ms[i]);
            BSON_APPEND_INT64(&e, "pingMs", v->ping_ms < 0 ? 0 : v->ping_ms);
            BSON_APPEND_UTF8(&e, "lastHeartbeatMessage", g.hb_msg[i]);
            BSON_APPEND_UTF8(&e, "syncSourceHost", "");
            BSON_APPEND_INT32(&e, "syncSourceId", -1);
            BSON_APPEND_UTF8(&e, "infoMessage", "");
            BSON_APPEND_INT64(&e, "configVersion", g.peer_version[i]);
            BSON_APPEND_INT64(&e, "configTerm", c->term);
        }
        bson_append_document_end(&arr, &e);
    }
    bson_append_array_end(reply, &arr);
    pthread_mutex_unlock(&g.lock);
    return 0;
}

/* is_opt_in_read -- commands that read data: a secondary serves them only with secondaryOk. */
static bool is_opt_in_read(const char *name)
{
    static const char *const reads[] = {
        "find",        "count",     "distinct",      "aggregate", "listCollections",
        "listIndexes", "collStats", "dbStats",       "dataSize",  "datasize",
        "explain",     "validate",  "listDatabases", NULL,
    };
    for (int i = 0; reads[i]; i++)
        if (strcmp(name, reads[i]) == 0)
            return true;
    return false;
}

/* secondary_ok -- a $readPreference whose mode is not "primary". */
static bool secondary_ok(const wire_opctx_t *op)
{
    bson_iter_t it;
    if (!op->has_read_pref || !bson_iter_init_find(&it, &op->read_pref, "mode") ||
        !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    return strcmp(bson_iter_utf8(&it, NULL), "primary") != 0;
}

/* repl_command_gate -- see repl.h. */
int repl_command_gate(wire_opctx_t *op, const wire_command_t *cmd, const repl_rc_t *rc,
                      status_t *st)
{
    /* Marked before the state is read (both sequentially consistent): a step-down
     * stores the state, then sweeps the marked operations (repl__handle), so a write
     * either sees that this node is no longer primary or is interrupted by the sweep. */
    if (g.enabled && repl_stepdown_interrupts(cmd->name, (cmd->flags & WIRE_CMD_WRITE) != 0,
                                              &op->body, rc != NULL ? rc->level : REPL_RC_LOCAL))
        __atomic_store_n(&op->interrupt_at_stepdown, 1, __ATOMIC_SEQ_CST);
    int s = atomic_load(&g_state);
    if (!g.enabled || s == REPL_PRIMARY || strcmp(op->db, "local") == 0)
        return 0;
    if (cmd->flags & WIRE_CMD_WRITE)
        return status_set(st, ERR_NotWritablePrimary, "not primary");
    if (!is_opt_in_read(cmd->name))
        return 0;
    if (s == REPL_SECONDARY) {
        if (secondary_ok(op))
            return 0;
        return status_set(st, ERR_NotPrimaryNoSecondaryOk, "not primary and secondaryOk=false");
    }
    return status_set(st, ERR_NotPrimaryOrSecondary, "node is not in primary or recovering state");
}
