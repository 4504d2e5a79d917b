/*
 * test_expr_date.c -- the aggregation date operators (query/expr_date*.c)
 * through the public expression API: each case parses {e: <expression>},
 * evaluates it against a document and compares the result (type included,
 * through canonical extended JSON) or the error code and message.
 * Most cases come from MongoDB's documentation examples; the rest pin DST
 * transitions (America/New_York, Europe/London), leap years, negative dates
 * and ISO week edges. Zones are always explicit, so the machine's own time
 * zone never matters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "query/query.h"

typedef struct ecase {
    const char *name;
    const char *expr; /* JSON of the expression */
    const char *doc;  /* JSON of $$ROOT, NULL: {} */
    const char *want; /* JSON of the result value, NULL when an error is expected */
    int code;         /* expected error code (0: success) */
    const char *msg;  /* expected message prefix (NULL: not checked) */
} ecase_t;

/* D -- an extended JSON date literal. */
#define D(iso) "{\"$date\": \"" iso "\"}"
#define DOC_D  "{\"d\": " D("2014-01-01T08:15:39.736Z") "}"

static void run_cases(const ecase_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const ecase_t *c = &cases[i];
        char buf[2048];
        bson_error_t err;
        (void)snprintf(buf, sizeof(buf), "{\"e\": %s}", c->expr);
        bson_t *spec = bson_new_from_json((const uint8_t *)buf, -1, &err);
        if (spec == NULL)
            fail_msg("%s: bad test JSON %s: %s", c->name, buf, err.message);
        bson_t *doc = bson_new_from_json((const uint8_t *)(c->doc ? c->doc : "{}"), -1, &err);
        if (doc == NULL)
            fail_msg("%s: bad doc JSON: %s", c->name, err.message);
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, spec, "e"));
        qry_expr_t *e = NULL;
        qry_expr_ctx_t *cx = qry_expr_ctx_new();
        status_t st = STATUS_INIT;
        bson_value_t out = {.value_type = BSON_TYPE_EOD};
        int ret = qry_expr_parse_iter(&it, NULL, &e, &st);
        if (ret == 0)
            ret = qry_expr_eval(e, cx, doc, &out, &st);
        if (c->want == NULL) {
            if (ret != c->code)
                fail_msg("%s: want error %d, got %d (%s)", c->name, c->code, ret, st.msg);
            if (c->msg != NULL && strncmp(st.msg, c->msg, strlen(c->msg)) != 0)
                fail_msg("%s: message \"%s\", want \"%s\"", c->name, st.msg, c->msg);
        } else {
            if (ret != 0)
                fail_msg("%s: error %d: %s", c->name, ret, st.msg);
            (void)snprintf(buf, sizeof(buf), "{\"r\": %s}", c->want);
            bson_t *want = bson_new_from_json((const uint8_t *)buf, -1, &err);
            if (want == NULL)
                fail_msg("%s: bad want JSON: %s", c->name, err.message);
            bson_t got = BSON_INITIALIZER;
            if (out.value_type == BSON_TYPE_EOD)
                BSON_APPEND_UTF8(&got, "r", "<missing>");
            else
                BSON_APPEND_VALUE(&got, "r", &out);
            char *a = bson_as_canonical_extended_json(&got, NULL);
            char *b = bson_as_canonical_extended_json(want, NULL);
            if (strcmp(a, b) != 0)
                fail_msg("%s: got %s want %s", c->name, a, b);
            bson_free(a);
            bson_free(b);
            bson_destroy(&got);
            bson_destroy(want);
        }
        qry_expr_destroy(e);
        qry_expr_ctx_destroy(cx);
        bson_destroy(doc);
        bson_destroy(spec);
    }
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

/* --- $year ... $isoDayOfWeek ---------------------------------------------------- */

