/*
 * stage_lookup.c -- the stages that read other collections, all through
 * qry_pl_datasource_t.open: $lookup (equality form: localField/foreignField
 * with arrays on either side; pipeline form with let; both at once),
 * $graphLookup (breadth-first with maxDepth, depthField,
 * restrictSearchWithMatch; a document is visited once, so cycles end) and
 * $unionWith. The callback runs a sub-pipeline on a namespace; the let
 * variables reach it as {name: {$literal: value}} so no value is ever
 * re-read as an expression.
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

static int ns_arg(const bson_iter_t *it, const char *stage, char **db, char **coll, status_t *st)
{
    if (BSON_ITER_HOLDS_UTF8(it)) {
        free(*coll); /* a repeated 'from' replaces the earlier one */
        *coll = strdup(bson_iter_utf8(it, NULL));
        return 0;
    }
    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_iter_t f;
        bson_iter_recurse(it, &f);
        while (bson_iter_next(&f)) {
            if (strcmp(bson_iter_key(&f), "db") == 0 && BSON_ITER_HOLDS_UTF8(&f)) {
                free(*db);
                *db = strdup(bson_iter_utf8(&f, NULL));
            } else if (strcmp(bson_iter_key(&f), "coll") == 0 && BSON_ITER_HOLDS_UTF8(&f)) {
                free(*coll);
                *coll = strdup(bson_iter_utf8(&f, NULL));
            } else {
                return status_set(st, ERR_FailedToParse, "%s: unknown field in 'from': %s", stage,
                                  bson_iter_key(&f));
            }
        }
        if (*coll)
            return 0;
    }
    return status_set(st, ERR_FailedToParse, "%s 'from' must be a string or {db, coll}", stage);
}

static void lit_append(bson_t *out, const char *key, const bson_value_t *v)
{
    bson_t lit;
    bson_append_document_begin(out, key, -1, &lit);
    BSON_APPEND_VALUE(&lit, "$literal", v);
    bson_append_document_end(out, &lit);
}

/* let_vars -- the run's own variables plus extra, each as {$literal: v}. */
static void let_vars(pl_run_t *run, const bson_t *extra, bson_t *out)
{
    bson_init(out);
    bson_iter_t it;
    bson_iter_init(&it, run->let_vals);
    while (bson_iter_next(&it)) {
        bson_iter_t e;
        if (extra && bson_iter_init_find(&e, extra, bson_iter_key(&it)))
            continue;
        lit_append(out, bson_iter_key(&it), bson_iter_value(&it));
    }
    if (extra && bson_iter_init(&it, extra))
        while (bson_iter_next(&it))
            lit_append(out, bson_iter_key(&it), bson_iter_value(&it));
}

/* drain -- run pipeline on db.coll and append its documents as array `key` of out. */
static int drain(pl_run_t *run, const char *db, const char *coll, const bson_t *pipeline,
                 const bson_t *lets, bson_t *arr, status_t *st)
{
    const qry_pl_ctx_t *ctx = run->ctx;
    qry_doc_source_t src;
    ST_RET(ctx->ds.open(ctx->ds.arg, db ? db : ctx->db, coll, pipeline, lets, &src, st));
    int ret = 0;
    uint32_t i = 0;
    size_t bytes = 0;
    for (;;) {
        bson_t d;
        bool eof = false;
        ret = src.next(src.arg, &d, &eof, st);
        if (ret != 0 || eof) {
            bson_destroy(&d);
            break;
        }
        bytes += d.len;
        if (bytes > 16 * 1024 * 1024) {
            bson_destroy(&d);
            ret = status_set(st, 4568,
                             "Total size of documents in %s matching pipeline "
                             "exceeds maximum document size",
                             coll);
            break;
        }
        char k[16];
        const char *kp;
        bson_uint32_to_string(i++, &kp, k, sizeof k);
        BSON_APPEND_DOCUMENT(arr, kp, &d);
        bson_destroy(&d);
    }
    if (src.close)
        src.close(src.arg);
    return ret;
}

/* ---- $lookup ----------------------------------------------------------- */

