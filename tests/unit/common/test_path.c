/*
 * test_path.c -- dotted paths: bsonu_path_walk (implicit array traversal,
 * numeric components, nested arrays, missing paths, leaf arrays),
 * bsonu_path_get, and index key generation (bsonu_index_keys_get: one key
 * per array element, null for missing, undefined for empty arrays, shared
 * arrays expanded together, multikey paths, parallel arrays error 171).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/common.h"

static void parse_doc(const char *json, bson_t *doc)
{
    bson_error_t err;
    if (!bson_init_from_json(doc, json, -1, &err))
        fail_msg("bad test JSON %s: %s", json, err.message);
}

/* ---- walk ---- */

typedef struct walk_case {
    const char *name;
    const char *doc;
    const char *path;
    unsigned flags;
    const char *want; /* {"l": [[value, array_index], ...]} in visit order */
} walk_case_t;

static const walk_case_t walk_cases[] = {
    {"top_level_field", "{\"a\": 1}", "a", 0, "{\"l\": [[1, -1]]}"},
    {"nested_field", "{\"a\": {\"b\": {\"c\": \"x\"}}}", "a.b.c", 0, "{\"l\": [[\"x\", -1]]}"},
    {"missing_field", "{\"a\": 1}", "b", 0, "{\"l\": []}"},
    {"missing_under_scalar", "{\"a\": 1}", "a.b", 0, "{\"l\": []}"},
    {"leaf_array_reported_whole", "{\"a\": [1, 2]}", "a", 0, "{\"l\": [[[1, 2], -1]]}"},
    {"leaf_array_expanded_then_whole", "{\"a\": [1, [2]]}", "a", BSONU_PATH_EXPAND_LEAF_ARRAY,
     "{\"l\": [[1, 0], [[2], 1], [[1, [2]], -1]]}"},
    {"implicit_traversal", "{\"a\": [{\"b\": 1}, {\"b\": 2}, {\"c\": 3}, 4]}", "a.b", 0,
     "{\"l\": [[1, 0], [2, 1]]}"},
    {"first_array_index_kept", "{\"a\": [{\"b\": 0}, {\"b\": [{\"c\": 1}, {\"c\": 2}]}]}", "a.b.c",
     0, "{\"l\": [[1, 1], [2, 1]]}"},
    {"nested_arrays_not_traversed", "{\"a\": [[{\"b\": 1}]]}", "a.b", 0, "{\"l\": []}"},
    {"numeric_component_positional", "{\"a\": [{\"b\": 1}, {\"b\": 2}]}", "a.1.b", 0,
     "{\"l\": [[2, 1]]}"},
    {"numeric_component_also_field_of_elements", "{\"a\": [5, {\"0\": 7}]}", "a.0", 0,
     "{\"l\": [[5, 0], [7, 1]]}"},
    {"numeric_component_on_document_is_field", "{\"a\": {\"0\": {\"b\": 3}}}", "a.0.b", 0,
     "{\"l\": [[3, -1]]}"},
    {"positional_into_nested_array", "{\"a\": [[{\"b\": 1}]]}", "a.0.b", 0, "{\"l\": [[1, 0]]}"},
    {"leading_zero_not_positional", "{\"a\": [1, 2]}", "a.01", 0, "{\"l\": []}"},
    {"positional_out_of_range", "{\"a\": [1]}", "a.5", 0, "{\"l\": []}"},
    {"array_leaf_inside_traversal", "{\"a\": [{\"b\": [1, 2]}]}", "a.b", 0,
     "{\"l\": [[[1, 2], 0]]}"},
    {"empty_component_is_missing", "{\"a\": {\"\": 1}}", "a..b", 0, "{\"l\": []}"},
};

typedef struct collect {
    bson_t *arr;
    int n;
    bool saw_expansion_flag_mismatch;
} collect_t;

static int collect_leaf(void *ctx, const bsonu_path_leaf_t *leaf)
{
    collect_t *c = ctx;
    bson_t pair;
    char k[16];

    if (leaf->in_array != (leaf->array_index >= 0) ||
        leaf->is_array != BSON_ITER_HOLDS_ARRAY(&leaf->iter))
        c->saw_expansion_flag_mismatch = true;
    snprintf(k, sizeof(k), "%d", c->n++);
    bson_append_array_begin(c->arr, k, -1, &pair);
    bson_append_value(&pair, "0", 1, bson_iter_value((bson_iter_t *)&leaf->iter));
    bson_append_int32(&pair, "1", 1, leaf->array_index);
    bson_append_array_end(c->arr, &pair);
    return 0;
}

