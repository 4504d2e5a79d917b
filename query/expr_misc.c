/*
 * expr_misc.c -- the remaining expression operators: array reductions as
 * expressions ($sum $avg $max $min $stdDevPop $stdDevSamp over their
 * arguments or over one array argument), trigonometry ($sin ... $atan2,
 * hyperbolic functions, $degreesToRadians, $radiansToDegrees), bitwise
 * ($bitAnd $bitOr $bitXor $bitNot), sizes/timestamps ($binarySize
 * $bsonSize $tsSecond $tsIncrement), the array forms of $firstN $lastN
 * $maxN $minN, and $meta (through the context's metadata callback).
 *
 * The reductions follow the $group accumulators' rules: non-numeric values
 * are ignored by $sum/$avg/$stdDev*, null and missing by $max/$min; an
 * empty input gives 0 for $sum and null for the others.
 */
#include "query/expr_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * The values a reduction runs over: with one argument that evaluates to an
 * array, its elements; otherwise each argument's value.
 */
static int reduction_inputs(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t **vals,
                            size_t *n, status_t *st)
{
    *n = 0;
    if (node->nargs == 1) {
        bson_value_t v;
        ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
        if (v.value_type == BSON_TYPE_ARRAY) {
            bson_t view;
            bson_iter_t it;
            qry__expr_view(&v, &view);
            size_t cnt = bson_count_keys(&view);
            *vals = qry__expr_alloc(cx, (cnt ? cnt : 1) * sizeof(bson_value_t));
            if (bson_iter_init(&it, &view))
                while (*n < cnt && bson_iter_next(&it))
                    (*vals)[(*n)++] = *bson_iter_value(&it);
            return 0;
        }
        *vals = qry__expr_alloc(cx, sizeof(bson_value_t));
        (*vals)[0] = v;
        *n = 1;
        return 0;
    }
    *vals = qry__expr_alloc(cx, (node->nargs ? node->nargs : 1) * sizeof(bson_value_t));
    for (size_t i = 0; i < node->nargs; i++)
        ST_RET(qry__expr_eval(cx, node->args[i], &(*vals)[(*n)++], st));
    return 0;
}

/* $sum/$avg when a decimal takes part: the whole reduction is done in decimal. */
static int sum_avg_decimal(const bson_value_t *v, size_t n, bool avg, bson_value_t *out)
{
    qry__dec_t sum, x;
    size_t count = 0;
    memset(&sum, 0, sizeof(sum));
    for (size_t i = 0; i < n; i++) {
        if (!qry__dec_from_value(&v[i], &x))
            continue;
        qry__dec_add(&sum, &x, false, &sum);
        count++;
    }
    if (avg) {
        bson_value_t c;
        qry__expr_set_long(&c, (int64_t)count);
        qry__dec_from_value(&c, &x);
        qry__dec_div(&sum, &x, &sum);
    }
    qry__dec_to_value(&sum, out);
    return 0;
}

static int eval_sum_avg(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    size_t n, count = 0;
    bool avg = strcmp(node->op->name, "$avg") == 0;
    int w = 0; /* 0 int, 1 long, 2 double */
    int64_t l = 0;
    double d = 0;
    ST_RET(reduction_inputs(cx, node, &v, &n, st));
    for (size_t i = 0; i < n; i++) {
        if (v[i].value_type == BSON_TYPE_DECIMAL128) {
            return sum_avg_decimal(v, n, avg, out);
        }
        if (!bsonu_is_number(v[i].value_type))
            continue;
        count++;
        if (w < 2 && v[i].value_type != BSON_TYPE_DOUBLE) {
            int64_t x =
                v[i].value_type == BSON_TYPE_INT32 ? v[i].value.v_int32 : v[i].value.v_int64;
            int64_t r;
            if (!__builtin_add_overflow(l, x, &r)) {
                l = r;
                if (v[i].value_type == BSON_TYPE_INT64)
                    w = 1;
                continue;
            }
        }
        if (w < 2) {
            d = (double)l;
            w = 2;
        }
        double x;
        bsonu_number_as_double(&v[i], &x);
        d += x;
    }
    if (avg) {
        if (count == 0)
            qry__expr_set_null(out);
        else
            qry__expr_set_double(out, (w < 2 ? (double)l : d) / (double)count);
        return 0;
    }
    if (w == 2)
        qry__expr_set_double(out, d);
    else if (w == 0 && l >= INT32_MIN && l <= INT32_MAX)
        qry__expr_set_int(out, (int32_t)l);
    else
        qry__expr_set_long(out, l);
    return 0;
}

