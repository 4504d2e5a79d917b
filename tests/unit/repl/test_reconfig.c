/*
 * test_reconfig.c -- reconfiguration's pure rules: which config may follow
 * which (mongod/repl/config.c: version and term, set name, replicaSetId,
 * member _ids, arbiterOnly, at most one voter added or removed unless
 * forced), the (version, term) order, and the coordinator taking up a new
 * config (topology.c: views follow _ids, a primary stays primary, a removed
 * node goes REMOVED), plus replSetStepUp's candidacy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mongod/repl/topology.h"

static repl_optime_t OT(int64_t t, uint64_t ts)
{
    repl_optime_t o = {t, ts};
    return o;
}

/* cfg -- parse a JSON config (must be valid). */
static void cfg(repl_config_t *c, const char *json)
{
    bson_error_t err;
    status_t st = STATUS_INIT;
    bson_t *doc = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(doc);
    repl_config_init(c);
    if (repl_config_parse(doc, c, &st) != 0)
        fail_msg("%s: %s", json, st.msg);
    bson_destroy(doc);
}

#define M3                                                                                         \
    "[{\"_id\": 0, \"host\": \"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": "   \
    "\"c:1\"}]"

static void test_version_term_order(void **state)
{
    (void)state;
    assert_true(repl_config_cmp_version(2, 1, 1, 1) > 0);
    assert_true(repl_config_cmp_version(1, 2, 5, 1) > 0);  /* term first */
    assert_true(repl_config_cmp_version(1, -1, 5, 1) < 0); /* no term: version only */
    assert_true(repl_config_cmp_version(7, 3, 7, -1) == 0);
}

static void test_reconfig_rules(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool force;
        int code;
    } cases[] = {
        /* a priority change, version up: fine */
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\", \"priority\": 2}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": "
         "\"c:1\"}]}",
         false, 0},
        /* same version and term */
        {"{\"_id\": \"rs\", \"version\": 2, \"term\": 1, \"members\": " M3 "}", false, 103},
        /* another set name */
        {"{\"_id\": \"other\", \"version\": 3, \"term\": 1, \"members\": " M3 "}", false, 103},
        /* a host moving to another _id */
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 5, \"host\": \"c:1\"}]}",
         false, 103},
        /* an existing member becoming an arbiter */
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": \"c:1\", "
         "\"arbiterOnly\": true, \"priority\": 0}]}",
         false, 103},
        /* one voter added */
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": \"c:1\"}, {\"_id\": "
         "3, \"host\": \"d:1\"}]}",
         false, 0},
        /* two voters added: only forced */
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": \"c:1\"}, {\"_id\": "
         "3, \"host\": \"d:1\"}, {\"_id\": 4, \"host\": \"e:1\"}]}",
         false, 93},
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": \"c:1\"}, {\"_id\": "
         "3, \"host\": \"d:1\"}, {\"_id\": 4, \"host\": \"e:1\"}]}",
         true, 0},
        /* one voter removed, a non-voter added at the same time: one voter change */
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 7, \"host\": \"z:1\", \"votes\": "
         "0, \"priority\": 0}]}",
         false, 0},
        /* two voters removed */
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\"}]}",
         false, 93},
        /* a voter made non-voting and another removed: two changes */
        {"{\"_id\": \"rs\", \"version\": 3, \"term\": 1, \"members\": [{\"_id\": 0, \"host\": "
         "\"a:1\"}, {\"_id\": 1, \"host\": \"b:1\", \"votes\": 0, \"priority\": 0}]}",
         false, 93},
        /* a newer term wins over an equal version (MongoDB's order) */
        {"{\"_id\": \"rs\", \"version\": 2, \"term\": 4, \"members\": " M3 "}", false, 0},
    };
    repl_config_t old;
    cfg(&old, "{\"_id\": \"rs\", \"version\": 2, \"term\": 1, \"members\": " M3 "}");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        repl_config_t c;
        status_t st = STATUS_INIT;
        cfg(&c, cases[i].json);
        int ret = repl_config_check_reconfig(&old, &c, cases[i].force, &st);
        if (ret != cases[i].code)
            fail_msg("case %zu: expected %d, got %d (%s)", i, cases[i].code, ret, st.msg);
        repl_config_destroy(&c);
    }
    /* a different replicaSetId */
    repl_config_t a, b;
    status_t st = STATUS_INIT;
    cfg(&a, "{\"_id\": \"rs\", \"version\": 1, \"members\": " M3
            ", \"settings\": {\"replicaSetId\": {\"$oid\": \"5f0000000000000000000001\"}}}");
    cfg(&b, "{\"_id\": \"rs\", \"version\": 2, \"members\": " M3
            ", \"settings\": {\"replicaSetId\": {\"$oid\": \"5f0000000000000000000002\"}}}");
    assert_int_equal(repl_config_check_reconfig(&a, &b, true, &st), 103);
    repl_config_destroy(&a);
    repl_config_destroy(&b);
    repl_config_destroy(&old);
}