static const ecase_t part_cases[] = {
    {"$year of the docs' date", "{\"$year\": \"$d\"}", DOC_D, "2014"},
    {"$month", "{\"$month\": \"$d\"}", DOC_D, "1"},
    {"$dayOfMonth", "{\"$dayOfMonth\": \"$d\"}", DOC_D, "1"},
    {"$hour", "{\"$hour\": \"$d\"}", DOC_D, "8"},
    {"$minute", "{\"$minute\": \"$d\"}", DOC_D, "15"},
    {"$second", "{\"$second\": \"$d\"}", DOC_D, "39"},
    {"$millisecond", "{\"$millisecond\": \"$d\"}", DOC_D, "736"},
    {"$dayOfYear", "{\"$dayOfYear\": \"$d\"}", DOC_D, "1"},
    {"$dayOfWeek: Wednesday is 4", "{\"$dayOfWeek\": \"$d\"}", DOC_D, "4"},
    {"$week before the first Sunday is 0", "{\"$week\": \"$d\"}", DOC_D, "0"},
    {"$isoWeek", "{\"$isoWeek\": \"$d\"}", DOC_D, "1"},
    {"$isoDayOfWeek: Wednesday is 3", "{\"$isoDayOfWeek\": \"$d\"}", DOC_D, "3"},
    {"$isoWeekYear is a long", "{\"$isoWeekYear\": \"$d\"}", DOC_D, "{\"$numberLong\": \"2014\"}"},
    {"array form", "{\"$year\": [\"$d\"]}", DOC_D, "2014"},
    {"object form with timezone",
     "{\"$hour\": {\"date\": \"$d\", \"timezone\": \"America/New_York\"}}", DOC_D, "3"},
    {"object form with an offset", "{\"$minute\": {\"date\": \"$d\", \"timezone\": \"+04:45\"}}",
     DOC_D, "0"},
    {"Kolkata crosses the half hour",
     "{\"$hour\": {\"date\": \"$d\", \"timezone\": \"Asia/Kolkata\"}}", DOC_D, "13"},
    {"an operator document is the date", "{\"$year\": {\"$dateFromParts\": {\"year\": 1999}}}",
     NULL, "1999"},
    {"1 Jan 2016 is ISO week 53", "{\"$isoWeek\": " D("2016-01-01T00:00:00Z") "}", NULL, "53"},
    {"... of ISO year 2015", "{\"$isoWeekYear\": " D("2016-01-01T00:00:00Z") "}", NULL,
     "{\"$numberLong\": \"2015\"}"},
    {"31 Dec 2024 is ISO week 1 of 2025", "{\"$isoWeekYear\": " D("2024-12-31T12:00:00Z") "}", NULL,
     "{\"$numberLong\": \"2025\"}"},
    {"leap day is day 60", "{\"$dayOfYear\": " D("2024-02-29T00:00:00Z") "}", NULL, "60"},
    {"31 Dec of a leap year is day 366", "{\"$dayOfYear\": " D("2024-12-31T23:59:59Z") "}", NULL,
     "366"},
    {"negative dates: 1969-12-31T23:59:59.999Z",
     "{\"$millisecond\": {\"$date\": {\"$numberLong\": \"-1\"}}}", NULL, "999"},
    {"negative dates: year 1969", "{\"$year\": {\"$date\": {\"$numberLong\": \"-1\"}}}", NULL,
     "1969"},
    {"far past year 1000", "{\"$year\": {\"$date\": {\"$numberLong\": \"-30610224000000\"}}}", NULL,
     "1000"},
    {"timestamp is read as a date", "{\"$year\": {\"$timestamp\": {\"t\": 1388564139, \"i\": 1}}}",
     NULL, "2014"},
    {"ObjectId is read by its time", "{\"$minute\": {\"$oid\": \"52c3ced80000000000000000\"}}",
     NULL, "16"},
    {"New York before spring forward is 01:59",
     "{\"$hour\": {\"date\": " D("2020-03-08T06:59:59Z") ", \"timezone\": \"America/New_York\"}}",
     NULL, "1"},
    {"New York after spring forward is 03:00",
     "{\"$hour\": {\"date\": " D("2020-03-08T07:00:00Z") ", \"timezone\": \"America/New_York\"}}",
     NULL, "3"},
    {"London in BST",
     "{\"$hour\": {\"date\": " D("2020-07-01T12:00:00Z") ", \"timezone\": "
                                                         "\"Europe/London\"}}",
     NULL, "13"},
    {"null date is null", "{\"$year\": null}", NULL, "null"},
    {"a constant bad zone fails at parse time, before any date",
     "{\"$year\": {\"date\": \"$nothing\", \"timezone\": \"Bad/Zone\"}}", NULL, NULL, 40485,
     "unrecognized time zone identifier: \"Bad/Zone\""},
    {"missing date is null", "{\"$year\": \"$nope\"}", NULL, "null"},
    {"null timezone is null", "{\"$year\": {\"date\": \"$d\", \"timezone\": null}}", DOC_D, "null"},
    {"string date fails with 16006", "{\"$year\": \"abc\"}", NULL, NULL, 16006,
     "can't convert from BSON type string to Date"},
    {"unknown zone fails with 40485",
     "{\"$year\": {\"date\": \"$d\", \"timezone\": \"Mars/Base\"}}", DOC_D, NULL, 40485,
     "unrecognized time zone identifier: \"Mars/Base\""},
    {"non-string zone fails with 40517", "{\"$year\": {\"date\": \"$d\", \"timezone\": 5}}", DOC_D,
     NULL, 40517, "timezone must evaluate to a string, found int"},
    {"two-element array fails with 40536", "{\"$year\": [1, 2]}", NULL, NULL, 40536,
     "$year accepts exactly one argument if given an array, but was given 2"},
    {"unknown option fails with 40535", "{\"$month\": {\"date\": \"$d\", \"zone\": \"UTC\"}}",
     DOC_D, NULL, 40535, "unrecognized option to $month: \"zone\""},
    {"missing date fails with 40539", "{\"$month\": {\"timezone\": \"UTC\"}}", NULL, NULL, 40539,
     "missing 'date' argument to $month"},
};

static void test_parts(void **state)
{
    (void)state;
    RUN(part_cases);
}

/* --- $dateToString ---------------------------------------------------------------- */

