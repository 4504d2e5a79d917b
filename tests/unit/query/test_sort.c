/*
 * test_sort.c -- table-driven tests of sort specs, sort keys, the document
 * comparator and top-k (query/sort.c), from MongoDB's documented sort order:
 * canonical type order, arrays by their smallest (ascending) or largest
 * (descending) element, missing fields as null. JSON uses single quotes.
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

/* Comparator cases: sign of compare(a, b) under spec. */
typedef struct ccase {
    const char *name;
    const char *spec;
    const char *a;
    const char *b;
    int sign;
} ccase_t;

static const ccase_t cmp_cases[] = {
    {"asc_numbers", "{'x': 1}", "{'x': 1}", "{'x': 2}", -1},
    {"desc_numbers", "{'x': -1}", "{'x': 1}", "{'x': 2}", 1},
    {"numbers_across_types_equal", "{'x': 1}", "{'x': 2}", "{'x': 2.0}", 0},
    {"long_vs_double", "{'x': 1}", "{'x': {'$numberLong': '3'}}", "{'x': 2.5}", 1},
    {"missing_equals_null", "{'x': 1}", "{}", "{'x': null}", 0},
    {"missing_before_numbers", "{'x': 1}", "{}", "{'x': 0}", -1},
    {"missing_after_numbers_descending", "{'x': -1}", "{}", "{'x': 0}", 1},
    {"numbers_before_strings", "{'x': 1}", "{'x': 5}", "{'x': 'a'}", -1},
    {"strings_bytewise", "{'x': 1}", "{'x': 'B'}", "{'x': 'a'}", -1},
    {"strings_before_objects", "{'x': 1}", "{'x': 'z'}", "{'x': {'a': 1}}", -1},
    {"objects_before_bool", "{'x': 1}", "{'x': {'a': 1}}", "{'x': true}", -1},
    {"false_before_true", "{'x': 1}", "{'x': false}", "{'x': true}", -1},
    {"bool_before_date", "{'x': 1}", "{'x': true}", "{'x': {'$date': 0}}", -1},
    {"minkey_first", "{'x': 1}", "{'x': {'$minKey': 1}}", "{'x': null}", -1},
    {"maxkey_last", "{'x': 1}", "{'x': {'$maxKey': 1}}", "{'x': {'$date': 0}}", 1},
    {"array_ascending_uses_min", "{'x': 1}", "{'x': [5, 1]}", "{'x': 2}", -1},
    {"array_descending_uses_max", "{'x': -1}", "{'x': [5, 1]}", "{'x': 4}", -1},
    {"array_ascending_min_vs_array", "{'x': 1}", "{'x': [3, 9]}", "{'x': [4, 0]}", 1},
    {"array_descending_max_vs_array", "{'x': -1}", "{'x': [3, 9]}", "{'x': [8, 0]}", -1},
    {"empty_array_before_null", "{'x': 1}", "{'x': []}", "{'x': null}", -1},
    {"array_mixed_types_min", "{'x': 1}", "{'x': ['a', 2]}", "{'x': 3}", -1},
    {"nested_array_is_a_value", "{'x': 1}", "{'x': [[1], 5]}", "{'x': 4}", 1},
    {"dotted_path", "{'a.b': 1}", "{'a': {'b': 2}}", "{'a': {'b': 1}}", 1},
    {"dotted_path_through_array", "{'a.b': 1}", "{'a': [{'b': 7}, {'b': 0}]}", "{'a': {'b': 1}}",
     -1},
    {"dotted_path_through_array_desc", "{'a.b': -1}", "{'a': [{'b': 7}, {'b': 0}]}",
     "{'a': {'b': 1}}", -1},
    {"dotted_missing_in_some_elements", "{'a.b': 1}", "{'a': [{'c': 1}, {'b': 5}]}",
     "{'a': {'b': 1}}", 1},
    {"compound_first_decides", "{'x': 1, 'y': -1}", "{'x': 1, 'y': 1}", "{'x': 2, 'y': 9}", -1},
    {"compound_tie_second_desc", "{'x': 1, 'y': -1}", "{'x': 1, 'y': 1}", "{'x': 1, 'y': 9}", 1},
    {"compound_full_tie", "{'x': 1, 'y': 1}", "{'x': 1, 'y': 1}", "{'x': 1.0, 'y': 1}", 0},
    {"empty_spec_all_equal", "{}", "{'x': 1}", "{'x': 2}", 0},
    {"objects_fieldwise", "{'x': 1}", "{'x': {'a': 1, 'b': 2}}", "{'x': {'a': 1, 'c': 0}}", -1},
};

