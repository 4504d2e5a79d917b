/*
 * test_txn.c -- units of work and timestamps: write conflicts as
 * WriteConflict 112, snapshot isolation, abort, reads at a timestamp, commit
 * timestamp checks, and the two modes across a restart: standalone keeps
 * every commit; replicated comes back at the stable timestamp (and
 * rollback_to_stable does the same at run time) while the logged oplog keeps
 * the later entries for replay.
 */
#include "storage_test.h"

#define TS(s) ((uint64_t)(s) << 32)

typedef struct fixture {
    char *dir;
    stor_mode_t mode;
    stor_engine_t *eng;
    stor_session_t *a, *b;
    stor_collection_t *coll;
} fixture_t;

static int setup_mode(void **state, stor_mode_t mode)
{
    fixture_t *f = calloc(1, sizeof(*f));
    status_t st = STATUS_INIT;
    f->dir = st_tmpdir();
    f->mode = mode;
    f->eng = st_open(f->dir, mode);
    st_ok(stor_session_open(f->eng, &f->a, &st), &st);
    st_ok(stor_session_open(f->eng, &f->b, &st), &st);
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "autoIndexId", false);
    st_ok(stor_collection_create(f->a, "db.c", &opts, &f->coll, &st), &st);
    bson_destroy(&opts);
    *state = f;
    return 0;
}

/* setup -- tests named test_replicated_* run in replicated mode, the rest standalone. */
static int setup(void **state)
{
    const char *name = *state;
    bool replicated = strncmp(name, "test_replicated_", strlen("test_replicated_")) == 0;
    return setup_mode(state, replicated ? STOR_MODE_REPLICATED : STOR_MODE_STANDALONE);
}

static void close_all(fixture_t *f)
{
    stor_session_close(f->a);
    stor_session_close(f->b);
    f->a = f->b = NULL;
    if (f->eng)
        st_close(f->eng);
    f->eng = NULL;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    close_all(f);
    st_rmdir(f->dir);
    free(f);
    return 0;
}

static void reopen(fixture_t *f)
{
    status_t st = STATUS_INIT;
    close_all(f);
    f->eng = st_open(f->dir, f->mode);
    st_ok(stor_session_open(f->eng, &f->a, &st), &st);
    st_ok(stor_session_open(f->eng, &f->b, &st), &st);
    st_ok(stor_collection_lookup(f->eng, "db.c", &f->coll, &st), &st);
}

static int64_t insert_at(fixture_t *f, stor_session_t *s, int v, uint64_t ts)
{
    status_t st = STATUS_INIT;
    stor_uow_t *uow;
    st_ok(stor_uow_begin(s, 0, &uow, &st), &st);
    bson_t *d = st_doc(v, v);
    int64_t rid;
    st_ok(stor_record_insert(s, f->coll, d, &rid, &st), &st);
    bson_destroy(d);
    if (ts) {
        bson_t *e = BCON_NEW("ts", BCON_TIMESTAMP((uint32_t)(ts >> 32), (uint32_t)ts), "op",
                             BCON_UTF8("i"), "ns", BCON_UTF8("db.c"));
        st_ok(stor_oplog_append(s, ts, e, &st), &st);
        bson_destroy(e);
    }
    st_ok(stor_uow_commit(uow, ts, &st), &st);
    return rid;
}

static bool exists(fixture_t *f, stor_session_t *s, int64_t rid)
{
    status_t st = STATUS_INIT;
    bson_t out;
    bool found;
    st_ok(stor_record_get(s, f->coll, rid, &out, &found, &st), &st);
    bson_destroy(&out);
    return found;
}

static void test_concurrent_update_is_writeconflict_then_retry_succeeds(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t rid = insert_at(f, f->a, 1, 0);
    stor_uow_t *ua, *ub;
    st_ok(stor_uow_begin(f->a, 0, &ua, &st), &st);
    st_ok(stor_uow_begin(f->b, 0, &ub, &st), &st);
    bson_t *d = st_doc(1, 2);
    st_ok(stor_record_update(f->a, f->coll, rid, d, &st), &st);
    assert_int_equal(stor_record_update(f->b, f->coll, rid, d, &st), ERR_WriteConflict);
    assert_int_equal(status_code_name(st.code), status_code_name(ERR_WriteConflict));
    stor_uow_abort(ub);
    st_ok(stor_uow_commit(ua, 0, &st), &st);
    st_ok(stor_uow_begin(f->b, 0, &ub, &st), &st);
    st_ok(stor_record_update(f->b, f->coll, rid, d, &st), &st);
    st_ok(stor_uow_commit(ub, 0, &st), &st);
    bson_destroy(d);
}

