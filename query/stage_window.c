/*
 * stage_window.c -- $setWindowFields: partitionBy, sortBy and output fields
 * computed over a window of each document's partition.
 *
 * The stage buffers its input, orders it by (partition value, sort key)
 * (stable, so equal keys keep arrival order) and computes each output per
 * document: accumulators ($sum, $avg, $min, $max, $count, $first, $last,
 * $push, $addToSet, $stdDevPop, $stdDevSamp, $topN, ...) over a
 * `documents` window (positions relative to the current document) or a
 * `range` window (values relative to the current sortBy value), and the
 * order functions $rank, $denseRank, $documentNumber and $shift. With no
 * window an accumulator sees the whole partition, as in MongoDB.
 */
#include "query/pipeline_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef enum wfn {
    WF_ACCUM,
    WF_RANK,
    WF_DENSE_RANK,
    WF_DOC_NUMBER,
    WF_SHIFT,
    WF_EMA,        /* $expMovingAvg */
    WF_DERIVATIVE, /* $derivative */
    WF_INTEGRAL,   /* $integral */
    WF_LOCF,       /* $locf, $fill {method: "locf"} */
    WF_LINEAR,     /* $linearFill, $fill {method: "linear"} */
    WF_FILL_VALUE, /* $fill {value: expr}: the field unless null or missing */
} wfn_t;

/* A bound: unbounded, current, or an offset (documents: index, range: value). */
typedef struct wbound {
    bool unbounded;
    double off; /* 0 for current */
} wbound_t;

typedef struct wout {
    char *field;
    wfn_t fn;
    pl_accum_spec_t *acc;
    bool has_window, is_range;
    wbound_t lo, hi;
    qry_expr_t *shift_out; /* $shift output; input of $expMovingAvg/$derivative/$integral */
    int64_t shift_by;
    double alpha;        /* $expMovingAvg */
    qry__pl_unit_t unit; /* range window over dates; $derivative/$integral over dates */
    qry_expr_t *fill;    /* $fill's value */
    bool has_default;
    bson_value_t shift_default;
} wout_t;

typedef struct window_data {
    qry_expr_t *partition;
    qry_sort_t *sort;
    bson_t *sort_spec;
    wout_t *outs;
    size_t nouts;
} window_data_t;

static void window_free(void *data)
{
    window_data_t *d = data;
    qry_expr_destroy(d->partition);
    qry_sort_destroy(d->sort);
    bson_destroy(d->sort_spec);
    for (size_t i = 0; i < d->nouts; i++) {
        free(d->outs[i].field);
        qry__accum_spec_free(d->outs[i].acc);
        qry_expr_destroy(d->outs[i].shift_out);
        qry_expr_destroy(d->outs[i].fill);
        if (d->outs[i].has_default)
            bson_value_destroy(&d->outs[i].shift_default);
    }
    free(d->outs);
    free(d);
}

static int parse_bound(const bson_iter_t *it, bool range, wbound_t *b, status_t *st)
{
    memset(b, 0, sizeof *b);
    if (BSON_ITER_HOLDS_UTF8(it)) {
        const char *s = bson_iter_utf8(it, NULL);
        if (strcmp(s, "unbounded") == 0) {
            b->unbounded = true;
            return 0;
        }
        if (strcmp(s, "current") == 0)
            return 0;
        return status_set(st, 5339900,
                          "Window bounds must be 'unbounded', 'current', or a "
                          "number");
    }
    double x;
    int64_t n;
    if (!bsonu_number_as_double(bson_iter_value((bson_iter_t *)it), &x))
        return status_set(st, 5339900,
                          "Window bounds must be 'unbounded', 'current', or a "
                          "number");
    if (!range && !bsonu_number_as_int64(bson_iter_value((bson_iter_t *)it), &n))
        return status_set(st, 5339901, "Numeric document-based bounds must be an integer");
    b->off = x;
    return 0;
}

static int parse_window(wout_t *o, const bson_iter_t *w, status_t *st)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(w))
        return status_set(st, ERR_FailedToParse, "'window' field must be an object");
    bson_iter_t it;
    bson_iter_recurse(w, &it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "documents") == 0 || strcmp(k, "range") == 0) {
            if (o->has_window)
                return status_set(st, 5339802,
                                  "Window bounds can only specify one of "
                                  "'documents' or 'range'");
            o->is_range = k[0] == 'r';
            bson_iter_t b;
            if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &b))
                return status_set(st, ERR_FailedToParse,
                                  "Window bounds must be a 2-element "
                                  "array");
            int n = 0;
            while (bson_iter_next(&b)) {
                if (n == 0)
                    ST_RET(parse_bound(&b, o->is_range, &o->lo, st));
                else if (n == 1)
                    ST_RET(parse_bound(&b, o->is_range, &o->hi, st));
                n++;
            }
            if (n != 2)
                return status_set(st, ERR_FailedToParse,
                                  "Window bounds must be a 2-element "
                                  "array");
            if (!o->lo.unbounded && !o->hi.unbounded && o->lo.off > o->hi.off)
                return status_set(st, 5339900, "Lower bound must not exceed upper bound");
            o->has_window = true;
        } else if (strcmp(k, "unit") == 0) {
            ST_RET(qry__pl_unit_parse(&it, true, &o->unit, st));
        } else {
            return status_set(st, 5339803,
                              "'window' field can only contain 'documents' or "
                              "'range'; found %s",
                              k);
        }
    }
    return 0;
}

