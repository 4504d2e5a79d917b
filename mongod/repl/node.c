/*
 * node.c -- replication's I/O around the topology coordinator: the
 * heartbeat thread (heartbeats to every member every heartbeatIntervalMillis,
 * the election timer, dry-run and real vote rounds, the primary's liveness
 * check), the fetcher thread (a secondary tails its sync source's oplog with
 * a tailable awaitData cursor, applies each batch through apply.c and reports
 * its position to the primary), and the bodies of replSetHeartbeat,
 * replSetRequestVotes and replSetUpdatePosition.
 *
 * Every decision is the coordinator's (topology.c); this file only moves
 * messages and carries out the actions (repl__handle), always under the
 * state's lock, never holding it across a network call.
 */
#include "mongod/db.h"
#include "mongod/repl/repl_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define g repl__g

/* ======================================================================== */
/* Fan-out: one command to several members, wait for all or the deadline    */
/* ======================================================================== */

typedef struct fan_slot {
    bool done;
    int code;
    bson_t reply;
    int64_t sent_us, rtt_ms;
} fan_slot_t;

typedef struct fan {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int pending;
    int refs; /* the caller + every outstanding callback */
    fan_slot_t slots[REPL_MAX_MEMBERS];
} fan_t;

typedef struct fan_arg {
    fan_t *f;
    int idx;
} fan_arg_t;

static void fan_unref(fan_t *f)
{
    pthread_mutex_lock(&f->lock);
    bool last = --f->refs == 0;
    pthread_mutex_unlock(&f->lock);
    if (last) {
        for (int i = 0; i < REPL_MAX_MEMBERS; i++)
            if (f->slots[i].done)
                bson_destroy(&f->slots[i].reply);
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->cond);
        free(f);
    }
}

static void fan_cb(void *arg, const bson_t *reply, const status_t *st)
{
    fan_arg_t *a = arg;
    fan_t *f = a->f;
    pthread_mutex_lock(&f->lock);
    fan_slot_t *s = &f->slots[a->idx];
    bson_copy_to(reply, &s->reply);
    s->code = st->code;
    s->rtt_ms = (time_mono_us() - s->sent_us) / 1000;
    s->done = true;
    f->pending--;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    free(a);
    fan_unref(f);
}

/*
 * fan_out -- cmds[i] (NULL: skip) to hosts[i], wait until every answer is in
 * or deadline_us; *out is the fan (the caller reads done slots, then unrefs).
 */
static fan_t *fan_out(int n, char hosts[][256], bson_t *const *cmds, int64_t deadline_us)
{
    fan_t *f = calloc(1, sizeof(*f));
    INVARIANT(f != NULL);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->refs = 1;
    for (int i = 0; i < n; i++) {
        if (cmds[i] == NULL)
            continue;
        fan_arg_t *a = malloc(sizeof(*a));
        INVARIANT(a != NULL);
        a->f = f;
        a->idx = i;
        status_t st = STATUS_INIT;
        pthread_mutex_lock(&f->lock);
        f->pending++;
        f->refs++;
        f->slots[i].sent_us = time_mono_us();
        pthread_mutex_unlock(&f->lock);
        if (wire_client_run_async(g.pool, hosts[i], "admin", cmds[i], deadline_us, fan_cb, a,
                                  &st) != 0) {
            pthread_mutex_lock(&f->lock);
            f->pending--;
            f->refs--;
            bson_init(&f->slots[i].reply);
            f->slots[i].code = st.code;
            f->slots[i].done = true;
            pthread_mutex_unlock(&f->lock);
            free(a);
        }
    }
    pthread_mutex_lock(&f->lock);
    while (f->pending > 0) {
        int64_t now = time_mono_us();
        if (now >= deadline_us)
            break;
        int64_t wake_ms = time_now_ms() + (deadline_us - now) / 1000 + 1;
        struct timespec ts = {wake_ms / 1000, (wake_ms % 1000) * 1000000};
        pthread_cond_timedwait(&f->cond, &f->lock, &ts);
    }
    pthread_mutex_unlock(&f->lock);
    return f;
}

/* ======================================================================== */
/* Reading replies                                                           */
/* gossip_reply -- a member's reply carries its $clusterTime: our clock advances to it. */
static void gossip_reply(const bson_t *reply)
{
    bson_iter_t it, ct;
    if (bson_iter_init_find(&it, reply, "$clusterTime") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
        bson_iter_recurse(&it, &ct) && bson_iter_find(&ct, "clusterTime") &&
        BSON_ITER_HOLDS_TIMESTAMP(&ct)) {
        uint32_t t, i;
        bson_iter_timestamp(&ct, &t, &i);
        repl_clock_advance(repl_ts_make(t, i));
    }
}

/* ======================================================================== */

static repl_optime_t read_optime(const bson_t *doc, const char *key)
{
    bson_iter_t it, sub;
    repl_optime_t o = {0, 0};
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &sub))
        return o;
    while (bson_iter_next(&sub)) {
        if (strcmp(bson_iter_key(&sub), "ts") == 0 && BSON_ITER_HOLDS_TIMESTAMP(&sub)) {
            uint32_t t, i;
            bson_iter_timestamp(&sub, &t, &i);
            o.ts = repl_ts_make(t, i);
        } else if (strcmp(bson_iter_key(&sub), "t") == 0) {
            o.term = bson_iter_as_int64(&sub);
        }
    }
    return o;
}

/* read_optime_fields -- an oplog entry's own {ts, t}. */
static repl_optime_t read_optime_fields(const bson_t *e)
{
    bson_iter_t it;
    repl_optime_t o = {0, 0};
    if (bson_iter_init_find(&it, e, "ts") && BSON_ITER_HOLDS_TIMESTAMP(&it)) {
        uint32_t t, i;
        bson_iter_timestamp(&it, &t, &i);
        o.ts = repl_ts_make(t, i);
    }
    if (bson_iter_init_find(&it, e, "t"))
        o.term = bson_iter_as_int64(&it);
    return o;
}

static int64_t read_int(const bson_t *doc, const char *key, int64_t def)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && bsonu_is_number(bson_iter_type(&it)))
        return bson_iter_as_int64(&it);
    return def;
}

/* ======================================================================== */
/* Heartbeats                                                                */
/* ======================================================================== */

/* hb_cmd -- {replSetHeartbeat: set, configVersion, term, from, fromId[, config]}. */
static void hb_cmd(int peer, bson_t *cmd)
{
    bson_init(cmd);
    BSON_APPEND_UTF8(cmd, "replSetHeartbeat", g.config.set_name);
    BSON_APPEND_INT64(cmd, "configVersion", g.config.version);
    BSON_APPEND_INT64(cmd, "configTerm", g.config.term);
    BSON_APPEND_INT64(cmd, "term", g.topo.term);
    BSON_APPEND_UTF8(cmd, "from", g.config.members[g.self].host);
    BSON_APPEND_INT32(cmd, "fromId", g.config.members[g.self].id);
    /* a member with an older config (or none) gets ours with the heartbeat */
    if (g.peer_version[peer] < g.config.version)
        BSON_APPEND_DOCUMENT(cmd, "config", &g.config.raw);
}

