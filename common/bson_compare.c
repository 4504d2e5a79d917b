/*
 * bson_compare.c -- MongoDB's canonical BSON order: type ranks, value
 * comparison (numbers by exact value across int32/int64/double/decimal128,
 * strings by bytes, documents field by field, ...), $eq equality, and the
 * exact canonical form of numbers that hashing and KeyString build on.
 *
 * Numbers: same-kind pairs and integer/double pairs take fast exact paths;
 * anything involving a decimal128 goes through bsonu_num_t, the value's exact
 * decimal digits, which is slower but exact for every pair (a double's exact
 * expansion is computed with a small base-10^9 big integer).
 */
#include "common/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Recursion guard. Stored documents nest at most 100 levels (enforced on
 * input); a deeper value can only be corrupt, and compares as equal past
 * this depth rather than overflowing the stack.
 */
#define BSONU_CMP_MAX_DEPTH 256

/* bsonu_canonical_type -- the canonical rank of a BSON type. */
int bsonu_canonical_type(bson_type_t type)
{
    switch (type) {
    case BSON_TYPE_MINKEY:
        return BSONU_CANON_MINKEY;
    case BSON_TYPE_MAXKEY:
        return BSONU_CANON_MAXKEY;
    case BSON_TYPE_EOD:
    case BSON_TYPE_UNDEFINED:
        return BSONU_CANON_UNDEFINED;
    case BSON_TYPE_NULL:
        return BSONU_CANON_NULL;
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DECIMAL128:
        return BSONU_CANON_NUMBER;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        return BSONU_CANON_STRING;
    case BSON_TYPE_DOCUMENT:
        return BSONU_CANON_OBJECT;
    case BSON_TYPE_ARRAY:
        return BSONU_CANON_ARRAY;
    case BSON_TYPE_BINARY:
        return BSONU_CANON_BINARY;
    case BSON_TYPE_OID:
        return BSONU_CANON_OID;
    case BSON_TYPE_BOOL:
        return BSONU_CANON_BOOL;
    case BSON_TYPE_DATE_TIME:
        return BSONU_CANON_DATE;
    case BSON_TYPE_TIMESTAMP:
        return BSONU_CANON_TIMESTAMP;
    case BSON_TYPE_REGEX:
        return BSONU_CANON_REGEX;
    case BSON_TYPE_DBPOINTER:
        return BSONU_CANON_DBPOINTER;
    case BSON_TYPE_CODE:
        return BSONU_CANON_CODE;
    case BSON_TYPE_CODEWSCOPE:
        return BSONU_CANON_CODEWSCOPE;
    }
    /* Unknown type bytes cannot come out of a validated document. */
    return BSONU_CANON_MAXKEY;
}

/* bsonu_is_number -- int32, int64, double or decimal128. */
bool bsonu_is_number(bson_type_t type)
{
    return type == BSON_TYPE_INT32 || type == BSON_TYPE_INT64 || type == BSON_TYPE_DOUBLE ||
           type == BSON_TYPE_DECIMAL128;
}

/* ------------------------------------------------------------------------ */
/* Exact numbers                                                             */
/* ------------------------------------------------------------------------ */

/* bsonu_dec128_decode -- split a decimal128 into sign, exponent and coefficient. */
void bsonu_dec128_decode(const bson_decimal128_t *d, bsonu_dec128_parts_t *out)
{
    /* 10^34 - 1: the largest canonical coefficient. */
    const unsigned __int128 max_coef =
        (((unsigned __int128)0x1ed09bead87c0ULL) << 64) | 0x378d8e63ffffffffULL;
    uint64_t hi = d->high, lo = d->low;

    memset(out, 0, sizeof(*out));
    out->negative = (hi >> 63) != 0;
    if (((hi >> 61) & 3) == 3) {
        /* Combination field 11xxx: Inf, NaN, or the large-coefficient form. */
        if (((hi >> 58) & 0x1f) == 0x1f) {
            out->is_nan = true;
            return;
        }
        if (((hi >> 58) & 0x1f) == 0x1e) {
            out->is_inf = true;
            return;
        }
        /* Implied 100 prefix makes the coefficient >= 2^113 > 10^34: non-canonical, zero. */
        out->exponent = (int32_t)((hi >> 47) & 0x3fff) - 6176;
        out->coefficient = 0;
        return;
    }
    out->exponent = (int32_t)((hi >> 49) & 0x3fff) - 6176;
    out->coefficient = (((unsigned __int128)(hi & 0x1ffffffffffffULL)) << 64) | lo;
    if (out->coefficient > max_coef)
        out->coefficient = 0;
}

