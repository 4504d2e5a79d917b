/*
 * test_match_api.c -- the matcher's public API beyond match/no-match: the
 * tree walk (kinds, paths, operands) the planner reads, equality extraction
 * for upserts, the $expr hook, the depth limit, and ownership rules.
 */
#include "test_match_cases.h"

/* parse_ok -- parse test JSON or fail. */
static qry_match_t *parse_ok(const char *json, const qry_match_hooks_t *hooks)
{
    bson_t *f = to_bson(json);
    qry_match_t *m = NULL;
    status_t st = STATUS_INIT;
    if (qry_match_parse(f, hooks, &m, &st) != 0)
        fail_msg("parse %s: %s", json, st.msg);
    bson_destroy(f);
    return m;
}

/* Render a tree as "$and($eq(a),$not($eq(b)))" for shape checks. */
static void shape(const qry_match_node_t *n, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    const char *path = qry_match_node_path(n);
    snprintf(buf + len, cap - len, "%s(%s", qry_match_kind_name(qry_match_node_kind(n)),
             path ? path : "");
    for (size_t i = 0; i < qry_match_node_nchildren(n); i++) {
        len = strlen(buf);
        snprintf(buf + len, cap - len, "%s", (i == 0 && !path) ? "" : ",");
        shape(qry_match_node_child(n, i), buf, cap);
    }
    len = strlen(buf);
    snprintf(buf + len, cap - len, ")");
}

typedef struct shape_case {
    const char *filter;
    const char *shape;
} shape_case_t;

/* The tree's shape for each operator, as the planner will see it. */
static void test_tree_shapes(void **state)
{
    static const shape_case_t rows[] = {
        {"{'a': 1}", "$eq(a)"},
        {"{'a': 1, 'b': 2}", "$and($eq(a),$eq(b))"},
        {"{'a': {'$ne': 1}}", "$not($eq(a))"},
        {"{'a': {'$nin': [1]}}", "$not($in(a))"},
        {"{'a': {'$exists': false}}", "$not($exists(a))"},
        {"{'a': {'$gt': 1, '$lt': 5}}", "$and($gt(a),$lt(a))"},
        {"{'$or': [{'a': 1}, {'b': 1}]}", "$or($eq(a),$eq(b))"},
        {"{'a': {'$all': [1, 2]}}", "$and($eq(a),$eq(a))"},
        {"{'a': {'$all': []}}", "$alwaysFalse()"},
        {"{'a': {'$elemMatch': {'b': 1}}}", "$elemMatch(a,$eq(b))"},
        {"{'a': {'$elemMatch': {'$gt': 1}}}", "$elemMatch(a,$gt())"},
        {"{'a': {'$not': {'$gt': 1}}}", "$not($gt(a))"},
        {"{'a': {'_$regex': 'x', '_$options': 'i'}}", "$regex(a)"},
        {"{'a': 1, '$comment': 'c'}", "$eq(a)"},
        {"{'$jsonSchema': {'required': ['a']}}", "$jsonSchema()"},
        {"{'a': {'$size': 1}, 'b': {'$mod': [2, 0]}}", "$and($size(a),$mod(b))"},
    };
    for (size_t i = 0; i < NROWS(rows); i++) {
        qry_match_t *m = parse_ok(rows[i].filter, NULL);
        char buf[512] = "";
        shape(qry_match_root(m), buf, sizeof(buf));
        if (strcmp(buf, rows[i].shape) != 0)
            fail_msg("%s: expected %s, got %s", rows[i].filter, rows[i].shape, buf);
        qry_match_destroy(m);
    }
}

/* Operands are the values as written: the planner builds index bounds from them. */
static void test_operands(void **state)
{
    qry_match_t *m =
        parse_ok("{'a': {'$gte': 3}, 'r': {'_$regex': '^x', '_$options': 'mi'}}", NULL);
    const qry_match_node_t *root = qry_match_root(m);
    const qry_match_node_t *gte = qry_match_node_child(root, 0);
    assert_int_equal(qry_match_node_kind(gte), QRY_MATCH_GTE);
    assert_int_equal(qry_match_node_operand(gte)->value_type, BSON_TYPE_INT32);
    assert_int_equal(qry_match_node_operand(gte)->value.v_int32, 3);
    const qry_match_node_t *re = qry_match_node_child(root, 1);
    assert_int_equal(qry_match_node_operand(re)->value_type, BSON_TYPE_REGEX);
    assert_string_equal(qry_match_node_operand(re)->value.v_regex.regex, "^x");
    assert_string_equal(qry_match_node_operand(re)->value.v_regex.options, "im");
    assert_null(qry_match_node_child(root, 2));
    assert_null(qry_match_node_operand(root));
    qry_match_destroy(m);
}

typedef struct eq_collect {
    char out[512];
} eq_collect_t;