static const ecase_t to_string_cases[] = {
    {"docs: %Y-%m-%d", "{\"$dateToString\": {\"format\": \"%Y-%m-%d\", \"date\": \"$d\"}}", DOC_D,
     "\"2014-01-01\""},
    {"docs: time with %z in New York",
     "{\"$dateToString\": {\"format\": \"%H:%M:%S:%L%z\", \"date\": \"$d\", \"timezone\": "
     "\"America/New_York\"}}",
     DOC_D, "\"03:15:39:736-0500\""},
    {"docs: %Z minutes offset",
     "{\"$dateToString\": {\"format\": \"%Z\", \"date\": \"$d\", \"timezone\": "
     "\"America/New_York\"}}",
     DOC_D, "\"-300\""},
    {"day of year, weekday, weeks",
     "{\"$dateToString\": {\"format\": \"%j %w %U %u %V %G\", \"date\": \"$d\"}}", DOC_D,
     "\"001 4 00 3 01 2014\""},
    {"month names", "{\"$dateToString\": {\"format\": \"%b %B\", \"date\": \"$d\"}}", DOC_D,
     "\"Jan January\""},
    {"escaped percent", "{\"$dateToString\": {\"format\": \"%%Y=%Y\", \"date\": \"$d\"}}", DOC_D,
     "\"%Y=2014\""},
    {"default format in UTC ends with Z", "{\"$dateToString\": {\"date\": \"$d\"}}", DOC_D,
     "\"2014-01-01T08:15:39.736Z\""},
    {"default format in a zone has no Z",
     "{\"$dateToString\": {\"date\": \"$d\", \"timezone\": \"America/New_York\"}}", DOC_D,
     "\"2014-01-01T03:15:39.736\""},
    {"offset zone %z",
     "{\"$dateToString\": {\"format\": \"%z\", \"date\": \"$d\", \"timezone\": "
     "\"+04:45\"}}",
     DOC_D, "\"+0445\""},
    {"offset zone %Z",
     "{\"$dateToString\": {\"format\": \"%Z\", \"date\": \"$d\", \"timezone\": "
     "\"-0330\"}}",
     DOC_D, "\"-210\""},
    {"Kolkata %Z has no plus sign",
     "{\"$dateToString\": {\"format\": \"%Z\", \"date\": \"$d\", "
     "\"timezone\": \"Asia/Kolkata\"}}",
     DOC_D, "\"330\""},
    {"London summer %z",
     "{\"$dateToString\": {\"format\": \"%H:%M%z\", \"date\": " D(
         "2021-06-01T12:00:00Z") ", \"timezone\": \"Europe/London\"}}",
     NULL, "\"13:00+0100\""},
    {"negative date", "{\"$dateToString\": {\"date\": {\"$date\": {\"$numberLong\": \"-1\"}}}}",
     NULL, "\"1969-12-31T23:59:59.999Z\""},
    {"ISO week year differs from the year",
     "{\"$dateToString\": {\"format\": \"%G-W%V-%u\", \"date\": " D("2021-01-01T00:00:00Z") "}}",
     NULL, "\"2020-W53-5\""},
    {"null date gives onNull", "{\"$dateToString\": {\"date\": null, \"onNull\": \"none\"}}", NULL,
     "\"none\""},
    {"missing date without onNull is null", "{\"$dateToString\": {\"date\": \"$x\"}}", NULL,
     "null"},
    {"null format is null", "{\"$dateToString\": {\"date\": \"$d\", \"format\": null}}", DOC_D,
     "null"},
    {"year past 9999 fails with 18537",
     "{\"$dateToString\": {\"date\": {\"$date\": {\"$numberLong\": \"253402300800000\"}}}}", NULL,
     NULL, 18537,
     "Could not convert date to string: date component was outside the supported range of "
     "0-9999: 10000"},
    {"bad specifier fails with 18536",
     "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%x\"}}", DOC_D, NULL, 18536,
     "Invalid format character '%x' in format string"},
    {"trailing percent fails with 18535",
     "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"abc%\"}}", DOC_D, NULL, 18535,
     "Unmatched '%' at end of format string"},
    {"non-string format fails with 18533", "{\"$dateToString\": {\"date\": \"$d\", \"format\": 5}}",
     DOC_D, NULL, 18533,
     "$dateToString requires that 'format' be a string, found: int with value 5"},
    {"unknown argument fails with 18534", "{\"$dateToString\": {\"date\": \"$d\", \"foo\": 1}}",
     DOC_D, NULL, 18534, "Unrecognized parameter to $dateToString: foo"},
    {"missing date fails with 18628", "{\"$dateToString\": {\"format\": \"%Y\"}}", NULL, NULL,
     18628, "Missing 'date' parameter to $dateToString"},
    {"non-object fails with 18629", "{\"$dateToString\": \"$d\"}", DOC_D, NULL, 18629, NULL},
    {"string date fails with 16006", "{\"$dateToString\": {\"date\": \"x\"}}", NULL, NULL, 16006,
     NULL},
};

static void test_to_string(void **state)
{
    (void)state;
    RUN(to_string_cases);
}

/* --- $dateFromString ---------------------------------------------------------------- */

