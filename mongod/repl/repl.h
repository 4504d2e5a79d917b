/*
 * repl.h -- private to mongod/: replication as the rest of micad sees it.
 *
 *   - the cluster clock (clock.c): a hybrid logical clock of MongoDB
 *     Timestamps (seconds << 32 | increment) that never goes back;
 *   - the oplog writer (oplog.c): the write path's observer, which turns
 *     every write into its local.oplog.rs entry inside the write's storage
 *     transaction, and the oplog reader behind find/getMore on local.oplog.rs;
 *   - the member's replica-set state (state.c): the config kept in
 *     local.system.replset, the member state and term, for hello,
 *     replSetInitiate, replSetGetConfig and replSetGetStatus.
 *
 * mongod/repl/README.md tells the design; the pure decision logic (elections,
 * commit point, sync source) lives in topology.h.
 */
#ifndef MICA_MONGOD_REPL_H
#define MICA_MONGOD_REPL_H

#include "mongod/exec.h"
#include "mongod/micad.h"
#include "mongod/repl/topology.h"

/* ---- the cluster clock (clock.c) ----------------------------------------- */

/* repl_ts_secs / repl_ts_inc -- the parts of a Timestamp. */
static inline uint32_t repl_ts_secs(uint64_t ts)
{
    return (uint32_t)(ts >> 32);
}
static inline uint32_t repl_ts_inc(uint64_t ts)
{
    return (uint32_t)ts;
}
/* repl_ts_make -- secs and inc into a Timestamp. */
static inline uint64_t repl_ts_make(uint32_t secs, uint32_t inc)
{
    return ((uint64_t)secs << 32) | inc;
}

/* repl_clock_now -- the newest cluster time issued or seen (0 before any). */
uint64_t repl_clock_now(void);
/*
 * repl_clock_tick -- a new cluster time, above every one issued or seen: the
 * wall clock's seconds with increment 1 if that is later, else the last one
 * plus one increment. The wall clock only keeps the numbers readable; order
 * comes from the counter, so a clock stepping back changes nothing.
 */
uint64_t repl_clock_tick(void);
/* repl_clock_advance -- a cluster time seen elsewhere ($clusterTime, an oplog entry). */
void repl_clock_advance(uint64_t ts);

/* repl_append_optime -- {ts: Timestamp, t: long} under key. */
void repl_append_optime(bson_t *doc, const char *key, repl_optime_t o);

/* ---- the oplog writer (oplog.c) ------------------------------------------ */

/*
 * repl_oplog_start -- make the cluster clock start above the newest oplog
 * entry and install the oplog writer as the write path's observer. Called at
 * start-up with --replSet, before the listener opens.
 */
int repl_oplog_start(micad_t *m, status_t *st);
/*
 * repl_oplog_enable -- whether document writes and catalog changes produce
 * oplog entries from now on (the set is initiated and this node writes as
 * primary), and the term the entries carry.
 */
void repl_oplog_enable(bool on, int64_t term);
/*
 * repl_oplog_noop -- append a no-op entry {op: "n", ns: "", o: {msg}} in its
 * own unit of work at a fresh timestamp (initiation, a new primary's first
 * entry in its term); *at receives its optime.
 */
int repl_oplog_noop(micad_t *m, const char *msg, int64_t term, repl_optime_t *at, status_t *st);
/* repl_oplog_last -- the newest visible entry's optime ({0, 0} when empty). */
int repl_oplog_last(micad_t *m, repl_optime_t *out, status_t *st);

/*
 * repl_oplog_find -- an executor over local.oplog.rs for find: the filter
 * (its top-level `ts` bound picks the start), forward or $natural: -1,
 * limit, tailable (never EOF for good; awaitData waits in getMore).
 */
int repl_oplog_find(micad_t *m, const micad_query_t *q, micad_exec_t **out, status_t *st);

/* ---- replica-set state (state.c) ----------------------------------------- */

/* repl_state_str -- "PRIMARY", "SECONDARY", ... */
const char *repl_state_str(repl_member_state_t s);

/* repl_enabled -- whether micad runs with --replSet. */
bool repl_enabled(void);
/*
 * repl_start -- with --replSet: load local.system.replset (a config found
 * means this member was initiated: it takes up its role again), start the
 * oplog writer. Before the listener opens.
 */
int repl_start(micad_t *m, status_t *st);
/* repl_stop -- stop replication's threads (after the transport stopped). */
void repl_stop(void);

/* repl_is_writable_primary -- whether this node accepts writes (always true standalone). */
bool repl_is_writable_primary(void);
/* repl_can_read -- whether reads are allowed (primary, or secondaryOk on a secondary). */
bool repl_can_read(bool secondary_ok);

/*
 * repl_command_gate -- the command table's gate on a member: writes only on
 * the primary (NotWritablePrimary 10107; the local database excepted), reads
 * of data on a secondary only with secondaryOk / a non-primary read
 * preference (NotPrimaryNoSecondaryOk 13435), and in other states
 * NotPrimaryOrSecondary 13436. Before it looks at the state it marks the
 * operations a step-down must interrupt (stepdown.h; rc: the parsed readConcern).
 */
struct repl_rc;
int repl_command_gate(wire_opctx_t *op, const wire_command_t *cmd, const struct repl_rc *rc,
                      status_t *st);

