/*
 * test_update.c -- table-driven tests of the update operators (query/update*.c):
 * each case is an input document, an update (and arrayFilters), and either the
 * expected document or the expected MongoDB error code, written from MongoDB's
 * documented behaviour. JSON in the tables uses single quotes for readability.
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

typedef struct ucase {
    const char *name;
    const char *doc;
    const char *update;
    const char *filters; /* arrayFilters array, or NULL */
    int matched;         /* positional index, -1 for none */
    const char *expect;  /* expected document, or NULL when an error is expected */
    int code;            /* expected error code (0: success) */
    int changed;         /* -1: don't check; 0/1: expected changed flag */
} ucase_t;

/* J -- parse single-quoted JSON. */

static bson_t *JA(const char *s)
{
    /* arrays: parse {"a": [...]} and take the array */
    char *w = malloc(strlen(s) + 16);
    sprintf(w, "{'a': %s}", s);
    bson_t *outer = J(w);
    free(w);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, outer, "a"));
    const uint8_t *data;
    uint32_t len;
    bson_iter_array(&it, &len, &data);
    bson_t *arr = bson_new_from_data(data, len);
    bson_destroy(outer);
    return arr;
}

/* CASE_FAIL -- report one failing case and keep going, so a run lists them all. */

static void expect_same(const char *name, const bson_t *got, const bson_t *want)
{
    if (got->len != want->len || memcmp(bson_get_data(got), bson_get_data(want), got->len) != 0) {
        char *g = bson_as_canonical_extended_json(got, NULL);
        char *w = bson_as_canonical_extended_json(want, NULL);
        CASE_FAIL("case '%s':\n  got  %s\n  want %s", name, g, w);
        bson_free(g);
        bson_free(w);
    }
}

#define OK(n, d, u, e)                                                                             \
    {                                                                                              \
        n, d, u, NULL, -1, e, 0, -1                                                                \
    }
#define OKF(n, d, u, f, e)                                                                         \
    {                                                                                              \
        n, d, u, f, -1, e, 0, -1                                                                   \
    }
#define OKP(n, d, u, m, e)                                                                         \
    {                                                                                              \
        n, d, u, NULL, m, e, 0, -1                                                                 \
    }
#define NOOP(n, d, u)                                                                              \
    {                                                                                              \
        n, d, u, NULL, -1, d, 0, 0                                                                 \
    }
#define ERR(n, d, u, c)                                                                            \
    {                                                                                              \
        n, d, u, NULL, -1, NULL, c, -1                                                             \
    }
#define ERRF(n, d, u, f, c)                                                                        \
    {                                                                                              \
        n, d, u, f, -1, NULL, c, -1                                                                \
    }

