/*
 * expr_type.c -- type operators ($type $isNumber $convert and its shorthands
 * $toBool $toInt $toLong $toDouble $toDecimal $toString $toObjectId $toDate),
 * object operators ($mergeObjects $getField $setField $unsetField) and $rand.
 *
 * $convert follows MongoDB's conversion table: a conversion the table lacks
 * is ConversionFailure (241) "Unsupported conversion from <type> to <type>
 * in $convert with no onError value"; a string that does not parse is also
 * ConversionFailure. onError replaces either failure, onNull a null/missing
 * input. Conversions to and from decimal go through decimal strings, which
 * is exact for integers and uses the shortest round-trip form for doubles.
 */
#include "query/expr_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int eval_type(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    const char *name = qry__expr_type_name(&v);
    qry__expr_str(cx, name, strlen(name), out);
    return 0;
}

static int eval_is_number(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                          status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    qry__expr_set_bool(out, bsonu_is_number(v.value_type));
    return 0;
}

/* ---- conversions ------------------------------------------------------------------ */

/* Shortest decimal text that reads back as d (what the shell prints). */
static void format_double(double d, char *buf, size_t len)
{
    if (isnan(d)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, len, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* ISO-8601 text of a date, as $toString prints it: 2018-03-27T16:58:51.538Z. */
static void format_date(int64_t ms, char *buf, size_t len)
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d,
             (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60),
             (unsigned)(rem % 1000));
}

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Parse "YYYY-MM-DD[( |T)HH:MM[:SS[.mmm]]][Z|(+|-)HH[:]MM]" into ms since the epoch. */
static bool parse_iso_date(const char *s, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    const char *p = s;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    int64_t tz = 0;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            return false;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &sec))
                return false;
            if (*p == '.') {
                p++;
                int n = 0, frac = 0;
                while (*p >= '0' && *p <= '9') {
                    if (n < 3)
                        frac = frac * 10 + (*p - '0');
                    n++;
                    p++;
                }
                if (n == 0)
                    return false;
                for (; n < 3; n++)
                    frac *= 10;
                ms = frac;
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, th, tm = 0;
            if (!digits(&p, 2, &th))
                return false;
            if (*p == ':')
                p++;
            if (*p != '\0' && !digits(&p, 2, &tm))
                return false;
            tz = sign * ((int64_t)th * 60 + tm) * 60000;
        }
    }
    if (*p != '\0' || h > 23 || mi > 59 || sec > 59)
        return false;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000 + (int64_t)h * 3600000 +
           (int64_t)mi * 60000 + (int64_t)sec * 1000 + ms - tz;
    return true;
}

