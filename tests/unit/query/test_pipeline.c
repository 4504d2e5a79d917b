/*
 * test_pipeline.c -- the pipeline framework (query/pipeline*.c, spill.c):
 * optimiser rewrites, the leading $match/$sort handed to the planner,
 * dependency analysis, stage declarations, the stages that reach other
 * collections through the data-source callbacks (an in-memory database),
 * let variables, the deadline callback, and spilling of $sort and $group
 * (same results as in memory; 292 without allowDiskUse; no temp file left).
 */
#include "test_pipeline_harness.h"

#include <dirent.h>
#include <unistd.h>

/* ---- optimiser --------------------------------------------------------- */

typedef struct ocase {
    const char *name;
    const char *pipeline;
    const char *expect; /* the optimised stages */
} ocase_t;

static const ocase_t opt_cases[] = {
    {"adjacent_matches_merge", "[{'$match': {'a': 1}}, {'$match': {'b': 2}}]",
     "[{'$match': {'$and': [{'a': 1}, {'b': 2}]}}]"},
    {"match_before_sort", "[{'$sort': {'a': 1}}, {'$match': {'b': 2}}]",
     "[{'$match': {'b': 2}}, {'$sort': {'a': 1}}]"},
    {"match_before_unrelated_addfields", "[{'$addFields': {'x': 1}}, {'$match': {'b': 2}}]",
     "[{'$match': {'b': 2}}, {'$addFields': {'x': 1}}]"},
    {"match_stays_after_addfields_it_reads", "[{'$addFields': {'b': 1}}, {'$match': {'b': 2}}]",
     "[{'$addFields': {'b': 1}}, {'$match': {'b': 2}}]"},
    {"match_stays_after_addfields_prefix",
     "[{'$addFields': {'b.c': 1}}, {'$match': {'b': "
     "2}}]",
     "[{'$addFields': {'b.c': 1}}, {'$match': {'b': 2}}]"},
    {"match_stays_after_group", "[{'$group': {'_id': '$a'}}, {'$match': {'_id': 2}}]",
     "[{'$group': {'_id': '$a'}}, {'$match': {'_id': 2}}]"},
    {"match_stays_after_limit", "[{'$limit': {'$numberLong': '5'}}, {'$match': {'a': 1}}]",
     "[{'$limit': {'$numberLong': '5'}}, {'$match': {'a': 1}}]"},
    {"match_before_unwind_of_other_field", "[{'$unwind': '$x'}, {'$match': {'a': 1}}]",
     "[{'$match': {'a': 1}}, {'$unwind': '$x'}]"},
    {"match_after_unwind_of_its_field", "[{'$unwind': '$a'}, {'$match': {'a': 1}}]",
     "[{'$unwind': '$a'}, {'$match': {'a': 1}}]"},
    {"match_before_lookup_unrelated",
     "[{'$lookup': {'from': 'f', 'localField': 'l', "
     "'foreignField': 'k', 'as': 'j'}}, {'$match': {'a': 1}}]",
     "[{'$match': {'a': 1}}, {'$lookup': {'from': 'f', 'localField': 'l', 'foreignField': 'k', "
     "'as': 'j'}}]"},
    {"match_after_lookup_on_as",
     "[{'$lookup': {'from': 'f', 'localField': 'l', "
     "'foreignField': 'k', 'as': 'j'}}, {'$match': {'j.x': 1}}]",
     "[{'$lookup': {'from': 'f', 'localField': 'l', 'foreignField': 'k', 'as': 'j'}}, "
     "{'$match': {'j.x': 1}}]"},
    {"match_with_expr_stays",
     "[{'$sort': {'a': 1}}, {'$match': {'$expr': {'$eq': ['$a', "
     "1]}}}]",
     "[{'$sort': {'a': 1}}, {'$match': {'$expr': {'$eq': ['$a', 1]}}}]"},
    {"match_moves_across_two",
     "[{'$sort': {'a': 1}}, {'$project': {'x': 0}}, {'$match': {'b': "
     "1}}]",
     "[{'$match': {'b': 1}}, {'$sort': {'a': 1}}, {'$project': {'x': 0}}]"},
    /* a $match after an inclusion $project moves before it when the project keeps (or
     * renames, {y: '$x'}) every field it reads, as MongoDB's optimizer does */
    {"match_before_inclusion_project", "[{'$project': {'a': 1, 'b': 1}}, {'$match': {'a': 5}}]",
     "[{'$match': {'a': 5}}, {'$project': {'a': 1, 'b': 1}}]"},
    {"match_before_project_subpath", "[{'$project': {'a': 1}}, {'$match': {'a.c': 5}}]",
     "[{'$match': {'a.c': 5}}, {'$project': {'a': 1}}]"},
    {"match_on_implicit_id", "[{'$project': {'a': 1}}, {'$match': {'_id': 5}}]",
     "[{'$match': {'_id': 5}}, {'$project': {'a': 1}}]"},
    {"match_renamed_through_project",
     "[{'$project': {'a': 1, 'y': '$x'}}, {'$match': {'y': 3, '$or': [{'a': 1}, {'y.z': 2}]}}]",
     "[{'$match': {'$and': [{'x': 3}, {'$or': [{'$and': [{'a': 1}]}, {'$and': [{'x.z': "
     "2}]}]}]}}, {'$project': {'a': 1, 'y': '$x'}}]"},
    {"match_stays_after_project_dropping_field",
     "[{'$project': {'a': 1}}, {'$match': {'b': null}}]",
     "[{'$project': {'a': 1}}, {'$match': {'b': null}}]"},
    {"match_stays_after_excluded_id", "[{'$project': {'a': 1, '_id': 0}}, {'$match': {'_id': 1}}]",
     "[{'$project': {'a': 1, '_id': 0}}, {'$match': {'_id': 1}}]"},
    {"match_stays_after_computed_field",
     "[{'$project': {'a': {'$add': ['$a', 1]}}}, {'$match': {'a': 2}}]",
     "[{'$project': {'a': {'$add': ['$a', 1]}}}, {'$match': {'a': 2}}]"},
    {"match_stays_on_partly_kept_subdocument",
     "[{'$project': {'a.b': 1}}, {'$match': {'a': {'b': 1}}}]",
     "[{'$project': {'a.b': 1}}, {'$match': {'a': {'b': 1}}}]"},
    {"match_stays_with_dotted_rename", "[{'$project': {'y': '$x.z'}}, {'$match': {'y': 1}}]",
     "[{'$project': {'y': '$x.z'}}, {'$match': {'y': 1}}]"},
    {"match_expr_stays_after_project",
     "[{'$project': {'a': 1}}, {'$match': {'$expr': {'$eq': ['$a', 1]}}}]",
     "[{'$project': {'a': 1}}, {'$match': {'$expr': {'$eq': ['$a', 1]}}}]"},
    {"limits_fold", "[{'$limit': {'$numberLong': '5'}}, {'$limit': {'$numberLong': '3'}}]",
     "[{'$limit': {'$numberLong': '3'}}]"},
    {"skips_fold", "[{'$skip': {'$numberLong': '5'}}, {'$skip': {'$numberLong': '3'}}]",
     "[{'$skip': {'$numberLong': '8'}}]"},
    {"skip_limit_swap", "[{'$skip': {'$numberLong': '5'}}, {'$limit': {'$numberLong': '3'}}]",
     "[{'$limit': {'$numberLong': '8'}}, {'$skip': {'$numberLong': '5'}}]"},
    {"limit_before_project", "[{'$project': {'a': 1}}, {'$limit': {'$numberLong': '3'}}]",
     "[{'$limit': {'$numberLong': '3'}}, {'$project': {'a': 1}}]"},
    {"limit_not_before_unwind", "[{'$unwind': '$a'}, {'$limit': {'$numberLong': '3'}}]",
     "[{'$unwind': '$a'}, {'$limit': {'$numberLong': '3'}}]"},
    {"sort_skip_limit",
     "[{'$sort': {'a': 1}}, {'$skip': {'$numberLong': '2'}}, {'$limit': {'$numberLong': '3'}}]",
     "[{'$sort': {'a': 1}}, {'$limit': {'$numberLong': '5'}}, {'$skip': {'$numberLong': '2'}}]"},
};

