/*
 * test_handshake.c -- micad's handshake and server-information commands as
 * libmongoc sees them: ping, hello (plain, legacy, awaitable), buildInfo,
 * serverStatus, getParameter, error codes, and compressed conversations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static itest_server_t server;

/* run -- a command on db; returns whether it succeeded, reply always initialised. */
static bool run(mongoc_client_t *c, const char *db, bson_t *cmd, bson_t *reply, bson_error_t *err)
{
    bool ok = mongoc_client_command_simple(c, db, cmd, NULL, reply, err);
    bson_destroy(cmd);
    return ok;
}

/* get_i64 -- a numeric field at a dotted path. */
static int64_t get_i64(const bson_t *doc, const char *path)
{
    bson_iter_t it, f;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, path, &f))
        fail_msg("missing field %s", path);
    return bson_iter_as_int64(&f);
}

/* has_field -- whether a dotted path exists. */
static bool has_field(const bson_t *doc, const char *path)
{
    bson_iter_t it, f;
    return bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, path, &f);
}

/* get_str -- a string field at a dotted path. */
static const char *get_str(const bson_t *doc, const char *path)
{
    bson_iter_t it, f;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, path, &f) || !BSON_ITER_HOLDS_UTF8(&f))
        fail_msg("missing string field %s", path);
    return bson_iter_utf8(&f, NULL);
}

