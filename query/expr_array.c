/*
 * expr_array.c -- array operators ($arrayElemAt $first $last $concatArrays
 * $filter $map $reduce $in $indexOfArray $isArray $range $reverseArray $size
 * $slice $zip $sortArray $arrayToObject $objectToArray) and set operators
 * ($setUnion $setIntersection $setDifference $setEquals $setIsSubset
 * $anyElementTrue $allElementsTrue).
 *
 * Arrays are read into arena vectors of values (views into the input), then
 * the result is built with libbson and moved into the arena. Sets compare
 * with common/'s canonical equality; set results are sorted in canonical
 * order and de-duplicated (MongoDB leaves their order unspecified).
 */
#include "query/expr_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct vec {
    bson_value_t *v;
    size_t n;
} vec_t;

/* The elements of an array value, as views into it. */
static void to_vec(qry_expr_ctx_t *cx, const bson_value_t *arr, vec_t *out)
{
    bson_t view;
    bson_iter_t it;
    qry__expr_view(arr, &view);
    size_t n = bson_count_keys(&view), i = 0;
    out->v = qry__expr_alloc(cx, (n ? n : 1) * sizeof(bson_value_t));
    if (bson_iter_init(&it, &view))
        while (i < n && bson_iter_next(&it))
            out->v[i++] = *bson_iter_value(&it);
    out->n = i;
}

/* An array result from values (missing ones become null). */
static void from_vals(qry_expr_ctx_t *cx, const bson_value_t *v, size_t n, bson_value_t *out)
{
    bson_t b;
    bson_init(&b);
    for (size_t i = 0; i < n; i++) {
        char kb[16];
        const char *key;
        size_t kl = bson_uint32_to_string((uint32_t)i, &key, kb, sizeof(kb));
        if (v[i].value_type == BSON_TYPE_EOD)
            bson_append_null(&b, key, (int)kl);
        else
            bson_append_value(&b, key, (int)kl, &v[i]);
    }
    qry__expr_doc_finish(cx, &b, true, out);
}

static int eval_args(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t **vals, status_t *st)
{
    *vals = qry__expr_alloc(cx, (node->nargs ? node->nargs : 1) * sizeof(bson_value_t));
    for (size_t i = 0; i < node->nargs; i++)
        ST_RET(qry__expr_eval(cx, node->args[i], &(*vals)[i], st));
    return 0;
}

static bool as_int32(const bson_value_t *v, int64_t *out)
{
    return bsonu_is_number(v->value_type) && bsonu_number_as_int64(v, out) && *out >= INT32_MIN &&
           *out <= INT32_MAX;
}

static int eval_elem_at(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    vec_t a;
    int64_t i;
    ST_RET(eval_args(cx, node, &v, st));
    memset(out, 0, sizeof(*out));
    if (qry__expr_is_nullish(&v[0]) || qry__expr_is_nullish(&v[1])) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v[0].value_type != BSON_TYPE_ARRAY)
        return status_set(st, 28689, "$arrayElemAt's first argument must be an array, but is %s",
                          qry__expr_type_name(&v[0]));
    if (!bsonu_is_number(v[1].value_type))
        return status_set(st, 28690,
                          "$arrayElemAt's second argument must be a numeric value, but "
                          "is %s",
                          qry__expr_type_name(&v[1]));
    if (!as_int32(&v[1], &i))
        return status_set(st, 28691,
                          "$arrayElemAt's second argument must be representable as a "
                          "32-bit integer");
    to_vec(cx, &v[0], &a);
    if (i < 0)
        i += (int64_t)a.n;
    if (i >= 0 && i < (int64_t)a.n)
        *out = a.v[i];
    return 0;
}

static int eval_first_last(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                           status_t *st)
{
    bson_value_t v;
    vec_t a;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 28689, "%s's argument must be an array, but is %s", node->op->name,
                          qry__expr_type_name(&v));
    to_vec(cx, &v, &a);
    memset(out, 0, sizeof(*out));
    if (a.n > 0)
        *out = a.v[strcmp(node->op->name, "$first") == 0 ? 0 : a.n - 1];
    return 0;
}

static int eval_concat_arrays(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                              status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    for (size_t i = 0; i < node->nargs; i++) {
        if (qry__expr_is_nullish(&v[i])) {
            qry__expr_set_null(out);
            return 0;
        }
        if (v[i].value_type != BSON_TYPE_ARRAY)
            return status_set(st, 28664, "$concatArrays only supports arrays, not %s",
                              qry__expr_type_name(&v[i]));
    }
    bson_t b;
    uint32_t k = 0;
    bson_init(&b);
    for (size_t i = 0; i < node->nargs; i++) {
        vec_t a;
        to_vec(cx, &v[i], &a);
        for (size_t j = 0; j < a.n; j++) {
            char kb[16];
            const char *key;
            size_t kl = bson_uint32_to_string(k++, &key, kb, sizeof(kb));
            bson_append_value(&b, key, (int)kl, &a.v[j]);
        }
    }
    qry__expr_doc_finish(cx, &b, true, out);
    return 0;
}

/* ---- $filter, $map, $reduce: variables bound per element ---------------------------- */

