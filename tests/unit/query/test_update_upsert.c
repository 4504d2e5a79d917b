/*
 * test_update_upsert.c -- upsert documents (the query's equality clauses,
 * then the update applied as an insert), $setOnInsert, $currentDate's
 * clock, and the changed-path list that index maintenance and the oplog use.
 * JSON in the tables uses single quotes.
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

static bool same_bytes(const bson_t *a, const bson_t *b)
{
    return a->len == b->len && memcmp(bson_get_data(a), bson_get_data(b), a->len) == 0;
}

typedef struct ucase {
    const char *name;
    const char *query;
    const char *update;
    const char *expect; /* NULL: error */
    int code;
} ucase_t;

static const ucase_t cases[] = {
    {"seed_from_equalities", "{'a': 1, 'b': 'x'}", "{'$set': {'c': 1}}",
     "{'a': 1, 'b': 'x', 'c': 1}", 0},
    {"seed_dotted_becomes_nested", "{'a': 1, 'b.c': 2}", "{'$set': {'d': 1}}",
     "{'a': 1, 'b': {'c': 2}, 'd': 1}", 0},
    {"seed_id_first", "{'a': 1, '_id': 5}", "{'$set': {'b': 1}}", "{'_id': 5, 'a': 1, 'b': 1}", 0},
    {"seed_eq_operator", "{'a': {'$eq': 3}}", "{'$inc': {'n': 1}}", "{'a': 3, 'n': 1}", 0},
    {"seed_ignores_ranges", "{'a': {'$gt': 3}, 'b': 1}", "{'$set': {'c': 1}}", "{'b': 1, 'c': 1}",
     0},
    {"seed_from_and", "{'$and': [{'a': 1}, {'b': 2}]}", "{'$set': {'c': 1}}",
     "{'a': 1, 'b': 2, 'c': 1}", 0},
    {"setoninsert_applies", "{'a': 1}", "{'$setOnInsert': {'created': true}, '$set': {'b': 2}}",
     "{'a': 1, 'b': 2, 'created': true}", 0},
    {"update_overrides_seed_field", "{'a': 1}", "{'$set': {'a': 2}}", "{'a': 2}", 0},
    {"inc_on_seed_field", "{'n': 5}", "{'$inc': {'n': 1}}", "{'n': 6}", 0},
    {"set_id_on_insert_allowed", "{'a': 1}", "{'$set': {'_id': 7}}", "{'_id': 7, 'a': 1}", 0},
    {"replacement_takes_query_id", "{'_id': 3, 'a': 1}", "{'b': 2}", "{'_id': 3, 'b': 2}", 0},
    {"replacement_without_query_id", "{'a': 1}", "{'b': 2}", "{'b': 2}", 0},
    {"replacement_conflicting_id", "{'_id': 3}", "{'_id': 4, 'b': 2}", NULL, 66},
    {"set_conflicting_id", "{'_id': 3}", "{'$set': {'_id': 4}}", NULL, 66},
    {"positional_in_upsert_fails", "{'a': 1}", "{'$set': {'a.$': 1}}", NULL, 2},
    {"all_positional_in_upsert_fails", "{'a': 1}", "{'$set': {'x.$[]': 1}}", NULL, 2},
    {"seed_path_twice", "{'$and': [{'a': 1}, {'a': 2}]}", "{'$set': {'c': 1}}", NULL, 54},
};

static void test_upsert_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ucase_t *c = &cases[i];
        bson_t *q = J(c->query), *u = J(c->update);
        qry_update_t *plan = NULL;
        status_t st = STATUS_INIT;
        qry_update_result_t res;
        int rc = qry_update_parse(u, NULL, &plan, &st);
        bson_init(&res.doc);
        res.paths = NULL;
        res.npaths = 0;
        if (rc == 0) {
            bson_destroy(&res.doc);
            rc = qry_update_upsert(plan, q, NULL, &res, &st);
        }
        if (c->expect && rc != 0) {
            CASE_FAIL("case '%s': error %d: %s", c->name, st.code, st.msg);
        } else if (c->expect) {
            bson_t *want = J(c->expect);
            if (!same_bytes(&res.doc, want)) {
                char *g = bson_as_relaxed_extended_json(&res.doc, NULL);
                CASE_FAIL("case '%s': got %s, want %s", c->name, g, c->expect);
                bson_free(g);
            }
            if (!res.changed)
                CASE_FAIL("case '%s': an insert must report changed", c->name);
            bson_destroy(want);
        } else if (rc == 0) {
            CASE_FAIL("case '%s': expected error %d", c->name, c->code);
        } else if (st.code != c->code) {
            CASE_FAIL("case '%s': code %d (%s), want %d", c->name, st.code, st.msg, c->code);
        }
        qry_update_result_destroy(&res);
        qry_update_destroy(plan);
        bson_destroy(q);
        bson_destroy(u);
    }
    assert_int_equal(failures, 0);
}

/* Changed-path cases: the sorted list of concrete paths an update reports. */
typedef struct pcase {
    const char *name;
    const char *doc;
    const char *update;
    int matched;
    const char *paths; /* comma-separated, in application order */
} pcase_t;