/* Record "path=value;" for each equality. */
static int collect_eq(void *ctx, const char *path, const bson_value_t *v, status_t *st)
{
    eq_collect_t *c = ctx;
    size_t len = strlen(c->out);
    if (v->value_type == BSON_TYPE_INT32)
        snprintf(c->out + len, sizeof(c->out) - len, "%s=%d;", path, v->value.v_int32);
    else if (v->value_type == BSON_TYPE_UTF8)
        snprintf(c->out + len, sizeof(c->out) - len, "%s=%s;", path, v->value.v_utf8.str);
    else
        snprintf(c->out + len, sizeof(c->out) - len, "%s=<%d>;", path, (int)v->value_type);
    return 0;
}

typedef struct eq_case {
    const char *filter;
    const char *expect; /* NULL when an error is expected */
    int code;
} eq_case_t;

/* Equality fields for upsert documents, and the ambiguities MongoDB refuses. */
static void test_equalities(void **state)
{
    static const eq_case_t rows[] = {
        {"{'a': 1, 'b': {'$eq': 2}, '$and': [{'c': 3}]}", "a=1;b=2;c=3;", 0},
        {"{'a': 1, 'b': {'$gt': 2}}", "a=1;", 0},
        {"{'a': {'$in': [7]}}", "a=7;", 0},
        {"{'a': {'$in': [7, 8]}}", "", 0},
        {"{'$or': [{'a': 1}]}", "a=1;", 0},
        {"{'$or': [{'a': 1}, {'b': 2}]}", "", 0},
        {"{'a': {'_$regex': 'x'}}", "", 0},
        {"{'a.b': 'x', 'c': 1}", "a.b=x;c=1;", 0},
        {"{'a': {'$ne': 1}}", "", 0},
        {"{'a': {'$elemMatch': {'b': 1}}}", "", 0},
        {"{'$and': [{'a': 1}, {'$and': [{'b': 2}]}]}", "a=1;b=2;", 0},
        {"{'a': 1, '$and': [{'a': 2}]}", NULL, 54},
        {"{'a': 1, 'a.b': 2}", NULL, 54},
        {"{'a.b.c': 1, 'a.b': 2}", NULL, 54},
    };
    for (size_t i = 0; i < NROWS(rows); i++) {
        qry_match_t *m = parse_ok(rows[i].filter, NULL);
        eq_collect_t c = {""};
        status_t st = STATUS_INIT;
        int rc = qry_match_equalities(m, collect_eq, &c, &st);
        if (rows[i].expect == NULL) {
            if (rc != rows[i].code)
                fail_msg("%s: expected error %d, got %d", rows[i].filter, rows[i].code, rc);
            assert_non_null(strstr(st.msg, "cannot infer query fields to set"));
        } else {
            if (rc != 0)
                fail_msg("%s: %s", rows[i].filter, st.msg);
            if (strcmp(c.out, rows[i].expect) != 0)
                fail_msg("%s: expected %s, got %s", rows[i].filter, rows[i].expect, c.out);
        }
        qry_match_destroy(m);
    }
}

/* A toy $expr: {$expr: true|false} evaluates to the literal; "boom" fails at eval time. */
static int toy_parse(void *ctx, const bson_value_t *expr, void **compiled, status_t *st)
{
    int *n = ctx;
    if (expr->value_type != BSON_TYPE_BOOL && expr->value_type != BSON_TYPE_UTF8)
        return status_set(st, ERR_FailedToParse, "toy: bad expression");
    bool *b = malloc(sizeof(bool) * 2);
    b[0] = expr->value_type == BSON_TYPE_BOOL && expr->value.v_bool;
    b[1] = expr->value_type == BSON_TYPE_UTF8;
    (*n)++;
    *compiled = b;
    return 0;
}

static int toy_eval(void *ctx, const void *compiled, const bson_t *doc, bool *result, status_t *st)
{
    const bool *b = compiled;
    if (b[1])
        return status_set(st, ERR_BadValue, "toy: boom");
    *result = b[0];
    return 0;
}

static void toy_destroy(void *ctx, void *compiled)
{
    int *n = ctx;
    (*n)--;
    free(compiled);
}

