/*
 * test_keystring.c -- KeyString (storage/keystring.c): round trips for every
 * BSON type with the original types preserved, order against the comparator
 * (common/bson_compare.c) on a fixed table and on >= 100,000 random pairs,
 * descending fields, compound keys, RecordId suffixes, scan bounds, decoding
 * without type bits, and corrupt keys reported as statuses.
 *
 * The random test prints its seed; KS_SEED=<n> in the environment replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "storage/storage.h"

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

/* parse_values -- a JSON array of values into a key document {"0": v0, ...}. */
static void parse_values(const char *json_array, bson_t *out)
{
    char buf[2048];
    bson_error_t err;
    bson_t tmp;
    bson_iter_t it, ai;

    snprintf(buf, sizeof(buf), "{\"v\": %s}", json_array);
    if (!bson_init_from_json(&tmp, buf, -1, &err))
        fail_msg("bad test JSON %s: %s", buf, err.message);
    assert_true(bson_iter_init_find(&it, &tmp, "v"));
    assert_true(BSON_ITER_HOLDS_ARRAY(&it));
    assert_true(bson_iter_recurse(&it, &ai));
    bson_init(out);
    while (bson_iter_next(&ai))
        assert_true(bson_append_value(out, "", 0, bson_iter_value(&ai)));
    bson_destroy(&tmp);
}

/* ---- round trips ---- */

static const char *roundtrip_values[] = {
    "[{\"$minKey\": 1}]",
    "[{\"$maxKey\": 1}]",
    "[{\"$undefined\": true}]",
    "[null]",
    "[0]",
    "[-2147483648]",
    "[2147483647]",
    "[{\"$numberLong\": \"0\"}]",
    "[{\"$numberLong\": \"9223372036854775807\"}]",
    "[{\"$numberLong\": \"-9223372036854775808\"}]",
    "[{\"$numberLong\": \"9007199254740993\"}]",
    "[0.0]",
    "[{\"$numberDouble\": \"-0.0\"}]",
    "[1.5]",
    "[-0.1]",
    "[1e300]",
    "[5e-324]",
    "[-1.7976931348623157e308]",
    "[{\"$numberDouble\": \"Infinity\"}]",
    "[{\"$numberDouble\": \"-Infinity\"}]",
    "[{\"$numberDecimal\": \"1.00\"}]",
    "[{\"$numberDecimal\": \"-0E+12\"}]",
    "[{\"$numberDecimal\": \"1234567890123456789012345678901234\"}]",
    "[{\"$numberDecimal\": \"-1E-6176\"}]",
    "[{\"$numberDecimal\": \"9.999999999999999999999999999999999E+6144\"}]",
    "[{\"$numberDecimal\": \"NaN\"}]",
    "[{\"$numberDecimal\": \"-Infinity\"}]",
    "[\"\"]",
    "[\"hello\"]",
    "[\"a\\u0000b\\u0000\"]",
    "[\"\\u00ff\\u00e9\"]",
    "[{\"$symbol\": \"sym\"}]",
    "[{}]",
    "[{\"a\": 1, \"b\": {\"c\": [1, \"x\", {\"d\": null}]}}]",
    "[[]]",
    "[[1, [2, [3]], {\"$numberLong\": \"4\"}, 5.5]]",
    "[{\"$binary\": {\"base64\": \"\", \"subType\": \"00\"}}]",
    "[{\"$binary\": {\"base64\": \"AAECAwQ=\", \"subType\": \"04\"}}]",
    "[{\"$oid\": \"0123456789abcdef01234567\"}]",
    "[true]",
    "[false]",
    "[{\"$date\": {\"$numberLong\": \"-62135596800000\"}}]",
    "[{\"$date\": {\"$numberLong\": \"1700000000000\"}}]",
    "[{\"$timestamp\": {\"t\": 4294967295, \"i\": 1}}]",
    "[{\"$regularExpression\": {\"pattern\": \"^a.*b$\", \"options\": \"imsx\"}}]",
    "[{\"$dbPointer\": {\"$ref\": \"db.c\", \"$id\": {\"$oid\": \"0123456789abcdef01234567\"}}}]",
    "[{\"$code\": \"function() { return 1; }\"}]",
    "[{\"$code\": \"f(x)\", \"$scope\": {\"x\": 1, \"y\": [2]}}]",
    "[1, \"a\", null, {\"$numberLong\": \"-5\"}, [1], {\"x\": 2.5}]",
};

