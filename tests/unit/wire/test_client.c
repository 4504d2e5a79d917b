/*
 * test_client.c -- the intra-cluster client (wire_client_*) against real
 * servers in the test process: wire/'s own server transport with a tiny
 * command table (hello, ping, fail, sleep, whatsmyuri), a listening socket
 * that never answers, a port nobody listens on, and a raw-socket server whose
 * replies are malformed. Tests never assert on time: a deadline test checks the
 * code it gets, not how long it took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/wire.h"

/* ------------------------------------------------------------------------ */
/* The in-test server                                                        */
/* ------------------------------------------------------------------------ */

static int cmd_hello(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    BSON_APPEND_BOOL(reply, "isWritablePrimary", true);
    BSON_APPEND_INT32(reply, "maxWireVersion", 21);
    return 0;
}

static int cmd_ping(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    return 0;
}

static int cmd_fail(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    return status_set(st, ERR_BadValue, "failing as asked");
}

static int cmd_sleep(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, cmd, "ms"))
        usleep((useconds_t)bson_iter_as_int64(&it) * 1000);
    return 0;
}

static int cmd_whatsmyuri(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    BSON_APPEND_UTF8(reply, "you", op->conn ? op->conn->remote : "");
    return 0;
}

static const wire_command_t cmds[] = {
    {"hello", cmd_hello, WIRE_CMD_LEGACY_OK, "handshake"},
    {"ping", cmd_ping, 0, "ping"},
    {"fail", cmd_fail, 0, "always fails with BadValue"},
    {"sleep", cmd_sleep, 0, "sleep ms milliseconds on the worker"},
    {"whatsmyuri", cmd_whatsmyuri, 0, "the peer address"},
};

typedef struct server {
    wire_cmd_table_t table;
    wire_server_t *srv;
    pthread_t thread;
    int port;
    bool running;
} server_t;

static void *run_server(void *arg)
{
    server_t *s = arg;
    status_t st = STATUS_INIT;
    wire_server_run(s->srv, &st);
    return NULL;
}

static int free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* server_start -- serve cmds on 127.0.0.1:port (port 0: a free one). */
static void server_start(server_t *s, int port)
{
    status_t st = STATUS_INIT;
    assert_int_equal(wire_cmd_table_init(&s->table, cmds, sizeof(cmds) / sizeof(cmds[0]), &st), 0);
    s->port = port ? port : free_port();
    wire_server_config_t cfg = {.bind_ip = "127.0.0.1",
                                .port = s->port,
                                .n_loops = 1,
                                .max_conns = 1000,
                                .min_workers = 2,
                                .max_workers = 32,
                                .slow_ms = -1,
                                .table = &s->table};
    if (wire_server_create(&cfg, &s->srv, &st) != 0)
        fail_msg("create: %s", st.msg);
    pthread_create(&s->thread, NULL, run_server, s);
    s->running = true;
}

static void server_stop(server_t *s)
{
    if (!s->running)
        return;
    wire_server_stop(s->srv, "test");
    pthread_join(s->thread, NULL);
    wire_server_destroy(s->srv);
    wire_cmd_table_destroy(&s->table);
    s->running = false;
}

static wire_client_pool_t *pool_new(const char *bind_ip, int max_per_host)
{
    wire_client_opts_t o = {
        .bind_ip = bind_ip, .max_per_host = max_per_host, .app_name = "test_client"};
    wire_client_pool_t *p = NULL;
    status_t st = STATUS_INIT;
    if (wire_client_pool_create(&o, &p, &st) != 0)
        fail_msg("pool: %s", st.msg);
    return p;
}

static void host_of(char *buf, size_t len, int port)
{
    snprintf(buf, len, "127.0.0.1:%d", port);
}

static int64_t in_ms(int ms)
{
    return time_mono_us() + (int64_t)ms * 1000;
}

