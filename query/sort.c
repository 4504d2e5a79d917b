/*
 * sort.c -- sort specifications, sort keys, the document comparator and a
 * bounded top-k heap.
 *
 * A spec {a: 1, "b.c": -1} is parsed once. A document's sort key holds one
 * value per part: the values the dotted path reaches (through arrays, as
 * bsonu_path_walk sees them) reduced with MongoDB's array rule -- the
 * smallest for an ascending part, the largest for a descending one. A missing
 * path gives null; a path that reaches only empty arrays gives undefined,
 * which sorts before null, as MongoDB's index keys do. Keys are documents
 * {"": v1, "": v2}; the executor compares documents, the router compares keys
 * extracted on the shards with the same function, so both orders agree.
 */
#include "query/query.h"

#include <stdlib.h>
#include <string.h>

typedef struct spart {
    char *path;
    int dir;         /* 1 or -1 */
    char *meta_name; /* non-NULL: {$meta: name} */
} spart_t;

struct qry_sort {
    spart_t *parts;
    size_t n;
    qry_meta_fn meta;
    void *meta_arg;
};

/* Metadata a sort may use, as MongoDB's $meta accepts them in a sort. */
static const char *const sort_metas[] = {"textScore", "randVal", "searchScore", "geoNearDistance",
                                         "searchScoreDetails"};

/* qry_sort_destroy -- free a parsed sort (NULL is a no-op). */
void qry_sort_destroy(qry_sort_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        bson_free(s->parts[i].path);
        bson_free(s->parts[i].meta_name);
    }
    bson_free(s->parts);
    bson_free(s);
}

/* parse_meta -- {$meta: "textScore"} as a sort part. */
static int parse_meta(const char *field, const bson_value_t *v, spart_t *p, status_t *st)
{
    bson_t d;
    bson_iter_t it;
    if (!bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len) ||
        !bson_iter_init(&it, &d) || !bson_iter_next(&it) ||
        strcmp(bson_iter_key(&it), "$meta") != 0)
        return status_set(st, 17312, "$meta is the only expression supported by $sort right now");
    if (bson_count_keys(&d) != 1)
        return status_set(st, ERR_FailedToParse,
                          "Cannot have additional keys in a $meta sort specification");
    /* MongoDB's sort pattern parser: a non-string $meta is 31138 like an unknown name. */
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, 31138, "Illegal $meta sort: %s: {$meta: <%s>}", field,
                          bsonu_type_name(bson_iter_type(&it)));
    const char *name = bson_iter_utf8(&it, NULL);
    for (size_t i = 0; i < sizeof sort_metas / sizeof sort_metas[0]; i++) {
        if (strcmp(name, sort_metas[i]) == 0) {
            p->meta_name = bson_strdup(name);
            /* scores sort best first */
            p->dir = -1;
            return 0;
        }
    }
    return status_set(st, 31138, "Illegal $meta sort: $meta: \"%s\"", name);
}

/* qry_sort_parse -- parse a sort spec into *out (NULL on failure). */
int qry_sort_parse(const bson_t *spec, qry_sort_t **out, status_t *st)
{
    bson_iter_t it;
    int ret = 0;
    *out = NULL;
    if (!bson_iter_init(&it, spec))
        return status_set(st, ERR_InvalidBSON, "invalid sort specification");
    qry_sort_t *s = bson_malloc0(sizeof *s);
    uint32_t n = bson_count_keys(spec);
    s->parts = bson_malloc0((n ? n : 1) * sizeof *s->parts);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        spart_t *p = &s->parts[s->n];
        if (!*k) {
            ret = status_set(st, 40352, "FieldPath cannot be constructed with empty string");
            goto err;
        }
        if (k[0] == '$') {
            ret = status_set(st, 16410,
                             "FieldPath field names may not start with '$'. Consider "
                             "using $getField or $setField.");
            goto err;
        }
        if (k[strlen(k) - 1] == '.' || k[0] == '.' || strstr(k, "..")) {
            ret = status_set(st, 15998, "FieldPath field names may not be empty strings.");
            goto err;
        }
        for (size_t j = 0; j < s->n; j++) {
            if (strcmp(s->parts[j].path, k) == 0) {
                /* MongoDB keeps the first occurrence; BSON rarely carries duplicates */
                goto next;
            }
        }
        if (v->value_type == BSON_TYPE_DOCUMENT) {
            ST_ERR(parse_meta(k, v, p, st));
        } else {
            double d;
            if (!bsonu_number_as_double(v, &d)) {
                char *j = NULL;
                bson_t tmp = BSON_INITIALIZER;
                bson_append_value(&tmp, k, -1, v);
                j = bson_as_relaxed_extended_json(&tmp, NULL);
                status_set(st, 15974, "Illegal key in $sort specification: %s", j ? j : k);
                bson_free(j);
                bson_destroy(&tmp);
                ret = st->code;
                goto err;
            }
            if (d != 1 && d != -1) {
                ret = status_set(st, 15975,
                                 "$sort key ordering must be 1 (for ascending) or -1 "
                                 "(for descending)");
                goto err;
            }
            p->dir = d > 0 ? 1 : -1;
        }
        p->path = bson_strdup(k);
        s->n++;
    next:;
    }
    *out = s;
    return 0;
