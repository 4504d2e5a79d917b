/*
 * test_index_build.c -- online index builds (storage/index_build.c): writes
 * made while the scan runs (through a second session, from the work hook that
 * runs between scan batches) reach the index through the side table; a unique
 * build fails on a duplicate that still exists at commit and passes one that
 * went away; an aborted build leaves nothing; a running build is listed only
 * as a build; rename is refused while one runs.
 */
#include "storage_test.h"

#define NDOCS 3000

typedef struct fixture {
    char *dir;
    stor_engine_t *eng;
    stor_session_t *sess;  /* the build's */
    stor_session_t *other; /* the writers' */
    stor_collection_t *coll;
} fixture_t;

/* What the work hook does at its first call after the scan started. */
typedef void (*writes_fn)(fixture_t *f);
static fixture_t *g_f;
static writes_fn g_writes;
static int g_calls;

static int hook(const char *what, int64_t done, int64_t total, status_t *st)
{
    (void)total;
    (void)st;
    /* mid-scan: after the first batch, before the last */
    if (g_writes != NULL && strstr(what, "scanning") != NULL && done > 0 && g_calls++ == 0)
        g_writes(g_f);
    return 0;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    status_t st = STATUS_INIT;
    f->dir = st_tmpdir();
    f->eng = st_open(f->dir, STOR_MODE_STANDALONE);
    st_ok(stor_session_open(f->eng, &f->sess, &st), &st);
    st_ok(stor_session_open(f->eng, &f->other, &st), &st);
    st_ok(stor_collection_create(f->sess, "db.c", NULL, &f->coll, &st), &st);
    for (int i = 0; i < NDOCS; i++) {
        bson_t *d = BCON_NEW("_id", BCON_INT32(i), "a", BCON_INT32(i), "u", BCON_INT32(i));
        st_ok(stor_record_insert(f->sess, f->coll, d, NULL, &st), &st);
        bson_destroy(d);
    }
    g_f = f;
    g_writes = NULL;
    g_calls = 0;
    stor_set_work_hook(hook);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    stor_set_work_hook(NULL);
    stor_session_close(f->sess);
    stor_session_close(f->other);
    st_close(f->eng);
    st_rmdir(f->dir);
    free(f);
    return 0;
}

static bson_t *spec_of(const char *field, bool unique)
{
    char name[32];
    snprintf(name, sizeof(name), "%s_1", field);
    bson_t *s = BCON_NEW("v", BCON_INT32(2), "key", "{", field, BCON_INT32(1), "}", "name",
                         BCON_UTF8(name));
    if (unique)
        BSON_APPEND_BOOL(s, "unique", true);
    return s;
}

/* find_rid -- the RecordId of the document with _id id (a scan). */
static int64_t find_rid(fixture_t *f, int id)
{
    stor_cursor_t *cur;
    status_t st = STATUS_INIT;
    st_ok(stor_cursor_open(f->other, f->coll, true, &cur, &st), &st);
    int64_t rid, found = -1;
    bson_t doc;
    bool eof = false;
    while (found < 0 && stor_cursor_next(cur, &rid, &doc, &eof, &st) == 0 && !eof) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, &doc, "_id") && bson_iter_as_int64(&it) == id)
            found = rid;
    }
    stor_cursor_close(cur);
    assert_true(found >= 0);
    return found;
}

static void insert_other(fixture_t *f, int id, int a, int u)
{
    status_t st = STATUS_INIT;
    bson_t *d = BCON_NEW("_id", BCON_INT32(id), "a", BCON_INT32(a), "u", BCON_INT32(u));
    st_ok(stor_record_insert(f->other, f->coll, d, NULL, &st), &st);
    bson_destroy(d);
}

static void update_other(fixture_t *f, int id, int a, int u)
{
    status_t st = STATUS_INIT;
    bson_t *d = BCON_NEW("_id", BCON_INT32(id), "a", BCON_INT32(a), "u", BCON_INT32(u));
    st_ok(stor_record_update(f->other, f->coll, find_rid(f, id), d, &st), &st);
    bson_destroy(d);
}

