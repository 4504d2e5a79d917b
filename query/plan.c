/*
 * plan.c -- the query planner: from a parsed filter, a sort, a hint and the
 * collection's indexes to candidate plans with index bounds.
 *
 * Pure: no storage, no clock. The rules are MongoDB's in miniature -- an
 * index is a candidate when its first field has a predicate that gives bounds
 * (or when it provides the requested sort); bounds follow the key pattern: an
 * equality prefix, then one range, the rest open; $in gives several points;
 * a top-level $or gets an OR plan when every branch is indexable; sparse and
 * partial indexes are used only when the query cannot need the documents they
 * leave out; on multikey paths two predicates' bounds are never intersected.
 * The executor always re-applies the whole filter after the scan, so bounds
 * are allowed to be wider than the filter but never narrower.
 */
#include "query/query.h"
#include "query/query_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MongoDB's location codes for min/max. */
#define PLAN_ERR_MINMAX_NO_HINT 51173
#define PLAN_ERR_MINMAX_PATTERN 51174
#define PLAN_ERR_MINMAX_ORDER   51175

/* ---------------------------------------------------------------- values */

static void val_minkey(bson_value_t *v)
{
    memset(v, 0, sizeof(*v));
    v->value_type = BSON_TYPE_MINKEY;
}

static void val_maxkey(bson_value_t *v)
{
    memset(v, 0, sizeof(*v));
    v->value_type = BSON_TYPE_MAXKEY;
}

static void val_double(bson_value_t *v, double d)
{
    memset(v, 0, sizeof(*v));
    v->value_type = BSON_TYPE_DOUBLE;
    v->value.v_double = d;
}

/*
 * val_copy -- bson_value_copy, except that an empty binary gets a real (1-byte)
 * buffer: libbson copies it as NULL, and comparing a NULL buffer with memcmp
 * is undefined even for length 0.
 */
static void val_copy(bson_value_t *dst, const bson_value_t *src)
{
    bson_value_copy(src, dst);
    if (dst->value_type == BSON_TYPE_BINARY && dst->value.v_binary.data == NULL)
        dst->value.v_binary.data = bson_malloc0(1);
}

static int vcmp(const bson_value_t *a, const bson_value_t *b)
{
    return bsonu_compare_value(a, b);
}

/*
 * type_edges -- the smallest and largest values of v's type bracket and
 * whether each is included, so $gt: 5 becomes (5, inf] and never reaches
 * strings. false: ranges over this type are not indexable.
 */
static bool type_edges(const bson_value_t *v, bson_value_t *lo, bool *lo_incl, bson_value_t *hi,
                       bool *hi_incl)
{
    static const uint8_t empty_doc[5] = {5, 0, 0, 0, 0};
    memset(lo, 0, sizeof(*lo));
    memset(hi, 0, sizeof(*hi));
    *lo_incl = *hi_incl = true;
    switch (bsonu_canonical_type(v->value_type)) {
    case BSONU_CANON_NUMBER:
        val_double(lo, -INFINITY);
        val_double(hi, INFINITY);
        return true;
    case BSONU_CANON_STRING:
        lo->value_type = BSON_TYPE_UTF8;
        lo->value.v_utf8.str = (char *)"";
        lo->value.v_utf8.len = 0;
        hi->value_type = BSON_TYPE_DOCUMENT;
        hi->value.v_doc.data = (uint8_t *)empty_doc;
        hi->value.v_doc.data_len = 5;
        *hi_incl = false;
        return true;
    case BSONU_CANON_OBJECT:
        lo->value_type = BSON_TYPE_DOCUMENT;
        lo->value.v_doc.data = (uint8_t *)empty_doc;
        lo->value.v_doc.data_len = 5;
        hi->value_type = BSON_TYPE_ARRAY;
        hi->value.v_doc.data = (uint8_t *)empty_doc;
        hi->value.v_doc.data_len = 5;
        *hi_incl = false;
        return true;
    case BSONU_CANON_OID:
        lo->value_type = hi->value_type = BSON_TYPE_OID;
        memset(&lo->value.v_oid, 0, sizeof(bson_oid_t));
        memset(&hi->value.v_oid, 0xff, sizeof(bson_oid_t));
        return true;
    case BSONU_CANON_BOOL:
        lo->value_type = hi->value_type = BSON_TYPE_BOOL;
        lo->value.v_bool = false;
        hi->value.v_bool = true;
        return true;
    case BSONU_CANON_DATE:
        lo->value_type = hi->value_type = BSON_TYPE_DATE_TIME;
        lo->value.v_datetime = INT64_MIN;
        hi->value.v_datetime = INT64_MAX;
        return true;
    case BSONU_CANON_TIMESTAMP:
        lo->value_type = hi->value_type = BSON_TYPE_TIMESTAMP;
        lo->value.v_timestamp.timestamp = 0;
        lo->value.v_timestamp.increment = 0;
        hi->value.v_timestamp.timestamp = UINT32_MAX;
        hi->value.v_timestamp.increment = UINT32_MAX;
        return true;
    case BSONU_CANON_NULL:
        lo->value_type = hi->value_type = BSON_TYPE_NULL;
        return true;
    default:
        return false;
    }
}

/* ---------------------------------------------------------------- interval lists */

static void oil_free(qry_oil_t *o)
{
    for (size_t i = 0; i < o->n; i++) {
        bson_value_destroy(&o->iv[i].lo);
        bson_value_destroy(&o->iv[i].hi);
    }
    free(o->iv);
    o->iv = NULL;
    o->n = 0;
}

/* oil_push -- append a copy of [lo, hi]. */
static void oil_push(qry_oil_t *o, const bson_value_t *lo, bool lo_incl, const bson_value_t *hi,
                     bool hi_incl)
{
    /*
     * Grow geometrically: the capacity is the next power of two above n (an
     * $in of a million values is a million pushes). n only grows by pushes,
     * and shrinking it in place keeps the capacity, so a realloc at each power
     * of two keeps room for the next element.
     */
    if (o->n < 4 || (o->n & (o->n - 1)) == 0) {
        size_t cap = o->n < 4 ? 4 : o->n * 2;
        o->iv = realloc(o->iv, cap * sizeof(*o->iv));
    }
    INVARIANT(o->iv != NULL);
    qry_interval_t *iv = &o->iv[o->n++];
    val_copy(&iv->lo, lo);
    val_copy(&iv->hi, hi);
    iv->lo_incl = lo_incl;
    iv->hi_incl = hi_incl;
}

