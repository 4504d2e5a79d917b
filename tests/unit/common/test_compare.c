/*
 * test_compare.c -- bsonu_ comparison: MongoDB's canonical type order, exact
 * numeric comparison across int32/int64/double/decimal128, strings, documents,
 * arrays and every other type; the canonical number form.
 *
 * Each case holds two values in extended JSON ({"v": ...}) and the expected
 * sign of compare(a, b); every case is also checked reversed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "common/common.h"

typedef struct cmp_case {
    const char *name;
    const char *a; /* extended JSON value */
    const char *b;
    int sign; /* expected sign of compare(a, b) */
} cmp_case_t;

static const cmp_case_t cases[] = {
    /* Canonical type order: one case per adjacent rank pair. */
    {"minkey_lt_undefined", "{\"$minKey\": 1}", "{\"$undefined\": true}", -1},
    {"undefined_lt_null", "{\"$undefined\": true}", "null", -1},
    {"null_lt_number", "null", "{\"$numberDouble\": \"-Infinity\"}", -1},
    {"nan_gt_null", "{\"$numberDouble\": \"NaN\"}", "null", 1},
    {"number_lt_string", "{\"$numberDecimal\": \"Infinity\"}", "\"\"", -1},
    {"string_lt_object", "\"zzz\"", "{}", -1},
    {"object_lt_array", "{\"a\": {\"$maxKey\": 1}}", "[]", -1},
    {"array_lt_bindata", "[{\"$maxKey\": 1}]",
     "{\"$binary\": {\"base64\": \"\", \"subType\": \"00\"}}", -1},
    {"bindata_lt_oid", "{\"$binary\": {\"base64\": \"////\", \"subType\": \"80\"}}",
     "{\"$oid\": \"000000000000000000000000\"}", -1},
    {"oid_lt_bool", "{\"$oid\": \"ffffffffffffffffffffffff\"}", "false", -1},
    {"bool_lt_date", "true", "{\"$date\": {\"$numberLong\": \"-9223372036854775808\"}}", -1},
    {"date_lt_timestamp", "{\"$date\": {\"$numberLong\": \"9223372036854775807\"}}",
     "{\"$timestamp\": {\"t\": 0, \"i\": 0}}", -1},
    {"timestamp_lt_regex", "{\"$timestamp\": {\"t\": 4294967295, \"i\": 4294967295}}",
     "{\"$regularExpression\": {\"pattern\": \"\", \"options\": \"\"}}", -1},
    {"regex_lt_dbpointer", "{\"$regularExpression\": {\"pattern\": \"zz\", \"options\": \"x\"}}",
     "{\"$dbPointer\": {\"$ref\": \"a\", \"$id\": {\"$oid\": \"000000000000000000000000\"}}}", -1},
    {"dbpointer_lt_code",
     "{\"$dbPointer\": {\"$ref\": \"zzz\", \"$id\": {\"$oid\": \"ffffffffffffffffffffffff\"}}}",
     "{\"$code\": \"\"}", -1},
    {"code_lt_codewscope", "{\"$code\": \"zzz\"}", "{\"$code\": \"\", \"$scope\": {}}", -1},
    {"codewscope_lt_maxkey", "{\"$code\": \"zzz\", \"$scope\": {\"a\": 1}}", "{\"$maxKey\": 1}",
     -1},
    {"minkey_eq_minkey", "{\"$minKey\": 1}", "{\"$minKey\": 1}", 0},
    {"null_eq_null", "null", "null", 0},
    /* Numbers by value across types. */
    {"int_eq_double", "1", "1.0", 0},
    {"int_eq_long", "1", "{\"$numberLong\": \"1\"}", 0},
    {"int_eq_decimal_trailing_zeros", "1", "{\"$numberDecimal\": \"1.00\"}", 0},
    {"decimal_exponents_equal", "{\"$numberDecimal\": \"100\"}", "{\"$numberDecimal\": \"1E2\"}",
     0},
    {"neg_zero_eq_zero", "{\"$numberDouble\": \"-0.0\"}", "0", 0},
    {"decimal_neg_zero_eq_zero", "{\"$numberDecimal\": \"-0E+10\"}", "0.0", 0},
    {"nan_eq_nan", "{\"$numberDouble\": \"NaN\"}", "{\"$numberDouble\": \"NaN\"}", 0},
    {"double_nan_eq_decimal_nan", "{\"$numberDouble\": \"NaN\"}", "{\"$numberDecimal\": \"NaN\"}",
     0},
    {"nan_lt_neg_inf", "{\"$numberDouble\": \"NaN\"}", "{\"$numberDouble\": \"-Infinity\"}", -1},
    {"decimal_nan_lt_int", "{\"$numberDecimal\": \"-NaN\"}", "{\"$numberLong\": \"-5\"}", -1},
    {"neg_inf_lt_min_long", "{\"$numberDouble\": \"-Infinity\"}",
     "{\"$numberLong\": \"-9223372036854775808\"}", -1},
    {"inf_double_eq_inf_decimal", "{\"$numberDouble\": \"Infinity\"}",
     "{\"$numberDecimal\": \"Infinity\"}", 0},
    {"max_long_lt_2p63_double", "{\"$numberLong\": \"9223372036854775807\"}",
     "9223372036854775808.0", -1},
    {"long_2p53_plus1_gt_double_2p53", "{\"$numberLong\": \"9007199254740993\"}",
     "9007199254740992.0", 1},
    {"long_2p53_plus1_lt_double_2p53_plus2", "{\"$numberLong\": \"9007199254740993\"}",
     "9007199254740994.0", -1},
    {"min_long_eq_neg_2p63_double", "{\"$numberLong\": \"-9223372036854775808\"}",
     "-9223372036854775808.0", 0},
    {"int_lt_fraction", "2", "2.5", -1},
    {"neg_fraction_lt_int", "-2.5", "-2", -1},
    {"decimal_point_one_gt_double_point_one_is_false", "{\"$numberDecimal\": \"0.1\"}", "0.1", -1},
    {"decimal_exact_double_eq", "{\"$numberDecimal\": \"0.5\"}", "0.5", 0},
    {"decimal_34_digits", "{\"$numberDecimal\": \"1234567890123456789012345678901234\"}",
     "{\"$numberDecimal\": \"1234567890123456789012345678901235\"}", -1},
    {"decimal_vs_long_beyond_double", "{\"$numberDecimal\": \"9007199254740993\"}",
     "{\"$numberLong\": \"9007199254740993\"}", 0},
    {"decimal_tiny_gt_zero", "{\"$numberDecimal\": \"1E-6176\"}", "0", 1},
    {"decimal_huge_lt_inf", "{\"$numberDecimal\": \"9.999999999999999999999999999999999E+6144\"}",
     "{\"$numberDouble\": \"Infinity\"}", -1},
    {"decimal_huge_gt_max_double", "{\"$numberDecimal\": \"1E+400\"}", "1.7976931348623157e308", 1},
    {"denormal_gt_zero", "5e-324", "{\"$numberDecimal\": \"0\"}", 1},
    {"denormal_lt_decimal", "5e-324", "{\"$numberDecimal\": \"5E-324\"}", -1},
    {"negative_decimals", "{\"$numberDecimal\": \"-1.5\"}", "{\"$numberDecimal\": \"-1.25\"}", -1},
    /* Strings: bytes, then length. */
    {"string_prefix_first", "\"ab\"", "\"abc\"", -1},
    {"string_bytes", "\"abd\"", "\"abc\"", 1},
    {"string_case_bytes", "\"B\"", "\"a\"", -1},
    {"string_nul_after_prefix", "\"a\"", "\"a\\u0000\"", -1},
    {"string_nul_lt_one", "\"a\\u0000\"", "\"a\\u0001\"", -1},
    {"string_utf8_bytes", "\"\\u00e9\"", "\"z\"", 1},
    {"symbol_eq_string", "{\"$symbol\": \"abc\"}", "\"abc\"", 0},
    /* Documents: element type rank, then name, then value; shorter first. */
    {"doc_empty_lt_nonempty", "{}", "{\"a\": {\"$minKey\": 1}}", -1},
    {"doc_type_before_name", "{\"b\": 1}", "{\"a\": \"x\"}", -1},
    {"doc_name_before_value", "{\"a\": 2}", "{\"b\": 1}", -1},
    {"doc_value", "{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 3}", -1},
    {"doc_numeric_value_equal", "{\"a\": 1}", "{\"a\": 1.0}", 0},
    {"doc_field_order_matters", "{\"a\": 1, \"b\": 1}", "{\"b\": 1, \"a\": 1}", -1},
    {"doc_nested", "{\"a\": {\"b\": [1, 2]}}", "{\"a\": {\"b\": [1, 3]}}", -1},
    /* Arrays element by element. */
    {"array_prefix_first", "[1, 2]", "[1, 2, 0]", -1},
    {"array_element_order", "[2]", "[1, 5]", 1},
    {"array_numeric_equal", "[1, {\"$numberLong\": \"2\"}]", "[1.0, 2.0]", 0},
    {"array_type_rank", "[\"a\"]", "[{}]", -1},
    /* Other types. */
    {"bindata_length_first", "{\"$binary\": {\"base64\": \"/w==\", \"subType\": \"00\"}}",
     "{\"$binary\": {\"base64\": \"AAA=\", \"subType\": \"00\"}}", -1},
    {"bindata_subtype_second", "{\"$binary\": {\"base64\": \"/w==\", \"subType\": \"00\"}}",
     "{\"$binary\": {\"base64\": \"AA==\", \"subType\": \"04\"}}", -1},
    {"bindata_bytes_last", "{\"$binary\": {\"base64\": \"AQ==\", \"subType\": \"00\"}}",
     "{\"$binary\": {\"base64\": \"Ag==\", \"subType\": \"00\"}}", -1},
    {"oid_bytes", "{\"$oid\": \"000000000000000000000001\"}",
     "{\"$oid\": \"000000000000000000000002\"}", -1},
    {"false_lt_true", "false", "true", -1},
    {"date_signed", "{\"$date\": {\"$numberLong\": \"-1\"}}",
     "{\"$date\": {\"$numberLong\": \"1\"}}", -1},
    {"timestamp_unsigned_seconds", "{\"$timestamp\": {\"t\": 1, \"i\": 4294967295}}",
     "{\"$timestamp\": {\"t\": 4294967295, \"i\": 0}}", -1},
    {"timestamp_increment", "{\"$timestamp\": {\"t\": 5, \"i\": 2}}",
     "{\"$timestamp\": {\"t\": 5, \"i\": 1}}", 1},
    {"regex_pattern_first", "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"x\"}}",
     "{\"$regularExpression\": {\"pattern\": \"b\", \"options\": \"\"}}", -1},
    {"regex_flags_second", "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"i\"}}",
     "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"m\"}}", -1},
    {"dbpointer_name_length_first",
     "{\"$dbPointer\": {\"$ref\": \"zz\", \"$id\": {\"$oid\": \"000000000000000000000000\"}}}",
     "{\"$dbPointer\": {\"$ref\": \"aaa\", \"$id\": {\"$oid\": \"000000000000000000000000\"}}}",
     -1},
    {"dbpointer_oid_last",
     "{\"$dbPointer\": {\"$ref\": \"a\", \"$id\": {\"$oid\": \"000000000000000000000001\"}}}",
     "{\"$dbPointer\": {\"$ref\": \"a\", \"$id\": {\"$oid\": \"000000000000000000000000\"}}}", 1},
    {"code_bytes", "{\"$code\": \"a\"}", "{\"$code\": \"b\"}", -1},
    {"codewscope_code_first", "{\"$code\": \"a\", \"$scope\": {\"z\": 1}}",
     "{\"$code\": \"b\", \"$scope\": {}}", -1},
    {"codewscope_scope_second", "{\"$code\": \"a\", \"$scope\": {\"x\": 1}}",
     "{\"$code\": \"a\", \"$scope\": {\"x\": 2}}", -1},
};