/*
 * Shared parser: names[] are the named arguments in arg order, as_index the
 * position of "as" (-1: none), in_index the argument parsed with the
 * variables in scope; vars are the variables it binds (slots[0..]).
 */
static int parse_iter_op(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                         const char *const *names, size_t nnames, int notobj, int unknown,
                         const int *missing_codes, int as_index, const char *const *vars,
                         size_t nvars, const int *scoped, size_t nscoped, status_t *st)
{
    bson_t view;
    bson_iter_t it;
    bson_value_t copies[5]; /* bson_iter_value points into the iterator */
    const bson_value_t *vals[5] = {0};
    const char *op = node->op->name;
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, notobj, "%s only supports an object as its argument", op);
    qry__expr_view(arg, &view);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            size_t i;
            for (i = 0; i < nnames && strcmp(names[i], bson_iter_key(&it)) != 0; i++)
                ;
            if (i == nnames)
                return status_set(st, unknown, "Unrecognized parameter to %s: %s", op,
                                  bson_iter_key(&it));
            copies[i] = *bson_iter_value(&it);
            vals[i] = &copies[i];
        }
    }
    for (size_t i = 0; i < nnames; i++)
        if (vals[i] == NULL && missing_codes[i] != 0)
            return status_set(st, missing_codes[i], "Missing '%s' parameter to %s", names[i], op);
    qry__expr_args_alloc(node, nnames);
    /* arguments outside the variables' scope first */
    for (size_t i = 0; i < nnames; i++) {
        bool in_scope = false;
        for (size_t j = 0; j < nscoped; j++)
            in_scope |= scoped[j] == (int)i;
        if (vals[i] != NULL && (int)i != as_index && !in_scope)
            ST_RET(qry__expr_parse_sub(p, vals[i], &node->args[i], st));
    }
    size_t mark = qry__expr_scope_mark(p->scope);
    int ret = 0;
    for (size_t j = 0; j < nvars && ret == 0; j++) {
        const char *name = vars[j];
        if (j == 0 && as_index >= 0 && vals[as_index] != NULL) {
            if (vals[as_index]->value_type != BSON_TYPE_UTF8) {
                ret = status_set(st, ERR_FailedToParse, "%s 'as' must be a string", op);
                break;
            }
            name = vals[as_index]->value.v_utf8.str;
        }
        ret = qry__expr_define_var(p, name, &node->slots[j], st);
    }
    for (size_t j = 0; j < nscoped && ret == 0; j++)
        if (vals[scoped[j]] != NULL)
            ret = qry__expr_parse_sub(p, vals[scoped[j]], &node->args[scoped[j]], st);
    qry__expr_scope_pop(p->scope, mark);
    return ret;
}

/* $filter: args = input, as, cond, limit */
static int parse_filter(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                        status_t *st)
{
    static const char *const names[] = {"input", "as", "cond", "limit"};
    static const int missing[] = {28648, 0, 28650, 0};
    static const char *const vars[] = {"this"};
    static const int scoped[] = {2};
    return parse_iter_op(p, node, arg, names, 4, 28646, 28647, missing, 1, vars, 1, scoped, 1, st);
}

