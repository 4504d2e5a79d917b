/*
 * test_datetime.c -- the calendar and time-zone core of query/ (query/datetime.c):
 * day numbers, ISO weeks, breaking instants down in zones, zone lookup,
 * DST transitions in both directions, the footer rule past the zone table,
 * and local-to-UTC resolution in gaps and overlaps. Expectations were worked
 * out by hand or with Python's datetime (UTC calendar only); the tests never
 * depend on the machine's own time zone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/datetime_int.h"

/* ms -- the instant of a UTC date and time (test helper built on the core itself). */
static int64_t ms(int64_t y, int mo, int d, int h, int mi, int s, int milli)
{
    return qry__dt_days_from_civil(y, mo, d) * QRY__MS_PER_DAY + h * QRY__MS_PER_HOUR +
           mi * QRY__MS_PER_MIN + s * 1000LL + milli;
}

static const qry__tz_t *zone(const char *name)
{
    const qry__tz_t *tz = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry__tz_get(name, strlen(name), &tz, &st), 0);
    assert_non_null(tz);
    return tz;
}

/* --- day numbers ---------------------------------------------------------- */

typedef struct civil_case {
    const char *name;
    int64_t y;
    int m, d;
    int64_t days;
} civil_case_t;

static const civil_case_t civil_cases[] = {
    {"epoch", 1970, 1, 1, 0},
    {"day before the epoch", 1969, 12, 31, -1},
    {"1 March 2000 after a leap century day", 2000, 3, 1, 11017},
    {"29 February 1600", 1600, 2, 29, -135081},
    {"year 1", 1, 1, 1, -719162},
    {"year 0 is a leap year", 0, 1, 1, -719528},
    {"last day of year -1", -1, 12, 31, -719529},
    {"9999-12-31", 9999, 12, 31, 2932896},
    {"29 February 2024", 2024, 2, 29, 19782},
    {"1900 is not a leap year", 1900, 3, 1, -25508},
};

static void test_days_from_civil_and_back(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(civil_cases) / sizeof(civil_cases[0]); i++) {
        const civil_case_t *c = &civil_cases[i];
        int64_t y;
        int m, d;
        if (qry__dt_days_from_civil(c->y, c->m, c->d) != c->days)
            fail_msg("%s: days %lld", c->name,
                     (long long)qry__dt_days_from_civil(c->y, c->m, c->d));
        qry__dt_civil_from_days(c->days, &y, &m, &d);
        if (y != c->y || m != c->m || d != c->d)
            fail_msg("%s: back to %lld-%d-%d", c->name, (long long)y, m, d);
    }
}

static void test_round_trip_every_day_of_eight_centuries(void **state)
{
    (void)state;
    int64_t from = qry__dt_days_from_civil(1600, 1, 1), to = qry__dt_days_from_civil(2400, 1, 1);
    int64_t py = 1599;
    int pm = 12, pd = 31;
    for (int64_t n = from; n < to; n++) {
        int64_t y;
        int m, d;
        qry__dt_civil_from_days(n, &y, &m, &d);
        assert_int_equal(qry__dt_days_from_civil(y, m, d), n);
        /* consecutive: next day of (py, pm, pd) */
        bool next_ok = (y == py && m == pm && d == pd + 1) ||
                       (y == py && m == pm + 1 && d == 1 && pd == qry__dt_days_in_month(py, pm)) ||
                       (y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31);
        assert_true(next_ok);
        py = y;
        pm = m;
        pd = d;
    }
}

static void test_leap_years(void **state)
{
    (void)state;
    assert_true(qry__dt_is_leap(2000));
    assert_true(qry__dt_is_leap(2024));
    assert_true(qry__dt_is_leap(0));
    assert_true(qry__dt_is_leap(-4));
    assert_false(qry__dt_is_leap(1900));
    assert_false(qry__dt_is_leap(2023));
    assert_false(qry__dt_is_leap(-1));
    assert_int_equal(qry__dt_days_in_month(2024, 2), 29);
    assert_int_equal(qry__dt_days_in_month(2100, 2), 28);
    assert_int_equal(qry__dt_day_of_year(2024, 12, 31), 366);
    assert_int_equal(qry__dt_day_of_year(2023, 12, 31), 365);
}

/* --- ISO weeks -------------------------------------------------------------- */

