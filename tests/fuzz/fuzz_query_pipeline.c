/*
 * fuzz_query_pipeline.c -- libFuzzer target for the aggregation pipeline
 * parser (query/pipeline*.c, stage_*.c, accum.c).
 *
 * The input is taken as a BSON pipeline array (validated first, as the wire
 * layer does). Whatever parses is optimised, serialised, asked for its
 * dependencies and pushdown, and run over a few fixed documents with a small
 * memory limit and no disk, no data source (stages that need one must fail
 * cleanly) and a step budget through the deadline callback, so expensive
 * fuzzer-made pipelines stop. Bad pipelines must fail with a status, never
 * crash, leak or trip a sanitizer.
 */
#include "query/query.h"

#include <stddef.h>
#include <stdint.h>

static const char *const kDocs[] = {
    "{\"_id\": 1, \"a\": 1, \"b\": \"str\", \"c\": [1, 2, [3, 4], {\"d\": 5}], \"n\": null}",
    "{\"_id\": 2, \"a\": [{\"b\": 1, \"c\": [1, 2]}, {\"b\": [2, 3]}, 7, []], \"x\": {\"y\": "
    "{\"z\": 1.5}}}",
    "{\"_id\": 3, \"a\": {\"$numberLong\": \"-9223372036854775808\"}, \"d\": {\"$date\": "
    "{\"$numberLong\": \"0\"}}, \"f\": {\"$minKey\": 1}}",
    "{}",
};

#define NDOCS (sizeof(kDocs) / sizeof(kDocs[0]))

static bson_t *docs[NDOCS];

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

/* embedded_ok -- reject embedded documents shorter than 5 bytes (bson_validate lets them by). */
static bool embedded_ok(const bson_t *b, int depth)
{
    bson_iter_t it;
    if (depth > 200 || !bson_iter_init(&it, b))
        return false;
    while (bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            uint32_t len;
            const uint8_t *data;
            if (BSON_ITER_HOLDS_DOCUMENT(&it))
                bson_iter_document(&it, &len, &data);
            else
                bson_iter_array(&it, &len, &data);
            bson_t sub;
            if (!data || len < 5 || !bson_init_static(&sub, data, len) ||
                !embedded_ok(&sub, depth + 1))
                return false;
        } else if (BSON_ITER_HOLDS_CODEWSCOPE(&it)) {
            return false;
        }
    }
    return true;
}

static int budget;

/* A step budget: expensive pipelines end with MaxTimeMSExpired, as maxTimeMS would. */
static int deadline(void *arg, status_t *st)
{
    (void)arg;
    if (--budget < 0)
        return status_set(st, ERR_MaxTimeMSExpired, "fuzz step budget exhausted");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t pipeline;
    size_t err_off = 0;
    init_docs();
    if (!bson_init_static(&pipeline, data, size))
        return 0;
    if (!bson_validate(&pipeline, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL, &err_off))
        return 0;
    if (!embedded_ok(&pipeline, 0))
        return 0;
    qry_pipeline_t *p = NULL;
    status_t st = STATUS_INIT;
    if (qry_pipeline_parse(&pipeline, NULL, &p, &st) != 0) {
        if (p != NULL || st.code == 0)
            __builtin_trap(); /* a failure must say why and return nothing */
        return 0;
    }
    bson_t out;
    bson_init(&out);
    qry_pipeline_serialize(p, &out, "p");
    bool whole;
    bson_reinit(&out);
    qry_pipeline_dependencies(p, &out, &whole);
    bson_destroy(&out);
    if (qry_pipeline_optimize(p, &st) == 0) {
        qry_pl_pushdown_t pd;
        qry_pipeline_pushdown(p, &pd);
        qry_pl_pushdown_destroy(&pd);
        qry_pl_ctx_t ctx;
        qry_pl_ctx_init(&ctx);
        ctx.db = "fuzz";
        ctx.coll = "c";
        ctx.now_ms = 1;
        ctx.seed = 1;
        ctx.mem_limit = 256 * 1024;
        ctx.allow_disk_use = false;
        ctx.deadline = deadline;
        budget = 2000;
        qry_pl_exec_t *ex = NULL;
        if (qry_pipeline_open(p, &ctx, qry_pl_source_array((const bson_t *const *)docs, NDOCS), &ex,
                              &st) == 0) {
            for (int i = 0; i < 1000; i++) {
                bson_t d;
                bool eof = false;
                int r = qry_pl_exec_next(ex, &d, &eof, &st);
                bson_destroy(&d);
                if (r != 0 || eof)
                    break;
            }
            qry_pl_exec_destroy(ex);
        }
    }
    qry_pipeline_destroy(p);
    return 0;
}
