/*
 * accum.c -- the accumulators of $group, $bucket, $bucketAuto and
 * $setWindowFields: $sum $avg $min $max $first $last $push $addToSet $count
 * $stdDevPop $stdDevSamp $mergeObjects $top $bottom $topN $bottomN $firstN
 * $lastN $maxN $minN.
 *
 * Every accumulator has four steps: add (one input document), partial (its
 * state as a BSON value), merge (fold a partial state in) and final (the
 * output value). partial/merge are what let $group spill sorted partial
 * groups to disk and merge them, and what the router will use to merge
 * shards' partial groups. Numbers follow MongoDB: $sum of int32 stays int32
 * while it fits, then int64, then double on int64 overflow; a double input
 * makes a double; non-numeric inputs are ignored; $avg of no numbers is null.
 * A decimal128 input makes the result a decimal: decimal inputs are summed
 * exactly (query/expr_decimal.c) and the rest joins them at the end, as
 * MongoDB's DecimalSum does.
 */
#include "query/expr_int.h"
#include "query/pipeline_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum acc_op {
    A_SUM,
    A_AVG,
    A_MIN,
    A_MAX,
    A_FIRST,
    A_LAST,
    A_PUSH,
    A_ADDTOSET,
    A_COUNT,
    A_STDDEVPOP,
    A_STDDEVSAMP,
    A_MERGEOBJECTS,
    A_TOP,
    A_BOTTOM,
    A_TOPN,
    A_BOTTOMN,
    A_FIRSTN,
    A_LASTN,
    A_MAXN,
    A_MINN,
} acc_op_t;

static const struct {
    const char *name;
    acc_op_t op;
} acc_names[] = {
    {"$sum", A_SUM},
    {"$avg", A_AVG},
    {"$min", A_MIN},
    {"$max", A_MAX},
    {"$first", A_FIRST},
    {"$last", A_LAST},
    {"$push", A_PUSH},
    {"$addToSet", A_ADDTOSET},
    {"$count", A_COUNT},
    {"$stdDevPop", A_STDDEVPOP},
    {"$stdDevSamp", A_STDDEVSAMP},
    {"$mergeObjects", A_MERGEOBJECTS},
    {"$top", A_TOP},
    {"$bottom", A_BOTTOM},
    {"$topN", A_TOPN},
    {"$bottomN", A_BOTTOMN},
    {"$firstN", A_FIRSTN},
    {"$lastN", A_LASTN},
    {"$maxN", A_MAXN},
    {"$minN", A_MINN},
};

/* MongoDB's cap on n for the N accumulators. */
#define ACC_MAX_N 10000000000LL

struct pl_accum_spec {
    acc_op_t op;
    const char *name;
    char *field;
    qry_expr_t *arg;  /* input / output expression */
    qry_expr_t *n;    /* N accumulators */
    qry_sort_t *sort; /* $top/$bottom(N) */
    bson_t *sort_spec;
};

/* A kept (key, value) pair for the N accumulators: key is a sort key or a sequence number. */
typedef struct acc_item {
    bson_t *key; /* heap: bson_t wants 128-byte alignment */
    bson_value_t v;
} acc_item_t;

struct pl_accum {
    const pl_accum_spec_t *spec;
    /* numbers */
    int widest; /* 0 int32, 1 int64, 2 double */
    int64_t isum;
    bool overflowed;
    double dsum, dcomp; /* Kahan-Babuska sum once doubles are involved */
    bool has_dec;       /* a decimal128 was seen: the result is a decimal */
    qry__dec_t dec;     /* exact sum of the decimal inputs */
    int64_t count;
    long double mean, m2; /* Welford for stdDev, in extended precision */
    /* single values */
    bool set;
    bson_value_t v;
    /* lists */
    acc_item_t *items;
    size_t nitems, cap;
    size_t *slots; /* $addToSet: hash index into items (item + 1; 0 empty) */
    size_t nslots;
    int64_t nlimit; /* -1 until evaluated */
    int64_t seq;
    size_t mem;
    bson_t *obj; /* $mergeObjects */
};

/* qry__accum_name -- "$sum". */
const char *qry__accum_name(const pl_accum_spec_t *a)
{
    return a->name;
}

/* qry__accum_field -- the output field the accumulator fills. */
const char *qry__accum_field(const pl_accum_spec_t *a)
{
    return a->field;
}