typedef struct iso_case {
    const char *name;
    int64_t y;
    int m, d;
    int64_t iso_year;
    int iso_week, iso_dow;
} iso_case_t;

static const iso_case_t iso_cases[] = {
    {"29 Dec 2008 is in week 1 of 2009", 2008, 12, 29, 2009, 1, 1},
    {"3 Jan 2010 is in week 53 of 2009", 2010, 1, 3, 2009, 53, 7},
    {"1 Jan 2021 is in week 53 of 2020", 2021, 1, 1, 2020, 53, 5},
    {"30 Dec 2024 is in week 1 of 2025", 2024, 12, 30, 2025, 1, 1},
    {"1 Jan 2016 is in week 53 of 2015", 2016, 1, 1, 2015, 53, 5},
    {"1 Jan 2018 is a Monday in week 1", 2018, 1, 1, 2018, 1, 1},
    {"31 Dec 2020 is a Thursday in week 53", 2020, 12, 31, 2020, 53, 4},
    {"1 Jan 2026 is a Thursday in week 1", 2026, 1, 1, 2026, 1, 4},
};

static void test_iso_weeks(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(iso_cases) / sizeof(iso_cases[0]); i++) {
        const iso_case_t *c = &iso_cases[i];
        int64_t iy;
        int iw;
        qry__dt_iso_week(c->y, c->m, c->d, &iy, &iw);
        int64_t days = qry__dt_days_from_civil(c->y, c->m, c->d);
        if (iy != c->iso_year || iw != c->iso_week || qry__dt_iso_dow_of_days(days) != c->iso_dow)
            fail_msg("%s: got %lld-W%d-%d", c->name, (long long)iy, iw,
                     qry__dt_iso_dow_of_days(days));
        /* and back */
        if (qry__dt_days_from_iso(c->iso_year, c->iso_week, c->iso_dow) != days)
            fail_msg("%s: days_from_iso", c->name);
    }
}

/* --- splitting instants ------------------------------------------------------ */

typedef struct split_case {
    const char *name;
    const char *tz;
    int64_t ms;
    int64_t year;
    int month, day, hour, minute, second, milli, doy, dow, week;
    int32_t offset;
} split_case_t;

static split_case_t split_cases[] = {
    {"one millisecond before the epoch", "UTC", -1, 1969, 12, 31, 23, 59, 59, 999, 365, 4, 52, 0},
    {"epoch is a Thursday", "UTC", 0, 1970, 1, 1, 0, 0, 0, 0, 1, 5, 0, 0},
    {"docs example 2014-01-01T08:15:39.736Z", "UTC", 1388564139736LL, 2014, 1, 1, 8, 15, 39, 736, 1,
     4, 0, 0},
    {"same instant in New York", "America/New_York", 1388564139736LL, 2014, 1, 1, 3, 15, 39, 736, 1,
     4, 0, -18000},
    {"Kolkata is +05:30", "Asia/Kolkata", 1388564139736LL, 2014, 1, 1, 13, 45, 39, 736, 1, 4, 0,
     19800},
    {"offset zone -0330 moves to the previous day", "-0330", 0, 1969, 12, 31, 20, 30, 0, 0, 365, 4,
     52, -12600},
    {"offset zone +04:45", "+04:45", 0, 1970, 1, 1, 4, 45, 0, 0, 1, 5, 0, 17100},
    {"offset zone +03", "+03", 0, 1970, 1, 1, 3, 0, 0, 0, 1, 5, 0, 10800},
    {"leap day 2024 at noon", "UTC", 1709208000000LL, 2024, 2, 29, 12, 0, 0, 0, 60, 5, 8, 0},
    {"year 1 AD", "UTC", -62135596800000LL, 1, 1, 1, 0, 0, 0, 0, 1, 2, 0, 0},
    {"Sunday 7 Jan 2018 starts week 1", "UTC", 1515283200000LL, 2018, 1, 7, 0, 0, 0, 0, 7, 1, 1, 0},
    {"Saturday 6 Jan 2018 is still week 0", "UTC", 1515196800000LL, 2018, 1, 6, 0, 0, 0, 0, 6, 7, 0,
     0},
};