static const ucase_t cases[] = {
    /* ---- $set ---- */
    OK("set_existing_field", "{'_id': 1, 'a': 1}", "{'$set': {'a': 2}}", "{'_id': 1, 'a': 2}"),
    OK("set_new_field_appended", "{'_id': 1, 'a': 1}", "{'$set': {'b': 2}}",
       "{'_id': 1, 'a': 1, 'b': 2}"),
    OK("set_keeps_field_position", "{'_id': 1, 'a': 1, 'b': 2}", "{'$set': {'a': 'x'}}",
       "{'_id': 1, 'a': 'x', 'b': 2}"),
    OK("set_new_fields_in_lexicographic_order", "{'_id': 1}", "{'$set': {'c': 1, 'a': 2, 'b': 3}}",
       "{'_id': 1, 'a': 2, 'b': 3, 'c': 1}"),
    OK("set_numeric_field_names_numeric_order", "{'_id': 1}", "{'$set': {'10': 1, '9': 2}}",
       "{'_id': 1, '9': 2, '10': 1}"),
    OK("set_dotted_creates_documents", "{'_id': 1}", "{'$set': {'a.b.c': 1}}",
       "{'_id': 1, 'a': {'b': {'c': 1}}}"),
    OK("set_dotted_into_existing_doc", "{'_id': 1, 'a': {'x': 1}}", "{'$set': {'a.y': 2}}",
       "{'_id': 1, 'a': {'x': 1, 'y': 2}}"),
    OK("set_array_index", "{'_id': 1, 'a': [1, 2, 3]}", "{'$set': {'a.1': 9}}",
       "{'_id': 1, 'a': [1, 9, 3]}"),
    OK("set_array_index_pads_with_nulls", "{'_id': 1, 'a': [1]}", "{'$set': {'a.3': 4}}",
       "{'_id': 1, 'a': [1, null, null, 4]}"),
    OK("set_field_in_array_element", "{'_id': 1, 'a': [{'b': 1}, {'b': 2}]}",
       "{'$set': {'a.1.b': 5}}", "{'_id': 1, 'a': [{'b': 1}, {'b': 5}]}"),
    OK("set_numeric_component_on_document_is_field", "{'_id': 1, 'a': {}}", "{'$set': {'a.0': 1}}",
       "{'_id': 1, 'a': {'0': 1}}"),
    OK("set_whole_document_value", "{'_id': 1, 'a': 1}", "{'$set': {'a': {'b': [1, 2]}}}",
       "{'_id': 1, 'a': {'b': [1, 2]}}"),
    OK("set_same_id_allowed", "{'_id': 1, 'a': 1}", "{'$set': {'_id': 1}}", "{'_id': 1, 'a': 1}"),
    NOOP("set_same_value_is_noop", "{'_id': 1, 'a': 1}", "{'$set': {'a': 1}}"),
    {"set_int_over_double_changes_type", "{'_id': 1, 'a': 1.0}", "{'$set': {'a': 1}}", NULL, -1,
     "{'_id': 1, 'a': 1}", 0, 1},
    OK("set_empty_operand_allowed", "{'_id': 1}", "{'$set': {}}", "{'_id': 1}"),
    ERR("set_through_scalar_not_viable", "{'_id': 1, 'a': 1}", "{'$set': {'a.b': 1}}", 28),
    ERR("set_named_field_in_array_not_viable", "{'_id': 1, 'a': [1]}", "{'$set': {'a.b': 1}}", 28),
    ERR("set_id_changes_immutable", "{'_id': 1}", "{'$set': {'_id': 2}}", 66),
    ERR("set_id_subfield_immutable", "{'_id': {'x': 1}}", "{'$set': {'_id.x': 2}}", 66),
    ERR("set_empty_path", "{}", "{'$set': {'': 1}}", 56),
    ERR("set_empty_component", "{}", "{'$set': {'a..b': 1}}", 56),
    ERR("set_dollar_field_component", "{}", "{'$set': {'a.$foo': 1}}", 52),
    ERR("set_operand_not_document", "{}", "{'$set': 1}", 9),
    ERR("set_conflict_same_path", "{}", "{'$set': {'a': 1}, '$inc': {'a': 1}}", 40),
    ERR("set_conflict_prefix", "{}", "{'$set': {'a': 1}, '$inc': {'a.b': 1}}", 40),
    ERR("set_conflict_prefix_reverse", "{}", "{'$set': {'a.b': 1}, '$unset': {'a': 1}}", 40),
    OK("set_sibling_paths_no_conflict", "{}", "{'$set': {'a.b': 1, 'a.c': 2}}",
       "{'a': {'b': 1, 'c': 2}}"),
    OK("set_prefix_name_not_conflict", "{}", "{'$set': {'a': 1, 'ab': 2}}", "{'a': 1, 'ab': 2}"),
    ERR("unknown_modifier", "{}", "{'$foo': {'a': 1}}", 9),
    ERR("modifier_then_plain_field", "{}", "{'$set': {'a': 1}, 'b': 2}", 9),

    /* ---- $unset ---- */
    OK("unset_field", "{'_id': 1, 'a': 1, 'b': 2}", "{'$unset': {'a': ''}}", "{'_id': 1, 'b': 2}"),
    OK("unset_nested", "{'a': {'b': 1, 'c': 2}}", "{'$unset': {'a.b': 1}}", "{'a': {'c': 2}}"),
    NOOP("unset_missing_is_noop", "{'_id': 1, 'a': 1}", "{'$unset': {'b': 1}}"),
    NOOP("unset_through_scalar_is_noop", "{'_id': 1, 'a': 1}", "{'$unset': {'a.b': 1}}"),
    OK("unset_array_element_sets_null", "{'a': [1, 2, 3]}", "{'$unset': {'a.1': 1}}",
       "{'a': [1, null, 3]}"),
    NOOP("unset_past_array_end_is_noop", "{'a': [1]}", "{'$unset': {'a.5': 1}}"),
    ERR("unset_id_immutable", "{'_id': 1}", "{'$unset': {'_id': 1}}", 66),

    /* ---- $inc ---- */
    OK("inc_int", "{'a': 1}", "{'$inc': {'a': 2}}", "{'a': 3}"),
    OK("inc_negative", "{'a': 1}", "{'$inc': {'a': -5}}", "{'a': -4}"),
    OK("inc_missing_creates", "{}", "{'$inc': {'a': 5}}", "{'a': 5}"),
    OK("inc_nested_missing_creates", "{}", "{'$inc': {'a.b': 1}}", "{'a': {'b': 1}}"),
    OK("inc_int_by_double_gives_double", "{'a': 1}", "{'$inc': {'a': 0.5}}", "{'a': 1.5}"),
    OK("inc_double_by_int", "{'a': 1.5}", "{'$inc': {'a': 1}}", "{'a': 2.5}"),
    OK("inc_decimal_exact", "{'a': {'$numberDecimal': '0.1'}}",
       "{'$inc': {'a': {'$numberDecimal': '0.2'}}}", "{'a': {'$numberDecimal': '0.3'}}"),
    OK("inc_int_by_decimal_gives_decimal", "{'a': 1}", "{'$inc': {'a': {'$numberDecimal': '2.5'}}}",
       "{'a': {'$numberDecimal': '3.5'}}"),
    OK("mul_decimal", "{'a': {'$numberDecimal': '1.5'}}", "{'$mul': {'a': 3}}",
       "{'a': {'$numberDecimal': '4.5'}}"),
    OK("inc_int32_overflow_to_int64", "{'a': 2147483647}", "{'$inc': {'a': 1}}",
       "{'a': {'$numberLong': '2147483648'}}"),
    OK("inc_int32_underflow_to_int64", "{'a': -2147483648}", "{'$inc': {'a': -1}}",
       "{'a': {'$numberLong': '-2147483649'}}"),
    OK("inc_int_by_long_gives_long", "{'a': 1}", "{'$inc': {'a': {'$numberLong': '1'}}}",
       "{'a': {'$numberLong': '2'}}"),
    ERR("inc_int64_overflow_fails", "{'a': {'$numberLong': '9223372036854775807'}}",
        "{'$inc': {'a': 1}}", 2),
    {"inc_by_zero_is_noop", "{'a': 1}", "{'$inc': {'a': 0}}", NULL, -1, "{'a': 1}", 0, 0},
    ERR("inc_non_numeric_target", "{'_id': 1, 'a': 'x'}", "{'$inc': {'a': 1}}", 14),
    ERR("inc_non_numeric_argument", "{'a': 1}", "{'$inc': {'a': 'x'}}", 14),
    ERR("inc_null_target", "{'a': null}", "{'$inc': {'a': 1}}", 14),
    OK("inc_array_element", "{'a': [1, 2]}", "{'$inc': {'a.0': 10}}", "{'a': [11, 2]}"),

    /* ---- $mul ---- */
    OK("mul_int", "{'a': 3}", "{'$mul': {'a': 4}}", "{'a': 12}"),
    OK("mul_missing_creates_zero_int", "{}", "{'$mul': {'a': 4}}", "{'a': 0}"),
    OK("mul_missing_creates_zero_long", "{}", "{'$mul': {'a': {'$numberLong': '4'}}}",
       "{'a': {'$numberLong': '0'}}"),
    OK("mul_missing_creates_zero_double", "{}", "{'$mul': {'a': 2.5}}", "{'a': 0.0}"),
    OK("mul_int_by_double", "{'a': 3}", "{'$mul': {'a': 1.5}}", "{'a': 4.5}"),
    OK("mul_int32_overflow_to_int64", "{'a': 65536}", "{'$mul': {'a': 65536}}",
       "{'a': {'$numberLong': '4294967296'}}"),
    ERR("mul_int64_overflow_fails", "{'a': {'$numberLong': '9223372036854775807'}}",
        "{'$mul': {'a': 2}}", 2),
    ERR("mul_non_numeric_target", "{'a': [1]}", "{'$mul': {'a': 2}}", 14),
    ERR("mul_non_numeric_argument", "{'a': 1}", "{'$mul': {'a': true}}", 14),

    /* ---- $min / $max ---- */
    OK("min_lower_replaces", "{'a': 5}", "{'$min': {'a': 3}}", "{'a': 3}"),
    NOOP("min_higher_is_noop", "{'a': 5}", "{'$min': {'a': 7}}"),
    OK("min_missing_sets", "{}", "{'$min': {'a': 7}}", "{'a': 7}"),
    OK("min_across_number_types", "{'a': 5}", "{'$min': {'a': 4.5}}", "{'a': 4.5}"),
    NOOP("min_equal_other_type_is_noop", "{'a': 5}", "{'$min': {'a': 5.0}}"),
    OK("min_null_is_lower_than_numbers", "{'a': 5}", "{'$min': {'a': null}}", "{'a': null}"),
    OK("max_higher_replaces", "{'a': 5}", "{'$max': {'a': 9}}", "{'a': 9}"),
    NOOP("max_lower_is_noop", "{'a': 5}", "{'$max': {'a': 1}}"),
    OK("max_string_above_number", "{'a': 5}", "{'$max': {'a': 'x'}}", "{'a': 'x'}"),
    OK("max_dates", "{'a': {'$date': 1000}}", "{'$max': {'a': {'$date': 2000}}}",
       "{'a': {'$date': 2000}}"),

    /* ---- $rename ---- */
    OK("rename_field", "{'_id': 1, 'a': 1, 'b': 2}", "{'$rename': {'a': 'c'}}",
       "{'_id': 1, 'b': 2, 'c': 1}"),
    OK("rename_overwrites_destination", "{'a': 1, 'b': 2}", "{'$rename': {'a': 'b'}}", "{'b': 1}"),
    OK("rename_into_nested", "{'a': 1}", "{'$rename': {'a': 'x.y'}}", "{'x': {'y': 1}}"),
    OK("rename_out_of_nested", "{'a': {'b': 1, 'c': 2}}", "{'$rename': {'a.b': 'd'}}",
       "{'a': {'c': 2}, 'd': 1}"),
    NOOP("rename_missing_is_noop", "{'a': 1}", "{'$rename': {'b': 'c'}}"),
    ERR("rename_to_not_string", "{'a': 1}", "{'$rename': {'a': 1}}", 2),
    ERR("rename_same_field", "{'a': 1}", "{'$rename': {'a': 'a'}}", 2),
    ERR("rename_same_path", "{'a': 1}", "{'$rename': {'a': 'a.b'}}", 2),
    ERR("rename_dynamic_source", "{'a': [1]}", "{'$rename': {'a.$': 'b'}}", 2),
    ERR("rename_source_in_array", "{'a': [{'b': 1}]}", "{'$rename': {'a.0.b': 'c'}}", 2),
    ERR("rename_destination_in_array", "{'a': 1, 'b': [1]}", "{'$rename': {'a': 'b.0'}}", 2),
    ERR("rename_conflicts_with_set", "{'a': 1}", "{'$rename': {'a': 'b'}, '$set': {'b': 1}}", 40),
    ERR("rename_id_immutable", "{'_id': 1}", "{'$rename': {'_id': 'x'}}", 66),

    /* ---- $currentDate ---- */
    ERR("currentdate_bad_type_name", "{}", "{'$currentDate': {'a': {'$type': 'int'}}}", 2),
    ERR("currentdate_not_bool", "{}", "{'$currentDate': {'a': 1}}", 2),
    ERR("currentdate_extra_field", "{}", "{'$currentDate': {'a': {'x': 1, '$type': 'date'}}}", 2),

    /* ---- $setOnInsert ---- */
    NOOP("setoninsert_ignored_on_update", "{'a': 1}", "{'$setOnInsert': {'b': 1}}"),
    ERR("setoninsert_conflict", "{}", "{'$setOnInsert': {'a': 1}, '$set': {'a': 2}}", 40),

    /* ---- $push ---- */
    OK("push_value", "{'a': [1]}", "{'$push': {'a': 2}}", "{'a': [1, 2]}"),
    OK("push_missing_creates_array", "{}", "{'$push': {'a': 1}}", "{'a': [1]}"),
    OK("push_array_as_one_element", "{'a': []}", "{'$push': {'a': [1, 2]}}", "{'a': [[1, 2]]}"),
    OK("push_each", "{'a': [1]}", "{'$push': {'a': {'$each': [2, 3]}}}", "{'a': [1, 2, 3]}"),
    OK("push_each_empty_creates_empty", "{}", "{'$push': {'a': {'$each': []}}}", "{'a': []}"),
    OK("push_position_front", "{'a': [1, 2]}", "{'$push': {'a': {'$each': [0], '$position': 0}}}",
       "{'a': [0, 1, 2]}"),
    OK("push_position_middle", "{'a': [1, 2]}",
       "{'$push': {'a': {'$each': [9, 8], '$position': 1}}}", "{'a': [1, 9, 8, 2]}"),
    OK("push_position_negative", "{'a': [1, 2, 3]}",
       "{'$push': {'a': {'$each': [9], '$position': -1}}}", "{'a': [1, 2, 9, 3]}"),
    OK("push_position_past_end_appends", "{'a': [1]}",
       "{'$push': {'a': {'$each': [9], '$position': 10}}}", "{'a': [1, 9]}"),
    OK("push_slice_keep_first", "{'a': [1, 2]}", "{'$push': {'a': {'$each': [3], '$slice': 2}}}",
       "{'a': [1, 2]}"),
    OK("push_slice_keep_last", "{'a': [1, 2]}", "{'$push': {'a': {'$each': [3], '$slice': -2}}}",
       "{'a': [2, 3]}"),
    OK("push_slice_zero_empties", "{'a': [1, 2]}", "{'$push': {'a': {'$each': [3], '$slice': 0}}}",
       "{'a': []}"),
    OK("push_sort_ascending", "{'a': [3, 1]}", "{'$push': {'a': {'$each': [2], '$sort': 1}}}",
       "{'a': [1, 2, 3]}"),
    OK("push_sort_descending", "{'a': [3, 1]}", "{'$push': {'a': {'$each': [2], '$sort': -1}}}",
       "{'a': [3, 2, 1]}"),
    OK("push_sort_by_field_then_slice", "{'a': [{'s': 5}, {'s': 1}]}",
       "{'$push': {'a': {'$each': [{'s': 3}], '$sort': {'s': -1}, '$slice': 2}}}",
       "{'a': [{'s': 5}, {'s': 3}]}"),
    OK("push_sort_mixed_types", "{'a': ['x', 2]}", "{'$push': {'a': {'$each': [1], '$sort': 1}}}",
       "{'a': [1, 2, 'x']}"),
    OK("push_into_nested_missing", "{}", "{'$push': {'a.b': 1}}", "{'a': {'b': [1]}}"),
    ERR("push_non_array_target", "{'_id': 1, 'a': 1}", "{'$push': {'a': 2}}", 2),
    ERR("push_each_not_array", "{'a': []}", "{'$push': {'a': {'$each': 1}}}", 2),
    ERR("push_slice_not_number", "{'a': []}", "{'$push': {'a': {'$each': [1], '$slice': 'x'}}}", 2),
    ERR("push_position_not_integer", "{'a': []}",
        "{'$push': {'a': {'$each': [1], '$position': 1.5}}}", 2),
    ERR("push_sort_bad_value", "{'a': []}", "{'$push': {'a': {'$each': [1], '$sort': 2}}}", 2),
    ERR("push_sort_empty_spec", "{'a': []}", "{'$push': {'a': {'$each': [1], '$sort': {}}}}", 2),
    ERR("push_unknown_modifier", "{'a': []}", "{'$push': {'a': {'$each': [1], '$foo': 1}}}", 2),

    /* ---- $addToSet ---- */
    OK("addtoset_new_value", "{'a': [1]}", "{'$addToSet': {'a': 2}}", "{'a': [1, 2]}"),
    NOOP("addtoset_existing_is_noop", "{'a': [1, 2]}", "{'$addToSet': {'a': 2}}"),
    NOOP("addtoset_equal_other_number_type_is_noop", "{'a': [1, 2]}", "{'$addToSet': {'a': 2.0}}"),
    OK("addtoset_each_dedupes", "{'a': [1]}", "{'$addToSet': {'a': {'$each': [1, 2, 2, 3]}}}",
       "{'a': [1, 2, 3]}"),
    OK("addtoset_missing_creates", "{}", "{'$addToSet': {'a': {'$each': [1, 1]}}}", "{'a': [1]}"),
    OK("addtoset_document_value", "{'a': [{'x': 1}]}", "{'$addToSet': {'a': {'x': 2}}}",
       "{'a': [{'x': 1}, {'x': 2}]}"),
    NOOP("addtoset_document_same_is_noop", "{'a': [{'x': 1}]}", "{'$addToSet': {'a': {'x': 1}}}"),
    OK("addtoset_field_order_matters", "{'a': [{'x': 1, 'y': 2}]}",
       "{'$addToSet': {'a': {'y': 2, 'x': 1}}}", "{'a': [{'x': 1, 'y': 2}, {'y': 2, 'x': 1}]}"),
    ERR("addtoset_non_array", "{'a': 1}", "{'$addToSet': {'a': 1}}", 2),
    ERR("addtoset_rejects_slice", "{'a': []}", "{'$addToSet': {'a': {'$each': [1], '$slice': 1}}}",
        2),

    /* ---- $pop ---- */
    OK("pop_last", "{'a': [1, 2, 3]}", "{'$pop': {'a': 1}}", "{'a': [1, 2]}"),
    OK("pop_first", "{'a': [1, 2, 3]}", "{'$pop': {'a': -1}}", "{'a': [2, 3]}"),
    NOOP("pop_empty_is_noop", "{'a': []}", "{'$pop': {'a': 1}}"),
    NOOP("pop_missing_is_noop", "{}", "{'$pop': {'a': 1}}"),
    ERR("pop_non_array", "{'a': 1}", "{'$pop': {'a': 1}}", 14),
    ERR("pop_bad_value", "{'a': [1]}", "{'$pop': {'a': 2}}", 9),
    ERR("pop_non_number", "{'a': [1]}", "{'$pop': {'a': 'x'}}", 9),

    /* ---- $pull / $pullAll ---- */
    OK("pull_value", "{'a': [1, 2, 1, 3]}", "{'$pull': {'a': 1}}", "{'a': [2, 3]}"),
    OK("pull_numeric_equality_across_types", "{'a': [1, 2.0, 3]}", "{'$pull': {'a': 2}}",
       "{'a': [1, 3]}"),
    OK("pull_condition", "{'a': [1, 5, 7, 9]}", "{'$pull': {'a': {'$gte': 6}}}", "{'a': [1, 5]}"),
    OK("pull_in", "{'a': ['x', 'y', 'z']}", "{'$pull': {'a': {'$in': ['x', 'z']}}}",
       "{'a': ['y']}"),
    OK("pull_document_query", "{'a': [{'x': 1, 'y': 1}, {'x': 2, 'y': 1}]}",
       "{'$pull': {'a': {'x': 1}}}", "{'a': [{'x': 2, 'y': 1}]}"),
    OK("pull_document_query_with_operator", "{'a': [{'s': 8}, {'s': 2}]}",
       "{'$pull': {'a': {'s': {'$gt': 5}}}}", "{'a': [{'s': 2}]}"),
    OK("pull_array_value", "{'a': [[1, 2], [3]]}", "{'$pull': {'a': [1, 2]}}", "{'a': [[3]]}"),
    NOOP("pull_nothing_matches_is_noop", "{'a': [1, 2]}", "{'$pull': {'a': 5}}"),
    NOOP("pull_missing_is_noop", "{}", "{'$pull': {'a': 5}}"),
    ERR("pull_non_array", "{'a': 1}", "{'$pull': {'a': 1}}", 2),
    OK("pullall_values", "{'a': [0, 2, 5, 5, 1, 0]}", "{'$pullAll': {'a': [0, 5]}}",
       "{'a': [2, 1]}"),
    ERR("pullall_argument_not_array", "{'a': [1]}", "{'$pullAll': {'a': 1}}", 2),
    ERR("pullall_non_array_target", "{'a': 1}", "{'$pullAll': {'a': [1]}}", 2),

    /* ---- $bit ---- */
    OK("bit_and", "{'a': 13}", "{'$bit': {'a': {'and': 10}}}", "{'a': 8}"),
    OK("bit_or", "{'a': 13}", "{'$bit': {'a': {'or': 2}}}", "{'a': 15}"),
    OK("bit_xor", "{'a': 13}", "{'$bit': {'a': {'xor': 5}}}", "{'a': 8}"),
    OK("bit_int_with_long_gives_long", "{'a': 1}", "{'$bit': {'a': {'or': {'$numberLong': '2'}}}}",
       "{'a': {'$numberLong': '3'}}"),
    OK("bit_missing_starts_at_zero", "{}", "{'$bit': {'a': {'or': 5}}}", "{'a': 5}"),
    ERR("bit_double_argument", "{'a': 1}", "{'$bit': {'a': {'and': 1.0}}}", 2),
    ERR("bit_unknown_op", "{'a': 1}", "{'$bit': {'a': {'not': 1}}}", 2),
    ERR("bit_not_document", "{'a': 1}", "{'$bit': {'a': 1}}", 2),
    ERR("bit_double_target", "{'a': 1.5}", "{'$bit': {'a': {'and': 1}}}", 2),

    /* ---- positional $ ---- */
    OKP("positional_set", "{'a': [1, 2, 3]}", "{'$set': {'a.$': 9}}", 1, "{'a': [1, 9, 3]}"),
    OKP("positional_nested_field", "{'a': [{'b': 1}, {'b': 2}]}", "{'$inc': {'a.$.b': 10}}", 1,
        "{'a': [{'b': 1}, {'b': 12}]}"),
    ERR("positional_without_match", "{'a': [1]}", "{'$set': {'a.$': 9}}", 2),
    ERR("positional_twice", "{'a': [[1]]}", "{'$set': {'a.$.$': 9}}", 2),

    /* ---- $[] and $[id] ---- */
    OK("all_positional_set", "{'a': [1, 2, 3]}", "{'$set': {'a.$[]': 0}}", "{'a': [0, 0, 0]}"),
    OK("all_positional_inc_nested", "{'a': [{'b': 1}, {'b': 2}]}", "{'$inc': {'a.$[].b': 1}}",
       "{'a': [{'b': 2}, {'b': 3}]}"),
    OK("all_positional_nested_arrays", "{'a': [[1, 2], [3]]}", "{'$inc': {'a.$[].$[]': 1}}",
       "{'a': [[2, 3], [4]]}"),
    NOOP("all_positional_empty_array", "{'a': []}", "{'$set': {'a.$[]': 0}}"),
    ERR("all_positional_missing_path", "{}", "{'$set': {'a.$[]': 0}}", 2),
    ERR("all_positional_non_array", "{'a': 1}", "{'$set': {'a.$[]': 0}}", 2),
    OKF("filtered_set", "{'a': [1, 5, 8]}", "{'$set': {'a.$[x]': 0}}", "[{'x': {'$gte': 5}}]",
        "{'a': [1, 0, 0]}"),
    OKF("filtered_nested_field", "{'a': [{'b': 1, 'c': 0}, {'b': 2, 'c': 0}]}",
        "{'$set': {'a.$[e].c': 9}}", "[{'e.b': 2}]", "{'a': [{'b': 1, 'c': 0}, {'b': 2, 'c': 9}]}"),
    OKF("filtered_two_identifiers", "{'a': [{'b': [1, 2]}, {'b': [3]}]}",
        "{'$set': {'a.$[i].b.$[j]': 0}}", "[{'i.b': 3}, {'j': {'$gt': 2}}]",
        "{'a': [{'b': [1, 2]}, {'b': [0]}]}"),
    ERRF("filter_undefined_identifier", "{'a': [1]}", "{'$set': {'a.$[x]': 0}}", "[]", 2),
    ERRF("filter_unused_identifier", "{'a': [1]}", "{'$set': {'a': 0}}", "[{'x': 1}]", 9),
    ERRF("filter_duplicate_identifier", "{'a': [1]}", "{'$set': {'a.$[x]': 0}}",
         "[{'x': 1}, {'x': 2}]", 9),
    ERRF("filter_bad_identifier", "{'a': [1]}", "{'$set': {'a.$[X]': 0}}", "[{'X': 1}]", 2),
    ERRF("filter_two_top_level_names", "{'a': [1]}", "{'$set': {'a.$[x]': 0}}",
         "[{'x': 1, 'y': 2}]", 9),

    /* ---- replacement ---- */
    OK("replacement_keeps_id", "{'_id': 1, 'a': 1}", "{'b': 2}", "{'_id': 1, 'b': 2}"),
    OK("replacement_with_same_id", "{'_id': 1, 'a': 1}", "{'b': 2, '_id': 1}",
       "{'b': 2, '_id': 1}"),
    OK("replacement_empty", "{'_id': 1, 'a': 1}", "{}", "{'_id': 1}"),
    ERR("replacement_changes_id", "{'_id': 1, 'a': 1}", "{'_id': 2}", 66),
    ERR("replacement_with_operator_field", "{'_id': 1}", "{'a': 1, '$set': {'b': 1}}", 52),
    NOOP("replacement_identical_is_noop", "{'_id': 1, 'a': 1}", "{'a': 1}"),
};

