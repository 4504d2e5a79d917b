/*
 * test_stepdown.c -- which running operations a step-down interrupts
 * (mongod/repl/stepdown.c): write commands, aggregates that end in $out or
 * $merge (not their explain), linearizable reads; not reads, getMores or
 * admin commands; never the step-down's own operation or one already killed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mongod/repl/stepdown.h"

static void test_which_commands(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool write_cmd;
        const char *body;
        repl_rc_level_t level;
        bool want;
    } cases[] = {
        {"insert", true, "{\"insert\": \"c\"}", REPL_RC_LOCAL, true},
        {"update", true, "{\"update\": \"c\"}", REPL_RC_LOCAL, true},
        {"delete", true, "{\"delete\": \"c\"}", REPL_RC_LOCAL, true},
        {"findAndModify", true, "{\"findAndModify\": \"c\"}", REPL_RC_LOCAL, true},
        {"createIndexes", true, "{\"createIndexes\": \"c\"}", REPL_RC_LOCAL, true},
        {"find", false, "{\"find\": \"c\"}", REPL_RC_LOCAL, false},
        {"find", false, "{\"find\": \"c\"}", REPL_RC_MAJORITY, false},
        {"find", false, "{\"find\": \"c\"}", REPL_RC_LINEARIZABLE, true},
        {"getMore", false, "{\"getMore\": 1}", REPL_RC_LOCAL, false},
        {"count", false, "{\"count\": \"c\"}", REPL_RC_LOCAL, false},
        {"replSetGetStatus", false, "{\"replSetGetStatus\": 1}", REPL_RC_LOCAL, false},
        {"aggregate", false, "{\"aggregate\": \"c\", \"pipeline\": []}", REPL_RC_LOCAL, false},
        {"aggregate", false, "{\"aggregate\": \"c\", \"pipeline\": [{\"$match\": {}}]}",
         REPL_RC_LOCAL, false},
        {"aggregate", false,
         "{\"aggregate\": \"c\", \"pipeline\": [{\"$match\": {}}, {\"$out\": \"o\"}]}",
         REPL_RC_LOCAL, true},
        {"aggregate", false,
         "{\"aggregate\": \"c\", \"pipeline\": [{\"$merge\": {\"into\": \"o\"}}]}", REPL_RC_LOCAL,
         true},
        /* $out not last is not a writing pipeline (the command itself refuses it) */
        {"aggregate", false,
         "{\"aggregate\": \"c\", \"pipeline\": [{\"$out\": \"o\"}, {\"$match\": {}}]}",
         REPL_RC_LOCAL, false},
        {"aggregate", false,
         "{\"aggregate\": \"c\", \"pipeline\": [{\"$out\": \"o\"}], \"explain\": true}",
         REPL_RC_LOCAL, false},
        {"aggregate", false, "{\"aggregate\": \"c\", \"pipeline\": 5}", REPL_RC_LOCAL, false},
        {"aggregate", false, "{\"aggregate\": \"c\", \"pipeline\": [1, 2]}", REPL_RC_LOCAL, false},
        {NULL, false, "{}", REPL_RC_LOCAL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bson_error_t err;
        bson_t *body = bson_new_from_json((const uint8_t *)cases[i].body, -1, &err);
        assert_non_null(body);
        bool got =
            repl_stepdown_interrupts(cases[i].name, cases[i].write_cmd, body, cases[i].level);
        bson_destroy(body);
        if (got != cases[i].want)
            fail_msg("case %zu (%s %s): got %d, want %d", i, cases[i].name ? cases[i].name : "-",
                     cases[i].body, got, cases[i].want);
    }
    assert_false(repl_stepdown_interrupts("aggregate", false, NULL, REPL_RC_LOCAL));
}

static void test_victims(void **state)
{
    (void)state;
    assert_true(repl_stepdown_victim(true, false, false));
    assert_false(repl_stepdown_victim(false, false, false)); /* a read goes on */
    assert_false(repl_stepdown_victim(true, true, false));   /* the step-down's own op */
    assert_false(repl_stepdown_victim(true, false, true));   /* already killed (killOp) */
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