/* jitter_us -- up to 15% of the election timeout (at most 1 s), as MongoDB's offset. */
static int64_t jitter_us(int64_t timeout_ms)
{
    int64_t max = timeout_ms * 150; /* 15% in us */
    if (max > 1000000)
        max = 1000000;
    return max > 0 ? (int64_t)(random() % max) : 0;
}

static void reset_election_timer(void)
{
    int64_t to = g.config.election_timeout_ms;
    g.election_deadline_us = time_mono_us() + to * 1000 + jitter_us(to);
}

/*
 * Heartbeats, one at a time per member, each on its own schedule (MongoDB's
 * _scheduleHeartbeatToTarget): a heartbeat is sent when its member's time has
 * come, with the deadline the coordinator gives (heartbeatTimeoutSecs after
 * the heartbeat's first attempt), and its answer is collected by the
 * heartbeat thread; a slow or paused member delays nobody else's.
 */
typedef struct hb_mailbox {
    pthread_mutex_t lock;
    bool in_flight[REPL_MAX_MEMBERS];
    bool done[REPL_MAX_MEMBERS];
    int code[REPL_MAX_MEMBERS];
    bson_t reply[REPL_MAX_MEMBERS];
    int64_t sent_us[REPL_MAX_MEMBERS], rtt_ms[REPL_MAX_MEMBERS];
    int64_t version[REPL_MAX_MEMBERS]; /* the config version it was sent under */
} hb_mailbox_t;

static hb_mailbox_t g_hb = {.lock = PTHREAD_MUTEX_INITIALIZER};
static int64_t g_hb_next_us[REPL_MAX_MEMBERS]; /* when member i's next heartbeat is due */
static bool g_hb_retry[REPL_MAX_MEMBERS];      /* that one is a retry of the current heartbeat */
static int64_t g_hb_version = -1;              /* the config version of the schedule */

typedef struct hb_arg {
    int idx;
} hb_arg_t;

/* hb_cb -- on the client's I/O thread: park the answer for the heartbeat thread. */
static void hb_cb(void *arg, const bson_t *reply, const status_t *st)
{
    hb_arg_t *a = arg;
    pthread_mutex_lock(&g_hb.lock);
    bson_copy_to(reply, &g_hb.reply[a->idx]);
    g_hb.code[a->idx] = st->code;
    g_hb.rtt_ms[a->idx] = (time_mono_us() - g_hb.sent_us[a->idx]) / 1000;
    g_hb.done[a->idx] = true;
    pthread_mutex_unlock(&g_hb.lock);
    free(a);
}

/* hb_send_due -- send the heartbeats whose time has come (lock held; it is released meanwhile) */
static void hb_send_due(void)
{
    int64_t now_us = time_mono_us();
    if (g_hb_version != g.config.version) {
        /* a new config (members may have moved): every member is due now */
        for (int i = 0; i < REPL_MAX_MEMBERS; i++) {
            g_hb_next_us[i] = 0;
            g_hb_retry[i] = false;
        }
        g_hb_version = g.config.version;
    }
    for (int i = 0; i < g.config.nmembers; i++) {
        if (i == g.self || now_us < g_hb_next_us[i])
            continue;
        pthread_mutex_lock(&g_hb.lock);
        bool busy = g_hb.in_flight[i];
        pthread_mutex_unlock(&g_hb.lock);
        if (busy)
            continue;
        int64_t now_ms = time_mono_us() / 1000;
        if (!g_hb_retry[i])
            repl_topo_hb_start(&g.topo, i, now_ms);
        int64_t deadline_ms = repl_topo_hb_deadline_ms(&g.topo, i);
        if (deadline_ms <= now_ms)
            deadline_ms = now_ms + 1;
        char host[256];
        snprintf(host, sizeof(host), "%s", g.config.members[i].host);
        bson_t cmd;
        hb_cmd(i, &cmd);
        hb_arg_t *a = malloc(sizeof(*a));
        INVARIANT(a != NULL);
        a->idx = i;
        pthread_mutex_lock(&g_hb.lock);
        g_hb.in_flight[i] = true;
        g_hb.done[i] = false;
        g_hb.sent_us[i] = time_mono_us();
        g_hb.version[i] = g.config.version;
        pthread_mutex_unlock(&g_hb.lock);
        g_hb_next_us[i] = INT64_MAX; /* set again when the answer is collected */
        status_t st = STATUS_INIT;
        if (wire_client_run_async(g.pool, host, "admin", &cmd, deadline_ms * 1000, hb_cb, a, &st) !=
            0) {
            pthread_mutex_lock(&g_hb.lock);
            bson_init(&g_hb.reply[i]);
            g_hb.code[i] = st.code != 0 ? st.code : ERR_HostUnreachable;
            g_hb.rtt_ms[i] = 0;
            g_hb.done[i] = true;
            pthread_mutex_unlock(&g_hb.lock);
            free(a);
        }
        bson_destroy(&cmd);
    }
}

/* hb_take_reply -- member i's answer (lock held): true when it was a success. */
static bool hb_take_reply(int i, const bson_t *reply, int64_t rtt_ms)
{
    repl_actions_t a = {0};
    repl_hb_reply_t r;
    memset(&r, 0, sizeof(r));
    r.state = (repl_member_state_t)read_int(reply, "state", REPL_UNKNOWN);
    r.term = read_int(reply, "term", 0);
    r.applied = read_optime(reply, "opTime");
    r.durable = read_optime(reply, "durableOpTime");
    r.commit_point = read_optime(reply, "lastCommittedOpTime");
    gossip_reply(reply); /* the member's $clusterTime moves our clock */
    r.config_version = read_int(reply, "configVersion", -1);
    r.ping_ms = rtt_ms;
    bson_iter_t ci;
    if (repl_config_cmp_version(r.config_version, read_int(reply, "configTerm", -1),
                                g.config.version, g.config.term) > 0 &&
        bson_iter_init_find(&ci, reply, "config") && BSON_ITER_HOLDS_DOCUMENT(&ci)) {
        /* the member holds a newer config: take it up (the schedule starts again) */
        bson_t view;
        const uint8_t *data;
        uint32_t len;
        bson_iter_document(&ci, &len, &data);
        bson_init_static(&view, data, len);
        repl__take_up_newer_config(g.m, &view);
        return true;
    }
    g.peer_version[i] = r.config_version;
    g.last_hb_ms[i] = time_now_ms();
    g.hb_msg[i][0] = '\0';
    repl_topo_on_heartbeat(&g.topo, i, &r, &a);
    repl_topo_heard_from(&g.topo, i, time_mono_us() / 1000);
    /* MongoDB: only a primary of our term (once a newer one is adopted) postpones our election */
    if (repl_topo_hb_resets_election_timer(&g.topo, &r))
        reset_election_timer();
    repl__handle(&a);
    return true;
}

