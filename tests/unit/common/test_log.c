/*
 * test_log.c -- log lines: attributes over LOG_MAX_ATTR_BYTES are truncated
 * (documents keep their first fields that fit, strings their first bytes)
 * with "truncated" and "size" beside "attr"; small ones are untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/common.h"

static void test_small_attributes_are_kept_whole(void **state)
{
    bson_t *attr = BCON_NEW("a", BCON_INT32(1), "s", BCON_UTF8("x"));
    bson_string_t *line = bson_string_new(NULL);
    log_format(line, LOG_SEV_INFO, LOG_C_CONTROL, 1, "main", "m", attr);
    assert_non_null(strstr(line->str, "\"attr\":{ \"a\" : 1, \"s\" : \"x\" }"));
    assert_null(strstr(line->str, "truncated"));
    bson_string_free(line, true);
    bson_destroy(attr);
}

static void test_large_document_is_cut_to_the_limit(void **state)
{
    bson_t big = BSON_INITIALIZER, *attr;
    char pad[1001];
    memset(pad, 'p', 1000);
    pad[1000] = '\0';
    for (int i = 0; i < 1000; i++) { /* about 1 MB */
        char key[16];
        (void)snprintf(key, sizeof(key), "f%d", i);
        BSON_APPEND_UTF8(&big, key, pad);
    }
    attr = BCON_NEW("command", BCON_DOCUMENT(&big), "n", BCON_INT32(7));
    bson_string_t *line = bson_string_new(NULL);
    log_format(line, LOG_SEV_INFO, LOG_C_COMMAND, 2, "conn1", "Slow query", attr);
    assert_true(line->len < 2 * LOG_MAX_ATTR_BYTES);
    assert_non_null(strstr(line->str, "\"truncated\":{ \"command\" : { \"omitted\" : "));
    assert_non_null(strstr(line->str, "\"size\":{ \"command\" : "));
    assert_non_null(strstr(line->str, "\"n\" : 7"));
    assert_non_null(strstr(line->str, "\"f0\""));
    assert_null(strstr(line->str, "\"f999\""));
    bson_string_free(line, true);
    bson_destroy(attr);
    bson_destroy(&big);
}

static void test_large_string_is_cut_on_a_character(void **state)
{
    size_t n = 3 * LOG_MAX_ATTR_BYTES;
    char *s = malloc(n + 1);
    for (size_t i = 0; i + 1 < n; i += 2) { /* "é" is two bytes */
        s[i] = (char)0xC3;
        s[i + 1] = (char)0xA9;
    }
    s[n] = '\0';
    bson_t attr = BSON_INITIALIZER, out = BSON_INITIALIZER, tr = BSON_INITIALIZER,
           sizes = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&attr, "s", s);
    assert_true(log_truncate_attrs(&attr, LOG_MAX_ATTR_BYTES, &out, &tr, &sizes));
    bson_iter_t it;
    uint32_t len;
    assert_true(bson_iter_init_find(&it, &out, "s"));
    const char *kept = bson_iter_utf8(&it, &len);
    assert_true(len <= LOG_MAX_ATTR_BYTES && len % 2 == 0);
    assert_true(bson_utf8_validate(kept, len, false));
    bson_destroy(&attr);
    bson_destroy(&out);
    bson_destroy(&tr);
    bson_destroy(&sizes);
    free(s);
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
