/*
 * test_read_concern.c -- the readConcern argument (mongod/repl/read_concern.c)
 * as a table: levels, afterOpTime / afterClusterTime / atClusterTime and
 * their combinations, unknown fields, and which commands take which level.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mongod/repl/read_concern.h"

/* parse_json -- repl_rc_parse of a relaxed extended JSON document; the code. */
static int parse_json(const char *json, repl_rc_t *rc)
{
    bson_error_t err;
    bson_t *doc = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(doc);
    status_t st = STATUS_INIT;
    int ret = repl_rc_parse(doc, rc, &st);
    bson_destroy(doc);
    return ret;
}

static void test_levels_and_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int code;
    } cases[] = {
        {"{}", 0},
        {"{\"level\": \"local\"}", 0},
        {"{\"level\": \"available\"}", 0},
        {"{\"level\": \"majority\"}", 0},
        {"{\"level\": \"linearizable\"}", 0},
        {"{\"level\": \"snapshot\"}", 0},
        {"{\"level\": \"nosuch\"}", ERR_FailedToParse},
        {"{\"level\": 1}", ERR_TypeMismatch},
        {"{\"nosuch\": 1}", ERR_InvalidOptions},
        {"{\"afterClusterTime\": 5}", ERR_TypeMismatch},
        {"{\"afterClusterTime\": {\"$timestamp\": {\"t\": 0, \"i\": 0}}}", ERR_InvalidOptions},
        {"{\"afterClusterTime\": {\"$timestamp\": {\"t\": 0, \"i\": 1}}}", 0},
        {"{\"level\": \"majority\", \"afterClusterTime\": {\"$timestamp\": {\"t\": 5, \"i\": 1}}}",
         0},
        {"{\"level\": \"linearizable\", \"afterClusterTime\": {\"$timestamp\": {\"t\": 5, \"i\": "
         "1}}}",
         ERR_InvalidOptions},
        {"{\"level\": \"available\", \"afterClusterTime\": {\"$timestamp\": {\"t\": 5, \"i\": "
         "1}}}",
         ERR_InvalidOptions},
        {"{\"afterClusterTime\": {\"$timestamp\": {\"t\": 5, \"i\": 1}}, \"afterOpTime\": "
         "{\"ts\": {\"$timestamp\": {\"t\": 5, \"i\": 1}}, \"t\": 1}}",
         ERR_InvalidOptions},
        {"{\"afterOpTime\": {\"ts\": {\"$timestamp\": {\"t\": 5, \"i\": 1}}, \"t\": 1}}", 0},
        {"{\"afterOpTime\": {\"t\": 1}}", ERR_NoSuchKey},
        {"{\"afterOpTime\": 1}", ERR_TypeMismatch},
        {"{\"level\": \"snapshot\", \"afterOpTime\": {\"ts\": {\"$timestamp\": {\"t\": 5, \"i\": "
         "1}}, \"t\": 1}}",
         ERR_InvalidOptions},
        {"{\"atClusterTime\": {\"$timestamp\": {\"t\": 5, \"i\": 1}}}", ERR_InvalidOptions},
        {"{\"level\": \"snapshot\", \"atClusterTime\": {\"$timestamp\": {\"t\": 0, \"i\": 1}}}",
         ERR_InvalidOptions},
        {"{\"level\": \"snapshot\", \"atClusterTime\": {\"$timestamp\": {\"t\": 5, \"i\": 1}}}", 0},
        {"{\"level\": \"snapshot\", \"atClusterTime\": {\"$timestamp\": {\"t\": 5, \"i\": 1}}, "
         "\"afterClusterTime\": {\"$timestamp\": {\"t\": 5, \"i\": 1}}}",
         ERR_InvalidOptions},
        {"{\"level\": \"local\", \"provenance\": \"clientSupplied\"}", 0},
        {"{\"level\": \"local\", \"provenance\": \"nosuch\"}", ERR_BadValue},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        repl_rc_t rc;
        int got = parse_json(cases[i].json, &rc);
        if (got != cases[i].code)
            fail_msg("%s: got %d, want %d", cases[i].json, got, cases[i].code);
    }
}

static void test_parsed_values(void **state)
{
    (void)state;
    repl_rc_t rc;
    assert_int_equal(parse_json("{\"level\": \"majority\", \"afterClusterTime\": {\"$timestamp\": "
                                "{\"t\": 7, \"i\": 3}}}",
                                &rc),
                     0);
    assert_true(rc.present && rc.has_level && rc.has_after_cluster_time);
    assert_int_equal(rc.level, REPL_RC_MAJORITY);
    assert_true(rc.after_cluster_time == ((uint64_t)7 << 32 | 3));
    assert_int_equal(parse_json("{\"afterOpTime\": {\"ts\": {\"$timestamp\": {\"t\": 9, \"i\": "
                                "2}}, \"t\": 4}}",
                                &rc),
                     0);
    assert_int_equal(rc.level, REPL_RC_LOCAL);
    assert_false(rc.has_level);
    assert_true(rc.after_optime.ts == ((uint64_t)9 << 32 | 2) && rc.after_optime.term == 4);
    status_t st = STATUS_INIT;
    assert_int_equal(repl_rc_parse(NULL, &rc, &st), 0);
    assert_false(rc.present);
}

static void test_command_support(void **state)
{
    (void)state;
    static const struct {
        const char *cmd;
        repl_rc_level_t level;
        int code;
    } cases[] = {
        {"find", REPL_RC_MAJORITY, 0},
        {"find", REPL_RC_SNAPSHOT, 0},
        {"aggregate", REPL_RC_LINEARIZABLE, 0},
        {"distinct", REPL_RC_AVAILABLE, 0},
        {"count", REPL_RC_MAJORITY, 0},
        {"count", REPL_RC_SNAPSHOT, ERR_InvalidOptions},
        {"insert", REPL_RC_LOCAL, 0},
        {"insert", REPL_RC_MAJORITY, ERR_InvalidOptions},
        {"ping", REPL_RC_AVAILABLE, ERR_InvalidOptions},
        {"dbHash", REPL_RC_MAJORITY, ERR_InvalidOptions},
        {"getMore", REPL_RC_LOCAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        repl_rc_t rc;
        memset(&rc, 0, sizeof(rc));
        rc.present = rc.has_level = true;
        rc.level = cases[i].level;
        status_t st = STATUS_INIT;
        int got = repl_rc_check_support(cases[i].cmd, &rc, &st);
        if (got != cases[i].code)
            fail_msg("%s at %s: got %d, want %d", cases[i].cmd, repl_rc_level_name(cases[i].level),
                     got, cases[i].code);
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
