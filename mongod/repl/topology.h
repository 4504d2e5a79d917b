/*
 * topology.h -- the topology coordinator: replication's decisions as a pure
 * state machine (MongoDB's TopologyCoordinator, Raft's rules). It is fed with
 * events -- heartbeat replies and failures, vote requests and replies,
 * position reports, timer expiries, operator commands -- and answers with
 * actions for the I/O layer to carry out (persist a term or a vote, start an
 * election round, write the new term's no-op, step down, change sync
 * source, wake write-concern waiters). No sockets, clocks, threads or
 * storage: time passes only through the timer events the caller sends.
 *
 * Invariants it keeps (tests/unit/repl/test_topology.c checks each):
 *   - at most one vote per term, persisted before it is granted;
 *   - a vote only for a log at least as up to date as ours (term, then ts);
 *   - a higher term seen anywhere makes a primary step down at once;
 *   - the commit point only moves forward, only on a majority of voters'
 *     durable optimes, and on a primary only to optimes of its own term
 *     (after the new term's no-op), so at most one node can ever satisfy
 *     w: "majority" for a given write;
 *   - a primary that cannot see a majority of voters for an election
 *     timeout steps down.
 */
#ifndef MICA_MONGOD_REPL_TOPOLOGY_H
#define MICA_MONGOD_REPL_TOPOLOGY_H

#include "mongod/repl/config.h"

/* Member states (MongoDB's numbers, replSetGetStatus `state`). */
typedef enum repl_member_state {
    REPL_STARTUP = 0,
    REPL_PRIMARY = 1,
    REPL_SECONDARY = 2,
    REPL_RECOVERING = 3,
    REPL_STARTUP2 = 5,
    REPL_UNKNOWN = 6,
    REPL_ARBITER = 7,
    REPL_DOWN = 8,
    REPL_ROLLBACK = 9,
    REPL_REMOVED = 10,
} repl_member_state_t;

/* repl_optime_t -- (term, timestamp): ordered by term, then timestamp. */
typedef struct repl_optime {
    int64_t term;
    uint64_t ts;
} repl_optime_t;

/* repl_optime_cmp -- <0, 0, >0 as a is before, equal to, after b. */
static inline int repl_optime_cmp(repl_optime_t a, repl_optime_t b)
{
    if (a.term != b.term)
        return a.term < b.term ? -1 : 1;
    return a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0;
}

/* What the coordinator knows of one member (self included, at config index). */
typedef struct repl_member_view {
    bool up;                   /* the last heartbeat succeeded (self: always) */
    repl_member_state_t state; /* as the member reported it */
    int64_t term;              /* the member's term as reported */
    repl_optime_t applied, durable;
    int64_t ping_ms; /* round trip of the last heartbeat (sync-source choice) */
    /* heartbeat liveness (MongoDB's PingStats): the current heartbeat's first attempt */
    int64_t hb_start_ms; /* when it started (0: none yet) */
    int hb_failures;     /* attempts failed since then */
    int64_t heard_ms;    /* when it last answered us (the primary's liveness check) */
} repl_member_view_t;

/* REPL_HB_MAX_RETRIES -- a failed heartbeat is retried this many times (MongoDB's 2). */
#define REPL_HB_MAX_RETRIES 2

/* A heartbeat reply's facts (replSetHeartbeat). */
typedef struct repl_hb_reply {
    repl_member_state_t state;
    int64_t term;
    repl_optime_t applied, durable;
    repl_optime_t commit_point; /* the sender's lastCommittedOpTime */
    int64_t config_version;
    int64_t ping_ms;
} repl_hb_reply_t;

/* A vote request (replSetRequestVotes) and its answer. */
typedef struct repl_vote_req {
    int64_t term;
    int candidate; /* config index */
    int64_t config_version;
    repl_optime_t last_applied;
    bool dry_run;
    int64_t config_term;  /* the candidate's config term (-1: none, as an uninitialised one) */
    const char *set_name; /* the candidate's set name; NULL: not given (not checked) */
} repl_vote_req_t;

typedef struct repl_vote_reply {
    int64_t term; /* the voter's term */
    bool granted;
    char reason[256]; /* why not (MongoDB's wording), "" when granted */
} repl_vote_reply_t;

/* Actions, as bits: the caller carries out every bit set, in this order. */
enum {
    REPL_ACT_PERSIST_TERM = 1u << 0,  /* write `term` (and the vote) durably before anything else */
    REPL_ACT_STEP_DOWN = 1u << 1,     /* stop accepting writes, interrupt them (11602) */
    REPL_ACT_START_DRY_RUN = 1u << 2, /* ask every voter with vote_req (dry_run) */
    REPL_ACT_START_ELECTION = 1u << 3, /* ask every voter with vote_req (real, term persisted) */
    REPL_ACT_BECOME_PRIMARY = 1u << 4, /* write the no-op in `term`, then report it */
    REPL_ACT_COMMIT_POINT = 1u << 5,   /* the commit point moved: stable ts, wake waiters */
    REPL_ACT_STATE_CHANGED = 1u << 6,  /* bump topologyVersion, wake awaitable hellos */
    REPL_ACT_SYNC_SOURCE = 1u << 7,    /* fetch from `sync_source` now (-1: none) */
};

