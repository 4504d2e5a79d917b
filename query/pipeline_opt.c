/*
 * pipeline_opt.c -- pure rewrites of a parsed pipeline (MongoDB's
 * optimizations), the leading $match/$sort handed to the planner, and the
 * dependency analysis that lets a scan project early. Everything here reads
 * the declarations stages made at parse time (shape, reads, writes) and never
 * looks inside a stage kind it does not rewrite.
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

/* qry__pl_paths_overlap -- "a" and "a.b" overlap, "a" and "ab" do not. */
bool qry__pl_paths_overlap(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t n = la < lb ? la : lb;
    if (strncmp(a, b, n) != 0)
        return false;
    if (la == lb)
        return true;
    return (la > lb ? a[n] : b[n]) == '.';
}

static bool match_node_paths(const qry_match_node_t *n, pl_stage_t *s)
{
    switch (qry_match_node_kind(n)) {
    case QRY_MATCH_EXPR:
    case QRY_MATCH_JSON_SCHEMA:
        return false;
    case QRY_MATCH_ELEM_MATCH_OBJECT:
    case QRY_MATCH_ELEM_MATCH_VALUE:
        qry__pl_add_read(s, qry_match_node_path(n));
        return true;
    default:
        break;
    }
    const char *path = qry_match_node_path(n);
    if (path && *path)
        qry__pl_add_read(s, path);
    for (size_t i = 0; i < qry_match_node_nchildren(n); i++)
        if (!match_node_paths(qry_match_node_child(n, i), s))
            return false;
    return true;
}

/* qry__pl_match_paths -- record the paths a filter reads; false if it reads the whole doc. */
bool qry__pl_match_paths(const qry_match_t *m, pl_stage_t *s)
{
    return match_node_paths(qry_match_root(m), s);
}

/* qry__pl_path_get -- the value at path through documents only. */
bool qry__pl_path_get(const bson_t *doc, const char *path, bson_value_t *out)
{
    bson_iter_t it;
    if (!bsonu_path_get(doc, path, &it))
        return false;
    *out = *bson_iter_value(&it);
    return true;
}

static void set_path_rec(const bson_t *doc, const char *path, const bson_value_t *v, bson_t *out)
{
    const char *dot = strchr(path, '.');
    size_t flen = dot ? (size_t)(dot - path) : strlen(path);
    bool done = false;
    bson_iter_t it;
    if (doc && bson_iter_init(&it, doc)) {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (done || strlen(k) != flen || strncmp(k, path, flen) != 0) {
                bson_append_iter(out, NULL, 0, &it);
                continue;
            }
            done = true;
            if (!dot) {
                if (v)
                    bson_append_value(out, k, -1, v);
                continue;
            }
            bson_t sub, child;
            bool have = false;
            if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
                uint32_t len;
                const uint8_t *data;
                bson_iter_document(&it, &len, &data);
                have = data && bson_init_static(&sub, data, len);
            }
            if (!have && !v) {
                bson_append_iter(out, NULL, 0, &it);
                continue;
            }
            bson_append_document_begin(out, k, -1, &child);
            set_path_rec(have ? &sub : NULL, dot + 1, v, &child);
            bson_append_document_end(out, &child);
        }
    }
    if (!done && v) {
        if (!dot) {
            bson_append_value(out, path, (int)flen, v);
        } else {
            bson_t child;
            bson_append_document_begin(out, path, (int)flen, &child);
            set_path_rec(NULL, dot + 1, v, &child);
            bson_append_document_end(out, &child);
        }
    }
}

/* qry__pl_set_path -- copy doc into out (initialised here) with path set to v or removed. */
void qry__pl_set_path(const bson_t *doc, const char *path, const bson_value_t *v, bson_t *out)
{
    bson_init(out);
    set_path_rec(doc, path, v, out);
}

/* ------------------------------------------------------------------------ */
/* Rewrites                                                                  */
/* ------------------------------------------------------------------------ */

