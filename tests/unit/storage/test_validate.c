/*
 * test_validate.c -- storage/stats.c: stor_index_validate on healthy indexes
 * (plain, unique, multikey, sparse) and on indexes damaged behind the
 * engine's back (an entry removed, an entry for a missing record, an entry
 * naming the wrong record), collection options and index specs replaced and
 * persisted across a restart, on-disk sizes, and compact giving the space
 * of deleted records back (stor_collection_compact).
 *
 * Damage is done with WiredTiger directly while the engine is closed, on the
 * newest index-* table (the secondary index the test created last).
 */
#include "storage_test.h"

#include <wiredtiger.h>

typedef struct fixture {
    char *dir;
    stor_engine_t *eng;
    stor_session_t *sess;
    stor_collection_t *coll;
} fixture_t;

static void open_all(fixture_t *f)
{
    status_t st = STATUS_INIT;
    f->eng = st_open(f->dir, STOR_MODE_STANDALONE);
    st_ok(stor_session_open(f->eng, &f->sess, &st), &st);
    int ret = stor_collection_lookup(f->eng, "db.c", &f->coll, &st);
    if (ret == ERR_NamespaceNotFound) {
        status_reset(&st);
        st_ok(stor_collection_create(f->sess, "db.c", NULL, &f->coll, &st), &st);
    }
}

static void close_all(fixture_t *f)
{
    stor_session_close(f->sess);
    st_close(f->eng);
    f->sess = NULL;
    f->eng = NULL;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = st_tmpdir();
    open_all(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->eng != NULL)
        close_all(f);
    st_rmdir(f->dir);
    free(f);
    return 0;
}

static void insert_json(fixture_t *f, const char *json)
{
    status_t st = STATUS_INIT;
    bson_error_t err;
    bson_t *d = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(d);
    int64_t rid;
    st_ok(stor_record_insert(f->sess, f->coll, d, &rid, &st), &st);
    bson_destroy(d);
}

static stor_index_t *make_index(fixture_t *f, const char *json)
{
    status_t st = STATUS_INIT;
    bson_error_t err;
    bson_t *spec = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(spec);
    stor_index_t *idx;
    st_ok(stor_index_create(f->sess, f->coll, spec, &idx, &st), &st);
    bson_destroy(spec);
    return idx;
}

static stor_index_validation_t validate(fixture_t *f, const char *name)
{
    status_t st = STATUS_INIT;
    stor_index_t *idx;
    st_ok(stor_index_lookup(f->coll, name, &idx, &st), &st);
    stor_index_validation_t res;
    st_ok(stor_index_validate(f->sess, idx, &res, &st), &st);
    return res;
}

/* ---- healthy indexes ----------------------------------------------------- */

typedef struct healthy_case {
    const char *what;
    const char *spec;
    int64_t nkeys; /* over the five documents below */
} healthy_case_t;

static const healthy_case_t healthy_cases[] = {
    {"plain index has one key per document", "{\"key\": {\"a\": 1}, \"name\": \"a_1\"}", 5},
    {"descending compound index", "{\"key\": {\"a\": -1, \"b\": 1}, \"name\": \"a_-1_b_1\"}", 5},
    {"multikey index has one key per array element", "{\"key\": {\"t\": 1}, \"name\": \"t_1\"}", 7},
    {"sparse index skips documents without the field",
     "{\"key\": {\"b\": 1}, \"name\": \"b_1\", \"sparse\": true}", 2},
    {"unique index", "{\"key\": {\"a\": 1}, \"name\": \"ua\", \"unique\": true}", 5},
};