/* elect -- drive t (self 0 of 3) to primary with a vote from member 1. */
static void elect(repl_topo_t *t)
{
    repl_actions_t a = {0};
    repl_topo_on_election_timeout(t, &a);
    repl_vote_reply_t yes = {t->term, true, ""};
    repl_topo_on_vote_reply(t, 1, &yes, &a);
    yes.term = t->term;
    memset(&a, 0, sizeof(a));
    repl_topo_on_vote_reply(t, 1, &yes, &a);
    assert_int_equal(t->state, REPL_PRIMARY);
    memset(&a, 0, sizeof(a));
    repl_topo_on_term_noop(t, OT(t->term, 100), &a);
}

static void test_primary_keeps_role_across_reconfig(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    cfg(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": " M3 "}");
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    elect(&t);
    repl_actions_t a = {0};
    repl_hb_reply_t r;
    memset(&r, 0, sizeof(r));
    r.state = REPL_SECONDARY;
    r.term = t.term;
    r.applied = r.durable = OT(t.term, 100);
    repl_topo_on_heartbeat(&t, 2, &r, &a);
    repl_optime_t cp = t.commit_point;
    int64_t term = t.term;
    /* member 1 removed, member 2 now at index 1, a new member 9 at index 2 */
    int32_t old_ids[3] = {0, 1, 2};
    repl_config_t n;
    cfg(&n, "{\"_id\": \"rs\", \"version\": 2, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}, "
            "{\"_id\": 2, \"host\": \"c:1\"}, {\"_id\": 9, \"host\": \"n:1\"}]}");
    repl_config_destroy(&c);
    repl_config_move(&c, &n); /* same address, as state.c moves the new config in place */
    memset(&a, 0, sizeof(a));
    repl_topo_reconfig(&t, old_ids, 3, 0, OT(term, 100), &a);
    assert_int_equal(t.state, REPL_PRIMARY);
    assert_int_equal(t.primary, 0);
    assert_int_equal(t.term, term);
    assert_int_equal(repl_optime_cmp(t.commit_point, cp), 0);
    assert_true(t.members[1].up); /* member _id 2's view moved with it */
    assert_int_equal(repl_optime_cmp(t.members[1].applied, OT(term, 100)), 0);
    assert_false(t.members[2].up); /* the new member: unknown yet */
    assert_false(a.flags & REPL_ACT_STEP_DOWN);
    repl_config_destroy(&c);
}