typedef struct repl_actions {
    unsigned flags;
    int64_t term;
    repl_vote_req_t vote_req;
    int sync_source;
    const char *reason; /* for the log */
} repl_actions_t;

/*
 * repl_elect_reason_t -- why this node stood, as serverStatus().electionMetrics
 * counts it (MongoDB's StartElectionReasonEnum, less the catch-up and freeze
 * takeovers this node never starts).
 */
typedef enum repl_elect_reason {
    REPL_ELECT_STEP_UP,           /* replSetStepUp: stepUpCmd */
    REPL_ELECT_PRIORITY_TAKEOVER, /* a higher priority than the primary's: priorityTakeover */
    REPL_ELECT_TIMEOUT,           /* no primary heard within the timeout: electionTimeout */
    REPL_ELECT_NREASONS
} repl_elect_reason_t;

/* repl_elect_metrics_t -- elections started (called) and won (successful) per reason. */
typedef struct repl_elect_metrics {
    int64_t called[REPL_ELECT_NREASONS];
    int64_t successful[REPL_ELECT_NREASONS];
    int64_t step_downs_higher_term; /* numStepDownsCausedByHigherTerm */
} repl_elect_metrics_t;

/* repl_topo_t -- the coordinator. The config is borrowed and must outlive it. */
typedef struct repl_topo {
    const repl_config_t *config;
    int self;
    repl_member_state_t state;
    int64_t term;
    int64_t voted_term; /* the term of our last vote (-1: none) */
    int voted_for;      /* whom we voted for in voted_term */
    int primary;        /* the primary we know of, -1 */
    repl_optime_t commit_point;
    repl_optime_t term_start; /* a primary's first optime in its term (its no-op) */
    bool term_started;        /* the no-op is written: the commit point may move */
    repl_member_view_t members[REPL_MAX_MEMBERS];
    /* elections */
    bool candidate;
    bool dry_run;
    int votes;
    bool voted_by[REPL_MAX_MEMBERS];
    bool frozen;
    int sync_source;
    repl_elect_reason_t elect_reason; /* of the running candidacy */
    repl_elect_metrics_t elect_metrics;
} repl_topo_t;

/* repl_topo_init -- a member of config at index self, in term, with its own applied optime. */
void repl_topo_init(repl_topo_t *t, const repl_config_t *config, int self, int64_t term,
                    repl_optime_t applied, repl_optime_t durable);

/* repl_topo_majority -- voters needed for a majority of config. */
int repl_topo_majority(const repl_topo_t *t);

/*
 * Heartbeats as MongoDB's (TopologyCoordinator::processHeartbeatResponse):
 * one heartbeat at a time per member; its first attempt starts the clock
 * (repl_topo_hb_start) and every attempt's deadline is heartbeatTimeoutSecs
 * after that start (repl_topo_hb_deadline_ms). A failed attempt is retried at
 * once while retries are left (REPL_HB_MAX_RETRIES) and the timeout has not
 * passed; only then is the member marked down. A success marks it up and the
 * next heartbeat starts heartbeatIntervalMillis later.
 */
void repl_topo_hb_start(repl_topo_t *t, int m, int64_t now_ms);
int64_t repl_topo_hb_deadline_ms(const repl_topo_t *t, int m);

/* repl_topo_on_heartbeat -- member m answered a heartbeat with r. */
void repl_topo_on_heartbeat(repl_topo_t *t, int m, const repl_hb_reply_t *r, repl_actions_t *a);
/*
 * repl_topo_on_heartbeat_failed -- an attempt to member m failed at now_ms:
 * true when it should be retried at once (the member's view unchanged);
 * false when the heartbeat has failed (retries used up or timeout passed):
 * the member is down, a lost primary or sync source is forgotten.
 */
bool repl_topo_on_heartbeat_failed(repl_topo_t *t, int m, int64_t now_ms, repl_actions_t *a);
/*
 * repl_topo_hb_resets_election_timer -- after on_heartbeat(r): whether the
 * reply postpones our election (MongoDB: a reply from a primary whose term,
 * once adopted, is ours). Nothing else does but a vote we grant.
 */
bool repl_topo_hb_resets_election_timer(const repl_topo_t *t, const repl_hb_reply_t *r);

/*
 * repl_topo_on_election_timeout -- the election timer fired (no word from a
 * primary of our term for electionTimeoutMillis + jitter): a secondary that
 * may stand starts a dry run, whatever it believes of the primary's health
 * (MongoDB: the timer alone decides; a live primary keeps postponing it).
 */
void repl_topo_on_election_timeout(repl_topo_t *t, repl_actions_t *a);
/*
 * repl_topo_on_liveness_check -- the primary's check (MongoDB's
 * checkMemberTimeouts): a member not heard from for an election timeout is
 * marked down; a primary that then sees fewer than a majority of voters
 * (itself included) steps down.
 */