static void test_healthy_indexes_validate_clean(void **state)
{
    for (size_t i = 0; i < sizeof(healthy_cases) / sizeof(healthy_cases[0]); i++) {
        const healthy_case_t *c = &healthy_cases[i];
        fixture_t *f = NULL;
        setup((void **)&f);
        insert_json(f, "{\"_id\": 1, \"a\": 1, \"t\": [1, 2]}");
        insert_json(f, "{\"_id\": 2, \"a\": 2, \"b\": 5, \"t\": [3, 3, 4]}");
        insert_json(f, "{\"_id\": 3, \"a\": 3.5, \"b\": \"x\"}");
        insert_json(f, "{\"_id\": 4, \"a\": \"s\", \"t\": 9}");
        insert_json(f, "{\"_id\": 5, \"a\": {\"n\": 1}, \"t\": []}");
        make_index(f, c->spec);
        bson_error_t err;
        bson_t *spec = bson_new_from_json((const uint8_t *)c->spec, -1, &err);
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, spec, "name"));
        stor_index_validation_t r = validate(f, bson_iter_utf8(&it, NULL));
        bson_destroy(spec);
        if (r.nkeys != c->nkeys || r.bad_entries || r.missing_keys || r.nrecords != 5)
            fail_msg("%s: nkeys %lld bad %lld missing %lld records %lld (%s)", c->what,
                     (long long)r.nkeys, (long long)r.bad_entries, (long long)r.missing_keys,
                     (long long)r.nrecords, r.first_error);
        stor_index_validation_t idr = validate(f, "_id_");
        assert_int_equal(idr.nkeys, 5);
        assert_int_equal(idr.bad_entries + idr.missing_keys, 0);
        teardown((void **)&f);
    }
}

static void test_validate_after_updates_and_deletes_is_clean(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    make_index(f, "{\"key\": {\"a\": 1}, \"name\": \"a_1\"}");
    for (int i = 0; i < 50; i++) {
        bson_t *d = st_doc(i, i % 7);
        int64_t rid;
        st_ok(stor_record_insert(f->sess, f->coll, d, &rid, &st), &st);
        bson_destroy(d);
        if (i % 3 == 0) {
            bson_t *u = BCON_NEW("_id", BCON_INT32(i), "a", BCON_INT32(i * 10));
            st_ok(stor_record_update(f->sess, f->coll, rid, u, &st), &st);
            bson_destroy(u);
        }
        if (i % 5 == 0)
            st_ok(stor_record_delete(f->sess, f->coll, rid, &st), &st);
    }
    stor_index_validation_t r = validate(f, "a_1");
    assert_int_equal(r.nrecords, 40);
    assert_int_equal(r.nkeys, 40);
    assert_int_equal(r.bad_entries, 0);
    assert_int_equal(r.missing_keys, 0);
}

/* ---- damaged indexes ----------------------------------------------------- */

typedef enum damage { REMOVE_FIRST, REPOINT_FIRST_TO_MISSING, REPOINT_FIRST_TO_OTHER } damage_t;

/* newest_index_uri -- "table:index-N" with the largest N. */
static void newest_index_uri(WT_SESSION *s, char *out, size_t cap)
{
    WT_CURSOR *m;
    assert_int_equal(s->open_cursor(s, "metadata:", NULL, NULL, &m), 0);
    long best = -1;
    while (m->next(m) == 0) {
        const char *k;
        assert_int_equal(m->get_key(m, &k), 0);
        long n;
        if (sscanf(k, "table:index-%ld", &n) == 1 && n > best) {
            best = n;
            snprintf(out, cap, "table:index-%ld", n);
        }
    }
    m->close(m);
    assert_true(best >= 0);
}

static void put_rid_suffix(uint8_t *key, size_t len, int64_t rid)
{
    /* the last 8 bytes of a non-unique entry's key are its RecordId (keystring.md) */
    status_t st = STATUS_INIT;
    size_t plen;
    st_ok(stor_ks_strip_record_id(key, len, &plen, &st), &st);
    stor_ks_t ks;
    stor_ks_init(&ks);
    ks.closed = true;
    st_ok(stor_ks_append_record_id(&ks, rid, &st), &st);
    assert_int_equal(plen + ks.key_len, len);
    memcpy(key + plen, ks.key, ks.key_len);
    stor_ks_destroy(&ks);
}

