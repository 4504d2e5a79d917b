/*
 * test_oplog.c -- local.oplog.rs: appends inside units of work and in ts
 * order, reading back, visibility with holes (an uncommitted earlier append
 * hides later commits), aborted appends, waiting for new entries with a
 * deadline, capping by size (and by the stable timestamp when replicated),
 * CappedPositionLost, truncate-after for rollback, persistence.
 */
#include "storage_test.h"

#include <pthread.h>

typedef struct fixture {
    char *dir;
    stor_engine_t *eng;
    stor_session_t *a, *b;
} fixture_t;

static stor_engine_t *open_engine(const char *dir, stor_mode_t mode, int64_t cap)
{
    stor_options_t o;
    stor_options_init(&o);
    o.mode = mode;
    o.cache_size_mb = 64;
    if (cap)
        o.oplog_max_bytes = cap;
    stor_engine_t *eng;
    status_t st = STATUS_INIT;
    st_ok(stor_engine_open(dir, &o, &eng, &st), &st);
    return eng;
}

static fixture_t *fixture_new(stor_mode_t mode, int64_t cap)
{
    fixture_t *f = calloc(1, sizeof(*f));
    status_t st = STATUS_INIT;
    f->dir = st_tmpdir();
    f->eng = open_engine(f->dir, mode, cap);
    st_ok(stor_session_open(f->eng, &f->a, &st), &st);
    st_ok(stor_session_open(f->eng, &f->b, &st), &st);
    return f;
}

/* setup -- a standalone fixture, except for test_own_fixture_* (they build their own). */
static int setup(void **state)
{
    const char *name = *state;
    if (strncmp(name, "test_own_fixture_", strlen("test_own_fixture_")) == 0)
        *state = NULL;
    else
        *state = fixture_new(STOR_MODE_STANDALONE, 0);
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    stor_session_close(f->a);
    stor_session_close(f->b);
    st_close(f->eng);
    st_rmdir(f->dir);
    free(f);
    return 0;
}

static bson_t *entry(uint64_t ts, size_t pad)
{
    char *p = malloc(pad + 1);
    memset(p, 'x', pad);
    p[pad] = '\0';
    bson_t *e = BCON_NEW("ts", BCON_TIMESTAMP((uint32_t)(ts >> 32), (uint32_t)ts), "t",
                         BCON_INT64(1), "v", BCON_INT32(2), "op", BCON_UTF8("n"), "ns",
                         BCON_UTF8(""), "o", "{", "msg", BCON_UTF8(p), "}");
    free(p);
    return e;
}

/* append -- one entry in its own unit; commit or leave open (returns the unit). */
static stor_uow_t *append(stor_session_t *s, uint64_t ts, size_t pad, bool commit)
{
    status_t st = STATUS_INIT;
    stor_uow_t *uow;
    st_ok(stor_uow_begin(s, 0, &uow, &st), &st);
    bson_t *e = entry(ts, pad);
    st_ok(stor_oplog_append(s, ts, e, &st), &st);
    bson_destroy(e);
    if (commit) {
        st_ok(stor_uow_commit(uow, 0, &st), &st);
        return NULL;
    }
    return uow;
}

/* read_all -- ts of visible entries from start. */
static int read_all(stor_session_t *s, uint64_t start, uint64_t *out, int max)
{
    status_t st = STATUS_INIT;
    stor_oplog_cursor_t *cur;
    st_ok(stor_oplog_cursor_open(s, start, &cur, &st), &st);
    int n = 0;
    for (;;) {
        uint64_t ts;
        bson_t e;
        bool eof;
        st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
        if (eof)
            break;
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, &e, "op"));
        if (n < max)
            out[n] = ts;
        n++;
    }
    stor_oplog_cursor_close(cur);
    return n;
}

static void test_append_outside_unit_of_work_is_illegal(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    bson_t *e = entry(1, 1);
    assert_int_equal(stor_oplog_append(f->a, 1, e, &st), ERR_IllegalOperation);
    bson_destroy(e);
}