static void delete_other(fixture_t *f, int id)
{
    status_t st = STATUS_INIT;
    st_ok(stor_record_delete(f->other, f->coll, find_rid(f, id), &st), &st);
}

/* mixed_writes -- inserts, updates (before and after the scan position) and deletes. */
static void mixed_writes(fixture_t *f)
{
    for (int i = 0; i < 300; i++)
        insert_other(f, NDOCS + i, 7 * i, NDOCS + i);
    for (int i = 0; i < NDOCS; i += 25) /* both sides of the scan's position */
        update_other(f, i, -i, i);
    for (int i = 1; i < NDOCS; i += 97)
        delete_other(f, i);
    /* an array: the building index turns multikey from a side write */
    bson_t *d = BCON_NEW("_id", BCON_INT32(-1), "a", "[", BCON_INT32(1), BCON_INT32(2), "]", "u",
                         BCON_INT32(-1));
    status_t st = STATUS_INIT;
    st_ok(stor_record_insert(f->other, f->coll, d, NULL, &st), &st);
    bson_destroy(d);
}

static void check_consistent(fixture_t *f, const char *name)
{
    stor_index_t *idx;
    status_t st = STATUS_INIT;
    st_ok(stor_index_lookup(f->coll, name, &idx, &st), &st);
    stor_index_validation_t v;
    st_ok(stor_index_validate(f->sess, idx, &v, &st), &st);
    if (v.bad_entries != 0 || v.missing_keys != 0)
        fail_msg("%s: bad %lld missing %lld: %s", name, (long long)v.bad_entries,
                 (long long)v.missing_keys, v.first_error);
    assert_int_equal(v.nrecords, stor_collection_count(f->coll));
}

static void test_writes_during_the_scan_reach_the_index(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_build_t *b;
    bson_t *spec = spec_of("a", false);
    st_ok(stor_index_build_start(f->sess, f->coll, spec, 1, &b, &st), &st);
    assert_non_null(b);
    g_writes = mixed_writes;
    st_ok(stor_index_build_scan(f->sess, b, &st), &st);
    assert_int_equal(g_calls > 0, 1);
    assert_true(stor_index_build_pending(b) > 0);
    int64_t applied = 0;
    st_ok(stor_index_build_drain(f->sess, b, &applied, &st), &st);
    assert_true(applied > 0);
    insert_other(f, 99999, 5, 99999); /* after the drain: the commit's drain takes it */
    st_ok(stor_index_build_commit(f->sess, b, &st), &st);
    stor_index_build_release(f->sess, b, &st);
    check_consistent(f, "a_1");
    stor_index_t *idx;
    st_ok(stor_index_lookup(f->coll, "a_1", &idx, &st), &st);
    assert_true(stor_index_is_multikey(idx));
    /* a write after the commit maintains it directly */
    insert_other(f, 100000, 6, 100000);
    check_consistent(f, "a_1");
    bson_destroy(spec);
}

static void dup_then_keep(fixture_t *f)
{
    insert_other(f, NDOCS + 1, 0, 5); /* u: 5 is held by _id 5 */
}

static void dup_then_resolve(fixture_t *f)
{
    insert_other(f, NDOCS + 1, 0, 5);
    insert_other(f, NDOCS + 2, 0, NDOCS - 1); /* ahead of the scan: the scan sees the clash */
    update_other(f, 5, 5, -5);                /* _id 5 lets u: 5 go */
    delete_other(f, NDOCS - 1);               /* and the holder of u: NDOCS-1 goes */
}

