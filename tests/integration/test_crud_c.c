/*
 * test_crud_c.c -- CRUD through libmongoc 1.23 against a real micad: the
 * driver's own helpers must parse every reply (insert_many, find with
 * filter/sort/limit/projection, cursors over several getMore batches,
 * update_one/many with upsert, delete_one/many, find_and_modify,
 * create_index, count_documents-style counts, distinct, a bulk operation
 * with a DuplicateKey error and its reply shape, collStats and validate).
 * Each test works on its own collection of the "ctest" database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "harness.h"

static itest_server_t server;
static mongoc_client_t *client;

/* coll -- a fresh (dropped) collection of the test database; the caller destroys it. */
static mongoc_collection_t *coll(const char *name)
{
    mongoc_collection_t *c = mongoc_client_get_collection(client, "ctest", name);
    bson_error_t err;
    (void)mongoc_collection_drop(c, &err); /* a missing collection is fine */
    return c;
}

/* insert_range -- {_id: i, a: i % mod, s: "s<i>"} for i in [0, n). */
static void insert_range(mongoc_collection_t *c, int n, int mod)
{
    bson_t **docs = calloc((size_t)n, sizeof(bson_t *));
    for (int i = 0; i < n; i++) {
        char s[32];
        snprintf(s, sizeof(s), "s%d", i);
        docs[i] = BCON_NEW("_id", BCON_INT32(i), "a", BCON_INT32(i % mod), "s", BCON_UTF8(s));
    }
    bson_t reply;
    bson_error_t err;
    bool ok =
        mongoc_collection_insert_many(c, (const bson_t **)docs, (size_t)n, NULL, &reply, &err);
    if (!ok)
        fail_msg("insert_many: %s", err.message);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "insertedCount"));
    assert_int_equal(bson_iter_as_int64(&it), n);
    bson_destroy(&reply);
    for (int i = 0; i < n; i++)
        bson_destroy(docs[i]);
    free(docs);
}

/* i64 -- a numeric field at a dotted path. */
static int64_t i64(const bson_t *doc, const char *path)
{
    bson_iter_t it, f;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, path, &f))
        fail_msg("missing field %s in %s", path, bson_as_relaxed_extended_json(doc, NULL));
    return bson_iter_as_int64(&f);
}

/*
 * count -- documents matching filter through the count command (libmongoc's
 * count_documents runs an aggregation, which micad does not serve yet).
 */
static int64_t count(mongoc_collection_t *c, bson_t *filter)
{
    bson_error_t err;
    bson_t reply;
    bson_t *cmd =
        BCON_NEW("count", BCON_UTF8(mongoc_collection_get_name(c)), "query", BCON_DOCUMENT(filter));
    if (!mongoc_collection_read_command_with_opts(c, cmd, NULL, NULL, &reply, &err))
        fail_msg("count: %s", err.message);
    int64_t n = i64(&reply, "n");
    bson_destroy(&reply);
    bson_destroy(cmd);
    bson_destroy(filter);
    return n;
}

static void test_insert_many_then_count(void **state)
{
    mongoc_collection_t *c = coll("ins");
    insert_range(c, 25, 5);
    assert_int_equal(count(c, bson_new()), 25);
    assert_int_equal(count(c, BCON_NEW("a", BCON_INT32(3))), 5);
    mongoc_collection_destroy(c);
}

static void test_find_with_filter_sort_limit_projection(void **state)
{
    mongoc_collection_t *c = coll("find");
    insert_range(c, 40, 4);
    bson_t *filter = BCON_NEW("a", "{", "$gte", BCON_INT32(2), "}");
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "limit", BCON_INT64(5),
                            "projection", "{", "s", BCON_INT32(0), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, opts, NULL);
    const bson_t *doc;
    int expect[] = {39, 38, 35, 34, 31}, n = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        assert_true(n < 5);
        assert_int_equal(i64(doc, "_id"), expect[n]);
        bson_iter_t it;
        assert_false(bson_iter_init_find(&it, doc, "s")); /* projected out */
        n++;
    }
    bson_error_t err;
    assert_false(mongoc_cursor_error(cur, &err));
    assert_int_equal(n, 5);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    mongoc_collection_destroy(c);
}

