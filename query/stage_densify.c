/*
 * stage_densify.c -- $densify: fill gaps in a numeric sequence.
 *
 * {field, partitionByFields, range: {step, bounds}}: within each partition
 * (the values of partitionByFields), documents are ordered by `field` and
 * documents {field: v, <partition fields>} are generated for every
 * v = start + k * step that no document has, where the range is [lo, hi)
 * for explicit bounds, the minimum to the maximum over all documents for
 * "full", and over the partition's own documents for "partition". Existing
 * documents pass unchanged; documents whose field is null or missing come
 * out first, as MongoDB's sort puts them. With `unit` the field holds dates
 * and the steps are time units (pipeline_time.c); each generated value is
 * start + k * step units, so calendar steps do not drift.
 */
#include "query/pipeline_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum dbounds { DB_FULL, DB_PARTITION, DB_EXPLICIT } dbounds_t;

typedef struct densify_data {
    char *field;
    char **parts;
    size_t nparts;
    double step;
    dbounds_t bounds;
    double lo, hi; /* explicit bounds (dates as milliseconds) */
    qry__pl_unit_t unit;
} densify_data_t;

static void densify_free(void *data)
{
    densify_data_t *d = data;
    free(d->field);
    for (size_t i = 0; i < d->nparts; i++)
        free(d->parts[i]);
    free(d->parts);
    free(d);
}

