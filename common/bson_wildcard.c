/*
 * bson_wildcard.c -- wildcard index keys ({"$**": 1}, {"a.$**": 1},
 * wildcardProjection), the way MongoDB's WildcardKeyGenerator makes them.
 *
 * A wildcard index holds one key per leaf of the (projected) document:
 * {"": "path.to.leaf", "": value}. The path names object fields only: array
 * elements share their array's path. An empty object is a leaf ({} is its
 * value), an empty array is a leaf whose value is undefined, an array inside
 * an array is a leaf (the nested array is the value). Every array met on the
 * way (empty ones too) makes its path multikey. Fields whose names contain a
 * dot are skipped: no query can name them.
 *
 * The projection is applied while walking, with MongoDB's projection rules:
 * an inclusion projection keeps the listed subtrees and the objects leading to
 * them (an object on the way that keeps nothing becomes {}, an array on the
 * way keeps its objects only); an exclusion projection drops the listed
 * subtrees and keeps everything else. _id is left out unless the projection
 * names it with 1.
 */
#include "common/common.h"

#include <stdlib.h>
#include <string.h>

/* Stored documents nest at most 100 levels; the cap guards the recursion against hostile data. */
#define WC_MAX_DEPTH 200

typedef enum { WC_FULL, WC_PREFIX, WC_DROP } wc_class_t;

/* ---------------------------------------------------------------- projection */

static void proj_add(bsonu_wc_proj_t *p, const char *path)
{
    p->paths = bson_realloc(p->paths, (p->n + 1) * sizeof(char *));
    p->paths[p->n++] = bson_strdup(path);
}

/* under -- whether path equals base or lies below it ("a.b" is under "a"). */
static bool under(const char *path, const char *base)
{
    size_t bl = strlen(base);
    return strncmp(path, base, bl) == 0 && (path[bl] == '\0' || path[bl] == '.');
}

/* proj_flatten -- walk a (possibly nested) projection spec into entries. */
static int proj_flatten(const bson_t *spec, const char *prefix, bsonu_wc_proj_t *p, int *mode,
                        bool *id_set, bool *id_val, const bson_t *whole, int depth, status_t *st)
{
    bson_iter_t it;
    if (depth > WC_MAX_DEPTH || !bson_iter_init(&it, spec))
        return status_set(st, ERR_FailedToParse, "invalid wildcardProjection");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '$')
            return status_set(st, ERR_FailedToParse,
                              "Bad projection specification, cannot use computed fields when "
                              "parsing a spec in kBanComputedFields mode");
        for (const char *c = k;; c = strchr(c, '.') + 1) {
            if (*c == '\0' || *c == '.')
                return status_set(st, ERR_FailedToParse,
                                  "FieldPath field names may not be empty strings.");
            if (strchr(c, '.') == NULL)
                break;
        }
        char path[1024];
        int n = prefix[0] ? snprintf(path, sizeof(path), "%s.%s", prefix, k)
                          : snprintf(path, sizeof(path), "%s", k);
        if (n < 0 || (size_t)n >= sizeof(path))
            return status_set(st, ERR_FailedToParse, "wildcardProjection path too long");
        if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_t sub;
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            if (!bson_init_static(&sub, data, len))
                return status_set(st, ERR_FailedToParse, "invalid wildcardProjection");
            if (bson_empty(&sub))
                return status_set(st, ERR_FailedToParse,
                                  "An empty sub-projection is not a valid value. Found empty "
                                  "object at path");
            ST_RET(proj_flatten(&sub, path, p, mode, id_set, id_val, whole, depth + 1, st));
            continue;
        }
        if (!bsonu_is_number(bson_iter_type(&it)) && !BSON_ITER_HOLDS_BOOL(&it))
            return status_set(st, ERR_FailedToParse,
                              "Bad projection specification, cannot use computed fields when "
                              "parsing a spec in kBanComputedFields mode");
        bool incl = bson_iter_as_bool(&it);
        for (size_t i = 0; i < p->n; i++)
            if (under(path, p->paths[i]) || under(p->paths[i], path))
                return status_set(st, 31249, "Path collision at %s", path);
        if (strcmp(path, "_id") == 0) {
            *id_set = true;
            *id_val = incl;
            continue;
        }
        if (*mode == 0)
            *mode = incl ? 1 : -1;
        else if (*mode == 1 && !incl)
            return status_set(st, 31254, "Cannot do exclusion on field %s in inclusion projection",
                              path);
        else if (*mode == -1 && incl)
            return status_set(st, 31253, "Cannot do inclusion on field %s in exclusion projection",
                              path);
        proj_add(p, path);
    }
    (void)whole;
    return 0;
}

