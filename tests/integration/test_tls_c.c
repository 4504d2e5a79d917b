/*
 * test_tls_c.c -- libmongoc over TLS against micad --tlsMode requireTLS --auth:
 * the test makes its own CA, server and client certificates with the openssl
 * command line (no key is committed). A client with tls=true&tlsCAFile=...
 * logs in with SCRAM-SHA-256 and SCRAM-SHA-1 and runs CRUD; a client
 * certificate logs in with MONGODB-X509 as the $external user its subject
 * names and is held to that user's roles; a plain client, a client that does
 * not trust the server's CA, and a certificate no trusted CA signed are
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static itest_server_t server;
static char certs[256]; /* the temporary directory of the certificates */

#define CLIENT_SUBJECT "CN=client,OU=tests,O=Mica"

/* sh -- run a shell command quietly; 0 when it exited 0. */
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd) == 0 ? 0 : -1;
}

/* make_certs -- ca.pem; server.pem (SAN localhost, 127.0.0.1); client.pem; rogue.pem. */
static int make_certs(void)
{
    (void)snprintf(certs, sizeof(certs), "/tmp/mica-tlsc-XXXXXX");
    if (mkdtemp(certs) == NULL)
        return -1;
    const char *q = ">/dev/null 2>&1";
    if (sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=Mica Test CA' "
           "-keyout ca.key -out ca.pem %s",
           certs, q) != 0 ||
        sh("cd %s && echo 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.cnf", certs) != 0)
        return -1;
    static const char *const names[] = {"server", "client"};
    static const char *const subjects[] = {"/CN=localhost", "/O=Mica/OU=tests/CN=client"};
    for (int i = 0; i < 2; i++) {
        if (sh("cd %s && openssl req -newkey rsa:2048 -nodes -subj '%s' -keyout %s.key -out %s.csr "
               "%s && openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
               "-days 2 %s -out %s.crt %s && cat %s.crt %s.key > %s.pem",
               certs, subjects[i], names[i], names[i], q, names[i],
               i == 0 ? "-extfile san.cnf" : "", names[i], q, names[i], names[i], names[i]) != 0)
            return -1;
    }
    if (sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=rogue' "
           "-keyout rogue.key -out rogue.crt %s && cat rogue.crt rogue.key > rogue.pem",
           certs, q) != 0)
        return -1;
    return sh("chmod 600 %s/*", certs);
}

/* client -- a TLS client; userinfo "user:pw@" or ""; more URI options after the CA. */
static mongoc_client_t *client(const char *userinfo, const char *opts)
{
    char uri[1024];
    mongoc_client_t *c;
    (void)snprintf(uri, sizeof(uri),
                   "mongodb://%s127.0.0.1:%d/?tls=true&tlsCAFile=%s/ca.pem&"
                   "serverSelectionTimeoutMS=10000%s%s",
                   userinfo, server.port, certs, opts ? "&" : "", opts ? opts : "");
    c = mongoc_client_new(uri);
    assert_non_null(c);
    mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    return c;
}

