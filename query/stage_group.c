/*
 * stage_group.c -- $group, and the stages MongoDB defines through it:
 * $sortByCount ($group + $sort {count: -1}) and $bucket ($group on the
 * boundary a value falls in + $sort {_id: 1}).
 *
 * Groups live in a hash table keyed by the _id value (bsonu_hash_value /
 * bsonu_equal_value, so 1, 1.0 and NumberLong(1) are one group). Memory is
 * counted per group; over the limit with allowDiskUse the table is written as
 * a run of {_id, p: [partial states]} sorted by _id and emptied, and at the
 * end the runs are merged by _id, folding equal groups with the
 * accumulators' merge step in run order (so $first/$last stay right).
 * Without allowDiskUse the stage fails with 292, as MongoDB's $group does.
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct group_data group_data_t;
typedef int (*group_id_fn)(const group_data_t *g, pl_run_t *run, const bson_t *doc,
                           bson_value_t *id, status_t *st);

struct group_data {
    qry_expr_t *id;
    pl_accum_spec_t **accs;
    size_t nacc;
    group_id_fn id_fn;     /* NULL: evaluate id; $bucket supplies its own */
    qry_sort_t *post_sort; /* $sortByCount / $bucket: sort the groups afterwards */
    bson_value_t *bounds;  /* $bucket */
    size_t nbounds;
    bool has_default;
    bson_value_t def;
};

static void group_free(void *data)
{
    group_data_t *g = data;
    qry_expr_destroy(g->id);
    for (size_t i = 0; i < g->nacc; i++)
        qry__accum_spec_free(g->accs[i]);
    free(g->accs);
    qry_sort_destroy(g->post_sort);
    for (size_t i = 0; i < g->nbounds; i++)
        bson_value_destroy(&g->bounds[i]);
    free(g->bounds);
    if (g->has_default)
        bson_value_destroy(&g->def);
    free(g);
}

static group_data_t *group_data_new(pl_stage_t *s)
{
    group_data_t *g = calloc(1, sizeof *g);
    INVARIANT(g != NULL);
    s->data = g;
    s->shape = PL_REPLACES;
    return g;
}

/* parse_fields -- the accumulator fields of a $group/$bucket output document. */
static int parse_fields(pl_stage_t *s, group_data_t *g, bson_iter_t *it, bool skip_id, status_t *st)
{
    while (bson_iter_next(it)) {
        const char *k = bson_iter_key(it);
        if (skip_id && strcmp(k, "_id") == 0)
            continue;
        if (strchr(k, '.'))
            return status_set(st, 40235, "The field name '%s' cannot contain '.'", k);
        if (k[0] == '$')
            return status_set(st, 40236, "The field name '%s' cannot be an operator name", k);
        if (!BSON_ITER_HOLDS_DOCUMENT(it))
            return status_set(st, 40234, "The field '%s' must be an accumulator object", k);
        bson_iter_t op;
        bson_iter_recurse(it, &op);
        int n = 0;
        bson_iter_t first;
        while (bson_iter_next(&op)) {
            if (n++ == 0)
                first = op;
        }
        if (n != 1)
            return status_set(st, 40238, "The field '%s' must specify one accumulator", k);
        pl_accum_spec_t *a;
        ST_RET(qry__accum_parse(k, &first, &a, st));
        g->accs = realloc(g->accs, (g->nacc + 1) * sizeof *g->accs);
        INVARIANT(g->accs != NULL);
        g->accs[g->nacc++] = a;
        qry__accum_deps(a, s);
    }
    return 0;
}

static int group_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, 15947, "a group's fields must be specified in an object");
    group_data_t *g = group_data_new(s);
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    bson_iter_t idit;
    if (!bson_iter_find(&it, "_id"))
        return status_set(st, 15955, "a group specification must include an _id");
    idit = it;
    qry_expr_destroy(g->id); /* a repeated field replaces the earlier one */

    g->id = NULL;

    ST_RET(qry__pl_expr(&idit, s, &g->id, st));
    bson_iter_recurse(arg, &it);
    return parse_fields(s, g, &it, true, st);
}