static void run_walk(void **state)
{
    const walk_case_t *c = *state;
    bson_t doc, want, got = BSON_INITIALIZER, arr;
    collect_t col = {&arr, 0, false};

    parse_doc(c->doc, &doc);
    parse_doc(c->want, &want);
    bson_append_array_begin(&got, "l", 1, &arr);
    assert_int_equal(bsonu_path_walk(&doc, c->path, c->flags, collect_leaf, &col), 0);
    bson_append_array_end(&got, &arr);
    assert_false(col.saw_expansion_flag_mismatch);
    if (bsonu_compare_doc(&got, &want) != 0) {
        char *j = bson_as_relaxed_extended_json(&got, NULL);
        fail_msg("%s: walk %s over %s gave %s, want %s", c->name, c->path, c->doc, j, c->want);
    }
    bson_destroy(&doc);
    bson_destroy(&want);
    bson_destroy(&got);
}

static int stop_at_second(void *ctx, const bsonu_path_leaf_t *leaf)
{
    int *n = ctx;
    (void)leaf;
    return ++*n == 2 ? 42 : 0;
}

static void test_walk_visitor_stops(void **state)
{
    bson_t doc;
    int n = 0;
    (void)state;
    parse_doc("{\"a\": [{\"b\": 1}, {\"b\": 2}, {\"b\": 3}]}", &doc);
    assert_int_equal(bsonu_path_walk(&doc, "a.b", 0, stop_at_second, &n), 42);
    assert_int_equal(n, 2);
    bson_destroy(&doc);
}

/* ---- get ---- */

typedef struct get_case {
    const char *name;
    const char *doc;
    const char *path;
    const char *want; /* {"v": value} or NULL when not found */
} get_case_t;

static const get_case_t get_cases[] = {
    {"nested", "{\"a\": {\"b\": 2}}", "a.b", "{\"v\": 2}"},
    {"positional", "{\"a\": [{\"b\": 1}, {\"b\": 2}]}", "a.1.b", "{\"v\": 2}"},
    {"leaf_array", "{\"a\": {\"b\": [1]}}", "a.b", "{\"v\": [1]}"},
    {"missing", "{\"a\": {\"b\": 2}}", "a.c", NULL},
    {"needs_traversal", "{\"a\": [{\"b\": 1}]}", "a.b", NULL},
    {"through_scalar", "{\"a\": 1}", "a.b", NULL},
};

static void run_get(void **state)
{
    const get_case_t *c = *state;
    bson_t doc, want;
    bson_iter_t it, wi;
    bool found;

    parse_doc(c->doc, &doc);
    found = bsonu_path_get(&doc, c->path, &it);
    assert_int_equal(found, c->want != NULL);
    if (c->want) {
        parse_doc(c->want, &want);
        assert_true(bson_iter_init_find(&wi, &want, "v"));
        assert_int_equal(bson_iter_type(&wi), bson_iter_type(&it));
        assert_int_equal(bsonu_compare_iter(&wi, &it), 0);
        bson_destroy(&want);
    }
    bson_destroy(&doc);
}

/* ---- index keys ---- */

typedef struct keys_case {
    const char *name;
    const char *pattern;
    const char *doc;
    const char *want;     /* {"k": [[v1, v2, ...], ...]} sorted, or NULL on error */
    uint32_t multikey[3]; /* multikey_paths of the first three fields */
    int error;            /* expected status code when want is NULL */
} keys_case_t;