static int parse_output(pl_stage_t *s, window_data_t *d, const char *field, const bson_iter_t *v,
                        status_t *st)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(v))
        return status_set(st, ERR_FailedToParse, "The field '%s' must be an object", field);
    d->outs = realloc(d->outs, (d->nouts + 1) * sizeof *d->outs);
    INVARIANT(d->outs != NULL);
    wout_t *o = &d->outs[d->nouts++];
    memset(o, 0, sizeof *o);
    o->field = strdup(field);
    qry__pl_add_write(s, field);
    bson_iter_t it, fn;
    bson_iter_recurse(v, &it);
    bool have_fn = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "window") == 0) {
            ST_RET(parse_window(o, &it, st));
            continue;
        }
        if (k[0] != '$' || have_fn)
            return status_set(st, ERR_FailedToParse,
                              "Expected a single window function in '%s', found %s", field, k);
        fn = it;
        have_fn = true;
    }
    if (!have_fn)
        return status_set(st, ERR_FailedToParse, "Expected a window function in '%s'", field);
    const char *name = bson_iter_key(&fn);
    if (strcmp(name, "$rank") == 0 || strcmp(name, "$denseRank") == 0 ||
        strcmp(name, "$documentNumber") == 0) {
        o->fn = name[1] == 'r'                     ? WF_RANK
                : name[1] == 'd' && name[2] == 'e' ? WF_DENSE_RANK
                                                   : WF_DOC_NUMBER;
        if (!d->sort || qry_sort_nparts(d->sort) != 1)
            return status_set(st, 5371602,
                              "%s must be specified with a top level sortBy "
                              "expression with exactly one element",
                              name);
        if (o->has_window)
            return status_set(st, 5371601,
                              "Rank style window functions take no other "
                              "arguments");
        return 0;
    }
    if (strcmp(name, "$expMovingAvg") == 0 || strcmp(name, "$derivative") == 0 ||
        strcmp(name, "$integral") == 0) {
        o->fn = name[1] == 'e' ? WF_EMA : name[1] == 'd' ? WF_DERIVATIVE : WF_INTEGRAL;
        if (!d->sort || qry_sort_nparts(d->sort) != 1)
            return status_set(st, 5371602, "%s requires a sortBy with exactly one field", name);
        bson_iter_t a;
        if (!BSON_ITER_HOLDS_DOCUMENT(&fn) || !bson_iter_recurse(&fn, &a))
            return status_set(st, ERR_FailedToParse, "%s must have an object argument", name);
        bool have_n = false, have_alpha = false;
        while (bson_iter_next(&a)) {
            const char *k = bson_iter_key(&a);
            if (strcmp(k, "input") == 0) {
                qry_expr_destroy(o->shift_out);
                o->shift_out = NULL;
                ST_RET(qry__pl_expr(&a, s, &o->shift_out, st));
            } else if (o->fn == WF_EMA && strcmp(k, "N") == 0) {
                int64_t n;
                if (!bsonu_number_as_int64(bson_iter_value(&a), &n) || n <= 0)
                    return status_set(st, ERR_FailedToParse,
                                      "'N' field must be an integer, but found type %s",
                                      "another type");
                o->alpha = 2.0 / ((double)n + 1.0);
                have_n = true;
            } else if (o->fn == WF_EMA && strcmp(k, "alpha") == 0) {
                double x;
                if (!bsonu_number_as_double(bson_iter_value(&a), &x) || !(x > 0 && x < 1))
                    return status_set(st, ERR_FailedToParse,
                                      "'alpha' must be between 0 and 1 (exclusive)");
                o->alpha = x;
                have_alpha = true;
            } else if (o->fn != WF_EMA && strcmp(k, "unit") == 0) {
                ST_RET(qry__pl_unit_parse(&a, false, &o->unit, st));
            } else {
                return status_set(st, ERR_FailedToParse, "%s got unexpected argument: %s", name, k);
            }
        }
        if (!o->shift_out)
            return status_set(st, ERR_FailedToParse, "%s requires an 'input'", name);
        if (o->fn == WF_EMA && have_n == have_alpha)
            return status_set(st, ERR_FailedToParse,
                              "$expMovingAvg requires exactly one of 'N' or 'alpha'");
        if (o->fn == WF_EMA && o->has_window)
            return status_set(st, ERR_FailedToParse, "$expMovingAvg does not accept a window");
        if (o->fn == WF_DERIVATIVE && !o->has_window)
            return status_set(st, 5624901, "$derivative requires explicit window bounds");
        return 0;
    }
    if (strcmp(name, "$locf") == 0 || strcmp(name, "$linearFill") == 0) {
        o->fn = name[1] == 'l' && name[2] == 'o' ? WF_LOCF : WF_LINEAR;
        if (o->fn == WF_LINEAR && (!d->sort || qry_sort_nparts(d->sort) != 1))
            return status_set(st, 605001, "$linearFill requires a sortBy with exactly one field");
        if (o->has_window)
            return status_set(st, ERR_FailedToParse, "%s does not accept a window", name);
        qry_expr_destroy(o->shift_out);
        o->shift_out = NULL;
        return qry__pl_expr(&fn, s, &o->shift_out, st);
    }
    if (strcmp(name, "$shift") == 0) {
        o->fn = WF_SHIFT;
        if (!d->sort)
            return status_set(st, 5339901, "'$shift' requires a sortBy");
        bson_iter_t a;
        if (!BSON_ITER_HOLDS_DOCUMENT(&fn) || !bson_iter_recurse(&fn, &a))
            return status_set(st, ERR_FailedToParse, "Argument to $shift must be an object");
        bool have_by = false;
        while (bson_iter_next(&a)) {
            const char *k = bson_iter_key(&a);
            if (strcmp(k, "output") == 0) {
                qry_expr_destroy(o->shift_out); /* a repeated field replaces the earlier one */

                o->shift_out = NULL;

                ST_RET(qry__pl_expr(&a, s, &o->shift_out, st));
            } else if (strcmp(k, "by") == 0) {
                if (!bsonu_number_as_int64(bson_iter_value(&a), &o->shift_by))
                    return status_set(st, ERR_FailedToParse,
                                      "'$shift:by' field must be an integer");
                have_by = true;
            } else if (strcmp(k, "default") == 0) {
                if (o->has_default)
                    bson_value_destroy(&o->shift_default);
                bson_value_copy(bson_iter_value(&a), &o->shift_default);
                o->has_default = true;
            } else {
                return status_set(st, ERR_FailedToParse, "Unknown argument in $shift: %s", k);
            }
        }
        if (!o->shift_out || !have_by)
            return status_set(st, ERR_FailedToParse,
                              "$shift requires 'output' and 'by' to be specified");
        return 0;
    }
    o->fn = WF_ACCUM;
    int ret = qry__accum_parse(field, &fn, &o->acc, st);
    if (ret != 0) {
        if (st->code == 15952)
            return status_set(st, ERR_FailedToParse, "Unrecognized window function, %s", name);
        return ret;
    }
    qry__accum_deps(o->acc, s);
    if (o->is_range && (!d->sort || qry_sort_nparts(d->sort) != 1))
        return status_set(st, 5339902, "Range-based window requires sortBy a single field");
    if (o->has_window && !o->is_range && !d->sort && !(o->lo.unbounded && o->hi.unbounded))
        return status_set(st, 5339901, "Document-based bounds require a sortBy");
    return 0;
}

