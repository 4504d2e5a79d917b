/*
 * test_transport.c -- the server transport in-process (no micad): a tiny
 * command table served on a loopback port, driven by raw sockets using the
 * wire codecs. Covers request/reply, pipelining order, parking and
 * wire_server_wake, stop while a command is parked, counters, and a bad frame
 * closing only its own connection.
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

static int echo(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, cmd, "n"))
        BSON_APPEND_INT32(reply, "n", bson_iter_int32(&it));
    return 0;
}

static int park(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    if (!op->resumed) {
        op->park_ms = 60000; /* only a wake or a stop ends it in these tests */
        return 0;
    }
    BSON_APPEND_BOOL(reply, "woken", true);
    return 0;
}

static const wire_command_t cmds[] = {
    {"echo", echo, 0, "echo n"},
    {"park", park, 0, "wait until woken"},
};

typedef struct fixture {
    wire_cmd_table_t table;
    wire_server_t *srv;
    pthread_t thread;
    int port;
    int run_rc;
    bool joined;
} fixture_t;

static void *run_server(void *arg)
{
    fixture_t *f = arg;
    status_t st = STATUS_INIT;
    f->run_rc = wire_server_run(f->srv, &st);
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

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    status_t st = STATUS_INIT;
    assert_int_equal(wire_cmd_table_init(&f->table, cmds, 2, &st), 0);
    f->port = free_port();
    wire_server_config_t cfg = {.bind_ip = "127.0.0.1",
                                .port = f->port,
                                .n_loops = 2,
                                .max_conns = 100,
                                .min_workers = 1,
                                .max_workers = 4,
                                .slow_ms = -1,
                                .table = &f->table};
    if (wire_server_create(&cfg, &f->srv, &st) != 0)
        fail_msg("create: %s", st.msg);
    pthread_create(&f->thread, NULL, run_server, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (!f->joined) {
        wire_server_stop(f->srv, "test teardown");
        pthread_join(f->thread, NULL);
    }
    wire_server_destroy(f->srv);
    wire_cmd_table_destroy(&f->table);
    free(f);
    return 0;
}

static int dial(int port)
{
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 200; i++) { /* the loops may still be starting */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        close(fd);
        usleep(10000);
    }
    fail_msg("cannot connect");
    return -1;
}

static void send_cmd(int fd, int32_t id, const bson_t *body)
{
    wire_buf_t b;
    status_t st = STATUS_INIT;
    wire_buf_init(&b);
    assert_int_equal(wire_encode_op_msg(&b, id, 0, 0, body, &st), 0);
    assert_int_equal(send(fd, b.data, b.len, 0), (ssize_t)b.len);
    wire_buf_destroy(&b);
}

/* recv_reply -- one reply; returns its responseTo, copies the body into out. */
static int32_t recv_reply(int fd, bson_t *out)
{
    uint8_t hdr[16], *msg;
    wire_header_t h;
    wire_request_t req;
    status_t st = STATUS_INIT;
    size_t got = 0;
    while (got < 16) {
        ssize_t n = recv(fd, hdr + got, 16 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    assert_int_equal(wire_parse_header(hdr, 16, &h, &st), 0);
    msg = malloc((size_t)h.message_length);
    memcpy(msg, hdr, 16);
    while (got < (size_t)h.message_length) {
        ssize_t n = recv(fd, msg + got, (size_t)h.message_length - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_int_equal(wire_request_parse(msg, got, &req, &st), 0);
    bson_copy_to(&req.body, out);
    wire_request_destroy(&req);
    free(msg);
    return h.response_to;
}

static void test_request_reply_and_pipelining_keep_order(void **state)
{
    fixture_t *f = *state;
    int fd = dial(f->port);
    for (int i = 1; i <= 5; i++) {
        bson_t *cmd =
            BCON_NEW("echo", BCON_INT32(1), "n", BCON_INT32(i), "$db", BCON_UTF8("admin"));
        send_cmd(fd, 100 + i, cmd); /* all sent before any reply is read */
        bson_destroy(cmd);
    }
    for (int i = 1; i <= 5; i++) {
        bson_t reply;
        bson_iter_t it;
        assert_int_equal(recv_reply(fd, &reply), 100 + i);
        assert_true(bson_iter_init_find(&it, &reply, "n"));
        assert_int_equal(bson_iter_int32(&it), i);
        bson_destroy(&reply);
    }
    close(fd);
    wire_server_stats_t s;
    wire_server_stats(f->srv, &s);
    assert_true(s.num_requests >= 5);
    assert_true(s.conns_total >= 1);
    assert_true(s.bytes_out > 0);
}

static void test_parked_command_answers_on_wake(void **state)
{
    fixture_t *f = *state;
    int fd = dial(f->port);
    bson_t *cmd = BCON_NEW("park", BCON_INT32(1), "$db", BCON_UTF8("admin"));
    bson_t reply;
    bson_iter_t it;
    send_cmd(fd, 7, cmd);
    bson_destroy(cmd);
    usleep(200 * 1000); /* let it park */
    /* while parked, the other connections are served */
    int other = dial(f->port);
    cmd = BCON_NEW("echo", BCON_INT32(1), "$db", BCON_UTF8("admin"));
    send_cmd(other, 8, cmd);
    bson_destroy(cmd);
    assert_int_equal(recv_reply(other, &reply), 8);
    bson_destroy(&reply);
    close(other);
    wire_server_wake(f->srv);
    assert_int_equal(recv_reply(fd, &reply), 7);
    assert_true(bson_iter_init_find(&it, &reply, "woken"));
    bson_destroy(&reply);
    close(fd);
}

static void test_bad_frame_closes_only_its_connection(void **state)
{
    fixture_t *f = *state;
    int bad = dial(f->port), good = dial(f->port);
    uint8_t junk[16] = {0xff, 0xff, 0xff, 0x7f}; /* 2 GB message length */
    char c;
    bson_t reply;
    assert_int_equal(send(bad, junk, sizeof(junk), 0), 16);
    assert_true(recv(bad, &c, 1, 0) <= 0);
    bson_t *cmd = BCON_NEW("echo", BCON_INT32(1), "$db", BCON_UTF8("admin"));
    send_cmd(good, 9, cmd);
    bson_destroy(cmd);
    assert_int_equal(recv_reply(good, &reply), 9);
    bson_destroy(&reply);
    close(bad);
    close(good);
}

static void test_stop_answers_parked_and_returns(void **state)
{
    fixture_t *f = *state;
    int fd = dial(f->port);
    bson_t *cmd = BCON_NEW("park", BCON_INT32(1), "$db", BCON_UTF8("admin"));
    bson_t reply;
    send_cmd(fd, 11, cmd);
    bson_destroy(cmd);
    usleep(200 * 1000);
    wire_server_stop(f->srv, "test");
    assert_true(wire_server_stopping(f->srv));
    assert_int_equal(recv_reply(fd, &reply), 11); /* answered before the close */
    bson_destroy(&reply);
    pthread_join(f->thread, NULL);
    f->joined = true;
    assert_int_equal(f->run_rc, 0);
    close(fd);
}

static void test_busy_port_is_an_error(void **state)
{
    fixture_t *f = *state;
    wire_server_t *second = NULL;
    status_t st = STATUS_INIT;
    wire_server_config_t cfg = {
        .bind_ip = "127.0.0.1", .port = f->port, .n_loops = 1, .table = &f->table};
    assert_int_equal(wire_server_create(&cfg, &second, &st), WIRE_ERR_SOCKET);
    assert_null(second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
