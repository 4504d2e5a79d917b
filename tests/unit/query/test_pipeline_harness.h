/*
 * test_pipeline_harness.h -- shared by the pipeline, stage and accumulator
 * tests: JSON helpers (single quotes for double), an in-memory database
 * behind qry_pl_datasource_t (collections, $out's temp collections, stats),
 * and run_case(), which parses, optimises and runs a pipeline over input
 * documents and compares the output with the expected documents (byte for
 * byte, so numeric types count; order-insensitive when asked).
 */
#ifndef TEST_PIPELINE_HARNESS_H
#define TEST_PIPELINE_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/query.h"
#include "tests/unit/query/test_json.h"

/* JA -- a JSON array text as a BSON array document. */
static bson_t *JA(const char *s)
{
    size_t n = strlen(s) + 16;
    char *w = malloc(n);
    snprintf(w, n, "{'a': %s}", s);
    bson_t *outer = J(w);
    free(w);
    bson_iter_t it;
    bson_t *arr = bson_new();
    if (bson_iter_init_find(&it, outer, "a") && BSON_ITER_HOLDS_ARRAY(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&it, &len, &data);
        bson_t v;
        bson_init_static(&v, data, len);
        bson_concat(arr, &v);
    }
    bson_destroy(outer);
    return arr;
}

/* ---- in-memory database --------------------------------------------------- */

#define FAKE_MAX_COLLS 16

typedef struct fake_coll {
    char name[64];
    bson_t **docs;
    size_t n;
    bool used;
} fake_coll_t;

typedef struct fake_db {
    fake_coll_t colls[FAKE_MAX_COLLS];
    fake_coll_t out_tmp;
    int opens, writes, out_commits, out_aborts;
    bool fail_writes;
} fake_db_t;

static __attribute__((unused)) fake_coll_t *fake_find(fake_db_t *db, const char *name, bool create)
{
    for (int i = 0; i < FAKE_MAX_COLLS; i++)
        if (db->colls[i].used && strcmp(db->colls[i].name, name) == 0)
            return &db->colls[i];
    if (!create)
        return NULL;
    for (int i = 0; i < FAKE_MAX_COLLS; i++) {
        if (!db->colls[i].used) {
            db->colls[i].used = true;
            snprintf(db->colls[i].name, sizeof db->colls[i].name, "%s", name);
            return &db->colls[i];
        }
    }
    return NULL;
}

static __attribute__((unused)) void fake_coll_clear(fake_coll_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        bson_destroy(c->docs[i]);
    free(c->docs);
    c->docs = NULL;
    c->n = 0;
}

static __attribute__((unused)) void fake_push(fake_coll_t *c, const bson_t *doc)
{
    c->docs = realloc(c->docs, (c->n + 1) * sizeof *c->docs);
    c->docs[c->n++] = bson_copy(doc);
}