static void test_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
        const split_case_t *c = &split_cases[i];
        qry__dt_parts_t p;
        qry__dt_split(c->ms, zone(c->tz), &p);
        if (p.year != c->year || p.month != c->month || p.day != c->day || p.hour != c->hour ||
            p.minute != c->minute || p.second != c->second || p.millisecond != c->milli ||
            p.day_of_year != c->doy || p.dow != c->dow || p.week != c->week ||
            p.offset != c->offset)
            fail_msg("%s: got %lld-%02d-%02d %02d:%02d:%02d.%03d doy %d dow %d week %d off %d",
                     c->name, (long long)p.year, p.month, p.day, p.hour, p.minute, p.second,
                     p.millisecond, p.day_of_year, p.dow, p.week, p.offset);
    }
}

static void test_split_extremes_do_not_overflow(void **state)
{
    (void)state;
    qry__dt_parts_t p;
    qry__dt_split(INT64_MAX, zone("America/New_York"), &p);
    assert_true(p.year > 292000000);
    qry__dt_split(INT64_MIN, zone("Australia/Sydney"), &p);
    assert_true(p.year < -292000000);
    qry__dt_split(INT64_MIN, qry__tz_utc(), &p);
    assert_int_equal(p.millisecond, 192); /* INT64_MIN ends in ...5808: floor keeps 0..999 */
}

/* --- zone offsets -------------------------------------------------------------- */

typedef struct offset_case {
    const char *name;
    const char *tz;
    int64_t ms;
    int32_t offset;
} offset_case_t;

static int64_t offset_ms(int y, int mo, int d, int h, int mi, int s)
{
    return ms(y, mo, d, h, mi, s, 0);
}

