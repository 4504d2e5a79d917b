/*
 * test_topology.c -- the topology coordinator (mongod/repl/topology.c) fed
 * with events, no sockets or clocks: votes (one per term, only for a log at
 * least as up to date), dry run then real election, higher terms stepping a
 * primary down, the commit point (majority of durable optimes, own term
 * only, after the no-op, never backwards), lost majority, sync-source
 * choice, step-down and freeze, priority takeover; and configuration
 * validation (mongod/repl/config.c) as a table.
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

/* make_config -- n members on 127.0.0.1:27017+i; prio (may be NULL) per member. */
static void make_config(repl_config_t *c, int n, const double *prio, bool chaining)
{
    bson_t doc = BSON_INITIALIZER, arr, m, s;
    status_t st = STATUS_INIT;
    BSON_APPEND_UTF8(&doc, "_id", "rs");
    BSON_APPEND_INT32(&doc, "version", 1);
    BSON_APPEND_ARRAY_BEGIN(&doc, "members", &arr);
    for (int i = 0; i < n; i++) {
        char key[8], host[64];
        snprintf(key, sizeof(key), "%d", i);
        snprintf(host, sizeof(host), "127.0.0.1:%d", 27017 + i);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &m);
        BSON_APPEND_INT32(&m, "_id", i);
        BSON_APPEND_UTF8(&m, "host", host);
        if (prio != NULL)
            BSON_APPEND_DOUBLE(&m, "priority", prio[i]);
        bson_append_document_end(&arr, &m);
    }
    bson_append_array_end(&doc, &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "settings", &s);
    BSON_APPEND_BOOL(&s, "chainingAllowed", chaining);
    bson_append_document_end(&doc, &s);
    repl_config_init(c);
    assert_int_equal(repl_config_parse(&doc, c, &st), 0);
    bson_destroy(&doc);
}

static repl_hb_reply_t HB(repl_member_state_t s, int64_t term, repl_optime_t applied)
{
    repl_hb_reply_t r;
    memset(&r, 0, sizeof(r));
    r.state = s;
    r.term = term;
    r.applied = r.durable = applied;
    r.config_version = 1;
    r.ping_ms = 1;
    return r;
}

/* hb_down -- member m's heartbeat fails with every retry: it is down. */
static void hb_down(repl_topo_t *t, int m, repl_actions_t *a)
{
    repl_topo_hb_start(t, m, 1000);
    for (int i = 0; i < REPL_HB_MAX_RETRIES; i++)
        assert_true(repl_topo_on_heartbeat_failed(t, m, 1001 + i, a));
    assert_false(repl_topo_on_heartbeat_failed(t, m, 1010, a));
}

/* elect -- drive t (self 0 of 3) to primary in term+1 with votes from 1. */
static void elect(repl_topo_t *t)
{
    repl_actions_t a = {0};
    repl_topo_on_election_timeout(t, &a);
    assert_true(a.flags & REPL_ACT_START_DRY_RUN);
    repl_vote_reply_t yes = {t->term, true, ""};
    memset(&a, 0, sizeof(a));
    repl_topo_on_vote_reply(t, 1, &yes, &a);
    assert_true(a.flags & REPL_ACT_PERSIST_TERM);
    assert_true(a.flags & REPL_ACT_START_ELECTION);
    assert_false(a.vote_req.dry_run);
    yes.term = t->term;
    memset(&a, 0, sizeof(a));
    repl_topo_on_vote_reply(t, 1, &yes, &a);
    assert_true(a.flags & REPL_ACT_BECOME_PRIMARY);
    assert_int_equal(t->state, REPL_PRIMARY);
}

/*
 * test_empty_member_syncs_in_startup2 -- a member with an empty oplog holds
 * none of the set's history: it votes but cannot stand, syncs from a member
 * that has data, and becomes SECONDARY (and electable) once it has it.
 */