static void run_roundtrip(void **state)
{
    const char *json = *state;
    bson_t vals, out;
    stor_ks_t ks;
    status_t st = STATUS_INIT;
    uint32_t masks[] = {0, 0xFFFFFFFFu, 0x5u};

    parse_values(json, &vals);
    stor_ks_init(&ks);
    for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
        assert_int_equal(stor_ks_build(&ks, &vals, masks[m], STOR_KS_END, &st), 0);
        assert_int_equal(stor_ks_decode(ks.key, ks.key_len, ks.tb, ks.tb_len, masks[m], &out, &st),
                         0);
        if (out.len != vals.len || memcmp(bson_get_data(&out), bson_get_data(&vals), vals.len)) {
            char *a = bson_as_canonical_extended_json(&vals, NULL);
            char *b = bson_as_canonical_extended_json(&out, NULL);
            fail_msg("round trip mask %x: %s -> %s", masks[m], a, b);
        }
        bson_destroy(&out);
    }
    stor_ks_destroy(&ks);
    bson_destroy(&vals);
}

/* ---- order on a fixed list: every pair, both directions, asc and desc ---- */

static const char *order_values[] = {
    "{\"$minKey\": 1}",
    "{\"$undefined\": true}",
    "null",
    "{\"$numberDouble\": \"NaN\"}",
    "{\"$numberDecimal\": \"NaN\"}",
    "{\"$numberDouble\": \"-Infinity\"}",
    "{\"$numberLong\": \"-9223372036854775808\"}",
    "-9223372036854775808.0",
    "-1.5",
    "{\"$numberDecimal\": \"-1.50\"}",
    "-1",
    "-0.1",
    "{\"$numberDecimal\": \"-0.1\"}",
    "{\"$numberDouble\": \"-0.0\"}",
    "0",
    "{\"$numberDecimal\": \"0E-20\"}",
    "{\"$numberDecimal\": \"1E-6176\"}",
    "5e-324",
    "{\"$numberDecimal\": \"0.1\"}",
    "0.1",
    "1",
    "1.0",
    "{\"$numberDecimal\": \"1.000\"}",
    "10",
    "{\"$numberDecimal\": \"1E1\"}",
    "9007199254740992.0",
    "{\"$numberLong\": \"9007199254740993\"}",
    "{\"$numberDecimal\": \"9007199254740993\"}",
    "9007199254740994.0",
    "{\"$numberLong\": \"9223372036854775807\"}",
    "9223372036854775808.0",
    "1e300",
    "{\"$numberDecimal\": \"1E+400\"}",
    "{\"$numberDouble\": \"Infinity\"}",
    "{\"$numberDecimal\": \"Infinity\"}",
    "\"\"",
    "\"\\u0000\"",
    "\"a\"",
    "\"a\\u0000\"",
    "\"a\\u0000b\"",
    "\"a\\u0001\"",
    "\"ab\"",
    "{\"$symbol\": \"ab\"}",
    "\"b\"",
    "\"\\u00ff\"",
    "{}",
    "{\"a\": null}",
    "{\"a\": 1}",
    "{\"a\": 1, \"b\": 1}",
    "{\"a\": 2}",
    "{\"b\": 1}",
    "{\"a\": \"x\"}",
    "{\"a\": {}}",
    "[]",
    "[null]",
    "[1]",
    "[1, 2]",
    "[1.0, 3]",
    "[2]",
    "[\"a\"]",
    "[[]]",
    "{\"$binary\": {\"base64\": \"\", \"subType\": \"00\"}}",
    "{\"$binary\": {\"base64\": \"/w==\", \"subType\": \"00\"}}",
    "{\"$binary\": {\"base64\": \"AA==\", \"subType\": \"04\"}}",
    "{\"$binary\": {\"base64\": \"AAA=\", \"subType\": \"00\"}}",
    "{\"$oid\": \"000000000000000000000000\"}",
    "{\"$oid\": \"ffffffffffffffffffffffff\"}",
    "false",
    "true",
    "{\"$date\": {\"$numberLong\": \"-1\"}}",
    "{\"$date\": {\"$numberLong\": \"0\"}}",
    "{\"$timestamp\": {\"t\": 1, \"i\": 2}}",
    "{\"$timestamp\": {\"t\": 2, \"i\": 1}}",
    "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}",
    "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"i\"}}",
    "{\"$regularExpression\": {\"pattern\": \"ab\", \"options\": \"\"}}",
    "{\"$dbPointer\": {\"$ref\": \"b\", \"$id\": {\"$oid\": \"000000000000000000000000\"}}}",
    "{\"$dbPointer\": {\"$ref\": \"aa\", \"$id\": {\"$oid\": \"000000000000000000000000\"}}}",
    "{\"$code\": \"\"}",
    "{\"$code\": \"x\"}",
    "{\"$code\": \"x\", \"$scope\": {}}",
    "{\"$code\": \"x\", \"$scope\": {\"a\": 1}}",
    "{\"$maxKey\": 1}",
};

