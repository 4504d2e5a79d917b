/*
 * expr_arith.c -- arithmetic expression operators: $add $subtract $multiply
 * $divide $mod $abs $ceil $floor $round $trunc $exp $ln $log $log10 $pow $sqrt.
 *
 * MongoDB's numeric rules: the result type is the widest operand type
 * (int32 < int64 < double); an int32 result that overflows becomes an int64
 * and an int64 that overflows becomes a double. null, undefined or missing
 * operands make the result null. A decimal128 operand makes the result a
 * decimal (expr_decimal.c: exact +, -, *, 34-digit /, quantize); the
 * transcendental functions of a decimal go through a double.
 */
#include "query/expr_int.h"

#include <fenv.h>
#include <limits.h>
#include <math.h>
#include <string.h>

enum { W_INT = 0, W_LONG = 1, W_DOUBLE = 2 };

/* A decimal result from a double computation (the transcendental functions). */
static void decimal_from_double(double x, bson_value_t *out)
{
    bson_value_t dv;
    qry__dec_t d;
    qry__expr_set_double(&dv, x);
    qry__dec_from_value(&dv, &d);
    qry__dec_to_value(&d, out);
}

static bool is_dec(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_DECIMAL128;
}

static double dec_double(const bson_value_t *v)
{
    qry__dec_t d;
    qry__dec_from_value(v, &d);
    return qry__dec_to_double(&d);
}

static bool is_int(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64;
}

static int64_t as_long(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64;
}

static double as_double(const bson_value_t *v)
{
    double d = 0;
    bsonu_number_as_double(v, &d);
    return d;
}

static int width(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32   ? W_INT
           : v->value_type == BSON_TYPE_INT64 ? W_LONG
                                              : W_DOUBLE;
}

/* An integer result of width w: int32 if it fits and w allows, else int64. */
static void set_integer(bson_value_t *out, int64_t x, int w)
{
    if (w == W_INT && x >= INT32_MIN && x <= INT32_MAX)
        qry__expr_set_int(out, (int32_t)x);
    else
        qry__expr_set_long(out, x);
}

/* Evaluate every argument into an arena array. */
static int eval_args(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t **vals, status_t *st)
{
    *vals = qry__expr_alloc(cx, (node->nargs ? node->nargs : 1) * sizeof(bson_value_t));
    for (size_t i = 0; i < node->nargs; i++)
        ST_RET(qry__expr_eval(cx, node->args[i], &(*vals)[i], st));
    return 0;
}

/* Sum or product of integers and doubles with overflow promotion. */
typedef struct acc {
    int w;
    int64_t l;
    double d;
    bool l_overflow;
} acc_t;

static void acc_add(acc_t *a, const bson_value_t *v)
{
    if (is_int(v) && a->w != W_DOUBLE) {
        int64_t r;
        if (__builtin_add_overflow(a->l, as_long(v), &r)) {
            a->w = W_DOUBLE;
            a->d = (double)a->l + (double)as_long(v);
            return;
        }
        a->l = r;
        if (width(v) > a->w)
            a->w = width(v);
        return;
    }
    if (a->w != W_DOUBLE) {
        a->d = (double)a->l;
        a->w = W_DOUBLE;
    }
    a->d += as_double(v);
}