/* qry__accum_spec_free -- free a parsed accumulator (NULL-safe). */
void qry__accum_spec_free(pl_accum_spec_t *a)
{
    if (!a)
        return;
    free(a->field);
    qry_expr_destroy(a->arg);
    qry_expr_destroy(a->n);
    qry_sort_destroy(a->sort);
    bson_destroy(a->sort_spec);
    free(a);
}

static bool is_n_op(acc_op_t op)
{
    return op == A_TOPN || op == A_BOTTOMN || op == A_FIRSTN || op == A_LASTN || op == A_MAXN ||
           op == A_MINN;
}

static int parse_object_args(pl_accum_spec_t *a, const bson_iter_t *op, status_t *st)
{
    bool top = a->op == A_TOP || a->op == A_BOTTOM || a->op == A_TOPN || a->op == A_BOTTOMN;
    if (!BSON_ITER_HOLDS_DOCUMENT(op))
        return status_set(st, 5787801, "specification must be an object; found %s", "a non-object");
    bson_iter_t it;
    bson_iter_recurse(op, &it);
    bool have_in = false, have_sort = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, top ? "output" : "input") == 0) {
            qry_expr_destroy(a->arg); /* a repeated field replaces the earlier one */

            a->arg = NULL;

            qry_expr_destroy(a->arg); /* a repeated field replaces the earlier one */
            a->arg = NULL;
            ST_RET(qry__pl_expr(&it, NULL, &a->arg, st));
            have_in = true;
        } else if (strcmp(k, "n") == 0 && is_n_op(a->op)) {
            qry_expr_destroy(a->n); /* a repeated field replaces the earlier one */

            a->n = NULL;

            qry_expr_destroy(a->n);
            a->n = NULL;
            ST_RET(qry__pl_expr(&it, NULL, &a->n, st));
        } else if (strcmp(k, "sortBy") == 0 && top) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, 5788604, "sortBy must be an object");
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            bson_t v;
            if (!data || !bson_init_static(&v, data, len))
                return status_set(st, 5788604, "sortBy must be an object");
            bson_destroy(a->sort_spec);
            a->sort_spec = bson_copy(&v);
            qry_sort_destroy(a->sort);
            a->sort = NULL;
            ST_RET(qry_sort_parse(a->sort_spec, &a->sort, st));
            have_sort = true;
        } else {
            return status_set(st, 5787901, "%s found an unknown argument: %s", a->name, k);
        }
    }
    if (!have_in)
        return status_set(st, 5787907, "%s requires an '%s' field", a->name,
                          top ? "output" : "input");
    if (is_n_op(a->op) && !a->n)
        return status_set(st, 5787906, "%s requires an 'n' field", a->name);
    if (top && !have_sort)
        return status_set(st, 5788005, "%s requires a 'sortBy' field", a->name);
    return 0;
}

/* qry__accum_parse -- parse {$op: arg}. */
int qry__accum_parse(const char *field, const bson_iter_t *op, pl_accum_spec_t **out, status_t *st)
{
    *out = NULL;
    const char *name = bson_iter_key(op);
    pl_accum_spec_t *a = calloc(1, sizeof *a);
    INVARIANT(a != NULL);
    a->sort_spec = bson_new();
    a->field = strdup(field);
    bool found = false;
    for (size_t i = 0; i < sizeof acc_names / sizeof acc_names[0]; i++) {
        if (strcmp(acc_names[i].name, name) == 0) {
            a->op = acc_names[i].op;
            a->name = acc_names[i].name;
            found = true;
        }
    }
    int ret = 0;
    if (!found) {
        ret = status_set(st, 15952, "unknown group operator '%s'", name);
        goto err;
    }
    switch (a->op) {
    case A_COUNT:
        if (!BSON_ITER_HOLDS_DOCUMENT(op) || !bson_iter_value((bson_iter_t *)op) ||
            bson_iter_value((bson_iter_t *)op)->value.v_doc.data_len != 5) {
            ret = status_set(st, 40181, "$count takes no arguments, i.e. $count:{}");
            goto err;
        }
        break;
    case A_TOP:
    case A_BOTTOM:
    case A_TOPN:
    case A_BOTTOMN:
    case A_FIRSTN:
    case A_LASTN:
    case A_MAXN:
    case A_MINN:
        ST_ERR(parse_object_args(a, op, st));
        break;
    default:
        if (BSON_ITER_HOLDS_ARRAY(op)) {
            ret = status_set(st, 40237, "The %s accumulator is a unary operator", name);
            goto err;
        }
        ST_ERR(qry__pl_expr(op, NULL, &a->arg, st));
        break;
    }
    *out = a;
    return 0;
err:
    qry__accum_spec_free(a);
    return ret;
}

