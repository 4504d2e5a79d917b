/*
 * harness.h -- integration-test harness for C tests: start a real micad ($MICAD)
 * on a free loopback port with a temporary dbpath and log file, wait until it
 * answers hello, and stop it (printing its log when the test failed).
 */
#ifndef MICA_ITEST_HARNESS_H
#define MICA_ITEST_HARNESS_H

#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <sys/types.h>

/* itest_server_t -- one spawned micad. */
typedef struct itest_server {
    pid_t pid;
    int port;
    char dbpath[256];
    char logpath[300];
    char uri[128]; /* mongodb://127.0.0.1:<port> */
    /* URI options itest_client adds to every client, the readiness check's too
     * ("tls=true&tlsCAFile=..." for a requireTLS server); set before itest_server_start
     * (which keeps it), empty by default: the struct starts zeroed (static) */
    char client_opts[1024];
} itest_server_t;

/* itest_free_port -- a loopback TCP port nobody listens on right now. */
int itest_free_port(void);
/*
 * itest_server_start -- spawn $MICAD --port P --bind_ip 127.0.0.1 --dbpath D
 * --logpath L plus extra_args (NULL-terminated, may be NULL) and wait up to 30 s
 * for hello. Returns 0, or -1 (the log is printed).
 */
int itest_server_start(itest_server_t *s, const char *const *extra_args);
/*
 * itest_server_restart -- spawn micad again for s (after a SIGKILL: s->pid reaped and
 * zeroed by the caller), on the same port, dbpath and log; waits up to 120 s for hello.
 */
int itest_server_restart(itest_server_t *s, const char *const *extra_args);
/* itest_server_alive -- the process has not exited. */
bool itest_server_alive(itest_server_t *s);
/*
 * itest_server_stop -- SIGTERM, wait (SIGKILL after 30 s); prints the log when
 * print_log; removes the temp dir. Returns the exit status (or -1).
 */
int itest_server_stop(itest_server_t *s, bool print_log);
/* itest_print_log -- the server's log to stderr. */
void itest_print_log(const itest_server_t *s);
/*
 * itest_client -- a client for the server; uri_opts like "compressors=zlib" or NULL,
 * after the server's client_opts.
 */
mongoc_client_t *itest_client(const itest_server_t *s, const char *uri_opts);

/* itest_run -- cmd (destroyed) on db through c: 0, or the error's code. */
int itest_run(mongoc_client_t *c, const char *db, bson_t *cmd);

struct CMUnitTest;
/*
 * itest_main -- what every C integration test's main does: start s, run the
 * cmocka group (setup/teardown may be NULL; they run with the server up),
 * count a server that died meanwhile as a failure, stop it (printing its log
 * on failure). Returns the process exit code.
 */
int itest_main(const char *group, const struct CMUnitTest *tests, size_t n, itest_server_t *s,
               int (*setup)(void **), int (*teardown)(void **));
/* ITEST_MAIN -- itest_main for a tests[] array. */
#define ITEST_MAIN(tests, server, setup, teardown)                                                 \
    itest_main(__FILE__, (tests), sizeof(tests) / sizeof((tests)[0]), (server), (setup), (teardown))

#endif /* MICA_ITEST_HARNESS_H */