static void test_empty_member_syncs_in_startup2(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    repl_actions_t a = {0};
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 1, 0, OT(0, 0), OT(0, 0));
    assert_int_equal(t.state, REPL_STARTUP2);
    repl_topo_on_election_timeout(&t, &a);
    assert_false(a.flags & (REPL_ACT_START_DRY_RUN | REPL_ACT_START_ELECTION));
    assert_false(t.candidate);
    status_t st = STATUS_INIT;
    assert_int_equal(repl_topo_step_up(&t, true, &a, &st), ERR_CommandFailed);
    /* it still grants a vote to a candidate whose log is at least as new */
    repl_vote_req_t req = {1, 0, 1, OT(0, 5), false};
    repl_vote_reply_t r;
    memset(&a, 0, sizeof(a));
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_true(r.granted);
    /* the member with data becomes its sync source */
    repl_hb_reply_t hb = HB(REPL_SECONDARY, 1, OT(0, 5));
    memset(&a, 0, sizeof(a));
    repl_topo_on_heartbeat(&t, 0, &hb, &a);
    assert_int_equal(t.sync_source, 0);
    memset(&a, 0, sizeof(a));
    repl_topo_on_position(&t, 1, OT(1, 5), OT(1, 5), &a); /* its first batch */
    repl_topo_on_initial_sync_done(&t, &a);
    assert_int_equal(t.state, REPL_SECONDARY);
    assert_true(a.flags & REPL_ACT_STATE_CHANGED);
    /* now it may stand */
    memset(&a, 0, sizeof(a));
    repl_topo_on_election_timeout(&t, &a);
    assert_true(a.flags & REPL_ACT_START_DRY_RUN);
    repl_config_destroy(&c);
}

static void test_one_vote_per_term(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    repl_vote_req_t req = {2, 1, 1, OT(1, 10), false};
    repl_vote_reply_t r;
    repl_actions_t a = {0};
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_true(r.granted);
    assert_true(a.flags & REPL_ACT_PERSIST_TERM);
    assert_int_equal(t.term, 2);
    /* another candidate, same term: refused */
    req.candidate = 2;
    memset(&a, 0, sizeof(a));
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    assert_string_equal(r.reason,
                        "already voted for another candidate (127.0.0.1:27018) this term (2)");
    /* the same candidate again: refused too (MongoDB: one vote per term, whoever asks) */
    req.candidate = 1;
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    /* a dry run in the same term is still answered (it takes no vote) */
    req.dry_run = true;
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_true(r.granted);
    req.dry_run = false;
    /* a lower term: refused, our term in the answer */
    req.term = 1;
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    assert_int_equal(r.term, 2);
    assert_string_equal(r.reason, "candidate's term (1) is lower than mine (2)");
    repl_config_destroy(&c);
}

static void test_vote_only_for_up_to_date_log(void **state)
{
    (void)state;
    static const struct {
        repl_optime_t mine, theirs;
        bool granted;
    } cases[] = {
        {{1, 10}, {1, 10}, true}, /* equal */
        {{1, 10}, {1, 11}, true}, /* later ts */
        {{1, 10}, {2, 1}, true},  /* later term beats a larger ts */
        {{2, 1}, {1, 99}, false}, /* earlier term loses to any ts */
        {{1, 10}, {1, 9}, false}, /* staler */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        repl_config_t c;
        repl_topo_t t;
        make_config(&c, 3, NULL, true);
        repl_topo_init(&t, &c, 0, 2, cases[i].mine, cases[i].mine);
        repl_vote_req_t req = {3, 1, 1, cases[i].theirs, false};
        repl_vote_reply_t r;
        repl_actions_t a = {0};
        repl_topo_process_vote(&t, &req, &r, &a);
        assert_int_equal(r.granted, cases[i].granted);
        /* the term is adopted either way */
        assert_int_equal(t.term, 3);
        repl_config_destroy(&c);
    }
}

static void test_dry_run_does_not_take_the_term(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 4, OT(4, 1), OT(4, 1));
    repl_vote_req_t req = {5, 1, 1, OT(4, 1), true};
    repl_vote_reply_t r;
    repl_actions_t a = {0};
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_true(r.granted);
    assert_int_equal(t.term, 4);
    assert_int_equal(t.voted_term, -1);
    assert_false(a.flags & REPL_ACT_PERSIST_TERM);
    repl_config_destroy(&c);
}

static void test_election_and_term_noop(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    elect(&t);
    assert_int_equal(t.term, 2);
    assert_int_equal(t.voted_term, 2);
    assert_int_equal(t.voted_for, 0);
    /* writes of the old term replicated to a majority do not commit yet */
    repl_actions_t a = {0};
    repl_topo_on_position(&t, 1, OT(1, 10), OT(1, 10), &a);
    assert_false(a.flags & REPL_ACT_COMMIT_POINT);
    /* the no-op of term 2, then a majority holding it: the commit point moves */
    repl_topo_on_term_noop(&t, OT(2, 11), &a);
    assert_false(a.flags & REPL_ACT_COMMIT_POINT);
    repl_topo_on_position(&t, 1, OT(2, 11), OT(2, 11), &a);
    assert_true(a.flags & REPL_ACT_COMMIT_POINT);
    assert_true(repl_topo_is_committed(&t, OT(2, 11)));
    assert_true(repl_topo_is_committed(&t, OT(1, 10)));
    assert_false(repl_topo_is_committed(&t, OT(2, 12)));
    repl_config_destroy(&c);
}