/* bsonu_wc_proj_parse -- see common.h. */
int bsonu_wc_proj_parse(const bson_t *key_pattern, const bson_t *projection, bsonu_wc_proj_t *p,
                        status_t *st)
{
    bson_iter_t it;
    memset(p, 0, sizeof(*p));
    if (key_pattern == NULL || !bson_iter_init(&it, key_pattern) || !bson_iter_next(&it))
        return status_set(st, ERR_CannotCreateIndex, "Index keys cannot be empty.");
    const char *field = bson_iter_key(&it);
    size_t fl = strlen(field);
    if (strcmp(field, "$**") != 0) {
        /* "path.$**": the projection is {path: 1} */
        if (fl < 5 || strcmp(field + fl - 4, ".$**") != 0)
            return status_set(st, ERR_CannotCreateIndex, "Invalid key name for wildcard indexes");
        char *root = bson_strndup(field, fl - 4);
        p->inclusion = true;
        proj_add(p, root);
        bson_free(root);
        return 0;
    }
    int mode = 0;
    bool id_set = false, id_val = false;
    if (projection != NULL && !bson_empty(projection)) {
        int ret = proj_flatten(projection, "", p, &mode, &id_set, &id_val, projection, 0, st);
        if (ret != 0) {
            bsonu_wc_proj_destroy(p);
            return ret;
        }
    }
    if (mode == 0) /* only _id named (or nothing): {_id: 1} includes _id alone */
        mode = id_set && id_val ? 1 : -1;
    p->inclusion = mode > 0;
    if (p->inclusion && id_set && id_val)
        proj_add(p, "_id");
    else if (!p->inclusion && !(id_set && id_val))
        proj_add(p, "_id");
    return 0;
}

/* bsonu_wc_proj_destroy -- see common.h. */
void bsonu_wc_proj_destroy(bsonu_wc_proj_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        bson_free(p->paths[i]);
    bson_free(p->paths);
    memset(p, 0, sizeof(*p));
}

/* classify -- what the projection does to the value at path. */
static wc_class_t classify(const bsonu_wc_proj_t *p, const char *path)
{
    bool prefix = false;
    for (size_t i = 0; i < p->n; i++) {
        if (under(path, p->paths[i]))
            return p->inclusion ? WC_FULL : WC_DROP;
        if (under(p->paths[i], path))
            prefix = true;
    }
    if (prefix)
        return WC_PREFIX;
    return p->inclusion ? WC_DROP : WC_FULL;
}

/* bsonu_wc_proj_covers -- see common.h. */
bool bsonu_wc_proj_covers(const bsonu_wc_proj_t *p, const char *path)
{
    return classify(p, path) == WC_FULL;
}

/* ---------------------------------------------------------------- keys */

typedef struct wcgen {
    const bsonu_wc_proj_t *proj;
    bson_t **keys; /* heap keys: a bson_t must not move once built */
    size_t n, cap;
    bsonu_strlist_t *mk;
    char *path; /* the current dotted path, grown as needed */
    size_t pcap;
    size_t plen;
    status_t *st;
} wcgen_t;

static int key_cmp(const void *a, const void *b)
{
    return bsonu_compare_doc(*(bson_t *const *)a, *(bson_t *const *)b);
}

/* add_key -- {"": path, "": v} (v NULL: undefined, the empty array's key). */
static void add_key(wcgen_t *g, const bson_value_t *v)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 8;
        g->keys = bson_realloc(g->keys, g->cap * sizeof(bson_t *));
    }
    bson_t *key = bson_new();
    g->keys[g->n++] = key;
    bson_append_utf8(key, "", 0, g->path, (int)g->plen);
    if (v == NULL)
        bson_append_undefined(key, "", 0);
    else
        bson_append_value(key, "", 0, v);
}

