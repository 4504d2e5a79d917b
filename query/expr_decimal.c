/*
 * expr_decimal.c -- decimal128 arithmetic for the expression operators.
 *
 * Debian has no libmpdec and libbson only parses and prints decimals, so the
 * few operations aggregation needs are done here on decimal digit arrays:
 * exact add, subtract and multiply, division to 34 significant digits, the
 * integer remainder, and quantizing (round/trunc/ceil/floor to a place).
 * Results are rounded half-to-even to 34 digits, IEEE 754-2008's default,
 * and encoded through libbson's string parser, which applies the exponent
 * range (clamping, overflow to infinity).
 *
 * Conversions follow MongoDB: an integer becomes an exact decimal; a double
 * becomes a decimal of 15 significant digits (Decimal128(double)'s default),
 * trailing zeros kept, so $toDecimal(2.5) is 2.50000000000000.
 */
#include "query/expr_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Decimal128 keeps 34 significant digits. */
#define PRECISION 34

/* qry__dec_from_value -- a number as a decimal; false if v is not a number. */
bool qry__dec_from_value(const bson_value_t *v, qry__dec_t *d)
{
    memset(d, 0, sizeof(*d));
    switch (v->value_type) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64: {
        int64_t x = v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64;
        uint64_t m = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
        d->neg = x < 0;
        while (m) {
            d->d[d->n++] = (uint8_t)(m % 10);
            m /= 10;
        }
        return true;
    }
    case BSON_TYPE_DOUBLE: {
        double x = v->value.v_double;
        d->neg = signbit(x) != 0;
        if (isnan(x)) {
            d->cls = QRY__DEC_NAN;
            return true;
        }
        if (isinf(x)) {
            d->cls = QRY__DEC_INF;
            return true;
        }
        if (x == 0)
            return true;
        /* 15 significant digits: "d.dddddddddddddde+XX" */
        char buf[64];
        snprintf(buf, sizeof(buf), "%.14e", fabs(x));
        int e10 = atoi(strchr(buf, 'e') + 1);
        char digits[16];
        int k = 0;
        for (const char *p = buf; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                digits[k++] = *p;
        for (int i = 0; i < k; i++)
            d->d[i] = (uint8_t)(digits[k - 1 - i] - '0');
        d->n = (uint16_t)k;
        d->exp = e10 - (k - 1);
        return true;
    }
    case BSON_TYPE_DECIMAL128: {
        bsonu_dec128_parts_t p;
        bsonu_dec128_decode(&v->value.v_decimal128, &p);
        d->neg = p.negative;
        if (p.is_nan) {
            d->cls = QRY__DEC_NAN;
            return true;
        }
        if (p.is_inf) {
            d->cls = QRY__DEC_INF;
            return true;
        }
        d->exp = p.exponent;
        unsigned __int128 c = p.coefficient;
        while (c) {
            d->d[d->n++] = (uint8_t)(c % 10);
            c /= 10;
        }
        return true;
    }
    default:
        return false;
    }
}

/* Drop leading (most significant) zero digits. */
static void trim(qry__dec_t *d)
{
    while (d->n > 0 && d->d[d->n - 1] == 0)
        d->n--;
}

/*
 * Round to at most prec digits, half to even; sticky says whether nonzero
 * digits were already lost below the coefficient. Returns whether the value
 * changed (the result is inexact).
 */
static bool round_digits(qry__dec_t *d, int prec, bool sticky)
{
    trim(d);
    if (d->n <= prec) {
        return sticky;
    }
    int drop = d->n - prec;
    int first = d->d[drop - 1];
    bool rest = sticky;
    for (int i = 0; i < drop - 1 && !rest; i++)
        rest = d->d[i] != 0;
    memmove(d->d, d->d + drop, (size_t)prec);
    d->n = (uint16_t)prec;
    d->exp += drop;
    bool up = first > 5 || (first == 5 && (rest || (d->d[0] & 1)));
    if (up) {
        int i = 0;
        while (i < d->n && d->d[i] == 9)
            d->d[i++] = 0;
        if (i == d->n)
            d->d[d->n++] = 1;
        else
            d->d[i]++;
        if (d->n > prec) {
            /* 999..9 + 1 carried into a new digit: the low digit is a zero */
            memmove(d->d, d->d + 1, (size_t)prec);
            d->n = (uint16_t)prec;
            d->exp++;
        }
    }
    return first != 0 || rest;
}