static int eval_filter(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t in, lim;
    vec_t a;
    int64_t limit = -1;
    ST_RET(qry__expr_eval(cx, node->args[0], &in, st));
    ST_RET(qry__expr_eval(cx, node->args[3], &lim, st));
    if (qry__expr_is_nullish(&in)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (in.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 28651, "input to $filter must be an array not %s",
                          qry__expr_type_name(&in));
    if (!qry__expr_is_nullish(&lim)) {
        if (!as_int32(&lim, &limit))
            return status_set(st, 327392,
                              "$filter: limit must be represented as a 32-bit "
                              "integral value");
        if (limit < 1)
            return status_set(st, 327391, "$filter: limit must be greater than 0: %lld",
                              (long long)limit);
    }
    to_vec(cx, &in, &a);
    bson_value_t *keep = qry__expr_alloc(cx, (a.n ? a.n : 1) * sizeof(bson_value_t));
    size_t n = 0;
    for (size_t i = 0; i < a.n && (limit < 0 || (int64_t)n < limit); i++) {
        bson_value_t c;
        qry__expr_set_var(cx, node->slots[0], &a.v[i]);
        ST_RET(qry__expr_eval(cx, node->args[2], &c, st));
        if (qry_expr_truthy(&c))
            keep[n++] = a.v[i];
    }
    from_vals(cx, keep, n, out);
    return 0;
}

/* $map: args = input, as, in */
static int parse_map(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg, status_t *st)
{
    static const char *const names[] = {"input", "as", "in"};
    static const int missing[] = {16880, 0, 16882};
    static const char *const vars[] = {"this"};
    static const int scoped[] = {2};
    return parse_iter_op(p, node, arg, names, 3, 16878, 16879, missing, 1, vars, 1, scoped, 1, st);
}

static int eval_map(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t in;
    vec_t a;
    ST_RET(qry__expr_eval(cx, node->args[0], &in, st));
    if (qry__expr_is_nullish(&in)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (in.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 16883, "input to $map must be an array not %s",
                          qry__expr_type_name(&in));
    to_vec(cx, &in, &a);
    bson_value_t *res = qry__expr_alloc(cx, (a.n ? a.n : 1) * sizeof(bson_value_t));
    for (size_t i = 0; i < a.n; i++) {
        qry__expr_set_var(cx, node->slots[0], &a.v[i]);
        ST_RET(qry__expr_eval(cx, node->args[2], &res[i], st));
    }
    from_vals(cx, res, a.n, out);
    return 0;
}

/* $reduce: args = input, initialValue, in; slots = this, value */
static int parse_reduce(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                        status_t *st)
{
    static const char *const names[] = {"input", "initialValue", "in"};
    static const int missing[] = {40077, 40078, 40079};
    static const char *const vars[] = {"this", "value"};
    static const int scoped[] = {2};
    return parse_iter_op(p, node, arg, names, 3, 40075, 40076, missing, -1, vars, 2, scoped, 1, st);
}

static int eval_reduce(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t in, acc;
    vec_t a;
    ST_RET(qry__expr_eval(cx, node->args[0], &in, st));
    if (qry__expr_is_nullish(&in)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (in.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 40080, "$reduce requires that 'input' be an array, found: %s",
                          qry__expr_type_name(&in));
    ST_RET(qry__expr_eval(cx, node->args[1], &acc, st));
    to_vec(cx, &in, &a);
    for (size_t i = 0; i < a.n; i++) {
        bson_value_t next;
        qry__expr_set_var(cx, node->slots[0], &a.v[i]);
        qry__expr_set_var(cx, node->slots[1], &acc);
        ST_RET(qry__expr_eval(cx, node->args[2], &next, st));
        acc = next;
    }
    *out = acc;
    return 0;
}

/* ---- membership and shape ------------------------------------------------------------ */

static int eval_in(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    vec_t a;
    ST_RET(eval_args(cx, node, &v, st));
    if (v[1].value_type != BSON_TYPE_ARRAY)
        return status_set(st, 40081, "$in requires an array as a second argument, found: %s",
                          qry__expr_type_name(&v[1]));
    to_vec(cx, &v[1], &a);
    bool found = false;
    for (size_t i = 0; i < a.n && !found; i++)
        found = bsonu_compare_value(&v[0], &a.v[i]) == 0;
    qry__expr_set_bool(out, found);
    return 0;
}

static int eval_index_of_array(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                               status_t *st)
{
    bson_value_t *v;
    vec_t a;
    ST_RET(eval_args(cx, node, &v, st));
    if (qry__expr_is_nullish(&v[0])) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v[0].value_type != BSON_TYPE_ARRAY)
        return status_set(st, 40090,
                          "$indexOfArray requires an array as a first argument, found: %s",
                          qry__expr_type_name(&v[0]));
    to_vec(cx, &v[0], &a);
    int64_t b = 0, e = (int64_t)a.n;
    for (size_t i = 2; i < node->nargs; i++) {
        int64_t x;
        if (!as_int32(&v[i], &x))
            return status_set(st, 40096,
                              "$indexOfArray requires an integral %s index, found a "
                              "value of type: %s",
                              i == 2 ? "starting" : "ending", qry__expr_type_name(&v[i]));
        if (x < 0)
            return status_set(st, 40097,
                              "$indexOfArray requires a nonnegative %s index, found: %lld",
                              i == 2 ? "starting" : "ending", (long long)x);
        if (i == 2)
            b = x;
        else if (x < e)
            e = x;
    }
    for (int64_t i = b; i < e; i++) {
        if (bsonu_compare_value(&a.v[i], &v[1]) == 0) {
            qry__expr_set_int(out, (int32_t)i);
            return 0;
        }
    }
    qry__expr_set_int(out, -1);
    return 0;
}

static int eval_is_array(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                         status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    qry__expr_set_bool(out, v.value_type == BSON_TYPE_ARRAY);
    return 0;
}

/*
 * RANGE_MAX -- $range results are bounded by the 16 MiB document limit
 * anyway; refusing more elements up front keeps a hostile step from
 * building a huge array element by element.
 */
#define RANGE_MAX (16 * 1024 * 1024 / 8)

static int eval_range(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    static const char *const what[] = {"starting value", "ending value", "step value"};
    bson_value_t *v;
    int64_t x[3] = {0, 0, 1};
    ST_RET(eval_args(cx, node, &v, st));
    for (size_t i = 0; i < node->nargs; i++) {
        if (!bsonu_is_number(v[i].value_type))
            return status_set(st, 34443 + 2 * (int)i,
                              "$range requires a numeric %s, found value of type: %s", what[i],
                              qry__expr_type_name(&v[i]));
        if (!as_int32(&v[i], &x[i]))
            return status_set(st, 34444 + 2 * (int)i,
                              "$range requires a %s that can be represented as a 32-bit integer",
                              what[i]);
    }
    if (x[2] == 0)
        return status_set(st, 34449, "$range requires a non-zero step value");
    int64_t count = 0;
    if ((x[2] > 0 && x[1] > x[0]) || (x[2] < 0 && x[1] < x[0]))
        count = (llabs(x[1] - x[0]) + llabs(x[2]) - 1) / llabs(x[2]);
    if (count > RANGE_MAX)
        return status_set(st, ERR_ExceededMemoryLimit, "$range would use too much memory");
    bson_t b;
    bson_init(&b);
    for (int64_t i = 0; i < count; i++) {
        char kb[16];
        const char *key;
        size_t kl = bson_uint32_to_string((uint32_t)i, &key, kb, sizeof(kb));
        bson_append_int32(&b, key, (int)kl, (int32_t)(x[0] + i * x[2]));
    }
    qry__expr_doc_finish(cx, &b, true, out);
    return 0;
}

static int eval_reverse(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    vec_t a;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 34435,
                          "The argument to $reverseArray must be an array, but was of "
                          "type: %s",
                          qry__expr_type_name(&v));
    to_vec(cx, &v, &a);
    for (size_t i = 0; i < a.n / 2; i++) {
        bson_value_t t = a.v[i];
        a.v[i] = a.v[a.n - 1 - i];
        a.v[a.n - 1 - i] = t;
    }
    from_vals(cx, a.v, a.n, out);
    return 0;
}

static int eval_size(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    bson_t view;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (v.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 17124,
                          "The argument to $size must be an array. Type of argument is: "
                          "%s",
                          qry__expr_type_name(&v));
    qry__expr_view(&v, &view);
    qry__expr_set_int(out, (int32_t)bson_count_keys(&view));
    return 0;
}

static int eval_slice(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    vec_t a;
    int64_t pos = 0, n;
    ST_RET(eval_args(cx, node, &v, st));
    for (size_t i = 0; i < node->nargs; i++) {
        if (qry__expr_is_nullish(&v[i])) {
            qry__expr_set_null(out);
            return 0;
        }
    }
    if (v[0].value_type != BSON_TYPE_ARRAY)
        return status_set(st, 28724,
                          "First argument to $slice must be an array, but is of type: %s",
                          qry__expr_type_name(&v[0]));
    if (!bsonu_is_number(v[1].value_type))
        return status_set(st, 28725,
                          "Second argument to $slice must be a numeric value, but is of "
                          "type: %s",
                          qry__expr_type_name(&v[1]));
    if (!as_int32(&v[1], &n))
        return status_set(st, 28726,
                          "Second argument to $slice can't be represented as a 32-bit "
                          "integer");
    to_vec(cx, &v[0], &a);
    int64_t len = (int64_t)a.n;
    if (node->nargs == 3) {
        pos = n;
        if (!bsonu_is_number(v[2].value_type))
            return status_set(st, 28727,
                              "Third argument to $slice must be numeric, but is of "
                              "type: %s",
                              qry__expr_type_name(&v[2]));
        if (!as_int32(&v[2], &n))
            return status_set(st, 28728,
                              "Third argument to $slice can't be represented as a "
                              "32-bit integer");
        if (n <= 0)
            return status_set(st, 28729, "Third argument to $slice must be positive: %lld",
                              (long long)n);
        if (pos < 0)
            pos = pos + len < 0 ? 0 : pos + len;
        if (pos > len)
            pos = len;
    } else if (n < 0) {
        pos = n + len < 0 ? 0 : n + len;
        n = len - pos;
    }
    if (pos + n > len)
        n = len - pos;
    from_vals(cx, a.v + pos, (size_t)n, out);
    return 0;
}

/* $zip: args = inputs..., defaults...; n = number of inputs; slots[1] = useLongestLength. */
static int parse_zip(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg, status_t *st)
{
    bson_t view, ins, defs;
    bson_iter_t it;
    bson_value_t inputs_s, defaults_s; /* copies: bson_iter_value points into the iterator */
    const bson_value_t *inputs = NULL, *defaults = NULL;
    bool longest = false;
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 34460, "$zip only supports an object as an argument, found %s",
                          qry__expr_type_name(arg));
    qry__expr_view(arg, &view);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "inputs") == 0) {
                inputs_s = *bson_iter_value(&it);
                inputs = &inputs_s;
            } else if (strcmp(k, "defaults") == 0) {
                defaults_s = *bson_iter_value(&it);
                defaults = &defaults_s;
            } else if (strcmp(k, "useLongestLength") == 0) {
                if (!BSON_ITER_HOLDS_BOOL(&it))
                    return status_set(st, 34463, "useLongestLength must be a bool, found %s",
                                      qry__expr_type_name(bson_iter_value(&it)));
                longest = bson_iter_bool(&it);
            } else {
                return status_set(st, 34464, "$zip found an unknown argument: %s", k);
            }
        }
    }
    if (inputs == NULL)
        return status_set(st, 34465, "$zip requires at least one input array");
    if (inputs->value_type != BSON_TYPE_ARRAY)
        return status_set(st, 34461, "inputs must be an array of expressions, found %s",
                          qry__expr_type_name(inputs));
    qry__expr_view(inputs, &ins);
    size_t ni = bson_count_keys(&ins), nd = 0;
    if (ni == 0)
        return status_set(st, 34465, "$zip requires at least one input array");
    if (defaults != NULL) {
        if (defaults->value_type != BSON_TYPE_ARRAY)
            return status_set(st, 34462, "defaults must be an array of expressions, found %s",
                              qry__expr_type_name(defaults));
        if (!longest)
            return status_set(st, 34466, "cannot specify defaults unless useLongestLength is true");
        qry__expr_view(defaults, &defs);
        nd = bson_count_keys(&defs);
        if (nd != ni)
            return status_set(st, 34467, "defaults and inputs must have the same length");
    }
    qry__expr_args_alloc(node, ni + nd);
    node->n = (int64_t)ni;
    node->slots[1] = longest;
    size_t i = 0;
    if (bson_iter_init(&it, &ins))
        while (i < ni && bson_iter_next(&it))
            ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[i++], st));
    if (nd && bson_iter_init(&it, &defs))
        while (i < ni + nd && bson_iter_next(&it))
            ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[i++], st));
    return 0;
}

