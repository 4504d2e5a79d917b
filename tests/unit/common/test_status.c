/*
 * test_status.c -- the error-code table and status helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "common/common.h"

static const struct {
    int code;
    const char *name;
} codes[] = {
#define X(code, name) {code, #name},
#include "common/error_codes.def"
#undef X
};

/* The table must be sorted and unique: status_code_name binary-searches it. */
static void test_table_sorted_unique(void **state)
{
    for (size_t i = 1; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_true(codes[i - 1].code < codes[i].code);
}

static void test_names_match_mongodb(void **state)
{
    assert_string_equal(status_code_name(11000), "DuplicateKey");
    assert_string_equal(status_code_name(59), "CommandNotFound");
    assert_string_equal(status_code_name(10107), "NotWritablePrimary");
    assert_string_equal(status_code_name(13388), "StaleConfig");
    assert_string_equal(status_code_name(251), "NoSuchTransaction");
    assert_string_equal(status_code_name(0), "OK");
    assert_int_equal(ERR_BadValue, 2);
    assert_int_equal(ERR_MaxTimeMSExpired, 50);
}

static void test_unknown_code(void **state)
{
    assert_false(status_code_known(51091));
    assert_string_equal(status_code_name(51091), "Location51091");
}

static void test_set_and_prefix(void **state)
{
    status_t st = STATUS_INIT;
    assert_true(status_is_ok(&st));
    assert_int_equal(status_set(&st, ERR_BadValue, "bad %s", "thing"), ERR_BadValue);
    assert_string_equal(st.msg, "bad thing");
    status_prefix(&st, "in %d: ", 3);
    assert_string_equal(st.msg, "in 3: bad thing");
    status_reset(&st);
    assert_true(status_is_ok(&st));
}

static void test_message_truncates_without_overflow(void **state)
{
    status_t st = STATUS_INIT;
    char big[STATUS_MSG_MAX * 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    status_set(&st, ERR_BadValue, "%s", big);
    assert_int_equal(strlen(st.msg), STATUS_MSG_MAX - 1);
}

static void test_propagation_macros(void **state)
{
    int ret = 0;
    ST_TRET(0);
    assert_int_equal(ret, 0);
    ST_TRET(5);
    ST_TRET(7);
    assert_int_equal(ret, 5);
}

static void test_log_format_shape(void **state)
{
    bson_string_t *s = bson_string_new(NULL);
    bson_t *attr = BCON_NEW("remote", BCON_UTF8("127.0.0.1:5000"), "connectionId", BCON_INT64(3));
    bson_error_t err;
    bson_t parsed;

    log_format(s, LOG_SEV_INFO, LOG_C_NETWORK, 22943, "listener", "Connection \"accepted\"", attr);
    assert_true(s->len > 0 && s->str[s->len - 1] == '\n');
    s->str[s->len - 1] = '\0';
    {
        /* MongoDB writes "+HH:MM"; libbson's parser only takes "+HHMM": check, then strip. */
        char *date = strstr(s->str, "\"$date\":\"");
        assert_non_null(date);
        date += 9;
        assert_true(date[4] == '-' && date[10] == 'T' && date[19] == '.' && date[26] == ':');
        assert_true(date[23] == '+' || date[23] == '-');
        memmove(date + 26, date + 27, strlen(date + 27) + 1);
    }
    if (!bson_init_from_json(&parsed, s->str, -1, &err))
        fail_msg("%s: %s", err.message, s->str);
    {
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, &parsed, "s"));
        assert_string_equal(bson_iter_utf8(&it, NULL), "I");
        assert_true(bson_iter_init_find(&it, &parsed, "c"));
        assert_string_equal(bson_iter_utf8(&it, NULL), "NETWORK");
        assert_true(bson_iter_init_find(&it, &parsed, "id"));
        assert_int_equal(bson_iter_as_int64(&it), 22943);
        assert_true(bson_iter_init_find(&it, &parsed, "msg"));
        assert_string_equal(bson_iter_utf8(&it, NULL), "Connection \"accepted\"");
        assert_true(bson_iter_init_find(&it, &parsed, "attr.connectionId") ||
                    bson_iter_init_find(&it, &parsed, "attr"));
        assert_true(bson_iter_init_find(&it, &parsed, "t"));
        assert_int_equal(bson_iter_type(&it), BSON_TYPE_DATE_TIME);
    }
    bson_destroy(&parsed);
    bson_destroy(attr);
    bson_string_free(s, true);
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