/* run_until_ok -- call cmd until it succeeds (the server may still be starting). */
static int run_until_ok(wire_client_pool_t *p, const char *host, const bson_t *cmd, bson_t *reply,
                        status_t *st)
{
    int rc = -1;
    for (int i = 0; i < 200; i++) {
        rc = wire_client_run(p, host, "admin", cmd, in_ms(5000), reply, st);
        if (rc == 0)
            return 0;
        bson_destroy(reply);
        usleep(20 * 1000);
    }
    bson_init(reply);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Calls                                                                     */
/* ------------------------------------------------------------------------ */

static void test_normal_call(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new(NULL, 0);
    char host[64];
    bson_t reply;
    bson_iter_t it;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));

    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    assert_true(bson_iter_init_find(&it, &reply, "ok"));
    assert_true(bson_iter_as_bool(&it));
    bson_destroy(&reply);

    /* the second call reuses the pooled connection */
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(5000), &reply, &st), 0);
    bson_destroy(&reply);
    wire_client_stats_t stats;
    wire_client_pool_stats(p, &stats);
    assert_int_equal(stats.conns_created, 1);
    assert_int_equal(stats.conns_idle, 1);
    assert_int_equal(stats.conns_in_use, 0);
    assert_int_equal(stats.hosts, 1);

    bson_destroy(ping);
    wire_client_pool_destroy(p);
    server_stop(&s);
}

static void test_ok0_reply_returns_its_code_and_document(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new(NULL, 0);
    char host[64];
    bson_t reply;
    bson_iter_t it;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1)), *fail = BCON_NEW("fail", BCON_INT32(1));

    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    bson_destroy(&reply);
    assert_int_equal(wire_client_run(p, host, "test", fail, in_ms(5000), &reply, &st),
                     ERR_BadValue);
    assert_int_equal(st.code, ERR_BadValue);
    assert_string_equal(st.msg, "failing as asked");
    assert_true(bson_iter_init_find(&it, &reply, "codeName"));
    assert_string_equal(bson_iter_utf8(&it, NULL), "BadValue");
    bson_destroy(&reply);
    /* the connection stays usable after a command error */
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(5000), &reply, &st), 0);
    bson_destroy(&reply);

    bson_destroy(ping);
    bson_destroy(fail);
    wire_client_pool_destroy(p);
    server_stop(&s);
}

static void test_deadline_against_a_server_that_never_answers(void **state)
{
    /* a listening socket that never accepts: the kernel completes the handshake */
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);

    wire_client_pool_t *p = pool_new(NULL, 0);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    host_of(host, sizeof(host), ntohs(a.sin_port));
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(300), &reply, &st),
                     ERR_NetworkTimeout);
    assert_true(bson_empty(&reply));
    bson_destroy(&reply);
    wire_client_stats_t stats;
    wire_client_pool_stats(p, &stats);
    assert_int_equal(stats.calls_timed_out, 1);

    bson_destroy(ping);
    wire_client_pool_destroy(p);
    close(fd);
}

static void test_deadline_while_the_command_runs(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new(NULL, 0);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_t *slow = BCON_NEW("sleep", BCON_INT32(1), "ms", BCON_INT32(1500));

    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    bson_destroy(&reply);
    assert_int_equal(wire_client_run(p, host, "admin", slow, in_ms(100), &reply, &st),
                     ERR_NetworkTimeout);
    bson_destroy(&reply);
    /* the timed-out connection was closed; the next call gets a fresh one */
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(5000), &reply, &st), 0);
    bson_destroy(&reply);

    bson_destroy(ping);
    bson_destroy(slow);
    wire_client_pool_destroy(p);
    server_stop(&s);
}

