/*
 * bson_path.c -- dotted paths ("a.b.0.c") with MongoDB's implicit array
 * traversal, shared by match, projection, sort, update (bsonu_path_walk,
 * bsonu_path_get) and by index key generation for storage
 * (bsonu_index_keys_get, with multikey detection and the parallel-arrays
 * rule). Everything here reads borrowed documents and never copies values
 * except into the keys it returns.
 */
#include "common/common.h"

#include <string.h>

/*
 * Index key generation recurses once per expanded array. Stored documents nest
 * at most 100 levels, so 200 is never reached by valid data; the cap keeps a
 * hostile document from exhausting the stack.
 */
#define BSONU_KEYGEN_MAX_DEPTH 200

/* A path has at most this many components (MongoDB caps nesting at 100+ levels). */
#define BSONU_PATH_MAX_COMPONENTS 256

typedef struct path_comp {
    const char *s;
    size_t len;
} path_comp_t;

/* split_path -- components of path into comps; -1 if empty components or too many. */
static int split_path(const char *path, path_comp_t *comps, int max)
{
    int n = 0;
    const char *p = path, *dot;

    for (;;) {
        dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || n >= max)
            return -1;
        comps[n].s = p;
        comps[n].len = len;
        n++;
        if (!dot)
            return n;
        p = dot + 1;
    }
}

/* comp_index -- the array index a component names ("0", "12"; not "01" or "-1"), or -1. */
static int64_t comp_index(const path_comp_t *c)
{
    int64_t v = 0;
    if (c->len == 0 || c->len > 9 || (c->len > 1 && c->s[0] == '0'))
        return -1;
    for (size_t i = 0; i < c->len; i++) {
        if (c->s[i] < '0' || c->s[i] > '9')
            return -1;
        v = v * 10 + (c->s[i] - '0');
    }
    return v;
}

/* find_comp -- position it on the first field of data named c. */
static bool find_comp(bson_iter_t *it, const uint8_t *data, uint32_t len, const path_comp_t *c)
{
    if (!bson_iter_init_from_data(it, data, len))
        return false;
    while (bson_iter_next(it)) {
        const char *k = bson_iter_key(it);
        if (strncmp(k, c->s, c->len) == 0 && k[c->len] == '\0')
            return true;
    }
    return false;
}

/* sub_data -- the bytes of the document/array at it. */
static void sub_data(const bson_iter_t *it, const uint8_t **data, uint32_t *len)
{
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, len, data);
    else
        bson_iter_array(it, len, data);
}

/* ------------------------------------------------------------------------ */
/* Walk                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct walker {
    path_comp_t comps[BSONU_PATH_MAX_COMPONENTS];
    int ncomp;
    unsigned flags;
    bsonu_path_visit_fn fn;
    void *ctx;
} walker_t;

static int walk_container(walker_t *w, const uint8_t *data, uint32_t len, bool is_array, int ci,
                          bool in_array, int32_t aidx);

/* walk_at -- the value at it has consumed ci components: visit it or go deeper. */
static int walk_at(walker_t *w, const bson_iter_t *it, int ci, bool in_array, int32_t aidx)
{
    const uint8_t *data;
    uint32_t len;
    bsonu_path_leaf_t leaf;
    int ret;

    if (ci == w->ncomp) {
        leaf.is_array = BSON_ITER_HOLDS_ARRAY(it);
        if (leaf.is_array && (w->flags & BSONU_PATH_EXPAND_LEAF_ARRAY)) {
            bson_iter_t child;
            int32_t i = 0;
            if (bson_iter_recurse(it, &child)) {
                while (bson_iter_next(&child)) {
                    leaf.iter = child;
                    leaf.in_array = true;
                    leaf.array_index = aidx >= 0 ? aidx : i;
                    leaf.is_array = BSON_ITER_HOLDS_ARRAY(&child);
                    leaf.from_leaf_expansion = true;
                    if ((ret = w->fn(w->ctx, &leaf)) != 0)
                        return ret;
                    i++;
                }
            }
            leaf.is_array = true;
        }
        leaf.iter = *it;
        leaf.in_array = in_array;
        leaf.array_index = aidx;
        leaf.from_leaf_expansion = false;
        return w->fn(w->ctx, &leaf);
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(it) && !BSON_ITER_HOLDS_ARRAY(it))
        return 0; /* a scalar with path left: missing */
    sub_data(it, &data, &len);
    return walk_container(w, data, len, BSON_ITER_HOLDS_ARRAY(it), ci, in_array, aidx);
}

