/*
 * expr_date_string.c -- $dateFromString's parser: date strings in ISO 8601
 * and the common variants (no format), or following a format of MongoDB's
 * specifiers (%Y %m %d %H %M %S %L %j %G %V %u %z %Z %b %B %%).
 *
 * MongoDB parses with timelib, which accepts a great many forms; this parser
 * takes the forms people store in practice (ISO dates and times with 'T' or a
 * space, fractions, 'Z' / UTC / GMT / numeric offsets, "/" separated dates,
 * and English month names) and fails the rest with ConversionFailure (241),
 * the code $dateFromString's onError catches. docs/aggregation.md lists what
 * is accepted.
 */
#include "query/expr_int.h"
#include "query/datetime_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define UNSET INT64_MIN

/* What a parse found. Fields the string did not give stay UNSET. */
typedef struct found {
    int64_t y, m, d, h, mi, s, ms, doy, iso_y, iso_w, iso_d;
    bool has_zone;
    bool zone_is_offset; /* a numeric offset; else an abbreviation (Z, UTC, GMT) */
    char abbr[8];
    int32_t offset;
} found_t;

typedef struct scan {
    const char *s;
    size_t len, pos;
} scan_t;

static const char *const months[] = {"january",   "february", "march",    "april",
                                     "may",       "june",     "july",     "august",
                                     "september", "october",  "november", "december"};

/* fail -- MongoDB's "Error parsing date string" message, with position and character. */
static int fail(const scan_t *sc, const char *why, status_t *st)
{
    char c = sc->pos < sc->len ? sc->s[sc->pos] : '\0';
    int shown = (int)(sc->len > 200 ? 200 : sc->len);
    if (c == '\0')
        return status_set(st, ERR_ConversionFailure, "Error parsing date string '%.*s'; %zu: %s",
                          shown, sc->s, sc->pos, why);
    return status_set(st, ERR_ConversionFailure, "Error parsing date string '%.*s'; %zu: %s '%c'",
                      shown, sc->s, sc->pos, why, c);
}

static bool at_digit(const scan_t *sc)
{
    return sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9';
}

/* digits -- between min and max digits into *v; false if fewer than min. */
static bool digits(scan_t *sc, int min, int max, int64_t *v)
{
    int n = 0;
    int64_t x = 0;
    while (n < max && at_digit(sc)) {
        x = x * 10 + (sc->s[sc->pos++] - '0');
        n++;
    }
    if (n < min)
        return false;
    *v = x;
    return true;
}

static bool eat(scan_t *sc, char c)
{
    if (sc->pos < sc->len && sc->s[sc->pos] == c) {
        sc->pos++;
        return true;
    }
    return false;
}

static void skip_spaces(scan_t *sc)
{
    while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t'))
        sc->pos++;
}

/* month_name -- a full English month name or its first three letters, any case. */
static bool month_name(scan_t *sc, bool full_only, bool abbr_only, int64_t *m)
{
    size_t n = 0;
    while (sc->pos + n < sc->len &&
           ((sc->s[sc->pos + n] | 0x20) >= 'a' && (sc->s[sc->pos + n] | 0x20) <= 'z'))
        n++;
    for (int i = 0; i < 12; i++) {
        size_t fl = strlen(months[i]);
        bool is_full = n == fl && strncasecmp(sc->s + sc->pos, months[i], n) == 0;
        bool is_abbr = n == 3 && strncasecmp(sc->s + sc->pos, months[i], 3) == 0;
        if ((is_full && !abbr_only) || (is_abbr && !full_only)) {
            sc->pos += n;
            *m = i + 1;
            return true;
        }
    }
    return false;
}

/* offset -- "+HH", "+HHMM", "+HH:MM" (or '-') into seconds. */
static bool offset(scan_t *sc, int32_t *out)
{
    int sign;
    int64_t h, m = 0;
    if (eat(sc, '+'))
        sign = 1;
    else if (eat(sc, '-'))
        sign = -1;
    else
        return false;
    if (!digits(sc, 1, 2, &h))
        return false;
    if (eat(sc, ':')) {
        if (!digits(sc, 2, 2, &m))
            return false;
    } else if (at_digit(sc) && !digits(sc, 2, 2, &m)) {
        return false;
    }
    *out = sign * (int32_t)(h * 3600 + m * 60);
    return true;
}

/* zone -- an optional trailing zone: Z, UTC, GMT (optionally followed by an offset), or an offset.
 */
