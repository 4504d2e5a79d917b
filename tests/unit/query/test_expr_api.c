/*
 * test_expr_api.c -- the expression framework's API beyond single rows:
 * variable scopes and bound values, dependency analysis, constant folding,
 * accessors, arena marks and resets, object-expression parsing, nesting
 * limits, and $expr through qry_match_parse with the framework's hooks.
 */
#include "tests/unit/query/test_expr_cases.h"

/* Parse JSON (with ' for ") into a tree; fails the test on error. */
static qry_expr_t *parse_ok(const char *json, qry_expr_scope_t *scope)
{
    bson_t b;
    status_t st = STATUS_INIT;
    qry_expr_t *e = NULL;
    et_json(json, &b);
    bson_value_t v = et_value(&b);
    if (qry_expr_parse(&v, scope, &e, &st) != 0)
        fail_msg("parse %s: %d %s", json, st.code, st.msg);
    bson_destroy(&b);
    return e;
}

static bson_t *doc(const char *json)
{
    char *buf = strdup(json);
    for (char *p = buf; *p; p++)
        if (*p == '\'')
            *p = '"';
    bson_t *d = bson_new_from_json((const uint8_t *)buf, -1, NULL);
    free(buf);
    assert_non_null(d);
    return d;
}

static void test_scope_variable_bound_per_context(void **state)
{
    qry_expr_scope_t *scope = qry_expr_scope_new();
    status_t st = STATUS_INIT;
    int slot = -1;
    assert_int_equal(qry_expr_scope_define(scope, "limit", &slot, &st), 0);
    assert_int_equal(qry_expr_scope_lookup(scope, "limit"), slot);
    assert_int_equal(qry_expr_scope_nslots(scope), 1);
    qry_expr_t *e = parse_ok("{'$gt': ['$qty', '$$limit']}", scope);
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    bson_value_t lim = {.value_type = BSON_TYPE_INT32, .value.v_int32 = 10};
    assert_int_equal(qry_expr_ctx_set_var(cx, slot, &lim, &st), 0);
    bson_t *d = doc("{'qty': 12}");
    bool r = false;
    assert_int_equal(qry_expr_eval_bool(e, cx, d, &r, &st), 0);
    assert_true(r);
    lim.value.v_int32 = 20;
    assert_int_equal(qry_expr_ctx_set_var(cx, slot, &lim, &st), 0);
    assert_int_equal(qry_expr_eval_bool(e, cx, d, &r, &st), 0);
    assert_false(r);
    bson_destroy(d);
    qry_expr_destroy(e);
    qry_expr_ctx_destroy(cx);
    qry_expr_scope_destroy(scope);
}

static void test_scope_rejects_bad_names(void **state)
{
    qry_expr_scope_t *scope = qry_expr_scope_new();
    status_t st = STATUS_INIT;
    int slot;
    assert_int_equal(qry_expr_scope_define(scope, "", &slot, &st), ERR_FailedToParse);
    assert_int_equal(qry_expr_scope_define(scope, "Upper", &slot, &st), ERR_FailedToParse);
    assert_int_equal(qry_expr_scope_define(scope, "a-b", &slot, &st), ERR_FailedToParse);
    assert_int_equal(qry_expr_scope_define(scope, "CURRENT", &slot, &st), ERR_FailedToParse);
    assert_int_equal(qry_expr_scope_lookup(scope, "a-b"), -1);
    qry_expr_scope_destroy(scope);
}

static void test_unbound_slot_reads_missing(void **state)
{
    qry_expr_scope_t *scope = qry_expr_scope_new();
    status_t st = STATUS_INIT;
    int slot;
    assert_int_equal(qry_expr_scope_define(scope, "x", &slot, &st), 0);
    qry_expr_t *e = parse_ok("'$$x'", scope);
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    bson_value_t out;
    assert_int_equal(qry_expr_eval(e, cx, NULL, &out, &st), 0);
    assert_int_equal(out.value_type, BSON_TYPE_EOD);
    qry_expr_destroy(e);
    qry_expr_ctx_destroy(cx);
    qry_expr_scope_destroy(scope);
}

static bool has_path(const qry_expr_deps_t *d, const char *p)
{
    for (size_t i = 0; i < d->npaths; i++)
        if (strcmp(d->paths[i], p) == 0)
            return true;
    return false;
}