/* parse_value -- {"v": json} into doc, positioned at v. */
static void parse_value(const char *json, bson_t *doc, bson_iter_t *it)
{
    char buf[1024];
    bson_error_t err;

    snprintf(buf, sizeof(buf), "{\"v\": %s}", json);
    if (!bson_init_from_json(doc, buf, -1, &err))
        fail_msg("bad test JSON %s: %s", buf, err.message);
    assert_true(bson_iter_init_find(it, doc, "v"));
}

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

static void run_case(void **state)
{
    const cmp_case_t *c = *state;
    bson_t da, db;
    bson_iter_t ia, ib;

    parse_value(c->a, &da, &ia);
    parse_value(c->b, &db, &ib);
    if (sign(bsonu_compare_iter(&ia, &ib)) != c->sign ||
        sign(bsonu_compare_iter(&ib, &ia)) != -c->sign)
        fail_msg("%s: compare(%s, %s) = %d, expected %d", c->name, c->a, c->b,
                 bsonu_compare_iter(&ia, &ib), c->sign);
    assert_int_equal(bsonu_equal_iter(&ia, &ib), c->sign == 0);
    /* The document wrappers {"v": a} and {"v": b} order as their values. */
    assert_int_equal(sign(bsonu_compare_doc(&da, &db)), c->sign);
    assert_int_equal(sign(bsonu_compare_element(&ia, &ib)), c->sign);
    bson_destroy(&da);
    bson_destroy(&db);
}