static void test_order_all_pairs(void **state)
{
    size_t n = sizeof(order_values) / sizeof(order_values[0]);
    bson_t *vals = calloc(n, sizeof(bson_t));
    stor_ks_t *asc = calloc(n, sizeof(stor_ks_t)), *desc = calloc(n, sizeof(stor_ks_t));
    status_t st = STATUS_INIT;
    char buf[600];
    (void)state;

    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "[%s]", order_values[i]);
        parse_values(buf, &vals[i]);
        stor_ks_init(&asc[i]);
        stor_ks_init(&desc[i]);
        assert_int_equal(stor_ks_build(&asc[i], &vals[i], 0, STOR_KS_END, &st), 0);
        assert_int_equal(stor_ks_build(&desc[i], &vals[i], 1, STOR_KS_END, &st), 0);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            bson_iter_t a, b;
            int want, got, got_desc;
            assert_true(bson_iter_init(&a, &vals[i]) && bson_iter_next(&a));
            assert_true(bson_iter_init(&b, &vals[j]) && bson_iter_next(&b));
            want = sign(bsonu_compare_iter(&a, &b));
            got = stor_ks_compare(asc[i].key, asc[i].key_len, asc[j].key, asc[j].key_len);
            got_desc = stor_ks_compare(desc[i].key, desc[i].key_len, desc[j].key, desc[j].key_len);
            if (got != want || got_desc != -want)
                fail_msg("%s vs %s: compare %d, ks asc %d, ks desc %d", order_values[i],
                         order_values[j], want, got, got_desc);
        }
        /* The list is written in ascending order: check the comparator too. */
        if (i > 0) {
            bson_iter_t a, b;
            assert_true(bson_iter_init(&a, &vals[i - 1]) && bson_iter_next(&a));
            assert_true(bson_iter_init(&b, &vals[i]) && bson_iter_next(&b));
            if (bsonu_compare_iter(&a, &b) > 0)
                fail_msg("list out of order at %s, %s", order_values[i - 1], order_values[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        bson_destroy(&vals[i]);
        stor_ks_destroy(&asc[i]);
        stor_ks_destroy(&desc[i]);
    }
    free(vals);
    free(asc);
    free(desc);
}

/* ---- RecordId, bounds, no type bits, errors ---- */

static void test_record_id_suffix(void **state)
{
    int64_t rids[] = {INT64_MIN, -1, 0, 1, 42, INT64_MAX};
    stor_ks_t prev, cur;
    status_t st = STATUS_INIT;
    bson_t *vals = BCON_NEW("", BCON_UTF8("k"));
    (void)state;

    stor_ks_init(&prev);
    stor_ks_init(&cur);
    for (size_t i = 0; i < sizeof(rids) / sizeof(rids[0]); i++) {
        int64_t got;
        size_t stripped;
        bson_t out;
        assert_int_equal(stor_ks_build(&cur, vals, 0, STOR_KS_END, &st), 0);
        assert_int_equal(stor_ks_append_record_id(&cur, rids[i], &st), 0);
        assert_int_equal(stor_ks_record_id(cur.key, cur.key_len, &got, &st), 0);
        assert_true(got == rids[i]);
        assert_int_equal(stor_ks_strip_record_id(cur.key, cur.key_len, &stripped, &st), 0);
        assert_int_equal(stripped, cur.key_len - 8);
        /* Decoding ignores the suffix. */
        assert_int_equal(stor_ks_decode(cur.key, cur.key_len, cur.tb, cur.tb_len, 0, &out, &st), 0);
        assert_true(bson_equal(&out, vals));
        bson_destroy(&out);
        if (i > 0)
            assert_true(stor_ks_compare(prev.key, prev.key_len, cur.key, cur.key_len) < 0);
        stor_ks_build(&prev, vals, 0, STOR_KS_END, &st);
        stor_ks_append_record_id(&prev, rids[i], &st);
    }
    stor_ks_destroy(&prev);
    stor_ks_destroy(&cur);
    bson_destroy(vals);
}

static void test_record_id_missing_is_error(void **state)
{
    const uint8_t k[] = {0x14, STOR_KS_END};
    int64_t rid;
    status_t st = STATUS_INIT;
    (void)state;
    assert_int_equal(stor_ks_record_id(k, sizeof(k), &rid, &st), ERR_BadValue);
}

static void test_record_id_before_close_is_error(void **state)
{
    stor_ks_t ks;
    status_t st = STATUS_INIT;
    (void)state;
    stor_ks_init(&ks);
    assert_int_equal(stor_ks_append_record_id(&ks, 1, &st), ERR_InternalError);
    stor_ks_destroy(&ks);
}

static void test_bounds_bracket_prefix(void **state)
{
    /* Keys (a, b) with a = 5 and every b; bounds on the prefix (5) bracket them all. */
    const char *keys[] = {"[5, {\"$minKey\": 1}]", "[5, null]", "[5, -1e300]", "[5, \"z\"]",
                          "[5, {\"$maxKey\": 1}]"};
    bson_t prefix, next_prefix, prev_prefix;
    stor_ks_t before, after, k, nb, pa;
    status_t st = STATUS_INIT;
    (void)state;

    parse_values("[5]", &prefix);
    parse_values("[5.5]", &next_prefix);
    parse_values("[4.999]", &prev_prefix);
    stor_ks_init(&before);
    stor_ks_init(&after);
    stor_ks_init(&k);
    stor_ks_init(&nb);
    stor_ks_init(&pa);
    for (uint32_t mask = 0; mask < 4; mask++) {
        assert_int_equal(stor_ks_build(&before, &prefix, mask, STOR_KS_BEFORE, &st), 0);
        assert_int_equal(stor_ks_build(&after, &prefix, mask, STOR_KS_AFTER, &st), 0);
        assert_int_equal(stor_ks_build(&nb, &next_prefix, mask, STOR_KS_BEFORE, &st), 0);
        assert_int_equal(stor_ks_build(&pa, &prev_prefix, mask, STOR_KS_AFTER, &st), 0);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            bson_t v;
            parse_values(keys[i], &v);
            assert_int_equal(stor_ks_build(&k, &v, mask, STOR_KS_END, &st), 0);
            assert_int_equal(stor_ks_append_record_id(&k, (int64_t)i - 2, &st), 0);
            assert_true(stor_ks_compare(before.key, before.key_len, k.key, k.key_len) < 0);
            assert_true(stor_ks_compare(k.key, k.key_len, after.key, after.key_len) < 0);
            /* Keys of the neighbouring prefixes stay outside. */
            if (mask & 1) {
                assert_true(stor_ks_compare(k.key, k.key_len, pa.key, pa.key_len) < 0);
                assert_true(stor_ks_compare(nb.key, nb.key_len, k.key, k.key_len) < 0);
            } else {
                assert_true(stor_ks_compare(pa.key, pa.key_len, k.key, k.key_len) < 0);
                assert_true(stor_ks_compare(k.key, k.key_len, nb.key, nb.key_len) < 0);
            }
            bson_destroy(&v);
        }
    }
    stor_ks_destroy(&before);
    stor_ks_destroy(&after);
    stor_ks_destroy(&k);
    stor_ks_destroy(&nb);
    stor_ks_destroy(&pa);
    bson_destroy(&prefix);
    bson_destroy(&next_prefix);
    bson_destroy(&prev_prefix);
}