static void test_cursor_spans_several_batches(void **state)
{
    mongoc_collection_t *c = coll("batches");
    insert_range(c, 1000, 10);
    bson_t *filter = bson_new();
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(64), "sort", "{", "_id", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, opts, NULL);
    const bson_t *doc;
    int n = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        assert_int_equal(i64(doc, "_id"), n); /* in order, none lost or repeated */
        n++;
    }
    bson_error_t err;
    if (mongoc_cursor_error(cur, &err))
        fail_msg("cursor: %s", err.message);
    assert_int_equal(n, 1000);
    assert_int_equal(mongoc_cursor_get_id(cur), 0); /* exhausted: closed by the server */
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    mongoc_collection_destroy(c);
}

typedef struct update_case {
    const char *what;
    bool many;
    bool upsert;
    const char *filter, *update;
    int64_t matched, modified, upserted;
} update_case_t;

static const update_case_t update_cases[] = {
    {"update_one changes one matching document", false, false, "{\"a\": 1}",
     "{\"$set\": {\"x\": 1}}", 1, 1, 0},
    {"update_many changes every matching document", true, false, "{\"a\": 2}",
     "{\"$inc\": {\"x\": 5}}", 4, 4, 0},
    {"an update that changes nothing counts matched, not modified", true, false, "{\"a\": 3}",
     "{\"$set\": {\"a\": 3}}", 4, 0, 0},
    {"upsert inserts when nothing matches", false, true, "{\"_id\": 1000}",
     "{\"$set\": {\"a\": 9}}", 0, 0, 1},
};

static void test_update_one_and_many(void **state)
{
    for (size_t i = 0; i < sizeof(update_cases) / sizeof(update_cases[0]); i++) {
        const update_case_t *u = &update_cases[i];
        mongoc_collection_t *c = coll("upd");
        insert_range(c, 16, 4);
        bson_error_t err;
        bson_t *f = bson_new_from_json((const uint8_t *)u->filter, -1, &err);
        bson_t *d = bson_new_from_json((const uint8_t *)u->update, -1, &err);
        bson_t *opts = BCON_NEW("upsert", BCON_BOOL(u->upsert));
        bson_t reply;
        bool ok = u->many ? mongoc_collection_update_many(c, f, d, opts, &reply, &err)
                          : mongoc_collection_update_one(c, f, d, opts, &reply, &err);
        if (!ok)
            fail_msg("%s: %s", u->what, err.message);
        if (i64(&reply, "matchedCount") != u->matched ||
            i64(&reply, "modifiedCount") != u->modified ||
            i64(&reply, "upsertedCount") != u->upserted)
            fail_msg("%s: %s", u->what, bson_as_relaxed_extended_json(&reply, NULL));
        if (u->upserted)
            assert_int_equal(i64(&reply, "upsertedId"), 1000);
        bson_destroy(&reply);
        bson_destroy(f);
        bson_destroy(d);
        bson_destroy(opts);
        mongoc_collection_destroy(c);
    }
}

static void test_delete_one_and_many(void **state)
{
    mongoc_collection_t *c = coll("del");
    insert_range(c, 20, 4);
    bson_t reply;
    bson_error_t err;
    bson_t *f = BCON_NEW("a", BCON_INT32(0));
    assert_true(mongoc_collection_delete_one(c, f, NULL, &reply, &err));
    assert_int_equal(i64(&reply, "deletedCount"), 1);
    bson_destroy(&reply);
    assert_true(mongoc_collection_delete_many(c, f, NULL, &reply, &err));
    assert_int_equal(i64(&reply, "deletedCount"), 4);
    bson_destroy(&reply);
    assert_int_equal(count(c, bson_new()), 15);
    bson_destroy(f);
    mongoc_collection_destroy(c);
}

