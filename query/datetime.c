/*
 * datetime.c -- the calendar and time-zone core under the aggregation date
 * operators: proleptic Gregorian arithmetic on int64 day numbers, ISO weeks,
 * and time zones read from the system tz database.
 *
 * Why our own TZif reader: libc's localtime_r follows the process-wide TZ
 * variable, and switching it per call (setenv + tzset) is not thread-safe.
 * A zone here is an immutable table (transitions, offsets, and the POSIX rule
 * of the file's footer for instants past the table), loaded once per name and
 * kept in a process-wide cache, so evaluation never takes more than a short
 * lock and never touches the file system twice for one zone.
 *
 * Conventions follow MongoDB (which uses timelib): instants before the first
 * transition take the file's first time type (local mean time for most
 * zones); leap-second records are ignored; local times in a DST gap move past
 * the gap and ambiguous local times take the first (daylight) instant.
 */
#include "query/datetime_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Calendar                                                                  */
/* ------------------------------------------------------------------------ */

/* qry__dt_floordiv -- a / b rounded toward minus infinity (b > 0). */
int64_t qry__dt_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) != 0 && a < 0)
        q--;
    return q;
}

/* qry__dt_floormod -- a mod b in [0, b) (b > 0). */
int64_t qry__dt_floormod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

/* qry__dt_is_leap -- whether year y has a 29 February. */
bool qry__dt_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* qry__dt_days_in_month -- 28..31 (month 1..12). */
int qry__dt_days_in_month(int64_t y, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && qry__dt_is_leap(y))
        return 29;
    return days[(month - 1) % 12];
}

/*
 * qry__dt_days_from_civil -- days since 1970-01-01 of y-m-d. The year is
 * shifted to start in March so that the leap day is the last day of a
 * "year", and 400-year eras (146097 days each) make the arithmetic exact for
 * negative years too.
 */
int64_t qry__dt_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = qry__dt_floordiv(y, 400);
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* qry__dt_civil_from_days -- the date of day number `days` (inverse of the above). */
void qry__dt_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = qry__dt_floordiv(days, 146097);
    int64_t doe = days - era * 146097;                                   /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* qry__dt_day_of_year -- 1..366. */
int qry__dt_day_of_year(int64_t y, int m, int d)
{
    return (int)(qry__dt_days_from_civil(y, m, d) - qry__dt_days_from_civil(y, 1, 1)) + 1;
}

/* qry__dt_iso_dow_of_days -- 1 = Monday .. 7 = Sunday (1970-01-01 was a Thursday). */
int qry__dt_iso_dow_of_days(int64_t days)
{
    return (int)qry__dt_floormod(days + 3, 7) + 1;
}

/*
 * qry__dt_iso_week -- ISO 8601 week date: a week belongs to the year that
 * holds its Thursday, so find this week's Thursday and count from that year's
 * first day.
 */
void qry__dt_iso_week(int64_t y, int m, int d, int64_t *iso_year, int *iso_week)
{
    int64_t days = qry__dt_days_from_civil(y, m, d);
    int64_t thursday = days - qry__dt_iso_dow_of_days(days) + 4;
    int64_t ty;
    int tm, td;
    qry__dt_civil_from_days(thursday, &ty, &tm, &td);
    *iso_year = ty;
    *iso_week = (int)((thursday - qry__dt_days_from_civil(ty, 1, 1)) / 7 + 1);
}

/* qry__dt_days_from_iso -- week 1 is the week holding 4 January; the rest is counting. */
int64_t qry__dt_days_from_iso(int64_t iso_year, int64_t week, int64_t dow)
{
    int64_t jan4 = qry__dt_days_from_civil(iso_year, 1, 4);
    int64_t monday1 = jan4 - (qry__dt_iso_dow_of_days(jan4) - 1);
    return monday1 + (week - 1) * 7 + (dow - 1);
}

/* ------------------------------------------------------------------------ */
/* Time zones                                                                */
/* ------------------------------------------------------------------------ */

typedef enum tz_kind { TZ_UTC, TZ_FIXED, TZ_OLSON } tz_kind_t;

/* One transition rule of a POSIX TZ string ("M3.2.0/2", "J60", "59"). */
typedef struct tz_rule {
    char kind;    /* 'M' month.week.day, 'J' Julian 1..365 without 29 Feb, 'N' 0..365 */
    int a, b, c;  /* M: month, week (1..5, 5 = last), weekday (0 = Sunday); J/N: day in a */
    int32_t time; /* local seconds after midnight (may be negative or > 24h) */
} tz_rule_t;

