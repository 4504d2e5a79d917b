/*
 * exec.c -- the query executor (see exec.h): plan selection (plan cache,
 * trial runs), the scan/fetch/filter/sort/skip/limit/projection pipeline over
 * storage cursors, batches with save/restore, yields, deadlines, and explain.
 */
#include "mongod/agg.h" /* micad_let_t: find's let */
#include "mongod/opstats.h"
#include "mongod/parameters.h"
#include "mongod/repl/repl.h"
#include "mongod/write.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Trial run limits: a candidate plan runs until it produced TRIAL_RESULTS
 * documents (MongoDB's default batch of 101) or did TRIAL_WORKS units of
 * work (a key or document examined), whichever comes first -- MongoDB's
 * internalQueryPlanEvaluationWorks is 10,000.
 */
#define TRIAL_RESULTS 101
#define TRIAL_WORKS   10000
/* Check the deadline every this many works: cheap enough, and a 1 ms maxTimeMS still fires. */
#define DEADLINE_EVERY 128
/* Yield (save cursors, end the snapshot, start a new one) every this many works in a batch. */
#define YIELD_EVERY 1000
/* The plan cache keeps at most this many shapes; past it, it starts over. */
#define PLAN_CACHE_MAX 2048

/* ------------------------------------------------------------------ RecordId set */

typedef struct ridset {
    int64_t *v; /* open addressing; INT64_MIN marks a free slot */
    size_t cap, n;
} ridset_t;

static void ridset_free(ridset_t *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* ridset_add -- false when rid was already there. */
static bool ridset_add(ridset_t *s, int64_t rid)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        int64_t *nv = malloc(nc * sizeof(*nv));
        INVARIANT(nv != NULL);
        for (size_t i = 0; i < nc; i++)
            nv[i] = INT64_MIN;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->v[i] == INT64_MIN)
                continue;
            size_t h = ((uint64_t)s->v[i] * 0x9E3779B97F4A7C15ull) & (nc - 1);
            while (nv[h] != INT64_MIN)
                h = (h + 1) & (nc - 1);
            nv[h] = s->v[i];
        }
        free(s->v);
        s->v = nv;
        s->cap = nc;
    }
    size_t h = ((uint64_t)rid * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->v[h] != INT64_MIN) {
        if (s->v[h] == rid)
            return false;
        h = (h + 1) & (s->cap - 1);
    }
    s->v[h] = rid;
    s->n++;
    return true;
}

/* ------------------------------------------------------------------ structures */

/* An index scan over one plan's ranges. */
typedef struct ixsrc {
    const qry_plan_t *plan;
    stor_index_t *idx;
    size_t range;            /* current range */
    stor_index_cursor_t *ic; /* open on ranges[range] */
    bool eof;
    /* DISTINCT_SCAN: after a key, the next cursor starts past every key with its first value */
    bool has_skip;
    bson_t *skip_start; /* heap: a bson_t member would need 128-byte alignment */
} ixsrc_t;

/* Statistics of one pipeline (one candidate plan). */
typedef struct xstats {
    int64_t works, keys, docs, scanned, dups, fetched, filtered, sort_in, skipped, returned;
    int64_t sort_bytes;
    int64_t yields;
    int64_t time_us; /* spent producing results (executionTimeMillisEstimate) */
    bool eof;
} xstats_t;

/* One buffered result for the blocking SORT. */
typedef struct sitem {
    bson_t *doc;
    bson_t *key;   /* sort key */
    bson_t *ixkey; /* index key (returnKey), may be NULL */
    int64_t rid;
    int32_t midx;
    size_t seq;
} sitem_t;

/* A pipeline: the source, the filter, and (for the winner) sort/skip/limit/projection. */
typedef struct pipe {
    qry_plan_t *plan;
    bool
        covered; /* IXSCAN whose keys answer filter and projection: no fetch (PROJECTION_COVERED) */
    bool distinct;            /* DISTINCT_SCAN for distinct's key (covered too) */
    stor_cursor_t *cur;       /* COLLSCAN */
    stor_index_cursor_t *cic; /* COLLSCAN of a clustered collection: its _id index, in order */
    ixsrc_t *ix;              /* IXSCAN: 1; OR: nchildren */
    size_t nix, cur_ix;
    ridset_t seen;
    xstats_t st;
    bool src_eof;
} pipe_t;

struct micad_exec {
    micad_t *m;
    micad_query_t q;
    repl_read_mode_t read_mode; /* the creating command's read concern (repl/read.c) */
    stor_session_t *sess;
    stor_collection_t *coll;  /* NULL: missing collection (EOF) */
    stor_index_t *cluster_ix; /* a clustered collection's cluster key (its _id index) */
    bool in_batch;
    qry_match_t *match;
    qry_sort_t *sort;
    qry_projection_t *proj;
    /* indexes as the planner saw them */
    qry_index_info_t *ixinfo;
    stor_index_t **ixh;
    bson_t *ixspecs; /* array of specs (owns names/keys) */
    bson_t *ixmkp;   /* multikey paths per index */
    bson_t **ixwcp;  /* wildcardProjection per index (owned copies; NULL: none) */
    qry_match_t **ixpartial;
    size_t nix;
    /* plans */
    qry_plan_t **plans;
    size_t nplans;
    pipe_t *cand; /* trial pipelines (explain allPlansExecution) */
    size_t ncand;
    size_t winner;
    bool from_cache;
    pipe_t run; /* the running pipeline of the winner */
    bool need_sort;
    /* sort buffer */
    sitem_t *buf;
    size_t nbuf, capbuf, bufpos;
    bool sorted;
    qry_ext_sort_t *xsort; /* allowDiskUse and over the memory limit: spilling sort */
    bool explain_write;    /* explained under UPDATE/DELETE: they stop by themselves (no LIMIT) */
    int64_t sorted_bytes;  /* everything that went into the sort (explain) */
    int64_t limit_left;    /* -1: none */
    int64_t skip_left;
    bool eof;
    int64_t works_since_yield;
    bson_t *stash;              /* a result handed back by micad_exec_unget */
    micad_let_t *let;           /* q.let evaluated: the $expr hooks' variables */
    char summary[256];          /* planSummary of the winner */
    int64_t rep_keys, rep_docs; /* stats already charged to operations (report_stats) */
    /* what a count did (micad_exec_set_counted), for its explain */
    bool count_fast;
    int64_t n_counted, n_count_skipped;
    status_t run_error; /* code 0: the explained run succeeded */
    bool has_ext;       /* results come from ext (micad_exec_create_ext), not storage */
    micad_exec_ext_t ext;
};

/* ------------------------------------------------------------------ query args */

/* micad_query_init -- see exec.h. */
void micad_query_init(micad_query_t *q)
{
    memset(q, 0, sizeof(*q));
    bson_init(&q->filter);
    bson_init(&q->projection);
    bson_init(&q->sort);
    bson_init(&q->min);
    bson_init(&q->max);
}

/* micad_query_destroy -- see exec.h. */
void micad_query_destroy(micad_query_t *q)
{
    if (q == NULL)
        return;
    bson_destroy(&q->filter);
    bson_destroy(&q->projection);
    bson_destroy(&q->sort);
    bson_destroy(&q->min);
    bson_destroy(&q->max);
    if (q->has_hint)
        bson_value_destroy(&q->hint);
    q->has_hint = false;
    if (q->let != NULL)
        bson_destroy(q->let);
    q->let = NULL;
    free(q->distinct_key);
    q->distinct_key = NULL;
}

static void query_copy(micad_query_t *dst, const micad_query_t *src)
{
    micad_query_init(dst);
    memcpy(dst->ns, src->ns, sizeof(dst->ns));
    bson_concat(&dst->filter, &src->filter);
    bson_concat(&dst->projection, &src->projection);
    bson_concat(&dst->sort, &src->sort);
    bson_concat(&dst->min, &src->min);
    bson_concat(&dst->max, &src->max);
    dst->has_projection = src->has_projection;
    dst->has_sort = src->has_sort;
    dst->has_min = src->has_min;
    dst->has_max = src->has_max;
    if (src->has_hint) {
        bson_value_copy(&src->hint, &dst->hint);
        dst->has_hint = true;
    }
    dst->skip = src->skip;
    dst->limit = src->limit;
    dst->return_key = src->return_key;
    dst->show_record_id = src->show_record_id;
    dst->allow_disk_use = src->allow_disk_use;
    dst->tailable = src->tailable;
    dst->let = src->let != NULL ? bson_copy(src->let) : NULL;
    dst->distinct_key = src->distinct_key != NULL ? strdup(src->distinct_key) : NULL;
}

/* ------------------------------------------------------------------ plan cache */

typedef struct pc_entry {
    char *key;
    char *ns;
    char summary[256];
    struct pc_entry *next;
} pc_entry_t;

static pthread_mutex_t pc_lock = PTHREAD_MUTEX_INITIALIZER;
static pc_entry_t *pc_head;
static size_t pc_n;

static void pc_free_all_locked(void)
{
    while (pc_head) {
        pc_entry_t *e = pc_head;
        pc_head = e->next;
        free(e->key);
        free(e->ns);
        free(e);
    }
    pc_n = 0;
}

/* pc_lookup -- the cached winner's summary for key into out; false if none. */
static bool pc_lookup(const char *key, char *out, size_t cap)
{
    bool found = false;
    pthread_mutex_lock(&pc_lock);
    for (pc_entry_t *e = pc_head; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            snprintf(out, cap, "%s", e->summary);
            found = true;
            break;
        }
    pthread_mutex_unlock(&pc_lock);
    return found;
}

static void pc_store(const char *ns, const char *key, const char *summary)
{
    pthread_mutex_lock(&pc_lock);
    for (pc_entry_t *e = pc_head; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            snprintf(e->summary, sizeof(e->summary), "%s", summary);
            pthread_mutex_unlock(&pc_lock);
            return;
        }
    if (pc_n >= PLAN_CACHE_MAX)
        pc_free_all_locked();
    pc_entry_t *e = calloc(1, sizeof(*e));
    INVARIANT(e != NULL);
    e->key = strdup(key);
    e->ns = strdup(ns);
    snprintf(e->summary, sizeof(e->summary), "%s", summary);
    e->next = pc_head;
    pc_head = e;
    pc_n++;
    pthread_mutex_unlock(&pc_lock);
}

/* micad_plan_cache_clear -- see exec.h. */
void micad_plan_cache_clear(const char *ns)
{
    pthread_mutex_lock(&pc_lock);
    pc_entry_t **pp = &pc_head;
    while (*pp) {
        pc_entry_t *e = *pp;
        if (ns == NULL || strcmp(e->ns, ns) == 0) {
            *pp = e->next;
            free(e->key);
            free(e->ns);
            free(e);
            pc_n--;
        } else {
            pp = &e->next;
        }
    }
    pthread_mutex_unlock(&pc_lock);
}

/* micad_plan_cache_size -- see exec.h. */
size_t micad_plan_cache_size(void)
{
    pthread_mutex_lock(&pc_lock);
    size_t n = pc_n;
    pthread_mutex_unlock(&pc_lock);
    return n;
}

/* has_sort_q -- whether q has a non-empty sort. */
static bool has_sort_q(const micad_query_t *q)
{
    return q->has_sort && !bson_empty(&q->sort);
}

/* ------------------------------------------------------------------ indexes */

/*
 * id_point -- {_id: <scalar>} alone: the _id index answers it with one key, so
 * the planner needs no other index (MongoDB's IDHACK). Saves reading the
 * index list on the hottest path, the point read by _id.
 */
static bool id_point(const micad_exec_t *ex)
{
    const qry_match_node_t *r = qry_match_root(ex->match);
    if (r == NULL || qry_match_node_kind(r) != QRY_MATCH_EQ || ex->q.has_hint || ex->q.has_min ||
        ex->q.has_max)
        return false;
    const char *p = qry_match_node_path(r);
    const bson_value_t *v = qry_match_node_operand(r);
    if (p == NULL || strcmp(p, "_id") != 0 || v == NULL)
        return false;
    switch (v->value_type) {
    case BSON_TYPE_ARRAY:
    case BSON_TYPE_REGEX:
    case BSON_TYPE_NULL:
    case BSON_TYPE_DOCUMENT:
        return false;
    default:
        return true;
    }
}

/* index_display_name -- an index's name, except a clustered collection's _id index, which is
 * its cluster key and carries the clusteredIndex name (hint and explain use it). */