static void test_snapshot_does_not_see_later_commits(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_uow_t *ua;
    st_ok(stor_uow_begin(f->a, 0, &ua, &st), &st);
    assert_false(exists(f, f->a, 1)); /* takes the snapshot */
    int64_t rid = insert_at(f, f->b, 1, 0);
    assert_false(exists(f, f->a, rid));
    stor_uow_abort(ua);
    assert_true(exists(f, f->a, rid));
}

static void test_abort_discards_writes(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_uow_t *uow;
    st_ok(stor_uow_begin(f->a, 0, &uow, &st), &st);
    bson_t *d = st_doc(1, 1);
    int64_t rid;
    st_ok(stor_record_insert(f->a, f->coll, d, &rid, &st), &st);
    bson_destroy(d);
    assert_true(exists(f, f->a, rid));
    stor_uow_abort(uow);
    assert_false(exists(f, f->a, rid));
    assert_null(stor_session_uow(f->a));
}

static void test_second_begin_is_illegal(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_uow_t *uow, *again;
    st_ok(stor_uow_begin(f->a, 0, &uow, &st), &st);
    assert_ptr_equal(stor_session_uow(f->a), uow);
    assert_int_equal(stor_uow_begin(f->a, 0, &again, &st), ERR_IllegalOperation);
    stor_uow_abort(uow);
}

static void test_replicated_read_timestamp_sees_the_past(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t r1 = insert_at(f, f->a, 1, TS(10));
    int64_t r2 = insert_at(f, f->a, 2, TS(20));
    const struct {
        uint64_t read;
        bool see1, see2;
    } cases[] = {{TS(5), false, false}, {TS(15), true, false}, {TS(25), true, true}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        stor_uow_t *uow;
        st_ok(stor_uow_begin(f->b, cases[i].read, &uow, &st), &st);
        assert_int_equal(exists(f, f->b, r1), cases[i].see1);
        assert_int_equal(exists(f, f->b, r2), cases[i].see2);
        stor_uow_abort(uow);
    }
}

static void test_replicated_commit_below_stable_is_badvalue(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    st_ok(stor_engine_set_stable_ts(f->eng, TS(50), &st), &st);
    stor_uow_t *uow;
    st_ok(stor_uow_begin(f->a, 0, &uow, &st), &st);
    assert_int_equal(stor_uow_set_commit_ts(uow, TS(40), &st), ERR_BadValue);
    stor_uow_abort(uow);
}

static void test_replicated_read_below_oldest_is_snapshottooold(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    insert_at(f, f->a, 1, TS(10));
    st_ok(stor_engine_set_stable_ts(f->eng, TS(30), &st), &st);
    st_ok(stor_engine_set_oldest_ts(f->eng, TS(30), &st), &st);
    stor_uow_t *uow;
    assert_int_equal(stor_uow_begin(f->b, TS(20), &uow, &st), ERR_SnapshotTooOld);
    assert_null(uow);
    assert_null(stor_session_uow(f->b));
}

/* A standalone-mode engine (what a replica-set member runs today) honours read timestamps
 * too; round_up reads at oldest instead of failing; the oplog's visible point. */
static void test_read_timestamp_round_up_and_visible_point(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t r1 = insert_at(f, f->a, 1, TS(10));
    int64_t r2 = insert_at(f, f->a, 2, TS(20));
    int64_t r3 = insert_at(f, f->a, 3, TS(40));
    assert_true(stor_oplog_visible_ts(f->eng) == TS(40));
    st_ok(stor_engine_set_stable_ts(f->eng, TS(30), &st), &st);
    st_ok(stor_engine_set_oldest_ts(f->eng, TS(30), &st), &st);
    stor_uow_t *uow;
    assert_int_equal(stor_uow_begin_ts(f->b, TS(15), false, &uow, &st), ERR_SnapshotTooOld);
    /* rounded up to oldest (30): both earlier records, not the one at 40 */
    st_ok(stor_uow_begin_ts(f->b, TS(15), true, &uow, &st), &st);
    assert_true(exists(f, f->b, r1) && exists(f, f->b, r2));
    assert_false(exists(f, f->b, r3));
    stor_uow_abort(uow);
    /* at a timestamp above oldest, exactly that point */
    st_ok(stor_uow_begin_ts(f->b, TS(35), true, &uow, &st), &st);
    assert_false(exists(f, f->b, r3));
    stor_uow_abort(uow);
    /* an append not yet committed is a hole: the visible point stays below it */
    st_ok(stor_uow_begin(f->a, 0, &uow, &st), &st);
    bson_t *e = BCON_NEW("ts", BCON_TIMESTAMP(50, 0), "op", BCON_UTF8("n"));
    st_ok(stor_oplog_append(f->a, TS(50), e, &st), &st);
    bson_destroy(e);
    assert_true(stor_oplog_visible_ts(f->eng) == TS(40));
    st_ok(stor_uow_commit(uow, 0, &st), &st);
    assert_true(stor_oplog_visible_ts(f->eng) == TS(50));
}