struct qry__tz {
    char *name;
    tz_kind_t kind;
    int32_t fixed; /* TZ_FIXED: seconds east of UTC */
    /* TZ_OLSON: the transition table */
    size_t ntrans;
    int64_t *trans; /* UTC seconds, ascending */
    uint8_t *trans_type;
    size_t ntypes;
    int32_t *type_off;
    /* the footer's POSIX rule, for instants past the table */
    bool has_rule;
    bool rule_dst;
    int32_t std_off, dst_off;
    tz_rule_t start, end;
    struct qry__tz *next; /* cache bucket chain */
};

static qry__tz_t utc_zone = {.name = (char *)"UTC", .kind = TZ_UTC};

/* qry__tz_utc -- the UTC zone. */
const qry__tz_t *qry__tz_utc(void)
{
    return &utc_zone;
}

/* qry__tz_is_fixed -- UTC or a fixed offset. */
bool qry__tz_is_fixed(const qry__tz_t *tz)
{
    return tz->kind != TZ_OLSON;
}

/* qry__tz_is_utc -- UTC itself or a zero offset (MongoDB's "UTC zone"; "GMT" is an Olson zone). */
bool qry__tz_is_utc(const qry__tz_t *tz)
{
    return tz->kind == TZ_UTC || (tz->kind == TZ_FIXED && tz->fixed == 0);
}

/* qry__tz_name -- the name the zone was looked up by. */
const char *qry__tz_name(const qry__tz_t *tz)
{
    return tz->name;
}

static void tz_free(qry__tz_t *tz)
{
    if (tz == NULL || tz == &utc_zone)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->trans_type);
    free(tz->type_off);
    free(tz);
}

/* rule_day -- the day number (since the epoch) on which rule r falls in year y. */
static int64_t rule_day(const tz_rule_t *r, int64_t y)
{
    int64_t jan1 = qry__dt_days_from_civil(y, 1, 1);
    switch (r->kind) {
    case 'J':
        /* 1..365, 29 February never counted: day 60 is always 1 March. */
        return jan1 + r->a - 1 + ((qry__dt_is_leap(y) && r->a >= 60) ? 1 : 0);
    case 'N':
        return jan1 + r->a;
    default: {
        int64_t first = qry__dt_days_from_civil(y, r->a, 1);
        int first_dow = qry__dt_iso_dow_of_days(first) % 7; /* 0 = Sunday */
        int64_t day = first + (r->c - first_dow + 7) % 7 + (int64_t)(r->b - 1) * 7;
        int dim = qry__dt_days_in_month(y, r->a);
        while (day >= first + dim)
            day -= 7;
        return day;
    }
    }
}

/*
 * rule_info -- offset and start of the period holding UTC second t under the
 * footer rule. The transitions of the years around t's are enough: one of
 * them is the latest at or before t.
 */
static int32_t rule_info(const qry__tz_t *tz, int64_t t, int64_t *start)
{
    if (!tz->rule_dst) {
        *start = INT64_MIN;
        return tz->std_off;
    }
    int64_t y;
    int m, d;
    qry__dt_civil_from_days(qry__dt_floordiv(t + tz->std_off, QRY__SEC_PER_DAY), &y, &m, &d);
    int64_t best = INT64_MIN;
    int32_t off = tz->std_off;
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        /* Daylight time starts at a standard-time wall clock and ends at a daylight one. */
        int64_t s = rule_day(&tz->start, yy) * QRY__SEC_PER_DAY + tz->start.time - tz->std_off;
        int64_t e = rule_day(&tz->end, yy) * QRY__SEC_PER_DAY + tz->end.time - tz->dst_off;
        if (s <= t && s > best) {
            best = s;
            off = tz->dst_off;
        }
        if (e <= t && e > best) {
            best = e;
            off = tz->std_off;
        }
    }
    *start = best;
    return off;
}