/* fake_load -- fill collection name with the documents of a JSON array. */
static __attribute__((unused)) void fake_load(fake_db_t *db, const char *name, const char *json)
{
    fake_coll_t *c = fake_find(db, name, true);
    fake_coll_clear(c);
    bson_t *arr = JA(json);
    bson_iter_t it;
    bson_iter_init(&it, arr);
    while (bson_iter_next(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        bson_t d;
        bson_init_static(&d, data, len);
        fake_push(c, &d);
    }
    bson_destroy(arr);
}

static __attribute__((unused)) void fake_free(fake_db_t *db)
{
    for (int i = 0; i < FAKE_MAX_COLLS; i++)
        fake_coll_clear(&db->colls[i]);
    fake_coll_clear(&db->out_tmp);
}

/* A running sub-pipeline handed back by open. */
typedef struct fake_src {
    qry_pipeline_t *p;
    qry_pl_exec_t *ex;
    qry_pl_ctx_t ctx;
    bson_t *let;
    bson_t **snapshot;
    size_t n;
} fake_src_t;

static __attribute__((unused)) int fake_src_next(void *arg, bson_t *out, bool *eof, status_t *st)
{
    fake_src_t *f = arg;
    return qry_pl_exec_next(f->ex, out, eof, st);
}

static __attribute__((unused)) void fake_src_close(void *arg)
{
    fake_src_t *f = arg;
    qry_pl_exec_destroy(f->ex);
    qry_pipeline_destroy(f->p);
    for (size_t i = 0; i < f->n; i++)
        bson_destroy(f->snapshot[i]);
    free(f->snapshot);
    bson_destroy(f->let);
    free(f);
}

static __attribute__((unused)) int fake_open(void *arg, const char *dbname, const char *coll,
                                             const bson_t *pipeline, const bson_t *let_vars,
                                             qry_doc_source_t *out, status_t *st)
{
    fake_db_t *db = arg;
    db->opens++;
    fake_src_t *f = calloc(1, sizeof *f);
    f->let = bson_new();
    if (let_vars)
        bson_concat(f->let, let_vars);
    fake_coll_t *c = fake_find(db, coll, false);
    /* snapshot: the sub-pipeline must not see writes made while it runs */
    if (c) {
        f->snapshot = calloc(c->n + 1, sizeof *f->snapshot);
        for (size_t i = 0; i < c->n; i++)
            f->snapshot[i] = bson_copy(c->docs[i]);
        f->n = c->n;
    }
    int ret = qry_pipeline_parse(pipeline, f->let, &f->p, st);
    if (ret == 0) {
        qry_pl_ctx_init(&f->ctx);
        f->ctx.db = dbname;
        f->ctx.coll = coll;
        f->ctx.let = f->let;
        f->ctx.now_ms = 1700000000000LL;
        ret = qry_pipeline_open(f->p, &f->ctx,
                                qry_pl_source_array((const bson_t *const *)f->snapshot, f->n),
                                &f->ex, st);
    }
    if (ret != 0) {
        fake_src_close(f);
        return ret;
    }
    out->next = fake_src_next;
    out->close = fake_src_close;
    out->arg = f;
    return 0;
}

static __attribute__((unused)) int fake_write(void *arg, qry_pl_write_op_t op, const char *dbname,
                                              const char *coll, const bson_t *filter,
                                              const bson_t *doc, status_t *st)
{
    fake_db_t *db = arg;
    db->writes++;
    if (db->fail_writes)
        return status_set(st, ERR_WriteConflict, "injected write failure");
    fake_coll_t *c = fake_find(db, coll, true);
    switch (op) {
    case QRY_PL_WRITE_OUT_BEGIN:
        fake_coll_clear(&db->out_tmp);
        db->out_tmp.used = true;
        return 0;
    case QRY_PL_WRITE_OUT_COMMIT:
        fake_coll_clear(c);
        c->docs = db->out_tmp.docs;
        c->n = db->out_tmp.n;
        db->out_tmp.docs = NULL;
        db->out_tmp.n = 0;
        db->out_tmp.used = false;
        db->out_commits++;
        return 0;
    case QRY_PL_WRITE_OUT_ABORT:
        fake_coll_clear(&db->out_tmp);
        db->out_tmp.used = false;
        db->out_aborts++;
        return 0;
    case QRY_PL_WRITE_INSERT: {
        fake_coll_t *dst = c;
        /* while $out is writing, inserts go to its temp collection */
        if (db->out_tmp.used)
            dst = &db->out_tmp;
        bson_iter_t a, b;
        if (bson_iter_init_find(&a, doc, "_id"))
            for (size_t i = 0; i < dst->n; i++)
                if (bson_iter_init_find(&b, dst->docs[i], "_id") && bsonu_equal_iter(&a, &b))
                    return status_set(st, ERR_DuplicateKey, "E11000 duplicate key error");
        fake_push(dst, doc);
        return 0;
    }
    case QRY_PL_WRITE_REPLACE: {
        qry_match_t *m;
        ST_RET(qry_match_parse(filter, NULL, &m, st));
        for (size_t i = 0; i < c->n; i++) {
            if (qry_match_eval(m, c->docs[i], NULL)) {
                bson_destroy(c->docs[i]);
                c->docs[i] = bson_copy(doc);
                break;
            }
        }
        qry_match_destroy(m);
        return 0;
    }
    }
    (void)dbname;
    return 0;
}

static __attribute__((unused)) int fake_stats(void *arg, qry_pl_stats_kind_t kind,
                                              const char *dbname, const char *coll,
                                              const bson_t *spec, qry_doc_source_t *out,
                                              status_t *st)
{
    fake_db_t *db = arg;
    fake_coll_t *c = fake_find(db, coll ? coll : "", false);
    char json[256];
    if (kind == QRY_PL_STATS_COLL)
        snprintf(json, sizeof json, "[{'ns': '%s.%s', 'count': %zu}]", dbname, coll,
                 c ? c->n : (size_t)0);
    else
        snprintf(json, sizeof json, "[{'name': '_id_', 'key': {'_id': 1}}]");
    bson_t *arr = JA(json);
    bson_t empty;
    bson_init(&empty);
    fake_src_t *f = calloc(1, sizeof *f);
    f->let = bson_new();
    bson_iter_t it;
    bson_iter_init(&it, arr);
    while (bson_iter_next(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        bson_t d;
        bson_init_static(&d, data, len);
        f->snapshot = realloc(f->snapshot, (f->n + 1) * sizeof *f->snapshot);
        f->snapshot[f->n++] = bson_copy(&d);
    }
    bson_destroy(arr);
    int ret = qry_pipeline_parse(&empty, NULL, &f->p, st);
    qry_pl_ctx_init(&f->ctx);
    if (ret == 0)
        ret = qry_pipeline_open(f->p, &f->ctx,
                                qry_pl_source_array((const bson_t *const *)f->snapshot, f->n),
                                &f->ex, st);
    bson_destroy(&empty);
    if (ret != 0) {
        fake_src_close(f);
        return ret;
    }
    out->next = fake_src_next;
    out->close = fake_src_close;
    out->arg = f;
    (void)spec;
    return 0;
}

static __attribute__((unused)) void fake_ctx(fake_db_t *db, qry_pl_ctx_t *ctx)
{
    qry_pl_ctx_init(ctx);
    ctx->db = "test";
    ctx->coll = "c";
    ctx->now_ms = 1700000000000LL;
    ctx->seed = 42;
    ctx->ds.open = fake_open;
    ctx->ds.write = fake_write;
    ctx->ds.stats = fake_stats;
    ctx->ds.arg = db;
}

/* ---- running a pipeline ---------------------------------------------------- */

/* run_pipeline -- parse, optionally optimise, run over input; output as an array in *out. */
static __attribute__((unused)) int run_pipeline(const bson_t *pipeline, const bson_t *input,
                                                const qry_pl_ctx_t *ctx, bool optimize, bson_t *out,
                                                status_t *st)
{
    bson_init(out);
    qry_pipeline_t *p;
    ST_RET(qry_pipeline_parse(pipeline, ctx->let, &p, st));
    int ret = 0;
    if (optimize)
        ret = qry_pipeline_optimize(p, st);
    bson_t **docs = NULL;
    size_t n = 0;
    bson_iter_t it;
    if (input && bson_iter_init(&it, input)) {
        while (bson_iter_next(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            bson_t d;
            bson_init_static(&d, data, len);
            docs = realloc(docs, (n + 1) * sizeof *docs);
            docs[n++] = bson_copy(&d);
        }
    }
    qry_pl_exec_t *ex = NULL;
    if (ret == 0)
        ret =
            qry_pipeline_open(p, ctx, qry_pl_source_array((const bson_t *const *)docs, n), &ex, st);
    uint32_t i = 0;
    while (ret == 0) {
        bson_t d;
        bool eof;
        ret = qry_pl_exec_next(ex, &d, &eof, st);
        if (ret == 0 && !eof) {
            char k[16];
            const char *kp;
            bson_uint32_to_string(i++, &kp, k, sizeof k);
            BSON_APPEND_DOCUMENT(out, kp, &d);
        }
        bson_destroy(&d);
        if (eof)
            break;
    }
    qry_pl_exec_destroy(ex);
    qry_pipeline_destroy(p);
    for (size_t k = 0; k < n; k++)
        bson_destroy(docs[k]);
    free(docs);
    return ret;
}

static __attribute__((unused)) int cmp_docs_qsort(const void *a, const void *b)
{
    return bsonu_compare_doc(*(bson_t *const *)a, *(bson_t *const *)b);
}

/* canon -- an array's documents, sorted when unordered, as one JSON text for comparison. */
static __attribute__((unused)) char *canon(const bson_t *arr, bool unordered)
{
    bson_t *docs[4096];
    size_t n = 0;
    bson_iter_t it;
    bson_iter_init(&it, arr);
    while (bson_iter_next(&it) && n < 4096) {
        uint32_t len;
        const uint8_t *data;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            continue;
        bson_iter_document(&it, &len, &data);
        docs[n] = bson_new_from_data(data, len);
        n++;
    }
    if (unordered)
        qsort(docs, n, sizeof *docs, cmp_docs_qsort);
    bson_string_t *s = bson_string_new("[");
    for (size_t i = 0; i < n; i++) {
        char *js = bson_as_canonical_extended_json(docs[i], NULL);
        bson_string_append_printf(s, "%s%s", i ? ", " : "", js);
        bson_free(js);
        bson_destroy(docs[i]);
    }
    bson_string_append(s, "]");
    return bson_string_free(s, false);
}

/* A table case: a pipeline over input, expecting output documents or an error code. */
typedef struct pcase {
    const char *name;
    const char *pipeline; /* JSON array */
    const char *input;    /* JSON array of documents */
    const char *expect;   /* JSON array of documents (NULL when error) */
    int code;             /* expected error code (0: success) */
    bool unordered;       /* MongoDB leaves the order unspecified */
} pcase_t;

/* run_case -- run one case (optimised and not) against db; record a failure if it differs. */
static __attribute__((unused)) void run_case(const pcase_t *c, fake_db_t *db)
{
    for (int opt = 0; opt < 2; opt++) {
        qry_pl_ctx_t ctx;
        fake_ctx(db, &ctx);
        bson_t *pipeline = JA(c->pipeline);
        bson_t *input = JA(c->input ? c->input : "[]");
        bson_t out;
        status_t st = STATUS_INIT;
        int ret = run_pipeline(pipeline, input, &ctx, opt == 1, &out, &st);
        if (c->code) {
            if (ret != c->code)
                CASE_FAIL("%s%s: expected error %d, got %d (%s)", c->name, opt ? " (opt)" : "",
                          c->code, ret, st.msg);
        } else if (ret != 0) {
            CASE_FAIL("%s%s: unexpected error %d: %s", c->name, opt ? " (opt)" : "", ret, st.msg);
        } else {
            bson_t *exp = JA(c->expect);
            char *a = canon(&out, c->unordered), *b = canon(exp, c->unordered);
            if (strcmp(a, b) != 0)
                CASE_FAIL("%s%s:\n  got      %s\n  expected %s", c->name, opt ? " (opt)" : "", a,
                          b);
            bson_free(a);
            bson_free(b);
            bson_destroy(exp);
        }
        bson_destroy(&out);
        bson_destroy(pipeline);
        bson_destroy(input);
    }
}

#endif /* TEST_PIPELINE_HARNESS_H */
