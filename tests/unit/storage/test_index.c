/*
 * test_index.c -- indexes over KeyString: unique (DuplicateKey's message,
 * key pattern and value), compound ascending/descending order, bounds in
 * both directions, sparse, partial (a caller-supplied matcher), multikey
 * (entries per element, paths persisted, parallel arrays refused),
 * maintenance on update/delete, builds over existing data, spec conflicts,
 * drops, and cursor save/restore.
 */
#include "storage_test.h"

typedef struct fixture {
    char *dir;
    stor_engine_t *eng;
    stor_session_t *sess;
    stor_collection_t *coll;
} fixture_t;

/* A toy matcher: the filter is {field: value}; a document matches on equality. */
static int toy_compile(void *ctx, const bson_t *filter, void **matcher, status_t *st)
{
    if (bson_count_keys(filter) != 1)
        return status_set(st, ERR_BadValue, "toy filter takes one field");
    *matcher = bson_copy(filter);
    return 0;
}

static bool toy_matches(void *matcher, const bson_t *doc)
{
    bson_iter_t f, d;
    bson_iter_init((bson_iter_t *)&f, matcher);
    bson_iter_next(&f);
    if (!bson_iter_init_find(&d, doc, bson_iter_key(&f)))
        return false;
    return bsonu_equal_iter(&f, &d);
}

static void toy_destroy(void *matcher)
{
    bson_destroy(matcher);
}

static stor_engine_t *open_engine(const char *dir)
{
    stor_options_t o;
    stor_options_init(&o);
    o.cache_size_mb = 64;
    o.matcher_ops.compile = toy_compile;
    o.matcher_ops.matches = toy_matches;
    o.matcher_ops.destroy = toy_destroy;
    stor_engine_t *eng;
    status_t st = STATUS_INIT;
    st_ok(stor_engine_open(dir, &o, &eng, &st), &st);
    return eng;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    status_t st = STATUS_INIT;
    f->dir = st_tmpdir();
    f->eng = open_engine(f->dir);
    st_ok(stor_session_open(f->eng, &f->sess, &st), &st);
    st_ok(stor_collection_create(f->sess, "db.c", NULL, &f->coll, &st), &st);
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
    f->eng = open_engine(f->dir);
    st_ok(stor_session_open(f->eng, &f->sess, &st), &st);
    st_ok(stor_collection_lookup(f->eng, "db.c", &f->coll, &st), &st);
}

/* mkindex -- create an index from JSON key pattern and extra spec fields. */
static int mkindex(fixture_t *f, const char *name, const char *key_json, const char *extra_json,
                   stor_index_t **out, status_t *st)
{
    bson_error_t err;
    bson_t *key = bson_new_from_json((const uint8_t *)key_json, -1, &err);
    assert_non_null(key);
    bson_t *spec =
        extra_json ? bson_new_from_json((const uint8_t *)extra_json, -1, &err) : bson_new();
    assert_non_null(spec);
    BSON_APPEND_INT32(spec, "v", 2);
    BSON_APPEND_DOCUMENT(spec, "key", key);
    BSON_APPEND_UTF8(spec, "name", name);
    stor_index_t *idx = NULL;
    int ret = stor_index_create(f->sess, f->coll, spec, &idx, st);
    if (out)
        *out = idx;
    bson_destroy(key);
    bson_destroy(spec);
    return ret;
}

static int insert_json(fixture_t *f, const char *json, int64_t *rid, status_t *st)
{
    bson_error_t err;
    bson_t *d = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(d);
    bson_iter_t it;
    if (!bson_iter_init_find(&it, d, "_id")) {
        /* as mongod does before storage sees a document */
        bson_oid_t oid;
        bson_oid_init(&oid, NULL);
        BSON_APPEND_OID(d, "_id", &oid);
    }
    int64_t r;
    int ret = stor_record_insert(f->sess, f->coll, d, rid ? rid : &r, st);
    bson_destroy(d);
    return ret;
}