/* tz_info -- offset at UTC second t and the start of its period (INT64_MIN: none known). */
static int32_t tz_info(const qry__tz_t *tz, int64_t t, int64_t *start)
{
    *start = INT64_MIN;
    if (tz->kind == TZ_UTC)
        return 0;
    if (tz->kind == TZ_FIXED)
        return tz->fixed;
    if (tz->ntrans == 0) {
        if (tz->has_rule)
            return rule_info(tz, t, start);
        return tz->ntypes > 0 ? tz->type_off[0] : 0;
    }
    if (t < tz->trans[0])
        return tz->type_off[0];
    if (t >= tz->trans[tz->ntrans - 1] && tz->has_rule) {
        int32_t off = rule_info(tz, t, start);
        if (*start < tz->trans[tz->ntrans - 1])
            *start = tz->trans[tz->ntrans - 1];
        return off;
    }
    size_t lo = 0, hi = tz->ntrans; /* the answer is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    *start = tz->trans[lo];
    return tz->type_off[tz->trans_type[lo]];
}

/* qry__tz_offset -- seconds east of UTC at UTC second t. */
int32_t qry__tz_offset(const qry__tz_t *tz, int64_t t)
{
    int64_t start;
    return tz_info(tz, t, &start);
}

/*
 * qry__tz_local_to_utc -- guess the offset at the local time read as UTC,
 * then check it at the corrected instant. When the two disagree we are near
 * a transition: inside a gap the first guess wins (which moves the time
 * forward past the gap), otherwise the second one does. This is timelib's
 * rule, so results match MongoDB's around every transition.
 */
int64_t qry__tz_local_to_utc(const qry__tz_t *tz, int64_t local)
{
    if (tz->kind != TZ_OLSON)
        return local - qry__tz_offset(tz, local);
    int64_t cur_start, act_start;
    int32_t cur = tz_info(tz, local, &cur_start);
    int32_t act = tz_info(tz, local - cur, &act_start);
    bool in_transition = act_start != INT64_MIN && (local - act) >= act_start + (cur - act) &&
                         (local - act) < act_start;
    if (cur != act && !in_transition)
        return local - act;
    return local - cur;
}

/* --- TZif parsing ------------------------------------------------------- */

/*
 * TZ_FILE_MAX -- the largest zone file we read. The biggest files of the tz
 * database are under 4 KB; 1 MB leaves room for odd builds and still bounds
 * what a hostile file could make us allocate.
 */
#define TZ_FILE_MAX (1024 * 1024)

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd_t;

static bool rd_take(rd_t *r, size_t len, const uint8_t **out)
{
    if (r->n < len)
        return false;
    *out = r->p;
    r->p += len;
    r->n -= len;
    return true;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

/* --- POSIX TZ strings (the TZif footer) --------------------------------- */

static bool posix_name(const char **s)
{
    const char *p = *s;
    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        if (*p != '>')
            return false;
        *s = p + 1;
        return true;
    }
    const char *b = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    if (p - b < 3)
        return false;
    *s = p;
    return true;
}

/* posix_hms -- [+-]h[h][:mm[:ss]] into seconds (hours up to 167, TZif v3). */
static bool posix_hms(const char **s, int32_t *out)
{
    const char *p = *s;
    int sign = 1;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (*p < '0' || *p > '9')
        return false;
    int32_t h = 0;
    while (*p >= '0' && *p <= '9' && h <= 167)
        h = h * 10 + (*p++ - '0');
    if (h > 167)
        return false;
    int32_t v = h * 3600;
    for (int mult = 60; *p == ':' && mult >= 1; mult /= 60) {
        p++;
        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
            return false;
        v += ((p[0] - '0') * 10 + (p[1] - '0')) * mult;
        p += 2;
    }
    *out = sign * v;
    *s = p;
    return true;
}

static bool posix_num(const char **s, int lo, int hi, int *out)
{
    const char *p = *s;
    int v = 0;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9' && v <= hi)
        v = v * 10 + (*p++ - '0');
    if (v < lo || v > hi)
        return false;
    *out = v;
    *s = p;
    return true;
}

static bool posix_rule(const char **s, tz_rule_t *r)
{
    const char *p = *s;
    if (*p == 'M') {
        p++;
        r->kind = 'M';
        if (!posix_num(&p, 1, 12, &r->a) || *p++ != '.' || !posix_num(&p, 1, 5, &r->b) ||
            *p++ != '.' || !posix_num(&p, 0, 6, &r->c))
            return false;
    } else if (*p == 'J') {
        p++;
        r->kind = 'J';
        if (!posix_num(&p, 1, 365, &r->a))
            return false;
    } else {
        r->kind = 'N';
        if (!posix_num(&p, 0, 365, &r->a))
            return false;
    }
    r->time = 7200; /* 02:00 unless given */
    if (*p == '/') {
        p++;
        if (!posix_hms(&p, &r->time))
            return false;
    }
    *s = p;
    return true;
}

/* posix_parse -- read a footer rule "STD off [DST [off] ,start[/t],end[/t]]". */
static bool posix_parse(const char *s, qry__tz_t *tz)
{
    int32_t v;
    if (*s == '\0')
        return true; /* an empty footer: the table is all there is */
    if (!posix_name(&s) || !posix_hms(&s, &v))
        return false;
    tz->std_off = -v; /* POSIX counts west of UTC */
    tz->has_rule = true;
    if (*s == '\0')
        return true;
    if (!posix_name(&s))
        return false;
    tz->rule_dst = true;
    tz->dst_off = tz->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (!posix_hms(&s, &v))
            return false;
        tz->dst_off = -v;
    }
    if (*s != ',') {
        /* No rule: POSIX leaves the dates to the implementation; use the US rules of 2007. */
        tz->start = (tz_rule_t){'M', 3, 2, 0, 7200};
        tz->end = (tz_rule_t){'M', 11, 1, 0, 7200};
        return *s == '\0';
    }
    s++;
    if (!posix_rule(&s, &tz->start) || *s++ != ',' || !posix_rule(&s, &tz->end))
        return false;
    return *s == '\0';
}

