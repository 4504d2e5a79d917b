/*
 * projection.c -- find projections: parse a spec once into a tree of field
 * nodes, then project many documents with it.
 *
 * The tree mirrors the dotted paths of the spec ({"a.b": 1, c: 0} gives a
 * node "a" with a child "b"). A projection is either an inclusion (keep the
 * listed fields, plus _id unless it is excluded) or an exclusion (drop the
 * listed fields); $slice and $meta work in both, $elemMatch, the positional
 * `$` and literal values make an inclusion. Applying walks the document in
 * its own field order, so output fields keep the input's order; computed
 * fields that the document lacks ($meta, literals) come last. Arrays of
 * documents are projected element by element, as MongoDB does.
 */
#include "query/update_int.h"

#include <stdlib.h>
#include <string.h>

enum { P_INCLUDE, P_EXCLUDE, P_SUB, P_SLICE, P_ELEMMATCH, P_POSITIONAL, P_META, P_LITERAL };
enum { MODE_UNKNOWN, MODE_INCL, MODE_EXCL };

/* Nesting of a projection spec is bounded like a document's (100 levels). */
#define PROJ_MAX_DEPTH 100

typedef struct pnode pnode_t;
struct pnode {
    char *name;
    int kind;
    pnode_t **kids;
    size_t n;
    int64_t skip, limit; /* $slice: skip (may be negative), limit (-1: single-number form) */
    bool slice_pair;
    qry_match_t *em; /* $elemMatch, as {v: {$elemMatch: arg}} */
    char *meta;
    bson_value_t lit;
};

struct qry_projection {
    pnode_t *root;
    int mode;
    bool id_excluded;
    bool id_listed;
    bool positional;
    bool elem_match; /* an $elemMatch was parsed (it excludes a positional projection) */
};

static const char *const proj_metas[] = {
    "textScore", "indexKey",        "recordId",     "searchScore", "searchHighlights",
    "sortKey",   "geoNearDistance", "geoNearPoint", "randVal",     "searchScoreDetails"};

static void pnode_free(pnode_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        pnode_free(n->kids[i]);
    bson_free(n->kids);
    bson_free(n->name);
    bson_free(n->meta);
    qry_match_destroy(n->em);
    if (n->kind == P_LITERAL)
        bson_value_destroy(&n->lit);
    bson_free(n);
}

/* qry_projection_destroy -- free a parsed projection (NULL is a no-op). */
void qry_projection_destroy(qry_projection_t *p)
{
    if (!p)
        return;
    pnode_free(p->root);
    bson_free(p);
}

static pnode_t *pnode_child(pnode_t *n, const char *name)
{
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->kids[i]->name, name) == 0)
            return n->kids[i];
    return NULL;
}

static pnode_t *pnode_add(pnode_t *n, const char *name, int kind)
{
    pnode_t *c = bson_malloc0(sizeof *c);
    c->name = bson_strdup(name);
    c->kind = kind;
    n->kids = bson_realloc(n->kids, (n->n + 1) * sizeof *n->kids);
    n->kids[n->n++] = c;
    return c;
}

/*
 * place -- create the leaf for dotted path under root; path collisions
 * (a and a.b both projected) are errors 31250 as in MongoDB.
 */
static int place(pnode_t *root, const char *path, int kind, pnode_t **out, status_t *st)
{
    pnode_t *cur = root;
    const char *start = path;
    *out = NULL;
    for (;;) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        if (len == 0)
            return status_set(st, 15998, "FieldPath field names may not be empty strings.");
        char *name = bson_strndup(start, len);
        pnode_t *c = pnode_child(cur, name);
        if (!dot) {
            if (c) {
                bson_free(name);
                return status_set(st, 31250, "Path collision at %s", path);
            }
            *out = pnode_add(cur, name, kind);
            bson_free(name);
            return 0;
        }
        if (c && c->kind != P_SUB) {
            bson_free(name);
            return status_set(st, 31249, "Path collision at %s remaining portion %s", path,
                              dot + 1);
        }
        if (!c)
            c = pnode_add(cur, name, P_SUB);
        bson_free(name);
        cur = c;
        start = dot + 1;
    }
}