static int eval_zip(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    size_t ni = (size_t)node->n;
    vec_t *vs = qry__expr_alloc(cx, ni * sizeof(vec_t));
    size_t minlen = SIZE_MAX, maxlen = 0;
    for (size_t i = 0; i < ni; i++) {
        bson_value_t v;
        ST_RET(qry__expr_eval(cx, node->args[i], &v, st));
        if (qry__expr_is_nullish(&v)) {
            qry__expr_set_null(out);
            return 0;
        }
        if (v.value_type != BSON_TYPE_ARRAY)
            return status_set(st, 34468, "$zip found a non-array expression in input: %s",
                              qry__expr_type_name(&v));
        to_vec(cx, &v, &vs[i]);
        if (vs[i].n < minlen)
            minlen = vs[i].n;
        if (vs[i].n > maxlen)
            maxlen = vs[i].n;
    }
    bson_value_t *defs = qry__expr_alloc(cx, ni * sizeof(bson_value_t));
    for (size_t i = 0; i < ni; i++) {
        if (node->nargs > ni)
            ST_RET(qry__expr_eval(cx, node->args[ni + i], &defs[i], st));
        else
            qry__expr_set_null(&defs[i]);
    }
    size_t n = node->slots[1] ? maxlen : minlen;
    bson_value_t *rows = qry__expr_alloc(cx, (n ? n : 1) * sizeof(bson_value_t));
    bson_value_t *row = qry__expr_alloc(cx, ni * sizeof(bson_value_t));
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < ni; i++)
            row[i] = r < vs[i].n ? vs[i].v[r] : defs[i];
        from_vals(cx, row, ni, &rows[r]);
    }
    from_vals(cx, rows, n, out);
    return 0;
}

