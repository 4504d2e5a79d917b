/*
 * harness_repl.h -- a real replica set for C integration tests: n micad members
 * (harness.h's itest_server_t, each started with --replSet), initiated with a config,
 * and the faults tests inject (SIGKILL, SIGSTOP/SIGCONT, a restart on the same port and
 * dbpath). Every wait is a wait-until with a generous deadline; nothing asserts on time.
 */
#ifndef MICA_ITEST_HARNESS_REPL_H
#define MICA_ITEST_HARNESS_REPL_H

#include "harness.h"

#define ITEST_RS_MAX 7

typedef struct itest_rs {
    int n;
    char name[32];
    itest_server_t m[ITEST_RS_MAX];
    char uri[512]; /* mongodb://h1,h2,h3/?replicaSet=name */
} itest_rs_t;

/*
 * itest_rs_start -- start n members, replSetInitiate them (settings: a JSON document
 * such as {"electionTimeoutMillis": 1500} or NULL) and wait for a primary and every
 * member up. Returns 0, or -1 (logs printed).
 */
int itest_rs_start(itest_rs_t *rs, int n, const char *name, const char *settings_json);
/* itest_rs_stop -- stop every member (resuming paused ones); logs printed when print_log. */
void itest_rs_stop(itest_rs_t *rs, bool print_log);
/* itest_rs_primary -- the member that answers hello with isWritablePrimary, or -1. */
int itest_rs_primary(itest_rs_t *rs, int exclude);
/* itest_rs_wait_primary -- itest_rs_primary until one (not exclude) answers; -1 after timeout_s. */
int itest_rs_wait_primary(itest_rs_t *rs, int exclude, int timeout_s);
/* itest_rs_state -- the member's own stateStr ("PRIMARY", ...) into buf; false if unreachable. */
bool itest_rs_state(itest_rs_t *rs, int i, char *buf, size_t len);
/* itest_rs_kill -- SIGKILL member i and reap it. */
void itest_rs_kill(itest_rs_t *rs, int i);
/* itest_rs_restart -- start member i again on its port and dbpath (its config is kept). */
int itest_rs_restart(itest_rs_t *rs, int i);
/* itest_rs_direct -- a client for member i alone (directConnection). */
mongoc_client_t *itest_rs_direct(itest_rs_t *rs, int i);

#endif /* MICA_ITEST_HARNESS_REPL_H */