/* hb_collect -- feed the answers that came in to the coordinator (lock held). */
static void hb_collect(void)
{
    for (int i = 0; i < REPL_MAX_MEMBERS; i++) {
        bson_t reply;
        int code;
        int64_t rtt, version;
        pthread_mutex_lock(&g_hb.lock);
        if (!g_hb.in_flight[i] || !g_hb.done[i]) {
            pthread_mutex_unlock(&g_hb.lock);
            continue;
        }
        bson_steal(&reply, &g_hb.reply[i]);
        code = g_hb.code[i];
        rtt = g_hb.rtt_ms[i];
        version = g_hb.version[i];
        g_hb.in_flight[i] = false;
        g_hb.done[i] = false;
        pthread_mutex_unlock(&g_hb.lock);
        if (!g.has_config || g.self < 0 || version != g.config.version || i >= g.config.nmembers ||
            i == g.self) {
            bson_destroy(&reply); /* sent under another config: the schedule starts again */
            continue;
        }
        int64_t now_us = time_mono_us();
        if (code == 0) {
            g_hb_retry[i] = false;
            g_hb_next_us[i] = now_us + g.config.heartbeat_interval_ms * 1000;
            int64_t v0 = g.config.version;
            hb_take_reply(i, &reply, rtt);
            bson_destroy(&reply);
            if (g.config.version != v0 || !g.has_config || g.self < 0)
                return; /* a new config was taken up */
            continue;
        }
        bson_iter_t em;
        const char *msg = "no answer in time";
        if (bson_iter_init_find(&em, &reply, "errmsg") && BSON_ITER_HOLDS_UTF8(&em))
            msg = bson_iter_utf8(&em, NULL);
        else if (code != ERR_NetworkTimeout && code != 0)
            msg = status_code_name(code);
        snprintf(g.hb_msg[i], sizeof(g.hb_msg[i]), "%s", msg);
        bson_destroy(&reply);
        repl_actions_t a = {0};
        bool retry = repl_topo_on_heartbeat_failed(&g.topo, i, now_us / 1000, &a);
        g_hb_retry[i] = retry;
        g_hb_next_us[i] = retry ? now_us : now_us + g.config.heartbeat_interval_ms * 1000;
        repl__handle(&a);
    }
}

/* heartbeats -- send what is due, take what came back. */
static void heartbeats(void)
{
    repl__lock();
    if (g.has_config && g.self >= 0) {
        hb_collect();
        if (g.has_config && g.self >= 0)
            hb_send_due();
    }
    repl__unlock();
}

/* ======================================================================== */
/* Elections                                                                 */
/* ======================================================================== */

/* vote_round -- ask every voter with the coordinator's request; feed the answers. */
static void vote_round(void)
{
    char hosts[REPL_MAX_MEMBERS][256];
    bson_t cmds[REPL_MAX_MEMBERS];
    bson_t *cp[REPL_MAX_MEMBERS] = {0};
    repl__lock();
    if (!g.topo.candidate) {
        repl__unlock();
        return;
    }
    int n = g.config.nmembers;
    bool dry = g.topo.dry_run;
    int64_t term = dry ? g.topo.term + 1 : g.topo.term;
    repl_optime_t last = g.topo.members[g.self].applied;
    for (int i = 0; i < n; i++) {
        if (i == g.self || g.config.members[i].votes == 0)
            continue;
        snprintf(hosts[i], sizeof(hosts[i]), "%s", g.config.members[i].host);
        bson_init(&cmds[i]);
        BSON_APPEND_INT32(&cmds[i], "replSetRequestVotes", 1);
        BSON_APPEND_UTF8(&cmds[i], "setName", g.config.set_name);
        BSON_APPEND_BOOL(&cmds[i], "dryRun", dry);
        BSON_APPEND_INT64(&cmds[i], "term", term);
        BSON_APPEND_INT32(&cmds[i], "candidateIndex", g.self);
        BSON_APPEND_INT64(&cmds[i], "configVersion", g.config.version);
        BSON_APPEND_INT64(&cmds[i], "configTerm", g.config.term);
        repl_append_optime(&cmds[i], "lastAppliedOpTime", last);
        cp[i] = &cmds[i];
    }
    int64_t timeout_ms = g.config.election_timeout_ms;
    LOG(INFO, ELECTION, 21453, dry ? "Running a dry-run election" : "Running an election", "term",
        BCON_INT64(term));
    repl__unlock();
    fan_t *f = fan_out(n, hosts, cp, time_mono_us() + timeout_ms * 1000);
    repl__lock();
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < n; i++) {
        if (cp[i] == NULL || !f->slots[i].done || f->slots[i].code != 0)
            continue;
        /* a reply for an older round (the term moved on meanwhile) is ignored */
        if (!g.topo.candidate || g.topo.dry_run != dry ||
            (dry ? g.topo.term + 1 : g.topo.term) != term)
            break;
        bson_iter_t it;
        repl_vote_reply_t r;
        memset(&r, 0, sizeof(r));
        r.term = read_int(&f->slots[i].reply, "term", 0);
        if (bson_iter_init_find(&it, &f->slots[i].reply, "voteGranted"))
            r.granted = bson_iter_as_bool(&it);
        repl_actions_t a = {0};
        repl_topo_on_vote_reply(&g.topo, i, &r, &a);
        repl__handle(&a);
    }
    if (g.topo.candidate && g.topo.dry_run == dry &&
        (dry ? g.topo.term + 1 : g.topo.term) == term) {
        g.topo.candidate = false; /* lost: wait for the next timeout */
        LOG(INFO, ELECTION, 21454, "Election lost", "term", BCON_INT64(term));
    }
    pthread_mutex_unlock(&f->lock);
    repl__unlock();
    fan_unref(f);
    for (int i = 0; i < n; i++)
        if (cp[i] != NULL)
            bson_destroy(&cmds[i]);
}

/*
 * refresh_own_position -- a primary's applied optime is its newest oplog
 * entry (its writes do not pass through here one by one). Its durable optime
 * is taken as the same: every commit reaches the OS at commit (kill -9 safe),
 * and the journal is fsynced within group_commit_ms.
 */
static void refresh_own_position(micad_t *m)
{
    repl_optime_t last;
    status_t st = STATUS_INIT;
    if (repl_oplog_last(m, &last, &st) != 0)
        return;
    repl__lock();
    if (g.topo.state == REPL_PRIMARY && repl_optime_cmp(last, g.applied) > 0) {
        g.applied = last;
        repl_actions_t a = {0};
        repl_topo_on_position(&g.topo, g.self, last, last, &a);
        repl__handle(&a);
    }
    repl__unlock();
}

