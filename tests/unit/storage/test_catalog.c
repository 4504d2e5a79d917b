/*
 * test_catalog.c -- the catalog: create/lookup/drop/rename with MongoDB's
 * errors, UUIDs, persistence across reopen, the list calls, drops while a
 * cursor holds the table (deferred), and the start-up sweep that drops
 * tables a crash left without a catalog row.
 */
#include "storage_test.h"

#include <dirent.h>
#include <wiredtiger.h>

typedef struct fixture {
    char *dir;
    stor_engine_t *eng;
    stor_session_t *sess;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    status_t st = STATUS_INIT;
    f->dir = st_tmpdir();
    f->eng = st_open(f->dir, STOR_MODE_STANDALONE);
    st_ok(stor_session_open(f->eng, &f->sess, &st), &st);
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
}

/* count_files -- data files whose name starts with prefix. */
static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static stor_collection_t *create(fixture_t *f, const char *ns)
{
    status_t st = STATUS_INIT;
    stor_collection_t *c;
    st_ok(stor_collection_create(f->sess, ns, NULL, &c, &st), &st);
    return c;
}

static void test_create_then_lookup_finds_it_with_uuid(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "capped", false);
    stor_collection_t *c, *l;
    st_ok(stor_collection_create(f->sess, "db.c", &opts, &c, &st), &st);
    st_ok(stor_collection_lookup(f->eng, "db.c", &l, &st), &st);
    assert_ptr_equal(c, l);
    assert_string_equal(stor_collection_ns(c), "db.c");
    assert_int_equal(stor_collection_uuid(c)[6] >> 4, 4); /* version 4 */
    assert_true(bson_equal(stor_collection_options(c), &opts));
    bson_destroy(&opts);
}

static void test_create_errors(void **state)
{
    fixture_t *f = *state;
    create(f, "db.c");
    const struct {
        const char *ns;
        int code;
    } cases[] = {
        {"db.c", ERR_NamespaceExists},   {"nodot", ERR_InvalidNamespace},
        {".c", ERR_InvalidNamespace},    {"db.", ERR_InvalidNamespace},
        {"d b.c", ERR_InvalidNamespace}, {"local.oplog.rs", ERR_IllegalOperation},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        status_t st = STATUS_INIT;
        stor_collection_t *c;
        assert_int_equal(stor_collection_create(f->sess, cases[i].ns, NULL, &c, &st),
                         cases[i].code);
        assert_null(c);
    }
}

static void test_create_has_id_index(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_collection_t *c = create(f, "db.c");
    stor_index_t *idx;
    st_ok(stor_index_lookup(c, "_id_", &idx, &st), &st);
    assert_true(stor_index_is_unique(idx));
}

static void test_drop_removes_and_second_drop_is_namespacenotfound(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    create(f, "db.c");
    st_ok(stor_collection_drop(f->sess, "db.c", &st), &st);
    stor_collection_t *c;
    assert_int_equal(stor_collection_lookup(f->eng, "db.c", &c, &st), ERR_NamespaceNotFound);
    assert_int_equal(stor_collection_drop(f->sess, "db.c", &st), ERR_NamespaceNotFound);
    /* the name is free again */
    create(f, "db.c");
}

static void test_rename_keeps_uuid_and_data(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_collection_t *c = create(f, "db.a");
    uint8_t uuid[16];
    memcpy(uuid, stor_collection_uuid(c), 16);
    bson_t *d = st_doc(1, 2);
    int64_t rid;
    st_ok(stor_record_insert(f->sess, c, d, &rid, &st), &st);
    bson_destroy(d);
    st_ok(stor_collection_rename(f->sess, "db.a", "other.b", false, &st), &st);
    stor_collection_t *l;
    assert_int_equal(stor_collection_lookup(f->eng, "db.a", &l, &st), ERR_NamespaceNotFound);
    reopen(f);
    st_ok(stor_collection_lookup(f->eng, "other.b", &l, &st), &st);
    assert_memory_equal(stor_collection_uuid(l), uuid, 16);
    assert_int_equal(stor_collection_count(l), 1);
}

static void test_rename_errors(void **state)
{
    fixture_t *f = *state;
    create(f, "db.a");
    create(f, "db.b");
    const struct {
        const char *from, *to;
        int code;
    } cases[] = {
        {"db.zz", "db.y", ERR_NamespaceNotFound},
        {"db.a", "db.b", ERR_NamespaceExists},
        {"db.a", "db.a", ERR_IllegalOperation},
        {"db.a", "bad", ERR_InvalidNamespace},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        status_t st = STATUS_INIT;
        assert_int_equal(stor_collection_rename(f->sess, cases[i].from, cases[i].to, false, &st),
                         cases[i].code);
    }
}

static void test_rename_with_drop_target_replaces_target(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_collection_t *a = create(f, "db.a");
    stor_collection_t *b = create(f, "db.b");
    st_ok(stor_collection_rename(f->sess, "db.a", "db.b", true, &st), &st);
    stor_collection_t *l;
    st_ok(stor_collection_lookup(f->eng, "db.b", &l, &st), &st);
    assert_ptr_equal(l, a);
    bson_t *d = st_doc(1, 1);
    int64_t rid;
    assert_int_equal(stor_record_insert(f->sess, b, d, &rid, &st), ERR_NamespaceNotFound);
    bson_destroy(d);
    reopen(f);
    st_ok(stor_collection_lookup(f->eng, "db.b", &l, &st), &st);
}

