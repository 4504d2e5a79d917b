/*
 * plan_wildcard.c -- planning over a wildcard index ({"$**": 1}, {"a.$**": 1}).
 *
 * A wildcard index holds {"": path, "": value} keys (common/bson_wildcard.c).
 * As MongoDB does, the planner expands it, for one queried path at a time,
 * into a virtual index {$_path: 1, <path>: 1}: bounds ["path", "path"] on
 * $_path and the predicates' bounds on the value. The path must be one the
 * index covers (its wildcardProjection), and only predicates the index can
 * answer count (MongoDB's "Wildcard Index Restrictions"):
 *
 *   - equality to a scalar or to {}, $in of those, ranges, $regex: yes;
 *   - $exists: true, and ranges that reach objects or arrays: yes, but the
 *     values may sit below the path, so $_path also takes ["path.", "path/")
 *     and the value bounds are [MinKey, MaxKey];
 *   - equality to null (missing fields are not indexed), to a non-empty
 *     document or to an array, $exists: false, $ne, $nin, $type,
 *     $elemMatch: no;
 *   - a numeric path component below an array path ("a.0" where a is
 *     multikey): no (the positions are not in the keys).
 *
 * The value bounds come from plan.c's own IXSCAN logic run on the virtual
 * single-field index, so multikey paths (the index records every array path)
 * are handled the same way as for a regular index. When several paths could
 * use the index the one with the tightest bounds is chosen.
 */
#include "query/query.h"
#include "query/query_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* is_empty_doc -- {} (the one document value a wildcard index stores as a leaf). */
static bool is_empty_doc(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_DOCUMENT && v->value.v_doc.data_len <= 5;
}

/* point_ok -- an equality value the index can answer. */
static bool point_ok(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_ARRAY:
        return false;
    case BSON_TYPE_DOCUMENT:
        return is_empty_doc(v);
    default:
        return true;
    }
}

/*
 * leaf_ok -- whether the wildcard index can answer leaf n; *subpaths: the
 * matching values may be objects or arrays, whose keys sit under "path.".
 */
static bool leaf_ok(const qry_match_node_t *n, bool *subpaths)
{
    const bson_value_t *v = qry_match_node_operand(n);
    *subpaths = false;
    switch (qry_match_node_kind(n)) {
    case QRY_MATCH_EQ:
        return v != NULL && point_ok(v);
    case QRY_MATCH_IN: {
        bson_iter_t it;
        if (v == NULL || v->value_type != BSON_TYPE_ARRAY ||
            !bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
            return false;
        while (bson_iter_next(&it))
            if (!point_ok(bson_iter_value(&it)))
                return false;
        return true;
    }
    case QRY_MATCH_REGEX:
        return true;
    case QRY_MATCH_LT:
    case QRY_MATCH_LTE:
    case QRY_MATCH_GT:
    case QRY_MATCH_GTE:
        if (v == NULL || v->value_type == BSON_TYPE_NULL || v->value_type == BSON_TYPE_UNDEFINED)
            return false;
        switch (bsonu_canonical_type(v->value_type)) {
        case BSONU_CANON_OBJECT:
        case BSONU_CANON_ARRAY:
        case BSONU_CANON_MINKEY:
        case BSONU_CANON_MAXKEY:
            *subpaths = true;
            break;
        default:
            break;
        }
        return true;
    case QRY_MATCH_EXISTS:
        *subpaths = true;
        return true;
    default:
        return false;
    }
}

/* numeric_comp -- whether s[0..len) is an array position ("0", "12"). */
static bool numeric_comp(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* mk_has -- whether exactly prefix[0..len) is a recorded multikey path. */
static bool mk_has(const qry_index_info_t *ix, const char *path, size_t len)
{
    bson_iter_t it;
    if (!ix->multikey || ix->multikey_paths == NULL || !bson_iter_init(&it, ix->multikey_paths))
        return ix->multikey && ix->multikey_paths == NULL;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strlen(k) == len && strncmp(k, path, len) == 0)
            return true;
    }
    return false;
}

/* path_ok -- a queried path the index can serve: covered, no '$' part, no position under an
 * array; *multikey: the path or a prefix of it holds arrays. */
static bool path_ok(const qry_index_info_t *ix, const bsonu_wc_proj_t *proj, const char *path,
                    bool *multikey)
{
    *multikey = false;
    if (path == NULL || path[0] == '\0' || !bsonu_wc_proj_covers(proj, path))
        return false;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || p[0] == '$')
            return false;
        if (numeric_comp(p, len) && p > path && mk_has(ix, path, (size_t)(p - path - 1)))
            return false;
        if (mk_has(ix, path, (size_t)(p - path) + len))
            *multikey = true;
        if (dot == NULL)
            return true;
        p = dot + 1;
    }
}

static void oil_add(qry_oil_t *o, const bson_value_t *lo, bool li, const bson_value_t *hi,
                    bool hi_i)
{
    o->iv = realloc(o->iv, (o->n + 1) * sizeof(*o->iv));
    INVARIANT(o->iv != NULL);
    qry_interval_t *iv = &o->iv[o->n++];
    bson_value_copy(lo, &iv->lo);
    bson_value_copy(hi, &iv->hi);
    iv->lo_incl = li;
    iv->hi_incl = hi_i;
}