/* repl__refresh_own_position -- see repl_int.h. */
void repl__refresh_own_position(micad_t *m)
{
    refresh_own_position(m);
}

/* hb_thread -- heartbeats, the election timer, the liveness check. */
static void *hb_main(void *arg)
{
    (void)arg;
    log_set_ctx("ReplCoord");
    int64_t next_liveness = 0, next_refresh = 0;
    for (;;) {
        repl__lock();
        if (g.stopping) {
            repl__unlock();
            break;
        }
        bool configured = g.has_config && g.self >= 0 && g.config.nmembers > 1;
        int64_t interval = configured ? g.config.heartbeat_interval_ms : 200;
        repl__unlock();
        if (configured) {
            heartbeats();
            int64_t now = time_mono_us();
            if (now >= next_refresh) {
                refresh_own_position(arg);
                next_refresh = now + interval * 1000;
            }
            repl__lock();
            now = time_mono_us();
            repl_actions_t a = {0};
            if (g.topo.state == REPL_PRIMARY) {
                if (next_liveness == 0)
                    next_liveness = now + g.config.election_timeout_ms * 1000;
                if (now >= next_liveness) {
                    repl_topo_on_liveness_check(&g.topo, now / 1000, &a);
                    next_liveness = now + g.config.election_timeout_ms * 1000;
                }
                /* the primary's own position, for the commit point */
                repl_topo_on_position(&g.topo, g.self, g.applied, g.applied, &a);
            } else {
                next_liveness = 0;
                if (g.frozen_until_us != 0 && now >= g.frozen_until_us) {
                    g.frozen_until_us = 0;
                    g.topo.frozen = false;
                }
                if (now >= g.election_deadline_us) {
                    repl_topo_on_election_timeout(&g.topo, &a);
                    reset_election_timer();
                } else if (repl_topo_priority_takeover(&g.topo)) {
                    repl_topo_start_takeover(&g.topo, &a);
                }
            }
            repl__handle(&a);
            bool stand = g.topo.candidate;
            repl__unlock();
            while (stand) {
                vote_round();
                repl__lock();
                stand = g.topo.candidate;
                repl__unlock();
            }
        }
        /* a short tick (answers are collected on it), or less when woken (stopping, a new
         * config, a step-up) */
        repl__lock();
        if (!g.stopping) {
            int64_t wake_ms = time_now_ms() + (configured ? 20 : interval);
            struct timespec ts = {wake_ms / 1000, (wake_ms % 1000) * 1000000};
            pthread_cond_timedwait(&g.cond, &g.lock, &ts);
        }
        repl__unlock();
    }
    return NULL;
}

/* ======================================================================== */
/* Fetching and applying                                                     */
/* ======================================================================== */

/* report_position -- replSetUpdatePosition to the primary (best effort). */
static void report_position(repl_optime_t applied)
{
    char host[256];
    repl__lock();
    int p = g.topo.primary;
    if (p < 0 || p == g.self) {
        repl__unlock();
        return;
    }
    snprintf(host, sizeof(host), "%s", g.config.members[p].host);
    bson_t cmd = BSON_INITIALIZER, arr, e;
    BSON_APPEND_INT32(&cmd, "replSetUpdatePosition", 1);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "optimes", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &e);
    repl_append_optime(&e, "appliedOpTime", applied);
    repl_append_optime(&e, "durableOpTime", applied);
    BSON_APPEND_INT32(&e, "memberId", g.config.members[g.self].id);
    BSON_APPEND_INT64(&e, "cfgver", g.config.version);
    bson_append_document_end(&arr, &e);
    bson_append_array_end(&cmd, &arr);
    repl__unlock();
    bson_t reply;
    status_t st = STATUS_INIT;
    (void)wire_client_run(g.pool, host, "admin", &cmd, time_mono_us() + 5000000, &reply, &st);
    bson_destroy(&reply);
    bson_destroy(&cmd);
}

static bool g_logged_no_history; /* the STARTUP2 warning, once */

/* syncing_state -- the states in which this member fetches from a sync source. */
static bool syncing_state(repl_member_state_t s)
{
    return s == REPL_SECONDARY || s == REPL_STARTUP2;
}

/* is_set_start -- e is the set's first entry, the initiating member's no-op. */
static bool is_set_start(const bson_t *e)
{
    bson_iter_t it, o;
    if (!bson_iter_init_find(&it, e, "op") || !BSON_ITER_HOLDS_UTF8(&it) ||
        strcmp(bson_iter_utf8(&it, NULL), "n") != 0)
        return false;
    if (!bson_iter_init_find(&it, e, "o") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &o) || !bson_iter_find(&o, "msg") || !BSON_ITER_HOLDS_UTF8(&o))
        return false;
    return strcmp(bson_iter_utf8(&o, NULL), "initiating set") == 0;
}

/*
 * apply_batch -- every entry of arr after `after`; *last moves with each. An
 * empty log (last->ts == 0) takes the source's oplog only from the set's first
 * entry: a source whose oplog no longer starts there needs a data clone
 * (initial sync by cloning, the failure-handling issue), and *no_history says so.
 */
static int apply_batch(micad_t *m, bson_iter_t *arr, repl_optime_t *last, bool *diverged,
                       bool *no_history, bool first_batch, int64_t *applied_n, status_t *st)
{
    bool first = first_batch;
    while (bson_iter_next(arr)) {
        bson_t e;
        const uint8_t *data;
        uint32_t len;
        if (!BSON_ITER_HOLDS_DOCUMENT(arr))
            continue;
        bson_iter_document(arr, &len, &data);
        bson_init_static(&e, data, len);
        repl_optime_t o = read_optime_fields(&e);
        if (first && last->ts == 0 && !is_set_start(&e)) {
            *no_history = true;
            return 0;
        }
        if (first && last->ts != 0) {
            first = false;
            /* the source's first entry must be our last one, else our logs diverged */
            if (o.ts != last->ts || o.term != last->term) {
                *diverged = true;
                return 0;
            }
            continue;
        }
        first = false;
        if (o.ts <= last->ts)
            continue;
        ST_RET(repl__apply_entry(m, &e, st));
        *last = o;
        (*applied_n)++;
    }
    return 0;
}

/* source_has -- whether host's oplog holds the entry o (same ts and term). */
static int source_has(const char *host, repl_optime_t o, bool *has, status_t *st)
{
    bson_t cmd = BSON_INITIALIZER, filter, gte, reply;
    *has = false;
    BSON_APPEND_UTF8(&cmd, "find", "oplog.rs");
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "filter", &filter);
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "ts", &gte);
    BSON_APPEND_TIMESTAMP(&gte, "$gte", repl_ts_secs(o.ts), repl_ts_inc(o.ts));
    bson_append_document_end(&filter, &gte);
    bson_append_document_end(&cmd, &filter);
    BSON_APPEND_INT32(&cmd, "limit", 1);
    BSON_APPEND_BOOL(&cmd, "singleBatch", true);
    int ret = wire_client_run(g.pool, host, "local", &cmd, time_mono_us() + 10000000, &reply, st);
    bson_destroy(&cmd);
    if (ret == 0) {
        bson_iter_t it;
        if (bson_iter_init(&it, &reply) &&
            bson_iter_find_descendant(&it, "cursor.firstBatch.0", &it) &&
            BSON_ITER_HOLDS_DOCUMENT(&it)) {
            const uint8_t *data;
            uint32_t len;
            bson_t e;
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&e, data, len)) {
                repl_optime_t got = read_optime_fields(&e);
                *has = got.ts == o.ts && got.term == o.term;
            }
        }
    }
    bson_destroy(&reply);
    return ret;
}