/* Standard base64 (with padding) of n bytes, as a string result. */
static void base64(qry_expr_ctx_t *cx, const uint8_t *p, uint32_t n, bson_value_t *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = ((size_t)n + 2) / 3 * 4;
    char *s = qry__expr_alloc(cx, len + 1);
    size_t k = 0;
    for (uint32_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        s[k++] = tab[(v >> 18) & 63];
        s[k++] = tab[(v >> 12) & 63];
        s[k++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        s[k++] = i + 2 < n ? tab[v & 63] : '=';
    }
    s[k] = '\0';
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_UTF8;
    out->value.v_utf8.str = s;
    out->value.v_utf8.len = (uint32_t)k;
}

/* Target type codes of $convert. */
typedef enum target {
    T_DOUBLE = 1,
    T_STRING = 2,
    T_OID = 7,
    T_BOOL = 8,
    T_DATE = 9,
    T_INT = 16,
    T_LONG = 18,
    T_DECIMAL = 19,
} target_t;

/*
 * Every BSON type name $convert's 'to' accepts, with its type code. Only the
 * T_ targets above convert; the others are known names whose conversion is
 * unsupported, so they fail with ConversionFailure (which onError catches),
 * while an unknown name is BadValue (which it does not).
 */
static const struct type_alias {
    const char *name;
    int code;
} type_aliases[] = {
    {"double", 1},      {"string", 2},     {"object", 3},
    {"array", 4},       {"binData", 5},    {"undefined", 6},
    {"objectId", 7},    {"bool", 8},       {"date", 9},
    {"null", 10},       {"regex", 11},     {"dbPointer", 12},
    {"javascript", 13}, {"symbol", 14},    {"javascriptWithScope", 15},
    {"int", 16},        {"timestamp", 17}, {"long", 18},
    {"decimal", 19},    {"minKey", -1},    {"maxKey", 127},
    {"missing", 0},
};

#define NALIASES (sizeof(type_aliases) / sizeof(type_aliases[0]))

static int target_from_value(const bson_value_t *to, target_t *t, status_t *st)
{
    if (to->value_type == BSON_TYPE_UTF8) {
        for (size_t i = 0; i < NALIASES; i++) {
            if (strcmp(type_aliases[i].name, to->value.v_utf8.str) == 0) {
                *t = (target_t)type_aliases[i].code;
                return 0;
            }
        }
        return status_set(st, ERR_BadValue, "Unknown type name: %s", to->value.v_utf8.str);
    }
    int64_t code;
    if (bsonu_is_number(to->value_type)) {
        if (!bsonu_number_as_int64(to, &code))
            return status_set(st, ERR_FailedToParse,
                              "In $convert, numeric 'to' argument is not an integer");
        for (size_t i = 0; i < NALIASES; i++) {
            if (type_aliases[i].code == code && code != 0) {
                *t = (target_t)code;
                return 0;
            }
        }
        return status_set(st, ERR_FailedToParse,
                          "In $convert, numeric value for 'to' does not correspond to a BSON type: "
                          "%lld",
                          (long long)code);
    }
    return status_set(st, ERR_FailedToParse,
                      "$convert's 'to' argument must be a string or number, but is %s",
                      qry__expr_type_name(to));
}

static const char *target_name(target_t t)
{
    for (size_t i = 0; i < NALIASES; i++)
        if (type_aliases[i].code == (int)t)
            return type_aliases[i].name;
    return "?";
}

static int unsupported(const bson_value_t *in, target_t t, status_t *st)
{
    return status_set(st, ERR_ConversionFailure,
                      "Unsupported conversion from %s to %s in $convert with no onError value",
                      qry__expr_type_name(in), target_name(t));
}

/* A double that must fit an integer type after truncation. */
static int double_to_integer(double d, target_t t, int64_t *out, status_t *st)
{
    double lo = t == T_INT ? -2147483648.0 : -9223372036854775808.0;
    double hi = t == T_INT ? 2147483648.0 : 9223372036854775808.0;
    if (isnan(d) || isinf(d))
        return status_set(st, ERR_ConversionFailure,
                          "Attempt to convert %s value to integer type in $convert with no onError "
                          "value",
                          isnan(d) ? "NaN" : "infinity");
    double tr = trunc(d);
    if (!(tr >= lo && tr < hi)) {
        char buf[64];
        format_double(d, buf, sizeof(buf));
        return status_set(
            st, ERR_ConversionFailure,
            "Conversion would overflow target type in $convert with no onError value: "
            "%s",
            buf);
    }
    *out = (int64_t)tr;
    return 0;
}

static int parse_integer_string(const char *s, target_t t, int64_t *out, status_t *st)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
        return status_set(st, ERR_ConversionFailure,
                          "Failed to parse number '%s' in $convert with no onError value: Did not "
                          "consume whole string.",
                          s);
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || (t == T_INT && (v < INT32_MIN || v > INT32_MAX)))
        return status_set(st, ERR_ConversionFailure,
                          "Failed to parse number '%s' in $convert with no onError value: Overflow",
                          s);
    *out = v;
    return 0;
}

