/*
 * pipeline.c -- aggregation pipelines: parsing a pipeline array into a list
 * of stages held as data, the stage table, position rules, and the runtime
 * chain of pull iterators (qry_pipeline_open / qry_pl_exec_next).
 *
 * Each stage kind lives in a stage_*.c file and is one row of the table
 * below (pl_stage_ops_t): parse fills the stage's declarations (reads,
 * writes, shape) that the optimiser (pipeline_opt.c) and the router use;
 * open builds a pl_iter_t pulling from the previous stage's iterator.
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

/* The stage table: every stage name the parser knows. */
static const pl_stage_ops_t *const stage_table[] = {
    &qry__pl_stage_match,       &qry__pl_stage_limit,       &qry__pl_stage_skip,
    &qry__pl_stage_count,       &qry__pl_stage_sample,      &qry__pl_stage_unset,
    &qry__pl_stage_documents,   &qry__pl_stage_sort,        &qry__pl_stage_unwind,
    &qry__pl_stage_group,       &qry__pl_stage_sortbycount, &qry__pl_stage_project,
    &qry__pl_stage_addfields,   &qry__pl_stage_set,         &qry__pl_stage_replaceroot,
    &qry__pl_stage_replacewith, &qry__pl_stage_facet,       &qry__pl_stage_lookup,
    &qry__pl_stage_unionwith,   &qry__pl_stage_graphlookup, &qry__pl_stage_out,
    &qry__pl_stage_merge,       &qry__pl_stage_collstats,   &qry__pl_stage_indexstats,
    &qry__pl_stage_currentop,   &qry__pl_stage_bucket,      &qry__pl_stage_bucketauto,
    &qry__pl_stage_redact,      &qry__pl_stage_window,      &qry__pl_stage_fill,
    &qry__pl_stage_densify,
};

/* qry_pl_ctx_init -- defaults: 100 MB, allowDiskUse true, no callbacks. */
void qry_pl_ctx_init(qry_pl_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->mem_limit = QRY_PL_MEM_LIMIT_DEFAULT;
    ctx->allow_disk_use = true;
}

static char **strv_push(char **v, size_t *n, const char *s)
{
    v = realloc(v, (*n + 1) * sizeof *v);
    INVARIANT(v != NULL);
    v[(*n)++] = strdup(s);
    return v;
}

/* qry__pl_add_read -- record a path the stage reads. */
void qry__pl_add_read(pl_stage_t *s, const char *path)
{
    s->reads = strv_push(s->reads, &s->nreads, path);
}

/* qry__pl_add_write -- record a path the stage writes. */
void qry__pl_add_write(pl_stage_t *s, const char *path)
{
    s->writes = strv_push(s->writes, &s->nwrites, path);
}

/* qry__pl_set_spec -- replace a stage's spec with {name: value}. */
void qry__pl_set_spec(pl_stage_t *s, const char *name, const bson_value_t *v)
{
    bson_reinit(s->spec);
    BSON_APPEND_VALUE(s->spec, name, v);
}

/* qry__pl_stage_free -- free a stage (NULL-safe). */
void qry__pl_stage_free(pl_stage_t *s)
{
    if (!s)
        return;
    if (s->ops && s->ops->free && s->data)
        s->ops->free(s->data);
    for (size_t i = 0; i < s->nreads; i++)
        free(s->reads[i]);
    for (size_t i = 0; i < s->nwrites; i++)
        free(s->writes[i]);
    free(s->reads);
    free(s->writes);
    bson_destroy(s->spec);
    free(s);
}

static const pl_stage_ops_t *find_stage(const char *name)
{
    for (size_t i = 0; i < sizeof stage_table / sizeof stage_table[0]; i++)
        if (strcmp(stage_table[i]->name, name) == 0)
            return stage_table[i];
    return NULL;
}