/* ---- runtime ------------------------------------------------------------ */

typedef struct grp {
    bson_value_t id;
    uint64_t hash;
    struct grp *chain; /* hash bucket */
    struct grp *next;  /* insertion order */
    pl_accum_t **accs;
} grp_t;

typedef struct group_iter {
    pl_iter_t base;
    const group_data_t *g;
    grp_t **buckets;
    size_t nbuckets, ngroups;
    grp_t *head, *tail;
    size_t mem;
    bool filled;
    grp_t *cursor;
    /* spilled */
    pl_spill_t *spill;
    pl_spill_reader_t **readers;
    bson_t **heads; /* NULL once a run is exhausted */
    size_t nruns;
} group_iter_t;

static void grp_free(const group_data_t *g, grp_t *e)
{
    bson_value_destroy(&e->id);
    for (size_t i = 0; i < g->nacc; i++)
        qry__accum_free(e->accs[i]);
    free(e->accs);
    free(e);
}

static void table_clear(group_iter_t *gi)
{
    grp_t *e = gi->head;
    while (e) {
        grp_t *n = e->next;
        grp_free(gi->g, e);
        e = n;
    }
    gi->head = gi->tail = NULL;
    memset(gi->buckets, 0, gi->nbuckets * sizeof *gi->buckets);
    gi->ngroups = 0;
    gi->mem = 0;
}

static grp_t *table_get(group_iter_t *gi, const bson_value_t *id, bool *created)
{
    uint64_t h = bsonu_hash_value(id, 0);
    *created = false;
    for (grp_t *e = gi->buckets[h % gi->nbuckets]; e; e = e->chain)
        if (e->hash == h && bsonu_equal_value(&e->id, id))
            return e;
    if (gi->ngroups >= gi->nbuckets) {
        size_t nb = gi->nbuckets * 2;
        grp_t **b = calloc(nb, sizeof *b);
        INVARIANT(b != NULL);
        for (grp_t *e = gi->head; e; e = e->next) {
            e->chain = b[e->hash % nb];
            b[e->hash % nb] = e;
        }
        free(gi->buckets);
        gi->buckets = b;
        gi->nbuckets = nb;
    }
    grp_t *e = calloc(1, sizeof *e);
    INVARIANT(e != NULL);
    bson_value_copy(id, &e->id);
    e->hash = h;
    e->accs = calloc(gi->g->nacc ? gi->g->nacc : 1, sizeof *e->accs);
    INVARIANT(e->accs != NULL);
    for (size_t i = 0; i < gi->g->nacc; i++) {
        e->accs[i] = qry__accum_new(gi->g->accs[i]);
        gi->mem += qry__accum_mem(e->accs[i]);
    }
    e->chain = gi->buckets[h % gi->nbuckets];
    gi->buckets[h % gi->nbuckets] = e;
    if (gi->tail)
        gi->tail->next = e;
    else
        gi->head = e;
    gi->tail = e;
    gi->ngroups++;
    gi->mem += sizeof *e + 64;
    *created = true;
    return e;
}

static int grp_cmp(const void *a, const void *b)
{
    const grp_t *x = *(grp_t *const *)a, *y = *(grp_t *const *)b;
    return bsonu_compare_value(&x->id, &y->id);
}