static void test_optimize(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < sizeof opt_cases / sizeof opt_cases[0]; i++) {
        const ocase_t *c = &opt_cases[i];
        bson_t *arr = JA(c->pipeline);
        qry_pipeline_t *p;
        status_t st = STATUS_INIT;
        if (qry_pipeline_parse(arr, NULL, &p, &st) != 0) {
            CASE_FAIL("%s: parse failed: %s", c->name, st.msg);
            bson_destroy(arr);
            continue;
        }
        if (qry_pipeline_optimize(p, &st) != 0)
            CASE_FAIL("%s: optimize failed: %s", c->name, st.msg);
        bson_t out;
        bson_init(&out);
        qry_pipeline_serialize(p, &out, "p");
        bson_iter_t it;
        bson_iter_init_find(&it, &out, "p");
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&it, &len, &data);
        bson_t got;
        bson_init_static(&got, data, len);
        bson_t *exp = JA(c->expect);
        char *a = canon(&got, false), *b = canon(exp, false);
        if (strcmp(a, b) != 0)
            CASE_FAIL("%s:\n  got      %s\n  expected %s", c->name, a, b);
        bson_free(a);
        bson_free(b);
        bson_destroy(exp);
        bson_destroy(&out);
        qry_pipeline_destroy(p);
        bson_destroy(arr);
    }
    if (failures)
        fail_msg("%d optimiser case(s) failed", failures);
}

/* ---- pushdown ------------------------------------------------------------ */

typedef struct pdcase {
    const char *name;
    const char *pipeline;
    const char *filter; /* NULL: none */
    const char *sort;   /* NULL: none */
    int64_t limit;
    size_t nstages;
} pdcase_t;

static const pdcase_t pd_cases[] = {
    {"match_only", "[{'$match': {'a': 1}}, {'$group': {'_id': 1}}]", "{'a': 1}", NULL, -1, 1},
    {"match_sort_limit", "[{'$match': {'a': 1}}, {'$sort': {'b': -1}}, {'$limit': 4}]", "{'a': 1}",
     "{'b': -1}", 4, 2},
    {"sort_only", "[{'$sort': {'b': 1}}, {'$project': {'b': 1}}]", NULL, "{'b': 1}", -1, 1},
    {"nothing", "[{'$group': {'_id': 1}}, {'$match': {'a': 1}}]", NULL, NULL, -1, 0},
    {"match_moved_from_behind_sort", "[{'$sort': {'b': 1}}, {'$match': {'a': 1}}]", "{'a': 1}",
     "{'b': 1}", -1, 2},
    {"two_matches_merged", "[{'$match': {'a': 1}}, {'$match': {'b': 1}}]",
     "{'$and': [{'a': 1}, {'b': 1}]}", NULL, -1, 1},
};

