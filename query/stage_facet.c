/*
 * stage_facet.c -- the stages that buffer their whole input and compute
 * over it at once: $facet (several sub-pipelines over the same documents,
 * one output document of arrays) and $bucketAuto (documents sorted by the
 * groupBy value and cut into buckets of about equal size, equal values never
 * split across buckets).
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

/* A buffer of owned documents with memory accounting. */
typedef struct docbuf {
    bson_t **docs;
    size_t n, cap, mem;
} docbuf_t;

static void docbuf_push(docbuf_t *b, bson_t *doc)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->docs = realloc(b->docs, b->cap * sizeof *b->docs);
        INVARIANT(b->docs != NULL);
    }
    b->docs[b->n++] = doc;
    b->mem += qry__pl_doc_mem(doc);
}

static void docbuf_free(docbuf_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        bson_destroy(b->docs[i]);
    free(b->docs);
    memset(b, 0, sizeof *b);
}

/* docbuf_fill -- pull all of src; over the memory limit is 292 (these stages do not spill). */
static int docbuf_fill(docbuf_t *b, pl_iter_t *src, const char *stage, status_t *st)
{
    size_t limit = qry__pl_mem_limit(src->run);
    for (;;) {
        bson_t d;
        bool eof;
        ST_RET(qry__pl_pull(src, &d, &eof, st));
        if (eof) {
            bson_destroy(&d);
            return 0;
        }
        docbuf_push(b, bson_copy(&d));
        bson_destroy(&d);
        if (b->mem > limit)
            return status_set(st, ERR_QueryExceededMemoryLimitNoDiskUseAllowed,
                              "%s exceeded memory limit of %zu bytes", stage, limit);
    }
}

/* ---- $facet ------------------------------------------------------------ */

typedef struct facet_data {
    char **names;
    qry_pipeline_t **pipes;
    size_t n;
} facet_data_t;

static void facet_free(void *data)
{
    facet_data_t *d = data;
    for (size_t i = 0; i < d->n; i++) {
        free(d->names[i]);
        qry_pipeline_destroy(d->pipes[i]);
    }
    free(d->names);
    free(d->pipes);
    free(d);
}

static int facet_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    facet_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    s->data = d;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, 40169, "the $facet specification must be a non-empty object");
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '$' || k[0] == '\0' || strchr(k, '.'))
            return status_set(st, 40174,
                              "facet field names must not start with '$', contain "
                              "'.', or be empty: %s",
                              k);
        if (!BSON_ITER_HOLDS_ARRAY(&it))
            return status_set(st, 40170, "arguments to $facet must be arrays, %s is not", k);
        qry_pipeline_t *p;
        ST_RET(qry__pl_parse_sub(&it, true, false, &p, st));
        if (qry_pipeline_nstages(p) == 0) {
            qry_pipeline_destroy(p);
            return status_set(st, 40171, "sub-pipeline in $facet stage cannot be empty: %s", k);
        }
        d->names = realloc(d->names, (d->n + 1) * sizeof *d->names);
        d->pipes = realloc(d->pipes, (d->n + 1) * sizeof *d->pipes);
        INVARIANT(d->names && d->pipes);
        d->names[d->n] = strdup(k);
        d->pipes[d->n] = p;
        d->n++;
    }
    if (d->n == 0)
        return status_set(st, 40169, "the $facet specification must be a non-empty object");
    s->shape = PL_REPLACES;
    s->needs_whole_doc = true;
    return 0;
}

typedef struct facet_iter {
    pl_iter_t base;
    const facet_data_t *d;
    bool done;
} facet_iter_t;

static int facet_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    facet_iter_t *f = (facet_iter_t *)it;
    bson_init(out);
    if (f->done) {
        *eof = true;
        return 0;
    }
    f->done = true;
    docbuf_t buf = {0};
    int ret = docbuf_fill(&buf, it->src, "$facet", st);
    for (size_t i = 0; i < f->d->n && ret == 0; i++) {
        pl_iter_t *src = qry__pl_iter_from_docs(buf.docs, buf.n, it->run);
        pl_iter_t *top;
        ret = qry__pl_chain(f->d->pipes[i], it->run, src, &top, st);
        if (ret != 0)
            break;
        bson_t arr;
        bson_append_array_begin(out, f->d->names[i], -1, &arr);
        uint32_t n = 0;
        size_t bytes = 0;
        for (;;) {
            bson_t d;
            bool e;
            ret = qry__pl_pull(top, &d, &e, st);
            if (ret != 0 || e) {
                bson_destroy(&d);
                break;
            }
            bytes += d.len;
            if (bytes > 16 * 1024 * 1024) {
                bson_destroy(&d);
                ret = status_set(st, 4031700,
                                 "document constructed by $facet is %zu bytes, "
                                 "which exceeds the limit of 16777216 bytes",
                                 bytes);
                break;
            }
            char key[16];
            const char *kp;
            bson_uint32_to_string(n++, &kp, key, sizeof key);
            BSON_APPEND_DOCUMENT(&arr, kp, &d);
            bson_destroy(&d);
        }
        bson_append_array_end(out, &arr);
        qry__pl_iter_close(top);
    }
    docbuf_free(&buf);
    *eof = ret != 0;
    return ret;
}