static void test_find_and_modify_returns_new_document(void **state)
{
    mongoc_collection_t *c = coll("fam");
    insert_range(c, 10, 10);
    mongoc_find_and_modify_opts_t *o = mongoc_find_and_modify_opts_new();
    bson_t *upd = BCON_NEW("$inc", "{", "n", BCON_INT32(7), "}");
    bson_t *sort = BCON_NEW("_id", BCON_INT32(-1));
    mongoc_find_and_modify_opts_set_update(o, upd);
    mongoc_find_and_modify_opts_set_sort(o, sort);
    mongoc_find_and_modify_opts_set_flags(o, MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    bson_t *q = bson_new();
    bson_t reply;
    bson_error_t err;
    if (!mongoc_collection_find_and_modify_with_opts(c, q, o, &reply, &err))
        fail_msg("findAndModify: %s", err.message);
    assert_int_equal(i64(&reply, "value._id"), 9);
    assert_int_equal(i64(&reply, "value.n"), 7);
    assert_int_equal(i64(&reply, "lastErrorObject.n"), 1);
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(o); /* a remove must not carry the update */
    o = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_sort(o, sort);
    mongoc_find_and_modify_opts_set_flags(o, MONGOC_FIND_AND_MODIFY_REMOVE);
    if (!mongoc_collection_find_and_modify_with_opts(c, q, o, &reply, &err))
        fail_msg("findAndModify remove: %s", err.message);
    assert_int_equal(i64(&reply, "value._id"), 9);
    bson_destroy(&reply);
    assert_int_equal(count(c, bson_new()), 9);
    bson_destroy(q);
    bson_destroy(upd);
    bson_destroy(sort);
    mongoc_find_and_modify_opts_destroy(o);
    mongoc_collection_destroy(c);
}

static void test_create_index_is_listed_and_enforced(void **state)
{
    mongoc_collection_t *c = coll("idx");
    insert_range(c, 10, 10);
    bson_t *keys = BCON_NEW("s", BCON_INT32(1));
    bson_t reply;
    bson_error_t err;
    /* libmongoc 1.23 has no index helper that is not deprecated: the documented way is the
     * createIndexes command through write_command_with_opts */
    bson_t *cmd =
        BCON_NEW("createIndexes", BCON_UTF8("idx"), "indexes", "[", "{", "key", BCON_DOCUMENT(keys),
                 "name", BCON_UTF8("s_1"), "unique", BCON_BOOL(true), "}", "]");
    if (!mongoc_collection_write_command_with_opts(c, cmd, NULL, &reply, &err))
        fail_msg("createIndexes: %s", err.message);
    assert_int_equal(i64(&reply, "numIndexesAfter"), 2);
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(c, NULL);
    const bson_t *doc;
    bool found = false;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, "name") && strcmp(bson_iter_utf8(&it, NULL), "s_1") == 0)
            found = true;
    }
    assert_true(found);
    mongoc_cursor_destroy(cur);
    bson_t *dup = BCON_NEW("_id", BCON_INT32(99), "s", BCON_UTF8("s3"));
    assert_false(mongoc_collection_insert_one(c, dup, NULL, &reply, &err));
    assert_int_equal(err.code, 11000);
    bson_destroy(&reply);
    bson_destroy(dup);
    bson_destroy(keys);
    mongoc_collection_destroy(c);
}

static void test_distinct_via_command(void **state)
{
    mongoc_collection_t *c = coll("dist");
    insert_range(c, 30, 6);
    bson_t *cmd = BCON_NEW("distinct", BCON_UTF8("dist"), "key", BCON_UTF8("a"), "query", "{",
                           "_id", "{", "$lt", BCON_INT32(20), "}", "}");
    bson_t reply;
    bson_error_t err;
    if (!mongoc_collection_read_command_with_opts(c, cmd, NULL, NULL, &reply, &err))
        fail_msg("distinct: %s", err.message);
    bson_iter_t it, arr;
    assert_true(bson_iter_init_find(&it, &reply, "values"));
    assert_true(bson_iter_recurse(&it, &arr));
    int seen = 0;
    while (bson_iter_next(&arr))
        seen |= 1 << bson_iter_as_int64(&arr);
    assert_int_equal(seen, 0x3f); /* 0..5, each once */
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_collection_destroy(c);
}