/* qry__dec_to_value -- encode as a decimal128 result (rounded to 34 digits). */
void qry__dec_to_value(const qry__dec_t *in, bson_value_t *out)
{
    qry__dec_t d = *in;
    char buf[QRY__DEC_MAX_DIGITS + 32];
    size_t k = 0;
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_DECIMAL128;
    if (d.cls == QRY__DEC_NAN) {
        bson_decimal128_from_string("NaN", &out->value.v_decimal128);
        return;
    }
    if (d.cls == QRY__DEC_INF) {
        bson_decimal128_from_string(d.neg ? "-Infinity" : "Infinity", &out->value.v_decimal128);
        return;
    }
    round_digits(&d, PRECISION, false);
    if (d.neg)
        buf[k++] = '-';
    if (d.n == 0)
        buf[k++] = '0';
    for (int i = d.n - 1; i >= 0; i--)
        buf[k++] = (char)('0' + d.d[i]);
    snprintf(buf + k, sizeof(buf) - k, "E%d", (int)d.exp);
    if (!bson_decimal128_from_string(buf, &out->value.v_decimal128)) {
        /* outside the exponent range: overflow to infinity, underflow to zero */
        bool big = d.n > 0 && d.exp > 0;
        snprintf(buf, sizeof(buf), "%s%s", d.neg ? "-" : "", big ? "Infinity" : "0");
        bson_decimal128_from_string(buf, &out->value.v_decimal128);
    }
}

/* |a| vs |b| of digit arrays at the same exponent. */
static int cmp_mag(const qry__dec_t *a, const qry__dec_t *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->d[i] != b->d[i])
            return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

/* Multiply the coefficient by 10^k (k digits of room are checked by the caller). */
static void shift_up(qry__dec_t *d, int k)
{
    if (d->n == 0 || k <= 0) {
        d->exp -= k > 0 ? k : 0;
        return;
    }
    memmove(d->d + k, d->d, d->n);
    memset(d->d, 0, (size_t)k);
    d->n = (uint16_t)(d->n + k);
    d->exp -= k;
}

/*
 * Bring a and b to one exponent. When the gap is wider than the digit
 * arrays allow, the smaller operand is far below the larger's last digit:
 * it is replaced by a one-digit stand-in just below, which rounds the same.
 */
static void align(qry__dec_t *a, qry__dec_t *b)
{
    qry__dec_t *hi = a->exp > b->exp ? a : b, *lo = hi == a ? b : a;
    if (hi->n == 0) {
        hi->exp = lo->exp;
        return;
    }
    if (lo->n == 0) {
        lo->exp = hi->exp;
        return;
    }
    int64_t gap = (int64_t)hi->exp - lo->exp;
    int room = QRY__DEC_MAX_DIGITS - 2 - hi->n;
    if (gap <= room) {
        shift_up(hi, (int)gap);
        return;
    }
    /* keep PRECISION + 2 digits of hi's scale, then lo is a sticky 1 below them */
    int k = PRECISION + 2;
    shift_up(hi, k);
    lo->n = 1;
    lo->d[0] = 1;
    lo->exp = hi->exp;
}

/* qry__dec_add -- a + b (or a - b with negate_b), rounded to 34 digits. */
void qry__dec_add(const qry__dec_t *ain, const qry__dec_t *bin, bool negate_b, qry__dec_t *r)
{
    qry__dec_t a = *ain, b = *bin;
    if (negate_b)
        b.neg = !b.neg;
    memset(r, 0, sizeof(*r));
    if (a.cls == QRY__DEC_NAN || b.cls == QRY__DEC_NAN) {
        r->cls = QRY__DEC_NAN;
        return;
    }
    if (a.cls == QRY__DEC_INF || b.cls == QRY__DEC_INF) {
        if (a.cls == QRY__DEC_INF && b.cls == QRY__DEC_INF && a.neg != b.neg)
            r->cls = QRY__DEC_NAN;
        else {
            r->cls = QRY__DEC_INF;
            r->neg = a.cls == QRY__DEC_INF ? a.neg : b.neg;
        }
        return;
    }
    trim(&a);
    trim(&b);
    align(&a, &b);
    r->exp = a.exp;
    if (a.neg == b.neg) {
        int carry = 0, n = a.n > b.n ? a.n : b.n;
        for (int i = 0; i < n; i++) {
            int s = (i < a.n ? a.d[i] : 0) + (i < b.n ? b.d[i] : 0) + carry;
            r->d[i] = (uint8_t)(s % 10);
            carry = s / 10;
        }
        r->n = (uint16_t)n;
        if (carry)
            r->d[r->n++] = 1;
        r->neg = a.neg;
    } else {
        const qry__dec_t *big = &a, *small = &b;
        if (cmp_mag(&a, &b) < 0) {
            big = &b;
            small = &a;
        }
        int borrow = 0;
        for (int i = 0; i < big->n; i++) {
            int s = big->d[i] - (i < small->n ? small->d[i] : 0) - borrow;
            borrow = s < 0;
            r->d[i] = (uint8_t)(s + (borrow ? 10 : 0));
        }
        r->n = big->n;
        r->neg = big->neg;
    }
    trim(r);
    if (r->n == 0)
        r->neg = a.neg && b.neg; /* x + -x is +0 */
    round_digits(r, PRECISION, false);
}