static void facet_close(pl_iter_t *it)
{
    qry__pl_iter_close(it->src);
    free(it);
}

static int facet_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    facet_iter_t *f = calloc(1, sizeof *f);
    INVARIANT(f != NULL);
    qry__pl_iter_init(&f->base, facet_next, facet_close, src, run);
    f->d = stage->data;
    *out = &f->base;
    (void)st;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_facet = {"$facet", PL_F_BLOCKING | PL_F_NO_FACET | PL_F_MERGER,
                                            facet_parse, facet_open, facet_free};

/* ---- $bucketAuto ---------------------------------------------------------- */

typedef struct bauto_data {
    qry_expr_t *group_by;
    int64_t buckets;
    pl_accum_spec_t **accs;
    size_t nacc;
} bauto_data_t;

static void bauto_free(void *data)
{
    bauto_data_t *d = data;
    qry_expr_destroy(d->group_by);
    for (size_t i = 0; i < d->nacc; i++)
        qry__accum_spec_free(d->accs[i]);
    free(d->accs);
    free(d);
}

static int add_acc(bauto_data_t *d, pl_stage_t *s, const char *field, const bson_iter_t *op,
                   status_t *st)
{
    pl_accum_spec_t *a;
    ST_RET(qry__accum_parse(field, op, &a, st));
    d->accs = realloc(d->accs, (d->nacc + 1) * sizeof *d->accs);
    INVARIANT(d->accs != NULL);
    d->accs[d->nacc++] = a;
    qry__accum_deps(a, s);
    return 0;
}

static int bauto_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    bauto_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    s->data = d;
    s->shape = PL_REPLACES;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, 40240, "The argument to $bucketAuto must be an object");
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    bool have_output = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "groupBy") == 0) {
            const bson_value_t *v = bson_iter_value(&it);
            if (!((v->value_type == BSON_TYPE_UTF8 && v->value.v_utf8.str[0] == '$') ||
                  v->value_type == BSON_TYPE_DOCUMENT))
                return status_set(st, 40239,
                                  "The $bucketAuto 'groupBy' field must be defined as "
                                  "a $-prefixed path or an expression object");
            qry_expr_destroy(d->group_by); /* a repeated field replaces the earlier one */

            d->group_by = NULL;

            ST_RET(qry__pl_expr(&it, s, &d->group_by, st));
        } else if (strcmp(k, "buckets") == 0) {
            int64_t n;
            if (!bsonu_number_as_int64(bson_iter_value(&it), &n) || n > INT32_MAX)
                return status_set(st, 40241,
                                  "The $bucketAuto 'buckets' field must be a "
                                  "numeric value");
            if (n <= 0)
                return status_set(st, 40243,
                                  "The $bucketAuto 'buckets' field must be greater "
                                  "than 0, but found: %lld",
                                  (long long)n);
            d->buckets = n;
        } else if (strcmp(k, "output") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, 40244, "The $bucketAuto 'output' field must be an object");
            bson_iter_t o;
            bson_iter_recurse(&it, &o);
            while (bson_iter_next(&o)) {
                bson_iter_t op;
                if (!BSON_ITER_HOLDS_DOCUMENT(&o) || !bson_iter_recurse(&o, &op) ||
                    !bson_iter_next(&op))
                    return status_set(st, 40234, "The field '%s' must be an accumulator object",
                                      bson_iter_key(&o));
                ST_RET(add_acc(d, s, bson_iter_key(&o), &op, st));
            }
            have_output = true;
        } else if (strcmp(k, "granularity") == 0) {
            return status_set(st, ERR_NotImplemented,
                              "$bucketAuto granularity is not supported yet");
        } else {
            return status_set(st, 40245, "Unrecognized option to $bucketAuto: %s.", k);
        }
    }
    if (!d->group_by || d->buckets == 0)
        return status_set(st, 40246,
                          "$bucketAuto requires 'groupBy' and 'buckets' to be specified");
    if (!have_output) {
        bson_t acc;
        bson_init(&acc);
        BSON_APPEND_INT32(&acc, "$sum", 1);
        bson_iter_t ai;
        bson_iter_init(&ai, &acc);
        bson_iter_next(&ai);
        int ret = add_acc(d, s, "count", &ai, st);
        bson_destroy(&acc);
        ST_RET(ret);
    }
    return 0;
}