static bool is(const pl_stage_t *s, const pl_stage_ops_t *ops)
{
    return s->ops == ops;
}

/* A $match can move before s when s keeps documents whole and writes nothing it reads. */
static bool match_can_pass(const pl_stage_t *m, const pl_stage_t *s)
{
    if (m->needs_whole_doc)
        return false;
    if (is(s, &qry__pl_stage_sort))
        return true;
    if (s->shape != PL_MODIFIES || s->needs_whole_doc)
        return false;
    /* Only one-to-one modifiers: $unwind, $lookup etc. change cardinality per field. */
    if (!is(s, &qry__pl_stage_addfields) && !is(s, &qry__pl_stage_set) &&
        !is(s, &qry__pl_stage_project) && !is(s, &qry__pl_stage_unset) &&
        !is(s, &qry__pl_stage_lookup) && !is(s, &qry__pl_stage_unwind) &&
        !is(s, &qry__pl_stage_window))
        return false;
    if (is(s, &qry__pl_stage_window))
        return false; /* window values depend on the documents around */
    for (size_t i = 0; i < m->nreads; i++)
        for (size_t j = 0; j < s->nwrites; j++)
            if (qry__pl_paths_overlap(m->reads[i], s->writes[j]))
                return false;
    return true;
}

static int replace_stage(qry_pipeline_t *p, size_t i, const char *name, const bson_value_t *v,
                         status_t *st)
{
    bson_t doc;
    bson_init(&doc);
    BSON_APPEND_VALUE(&doc, name, v);
    bson_iter_t it;
    bson_iter_init(&it, &doc);
    bson_iter_next(&it);
    pl_stage_t *ns;
    int ret = qry__pl_stage_new_in(p->scope, name, &it, &ns, st);
    bson_destroy(&doc);
    if (ret != 0)
        return ret;
    qry__pl_stage_free(p->stages[i]);
    p->stages[i] = ns;
    return 0;
}

static void remove_at(qry_pipeline_t *p, size_t i)
{
    qry__pl_stage_free(p->stages[i]);
    memmove(&p->stages[i], &p->stages[i + 1], (p->n - i - 1) * sizeof *p->stages);
    p->n--;
}

static void swap(qry_pipeline_t *p, size_t i)
{
    pl_stage_t *t = p->stages[i];
    p->stages[i] = p->stages[i + 1];
    p->stages[i + 1] = t;
}

static const bson_value_t *stage_arg(const pl_stage_t *s, bson_iter_t *it)
{
    bson_iter_init(it, s->spec);
    bson_iter_next(it);
    return bson_iter_value(it);
}

static int64_t stage_int(const pl_stage_t *s)
{
    bson_iter_t it;
    int64_t v = 0;
    bsonu_number_as_int64(stage_arg(s, &it), &v);
    return v;
}

static int merge_matches(qry_pipeline_t *p, size_t i, status_t *st)
{
    bson_t a, arr;
    bson_init(&a);
    BSON_APPEND_ARRAY_BEGIN(&a, "$and", &arr);
    for (int k = 0; k < 2; k++) {
        bson_iter_t it;
        const bson_value_t *v = stage_arg(p->stages[i + k], &it);
        BSON_APPEND_VALUE(&arr, k ? "1" : "0", v);
    }
    bson_append_array_end(&a, &arr);
    bson_value_t v;
    v.value_type = BSON_TYPE_DOCUMENT;
    v.value.v_doc.data = (uint8_t *)bson_get_data(&a);
    v.value.v_doc.data_len = a.len;
    int ret = replace_stage(p, i, "$match", &v, st);
    bson_destroy(&a);
    if (ret == 0)
        remove_at(p, i + 1);
    return ret;
}

/*
 * rename_filter -- a $match filter rewritten for the input of the inclusion
 * $project proj: each field path becomes the path it comes from (itself, or x
 * for a {y: "$x"} rename), through $and/$or/$nor. False when a path is not
 * kept unchanged by proj, or the filter has an operator that reads more than
 * its paths ($expr, $where, $text, ...): then the $match stays where it is.
 * Each top-level clause becomes one branch of an $and, so two paths renamed
 * to one name never collide.
 */