static int window_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    window_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    d->sort_spec = bson_new();
    s->data = d;
    s->shape = PL_MODIFIES;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, ERR_FailedToParse,
                          "the $setWindowFields stage specification must be an object");
    bson_iter_t it;
    /* sortBy first: output validation depends on it. */
    bson_iter_recurse(arg, &it);
    if (bson_iter_find(&it, "sortBy")) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field '$setWindowFields.sortBy' is the "
                              "wrong type, expected type 'object'");
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        bson_t sp;
        if (data && bson_init_static(&sp, data, len)) {
            bson_destroy(d->sort_spec);
            d->sort_spec = bson_copy(&sp);
        }
        ST_RET(qry_sort_parse(d->sort_spec, &d->sort, st));
        bson_iter_t si;
        bson_iter_init(&si, d->sort_spec);
        while (bson_iter_next(&si))
            qry__pl_add_read(s, bson_iter_key(&si));
    }
    bson_iter_recurse(arg, &it);
    bool have_output = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "partitionBy") == 0) {
            qry_expr_destroy(d->partition); /* a repeated field replaces the earlier one */

            d->partition = NULL;

            ST_RET(qry__pl_expr(&it, s, &d->partition, st));
        } else if (strcmp(k, "sortBy") == 0) {
            continue;
        } else if (strcmp(k, "output") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field '$setWindowFields.output' "
                                  "is the wrong type, expected type "
                                  "'object'");
            bson_iter_t o;
            bson_iter_recurse(&it, &o);
            while (bson_iter_next(&o))
                ST_RET(parse_output(s, d, bson_iter_key(&o), &o, st));
            have_output = true;
        } else {
            return status_set(st, 40415, "BSON field '$setWindowFields.%s' is an unknown field.",
                              k);
        }
    }
    if (!have_output)
        return status_set(st, 40414,
                          "BSON field '$setWindowFields.output' is missing but a "
                          "required field");
    return 0;
}

typedef struct went {
    bson_t *doc;
    bson_value_t part;
    bson_t *key; /* heap: bson_t wants 128-byte alignment */
    size_t seq;
} went_t;

/*
 * Per-output state carried from one document to the next of a partition:
 * documents are visited in order, so a window whose lower bound is unbounded
 * only grows (one accumulator, fed as the upper bound moves: O(n), not
 * O(n^2)), and ranks follow from the previous document's.
 */
typedef struct wcache {
    bool valid;
    size_t ps;   /* the partition the state belongs to */
    size_t last; /* the document computed last */
    pl_accum_t *acc;
    size_t upto; /* documents [ps, upto) are in acc */
    int64_t rank, dense;
    double mean_ema; /* $expMovingAvg's running value */
} wcache_t;