typedef struct bent {
    bson_value_t v;
    bson_t *doc;
    size_t seq;
} bent_t;

static int bent_cmp(const void *a, const void *b)
{
    const bent_t *x = a, *y = b;
    int c = bsonu_compare_value(&x->v, &y->v);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct bauto_iter {
    pl_iter_t base;
    const bauto_data_t *d;
    bool filled;
    bent_t *ents;
    size_t n, pos;
    int64_t emitted;
    size_t bucket_size;
} bauto_iter_t;

static int bauto_fill(bauto_iter_t *b, status_t *st)
{
    pl_run_t *run = b->base.run;
    docbuf_t buf = {0};
    int ret = docbuf_fill(&buf, b->base.src, "$bucketAuto", st);
    if (ret != 0) {
        docbuf_free(&buf);
        return ret;
    }
    b->ents = calloc(buf.n ? buf.n : 1, sizeof *b->ents);
    INVARIANT(b->ents != NULL);
    for (size_t i = 0; i < buf.n && ret == 0; i++) {
        uint64_t mark = qry_expr_ctx_mark(run->ex);
        bson_value_t v;
        ret = qry_expr_eval(b->d->group_by, run->ex, buf.docs[i], &v, st);
        if (ret == 0) {
            if (v.value_type == BSON_TYPE_EOD)
                v.value_type = BSON_TYPE_NULL;
            bson_value_copy(&v, &b->ents[b->n].v);
            b->ents[b->n].doc = buf.docs[i];
            buf.docs[i] = NULL;
            b->ents[b->n].seq = i;
            b->n++;
        }
        qry_expr_ctx_release(run->ex, mark);
    }
    for (size_t i = 0; i < buf.n; i++)
        if (buf.docs[i])
            bson_destroy(buf.docs[i]);
    free(buf.docs);
    qsort(b->ents, b->n, sizeof *b->ents, bent_cmp);
    /* MongoDB: approximately n / buckets documents per bucket, at least one. */
    double approx = (double)b->n / (double)b->d->buckets;
    b->bucket_size = (size_t)(approx + 0.5);
    if (b->bucket_size < 1)
        b->bucket_size = 1;
    return ret;
}

static int bauto_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    bauto_iter_t *b = (bauto_iter_t *)it;
    bson_init(out);
    *eof = false;
    if (!b->filled) {
        b->filled = true;
        int ret = bauto_fill(b, st);
        if (ret != 0) {
            *eof = true;
            return ret;
        }
    }
    if (b->pos >= b->n) {
        *eof = true;
        return 0;
    }
    size_t start = b->pos;
    size_t end = start + b->bucket_size;
    /* the last bucket takes the rest */
    if (b->emitted + 1 >= b->d->buckets || end > b->n)
        end = b->n;
    while (end < b->n && bsonu_compare_value(&b->ents[end].v, &b->ents[end - 1].v) == 0)
        end++;
    const bson_value_t *min = &b->ents[start].v;
    const bson_value_t *max = end < b->n ? &b->ents[end].v : &b->ents[end - 1].v;
    bson_t id;
    BSON_APPEND_DOCUMENT_BEGIN(out, "_id", &id);
    BSON_APPEND_VALUE(&id, "min", min);
    BSON_APPEND_VALUE(&id, "max", max);
    bson_append_document_end(out, &id);
    int ret = 0;
    for (size_t k = 0; k < b->d->nacc && ret == 0; k++) {
        pl_accum_t *acc = qry__accum_new(b->d->accs[k]);
        for (size_t i = start; i < end && ret == 0; i++)
            ret = qry__accum_add(acc, b->ents[i].doc, it->run, st);
        if (ret == 0)
            ret = qry__accum_final(acc, out, qry__accum_field(b->d->accs[k]), st);
        qry__accum_free(acc);
    }
    b->pos = end;
    b->emitted++;
    if (ret != 0)
        *eof = true;
    return ret;
}

static void bauto_close(pl_iter_t *it)
{
    bauto_iter_t *b = (bauto_iter_t *)it;
    qry__pl_iter_close(it->src);
    for (size_t i = 0; i < b->n; i++) {
        bson_value_destroy(&b->ents[i].v);
        bson_destroy(b->ents[i].doc);
    }
    free(b->ents);
    free(b);
}

static int bauto_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    bauto_iter_t *b = calloc(1, sizeof *b);
    INVARIANT(b != NULL);
    qry__pl_iter_init(&b->base, bauto_next, bauto_close, src, run);
    b->d = stage->data;
    *out = &b->base;
    (void)st;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_bucketauto = {"$bucketAuto", PL_F_BLOCKING | PL_F_MERGER,
                                                 bauto_parse, bauto_open, bauto_free};