static bool rename_filter(const pl_stage_t *proj, const bson_t *in, bson_t *out, int depth,
                          bool *renamed)
{
    bson_iter_t it;
    bson_t all;
    int n = 0;
    if (depth > 100 || !bson_iter_init(&it, in))
        return false;
    BSON_APPEND_ARRAY_BEGIN(out, "$and", &all);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        char key[16];
        bson_t clause;
        bool ok = true;
        (void)snprintf(key, sizeof key, "%d", n++);
        BSON_APPEND_DOCUMENT_BEGIN(&all, key, &clause);
        if (strcmp(k, "$and") == 0 || strcmp(k, "$or") == 0 || strcmp(k, "$nor") == 0) {
            bson_iter_t arr;
            bson_t branches;
            int b = 0;
            ok = BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr);
            BSON_APPEND_ARRAY_BEGIN(&clause, k, &branches);
            while (ok && bson_iter_next(&arr)) {
                const uint8_t *data;
                uint32_t len;
                bson_t sub, conv;
                char bk[16];
                if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
                    ok = false;
                    break;
                }
                bson_iter_document(&arr, &len, &data);
                ok = bson_init_static(&sub, data, len);
                (void)snprintf(bk, sizeof bk, "%d", b++);
                BSON_APPEND_DOCUMENT_BEGIN(&branches, bk, &conv);
                ok = ok && rename_filter(proj, &sub, &conv, depth + 1, renamed);
                bson_append_document_end(&branches, &conv);
            }
            bson_append_array_end(&clause, &branches);
        } else if (strcmp(k, "$comment") == 0) {
            bson_append_iter(&clause, k, -1, &it);
        } else if (k[0] == '$') {
            ok = false;
        } else {
            char src[1024];
            ok = qry__pl_project_source(proj, k, src, sizeof src);
            if (ok)
                bson_append_iter(&clause, src, -1, &it);
            if (ok && strcmp(src, k) != 0)
                *renamed = true;
        }
        bson_append_document_end(&all, &clause);
        if (!ok)
            return false;
    }
    bson_append_array_end(out, &all);
    return n > 0;
}

/*
 * match_before_project -- MongoDB moves a $match that follows an inclusion
 * $project before it when every field the $match reads is one the projection
 * keeps unchanged or renames ({y: "$x"}: the match then reads x); results are
 * the same and the $match can reach the planner (an index, fewer documents
 * projected).
 */
static int match_before_project(qry_pipeline_t *p, size_t i, bool *moved, status_t *st)
{
    const pl_stage_t *proj = p->stages[i], *m = p->stages[i + 1];
    bson_iter_t it;
    bson_t filter, conv;
    const uint8_t *data;
    uint32_t len;
    *moved = false;
    if (m->needs_whole_doc || proj->shape != PL_REPLACES || !is(proj, &qry__pl_stage_project))
        return 0;
    const bson_value_t *v = stage_arg(m, &it);
    if (v->value_type != BSON_TYPE_DOCUMENT)
        return 0;
    bson_iter_document(&it, &len, &data);
    if (!bson_init_static(&filter, data, len) || bson_empty(&filter))
        return 0;
    bool renamed = false;
    bson_init(&conv);
    if (!rename_filter(proj, &filter, &conv, 0, &renamed)) {
        bson_destroy(&conv);
        return 0;
    }
    if (!renamed) { /* every path kept as is: the $match moves unchanged */
        bson_destroy(&conv);
        swap(p, i);
        *moved = true;
        return 0;
    }
    bson_value_t nv;
    nv.value_type = BSON_TYPE_DOCUMENT;
    nv.value.v_doc.data = (uint8_t *)bson_get_data(&conv);
    nv.value.v_doc.data_len = conv.len;
    int ret = replace_stage(p, i + 1, "$match", &nv, st);
    bson_destroy(&conv);
    if (ret == 0) {
        swap(p, i);
        *moved = true;
    }
    return ret;
}

