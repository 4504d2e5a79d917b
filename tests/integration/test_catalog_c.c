/*
 * test_catalog_c.c -- the catalog through libmongoc 1.23's own helpers against
 * a real micad (issue #9, "thicken the thin suites"): renameCollection
 * (mongoc_collection_rename with and without dropTarget, and its errors),
 * listCollections (filters on name, type and options, nameOnly, through
 * mongoc_database_find_collections_with_opts and the names helper), capped
 * collections (the size and max limits keep the newest documents, natural
 * order both ways) and validators (validationLevel / validationAction, error 121
 * with errInfo). Each test works on its own collections of "catc".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "harness.h"

static itest_server_t server;
static mongoc_client_t *client;
static mongoc_database_t *db;

/* fresh -- drop name and return a handle on it (the caller destroys it). */
static mongoc_collection_t *fresh(const char *name)
{
    mongoc_collection_t *c = mongoc_database_get_collection(db, name);
    bson_error_t err;
    (void)mongoc_collection_drop(c, &err);
    return c;
}

/* insert_ids -- {_id: i, pad: <pad_len bytes>} for i in [from, to), one insert each. */
static void insert_ids(mongoc_collection_t *c, int from, int to, size_t pad_len)
{
    char *pad = calloc(1, pad_len + 1);
    memset(pad, 'p', pad_len);
    for (int i = from; i < to; i++) {
        bson_t *d = BCON_NEW("_id", BCON_INT32(i), "pad", BCON_UTF8(pad));
        bson_error_t err;
        if (!mongoc_collection_insert_one(c, d, NULL, NULL, &err))
            fail_msg("insert %d: %s", i, err.message);
        bson_destroy(d);
    }
    free(pad);
}

/* ids -- the _ids of find(filter, opts) in order, into out[]; returns how many. */
static int ids(mongoc_collection_t *c, const char *opts_json, int *out, int max)
{
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = opts_json ? bson_new_from_json((const uint8_t *)opts_json, -1, NULL) : NULL;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &filter, opts, NULL);
    const bson_t *doc;
    bson_error_t err;
    int n = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, doc, "_id"));
        if (n < max)
            out[n] = bson_iter_int32(&it);
        n++;
    }
    if (mongoc_cursor_error(cur, &err))
        fail_msg("find: %s", err.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    return n;
}

/* has_collection -- whether listCollections names it. */
static bool has_collection(const char *name)
{
    bson_error_t err;
    char **names = mongoc_database_get_collection_names_with_opts(db, NULL, &err);
    bool found = false;
    assert_non_null(names);
    for (char **p = names; *p; p++)
        found |= strcmp(*p, name) == 0;
    bson_strfreev(names);
    return found;
}

static void test_rename_collection_moves_documents_and_indexes(void **state)
{
    (void)state;
    mongoc_collection_t *src = fresh("ren_src"), *dst = fresh("ren_dst");
    bson_error_t err;
    int got[16];
    insert_ids(src, 0, 5, 10);
    bson_t *ixcmd = BCON_NEW("createIndexes", BCON_UTF8("ren_src"), "indexes", "[", "{", "key", "{",
                             "pad", BCON_INT32(1), "}", "name", BCON_UTF8("pad_1"), "}", "]");
    assert_true(mongoc_database_write_command_with_opts(db, ixcmd, NULL, NULL, &err));
    bson_destroy(ixcmd);

    assert_true(mongoc_collection_rename(src, "catc", "ren_dst", false, &err));
    assert_string_equal(mongoc_collection_get_name(src), "ren_dst");
    assert_false(has_collection("ren_src"));
    assert_int_equal(ids(dst, "{\"sort\": {\"_id\": 1}}", got, 16), 5);
    assert_int_equal(got[4], 4);
    /* the index came along */
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(dst, NULL);
    const bson_t *ix;
    int nix = 0;
    while (mongoc_cursor_next(cur, &ix))
        nix++;
    mongoc_cursor_destroy(cur);
    assert_int_equal(nix, 2);

    /* an existing target: NamespaceExists 48 unless dropTarget */
    mongoc_collection_t *other = fresh("ren_other");
    insert_ids(other, 100, 102, 10);
    assert_false(mongoc_collection_rename(other, "catc", "ren_dst", false, &err));
    assert_int_equal(err.code, 48);
    assert_true(mongoc_collection_rename(other, "catc", "ren_dst", true, &err));
    assert_int_equal(ids(dst, "{\"sort\": {\"_id\": 1}}", got, 16), 2);
    assert_int_equal(got[0], 100);
    /* a missing source: NamespaceNotFound 26 */
    mongoc_collection_t *none = fresh("ren_none");
    assert_false(mongoc_collection_rename(none, "catc", "ren_x", false, &err));
    assert_int_equal(err.code, 26);
    mongoc_collection_destroy(none);
    mongoc_collection_destroy(other);
    mongoc_collection_destroy(src);
    mongoc_collection_destroy(dst);
}