typedef struct lookup_data {
    char *db, *coll, *local, *foreign, *as;
    bool has_pipeline;
    bson_t *pipeline; /* the sub-pipeline as written (array) */
    char **let_names;
    qry_expr_t **let_exprs;
    size_t nlet;
} lookup_data_t;

static void lookup_free(void *data)
{
    lookup_data_t *d = data;
    free(d->db);
    free(d->coll);
    free(d->local);
    free(d->foreign);
    free(d->as);
    bson_destroy(d->pipeline);
    for (size_t i = 0; i < d->nlet; i++) {
        free(d->let_names[i]);
        qry_expr_destroy(d->let_exprs[i]);
    }
    free(d->let_names);
    free(d->let_exprs);
    free(d);
}

static int check_sub_pipeline(const bson_t *arr, const lookup_data_t *d, const char *stage,
                              status_t *st)
{
    /* The sub-pipeline sees the lookup's let variables (and $$ROOT of the foreign docs). */
    qry_expr_scope_t *scope = qry_expr_scope_new();
    int ret = 0;
    for (size_t i = 0; d && i < d->nlet && ret == 0; i++) {
        int slot;
        ret = qry_expr_scope_define(scope, d->let_names[i], &slot, st);
    }
    const bson_t *outer = qry__pl_parse_let();
    bson_iter_t it;
    if (ret == 0 && outer && bson_iter_init(&it, outer)) {
        while (bson_iter_next(&it) && ret == 0) {
            int slot;
            if (qry_expr_scope_lookup(scope, bson_iter_key(&it)) < 0)
                ret = qry_expr_scope_define(scope, bson_iter_key(&it), &slot, st);
        }
    }
    qry_pipeline_t *p = NULL;
    if (ret == 0)
        ret = qry__pl_parse_scoped(arr, scope, true, &p, st);
    if (ret != 0)
        status_prefix(st, "%s: ", stage);
    qry_pipeline_destroy(p);
    qry_expr_scope_destroy(scope);
    return ret;
}

static int lookup_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, ERR_FailedToParse, "the $lookup specification must be an Object");
    lookup_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    d->pipeline = bson_new();
    s->data = d;
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "from") == 0) {
            ST_RET(ns_arg(&it, "$lookup", &d->db, &d->coll, st));
            continue;
        }
        if (strcmp(k, "pipeline") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return status_set(st, ERR_FailedToParse,
                                  "$lookup argument 'pipeline' must be an array");
            uint32_t len;
            const uint8_t *data;
            bson_iter_array(&it, &len, &data);
            bson_t a;
            bson_destroy(d->pipeline);
            if (data && bson_init_static(&a, data, len))
                d->pipeline = bson_copy(&a);
            else
                d->pipeline = bson_new();
            d->has_pipeline = true;
            continue;
        }
        if (strcmp(k, "let") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_FailedToParse,
                                  "$lookup argument 'let' must be an object");
            bson_iter_t l;
            bson_iter_recurse(&it, &l);
            while (bson_iter_next(&l)) {
                d->let_names = realloc(d->let_names, (d->nlet + 1) * sizeof *d->let_names);
                d->let_exprs = realloc(d->let_exprs, (d->nlet + 1) * sizeof *d->let_exprs);
                INVARIANT(d->let_names && d->let_exprs);
                d->let_names[d->nlet] = strdup(bson_iter_key(&l));
                d->let_exprs[d->nlet] = NULL;
                d->nlet++;
                ST_RET(qry__pl_expr(&l, s, &d->let_exprs[d->nlet - 1], st));
            }
            continue;
        }
        char **dst = strcmp(k, "localField") == 0     ? &d->local
                     : strcmp(k, "foreignField") == 0 ? &d->foreign
                     : strcmp(k, "as") == 0           ? &d->as
                                                      : NULL;
        if (!dst)
            return status_set(st, ERR_FailedToParse, "unknown argument to $lookup: %s", k);
        if (!BSON_ITER_HOLDS_UTF8(&it))
            return status_set(st, ERR_FailedToParse,
                              "$lookup argument '%s' must be a string, found %s", k,
                              "a non-string");
        free(*dst);
        *dst = strdup(bson_iter_utf8(&it, NULL));
    }
    if (!d->as)
        return status_set(st, ERR_FailedToParse, "must specify 'as' field for a $lookup");
    if (!d->has_pipeline && (!d->local || !d->foreign))
        return status_set(st, ERR_FailedToParse,
                          "$lookup requires either 'pipeline' or both 'localField' and "
                          "'foreignField' to be specified");
    if ((d->local != NULL) != (d->foreign != NULL))
        return status_set(st, ERR_FailedToParse,
                          "$lookup requires both or neither of 'localField' and "
                          "'foreignField' to be specified");
    if (!d->coll && !d->has_pipeline)
        return status_set(st, ERR_FailedToParse, "must specify 'from' field for a $lookup");
    if (d->nlet && !d->has_pipeline)
        return status_set(st, ERR_FailedToParse, "$lookup with 'let' must also specify 'pipeline'");
    if (d->has_pipeline)
        ST_RET(check_sub_pipeline(d->pipeline, d, "$lookup", st));
    s->shape = PL_MODIFIES;
    if (d->local)
        qry__pl_add_read(s, d->local);
    qry__pl_add_write(s, d->as);
    return 0;
}