/* qry__pl_stage_new -- parse one stage {$name: arg}. */
int qry__pl_stage_new(const char *name, const bson_iter_t *arg, pl_stage_t **out, status_t *st)
{
    *out = NULL;
    const pl_stage_ops_t *ops = find_stage(name);
    if (!ops)
        return status_set(st, 40324, "Unrecognized pipeline stage name: '%s'", name);
    pl_stage_t *s = calloc(1, sizeof *s);
    INVARIANT(s != NULL);
    s->ops = ops;
    s->spec = bson_new();
    BSON_APPEND_VALUE(s->spec, name, bson_iter_value((bson_iter_t *)arg));
    s->shape = PL_PASSTHROUGH;
    int ret = ops->parse(s, arg, st);
    if (ret != 0) {
        qry__pl_stage_free(s);
        return ret;
    }
    *out = s;
    return 0;
}

static void pl_push(qry_pipeline_t *p, pl_stage_t *s)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->stages = realloc(p->stages, p->cap * sizeof *p->stages);
        INVARIANT(p->stages != NULL);
    }
    p->stages[p->n++] = s;
}

/*
 * MongoDB refuses pipelines with too many stages (internalPipelineLengthLimit,
 * 1000 on 64-bit builds); the same bound keeps nested parsing finite.
 */
#define PL_MAX_STAGES 1000
/* $facet/$lookup nesting: each level recurses through the parser. */
#define PL_MAX_NESTING 20

static _Thread_local int parse_nesting;
/* The scope of the pipeline being parsed: stages of one pipeline share it. */
static _Thread_local qry_expr_scope_t *parse_scope;

/* The command's let of the top-level pipeline being parsed ($lookup sub-pipelines see it). */
static _Thread_local const bson_t *parse_let;

/* qry__pl_parse_let -- the let document of the pipeline being parsed (NULL: none). */
const bson_t *qry__pl_parse_let(void)
{
    return parse_let;
}

/* qry__pl_scope -- the scope of the pipeline being parsed. */
qry_expr_scope_t *qry__pl_scope(void)
{
    return parse_scope;
}

/* qry__pl_expr_deps -- record e's reads in s. */
void qry__pl_expr_deps(const qry_expr_t *e, pl_stage_t *s)
{
    qry_expr_deps_t d;
    qry_expr_deps_init(&d);
    qry_expr_deps_add(e, &d);
    if (d.whole_doc)
        s->needs_whole_doc = true;
    for (size_t i = 0; i < d.npaths; i++)
        qry__pl_add_read(s, d.paths[i]);
    qry_expr_deps_destroy(&d);
}

/* qry__pl_expr_value -- parse an expression with the current scope. */
int qry__pl_expr_value(const bson_value_t *v, pl_stage_t *s, qry_expr_t **out, status_t *st)
{
    ST_RET(qry_expr_parse(v, parse_scope, out, st));
    if (s)
        qry__pl_expr_deps(*out, s);
    return 0;
}

/* qry__pl_expr -- parse the expression at it with the current scope. */
int qry__pl_expr(const bson_iter_t *it, pl_stage_t *s, qry_expr_t **out, status_t *st)
{
    return qry__pl_expr_value(bson_iter_value((bson_iter_t *)it), s, out, st);
}

/*
 * qry__pl_match_parse -- a matcher whose $expr evaluates in run's context.
 * With run NULL (parse time) the filter is checked with a context over the
 * parse scope; the caller must then destroy the matcher before returning.
 */
int qry__pl_match_parse(const bson_t *filter, pl_run_t *run, qry_match_t **out, status_t *st)
{
    if (run) {
        qry_match_hooks_t h = qry_expr_match_hooks(run->ex);
        return qry_match_parse(filter, &h, out, st);
    }
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    qry_expr_ctx_set_scope(cx, parse_scope);
    qry_match_hooks_t h = qry_expr_match_hooks(cx);
    int ret = qry_match_parse(filter, &h, out, st);
    qry_match_destroy(*out);
    *out = NULL;
    qry_expr_ctx_destroy(cx);
    return ret;
}

