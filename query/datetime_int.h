/*
 * datetime_int.h -- query/'s calendar and time-zone core (query/datetime.c),
 * private to query/. The aggregation date operators (query/expr_date*.c) are
 * built on it.
 *
 * Dates are int64 milliseconds since the Unix epoch, negative allowed, over
 * the whole int64 range. The calendar is the proleptic Gregorian one with
 * astronomical years (year 0 exists, 1 BC). Time zones come from the system
 * tz database (/usr/share/zoneinfo, TZif files read by our own parser and
 * cached for the life of the process) or are fixed UTC offsets.
 */
#ifndef MICA_QUERY_DATETIME_INT_H
#define MICA_QUERY_DATETIME_INT_H

#include "common/common.h"

/* ------------------------------------------------------------------------ */
/* Time zones                                                                */
/* ------------------------------------------------------------------------ */

typedef struct qry__tz qry__tz_t;

/*
 * qry__tz_get -- the zone named by name[0..len): an Olson identifier of the
 * system tz database ("America/New_York", "UTC", "GMT", ...) or a UTC offset
 * "+HH", "+HHMM", "+HH:MM" (or '-'). Zones are immutable and live for the
 * process, so *out may be kept and shared between threads. Unknown names fail
 * with 40485 "unrecognized time zone identifier: \"<name>\"".
 */
int qry__tz_get(const char *name, size_t len, const qry__tz_t **out, status_t *st);
/* qry__tz_utc -- the UTC zone (the default when no timezone is given). */
const qry__tz_t *qry__tz_utc(void);
/* qry__tz_is_fixed -- whether the zone is UTC or a fixed offset (no rules, no DST). */
bool qry__tz_is_fixed(const qry__tz_t *tz);
/* qry__tz_is_utc -- whether the zone is UTC itself (or an offset of zero). */
bool qry__tz_is_utc(const qry__tz_t *tz);
/* qry__tz_name -- the name the zone was looked up by ("UTC" for the default). */
const char *qry__tz_name(const qry__tz_t *tz);
/* qry__tz_offset -- the zone's offset east of UTC, in seconds, at UTC second t. */
int32_t qry__tz_offset(const qry__tz_t *tz, int64_t t);
/*
 * qry__tz_local_to_utc -- the UTC second of local wall-clock second `local`
 * in tz. A local time in a spring-forward gap resolves past the gap (02:30
 * on a New York spring-forward day is 03:30 EDT); an ambiguous one in a
 * fall-back overlap resolves to the earlier instant (daylight time), as
 * MongoDB does.
 */
int64_t qry__tz_local_to_utc(const qry__tz_t *tz, int64_t local);
/* qry__tz_cache_clear -- drop the loaded-zone cache (tests; not thread-safe against users). */
void qry__tz_cache_clear(void);

/* ------------------------------------------------------------------------ */
/* Calendar arithmetic (proleptic Gregorian, any int64 year that fits)       */
/* ------------------------------------------------------------------------ */

#define QRY__MS_PER_SEC  1000LL
#define QRY__MS_PER_MIN  60000LL
#define QRY__MS_PER_HOUR 3600000LL
#define QRY__MS_PER_DAY  86400000LL
#define QRY__SEC_PER_DAY 86400LL

/* qry__dt_floordiv -- a / b rounded toward minus infinity (b > 0). */
int64_t qry__dt_floordiv(int64_t a, int64_t b);
/* qry__dt_floormod -- a mod b in [0, b) (b > 0). */
int64_t qry__dt_floormod(int64_t a, int64_t b);
/* qry__dt_is_leap -- whether year y has a 29 February. */
bool qry__dt_is_leap(int64_t y);
/* qry__dt_days_in_month -- 28..31 (month 1..12). */
int qry__dt_days_in_month(int64_t y, int month);
/* qry__dt_days_from_civil -- days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
int64_t qry__dt_days_from_civil(int64_t y, int m, int d);
/* qry__dt_civil_from_days -- the date of day number `days` (inverse of the above). */
void qry__dt_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* qry__dt_day_of_year -- 1..366. */
int qry__dt_day_of_year(int64_t y, int m, int d);
/* qry__dt_iso_dow_of_days -- ISO day of week of a day number: 1 = Monday .. 7 = Sunday. */
int qry__dt_iso_dow_of_days(int64_t days);
/* qry__dt_iso_week -- ISO 8601 week-numbering year and week (1..53) of y-m-d. */
void qry__dt_iso_week(int64_t y, int m, int d, int64_t *iso_year, int *iso_week);
/* qry__dt_days_from_iso -- day number of ISO year/week/day (out-of-range week/day carry over). */
int64_t qry__dt_days_from_iso(int64_t iso_year, int64_t week, int64_t dow);