/* walk_container -- apply component ci to a document or an array. */
static int walk_container(walker_t *w, const uint8_t *data, uint32_t len, bool is_array, int ci,
                          bool in_array, int32_t aidx)
{
    const path_comp_t *c = &w->comps[ci];
    bson_iter_t it, child;
    int ret;

    if (!is_array) {
        if (find_comp(&it, data, len, c))
            return walk_at(w, &it, ci + 1, in_array, aidx);
        return 0;
    }
    /* A numeric component takes that element by position... */
    if (comp_index(c) >= 0 && find_comp(&it, data, len, c))
        if ((ret = walk_at(w, &it, ci + 1, true, aidx >= 0 ? aidx : (int32_t)comp_index(c))) != 0)
            return ret;
    /* ...and, like any component, looks inside every element that is a document. */
    if (!bson_iter_init_from_data(&it, data, len))
        return 0;
    for (int32_t i = 0; bson_iter_next(&it); i++) {
        const uint8_t *d;
        uint32_t l;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            continue; /* nested arrays are not traversed implicitly */
        bson_iter_document(&it, &l, &d);
        if (find_comp(&child, d, l, c))
            if ((ret = walk_at(w, &child, ci + 1, true, aidx >= 0 ? aidx : i)) != 0)
                return ret;
    }
    return 0;
}

/* bsonu_path_walk_value -- as bsonu_path_walk, from a document or array value. */
int bsonu_path_walk_value(const bson_value_t *root, const char *path, unsigned flags,
                          bsonu_path_visit_fn fn, void *ctx)
{
    walker_t *w;
    int ret;

    if (root->value_type != BSON_TYPE_DOCUMENT && root->value_type != BSON_TYPE_ARRAY)
        return 0;
    w = bson_malloc(sizeof(*w));
    w->ncomp = split_path(path, w->comps, BSONU_PATH_MAX_COMPONENTS);
    w->flags = flags;
    w->fn = fn;
    w->ctx = ctx;
    ret = w->ncomp <= 0 ? 0
                        : walk_container(w, root->value.v_doc.data, root->value.v_doc.data_len,
                                         root->value_type == BSON_TYPE_ARRAY, 0, false, -1);
    bson_free(w);
    return ret;
}

/* bsonu_path_walk -- visit every leaf of path in doc; returns the visitor's stop value or 0. */
int bsonu_path_walk(const bson_t *doc, const char *path, unsigned flags, bsonu_path_visit_fn fn,
                    void *ctx)
{
    bson_value_t root;

    root.value_type = BSON_TYPE_DOCUMENT;
    root.value.v_doc.data = (uint8_t *)bson_get_data(doc);
    root.value.v_doc.data_len = doc->len;
    return bsonu_path_walk_value(&root, path, flags, fn, ctx);
}

/* bsonu_path_get -- the single value at a dotted path, through documents only. */
bool bsonu_path_get(const bson_t *doc, const char *path, bson_iter_t *out)
{
    const uint8_t *data = bson_get_data(doc);
    uint32_t len = doc->len;
    bool is_array = false;
    const char *p = path;

    for (;;) {
        const char *dot = strchr(p, '.');
        path_comp_t c = {p, dot ? (size_t)(dot - p) : strlen(p)};
        if (c.len == 0)
            return false;
        if (is_array && comp_index(&c) < 0)
            return false; /* would need implicit traversal */
        if (!find_comp(out, data, len, &c))
            return false;
        if (!dot)
            return true;
        if (!BSON_ITER_HOLDS_DOCUMENT(out) && !BSON_ITER_HOLDS_ARRAY(out))
            return false;
        is_array = BSON_ITER_HOLDS_ARRAY(out);
        sub_data(out, &data, &len);
        p = dot + 1;
    }
}

