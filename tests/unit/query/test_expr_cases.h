/*
 * test_expr_cases.h -- the table runner shared by the expression tests:
 * JSON (with ' for ") to BSON, parse + evaluate one row, compare the result
 * exactly (type and value, through canonical extended JSON) or the error
 * code.
 *
 * libbson's JSON reader takes {"$type": ...} and {"$regex": ...} as legacy
 * extended JSON, so tables spell those keys "_$type" / "_$regex"; rows are
 * renamed before parsing. A result of "MISSING" means the expression
 * evaluated to missing (EOD).
 */
#ifndef MICA_TEST_EXPR_CASES_H
#define MICA_TEST_EXPR_CASES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/query.h"

#define ET_UNUSED __attribute__((unused))

/* A row: expression, input document, and either the result or an error code. */
typedef struct expr_case {
    const char *name;
    const char *expr;   /* the expression as a JSON value */
    const char *doc;    /* input document; NULL: {} */
    const char *result; /* JSON value, "MISSING", or NULL for error rows */
    int code;           /* expected error code (parse or evaluation), 0 if none */
} expr_case_t;

ET_UNUSED static void et_rename(bson_t *out, const bson_t *in, bool arr);

static void et_copy(bson_t *out, const char *key, bson_iter_t *it)
{
    if (BSON_ITER_HOLDS_DOCUMENT(it) || BSON_ITER_HOLDS_ARRAY(it)) {
        bool arr = BSON_ITER_HOLDS_ARRAY(it);
        uint32_t len;
        const uint8_t *data;
        bson_t in, child;
        if (arr) {
            bson_iter_array(it, &len, &data);
            bson_append_array_begin(out, key, -1, &child);
        } else {
            bson_iter_document(it, &len, &data);
            bson_append_document_begin(out, key, -1, &child);
        }
        bson_init_static(&in, data, len);
        et_rename(&child, &in, arr);
        if (arr)
            bson_append_array_end(out, &child);
        else
            bson_append_document_end(out, &child);
        return;
    }
    bson_append_value(out, key, -1, bson_iter_value(it));
}

ET_UNUSED static void et_rename(bson_t *out, const bson_t *in, bool arr)
{
    bson_iter_t it;
    (void)arr;
    bson_iter_init(&it, in);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '_' && k[1] == '$')
            k++;
        et_copy(out, k, &it);
    }
}

/* et_json -- {'v': <json>} with ' for " and _$ renames, into out (initialised here). */
ET_UNUSED static void et_json(const char *json, bson_t *out)
{
    size_t n = strlen(json);
    char *buf = malloc(n + 16);
    bson_error_t err;
    snprintf(buf, n + 16, "{\"v\": %s}", json);
    for (char *p = buf; *p; p++)
        if (*p == '\'')
            *p = '"';
    bson_t *raw = bson_new_from_json((const uint8_t *)buf, -1, &err);
    if (raw == NULL)
        fail_msg("bad JSON in table: %s (%s)", json, err.message);
    bson_init(out);
    et_rename(out, raw, false);
    bson_destroy(raw);
    free(buf);
}

/* et_value -- the value under "v" of a document from et_json. */
ET_UNUSED static bson_value_t et_value(const bson_t *wrapped)
{
    bson_iter_t it;
    bson_iter_init_find(&it, wrapped, "v");
    return *bson_iter_value(&it);
}

/* et_canon -- canonical extended JSON of {v: value} (caller frees with bson_free). */
ET_UNUSED static char *et_canon(const bson_value_t *v)
{
    bson_t b = BSON_INITIALIZER;
    if (v->value_type != BSON_TYPE_EOD)
        bson_append_value(&b, "v", 1, v);
    char *s = bson_as_canonical_extended_json(&b, NULL);
    bson_destroy(&b);
    return s;
}

/* et_run -- one row; returns 0 if it behaved, else prints why and returns 1. */
ET_UNUSED static int et_run(const expr_case_t *c, qry_expr_ctx_t *cx, qry_expr_scope_t *scope)
{
    bson_t eb, db = BSON_INITIALIZER;
    status_t st = STATUS_INIT;
    qry_expr_t *e = NULL;
    int bad = 0, ret;
    et_json(c->expr, &eb);
    bson_value_t ev = et_value(&eb);
    if (c->doc != NULL) {
        char *buf = strdup(c->doc);
        bson_error_t err;
        for (char *p = buf; *p; p++)
            if (*p == '\'')
                *p = '"';
        bson_t *raw = bson_new_from_json((const uint8_t *)buf, -1, &err);
        free(buf);
        if (raw == NULL)
            fail_msg("bad JSON document in row %s: %s", c->name, err.message);
        bson_destroy(&db);
        bson_init(&db);
        et_rename(&db, raw, false);
        bson_destroy(raw);
    }
    ret = qry_expr_parse(&ev, scope, &e, &st);
    if (ret == 0) {
        bson_value_t out;
        ret = qry_expr_eval(e, cx, &db, &out, &st);
        if (ret == 0 && c->result != NULL) {
            char *got = et_canon(&out);
            char *want;
            if (strcmp(c->result, "MISSING") == 0) {
                bson_value_t missing;
                memset(&missing, 0, sizeof(missing));
                want = et_canon(&missing);
            } else {
                bson_t rb;
                et_json(c->result, &rb);
                bson_value_t rv = et_value(&rb);
                want = et_canon(&rv);
                bson_destroy(&rb);
            }
            if (strcmp(got, want) != 0) {
                print_message("FAIL %s: got %s, want %s\n", c->name, got, want);
                bad = 1;
            }
            bson_free(got);
            bson_free(want);
        } else if (ret == 0) {
            char *got = et_canon(&out);
            print_message("FAIL %s: got %s, want error %d\n", c->name, got, c->code);
            bson_free(got);
            bad = 1;
        }
    }
    if (ret != 0 && c->result != NULL) {
        print_message("FAIL %s: error %d %s\n", c->name, st.code, st.msg);
        bad = 1;
    } else if (ret != 0 && c->code != 0 && st.code != c->code) {
        print_message("FAIL %s: error %d (%s), want %d\n", c->name, st.code, st.msg, c->code);
        bad = 1;
    }
    qry_expr_destroy(e);
    qry_expr_ctx_reset(cx);
    bson_destroy(&eb);
    bson_destroy(&db);
    return bad;
}

/* et_run_table -- every row of a table; fails the test naming each bad row. */
ET_UNUSED static void et_run_table(const expr_case_t *rows, size_t n)
{
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    qry_expr_ctx_set_now(cx, 1700000000000LL);
    qry_expr_ctx_set_seed(cx, 42);
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += et_run(&rows[i], cx, NULL);
    qry_expr_ctx_destroy(cx);
    if (bad)
        fail_msg("%d of %zu rows failed", bad, n);
}

#endif /* MICA_TEST_EXPR_CASES_H */