static void test_offsets(void **state)
{
    (void)state;
    const offset_case_t cases[] = {
        {"NY one second before spring forward", "America/New_York",
         offset_ms(2020, 3, 8, 6, 59, 59), -18000},
        {"NY at spring forward", "America/New_York", offset_ms(2020, 3, 8, 7, 0, 0), -14400},
        {"NY one second before fall back", "America/New_York", offset_ms(2020, 11, 1, 5, 59, 59),
         -14400},
        {"NY at fall back", "America/New_York", offset_ms(2020, 11, 1, 6, 0, 0), -18000},
        {"London before BST", "Europe/London", offset_ms(2020, 3, 29, 0, 59, 59), 0},
        {"London in BST", "Europe/London", offset_ms(2020, 3, 29, 1, 0, 0), 3600},
        {"London back to GMT", "Europe/London", offset_ms(2020, 10, 25, 1, 0, 0), 0},
        {"NY summer 2100 from the footer rule", "America/New_York", offset_ms(2100, 7, 1, 0, 0, 0),
         -14400},
        {"NY winter 2100 from the footer rule", "America/New_York", offset_ms(2100, 1, 1, 0, 0, 0),
         -18000},
        {"NY spring forward 11 Mar 2300 at 07:00Z", "America/New_York",
         offset_ms(2300, 3, 11, 7, 0, 0), -14400},
        {"NY just before spring forward 2300", "America/New_York",
         offset_ms(2300, 3, 11, 6, 59, 59), -18000},
        {"Sydney southern summer 2100", "Australia/Sydney", offset_ms(2100, 1, 1, 0, 0, 0), 39600},
        {"Sydney southern winter 2100", "Australia/Sydney", offset_ms(2100, 7, 1, 0, 0, 0), 36000},
        {"NY in 1800 is local mean time", "America/New_York", offset_ms(1800, 1, 1, 0, 0, 0),
         -17762},
        {"GMT is zero", "GMT", offset_ms(2020, 7, 1, 0, 0, 0), 0},
        {"Etc/GMT+5 is five hours west", "Etc/GMT+5", offset_ms(2020, 7, 1, 0, 0, 0), -18000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        qry__dt_parts_t p;
        qry__dt_split(cases[i].ms, zone(cases[i].tz), &p);
        if (p.offset != cases[i].offset)
            fail_msg("%s: offset %d", cases[i].name, p.offset);
    }
}

/* --- lookup --------------------------------------------------------------------- */

static void test_unknown_zones_fail_with_40485(void **state)
{
    (void)state;
    const char *bad[] = {"Mars/Olympus",
                         "america/new_york",
                         "../../etc/passwd",
                         "/etc/localtime",
                         "Europe/",
                         "+5",
                         "+05:0",
                         "0500",
                         "UTC+1",
                         "",
                         "right/UTC",
                         "Europe//London",
                         "+05:30x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const qry__tz_t *tz = NULL;
        status_t st = STATUS_INIT;
        assert_int_equal(qry__tz_get(bad[i], strlen(bad[i]), &tz, &st), 40485);
        char want[200];
        snprintf(want, sizeof(want), "unrecognized time zone identifier: \"%s\"", bad[i]);
        assert_string_equal(st.msg, want);
    }
}

static void test_lookup_is_cached_and_named(void **state)
{
    (void)state;
    const qry__tz_t *a = zone("Europe/Paris"), *b = zone("Europe/Paris");
    assert_ptr_equal(a, b);
    assert_string_equal(qry__tz_name(a), "Europe/Paris");
    assert_false(qry__tz_is_fixed(a));
    assert_true(qry__tz_is_utc(zone("UTC")));
    assert_true(qry__tz_is_utc(zone("+00:00")));
    assert_false(qry__tz_is_utc(zone("GMT")));
    assert_true(qry__tz_is_fixed(zone("-0330")));
    assert_ptr_equal(zone("UTC"), qry__tz_utc());
}

/* --- local -> UTC ------------------------------------------------------------------ */

typedef struct local_case {
    const char *name;
    const char *tz;
    int64_t y;
    int64_t mo, d, h, mi, s, milli;
    int64_t want;
} local_case_t;

static void test_from_local(void **state)
{
    (void)state;
    const local_case_t cases[] = {
        {"plain UTC", "UTC", 2017, 2, 8, 12, 10, 0, 0, ms(2017, 2, 8, 12, 10, 0, 0)},
        {"New York winter", "America/New_York", 2017, 2, 8, 12, 0, 0, 0,
         ms(2017, 2, 8, 17, 0, 0, 0)},
        {"New York summer", "America/New_York", 2017, 7, 4, 12, 0, 0, 0,
         ms(2017, 7, 4, 16, 0, 0, 0)},
        {"NY spring-forward gap moves forward", "America/New_York", 2020, 3, 8, 2, 30, 0, 0,
         ms(2020, 3, 8, 7, 30, 0, 0)},
        {"NY fall-back overlap takes daylight time", "America/New_York", 2020, 11, 1, 1, 30, 0, 0,
         ms(2020, 11, 1, 5, 30, 0, 0)},
        {"London spring-forward gap moves forward", "Europe/London", 2020, 3, 29, 1, 30, 0, 0,
         ms(2020, 3, 29, 1, 30, 0, 0)},
        {"London fall-back overlap as timelib resolves it", "Europe/London", 2020, 10, 25, 1, 30, 0,
         0, ms(2020, 10, 25, 1, 30, 0, 0)},
        {"month 14 carries into the next year", "UTC", 2016, 14, 1, 0, 0, 0, 0,
         ms(2017, 2, 1, 0, 0, 0, 0)},
        {"month 0 is December of the year before", "UTC", 2017, 0, 1, 0, 0, 0, 0,
         ms(2016, 12, 1, 0, 0, 0, 0)},
        {"day 0 is the last day of the month before", "UTC", 2016, 3, 0, 0, 0, 0, 0,
         ms(2016, 2, 29, 0, 0, 0, 0)},
        {"day 31 of February 2017 runs into March", "UTC", 2017, 2, 31, 0, 0, 0, 0,
         ms(2017, 3, 3, 0, 0, 0, 0)},
        {"hour -1 is the previous day", "UTC", 2017, 1, 1, -1, 0, 0, 0,
         ms(2016, 12, 31, 23, 0, 0, 0)},
        {"minute 70 and millisecond 1500 carry", "UTC", 2017, 1, 1, 0, 70, 0, 1500,
         ms(2017, 1, 1, 1, 10, 1, 500)},
        {"negative month count goes back years", "UTC", 2017, -13, 1, 0, 0, 0, 0,
         ms(2015, 11, 1, 0, 0, 0, 0)},
        {"fixed offset zone", "+04:45", 2017, 1, 1, 4, 45, 0, 0, ms(2017, 1, 1, 0, 0, 0, 0)},
        {"far past in New York uses local mean time", "America/New_York", 1800, 1, 1, 0, 0, 0, 0,
         ms(1800, 1, 1, 4, 56, 2, 0)},
        {"far future summer in New York", "America/New_York", 2200, 7, 1, 0, 0, 0, 0,
         ms(2200, 7, 1, 4, 0, 0, 0)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const local_case_t *c = &cases[i];
        int64_t out = 0;
        status_t st = STATUS_INIT;
        assert_int_equal(qry__dt_from_local(zone(c->tz), c->y, c->mo, c->d, c->h, c->mi, c->s,
                                            c->milli, &out, &st),
                         0);
        if (out != c->want)
            fail_msg("%s: got %lld want %lld", c->name, (long long)out, (long long)c->want);
    }
}

static void test_from_local_overflow_is_a_status(void **state)
{
    (void)state;
    int64_t out;
    status_t st = STATUS_INIT;
    assert_int_equal(qry__dt_from_local(qry__tz_utc(), 300000000, 1, 1, 0, 0, 0, 0, &out, &st),
                     ERR_Overflow);
    assert_int_equal(
        qry__dt_from_local(qry__tz_utc(), 2000, 1, 1, INT64_MAX / 2, 0, 0, 0, &out, &st),
        ERR_Overflow);
}

/* --- concurrency and hostile zone files ----------------------------------------------- */

static const char *const thread_zones[] = {"America/Chicago",    "Asia/Tokyo", "Europe/Berlin",
                                           "Australia/Adelaide", "+05:30",     "America/Denver"};

static void *lookup_thread(void *arg)
{
    const qry__tz_t **seen = arg;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < 6; i++) {
            const qry__tz_t *tz = NULL;
            status_t st = STATUS_INIT;
            if (qry__tz_get(thread_zones[i], strlen(thread_zones[i]), &tz, &st) != 0)
                return NULL;
            qry__dt_parts_t p;
            qry__dt_split(1600000000000LL + round * 3600000LL, tz, &p);
            seen[i] = tz;
        }
    }
    return arg;
}