static int parse_array(const bson_t *arr, bool in_facet, bool in_lookup, qry_pipeline_t **out,
                       status_t *st)
{
    if (!parse_scope)
        return status_set(st, ERR_InternalError, "pipeline parsed without a scope");
    *out = NULL;
    if (parse_nesting >= PL_MAX_NESTING)
        return status_set(st, ERR_BadValue, "pipeline nesting exceeds %d levels", PL_MAX_NESTING);
    qry_pipeline_t *p = calloc(1, sizeof *p);
    INVARIANT(p != NULL);
    p->scope = parse_scope;
    bson_iter_t it;
    int ret = 0;
    parse_nesting++;
    if (!bson_iter_init(&it, arr)) {
        ret = status_set(st, ERR_InvalidBSON, "invalid pipeline array");
        goto err;
    }
    while (bson_iter_next(&it)) {
        if (p->n >= PL_MAX_STAGES) {
            ret = status_set(st, 7749501, "Pipeline length must be no longer than %d stages",
                             PL_MAX_STAGES);
            goto err;
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            ret = status_set(st, ERR_TypeMismatch,
                             "Each element of the 'pipeline' array must be an object");
            goto err;
        }
        bson_iter_t st_it;
        uint32_t n = 0;
        bool ok = bson_iter_recurse(&it, &st_it);
        bson_iter_t first;
        while (ok && bson_iter_next(&st_it)) {
            if (n == 0)
                first = st_it;
            n++;
        }
        if (!ok || n != 1) {
            ret = status_set(st, 40323,
                             "A pipeline stage specification object must contain exactly one "
                             "field.");
            goto err;
        }
        pl_stage_t *s;
        ST_ERR(qry__pl_stage_new(bson_iter_key(&first), &first, &s, st));
        pl_push(p, s);
    }
    /* Position rules, checked once the whole list is known. */
    for (size_t i = 0; i < p->n; i++) {
        const pl_stage_ops_t *ops = p->stages[i]->ops;
        if ((ops->flags & PL_F_NO_FACET) && in_facet) {
            ret = status_set(st, 40600, "%s is not allowed to be used within a $facet stage",
                             ops->name);
            goto err;
        }
        if ((ops->flags & PL_F_NO_LOOKUP) && in_lookup) {
            ret = status_set(st, 51047, "%s is not allowed to be used within a $lookup stage",
                             ops->name);
            goto err;
        }
        if ((ops->flags & PL_F_LAST) && i + 1 != p->n) {
            ret =
                status_set(st, 40601, "%s can only be the final stage in the pipeline", ops->name);
            goto err;
        }
        if ((ops->flags & PL_F_FIRST) && i != 0) {
            ret = status_set(st, 40602, "%s is only valid as the first stage in a pipeline",
                             ops->name);
            goto err;
        }
    }
    parse_nesting--;
    *out = p;
    return 0;
err:
    parse_nesting--;
    qry_pipeline_destroy(p);
    return ret;
}

/* qry_pipeline_parse -- parse a pipeline array into *out, with let's names as variables. */
int qry_pipeline_parse(const bson_t *pipeline, const bson_t *let, qry_pipeline_t **out,
                       status_t *st)
{
    *out = NULL;
    qry_expr_scope_t *scope = qry_expr_scope_new();
    bson_iter_t it;
    if (let && bson_iter_init(&it, let)) {
        while (bson_iter_next(&it)) {
            int slot;
            int ret = qry_expr_scope_define(scope, bson_iter_key(&it), &slot, st);
            if (ret != 0) {
                qry_expr_scope_destroy(scope);
                return ret;
            }
        }
    }
    qry_expr_scope_t *saved = parse_scope;
    const bson_t *saved_let = parse_let;
    parse_scope = scope;
    parse_let = let;
    int ret = parse_array(pipeline, false, false, out, st);
    parse_scope = saved;
    parse_let = saved_let;
    if (ret != 0) {
        qry_expr_scope_destroy(scope);
        return ret;
    }
    (*out)->scope = scope;
    (*out)->owns_scope = true;
    return 0;
}