/*
 * test_election_metrics_count_reasons -- serverStatus electionMetrics: a
 * candidacy counts under the reason it started with, a win under the same
 * reason; a lost dry run counts as called only; a primary deposed by a higher
 * term counts numStepDownsCausedByHigherTerm.
 */
static void test_election_metrics_count_reasons(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    repl_actions_t a = {0};
    status_t st = STATUS_INIT;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    /* a dry run that loses: called, not successful */
    repl_topo_on_election_timeout(&t, &a);
    repl_vote_reply_t no = {5, false, "newer term"};
    repl_topo_on_vote_reply(&t, 1, &no, &a);
    assert_false(t.candidate);
    assert_int_equal(t.elect_metrics.called[REPL_ELECT_TIMEOUT], 1);
    assert_int_equal(t.elect_metrics.successful[REPL_ELECT_TIMEOUT], 0);
    /* replSetStepUp that wins */
    memset(&a, 0, sizeof(a));
    assert_int_equal(repl_topo_step_up(&t, true, &a, &st), 0);
    repl_vote_reply_t yes = {t.term, true, ""};
    repl_topo_on_vote_reply(&t, 1, &yes, &a);
    assert_int_equal(t.state, REPL_PRIMARY);
    assert_int_equal(t.elect_metrics.called[REPL_ELECT_STEP_UP], 1);
    assert_int_equal(t.elect_metrics.successful[REPL_ELECT_STEP_UP], 1);
    assert_int_equal(t.elect_metrics.successful[REPL_ELECT_TIMEOUT], 0);
    assert_int_equal(t.elect_metrics.step_downs_higher_term, 0);
    /* a higher term deposes it */
    memset(&a, 0, sizeof(a));
    repl_topo_observe_term(&t, t.term + 1, &a);
    assert_int_equal(t.state, REPL_SECONDARY);
    assert_int_equal(t.elect_metrics.step_downs_higher_term, 1);
    /* a second higher term while secondary is not a step-down */
    repl_topo_observe_term(&t, t.term + 1, &a);
    assert_int_equal(t.elect_metrics.step_downs_higher_term, 1);
    assert_int_equal(t.elect_metrics.called[REPL_ELECT_PRIORITY_TAKEOVER], 0);
    repl_config_destroy(&c);
}

static void test_commit_point_needs_durable_majority(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 5, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 1), OT(1, 1));
    repl_actions_t a = {0};
    repl_topo_on_election_timeout(&t, &a);
    repl_vote_reply_t yes = {1, true, ""};
    repl_topo_on_vote_reply(&t, 1, &yes, &a);
    repl_topo_on_vote_reply(&t, 2, &yes, &a);
    yes.term = t.term;
    repl_topo_on_vote_reply(&t, 1, &yes, &a);
    repl_topo_on_vote_reply(&t, 2, &yes, &a);
    assert_int_equal(t.state, REPL_PRIMARY);
    repl_topo_on_term_noop(&t, OT(2, 5), &a);
    memset(&a, 0, sizeof(a));
    repl_topo_on_position(&t, 0, OT(2, 9), OT(2, 9), &a);
    /* applied but not durable on a second member: no */
    repl_topo_on_position(&t, 1, OT(2, 9), OT(2, 5), &a);
    repl_topo_on_position(&t, 2, OT(2, 9), OT(2, 5), &a);
    assert_true(repl_topo_is_committed(&t, OT(2, 5)));
    assert_false(repl_topo_is_committed(&t, OT(2, 9)));
    /* durable on 3 of 5 */
    repl_topo_on_position(&t, 1, OT(2, 9), OT(2, 9), &a);
    assert_false(repl_topo_is_committed(&t, OT(2, 9)));
    repl_topo_on_position(&t, 2, OT(2, 9), OT(2, 9), &a);
    assert_true(repl_topo_is_committed(&t, OT(2, 9)));
    /* never backwards: an old report changes nothing */
    repl_topo_on_position(&t, 2, OT(2, 6), OT(2, 6), &a);
    assert_true(repl_topo_is_committed(&t, OT(2, 9)));
    repl_config_destroy(&c);
}