/* entry_op -- an oplog entry's op letter, '?' if it has none. */
static char entry_op(const bson_t *e)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, e, "op") && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL)[0];
    return '?';
}

/*
 * rollback_noops -- the divergence an election race leaves: a primary deposed
 * at once wrote its "new primary" no-op (and maybe nothing else) that the set
 * never took. Walk our oplog back to the newest entry the source also holds;
 * if every entry after it is a no-op, cut them and go on from there. Anything
 * else (documents or catalog changes to undo) needs the full rollback of the
 * failure-handling issue: false, and the caller stays RECOVERING.
 */
static bool rollback_noops(micad_t *m, const char *host)
{
    stor_session_t *sess;
    status_t st = STATUS_INIT;
    repl_optime_t common = {0, 0};
    uint64_t before = UINT64_MAX;
    int cut = 0;
    if (micad_db_session(m, &sess, &st) != 0)
        return false;
    for (int steps = 0; steps < 1000; steps++) {
        uint64_t ts;
        bson_t e = BSON_INITIALIZER;
        if (stor_oplog_prev(sess, before, &ts, &e, &st) != 0 || ts == 0) {
            bson_destroy(&e);
            return false; /* no common point in our oplog */
        }
        repl_optime_t o = read_optime_fields(&e);
        char op = entry_op(&e);
        bson_destroy(&e);
        bool has = false;
        if (source_has(host, o, &has, &st) != 0)
            return false;
        if (has) {
            common = o;
            break;
        }
        if (op != 'n')
            return false; /* a write to undo: the real rollback's work */
        cut++;
        before = ts;
    }
    if (common.ts == 0)
        return false;
    repl__lock();
    bool ok = g.topo.state != REPL_PRIMARY && repl_topo_on_truncated(&g.topo, common);
    if (ok && stor_oplog_truncate_after(sess, common.ts, &st) != 0)
        ok = false;
    if (ok)
        g.applied = common;
    repl__unlock();
    if (ok)
        LOG(INFO, REPL, 21365, "Rolled back no-op entries the set never took", "syncSource",
            BCON_UTF8(host), "entries", BCON_INT32(cut), "commonPoint",
            BCON_TIMESTAMP(repl_ts_secs(common.ts), repl_ts_inc(common.ts)));
    return ok;
}

/* fetch_once -- one cursor on the sync source, until it fails or the source changes. */
static void fetch_once(micad_t *m, const char *host, int src)
{
    repl_optime_t last, newest;
    status_t st = STATUS_INIT;
    repl__lock();
    last = g.applied;
    repl__unlock();
    /* Our newest entry, not only what we last applied as a secondary: a primary that stepped
     * down (a higher term seen after a pause) wrote entries of its own since the last periodic
     * refresh of g.applied; fetching from an older entry would not see our log diverge and
     * would keep those writes beside the new primary's. */
    if (repl_oplog_last(m, &newest, &st) == 0 && repl_optime_cmp(newest, last) > 0) {
        last = newest;
        repl__lock();
        if (repl_optime_cmp(newest, g.applied) > 0) {
            g.applied = newest;
            /* the coordinator's own position too: heartbeat answers report g.applied, and
             * votes must be refused against the same log they report (a voter that counted
             * toward a commit must not elect a candidate that lacks it) */
            repl_actions_t a = {0};
            repl_topo_on_position(&g.topo, g.self, newest, newest, &a);
            repl__handle(&a);
        }
        repl__unlock();
    }
    status_reset(&st);
    bson_t cmd = BSON_INITIALIZER, filter, gt, reply;
    BSON_APPEND_UTF8(&cmd, "find", "oplog.rs");
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "filter", &filter);
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "ts", &gt);
    BSON_APPEND_TIMESTAMP(&gt, "$gte", repl_ts_secs(last.ts), repl_ts_inc(last.ts));
    bson_append_document_end(&filter, &gt);
    bson_append_document_end(&cmd, &filter);
    BSON_APPEND_BOOL(&cmd, "tailable", true);
    BSON_APPEND_BOOL(&cmd, "awaitData", true);
    BSON_APPEND_INT32(&cmd, "batchSize", 1000);
    int ret = wire_client_run(g.pool, host, "local", &cmd, time_mono_us() + 30000000, &reply, &st);
    bson_destroy(&cmd);
    bool first = true;
    int64_t cursor_id = 0;
    while (ret == 0) {
        bson_iter_t it, cur, batch;
        bool diverged = false, no_history = false;
        int64_t n = 0;
        if (!bson_iter_init_find(&it, &reply, "cursor") || !bson_iter_recurse(&it, &cur))
            break;
        while (bson_iter_next(&cur))
            if (strcmp(bson_iter_key(&cur), "id") == 0)
                cursor_id = bson_iter_as_int64(&cur);
        if (!bson_iter_init_find(&it, &reply, "cursor") || !bson_iter_recurse(&it, &cur) ||
            !(bson_iter_find(&cur, first ? "firstBatch" : "nextBatch")) ||
            !bson_iter_recurse(&cur, &batch))
            break;
        if (apply_batch(m, &batch, &last, &diverged, &no_history, first, &n, &st) != 0) {
            LOG(ERROR, REPL, 21362, "Applying a fetched entry failed", "error", BCON_UTF8(st.msg));
            break;
        }
        if (diverged && rollback_noops(m, host))
            break; /* the next fetch starts at the common point */
        if (diverged) {
            LOG(ERROR, REPL, 21363,
                "Our last fetched entry is not in the sync source's oplog: this node diverged "
                "and needs a rollback, which is not built yet",
                "syncSource", BCON_UTF8(host));
            repl__lock();
            g.topo.state = REPL_RECOVERING;
            repl_actions_t a = {REPL_ACT_STATE_CHANGED};
            repl__handle(&a);
            repl__unlock();
            break;
        }
        if (no_history) {
            if (!g_logged_no_history) {
                g_logged_no_history = true;
                LOG(WARNING, REPL, 21364,
                    "This member holds no data and the sync source's oplog no longer starts at "
                    "the set's first entry: initial sync by cloning is not built yet; staying "
                    "in STARTUP2",
                    "syncSource", BCON_UTF8(host));
            }
            usleep(1000000);
            break;
        }
        first = false;
        if (n > 0) {
            stor_session_t *sess;
            if (micad_db_session(m, &sess, &st) == 0)
                (void)stor_wait_durable(sess, &st);
            repl__lock();
            g.applied = last;
            repl_actions_t a = {0};
            repl_topo_on_position(&g.topo, g.self, last, last, &a);
            repl_topo_on_initial_sync_done(&g.topo, &a); /* STARTUP2 -> SECONDARY */
            repl__handle(&a);
            repl__unlock();
            report_position(last);
        }
        repl__lock();
        bool go_on = !g.stopping && syncing_state(g.topo.state) && g.topo.sync_source == src;
        repl__unlock();
        if (!go_on || cursor_id == 0)
            break;
        bson_destroy(&reply);
        bson_t gm = BSON_INITIALIZER;
        BSON_APPEND_INT64(&gm, "getMore", cursor_id);
        BSON_APPEND_UTF8(&gm, "collection", "oplog.rs");
        BSON_APPEND_INT64(&gm, "maxTimeMS", 1000);
        ret = wire_client_run(g.pool, host, "local", &gm, time_mono_us() + 30000000, &reply, &st);
        bson_destroy(&gm);
    }
    bson_destroy(&reply);
    if (cursor_id != 0) {
        bson_t kc = BSON_INITIALIZER, ids;
        BSON_APPEND_UTF8(&kc, "killCursors", "oplog.rs");
        BSON_APPEND_ARRAY_BEGIN(&kc, "cursors", &ids);
        BSON_APPEND_INT64(&ids, "0", cursor_id);
        bson_append_array_end(&kc, &ids);
        status_t s2 = STATUS_INIT;
        (void)wire_client_run(g.pool, host, "local", &kc, time_mono_us() + 2000000, &reply, &s2);
        bson_destroy(&reply);
        bson_destroy(&kc);
    }
}