static void oil_full(qry_oil_t *o)
{
    bson_value_t lo, hi;
    val_minkey(&lo);
    val_maxkey(&hi);
    oil_push(o, &lo, true, &hi, true);
}

static bool oil_is_full(const qry_oil_t *o)
{
    return o->n == 1 && o->iv[0].lo.value_type == BSON_TYPE_MINKEY &&
           o->iv[0].hi.value_type == BSON_TYPE_MAXKEY;
}

static bool iv_is_point(const qry_interval_t *iv)
{
    return iv->lo_incl && iv->hi_incl && vcmp(&iv->lo, &iv->hi) == 0;
}

static bool oil_all_points(const qry_oil_t *o)
{
    for (size_t i = 0; i < o->n; i++)
        if (!iv_is_point(&o->iv[i]))
            return false;
    return o->n > 0;
}

static int iv_cmp_lo(const void *a, const void *b)
{
    const qry_interval_t *x = a, *y = b;
    int c = vcmp(&x->lo, &y->lo);
    if (c != 0)
        return c;
    return (int)y->lo_incl - (int)x->lo_incl;
}

/* oil_normalize -- sort by lower end and merge overlapping or touching intervals. */
static void oil_normalize(qry_oil_t *o)
{
    if (o->n < 2)
        return;
    qsort(o->iv, o->n, sizeof(*o->iv), iv_cmp_lo);
    size_t w = 0;
    for (size_t r = 1; r < o->n; r++) {
        qry_interval_t *cur = &o->iv[w], *nx = &o->iv[r];
        int c = vcmp(&nx->lo, &cur->hi);
        if (c < 0 || (c == 0 && (nx->lo_incl || cur->hi_incl))) {
            int h = vcmp(&nx->hi, &cur->hi);
            if (h > 0 || (h == 0 && nx->hi_incl && !cur->hi_incl)) {
                bson_value_destroy(&cur->hi);
                cur->hi = nx->hi;
                cur->hi_incl = nx->hi_incl;
                memset(&nx->hi, 0, sizeof(nx->hi));
            }
            bson_value_destroy(&nx->lo);
            bson_value_destroy(&nx->hi);
        } else {
            o->iv[++w] = *nx;
        }
    }
    o->n = w + 1;
}

/* oil_intersect -- a AND b into out (both normalized). */
static void oil_intersect(const qry_oil_t *a, const qry_oil_t *b, qry_oil_t *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; j < b->n; j++) {
            const qry_interval_t *x = &a->iv[i], *y = &b->iv[j];
            const bson_value_t *lo, *hi;
            bool lo_incl, hi_incl;
            int c = vcmp(&x->lo, &y->lo);
            if (c > 0 || (c == 0 && !x->lo_incl)) {
                lo = &x->lo;
                lo_incl = x->lo_incl;
            } else {
                lo = &y->lo;
                lo_incl = y->lo_incl;
            }
            c = vcmp(&x->hi, &y->hi);
            if (c < 0 || (c == 0 && !x->hi_incl)) {
                hi = &x->hi;
                hi_incl = x->hi_incl;
            } else {
                hi = &y->hi;
                hi_incl = y->hi_incl;
            }
            c = vcmp(lo, hi);
            if (c < 0 || (c == 0 && lo_incl && hi_incl))
                oil_push(out, lo, lo_incl, hi, hi_incl);
        }
    }
    oil_normalize(out);
}

/* ---------------------------------------------------------------- predicates to bounds */

/* regex_prefix -- the literal prefix of a ^-anchored pattern without i/m/x flags. */
static bool regex_prefix(const bson_value_t *re, char *buf, size_t cap)
{
    const char *pat = re->value.v_regex.regex, *opts = re->value.v_regex.options;
    if (opts != NULL && (strchr(opts, 'i') || strchr(opts, 'm') || strchr(opts, 'x')))
        return false;
    if (pat[0] != '^')
        return false;
    size_t n = 0;
    for (const char *p = pat + 1; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (strchr("\\^$.|?*+()[]{}", ch) || ch >= 0x80)
            break;
        if (n + 1 >= cap)
            break;
        buf[n++] = (char)ch;
    }
    /* A quantifier applies to the last literal: drop it. */
    if (pat[1 + n] == '?' || pat[1 + n] == '*' || pat[1 + n] == '{')
        n = n > 0 ? n - 1 : 0;
    buf[n] = '\0';
    return true;
}

/* add_regex -- the string range a regex can match, plus the regex value itself. */
static void add_regex(qry_oil_t *o, const bson_value_t *re)
{
    char prefix[256];
    bson_value_t lo, hi;
    bool li, hi_i;
    bson_value_t s;
    memset(&s, 0, sizeof(s));
    s.value_type = BSON_TYPE_UTF8;
    if (regex_prefix(re, prefix, sizeof(prefix)) && prefix[0] != '\0') {
        size_t n = strlen(prefix);
        char upper[256];
        memcpy(upper, prefix, n + 1);
        upper[n - 1] = (char)(upper[n - 1] + 1); /* ASCII, < 0x80: no overflow */
        bson_value_t a = s, b = s;
        a.value.v_utf8.str = prefix;
        a.value.v_utf8.len = (uint32_t)n;
        b.value.v_utf8.str = upper;
        b.value.v_utf8.len = (uint32_t)n;
        oil_push(o, &a, true, &b, false);
    } else {
        s.value.v_utf8.str = (char *)"";
        type_edges(&s, &lo, &li, &hi, &hi_i);
        oil_push(o, &lo, li, &hi, hi_i);
    }
    oil_push(o, re, true, re, true);
}

/* add_point -- an equality; null also matches undefined (both index as null/undefined). */
static bool add_point(qry_oil_t *o, const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_ARRAY:
        return false; /* matches the array or an element: not expressed here */
    case BSON_TYPE_REGEX:
        add_regex(o, v);
        return true;
    case BSON_TYPE_NULL: {
        bson_value_t u;
        memset(&u, 0, sizeof(u));
        u.value_type = BSON_TYPE_UNDEFINED;
        oil_push(o, &u, true, &u, true);
        oil_push(o, v, true, v, true);
        return true;
    }
    default:
        oil_push(o, v, true, v, true);
        return true;
    }
}

/*
 * leaf_bounds -- the intervals a single leaf allows on its path; false when
 * the leaf gives no usable bounds (the residual filter handles it).
 */
