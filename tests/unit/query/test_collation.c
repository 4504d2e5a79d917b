/*
 * test_collation.c -- table-driven tests of query/collation.c: MongoDB's
 * validation of collation documents (codes per field), the full spec with
 * the locale's defaults, comparisons under strength/caseLevel/numericOrdering/
 * alternate, and sort keys that order as the comparator does.
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

/* Validation: spec -> expected code (0: valid). */
typedef struct vcase {
    const char *name;
    const char *spec;
    int code;
} vcase_t;

static const vcase_t vcases[] = {
    {"simple", "{'locale': 'simple'}", 0},
    {"english", "{'locale': 'en'}", 0},
    {"french_canada", "{'locale': 'fr_CA'}", 0},
    {"all_fields",
     "{'locale': 'en', 'caseLevel': true, 'caseFirst': 'upper', 'strength': 3, "
     "'numericOrdering': true, 'alternate': 'shifted', 'maxVariable': 'space', "
     "'normalization': true, 'backwards': false}",
     0},
    {"missing_locale", "{'strength': 2}", 2},
    {"locale_not_string", "{'locale': 1}", 14},
    {"empty_locale", "{'locale': ''}", 2},
    {"unknown_locale", "{'locale': 'xx_YY_bogus'}", 2},
    {"simple_with_other_fields", "{'locale': 'simple', 'strength': 1}", 9},
    {"strength_zero", "{'locale': 'en', 'strength': 0}", 9},
    {"strength_six", "{'locale': 'en', 'strength': 6}", 9},
    {"strength_fraction", "{'locale': 'en', 'strength': 2.5}", 9},
    {"strength_string", "{'locale': 'en', 'strength': '2'}", 14},
    {"case_level_not_bool", "{'locale': 'en', 'caseLevel': 1}", 14},
    {"case_first_bad", "{'locale': 'en', 'caseFirst': 'middle'}", 9},
    {"alternate_bad", "{'locale': 'en', 'alternate': 'ignore'}", 9},
    {"max_variable_bad", "{'locale': 'en', 'maxVariable': 'all'}", 9},
    {"unknown_field", "{'locale': 'en', 'foo': 1}", 9},
    {"backwards_at_strength_1", "{'locale': 'en', 'strength': 1, 'backwards': true}", 2},
    {"case_first_at_strength_2", "{'locale': 'en', 'strength': 2, 'caseFirst': 'upper'}", 2},
    {"case_first_with_case_level",
     "{'locale': 'en', 'strength': 2, 'caseFirst': 'upper', "
     "'caseLevel': true}",
     0},
    {"wrong_version", "{'locale': 'en', 'version': '1.0'}", 161},
};

static void test_validation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
        bson_t *spec = J(vcases[i].spec);
        qry_collation_t *c = NULL;
        status_t st = STATUS_INIT;
        int rc = qry_collation_parse(spec, &c, &st);
        if (rc != vcases[i].code)
            CASE_FAIL("%s: code %d (%s), want %d", vcases[i].name, rc, st.msg, vcases[i].code);
        qry_collation_destroy(c);
        bson_destroy(spec);
    }
    assert_int_equal(failures, 0);
}

/* Comparisons: sign of compare(a, b) under spec. */
typedef struct ccase {
    const char *name;
    const char *spec;
    const char *a, *b;
    int sign;
} ccase_t;

static const ccase_t ccases[] = {
    {"simple_bytes_upper_first", "{'locale': 'simple'}", "B", "a", -1},
    {"english_alphabetic", "{'locale': 'en'}", "B", "a", 1},
    {"tertiary_case_differs", "{'locale': 'en'}", "abc", "ABC", -1},
    {"secondary_ignores_case", "{'locale': 'en', 'strength': 2}", "abc", "ABC", 0},
    {"secondary_keeps_accents", "{'locale': 'en', 'strength': 2}", "cafe", "caf\xc3\xa9", -1},
    {"primary_ignores_accents", "{'locale': 'en', 'strength': 1}", "cafe", "caf\xc3\xa9", 0},
    {"case_level_at_primary", "{'locale': 'en', 'strength': 1, 'caseLevel': true}", "a", "A", -1},
    {"upper_first", "{'locale': 'en', 'caseFirst': 'upper'}", "A", "a", -1},
    {"text_numbers", "{'locale': 'en'}", "10", "9", -1},
    {"numeric_ordering", "{'locale': 'en', 'numericOrdering': true}", "10", "9", 1},
    {"shifted_ignores_punct", "{'locale': 'en', 'alternate': 'shifted'}", "a-b", "ab", 0},
    {"non_ignorable_punct", "{'locale': 'en'}", "a-b", "ab", -1},
};

static void test_compare_and_sort_keys(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
        const ccase_t *k = &ccases[i];
        bson_t *spec = J(k->spec);
        qry_collation_t *c = NULL;
        status_t st = STATUS_INIT;
        if (qry_collation_parse(spec, &c, &st) != 0) {
            CASE_FAIL("%s: parse: %s", k->name, st.msg);
            bson_destroy(spec);
            continue;
        }
        int r = qry_collation_compare(c, k->a, strlen(k->a), k->b, strlen(k->b));
        if ((r > 0) - (r < 0) != k->sign)
            CASE_FAIL("%s: compare %d, want %d", k->name, r, k->sign);
        uint8_t ka[256], kb[256];
        size_t la = qry_collation_sort_key(c, k->a, strlen(k->a), ka, sizeof(ka));
        size_t lb = qry_collation_sort_key(c, k->b, strlen(k->b), kb, sizeof(kb));
        int m = memcmp(ka, kb, la < lb ? la : lb);
        int ks = m != 0 ? (m > 0) - (m < 0) : (la > lb) - (la < lb);
        if (ks != k->sign)
            CASE_FAIL("%s: sort keys order %d, want %d", k->name, ks, k->sign);
        qry_collation_destroy(c);
        bson_destroy(spec);
    }
    assert_int_equal(failures, 0);
}

static void test_full_spec_has_locale_defaults(void **state)
{
    (void)state;
    bson_t *spec = J("{'locale': 'fr_CA', 'strength': 2}");
    qry_collation_t *c = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_collation_parse(spec, &c, &st), 0);
    bson_t out = BSON_INITIALIZER;
    qry_collation_spec(c, &out);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &out, "strength"));
    assert_int_equal(bson_iter_int32(&it), 2);
    assert_true(bson_iter_init_find(&it, &out, "backwards")); /* French Canadian: on */
    assert_true(bson_iter_bool(&it));
    assert_true(bson_iter_init_find(&it, &out, "caseFirst"));
    assert_string_equal(bson_iter_utf8(&it, NULL), "off");
    assert_true(bson_iter_init_find(&it, &out, "version"));
    bson_destroy(&out);
    qry_collation_destroy(c);
    bson_destroy(spec);
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