err:
    qry_sort_destroy(s);
    return ret;
}

/* qry_sort_nparts -- number of key parts. */
size_t qry_sort_nparts(const qry_sort_t *s)
{
    return s->n;
}

/* qry_sort_set_meta -- supply $meta values for key extraction. */
void qry_sort_set_meta(qry_sort_t *s, qry_meta_fn meta, void *arg)
{
    s->meta = meta;
    s->meta_arg = arg;
}

typedef struct pick {
    int dir;
    bool have;
    bool saw_empty_array;
    bson_value_t best; /* view into the document */
} pick_t;

/* pick_visit -- keep the smallest (ascending) or largest (descending) value reached. */
static int pick_visit(void *arg, const bsonu_path_leaf_t *leaf)
{
    pick_t *p = arg;
    if (leaf->is_array && !leaf->from_leaf_expansion) {
        /* the array itself is represented by its elements */
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&leaf->iter, &len, &data);
        if (len <= 5)
            p->saw_empty_array = true;
        return 0;
    }
    const bson_value_t *v = bson_iter_value((bson_iter_t *)&leaf->iter);
    if (!p->have || p->dir * bsonu_compare_value(v, &p->best) < 0) {
        p->best = *v;
        p->have = true;
    }
    return 0;
}

/* qry_sort_key -- {"": v1, "": v2, ...} for doc. */
int qry_sort_key(const qry_sort_t *s, const bson_t *doc, bson_t *out, status_t *st)
{
    bson_init(out);
    for (size_t i = 0; i < s->n; i++) {
        const spart_t *p = &s->parts[i];
        if (p->meta_name) {
            bson_value_t v = {.value_type = BSON_TYPE_NULL};
            if (s->meta) {
                ST_RET(s->meta(s->meta_arg, p->meta_name, doc, &v, st));
                bson_append_value(out, "", 0, &v);
                bson_value_destroy(&v);
            } else {
                bson_append_null(out, "", 0);
            }
            continue;
        }
        pick_t pk = {.dir = p->dir};
        bsonu_path_walk(doc, p->path, BSONU_PATH_EXPAND_LEAF_ARRAY, pick_visit, &pk);
        if (pk.have)
            bson_append_value(out, "", 0, &pk.best);
        else if (pk.saw_empty_array)
            bson_append_undefined(out, "", 0);
        else
            bson_append_null(out, "", 0);
    }
    return 0;
}

/* qry_sort_compare_keys -- compare two keys from qry_sort_key. */
int qry_sort_compare_keys(const qry_sort_t *s, const bson_t *ka, const bson_t *kb)
{
    bson_iter_t ia, ib;
    if (!bson_iter_init(&ia, ka) || !bson_iter_init(&ib, kb))
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        bool ha = bson_iter_next(&ia), hb = bson_iter_next(&ib);
        if (!ha || !hb)
            return ha - hb;
        int c = bsonu_compare_iter(&ia, &ib);
        if (c)
            return c < 0 ? -s->parts[i].dir : s->parts[i].dir;
    }
    return 0;
}

/* qry_sort_compare -- compare two documents under sort. */
int qry_sort_compare(const qry_sort_t *s, const bson_t *a, const bson_t *b)
{
    bson_t ka, kb;
    status_t st = STATUS_INIT;
    int c = 0;
    int ra = qry_sort_key(s, a, &ka, &st);
    int rb = qry_sort_key(s, b, &kb, &st);
    if (ra == 0 && rb == 0)
        c = qry_sort_compare_keys(s, &ka, &kb);
    bson_destroy(&ka);
    bson_destroy(&kb);
    return c;
}

