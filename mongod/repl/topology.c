/*
 * topology.c -- the topology coordinator (see topology.h): member views,
 * terms and votes, dry-run and real elections, the commit point, sync-source
 * choice, step-down and freeze. Pure functions over repl_topo_t.
 */
#include "mongod/repl/topology.h"

#include <stdio.h>
#include <string.h>

static const repl_optime_t ZERO = {0, 0};

static void act(repl_actions_t *a, unsigned flag)
{
    a->flags |= flag;
}

/* is_voter / is_electable -- by the config. */
static bool is_voter(const repl_topo_t *t, int m)
{
    return t->config->members[m].votes > 0;
}

static bool is_electable(const repl_topo_t *t, int m)
{
    const repl_member_cfg_t *c = &t->config->members[m];
    return c->votes > 0 && c->priority > 0 && !c->arbiter_only;
}

void repl_topo_init(repl_topo_t *t, const repl_config_t *config, int self, int64_t term,
                    repl_optime_t applied, repl_optime_t durable)
{
    memset(t, 0, sizeof(*t));
    t->config = config;
    t->self = self;
    t->term = term;
    t->voted_term = -1;
    t->voted_for = -1;
    t->primary = -1;
    t->sync_source = -1;
    /*
     * A member with an empty oplog holds none of the set's history: it syncs in
     * STARTUP2 (it votes, but cannot stand) until repl_topo_on_initial_sync_done.
     */
    if (config->members[self].arbiter_only)
        t->state = REPL_ARBITER;
    else
        t->state = applied.ts == 0 ? REPL_STARTUP2 : REPL_SECONDARY;
    for (int i = 0; i < config->nmembers; i++) {
        t->members[i].state = REPL_UNKNOWN;
        t->members[i].ping_ms = -1;
    }
    t->members[self].up = true;
    t->members[self].state = t->state;
    t->members[self].term = term;
    t->members[self].applied = applied;
    t->members[self].durable = durable;
}

int repl_topo_majority(const repl_topo_t *t)
{
    return repl_config_majority(t->config);
}

/* set_state -- and tell the caller. */
static void set_state(repl_topo_t *t, repl_member_state_t s, repl_actions_t *a)
{
    if (t->state != s)
        act(a, REPL_ACT_STATE_CHANGED);
    t->state = s;
    t->members[t->self].state = s;
}

/* step_down -- leave PRIMARY (or a candidacy). */
static void step_down(repl_topo_t *t, const char *why, repl_actions_t *a)
{
    if (t->state == REPL_PRIMARY) {
        act(a, REPL_ACT_STEP_DOWN);
        a->reason = why;
    }
    t->candidate = false;
    t->term_started = false;
    if (t->primary == t->self)
        t->primary = -1;
    if (t->state == REPL_PRIMARY)
        set_state(t, REPL_SECONDARY, a);
}

/*
 * adopt_term -- a higher term seen anywhere: persist it, and a primary or a
 * candidate of an older term stands down.
 */
static void adopt_term(repl_topo_t *t, int64_t term, repl_actions_t *a)
{
    if (term <= t->term)
        return;
    if (t->state == REPL_PRIMARY)
        t->elect_metrics.step_downs_higher_term++;
    t->term = term;
    t->members[t->self].term = term;
    act(a, REPL_ACT_PERSIST_TERM);
    a->term = term;
    step_down(t, "a higher term was seen", a);
    /* the primary we knew was one of an older term: the new one makes itself known by its
     * heartbeats (until then nothing, positions included, goes to the deposed one) */
    if (t->primary >= 0 && t->members[t->primary].term < term) {
        t->primary = -1;
        act(a, REPL_ACT_STATE_CHANGED);
    }
}

bool repl_topo_on_truncated(repl_topo_t *t, repl_optime_t common)
{
    if (repl_optime_cmp(common, t->commit_point) < 0)
        return false; /* a majority-committed entry is never rolled back */
    t->members[t->self].applied = common;
    t->members[t->self].durable = common;
    return true;
}

void repl_topo_on_initial_sync_done(repl_topo_t *t, repl_actions_t *a)
{
    if (t->state == REPL_STARTUP2)
        set_state(t, REPL_SECONDARY, a);
}

/* ---- the commit point ---------------------------------------------------- */

/*
 * majority_durable -- the highest optime that a majority of voters hold
 * durably: sort the voters' durable optimes descending and take the
 * majority-th. Arbiters vote but hold no data, so they never count here
 * (MongoDB: writeMajorityCount excludes arbiters -- a set whose majority
 * needs an arbiter cannot commit).
 */