static const keys_case_t keys_cases[] = {
    {"scalar", "{\"a\": 1}", "{\"a\": 5}", "{\"k\": [[5]]}", {0}, 0},
    {"missing_is_null", "{\"a\": 1, \"b\": 1}", "{\"a\": 5}", "{\"k\": [[5, null]]}", {0}, 0},
    {"array_one_key_per_element",
     "{\"a\": 1}",
     "{\"a\": [3, 1, 2]}",
     "{\"k\": [[1], [2], [3]]}",
     {1},
     0},
    {"duplicates_collapse", "{\"a\": 1}", "{\"a\": [1, 1.0, 1]}", "{\"k\": [[1]]}", {1}, 0},
    {"empty_array_is_undefined",
     "{\"a\": 1}",
     "{\"a\": []}",
     "{\"k\": [[{\"$undefined\": true}]]}",
     {1},
     0},
    {"empty_array_with_path_left_is_null",
     "{\"a.b\": 1}",
     "{\"a\": []}",
     "{\"k\": [[null]]}",
     {1},
     0},
    {"nested_array_stays_whole",
     "{\"a\": 1}",
     "{\"a\": [[2], 1]}",
     "{\"k\": [[1], [[2]]]}",
     {1},
     0},
    {"array_of_documents",
     "{\"a.b\": 1}",
     "{\"a\": [{\"b\": 1}, {\"c\": 1}, 7]}",
     "{\"k\": [[null], [1]]}",
     {1},
     0},
    {"arrays_at_two_levels",
     "{\"a.b\": 1}",
     "{\"a\": [{\"b\": [1, 2, 3]}, {\"b\": [2]}, {\"b\": [3, 1]}]}",
     "{\"k\": [[1], [2], [3]]}",
     {3},
     0},
    {"second_level_array_only",
     "{\"a.b.c\": 1}",
     "{\"a\": [1, 2, {\"b\": {\"c\": [3, 4]}}]}",
     "{\"k\": [[null], [3], [4]]}",
     {5},
     0},
    {"shared_array_expands_together",
     "{\"a.b\": 1, \"a.c\": 1}",
     "{\"a\": [{\"b\": 1, \"c\": 2}, {\"b\": 3, \"c\": 4}]}",
     "{\"k\": [[1, 2], [3, 4]]}",
     {1, 1},
     0},
    {"shared_array_compound_nested",
     "{\"a.b.c\": 1, \"a.b.d\": 1}",
     "{\"a\": [1, 2, {\"b\": {\"c\": [3, 4], \"d\": 5}}]}",
     "{\"k\": [[null, null], [3, 5], [4, 5]]}",
     {5, 1},
     0},
    {"array_and_its_subfield",
     "{\"a\": 1, \"a.b\": 1}",
     "{\"a\": [{\"b\": 1}]}",
     "{\"k\": [[{\"b\": 1}, 1]]}",
     {1, 1},
     0},
    {"positional_component", "{\"a.0\": 1}", "{\"a\": [1, 2]}", "{\"k\": [[1]]}", {0}, 0},
    {"positional_then_array", "{\"a.0\": 1}", "{\"a\": [[1, 2]]}", "{\"k\": [[1], [2]]}", {2}, 0},
    {"positional_into_empty_inner", "{\"a.0.0\": 1}", "{\"a\": [[]]}", "{\"k\": [[null]]}", {2}, 0},
    {"descending_values_unchanged", "{\"a\": -1}", "{\"a\": \"x\"}", "{\"k\": [[\"x\"]]}", {0}, 0},
    {"complex_nested_arrays",
     "{\"a.b.c.d\": 1, \"a.g\": 1, \"a.b.f\": 1, \"a.b.c\": 1, \"a.b.e\": 1}",
     "{\"a\": [1, {\"b\": [2, {\"c\": [3, {\"d\": 1}], \"e\": 4}, 5, {\"f\": 6}], \"g\": 7}]}",
     "{\"k\": [[null, null, null, null, null], [null, 7, null, null, null], "
     "[null, 7, null, 3, 4], [null, 7, 6, null, null], [1, 7, null, {\"d\": 1}, 4]]}",
     {7, 1, 3},
     0},
    {"parallel_arrays", "{\"a\": 1, \"b\": 1}", "{\"a\": [1, 2], \"b\": [3, 4]}", NULL, {0}, 171},
    {"parallel_empty_arrays", "{\"a\": 1, \"b\": 1}", "{\"a\": [], \"b\": []}", NULL, {0}, 171},
    {"parallel_nested",
     "{\"a.a\": 1, \"b.a\": 1}",
     "{\"a\": {\"a\": [1]}, \"b\": {\"a\": [1]}}",
     NULL,
     {0},
     171},
    {"parallel_inside_shared_array",
     "{\"a.b.c\": 1, \"a.b.d\": 1}",
     "{\"a\": [{\"b\": [{\"c\": [1, 2, 3], \"d\": []}]}]}",
     NULL,
     {0},
     171},
    {"empty_pattern", "{}", "{\"a\": 1}", NULL, {0}, ERR_CannotCreateIndex},
    {"bad_path", "{\"a..b\": 1}", "{\"a\": 1}", NULL, {0}, ERR_CannotCreateIndex},
};