/* ---- $sortArray ---------------------------------------------------------------------- */

typedef struct sort_data {
    qry_sort_t *sort; /* sortBy document; NULL: whole values */
    int dir;          /* whole values: 1 or -1 */
} sort_data_t;

static void sort_data_free(void *p)
{
    sort_data_t *d = p;
    if (d != NULL)
        qry_sort_destroy(d->sort);
    free(d);
}

/* args = input */
static int parse_sort_array(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                            status_t *st)
{
    bson_t view;
    bson_iter_t it;
    bson_value_t input_s, by_s; /* copies: bson_iter_value points into the iterator */
    const bson_value_t *input = NULL, *by = NULL;
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 2942500, "$sortArray requires an object as an argument, found: %s",
                          qry__expr_type_name(arg));
    qry__expr_view(arg, &view);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            if (strcmp(bson_iter_key(&it), "input") == 0) {
                input_s = *bson_iter_value(&it);
                input = &input_s;
            } else if (strcmp(bson_iter_key(&it), "sortBy") == 0) {
                by_s = *bson_iter_value(&it);
                by = &by_s;
            } else
                return status_set(st, 2942501, "$sortArray found an unknown argument: %s",
                                  bson_iter_key(&it));
        }
    }
    if (input == NULL)
        return status_set(st, 2942502, "$sortArray requires 'input' to be specified");
    if (by == NULL)
        return status_set(st, 2942503, "$sortArray requires 'sortBy' to be specified");
    sort_data_t *d = calloc(1, sizeof(*d));
    INVARIANT(d != NULL);
    node->data = d;
    if (by->value_type == BSON_TYPE_DOCUMENT) {
        bson_t spec;
        qry__expr_view(by, &spec);
        ST_RET(qry_sort_parse(&spec, &d->sort, st));
    } else {
        int64_t dir = 0;
        if (!bsonu_is_number(by->value_type) || !bsonu_number_as_int64(by, &dir) ||
            (dir != 1 && dir != -1))
            return status_set(st, 15975,
                              "$sort key ordering must be 1 (for ascending) or -1 (for "
                              "descending)");
        d->dir = (int)dir;
    }
    qry__expr_args_alloc(node, 1);
    return qry__expr_parse_sub(p, input, &node->args[0], st);
}

/* bson_t wants 128-byte alignment, which arena memory lacks: views are made on the stack. */
typedef struct sort_item {
    bson_value_t v;
    size_t idx;
} sort_item_t;

static void item_view(const sort_item_t *it, bson_t *out)
{
    if (it->v.value_type == BSON_TYPE_DOCUMENT)
        qry__expr_view(&it->v, out);
    else
        bson_init(out); /* non-documents sort as empty documents */
}

static _Thread_local const sort_data_t *sort_current;

