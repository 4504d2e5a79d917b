/*
 * fuzz_query_match.c -- libFuzzer target for the match parser and evaluator.
 *
 * The input is taken as a BSON filter (validated first, as the wire layer
 * does before anything reaches query/). Whatever parses is evaluated against
 * a fixed set of documents that exercise arrays, nesting, every common type
 * and missing fields, so the evaluator's path walking, regexes, $jsonSchema
 * and bit tests all run on fuzzer-chosen operands. Bad filters must fail
 * with a status, never crash, leak or trip a sanitizer.
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
    "\"options\": \"i\"}}, \"f\": {\"$minKey\": 1}, \"g\": {\"$maxKey\": 1}}",
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

/* An equality visitor that only looks at the value. */
static int count_eq(void *ctx, const char *path, const bson_value_t *v, status_t *st)
{
    (void)ctx;
    (void)st;
    return path[0] == '\0' && v->value_type == BSON_TYPE_EOD;
}

/* LLVMFuzzerTestOneInput -- one filter per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t filter;
    size_t err_off = 0;
    init_docs();
    if (!bson_init_static(&filter, data, size))
        return 0;
    if (!bson_validate(&filter, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL, &err_off))
        return 0;
    qry_match_t *m = NULL;
    status_t st = STATUS_INIT;
    if (qry_match_parse(&filter, NULL, &m, &st) != 0) {
        if (m != NULL || st.code == 0)
            __builtin_trap(); /* a failure must say why and return nothing */
        return 0;
    }
    for (size_t i = 0; i < NDOCS; i++) {
        qry_match_details_t d;
        (void)qry_match_eval(m, docs[i], &d);
    }
    (void)qry_match_equalities(m, count_eq, NULL, &st);
    qry_match_destroy(m);
    return 0;
}
