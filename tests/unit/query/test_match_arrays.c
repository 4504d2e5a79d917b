/*
 * test_match_arrays.c -- MongoDB's array rules for match: implicit traversal,
 * whole-array equality, numeric path components, nested arrays, and the
 * elemMatchKey reported for the positional $ operator.
 */
#include "test_match_cases.h"

static const match_case_t cases[] = {
    /* a scalar query against an array field */
    M("scalar_matches_element", "{'a': 5}", "{'a': [1, 5]}"),
    N("scalar_no_element", "{'a': 5}", "{'a': [1, 6]}"),
    N("scalar_empty_array", "{'a': 5}", "{'a': []}"),
    M("scalar_numeric_element_across_types", "{'a': 5}", "{'a': [1, 5.0]}"),
    N("scalar_not_in_nested_array", "{'a': 5}", "{'a': [[5]]}"),
    M("string_element", "{'tags': 'red'}", "{'tags': ['blank', 'red']}"),

    /* an array query: the whole array, or an element that is that array */
    M("array_matches_whole", "{'a': [1, 5]}", "{'a': [1, 5]}"),
    N("array_order_matters", "{'a': [1, 5]}", "{'a': [5, 1]}"),
    N("array_extra_element", "{'a': [1, 5]}", "{'a': [1, 5, 6]}"),
    M("array_matches_nested_element", "{'a': [1, 5]}", "{'a': [[1, 5], 2]}"),
    N("array_not_scalar", "{'a': [1]}", "{'a': 1}"),
    M("empty_array_matches_empty", "{'a': []}", "{'a': []}"),
    M("empty_array_matches_nested_empty", "{'a': []}", "{'a': [[], 1]}"),
    N("empty_array_not_missing", "{'a': []}", "{}"),
    M("array_eq_numeric_types", "{'a': [1, 2]}", "{'a': [1.0, {'$numberLong': '2'}]}"),

    /* dotted paths through documents and arrays */
    M("dotted_subdocument", "{'a.b': 1}", "{'a': {'b': 1}}"),
    M("dotted_deep", "{'a.b.c.d': 1}", "{'a': {'b': {'c': {'d': 1}}}}"),
    N("dotted_deep_missing", "{'a.b.c.d': 1}", "{'a': {'b': {'c': 1}}}"),
    M("dotted_array_of_documents", "{'a.b': 2}", "{'a': [{'b': 1}, {'b': 2}]}"),
    N("dotted_array_of_documents_none", "{'a.b': 3}", "{'a': [{'b': 1}, {'b': 2}]}"),
    M("dotted_array_leaf_array", "{'a.b': 2}", "{'a': [{'b': [1, 2]}]}"),
    M("dotted_array_two_levels", "{'a.b.c': 1}", "{'a': [{'b': [{'c': 1}]}]}"),
    N("dotted_nested_arrays_not_traversed", "{'a.b': 1}", "{'a': [[{'b': 1}]]}"),
    M("dotted_skips_scalars", "{'a.b': 1}", "{'a': [5, {'b': 1}]}"),
    M("dotted_whole_leaf_array", "{'a.b': [1, 2]}", "{'a': [{'b': [1, 2]}]}"),
    M("dotted_gt_through_array", "{'a.b': {'$gt': 5}}", "{'a': [{'b': 1}, {'b': 9}]}"),
    M("dotted_ne_through_array", "{'a.b': {'$ne': 1}}", "{'a': [{'b': 2}, {'b': 3}]}"),
    N("dotted_ne_through_array_one_equal", "{'a.b': {'$ne': 1}}", "{'a': [{'b': 2}, {'b': 1}]}"),
    M("dotted_in_through_array", "{'a.b': {'$in': [7]}}", "{'a': [{'b': 1}, {'b': 7}]}"),
    M("dotted_document_value", "{'a.b': {'c': 1}}", "{'a': {'b': {'c': 1}}}"),

    /* null through arrays of documents (MongoDB's null2 and indexv cases) */
    N("null_path_all_elements_have_field", "{'a.b': null}", "{'a': [{'b': 5}]}"),
    M("null_path_element_lacks_field", "{'a.b': null}", "{'a': [{}]}"),
    N("null_path_empty_array", "{'a.b': null}", "{'a': []}"),
    M("null_path_some_element_lacks_field", "{'a.b': null}", "{'a': [{}, {'b': 5}]}"),
    N("null_path_scalar_element_skipped", "{'a.b': null}", "{'a': [5, {'b': 5}]}"),
    M("null_in_path_some_element_lacks_field", "{'a.b': {'$in': [null]}}", "{'a': [{}, {'b': 5}]}"),
    N("null_path_deeper_empty_array", "{'a.b.c': null}", "{'a': [{'b': []}, {'b': {'c': 1}}]}"),
    /* $elemMatch with null (MongoDB's all5 cases) */
    M("elemmatch_null_empty_doc", "{'a': {'$elemMatch': {'b': null}}}", "{'a': [{}]}"),
    M("elemmatch_null_other_field", "{'a': {'$elemMatch': {'b': null}}}", "{'a': [{'c': 1}]}"),
    M("elemmatch_null_explicit", "{'a': {'$elemMatch': {'b': null}}}", "{'a': [{'b': null}]}"),
    N("elemmatch_null_field_set", "{'a': {'$elemMatch': {'b': null}}}", "{'a': [{'b': 1}]}"),
    N("elemmatch_null_scalars", "{'a': {'$elemMatch': {'b': null}}}", "{'a': [1]}"),
    N("elemmatch_null_empty_array", "{'a': {'$elemMatch': {'b': null}}}", "{'a': []}"),
    N("elemmatch_null_missing", "{'a': {'$elemMatch': {'b': null}}}", "{}"),
    N("elemmatch_null_scalar_field", "{'a': {'$elemMatch': {'b': null}}}", "{'a': 1}"),
    M("all_elemmatch_null", "{'a': {'$all': [{'$elemMatch': {'b': null}}]}}", "{'a': [{'c': 1}]}"),
    N("all_elemmatch_null_scalars", "{'a': {'$all': [{'$elemMatch': {'b': null}}]}}", "{'a': [1]}"),

    /* numeric components */
    M("index_component", "{'a.0': 1}", "{'a': [1, 2]}"),
    N("index_component_other_position", "{'a.0': 2}", "{'a': [1, 2]}"),
    M("index_then_field", "{'a.1.b': 2}", "{'a': [{'b': 1}, {'b': 2}]}"),
    N("index_then_field_wrong_position", "{'a.0.b': 2}", "{'a': [{'b': 1}, {'b': 2}]}"),
    M("index_component_as_field_name", "{'a.0': 1}", "{'a': {'0': 1}}"),
    M("index_or_field_in_element", "{'a.0': 5}", "{'a': [{'0': 5}]}"),
    N("index_leading_zero_not_index", "{'a.01': 2}", "{'a': [1, 2]}"),
    M("index_element_whole_array", "{'a.0': [1, 2]}", "{'a': [[1, 2]]}"),
    N("index_element_array_not_expanded", "{'a.0': 1}", "{'a': [[1, 2]]}"),
    M("index_gt", "{'a.1': {'$gt': 3}}", "{'a': [1, 5]}"),
    N("index_out_of_range", "{'a.5': 1}", "{'a': [1]}"),
    M("index_out_of_range_null", "{'a.5': null}", "{'a': [{'x': 1}]}"),
    M("index_nested", "{'a.0.0': 1}", "{'a': [{'0': 1}]}"),
    M("index_then_array_leaf", "{'a.0.b': 2}", "{'a': [{'b': [1, 2]}]}"),

    /* $ne / $nin / $not over arrays */
    N("ne_any_element_equal", "{'a': {'$ne': 2}}", "{'a': [1, 2, 3]}"),
    M("ne_empty_array", "{'a': {'$ne': 2}}", "{'a': []}"),
    N("nin_any_element", "{'a': {'$nin': [3, 4]}}", "{'a': [1, 4]}"),
    M("nin_no_element", "{'a': {'$nin': [3, 4]}}", "{'a': [1, 2]}"),
    N("not_gt_any_element", "{'a': {'$not': {'$gt': 2}}}", "{'a': [1, 3]}"),
    M("not_gt_no_element", "{'a': {'$not': {'$gt': 2}}}", "{'a': [1, 2]}"),

    /* $type and $exists with arrays */
    M("type_array_whole", "{'a': {'_$type': 'array'}}", "{'a': [1, 2]}"),
    M("type_element", "{'a': {'_$type': 'int'}}", "{'a': ['x', 1]}"),
    N("type_element_none", "{'a': {'_$type': 'int'}}", "{'a': ['x', 'y']}"),
    N("type_array_inner_empty_array_elements_checked", "{'a': {'_$type': 'int'}}", "{'a': []}"),
    M("exists_false_missing_in_all_elements", "{'a.b': {'$exists': false}}", "{'a': [{}, {}]}"),

    /* comparisons never cross type brackets, even inside arrays */
    N("gt_array_strings", "{'a': {'$gt': 5}}", "{'a': ['z', 'zz']}"),
    M("lt_mixed_array", "{'a': {'$lt': 'b'}}", "{'a': [1, 'a']}"),
    M("gt_array_vs_array_operand", "{'a': {'$gte': [1, 2]}}", "{'a': [1, 3]}"),
    M("eq_null_array_element_null", "{'a.b': null}", "{'a': [{'b': null}, {'b': 1}]}"),
    M("eq_minkey_element", "{'a': {'$minKey': 1}}", "{'a': [1, {'$minKey': 1}]}"),
};