static void test_removed_node_goes_removed(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    cfg(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": " M3 "}");
    repl_topo_init(&t, &c, 2, 1, OT(1, 10), OT(1, 10));
    int32_t old_ids[3] = {0, 1, 2};
    repl_config_t n;
    cfg(&n, "{\"_id\": \"rs\", \"version\": 2, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}, "
            "{\"_id\": 1, \"host\": \"b:1\"}]}");
    repl_config_destroy(&c);
    repl_config_move(&c, &n);
    repl_actions_t a = {0};
    repl_topo_reconfig(&t, old_ids, 3, -1, OT(1, 10), &a);
    assert_int_equal(t.state, REPL_REMOVED);
    assert_true(a.flags & REPL_ACT_STATE_CHANGED);
    /* added back: a secondary again, its own optime kept */
    int32_t ids2[2] = {0, 1};
    repl_config_t n2;
    cfg(&n2, "{\"_id\": \"rs\", \"version\": 3, \"members\": " M3 "}");
    repl_config_destroy(&c);
    repl_config_move(&c, &n2);
    memset(&a, 0, sizeof(a));
    repl_topo_reconfig(&t, ids2, 2, 2, OT(1, 10), &a);
    assert_int_equal(t.state, REPL_SECONDARY);
    assert_int_equal(t.self, 2);
    assert_int_equal(repl_optime_cmp(t.members[2].applied, OT(1, 10)), 0);
    repl_config_destroy(&c);
}

static void test_unelectable_primary_steps_down(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    cfg(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": " M3 "}");
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    elect(&t);
    int32_t old_ids[3] = {0, 1, 2};
    repl_config_t n;
    cfg(&n, "{\"_id\": \"rs\", \"version\": 50000, \"members\": [{\"_id\": 0, \"host\": \"a:1\", "
            "\"priority\": 0}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": \"c:1\"}]}");
    repl_config_destroy(&c);
    repl_config_move(&c, &n);
    repl_actions_t a = {0};
    repl_topo_reconfig(&t, old_ids, 3, 0, OT(t.term, 100), &a);
    assert_true(a.flags & REPL_ACT_STEP_DOWN);
    assert_int_equal(t.state, REPL_SECONDARY);
    repl_config_destroy(&c);
}

static void test_step_up(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    status_t st = STATUS_INIT;
    cfg(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": " M3 "}");
    repl_topo_init(&t, &c, 0, 3, OT(3, 10), OT(3, 10));
    /* skipDryRun: term + 1 taken and voted for at once, a real round */
    repl_actions_t a = {0};
    assert_int_equal(repl_topo_step_up(&t, true, &a, &st), 0);
    assert_true(a.flags & REPL_ACT_PERSIST_TERM);
    assert_true(a.flags & REPL_ACT_START_ELECTION);
    assert_false(a.flags & REPL_ACT_START_DRY_RUN);
    assert_int_equal(t.term, 4);
    assert_int_equal(t.voted_term, 4);
    assert_int_equal(t.voted_for, 0);
    repl_vote_reply_t yes = {4, true, ""};
    memset(&a, 0, sizeof(a));
    repl_topo_on_vote_reply(&t, 2, &yes, &a);
    assert_int_equal(t.state, REPL_PRIMARY);
    /* a primary: nothing to do */
    memset(&a, 0, sizeof(a));
    assert_int_equal(repl_topo_step_up(&t, false, &a, &st), 0);
    assert_int_equal(a.flags, 0);
    repl_config_destroy(&c);
    /* without skipDryRun: the dry run first; frozen or priority 0: CommandFailed */
    cfg(&c, "{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\", "
            "\"priority\": 0}, {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": \"c:1\"}]}");
    repl_topo_init(&t, &c, 1, 3, OT(3, 10), OT(3, 10));
    memset(&a, 0, sizeof(a));
    assert_int_equal(repl_topo_step_up(&t, false, &a, &st), 0);
    assert_true(a.flags & REPL_ACT_START_DRY_RUN);
    assert_int_equal(t.term, 3);
    repl_topo_init(&t, &c, 1, 3, OT(3, 10), OT(3, 10));
    assert_int_equal(repl_topo_freeze(&t, true, &st), 0);
    assert_int_equal(repl_topo_step_up(&t, false, &a, &st), ERR_CommandFailed);
    status_reset(&st);
    repl_topo_init(&t, &c, 0, 3, OT(3, 10), OT(3, 10));
    assert_int_equal(repl_topo_step_up(&t, true, &a, &st), ERR_CommandFailed);
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