typedef struct lookup_iter {
    pl_iter_t base;
    const lookup_data_t *d;
} lookup_iter_t;

typedef struct vals_acc {
    bson_t *arr;
    uint32_t n;
} vals_acc_t;

static int collect_leaf(void *ctx, const bsonu_path_leaf_t *leaf)
{
    vals_acc_t *a = ctx;
    if (leaf->is_array && !leaf->from_leaf_expansion)
        return 0; /* its elements were visited */
    char k[16];
    const char *kp;
    bson_uint32_to_string(a->n++, &kp, k, sizeof k);
    bson_append_iter(a->arr, kp, -1, &leaf->iter);
    return 0;
}

/* local_values -- every value localField reaches (array elements expanded) into arr. */
static uint32_t local_values(const char *path, const bson_t *doc, bson_t *arr)
{
    vals_acc_t a = {arr, 0};
    bsonu_path_walk(doc, path, BSONU_PATH_EXPAND_LEAF_ARRAY, collect_leaf, &a);
    return a.n;
}

/* equality_stage -- {$match: {foreign: {$in: values}}} (missing: null) appended under key. */
static void equality_stage(const char *foreign, const char *local, const bson_t *doc,
                           bson_t *pipeline, const char *key)
{
    bson_t stage, m, f, arr;
    BSON_APPEND_DOCUMENT_BEGIN(pipeline, key, &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &m);
    BSON_APPEND_DOCUMENT_BEGIN(&m, foreign, &f);
    BSON_APPEND_ARRAY_BEGIN(&f, "$in", &arr);
    if (local_values(local, doc, &arr) == 0)
        BSON_APPEND_NULL(&arr, "0");
    bson_append_array_end(&f, &arr);
    bson_append_document_end(&m, &f);
    bson_append_document_end(&stage, &m);
    bson_append_document_end(pipeline, &stage);
}