static const ecase_t from_string_cases[] = {
    {"docs: local time string",
     "{\"$dateFromString\": {\"dateString\": \"2017-02-08T12:10:40.787\"}}", NULL,
     D("2017-02-08T12:10:40.787Z")},
    {"docs: with a New York zone",
     "{\"$dateFromString\": {\"dateString\": \"2017-02-08T12:10:40.787\", \"timezone\": "
     "\"America/New_York\"}}",
     NULL, D("2017-02-08T17:10:40.787Z")},
    {"date only is midnight", "{\"$dateFromString\": {\"dateString\": \"2017-02-08\"}}", NULL,
     D("2017-02-08T00:00:00Z")},
    {"docs: %m-%d-%Y",
     "{\"$dateFromString\": {\"dateString\": \"06-15-2018\", \"format\": "
     "\"%m-%d-%Y\"}}",
     NULL, D("2018-06-15T00:00:00Z")},
    {"docs: %d-%m-%Y",
     "{\"$dateFromString\": {\"dateString\": \"15-06-2018\", \"format\": "
     "\"%d-%m-%Y\"}}",
     NULL, D("2018-06-15T00:00:00Z")},
    {"Z suffix", "{\"$dateFromString\": {\"dateString\": \"2017-07-04T14:56:42.911Z\"}}", NULL,
     D("2017-07-04T14:56:42.911Z")},
    {"numeric offset", "{\"$dateFromString\": {\"dateString\": \"2017-07-04T14:56:42+05:00\"}}",
     NULL, D("2017-07-04T09:56:42Z")},
    {"compact offset after a space",
     "{\"$dateFromString\": {\"dateString\": \"2017-07-04 11:56:02 -0400\"}}", NULL,
     D("2017-07-04T15:56:02Z")},
    {"slash date", "{\"$dateFromString\": {\"dateString\": \"2017/07/04 10:00\"}}", NULL,
     D("2017-07-04T10:00:00Z")},
    {"month name", "{\"$dateFromString\": {\"dateString\": \"July 4, 2017\"}}", NULL,
     D("2017-07-04T00:00:00Z")},
    {"format with month abbreviation and time",
     "{\"$dateFromString\": {\"dateString\": \"04 Jul 2017 10:11:12.5\", \"format\": \"%d %b %Y "
     "%H:%M:%S.%L\"}}",
     NULL, D("2017-07-04T10:11:12.005Z")},
    {"format with ISO week date",
     "{\"$dateFromString\": {\"dateString\": \"2017-W06-3\", \"format\": \"%G-W%V-%u\"}}", NULL,
     D("2017-02-08T00:00:00Z")},
    {"format with %z",
     "{\"$dateFromString\": {\"dateString\": \"2017-07-04 +0200\", \"format\": "
     "\"%Y-%m-%d %z\"}}",
     NULL, D("2017-07-03T22:00:00Z")},
    {"New York gap moves forward",
     "{\"$dateFromString\": {\"dateString\": \"2020-03-08T02:30:00\", \"timezone\": "
     "\"America/New_York\"}}",
     NULL, D("2020-03-08T07:30:00Z")},
    {"onError catches a bad string",
     "{\"$dateFromString\": {\"dateString\": \"not a date\", \"onError\": \"bad\"}}", NULL,
     "\"bad\""},
    {"onError catches a non-string",
     "{\"$dateFromString\": {\"dateString\": 5, \"onError\": \"bad\"}}", NULL, "\"bad\""},
    {"onNull", "{\"$dateFromString\": {\"dateString\": null, \"onNull\": 0}}", NULL, "0"},
    {"null dateString is null", "{\"$dateFromString\": {\"dateString\": \"$x\"}}", NULL, "null"},
    {"bad string fails with 241", "{\"$dateFromString\": {\"dateString\": \"2017-13-45\"}}", NULL,
     NULL, 241, "Error parsing date string '2017-13-45'"},
    {"Z with a timezone argument fails",
     "{\"$dateFromString\": {\"dateString\": \"2017-07-04T00:00:00Z\", \"timezone\": "
     "\"Europe/London\"}}",
     NULL, NULL, 241,
     "you cannot pass in a date/time string with time zone information ('Z') together with a "
     "timezone argument"},
    {"offset with a timezone argument fails",
     "{\"$dateFromString\": {\"dateString\": \"2017-07-04T00:00:00+01:00\", \"timezone\": "
     "\"Europe/London\"}}",
     NULL, NULL, 241,
     "you cannot pass in a date/time string with GMT offset together with a timezone argument"},
    {"format mismatch fails",
     "{\"$dateFromString\": {\"dateString\": \"2017/07/04\", \"format\": \"%Y-%m-%d\"}}", NULL,
     NULL, 241, "Error parsing date string '2017/07/04'"},
    {"incomplete format fails",
     "{\"$dateFromString\": {\"dateString\": \"2017-07\", \"format\": \"%Y-%m\"}}", NULL, NULL, 241,
     "an incomplete date/time string has been found, with elements missing: \"2017-07\""},
    {"non-string format fails with 40684",
     "{\"$dateFromString\": {\"dateString\": \"2017-07-04\", \"format\": 1}}", NULL, NULL, 40684,
     NULL},
    {"bad format specifier fails with 18536",
     "{\"$dateFromString\": {\"dateString\": \"2017\", \"format\": \"%w\"}}", NULL, NULL, 18536,
     NULL},
    {"missing dateString fails with 40542", "{\"$dateFromString\": {\"format\": \"%Y\"}}", NULL,
     NULL, 40542, "Missing 'dateString' parameter to $dateFromString"},
    {"unknown argument fails with 40541",
     "{\"$dateFromString\": {\"dateString\": \"x\", \"foo\": 1}}", NULL, NULL, 40541,
     "Unrecognized argument to $dateFromString: foo"},
    {"unknown zone is not caught by onError",
     "{\"$dateFromString\": {\"dateString\": \"2017-07-04\", \"timezone\": \"Nowhere\", "
     "\"onError\": 1}}",
     NULL, NULL, 40485, NULL},
};

static void test_from_string(void **state)
{
    (void)state;
    RUN(from_string_cases);
}

/* --- $dateToParts / $dateFromParts ----------------------------------------------------- */