static void test_deps_lists_field_paths(void **state)
{
    qry_expr_t *e = parse_ok("{'$add': ['$a.b', '$c', {'$multiply': ['$c', 2]}]}", NULL);
    qry_expr_deps_t d;
    qry_expr_deps_init(&d);
    qry_expr_deps_add(e, &d);
    assert_int_equal(d.npaths, 2);
    assert_true(has_path(&d, "a.b"));
    assert_true(has_path(&d, "c"));
    assert_false(d.whole_doc);
    assert_false(d.uses_now);
    qry_expr_deps_destroy(&d);
    qry_expr_destroy(e);
}

static void test_deps_root_needs_whole_document(void **state)
{
    qry_expr_t *e = parse_ok("{'$mergeObjects': ['$$ROOT', {'x': '$y'}]}", NULL);
    qry_expr_deps_t d;
    qry_expr_deps_init(&d);
    qry_expr_deps_add(e, &d);
    assert_true(d.whole_doc);
    qry_expr_deps_destroy(&d);
    qry_expr_destroy(e);
}

static void test_deps_ignore_let_variables_and_mark_now(void **state)
{
    qry_expr_t *e = parse_ok(
        "{'$let': {'vars': {'v': '$a'}, 'in': {'$map': {'input': '$$v', 'in': {'$add': ['$$this', "
        "{'$toLong': '$$NOW'}]}}}}}",
        NULL);
    qry_expr_deps_t d;
    qry_expr_deps_init(&d);
    qry_expr_deps_add(e, &d);
    assert_int_equal(d.npaths, 1);
    assert_true(has_path(&d, "a"));
    assert_false(d.whole_doc);
    assert_true(d.uses_now);
    qry_expr_deps_destroy(&d);
    qry_expr_destroy(e);
}

static void test_deps_rand_is_not_pure(void **state)
{
    qry_expr_t *e = parse_ok("{'$rand': {}}", NULL);
    qry_expr_deps_t d;
    qry_expr_deps_init(&d);
    qry_expr_deps_add(e, &d);
    assert_true(d.uses_now);
    assert_null(qry_expr_constant(e));
    qry_expr_deps_destroy(&d);
    qry_expr_destroy(e);
}

static void test_constant_folding(void **state)
{
    qry_expr_t *e = parse_ok("{'$add': [1, {'$multiply': [2, 3]}]}", NULL);
    const bson_value_t *c = qry_expr_constant(e);
    assert_non_null(c);
    assert_int_equal(c->value_type, BSON_TYPE_INT32);
    assert_int_equal(c->value.v_int32, 7);
    qry_expr_destroy(e);
    e = parse_ok("{'$add': [1, '$a']}", NULL);
    assert_null(qry_expr_constant(e));
    qry_expr_destroy(e);
    /* a constant that fails to fold is an error at parse time, as MongoDB's optimizer makes it */
    bson_t b;
    status_t st = STATUS_INIT;
    et_json("{'$divide': [1, 0]}", &b);
    bson_value_t v = et_value(&b);
    e = NULL;
    assert_int_equal(qry_expr_parse(&v, NULL, &e, &st), 16608);
    assert_string_equal(st.msg, "can't $divide by zero");
    bson_destroy(&b);
}

static void test_field_path_and_spec_accessors(void **state)
{
    qry_expr_t *e = parse_ok("'$a.b'", NULL);
    assert_string_equal(qry_expr_field_path(e), "a.b");
    const bson_value_t *spec = qry_expr_spec(e);
    assert_non_null(spec);
    assert_int_equal(spec->value_type, BSON_TYPE_UTF8);
    assert_string_equal(spec->value.v_utf8.str, "$a.b");
    qry_expr_destroy(e);
    e = parse_ok("{'$add': ['$a', 1]}", NULL);
    assert_null(qry_expr_field_path(e));
    qry_expr_destroy(e);
}

static void test_parse_object_never_operator(void **state)
{
    bson_t *d = doc("{'total': {'$add': ['$a', 1]}, 'name': '$n'}");
    qry_expr_t *e = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_expr_parse_object(d, NULL, &e, &st), 0);
    bson_t *in = doc("{'a': 1, 'n': 'x'}");
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    bson_value_t out;
    assert_int_equal(qry_expr_eval(e, cx, in, &out, &st), 0);
    bson_value_t want_b;
    bson_t *want = doc("{'total': 2, 'name': 'x'}");
    want_b.value_type = BSON_TYPE_DOCUMENT;
    want_b.value.v_doc.data = (uint8_t *)bson_get_data(want);
    want_b.value.v_doc.data_len = want->len;
    assert_int_equal(bsonu_compare_value(&out, &want_b), 0);
    qry_expr_destroy(e);
    bson_destroy(d);
    d = doc("{'$add': [1, 2]}");
    assert_int_not_equal(qry_expr_parse_object(d, NULL, &e, &st), 0);
    assert_int_equal(st.code, 16410);
    assert_null(e);
    bson_destroy(d);
    bson_destroy(in);
    bson_destroy(want);
    qry_expr_ctx_destroy(cx);
}