/* ------------------------------------------------------------------------ */
/* Top-k                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct tk_entry {
    bson_t *doc;
    bson_t *key;  /* heap: bson_t wants 128-byte alignment */
    uint64_t seq; /* arrival order: ties keep it, so the sort is stable */
} tk_entry_t;

struct qry_topk {
    const qry_sort_t *sort;
    size_t k, n, cap;
    uint64_t seq;
    tk_entry_t *heap; /* max-heap: the worst kept entry at [0] */
};

static int tk_cmp(const qry_topk_t *t, const tk_entry_t *a, const tk_entry_t *b)
{
    int c = qry_sort_compare_keys(t->sort, a->key, b->key);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

static void tk_swap(tk_entry_t *a, tk_entry_t *b)
{
    tk_entry_t t = *a;
    *a = *b;
    *b = t;
}

static void tk_up(qry_topk_t *t, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (tk_cmp(t, &t->heap[p], &t->heap[i]) >= 0)
            break;
        tk_swap(&t->heap[p], &t->heap[i]);
        i = p;
    }
}

static void tk_down(qry_topk_t *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && tk_cmp(t, &t->heap[l], &t->heap[m]) > 0)
            m = l;
        if (r < t->n && tk_cmp(t, &t->heap[r], &t->heap[m]) > 0)
            m = r;
        if (m == i)
            return;
        tk_swap(&t->heap[m], &t->heap[i]);
        i = m;
    }
}

/* qry_topk_new -- a heap for the first k documents under sort. */
qry_topk_t *qry_topk_new(const qry_sort_t *sort, size_t k)
{
    qry_topk_t *t = bson_malloc0(sizeof *t);
    t->sort = sort;
    t->k = k ? k : 1;
    /* grow on demand: a huge limit must not allocate up front */
    return t;
}

/* qry_topk_push -- offer a document. */
int qry_topk_push(qry_topk_t *t, const bson_t *doc, status_t *st)
{
    tk_entry_t e;
    e.seq = t->seq++;
    bson_t key;
    int ret = qry_sort_key(t->sort, doc, &key, st);
    if (ret) {
        bson_destroy(&key);
        return ret;
    }
    e.key = bson_copy(&key);
    bson_destroy(&key);
    if (t->n == t->k) {
        if (tk_cmp(t, &e, &t->heap[0]) >= 0) {
            bson_destroy(e.key);
            return 0;
        }
        bson_destroy(t->heap[0].doc);
        bson_destroy(t->heap[0].key);
        e.doc = bson_copy(doc);
        t->heap[0] = e;
        tk_down(t, 0);
        return 0;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        if (t->cap > t->k)
            t->cap = t->k;
        t->heap = bson_realloc(t->heap, t->cap * sizeof *t->heap);
    }
    e.doc = bson_copy(doc);
    t->heap[t->n++] = e;
    tk_up(t, t->n - 1);
    return 0;
}

/* qry_topk_count -- documents currently held. */
size_t qry_topk_count(const qry_topk_t *t)
{
    return t->n;
}

/* qry_topk_finish -- the kept documents in sort order; empties the heap. */
void qry_topk_finish(qry_topk_t *t, bson_t ***docs, size_t *n)
{
    size_t cnt = t->n;
    bson_t **out = bson_malloc0((cnt ? cnt : 1) * sizeof *out);
    /* pop the worst repeatedly, filling from the back */
    while (t->n > 0) {
        out[t->n - 1] = t->heap[0].doc;
        bson_destroy(t->heap[0].key);
        t->heap[0] = t->heap[--t->n];
        tk_down(t, 0);
    }
    *docs = out;
    *n = cnt;
}

/* qry_topk_free_docs -- free what qry_topk_finish returned. */
void qry_topk_free_docs(bson_t **docs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bson_destroy(docs[i]);
    bson_free(docs);
}

/* qry_topk_destroy -- free the heap (NULL is a no-op). */
void qry_topk_destroy(qry_topk_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        bson_destroy(t->heap[i].doc);
        bson_destroy(t->heap[i].key);
    }
    bson_free(t->heap);
    bson_free(t);
}