static bool zone(scan_t *sc, found_t *f)
{
    static const char *const abbrs[] = {"UTC", "GMT", "Z"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(abbrs[i]);
        if (sc->len - sc->pos >= n && strncasecmp(sc->s + sc->pos, abbrs[i], n) == 0) {
            sc->pos += n;
            f->has_zone = true;
            (void)snprintf(f->abbr, sizeof(f->abbr), "%s", abbrs[i]);
            int32_t off;
            size_t save = sc->pos;
            if (offset(sc, &off)) {
                f->offset = off;
                f->zone_is_offset = true;
            } else {
                sc->pos = save;
            }
            return true;
        }
    }
    if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-')) {
        if (!offset(sc, &f->offset))
            return false;
        f->has_zone = true;
        f->zone_is_offset = true;
        return true;
    }
    return true;
}

/* time_of_day -- HH:MM[:SS[.fraction]]. */
static bool time_of_day(scan_t *sc, found_t *f)
{
    if (!digits(sc, 1, 2, &f->h) || !eat(sc, ':') || !digits(sc, 2, 2, &f->mi))
        return false;
    f->s = 0;
    f->ms = 0;
    if (eat(sc, ':')) {
        if (!digits(sc, 2, 2, &f->s))
            return false;
        if (eat(sc, '.') || eat(sc, ',')) {
            int n = 0;
            int64_t frac = 0;
            if (!at_digit(sc))
                return false;
            while (at_digit(sc)) {
                if (n < 3)
                    frac = frac * 10 + (sc->s[sc->pos] - '0');
                n++;
                sc->pos++;
            }
            while (n < 3) {
                frac *= 10;
                n++;
            }
            f->ms = frac;
        }
    }
    return true;
}

/* parse_free -- the no-format forms. */
static int parse_free(scan_t *sc, found_t *f, status_t *st)
{
    skip_spaces(sc);
    if (at_digit(sc)) {
        /* YYYY-MM-DD or YYYY/MM/DD (a date needs all three parts) */
        if (!digits(sc, 4, 4, &f->y))
            return fail(sc, "Unexpected character", st);
        char sep = sc->pos < sc->len ? sc->s[sc->pos] : '\0';
        if (sep != '-' && sep != '/')
            return fail(sc, "Unexpected character", st);
        sc->pos++;
        if (!digits(sc, 1, 2, &f->m) || !eat(sc, sep) || !digits(sc, 1, 2, &f->d))
            return fail(sc, "Unexpected character", st);
    } else {
        /* "July 4, 2017" or "Jul 4 2017" */
        if (!month_name(sc, false, false, &f->m))
            return fail(sc, "Unexpected character", st);
        skip_spaces(sc);
        if (!digits(sc, 1, 2, &f->d))
            return fail(sc, "Unexpected character", st);
        (void)eat(sc, ',');
        skip_spaces(sc);
        if (!digits(sc, 4, 4, &f->y))
            return fail(sc, "Unexpected character", st);
    }
    if (sc->pos < sc->len &&
        (sc->s[sc->pos] == 'T' || sc->s[sc->pos] == 't' || sc->s[sc->pos] == ' ')) {
        size_t save = sc->pos;
        sc->pos++;
        skip_spaces(sc);
        if (at_digit(sc)) {
            if (!time_of_day(sc, f))
                return fail(sc, "Unexpected character", st);
        } else {
            sc->pos = save;
            skip_spaces(sc);
        }
    }
    skip_spaces(sc);
    if (!zone(sc, f))
        return fail(sc, "Unexpected character", st);
    skip_spaces(sc);
    if (sc->pos != sc->len)
        return fail(sc, "Unexpected character", st);
    return 0;
}