static void str_value(bson_value_t *v, const char *s, size_t len)
{
    memset(v, 0, sizeof(*v));
    v->value_type = BSON_TYPE_UTF8;
    v->value.v_utf8.str = (char *)s;
    v->value.v_utf8.len = (uint32_t)len;
}

static qry_ixrange_t *range_add(qry_plan_t *pl)
{
    pl->ranges = realloc(pl->ranges, (pl->nranges + 1) * sizeof(*pl->ranges));
    INVARIANT(pl->ranges != NULL);
    qry_ixrange_t *r = &pl->ranges[pl->nranges++];
    memset(r, 0, sizeof(*r));
    bson_init(&r->start);
    bson_init(&r->end);
    r->has_start = r->has_end = true;
    return r;
}

/*
 * expand -- the plan over path: bounds on {$_path, path}, the ranges in scan
 * order. v: plan.c's IXSCAN of the virtual single-field index {path: dir}.
 */
static qry_plan_t *expand(const qry_plan_request_t *req, size_t ixno, const char *path,
                          qry_plan_t *v, bool desc, bool subpaths, bool multikey)
{
    const qry_index_info_t *ix = &req->indexes[ixno];
    qry_plan_t *pl = calloc(1, sizeof(*pl));
    INVARIANT(pl != NULL);
    pl->kind = QRY_PLAN_IXSCAN;
    pl->index = ixno;
    pl->nfields = 2;
    pl->bounds = calloc(2, sizeof(qry_oil_t));
    INVARIANT(pl->bounds != NULL);
    size_t plen = strlen(path);
    char *sub = malloc(plen + 2);
    INVARIANT(sub != NULL);
    memcpy(sub, path, plen);
    sub[plen + 1] = '\0';
    bson_value_t pv, lo, hi;
    str_value(&pv, path, plen);
    oil_add(&pl->bounds[0], &pv, true, &pv, true);
    if (subpaths) {
        /* ["path.", "path/"): every path below this one ('/' follows '.') */
        char *sub2 = malloc(plen + 2);
        INVARIANT(sub2 != NULL);
        memcpy(sub, path, plen);
        memcpy(sub2, path, plen);
        sub[plen] = '.';
        sub2[plen] = '/';
        sub2[plen + 1] = '\0';
        str_value(&lo, sub, plen + 1);
        str_value(&hi, sub2, plen + 1);
        oil_add(&pl->bounds[0], &lo, true, &hi, false);
        free(sub2);
        memset(&lo, 0, sizeof(lo));
        memset(&hi, 0, sizeof(hi));
        lo.value_type = BSON_TYPE_MINKEY;
        hi.value_type = BSON_TYPE_MAXKEY;
        oil_add(&pl->bounds[1], &lo, true, &hi, true);
    } else {
        const qry_oil_t *vo = &v->bounds[0];
        for (size_t i = 0; i < vo->n; i++)
            oil_add(&pl->bounds[1], &vo->iv[i].lo, vo->iv[i].lo_incl, &vo->iv[i].hi,
                    vo->iv[i].hi_incl);
    }
    /* ranges in index order: the path's values (a descending index stores them high to low),
     * then the paths below it */
    const qry_oil_t *vo = &pl->bounds[1];
    for (size_t k = 0; k < vo->n; k++) {
        const qry_interval_t *iv = &vo->iv[desc ? vo->n - 1 - k : k];
        qry_ixrange_t *r = range_add(pl);
        bson_append_utf8(&r->start, "", 0, path, (int)plen);
        bson_append_utf8(&r->end, "", 0, path, (int)plen);
        bson_append_value(&r->start, "", 0, desc ? &iv->hi : &iv->lo);
        bson_append_value(&r->end, "", 0, desc ? &iv->lo : &iv->hi);
        r->start_incl = desc ? iv->hi_incl : iv->lo_incl;
        r->end_incl = desc ? iv->lo_incl : iv->hi_incl;
    }
    if (subpaths) {
        qry_ixrange_t *r = range_add(pl);
        sub[plen] = '.';
        bson_append_utf8(&r->start, "", 0, sub, (int)plen + 1);
        sub[plen] = '/';
        bson_append_utf8(&r->end, "", 0, sub, (int)plen + 1);
        r->start_incl = true;
        r->end_incl = false;
    }
    free(sub);
    /* the sort on path comes from the index only for one path that never held arrays */
    pl->provides_sort = v->provides_sort && !subpaths && !multikey;
    pl->direction = pl->provides_sort ? v->direction : 1;
    if (pl->direction < 0) { /* backward: last range first, each one's ends swapped */
        for (size_t i = 0; i < pl->nranges; i++) {
            qry_ixrange_t *r = &pl->ranges[i];
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
        }
        for (size_t i = 0; i < pl->nranges / 2; i++) {
            /* swap through fresh copies: a bson_t must not be moved by value */
            qry_ixrange_t *a = &pl->ranges[i], *b = &pl->ranges[pl->nranges - 1 - i];
            bson_t s, e;
            bson_copy_to(&a->start, &s);
            bson_copy_to(&a->end, &e);
            bson_reinit(&a->start);
            bson_concat(&a->start, &b->start);
            bson_reinit(&a->end);
            bson_concat(&a->end, &b->end);
            bson_reinit(&b->start);
            bson_concat(&b->start, &s);
            bson_reinit(&b->end);
            bson_concat(&b->end, &e);
            bson_destroy(&s);
            bson_destroy(&e);
            bool si = a->start_incl, ei = a->end_incl;
            a->start_incl = b->start_incl;
            a->end_incl = b->end_incl;
            b->start_incl = si;
            b->end_incl = ei;
        }
    }
    /* one document can have several keys in the scanned ranges */
    pl->dedup = multikey || subpaths;
    pl->key_pattern = bson_new();
    BSON_APPEND_INT32(pl->key_pattern, "$_path", 1);
    BSON_APPEND_INT32(pl->key_pattern, path, desc ? -1 : 1);
    snprintf(pl->summary, sizeof(pl->summary), "IXSCAN %s %s%s", ix->name, path,
             pl->direction < 0 ? " -1" : "");
    return pl;
}

