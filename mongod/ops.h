/*
 * ops.h -- private to mongod/: observability and operations of the data node --
 * currentOp documents (commands/current_op.c), the per-operation hook that feeds
 * the profiler, the slow-operation log, top, opLatencies and the Prometheus
 * counters (opstats.c, profiler.c), and the /metrics endpoint (metrics.c).
 *
 * Replication and sharding plug in here later: their serverStatus sections and
 * their Prometheus families register as micad_metrics_provider_t rows
 * (metrics.c) instead of growing one function.
 */
#ifndef MICA_MONGOD_OPS_H
#define MICA_MONGOD_OPS_H

#include "mongod/micad.h"

/*
 * micad_current_op_docs -- currentOp's documents (wire's registry) whose shape
 * matches filter (NULL or empty: all), appended to the array out. idle_conns
 * adds connections with nothing running ($all / idleConnections).
 */
int micad_current_op_docs(micad_t *m, const bson_t *filter, bool idle_conns, bson_t *out,
                          uint32_t *n, status_t *st);

/* ---- after every command (opstats.c) ---- */

/* opLatencies' families, in MongoDB's order. */
enum {
    MICAD_FAM_READS,
    MICAD_FAM_WRITES,
    MICAD_FAM_COMMANDS,
    MICAD_FAM_TRANSACTIONS,
    MICAD_FAM_COUNT
};
/* MICAD_LAT_NBUCKETS -- histogram upper bounds (micad_lat_bounds_us) plus one overflow bucket. */
#define MICAD_LAT_NBUCKETS 15
extern const int64_t micad_lat_bounds_us[MICAD_LAT_NBUCKETS];

/* micad_lat_t -- one family's latency record (relaxed atomics). */
typedef struct micad_lat {
    int64_t ops, micros;
    int64_t buckets[MICAD_LAT_NBUCKETS + 1]; /* [i]: <= bounds[i]; last: above every bound */
} micad_lat_t;

/* micad_top_pair_t / micad_top_t -- `top`'s {time (micros), count} per kind. */
typedef struct micad_top_pair {
    int64_t time, count;
} micad_top_pair_t;
typedef struct micad_top {
    micad_top_pair_t total, read_lock, write_lock, queries, getmore, insert, update, remove,
        commands;
} micad_top_t;

/* micad_outcome_t -- what the reply says an operation did (profiler, slow log). */
typedef struct micad_outcome {
    int64_t nreturned; /* -1: not a read */
    int64_t ninserted, nmatched, nmodified, ndeleted;
    int64_t reslen;
} micad_outcome_t;

/* micad_op_done -- wire_server_config_t.op_done: counters, top, slow log, profiler. */
void micad_op_done(wire_opctx_t *op, const bson_t *reply, int code, int64_t micros);
/* micad_cmd_family -- MICAD_FAM_* of a command name. */
int micad_cmd_family(const char *name);
/* micad_fam_name -- "reads", "writes", "commands", "transactions". */
const char *micad_fam_name(int fam);
/* micad_latency_snapshot -- a copy of one family's latencies. */
void micad_latency_snapshot(int fam, micad_lat_t *out);
/* micad_cmd_counts -- runs and failures of command row i (i == micad_n_commands: unknown). */
void micad_cmd_counts(size_t i, int64_t *total, int64_t *failed);
/* micad_top_foreach -- each namespace's top counters, under a lock (fn must not block). */
void micad_top_foreach(void (*fn)(const char *ns, const micad_top_t *t, void *arg), void *arg);
/* micad_top_forget -- forget ns (or every ns starting with it when prefix). */
void micad_top_forget(const char *ns_or_prefix, bool prefix);
/* micad_op_outcome -- nreturned/ninserted/... read from a command's reply. */
void micad_op_outcome(const wire_opctx_t *op, const bson_t *reply, micad_outcome_t *o);

/* ---- the profiler (profiler.c) ---- */

/* micad_profile_init -- the global slowms from the options (operationProfiling). */
void micad_profile_init(const opts_t *o);
/* micad_profile_is_slow -- whether an operation of micros is over slowms. */
bool micad_profile_is_slow(int64_t micros);
/* micad_profile_sampled -- a draw against sampleRate (true at 1.0). */
bool micad_profile_sampled(void);
/*
 * micad_profile_record -- write op's system.profile document when its database's
 * level asks for it (2: all; 1: slow and sampled, or matching the filter).
 */
void micad_profile_record(micad_t *m, const wire_opctx_t *op, const micad_outcome_t *o, int code,
                          int64_t micros, bool slow, bool sampled);
/* micad_profile_slowms -- the current slowms. */
int micad_profile_slowms(void);

/* ---- serverStatus sections (status_obs.c) ---- */

/* micad_status_obs -- opLatencies, globalLock, locks, wiredTiger appended to reply. */
void micad_status_obs(micad_t *m, const bson_t *cmd, bson_t *reply);

/* ---- runtime operations (runtime.c) ---- */

/* micad_runtime_block_signals -- block SIGUSR1 in this thread and those it starts (call first). */
void micad_runtime_block_signals(void);
/* micad_runtime_start -- the SIGUSR1 (log rotation) thread; remembers the log path. */
void micad_runtime_start(const opts_t *o);
/* micad_runtime_stop -- end that thread and release a leftover fsync lock. */
void micad_runtime_stop(void);
/* micad_log_rotate -- logRotate: rename the log file with a UTC time suffix, open a new one. */
int micad_log_rotate(status_t *st);
/*
 * micad_fsync_wait -- a unit of work's door: waits while fsync {lock: true} is
 * held (killable), then holds a write slot until micad_fsync_leave.
 */
int micad_fsync_wait(const wire_opctx_t *op, status_t *st);
/*
 * micad_catalog_begin -- a catalog command's door (create, drop, dropDatabase,
 * createIndexes, dropIndexes, renameCollection, collMod): also shut while an
 * fsync lock drains; holds a write slot until micad_fsync_leave.
 */
int micad_catalog_begin(const wire_opctx_t *op, status_t *st);
/* micad_fsync_leave -- leave the slot the matching door entered. */
void micad_fsync_leave(void);
/* MICAD_CATALOG_CMD -- define handler `name` as `inner` run behind micad_catalog_begin. */
#define MICAD_CATALOG_CMD(name, inner)                                                             \
    int name(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)                     \
    {                                                                                              \
        ST_RET(micad_catalog_begin(op, st));                                                       \
        int ret_ = inner(op, cmd, reply, st);                                                      \
        micad_fsync_leave();                                                                       \
        return ret_;                                                                               \
    }
/* micad_fsync_lock_count -- how many fsync locks are held. */
int micad_fsync_lock_count(void);

/* micad_work_hook -- stor_set_work_hook's function: progress + interrupt checks. */
int micad_work_hook(const char *what, int64_t done, int64_t total, status_t *st);
/* micad_abort_index_builds -- abort running builds of ns (name NULL/"*": all); how many. */
int micad_abort_index_builds(const char *ns, const char *name);

/* ---- Prometheus (metrics.c) ---- */

/* micad_metrics_start -- listen on metrics.port (nothing when 0); SocketException if busy. */
int micad_metrics_start(micad_t *m, status_t *st);
/* micad_metrics_stop -- close the listener; NULL-safe on a node without one. */
void micad_metrics_stop(micad_t *m);
/* micad_metrics_text -- the exposition text (every provider's families). */
void micad_metrics_text(micad_t *m, bson_string_t *s);

#endif /* MICA_MONGOD_OPS_H */