static void test_connection_refused_is_HostUnreachable(void **state)
{
    wire_client_pool_t *p = pool_new(NULL, 0);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));

    host_of(host, sizeof(host), free_port());
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(10000), &reply, &st),
                     ERR_HostUnreachable);
    assert_non_null(strstr(st.msg, host));
    bson_destroy(&reply);
    /* during the back-off a call waits for it or reports the last error */
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(10000), &reply, &st),
                     ERR_HostUnreachable);
    bson_destroy(&reply);
    wire_client_stats_t stats;
    wire_client_pool_stats(p, &stats);
    assert_true(stats.conns_failed >= 1);
    assert_int_equal(stats.conns_created, 0);

    bson_destroy(ping);
    wire_client_pool_destroy(p);
}

static void test_reconnect_after_the_server_restarts(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new(NULL, 0);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    int rc;

    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    bson_destroy(&reply);
    int port = s.port;
    server_stop(&s);

    rc = wire_client_run(p, host, "admin", ping, in_ms(2000), &reply, &st);
    assert_true(rc == ERR_HostUnreachable || rc == ERR_NetworkTimeout);
    bson_destroy(&reply);

    server_start(&s, port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    bson_destroy(&reply);
    wire_client_stats_t stats;
    wire_client_pool_stats(p, &stats);
    assert_true(stats.conns_created >= 2);

    bson_destroy(ping);
    wire_client_pool_destroy(p);
    server_stop(&s);
}

typedef struct worker {
    wire_client_pool_t *p;
    const char *host;
    int ok, failed;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 100; i++) {
        bson_t *cmd = BCON_NEW("sleep", BCON_INT32(1), "ms", BCON_INT32(i % 3));
        bson_t reply;
        status_t st = STATUS_INIT;
        if (wire_client_run(w->p, w->host, "admin", cmd, in_ms(30000), &reply, &st) == 0)
            w->ok++;
        else
            w->failed++;
        bson_destroy(&reply);
        bson_destroy(cmd);
    }
    return NULL;
}

static void test_concurrent_calls_from_many_threads(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new(NULL, 4);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    pthread_t th[8];
    worker_t w[8];

    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    bson_destroy(&reply);
    for (int i = 0; i < 8; i++) {
        w[i] = (worker_t){.p = p, .host = host};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 100);
        assert_int_equal(w[i].failed, 0);
    }
    wire_client_stats_t stats;
    wire_client_pool_stats(p, &stats);
    assert_true(stats.conns_created <= 4); /* max_per_host: the rest queued */
    assert_int_equal(stats.calls, 801);
    assert_int_equal(stats.conns_in_use, 0);

    bson_destroy(ping);
    wire_client_pool_destroy(p);
    server_stop(&s);
}

static void test_bind_ip_is_the_source_address(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new("127.0.0.2", 0);
    char host[64];
    bson_t reply;
    bson_iter_t it;
    status_t st = STATUS_INIT;
    bson_t *cmd = BCON_NEW("whatsmyuri", BCON_INT32(1));

    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, cmd, &reply, &st), 0);
    assert_true(bson_iter_init_find(&it, &reply, "you"));
    assert_true(strncmp(bson_iter_utf8(&it, NULL), "127.0.0.2:", 10) == 0);
    bson_destroy(&reply);
    bson_destroy(cmd);
    wire_client_pool_destroy(p);
    server_stop(&s);

    /* a bind_ip that is not a numeric address is refused up front */
    wire_client_opts_t o = {.bind_ip = "not-an-address"};
    wire_client_pool_t *bad = NULL;
    assert_int_equal(wire_client_pool_create(&o, &bad, &st), ERR_BadValue);
    assert_null(bad);
}

/* ------------------------------------------------------------------------ */
/* Async, auth hook, bad arguments, shutdown                                 */
/* ------------------------------------------------------------------------ */

typedef struct async_result {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n;
    int code;
    bool reply_ok;
} async_result_t;