/* qry__accum_deps -- record what the accumulator reads. */
void qry__accum_deps(const pl_accum_spec_t *a, pl_stage_t *s)
{
    if (a->arg)
        qry__pl_expr_deps(a->arg, s);
    if (a->n)
        qry__pl_expr_deps(a->n, s);
    bson_iter_t it;
    if (bson_iter_init(&it, a->sort_spec))
        while (bson_iter_next(&it))
            qry__pl_add_read(s, bson_iter_key(&it));
}

/* qry__accum_new -- a fresh state. */
pl_accum_t *qry__accum_new(const pl_accum_spec_t *a)
{
    pl_accum_t *acc = calloc(1, sizeof *acc);
    INVARIANT(acc != NULL);
    acc->spec = a;
    acc->nlimit = -1;
    acc->v.value_type = BSON_TYPE_NULL;
    acc->obj = bson_new();
    acc->mem = sizeof *acc;
    return acc;
}

static void items_free(pl_accum_t *acc)
{
    for (size_t i = 0; i < acc->nitems; i++) {
        bson_destroy(acc->items[i].key);
        bson_value_destroy(&acc->items[i].v);
    }
    free(acc->items);
    acc->items = NULL;
    acc->nitems = acc->cap = 0;
    free(acc->slots);
    acc->slots = NULL;
    acc->nslots = 0;
}

static size_t value_mem(const bson_value_t *v);

/* set_rehash -- rebuild $addToSet's open-addressing index with n slots (a power of two). */
static void set_rehash(pl_accum_t *acc, size_t n)
{
    free(acc->slots);
    acc->slots = calloc(n, sizeof *acc->slots);
    INVARIANT(acc->slots != NULL);
    acc->nslots = n;
    for (size_t k = 0; k < acc->nitems; k++) {
        size_t i = (size_t)bsonu_hash_value(&acc->items[k].v, 0) & (n - 1);
        while (acc->slots[i])
            i = (i + 1) & (n - 1);
        acc->slots[i] = k + 1;
    }
}

/*
 * list_push -- append v to $push/$addToSet's list; with dedupe, skip a value
 * equal to one already there (found through a hash index, so a large set
 * costs O(1) per value, not a scan).
 */
static void list_push(pl_accum_t *acc, const bson_value_t *v, bool dedupe)
{
    if (dedupe) {
        if ((acc->nitems + 1) * 2 > acc->nslots)
            set_rehash(acc, acc->nslots ? acc->nslots * 2 : 16);
        size_t m = acc->nslots - 1;
        size_t i = (size_t)bsonu_hash_value(v, 0) & m;
        while (acc->slots[i]) {
            if (bsonu_equal_value(&acc->items[acc->slots[i] - 1].v, v))
                return;
            i = (i + 1) & m;
        }
        acc->slots[i] = acc->nitems + 1;
        acc->mem += 2 * sizeof *acc->slots;
    }
    acc->nlimit = INT64_MAX;
    if (acc->nitems == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 8;
        acc->items = realloc(acc->items, acc->cap * sizeof *acc->items);
        INVARIANT(acc->items != NULL);
    }
    acc->items[acc->nitems].key = bson_new();
    bson_value_copy(v, &acc->items[acc->nitems].v);
    acc->nitems++;
    acc->mem += value_mem(v) + sizeof(acc_item_t);
}

/* qry__accum_free -- free a state (NULL-safe). */
void qry__accum_free(pl_accum_t *acc)
{
    if (!acc)
        return;
    if (acc->set)
        bson_value_destroy(&acc->v);
    items_free(acc);
    bson_destroy(acc->obj);
    free(acc);
}

/* qry__accum_mem -- approximate bytes held. */
size_t qry__accum_mem(const pl_accum_t *acc)
{
    return acc->mem + acc->obj->len;
}

static size_t value_mem(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_UTF8:
        return sizeof *v + v->value.v_utf8.len;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        return sizeof *v + v->value.v_doc.data_len;
    case BSON_TYPE_BINARY:
        return sizeof *v + v->value.v_binary.data_len;
    default:
        return sizeof *v;
    }
}

/* ---- numbers ------------------------------------------------------------ */

static void kahan_add(pl_accum_t *acc, double x)
{
    double t = acc->dsum + x;
    if (fabs(acc->dsum) >= fabs(x))
        acc->dcomp += (acc->dsum - t) + x;
    else
        acc->dcomp += (x - t) + acc->dsum;
    acc->dsum = t;
}

static void dec_add(pl_accum_t *acc, const qry__dec_t *x);