typedef struct notb_case {
    const char *in;   /* JSON array of values */
    const char *want; /* what decoding without type bits gives */
} notb_case_t;

static const notb_case_t notb_cases[] = {
    {"[1.0]", "[1]"},
    {"[{\"$numberLong\": \"7\"}]", "[7]"},
    {"[{\"$numberDecimal\": \"-3.00\"}]", "[-3]"},
    {"[3000000000.0]", "[{\"$numberLong\": \"3000000000\"}]"},
    {"[{\"$numberDouble\": \"-0.0\"}]", "[0]"},
    {"[2.5]", "[2.5]"},
    {"[{\"$numberDecimal\": \"0.1\"}]", "[{\"$numberDecimal\": \"0.1\"}]"},
    {"[1e300]", "[1e300]"},
    {"[{\"$symbol\": \"s\"}]", "[\"s\"]"},
    {"[{\"$numberDecimal\": \"NaN\"}]", "[{\"$numberDouble\": \"NaN\"}]"},
};

static void run_decode_without_type_bits(void **state)
{
    const notb_case_t *c = *state;
    bson_t in, want, out;
    stor_ks_t ks;
    status_t st = STATUS_INIT;

    parse_values(c->in, &in);
    parse_values(c->want, &want);
    stor_ks_init(&ks);
    assert_int_equal(stor_ks_build(&ks, &in, 0, STOR_KS_END, &st), 0);
    assert_int_equal(stor_ks_decode(ks.key, ks.key_len, NULL, 0, 0, &out, &st), 0);
    if (!bson_equal(&out, &want)) {
        char *a = bson_as_canonical_extended_json(&out, NULL);
        fail_msg("%s decoded as %s, want %s", c->in, a, c->want);
    }
    bson_destroy(&in);
    bson_destroy(&want);
    bson_destroy(&out);
    stor_ks_destroy(&ks);
}

