/*
 * test_accum.c -- table-driven tests of the accumulators (query/accum.c)
 * through $group, $bucketAuto and $setWindowFields: MongoDB's numeric rules
 * ($sum of int32 stays int32 until it overflows to int64, then double;
 * non-numbers ignored; $avg of nothing is null), null/missing handling, the
 * N accumulators, and the documentation examples.
 */
#include "test_pipeline_harness.h"

#define G(acc) "[{'$group': {'_id': null, 'r': " acc "}}, {'$project': {'_id': 0}}]"

static const pcase_t cases[] = {
    /* $sum */
    {"sum_ints_stay_int", G("{'$sum': '$v'}"), "[{'v': 1}, {'v': 2}]", "[{'r': 3}]", 0, false},
    {"sum_int_overflow_to_long", G("{'$sum': '$v'}"), "[{'v': 2147483647}, {'v': 1}]",
     "[{'r': {'$numberLong': '2147483648'}}]", 0, false},
    {"sum_long_stays_long", G("{'$sum': '$v'}"), "[{'v': {'$numberLong': '1'}}, {'v': 2}]",
     "[{'r': {'$numberLong': '3'}}]", 0, false},
    {"sum_long_overflow_to_double", G("{'$sum': '$v'}"),
     "[{'v': {'$numberLong': '9223372036854775807'}}, {'v': {'$numberLong': '1'}}]",
     "[{'r': 9.2233720368547758e+18}]", 0, false},
    {"sum_double", G("{'$sum': '$v'}"), "[{'v': 1}, {'v': 2.5}]", "[{'r': 3.5}]", 0, false},
    {"sum_ignores_non_numbers", G("{'$sum': '$v'}"), "[{'v': 'a'}, {'v': 2}, {}, {'v': null}]",
     "[{'r': 2}]", 0, false},
    {"sum_nothing_is_zero", G("{'$sum': '$v'}"), "[{'v': 'a'}]", "[{'r': 0}]", 0, false},
    {"sum_constant_counts", G("{'$sum': 1}"), "[{}, {}, {}]", "[{'r': 3}]", 0, false},
    {"sum_array_field_ignored", G("{'$sum': '$v'}"), "[{'v': [1, 2]}, {'v': 3}]", "[{'r': 3}]", 0,
     false},
    {"sum_decimals_exact", G("{'$sum': '$v'}"),
     "[{'v': {'$numberDecimal': '0.1'}}, {'v': {'$numberDecimal': '0.2'}}]",
     "[{'r': {'$numberDecimal': '0.3'}}]", 0, false},
    {"sum_decimal_with_int_is_decimal", G("{'$sum': '$v'}"),
     "[{'v': 2}, {'v': {'$numberDecimal': '1.5'}}]", "[{'r': {'$numberDecimal': '3.5'}}]", 0,
     false},
    {"avg_decimals_is_decimal", G("{'$avg': '$v'}"),
     "[{'v': {'$numberDecimal': '1'}}, {'v': {'$numberDecimal': '2'}}]",
     "[{'r': {'$numberDecimal': '1.5'}}]", 0, false},
    {"stddev_of_decimals_is_double", G("{'$stdDevPop': '$v'}"),
     "[{'v': {'$numberDecimal': '1'}}, {'v': {'$numberDecimal': '3'}}]", "[{'r': 1.0}]", 0, false},
    {"sum_unary_array_error", G("{'$sum': [1, 2]}"), "[]", NULL, 40237, false},
    /* $avg */
    {"avg", G("{'$avg': '$v'}"), "[{'v': 1}, {'v': 2}, {'v': 6}]", "[{'r': 3.0}]", 0, false},
    {"avg_of_nothing_is_null", G("{'$avg': '$v'}"), "[{'v': 'x'}, {}]", "[{'r': null}]", 0, false},
    {"avg_ignores_non_numbers", G("{'$avg': '$v'}"), "[{'v': 'x'}, {'v': 4}]", "[{'r': 4.0}]", 0,
     false},
    /* $min / $max */
    {"min_numbers", G("{'$min': '$v'}"), "[{'v': 3}, {'v': 1}, {'v': 2}]", "[{'r': 1}]", 0, false},
    {"max_numbers", G("{'$max': '$v'}"), "[{'v': 3}, {'v': 1}, {'v': 2}]", "[{'r': 3}]", 0, false},
    {"min_ignores_null_missing", G("{'$min': '$v'}"), "[{'v': null}, {}, {'v': 5}]", "[{'r': 5}]",
     0, false},
    {"min_all_missing_null", G("{'$min': '$v'}"), "[{}, {}]", "[{'r': null}]", 0, false},
    {"max_mixed_types_bson_order", G("{'$max': '$v'}"), "[{'v': 5}, {'v': 'a'}, {'v': 1}]",
     "[{'r': 'a'}]", 0, false},
    {"min_mixed_types_bson_order", G("{'$min': '$v'}"), "[{'v': 'a'}, {'v': 5}]", "[{'r': 5}]", 0,
     false},
    {"max_array_value_whole", G("{'$max': '$v'}"), "[{'v': [1, 9]}, {'v': 3}]", "[{'r': [1, 9]}]",
     0, false},
    /* $first / $last */
    {"first", G("{'$first': '$v'}"), "[{'v': 1}, {'v': 2}]", "[{'r': 1}]", 0, false},
    {"last", G("{'$last': '$v'}"), "[{'v': 1}, {'v': 2}]", "[{'r': 2}]", 0, false},
    {"first_missing_is_null", G("{'$first': '$v'}"), "[{}, {'v': 2}]", "[{'r': null}]", 0, false},
    {"last_missing_is_null", G("{'$last': '$v'}"), "[{'v': 2}, {}]", "[{'r': null}]", 0, false},
    /* $push / $addToSet */
    {"push_keeps_order_and_dups", G("{'$push': '$v'}"), "[{'v': 1}, {'v': 2}, {'v': 1}]",
     "[{'r': [1, 2, 1]}]", 0, false},
    {"push_skips_missing", G("{'$push': '$v'}"), "[{'v': 1}, {}, {'v': null}]",
     "[{'r': [1, null]}]", 0, false},
    {"push_object", G("{'$push': {'a': '$a', 'b': '$b'}}"), "[{'a': 1, 'b': 2}]",
     "[{'r': [{'a': 1, 'b': 2}]}]", 0, false},
    {"addtoset_distinct", G("{'$addToSet': '$v'}"), "[{'v': 1}, {'v': 2}, {'v': 1}, {'v': 1.0}]",
     "[{'r': [1, 2]}]", 0, false},
    {"push_nothing_empty", G("{'$push': '$v'}"), "[{}]", "[{'r': []}]", 0, false},
    /* $count */
    {"count", G("{'$count': {}}"), "[{}, {}]", "[{'r': 2}]", 0, false},
    {"count_with_argument", G("{'$count': {'x': 1}}"), "[]", NULL, 40181, false},
    /* $stdDevPop / $stdDevSamp: the documentation's quiz example */
    {"stddevpop", G("{'$stdDevPop': '$score'}"), "[{'score': 85}, {'score': 80}]", "[{'r': 2.5}]",
     0, false},
    {"stddevpop_doc_example", G("{'$stdDevPop': '$score'}"),
     "[{'score': 85}, {'score': 80}, {'score': 85}, {'score': 90}]", "[{'r': 3.5355339059327378}]",
     0, false},
    {"stddevsamp", G("{'$stdDevSamp': '$v'}"), "[{'v': 1}, {'v': 3}]",
     "[{'r': 1.4142135623730951}]", 0, false},
    {"stddevsamp_one_value_null", G("{'$stdDevSamp': '$v'}"), "[{'v': 1}]", "[{'r': null}]", 0,
     false},
    {"stddevpop_none_null", G("{'$stdDevPop': '$v'}"), "[{'v': 'a'}]", "[{'r': null}]", 0, false},
    /* $mergeObjects */
    {"mergeobjects", G("{'$mergeObjects': '$q'}"),
     "[{'q': {'a': 1, 'b': 1}}, {'q': {'b': 2, 'c': 3}}, {'q': null}, {}]",
     "[{'r': {'a': 1, 'b': 2, 'c': 3}}]", 0, false},
    {"mergeobjects_non_object", G("{'$mergeObjects': '$q'}"), "[{'q': 1}]", NULL, 40400, false},
    /* $top / $bottom / N */
    {"top", G("{'$top': {'output': '$p', 'sortBy': {'s': -1}}}"),
     "[{'p': 'a', 's': 1}, {'p': 'b', 's': 3}, {'p': 'c', 's': 2}]", "[{'r': 'b'}]", 0, false},
    {"bottom", G("{'$bottom': {'output': '$p', 'sortBy': {'s': -1}}}"),
     "[{'p': 'a', 's': 1}, {'p': 'b', 's': 3}, {'p': 'c', 's': 2}]", "[{'r': 'a'}]", 0, false},
    {"topn", G("{'$topN': {'output': ['$p', '$s'], 'sortBy': {'s': -1}, 'n': 2}}"),
     "[{'p': 'a', 's': 1}, {'p': 'b', 's': 3}, {'p': 'c', 's': 2}]",
     "[{'r': [['b', 3], ['c', 2]]}]", 0, false},
    {"bottomn", G("{'$bottomN': {'output': '$p', 'sortBy': {'s': 1}, 'n': 2}}"),
     "[{'p': 'a', 's': 1}, {'p': 'b', 's': 3}, {'p': 'c', 's': 2}]", "[{'r': ['c', 'b']}]", 0,
     false},
    {"topn_fewer_than_n", G("{'$topN': {'output': '$p', 'sortBy': {'s': 1}, 'n': 5}}"),
     "[{'p': 'a', 's': 2}, {'p': 'b', 's': 1}]", "[{'r': ['b', 'a']}]", 0, false},
    {"top_missing_sortby", G("{'$top': {'output': '$p'}}"), "[]", NULL, 5788005, false},
    {"firstn", G("{'$firstN': {'input': '$v', 'n': 2}}"), "[{'v': 1}, {'v': 2}, {'v': 3}]",
     "[{'r': [1, 2]}]", 0, false},
    {"lastn", G("{'$lastN': {'input': '$v', 'n': 2}}"), "[{'v': 1}, {'v': 2}, {'v': 3}]",
     "[{'r': [2, 3]}]", 0, false},
    {"firstn_keeps_null", G("{'$firstN': {'input': '$v', 'n': 2}}"), "[{}, {'v': 2}]",
     "[{'r': [null, 2]}]", 0, false},
    {"maxn", G("{'$maxN': {'input': '$v', 'n': 2}}"), "[{'v': 5}, {'v': 9}, {'v': 1}, {}]",
     "[{'r': [9, 5]}]", 0, false},
    {"minn", G("{'$minN': {'input': '$v', 'n': 2}}"),
     "[{'v': 5}, {'v': 9}, {'v': 1}, {'v': "
     "null}]",
     "[{'r': [1, 5]}]", 0, false},
    {"n_zero", G("{'$firstN': {'input': '$v', 'n': 0}}"), "[{'v': 1}]", NULL, 5787908, false},
    {"n_not_integer", G("{'$firstN': {'input': '$v', 'n': 1.5}}"), "[{'v': 1}]", NULL, 5787903,
     false},
    {"n_missing", G("{'$firstN': {'input': '$v'}}"), "[]", NULL, 5787906, false},
    {"n_unknown_field", G("{'$firstN': {'input': '$v', 'n': 1, 'x': 1}}"), "[]", NULL, 5787901,
     false},
    {"n_per_group", "[{'$group': {'_id': '$g', 'r': {'$firstN': {'input': '$v', 'n': 1}}}}]",
     "[{'g': 1, 'v': 'a'}, {'g': 2, 'v': 'b'}, {'g': 1, 'v': 'c'}]",
     "[{'_id': 1, 'r': ['a']}, {'_id': 2, 'r': ['b']}]", 0, true},
    /* several accumulators, the documentation's sales example */
    {"group_sales_by_day",
     "[{'$group': {'_id': '$day', 'totalSaleAmount': {'$sum': {'$multiply': ['$price', "
     "'$quantity']}}, 'averageQuantity': {'$avg': '$quantity'}, 'count': {'$sum': 1}}}, "
     "{'$sort': {'totalSaleAmount': -1}}]",
     "[{'day': 1, 'price': 10, 'quantity': 2}, {'day': 2, 'price': 20, 'quantity': 1}, "
     "{'day': 2, 'price': 5, 'quantity': 10}, {'day': 3, 'price': 5, 'quantity': 20}]",
     "[{'_id': 3, 'totalSaleAmount': 100, 'averageQuantity': 20.0, 'count': 1}, {'_id': 2, "
     "'totalSaleAmount': 70, 'averageQuantity': 5.5, 'count': 2}, {'_id': 1, "
     "'totalSaleAmount': 20, 'averageQuantity': 2.0, 'count': 1}]",
     0, false},
    /* windows */
    {"window_running_sum",
     "[{'$setWindowFields': {'partitionBy': '$state', 'sortBy': {'orderDate': 1}, 'output': "
     "{'cum': {'$sum': '$quantity', 'window': {'documents': ['unbounded', 'current']}}}}}]",
     "[{'state': 'CA', 'orderDate': 1, 'quantity': 162}, {'state': 'WA', 'orderDate': 2, "
     "'quantity': 134}, {'state': 'CA', 'orderDate': 3, 'quantity': 120}, {'state': 'WA', "
     "'orderDate': 4, 'quantity': 104}, {'state': 'CA', 'orderDate': 5, 'quantity': 145}]",
     "[{'state': 'CA', 'orderDate': 1, 'quantity': 162, 'cum': 162}, {'state': 'CA', "
     "'orderDate': 3, 'quantity': 120, 'cum': 282}, {'state': 'CA', 'orderDate': 5, "
     "'quantity': 145, 'cum': 427}, {'state': 'WA', 'orderDate': 2, 'quantity': 134, 'cum': "
     "134}, {'state': 'WA', 'orderDate': 4, 'quantity': 104, 'cum': 238}]",
     0, false},
    {"window_moving_avg",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'a': {'$avg': '$v', 'window': "
     "{'documents': [-1, 1]}}}}}]",
     "[{'t': 1, 'v': 1}, {'t': 2, 'v': 3}, {'t': 3, 'v': 5}]",
     "[{'t': 1, 'v': 1, 'a': 2.0}, {'t': 2, 'v': 3, 'a': 3.0}, {'t': 3, 'v': 5, 'a': 4.0}]", 0,
     false},
    {"window_whole_partition_default",
     "[{'$setWindowFields': {'partitionBy': '$p', 'output': {'t': {'$sum': '$v'}}}}]",
     "[{'p': 1, 'v': 1}, {'p': 1, 'v': 2}, {'p': 2, 'v': 5}]",
     "[{'p': 1, 'v': 1, 't': 3}, {'p': 1, 'v': 2, 't': 3}, {'p': 2, 'v': 5, 't': 5}]", 0, false},
    {"window_range",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'n': {'$count': {}, 'window': "
     "{'range': [-2, 0]}}}}}]",
     "[{'t': 1}, {'t': 2}, {'t': 4}, {'t': 10}]",
     "[{'t': 1, 'n': 1}, {'t': 2, 'n': 2}, {'t': 4, 'n': 2}, {'t': 10, 'n': 1}]", 0, false},
    {"window_rank",
     "[{'$setWindowFields': {'sortBy': {'s': -1}, 'output': {'r': {'$rank': {}}, 'd': "
     "{'$denseRank': {}}, 'n': {'$documentNumber': {}}}}}]",
     "[{'s': 5}, {'s': 9}, {'s': 5}, {'s': 1}]",
     "[{'s': 9, 'r': 1, 'd': 1, 'n': 1}, {'s': 5, 'r': 2, 'd': 2, 'n': 2}, {'s': 5, 'r': 2, "
     "'d': 2, 'n': 3}, {'s': 1, 'r': 4, 'd': 3, 'n': 4}]",
     0, false},
    {"window_shift",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'prev': {'$shift': {'output': "
     "'$v', 'by': -1, 'default': 'none'}}}}}]",
     "[{'t': 1, 'v': 'a'}, {'t': 2, 'v': 'b'}]",
     "[{'t': 1, 'v': 'a', 'prev': 'none'}, {'t': 2, 'v': 'b', 'prev': 'a'}]", 0, false},
    {"window_push_first_last",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'all': {'$push': '$t', "
     "'window': {'documents': ['unbounded', 'unbounded']}}, 'f': {'$first': '$t'}, 'l': "
     "{'$last': '$t'}}}}]",
     "[{'t': 2}, {'t': 1}]",
     "[{'t': 1, 'all': [1, 2], 'f': 1, 'l': 2}, {'t': 2, 'all': [1, 2], 'f': 1, 'l': 2}]", 0,
     false},
    {"window_exp_moving_avg_n",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'e': {'$expMovingAvg': {'input': "
     "'$v', 'N': 2}}}}}]",
     "[{'t': 1, 'v': 1}, {'t': 2, 'v': 4}, {'t': 3, 'v': 'x'}]",
     "[{'t': 1, 'v': 1, 'e': 1.0}, {'t': 2, 'v': 4, 'e': 3.0}, {'t': 3, 'v': 'x', 'e': null}]", 0,
     false},
    {"window_exp_moving_avg_alpha_partitions",
     "[{'$setWindowFields': {'partitionBy': '$p', 'sortBy': {'t': 1}, 'output': {'e': "
     "{'$expMovingAvg': {'input': '$v', 'alpha': 0.5}}}}}]",
     "[{'p': 1, 't': 1, 'v': 2}, {'p': 2, 't': 1, 'v': 10}, {'p': 1, 't': 2, 'v': 4}]",
     "[{'p': 1, 't': 1, 'v': 2, 'e': 2.0}, {'p': 1, 't': 2, 'v': 4, 'e': 3.0}, {'p': 2, 't': "
     "1, 'v': 10, 'e': 10.0}]",
     0, false},
    {"window_exp_moving_avg_both",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': "
     "{'e': {'$expMovingAvg': {'input': '$v', 'N': 2, 'alpha': "
     "0.5}}}}}]",
     "[]", NULL, 9, false},
    {"window_derivative",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'d': {'$derivative': {'input': "
     "'$v'}, 'window': {'documents': [-1, 0]}}}}}]",
     "[{'t': 0, 'v': 0}, {'t': 1, 'v': 2}, {'t': 2, 'v': 6}]",
     "[{'t': 0, 'v': 0, 'd': null}, {'t': 1, 'v': 2, 'd': 2.0}, {'t': 2, 'v': 6, 'd': 4.0}]", 0,
     false},
    {"window_derivative_needs_window",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': "
     "{'d': {'$derivative': {'input': '$v'}}}}}]",
     "[]", NULL, 5624901, false},
    {"window_integral",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'i': {'$integral': {'input': "
     "'$v'}, 'window': {'documents': ['unbounded', 'current']}}}}}]",
     "[{'t': 0, 'v': 0}, {'t': 1, 'v': 2}, {'t': 2, 'v': 6}]",
     "[{'t': 0, 'v': 0, 'i': 0.0}, {'t': 1, 'v': 2, 'i': 1.0}, {'t': 2, 'v': 6, 'i': 5.0}]", 0,
     false},
    {"window_integral_range",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'i': {'$integral': {'input': "
     "'$v'}, 'window': {'range': [-1, 0]}}}}}]",
     "[{'t': 0, 'v': 0}, {'t': 1, 'v': 2}, {'t': 3, 'v': 6}]",
     "[{'t': 0, 'v': 0, 'i': 0.0}, {'t': 1, 'v': 2, 'i': 1.0}, {'t': 3, 'v': 6, 'i': 0.0}]", 0,
     false},
    /* March 30 - 1 month is Feb 29 (clamped, as $dateAdd), so Feb 29 is inside */
    {"window_range_months",
     "[{'$setWindowFields': {'sortBy': {'d': 1}, 'output': {'n': {'$sum': '$q', 'window': "
     "{'range': [-1, 0], 'unit': 'month'}}}}}]",
     "[{'d': {'$date': '2020-01-31T00:00:00Z'}, 'q': 1}, {'d': {'$date': "
     "'2020-02-29T00:00:00Z'}, 'q': 2}, {'d': {'$date': '2020-03-30T00:00:00Z'}, 'q': 4}]",
     "[{'d': {'$date': '2020-01-31T00:00:00Z'}, 'q': 1, 'n': 1}, {'d': {'$date': "
     "'2020-02-29T00:00:00Z'}, 'q': 2, 'n': 3}, {'d': {'$date': '2020-03-30T00:00:00Z'}, 'q': "
     "4, 'n': 6}]",
     0, false},
    {"window_range_days_numbers_fail",
     "[{'$setWindowFields': {'sortBy': {'d': 1}, 'output': {'n': {'$sum': 1, 'window': "
     "{'range': [-1, 0], 'unit': 'day'}}}}}]",
     "[{'d': 1}]", NULL, 5429513, false},
    {"window_integral_hours",
     "[{'$setWindowFields': {'sortBy': {'d': 1}, 'output': {'kwh': {'$integral': {'input': "
     "'$kw', 'unit': 'hour'}, 'window': {'documents': ['unbounded', 'current']}}}}}]",
     "[{'d': {'$date': '2020-01-01T00:00:00Z'}, 'kw': 2}, {'d': {'$date': "
     "'2020-01-01T00:30:00Z'}, 'kw': 4}]",
     "[{'d': {'$date': '2020-01-01T00:00:00Z'}, 'kw': 2, 'kwh': 0.0}, {'d': {'$date': "
     "'2020-01-01T00:30:00Z'}, 'kw': 4, 'kwh': 1.5}]",
     0, false},
    {"window_derivative_month_unit_refused",
     "[{'$setWindowFields': {'sortBy': {'d': 1}, 'output': {'x': {'$derivative': {'input': "
     "'$v', 'unit': 'month'}, 'window': {'documents': [-1, 0]}}}}}]",
     "[]", NULL, 5490704, false},
    {"window_running_min_max_count",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'mn': {'$min': '$v', 'window': "
     "{'documents': ['unbounded', 'current']}}, 'mx': {'$max': '$v', 'window': {'documents': "
     "['unbounded', 'current']}}, 'n': {'$count': {}, 'window': {'documents': ['unbounded', "
     "'current']}}}}}]",
     "[{'t': 1, 'v': 5}, {'t': 2, 'v': 3}, {'t': 3, 'v': 9}]",
     "[{'t': 1, 'v': 5, 'mn': 5, 'mx': 5, 'n': 1}, {'t': 2, 'v': 3, 'mn': 3, 'mx': 5, 'n': 2}, "
     "{'t': 3, 'v': 9, 'mn': 3, 'mx': 9, 'n': 3}]",
     0, false},
    {"window_following_documents",
     "[{'$setWindowFields': {'sortBy': {'t': 1}, 'output': {'next2': {'$push': '$t', "
     "'window': {'documents': [1, 2]}}}}}]",
     "[{'t': 1}, {'t': 2}, {'t': 3}]",
     "[{'t': 1, 'next2': [2, 3]}, {'t': 2, 'next2': [3]}, {'t': 3, 'next2': []}]", 0, false},
    {"window_dense_rank_partitions",
     "[{'$setWindowFields': {'partitionBy': '$p', 'sortBy': {'s': 1}, 'output': {'r': "
     "{'$denseRank': {}}}}}]",
     "[{'p': 'a', 's': 2}, {'p': 'b', 's': 1}, {'p': 'a', 's': 2}, {'p': 'a', 's': 3}]",
     "[{'p': 'a', 's': 2, 'r': 1}, {'p': 'a', 's': 2, 'r': 1}, {'p': 'a', 's': 3, 'r': 2}, "
     "{'p': 'b', 's': 1, 'r': 1}]",
     0, false},
    {"window_rank_without_sort", "[{'$setWindowFields': {'output': {'r': {'$rank': {}}}}}]", "[]",
     NULL, 5371602, false},
    {"window_unknown_function", "[{'$setWindowFields': {'output': {'r': {'$foo': 1}}}}]", "[]",
     NULL, 9, false},
    {"window_no_output", "[{'$setWindowFields': {'sortBy': {'a': 1}}}]", "[]", NULL, 40414, false},
    {"window_bad_bounds",
     "[{'$setWindowFields': {'sortBy': {'a': 1}, 'output': {'r': "
     "{'$sum': 1, 'window': {'documents': [1, -1]}}}}}]",
     "[]", NULL, 5339900, false},
};

static void test_accum_table(void **state)
{
    (void)state;
    fake_db_t db;
    memset(&db, 0, sizeof db);
    failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], &db);
    fake_free(&db);
    if (failures)
        fail_msg("%d accumulator case(s) failed", failures);
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