typedef struct window_iter {
    pl_iter_t base;
    const window_data_t *d;
    went_t *ents;
    size_t n, pos;
    bool filled;
    wcache_t *cache; /* one per output */
} window_iter_t;

static int went_cmp(const void *a, const void *b, void *arg)
{
    const qry_sort_t *cmp_sort = arg;
    const went_t *x = a, *y = b;
    int c = bsonu_compare_value(&x->part, &y->part);
    if (c == 0 && cmp_sort)
        c = qry_sort_compare_keys(cmp_sort, x->key, y->key);
    if (c == 0)
        c = x->seq < y->seq ? -1 : x->seq > y->seq;
    return c;
}

static int window_fill(window_iter_t *w, status_t *st)
{
    pl_run_t *run = w->base.run;
    const window_data_t *d = w->d;
    size_t cap = 0, mem = 0, limit = qry__pl_mem_limit(run);
    for (;;) {
        bson_t doc;
        bool eof;
        ST_RET(qry__pl_pull(w->base.src, &doc, &eof, st));
        if (eof) {
            bson_destroy(&doc);
            break;
        }
        if (w->n == cap) {
            cap = cap ? cap * 2 : 64;
            w->ents = realloc(w->ents, cap * sizeof *w->ents);
            INVARIANT(w->ents != NULL);
        }
        went_t *e = &w->ents[w->n];
        memset(e, 0, sizeof *e);
        e->doc = bson_copy(&doc);
        bson_destroy(&doc);
        e->seq = w->n;
        e->part.value_type = BSON_TYPE_NULL;
        e->key = bson_new();
        w->n++;
        int ret = 0;
        if (d->partition) {
            uint64_t mark = qry_expr_ctx_mark(run->ex);
            bson_value_t v;
            ret = qry_expr_eval(d->partition, run->ex, e->doc, &v, st);
            if (ret == 0 && v.value_type == BSON_TYPE_ARRAY)
                ret = status_set(st, ERR_TypeMismatch,
                                 "An expression used to partition cannot evaluate to value of "
                                 "type array");
            if (ret == 0 && v.value_type != BSON_TYPE_EOD)
                bson_value_copy(&v, &e->part);
            qry_expr_ctx_release(run->ex, mark);
        }
        if (ret == 0 && d->sort) {
            bson_t k;
            ret = qry_sort_key(d->sort, e->doc, &k, st);
            bson_concat(e->key, &k);
            bson_destroy(&k);
        }
        ST_RET(ret);
        mem += qry__pl_doc_mem(e->doc) + e->key->len + sizeof *e;
        if (mem > limit)
            return status_set(st, 5414201, "Exceeded memory limit in $setWindowFields");
    }
    if (w->n > 1)
        qsort_r(w->ents, w->n, sizeof *w->ents, went_cmp, (void *)d->sort);
    return 0;
}

static double key_number(const went_t *e, bool *ok)
{
    bson_iter_t it;
    double x = 0;
    *ok = bson_iter_init(&it, e->key) && bson_iter_next(&it) &&
          bsonu_is_number(bson_iter_type(&it)) && bsonu_number_as_double(bson_iter_value(&it), &x);
    return x;
}

static bool key_date(const went_t *e, int64_t *ms)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, e->key) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_DATE_TIME(&it))
        return false;
    *ms = bson_iter_date_time(&it);
    return true;
}

/*
 * range_test -- whether document j lies in document i's range window. Without
 * a unit the sortBy values are numbers; with one they are dates and the
 * bounds move by units. A j of the wrong type is outside.
 */
static int range_test(const wout_t *o, const went_t *ei, const went_t *ej, bool *in, status_t *st)
{
    *in = false;
    if (o->unit == QRY__PL_UNIT_NONE) {
        bool ok, jok;
        double cur = key_number(ei, &ok), v = key_number(ej, &jok);
        if (!ok)
            return status_set(st, 5429414,
                              "Invalid range: Expected the sortBy field to be a "
                              "number, but it was %s",
                              "another type");
        *in = jok && (o->lo.unbounded || v >= cur + o->lo.off) &&
              (o->hi.unbounded || v <= cur + o->hi.off);
        return 0;
    }
    int64_t cur, v;
    if (!key_date(ei, &cur))
        return status_set(st, 5429513,
                          "Invalid range: Expected the sortBy field to be a Date, "
                          "but it was %s",
                          "another type");
    if (!key_date(ej, &v))
        return 0;
    *in = (o->lo.unbounded || (double)v >= qry__pl_date_shift(cur, o->unit, o->lo.off)) &&
          (o->hi.unbounded || (double)v <= qry__pl_date_shift(cur, o->unit, o->hi.off));
    return 0;
}

/* calc_x -- the x of $derivative/$integral: a number, or a date in units. */
static bool calc_x(const wout_t *o, const went_t *e, double *x)
{
    if (o->unit == QRY__PL_UNIT_NONE) {
        bool ok;
        *x = key_number(e, &ok);
        return ok;
    }
    int64_t ms;
    if (!key_date(e, &ms))
        return false;
    *x = (double)ms / (double)qry__pl_unit_ms(o->unit);
    return true;
}