static void test_bulk_with_duplicate_key_reports_write_errors(void **state)
{
    mongoc_collection_t *c = coll("bulk");
    insert_range(c, 3, 3);
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    mongoc_bulk_operation_t *b = mongoc_collection_create_bulk_operation_with_opts(c, opts);
    bson_t *d1 = BCON_NEW("_id", BCON_INT32(10));
    bson_t *d2 = BCON_NEW("_id", BCON_INT32(1)); /* duplicate */
    bson_t *d3 = BCON_NEW("_id", BCON_INT32(11));
    bson_t *sel = BCON_NEW("_id", BCON_INT32(0));
    bson_t *upd = BCON_NEW("$set", "{", "z", BCON_INT32(1), "}");
    bson_error_t err;
    assert_true(mongoc_bulk_operation_insert_with_opts(b, d1, NULL, &err));
    assert_true(mongoc_bulk_operation_insert_with_opts(b, d2, NULL, &err));
    assert_true(mongoc_bulk_operation_insert_with_opts(b, d3, NULL, &err));
    assert_true(mongoc_bulk_operation_update_one_with_opts(b, sel, upd, NULL, &err));
    assert_true(mongoc_bulk_operation_remove_one_with_opts(b, d1, NULL, &err));
    bson_t reply;
    uint32_t ok = mongoc_bulk_operation_execute(b, &reply, &err);
    assert_int_equal(ok, 0);
    assert_int_equal(err.code, 11000);
    assert_int_equal(i64(&reply, "nInserted"), 2);
    assert_int_equal(i64(&reply, "nMatched"), 1);
    assert_int_equal(i64(&reply, "nModified"), 1);
    assert_int_equal(i64(&reply, "nRemoved"), 1);
    assert_int_equal(i64(&reply, "writeErrors.0.index"), 1); /* index in the whole bulk */
    assert_int_equal(i64(&reply, "writeErrors.0.code"), 11000);
    bson_iter_t it, f;
    assert_true(bson_iter_init(&it, &reply));
    assert_true(bson_iter_find_descendant(&it, "writeErrors.0.errmsg", &f));
    assert_non_null(strstr(bson_iter_utf8(&f, NULL), "E11000 duplicate key error"));
    assert_int_equal(i64(&reply, "writeErrors.0.keyValue._id"), 1);
    assert_int_equal(count(c, bson_new()), 4);
    bson_destroy(&reply);
    bson_destroy(d1);
    bson_destroy(d2);
    bson_destroy(d3);
    bson_destroy(sel);
    bson_destroy(upd);
    bson_destroy(opts);
    mongoc_bulk_operation_destroy(b);
    mongoc_collection_destroy(c);
}

static void test_coll_stats_and_validate_parse(void **state)
{
    mongoc_collection_t *c = coll("stats");
    insert_range(c, 50, 5);
    bson_t reply;
    bson_error_t err;
    bson_t *cmd = BCON_NEW("collStats", BCON_UTF8("stats"));
    assert_true(mongoc_collection_command_simple(c, cmd, NULL, &reply, &err));
    assert_int_equal(i64(&reply, "count"), 50);
    assert_true(i64(&reply, "size") > 0);
    bson_destroy(&reply);
    bson_destroy(cmd);
    cmd = BCON_NEW("validate", BCON_UTF8("stats"), "full", BCON_BOOL(true));
    assert_true(mongoc_collection_command_simple(c, cmd, NULL, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "valid"));
    assert_true(bson_iter_as_bool(&it));
    assert_int_equal(i64(&reply, "nrecords"), 50);
    assert_int_equal(i64(&reply, "keysPerIndex._id_"), 50);
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_collection_destroy(c);
}

/* open_client / close_client -- one client for the whole group, made once the server is up. */
static int open_client(void **state)
{
    (void)state;
    client = itest_client(&server, NULL);
    return client == NULL;
}

static int close_client(void **state)
{
    (void)state;
    mongoc_client_destroy(client);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return ITEST_MAIN(tests, &server, open_client, close_client);
}