/*
 * repl_append_metrics -- serverStatus metrics.repl on a member: stateTransition
 * {lastStateTransition ("stepDown" once one happened), userOperationsKilled,
 * userOperationsRunning} of the last step-down.
 */
void repl_append_metrics(bson_t *metrics);

/*
 * repl_append_election_metrics -- serverStatus electionMetrics on a member:
 * {stepUpCmd, priorityTakeover, electionTimeout: {called, successful},
 * numStepDownsCausedByHigherTerm}, counted since start-up.
 */
void repl_append_election_metrics(bson_t *reply);

/*
 * repl_metrics_t -- what the Prometheus endpoint exports of replication: this
 * member's state and term, the elections it stood in and won, the commit
 * point's wall time; lag comes from replSetGetStatus's members.
 */
typedef struct repl_metrics {
    int state;
    int64_t term;
    repl_elect_metrics_t elections;
    int64_t committed_wall_ms; /* 0: none yet */
} repl_metrics_t;

/* repl_get_metrics -- false on a node without --replSet or before its config. */
bool repl_get_metrics(repl_metrics_t *out);

/* repl_hello_append -- the replica-set fields of hello (and isWritablePrimary/secondary). */
void repl_hello_append(micad_t *m, bson_t *reply, bool legacy_names);

/* The commands' bodies (mongod/commands/repl_set_*.c parse, these act). */
int repl_initiate(micad_t *m, const bson_t *config, bool has_config, bson_t *reply, status_t *st);
int repl_get_config(micad_t *m, bool commitment_status, bson_t *reply, status_t *st);
int repl_get_status(micad_t *m, bson_t *reply, status_t *st);
/* Intra-set commands (mongod/repl/node.c): heartbeats, votes, position reports. */
int repl_heartbeat(micad_t *m, const bson_t *cmd, bson_t *reply, status_t *st);
int repl_request_votes(micad_t *m, const bson_t *cmd, bson_t *reply, status_t *st);
int repl_update_position(micad_t *m, const bson_t *cmd, bson_t *reply, status_t *st);
/* replSetStepDown / replSetFreeze bodies (node.c). */
int repl_step_down(micad_t *m, int64_t step_down_secs, int64_t catch_up_secs, bool force,
                   status_t *st);
int repl_freeze(micad_t *m, int64_t secs, bson_t *reply, status_t *st);
/*
 * repl_reconfig -- replSetReconfig (reconfig.c): doc is the new config;
 * deadline_us (time_mono_us, 0: none) bounds the commitment waits.
 */
int repl_reconfig(micad_t *m, const bson_t *doc, bool force, int64_t deadline_us, bson_t *reply,
                  status_t *st);
/* repl_step_up -- replSetStepUp (reconfig.c): stand now; ok only once primary. */
int repl_step_up(micad_t *m, bool skip_dry_run, status_t *st);
/* getDefaultRWConcern / setDefaultRWConcern bodies (rwc_defaults.c). */
int repl_get_default_rw_concern(micad_t *m, bson_t *reply, status_t *st);
int repl_set_default_rw_concern(micad_t *m, const wire_opctx_t *op, const bson_t *cmd,
                                bson_t *reply, status_t *st);

/* ---- the read side (read.c) ---------------------------------------------- */

struct repl_rc;

/* repl_read_source_t -- how the current command's reads take their snapshot. */
typedef enum repl_read_mode {
    REPL_READ_LATEST = 0, /* local / available / linearizable: the newest data */
    REPL_READ_MAJORITY,   /* each batch at the majority commit point of its moment */
} repl_read_mode_t;
typedef struct repl_read_source {
    repl_read_mode_t mode;
} repl_read_source_t;

/*
 * repl_read_begin -- at the start of every command (the gate), on any node:
 * resets the thread's per-command state; on a member takes the command's
 * $clusterTime (gossip: the clock advances; ClusterTimeFailsRateLimiter 205 past
 * a year ahead), refuses linearizable off the primary (NotWritablePrimary), waits
 * for afterClusterTime / afterOpTime (applied, or majority-committed at level
 * majority; MaxTimeMSExpired 50 at maxTimeMS) and records the read source.
 */
int repl_read_begin(wire_opctx_t *op, const struct repl_rc *rc, status_t *st);
/* repl_read_source -- the current command's read source (exec.c at each batch). */
repl_read_source_t repl_read_source(void);
/* repl_majority_read_ts -- the majority commit point's timestamp, bounded by what this node
 * applied; ReadConcernMajorityNotAvailableYet 134 before there is one. */
int repl_majority_read_ts(uint64_t *ts, status_t *st);
/* repl_read_after -- after a successful command: a linearizable read writes a no-op and
 * waits until a majority holds it (NotWritablePrimary if no longer primary,
 * LinearizableReadConcernError 187 at maxTimeMS). */
int repl_read_after(wire_opctx_t *op, status_t *st);
/* repl_reply_decorate -- a member's operationTime and $clusterTime on every reply. */
void repl_reply_decorate(wire_opctx_t *op, bson_t *reply);
/* repl_client_last_op -- the newest oplog entry the current command wrote ({0, 0}: none). */
repl_optime_t repl_client_last_op(void);
/* repl_stable_ts -- the stable timestamp last given to storage (0: none yet). */
uint64_t repl_stable_ts(void);

#endif /* MICA_MONGOD_REPL_H */