static repl_optime_t majority_durable(const repl_topo_t *t)
{
    repl_optime_t v[REPL_MAX_MEMBERS];
    int n = 0;
    for (int i = 0; i < t->config->nmembers; i++) {
        if (!is_voter(t, i) || t->config->members[i].arbiter_only)
            continue;
        repl_optime_t o = t->members[i].durable;
        /*
         * Only an optime of our own term says which of our entries the member holds. One of
         * a later term names a log that a newer primary wrote (it may lack our latest
         * entries, though it compares above them), one of an earlier term holds none of
         * ours: both count as holding nothing (MongoDB's haveNumNodesReachedOpTime rule). A
         * deposed primary that had not yet heard of the new term could otherwise count a
         * member of the new term as holding its unreplicated writes and acknowledge them.
         */
        if (o.term != t->term)
            o = ZERO;
        int j = n++;
        while (j > 0 && repl_optime_cmp(v[j - 1], o) < 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = o;
    }
    int need = repl_topo_majority(t);
    if (n < need)
        return ZERO;
    return v[need - 1];
}

/* advance_commit_point -- only forward; on a primary only within its own term. */
static void advance_commit_point(repl_topo_t *t, repl_actions_t *a)
{
    if (t->state != REPL_PRIMARY || !t->term_started)
        return;
    repl_optime_t cand = majority_durable(t);
    /* Raft: a leader commits only entries of its own term (older ones come along) */
    if (cand.term != t->term || repl_optime_cmp(cand, t->term_start) < 0)
        return;
    if (repl_optime_cmp(cand, t->commit_point) > 0) {
        t->commit_point = cand;
        act(a, REPL_ACT_COMMIT_POINT);
    }
}

void repl_topo_on_position(repl_topo_t *t, int m, repl_optime_t applied, repl_optime_t durable,
                           repl_actions_t *a)
{
    if (m < 0 || m >= t->config->nmembers)
        return;
    repl_member_view_t *v = &t->members[m];
    if (repl_optime_cmp(applied, v->applied) > 0)
        v->applied = applied;
    if (repl_optime_cmp(durable, v->durable) > 0)
        v->durable = durable;
    advance_commit_point(t, a);
}

/*
 * repl_topo_learn_commit_point -- a secondary takes the commit point it hears
 * (from the primary or its sync source), but never beyond what it has applied
 * in that term: a commit point names entries this node may not hold yet.
 */
void repl_topo_learn_commit_point(repl_topo_t *t, repl_optime_t cp, int64_t cp_from_term,
                                  repl_actions_t *a)
{
    if (t->state == REPL_PRIMARY || cp_from_term < t->term)
        return;
    repl_optime_t mine = t->members[t->self].applied;
    if (repl_optime_cmp(cp, mine) > 0) {
        if (cp.term != mine.term)
            return; /* our log may diverge from it: wait until we hold that term */
        cp = mine;
    }
    if (repl_optime_cmp(cp, t->commit_point) > 0) {
        t->commit_point = cp;
        act(a, REPL_ACT_COMMIT_POINT);
    }
}

bool repl_topo_is_committed(const repl_topo_t *t, repl_optime_t o)
{
    return repl_optime_cmp(o, t->commit_point) <= 0 && repl_optime_cmp(t->commit_point, ZERO) > 0;
}

/* ---- heartbeats ---------------------------------------------------------- */

void repl_topo_on_heartbeat(repl_topo_t *t, int m, const repl_hb_reply_t *r, repl_actions_t *a)
{
    if (m < 0 || m >= t->config->nmembers || m == t->self)
        return;
    repl_member_view_t *v = &t->members[m];
    v->up = true;
    v->hb_failures = 0;
    v->state = r->state;
    v->term = r->term;
    v->ping_ms = r->ping_ms;
    if (repl_optime_cmp(r->applied, v->applied) > 0)
        v->applied = r->applied;
    if (repl_optime_cmp(r->durable, v->durable) > 0)
        v->durable = r->durable;
    adopt_term(t, r->term, a);
    if (r->state == REPL_PRIMARY && r->term >= t->term) {
        if (t->primary != m) {
            t->primary = m;
            act(a, REPL_ACT_STATE_CHANGED);
        }
        repl_topo_learn_commit_point(t, r->commit_point, r->term, a);
    } else if (t->primary == m) {
        t->primary = -1;
        act(a, REPL_ACT_STATE_CHANGED);
    }
    advance_commit_point(t, a);
    if (t->state == REPL_SECONDARY || t->state == REPL_STARTUP2) {
        int s = repl_topo_choose_sync_source(t);
        if (s != t->sync_source) {
            t->sync_source = s;
            a->sync_source = s;
            act(a, REPL_ACT_SYNC_SOURCE);
        }
    }
}

void repl_topo_hb_start(repl_topo_t *t, int m, int64_t now_ms)
{
    if (m < 0 || m >= t->config->nmembers)
        return;
    t->members[m].hb_start_ms = now_ms;
    t->members[m].hb_failures = 0;
}

int64_t repl_topo_hb_deadline_ms(const repl_topo_t *t, int m)
{
    return t->members[m].hb_start_ms + t->config->heartbeat_timeout_secs * 1000;
}

bool repl_topo_on_heartbeat_failed(repl_topo_t *t, int m, int64_t now_ms, repl_actions_t *a)
{
    if (m < 0 || m >= t->config->nmembers || m == t->self)
        return false;
    repl_member_view_t *v = &t->members[m];
    v->hb_failures++;
    if (v->hb_failures <= REPL_HB_MAX_RETRIES && now_ms < repl_topo_hb_deadline_ms(t, m))
        return true; /* retry at once; the member keeps its state meanwhile */
    bool was = v->up;
    v->up = false;
    v->state = REPL_DOWN;
    if (t->primary == m) {
        t->primary = -1;
        act(a, REPL_ACT_STATE_CHANGED);
    }
    if (was && t->sync_source == m) {
        t->sync_source = repl_topo_choose_sync_source(t);
        a->sync_source = t->sync_source;
        act(a, REPL_ACT_SYNC_SOURCE);
    }
    return false;
}

bool repl_topo_hb_resets_election_timer(const repl_topo_t *t, const repl_hb_reply_t *r)
{
    return r->state == REPL_PRIMARY && r->term == t->term;
}

void repl_topo_heard_from(repl_topo_t *t, int m, int64_t now_ms)
{
    if (m >= 0 && m < t->config->nmembers)
        t->members[m].heard_ms = now_ms;
}

void repl_topo_on_liveness_check(repl_topo_t *t, int64_t now_ms, repl_actions_t *a)
{
    if (t->state != REPL_PRIMARY)
        return;
    int up = 0;
    for (int i = 0; i < t->config->nmembers; i++) {
        repl_member_view_t *v = &t->members[i];
        if (i != t->self && v->up && v->heard_ms != 0 &&
            now_ms - v->heard_ms >= t->config->election_timeout_ms) {
            v->up = false; /* no response within election timeout period */
            v->state = REPL_DOWN;
        }
        if (is_voter(t, i) && (i == t->self || v->up))
            up++;
    }
    if (up < repl_topo_majority(t))
        step_down(t, "the primary cannot see a majority of the set", a);
}

/* ---- elections ----------------------------------------------------------- */

/* start_round -- ask the voters; the dry run uses term + 1 without taking it. */
static void start_round(repl_topo_t *t, bool dry_run, repl_actions_t *a)
{
    t->candidate = true;
    t->dry_run = dry_run;
    t->votes = 1; /* our own */
    memset(t->voted_by, 0, sizeof(t->voted_by));
    t->voted_by[t->self] = true;
    a->vote_req.term = dry_run ? t->term + 1 : t->term;
    a->vote_req.candidate = t->self;
    a->vote_req.config_version = t->config->version;
    a->vote_req.last_applied = t->members[t->self].applied;
    a->vote_req.dry_run = dry_run;
    act(a, dry_run ? REPL_ACT_START_DRY_RUN : REPL_ACT_START_ELECTION);
}

/*
 * may_stand -- an electable, unfrozen secondary that holds at least one entry. A member that
 * took its config from a heartbeat starts with an empty oplog, while the initiator holds its
 * "initiating set" no-op: elected first, the empty one would leave the initiator diverged
 * (no rollback yet). MongoDB's such member is in initial sync (STARTUP2) and cannot stand.
 */
static bool may_stand(const repl_topo_t *t)
{
    return t->state == REPL_SECONDARY && is_electable(t, t->self) && !t->frozen &&
           t->members[t->self].applied.ts != 0;
}

/* stand_for -- a candidacy starts: count it under its reason. */
static void stand_for(repl_topo_t *t, repl_elect_reason_t why)
{
    t->elect_reason = why;
    t->elect_metrics.called[why]++;
}

/* win -- a majority of votes; with one voter, our own. */
static void check_win(repl_topo_t *t, repl_actions_t *a)
{
    if (!t->candidate || t->votes < repl_topo_majority(t))
        return;
    if (t->dry_run) {
        /* the real round: take the term and vote for ourselves, durably, first */
        t->term++;
        t->members[t->self].term = t->term;
        t->voted_term = t->term;
        t->voted_for = t->self;
        act(a, REPL_ACT_PERSIST_TERM);
        a->term = t->term;
        start_round(t, false, a);
        if (t->votes >= repl_topo_majority(t))
            check_win(t, a);
        return;
    }
    t->candidate = false;
    t->primary = t->self;
    t->term_started = false;
    t->elect_metrics.successful[t->elect_reason]++;
    set_state(t, REPL_PRIMARY, a);
    act(a, REPL_ACT_BECOME_PRIMARY);
    a->term = t->term;
    t->sync_source = -1;
}

void repl_topo_on_election_timeout(repl_topo_t *t, repl_actions_t *a)
{
    if (!may_stand(t) || t->candidate)
        return;
    stand_for(t, REPL_ELECT_TIMEOUT);
    start_round(t, true, a);
    check_win(t, a);
}

/* healthy_primary_at_least -- a primary we see up whose priority is >= the candidate's, or -1. */
static int healthy_primary_at_least(const repl_topo_t *t, int candidate)
{
    for (int i = 0; i < t->config->nmembers; i++) {
        if (i == t->self || i == candidate || !t->members[i].up ||
            t->members[i].state != REPL_PRIMARY)
            continue;
        if (t->config->members[i].priority >= t->config->members[candidate].priority)
            return i;
    }
    return -1;
}

void repl_topo_process_vote(repl_topo_t *t, const repl_vote_req_t *req, repl_vote_reply_t *reply,
                            repl_actions_t *a)
{
    reply->granted = false;
    reply->reason[0] = '\0';
    if (!req->dry_run)
        adopt_term(t, req->term, a);
    reply->term = t->term;
    const repl_optime_t mine = t->members[t->self].applied;
    if (repl_config_cmp_version(req->config_version, req->config_term, t->config->version,
                                t->config->term) < 0) {
        snprintf(reply->reason, sizeof(reply->reason),
                 "candidate's config with {version: %lld, term: %lld} is older than mine with "
                 "{version: %lld, term: %lld}",
                 (long long)req->config_version, (long long)req->config_term,
                 (long long)t->config->version, (long long)t->config->term);
    } else if (req->term < t->term) {
        snprintf(reply->reason, sizeof(reply->reason),
                 "candidate's term (%lld) is lower than mine (%lld)", (long long)req->term,
                 (long long)t->term);
    } else if (req->set_name != NULL && strcmp(req->set_name, t->config->set_name) != 0) {
        snprintf(reply->reason, sizeof(reply->reason),
                 "candidate's set name (%s) differs from mine (%s)", req->set_name,
                 t->config->set_name);
    } else if (req->candidate < 0 || req->candidate >= t->config->nmembers) {
        snprintf(reply->reason, sizeof(reply->reason), "candidate's index (%d) is not in my config",
                 req->candidate);
    } else if (repl_optime_cmp(req->last_applied, mine) < 0) {
        snprintf(reply->reason, sizeof(reply->reason),
                 "candidate's data is staler than mine. candidate's last applied OpTime: "
                 "{ ts: Timestamp(%u, %u), t: %lld }, my last applied OpTime: "
                 "{ ts: Timestamp(%u, %u), t: %lld }",
                 (unsigned)(req->last_applied.ts >> 32), (unsigned)req->last_applied.ts,
                 (long long)req->last_applied.term, (unsigned)(mine.ts >> 32), (unsigned)mine.ts,
                 (long long)mine.term);
    } else if (!req->dry_run && t->voted_term == req->term) {
        int v = t->voted_for;
        snprintf(reply->reason, sizeof(reply->reason),
                 "already voted for another candidate (%s) this term (%lld)",
                 v >= 0 && v < t->config->nmembers ? t->config->members[v].host : "?",
                 (long long)t->voted_term);
    } else {
        int better = -1;
        bool same_config = repl_config_cmp_version(req->config_version, req->config_term,
                                                   t->config->version, t->config->term) == 0;
        if (same_config && t->config->members[t->self].arbiter_only)
            better = healthy_primary_at_least(t, req->candidate);
        if (better >= 0) {
            snprintf(reply->reason, sizeof(reply->reason),
                     "can see a healthy primary (%s) of equal or greater priority",
                     t->config->members[better].host);
            return;
        }
        reply->granted = true;
        if (!req->dry_run) {
            t->voted_term = req->term;
            t->voted_for = req->candidate;
            act(a, REPL_ACT_PERSIST_TERM); /* the vote is durable before the answer goes */
            a->term = t->term;
        }
    }
}

void repl_topo_on_vote_reply(repl_topo_t *t, int m, const repl_vote_reply_t *r, repl_actions_t *a)
{
    if (r->term > t->term && !r->granted) {
        adopt_term(t, r->term, a);
        t->candidate = false;
        return;
    }
    if (!t->candidate || m < 0 || m >= t->config->nmembers || t->voted_by[m] || !r->granted ||
        !is_voter(t, m))
        return;
    t->voted_by[m] = true;
    t->votes++;
    check_win(t, a);
}

void repl_topo_on_term_noop(repl_topo_t *t, repl_optime_t at, repl_actions_t *a)
{
    if (t->state != REPL_PRIMARY || at.term != t->term)
        return;
    t->term_start = at;
    t->term_started = true;
    repl_topo_on_position(t, t->self, at, at, a);
}

/* ---- sync source ---------------------------------------------------------- */

/*
 * repl_topo_choose_sync_source -- a member that is up, holds data, is ahead
 * of us and not ourselves: the primary unless chaining is allowed, in which
 * case the closest (lowest ping) such member, the primary on a tie.
 */
int repl_topo_choose_sync_source(const repl_topo_t *t)
{
    repl_optime_t mine = t->members[t->self].applied;
    if (!t->config->chaining_allowed) {
        int p = t->primary;
        if (p >= 0 && p != t->self && t->members[p].up &&
            repl_optime_cmp(t->members[p].applied, mine) >= 0)
            return p;
        return -1;
    }
    int best = -1;
    for (int i = 0; i < t->config->nmembers; i++) {
        const repl_member_view_t *v = &t->members[i];
        if (i == t->self || !v->up || t->config->members[i].arbiter_only ||
            (v->state != REPL_PRIMARY && v->state != REPL_SECONDARY) ||
            (v->state == REPL_PRIMARY && i != t->primary) || /* a deposed, stale primary */
            repl_optime_cmp(v->applied, mine) <= 0)
            continue;
        if (best < 0 || v->ping_ms < t->members[best].ping_ms ||
            (v->ping_ms == t->members[best].ping_ms && v->state == REPL_PRIMARY))
            best = i;
    }
    if (best < 0 && t->primary >= 0 && t->primary != t->self && t->members[t->primary].up)
        return t->primary; /* nothing ahead: wait on the primary */
    return best;
}

/* ---- operator commands ---------------------------------------------------- */

int repl_topo_step_down(repl_topo_t *t, bool force, repl_actions_t *a, status_t *st)
{
    if (t->state != REPL_PRIMARY)
        return status_set(st, ERR_NotWritablePrimary, "not primary so can't step down");
    if (!force) {
        bool caught_up = false;
        for (int i = 0; i < t->config->nmembers; i++)
            if (i != t->self && is_electable(t, i) && t->members[i].up &&
                repl_optime_cmp(t->members[i].applied, t->members[t->self].applied) >= 0)
                caught_up = true;
        if (!caught_up)
            return status_set(st, ERR_ExceededTimeLimit,
                              "No electable secondaries caught up as of now");
    }
    step_down(t, "replSetStepDown", a);
    return 0;
}

int repl_topo_freeze(repl_topo_t *t, bool on, status_t *st)
{
    if (on && t->state == REPL_PRIMARY)
        return status_set(st, ERR_NotSecondary,
                          "cannot freeze node when primary or running for "
                          "election. state: Primary");
    t->frozen = on;
    return 0;
}

bool repl_topo_priority_takeover(const repl_topo_t *t)
{
    if (!may_stand(t) || t->primary < 0 || t->primary == t->self)
        return false;
    const repl_member_view_t *p = &t->members[t->primary];
    if (!p->up)
        return false;
    if (t->config->members[t->self].priority <= t->config->members[t->primary].priority)
        return false;
    return repl_optime_cmp(t->members[t->self].applied, p->applied) >= 0;
}

void repl_topo_start_takeover(repl_topo_t *t, repl_actions_t *a)
{
    if (!may_stand(t) || t->candidate)
        return;
    stand_for(t, REPL_ELECT_PRIORITY_TAKEOVER);
    start_round(t, true, a);
    check_win(t, a);
}

void repl_topo_observe_term(repl_topo_t *t, int64_t term, repl_actions_t *a)
{
    adopt_term(t, term, a);
}

/* ---- reconfiguration ------------------------------------------------------ */

/*
 * repl_topo_reconfig -- t->config now points at a new configuration in which
 * this node is at self (-1: removed). Member views follow their _id to the
 * new index (old_ids[i] was the _id at old index i); members new to the set
 * start unknown. The term, the vote, the commit point and a primary's role
 * stay; a removed node goes REMOVED, a primary that is no longer electable
 * steps down; a candidacy in progress is dropped (its votes counted another
 * config).
 */
void repl_topo_reconfig(repl_topo_t *t, const int32_t *old_ids, int old_n, int self,
                        repl_optime_t mine, repl_actions_t *a)
{
    repl_member_view_t old[REPL_MAX_MEMBERS];
    memcpy(old, t->members, sizeof(old));
    int old_primary = t->primary, old_source = t->sync_source;
    const repl_config_t *c = t->config;
    int32_t primary_id = old_primary >= 0 && old_primary < old_n ? old_ids[old_primary] : -1;
    int32_t source_id = old_source >= 0 && old_source < old_n ? old_ids[old_source] : -1;
    t->candidate = false;
    t->primary = -1;
    t->sync_source = -1;
    memset(t->voted_by, 0, sizeof(t->voted_by));
    for (int i = 0; i < REPL_MAX_MEMBERS; i++) {
        memset(&t->members[i], 0, sizeof(t->members[i]));
        t->members[i].state = REPL_UNKNOWN;
        t->members[i].ping_ms = -1;
    }
    for (int i = 0; i < c->nmembers; i++) {
        for (int j = 0; j < old_n; j++) {
            if (old_ids[j] != c->members[i].id)
                continue;
            t->members[i] = old[j];
            if (old_ids[j] == primary_id)
                t->primary = i;
            if (old_ids[j] == source_id)
                t->sync_source = i;
        }
    }
    if (self < 0) {
        if (t->state == REPL_PRIMARY) {
            act(a, REPL_ACT_STEP_DOWN);
            a->reason = "this node was removed from the replica set configuration";
        }
        t->self = -1;
        t->term_started = false;
        t->primary = -1;
        if (t->state != REPL_REMOVED)
            act(a, REPL_ACT_STATE_CHANGED);
        t->state = REPL_REMOVED;
        return;
    }
    repl_member_view_t *me = &t->members[self];
    bool was_removed = t->state == REPL_REMOVED || t->self < 0;
    if (repl_optime_cmp(mine, me->applied) > 0)
        me->applied = mine;
    if (repl_optime_cmp(mine, me->durable) > 0)
        me->durable = mine;
    t->self = self;
    me->up = true;
    me->term = t->term;
    if (was_removed || t->state == REPL_STARTUP)
        set_state(t,
                  c->members[self].arbiter_only ? REPL_ARBITER
                  : me->applied.ts == 0         ? REPL_STARTUP2
                                                : REPL_SECONDARY,
                  a);
    me->state = t->state;
    if (t->state == REPL_PRIMARY) {
        t->primary = self;
        if (!is_electable(t, self))
            step_down(t, "this node is not electable in the new configuration", a);
    } else if (t->primary == self) {
        t->primary = -1;
    }
    act(a, REPL_ACT_STATE_CHANGED);
}

/*
 * repl_topo_step_up -- replSetStepUp: an electable, unfrozen secondary stands
 * now; with skip_dry_run it takes term + 1 and votes for itself at once (the
 * real round), otherwise a dry run comes first. A primary has nothing to do;
 * a candidate already standing goes on. CommandFailed otherwise.
 */
int repl_topo_step_up(repl_topo_t *t, bool skip_dry_run, repl_actions_t *a, status_t *st)
{
    if (t->state == REPL_PRIMARY || t->candidate)
        return 0;
    if (!may_stand(t))
        return status_set(st, ERR_CommandFailed, "Election failed.");
    stand_for(t, REPL_ELECT_STEP_UP);
    if (skip_dry_run) {
        t->term++;
        t->members[t->self].term = t->term;
        t->voted_term = t->term;
        t->voted_for = t->self;
        act(a, REPL_ACT_PERSIST_TERM);
        a->term = t->term;
        start_round(t, false, a);
    } else {
        start_round(t, true, a);
    }
    check_win(t, a);
    return 0;
}