static void test_higher_term_steps_primary_down(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    elect(&t);
    repl_actions_t a = {0};
    repl_hb_reply_t r = HB(REPL_PRIMARY, 5, OT(5, 1));
    repl_topo_on_heartbeat(&t, 2, &r, &a);
    assert_true(a.flags & REPL_ACT_STEP_DOWN);
    assert_true(a.flags & REPL_ACT_PERSIST_TERM);
    assert_int_equal(t.state, REPL_SECONDARY);
    assert_int_equal(t.term, 5);
    assert_int_equal(t.primary, 2);
    repl_config_destroy(&c);
}

static void test_lost_majority_steps_down(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    elect(&t);
    repl_actions_t a = {0};
    repl_hb_reply_t r = HB(REPL_SECONDARY, t.term, OT(1, 10));
    repl_topo_on_heartbeat(&t, 1, &r, &a);
    repl_topo_on_liveness_check(&t, 0, &a);
    assert_int_equal(t.state, REPL_PRIMARY); /* 2 of 3 */
    hb_down(&t, 1, &a);
    memset(&a, 0, sizeof(a));
    repl_topo_on_liveness_check(&t, 0, &a);
    assert_true(a.flags & REPL_ACT_STEP_DOWN);
    assert_int_equal(t.state, REPL_SECONDARY);
    repl_config_destroy(&c);
}

/*
 * test_heartbeat_retries_before_down -- MongoDB's heartbeat failure rules: a
 * failed attempt is retried at once (twice) within heartbeatTimeoutSecs of the
 * heartbeat's start, the member keeping its state meanwhile; it is down after
 * the third failure, or after a failure once the timeout has passed. A success
 * starts the count again.
 */
static void test_heartbeat_retries_before_down(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 1, 3, OT(3, 1), OT(3, 1));
    repl_actions_t a = {0};
    repl_hb_reply_t r = HB(REPL_PRIMARY, 3, OT(3, 1));
    repl_topo_hb_start(&t, 0, 1000);
    assert_int_equal(repl_topo_hb_deadline_ms(&t, 0), 1000 + 10000); /* the default 10 s */
    repl_topo_on_heartbeat(&t, 0, &r, &a);
    assert_int_equal(t.primary, 0);
    /* three attempts fail quickly (refused connections): two retries, then down */
    repl_topo_hb_start(&t, 0, 3000);
    assert_true(repl_topo_on_heartbeat_failed(&t, 0, 3001, &a));
    assert_true(t.members[0].up);
    assert_int_equal(t.primary, 0);
    assert_true(repl_topo_on_heartbeat_failed(&t, 0, 3002, &a));
    assert_true(t.members[0].up);
    memset(&a, 0, sizeof(a));
    assert_false(repl_topo_on_heartbeat_failed(&t, 0, 3003, &a));
    assert_false(t.members[0].up);
    assert_int_equal(t.members[0].state, REPL_DOWN);
    assert_int_equal(t.primary, -1);
    assert_true(a.flags & REPL_ACT_STATE_CHANGED);
    /* back: a success clears the failures */
    repl_topo_hb_start(&t, 0, 5000);
    repl_topo_on_heartbeat(&t, 0, &r, &a);
    assert_true(t.members[0].up);
    assert_int_equal(t.primary, 0);
    /* one attempt that ends at the timeout (a paused member): down at its first failure */
    repl_topo_hb_start(&t, 0, 7000);
    assert_false(repl_topo_on_heartbeat_failed(&t, 0, 7000 + 10000, &a));
    assert_false(t.members[0].up);
    /* one failure, then a success: up all along */
    repl_topo_hb_start(&t, 0, 20000);
    repl_topo_on_heartbeat(&t, 0, &r, &a);
    repl_topo_hb_start(&t, 0, 22000);
    assert_true(repl_topo_on_heartbeat_failed(&t, 0, 22001, &a));
    repl_topo_on_heartbeat(&t, 0, &r, &a);
    assert_true(t.members[0].up);
    assert_int_equal(t.members[0].hb_failures, 0);
    repl_config_destroy(&c);
}

/*
 * test_election_timer_reset_only_by_primary_of_our_term -- only a heartbeat
 * reply from a primary whose term (once adopted) is ours postpones the
 * election; a secondary's reply or a stale primary's does not. When the timer
 * fires, an electable secondary stands whatever it believes of the primary.
 */