static void insert_ok(fixture_t *f, const char *json, int64_t *rid)
{
    status_t st = STATUS_INIT;
    st_ok(insert_json(f, json, rid, &st), &st);
}

/* scan -- run an index scan; collects the first key value of each entry as int32. */
static int scan(fixture_t *f, stor_index_t *idx, const bson_t *start, bool sinc, const bson_t *end,
                bool einc, bool forward, int *vals, int64_t *rids, int max)
{
    status_t st = STATUS_INIT;
    stor_index_bounds_t b = {start, sinc, end, einc, forward};
    stor_index_cursor_t *cur;
    st_ok(stor_index_cursor_open(f->sess, idx, &b, &cur, &st), &st);
    int n = 0;
    for (;;) {
        int64_t rid;
        bson_t key;
        bool eof;
        st_ok(stor_index_cursor_next(cur, &rid, &key, &eof, &st), &st);
        if (eof) {
            bson_destroy(&key);
            break;
        }
        bson_iter_t it;
        assert_true(bson_iter_init(&it, &key) && bson_iter_next(&it));
        if (n < max) {
            if (vals)
                vals[n] = BSON_ITER_HOLDS_INT32(&it) ? bson_iter_int32(&it) : -999;
            if (rids)
                rids[n] = rid;
        }
        n++;
        bson_destroy(&key);
    }
    stor_index_cursor_close(cur);
    return n;
}

static void test_unique_duplicate_reports_mongodb_message_and_key(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", "{\"unique\": true}", NULL, &st), &st);
    insert_ok(f, "{\"_id\": 1, \"a\": 1}", NULL);
    assert_int_equal(insert_json(f, "{\"_id\": 2, \"a\": 1}", NULL, &st), ERR_DuplicateKey);
    assert_string_equal(st.msg,
                        "E11000 duplicate key error collection: db.c index: a_1 dup key: { a: 1 }");
    bson_t kp, kv;
    stor_session_dup_key(f->sess, &kp, &kv);
    char *kps = bson_as_canonical_extended_json(&kp, NULL);
    char *kvs = bson_as_canonical_extended_json(&kv, NULL);
    assert_string_equal(kps, "{ \"a\" : { \"$numberInt\" : \"1\" } }");
    assert_string_equal(kvs, "{ \"a\" : { \"$numberInt\" : \"1\" } }");
    bson_free(kps);
    bson_free(kvs);
    bson_destroy(&kp);
    bson_destroy(&kv);
    /* the failed insert left nothing behind */
    assert_int_equal(stor_collection_count(f->coll), 1);
}

static void test_id_index_rejects_duplicate_id(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    insert_ok(f, "{\"_id\": \"x\"}", NULL);
    assert_int_equal(insert_json(f, "{\"_id\": \"x\"}", NULL, &st), ERR_DuplicateKey);
    assert_string_equal(
        st.msg, "E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: \"x\" }");
}

static void test_unique_treats_equal_numbers_as_duplicates(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    insert_ok(f, "{\"_id\": 1}", NULL);
    assert_int_equal(insert_json(f, "{\"_id\": 1.0}", NULL, &st), ERR_DuplicateKey);
    assert_int_equal(insert_json(f, "{\"_id\": {\"$numberLong\": \"1\"}}", NULL, &st),
                     ERR_DuplicateKey);
}

static void test_compound_descending_orders_entries(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1_b_-1", "{\"a\": 1, \"b\": -1}", NULL, &idx, &st), &st);
    int64_t r[4];
    insert_ok(f, "{\"a\": 1, \"b\": 1}", &r[0]);
    insert_ok(f, "{\"a\": 1, \"b\": 2}", &r[1]);
    insert_ok(f, "{\"a\": 0, \"b\": 5}", &r[2]);
    insert_ok(f, "{\"a\": 2, \"b\": 0}", &r[3]);
    int64_t rids[4];
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, NULL, rids, 4), 4);
    int64_t want[4] = {r[2], r[1], r[0], r[3]};
    assert_memory_equal(rids, want, sizeof(want));
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, false, NULL, rids, 4), 4);
    int64_t back[4] = {r[3], r[0], r[1], r[2]};
    assert_memory_equal(rids, back, sizeof(back));
}