static void test_pushdown(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < sizeof pd_cases / sizeof pd_cases[0]; i++) {
        const pdcase_t *c = &pd_cases[i];
        bson_t *arr = JA(c->pipeline);
        qry_pipeline_t *p;
        status_t st = STATUS_INIT;
        assert_int_equal(qry_pipeline_parse(arr, NULL, &p, &st), 0);
        assert_int_equal(qry_pipeline_optimize(p, &st), 0);
        qry_pl_pushdown_t pd;
        qry_pipeline_pushdown(p, &pd);
        if (pd.has_filter != (c->filter != NULL))
            CASE_FAIL("%s: has_filter %d", c->name, pd.has_filter);
        if (c->filter) {
            bson_t *f = J(c->filter);
            if (!bson_equal(f, &pd.filter)) {
                char *js = bson_as_relaxed_extended_json(&pd.filter, NULL);
                CASE_FAIL("%s: filter %s", c->name, js);
                bson_free(js);
            }
            bson_destroy(f);
        }
        if (pd.has_sort != (c->sort != NULL))
            CASE_FAIL("%s: has_sort %d", c->name, pd.has_sort);
        if (c->sort) {
            bson_t *s = J(c->sort);
            if (!bson_equal(s, &pd.sort))
                CASE_FAIL("%s: sort differs", c->name);
            bson_destroy(s);
        }
        if (pd.limit != c->limit)
            CASE_FAIL("%s: limit %lld", c->name, (long long)pd.limit);
        if (pd.nstages != c->nstages)
            CASE_FAIL("%s: nstages %zu", c->name, pd.nstages);
        size_t before = qry_pipeline_nstages(p);
        qry_pipeline_remove_prefix(p, pd.nstages);
        if (qry_pipeline_nstages(p) != before - pd.nstages)
            CASE_FAIL("%s: remove_prefix", c->name);
        qry_pl_pushdown_destroy(&pd);
        qry_pipeline_destroy(p);
        bson_destroy(arr);
    }
    if (failures)
        fail_msg("%d pushdown case(s) failed", failures);
}

/* ---- dependencies -------------------------------------------------------- */

typedef struct dcase {
    const char *name;
    const char *pipeline;
    const char *expect; /* NULL: whole document */
} dcase_t;

static const dcase_t dep_cases[] = {
    {"group_fields", "[{'$group': {'_id': '$a', 's': {'$sum': '$b.c'}}}]",
     "{'a': 1, 'b.c': 1, '_id': 0}"},
    {"match_then_group", "[{'$match': {'x': 1}}, {'$group': {'_id': '$a'}}]",
     "{'a': 1, 'x': 1, '_id': 0}"},
    {"inclusion_project", "[{'$project': {'a': 1, 'b': '$c'}}]", "{'_id': 1, 'a': 1, 'c': 1}"},
    {"prefix_covers", "[{'$match': {'a.b': 1}}, {'$project': {'a': 1, '_id': 0}}]",
     "{'a': 1, '_id': 0}"},
    {"count_needs_nothing", "[{'$count': 'n'}]", "{'_id': 0}"},
    {"no_replacing_stage_whole", "[{'$match': {'a': 1}}, {'$addFields': {'x': 1}}]", NULL},
    {"root_is_whole", "[{'$group': {'_id': null, 'd': {'$push': '$$ROOT'}}}]", NULL},
    {"unwind_then_group", "[{'$unwind': '$t'}, {'$group': {'_id': '$t'}}]",
     "{'t': 1, '_id': "
     "0}"},
};

static void test_dependencies(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < sizeof dep_cases / sizeof dep_cases[0]; i++) {
        const dcase_t *c = &dep_cases[i];
        bson_t *arr = JA(c->pipeline);
        qry_pipeline_t *p;
        status_t st = STATUS_INIT;
        assert_int_equal(qry_pipeline_parse(arr, NULL, &p, &st), 0);
        bson_t out;
        bson_init(&out);
        bool whole;
        qry_pipeline_dependencies(p, &out, &whole);
        if (whole != (c->expect == NULL))
            CASE_FAIL("%s: whole_doc %d", c->name, whole);
        if (c->expect) {
            bson_t *e = J(c->expect);
            /* compare as sets of fields */
            bson_iter_t it, f;
            bool ok = bson_count_keys(e) == bson_count_keys(&out);
            bson_iter_init(&it, e);
            while (ok && bson_iter_next(&it))
                ok = bson_iter_init_find(&f, &out, bson_iter_key(&it)) &&
                     bson_iter_as_int64(&f) == bson_iter_as_int64(&it);
            if (!ok) {
                char *js = bson_as_relaxed_extended_json(&out, NULL);
                CASE_FAIL("%s: got %s", c->name, js);
                bson_free(js);
            }
            bson_destroy(e);
        }
        bson_destroy(&out);
        qry_pipeline_destroy(p);
        bson_destroy(arr);
    }
    if (failures)
        fail_msg("%d dependency case(s) failed", failures);
}

/* ---- stage declarations ---------------------------------------------------- */

static void test_stage_info(void **state)
{
    (void)state;
    bson_t *arr = JA("[{'$match': {'a': 1}}, {'$sort': {'b': 1}}, {'$group': {'_id': '$c'}}, "
                     "{'$addFields': {'d': 1}}, {'$out': 'o'}]");
    qry_pipeline_t *p;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_pipeline_parse(arr, NULL, &p, &st), 0);
    assert_int_equal(qry_pipeline_nstages(p), 5);
    qry_pl_stage_info_t in;
    qry_pipeline_stage_info(p, 0, &in);
    assert_string_equal(in.name, "$match");
    assert_false(in.blocking);
    assert_int_equal(in.nreads, 1);
    assert_string_equal(in.reads[0], "a");
    qry_pipeline_stage_info(p, 1, &in);
    assert_true(in.blocking);
    assert_false(in.merger_only); /* shards sort, the router merges sorted streams */
    qry_pipeline_stage_info(p, 2, &in);
    assert_true(in.blocking);
    assert_true(in.replaces_doc);
    assert_true(in.merger_only);
    qry_pipeline_stage_info(p, 3, &in);
    assert_int_equal(in.nwrites, 1);
    assert_string_equal(in.writes[0], "d");
    qry_pipeline_stage_info(p, 4, &in);
    assert_true(in.merger_only);
    assert_true(in.needs_whole_doc);
    qry_pipeline_destroy(p);
    bson_destroy(arr);
}