/* input_number -- the output expression of o on document j as a double (false if not a number). */
static int input_number(window_iter_t *w, const wout_t *o, size_t j, double *x, bool *ok,
                        status_t *st)
{
    pl_run_t *run = w->base.run;
    uint64_t mark = qry_expr_ctx_mark(run->ex);
    bson_value_t v;
    int ret = qry_expr_eval(o->shift_out, run->ex, w->ents[j].doc, &v, st);
    *ok = ret == 0 && bsonu_is_number(v.value_type) && v.value_type != BSON_TYPE_DECIMAL128 &&
          bsonu_number_as_double(&v, x);
    if (ret == 0 && v.value_type == BSON_TYPE_DECIMAL128)
        ret = status_set(st, ERR_NotImplemented, "decimal inputs are not supported yet");
    qry_expr_ctx_release(run->ex, mark);
    return ret;
}

/* compute_ema -- $expMovingAvg: alpha * x + (1 - alpha) * previous, carried in document order. */
static int compute_ema(window_iter_t *w, const wout_t *o, wcache_t *c, size_t ps, size_t i,
                       bson_t *holder, status_t *st)
{
    bool restart = !c->valid || c->ps != ps || c->last + 1 != i;
    if (restart) {
        /* recompute the running value from the partition start */
        c->valid = true;
        c->ps = ps;
        c->rank = 0; /* rank: whether a value exists; dense unused */
        for (size_t j = ps; j < i; j++) {
            double x;
            bool ok;
            ST_RET(input_number(w, o, j, &x, &ok, st));
            if (!ok)
                continue;
            c->mean_ema = c->rank ? o->alpha * x + (1 - o->alpha) * c->mean_ema : x;
            c->rank = 1;
        }
    }
    double x;
    bool ok;
    ST_RET(input_number(w, o, i, &x, &ok, st));
    c->last = i;
    if (!ok) {
        BSON_APPEND_NULL(holder, "v");
        return 0;
    }
    c->mean_ema = c->rank ? o->alpha * x + (1 - o->alpha) * c->mean_ema : x;
    c->rank = 1;
    BSON_APPEND_DOUBLE(holder, "v", c->mean_ema);
    return 0;
}

/* compute_calculus -- $derivative / $integral over documents [a, b) (x: the sortBy value). */
static int compute_calculus(window_iter_t *w, const wout_t *o, size_t a, size_t b, bson_t *holder,
                            status_t *st)
{
    double area = 0, px = 0, py = 0, fx = 0, fy = 0;
    bool have = false, first = true;
    for (size_t j = a; j < b; j++) {
        bool vok;
        double x, y;
        bool kok = calc_x(o, &w->ents[j], &x);
        ST_RET(input_number(w, o, j, &y, &vok, st));
        if (!kok)
            return status_set(st, 5624900,
                              "%s requires a numeric sortBy value, or a date with "
                              "'unit'",
                              o->fn == WF_DERIVATIVE ? "$derivative" : "$integral");
        if (!vok)
            continue;
        if (first) {
            fx = x;
            fy = y;
            first = false;
        } else {
            area += (x - px) * (y + py) / 2.0;
        }
        px = x;
        py = y;
        have = true;
    }
    if (o->fn == WF_INTEGRAL) {
        if (have)
            BSON_APPEND_DOUBLE(holder, "v", area);
        else
            BSON_APPEND_NULL(holder, "v");
        return 0;
    }
    if (!have || px == fx)
        BSON_APPEND_NULL(holder, "v");
    else
        BSON_APPEND_DOUBLE(holder, "v", (py - fy) / (px - fx));
    return 0;
}

static bool nullish(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_EOD || v->value_type == BSON_TYPE_NULL ||
           v->value_type == BSON_TYPE_UNDEFINED;
}

