/*
 * fuzz_query_expr.c -- libFuzzer target for the aggregation expression
 * parser and evaluator.
 *
 * The input is a BSON document (validated first, as the wire layer does
 * before anything reaches query/); the value of each of its fields is parsed
 * as an expression, and whatever parses is evaluated against a fixed set of
 * documents with arrays, nesting, every common type and missing fields, and
 * its dependencies are computed. Bad expressions must fail with a status and
 * no tree, never crash, leak or trip a sanitizer.
 */
#include "query/query.h"

#include <stddef.h>
#include <stdint.h>

static const char *const kDocs[] = {
    "{\"a\": 1, \"b\": \"str\", \"c\": [1, 2, [3, 4], {\"d\": 5}], \"n\": null}",
    "{\"a\": [{\"b\": 1, \"c\": [1, 2]}, {\"b\": [2, 3]}, 7, []], \"x\": {\"y\": {\"z\": 1.5}}}",
    "{\"a\": {\"$numberLong\": \"-9223372036854775808\"}, \"b\": {\"$numberDecimal\": \"NaN\"}, "
    "\"c\": {\"$binary\": {\"base64\": \"AQIDBA==\", \"subType\": \"00\"}}, \"d\": {\"$date\": "
    "{\"$numberLong\": \"0\"}}, \"e\": {\"$regularExpression\": {\"pattern\": \"a\", "
    "\"options\": \"i\"}}, \"f\": {\"$minKey\": 1}, \"g\": {\"$maxKey\": 1}, \"s\": "
    "\"caf\\u00e9t\\u00e9ria\"}",
    "{}",
};

#define NDOCS (sizeof(kDocs) / sizeof(kDocs[0]))

static bson_t *docs[NDOCS];

/* Parse the fixed documents once. */
static void init_docs(void)
{
    for (size_t i = 0; i < NDOCS; i++) {
        if (docs[i] == NULL) {
            bson_error_t err;
            docs[i] = bson_new_from_json((const uint8_t *)kDocs[i], -1, &err);
            if (docs[i] == NULL)
                __builtin_trap();
        }
    }
}

/*
 * well_formed -- every embedded document/array is a real document: libbson
 * 1.23's bson_validate lets an embedded length below 5 through, which the
 * wire layer rejects before query/ sees it (query/README.md).
 */
static bool well_formed(const bson_t *b, int depth)
{
    bson_iter_t it;
    if (depth > 200 || !bson_iter_init(&it, b))
        return false;
    while (bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            uint32_t l = 0;
            const uint8_t *d = NULL;
            bson_t sub;
            if (BSON_ITER_HOLDS_DOCUMENT(&it))
                bson_iter_document(&it, &l, &d);
            else
                bson_iter_array(&it, &l, &d);
            if (!d || !bson_init_static(&sub, d, l) || !well_formed(&sub, depth + 1))
                return false;
        }
    }
    return true;
}

/* LLVMFuzzerTestOneInput -- one document of expressions per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t in;
    bson_iter_t it;
    size_t err_off = 0;
    init_docs();
    if (!bson_init_static(&in, data, size))
        return 0;
    if (!bson_validate(&in, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL, &err_off))
        return 0;
    if (!well_formed(&in, 0) || !bson_iter_init(&it, &in))
        return 0;
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    qry_expr_ctx_set_now(cx, 0);
    qry_expr_ctx_set_seed(cx, 1);
    while (bson_iter_next(&it)) {
        qry_expr_t *e = NULL;
        status_t st = STATUS_INIT;
        if (qry_expr_parse_iter(&it, NULL, &e, &st) != 0) {
            if (e != NULL || st.code == 0)
                __builtin_trap(); /* a failure must say why and return nothing */
            continue;
        }
        for (size_t i = 0; i < NDOCS; i++) {
            bson_value_t out;
            status_t est = STATUS_INIT;
            if (qry_expr_eval(e, cx, docs[i], &out, &est) != 0 && est.code == 0)
                __builtin_trap();
            bson_t b = BSON_INITIALIZER;
            qry_expr_append(&b, "v", 1, &out); /* results must be valid BSON values */
            bson_destroy(&b);
            qry_expr_ctx_reset(cx);
        }
        qry_expr_deps_t d;
        qry_expr_deps_init(&d);
        qry_expr_deps_add(e, &d);
        qry_expr_deps_destroy(&d);
        qry_expr_destroy(e);
    }
    qry_expr_ctx_destroy(cx);
    return 0;
}