static void *fetch_main(void *arg)
{
    micad_t *m = arg;
    log_set_ctx("OplogFetcher");
    for (;;) {
        char host[256] = "";
        int src = -1;
        repl__lock();
        if (g.stopping) {
            repl__unlock();
            break;
        }
        if (g.has_config && g.self >= 0 && syncing_state(g.topo.state) && g.topo.sync_source >= 0) {
            src = g.topo.sync_source;
            snprintf(host, sizeof(host), "%s", g.config.members[src].host);
        }
        snprintf(g.sync_source, sizeof(g.sync_source), "%s", host);
        if (src < 0) {
            int64_t wake_ms = time_now_ms() + 200;
            struct timespec ts = {wake_ms / 1000, (wake_ms % 1000) * 1000000};
            pthread_cond_timedwait(&g.cond, &g.lock, &ts);
            repl__unlock();
            continue;
        }
        repl__unlock();
        fetch_once(m, host, src);
        usleep(50000); /* a failed source is not hammered */
    }
    return NULL;
}

/* ======================================================================== */
/* Start, stop, quorum check                                                 */
/* ======================================================================== */

int repl__node_start(micad_t *m, status_t *st)
{
    wire_client_opts_t o = {0};
    char bind[64] = "";
    if (m->opts->bind_ip != NULL) {
        /* dial peers from our own (first) bind address */
        const char *c = strchr(m->opts->bind_ip, ',');
        snprintf(bind, sizeof(bind), "%.*s",
                 c ? (int)(c - m->opts->bind_ip) : (int)strlen(m->opts->bind_ip), m->opts->bind_ip);
        if (strcmp(bind, "localhost") == 0)
            snprintf(bind, sizeof(bind), "127.0.0.1");
        if (strchr(bind, '/') == NULL && strcmp(bind, "0.0.0.0") != 0)
            o.bind_ip = bind;
    }
    o.app_name = "mica-repl";
    o.connect_timeout_ms = 2000;
    ST_RET(micad_cluster_pool_create(m->opts, &o, &g.pool, st)); /* TLS, keyFile */
    srandom((unsigned)(time_mono_us() ^ getpid()));
    g.stopping = false;
    if (pthread_create(&g.hb_thread, NULL, hb_main, m) != 0 ||
        pthread_create(&g.fetch_thread, NULL, fetch_main, m) != 0)
        return status_set(st, ERR_InternalError, "cannot start the replication threads");
    g.threads = true;
    return 0;
}

void repl__node_stop(void)
{
    repl__lock();
    g.stopping = true;
    pthread_cond_broadcast(&g.cond);
    repl__unlock();
    if (g.threads) {
        pthread_join(g.hb_thread, NULL);
        pthread_join(g.fetch_thread, NULL);
        g.threads = false;
    }
    wire_client_pool_destroy(g.pool); /* every heartbeat still in flight is answered */
    g.pool = NULL;
    pthread_mutex_lock(&g_hb.lock);
    for (int i = 0; i < REPL_MAX_MEMBERS; i++) {
        if (g_hb.in_flight[i] && g_hb.done[i])
            bson_destroy(&g_hb.reply[i]);
        g_hb.in_flight[i] = g_hb.done[i] = false;
    }
    pthread_mutex_unlock(&g_hb.lock);
}

/* repl__quorum_check -- heartbeat each other member: up, same set or none, no config yet. */
int repl__quorum_check(micad_t *m, const repl_config_t *c, int self, status_t *st)
{
    (void)m;
    char hosts[REPL_MAX_MEMBERS][256];
    bson_t cmds[REPL_MAX_MEMBERS];
    bson_t *cp[REPL_MAX_MEMBERS] = {0};
    int ret = 0;
    for (int i = 0; i < c->nmembers; i++) {
        if (i == self)
            continue;
        snprintf(hosts[i], sizeof(hosts[i]), "%s", c->members[i].host);
        bson_init(&cmds[i]);
        BSON_APPEND_UTF8(&cmds[i], "replSetHeartbeat", c->set_name);
        BSON_APPEND_INT64(&cmds[i], "configVersion", -2); /* the initiate quorum check */
        BSON_APPEND_UTF8(&cmds[i], "from", c->members[self].host);
        BSON_APPEND_BOOL(&cmds[i], "checkEmpty", true);
        cp[i] = &cmds[i];
    }
    fan_t *f = fan_out(c->nmembers, hosts, cp, time_mono_us() + 10000000);
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < c->nmembers && ret == 0; i++) {
        if (cp[i] == NULL)
            continue;
        fan_slot_t *s = &f->slots[i];
        if (!s->done || s->code != 0)
            ret = status_set(st, ERR_NodeNotFound,
                             "replSetInitiate quorum check failed because not all proposed set "
                             "members responded affirmatively: %s failed with %s",
                             hosts[i], s->done ? status_code_name(s->code) : "no answer");
        else if (read_int(&s->reply, "configVersion", -1) > 0)
            ret = status_set(st, ERR_InvalidReplicaSetConfig,
                             "replSetInitiate quorum check failed: %s already has a replica set "
                             "config",
                             hosts[i]);
    }
    pthread_mutex_unlock(&f->lock);
    fan_unref(f);
    for (int i = 0; i < c->nmembers; i++)
        if (cp[i] != NULL)
            bson_destroy(&cmds[i]);
    return ret;
}