/* ------------------------------------------------------------------------ */
/* Index keys                                                                */
/* ------------------------------------------------------------------------ */

typedef enum kstate_kind {
    KS_PENDING,  /* at v after ci components, not yet advanced */
    KS_DONE,     /* v is this field's key value */
    KS_ARR_TERM, /* v is an array at the end of the path */
    KS_ARR_MID,  /* v is an array with path components left */
} kstate_kind_t;

typedef struct kstate {
    kstate_kind_t kind;
    bson_value_t v;
    int ci;
    bool from_expansion; /* v is an element of an expanded array */
    const char *name;    /* field name v was found under (for the parallel-arrays message) */
} kstate_t;

/*
 * The components of every field's path live in one buffer sized for the
 * pattern: a fixed [fields][max components] array was 128 KiB, allocated and
 * zeroed for every document's keys (an mmap per insert under some mallocs).
 */
#define KEYGEN_INLINE_COMPS 64

typedef struct keygen {
    int nfields;
    path_comp_t *comps[BSONU_INDEX_MAX_FIELDS];
    path_comp_t inline_comps[KEYGEN_INLINE_COMPS];
    path_comp_t *heap_comps;
    int ncomp[BSONU_INDEX_MAX_FIELDS];
    const char *paths[BSONU_INDEX_MAX_FIELDS];
    bsonu_index_keys_t *out;
    status_t *st;
} keygen_t;

/* keys_insert -- add key to the sorted set (takes ownership; drops duplicates). */
static void keys_insert(bsonu_index_keys_t *k, bson_t *key)
{
    size_t lo = 0, hi = k->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = bsonu_compare_doc(&k->keys[mid], key);
        if (c == 0) {
            bson_destroy(key);
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 4;
        k->keys = bson_realloc(k->keys, k->cap * sizeof(bson_t));
    }
    memmove(&k->keys[lo + 1], &k->keys[lo], (k->n - lo) * sizeof(bson_t));
    /* bson_t is copied by value: steal the (heap) buffer of a bson_new'd key. */
    bson_init(&k->keys[lo]);
    bson_concat(&k->keys[lo], key);
    bson_destroy(key);
    k->n++;
}

static void set_special(bson_value_t *v, bson_type_t t)
{
    memset(v, 0, sizeof(*v));
    v->value_type = t;
}

/*
 * ambiguous_positional -- whether a document element of array a has a field
 * named like the numeric component c. An index path component that names
 * both a position of the array and a field of one of its documents is
 * MongoDB's "ambiguous field name" (16746): refuse the key, and so the write.
 */
static bool ambiguous_positional(const bson_value_t *a, const path_comp_t *c)
{
    bson_iter_t it, f;

    if (!bson_iter_init_from_data(&it, a->value.v_doc.data, a->value.v_doc.data_len))
        return false;
    while (bson_iter_next(&it)) {
        const uint8_t *d;
        uint32_t l;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            continue;
        bson_iter_document(&it, &l, &d);
        if (find_comp(&f, d, l, c))
            return true;
    }
    return false;
}