/* qry__pl_stage_new_in -- qry__pl_stage_new with scope as the parse scope (rewrites). */
int qry__pl_stage_new_in(qry_expr_scope_t *scope, const char *name, const bson_iter_t *arg,
                         pl_stage_t **out, status_t *st)
{
    qry_expr_scope_t *saved = parse_scope;
    parse_scope = scope;
    int ret = qry__pl_stage_new(name, arg, out, st);
    parse_scope = saved;
    return ret;
}

/* qry__pl_parse_scoped -- parse arr as a top-level pipeline in scope (borrowed). */
int qry__pl_parse_scoped(const bson_t *arr, qry_expr_scope_t *scope, bool in_lookup,
                         qry_pipeline_t **out, status_t *st)
{
    qry_expr_scope_t *saved = parse_scope;
    parse_scope = scope;
    int ret = parse_array(arr, false, in_lookup, out, st);
    parse_scope = saved;
    return ret;
}

/* qry__pl_parse_sub -- parse a sub-pipeline held at arr (an array value). */
int qry__pl_parse_sub(const bson_iter_t *arr, bool in_facet, bool in_lookup, qry_pipeline_t **out,
                      status_t *st)
{
    uint32_t len;
    const uint8_t *data;
    bson_iter_array(arr, &len, &data);
    bson_t a;
    if (!data || !bson_init_static(&a, data, len))
        bson_init(&a);
    int ret = parse_array(&a, in_facet, in_lookup, out, st);
    bson_destroy(&a);
    return ret;
}

/* qry_pipeline_destroy -- free a parsed pipeline (NULL is a no-op). */
void qry_pipeline_destroy(qry_pipeline_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        qry__pl_stage_free(p->stages[i]);
    free(p->stages);
    if (p->owns_scope)
        qry_expr_scope_destroy(p->scope);
    free(p);
}

/* qry_pipeline_nstages -- number of stages. */
size_t qry_pipeline_nstages(const qry_pipeline_t *p)
{
    return p->n;
}

/* qry_pipeline_stage_info -- stage i's declaration. */
void qry_pipeline_stage_info(const qry_pipeline_t *p, size_t i, qry_pl_stage_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (i >= p->n)
        return;
    const pl_stage_t *s = p->stages[i];
    out->name = s->ops->name;
    out->spec = s->spec;
    out->blocking = (s->ops->flags & PL_F_BLOCKING) != 0;
    out->merger_only = (s->ops->flags & PL_F_MERGER) != 0;
    out->needs_whole_doc = s->needs_whole_doc;
    out->replaces_doc = s->shape == PL_REPLACES;
    out->nreads = s->nreads;
    out->reads = (const char *const *)s->reads;
    out->nwrites = s->nwrites;
    out->writes = (const char *const *)s->writes;
}

/* qry_pipeline_serialize -- the stages as an array under key. */
void qry_pipeline_serialize(const qry_pipeline_t *p, bson_t *out, const char *key)
{
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(out, key, &arr);
    for (size_t i = 0; i < p->n; i++) {
        char k[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)i, &kp, k, sizeof k);
        BSON_APPEND_DOCUMENT(&arr, kp, p->stages[i]->spec);
    }
    bson_append_array_end(out, &arr);
}

/* ------------------------------------------------------------------------ */
/* Runtime                                                                   */
/* ------------------------------------------------------------------------ */

struct qry_pl_exec {
    pl_run_t run;
    pl_iter_t *top;
};

/* qry__pl_iter_close -- close an iterator chain (NULL-safe). */
void qry__pl_iter_close(pl_iter_t *it)
{
    if (it)
        it->close(it);
}

/* qry__pl_pull -- it->next with the deadline check first. */
int qry__pl_pull(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    const qry_pl_ctx_t *ctx = it->run->ctx;
    /*
     * An empty bson_t owns no heap memory, so initialising here costs nothing
     * and lets every stage return an error early without breaking the rule
     * that *out is always initialised.
     */
    bson_init(out);
    *eof = false;
    if (ctx->deadline) {
        int r = ctx->deadline(ctx->deadline_arg, st);
        if (r != 0) {
            *eof = true;
            return r;
        }
    }
    int r = it->next(it, out, eof, st);
    if (r != 0) {
        /* on error *out is empty, so callers may return without destroying it */
        bson_destroy(out);
        bson_init(out);
        *eof = true;
    }
    return r;
}