static void test_corrupt_keys_are_errors(void **state)
{
    const uint8_t bad[][6] = {
        {0x77, STOR_KS_END},            /* unknown type byte */
        {0x3C, 'a', 0x00, 0x05, 0x00},  /* bad string escape */
        {0x22, 0x80, 0x01, 0xF0, 0x00}, /* digit byte > 100 */
        {0x46, 0x07, 'a'},              /* truncated document */
        {0x14},                         /* no discriminator */
        {0x5A, 0x00, 0x00, 0x10, 0x00}, /* binary longer than the key */
    };
    const size_t lens[] = {2, 5, 5, 3, 1, 5};
    (void)state;
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        bson_t out;
        status_t st = STATUS_INIT;
        assert_int_equal(stor_ks_decode(bad[i], lens[i], NULL, 0, 0, &out, &st), ERR_BadValue);
        bson_destroy(&out);
    }
}

static void test_too_many_fields_is_error(void **state)
{
    bson_t vals = BSON_INITIALIZER;
    stor_ks_t ks;
    status_t st = STATUS_INIT;
    (void)state;
    for (int i = 0; i < 33; i++)
        bson_append_int32(&vals, "", 0, i);
    stor_ks_init(&ks);
    assert_int_equal(stor_ks_build(&ks, &vals, 0, STOR_KS_END, &st), ERR_BadValue);
    stor_ks_destroy(&ks);
    bson_destroy(&vals);
}

static void test_too_deep_is_error(void **state)
{
    /* 250 nested arrays: beyond STOR_KS_MAX_DEPTH, a status rather than a crash. */
    bson_t *levels[251];
    stor_ks_t ks;
    status_t st = STATUS_INIT;
    bson_t vals = BSON_INITIALIZER;
    (void)state;
    levels[0] = bson_new();
    bson_append_int32(levels[0], "0", 1, 1);
    for (int i = 1; i <= 250; i++) {
        levels[i] = bson_new();
        bson_append_array(levels[i], "0", 1, levels[i - 1]);
    }
    bson_append_array(&vals, "", 0, levels[250]);
    stor_ks_init(&ks);
    assert_int_equal(stor_ks_build(&ks, &vals, 0, STOR_KS_END, &st), ERR_BadValue);
    for (int i = 0; i <= 250; i++)
        bson_destroy(levels[i]);
    bson_destroy(&vals);
    stor_ks_destroy(&ks);
}

/* ---- random property test ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: reproducible from the printed seed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t rndn(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static void rnd_string(char *buf, size_t *len)
{
    static const char alphabet[] = {'a', 'b', '\0', '\x01', '\xff', 'A'};
    size_t n = rndn(8) == 0 ? 40 + rndn(200) : rndn(5);
    for (size_t i = 0; i < n; i++)
        buf[i] = alphabet[rndn(sizeof(alphabet))];
    buf[n] = 0;
    *len = n;
}

static void rnd_decimal(bson_decimal128_t *d)
{
    static const char *pool[] = {"0",
                                 "-0",
                                 "1",
                                 "1.0",
                                 "1.00",
                                 "-1",
                                 "0.1",
                                 "0.5",
                                 "1E2",
                                 "100",
                                 "NaN",
                                 "-NaN",
                                 "Inf",
                                 "-Inf",
                                 "1E-6176",
                                 "-1E-6176",
                                 "2.5",
                                 "-2.50",
                                 "9007199254740993",
                                 "9223372036854775808",
                                 "-9223372036854775808",
                                 "1E+6144",
                                 "123.456",
                                 "1234567890123456789012345678901234"};
    if (rndn(3) == 0) {
        /* A random coefficient and exponent (canonical or not). */
        d->high = rnd() & 0xbfffffffffffffffULL;
        d->high = (d->high & ~(0x3fffULL << 49)) | ((uint64_t)(6176 + (int)rndn(60) - 30) << 49);
        if (rndn(2))
            d->high &= 0x80000000000fffffULL | (0x3fffULL << 49);
        d->low = rnd();
        return;
    }
    bson_decimal128_from_string(pool[rndn(sizeof(pool) / sizeof(pool[0]))], d);
}

static double rnd_double(void)
{
    static const double pool[] = {0.0,
                                  -0.0,
                                  1.0,
                                  -1.0,
                                  0.1,
                                  0.5,
                                  2.5,
                                  -2.5,
                                  100.0,
                                  1e300,
                                  5e-324,
                                  -5e-324,
                                  9007199254740992.0,
                                  9007199254740994.0,
                                  9223372036854775808.0,
                                  -9223372036854775808.0,
                                  1.7976931348623157e308,
                                  3.0,
                                  1e-5};
    switch (rndn(4)) {
    case 0: {
        uint64_t bits = rnd();
        double d;
        memcpy(&d, &bits, 8);
        return isnan(d) ? NAN : d;
    }
    case 1:
        return (double)(int64_t)rnd() / (double)(1 + rndn(1000));
    case 2:
        return rndn(10) == 0 ? (rndn(2) ? INFINITY : (rndn(2) ? -INFINITY : NAN))
                             : (double)((int)rndn(7) - 3);
    default:
        return pool[rndn(sizeof(pool) / sizeof(pool[0]))];
    }
}