/*
 * tzif_parse -- read a TZif file (RFC 8536) into tz. Version 1 files are read
 * from their 32-bit block; later versions from the 64-bit one plus footer.
 */
static bool tzif_parse(const uint8_t *buf, size_t len, qry__tz_t *tz)
{
    rd_t r = {buf, len};
    const uint8_t *h;
    if (!rd_take(&r, 44, &h) || memcmp(h, "TZif", 4) != 0)
        return false;
    int version = h[4] == 0 ? 1 : h[4] - '0';
    uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28);
    uint32_t timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
    size_t tsize = 4;
    if (version >= 2) {
        /* Skip the version 1 block entirely; the 64-bit block repeats it. */
        size_t v1 =
            (size_t)timecnt * 5 + (size_t)typecnt * 6 + charcnt + (size_t)leap * 8 + isstd + isut;
        const uint8_t *skip;
        if (!rd_take(&r, v1, &skip) || !rd_take(&r, 44, &h) || memcmp(h, "TZif", 4) != 0)
            return false;
        isut = be32(h + 20);
        isstd = be32(h + 24);
        leap = be32(h + 28);
        timecnt = be32(h + 32);
        typecnt = be32(h + 36);
        charcnt = be32(h + 40);
        tsize = 8;
    }
    if (typecnt == 0 || typecnt > 256 || timecnt > len || charcnt > len)
        return false;
    const uint8_t *times, *idx, *types, *skip;
    if (!rd_take(&r, (size_t)timecnt * tsize, &times) || !rd_take(&r, timecnt, &idx) ||
        !rd_take(&r, (size_t)typecnt * 6, &types) ||
        !rd_take(&r, charcnt + (size_t)leap * (tsize + 4) + isstd + isut, &skip))
        return false;
    tz->ntrans = timecnt;
    tz->ntypes = typecnt;
    tz->trans = calloc(timecnt ? timecnt : 1, sizeof(*tz->trans));
    tz->trans_type = calloc(timecnt ? timecnt : 1, 1);
    tz->type_off = calloc(typecnt, sizeof(*tz->type_off));
    if (tz->trans == NULL || tz->trans_type == NULL || tz->type_off == NULL)
        return false;
    for (uint32_t i = 0; i < typecnt; i++)
        tz->type_off[i] = (int32_t)be32(types + i * 6);
    for (uint32_t i = 0; i < timecnt; i++) {
        tz->trans[i] = tsize == 8 ? (int64_t)be64(times + i * 8) : (int32_t)be32(times + i * 4);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return false;
        if (idx[i] >= typecnt)
            return false;
        tz->trans_type[i] = idx[i];
    }
    if (version >= 2 && r.n >= 2 && r.p[0] == '\n') {
        const uint8_t *nl = memchr(r.p + 1, '\n', r.n - 1);
        if (nl == NULL || (size_t)(nl - r.p) > 128)
            return false;
        char footer[130];
        size_t flen = (size_t)(nl - r.p) - 1;
        memcpy(footer, r.p + 1, flen);
        footer[flen] = '\0';
        if (!posix_parse(footer, tz))
            return false;
    }
    return true;
}

/* --- names and the cache ------------------------------------------------ */