typedef struct src_iter {
    pl_iter_t base;
    qry_doc_source_t src;
} src_iter_t;

static int src_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    src_iter_t *s = (src_iter_t *)it;
    *eof = false;
    int r = s->src.next(s->src.arg, out, eof, st);
    if (r != 0)
        *eof = true;
    return r;
}

static void src_close(pl_iter_t *it)
{
    src_iter_t *s = (src_iter_t *)it;
    if (s->src.close)
        s->src.close(s->src.arg);
    free(s);
}

/* qry__pl_iter_from_source -- wrap a caller's source (takes ownership). */
pl_iter_t *qry__pl_iter_from_source(qry_doc_source_t src, pl_run_t *run)
{
    src_iter_t *s = calloc(1, sizeof *s);
    INVARIANT(s != NULL);
    qry__pl_iter_init(&s->base, src_next, src_close, NULL, run);
    s->src = src;
    return &s->base;
}

typedef struct docs_iter {
    pl_iter_t base;
    bson_t *const *docs;
    size_t n, pos;
} docs_iter_t;

static int docs_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    docs_iter_t *d = (docs_iter_t *)it;
    if (d->pos >= d->n) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    *eof = false;
    bson_copy_to(d->docs[d->pos++], out);
    return 0;
}

static void docs_close(pl_iter_t *it)
{
    free(it);
}

/* qry__pl_iter_from_docs -- an iterator over borrowed docs. */
pl_iter_t *qry__pl_iter_from_docs(bson_t *const *docs, size_t n, pl_run_t *run)
{
    docs_iter_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    qry__pl_iter_init(&d->base, docs_next, docs_close, NULL, run);
    d->docs = docs;
    d->n = n;
    return &d->base;
}

typedef struct array_src {
    const bson_t *const *docs;
    size_t n, pos;
} array_src_t;

static int array_src_next(void *arg, bson_t *out, bool *eof, status_t *st)
{
    array_src_t *a = arg;
    if (a->pos >= a->n) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    *eof = false;
    bson_copy_to(a->docs[a->pos++], out);
    return 0;
}

/* qry_pl_source_array -- a source over docs[0..n) (borrowed). */
qry_doc_source_t qry_pl_source_array(const bson_t *const *docs, size_t n)
{
    array_src_t *a = calloc(1, sizeof *a);
    INVARIANT(a != NULL);
    a->docs = docs;
    a->n = n;
    qry_doc_source_t s = {array_src_next, free, a};
    return s;
}

/* qry__pl_chain -- open the stages of p over src (owned). */
int qry__pl_chain(const qry_pipeline_t *p, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                  status_t *st)
{
    *out = NULL;
    pl_iter_t *cur = src;
    for (size_t i = 0; i < p->n; i++) {
        pl_iter_t *next = NULL;
        int ret = p->stages[i]->ops->open(p->stages[i], run, cur, &next, st);
        if (ret != 0)
            return ret; /* open closes its source on failure */
        cur = next;
    }
    *out = cur;
    return 0;
}

/* qry__pl_zalloc -- libbson declares bson_t and bson_iter_t 128-byte aligned. */
void *qry__pl_zalloc(size_t size)
{
    size_t n = (size + 127) & ~(size_t)127;
    void *p = aligned_alloc(128, n);
    INVARIANT(p != NULL);
    memset(p, 0, n);
    return p;
}