/* Convert in (not null/missing) to t into *out. */
static int convert(qry_expr_ctx_t *cx, const bson_value_t *in, target_t t, bson_value_t *out,
                   status_t *st)
{
    double d;
    int64_t l;
    char buf[128];
    bson_type_t ty = in->value_type;
    memset(out, 0, sizeof(*out));
    switch (t) {
    case T_BOOL:
        switch (ty) {
        case BSON_TYPE_BOOL:
        case BSON_TYPE_INT32:
        case BSON_TYPE_INT64:
        case BSON_TYPE_DOUBLE:
        case BSON_TYPE_DECIMAL128:
            qry__expr_set_bool(out, qry_expr_truthy(in));
            return 0;
        case BSON_TYPE_UTF8:
        case BSON_TYPE_OID:
        case BSON_TYPE_DATE_TIME:
        case BSON_TYPE_DOCUMENT:
        case BSON_TYPE_ARRAY:
        case BSON_TYPE_BINARY:
        case BSON_TYPE_REGEX:
        case BSON_TYPE_TIMESTAMP:
        case BSON_TYPE_MINKEY:
        case BSON_TYPE_MAXKEY:
        case BSON_TYPE_CODE:
        case BSON_TYPE_CODEWSCOPE:
        case BSON_TYPE_SYMBOL:
        case BSON_TYPE_DBPOINTER:
            qry__expr_set_bool(out, true);
            return 0;
        default:
            return unsupported(in, t, st);
        }
    case T_INT:
    case T_LONG:
        switch (ty) {
        case BSON_TYPE_BOOL:
            l = in->value.v_bool;
            break;
        case BSON_TYPE_INT32:
            l = in->value.v_int32;
            break;
        case BSON_TYPE_INT64:
            l = in->value.v_int64;
            if (t == T_INT && (l < INT32_MIN || l > INT32_MAX))
                return status_set(st, ERR_ConversionFailure,
                                  "Conversion would overflow target type in $convert with no "
                                  "onError value: %lld",
                                  (long long)l);
            break;
        case BSON_TYPE_DOUBLE:
        case BSON_TYPE_DECIMAL128:
            bsonu_number_as_double(in, &d);
            ST_RET(double_to_integer(d, t, &l, st));
            break;
        case BSON_TYPE_DATE_TIME:
            if (t == T_INT)
                return unsupported(in, t, st);
            l = in->value.v_datetime;
            break;
        case BSON_TYPE_UTF8:
            ST_RET(parse_integer_string(in->value.v_utf8.str, t, &l, st));
            break;
        default:
            return unsupported(in, t, st);
        }
        if (t == T_INT)
            qry__expr_set_int(out, (int32_t)l);
        else
            qry__expr_set_long(out, l);
        return 0;
    case T_DOUBLE:
        switch (ty) {
        case BSON_TYPE_BOOL:
            qry__expr_set_double(out, in->value.v_bool ? 1 : 0);
            return 0;
        case BSON_TYPE_INT32:
        case BSON_TYPE_INT64:
        case BSON_TYPE_DOUBLE:
        case BSON_TYPE_DECIMAL128:
            bsonu_number_as_double(in, &d);
            qry__expr_set_double(out, d);
            return 0;
        case BSON_TYPE_DATE_TIME:
            qry__expr_set_double(out, (double)in->value.v_datetime);
            return 0;
        case BSON_TYPE_UTF8: {
            const char *s = in->value.v_utf8.str;
            char *end;
            errno = 0;
            d = strtod(s, &end);
            if (*s == '\0' || *end != '\0' || s[0] == ' ' || strchr(s, 'x') || strchr(s, 'X'))
                return status_set(st, ERR_ConversionFailure,
                                  "Failed to parse number '%s' in $convert with no onError value: "
                                  "Did not consume whole string.",
                                  s);
            qry__expr_set_double(out, d);
            return 0;
        }
        default:
            return unsupported(in, t, st);
        }
    case T_DECIMAL: {
        bson_decimal128_t dec;
        switch (ty) {
        case BSON_TYPE_BOOL:
            snprintf(buf, sizeof(buf), "%d", in->value.v_bool ? 1 : 0);
            break;
        case BSON_TYPE_INT32:
            snprintf(buf, sizeof(buf), "%d", in->value.v_int32);
            break;
        case BSON_TYPE_INT64:
            snprintf(buf, sizeof(buf), "%" PRId64, in->value.v_int64);
            break;
        case BSON_TYPE_DATE_TIME:
            snprintf(buf, sizeof(buf), "%" PRId64, in->value.v_datetime);
            break;
        case BSON_TYPE_DOUBLE: {
            /* 15 significant digits, zeros kept: MongoDB's Decimal128(double) */
            qry__dec_t dd;
            qry__dec_from_value(in, &dd);
            qry__dec_to_value(&dd, out);
            return 0;
        }
        case BSON_TYPE_DECIMAL128:
            *out = *in;
            return 0;
        case BSON_TYPE_UTF8:
            if (in->value.v_utf8.len >= sizeof(buf) ||
                !bson_decimal128_from_string(in->value.v_utf8.str, &dec))
                return status_set(st, ERR_ConversionFailure,
                                  "Failed to parse number '%.200s' in $convert with no onError "
                                  "value: Failed to parse string to decimal",
                                  in->value.v_utf8.str);
            out->value_type = BSON_TYPE_DECIMAL128;
            out->value.v_decimal128 = dec;
            return 0;
        default:
            return unsupported(in, t, st);
        }
        bson_decimal128_from_string(buf, &dec);
        out->value_type = BSON_TYPE_DECIMAL128;
        out->value.v_decimal128 = dec;
        return 0;
    }
    case T_STRING:
        switch (ty) {
        case BSON_TYPE_UTF8:
            *out = *in;
            return 0;
        case BSON_TYPE_BOOL:
            snprintf(buf, sizeof(buf), "%s", in->value.v_bool ? "true" : "false");
            break;
        case BSON_TYPE_INT32:
            snprintf(buf, sizeof(buf), "%d", in->value.v_int32);
            break;
        case BSON_TYPE_INT64:
            snprintf(buf, sizeof(buf), "%" PRId64, in->value.v_int64);
            break;
        case BSON_TYPE_DOUBLE:
            format_double(in->value.v_double, buf, sizeof(buf));
            break;
        case BSON_TYPE_DECIMAL128:
            bson_decimal128_to_string(&in->value.v_decimal128, buf);
            break;
        case BSON_TYPE_OID:
            bson_oid_to_string(&in->value.v_oid, buf);
            break;
        case BSON_TYPE_DATE_TIME:
            format_date(in->value.v_datetime, buf, sizeof(buf));
            break;
        case BSON_TYPE_BINARY:
            /* MongoDB 5.1+: the bytes in base64 */
            base64(cx, in->value.v_binary.data, in->value.v_binary.data_len, out);
            return 0;
        default:
            return unsupported(in, t, st);
        }
        qry__expr_str(cx, buf, strlen(buf), out);
        return 0;
    case T_OID:
        if (ty == BSON_TYPE_OID) {
            *out = *in;
            return 0;
        }
        if (ty != BSON_TYPE_UTF8)
            return unsupported(in, t, st);
        if (in->value.v_utf8.len != 24 || !bson_oid_is_valid(in->value.v_utf8.str, 24))
            return status_set(
                st, ERR_ConversionFailure,
                "Failed to parse objectId '%.200s' in $convert with no onError value: "
                "Invalid string length for parsing to OID, expected 24 but found %u",
                in->value.v_utf8.str, in->value.v_utf8.len);
        out->value_type = BSON_TYPE_OID;
        bson_oid_init_from_string(&out->value.v_oid, in->value.v_utf8.str);
        return 0;
    case T_DATE:
        out->value_type = BSON_TYPE_DATE_TIME;
        switch (ty) {
        case BSON_TYPE_DATE_TIME:
            *out = *in;
            return 0;
        case BSON_TYPE_INT64:
            out->value.v_datetime = in->value.v_int64;
            return 0;
        case BSON_TYPE_DOUBLE:
        case BSON_TYPE_DECIMAL128:
            bsonu_number_as_double(in, &d);
            ST_RET(double_to_integer(d, T_LONG, &l, st));
            out->value.v_datetime = l;
            return 0;
        case BSON_TYPE_OID:
            out->value.v_datetime = (int64_t)bson_oid_get_time_t(&in->value.v_oid) * 1000;
            return 0;
        case BSON_TYPE_TIMESTAMP:
            out->value.v_datetime = (int64_t)in->value.v_timestamp.timestamp * 1000;
            return 0;
        case BSON_TYPE_UTF8:
            if (!parse_iso_date(in->value.v_utf8.str, &l))
                return status_set(st, ERR_ConversionFailure,
                                  "Error parsing date string '%.200s' in $convert with no onError "
                                  "value",
                                  in->value.v_utf8.str);
            out->value.v_datetime = l;
            return 0;
        default:
            memset(out, 0, sizeof(*out));
            return unsupported(in, t, st);
        }
    }
    return unsupported(in, t, st);
}