static const ecase_t parts_cases[] = {
    {"docs: $dateToParts", "{\"$dateToParts\": {\"date\": " D("2017-01-01T01:29:09.123Z") "}}",
     NULL,
     "{\"year\": 2017, \"month\": 1, \"day\": 1, \"hour\": 1, \"minute\": 29, \"second\": 9, "
     "\"millisecond\": 123}"},
    {"docs: $dateToParts in New York",
     "{\"$dateToParts\": {\"date\": " D("2017-01-01T01:29:09.123Z") ", \"timezone\": "
                                                                    "\"America/New_York\"}}",
     NULL,
     "{\"year\": 2016, \"month\": 12, \"day\": 31, \"hour\": 20, \"minute\": 29, \"second\": 9, "
     "\"millisecond\": 123}"},
    {"docs: $dateToParts iso8601",
     "{\"$dateToParts\": {\"date\": " D("2017-01-01T01:29:09.123Z") ", \"iso8601\": true}}", NULL,
     "{\"isoWeekYear\": 2016, \"isoWeek\": 52, \"isoDayOfWeek\": 7, \"hour\": 1, \"minute\": 29, "
     "\"second\": 9, \"millisecond\": 123}"},
    {"$dateToParts null date", "{\"$dateToParts\": {\"date\": null}}", NULL, "null"},
    {"$dateToParts non-bool iso8601 fails with 40521",
     "{\"$dateToParts\": {\"date\": " D("2017-01-01T00:00:00Z") ", \"iso8601\": 1}}", NULL, NULL,
     40521, "iso8601 must evaluate to a bool, found int"},
    {"$dateToParts unknown argument fails with 40520",
     "{\"$dateToParts\": {\"date\": 1, \"x\": 1}}", NULL, NULL, 40520,
     "Unrecognized argument to $dateToParts: x"},
    {"docs: $dateFromParts",
     "{\"$dateFromParts\": {\"year\": 2017, \"month\": 2, \"day\": 8, \"hour\": 12}}", NULL,
     D("2017-02-08T12:00:00Z")},
    {"docs: $dateFromParts ISO",
     "{\"$dateFromParts\": {\"isoWeekYear\": 2017, \"isoWeek\": 6, \"isoDayOfWeek\": 3, \"hour\": "
     "12}}",
     NULL, D("2017-02-08T12:00:00Z")},
    {"docs: $dateFromParts in New York",
     "{\"$dateFromParts\": {\"year\": 2016, \"month\": 12, \"day\": 31, \"hour\": 23, \"minute\": "
     "46, \"second\": 12, \"timezone\": \"America/New_York\"}}",
     NULL, D("2017-01-01T04:46:12Z")},
    {"month 14 carries into the next year", "{\"$dateFromParts\": {\"year\": 2017, \"month\": 14}}",
     NULL, D("2018-02-01T00:00:00Z")},
    {"day 0 is the last day of the month before",
     "{\"$dateFromParts\": {\"year\": 2016, \"month\": 3, \"day\": 0}}", NULL,
     D("2016-02-29T00:00:00Z")},
    {"negative hour goes to the day before", "{\"$dateFromParts\": {\"year\": 2017, \"hour\": -1}}",
     NULL, D("2016-12-31T23:00:00Z")},
    {"large milliseconds carry",
     "{\"$dateFromParts\": {\"year\": 2017, \"millisecond\": 86400001}}", NULL,
     D("2017-01-02T00:00:00.001Z")},
    {"doubles with integral values are accepted",
     "{\"$dateFromParts\": {\"year\": 2017.0, \"month\": 7.0}}", NULL, D("2017-07-01T00:00:00Z")},
    {"ISO week 53 of a 52-week year carries into the next",
     "{\"$dateFromParts\": {\"isoWeekYear\": 2021, \"isoWeek\": 53, \"isoDayOfWeek\": 1}}", NULL,
     D("2022-01-03T00:00:00Z")},
    {"isoWeekYear 0 fails with 31095", "{\"$dateFromParts\": {\"isoWeekYear\": 0}}", NULL, NULL,
     31095, "'isoWeekYear' must evaluate to an integer in the range 1 to 9999, found 0"},
    {"year alone", "{\"$dateFromParts\": {\"year\": 2000}}", NULL, D("2000-01-01T00:00:00Z")},
    {"null part is null", "{\"$dateFromParts\": {\"year\": 2017, \"month\": null}}", NULL, "null"},
    {"no year fails with 40516", "{\"$dateFromParts\": {\"month\": 1}}", NULL, NULL, 40516,
     "$dateFromParts requires either 'year' or 'isoWeekYear' to be present"},
    {"mixing fails with 40489", "{\"$dateFromParts\": {\"year\": 2017, \"isoWeek\": 1}}", NULL,
     NULL, 40489, "$dateFromParts does not allow mixing natural dates with ISO dates"},
    {"mixing ISO with natural fails with 40525",
     "{\"$dateFromParts\": {\"isoWeekYear\": 2017, \"month\": 1}}", NULL, NULL, 40525, NULL},
    {"year 0 fails with 40523", "{\"$dateFromParts\": {\"year\": 0}}", NULL, NULL, 40523,
     "'year' must evaluate to an integer in the range 1 to 9999, found 0"},
    {"month out of 16-bit range fails with 31034",
     "{\"$dateFromParts\": {\"year\": 2017, \"month\": 40000}}", NULL, NULL, 31034,
     "'month' must evaluate to a value in the range [-32768, 32767]; value 40000 is not in range"},
    {"non-integer fails with 40515", "{\"$dateFromParts\": {\"year\": 2017, \"day\": 1.5}}", NULL,
     NULL, 40515, "'day' must evaluate to an integer, found double with value 1.5"},
    {"unknown argument fails with 40518", "{\"$dateFromParts\": {\"year\": 2017, \"yr\": 1}}", NULL,
     NULL, 40518, "Unrecognized argument to $dateFromParts: yr"},
};

