/*
 * stage_write.c -- $out and $merge: the last stage of a pipeline, writing
 * every document it receives through qry_pl_datasource_t.write and
 * outputting nothing.
 *
 * $out replaces the target as a whole: OUT_BEGIN, one INSERT per document,
 * OUT_COMMIT (or OUT_ABORT on any error), so mongod can write to a temp
 * collection and rename it over the target atomically. $merge looks each
 * document up in the target by its `on` fields (through ds.open with a
 * $match), then applies whenMatched (replace, keepExisting, merge, fail, or an
 * update pipeline seeing the incoming document as $$new) or whenNotMatched
 * (insert, discard, fail).
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

typedef enum wm { WM_REPLACE, WM_KEEP, WM_MERGE, WM_FAIL, WM_PIPELINE } wm_t;
typedef enum wnm { WNM_INSERT, WNM_DISCARD, WNM_FAIL } wnm_t;

typedef struct write_data {
    char *db, *coll;
    bool is_merge;
    char **on;
    size_t non;
    wm_t when_matched;
    wnm_t when_not_matched;
    bson_t *update_pipeline;
    bson_t *let; /* $merge's let (expressions), $$new added at run time */
    qry_pipeline_t *update;
    char **let_names; /* $merge let, evaluated against each incoming document */
    qry_expr_t **let_exprs;
    size_t nlet;
} write_data_t;

static void write_free(void *data)
{
    write_data_t *d = data;
    free(d->db);
    free(d->coll);
    for (size_t i = 0; i < d->non; i++)
        free(d->on[i]);
    free(d->on);
    bson_destroy(d->update_pipeline);
    bson_destroy(d->let);
    qry_pipeline_destroy(d->update);
    for (size_t i = 0; i < d->nlet; i++) {
        free(d->let_names[i]);
        qry_expr_destroy(d->let_exprs[i]);
    }
    free(d->let_names);
    free(d->let_exprs);
    free(d);
}

static write_data_t *write_data_new(pl_stage_t *s)
{
    write_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    d->update_pipeline = bson_new();
    d->let = bson_new();
    s->data = d;
    s->needs_whole_doc = true;
    s->shape = PL_REPLACES;
    return d;
}

static int target(const bson_iter_t *it, const char *stage, write_data_t *d, status_t *st)
{
    if (BSON_ITER_HOLDS_UTF8(it)) {
        free(d->coll);
        d->coll = strdup(bson_iter_utf8(it, NULL));
    } else if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_iter_t f;
        bson_iter_recurse(it, &f);
        while (bson_iter_next(&f)) {
            const char *k = bson_iter_key(&f);
            if ((strcmp(k, "db") == 0 || strcmp(k, "coll") == 0) && !BSON_ITER_HOLDS_UTF8(&f))
                return status_set(st, ERR_TypeMismatch, "%s: '%s' must be a string", stage, k);
            if (strcmp(k, "db") == 0) {
                free(d->db);
                d->db = strdup(bson_iter_utf8(&f, NULL));
            } else if (strcmp(k, "coll") == 0) {
                free(d->coll);
                d->coll = strdup(bson_iter_utf8(&f, NULL));
            } else {
                return status_set(st, 40415, "BSON field '%s.%s' is an unknown field.", stage, k);
            }
        }
    } else {
        return status_set(st, stage[1] == 'o' ? 16990 : 51178,
                          "%s only supports a string or object argument", stage);
    }
    if (!d->coll || !*d->coll)
        return status_set(st, ERR_InvalidNamespace, "Invalid %s target namespace", stage);
    if (strncmp(d->coll, "system.", 7) == 0)
        return status_set(st, ERR_InvalidNamespace, "Invalid %s target namespace: %s", stage,
                          d->coll);
    return 0;
}

static int out_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    write_data_t *d = write_data_new(s);
    return target(arg, "$out", d, st);
}

