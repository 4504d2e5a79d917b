/*
 * test_types.c -- MongoDB's names of BSON types (bsonu_type_name / bsonu_type_by_name).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"

static const struct {
    bson_type_t type;
    const char *name;
} cases[] = {
    {BSON_TYPE_DOUBLE, "double"},
    {BSON_TYPE_UTF8, "string"},
    {BSON_TYPE_DOCUMENT, "object"},
    {BSON_TYPE_ARRAY, "array"},
    {BSON_TYPE_BINARY, "binData"},
    {BSON_TYPE_UNDEFINED, "undefined"},
    {BSON_TYPE_OID, "objectId"},
    {BSON_TYPE_BOOL, "bool"},
    {BSON_TYPE_DATE_TIME, "date"},
    {BSON_TYPE_NULL, "null"},
    {BSON_TYPE_REGEX, "regex"},
    {BSON_TYPE_DBPOINTER, "dbPointer"},
    {BSON_TYPE_CODE, "javascript"},
    {BSON_TYPE_SYMBOL, "symbol"},
    {BSON_TYPE_CODEWSCOPE, "javascriptWithScope"},
    {BSON_TYPE_INT32, "int"},
    {BSON_TYPE_TIMESTAMP, "timestamp"},
    {BSON_TYPE_INT64, "long"},
    {BSON_TYPE_DECIMAL128, "decimal"},
    {BSON_TYPE_MINKEY, "minKey"},
    {BSON_TYPE_MAXKEY, "maxKey"},
};

/* Every type has MongoDB's alias, and the alias maps back to the type. */
static void test_names_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(bsonu_type_name(cases[i].type), cases[i].name);
        assert_int_equal(bsonu_type_by_name(cases[i].name), (int)cases[i].type);
    }
}

/* EOD reads as "missing"; "number" and unknown names are not single types. */
static void test_missing_and_unknown(void **state)
{
    (void)state;
    assert_string_equal(bsonu_type_name(BSON_TYPE_EOD), "missing");
    assert_int_equal(bsonu_type_by_name("number"), -1);
    assert_int_equal(bsonu_type_by_name("String"), -1);
    assert_int_equal(bsonu_type_by_name(""), -1);
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