static bool leaf_bounds(const qry_match_node_t *n, qry_oil_t *o)
{
    const bson_value_t *v = qry_match_node_operand(n);
    bson_value_t lo, hi;
    bool li, hii;
    memset(o, 0, sizeof(*o));
    switch (qry_match_node_kind(n)) {
    case QRY_MATCH_EQ:
        if (!add_point(o, v))
            goto none;
        break;
    case QRY_MATCH_IN: {
        bson_iter_t it;
        if (v == NULL || v->value_type != BSON_TYPE_ARRAY ||
            !bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
            goto none;
        while (bson_iter_next(&it))
            if (!add_point(o, bson_iter_value(&it)))
                goto none;
        if (o->n == 0)
            return true; /* $in: [] matches nothing: empty bounds */
        break;
    }
    case QRY_MATCH_REGEX:
        if (v == NULL || v->value_type != BSON_TYPE_REGEX)
            goto none;
        add_regex(o, v);
        break;
    case QRY_MATCH_LT:
    case QRY_MATCH_LTE:
    case QRY_MATCH_GT:
    case QRY_MATCH_GTE: {
        qry_match_kind_t k = qry_match_node_kind(n);
        if (v == NULL || !type_edges(v, &lo, &li, &hi, &hii))
            goto none;
        if (v->value_type == BSON_TYPE_DOUBLE && isnan(v->value.v_double))
            goto none;
        if (k == QRY_MATCH_LT || k == QRY_MATCH_LTE)
            oil_push(o, &lo, li, v, k == QRY_MATCH_LTE);
        else
            oil_push(o, v, k == QRY_MATCH_GTE, &hi, hii);
        if (vcmp(&o->iv[0].lo, &o->iv[0].hi) > 0)
            oil_free(o); /* e.g. $gt: inf -- nothing */
        break;
    }
    default:
        goto none;
    }
    oil_normalize(o);
    return true;
none:
    oil_free(o);
    return false;
}

/* ---------------------------------------------------------------- the filter's predicates */

typedef qry__preds_t preds_t;

/* collect -- the leaves ANDed at the top of node (nested ANDs flattened). */
static void collect(const qry_match_node_t *node, preds_t *p)
{
    if (node == NULL)
        return;
    if (qry_match_node_kind(node) == QRY_MATCH_AND) {
        for (size_t i = 0; i < qry_match_node_nchildren(node); i++)
            collect(qry_match_node_child(node, i), p);
        return;
    }
    if (qry_match_node_path(node) == NULL)
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->v = realloc(p->v, p->cap * sizeof(*p->v));
        INVARIANT(p->v != NULL);
    }
    p->v[p->n++] = node;
}

/* path_multikey -- whether path or a prefix of it is recorded as holding arrays. */
static bool path_multikey(const qry_index_info_t *ix, const char *path)
{
    if (!ix->multikey)
        return false;
    if (ix->multikey_paths == NULL)
        return true;
    bson_iter_t it;
    if (!bson_iter_init(&it, ix->multikey_paths))
        return true;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        size_t kl = strlen(k);
        if (strncmp(k, path, kl) == 0 && (path[kl] == '\0' || path[kl] == '.'))
            return true;
    }
    return false;
}

/*
 * field_bounds -- the intervals for one key field from every predicate on its
 * path; *used says whether any predicate gave bounds. On a multikey path only
 * the first predicate's bounds count: {a: {$gt: 1, $lt: 5}} on a: [0, 10]
 * matches, so intersecting [1..5] would lose it.
 */
static void field_bounds(const preds_t *p, const char *path, bool multikey, qry_oil_t *out,
                         bool *used, bool *matches_null)
{
    bool have = false;
    memset(out, 0, sizeof(*out));
    *matches_null = false;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(qry_match_node_path(p->v[i]), path) != 0)
            continue;
        qry_oil_t o;
        if (!leaf_bounds(p->v[i], &o))
            continue;
        if (!have) {
            *out = o;
            have = true;
        } else if (!multikey) {
            qry_oil_t x;
            oil_intersect(out, &o, &x);
            oil_free(out);
            oil_free(&o);
            *out = x;
        } else {
            oil_free(&o);
        }
    }
    if (!have)
        oil_full(out);
    else {
        bson_value_t nv;
        memset(&nv, 0, sizeof(nv));
        nv.value_type = BSON_TYPE_NULL;
        for (size_t i = 0; i < out->n; i++) {
            int a = vcmp(&out->iv[i].lo, &nv), b = vcmp(&out->iv[i].hi, &nv);
            if ((a < 0 || (a == 0 && out->iv[i].lo_incl)) &&
                (b > 0 || (b == 0 && out->iv[i].hi_incl)))
                *matches_null = true;
        }
    }
    *used = have;
}

/* ---------------------------------------------------------------- sort */

/* qry_plan_sort_provided -- see query.h. */
bool qry_plan_sort_provided(const bson_t *key_pattern, uint32_t points, const bson_t *sort,
                            const bson_t *multikey_paths, int *direction)
{
    bson_iter_t ki, si;
    int dir = 0;
    uint32_t fi = 0;
    *direction = 1;
    if (sort == NULL || bson_empty(sort))
        return true;
    if (!bson_iter_init(&ki, key_pattern) || !bson_iter_init(&si, sort))
        return false;
    bool kvalid = bson_iter_next(&ki);
    while (bson_iter_next(&si)) {
        double sd;
        if (!bsonu_number_as_double(bson_iter_value(&si), &sd))
            return false; /* $meta sorts need a SORT stage */
        const char *sp = bson_iter_key(&si);
        while (kvalid && fi < 32 && (points & (1u << fi)) && strcmp(bson_iter_key(&ki), sp) != 0) {
            kvalid = bson_iter_next(&ki);
            fi++;
        }
        if (!kvalid || strcmp(bson_iter_key(&ki), sp) != 0)
            return false;
        double kd;
        if (!bsonu_number_as_double(bson_iter_value(&ki), &kd))
            return false;
        int d = ((kd < 0) == (sd < 0)) ? 1 : -1;
        if (dir != 0 && d != dir)
            return false;
        dir = d;
        if (multikey_paths != NULL) {
            bson_iter_t m;
            if (bson_iter_init(&m, multikey_paths))
                while (bson_iter_next(&m)) {
                    const char *k = bson_iter_key(&m);
                    size_t kl = strlen(k);
                    if (strncmp(k, sp, kl) == 0 && (sp[kl] == '\0' || sp[kl] == '.'))
                        return false;
                }
        }
        kvalid = bson_iter_next(&ki);
        fi++;
    }
    *direction = dir == 0 ? 1 : dir;
    return true;
}