static void test_canonical_type_table(void **state)
{
    (void)state;
    assert_int_equal(bsonu_canonical_type(BSON_TYPE_UNDEFINED), BSONU_CANON_UNDEFINED);
    assert_int_equal(bsonu_canonical_type(BSON_TYPE_EOD), BSONU_CANON_UNDEFINED);
    assert_int_equal(bsonu_canonical_type(BSON_TYPE_SYMBOL), BSONU_CANON_STRING);
    assert_int_equal(bsonu_canonical_type(BSON_TYPE_DECIMAL128), BSONU_CANON_NUMBER);
    assert_int_equal(bsonu_canonical_type(BSON_TYPE_INT32), BSONU_CANON_NUMBER);
    assert_true(bsonu_is_number(BSON_TYPE_INT64));
    assert_false(bsonu_is_number(BSON_TYPE_BOOL));
}

static void test_element_name_breaks_tie(void **state)
{
    bson_t *a = BCON_NEW("a", BCON_INT32(1)), *b = BCON_NEW("b", BCON_INT32(1));
    bson_iter_t ia, ib;
    (void)state;
    assert_true(bson_iter_init_find(&ia, a, "a"));
    assert_true(bson_iter_init_find(&ib, b, "b"));
    assert_int_equal(bsonu_compare_iter(&ia, &ib), 0);
    assert_true(bsonu_compare_element(&ia, &ib) < 0);
    bson_destroy(a);
    bson_destroy(b);
}