/* compute_fill -- $locf, $linearFill and $fill's value for document i of [ps, pe). */
static int compute_fill(window_iter_t *w, const wout_t *o, size_t ps, size_t pe, size_t i,
                        bson_t *holder, status_t *st)
{
    pl_run_t *run = w->base.run;
    uint64_t mark = qry_expr_ctx_mark(run->ex);
    bson_value_t v;
    int ret = qry_expr_eval(o->shift_out, run->ex, w->ents[i].doc, &v, st);
    if (ret == 0 && !nullish(&v)) {
        if (o->fn == WF_LINEAR && !bsonu_is_number(v.value_type))
            ret = status_set(st, 6050106,
                             "There can be no repeated values in the sort field "
                             "and the input must be numeric or null for "
                             "$linearFill");
        else
            BSON_APPEND_VALUE(holder, "v", &v);
        qry_expr_ctx_release(run->ex, mark);
        return ret;
    }
    if (ret == 0 && o->fn == WF_FILL_VALUE) {
        ret = qry_expr_eval(o->fill, run->ex, w->ents[i].doc, &v, st);
        if (ret == 0 && !nullish(&v))
            BSON_APPEND_VALUE(holder, "v", &v);
        else if (ret == 0)
            BSON_APPEND_NULL(holder, "v");
        qry_expr_ctx_release(run->ex, mark);
        return ret;
    }
    bool found_prev = false, found_next = false;
    double xp = 0, yp = 0, xn = 0, yn = 0;
    for (size_t j = i; ret == 0 && j-- > ps;) {
        ret = qry_expr_eval(o->shift_out, run->ex, w->ents[j].doc, &v, st);
        if (ret == 0 && !nullish(&v)) {
            if (o->fn == WF_LOCF) {
                BSON_APPEND_VALUE(holder, "v", &v);
                qry_expr_ctx_release(run->ex, mark);
                return 0;
            }
            bool ok;
            xp = key_number(&w->ents[j], &ok);
            found_prev = ok && bsonu_number_as_double(&v, &yp);
            break;
        }
    }
    for (size_t j = i + 1; ret == 0 && o->fn == WF_LINEAR && found_prev && j < pe; j++) {
        ret = qry_expr_eval(o->shift_out, run->ex, w->ents[j].doc, &v, st);
        if (ret == 0 && !nullish(&v)) {
            bool ok;
            xn = key_number(&w->ents[j], &ok);
            found_next = ok && bsonu_number_as_double(&v, &yn);
            break;
        }
    }
    qry_expr_ctx_release(run->ex, mark);
    if (ret != 0)
        return ret;
    bool ok;
    double xi = key_number(&w->ents[i], &ok);
    if (o->fn == WF_LINEAR && found_prev && found_next && ok && xn != xp)
        BSON_APPEND_DOUBLE(holder, "v", yp + (yn - yp) * (xi - xp) / (xn - xp));
    else
        BSON_APPEND_NULL(holder, "v");
    return 0;
}

/* compute -- the value of output o for document i of partition [ps, pe), appended as "v". */
static int compute(window_iter_t *w, const wout_t *o, wcache_t *c, size_t ps, size_t pe, size_t i,
                   bson_t *holder, status_t *st)
{
    pl_run_t *run = w->base.run;
    went_t *ents = w->ents;
    switch (o->fn) {
    case WF_DOC_NUMBER:
        BSON_APPEND_INT32(holder, "v", (int32_t)(i - ps + 1));
        return 0;
    case WF_RANK:
    case WF_DENSE_RANK: {
        if (c->valid && c->ps == ps && c->last + 1 == i) {
            if (qry_sort_compare_keys(w->d->sort, ents[i].key, ents[i - 1].key) != 0) {
                c->rank = (int64_t)(i - ps + 1);
                c->dense++;
            }
        } else {
            /* first document of the partition (or out of order): count from the start */
            c->rank = 1;
            c->dense = 1;
            for (size_t j = ps + 1; j <= i; j++) {
                if (qry_sort_compare_keys(w->d->sort, ents[j].key, ents[j - 1].key) != 0) {
                    c->rank = (int64_t)(j - ps + 1);
                    c->dense++;
                }
            }
        }
        c->valid = true;
        c->ps = ps;
        c->last = i;
        BSON_APPEND_INT32(holder, "v", (int32_t)(o->fn == WF_RANK ? c->rank : c->dense));
        return 0;
    }
    case WF_SHIFT: {
        int64_t j = (int64_t)i + o->shift_by;
        if (j < (int64_t)ps || j >= (int64_t)pe) {
            if (o->has_default)
                BSON_APPEND_VALUE(holder, "v", &o->shift_default);
            else
                BSON_APPEND_NULL(holder, "v");
            return 0;
        }
        uint64_t mark = qry_expr_ctx_mark(run->ex);
        bson_value_t v;
        int ret = qry_expr_eval(o->shift_out, run->ex, ents[j].doc, &v, st);
        if (ret == 0) {
            if (v.value_type == BSON_TYPE_EOD)
                BSON_APPEND_NULL(holder, "v");
            else
                BSON_APPEND_VALUE(holder, "v", &v);
        }
        qry_expr_ctx_release(run->ex, mark);
        return ret;
    }
    case WF_EMA:
        return compute_ema(w, o, c, ps, i, holder, st);
    case WF_LOCF:
    case WF_LINEAR:
    case WF_FILL_VALUE:
        return compute_fill(w, o, ps, pe, i, holder, st);
    case WF_DERIVATIVE:
    case WF_INTEGRAL:
        break;
    case WF_ACCUM:
        break;
    }
    size_t a = ps, b = pe; /* [a, b) */
    if (o->has_window && !o->is_range) {
        if (!o->lo.unbounded) {
            int64_t x = (int64_t)i + (int64_t)o->lo.off;
            a = x < (int64_t)ps ? ps : (size_t)x;
        }
        if (!o->hi.unbounded) {
            int64_t x = (int64_t)i + (int64_t)o->hi.off + 1;
            b = x > (int64_t)pe ? pe : x < (int64_t)ps ? ps : (size_t)x;
        }
    }
    int ret = 0;
    if (o->fn == WF_ACCUM && !o->is_range && (!o->has_window || o->lo.unbounded)) {
        /* a growing window: keep feeding one accumulator */
        if (!c->valid || c->ps != ps || !c->acc || c->upto > b) {
            qry__accum_free(c->acc);
            c->acc = qry__accum_new(o->acc);
            c->upto = ps;
            c->ps = ps;
            c->valid = true;
        }
        for (; c->upto < b && ret == 0; c->upto++)
            ret = qry__accum_add(c->acc, ents[c->upto].doc, run, st);
        c->last = i;
        if (ret == 0)
            ret = qry__accum_final(c->acc, holder, "v", st);
        return ret;
    }
    if (o->fn == WF_DERIVATIVE || o->fn == WF_INTEGRAL) {
        if (o->has_window && o->is_range) {
            /* the documents whose sortBy value lies in the range, as a span */
            a = pe;
            b = ps;
            for (size_t j = ps; j < pe; j++) {
                bool in;
                ST_RET(range_test(o, &ents[i], &ents[j], &in, st));
                if (!in)
                    continue;
                if (j < a)
                    a = j;
                b = j + 1;
            }
        }
        return compute_calculus(w, o, a, b, holder, st);
    }
    pl_accum_t *acc = qry__accum_new(o->acc);
    if (o->has_window && o->is_range) {
        for (size_t j = ps; j < pe && ret == 0; j++) {
            bool in;
            ret = range_test(o, &ents[i], &ents[j], &in, st);
            if (ret == 0 && in)
                ret = qry__accum_add(acc, ents[j].doc, run, st);
        }
    } else {
        for (size_t j = a; j < b && ret == 0; j++)
            ret = qry__accum_add(acc, ents[j].doc, run, st);
    }
    if (ret == 0)
        ret = qry__accum_final(acc, holder, "v", st);
    qry__accum_free(acc);
    return ret;
}