/* ---------------------------------------------------------------- ranges */

static bool field_desc(bson_iter_t *it)
{
    double d;
    return bsonu_number_as_double(bson_iter_value(it), &d) && d < 0;
}

typedef struct rbuild {
    qry_ixrange_t *r;
    size_t n, cap;
} rbuild_t;

/* explode -- ranges over fields [f..nf) given prefix values in start/end docs. */
static void explode(const qry_oil_t *b, const bool *desc, size_t f, size_t nf, bson_t *prefix,
                    rbuild_t *rb, size_t budget)
{
    /* Past the last bounded field, or the rest is open: one range for the prefix. */
    if (f == nf || oil_is_full(&b[f])) {
        if (rb->n == rb->cap) {
            rb->cap = rb->cap ? rb->cap * 2 : 8;
            rb->r = realloc(rb->r, rb->cap * sizeof(*rb->r));
            INVARIANT(rb->r != NULL);
        }
        qry_ixrange_t *r = &rb->r[rb->n++];
        memset(r, 0, sizeof(*r));
        r->has_start = r->has_end = !bson_empty(prefix);
        bson_copy_to(prefix, &r->start);
        bson_copy_to(prefix, &r->end);
        r->start_incl = r->end_incl = true;
        return;
    }
    const qry_oil_t *o = &b[f];
    bool points = oil_all_points(o) && o->n <= budget;
    if (rb->cap < rb->n + o->n && (f + 1 == nf || !points)) {
        /* the last level adds one range per interval: grow once, not by doubling */
        rb->cap = rb->n + o->n;
        rb->r = realloc(rb->r, rb->cap * sizeof(*rb->r));
        INVARIANT(rb->r != NULL);
    }
    for (size_t k = 0; k < o->n; k++) {
        /* Index order: a descending field is scanned from its largest value. */
        const qry_interval_t *iv = &o->iv[desc[f] ? o->n - 1 - k : k];
        if (points) {
            bson_t p2;
            bson_init(&p2);
            bson_concat(&p2, prefix);
            bson_append_value(&p2, "", 0, &iv->lo);
            explode(b, desc, f + 1, nf, &p2, rb, budget / o->n);
            bson_destroy(&p2);
            continue;
        }
        if (rb->n == rb->cap) {
            rb->cap = rb->cap ? rb->cap * 2 : 8;
            rb->r = realloc(rb->r, rb->cap * sizeof(*rb->r));
            INVARIANT(rb->r != NULL);
        }
        qry_ixrange_t *r = &rb->r[rb->n++];
        memset(r, 0, sizeof(*r));
        r->has_start = r->has_end = true;
        bson_init(&r->start);
        bson_init(&r->end);
        bson_concat(&r->start, prefix);
        bson_concat(&r->end, prefix);
        const bson_value_t *s = desc[f] ? &iv->hi : &iv->lo, *e = desc[f] ? &iv->lo : &iv->hi;
        r->start_incl = desc[f] ? iv->hi_incl : iv->lo_incl;
        r->end_incl = desc[f] ? iv->lo_incl : iv->hi_incl;
        bson_append_value(&r->start, "", 0, s);
        bson_append_value(&r->end, "", 0, e);
    }
}

/* reverse_ranges -- for a backward scan: last range first, start and end swapped. */
static void reverse_ranges(qry_plan_t *p)
{
    for (size_t i = 0; i < p->nranges / 2; i++) {
        qry_ixrange_t t = p->ranges[i];
        p->ranges[i] = p->ranges[p->nranges - 1 - i];
        p->ranges[p->nranges - 1 - i] = t;
    }
    for (size_t i = 0; i < p->nranges; i++) {
        qry_ixrange_t *r = &p->ranges[i];
        bson_t t;
        bson_init(&t);
        bson_concat(&t, &r->start);
        bson_reinit(&r->start);
        bson_concat(&r->start, &r->end);
        bson_reinit(&r->end);
        bson_concat(&r->end, &t);
        bson_destroy(&t);
        bool b = r->start_incl;
        r->start_incl = r->end_incl;
        r->end_incl = b;
        b = r->has_start;
        r->has_start = r->has_end;
        r->has_end = b;
    }
}

/* ---------------------------------------------------------------- plans */

static qry_plan_t *plan_new(qry_plan_kind_t kind)
{
    qry_plan_t *p = calloc(1, sizeof(*p));
    INVARIANT(p != NULL);
    p->kind = kind;
    p->direction = 1;
    return p;
}

/* qry_plan_free -- see query.h. */
void qry_plan_free(qry_plan_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nfields; i++)
        oil_free(&p->bounds[i]);
    free(p->bounds);
    for (size_t i = 0; i < p->nranges; i++) {
        bson_destroy(&p->ranges[i].start);
        bson_destroy(&p->ranges[i].end);
    }
    free(p->ranges);
    for (size_t i = 0; i < p->nchildren; i++)
        qry_plan_free(p->children[i]);
    free(p->children);
    if (p->key_pattern != NULL)
        bson_destroy(p->key_pattern);
    free(p);
}

/* qry_plan_free_all -- see query.h. */
void qry_plan_free_all(qry_plan_t **plans, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qry_plan_free(plans[i]);
    free(plans);
}

/*
 * ixscan_plan -- an IXSCAN of index ix for the predicates; NULL when the index
 * is not a candidate (no bounds on its first field and no sort to provide, or
 * sparse/partial rules). force: a hint -- always build it.
 */