typedef struct num_case {
    const char *json;
    bsonu_num_class_t cls;
    const char *digits; /* ASCII */
    int32_t exp;
} num_case_t;

static const num_case_t num_cases[] = {
    {"0", BSONU_NUM_ZERO, "", 0},
    {"{\"$numberDouble\": \"-0.0\"}", BSONU_NUM_ZERO, "", 0},
    {"120", BSONU_NUM_POS, "12", 3},
    {"{\"$numberLong\": \"-9223372036854775808\"}", BSONU_NUM_NEG, "9223372036854775808", 19},
    {"0.5", BSONU_NUM_POS, "5", 0},
    {"0.1", BSONU_NUM_POS, "1000000000000000055511151231257827021181583404541015625", 0},
    {"{\"$numberDecimal\": \"1.2300\"}", BSONU_NUM_POS, "123", 1},
    {"{\"$numberDecimal\": \"-0.00123E-5\"}", BSONU_NUM_NEG, "123", -7},
    {"{\"$numberDecimal\": \"-Infinity\"}", BSONU_NUM_NEG_INF, "", 0},
    {"{\"$numberDecimal\": \"NaN\"}", BSONU_NUM_NAN, "", 0},
    {"1e300", BSONU_NUM_POS, NULL, 301},
};

static void run_num_case(void **state)
{
    const num_case_t *c = *state;
    bson_t doc;
    bson_iter_t it;
    bsonu_num_t n;
    status_t st = STATUS_INIT;

    parse_value(c->json, &doc, &it);
    assert_int_equal(bsonu_num_from_value(bson_iter_value(&it), &n, &st), 0);
    assert_int_equal(n.cls, c->cls);
    if (c->cls == BSONU_NUM_POS || c->cls == BSONU_NUM_NEG) {
        assert_int_equal(n.exp, c->exp);
        if (c->digits) {
            char buf[BSONU_NUM_MAX_DIGITS + 1];
            for (int i = 0; i < n.ndigits; i++)
                buf[i] = (char)('0' + n.digits[i]);
            buf[n.ndigits] = 0;
            assert_string_equal(buf, c->digits);
        }
        assert_true(n.digits[n.ndigits - 1] != 0);
    }
    bson_destroy(&doc);
}

static void test_num_from_non_number_is_bad_value(void **state)
{
    bson_value_t v = {.value_type = BSON_TYPE_UTF8};
    bsonu_num_t n;
    status_t st = STATUS_INIT;
    (void)state;
    v.value.v_utf8.str = "1";
    v.value.v_utf8.len = 1;
    assert_int_equal(bsonu_num_from_value(&v, &n, &st), ERR_BadValue);
    assert_int_equal(st.code, ERR_BadValue);
}