static void run_keys(void **state)
{
    const keys_case_t *c = *state;
    bson_t pattern, doc;
    bsonu_index_keys_t k;
    status_t st = STATUS_INIT;
    int ret;

    parse_doc(c->pattern, &pattern);
    parse_doc(c->doc, &doc);
    bsonu_index_keys_init(&k);
    ret = bsonu_index_keys_get(&pattern, &doc, &k, &st);
    if (c->want == NULL) {
        assert_int_equal(ret, c->error);
        assert_int_equal(st.code, c->error);
        assert_int_equal(k.n, 0);
    } else {
        bson_t want, got = BSON_INITIALIZER, arr;
        char idx[16];
        if (ret != 0)
            fail_msg("%s: error %d %s", c->name, ret, st.msg);
        parse_doc(c->want, &want);
        bson_append_array_begin(&got, "k", 1, &arr);
        for (size_t i = 0; i < k.n; i++) {
            bson_t one;
            bson_iter_t ki;
            uint32_t j = 0;
            snprintf(idx, sizeof(idx), "%zu", i);
            /* Keys have empty field names: re-index them as an array to compare. */
            bson_append_array_begin(&arr, idx, -1, &one);
            assert_true(bson_iter_init(&ki, &k.keys[i]));
            while (bson_iter_next(&ki)) {
                char jk[16];
                snprintf(jk, sizeof(jk), "%u", j++);
                bson_append_value(&one, jk, -1, bson_iter_value(&ki));
            }
            bson_append_array_end(&arr, &one);
            if (i > 0)
                assert_true(bsonu_compare_doc(&k.keys[i - 1], &k.keys[i]) < 0);
        }
        bson_append_array_end(&got, &arr);
        if (bsonu_compare_doc(&got, &want) != 0) {
            char *j = bson_as_relaxed_extended_json(&got, NULL);
            fail_msg("%s: keys %s, want %s", c->name, j, c->want);
        }
        for (size_t f = 0; f < 3 && f < k.nfields; f++)
            if (k.multikey_paths[f] != c->multikey[f])
                fail_msg("%s: field %zu multikey paths %#x, want %#x", c->name, f,
                         k.multikey_paths[f], c->multikey[f]);
        assert_int_equal(k.multikey, c->multikey[0] || c->multikey[1] || c->multikey[2]);
        bson_destroy(&want);
        bson_destroy(&got);
    }
    if (c->error == 171)
        assert_non_null(strstr(st.msg, "cannot index parallel arrays ["));
    bsonu_index_keys_destroy(&k);
    bsonu_index_keys_destroy(&k); /* idempotent */
    bson_destroy(&pattern);
    bson_destroy(&doc);
}

static void test_keys_parallel_message_names_fields(void **state)
{
    bson_t *pattern = BCON_NEW("a", BCON_INT32(1), "b", BCON_INT32(1));
    bson_t *doc = BCON_NEW("a", "[", BCON_INT32(1), "]", "b", "[", BCON_INT32(2), "]");
    bsonu_index_keys_t k;
    status_t st = STATUS_INIT;
    (void)state;
    bsonu_index_keys_init(&k);
    assert_int_equal(bsonu_index_keys_get(pattern, doc, &k, &st), ERR_CannotIndexParallelArrays);
    assert_string_equal(st.msg, "cannot index parallel arrays [b] [a]");
    bsonu_index_keys_destroy(&k);
    bson_destroy(pattern);
    bson_destroy(doc);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]) };
    enum { NW = sizeof(walk_cases) / sizeof(walk_cases[0]) };
    enum { NG = sizeof(get_cases) / sizeof(get_cases[0]) };
    enum { NK = sizeof(keys_cases) / sizeof(keys_cases[0]) };
    struct CMUnitTest tests[NW + NG + NK + NFIXED];
    size_t n = 0;

    for (size_t i = 0; i < NW; i++)
        tests[n++] =
            (struct CMUnitTest){walk_cases[i].name, run_walk, NULL, NULL, (void *)&walk_cases[i]};
    for (size_t i = 0; i < NG; i++)
        tests[n++] =
            (struct CMUnitTest){get_cases[i].name, run_get, NULL, NULL, (void *)&get_cases[i]};
    for (size_t i = 0; i < NK; i++)
        tests[n++] =
            (struct CMUnitTest){keys_cases[i].name, run_keys, NULL, NULL, (void *)&keys_cases[i]};
    for (size_t i = 0; i < NFIXED; i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("path", tests, n, NULL, NULL);
}