static int eval_add(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    acc_t a = {W_INT, 0, 0, false};
    bool have_date = false, have_dec = false;
    ST_RET(eval_args(cx, node, &v, st));
    for (size_t i = 0; i < node->nargs; i++) {
        if (qry__expr_is_nullish(&v[i])) {
            qry__expr_set_null(out);
            return 0;
        }
        if (v[i].value_type == BSON_TYPE_DATE_TIME) {
            if (have_date)
                return status_set(st, 16612, "only one date allowed in an $add expression");
            have_date = true;
            bson_value_t l;
            qry__expr_set_long(&l, v[i].value.v_datetime);
            acc_add(&a, &l);
            continue;
        }
        if (!bsonu_is_number(v[i].value_type))
            return status_set(st, 16554, "$add only supports numeric or date types, not %s",
                              qry__expr_type_name(&v[i]));
        if (is_dec(&v[i]))
            have_dec = true;
        else
            acc_add(&a, &v[i]);
    }
    if (have_dec) {
        qry__dec_t sum, x;
        memset(&sum, 0, sizeof(sum));
        for (size_t i = 0; i < node->nargs; i++) {
            bson_value_t l = v[i];
            if (l.value_type == BSON_TYPE_DATE_TIME)
                qry__expr_set_long(&l, v[i].value.v_datetime);
            qry__dec_from_value(&l, &x);
            qry__dec_add(&sum, &x, false, &sum);
        }
        if (!have_date) {
            qry__dec_to_value(&sum, out);
            return 0;
        }
        a.w = W_DOUBLE;
        a.d = qry__dec_to_double(&sum);
    }
    if (have_date) {
        memset(out, 0, sizeof(*out));
        out->value_type = BSON_TYPE_DATE_TIME;
        if (a.w == W_DOUBLE) {
            if (!(a.d >= -9.2233720368547758e18 && a.d < 9.2233720368547758e18))
                return status_set(st, ERR_Overflow, "date overflow in $add");
            out->value.v_datetime = llround(a.d);
        } else {
            out->value.v_datetime = a.l;
        }
        return 0;
    }
    if (a.w == W_DOUBLE)
        qry__expr_set_double(out, a.d);
    else
        set_integer(out, a.l, a.w);
    return 0;
}

