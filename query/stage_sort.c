/*
 * stage_sort.c -- $sort: an in-memory sort while the documents fit in the
 * stage's memory limit, sorted runs spilled to a temp file (spill.c) and
 * merged when they do not and allowDiskUse is on, and QueryExceeded-
 * MemoryLimitNoDiskUseAllowed (292) when it is off. A $sort the optimiser
 * coalesced with a $limit keeps only the top k (qry_topk_*). The sort is
 * stable: ties keep arrival order, also across spilled runs.
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct sort_data {
    qry_sort_t *sort;
    int64_t limit; /* -1: none */
} sort_data_t;

static void sort_free(void *data)
{
    sort_data_t *d = data;
    qry_sort_destroy(d->sort);
    free(d);
}

/* qry__pl_sort_set_limit -- make a $sort a top-k (optimiser). */
void qry__pl_sort_set_limit(pl_stage_t *s, int64_t limit)
{
    ((sort_data_t *)s->data)->limit = limit;
}

/* qry__pl_sort_get_limit -- a $sort's coalesced limit (-1: none). */
int64_t qry__pl_sort_get_limit(const pl_stage_t *s)
{
    return ((const sort_data_t *)s->data)->limit;
}

static int sort_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, 15973, "the $sort key specification must be an object");
    uint32_t len;
    const uint8_t *data;
    bson_iter_document(arg, &len, &data);
    bson_t spec;
    if (!data || !bson_init_static(&spec, data, len) || bson_empty(&spec))
        return status_set(st, 15976, "$sort stage must have at least one sort key");
    sort_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    d->limit = -1;
    s->data = d;
    ST_RET(qry_sort_parse(&spec, &d->sort, st));
    bson_iter_t it;
    bson_iter_init(&it, &spec);
    while (bson_iter_next(&it))
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) /* {$meta: ..} parts read no field */
            qry__pl_add_read(s, bson_iter_key(&it));
    s->shape = PL_PASSTHROUGH;
    return 0;
}

/* One buffered document with its key and arrival number (for stability). */
typedef struct sort_ent {
    bson_t *doc;
    bson_t *key; /* heap: bson_t wants 128-byte alignment */
    uint64_t seq;
} sort_ent_t;

typedef struct sort_iter {
    pl_iter_t base;
    const qry_sort_t *sort;
    int64_t limit;
    bool filled;
    /* in memory */
    sort_ent_t *ents;
    size_t n, cap, pos;
    size_t mem;
    uint64_t seq;
    /* top-k */
    qry_topk_t *topk;
    bson_t **kdocs;
    size_t nk, kpos;
    /* spilled */
    pl_spill_t *spill;
    pl_spill_reader_t **readers;
    bson_t **heads; /* NULL once a run is exhausted */
    size_t nruns;
} sort_iter_t;

static int ent_cmp(const void *a, const void *b, void *arg)
{
    const sort_ent_t *x = a, *y = b;
    int c = qry_sort_compare_keys(arg, x->key, y->key);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void ents_clear(sort_iter_t *s, size_t from)
{
    for (size_t i = from; i < s->n; i++) {
        bson_destroy(s->ents[i].doc);
        bson_destroy(s->ents[i].key);
    }
    s->n = 0;
    s->pos = 0;
    s->mem = 0;
}

static int spill_buffer(sort_iter_t *s, status_t *st)
{
    pl_run_t *run = s->base.run;
    if (!s->spill)
        ST_RET(qry__spill_new(run->ctx->tmp_dir, &s->spill, st));
    qsort_r(s->ents, s->n, sizeof *s->ents, ent_cmp, (void *)s->sort);
    bson_t **docs = malloc((s->n ? s->n : 1) * sizeof *docs);
    INVARIANT(docs != NULL);
    for (size_t i = 0; i < s->n; i++)
        docs[i] = s->ents[i].doc;
    int ret = qry__spill_write_run(s->spill, docs, s->n, st);
    free(docs);
    ents_clear(s, 0);
    if (ret == 0)
        run->spills++;
    return ret;
}

static int fill(sort_iter_t *s, status_t *st)
{
    pl_run_t *run = s->base.run;
    size_t limit = qry__pl_mem_limit(run);
    bool eof;
    for (;;) {
        bson_t d;
        ST_RET(qry__pl_pull(s->base.src, &d, &eof, st));
        if (eof) {
            bson_destroy(&d);
            break;
        }
        if (s->topk) {
            int ret = qry_topk_push(s->topk, &d, st);
            bson_destroy(&d);
            ST_RET(ret);
            continue;
        }
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->ents = realloc(s->ents, s->cap * sizeof *s->ents);
            INVARIANT(s->ents != NULL);
        }
        sort_ent_t *e = &s->ents[s->n];
        bson_t key;
        int ret = qry_sort_key(s->sort, &d, &key, st);
        if (ret != 0) {
            bson_destroy(&key);
            bson_destroy(&d);
            return ret;
        }
        e->key = bson_copy(&key);
        bson_destroy(&key);
        e->doc = bson_copy(&d);
        e->seq = s->seq++;
        bson_destroy(&d);
        s->n++;
        s->mem += qry__pl_doc_mem(e->doc) + qry__pl_doc_mem(e->key) + sizeof *e;
        if (s->mem > limit) {
            if (!run->ctx->allow_disk_use)
                return status_set(st, ERR_QueryExceededMemoryLimitNoDiskUseAllowed,
                                  "Sort exceeded memory limit of %zu bytes, but did not opt in "
                                  "to external sorting.",
                                  limit);
            ST_RET(spill_buffer(s, st));
        }
    }
    if (s->topk) {
        qry_topk_finish(s->topk, &s->kdocs, &s->nk);
        return 0;
    }
    if (s->spill) {
        if (s->n > 0)
            ST_RET(spill_buffer(s, st));
        s->nruns = qry__spill_nruns(s->spill);
        s->readers = calloc(s->nruns ? s->nruns : 1, sizeof *s->readers);
        s->heads = calloc(s->nruns ? s->nruns : 1, sizeof *s->heads);
        INVARIANT(s->readers && s->heads);
        for (size_t i = 0; i < s->nruns; i++) {
            ST_RET(qry__spill_reader(s->spill, i, &s->readers[i], st));
            ST_RET(qry__spill_read(s->readers[i], &s->heads[i], st));
        }
        return 0;
    }
    qsort_r(s->ents, s->n, sizeof *s->ents, ent_cmp, (void *)s->sort);
    return 0;
}