/* A row for the elemMatchKey: filter, document, expected key (-1: none). */
typedef struct key_case {
    const char *name;
    const char *filter;
    const char *doc;
    int key;
} key_case_t;

static const key_case_t keys[] = {
    {"key_scalar_in_array", "{'a': 5}", "{'a': [1, 5]}", 1},
    {"key_first_matching_element", "{'a': {'$gt': 1}}", "{'a': [1, 2, 3]}", 1},
    {"key_no_array", "{'a': 5}", "{'a': 5}", -1},
    {"key_whole_array_match", "{'a': [1, 5]}", "{'a': [1, 5]}", -1},
    {"key_nested_array_element", "{'a': [1, 5]}", "{'a': [0, [1, 5]]}", 1},
    {"key_dotted_array_of_docs", "{'a.b': 2}", "{'a': [{'b': 1}, {'b': 2}]}", 1},
    {"key_outermost_array_wins", "{'a.b': 2}", "{'a': [{'b': [0]}, {'b': [1, 2]}]}", 1},
    {"key_elemmatch_object", "{'a': {'$elemMatch': {'b': 2}}}", "{'a': [{'b': 1}, {'b': 2}]}", 1},
    {"key_elemmatch_value", "{'a': {'$elemMatch': {'$gt': 5}}}", "{'a': [1, 2, 9]}", 2},
    {"key_elemmatch_dotted", "{'a.b': {'$elemMatch': {'$gt': 5}}}",
     "{'a': [{'b': [1]}, {'b': [9]}]}", 1},
    {"key_and_of_fields", "{'x': 1, 'a': 3}", "{'x': 1, 'a': [1, 2, 3]}", 2},
    {"key_in", "{'a': {'$in': [7, 8]}}", "{'a': [1, 8]}", 1},
    {"key_regex", "{'a': {'_$regex': '^b'}}", "{'a': ['a', 'b']}", 1},
    {"key_or_not_reported", "{'$or': [{'a': 5}, {'b': 1}]}", "{'a': [1, 5]}", -1},
    {"key_numeric_component_no_key", "{'a.1': 5}", "{'a': [1, 5]}", -1},
    {"key_size_no_key", "{'a': {'$size': 2}}", "{'a': [1, 5]}", -1},
    {"key_exists_array_field", "{'a.b': {'$exists': true}}", "{'a': [{}, {'b': 1}]}", 1},
};