static void rnd_value(bson_t *out, const char *key, int depth);

static void rnd_doc(bson_t *doc, int depth, bool array)
{
    static const char *names[] = {"a", "b", "", "ab"};
    uint32_t n = rndn(depth > 3 ? 2 : 4);
    char idx[16];
    for (uint32_t i = 0; i < n; i++) {
        snprintf(idx, sizeof(idx), "%u", i);
        rnd_value(doc, array ? idx : names[rndn(4)], depth + 1);
    }
}

static void rnd_value(bson_t *out, const char *key, int depth)
{
    static const int64_t longs[] = {
        0,         1,   -1, 9007199254740992LL, 9007199254740993LL, -9007199254740993LL, INT64_MAX,
        INT64_MIN, 100, 3};
    char s[256], s2[16];
    size_t len;
    uint8_t bytes[8];
    bson_t child;
    bson_oid_t oid;
    bson_decimal128_t dec;

    switch (rndn(depth > 4 ? 17 : 20)) {
    case 0:
        bson_append_minkey(out, key, -1);
        break;
    case 1:
        bson_append_maxkey(out, key, -1);
        break;
    case 2:
        bson_append_null(out, key, -1);
        break;
    case 3:
        bson_append_undefined(out, key, -1);
        break;
    case 4:
        bson_append_int32(out, key, -1, rndn(2) ? (int32_t)rnd() : (int32_t)rndn(7) - 3);
        break;
    case 5:
        bson_append_int64(out, key, -1,
                          rndn(2) ? (int64_t)rnd() : longs[rndn(sizeof(longs) / sizeof(longs[0]))]);
        break;
    case 6:
    case 7:
        bson_append_double(out, key, -1, rnd_double());
        break;
    case 8:
        rnd_decimal(&dec);
        bson_append_decimal128(out, key, -1, &dec);
        break;
    case 9:
        rnd_string(s, &len);
        if (rndn(6) == 0)
            bson_append_symbol(out, key, -1, s, (int)len);
        else
            bson_append_utf8(out, key, -1, s, (int)len);
        break;
    case 10:
        len = rndn(4);
        for (size_t i = 0; i < len; i++)
            bytes[i] = (uint8_t)rndn(3);
        bson_append_binary(out, key, -1, (bson_subtype_t)rndn(2), bytes, (uint32_t)len);
        break;
    case 11:
        memset(bytes, 0, sizeof(bytes));
        {
            uint8_t raw[12] = {0};
            raw[11] = (uint8_t)rndn(3);
            raw[0] = (uint8_t)rndn(2);
            bson_oid_init_from_data(&oid, raw);
        }
        bson_append_oid(out, key, -1, &oid);
        break;
    case 12:
        bson_append_bool(out, key, -1, rndn(2));
        break;
    case 13:
        bson_append_date_time(out, key, -1, rndn(2) ? (int64_t)rnd() : (int64_t)rndn(3) - 1);
        break;
    case 14:
        bson_append_timestamp(out, key, -1, rndn(2) ? (uint32_t)rnd() : rndn(3), rndn(3));
        break;
    case 15:
        snprintf(s, sizeof(s), "%s", rndn(2) ? "a" : "ab");
        snprintf(s2, sizeof(s2), "%s", rndn(2) ? "" : "i");
        switch (rndn(4)) {
        case 0:
            bson_append_regex(out, key, -1, s, s2);
            break;
        case 1:
            bson_oid_init_from_data(&oid, (const uint8_t *)"abcdefghijkl");
            bson_append_dbpointer(out, key, -1, s, &oid);
            break;
        case 2:
            bson_append_code(out, key, -1, s);
            break;
        default: {
            bson_t scope = BSON_INITIALIZER;
            rnd_doc(&scope, depth + 2, false);
            bson_append_code_with_scope(out, key, -1, s, &scope);
            bson_destroy(&scope);
        }
        }
        break;
    case 16:
        bson_append_int32(out, key, -1, 1);
        break;
    case 17:
    case 18:
        bson_append_document_begin(out, key, -1, &child);
        rnd_doc(&child, depth, false);
        bson_append_document_end(out, &child);
        break;
    default:
        bson_append_array_begin(out, key, -1, &child);
        rnd_doc(&child, depth, true);
        bson_append_array_end(out, &child);
        break;
    }
}

/* rnd_key -- 1..3 random values as a key document. */
static void rnd_key(bson_t *out, uint32_t nfields)
{
    bson_init(out);
    for (uint32_t i = 0; i < nfields; i++)
        rnd_value(out, "", 0);
}

