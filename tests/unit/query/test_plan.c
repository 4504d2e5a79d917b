/*
 * test_plan.c -- table-driven tests of the query planner (query/plan.c): for
 * a filter, a sort, a hint and a set of indexes, which candidate plans come
 * out, with which index bounds and whether they provide the sort. JSON in the
 * tables uses single quotes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/query.h"
#include "tests/unit/query/test_json.h"

/* An index in a table: name, key pattern, flags "m" multikey, "s" sparse, partial filter. */
typedef struct tix {
    const char *name;
    const char *key;
    const char *flags;
    const char *partial;
} tix_t;

typedef struct pcase {
    const char *name;
    const char *filter;
    const char *sort;
    const char *hint; /* JSON {'h': <hint>} or NULL */
    tix_t idx[4];
    /* Expected: the candidates' summaries joined by ';' in order. */
    const char *plans;
    /* Expected bounds of the first plan (its indexBounds JSON) or NULL not to check. */
    const char *bounds;
    int provides_sort; /* -1: don't check */
    int code;          /* expected error code, 0 = success */
} pcase_t;

#define NOIDX                                                                                      \
    {                                                                                              \
        {                                                                                          \
            NULL, NULL, NULL, NULL                                                                 \
        }                                                                                          \
    }

static const pcase_t cases[] = {
    {"no_index_collscan", "{'a': 1}", NULL, NULL, NOIDX, "COLLSCAN", NULL, -1, 0},
    {"equality_uses_index",
     "{'a': 1}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '[1, 1]' ] }",
     1,
     0},
    {"unrelated_index_not_used",
     "{'b': 1}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"range_gt_stays_in_numbers",
     "{'a': {'$gt': 3}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '(3, inf.0]' ] }",
     1,
     0},
    {"range_intersection",
     "{'a': {'$gt': 3, '$lte': 7}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '(3, 7]' ] }",
     1,
     0},
    {"multikey_no_intersection",
     "{'a': {'$gt': 3, '$lte': 7}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "m", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '(3, inf.0]' ] }",
     1,
     0},
    {"string_range_bracket",
     "{'a': {'$lt': 'm'}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '[\\\"\\\", \\\"m\\\")' ] }",
     1,
     0},
    {"in_gives_points_sorted",
     "{'a': {'$in': [5, 1, 3]}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '[1, 1]', '[3, 3]', '[5, 5]' ] }",
     1,
     0},
    {"compound_equality_then_range",
     "{'a': 1, 'b': {'$gte': 2}}",
     NULL,
     NULL,
     {{"a_1_b_1", "{'a': 1, 'b': 1}", "", NULL}},
     "IXSCAN a_1_b_1",
     "{ 'a' : [ '[1, 1]' ], 'b' : [ '[2, inf.0]' ] }",
     1,
     0},
    {"compound_after_range_open",
     "{'a': {'$gt': 1}, 'b': 2}",
     NULL,
     NULL,
     {{"a_1_b_1", "{'a': 1, 'b': 1}", "", NULL}},
     "IXSCAN a_1_b_1",
     "{ 'a' : [ '(1, inf.0]' ], 'b' : [ '[MinKey, MaxKey]' ] }",
     1,
     0},
    {"second_field_only_not_candidate",
     "{'b': 2}",
     NULL,
     NULL,
     {{"a_1_b_1", "{'a': 1, 'b': 1}", "", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"two_candidates",
     "{'a': 1, 'b': 2}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}, {"b_1", "{'b': 1}", "", NULL}},
     "IXSCAN a_1;IXSCAN b_1",
     NULL,
     -1,
     0},
    {"sort_only_index_candidate",
     "{}",
     "{'a': 1}",
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '[MinKey, MaxKey]' ] }",
     1,
     0},
    {"sort_descending_scans_backward",
     "{}",
     "{'a': -1}",
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1 -1",
     "{ 'a' : [ '[MaxKey, MinKey]' ] }",
     1,
     0},
    {"sort_after_equality_prefix",
     "{'a': 1}",
     "{'b': 1}",
     NULL,
     {{"a_1_b_1", "{'a': 1, 'b': 1}", "", NULL}},
     "IXSCAN a_1_b_1",
     NULL,
     1,
     0},
    {"sort_not_after_in",
     "{'a': {'$in': [1, 2]}}",
     "{'b': 1}",
     NULL,
     {{"a_1_b_1", "{'a': 1, 'b': 1}", "", NULL}},
     "IXSCAN a_1_b_1",
     NULL,
     0,
     0},
    {"sort_on_multikey_field_needs_sort",
     "{'a': {'$gt': 1}}",
     "{'a': 1}",
     NULL,
     {{"a_1", "{'a': 1}", "m", NULL}},
     "IXSCAN a_1",
     NULL,
     0,
     0},
    {"collscan_with_sort", "{}", "{'z': 1}", NULL, NOIDX, "COLLSCAN", NULL, 0, 0},
    {"descending_field_bounds",
     "{'a': {'$gte': 2, '$lt': 9}}",
     NULL,
     NULL,
     {{"a_-1", "{'a': -1}", "", NULL}},
     "IXSCAN a_-1",
     "{ 'a' : [ '(9, 2]' ] }",
     1,
     0},
    {"or_all_branches_indexed",
     "{'$or': [{'a': 1}, {'b': 2}]}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}, {"b_1", "{'b': 1}", "", NULL}},
     "OR a_1 b_1",
     NULL,
     0,
     0},
    {"or_under_and_indexed",
     "{'x': 5, '$or': [{'a': 1}, {'b': {'$gt': 2}}]}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}, {"b_1", "{'b': 1}", "", NULL}},
     "OR a_1 b_1",
     NULL,
     0,
     0},
    {"or_and_index_both_candidates",
     "{'a': 5, '$or': [{'a': 1}, {'b': 2}]}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}, {"b_1", "{'b': 1}", "", NULL}},
     "IXSCAN a_1;OR a_1 b_1",
     "{ 'a' : [ '[5, 5]' ] }",
     -1,
     0},
    {"or_branch_unindexed_collscan",
     "{'$or': [{'a': 1}, {'c': 2}]}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"sparse_not_for_null",
     "{'a': null}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "s", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"sparse_for_value",
     "{'a': 3}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "s", NULL}},
     "IXSCAN a_1",
     NULL,
     -1,
     0},
    {"sparse_not_for_sort_only",
     "{}",
     "{'a': 1}",
     NULL,
     {{"a_1", "{'a': 1}", "s", NULL}},
     "COLLSCAN",
     NULL,
     0,
     0},
    {"null_bounds_include_undefined",
     "{'a': null}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '[undefined, undefined]', '[null, null]' ] }",
     -1,
     0},
    {"partial_implied",
     "{'a': 5, 'b': {'$gt': 10}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", "{'b': {'$gt': 5}}"}},
     "IXSCAN a_1",
     NULL,
     -1,
     0},
    {"partial_not_implied",
     "{'a': 5, 'b': {'$gt': 1}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", "{'b': {'$gt': 5}}"}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"partial_missing_predicate",
     "{'a': 5}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", "{'b': {'$exists': true}}"}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"hint_by_name",
     "{'b': 1}",
     NULL,
     "{'h': 'a_1'}",
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '[MinKey, MaxKey]' ] }",
     -1,
     0},
    {"hint_by_pattern",
     "{'a': 1}",
     NULL,
     "{'h': {'a': 1}}",
     {{"a_1", "{'a': 1}", "", NULL}, {"a_1_b_1", "{'a': 1, 'b': 1}", "", NULL}},
     "IXSCAN a_1",
     NULL,
     -1,
     0},
    {"hint_natural",
     "{'a': 1}",
     NULL,
     "{'h': {'$natural': -1}}",
     {{"a_1", "{'a': 1}", "", NULL}},
     "COLLSCAN -1",
     NULL,
     -1,
     0},
    {"hint_unknown_bad_value",
     "{'a': 1}",
     NULL,
     "{'h': 'zz'}",
     {{"a_1", "{'a': 1}", "", NULL}},
     NULL,
     NULL,
     -1,
     2},
    {"prefix_regex_bounds",
     "{'a': {'$regex': '^ab'}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [ '[\\\"ab\\\", \\\"ac\\\")', '[/^ab/, /^ab/]' ] }",
     -1,
     0},
    {"empty_in_empty_bounds",
     "{'a': {'$in': []}}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "IXSCAN a_1",
     "{ 'a' : [  ] }",
     -1,
     0},
    {"eq_array_not_bounded",
     "{'a': [1, 2]}",
     NULL,
     NULL,
     {{"a_1", "{'a': 1}", "", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    /* wildcard indexes: one {$_path, path} IXSCAN for a path a predicate can use */
    {"wildcard_equality",
     "{'a.b': 1}",
     NULL,
     NULL,
     {{"$**_1", "{'$**': 1}", "", NULL}},
     "IXSCAN $**_1 a.b",
     "{ '$_path' : [ '[\\\"a.b\\\", \\\"a.b\\\"]' ], 'a.b' : [ '[1, 1]' ] }",
     1,
     0},
    {"wildcard_exists_takes_subpaths",
     "{'a': {'$exists': true}}",
     NULL,
     NULL,
     {{"$**_1", "{'$**': 1}", "", NULL}},
     "IXSCAN $**_1 a",
     "{ '$_path' : [ '[\\\"a\\\", \\\"a\\\"]', '[\\\"a.\\\", \\\"a/\\\")' ], 'a' : [ '[MinKey, "
     "MaxKey]' ] }",
     -1,
     0},
    {"wildcard_not_for_null",
     "{'a': null}",
     NULL,
     NULL,
     {{"$**_1", "{'$**': 1}", "", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"wildcard_not_for_object_equality",
     "{'a': {'b': 1}}",
     NULL,
     NULL,
     {{"$**_1", "{'$**': 1}", "", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"wildcard_not_for_id",
     "{'_id': 1}",
     NULL,
     NULL,
     {{"$**_1", "{'$**': 1}", "", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"wildcard_subtree_only_its_paths",
     "{'b': 1}",
     NULL,
     NULL,
     {{"a.$**_1", "{'a.$**': 1}", "", NULL}},
     "COLLSCAN",
     NULL,
     -1,
     0},
    {"wildcard_hint_cannot_answer",
     "{'a': {'$exists': false}}",
     NULL,
     "{'h': '$**_1'}",
     {{"$**_1", "{'$**': 1}", "", NULL}},
     NULL,
     NULL,
     -1,
     291},
    {"wildcard_picks_the_point",
     "{'a': {'$gt': 1}, 'b': 2}",
     NULL,
     NULL,
     {{"$**_1", "{'$**': 1}", "", NULL}},
     "IXSCAN $**_1 b",
     NULL,
     -1,
     0},
};

static void run_case(const pcase_t *c)
{
    status_t st = STATUS_INIT;
    bson_t *filter = J(c->filter);
    bson_t *sort = c->sort ? J(c->sort) : NULL;
    bson_t *hintdoc = c->hint ? J(c->hint) : NULL;
    bson_value_t hint;
    qry_match_t *m = NULL;
    assert_int_equal(qry_match_parse(filter, NULL, &m, &st), 0);

    qry_index_info_t ix[4];
    bson_t *keys[4] = {0}, *mkp[4] = {0};
    qry_match_t *partial[4] = {0};
    size_t nix = 0;
    for (; nix < 4 && c->idx[nix].name != NULL; nix++) {
        memset(&ix[nix], 0, sizeof(ix[nix]));
        keys[nix] = J(c->idx[nix].key);
        ix[nix].name = c->idx[nix].name;
        ix[nix].key_pattern = keys[nix];
        ix[nix].multikey = strchr(c->idx[nix].flags, 'm') != NULL;
        ix[nix].sparse = strchr(c->idx[nix].flags, 's') != NULL;
        if (ix[nix].multikey) {
            mkp[nix] = bson_new();
            bson_iter_t it;
            bson_iter_init(&it, keys[nix]);
            while (bson_iter_next(&it))
                BSON_APPEND_BOOL(mkp[nix], bson_iter_key(&it), true);
            ix[nix].multikey_paths = mkp[nix];
        }
        if (c->idx[nix].partial != NULL) {
            bson_t *pf = J(c->idx[nix].partial);
            assert_int_equal(qry_match_parse(pf, NULL, &partial[nix], &st), 0);
            bson_destroy(pf);
            ix[nix].partial = partial[nix];
        }
    }
    qry_plan_request_t req = {0};
    req.filter = m;
    req.sort = sort;
    if (hintdoc != NULL) {
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, hintdoc, "h"));
        hint = *bson_iter_value(&it);
        req.hint = &hint;
    }
    req.indexes = ix;
    req.nindexes = nix;
    qry_plan_t **plans = NULL;
    size_t n = 0;
    int ret = qry_plan_enumerate(&req, &plans, &n, &st);
    if (c->code != 0) {
        if (ret != c->code)
            fail_msg("%s: expected code %d, got %d (%s)", c->name, c->code, ret, st.msg);
    } else {
        if (ret != 0)
            fail_msg("%s: failed %d %s", c->name, ret, st.msg);
        bson_string_t *got = bson_string_new(NULL);
        for (size_t i = 0; i < n; i++)
            bson_string_append_printf(got, "%s%s", i ? ";" : "", plans[i]->summary);
        if (strcmp(got->str, c->plans) != 0)
            fail_msg("%s: plans '%s', expected '%s'", c->name, got->str, c->plans);
        bson_string_free(got, true);
        if (c->bounds != NULL) {
            bson_t out = BSON_INITIALIZER;
            qry_plan_append_bounds(plans[0],
                                   plans[0]->key_pattern ? plans[0]->key_pattern
                                                         : ix[plans[0]->index].key_pattern,
                                   &out, "b");
            bson_iter_t it, sub;
            assert_true(bson_iter_init_find(&it, &out, "b"));
            bson_iter_recurse(&it, &sub);
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            bson_t b;
            bson_init_static(&b, data, len);
            char *js = bson_as_relaxed_extended_json(&b, NULL);
            char *want = strdup(c->bounds);
            for (char *p = want; *p; p++)
                if (*p == '\'')
                    *p = '"';
            if (strcmp(js, want) != 0)
                fail_msg("%s: bounds %s, expected %s", c->name, js, want);
            free(want);
            bson_free(js);
            bson_destroy(&out);
        }
        if (c->provides_sort >= 0 && (int)plans[0]->provides_sort != c->provides_sort)
            fail_msg("%s: provides_sort %d", c->name, plans[0]->provides_sort);
    }
    qry_plan_free_all(plans, n);
    for (size_t i = 0; i < nix; i++) {
        bson_destroy(keys[i]);
        if (mkp[i])
            bson_destroy(mkp[i]);
        qry_match_destroy(partial[i]);
    }
    qry_match_destroy(m);
    bson_destroy(filter);
    if (sort)
        bson_destroy(sort);
    if (hintdoc)
        bson_destroy(hintdoc);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

/* Ranges in scan order for a compound index with $in: one range per point. */
static void test_in_explodes_ranges(void **state)
{
    (void)state;
    status_t st = STATUS_INIT;
    bson_t *f = J("{'a': {'$in': [2, 1]}, 'b': {'$gt': 5}}");
    bson_t *k = J("{'a': 1, 'b': 1}");
    qry_match_t *m = NULL;
    assert_int_equal(qry_match_parse(f, NULL, &m, &st), 0);
    qry_index_info_t ix = {.name = "a_1_b_1", .key_pattern = k};
    qry_plan_request_t req = {.filter = m, .indexes = &ix, .nindexes = 1};
    qry_plan_t **plans;
    size_t n;
    assert_int_equal(qry_plan_enumerate(&req, &plans, &n, &st), 0);
    assert_int_equal(n, 1);
    assert_int_equal(plans[0]->nranges, 2);
    bson_iter_t it;
    bson_iter_init(&it, &plans[0]->ranges[0].start);
    assert_true(bson_iter_next(&it));
    assert_int_equal(bson_iter_int32(&it), 1);
    assert_false(plans[0]->ranges[0].start_incl);
    bson_iter_init(&it, &plans[0]->ranges[1].start);
    assert_true(bson_iter_next(&it));
    assert_int_equal(bson_iter_int32(&it), 2);
    qry_plan_free_all(plans, n);
    qry_match_destroy(m);
    bson_destroy(f);
    bson_destroy(k);
}

/* min/max without a hint is refused with MongoDB's code. */
static void test_minmax_needs_hint(void **state)
{
    (void)state;
    status_t st = STATUS_INIT;
    bson_t *f = J("{}");
    bson_t *mn = J("{'a': 1}");
    qry_match_t *m = NULL;
    assert_int_equal(qry_match_parse(f, NULL, &m, &st), 0);
    qry_plan_request_t req = {.filter = m, .min = mn};
    qry_plan_t **plans;
    size_t n;
    assert_int_equal(qry_plan_enumerate(&req, &plans, &n, &st), 51173);
    qry_match_destroy(m);
    bson_destroy(f);
    bson_destroy(mn);
}

/* min/max with a hint: one range, min inclusive, max exclusive. */
static void test_minmax_range(void **state)
{
    (void)state;
    status_t st = STATUS_INIT;
    bson_t *f = J("{}");
    bson_t *mn = J("{'a': 1}"), *mx = J("{'a': 5}"), *k = J("{'a': 1}"), *h = J("{'h': 'a_1'}");
    qry_match_t *m = NULL;
    assert_int_equal(qry_match_parse(f, NULL, &m, &st), 0);
    qry_index_info_t ix = {.name = "a_1", .key_pattern = k};
    bson_iter_t it;
    bson_iter_init_find(&it, h, "h");
    qry_plan_request_t req = {.filter = m,
                              .min = mn,
                              .max = mx,
                              .indexes = &ix,
                              .nindexes = 1,
                              .hint = bson_iter_value(&it)};
    qry_plan_t **plans;
    size_t n;
    assert_int_equal(qry_plan_enumerate(&req, &plans, &n, &st), 0);
    assert_int_equal(plans[0]->nranges, 1);
    assert_true(plans[0]->ranges[0].start_incl);
    assert_false(plans[0]->ranges[0].end_incl);
    qry_plan_free_all(plans, n);
    /* max below min: 51175 */
    req.min = mx;
    req.max = mn;
    assert_int_equal(qry_plan_enumerate(&req, &plans, &n, &st), 51175);
    qry_match_destroy(m);
    bson_destroy(f);
    bson_destroy(mn);
    bson_destroy(mx);
    bson_destroy(k);
    bson_destroy(h);
}

/* Query shapes ignore values but not operators, paths, sort or projection. */
static void test_shape(void **state)
{
    (void)state;
    const char *same[][2] = {{"{'a': 1}", "{'a': 99}"},
                             {"{'a': {'$gt': 1}}", "{'a': {'$gt': 'x'}}"}};
    const char *diff[][2] = {{"{'a': 1}", "{'b': 1}"}, {"{'a': 1}", "{'a': {'$gt': 1}}"}};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 2; i++) {
            const char **pair = k == 0 ? same[i] : diff[i];
            status_t st = STATUS_INIT;
            bson_t *a = J(pair[0]), *b = J(pair[1]);
            qry_match_t *ma, *mb;
            assert_int_equal(qry_match_parse(a, NULL, &ma, &st), 0);
            assert_int_equal(qry_match_parse(b, NULL, &mb, &st), 0);
            bson_string_t *sa = bson_string_new(NULL), *sb = bson_string_new(NULL);
            qry_plan_shape(ma, NULL, NULL, sa);
            qry_plan_shape(mb, NULL, NULL, sb);
            assert_int_equal(strcmp(sa->str, sb->str) == 0, k == 0);
            bson_string_free(sa, true);
            bson_string_free(sb, true);
            qry_match_destroy(ma);
            qry_match_destroy(mb);
            bson_destroy(a);
            bson_destroy(b);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