static int sort_cmp(const void *pa, const void *pb)
{
    const sort_item_t *a = pa, *b = pb;
    int c;
    if (sort_current->sort != NULL) {
        bson_t da, db;
        item_view(a, &da);
        item_view(b, &db);
        c = qry_sort_compare(sort_current->sort, &da, &db);
    } else
        c = sort_current->dir * bsonu_compare_value(&a->v, &b->v);
    if (c == 0)
        c = a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0; /* stable */
    return c;
}

static int eval_sort_array(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                           status_t *st)
{
    bson_value_t in;
    vec_t a;
    ST_RET(qry__expr_eval(cx, node->args[0], &in, st));
    if (qry__expr_is_nullish(&in)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (in.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 2942504,
                          "The input argument to $sortArray must be an array, but was "
                          "of type: %s",
                          qry__expr_type_name(&in));
    to_vec(cx, &in, &a);
    sort_item_t *items = qry__expr_alloc(cx, (a.n ? a.n : 1) * sizeof(sort_item_t));
    for (size_t i = 0; i < a.n; i++) {
        items[i].v = a.v[i];
        items[i].idx = i;
    }
    sort_current = node->data;
    qsort(items, a.n, sizeof(*items), sort_cmp);
    for (size_t i = 0; i < a.n; i++)
        a.v[i] = items[i].v;
    from_vals(cx, a.v, a.n, out);
    return 0;
}

/* ---- objects <-> arrays ---------------------------------------------------------------- */

static int eval_array_to_object(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                                status_t *st)
{
    bson_value_t v;
    vec_t a;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 40386, "$arrayToObject requires an array input, found: %s",
                          qry__expr_type_name(&v));
    to_vec(cx, &v, &a);
    const char **keys = qry__expr_alloc(cx, (a.n ? a.n : 1) * sizeof(char *));
    bson_value_t *vals = qry__expr_alloc(cx, (a.n ? a.n : 1) * sizeof(bson_value_t));
    size_t n = 0;
    bson_type_t kind = BSON_TYPE_EOD;
    for (size_t i = 0; i < a.n; i++) {
        const bson_value_t *e = &a.v[i];
        bson_value_t k, val;
        bson_t view;
        bson_iter_t it;
        if (e->value_type != BSON_TYPE_ARRAY && e->value_type != BSON_TYPE_DOCUMENT)
            return status_set(st, 40398, "Unrecognised input type format for $arrayToObject: %s",
                              qry__expr_type_name(e));
        if (kind != BSON_TYPE_EOD && kind != e->value_type)
            return status_set(st, kind == BSON_TYPE_DOCUMENT ? 40391 : 40396,
                              "$arrayToObject requires a consistent input format. Elements must "
                              "all be arrays or all be objects.");
        kind = e->value_type;
        qry__expr_view(e, &view);
        uint32_t nk = bson_count_keys(&view);
        if (e->value_type == BSON_TYPE_ARRAY) {
            if (nk != 2)
                return status_set(st, 40397,
                                  "$arrayToObject requires an array of size 2 arrays,"
                                  "found array of size: %u",
                                  nk);
            bson_iter_init(&it, &view);
            bson_iter_next(&it);
            k = *bson_iter_value(&it);
            bson_iter_next(&it);
            val = *bson_iter_value(&it);
        } else {
            if (nk != 2)
                return status_set(st, 40392,
                                  "$arrayToObject requires an object keys of 'k' and "
                                  "'v'. Found incorrect number of keys:%u",
                                  nk);
            bson_iter_t ki, vi;
            if (!bson_iter_init_find(&ki, &view, "k") || !bson_iter_init_find(&vi, &view, "v"))
                return status_set(st, 40393,
                                  "$arrayToObject requires an object with keys 'k' and "
                                  "'v'. Missing either or both keys");
            k = *bson_iter_value(&ki);
            val = *bson_iter_value(&vi);
        }
        if (k.value_type != BSON_TYPE_UTF8)
            return status_set(st, e->value_type == BSON_TYPE_ARRAY ? 40395 : 40394,
                              "$arrayToObject requires an array of key-value pairs, where the key "
                              "must be of type string. Found key type: %s",
                              qry__expr_type_name(&k));
        if (strlen(k.value.v_utf8.str) != k.value.v_utf8.len)
            return status_set(st, e->value_type == BSON_TYPE_ARRAY ? 4940400 : 4940401,
                              "Key field cannot contain an embedded null byte");
        size_t j;
        for (j = 0; j < n && strcmp(keys[j], k.value.v_utf8.str) != 0; j++)
            ;
        if (j == n)
            keys[n++] = k.value.v_utf8.str;
        vals[j] = val;
    }
    bson_t b;
    bson_init(&b);
    for (size_t i = 0; i < n; i++)
        bson_append_value(&b, keys[i], -1, &vals[i]);
    qry__expr_doc_finish(cx, &b, false, out);
    return 0;
}