static int add_number(pl_accum_t *acc, const bson_value_t *v, status_t *st)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64: {
        int64_t x = v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64;
        if (v->value_type == BSON_TYPE_INT64 && acc->widest < 1)
            acc->widest = 1;
        if (acc->overflowed) {
            kahan_add(acc, (double)x);
        } else {
            int64_t old = acc->isum;
            if (__builtin_add_overflow(old, x, &acc->isum)) {
                /* MongoDB moves to a double sum once the int64 total overflows. */
                acc->overflowed = true;
                acc->isum = 0;
                kahan_add(acc, (double)old);
                kahan_add(acc, (double)x);
            }
        }
        break;
    }
    case BSON_TYPE_DOUBLE:
        acc->widest = 2;
        kahan_add(acc, v->value.v_double);
        break;
    case BSON_TYPE_DECIMAL128: {
        qry__dec_t x;
        if (!qry__dec_from_value(v, &x))
            return 0;
        dec_add(acc, &x);
        break;
    }
    default:
        return 0; /* non-numbers are ignored */
    }
    acc->count++;
    return 0;
}

/* dec_add -- add x to the exact decimal sum (the first decimal starts it). */
static void dec_add(pl_accum_t *acc, const qry__dec_t *x)
{
    if (!acc->has_dec) {
        acc->has_dec = true;
        acc->dec = *x;
        return;
    }
    qry__dec_add(&acc->dec, x, false, &acc->dec);
}

/* sum_decimal -- the whole sum as a decimal: decimal inputs plus the rest. */
static void sum_decimal(const pl_accum_t *acc, qry__dec_t *out)
{
    bson_value_t rest;
    qry__dec_t r;
    if (acc->widest == 2 || acc->overflowed) {
        rest.value_type = BSON_TYPE_DOUBLE;
        rest.value.v_double = (double)acc->isum + acc->dsum + acc->dcomp;
    } else {
        rest.value_type = BSON_TYPE_INT64;
        rest.value.v_int64 = acc->isum;
    }
    *out = acc->dec;
    if (qry__dec_from_value(&rest, &r))
        qry__dec_add(&acc->dec, &r, false, out);
}

static double sum_double(const pl_accum_t *acc)
{
    return (double)acc->isum + acc->dsum + acc->dcomp;
}

static void append_sum(const pl_accum_t *acc, bson_t *out, const char *key)
{
    if (acc->has_dec) {
        qry__dec_t d;
        bson_value_t v;
        sum_decimal(acc, &d);
        qry__dec_to_value(&d, &v);
        BSON_APPEND_VALUE(out, key, &v);
    } else if (acc->widest == 2 || acc->overflowed)
        BSON_APPEND_DOUBLE(out, key, sum_double(acc));
    else if (acc->widest == 0 && acc->isum >= INT32_MIN && acc->isum <= INT32_MAX)
        BSON_APPEND_INT32(out, key, (int32_t)acc->isum);
    else
        BSON_APPEND_INT64(out, key, acc->isum);
}

/* ---- ordered lists (N accumulators) --------------------------------------- */

/* The item order: by sort key for top/bottom/max/min, by sequence for first/last. */
static int item_cmp(const pl_accum_t *acc, const acc_item_t *a, const acc_item_t *b)
{
    const pl_accum_spec_t *s = acc->spec;
    int c;
    switch (s->op) {
    case A_TOP:
    case A_TOPN:
        c = qry_sort_compare_keys(s->sort, a->key, b->key);
        break;
    case A_BOTTOM:
    case A_BOTTOMN:
        c = -qry_sort_compare_keys(s->sort, a->key, b->key);
        break;
    case A_MAXN:
        c = -bsonu_compare_value(&a->v, &b->v);
        break;
    case A_MINN:
        c = bsonu_compare_value(&a->v, &b->v);
        break;
    default:
        c = 0;
        break;
    }
    if (c != 0)
        return c;
    /* Ties keep arrival order (the sequence in the key's "s" field). */
    bson_iter_t ia, ib;
    int64_t sa = 0, sb = 0;
    if (bson_iter_init_find(&ia, a->key, "s"))
        sa = bson_iter_as_int64(&ia);
    if (bson_iter_init_find(&ib, b->key, "s"))
        sb = bson_iter_as_int64(&ib);
    if (s->op == A_LASTN)
        return sa > sb ? -1 : sa < sb;
    return sa < sb ? -1 : sa > sb;
}