static int densify_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    densify_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    s->data = d;
    s->shape = PL_MODIFIES;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, ERR_FailedToParse,
                          "the $densify stage specification must be an "
                          "object");
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    bool have_range = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "field") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it) || bson_iter_utf8(&it, NULL)[0] == '$' ||
                bson_iter_utf8(&it, NULL)[0] == '\0')
                return status_set(st, ERR_FailedToParse,
                                  "$densify 'field' must be a non-empty field name");
            free(d->field);
            d->field = strdup(bson_iter_utf8(&it, NULL));
        } else if (strcmp(k, "partitionByFields") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field "
                                  "'$densify.partitionByFields' is the "
                                  "wrong type, expected type 'array'");
            bson_iter_t f;
            bson_iter_recurse(&it, &f);
            while (bson_iter_next(&f)) {
                if (!BSON_ITER_HOLDS_UTF8(&f))
                    return status_set(st, ERR_TypeMismatch,
                                      "$densify partitionByFields must be strings");
                d->parts = realloc(d->parts, (d->nparts + 1) * sizeof *d->parts);
                INVARIANT(d->parts != NULL);
                d->parts[d->nparts++] = strdup(bson_iter_utf8(&f, NULL));
            }
        } else if (strcmp(k, "range") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field '$densify.range' is the "
                                  "wrong type, expected type 'object'");
            bson_iter_t r;
            bson_iter_recurse(&it, &r);
            bool have_step = false, have_bounds = false;
            while (bson_iter_next(&r)) {
                const char *rk = bson_iter_key(&r);
                if (strcmp(rk, "step") == 0) {
                    if (!bsonu_number_as_double(bson_iter_value(&r), &d->step) || !(d->step > 0) ||
                        isinf(d->step))
                        return status_set(st, 5733401,
                                          "the step parameter in a range statement must be a "
                                          "strictly positive numeric value");
                    have_step = true;
                } else if (strcmp(rk, "unit") == 0) {
                    ST_RET(qry__pl_unit_parse(&r, true, &d->unit, st));
                } else if (strcmp(rk, "bounds") == 0) {
                    have_bounds = true;
                    if (BSON_ITER_HOLDS_UTF8(&r)) {
                        const char *b = bson_iter_utf8(&r, NULL);
                        if (strcmp(b, "full") == 0)
                            d->bounds = DB_FULL;
                        else if (strcmp(b, "partition") == 0)
                            d->bounds = DB_PARTITION;
                        else
                            return status_set(st, 5946802,
                                              "Bounds string must either be 'full' or "
                                              "'partition'");
                    } else if (BSON_ITER_HOLDS_ARRAY(&r)) {
                        bson_iter_t b;
                        bson_iter_recurse(&r, &b);
                        int n = 0;
                        while (bson_iter_next(&b)) {
                            double x;
                            if (BSON_ITER_HOLDS_DATE_TIME(&b))
                                x = (double)bson_iter_date_time(&b);
                            else if (!bsonu_number_as_double(bson_iter_value(&b), &x))
                                return status_set(st, 5733402,
                                                  "a bounding array in a range statement must "
                                                  "contain two numeric or two date values");
                            if (n == 0)
                                d->lo = x;
                            else
                                d->hi = x;
                            n++;
                        }
                        if (n != 2)
                            return status_set(st, 5733403,
                                              "a bounding array in a range statement must have "
                                              "exactly two elements");
                        if (d->lo > d->hi)
                            return status_set(st, 5733406,
                                              "the first element of the bounding array must be "
                                              "less than or equal to the second");
                        d->bounds = DB_EXPLICIT;
                    } else {
                        return status_set(st, 5946802,
                                          "the bounds must be 'full', 'partition' "
                                          "or an array");
                    }
                } else {
                    return status_set(st, 40415,
                                      "BSON field '$densify.range.%s' is an unknown "
                                      "field.",
                                      rk);
                }
            }
            if (!have_step || !have_bounds)
                return status_set(st, 40414, "$densify range requires 'step' and 'bounds'");
            have_range = true;
        } else {
            return status_set(st, 40415, "BSON field '$densify.%s' is an unknown field.", k);
        }
    }
    if (!d->field || !have_range)
        return status_set(st, 40414, "$densify requires 'field' and 'range'");
    if (d->unit != QRY__PL_UNIT_NONE && d->step != floor(d->step))
        return status_set(st, 5733402, "the step parameter must be an integer with a 'unit'");
    if (d->bounds == DB_PARTITION && d->nparts == 0)
        return status_set(st, 5733408,
                          "one may not specify the bounds as 'partition' without "
                          "specifying a non-empty array of partitionByFields");
    for (size_t i = 0; i < d->nparts; i++)
        if (qry__pl_paths_overlap(d->parts[i], d->field))
            return status_set(st, 8993000,
                              "$densify field may not be a partitionByFields "
                              "field");
    qry__pl_add_read(s, d->field);
    qry__pl_add_write(s, d->field);
    for (size_t i = 0; i < d->nparts; i++)
        qry__pl_add_read(s, d->parts[i]);
    return 0;
}

/* One buffered document: its partition key, its value (NaN when null/missing/not numeric). */
typedef struct dent {
    bson_t *doc;
    bson_t *part; /* {"": v1, "": v2} */
    bool has_value;
    double v;
    size_t seq;
} dent_t;