/* ======================================================================== */
/* The commands' bodies                                                      */
/* ======================================================================== */

/* repl_heartbeat -- answer a member's heartbeat; take up a newer config it carries. */
int repl_heartbeat(micad_t *m, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    const char *set = "";
    if (!g.enabled)
        return status_set(st, ERR_NoReplicationEnabled, "not running with --replSet");
    if (bson_iter_init_find(&it, cmd, "replSetHeartbeat") && BSON_ITER_HOLDS_UTF8(&it))
        set = bson_iter_utf8(&it, NULL);
    if (strcmp(set, m->opts->repl_set) != 0)
        return status_set(st, ERR_InconsistentReplicaSetNames,
                          "Our set name of %s does not match name %s reported by remote node",
                          m->opts->repl_set, set);
    int64_t their_version = read_int(cmd, "configVersion", -1);
    int64_t their_term = read_int(cmd, "term", -1);
    int64_t their_config_term = read_int(cmd, "configTerm", -1);
    repl__lock();
    if (bson_iter_init_find(&it, cmd, "config") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_t view;
        const uint8_t *data;
        uint32_t len;
        bson_iter_document(&it, &len, &data);
        bson_init_static(&view, data, len);
        if (!g.has_config && their_term > g.term)
            g.term = their_term;
        repl__take_up_newer_config(m, &view);
    }
    /* a requester with an older config gets ours back (it installs it) */
    bool send_config = g.has_config && their_version != -2 &&
                       repl_config_cmp_version(their_version, their_config_term, g.config.version,
                                               g.config.term) < 0;
    if (g.has_config && g.self >= 0 && their_term > g.topo.term) {
        repl_actions_t a = {0};
        repl_topo_observe_term(&g.topo, their_term, &a);
        repl__handle(&a);
    }
    BSON_APPEND_UTF8(reply, "set", m->opts->repl_set);
    BSON_APPEND_INT32(reply, "state", (int32_t)g.state);
    BSON_APPEND_INT64(reply, "term", g.has_config && g.self >= 0 ? g.topo.term : g.term);
    BSON_APPEND_INT64(reply, "configVersion", g.has_config ? g.config.version : -2);
    BSON_APPEND_INT64(reply, "configTerm", g.has_config ? g.config.term : -1);
    if (send_config)
        BSON_APPEND_DOCUMENT(reply, "config", &g.config.raw);
    repl_append_optime(reply, "opTime", g.applied);
    repl_append_optime(reply, "durableOpTime", g.applied);
    if (g.has_config && g.self >= 0) {
        repl_append_optime(reply, "lastCommittedOpTime", g.topo.commit_point);
        if (g.topo.primary >= 0)
            BSON_APPEND_INT32(reply, "primaryId", g.config.members[g.topo.primary].id);
        if (syncing_state(g.state) && g.topo.sync_source >= 0)
            BSON_APPEND_UTF8(reply, "syncingTo", g.config.members[g.topo.sync_source].host);
    }
    repl__unlock();
    return 0;
}

/* repl_request_votes -- the coordinator decides; the vote is durable before we answer. */
int repl_request_votes(micad_t *m, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    repl_vote_req_t req;
    memset(&req, 0, sizeof(req));
    req.term = read_int(cmd, "term", -1);
    req.candidate = (int)read_int(cmd, "candidateIndex", -1);
    req.config_version = read_int(cmd, "configVersion", -1);
    req.last_applied = read_optime(cmd, "lastAppliedOpTime");
    req.dry_run = bson_iter_init_find(&it, cmd, "dryRun") && bson_iter_as_bool(&it);
    req.config_term = read_int(cmd, "configTerm", -1);
    /* the vote is decided against the log we hold: a primary's (or a just-deposed one's)
     * newest entries reach the coordinator only every heartbeat interval otherwise, and a
     * candidate lacking them could be elected with our vote */
    repl_optime_t newest;
    status_t ost = STATUS_INIT;
    bool have_newest = repl_oplog_last(m, &newest, &ost) == 0 && newest.ts != 0;
    if (bson_iter_init_find(&it, cmd, "setName") && BSON_ITER_HOLDS_UTF8(&it))
        req.set_name = bson_iter_utf8(&it, NULL);
    repl__lock();
    if (!g.has_config || g.self < 0) {
        repl__unlock();
        return status_set(st, ERR_NotYetInitialized, "no replset config has been received");
    }
    repl_vote_reply_t r;
    repl_actions_t a = {0};
    if (have_newest && repl_optime_cmp(newest, g.topo.members[g.self].applied) > 0)
        g.topo.members[g.self].applied = newest; /* only what the vote compares against */
    repl_topo_process_vote(&g.topo, &req, &r, &a);
    repl__handle(&a); /* persists the vote (and any newer term) first */
    if (r.granted && !req.dry_run)
        reset_election_timer(); /* a vote given (Raft): the candidate gets its time to win */
    BSON_APPEND_INT64(reply, "term", r.term);
    BSON_APPEND_BOOL(reply, "voteGranted", r.granted);
    BSON_APPEND_UTF8(reply, "reason", r.reason);
    repl__unlock();
    return 0;
}

/* repl_update_position -- members' applied / durable optimes (the primary counts them). */
int repl_update_position(micad_t *m, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)reply;
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, cmd, "optimes") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return status_set(st, ERR_BadValue, "replSetUpdatePosition needs an 'optimes' array");
    repl__lock();
    if (!g.has_config || g.self < 0) {
        repl__unlock();
        return status_set(st, ERR_NotYetInitialized, "no replset config has been received");
    }
    repl__unlock();
    refresh_own_position(m);
    repl__lock();
    while (bson_iter_next(&arr)) {
        bson_t e;
        const uint8_t *data;
        uint32_t len;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
            continue;
        bson_iter_document(&arr, &len, &data);
        bson_init_static(&e, data, len);
        int64_t id = read_int(&e, "memberId", -1);
        for (int i = 0; i < g.config.nmembers; i++) {
            if (g.config.members[i].id != id)
                continue;
            repl_actions_t a = {0};
            repl_topo_heard_from(&g.topo, i, time_mono_us() / 1000);
            repl_topo_on_position(&g.topo, i, read_optime(&e, "appliedOpTime"),
                                  read_optime(&e, "durableOpTime"), &a);
            repl__handle(&a);
        }
    }
    pthread_cond_broadcast(&g.cond); /* w: <n> waiters count positions, not the commit point */
    repl__unlock();
    return 0;
}

/* ======================================================================== */
/* Write concern                                                             */
/* ======================================================================== */