/* insert keeps items sorted best-first and at most nlimit long. */
static void item_insert(pl_accum_t *acc, bson_t *key, const bson_value_t *v)
{
    acc_item_t it;
    it.key = key; /* owned from here */
    bson_value_copy(v, &it.v);
    size_t lo = 0, hi = acc->nitems;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (item_cmp(acc, &acc->items[mid], &it) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if ((int64_t)lo >= acc->nlimit) {
        bson_destroy(it.key);
        bson_value_destroy(&it.v);
        return;
    }
    if (acc->nitems == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 4;
        acc->items = realloc(acc->items, acc->cap * sizeof *acc->items);
        INVARIANT(acc->items != NULL);
    }
    memmove(&acc->items[lo + 1], &acc->items[lo], (acc->nitems - lo) * sizeof *acc->items);
    acc->items[lo] = it;
    acc->nitems++;
    acc->mem += value_mem(v) + it.key->len + sizeof it;
    if ((int64_t)acc->nitems > acc->nlimit) {
        acc_item_t *last = &acc->items[--acc->nitems];
        acc->mem -= value_mem(&last->v) + last->key->len + sizeof *last;
        bson_destroy(last->key);
        bson_value_destroy(&last->v);
    }
}

static int eval_n(pl_accum_t *acc, const bson_t *doc, pl_run_t *run, status_t *st)
{
    const pl_accum_spec_t *s = acc->spec;
    if (!is_n_op(s->op)) {
        acc->nlimit = 1;
        return 0;
    }
    bson_value_t v;
    ST_RET(qry_expr_eval(s->n, run->ex, doc, &v, st));
    int64_t n;
    double d;
    if (!bsonu_number_as_double(&v, &d))
        return status_set(st, 5787902, "Value for 'n' must be of integral type, but found %s",
                          "a non-number");
    if (!bsonu_number_as_int64(&v, &n))
        return status_set(st, 5787903, "Value for 'n' must be of integral type, but found %g", d);
    if (n <= 0)
        return status_set(st, 5787908, "'n' must be greater than 0, found %lld", (long long)n);
    if (n > ACC_MAX_N)
        n = ACC_MAX_N;
    acc->nlimit = n;
    return 0;
}

/* qry__accum_add -- feed one document. */
int qry__accum_add(pl_accum_t *acc, const bson_t *doc, pl_run_t *run, status_t *st)
{
    const pl_accum_spec_t *s = acc->spec;
    uint64_t mark = qry_expr_ctx_mark(run->ex);
    bson_value_t v;
    v.value_type = BSON_TYPE_EOD;
    int ret = 0;
    if (s->arg)
        ST_ERR(qry_expr_eval(s->arg, run->ex, doc, &v, st));
    switch (s->op) {
    case A_SUM:
    case A_AVG:
        ret = add_number(acc, &v, st);
        break;
    case A_COUNT: {
        bson_value_t one = {.value_type = BSON_TYPE_INT32, .value.v_int32 = 1};
        ret = add_number(acc, &one, st);
        break;
    }
    case A_STDDEVPOP:
    case A_STDDEVSAMP: {
        double x; /* decimals join as doubles: MongoDB's result is a double too */
        if (!bsonu_is_number(v.value_type) || !bsonu_number_as_double(&v, &x))
            break;
        acc->count++;
        long double d = (long double)x - acc->mean;
        acc->mean += d / (long double)acc->count;
        acc->m2 += d * ((long double)x - acc->mean);
        break;
    }
    case A_MIN:
    case A_MAX:
        if (v.value_type == BSON_TYPE_EOD || v.value_type == BSON_TYPE_NULL ||
            v.value_type == BSON_TYPE_UNDEFINED)
            break;
        if (!acc->set || (s->op == A_MIN ? bsonu_compare_value(&v, &acc->v) < 0
                                         : bsonu_compare_value(&v, &acc->v) > 0)) {
            if (acc->set)
                bson_value_destroy(&acc->v);
            bson_value_copy(&v, &acc->v);
            acc->set = true;
            acc->mem = sizeof *acc + value_mem(&v);
        }
        break;
    case A_FIRST:
        if (!acc->set) {
            if (v.value_type == BSON_TYPE_EOD)
                v.value_type = BSON_TYPE_NULL;
            bson_value_copy(&v, &acc->v);
            acc->set = true;
            acc->mem += value_mem(&v);
        }
        break;
    case A_LAST:
        if (acc->set)
            bson_value_destroy(&acc->v);
        if (v.value_type == BSON_TYPE_EOD)
            v.value_type = BSON_TYPE_NULL;
        bson_value_copy(&v, &acc->v);
        acc->set = true;
        acc->mem = sizeof *acc + value_mem(&v);
        break;
    case A_PUSH:
    case A_ADDTOSET: {
        if (v.value_type == BSON_TYPE_EOD)
            break;
        list_push(acc, &v, s->op == A_ADDTOSET);
        break;
    }
    case A_MERGEOBJECTS: {
        if (v.value_type == BSON_TYPE_EOD || v.value_type == BSON_TYPE_NULL)
            break;
        if (v.value_type != BSON_TYPE_DOCUMENT) {
            ret = status_set(st, 40400,
                             "$mergeObjects requires object inputs, but input is of type %s",
                             v.value_type == BSON_TYPE_ARRAY ? "array" : "non-object");
            break;
        }
        bson_t in, merged;
        if (!bson_init_static(&in, v.value.v_doc.data, v.value.v_doc.data_len))
            break;
        bson_init(&merged);
        bson_iter_t it;
        bson_iter_init(&it, acc->obj);
        while (bson_iter_next(&it)) {
            bson_iter_t f;
            if (!bson_iter_init_find(&f, &in, bson_iter_key(&it)))
                bson_append_iter(&merged, NULL, 0, &it);
            else
                bson_append_iter(&merged, bson_iter_key(&it), -1, &f);
        }
        bson_iter_init(&it, &in);
        while (bson_iter_next(&it)) {
            bson_iter_t f;
            if (!bson_iter_init_find(&f, acc->obj, bson_iter_key(&it)))
                bson_append_iter(&merged, NULL, 0, &it);
        }
        bson_destroy(acc->obj);
        acc->obj = bson_copy(&merged);
        bson_destroy(&merged);
        break;
    }
    case A_TOP:
    case A_BOTTOM:
    case A_TOPN:
    case A_BOTTOMN:
    case A_FIRSTN:
    case A_LASTN:
    case A_MAXN:
    case A_MINN: {
        if (acc->nlimit < 0)
            ST_ERR(eval_n(acc, doc, run, st));
        if ((s->op == A_MAXN || s->op == A_MINN) &&
            (v.value_type == BSON_TYPE_EOD || v.value_type == BSON_TYPE_NULL ||
             v.value_type == BSON_TYPE_UNDEFINED))
            break;
        if (v.value_type == BSON_TYPE_EOD)
            v.value_type = BSON_TYPE_NULL;
        bson_t *key = bson_new();
        if (s->sort) {
            bson_t k;
            ret = qry_sort_key(s->sort, doc, &k, st);
            if (ret == 0)
                bson_concat(key, &k);
            bson_destroy(&k);
            if (ret != 0) {
                bson_destroy(key);
                break;
            }
        }
        BSON_APPEND_INT64(key, "s", acc->seq++);
        item_insert(acc, key, &v);
        break;
    }
    }
err:
    qry_expr_ctx_release(run->ex, mark);
    return ret;
}

/* ---- partial states ----------------------------------------------------- */

static void append_items(const pl_accum_t *acc, bson_t *out, const char *key, bool with_keys)
{
    bson_t arr;
    bson_append_array_begin(out, key, -1, &arr);
    /* $lastN keeps its items newest first; both outputs list them in arrival order. */
    bool rev = acc->spec->op == A_LASTN || (!with_keys && acc->spec->op == A_BOTTOMN);
    for (size_t j = 0; j < acc->nitems; j++) {
        size_t i = rev ? acc->nitems - 1 - j : j;
        char k[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)j, &kp, k, sizeof k);
        if (with_keys) {
            bson_t pair;
            bson_append_array_begin(&arr, kp, -1, &pair);
            BSON_APPEND_DOCUMENT(&pair, "0", acc->items[i].key);
            BSON_APPEND_VALUE(&pair, "1", &acc->items[i].v);
            bson_append_array_end(&arr, &pair);
        } else {
            BSON_APPEND_VALUE(&arr, kp, &acc->items[i].v);
        }
    }
    bson_append_array_end(out, &arr);
}