/* advance -- move a pending field down its path until done or at an array. */
static int advance(keygen_t *g, int f, kstate_t *s)
{
    while (s->kind == KS_PENDING) {
        const path_comp_t *c;
        bson_iter_t it;
        if (s->ci == g->ncomp[f]) {
            s->kind = s->v.value_type == BSON_TYPE_ARRAY ? KS_ARR_TERM : KS_DONE;
            return 0;
        }
        c = &g->comps[f][s->ci];
        if (s->v.value_type == BSON_TYPE_ARRAY) {
            /* An element of an expanded array that is itself an array: no double expansion. */
            if (s->from_expansion) {
                set_special(&s->v, BSON_TYPE_NULL);
                s->kind = KS_DONE;
                return 0;
            }
            /* A numeric component on an array is positional when that element exists. */
            if (comp_index(c) >= 0 &&
                find_comp(&it, s->v.value.v_doc.data, s->v.value.v_doc.data_len, c)) {
                if (ambiguous_positional(&s->v, c))
                    return status_set(g->st, 16746,
                                      "Ambiguous field name found in array (do not use numeric "
                                      "field names in embedded elements in an array), field: "
                                      "'%.*s' for array: %s",
                                      (int)c->len, c->s, s->name);
                s->name = bson_iter_key(&it);
                s->v = *bson_iter_value(&it);
                s->ci++;
                continue;
            }
            s->kind = KS_ARR_MID;
            return 0;
        }
        if (s->v.value_type != BSON_TYPE_DOCUMENT ||
            !find_comp(&it, s->v.value.v_doc.data, s->v.value.v_doc.data_len, c)) {
            set_special(&s->v, BSON_TYPE_NULL);
            s->kind = KS_DONE;
            return 0;
        }
        s->name = bson_iter_key(&it);
        s->v = *bson_iter_value(&it);
        s->from_expansion = false;
        s->ci++;
    }
    return 0;
}

/* gen -- emit the keys for the field states (recursing once per expanded array). */
static int gen(keygen_t *g, const kstate_t *in, int depth)
{
    kstate_t s[BSONU_INDEX_MAX_FIELDS];
    int first = -1;
    bson_iter_t it;

    /* Each level expands one array; stored documents nest at most 100 deep. */
    if (depth > BSONU_KEYGEN_MAX_DEPTH)
        return status_set(g->st, ERR_BadValue, "index key generation: arrays nested too deeply");
    memcpy(s, in, sizeof(kstate_t) * (size_t)g->nfields);
    for (int f = 0; f < g->nfields; f++) {
        ST_RET(advance(g, f, &s[f]));
        if (s[f].kind != KS_DONE && first < 0)
            first = f;
    }
    if (first < 0) {
        bson_t *key = bson_new();
        for (int f = 0; f < g->nfields; f++)
            bson_append_value(key, "", 0, &s[f].v);
        keys_insert(g->out, key);
        return 0;
    }
    /* Every field at an array must be at the same array; the rest is parallel arrays. */
    for (int f = first; f < g->nfields; f++) {
        if (s[f].kind == KS_DONE)
            continue;
        if (s[f].v.value.v_doc.data != s[first].v.value.v_doc.data)
            return status_set(g->st, ERR_CannotIndexParallelArrays,
                              "cannot index parallel arrays [%s] [%s]", s[f].name, s[first].name);
        g->out->multikey = true;
        /* The array is the value reached by component ci - 1 of the path. */
        if (s[f].ci >= 1 && s[f].ci - 1 < 32)
            g->out->multikey_paths[f] |= 1u << (s[f].ci - 1);
    }
    if (!bson_iter_init_from_data(&it, s[first].v.value.v_doc.data,
                                  s[first].v.value.v_doc.data_len))
        return status_set(g->st, ERR_BadValue, "invalid array in document");
    {
        kstate_t next[BSONU_INDEX_MAX_FIELDS];
        bool any = false;
        const uint8_t *arr = s[first].v.value.v_doc.data;
        while (bson_iter_next(&it)) {
            any = true;
            memcpy(next, s, sizeof(kstate_t) * (size_t)g->nfields);
            for (int f = first; f < g->nfields; f++) {
                if (s[f].kind == KS_DONE || s[f].v.value.v_doc.data != arr)
                    continue;
                next[f].v = *bson_iter_value(&it);
                next[f].name = bson_iter_key(&it);
                next[f].from_expansion = true;
                /* A terminal array's elements are values (nested arrays stay whole). */
                next[f].kind = s[f].kind == KS_ARR_TERM ? KS_DONE : KS_PENDING;
            }
            ST_RET(gen(g, next, depth + 1));
        }
        if (!any) {
            /* Empty array: undefined at the end of the path, null with path left. */
            memcpy(next, s, sizeof(kstate_t) * (size_t)g->nfields);
            for (int f = first; f < g->nfields; f++) {
                if (s[f].kind == KS_DONE || s[f].v.value.v_doc.data != arr)
                    continue;
                set_special(&next[f].v,
                            s[f].kind == KS_ARR_TERM ? BSON_TYPE_UNDEFINED : BSON_TYPE_NULL);
                next[f].kind = KS_DONE;
            }
            ST_RET(gen(g, next, depth + 1));
        }
    }
    return 0;
}

