/*
 * test_hash.c -- bsonu_hash_*: values that compare equal hash equal (numbers
 * of every type, -0, NaN, string/symbol, nested documents and arrays), and a
 * few unequal values that must not collide in practice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "common/common.h"

typedef struct hash_case {
    const char *name;
    const char *a; /* extended JSON */
    const char *b;
    bool equal; /* expected: equal values (same hash) or distinct (different hash) */
} hash_case_t;

static const hash_case_t cases[] = {
    {"int_long", "1", "{\"$numberLong\": \"1\"}", true},
    {"int_double", "1", "1.0", true},
    {"int_decimal_trailing_zeros", "1", "{\"$numberDecimal\": \"1.00\"}", true},
    {"decimal_exponent_forms", "{\"$numberDecimal\": \"1E2\"}", "{\"$numberDecimal\": \"100\"}",
     true},
    {"neg_zero", "{\"$numberDouble\": \"-0.0\"}", "{\"$numberDecimal\": \"-0E-3\"}", true},
    {"nan_double_decimal", "{\"$numberDouble\": \"NaN\"}", "{\"$numberDecimal\": \"-NaN\"}", true},
    {"half_double_decimal", "0.5", "{\"$numberDecimal\": \"0.500\"}", true},
    {"big_long_decimal", "{\"$numberLong\": \"9007199254740993\"}",
     "{\"$numberDecimal\": \"9007199254740993\"}", true},
    {"inf_double_decimal", "{\"$numberDouble\": \"Infinity\"}", "{\"$numberDecimal\": \"Inf\"}",
     true},
    {"symbol_string", "{\"$symbol\": \"abc\"}", "\"abc\"", true},
    {"nested_doc_numbers", "{\"a\": [1, {\"b\": 2.0}]}",
     "{\"a\": [{\"$numberLong\": \"1\"}, {\"b\": {\"$numberDecimal\": \"2\"}}]}", true},
    {"array_numbers", "[1, 2, 3]", "[1.0, {\"$numberLong\": \"2\"}, 3]", true},
    {"null_null", "null", "null", true},
    {"one_two", "1", "2", false},
    {"string_differs", "\"abc\"", "\"abd\"", false},
    {"null_undefined", "null", "{\"$undefined\": true}", false},
    {"int_string", "1", "\"1\"", false},
    {"doc_field_order", "{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"a\": 1}", false},
    {"doc_name", "{\"a\": 1}", "{\"b\": 1}", false},
    {"array_vs_doc", "[1]", "{\"0\": 1}", false},
    {"array_order", "[1, 2]", "[2, 1]", false},
    {"false_true", "false", "true", false},
    {"bindata_subtype", "{\"$binary\": {\"base64\": \"AA==\", \"subType\": \"00\"}}",
     "{\"$binary\": {\"base64\": \"AA==\", \"subType\": \"04\"}}", false},
};

static void parse_value(const char *json, bson_t *doc, bson_iter_t *it)
{
    char buf[1024];
    bson_error_t err;

    snprintf(buf, sizeof(buf), "{\"v\": %s}", json);
    if (!bson_init_from_json(doc, buf, -1, &err))
        fail_msg("bad test JSON %s: %s", buf, err.message);
    assert_true(bson_iter_init_find(it, doc, "v"));
}

static void run_case(void **state)
{
    const hash_case_t *c = *state;
    bson_t da, db;
    bson_iter_t ia, ib;

    parse_value(c->a, &da, &ia);
    parse_value(c->b, &db, &ib);
    /* The table must agree with the comparator, or it tests nothing. */
    assert_int_equal(bsonu_equal_iter(&ia, &ib), c->equal);
    for (uint64_t seed = 0; seed < 3; seed++) {
        uint64_t ha = bsonu_hash_iter(&ia, seed), hb = bsonu_hash_iter(&ib, seed);
        if ((ha == hb) != c->equal)
            fail_msg("%s: hash(%s)=%016llx hash(%s)=%016llx seed %llu", c->name, c->a,
                     (unsigned long long)ha, c->b, (unsigned long long)hb,
                     (unsigned long long)seed);
        /* The wrappers {"v": a} and {"v": b} behave the same way. */
        assert_int_equal(bsonu_hash_doc(&da, seed) == bsonu_hash_doc(&db, seed), c->equal);
    }
    bson_destroy(&da);
    bson_destroy(&db);
}

static void test_seed_changes_hash(void **state)
{
    bson_t *d = BCON_NEW("a", BCON_INT32(1));
    (void)state;
    assert_true(bsonu_hash_doc(d, 1) != bsonu_hash_doc(d, 2));
    bson_destroy(d);
}

static void test_small_ints_spread(void **state)
{
    /* 10,000 distinct ints: a well-mixed 64-bit hash has no collisions here. */
    enum { N = 10000 };
    static uint64_t h[N];
    (void)state;
    for (int i = 0; i < N; i++) {
        bson_value_t v = {.value_type = BSON_TYPE_INT32};
        v.value.v_int32 = i;
        h[i] = bsonu_hash_value(&v, 0);
        for (int j = 0; j < i; j += 97)
            assert_true(h[i] != h[j]);
    }
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]) };
    struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + NFIXED];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        tests[n++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
    for (size_t i = 0; i < NFIXED; i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("hash", tests, n, NULL, NULL);
}
