/*
 * harness_repl.c -- a real replica set for C integration tests (see harness_repl.h).
 */
#include "harness_repl.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const *member_args(itest_rs_t *rs)
{
    static const char *args[3];
    args[0] = "--replSet";
    args[1] = rs->name;
    args[2] = NULL;
    return args;
}

mongoc_client_t *itest_rs_direct(itest_rs_t *rs, int i)
{
    return itest_client(&rs->m[i], "directConnection=true&serverSelectionTimeoutMS=3000&"
                                   "connectTimeoutMS=3000&socketTimeoutMS=10000");
}

/* run -- one admin command on member i; the reply (destroy it) or false. */
static bool run(itest_rs_t *rs, int i, const bson_t *cmd, bson_t *reply)
{
    mongoc_client_t *c = itest_rs_direct(rs, i);
    bson_error_t err;
    bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, reply, &err);
    mongoc_client_destroy(c);
    return ok;
}

bool itest_rs_state(itest_rs_t *rs, int i, char *buf, size_t len)
{
    bson_t *cmd = BCON_NEW("replSetGetStatus", BCON_INT32(1));
    bson_t reply = BSON_INITIALIZER;
    bson_iter_t it, members;
    bool found = false;
    if (itest_server_alive(&rs->m[i]) && run(rs, i, cmd, &reply) &&
        bson_iter_init_find(&it, &reply, "members") && bson_iter_recurse(&it, &members)) {
        while (!found && bson_iter_next(&members)) {
            bson_iter_t f, str;
            if (!bson_iter_recurse(&members, &f) || !bson_iter_find(&f, "self") ||
                !bson_iter_as_bool(&f))
                continue;
            if (bson_iter_recurse(&members, &str) && bson_iter_find(&str, "stateStr") &&
                BSON_ITER_HOLDS_UTF8(&str)) {
                snprintf(buf, len, "%s", bson_iter_utf8(&str, NULL));
                found = true;
            }
        }
    }
    bson_destroy(&reply);
    bson_destroy(cmd);
    return found;
}

int itest_rs_primary(itest_rs_t *rs, int exclude)
{
    bson_t *cmd = BCON_NEW("hello", BCON_INT32(1));
    int p = -1;
    for (int i = 0; i < rs->n && p < 0; i++) {
        bson_t reply;
        bson_iter_t it;
        if (i == exclude || !itest_server_alive(&rs->m[i]))
            continue;
        if (run(rs, i, cmd, &reply) && bson_iter_init_find(&it, &reply, "isWritablePrimary") &&
            bson_iter_as_bool(&it))
            p = i;
        bson_destroy(&reply);
    }
    bson_destroy(cmd);
    return p;
}

int itest_rs_wait_primary(itest_rs_t *rs, int exclude, int timeout_s)
{
    for (int64_t deadline = mono_ms() + (int64_t)timeout_s * 1000; mono_ms() < deadline;) {
        int p = itest_rs_primary(rs, exclude);
        if (p >= 0)
            return p;
        usleep(100 * 1000);
    }
    return -1;
}

int itest_rs_start(itest_rs_t *rs, int n, const char *name, const char *settings_json)
{
    char buf[2048];
    size_t off = 0;
    bson_error_t err;
    bson_t *cfg;
    bson_t reply;
    bool ok;

    memset(rs, 0, sizeof(*rs));
    if (n < 1 || n > ITEST_RS_MAX)
        return -1;
    rs->n = n;
    snprintf(rs->name, sizeof(rs->name), "%s", name);
    for (int i = 0; i < n; i++)
        if (itest_server_start(&rs->m[i], member_args(rs)) != 0) {
            itest_rs_stop(rs, true);
            return -1;
        }
    off += (size_t)snprintf(buf + off, sizeof(buf) - off,
                            "{\"replSetInitiate\": {\"_id\": \"%s\", \"version\": 1, "
                            "\"members\": [",
                            name);
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off,
                                "%s{\"_id\": %d, \"host\": \"127.0.0.1:%d\"}", i ? ", " : "", i,
                                rs->m[i].port);
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "]%s%s}}",
                            settings_json ? ", \"settings\": " : "",
                            settings_json ? settings_json : "");
    cfg = bson_new_from_json((const uint8_t *)buf, -1, &err);
    if (cfg == NULL) {
        fprintf(stderr, "bad config %s: %s\n", buf, err.message);
        itest_rs_stop(rs, false);
        return -1;
    }
    ok = run(rs, 0, cfg, &reply);
    if (!ok) {
        char *j = bson_as_relaxed_extended_json(&reply, NULL);
        fprintf(stderr, "replSetInitiate failed: %s\n", j);
        bson_free(j);
    }
    bson_destroy(&reply);
    bson_destroy(cfg);
    off = 0;
    off += (size_t)snprintf(rs->uri + off, sizeof(rs->uri) - off, "mongodb://");
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(rs->uri + off, sizeof(rs->uri) - off, "%s127.0.0.1:%d",
                                i ? "," : "", rs->m[i].port);
    snprintf(rs->uri + off, sizeof(rs->uri) - off, "/?replicaSet=%s", name);
    if (!ok || itest_rs_wait_primary(rs, -1, 120) < 0) {
        itest_rs_stop(rs, true);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char st[32] = "";
        int64_t deadline = mono_ms() + 120000;
        while (mono_ms() < deadline && !(itest_rs_state(rs, i, st, sizeof(st)) &&
                                         (!strcmp(st, "PRIMARY") || !strcmp(st, "SECONDARY"))))
            usleep(100 * 1000);
        if (strcmp(st, "PRIMARY") != 0 && strcmp(st, "SECONDARY") != 0) {
            fprintf(stderr, "member %d did not come up (state '%s')\n", i, st);
            itest_rs_stop(rs, true);
            return -1;
        }
    }
    return 0;
}

void itest_rs_kill(itest_rs_t *rs, int i)
{
    itest_server_t *s = &rs->m[i];
    if (s->pid > 0) {
        int status;
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
}

int itest_rs_restart(itest_rs_t *rs, int i)
{
    return itest_server_restart(&rs->m[i], member_args(rs));
}

void itest_rs_stop(itest_rs_t *rs, bool print_log)
{
    for (int i = 0; i < rs->n; i++) {
        if (rs->m[i].pid > 0)
            kill(rs->m[i].pid, SIGCONT);
        if (rs->m[i].dbpath[0] != '\0')
            itest_server_stop(&rs->m[i], print_log);
    }
}