static const char *index_display_name(const micad_exec_t *ex, stor_index_t *idx)
{
    bson_t spec;
    bson_iter_t it;
    if (idx == ex->cluster_ix && micad_clustered_spec(stor_collection_options(ex->coll), &spec) &&
        bson_iter_init_find(&it, &spec, "name") && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return stor_index_name(idx);
}

/* load_id_index -- only the _id index (see id_point); false if it is missing. */
static bool load_id_index(micad_exec_t *ex)
{
    stor_index_t *idx = NULL;
    status_t ist = STATUS_INIT;
    if (stor_index_lookup(ex->coll, "_id_", &idx, &ist) != 0)
        return false;
    ex->ixinfo = calloc(1, sizeof(*ex->ixinfo));
    ex->ixh = calloc(1, sizeof(*ex->ixh));
    ex->ixmkp = calloc(1, sizeof(bson_t));
    ex->ixpartial = calloc(1, sizeof(*ex->ixpartial));
    INVARIANT(ex->ixinfo && ex->ixh && ex->ixmkp && ex->ixpartial);
    ex->ixinfo[0].name = index_display_name(ex, idx);
    ex->ixinfo[0].key_pattern = stor_index_key_pattern(idx);
    ex->ixinfo[0].unique = true;
    ex->ixinfo[0].multikey = false;
    bson_init(&ex->ixmkp[0]);
    ex->ixinfo[0].multikey_paths = &ex->ixmkp[0];
    ex->ixh[0] = idx;
    ex->nix = 1;
    return true;
}

/* load_indexes -- the collection's indexes as qry_index_info_t (hidden ones left out). */
static int load_indexes(micad_exec_t *ex, status_t *st)
{
    bson_t arr;
    bson_iter_t it;
    ST_RET(stor_list_indexes(ex->m->engine, ex->q.ns, &arr, st));
    size_t n = bson_count_keys(&arr);
    ex->ixinfo = calloc(n + 1, sizeof(*ex->ixinfo));
    ex->ixh = calloc(n + 1, sizeof(*ex->ixh));
    ex->ixmkp = calloc(n + 1, sizeof(bson_t));
    ex->ixpartial = calloc(n + 1, sizeof(*ex->ixpartial));
    ex->ixwcp = calloc(n + 1, sizeof(bson_t *));
    INVARIANT(ex->ixwcp != NULL);
    ex->ixspecs = bson_copy(&arr);
    bson_destroy(&arr);
    if (!bson_iter_init(&it, ex->ixspecs))
        return 0;
    while (bson_iter_next(&it)) {
        bson_t spec;
        bson_iter_t f;
        uint32_t len;
        const uint8_t *data;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            continue;
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&spec, data, len))
            continue;
        if (bson_iter_init_find(&f, &spec, "hidden") && bson_iter_as_bool(&f))
            continue;
        if (!bson_iter_init_find(&f, &spec, "name") || !BSON_ITER_HOLDS_UTF8(&f))
            continue;
        const char *name = bson_iter_utf8(&f, NULL);
        stor_index_t *idx = NULL;
        status_t ist = STATUS_INIT;
        if (stor_index_lookup(ex->coll, name, &idx, &ist) != 0)
            continue;
        size_t k = ex->nix;
        qry_index_info_t *ii = &ex->ixinfo[k];
        ii->name = index_display_name(ex, idx);
        ii->key_pattern = stor_index_key_pattern(idx);
        ii->multikey = stor_index_is_multikey(idx);
        ii->unique = stor_index_is_unique(idx);
        stor_index_multikey_paths(idx, &ex->ixmkp[k]);
        ii->multikey_paths = &ex->ixmkp[k];
        if (bson_iter_init_find(&f, &spec, "sparse"))
            ii->sparse = bson_iter_as_bool(&f);
        if (bson_iter_init_find(&f, &spec, "partialFilterExpression") &&
            BSON_ITER_HOLDS_DOCUMENT(&f)) {
            bson_t pf;
            bson_iter_document(&f, &len, &data);
            if (bson_init_static(&pf, data, len) &&
                qry_match_parse(&pf, NULL, &ex->ixpartial[k], &ist) == 0)
                ii->partial = ex->ixpartial[k];
            else {
                bson_destroy(&ex->ixmkp[k]);
                continue; /* unparsable: never plan with it */
            }
        }
        if (bson_iter_init_find(&f, &spec, "wildcardProjection") && BSON_ITER_HOLDS_DOCUMENT(&f)) {
            bson_iter_document(&f, &len, &data);
            ex->ixwcp[k] = bson_new_from_data(data, len);
            ii->wildcard_projection = ex->ixwcp[k];
        }
        ex->ixh[k] = idx;
        ex->nix++;
    }
    return 0;
}

/* ------------------------------------------------------------------ covered plans */

/*
 * A plan is covered when its index keys answer the filter, the sort and the
 * projection without reading the document (MongoDB's PROJECTION_COVERED):
 * an IXSCAN over a plain (not multikey, ascending/descending) index whose
 * fields include every path the filter, sort and projection name. The
 * document seen by the filter and the projection is rebuilt from the key.
 * A key value of null or undefined may stand for a missing field, so such an
 * entry falls back to fetching its document: answers never differ.
 */

/* ix_field -- the position of path among the index's fields, or -1. */
static int ix_field(const bson_t *key_pattern, const char *path)
{
    bson_iter_t it;
    int i = 0;
    if (path == NULL || !bson_iter_init(&it, key_pattern))
        return -1;
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), path) == 0)
            return i;
        i++;
    }
    return -1;
}

/* filter_covered -- every leaf of n reads an index field (no pathless $expr/$jsonSchema). */
static bool filter_covered(const qry_match_node_t *n, const bson_t *kp, int depth)
{
    if (n == NULL)
        return true;
    if (depth > 100)
        return false;
    switch (qry_match_node_kind(n)) {
    case QRY_MATCH_AND:
    case QRY_MATCH_OR:
    case QRY_MATCH_NOR:
    case QRY_MATCH_NOT:
        for (size_t i = 0; i < qry_match_node_nchildren(n); i++)
            if (!filter_covered(qry_match_node_child(n, i), kp, depth + 1))
                return false;
        return true;
    case QRY_MATCH_ALWAYS_FALSE:
        return true;
    case QRY_MATCH_EXPR:
    case QRY_MATCH_JSON_SCHEMA:
    case QRY_MATCH_ELEM_MATCH_OBJECT:
    case QRY_MATCH_ELEM_MATCH_VALUE:
        return false;
    default:
        return ix_field(kp, qry_match_node_path(n)) >= 0;
    }
}

/* plain_index -- every field ascending or descending (no hashed/text/2d), none a prefix of
 * another (the key must rebuild into one document). */
static bool plain_index(const bson_t *kp)
{
    bson_iter_t it, jt;
    if (bsonu_is_wildcard_pattern(kp) || !bson_iter_init(&it, kp))
        return false;
    while (bson_iter_next(&it)) {
        if (!bsonu_is_number(bson_iter_type(&it)))
            return false;
        const char *a = bson_iter_key(&it);
        size_t al = strlen(a);
        bson_iter_init(&jt, kp);
        while (bson_iter_next(&jt)) {
            const char *b = bson_iter_key(&jt);
            if (strncmp(a, b, al) == 0 && b[al] == '.')
                return false;
        }
    }
    return true;
}

/* projection_covered -- an inclusion of index fields only, _id excluded unless indexed. */
static bool projection_covered(const micad_exec_t *ex, const bson_t *kp)
{
    bson_iter_t it;
    bool id_seen = false;
    if (ex->proj == NULL || ex->q.return_key || ex->q.show_record_id ||
        !bson_iter_init(&it, &ex->q.projection))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool on;
        if (BSON_ITER_HOLDS_BOOL(&it))
            on = bson_iter_bool(&it);
        else if (bsonu_is_number(bson_iter_type(&it)))
            on = bson_iter_as_double(&it) != 0;
        else
            return false;
        if (strcmp(k, "_id") == 0) {
            id_seen = true;
            if (on && ix_field(kp, "_id") < 0)
                return false;
            continue;
        }
        if (!on || strchr(k, '$') != NULL || ix_field(kp, k) < 0)
            return false;
    }
    return id_seen || ix_field(kp, "_id") >= 0;
}

/* sort_covered -- every sort field is an index field. */
static bool sort_covered(const micad_exec_t *ex, const bson_t *kp)
{
    bson_iter_t it;
    if (!ex->q.has_sort || bson_empty(&ex->q.sort))
        return true;
    if (!bson_iter_init(&it, &ex->q.sort))
        return false;
    while (bson_iter_next(&it))
        if (!bsonu_is_number(bson_iter_type(&it)) || ix_field(kp, bson_iter_key(&it)) < 0)
            return false;
    return true;
}

/* plan_covered -- whether plan can run from its index keys alone (see above). */
static bool plan_covered(const micad_exec_t *ex, const qry_plan_t *plan)
{
    if (plan->kind != QRY_PLAN_IXSCAN || ex->q.tailable)
        return false;
    const qry_index_info_t *ii = &ex->ixinfo[plan->index];
    const bson_t *kp = ii->key_pattern;
    return !ii->multikey && plain_index(kp) && projection_covered(ex, kp) && sort_covered(ex, kp) &&
           filter_covered(qry_match_root(ex->match), kp, 0);
}

/* plan_distinct -- a covered plan whose index starts with distinct's key, read forward. */
static bool plan_distinct(const micad_exec_t *ex, const qry_plan_t *plan)
{
    bson_iter_t it;
    if (ex->q.distinct_key == NULL || plan->kind != QRY_PLAN_IXSCAN || plan->direction < 0 ||
        ex->q.skip > 0 || ex->q.limit > 0 || has_sort_q(&ex->q) || !plan_covered(ex, plan))
        return false;
    const qry_index_info_t *ii = &ex->ixinfo[plan->index];
    return ii->partial == NULL && !ii->sparse && bson_iter_init(&it, ii->key_pattern) &&
           bson_iter_next(&it) && strcmp(bson_iter_key(&it), ex->q.distinct_key) == 0;
}

/* put_path -- value v at dotted path in the document being built (parents made as needed). */
static bool key_doc_build(const bson_t *named, bson_t *out, const char *prefix, size_t plen,
                          int depth)
{
    bson_iter_t it;
    char done[BSONU_INDEX_MAX_FIELDS][128];
    int ndone = 0;
    if (depth > BSONU_INDEX_MAX_FIELDS || !bson_iter_init(&it, named))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (plen > 0 && (strncmp(k, prefix, plen) != 0 || k[plen] != '.'))
            continue;
        const char *rest = plen > 0 ? k + plen + 1 : k;
        const char *dot = strchr(rest, '.');
        if (dot == NULL) {
            bson_append_value(out, rest, -1, bson_iter_value(&it));
            continue;
        }
        size_t cl = (size_t)(dot - rest);
        char comp[128];
        if (cl >= sizeof(comp))
            return false;
        memcpy(comp, rest, cl);
        comp[cl] = '\0';
        bool seen = false;
        for (int i = 0; i < ndone; i++)
            seen = seen || strcmp(done[i], comp) == 0;
        if (seen)
            continue;
        if (ndone >= BSONU_INDEX_MAX_FIELDS)
            return false;
        snprintf(done[ndone++], sizeof(done[0]), "%s", comp);
        bson_t sub;
        bson_append_document_begin(out, comp, -1, &sub);
        bool ok = key_doc_build(named, &sub, k, (size_t)(dot - k), depth + 1);
        bson_append_document_end(out, &sub);
        if (!ok)
            return false;
    }
    return true;
}

/*
 * key_doc -- the document an index key stands for ({"a.b": 1, c: 2} gives
 * {a: {b: 1}, c: 2}); NULL when a value is null or undefined (maybe missing:
 * the caller fetches the document instead).
 */
static bson_t *key_doc(const bson_t *named)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, named))
        return NULL;
    while (bson_iter_next(&it))
        if (BSON_ITER_HOLDS_NULL(&it) || BSON_ITER_HOLDS_UNDEFINED(&it))
            return NULL;
    bson_t *d = bson_new();
    if (!key_doc_build(named, d, "", 0, 0)) {
        bson_destroy(d);
        return NULL;
    }
    return d;
}

/* distinct_skip -- after a key with first value v, start the next scan past every (v, ...). */
static void distinct_skip(ixsrc_t *s, const bson_t *named)
{
    bson_iter_t it, kp;
    if (s->has_skip)
        bson_destroy(s->skip_start);
    s->skip_start = bson_new();
    s->has_skip = true;
    bson_iter_init(&it, named);
    bson_iter_next(&it);
    bson_append_value(s->skip_start, "", 0, bson_iter_value(&it));
    bson_iter_init(&kp, stor_index_key_pattern(s->idx));
    bson_iter_next(&kp);
    while (bson_iter_next(&kp)) {
        /* the largest key of the rest, in index order: MaxKey ascending, MinKey descending */
        if (bson_iter_as_double(&kp) < 0)
            bson_append_minkey(s->skip_start, "", 0);
        else
            bson_append_maxkey(s->skip_start, "", 0);
    }
    stor_index_cursor_close(s->ic);
    s->ic = NULL;
}