static int lookup_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    lookup_iter_t *l = (lookup_iter_t *)it;
    const lookup_data_t *d = l->d;
    pl_run_t *run = it->run;
    bson_t in;
    ST_RET(qry__pl_pull(it->src, &in, eof, st));
    if (*eof) {
        bson_steal(out, &in);
        return 0;
    }
    int ret = 0;
    bson_t pipeline, extra, lets, result;
    bson_init(&pipeline);
    bson_init(&extra);
    bson_init(&result);
    uint64_t mark = qry_expr_ctx_mark(run->ex);
    for (size_t i = 0; i < d->nlet && ret == 0; i++) {
        bson_value_t v;
        ret = qry_expr_eval(d->let_exprs[i], run->ex, &in, &v, st);
        if (ret == 0) {
            if (v.value_type == BSON_TYPE_EOD)
                BSON_APPEND_NULL(&extra, d->let_names[i]); /* missing binds as missing */
            else
                BSON_APPEND_VALUE(&extra, d->let_names[i], &v);
        }
    }
    qry_expr_ctx_release(run->ex, mark);
    let_vars(run, &extra, &lets);
    uint32_t k = 0;
    if (d->local) {
        equality_stage(d->foreign, d->local, &in, &pipeline, "0");
        k = 1;
    }
    bson_iter_t pi;
    if (bson_iter_init(&pi, d->pipeline)) {
        while (bson_iter_next(&pi)) {
            char key[16];
            const char *kp;
            bson_uint32_to_string(k++, &kp, key, sizeof key);
            bson_append_iter(&pipeline, kp, -1, &pi);
        }
    }
    bson_t arr;
    if (ret == 0) {
        BSON_APPEND_ARRAY_BEGIN(&result, "a", &arr);
        ret = drain(run, d->db, d->coll, &pipeline, &lets, &arr, st);
        bson_append_array_end(&result, &arr);
    }
    if (ret == 0) {
        bson_iter_t ri;
        bson_iter_init_find(&ri, &result, "a");
        qry__pl_set_path(&in, d->as, bson_iter_value(&ri), out);
    } else {
        bson_init(out);
        *eof = true;
    }
    bson_destroy(&pipeline);
    bson_destroy(&extra);
    bson_destroy(&lets);
    bson_destroy(&result);
    bson_destroy(&in);
    return ret;
}

static void plain_close(pl_iter_t *it)
{
    qry__pl_iter_close(it->src);
    free(it);
}

static int need_open(const pl_run_t *run, const char *stage, pl_iter_t *src, status_t *st)
{
    if (run->ctx->ds.open)
        return 0;
    qry__pl_iter_close(src);
    return status_set(st, ERR_NotImplemented, "%s needs a data source, and none is set", stage);
}

static int lookup_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                       status_t *st)
{
    ST_RET(need_open(run, "$lookup", src, st));
    lookup_iter_t *l = calloc(1, sizeof *l);
    INVARIANT(l != NULL);
    qry__pl_iter_init(&l->base, lookup_next, plain_close, src, run);
    l->d = stage->data;
    *out = &l->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_lookup = {"$lookup", 0, lookup_parse, lookup_open, lookup_free};

/* ---- $unionWith -------------------------------------------------------- */

typedef struct union_data {
    char *db, *coll;
    bson_t *pipeline;
} union_data_t;

static void union_free(void *data)
{
    union_data_t *d = data;
    free(d->db);
    free(d->coll);
    bson_destroy(d->pipeline);
    free(d);
}

static int union_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    union_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    d->pipeline = bson_new();
    s->data = d;
    if (BSON_ITER_HOLDS_UTF8(arg)) {
        d->coll = strdup(bson_iter_utf8(arg, NULL));
        return 0;
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, ERR_FailedToParse,
                          "the $unionWith stage specification must be an "
                          "object or string, but found %s",
                          "another type");
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    bool has_pipeline = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "coll") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field '$unionWith.coll' is the wrong type, expected "
                                  "type 'string'");
            free(d->coll);
            d->coll = strdup(bson_iter_utf8(&it, NULL));
        } else if (strcmp(k, "pipeline") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field '$unionWith.pipeline' is the wrong type, expected "
                                  "type 'array'");
            uint32_t len;
            const uint8_t *data;
            bson_iter_array(&it, &len, &data);
            bson_t a;
            bson_destroy(d->pipeline);
            if (data && bson_init_static(&a, data, len))
                d->pipeline = bson_copy(&a);
            else
                d->pipeline = bson_new();
            has_pipeline = true;
        } else {
            return status_set(st, 40415, "BSON field '$unionWith.%s' is an unknown field.", k);
        }
    }
    if (!d->coll && !has_pipeline)
        return status_set(st, 40414,
                          "BSON field '$unionWith.coll' is missing but a required "
                          "field");
    if (has_pipeline)
        ST_RET(check_sub_pipeline(d->pipeline, NULL, "$unionWith", st));
    return 0;
}