/* twin_value -- append v, or an equal value of another type (1 == 1.0 == "1"dec). */
static void twin_value(bson_t *out, const bson_value_t *v)
{
    bsonu_num_t n;
    status_t st = STATUS_INIT;
    int64_t i64;
    double d;
    char buf[64];
    bson_decimal128_t dec;

    if (bsonu_is_number(v->value_type) && bsonu_num_from_value(v, &n, &st) == 0) {
        switch (rndn(4)) {
        case 0:
            if (bsonu_number_as_int64(v, &i64)) {
                if (i64 >= INT32_MIN && i64 <= INT32_MAX && rndn(2))
                    bson_append_int32(out, "", 0, (int32_t)i64);
                else
                    bson_append_int64(out, "", 0, i64);
                return;
            }
            break;
        case 1: {
            bson_value_t dv = {.value_type = BSON_TYPE_DOUBLE};
            bsonu_num_t back;
            d = bsonu_num_to_double(&n);
            dv.value.v_double = d;
            bsonu_num_from_value(&dv, &back, &st);
            if (bsonu_num_compare(&back, &n) == 0) {
                bson_append_double(out, "", 0, d);
                return;
            }
            break;
        }
        case 2:
            if (n.cls == BSONU_NUM_POS || n.cls == BSONU_NUM_NEG) {
                if (n.ndigits <= 30) {
                    size_t k = 0;
                    unsigned pad = rndn(4);
                    if (n.cls == BSONU_NUM_NEG)
                        buf[k++] = '-';
                    for (uint16_t i = 0; i < n.ndigits; i++)
                        buf[k++] = (char)('0' + n.digits[i]);
                    for (unsigned i = 0; i < pad; i++)
                        buf[k++] = '0'; /* trailing zeros: same value, other encoding */
                    snprintf(buf + k, sizeof(buf) - k, "E%d", (int)(n.exp - n.ndigits - pad));
                    if (bson_decimal128_from_string(buf, &dec)) {
                        bson_append_decimal128(out, "", 0, &dec);
                        return;
                    }
                }
            } else {
                const char *s = n.cls == BSONU_NUM_NAN       ? "NaN"
                                : n.cls == BSONU_NUM_ZERO    ? (rndn(2) ? "-0E+3" : "0.00")
                                : n.cls == BSONU_NUM_POS_INF ? "Inf"
                                                             : "-Inf";
                bson_decimal128_from_string(s, &dec);
                bson_append_decimal128(out, "", 0, &dec);
                return;
            }
            break;
        default:
            break;
        }
    } else if (v->value_type == BSON_TYPE_UTF8 && rndn(2)) {
        bson_append_symbol(out, "", 0, v->value.v_utf8.str, (int)v->value.v_utf8.len);
        return;
    }
    bson_append_value(out, "", 0, v);
}

/* rnd_twin -- a key equal to a field by field, with types shuffled where possible. */
static void rnd_twin(const bson_t *a, bson_t *out)
{
    bson_iter_t it;
    bson_init(out);
    bson_iter_init(&it, a);
    while (bson_iter_next(&it))
        twin_value(out, bson_iter_value(&it));
}

/* compare_keys -- the comparator's order of two key documents, field by field. */
static int compare_keys(const bson_t *a, const bson_t *b, uint32_t desc_mask)
{
    bson_iter_t ia, ib;
    uint32_t i = 0;
    bson_iter_init(&ia, a);
    bson_iter_init(&ib, b);
    while (bson_iter_next(&ia) && bson_iter_next(&ib)) {
        int c = sign(bsonu_compare_iter(&ia, &ib));
        if (c != 0)
            return (desc_mask >> i) & 1 ? -c : c;
        i++;
    }
    return 0;
}