static bool one_to_one(const pl_stage_t *s)
{
    return is(s, &qry__pl_stage_project) || is(s, &qry__pl_stage_addfields) ||
           is(s, &qry__pl_stage_set) || is(s, &qry__pl_stage_unset) ||
           is(s, &qry__pl_stage_replaceroot) || is(s, &qry__pl_stage_replacewith);
}

/* qry_pipeline_optimize -- apply the rewrites until nothing changes. */
int qry_pipeline_optimize(qry_pipeline_t *p, status_t *st)
{
    bool changed = true;
    int guard = 0;
    while (changed && guard++ < 10000) {
        changed = false;
        for (size_t i = 0; i + 1 < p->n; i++) {
            pl_stage_t *a = p->stages[i], *b = p->stages[i + 1];
            if (is(a, &qry__pl_stage_match) && is(b, &qry__pl_stage_match)) {
                ST_RET(merge_matches(p, i, st));
                changed = true;
                break;
            }
            if (is(b, &qry__pl_stage_match) && match_can_pass(b, a)) {
                swap(p, i);
                changed = true;
                break;
            }
            if (is(b, &qry__pl_stage_match) && is(a, &qry__pl_stage_project)) {
                bool moved;
                ST_RET(match_before_project(p, i, &moved, st));
                if (moved) {
                    changed = true;
                    break;
                }
            }
            if (is(a, &qry__pl_stage_limit) && is(b, &qry__pl_stage_limit)) {
                int64_t l = stage_int(a) < stage_int(b) ? stage_int(a) : stage_int(b);
                bson_value_t v = {.value_type = BSON_TYPE_INT64, .value.v_int64 = l};
                ST_RET(replace_stage(p, i, "$limit", &v, st));
                remove_at(p, i + 1);
                changed = true;
                break;
            }
            if (is(a, &qry__pl_stage_skip) && is(b, &qry__pl_stage_skip)) {
                int64_t sa = stage_int(a), sb = stage_int(b);
                int64_t sum = (sa > INT64_MAX - sb) ? INT64_MAX : sa + sb;
                bson_value_t v = {.value_type = BSON_TYPE_INT64, .value.v_int64 = sum};
                ST_RET(replace_stage(p, i, "$skip", &v, st));
                remove_at(p, i + 1);
                changed = true;
                break;
            }
            /* $skip n, $limit m == $limit n+m, $skip n: the limit can then reach a $sort. */
            if (is(a, &qry__pl_stage_skip) && is(b, &qry__pl_stage_limit)) {
                int64_t sa = stage_int(a), lb = stage_int(b);
                int64_t sum = (sa > INT64_MAX - lb) ? INT64_MAX : sa + lb;
                bson_value_t v = {.value_type = BSON_TYPE_INT64, .value.v_int64 = sum};
                ST_RET(replace_stage(p, i + 1, "$limit", &v, st));
                swap(p, i);
                changed = true;
                break;
            }
            /* $skip/$limit before one-to-one stages: fewer documents reshaped. */
            if ((is(b, &qry__pl_stage_limit) || is(b, &qry__pl_stage_skip)) && one_to_one(a)) {
                swap(p, i);
                changed = true;
                break;
            }
            if (is(a, &qry__pl_stage_sort) && is(b, &qry__pl_stage_limit)) {
                int64_t cur = qry__pl_sort_get_limit(a);
                int64_t l = stage_int(b);
                if (cur < 0 || l < cur) {
                    qry__pl_sort_set_limit(a, l);
                    changed = true;
                    break;
                }
            }
        }
    }
    return 0;
}