static void test_list_collections_filters_and_name_only(void **state)
{
    (void)state;
    mongoc_collection_t *a = fresh("lc_plain"), *b = fresh("lc_capped");
    bson_error_t err;
    insert_ids(a, 0, 1, 1);
    bson_t *opts = BCON_NEW("capped", BCON_BOOL(true), "size", BCON_INT64(65536));
    mongoc_collection_t *made = mongoc_database_create_collection(db, "lc_capped", opts, &err);
    assert_non_null(made);
    mongoc_collection_destroy(made);
    bson_destroy(opts);

    /* a filter on the name */
    bson_t *fo = BCON_NEW("filter", "{", "name", BCON_UTF8("lc_capped"), "}");
    mongoc_cursor_t *cur = mongoc_database_find_collections_with_opts(db, fo);
    const bson_t *doc;
    int n = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        n++;
        assert_true(bson_iter_init_find(&it, doc, "type"));
        assert_string_equal(bson_iter_utf8(&it, NULL), "collection");
        assert_true(bson_iter_init(&it, doc));
        assert_true(bson_iter_find_descendant(&it, "options.capped", &it));
        assert_true(bson_iter_as_bool(&it));
        assert_true(bson_iter_init_find(&it, doc, "info"));
    }
    assert_false(mongoc_cursor_error(cur, &err));
    mongoc_cursor_destroy(cur);
    bson_destroy(fo);
    assert_int_equal(n, 1);

    /* a filter on the options, and a regular expression on the name */
    fo = BCON_NEW("filter", "{", "options.capped", BCON_BOOL(true), "name", "{", "$regex",
                  BCON_UTF8("^lc_"), "}", "}");
    cur = mongoc_database_find_collections_with_opts(db, fo);
    n = 0;
    while (mongoc_cursor_next(cur, &doc))
        n++;
    mongoc_cursor_destroy(cur);
    bson_destroy(fo);
    assert_int_equal(n, 1);

    /* nameOnly: {name, type} only */
    bson_t *cmd = BCON_NEW("listCollections", BCON_INT32(1), "nameOnly", BCON_BOOL(true), "filter",
                           "{", "name", "{", "$in", "[", BCON_UTF8("lc_plain"),
                           BCON_UTF8("lc_capped"), "]", "}", "}");
    bson_t reply;
    assert_true(mongoc_database_command_simple(db, cmd, NULL, &reply, &err));
    bson_iter_t it, batch;
    assert_true(bson_iter_init(&it, &reply));
    assert_true(bson_iter_find_descendant(&it, "cursor.firstBatch", &batch));
    bson_iter_t el;
    assert_true(bson_iter_recurse(&batch, &el));
    n = 0;
    while (bson_iter_next(&el)) {
        bson_iter_t f;
        int fields = 0;
        assert_true(bson_iter_recurse(&el, &f));
        while (bson_iter_next(&f)) {
            fields++;
            assert_true(strcmp(bson_iter_key(&f), "name") == 0 ||
                        strcmp(bson_iter_key(&f), "type") == 0);
        }
        assert_int_equal(fields, 2);
        n++;
    }
    assert_int_equal(n, 2);
    bson_destroy(&reply);
    bson_destroy(cmd);

    /* the names helper sees both */
    assert_true(has_collection("lc_plain") && has_collection("lc_capped"));
    mongoc_collection_destroy(a);
    mongoc_collection_destroy(b);
}