/* num_set_u64 -- canonical form of +/- mag (mag > 0). */
static void num_set_u64(bsonu_num_t *out, bool negative, uint64_t mag)
{
    uint8_t tmp[24];
    int n = 0;

    while (mag > 0) {
        tmp[n++] = (uint8_t)(mag % 10);
        mag /= 10;
    }
    out->cls = negative ? BSONU_NUM_NEG : BSONU_NUM_POS;
    out->exp = n;
    out->ndigits = 0;
    for (int i = n - 1; i >= 0; i--)
        out->digits[out->ndigits++] = tmp[i];
    while (out->ndigits > 0 && out->digits[out->ndigits - 1] == 0)
        out->ndigits--;
}

/*
 * Big integers for exact double expansion: base 10^9 limbs, least
 * significant first. 5^1074 * 2^53 (the longest expansion, 767 digits) needs
 * 86 limbs.
 */
#define BIG_LIMBS 96
#define BIG_BASE  1000000000u

typedef struct big {
    uint32_t limb[BIG_LIMBS];
    int n;
} big_t;

/* big_mul -- b *= f (f < 2^32). */
static void big_mul(big_t *b, uint32_t f)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t x = (uint64_t)b->limb[i] * f + carry;
        b->limb[i] = (uint32_t)(x % BIG_BASE);
        carry = x / BIG_BASE;
    }
    while (carry > 0) {
        INVARIANT(b->n < BIG_LIMBS);
        b->limb[b->n++] = (uint32_t)(carry % BIG_BASE);
        carry /= BIG_BASE;
    }
}

/*
 * num_from_finite_double -- exact digits of a finite non-zero double. d is
 * m * 2^e with m < 2^53: for e >= 0 the digits are those of m * 2^e; for
 * e < 0, d = m * 5^-e / 10^-e, so the digits are those of m * 5^-e.
 */
static void num_from_finite_double(double d, bsonu_num_t *out)
{
    uint64_t bits, m;
    int e, bexp, k = 0;
    big_t b;

    memcpy(&bits, &d, 8);
    bexp = (int)((bits >> 52) & 0x7ff);
    m = bits & ((1ULL << 52) - 1);
    if (bexp == 0) {
        e = -1074; /* subnormal */
    } else {
        m |= 1ULL << 52;
        e = bexp - 1075;
    }
    while (e < 0 && (m & 1) == 0) {
        m >>= 1;
        e++;
    }
    b.n = 0;
    while (m > 0) {
        b.limb[b.n++] = (uint32_t)(m % BIG_BASE);
        m /= BIG_BASE;
    }
    if (e >= 0) {
        for (; e >= 30; e -= 30)
            big_mul(&b, 1u << 30);
        if (e > 0)
            big_mul(&b, 1u << e);
    } else {
        k = -e;
        for (e = k; e >= 13; e -= 13)
            big_mul(&b, 1220703125u); /* 5^13, the largest power of 5 below 2^31 */
        {
            uint32_t p = 1;
            for (; e > 0; e--)
                p *= 5;
            big_mul(&b, p);
        }
    }
    /* Limbs to digits, most significant first. */
    out->cls = signbit(d) ? BSONU_NUM_NEG : BSONU_NUM_POS;
    out->ndigits = 0;
    for (int i = b.n - 1; i >= 0; i--) {
        uint8_t tmp[9];
        uint32_t x = b.limb[i];
        int nd = 0;
        for (int j = 0; j < 9; j++) {
            tmp[nd++] = (uint8_t)(x % 10);
            x /= 10;
        }
        if (i == b.n - 1)
            while (nd > 1 && tmp[nd - 1] == 0)
                nd--;
        while (nd > 0)
            out->digits[out->ndigits++] = tmp[--nd];
    }
    out->exp = (int32_t)out->ndigits - k;
    while (out->ndigits > 0 && out->digits[out->ndigits - 1] == 0)
        out->ndigits--;
}