/* $expr goes through the hook: parse once, evaluate per document, free with the matcher. */
static void test_expr_hook(void **state)
{
    int live = 0;
    qry_match_hooks_t hooks = {toy_parse, toy_eval, toy_destroy, &live};
    bson_t *doc = to_bson("{'a': 1}");

    qry_match_t *m = parse_ok("{'a': 1, '$expr': true}", &hooks);
    assert_int_equal(live, 1);
    assert_true(qry_match_eval(m, doc, NULL));
    qry_match_destroy(m);
    assert_int_equal(live, 0);

    m = parse_ok("{'$expr': false}", &hooks);
    assert_false(qry_match_eval(m, doc, NULL));
    qry_match_destroy(m);

    m = parse_ok("{'$expr': 'boom'}", &hooks);
    bool matched = true;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_match_exec(m, doc, NULL, &matched, &st), ERR_BadValue);
    assert_false(matched);
    assert_string_equal(st.msg, "toy: boom");
    assert_false(qry_match_eval(m, doc, NULL));
    qry_match_destroy(m);

    /* a hook's parse error is the parse error; nothing leaks */
    bson_t *f = to_bson("{'$or': [{'a': 1}, {'$expr': 5}]}");
    qry_match_t *bad = NULL;
    assert_int_equal(qry_match_parse(f, &hooks, &bad, &st), ERR_FailedToParse);
    assert_null(bad);
    assert_int_equal(live, 0);
    bson_destroy(f);

    /* without hooks $expr is NotImplemented */
    f = to_bson("{'$expr': true}");
    assert_int_equal(qry_match_parse(f, NULL, &bad, &st), ERR_NotImplemented);
    bson_destroy(f);
    bson_destroy(doc);
}

/* Build {$and: [{$and: [... {a: 1} ...]}]} n levels deep. */
static bson_t *nested_and(int n)
{
    bson_t *cur = to_bson("{'a': 1}");
    for (int i = 0; i < n; i++) {
        bson_t *next = bson_new();
        bson_t arr;
        bson_append_array_begin(next, "$and", -1, &arr);
        bson_append_document(&arr, "0", -1, cur);
        bson_append_array_end(next, &arr);
        bson_destroy(cur);
        cur = next;
    }
    return cur;
}

/* The nesting limit is MongoDB's 100 and deeper filters fail cleanly. */
static void test_depth_limit(void **state)
{
    status_t st = STATUS_INIT;
    qry_match_t *m = NULL;
    bson_t *ok = nested_and(90);
    assert_int_equal(qry_match_parse(ok, NULL, &m, &st), 0);
    bson_t *doc = to_bson("{'a': 1}");
    assert_true(qry_match_eval(m, doc, NULL));
    qry_match_destroy(m);
    bson_t *deep = nested_and(1000);
    assert_int_equal(qry_match_parse(deep, NULL, &m, &st), ERR_BadValue);
    assert_non_null(strstr(st.msg, "exceeded maximum query tree depth"));
    assert_null(m);
    bson_destroy(ok);
    bson_destroy(deep);
    bson_destroy(doc);
}

/* The matcher owns a copy of the filter: the caller's document may go away. */
static void test_filter_copied(void **state)
{
    bson_t *f = to_bson("{'name': {'_$regex': '^jo'}, 'tags': {'$in': ['x', 'y']}}");
    qry_match_t *m = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_match_parse(f, NULL, &m, &st), 0);
    bson_destroy(f);
    bson_t *doc = to_bson("{'name': 'john', 'tags': ['y']}");
    assert_true(qry_match_eval(m, doc, NULL));
    assert_true(bson_has_field(qry_match_filter(m), "tags"));
    bson_destroy(doc);
    qry_match_destroy(m);
    qry_match_destroy(NULL);
}

/* Evaluation of a document nested far deeper than any path never recurses unboundedly. */
static void test_deep_document(void **state)
{
    /* a.a.a... through arrays: [{a: [{a: ...}]}] 300 levels */
    bson_t *cur = to_bson("{'a': 1}");
    for (int i = 0; i < 300; i++) {
        bson_t *next = bson_new();
        bson_t arr;
        bson_append_array_begin(next, "a", -1, &arr);
        bson_append_document(&arr, "0", -1, cur);
        bson_append_array_end(next, &arr);
        bson_destroy(cur);
        cur = next;
    }
    char path[1024] = "a";
    for (int i = 0; i < 300; i++)
        strcat(path, ".a");
    bson_t *f = bson_new();
    BSON_APPEND_INT32(f, path, 1);
    qry_match_t *m = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry_match_parse(f, NULL, &m, &st), 0);
    (void)qry_match_eval(m, cur, NULL); /* answer aside, it must return */
    qry_match_destroy(m);
    bson_destroy(f);
    bson_destroy(cur);
}

/* A document built in memory (inline storage) must match through dotted paths. */
static void test_in_memory_document(void **state)
{
    bson_t doc = BSON_INITIALIZER, e = BSON_INITIALIZER;
    bson_t *filter = BCON_NEW("e.b", BCON_INT32(2));
    qry_match_t *m = NULL;
    status_t st = STATUS_INIT;

    (void)state;
    BSON_APPEND_INT32(&e, "b", 2);
    BSON_APPEND_DOCUMENT(&doc, "e", &e);
    assert_int_equal(qry_match_parse(filter, NULL, &m, &st), 0);
    assert_true(qry_match_eval(m, &doc, NULL));
    qry_match_destroy(m);
    bson_destroy(filter);
    bson_destroy(&e);
    bson_destroy(&doc);
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
