/*
 * test_json.h -- shared by the query/ table tests: J() turns single-quoted
 * JSON (readable inside C string literals) into a bson_t, and CASE_FAIL
 * records a failed table row so a run reports every failing row, not just
 * the first. Include after cmocka.h.
 */
#ifndef MICA_TEST_QUERY_JSON_H
#define MICA_TEST_QUERY_JSON_H

#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>

__attribute__((unused)) static int failures;

#define CASE_FAIL(...)                                                                             \
    do {                                                                                           \
        print_error(__VA_ARGS__);                                                                  \
        print_error("\n");                                                                         \
        failures++;                                                                                \
    } while (0)

/* J -- single-quoted JSON to a new bson_t (the test fails on bad JSON). */
__attribute__((unused)) static bson_t *J(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    bson_error_t err;
    bson_t *b = bson_new_from_json((const uint8_t *)d, -1, &err);
    if (!b)
        fail_msg("bad test JSON %s: %s", s, err.message);
    free(d);
    return b;
}

#endif /* MICA_TEST_QUERY_JSON_H */