static void test_election_timer_reset_only_by_primary_of_our_term(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 1, 3, OT(3, 1), OT(3, 1));
    repl_actions_t a = {0};
    repl_hb_reply_t p = HB(REPL_PRIMARY, 3, OT(3, 1));
    repl_topo_on_heartbeat(&t, 0, &p, &a);
    assert_true(repl_topo_hb_resets_election_timer(&t, &p));
    repl_hb_reply_t sec = HB(REPL_SECONDARY, 3, OT(3, 1));
    repl_topo_on_heartbeat(&t, 2, &sec, &a);
    assert_false(repl_topo_hb_resets_election_timer(&t, &sec));
    /* a higher term from a secondary: adopted, but no reset */
    repl_hb_reply_t sec5 = HB(REPL_SECONDARY, 5, OT(3, 1));
    repl_topo_on_heartbeat(&t, 2, &sec5, &a);
    assert_int_equal(t.term, 5);
    assert_false(repl_topo_hb_resets_election_timer(&t, &sec5));
    /* the old primary (term 3) still says PRIMARY: no reset, and it is no longer our primary */
    repl_topo_on_heartbeat(&t, 0, &p, &a);
    assert_false(repl_topo_hb_resets_election_timer(&t, &p));
    assert_int_equal(t.primary, -1);
    /* a primary of a newer term: adopted, then it resets */
    repl_hb_reply_t p6 = HB(REPL_PRIMARY, 6, OT(6, 2));
    repl_topo_on_heartbeat(&t, 2, &p6, &a);
    assert_true(repl_topo_hb_resets_election_timer(&t, &p6));
    /* the timer fired anyway (the primary slow to answer): stand, the term not taken */
    memset(&a, 0, sizeof(a));
    repl_topo_on_election_timeout(&t, &a);
    assert_true(a.flags & REPL_ACT_START_DRY_RUN);
    assert_int_equal(a.vote_req.term, 7);
    assert_int_equal(t.term, 6);
    repl_config_destroy(&c);
}

/*
 * test_primary_marks_silent_members_down -- the primary's liveness check: a
 * member not heard from for an election timeout is down; without a majority
 * heard from, the primary steps down.
 */
static void test_primary_marks_silent_members_down(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    elect(&t);
    repl_actions_t a = {0};
    repl_hb_reply_t r = HB(REPL_SECONDARY, t.term, OT(1, 10));
    repl_topo_on_heartbeat(&t, 1, &r, &a);
    repl_topo_heard_from(&t, 1, 1000);
    repl_topo_on_heartbeat(&t, 2, &r, &a);
    repl_topo_heard_from(&t, 2, 1000);
    repl_topo_heard_from(&t, 2, 9000);                 /* a position report */
    repl_topo_on_liveness_check(&t, 1000 + 10000, &a); /* electionTimeoutMillis 10000 */
    assert_false(t.members[1].up);
    assert_true(t.members[2].up);
    assert_int_equal(t.state, REPL_PRIMARY);
    memset(&a, 0, sizeof(a));
    repl_topo_on_liveness_check(&t, 9000 + 10000, &a);
    assert_true(a.flags & REPL_ACT_STEP_DOWN);
    assert_int_equal(t.state, REPL_SECONDARY);
    repl_config_destroy(&c);
}

static void test_frozen_and_priority_zero_do_not_stand(void **state)
{
    (void)state;
    double prio[3] = {0, 1, 1};
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, prio, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 1), OT(1, 1));
    repl_actions_t a = {0};
    repl_topo_on_election_timeout(&t, &a);
    assert_int_equal(a.flags, 0);
    repl_topo_init(&t, &c, 1, 1, OT(1, 1), OT(1, 1));
    status_t st = STATUS_INIT;
    assert_int_equal(repl_topo_freeze(&t, true, &st), 0);
    repl_topo_on_election_timeout(&t, &a);
    assert_int_equal(a.flags, 0);
    assert_int_equal(repl_topo_freeze(&t, false, &st), 0);
    repl_topo_on_election_timeout(&t, &a);
    assert_true(a.flags & REPL_ACT_START_DRY_RUN);
    repl_config_destroy(&c);
}