static void test_to_and_from_parts(void **state)
{
    (void)state;
    RUN(parts_cases);
}

/* --- $dateAdd / $dateSubtract -------------------------------------------------------------- */

static const ecase_t add_cases[] = {
    {"docs: month-end clamps (31 Oct + 1 month)",
     "{\"$dateAdd\": {\"startDate\": " D("2020-10-31T12:10:05Z") ", \"unit\": \"month\", "
                                                                 "\"amount\": 1}}",
     NULL, D("2020-11-30T12:10:05Z")},
    {"leap day + 1 year",
     "{\"$dateAdd\": {\"startDate\": " D("2020-02-29T00:00:00Z") ", \"unit\": "
                                                                 "\"year\", "
                                                                 "\"amount\":"
                                                                 " 1}}",
     NULL, D("2021-02-28T00:00:00Z")},
    {"31 Jan + 1 month in a leap year",
     "{\"$dateAdd\": {\"startDate\": " D("2024-01-31T00:00:00Z") ", \"unit\": \"month\", "
                                                                 "\"amount\": 1}}",
     NULL, D("2024-02-29T00:00:00Z")},
    {"quarter",
     "{\"$dateAdd\": {\"startDate\": " D("2021-01-15T00:00:00Z") ", \"unit\": "
                                                                 "\"quarter\", "
                                                                 "\"amount\": 2}}",
     NULL, D("2021-07-15T00:00:00Z")},
    {"negative months",
     "{\"$dateAdd\": {\"startDate\": " D("2021-03-31T00:00:00Z") ", \"unit\": "
                                                                 "\"month\", "
                                                                 "\"amount\": "
                                                                 "-13}}",
     NULL, D("2020-02-29T00:00:00Z")},
    {"hours across fall back move the instant",
     "{\"$dateAdd\": {\"startDate\": " D("2020-11-01T05:50:02Z") ", \"unit\": \"hour\", "
                                                                 "\"amount\": 1, \"timezone\": "
                                                                 "\"America/New_York\"}}",
     NULL, D("2020-11-01T06:50:02Z")},
    {"a day across spring forward keeps the wall clock",
     "{\"$dateAdd\": {\"startDate\": " D("2021-03-13T17:00:00Z") ", \"unit\": \"day\", "
                                                                 "\"amount\": 1, \"timezone\": "
                                                                 "\"America/New_York\"}}",
     NULL, D("2021-03-14T16:00:00Z")},
    {"a week across London's spring forward",
     "{\"$dateAdd\": {\"startDate\": " D("2021-03-25T12:00:00Z") ", \"unit\": \"week\", "
                                                                 "\"amount\": 1, \"timezone\": "
                                                                 "\"Europe/London\"}}",
     NULL, D("2021-04-01T11:00:00Z")},
    {"a day in UTC is 24 hours",
     "{\"$dateAdd\": {\"startDate\": " D(
         "2021-03-13T17:00:00Z") ", \"unit\": \"day\", \"amount\": 1}}",
     NULL, D("2021-03-14T17:00:00Z")},
    {"milliseconds",
     "{\"$dateAdd\": {\"startDate\": {\"$date\": {\"$numberLong\": \"0\"}}, "
     "\"unit\": \"millisecond\", \"amount\": -1}}",
     NULL, "{\"$date\": {\"$numberLong\": \"-1\"}}"},
    {"$dateSubtract a month clamps",
     "{\"$dateSubtract\": {\"startDate\": " D("2021-03-31T00:00:00Z") ", \"unit\": \"month\", "
                                                                      "\"amount\": 1}}",
     NULL, D("2021-02-28T00:00:00Z")},
    {"$dateSubtract hours",
     "{\"$dateSubtract\": {\"startDate\": " D(
         "2021-01-01T00:00:00Z") ", \"unit\": \"hour\", \"amount\": 25}}",
     NULL, D("2020-12-30T23:00:00Z")},
    {"null timezone is null",
     "{\"$dateAdd\": {\"startDate\": " D(
         "2021-01-01T00:00:00Z") ", \"unit\": \"day\", \"amount\": 1, "
                                 "\"timezone\": null}}",
     NULL, "null"},
    {"a constant bad unit fails at parse time",
     "{\"$dateAdd\": {\"startDate\": \"$nothing\", \"unit\": \"eon\", \"amount\": 1}}", NULL, NULL,
     9, "$dateAdd parameter 'unit' value parsing failed"},
    {"null amount is null",
     "{\"$dateAdd\": {\"startDate\": " D(
         "2021-01-01T00:00:00Z") ", \"unit\": \"day\", \"amount\": null}}",
     NULL, "null"},
    {"fractional amount fails with 5166405",
     "{\"$dateAdd\": {\"startDate\": " D("2021-01-01T00:00:00Z") ", \"unit\": \"day\", "
                                                                 "\"amount\": 1.5}}",
     NULL, NULL, 5166405, "$dateAdd expects integer amount of time units"},
    {"unknown unit fails with FailedToParse",
     "{\"$dateAdd\": {\"startDate\": " D("2021-01-01T00:00:00Z") ", \"unit\": \"decade\", "
                                                                 "\"amount\": 1}}",
     NULL, NULL, 9,
     "$dateAdd parameter 'unit' value parsing failed :: caused by :: unknown time unit value: "
     "decade"},
    {"non-date start fails with 5166403",
     "{\"$dateSubtract\": {\"startDate\": \"x\", \"unit\": \"day\", \"amount\": 1}}", NULL, NULL,
     5166403, "$dateSubtract requires startDate to be convertible to a date"},
    {"missing amount fails with 5166402",
     "{\"$dateAdd\": {\"startDate\": " D("2021-01-01T00:00:00Z") ", \"unit\": \"day\"}}", NULL,
     NULL, 5166402, "$dateAdd requires startDate, unit, and amount to be present"},
    {"huge amount fails with 5976500",
     "{\"$dateAdd\": {\"startDate\": " D("2021-01-01T00:00:00Z") ", \"unit\": \"year\", "
                                                                 "\"amount\": {\"$numberLong\": "
                                                                 "\"9000000000000\"}}}",
     NULL, NULL, 5976500, NULL},
    {"overflow fails with 5166406",
     "{\"$dateAdd\": {\"startDate\": " D("2021-01-01T00:00:00Z") ", \"unit\": \"millisecond\", "
                                                                 "\"amount\": {\"$numberLong\": "
                                                                 "\"9223372036854775807\"}}}",
     NULL, NULL, 5166406, "dateAdd overflowed"},
};