static void test_bounds_inclusive_exclusive_both_directions(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    /* the same table over a plain, a unique and a descending index */
    stor_index_t *idx[3];
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", NULL, &idx[0], &st), &st);
    st_ok(mkindex(f, "b_1", "{\"b\": 1}", "{\"unique\": true}", &idx[1], &st), &st);
    st_ok(mkindex(f, "c_-1", "{\"c\": -1}", NULL, &idx[2], &st), &st);
    for (int i = 1; i <= 10; i++) {
        char json[64];
        snprintf(json, sizeof(json), "{\"a\": %d, \"b\": %d, \"c\": %d}", i, i, i);
        insert_ok(f, json, NULL);
    }
    const struct {
        int start, end; /* 0: unbounded */
        bool sinc, einc, forward;
        int n, first, last;
    } cases[] = {
        {3, 6, true, true, true, 4, 3, 6},    {3, 6, false, false, true, 2, 4, 5},
        {3, 6, true, false, true, 3, 3, 5},   {6, 3, true, true, false, 4, 6, 3},
        {6, 3, false, false, false, 2, 5, 4}, {0, 4, true, true, true, 4, 1, 4},
        {8, 0, false, true, true, 2, 9, 10},  {0, 0, true, true, false, 10, 10, 1},
        {5, 5, true, true, true, 1, 5, 5},    {5, 5, false, true, true, 0, 0, 0},
        {20, 30, true, true, true, 0, 0, 0},
    };
    for (int x = 0; x < 3; x++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            bson_t s = BSON_INITIALIZER, e = BSON_INITIALIZER;
            BSON_APPEND_INT32(&s, "", cases[i].start);
            BSON_APPEND_INT32(&e, "", cases[i].end);
            int vals[16];
            /* a descending index walks high to low when scanned forward */
            bool forward = x == 2 ? !cases[i].forward : cases[i].forward;
            int n = scan(f, idx[x], cases[i].start ? &s : NULL, cases[i].sinc,
                         cases[i].end ? &e : NULL, cases[i].einc, forward, vals, NULL, 16);
            if (n != cases[i].n)
                fail_msg("index %d case %zu: %d entries, want %d", x, i, n, cases[i].n);
            if (n > 0) {
                assert_int_equal(vals[0], cases[i].first);
                assert_int_equal(vals[n - 1], cases[i].last);
            }
            bson_destroy(&s);
            bson_destroy(&e);
        }
    }
}

static void test_prefix_bounds_cover_whole_compound_ranges(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "x_1_y_1", "{\"x\": 1, \"y\": 1}", NULL, &idx, &st), &st);
    for (int x = 1; x <= 3; x++) {
        for (int y = 1; y <= 3; y++) {
            char json[64];
            snprintf(json, sizeof(json), "{\"x\": %d, \"y\": %d}", x, y);
            insert_ok(f, json, NULL);
        }
    }
    bson_t two = BSON_INITIALIZER;
    BSON_APPEND_INT32(&two, "", 2);
    const struct {
        bool sinc, einc, forward;
        bool has_start, has_end;
        int n, first;
    } cases[] = {
        {true, true, true, true, true, 3, 2},    /* x == 2 */
        {false, true, true, true, false, 3, 3},  /* x > 2 */
        {true, true, true, true, false, 6, 2},   /* x >= 2 */
        {true, false, true, false, true, 3, 1},  /* x < 2 */
        {true, true, false, true, true, 3, 2},   /* x == 2, backward */
        {false, true, false, true, false, 3, 1}, /* x < 2, backward */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int vals[16];
        int n =
            scan(f, idx, cases[i].has_start ? &two : NULL, cases[i].sinc,
                 cases[i].has_end ? &two : NULL, cases[i].einc, cases[i].forward, vals, NULL, 16);
        if (n != cases[i].n)
            fail_msg("case %zu: %d entries, want %d", i, n, cases[i].n);
        assert_int_equal(vals[0], cases[i].first);
    }
    bson_destroy(&two);
}