static int sign(int x)
{
    return x < 0 ? -1 : x > 0 ? 1 : 0;
}

static void test_compare_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cmp_cases / sizeof cmp_cases[0]; i++) {
        const ccase_t *c = &cmp_cases[i];
        bson_t *spec = J(c->spec), *a = J(c->a), *b = J(c->b);
        qry_sort_t *s = NULL;
        status_t st = STATUS_INIT;
        if (qry_sort_parse(spec, &s, &st) != 0) {
            CASE_FAIL("case '%s': parse error %s", c->name, st.msg);
        } else {
            int got = sign(qry_sort_compare(s, a, b));
            int rev = sign(qry_sort_compare(s, b, a));
            if (got != c->sign || rev != -c->sign)
                CASE_FAIL("case '%s': compare = %d (reverse %d), want %d", c->name, got, rev,
                          c->sign);
            /* keys compare the same way as documents */
            bson_t ka, kb;
            qry_sort_key(s, a, &ka, &st);
            qry_sort_key(s, b, &kb, &st);
            if (sign(qry_sort_compare_keys(s, &ka, &kb)) != c->sign)
                CASE_FAIL("case '%s': key compare differs", c->name);
            bson_destroy(&ka);
            bson_destroy(&kb);
        }
        qry_sort_destroy(s);
        bson_destroy(spec);
        bson_destroy(a);
        bson_destroy(b);
    }
    assert_int_equal(failures, 0);
}

/* Spec parse errors. */
typedef struct ecase {
    const char *name;
    const char *spec;
    int code;
} ecase_t;

static const ecase_t err_cases[] = {
    {"order_two", "{'x': 2}", 15975},
    {"order_zero", "{'x': 0}", 15975},
    {"order_string", "{'x': 'asc'}", 15974},
    {"order_bool", "{'x': true}", 15974},
    {"empty_field_name", "{'': 1}", 40352},
    {"dollar_field_name", "{'$x': 1}", 16410},
    {"empty_component", "{'a..b': 1}", 15998},
    {"object_not_meta", "{'x': {'a': 1}}", 17312},
    {"meta_unknown", "{'x': {'$meta': 'foo'}}", 31138},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        bson_t *spec = J(err_cases[i].spec);
        qry_sort_t *s = NULL;
        status_t st = STATUS_INIT;
        int rc = qry_sort_parse(spec, &s, &st);
        if (rc == 0)
            CASE_FAIL("case '%s': parsed", err_cases[i].name);
        else if (st.code != err_cases[i].code)
            CASE_FAIL("case '%s': code %d (%s), want %d", err_cases[i].name, st.code, st.msg,
                      err_cases[i].code);
        assert_null(s);
        bson_destroy(spec);
    }
    assert_int_equal(failures, 0);
}

static void test_accepts_numeric_orders(void **state)
{
    (void)state;
    const char *specs[] = {"{'a': 1, 'b': -1}", "{'a': 1.0}", "{'a': {'$numberLong': '-1'}}",
                           "{'s': {'$meta': 'textScore'}}"};
    for (size_t i = 0; i < 4; i++) {
        bson_t *spec = J(specs[i]);
        qry_sort_t *s = NULL;
        status_t st = STATUS_INIT;
        assert_int_equal(qry_sort_parse(spec, &s, &st), 0);
        assert_non_null(s);
        qry_sort_destroy(s);
        bson_destroy(spec);
    }
}

static void test_key_shape(void **state)
{
    (void)state;
    bson_t *spec = J("{'a': 1, 'b': -1, 'c': 1}");
    bson_t *doc = J("{'a': [3, 1, 2], 'b': [3, 1, 2]}");
    bson_t *want = J("{'': 1, '': 3, '': null}");
    qry_sort_t *s = NULL;
    status_t st = STATUS_INIT;
    bson_t key;
    assert_int_equal(qry_sort_parse(spec, &s, &st), 0);
    assert_int_equal(qry_sort_nparts(s), 3);
    assert_int_equal(qry_sort_key(s, doc, &key, &st), 0);
    assert_true(bson_equal(&key, want));
    bson_destroy(&key);
    bson_destroy(want);
    bson_destroy(doc);
    bson_destroy(spec);
    qry_sort_destroy(s);
}