/* qry__pl_rand -- xorshift64*: cheap, seedable, good enough for $sample. */
uint64_t qry__pl_rand(pl_run_t *run)
{
    uint64_t x = run->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    run->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* qry__pl_mem_limit -- the per-stage limit. */
size_t qry__pl_mem_limit(const pl_run_t *run)
{
    return run->ctx->mem_limit ? run->ctx->mem_limit : QRY_PL_MEM_LIMIT_DEFAULT;
}

/* qry__pl_doc_mem -- a held document costs its bytes plus its bson_t and pointer. */
size_t qry__pl_doc_mem(const bson_t *doc)
{
    return doc->len + sizeof(bson_t) + sizeof(void *);
}

/* bind_let -- evaluate the command's let expressions once and bind their slots. */
static int bind_let(pl_run_t *run, const qry_pipeline_t *p, status_t *st)
{
    bson_iter_t it;
    if (!run->ctx->let || !bson_iter_init(&it, run->ctx->let))
        return 0;
    while (bson_iter_next(&it)) {
        qry_expr_t *e;
        ST_RET(qry_expr_parse_iter(&it, p->scope, &e, st));
        bson_value_t v;
        int ret = qry_expr_eval(e, run->ex, NULL, &v, st);
        if (ret == 0) {
            int slot = qry_expr_scope_lookup(p->scope, bson_iter_key(&it));
            if (slot >= 0)
                ret = qry_expr_ctx_set_var(run->ex, slot, &v, st);
            if (ret == 0 && v.value_type != BSON_TYPE_EOD)
                bson_append_value(run->let_vals, bson_iter_key(&it), -1, &v);
        }
        qry_expr_destroy(e);
        ST_RET(ret);
    }
    return 0;
}

/* qry__pl_run_init -- a run over ctx for pipeline p. */
int qry__pl_run_init(pl_run_t *run, const qry_pipeline_t *p, const qry_pl_ctx_t *ctx, status_t *st)
{
    memset(run, 0, sizeof *run);
    run->ctx = ctx;
    run->scope = p->scope;
    run->now_ms = ctx->now_ms ? ctx->now_ms : time_now_ms();
    run->rng = ctx->seed ? ctx->seed : (uint64_t)time_mono_us() * 0x9E3779B97F4A7C15ULL;
    if (run->rng == 0)
        run->rng = 0x9E3779B97F4A7C15ULL;
    run->ex = qry_expr_ctx_new();
    qry_expr_ctx_set_scope(run->ex, p->scope);
    qry_expr_ctx_set_now(run->ex, run->now_ms);
    if (ctx->seed)
        qry_expr_ctx_set_seed(run->ex, ctx->seed);
    run->let_vals = bson_new();
    return bind_let(run, p, st);
}

/* qry__pl_run_destroy -- free what qry__pl_run_init took. */
void qry__pl_run_destroy(pl_run_t *run)
{
    qry_expr_ctx_destroy(run->ex);
    bson_destroy(run->let_vals);
    run->let_vals = NULL;
}

/* qry_pipeline_open -- instantiate the stages over source. */
int qry_pipeline_open(const qry_pipeline_t *p, const qry_pl_ctx_t *ctx, qry_doc_source_t source,
                      qry_pl_exec_t **out, status_t *st)
{
    *out = NULL;
    qry_pl_exec_t *ex = calloc(1, sizeof *ex);
    INVARIANT(ex != NULL);
    int ret = qry__pl_run_init(&ex->run, p, ctx, st);
    if (ret == 0) {
        pl_iter_t *src = qry__pl_iter_from_source(source, &ex->run);
        ret = qry__pl_chain(p, &ex->run, src, &ex->top, st);
    } else if (source.close) {
        source.close(source.arg);
    }
    if (ret != 0) {
        qry__pl_run_destroy(&ex->run);
        free(ex);
        return ret;
    }
    *out = ex;
    return 0;
}

/* qry_pl_exec_next -- the next output document. */
int qry_pl_exec_next(qry_pl_exec_t *ex, bson_t *out, bool *eof, status_t *st)
{
    return qry__pl_pull(ex->top, out, eof, st);
}

/* qry_pl_exec_spills -- runs written to disk so far. */
uint64_t qry_pl_exec_spills(const qry_pl_exec_t *ex)
{
    return ex->run.spills;
}

/* qry_pl_exec_destroy -- close everything (NULL-safe). */
void qry_pl_exec_destroy(qry_pl_exec_t *ex)
{
    if (!ex)
        return;
    qry__pl_iter_close(ex->top);
    qry__pl_run_destroy(&ex->run);
    free(ex);
}