static int spill_table(group_iter_t *gi, status_t *st)
{
    pl_run_t *run = gi->base.run;
    if (!gi->spill)
        ST_RET(qry__spill_new(run->ctx->tmp_dir, &gi->spill, st));
    grp_t **v = malloc((gi->ngroups ? gi->ngroups : 1) * sizeof *v);
    bson_t **docs = malloc((gi->ngroups ? gi->ngroups : 1) * sizeof *docs);
    INVARIANT(v && docs);
    size_t n = 0;
    for (grp_t *e = gi->head; e; e = e->next)
        v[n++] = e;
    /* mergesort keeps equal ids (1 and 1.0 never both exist here) deterministic */
    qsort(v, n, sizeof *v, grp_cmp);
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        docs[i] = bson_new();
        BSON_APPEND_VALUE(docs[i], "_id", &v[i]->id);
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(docs[i], "p", &arr);
        for (size_t k = 0; k < gi->g->nacc; k++) {
            char key[16];
            const char *kp;
            bson_uint32_to_string((uint32_t)k, &kp, key, sizeof key);
            qry__accum_partial(v[i]->accs[k], &arr, kp, st);
        }
        bson_append_array_end(docs[i], &arr);
    }
    ret = qry__spill_write_run(gi->spill, docs, n, st);
    for (size_t i = 0; i < n; i++)
        bson_destroy(docs[i]);
    free(docs);
    free(v);
    table_clear(gi);
    if (ret == 0)
        run->spills++;
    return ret;
}

static int eval_id(const group_data_t *g, pl_run_t *run, const bson_t *doc, bson_value_t *id,
                   status_t *st)
{
    if (g->id_fn)
        return g->id_fn(g, run, doc, id, st);
    ST_RET(qry_expr_eval(g->id, run->ex, doc, id, st));
    if (id->value_type == BSON_TYPE_EOD)
        id->value_type = BSON_TYPE_NULL; /* a missing _id groups as null */
    return 0;
}

static int group_fill(group_iter_t *gi, status_t *st)
{
    pl_run_t *run = gi->base.run;
    const group_data_t *g = gi->g;
    size_t limit = qry__pl_mem_limit(run);
    for (;;) {
        bson_t d;
        bool eof;
        ST_RET(qry__pl_pull(gi->base.src, &d, &eof, st));
        if (eof) {
            bson_destroy(&d);
            break;
        }
        uint64_t mark = qry_expr_ctx_mark(run->ex);
        bson_value_t id;
        int ret = eval_id(g, run, &d, &id, st);
        if (ret == 0) {
            bool created;
            grp_t *e = table_get(gi, &id, &created);
            for (size_t i = 0; i < g->nacc && ret == 0; i++) {
                size_t before = qry__accum_mem(e->accs[i]);
                ret = qry__accum_add(e->accs[i], &d, run, st);
                size_t after = qry__accum_mem(e->accs[i]);
                gi->mem += after - before;
            }
        }
        qry_expr_ctx_release(run->ex, mark);
        bson_destroy(&d);
        ST_RET(ret);
        if (gi->mem > limit) {
            if (!run->ctx->allow_disk_use)
                return status_set(st, ERR_QueryExceededMemoryLimitNoDiskUseAllowed,
                                  "Exceeded memory limit for $group, but didn't allow external "
                                  "sort. Pass allowDiskUse:true to opt in.");
            ST_RET(spill_table(gi, st));
        }
    }
    if (gi->spill) {
        if (gi->ngroups > 0)
            ST_RET(spill_table(gi, st));
        gi->nruns = qry__spill_nruns(gi->spill);
        size_t n = gi->nruns ? gi->nruns : 1;
        gi->readers = calloc(n, sizeof *gi->readers);
        gi->heads = calloc(n, sizeof *gi->heads);
        INVARIANT(gi->readers && gi->heads);
        for (size_t i = 0; i < gi->nruns; i++) {
            ST_RET(qry__spill_reader(gi->spill, i, &gi->readers[i], st));
            ST_RET(qry__spill_read(gi->readers[i], &gi->heads[i], st));
        }
    }
    gi->cursor = gi->head;
    return 0;
}

static void emit_group(const group_data_t *g, const bson_value_t *id, pl_accum_t **accs,
                       bson_t *out, status_t *st)
{
    bson_init(out);
    BSON_APPEND_VALUE(out, "_id", id);
    for (size_t i = 0; i < g->nacc; i++)
        qry__accum_final(accs[i], out, qry__accum_field(g->accs[i]), st);
}