/* qry__expr_coerce_string -- coerceToString. */
int qry__expr_coerce_string(qry_expr_ctx_t *cx, const bson_value_t *v, bson_value_t *out,
                            const char *op, status_t *st)
{
    char buf[64];
    switch (v->value_type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        qry__expr_str(cx, "", 0, out);
        return 0;
    case BSON_TYPE_SYMBOL:
        qry__expr_str(cx, v->value.v_symbol.symbol, v->value.v_symbol.len, out);
        return 0;
    case BSON_TYPE_CODE:
        qry__expr_str(cx, v->value.v_code.code, v->value.v_code.code_len, out);
        return 0;
    case BSON_TYPE_TIMESTAMP:
        snprintf(buf, sizeof(buf), "Timestamp(%u, %u)", v->value.v_timestamp.timestamp,
                 v->value.v_timestamp.increment);
        qry__expr_str(cx, buf, strlen(buf), out);
        return 0;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
    case BSON_TYPE_DATE_TIME:
        return convert(cx, v, T_STRING, out, st);
    default:
        return status_set(st, 16007, "%s: can't convert from BSON type %s to String", op,
                          qry__expr_type_name(v));
    }
}

/* $convert: args = input, to, onError, onNull. */
static int parse_convert(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                         status_t *st)
{
    static const char *const names[] = {"!input", "!to", "onError", "onNull"};
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, ERR_FailedToParse,
                          "$convert expects an object of named arguments but found: %s",
                          qry__expr_type_name(arg));
    int ret = qry__expr_parse_named(p, node, arg, names, 4, ERR_FailedToParse, ERR_FailedToParse,
                                    ERR_FailedToParse, st);
    if (ret == ERR_FailedToParse && strstr(st->msg, "requires '") != NULL) {
        /* MongoDB words a missing argument as "Missing 'x' parameter to $convert" */
        const char *q = strchr(st->msg, '\'');
        char name[16] = {0};
        if (q != NULL)
            sscanf(q + 1, "%15[^']", name);
        return status_set(st, ERR_FailedToParse, "Missing '%s' parameter to $convert", name);
    }
    return ret;
}