/* score -- how tight a plan's value bounds are (points best, then ranges, open last). */
static int score(const qry_plan_t *pl)
{
    if (pl->bounds[0].n > 1)
        return 0;
    const qry_oil_t *o = &pl->bounds[1];
    if (o->n == 1 && o->iv[0].lo.value_type == BSON_TYPE_MINKEY &&
        o->iv[0].hi.value_type == BSON_TYPE_MAXKEY)
        return 1;
    for (size_t i = 0; i < o->n; i++)
        if (!o->iv[i].lo_incl || !o->iv[i].hi_incl ||
            bsonu_compare_value(&o->iv[i].lo, &o->iv[i].hi) != 0)
            return 2;
    return 3;
}

/* qry__wildcard_plan -- see query_int.h. */
qry_plan_t *qry__wildcard_plan(const qry_plan_request_t *req, size_t ixno, const qry__preds_t *p,
                               const bson_t *sort, bool force)
{
    const qry_index_info_t *ix = &req->indexes[ixno];
    bsonu_wc_proj_t proj;
    status_t st = STATUS_INIT;
    bson_iter_t it;
    (void)force; /* a hint that no predicate can use: NULL, the caller answers 291 */
    if (ix->partial != NULL && p->n == 0)
        return NULL;
    if (bsonu_wc_proj_parse(ix->key_pattern, ix->wildcard_projection, &proj, &st) != 0)
        return NULL;
    bool desc =
        bson_iter_init(&it, ix->key_pattern) && bson_iter_next(&it) && bson_iter_as_double(&it) < 0;
    qry_plan_t *best = NULL;
    int best_score = -1;
    for (size_t i = 0; i < p->n; i++) {
        const char *path = qry_match_node_path(p->v[i]);
        bool seen = false, multikey = false, subpaths = false, sp;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(qry_match_node_path(p->v[j]), path) == 0;
        if (seen || !path_ok(ix, &proj, path, &multikey))
            continue;
        /* the predicates on this path that the index can answer */
        qry__preds_t mine = {0};
        for (size_t j = i; j < p->n; j++) {
            if (strcmp(qry_match_node_path(p->v[j]), path) != 0 || !leaf_ok(p->v[j], &sp))
                continue;
            subpaths = subpaths || sp;
            mine.v = realloc(mine.v, (mine.n + 1) * sizeof(*mine.v));
            INVARIANT(mine.v != NULL);
            mine.v[mine.n++] = p->v[j];
        }
        if (mine.n == 0) {
            free(mine.v);
            continue;
        }
        /* the value bounds: plan.c's logic over the virtual index {path: dir} */
        bson_t vkp = BSON_INITIALIZER;
        BSON_APPEND_INT32(&vkp, path, desc ? -1 : 1);
        qry_index_info_t vix = {
            .name = ix->name,
            .key_pattern = &vkp,
            .multikey = multikey,
            .multikey_paths = ix->multikey_paths,
        };
        qry_plan_request_t vreq = *req;
        vreq.indexes = &vix;
        vreq.nindexes = 1;
        vreq.hint = NULL;
        qry_plan_t *v = qry__ixscan_plan(&vreq, 0, &mine, sort, true);
        free(mine.v);
        if (v != NULL && v->nfields == 1) {
            qry_plan_t *c = expand(req, ixno, path, v, desc, subpaths, multikey);
            int sc = score(c);
            if (sc > best_score) {
                qry_plan_free(best);
                best = c;
                best_score = sc;
            } else {
                qry_plan_free(c);
            }
        }
        qry_plan_free(v);
        bson_destroy(&vkp);
    }
    bsonu_wc_proj_destroy(&proj);
    return best;
}