/* qry__accum_partial -- the mergeable state under key. */
int qry__accum_partial(const pl_accum_t *acc, bson_t *out, const char *key, status_t *st)
{
    bson_t d;
    bson_append_document_begin(out, key, -1, &d);
    BSON_APPEND_INT32(&d, "w", acc->widest);
    BSON_APPEND_INT64(&d, "i", acc->isum);
    BSON_APPEND_BOOL(&d, "o", acc->overflowed);
    BSON_APPEND_DOUBLE(&d, "d", acc->dsum + acc->dcomp);
    if (acc->has_dec) {
        bson_value_t dv;
        qry__dec_to_value(&acc->dec, &dv);
        BSON_APPEND_VALUE(&d, "dec", &dv);
    }
    BSON_APPEND_INT64(&d, "n", acc->count);
    BSON_APPEND_DOUBLE(&d, "mean", (double)acc->mean);
    BSON_APPEND_DOUBLE(&d, "m2", (double)acc->m2);
    BSON_APPEND_INT64(&d, "lim", acc->nlimit);
    if (acc->set)
        BSON_APPEND_VALUE(&d, "v", &acc->v);
    BSON_APPEND_DOCUMENT(&d, "obj", acc->obj);
    append_items(acc, &d, "items", true);
    bson_append_document_end(out, &d);
    return 0;
}