static int eval_max_min(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    size_t n;
    bool max = strcmp(node->op->name, "$max") == 0;
    ST_RET(reduction_inputs(cx, node, &v, &n, st));
    qry__expr_set_null(out);
    bool have = false;
    for (size_t i = 0; i < n; i++) {
        if (qry__expr_is_nullish(&v[i]))
            continue;
        int c = have ? bsonu_compare_value(&v[i], out) : 0;
        if (!have || (max ? c > 0 : c < 0))
            *out = v[i];
        have = true;
    }
    return 0;
}

static int eval_std_dev(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    size_t n, count = 0;
    bool samp = strcmp(node->op->name, "$stdDevSamp") == 0;
    double mean = 0, m2 = 0;
    ST_RET(reduction_inputs(cx, node, &v, &n, st));
    for (size_t i = 0; i < n; i++) {
        double x;
        if (!bsonu_is_number(v[i].value_type) || !bsonu_number_as_double(&v[i], &x))
            continue;
        /* Welford's update: stable for values far from zero */
        count++;
        double delta = x - mean;
        mean += delta / (double)count;
        m2 += delta * (x - mean);
    }
    if (count == 0 || (samp && count < 2)) {
        qry__expr_set_null(out);
        return 0;
    }
    qry__expr_set_double(out, sqrt(m2 / (double)(samp ? count - 1 : count)));
    return 0;
}

/* ---- trigonometry ---------------------------------------------------------------- */

typedef struct trig {
    const char *name;
    double (*fn)(double);
    double lo, hi; /* allowed domain (inclusive unless open) */
    bool open;     /* (lo, hi) instead of [lo, hi] */
} trig_t;

static double deg2rad(double x)
{
    return x * (M_PI / 180.0);
}

static double rad2deg(double x)
{
    return x * (180.0 / M_PI);
}

static const trig_t trigs[] = {
    {"$sin", sin, -INFINITY, INFINITY, true},
    {"$cos", cos, -INFINITY, INFINITY, true},
    {"$tan", tan, -INFINITY, INFINITY, true},
    {"$asin", asin, -1, 1, false},
    {"$acos", acos, -1, 1, false},
    {"$atan", atan, -INFINITY, INFINITY, false},
    {"$sinh", sinh, -INFINITY, INFINITY, false},
    {"$cosh", cosh, -INFINITY, INFINITY, false},
    {"$tanh", tanh, -INFINITY, INFINITY, false},
    {"$asinh", asinh, -INFINITY, INFINITY, false},
    {"$acosh", acosh, 1, INFINITY, false},
    {"$atanh", atanh, -1, 1, false},
    {"$degreesToRadians", deg2rad, -INFINITY, INFINITY, false},
    {"$radiansToDegrees", rad2deg, -INFINITY, INFINITY, false},
};

/*
 * A real-valued result: a double, or for a decimal operand a decimal made
 * from the double (15 significant digits; MongoDB computes these in decimal).
 */
static void set_real(bson_value_t *out, double x, bool as_decimal)
{
    qry__expr_set_double(out, x);
    if (as_decimal) {
        qry__dec_t d;
        bson_value_t dv = *out;
        qry__dec_from_value(&dv, &d);
        qry__dec_to_value(&d, out);
    }
}

static int eval_trig(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    const trig_t *t = NULL;
    for (size_t i = 0; i < sizeof(trigs) / sizeof(trigs[0]); i++)
        if (strcmp(trigs[i].name, node->op->name) == 0)
            t = &trigs[i];
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (!bsonu_is_number(v.value_type))
        return status_set(st, 28765, "%s only supports numeric types, not %s", node->op->name,
                          qry__expr_type_name(&v));
    double x;
    bsonu_number_as_double(&v, &x);
    bool ok = isnan(x) || (t->open ? (x > t->lo && x < t->hi) : (x >= t->lo && x <= t->hi));
    if (!ok)
        return status_set(st, 50989, "cannot apply %s to %g, value must be in %c%g,%g%c",
                          node->op->name, x, t->open ? '(' : '[', t->lo, t->hi,
                          t->open ? ')' : ']');
    set_real(out, t->fn(x), v.value_type == BSON_TYPE_DECIMAL128);
    return 0;
}