/* num_from_double -- exact canonical form of a double. */
static void num_from_double(double d, bsonu_num_t *out)
{
    if (isnan(d)) {
        out->cls = BSONU_NUM_NAN;
        return;
    }
    if (isinf(d)) {
        out->cls = d < 0 ? BSONU_NUM_NEG_INF : BSONU_NUM_POS_INF;
        return;
    }
    if (d == 0) {
        out->cls = BSONU_NUM_ZERO;
        return;
    }
    if (d == trunc(d) && fabs(d) < 9223372036854775808.0) {
        int64_t i = (int64_t)d;
        num_set_u64(out, i < 0, i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i);
        return;
    }
    num_from_finite_double(d, out);
}

/* num_from_decimal -- exact canonical form of a decimal128. */
static void num_from_decimal(const bson_decimal128_t *d, bsonu_num_t *out)
{
    bsonu_dec128_parts_t parts;
    uint8_t tmp[40];
    int n = 0;
    unsigned __int128 c;

    bsonu_dec128_decode(d, &parts);
    if (parts.is_nan) {
        out->cls = BSONU_NUM_NAN;
        return;
    }
    if (parts.is_inf) {
        out->cls = parts.negative ? BSONU_NUM_NEG_INF : BSONU_NUM_POS_INF;
        return;
    }
    if (parts.coefficient == 0) {
        out->cls = BSONU_NUM_ZERO;
        return;
    }
    for (c = parts.coefficient; c > 0; c /= 10)
        tmp[n++] = (uint8_t)(c % 10);
    out->cls = parts.negative ? BSONU_NUM_NEG : BSONU_NUM_POS;
    out->exp = parts.exponent + n;
    out->ndigits = 0;
    for (int i = n - 1; i >= 0; i--)
        out->digits[out->ndigits++] = tmp[i];
    while (out->ndigits > 0 && out->digits[out->ndigits - 1] == 0)
        out->ndigits--;
}

/* bsonu_num_from_value -- canonical form of a number; BadValue if v is not a number. */
int bsonu_num_from_value(const bson_value_t *v, bsonu_num_t *out, status_t *st)
{
    out->cls = BSONU_NUM_ZERO;
    out->exp = 0;
    out->ndigits = 0;
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        if (v->value.v_int32 != 0)
            num_set_u64(out, v->value.v_int32 < 0,
                        v->value.v_int32 < 0 ? (uint64_t)0 - (uint64_t)(int64_t)v->value.v_int32
                                             : (uint64_t)v->value.v_int32);
        return 0;
    case BSON_TYPE_INT64:
        if (v->value.v_int64 != 0)
            num_set_u64(out, v->value.v_int64 < 0,
                        v->value.v_int64 < 0 ? (uint64_t)0 - (uint64_t)v->value.v_int64
                                             : (uint64_t)v->value.v_int64);
        return 0;
    case BSON_TYPE_DOUBLE:
        num_from_double(v->value.v_double, out);
        return 0;
    case BSON_TYPE_DECIMAL128:
        num_from_decimal(&v->value.v_decimal128, out);
        return 0;
    default:
        return status_set(st, ERR_BadValue, "expected a number, got BSON type %d",
                          (int)v->value_type);
    }
}

/* num_magnitude_cmp -- compare |a| and |b| for finite non-zero forms. */
static int num_magnitude_cmp(const bsonu_num_t *a, const bsonu_num_t *b)
{
    uint16_t n = a->ndigits < b->ndigits ? a->ndigits : b->ndigits;
    int c;

    if (a->exp != b->exp)
        return a->exp < b->exp ? -1 : 1;
    c = memcmp(a->digits, b->digits, n);
    if (c != 0)
        return c < 0 ? -1 : 1;
    /* Canonical digits end in a non-zero digit: the longer one is larger. */
    return a->ndigits == b->ndigits ? 0 : (a->ndigits < b->ndigits ? -1 : 1);
}

/* bsonu_num_compare -- compare two canonical forms (NaN lowest, NaN == NaN). */
int bsonu_num_compare(const bsonu_num_t *a, const bsonu_num_t *b)
{
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    if (a->cls == BSONU_NUM_POS)
        return num_magnitude_cmp(a, b);
    if (a->cls == BSONU_NUM_NEG)
        return -num_magnitude_cmp(a, b);
    return 0;
}