static int set_mode(qry_projection_t *p, const char *path, bool incl, status_t *st)
{
    if (incl && p->mode == MODE_EXCL)
        return status_set(st, 31253, "Cannot do inclusion on field %s in exclusion projection",
                          path);
    if (!incl && p->mode == MODE_INCL)
        return status_set(st, 31254, "Cannot do exclusion on field %s in inclusion projection",
                          path);
    p->mode = incl ? MODE_INCL : MODE_EXCL;
    return 0;
}

static bool truthy(const bson_value_t *v, bool *out)
{
    double d;
    if (v->value_type == BSON_TYPE_BOOL) {
        *out = v->value.v_bool;
        return true;
    }
    if (bsonu_number_as_double(v, &d)) {
        *out = d != 0;
        return true;
    }
    return false;
}

static int parse_spec(qry_projection_t *p, const bson_t *spec, const char *prefix, int depth,
                      status_t *st);

/* parse_operator -- {$slice: ...}, {$elemMatch: ...} or {$meta: ...} at path. */
static int parse_operator(qry_projection_t *p, const char *path, const bson_t *obj, status_t *st)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, obj) || !bson_iter_next(&it))
        return status_set(st, ERR_InvalidBSON, "invalid projection for field %s", path);
    const char *op = bson_iter_key(&it);
    const bson_value_t *v = bson_iter_value(&it);
    pnode_t *n;
    if (bson_count_keys(obj) != 1)
        return status_set(st, ERR_NotImplemented,
                          "projection expressions are not supported yet (field %s)", path);
    if (strcmp(op, "$slice") == 0) {
        int64_t a = 0, b = 0;
        bool pair = false;
        if (v->value_type == BSON_TYPE_ARRAY) {
            bson_t arr;
            bson_iter_t ai;
            qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &arr);
            if (bson_count_keys(&arr) != 2 || !bson_iter_init(&ai, &arr) || !bson_iter_next(&ai) ||
                !bsonu_number_as_int64(bson_iter_value(&ai), &a) || !bson_iter_next(&ai) ||
                !bsonu_number_as_int64(bson_iter_value(&ai), &b))
                return status_set(st, 28724,
                                  "First argument to $slice must be an array, second argument "
                                  "must be an integer");
            if (b <= 0)
                return status_set(st, 28724, "$slice limit must be positive");
            pair = true;
        } else if (!bsonu_number_as_int64(v, &a)) {
            double d;
            if (!bsonu_number_as_double(v, &d))
                return status_set(st, ERR_BadValue,
                                  "$slice only supports numbers and [skip, limit] arrays");
            a = d > 9e18 ? INT64_MAX : d < -9e18 ? INT64_MIN : (int64_t)d;
        }
        ST_RET(place(p->root, path, P_SLICE, &n, st));
        n->skip = a;
        n->limit = b;
        n->slice_pair = pair;
        return 0;
    }
    if (strcmp(op, "$elemMatch") == 0) {
        if (v->value_type != BSON_TYPE_DOCUMENT)
            return status_set(st, 31274, "elemMatch: Invalid argument, object required, but got %s",
                              bsonu_type_name(v->value_type));
        if (p->positional)
            return status_set(st, 31255, "Cannot specify positional operator and $elemMatch.");
        if (strchr(path, '.'))
            return status_set(st, 31275, "Cannot use $elemMatch projection on a nested field.");
        p->elem_match = true;
        ST_RET(set_mode(p, path, true, st));
        ST_RET(place(p->root, path, P_ELEMMATCH, &n, st));
        bson_t filter = BSON_INITIALIZER, inner;
        bson_append_document_begin(&filter, "v", 1, &inner);
        bson_append_value(&inner, "$elemMatch", -1, v);
        bson_append_document_end(&filter, &inner);
        int ret = qry_match_parse(&filter, NULL, &n->em, st);
        bson_destroy(&filter);
        return ret;
    }
    if (strcmp(op, "$meta") == 0) {
        if (v->value_type != BSON_TYPE_UTF8)
            return status_set(st, ERR_BadValue, "Unsupported argument to $meta: must be a string");
        for (size_t i = 0; i < sizeof proj_metas / sizeof proj_metas[0]; i++) {
            if (strcmp(v->value.v_utf8.str, proj_metas[i]) == 0) {
                ST_RET(place(p->root, path, P_META, &n, st));
                n->meta = bson_strdup(proj_metas[i]);
                return 0;
            }
        }
        return status_set(st, 17308, "Unsupported argument to $meta: %s", v->value.v_utf8.str);
    }
    return status_set(st, ERR_NotImplemented,
                      "projection expression %s is not supported yet (field %s)", op, path);
}