/* ------------------------------------------------------------------ pipelines */

static void pipe_close(pipe_t *p)
{
    stor_cursor_close(p->cur);
    p->cur = NULL;
    stor_index_cursor_close(p->cic);
    p->cic = NULL;
    for (size_t i = 0; i < p->nix; i++) {
        stor_index_cursor_close(p->ix[i].ic);
        if (p->ix[i].has_skip)
            bson_destroy(p->ix[i].skip_start);
    }
    free(p->ix);
    p->ix = NULL;
    p->nix = 0;
    ridset_free(&p->seen);
}

static void ixsrc_init(micad_exec_t *ex, ixsrc_t *s, const qry_plan_t *plan)
{
    memset(s, 0, sizeof(*s));
    s->plan = plan;
    s->idx = ex->ixh[plan->index];
    s->eof = plan->nranges == 0;
}

/* pipe_open -- a fresh pipeline for plan (cursors open lazily). */
static void pipe_open(micad_exec_t *ex, pipe_t *p, qry_plan_t *plan)
{
    memset(p, 0, sizeof(*p));
    p->plan = plan;
    p->covered = ex->coll != NULL && plan_covered(ex, plan);
    p->distinct = p->covered && plan_distinct(ex, plan);
    if (plan->kind == QRY_PLAN_IXSCAN) {
        p->ix = calloc(1, sizeof(ixsrc_t));
        p->nix = 1;
        ixsrc_init(ex, &p->ix[0], plan);
    } else if (plan->kind == QRY_PLAN_OR) {
        p->ix = calloc(plan->nchildren ? plan->nchildren : 1, sizeof(ixsrc_t));
        p->nix = plan->nchildren;
        for (size_t i = 0; i < plan->nchildren; i++)
            ixsrc_init(ex, &p->ix[i], plan->children[i]);
    }
}

/* record_index_use -- count the chosen plan's indexes for $indexStats (each once). */
static void record_index_use(const pipe_t *p)
{
    for (size_t i = 0; i < p->nix; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || p->ix[j].idx == p->ix[i].idx;
        if (!seen && p->ix[i].idx != NULL)
            stor_index_record_access(p->ix[i].idx);
    }
}

static int pipe_save(pipe_t *p, status_t *st)
{
    if (p->cur != NULL)
        ST_RET(stor_cursor_save(p->cur, st));
    if (p->cic != NULL)
        ST_RET(stor_index_cursor_save(p->cic, st));
    for (size_t i = 0; i < p->nix; i++)
        if (p->ix[i].ic != NULL)
            ST_RET(stor_index_cursor_save(p->ix[i].ic, st));
    return 0;
}

static int pipe_restore(pipe_t *p, status_t *st)
{
    if (p->cur != NULL)
        ST_RET(stor_cursor_restore(p->cur, st));
    if (p->cic != NULL)
        ST_RET(stor_index_cursor_restore(p->cic, st));
    for (size_t i = 0; i < p->nix; i++)
        if (p->ix[i].ic != NULL)
            ST_RET(stor_index_cursor_restore(p->ix[i].ic, st));
    return 0;
}

/* ixsrc_next -- the next RecordId (and key) of an index source. */
static int ixsrc_next(micad_exec_t *ex, ixsrc_t *s, xstats_t *xs, int64_t *rid, bson_t *key,
                      bool *eof, status_t *st)
{
    *eof = false;
    for (;;) {
        if (s->eof) {
            *eof = true;
            return 0;
        }
        if (s->ic == NULL) {
            const qry_ixrange_t *r = &s->plan->ranges[s->range];
            stor_index_bounds_t b = {
                .start = s->has_skip    ? s->skip_start
                         : r->has_start ? &r->start
                                        : NULL,
                .start_inclusive = s->has_skip ? false : r->start_incl,
                .end = r->has_end ? &r->end : NULL,
                .end_inclusive = r->end_incl,
                .forward = s->plan->direction > 0,
            };
            ST_RET(stor_index_cursor_open(ex->sess, s->idx, &b, &s->ic, st));
        }
        bool e = false;
        bson_t k;
        int ret = stor_index_cursor_next(s->ic, rid, key ? &k : NULL, &e, st);
        if (ret != 0) {
            if (key)
                bson_destroy(&k);
            return ret;
        }
        if (!e) {
            xs->keys++;
            if (key) {
                bson_init(key);
                /* Name the values after the key pattern's fields (returnKey's shape). */
                bson_iter_t ki, vi;
                bson_iter_init(&ki, s->plan->key_pattern != NULL ? s->plan->key_pattern
                                                                 : stor_index_key_pattern(s->idx));
                bson_iter_init(&vi, &k);
                while (bson_iter_next(&ki) && bson_iter_next(&vi))
                    bson_append_value(key, bson_iter_key(&ki), -1, bson_iter_value(&vi));
                bson_destroy(&k);
            }
            return 0;
        }
        if (key)
            bson_destroy(&k);
        stor_index_cursor_close(s->ic);
        s->ic = NULL;
        if (s->has_skip) {
            bson_destroy(s->skip_start);
            s->has_skip = false;
        }
        if (++s->range >= s->plan->nranges)
            s->eof = true;
    }
}

/*
 * pipe_next -- the next document that passes the filter: *doc (owned copy),
 * rid, the matched array index, and the index key when want_key.
 */
static int pipe_next_timed(micad_exec_t *ex, pipe_t *p, bool want_key, bson_t **doc, bson_t **ixkey,
                           int64_t *rid, int32_t *midx, bool *eof, int64_t deadline_us,
                           status_t *st);

/* pipe_next -- the next result of a pipeline, its time added to the pipeline's (explain). */
static int pipe_next(micad_exec_t *ex, pipe_t *p, bool want_key, bson_t **doc, bson_t **ixkey,
                     int64_t *rid, int32_t *midx, bool *eof, int64_t deadline_us, status_t *st)
{
    int64_t t0 = time_mono_us();
    int ret = pipe_next_timed(ex, p, want_key, doc, ixkey, rid, midx, eof, deadline_us, st);
    p->st.time_us += time_mono_us() - t0;
    return ret;
}

static int pipe_next_timed(micad_exec_t *ex, pipe_t *p, bool want_key, bson_t **doc, bson_t **ixkey,
                           int64_t *rid, int32_t *midx, bool *eof, int64_t deadline_us,
                           status_t *st)
{
    *doc = NULL;
    *ixkey = NULL;
    *eof = false;
    if (ex->coll == NULL || p->src_eof) {
        *eof = true;
        p->st.eof = true;
        return 0;
    }
    for (;;) {
        p->st.works++;
        if (p->st.works % DEADLINE_EVERY == 0) {
            ST_RET(wire_curop_check(st)); /* killOp / shutdown */
            if (deadline_us > 0 && time_mono_us() > deadline_us)
                return status_set(st, ERR_MaxTimeMSExpired, "operation exceeded time limit");
        }
        /* A long batch yields so it never pins one snapshot for long. */
        if (ex->in_batch && ++ex->works_since_yield >= YIELD_EVERY) {
            ex->works_since_yield = 0;
            micad_exec_end_batch(ex);
            ST_RET(micad_exec_begin_batch(ex, st));
            p->st.yields++;
            if (wire_curop_self() != NULL)
                wire_curop_add(&wire_curop_self()->info.num_yields, 1);
        }
        qry_match_details_t det = {0};
        if (p->plan->kind == QRY_PLAN_COLLSCAN) {
            bson_t view;
            bool e = false;
            bool fetched = false;
            if (ex->cluster_ix != NULL && !ex->q.tailable) {
                /* clustered: the collection in cluster-key (_id) order */
                if (p->cic == NULL) {
                    stor_index_bounds_t b = {.forward = p->plan->direction > 0};
                    ST_RET(stor_index_cursor_open(ex->sess, ex->cluster_ix, &b, &p->cic, st));
                }
                ST_RET(stor_index_cursor_next(p->cic, rid, NULL, &e, st));
                if (!e) {
                    bool found = false;
                    ST_RET(stor_record_get(ex->sess, ex->coll, *rid, &view, &found, st));
                    if (!found) {
                        bson_destroy(&view);
                        continue;
                    }
                    fetched = true;
                }
            } else {
                if (p->cur == NULL)
                    ST_RET(
                        stor_cursor_open(ex->sess, ex->coll, p->plan->direction > 0, &p->cur, st));
                ST_RET(stor_cursor_next(p->cur, rid, &view, &e, st));
            }
            if (e) {
                if (!ex->q.tailable)
                    p->src_eof = true;
                p->st.eof = true;
                *eof = true;
                return 0;
            }
            p->st.docs++;
            p->st.scanned++;
            bool ok = false;
            int mret = qry_match_exec(ex->match, &view, &det, &ok, st);
            if (mret == 0 && ok)
                *doc = bson_copy(&view);
            if (fetched)
                bson_destroy(&view);
            if (mret != 0)
                return mret;
            if (!ok)
                continue;
        } else {
            bson_t key;
            bool e = false;
            ixsrc_t *s = &p->ix[p->cur_ix];
            bool need_key = want_key || p->covered;
            ST_RET(ixsrc_next(ex, s, &p->st, rid, need_key ? &key : NULL, &e, st));
            if (e) {
                if (++p->cur_ix >= p->nix) {
                    p->src_eof = true;
                    p->st.eof = true;
                    *eof = true;
                    return 0;
                }
                continue;
            }
            p->st.scanned++;
            if (p->plan->dedup || s->plan->dedup) {
                if (!ridset_add(&p->seen, *rid)) {
                    p->st.dups++;
                    if (need_key)
                        bson_destroy(&key);
                    continue;
                }
            }
            bson_t *kd = p->covered ? key_doc(&key) : NULL;
            if (kd != NULL) {
                /* covered: the key is the document; no fetch */
                bool ok = false;
                if (p->distinct)
                    distinct_skip(s, &key);
                int ret = qry_match_exec(ex->match, kd, &det, &ok, st);
                if (ret != 0 || !ok) {
                    bson_destroy(kd);
                    bson_destroy(&key);
                    if (ret != 0)
                        return ret;
                    continue;
                }
                *doc = kd;
                if (want_key)
                    *ixkey = bson_copy(&key);
                bson_destroy(&key);
                goto matched;
            }
            if (p->covered && !want_key) {
                bson_destroy(&key);
                need_key = false;
            }
            bson_t d;
            bool found = false;
            int ret = stor_record_get(ex->sess, ex->coll, *rid, &d, &found, st);
            if (ret != 0) {
                if (need_key)
                    bson_destroy(&key);
                return ret;
            }
            p->st.docs++;
            bool ok = false;
            if (found && (ret = qry_match_exec(ex->match, &d, &det, &ok, st)) != 0) {
                bson_destroy(&d);
                if (need_key)
                    bson_destroy(&key);
                return ret;
            }
            if (!found || !ok) {
                bson_destroy(&d);
                if (need_key)
                    bson_destroy(&key);
                continue;
            }
            *doc = bson_copy(&d);
            bson_destroy(&d);
            if (need_key)
                *ixkey = bson_copy(&key), bson_destroy(&key);
        }
    matched:
        p->st.filtered++;
        *midx = det.has_elem_match_key ? (int32_t)det.elem_match_key : -1;
        if (want_key && *ixkey == NULL)
            *ixkey = bson_new();
        return 0;
    }
}

/* ------------------------------------------------------------------ batches */

/*
 * read_begin -- the unit of work a batch reads in: the newest data, or at
 * read concern majority the majority commit point of this moment (each batch
 * of a cursor takes the commit point anew, as MongoDB's getMore does). The
 * oldest timestamp follows the commit point, so a point that moved on since
 * it was read is rounded up to it: still majority-committed.
 */
static int read_begin(micad_exec_t *ex, stor_uow_t **uow, status_t *st)
{
    uint64_t ts = 0;
    if (ex->read_mode == REPL_READ_MAJORITY)
        ST_RET(repl_majority_read_ts(&ts, st));
    return stor_uow_begin_ts(ex->sess, ts, true, uow, st);
}