typedef struct union_iter {
    pl_iter_t base;
    const union_data_t *d;
    bool in_other;
    qry_doc_source_t other;
    bool other_open;
} union_iter_t;

static int union_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    union_iter_t *u = (union_iter_t *)it;
    pl_run_t *run = it->run;
    if (!u->in_other) {
        ST_RET(qry__pl_pull(it->src, out, eof, st));
        if (!*eof)
            return 0;
        bson_destroy(out);
        u->in_other = true;
        bson_t lets;
        let_vars(run, NULL, &lets);
        int ret = 0;
        if (u->d->coll) {
            ret = run->ctx->ds.open(run->ctx->ds.arg, run->ctx->db, u->d->coll, u->d->pipeline,
                                    &lets, &u->other, st);
            u->other_open = ret == 0;
        }
        bson_destroy(&lets);
        if (ret != 0) {
            bson_init(out);
            *eof = true;
            return ret;
        }
    }
    if (!u->other_open) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    *eof = false;
    int ret = u->other.next(u->other.arg, out, eof, st);
    if (ret != 0)
        *eof = true;
    return ret;
}

static void union_close(pl_iter_t *it)
{
    union_iter_t *u = (union_iter_t *)it;
    if (u->other_open && u->other.close)
        u->other.close(u->other.arg);
    qry__pl_iter_close(it->src);
    free(u);
}

static int union_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    ST_RET(need_open(run, "$unionWith", src, st));
    union_iter_t *u = calloc(1, sizeof *u);
    INVARIANT(u != NULL);
    qry__pl_iter_init(&u->base, union_next, union_close, src, run);
    u->d = stage->data;
    *out = &u->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_unionwith = {"$unionWith", PL_F_MERGER, union_parse, union_open,
                                                union_free};

/* ---- $graphLookup ------------------------------------------------------ */

typedef struct graph_data {
    char *db, *coll, *from_field, *to_field, *as, *depth_field;
    qry_expr_t *start;
    int64_t max_depth; /* -1: none */
    bson_t *restrict_match;
    bool has_restrict;
} graph_data_t;

static void graph_free(void *data)
{
    graph_data_t *d = data;
    free(d->db);
    free(d->coll);
    free(d->from_field);
    free(d->to_field);
    free(d->as);
    free(d->depth_field);
    qry_expr_destroy(d->start);
    bson_destroy(d->restrict_match);
    free(d);
}

static int graph_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, ERR_FailedToParse, "$graphLookup must be an object");
    graph_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    d->max_depth = -1;
    d->restrict_match = bson_new();
    s->data = d;
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "from") == 0) {
            ST_RET(ns_arg(&it, "$graphLookup", &d->db, &d->coll, st));
        } else if (strcmp(k, "startWith") == 0) {
            qry_expr_destroy(d->start); /* a repeated field replaces the earlier one */

            d->start = NULL;

            ST_RET(qry__pl_expr(&it, s, &d->start, st));
        } else if (strcmp(k, "maxDepth") == 0) {
            double x;
            int64_t n;
            if (!bsonu_number_as_double(bson_iter_value(&it), &x))
                return status_set(st, 40100, "maxDepth must be numeric");
            if (x < 0)
                return status_set(st, 40101, "maxDepth requires a nonnegative argument");
            if (!bsonu_number_as_int64(bson_iter_value(&it), &n))
                return status_set(st, 40102, "maxDepth could not be represented as a long long");
            d->max_depth = n;
        } else if (strcmp(k, "restrictSearchWithMatch") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, 40185, "restrictSearchWithMatch must be an object");
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            bson_t m;
            if (data && bson_init_static(&m, data, len)) {
                bson_destroy(d->restrict_match);
                d->restrict_match = bson_copy(&m);
            }
            qry_match_t *check = NULL;
            ST_RET(qry__pl_match_parse(d->restrict_match, NULL, &check, st));
            d->has_restrict = true;
        } else {
            char **dst = strcmp(k, "connectFromField") == 0 ? &d->from_field
                         : strcmp(k, "connectToField") == 0 ? &d->to_field
                         : strcmp(k, "as") == 0             ? &d->as
                         : strcmp(k, "depthField") == 0     ? &d->depth_field
                                                            : NULL;
            if (!dst)
                return status_set(st, 40104, "Unknown argument to $graphLookup: %s", k);
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return status_set(st, 40103, "expected string as argument for %s, found: %s", k,
                                  "another type");
            const char *v = bson_iter_utf8(&it, NULL);
            if (v[0] == '$' || v[0] == '\0')
                return status_set(st, 16410, "FieldPath field names may not start with '$'.");
            free(*dst);
            *dst = strdup(v);
        }
    }
    if (!d->as || !d->coll || !d->from_field || !d->to_field || !d->start)
        return status_set(st, 40105,
                          "$graphLookup requires 'from', 'startWith', "
                          "'connectFromField', 'connectToField' and 'as'");
    s->shape = PL_MODIFIES;
    qry__pl_add_write(s, d->as);
    return 0;
}