/* parse_field -- one spec field: path -> value. */
static int parse_field(qry_projection_t *p, const char *path, const bson_value_t *v, int depth,
                       status_t *st)
{
    pnode_t *n;
    bool t;
    size_t plen = strlen(path);
    if (plen == 0)
        return status_set(st, 15998, "FieldPath field names may not be empty strings.");
    if (path[0] == '$')
        return status_set(st, 16410,
                          "FieldPath field names may not start with '$'. Consider using "
                          "$getField or $setField.");
    if (plen >= 2 && strcmp(path + plen - 2, ".$") == 0) {
        if (p->positional)
            return status_set(st, 31276,
                              "Cannot specify more than one positional projection per query.");
        if (!truthy(v, &t) || !t)
            return status_set(st, 31308, "positional projection cannot be used with exclusion");
        if (p->elem_match)
            return status_set(st, 31256, "Cannot specify positional operator and $elemMatch.");
        char *base = bson_strndup(path, plen - 2);
        int ret = set_mode(p, base, true, st);
        if (ret == 0)
            ret = place(p->root, base, P_POSITIONAL, &n, st);
        bson_free(base);
        p->positional = true;
        return ret;
    }
    if (strstr(path, ".$"))
        return status_set(st, 31394,
                          "As of 4.4, it's illegal to specify positional operator in the middle "
                          "of a path.Positional projection may only be used at the end, for "
                          "example: a.b.$. If the query previously used a form like a.b.$.d, "
                          "remove the parts following the '$' and the results will be "
                          "equivalent.");
    if (truthy(v, &t)) {
        if (strcmp(path, "_id") == 0) {
            p->id_listed = true;
            p->id_excluded = !t;
            ST_RET(place(p->root, path, t ? P_INCLUDE : P_EXCLUDE, &n, st));
            return 0;
        }
        ST_RET(set_mode(p, path, t, st));
        return place(p->root, path, t ? P_INCLUDE : P_EXCLUDE, &n, st);
    }
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_t sub;
        bson_iter_t it;
        qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &sub);
        if (bson_empty(&sub))
            return status_set(st, 51270,
                              "An empty sub-projection is not a valid value. Found empty object at "
                              "path");
        if (!bson_iter_init(&it, &sub) || !bson_iter_next(&it))
            return status_set(st, ERR_InvalidBSON, "invalid projection for field %s", path);
        if (bson_iter_key(&it)[0] == '$')
            return parse_operator(p, path, &sub, st);
        return parse_spec(p, &sub, path, depth + 1, st);
    }
    if (v->value_type == BSON_TYPE_UTF8 && v->value.v_utf8.str[0] == '$')
        return status_set(st, ERR_NotImplemented,
                          "projection expressions are not supported yet (field %s: \"%s\")", path,
                          v->value.v_utf8.str);
    /* a literal value: an inclusion that sets the field */
    ST_RET(set_mode(p, path, true, st));
    ST_RET(place(p->root, path, P_LITERAL, &n, st));
    bson_value_copy(v, &n->lit);
    return 0;
}