/* qry__dec_mul -- a * b, rounded to 34 digits. */
void qry__dec_mul(const qry__dec_t *ain, const qry__dec_t *bin, qry__dec_t *r)
{
    qry__dec_t ac = *ain, bc = *bin; /* r may alias an input */
    const qry__dec_t *a = &ac, *b = &bc;
    memset(r, 0, sizeof(*r));
    r->neg = a->neg != b->neg;
    if (a->cls == QRY__DEC_NAN || b->cls == QRY__DEC_NAN) {
        r->cls = QRY__DEC_NAN;
        return;
    }
    if (a->cls == QRY__DEC_INF || b->cls == QRY__DEC_INF) {
        bool zero = (a->cls == 0 && a->n == 0) || (b->cls == 0 && b->n == 0);
        r->cls = zero ? QRY__DEC_NAN : QRY__DEC_INF;
        return;
    }
    int tmp[2 * QRY__DEC_MAX_DIGITS] = {0};
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++)
            tmp[i + j] += a->d[i] * b->d[j];
    int n = a->n + b->n, carry = 0;
    for (int i = 0; i < n; i++) {
        int s = tmp[i] + carry;
        tmp[i] = s % 10;
        carry = s / 10;
    }
    /* inputs hold at most 34 digits each, so the product fits the array */
    for (int i = 0; i < n && i < QRY__DEC_MAX_DIGITS; i++)
        r->d[i] = (uint8_t)tmp[i];
    r->n = (uint16_t)(n < QRY__DEC_MAX_DIGITS ? n : QRY__DEC_MAX_DIGITS);
    r->exp = a->exp + b->exp;
    trim(r);
    round_digits(r, PRECISION, false);
}

/* Subtract b (shifted up by k digits) from a in place if a >= b*10^k; returns whether it did. */
static bool sub_shifted(qry__dec_t *a, const qry__dec_t *b, int k)
{
    /* compare a with b * 10^k */
    int bn = b->n + k;
    if (a->n != bn) {
        if (a->n < bn)
            return false;
    } else {
        for (int i = a->n - 1; i >= 0; i--) {
            int bd = i >= k ? b->d[i - k] : 0;
            if (a->d[i] != bd) {
                if (a->d[i] < bd)
                    return false;
                break;
            }
        }
    }
    int borrow = 0;
    for (int i = k; i < a->n; i++) {
        int s = a->d[i] - (i - k < b->n ? b->d[i - k] : 0) - borrow;
        borrow = s < 0;
        a->d[i] = (uint8_t)(s + (borrow ? 10 : 0));
    }
    trim(a);
    return true;
}

/* qry__dec_div -- a / b (b not zero), rounded to 34 digits; IEEE's ideal exponent when exact. */
void qry__dec_div(const qry__dec_t *ain, const qry__dec_t *bin, qry__dec_t *r)
{
    qry__dec_t a = *ain, b = *bin;
    memset(r, 0, sizeof(*r));
    r->neg = a.neg != b.neg;
    if (a.cls == QRY__DEC_NAN || b.cls == QRY__DEC_NAN ||
        (a.cls == QRY__DEC_INF && b.cls == QRY__DEC_INF)) {
        r->cls = QRY__DEC_NAN;
        return;
    }
    if (a.cls == QRY__DEC_INF) {
        r->cls = QRY__DEC_INF;
        return;
    }
    if (b.cls == QRY__DEC_INF) {
        r->exp = 0;
        return;
    }
    trim(&a);
    trim(&b);
    int32_t ideal = a.exp - b.exp;
    if (a.n == 0) {
        r->exp = ideal;
        return;
    }
    /* scale a so the quotient has PRECISION + 1 digits at least */
    int k = PRECISION + 1 + b.n - a.n;
    if (k < 0)
        k = 0;
    shift_up(&a, k);
    /* long division: quotient digits from the top */
    qry__dec_t q;
    memset(&q, 0, sizeof(q));
    int qn = a.n - b.n + 1;
    if (qn < 1)
        qn = 1;
    for (int pos = qn - 1; pos >= 0; pos--) {
        int digit = 0;
        while (sub_shifted(&a, &b, pos))
            digit++;
        q.d[pos] = (uint8_t)digit;
    }
    q.n = (uint16_t)qn;
    trim(&q);
    q.exp = a.exp - b.exp; /* a.exp already lowered by k */
    bool inexact = round_digits(&q, PRECISION, a.n != 0);
    if (!inexact) {
        /* exact: strip trailing zeros back toward the ideal exponent */
        while (q.exp < ideal && q.n > 0 && q.d[0] == 0) {
            memmove(q.d, q.d + 1, (size_t)(q.n - 1));
            q.n--;
            q.exp++;
        }
    }
    q.neg = r->neg;
    *r = q;
}