static void test_sparse_skips_documents_without_fields(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", "{\"sparse\": true, \"unique\": true}", &idx, &st), &st);
    insert_ok(f, "{\"b\": 1}", NULL);
    insert_ok(f, "{\"b\": 2}", NULL); /* two missing: no duplicate null */
    insert_ok(f, "{\"a\": null}", NULL);
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, NULL, NULL, 0), 1);
}

static void test_partial_indexes_only_matching_documents(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}",
                  "{\"unique\": true, \"partialFilterExpression\": {\"keep\": true}}", &idx, &st),
          &st);
    insert_ok(f, "{\"a\": 1, \"keep\": true}", NULL);
    insert_ok(f, "{\"a\": 1, \"keep\": false}", NULL); /* not indexed: no duplicate */
    assert_int_equal(insert_json(f, "{\"a\": 1, \"keep\": true}", NULL, &st), ERR_DuplicateKey);
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, NULL, NULL, 0), 1);
    reopen(f); /* the matcher is compiled again from the catalog */
    st_ok(stor_index_lookup(f->coll, "a_1", &idx, &st), &st);
    assert_int_equal(insert_json(f, "{\"a\": 1, \"keep\": true}", NULL, &st), ERR_DuplicateKey);
}

static void test_multikey_one_entry_per_element_and_paths_persist(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a.b_1", "{\"a.b\": 1}", NULL, &idx, &st), &st);
    assert_false(stor_index_is_multikey(idx));
    insert_ok(f, "{\"a\": {\"b\": 1}}", NULL);
    assert_false(stor_index_is_multikey(idx));
    insert_ok(f, "{\"a\": {\"b\": [2, 3, 3, 4]}}", NULL);
    assert_true(stor_index_is_multikey(idx));
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, NULL, NULL, 0), 4);
    reopen(f);
    st_ok(stor_index_lookup(f->coll, "a.b_1", &idx, &st), &st);
    bson_t paths;
    stor_index_multikey_paths(idx, &paths);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &paths, "a.b"));
    assert_false(bson_iter_init_find(&it, &paths, "a"));
    bson_destroy(&paths);
}

static void test_multikey_from_aborted_unit_is_not_recorded(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", NULL, &idx, &st), &st);
    stor_uow_t *uow;
    st_ok(stor_uow_begin(f->sess, 0, &uow, &st), &st);
    insert_ok(f, "{\"a\": [1, 2]}", NULL);
    stor_uow_abort(uow);
    assert_false(stor_index_is_multikey(idx));
}

static void test_parallel_arrays_are_refused(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    st_ok(mkindex(f, "a_1_b_1", "{\"a\": 1, \"b\": 1}", NULL, NULL, &st), &st);
    assert_int_equal(insert_json(f, "{\"a\": [1], \"b\": [2]}", NULL, &st),
                     ERR_CannotIndexParallelArrays);
    assert_int_equal(stor_collection_count(f->coll), 0);
}

static void test_update_and_delete_maintain_entries(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", "{\"unique\": true}", &idx, &st), &st);
    int64_t rid;
    insert_ok(f, "{\"a\": 1}", &rid);
    bson_error_t err;
    bson_t *d = bson_new_from_json((const uint8_t *)"{\"a\": 2}", -1, &err);
    st_ok(stor_record_update(f->sess, f->coll, rid, d, &st), &st);
    bson_destroy(d);
    int vals[4];
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, vals, NULL, 4), 1);
    assert_int_equal(vals[0], 2);
    insert_ok(f, "{\"a\": 1}", NULL); /* the old key is free */
    st_ok(stor_record_delete(f->sess, f->coll, rid, &st), &st);
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, vals, NULL, 4), 1);
    assert_int_equal(vals[0], 1);
}