static int sort_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    sort_iter_t *s = (sort_iter_t *)it;
    *eof = false;
    if (!s->filled) {
        s->filled = true;
        int ret = fill(s, st);
        if (ret != 0) {
            bson_init(out);
            *eof = true;
            return ret;
        }
    }
    if (s->kdocs || s->topk) {
        if (s->kpos >= s->nk) {
            bson_init(out);
            *eof = true;
            return 0;
        }
        bson_copy_to(s->kdocs[s->kpos++], out);
        return 0;
    }
    if (s->spill) {
        /* k-way merge; the lowest run index wins ties, which keeps arrival order. */
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < s->nruns; i++) {
            if (!s->heads[i])
                continue;
            if (best == SIZE_MAX || qry_sort_compare(s->sort, s->heads[i], s->heads[best]) < 0)
                best = i;
        }
        if (best == SIZE_MAX) {
            bson_init(out);
            *eof = true;
            return 0;
        }
        bson_copy_to(s->heads[best], out);
        bson_destroy(s->heads[best]);
        int ret = qry__spill_read(s->readers[best], &s->heads[best], st);
        if (ret != 0) {
            bson_destroy(out);
            bson_init(out);
            *eof = true;
        }
        return ret;
    }
    if (s->pos >= s->n) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    sort_ent_t *e = &s->ents[s->pos++];
    bson_copy_to(e->doc, out);
    bson_destroy(e->doc);
    bson_destroy(e->key);
    return 0;
}

static void sort_close(pl_iter_t *it)
{
    sort_iter_t *s = (sort_iter_t *)it;
    qry__pl_iter_close(it->src);
    for (size_t i = s->pos; i < s->n; i++) {
        bson_destroy(s->ents[i].doc);
        bson_destroy(s->ents[i].key);
    }
    free(s->ents);
    qry_topk_destroy(s->topk);
    if (s->kdocs)
        qry_topk_free_docs(s->kdocs, s->nk);
    for (size_t i = 0; i < s->nruns; i++) {
        if (s->heads)
            bson_destroy(s->heads[i]);
        if (s->readers)
            qry__spill_reader_free(s->readers[i]);
    }
    free(s->readers);
    free(s->heads);
    qry__spill_free(s->spill);
    free(s);
}

/*
 * TOPK_MAX -- a coalesced limit up to this many documents uses the bounded
 * heap; a larger one sorts everything (with spilling) and lets $limit cut.
 */
#define TOPK_MAX 100000

/* qry__pl_sort_open -- a sort iterator over src. */
int qry__pl_sort_open(const qry_sort_t *sort, int64_t limit, pl_run_t *run, pl_iter_t *src,
                      pl_iter_t **out, status_t *st)
{
    sort_iter_t *s = calloc(1, sizeof *s);
    INVARIANT(s != NULL);
    qry__pl_iter_init(&s->base, sort_next, sort_close, src, run);
    s->sort = sort;
    s->limit = limit;
    if (limit > 0 && limit <= TOPK_MAX)
        s->topk = qry_topk_new(sort, (size_t)limit);
    *out = &s->base;
    (void)st;
    return 0;
}

static int sort_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                     status_t *st)
{
    const sort_data_t *d = stage->data;
    return qry__pl_sort_open(d->sort, d->limit, run, src, out, st);
}

const pl_stage_ops_t qry__pl_stage_sort = {"$sort", PL_F_BLOCKING, sort_parse, sort_open,
                                           sort_free};
