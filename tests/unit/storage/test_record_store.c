/*
 * test_record_store.c -- records: insert/get/update/delete, RecordIds
 * monotonic and recovered on reopen, counts and sizes (kept at commit,
 * persisted by a clean shutdown), scans both ways, seek, save/restore
 * across a delete of the current record.
 */
#include "storage_test.h"

typedef struct fixture {
    char *dir;
    stor_engine_t *eng;
    stor_session_t *sess;
    stor_collection_t *coll;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    status_t st = STATUS_INIT;
    f->dir = st_tmpdir();
    f->eng = st_open(f->dir, STOR_MODE_STANDALONE);
    st_ok(stor_session_open(f->eng, &f->sess, &st), &st);
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "autoIndexId", false);
    st_ok(stor_collection_create(f->sess, "test.rs", &opts, &f->coll, &st), &st);
    bson_destroy(&opts);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    stor_session_close(f->sess);
    st_close(f->eng);
    st_rmdir(f->dir);
    free(f);
    return 0;
}

static void reopen(fixture_t *f)
{
    status_t st = STATUS_INIT;
    stor_session_close(f->sess);
    st_close(f->eng);
    f->eng = st_open(f->dir, STOR_MODE_STANDALONE);
    st_ok(stor_session_open(f->eng, &f->sess, &st), &st);
    st_ok(stor_collection_lookup(f->eng, "test.rs", &f->coll, &st), &st);
}

static int64_t insert(fixture_t *f, int id)
{
    status_t st = STATUS_INIT;
    bson_t *d = st_doc(id, id * 10);
    int64_t rid = 0;
    st_ok(stor_record_insert(f->sess, f->coll, d, &rid, &st), &st);
    bson_destroy(d);
    return rid;
}

static int get_v(fixture_t *f, int64_t rid, bool *found)
{
    status_t st = STATUS_INIT;
    bson_t out;
    st_ok(stor_record_get(f->sess, f->coll, rid, &out, found, &st), &st);
    bson_iter_t it;
    int v = -1;
    if (*found && bson_iter_init_find(&it, &out, "v"))
        v = bson_iter_int32(&it);
    bson_destroy(&out);
    return v;
}

static void test_insert_then_get_returns_document(void **state)
{
    fixture_t *f = *state;
    int64_t rid = insert(f, 7);
    bool found;
    assert_int_equal(get_v(f, rid, &found), 70);
    assert_true(found);
}

static void test_get_missing_is_not_found(void **state)
{
    fixture_t *f = *state;
    bool found = true;
    get_v(f, 12345, &found);
    assert_false(found);
}

static void test_record_ids_are_monotonic(void **state)
{
    fixture_t *f = *state;
    int64_t prev = 0;
    for (int i = 0; i < 20; i++) {
        int64_t rid = insert(f, i);
        assert_true(rid > prev);
        prev = rid;
    }
}

static void test_record_ids_continue_after_reopen(void **state)
{
    fixture_t *f = *state;
    int64_t last = 0;
    for (int i = 0; i < 5; i++)
        last = insert(f, i);
    reopen(f);
    assert_true(insert(f, 99) > last);
}

static void test_update_in_place_replaces_document(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t rid = insert(f, 1);
    bson_t *d = st_doc(1, 555);
    st_ok(stor_record_update(f->sess, f->coll, rid, d, &st), &st);
    bool found;
    assert_int_equal(get_v(f, rid, &found), 555);
    assert_int_equal(stor_collection_data_size(f->coll), d->len);
    bson_destroy(d);
}

static void test_update_missing_is_nosuchkey(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    bson_t *d = st_doc(1, 1);
    assert_int_equal(stor_record_update(f->sess, f->coll, 999, d, &st), ERR_NoSuchKey);
    bson_destroy(d);
}

static void test_delete_removes_record_and_counts(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t rid = insert(f, 1);
    insert(f, 2);
    assert_int_equal(stor_collection_count(f->coll), 2);
    st_ok(stor_record_delete(f->sess, f->coll, rid, &st), &st);
    bool found;
    get_v(f, rid, &found);
    assert_false(found);
    assert_int_equal(stor_collection_count(f->coll), 1);
    assert_int_equal(stor_record_delete(f->sess, f->coll, rid, &st), ERR_NoSuchKey);
}

static void test_counts_change_only_at_commit(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_uow_t *uow;
    st_ok(stor_uow_begin(f->sess, 0, &uow, &st), &st);
    insert(f, 1);
    insert(f, 2);
    assert_int_equal(stor_collection_count(f->coll), 0);
    stor_uow_abort(uow);
    assert_int_equal(stor_collection_count(f->coll), 0);
    assert_int_equal(stor_collection_data_size(f->coll), 0);
    st_ok(stor_uow_begin(f->sess, 0, &uow, &st), &st);
    insert(f, 3);
    st_ok(stor_uow_commit(uow, 0, &st), &st);
    assert_int_equal(stor_collection_count(f->coll), 1);
}