void repl_topo_on_liveness_check(repl_topo_t *t, int64_t now_ms, repl_actions_t *a);
/* repl_topo_heard_from -- member m answered us at now_ms (a heartbeat, a position report). */
void repl_topo_heard_from(repl_topo_t *t, int m, int64_t now_ms);

/*
 * repl_topo_process_vote -- answer a vote request with MongoDB's rules
 * (TopologyCoordinator::processReplSetRequestVotes), in its order: a real
 * request's higher term is adopted first (persist); then refused when the
 * candidate's config (version, term) is older than ours, its term lower than
 * ours, its set name another, its last applied optime before ours (term, then
 * timestamp), for a real request when we already voted in that term (for
 * anyone), or when we are an arbiter that sees a healthy primary of equal or
 * greater priority (same config only). Dry runs are answered by any member,
 * a primary included, and take no term and no vote.
 */
void repl_topo_process_vote(repl_topo_t *t, const repl_vote_req_t *req, repl_vote_reply_t *reply,
                            repl_actions_t *a);
/* repl_topo_on_vote_reply -- voter m answered our (dry-run or real) request. */
void repl_topo_on_vote_reply(repl_topo_t *t, int m, const repl_vote_reply_t *r, repl_actions_t *a);
/*
 * repl_topo_on_truncated -- this member cut its oplog back to `common` (a
 * rollback): its own position moves back. Never below the commit point: the
 * caller refuses such a cut, and this returns false if asked.
 */
bool repl_topo_on_truncated(repl_topo_t *t, repl_optime_t common);

/*
 * repl_topo_on_initial_sync_done -- this member (STARTUP2) now holds the set's
 * history from its first entry: it becomes SECONDARY and may stand.
 */
void repl_topo_on_initial_sync_done(repl_topo_t *t, repl_actions_t *a);

/* repl_topo_on_term_noop -- the new primary's no-op is written at at: writes may be counted. */
void repl_topo_on_term_noop(repl_topo_t *t, repl_optime_t at, repl_actions_t *a);

/* repl_topo_on_position -- member m (or self) reports applied / durable optimes. */
void repl_topo_on_position(repl_topo_t *t, int m, repl_optime_t applied, repl_optime_t durable,
                           repl_actions_t *a);
/* repl_topo_learn_commit_point -- a secondary hears the primary's commit point. */
void repl_topo_learn_commit_point(repl_topo_t *t, repl_optime_t cp, int64_t cp_from_term,
                                  repl_actions_t *a);

/* repl_topo_choose_sync_source -- the member to fetch from, or -1 (pure). */
int repl_topo_choose_sync_source(const repl_topo_t *t);

/*
 * repl_topo_step_down -- replSetStepDown: without force, only when an
 * electable secondary has caught up with our applied optime (ExceededTimeLimit
 * 262 otherwise, for the caller to retry until secondaryCatchUpPeriodSecs).
 * NotWritablePrimary 10107 when not primary.
 */
int repl_topo_step_down(repl_topo_t *t, bool force, repl_actions_t *a, status_t *st);
/* repl_topo_freeze -- replSetFreeze: no candidacy while frozen (a primary cannot freeze). */
int repl_topo_freeze(repl_topo_t *t, bool on, status_t *st);
/*
 * repl_topo_priority_takeover -- a secondary with a higher priority than the
 * primary's, caught up with it, should stand: a dry run (the caller delays
 * by priority rank). Checked after heartbeats.
 */
bool repl_topo_priority_takeover(const repl_topo_t *t);

/* repl_topo_start_takeover -- stand now (priority takeover): a dry run, like a timeout. */
void repl_topo_start_takeover(repl_topo_t *t, repl_actions_t *a);
/* repl_topo_observe_term -- a term seen in a request (heartbeat): adopt a higher one. */
void repl_topo_observe_term(repl_topo_t *t, int64_t term, repl_actions_t *a);

/*
 * repl_topo_reconfig -- a new configuration was installed at t->config (the
 * same pointer): views follow member _ids (old_ids: the _ids of the old
 * config, by old index), this node is now at self (-1: removed, REMOVED)
 * and has applied up to mine.
 * Term, vote and commit point stay; a primary stays primary while it is
 * electable; a running candidacy is dropped.
 */
void repl_topo_reconfig(repl_topo_t *t, const int32_t *old_ids, int old_n, int self,
                        repl_optime_t mine, repl_actions_t *a);

/*
 * repl_topo_step_up -- replSetStepUp: an electable, unfrozen secondary stands
 * at once (skip_dry_run: term + 1 and the real round straight away); 0 with
 * nothing to do on a primary or a running candidate; CommandFailed 125
 * ("Election failed.") when this node may not stand.
 */
int repl_topo_step_up(repl_topo_t *t, bool skip_dry_run, repl_actions_t *a, status_t *st);

/* repl_topo_can_satisfy_majority -- whether optime o is majority-committed here. */
bool repl_topo_is_committed(const repl_topo_t *t, repl_optime_t o);

#endif /* MICA_MONGOD_REPL_TOPOLOGY_H */
