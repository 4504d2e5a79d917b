/*
 * test_wildcard.c -- wildcard index keys (bsonu_wildcard_keys_get): one key
 * {"": path, "": value} per leaf, array elements under their array's path,
 * {} and [] (undefined) as leaves, nested arrays as values, multikey paths
 * (empty arrays too), dotted field names skipped, _id left out by default;
 * wildcardProjection inclusion/exclusion as MongoDB's projection applies it
 * (objects on the way that keep nothing become {}); "path.$**"; the
 * projection's parse errors and which queried paths an index covers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/common.h"

static bson_t *json(const char *s)
{
    bson_error_t err;
    bson_t *b = bson_new_from_json((const uint8_t *)s, -1, &err);
    if (b == NULL)
        fail_msg("bad test JSON %s: %s", s, err.message);
    return b;
}

/* keys_text -- the keys as "path=value;..." (canonical extended JSON values) and the
 * multikey paths as "mk:a,b". */
static void keys_text(const char *pattern, const char *proj, const char *doc, char *out, size_t cap)
{
    bson_t *kp = json(pattern), *pj = proj ? json(proj) : NULL, *d = json(doc);
    bsonu_wc_proj_t p;
    status_t st = STATUS_INIT;
    assert_int_equal(bsonu_wc_proj_parse(kp, pj, &p, &st), 0);
    bsonu_index_keys_t k;
    bsonu_strlist_t mk = {0};
    bsonu_index_keys_init(&k);
    assert_int_equal(bsonu_wildcard_keys_get(&p, d, &k, &mk, &st), 0);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k.n; i++) {
        bson_iter_t it;
        assert_true(bson_iter_init(&it, &k.keys[i]) && bson_iter_next(&it));
        const char *path = bson_iter_utf8(&it, NULL);
        assert_true(bson_iter_next(&it));
        bson_t tmp = BSON_INITIALIZER;
        bson_append_value(&tmp, "v", 1, bson_iter_value(&it));
        char *js = bson_as_canonical_extended_json(&tmp, NULL);
        /* { "v" : X } -> X */
        size_t jl = strlen(js);
        o += (size_t)snprintf(out + o, cap - o, "%s=%.*s;", path, (int)(jl - 10), js + 8);
        bson_free(js);
        bson_destroy(&tmp);
    }
    o += (size_t)snprintf(out + o, cap - o, "mk:");
    for (size_t i = 0; i < mk.n; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "", mk.v[i]);
    bsonu_strlist_destroy(&mk);
    bsonu_index_keys_destroy(&k);
    bsonu_wc_proj_destroy(&p);
    bson_destroy(kp);
    if (pj)
        bson_destroy(pj);
    bson_destroy(d);
}

#define EXPECT_KEYS(pattern, proj, doc, want)                                                      \
    do {                                                                                           \
        char got_[2048];                                                                           \
        keys_text(pattern, proj, doc, got_, sizeof(got_));                                         \
        assert_string_equal(got_, want);                                                           \
    } while (0)

static void test_all_paths(void **state)
{
    (void)state;
    EXPECT_KEYS("{\"$**\": 1}", NULL,
                "{\"_id\": 5, \"a\": 1, \"b\": {\"c\": \"x\", \"d\": [2, {\"e\": 3}, [4]]}, "
                "\"f\": {}, \"g\": [], \"h.i\": 9}",
                "a={ \"$numberInt\" : \"1\" };b.c=\"x\";b.d={ \"$numberInt\" : \"2\" };"
                "b.d=[ { \"$numberInt\" : \"4\" } ];b.d.e={ \"$numberInt\" : \"3\" };f={  };"
                "g={ \"$undefined\" : true };mk:b.d,g");
}

static void test_duplicates_collapse(void **state)
{
    (void)state;
    EXPECT_KEYS("{\"$**\": 1}", NULL, "{\"a\": [1, 1, {\"b\": 2}, {\"b\": 2}]}",
                "a={ \"$numberInt\" : \"1\" };a.b={ \"$numberInt\" : \"2\" };mk:a");
}

static void test_subtree(void **state)
{
    (void)state;
    EXPECT_KEYS("{\"a.$**\": 1}", NULL, "{\"a\": {\"b\": 1}, \"ab\": 2, \"c\": 3}",
                "a.b={ \"$numberInt\" : \"1\" };mk:");
    EXPECT_KEYS("{\"a.$**\": 1}", NULL, "{\"a\": 7}", "a={ \"$numberInt\" : \"7\" };mk:");
}

static void test_inclusion_projection(void **state)
{
    (void)state;
    EXPECT_KEYS("{\"$**\": 1}", "{\"b.c\": 1}",
                "{\"_id\": 1, \"b\": {\"c\": 1, \"d\": 2}, \"x\": 3}",
                "b.c={ \"$numberInt\" : \"1\" };mk:");
    /* an object on the way that keeps nothing is {} */
    EXPECT_KEYS("{\"$**\": 1}", "{\"a.b\": 1}", "{\"a\": {\"c\": 1}}", "a={  };mk:");
    /* an array on the way keeps its objects only */
    EXPECT_KEYS("{\"$**\": 1}", "{\"a.b\": 1}", "{\"a\": [1, {\"c\": 1}, {\"b\": 2}]}",
                "a={  };a.b={ \"$numberInt\" : \"2\" };mk:a");
    EXPECT_KEYS("{\"$**\": 1}", "{\"a.b\": 1}", "{\"a\": [1, 2]}",
                "a={ \"$undefined\" : true };mk:a");
    /* _id: 1 brings _id in; nested projection documents are paths */
    EXPECT_KEYS("{\"$**\": 1}", "{\"_id\": 1, \"a\": {\"b\": true}}",
                "{\"_id\": 4, \"a\": {\"b\": 1, \"c\": 2}}",
                "_id={ \"$numberInt\" : \"4\" };a.b={ \"$numberInt\" : \"1\" };mk:");
}