/* bsonu_num_to_double -- nearest double (correctly rounded by strtod). */
double bsonu_num_to_double(const bsonu_num_t *n)
{
    char buf[BSONU_NUM_MAX_DIGITS + 32];
    size_t k = 0;

    switch (n->cls) {
    case BSONU_NUM_NAN:
        return NAN;
    case BSONU_NUM_NEG_INF:
        return -INFINITY;
    case BSONU_NUM_POS_INF:
        return INFINITY;
    case BSONU_NUM_ZERO:
        return 0.0;
    default:
        break;
    }
    if (n->cls == BSONU_NUM_NEG)
        buf[k++] = '-';
    buf[k++] = '0';
    buf[k++] = '.';
    for (uint16_t i = 0; i < n->ndigits; i++)
        buf[k++] = (char)('0' + n->digits[i]);
    snprintf(buf + k, sizeof(buf) - k, "e%d", (int)n->exp);
    return strtod(buf, NULL);
}

/* bsonu_number_as_double -- nearest double of any number value; false if not a number. */
bool bsonu_number_as_double(const bson_value_t *v, double *out)
{
    bsonu_num_t n;
    status_t st = STATUS_INIT;

    switch (v->value_type) {
    case BSON_TYPE_INT32:
        *out = (double)v->value.v_int32;
        return true;
    case BSON_TYPE_INT64:
        *out = (double)v->value.v_int64;
        return true;
    case BSON_TYPE_DOUBLE:
        *out = v->value.v_double;
        return true;
    case BSON_TYPE_DECIMAL128:
        if (bsonu_num_from_value(v, &n, &st) != 0)
            return false;
        *out = bsonu_num_to_double(&n);
        return true;
    default:
        return false;
    }
}

/* bsonu_number_as_int64 -- exact int64 of an integral number value in range; else false. */
bool bsonu_number_as_int64(const bson_value_t *v, int64_t *out)
{
    bsonu_num_t n;
    status_t st = STATUS_INIT;
    uint64_t mag = 0;

    switch (v->value_type) {
    case BSON_TYPE_INT32:
        *out = v->value.v_int32;
        return true;
    case BSON_TYPE_INT64:
        *out = v->value.v_int64;
        return true;
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
        if (bsonu_num_from_value(v, &n, &st) != 0)
            return false;
        if (n.cls == BSONU_NUM_ZERO) {
            *out = 0;
            return true;
        }
        if ((n.cls != BSONU_NUM_POS && n.cls != BSONU_NUM_NEG) || n.exp < n.ndigits || n.exp > 19)
            return false;
        for (int32_t i = 0; i < n.exp; i++) {
            unsigned d = i < n.ndigits ? n.digits[i] : 0;
            if (mag > (UINT64_MAX - d) / 10)
                return false;
            mag = mag * 10 + d;
        }
        if (n.cls == BSONU_NUM_POS) {
            if (mag > (uint64_t)INT64_MAX)
                return false;
            *out = (int64_t)mag;
        } else {
            if (mag > (uint64_t)INT64_MAX + 1)
                return false;
            *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        }
        return true;
    default:
        return false;
    }
}

/* cmp_long_double -- exact int64 vs double (MongoDB's compareLongToDouble). */
static int cmp_long_double(int64_t l, double d)
{
    double t;
    int64_t ti;

    if (isnan(d))
        return 1;
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    t = trunc(d);
    ti = (int64_t)t;
    if (l != ti)
        return l < ti ? -1 : 1;
    if (d > t)
        return -1;
    if (d < t)
        return 1;
    return 0;
}