static void test_standalone_restart_keeps_commits_above_stable(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t r1 = insert_at(f, f->a, 1, TS(10));
    st_ok(stor_engine_set_stable_ts(f->eng, TS(10), &st), &st);
    int64_t r2 = insert_at(f, f->a, 2, TS(20));
    reopen(f);
    assert_true(exists(f, f->a, r1));
    assert_true(exists(f, f->a, r2));
    assert_int_equal(stor_collection_count(f->coll), 2);
}

static int oplog_count(fixture_t *f)
{
    status_t st = STATUS_INIT;
    stor_oplog_cursor_t *cur;
    st_ok(stor_oplog_cursor_open(f->a, 0, &cur, &st), &st);
    int n = 0;
    for (;;) {
        uint64_t ts;
        bson_t e;
        bool eof;
        st_ok(stor_oplog_cursor_next(cur, &ts, &e, &eof, &st), &st);
        if (eof)
            break;
        n++;
    }
    stor_oplog_cursor_close(cur);
    return n;
}

static void test_replicated_restart_returns_to_stable_oplog_keeps_all(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t r1 = insert_at(f, f->a, 1, TS(10));
    st_ok(stor_engine_set_stable_ts(f->eng, TS(10), &st), &st);
    st_ok(stor_engine_checkpoint(f->eng, &st), &st);
    int64_t r2 = insert_at(f, f->a, 2, TS(20));
    reopen(f);
    assert_true(exists(f, f->a, r1));
    assert_false(exists(f, f->a, r2));
    assert_int_equal(stor_collection_count(f->coll), 1);
    uint64_t rec;
    st_ok(stor_engine_get_ts(f->eng, "recovery", &rec, &st), &st);
    assert_int_equal(rec, TS(10));
    /* the oplog (logged) still holds ts 20 for the caller to replay */
    assert_int_equal(oplog_count(f), 2);
    uint64_t last;
    st_ok(stor_oplog_last_ts(f->a, &last, &st), &st);
    assert_int_equal(last, TS(20));
}

static void test_replicated_rollback_to_stable_at_runtime(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t r1 = insert_at(f, f->a, 1, TS(10));
    st_ok(stor_engine_set_stable_ts(f->eng, TS(10), &st), &st);
    int64_t r2 = insert_at(f, f->a, 2, TS(20));
    assert_int_equal(stor_collection_count(f->coll), 2);
    st_ok(stor_engine_recover_to_stable(f->eng, &st), &st);
    assert_true(exists(f, f->a, r1));
    assert_false(exists(f, f->a, r2));
    assert_int_equal(stor_collection_count(f->coll), 1);
    assert_int_equal(oplog_count(f), 2);
}

static void test_switching_mode_changes_table_logging(void **state)
{
    fixture_t *f = *state; /* created standalone */
    status_t st = STATUS_INIT;
    int64_t r1 = insert_at(f, f->a, 1, 0);
    f->mode = STOR_MODE_REPLICATED;
    reopen(f); /* tables become unlogged */
    assert_true(exists(f, f->a, r1));
    int64_t r2 = insert_at(f, f->a, 2, TS(10));
    st_ok(stor_engine_set_stable_ts(f->eng, TS(10), &st), &st);
    st_ok(stor_engine_checkpoint(f->eng, &st), &st);
    int64_t r3 = insert_at(f, f->a, 3, TS(20));
    reopen(f);
    assert_true(exists(f, f->a, r1));
    assert_true(exists(f, f->a, r2));
    assert_false(exists(f, f->a, r3));
    f->mode = STOR_MODE_STANDALONE;
    reopen(f); /* logged again: everything survives */
    int64_t r4 = insert_at(f, f->a, 4, 0);
    reopen(f);
    assert_true(exists(f, f->a, r4));
}

static void test_recover_to_stable_refused_in_standalone(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    assert_int_equal(stor_engine_recover_to_stable(f->eng, &st), ERR_IllegalOperation);
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