static int eval_subtract(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                         status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    const bson_value_t *a = &v[0], *b = &v[1];
    if (qry__expr_is_nullish(a) || qry__expr_is_nullish(b)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (bsonu_is_number(a->value_type) && bsonu_is_number(b->value_type) &&
        (is_dec(a) || is_dec(b))) {
        qry__dec_t x, y, r;
        qry__dec_from_value(a, &x);
        qry__dec_from_value(b, &y);
        qry__dec_add(&x, &y, true, &r);
        qry__dec_to_value(&r, out);
        return 0;
    }
    if (bsonu_is_number(a->value_type) && bsonu_is_number(b->value_type)) {
        if (is_int(a) && is_int(b)) {
            int64_t r;
            int w = width(a) > width(b) ? width(a) : width(b);
            if (!__builtin_sub_overflow(as_long(a), as_long(b), &r)) {
                set_integer(out, r, w);
                return 0;
            }
        }
        qry__expr_set_double(out, as_double(a) - as_double(b));
        return 0;
    }
    if (a->value_type == BSON_TYPE_DATE_TIME) {
        int64_t r;
        if (b->value_type == BSON_TYPE_DATE_TIME) {
            if (__builtin_sub_overflow(a->value.v_datetime, b->value.v_datetime, &r))
                return status_set(st, ERR_Overflow, "date overflow in $subtract");
            qry__expr_set_long(out, r);
            return 0;
        }
        if (bsonu_is_number(b->value_type)) {
            double d = is_dec(b) ? dec_double(b) : as_double(b);
            int64_t n = is_int(b) ? as_long(b) : (isfinite(d) && fabs(d) < 9.2e18 ? llround(d) : 0);
            if ((!is_int(b) && !(isfinite(d) && fabs(d) < 9.2e18)) ||
                __builtin_sub_overflow(a->value.v_datetime, n, &r))
                return status_set(st, ERR_Overflow, "date overflow in $subtract");
            memset(out, 0, sizeof(*out));
            out->value_type = BSON_TYPE_DATE_TIME;
            out->value.v_datetime = r;
            return 0;
        }
        return status_set(st, 16613, "cant $subtract a %s from a Date", qry__expr_type_name(b));
    }
    return status_set(st, 16556, "cant $subtract a%s from a %s", qry__expr_type_name(b),
                      qry__expr_type_name(a));
}

static int eval_multiply(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                         status_t *st)
{
    bson_value_t *v;
    int w = W_INT;
    int64_t l = 1;
    double d = 1;
    bool have_dec = false;
    ST_RET(eval_args(cx, node, &v, st));
    for (size_t i = 0; i < node->nargs; i++) {
        if (qry__expr_is_nullish(&v[i])) {
            qry__expr_set_null(out);
            return 0;
        }
        if (!bsonu_is_number(v[i].value_type))
            return status_set(st, 16555, "$multiply only supports numeric types, not %s",
                              qry__expr_type_name(&v[i]));
        if (is_dec(&v[i]))
            have_dec = true;
        if (have_dec)
            continue;
        if (w != W_DOUBLE && is_int(&v[i])) {
            int64_t r;
            if (!__builtin_mul_overflow(l, as_long(&v[i]), &r)) {
                l = r;
                if (width(&v[i]) > w)
                    w = width(&v[i]);
                continue;
            }
        }
        if (w != W_DOUBLE) {
            d = (double)l;
            w = W_DOUBLE;
        }
        d *= as_double(&v[i]);
    }
    if (have_dec) {
        qry__dec_t p, x;
        bson_value_t one;
        qry__expr_set_int(&one, 1);
        qry__dec_from_value(&one, &p);
        for (size_t i = 0; i < node->nargs; i++) {
            qry__dec_from_value(&v[i], &x);
            qry__dec_mul(&p, &x, &p);
        }
        qry__dec_to_value(&p, out);
        return 0;
    }
    if (w == W_DOUBLE)
        qry__expr_set_double(out, d);
    else
        set_integer(out, l, w);
    return 0;
}

static int eval_divide(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    if (qry__expr_is_nullish(&v[0]) || qry__expr_is_nullish(&v[1])) {
        qry__expr_set_null(out);
        return 0;
    }
    if (!bsonu_is_number(v[0].value_type) || !bsonu_is_number(v[1].value_type))
        return status_set(st, 16609, "$divide only supports numeric types, not %s and %s",
                          qry__expr_type_name(&v[0]), qry__expr_type_name(&v[1]));
    if (is_dec(&v[0]) || is_dec(&v[1])) {
        qry__dec_t x, y, r;
        qry__dec_from_value(&v[0], &x);
        qry__dec_from_value(&v[1], &y);
        if (qry__dec_is_zero(&y))
            return status_set(st, 16608, "can't $divide by zero");
        qry__dec_div(&x, &y, &r);
        qry__dec_to_value(&r, out);
        return 0;
    }
    double den = as_double(&v[1]);
    if (den == 0)
        return status_set(st, 16608, "can't $divide by zero");
    qry__expr_set_double(out, as_double(&v[0]) / den);
    return 0;
}

static int eval_mod(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    const bson_value_t *a = &v[0], *b = &v[1];
    if (qry__expr_is_nullish(a) || qry__expr_is_nullish(b)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (!bsonu_is_number(a->value_type) || !bsonu_is_number(b->value_type))
        return status_set(st, 16611, "$mod only supports numeric types, not %s and %s",
                          qry__expr_type_name(a), qry__expr_type_name(b));
    if (is_dec(a) || is_dec(b)) {
        qry__dec_t x, y, r;
        qry__dec_from_value(a, &x);
        qry__dec_from_value(b, &y);
        if (!qry__dec_mod(&x, &y, &r))
            return status_set(st, 16610, "can't $mod by zero");
        qry__dec_to_value(&r, out);
        return 0;
    }
    /*
     * An integral double divisor within int32 range counts as an int (MongoDB:
     * {$mod: [NumberInt(8), 3.0]} is the int 2); a double dividend or any other
     * double divisor makes it fmod.
     */
    bool b_int = is_int(b);
    if (b->value_type == BSON_TYPE_DOUBLE) {
        double y = b->value.v_double;
        b_int = y == trunc(y) && y >= INT32_MIN && y <= INT32_MAX;
    }
    if (is_int(a) && b_int) {
        int64_t y = is_int(b) ? as_long(b) : (int64_t)b->value.v_double;
        if (y == 0)
            return status_set(st, 16610, "can't $mod by zero");
        int w = is_int(b) && width(b) > width(a) ? width(b) : width(a);
        /* INT64_MIN % -1 traps in C; the mathematical answer is 0 */
        set_integer(out, y == -1 ? 0 : as_long(a) % y, w);
        return 0;
    }
    double y = as_double(b);
    if (y == 0)
        return status_set(st, 16610, "can't $mod by zero");
    qry__expr_set_double(out, fmod(as_double(a), y));
    return 0;
}

/* One numeric argument: evaluate, null through, type-check with code 28765. */
static int unary_arg(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *v, bool *is_null,
                     status_t *st)
{
    ST_RET(qry__expr_eval(cx, node->args[0], v, st));
    *is_null = qry__expr_is_nullish(v);
    if (*is_null)
        return 0;
    if (!bsonu_is_number(v->value_type))
        return status_set(st, 28765, "%s only supports numeric types, not %s", node->op->name,
                          qry__expr_type_name(v));
    return 0;
}

static int eval_abs(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    bool null;
    ST_RET(unary_arg(cx, node, &v, &null, st));
    if (null) {
        qry__expr_set_null(out);
        return 0;
    }
    if (is_dec(&v)) {
        qry__dec_t d;
        qry__dec_from_value(&v, &d);
        d.neg = false;
        qry__dec_to_value(&d, out);
    } else if (v.value_type == BSON_TYPE_DOUBLE) {
        qry__expr_set_double(out, fabs(v.value.v_double));
    } else if (v.value_type == BSON_TYPE_INT64 && v.value.v_int64 == INT64_MIN) {
        return status_set(st, 28680, "can't take $abs of long long min");
    } else {
        int64_t x = as_long(&v);
        set_integer(out, x < 0 ? -x : x, width(&v));
    }
    return 0;
}

static int eval_rounding(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                         status_t *st, double (*fn)(double))
{
    bson_value_t v;
    bool null;
    ST_RET(unary_arg(cx, node, &v, &null, st));
    if (!null && is_dec(&v)) {
        qry__dec_t d;
        qry__dec_from_value(&v, &d);
        qry__dec_quantize(&d, 0, fn == ceil ? QRY__DEC_ROUND_CEIL : QRY__DEC_ROUND_FLOOR, false);
        qry__dec_to_value(&d, out);
        return 0;
    }
    if (null)
        qry__expr_set_null(out);
    else if (v.value_type == BSON_TYPE_DOUBLE)
        qry__expr_set_double(out, fn(v.value.v_double));
    else
        *out = v;
    return 0;
}

static int eval_ceil(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return eval_rounding(cx, node, out, st, ceil);
}

static int eval_floor(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return eval_rounding(cx, node, out, st, floor);
}

/* A double function of one argument with a domain check (lo_exclusive: x must be > 0). */
static int eval_math1(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st,
                      double (*fn)(double), int domain_code, const char *domain)
{
    bson_value_t v;
    bool null;
    ST_RET(unary_arg(cx, node, &v, &null, st));
    if (null) {
        qry__expr_set_null(out);
        return 0;
    }
    double x = is_dec(&v) ? dec_double(&v) : as_double(&v);
    if (domain_code != 0 && !isnan(x)) {
        bool bad = domain_code == 28714 ? x < 0 : x <= 0;
        if (bad) {
            char buf[64];
            if (is_int(&v))
                snprintf(buf, sizeof(buf), "%lld", (long long)as_long(&v));
            else
                snprintf(buf, sizeof(buf), "%g", x);
            return status_set(st, domain_code, "%s%s", domain, buf);
        }
    }
    if (is_dec(&v))
        decimal_from_double(fn(x), out);
    else
        qry__expr_set_double(out, fn(x));
    return 0;
}

static int eval_exp(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return eval_math1(cx, node, out, st, exp, 0, NULL);
}

static int eval_ln(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return eval_math1(cx, node, out, st, log, 28766,
                      "$ln's argument must be a positive number, but is ");
}

static int eval_log10(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return eval_math1(cx, node, out, st, log10, 28761,
                      "$log10's argument must be a positive number, but is ");
}

static int eval_sqrt(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return eval_math1(cx, node, out, st, sqrt, 28714,
                      "$sqrt's argument must be greater than or equal to 0, but is ");
}

static int eval_log(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    if (qry__expr_is_nullish(&v[0]) || qry__expr_is_nullish(&v[1])) {
        qry__expr_set_null(out);
        return 0;
    }
    if (!bsonu_is_number(v[0].value_type))
        return status_set(st, 28756, "$log's argument must be numeric, not %s",
                          qry__expr_type_name(&v[0]));
    if (!bsonu_is_number(v[1].value_type))
        return status_set(st, 28757, "$log's base must be numeric, not %s",
                          qry__expr_type_name(&v[1]));
    bool dec = is_dec(&v[0]) || is_dec(&v[1]);
    double x = is_dec(&v[0]) ? dec_double(&v[0]) : as_double(&v[0]);
    double b = is_dec(&v[1]) ? dec_double(&v[1]) : as_double(&v[1]);
    if (!(x > 0) && !isnan(x))
        return status_set(st, 28758, "$log's argument must be a positive number, but is %g", x);
    if ((!(b > 0) || b == 1) && !isnan(b))
        return status_set(st, 28759,
                          "$log's base must be a positive number not equal to 1, but is %g", b);
    if (dec)
        decimal_from_double(log(x) / log(b), out);
    else
        qry__expr_set_double(out, log(x) / log(b));
    return 0;
}

static int eval_pow(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t *v;
    ST_RET(eval_args(cx, node, &v, st));
    const bson_value_t *b = &v[0], *e = &v[1];
    if (qry__expr_is_nullish(b) || qry__expr_is_nullish(e)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (!bsonu_is_number(b->value_type))
        return status_set(st, 28762, "$pow's base must be numeric, not %s", qry__expr_type_name(b));
    if (!bsonu_is_number(e->value_type))
        return status_set(st, 28763, "$pow's exponent must be numeric, not %s",
                          qry__expr_type_name(e));
    double bd = is_dec(b) ? dec_double(b) : as_double(b);
    double ed = is_dec(e) ? dec_double(e) : as_double(e);
    if (bd == 0 && ed < 0)
        return status_set(st, 28764, "$pow cannot take a base of 0 and a negative exponent");
    if (is_dec(b) || is_dec(e)) {
        decimal_from_double(pow(bd, ed), out);
        return 0;
    }
    if (is_int(b) && is_int(e)) {
        int w = width(b) > width(e) ? width(b) : width(e);
        int64_t base = as_long(b), ex = as_long(e);
        if (ex < 0) {
            /* only 1 and -1 keep an integral result */
            if (base == 1) {
                set_integer(out, 1, w);
                return 0;
            }
            if (base == -1) {
                set_integer(out, (ex % 2 == 0) ? 1 : -1, w);
                return 0;
            }
            qry__expr_set_double(out, pow(bd, ed));
            return 0;
        }
        int64_t r = 1;
        bool overflow = false;
        for (int64_t i = 0; i < ex && !overflow; i++) {
            overflow = __builtin_mul_overflow(r, base, &r);
            if (r == 0 || r == 1 || (r == -1 && base == -1)) {
                /* 0, 1 and -1 are fixed points: finish by parity without looping */
                if (base == -1)
                    r = ((ex % 2) == 0) ? 1 : -1;
                break;
            }
        }
        if (!overflow) {
            set_integer(out, r, w);
            return 0;
        }
    }
    qry__expr_set_double(out, pow(bd, ed));
    return 0;
}

/* $round / $trunc: [number, place]; place an integral number in [-20, 100]. */
static int round_place(qry_expr_ctx_t *cx, const qry_expr_t *node, int64_t *place, bool *null,
                       status_t *st)
{
    *place = 0;
    *null = false;
    if (node->nargs < 2)
        return 0;
    bson_value_t p;
    ST_RET(qry__expr_eval(cx, node->args[1], &p, st));
    if (qry__expr_is_nullish(&p)) {
        *null = true;
        return 0;
    }
    if (!bsonu_is_number(p.value_type) || !bsonu_number_as_int64(&p, place))
        return status_set(st, 51082,
                          "%s requires \"place\" argument to be an integer between "
                          "-20 and 100",
                          node->op->name);
    if (*place < -20 || *place > 100)
        return status_set(st, 51083,
                          "cannot apply %s with precision value %lld value must be in "
                          "[-20, 100]",
                          node->op->name, (long long)*place);
    return 0;
}

static int eval_round_trunc(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                            status_t *st, bool trunc_mode)
{
    bson_value_t v;
    int64_t place;
    bool null;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    ST_RET(round_place(cx, node, &place, &null, st));
    if (null || qry__expr_is_nullish(&v)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (!bsonu_is_number(v.value_type))
        return status_set(st, 51081, "%s only supports numeric types, not %s", node->op->name,
                          qry__expr_type_name(&v));
    if (is_dec(&v)) {
        qry__dec_t d;
        qry__dec_from_value(&v, &d);
        qry__dec_quantize(&d, place, trunc_mode ? QRY__DEC_ROUND_TRUNC : QRY__DEC_ROUND_HALF_EVEN,
                          true);
        qry__dec_to_value(&d, out);
        return 0;
    }
    if (is_int(&v)) {
        if (place >= 0) {
            *out = v;
            return 0;
        }
        int64_t x = as_long(&v), pw = 1;
        for (int64_t i = 0; i < -place; i++) {
            if (__builtin_mul_overflow(pw, 10, &pw)) {
                set_integer(out, 0, width(&v));
                return 0;
            }
        }
        int64_t q = x / pw, r = x % pw;
        if (!trunc_mode) {
            /* half to even, as MongoDB's $round */
            int64_t twice = r < 0 ? -r : r;
            bool up = twice > pw - twice || (twice == pw - twice && (q % 2) != 0);
            if (up)
                q += x < 0 ? -1 : 1;
        }
        int64_t res;
        if (__builtin_mul_overflow(q, pw, &res))
            return status_set(st, 51080,
                              "invalid conversion from Decimal128 result in %s "
                              "resulting from arguments: [%lld, %lld]",
                              node->op->name, (long long)x, (long long)place);
        set_integer(out, res, width(&v));
        return 0;
    }
    double x = v.value.v_double;
    if (!isfinite(x)) {
        *out = v;
        return 0;
    }
    double scale = pow(10.0, (double)(place < 0 ? -place : place));
    double y = place >= 0 ? x * scale : x / scale;
    if (!isfinite(y)) {
        *out = v;
        return 0;
    }
    if (trunc_mode) {
        y = trunc(y);
    } else {
        int old = fegetround();
        fesetround(FE_TONEAREST);
        y = nearbyint(y);
        fesetround(old);
    }
    qry__expr_set_double(out, place >= 0 ? y / scale : y * scale);
    return 0;
}

static int eval_round(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return eval_round_trunc(cx, node, out, st, false);
}

static int eval_trunc(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return eval_round_trunc(cx, node, out, st, true);
}

static const qry__expr_op_t arith_ops[] = {
    {"$add", 0, QRY__EXPR_ARGS_ANY, NULL, eval_add, NULL, 0},
    {"$subtract", 2, 2, NULL, eval_subtract, NULL, 0},
    {"$multiply", 0, QRY__EXPR_ARGS_ANY, NULL, eval_multiply, NULL, 0},
    {"$divide", 2, 2, NULL, eval_divide, NULL, 0},
    {"$mod", 2, 2, NULL, eval_mod, NULL, 0},
    {"$abs", 1, 1, NULL, eval_abs, NULL, 0},
    {"$ceil", 1, 1, NULL, eval_ceil, NULL, 0},
    {"$floor", 1, 1, NULL, eval_floor, NULL, 0},
    {"$round", 1, 2, NULL, eval_round, NULL, 0},
    {"$trunc", 1, 2, NULL, eval_trunc, NULL, 0},
    {"$exp", 1, 1, NULL, eval_exp, NULL, 0},
    {"$ln", 1, 1, NULL, eval_ln, NULL, 0},
    {"$log", 2, 2, NULL, eval_log, NULL, 0},
    {"$log10", 1, 1, NULL, eval_log10, NULL, 0},
    {"$pow", 2, 2, NULL, eval_pow, NULL, 0},
    {"$sqrt", 1, 1, NULL, eval_sqrt, NULL, 0},
};

const qry__expr_table_t qry__expr_arith_table = {arith_ops,
                                                 sizeof(arith_ops) / sizeof(arith_ops[0])};