static void add_multikey(wcgen_t *g)
{
    bsonu_strlist_t *l = g->mk;
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], g->path) == 0)
            return;
    l->v = bson_realloc(l->v, (l->n + 1) * sizeof(char *));
    l->v[l->n++] = bson_strndup(g->path, g->plen);
}

static bool push_comp(wcgen_t *g, const char *name, size_t *saved, status_t *st)
{
    size_t nl = strlen(name);
    *saved = g->plen;
    (void)st;
    if (g->plen + 1 + nl + 1 > g->pcap) {
        g->pcap = (g->plen + 1 + nl + 1) * 2;
        g->path = bson_realloc(g->path, g->pcap);
    }
    if (g->plen > 0)
        g->path[g->plen++] = '.';
    memcpy(g->path + g->plen, name, nl + 1);
    g->plen += nl;
    return true;
}

static void pop_comp(wcgen_t *g, size_t saved)
{
    g->plen = saved;
    g->path[saved] = '\0';
}

static int walk_obj(wcgen_t *g, const uint8_t *data, uint32_t len, bool is_array, bool full,
                    int depth);

/* survives -- whether the projection keeps anything of the object at g->path (partial). */
static bool obj_survives(wcgen_t *g, const uint8_t *data, uint32_t len, bool full, int depth);

/* elem_survives -- whether the element it (under an array or object at g->path) stays. */
static bool elem_survives(wcgen_t *g, bson_iter_t *it, bool in_array, bool full, int depth)
{
    if (full)
        return true;
    wc_class_t c;
    size_t saved = g->plen;
    if (!in_array) {
        status_t dummy = STATUS_INIT;
        if (strchr(bson_iter_key(it), '.') != NULL ||
            !push_comp(g, bson_iter_key(it), &saved, &dummy))
            return false;
        c = classify(g->proj, g->path);
    } else {
        c = WC_PREFIX;
    }
    bool r;
    if (c == WC_FULL)
        r = true;
    else if (c == WC_DROP)
        r = false;
    else if (BSON_ITER_HOLDS_DOCUMENT(it))
        r = true; /* an object on the way is kept, maybe as {} */
    else if (BSON_ITER_HOLDS_ARRAY(it))
        r = !in_array || !g->proj->inclusion; /* an array on the way: kept, maybe empty */
    else
        r = !g->proj->inclusion; /* a scalar on the way: exclusion keeps it */
    if (!in_array)
        pop_comp(g, saved);
    (void)depth;
    return r;
}

static bool obj_survives(wcgen_t *g, const uint8_t *data, uint32_t len, bool full, int depth)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len))
        return false;
    while (bson_iter_next(&it))
        if (elem_survives(g, &it, false, full, depth))
            return true;
    return false;
}

static bool arr_survives(wcgen_t *g, const uint8_t *data, uint32_t len, bool full, int depth)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len))
        return false;
    while (bson_iter_next(&it))
        if (elem_survives(g, &it, true, full, depth))
            return true;
    return false;
}

/*
 * visit -- one element at g->path (already pushed): full means the projection
 * keeps all of it; otherwise it lies on the way to (inclusion) or around
 * (exclusion) the projection's paths. enclosing_array: the element is an array
 * element.
 */
static int visit(wcgen_t *g, bson_iter_t *it, bool enclosing_array, bool full, int depth)
{
    uint32_t len;
    const uint8_t *data;
    if (BSON_ITER_HOLDS_ARRAY(it)) {
        bson_iter_array(it, &len, &data);
        if (enclosing_array) { /* a nested array is a value */
            add_key(g, bson_iter_value(it));
            return 0;
        }
        add_multikey(g);
        if (!arr_survives(g, data, len, full, depth)) {
            add_key(g, NULL);
            return 0;
        }
        return walk_obj(g, data, len, true, full, depth + 1);
    }
    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_iter_document(it, &len, &data);
        if (!obj_survives(g, data, len, full, depth)) {
            static const uint8_t empty[5] = {5, 0, 0, 0, 0};
            bson_value_t v;
            memset(&v, 0, sizeof(v));
            v.value_type = BSON_TYPE_DOCUMENT;
            v.value.v_doc.data = (uint8_t *)empty;
            v.value.v_doc.data_len = 5;
            add_key(g, &v);
            return 0;
        }
        return walk_obj(g, data, len, false, full, depth + 1);
    }
    add_key(g, bson_iter_value(it));
    return 0;
}