static void test_concurrent_lookups_share_one_zone(void **state)
{
    (void)state;
    enum { N = 4 };
    pthread_t th[N];
    const qry__tz_t *seen[N][6];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, lookup_thread, seen[i]), 0);
    for (int i = 0; i < N; i++) {
        void *r;
        assert_int_equal(pthread_join(th[i], &r), 0);
        assert_non_null(r);
    }
    for (int i = 1; i < N; i++)
        for (int z = 0; z < 6; z++)
            assert_ptr_equal(seen[i][z], seen[0][z]);
}

/* write_file -- a zone file with the given bytes under dir. */
static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_hostile_zone_files_are_unknown_zones(void **state)
{
    (void)state;
    char dir[] = "/tmp/mica_tzXXXXXX";
    assert_non_null(mkdtemp(dir));
    /* A real file cut at every length must never crash and never half-load. */
    FILE *f = fopen("/usr/share/zoneinfo/America/New_York", "rb");
    assert_non_null(f);
    static uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(n > 100);
    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZDIR", dir, 1);
    int loaded = 0;
    for (size_t cut = 0; cut < n; cut += 7) {
        char name[32];
        snprintf(name, sizeof(name), "Cut%zu", cut);
        write_file(dir, name, buf, cut);
        const qry__tz_t *tz = NULL;
        status_t st = STATUS_INIT;
        int ret = qry__tz_get(name, strlen(name), &tz, &st);
        assert_true(ret == 0 || ret == 40485);
        if (ret == 0) {
            qry__dt_parts_t p;
            qry__dt_split(0, tz, &p); /* whatever loaded must be usable */
            loaded++;
        }
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        unlink(path);
    }
    /* Garbage with a valid magic and absurd counts. */
    uint8_t junk[64] = "TZif2";
    memset(junk + 20, 0xff, 24);
    write_file(dir, "Junk", junk, sizeof(junk));
    const qry__tz_t *tz = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(qry__tz_get("Junk", 4, &tz, &st), 40485);
    char path[512];
    snprintf(path, sizeof(path), "%s/Junk", dir);
    unlink(path);
    rmdir(dir);
    if (saved) {
        setenv("TZDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TZDIR");
    }
    (void)loaded;
}

static int teardown_cache(void **state)
{
    (void)state;
    qry__tz_cache_clear();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, teardown_cache);
}