static int merge_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    write_data_t *d = write_data_new(s);
    d->is_merge = true;
    d->when_matched = WM_MERGE;
    d->when_not_matched = WNM_INSERT;
    if (BSON_ITER_HOLDS_UTF8(arg))
        ST_RET(target(arg, "$merge", d, st));
    else if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, 51182, "$merge only supports a string or object argument");
    bson_iter_t it;
    bool have_into = BSON_ITER_HOLDS_UTF8(arg);
    if (BSON_ITER_HOLDS_DOCUMENT(arg)) {
        bson_iter_recurse(arg, &it);
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "into") == 0) {
                ST_RET(target(&it, "$merge", d, st));
                have_into = true;
            } else if (strcmp(k, "on") == 0) {
                for (size_t i = 0; i < d->non; i++)
                    free(d->on[i]);
                free(d->on);
                d->on = NULL;
                d->non = 0;
                if (BSON_ITER_HOLDS_UTF8(&it)) {
                    d->on = calloc(1, sizeof *d->on);
                    INVARIANT(d->on != NULL);
                    d->on[d->non++] = strdup(bson_iter_utf8(&it, NULL));
                } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
                    bson_iter_t a;
                    bson_iter_recurse(&it, &a);
                    while (bson_iter_next(&a)) {
                        if (!BSON_ITER_HOLDS_UTF8(&a))
                            return status_set(st, 51134,
                                              "$merge 'on' array elements must be "
                                              "strings");
                        d->on = realloc(d->on, (d->non + 1) * sizeof *d->on);
                        INVARIANT(d->on != NULL);
                        d->on[d->non++] = strdup(bson_iter_utf8(&a, NULL));
                    }
                    if (d->non == 0)
                        return status_set(st, 51187,
                                          "If explicitly specifying $merge 'on', "
                                          "must include at least one field");
                } else {
                    return status_set(st, 51186,
                                      "$merge 'on' field must be either a string or "
                                      "an array of strings");
                }
            } else if (strcmp(k, "whenMatched") == 0) {
                if (BSON_ITER_HOLDS_ARRAY(&it)) {
                    d->when_matched = WM_PIPELINE;
                    uint32_t len;
                    const uint8_t *data;
                    bson_iter_array(&it, &len, &data);
                    bson_t a;
                    bson_destroy(d->update_pipeline);
                    if (data && bson_init_static(&a, data, len))
                        d->update_pipeline = bson_copy(&a);
                    else
                        d->update_pipeline = bson_new();
                } else if (BSON_ITER_HOLDS_UTF8(&it)) {
                    const char *m = bson_iter_utf8(&it, NULL);
                    if (strcmp(m, "replace") == 0)
                        d->when_matched = WM_REPLACE;
                    else if (strcmp(m, "keepExisting") == 0)
                        d->when_matched = WM_KEEP;
                    else if (strcmp(m, "merge") == 0)
                        d->when_matched = WM_MERGE;
                    else if (strcmp(m, "fail") == 0)
                        d->when_matched = WM_FAIL;
                    else
                        return status_set(st, ERR_BadValue,
                                          "Enumeration value '%s' for field "
                                          "'$merge.whenMatched' is not a valid value.",
                                          m);
                } else {
                    return status_set(st, ERR_TypeMismatch,
                                      "$merge 'whenMatched' must be a "
                                      "string or an array");
                }
            } else if (strcmp(k, "whenNotMatched") == 0) {
                const char *m = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
                if (strcmp(m, "insert") == 0)
                    d->when_not_matched = WNM_INSERT;
                else if (strcmp(m, "discard") == 0)
                    d->when_not_matched = WNM_DISCARD;
                else if (strcmp(m, "fail") == 0)
                    d->when_not_matched = WNM_FAIL;
                else
                    return status_set(st, ERR_BadValue,
                                      "Enumeration value '%s' for field "
                                      "'$merge.whenNotMatched' is not a valid value.",
                                      m);
            } else if (strcmp(k, "let") == 0) {
                if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                    return status_set(st, ERR_TypeMismatch, "$merge 'let' must be an object");
                uint32_t len;
                const uint8_t *data;
                bson_iter_document(&it, &len, &data);
                bson_t l;
                if (data && bson_init_static(&l, data, len)) {
                    bson_destroy(d->let);
                    d->let = bson_copy(&l);
                }
                bson_iter_t li;
                bson_iter_init(&li, d->let);
                while (bson_iter_next(&li)) {
                    d->let_names = realloc(d->let_names, (d->nlet + 1) * sizeof *d->let_names);
                    d->let_exprs = realloc(d->let_exprs, (d->nlet + 1) * sizeof *d->let_exprs);
                    INVARIANT(d->let_names && d->let_exprs);
                    d->let_names[d->nlet] = strdup(bson_iter_key(&li));
                    d->let_exprs[d->nlet] = NULL;
                    d->nlet++;
                    ST_RET(qry__pl_expr(&li, NULL, &d->let_exprs[d->nlet - 1], st));
                }
            } else {
                return status_set(st, 40415, "BSON field '$merge.%s' is an unknown field.", k);
            }
        }
    }
    if (!have_into)
        return status_set(st, 40414, "BSON field '$merge.into' is missing but a required field");
    if (d->non == 0) {
        d->on = calloc(1, sizeof *d->on);
        INVARIANT(d->on != NULL);
        d->on[d->non++] = strdup("_id");
    }
    if (!bson_empty(d->let) && d->when_matched != WM_PIPELINE)
        return status_set(st, 51199, "Cannot use 'let' variables with 'whenMatched: %s' mode",
                          d->when_matched == WM_REPLACE ? "replace"
                          : d->when_matched == WM_KEEP  ? "keepExisting"
                          : d->when_matched == WM_MERGE ? "merge"
                                                        : "fail");
    if (d->when_matched == WM_PIPELINE) {
        /* The update pipeline sees $$new (and the let variables); only reshaping stages. */
        bson_t let;
        bson_init(&let);
        bson_concat(&let, d->let);
        bson_iter_t li;
        if (!bson_iter_init_find(&li, &let, "new"))
            BSON_APPEND_NULL(&let, "new");
        int ret = qry_pipeline_parse(d->update_pipeline, &let, &d->update, st);
        bson_destroy(&let);
        ST_RET(ret);
        for (size_t i = 0; i < qry_pipeline_nstages(d->update); i++) {
            qry_pl_stage_info_t info;
            qry_pipeline_stage_info(d->update, i, &info);
            const char *n = info.name;
            if (strcmp(n, "$addFields") && strcmp(n, "$set") && strcmp(n, "$project") &&
                strcmp(n, "$unset") && strcmp(n, "$replaceRoot") && strcmp(n, "$replaceWith"))
                return status_set(st, ERR_InvalidOptions,
                                  "%s is not allowed to be used within an update", n);
        }
    }
    return 0;
}