static qry_plan_t *ixscan_plan(const qry_plan_request_t *req, size_t ixno, const preds_t *p,
                               const bson_t *sort, bool force)
{
    const qry_index_info_t *ix = &req->indexes[ixno];
    bson_iter_t it;
    size_t nf = 0;
    if (bsonu_is_wildcard_pattern(ix->key_pattern))
        return qry__wildcard_plan(req, ixno, p, sort, force);
    if (!bson_iter_init(&it, ix->key_pattern))
        return NULL;
    while (bson_iter_next(&it))
        nf++;
    if (nf == 0 || nf > 32)
        return NULL;

    qry_plan_t *pl = plan_new(QRY_PLAN_IXSCAN);
    pl->index = ixno;
    pl->nfields = nf;
    pl->bounds = calloc(nf, sizeof(qry_oil_t));
    bool desc[32];
    bool first_used = false, null_ok = false, closed = false;
    uint32_t points = 0;
    size_t f = 0;
    bson_iter_init(&it, ix->key_pattern);
    while (bson_iter_next(&it)) {
        const char *path = bson_iter_key(&it);
        desc[f] = field_desc(&it);
        bool used = false, mnull = false;
        if (closed) {
            /* After a range field the rest is open: the filter checks it after the scan. */
            oil_full(&pl->bounds[f]);
        } else {
            field_bounds(p, path, path_multikey(ix, path), &pl->bounds[f], &used, &mnull);
            if (used && mnull)
                null_ok = true;
            if (f == 0)
                first_used = used;
            if (used && pl->bounds[f].n == 1 && iv_is_point(&pl->bounds[f].iv[0]))
                points |= 1u << f;
            else if (!used || !oil_all_points(&pl->bounds[f]))
                closed = true;
        }
        f++;
    }
    int dir = 1;
    bson_t mkp;
    bson_init(&mkp);
    if (ix->multikey) {
        if (ix->multikey_paths != NULL)
            bson_concat(&mkp, ix->multikey_paths);
        else { /* unknown paths: every field counts as multikey */
            bson_iter_init(&it, ix->key_pattern);
            while (bson_iter_next(&it))
                BSON_APPEND_BOOL(&mkp, bson_iter_key(&it), true);
        }
    }
    pl->provides_sort = qry_plan_sort_provided(ix->key_pattern, points, sort, &mkp, &dir);
    bson_destroy(&mkp);
    bool has_sort = sort != NULL && !bson_empty(sort);
    if (!force) {
        bool useful = first_used || (has_sort && pl->provides_sort);
        /* A sparse index lacks documents without the fields; a query that can match
         * null/missing, or that uses the index only for its sort, needs them. */
        if (ix->sparse && (!first_used || null_ok))
            useful = false;
        if (ix->partial != NULL && !first_used)
            useful = false;
        if (!useful) {
            qry_plan_free(pl);
            return NULL;
        }
    }
    pl->direction = dir;
    rbuild_t rb = {0};
    bson_t prefix = BSON_INITIALIZER;
    explode(pl->bounds, desc, 0, nf, &prefix, &rb, QRY_PLAN_MAX_RANGES);
    bson_destroy(&prefix);
    pl->ranges = rb.r;
    pl->nranges = rb.n;
    /* An empty interval list somewhere: explode produced nothing; the scan is empty. */
    if (dir < 0)
        reverse_ranges(pl);
    pl->dedup = ix->multikey;
    snprintf(pl->summary, sizeof(pl->summary), "IXSCAN %s%s", ix->name, dir < 0 ? " -1" : "");
    return pl;
}

/* qry__ixscan_plan -- see query_int.h. */
qry_plan_t *qry__ixscan_plan(const qry_plan_request_t *req, size_t ixno, const qry__preds_t *p,
                             const bson_t *sort, bool force)
{
    return ixscan_plan(req, ixno, p, sort, force);
}

/* ---------------------------------------------------------------- partial indexes */

/* leaf_implies -- whether query leaf q guarantees partial-filter leaf pf. */
static bool leaf_implies(const qry_match_node_t *q, const qry_match_node_t *pf)
{
    const char *qp = qry_match_node_path(q), *pp = qry_match_node_path(pf);
    if (qp == NULL || pp == NULL || strcmp(qp, pp) != 0)
        return false;
    qry_match_kind_t qk = qry_match_node_kind(q), pk = qry_match_node_kind(pf);
    const bson_value_t *qv = qry_match_node_operand(q), *pv = qry_match_node_operand(pf);
    if (pk == QRY_MATCH_EXISTS) {
        switch (qk) {
        case QRY_MATCH_EQ:
            return qv != NULL && qv->value_type != BSON_TYPE_NULL;
        case QRY_MATCH_LT:
        case QRY_MATCH_LTE:
        case QRY_MATCH_GT:
        case QRY_MATCH_GTE:
        case QRY_MATCH_EXISTS:
        case QRY_MATCH_REGEX:
        case QRY_MATCH_TYPE:
            return true;
        default:
            return false;
        }
    }
    if (qv == NULL || pv == NULL)
        return false;
    if (pk == QRY_MATCH_EQ)
        return qk == QRY_MATCH_EQ && bsonu_equal_value(qv, pv);
    if (pk != QRY_MATCH_LT && pk != QRY_MATCH_LTE && pk != QRY_MATCH_GT && pk != QRY_MATCH_GTE)
        return false;
    if (bsonu_canonical_type(qv->value_type) != bsonu_canonical_type(pv->value_type))
        return false;
    int c = vcmp(qv, pv);
    bool upper = pk == QRY_MATCH_LT || pk == QRY_MATCH_LTE;
    bool strict = pk == QRY_MATCH_LT || pk == QRY_MATCH_GT;
    if (qk == QRY_MATCH_EQ)
        return upper ? (strict ? c < 0 : c <= 0) : (strict ? c > 0 : c >= 0);
    if (upper && (qk == QRY_MATCH_LT || qk == QRY_MATCH_LTE))
        return (qk == QRY_MATCH_LT || !strict) ? c <= 0 : c < 0;
    if (!upper && (qk == QRY_MATCH_GT || qk == QRY_MATCH_GTE))
        return (qk == QRY_MATCH_GT || !strict) ? c >= 0 : c > 0;
    return false;
}

/* implies -- every top-level leaf of the partial filter follows from some query leaf. */
static bool implies(const preds_t *q, const qry_match_t *partial)
{
    preds_t pp = {0};
    const qry_match_node_t *root = qry_match_root(partial);
    collect(root, &pp);
    bool ok = true;
    /* Anything but ANDed leaves (e.g. $or) in the partial filter: not provable here. */
    if (qry_match_node_kind(root) != QRY_MATCH_AND && qry_match_node_path(root) == NULL)
        ok = false;
    for (size_t i = 0; ok && i < pp.n; i++) {
        bool found = false;
        for (size_t j = 0; j < q->n && !found; j++)
            found = leaf_implies(q->v[j], pp.v[i]);
        ok = found;
    }
    free(pp.v);
    return ok;
}