/* micad_exec_begin_batch -- see exec.h. */
int micad_exec_begin_batch(micad_exec_t *ex, status_t *st)
{
    if (ex->has_ext) {
        if (!ex->in_batch)
            ST_RET(ex->ext.begin_batch(ex->ext.arg, st));
        ex->in_batch = true;
        return 0;
    }
    if (ex->coll == NULL || ex->in_batch)
        return 0;
    stor_uow_t *uow;
    ST_RET(read_begin(ex, &uow, st));
    ex->in_batch = true;
    int ret = pipe_restore(&ex->run, st);
    if (ret != 0) {
        micad_exec_end_batch(ex);
        return ret;
    }
    return 0;
}

/*
 * report_stats -- what this batch examined, added to the running operation's
 * counters (the profiler's keysExamined/docsExamined, currentOp's planSummary).
 * Each batch runs inside one command (find, getMore, aggregate), so the thread's
 * op is the right one to charge.
 */
static void report_stats(micad_exec_t *ex)
{
    wire_opctx_t *op = wire_curop_self();
    const xstats_t *x = &ex->run.st;
    if (op == NULL)
        return;
    wire_curop_add(&op->info.keys_examined, x->keys - ex->rep_keys);
    wire_curop_add(&op->info.docs_examined, x->docs - ex->rep_docs);
    ex->rep_keys = x->keys;
    ex->rep_docs = x->docs;
    if (op->info.plan_summary[0] == '\0' && ex->summary[0] != '\0')
        wire_curop_set_plan_summary(ex->summary);
    if (ex->need_sort)
        op->info.has_sort_stage = true;
}

/* plan_kp -- the key pattern an IXSCAN reads: a wildcard index's expansion ({$_path: 1, a: 1})
 * or the index's own. */
static const bson_t *plan_kp(const micad_exec_t *ex, const qry_plan_t *pl)
{
    if (pl->key_pattern != NULL)
        return pl->key_pattern;
    return pl->index < ex->nix ? ex->ixinfo[pl->index].key_pattern : NULL;
}

/* key_pattern_text -- "{ a: 1, b: -1 }" as MongoDB's planSummary prints a key pattern. */
static void key_pattern_text(const bson_t *kp, char *buf, size_t len)
{
    bson_iter_t it;
    size_t o = 0;
    bool first = true;
    o += (size_t)snprintf(buf + o, len - o, "{ ");
    if (kp != NULL && bson_iter_init(&it, kp)) {
        while (bson_iter_next(&it) && o < len) {
            char v[64];
            if (BSON_ITER_HOLDS_UTF8(&it))
                (void)snprintf(v, sizeof(v), "\"%s\"", bson_iter_utf8(&it, NULL));
            else if (BSON_ITER_HOLDS_DOUBLE(&it))
                (void)snprintf(v, sizeof(v), "%g", bson_iter_double(&it));
            else
                (void)snprintf(v, sizeof(v), "%lld", (long long)bson_iter_as_int64(&it));
            o += (size_t)snprintf(buf + o, len - o, "%s%s: %s", first ? "" : ", ",
                                  bson_iter_key(&it), v);
            first = false;
        }
    }
    if (o < len)
        (void)snprintf(buf + o, len - o, " }");
}

/* clustered_scan -- an IXSCAN of a clustered collection's cluster key: MongoDB's
 * CLUSTERED_IXSCAN (a bounded scan of the collection itself, no separate FETCH). */
static bool clustered_scan(const micad_exec_t *ex, const qry_plan_t *pl)
{
    return ex->cluster_ix != NULL && pl->kind == QRY_PLAN_IXSCAN && pl->index < ex->nix &&
           ex->ixh[pl->index] == ex->cluster_ix;
}

/* clustered_unbounded -- a scan of the whole cluster key (e.g. for a sort on _id): MongoDB
 * shows it as the clustered collection's COLLSCAN. */
static bool clustered_unbounded(const qry_plan_t *pl)
{
    if (pl->nfields == 0 || pl->bounds[0].n != 1)
        return false;
    const qry_interval_t *iv = &pl->bounds[0].iv[0];
    return iv->lo.value_type == BSON_TYPE_MINKEY && iv->hi.value_type == BSON_TYPE_MAXKEY;
}

/* plan_summary -- currentOp's and the profiler's planSummary for the winning plan. */
static void plan_summary(micad_exec_t *ex, const qry_plan_t *plan, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    if (ex->coll == NULL) {
        (void)snprintf(buf, len, "EOF");
        return;
    }
    if (plan->kind == QRY_PLAN_COLLSCAN) {
        (void)snprintf(buf, len, "COLLSCAN");
        return;
    }
    const qry_plan_t *const *kids = (const qry_plan_t *const *)plan->children;
    size_t n = plan->nchildren;
    const qry_plan_t *one = plan;
    if (n == 0) {
        kids = &one;
        n = 1;
    }
    if (n == 1 && clustered_scan(ex, plan)) {
        (void)snprintf(buf, len, clustered_unbounded(plan) ? "COLLSCAN" : "CLUSTERED_IXSCAN");
        return;
    }
    for (size_t i = 0; i < n && o + 1 < len; i++) {
        char kp[160];
        const qry_plan_t *c = kids[i];
        key_pattern_text(plan_kp(ex, c), kp, sizeof(kp));
        o += (size_t)snprintf(buf + o, len - o, "%sIXSCAN %s", i ? ", " : "", kp);
    }
}

/* micad_exec_end_batch -- see exec.h. */
void micad_exec_end_batch(micad_exec_t *ex)
{
    if (!ex->in_batch)
        return;
    if (ex->has_ext) {
        ex->ext.end_batch(ex->ext.arg);
        ex->in_batch = false;
        return;
    }
    status_t st = STATUS_INIT;
    (void)pipe_save(&ex->run, &st);
    stor_uow_abort(stor_session_uow(ex->sess)); /* read-only: nothing to commit */
    ex->in_batch = false;
    report_stats(ex);
}

/* ------------------------------------------------------------------ trial and selection */

/* trial -- run a candidate for a little while; its stats say how productive it is. */
static int trial(micad_exec_t *ex, pipe_t *p, int64_t deadline_us, status_t *st)
{
    int64_t results = 0;
    while (results < TRIAL_RESULTS && p->st.works < TRIAL_WORKS) {
        bson_t *doc, *key;
        int64_t rid;
        int32_t midx;
        bool eof;
        ST_RET(pipe_next(ex, p, false, &doc, &key, &rid, &midx, &eof, deadline_us, st));
        if (eof)
            break;
        bson_destroy(doc);
        results++;
    }
    return 0;
}

/* score -- MongoDB's idea: productivity (results per work), an EOF bonus, a no-SORT tie-break. */
static double score(const pipe_t *p, bool need_sort_for_plan)
{
    double works = p->st.works > 0 ? (double)p->st.works : 1.0;
    double results = (double)p->st.filtered;
    /* A blocking SORT returns nothing until its input ends. */
    if (need_sort_for_plan && !p->st.eof)
        results = 0;
    return 1.0 + results / works + (p->st.eof ? 1.0 : 0.0) + (need_sort_for_plan ? 0 : 1e-4);
}

/* index_signature -- the index set in the cache key: a change of indexes invalidates. */
static void index_signature(micad_exec_t *ex, bson_string_t *s)
{
    for (size_t i = 0; i < ex->nix; i++) {
        char *js = bson_as_canonical_extended_json(ex->ixinfo[i].key_pattern, NULL);
        bson_string_append_printf(s, "|%s%s%s%s", ex->ixinfo[i].name, js ? js : "",
                                  ex->ixinfo[i].multikey ? "M" : "",
                                  ex->ixinfo[i].sparse ? "S" : "");
        bson_free(js);
        if (ex->ixinfo[i].multikey) {
            js = bson_as_canonical_extended_json(ex->ixinfo[i].multikey_paths, NULL);
            bson_string_append(s, js ? js : "");
            bson_free(js);
        }
    }
}

static bool has_sort(const micad_exec_t *ex)
{
    return ex->q.has_sort && !bson_empty(&ex->q.sort);
}

/* choose -- the winning plan: the only one, the cached one, or the trial's best. */
static int choose(micad_exec_t *ex, const wire_opctx_t *op, status_t *st)
{
    ex->winner = 0;
    if (ex->nplans <= 1 || ex->q.tailable)
        return 0;
    bson_string_t *key = bson_string_new(ex->q.ns);
    bson_string_append(key, " ");
    qry_plan_shape(ex->match, has_sort(ex) ? &ex->q.sort : NULL,
                   ex->q.has_projection ? &ex->q.projection : NULL, key);
    index_signature(ex, key);
    char cached[256];
    if (pc_lookup(key->str, cached, sizeof(cached))) {
        for (size_t i = 0; i < ex->nplans; i++)
            if (strcmp(ex->plans[i]->summary, cached) == 0) {
                ex->winner = i;
                ex->from_cache = true;
                bson_string_free(key, true);
                return 0;
            }
    }
    ex->cand = calloc(ex->nplans, sizeof(pipe_t));
    ex->ncand = ex->nplans;
    int ret = 0;
    stor_uow_t *uow;
    ret = read_begin(ex, &uow, st);
    double best = -1;
    for (size_t i = 0; ret == 0 && i < ex->nplans; i++) {
        pipe_open(ex, &ex->cand[i], ex->plans[i]);
        ret = trial(ex, &ex->cand[i], op ? op->deadline_us : 0, st);
        status_t s2 = STATUS_INIT;
        (void)pipe_save(&ex->cand[i], &s2);
        double sc = score(&ex->cand[i], has_sort(ex) && !ex->plans[i]->provides_sort);
        if (sc > best) {
            best = sc;
            ex->winner = i;
        }
    }
    if (ret == 0)
        stor_uow_abort(uow);
    else if (stor_session_uow(ex->sess) != NULL)
        stor_uow_abort(stor_session_uow(ex->sess));
    for (size_t i = 0; i < ex->ncand; i++) {
        /* Keep the statistics for explain, drop the storage cursors. */
        stor_cursor_close(ex->cand[i].cur);
        ex->cand[i].cur = NULL;
        for (size_t k = 0; k < ex->cand[i].nix; k++) {
            stor_index_cursor_close(ex->cand[i].ix[k].ic);
            ex->cand[i].ix[k].ic = NULL;
        }
        ridset_free(&ex->cand[i].seen);
    }
    if (ret == 0)
        pc_store(ex->q.ns, key->str, ex->plans[ex->winner]->summary);
    bson_string_free(key, true);
    return ret;
}

/*
 * distinct_index -- for distinct: the name (as a hint) of a plain, complete,
 * not multikey index that starts with the key and whose fields answer the
 * filter, as MongoDB's getExecutorDistinct looks for one.
 */