static void async_cb(void *arg, const bson_t *reply, const status_t *st)
{
    async_result_t *r = arg;
    bson_iter_t it;
    pthread_mutex_lock(&r->lock);
    r->n++;
    r->code = st->code;
    r->reply_ok = bson_iter_init_find(&it, reply, "ok") && bson_iter_as_bool(&it);
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void async_wait(async_result_t *r, int n)
{
    pthread_mutex_lock(&r->lock);
    while (r->n < n)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

static void test_async_calls(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new(NULL, 2);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    async_result_t r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, false};

    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    bson_destroy(&reply);
    for (int i = 0; i < 20; i++)
        assert_int_equal(
            wire_client_run_async(p, host, "admin", ping, in_ms(10000), async_cb, &r, &st), 0);
    async_wait(&r, 20);
    assert_int_equal(r.code, 0);
    assert_true(r.reply_ok);

    bson_destroy(ping);
    wire_client_pool_destroy(p);
    assert_int_equal(r.n, 20); /* each callback ran exactly once */
    server_stop(&s);
}

static void test_destroy_fails_outstanding_calls(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new(NULL, 0);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_t *slow = BCON_NEW("sleep", BCON_INT32(1), "ms", BCON_INT32(3000));
    async_result_t r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, false};

    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    bson_destroy(&reply);
    assert_int_equal(wire_client_run_async(p, host, "admin", slow, in_ms(60000), async_cb, &r, &st),
                     0);
    usleep(100 * 1000);
    wire_client_pool_destroy(p);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.code, ERR_ShutdownInProgress);

    bson_destroy(ping);
    bson_destroy(slow);
    server_stop(&s);
}

typedef struct auth_log {
    int steps;
    bool fail;
} auth_log_t;

/* auth_step -- a two-step exchange: after hello send ping, after ping finish. */
static int auth_step(void *arg, void **state, const char *host, const bson_t *reply,
                     bson_t *next_cmd, status_t *st)
{
    auth_log_t *log = arg;
    log->steps++;
    if (log->fail)
        return status_set(st, ERR_AuthenticationFailed, "refused by the test");
    if (*state == NULL) {
        *state = malloc(1); /* freed by free_state: the test runs under ASan */
        BSON_APPEND_INT32(next_cmd, "ping", 1);
    }
    return 0;
}

static void auth_free(void *arg, void *state)
{
    free(state);
}

static void test_auth_hook_runs_before_the_first_command(void **state)
{
    server_t s = {0};
    wire_client_pool_t *p = pool_new(NULL, 0);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    auth_log_t log = {0};
    wire_client_auth_t auth = {.step = auth_step, .free_state = auth_free, .arg = &log};

    wire_client_pool_set_auth(p, &auth);
    server_start(&s, 0);
    host_of(host, sizeof(host), s.port);
    assert_int_equal(run_until_ok(p, host, ping, &reply, &st), 0);
    bson_destroy(&reply);
    assert_int_equal(log.steps, 2); /* hello reply, then the ping reply */
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(5000), &reply, &st), 0);
    bson_destroy(&reply);
    assert_int_equal(log.steps, 2); /* the pooled connection is not authenticated again */

    /* a failing exchange fails the call with its code */
    log.fail = true;
    wire_client_drop_host(p, host);
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(5000), &reply, &st),
                     ERR_AuthenticationFailed);
    bson_destroy(&reply);

    bson_destroy(ping);
    wire_client_pool_destroy(p);
    server_stop(&s);
}