/* ---------------------------------------------------------------- enumeration */

static void push_plan(qry_plan_t ***v, size_t *n, qry_plan_t *p)
{
    *v = realloc(*v, (*n + 1) * sizeof(**v));
    INVARIANT(*v != NULL);
    (*v)[(*n)++] = p;
}

/* score_bounds -- how many leading fields the plan pins (a crude branch chooser for $or). */
static size_t score_bounds(const qry_plan_t *p)
{
    size_t s = 0;
    for (size_t i = 0; i < p->nfields; i++) {
        if (oil_is_full(&p->bounds[i]))
            break;
        s += oil_all_points(&p->bounds[i]) ? 2 : 1;
    }
    return s;
}

/* or_plan -- one IXSCAN per $or branch, or NULL if a branch has none. */
static qry_plan_t *or_plan(const qry_plan_request_t *req, const qry_match_node_t *orn)
{
    qry_plan_t *pl = plan_new(QRY_PLAN_OR);
    for (size_t b = 0; b < qry_match_node_nchildren(orn); b++) {
        preds_t bp = {0};
        collect(qry_match_node_child(orn, b), &bp);
        qry_plan_t *best = NULL;
        for (size_t i = 0; i < req->nindexes; i++) {
            if (req->indexes[i].partial != NULL && !implies(&bp, req->indexes[i].partial))
                continue;
            qry_plan_t *c = ixscan_plan(req, i, &bp, NULL, false);
            if (c == NULL)
                continue;
            if (best == NULL || score_bounds(c) > score_bounds(best)) {
                qry_plan_free(best);
                best = c;
            } else {
                qry_plan_free(c);
            }
        }
        free(bp.v);
        if (best == NULL) {
            qry_plan_free(pl);
            return NULL;
        }
        push_plan(&pl->children, &pl->nchildren, best);
    }
    pl->dedup = true;
    pl->provides_sort = false;
    size_t off = (size_t)snprintf(pl->summary, sizeof(pl->summary), "OR");
    for (size_t i = 0; i < pl->nchildren && off < sizeof(pl->summary); i++)
        off += (size_t)snprintf(pl->summary + off, sizeof(pl->summary) - off, " %s",
                                req->indexes[pl->children[i]->index].name);
    return pl;
}

/* find_hinted -- the index a hint names (by name or key pattern); -1 if none. */
static long find_hinted(const qry_plan_request_t *req, const bson_value_t *hint)
{
    for (size_t i = 0; i < req->nindexes; i++) {
        if (hint->value_type == BSON_TYPE_UTF8) {
            if (strcmp(req->indexes[i].name, hint->value.v_utf8.str) == 0)
                return (long)i;
        } else if (hint->value_type == BSON_TYPE_DOCUMENT) {
            bson_t h;
            if (bson_init_static(&h, hint->value.v_doc.data, hint->value.v_doc.data_len) &&
                bson_equal(&h, req->indexes[i].key_pattern))
                return (long)i;
            /* Numbers of other types ({a: 1.0} for {a: 1}) name the same index. */
            if (bson_init_static(&h, hint->value.v_doc.data, hint->value.v_doc.data_len) &&
                bson_count_keys(&h) == bson_count_keys(req->indexes[i].key_pattern) &&
                bsonu_compare_doc(&h, req->indexes[i].key_pattern) == 0)
                return (long)i;
        }
    }
    return -1;
}

/* is_wildcard_pattern -- whether a key pattern has a wildcard field ("$**" or "a.$**"). */
static bool is_wildcard_pattern(const bson_t *kp)
{
    bson_iter_t it;
    if (kp == NULL || !bson_iter_init(&it, kp))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        size_t n = strlen(k);
        if (n >= 3 && strcmp(k + n - 3, "$**") == 0)
            return true;
    }
    return false;
}

/* natural_hint -- {$natural: +-1}: *dir set, true. */
static bool natural_hint(const bson_value_t *hint, int *dir)
{
    bson_iter_t it;
    double d;
    if (hint->value_type != BSON_TYPE_DOCUMENT ||
        !bson_iter_init_from_data(&it, hint->value.v_doc.data, hint->value.v_doc.data_len) ||
        !bson_iter_next(&it) || strcmp(bson_iter_key(&it), "$natural") != 0)
        return false;
    *dir = bsonu_number_as_double(bson_iter_value(&it), &d) && d < 0 ? -1 : 1;
    return true;
}

/* minmax_plan -- an IXSCAN from min (inclusive) to max (exclusive) over the hinted index. */
static int minmax_plan(const qry_plan_request_t *req, size_t ixno, qry_plan_t **out, status_t *st)
{
    const qry_index_info_t *ix = &req->indexes[ixno];
    const bson_t *ends[2] = {req->min, req->max};
    if (bsonu_is_wildcard_pattern(ix->key_pattern)) /* its keys are (path, value) pairs */
        return status_set(st, PLAN_ERR_MINMAX_PATTERN,
                          "The index chosen is not consistent with min/max: min/max are not "
                          "supported on a wildcard index");
    for (int e = 0; e < 2; e++) {
        if (ends[e] == NULL)
            continue;
        bson_iter_t a, b;
        bson_iter_init(&a, ends[e]);
        bson_iter_init(&b, ix->key_pattern);
        bool ok = true;
        while (ok) {
            bool na = bson_iter_next(&a), nb = bson_iter_next(&b);
            if (na != nb || (na && strcmp(bson_iter_key(&a), bson_iter_key(&b)) != 0))
                ok = false;
            if (!na || !nb)
                break;
        }
        if (!ok)
            return status_set(st, PLAN_ERR_MINMAX_PATTERN,
                              "The index chosen is not consistent with min/max: %s must have the "
                              "same fields as the key pattern",
                              e == 0 ? "min" : "max");
    }
    if (req->min != NULL && req->max != NULL) {
        bson_t a = BSON_INITIALIZER, b = BSON_INITIALIZER;
        bson_iter_t it;
        /* Compare as key values in index order: descending fields flip. */
        bson_iter_t ki;
        bson_iter_init(&ki, ix->key_pattern);
        bson_iter_init(&it, req->min);
        int c = 0;
        bson_iter_t jt;
        bson_iter_init(&jt, req->max);
        while (c == 0 && bson_iter_next(&it) && bson_iter_next(&jt) && bson_iter_next(&ki)) {
            c = bsonu_compare_value(bson_iter_value(&it), bson_iter_value(&jt));
            if (field_desc(&ki))
                c = -c;
        }
        bson_destroy(&a);
        bson_destroy(&b);
        if (c > 0)
            return status_set(st, PLAN_ERR_MINMAX_ORDER, "max() must be greater than min()");
    }
    qry_plan_t *pl = plan_new(QRY_PLAN_IXSCAN);
    pl->index = ixno;
    pl->nfields = (size_t)bson_count_keys(ix->key_pattern);
    pl->bounds = calloc(pl->nfields ? pl->nfields : 1, sizeof(qry_oil_t));
    for (size_t i = 0; i < pl->nfields; i++)
        oil_full(&pl->bounds[i]);
    pl->ranges = calloc(1, sizeof(qry_ixrange_t));
    pl->nranges = 1;
    qry_ixrange_t *r = &pl->ranges[0];
    bson_init(&r->start);
    bson_init(&r->end);
    bson_iter_t it;
    if (req->min != NULL) {
        r->has_start = true;
        r->start_incl = true;
        bson_iter_init(&it, req->min);
        while (bson_iter_next(&it))
            bson_append_value(&r->start, "", 0, bson_iter_value(&it));
    }
    if (req->max != NULL) {
        r->has_end = true;
        r->end_incl = false;
        bson_iter_init(&it, req->max);
        while (bson_iter_next(&it))
            bson_append_value(&r->end, "", 0, bson_iter_value(&it));
    }
    pl->dedup = ix->multikey;
    snprintf(pl->summary, sizeof(pl->summary), "IXSCAN %s minmax", ix->name);
    *out = pl;
    return 0;
}