static void run_case(const ucase_t *c)
{
    bson_t *doc = J(c->doc), *upd = J(c->update);
    bson_t *filters = c->filters ? JA(c->filters) : NULL;
    qry_update_t *u = NULL;
    status_t st = STATUS_INIT;
    int rc = qry_update_parse(upd, filters, &u, &st);
    qry_update_result_t res;
    memset(&res, 0, sizeof res);
    bson_init(&res.doc);
    if (rc == 0) {
        qry_update_ctx_t ctx = QRY_UPDATE_CTX_INIT;
        ctx.matched_index = c->matched;
        ctx.now_ms = 1700000000000;
        bson_destroy(&res.doc);
        rc = qry_update_apply(u, doc, &ctx, &res, &st);
    }
    if (c->expect && rc != 0) {
        CASE_FAIL("case '%s': unexpected error %d: %s", c->name, st.code, st.msg);
    } else if (c->expect) {
        bson_t *want = J(c->expect);
        expect_same(c->name, &res.doc, want);
        if (c->changed >= 0 && res.changed != (c->changed != 0))
            CASE_FAIL("case '%s': changed = %d, want %d", c->name, res.changed, c->changed);
        if (res.changed && !qry_update_is_replacement(u) && res.npaths == 0)
            CASE_FAIL("case '%s': changed but no path recorded", c->name);
        bson_destroy(want);
    } else {
        if (rc == 0)
            CASE_FAIL("case '%s': expected error %d, got success", c->name, c->code);
        else if (st.code != c->code)
            CASE_FAIL("case '%s': got error %d (%s), want %d", c->name, st.code, st.msg, c->code);
        assert_true(strlen(st.msg) > 0);
    }
    qry_update_result_destroy(&res);
    bson_destroy(&res.doc);
    qry_update_destroy(u);
    bson_destroy(doc);
    bson_destroy(upd);
    if (filters)
        bson_destroy(filters);
}

static void test_update_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    assert_int_equal(failures, 0);
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