static void test_exclusion_projection(void **state)
{
    (void)state;
    EXPECT_KEYS("{\"$**\": 1}", "{\"a.b\": 0}",
                "{\"_id\": 1, \"a\": {\"b\": 1, \"c\": 2}, \"d\": 3}",
                "a.c={ \"$numberInt\" : \"2\" };d={ \"$numberInt\" : \"3\" };mk:");
    EXPECT_KEYS("{\"$**\": 1}", "{\"a.b\": 0}", "{\"a\": {\"b\": 1}}", "a={  };mk:");
    EXPECT_KEYS("{\"$**\": 1}", "{\"a.b\": 0, \"_id\": 1}", "{\"_id\": 1, \"a\": [5, {\"b\": 1}]}",
                "_id={ \"$numberInt\" : \"1\" };a={ \"$numberInt\" : \"5\" };a={  };mk:a");
}

static void expect_parse_error(const char *proj, int code)
{
    bson_t *kp = json("{\"$**\": 1}"), *pj = json(proj);
    bsonu_wc_proj_t p;
    status_t st = STATUS_INIT;
    assert_int_equal(bsonu_wc_proj_parse(kp, pj, &p, &st), code);
    bson_destroy(kp);
    bson_destroy(pj);
}

static void test_projection_errors(void **state)
{
    (void)state;
    expect_parse_error("{\"a\": 1, \"b\": 0}", 31254);
    expect_parse_error("{\"a\": 0, \"b\": 1}", 31253);
    expect_parse_error("{\"a\": 1, \"a.b\": 1}", 31249);
    expect_parse_error("{\"a\": \"$x\"}", ERR_FailedToParse);
    expect_parse_error("{\"$a\": 1}", ERR_FailedToParse);
    expect_parse_error("{\"a\": {}}", ERR_FailedToParse);
}

static void test_covers(void **state)
{
    (void)state;
    bson_t *kp = json("{\"$**\": 1}"), *inc = json("{\"a.x\": 1}"), *exc = json("{\"a\": 0}");
    bsonu_wc_proj_t p;
    status_t st = STATUS_INIT;
    assert_int_equal(bsonu_wc_proj_parse(kp, inc, &p, &st), 0);
    assert_true(bsonu_wc_proj_covers(&p, "a.x"));
    assert_true(bsonu_wc_proj_covers(&p, "a.x.y"));
    assert_false(bsonu_wc_proj_covers(&p, "a"));
    assert_false(bsonu_wc_proj_covers(&p, "a.y"));
    assert_false(bsonu_wc_proj_covers(&p, "_id"));
    bsonu_wc_proj_destroy(&p);
    assert_int_equal(bsonu_wc_proj_parse(kp, exc, &p, &st), 0);
    assert_true(bsonu_wc_proj_covers(&p, "b"));
    assert_false(bsonu_wc_proj_covers(&p, "a.z"));
    assert_false(bsonu_wc_proj_covers(&p, "_id"));
    bsonu_wc_proj_destroy(&p);
    assert_int_equal(bsonu_wc_proj_parse(kp, NULL, &p, &st), 0);
    assert_true(bsonu_wc_proj_covers(&p, "anything.below"));
    assert_false(bsonu_wc_proj_covers(&p, "_id"));
    bsonu_wc_proj_destroy(&p);
    bson_destroy(kp);
    bson_destroy(inc);
    bson_destroy(exc);
}

static void test_is_wildcard_pattern(void **state)
{
    (void)state;
    const char *yes[] = {"{\"$**\": 1}", "{\"a.$**\": -1}"};
    const char *no[] = {"{\"a\": 1}", "{\"$**\": \"text\"}", "{\"a$**\": 1}"};
    for (size_t i = 0; i < 2; i++) {
        bson_t *b = json(yes[i]);
        assert_true(bsonu_is_wildcard_pattern(b));
        bson_destroy(b);
    }
    for (size_t i = 0; i < 3; i++) {
        bson_t *b = json(no[i]);
        assert_false(bsonu_is_wildcard_pattern(b));
        bson_destroy(b);
    }
}

static void test_long_paths(void **state)
{
    (void)state;
    /* 80 levels of 40-character names: a 3,279-byte path, indexed like any other */
    bson_t *doc = bson_new(), *kp = json("{\"$**\": 1}");
    bson_t levels[80];
    char name[41];
    memset(name, 'n', 40);
    name[40] = '\0';
    bson_t *parent = doc;
    for (int i = 0; i < 80; i++) {
        bson_append_document_begin(parent, name, -1, &levels[i]);
        parent = &levels[i];
    }
    BSON_APPEND_INT32(parent, "x", 1);
    for (int i = 79; i >= 0; i--)
        bson_append_document_end(i ? &levels[i - 1] : doc, &levels[i]);
    bsonu_wc_proj_t p;
    status_t st = STATUS_INIT;
    assert_int_equal(bsonu_wc_proj_parse(kp, NULL, &p, &st), 0);
    bsonu_index_keys_t k;
    bsonu_index_keys_init(&k);
    assert_int_equal(bsonu_wildcard_keys_get(&p, doc, &k, NULL, &st), 0);
    assert_int_equal(k.n, 1);
    bson_iter_t it;
    assert_true(bson_iter_init(&it, &k.keys[0]) && bson_iter_next(&it));
    uint32_t len = 0;
    (void)bson_iter_utf8(&it, &len);
    assert_int_equal(len, 80 * 41 + 1);
    bsonu_index_keys_destroy(&k);
    bsonu_wc_proj_destroy(&p);
    bson_destroy(kp);
    bson_destroy(doc);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