static int parse_spec(qry_projection_t *p, const bson_t *spec, const char *prefix, int depth,
                      status_t *st)
{
    bson_iter_t it;
    if (depth > PROJ_MAX_DEPTH)
        return status_set(st, ERR_BadValue, "projection is nested too deeply");
    if (!bson_iter_init(&it, spec))
        return status_set(st, ERR_InvalidBSON, "invalid projection");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        char *path = prefix ? bson_strdup_printf("%s.%s", prefix, k) : bson_strdup(k);
        int ret = parse_field(p, path, bson_iter_value(&it), depth, st);
        bson_free(path);
        if (ret)
            return ret;
    }
    return 0;
}

/* qry_projection_parse -- parse a find projection spec. */
int qry_projection_parse(const bson_t *spec, qry_projection_t **out, status_t *st)
{
    qry_projection_t *p = bson_malloc0(sizeof *p);
    p->root = bson_malloc0(sizeof *p->root);
    p->root->kind = P_SUB;
    p->root->name = bson_strdup("");
    *out = NULL;
    int ret = parse_spec(p, spec, NULL, 0, st);
    if (ret) {
        qry_projection_destroy(p);
        return ret;
    }
    if (p->mode == MODE_UNKNOWN)
        p->mode = (p->id_listed && !p->id_excluded) ? MODE_INCL : MODE_EXCL;
    *out = p;
    return 0;
}

/* qry_projection_is_inclusion -- whether the projection lists fields to keep. */
bool qry_projection_is_inclusion(const qry_projection_t *p)
{
    return p->mode == MODE_INCL;
}

/* qry_projection_uses_positional -- whether apply needs ctx->matched_index. */
bool qry_projection_uses_positional(const qry_projection_t *p)
{
    return p->positional;
}

/* ------------------------------------------------------------------------ */
/* Applying                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct papply {
    const qry_projection_t *p;
    const qry_projection_ctx_t *ctx;
    const bson_t *root_doc;
    status_t *st;
    /*
     * Inside an array nested in an array: inclusions and exclusions still
     * recurse there (find's policy), but $slice applies only along the path
     * through documents and leaves nested arrays whole, as MongoDB's find
     * $slice does ({a: [[{b: [..]}]]} has no value at "a.b").
     */
    int nested_arrays;
} papply_t;

/* append_slice -- the $slice of array v (non-arrays pass through). */
static void append_slice(bson_t *out, const char *key, const pnode_t *n, const bson_value_t *v)
{
    if (v->value_type != BSON_TYPE_ARRAY) {
        bson_append_value(out, key, -1, v);
        return;
    }
    bson_t arr, child;
    bson_iter_t it;
    qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &arr);
    int64_t len = bson_count_keys(&arr);
    int64_t from, count;
    if (n->slice_pair) {
        from = n->skip < 0 ? (len + n->skip < 0 ? 0 : len + n->skip) : n->skip;
        count = n->limit;
    } else if (n->skip >= 0) {
        from = 0;
        count = n->skip;
    } else {
        from = len + n->skip < 0 ? 0 : len + n->skip;
        count = len;
    }
    bson_append_array_begin(out, key, -1, &child);
    bson_iter_init(&it, &arr);
    int64_t i = 0, k = 0;
    char buf[16];
    while (bson_iter_next(&it)) {
        if (i >= from && k < count) {
            const char *ik;
            bson_uint32_to_string((uint32_t)k, &ik, buf, sizeof buf);
            bson_append_value(&child, ik, -1, bson_iter_value(&it));
            k++;
        }
        i++;
    }
    bson_append_array_end(out, &child);
}

static int project_doc(papply_t *a, const pnode_t *node, const bson_t *doc, bson_t *out, bool top,
                       int depth);