static int window_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    window_iter_t *w = (window_iter_t *)it;
    *eof = false;
    if (!w->filled) {
        w->filled = true;
        int ret = window_fill(w, st);
        if (ret != 0) {
            bson_init(out);
            *eof = true;
            return ret;
        }
    }
    if (w->pos >= w->n) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    size_t i = w->pos++;
    size_t ps = i, pe = i + 1;
    while (ps > 0 && bsonu_compare_value(&w->ents[ps - 1].part, &w->ents[i].part) == 0)
        ps--;
    while (pe < w->n && bsonu_compare_value(&w->ents[pe].part, &w->ents[i].part) == 0)
        pe++;
    bson_t cur;
    bson_copy_to(w->ents[i].doc, &cur);
    int ret = 0;
    for (size_t k = 0; k < w->d->nouts && ret == 0; k++) {
        bson_t holder;
        bson_init(&holder);
        ret = compute(w, &w->d->outs[k], &w->cache[k], ps, pe, i, &holder, st);
        bson_iter_t hi;
        if (ret == 0 && bson_iter_init_find(&hi, &holder, "v")) {
            bson_t next;
            qry__pl_set_path(&cur, w->d->outs[k].field, bson_iter_value(&hi), &next);
            bson_destroy(&cur);
            bson_steal(&cur, &next);
        }
        bson_destroy(&holder);
    }
    if (ret != 0) {
        bson_destroy(&cur);
        bson_init(out);
        *eof = true;
        return ret;
    }
    bson_steal(out, &cur);
    return 0;
}

static void window_close(pl_iter_t *it)
{
    window_iter_t *w = (window_iter_t *)it;
    qry__pl_iter_close(it->src);
    for (size_t i = 0; i < w->n; i++) {
        bson_destroy(w->ents[i].doc);
        bson_value_destroy(&w->ents[i].part);
        bson_destroy(w->ents[i].key);
    }
    free(w->ents);
    for (size_t k = 0; k < w->d->nouts; k++)
        qry__accum_free(w->cache[k].acc);
    free(w->cache);
    free(w);
}