static int eval_atan2(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t y, x;
    ST_RET(qry__expr_eval(cx, node->args[0], &y, st));
    ST_RET(qry__expr_eval(cx, node->args[1], &x, st));
    if (qry__expr_is_nullish(&y) || qry__expr_is_nullish(&x)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (!bsonu_is_number(y.value_type))
        return status_set(st, 51044, "$atan2 only supports numeric types, not %s and %s",
                          qry__expr_type_name(&y), qry__expr_type_name(&x));
    if (!bsonu_is_number(x.value_type))
        return status_set(st, 51045, "$atan2 only supports numeric types, not %s and %s",
                          qry__expr_type_name(&y), qry__expr_type_name(&x));
    double a, b;
    bsonu_number_as_double(&y, &a);
    bsonu_number_as_double(&x, &b);
    set_real(out, atan2(a, b),
             y.value_type == BSON_TYPE_DECIMAL128 || x.value_type == BSON_TYPE_DECIMAL128);
    return 0;
}

/* ---- bitwise --------------------------------------------------------------------- */

static int eval_bits(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    const char *op = node->op->name;
    int kind = strcmp(op, "$bitAnd") == 0 ? 0 : strcmp(op, "$bitOr") == 0 ? 1 : 2;
    int64_t acc = kind == 0 ? -1 : 0;
    bool is_long = false;
    for (size_t i = 0; i < node->nargs; i++) {
        bson_value_t v;
        ST_RET(qry__expr_eval(cx, node->args[i], &v, st));
        if (qry__expr_is_nullish(&v)) {
            qry__expr_set_null(out);
            return 0;
        }
        int64_t x;
        if (v.value_type == BSON_TYPE_INT32) {
            x = v.value.v_int32;
        } else if (v.value_type == BSON_TYPE_INT64) {
            x = v.value.v_int64;
            is_long = true;
        } else {
            return status_set(st, ERR_TypeMismatch,
                              "All operands of %s must be integers or longs, but found %s", op,
                              qry__expr_type_name(&v));
        }
        acc = kind == 0 ? (acc & x) : kind == 1 ? (acc | x) : (acc ^ x);
    }
    if (is_long)
        qry__expr_set_long(out, acc);
    else
        qry__expr_set_int(out, (int32_t)acc);
    return 0;
}

static int eval_bit_not(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v))
        qry__expr_set_null(out);
    else if (v.value_type == BSON_TYPE_INT32)
        qry__expr_set_int(out, ~v.value.v_int32);
    else if (v.value_type == BSON_TYPE_INT64)
        qry__expr_set_long(out, ~v.value.v_int64);
    else
        return status_set(st, ERR_TypeMismatch, "$bitNot only supports int and long, not: %s",
                          qry__expr_type_name(&v));
    return 0;
}

/* ---- sizes and timestamps ----------------------------------------------------------- */

static int eval_binary_size(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                            status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v))
        qry__expr_set_null(out);
    else if (v.value_type == BSON_TYPE_UTF8)
        qry__expr_set_int(out, (int32_t)v.value.v_utf8.len);
    else if (v.value_type == BSON_TYPE_BINARY)
        qry__expr_set_int(out, (int32_t)v.value.v_binary.data_len);
    else
        return status_set(st, 51276, "$binarySize requires a string or BinData argument, found: %s",
                          qry__expr_type_name(&v));
    return 0;
}

static int eval_bson_size(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                          status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v))
        qry__expr_set_null(out);
    else if (v.value_type == BSON_TYPE_DOCUMENT)
        qry__expr_set_int(out, (int32_t)v.value.v_doc.data_len);
    else
        return status_set(st, 31393, "$bsonSize requires a document input, found: %s",
                          qry__expr_type_name(&v));
    return 0;
}

