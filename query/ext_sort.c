/*
 * ext_sort.c -- an external sort of (key, payload) pairs for callers outside
 * the pipeline: find's blocking SORT with allowDiskUse. It is the same
 * machinery as $sort (stage_sort.c): entries are held in memory until they
 * pass the memory limit, then sorted and written as one run of the spill file
 * (spill.c), and the runs are merged at the end. Each run is a stretch of
 * arrival order sorted stably, and the merge takes the lowest run on ties, so
 * equal keys keep arrival order across runs too.
 *
 * A run's records are {k: key, p: payload}; the key is the one qry_sort_key
 * made, so the merge compares keys without recomputing them.
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct xs_ent {
    bson_t *rec; /* {k, p} */
    uint64_t seq;
} xs_ent_t;

struct qry_ext_sort {
    const qry_sort_t *sort;
    size_t mem_limit;
    char *tmp_dir;
    xs_ent_t *ents;
    size_t n, cap, pos;
    size_t mem;
    uint64_t seq;
    bool finished;
    pl_spill_t *spill;
    pl_spill_reader_t **readers;
    bson_t **heads; /* NULL once a run is exhausted */
    size_t nruns;
};

/* rec_key -- the key of a {k, p} record (a view into rec). */
static void rec_part(const bson_t *rec, const char *name, bson_t *out)
{
    bson_iter_t it;
    uint32_t len = 0;
    const uint8_t *data = NULL;
    if (bson_iter_init_find(&it, rec, name) && BSON_ITER_HOLDS_DOCUMENT(&it))
        bson_iter_document(&it, &len, &data);
    if (data == NULL || !bson_init_static(out, data, len))
        bson_init(out);
}

static int rec_cmp(const qry_sort_t *sort, const bson_t *a, const bson_t *b)
{
    bson_t ka, kb;
    rec_part(a, "k", &ka);
    rec_part(b, "k", &kb);
    return qry_sort_compare_keys(sort, &ka, &kb);
}

static int ent_cmp(const void *a, const void *b, void *arg)
{
    const xs_ent_t *x = a, *y = b;
    int c = rec_cmp(arg, x->rec, y->rec);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* qry_ext_sort_new -- an empty sorter; sort is borrowed. */
qry_ext_sort_t *qry_ext_sort_new(const qry_sort_t *sort, size_t mem_limit, const char *tmp_dir)
{
    qry_ext_sort_t *x = calloc(1, sizeof(*x));
    INVARIANT(x != NULL);
    x->sort = sort;
    x->mem_limit = mem_limit;
    x->tmp_dir = tmp_dir ? strdup(tmp_dir) : NULL;
    return x;
}

/* spill_buffer -- sort what is held and write it as one run. */
static int spill_buffer(qry_ext_sort_t *x, status_t *st)
{
    if (x->spill == NULL)
        ST_RET(qry__spill_new(x->tmp_dir, &x->spill, st));
    qsort_r(x->ents, x->n, sizeof(*x->ents), ent_cmp, (void *)x->sort);
    bson_t **recs = malloc((x->n ? x->n : 1) * sizeof(*recs));
    INVARIANT(recs != NULL);
    for (size_t i = 0; i < x->n; i++)
        recs[i] = x->ents[i].rec;
    int ret = qry__spill_write_run(x->spill, recs, x->n, st);
    free(recs);
    for (size_t i = 0; i < x->n; i++)
        bson_destroy(x->ents[i].rec);
    x->n = 0;
    x->mem = 0;
    return ret;
}

/* qry_ext_sort_add -- hold (key, payload), copies; spills a run past the memory limit. */
int qry_ext_sort_add(qry_ext_sort_t *x, const bson_t *key, const bson_t *payload, status_t *st)
{
    INVARIANT(!x->finished);
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->ents = realloc(x->ents, x->cap * sizeof(*x->ents));
        INVARIANT(x->ents != NULL);
    }
    xs_ent_t *e = &x->ents[x->n++];
    e->rec = bson_new();
    BSON_APPEND_DOCUMENT(e->rec, "k", key);
    BSON_APPEND_DOCUMENT(e->rec, "p", payload);
    e->seq = x->seq++;
    x->mem += qry__pl_doc_mem(e->rec) + sizeof(*e);
    if (x->mem > x->mem_limit)
        ST_RET(spill_buffer(x, st));
    return 0;
}

/* qry_ext_sort_finish -- no more input: sort what is held, or open the merge. */
int qry_ext_sort_finish(qry_ext_sort_t *x, status_t *st)
{
    x->finished = true;
    if (x->spill == NULL) {
        qsort_r(x->ents, x->n, sizeof(*x->ents), ent_cmp, (void *)x->sort);
        return 0;
    }
    if (x->n > 0)
        ST_RET(spill_buffer(x, st));
    x->nruns = qry__spill_nruns(x->spill);
    x->readers = calloc(x->nruns ? x->nruns : 1, sizeof(*x->readers));
    x->heads = calloc(x->nruns ? x->nruns : 1, sizeof(*x->heads));
    INVARIANT(x->readers && x->heads);
    for (size_t i = 0; i < x->nruns; i++) {
        ST_RET(qry__spill_reader(x->spill, i, &x->readers[i], st));
        ST_RET(qry__spill_read(x->readers[i], &x->heads[i], st));
    }
    return 0;
}

/* qry_ext_sort_next -- the next payload in key order (initialised in every case). */
int qry_ext_sort_next(qry_ext_sort_t *x, bson_t *payload, bool *eof, status_t *st)
{
    bson_t p;
    *eof = false;
    INVARIANT(x->finished);
    if (x->spill == NULL) {
        if (x->pos >= x->n) {
            bson_init(payload);
            *eof = true;
            return 0;
        }
        bson_t *rec = x->ents[x->pos].rec;
        x->ents[x->pos++].rec = NULL;
        rec_part(rec, "p", &p);
        bson_copy_to(&p, payload);
        bson_destroy(rec);
        return 0;
    }
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < x->nruns; i++) {
        if (x->heads[i] == NULL)
            continue;
        if (best == SIZE_MAX || rec_cmp(x->sort, x->heads[i], x->heads[best]) < 0)
            best = i;
    }
    if (best == SIZE_MAX) {
        bson_init(payload);
        *eof = true;
        return 0;
    }
    rec_part(x->heads[best], "p", &p);
    bson_copy_to(&p, payload);
    bson_destroy(x->heads[best]);
    x->heads[best] = NULL;
    int ret = qry__spill_read(x->readers[best], &x->heads[best], st);
    if (ret != 0) {
        bson_destroy(payload);
        bson_init(payload);
        *eof = true;
    }
    return ret;
}

/* qry_ext_sort_runs -- runs written to disk so far (0: it fitted in memory). */
uint64_t qry_ext_sort_runs(const qry_ext_sort_t *x)
{
    return x->spill ? qry__spill_nruns(x->spill) : 0;
}

/* qry_ext_sort_destroy -- free everything, remove the spill file; NULL-safe. */
void qry_ext_sort_destroy(qry_ext_sort_t *x)
{
    if (x == NULL)
        return;
    for (size_t i = x->pos; i < x->n; i++)
        bson_destroy(x->ents[i].rec);
    free(x->ents);
    for (size_t i = 0; i < x->nruns; i++) {
        if (x->heads)
            bson_destroy(x->heads[i]);
        if (x->readers)
            qry__spill_reader_free(x->readers[i]);
    }
    free(x->heads);
    free(x->readers);
    qry__spill_free(x->spill);
    free(x->tmp_dir);
    free(x);
}
