/*
 * test_authz.c -- the authorization model (wire/authz.c): resource-pattern
 * matching as a table, privilege sets, parsing system.roles privileges, every
 * built-in role expanding (a bad action name in the role table would abort),
 * command redaction, and the x.509 membership attributes of a subject.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "wire/wire.h"

static wire_resource_t res(wire_res_kind_t kind, const char *db, const char *coll)
{
    wire_resource_t r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    strcpy(r.db, db);
    strcpy(r.coll, coll);
    return r;
}

/* pattern_matching -- MongoDB's ResourcePattern rules, one row per case. */
static void test_pattern_matching(void **state)
{
    static const struct {
        wire_res_kind_t pk;
        const char *pdb, *pcoll;
        wire_res_kind_t rk;
        const char *rdb, *rcoll;
        bool match;
    } cases[] = {
        {WIRE_RES_DB, "test", "", WIRE_RES_NS, "test", "c", true},
        {WIRE_RES_DB, "test", "", WIRE_RES_DB, "test", "", true},
        {WIRE_RES_DB, "test", "", WIRE_RES_NS, "other", "c", false},
        {WIRE_RES_DB, "test", "", WIRE_RES_NS, "test", "system.users", false},
        {WIRE_RES_DB, "test", "", WIRE_RES_CLUSTER, "", "", false},
        {WIRE_RES_NS, "test", "c", WIRE_RES_NS, "test", "c", true},
        {WIRE_RES_NS, "test", "c", WIRE_RES_NS, "test", "d", false},
        {WIRE_RES_NS, "test", "c", WIRE_RES_DB, "test", "", false},
        {WIRE_RES_NS, "admin", "system.users", WIRE_RES_NS, "admin", "system.users", true},
        {WIRE_RES_COLL, "", "system.js", WIRE_RES_NS, "any", "system.js", true},
        {WIRE_RES_COLL, "", "system.js", WIRE_RES_NS, "any", "js", false},
        {WIRE_RES_ANY_NORMAL, "", "", WIRE_RES_NS, "x", "y", true},
        {WIRE_RES_ANY_NORMAL, "", "", WIRE_RES_DB, "x", "", true},
        {WIRE_RES_ANY_NORMAL, "", "", WIRE_RES_NS, "x", "system.profile", false},
        {WIRE_RES_ANY_NORMAL, "", "", WIRE_RES_CLUSTER, "", "", false},
        /* a requirement on every normal resource (profile's slowms) */
        {WIRE_RES_ANY_NORMAL, "", "", WIRE_RES_ANY_NORMAL, "", "", true},
        {WIRE_RES_DB, "test", "", WIRE_RES_ANY_NORMAL, "", "", false},
        {WIRE_RES_ANY, "", "", WIRE_RES_ANY_NORMAL, "", "", true},
        {WIRE_RES_CLUSTER, "", "", WIRE_RES_CLUSTER, "", "", true},
        {WIRE_RES_CLUSTER, "", "", WIRE_RES_DB, "admin", "", false},
        {WIRE_RES_ANY, "", "", WIRE_RES_NS, "admin", "system.users", true},
        {WIRE_RES_ANY, "", "", WIRE_RES_CLUSTER, "", "", true},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wire_resource_t p = res(cases[i].pk, cases[i].pdb, cases[i].pcoll);
        wire_resource_t r = res(cases[i].rk, cases[i].rdb, cases[i].rcoll);
        if (wire_resource_matches(&p, &r) != cases[i].match)
            fail_msg("case %zu", i);
    }
}

/* privsets_union_actions -- actions of several matching patterns add up; merge by pattern. */
static void test_privsets_union_actions(void **state)
{
    wire_privset_t p;
    wire_actions_t a, want;
    wire_resource_t db = res(WIRE_RES_DB, "test", ""), ns = res(WIRE_RES_NS, "test", "c");
    (void)state;
    wire_privset_init(&p);
    assert_true(wire_actions_parse("find", &a));
    wire_privset_add(&p, &db, &a);
    assert_true(wire_actions_parse("insert", &a));
    wire_privset_add(&p, &ns, &a);
    assert_true(wire_actions_parse("update", &a));
    wire_privset_add(&p, &db, &a);
    assert_int_equal(p.n, 2);
    assert_true(wire_actions_parse("find insert update", &want));
    assert_true(wire_privset_allows(&p, &ns, &want));
    assert_true(wire_actions_parse("find remove", &want));
    assert_false(wire_privset_allows(&p, &ns, &want));
    assert_false(wire_actions_parse("find fly", &want));
    wire_privset_destroy(&p);
}