/* qry__dec_mod -- the remainder of a / b truncated (sign of a); false if b is zero. */
bool qry__dec_mod(const qry__dec_t *ain, const qry__dec_t *bin, qry__dec_t *r)
{
    qry__dec_t a = *ain, b = *bin;
    memset(r, 0, sizeof(*r));
    r->neg = a.neg;
    if (a.cls == QRY__DEC_NAN || b.cls == QRY__DEC_NAN || a.cls == QRY__DEC_INF) {
        r->cls = QRY__DEC_NAN;
        return true;
    }
    if (b.cls == QRY__DEC_INF) {
        *r = a;
        return true;
    }
    trim(&a);
    trim(&b);
    if (b.n == 0)
        return false;
    int32_t e = a.exp < b.exp ? a.exp : b.exp;
    int ka = a.exp - e, kb = b.exp - e;
    if (a.n + ka > QRY__DEC_MAX_DIGITS - 2 || b.n + kb > QRY__DEC_MAX_DIGITS - 2) {
        /* |b| is far above |a| (a is the remainder) or far below (rounding noise) */
        if (kb > ka) {
            *r = a;
            return true;
        }
        r->exp = e;
        return true;
    }
    shift_up(&a, ka);
    shift_up(&b, kb);
    for (int pos = a.n - b.n; pos >= 0; pos--)
        while (sub_shifted(&a, &b, pos))
            ;
    a.neg = ain->neg;
    *r = a;
    r->exp = e;
    round_digits(r, PRECISION, false);
    return true;
}

/*
 * qry__dec_quantize -- round to the exponent -place with mode (QRY__DEC_ROUND_*).
 * A value with fewer fractional digits than place is padded with zeros up to
 * 34 digits when pad is set ($round/$trunc), as MongoDB's quantize does.
 */
void qry__dec_quantize(qry__dec_t *d, int64_t place, int mode, bool pad)
{
    if (d->cls != 0)
        return;
    trim(d);
    int64_t target = -place;
    if (d->exp >= target) {
        if (pad && d->exp > target) {
            int64_t want = d->exp - target;
            int room = PRECISION - (d->n ? d->n : 1);
            if (want > room)
                want = room;
            if (want > 0)
                shift_up(d, (int)want);
        }
        return;
    }
    int64_t drop = target - d->exp;
    bool any = false;
    int first = 0;
    if (drop > d->n) {
        for (int i = 0; i < d->n; i++)
            any |= d->d[i] != 0;
        d->n = 0;
    } else {
        first = d->d[drop - 1];
        for (int64_t i = 0; i < drop - 1; i++)
            any |= d->d[i] != 0;
        memmove(d->d, d->d + drop, (size_t)(d->n - drop));
        d->n = (uint16_t)(d->n - drop);
    }
    d->exp = (int32_t)target;
    bool lost = first != 0 || any;
    bool up = false;
    switch (mode) {
    case QRY__DEC_ROUND_HALF_EVEN:
        up = first > 5 || (first == 5 && (any || (d->n > 0 && (d->d[0] & 1))));
        break;
    case QRY__DEC_ROUND_TRUNC:
        up = false;
        break;
    case QRY__DEC_ROUND_CEIL:
        up = lost && !d->neg;
        break;
    case QRY__DEC_ROUND_FLOOR:
        up = lost && d->neg;
        break;
    }
    if (up) {
        int i = 0;
        while (i < d->n && d->d[i] == 9)
            d->d[i++] = 0;
        if (i == d->n)
            d->d[d->n++] = 1;
        else
            d->d[i]++;
    }
    trim(d);
    round_digits(d, PRECISION, false);
}

/* qry__dec_to_double -- nearest double. */
double qry__dec_to_double(const qry__dec_t *d)
{
    if (d->cls == QRY__DEC_NAN)
        return NAN;
    if (d->cls == QRY__DEC_INF)
        return d->neg ? -INFINITY : INFINITY;
    char buf[QRY__DEC_MAX_DIGITS + 32];
    size_t k = 0;
    if (d->neg)
        buf[k++] = '-';
    if (d->n == 0)
        buf[k++] = '0';
    for (int i = d->n - 1; i >= 0; i--)
        buf[k++] = (char)('0' + d->d[i]);
    snprintf(buf + k, sizeof(buf) - k, "e%d", (int)d->exp);
    return strtod(buf, NULL);
}

/* qry__dec_is_zero -- a finite zero. */
bool qry__dec_is_zero(const qry__dec_t *d)
{
    for (int i = 0; i < d->n; i++)
        if (d->d[i] != 0)
            return false;
    return d->cls == 0;
}