static int eval_ts_part(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    bool sec = strcmp(node->op->name, "$tsSecond") == 0;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    if (qry__expr_is_nullish(&v)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (v.value_type != BSON_TYPE_TIMESTAMP)
        return status_set(st, sec ? 5687301 : 5687302,
                          "Argument to %s must be a timestamp, but is %s", node->op->name,
                          qry__expr_type_name(&v));
    qry__expr_set_long(out, sec ? v.value.v_timestamp.timestamp : v.value.v_timestamp.increment);
    return 0;
}

/* ---- $firstN $lastN $maxN $minN over an array ------------------------------------- */

/* args = n, input */
static int parse_n_op(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                      status_t *st)
{
    bson_t view;
    bson_iter_t it;
    bson_value_t n_s, in_s; /* copies: bson_iter_value points into the iterator */
    const bson_value_t *n = NULL, *in = NULL;
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 5787900, "specification must be an object; found %s",
                          qry__expr_type_name(arg));
    qry__expr_view(arg, &view);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "n") == 0) {
                n_s = *bson_iter_value(&it);
                n = &n_s;
            } else if (strcmp(k, "input") == 0) {
                in_s = *bson_iter_value(&it);
                in = &in_s;
            } else {
                return status_set(st, 5787901, "Unknown argument for 'n' operator: %s", k);
            }
        }
    }
    if (n == NULL)
        return status_set(st, 5787906, "Missing value for 'n'");
    if (in == NULL)
        return status_set(st, 5787907, "Missing value for 'input'");
    qry__expr_args_alloc(node, 2);
    ST_RET(qry__expr_parse_sub(p, n, &node->args[0], st));
    return qry__expr_parse_sub(p, in, &node->args[1], st);
}

static int value_cmp(const void *a, const void *b)
{
    return bsonu_compare_value(a, b);
}

static int eval_n_op(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    const char *op = node->op->name;
    bson_value_t nv, in;
    int64_t n = 0;
    ST_RET(qry__expr_eval(cx, node->args[0], &nv, st));
    ST_RET(qry__expr_eval(cx, node->args[1], &in, st));
    double d = 0;
    if (!bsonu_is_number(nv.value_type))
        return status_set(st, 5787902, "Value for 'n' must be of integral type, but found %s",
                          qry__expr_type_name(&nv));
    if (!bsonu_number_as_int64(&nv, &n)) {
        bsonu_number_as_double(&nv, &d);
        return status_set(st, 5787903, "Value for 'n' must be of integral type, but found %g", d);
    }
    if (n <= 0)
        return status_set(st, 5787908, "'n' must be greater than 0, found %lld", (long long)n);
    if (in.value_type != BSON_TYPE_ARRAY)
        return status_set(st, 5788200, "Input must be an array");
    bson_t view, b;
    bson_iter_t it;
    qry__expr_view(&in, &view);
    size_t cnt = bson_count_keys(&view), m = 0;
    bson_value_t *vals = qry__expr_alloc(cx, (cnt ? cnt : 1) * sizeof(bson_value_t));
    bool sorted = strcmp(op, "$maxN") == 0 || strcmp(op, "$minN") == 0;
    if (bson_iter_init(&it, &view)) {
        while (m < cnt && bson_iter_next(&it)) {
            const bson_value_t *e = bson_iter_value(&it);
            /* $maxN/$minN ignore null and missing elements, $firstN/$lastN keep them */
            if (sorted && qry__expr_is_nullish(e))
                continue;
            vals[m++] = *e;
        }
    }
    size_t from = 0, take = (size_t)n < m ? (size_t)n : m;
    if (sorted) {
        qsort(vals, m, sizeof(*vals), value_cmp);
        if (strcmp(op, "$maxN") == 0) {
            /* largest first */
            for (size_t i = 0; i < m / 2; i++) {
                bson_value_t t = vals[i];
                vals[i] = vals[m - 1 - i];
                vals[m - 1 - i] = t;
            }
        }
    } else if (strcmp(op, "$lastN") == 0) {
        from = m - take;
    }
    bson_init(&b);
    for (size_t i = 0; i < take; i++) {
        char kb[16];
        const char *key;
        size_t kl = bson_uint32_to_string((uint32_t)i, &key, kb, sizeof(kb));
        bson_append_value(&b, key, (int)kl, &vals[from + i]);
    }
    qry__expr_doc_finish(cx, &b, true, out);
    return 0;
}

/* ---- $meta ------------------------------------------------------------------------ */

/* The metadata names MongoDB 7.0 accepts. */
static const char *const meta_names[] = {
    "textScore",
    "randVal",
    "searchScore",
    "searchHighlights",
    "geoNearDistance",
    "geoNearPoint",
    "recordId",
    "indexKey",
    "sortKey",
    "searchScoreDetails",
    "searchSequenceToken",
    "timeseriesBucketMinTime",
    "timeseriesBucketMaxTime",
};

