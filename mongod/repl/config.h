/*
 * config.h -- private to mongod/repl/: a replica-set configuration, parsed
 * and validated as MongoDB validates it (ReplSetConfig). Pure: no storage,
 * no sockets, so tests/unit/repl exercises it directly.
 */
#ifndef MICA_MONGOD_REPL_CONFIG_H
#define MICA_MONGOD_REPL_CONFIG_H

#include "common/common.h"

/* MongoDB's limits: 50 members, of which at most 7 vote. */
#define REPL_MAX_MEMBERS 50
#define REPL_MAX_VOTERS  7

/* repl_member_cfg_t -- one element of members[]. */
typedef struct repl_member_cfg {
    int32_t id;
    char host[256];
    int32_t votes;   /* 0 or 1 */
    double priority; /* 0..1000 */
    bool arbiter_only;
    bool hidden;
    bool build_indexes;
    int64_t secondary_delay_secs;
    bson_t tags; /* {name: "value", ...} (owned) */
} repl_member_cfg_t;

/* Custom write-concern modes (settings.getLastErrorModes): {name: {tag: count, ...}}. */
#define REPL_MAX_WC_MODES       16
#define REPL_MAX_WC_CONSTRAINTS 8
typedef struct repl_wc_mode {
    char name[64];
    int n; /* constraints */
    struct {
        char tag[64];
        int count; /* distinct values of tag that must hold the write */
    } c[REPL_MAX_WC_CONSTRAINTS];
} repl_wc_mode_t;

/* repl_config_t -- a whole configuration; raw is the normalised document. */
typedef struct repl_config {
    char set_name[128];
    int64_t version;
    int64_t term; /* -1: not given (a force reconfig, or an initiate before it is set) */
    int nmembers;
    repl_member_cfg_t members[REPL_MAX_MEMBERS];
    /* settings */
    int64_t election_timeout_ms;    /* 10000 */
    int64_t heartbeat_interval_ms;  /* 2000 */
    int64_t heartbeat_timeout_secs; /* 10 */
    int64_t catch_up_timeout_ms;    /* -1: unlimited */
    bool chaining_allowed;          /* true */
    bson_oid_t replica_set_id;
    bool has_replica_set_id;
    bool write_concern_majority_journal_default; /* true */
    int nmodes;
    repl_wc_mode_t modes[REPL_MAX_WC_MODES];
    bson_t raw;
} repl_config_t;

/* repl_config_init / _destroy -- an empty config; destroy is NULL-safe. */
void repl_config_init(repl_config_t *c);
void repl_config_destroy(repl_config_t *c);

/*
 * repl_config_parse -- parse doc into c (initialised by the caller) and
 * validate it: _id (the set name), version >= 1, 1..50 members with unique
 * _id and host, votes 0/1, priority 0..1000 (0 for arbiters, hidden, delayed,
 * non-voting and buildIndexes: false members), at most 7 voters, at least one
 * electable member, settings in range. InvalidReplicaSetConfig 93 with
 * MongoDB's messages, TypeMismatch 14 for wrong types. c->raw is the document
 * with defaults filled in (what replSetGetConfig shows).
 */
int repl_config_parse(const bson_t *doc, repl_config_t *c, status_t *st);

/* repl_config_move -- dst (uninitialised) takes src's contents; src is left empty. */
void repl_config_move(repl_config_t *dst, repl_config_t *src);
/* repl_config_normalise -- rebuild c->raw from the fields (after changing term or id). */
void repl_config_normalise(repl_config_t *c);
/* repl_config_find_member -- the index of the member with host, or -1. */
int repl_config_find_member(const repl_config_t *c, const char *host);
/* repl_config_voters -- how many members vote. */
int repl_config_voters(const repl_config_t *c);
/* repl_config_majority -- votes needed to win an election / for w: "majority". */
int repl_config_majority(const repl_config_t *c);

/*
 * repl_config_cmp_version -- MongoDB's ConfigVersionAndTerm order: by term
 * first when both terms are set, by version alone when either is -1 (a
 * force reconfig's config carries no term). <0, 0, >0.
 */
int repl_config_cmp_version(int64_t v1, int64_t t1, int64_t v2, int64_t t2);
/* repl_config_voter_change -- how many voters (by _id) one config adds or removes from the other.
 */
int repl_config_voter_change(const repl_config_t *old, const repl_config_t *new_c);
/*
 * repl_config_check_reconfig -- whether new_c may follow old (both parsed):
 * a greater (version, term), the same set name and replicaSetId, no host
 * moving to another _id, no member flipping arbiterOnly or buildIndexes
 * (NewReplicaSetConfigurationIncompatible 103), and without force at most one
 * voter added or removed (InvalidReplicaSetConfig 93, as MongoDB 7.0).
 */
int repl_config_check_reconfig(const repl_config_t *old, const repl_config_t *new_c, bool force,
                               status_t *st);

/* repl_config_find_mode -- the custom write-concern mode called name, or NULL. */
const repl_wc_mode_t *repl_config_find_mode(const repl_config_t *c, const char *name);
/*
 * repl_wc_mode_satisfied -- MongoDB's tag-set rule: for every {tag: n} of
 * mode, the members that hold the write (has[i], by config index) carry at
 * least n distinct values of tag.
 */
bool repl_wc_mode_satisfied(const repl_config_t *c, const repl_wc_mode_t *mode, const bool *has);

/*
 * repl_implicit_wc_majority -- MongoDB 5.0's implicit default write concern:
 * false (w: 1) when c has arbiters and its data-bearing voters are no more
 * than a majority of its voters, true (w: "majority") otherwise.
 */
bool repl_implicit_wc_majority(const repl_config_t *c);

#endif /* MICA_MONGOD_REPL_CONFIG_H */