static void test_add(void **state)
{
    (void)state;
    RUN(add_cases);
}

/* --- $dateDiff ---------------------------------------------------------------------------------
 */

#define DIFF(s, e, unit, extra)                                                                    \
    "{\"$dateDiff\": {\"startDate\": " D(s) ", \"endDate\": " D(e) ", \"unit\": \"" unit           \
                                                                   "\"" extra "}}"

static const ecase_t diff_cases[] = {
    {"two seconds apart cross a year",
     DIFF("2020-12-31T23:59:59Z", "2021-01-01T00:00:01Z", "year", ""), NULL,
     "{\"$numberLong\": \"1\"}"},
    {"... a quarter", DIFF("2020-12-31T23:59:59Z", "2021-01-01T00:00:01Z", "quarter", ""), NULL,
     "{\"$numberLong\": \"1\"}"},
    {"... a month", DIFF("2020-12-31T23:59:59Z", "2021-01-01T00:00:01Z", "month", ""), NULL,
     "{\"$numberLong\": \"1\"}"},
    {"... no Sunday", DIFF("2020-12-31T23:59:59Z", "2021-01-01T00:00:01Z", "week", ""), NULL,
     "{\"$numberLong\": \"0\"}"},
    {"... a day", DIFF("2020-12-31T23:59:59Z", "2021-01-01T00:00:01Z", "day", ""), NULL,
     "{\"$numberLong\": \"1\"}"},
    {"... an hour", DIFF("2020-12-31T23:59:59Z", "2021-01-01T00:00:01Z", "hour", ""), NULL,
     "{\"$numberLong\": \"1\"}"},
    {"... two seconds", DIFF("2020-12-31T23:59:59Z", "2021-01-01T00:00:01Z", "second", ""), NULL,
     "{\"$numberLong\": \"2\"}"},
    {"... 2000 ms", DIFF("2020-12-31T23:59:59Z", "2021-01-01T00:00:01Z", "millisecond", ""), NULL,
     "{\"$numberLong\": \"2000\"}"},
    {"Saturday to Monday crosses a Sunday",
     DIFF("2022-01-08T00:00:00Z", "2022-01-10T00:00:00Z", "week", ""), NULL,
     "{\"$numberLong\": \"1\"}"},
    {"... and a Monday",
     DIFF("2022-01-08T00:00:00Z", "2022-01-10T00:00:00Z", "week", ", \"startOfWeek\": \"monday\""),
     NULL, "{\"$numberLong\": \"1\"}"},
    {"... but no Tuesday",
     DIFF("2022-01-08T00:00:00Z", "2022-01-10T00:00:00Z", "week", ", \"startOfWeek\": \"TUE\""),
     NULL, "{\"$numberLong\": \"0\"}"},
    {"hours across London's spring forward count real hours",
     DIFF("2021-03-28T00:00:00Z", "2021-03-28T02:00:00Z", "hour",
          ", \"timezone\": \"Europe/London\""),
     NULL, "{\"$numberLong\": \"2\"}"},
    {"backwards is negative", DIFF("2021-01-01T00:00:00Z", "2020-12-31T23:00:00Z", "day", ""), NULL,
     "{\"$numberLong\": \"-1\"}"},
    {"hours across New York's fall back count real hours",
     DIFF("2020-11-01T04:00:00Z", "2020-11-01T08:00:00Z", "hour",
          ", \"timezone\": \"America/New_York\""),
     NULL, "{\"$numberLong\": \"4\"}"},
    {"days follow the zone's calendar",
     DIFF("2021-01-01T03:00:00Z", "2021-01-01T06:00:00Z", "day",
          ", \"timezone\": \"America/New_York\""),
     NULL, "{\"$numberLong\": \"1\"}"},
    {"docs: months between 2020-01-31 and 2020-03-01",
     DIFF("2020-01-31T00:00:00Z", "2020-03-01T00:00:00Z", "month", ""), NULL,
     "{\"$numberLong\": \"2\"}"},
    {"null end is null",
     "{\"$dateDiff\": {\"startDate\": " D(
         "2020-01-01T00:00:00Z") ", "
                                 "\"endDate\": null, \"unit\": \"day\"}}",
     NULL, "null"},
    {"unknown unit fails", DIFF("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", "fortnight", ""),
     NULL, NULL, 9,
     "$dateDiff parameter 'unit' value parsing failed :: caused by :: unknown time unit value: "
     "fortnight"},
    {"bad startOfWeek fails with 5439016",
     DIFF("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", "week", ", \"startOfWeek\": \"xyz\""),
     NULL, NULL, 5439016,
     "$dateDiff parameter 'startOfWeek' value cannot be recognized as a day of a week: xyz"},
    {"startOfWeek is ignored for days",
     DIFF("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", "day", ", \"startOfWeek\": \"xyz\""),
     NULL, "{\"$numberLong\": \"1\"}"},
    {"bad zone carries context",
     DIFF("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", "day", ", \"timezone\": \"Nope\""), NULL,
     NULL, 40485,
     "$dateDiff parameter 'timezone' value parsing failed :: caused by :: unrecognized time zone "
     "identifier: \"Nope\""},
    {"string start fails with 5166307",
     "{\"$dateDiff\": {\"startDate\": \"x\", \"endDate\": \"y\", \"unit\": \"day\"}}", NULL, NULL,
     5166307, "$dateDiff requires 'startDate' to be a date, but got string"},
    {"missing unit fails with 5166305", "{\"$dateDiff\": {\"startDate\": 1, \"endDate\": 2}}", NULL,
     NULL, 5166305, "Missing 'unit' parameter to $dateDiff"},
};