static void test_sync_source(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 2, 1, OT(1, 5), OT(1, 5));
    repl_actions_t a = {0};
    repl_hb_reply_t p = HB(REPL_PRIMARY, 1, OT(1, 9));
    p.ping_ms = 10;
    repl_hb_reply_t s = HB(REPL_SECONDARY, 1, OT(1, 8));
    s.ping_ms = 1;
    repl_topo_on_heartbeat(&t, 0, &p, &a);
    repl_topo_on_heartbeat(&t, 1, &s, &a);
    assert_int_equal(repl_topo_choose_sync_source(&t), 1); /* chaining: the closer one */
    repl_config_destroy(&c);
    make_config(&c, 3, NULL, false);
    repl_topo_init(&t, &c, 2, 1, OT(1, 5), OT(1, 5));
    repl_topo_on_heartbeat(&t, 0, &p, &a);
    repl_topo_on_heartbeat(&t, 1, &s, &a);
    assert_int_equal(repl_topo_choose_sync_source(&t), 0); /* no chaining: the primary */
    hb_down(&t, 0, &a);
    assert_int_equal(repl_topo_choose_sync_source(&t), -1);
    repl_config_destroy(&c);
}

static void test_step_down(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    status_t st = STATUS_INIT;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    repl_actions_t a = {0};
    assert_int_equal(repl_topo_step_down(&t, false, &a, &st), ERR_NotWritablePrimary);
    elect(&t);
    repl_topo_on_term_noop(&t, OT(2, 11), &a);
    repl_hb_reply_t r = HB(REPL_SECONDARY, 2, OT(1, 10));
    repl_topo_on_heartbeat(&t, 1, &r, &a);
    status_reset(&st);
    assert_int_equal(repl_topo_step_down(&t, false, &a, &st), ERR_ExceededTimeLimit);
    assert_int_equal(t.state, REPL_PRIMARY);
    r.applied = OT(2, 11);
    repl_topo_on_heartbeat(&t, 1, &r, &a);
    memset(&a, 0, sizeof(a));
    status_reset(&st);
    assert_int_equal(repl_topo_step_down(&t, false, &a, &st), 0);
    assert_true(a.flags & REPL_ACT_STEP_DOWN);
    assert_int_equal(t.state, REPL_SECONDARY);
    repl_config_destroy(&c);
}

static void test_priority_takeover(void **state)
{
    (void)state;
    double prio[3] = {1, 5, 1};
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, prio, true);
    repl_topo_init(&t, &c, 1, 2, OT(2, 5), OT(2, 5));
    repl_actions_t a = {0};
    repl_hb_reply_t p = HB(REPL_PRIMARY, 2, OT(2, 9));
    repl_topo_on_heartbeat(&t, 0, &p, &a);
    assert_false(repl_topo_priority_takeover(&t)); /* behind */
    repl_topo_on_position(&t, 1, OT(2, 9), OT(2, 9), &a);
    assert_true(repl_topo_priority_takeover(&t));
    repl_config_destroy(&c);
}

static void test_secondary_commit_point_bounded_by_applied(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 1, 2, OT(2, 5), OT(2, 5));
    repl_actions_t a = {0};
    repl_hb_reply_t p = HB(REPL_PRIMARY, 2, OT(2, 9));
    p.commit_point = OT(2, 8);
    repl_topo_on_heartbeat(&t, 0, &p, &a);
    assert_int_equal(t.commit_point.ts, 5); /* only what we hold */
    repl_topo_on_position(&t, 1, OT(2, 9), OT(2, 9), &a);
    repl_topo_on_heartbeat(&t, 0, &p, &a);
    assert_int_equal(t.commit_point.ts, 8);
    repl_config_destroy(&c);
}

/* ---- configuration validation ----------------------------------------- */

