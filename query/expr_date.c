/*
 * expr_date.c -- the aggregation date operators: $year ... $isoDayOfWeek,
 * $dateToString, $dateFromString (parsing in expr_date_string.c),
 * $dateToParts, $dateFromParts, $dateAdd, $dateSubtract, $dateDiff and
 * $dateTrunc, as one operator table (qry__expr_date_table) for the
 * expression registry in expr.c.
 *
 * Calendar and time-zone work is query/datetime.c's; this file is argument
 * parsing, MongoDB's evaluation order (which argument's null or error wins)
 * and its error codes and messages. The evaluation order follows MongoDB's
 * own, argument by argument, because it decides which error a user sees.
 */
#include "query/expr_int.h"
#include "query/datetime_int.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                            */
/* ------------------------------------------------------------------------ */

/* qry__dt_coerce -- Date, Timestamp and ObjectId read as dates. */
bool qry__dt_coerce(const bson_value_t *v, int64_t *ms)
{
    switch (v->value_type) {
    case BSON_TYPE_DATE_TIME:
        *ms = v->value.v_datetime;
        return true;
    case BSON_TYPE_TIMESTAMP:
        *ms = (int64_t)v->value.v_timestamp.timestamp * 1000;
        return true;
    case BSON_TYPE_OID:
        *ms = (int64_t)bson_oid_get_time_t(&v->value.v_oid) * 1000;
        return true;
    default:
        return false;
    }
}

/* qry__dt_coerce_or_16006 -- coerce or fail as MongoDB's coerceToDate does. */
int qry__dt_coerce_or_16006(const bson_value_t *v, int64_t *ms, status_t *st)
{
    if (qry__dt_coerce(v, ms))
        return 0;
    return status_set(st, 16006, "can't convert from BSON type %s to Date", qry__expr_type_name(v));
}

/* qry__dt_eval_tz -- evaluate and look up a timezone argument. */
int qry__dt_eval_tz(qry_expr_ctx_t *cx, const qry_expr_t *arg, const qry__tz_t **tz, status_t *st)
{
    bson_value_t v;
    if (arg == NULL) {
        *tz = qry__tz_utc();
        return 0;
    }
    ST_RET(qry__expr_eval(cx, arg, &v, st));
    if (qry__expr_is_nullish(&v)) {
        *tz = NULL;
        return 0;
    }
    if (v.value_type != BSON_TYPE_UTF8)
        return status_set(st, 40517, "timezone must evaluate to a string, found %s",
                          qry__expr_type_name(&v));
    return qry__tz_get(v.value.v_utf8.str, v.value.v_utf8.len, tz, st);
}

/* qry__dt_value_str -- render v for an error message. */
void qry__dt_value_str(const bson_value_t *v, char *buf, size_t len)
{
    switch (v->value_type) {
    case BSON_TYPE_UTF8:
        (void)snprintf(buf, len, "\"%.*s\"",
                       (int)(v->value.v_utf8.len > 100 ? 100 : v->value.v_utf8.len),
                       v->value.v_utf8.str);
        break;
    case BSON_TYPE_INT32:
        (void)snprintf(buf, len, "%d", v->value.v_int32);
        break;
    case BSON_TYPE_INT64:
        (void)snprintf(buf, len, "%lld", (long long)v->value.v_int64);
        break;
    case BSON_TYPE_DOUBLE:
        (void)snprintf(buf, len, "%.17g", v->value.v_double);
        break;
    case BSON_TYPE_BOOL:
        (void)snprintf(buf, len, "%s", v->value.v_bool ? "true" : "false");
        break;
    case BSON_TYPE_NULL:
        (void)snprintf(buf, len, "null");
        break;
    case BSON_TYPE_DECIMAL128: {
        char s[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&v->value.v_decimal128, s);
        (void)snprintf(buf, len, "%s", s);
        break;
    }
    case BSON_TYPE_DATE_TIME:
        (void)snprintf(buf, len, "Date(%lld)", (long long)v->value.v_datetime);
        break;
    default:
        (void)snprintf(buf, len, "%s", qry__expr_type_name(v));
        break;
    }
}

/* set_date -- a Date result. */
static void set_date(bson_value_t *out, int64_t ms)
{
    out->value_type = BSON_TYPE_DATE_TIME;
    out->value.v_datetime = ms;
}

/* op_name -- the operator's name for messages. */
static const char *op_name(const qry_expr_t *node)
{
    return node->op->name;
}

/*
 * parse_fields -- an object argument whose fields go to fixed argument
 * slots (names[i] -> args[i]). The three operator-specific failures (not an
 * object, unknown field) carry each operator's own code and wording, which is
 * why this is not qry__expr_parse_named.
 */
static int parse_fields(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                        const char *const *names, size_t nnames, int notobj_code,
                        const char *notobj_msg, int unknown_code, const char *unknown_fmt,
                        status_t *st)
{
    bson_t view;
    bson_iter_t it;
    if (arg->value_type != BSON_TYPE_DOCUMENT) {
        if (strstr(notobj_msg, "found: ") != NULL)
            return status_set(st, notobj_code, "%s%s", notobj_msg, qry__expr_type_name(arg));
        return status_set(st, notobj_code, "%s", notobj_msg);
    }
    qry__expr_args_alloc(node, nnames);
    qry__expr_view(arg, &view);
    if (!bson_iter_init(&it, &view))
        return 0;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        size_t i;
        for (i = 0; i < nnames; i++)
            if (strcmp(names[i], k) == 0)
                break;
        if (i == nnames)
            return status_set(st, unknown_code, unknown_fmt, k);
        qry_expr_destroy(node->args[i]);
        node->args[i] = NULL;
        ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[i], st));
    }
    return 0;
}

/* Time units of $dateAdd/$dateDiff/$dateTrunc, in MongoDB's order. */
typedef enum unit {
    U_YEAR,
    U_QUARTER,
    U_MONTH,
    U_WEEK,
    U_DAY,
    U_HOUR,
    U_MINUTE,
    U_SECOND,
    U_MS,
} unit_t;

static const char *const unit_names[] = {"year", "quarter", "month",  "week",       "day",
                                         "hour", "minute",  "second", "millisecond"};

