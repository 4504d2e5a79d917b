/*
 * test_wire_client.c -- wire/'s intra-cluster client against a real micad:
 * ping, an ok:0 reply, whatsmyuri from a bind_ip of 127.0.0.2 (the source
 * address a member dials from), a SIGSTOPped micad (the deadline fires, the
 * call reports NetworkTimeout) and the same micad after SIGCONT. The client's
 * edge cases (refused connections, restarts, malformed replies, threads) are
 * in tests/unit/wire/test_client.c against an in-process server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "wire/wire.h"

static itest_server_t server;

static int64_t in_ms(int ms)
{
    return time_mono_us() + (int64_t)ms * 1000;
}

static wire_client_pool_t *pool_new(const char *bind_ip)
{
    wire_client_opts_t o = {.bind_ip = bind_ip, .app_name = "itest_wire_client"};
    wire_client_pool_t *p = NULL;
    status_t st = STATUS_INIT;
    if (wire_client_pool_create(&o, &p, &st) != 0)
        fail_msg("pool: %s", st.msg);
    return p;
}

static void host_of(char *buf, size_t len)
{
    snprintf(buf, len, "127.0.0.1:%d", server.port);
}

static void test_ping_and_command_error(void **state)
{
    wire_client_pool_t *p = pool_new(NULL);
    char host[64];
    bson_t reply;
    bson_iter_t it;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_t *bad = BCON_NEW("noSuchCommand", BCON_INT32(1));

    host_of(host, sizeof(host));
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(10000), &reply, &st), 0);
    bson_destroy(&reply);
    assert_int_equal(wire_client_run(p, host, "test", bad, in_ms(10000), &reply, &st),
                     ERR_CommandNotFound);
    assert_true(bson_iter_init_find(&it, &reply, "codeName"));
    assert_string_equal(bson_iter_utf8(&it, NULL), "CommandNotFound");
    bson_destroy(&reply);
    bson_destroy(ping);
    bson_destroy(bad);
    wire_client_pool_destroy(p);
}

static void test_bind_ip_seen_by_whatsmyuri(void **state)
{
    wire_client_pool_t *p = pool_new("127.0.0.2");
    char host[64];
    bson_t reply;
    bson_iter_t it;
    status_t st = STATUS_INIT;
    bson_t *cmd = BCON_NEW("whatsmyuri", BCON_INT32(1));

    host_of(host, sizeof(host));
    assert_int_equal(wire_client_run(p, host, "admin", cmd, in_ms(10000), &reply, &st), 0);
    assert_true(bson_iter_init_find(&it, &reply, "you"));
    assert_true(strncmp(bson_iter_utf8(&it, NULL), "127.0.0.2:", 10) == 0);
    bson_destroy(&reply);
    bson_destroy(cmd);
    wire_client_pool_destroy(p);
}

static void test_stopped_server_times_out_then_recovers(void **state)
{
    wire_client_pool_t *p = pool_new(NULL);
    char host[64];
    bson_t reply;
    status_t st = STATUS_INIT;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));

    host_of(host, sizeof(host));
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(10000), &reply, &st), 0);
    bson_destroy(&reply);
    kill(server.pid, SIGSTOP);
    int rc = wire_client_run(p, host, "admin", ping, in_ms(500), &reply, &st);
    kill(server.pid, SIGCONT);
    assert_int_equal(rc, ERR_NetworkTimeout);
    bson_destroy(&reply);
    assert_int_equal(wire_client_run(p, host, "admin", ping, in_ms(10000), &reply, &st), 0);
    bson_destroy(&reply);
    bson_destroy(ping);
    wire_client_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return ITEST_MAIN(tests, &server, NULL, NULL);
}