/* project_array -- apply a sub-projection to each element of an array. */
static int project_array(papply_t *a, const pnode_t *node, const bson_value_t *v, bson_t *out,
                         const char *key, int depth)
{
    bson_t arr, child;
    bson_iter_t it;
    char buf[16];
    uint32_t k = 0;
    bool incl = a->p->mode == MODE_INCL;
    if (depth > PROJ_MAX_DEPTH)
        return status_set(a->st, ERR_BadValue, "document is nested too deeply to project");
    qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &arr);
    bson_append_array_begin(out, key, -1, &child);
    bson_iter_init(&it, &arr);
    while (bson_iter_next(&it)) {
        const char *ik;
        bson_uint32_to_string(k, &ik, buf, sizeof buf);
        if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_t sub, res;
            const uint8_t *d;
            uint32_t l;
            bson_iter_document(&it, &l, &d);
            qry__view(d, l, &sub);
            bson_append_document_begin(&child, ik, -1, &res);
            int ret = project_doc(a, node, &sub, &res, false, depth + 1);
            bson_append_document_end(&child, &res);
            ST_RET(ret);
            k++;
        } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
            a->nested_arrays++;
            int ret = project_array(a, node, bson_iter_value(&it), &child, ik, depth + 1);
            a->nested_arrays--;
            ST_RET(ret);
            k++;
        } else if (!incl) {
            bson_append_value(&child, ik, -1, bson_iter_value(&it));
            k++;
        }
    }
    bson_append_array_end(out, &child);
    return 0;
}

/* field_value -- one field of a projected document. */
static int project_field(papply_t *a, const pnode_t *n, bson_iter_t *it, bson_t *out, int depth)
{
    const char *key = bson_iter_key(it);
    const bson_value_t *v = bson_iter_value(it);
    switch (n->kind) {
    case P_INCLUDE:
        bson_append_value(out, key, -1, v);
        return 0;
    case P_EXCLUDE:
        return 0;
    case P_SLICE:
        if (a->nested_arrays > 0)
            bson_append_value(out, key, -1, v);
        else
            append_slice(out, key, n, v);
        return 0;
    case P_LITERAL:
        bson_append_value(out, key, -1, &n->lit);
        return 0;
    case P_META:
        return 0; /* appended at the end */
    case P_POSITIONAL: {
        if (v->value_type != BSON_TYPE_ARRAY) {
            bson_append_value(out, key, -1, v);
            return 0;
        }
        if (a->ctx->matched_index < 0)
            return status_set(a->st, 51246,
                              "positional operator '.$' couldn't find a matching element in the "
                              "array");
        bson_t arr, child;
        bson_iter_t ai;
        qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &arr);
        char idx[16];
        snprintf(idx, sizeof idx, "%d", (int)a->ctx->matched_index);
        if (!bson_iter_init_find(&ai, &arr, idx))
            return status_set(a->st, 51247, "positional operator '.$' element mismatch");
        bson_append_array_begin(out, key, -1, &child);
        bson_append_value(&child, "0", 1, bson_iter_value(&ai));
        bson_append_array_end(out, &child);
        return 0;
    }
    case P_ELEMMATCH: {
        if (v->value_type != BSON_TYPE_ARRAY)
            return 0;
        bson_t arr;
        bson_iter_t ai;
        qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &arr);
        bson_iter_init(&ai, &arr);
        while (bson_iter_next(&ai)) {
            bson_t probe = BSON_INITIALIZER, pa;
            bson_append_array_begin(&probe, "v", 1, &pa);
            bson_append_value(&pa, "0", 1, bson_iter_value(&ai));
            bson_append_array_end(&probe, &pa);
            /* the matcher reads a static view of the probe's bytes */
            bson_t view;
            bool m = bson_init_static(&view, bson_get_data(&probe), probe.len) &&
                     qry_match_eval(n->em, &view, NULL);
            bson_destroy(&probe);
            if (m) {
                bson_t child;
                bson_append_array_begin(out, key, -1, &child);
                bson_append_value(&child, "0", 1, bson_iter_value(&ai));
                bson_append_array_end(out, &child);
                break;
            }
        }
        return 0;
    }
    case P_SUB:
        if (v->value_type == BSON_TYPE_DOCUMENT) {
            bson_t sub, res;
            qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &sub);
            bson_append_document_begin(out, key, -1, &res);
            int ret = project_doc(a, n, &sub, &res, false, depth + 1);
            bson_append_document_end(out, &res);
            return ret;
        }
        if (v->value_type == BSON_TYPE_ARRAY)
            return project_array(a, n, v, out, key, depth + 1);
        if (a->p->mode == MODE_EXCL)
            bson_append_value(out, key, -1, v);
        return 0;
    }
    return 0;
}