static void test_config_validation(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int code;
    } cases[] = {
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}]}", 0},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": []}", 93},
        {"{\"_id\": \"rs\", \"members\": [{\"_id\": 0, \"host\": \"a:1\"}]}", 40414},
        {"{\"_id\": \"rs\", \"version\": 0, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}]}", 2},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}, "
         "{\"_id\": 0, \"host\": \"b:1\"}]}",
         93},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}, "
         "{\"_id\": 1, \"host\": \"A:1\"}]}",
         93},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\", "
         "\"votes\": 2}]}",
         93},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\", "
         "\"priority\": -1}]}",
         93},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}, "
         "{\"_id\": 1, \"host\": \"b:1\", \"arbiterOnly\": true}]}",
         0},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}, "
         "{\"_id\": 1, \"host\": \"b:1\", \"arbiterOnly\": true, \"priority\": 1}]}",
         93},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\", "
         "\"hidden\": true}]}",
         93},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}, "
         "{\"_id\": 1, \"host\": \"b:1\", \"hidden\": true, \"priority\": 0}]}",
         0},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\", "
         "\"priority\": 0}]}",
         93},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\", "
         "\"tags\": {\"dc\": 1}}]}",
         14},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\", "
         "\"x\": 1}]}",
         40415},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}], "
         "\"settings\": {\"heartbeatIntervalMillis\": -5}}",
         2},
        {"{\"_id\": \"rs\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}], "
         "\"settings\": {\"chainingAllowed\": 1}}",
         14},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bson_error_t err;
        bson_t *doc = bson_new_from_json((const uint8_t *)cases[i].json, -1, &err);
        assert_non_null(doc);
        repl_config_t c;
        status_t st = STATUS_INIT;
        repl_config_init(&c);
        int ret = repl_config_parse(doc, &c, &st);
        if (ret != cases[i].code)
            fail_msg("case %zu: expected %d, got %d (%s)", i, cases[i].code, ret, st.msg);
        repl_config_destroy(&c);
        bson_destroy(doc);
    }
    /* eight voters are too many */
    repl_config_t c;
    bson_t doc = BSON_INITIALIZER, arr, m;
    status_t st = STATUS_INIT;
    BSON_APPEND_UTF8(&doc, "_id", "rs");
    BSON_APPEND_INT32(&doc, "version", 1);
    BSON_APPEND_ARRAY_BEGIN(&doc, "members", &arr);
    for (int i = 0; i < 8; i++) {
        char key[8], host[32];
        snprintf(key, sizeof(key), "%d", i);
        snprintf(host, sizeof(host), "h:%d", i + 1);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &m);
        BSON_APPEND_INT32(&m, "_id", i);
        BSON_APPEND_UTF8(&m, "host", host);
        bson_append_document_end(&arr, &m);
    }
    bson_append_array_end(&doc, &arr);
    repl_config_init(&c);
    assert_int_equal(repl_config_parse(&doc, &c, &st), ERR_InvalidReplicaSetConfig);
    repl_config_destroy(&c);
    bson_destroy(&doc);
}

/*
 * test_vote_rules_as_mongodb -- replSetRequestVotes answered with
 * processReplSetRequestVotes' rules, one case each: an older config (by
 * version, then term), a lower term (dry run too), another set name, staler
 * data, and a primary answering a dry run (granted: MongoDB has no "I am
 * primary" refusal; the real round's higher term then deposes it).
 */
static void test_vote_rules_as_mongodb(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    repl_vote_reply_t r;
    repl_actions_t a = {0};
    make_config(&c, 3, NULL, true);
    c.version = 3;
    c.term = 4;
    repl_topo_init(&t, &c, 0, 4, OT(4, 10), OT(4, 10));
    /* a config older by version */
    repl_vote_req_t req = {5, 1, 2, OT(4, 10), true, 4, "rs"};
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    assert_string_equal(r.reason, "candidate's config with {version: 2, term: 4} is older than "
                                  "mine with {version: 3, term: 4}");
    /* older by term (the term decides before the version) */
    req.config_version = 9;
    req.config_term = 3;
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    /* a newer config is no reason to refuse */
    req.config_version = 4;
    req.config_term = 4;
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_true(r.granted);
    req.config_version = 3;
    /* a dry run at a lower term */
    req.term = 3;
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    assert_string_equal(r.reason, "candidate's term (3) is lower than mine (4)");
    /* a dry run at our own term is granted (only a lower one is refused) */
    req.term = 4;
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_true(r.granted);
    /* another set */
    req.term = 5;
    req.set_name = "other";
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    assert_string_equal(r.reason, "candidate's set name (other) differs from mine (rs)");
    req.set_name = "rs";
    /* staler data: an earlier term, or the same term and an earlier timestamp */
    req.last_applied = OT(3, 99);
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    assert_true(strncmp(r.reason, "candidate's data is staler than mine", 36) == 0);
    req.last_applied = OT(4, 9);
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    assert_int_equal(t.term, 4); /* dry runs took no term */
    assert_int_equal(t.voted_term, -1);
    assert_false(a.flags & REPL_ACT_PERSIST_TERM);
    repl_config_destroy(&c);

    /* a primary grants a dry run to an up-to-date candidate; the real round deposes it */
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    elect(&t);
    repl_vote_req_t dry = {t.term + 1, 1, 1, OT(1, 10), true, -1, "rs"};
    memset(&a, 0, sizeof(a));
    repl_topo_process_vote(&t, &dry, &r, &a);
    assert_true(r.granted);
    assert_int_equal(t.state, REPL_PRIMARY);
    assert_false(a.flags & REPL_ACT_STEP_DOWN);
    dry.dry_run = false;
    repl_topo_process_vote(&t, &dry, &r, &a);
    assert_true(r.granted);
    assert_true(a.flags & REPL_ACT_STEP_DOWN);
    assert_int_equal(t.state, REPL_SECONDARY);
    repl_config_destroy(&c);
}