static int do_convert(qry_expr_ctx_t *cx, const qry_expr_t *input, const qry_expr_t *to_e,
                      target_t fixed, const qry_expr_t *on_error, const qry_expr_t *on_null,
                      bson_value_t *out, status_t *st)
{
    bson_value_t in, to;
    target_t t = fixed;
    ST_RET(qry__expr_eval(cx, input, &in, st));
    /* a nullish input answers onNull even when 'to' is null too (MongoDB's order) */
    if (qry__expr_is_nullish(&in)) {
        if (on_null != NULL)
            return qry__expr_eval(cx, on_null, out, st);
        qry__expr_set_null(out);
        return 0;
    }
    if (to_e != NULL) {
        ST_RET(qry__expr_eval(cx, to_e, &to, st));
        if (qry__expr_is_nullish(&to)) {
            qry__expr_set_null(out);
            return 0;
        }
        ST_RET(target_from_value(&to, &t, st));
    }
    int ret = convert(cx, &in, t, out, st);
    if (ret == ERR_ConversionFailure && on_error != NULL) {
        status_reset(st);
        return qry__expr_eval(cx, on_error, out, st);
    }
    return ret;
}

static int eval_convert(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    return do_convert(cx, node->args[0], node->args[1], T_DOUBLE, node->args[2], node->args[3], out,
                      st);
}

#define TO_OP(fn, target)                                                                          \
    static int fn(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)     \
    {                                                                                              \
        return do_convert(cx, node->args[0], NULL, target, NULL, NULL, out, st);                   \
    }
TO_OP(eval_to_bool, T_BOOL)
TO_OP(eval_to_int, T_INT)
TO_OP(eval_to_long, T_LONG)
TO_OP(eval_to_double, T_DOUBLE)
TO_OP(eval_to_decimal, T_DECIMAL)
TO_OP(eval_to_string, T_STRING)
TO_OP(eval_to_oid, T_OID)
TO_OP(eval_to_date, T_DATE)

/* ---- objects ----------------------------------------------------------------------- */

/* Ordered field list built while merging: later values replace earlier ones in place. */
typedef struct field_list {
    const char **keys;
    bson_value_t *vals;
    size_t n, cap;
} field_list_t;