/* qry_plan_enumerate -- see query.h. */
int qry_plan_enumerate(const qry_plan_request_t *req, qry_plan_t ***plans, size_t *n, status_t *st)
{
    qry_plan_t **v = NULL;
    size_t nv = 0;
    preds_t p = {0};
    const qry_match_node_t *root = qry_match_root(req->filter);
    const bson_t *sort = req->sort;
    *plans = NULL;
    *n = 0;

    if ((req->min != NULL || req->max != NULL) && req->hint == NULL)
        return status_set(st, PLAN_ERR_MINMAX_NO_HINT,
                          "When using min()/max() a hint of which index to use must be provided");
    collect(root, &p);

    if (req->hint != NULL) {
        int dir = 1;
        if (natural_hint(req->hint, &dir)) {
            if (req->no_table_scan) {
                free(p.v);
                return status_set(st, ERR_NoQueryExecutionPlans,
                                  "hint $natural is not allowed, because 'notablescan' is enabled");
            }
            if (req->min != NULL || req->max != NULL) {
                free(p.v);
                return status_set(st, PLAN_ERR_MINMAX_NO_HINT,
                                  "min and max are not allowed with a $natural hint");
            }
            qry_plan_t *c = plan_new(QRY_PLAN_COLLSCAN);
            c->direction = dir;
            snprintf(c->summary, sizeof(c->summary), "COLLSCAN%s", dir < 0 ? " -1" : "");
            push_plan(&v, &nv, c);
        } else {
            long ix = find_hinted(req, req->hint);
            if (ix < 0) {
                free(p.v);
                return status_set(st, ERR_BadValue,
                                  "hint provided does not correspond to an existing index");
            }
            qry_plan_t *c = NULL;
            if (req->min != NULL || req->max != NULL) {
                int ret = minmax_plan(req, (size_t)ix, &c, st);
                if (ret != 0) {
                    free(p.v);
                    return ret;
                }
                int d2;
                c->provides_sort = qry_plan_sort_provided(req->indexes[ix].key_pattern, 0, sort,
                                                          req->indexes[ix].multikey_paths, &d2) &&
                                   d2 > 0;
            } else {
                c = ixscan_plan(req, (size_t)ix, &p, sort, true);
            }
            if (c == NULL) {
                free(p.v);
                /* a hinted wildcard index ($**) that cannot answer the predicate: MongoDB's
                 * NoQueryExecutionPlans (its planner finds no solution with that index) */
                if (is_wildcard_pattern(req->indexes[ix].key_pattern))
                    return status_set(st, ERR_NoQueryExecutionPlans,
                                      "error processing query: planner returned error :: caused "
                                      "by :: No query solutions");
                return status_set(st, ERR_BadValue, "bad index key pattern for hint");
            }
            push_plan(&v, &nv, c);
        }
        free(p.v);
        *plans = v;
        *n = nv;
        return 0;
    }

    for (size_t i = 0; i < req->nindexes; i++) {
        if (req->indexes[i].partial != NULL && !implies(&p, req->indexes[i].partial))
            continue;
        qry_plan_t *c = ixscan_plan(req, i, &p, sort, false);
        if (c != NULL)
            push_plan(&v, &nv, c);
    }
    /* A $or at the top, or ANDed at the top ({x: 1, $or: [...]}: x is checked after the
     * fetch), can use an index per branch. */
    if (root != NULL && qry_match_node_kind(root) == QRY_MATCH_OR) {
        qry_plan_t *c = or_plan(req, root);
        if (c != NULL)
            push_plan(&v, &nv, c);
    } else if (root != NULL && qry_match_node_kind(root) == QRY_MATCH_AND) {
        for (size_t i = 0; i < qry_match_node_nchildren(root); i++) {
            const qry_match_node_t *ch = qry_match_node_child(root, i);
            if (qry_match_node_kind(ch) != QRY_MATCH_OR)
                continue;
            qry_plan_t *c = or_plan(req, ch);
            if (c != NULL)
                push_plan(&v, &nv, c);
        }
    }
    if (nv == 0 && req->no_table_scan) {
        free(p.v);
        return status_set(st, ERR_NoQueryExecutionPlans,
                          "error processing query: planner returned error :: caused by :: No "
                          "indexed plans available, and running with 'notablescan'");
    }
    if (nv == 0) {
        qry_plan_t *c = plan_new(QRY_PLAN_COLLSCAN);
        c->provides_sort = sort == NULL || bson_empty(sort);
        snprintf(c->summary, sizeof(c->summary), "COLLSCAN");
        push_plan(&v, &nv, c);
    }
    free(p.v);
    *plans = v;
    *n = nv;
    return 0;
}

/* ---------------------------------------------------------------- explain and shapes */