static void test_unique_duplicate_still_there_at_commit_fails(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_build_t *b;
    bson_t *spec = spec_of("u", true);
    st_ok(stor_index_build_start(f->sess, f->coll, spec, 1, &b, &st), &st);
    g_writes = dup_then_keep;
    st_ok(stor_index_build_scan(f->sess, b, &st), &st);
    assert_int_equal(stor_index_build_commit(f->sess, b, &st), ERR_DuplicateKey);
    assert_non_null(strstr(st.msg, "dup key: { u: 5 }"));
    stor_index_build_release(f->sess, b, &st);
    stor_index_t *idx;
    assert_int_equal(stor_index_lookup(f->coll, "u_1", &idx, &st), ERR_IndexNotFound);
    bson_t list;
    st_ok(stor_list_index_builds(f->eng, "db.c", &list, &st), &st);
    assert_int_equal(bson_count_keys(&list), 0);
    bson_destroy(&list);
    /* writers no longer record side writes: inserts go on */
    insert_other(f, 123456, 1, 5);
    bson_destroy(spec);
}

static void test_unique_duplicate_gone_by_commit_passes(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_build_t *b;
    bson_t *spec = spec_of("u", true);
    st_ok(stor_index_build_start(f->sess, f->coll, spec, 1, &b, &st), &st);
    g_writes = dup_then_resolve;
    st_ok(stor_index_build_scan(f->sess, b, &st), &st);
    st_ok(stor_index_build_commit(f->sess, b, &st), &st);
    stor_index_build_release(f->sess, b, &st);
    check_consistent(f, "u_1");
    /* and it is enforced from now on */
    bson_t *d = BCON_NEW("_id", BCON_INT32(-7), "u", BCON_INT32(5));
    assert_int_equal(stor_record_insert(f->other, f->coll, d, NULL, &st), ERR_DuplicateKey);
    bson_destroy(d);
    bson_destroy(spec);
}

static void test_running_build_is_listed_only_as_a_build(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_build_t *b, *b2 = NULL;
    bson_t *spec = spec_of("a", false);
    st_ok(stor_index_build_start(f->sess, f->coll, spec, 1, &b, &st), &st);
    bson_t list;
    st_ok(stor_list_indexes(f->eng, "db.c", &list, &st), &st);
    assert_int_equal(bson_count_keys(&list), 1); /* _id_ only */
    bson_destroy(&list);
    st_ok(stor_list_index_builds(f->eng, "db.c", &list, &st), &st);
    assert_int_equal(bson_count_keys(&list), 1);
    bson_iter_t it, sub;
    assert_true(bson_iter_init(&it, &list) && bson_iter_next(&it) && bson_iter_recurse(&it, &sub) &&
                bson_iter_find(&sub, "buildUUID"));
    bson_destroy(&list);
    assert_true(stor_collection_has_builds(f->coll));
    /* the same index again: in progress; another key with the same name: conflict */
    assert_int_equal(stor_index_build_start(f->other, f->coll, spec, 1, &b2, &st),
                     ERR_IndexBuildAlreadyInProgress);
    bson_t *clash =
        BCON_NEW("v", BCON_INT32(2), "key", "{", "u", BCON_INT32(1), "}", "name", BCON_UTF8("a_1"));
    assert_int_equal(stor_index_build_start(f->other, f->coll, clash, 1, &b2, &st),
                     ERR_IndexKeySpecsConflict);
    assert_int_equal(stor_collection_rename(f->other, "db.c", "db.d", false, &st),
                     ERR_BackgroundOperationInProgressForNamespace);
    /* aborted: nothing left, and the same build can run again */
    stor_index_build_release(f->sess, b, NULL);
    assert_false(stor_collection_has_builds(f->coll));
    insert_other(f, 777777, 1, 777777);
    stor_index_t *idx;
    st_ok(stor_index_create(f->sess, f->coll, spec, &idx, &st), &st);
    check_consistent(f, "a_1");
    bson_destroy(clash);
    bson_destroy(spec);
}

static void test_dropped_collection_aborts_the_build(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_build_t *b;
    bson_t *spec = spec_of("a", false);
    st_ok(stor_index_build_start(f->sess, f->coll, spec, 1, &b, &st), &st);
    st_ok(stor_collection_drop(f->other, "db.c", &st), &st);
    assert_int_equal(stor_index_build_scan(f->sess, b, &st), ERR_IndexBuildAborted);
    stor_index_build_release(f->sess, b, &st);
    bson_destroy(spec);
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
