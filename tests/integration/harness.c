/*
 * harness.c -- spawn micad for integration tests (see harness.h).
 */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* now_ms -- monotonic milliseconds. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* itest_free_port -- bind port 0 and read the port the kernel chose. */
int itest_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* itest_print_log -- dump the log file. */
void itest_print_log(const itest_server_t *s)
{
    FILE *f = fopen(s->logpath, "r");
    char line[4096];
    fprintf(stderr, "---- micad log (%s) ----\n", s->logpath);
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fclose(f);
    fprintf(stderr, "---- end of log ----\n");
}

/* answers_hello -- a quick hello through libmongoc. */
static bool answers_hello(const itest_server_t *s)
{
    mongoc_client_t *c = itest_client(s, "serverSelectionTimeoutMS=500&connectTimeoutMS=500");
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_error_t err;
    bool ok;

    BSON_APPEND_INT32(&cmd, "hello", 1);
    ok = mongoc_client_command_simple(c, "admin", &cmd, NULL, &reply, &err);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    mongoc_client_destroy(c);
    return ok;
}

/* itest_server_alive -- waitpid without blocking. */
bool itest_server_alive(itest_server_t *s)
{
    int status;
    if (s->pid <= 0)
        return false;
    return waitpid(s->pid, &status, WNOHANG) == 0;
}

/* spawn -- start micad on s's port, dbpath and log, and wait for hello. */
static int spawn(itest_server_t *s, const char *const *extra_args, int timeout_s)
{
    const char *micad = getenv("MICAD");
    char port[16];
    const char *argv[64];
    int n = 0;

    if (micad == NULL) {
        fprintf(stderr, "MICAD is not set\n");
        return -1;
    }
    (void)snprintf(port, sizeof(port), "%d", s->port);
    argv[n++] = micad;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind_ip";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--dbpath";
    argv[n++] = s->dbpath;
    argv[n++] = "--logpath";
    argv[n++] = s->logpath;
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL && n < 62; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        execv(micad, (char *const *)argv);
        _exit(127);
    }
    for (int64_t deadline = now_ms() + (int64_t)timeout_s * 1000; now_ms() < deadline;) {
        if (!itest_server_alive(s)) {
            fprintf(stderr, "micad exited during start-up\n");
            itest_print_log(s);
            s->pid = 0;
            return -1;
        }
        if (answers_hello(s))
            return 0;
        usleep(50 * 1000);
    }
    fprintf(stderr, "micad did not answer hello within %d s\n", timeout_s);
    itest_server_stop(s, true);
    return -1;
}

/* itest_server_start -- a fresh port and temp dbpath, then spawn. */
int itest_server_start(itest_server_t *s, const char *const *extra_args)
{
    char client_opts[sizeof(s->client_opts)];
    memcpy(client_opts, s->client_opts, sizeof(client_opts)); /* set by the caller, kept */
    memset(s, 0, sizeof(*s));
    memcpy(s->client_opts, client_opts, sizeof(client_opts));
    (void)snprintf(s->dbpath, sizeof(s->dbpath), "/tmp/mica-itest-XXXXXX");
    if (mkdtemp(s->dbpath) == NULL)
        return -1;
    (void)snprintf(s->logpath, sizeof(s->logpath), "%s/micad.log", s->dbpath);
    s->port = itest_free_port();
    (void)snprintf(s->uri, sizeof(s->uri), "mongodb://127.0.0.1:%d", s->port);
    return spawn(s, extra_args, 30);
}

/* itest_server_restart -- the same port, dbpath and log again (after a kill or a stop
 * that kept the dbpath); a restart may take longer (recovery), so 120 s. */
int itest_server_restart(itest_server_t *s, const char *const *extra_args)
{
    return spawn(s, extra_args, 120);
}

/* remove_tree -- the temp dir (a flat directory: log, lock file). */
static void remove_tree(const char *dir)
{
    char cmd[400];
    if (strncmp(dir, "/tmp/mica-itest-", 16) != 0)
        return;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* itest_server_stop -- SIGTERM, reap, clean up. */
int itest_server_stop(itest_server_t *s, bool print_log)
{
    int status = 0, code = -1;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        for (int64_t deadline = now_ms() + 30000;;) {
            pid_t r = waitpid(s->pid, &status, WNOHANG);
            if (r == s->pid) {
                code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            if (r < 0)
                break;
            if (now_ms() > deadline) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, &status, 0);
                fprintf(stderr, "micad did not stop within 30 s; killed\n");
                print_log = true;
                break;
            }
            usleep(20 * 1000);
        }
        s->pid = 0;
    }
    if (print_log || code != 0)
        itest_print_log(s);
    if (s->dbpath[0] != '\0')
        remove_tree(s->dbpath);
    s->dbpath[0] = '\0';
    return code;
}

/* itest_client -- a mongoc client for s. */
mongoc_client_t *itest_client(const itest_server_t *s, const char *uri_opts)
{
    char uri[2048];
    mongoc_client_t *c;
    bool both = s->client_opts[0] != '\0' && uri_opts != NULL && uri_opts[0] != '\0';
    (void)snprintf(uri, sizeof(uri), "%s/?%s%s%s", s->uri, s->client_opts, both ? "&" : "",
                   uri_opts ? uri_opts : "");
    c = mongoc_client_new(uri);
    if (c != NULL)
        mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    return c;
}

/* itest_run -- see harness.h. */
int itest_run(mongoc_client_t *c, const char *db, bson_t *cmd)
{
    bson_error_t err;
    bson_t reply;
    bool ok = mongoc_client_command_simple(c, db, cmd, NULL, &reply, &err);
    bson_destroy(&reply);
    bson_destroy(cmd);
    return ok ? 0 : (int)err.code;
}

/* itest_main -- start, run the group, check the server survived, stop. */
int itest_main(const char *group, const struct CMUnitTest *tests, size_t n, itest_server_t *s,
               int (*setup)(void **), int (*teardown)(void **))
{
    int failed;

    mongoc_init();
    if (itest_server_start(s, NULL) != 0)
        return 1;
    failed = _cmocka_run_group_tests(group, tests, n, setup, teardown);
    if (!itest_server_alive(s)) {
        fprintf(stderr, "micad died during the tests\n");
        failed++;
    }
    if (itest_server_stop(s, failed > 0) != 0)
        failed++;
    mongoc_cleanup();
    return failed ? 1 : 0;
}