static void fl_set(qry_expr_ctx_t *cx, field_list_t *fl, const char *key, const bson_value_t *v)
{
    for (size_t i = 0; i < fl->n; i++) {
        if (strcmp(fl->keys[i], key) == 0) {
            fl->vals[i] = *v;
            return;
        }
    }
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 16;
        const char **k = qry__expr_alloc(cx, cap * sizeof(*k));
        bson_value_t *vv = qry__expr_alloc(cx, cap * sizeof(*vv));
        if (fl->n) {
            memcpy(k, fl->keys, fl->n * sizeof(*k));
            memcpy(vv, fl->vals, fl->n * sizeof(*vv));
        }
        fl->keys = k;
        fl->vals = vv;
        fl->cap = cap;
    }
    fl->keys[fl->n] = key;
    fl->vals[fl->n++] = *v;
}

static void fl_finish(qry_expr_ctx_t *cx, field_list_t *fl, bson_value_t *out)
{
    bson_t b;
    bson_init(&b);
    for (size_t i = 0; i < fl->n; i++)
        qry_expr_append(&b, fl->keys[i], -1, &fl->vals[i]);
    qry__expr_doc_finish(cx, &b, false, out);
}

static void fl_add_doc(qry_expr_ctx_t *cx, field_list_t *fl, const bson_value_t *doc)
{
    bson_t view;
    bson_iter_t it;
    qry__expr_view(doc, &view);
    if (bson_iter_init(&it, &view))
        while (bson_iter_next(&it))
            fl_set(cx, fl, bson_iter_key(&it), bson_iter_value(&it));
}

static int eval_merge_objects(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                              status_t *st)
{
    field_list_t fl = {0};
    for (size_t i = 0; i < node->nargs; i++) {
        bson_value_t v;
        ST_RET(qry__expr_eval(cx, node->args[i], &v, st));
        if (qry__expr_is_nullish(&v))
            continue;
        if (v.value_type != BSON_TYPE_DOCUMENT)
            return status_set(st, 40400,
                              "$mergeObjects requires object inputs, but input %s is of type %s",
                              qry__expr_type_name(&v), qry__expr_type_name(&v));
        fl_add_doc(cx, &fl, &v);
    }
    fl_finish(cx, &fl, out);
    return 0;
}

/* $getField/$setField/$unsetField: args = field (a constant string), input, value. */
static int parse_field_op(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                          status_t *st, const char *const *names, size_t n, int code_base)
{
    bool shorthand = arg->value_type != BSON_TYPE_DOCUMENT;
    if (!shorthand) {
        /* {$getField: {$literal: "$x"}}: an operator document is the field, not named args */
        bson_t view;
        bson_iter_t it;
        qry__expr_view(arg, &view);
        shorthand =
            bson_iter_init(&it, &view) && bson_iter_next(&it) && bson_iter_key(&it)[0] == '$';
    }
    if (shorthand && strcmp(node->op->name, "$getField") == 0) {
        /* {$getField: "name"} is {field: "name", input: "$$CURRENT"} */
        qry__expr_args_alloc(node, n);
        ST_RET(qry__expr_parse_sub(p, arg, &node->args[0], st));
        bson_value_t cur;
        memset(&cur, 0, sizeof(cur));
        cur.value_type = BSON_TYPE_UTF8;
        cur.value.v_utf8.str = "$$CURRENT";
        cur.value.v_utf8.len = 9;
        ST_RET(qry__expr_parse_sub(p, &cur, &node->args[1], st));
    } else {
        ST_RET(qry__expr_parse_named(p, node, arg, names, n, code_base, code_base + 1,
                                     code_base + 2, st));
    }
    const bson_value_t *f = qry_expr_constant(node->args[0]);
    if (f == NULL || f->value_type != BSON_TYPE_UTF8)
        return status_set(st, code_base + 4,
                          "%s requires 'field' to evaluate to a constant of type String",
                          node->op->name);
    return 0;
}

static int parse_get_field(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                           status_t *st)
{
    static const char *const names[] = {"!field", "input"};
    ST_RET(parse_field_op(p, node, arg, st, names, 2, 3041700));
    if (node->args[1] == NULL) {
        bson_value_t cur;
        memset(&cur, 0, sizeof(cur));
        cur.value_type = BSON_TYPE_UTF8;
        cur.value.v_utf8.str = "$$CURRENT";
        cur.value.v_utf8.len = 9;
        ST_RET(qry__expr_parse_sub(p, &cur, &node->args[1], st));
    }
    return 0;
}

static int parse_set_field(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                           status_t *st)
{
    static const char *const names[] = {"!field", "!input", "!value"};
    return parse_field_op(p, node, arg, st, names, 3, 4161100);
}