static void test_catalog_survives_reopen(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_collection_t *c = create(f, "db.c");
    uint8_t uuid[16];
    memcpy(uuid, stor_collection_uuid(c), 16);
    bson_t spec = BSON_INITIALIZER, key;
    BSON_APPEND_DOCUMENT_BEGIN(&spec, "key", &key);
    BSON_APPEND_INT32(&key, "a", -1);
    bson_append_document_end(&spec, &key);
    BSON_APPEND_UTF8(&spec, "name", "a_-1");
    stor_index_t *idx;
    st_ok(stor_index_create(f->sess, c, &spec, &idx, &st), &st);
    reopen(f);
    st_ok(stor_collection_lookup(f->eng, "db.c", &c, &st), &st);
    assert_memory_equal(stor_collection_uuid(c), uuid, 16);
    st_ok(stor_index_lookup(c, "a_-1", &idx, &st), &st);
    assert_true(bson_equal(stor_index_spec(idx), &spec));
    bson_destroy(&spec);
}

static void test_list_calls_have_mongodb_shapes(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    create(f, "db1.x");
    create(f, "db1.y");
    create(f, "db2.z");
    bson_t out;
    st_ok(stor_list_databases(f->eng, &out, &st), &st);
    assert_int_equal(bson_count_keys(&out), 2);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &out, "0"));
    bson_destroy(&out);
    st_ok(stor_list_collections(f->eng, "db1", &out, &st), &st);
    assert_int_equal(bson_count_keys(&out), 2);
    bson_iter_t e;
    assert_true(bson_iter_init(&it, &out) && bson_iter_next(&it) && bson_iter_recurse(&it, &e));
    bool has_uuid = false, has_type = false;
    while (bson_iter_next(&e)) {
        if (strcmp(bson_iter_key(&e), "type") == 0)
            has_type = strcmp(bson_iter_utf8(&e, NULL), "collection") == 0;
        if (strcmp(bson_iter_key(&e), "info") == 0) {
            bson_iter_t info;
            bson_iter_recurse(&e, &info);
            has_uuid = bson_iter_find(&info, "uuid");
        }
    }
    assert_true(has_uuid && has_type);
    bson_destroy(&out);
    st_ok(stor_list_indexes(f->eng, "db2.z", &out, &st), &st);
    assert_int_equal(bson_count_keys(&out), 1);
    bson_destroy(&out);
    assert_int_equal(stor_list_indexes(f->eng, "db2.none", &out, &st), ERR_NamespaceNotFound);
    bson_destroy(&out);
}

static void test_drop_with_open_cursor_is_deferred_then_done(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_collection_t *c = create(f, "db.c");
    bson_t *d = st_doc(1, 1);
    int64_t rid;
    st_ok(stor_record_insert(f->sess, c, d, &rid, &st), &st);
    bson_destroy(d);
    stor_cursor_t *cur;
    st_ok(stor_cursor_open(f->sess, c, true, &cur, &st), &st);
    bool eof;
    bson_t doc;
    st_ok(stor_cursor_next(cur, &rid, &doc, &eof, &st), &st);
    stor_session_t *other;
    st_ok(stor_session_open(f->eng, &other, &st), &st);
    st_ok(stor_collection_drop(other, "db.c", &st), &st);
    stor_session_close(other);
    /* the open scan learns of the drop rather than crashing */
    assert_int_equal(stor_cursor_next(cur, &rid, &doc, &eof, &st), ERR_QueryPlanKilled);
    stor_cursor_close(cur);
    reopen(f); /* the deferred drop completes by close at the latest */
    assert_int_equal(count_files(f->dir, "collection-"), 0);
    assert_int_equal(count_files(f->dir, "index-"), 0);
}

static void test_ddl_inside_unit_of_work_is_rejected(void **state)
{
    fixture_t *f = *state;
    status_t st = STATUS_INIT;
    stor_uow_t *uow;
    st_ok(stor_uow_begin(f->sess, 0, &uow, &st), &st);
    stor_collection_t *c;
    assert_int_equal(stor_collection_create(f->sess, "db.c", NULL, &c, &st),
                     ERR_OperationNotSupportedInTransaction);
    stor_uow_abort(uow);
}

static void test_startup_sweep_drops_orphan_tables(void **state)
{
    fixture_t *f = *state;
    create(f, "db.keep");
    stor_session_close(f->sess);
    st_close(f->eng);
    /* a crash after the table create but before the catalog row */
    WT_CONNECTION *conn;
    assert_int_equal(wiredtiger_open(f->dir, NULL, "log=(enabled=true,path=journal)", &conn), 0);
    WT_SESSION *wt;
    assert_int_equal(conn->open_session(conn, NULL, NULL, &wt), 0);
    assert_int_equal(wt->create(wt, "table:collection-900", "key_format=q,value_format=u"), 0);
    assert_int_equal(wt->create(wt, "table:index-901", "key_format=u,value_format=u"), 0);
    assert_int_equal(conn->close(conn, NULL), 0);
    assert_int_equal(count_files(f->dir, "collection-900"), 1);
    status_t st = STATUS_INIT;
    f->eng = st_open(f->dir, STOR_MODE_STANDALONE);
    st_ok(stor_session_open(f->eng, &f->sess, &st), &st);
    assert_int_equal(count_files(f->dir, "collection-900"), 0);
    assert_int_equal(count_files(f->dir, "index-901"), 0);
    stor_collection_t *c;
    st_ok(stor_collection_lookup(f->eng, "db.keep", &c, &st), &st);
    /* new idents do not collide with the swept numbers' files */
    create(f, "db.new");
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