static void test_number_conversions(void **state)
{
    bson_t doc;
    bson_iter_t it;
    int64_t i;
    double d;
    (void)state;

    parse_value("{\"$numberDecimal\": \"-9223372036854775808.000\"}", &doc, &it);
    assert_true(bsonu_number_as_int64(bson_iter_value(&it), &i));
    assert_true(i == INT64_MIN);
    bson_destroy(&doc);
    parse_value("{\"$numberDecimal\": \"9223372036854775808\"}", &doc, &it);
    assert_false(bsonu_number_as_int64(bson_iter_value(&it), &i));
    bson_destroy(&doc);
    parse_value("2.5", &doc, &it);
    assert_false(bsonu_number_as_int64(bson_iter_value(&it), &i));
    bson_destroy(&doc);
    parse_value("{\"$numberDecimal\": \"0.1\"}", &doc, &it);
    assert_true(bsonu_number_as_double(bson_iter_value(&it), &d));
    assert_true(d == 0.1);
    bson_destroy(&doc);
}

static void test_decimal_non_canonical_is_zero(void **state)
{
    /* Coefficient 2^113 - 1 > 10^34 - 1: non-canonical, reads as zero. */
    bson_decimal128_t d = {.high = 0x3040000000000000ULL | 0x1ffffffffffffULL, .low = ~0ULL};
    bsonu_dec128_parts_t p;
    bson_value_t v = {.value_type = BSON_TYPE_DECIMAL128};
    bson_value_t zero = {.value_type = BSON_TYPE_INT32};
    (void)state;
    bsonu_dec128_decode(&d, &p);
    assert_true(p.coefficient == 0);
    v.value.v_decimal128 = d;
    zero.value.v_int32 = 0;
    assert_int_equal(bsonu_compare_value(&v, &zero), 0);
}

/* printf_digits -- the exact digits of |d| as glibc prints them (an independent oracle). */
static void printf_digits(double d, char *digits, int32_t *exp)
{
    char buf[BSONU_NUM_MAX_DIGITS + 32];
    size_t n = 0;
    const char *p;

    snprintf(buf, sizeof(buf), "%.766e", fabs(d));
    for (p = buf; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 0 && digits[n - 1] == '0')
        n--;
    digits[n] = 0;
    *exp = atoi(p + 1) + 1;
}

static void test_double_digits_match_printf(void **state)
{
    /* 200,000 random bit patterns (fixed seed) plus the extremes. */
    uint64_t x = 88172645463325252ULL;
    (void)state;
    for (int i = 0; i < 200000; i++) {
        bson_value_t v = {.value_type = BSON_TYPE_DOUBLE};
        bsonu_num_t n;
        status_t st = STATUS_INIT;
        char want[BSONU_NUM_MAX_DIGITS + 1], got[BSONU_NUM_MAX_DIGITS + 1];
        int32_t wexp;
        uint64_t bits;
        double d;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bits = i == 0 ? 1 : i == 1 ? 0x7fefffffffffffffULL : i == 2 ? 0x000fffffffffffffULL : x;
        memcpy(&d, &bits, 8);
        if (isnan(d) || isinf(d) || d == 0)
            continue;
        v.value.v_double = d;
        assert_int_equal(bsonu_num_from_value(&v, &n, &st), 0);
        printf_digits(d, want, &wexp);
        for (int j = 0; j < n.ndigits; j++)
            got[j] = (char)('0' + n.digits[j]);
        got[n.ndigits] = 0;
        if (strcmp(got, want) != 0 || n.exp != wexp || (n.cls == BSONU_NUM_NEG) != (d < 0))
            fail_msg("%a: digits %s e%d, printf %s e%d", d, got, n.exp, want, wexp);
        /* And back: the nearest double of the exact digits is d itself. */
        assert_true(bsonu_num_to_double(&n) == d);
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
    struct CMUnitTest
        tests[sizeof(cases) / sizeof(cases[0]) + sizeof(num_cases) / sizeof(num_cases[0]) + NFIXED];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        tests[n++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
    for (size_t i = 0; i < sizeof(num_cases) / sizeof(num_cases[0]); i++)
        tests[n++] =
            (struct CMUnitTest){num_cases[i].json, run_num_case, NULL, NULL, (void *)&num_cases[i]};
    for (size_t i = 0; i < NFIXED; i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("compare", tests, n, NULL, NULL);
}