/* every_builtin_role_expands -- and the database roles stay in their database. */
static void test_every_builtin_role_expands(void **state)
{
    static const char *const roles[] = {"read",
                                        "readWrite",
                                        "dbAdmin",
                                        "dbOwner",
                                        "userAdmin",
                                        "clusterMonitor",
                                        "clusterManager",
                                        "clusterAdmin",
                                        "hostManager",
                                        "backup",
                                        "restore",
                                        "readAnyDatabase",
                                        "readWriteAnyDatabase",
                                        "userAdminAnyDatabase",
                                        "dbAdminAnyDatabase",
                                        "root",
                                        "__system"};
    wire_actions_t find, insert;
    wire_resource_t other = res(WIRE_RES_NS, "other", "c"), mine = res(WIRE_RES_NS, "test", "c");
    (void)state;
    assert_true(wire_actions_parse("find", &find));
    assert_true(wire_actions_parse("insert", &insert));
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        wire_privset_t p;
        wire_privset_init(&p);
        assert_true(wire_builtin_role(roles[i], "admin", &p));
        assert_true(p.n > 0);
        wire_privset_destroy(&p);
    }
    assert_false(wire_builtin_role("root", "test", NULL));
    assert_false(wire_builtin_role("nosuch", "admin", NULL));
    wire_privset_t p;
    wire_privset_init(&p);
    assert_true(wire_builtin_role("read", "test", &p));
    assert_true(wire_privset_allows(&p, &mine, &find));
    assert_false(wire_privset_allows(&p, &mine, &insert));
    assert_false(wire_privset_allows(&p, &other, &find));
    wire_privset_destroy(&p);
    wire_privset_init(&p);
    assert_true(wire_builtin_role("dbOwner", "test", &p)); /* readWrite + dbAdmin + userAdmin */
    assert_true(wire_privset_allows(&p, &mine, &insert));
    wire_privset_destroy(&p);
}

/* privileges_from_bson -- the shapes of system.roles and their errors. */
static void test_privileges_from_bson(void **state)
{
    static const struct {
        const char *json;
        int code;
        wire_res_kind_t kind;
    } cases[] = {
        {"{\"resource\": {\"db\": \"a\", \"collection\": \"b\"}, \"actions\": [\"find\"]}", 0,
         WIRE_RES_NS},
        {"{\"resource\": {\"db\": \"a\", \"collection\": \"\"}, \"actions\": [\"find\"]}", 0,
         WIRE_RES_DB},
        {"{\"resource\": {\"db\": \"\", \"collection\": \"\"}, \"actions\": [\"find\"]}", 0,
         WIRE_RES_ANY_NORMAL},
        {"{\"resource\": {\"cluster\": true}, \"actions\": [\"serverStatus\"]}", 0,
         WIRE_RES_CLUSTER},
        {"{\"resource\": {\"anyResource\": true}, \"actions\": [\"anyAction\"]}", 0, WIRE_RES_ANY},
        {"{\"resource\": {\"db\": \"a\"}, \"actions\": [\"find\"]}", ERR_BadValue, 0},
        {"{\"resource\": {\"db\": \"a\", \"collection\": \"\"}, \"actions\": [\"fly\"]}",
         ERR_BadValue, 0},
        {"{\"resource\": {\"db\": \"a\", \"collection\": \"\"}, \"actions\": []}", ERR_BadValue, 0},
        {"{\"resource\": {\"cluster\": true, \"db\": \"a\"}, \"actions\": [\"find\"]}",
         ERR_BadValue, 0},
        {"{\"actions\": [\"find\"]}", ERR_FailedToParse, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bson_error_t err;
        bson_t *d = bson_new_from_json((const uint8_t *)cases[i].json, -1, &err);
        wire_privilege_t p;
        status_t st = STATUS_INIT;
        assert_non_null(d);
        int rc = wire_privilege_from_bson(d, &p, &st);
        if (rc != cases[i].code || (rc == 0 && p.res.kind != cases[i].kind))
            fail_msg("case %zu: %d %s", i, rc, st.msg);
        bson_destroy(d);
    }
}

/* redaction -- passwords and SASL payloads never reach a log line. */
static void test_redaction(void **state)
{
    bson_t out = BSON_INITIALIZER;
    bson_t *in = BCON_NEW("createUser", "u", "pwd", "secret", "roles", "[", "]");
    char *json;
    (void)state;
    wire_redact_command(in, &out);
    json = bson_as_canonical_extended_json(&out, NULL);
    assert_null(strstr(json, "secret"));
    assert_non_null(strstr(json, "\"pwd\" : \"xxx\""));
    bson_free(json);
    bson_destroy(in);
    bson_destroy(&out);
}

/* x509_member_attrs -- O, OU and DC of an RFC 2253 subject, sorted; escapes respected. */
static void test_x509_member_attrs(void **state)
{
    static const struct {
        const char *subject, *want;
    } cases[] = {
        {"CN=member,OU=cluster,O=Mica", "O=Mica,OU=cluster"},
        {"O=Mica,CN=other,OU=cluster", "O=Mica,OU=cluster"}, /* order does not matter */
        {"CN=client,OU=tests,O=Mica", "O=Mica,OU=tests"},
        {"CN=localhost", ""},
        {"DC=example,DC=com,CN=x", "DC=com,DC=example"},
        {"CN=a\\,O=fake,OU=x", "OU=x"}, /* an escaped comma is part of the CN */
        {"CN=a+OU=multi,O=Mica", "O=Mica,OU=multi"},
        {"", ""},
    };
    char out[256];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wire_x509_member_attrs(cases[i].subject, out, sizeof(out));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: %s -> '%s', want '%s'", i, cases[i].subject, out, cases[i].want);
    }
    wire_x509_member_attrs("CN=member,OU=cluster,O=Mica", out, 8); /* does not fit: matches none */
    assert_string_equal(out, "");
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