/* ---- other collections through the data source ------------------------------- */

static const pcase_t ds_cases[] = {
    {"lookup_equality_doc_example",
     "[{'$lookup': {'from': 'inventory', 'localField': 'item', 'foreignField': 'sku', 'as': "
     "'inventory_docs'}}]",
     "[{'_id': 1, 'item': 'almonds', 'price': 12, 'quantity': 2}, {'_id': 2, 'item': 'pecans', "
     "'price': 20, 'quantity': 1}, {'_id': 3}]",
     "[{'_id': 1, 'item': 'almonds', 'price': 12, 'quantity': 2, 'inventory_docs': [{'_id': 1, "
     "'sku': 'almonds', 'description': 'product 1', 'instock': 120}]}, {'_id': 2, 'item': "
     "'pecans', 'price': 20, 'quantity': 1, 'inventory_docs': [{'_id': 4, 'sku': 'pecans', "
     "'description': 'product 4', 'instock': 70}]}, {'_id': 3, 'inventory_docs': [{'_id': 5, "
     "'sku': null, 'description': 'Incomplete'}, {'_id': 6}]}]",
     0, false},
    {"lookup_local_array",
     "[{'$lookup': {'from': 'members', 'localField': 'enrollmentlist', 'foreignField': 'name', "
     "'as': 'enrollee_info'}}, {'$project': {'_id': 0, 'n': {'$size': '$enrollee_info'}}}]",
     "[{'_id': 1, 'enrollmentlist': ['giraffe2', 'pandabear', 'artie']}, {'_id': 2, "
     "'enrollmentlist': []}]",
     "[{'n': 3}, {'n': 0}]", 0, false},
    {"lookup_foreign_array",
     "[{'$lookup': {'from': 'classes', 'localField': 'name', 'foreignField': 'enrollmentlist', "
     "'as': 'c'}}, {'$project': {'_id': 0, 'name': 1, 'c._id': 1}}]",
     "[{'name': 'artie'}, {'name': 'nobody'}]",
     "[{'name': 'artie', 'c': [{'_id': 1}]}, {'name': 'nobody', 'c': []}]", 0, false},
    {"lookup_pipeline_let",
     "[{'$lookup': {'from': 'warehouses', 'let': {'order_item': '$item', 'order_qty': "
     "'$ordered'}, 'pipeline': [{'$match': {'$expr': {'$and': [{'$eq': ['$stock_item', "
     "'$$order_item']}, {'$gte': ['$instock', '$$order_qty']}]}}}, {'$project': {'stock_item': "
     "0, '_id': 0}}], 'as': 'stockdata'}}]",
     "[{'_id': 1, 'item': 'almonds', 'ordered': 2}, {'_id': 2, 'item': 'pecans', 'ordered': "
     "60}]",
     "[{'_id': 1, 'item': 'almonds', 'ordered': 2, 'stockdata': [{'warehouse': 'A', 'instock': "
     "120}, {'warehouse': 'B', 'instock': 60}]}, {'_id': 2, 'item': 'pecans', 'ordered': 60, "
     "'stockdata': [{'warehouse': 'A', 'instock': 80}]}]",
     0, false},
    {"lookup_pipeline_uncorrelated",
     "[{'$lookup': {'from': 'holidays', 'pipeline': [{'$match': {'year': 2018}}, {'$project': "
     "{'_id': 0, 'name': 1}}], 'as': 'h'}}]",
     "[{'_id': 1}]", "[{'_id': 1, 'h': [{'name': 'New Years'}, {'name': 'Pi Day'}]}]", 0, false},
    {"lookup_concise_with_pipeline",
     "[{'$lookup': {'from': 'inventory', 'localField': 'item', 'foreignField': 'sku', "
     "'pipeline': [{'$project': {'_id': 0, 'instock': 1}}], 'as': 'i'}}]",
     "[{'item': 'almonds'}]", "[{'item': 'almonds', 'i': [{'instock': 120}]}]", 0, false},
    {"lookup_missing_as",
     "[{'$lookup': {'from': 'x', 'localField': 'a', 'foreignField': "
     "'b'}}]",
     "[]", NULL, 9, false},
    {"lookup_local_without_foreign",
     "[{'$lookup': {'from': 'x', 'localField': 'a', 'as': "
     "'c'}}]",
     "[]", NULL, 9, false},
    {"lookup_unknown_field", "[{'$lookup': {'from': 'x', 'as': 'c', 'pipeline': [], 'y': 1}}]",
     "[]", NULL, 9, false},
    {"lookup_out_inside",
     "[{'$lookup': {'from': 'x', 'as': 'c', 'pipeline': [{'$out': "
     "'z'}]}}]",
     "[]", NULL, 51047, false},
    {"lookup_undefined_variable",
     "[{'$lookup': {'from': 'x', 'as': 'c', 'pipeline': "
     "[{'$match': {'$expr': {'$eq': ['$a', '$$nope']}}}]}}]",
     "[]", NULL, 17276, false},
    {"graphlookup_doc_example",
     "[{'$graphLookup': {'from': 'employees', 'startWith': '$reportsTo', 'connectFromField': "
     "'reportsTo', 'connectToField': 'name', 'as': 'reportingHierarchy'}}, {'$project': "
     "{'name': 1, 'h': '$reportingHierarchy.name'}}, {'$match': {'name': 'Andrew'}}]",
     "[{'_id': 4, 'name': 'Andrew', 'reportsTo': 'Eliot'}]",
     "[{'_id': 4, 'name': 'Andrew', 'h': ['Eliot', 'Dev']}]", 0, false},
    {"graphlookup_maxdepth_depthfield",
     "[{'$graphLookup': {'from': 'employees', 'startWith': '$reportsTo', 'connectFromField': "
     "'reportsTo', 'connectToField': 'name', 'as': 'h', 'maxDepth': 0, 'depthField': 'd'}}, "
     "{'$project': {'_id': 0, 'h.name': 1, 'h.d': 1}}]",
     "[{'name': 'Andrew', 'reportsTo': 'Eliot'}]",
     "[{'h': [{'name': 'Eliot', 'd': {'$numberLong': '0'}}]}]", 0, false},
    {"graphlookup_cycle_ends",
     "[{'$graphLookup': {'from': 'cycle', 'startWith': '$start', 'connectFromField': 'next', "
     "'connectToField': 'name', 'as': 'h'}}, {'$project': {'_id': 0, 'n': {'$size': '$h'}}}]",
     "[{'start': 'a'}]", "[{'n': 3}]", 0, false},
    {"graphlookup_restrict",
     "[{'$graphLookup': {'from': 'cycle', 'startWith': '$start', 'connectFromField': 'next', "
     "'connectToField': 'name', 'as': 'h', 'restrictSearchWithMatch': {'name': {'$ne': "
     "'c'}}}}, {'$project': {'_id': 0, 'h.name': 1}}]",
     "[{'start': 'a'}]", "[{'h': [{'name': 'a'}, {'name': 'b'}]}]", 0, false},
    {"graphlookup_missing_fields", "[{'$graphLookup': {'from': 'x', 'as': 'h'}}]", "[]", NULL,
     40105, false},
    {"graphlookup_negative_depth",
     "[{'$graphLookup': {'from': 'x', 'startWith': '$a', "
     "'connectFromField': 'a', 'connectToField': 'b', 'as': "
     "'h', 'maxDepth': -1}}]",
     "[]", NULL, 40101, false},
    {"unionwith_coll", "[{'$unionWith': 'holidays'}, {'$project': {'_id': 0, 'name': 1}}]",
     "[{'name': 'mine'}]",
     "[{'name': 'mine'}, {'name': 'New Years'}, {'name': 'Pi Day'}, {'name': 'Old'}]", 0, false},
    {"unionwith_pipeline",
     "[{'$unionWith': {'coll': 'holidays', 'pipeline': [{'$match': "
     "{'year': 2017}}, {'$project': {'_id': 0, 'name': 1}}]}}]",
     "[{'name': 'mine'}]", "[{'name': 'mine'}, {'name': 'Old'}]", 0, false},
    {"unionwith_unknown_field", "[{'$unionWith': {'coll': 'h', 'x': 1}}]", "[]", NULL, 40415,
     false},
    {"collstats", "[{'$collStats': {'count': {}}}]", "[]", "[{'ns': 'test.c', 'count': 0}]", 0,
     false},
    {"collstats_bad_field", "[{'$collStats': {'nope': {}}}]", "[]", NULL, 40415, false},
    {"indexstats", "[{'$indexStats': {}}, {'$project': {'name': 1}}]", "[]", "[{'name': '_id_'}]",
     0, false},
    {"indexstats_not_empty", "[{'$indexStats': {'a': 1}}]", "[]", NULL, 28803, false},
};