static void damage_index(const char *dir, damage_t how)
{
    WT_CONNECTION *conn;
    assert_int_equal(wiredtiger_open(dir, NULL, "log=(enabled=true)", &conn), 0);
    WT_SESSION *s;
    assert_int_equal(conn->open_session(conn, NULL, NULL, &s), 0);
    char uri[64];
    newest_index_uri(s, uri, sizeof(uri));
    WT_CURSOR *c;
    assert_int_equal(s->open_cursor(s, uri, NULL, NULL, &c), 0);
    assert_int_equal(c->next(c), 0);
    WT_ITEM k, v;
    assert_int_equal(c->get_key(c, &k), 0);
    assert_int_equal(c->get_value(c, &v), 0);
    uint8_t *key = malloc(k.size), *val = malloc(v.size ? v.size : 1);
    memcpy(key, k.data, k.size);
    memcpy(val, v.data, v.size);
    size_t klen = k.size, vlen = v.size;
    assert_int_equal(c->remove(c), 0);
    if (how != REMOVE_FIRST) {
        /* RecordIds start at 1: 1000 never exists, 2 is the second document */
        put_rid_suffix(key, klen, how == REPOINT_FIRST_TO_MISSING ? 1000 : 2);
        WT_ITEM nk = {.data = key, .size = klen}, nv = {.data = val, .size = vlen};
        c->set_key(c, &nk);
        c->set_value(c, &nv);
        assert_int_equal(c->insert(c), 0);
    }
    free(key);
    free(val);
    c->close(c);
    assert_int_equal(conn->close(conn, NULL), 0);
}

typedef struct damage_case {
    const char *what;
    damage_t how;
    int64_t bad_entries, missing_keys;
} damage_case_t;

static const damage_case_t damage_cases[] = {
    {"a removed entry is a missing key", REMOVE_FIRST, 0, 1},
    {"an entry for a record that does not exist is a bad entry", REPOINT_FIRST_TO_MISSING, 1, 1},
    {"an entry naming a record with other keys is a bad entry", REPOINT_FIRST_TO_OTHER, 1, 1},
};

static void test_damaged_index_is_reported(void **state)
{
    for (size_t i = 0; i < sizeof(damage_cases) / sizeof(damage_cases[0]); i++) {
        const damage_case_t *c = &damage_cases[i];
        fixture_t *f = NULL;
        setup((void **)&f);
        insert_json(f, "{\"_id\": 1, \"a\": 10}");
        insert_json(f, "{\"_id\": 2, \"a\": 20}");
        insert_json(f, "{\"_id\": 3, \"a\": 30}");
        make_index(f, "{\"key\": {\"a\": 1}, \"name\": \"a_1\"}");
        close_all(f);
        damage_index(f->dir, c->how);
        open_all(f);
        stor_index_validation_t r = validate(f, "a_1");
        if (r.bad_entries != c->bad_entries || r.missing_keys != c->missing_keys)
            fail_msg("%s: bad %lld missing %lld (%s)", c->what, (long long)r.bad_entries,
                     (long long)r.missing_keys, r.first_error);
        assert_true(r.first_error[0] != '\0');
        stor_index_validation_t idr = validate(f, "_id_");
        assert_int_equal(idr.bad_entries + idr.missing_keys, 0);
        teardown((void **)&f);
    }
}

/* ---- catalog changes ----------------------------------------------------- */

static void test_set_options_persists_across_restart(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    bson_t *o = BCON_NEW("validator", "{", "a", "{", "$exists", BCON_BOOL(true), "}", "}",
                         "validationLevel", BCON_UTF8("moderate"));
    st_ok(stor_collection_set_options(f->sess, f->coll, o, &st), &st);
    assert_true(bson_equal(stor_collection_options(f->coll), o));
    close_all(f);
    open_all(f);
    assert_true(bson_equal(stor_collection_options(f->coll), o));
    bson_destroy(o);
}