static void update_json(fixture_t *f, int64_t rid, const char *json, int want)
{
    status_t st = STATUS_INIT;
    bson_error_t err;
    bson_t *d = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(d);
    int ret = stor_record_update(f->sess, f->coll, rid, d, &st);
    if (ret != want)
        fail_msg("update %s: %d (%s), want %d", json, ret, st.msg, want);
    bson_destroy(d);
}

static void test_update_moves_only_changed_multikey_entries(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", NULL, &idx, &st), &st);
    int64_t rid;
    insert_ok(f, "{\"_id\": 1, \"a\": [1, 2, 3]}", &rid);
    update_json(f, rid, "{\"_id\": 1, \"a\": [2, 3, 4]}", 0);
    int vals[8];
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, vals, NULL, 8), 3);
    assert_int_equal(vals[0], 2);
    assert_int_equal(vals[2], 4);
}

static void test_update_to_equal_number_of_other_type_refreshes_type(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", "{\"unique\": true}", &idx, &st), &st);
    int64_t rid;
    insert_ok(f, "{\"_id\": 1, \"a\": 1}", &rid);
    update_json(f, rid, "{\"_id\": 1, \"a\": 1.0}", 0);
    stor_index_cursor_t *cur;
    st_ok(stor_index_cursor_open(f->sess, idx, NULL, &cur, &st), &st);
    int64_t got;
    bson_t key;
    bool eof;
    st_ok(stor_index_cursor_next(cur, &got, &key, &eof, &st), &st);
    assert_false(eof);
    assert_int_equal(got, rid);
    bson_iter_t it;
    assert_true(bson_iter_init(&it, &key) && bson_iter_next(&it));
    assert_int_equal(bson_iter_type(&it), BSON_TYPE_DOUBLE);
    bson_destroy(&key);
    stor_index_cursor_close(cur);
}

static void test_update_into_unique_clash_keeps_old_document(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", "{\"unique\": true}", &idx, &st), &st);
    int64_t r1, r2;
    insert_ok(f, "{\"_id\": 1, \"a\": 1}", &r1);
    insert_ok(f, "{\"_id\": 2, \"a\": 2}", &r2);
    update_json(f, r2, "{\"_id\": 2, \"a\": 1}", ERR_DuplicateKey);
    int64_t rids[4];
    int vals[4];
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, vals, rids, 4), 2);
    assert_int_equal(vals[1], 2);
    assert_int_equal(rids[1], r2);
}

static void test_update_out_of_partial_filter_removes_entry(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", "{\"partialFilterExpression\": {\"keep\": true}}", &idx,
                  &st),
          &st);
    int64_t rid;
    insert_ok(f, "{\"_id\": 1, \"a\": 1, \"keep\": true}", &rid);
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, NULL, NULL, 0), 1);
    update_json(f, rid, "{\"_id\": 1, \"a\": 1, \"keep\": false}", 0);
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, NULL, NULL, 0), 0);
    update_json(f, rid, "{\"_id\": 1, \"a\": 5, \"keep\": true}", 0);
    int vals[2];
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, vals, NULL, 2), 1);
    assert_int_equal(vals[0], 5);
}

static void test_build_over_existing_data_and_unique_build_failure(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    for (int i = 0; i < 2500; i++) {
        char json[64];
        snprintf(json, sizeof(json), "{\"a\": %d, \"b\": %d}", i, i % 7);
        insert_ok(f, json, NULL);
    }
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", "{\"unique\": true}", &idx, &st), &st);
    assert_int_equal(scan(f, idx, NULL, true, NULL, true, true, NULL, NULL, 0), 2500);
    assert_int_equal(mkindex(f, "b_1", "{\"b\": 1}", "{\"unique\": true}", &idx, &st),
                     ERR_DuplicateKey);
    assert_int_equal(stor_index_lookup(f->coll, "b_1", &idx, &st), ERR_IndexNotFound);
}