static int64_t get_i64(const bson_t *d, const char *k)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, k) ? bson_iter_as_int64(&it) : 0;
}

static double get_dbl(const bson_t *d, const char *k)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, k) && BSON_ITER_HOLDS_DOUBLE(&it) ? bson_iter_double(&it)
                                                                         : 0.0;
}

/* qry__accum_merge -- fold a partial state in (partials arrive in input order). */
int qry__accum_merge(pl_accum_t *acc, const bson_value_t *partial, status_t *st)
{
    const pl_accum_spec_t *s = acc->spec;
    bson_t p;
    if (partial->value_type != BSON_TYPE_DOCUMENT ||
        !bson_init_static(&p, partial->value.v_doc.data, partial->value.v_doc.data_len))
        return status_set(st, ERR_InternalError, "bad partial state for %s", s->name);
    bson_iter_t it;
    bson_value_t v;
    bool has_v = bson_iter_init_find(&it, &p, "v");
    if (has_v)
        v = *bson_iter_value(&it);
    switch (s->op) {
    case A_SUM:
    case A_AVG:
    case A_COUNT: {
        int w = (int)get_i64(&p, "w");
        if (w > acc->widest)
            acc->widest = w;
        bson_iter_t o;
        bool ovf = bson_iter_init_find(&o, &p, "o") && bson_iter_as_bool(&o);
        int64_t i = get_i64(&p, "i");
        if (ovf && !acc->overflowed) {
            acc->overflowed = true;
            kahan_add(acc, (double)acc->isum);
            acc->isum = 0;
        }
        if (acc->overflowed) {
            kahan_add(acc, (double)i);
        } else {
            int64_t old = acc->isum;
            if (__builtin_add_overflow(old, i, &acc->isum)) {
                acc->overflowed = true;
                acc->isum = 0;
                kahan_add(acc, (double)old);
                kahan_add(acc, (double)i);
            }
        }
        kahan_add(acc, get_dbl(&p, "d"));
        if (bson_iter_init_find(&o, &p, "dec")) {
            qry__dec_t x;
            if (qry__dec_from_value(bson_iter_value(&o), &x))
                dec_add(acc, &x);
        }
        acc->count += get_i64(&p, "n");
        break;
    }
    case A_STDDEVPOP:
    case A_STDDEVSAMP: {
        int64_t nb = get_i64(&p, "n");
        if (nb == 0)
            break;
        long double mb = get_dbl(&p, "mean"), m2b = get_dbl(&p, "m2");
        int64_t na = acc->count, n = na + nb;
        long double delta = mb - acc->mean;
        acc->mean += delta * (long double)nb / (long double)n;
        acc->m2 += m2b + delta * delta * (long double)na * (long double)nb / (long double)n;
        acc->count = n;
        break;
    }
    case A_MIN:
    case A_MAX:
        if (has_v && (!acc->set || (s->op == A_MIN ? bsonu_compare_value(&v, &acc->v) < 0
                                                   : bsonu_compare_value(&v, &acc->v) > 0))) {
            if (acc->set)
                bson_value_destroy(&acc->v);
            bson_value_copy(&v, &acc->v);
            acc->set = true;
        }
        break;
    case A_FIRST:
        if (has_v && !acc->set) {
            bson_value_copy(&v, &acc->v);
            acc->set = true;
        }
        break;
    case A_LAST:
        if (has_v) {
            if (acc->set)
                bson_value_destroy(&acc->v);
            bson_value_copy(&v, &acc->v);
            acc->set = true;
        }
        break;
    case A_MERGEOBJECTS: {
        bson_iter_t o;
        if (bson_iter_init_find(&o, &p, "obj") && BSON_ITER_HOLDS_DOCUMENT(&o)) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&o, &len, &data);
            bson_t in, merged;
            if (!data || !bson_init_static(&in, data, len))
                break;
            bson_init(&merged);
            bson_iter_t a;
            bson_iter_init(&a, acc->obj);
            while (bson_iter_next(&a)) {
                bson_iter_t f;
                if (!bson_iter_init_find(&f, &in, bson_iter_key(&a)))
                    bson_append_iter(&merged, NULL, 0, &a);
                else
                    bson_append_iter(&merged, bson_iter_key(&a), -1, &f);
            }
            bson_iter_init(&a, &in);
            while (bson_iter_next(&a)) {
                bson_iter_t f;
                if (!bson_iter_init_find(&f, acc->obj, bson_iter_key(&a)))
                    bson_append_iter(&merged, NULL, 0, &a);
            }
            bson_destroy(acc->obj);
            acc->obj = bson_copy(&merged);
            bson_destroy(&merged);
        }
        break;
    }
    default: {
        /* Lists: re-insert each (key, value); sequences are renumbered after ours. */
        int64_t lim = get_i64(&p, "lim");
        if (acc->nlimit < 0)
            acc->nlimit = lim;
        bson_iter_t items, pair;
        if (!bson_iter_init_find(&items, &p, "items") || !bson_iter_recurse(&items, &pair))
            break;
        while (bson_iter_next(&pair)) {
            bson_iter_t kv;
            if (!bson_iter_recurse(&pair, &kv) || !bson_iter_next(&kv))
                continue;
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&kv, &len, &data);
            bson_t kd;
            if (!data || !bson_init_static(&kd, data, len) || !bson_iter_next(&kv))
                continue;
            const bson_value_t *iv = bson_iter_value(&kv);
            if (s->op == A_PUSH || s->op == A_ADDTOSET) {
                list_push(acc, iv, s->op == A_ADDTOSET);
                continue;
            }
            bson_t *key = bson_new();
            bson_iter_t ki;
            bson_iter_init(&ki, &kd);
            while (bson_iter_next(&ki))
                if (strcmp(bson_iter_key(&ki), "s") != 0)
                    bson_append_iter(key, NULL, 0, &ki);
            BSON_APPEND_INT64(key, "s", acc->seq++);
            item_insert(acc, key, iv);
        }
        break;
    }
    }
    return 0;
}