static const pcase_t path_cases[] = {
    {"set_two_fields", "{'a': 1}", "{'$set': {'b': 1, 'a': 2}}", -1, "a,b"},
    {"noop_set_not_reported", "{'a': 1}", "{'$set': {'a': 1, 'b': 1}}", -1, "b"},
    {"nested_path", "{}", "{'$set': {'x.y': 1}}", -1, "x.y"},
    {"positional_resolved", "{'a': [1, 2]}", "{'$inc': {'a.$': 1}}", 1, "a.1"},
    {"all_positional_each_element", "{'a': [1, 2]}", "{'$inc': {'a.$[]': 1}}", -1, "a.0,a.1"},
    {"unset_reports_path", "{'a': 1, 'b': 1}", "{'$unset': {'b': 1}}", -1, "b"},
    {"rename_reports_both", "{'a': 1}", "{'$rename': {'a': 'z'}}", -1, "a,z"},
    {"push_reports_array", "{'a': []}", "{'$push': {'a': 1}}", -1, "a"},
    {"addtoset_existing_not_reported", "{'a': [1]}", "{'$addToSet': {'a': 1}}", -1, ""},
    {"pull_reports_array", "{'a': [1, 2]}", "{'$pull': {'a': 2}}", -1, "a"},
};

static void test_changed_paths(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const pcase_t *c = &path_cases[i];
        bson_t *d = J(c->doc), *u = J(c->update);
        qry_update_t *plan = NULL;
        status_t st = STATUS_INIT;
        qry_update_result_t res;
        assert_int_equal(qry_update_parse(u, NULL, &plan, &st), 0);
        qry_update_ctx_t ctx = QRY_UPDATE_CTX_INIT;
        ctx.matched_index = c->matched;
        if (qry_update_apply(plan, d, &ctx, &res, &st) != 0) {
            CASE_FAIL("case '%s': error %s", c->name, st.msg);
        } else {
            char got[256] = "";
            for (size_t k = 0; k < res.npaths; k++) {
                if (k)
                    strcat(got, ",");
                strncat(got, res.paths[k], sizeof got - strlen(got) - 2);
            }
            if (strcmp(got, c->paths) != 0)
                CASE_FAIL("case '%s': paths '%s', want '%s'", c->name, got, c->paths);
            if (res.changed != (c->paths[0] != '\0'))
                CASE_FAIL("case '%s': changed flag %d", c->name, res.changed);
        }
        qry_update_result_destroy(&res);
        qry_update_destroy(plan);
        bson_destroy(d);
        bson_destroy(u);
    }
    assert_int_equal(failures, 0);
}

static void test_currentdate_uses_clock(void **state)
{
    (void)state;
    bson_t *d = J("{'_id': 1}");
    bson_t *u = J("{'$currentDate': {'d': true, 't': {'$type': 'timestamp'}}}");
    qry_update_t *plan = NULL;
    status_t st = STATUS_INIT;
    qry_update_result_t res;
    assert_int_equal(qry_update_parse(u, NULL, &plan, &st), 0);
    qry_update_ctx_t ctx = QRY_UPDATE_CTX_INIT;
    ctx.now_ms = 1234567;
    ctx.ts_t = 77;
    ctx.ts_i = 3;
    assert_int_equal(qry_update_apply(plan, d, &ctx, &res, &st), 0);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &res.doc, "d"));
    assert_int_equal(bson_iter_date_time(&it), 1234567);
    assert_true(bson_iter_init_find(&it, &res.doc, "t"));
    uint32_t t, inc;
    bson_iter_timestamp(&it, &t, &inc);
    assert_int_equal(t, 77);
    assert_int_equal(inc, 3);
    assert_true(res.changed);
    qry_update_result_destroy(&res);
    qry_update_destroy(plan);
    bson_destroy(d);
    bson_destroy(u);
}

static void test_plan_flags(void **state)
{
    (void)state;
    bson_t *u1 = J("{'$set': {'a.$': 1}}"), *u2 = J("{'a': 1}");
    qry_update_t *p1 = NULL, *p2 = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_update_parse(u1, NULL, &p1, &st), 0);
    assert_int_equal(qry_update_parse(u2, NULL, &p2, &st), 0);
    assert_true(qry_update_uses_positional(p1));
    assert_false(qry_update_is_replacement(p1));
    assert_true(qry_update_is_replacement(p2));
    qry_update_destroy(p1);
    qry_update_destroy(p2);
    qry_update_destroy(NULL);
    bson_destroy(u1);
    bson_destroy(u2);
}

static void test_apply_many_times(void **state)
{
    (void)state;
    /* a plan is reusable: apply it repeatedly to its own output */
    bson_t *d = J("{'_id': 1, 'n': 0, 'log': []}");
    bson_t *u = J("{'$inc': {'n': 1}, '$push': {'log': {'$each': ['x'], '$slice': -3}}}");
    qry_update_t *plan = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_update_parse(u, NULL, &plan, &st), 0);
    bson_t *cur = bson_copy(d);
    for (int i = 0; i < 10; i++) {
        qry_update_result_t res;
        assert_int_equal(qry_update_apply(plan, cur, NULL, &res, &st), 0);
        bson_destroy(cur);
        cur = bson_copy(&res.doc);
        qry_update_result_destroy(&res);
    }
    bson_t *want = J("{'_id': 1, 'n': 10, 'log': ['x', 'x', 'x']}");
    assert_true(same_bytes(cur, want));
    bson_destroy(want);
    bson_destroy(cur);
    qry_update_destroy(plan);
    bson_destroy(d);
    bson_destroy(u);
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