/* replicated_on -- data-bearing members whose applied optime reaches o (lock held). */
static int replicated_on(repl_optime_t o)
{
    int n = 0;
    for (int i = 0; i < g.config.nmembers; i++)
        if (!g.config.members[i].arbiter_only && repl_optime_cmp(g.topo.members[i].applied, o) >= 0)
            n++;
    return n;
}

/*
 * wait_write_concern -- after a write on the primary: wait until the newest
 * oplog entry (at or after the write's own) is majority-committed, or held by
 * w members. Woken by every commit-point move and position report (the
 * state's condition variable), so waiters are served in batches; the 100 ms
 * cap on each wait is only a safety net. A step-down's sweep interrupts the
 * waiting write (InterruptedDueToReplStateChange 11602, as MongoDB 4.2+), killOp
 * too (11601); a primary found stepped down otherwise ends it with
 * PrimarySteppedDown 189; wtimeout with WriteConcernFailed 64.
 */
static int wait_write_concern(const micad_wc_t *wc, status_t *st)
{
    repl_optime_t target;
    micad_t *m = g.m;
    ST_RET(repl_oplog_last(m, &target, st));
    /* The newest visible entry can be {0, 0} while a later append is in flight: the
     * command's own entry is the floor, or a w: "majority" write would not wait. */
    repl_optime_t mine = repl_client_last_op();
    if (repl_optime_cmp(mine, target) > 0)
        target = mine;
    refresh_own_position(m);
    int64_t deadline = wc->wtimeout > 0 ? time_mono_us() + wc->wtimeout * 1000 : 0;
    int ret = 0;
    repl__lock();
    if (wc->w > 0 && wc->w > g.config.nmembers) {
        repl__unlock();
        return status_set(st, ERR_UnsatisfiableWriteConcern, "Not enough data-bearing nodes");
    }
    for (;;) {
        /* killOp, or a step-down's sweep (InterruptedDueToReplStateChange, which comes
         * before the state change is seen here, as in MongoDB); a writeConcernError */
        if ((ret = wire_curop_check(st)) != 0)
            break;
        if (g.stopping || g.topo.state != REPL_PRIMARY) {
            ret = status_set(st, ERR_PrimarySteppedDown,
                             "Primary stepped down while waiting for replication");
            break;
        }
        bool ok;
        if (wc->w == -2) {
            const repl_wc_mode_t *mode = repl_config_find_mode(&g.config, wc->mode);
            if (mode == NULL) {
                ret = status_set(st, ERR_UnknownReplWriteConcern,
                                 "No write concern mode named '%s' found in replica set "
                                 "configuration",
                                 wc->mode);
                break;
            }
            bool has[REPL_MAX_MEMBERS];
            for (int i = 0; i < g.config.nmembers; i++)
                has[i] = !g.config.members[i].arbiter_only &&
                         repl_optime_cmp(g.topo.members[i].applied, target) >= 0;
            ok = repl_wc_mode_satisfied(&g.config, mode, has);
        } else {
            ok = wc->w == -1 ? repl_topo_is_committed(&g.topo, target)
                             : replicated_on(target) >= wc->w;
        }
        if (ok)
            break;
        int64_t now = time_mono_us();
        if (deadline != 0 && now >= deadline) {
            ret = status_set(st, ERR_WriteConcernFailed, "waiting for replication timed out");
            break;
        }
        int64_t wait_us = 100000;
        if (deadline != 0 && deadline - now < wait_us)
            wait_us = deadline - now;
        int64_t wake_ms = time_now_ms() + wait_us / 1000 + 1;
        struct timespec ts = {wake_ms / 1000, (wake_ms % 1000) * 1000000};
        pthread_cond_timedwait(&g.cond, &g.lock, &ts);
    }
    repl__unlock();
    return ret;
}

/* repl__install_wc_waiter -- called at start-up on a member. */
void repl__install_wc_waiter(void)
{
    micad_db_set_wc_waiter(wait_write_concern);
}

/* ======================================================================== */
/* replSetStepDown / replSetFreeze                                           */
/* ======================================================================== */

/*
 * repl_step_down -- wait up to catch_up_secs for an electable secondary to
 * catch up, then step down (or, with force, step down anyway); this node will
 * not stand for step_down_secs. ExceededTimeLimit 262 when no one caught up.
 */
int repl_step_down(micad_t *m, int64_t step_down_secs, int64_t catch_up_secs, bool force,
                   status_t *st)
{
    if (!g.enabled)
        return status_set(st, ERR_NoReplicationEnabled, "not running with --replSet");
    if (catch_up_secs > step_down_secs)
        return status_set(st, ERR_BadValue,
                          "stepdown period must be longer than secondaryCatchUpPeriodSecs");
    refresh_own_position(m);
    int64_t deadline = time_mono_us() + catch_up_secs * 1000000;
    int ret;
    repl__lock();
    for (;;) {
        repl_actions_t a = {0};
        status_reset(st);
        bool past = time_mono_us() >= deadline;
        ret = repl_topo_step_down(&g.topo, force && past, &a, st);
        repl__handle(&a);
        if (ret != ERR_ExceededTimeLimit || past)
            break;
        int64_t wake_ms = time_now_ms() + 100;
        struct timespec ts = {wake_ms / 1000, (wake_ms % 1000) * 1000000};
        pthread_cond_timedwait(&g.cond, &g.lock, &ts);
    }
    if (ret == 0) {
        g.topo.frozen = true;
        g.frozen_until_us = time_mono_us() + step_down_secs * 1000000;
    }
    repl__unlock();
    return ret;
}

/* repl_freeze -- no candidacy for secs (0: thaw now). */
int repl_freeze(micad_t *m, int64_t secs, bson_t *reply, status_t *st)
{
    (void)m;
    if (!g.enabled)
        return status_set(st, ERR_NoReplicationEnabled, "not running with --replSet");
    repl__lock();
    if (!g.has_config || g.self < 0) {
        repl__unlock();
        return status_set(st, ERR_NotYetInitialized, "no replset config has been received");
    }
    int ret = repl_topo_freeze(&g.topo, secs > 0, st);
    if (ret == 0) {
        g.frozen_until_us = secs > 0 ? time_mono_us() + secs * 1000000 : 0;
        if (secs == 0)
            BSON_APPEND_UTF8(reply, "info", "unfreezing");
    }
    repl__unlock();
    return ret;
}

/* ======================================================================== */
/* For reconfig.c                                                            */
/* ======================================================================== */

/* repl__config_committed -- our config version reported by a majority of voters (lock held). */
bool repl__config_committed(void)
{
    if (!g.has_config || g.self < 0)
        return false;
    int have = 0;
    for (int i = 0; i < g.config.nmembers; i++) {
        if (g.config.members[i].votes == 0)
            continue;
        if (i == g.self || (g.topo.members[i].up && g.peer_version[i] == g.config.version))
            have++;
    }
    return have >= repl_config_majority(&g.config);
}