static bool distinct_index(const micad_exec_t *ex, bson_value_t *hint)
{
    bson_iter_t it;
    if (ex->q.distinct_key == NULL || ex->coll == NULL || ex->q.tailable)
        return false;
    for (size_t i = 0; i < ex->nix; i++) {
        const qry_index_info_t *ii = &ex->ixinfo[i];
        if (ii->multikey || ii->sparse || ii->partial != NULL || !plain_index(ii->key_pattern) ||
            !bson_iter_init(&it, ii->key_pattern) || !bson_iter_next(&it) ||
            strcmp(bson_iter_key(&it), ex->q.distinct_key) != 0 ||
            !filter_covered(qry_match_root(ex->match), ii->key_pattern, 0))
            continue;
        memset(hint, 0, sizeof(*hint));
        hint->value_type = BSON_TYPE_UTF8;
        hint->value.v_utf8.str = (char *)ii->name;
        hint->value.v_utf8.len = (uint32_t)strlen(ii->name);
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ create / destroy */

/* micad_exec_create -- see exec.h. */
int micad_exec_create(micad_t *m, const wire_opctx_t *op, const micad_query_t *q,
                      micad_exec_t **out, status_t *st)
{
    int ret = 0;
    micad_exec_t *ex = calloc(1, sizeof(*ex));
    INVARIANT(ex != NULL);
    *out = NULL;
    ex->m = m;
    query_copy(&ex->q, q);
    ex->read_mode = repl_read_source().mode;
    ex->limit_left = q->limit > 0 ? q->limit : -1;
    ex->skip_left = q->skip;

    /* $expr in a filter evaluates through query/'s expressions, with find's let as $$vars. */
    if (ex->q.let != NULL)
        ST_ERR(micad_let_open(ex->q.let, &ex->let, st));
    qry_match_hooks_t hooks = micad_let_hooks(ex->let);
    ST_ERR(qry_match_parse(&ex->q.filter, &hooks, &ex->match, st));
    if (ex->q.has_sort && !bson_empty(&ex->q.sort))
        ST_ERR(qry_sort_parse(&ex->q.sort, &ex->sort, st));
    if (ex->q.has_projection && !bson_empty(&ex->q.projection))
        ST_ERR(qry_projection_parse(&ex->q.projection, &ex->proj, st));

    if (m == NULL || m->engine == NULL) {
        ret = status_set(st, ERR_InternalError, "the storage engine is not open");
        goto err;
    }
    status_t lst = STATUS_INIT;
    if (stor_collection_lookup(m->engine, ex->q.ns, &ex->coll, &lst) != 0)
        ex->coll = NULL;
    if (ex->coll != NULL) {
        const bson_t *o = stor_collection_options(ex->coll);
        bson_iter_t it;
        bool capped = o != NULL && bson_iter_init_find(&it, o, "capped") && bson_iter_as_bool(&it);
        if (ex->q.tailable && !capped) {
            ret = status_set(st, ERR_BadValue,
                             "error processing query: ns=%s tailable cursor "
                             "requested on non capped collection",
                             ex->q.ns);
            goto err;
        }
        ST_ERR(stor_session_open(m->engine, &ex->sess, st));
        if (micad_clustered_spec(o, NULL)) {
            stor_index_t *ci = NULL;
            status_t cst = STATUS_INIT;
            if (stor_index_lookup(ex->coll, "_id_", &ci, &cst) == 0)
                ex->cluster_ix = ci;
        }
        if (!id_point(ex) || !load_id_index(ex))
            ST_ERR(load_indexes(ex, st));
    } else if (ex->q.tailable) {
        ret = status_set(st, ERR_BadValue,
                         "error processing query: ns=%s tailable cursor requested on non capped "
                         "collection",
                         ex->q.ns);
        goto err;
    }

    qry_plan_request_t req = {0};
    req.filter = ex->match;
    req.sort = has_sort(ex) ? &ex->q.sort : NULL;
    req.hint = ex->q.has_hint ? &ex->q.hint : NULL;
    req.min = ex->q.has_min ? &ex->q.min : NULL;
    req.max = ex->q.has_max ? &ex->q.max : NULL;
    req.indexes = ex->ixinfo;
    req.nindexes = ex->nix;
    req.no_table_scan =
        ex->coll != NULL && micad_param_no_table_scan(ex->q.ns, bson_empty(&ex->q.filter));
    if (ex->q.tailable && req.no_table_scan) {
        ret = status_set(st, ERR_NoQueryExecutionPlans,
                         "error processing query: ns=%s planner returned error :: caused by :: "
                         "Running with 'notablescan', so tailable cursors (which always do a "
                         "table scan) are not allowed",
                         ex->q.ns);
        goto err;
    }
    if (ex->q.tailable) {
        /* Tailable cursors follow insertion order: a forward collection scan. */
        req.hint = NULL;
        req.sort = NULL;
    }
    if (ex->coll == NULL && req.hint != NULL) {
        /* No collection, no indexes: a hint cannot be checked; MongoDB answers empty. */
        req.hint = NULL;
        req.min = req.max = NULL;
    }
    bson_value_t dhint;
    if (req.hint == NULL && distinct_index(ex, &dhint))
        req.hint = &dhint; /* distinct: the index that gives a DISTINCT_SCAN */
    ST_ERR(qry_plan_enumerate(&req, &ex->plans, &ex->nplans, st));
    if (ex->coll != NULL)
        ST_ERR(choose(ex, op, st));
    pipe_open(ex, &ex->run, ex->plans[ex->winner]);
    record_index_use(&ex->run);
    ex->need_sort = has_sort(ex) && !ex->plans[ex->winner]->provides_sort;
    plan_summary(ex, ex->plans[ex->winner], ex->summary, sizeof(ex->summary));
    *out = ex;
    return 0;
err:
    micad_exec_destroy(ex);
    return ret;
}

/* micad_exec_create_ext -- see exec.h. */
void micad_exec_create_ext(micad_t *m, const char *ns, const micad_exec_ext_t *ext,
                           micad_exec_t **out)
{
    micad_exec_t *ex = calloc(1, sizeof(*ex));
    INVARIANT(ex != NULL);
    ex->m = m;
    micad_query_init(&ex->q);
    snprintf(ex->q.ns, sizeof(ex->q.ns), "%s", ns);
    ex->limit_left = -1;
    ex->has_ext = true;
    ex->ext = *ext;
    *out = ex;
}

static void buf_free(micad_exec_t *ex)
{
    for (size_t i = 0; i < ex->nbuf; i++) {
        bson_destroy(ex->buf[i].doc);
        bson_destroy(ex->buf[i].key);
        if (ex->buf[i].ixkey)
            bson_destroy(ex->buf[i].ixkey);
    }
    free(ex->buf);
    ex->buf = NULL;
    ex->nbuf = ex->capbuf = ex->bufpos = 0;
}

/* micad_exec_destroy -- see exec.h. */
void micad_exec_destroy(micad_exec_t *ex)
{
    if (ex == NULL)
        return;
    micad_exec_end_batch(ex);
    if (!ex->has_ext && ex->coll != NULL && ex->run.plan != NULL)
        micad_counters_query(ex->run.st.keys, ex->run.st.docs,
                             ex->run.plan->kind == QRY_PLAN_COLLSCAN, ex->q.tailable, ex->sorted);
    if (ex->has_ext && ex->ext.destroy != NULL)
        ex->ext.destroy(ex->ext.arg);
    if (ex->stash != NULL)
        bson_destroy(ex->stash);
    pipe_close(&ex->run);
    for (size_t i = 0; i < ex->ncand; i++)
        pipe_close(&ex->cand[i]);
    free(ex->cand);
    buf_free(ex);
    qry_ext_sort_destroy(ex->xsort);
    qry_plan_free_all(ex->plans, ex->nplans);
    for (size_t i = 0; i < ex->nix; i++) {
        bson_destroy(&ex->ixmkp[i]);
        qry_match_destroy(ex->ixpartial[i]);
    }
    free(ex->ixinfo);
    free(ex->ixh);
    free(ex->ixmkp);
    for (size_t i = 0; ex->ixwcp != NULL && i <= ex->nix; i++)
        if (ex->ixwcp[i] != NULL)
            bson_destroy(ex->ixwcp[i]);
    free(ex->ixwcp);
    free(ex->ixpartial);
    if (ex->ixspecs)
        bson_destroy(ex->ixspecs);
    qry_match_destroy(ex->match);
    micad_let_destroy(ex->let);
    qry_sort_destroy(ex->sort);
    qry_projection_destroy(ex->proj);
    stor_session_close(ex->sess);
    micad_query_destroy(&ex->q);
    free(ex);
}

/* ------------------------------------------------------------------ the pipeline */

/* qsort has no context argument: the executor being sorted, per thread. */
static __thread const micad_exec_t *t_sort_ex;

static int sitem_cmp(const void *a, const void *b)
{
    const sitem_t *x = a, *y = b;
    int c = qry_sort_compare_keys(t_sort_ex->sort, x->key, y->key);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* sort_prune -- with a limit only skip+limit documents can ever be returned. */
static void sort_prune(micad_exec_t *ex, size_t keep)
{
    t_sort_ex = ex;
    if (ex->nbuf > 1) /* buf is NULL while empty: qsort must not see it */
        qsort(ex->buf, ex->nbuf, sizeof(sitem_t), sitem_cmp);
    for (size_t i = keep; i < ex->nbuf; i++) {
        bson_destroy(ex->buf[i].doc);
        bson_destroy(ex->buf[i].key);
        if (ex->buf[i].ixkey)
            bson_destroy(ex->buf[i].ixkey);
    }
    if (ex->nbuf > keep)
        ex->nbuf = keep;
}

/* sat_add -- a + b for non-negative counts, capped at INT64_MAX (skip and limit may be huge). */
static int64_t sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* fill_sort -- drain the source into the sort buffer and sort it. */
static int sort_spill(micad_exec_t *ex, status_t *st);

static int fill_sort(micad_exec_t *ex, int64_t deadline_us, status_t *st)
{
    pipe_t *p = &ex->run;
    size_t keep = 0;
    if (ex->q.limit > 0)
        keep = (size_t)sat_add(ex->q.limit, ex->q.skip);
    for (;;) {
        bson_t *doc, *ixkey;
        int64_t rid;
        int32_t midx;
        bool eof;
        ST_RET(
            pipe_next(ex, p, ex->q.return_key, &doc, &ixkey, &rid, &midx, &eof, deadline_us, st));
        if (eof)
            break;
        bson_t k;
        int ret = qry_sort_key(ex->sort, doc, &k, st);
        if (ret != 0) {
            bson_destroy(&k);
            bson_destroy(doc);
            if (ixkey)
                bson_destroy(ixkey);
            return ret;
        }
        if (ex->nbuf == ex->capbuf) {
            ex->capbuf = ex->capbuf ? ex->capbuf * 2 : 64;
            ex->buf = realloc(ex->buf, ex->capbuf * sizeof(sitem_t));
            INVARIANT(ex->buf != NULL);
        }
        sitem_t *it = &ex->buf[ex->nbuf++];
        it->doc = doc;
        it->key = bson_copy(&k);
        bson_destroy(&k);
        it->ixkey = ixkey;
        it->rid = rid;
        it->midx = midx;
        it->seq = (size_t)p->st.sort_in++;
        p->st.sort_bytes += doc->len + it->key->len;
        ex->sorted_bytes += doc->len + it->key->len;
        if (keep > 0 && keep < ((size_t)1 << 40) && ex->nbuf >= 2 * keep + 64) {
            sort_prune(ex, keep);
            p->st.sort_bytes = 0;
            for (size_t i = 0; i < ex->nbuf; i++)
                p->st.sort_bytes += ex->buf[i].doc->len + ex->buf[i].key->len;
        }
        if ((int64_t)p->st.sort_bytes > MICAD_SORT_MEM_LIMIT) {
            if (!ex->q.allow_disk_use)
                return status_set(st, ERR_QueryExceededMemoryLimitNoDiskUseAllowed,
                                  "Executor error during find command :: caused by :: Sort "
                                  "exceeded memory limit of %lld bytes, but did not opt in to "
                                  "external sorting.",
                                  (long long)MICAD_SORT_MEM_LIMIT);
            ST_RET(sort_spill(ex, st));
            p->st.sort_bytes = 0;
        }
    }
    if (ex->xsort != NULL) {
        ST_RET(sort_spill(ex, st));
        ST_RET(qry_ext_sort_finish(ex->xsort, st));
        ex->sorted = true;
        return 0;
    }
    sort_prune(ex, keep > 0 ? keep : ex->nbuf);
    ex->sorted = true;
    return 0;
}

/*
 * sort_spill -- move the buffered results into the external sorter (made on
 * first use), which writes sorted runs to disk past the memory limit: find's
 * blocking sort with allowDiskUse stays within the limit as $sort does.
 */
static int sort_spill(micad_exec_t *ex, status_t *st)
{
    if (ex->xsort == NULL)
        ex->xsort = qry_ext_sort_new(ex->sort, (size_t)MICAD_SORT_MEM_LIMIT, NULL);
    for (size_t i = 0; i < ex->nbuf; i++) {
        sitem_t *it = &ex->buf[i];
        bson_t payload = BSON_INITIALIZER;
        BSON_APPEND_DOCUMENT(&payload, "d", it->doc);
        BSON_APPEND_INT64(&payload, "r", it->rid);
        BSON_APPEND_INT32(&payload, "m", it->midx);
        if (it->ixkey != NULL)
            BSON_APPEND_DOCUMENT(&payload, "i", it->ixkey);
        int ret = qry_ext_sort_add(ex->xsort, it->key, &payload, st);
        bson_destroy(&payload);
        if (ret != 0)
            return ret;
    }
    buf_free(ex);
    return 0;
}

/* sort_spilled_next -- the next result of the external sorter, as the buffer holds them. */
static int sort_spilled_next(micad_exec_t *ex, bson_t **doc, bson_t **ixkey, int64_t *rid,
                             int32_t *midx, bool *eof, status_t *st)
{
    bson_t payload;
    bson_iter_t it;
    ST_RET(qry_ext_sort_next(ex->xsort, &payload, eof, st));
    if (!*eof) {
        uint32_t len;
        const uint8_t *data;
        *doc = NULL;
        *ixkey = NULL;
        if (bson_iter_init_find(&it, &payload, "d") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_iter_document(&it, &len, &data);
            *doc = bson_new_from_data(data, len);
        }
        if (bson_iter_init_find(&it, &payload, "i") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_iter_document(&it, &len, &data);
            *ixkey = bson_new_from_data(data, len);
        }
        *rid = bson_iter_init_find(&it, &payload, "r") ? bson_iter_int64(&it) : 0;
        *midx = bson_iter_init_find(&it, &payload, "m") ? bson_iter_int32(&it) : -1;
        INVARIANT(*doc != NULL);
    }
    bson_destroy(&payload);
    return 0;
}

/* meta_cb -- {$meta: "recordId"} and {$meta: "indexKey"} in a projection. */
typedef struct meta_arg {
    int64_t rid;
    const bson_t *ixkey;
} meta_arg_t;

static int meta_cb(void *arg, const char *name, const bson_t *doc, bson_value_t *out, status_t *st)
{
    meta_arg_t *a = arg;
    memset(out, 0, sizeof(*out));
    if (strcmp(name, "recordId") == 0) {
        out->value_type = BSON_TYPE_INT64;
        out->value.v_int64 = a->rid;
        return 0;
    }
    if (strcmp(name, "indexKey") == 0 && a->ixkey != NULL) {
        out->value_type = BSON_TYPE_DOCUMENT;
        out->value.v_doc.data = (uint8_t *)bson_get_data(a->ixkey);
        out->value.v_doc.data_len = a->ixkey->len;
        return 0;
    }
    return status_set(st, ERR_NotImplemented, "$meta \"%s\" is not supported by find", name);
}

/* shape_out -- projection / returnKey / showRecordId of one result into out. */
static int shape_out(micad_exec_t *ex, const bson_t *doc, const bson_t *ixkey, int64_t rid,
                     int32_t midx, bson_t *out, status_t *st)
{
    int ret = 0;
    if (ex->q.return_key) {
        bson_init(out);
        if (ixkey != NULL)
            bson_concat(out, ixkey);
    } else if (ex->proj != NULL) {
        meta_arg_t ma = {rid, ixkey};
        qry_projection_ctx_t ctx = {midx, meta_cb, &ma};
        ret = qry_projection_apply(ex->proj, doc, &ctx, out, st);
        if (ret != 0)
            return ret;
    } else {
        bson_copy_to(doc, out);
    }
    if (ex->q.show_record_id)
        BSON_APPEND_INT64(out, "$recordId", rid);
    return 0;
}

/* micad_exec_next -- see exec.h. */
/* exec_next -- the next result, shaped for the client or (raw) the whole document + rid. */
static int exec_next(micad_exec_t *ex, int64_t deadline_us, bool raw, bson_t *out, int64_t *rid_out,
                     bool *eof, status_t *st)
{
    *eof = false;
    if (ex->stash != NULL && !raw) {
        bson_copy_to(ex->stash, out);
        bson_destroy(ex->stash);
        ex->stash = NULL;
        return 0;
    }
    if (ex->has_ext) {
        if (ex->eof) {
            *eof = true;
            return 0;
        }
        ST_RET(ex->ext.next(ex->ext.arg, deadline_us, out, eof, st));
        ex->eof = *eof && !ex->ext.tailable;
        return 0;
    }
    for (;;) {
        if (ex->eof || ex->limit_left == 0) {
            *eof = true;
            return 0;
        }
        bson_t *doc = NULL, *ixkey = NULL;
        int64_t rid = 0;
        int32_t midx = -1;
        bool e = false;
        if (ex->need_sort) {
            if (!ex->sorted)
                ST_RET(fill_sort(ex, deadline_us, st));
            if (ex->xsort != NULL) {
                ST_RET(sort_spilled_next(ex, &doc, &ixkey, &rid, &midx, &e, st));
            } else if (ex->bufpos >= ex->nbuf) {
                e = true;
            } else {
                sitem_t *it = &ex->buf[ex->bufpos++];
                doc = it->doc;
                ixkey = it->ixkey;
                rid = it->rid;
                midx = it->midx;
                it->doc = NULL;
                it->ixkey = NULL;
            }
        } else {
            ST_RET(pipe_next(ex, &ex->run, ex->q.return_key, &doc, &ixkey, &rid, &midx, &e,
                             deadline_us, st));
        }
        if (e) {
            if (!ex->q.tailable)
                ex->eof = true;
            *eof = true;
            return 0;
        }
        if (ex->skip_left > 0) {
            ex->skip_left--;
            ex->run.st.skipped++;
            bson_destroy(doc);
            if (ixkey)
                bson_destroy(ixkey);
            continue;
        }
        int ret = 0;
        if (raw) {
            bson_copy_to(doc, out);
            *rid_out = rid;
        } else {
            ret = shape_out(ex, doc, ixkey, rid, midx, out, st);
        }
        bson_destroy(doc);
        if (ixkey)
            bson_destroy(ixkey);
        if (ret != 0) {
            bson_destroy(out);
            return ret;
        }
        if (ex->limit_left > 0)
            ex->limit_left--;
        ex->run.st.returned++;
        return 0;
    }
}

/* micad_exec_next -- see exec.h. */
int micad_exec_next(micad_exec_t *ex, int64_t deadline_us, bson_t *out, bool *eof, status_t *st)
{
    int64_t rid;
    return exec_next(ex, deadline_us, false, out, &rid, eof, st);
}

/* micad_exec_next_record -- see exec.h. */
int micad_exec_next_record(micad_exec_t *ex, int64_t deadline_us, int64_t *rid, bson_t *doc,
                           bool *eof, status_t *st)
{
    return exec_next(ex, deadline_us, true, doc, rid, eof, st);
}

/* micad_exec_unget -- see exec.h. */
void micad_exec_unget(micad_exec_t *ex, const bson_t *doc)
{
    INVARIANT(ex->stash == NULL);
    ex->stash = bson_copy(doc);
}

/* micad_exec_is_eof -- see exec.h. */
bool micad_exec_is_eof(const micad_exec_t *ex)
{
    return ex->stash == NULL && (ex->eof || ex->limit_left == 0);
}

/* micad_exec_needs_sort -- see exec.h. */
bool micad_exec_needs_sort(const micad_exec_t *ex)
{
    return ex->need_sort;
}

/* micad_exec_ns -- see exec.h. */
const char *micad_exec_ns(const micad_exec_t *ex)
{
    return ex->q.ns;
}

/* micad_exec_count_fast -- see exec.h. */
int64_t micad_exec_count_fast(const micad_exec_t *ex)
{
    if (ex->coll == NULL)
        return 0;
    if (!bson_empty(&ex->q.filter) || ex->read_mode != REPL_READ_LATEST)
        return -1; /* the counters are the newest data's, not a snapshot's */
    return stor_collection_count(ex->coll);
}

/* micad_exec_set_run_error -- see exec.h. */
void micad_exec_set_run_error(micad_exec_t *ex, const status_t *st)
{
    ex->run_error = *st;
}

/*
 * Explain prints filters, bounds and the command as given; a filter with a
 * million $in values would make a reply past the 16 MiB limit. Each such
 * piece is cut at EXPLAIN_PIECE_CAP bytes (MongoDB likewise shortens what
 * explain prints rather than failing).
 */
#define EXPLAIN_PIECE_CAP (1024 * 1024)

static bool append_capped_value(bson_t *out, const char *key, const bson_value_t *v, size_t cap,
                                int depth);

/* append_capped_doc -- the fields of doc (array or document) into out while out stays small. */
static void append_capped_doc(bson_t *out, const bson_t *doc, bool is_array, size_t cap, int depth)
{
    bson_iter_t it;
    uint32_t n = 0, left = 0;
    if (!bson_iter_init(&it, doc))
        return;
    while (bson_iter_next(&it)) {
        if (out->len > cap && is_array) {
            left++;
            continue;
        }
        char kb[16];
        const char *k = bson_iter_key(&it);
        if (is_array) {
            bson_uint32_to_string(n, &k, kb, sizeof(kb));
            n++;
        }
        append_capped_value(out, k, bson_iter_value(&it), cap, depth + 1);
    }
    if (left > 0) {
        char kb[16], msg[96];
        const char *k;
        bson_uint32_to_string(n, &k, kb, sizeof(kb));
        snprintf(msg, sizeof(msg), "... %u more elements not shown (explain size limit)", left);
        bson_append_utf8(out, k, -1, msg, -1);
    }
}

static bool append_capped_value(bson_t *out, const char *key, const bson_value_t *v, size_t cap,
                                int depth)
{
    if ((v->value_type != BSON_TYPE_DOCUMENT && v->value_type != BSON_TYPE_ARRAY) || depth > 100)
        return bson_append_value(out, key, -1, v);
    bson_t sub, child;
    if (!bson_init_static(&sub, v->value.v_doc.data, v->value.v_doc.data_len))
        return false;
    bool arr = v->value_type == BSON_TYPE_ARRAY;
    if (arr)
        bson_append_array_begin(out, key, -1, &child);
    else
        bson_append_document_begin(out, key, -1, &child);
    /* the budget left for this piece: what out holds already counts */
    append_capped_doc(&child, &sub, arr, cap > out->len ? cap - out->len : 0, depth);
    return arr ? bson_append_array_end(out, &child) : bson_append_document_end(out, &child);
}

/* micad_explain_append_capped -- see exec.h. */
void micad_explain_append_capped(bson_t *out, const char *key, const bson_t *doc, size_t cap)
{
    bson_t child;
    bson_append_document_begin(out, key, -1, &child);
    append_capped_doc(&child, doc, false, cap, 0);
    bson_append_document_end(out, &child);
}

/* micad_exec_set_counted -- see exec.h. */
void micad_exec_set_counted(micad_exec_t *ex, int64_t n, int64_t skipped, bool fast)
{
    ex->n_counted = n;
    ex->n_count_skipped = skipped;
    ex->count_fast = fast;
}

/* ------------------------------------------------------------------ explain */

/* APPEND_N -- counters as MongoDB's explain prints them: int32 when they fit. */
#define APPEND_N(doc, key, v) append_n((doc), (key), (int64_t)(v))
static void append_n(bson_t *d, const char *key, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX)
        BSON_APPEND_INT32(d, key, (int32_t)v);
    else
        BSON_APPEND_INT64(d, key, v);
}

/* node_bson -- MongoDB's parsedQuery form of a match node; false if not expressible here. */
static bool node_bson(const qry_match_node_t *n, bson_t *out, int depth)
{
    if (depth > 100)
        return false;
    qry_match_kind_t k = qry_match_node_kind(n);
    const char *path = qry_match_node_path(n);
    const bson_value_t *v = qry_match_node_operand(n);
    switch (k) {
    case QRY_MATCH_AND:
    case QRY_MATCH_OR:
    case QRY_MATCH_NOR: {
        size_t nc = qry_match_node_nchildren(n);
        if (k == QRY_MATCH_AND && nc == 0)
            return true;
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(out, qry_match_kind_name(k), &arr);
        for (size_t i = 0; i < nc; i++) {
            char ib[16];
            const char *ik;
            bson_uint32_to_string((uint32_t)i, &ik, ib, sizeof(ib));
            bson_t c;
            bson_append_document_begin(&arr, ik, -1, &c);
            bool ok = node_bson(qry_match_node_child(n, i), &c, depth + 1);
            bson_append_document_end(&arr, &c);
            if (!ok) {
                bson_append_array_end(out, &arr);
                return false;
            }
        }
        bson_append_array_end(out, &arr);
        return true;
    }
    case QRY_MATCH_NOT: {
        const qry_match_node_t *c = qry_match_node_child(n, 0);
        const char *cp = c ? qry_match_node_path(c) : NULL;
        if (c == NULL || cp == NULL || qry_match_node_operand(c) == NULL)
            return false;
        bson_t f, nt;
        bson_append_document_begin(out, cp, -1, &f);
        BSON_APPEND_DOCUMENT_BEGIN(&f, "$not", &nt);
        bson_append_value(&nt, qry_match_kind_name(qry_match_node_kind(c)), -1,
                          qry_match_node_operand(c));
        bson_append_document_end(&f, &nt);
        bson_append_document_end(out, &f);
        return true;
    }
    case QRY_MATCH_EQ:
    case QRY_MATCH_LT:
    case QRY_MATCH_LTE:
    case QRY_MATCH_GT:
    case QRY_MATCH_GTE:
    case QRY_MATCH_IN:
    case QRY_MATCH_EXISTS:
    case QRY_MATCH_TYPE:
    case QRY_MATCH_REGEX:
    case QRY_MATCH_SIZE:
    case QRY_MATCH_MOD: {
        if (path == NULL || v == NULL)
            return false;
        bson_t f;
        bson_append_document_begin(out, path, -1, &f);
        bson_append_value(&f, qry_match_kind_name(k), -1, v);
        bson_append_document_end(out, &f);
        return true;
    }
    default:
        return false;
    }
}

static void append_parsed_query(micad_exec_t *ex, bson_t *out, const char *key)
{
    bson_t pq;
    BSON_APPEND_DOCUMENT_BEGIN(out, key, &pq);
    bson_t tmp = BSON_INITIALIZER;
    const bson_t *src =
        node_bson(qry_match_root(ex->match), &tmp, 0) ? &tmp : qry_match_filter(ex->match);
    if (src->len <= EXPLAIN_PIECE_CAP)
        bson_concat(&pq, src);
    else
        append_capped_doc(&pq, src, false, EXPLAIN_PIECE_CAP, 0);
    bson_destroy(&tmp);
    bson_append_document_end(out, &pq);
}

static void stats_common(bson_t *s, int64_t nret, int64_t works, bool eof, const xstats_t *x)
{
    APPEND_N(s, "nReturned", nret);
    APPEND_N(s, "executionTimeMillisEstimate", x->time_us / 1000);
    APPEND_N(s, "works", works);
    APPEND_N(s, "advanced", nret);
    APPEND_N(s, "needTime", works > nret ? works - nret : 0);
    BSON_APPEND_INT32(s, "needYield", 0);
    APPEND_N(s, "saveState", x->yields);
    APPEND_N(s, "restoreState", x->yields);
    BSON_APPEND_BOOL(s, "isEOF", eof);
}

static void emit_ixscan_as(micad_exec_t *ex, const qry_plan_t *pl, const xstats_t *x, bool stats,
                           const char *stage, bool covered, bson_t *d);

/* emit_ixscan -- an IXSCAN stage document's fields. */
static void emit_ixscan(micad_exec_t *ex, const qry_plan_t *pl, const xstats_t *x, bool stats,
                        bson_t *d)
{
    emit_ixscan_as(ex, pl, x, stats, "IXSCAN", false, d);
}

/*
 * emit_wildcard_multikey -- isMultiKey and multiKeyPaths of a wildcard IXSCAN
 * over {$_path: 1, path: 1}: the recorded array paths that are path or lie on
 * the way to it ({$_path: [], "a.b": ["a"]}).
 */
static void emit_wildcard_multikey(const qry_index_info_t *ii, const qry_plan_t *pl, bson_t *d)
{
    bson_iter_t it, m;
    const char *path = NULL;
    if (bson_iter_init(&it, pl->key_pattern) && bson_iter_next(&it) && bson_iter_next(&it))
        path = bson_iter_key(&it);
    bson_t mk, a, e;
    bson_init(&a);
    uint32_t n = 0;
    if (path != NULL && ii->multikey && ii->multikey_paths != NULL &&
        bson_iter_init(&m, ii->multikey_paths))
        while (bson_iter_next(&m)) {
            const char *k = bson_iter_key(&m);
            size_t kl = strlen(k);
            if (strncmp(path, k, kl) == 0 && (path[kl] == '\0' || path[kl] == '.')) {
                char key[16];
                const char *ks;
                bson_uint32_to_string(n++, &ks, key, sizeof(key));
                bson_append_utf8(&a, ks, -1, k, -1);
            }
        }
    BSON_APPEND_BOOL(d, "isMultiKey", n > 0);
    BSON_APPEND_DOCUMENT_BEGIN(d, "multiKeyPaths", &mk);
    BSON_APPEND_ARRAY_BEGIN(&mk, "$_path", &e);
    bson_append_array_end(&mk, &e);
    if (path != NULL)
        bson_append_array(&mk, path, -1, &a);
    bson_append_document_end(d, &mk);
    bson_destroy(&a);
}

/* emit_ixscan_as -- an index scan stage (IXSCAN, or DISTINCT_SCAN) and, when covered, the
 * filter it applies to its keys. */
static void emit_ixscan_as(micad_exec_t *ex, const qry_plan_t *pl, const xstats_t *x, bool stats,
                           const char *stage, bool covered, bson_t *d)
{
    const qry_index_info_t *ii = &ex->ixinfo[pl->index];
    BSON_APPEND_UTF8(d, "stage", stage);
    if (covered && !bson_empty(&ex->q.filter))
        append_parsed_query(ex, d, "filter");
    if (stats)
        stats_common(d, covered ? x->filtered : x->scanned - x->dups, x->keys, x->eof, x);
    const bson_t *kp = plan_kp(ex, pl);
    BSON_APPEND_DOCUMENT(d, "keyPattern", kp);
    BSON_APPEND_UTF8(d, "indexName", ii->name);
    if (pl->key_pattern != NULL) {
        emit_wildcard_multikey(ii, pl, d);
    } else {
        BSON_APPEND_BOOL(d, "isMultiKey", ii->multikey);
        bson_t mk;
        BSON_APPEND_DOCUMENT_BEGIN(d, "multiKeyPaths", &mk);
        bson_iter_t it;
        if (bson_iter_init(&it, ii->key_pattern))
            while (bson_iter_next(&it)) {
                bson_t a;
                bson_append_array_begin(&mk, bson_iter_key(&it), -1, &a);
                bson_iter_t m;
                if (ii->multikey && bson_iter_init_find(&m, ii->multikey_paths, bson_iter_key(&it)))
                    BSON_APPEND_UTF8(&a, "0", bson_iter_key(&it));
                bson_append_array_end(&mk, &a);
            }
        bson_append_document_end(d, &mk);
    }
    BSON_APPEND_BOOL(d, "isUnique", ii->unique);
    BSON_APPEND_BOOL(d, "isSparse", ii->sparse);
    BSON_APPEND_BOOL(d, "isPartial", ii->partial != NULL);
    BSON_APPEND_INT32(d, "indexVersion", 2);
    BSON_APPEND_UTF8(d, "direction", pl->direction > 0 ? "forward" : "backward");
    {
        bson_t bounds = BSON_INITIALIZER, view;
        bson_iter_t bi;
        qry_plan_append_bounds(pl, kp, &bounds, "indexBounds");
        if (bounds.len <= EXPLAIN_PIECE_CAP) {
            bson_concat(d, &bounds);
        } else if (bson_iter_init_find(&bi, &bounds, "indexBounds") &&
                   BSON_ITER_HOLDS_DOCUMENT(&bi)) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&bi, &len, &data);
            if (bson_init_static(&view, data, len))
                micad_explain_append_capped(d, "indexBounds", &view, EXPLAIN_PIECE_CAP);
        }
        bson_destroy(&bounds);
    }
    if (stats) {
        APPEND_N(d, "keysExamined", x->keys);
        APPEND_N(d, "seeks", (int64_t)pl->nranges);
        APPEND_N(d, "dupsTested", pl->dedup ? x->scanned : 0);
        APPEND_N(d, "dupsDropped", x->dups);
    }
}

