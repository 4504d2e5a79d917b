/*
 * test_match_cases.h -- shared helpers of the match and $jsonSchema test tables:
 * JSON (with ' for ") to BSON, and one cmocka case per table row.
 *
 * libbson's JSON reader takes {"$regex": ...} and {"$type": ...} as legacy
 * extended JSON, so tables spell those operators "_$regex", "_$options",
 * "_$type"; to_bson() renames every key that starts with "_$".
 */
#ifndef MICA_TEST_MATCH_CASES_H
#define MICA_TEST_MATCH_CASES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/query.h"

/* A row: a filter, a document, and either a match result or an error code. */
typedef struct match_case {
    const char *name;
    const char *filter;
    const char *doc; /* NULL for parse-only (error) rows */
    int expect;      /* 1 match, 0 no match */
    int code;        /* expected parse error code, 0 if none */
    const char *msg; /* expected message prefix for errors (NULL: don't check) */
} match_case_t;

#define MT_UNUSED __attribute__((unused))

MT_UNUSED static void rename_keys(bson_t *out, const bson_t *in);

/* Copy one value, renaming keys inside documents and arrays. */
MT_UNUSED static void copy_value(bson_t *out, const char *key, bson_iter_t *it)
{
    if (BSON_ITER_HOLDS_DOCUMENT(it) || BSON_ITER_HOLDS_ARRAY(it)) {
        bson_t sub, child;
        uint32_t len;
        const uint8_t *data;
        bool arr = BSON_ITER_HOLDS_ARRAY(it);
        if (arr)
            bson_iter_array(it, &len, &data);
        else
            bson_iter_document(it, &len, &data);
        bson_t in;
        bson_init_static(&in, data, len);
        if (arr)
            bson_append_array_begin(out, key, -1, &child);
        else
            bson_append_document_begin(out, key, -1, &child);
        bson_init(&sub);
        rename_keys(&sub, &in);
        bson_concat(&child, &sub);
        bson_destroy(&sub);
        if (arr)
            bson_append_array_end(out, &child);
        else
            bson_append_document_end(out, &child);
        return;
    }
    bson_append_value(out, key, -1, bson_iter_value(it));
}

MT_UNUSED static void rename_keys(bson_t *out, const bson_t *in)
{
    bson_iter_t it;
    bson_iter_init(&it, in);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '_' && k[1] == '$')
            k++;
        copy_value(out, k, &it);
    }
}

/* to_bson -- parse test JSON (' stands for ") into a new document; fails the test if bad. */
MT_UNUSED static bson_t *to_bson(const char *json)
{
    char *buf = strdup(json);
    for (char *p = buf; *p; p++)
        if (*p == '\'')
            *p = '"';
    bson_error_t err;
    bson_t *raw = bson_new_from_json((const uint8_t *)buf, -1, &err);
    if (raw == NULL)
        fail_msg("bad test JSON %s: %s", json, err.message);
    free(buf);
    bson_t *out = bson_new();
    rename_keys(out, raw);
    bson_destroy(raw);
    return out;
}

/* run_case -- one table row as one cmocka test. */
MT_UNUSED static void run_case(void **state)
{
    const match_case_t *c = *state;
    bson_t *filter = to_bson(c->filter);
    qry_match_t *m = NULL;
    status_t st = STATUS_INIT;
    int rc = qry_match_parse(filter, NULL, &m, &st);
    if (c->code != 0) {
        if (rc != c->code)
            fail_msg("%s: filter %s: expected error %d, got %d (%s)", c->name, c->filter, c->code,
                     rc, st.msg);
        if (c->msg != NULL && strncmp(st.msg, c->msg, strlen(c->msg)) != 0)
            fail_msg("%s: expected message '%s', got '%s'", c->name, c->msg, st.msg);
        assert_null(m);
        bson_destroy(filter);
        return;
    }
    if (rc != 0)
        fail_msg("%s: filter %s failed to parse: %d %s", c->name, c->filter, rc, st.msg);
    bson_t *doc = to_bson(c->doc);
    bool got = qry_match_eval(m, doc, NULL);
    if (got != (c->expect != 0))
        fail_msg("%s: filter %s on %s: expected %s", c->name, c->filter, c->doc,
                 c->expect ? "match" : "no match");
    /* evaluating again gives the same answer: the tree holds no per-evaluation state */
    assert_int_equal(qry_match_eval(m, doc, NULL), got);
    bson_destroy(doc);
    qry_match_destroy(m);
    bson_destroy(filter);
}

/* run_table -- register every row of a table as a named cmocka test and run them. */
MT_UNUSED static int run_table(const char *group, const match_case_t *rows, size_t n)
{
    struct CMUnitTest *tests = calloc(n, sizeof(*tests));
    for (size_t i = 0; i < n; i++) {
        tests[i].name = rows[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = (void *)&rows[i];
    }
    int failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    free(tests);
    return failed;
}

#define M(name, filter, doc)                                                                       \
    {                                                                                              \
        name, filter, doc, 1, 0, NULL                                                              \
    }
#define N(name, filter, doc)                                                                       \
    {                                                                                              \
        name, filter, doc, 0, 0, NULL                                                              \
    }
#define E(name, filter, code, msg)                                                                 \
    {                                                                                              \
        name, filter, NULL, 0, code, msg                                                           \
    }
#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

#endif /* MICA_TEST_MATCH_CASES_H */