typedef struct write_iter {
    pl_iter_t base;
    const write_data_t *d;
    bool began;
} write_iter_t;

static const char *target_db(const write_iter_t *w)
{
    return w->d->db ? w->d->db : w->base.run->ctx->db;
}

static int out_doc(write_iter_t *w, const bson_t *doc, status_t *st)
{
    const qry_pl_ctx_t *ctx = w->base.run->ctx;
    return ctx->ds.write(ctx->ds.arg, QRY_PL_WRITE_INSERT, target_db(w), w->d->coll, NULL, doc, st);
}

/* run_update -- apply the whenMatched pipeline to existing with $$new = incoming. */
static int run_update(write_iter_t *w, const bson_t *existing, const bson_t *incoming, bson_t *out,
                      status_t *st)
{
    const write_data_t *d = w->d;
    bson_init(out);
    bson_t let;
    bson_init(&let);
    pl_run_t *run = w->base.run;
    int ret = 0;
    for (size_t i = 0; i < d->nlet && ret == 0; i++) {
        if (strcmp(d->let_names[i], "new") == 0)
            continue;
        uint64_t mark = qry_expr_ctx_mark(run->ex);
        bson_value_t v;
        ret = qry_expr_eval(d->let_exprs[i], run->ex, incoming, &v, st);
        if (ret == 0) {
            bson_t l;
            BSON_APPEND_DOCUMENT_BEGIN(&let, d->let_names[i], &l);
            if (v.value_type == BSON_TYPE_EOD)
                BSON_APPEND_NULL(&l, "$literal");
            else
                BSON_APPEND_VALUE(&l, "$literal", &v);
            bson_append_document_end(&let, &l);
        }
        qry_expr_ctx_release(run->ex, mark);
    }
    if (ret != 0) {
        bson_destroy(&let);
        return ret;
    }
    bson_t lit;
    BSON_APPEND_DOCUMENT_BEGIN(&let, "new", &lit);
    BSON_APPEND_DOCUMENT(&lit, "$literal", incoming);
    bson_append_document_end(&let, &lit);
    qry_pl_ctx_t ctx = *w->base.run->ctx;
    ctx.let = &let;
    const bson_t *docs[1] = {existing};
    qry_pl_exec_t *ex;
    ret = qry_pipeline_open(d->update, &ctx, qry_pl_source_array(docs, 1), &ex, st);
    if (ret == 0) {
        bson_t r;
        bool eof;
        ret = qry_pl_exec_next(ex, &r, &eof, st);
        if (ret == 0 && !eof)
            bson_concat(out, &r);
        bson_destroy(&r);
        qry_pl_exec_destroy(ex);
    }
    bson_destroy(&let);
    return ret;
}