/*
 * emit_clustered_ixscan -- MongoDB's CLUSTERED_IXSCAN: the filter, the direction and the
 * cluster-key range scanned (minRecord / maxRecord: the ends of the _id bounds, left out when
 * open).
 */
static void emit_clustered_ixscan(micad_exec_t *ex, const qry_plan_t *pl, const xstats_t *x,
                                  bool stats, bson_t *d)
{
    bool all = clustered_unbounded(pl);
    BSON_APPEND_UTF8(d, "stage", all ? "COLLSCAN" : "CLUSTERED_IXSCAN");
    if (!bson_empty(&ex->q.filter))
        append_parsed_query(ex, d, "filter");
    if (stats) {
        stats_common(d, x->filtered, x->works, x->eof, x);
        APPEND_N(d, "docsExamined", x->docs);
    }
    BSON_APPEND_UTF8(d, "direction", pl->direction > 0 ? "forward" : "backward");
    if (!all && pl->nfields > 0 && pl->bounds[0].n > 0) {
        const qry_oil_t *o = &pl->bounds[0];
        const bson_value_t *lo = &o->iv[0].lo, *hi = &o->iv[o->n - 1].hi;
        if (lo->value_type != BSON_TYPE_MINKEY)
            bson_append_value(d, "minRecord", -1, lo);
        if (hi->value_type != BSON_TYPE_MAXKEY)
            bson_append_value(d, "maxRecord", -1, hi);
    }
}