static int merge_next(group_iter_t *gi, bson_t *out, bool *eof, status_t *st)
{
    const group_data_t *g = gi->g;
    size_t best = SIZE_MAX;
    bson_iter_t bi, ci;
    for (size_t i = 0; i < gi->nruns; i++) {
        if (!gi->heads[i])
            continue;
        if (best == SIZE_MAX) {
            best = i;
            continue;
        }
        bson_iter_init_find(&bi, gi->heads[best], "_id");
        bson_iter_init_find(&ci, gi->heads[i], "_id");
        if (bsonu_compare_iter(&ci, &bi) < 0)
            best = i;
    }
    if (best == SIZE_MAX) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    bson_value_t id;
    bson_iter_init_find(&bi, gi->heads[best], "_id");
    bson_value_copy(bson_iter_value(&bi), &id);
    pl_accum_t **accs = calloc(g->nacc ? g->nacc : 1, sizeof *accs);
    INVARIANT(accs != NULL);
    for (size_t k = 0; k < g->nacc; k++)
        accs[k] = qry__accum_new(g->accs[k]);
    int ret = 0;
    /* Fold every run whose head has this _id, in run order (= input order). */
    for (size_t i = 0; i < gi->nruns && ret == 0; i++) {
        if (!gi->heads[i])
            continue;
        bson_iter_init_find(&ci, gi->heads[i], "_id");
        if (bsonu_compare_value(bson_iter_value(&ci), &id) != 0)
            continue;
        bson_iter_t p, pe;
        if (bson_iter_init_find(&p, gi->heads[i], "p") && bson_iter_recurse(&p, &pe)) {
            for (size_t k = 0; k < g->nacc && bson_iter_next(&pe) && ret == 0; k++)
                ret = qry__accum_merge(accs[k], bson_iter_value(&pe), st);
        }
        bson_destroy(gi->heads[i]);
        int r = qry__spill_read(gi->readers[i], &gi->heads[i], st);
        if (r != 0 && ret == 0)
            ret = r;
    }
    if (ret == 0)
        emit_group(g, &id, accs, out, st);
    else
        bson_init(out);
    for (size_t k = 0; k < g->nacc; k++)
        qry__accum_free(accs[k]);
    free(accs);
    bson_value_destroy(&id);
    *eof = ret != 0;
    return ret;
}

static int group_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    group_iter_t *gi = (group_iter_t *)it;
    *eof = false;
    if (!gi->filled) {
        gi->filled = true;
        int ret = group_fill(gi, st);
        if (ret != 0) {
            bson_init(out);
            *eof = true;
            return ret;
        }
    }
    if (gi->spill)
        return merge_next(gi, out, eof, st);
    if (!gi->cursor) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    grp_t *e = gi->cursor;
    gi->cursor = e->next;
    emit_group(gi->g, &e->id, e->accs, out, st);
    return 0;
}

static void group_close(pl_iter_t *it)
{
    group_iter_t *gi = (group_iter_t *)it;
    qry__pl_iter_close(it->src);
    table_clear(gi);
    free(gi->buckets);
    for (size_t i = 0; i < gi->nruns; i++) {
        bson_destroy(gi->heads[i]);
        qry__spill_reader_free(gi->readers[i]);
    }
    free(gi->readers);
    free(gi->heads);
    qry__spill_free(gi->spill);
    free(gi);
}

static int group_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    const group_data_t *g = stage->data;
    group_iter_t *gi = calloc(1, sizeof *gi);
    INVARIANT(gi != NULL);
    qry__pl_iter_init(&gi->base, group_next, group_close, src, run);
    gi->g = g;
    gi->nbuckets = 64;
    gi->buckets = calloc(gi->nbuckets, sizeof *gi->buckets);
    INVARIANT(gi->buckets != NULL);
    if (!g->post_sort) {
        *out = &gi->base;
        return 0;
    }
    return qry__pl_sort_open(g->post_sort, -1, run, &gi->base, out, st);
}