/* crud -- insert, find, update, delete on test.<coll> through c. */
static void crud(mongoc_client_t *c, const char *coll_name)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "test", coll_name);
    bson_error_t err;
    bson_t *doc = BCON_NEW("_id", BCON_INT32(1), "v", BCON_UTF8("over TLS"));
    assert_true(mongoc_collection_insert_one(coll, doc, NULL, NULL, &err));
    bson_destroy(doc);

    bson_t *filter = BCON_NEW("_id", BCON_INT32(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
    const bson_t *got;
    bson_iter_t it;
    assert_true(mongoc_cursor_next(cur, &got));
    assert_true(bson_iter_init_find(&it, got, "v"));
    assert_string_equal(bson_iter_utf8(&it, NULL), "over TLS");
    assert_false(mongoc_cursor_next(cur, &got));
    assert_false(mongoc_cursor_error(cur, &err));
    mongoc_cursor_destroy(cur);

    bson_t *upd = BCON_NEW("$set", "{", "v", BCON_UTF8("updated"), "}");
    bson_t reply;
    assert_true(mongoc_collection_update_one(coll, filter, upd, NULL, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "modifiedCount"));
    assert_int_equal(bson_iter_as_int64(&it), 1);
    bson_destroy(&reply);
    bson_destroy(upd);

    assert_true(mongoc_collection_delete_one(coll, filter, NULL, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "deletedCount"));
    assert_int_equal(bson_iter_as_int64(&it), 1);
    bson_destroy(&reply);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
}

/* test_first_user_over_tls -- the localhost exception over TLS, then SCRAM and CRUD. */
static void test_scram_crud_over_tls(void **state)
{
    (void)state;
    mongoc_client_t *anon = client("", NULL);
    assert_int_equal(itest_run(anon, "test", BCON_NEW("find", "c")), 13);
    assert_int_equal(itest_run(anon, "admin",
                               BCON_NEW("createUser", "admin", "pwd", "admin-pw", "roles", "[",
                                        BCON_UTF8("root"), "]")),
                     0);
    mongoc_client_destroy(anon);

    mongoc_client_t *adm = client("admin:admin-pw@", "authSource=admin");
    assert_int_equal(itest_run(adm, "admin",
                               BCON_NEW("createUser", "app", "pwd", "app-pw", "roles", "[", "{",
                                        "role", "readWrite", "db", "test", "}", "]")),
                     0);
    mongoc_client_destroy(adm);

    static const char *const mechs[] = {"authMechanism=SCRAM-SHA-256", "authMechanism=SCRAM-SHA-1"};
    for (int i = 0; i < 2; i++) {
        char opts[128];
        (void)snprintf(opts, sizeof(opts), "authSource=admin&%s", mechs[i]);
        mongoc_client_t *c = client("app:app-pw@", opts);
        crud(c, i == 0 ? "sha256" : "sha1");
        /* readWrite on test only */
        assert_int_equal(
            itest_run(c, "other", BCON_NEW("insert", "x", "documents", "[", "{", "}", "]")), 13);
        mongoc_client_destroy(c);
    }
}

/* test_x509_client_certificate -- MONGODB-X509: the subject is the $external user. */
static void test_x509_client_certificate(void **state)
{
    (void)state;
    mongoc_client_t *adm = client("admin:admin-pw@", "authSource=admin");
    assert_int_equal(itest_run(adm, "$external",
                               BCON_NEW("createUser", CLIENT_SUBJECT, "roles", "[", "{", "role",
                                        "readWrite", "db", "test", "}", "]")),
                     0);
    mongoc_client_destroy(adm);

    char opts[512];
    (void)snprintf(opts, sizeof(opts),
                   "tlsCertificateKeyFile=%s/client.pem&authMechanism=MONGODB-X509&"
                   "authSource=%%24external",
                   certs);
    mongoc_client_t *c = client("", opts);
    crud(c, "x509");
    bson_t reply;
    bson_error_t err;
    bson_t *cmd = BCON_NEW("connectionStatus", BCON_INT32(1));
    assert_true(mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, &err));
    char *json = bson_as_relaxed_extended_json(&reply, NULL);
    assert_non_null(strstr(json, CLIENT_SUBJECT));
    assert_non_null(strstr(json, "$external"));
    bson_free(json);
    bson_destroy(&reply);
    bson_destroy(cmd);
    assert_int_equal(
        itest_run(c, "other", BCON_NEW("insert", "x", "documents", "[", "{", "}", "]")), 13);
    mongoc_client_destroy(c);
}

/* no_hello -- whether a hello through c fails (the connection is refused). */
static bool no_hello(mongoc_client_t *c)
{
    bson_error_t err;
    bson_t reply;
    bson_t *cmd = BCON_NEW("hello", BCON_INT32(1));
    bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, &err);
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_client_destroy(c);
    return !ok;
}

/* test_refused -- plain, an untrusted server CA, and a rogue client certificate. */
static void test_refused(void **state)
{
    char uri[1024];
    (void)state;
    (void)snprintf(uri, sizeof(uri), "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=2000",
                   server.port);
    assert_true(no_hello(mongoc_client_new(uri))); /* requireTLS: plain is closed */
    /* the client trusts only the rogue certificate, not the server's CA */
    (void)snprintf(uri, sizeof(uri),
                   "mongodb://127.0.0.1:%d/?tls=true&tlsCAFile=%s/rogue.crt&"
                   "serverSelectionTimeoutMS=2000",
                   server.port, certs);
    assert_true(no_hello(mongoc_client_new(uri)));
    /* a client certificate no trusted CA signed fails the server's verification */
    char opts[512];
    (void)snprintf(opts, sizeof(opts), "tlsCertificateKeyFile=%s/rogue.pem", certs);
    mongoc_client_t *c = client("", opts);
    assert_true(no_hello(c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    char pem[512], ca[512];
    int failed;

    if (make_certs() != 0) {
        fprintf(stderr, "cannot make the test certificates with openssl\n");
        return 1;
    }
    (void)snprintf(pem, sizeof(pem), "%s/server.pem", certs);
    (void)snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    const char *const args[] = {
        "--auth", "--tlsMode",   "requireTLS", "--tlsCertificateKeyFile",
        pem,      "--tlsCAFile", ca,           "--tlsAllowConnectionsWithoutCertificates",
        NULL};
    (void)snprintf(server.client_opts, sizeof(server.client_opts), "tls=true&tlsCAFile=%s", ca);
    mongoc_init();
    if (itest_server_start(&server, args) != 0)
        return 1;
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (!itest_server_alive(&server))
        failed++;
    if (itest_server_stop(&server, failed > 0) != 0)
        failed++;
    mongoc_cleanup();
    (void)sh("rm -rf %s", certs);
    return failed ? 1 : 0;
}