/*
 * test_arbiter_refuses_when_it_sees_a_better_primary -- an arbiter that sees a
 * healthy primary of equal or greater priority than the candidate refuses (same
 * config only), so two members that cannot see each other do not take turns.
 */
static void test_arbiter_refuses_when_it_sees_a_better_primary(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    repl_vote_reply_t r;
    repl_actions_t a = {0};
    make_config(&c, 3, NULL, true);
    c.members[2].arbiter_only = true;
    repl_topo_init(&t, &c, 2, 3, OT(0, 0), OT(0, 0));
    repl_hb_reply_t hb = HB(REPL_PRIMARY, 3, OT(3, 10));
    repl_topo_on_heartbeat(&t, 0, &hb, &a);
    repl_vote_req_t req = {4, 1, 1, OT(3, 10), true, -1, "rs"};
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_false(r.granted);
    assert_string_equal(r.reason,
                        "can see a healthy primary (127.0.0.1:27017) of equal or greater priority");
    /* a candidate with a newer config: the arbiter's view may be stale, it answers */
    req.config_version = 2;
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_true(r.granted);
    repl_config_destroy(&c);
}

/*
 * test_commit_point_counts_only_own_term -- regression (lost w: "majority"
 * write in test_repl_failover_long): a primary of term 2 that has not heard of
 * term 3 yet gets a position report from a member already in term 3, whose
 * optime compares above every entry of term 2 though its log lacks the
 * primary's latest ones. Counting it made the deposed primary's own
 * unreplicated writes "majority-committed" and acknowledged them. Only
 * optimes of the primary's own term count.
 */
static void test_commit_point_counts_only_own_term(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 0, 1, OT(1, 10), OT(1, 10));
    elect(&t); /* term 2 */
    repl_actions_t a = {0};
    repl_topo_on_term_noop(&t, OT(2, 11), &a);
    repl_topo_on_position(&t, 0, OT(2, 20), OT(2, 20), &a);
    repl_topo_on_position(&t, 1, OT(2, 20), OT(2, 20), &a);
    assert_true(repl_topo_is_committed(&t, OT(2, 20)));
    /* our own writes up to 40; member 1 (now in term 3 elsewhere) reports (3, 30) */
    repl_topo_on_position(&t, 0, OT(2, 40), OT(2, 40), &a);
    memset(&a, 0, sizeof(a));
    repl_topo_on_position(&t, 1, OT(3, 30), OT(3, 30), &a);
    assert_false(a.flags & REPL_ACT_COMMIT_POINT);
    assert_false(repl_topo_is_committed(&t, OT(2, 21)));
    assert_false(repl_topo_is_committed(&t, OT(2, 40)));
    /* member 2 in our term holding 40: now a majority of our term does */
    repl_topo_on_position(&t, 2, OT(2, 40), OT(2, 40), &a);
    assert_true(repl_topo_is_committed(&t, OT(2, 40)));
    repl_config_destroy(&c);
}

/*
 * test_new_term_forgets_old_primary -- a newer term adopted from a vote request
 * forgets the primary of the older term: nothing (position reports included)
 * goes to it until the new primary makes itself known.
 */
static void test_new_term_forgets_old_primary(void **state)
{
    (void)state;
    repl_config_t c;
    repl_topo_t t;
    make_config(&c, 3, NULL, true);
    repl_topo_init(&t, &c, 1, 2, OT(2, 10), OT(2, 10));
    repl_actions_t a = {0};
    repl_hb_reply_t hb = HB(REPL_PRIMARY, 2, OT(2, 10));
    repl_topo_on_heartbeat(&t, 0, &hb, &a);
    assert_int_equal(t.primary, 0);
    repl_vote_req_t req = {3, 2, 1, OT(2, 10), false, -1, "rs"};
    repl_vote_reply_t r;
    memset(&a, 0, sizeof(a));
    repl_topo_process_vote(&t, &req, &r, &a);
    assert_true(r.granted);
    assert_int_equal(t.primary, -1);
    assert_true(a.flags & REPL_ACT_STATE_CHANGED);
    hb = HB(REPL_PRIMARY, 3, OT(3, 11));
    repl_topo_on_heartbeat(&t, 2, &hb, &a);
    assert_int_equal(t.primary, 2);
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
