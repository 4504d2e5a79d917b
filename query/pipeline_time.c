/*
 * pipeline_time.c -- time units for the stages that step through dates:
 * $setWindowFields range windows and $derivative/$integral, and $densify.
 * Fixed units are milliseconds; months, quarters and years move the
 * calendar date (UTC, proleptic Gregorian) and clamp the day to the month's
 * length, as $dateAdd does.
 */
#include "query/pipeline_int.h"

#include <string.h>

static const struct {
    const char *name;
    qry__pl_unit_t unit;
    int64_t ms; /* 0: calendar unit */
} wunits[] = {
    {"millisecond", QRY__PL_UNIT_MS, 1},    {"second", QRY__PL_UNIT_SECOND, 1000},
    {"minute", QRY__PL_UNIT_MINUTE, 60000}, {"hour", QRY__PL_UNIT_HOUR, 3600000},
    {"day", QRY__PL_UNIT_DAY, 86400000},    {"week", QRY__PL_UNIT_WEEK, 604800000},
    {"month", QRY__PL_UNIT_MONTH, 0},       {"quarter", QRY__PL_UNIT_QUARTER, 0},
    {"year", QRY__PL_UNIT_YEAR, 0},
};

/* qry__pl_unit_parse -- a unit name ("day"); calendar units only when calendar_ok. */
int qry__pl_unit_parse(const bson_iter_t *it, bool calendar_ok, qry__pl_unit_t *u, status_t *st)
{
    const char *name = BSON_ITER_HOLDS_UTF8(it) ? bson_iter_utf8(it, NULL) : "";
    for (size_t i = 0; i < sizeof wunits / sizeof wunits[0]; i++) {
        if (strcmp(wunits[i].name, name) == 0) {
            if (!calendar_ok && wunits[i].ms == 0)
                return status_set(st, 5490704, "unit must be 'week' or smaller");
            *u = wunits[i].unit;
            return 0;
        }
    }
    return status_set(st, ERR_FailedToParse, "unknown time unit value: %s", name);
}

/* qry__pl_unit_ms -- milliseconds in a fixed unit (0 for month, quarter, year). */
int64_t qry__pl_unit_ms(qry__pl_unit_t u)
{
    for (size_t i = 0; i < sizeof wunits / sizeof wunits[0]; i++)
        if (wunits[i].unit == u)
            return wunits[i].ms;
    return 0;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* days_from_civil -- days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* civil_from_days -- the inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

/*
 * qry__pl_date_shift -- ms moved by n units (UTC). Months, quarters and years move
 * the calendar date and clamp the day to the month's length (Jan 31 + 1
 * month = Feb 28/29), as $dateAdd does.
 */
double qry__pl_date_shift(int64_t ms, qry__pl_unit_t u, double n)
{
    int64_t fixed = qry__pl_unit_ms(u);
    if (fixed)
        return (double)ms + n * (double)fixed;
    int64_t months = (int64_t)n * (u == QRY__PL_UNIT_YEAR ? 12 : u == QRY__PL_UNIT_QUARTER ? 3 : 1);
    int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - day * 86400000;
    int64_t y, m, d;
    civil_from_days(day, &y, &m, &d);
    int64_t total = y * 12 + (m - 1) + months;
    y = total >= 0 ? total / 12 : -((-total + 11) / 12);
    m = total - y * 12 + 1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t dim = mdays[m - 1] + (m == 2 && leap(y));
    if (d > dim)
        d = dim;
    return (double)(days_from_civil(y, m, d) * 86400000 + rem);
}