static int merge_doc(write_iter_t *w, const bson_t *in, status_t *st)
{
    const write_data_t *d = w->d;
    const qry_pl_ctx_t *ctx = w->base.run->ctx;
    const char *db = target_db(w);
    bson_t doc;
    bson_init(&doc);
    bson_iter_t idi;
    if (!bson_iter_init_find(&idi, in, "_id")) {
        /* MongoDB gives an incoming document without _id a new ObjectId. */
        bson_oid_t oid;
        bson_oid_init(&oid, NULL);
        BSON_APPEND_OID(&doc, "_id", &oid);
    }
    bson_concat(&doc, in);
    bson_t filter;
    bson_init(&filter);
    int ret = 0;
    for (size_t i = 0; i < d->non && ret == 0; i++) {
        bson_value_t v;
        if (!qry__pl_path_get(&doc, d->on[i], &v) || v.value_type == BSON_TYPE_NULL ||
            v.value_type == BSON_TYPE_UNDEFINED || v.value_type == BSON_TYPE_ARRAY)
            ret = status_set(st, 51132,
                             "$merge write error: 'on' field '%s' cannot be missing, "
                             "null, undefined or an array",
                             d->on[i]);
        else
            BSON_APPEND_VALUE(&filter, d->on[i], &v);
    }
    bson_t pipeline, stage;
    bson_init(&pipeline);
    BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &stage);
    BSON_APPEND_DOCUMENT(&stage, "$match", &filter);
    bson_append_document_end(&pipeline, &stage);
    bson_t lim;
    BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "1", &lim);
    BSON_APPEND_INT32(&lim, "$limit", 2);
    bson_append_document_end(&pipeline, &lim);
    bson_t existing;
    bson_init(&existing);
    int found = 0;
    if (ret == 0) {
        qry_doc_source_t src;
        ret = ctx->ds.open(ctx->ds.arg, db, d->coll, &pipeline, NULL, &src, st);
        while (ret == 0) {
            bson_t e;
            bool eof = false;
            ret = src.next(src.arg, &e, &eof, st);
            if (ret != 0 || eof) {
                bson_destroy(&e);
                break;
            }
            if (found++ == 0)
                bson_concat(&existing, &e);
            bson_destroy(&e);
        }
        if (src.close)
            src.close(src.arg);
        if (ret == 0 && found > 1)
            ret = status_set(st, 51183,
                             "$merge found more than one document matching 'on'; "
                             "the 'on' fields need a unique index");
    }
    if (ret == 0 && found == 0) {
        if (d->when_not_matched == WNM_INSERT)
            ret = ctx->ds.write(ctx->ds.arg, QRY_PL_WRITE_INSERT, db, d->coll, NULL, &doc, st);
        else if (d->when_not_matched == WNM_FAIL)
            ret = status_set(st, ERR_MergeStageNoMatchingDocument,
                             "$merge could not find a matching document in the target "
                             "collection for at least one document in the source collection");
    } else if (ret == 0) {
        bson_t newdoc;
        bson_init(&newdoc);
        bool write = true;
        switch (d->when_matched) {
        case WM_KEEP:
            write = false;
            break;
        case WM_FAIL:
            ret = status_set(st, ERR_DuplicateKey,
                             "$merge with whenMatched: fail found an existing document with the "
                             "same values for the 'on' fields");
            write = false;
            break;
        case WM_REPLACE:
            bson_concat(&newdoc, &doc);
            break;
        case WM_MERGE: {
            /* existing fields in place, overwritten by incoming; new fields appended */
            bson_iter_t e;
            bson_iter_init(&e, &existing);
            while (bson_iter_next(&e)) {
                bson_iter_t f;
                if (bson_iter_init_find(&f, &doc, bson_iter_key(&e)))
                    bson_append_iter(&newdoc, bson_iter_key(&e), -1, &f);
                else
                    bson_append_iter(&newdoc, NULL, 0, &e);
            }
            bson_iter_init(&e, &doc);
            while (bson_iter_next(&e)) {
                bson_iter_t f;
                if (!bson_iter_init_find(&f, &existing, bson_iter_key(&e)))
                    bson_append_iter(&newdoc, NULL, 0, &e);
            }
            break;
        }
        case WM_PIPELINE: {
            bson_t r;
            ret = run_update(w, &existing, in, &r, st);
            bson_concat(&newdoc, &r);
            bson_destroy(&r);
            write = ret == 0;
            break;
        }
        }
        if (write) {
            /* the target document keeps its _id; a different one is ImmutableField */
            bson_iter_t ei, ni;
            bool eid = bson_iter_init_find(&ei, &existing, "_id");
            bool nid = bson_iter_init_find(&ni, &newdoc, "_id");
            if (eid && nid && !bsonu_equal_iter(&ei, &ni)) {
                ret = status_set(st, ERR_ImmutableField,
                                 "$merge failed to update the matching document, did you "
                                 "attempt to modify the _id or the shard key?");
            } else {
                bson_t final;
                bson_init(&final);
                if (eid && !nid)
                    bson_append_iter(&final, "_id", 3, &ei);
                bson_concat(&final, &newdoc);
                bson_t byid;
                bson_init(&byid);
                if (eid)
                    bson_append_iter(&byid, "_id", 3, &ei);
                ret = ctx->ds.write(ctx->ds.arg, QRY_PL_WRITE_REPLACE, db, d->coll,
                                    eid ? &byid : &filter, &final, st);
                bson_destroy(&byid);
                bson_destroy(&final);
            }
        }
        bson_destroy(&newdoc);
    }
    bson_destroy(&existing);
    bson_destroy(&pipeline);
    bson_destroy(&filter);
    bson_destroy(&doc);
    return ret;
}