const pl_stage_ops_t qry__pl_stage_group = {"$group", PL_F_BLOCKING | PL_F_MERGER, group_parse,
                                            group_open, group_free};

/* ---- $sortByCount --------------------------------------------------------- */

static int sortbycount_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    const bson_value_t *v = bson_iter_value((bson_iter_t *)arg);
    bool ok = (v->value_type == BSON_TYPE_UTF8 && v->value.v_utf8.str[0] == '$');
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_t it;
        bson_iter_recurse(arg, &it);
        ok = bson_iter_next(&it) && bson_iter_key(&it)[0] == '$';
    }
    if (!ok)
        return status_set(st, 40148,
                          "the sortByCount field must be defined as a $-prefixed "
                          "path or an expression");
    group_data_t *g = group_data_new(s);
    ST_RET(qry__pl_expr(arg, s, &g->id, st));
    bson_t acc;
    bson_init(&acc);
    BSON_APPEND_INT32(&acc, "$sum", 1);
    bson_iter_t ai;
    bson_iter_init(&ai, &acc);
    bson_iter_next(&ai);
    g->accs = calloc(1, sizeof *g->accs);
    INVARIANT(g->accs != NULL);
    int ret = qry__accum_parse("count", &ai, &g->accs[0], st);
    bson_destroy(&acc);
    ST_RET(ret);
    g->nacc = 1;
    bson_t sort;
    bson_init(&sort);
    BSON_APPEND_INT32(&sort, "count", -1);
    ret = qry_sort_parse(&sort, &g->post_sort, st);
    bson_destroy(&sort);
    return ret;
}

const pl_stage_ops_t qry__pl_stage_sortbycount = {"$sortByCount", PL_F_BLOCKING | PL_F_MERGER,
                                                  sortbycount_parse, group_open, group_free};

/* ---- $bucket -------------------------------------------------------------- */

/* bucket_id -- the lower boundary of the bucket v falls in, or the default. */
static int bucket_id(const group_data_t *g, pl_run_t *run, const bson_t *doc, bson_value_t *id,
                     status_t *st)
{
    bson_value_t v;
    ST_RET(qry_expr_eval(g->id, run->ex, doc, &v, st));
    if (v.value_type == BSON_TYPE_EOD)
        v.value_type = BSON_TYPE_NULL;
    if (bsonu_canonical_type(v.value_type) == bsonu_canonical_type(g->bounds[0].value_type) &&
        bsonu_compare_value(&v, &g->bounds[0]) >= 0 &&
        bsonu_compare_value(&v, &g->bounds[g->nbounds - 1]) < 0) {
        size_t lo = 0, hi = g->nbounds - 1; /* bounds[lo] <= v < bounds[hi] */
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (bsonu_compare_value(&v, &g->bounds[mid]) >= 0)
                lo = mid;
            else
                hi = mid;
        }
        *id = g->bounds[lo];
        return 0;
    }
    if (!g->has_default)
        return status_set(st, 40066,
                          "$switch could not find a matching branch for an input, and no "
                          "default was specified.");
    *id = g->def;
    return 0;
}