/* emit_source -- FETCH over IXSCAN/OR, or COLLSCAN, or EOF. */
static void emit_source(micad_exec_t *ex, const pipe_t *p, bool stats, bson_t *d)
{
    const qry_plan_t *pl = p->plan;
    const xstats_t *x = &p->st;
    bool has_filter = !bson_empty(&ex->q.filter);
    if (ex->coll == NULL) {
        BSON_APPEND_UTF8(d, "stage", "EOF");
        if (stats)
            stats_common(d, 0, 1, true, x);
        return;
    }
    if (pl->kind == QRY_PLAN_COLLSCAN) {
        BSON_APPEND_UTF8(d, "stage", "COLLSCAN");
        if (has_filter)
            append_parsed_query(ex, d, "filter");
        if (stats) {
            stats_common(d, x->filtered, x->works, x->eof, x);
            APPEND_N(d, "docsExamined", x->docs);
        }
        BSON_APPEND_UTF8(d, "direction", pl->direction > 0 ? "forward" : "backward");
        return;
    }
    if (!p->covered && clustered_scan(ex, pl)) {
        emit_clustered_ixscan(ex, pl, x, stats, d);
        return;
    }
    if (p->covered && pl->kind == QRY_PLAN_IXSCAN) {
        emit_ixscan_as(ex, pl, x, stats, p->distinct ? "DISTINCT_SCAN" : "IXSCAN", true, d);
        if (stats && x->docs > 0)
            APPEND_N(d, "docsExamined", x->docs); /* entries whose null key needed the document */
        return;
    }
    BSON_APPEND_UTF8(d, "stage", "FETCH");
    if (has_filter)
        append_parsed_query(ex, d, "filter");
    if (stats) {
        stats_common(d, x->filtered, x->works, x->eof, x);
        APPEND_N(d, "docsExamined", x->docs);
        BSON_APPEND_INT32(d, "alreadyHasObj", 0);
    }
    bson_t in;
    BSON_APPEND_DOCUMENT_BEGIN(d, "inputStage", &in);
    if (pl->kind == QRY_PLAN_IXSCAN) {
        emit_ixscan(ex, pl, x, stats, &in);
    } else {
        BSON_APPEND_UTF8(&in, "stage", "OR");
        if (stats) {
            stats_common(&in, x->scanned - x->dups, x->works, x->eof, x);
            APPEND_N(&in, "dupsTested", x->scanned);
            APPEND_N(&in, "dupsDropped", x->dups);
        }
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(&in, "inputStages", &arr);
        for (size_t i = 0; i < pl->nchildren; i++) {
            char ib[16];
            const char *ik;
            bson_uint32_to_string((uint32_t)i, &ik, ib, sizeof(ib));
            bson_t c;
            bson_append_document_begin(&arr, ik, -1, &c);
            xstats_t none = {0};
            emit_ixscan(ex, pl->children[i], &none, stats, &c);
            bson_append_document_end(&arr, &c);
        }
        bson_append_array_end(&in, &arr);
    }
    bson_append_document_end(d, &in);
}

static bool projection_simple(const bson_t *spec)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, spec))
        return false;
    while (bson_iter_next(&it)) {
        if (strchr(bson_iter_key(&it), '.') != NULL || strchr(bson_iter_key(&it), '$') != NULL)
            return false;
        if (!BSON_ITER_HOLDS_BOOL(&it) && !bsonu_is_number(bson_iter_type(&it)))
            return false;
    }
    return true;
}

/* emit_chain -- PROJECTION -> LIMIT -> SKIP -> SORT -> source, from the top. */
static void emit_chain(micad_exec_t *ex, const pipe_t *p, bool full, bool stats, bool need_sort,
                       int level, bson_t *d)
{
    const xstats_t *x = &p->st;
    int64_t out = x->returned;
    for (; level < 4; level++) {
        if (level == 0 && full && ex->proj != NULL) {
            BSON_APPEND_UTF8(d, "stage",
                             p->covered                             ? "PROJECTION_COVERED"
                             : projection_simple(&ex->q.projection) ? "PROJECTION_SIMPLE"
                                                                    : "PROJECTION_DEFAULT");
            if (stats)
                stats_common(d, out, out, ex->eof, x);
            BSON_APPEND_DOCUMENT(d, "transformBy", &ex->q.projection);
            break;
        }
        if (level == 1 && full && ex->q.limit > 0 && !need_sort && !ex->explain_write) {
            BSON_APPEND_UTF8(d, "stage", "LIMIT");
            if (stats)
                stats_common(d, out, out, ex->limit_left == 0, x);
            APPEND_N(d, "limitAmount", ex->q.limit);
            break;
        }
        if (level == 2 && full && ex->q.skip > 0) {
            BSON_APPEND_UTF8(d, "stage", "SKIP");
            if (stats)
                stats_common(d, out, out + x->skipped, ex->eof, x);
            APPEND_N(d, "skipAmount", ex->q.skip);
            break;
        }
        if (level == 3 && need_sort) {
            BSON_APPEND_UTF8(d, "stage", "SORT");
            if (stats) {
                stats_common(d, full ? out + x->skipped : 0, x->sort_in, ex->sorted, x);
                APPEND_N(d, "memLimit", MICAD_SORT_MEM_LIMIT);
                APPEND_N(d, "totalDataSizeSorted", ex->sorted_bytes);
                BSON_APPEND_BOOL(d, "usedDisk", ex->xsort != NULL);
                APPEND_N(d, "spills",
                         ex->xsort != NULL ? (int64_t)qry_ext_sort_runs(ex->xsort) : 0);
            }
            BSON_APPEND_DOCUMENT(d, "sortPattern", &ex->q.sort);
            BSON_APPEND_UTF8(d, "type", "simple");
            if (ex->q.limit > 0)
                APPEND_N(d, "limitAmount", sat_add(ex->q.limit, ex->q.skip));
            break;
        }
    }
    if (level >= 4) {
        emit_source(ex, p, stats, d);
        return;
    }
    bson_t in;
    BSON_APPEND_DOCUMENT_BEGIN(d, "inputStage", &in);
    emit_chain(ex, p, full, stats, need_sort, level + 1, &in);
    bson_append_document_end(d, &in);
}