typedef struct graph_iter {
    pl_iter_t base;
    const graph_data_t *d;
} graph_iter_t;

static void push_value(bson_t *arr, uint32_t *n, const bson_value_t *v)
{
    char k[16];
    const char *kp;
    bson_uint32_to_string((*n)++, &kp, k, sizeof k);
    BSON_APPEND_VALUE(arr, kp, v);
}

/* add_frontier -- values (array elements expanded) not queried before. */
static void add_frontier(const bson_value_t *v, bson_t *seen, uint32_t *nseen, bson_t *next,
                         uint32_t *nnext)
{
    if (v->value_type == BSON_TYPE_ARRAY) {
        bson_t a;
        if (!bson_init_static(&a, v->value.v_doc.data, v->value.v_doc.data_len))
            return;
        bson_iter_t it;
        bson_iter_init(&it, &a);
        while (bson_iter_next(&it))
            add_frontier(bson_iter_value(&it), seen, nseen, next, nnext);
        return;
    }
    bson_iter_t it;
    bson_iter_init(&it, seen);
    while (bson_iter_next(&it))
        if (bsonu_equal_value(bson_iter_value(&it), v))
            return;
    push_value(seen, nseen, v);
    push_value(next, nnext, v);
}

static int graph_search(graph_iter_t *g, const bson_t *doc, bson_t *found_arr, status_t *st)
{
    const graph_data_t *d = g->d;
    pl_run_t *run = g->base.run;
    bson_t seen, frontier, ids, lets;
    bson_init(&seen);
    bson_init(&frontier);
    bson_init(&ids);
    uint32_t nseen = 0, nfront = 0, nids = 0, nfound = 0;
    let_vars(run, NULL, &lets);
    uint64_t mark = qry_expr_ctx_mark(run->ex);
    bson_value_t sv;
    int ret = qry_expr_eval(d->start, run->ex, doc, &sv, st);
    if (ret == 0) {
        if (sv.value_type == BSON_TYPE_EOD)
            sv.value_type = BSON_TYPE_NULL;
        add_frontier(&sv, &seen, &nseen, &frontier, &nfront);
    }
    qry_expr_ctx_release(run->ex, mark);
    for (int64_t depth = 0; ret == 0 && nfront > 0; depth++) {
        if (d->max_depth >= 0 && depth > d->max_depth)
            break;
        bson_t pipeline, stage, m, f, in;
        bson_init(&pipeline);
        BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &stage);
        BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &m);
        bson_t and;
        BSON_APPEND_ARRAY_BEGIN(&m, "$and", &and);
        bson_t c0;
        BSON_APPEND_DOCUMENT_BEGIN(&and, "0", &c0);
        BSON_APPEND_DOCUMENT_BEGIN(&c0, d->to_field, &f);
        bson_append_array(&f, "$in", 3, &frontier);
        bson_append_document_end(&c0, &f);
        bson_append_document_end(&and, &c0);
        if (d->has_restrict)
            BSON_APPEND_DOCUMENT(&and, "1", d->restrict_match);
        bson_append_array_end(&m, &and);
        bson_append_document_end(&stage, &m);
        bson_append_document_end(&pipeline, &stage);
        bson_t res;
        bson_init(&res);
        BSON_APPEND_ARRAY_BEGIN(&res, "r", &in);
        ret = drain(run, d->db, d->coll, &pipeline, &lets, &in, st);
        bson_append_array_end(&res, &in);
        bson_destroy(&pipeline);
        bson_reinit(&frontier);
        nfront = 0;
        bson_iter_t ri, e;
        if (ret == 0 && bson_iter_init_find(&ri, &res, "r") && bson_iter_recurse(&ri, &e)) {
            while (bson_iter_next(&e)) {
                uint32_t len;
                const uint8_t *data;
                bson_iter_document(&e, &len, &data);
                bson_t fd;
                if (!data || !bson_init_static(&fd, data, len))
                    continue;
                /* visited documents (by _id) are never added again: cycles end */
                bson_iter_t idi;
                bson_value_t idv = {.value_type = BSON_TYPE_NULL};
                if (bson_iter_init_find(&idi, &fd, "_id"))
                    idv = *bson_iter_value(&idi);
                bool dup = false;
                bson_iter_t si;
                bson_iter_init(&si, &ids);
                while (!dup && bson_iter_next(&si))
                    dup = bsonu_equal_value(bson_iter_value(&si), &idv);
                if (dup)
                    continue;
                push_value(&ids, &nids, &idv);
                char k[16];
                const char *kp;
                bson_uint32_to_string(nfound++, &kp, k, sizeof k);
                if (d->depth_field) {
                    bson_value_t dv = {.value_type = BSON_TYPE_INT64, .value.v_int64 = depth};
                    bson_t withd;
                    qry__pl_set_path(&fd, d->depth_field, &dv, &withd);
                    BSON_APPEND_DOCUMENT(found_arr, kp, &withd);
                    bson_destroy(&withd);
                } else {
                    BSON_APPEND_DOCUMENT(found_arr, kp, &fd);
                }
                bson_value_t fv;
                if (qry__pl_path_get(&fd, d->from_field, &fv))
                    add_frontier(&fv, &seen, &nseen, &frontier, &nfront);
                /* what the search holds: never past the stage memory limit (MongoDB's
                 * maxMemoryUsageBytes for $graphLookup) */
                if ((size_t)found_arr->len + seen.len + ids.len + res.len >
                    qry__pl_mem_limit(run)) {
                    ret = status_set(st, ERR_ExceededMemoryLimit,
                                     "$graphLookup reached maximum memory consumption");
                    break;
                }
            }
        }
        bson_destroy(&res);
    }
    bson_destroy(&seen);
    bson_destroy(&frontier);
    bson_destroy(&ids);
    bson_destroy(&lets);
    return ret;
}

static int graph_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    graph_iter_t *g = (graph_iter_t *)it;
    bson_t in;
    ST_RET(qry__pl_pull(it->src, &in, eof, st));
    if (*eof) {
        bson_steal(out, &in);
        return 0;
    }
    bson_t holder, arr;
    bson_init(&holder);
    BSON_APPEND_ARRAY_BEGIN(&holder, "a", &arr);
    int ret = graph_search(g, &in, &arr, st);
    bson_append_array_end(&holder, &arr);
    if (ret == 0) {
        bson_iter_t hi;
        bson_iter_init_find(&hi, &holder, "a");
        qry__pl_set_path(&in, g->d->as, bson_iter_value(&hi), out);
    } else {
        bson_init(out);
        *eof = true;
    }
    bson_destroy(&holder);
    bson_destroy(&in);
    return ret;
}

static int graph_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    ST_RET(need_open(run, "$graphLookup", src, st));
    graph_iter_t *g = calloc(1, sizeof *g);
    INVARIANT(g != NULL);
    qry__pl_iter_init(&g->base, graph_next, plain_close, src, run);
    g->d = stage->data;
    *out = &g->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_graphlookup = {"$graphLookup", 0, graph_parse, graph_open,
                                                  graph_free};