static void test_topk_keeps_smallest_in_order(void **state)
{
    (void)state;
    bson_t *spec = J("{'x': 1}");
    qry_sort_t *s = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_sort_parse(spec, &s, &st), 0);
    qry_topk_t *tk = qry_topk_new(s, 3);
    int vals[] = {9, 4, 7, 1, 8, 3, 3, 6, 2, 5};
    for (size_t i = 0; i < 10; i++) {
        bson_t d = BSON_INITIALIZER;
        BSON_APPEND_INT32(&d, "x", vals[i]);
        BSON_APPEND_INT32(&d, "i", (int32_t)i);
        assert_int_equal(qry_topk_push(tk, &d, &st), 0);
        bson_destroy(&d);
    }
    assert_int_equal(qry_topk_count(tk), 3);
    bson_t **docs;
    size_t n;
    qry_topk_finish(tk, &docs, &n);
    assert_int_equal(n, 3);
    int want_x[] = {1, 2, 3};
    for (size_t i = 0; i < n; i++) {
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, docs[i], "x"));
        assert_int_equal(bson_iter_int32(&it), want_x[i]);
    }
    assert_int_equal(qry_topk_count(tk), 0);
    qry_topk_free_docs(docs, n);
    qry_topk_destroy(tk);
    qry_sort_destroy(s);
    bson_destroy(spec);
}

static void test_topk_ties_keep_arrival_order(void **state)
{
    (void)state;
    bson_t *spec = J("{'x': -1}");
    qry_sort_t *s = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_sort_parse(spec, &s, &st), 0);
    qry_topk_t *tk = qry_topk_new(s, 4);
    for (int i = 0; i < 8; i++) {
        bson_t d = BSON_INITIALIZER;
        BSON_APPEND_INT32(&d, "x", i % 2);
        BSON_APPEND_INT32(&d, "i", i);
        assert_int_equal(qry_topk_push(tk, &d, &st), 0);
        bson_destroy(&d);
    }
    bson_t **docs;
    size_t n;
    qry_topk_finish(tk, &docs, &n);
    assert_int_equal(n, 4);
    int want_i[] = {1, 3, 5, 7};
    for (size_t i = 0; i < n; i++) {
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, docs[i], "i"));
        assert_int_equal(bson_iter_int32(&it), want_i[i]);
    }
    qry_topk_free_docs(docs, n);
    qry_topk_destroy(tk);
    qry_sort_destroy(s);
    bson_destroy(spec);
}

static void test_topk_fewer_than_k(void **state)
{
    (void)state;
    bson_t *spec = J("{'x': 1}");
    qry_sort_t *s = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_sort_parse(spec, &s, &st), 0);
    qry_topk_t *tk = qry_topk_new(s, 100);
    for (int i = 3; i > 0; i--) {
        bson_t d = BSON_INITIALIZER;
        BSON_APPEND_INT32(&d, "x", i);
        assert_int_equal(qry_topk_push(tk, &d, &st), 0);
        bson_destroy(&d);
    }
    bson_t **docs;
    size_t n;
    qry_topk_finish(tk, &docs, &n);
    assert_int_equal(n, 3);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, docs[0], "x"));
    assert_int_equal(bson_iter_int32(&it), 1);
    qry_topk_free_docs(docs, n);
    qry_topk_destroy(tk);
    qry_sort_destroy(s);
    bson_destroy(spec);
}

/* meta_by_field -- a $meta callback reading the score from the document's "sc". */
static int meta_by_field(void *arg, const char *name, const bson_t *doc, bson_value_t *out,
                         status_t *st)
{
    (void)arg;
    (void)name;
    (void)st;
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "sc"))
        bson_value_copy(bson_iter_value(&it), out);
    else
        out->value_type = BSON_TYPE_NULL;
    return 0;
}

static void test_meta_sorts_descending(void **state)
{
    (void)state;
    bson_t *spec = J("{'s': {'$meta': 'textScore'}}");
    bson_t *a = J("{'sc': 2.0}"), *b = J("{'sc': 1.0}");
    qry_sort_t *s = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_sort_parse(spec, &s, &st), 0);
    qry_sort_set_meta(s, meta_by_field, NULL);
    assert_true(qry_sort_compare(s, a, b) < 0);
    qry_sort_destroy(s);
    bson_destroy(spec);
    bson_destroy(a);
    bson_destroy(b);
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