static void test_append_must_move_forward(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    append(f->a, 10, 1, true);
    const uint64_t bad[] = {10, 9, 0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        stor_uow_t *uow;
        st_ok(stor_uow_begin(f->a, 0, &uow, &st), &st);
        bson_t *e = entry(bad[i], 1);
        int ret = stor_oplog_append(f->a, bad[i], e, &st);
        assert_int_equal(ret, bad[i] == 0 ? ERR_BadValue : ERR_OplogOutOfOrder);
        bson_destroy(e);
        stor_uow_abort(uow);
    }
}

static void test_entries_read_back_in_order_from_start(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    for (uint64_t ts = 1; ts <= 5; ts++)
        append(f->a, ts * 10, 8, true);
    uint64_t got[8];
    assert_int_equal(read_all(f->b, 0, got, 8), 5);
    assert_int_equal(got[0], 10);
    assert_int_equal(got[4], 50);
    assert_int_equal(read_all(f->b, 25, got, 8), 3);
    assert_int_equal(got[0], 30);
    uint64_t first, last;
    st_ok(stor_oplog_first_ts(f->b, &first, &st), &st);
    st_ok(stor_oplog_last_ts(f->b, &last, &st), &st);
    assert_int_equal(first, 10);
    assert_int_equal(last, 50);
}

static void test_uncommitted_earlier_append_hides_later_commits(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_uow_t *open = append(f->a, 10, 1, false);
    append(f->b, 20, 1, true);
    uint64_t got[4];
    assert_int_equal(read_all(f->b, 0, got, 4), 0);
    st_ok(stor_uow_commit(open, 0, &st), &st);
    assert_int_equal(read_all(f->b, 0, got, 4), 2);
}

static void test_aborted_append_leaves_nothing_and_frees_ts(void **state)
{
    fixture_t *f = *state;
    append(f->a, 5, 1, true);
    stor_uow_t *open = append(f->a, 10, 1, false);
    stor_uow_abort(open);
    uint64_t got[4];
    assert_int_equal(read_all(f->b, 0, got, 4), 1);
    append(f->a, 10, 1, true);
    assert_int_equal(read_all(f->b, 0, got, 4), 2);
}

typedef struct later {
    stor_session_t *s;
    uint64_t ts;
} later_t;

static void *append_later(void *p)
{
    later_t *l = p;
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
    append(l->s, l->ts, 1, true);
    return NULL;
}

static void test_tailable_wait_times_out_or_wakes_on_commit(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    append(f->a, 10, 1, true);
    stor_oplog_cursor_t *cur;
    st_ok(stor_oplog_cursor_open(f->b, 0, &cur, &st), &st);
    uint64_t ts;
    bson_t e;
    bool eof, ready;
    st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
    assert_false(eof);
    st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
    assert_true(eof);
    st_ok(stor_oplog_cursor_wait(cur, time_now_ms() + 100, &ready, &st), &st);
    assert_false(ready);
    pthread_t th;
    later_t l = {f->a, 20};
    pthread_create(&th, NULL, append_later, &l);
    int64_t t0 = time_now_ms();
    st_ok(stor_oplog_cursor_wait(cur, t0 + 10000, &ready, &st), &st);
    assert_true(ready);
    assert_true(time_now_ms() - t0 < 5000);
    pthread_join(th, NULL);
    st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
    assert_false(eof);
    assert_int_equal(ts, 20);
    stor_oplog_cursor_close(cur);
}

/*
 * test_positioned_cursor_never_steps_over_a_filled_hole -- regression (an entry
 * skipped by a secondary's fetcher, found by test_repl_failover_long): a cursor
 * positioned while 101 was a hole (102 committed) reads in that snapshot; once
 * 101 commits, the visibility point passes 102, and stepping on in the old
 * snapshot would return 102 and never 101. The cursor must give 101 first.
 */
static void test_positioned_cursor_never_steps_over_a_filled_hole(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_session_t *r;
    st_ok(stor_session_open(f->eng, &r, &st), &st);
    append(f->a, 100, 1, true);
    stor_uow_t *open = append(f->a, 101, 1, false);
    append(f->b, 102, 1, true);
    stor_oplog_cursor_t *cur;
    st_ok(stor_oplog_cursor_open(r, 0, &cur, &st), &st);
    uint64_t ts;
    bson_t e;
    bool eof;
    st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
    assert_false(eof);
    assert_int_equal(ts, 100); /* positioned on 100; 101 is a hole, 102 committed */
    st_ok(stor_uow_commit(open, 0, &st), &st);
    st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
    assert_false(eof);
    assert_int_equal(ts, 101);
    st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
    assert_false(eof);
    assert_int_equal(ts, 102);
    st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
    assert_true(eof);
    stor_oplog_cursor_close(cur);
    stor_session_close(r);
}