static void test_random_pairs_order_and_roundtrip(void **state)
{
    const char *env = getenv("KS_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 20240601ULL;
    const int pairs = 100000;
    stor_ks_t ka, kb;
    status_t st = STATUS_INIT;
    int equal_pairs = 0;
    (void)state;

    printf("keystring property test: seed %llu (KS_SEED=<n> to replay), %d pairs\n",
           (unsigned long long)seed, pairs);
    rng_state = seed ? seed : 1;
    stor_ks_init(&ka);
    stor_ks_init(&kb);
    for (int p = 0; p < pairs; p++) {
        uint32_t nf = 1 + rndn(3), mask = rndn(8);
        bson_t a, b, out;
        int want, got;

        rnd_key(&a, nf);
        if (rndn(4) == 0)
            rnd_twin(&a, &b);
        else
            rnd_key(&b, nf);
        assert_int_equal(stor_ks_build(&ka, &a, mask, STOR_KS_END, &st), 0);
        assert_int_equal(stor_ks_build(&kb, &b, mask, STOR_KS_END, &st), 0);
        want = compare_keys(&a, &b, mask);
        got = stor_ks_compare(ka.key, ka.key_len, kb.key, kb.key_len);
        equal_pairs += want == 0;
        if (got != want || stor_ks_compare(kb.key, kb.key_len, ka.key, ka.key_len) != -want) {
            char *ja = bson_as_canonical_extended_json(&a, NULL);
            char *jb = bson_as_canonical_extended_json(&b, NULL);
            fail_msg("seed %llu pair %d mask %u: compare %d, KeyString %d\n a=%s\n b=%s",
                     (unsigned long long)seed, p, mask, want, got, ja, jb);
        }
        /* Every key decodes back to exactly its values (types included). */
        assert_int_equal(stor_ks_decode(ka.key, ka.key_len, ka.tb, ka.tb_len, mask, &out, &st), 0);
        if (!bson_equal(&out, &a)) {
            /* NaN payloads and non-canonical decimals are not preserved bit for bit. */
            bson_iter_t io, ia;
            bson_iter_init(&io, &out);
            bson_iter_init(&ia, &a);
            while (bson_iter_next(&io) && bson_iter_next(&ia))
                if (bsonu_compare_iter(&io, &ia) != 0 ||
                    bson_iter_type(&io) != bson_iter_type(&ia)) {
                    char *ja = bson_as_canonical_extended_json(&a, NULL);
                    char *jo = bson_as_canonical_extended_json(&out, NULL);
                    fail_msg("seed %llu pair %d: decode %s -> %s", (unsigned long long)seed, p, ja,
                             jo);
                }
        }
        bson_destroy(&out);
        bson_destroy(&a);
        bson_destroy(&b);
    }
    printf("keystring property test: %d pairs agreed (%d equal)\n", pairs, equal_pairs);
    /* The generator must produce ties, or equality is not being tested. */
    assert_true(equal_pairs > pairs / 100);
    stor_ks_destroy(&ka);
    stor_ks_destroy(&kb);
}

typedef struct mask_case {
    const char *pattern;
    uint32_t want;
    int error;
} mask_case_t;

static const mask_case_t mask_cases[] = {
    {"{\"a\": 1}", 0x0, 0},
    {"{\"a\": 1, \"b\": -1}", 0x2, 0},
    {"{\"a\": -1.5, \"b\": {\"$numberLong\": \"-1\"}, \"c\": \"hashed\"}", 0x3, 0},
    {"{\"a\": {\"$numberDecimal\": \"-1\"}}", 0x1, 0},
};

static void run_desc_mask(void **state)
{
    const mask_case_t *c = *state;
    bson_t pattern;
    bson_error_t err;
    uint32_t mask = 99;
    status_t st = STATUS_INIT;

    assert_true(bson_init_from_json(&pattern, c->pattern, -1, &err));
    assert_int_equal(stor_ks_desc_mask(&pattern, &mask, &st), c->error);
    assert_int_equal(mask, c->want);
    bson_destroy(&pattern);
}

static void test_desc_mask_too_many_fields(void **state)
{
    bson_t pattern = BSON_INITIALIZER;
    uint32_t mask;
    status_t st = STATUS_INIT;
    char k[8];
    (void)state;
    for (int i = 0; i < 33; i++) {
        snprintf(k, sizeof(k), "f%d", i);
        bson_append_int32(&pattern, k, -1, 1);
    }
    assert_int_equal(stor_ks_desc_mask(&pattern, &mask, &st), ERR_BadValue);
    bson_destroy(&pattern);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]) };
    enum { NRT = sizeof(roundtrip_values) / sizeof(roundtrip_values[0]) };
    enum { NNT = sizeof(notb_cases) / sizeof(notb_cases[0]) };
    enum { NMC = sizeof(mask_cases) / sizeof(mask_cases[0]) };
    struct CMUnitTest tests[NRT + NNT + NMC + NFIXED];
    size_t n = 0;

    for (size_t i = 0; i < NRT; i++)
        tests[n++] = (struct CMUnitTest){roundtrip_values[i], run_roundtrip, NULL, NULL,
                                         (void *)roundtrip_values[i]};
    for (size_t i = 0; i < NNT; i++)
        tests[n++] = (struct CMUnitTest){notb_cases[i].in, run_decode_without_type_bits, NULL, NULL,
                                         (void *)&notb_cases[i]};
    for (size_t i = 0; i < NMC; i++)
        tests[n++] = (struct CMUnitTest){mask_cases[i].pattern, run_desc_mask, NULL, NULL,
                                         (void *)&mask_cases[i]};
    for (size_t i = 0; i < NFIXED; i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("keystring", tests, n, NULL, NULL);
}