static int dent_cmp(const void *a, const void *b)
{
    const dent_t *x = a, *y = b;
    int c = bsonu_compare_doc(x->part, y->part);
    if (c)
        return c;
    if (x->has_value != y->has_value)
        return x->has_value ? 1 : -1; /* null/missing first */
    if (x->has_value && x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct densify_iter {
    pl_iter_t base;
    const densify_data_t *d;
    dent_t *ents;
    size_t n, pos;
    bool filled;
    double gmin, gmax;
    bool gany;
    /* generation state for the partition being emitted */
    size_t ps, pe;
    double next;  /* next value to generate */
    double start; /* next = start + k * step (in units for dates) */
    int64_t k;
    double end; /* generate values < end (explicit/partition) or <= end (full) */
    bool in_part;
} densify_iter_t;

static int densify_fill(densify_iter_t *di, status_t *st)
{
    const densify_data_t *d = di->d;
    size_t cap = 0, mem = 0, limit = qry__pl_mem_limit(di->base.run);
    for (;;) {
        bson_t doc;
        bool eof;
        ST_RET(qry__pl_pull(di->base.src, &doc, &eof, st));
        if (eof) {
            bson_destroy(&doc);
            break;
        }
        if (di->n == cap) {
            cap = cap ? cap * 2 : 64;
            di->ents = realloc(di->ents, cap * sizeof *di->ents);
            INVARIANT(di->ents != NULL);
        }
        dent_t *e = &di->ents[di->n];
        memset(e, 0, sizeof *e);
        e->doc = bson_copy(&doc);
        bson_destroy(&doc);
        e->seq = di->n++;
        e->part = bson_new();
        for (size_t i = 0; i < d->nparts; i++) {
            bson_value_t v;
            if (qry__pl_path_get(e->doc, d->parts[i], &v))
                BSON_APPEND_VALUE(e->part, "", &v);
            else
                BSON_APPEND_NULL(e->part, "");
        }
        bson_value_t v;
        bool found = qry__pl_path_get(e->doc, d->field, &v);
        if (found && d->unit != QRY__PL_UNIT_NONE && v.value_type == BSON_TYPE_DATE_TIME) {
            e->v = (double)v.value.v_datetime;
            e->has_value = true;
            if (!di->gany || e->v < di->gmin)
                di->gmin = e->v;
            if (!di->gany || e->v > di->gmax)
                di->gmax = e->v;
            di->gany = true;
        } else if (found && d->unit != QRY__PL_UNIT_NONE && v.value_type != BSON_TYPE_NULL &&
                   v.value_type != BSON_TYPE_UNDEFINED) {
            return status_set(st, 6053600, "Densify field with a 'unit' must hold dates");
        } else if (found && bsonu_is_number(v.value_type)) {
            if (v.value_type == BSON_TYPE_DECIMAL128)
                return status_set(st, ERR_NotImplemented,
                                  "$densify over decimals is not "
                                  "supported yet");
            bsonu_number_as_double(&v, &e->v);
            e->has_value = true;
            if (!di->gany || e->v < di->gmin)
                di->gmin = e->v;
            if (!di->gany || e->v > di->gmax)
                di->gmax = e->v;
            di->gany = true;
        } else if (found && v.value_type != BSON_TYPE_NULL && v.value_type != BSON_TYPE_UNDEFINED) {
            return status_set(st, 5733201, "Densify field type must be numeric or a date");
        }
        mem += qry__pl_doc_mem(e->doc) + qry__pl_doc_mem(e->part);
        if (mem > limit)
            return status_set(st, ERR_QueryExceededMemoryLimitNoDiskUseAllowed,
                              "$densify exceeded memory limit of %zu bytes", limit);
    }
    if (di->n > 1)
        qsort(di->ents, di->n, sizeof *di->ents, dent_cmp);
    return 0;
}

/* start_partition -- set up generation for the partition starting at ps. */
static void start_partition(densify_iter_t *di, size_t ps)
{
    const densify_data_t *d = di->d;
    size_t pe = ps + 1;
    while (pe < di->n && bsonu_compare_doc(di->ents[pe].part, di->ents[ps].part) == 0)
        pe++;
    di->ps = ps;
    di->pe = pe;
    di->in_part = true;
    di->k = 0;
    if (d->bounds == DB_EXPLICIT) {
        di->next = d->lo;
        di->end = d->hi;
    } else if (d->bounds == DB_FULL) {
        di->next = di->gmin;
        di->end = di->gany ? di->gmax : di->gmin;
    } else {
        bool any = false;
        double mn = 0, mx = 0;
        for (size_t j = ps; j < pe; j++) {
            if (!di->ents[j].has_value)
                continue;
            if (!any || di->ents[j].v < mn)
                mn = di->ents[j].v;
            if (!any || di->ents[j].v > mx)
                mx = di->ents[j].v;
            any = true;
        }
        di->next = mn;
        di->end = any ? mx : mn;
    }
    di->start = di->next;
}

/* advance -- the next step value. */
static void advance(densify_iter_t *di)
{
    const densify_data_t *d = di->d;
    di->k++;
    if (d->unit == QRY__PL_UNIT_NONE)
        di->next = di->start + (double)di->k * d->step;
    else
        di->next = qry__pl_date_shift((int64_t)di->start, d->unit, (double)di->k * d->step);
}

/* generated -- {field: v, partition fields...} */
static void generated(densify_iter_t *di, double v, bson_t *out)
{
    const densify_data_t *d = di->d;
    bson_t cur, next;
    bson_init(&cur);
    /* whole steps keep an integer type when the value is integral */
    bson_value_t fv;
    if (d->unit != QRY__PL_UNIT_NONE) {
        fv.value_type = BSON_TYPE_DATE_TIME;
        fv.value.v_datetime = (int64_t)v;
    } else if (v == floor(v) && fabs(v) < 2147483647.0) {
        fv.value_type = BSON_TYPE_INT32;
        fv.value.v_int32 = (int32_t)v;
    } else {
        fv.value_type = BSON_TYPE_DOUBLE;
        fv.value.v_double = v;
    }
    qry__pl_set_path(NULL, d->field, &fv, &next);
    bson_concat(&cur, &next);
    bson_destroy(&next);
    bson_iter_t pi;
    bson_iter_init(&pi, di->ents[di->ps].part);
    for (size_t i = 0; i < d->nparts && bson_iter_next(&pi); i++) {
        if (bson_iter_type(&pi) == BSON_TYPE_NULL)
            continue;
        qry__pl_set_path(&cur, d->parts[i], bson_iter_value(&pi), &next);
        bson_destroy(&cur);
        bson_copy_to(&next, &cur);
        bson_destroy(&next);
    }
    bson_copy_to(&cur, out);
    bson_destroy(&cur);
}

static int densify_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    densify_iter_t *di = (densify_iter_t *)it;
    const densify_data_t *d = di->d;
    *eof = false;
    if (!di->filled) {
        di->filled = true;
        int ret = densify_fill(di, st);
        if (ret != 0) {
            *eof = true;
            return ret;
        }
    }
    for (;;) {
        if (di->pos >= di->n && !di->in_part) {
            *eof = true;
            return 0;
        }
        if (!di->in_part)
            start_partition(di, di->pos);
        bool inclusive_end = d->bounds != DB_EXPLICIT;
        bool gen_left = inclusive_end ? di->next <= di->end : di->next < di->end;
        if (di->pos < di->pe) {
            dent_t *e = &di->ents[di->pos];
            /* documents below the next step, or without a value, pass first */
            if (!e->has_value || !gen_left || e->v <= di->next) {
                if (e->has_value && gen_left && e->v == di->next)
                    advance(di); /* this step exists */
                bson_copy_to(e->doc, out);
                di->pos++;
                return 0;
            }
            /* e->v > next: generate next first */
            generated(di, di->next, out);
            advance(di);
            return 0;
        }
        if (gen_left) {
            generated(di, di->next, out);
            advance(di);
            return 0;
        }
        di->in_part = false;
    }
}

static void densify_close(pl_iter_t *it)
{
    densify_iter_t *di = (densify_iter_t *)it;
    qry__pl_iter_close(it->src);
    for (size_t i = 0; i < di->n; i++) {
        bson_destroy(di->ents[i].doc);
        bson_destroy(di->ents[i].part);
    }
    free(di->ents);
    free(di);
}

static int densify_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                        status_t *st)
{
    densify_iter_t *di = calloc(1, sizeof *di);
    INVARIANT(di != NULL);
    qry__pl_iter_init(&di->base, densify_next, densify_close, src, run);
    di->d = stage->data;
    *out = &di->base;
    (void)st;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_densify = {"$densify", PL_F_BLOCKING | PL_F_MERGER,
                                              densify_parse, densify_open, densify_free};