static void test_ping_answers_ok(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_t reply;
    bson_error_t err;
    assert_true(run(c, "admin", BCON_NEW("ping", BCON_INT32(1)), &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "ok"));
    assert_int_equal(bson_iter_type(&it), BSON_TYPE_DOUBLE); /* ok: 1.0, as MongoDB */
    assert_true(bson_iter_double(&it) == 1.0);
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

static void test_hello_reports_a_writable_wire_21_server(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_t reply;
    bson_error_t err;
    bson_iter_t it;
    assert_true(run(c, "admin", BCON_NEW("hello", BCON_INT32(1)), &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "isWritablePrimary") && bson_iter_as_bool(&it));
    assert_int_equal(get_i64(&reply, "maxWireVersion"), 21);
    assert_int_equal(get_i64(&reply, "minWireVersion"), 0);
    assert_int_equal(get_i64(&reply, "maxBsonObjectSize"), 16777216);
    assert_int_equal(get_i64(&reply, "maxMessageSizeBytes"), 48000000);
    assert_int_equal(get_i64(&reply, "maxWriteBatchSize"), 100000);
    assert_int_equal(get_i64(&reply, "logicalSessionTimeoutMinutes"), 30);
    assert_true(get_i64(&reply, "connectionId") > 0);
    assert_true(has_field(&reply, "localTime"));
    assert_true(has_field(&reply, "topologyVersion.processId"));
    assert_int_equal(get_i64(&reply, "topologyVersion.counter"), 0);
    assert_false(has_field(&reply, "saslSupportedMechs"));
    assert_false(has_field(&reply, "helloOk"));
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

static void test_is_master_uses_legacy_field_and_hello_ok(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_t reply;
    bson_error_t err;
    bson_iter_t it;
    assert_true(run(c, "admin", BCON_NEW("isMaster", BCON_INT32(1), "helloOk", BCON_BOOL(true)),
                    &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "ismaster") && bson_iter_as_bool(&it));
    assert_true(bson_iter_init_find(&it, &reply, "helloOk") && bson_iter_as_bool(&it));
    assert_false(has_field(&reply, "isWritablePrimary"));
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

static void test_build_info_is_7_0_0_with_mica_beside(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_t reply;
    bson_error_t err;
    assert_true(run(c, "admin", BCON_NEW("buildInfo", BCON_INT32(1)), &reply, &err));
    assert_string_equal(get_str(&reply, "version"), "7.0.0");
    assert_int_equal(get_i64(&reply, "versionArray.0"), 7);
    assert_int_equal(get_i64(&reply, "versionArray.1"), 0);
    assert_int_equal(get_i64(&reply, "bits"), 64);
    assert_string_equal(get_str(&reply, "javascriptEngine"), "none");
    assert_string_equal(get_str(&reply, "storageEngines.0"), "wiredTiger");
    assert_true(has_field(&reply, "mica.version"));
    assert_true(has_field(&reply, "openssl.running"));
    assert_true(has_field(&reply, "modules"));
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

static void test_server_status_counts_connections_and_requests(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_t reply;
    bson_error_t err;
    assert_true(run(c, "admin", BCON_NEW("serverStatus", BCON_INT32(1)), &reply, &err));
    assert_string_equal(get_str(&reply, "process"), "micad");
    assert_string_equal(get_str(&reply, "version"), "7.0.0");
    assert_int_equal(get_i64(&reply, "pid"), server.pid);
    assert_true(get_i64(&reply, "connections.current") >= 1);
    assert_true(get_i64(&reply, "connections.totalCreated") >= 1);
    assert_true(get_i64(&reply, "connections.available") > 0);
    assert_true(get_i64(&reply, "opcounters.command") >= 1);
    assert_true(get_i64(&reply, "network.bytesIn") > 0);
    assert_true(get_i64(&reply, "network.numRequests") >= 1);
    assert_true(get_i64(&reply, "mem.resident") > 0);
    assert_true(has_field(&reply, "uptimeMillis"));
    assert_true(has_field(&reply, "localTime"));
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

/* An error reply: code and codeName as MongoDB. */
typedef struct err_case {
    const char *name;
    const char *db;
    const char *json;
    int code;
    const char *code_name;
    const char *msg;
} err_case_t;

static const err_case_t err_cases[] = {
    {"unknown command", "test", "{\"nosuch\": 1}", 59, "CommandNotFound",
     "no such command: 'nosuch'"},
    {"case-sensitive names", "test", "{\"PING\": 1}", 59, "CommandNotFound",
     "no such command: 'PING'"},
    {"admin-only elsewhere", "test", "{\"getCmdLineOpts\": 1}", 13, "Unauthorized",
     "getCmdLineOpts may only be run against the admin database."},
    {"unknown parameter", "admin", "{\"getParameter\": 1, \"nosuchParam\": 1}", 72,
     "InvalidOptions", "no option found to get"},
    {"negative maxTimeMS", "admin", "{\"ping\": 1, \"maxTimeMS\": -1}", 2, "BadValue", NULL},
    {"sasl without auth", "admin",
     "{\"saslStart\": 1, \"mechanism\": \"SCRAM-SHA-256\", "
     "\"payload\": {\"$binary\": {\"base64\": \"\", "
     "\"subType\": \"00\"}}}",
     2, "BadValue", NULL},
    {"unknown mechanism", "admin", "{\"saslStart\": 1, \"mechanism\": \"GSSAPI\"}", 334,
     "MechanismUnavailable", NULL},
    {"bad session list", "admin", "{\"endSessions\": 1}", 14, "TypeMismatch", NULL},
    {"unknown log", "admin", "{\"getLog\": \"nosuch\"}", 96, "OperationFailed", NULL},
};

static void test_errors_have_mongodb_codes(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const err_case_t *e = &err_cases[i];
        bson_error_t err;
        bson_t reply;
        bson_t *cmd = bson_new_from_json((const uint8_t *)e->json, -1, &err);
        assert_non_null(cmd);
        if (run(c, e->db, cmd, &reply, &err))
            fail_msg("%s: succeeded", e->name);
        if ((int)get_i64(&reply, "code") != e->code)
            fail_msg("%s: code %d, want %d", e->name, (int)get_i64(&reply, "code"), e->code);
        assert_string_equal(get_str(&reply, "codeName"), e->code_name);
        assert_int_equal(get_i64(&reply, "ok"), 0);
        if (e->msg != NULL)
            assert_string_equal(get_str(&reply, "errmsg"), e->msg);
        bson_destroy(&reply);
    }
    mongoc_client_destroy(c);
}

static void test_get_parameter_fcv_is_7_0(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_t reply;
    bson_error_t err;
    assert_true(
        run(c, "admin",
            BCON_NEW("getParameter", BCON_INT32(1), "featureCompatibilityVersion", BCON_INT32(1)),
            &reply, &err));
    assert_string_equal(get_str(&reply, "featureCompatibilityVersion.version"), "7.0");
    bson_destroy(&reply);
    assert_true(run(c, "admin", BCON_NEW("getParameter", BCON_UTF8("*")), &reply, &err));
    assert_true(has_field(&reply, "featureCompatibilityVersion.version"));
    assert_true(has_field(&reply, "logLevel"));
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

static void test_get_cmd_line_opts_shows_argv_and_parsed(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_t reply;
    bson_error_t err;
    assert_true(run(c, "admin", BCON_NEW("getCmdLineOpts", BCON_INT32(1)), &reply, &err));
    assert_int_equal(get_i64(&reply, "parsed.net.port"), server.port);
    assert_string_equal(get_str(&reply, "parsed.storage.dbPath"), server.dbpath);
    assert_string_equal(get_str(&reply, "argv.1"), "--port");
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

static void test_info_commands_answer(void **state)
{
    static const char *const cmds[] = {"hostInfo", "whatsmyuri", "connectionStatus", "listCommands",
                                       "logout"};
    mongoc_client_t *c = itest_client(&server, NULL);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        bson_t reply;
        bson_error_t err;
        if (!run(c, "admin", BCON_NEW(cmds[i], BCON_INT32(1)), &reply, &err))
            fail_msg("%s failed: %s", cmds[i], err.message);
        bson_destroy(&reply);
    }
    bson_t reply;
    bson_error_t err;
    assert_true(run(c, "admin", BCON_NEW("whatsmyuri", BCON_INT32(1)), &reply, &err));
    assert_non_null(strstr(get_str(&reply, "you"), "127.0.0.1:"));
    bson_destroy(&reply);
    assert_true(run(c, "admin", BCON_NEW("listCommands", BCON_INT32(1)), &reply, &err));
    assert_true(has_field(&reply, "commands.hello.help"));
    assert_true(has_field(&reply, "commands.shutdown.adminOnly"));
    bson_destroy(&reply);
    assert_true(run(c, "admin", BCON_NEW("getLog", BCON_UTF8("*")), &reply, &err));
    assert_string_equal(get_str(&reply, "names.0"), "global");
    bson_destroy(&reply);
    assert_true(run(c, "admin", BCON_NEW("getLog", BCON_UTF8("global")), &reply, &err));
    assert_true(get_i64(&reply, "totalLinesWritten") > 0);
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

/* mono_ms -- monotonic milliseconds. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_awaitable_hello_waits_for_max_await_time(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_t reply, tv;
    bson_error_t err;
    bson_iter_t it;
    assert_true(run(c, "admin", BCON_NEW("hello", BCON_INT32(1)), &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "topologyVersion"));
    {
        const uint8_t *data;
        uint32_t len;
        bson_iter_document(&it, &len, &data);
        bson_init_static(&tv, data, len);
    }
    bson_t *cmd = BCON_NEW("hello", BCON_INT32(1), "topologyVersion", BCON_DOCUMENT(&tv),
                           "maxAwaitTimeMS", BCON_INT64(1000));
    int64_t t0 = mono_ms();
    bson_t reply2;
    assert_true(run(c, "admin", cmd, &reply2, &err));
    int64_t waited = mono_ms() - t0;
    /* a generous lower bound only: it must not answer at once */
    if (waited < 500)
        fail_msg("awaitable hello answered after %lld ms", (long long)waited);
    assert_true(has_field(&reply2, "isWritablePrimary"));
    bson_destroy(&reply2);
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

static void test_awaitable_hello_with_stale_version_answers(void **state)
{
    mongoc_client_t *c = itest_client(&server, NULL);
    bson_oid_t other;
    bson_t reply;
    bson_error_t err;
    bson_oid_init(&other, NULL);
    /* another processId: the client's view is stale, so the answer is immediate */
    assert_true(
        run(c, "admin",
            BCON_NEW("hello", BCON_INT32(1), "topologyVersion", "{", "processId", BCON_OID(&other),
                     "counter", BCON_INT64(0), "}", "maxAwaitTimeMS", BCON_INT64(60000)),
            &reply, &err));
    assert_true(has_field(&reply, "isWritablePrimary"));
    bson_destroy(&reply);
    mongoc_client_destroy(c);
}

static void test_compression_negotiated_for_each_compressor(void **state)
{
    static const char *const names[] = {"zlib", "zstd", "snappy"};
    for (size_t i = 0; i < 3; i++) {
        char opts[64];
        bson_t reply;
        bson_error_t err;
        bson_iter_t it;
        (void)snprintf(opts, sizeof(opts), "compressors=%s", names[i]);
        mongoc_client_t *c = itest_client(&server, opts);
        /* the server answers hello's compression list with what it shares */
        assert_true(run(c, "admin",
                        BCON_NEW("hello", BCON_INT32(1), "compression", "[", BCON_UTF8("nosuch"),
                                 BCON_UTF8(names[i]), "]"),
                        &reply, &err));
        assert_true(bson_iter_init(&it, &reply));
        assert_string_equal(get_str(&reply, "compression.0"), names[i]);
        assert_false(has_field(&reply, "compression.1"));
        bson_destroy(&reply);
        /* commands still work over the compressed connection, big replies included */
        for (int k = 0; k < 3; k++) {
            if (!run(c, "admin", BCON_NEW("getLog", BCON_UTF8("global")), &reply, &err))
                fail_msg("%s: getLog failed: %s", names[i], err.message);
            bson_destroy(&reply);
            assert_true(run(c, "admin", BCON_NEW("ping", BCON_INT32(1)), &reply, &err));
            bson_destroy(&reply);
        }
        mongoc_client_destroy(c);
    }
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
