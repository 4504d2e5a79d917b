/*
 * read_concern.h -- the readConcern argument: parsed and checked as MongoDB
 * does (ReadConcernArgs), and which commands accept which level. Pure (no
 * state, no I/O): library mica_repl, tested in tests/unit/repl/test_read_concern.c.
 * What a member does with it (waits, the snapshot it reads, linearizable
 * confirmation) is mongod/repl/read.c.
 */
#ifndef MICA_MONGOD_REPL_READ_CONCERN_H
#define MICA_MONGOD_REPL_READ_CONCERN_H

#include "mongod/repl/topology.h"

#include <bson/bson.h>

typedef enum repl_rc_level {
    REPL_RC_LOCAL = 0, /* also: no level given */
    REPL_RC_AVAILABLE,
    REPL_RC_MAJORITY,
    REPL_RC_LINEARIZABLE,
    REPL_RC_SNAPSHOT,
} repl_rc_level_t;

/* repl_rc_t -- one command's readConcern. */
typedef struct repl_rc {
    bool present;   /* the command carried readConcern (even {}) */
    bool has_level; /* level was given (else it is "local") */
    repl_rc_level_t level;
    bool has_after_optime;
    repl_optime_t after_optime; /* afterOpTime {ts, t} (internal) */
    bool has_after_cluster_time;
    uint64_t after_cluster_time;
    bool has_at_cluster_time;
    uint64_t at_cluster_time;
} repl_rc_t;

/* repl_rc_level_name -- "local", "majority", ... */
const char *repl_rc_level_name(repl_rc_level_t l);

/*
 * repl_rc_parse -- the readConcern document into out, with MongoDB's rules:
 * level a string (TypeMismatch 14) of the five (FailedToParse 9);
 * afterOpTime {ts: Timestamp, t: number}, afterClusterTime / atClusterTime
 * Timestamps (TypeMismatch); provenance a known source (BadValue 2); any other
 * field InvalidOptions 72; afterClusterTime with afterOpTime or atClusterTime,
 * afterClusterTime at a level other than local/majority/snapshot, afterOpTime
 * with snapshot, atClusterTime without snapshot, null at/afterClusterTime:
 * InvalidOptions 72. rc may be NULL (nothing given).
 */
int repl_rc_parse(const bson_t *rc, repl_rc_t *out, status_t *st);

/* Which levels a command accepts (MongoDB's supportsReadConcern). */
typedef enum repl_rc_support {
    REPL_RC_SUPPORT_LOCAL_ONLY = 0,   /* the default: every command that is not a query */
    REPL_RC_SUPPORT_ALL,              /* find, aggregate, distinct */
    REPL_RC_SUPPORT_ALL_BUT_SNAPSHOT, /* count (snapshot only inside transactions) */
} repl_rc_support_t;

/* repl_rc_support_of -- the rule for command name. */
repl_rc_support_t repl_rc_support_of(const char *command);

/*
 * repl_rc_check_support -- InvalidOptions 72 ("Command <name> does not support
 * { readConcern: ... }") when the command does not take rc's level.
 */
int repl_rc_check_support(const char *command, const repl_rc_t *rc, status_t *st);

#endif /* MICA_MONGOD_REPL_READ_CONCERN_H */