static void test_bad_arguments(void **state)
{
    wire_client_pool_t *p = pool_new(NULL, 0);
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_t empty = BSON_INITIALIZER;
    static const struct {
        const char *host;
        const char *db;
        bool empty_cmd;
        int64_t deadline;
    } cases[] = {
        {"127.0.0.1:1:2", "admin", false, 1},   {"127.0.0.1:0", "admin", false, 1},
        {"127.0.0.1:x", "admin", false, 1},     {"", "admin", false, 1},
        {"127.0.0.1:27017", NULL, false, 1},    {"127.0.0.1:27017", "admin", true, 1},
        {"127.0.0.1:27017", "admin", false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t dl = cases[i].deadline ? in_ms(1000) : 0;
        assert_int_equal(wire_client_run(p, cases[i].host, cases[i].db,
                                         cases[i].empty_cmd ? &empty : ping, dl, &reply, &st),
                         ERR_BadValue);
        bson_destroy(&reply); /* initialised even on failure */
    }
    /* a deadline already past is a timeout, not a hang */
    assert_int_equal(
        wire_client_run(p, "127.0.0.1:27017", "admin", ping, time_mono_us() - 1000, &reply, &st),
        ERR_NetworkTimeout);
    bson_destroy(&reply);
    bson_destroy(ping);
    wire_client_pool_destroy(p);
}

/* ------------------------------------------------------------------------ */
/* Malformed replies from a raw-socket server                                */
/* ------------------------------------------------------------------------ */

typedef struct raw_server {
    int lfd;
    int port;
    int mode; /* 0: corrupt BSON, 1: wrong responseTo, 2: absurd length */
    pthread_t thread;
} raw_server_t;

static bool read_n(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* raw_main -- answer hello properly, then every other command as mode says. */
static void *raw_main(void *arg)
{
    raw_server_t *rs = arg;
    int fd = accept(rs->lfd, NULL, NULL);
    for (;;) {
        uint8_t hdr[16], *msg;
        wire_header_t h;
        wire_request_t req;
        status_t st = STATUS_INIT;
        wire_buf_t out;
        if (fd < 0 || !read_n(fd, hdr, 16) || wire_parse_header(hdr, 16, &h, &st) != 0)
            break;
        msg = malloc((size_t)h.message_length);
        memcpy(msg, hdr, 16);
        if (!read_n(fd, msg + 16, (size_t)h.message_length - 16) ||
            wire_request_parse(msg, (size_t)h.message_length, &req, &st) != 0) {
            free(msg);
            break;
        }
        bool is_hello = bson_has_field(&req.body, "hello");
        bson_t *ok = BCON_NEW("ok", BCON_DOUBLE(1.0));
        wire_buf_init(&out);
        wire_encode_op_msg(&out, 1, rs->mode == 1 && !is_hello ? 9999 : h.request_id, 0, ok, &st);
        if (!is_hello && rs->mode == 0)
            out.data[16 + 4 + 1 + 4] = 0x7f; /* the first element's type byte: no such type */
        if (!is_hello && rs->mode == 2)
            out.data[0] = 0xff, out.data[3] = 0x7f; /* messageLength > 48 MB */
        send(fd, out.data, out.len, 0);
        wire_buf_destroy(&out);
        bson_destroy(ok);
        wire_request_destroy(&req);
        free(msg);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void test_malformed_replies_are_errors(void **state)
{
    static const int expect[] = {ERR_InvalidBSON, ERR_ProtocolError, ERR_ProtocolError};
    for (int mode = 0; mode < 3; mode++) {
        raw_server_t rs = {.mode = mode};
        struct sockaddr_in a = {0};
        socklen_t len = sizeof(a);
        rs.lfd = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(rs.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(rs.lfd, 4), 0);
        getsockname(rs.lfd, (struct sockaddr *)&a, &len);
        rs.port = ntohs(a.sin_port);
        pthread_create(&rs.thread, NULL, raw_main, &rs);

        wire_client_pool_t *p = pool_new(NULL, 1);
        char host[64];
        bson_t reply;
        status_t st = STATUS_INIT;
        bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
        host_of(host, sizeof(host), rs.port);
        assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(10000), &reply, &st),
                         expect[mode]);
        assert_true(bson_empty(&reply));
        bson_destroy(&reply);
        bson_destroy(ping);
        wire_client_pool_destroy(p); /* closes the connection: raw_main sees EOF */
        pthread_join(rs.thread, NULL);
        close(rs.lfd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