static void test_diff(void **state)
{
    (void)state;
    RUN(diff_cases);
}

/* --- $dateTrunc ---------------------------------------------------------------------------------
 */

#define TRUNC(unit, extra)                                                                         \
    "{\"$dateTrunc\": {\"date\": " D("2021-03-20T11:30:05.123Z") ", \"unit\": \"" unit "\"" extra  \
                                                                 "}}"

static const ecase_t trunc_cases[] = {
    {"day", TRUNC("day", ""), NULL, D("2021-03-20T00:00:00Z")},
    {"two-hour bins from 2000-01-01", TRUNC("hour", ", \"binSize\": 2"), NULL,
     D("2021-03-20T10:00:00Z")},
    {"fifteen-minute bins", TRUNC("minute", ", \"binSize\": 15"), NULL, D("2021-03-20T11:30:00Z")},
    {"second", TRUNC("second", ""), NULL, D("2021-03-20T11:30:05Z")},
    {"month", TRUNC("month", ""), NULL, D("2021-03-01T00:00:00Z")},
    {"six-month bins", TRUNC("month", ", \"binSize\": 6"), NULL, D("2021-01-01T00:00:00Z")},
    {"quarter", TRUNC("quarter", ""), NULL, D("2021-01-01T00:00:00Z")},
    {"year", TRUNC("year", ""), NULL, D("2021-01-01T00:00:00Z")},
    {"week starts on Sunday", TRUNC("week", ""), NULL, D("2021-03-14T00:00:00Z")},
    {"week starting Monday", TRUNC("week", ", \"startOfWeek\": \"Monday\""), NULL,
     D("2021-03-15T00:00:00Z")},
    {"day in New York", TRUNC("day", ", \"timezone\": \"America/New_York\""), NULL,
     D("2021-03-20T04:00:00Z")},
    {"month in New York across spring forward",
     TRUNC("month", ", \"timezone\": \"America/New_York\""), NULL, D("2021-03-01T05:00:00Z")},
    {"negative date",
     "{\"$dateTrunc\": {\"date\": {\"$date\": {\"$numberLong\": \"-1\"}}, "
     "\"unit\": \"day\"}}",
     NULL, D("1969-12-31T00:00:00Z")},
    {"null binSize is null", TRUNC("day", ", \"binSize\": null"), NULL, "null"},
    {"three-week bins from the first Sunday of 2000", TRUNC("week", ", \"binSize\": 3"), NULL,
     D("2021-02-28T00:00:00Z")},
    {"hours count from UTC even in a half-hour zone",
     TRUNC("hour", ", \"timezone\": \"Asia/Kolkata\""), NULL, D("2021-03-20T11:00:00Z")},
    {"null timezone is null", TRUNC("day", ", \"timezone\": null"), NULL, "null"},
    {"zero binSize fails with 5439018", TRUNC("day", ", \"binSize\": 0"), NULL, NULL, 5439018,
     "$dateTrunc requires 'binSize' to be greater than 0, but got value 0"},
    {"fractional binSize fails with 5439017", TRUNC("day", ", \"binSize\": 1.5"), NULL, NULL,
     5439017,
     "$dateTrunc requires 'binSize' to be a 64-bit integer, but got value '1.5' of type double"},
    {"non-string unit fails with 5439013",
     "{\"$dateTrunc\": {\"date\": " D("2021-01-01T00:00:00Z") ", \"unit\": 1}}", NULL, NULL,
     5439013, "$dateTrunc requires 'unit' to be a string, but got int"},
    {"missing unit fails with 5439010",
     "{\"$dateTrunc\": {\"date\": " D("2021-01-01T00:00:00Z") "}}", NULL, NULL, 5439010,
     "Missing 'unit' parameter to $dateTrunc"},
    {"unknown argument fails with 5439008", TRUNC("day", ", \"bin\": 1"), NULL, NULL, 5439008,
     NULL},
};

static void test_trunc(void **state)
{
    (void)state;
    RUN(trunc_cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