/* qry__accum_final -- append the output value under key. */
int qry__accum_final(const pl_accum_t *acc, bson_t *out, const char *key, status_t *st)
{
    const pl_accum_spec_t *s = acc->spec;
    switch (s->op) {
    case A_SUM:
    case A_COUNT:
        append_sum(acc, out, key);
        break;
    case A_AVG:
        if (acc->count == 0) {
            BSON_APPEND_NULL(out, key);
        } else if (acc->has_dec) {
            qry__dec_t sum, n, q;
            bson_value_t cv = {.value_type = BSON_TYPE_INT64, .value.v_int64 = acc->count}, v;
            sum_decimal(acc, &sum);
            qry__dec_from_value(&cv, &n);
            qry__dec_div(&sum, &n, &q);
            qry__dec_to_value(&q, &v);
            BSON_APPEND_VALUE(out, key, &v);
        } else {
            BSON_APPEND_DOUBLE(out, key, sum_double(acc) / (double)acc->count);
        }
        break;
    case A_STDDEVPOP:
        if (acc->count == 0)
            BSON_APPEND_NULL(out, key);
        else
            BSON_APPEND_DOUBLE(out, key, (double)sqrtl(acc->m2 / (long double)acc->count));
        break;
    case A_STDDEVSAMP:
        if (acc->count < 2)
            BSON_APPEND_NULL(out, key);
        else
            BSON_APPEND_DOUBLE(out, key, (double)sqrtl(acc->m2 / (long double)(acc->count - 1)));
        break;
    case A_MIN:
    case A_MAX:
    case A_FIRST:
    case A_LAST:
        if (acc->set)
            BSON_APPEND_VALUE(out, key, &acc->v);
        else
            BSON_APPEND_NULL(out, key);
        break;
    case A_MERGEOBJECTS:
        BSON_APPEND_DOCUMENT(out, key, acc->obj);
        break;
    case A_TOP:
    case A_BOTTOM:
        if (acc->nitems > 0)
            BSON_APPEND_VALUE(out, key, &acc->items[0].v);
        else
            BSON_APPEND_NULL(out, key);
        break;
    default:
        append_items(acc, out, key, false);
        break;
    }
    (void)st;
    return 0;
}
