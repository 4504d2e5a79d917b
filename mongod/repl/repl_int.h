/*
 * repl_int.h -- private to mongod/repl/: the member's shared state (state.c)
 * and what node.c (heartbeats, elections, fetching and applying) uses of it.
 */
#ifndef MICA_MONGOD_REPL_INT_H
#define MICA_MONGOD_REPL_INT_H

#include "mongod/repl/config.h"
#include "mongod/repl/repl.h"

#include <pthread.h>

/*
 * repl_state_t -- one per process, guarded by lock. topo is the coordinator
 * (valid when has_config); state/term/primary are the published copies of
 * its fields (term and state are also meaningful before a config exists).
 */
typedef struct repl_state {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* commit point moved, a reply arrived, stopping */
    bool enabled;
    micad_t *m;
    bool has_config;
    repl_config_t config;
    int self; /* index in config.members, -1: not in it */
    repl_member_state_t state;
    int64_t term;
    int primary; /* index of the primary known, -1 */
    int64_t election_ms;
    repl_optime_t election_optime;
    int64_t state_since_ms;
    repl_topo_t topo;
    /* node.c */
    wire_client_pool_t *pool;
    pthread_t hb_thread, fetch_thread;
    bool threads, stopping;
    int64_t election_deadline_us;           /* stand when no primary by then */
    int64_t peer_version[REPL_MAX_MEMBERS]; /* config version each peer reported (-1) */
    int64_t last_hb_ms[REPL_MAX_MEMBERS];   /* wall time of the last answer */
    char hb_msg[REPL_MAX_MEMBERS][128];
    repl_optime_t applied; /* what this node applied (its own writes, or fetched) */
    char sync_source[256];
    int64_t last_vote_term; /* from local.replset.election at start-up (-1: none) */
    int last_vote_for;
    int64_t frozen_until_us; /* replSetFreeze / after a step-down (0: not frozen) */
    /* step-downs' sweeps (serverStatus metrics.repl.stateTransition) */
    bool stepped_down;
    int64_t ops_killed, ops_left_running;
} repl_state_t;

extern repl_state_t repl__g;

/* repl__lock / repl__unlock -- the state's mutex. */
void repl__lock(void);
void repl__unlock(void);
/* repl__handle -- carry out a coordinator's actions (lock held) and publish its state. */
void repl__handle(repl_actions_t *a);
/* repl__put_local -- make the local collection ns hold only doc (fsynced). */
int repl__put_local(micad_t *m, const char *ns, const bson_t *doc, status_t *st);
/* repl__take_up_config -- install c (moved out) as this node's config (lock held). */
int repl__take_up_config(micad_t *m, repl_config_t *c, int self, status_t *st);
/*
 * repl__take_up_newer_config -- doc (a config seen in a heartbeat) when it
 * parses, names our set and is newer by (version, term) than ours: stored,
 * then installed (lock held). Returns whether it was taken.
 */
bool repl__take_up_newer_config(micad_t *m, const bson_t *doc);
/* repl__refresh_own_position -- a primary's applied optime from its newest oplog entry. */
void repl__refresh_own_position(micad_t *m);
/* repl__config_committed -- a majority of voters report our config version (lock held). */
bool repl__config_committed(void);
/* repl__find_self -- this node's index in c, or -1. */
int repl__find_self(micad_t *m, const repl_config_t *c);

/* repl__install_wc_waiter -- w > 1 / majority waits go to node.c. */
void repl__install_wc_waiter(void);
/* repl__install_wc_resolver -- defaults and custom modes for every write (rwc_defaults.c). */
void repl__install_wc_resolver(void);
/* node.c: threads */
int repl__node_start(micad_t *m, status_t *st);
void repl__node_stop(void);
/* repl__quorum_check -- every other member of c answers a heartbeat and has no config. */
int repl__quorum_check(micad_t *m, const repl_config_t *c, int self, status_t *st);

/* apply.c: one fetched oplog entry through the write path, with its own timestamp */
int repl__apply_entry(micad_t *m, const bson_t *entry, status_t *st);

/* oplog.c: applying mode (the observer appends the given entry instead of making one) */
void repl__oplog_apply_begin(const bson_t *entry, uint64_t ts);
void repl__oplog_apply_reset(void); /* at the start of each unit-of-work attempt */
bool repl__oplog_apply_appended(void);
void repl__oplog_apply_end(void);
/* repl__oplog_append_applied -- append the entry being applied, if not yet (in a unit). */
int repl__oplog_append_applied(stor_session_t *sess, status_t *st);

/* repl__oplog_noop_as_primary -- a no-op in the current term, only while this node writes as
 * primary (NotWritablePrimary otherwise); for read concern waits and linearizable reads. */
int repl__oplog_noop_as_primary(micad_t *m, const char *msg, repl_optime_t *at, status_t *st);
/* read.c: the calling thread wrote an oplog entry at (term, ts) (its command's operationTime) */
void repl__note_client_op(uint64_t ts, int64_t term);
/* read.c: move storage's stable and oldest timestamps up to the majority commit point
 * (bounded by what this node applied); called with the lock held after every change */
void repl__update_stable(void);

/* recovery.c: in replicated storage mode, at start-up: set stable/oldest to the checkpoint's
 * timestamp and replay the oplog entries after it (nothing in standalone mode). */
int repl__recover(micad_t *m, status_t *st);
/* oplog.c: recovery mode of applying: the entry is already in the oplog; the writes it
 * causes only take its timestamp */
void repl__oplog_recover_begin(const bson_t *entry, uint64_t ts);
bool repl__oplog_recovering(void);
/* apply.c: the namespace renames after the recovery point, so a replayed entry finds its
 * collection under its later name (entries are (ts, from, to), oldest first) */
typedef struct repl_rename {
    uint64_t ts;
    bool drop_target; /* entries to `to` before ts were dropped with it */
    char from[256], to[256];
} repl_rename_t;
void repl__apply_set_renames(const repl_rename_t *r, size_t n);

#endif /* MICA_MONGOD_REPL_INT_H */