static int walk_obj(wcgen_t *g, const uint8_t *data, uint32_t len, bool is_array, bool full,
                    int depth)
{
    bson_iter_t it;
    if (depth > WC_MAX_DEPTH)
        return status_set(g->st, ERR_CannotCreateIndex, "document too deeply nested to index");
    if (!bson_iter_init_from_data(&it, data, len))
        return status_set(g->st, ERR_InvalidBSON, "invalid BSON in indexed document");
    while (bson_iter_next(&it)) {
        if (is_array) {
            if (!elem_survives(g, &it, true, full, depth))
                continue;
            ST_RET(visit(g, &it, true, full, depth));
            continue;
        }
        const char *k = bson_iter_key(&it);
        if (strchr(k, '.') != NULL)
            continue;
        size_t saved;
        if (!push_comp(g, k, &saved, g->st))
            return g->st->code;
        bool sub_full = full;
        bool keep = true;
        if (!full) {
            wc_class_t c = classify(g->proj, g->path);
            if (c == WC_FULL)
                sub_full = true;
            else if (c == WC_DROP)
                keep = false;
            else if (g->proj->inclusion && !BSON_ITER_HOLDS_DOCUMENT(&it) &&
                     !BSON_ITER_HOLDS_ARRAY(&it))
                keep = false; /* a scalar on the way to an included path */
        }
        int ret = keep ? visit(g, &it, false, sub_full, depth) : 0;
        pop_comp(g, saved);
        if (ret != 0)
            return ret;
    }
    return 0;
}

/* bsonu_wildcard_keys_get -- see common.h. */
int bsonu_wildcard_keys_get(const bsonu_wc_proj_t *proj, const bson_t *doc, bsonu_index_keys_t *k,
                            bsonu_strlist_t *multikey, status_t *st)
{
    wcgen_t *g = bson_malloc0(sizeof(*g));
    g->proj = proj;
    g->mk = multikey;
    g->st = st;
    g->pcap = 256;
    g->path = bson_malloc0(g->pcap);
    bsonu_index_keys_destroy(k);
    k->nfields = 2;
    int ret = walk_obj(g, bson_get_data(doc), doc->len, false, false, 0);
    if (ret == 0 && g->n > 0) {
        qsort(g->keys, g->n, sizeof(bson_t *), key_cmp);
        /* bson_t wants its own (128-byte) alignment; bson_free releases it like malloc's */
        void *mem = NULL;
        int arc = posix_memalign(&mem, BSON_ALIGNOF(bson_t), g->n * sizeof(bson_t));
        INVARIANT(arc == 0 && mem != NULL);
        k->keys = mem;
        k->cap = g->n;
        for (size_t r = 0; r < g->n; r++) {
            /* keys equal in order (1 and 1.0) collapse to the first */
            if (k->n > 0 && bsonu_compare_doc(&k->keys[k->n - 1], g->keys[r]) == 0)
                continue;
            bson_init(&k->keys[k->n]);
            bson_concat(&k->keys[k->n], g->keys[r]);
            k->n++;
        }
    }
    for (size_t r = 0; r < g->n; r++)
        bson_destroy(g->keys[r]);
    bson_free(g->keys);
    bson_free(g->path);
    bson_free(g);
    if (ret != 0) {
        bsonu_index_keys_destroy(k);
        return ret;
    }
    k->multikey = multikey != NULL && multikey->n > 0;
    return 0;
}

/* bsonu_strlist_destroy -- see common.h. */
void bsonu_strlist_destroy(bsonu_strlist_t *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        bson_free(l->v[i]);
    bson_free(l->v);
    memset(l, 0, sizeof(*l));
}

/* bsonu_is_wildcard_pattern -- see common.h. */
bool bsonu_is_wildcard_pattern(const bson_t *key_pattern)
{
    bson_iter_t it;
    if (key_pattern == NULL || !bson_iter_init(&it, key_pattern))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        size_t n = strlen(k);
        if ((strcmp(k, "$**") == 0 || (n > 4 && strcmp(k + n - 4, ".$**") == 0)) &&
            bsonu_is_number(bson_iter_type(&it)))
            return true;
    }
    return false;
}