static void load_fixtures(fake_db_t *db)
{
    fake_load(db, "inventory",
              "[{'_id': 1, 'sku': 'almonds', 'description': 'product 1', 'instock': 120}, "
              "{'_id': 2, 'sku': 'bread', 'description': 'product 2', 'instock': 80}, {'_id': "
              "3, 'sku': 'cashews', 'description': 'product 3', 'instock': 60}, {'_id': 4, "
              "'sku': 'pecans', 'description': 'product 4', 'instock': 70}, {'_id': 5, 'sku': "
              "null, 'description': 'Incomplete'}, {'_id': 6}]");
    fake_load(db, "members",
              "[{'_id': 1, 'name': 'artie'}, {'_id': 2, 'name': 'giraffe'}, {'_id': 3, 'name': "
              "'giraffe1'}, {'_id': 4, 'name': 'pandabear'}, {'_id': 5, 'name': 'giraffe2'}]");
    fake_load(db, "classes",
              "[{'_id': 1, 'title': 'Reading', 'enrollmentlist': ['giraffe2', 'pandabear', "
              "'artie']}, {'_id': 2, 'title': 'Math', 'enrollmentlist': ['giraffe1']}]");
    fake_load(db, "warehouses",
              "[{'_id': 1, 'stock_item': 'almonds', 'warehouse': 'A', 'instock': 120}, {'_id': "
              "2, 'stock_item': 'pecans', 'warehouse': 'A', 'instock': 80}, {'_id': 3, "
              "'stock_item': 'almonds', 'warehouse': 'B', 'instock': 60}, {'_id': 4, "
              "'stock_item': 'cookies', 'warehouse': 'B', 'instock': 40}]");
    fake_load(db, "holidays",
              "[{'_id': 1, 'year': 2018, 'name': 'New Years'}, {'_id': 2, 'year': 2018, "
              "'name': 'Pi Day'}, {'_id': 3, 'year': 2017, 'name': 'Old'}]");
    fake_load(db, "employees",
              "[{'_id': 1, 'name': 'Dev'}, {'_id': 2, 'name': 'Eliot', 'reportsTo': 'Dev'}, "
              "{'_id': 3, 'name': 'Ron', 'reportsTo': 'Eliot'}, {'_id': 4, 'name': 'Andrew', "
              "'reportsTo': 'Eliot'}]");
    fake_load(db, "cycle",
              "[{'_id': 1, 'name': 'a', 'next': 'b'}, {'_id': 2, 'name': 'b', 'next': 'c'}, "
              "{'_id': 3, 'name': 'c', 'next': 'a'}]");
}

