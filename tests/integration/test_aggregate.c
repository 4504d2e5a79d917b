/*
 * test_aggregate.c -- libmongoc against micad: the aggregate command through
 * the C driver's own cursor machinery (firstBatch + getMore + killCursors on
 * destroy), a $lookup, $out, and errors with their codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static itest_server_t server;

/* fill -- drop and insert n documents {_id: i, a: i % 10} into aggc.name. */
static mongoc_collection_t *fill(mongoc_client_t *c, const char *name, int n)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "aggc", name);
    bson_error_t err;
    (void)mongoc_collection_drop(coll, &err);
    bson_t **docs = bson_malloc0(sizeof(bson_t *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        docs[i] = BCON_NEW("_id", BCON_INT32(i), "a", BCON_INT32(i % 10));
    if (n > 0 &&
        !mongoc_collection_insert_many(coll, (const bson_t **)docs, (size_t)n, NULL, NULL, &err))
        fail_msg("insert_many: %s", err.message);
    for (int i = 0; i < n; i++)
        bson_destroy(docs[i]);
    bson_free(docs);
    return coll;
}

/* count_results -- run pipeline with opts and count what the cursor gives (fails on error). */
static int count_results(mongoc_collection_t *coll, const bson_t *pipeline, const bson_t *opts)
{
    mongoc_cursor_t *cur =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, opts, NULL);
    const bson_t *doc;
    int n = 0;
    while (mongoc_cursor_next(cur, &doc))
        n++;
    bson_error_t err;
    if (mongoc_cursor_error(cur, &err))
        fail_msg("aggregate: %s", err.message);
    mongoc_cursor_destroy(cur);
    return n;
}

/* The driver's cursor walks 10,500 results of a $project in batches of 300. */
static void test_cursor_walks_every_result(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "big", 10500);
    bson_t *pipeline =
        BCON_NEW("pipeline", "[", "{", "$project", "{", "a", BCON_INT32(1), "}", "}", "]");
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(300));
    assert_int_equal(count_results(coll, pipeline, opts), 10500);
    bson_destroy(opts);
    bson_destroy(pipeline);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* A cursor destroyed before its end is killed: the server forgets the id. */
static void test_destroyed_cursor_is_killed(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "kill", 500);
    bson_t *pipeline = BCON_NEW("pipeline", "[", "{", "$match", "{", "}", "}", "]");
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(10));
    mongoc_cursor_t *cur =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, opts, NULL);
    const bson_t *doc;
    assert_true(mongoc_cursor_next(cur, &doc));
    int64_t id = mongoc_cursor_get_id(cur);
    assert_true(id != 0);
    mongoc_cursor_destroy(cur);
    bson_t *cmd = BCON_NEW("getMore", BCON_INT64(id), "collection", BCON_UTF8("kill"));
    bson_t reply;
    bson_error_t err;
    assert_false(mongoc_client_command_simple(c, "aggc", cmd, NULL, &reply, &err));
    assert_int_equal(err.code, 43); /* CursorNotFound */
    bson_destroy(&reply);
    bson_destroy(cmd);
    bson_destroy(opts);
    bson_destroy(pipeline);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* $group over $lookup results, then $out: the target holds the groups. */
static void test_lookup_group_out(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    mongoc_collection_t *coll = fill(c, "src", 100);
    mongoc_collection_t *dim = fill(c, "dim", 10);
    mongoc_collection_t *out = mongoc_client_get_collection(c, "aggc", "grouped");
    bson_t *pipeline = BCON_NEW(
        "pipeline", "[", "{", "$lookup", "{", "from", BCON_UTF8("dim"), "localField",
        BCON_UTF8("a"), "foreignField", BCON_UTF8("_id"), "as", BCON_UTF8("d"), "}", "}", "{",
        "$unwind", BCON_UTF8("$d"), "}", "{", "$group", "{", "_id", BCON_UTF8("$d._id"), "n", "{",
        "$sum", BCON_INT32(1), "}", "}", "}", "{", "$out", BCON_UTF8("grouped"), "}", "]");
    assert_int_equal(count_results(coll, pipeline, NULL), 0);
    bson_error_t err;
    bson_t empty = BSON_INITIALIZER;
    int64_t n = mongoc_collection_count_documents(out, &empty, NULL, NULL, NULL, &err);
    assert_int_equal(n, 10);
    bson_t *q = BCON_NEW("n", BCON_INT32(10));
    n = mongoc_collection_count_documents(out, q, NULL, NULL, NULL, &err);
    assert_int_equal(n, 10);
    bson_destroy(q);
    bson_destroy(pipeline);
    mongoc_collection_destroy(out);
    mongoc_collection_destroy(dim);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* Errors come back with MongoDB's codes. */
static void test_errors_have_codes(void **state)
{
    (void)state;
    mongoc_client_t *c = itest_client(&server, NULL);
    static const struct {
        const char *json;
        uint32_t code;
    } cases[] = {
        {"{\"aggregate\": \"x\", \"pipeline\": []}", 9},
        {"{\"aggregate\": \"x\", \"cursor\": {}}", 40414},
        {"{\"aggregate\": \"x\", \"pipeline\": [{\"$nope\": 1}], \"cursor\": {}}", 40324},
        {"{\"aggregate\": \"x\", \"pipeline\": [], \"cursor\": {}, \"collation\": {\"locale\": "
         "\"fr\"}}",
         238},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bson_error_t err;
        bson_t *cmd = bson_new_from_json((const uint8_t *)cases[i].json, -1, &err);
        assert_non_null(cmd);
        bson_t reply;
        assert_false(mongoc_client_command_simple(c, "aggc", cmd, NULL, &reply, &err));
        if (err.code != cases[i].code)
            fail_msg("%s: got %u (%s), want %u", cases[i].json, err.code, err.message,
                     cases[i].code);
        bson_destroy(&reply);
        bson_destroy(cmd);
    }
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