static int window_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                       status_t *st)
{
    window_iter_t *w = calloc(1, sizeof *w);
    INVARIANT(w != NULL);
    qry__pl_iter_init(&w->base, window_next, window_close, src, run);
    w->d = stage->data;
    w->cache = calloc(w->d->nouts ? w->d->nouts : 1, sizeof *w->cache);
    INVARIANT(w->cache != NULL);
    *out = &w->base;
    (void)st;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_window = {"$setWindowFields", PL_F_BLOCKING | PL_F_MERGER,
                                             window_parse, window_open, window_free};

/* ---- $fill ---------------------------------------------------------------- */

/*
 * $fill is MongoDB's sugar over $setWindowFields: each output field is
 * filled where it is null or missing, with a value ({value: expr}), the last
 * non-null value before it ({method: "locf"}) or a linear interpolation on
 * the single sortBy field ({method: "linear"}).
 */
static int fill_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    window_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    d->sort_spec = bson_new();
    s->data = d;
    s->shape = PL_MODIFIES;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, ERR_FailedToParse,
                          "the $fill stage specification must be an "
                          "object");
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    bool have_pb = false, have_pbf = false;
    const bson_value_t *output = NULL;
    bson_iter_t out_it;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "partitionBy") == 0) {
            have_pb = true;
            qry_expr_destroy(d->partition);
            d->partition = NULL;
            ST_RET(qry__pl_expr(&it, s, &d->partition, st));
        } else if (strcmp(k, "partitionByFields") == 0) {
            have_pbf = true;
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field '$fill.partitionByFields' "
                                  "is the wrong type, expected type "
                                  "'array'");
            /* {f1: "$f1", ...} as the partition expression */
            bson_t obj;
            bson_init(&obj);
            bson_iter_t f;
            bson_iter_recurse(&it, &f);
            int ret = 0;
            while (bson_iter_next(&f) && ret == 0) {
                if (!BSON_ITER_HOLDS_UTF8(&f) || bson_iter_utf8(&f, NULL)[0] == '$') {
                    ret = status_set(st, ERR_FailedToParse,
                                     "$fill partitionByFields must be field names");
                    break;
                }
                char path[512];
                snprintf(path, sizeof path, "$%s", bson_iter_utf8(&f, NULL));
                BSON_APPEND_UTF8(&obj, bson_iter_utf8(&f, NULL), path);
            }
            if (ret == 0) {
                qry_expr_destroy(d->partition);
                d->partition = NULL;
                qry_expr_deps_t deps;
                ret = qry_expr_parse_object(&obj, qry__pl_scope(), &d->partition, st);
                if (ret == 0) {
                    qry_expr_deps_init(&deps);
                    qry_expr_deps_add(d->partition, &deps);
                    for (size_t i = 0; i < deps.npaths; i++)
                        qry__pl_add_read(s, deps.paths[i]);
                    qry_expr_deps_destroy(&deps);
                }
            }
            bson_destroy(&obj);
            ST_RET(ret);
        } else if (strcmp(k, "sortBy") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field '$fill.sortBy' is the wrong "
                                  "type, expected type 'object'");
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            bson_t sp;
            bson_destroy(d->sort_spec);
            d->sort_spec = data && bson_init_static(&sp, data, len) ? bson_copy(&sp) : bson_new();
            qry_sort_destroy(d->sort);
            d->sort = NULL;
            ST_RET(qry_sort_parse(d->sort_spec, &d->sort, st));
        } else if (strcmp(k, "output") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field '$fill.output' is the wrong "
                                  "type, expected type 'object'");
            output = bson_iter_value(&it);
            out_it = it;
        } else {
            return status_set(st, 40415, "BSON field '$fill.%s' is an unknown field.", k);
        }
    }
    if (have_pb && have_pbf)
        return status_set(st, 6050204,
                          "Maximum one of 'partitionBy' and 'partitionByFields' can "
                          "be specified in '$fill'");
    if (!output)
        return status_set(st, 40414,
                          "BSON field '$fill.output' is missing but a required "
                          "field");
    bson_iter_t o;
    bson_iter_recurse(&out_it, &o);
    while (bson_iter_next(&o)) {
        const char *field = bson_iter_key(&o);
        bson_iter_t spec;
        if (!BSON_ITER_HOLDS_DOCUMENT(&o) || !bson_iter_recurse(&o, &spec) ||
            !bson_iter_next(&spec))
            return status_set(st, ERR_FailedToParse,
                              "$fill output '%s' must be an object with "
                              "'value' or 'method'",
                              field);
        d->outs = realloc(d->outs, (d->nouts + 1) * sizeof *d->outs);
        INVARIANT(d->outs != NULL);
        wout_t *w = &d->outs[d->nouts++];
        memset(w, 0, sizeof *w);
        w->field = strdup(field);
        qry__pl_add_write(s, field);
        qry__pl_add_read(s, field);
        char path[512];
        snprintf(path, sizeof path, "$%s", field);
        bson_value_t pv = {.value_type = BSON_TYPE_UTF8};
        pv.value.v_utf8.str = path;
        pv.value.v_utf8.len = (uint32_t)strlen(path);
        ST_RET(qry__pl_expr_value(&pv, s, &w->shift_out, st));
        const char *k = bson_iter_key(&spec);
        if (strcmp(k, "value") == 0) {
            w->fn = WF_FILL_VALUE;
            ST_RET(qry__pl_expr(&spec, s, &w->fill, st));
        } else if (strcmp(k, "method") == 0 && BSON_ITER_HOLDS_UTF8(&spec)) {
            const char *m = bson_iter_utf8(&spec, NULL);
            if (strcmp(m, "locf") == 0)
                w->fn = WF_LOCF;
            else if (strcmp(m, "linear") == 0)
                w->fn = WF_LINEAR;
            else
                return status_set(st, 6050202, "Method must be either locf or linear");
            if (!d->sort)
                return status_set(st, 6050203,
                                  "sortBy required if any output field specifies a "
                                  "'method'");
            if (w->fn == WF_LINEAR && qry_sort_nparts(d->sort) != 1)
                return status_set(st, 605001,
                                  "$linearFill requires a sortBy with exactly one "
                                  "field");
        } else {
            return status_set(st, 6050201,
                              "Exactly one of 'value' and 'method' must be "
                              "specified in $fill output '%s'",
                              field);
        }
        if (bson_iter_next(&spec))
            return status_set(st, 6050201,
                              "Exactly one of 'value' and 'method' must be "
                              "specified in $fill output '%s'",
                              field);
    }
    return 0;
}

const pl_stage_ops_t qry__pl_stage_fill = {"$fill", PL_F_BLOCKING | PL_F_MERGER, fill_parse,
                                           window_open, window_free};