static void test_create_conflicts_have_mongodb_codes(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", NULL, NULL, &st), &st);
    const struct {
        const char *name, *key, *extra;
        int code;
    } cases[] = {
        {"a_1", "{\"a\": 1}", NULL, ERR_IndexAlreadyExists},
        {"a_1", "{\"b\": 1}", NULL, ERR_IndexKeySpecsConflict},
        {"a_1", "{\"a\": 1}", "{\"unique\": true}", ERR_IndexOptionsConflict},
        {"other", "{\"a\": 1}", NULL, ERR_IndexOptionsConflict},
        {"z", "{\"a\": 0}", NULL, ERR_CannotCreateIndex},
        {"t", "{\"a\": \"text\"}", NULL, ERR_CannotCreateIndex},
        {"e", "{}", NULL, ERR_CannotCreateIndex},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int ret = mkindex(f, cases[i].name, cases[i].key, cases[i].extra, NULL, &st);
        if (ret != cases[i].code)
            fail_msg("case %zu: %d (%s), want %d", i, ret, st.msg, cases[i].code);
    }
}

static void test_drop_index_rules(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", NULL, &idx, &st), &st);
    st_ok(stor_index_drop(f->sess, f->coll, "a_1", &st), &st);
    assert_int_equal(stor_index_lookup(f->coll, "a_1", &idx, &st), ERR_IndexNotFound);
    assert_int_equal(stor_index_drop(f->sess, f->coll, "a_1", &st), ERR_IndexNotFound);
    assert_int_equal(stor_index_drop(f->sess, f->coll, "_id_", &st), ERR_InvalidOptions);
    insert_ok(f, "{\"a\": 1}", NULL); /* writes no longer touch the dropped index */
    reopen(f);
    assert_int_equal(stor_index_lookup(f->coll, "a_1", &idx, &st), ERR_IndexNotFound);
}

static void test_index_cursor_restores_after_entry_deleted(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(mkindex(f, "a_1", "{\"a\": 1}", NULL, &idx, &st), &st);
    int64_t r[3];
    insert_ok(f, "{\"a\": 1}", &r[0]);
    insert_ok(f, "{\"a\": 2}", &r[1]);
    insert_ok(f, "{\"a\": 3}", &r[2]);
    stor_index_cursor_t *cur;
    st_ok(stor_index_cursor_open(f->sess, idx, NULL, &cur, &st), &st);
    int64_t rid;
    bool eof;
    st_ok(stor_index_cursor_next(cur, &rid, NULL, &eof, &st), &st);
    assert_int_equal(rid, r[0]);
    st_ok(stor_index_cursor_save(cur, &st), &st);
    st_ok(stor_record_delete(f->sess, f->coll, r[0], &st), &st);
    st_ok(stor_record_delete(f->sess, f->coll, r[1], &st), &st);
    st_ok(stor_index_cursor_restore(cur, &st), &st);
    st_ok(stor_index_cursor_next(cur, &rid, NULL, &eof, &st), &st);
    assert_false(eof);
    assert_int_equal(rid, r[2]);
    st_ok(stor_index_cursor_next(cur, &rid, NULL, &eof, &st), &st);
    assert_true(eof);
    stor_index_cursor_close(cur);
}

static void test_partial_without_matcher_is_badvalue(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_STANDALONE);
    status_t st = STATUS_INIT;
    stor_session_t *sess;
    stor_collection_t *c;
    st_ok(stor_session_open(eng, &sess, &st), &st);
    st_ok(stor_collection_create(sess, "db.c", NULL, &c, &st), &st);
    bson_error_t err;
    bson_t *spec = bson_new_from_json(
        (const uint8_t *)"{\"key\": {\"a\": 1}, \"name\": \"p\", \"partialFilterExpression\": "
                         "{\"a\": 1}}",
        -1, &err);
    stor_index_t *idx;
    assert_int_equal(stor_index_create(sess, c, spec, &idx, &st), ERR_BadValue);
    bson_destroy(spec);
    stor_session_close(sess);
    st_close(eng);
    st_rmdir(dir);
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