/* bsonu_index_keys_init -- an empty key set. */
void bsonu_index_keys_init(bsonu_index_keys_t *k)
{
    memset(k, 0, sizeof(*k));
}

/* bsonu_index_keys_destroy -- free the keys (NULL-safe; leaves an empty set). */
void bsonu_index_keys_destroy(bsonu_index_keys_t *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        bson_destroy(&k->keys[i]);
    bson_free(k->keys);
    memset(k, 0, sizeof(*k));
}

/* bsonu_index_keys_get -- fill k (re-initialised first) with doc's keys for key_pattern. */
int bsonu_index_keys_get(const bson_t *key_pattern, const bson_t *doc, bsonu_index_keys_t *k,
                         status_t *st)
{
    keygen_t gs = {.out = k, .st = st}; /* on the stack: about 1.5 KiB */
    keygen_t *g = &gs;
    kstate_t s[BSONU_INDEX_MAX_FIELDS];
    bson_iter_t it;
    int ret = 0, f = 0;

    bsonu_index_keys_destroy(k);
    if (!bson_iter_init(&it, key_pattern))
        return status_set(st, ERR_BadValue, "invalid index key pattern");
    /* size the components buffer: one more than the dots of each path, capped */
    size_t total = 0;
    while (bson_iter_next(&it)) {
        size_t n = 1;
        for (const char *p = bson_iter_key(&it); *p; p++)
            n += *p == '.';
        total += n < BSONU_PATH_MAX_COMPONENTS + 1 ? n : BSONU_PATH_MAX_COMPONENTS + 1;
    }
    path_comp_t *next = g->inline_comps;
    if (total > KEYGEN_INLINE_COMPS)
        next = g->heap_comps = bson_malloc(total * sizeof(path_comp_t));
    (void)bson_iter_init(&it, key_pattern);
    while (bson_iter_next(&it)) {
        if (f >= BSONU_INDEX_MAX_FIELDS) {
            ret = status_set(st, ERR_CannotCreateIndex, "Index key pattern has more than %d fields",
                             BSONU_INDEX_MAX_FIELDS);
            goto err;
        }
        g->paths[f] = bson_iter_key(&it);
        size_t room = 1;
        for (const char *p = g->paths[f]; *p; p++)
            room += *p == '.';
        if (room > BSONU_PATH_MAX_COMPONENTS)
            room = BSONU_PATH_MAX_COMPONENTS; /* split_path refuses the rest */
        g->comps[f] = next;
        next += room + (room == BSONU_PATH_MAX_COMPONENTS ? 1 : 0);
        g->ncomp[f] = split_path(g->paths[f], g->comps[f], (int)room);
        if (g->ncomp[f] <= 0) {
            ret = status_set(st, ERR_CannotCreateIndex,
                             "Index key contains an illegal field name: '%s'", g->paths[f]);
            goto err;
        }
        memset(&s[f], 0, sizeof(s[f]));
        s[f].kind = KS_PENDING;
        s[f].v.value_type = BSON_TYPE_DOCUMENT;
        s[f].v.value.v_doc.data = (uint8_t *)bson_get_data(doc);
        s[f].v.value.v_doc.data_len = doc->len;
        s[f].name = "";
        f++;
    }
    if (f == 0) {
        ret = status_set(st, ERR_CannotCreateIndex, "Index keys cannot be empty.");
        goto err;
    }
    g->nfields = f;
    k->nfields = (size_t)f;
    ret = gen(g, s, 0);
err:
    if (ret != 0)
        bsonu_index_keys_destroy(k);
    bson_free(g->heap_comps);
    return ret;
}