static int eval_object_to_array(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                                status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v.value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 40390, "$objectToArray requires a document input, found: %s",
                          qry__expr_type_name(&v));
    bson_t view, b;
    bson_iter_t it;
    uint32_t i = 0;
    qry__expr_view(&v, &view);
    bson_init(&b);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            char kb[16];
            const char *key;
            size_t kl = bson_uint32_to_string(i++, &key, kb, sizeof(kb));
            bson_t kv;
            bson_append_document_begin(&b, key, (int)kl, &kv);
            bson_append_utf8(&kv, "k", 1, bson_iter_key(&it), (int)bson_iter_key_len(&it));
            bson_append_value(&kv, "v", 1, bson_iter_value(&it));
            bson_append_document_end(&b, &kv);
        }
    }
    qry__expr_doc_finish(cx, &b, true, out);
    return 0;
}

/* ---- sets ------------------------------------------------------------------------------- */

static int value_cmp(const void *a, const void *b)
{
    return bsonu_compare_value(a, b);
}

/* Sort and de-duplicate in place; returns the new length. */
static size_t set_normalise(bson_value_t *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), value_cmp);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (bsonu_compare_value(&v[k - 1], &v[i]) != 0)
            v[k++] = v[i];
    return k;
}

static bool set_has(const bson_value_t *set, size_t n, const bson_value_t *x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = bsonu_compare_value(&set[mid], x);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Evaluate the arguments as sets; *null when one is null/missing (the result is null). */
static int set_args(qry_expr_ctx_t *cx, const qry_expr_t *node, vec_t **sets, bool *null, int code,
                    const char *msg, status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    *null = false;
    *sets = qry__expr_alloc(cx, (node->nargs ? node->nargs : 1) * sizeof(vec_t));
    for (size_t i = 0; i < node->nargs; i++) {
        if (qry__expr_is_nullish(&v[i])) {
            *null = true;
            continue;
        }
        if (v[i].value_type != BSON_TYPE_ARRAY)
            return status_set(st, code, "%s %s", msg, qry__expr_type_name(&v[i]));
        to_vec(cx, &v[i], &(*sets)[i]);
        (*sets)[i].n = set_normalise((*sets)[i].v, (*sets)[i].n);
    }
    return 0;
}

static int eval_set_union(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                          status_t *st)
{
    vec_t *s;
    bool null;
    ST_RET(set_args(cx, node, &s, &null, 17043,
                    "All operands of $setUnion must be arrays. One argument is of type:", st));
    if (null) {
        qry__expr_set_null(out);
        return 0;
    }
    size_t total = 0;
    for (size_t i = 0; i < node->nargs; i++)
        total += s[i].n;
    bson_value_t *all = qry__expr_alloc(cx, (total ? total : 1) * sizeof(bson_value_t));
    size_t k = 0;
    for (size_t i = 0; i < node->nargs; i++)
        for (size_t j = 0; j < s[i].n; j++)
            all[k++] = s[i].v[j];
    from_vals(cx, all, set_normalise(all, k), out);
    return 0;
}

static int eval_set_intersection(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                                 status_t *st)
{
    vec_t *s;
    bool null;
    ST_RET(
        set_args(cx, node, &s, &null, 17047,
                 "All operands of $setIntersection must be arrays. One argument is of type:", st));
    if (null) {
        qry__expr_set_null(out);
        return 0;
    }
    if (node->nargs == 0) {
        from_vals(cx, NULL, 0, out);
        return 0;
    }
    bson_value_t *res = qry__expr_alloc(cx, (s[0].n ? s[0].n : 1) * sizeof(bson_value_t));
    size_t k = 0;
    for (size_t j = 0; j < s[0].n; j++) {
        bool all = true;
        for (size_t i = 1; i < node->nargs && all; i++)
            all = set_has(s[i].v, s[i].n, &s[0].v[j]);
        if (all)
            res[k++] = s[0].v[j];
    }
    from_vals(cx, res, k, out);
    return 0;
}

static int eval_set_difference(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                               status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    if (qry__expr_is_nullish(&v[0]) || qry__expr_is_nullish(&v[1])) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v[0].value_type != BSON_TYPE_ARRAY)
        return status_set(st, 17048,
                          "both operands of $setDifference must be arrays. First "
                          "argument is of type: %s",
                          qry__expr_type_name(&v[0]));
    if (v[1].value_type != BSON_TYPE_ARRAY)
        return status_set(st, 17049,
                          "both operands of $setDifference must be arrays. Second "
                          "argument is of type: %s",
                          qry__expr_type_name(&v[1]));
    vec_t a, b;
    to_vec(cx, &v[0], &a);
    to_vec(cx, &v[1], &b);
    a.n = set_normalise(a.v, a.n);
    b.n = set_normalise(b.v, b.n);
    size_t k = 0;
    for (size_t i = 0; i < a.n; i++)
        if (!set_has(b.v, b.n, &a.v[i]))
            a.v[k++] = a.v[i];
    from_vals(cx, a.v, k, out);
    return 0;
}