/* eval_unit -- a unit argument: *null when nullish; 5439013 / FailedToParse otherwise. */
static int unit_from_value(const qry_expr_t *node, const bson_value_t *v, unit_t *u, status_t *st)
{
    if (v->value_type != BSON_TYPE_UTF8)
        return status_set(st, 5439013, "%s requires 'unit' to be a string, but got %s",
                          op_name(node), qry__expr_type_name(v));
    for (size_t i = 0; i < sizeof(unit_names) / sizeof(unit_names[0]); i++) {
        if (strlen(unit_names[i]) == v->value.v_utf8.len &&
            memcmp(unit_names[i], v->value.v_utf8.str, v->value.v_utf8.len) == 0) {
            *u = (unit_t)i;
            return 0;
        }
    }
    return status_set(st, ERR_FailedToParse,
                      "%s parameter 'unit' value parsing failed :: caused by :: unknown time unit "
                      "value: %.*s",
                      op_name(node), (int)(v->value.v_utf8.len > 100 ? 100 : v->value.v_utf8.len),
                      v->value.v_utf8.str);
}

static int eval_unit(qry_expr_ctx_t *cx, const qry_expr_t *node, const qry_expr_t *arg, unit_t *u,
                     bool *null, status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, arg, &v, st));
    *null = qry__expr_is_nullish(&v);
    if (*null)
        return 0;
    return unit_from_value(node, &v, u, st);
}

/*
 * check_constants -- MongoDB validates a constant unit and timezone when the
 * pipeline is parsed (its optimize step), so a bad one fails even when no
 * document ever reaches the operator. ctx prefixes the timezone error
 * ($dateDiff and $dateTrunc add one).
 */
static int check_constants(const qry_expr_t *node, const qry_expr_t *unit, const qry_expr_t *tz,
                           const char *ctx, status_t *st)
{
    const bson_value_t *v;
    unit_t u;
    if (unit != NULL && (v = qry_expr_constant(unit)) != NULL && !qry__expr_is_nullish(v))
        ST_RET(unit_from_value(node, v, &u, st));
    if (tz != NULL && (v = qry_expr_constant(tz)) != NULL && !qry__expr_is_nullish(v)) {
        const qry__tz_t *z;
        int ret = v->value_type != BSON_TYPE_UTF8
                      ? status_set(st, 40517, "timezone must evaluate to a string, found %s",
                                   qry__expr_type_name(v))
                      : qry__tz_get(v->value.v_utf8.str, v->value.v_utf8.len, &z, st);
        if (ret != 0 && ctx != NULL)
            status_prefix(st, "%s", ctx);
        return ret;
    }
    return 0;
}

/* eval_start_of_week -- ISO day 1..7 (Monday..Sunday); default Sunday. */
static int eval_start_of_week(qry_expr_ctx_t *cx, const qry_expr_t *node, const qry_expr_t *arg,
                              int *sow, bool *null, status_t *st)
{
    static const char *const full[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
    bson_value_t v;
    *sow = 7;
    *null = false;
    if (arg == NULL)
        return 0;
    ST_RET(qry__expr_eval(cx, arg, &v, st));
    *null = qry__expr_is_nullish(&v);
    if (*null)
        return 0;
    if (v.value_type != BSON_TYPE_UTF8)
        return status_set(st, 5439015, "%s requires 'startOfWeek' to be a string, but got %s",
                          op_name(node), qry__expr_type_name(&v));
    const char *s = v.value.v_utf8.str;
    size_t len = v.value.v_utf8.len;
    for (int i = 0; i < 7; i++) {
        /* Case-insensitive: the full name or its three-letter abbreviation. */
        if ((len == strlen(full[i]) || len == 3) && strncasecmp(s, full[i], len) == 0) {
            *sow = i + 1;
            return 0;
        }
    }
    return status_set(st, 5439016,
                      "%s parameter 'startOfWeek' value cannot be recognized as a day of a week: "
                      "%.*s",
                      op_name(node), (int)(len > 100 ? 100 : len), s);
}

/* ------------------------------------------------------------------------ */
/* $year, $month, ... $isoDayOfWeek                                          */
/* ------------------------------------------------------------------------ */

/* Which part an extractor returns; the table row's position decides it. */
typedef enum part {
    P_YEAR,
    P_MONTH,
    P_DAY,
    P_HOUR,
    P_MINUTE,
    P_SECOND,
    P_MS,
    P_DOW,
    P_DOY,
    P_WEEK,
    P_ISO_WEEK,
    P_ISO_WEEK_YEAR,
    P_ISO_DOW,
} part_t;

static const char *const part_ops[] = {
    "$year",    "$month",       "$dayOfMonth",   "$hour",      "$minute",
    "$second",  "$millisecond", "$dayOfWeek",    "$dayOfYear", "$week",
    "$isoWeek", "$isoWeekYear", "$isoDayOfWeek",
};

/*
 * parse_part -- {$op: <date>}, {$op: [<date>]} or {$op: {date, timezone}}.
 * A document whose first field starts with '$' is an expression, not the
 * {date, timezone} form.
 */
static int parse_part(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                      status_t *st)
{
    const char *name = op_name(node);
    for (size_t i = 0; i < sizeof(part_ops) / sizeof(part_ops[0]); i++)
        if (strcmp(part_ops[i], name) == 0)
            node->n = (int64_t)i;
    qry__expr_args_alloc(node, 2);
    if (arg->value_type == BSON_TYPE_DOCUMENT) {
        bson_t view;
        bson_iter_t it;
        qry__expr_view(arg, &view);
        if (bson_iter_init(&it, &view) && bson_iter_next(&it) && bson_iter_key(&it)[0] == '$')
            return qry__expr_parse_sub(p, arg, &node->args[0], st);
        if (bson_iter_init(&it, &view)) {
            while (bson_iter_next(&it)) {
                const char *k = bson_iter_key(&it);
                size_t slot = strcmp(k, "date") == 0 ? 0 : strcmp(k, "timezone") == 0 ? 1 : 2;
                if (slot == 2)
                    return status_set(st, 40535, "unrecognized option to %s: \"%s\"", name, k);
                qry_expr_destroy(node->args[slot]);
                node->args[slot] = NULL;
                ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[slot], st));
            }
        }
        if (node->args[0] == NULL) {
            char *json = bson_as_relaxed_extended_json(&view, NULL);
            int ret = status_set(st, 40539, "missing 'date' argument to %s, provided: %s", name,
                                 json ? json : "{}");
            bson_free(json);
            return ret;
        }
        return check_constants(node, NULL, node->args[1], NULL, st);
    }
    if (arg->value_type == BSON_TYPE_ARRAY) {
        bson_t view;
        bson_iter_t it;
        uint32_t n = 0;
        const bson_value_t *first = NULL;
        bson_value_t firstv;
        qry__expr_view(arg, &view);
        if (bson_iter_init(&it, &view)) {
            while (bson_iter_next(&it)) {
                if (n == 0) {
                    firstv = *bson_iter_value(&it);
                    first = &firstv;
                }
                n++;
            }
        }
        if (n != 1)
            return status_set(st, 40536,
                              "%s accepts exactly one argument if given an array, but was given %u",
                              name, n);
        /* firstv points into arg's data, which outlives this parse. */
        return qry__expr_parse_sub(p, first, &node->args[0], st);
    }
    return qry__expr_parse_sub(p, arg, &node->args[0], st);
}