static void test_counts_survive_clean_reopen(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 10; i++)
        insert(f, i);
    int64_t size = stor_collection_data_size(f->coll);
    reopen(f);
    assert_true(stor_engine_was_clean(f->eng));
    assert_int_equal(stor_collection_count(f->coll), 10);
    assert_int_equal(stor_collection_data_size(f->coll), size);
}

static int scan(fixture_t *f, bool forward, int *ids, int max)
{
    status_t st = STATUS_INIT;
    stor_cursor_t *cur;
    st_ok(stor_cursor_open(f->sess, f->coll, forward, &cur, &st), &st);
    int n = 0;
    for (;;) {
        int64_t rid;
        bson_t doc;
        bool eof;
        st_ok(stor_cursor_next(cur, &rid, &doc, &eof, &st), &st);
        if (eof)
            break;
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, &doc, "_id"));
        if (n < max)
            ids[n] = bson_iter_int32(&it);
        n++;
    }
    stor_cursor_close(cur);
    return n;
}

static void test_scan_forward_and_backward_in_record_id_order(void **state)
{
    fixture_t *f = *state;
    for (int i = 1; i <= 5; i++)
        insert(f, i);
    int ids[8];
    assert_int_equal(scan(f, true, ids, 8), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ids[i], i + 1);
    assert_int_equal(scan(f, false, ids, 8), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ids[i], 5 - i);
}

static void test_scan_of_empty_collection_is_eof(void **state)
{
    fixture_t *f = *state;
    int ids[1];
    assert_int_equal(scan(f, true, ids, 1), 0);
    assert_int_equal(scan(f, false, ids, 1), 0);
}

static void test_seek_positions_at_or_after_record_id(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t rids[5];
    for (int i = 0; i < 5; i++)
        rids[i] = insert(f, i);
    st_ok(stor_record_delete(f->sess, f->coll, rids[2], &st), &st);
    const struct {
        bool forward;
        int64_t seek;
        int64_t expect;
    } cases[] = {
        {true, rids[2], rids[3]},
        {false, rids[2], rids[1]},
        {true, rids[0], rids[0]},
        {false, rids[4], rids[4]},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        stor_cursor_t *cur;
        st_ok(stor_cursor_open(f->sess, f->coll, cases[i].forward, &cur, &st), &st);
        st_ok(stor_cursor_seek(cur, cases[i].seek, &st), &st);
        int64_t rid;
        bson_t doc;
        bool eof;
        st_ok(stor_cursor_next(cur, &rid, &doc, &eof, &st), &st);
        assert_false(eof);
        assert_int_equal(rid, cases[i].expect);
        stor_cursor_close(cur);
    }
}

static void test_restore_after_current_record_deleted_continues(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    int64_t rids[4];
    for (int i = 0; i < 4; i++)
        rids[i] = insert(f, i);
    for (int dir = 0; dir < 2; dir++) {
        bool forward = dir == 0;
        stor_cursor_t *cur;
        st_ok(stor_cursor_open(f->sess, f->coll, forward, &cur, &st), &st);
        int64_t rid;
        bson_t doc;
        bool eof;
        st_ok(stor_cursor_next(cur, &rid, &doc, &eof, &st), &st);
        st_ok(stor_cursor_save(cur, &st), &st);
        /* while yielded: the current record and the next one go, another arrives */
        st_ok(stor_record_delete(f->sess, f->coll, rid, &st), &st);
        int64_t gone = forward ? rids[1] : rids[2];
        st_ok(stor_record_delete(f->sess, f->coll, gone, &st), &st);
        st_ok(stor_cursor_restore(cur, &st), &st);
        int64_t next;
        st_ok(stor_cursor_next(cur, &next, &doc, &eof, &st), &st);
        assert_false(eof);
        assert_int_equal(next, forward ? rids[2] : rids[1]);
        stor_cursor_close(cur);
        /* put the four back for the second direction */
        if (forward) {
            for (int i = 0; i < 4; i++)
                rids[i] = insert(f, i);
        }
    }
}

static void test_next_on_saved_cursor_is_error(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_cursor_t *cur;
    st_ok(stor_cursor_open(f->sess, f->coll, true, &cur, &st), &st);
    st_ok(stor_cursor_save(cur, &st), &st);
    int64_t rid;
    bson_t doc;
    bool eof;
    assert_int_equal(stor_cursor_next(cur, &rid, &doc, &eof, &st), ERR_IllegalOperation);
    stor_cursor_close(cur);
}

static void test_dropped_collection_handle_is_namespacenotfound(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    st_ok(stor_collection_drop(f->sess, "test.rs", &st), &st);
    bson_t *d = st_doc(1, 1);
    int64_t rid;
    assert_int_equal(stor_record_insert(f->sess, f->coll, d, &rid, &st), ERR_NamespaceNotFound);
    bson_destroy(d);
}

int main(void)
{
    log_set_verbosity(-1);
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