/* parse_format -- follow a validated format. */
static int parse_format(scan_t *sc, const char *fmt, found_t *f, status_t *st)
{
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            if (!eat(sc, *p))
                return fail(sc,
                            sc->pos < sc->len ? "The format separator does not match"
                                              : "Not enough data available to satisfy format",
                            st);
            continue;
        }
        p++;
        bool ok = true;
        const char *why = "Unexpected data found.";
        switch (*p) {
        case '%':
            ok = eat(sc, '%');
            break;
        case 'Y':
            ok = digits(sc, 1, 4, &f->y);
            why = "A four digit year could not be found";
            break;
        case 'm':
            ok = digits(sc, 1, 2, &f->m);
            why = "A two digit month could not be found";
            break;
        case 'd':
            ok = digits(sc, 1, 2, &f->d);
            why = "A two digit day could not be found";
            break;
        case 'H':
            ok = digits(sc, 1, 2, &f->h);
            why = "A two digit hour could not be found";
            break;
        case 'M':
            ok = digits(sc, 1, 2, &f->mi);
            why = "A two digit minute could not be found";
            break;
        case 'S':
            ok = digits(sc, 1, 2, &f->s);
            why = "A two digit second could not be found";
            break;
        case 'L':
            ok = digits(sc, 1, 3, &f->ms);
            why = "A three digit millisecond could not be found";
            break;
        case 'j':
            ok = digits(sc, 1, 3, &f->doy);
            why = "A three digit day-of-year could not be found";
            break;
        case 'G':
            ok = digits(sc, 1, 4, &f->iso_y);
            why = "A four digit ISO year could not be found";
            break;
        case 'V':
            ok = digits(sc, 1, 2, &f->iso_w);
            why = "A two digit ISO week could not be found";
            break;
        case 'u':
            ok = digits(sc, 1, 1, &f->iso_d);
            why = "A single digit day of week could not be found";
            break;
        case 'b':
            ok = month_name(sc, false, true, &f->m);
            why = "A textual month could not be found";
            break;
        case 'B':
            ok = month_name(sc, true, false, &f->m);
            why = "A textual month could not be found";
            break;
        case 'z':
            ok = offset(sc, &f->offset);
            f->has_zone = f->zone_is_offset = ok;
            why = "The timezone could not be found in the database";
            break;
        case 'Z': {
            int sign = eat(sc, '-') ? -1 : (eat(sc, '+'), 1);
            int64_t minutes;
            ok = digits(sc, 1, 4, &minutes);
            f->offset = (int32_t)(sign * minutes * 60);
            f->has_zone = f->zone_is_offset = ok;
            why = "The timezone could not be found in the database";
            break;
        }
        default:
            ok = false;
            break;
        }
        if (!ok)
            return fail(sc, why, st);
    }
    if (sc->pos != sc->len)
        return fail(sc, "Trailing data", st);
    return 0;
}

/* qry__dt_parse_string -- parse, check completeness and zones, resolve to an instant. */
int qry__dt_parse_string(const char *s, size_t len, const char *format, const qry__tz_t *tz,
                         int64_t *out, status_t *st)
{
    found_t f = {UNSET, UNSET, UNSET, UNSET, UNSET, UNSET, UNSET, UNSET, UNSET, UNSET, UNSET};
    scan_t sc = {s, len, 0};
    int shown = (int)(len > 200 ? 200 : len);
    if (format != NULL)
        ST_RET(parse_format(&sc, format, &f, st));
    else
        ST_RET(parse_free(&sc, &f, st));

    /* No time at all means midnight; part of a time means the rest is zero. */
    if (f.h == UNSET && f.mi == UNSET && f.s == UNSET) {
        f.h = f.mi = f.s = 0;
    }
    if (f.h == UNSET || f.mi == UNSET || f.s == UNSET) {
        if (format == NULL)
            goto incomplete;
        f.h = f.h == UNSET ? 0 : f.h;
        f.mi = f.mi == UNSET ? 0 : f.mi;
        f.s = f.s == UNSET ? 0 : f.s;
    }
    if (f.ms == UNSET)
        f.ms = 0;

    int64_t y, m, d;
    if (f.iso_y != UNSET || f.iso_w != UNSET || f.iso_d != UNSET) {
        if (f.iso_y == UNSET)
            goto incomplete;
        y = 1970;
        m = 1;
        d = 1 + qry__dt_days_from_iso(f.iso_y, f.iso_w == UNSET ? 1 : f.iso_w,
                                      f.iso_d == UNSET ? 1 : f.iso_d);
    } else if (f.doy != UNSET && f.y != UNSET) {
        y = f.y;
        m = 1;
        d = f.doy;
    } else {
        if (f.y == UNSET || f.m == UNSET || f.d == UNSET)
            goto incomplete;
        y = f.y;
        m = f.m;
        d = f.d;
        if (m < 1 || m > 12 || d < 1 || d > qry__dt_days_in_month(y, (int)m) || f.h > 24 ||
            f.mi > 59 || f.s > 60) {
            sc.pos = 0;
            return status_set(st, ERR_ConversionFailure,
                              "Error parsing date string '%.*s'; The parsed date was invalid",
                              shown, s);
        }
    }
    if (f.has_zone && !qry__tz_is_utc(tz)) {
        if (f.zone_is_offset)
            return status_set(st, ERR_ConversionFailure,
                              "you cannot pass in a date/time string with GMT offset together "
                              "with a timezone argument");
        return status_set(st, ERR_ConversionFailure,
                          "you cannot pass in a date/time string with time zone information "
                          "('%s') together with a timezone argument",
                          f.abbr);
    }
    int64_t r;
    if (qry__dt_from_local(f.has_zone ? qry__tz_utc() : tz, y, m, d, f.h, f.mi, f.s, f.ms, &r,
                           st) != 0)
        return status_set(st, ERR_ConversionFailure, "Error parsing date string '%.*s'", shown, s);
    *out = r - (int64_t)f.offset * 1000;
    return 0;
incomplete:
    return status_set(st, ERR_ConversionFailure,
                      "an incomplete date/time string has been found, with elements missing: "
                      "\"%.*s\"",
                      shown, s);
}