static void test_own_fixture_cap_truncates_front_and_lost_position_is_reported(void **state)
{
    fixture_t *f = fixture_new(STOR_MODE_STANDALONE, 20 * 1024);
    *state = f;
    status_t st = STATUS_INIT;
    stor_oplog_cursor_t *cur;
    st_ok(stor_oplog_cursor_open(f->b, 0, &cur, &st), &st);
    for (uint64_t ts = 1; ts <= 100; ts++)
        append(f->a, ts, 1000, true);
    uint64_t t;
    bson_t e;
    bool eof;
    st_ok(stor_oplog_cursor_next(cur, &t, &e, &eof, &st), &st);
    assert_int_equal(t, 1);
    assert_true(stor_oplog_size(f->eng) > 20 * 1024);
    st_ok(stor_oplog_cap(f->a, &st), &st);
    assert_true(stor_oplog_size(f->eng) <= 20 * 1024);
    uint64_t first, last;
    st_ok(stor_oplog_first_ts(f->a, &first, &st), &st);
    st_ok(stor_oplog_last_ts(f->a, &last, &st), &st);
    assert_true(first > 1);
    assert_int_equal(last, 100);
    assert_int_equal(stor_oplog_cursor_next(cur, &t, &e, &eof, &st), ERR_CappedPositionLost);
    stor_oplog_cursor_close(cur);
}

static void test_own_fixture_replicated_cap_keeps_entries_after_stable(void **state)
{
    fixture_t *f = fixture_new(STOR_MODE_REPLICATED, 10 * 1024);
    *state = f;
    status_t st = STATUS_INIT;
    for (uint64_t ts = 1; ts <= 50; ts++)
        append(f->a, ts, 1000, true);
    st_ok(stor_oplog_cap(f->a, &st), &st);
    uint64_t first;
    st_ok(stor_oplog_first_ts(f->a, &first, &st), &st);
    assert_int_equal(first, 1); /* no stable timestamp: nothing may go */
    st_ok(stor_engine_set_stable_ts(f->eng, 20, &st), &st);
    st_ok(stor_engine_checkpoint(f->eng, &st), &st);
    st_ok(stor_oplog_cap(f->a, &st), &st);
    st_ok(stor_oplog_first_ts(f->a, &first, &st), &st);
    assert_true(first > 1);
    assert_true(first <= 21);
}

static void test_truncate_after_removes_the_tail(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    for (uint64_t ts = 1; ts <= 10; ts++)
        append(f->a, ts, 10, true);
    st_ok(stor_oplog_truncate_after(f->a, 6, &st), &st);
    uint64_t got[16], last;
    assert_int_equal(read_all(f->b, 0, got, 16), 6);
    st_ok(stor_oplog_last_ts(f->a, &last, &st), &st);
    assert_int_equal(last, 6);
    append(f->a, 7, 10, true); /* the cut point is the new tail */
}

static void test_oplog_and_size_survive_reopen(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    for (uint64_t ts = 1; ts <= 10; ts++)
        append(f->a, ts, 100, true);
    int64_t size = stor_oplog_size(f->eng);
    stor_session_close(f->a);
    stor_session_close(f->b);
    st_close(f->eng);
    f->eng = open_engine(f->dir, STOR_MODE_STANDALONE, 0);
    st_ok(stor_session_open(f->eng, &f->a, &st), &st);
    st_ok(stor_session_open(f->eng, &f->b, &st), &st);
    assert_int_equal(stor_oplog_size(f->eng), size);
    uint64_t got[16];
    assert_int_equal(read_all(f->b, 0, got, 16), 10);
    stor_uow_t *uow;
    st_ok(stor_uow_begin(f->a, 0, &uow, &st), &st);
    bson_t *e = entry(10, 1);
    assert_int_equal(stor_oplog_append(f->a, 10, e, &st), ERR_OplogOutOfOrder);
    bson_destroy(e);
    stor_uow_abort(uow);
}

int main(void)
{
    log_set_verbosity(-1);
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)#fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
