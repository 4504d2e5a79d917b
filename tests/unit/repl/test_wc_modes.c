/*
 * test_wc_modes.c -- write concern rules that are pure functions of the
 * config (mongod/repl/config.c): settings.getLastErrorModes parsed and
 * checked, the tag-set rule (n distinct values of each tag among the members
 * that hold the write), and MongoDB 5.0's implicit default write concern
 * (w: 1 for a set whose data-bearing voters are no more than a majority when
 * it has arbiters, w: "majority" otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mongod/repl/config.h"

static int parse(repl_config_t *c, const char *json)
{
    bson_error_t err;
    status_t st = STATUS_INIT;
    bson_t *doc = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(doc);
    repl_config_init(c);
    int ret = repl_config_parse(doc, c, &st);
    bson_destroy(doc);
    return ret;
}

#define TAGGED                                                                                     \
    "[{\"_id\": 0, \"host\": \"a:1\", \"tags\": {\"dc\": \"east\", \"rack\": \"r1\"}}, "           \
    "{\"_id\": 1, \"host\": \"b:1\", \"tags\": {\"dc\": \"east\", \"rack\": \"r2\"}}, "            \
    "{\"_id\": 2, \"host\": \"c:1\", \"tags\": {\"dc\": \"west\", \"rack\": \"r3\"}}]"

static void test_modes_parse_and_check(void **state)
{
    (void)state;
    repl_config_t c;
    static const struct {
        const char *settings;
        int code;
    } cases[] = {
        {"{\"getLastErrorModes\": {\"twoDCs\": {\"dc\": 2}}}", 0},
        {"{\"getLastErrorModes\": {\"twoDCs\": {\"dc\": 2, \"rack\": 3}}}", 0},
        {"{\"getLastErrorModes\": {\"x\": {\"nosuchtag\": 1}}}", ERR_NoSuchKey},
        {"{\"getLastErrorModes\": {\"x\": {\"dc\": 0}}}", ERR_BadValue},
        {"{\"getLastErrorModes\": {\"x\": {\"dc\": \"two\"}}}", ERR_TypeMismatch},
        {"{\"getLastErrorModes\": {\"x\": 1}}", ERR_TypeMismatch},
        {"{\"getLastErrorModes\": {\"majority\": {\"dc\": 1}}}", ERR_InvalidReplicaSetConfig},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[1024];
        snprintf(json, sizeof(json),
                 "{\"_id\": \"rs\", \"version\": 1, \"members\": %s, "
                 "\"settings\": %s}",
                 TAGGED, cases[i].settings);
        int ret = parse(&c, json);
        if (ret != cases[i].code)
            fail_msg("case %zu: expected %d, got %d", i, cases[i].code, ret);
        repl_config_destroy(&c);
    }
    /* the modes come back in the normalised document */
    assert_int_equal(parse(&c,
                           "{\"_id\": \"rs\", \"version\": 1, \"members\": " TAGGED
                           ", \"settings\": {\"getLastErrorModes\": {\"twoDCs\": {\"dc\": 2}}}}"),
                     0);
    char *j = bson_as_relaxed_extended_json(&c.raw, NULL);
    assert_non_null(strstr(j, "\"getLastErrorModes\" : { \"twoDCs\" : { \"dc\" : 2 } }"));
    bson_free(j);
    assert_non_null(repl_config_find_mode(&c, "twoDCs"));
    assert_null(repl_config_find_mode(&c, "threeDCs"));
    repl_config_destroy(&c);
}

static void test_mode_satisfied_counts_distinct_values(void **state)
{
    (void)state;
    repl_config_t c;
    assert_int_equal(parse(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": " TAGGED
                               ", \"settings\": {\"getLastErrorModes\": {\"twoDCs\": {\"dc\": 2}, "
                               "\"eastRacks\": {\"rack\": 2, \"dc\": 1}}}}"),
                     0);
    const repl_wc_mode_t *two = repl_config_find_mode(&c, "twoDCs");
    const repl_wc_mode_t *racks = repl_config_find_mode(&c, "eastRacks");
    bool has[3] = {true, true, false};
    /* two members, both in east: one DC only */
    assert_false(repl_wc_mode_satisfied(&c, two, has));
    /* two racks and a DC: satisfied */
    assert_true(repl_wc_mode_satisfied(&c, racks, has));
    has[1] = false;
    has[2] = true;
    assert_true(repl_wc_mode_satisfied(&c, two, has));
    has[0] = false;
    assert_false(repl_wc_mode_satisfied(&c, two, has));
    assert_false(repl_wc_mode_satisfied(&c, racks, has));
    repl_config_destroy(&c);
}

static void test_implicit_default_write_concern(void **state)
{
    (void)state;
    repl_config_t c;
    /* P-S-S: majority */
    assert_int_equal(parse(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, "
                               "\"host\": \"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": "
                               "2, \"host\": \"c:1\"}]}"),
                     0);
    assert_true(repl_implicit_wc_majority(&c));
    repl_config_destroy(&c);
    /* P-S-A: w: 1 (two data-bearing voters are only a majority of three) */
    assert_int_equal(parse(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, "
                               "\"host\": \"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": "
                               "2, \"host\": \"c:1\", \"arbiterOnly\": true}]}"),
                     0);
    assert_false(repl_implicit_wc_majority(&c));
    repl_config_destroy(&c);
    /* P-S-S-S-A: four data-bearing voters of five: majority */
    assert_int_equal(parse(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, "
                               "\"host\": \"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": "
                               "2, \"host\": \"c:1\"}, {\"_id\": 3, \"host\": \"d:1\"}, {\"_id\": "
                               "4, \"host\": \"e:1\", \"arbiterOnly\": true}]}"),
                     0);
    assert_true(repl_implicit_wc_majority(&c));
    repl_config_destroy(&c);
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