static int eval_set_equals(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                           status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    vec_t first = {0};
    bool eq = true;
    for (size_t i = 0; i < node->nargs; i++) {
        if (v[i].value_type != BSON_TYPE_ARRAY)
            return status_set(st, 17044,
                              "All operands of $setEquals must be arrays. One argument "
                              "is of type: %s",
                              qry__expr_type_name(&v[i]));
        vec_t s;
        to_vec(cx, &v[i], &s);
        s.n = set_normalise(s.v, s.n);
        if (i == 0) {
            first = s;
            continue;
        }
        if (s.n != first.n) {
            eq = false;
            continue;
        }
        for (size_t j = 0; j < s.n && eq; j++)
            eq = bsonu_compare_value(&s.v[j], &first.v[j]) == 0;
    }
    qry__expr_set_bool(out, eq);
    return 0;
}

static int eval_set_is_subset(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                              status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    if (v[0].value_type != BSON_TYPE_ARRAY)
        return status_set(st, 17310,
                          "both operands of $setIsSubset must be arrays. First "
                          "argument is of type: %s",
                          qry__expr_type_name(&v[0]));
    if (v[1].value_type != BSON_TYPE_ARRAY)
        return status_set(st, 17311,
                          "both operands of $setIsSubset must be arrays. Second "
                          "argument is of type: %s",
                          qry__expr_type_name(&v[1]));
    vec_t a, b;
    to_vec(cx, &v[0], &a);
    to_vec(cx, &v[1], &b);
    b.n = set_normalise(b.v, b.n);
    bool sub = true;
    for (size_t i = 0; i < a.n && sub; i++)
        sub = set_has(b.v, b.n, &a.v[i]);
    qry__expr_set_bool(out, sub);
    return 0;
}

static int eval_elements_true(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                              status_t *st)
{
    bool any = strcmp(node->op->name, "$anyElementTrue") == 0;
    bson_value_t v;
    vec_t a;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (v.value_type != BSON_TYPE_ARRAY)
        return status_set(st, any ? 17041 : 17040, "%s's argument must be an array, but is %s",
                          node->op->name, qry__expr_type_name(&v));
    to_vec(cx, &v, &a);
    bool res = !any;
    for (size_t i = 0; i < a.n; i++) {
        bool t = qry_expr_truthy(&a.v[i]);
        if (any && t) {
            res = true;
            break;
        }
        if (!any && !t) {
            res = false;
            break;
        }
    }
    qry__expr_set_bool(out, res);
    return 0;
}

static int parse_set_equals(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                            status_t *st)
{
    bson_t view;
    bson_iter_t it;
    size_t n = 1;
    if (arg->value_type == BSON_TYPE_ARRAY) {
        qry__expr_view(arg, &view);
        n = bson_count_keys(&view);
    }
    if (n < 2)
        return status_set(st, 17045, "$setEquals needs at least two arguments had: %zu", n);
    qry__expr_args_alloc(node, n);
    size_t i = 0;
    if (bson_iter_init(&it, &view))
        while (i < n && bson_iter_next(&it))
            ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[i++], st));
    return 0;
}

static const qry__expr_op_t array_ops[] = {
    {"$arrayElemAt", 2, 2, NULL, eval_elem_at, NULL, 0},
    {"$first", 1, 1, NULL, eval_first_last, NULL, 0},
    {"$last", 1, 1, NULL, eval_first_last, NULL, 0},
    {"$concatArrays", 0, QRY__EXPR_ARGS_ANY, NULL, eval_concat_arrays, NULL, 0},
    {"$filter", 0, 0, parse_filter, eval_filter, NULL, 0},
    {"$map", 0, 0, parse_map, eval_map, NULL, 0},
    {"$reduce", 0, 0, parse_reduce, eval_reduce, NULL, 0},
    {"$in", 2, 2, NULL, eval_in, NULL, 0},
    {"$indexOfArray", 2, 4, NULL, eval_index_of_array, NULL, 0},
    {"$isArray", 1, 1, NULL, eval_is_array, NULL, 0},
    {"$range", 2, 3, NULL, eval_range, NULL, 0},
    {"$reverseArray", 1, 1, NULL, eval_reverse, NULL, 0},
    {"$size", 1, 1, NULL, eval_size, NULL, 0},
    {"$slice", 2, 3, NULL, eval_slice, NULL, 0},
    {"$zip", 0, 0, parse_zip, eval_zip, NULL, 0},
    {"$sortArray", 0, 0, parse_sort_array, eval_sort_array, sort_data_free, 0},
    {"$arrayToObject", 1, 1, NULL, eval_array_to_object, NULL, 0},
    {"$objectToArray", 1, 1, NULL, eval_object_to_array, NULL, 0},
    {"$setUnion", 0, QRY__EXPR_ARGS_ANY, NULL, eval_set_union, NULL, 0},
    {"$setIntersection", 0, QRY__EXPR_ARGS_ANY, NULL, eval_set_intersection, NULL, 0},
    {"$setDifference", 2, 2, NULL, eval_set_difference, NULL, 0},
    {"$setEquals", 0, 0, parse_set_equals, eval_set_equals, NULL, 0},
    {"$setIsSubset", 2, 2, NULL, eval_set_is_subset, NULL, 0},
    {"$anyElementTrue", 1, 1, NULL, eval_elements_true, NULL, 0},
    {"$allElementsTrue", 1, 1, NULL, eval_elements_true, NULL, 0},
};

const qry__expr_table_t qry__expr_array_table = {array_ops,
                                                 sizeof(array_ops) / sizeof(array_ops[0])};