static void test_arena_release_keeps_older_results(void **state)
{
    qry_expr_t *e = parse_ok("{'$concat': ['$a', '$a']}", NULL);
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    status_t st = STATUS_INIT;
    bson_t *d1 = doc("{'a': 'x'}");
    bson_value_t first, second;
    assert_int_equal(qry_expr_eval(e, cx, d1, &first, &st), 0);
    uint64_t mark = qry_expr_ctx_mark(cx);
    /* a big value forces a new arena block, which release must free */
    char big[40000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    bson_t *d2 = bson_new();
    BSON_APPEND_UTF8(d2, "a", big);
    assert_int_equal(qry_expr_eval(e, cx, d2, &second, &st), 0);
    assert_int_equal(second.value.v_utf8.len, 2 * (sizeof(big) - 1));
    qry_expr_ctx_release(cx, mark);
    assert_int_equal(qry_expr_ctx_mark(cx), mark);
    assert_string_equal(first.value.v_utf8.str, "xx");
    qry_expr_ctx_reset(cx);
    assert_int_equal(qry_expr_ctx_mark(cx), 0);
    bson_destroy(d1);
    bson_destroy(d2);
    qry_expr_destroy(e);
    qry_expr_ctx_destroy(cx);
}

static void test_nesting_limit(void **state)
{
    /* built by hand: libbson's JSON reader stops at its own depth limit first */
    bson_t *cur = bson_new();
    BSON_APPEND_INT32(cur, "$abs", 1);
    for (int i = 0; i < 150; i++) {
        bson_t *next = bson_new();
        BSON_APPEND_DOCUMENT(next, "$abs", cur);
        bson_destroy(cur);
        cur = next;
    }
    bson_value_t v = {.value_type = BSON_TYPE_DOCUMENT};
    v.value.v_doc.data = (uint8_t *)bson_get_data(cur);
    v.value.v_doc.data_len = cur->len;
    qry_expr_t *e = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_expr_parse(&v, NULL, &e, &st), ERR_BadValue);
    assert_null(e);
    bson_destroy(cur);
}

static void test_cluster_time_and_truthy(void **state)
{
    qry_expr_t *e = parse_ok("'$$CLUSTER_TIME'", NULL);
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    status_t st = STATUS_INIT;
    bson_value_t out;
    qry_expr_ctx_set_cluster_time(cx, 100, 2);
    assert_int_equal(qry_expr_eval(e, cx, NULL, &out, &st), 0);
    assert_int_equal(out.value_type, BSON_TYPE_TIMESTAMP);
    assert_int_equal(out.value.v_timestamp.timestamp, 100);
    assert_int_equal(out.value.v_timestamp.increment, 2);
    assert_true(qry_expr_truthy(&out));
    memset(&out, 0, sizeof(out));
    assert_false(qry_expr_truthy(&out));
    bson_t *d = bson_new();
    assert_true(qry_expr_append(d, "x", 1, &out));
    assert_int_equal(bson_count_keys(d), 0);
    bson_destroy(d);
    qry_expr_destroy(e);
    qry_expr_ctx_destroy(cx);
}

static void test_match_expr_hooks_without_context(void **state)
{
    qry_match_hooks_t h = qry_expr_match_hooks(NULL);
    bson_t *f = doc("{'$expr': {'$gt': ['$spent', '$budget']}}");
    qry_match_t *m = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_match_parse(f, &h, &m, &st), 0);
    bson_t *over = doc("{'spent': 450, 'budget': 400}");
    bson_t *under = doc("{'spent': 100, 'budget': 400}");
    assert_true(qry_match_eval(m, over, NULL));
    assert_false(qry_match_eval(m, under, NULL));
    qry_match_destroy(m);
    bson_destroy(f);
    bson_destroy(over);
    bson_destroy(under);
}