static int parse_unset_field(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                             status_t *st)
{
    static const char *const names[] = {"!field", "!input"};
    return parse_field_op(p, node, arg, st, names, 2, 4161100);
}

static int eval_get_field(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                          status_t *st)
{
    bson_value_t in;
    const char *field = node->args[0]->value.value.v_utf8.str;
    ST_RET(qry__expr_eval(cx, node->args[1], &in, st));
    memset(out, 0, sizeof(*out));
    if (in.value_type == BSON_TYPE_NULL || in.value_type == BSON_TYPE_UNDEFINED) {
        qry__expr_set_null(out);
        return 0;
    }
    if (in.value_type == BSON_TYPE_EOD)
        return 0;
    if (in.value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 3041705,
                          "$getField requires 'input' to evaluate to type Object, but got %s",
                          qry__expr_type_name(&in));
    bson_t view;
    bson_iter_t it;
    qry__expr_view(&in, &view);
    if (bson_iter_init_find(&it, &view, field))
        *out = *bson_iter_value(&it);
    return 0;
}

static int eval_set_field(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                          status_t *st)
{
    bson_value_t in, val;
    const char *field = node->args[0]->value.value.v_utf8.str;
    bool unset = strcmp(node->op->name, "$unsetField") == 0;
    ST_RET(qry__expr_eval(cx, node->args[1], &in, st));
    memset(&val, 0, sizeof(val));
    if (!unset)
        ST_RET(qry__expr_eval(cx, node->args[2], &val, st));
    if (qry__expr_is_nullish(&in)) {
        qry__expr_set_null(out);
        return 0;
    }
    if (in.value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 4161105, "%s requires 'input' to evaluate to type Object",
                          node->op->name);
    bson_t view, b;
    bson_iter_t it;
    bool done = false;
    qry__expr_view(&in, &view);
    bson_init(&b);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            if (strcmp(bson_iter_key(&it), field) == 0) {
                if (!done)
                    qry_expr_append(&b, field, -1, &val);
                done = true;
                continue;
            }
            bson_append_value(&b, bson_iter_key(&it), -1, bson_iter_value(&it));
        }
    }
    if (!done)
        qry_expr_append(&b, field, -1, &val);
    qry__expr_doc_finish(cx, &b, false, out);
    return 0;
}

static int parse_rand(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                      status_t *st)
{
    bson_t view;
    qry__expr_view(arg, &view);
    if (arg->value_type != BSON_TYPE_DOCUMENT || bson_count_keys(&view) != 0)
        return status_set(st, 3040501, "$rand not allowed with arguments");
    return 0;
}

static int eval_rand(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    qry__expr_set_double(out, qry__expr_rand(cx));
    return 0;
}

static const qry__expr_op_t type_ops[] = {
    {"$type", 1, 1, NULL, eval_type, NULL, 0},
    {"$isNumber", 1, 1, NULL, eval_is_number, NULL, 0},
    {"$convert", 0, 0, parse_convert, eval_convert, NULL, 0},
    {"$toBool", 1, 1, NULL, eval_to_bool, NULL, 0},
    {"$toInt", 1, 1, NULL, eval_to_int, NULL, 0},
    {"$toLong", 1, 1, NULL, eval_to_long, NULL, 0},
    {"$toDouble", 1, 1, NULL, eval_to_double, NULL, 0},
    {"$toDecimal", 1, 1, NULL, eval_to_decimal, NULL, 0},
    {"$toString", 1, 1, NULL, eval_to_string, NULL, 0},
    {"$toObjectId", 1, 1, NULL, eval_to_oid, NULL, 0},
    {"$toDate", 1, 1, NULL, eval_to_date, NULL, 0},
    {"$mergeObjects", 0, QRY__EXPR_ARGS_ANY, NULL, eval_merge_objects, NULL, 0},
    {"$getField", 0, 0, parse_get_field, eval_get_field, NULL, 0},
    {"$setField", 0, 0, parse_set_field, eval_set_field, NULL, 0},
    {"$unsetField", 0, 0, parse_unset_field, eval_set_field, NULL, 0},
    {"$rand", 0, 0, parse_rand, eval_rand, NULL, QRY__EXPR_OP_NONDETERMINISTIC},
};

const qry__expr_table_t qry__expr_type_table = {type_ops, sizeof(type_ops) / sizeof(type_ops[0])};