static void test_datasource_stages(void **state)
{
    (void)state;
    fake_db_t db;
    memset(&db, 0, sizeof db);
    load_fixtures(&db);
    failures = 0;
    for (size_t i = 0; i < sizeof ds_cases / sizeof ds_cases[0]; i++)
        run_case(&ds_cases[i], &db);
    fake_free(&db);
    if (failures)
        fail_msg("%d data-source case(s) failed", failures);
}

/* run_write -- run pipeline over input with db; returns the status code. */
static int run_write(fake_db_t *db, const char *pipeline, const char *input, status_t *st)
{
    qry_pl_ctx_t ctx;
    fake_ctx(db, &ctx);
    bson_t *p = JA(pipeline), *in = JA(input), out;
    int ret = run_pipeline(p, in, &ctx, true, &out, st);
    if (ret == 0)
        assert_int_equal(bson_count_keys(&out), 0); /* $out/$merge output nothing */
    bson_destroy(&out);
    bson_destroy(p);
    bson_destroy(in);
    return ret;
}

static void expect_coll(fake_db_t *db, const char *name, const char *json, bool unordered)
{
    fake_coll_t *c = fake_find(db, name, false);
    bson_t arr;
    bson_init(&arr);
    for (size_t i = 0; c && i < c->n; i++) {
        char k[16];
        snprintf(k, sizeof k, "%zu", i);
        BSON_APPEND_DOCUMENT(&arr, k, c->docs[i]);
    }
    bson_t *exp = JA(json);
    char *a = canon(&arr, unordered), *b = canon(exp, unordered);
    if (strcmp(a, b) != 0)
        fail_msg("collection %s:\n  got      %s\n  expected %s", name, a, b);
    bson_free(a);
    bson_free(b);
    bson_destroy(exp);
    bson_destroy(&arr);
}

static void test_out(void **state)
{
    (void)state;
    fake_db_t db;
    memset(&db, 0, sizeof db);
    status_t st = STATUS_INIT;
    fake_load(&db, "authors", "[{'_id': 'old'}]");
    assert_int_equal(run_write(&db,
                               "[{'$group': {'_id': '$author', 'books': {'$push': '$title'}}}, "
                               "{'$sort': {'_id': 1}}, {'$out': 'authors'}]",
                               "[{'title': 'A', 'author': 'Homer'}, {'title': 'B', 'author': "
                               "'Dante'}, {'title': 'C', 'author': 'Homer'}]",
                               &st),
                     0);
    expect_coll(&db, "authors",
                "[{'_id': 'Dante', 'books': ['B']}, {'_id': 'Homer', 'books': ['A', 'C']}]", false);
    assert_int_equal(db.out_commits, 1);
    /* a failed write aborts: the target keeps its documents */
    db.fail_writes = false;
    assert_int_equal(run_write(&db, "[{'$out': 'authors'}]", "[{'_id': 1}, {'_id': 1}]", &st),
                     ERR_DuplicateKey);
    assert_int_equal(db.out_aborts, 1);
    expect_coll(&db, "authors",
                "[{'_id': 'Dante', 'books': ['B']}, {'_id': 'Homer', 'books': ['A', 'C']}]", false);
    /* no data source: NotImplemented */
    qry_pl_ctx_t ctx;
    qry_pl_ctx_init(&ctx);
    bson_t *p = JA("[{'$out': 'x'}]"), out;
    assert_int_equal(run_pipeline(p, NULL, &ctx, false, &out, &st), ERR_NotImplemented);
    bson_destroy(&out);
    bson_destroy(p);
    /* bad targets */
    assert_int_equal(run_write(&db, "[{'$out': 1}]", "[]", &st), 16990);
    assert_int_equal(run_write(&db, "[{'$out': {'db': 'x', 'coll': 'y', 'z': 1}}]", "[]", &st),
                     40415);
    fake_free(&db);
}

typedef struct mcase {
    const char *name;
    const char *stage;
    const char *expect; /* target after the run */
    int code;
} mcase_t;