/* cmp_numbers -- exact comparison of two number values. */
static int cmp_numbers(const bson_value_t *a, const bson_value_t *b)
{
    bson_type_t ta = a->value_type, tb = b->value_type;
    bool ia = ta == BSON_TYPE_INT32 || ta == BSON_TYPE_INT64;
    bool ib = tb == BSON_TYPE_INT32 || tb == BSON_TYPE_INT64;
    bsonu_num_t na, nb;
    status_t st = STATUS_INIT;

    if (ia && ib) {
        int64_t x = ta == BSON_TYPE_INT32 ? a->value.v_int32 : a->value.v_int64;
        int64_t y = tb == BSON_TYPE_INT32 ? b->value.v_int32 : b->value.v_int64;
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (ta == BSON_TYPE_DOUBLE && tb == BSON_TYPE_DOUBLE) {
        double x = a->value.v_double, y = b->value.v_double;
        if (isnan(x) || isnan(y))
            return isnan(x) ? (isnan(y) ? 0 : -1) : 1;
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (ia && tb == BSON_TYPE_DOUBLE)
        return cmp_long_double(ta == BSON_TYPE_INT32 ? a->value.v_int32 : a->value.v_int64,
                               b->value.v_double);
    if (ta == BSON_TYPE_DOUBLE && ib)
        return -cmp_long_double(tb == BSON_TYPE_INT32 ? b->value.v_int32 : b->value.v_int64,
                                a->value.v_double);
    bsonu_num_from_value(a, &na, &st);
    bsonu_num_from_value(b, &nb, &st);
    return bsonu_num_compare(&na, &nb);
}

/* ------------------------------------------------------------------------ */
/* Values, elements, documents                                               */
/* ------------------------------------------------------------------------ */

static int cmp_value_depth(const bson_value_t *a, const bson_value_t *b, int depth);

/* cmp_bytes -- memcmp over the common prefix, then the shorter first. */
static int cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

/* cmp_doc_bytes -- compare two embedded documents (with_names) or arrays (values only). */
static int cmp_doc_bytes(const uint8_t *ad, uint32_t alen, const uint8_t *bd, uint32_t blen,
                         bool with_names, int depth)
{
    bson_iter_t ia, ib;
    bool ha, hb;

    if (depth > BSONU_CMP_MAX_DEPTH)
        return 0;
    /* A malformed document iterates as empty. */
    ha = bson_iter_init_from_data(&ia, ad, alen);
    hb = bson_iter_init_from_data(&ib, bd, blen);
    for (;;) {
        bool na = ha && bson_iter_next(&ia);
        bool nb = hb && bson_iter_next(&ib);
        int c;
        if (!na || !nb)
            return na == nb ? 0 : (na ? 1 : -1);
        c = bsonu_canonical_type(bson_iter_type(&ia)) - bsonu_canonical_type(bson_iter_type(&ib));
        if (c != 0)
            return c < 0 ? -1 : 1;
        if (with_names) {
            c = strcmp(bson_iter_key(&ia), bson_iter_key(&ib));
            if (c != 0)
                return c < 0 ? -1 : 1;
        }
        c = cmp_value_depth(bson_iter_value(&ia), bson_iter_value(&ib), depth + 1);
        if (c != 0)
            return c;
    }
}

/* cmp_value_depth -- bsonu_compare_value with a recursion counter. */
static int cmp_value_depth(const bson_value_t *a, const bson_value_t *b, int depth)
{
    int ra = bsonu_canonical_type(a->value_type), rb = bsonu_canonical_type(b->value_type);
    int c;

    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (ra) {
    case BSONU_CANON_MINKEY:
    case BSONU_CANON_MAXKEY:
    case BSONU_CANON_UNDEFINED:
    case BSONU_CANON_NULL:
        return 0;
    case BSONU_CANON_NUMBER:
        return cmp_numbers(a, b);
    case BSONU_CANON_STRING: {
        const char *sa =
            a->value_type == BSON_TYPE_UTF8 ? a->value.v_utf8.str : a->value.v_symbol.symbol;
        uint32_t la = a->value_type == BSON_TYPE_UTF8 ? a->value.v_utf8.len : a->value.v_symbol.len;
        const char *sb =
            b->value_type == BSON_TYPE_UTF8 ? b->value.v_utf8.str : b->value.v_symbol.symbol;
        uint32_t lb = b->value_type == BSON_TYPE_UTF8 ? b->value.v_utf8.len : b->value.v_symbol.len;
        return cmp_bytes(sa, la, sb, lb);
    }
    case BSONU_CANON_OBJECT:
        return cmp_doc_bytes(a->value.v_doc.data, a->value.v_doc.data_len, b->value.v_doc.data,
                             b->value.v_doc.data_len, true, depth);
    case BSONU_CANON_ARRAY:
        return cmp_doc_bytes(a->value.v_doc.data, a->value.v_doc.data_len, b->value.v_doc.data,
                             b->value.v_doc.data_len, false, depth);
    case BSONU_CANON_BINARY:
        /* MongoDB: length first, then subtype, then the bytes. */
        if (a->value.v_binary.data_len != b->value.v_binary.data_len)
            return a->value.v_binary.data_len < b->value.v_binary.data_len ? -1 : 1;
        if (a->value.v_binary.subtype != b->value.v_binary.subtype)
            return a->value.v_binary.subtype < b->value.v_binary.subtype ? -1 : 1;
        return cmp_bytes(a->value.v_binary.data, a->value.v_binary.data_len, b->value.v_binary.data,
                         b->value.v_binary.data_len);
    case BSONU_CANON_OID:
        return cmp_bytes(a->value.v_oid.bytes, 12, b->value.v_oid.bytes, 12);
    case BSONU_CANON_BOOL:
        return (int)a->value.v_bool - (int)b->value.v_bool;
    case BSONU_CANON_DATE:
        return a->value.v_datetime < b->value.v_datetime
                   ? -1
                   : (a->value.v_datetime > b->value.v_datetime ? 1 : 0);
    case BSONU_CANON_TIMESTAMP: {
        uint64_t x =
            ((uint64_t)a->value.v_timestamp.timestamp << 32) | a->value.v_timestamp.increment;
        uint64_t y =
            ((uint64_t)b->value.v_timestamp.timestamp << 32) | b->value.v_timestamp.increment;
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    case BSONU_CANON_REGEX:
        c = strcmp(a->value.v_regex.regex, b->value.v_regex.regex);
        if (c == 0)
            c = strcmp(a->value.v_regex.options, b->value.v_regex.options);
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    case BSONU_CANON_DBPOINTER:
        /* MongoDB: value size first (the name's length), then the bytes. */
        if (a->value.v_dbpointer.collection_len != b->value.v_dbpointer.collection_len)
            return a->value.v_dbpointer.collection_len < b->value.v_dbpointer.collection_len ? -1
                                                                                             : 1;
        c = memcmp(a->value.v_dbpointer.collection, b->value.v_dbpointer.collection,
                   a->value.v_dbpointer.collection_len);
        if (c == 0)
            c = memcmp(a->value.v_dbpointer.oid.bytes, b->value.v_dbpointer.oid.bytes, 12);
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    case BSONU_CANON_CODE:
        return cmp_bytes(a->value.v_code.code, a->value.v_code.code_len, b->value.v_code.code,
                         b->value.v_code.code_len);
    case BSONU_CANON_CODEWSCOPE:
        c = cmp_bytes(a->value.v_codewscope.code, a->value.v_codewscope.code_len,
                      b->value.v_codewscope.code, b->value.v_codewscope.code_len);
        if (c != 0)
            return c;
        return cmp_doc_bytes(a->value.v_codewscope.scope_data, a->value.v_codewscope.scope_len,
                             b->value.v_codewscope.scope_data, b->value.v_codewscope.scope_len,
                             true, depth);
    }
    return 0;
}

/* bsonu_compare_value -- compare two values (type rank, then value). */
int bsonu_compare_value(const bson_value_t *a, const bson_value_t *b)
{
    return cmp_value_depth(a, b, 0);
}

/* bsonu_compare_iter -- compare the values at two iterators (names ignored). */
int bsonu_compare_iter(const bson_iter_t *a, const bson_iter_t *b)
{
    return cmp_value_depth(bson_iter_value((bson_iter_t *)a), bson_iter_value((bson_iter_t *)b), 0);
}

/* bsonu_compare_element -- compare elements: type rank, then field name, then value. */
int bsonu_compare_element(const bson_iter_t *a, const bson_iter_t *b)
{
    int c = bsonu_canonical_type(bson_iter_type(a)) - bsonu_canonical_type(bson_iter_type(b));
    if (c != 0)
        return c < 0 ? -1 : 1;
    c = strcmp(bson_iter_key(a), bson_iter_key(b));
    if (c != 0)
        return c < 0 ? -1 : 1;
    return bsonu_compare_iter(a, b);
}

/* bsonu_compare_doc -- whole-document compare (BSONObj::woCompare with field names). */
int bsonu_compare_doc(const bson_t *a, const bson_t *b)
{
    return cmp_doc_bytes(bson_get_data(a), a->len, bson_get_data(b), b->len, true, 0);
}

/* bsonu_equal_value -- equality as $eq sees it. */
bool bsonu_equal_value(const bson_value_t *a, const bson_value_t *b)
{
    return bsonu_compare_value(a, b) == 0;
}

/* bsonu_equal_iter -- bsonu_equal_value on the values at two iterators. */
bool bsonu_equal_iter(const bson_iter_t *a, const bson_iter_t *b)
{
    return bsonu_compare_iter(a, b) == 0;
}