/*
 * tz_name_ok -- a name may only reach the file system if it is a relative
 * path of plain components: no "..", no leading '/', no odd bytes. This is
 * what keeps a user-supplied timezone from opening arbitrary files.
 */
static bool tz_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 128 || name[0] == '/' || name[len - 1] == '/')
        return false;
    size_t comp = 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '/') {
            if (comp == 0)
                return false;
            comp = 0;
            continue;
        }
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '.'))
            return false;
        if (comp == 0 && c == '.')
            return false; /* ".", "..", hidden files */
        comp++;
    }
    /* right/ zones count leap seconds, which MongoDB's dates do not. */
    if (len >= 6 && memcmp(name, "right/", 6) == 0)
        return false;
    return true;
}

/* tz_load -- read the zone file of name (already checked by tz_name_ok). */
static qry__tz_t *tz_load(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/zoneinfo";
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(TZ_FILE_MAX);
    size_t n = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
    bool too_big = buf && n == TZ_FILE_MAX;
    (void)fclose(f);
    qry__tz_t *tz = calloc(1, sizeof(*tz));
    if (buf == NULL || tz == NULL || too_big || !tzif_parse(buf, n, tz) ||
        (tz->name = strdup(name)) == NULL) {
        free(buf);
        tz_free(tz);
        return NULL;
    }
    free(buf);
    tz->kind = TZ_OLSON;
    return tz;
}

/*
 * parse_offset -- MongoDB's UTC offset forms: "+HH", "+HHMM", "+HH:MM" (or
 * '-'), digits only, no range check beyond two digits each.
 */
static bool parse_offset(const char *s, size_t len, int32_t *out)
{
#define DG(i) (s[i] >= '0' && s[i] <= '9')
#define DV(i) (s[i] - '0')
    if (len < 3 || (s[0] != '+' && s[0] != '-') || !DG(1) || !DG(2))
        return false;
    int32_t h = DV(1) * 10 + DV(2), m = 0;
    if (len == 3) {
    } else if (len == 5 && DG(3) && DG(4)) {
        m = DV(3) * 10 + DV(4);
    } else if (len == 6 && s[3] == ':' && DG(4) && DG(5)) {
        m = DV(4) * 10 + DV(5);
    } else {
        return false;
    }
    *out = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return true;
#undef DG
#undef DV
}

/*
 * TZ_BUCKETS -- the cache's hash size. The tz database has about 600 names
 * and offsets add a few more in practice; 256 chains keep lookups short.
 */
#define TZ_BUCKETS 256

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static qry__tz_t *tz_cache[TZ_BUCKETS];

static size_t tz_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h % TZ_BUCKETS;
}

static qry__tz_t *cache_find(size_t b, const char *name, size_t len)
{
    for (qry__tz_t *z = tz_cache[b]; z != NULL; z = z->next)
        if (strlen(z->name) == len && memcmp(z->name, name, len) == 0)
            return z;
    return NULL;
}

/* qry__tz_get -- look a zone up by name or offset, loading and caching it on first use. */
int qry__tz_get(const char *name, size_t len, const qry__tz_t **out, status_t *st)
{
    if (len == 3 && memcmp(name, "UTC", 3) == 0) {
        *out = &utc_zone;
        return 0;
    }
    int32_t off = 0;
    bool is_offset = parse_offset(name, len, &off);
    if (!is_offset && (memchr(name, '\0', len) != NULL || !tz_name_ok(name, len)))
        goto unknown;
    size_t b = tz_hash(name, len);
    (void)pthread_mutex_lock(&tz_lock);
    qry__tz_t *z = cache_find(b, name, len);
    (void)pthread_mutex_unlock(&tz_lock);
    if (z != NULL) {
        *out = z;
        return 0;
    }
    char buf[130];
    memcpy(buf, name, len < sizeof(buf) ? len : sizeof(buf) - 1);
    buf[len < sizeof(buf) ? len : sizeof(buf) - 1] = '\0';
    if (is_offset) {
        z = calloc(1, sizeof(*z));
        if (z == NULL || (z->name = strdup(buf)) == NULL) {
            free(z);
            return status_set(st, ERR_BadValue, "out of memory loading a time zone");
        }
        z->kind = TZ_FIXED;
        z->fixed = off;
    } else if ((z = tz_load(buf)) == NULL) {
        goto unknown;
    }
    /* Two threads may load the same zone at once; the first one in wins. */
    (void)pthread_mutex_lock(&tz_lock);
    qry__tz_t *had = cache_find(b, name, len);
    if (had == NULL) {
        z->next = tz_cache[b];
        tz_cache[b] = z;
    }
    (void)pthread_mutex_unlock(&tz_lock);
    if (had != NULL) {
        tz_free(z);
        z = had;
    }
    *out = z;
    return 0;
unknown:
    return status_set(st, 40485, "unrecognized time zone identifier: \"%.*s\"",
                      (int)(len > 200 ? 200 : len), name);
}