/* fmt_value -- a bound the way MongoDB's explain prints it. */
static void fmt_value(bson_string_t *s, const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_MINKEY:
        bson_string_append(s, "MinKey");
        return;
    case BSON_TYPE_MAXKEY:
        bson_string_append(s, "MaxKey");
        return;
    case BSON_TYPE_INT32:
        bson_string_append_printf(s, "%d", v->value.v_int32);
        return;
    case BSON_TYPE_INT64:
        bson_string_append_printf(s, "%lld", (long long)v->value.v_int64);
        return;
    case BSON_TYPE_DOUBLE: {
        double d = v->value.v_double;
        if (isinf(d))
            bson_string_append(s, d < 0 ? "-inf.0" : "inf.0");
        else if (isnan(d))
            bson_string_append(s, "nan.0");
        else if (d == floor(d) && fabs(d) < 1e15)
            bson_string_append_printf(s, "%.1f", d);
        else
            bson_string_append_printf(s, "%.17g", d);
        return;
    }
    case BSON_TYPE_UTF8:
        bson_string_append_printf(s, "\"%s\"", v->value.v_utf8.str);
        return;
    case BSON_TYPE_NULL:
        bson_string_append(s, "null");
        return;
    case BSON_TYPE_UNDEFINED:
        bson_string_append(s, "undefined");
        return;
    case BSON_TYPE_BOOL:
        bson_string_append(s, v->value.v_bool ? "true" : "false");
        return;
    case BSON_TYPE_OID: {
        char hex[25];
        bson_oid_to_string(&v->value.v_oid, hex);
        bson_string_append_printf(s, "ObjectId('%s')", hex);
        return;
    }
    case BSON_TYPE_REGEX:
        bson_string_append_printf(s, "/%s/%s", v->value.v_regex.regex,
                                  v->value.v_regex.options ? v->value.v_regex.options : "");
        return;
    default: {
        bson_t tmp = BSON_INITIALIZER;
        bson_append_value(&tmp, "v", 1, v);
        char *js = bson_as_relaxed_extended_json(&tmp, NULL);
        /* {"v" : X } -> X */
        const char *p = js ? strchr(js, ':') : NULL;
        if (p != NULL) {
            size_t len = strlen(p + 2);
            bson_string_append_printf(s, "%.*s", (int)(len > 2 ? len - 2 : len), p + 2);
        }
        bson_free(js);
        bson_destroy(&tmp);
    }
    }
}

/* qry_plan_append_bounds -- see query.h. */
void qry_plan_append_bounds(const qry_plan_t *p, const bson_t *key_pattern, bson_t *out,
                            const char *key)
{
    bson_t doc;
    bson_iter_t it;
    size_t f = 0;
    BSON_APPEND_DOCUMENT_BEGIN(out, key, &doc);
    if (bson_iter_init(&it, key_pattern)) {
        while (bson_iter_next(&it) && f < p->nfields) {
            bson_t arr;
            bool desc = field_desc(&it);
            /* MongoDB prints descending fields' intervals high to low, in scan order. */
            bool flip = desc != (p->direction < 0);
            BSON_APPEND_ARRAY_BEGIN(&doc, bson_iter_key(&it), &arr);
            const qry_oil_t *o = &p->bounds[f];
            for (size_t k = 0; k < o->n; k++) {
                const qry_interval_t *iv = &o->iv[flip ? o->n - 1 - k : k];
                bson_string_t *s = bson_string_new(NULL);
                if (!flip) {
                    bson_string_append(s, iv->lo_incl ? "[" : "(");
                    fmt_value(s, &iv->lo);
                    bson_string_append(s, ", ");
                    fmt_value(s, &iv->hi);
                    bson_string_append(s, iv->hi_incl ? "]" : ")");
                } else {
                    bson_string_append(s, iv->hi_incl ? "[" : "(");
                    fmt_value(s, &iv->hi);
                    bson_string_append(s, ", ");
                    fmt_value(s, &iv->lo);
                    bson_string_append(s, iv->lo_incl ? "]" : ")");
                }
                char idx[16];
                const char *ik;
                bson_uint32_to_string((uint32_t)k, &ik, idx, sizeof(idx));
                bson_append_utf8(&arr, ik, -1, s->str, (int)s->len);
                bson_string_free(s, true);
            }
            bson_append_array_end(&doc, &arr);
            f++;
        }
    }
    bson_append_document_end(out, &doc);
}

/* shape_node -- operators and paths, no values. */
static void shape_node(const qry_match_node_t *n, bson_string_t *out, int depth)
{
    if (n == NULL || depth > 120)
        return;
    const char *path = qry_match_node_path(n);
    bson_string_append_printf(out, "%s", qry_match_kind_name(qry_match_node_kind(n)));
    if (path != NULL)
        bson_string_append_printf(out, "(%s)", path);
    const bson_value_t *v = qry_match_node_operand(n);
    if (v != NULL && qry_match_node_kind(n) == QRY_MATCH_IN && v->value_type == BSON_TYPE_ARRAY) {
        /* $in of one value plans like an equality: part of the shape. */
        bson_t a;
        if (bson_init_static(&a, v->value.v_doc.data, v->value.v_doc.data_len))
            bson_string_append_printf(out, "#%u", bson_count_keys(&a) == 1 ? 1 : 2);
    }
    size_t nc = qry_match_node_nchildren(n);
    if (nc > 0) {
        bson_string_append(out, "[");
        for (size_t i = 0; i < nc; i++) {
            if (i)
                bson_string_append(out, ",");
            shape_node(qry_match_node_child(n, i), out, depth + 1);
        }
        bson_string_append(out, "]");
    }
}

/* append_json -- a spec document as canonical JSON (keys and values matter for sort/proj). */
static void append_json(bson_string_t *out, const bson_t *doc)
{
    if (doc == NULL || bson_empty(doc)) {
        bson_string_append(out, "{}");
        return;
    }
    char *js = bson_as_canonical_extended_json(doc, NULL);
    if (js != NULL)
        bson_string_append(out, js);
    bson_free(js);
}

/* qry_plan_shape -- see query.h. */
void qry_plan_shape(const qry_match_t *filter, const bson_t *sort, const bson_t *projection,
                    bson_string_t *out)
{
    bson_string_append(out, "q:");
    shape_node(qry_match_root(filter), out, 0);
    bson_string_append(out, " s:");
    append_json(out, sort);
    bson_string_append(out, " p:");
    append_json(out, projection);
}