/* micad_exec_explain -- see exec.h. */
void micad_exec_explain(micad_exec_t *ex, int verbosity, const char *top_stage, int64_t elapsed_ms,
                        bson_t *reply)
{
    ex->explain_write =
        top_stage != NULL && (strcmp(top_stage, "UPDATE") == 0 || strcmp(top_stage, "DELETE") == 0);
    bson_t qp, wp, rej;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "queryPlanner", &qp);
    BSON_APPEND_UTF8(&qp, "namespace", ex->q.ns);
    BSON_APPEND_BOOL(&qp, "indexFilterSet", false);
    append_parsed_query(ex, &qp, "parsedQuery");
    BSON_APPEND_BOOL(&qp, "maxIndexedOrSolutionsReached", false);
    BSON_APPEND_BOOL(&qp, "maxIndexedAndSolutionsReached", false);
    BSON_APPEND_BOOL(&qp, "maxScansToExplodeReached", false);
    bool fast_count = top_stage != NULL && strcmp(top_stage, "COUNT") == 0 && ex->count_fast;
    BSON_APPEND_DOCUMENT_BEGIN(&qp, "winningPlan", &wp);
    if (fast_count) {
        BSON_APPEND_UTF8(&wp, "stage", "RECORD_STORE_FAST_COUNT");
    } else if (top_stage != NULL) {
        bson_t in;
        BSON_APPEND_UTF8(&wp, "stage", top_stage);
        BSON_APPEND_DOCUMENT_BEGIN(&wp, "inputStage", &in);
        emit_chain(ex, &ex->run, true, false, ex->need_sort, 0, &in);
        bson_append_document_end(&wp, &in);
    } else {
        emit_chain(ex, &ex->run, true, false, ex->need_sort, 0, &wp);
    }
    bson_append_document_end(&qp, &wp);
    BSON_APPEND_ARRAY_BEGIN(&qp, "rejectedPlans", &rej);
    for (size_t i = 0, k = 0; i < ex->nplans; i++) {
        if (i == ex->winner)
            continue;
        pipe_t tmp = {0};
        tmp.plan = ex->plans[i];
        tmp.covered = ex->coll != NULL && plan_covered(ex, tmp.plan);
        tmp.distinct = tmp.covered && plan_distinct(ex, tmp.plan);
        char ib[16];
        const char *ik;
        bson_uint32_to_string((uint32_t)k++, &ik, ib, sizeof(ib));
        bson_t c;
        bson_append_document_begin(&rej, ik, -1, &c);
        emit_chain(ex, &tmp, false, false, has_sort(ex) && !ex->plans[i]->provides_sort, 0, &c);
        bson_append_document_end(&rej, &c);
    }
    bson_append_array_end(&qp, &rej);
    bson_append_document_end(reply, &qp);
    if (verbosity < 1)
        return;

    const xstats_t *x = &ex->run.st;
    bool is_count = top_stage != NULL && strcmp(top_stage, "COUNT") == 0;
    bson_t es;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "executionStats", &es);
    BSON_APPEND_BOOL(&es, "executionSuccess", ex->run_error.code == 0);
    if (ex->run_error.code != 0) {
        BSON_APPEND_UTF8(&es, "errorMessage", ex->run_error.msg);
        BSON_APPEND_INT32(&es, "errorCode", ex->run_error.code);
    }
    /* a count returns no documents: its figure is the COUNT stage's nCounted */
    APPEND_N(&es, "nReturned", is_count ? 0 : x->returned);
    APPEND_N(&es, "executionTimeMillis", elapsed_ms);
    APPEND_N(&es, "totalKeysExamined", x->keys);
    APPEND_N(&es, "totalDocsExamined", x->docs);
    bson_t stages;
    BSON_APPEND_DOCUMENT_BEGIN(&es, "executionStages", &stages);
    if (fast_count) {
        xstats_t none = {0};
        BSON_APPEND_UTF8(&stages, "stage", "RECORD_STORE_FAST_COUNT");
        stats_common(&stages, 0, 1, true, &none);
        APPEND_N(&stages, "nCounted", ex->n_counted);
        APPEND_N(&stages, "nSkipped", ex->n_count_skipped);
    } else if (top_stage != NULL) {
        bson_t in;
        BSON_APPEND_UTF8(&stages, "stage", top_stage);
        stats_common(&stages, 0, x->works, true, x);
        if (is_count) {
            APPEND_N(&stages, "nCounted", ex->n_counted);
            APPEND_N(&stages, "nSkipped",
                     ex->n_count_skipped >= 0 ? ex->n_count_skipped : x->skipped);
        }
        BSON_APPEND_DOCUMENT_BEGIN(&stages, "inputStage", &in);
        emit_chain(ex, &ex->run, true, true, ex->need_sort, 0, &in);
        bson_append_document_end(&stages, &in);
    } else {
        emit_chain(ex, &ex->run, true, true, ex->need_sort, 0, &stages);
    }
    bson_append_document_end(&es, &stages);
    if (verbosity >= 2) {
        bson_t all;
        BSON_APPEND_ARRAY_BEGIN(&es, "allPlansExecution", &all);
        for (size_t i = 0; i < ex->ncand; i++) {
            const pipe_t *c = &ex->cand[i];
            char ib[16];
            const char *ik;
            bson_uint32_to_string((uint32_t)i, &ik, ib, sizeof(ib));
            bson_t d, s;
            bson_append_document_begin(&all, ik, -1, &d);
            APPEND_N(&d, "nReturned", c->st.filtered);
            APPEND_N(&d, "executionTimeMillisEstimate", c->st.time_us / 1000);
            APPEND_N(&d, "totalKeysExamined", c->st.keys);
            APPEND_N(&d, "totalDocsExamined", c->st.docs);
            BSON_APPEND_DOCUMENT_BEGIN(&d, "executionStages", &s);
            emit_chain(ex, c, false, true, has_sort(ex) && !c->plan->provides_sort, 0, &s);
            bson_append_document_end(&d, &s);
            bson_append_document_end(&all, &d);
        }
        bson_append_array_end(&es, &all);
    }
    bson_append_document_end(reply, &es);
}

/* ------------------------------------------------------------------ find's arguments */

static int nonneg(const bson_iter_t *it, const char *name, int64_t *out, status_t *st)
{
    ST_RET(micad_db_arg_int64(it, "FindCommandRequest", out, st));
    if (*out < 0)
        return status_set(st, 51024, "BSON field '%s' value must be >= 0, actual value '%lld'",
                          name, (long long)*out);
    return 0;
}

/* micad_query_parse_find -- see exec.h. */
int micad_query_parse_find(const wire_opctx_t *op, const bson_t *cmd, micad_query_t *q,
                           micad_find_opts_t *fo, status_t *st)
{
    bson_iter_t it;
    const char *C = "FindCommandRequest";
    memset(fo, 0, sizeof(*fo));
    fo->batch_size = -1;
    q->allow_disk_use = opts_param(OPTS_PARAM_allowDiskUseByDefault) != 0; /* 6.0+ */
    ST_RET(micad_db_cmd_ns(op, cmd, q->ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it); /* the collection name */
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bson_t d;
        if (strcmp(k, "filter") == 0) {
            ST_RET(micad_db_arg_doc(&it, C, &d, st));
            bson_reinit(&q->filter);
            bson_concat(&q->filter, &d);
        } else if (strcmp(k, "projection") == 0) {
            ST_RET(micad_db_arg_doc(&it, C, &d, st));
            bson_reinit(&q->projection);
            bson_concat(&q->projection, &d);
            q->has_projection = true;
        } else if (strcmp(k, "sort") == 0) {
            ST_RET(micad_db_arg_doc(&it, C, &d, st));
            bson_reinit(&q->sort);
            bson_concat(&q->sort, &d);
            q->has_sort = true;
        } else if (strcmp(k, "hint") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it) && !BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_FailedToParse,
                                  "hint must be either a string or nested object");
            if (q->has_hint)
                bson_value_destroy(&q->hint);
            bson_value_copy(bson_iter_value(&it), &q->hint);
            /* An empty hint ({} or "") means none, as MongoDB treats it. */
            q->has_hint = !(BSON_ITER_HOLDS_DOCUMENT(&it) && q->hint.value.v_doc.data_len <= 5) &&
                          !(BSON_ITER_HOLDS_UTF8(&it) && q->hint.value.v_utf8.len == 0);
            if (!q->has_hint)
                bson_value_destroy(&q->hint);
        } else if (strcmp(k, "skip") == 0) {
            ST_RET(nonneg(&it, "skip", &q->skip, st));
        } else if (strcmp(k, "limit") == 0) {
            int64_t l;
            ST_RET(micad_db_arg_int64(&it, C, &l, st));
            if (l < 0) { /* the legacy negative limit: one batch of |limit| */
                l = l == INT64_MIN ? INT64_MAX : -l;
                fo->single_batch = true;
            }
            q->limit = l;
        } else if (strcmp(k, "batchSize") == 0) {
            ST_RET(nonneg(&it, "batchSize", &fo->batch_size, st));
        } else if (strcmp(k, "singleBatch") == 0) {
            bool b;
            ST_RET(micad_db_arg_bool(&it, C, &b, st));
            fo->single_batch |= b;
        } else if (strcmp(k, "min") == 0 || strcmp(k, "max") == 0) {
            ST_RET(micad_db_arg_doc(&it, C, &d, st));
            bool is_min = k[1] == 'i';
            bson_t *t = is_min ? &q->min : &q->max;
            bson_reinit(t);
            bson_concat(t, &d);
            if (!bson_empty(&d)) {
                if (is_min)
                    q->has_min = true;
                else
                    q->has_max = true;
            }
        } else if (strcmp(k, "returnKey") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &q->return_key, st));
        } else if (strcmp(k, "showRecordId") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &q->show_record_id, st));
        } else if (strcmp(k, "allowDiskUse") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &q->allow_disk_use, st));
        } else if (strcmp(k, "tailable") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &q->tailable, st));
        } else if (strcmp(k, "awaitData") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &fo->await_data, st));
        } else if (strcmp(k, "noCursorTimeout") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &fo->no_cursor_timeout, st));
        } else if (strcmp(k, "oplogReplay") == 0 || strcmp(k, "allowPartialResults") == 0 ||
                   strcmp(k, "readOnce") == 0 || strcmp(k, "singleBatch") == 0) {
            bool b;
            ST_RET(micad_db_arg_bool(&it, C, &b, st));
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "let") == 0) {
            ST_RET(micad_db_arg_doc(&it, C, &d, st));
            if (!bson_empty(&d)) {
                if (q->let != NULL)
                    bson_destroy(q->let);
                q->let = bson_copy(&d);
            }
        } else if (strcmp(k, "maxTimeMS") == 0 || strcmp(k, "comment") == 0 ||
                   micad_db_is_generic_arg(k)) {
            continue;
        } else {
            return micad_db_unknown_field(C, k, st);
        }
    }
    if (fo->await_data && !q->tailable)
        return status_set(st, ERR_FailedToParse,
                          "Cannot set 'awaitData' without also setting 'tailable'");
    if (q->tailable && q->has_sort && !bson_empty(&q->sort))
        return status_set(st, ERR_BadValue,
                          "cannot use tailable option with a sort other than "
                          "{$natural: 1}");
    if (q->return_key && q->has_projection) {
        /* returnKey wins over the projection, as in MongoDB. */
    }
    return 0;
}