/* eval_part -- date first (null wins, then the type), then the zone. */
static int eval_part(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t d;
    int64_t ms;
    const qry__tz_t *tz;
    qry__dt_parts_t p;
    ST_RET(qry__expr_eval(cx, node->args[0], &d, st));
    if (qry__expr_is_nullish(&d)) {
        qry__expr_set_null(out);
        return 0;
    }
    ST_RET(qry__dt_coerce_or_16006(&d, &ms, st));
    ST_RET(qry__dt_eval_tz(cx, node->args[1], &tz, st));
    if (tz == NULL) {
        qry__expr_set_null(out);
        return 0;
    }
    qry__dt_split(ms, tz, &p);
    switch ((part_t)node->n) {
    case P_YEAR:
        qry__expr_set_int(out, (int32_t)p.year);
        break;
    case P_MONTH:
        qry__expr_set_int(out, p.month);
        break;
    case P_DAY:
        qry__expr_set_int(out, p.day);
        break;
    case P_HOUR:
        qry__expr_set_int(out, p.hour);
        break;
    case P_MINUTE:
        qry__expr_set_int(out, p.minute);
        break;
    case P_SECOND:
        qry__expr_set_int(out, p.second);
        break;
    case P_MS:
        qry__expr_set_int(out, p.millisecond);
        break;
    case P_DOW:
        qry__expr_set_int(out, p.dow);
        break;
    case P_DOY:
        qry__expr_set_int(out, p.day_of_year);
        break;
    case P_WEEK:
        qry__expr_set_int(out, p.week);
        break;
    case P_ISO_WEEK:
        qry__expr_set_int(out, p.iso_week);
        break;
    case P_ISO_WEEK_YEAR:
        /* MongoDB answers a long here (TimeZone::isoYear is long long). */
        qry__expr_set_long(out, p.iso_year);
        break;
    case P_ISO_DOW:
        qry__expr_set_int(out, p.iso_dow);
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* $dateToString                                                             */
/* ------------------------------------------------------------------------ */

/* qry__dt_check_format -- every '%' must start a known specifier. */
int qry__dt_check_format(const char *f, bool to_string, status_t *st)
{
    const char *ok = to_string ? "bBdGHjLmMSwuUVYzZ%" : "bBdGHjLmMSuVYzZ%";
    for (; *f; f++) {
        if (*f != '%')
            continue;
        f++;
        if (*f == '\0')
            return status_set(st, 18535, "Unmatched '%%' at end of format string");
        if (strchr(ok, *f) == NULL)
            return status_set(st, 18536, "Invalid format character '%%%c' in format string", *f);
    }
    return 0;
}

static const char *const month_full[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};

/* pad -- MongoDB's insertPadded: 0..9999 only, else 18537. */
static int pad(bson_string_t *s, int64_t v, int width, status_t *st)
{
    if (v < 0 || v > 9999)
        return status_set(st, 18537,
                          "Could not convert date to string: date component was outside the "
                          "supported range of 0-9999: %lld",
                          (long long)v);
    char buf[8];
    (void)snprintf(buf, sizeof(buf), "%0*d", width, (int)v);
    bson_string_append(s, buf);
    return 0;
}

/* format_date -- render ms in tz with a validated format. */
static int format_date(const char *f, int64_t ms, const qry__tz_t *tz, bson_string_t *s,
                       status_t *st)
{
    qry__dt_parts_t p;
    qry__dt_split(ms, tz, &p);
    for (; *f; f++) {
        if (*f != '%') {
            bson_string_append_c(s, *f);
            continue;
        }
        f++;
        switch (*f) {
        case '%':
            bson_string_append_c(s, '%');
            break;
        case 'Y':
            ST_RET(pad(s, p.year, 4, st));
            break;
        case 'm':
            ST_RET(pad(s, p.month, 2, st));
            break;
        case 'd':
            ST_RET(pad(s, p.day, 2, st));
            break;
        case 'H':
            ST_RET(pad(s, p.hour, 2, st));
            break;
        case 'M':
            ST_RET(pad(s, p.minute, 2, st));
            break;
        case 'S':
            ST_RET(pad(s, p.second, 2, st));
            break;
        case 'L':
            ST_RET(pad(s, p.millisecond, 3, st));
            break;
        case 'j':
            ST_RET(pad(s, p.day_of_year, 3, st));
            break;
        case 'w':
            ST_RET(pad(s, p.dow, 1, st));
            break;
        case 'u':
            ST_RET(pad(s, p.iso_dow, 1, st));
            break;
        case 'U':
            ST_RET(pad(s, p.week, 2, st));
            break;
        case 'V':
            ST_RET(pad(s, p.iso_week, 2, st));
            break;
        case 'G':
            ST_RET(pad(s, p.iso_year, 4, st));
            break;
        case 'b':
            bson_string_append_printf(s, "%.3s", month_full[p.month - 1]);
            break;
        case 'B':
            bson_string_append(s, month_full[p.month - 1]);
            break;
        case 'z': {
            int32_t a = p.offset < 0 ? -p.offset : p.offset;
            bson_string_append_c(s, p.offset < 0 ? '-' : '+');
            ST_RET(pad(s, a / 3600, 2, st));
            ST_RET(pad(s, a / 60 % 60, 2, st));
            break;
        }
        case 'Z':
            bson_string_append_printf(s, "%d", p.offset / 60);
            break;
        default:
            return status_set(st, 18536, "Invalid format character '%%%c' in format string", *f);
        }
    }
    return 0;
}

enum { TS_DATE, TS_FORMAT, TS_TZ, TS_ONNULL };

static int parse_to_string(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                           status_t *st)
{
    static const char *const names[] = {"date", "format", "timezone", "onNull"};
    ST_RET(parse_fields(p, node, arg, names, 4, 18629,
                        "$dateToString only supports an object as its argument", 18534,
                        "Unrecognized parameter to $dateToString: %s", st));
    if (node->args[TS_DATE] == NULL)
        return status_set(st, 18628, "Missing 'date' parameter to $dateToString");
    ST_RET(check_constants(node, NULL, node->args[TS_TZ], NULL, st));
    /* A constant format is checked now, as MongoDB does at parse time. */
    const bson_value_t *f = node->args[TS_FORMAT] ? qry_expr_constant(node->args[TS_FORMAT]) : NULL;
    if (f != NULL && f->value_type == BSON_TYPE_UTF8)
        ST_RET(qry__dt_check_format(f->value.v_utf8.str, true, st));
    return 0;
}

static int eval_to_string(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                          status_t *st)
{
    bson_value_t d, f = {.value_type = BSON_TYPE_EOD};
    const qry__tz_t *tz;
    int64_t ms;
    ST_RET(qry__expr_eval(cx, node->args[TS_DATE], &d, st));
    if (node->args[TS_FORMAT] != NULL) {
        ST_RET(qry__expr_eval(cx, node->args[TS_FORMAT], &f, st));
        if (!qry__expr_is_nullish(&f)) {
            if (f.value_type != BSON_TYPE_UTF8) {
                char vs[128];
                qry__dt_value_str(&f, vs, sizeof(vs));
                return status_set(st, 18533,
                                  "$dateToString requires that 'format' be a string, found: %s "
                                  "with value %s",
                                  qry__expr_type_name(&f), vs);
            }
            ST_RET(qry__dt_check_format(f.value.v_utf8.str, true, st));
        }
    }
    ST_RET(qry__dt_eval_tz(cx, node->args[TS_TZ], &tz, st));
    if (qry__expr_is_nullish(&d)) {
        if (node->args[TS_ONNULL] != NULL)
            return qry__expr_eval(cx, node->args[TS_ONNULL], out, st);
        qry__expr_set_null(out);
        return 0;
    }
    if (tz == NULL || (node->args[TS_FORMAT] != NULL && qry__expr_is_nullish(&f))) {
        qry__expr_set_null(out);
        return 0;
    }
    ST_RET(qry__dt_coerce_or_16006(&d, &ms, st));
    const char *fmt = node->args[TS_FORMAT] != NULL
                          ? f.value.v_utf8.str
                          : (qry__tz_is_utc(tz) ? "%Y-%m-%dT%H:%M:%S.%LZ" : "%Y-%m-%dT%H:%M:%S.%L");
    bson_string_t *s = bson_string_new(NULL);
    int ret = format_date(fmt, ms, tz, s, st);
    if (ret == 0)
        qry__expr_str(cx, s->str, s->len, out);
    bson_string_free(s, true);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* $dateFromString (parsing itself in expr_date_string.c)                    */
/* ------------------------------------------------------------------------ */

enum { FS_STRING, FS_FORMAT, FS_TZ, FS_ONERROR, FS_ONNULL };

static int parse_from_string(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                             status_t *st)
{
    static const char *const names[] = {"dateString", "format", "timezone", "onError", "onNull"};
    ST_RET(parse_fields(p, node, arg, names, 5, 40540,
                        "$dateFromString only supports an object as an argument, found: ", 40541,
                        "Unrecognized argument to $dateFromString: %s", st));
    if (node->args[FS_STRING] == NULL)
        return status_set(st, 40542, "Missing 'dateString' parameter to $dateFromString");
    ST_RET(check_constants(node, NULL, node->args[FS_TZ], NULL, st));
    const bson_value_t *f = node->args[FS_FORMAT] ? qry_expr_constant(node->args[FS_FORMAT]) : NULL;
    if (f != NULL && f->value_type == BSON_TYPE_UTF8)
        ST_RET(qry__dt_check_format(f->value.v_utf8.str, false, st));
    return 0;
}

static int eval_from_string(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                            status_t *st)
{
    bson_value_t s, f = {.value_type = BSON_TYPE_EOD};
    const qry__tz_t *tz;
    int64_t ms;
    int ret;
    ST_RET(qry__expr_eval(cx, node->args[FS_STRING], &s, st));
    if (node->args[FS_FORMAT] != NULL) {
        ST_RET(qry__expr_eval(cx, node->args[FS_FORMAT], &f, st));
        if (!qry__expr_is_nullish(&f)) {
            if (f.value_type != BSON_TYPE_UTF8) {
                char vs[128];
                qry__dt_value_str(&f, vs, sizeof(vs));
                return status_set(st, 40684,
                                  "$dateFromString requires that 'format' be a string, found: %s "
                                  "with value %s",
                                  qry__expr_type_name(&f), vs);
            }
            ST_RET(qry__dt_check_format(f.value.v_utf8.str, false, st));
        }
    }
    ST_RET(qry__dt_eval_tz(cx, node->args[FS_TZ], &tz, st));
    if (qry__expr_is_nullish(&s)) {
        if (node->args[FS_ONNULL] != NULL)
            return qry__expr_eval(cx, node->args[FS_ONNULL], out, st);
        qry__expr_set_null(out);
        return 0;
    }
    if (s.value_type != BSON_TYPE_UTF8) {
        char vs[128];
        qry__dt_value_str(&s, vs, sizeof(vs));
        ret = status_set(st, ERR_ConversionFailure,
                         "$dateFromString requires that 'dateString' be a string, found: %s with "
                         "value %s",
                         qry__expr_type_name(&s), vs);
    } else if (tz == NULL || (node->args[FS_FORMAT] != NULL && qry__expr_is_nullish(&f))) {
        qry__expr_set_null(out);
        return 0;
    } else {
        ret = qry__dt_parse_string(s.value.v_utf8.str, s.value.v_utf8.len,
                                   node->args[FS_FORMAT] ? f.value.v_utf8.str : NULL, tz, &ms, st);
    }
    if (ret == ERR_ConversionFailure && node->args[FS_ONERROR] != NULL) {
        status_reset(st);
        return qry__expr_eval(cx, node->args[FS_ONERROR], out, st);
    }
    ST_RET(ret);
    set_date(out, ms);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* $dateToParts                                                              */
/* ------------------------------------------------------------------------ */

enum { TP_DATE, TP_TZ, TP_ISO };

static int parse_to_parts(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                          status_t *st)
{
    static const char *const names[] = {"date", "timezone", "iso8601"};
    ST_RET(parse_fields(p, node, arg, names, 3, 40524,
                        "$dateToParts only supports an object as its argument", 40520,
                        "Unrecognized argument to $dateToParts: %s", st));
    if (node->args[TP_DATE] == NULL)
        return status_set(st, 40522, "Missing 'date' parameter to $dateToParts");
    return check_constants(node, NULL, node->args[TP_TZ], NULL, st);
}

static int eval_to_parts(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                         status_t *st)
{
    bson_value_t d, iso = {.value_type = BSON_TYPE_BOOL};
    const qry__tz_t *tz;
    int64_t ms;
    ST_RET(qry__expr_eval(cx, node->args[TP_DATE], &d, st));
    ST_RET(qry__dt_eval_tz(cx, node->args[TP_TZ], &tz, st));
    if (tz == NULL) {
        qry__expr_set_null(out);
        return 0;
    }
    iso.value.v_bool = false;
    if (node->args[TP_ISO] != NULL) {
        ST_RET(qry__expr_eval(cx, node->args[TP_ISO], &iso, st));
        if (qry__expr_is_nullish(&iso)) {
            qry__expr_set_null(out);
            return 0;
        }
        if (iso.value_type != BSON_TYPE_BOOL)
            return status_set(st, 40521, "iso8601 must evaluate to a bool, found %s",
                              qry__expr_type_name(&iso));
    }
    if (qry__expr_is_nullish(&d)) {
        qry__expr_set_null(out);
        return 0;
    }
    ST_RET(qry__dt_coerce_or_16006(&d, &ms, st));
    qry__dt_parts_t p;
    qry__dt_split(ms, tz, &p);
    bson_t b = BSON_INITIALIZER;
    if (iso.value.v_bool) {
        BSON_APPEND_INT32(&b, "isoWeekYear", (int32_t)p.iso_year);
        BSON_APPEND_INT32(&b, "isoWeek", p.iso_week);
        BSON_APPEND_INT32(&b, "isoDayOfWeek", p.iso_dow);
    } else {
        BSON_APPEND_INT32(&b, "year", (int32_t)p.year);
        BSON_APPEND_INT32(&b, "month", p.month);
        BSON_APPEND_INT32(&b, "day", p.day);
    }
    BSON_APPEND_INT32(&b, "hour", p.hour);
    BSON_APPEND_INT32(&b, "minute", p.minute);
    BSON_APPEND_INT32(&b, "second", p.second);
    BSON_APPEND_INT32(&b, "millisecond", p.millisecond);
    qry__expr_doc_finish(cx, &b, false, out);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* $dateFromParts                                                            */
/* ------------------------------------------------------------------------ */

enum {
    FP_YEAR,
    FP_MONTH,
    FP_DAY,
    FP_HOUR,
    FP_MINUTE,
    FP_SECOND,
    FP_MS,
    FP_ISO_YEAR,
    FP_ISO_WEEK,
    FP_ISO_DOW,
    FP_TZ,
    FP_N
};

static const char *const fp_names[] = {"year",    "month",        "day",         "hour",
                                       "minute",  "second",       "millisecond", "isoWeekYear",
                                       "isoWeek", "isoDayOfWeek", "timezone"};

static int parse_from_parts(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                            status_t *st)
{
    qry_expr_t **a;
    ST_RET(parse_fields(p, node, arg, fp_names, FP_N, 40519,
                        "$dateFromParts only supports an object as its argument", 40518,
                        "Unrecognized argument to $dateFromParts: %s", st));
    a = node->args;
    if (a[FP_YEAR] == NULL && a[FP_ISO_YEAR] == NULL)
        return status_set(st, 40516,
                          "$dateFromParts requires either 'year' or 'isoWeekYear' to be present");
    if (a[FP_YEAR] != NULL && (a[FP_ISO_YEAR] || a[FP_ISO_WEEK] || a[FP_ISO_DOW]))
        return status_set(st, 40489,
                          "$dateFromParts does not allow mixing natural dates with ISO dates");
    if (a[FP_ISO_YEAR] != NULL && (a[FP_YEAR] || a[FP_MONTH] || a[FP_DAY]))
        return status_set(st, 40525,
                          "$dateFromParts does not allow mixing ISO dates with natural dates");
    return check_constants(node, NULL, a[FP_TZ], NULL, st);
}

/*
 * part_number -- one $dateFromParts field: default when absent, *null when
 * nullish, 40515 unless an integral number, and (bounded) within a 16-bit
 * range, which MongoDB uses to keep calendar carrying cheap.
 */
static int part_number(qry_expr_ctx_t *cx, const qry_expr_t *node, int idx, int64_t def,
                       bool bounded, int64_t *v, bool *null, status_t *st)
{
    bson_value_t x;
    if (node->args[idx] == NULL) {
        *v = def;
        return 0;
    }
    ST_RET(qry__expr_eval(cx, node->args[idx], &x, st));
    if (qry__expr_is_nullish(&x)) {
        *null = true;
        return 0;
    }
    if (!bsonu_number_as_int64(&x, v)) {
        char vs[128];
        qry__dt_value_str(&x, vs, sizeof(vs));
        return status_set(st, 40515, "'%s' must evaluate to an integer, found %s with value %s",
                          fp_names[idx], qry__expr_type_name(&x), vs);
    }
    if (bounded && (*v < -32768 || *v > 32767))
        return status_set(st, 31034,
                          "'%s' must evaluate to a value in the range [-32768, 32767]; value %lld "
                          "is not in range",
                          fp_names[idx], (long long)*v);
    return 0;
}

static int eval_from_parts(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                           status_t *st)
{
    int64_t h, mi, s, ms, y, m, d, r;
    bool null = false;
    const qry__tz_t *tz;
    ST_RET(part_number(cx, node, FP_HOUR, 0, true, &h, &null, st));
    if (!null)
        ST_RET(part_number(cx, node, FP_MINUTE, 0, true, &mi, &null, st));
    if (!null)
        ST_RET(part_number(cx, node, FP_SECOND, 0, false, &s, &null, st));
    if (!null)
        ST_RET(part_number(cx, node, FP_MS, 0, false, &ms, &null, st));
    if (null) {
        qry__expr_set_null(out);
        return 0;
    }
    ST_RET(qry__dt_eval_tz(cx, node->args[FP_TZ], &tz, st));
    if (tz == NULL) {
        qry__expr_set_null(out);
        return 0;
    }
    bool iso = node->args[FP_YEAR] == NULL;
    ST_RET(part_number(cx, node, iso ? FP_ISO_YEAR : FP_YEAR, 1970, false, &y, &null, st));
    if (!null)
        ST_RET(part_number(cx, node, iso ? FP_ISO_WEEK : FP_MONTH, 1, true, &m, &null, st));
    if (!null)
        ST_RET(part_number(cx, node, iso ? FP_ISO_DOW : FP_DAY, 1, true, &d, &null, st));
    if (null) {
        qry__expr_set_null(out);
        return 0;
    }
    if (y < 1 || y > 9999)
        return status_set(st, iso ? 31095 : 40523,
                          "'%s' must evaluate to an integer in the range 1 to 9999, found %lld",
                          iso ? "isoWeekYear" : "year", (long long)y);
    if (iso) {
        /* Turn the ISO date into a day count from 1 January 1970, then carry as usual. */
        int64_t days = qry__dt_days_from_iso(y, m, d);
        ST_RET(qry__dt_from_local(tz, 1970, 1, 1 + days, h, mi, s, ms, &r, st));
    } else {
        ST_RET(qry__dt_from_local(tz, y, m, d, h, mi, s, ms, &r, st));
    }
    set_date(out, r);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* $dateAdd / $dateSubtract                                                  */
/* ------------------------------------------------------------------------ */

enum { DA_START, DA_UNIT, DA_AMOUNT, DA_TZ };

static int parse_add(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg, status_t *st)
{
    static const char *const names[] = {"startDate", "unit", "amount", "timezone"};
    char notobj[64], unknown[80];
    (void)snprintf(notobj, sizeof(notobj), "%s expects an object as its argument", op_name(node));
    (void)snprintf(unknown, sizeof(unknown), "Unrecognized argument to %s: %%s", op_name(node));
    ST_RET(parse_fields(p, node, arg, names, 4, 5166400, notobj, 5166401, unknown, st));
    if (!node->args[DA_START] || !node->args[DA_UNIT] || !node->args[DA_AMOUNT])
        return status_set(st, 5166402, "%s requires startDate, unit, and amount to be present",
                          op_name(node));
    return check_constants(node, node->args[DA_UNIT], node->args[DA_TZ], NULL, st);
}

/* unit_ms -- milliseconds in one fixed-length unit (hour and below; day and week as 24h days). */
static int64_t unit_ms(unit_t u)
{
    switch (u) {
    case U_WEEK:
        return 7 * QRY__MS_PER_DAY;
    case U_DAY:
        return QRY__MS_PER_DAY;
    case U_HOUR:
        return QRY__MS_PER_HOUR;
    case U_MINUTE:
        return QRY__MS_PER_MIN;
    case U_SECOND:
        return QRY__MS_PER_SEC;
    default:
        return 1;
    }
}

/*
 * date_add -- MongoDB's dateAdd. Hours and smaller move the instant (a DST
 * change does not shift them); days and larger move the local calendar and
 * keep the wall-clock time. Months clamp to the last day of the target month
 * (31 January + 1 month = 28/29 February).
 */
static int date_add(int64_t date, unit_t u, int64_t amount, const qry__tz_t *tz, int64_t *out,
                    status_t *st)
{
    if (u == U_MS) {
        if (__builtin_add_overflow(date, amount, out))
            return status_set(st, 5166406, "dateAdd overflowed");
        return 0;
    }
    /* MongoDB's bound: amounts that could not possibly fit a date fail up front. */
    const int64_t max_days = (int64_t)(UINT64_MAX / (uint64_t)QRY__MS_PER_DAY) + 1;
    const int64_t max_years = max_days / 365 + 1;
    int64_t maxv = 0;
    switch (u) {
    case U_YEAR:
        maxv = max_years;
        break;
    case U_QUARTER:
        maxv = max_years * 4;
        break;
    case U_MONTH:
        maxv = max_years * 12;
        break;
    case U_WEEK:
        maxv = max_days / 7;
        break;
    case U_DAY:
        maxv = max_days;
        break;
    case U_HOUR:
        maxv = max_days * 24;
        break;
    case U_MINUTE:
        maxv = max_days * 24 * 60;
        break;
    default:
        maxv = max_days * 24 * 60 * 60;
        break;
    }
    if (!(-maxv < amount && amount < maxv))
        return status_set(st, 5976500, "invalid dateAdd 'amount' parameter value: %lld %s",
                          (long long)amount, unit_names[u]);
    if (u == U_HOUR || u == U_MINUTE || u == U_SECOND) {
        int64_t delta;
        if (__builtin_mul_overflow(amount, unit_ms(u), &delta) ||
            __builtin_add_overflow(date, delta, out))
            return status_set(st, 5166406, "dateAdd overflowed");
        return 0;
    }
    qry__dt_parts_t p;
    qry__dt_split(date, tz, &p);
    int64_t months = u == U_YEAR ? amount * 12 : u == U_QUARTER ? amount * 3 : amount;
    int64_t y = p.year, m = p.month, d = p.day;
    if (u == U_YEAR || u == U_QUARTER || u == U_MONTH) {
        int64_t m0 = (int64_t)p.month - 1 + months;
        int64_t ry = p.year + qry__dt_floordiv(m0, 12);
        int rm = (int)qry__dt_floormod(m0, 12) + 1;
        int dim = qry__dt_days_in_month(ry, rm);
        y = ry;
        m = rm;
        d = p.day < dim ? p.day : dim;
    } else {
        d += u == U_WEEK ? amount * 7 : amount;
    }
    int ret = qry__dt_from_local(tz, y, m, d, p.hour, p.minute, p.second, p.millisecond, out, st);
    if (ret != 0)
        return status_set(st, 5166406, "dateAdd overflowed");
    return 0;
}

static int eval_add(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t sd, am;
    unit_t u;
    bool null;
    const qry__tz_t *tz;
    int64_t date, amount, r;
    bool sub = strcmp(op_name(node), "$dateSubtract") == 0;
    ST_RET(qry__expr_eval(cx, node->args[DA_START], &sd, st));
    if (qry__expr_is_nullish(&sd))
        goto null;
    ST_RET(eval_unit(cx, node, node->args[DA_UNIT], &u, &null, st));
    if (null)
        goto null;
    ST_RET(qry__expr_eval(cx, node->args[DA_AMOUNT], &am, st));
    if (qry__expr_is_nullish(&am))
        goto null;
    ST_RET(qry__dt_eval_tz(cx, node->args[DA_TZ], &tz, st));
    if (tz == NULL)
        goto null;
    if (!qry__dt_coerce(&sd, &date))
        return status_set(st, 5166403, "%s requires startDate to be convertible to a date",
                          op_name(node));
    if (!bsonu_number_as_int64(&am, &amount))
        return status_set(st, 5166405, "%s expects integer amount of time units", op_name(node));
    if (sub) {
        if (amount == INT64_MIN)
            return status_set(st, 6045000, "invalid $dateSubtract 'amount' parameter value: %lld",
                              (long long)amount);
        amount = -amount;
    }
    ST_RET(date_add(date, u, amount, tz, &r, st));
    set_date(out, r);
    return 0;
null:
    qry__expr_set_null(out);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* $dateDiff                                                                 */
/* ------------------------------------------------------------------------ */

enum { DD_START, DD_END, DD_UNIT, DD_TZ, DD_SOW };

static int parse_diff(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                      status_t *st)
{
    static const char *const names[] = {"startDate", "endDate", "unit", "timezone", "startOfWeek"};
    ST_RET(parse_fields(p, node, arg, names, 5, 5166301,
                        "$dateDiff only supports an object as its argument", 5166302,
                        "Unrecognized argument to $dateDiff: %s", st));
    if (node->args[DD_START] == NULL)
        return status_set(st, 5166303, "Missing 'startDate' parameter to $dateDiff");
    if (node->args[DD_END] == NULL)
        return status_set(st, 5166304, "Missing 'endDate' parameter to $dateDiff");
    if (node->args[DD_UNIT] == NULL)
        return status_set(st, 5166305, "Missing 'unit' parameter to $dateDiff");
    return check_constants(
        node, node->args[DD_UNIT], node->args[DD_TZ],
        "$dateDiff parameter 'timezone' value parsing failed :: caused by :: ", st);
}

/* week_index -- days from the start of the week (0..6) for a week starting on ISO day sow. */
static int64_t week_index(int64_t days, int sow)
{
    return (qry__dt_iso_dow_of_days(days) - sow + 7) % 7;
}

/*
 * date_diff -- boundaries crossed, as MongoDB counts them: the two instants
 * are read as local calendars, and the difference of their unit numbers is
 * the answer (so 23:59 to 00:01 is one day, 31 Dec to 1 Jan one year).
 * Hours and below also correct for an offset change between the two.
 */
static int date_diff(int64_t a, int64_t b, unit_t u, const qry__tz_t *tz, int sow, int64_t *out,
                     status_t *st)
{
    if (u == U_MS) {
        if (__builtin_sub_overflow(b, a, out))
            return status_set(st, 5166308, "dateDiff overflowed");
        return 0;
    }
    qry__dt_parts_t s, e;
    qry__dt_split(a, tz, &s);
    qry__dt_split(b, tz, &e);
    int64_t days = e.days - s.days;
    switch (u) {
    case U_YEAR:
        *out = e.year - s.year;
        break;
    case U_QUARTER:
        *out = (e.year - s.year) * 4 + (e.month - 1) / 3 - (s.month - 1) / 3;
        break;
    case U_MONTH:
        *out = (e.year - s.year) * 12 + e.month - s.month;
        break;
    case U_WEEK:
        *out = (days + week_index(s.days, sow) - week_index(e.days, sow)) / 7;
        break;
    case U_DAY:
        *out = days;
        break;
    case U_HOUR:
        *out = days * 24 + e.hour - s.hour + (s.offset - e.offset) / 3600;
        break;
    case U_MINUTE:
        *out =
            (days * 24 + e.hour - s.hour) * 60 + e.minute - s.minute + (s.offset - e.offset) / 60;
        break;
    default:
        *out = ((days * 24 + e.hour - s.hour) * 60 + e.minute - s.minute) * 60 + e.second -
               s.second + (s.offset - e.offset);
        break;
    }
    return 0;
}

static int eval_diff(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t sv, ev;
    unit_t u;
    bool null;
    int sow = 7;
    const qry__tz_t *tz;
    int64_t a, b, r;
    ST_RET(qry__expr_eval(cx, node->args[DD_START], &sv, st));
    if (qry__expr_is_nullish(&sv))
        goto null;
    ST_RET(qry__expr_eval(cx, node->args[DD_END], &ev, st));
    if (qry__expr_is_nullish(&ev))
        goto null;
    ST_RET(eval_unit(cx, node, node->args[DD_UNIT], &u, &null, st));
    if (null)
        goto null;
    if (u == U_WEEK) {
        ST_RET(eval_start_of_week(cx, node, node->args[DD_SOW], &sow, &null, st));
        if (null)
            goto null;
    }
    if (qry__dt_eval_tz(cx, node->args[DD_TZ], &tz, st) != 0) {
        status_prefix(st, "$dateDiff parameter 'timezone' value parsing failed :: caused by :: ");
        return st->code;
    }
    if (tz == NULL)
        goto null;
    if (!qry__dt_coerce(&sv, &a))
        return status_set(st, 5166307, "$dateDiff requires 'startDate' to be a date, but got %s",
                          qry__expr_type_name(&sv));
    if (!qry__dt_coerce(&ev, &b))
        return status_set(st, 5166307, "$dateDiff requires 'endDate' to be a date, but got %s",
                          qry__expr_type_name(&ev));
    ST_RET(date_diff(a, b, u, tz, sow, &r, st));
    qry__expr_set_long(out, r);
    return 0;
null:
    qry__expr_set_null(out);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* $dateTrunc                                                                */
/* ------------------------------------------------------------------------ */

enum { DT_DATE, DT_UNIT, DT_BIN, DT_TZ, DT_SOW };

static int parse_trunc(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                       status_t *st)
{
    static const char *const names[] = {"date", "unit", "binSize", "timezone", "startOfWeek"};
    ST_RET(parse_fields(p, node, arg, names, 5, 5439007,
                        "$dateTrunc only supports an object as its argument", 5439008,
                        "Unrecognized argument to $dateTrunc: %s", st));
    if (node->args[DT_DATE] == NULL)
        return status_set(st, 5439009, "Missing 'date' parameter to $dateTrunc");
    if (node->args[DT_UNIT] == NULL)
        return status_set(st, 5439010, "Missing 'unit' parameter to $dateTrunc");
    return check_constants(
        node, node->args[DT_UNIT], node->args[DT_TZ],
        "$dateTrunc parameter 'timezone' value parsing failed :: caused by :: ", st);
}

/* bin_floor -- value's distance down to its bin's lower bound (bins of size n from 0). */
static int64_t bin_floor(int64_t value, int64_t n)
{
    int64_t r = value % n;
    return r < 0 ? r + n : r;
}

/*
 * date_trunc -- MongoDB's truncateDate. Bins of units up to an hour are
 * counted in milliseconds from 2000-01-01T00:00:00Z; larger units from
 * 2000-01-01 local time (for weeks, the first startOfWeek day on or after
 * it), and the bin's start is found by $dateAdd from that reference.
 */
static int date_trunc(int64_t date, unit_t u, int64_t bin, const qry__tz_t *tz, int sow,
                      int64_t *out, status_t *st)
{
    const int64_t ref_utc = 946684800000LL; /* 2000-01-01T00:00:00Z */
    if (u == U_MS || u == U_SECOND || u == U_MINUTE || u == U_HOUR) {
        int64_t size, shifted;
        if (__builtin_mul_overflow(bin, unit_ms(u), &size))
            return status_set(st, 5439002, "dateTrunc overflowed");
        if (__builtin_sub_overflow(date, ref_utc, &shifted))
            return status_set(st, 5439000, "dateTrunc overflowed");
        if (__builtin_sub_overflow(date, bin_floor(shifted, size), out))
            return status_set(st, 5439001, "dateTrunc overflowed");
        return 0;
    }
    if (bin > 100000000000LL)
        return status_set(st, 5439006, "dateTrunc unsupported binSize value");
    int64_t ref = ref_utc - (int64_t)qry__tz_offset(tz, ref_utc / 1000) * 1000;
    int64_t ref_days = qry__dt_days_from_civil(2000, 1, 1);
    if (u == U_WEEK) {
        /* 2000-01-01 was a Saturday (ISO 6): move to the next start-of-week day. */
        int64_t adjust = (7 - (6 - sow + 7) % 7) % 7;
        ref += adjust * QRY__MS_PER_DAY;
        ref_days += adjust;
    }
    qry__dt_parts_t p;
    qry__dt_split(date, tz, &p);
    int64_t dist;
    switch (u) {
    case U_DAY:
        dist = p.days - ref_days;
        break;
    case U_WEEK:
        dist = (p.days - ref_days + week_index(ref_days, sow) - week_index(p.days, sow)) / 7;
        break;
    case U_MONTH:
        dist = (p.year - 2000) * 12 + p.month - 1;
        break;
    case U_QUARTER:
        dist = (p.year - 2000) * 4 + (p.month - 1) / 3;
        break;
    default:
        dist = p.year - 2000;
        break;
    }
    int64_t lower = dist - bin_floor(dist, bin);
    int ret = date_add(ref, u, lower, tz, out, st);
    return ret;
}

static int eval_trunc(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t dv, bv;
    unit_t u;
    bool null;
    int sow = 7;
    int64_t bin = 1, date, r;
    const qry__tz_t *tz;
    ST_RET(qry__expr_eval(cx, node->args[DT_DATE], &dv, st));
    if (qry__expr_is_nullish(&dv))
        goto null;
    if (node->args[DT_BIN] != NULL) {
        ST_RET(qry__expr_eval(cx, node->args[DT_BIN], &bv, st));
        if (qry__expr_is_nullish(&bv))
            goto null;
        if (!bsonu_number_as_int64(&bv, &bin)) {
            char vs[128];
            qry__dt_value_str(&bv, vs, sizeof(vs));
            return status_set(st, 5439017,
                              "$dateTrunc requires 'binSize' to be a 64-bit integer, but got value "
                              "'%s' of type %s",
                              vs, qry__expr_type_name(&bv));
        }
        if (bin <= 0)
            return status_set(st, 5439018,
                              "$dateTrunc requires 'binSize' to be greater than 0, but got value "
                              "%lld",
                              (long long)bin);
    }
    ST_RET(eval_unit(cx, node, node->args[DT_UNIT], &u, &null, st));
    if (null)
        goto null;
    if (u == U_WEEK) {
        ST_RET(eval_start_of_week(cx, node, node->args[DT_SOW], &sow, &null, st));
        if (null)
            goto null;
    }
    if (qry__dt_eval_tz(cx, node->args[DT_TZ], &tz, st) != 0) {
        status_prefix(st, "$dateTrunc parameter 'timezone' value parsing failed :: caused by :: ");
        return st->code;
    }
    if (tz == NULL)
        goto null;
    if (!qry__dt_coerce(&dv, &date))
        return status_set(st, 5166307, "$dateTrunc requires 'date' to be a date, but got %s",
                          qry__expr_type_name(&dv));
    ST_RET(date_trunc(date, u, bin, tz, sow, &r, st));
    set_date(out, r);
    return 0;
null:
    qry__expr_set_null(out);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */

#define PART(name)                                                                                 \
    {                                                                                              \
        name, 0, 0, parse_part, eval_part, NULL, 0                                                 \
    }

static const qry__expr_op_t date_ops[] = {
    PART("$year"),
    PART("$month"),
    PART("$dayOfMonth"),
    PART("$hour"),
    PART("$minute"),
    PART("$second"),
    PART("$millisecond"),
    PART("$dayOfWeek"),
    PART("$dayOfYear"),
    PART("$week"),
    PART("$isoWeek"),
    PART("$isoWeekYear"),
    PART("$isoDayOfWeek"),
    {"$dateToString", 0, 0, parse_to_string, eval_to_string, NULL, 0},
    {"$dateFromString", 0, 0, parse_from_string, eval_from_string, NULL, 0},
    {"$dateToParts", 0, 0, parse_to_parts, eval_to_parts, NULL, 0},
    {"$dateFromParts", 0, 0, parse_from_parts, eval_from_parts, NULL, 0},
    {"$dateAdd", 0, 0, parse_add, eval_add, NULL, 0},
    {"$dateSubtract", 0, 0, parse_add, eval_add, NULL, 0},
    {"$dateDiff", 0, 0, parse_diff, eval_diff, NULL, 0},
    {"$dateTrunc", 0, 0, parse_trunc, eval_trunc, NULL, 0},
};

/* The date operators, for the registry in expr.c. */
const qry__expr_table_t qry__expr_date_table = {date_ops, sizeof(date_ops) / sizeof(date_ops[0])};