/* qry_pipeline_pushdown -- the leading $match stages and a $sort after them. */
void qry_pipeline_pushdown(const qry_pipeline_t *p, qry_pl_pushdown_t *pd)
{
    memset(pd, 0, sizeof *pd);
    bson_init(&pd->filter);
    bson_init(&pd->sort);
    pd->limit = -1;
    size_t i = 0;
    size_t nmatch = 0;
    while (i < p->n && is(p->stages[i], &qry__pl_stage_match)) {
        nmatch++;
        i++;
    }
    if (nmatch == 1) {
        bson_iter_t it;
        const bson_value_t *v = stage_arg(p->stages[0], &it);
        bson_t d;
        if (bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len))
            bson_concat(&pd->filter, &d);
        pd->has_filter = true;
    } else if (nmatch > 1) {
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(&pd->filter, "$and", &arr);
        for (size_t k = 0; k < nmatch; k++) {
            bson_iter_t it;
            char key[16];
            const char *kp;
            bson_uint32_to_string((uint32_t)k, &kp, key, sizeof key);
            BSON_APPEND_VALUE(&arr, kp, stage_arg(p->stages[k], &it));
        }
        bson_append_array_end(&pd->filter, &arr);
        pd->has_filter = true;
    }
    pd->nstages = nmatch;
    if (i < p->n && is(p->stages[i], &qry__pl_stage_sort)) {
        bson_iter_t it;
        const bson_value_t *v = stage_arg(p->stages[i], &it);
        bson_t d;
        if (v->value_type == BSON_TYPE_DOCUMENT &&
            bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len))
            bson_concat(&pd->sort, &d);
        pd->has_sort = true;
        pd->limit = qry__pl_sort_get_limit(p->stages[i]);
        pd->nstages++;
    }
}

/* qry_pl_pushdown_destroy -- free what qry_pipeline_pushdown filled. */
void qry_pl_pushdown_destroy(qry_pl_pushdown_t *pd)
{
    bson_destroy(&pd->filter);
    bson_destroy(&pd->sort);
}

/* qry_pipeline_remove_prefix -- drop the first n stages. */
void qry_pipeline_remove_prefix(qry_pipeline_t *p, size_t n)
{
    if (n > p->n)
        n = p->n;
    for (size_t i = 0; i < n; i++)
        qry__pl_stage_free(p->stages[i]);
    memmove(p->stages, p->stages + n, (p->n - n) * sizeof *p->stages);
    p->n -= n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* qry_pipeline_dependencies -- fields needed from the source, as an inclusion projection. */
void qry_pipeline_dependencies(const qry_pipeline_t *p, bson_t *out, bool *whole_doc)
{
    *whole_doc = true;
    const char **paths = NULL;
    size_t n = 0;
    bool complete = false;
    for (size_t i = 0; i < p->n && !complete; i++) {
        const pl_stage_t *s = p->stages[i];
        if (s->needs_whole_doc)
            break;
        for (size_t k = 0; k < s->nreads; k++) {
            paths = realloc(paths, (n + 1) * sizeof *paths);
            INVARIANT(paths != NULL);
            paths[n++] = s->reads[k];
        }
        if (s->shape == PL_REPLACES)
            complete = true;
    }
    if (!complete) {
        free(paths);
        return;
    }
    *whole_doc = false;
    if (n > 1)
        qsort(paths, n, sizeof *paths, cmp_str);
    bool has_id = false;
    for (size_t i = 0; i < n; i++) {
        /* Keep the shortest of overlapping paths: "a" covers "a.b". */
        bool covered = false;
        for (size_t j = 0; j < n && !covered; j++) {
            size_t li = strlen(paths[i]), lj = strlen(paths[j]);
            if (qry__pl_paths_overlap(paths[i], paths[j]) && (lj < li || (lj == li && j < i)))
                covered = true;
        }
        if (covered)
            continue;
        if (strcmp(paths[i], "_id") == 0 || strncmp(paths[i], "_id.", 4) == 0)
            has_id = true;
        BSON_APPEND_INT32(out, paths[i], 1);
    }
    if (!has_id)
        BSON_APPEND_INT32(out, "_id", 0);
    free(paths);
}