/* append_computed -- $meta and literal fields the document did not carry. */
static int append_computed(papply_t *a, const pnode_t *node, const bson_t *doc, bson_t *out,
                           int depth)
{
    for (size_t i = 0; i < node->n; i++) {
        const pnode_t *n = node->kids[i];
        bson_iter_t it;
        bool present = bson_iter_init_find(&it, doc, n->name);
        if (n->kind == P_META) {
            if (!a->ctx->meta)
                return status_set(a->st, ERR_NotImplemented,
                                  "$meta \"%s\" is not available for this query", n->meta);
            bson_value_t v = {.value_type = BSON_TYPE_NULL};
            ST_RET(a->ctx->meta(a->ctx->meta_arg, n->meta, a->root_doc, &v, a->st));
            bson_append_value(out, n->name, -1, &v);
            bson_value_destroy(&v);
        } else if (n->kind == P_LITERAL && !present) {
            bson_append_value(out, n->name, -1, &n->lit);
        } else if (n->kind == P_SUB && !present && depth < PROJ_MAX_DEPTH) {
            /* literals below a missing field still create it */
            bson_t empty = BSON_INITIALIZER, res = BSON_INITIALIZER;
            ST_RET(append_computed(a, n, &empty, &res, depth + 1));
            if (!bson_empty(&res))
                bson_append_document(out, n->name, -1, &res);
            bson_destroy(&res);
        }
    }
    return 0;
}

static int project_doc(papply_t *a, const pnode_t *node, const bson_t *doc, bson_t *out, bool top,
                       int depth)
{
    bson_iter_t it;
    bool incl = a->p->mode == MODE_INCL;
    if (depth > PROJ_MAX_DEPTH)
        return status_set(a->st, ERR_BadValue, "document is nested too deeply to project");
    if (!bson_iter_init(&it, doc))
        return status_set(a->st, ERR_InvalidBSON, "invalid document");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        const pnode_t *n = NULL;
        for (size_t i = 0; i < node->n; i++)
            if (strcmp(node->kids[i]->name, k) == 0)
                n = node->kids[i];
        if (!n) {
            bool keep = !incl || (top && strcmp(k, "_id") == 0 && !a->p->id_excluded);
            if (keep)
                bson_append_value(out, k, -1, bson_iter_value(&it));
            continue;
        }
        ST_RET(project_field(a, n, &it, out, depth));
    }
    return append_computed(a, node, doc, out, depth);
}

/* qry_projection_apply -- project doc into out. */
int qry_projection_apply(const qry_projection_t *p, const bson_t *doc,
                         const qry_projection_ctx_t *ctx, bson_t *out, status_t *st)
{
    static const qry_projection_ctx_t defctx = QRY_PROJECTION_CTX_INIT;
    papply_t a = {p, ctx ? ctx : &defctx, doc, st, 0};
    bson_init(out);
    int ret = project_doc(&a, p->root, doc, out, true, 0);
    if (ret) {
        bson_destroy(out);
        bson_init(out);
    }
    return ret;
}