/* run_key_case -- evaluate with details and check the elemMatchKey. */
static void run_key_case(void **state)
{
    const key_case_t *c = *state;
    bson_t *filter = to_bson(c->filter);
    bson_t *doc = to_bson(c->doc);
    qry_match_t *m = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_match_parse(filter, NULL, &m, &st), 0);
    qry_match_details_t d = {true, 99};
    if (!qry_match_eval(m, doc, &d))
        fail_msg("%s: expected a match", c->name);
    if (c->key < 0) {
        if (d.has_elem_match_key)
            fail_msg("%s: expected no key, got %u", c->name, d.elem_match_key);
    } else {
        if (!d.has_elem_match_key || d.elem_match_key != (uint32_t)c->key)
            fail_msg("%s: expected key %d, got %s%u", c->name, c->key,
                     d.has_elem_match_key ? "" : "none/", d.elem_match_key);
    }
    qry_match_destroy(m);
    bson_destroy(doc);
    bson_destroy(filter);
}

int main(void)
{
    int failed = run_table("match_arrays", cases, NROWS(cases));
    struct CMUnitTest tests[NROWS(keys)];
    memset(tests, 0, sizeof(tests));
    for (size_t i = 0; i < NROWS(keys); i++) {
        tests[i].name = keys[i].name;
        tests[i].test_func = run_key_case;
        tests[i].initial_state = (void *)&keys[i];
    }
    failed += _cmocka_run_group_tests("match_elem_match_key", tests, NROWS(keys), NULL, NULL);
    return failed;
}