static void test_set_spec_changes_only_ignored_options(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx = make_index(f, "{\"key\": {\"a\": 1}, \"name\": \"a_1\"}");
    bson_t *ok = BCON_NEW("key", "{", "a", BCON_INT32(1), "}", "name", BCON_UTF8("a_1"), "hidden",
                          BCON_BOOL(true), "expireAfterSeconds", BCON_INT32(60));
    st_ok(stor_index_set_spec(f->sess, idx, ok, &st), &st);
    bson_t *bad_key = BCON_NEW("key", "{", "b", BCON_INT32(1), "}", "name", BCON_UTF8("a_1"));
    assert_int_equal(stor_index_set_spec(f->sess, idx, bad_key, &st), ERR_BadValue);
    status_reset(&st);
    bson_t *bad_unique = BCON_NEW("key", "{", "a", BCON_INT32(1), "}", "name", BCON_UTF8("a_1"),
                                  "unique", BCON_BOOL(true));
    assert_int_equal(stor_index_set_spec(f->sess, idx, bad_unique, &st), ERR_BadValue);
    close_all(f);
    open_all(f);
    status_reset(&st);
    st_ok(stor_index_lookup(f->coll, "a_1", &idx, &st), &st);
    assert_true(bson_equal(stor_index_spec(idx), ok));
    bson_destroy(ok);
    bson_destroy(bad_key);
    bson_destroy(bad_unique);
}

static void test_storage_sizes_grow_with_data(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_index_t *idx = make_index(f, "{\"key\": {\"v\": 1}, \"name\": \"v_1\"}");
    for (int i = 0; i < 2000; i++) {
        bson_t *d = st_doc(i, i);
        int64_t rid;
        st_ok(stor_record_insert(f->sess, f->coll, d, &rid, &st), &st);
        bson_destroy(d);
    }
    st_ok(stor_engine_checkpoint(f->eng, &st), &st);
    assert_true(stor_collection_storage_size(f->coll) > 4096);
    assert_true(stor_index_storage_size(idx) > 4096);
}

/* random_doc -- {_id: i, pad: <bytes that do not compress>}. */
static bson_t *random_doc(int i, uint32_t *seed)
{
    uint8_t pad[2048];
    for (size_t k = 0; k < sizeof(pad); k++) {
        *seed = *seed * 1103515245u + 12345u;
        pad[k] = (uint8_t)(*seed >> 16);
    }
    bson_t *d = bson_new();
    BSON_APPEND_INT32(d, "_id", i);
    BSON_APPEND_BINARY(d, "pad", BSON_SUBTYPE_BINARY, pad, sizeof(pad));
    return d;
}

static void test_compact_gives_space_back(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    uint32_t seed = 42;
    int64_t rids[3000], freed = -1;
    for (int i = 0; i < 3000; i++) {
        bson_t *d = random_doc(i, &seed);
        st_ok(stor_record_insert(f->sess, f->coll, d, &rids[i], &st), &st);
        bson_destroy(d);
    }
    st_ok(stor_engine_checkpoint(f->eng, &st), &st);
    int64_t full = stor_collection_storage_size(f->coll);
    assert_true(full > 3000 * 2048);
    for (int i = 150; i < 3000; i++)
        st_ok(stor_record_delete(f->sess, f->coll, rids[i], &st), &st);
    st_ok(stor_collection_compact(f->coll, 0, &freed, &st), &st);
    int64_t after = stor_collection_storage_size(f->coll);
    /* measured: what the files lost */
    assert_true(freed > 0);
    assert_true(after < full / 4);
    assert_int_equal(stor_collection_count(f->coll), 150);
    /* a target above the reusable space leaves the table alone */
    st_ok(stor_collection_compact(f->coll, (int64_t)1 << 40, &freed, &st), &st);
    assert_int_equal(freed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