/* A date broken down in a time zone. */
typedef struct qry__dt_parts {
    int64_t year;
    int month;       /* 1..12 */
    int day;         /* 1..31 */
    int hour;        /* 0..23 */
    int minute;      /* 0..59 */
    int second;      /* 0..59 */
    int millisecond; /* 0..999 */
    int day_of_year; /* 1..366 */
    int dow;         /* MongoDB's $dayOfWeek: 1 = Sunday .. 7 = Saturday */
    int iso_dow;     /* 1 = Monday .. 7 = Sunday */
    int week;        /* $week / %U: 0..53, weeks start on Sunday */
    int iso_week;    /* 1..53 */
    int64_t iso_year;
    int32_t offset; /* seconds east of UTC in effect at that instant */
    int64_t days;   /* local day number since 1970-01-01 */
} qry__dt_parts_t;

/* qry__dt_split -- break the instant ms down into local parts in tz. */
void qry__dt_split(int64_t ms, const qry__tz_t *tz, qry__dt_parts_t *out);

/*
 * qry__dt_from_local -- the instant of a local date and time in tz. Every
 * field may be out of its usual range and carries over the way MongoDB's
 * $dateFromParts does (month 14 is February of the next year, day 0 the last
 * day of the previous month, minute -1 the previous hour's last minute, ...).
 * Fails with 5166406-like overflow statuses only when the result leaves int64.
 */
int qry__dt_from_local(const qry__tz_t *tz, int64_t year, int64_t month, int64_t day, int64_t hour,
                       int64_t minute, int64_t second, int64_t ms, int64_t *out, status_t *st);

/* ------------------------------------------------------------------------ */
/* Helpers shared by the date operator files (query/expr_date*.c)            */
/* ------------------------------------------------------------------------ */

typedef struct qry_expr qry_expr_t;
typedef struct qry_expr_ctx qry_expr_ctx_t;

/*
 * qry__dt_coerce -- the milliseconds of a Date, Timestamp (seconds) or
 * ObjectId (its creation second); false for any other type.
 */
bool qry__dt_coerce(const bson_value_t *v, int64_t *ms);
/* qry__dt_coerce_or_16006 -- qry__dt_coerce, else 16006 "can't convert from BSON type X to Date".
 */
int qry__dt_coerce_or_16006(const bson_value_t *v, int64_t *ms, status_t *st);
/*
 * qry__dt_eval_tz -- evaluate a timezone argument: NULL means UTC; a nullish
 * result sets *tz to NULL (the operator answers null); a non-string fails
 * with 40517, an unknown name with 40485.
 */
int qry__dt_eval_tz(qry_expr_ctx_t *cx, const qry_expr_t *arg, const qry__tz_t **tz, status_t *st);
/* qry__dt_value_str -- a short rendering of v for error messages (MongoDB's Value::toString). */
void qry__dt_value_str(const bson_value_t *v, char *buf, size_t len);

/*
 * qry__dt_parse_string -- $dateFromString's parser: dateString in tz, with
 * an optional format (NULL: ISO 8601 and the common forms). Parse failures
 * are ConversionFailure (241), which onError catches.
 */
int qry__dt_parse_string(const char *s, size_t len, const char *format, const qry__tz_t *tz,
                         int64_t *out, status_t *st);
/* qry__dt_check_format -- 18535/18536 for a bad $dateToString (to_string) or from-string format. */
int qry__dt_check_format(const char *format, bool to_string, status_t *st);

#endif /* MICA_QUERY_DATETIME_INT_H */