/* Target {_id: 1, a: 1, b: 1}, {_id: 2, a: 2}; input {_id: 1, a: 10, c: 3}, {_id: 3, a: 30}. */
static const mcase_t merge_cases[] = {
    {"default_merge_insert", "{'$merge': 't'}",
     "[{'_id': 1, 'a': 10, 'b': 1, 'c': 3}, {'_id': 2, 'a': 2}, {'_id': 3, 'a': 30}]", 0},
    {"replace", "{'$merge': {'into': 't', 'whenMatched': 'replace'}}",
     "[{'_id': 1, 'a': 10, 'c': 3}, {'_id': 2, 'a': 2}, {'_id': 3, 'a': 30}]", 0},
    {"keep_existing", "{'$merge': {'into': 't', 'whenMatched': 'keepExisting'}}",
     "[{'_id': 1, 'a': 1, 'b': 1}, {'_id': 2, 'a': 2}, {'_id': 3, 'a': 30}]", 0},
    {"fail_on_match", "{'$merge': {'into': 't', 'whenMatched': 'fail'}}", NULL, 11000},
    {"discard", "{'$merge': {'into': 't', 'whenNotMatched': 'discard'}}",
     "[{'_id': 1, 'a': 10, 'b': 1, 'c': 3}, {'_id': 2, 'a': 2}]", 0},
    {"fail_not_matched", "{'$merge': {'into': 't', 'whenNotMatched': 'fail'}}", NULL, 13113},
    {"pipeline",
     "{'$merge': {'into': 't', 'whenMatched': [{'$set': {'a': {'$add': ['$a', "
     "'$$new.a']}}}]}}",
     "[{'_id': 1, 'a': 11, 'b': 1}, {'_id': 2, 'a': 2}, {'_id': 3, 'a': 30}]", 0},
    {"pipeline_let",
     "{'$merge': {'into': 't', 'let': {'inc': '$a'}, 'whenMatched': [{'$set': "
     "{'a': {'$add': ['$a', '$$inc']}}}]}}",
     "[{'_id': 1, 'a': 11, 'b': 1}, {'_id': 2, 'a': 2}, {'_id': 3, 'a': 30}]", 0},
    {"on_field",
     "{'$merge': {'into': 't', 'on': 'a', 'whenMatched': 'replace', "
     "'whenNotMatched': 'discard'}}",
     "[{'_id': 1, 'a': 1, 'b': 1}, {'_id': 2, 'a': 2}]", 0},
    {"bad_when_matched", "{'$merge': {'into': 't', 'whenMatched': 'nope'}}", NULL, 2},
    {"pipeline_bad_stage",
     "{'$merge': {'into': 't', 'whenMatched': [{'$group': {'_id': "
     "1}}]}}",
     NULL, 72},
    {"let_without_pipeline", "{'$merge': {'into': 't', 'let': {'x': 1}}}", NULL, 51199},
    {"missing_into", "{'$merge': {'on': '_id'}}", NULL, 40414},
};

static void test_merge(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < sizeof merge_cases / sizeof merge_cases[0]; i++) {
        const mcase_t *c = &merge_cases[i];
        fake_db_t db;
        memset(&db, 0, sizeof db);
        fake_load(&db, "t", "[{'_id': 1, 'a': 1, 'b': 1}, {'_id': 2, 'a': 2}]");
        char pipeline[512];
        snprintf(pipeline, sizeof pipeline, "[%s]", c->stage);
        status_t st = STATUS_INIT;
        int ret =
            run_write(&db, pipeline, "[{'_id': 1, 'a': 10, 'c': 3}, {'_id': 3, 'a': 30}]", &st);
        if (ret != c->code)
            CASE_FAIL("%s: got %d (%s), expected %d", c->name, ret, st.msg, c->code);
        else if (c->expect)
            expect_coll(&db, "t", c->expect, true);
        fake_free(&db);
    }
    if (failures)
        fail_msg("%d $merge case(s) failed", failures);
}

/* ---- variables, deadline ------------------------------------------------------- */

static void test_let_and_now(void **state)
{
    (void)state;
    fake_db_t db;
    memset(&db, 0, sizeof db);
    qry_pl_ctx_t ctx;
    fake_ctx(&db, &ctx);
    bson_t *let = J("{'target': {'$add': [1, 2]}, 'name': 'x'}");
    ctx.let = let;
    bson_t *p = JA("[{'$match': {'$expr': {'$eq': ['$v', '$$target']}}}, {'$project': {'_id': 0, "
                   "'v': 1, 'n': '$$name', 'now': '$$NOW'}}]");
    bson_t *in = JA("[{'v': 3}, {'v': 4}]"), out;
    status_t st = STATUS_INIT;
    assert_int_equal(run_pipeline(p, in, &ctx, true, &out, &st), 0);
    bson_t *exp = JA("[{'v': 3, 'n': 'x', 'now': {'$date': {'$numberLong': '1700000000000'}}}]");
    char *a = canon(&out, false), *b = canon(exp, false);
    assert_string_equal(a, b);
    bson_free(a);
    bson_free(b);
    bson_destroy(exp);
    bson_destroy(&out);
    bson_destroy(p);
    /* a variable the let does not define is a parse error */
    p = JA("[{'$project': {'x': '$$other'}}]");
    assert_int_equal(run_pipeline(p, in, &ctx, false, &out, &st), 17276);
    bson_destroy(&out);
    bson_destroy(p);
    bson_destroy(in);
    bson_destroy(let);
}

static int deadline_after;

static int deadline_cb(void *arg, status_t *st)
{
    (void)arg;
    if (--deadline_after < 0)
        return status_set(st, ERR_MaxTimeMSExpired, "operation exceeded time limit");
    return 0;
}

static void test_deadline(void **state)
{
    (void)state;
    fake_db_t db;
    memset(&db, 0, sizeof db);
    qry_pl_ctx_t ctx;
    fake_ctx(&db, &ctx);
    ctx.deadline = deadline_cb;
    deadline_after = 3;
    bson_t *p = JA("[{'$match': {}}, {'$sort': {'a': 1}}]");
    bson_t *in = JA("[{'a': 1}, {'a': 2}, {'a': 3}, {'a': 4}]"), out;
    status_t st = STATUS_INIT;
    assert_int_equal(run_pipeline(p, in, &ctx, false, &out, &st), ERR_MaxTimeMSExpired);
    bson_destroy(&out);
    bson_destroy(p);
    bson_destroy(in);
}

/* ---- spilling ---------------------------------------------------------------- */