static int bucket_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, 40201,
                          "Argument to $bucket stage must be an object, but found "
                          "type: %s.",
                          "non-object");
    group_data_t *g = group_data_new(s);
    g->id_fn = bucket_id;
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    bool have_group = false, have_bounds = false, have_output = false;
    bson_iter_t output;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "groupBy") == 0) {
            const bson_value_t *v = bson_iter_value(&it);
            bool ok = (v->value_type == BSON_TYPE_UTF8 && v->value.v_utf8.str[0] == '$') ||
                      v->value_type == BSON_TYPE_DOCUMENT;
            if (!ok)
                return status_set(st, 40202,
                                  "The $bucket 'groupBy' field must be defined as a "
                                  "$-prefixed path or an expression, but found: %s.",
                                  "a constant");
            qry_expr_destroy(g->id); /* a repeated field replaces the earlier one */

            g->id = NULL;

            ST_RET(qry__pl_expr(&it, s, &g->id, st));
            have_group = true;
        } else if (strcmp(k, "boundaries") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return status_set(st, 40200,
                                  "The $bucket 'boundaries' field must be an array, "
                                  "but found type: %s.",
                                  "non-array");
            for (size_t i = 0; i < g->nbounds; i++)
                bson_value_destroy(&g->bounds[i]);
            g->nbounds = 0;
            bson_iter_t b;
            bson_iter_recurse(&it, &b);
            while (bson_iter_next(&b)) {
                const bson_value_t *bv = bson_iter_value(&b);
                if (g->nbounds > 0) {
                    const bson_value_t *prev = &g->bounds[g->nbounds - 1];
                    if (bsonu_canonical_type(prev->value_type) !=
                        bsonu_canonical_type(bv->value_type))
                        return status_set(st, 40193,
                                          "All values in the the 'boundaries' option "
                                          "to $bucket must have the same type.");
                    if (bsonu_compare_value(prev, bv) >= 0)
                        return status_set(st, 40194,
                                          "The 'boundaries' option to $bucket must be "
                                          "sorted in ascending order");
                }
                g->bounds = realloc(g->bounds, (g->nbounds + 1) * sizeof *g->bounds);
                INVARIANT(g->bounds != NULL);
                bson_value_copy(bv, &g->bounds[g->nbounds++]);
            }
            if (g->nbounds < 2)
                return status_set(st, 40192,
                                  "The $bucket 'boundaries' field must have at least "
                                  "2 values, but found %zu value(s).",
                                  g->nbounds);
            have_bounds = true;
        } else if (strcmp(k, "default") == 0) {
            if (g->has_default)
                bson_value_destroy(&g->def);
            bson_value_copy(bson_iter_value(&it), &g->def);
            g->has_default = true;
        } else if (strcmp(k, "output") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, 40196,
                                  "The $bucket 'output' field must be an object, but "
                                  "found type: %s.",
                                  "non-object");
            output = it;
            have_output = true;
        } else {
            return status_set(st, 40197, "Unrecognized option to $bucket: %s.", k);
        }
    }
    if (!have_group || !have_bounds)
        return status_set(st, 40198,
                          "$bucket requires 'groupBy' and 'boundaries' to be specified.");
    if (g->has_default &&
        bsonu_canonical_type(g->def.value_type) == bsonu_canonical_type(g->bounds[0].value_type) &&
        bsonu_compare_value(&g->def, &g->bounds[0]) >= 0 &&
        bsonu_compare_value(&g->def, &g->bounds[g->nbounds - 1]) < 0)
        return status_set(st, 40199,
                          "The $bucket 'default' field must be less than the lowest "
                          "boundary or greater than or equal to the highest boundary.");
    if (have_output) {
        bson_iter_t o;
        bson_iter_recurse(&output, &o);
        ST_RET(parse_fields(s, g, &o, false, st));
    } else {
        bson_t acc;
        bson_init(&acc);
        BSON_APPEND_INT32(&acc, "$sum", 1);
        bson_iter_t ai;
        bson_iter_init(&ai, &acc);
        bson_iter_next(&ai);
        g->accs = calloc(1, sizeof *g->accs);
        INVARIANT(g->accs != NULL);
        int ret = qry__accum_parse("count", &ai, &g->accs[0], st);
        bson_destroy(&acc);
        ST_RET(ret);
        g->nacc = 1;
    }
    bson_t sort;
    bson_init(&sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    int ret = qry_sort_parse(&sort, &g->post_sort, st);
    bson_destroy(&sort);
    return ret;
}

const pl_stage_ops_t qry__pl_stage_bucket = {"$bucket", PL_F_BLOCKING | PL_F_MERGER, bucket_parse,
                                             group_open, group_free};