static void test_match_expr_with_let_and_errors(void **state)
{
    qry_expr_scope_t *scope = qry_expr_scope_new();
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    status_t st = STATUS_INIT;
    int slot;
    assert_int_equal(qry_expr_scope_define(scope, "target", &slot, &st), 0);
    bson_value_t t = {.value_type = BSON_TYPE_INT32, .value.v_int32 = 3};
    assert_int_equal(qry_expr_ctx_set_var(cx, slot, &t, &st), 0);
    qry_expr_ctx_set_scope(cx, scope);
    qry_match_hooks_t h = qry_expr_match_hooks(cx);
    bson_t *f = doc("{'a': {'$exists': true}, '$expr': {'$eq': [{'$divide': ['$a', '$b']}, "
                    "'$$target']}}");
    qry_match_t *m = NULL;
    assert_int_equal(qry_match_parse(f, &h, &m, &st), 0);
    bson_t *yes = doc("{'a': 9, 'b': 3}");
    bson_t *no = doc("{'a': 9, 'b': 1}");
    bson_t *zero = doc("{'a': 9, 'b': 0}");
    bool matched = false;
    uint64_t mark = qry_expr_ctx_mark(cx);
    assert_int_equal(qry_match_exec(m, yes, NULL, &matched, &st), 0);
    assert_true(matched);
    assert_int_equal(qry_match_exec(m, no, NULL, &matched, &st), 0);
    assert_false(matched);
    assert_int_equal(qry_match_exec(m, zero, NULL, &matched, &st), 16608);
    /* each evaluation gives its arena memory back */
    assert_int_equal(qry_expr_ctx_mark(cx), mark);
    qry_match_destroy(m);
    bson_t *bad = doc("{'$expr': '$$undefinedVar'}");
    assert_int_equal(qry_match_parse(bad, &h, &m, &st), 17276);
    bson_destroy(bad);
    bson_destroy(f);
    bson_destroy(yes);
    bson_destroy(no);
    bson_destroy(zero);
    qry_expr_ctx_destroy(cx);
    qry_expr_scope_destroy(scope);
}

static void test_rand_seeded_is_repeatable(void **state)
{
    qry_expr_t *e = parse_ok("{'$rand': {}}", NULL);
    qry_expr_ctx_t *a = qry_expr_ctx_new(), *b = qry_expr_ctx_new();
    status_t st = STATUS_INIT;
    qry_expr_ctx_set_seed(a, 7);
    qry_expr_ctx_set_seed(b, 7);
    bson_value_t x, y, z;
    assert_int_equal(qry_expr_eval(e, a, NULL, &x, &st), 0);
    assert_int_equal(qry_expr_eval(e, b, NULL, &y, &st), 0);
    assert_true(x.value.v_double == y.value.v_double);
    assert_int_equal(qry_expr_eval(e, a, NULL, &z, &st), 0);
    assert_true(z.value.v_double != x.value.v_double);
    assert_true(x.value.v_double >= 0 && x.value.v_double < 1);
    qry_expr_destroy(e);
    qry_expr_ctx_destroy(a);
    qry_expr_ctx_destroy(b);
}

/* A metadata source: textScore is 2.5, searchScore a string, the rest absent. */
static int meta_source(void *arg, const char *name, const bson_t *doc, bson_value_t *out,
                       status_t *st)
{
    int *calls = arg;
    (*calls)++;
    if (strcmp(name, "textScore") == 0) {
        out->value_type = BSON_TYPE_DOUBLE;
        out->value.v_double = 2.5;
    } else if (strcmp(name, "searchScore") == 0) {
        bson_value_t s = {.value_type = BSON_TYPE_UTF8};
        s.value.v_utf8.str = "heap";
        s.value.v_utf8.len = 4;
        bson_value_copy(&s, out); /* owned by the caller, which must free it */
    }
    return 0;
}

static void test_meta_reads_the_context_callback(void **state)
{
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    status_t st = STATUS_INIT;
    int calls = 0;
    qry_expr_ctx_set_meta(cx, meta_source, &calls);
    qry_expr_t *e = parse_ok("{'$multiply': [{'$meta': 'textScore'}, 2]}", NULL);
    /* never folded: the value depends on the context, not on the spec */
    assert_null(qry_expr_constant(e));
    bson_value_t out;
    assert_int_equal(qry_expr_eval(e, cx, NULL, &out, &st), 0);
    assert_int_equal(out.value_type, BSON_TYPE_DOUBLE);
    assert_true(out.value.v_double == 5.0);
    qry_expr_destroy(e);
    e = parse_ok("{'$meta': 'searchScore'}", NULL);
    assert_int_equal(qry_expr_eval(e, cx, NULL, &out, &st), 0);
    assert_int_equal(out.value_type, BSON_TYPE_UTF8);
    assert_string_equal(out.value.v_utf8.str, "heap");
    qry_expr_destroy(e);
    e = parse_ok("{'$meta': 'recordId'}", NULL);
    assert_int_equal(qry_expr_eval(e, cx, NULL, &out, &st), 0);
    assert_int_equal(out.value_type, BSON_TYPE_EOD);
    assert_int_equal(calls, 3);
    qry_expr_destroy(e);
    qry_expr_ctx_destroy(cx);
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