static void test_capped_limits_and_natural_order(void **state)
{
    (void)state;
    mongoc_collection_t *c = fresh("cap_max");
    bson_error_t err;
    int got[64];
    /* max: 5 documents, the newest kept */
    bson_t *opts =
        BCON_NEW("capped", BCON_BOOL(true), "size", BCON_INT64(1 << 20), "max", BCON_INT64(5));
    mongoc_collection_t *made = mongoc_database_create_collection(db, "cap_max", opts, &err);
    assert_non_null(made);
    mongoc_collection_destroy(made);
    bson_destroy(opts);
    insert_ids(c, 0, 20, 10);
    assert_int_equal(ids(c, NULL, got, 64), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(got[i], 15 + i); /* natural order: insertion order */
    assert_int_equal(ids(c, "{\"sort\": {\"$natural\": -1}}", got, 64), 5);
    assert_int_equal(got[0], 19);
    assert_int_equal(got[4], 15);
    mongoc_collection_destroy(c);

    /* size: 8 KB of ~1 KB documents keeps the newest few */
    c = fresh("cap_size");
    opts = BCON_NEW("capped", BCON_BOOL(true), "size", BCON_INT64(8192));
    made = mongoc_database_create_collection(db, "cap_size", opts, &err);
    assert_non_null(made);
    mongoc_collection_destroy(made);
    bson_destroy(opts);
    insert_ids(c, 0, 50, 1000);
    int n = ids(c, NULL, got, 64);
    assert_true(n > 0 && n <= 8);
    for (int i = 0; i < n; i++)
        assert_int_equal(got[i], 50 - n + i);
    /* collStats reports it */
    bson_t *cmd = BCON_NEW("collStats", BCON_UTF8("cap_size"));
    bson_t reply;
    bson_iter_t it;
    assert_true(mongoc_database_command_simple(db, cmd, NULL, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "capped"));
    assert_true(bson_iter_as_bool(&it));
    assert_true(bson_iter_init_find(&it, &reply, "count"));
    assert_int_equal(bson_iter_as_int64(&it), n);
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_collection_destroy(c);
}

/* write_error_code -- the code of the first writeErrors entry of reply, and its errInfo. */
static int write_error_code(const bson_t *reply, bson_t *errinfo)
{
    bson_iter_t it, f;
    uint32_t len;
    const uint8_t *data;
    if (!bson_iter_init(&it, reply) || !bson_iter_find_descendant(&it, "writeErrors.0", &f))
        return 0;
    bson_iter_t e;
    assert_true(bson_iter_recurse(&f, &e));
    assert_true(bson_iter_find(&e, "code"));
    int code = bson_iter_int32(&e);
    assert_true(bson_iter_recurse(&f, &e));
    if (bson_iter_find(&e, "errInfo") && BSON_ITER_HOLDS_DOCUMENT(&e)) {
        bson_iter_document(&e, &len, &data);
        bson_t tmp;
        assert_true(bson_init_static(&tmp, data, len));
        bson_copy_to(&tmp, errinfo);
    } else {
        bson_init(errinfo);
    }
    return code;
}

static void test_validators_levels_actions_and_errinfo(void **state)
{
    (void)state;
    mongoc_collection_t *c = fresh("val");
    bson_error_t err;
    bson_t reply, errinfo;
    bson_t *opts =
        BCON_NEW("validator", "{", "a", "{", "$type", BCON_UTF8("int"), "}", "}", "validationLevel",
                 BCON_UTF8("strict"), "validationAction", BCON_UTF8("error"));
    mongoc_collection_t *made = mongoc_database_create_collection(db, "val", opts, &err);
    assert_non_null(made);
    mongoc_collection_destroy(made);
    bson_destroy(opts);

    bson_t *good = BCON_NEW("_id", BCON_INT32(1), "a", BCON_INT32(5));
    assert_true(mongoc_collection_insert_one(c, good, NULL, NULL, &err));
    bson_destroy(good);
    /* a failing document: DocumentValidationFailure 121 with errInfo */
    bson_t *bad = BCON_NEW("_id", BCON_INT32(2), "a", BCON_UTF8("x"));
    assert_false(mongoc_collection_insert_one(c, bad, NULL, &reply, &err));
    assert_int_equal(err.code, 121);
    assert_int_equal(write_error_code(&reply, &errinfo), 121);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &errinfo, "failingDocumentId"));
    assert_int_equal(bson_iter_as_int64(&it), 2);
    assert_true(bson_iter_init(&it, &errinfo));
    assert_true(bson_iter_find_descendant(&it, "details.operatorName", &it));
    assert_true(BSON_ITER_HOLDS_UTF8(&it)); /* the failing operator, e.g. "$type" */
    bson_destroy(&errinfo);
    bson_destroy(&reply);
    /* an update that breaks the rule fails the same way */
    bson_t *sel = BCON_NEW("_id", BCON_INT32(1));
    bson_t *upd = BCON_NEW("$set", "{", "a", BCON_UTF8("y"), "}");
    assert_false(mongoc_collection_update_one(c, sel, upd, NULL, &reply, &err));
    assert_int_equal(err.code, 121);
    bson_destroy(&reply);

    /* validationAction warn: the write goes through */
    bson_t *cmd = BCON_NEW("collMod", BCON_UTF8("val"), "validationAction", BCON_UTF8("warn"));
    assert_true(mongoc_database_command_simple(db, cmd, NULL, NULL, &err));
    bson_destroy(cmd);
    assert_true(mongoc_collection_insert_one(c, bad, NULL, NULL, &err));

    /* validationLevel moderate: an existing invalid document may be updated, a valid one
     * may not become invalid */
    cmd = BCON_NEW("collMod", BCON_UTF8("val"), "validationAction", BCON_UTF8("error"),
                   "validationLevel", BCON_UTF8("moderate"));
    assert_true(mongoc_database_command_simple(db, cmd, NULL, NULL, &err));
    bson_destroy(cmd);
    bson_t *sel2 = BCON_NEW("_id", BCON_INT32(2));
    bson_t *upd2 = BCON_NEW("$set", "{", "b", BCON_INT32(1), "}");
    assert_true(mongoc_collection_update_one(c, sel2, upd2, NULL, NULL, &err));
    assert_false(mongoc_collection_update_one(c, sel, upd, NULL, &reply, &err));
    assert_int_equal(err.code, 121);
    bson_destroy(&reply);
    /* validationLevel off: nothing is checked */
    cmd = BCON_NEW("collMod", BCON_UTF8("val"), "validationLevel", BCON_UTF8("off"));
    assert_true(mongoc_database_command_simple(db, cmd, NULL, NULL, &err));
    bson_destroy(cmd);
    assert_true(mongoc_collection_update_one(c, sel, upd, NULL, NULL, &err));
    /* listCollections shows the validator and its settings */
    bson_t *fo = BCON_NEW("filter", "{", "name", BCON_UTF8("val"), "}");
    mongoc_cursor_t *cur = mongoc_database_find_collections_with_opts(db, fo);
    const bson_t *doc;
    assert_true(mongoc_cursor_next(cur, &doc));
    assert_true(bson_iter_init(&it, doc));
    assert_true(bson_iter_find_descendant(&it, "options.validationLevel", &it));
    assert_string_equal(bson_iter_utf8(&it, NULL), "off");
    assert_true(bson_iter_init(&it, doc));
    assert_true(bson_iter_find_descendant(&it, "options.validator.a", &it));
    mongoc_cursor_destroy(cur);
    bson_destroy(fo);
    bson_destroy(sel2);
    bson_destroy(upd2);
    bson_destroy(sel);
    bson_destroy(upd);
    bson_destroy(bad);
    mongoc_collection_destroy(c);
}

/* open_client / close_client -- one client for the whole group. */
static int open_client(void **state)
{
    (void)state;
    client = itest_client(&server, NULL);
    if (client == NULL)
        return 1;
    db = mongoc_client_get_database(client, "catc");
    return 0;
}

static int close_client(void **state)
{
    (void)state;
    mongoc_database_destroy(db);
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
