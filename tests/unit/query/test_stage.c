/*
 * test_stage.c -- table-driven tests of the aggregation stages
 * (query/stage_*.c): each case is a pipeline, its input documents and the
 * expected output (or error code), run both as written and optimised. Many
 * cases are the examples of MongoDB's stage documentation. JSON uses single
 * quotes; collections for $lookup & co. live in an in-memory database.
 */
#include "test_pipeline_harness.h"

static const pcase_t cases[] = {
    /* $match */
    {"match_equality", "[{'$match': {'a': 1}}]", "[{'a': 1}, {'a': 2}, {'a': 1, 'b': 2}]",
     "[{'a': 1}, {'a': 1, 'b': 2}]", 0, false},
    {"match_operators", "[{'$match': {'score': {'$gt': 70, '$lt': 90}}}]",
     "[{'score': 80}, {'score': 85}, {'score': 60}, {'score': 95}]",
     "[{'score': 80}, {'score': 85}]", 0, false},
    {"match_or", "[{'$match': {'$or': [{'a': 1}, {'b': 2}]}}]", "[{'a': 1}, {'b': 2}, {'c': 3}]",
     "[{'a': 1}, {'b': 2}]", 0, false},
    {"match_expr", "[{'$match': {'$expr': {'$gt': ['$spent', '$budget']}}}]",
     "[{'budget': 400, 'spent': 450}, {'budget': 100, 'spent': 50}]",
     "[{'budget': 400, 'spent': 450}]", 0, false},
    {"match_not_object", "[{'$match': 1}]", "[]", NULL, 15959, false},
    {"match_bad_operator", "[{'$match': {'a': {'$foo': 1}}}]", "[]", NULL, 2, false},
    {"match_empty_filter_all", "[{'$match': {}}]", "[{'a': 1}, {'a': 2}]", "[{'a': 1}, {'a': 2}]",
     0, false},
    /* $limit / $skip */
    {"limit", "[{'$limit': 2}]", "[{'a': 1}, {'a': 2}, {'a': 3}]", "[{'a': 1}, {'a': 2}]", 0,
     false},
    {"limit_more_than_input", "[{'$limit': 10}]", "[{'a': 1}]", "[{'a': 1}]", 0, false},
    {"limit_zero", "[{'$limit': 0}]", "[]", NULL, 15958, false},
    {"limit_negative", "[{'$limit': -1}]", "[]", NULL, 15958, false},
    {"limit_string", "[{'$limit': 'a'}]", "[]", NULL, 15957, false},
    {"limit_fraction", "[{'$limit': 1.5}]", "[]", NULL, 15958, false},
    {"skip", "[{'$skip': 1}]", "[{'a': 1}, {'a': 2}, {'a': 3}]", "[{'a': 2}, {'a': 3}]", 0, false},
    {"skip_all", "[{'$skip': 5}]", "[{'a': 1}]", "[]", 0, false},
    {"skip_negative", "[{'$skip': -1}]", "[]", NULL, 15956, false},
    {"skip_then_limit", "[{'$skip': 1}, {'$limit': 1}]", "[{'a': 1}, {'a': 2}, {'a': 3}]",
     "[{'a': 2}]", 0, false},
    {"limit_then_skip", "[{'$limit': 2}, {'$skip': 1}]", "[{'a': 1}, {'a': 2}, {'a': 3}]",
     "[{'a': 2}]", 0, false},
    /* $count */
    {"count", "[{'$match': {'score': {'$gt': 80}}}, {'$count': 'passing_scores'}]",
     "[{'score': 10}, {'score': 85}, {'score': 95}]", "[{'passing_scores': 2}]", 0, false},
    {"count_nothing", "[{'$count': 'n'}]", "[]", "[]", 0, false},
    {"count_empty_name", "[{'$count': ''}]", "[]", NULL, 40156, false},
    {"count_dollar", "[{'$count': '$n'}]", "[]", NULL, 40158, false},
    {"count_dot", "[{'$count': 'a.b'}]", "[]", NULL, 40160, false},
    {"count_not_string", "[{'$count': 1}]", "[]", NULL, 40156, false},
    /* $sort */
    {"sort_asc", "[{'$sort': {'a': 1}}]", "[{'a': 3}, {'a': 1}, {'a': 2}]",
     "[{'a': 1}, {'a': 2}, {'a': 3}]", 0, false},
    {"sort_desc_compound", "[{'$sort': {'a': -1, 'b': 1}}]",
     "[{'a': 1, 'b': 2}, {'a': 2, 'b': 9}, {'a': 1, 'b': 1}]",
     "[{'a': 2, 'b': 9}, {'a': 1, 'b': 1}, {'a': 1, 'b': 2}]", 0, false},
    {"sort_stable", "[{'$sort': {'k': 1}}]", "[{'k': 1, 'i': 1}, {'k': 0}, {'k': 1, 'i': 2}]",
     "[{'k': 0}, {'k': 1, 'i': 1}, {'k': 1, 'i': 2}]", 0, false},
    {"sort_missing_first", "[{'$sort': {'a': 1}}]", "[{'a': 1}, {}, {'a': null}]",
     "[{}, {'a': null}, {'a': 1}]", 0, false},
    {"sort_limit_topk", "[{'$sort': {'a': -1}}, {'$limit': 2}]",
     "[{'a': 3}, {'a': 1}, {'a': 5}, {'a': 4}]", "[{'a': 5}, {'a': 4}]", 0, false},
    {"sort_not_object", "[{'$sort': 1}]", "[]", NULL, 15973, false},
    {"sort_empty", "[{'$sort': {}}]", "[]", NULL, 15976, false},
    {"sort_bad_direction", "[{'$sort': {'a': 2}}]", "[]", NULL, 15975, false},
    /* $project */
    {"project_include", "[{'$project': {'title': 1, 'author': 1}}]",
     "[{'_id': 1, 'title': 'abc123', 'isbn': '0001122223334', 'author': {'last': 'zzz', "
     "'first': 'aaa'}, 'copies': 5}]",
     "[{'_id': 1, 'title': 'abc123', 'author': {'last': 'zzz', 'first': 'aaa'}}]", 0, false},
    {"project_suppress_id", "[{'$project': {'_id': 0, 'title': 1}}]",
     "[{'_id': 1, 'title': 'abc', 'x': 1}]", "[{'title': 'abc'}]", 0, false},
    {"project_exclude", "[{'$project': {'lastModified': 0}}]",
     "[{'_id': 1, 'title': 'abc', 'lastModified': 5}]", "[{'_id': 1, 'title': 'abc'}]", 0, false},
    {"project_exclude_nested", "[{'$project': {'author.first': 0}}]",
     "[{'_id': 1, 'author': {'last': 'z', 'first': 'a'}}]",
     "[{'_id': 1, 'author': {'last': "
     "'z'}}]",
     0, false},
    {"project_include_nested_dotted", "[{'$project': {'stop.title': 1}}]",
     "[{'_id': 1, 'stop': {'title': 't', 'x': 1}, 'y': 2}]",
     "[{'_id': 1, 'stop': {'title': "
     "'t'}}]",
     0, false},
    {"project_include_nested_object", "[{'$project': {'stop': {'title': 1}}}]",
     "[{'_id': 1, 'stop': {'title': 't', 'x': 1}, 'y': 2}]",
     "[{'_id': 1, 'stop': {'title': "
     "'t'}}]",
     0, false},
    {"project_through_array", "[{'$project': {'_id': 0, 'a.b': 1}}]",
     "[{'a': [{'b': 1, 'c': 2}, 3, {'c': 4}]}]", "[{'a': [{'b': 1}, {}]}]", 0, false},
    {"project_computed", "[{'$project': {'title': 1, 'lastName': '$author.last'}}]",
     "[{'_id': 1, 'title': 'abc', 'author': {'last': 'zzz', 'first': 'aaa'}}]",
     "[{'_id': 1, 'title': 'abc', 'lastName': 'zzz'}]", 0, false},
    {"project_computed_missing_dropped", "[{'$project': {'x': '$nope'}}]", "[{'_id': 1}]",
     "[{'_id': 1}]", 0, false},
    {"project_literal_string", "[{'$project': {'_id': 0, 's': 'hello'}}]", "[{'_id': 1}]",
     "[{'s': 'hello'}]", 0, false},
    {"project_computed_array", "[{'$project': {'_id': 0, 'myArray': ['$x', '$y']}}]",
     "[{'x': 1, 'y': 1}]", "[{'myArray': [1, 1]}]", 0, false},
    {"project_computed_array_missing_null",
     "[{'$project': {'_id': 0, 'myArray': ['$x', "
     "'$nope']}}]",
     "[{'x': 1}]", "[{'myArray': [1, null]}]", 0, false},
    {"project_remove_var",
     "[{'$project': {'a': {'$cond': [{'$eq': ['$a', 1]}, '$$REMOVE', "
     "'$a']}}}]",
     "[{'_id': 1, 'a': 1}, {'_id': 2, 'a': 2}]", "[{'_id': 1}, {'_id': 2, 'a': 2}]", 0, false},
    {"project_mixed_error", "[{'$project': {'a': 1, 'b': 0}}]", "[]", NULL, 31253, false},
    {"project_empty_error", "[{'$project': {}}]", "[]", NULL, 51272, false},
    {"project_path_collision", "[{'$project': {'a': 1, 'a.b': 1}}]", "[]", NULL, 31250, false},
    {"project_dollar_field", "[{'$project': {'$a': 1}}]", "[]", NULL, 16410, false},
    {"project_not_object", "[{'$project': 1}]", "[]", NULL, 15969, false},
    {"project_id_only_excluded", "[{'$project': {'_id': 0}}]", "[{'_id': 1, 'a': 2}]", "[{'a': 2}]",
     0, false},
    {"project_bool_include", "[{'$project': {'a': true}}]", "[{'_id': 1, 'a': 2, 'b': 3}]",
     "[{'_id': 1, 'a': 2}]", 0, false},
    /* $addFields / $set */
    {"addfields_doc_example",
     "[{'$addFields': {'totalHomework': {'$add': ["
     "{'$arrayElemAt': ['$homework', 0]}, {'$arrayElemAt': "
     "['$homework', 1]}, {'$arrayElemAt': ['$homework', 2]}]}, "
     "'totalQuiz': {'$add': [{'$first': '$quiz'}, {'$last': "
     "'$quiz'}]}}}, {'$addFields': "
     "{'totalScore': {'$add': ['$totalHomework', '$totalQuiz', "
     "'$extraCredit']}}}]",
     "[{'_id': 1, 'student': 'Maya', 'homework': [10, 5, 10], 'quiz': [10, 8], "
     "'extraCredit': 0}]",
     "[{'_id': 1, 'student': 'Maya', 'homework': [10, 5, 10], 'quiz': [10, 8], 'extraCredit': "
     "0, 'totalHomework': 25, 'totalQuiz': 18, 'totalScore': 43}]",
     0, false},
    {"addfields_embedded", "[{'$addFields': {'specs.fuel_type': 'unleaded'}}]",
     "[{'_id': 1, 'specs': {'doors': 4, 'wheels': 4}}, {'_id': 3, 'type': 'jet ski'}]",
     "[{'_id': 1, 'specs': {'doors': 4, 'wheels': 4, 'fuel_type': 'unleaded'}}, {'_id': 3, "
     "'type': 'jet ski', 'specs': {'fuel_type': 'unleaded'}}]",
     0, false},
    {"addfields_overwrite_in_place", "[{'$addFields': {'cats': 20}}]",
     "[{'_id': 1, 'dogs': 10, 'cats': 15}]", "[{'_id': 1, 'dogs': 10, 'cats': 20}]", 0, false},
    {"addfields_replace_id", "[{'$addFields': {'_id': '$item', 'item': 'fruit'}}]",
     "[{'_id': 1, 'item': 'tangerine', 'type': 'citrus'}]",
     "[{'_id': 'tangerine', 'item': 'fruit', 'type': 'citrus'}]", 0, false},
    {"addfields_concat_array",
     "[{'$match': {'_id': 1}}, {'$addFields': {'homework': "
     "{'$concatArrays': ['$homework', [7]]}}}]",
     "[{'_id': 1, 'homework': [10, 5]}]", "[{'_id': 1, 'homework': [10, 5, 7]}]", 0, false},
    {"addfields_array_of_docs", "[{'$addFields': {'a.b': 1}}]", "[{'a': [{'c': 1}, 2]}]",
     "[{'a': [{'c': 1, 'b': 1}, {'b': 1}]}]", 0, false},
    {"addfields_remove", "[{'$addFields': {'a': '$$REMOVE'}}]", "[{'a': 1, 'b': 2}]", "[{'b': 2}]",
     0, false},
    {"addfields_literal_number", "[{'$addFields': {'n': 1}}]", "[{'a': 1}]", "[{'a': 1, 'n': 1}]",
     0, false},
    {"set_alias", "[{'$set': {'x': {'$multiply': ['$a', 2]}}}]", "[{'a': 3}]", "[{'a': 3, 'x': 6}]",
     0, false},
    {"addfields_not_object", "[{'$addFields': 1}]", "[]", NULL, 40272, false},
    {"addfields_empty_is_noop", "[{'$addFields': {}}]", "[{'a': 1}]", "[{'a': 1}]", 0, false},
    /* $unset */
    {"unset_one", "[{'$unset': 'copies'}]", "[{'_id': 1, 'title': 't', 'copies': 5}]",
     "[{'_id': 1, 'title': 't'}]", 0, false},
    {"unset_many", "[{'$unset': ['isbn', 'copies']}]",
     "[{'_id': 1, 'isbn': 'x', 'copies': 5, 'title': 't'}]", "[{'_id': 1, 'title': 't'}]", 0,
     false},
    {"unset_embedded", "[{'$unset': ['isbn', 'author.first', 'copies.warehouse']}]",
     "[{'_id': 1, 'isbn': 'x', 'author': {'last': 'l', 'first': 'f'}, 'copies': [{'warehouse': "
     "'A', 'qty': 5}, {'warehouse': 'B', 'qty': 15}]}]",
     "[{'_id': 1, 'author': {'last': 'l'}, 'copies': [{'qty': 5}, {'qty': 15}]}]", 0, false},
    {"unset_bad_type", "[{'$unset': 1}]", "[]", NULL, 31002, false},
    {"unset_bad_element", "[{'$unset': ['a', 1]}]", "[]", NULL, 31120, false},
    /* $unwind */
    {"unwind_string", "[{'$unwind': '$sizes'}]",
     "[{'_id': 1, 'item': 'ABC1', 'sizes': ['S', "
     "'M', 'L']}]",
     "[{'_id': 1, 'item': 'ABC1', 'sizes': 'S'}, {'_id': 1, 'item': 'ABC1', 'sizes': 'M'}, "
     "{'_id': 1, 'item': 'ABC1', 'sizes': 'L'}]",
     0, false},
    {"unwind_skips_null_missing_empty", "[{'$unwind': '$sizes'}]",
     "[{'_id': 1, 'sizes': []}, {'_id': 2, 'sizes': null}, {'_id': 3}, {'_id': 4, 'sizes': "
     "'M'}]",
     "[{'_id': 4, 'sizes': 'M'}]", 0, false},
    {"unwind_preserve", "[{'$unwind': {'path': '$sizes', 'preserveNullAndEmptyArrays': true}}]",
     "[{'_id': 1, 'sizes': ['S', 'M']}, {'_id': 2, 'sizes': []}, {'_id': 3, 'sizes': null}, "
     "{'_id': 4}]",
     "[{'_id': 1, 'sizes': 'S'}, {'_id': 1, 'sizes': 'M'}, {'_id': 2}, {'_id': 3, 'sizes': "
     "null}, {'_id': 4}]",
     0, false},
    {"unwind_index", "[{'$unwind': {'path': '$sizes', 'includeArrayIndex': 'arrayIndex'}}]",
     "[{'_id': 1, 'sizes': ['S', 'M']}, {'_id': 2, 'sizes': 'L'}]",
     "[{'_id': 1, 'sizes': 'S', 'arrayIndex': {'$numberLong': '0'}}, {'_id': 1, 'sizes': 'M', "
     "'arrayIndex': {'$numberLong': '1'}}, {'_id': 2, 'sizes': 'L', 'arrayIndex': null}]",
     0, false},
    {"unwind_nested_path", "[{'$unwind': '$a.b'}]", "[{'a': {'b': [1, 2], 'c': 3}}]",
     "[{'a': {'b': 1, 'c': 3}}, {'a': {'b': 2, 'c': 3}}]", 0, false},
    {"unwind_no_dollar", "[{'$unwind': 'sizes'}]", "[]", NULL, 28818, false},
    {"unwind_bad_type", "[{'$unwind': 1}]", "[]", NULL, 15981, false},
    {"unwind_no_path", "[{'$unwind': {'includeArrayIndex': 'i'}}]", "[]", NULL, 28812, false},
    {"unwind_unknown_option", "[{'$unwind': {'path': '$a', 'x': 1}}]", "[]", NULL, 28811, false},
    {"unwind_preserve_not_bool",
     "[{'$unwind': {'path': '$a', "
     "'preserveNullAndEmptyArrays': 1}}]",
     "[]", NULL, 28809, false},
    {"unwind_index_dollar", "[{'$unwind': {'path': '$a', 'includeArrayIndex': '$i'}}]", "[]", NULL,
     28822, false},
    /* $group */
    {"group_count_all", "[{'$group': {'_id': null, 'count': {'$count': {}}}}]",
     "[{'a': 1}, {'a': 2}, {'a': 3}]", "[{'_id': null, 'count': 3}]", 0, false},
    {"group_by_item_having",
     "[{'$group': {'_id': '$item', 'totalSaleAmount': {'$sum': "
     "{'$multiply': ['$price', '$quantity']}}}}, {'$match': "
     "{'totalSaleAmount': {'$gte': 100}}}]",
     "[{'item': 'abc', 'price': 10, 'quantity': 2}, {'item': 'jkl', 'price': 20, 'quantity': "
     "1}, {'item': 'xyz', 'price': 5, 'quantity': 10}, {'item': 'xyz', 'price': 5, 'quantity': "
     "20}, {'item': 'abc', 'price': 10, 'quantity': 10}]",
     "[{'_id': 'abc', 'totalSaleAmount': 120}, {'_id': 'xyz', 'totalSaleAmount': 150}]", 0, true},
    {"group_distinct", "[{'$group': {'_id': '$item'}}]",
     "[{'item': 'abc'}, {'item': 'jkl'}, {'item': 'abc'}]", "[{'_id': 'abc'}, {'_id': 'jkl'}]", 0,
     true},
    {"group_numeric_ids_merge", "[{'$group': {'_id': '$k', 'n': {'$sum': 1}}}]",
     "[{'k': 1}, {'k': 1.0}, {'k': {'$numberLong': '1'}}, {'k': 2}]",
     "[{'_id': 1, 'n': 3}, {'_id': 2, 'n': 1}]", 0, true},
    {"group_missing_id_is_null", "[{'$group': {'_id': '$k', 'n': {'$sum': 1}}}]",
     "[{'k': null}, {}, {'k': 1}]", "[{'_id': null, 'n': 2}, {'_id': 1, 'n': 1}]", 0, true},
    {"group_compound_id", "[{'$group': {'_id': {'a': '$a', 'b': '$b'}, 'n': {'$sum': 1}}}]",
     "[{'a': 1, 'b': 1}, {'a': 1, 'b': 2}, {'a': 1, 'b': 1}]",
     "[{'_id': {'a': 1, 'b': 1}, 'n': 2}, {'_id': {'a': 1, 'b': 2}, 'n': 1}]", 0, true},
    {"group_push_root", "[{'$group': {'_id': '$author', 'books': {'$push': '$$ROOT'}}}]",
     "[{'_id': 8751, 'title': 'The Banquet', 'author': 'Dante'}, {'_id': 7000, 'title': 'The "
     "Odyssey', 'author': 'Homer'}, {'_id': 7020, 'title': 'Iliad', 'author': 'Homer'}]",
     "[{'_id': 'Dante', 'books': [{'_id': 8751, 'title': 'The Banquet', 'author': 'Dante'}]}, "
     "{'_id': 'Homer', 'books': [{'_id': 7000, 'title': 'The Odyssey', 'author': 'Homer'}, "
     "{'_id': 7020, 'title': 'Iliad', 'author': 'Homer'}]}]",
     0, true},
    {"group_no_id", "[{'$group': {'n': {'$sum': 1}}}]", "[]", NULL, 15955, false},
    {"group_not_object", "[{'$group': 1}]", "[]", NULL, 15947, false},
    {"group_unknown_accumulator", "[{'$group': {'_id': null, 'n': {'$foo': 1}}}]", "[]", NULL,
     15952, false},
    {"group_field_not_accumulator", "[{'$group': {'_id': null, 'n': 1}}]", "[]", NULL, 40234,
     false},
    {"group_two_accumulators", "[{'$group': {'_id': null, 'n': {'$sum': 1, '$avg': 1}}}]", "[]",
     NULL, 40238, false},
    {"group_dotted_field", "[{'$group': {'_id': null, 'a.b': {'$sum': 1}}}]", "[]", NULL, 40235,
     false},
    {"group_empty_input", "[{'$group': {'_id': null, 'n': {'$sum': 1}}}]", "[]", "[]", 0, false},
    /* $sortByCount */
    {"sortbycount", "[{'$unwind': '$tags'}, {'$sortByCount': '$tags'}]",
     "[{'tags': ['a', 'b']}, {'tags': ['b', 'c']}, {'tags': ['b']}, {'tags': ['c']}]",
     "[{'_id': 'b', 'count': 3}, {'_id': 'c', 'count': 2}, {'_id': 'a', 'count': 1}]", 0, false},
    {"sortbycount_constant", "[{'$sortByCount': 1}]", "[]", NULL, 40148, false},
    /* $replaceRoot / $replaceWith */
    {"replaceroot_embedded", "[{'$replaceRoot': {'newRoot': '$name'}}]",
     "[{'_id': 1, 'name': {'first': 'John', 'last': 'Backus'}}]",
     "[{'first': 'John', 'last': 'Backus'}]", 0, false},
    {"replaceroot_merge",
     "[{'$replaceRoot': {'newRoot': {'$mergeObjects': [{'dogs': 0, "
     "'cats': 0}, '$pets']}}}]",
     "[{'_id': 1, 'pets': {'dogs': 2, 'fish': 3}}]", "[{'dogs': 2, 'cats': 0, 'fish': 3}]", 0,
     false},
    {"replaceroot_new_doc",
     "[{'$replaceRoot': {'newRoot': {'full_name': {'$concat': "
     "['$first_name', ' ', '$last_name']}}}}]",
     "[{'first_name': 'Gary', 'last_name': 'Sheffield'}]", "[{'full_name': 'Gary Sheffield'}]", 0,
     false},
    {"replaceroot_missing_fails", "[{'$replaceRoot': {'newRoot': '$name'}}]", "[{'_id': 1}]", NULL,
     40228, false},
    {"replaceroot_scalar_fails", "[{'$replaceRoot': {'newRoot': '$n'}}]", "[{'n': 1}]", NULL, 40228,
     false},
    {"replaceroot_no_newroot", "[{'$replaceRoot': {}}]", "[]", NULL, 40414, false},
    {"replaceroot_unknown_field", "[{'$replaceRoot': {'newRoot': '$a', 'x': 1}}]", "[]", NULL,
     40415, false},
    {"replacewith", "[{'$replaceWith': '$a'}]", "[{'a': {'x': 1}}]", "[{'x': 1}]", 0, false},
    /* $documents */
    {"documents", "[{'$documents': [{'x': 10}, {'x': 2}, {'x': 5}]}, {'$sort': {'x': 1}}]",
     "[{'ignored': 1}]", "[{'x': 2}, {'x': 5}, {'x': 10}]", 0, false},
    {"documents_not_first", "[{'$match': {}}, {'$documents': []}]", "[]", NULL, 40602, false},
    {"documents_not_array", "[{'$documents': 1}]", "[]", NULL, 5858203, false},
    /* $bucket */
    {"bucket_doc_example",
     "[{'$bucket': {'groupBy': '$year_born', 'boundaries': [1840, 1850, "
     "1860, 1870, 1880], 'default': 'Other', 'output': {'count': "
     "{'$sum': 1}, 'artists': {'$push': '$last_name'}}}}]",
     "[{'last_name': 'Bernard', 'year_born': 1887}, {'last_name': 'Rippl-Ronai', 'year_born': "
     "1861}, {'last_name': 'Ostroumova', 'year_born': 1871}, {'last_name': 'Van Gogh', "
     "'year_born': 1853}, {'last_name': 'Maurer', 'year_born': 1868}, {'last_name': 'Munch', "
     "'year_born': 1863}, {'last_name': 'Redon', 'year_born': 1840}, {'last_name': 'Klimt', "
     "'year_born': 1862}]",
     "[{'_id': 1840, 'count': 1, 'artists': ['Redon']}, {'_id': 1850, 'count': 1, 'artists': "
     "['Van Gogh']}, {'_id': 1860, 'count': 4, 'artists': ['Rippl-Ronai', 'Maurer', 'Munch', "
     "'Klimt']}, {'_id': 1870, 'count': 1, 'artists': ['Ostroumova']}, {'_id': 'Other', "
     "'count': 1, 'artists': ['Bernard']}]",
     0, false},
    {"bucket_default_count", "[{'$bucket': {'groupBy': '$p', 'boundaries': [0, 10, 20]}}]",
     "[{'p': 1}, {'p': 5}, {'p': 15}]", "[{'_id': 0, 'count': 2}, {'_id': 10, 'count': 1}]", 0,
     false},
    {"bucket_no_default_out_of_range",
     "[{'$bucket': {'groupBy': '$p', 'boundaries': [0, "
     "10]}}]",
     "[{'p': 11}]", NULL, 40066, false},
    {"bucket_unsorted_boundaries", "[{'$bucket': {'groupBy': '$p', 'boundaries': [10, 0]}}]", "[]",
     NULL, 40194, false},
    {"bucket_one_boundary", "[{'$bucket': {'groupBy': '$p', 'boundaries': [0]}}]", "[]", NULL,
     40192, false},
    {"bucket_mixed_types", "[{'$bucket': {'groupBy': '$p', 'boundaries': [0, 'a']}}]", "[]", NULL,
     40193, false},
    {"bucket_default_inside",
     "[{'$bucket': {'groupBy': '$p', 'boundaries': [0, 10], "
     "'default': 5}}]",
     "[]", NULL, 40199, false},
    {"bucket_missing_groupby", "[{'$bucket': {'boundaries': [0, 10]}}]", "[]", NULL, 40198, false},
    /* $bucketAuto */
    {"bucketauto_even", "[{'$bucketAuto': {'groupBy': '$price', 'buckets': 2}}]",
     "[{'price': 1}, {'price': 2}, {'price': 3}, {'price': 4}]",
     "[{'_id': {'min': 1, 'max': 3}, 'count': 2}, {'_id': {'min': 3, 'max': 4}, 'count': 2}]", 0,
     false},
    {"bucketauto_equal_values_stay_together",
     "[{'$bucketAuto': {'groupBy': '$v', 'buckets': "
     "2}}]",
     "[{'v': 1}, {'v': 1}, {'v': 1}, {'v': 2}]",
     "[{'_id': {'min': 1, 'max': 2}, 'count': 3}, {'_id': {'min': 2, 'max': 2}, 'count': 1}]", 0,
     false},
    {"bucketauto_output",
     "[{'$bucketAuto': {'groupBy': '$v', 'buckets': 1, 'output': {'t': "
     "{'$sum': '$v'}}}}]",
     "[{'v': 1}, {'v': 2}]", "[{'_id': {'min': 1, 'max': 2}, 't': 3}]", 0, false},
    {"bucketauto_zero_buckets", "[{'$bucketAuto': {'groupBy': '$v', 'buckets': 0}}]", "[]", NULL,
     40243, false},
    /* $facet */
    {"facet_two",
     "[{'$facet': {'byA': [{'$group': {'_id': '$a', 'n': {'$sum': 1}}}, {'$sort': "
     "{'_id': 1}}], 'total': [{'$count': 'n'}]}}]",
     "[{'a': 1}, {'a': 2}, {'a': 1}]",
     "[{'byA': [{'_id': 1, 'n': 2}, {'_id': 2, 'n': 1}], 'total': [{'n': 3}]}]", 0, false},
    {"facet_empty_input", "[{'$facet': {'x': [{'$match': {}}]}}]", "[]", "[{'x': []}]", 0, false},
    {"facet_nested_facet", "[{'$facet': {'x': [{'$facet': {'y': [{'$match': {}}]}}]}}]", "[]", NULL,
     40600, false},
    {"facet_out_inside", "[{'$facet': {'x': [{'$out': 'o'}]}}]", "[]", NULL, 40600, false},
    {"facet_not_array", "[{'$facet': {'x': 1}}]", "[]", NULL, 40170, false},
    {"facet_empty", "[{'$facet': {}}]", "[]", NULL, 40169, false},
    /* $redact */
    {"redact_prune_descend",
     "[{'$redact': {'$cond': {'if': {'$eq': ['$level', 5]}, 'then': "
     "'$$PRUNE', 'else': '$$DESCEND'}}}]",
     "[{'_id': 1, 'level': 1, 'a': {'level': 5, 'x': 1}, 'b': {'level': 2, 'y': 2}, 'c': "
     "[{'level': 5}, {'level': 3, 'z': 1}]}]",
     "[{'_id': 1, 'level': 1, 'b': {'level': 2, 'y': 2}, 'c': [{'level': 3, 'z': 1}]}]", 0, false},
    {"redact_keep", "[{'$redact': '$$KEEP'}]", "[{'a': 1}]", "[{'a': 1}]", 0, false},
    {"redact_prune_all", "[{'$redact': '$$PRUNE'}]", "[{'a': 1}]", "[]", 0, false},
    {"redact_bad_value", "[{'$redact': 'x'}]", "[{'a': 1}]", NULL, 17053, false},
    /* $sample */
    {"sample_size_larger_than_input", "[{'$sample': {'size': 10}}]",
     "[{'a': 1}, {'a': 2}, {'a': 3}]", "[{'a': 1}, {'a': 2}, {'a': 3}]", 0, true},
    {"sample_zero", "[{'$sample': {'size': 0}}]", "[{'a': 1}]", "[]", 0, false},
    {"sample_no_size", "[{'$sample': {}}]", "[]", NULL, 28749, false},
    {"sample_negative", "[{'$sample': {'size': -1}}]", "[]", NULL, 28747, false},
    {"sample_unknown", "[{'$sample': {'size': 1, 'x': 1}}]", "[]", NULL, 28748, false},
    {"sample_not_number", "[{'$sample': {'size': 'a'}}]", "[]", NULL, 28746, false},

    /* more $group, from the documentation */
    {"group_first_after_sort",
     "[{'$sort': {'item': 1, 'date': 1}}, {'$group': {'_id': '$item', 'firstSale': "
     "{'$first': '$date'}, 'lastSale': {'$last': '$date'}}}, {'$sort': {'_id': 1}}]",
     "[{'item': 'abc', 'date': 3}, {'item': 'jkl', 'date': 1}, {'item': 'abc', 'date': 1}, "
     "{'item': 'abc', 'date': 2}]",
     "[{'_id': 'abc', 'firstSale': 1, 'lastSale': 3}, {'_id': 'jkl', 'firstSale': 1, "
     "'lastSale': 1}]",
     0, false},
    {"group_by_expression_id",
     "[{'$group': {'_id': {'$mod': ['$v', 2]}, 'n': {'$sum': 1}}}, {'$sort': {'_id': 1}}]",
     "[{'v': 1}, {'v': 2}, {'v': 3}]", "[{'_id': 0, 'n': 1}, {'_id': 1, 'n': 2}]", 0, false},
    {"group_id_constant", "[{'$group': {'_id': 'all', 'm': {'$max': '$v'}}}]",
     "[{'v': 1}, {'v': 7}]", "[{'_id': 'all', 'm': 7}]", 0, false},
    {"group_id_array_value", "[{'$group': {'_id': '$t', 'n': {'$sum': 1}}}]",
     "[{'t': [1, 2]}, {'t': [1, 2]}, {'t': [2, 1]}]",
     "[{'_id': [1, 2], 'n': 2}, {'_id': [2, 1], 'n': 1}]", 0, true},
    {"group_then_unwind_roundtrip",
     "[{'$group': {'_id': '$g', 'vs': {'$push': '$v'}}}, {'$unwind': '$vs'}, {'$sort': {'vs': "
     "1}}]",
     "[{'g': 1, 'v': 3}, {'g': 1, 'v': 1}, {'g': 2, 'v': 2}]",
     "[{'_id': 1, 'vs': 1}, {'_id': 2, 'vs': 2}, {'_id': 1, 'vs': 3}]", 0, false},
    {"group_subdocument_id_order_matters", "[{'$group': {'_id': '$k', 'n': {'$sum': 1}}}]",
     "[{'k': {'a': 1, 'b': 2}}, {'k': {'b': 2, 'a': 1}}]",
     "[{'_id': {'a': 1, 'b': 2}, 'n': 1}, {'_id': {'b': 2, 'a': 1}, 'n': 1}]", 0, true},
    {"group_operator_field_name", "[{'$group': {'_id': null, '$n': {'$sum': 1}}}]", "[]", NULL,
     40236, false},
    /* $sort details */
    {"sort_nested_field", "[{'$sort': {'a.b': -1}}]",
     "[{'a': {'b': 1}}, {'a': {'b': 3}}, {'a': {'b': 2}}]",
     "[{'a': {'b': 3}}, {'a': {'b': 2}}, {'a': {'b': 1}}]", 0, false},
    {"sort_array_min", "[{'$sort': {'a': 1}}]", "[{'a': [5, 1]}, {'a': 3}, {'a': [4, 2]}]",
     "[{'a': [5, 1]}, {'a': [4, 2]}, {'a': 3}]", 0, false},
    {"sort_mixed_types", "[{'$sort': {'a': 1}}]",
     "[{'a': true}, {'a': 'x'}, {'a': 1}, {'a': null}, {'a': {'b': 1}}]",
     "[{'a': null}, {'a': 1}, {'a': 'x'}, {'a': {'b': 1}}, {'a': true}]", 0, false},
    {"sort_meta_unknown", "[{'$sort': {'s': {'$meta': 'nope'}}}]", "[]", NULL, 31138, false},
    {"sort_limit_one", "[{'$sort': {'a': 1}}, {'$limit': 1}]", "[{'a': 3}, {'a': 1}, {'a': 2}]",
     "[{'a': 1}]", 0, false},
    {"sort_skip_limit", "[{'$sort': {'a': 1}}, {'$skip': 1}, {'$limit': 2}]",
     "[{'a': 4}, {'a': 1}, {'a': 3}, {'a': 2}]", "[{'a': 2}, {'a': 3}]", 0, false},
    /* $match after reshaping (optimiser must not break them) */
    {"match_after_addfields_reads_new_field",
     "[{'$addFields': {'x': {'$add': ['$a', 1]}}}, {'$match': {'x': 3}}]", "[{'a': 1}, {'a': 2}]",
     "[{'a': 2, 'x': 3}]", 0, false},
    {"match_after_project_rename", "[{'$project': {'_id': 0, 'b': '$a'}}, {'$match': {'b': 2}}]",
     "[{'a': 1}, {'a': 2}]", "[{'b': 2}]", 0, false},
    {"match_after_unwind", "[{'$unwind': '$t'}, {'$match': {'t': 'b'}}]",
     "[{'_id': 1, 't': ['a', 'b']}]", "[{'_id': 1, 't': 'b'}]", 0, false},
    {"match_after_sort_moves", "[{'$sort': {'a': -1}}, {'$match': {'a': {'$gt': 1}}}]",
     "[{'a': 1}, {'a': 3}, {'a': 2}]", "[{'a': 3}, {'a': 2}]", 0, false},
    {"match_after_group",
     "[{'$group': {'_id': '$k', 'n': {'$sum': 1}}}, {'$match': {'n': {'$gt': "
     "1}}}]",
     "[{'k': 1}, {'k': 1}, {'k': 2}]", "[{'_id': 1, 'n': 2}]", 0, false},
    {"match_after_limit_keeps_semantics", "[{'$limit': 2}, {'$match': {'a': 3}}]",
     "[{'a': 1}, {'a': 2}, {'a': 3}]", "[]", 0, false},
    {"match_after_lookup_as", "[{'$addFields': {'j': [1]}}, {'$match': {'j': 1}}]", "[{'a': 1}]",
     "[{'a': 1, 'j': [1]}]", 0, false},
    /* $project more */
    {"project_nested_computed",
     "[{'$project': {'_id': 0, 'a': {'b': 1, 'c': {'$literal': "
     "5}}}}]",
     "[{'a': {'c': 1, 'b': 2, 'd': 3}}]", "[{'a': {'b': 2, 'c': 5}}]", 0, false},
    {"project_computed_new_subdoc", "[{'$project': {'_id': 0, 'x.y': '$a'}}]", "[{'a': 1}]",
     "[{'x': {'y': 1}}]", 0, false},
    {"project_conditional_exclude",
     "[{'$project': {'_id': 0, 'title': 1, 'author.middle': "
     "{'$cond': {'if': {'$eq': ['', '$author.middle']}, 'then': "
     "'$$REMOVE', 'else': '$author.middle'}}}}]",
     "[{'title': 'a', 'author': {'first': 'f', 'middle': ''}}, {'title': 'b', 'author': "
     "{'first': 'g', 'middle': 'm'}}]",
     "[{'title': 'a', 'author': {}}, {'title': 'b', 'author': {'middle': 'm'}}]", 0, false},
    {"project_exclude_missing_fine", "[{'$project': {'nope': 0}}]", "[{'a': 1}]", "[{'a': 1}]", 0,
     false},
    {"project_exclusion_through_array", "[{'$project': {'a.b': 0}}]",
     "[{'a': [{'b': 1, 'c': 2}, 5]}]", "[{'a': [{'c': 2}, 5]}]", 0, false},
    {"project_include_id_subfield", "[{'$project': {'_id.x': 1}}]",
     "[{'_id': {'x': 1, 'y': "
     "2}, 'a': 1}]",
     "[{'_id': {'x': 1}}]", 0, false},
    {"project_empty_subprojection", "[{'$project': {'a': {}}}]", "[]", NULL, 51270, false},
    {"project_expression_error", "[{'$project': {'a': {'$add': ['$s', 1]}}}]", "[{'s': 'x'}]", NULL,
     16554, false},
    {"project_unknown_expression", "[{'$project': {'a': {'$nope': 1}}}]", "[]", NULL, 168, false},
    /* $addFields more */
    {"addfields_nested_object_merges", "[{'$addFields': {'a': {'c': 2}}}]", "[{'a': {'b': 1}}]",
     "[{'a': {'b': 1, 'c': 2}}]", 0, false},
    {"addfields_scalar_replaced_by_subfield", "[{'$addFields': {'a.b': 1}}]", "[{'a': 5}]",
     "[{'a': {'b': 1}}]", 0, false},
    {"addfields_uses_root", "[{'$addFields': {'copy': '$$ROOT'}}]", "[{'a': 1}]",
     "[{'a': 1, 'copy': {'a': 1}}]", 0, false},
    {"addfields_sees_original_doc", "[{'$addFields': {'a': 2, 'b': '$a'}}]", "[{'a': 1}]",
     "[{'a': 2, 'b': 1}]", 0, false},
    {"set_empty_object_value", "[{'$set': {'a': {}}}]", "[{'x': 1}]", "[{'x': 1, 'a': {}}]", 0,
     false},
    /* $unwind more */
    {"unwind_then_count", "[{'$unwind': '$a'}, {'$count': 'n'}]",
     "[{'a': [1, 2, 3]}, {'a': [4]}, {'a': []}]", "[{'n': 4}]", 0, false},
    {"unwind_preserve_with_index",
     "[{'$unwind': {'path': '$a', 'includeArrayIndex': 'i', "
     "'preserveNullAndEmptyArrays': true}}]",
     "[{'_id': 1}, {'_id': 2, 'a': [7]}]",
     "[{'_id': 1, 'i': null}, {'_id': 2, 'a': 7, 'i': {'$numberLong': '0'}}]", 0, false},
    {"unwind_nested_arrays_one_level", "[{'$unwind': '$a'}]", "[{'a': [[1, 2], 3]}]",
     "[{'a': [1, 2]}, {'a': 3}]", 0, false},
    {"unwind_documents_elements", "[{'$unwind': '$a'}, {'$replaceWith': '$a'}]",
     "[{'a': [{'x': 1}, {'x': 2}]}]", "[{'x': 1}, {'x': 2}]", 0, false},
    /* $limit/$skip/$count combos */
    {"skip_limit_count", "[{'$skip': 1}, {'$limit': 2}, {'$count': 'n'}]", "[{}, {}, {}, {}]",
     "[{'n': 2}]", 0, false},
    {"limit_long", "[{'$limit': {'$numberLong': '2'}}]", "[{'a': 1}, {'a': 2}, {'a': 3}]",
     "[{'a': 1}, {'a': 2}]", 0, false},
    {"limit_double_integral", "[{'$limit': 2.0}]", "[{'a': 1}, {'a': 2}, {'a': 3}]",
     "[{'a': 1}, {'a': 2}]", 0, false},
    {"skip_zero", "[{'$skip': 0}]", "[{'a': 1}]", "[{'a': 1}]", 0, false},
    {"skip_string", "[{'$skip': 'x'}]", "[]", NULL, 15972, false},
    /* $facet more */
    {"facet_doc_example",
     "[{'$facet': {'categorizedByTags': [{'$unwind': '$tags'}, {'$sortByCount': '$tags'}], "
     "'categorizedByPrice': [{'$match': {'price': {'$exists': 1}}}, {'$bucket': {'groupBy': "
     "'$price', 'boundaries': [0, 150, 200, 300, 400], 'default': 'Other', 'output': {'count': "
     "{'$sum': 1}, 'titles': {'$push': '$title'}}}}]}}]",
     "[{'title': 'The Pillars of Society', 'price': 199, 'tags': ['painting', 'satire']}, "
     "{'title': 'Melancholy III', 'price': 280, 'tags': ['woodcut', 'painting']}, {'title': "
     "'Dancer', 'price': 76, 'tags': ['oil']}, {'title': 'The Great Wave', 'tags': "
     "['woodblock']}]",
     "[{'categorizedByTags': [{'_id': 'painting', 'count': 2}, {'_id': 'satire', 'count': 1}, "
     "{'_id': 'woodcut', 'count': 1}, {'_id': 'oil', 'count': 1}, {'_id': 'woodblock', "
     "'count': 1}], 'categorizedByPrice': [{'_id': 0, 'count': 1, 'titles': ['Dancer']}, "
     "{'_id': 150, 'count': 1, 'titles': ['The Pillars of Society']}, {'_id': 200, 'count': 1, "
     "'titles': ['Melancholy III']}]}]",
     0, false},
    {"facet_then_project",
     "[{'$facet': {'a': [{'$count': 'n'}]}}, {'$project': {'n': "
     "{'$arrayElemAt': ['$a.n', 0]}}}]",
     "[{}, {}]", "[{'n': 2}]", 0, false},
    {"facet_field_dollar", "[{'$facet': {'$a': [{'$match': {}}]}}]", "[]", NULL, 40174, false},
    {"facet_empty_subpipeline", "[{'$facet': {'a': []}}]", "[]", NULL, 40171, false},
    /* $replaceRoot more */
    {"replaceroot_array_elements",
     "[{'$unwind': '$grades'}, {'$match': {'grades.grade': {'$gte': "
     "90}}}, {'$replaceRoot': {'newRoot': '$grades'}}]",
     "[{'_id': 1, 'grades': [{'test': 1, 'grade': 80}, {'test': 2, 'grade': 95}]}]",
     "[{'test': 2, 'grade': 95}]", 0, false},
    {"replacewith_object_expression", "[{'$replaceWith': {'a': '$x', 'b': {'$literal': 1}}}]",
     "[{'x': 5}]", "[{'a': 5, 'b': 1}]", 0, false},
    {"replaceroot_not_object", "[{'$replaceRoot': 1}]", "[]", NULL, 40229, false},
    /* $bucket / $bucketAuto more */
    {"bucket_strings", "[{'$bucket': {'groupBy': '$n', 'boundaries': ['a', 'm', 'z']}}]",
     "[{'n': 'b'}, {'n': 'x'}, {'n': 'c'}]",
     "[{'_id': 'a', 'count': 2}, {'_id': 'm', 'count': "
     "1}]",
     0, false},
    {"bucket_upper_bound_exclusive",
     "[{'$bucket': {'groupBy': '$p', 'boundaries': [0, 10], "
     "'default': 'x'}}]",
     "[{'p': 10}, {'p': 0}]", "[{'_id': 0, 'count': 1}, {'_id': 'x', 'count': 1}]", 0, false},
    {"bucket_unknown_option", "[{'$bucket': {'groupBy': '$p', 'boundaries': [0, 1], 'x': 1}}]",
     "[]", NULL, 40197, false},
    {"bucketauto_granularity_unsupported",
     "[{'$bucketAuto': {'groupBy': '$p', 'buckets': 2, "
     "'granularity': 'R5'}}]",
     "[]", NULL, 238, false},
    {"bucketauto_more_buckets_than_values",
     "[{'$bucketAuto': {'groupBy': '$p', 'buckets': "
     "5}}]",
     "[{'p': 1}, {'p': 2}]",
     "[{'_id': {'min': 1, 'max': 2}, 'count': 1}, {'_id': {'min': 2, 'max': 2}, 'count': 1}]", 0,
     false},
    {"bucketauto_empty_input", "[{'$bucketAuto': {'groupBy': '$p', 'buckets': 2}}]", "[]", "[]", 0,
     false},
    /* $sortByCount more */
    {"sortbycount_expression", "[{'$sortByCount': {'$mod': ['$v', 2]}}]",
     "[{'v': 1}, {'v': 3}, {'v': 2}]", "[{'_id': 1, 'count': 2}, {'_id': 0, 'count': 1}]", 0,
     false},
    /* $redact: the documentation's forecasts example */
    {"redact_doc_example",
     "[{'$match': {'year': 2014}}, {'$redact': {'$cond': {'if': {'$gt': [{'$size': "
     "{'$setIntersection': ['$tags', ['STLW', 'G']]}}, 0]}, 'then': '$$DESCEND', 'else': "
     "'$$PRUNE'}}}]",
     "[{'_id': 1, 'title': '123 Dept Report', 'tags': ['G', 'STLW'], 'year': 2014, "
     "'subsections': [{'subtitle': 'Section 1', 'tags': ['SI', 'G'], 'content': 'S1'}, "
     "{'subtitle': 'Section 2', 'tags': ['STLW'], 'content': 'S2'}, {'subtitle': 'Section 3', "
     "'tags': ['TK'], 'content': {'text': 'S3', 'tags': ['HCS']}}]}]",
     "[{'_id': 1, 'title': '123 Dept Report', 'tags': ['G', 'STLW'], 'year': 2014, "
     "'subsections': [{'subtitle': 'Section 1', 'tags': ['SI', 'G'], 'content': 'S1'}, "
     "{'subtitle': 'Section 2', 'tags': ['STLW'], 'content': 'S2'}]}]",
     0, false},
    /* $documents more */
    {"documents_expression",
     "[{'$documents': {'$map': {'input': [1, 2], 'in': {'x': "
     "'$$this'}}}}]",
     "[]", "[{'x': 1}, {'x': 2}]", 0, false},
    {"documents_element_not_object", "[{'$documents': [1]}]", "[]", NULL, 40228, false},
    {"documents_in_facet_rejected", "[{'$facet': {'a': [{'$documents': []}]}}]", "[]", NULL, 40600,
     false},
    /* $sample more */
    {"sample_one_of_one", "[{'$sample': {'size': 1}}]", "[{'a': 1}]", "[{'a': 1}]", 0, false},
    {"sample_then_count", "[{'$sample': {'size': 2}}, {'$count': 'n'}]",
     "[{'a': 1}, {'a': 2}, {'a': 3}, {'a': 4}]", "[{'n': 2}]", 0, false},
    /* $densify */
    {"densify_doc_example_full",
     "[{'$densify': {'field': 'altitude', 'partitionByFields': ['variety'], 'range': {'bounds': "
     "'full', 'step': 200}}}, {'$project': {'_id': 0}}]",
     "[{'_id': 1, 'altitude': 600, 'variety': 'Arabica Typica'}, {'_id': 2, 'altitude': 750, "
     "'variety': 'Arabica Typica'}, {'_id': 3, 'altitude': 950, 'variety': 'Arabica Typica'}, "
     "{'_id': 4, 'altitude': 1250, 'variety': 'Gesha'}, {'_id': 5, 'altitude': 1700, "
     "'variety': 'Gesha'}]",
     "[{'altitude': 600, 'variety': 'Arabica Typica'}, {'altitude': 750, 'variety': 'Arabica "
     "Typica'}, {'altitude': 800, 'variety': 'Arabica Typica'}, {'altitude': 950, 'variety': "
     "'Arabica Typica'}, {'altitude': 1000, 'variety': 'Arabica Typica'}, {'altitude': 1200, "
     "'variety': 'Arabica Typica'}, {'altitude': 1400, 'variety': 'Arabica Typica'}, "
     "{'altitude': 1600, 'variety': 'Arabica Typica'}, {'altitude': 600, 'variety': 'Gesha'}, "
     "{'altitude': 800, 'variety': 'Gesha'}, {'altitude': 1000, 'variety': 'Gesha'}, "
     "{'altitude': 1200, 'variety': 'Gesha'}, {'altitude': 1250, 'variety': 'Gesha'}, "
     "{'altitude': 1400, 'variety': 'Gesha'}, {'altitude': 1600, 'variety': 'Gesha'}, "
     "{'altitude': 1700, 'variety': 'Gesha'}]",
     0, true},
    {"densify_explicit_bounds",
     "[{'$densify': {'field': 'v', 'range': {'step': 1, 'bounds': [0, "
     "3]}}}]",
     "[{'v': 1}, {'v': 5}]", "[{'v': 0}, {'v': 1}, {'v': 2}, {'v': 5}]", 0, false},
    {"densify_partition_bounds",
     "[{'$densify': {'field': 'v', 'partitionByFields': ['p'], "
     "'range': {'step': 2, 'bounds': 'partition'}}}]",
     "[{'p': 1, 'v': 0}, {'p': 1, 'v': 4}, {'p': 2, 'v': 10}]",
     "[{'p': 1, 'v': 0}, {'v': 2, 'p': 1}, {'p': 1, 'v': 4}, {'p': 2, 'v': 10}]", 0, true},
    {"densify_missing_values_pass",
     "[{'$densify': {'field': 'v', 'range': {'step': 1, 'bounds': "
     "'full'}}}]",
     "[{'v': 1}, {'x': 1}, {'v': 3}]", "[{'x': 1}, {'v': 1}, {'v': 2}, {'v': 3}]", 0, false},
    {"densify_bad_step", "[{'$densify': {'field': 'v', 'range': {'step': 0, 'bounds': 'full'}}}]",
     "[]", NULL, 5733401, false},
    {"densify_partition_without_fields",
     "[{'$densify': {'field': 'v', 'range': {'step': 1, "
     "'bounds': 'partition'}}}]",
     "[]", NULL, 5733408, false},
    {"densify_string_value",
     "[{'$densify': {'field': 'v', 'range': {'step': 1, 'bounds': "
     "'full'}}}]",
     "[{'v': 'a'}]", NULL, 5733201, false},
    {"densify_dates_hours",
     "[{'$densify': {'field': 'ts', 'range': {'step': 1, 'unit': 'hour', 'bounds': [{'$date': "
     "'2021-05-18T00:00:00Z'}, {'$date': '2021-05-18T04:00:00Z'}]}}}]",
     "[{'ts': {'$date': '2021-05-18T00:00:00Z'}, 't': 12}, {'ts': {'$date': "
     "'2021-05-18T03:00:00Z'}, 't': 11}, {'ts': {'$date': '2021-05-18T06:00:00Z'}, 't': 9}]",
     "[{'ts': {'$date': '2021-05-18T00:00:00Z'}, 't': 12}, {'ts': {'$date': "
     "'2021-05-18T01:00:00Z'}}, {'ts': {'$date': '2021-05-18T02:00:00Z'}}, {'ts': {'$date': "
     "'2021-05-18T03:00:00Z'}, 't': 11}, {'ts': {'$date': '2021-05-18T06:00:00Z'}, 't': 9}]",
     0, false},
    {"densify_dates_months_full",
     "[{'$densify': {'field': 'd', 'range': {'step': 1, 'unit': 'month', 'bounds': 'full'}}}]",
     "[{'d': {'$date': '2021-01-31T00:00:00Z'}}, {'d': {'$date': '2021-04-30T00:00:00Z'}}]",
     "[{'d': {'$date': '2021-01-31T00:00:00Z'}}, {'d': {'$date': '2021-02-28T00:00:00Z'}}, "
     "{'d': {'$date': '2021-03-31T00:00:00Z'}}, {'d': {'$date': '2021-04-30T00:00:00Z'}}]",
     0, false},
    {"densify_unit_with_numbers",
     "[{'$densify': {'field': 'v', 'range': {'step': 1, 'unit': "
     "'day', 'bounds': 'full'}}}]",
     "[{'v': 1}]", NULL, 6053600, false},
    /* $fill */
    {"fill_value",
     "[{'$fill': {'output': {'bootsSold': {'value': 0}, 'sandalsSold': {'value': "
     "0}}}}]",
     "[{'date': 1, 'bootsSold': 10, 'sandalsSold': 20}, {'date': 2, 'sandalsSold': 30}, "
     "{'date': 3, 'bootsSold': null}]",
     "[{'date': 1, 'bootsSold': 10, 'sandalsSold': 20}, {'date': 2, 'sandalsSold': 30, "
     "'bootsSold': 0}, {'date': 3, 'bootsSold': 0, 'sandalsSold': 0}]",
     0, false},
    {"fill_locf",
     "[{'$fill': {'sortBy': {'time': 1}, 'output': {'score': {'method': "
     "'locf'}}}}]",
     "[{'time': 2, 'score': null}, {'time': 1, 'score': 90}, {'time': 3}, {'time': 4, 'score': "
     "80}]",
     "[{'time': 1, 'score': 90}, {'time': 2, 'score': 90}, {'time': 3, 'score': 90}, {'time': "
     "4, 'score': 80}]",
     0, false},
    {"fill_linear",
     "[{'$fill': {'sortBy': {'time': 1}, 'output': {'price': {'method': "
     "'linear'}}}}]",
     "[{'time': 0, 'price': 10}, {'time': 1}, {'time': 3}, {'time': 4, 'price': 50}, {'time': "
     "5}]",
     "[{'time': 0, 'price': 10}, {'time': 1, 'price': 20.0}, {'time': 3, 'price': 40.0}, "
     "{'time': 4, 'price': 50}, {'time': 5, 'price': null}]",
     0, false},
    {"fill_partition_by_fields",
     "[{'$fill': {'partitionByFields': ['g'], 'sortBy': {'t': 1}, "
     "'output': {'v': {'method': 'locf'}}}}]",
     "[{'g': 1, 't': 1, 'v': 'a'}, {'g': 2, 't': 1}, {'g': 1, 't': 2}]",
     "[{'g': 1, 't': 1, 'v': 'a'}, {'g': 1, 't': 2, 'v': 'a'}, {'g': 2, 't': 1, 'v': null}]", 0,
     true},
    {"fill_method_without_sort", "[{'$fill': {'output': {'v': {'method': 'locf'}}}}]", "[]", NULL,
     6050203, false},
    {"fill_bad_method", "[{'$fill': {'sortBy': {'t': 1}, 'output': {'v': {'method': 'x'}}}}]", "[]",
     NULL, 6050202, false},
    {"fill_both_partitions",
     "[{'$fill': {'partitionBy': '$a', 'partitionByFields': ['a'], "
     "'output': {'v': {'value': 1}}}}]",
     "[]", NULL, 6050204, false},
    {"fill_value_and_method",
     "[{'$fill': {'sortBy': {'t': 1}, 'output': {'v': {'value': 1, "
     "'method': 'locf'}}}}]",
     "[]", NULL, 6050201, false},
    {"window_locf_function",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'l': "
     "{'$locf': '$v'}}}}]",
     "[{'t': 1, 'v': 1}, {'t': 2}]", "[{'t': 1, 'v': 1, 'l': 1}, {'t': 2, 'l': 1}]", 0, false},
    /* pipeline-level errors */
    {"unknown_stage", "[{'$foo': 1}]", "[]", NULL, 40324, false},
    {"stage_two_fields", "[{'$match': {}, '$limit': 1}]", "[]", NULL, 40323, false},
    {"stage_not_object", "[1]", "[]", NULL, 14, false},
    {"out_not_last", "[{'$out': 'x'}, {'$match': {}}]", "[]", NULL, 40601, false},
    {"merge_not_last", "[{'$merge': 'x'}, {'$match': {}}]", "[]", NULL, 40601, false},
    {"collstats_not_first", "[{'$match': {}}, {'$collStats': {}}]", "[]", NULL, 40602, false},
    {"empty_pipeline", "[]", "[{'a': 1}]", "[{'a': 1}]", 0, false},
};

static void test_stage_table(void **state)
{
    (void)state;
    fake_db_t db;
    memset(&db, 0, sizeof db);
    failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], &db);
    fake_free(&db);
    if (failures)
        fail_msg("%d stage case(s) failed", failures);
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