/* names[0] = the metadata name (owned) */
static int parse_meta(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                      status_t *st)
{
    if (arg->value_type != BSON_TYPE_UTF8)
        return status_set(st, 17307, "$meta only supports string arguments");
    for (size_t i = 0; i < sizeof(meta_names) / sizeof(meta_names[0]); i++) {
        if (strcmp(meta_names[i], arg->value.v_utf8.str) == 0) {
            node->n = (int64_t)i;
            return 0;
        }
    }
    return status_set(st, 17308, "Unsupported argument to $meta: %s", arg->value.v_utf8.str);
}

static int eval_meta(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    const char *name = meta_names[node->n];
    ST_RET(qry__expr_meta(cx, name, out, st));
    if (out->value_type == BSON_TYPE_EOD && strcmp(name, "textScore") == 0)
        return status_set(st, 40218, "query requires text score metadata, but it is not available");
    return 0;
}

static const qry__expr_op_t misc_ops[] = {
    {"$meta", 0, 0, parse_meta, eval_meta, NULL, QRY__EXPR_OP_NOFOLD},
    {"$firstN", 0, 0, parse_n_op, eval_n_op, NULL, 0},
    {"$lastN", 0, 0, parse_n_op, eval_n_op, NULL, 0},
    {"$maxN", 0, 0, parse_n_op, eval_n_op, NULL, 0},
    {"$minN", 0, 0, parse_n_op, eval_n_op, NULL, 0},
    {"$sum", 0, QRY__EXPR_ARGS_ANY, NULL, eval_sum_avg, NULL, 0},
    {"$avg", 0, QRY__EXPR_ARGS_ANY, NULL, eval_sum_avg, NULL, 0},
    {"$max", 0, QRY__EXPR_ARGS_ANY, NULL, eval_max_min, NULL, 0},
    {"$min", 0, QRY__EXPR_ARGS_ANY, NULL, eval_max_min, NULL, 0},
    {"$stdDevPop", 0, QRY__EXPR_ARGS_ANY, NULL, eval_std_dev, NULL, 0},
    {"$stdDevSamp", 0, QRY__EXPR_ARGS_ANY, NULL, eval_std_dev, NULL, 0},
    {"$sin", 1, 1, NULL, eval_trig, NULL, 0},
    {"$cos", 1, 1, NULL, eval_trig, NULL, 0},
    {"$tan", 1, 1, NULL, eval_trig, NULL, 0},
    {"$asin", 1, 1, NULL, eval_trig, NULL, 0},
    {"$acos", 1, 1, NULL, eval_trig, NULL, 0},
    {"$atan", 1, 1, NULL, eval_trig, NULL, 0},
    {"$atan2", 2, 2, NULL, eval_atan2, NULL, 0},
    {"$sinh", 1, 1, NULL, eval_trig, NULL, 0},
    {"$cosh", 1, 1, NULL, eval_trig, NULL, 0},
    {"$tanh", 1, 1, NULL, eval_trig, NULL, 0},
    {"$asinh", 1, 1, NULL, eval_trig, NULL, 0},
    {"$acosh", 1, 1, NULL, eval_trig, NULL, 0},
    {"$atanh", 1, 1, NULL, eval_trig, NULL, 0},
    {"$degreesToRadians", 1, 1, NULL, eval_trig, NULL, 0},
    {"$radiansToDegrees", 1, 1, NULL, eval_trig, NULL, 0},
    {"$bitAnd", 0, QRY__EXPR_ARGS_ANY, NULL, eval_bits, NULL, 0},
    {"$bitOr", 0, QRY__EXPR_ARGS_ANY, NULL, eval_bits, NULL, 0},
    {"$bitXor", 0, QRY__EXPR_ARGS_ANY, NULL, eval_bits, NULL, 0},
    {"$bitNot", 1, 1, NULL, eval_bit_not, NULL, 0},
    {"$binarySize", 1, 1, NULL, eval_binary_size, NULL, 0},
    {"$bsonSize", 1, 1, NULL, eval_bson_size, NULL, 0},
    {"$tsSecond", 1, 1, NULL, eval_ts_part, NULL, 0},
    {"$tsIncrement", 1, 1, NULL, eval_ts_part, NULL, 0},
};

const qry__expr_table_t qry__expr_misc_table = {misc_ops, sizeof(misc_ops) / sizeof(misc_ops[0])};