/* qry__tz_cache_clear -- free every cached zone. */
void qry__tz_cache_clear(void)
{
    (void)pthread_mutex_lock(&tz_lock);
    for (size_t b = 0; b < TZ_BUCKETS; b++) {
        qry__tz_t *z = tz_cache[b];
        while (z != NULL) {
            qry__tz_t *next = z->next;
            tz_free(z);
            z = next;
        }
        tz_cache[b] = NULL;
    }
    (void)pthread_mutex_unlock(&tz_lock);
}

/* ------------------------------------------------------------------------ */
/* Instants <-> local parts                                                  */
/* ------------------------------------------------------------------------ */

/* qry__dt_split -- break the instant ms down into local parts in tz. */
void qry__dt_split(int64_t ms, const qry__tz_t *tz, qry__dt_parts_t *o)
{
    int64_t secs = qry__dt_floordiv(ms, QRY__MS_PER_SEC);
    o->millisecond = (int)qry__dt_floormod(ms, QRY__MS_PER_SEC);
    o->offset = qry__tz_offset(tz, secs);
    int64_t local = secs + o->offset; /* |secs| < 2^54: cannot overflow */
    int64_t sod = qry__dt_floormod(local, QRY__SEC_PER_DAY);
    o->days = qry__dt_floordiv(local, QRY__SEC_PER_DAY);
    o->hour = (int)(sod / 3600);
    o->minute = (int)(sod / 60 % 60);
    o->second = (int)(sod % 60);
    qry__dt_civil_from_days(o->days, &o->year, &o->month, &o->day);
    o->day_of_year = (int)(o->days - qry__dt_days_from_civil(o->year, 1, 1)) + 1;
    o->iso_dow = qry__dt_iso_dow_of_days(o->days);
    o->dow = o->iso_dow % 7 + 1;
    /* $week: the partial week before the year's first Sunday is week 0. */
    o->week = (o->day_of_year - o->dow + 7) / 7;
    qry__dt_iso_week(o->year, o->month, o->day, &o->iso_year, &o->iso_week);
}

/* qry__dt_from_local -- carry every field over, then resolve the local time in tz. */
int qry__dt_from_local(const qry__tz_t *tz, int64_t year, int64_t month, int64_t day, int64_t hour,
                       int64_t minute, int64_t second, int64_t ms, int64_t *out, status_t *st)
{
    /* Years beyond this many cannot be represented in int64 milliseconds anyway. */
    const int64_t lim = 400000000LL;
    if (year < -lim || year > lim || month < -lim || month > lim || day < -lim * 366 ||
        day > lim * 366)
        return status_set(st, ERR_Overflow, "date overflowed");
    int64_t m0 = month - 1;
    int64_t y = year + qry__dt_floordiv(m0, 12);
    int m = (int)qry__dt_floormod(m0, 12) + 1;
    int64_t days = qry__dt_days_from_civil(y, m, 1) + (day - 1);
    int64_t v, t;
    if (__builtin_mul_overflow(days, QRY__MS_PER_DAY, &v) ||
        __builtin_mul_overflow(hour, QRY__MS_PER_HOUR, &t) || __builtin_add_overflow(v, t, &v) ||
        __builtin_mul_overflow(minute, QRY__MS_PER_MIN, &t) || __builtin_add_overflow(v, t, &v) ||
        __builtin_mul_overflow(second, QRY__MS_PER_SEC, &t) || __builtin_add_overflow(v, t, &v) ||
        __builtin_add_overflow(v, ms, &v))
        return status_set(st, ERR_Overflow, "date overflowed");
    int64_t secs = qry__dt_floordiv(v, QRY__MS_PER_SEC);
    int64_t rem = qry__dt_floormod(v, QRY__MS_PER_SEC);
    int64_t utc = qry__tz_local_to_utc(tz, secs);
    if (__builtin_mul_overflow(utc, QRY__MS_PER_SEC, &v) || __builtin_add_overflow(v, rem, &v))
        return status_set(st, ERR_Overflow, "date overflowed");
    *out = v;
    return 0;
}
