/*
 * test_crud_read.c -- libmongoc against micad: the read side through the C
 * driver's own cursor machinery (find + getMore + killCursors), count,
 * distinct, explain, and read errors with their codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static itest_server_t server;

/* fill -- drop and insert n documents {_id: i, a: i % 10, b: i} into rdc.name. */
static mongoc_collection_t *fill(mongoc_client_t *c, const char *name, int n)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "rdc", name);
    bson_error_t err;
    (void)mongoc_collection_drop(coll, &err);
    bson_t **docs = bson_malloc0(sizeof(bson_t *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        docs[i] = BCON_NEW("_id", BCON_INT32(i), "a", BCON_INT32(i % 10), "b", BCON_INT32(i));
    if (n > 0 &&
        !mongoc_collection_insert_many(coll, (const bson_t **)docs, (size_t)n, NULL, NULL, &err))
        fail_msg("insert_many: %s", err.message);
    for (int i = 0; i < n; i++)
        bson_destroy(docs[i]);
    bson_free(docs);
    return coll;
}

/* The driver's cursor walks 2,500 documents in batches of 100, in _id order. */
static void test_cursor_iterates_every_document_in_order(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "it", 2500);
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "batchSize", BCON_INT32(100));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *doc;
    int expect = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, doc, "_id"));
        assert_int_equal(bson_iter_int32(&it), expect);
        expect++;
    }
    bson_error_t err;
    if (mongoc_cursor_error(cur, &err))
        fail_msg("cursor: %s", err.message);
    assert_int_equal(expect, 2500);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* Destroying a cursor early sends killCursors; the id is then unknown (43). */
static void test_destroyed_cursor_is_not_found(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "kc", 300);
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(10));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *doc;
    assert_true(mongoc_cursor_next(cur, &doc));
    int64_t id = mongoc_cursor_get_id(cur);
    assert_true(id != 0);
    mongoc_cursor_destroy(cur);
    bson_t *cmd = BCON_NEW("getMore", BCON_INT64(id), "collection", BCON_UTF8("kc"));
    bson_t reply;
    bson_error_t err;
    assert_false(mongoc_client_command_simple(c, "rdc", cmd, NULL, &reply, &err));
    assert_int_equal(err.code, 43);
    bson_destroy(&reply);
    bson_destroy(cmd);
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* count_documents-free paths: the count command, with a query and without. */
static void test_count_and_estimated_count(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "cn", 120);
    bson_error_t err;
    int64_t n = mongoc_collection_estimated_document_count(coll, NULL, NULL, NULL, &err);
    assert_int_equal(n, 120);
    bson_t *cmd = BCON_NEW("count", BCON_UTF8("cn"), "query", "{", "a", BCON_INT32(4), "}");
    bson_t reply;
    assert_true(mongoc_client_command_simple(c, "rdc", cmd, NULL, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "n"));
    assert_int_equal(bson_iter_as_int64(&it), 12);
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* distinct returns each value once. */
static void test_distinct_values(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "ds", 100);
    bson_t *cmd = BCON_NEW("distinct", BCON_UTF8("ds"), "key", BCON_UTF8("a"));
    bson_t reply;
    bson_error_t err;
    assert_true(mongoc_client_command_simple(c, "rdc", cmd, NULL, &reply, &err));
    bson_iter_t it, arr;
    assert_true(bson_iter_init_find(&it, &reply, "values"));
    assert_true(bson_iter_recurse(&it, &arr));
    int n = 0;
    while (bson_iter_next(&arr)) {
        assert_int_equal(bson_iter_as_int64(&arr), n);
        n++;
    }
    assert_int_equal(n, 10);
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* With an index, explain's winning plan is FETCH over IXSCAN of that index. */
static void test_explain_shows_the_index(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "ex", 200);
    bson_t *ci = BCON_NEW("createIndexes", BCON_UTF8("ex"), "indexes", "[", "{", "key", "{", "b",
                          BCON_INT32(1), "}", "name", BCON_UTF8("b_1"), "}", "]");
    bson_t reply;
    bson_error_t err;
    assert_true(mongoc_client_command_simple(c, "rdc", ci, NULL, &reply, &err));
    bson_destroy(&reply);
    bson_t *cmd = BCON_NEW("explain", "{", "find", BCON_UTF8("ex"), "filter", "{", "b", "{", "$lt",
                           BCON_INT32(10), "}", "}", "}", "verbosity", BCON_UTF8("executionStats"));
    assert_true(mongoc_client_command_simple(c, "rdc", cmd, NULL, &reply, &err));
    bson_iter_t it, f;
    bson_iter_init(&it, &reply);
    assert_true(bson_iter_find_descendant(&it, "queryPlanner.winningPlan.stage", &f));
    assert_string_equal(bson_iter_utf8(&f, NULL), "FETCH");
    bson_iter_init(&it, &reply);
    assert_true(
        bson_iter_find_descendant(&it, "queryPlanner.winningPlan.inputStage.indexName", &f));
    assert_string_equal(bson_iter_utf8(&f, NULL), "b_1");
    bson_iter_init(&it, &reply);
    assert_true(bson_iter_find_descendant(&it, "executionStats.nReturned", &f));
    assert_int_equal(bson_iter_as_int64(&f), 10);
    bson_iter_init(&it, &reply);
    assert_true(bson_iter_find_descendant(&it, "executionStats.totalKeysExamined", &f));
    assert_int_equal(bson_iter_as_int64(&f), 10);
    bson_destroy(&reply);
    bson_destroy(cmd);
    bson_destroy(ci);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* Read errors carry MongoDB's codes through the C driver. */
static void test_read_errors_have_codes(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        uint32_t code;
    } cases[] = {
        {"{\"find\": \"er\", \"hint\": \"nope\"}", 2},
        {"{\"find\": \"er\", \"skip\": -1}", 51024},
        {"{\"find\": \"er\", \"filter\": 1}", 14},
        {"{\"find\": \"er\", \"bogus\": 1}", 40415},
        {"{\"getMore\": {\"$numberLong\": \"99\"}, \"collection\": \"er\"}", 43},
        {"{\"distinct\": \"er\"}", 40414},
        {"{\"explain\": {\"find\": \"er\"}, \"verbosity\": \"x\"}", 2},
    };
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "er", 3);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bson_error_t err;
        bson_t *cmd = bson_new_from_json((const uint8_t *)cases[i].json, -1, &err);
        assert_non_null(cmd);
        bson_t reply;
        bool ok = mongoc_client_command_simple(c, "rdc", cmd, NULL, &reply, &err);
        if (ok || err.code != cases[i].code)
            fail_msg("%s: ok=%d code=%u (%s)", cases[i].json, ok, err.code, err.message);
        bson_destroy(&reply);
        bson_destroy(cmd);
    }
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return ITEST_MAIN(tests, &server, NULL, NULL);
}
