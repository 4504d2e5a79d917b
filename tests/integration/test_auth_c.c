/*
 * test_auth_c.c -- libmongoc against micad --auth: the localhost exception
 * creates the first user, then mongodb://user:pass@host/?authSource=admin
 * logs in with SCRAM-SHA-256 and SCRAM-SHA-1 (and the default choice), a wrong
 * password is AuthenticationFailed 18, and an unauthenticated client is
 * refused with Unauthorized 13.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static itest_server_t server;

/* with_auth -- a client with credentials and (maybe) a mechanism. */
static mongoc_client_t *with_auth(const char *user, const char *pw, const char *mech)
{
    char uri[512];
    mongoc_client_t *c;
    (void)snprintf(uri, sizeof(uri), "mongodb://%s:%s@127.0.0.1:%d/?authSource=admin%s%s", user, pw,
                   server.port, mech ? "&authMechanism=" : "", mech ? mech : "");
    c = mongoc_client_new(uri);
    assert_non_null(c);
    mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    return c;
}

/* first_user_then_scram -- the whole story in order. */
static void test_first_user_then_scram(void **state)
{
    mongoc_client_t *anon = itest_client(&server, NULL);
    (void)state;
    assert_int_equal(itest_run(anon, "test", BCON_NEW("find", "c")), 13);
    assert_int_equal(itest_run(anon, "admin",
                               BCON_NEW("createUser", "cuser", "pwd", "c-pw", "roles", "[", "{",
                                        "role", "readWrite", "db", "test", "}", "]")),
                     0);
    assert_int_equal(
        itest_run(anon, "admin", BCON_NEW("createUser", "again", "pwd", "x", "roles", "[", "]")),
        13);
    mongoc_client_destroy(anon);

    static const char *const mechs[] = {"SCRAM-SHA-256", "SCRAM-SHA-1", NULL};
    for (size_t i = 0; i < 3; i++) {
        mongoc_client_t *c = with_auth("cuser", "c-pw", mechs[i]);
        mongoc_collection_t *coll = mongoc_client_get_collection(c, "test", "c");
        bson_error_t err;
        bson_t *doc = BCON_NEW("i", BCON_INT32((int32_t)i));
        assert_true(mongoc_collection_insert_one(coll, doc, NULL, NULL, &err));
        bson_destroy(doc);
        bson_t *q = bson_new();
        int64_t n = mongoc_collection_count_documents(coll, q, NULL, NULL, NULL, &err);
        assert_int_equal(n, (int64_t)i + 1);
        bson_destroy(q);
        assert_int_equal(itest_run(c, "admin", BCON_NEW("serverStatus", BCON_INT32(1))), 13);
        mongoc_collection_destroy(coll);
        mongoc_client_destroy(c);
    }
    /* libmongoc reports a failed handshake as its own CLIENT_AUTHENTICATE error, quoting ours */
    mongoc_client_t *bad = with_auth("cuser", "wrong", "SCRAM-SHA-256");
    bson_error_t err;
    bson_t reply, *cmd = BCON_NEW("find", "c");
    assert_false(mongoc_client_command_simple(bad, "test", cmd, NULL, &reply, &err));
    assert_int_equal(err.domain, MONGOC_ERROR_CLIENT);
    assert_int_equal(err.code, MONGOC_ERROR_CLIENT_AUTHENTICATE);
    assert_non_null(strstr(err.message, "Authentication failed"));
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_client_destroy(bad);
}

int main(void)
{
    static const char *const args[] = {"--auth", NULL};
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    int failed;

    mongoc_init();
    if (itest_server_start(&server, args) != 0)
        return 1;
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (!itest_server_alive(&server))
        failed++;
    if (itest_server_stop(&server, failed > 0) != 0)
        failed++;
    mongoc_cleanup();
    return failed ? 1 : 0;
}