static int write_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    write_iter_t *w = (write_iter_t *)it;
    const qry_pl_ctx_t *ctx = it->run->ctx;
    int ret = 0;
    if (!w->d->is_merge && !w->began) {
        ret = ctx->ds.write(ctx->ds.arg, QRY_PL_WRITE_OUT_BEGIN, target_db(w), w->d->coll, NULL,
                            NULL, st);
        if (ret != 0) {
            bson_init(out);
            *eof = true;
            return ret;
        }
        w->began = true;
    }
    for (;;) {
        bson_t d;
        ret = qry__pl_pull(it->src, &d, eof, st);
        if (ret != 0 || *eof) {
            bson_destroy(&d);
            break;
        }
        ret = w->d->is_merge ? merge_doc(w, &d, st) : out_doc(w, &d, st);
        bson_destroy(&d);
        if (ret != 0)
            break;
    }
    if (!w->d->is_merge && w->began) {
        status_t ignore = STATUS_INIT;
        if (ret == 0)
            ret = ctx->ds.write(ctx->ds.arg, QRY_PL_WRITE_OUT_COMMIT, target_db(w), w->d->coll,
                                NULL, NULL, st);
        else
            ctx->ds.write(ctx->ds.arg, QRY_PL_WRITE_OUT_ABORT, target_db(w), w->d->coll, NULL, NULL,
                          &ignore);
        w->began = false;
    }
    bson_init(out);
    *eof = true;
    return ret;
}

static void write_close(pl_iter_t *it)
{
    write_iter_t *w = (write_iter_t *)it;
    if (w->began) {
        status_t ignore = STATUS_INIT;
        const qry_pl_ctx_t *ctx = it->run->ctx;
        ctx->ds.write(ctx->ds.arg, QRY_PL_WRITE_OUT_ABORT, target_db(w), w->d->coll, NULL, NULL,
                      &ignore);
    }
    qry__pl_iter_close(it->src);
    free(w);
}

static int write_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    const write_data_t *d = stage->data;
    if (!run->ctx->ds.write || (d->is_merge && !run->ctx->ds.open)) {
        qry__pl_iter_close(src);
        return status_set(st, ERR_NotImplemented, "%s needs a data source, and none is set",
                          stage->ops->name);
    }
    write_iter_t *w = calloc(1, sizeof *w);
    INVARIANT(w != NULL);
    qry__pl_iter_init(&w->base, write_next, write_close, src, run);
    w->d = d;
    *out = &w->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_out = {"$out",
                                          PL_F_LAST | PL_F_NO_FACET | PL_F_NO_LOOKUP | PL_F_MERGER,
                                          out_parse, write_open, write_free};
const pl_stage_ops_t qry__pl_stage_merge = {
    "$merge", PL_F_LAST | PL_F_NO_FACET | PL_F_NO_LOOKUP | PL_F_MERGER, merge_parse, write_open,
    write_free};