static bool dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool empty = true;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = false;
    if (d)
        closedir(d);
    return empty;
}

/* many_docs -- n documents {_id: i, k: i % groups, s: "<padding>", v: i}, shuffled order. */
static bson_t *many_docs(int n, int groups)
{
    bson_t *arr = bson_new();
    char pad[200];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < n; i++) {
        int j = (int)(((unsigned)i * 7919u) % (unsigned)n);
        char k[16];
        snprintf(k, sizeof k, "%d", i);
        bson_t d;
        BSON_APPEND_DOCUMENT_BEGIN(arr, k, &d);
        BSON_APPEND_INT32(&d, "_id", j);
        BSON_APPEND_INT32(&d, "k", j % groups);
        BSON_APPEND_UTF8(&d, "s", pad);
        BSON_APPEND_INT32(&d, "v", j);
        bson_append_document_end(arr, &d);
    }
    return arr;
}

static void spill_compare(const char *pipeline, int n, int groups, bool unordered)
{
    char tmpl[] = "/tmp/mica-spill-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    fake_db_t db;
    memset(&db, 0, sizeof db);
    bson_t *p = JA(pipeline);
    bson_t *in = many_docs(n, groups);
    status_t st = STATUS_INIT;
    /* in memory */
    qry_pl_ctx_t ctx;
    fake_ctx(&db, &ctx);
    bson_t mem_out, disk_out, fail_out;
    assert_int_equal(run_pipeline(p, in, &ctx, true, &mem_out, &st), 0);
    /* small limit with allowDiskUse: spills, same result */
    ctx.mem_limit = 16 * 1024;
    ctx.tmp_dir = dir;
    qry_pipeline_t *pp;
    assert_int_equal(qry_pipeline_parse(p, NULL, &pp, &st), 0);
    bson_t **docs = calloc((size_t)n, sizeof *docs);
    bson_iter_t it;
    bson_iter_init(&it, in);
    size_t nd = 0;
    while (bson_iter_next(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        docs[nd++] = bson_new_from_data(data, len);
    }
    qry_pl_exec_t *ex;
    assert_int_equal(
        qry_pipeline_open(pp, &ctx, qry_pl_source_array((const bson_t *const *)docs, nd), &ex, &st),
        0);
    bson_init(&disk_out);
    uint32_t i = 0;
    for (;;) {
        bson_t d;
        bool eof;
        assert_int_equal(qry_pl_exec_next(ex, &d, &eof, &st), 0);
        if (eof) {
            bson_destroy(&d);
            break;
        }
        char k[16];
        snprintf(k, sizeof k, "%u", i++);
        BSON_APPEND_DOCUMENT(&disk_out, k, &d);
        bson_destroy(&d);
    }
    assert_true(qry_pl_exec_spills(ex) > 1);
    qry_pl_exec_destroy(ex);
    qry_pipeline_destroy(pp);
    for (size_t k = 0; k < nd; k++)
        bson_destroy(docs[k]);
    free(docs);
    char *a = canon(&mem_out, unordered), *b = canon(&disk_out, unordered);
    assert_string_equal(a, b);
    bson_free(a);
    bson_free(b);
    /* without allowDiskUse: 292 */
    ctx.allow_disk_use = false;
    assert_int_equal(run_pipeline(p, in, &ctx, true, &fail_out, &st),
                     ERR_QueryExceededMemoryLimitNoDiskUseAllowed);
    assert_true(dir_empty(dir)); /* temp files never outlive the run */
    rmdir(dir);
    bson_destroy(&mem_out);
    bson_destroy(&disk_out);
    bson_destroy(&fail_out);
    bson_destroy(p);
    bson_destroy(in);
}

static void test_spill_sort(void **state)
{
    (void)state;
    spill_compare("[{'$sort': {'k': 1, 'v': -1}}, {'$project': {'s': 0}}]", 3000, 17, false);
}

static void test_spill_sort_stable(void **state)
{
    (void)state;
    /* equal keys keep arrival order across runs */
    spill_compare("[{'$sort': {'k': 1}}, {'$project': {'s': 0}}]", 2000, 3, false);
}

static void test_spill_group(void **state)
{
    (void)state;
    spill_compare("[{'$group': {'_id': '$k', 'n': {'$sum': 1}, 't': {'$sum': '$v'}, 'a': "
                  "{'$avg': '$v'}, 'mn': {'$min': '$v'}, 'mx': {'$max': '$v'}, 'f': {'$first': "
                  "'$v'}, 'l': {'$last': '$v'}, 'sd': {'$stdDevPop': '$v'}, 'ids': {'$push': "
                  "'$_id'}, 'top': {'$topN': {'output': '$v', 'sortBy': {'v': -1}, 'n': 3}}}}]",
                  3000, 1500, true);
}

static void test_spill_group_few_groups(void **state)
{
    (void)state;
    /* groups whose $push lists outgrow the limit are spilled as partial states and merged */
    spill_compare("[{'$group': {'_id': '$k', 'ids': {'$push': '$v'}, 'set': {'$addToSet': "
                  "'$k'}, 'last2': {'$lastN': {'input': '$v', 'n': 2}}}}, {'$sort': {'_id': "
                  "1}}]",
                  3000, 4, false);
}

static void test_spill_group_one_big_set(void **state)
{
    (void)state;
    /* one group whose $addToSet outgrows the limit: partial sets merge without duplicates */
    spill_compare("[{'$group': {'_id': null, 's': {'$addToSet': '$v'}, 'k': {'$addToSet': "
                  "'$k'}}}, {'$project': {'n': {'$size': '$s'}, 'nk': {'$size': '$k'}}}]",
                  3000, 7, false);
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
