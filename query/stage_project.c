/*
 * stage_project.c -- $project, $addFields/$set and $unset.
 *
 * The spec becomes a tree of field nodes ({"a.b": 1} and {a: {b: 1}} give
 * the same tree): INCLUDE, EXCLUDE, COMPUTED (an expression) or a SUBTREE.
 * $project is an inclusion (with computed fields) or an exclusion, never
 * both (31253/31254); _id is kept unless excluded. Inclusion walks the input
 * document in its order, keeping included fields and descending into
 * sub-documents and arrays of them, then appends computed fields in spec
 * order. $addFields replaces fields in place and appends new ones; a dotted
 * path over an array sets the field in each element. Expressions always see
 * the whole document as $$ROOT/$$CURRENT.
 */
#include "query/pipeline_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum pnode_kind { PN_INCLUDE, PN_EXCLUDE, PN_COMPUTED, PN_SUBTREE } pnode_kind_t;

typedef struct pnode {
    char *name;
    pnode_kind_t kind;
    qry_expr_t *expr;
    struct pnode **kids;
    size_t nkids;
    bool has_computed; /* SUBTREE: a computed field somewhere below */
} pnode_t;

typedef enum pmode { PM_INCLUSION, PM_EXCLUSION, PM_ADDFIELDS } pmode_t;

typedef struct proj_data {
    pnode_t root;
    pmode_t mode;
    const char *stage; /* "$project", "$addFields", "$set", "$unset" */
    bool id_implicit;  /* inclusion without an _id entry: _id is kept as is */
} proj_data_t;

static void pnode_clear(pnode_t *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        pnode_clear(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    free(n->name);
    qry_expr_destroy(n->expr);
}

static void proj_free(void *data)
{
    proj_data_t *d = data;
    pnode_clear(&d->root);
    free(d);
}

static pnode_t *kid(pnode_t *n, const char *name, size_t len)
{
    for (size_t i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i]->name) == len && strncmp(n->kids[i]->name, name, len) == 0)
            return n->kids[i];
    return NULL;
}

static pnode_t *kid_add(pnode_t *n, const char *name, size_t len, pnode_kind_t kind)
{
    pnode_t *k = calloc(1, sizeof *k);
    INVARIANT(k != NULL);
    k->name = strndup(name, len);
    k->kind = kind;
    n->kids = realloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
    INVARIANT(n->kids != NULL);
    n->kids[n->nkids++] = k;
    return k;
}

typedef struct pparse {
    pl_stage_t *s;
    proj_data_t *d;
    int nincl, nexcl, ncomputed;
    bool id_excluded;
    bool id_seen;
} pparse_t;

static int check_name(const char *path, size_t len, status_t *st)
{
    if (len == 0)
        return status_set(st, 40352, "FieldPath cannot be constructed with empty string");
    if (path[0] == '$')
        return status_set(st, 16410,
                          "FieldPath field names may not start with '$'. Consider "
                          "using $getField or $setField.");
    return 0;
}

/* Add value v at the dotted path below parent; the full path is for messages. */
static int add_path(pparse_t *pp, pnode_t *parent, const char *full, const char *path,
                    const bson_iter_t *val, int depth, status_t *st)
{
    if (depth > 100)
        return status_set(st, ERR_Overflow, "projection nested too deeply");
    const char *dot = strchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    ST_RET(check_name(path, len, st));
    pnode_t *k = kid(parent, path, len);
    if (dot) {
        if (k && k->kind != PN_SUBTREE)
            return status_set(st, 31250, "Path collision at %s", full);
        if (!k)
            k = kid_add(parent, path, len, PN_SUBTREE);
        return add_path(pp, k, full, dot + 1, val, depth + 1, st);
    }
    const bson_value_t *v = bson_iter_value((bson_iter_t *)val);
    bool is_addfields = pp->d->mode == PM_ADDFIELDS;
    /* A sub-document without operators is a nested spec. */
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_t sub;
        bson_iter_recurse(val, &sub);
        bson_iter_t probe = sub;
        bool empty = !bson_iter_next(&probe);
        bool is_expr = !empty && bson_iter_key(&probe)[0] == '$';
        if (!is_expr) {
            if (empty && !is_addfields)
                return status_set(st, 51270,
                                  "An empty sub-projection is not a valid value. "
                                  "Found empty object at path");
            if (k && k->kind != PN_SUBTREE)
                return status_set(st, 31250, "Path collision at %s", full);
            if (!k)
                k = kid_add(parent, path, len, PN_SUBTREE);
            if (empty) {
                /* $addFields {a: {}} sets a to an empty document */
                k->kind = PN_COMPUTED;
                ST_RET(qry__pl_expr(val, pp->s, &k->expr, st));
                pp->ncomputed++;
                return 0;
            }
            while (bson_iter_next(&sub)) {
                char *nf = NULL;
                if (asprintf(&nf, "%s.%s", full, bson_iter_key(&sub)) < 0)
                    return status_set(st, ERR_InternalError, "out of memory");
                int ret = add_path(pp, k, nf, bson_iter_key(&sub), &sub, depth + 1, st);
                free(nf);
                ST_RET(ret);
            }
            return 0;
        }
    }
    if (k)
        return status_set(st, 31250, "Path collision at %s", full);
    bool is_id = parent == &pp->d->root && strcmp(path, "_id") == 0;
    if (!is_addfields && (bsonu_is_number(v->value_type) || v->value_type == BSON_TYPE_BOOL)) {
        bool truth = v->value_type == BSON_TYPE_BOOL ? v->value.v_bool : qry_expr_truthy(v);
        k = kid_add(parent, path, len, truth ? PN_INCLUDE : PN_EXCLUDE);
        if (is_id) {
            pp->id_seen = true;
            pp->id_excluded = !truth;
        } else if (truth) {
            pp->nincl++;
        } else {
            pp->nexcl++;
        }
        if (!truth)
            qry__pl_add_write(pp->s, full);
        else
            qry__pl_add_read(pp->s, full);
        return 0;
    }
    k = kid_add(parent, path, len, PN_COMPUTED);
    pp->ncomputed++;
    if (is_id)
        pp->id_seen = true;
    qry__pl_add_write(pp->s, full);
    return qry__pl_expr(val, pp->s, &k->expr, st);
}

static bool mark_computed(pnode_t *n)
{
    bool any = n->kind == PN_COMPUTED;
    for (size_t i = 0; i < n->nkids; i++)
        any |= mark_computed(n->kids[i]);
    n->has_computed = any;
    return any;
}

static int proj_parse_spec(pl_stage_t *s, const bson_iter_t *arg, pmode_t mode, const char *name,
                           status_t *st)
{
    proj_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    d->mode = mode;
    d->stage = name;
    d->root.kind = PN_SUBTREE;
    s->data = d;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, mode == PM_ADDFIELDS ? 40272 : 15969,
                          "%s specification must be an object", name);
    pparse_t pp = {s, d, 0, 0, 0, false, false};
    bson_iter_t it;
    bson_iter_recurse(arg, &it);
    bool any = false;
    while (bson_iter_next(&it)) {
        any = true;
        ST_RET(add_path(&pp, &d->root, bson_iter_key(&it), bson_iter_key(&it), &it, 0, st));
    }
    if (!any && mode != PM_ADDFIELDS)
        return status_set(st, 51272,
                          "Invalid %s :: caused by :: projection specification must "
                          "have at least one field",
                          name);
    mark_computed(&d->root);
    if (mode == PM_ADDFIELDS) {
        s->shape = PL_MODIFIES;
        return 0;
    }
    if (pp.nexcl > 0 && (pp.nincl > 0 || pp.ncomputed > 0)) {
        /* find a culprit for the message */
        return status_set(st, pp.nincl > 0 ? 31253 : 31252,
                          pp.nincl > 0 ? "Invalid %s :: caused by :: Cannot do inclusion on "
                                         "field in exclusion projection"
                                       : "Invalid %s :: caused by :: Cannot use expression other "
                                         "than $meta in exclusion projection",
                          name);
    }
    if (pp.nexcl > 0 || (pp.nincl == 0 && pp.ncomputed == 0 && pp.id_excluded)) {
        d->mode = PM_EXCLUSION;
        s->shape = PL_MODIFIES;
        if (pp.id_excluded)
            qry__pl_add_write(s, "_id");
        /* an exclusion projection's _id: 1 means nothing */
    } else {
        d->mode = PM_INCLUSION;
        s->shape = PL_REPLACES;
        d->id_implicit = !pp.id_seen;
        if (!pp.id_excluded)
            qry__pl_add_read(s, "_id");
    }
    return 0;
}

static int project_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    return proj_parse_spec(s, arg, PM_INCLUSION, "$project", st);
}

static int addfields_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    return proj_parse_spec(s, arg, PM_ADDFIELDS, "$addFields", st);
}

static int set_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    return proj_parse_spec(s, arg, PM_ADDFIELDS, "$set", st);
}

static int unset_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    bson_t spec;
    bson_init(&spec);
    int ret = 0;
    if (BSON_ITER_HOLDS_UTF8(arg)) {
        BSON_APPEND_INT32(&spec, bson_iter_utf8(arg, NULL), 0);
    } else if (BSON_ITER_HOLDS_ARRAY(arg)) {
        bson_iter_t a;
        bson_iter_recurse(arg, &a);
        bool any = false;
        while (bson_iter_next(&a)) {
            if (!BSON_ITER_HOLDS_UTF8(&a)) {
                ret = status_set(st, 31120,
                                 "$unset specification must be a string or an array "
                                 "containing only string values");
                goto out;
            }
            BSON_APPEND_INT32(&spec, bson_iter_utf8(&a, NULL), 0);
            any = true;
        }
        if (!any) {
            ret = status_set(st, 31119,
                             "$unset specification must be a string or an array with "
                             "at least one field");
            goto out;
        }
    } else {
        ret = status_set(st, 31002, "$unset specification must be a string or an array");
        goto out;
    }
    bson_t wrap;
    bson_init(&wrap);
    BSON_APPEND_DOCUMENT(&wrap, "x", &spec);
    bson_iter_t w;
    bson_iter_init_find(&w, &wrap, "x");
    ret = proj_parse_spec(s, &w, PM_INCLUSION, "$unset", st);
    bson_destroy(&wrap);
out:
    bson_destroy(&spec);
    return ret;
}

/* ---- apply ------------------------------------------------------------- */

typedef struct papply {
    pl_run_t *run;
    const bson_t *root;
    status_t *st;
} papply_t;

static int apply_incl(papply_t *pa, const pnode_t *n, const bson_t *doc, bson_t *out, bool top);
static int apply_excl(papply_t *pa, const pnode_t *n, const bson_t *doc, bson_t *out);
static int apply_add(papply_t *pa, const pnode_t *n, const bson_t *doc, bson_t *out);

typedef int (*apply_fn)(papply_t *pa, const pnode_t *n, const bson_t *doc, bson_t *out);

static int incl_sub(papply_t *pa, const pnode_t *n, const bson_t *doc, bson_t *out)
{
    return apply_incl(pa, n, doc, out, false);
}

static bool view(const bson_iter_t *it, bson_t *out)
{
    uint32_t len;
    const uint8_t *data;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &len, &data);
    else
        bson_iter_array(it, &len, &data);
    if (!data || !bson_init_static(out, data, len)) {
        bson_init(out);
        return false;
    }
    return true;
}

/* Apply fn to each element of an array: documents recurse, arrays recurse, scalars per mode. */
static int apply_array(papply_t *pa, const pnode_t *n, bson_iter_t *it, bson_t *out,
                       const char *key, apply_fn fn, int scalars /* 0 drop, 1 keep, 2 empty */)
{
    bson_t arr, in;
    view(it, &in);
    bson_append_array_begin(out, key, -1, &arr);
    bson_iter_t e;
    bson_iter_init(&e, &in);
    uint32_t i = 0;
    int ret = 0;
    while (bson_iter_next(&e) && ret == 0) {
        char k[16];
        const char *kp;
        bson_uint32_to_string(i, &kp, k, sizeof k);
        if (BSON_ITER_HOLDS_DOCUMENT(&e)) {
            bson_t sub, res;
            view(&e, &sub);
            bson_init(&res);
            ret = fn(pa, n, &sub, &res);
            bson_append_document(&arr, kp, -1, &res);
            bson_destroy(&res);
            i++;
        } else if (BSON_ITER_HOLDS_ARRAY(&e)) {
            ret = apply_array(pa, n, &e, &arr, kp, fn, scalars);
            i++;
        } else if (scalars == 1) {
            bson_append_iter(&arr, kp, -1, &e);
            i++;
        } else if (scalars == 2) {
            bson_t empty, res;
            bson_init(&empty);
            bson_init(&res);
            ret = fn(pa, n, &empty, &res);
            bson_append_document(&arr, kp, -1, &res);
            bson_destroy(&res);
            bson_destroy(&empty);
            i++;
        }
    }
    bson_append_array_end(out, &arr);
    return ret;
}

static int eval_into(papply_t *pa, const pnode_t *k, bson_t *out)
{
    bson_value_t v;
    uint64_t mark = qry_expr_ctx_mark(pa->run->ex);
    int ret = qry_expr_eval(k->expr, pa->run->ex, pa->root, &v, pa->st);
    if (ret == 0)
        qry_expr_append(out, k->name, -1, &v);
    qry_expr_ctx_release(pa->run->ex, mark);
    return ret;
}

static int apply_incl(papply_t *pa, const pnode_t *n, const bson_t *doc, bson_t *out, bool top)
{
    bson_iter_t it;
    bool *done = calloc(n->nkids ? n->nkids : 1, sizeof *done);
    INVARIANT(done != NULL);
    int ret = 0;
    if (top) {
        /* _id first, unless excluded */
        const pnode_t *idn = kid((pnode_t *)n, "_id", 3);
        if (!idn || idn->kind == PN_INCLUDE) {
            bson_iter_t f;
            if (bson_iter_init_find(&f, doc, "_id"))
                bson_append_iter(out, "_id", 3, &f);
        }
    }
    if (bson_iter_init(&it, doc)) {
        while (bson_iter_next(&it) && ret == 0) {
            const char *k = bson_iter_key(&it);
            if (top && strcmp(k, "_id") == 0) {
                const pnode_t *idn = kid((pnode_t *)n, "_id", 3);
                if (!idn || idn->kind != PN_SUBTREE)
                    continue;
            }
            pnode_t *c = kid((pnode_t *)n, k, strlen(k));
            if (!c)
                continue;
            size_t ci = 0;
            for (size_t i = 0; i < n->nkids; i++)
                if (n->kids[i] == c)
                    ci = i;
            if (c->kind == PN_INCLUDE) {
                bson_append_iter(out, k, -1, &it);
            } else if (c->kind == PN_SUBTREE) {
                if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
                    bson_t sub, res;
                    view(&it, &sub);
                    bson_init(&res);
                    ret = apply_incl(pa, c, &sub, &res, false);
                    bson_append_document(out, k, -1, &res);
                    bson_destroy(&res);
                    done[ci] = true;
                } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
                    ret = apply_array(pa, c, &it, out, k, incl_sub, c->has_computed ? 2 : 0);
                    done[ci] = true;
                }
            }
        }
    }
    /* Computed fields (and subtrees holding some that the document lacked) come last. */
    for (size_t i = 0; i < n->nkids && ret == 0; i++) {
        const pnode_t *c = n->kids[i];
        if (c->kind == PN_COMPUTED) {
            ret = eval_into(pa, c, out);
        } else if (c->kind == PN_SUBTREE && c->has_computed && !done[i]) {
            bson_t empty, res;
            bson_init(&empty);
            bson_init(&res);
            ret = apply_incl(pa, c, &empty, &res, false);
            bson_append_document(out, c->name, -1, &res);
            bson_destroy(&res);
            bson_destroy(&empty);
        }
    }
    free(done);
    return ret;
}

static int apply_excl(papply_t *pa, const pnode_t *n, const bson_t *doc, bson_t *out)
{
    bson_iter_t it;
    int ret = 0;
    if (!bson_iter_init(&it, doc))
        return 0;
    while (bson_iter_next(&it) && ret == 0) {
        const char *k = bson_iter_key(&it);
        pnode_t *c = kid((pnode_t *)n, k, strlen(k));
        if (!c || c->kind == PN_INCLUDE) {
            bson_append_iter(out, k, -1, &it);
        } else if (c->kind == PN_SUBTREE) {
            if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
                bson_t sub, res;
                view(&it, &sub);
                bson_init(&res);
                ret = apply_excl(pa, c, &sub, &res);
                bson_append_document(out, k, -1, &res);
                bson_destroy(&res);
            } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
                ret = apply_array(pa, c, &it, out, k, apply_excl, 1);
            } else {
                bson_append_iter(out, k, -1, &it);
            }
        }
    }
    return ret;
}

static int apply_add(papply_t *pa, const pnode_t *n, const bson_t *doc, bson_t *out)
{
    bson_iter_t it;
    bool *done = calloc(n->nkids ? n->nkids : 1, sizeof *done);
    INVARIANT(done != NULL);
    int ret = 0;
    if (bson_iter_init(&it, doc)) {
        while (bson_iter_next(&it) && ret == 0) {
            const char *k = bson_iter_key(&it);
            size_t ci = SIZE_MAX;
            for (size_t i = 0; i < n->nkids; i++)
                if (strcmp(n->kids[i]->name, k) == 0)
                    ci = i;
            if (ci == SIZE_MAX) {
                bson_append_iter(out, k, -1, &it);
                continue;
            }
            const pnode_t *c = n->kids[ci];
            done[ci] = true;
            if (c->kind == PN_COMPUTED) {
                ret = eval_into(pa, c, out);
            } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
                bson_t sub, res;
                view(&it, &sub);
                bson_init(&res);
                ret = apply_add(pa, c, &sub, &res);
                bson_append_document(out, k, -1, &res);
                bson_destroy(&res);
            } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
                ret = apply_array(pa, c, &it, out, k, apply_add, 2);
            } else {
                bson_t empty, res;
                bson_init(&empty);
                bson_init(&res);
                ret = apply_add(pa, c, &empty, &res);
                bson_append_document(out, k, -1, &res);
                bson_destroy(&res);
                bson_destroy(&empty);
            }
        }
    }
    for (size_t i = 0; i < n->nkids && ret == 0; i++) {
        if (done[i])
            continue;
        const pnode_t *c = n->kids[i];
        if (c->kind == PN_COMPUTED) {
            ret = eval_into(pa, c, out);
        } else {
            bson_t empty, res;
            bson_init(&empty);
            bson_init(&res);
            ret = apply_add(pa, c, &empty, &res);
            bson_append_document(out, c->name, -1, &res);
            bson_destroy(&res);
            bson_destroy(&empty);
        }
    }
    free(done);
    return ret;
}

typedef struct proj_iter {
    pl_iter_t base;
    const proj_data_t *d;
} proj_iter_t;

static int proj_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    proj_iter_t *p = (proj_iter_t *)it;
    bson_t in;
    ST_RET(qry__pl_pull(it->src, &in, eof, st));
    if (*eof) {
        bson_steal(out, &in);
        return 0;
    }
    papply_t pa = {it->run, &in, st};
    bson_init(out);
    int ret;
    switch (p->d->mode) {
    case PM_INCLUSION:
        ret = apply_incl(&pa, &p->d->root, &in, out, true);
        break;
    case PM_EXCLUSION:
        ret = apply_excl(&pa, &p->d->root, &in, out);
        break;
    default:
        ret = apply_add(&pa, &p->d->root, &in, out);
        break;
    }
    bson_destroy(&in);
    if (ret != 0)
        *eof = true;
    return ret;
}

static void proj_close(pl_iter_t *it)
{
    qry__pl_iter_close(it->src);
    free(it);
}

static int proj_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                     status_t *st)
{
    proj_iter_t *p = calloc(1, sizeof *p);
    INVARIANT(p != NULL);
    qry__pl_iter_init(&p->base, proj_next, proj_close, src, run);
    p->d = stage->data;
    *out = &p->base;
    (void)st;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_project = {"$project", 0, project_parse, proj_open, proj_free};
const pl_stage_ops_t qry__pl_stage_addfields = {"$addFields", 0, addfields_parse, proj_open,
                                                proj_free};
const pl_stage_ops_t qry__pl_stage_set = {"$set", 0, set_parse, proj_open, proj_free};
const pl_stage_ops_t qry__pl_stage_unset = {"$unset", 0, unset_parse, proj_open, proj_free};

/* qry__pl_project_source -- see pipeline_int.h. */
bool qry__pl_project_source(const pl_stage_t *s, const char *path, char *buf, size_t len)
{
    const proj_data_t *d = s->data;
    const pnode_t *n = &d->root;
    const char *p = path;
    if (s->ops != &qry__pl_stage_project || d->mode != PM_INCLUSION)
        return false;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t cl = dot ? (size_t)(dot - p) : strlen(p);
        const pnode_t *k = kid((pnode_t *)n, p, cl);
        if (k == NULL) {
            /* _id is kept unless the spec names it */
            if (n == &d->root && d->id_implicit && cl == 3 && strncmp(p, "_id", 3) == 0)
                return (size_t)snprintf(buf, len, "%s", path) < len;
            return false;
        }
        if (k->kind == PN_INCLUDE)
            return (size_t)snprintf(buf, len, "%s", path) < len;
        if (k->kind == PN_COMPUTED) {
            /* {y: "$x"}: y is x's value (absent when x is) -- a rename of a top-level field */
            const char *src = k->expr != NULL ? qry_expr_field_path(k->expr) : NULL;
            if (src == NULL || *src == '\0' || strchr(src, '.') != NULL || n != &d->root)
                return false;
            return (size_t)snprintf(buf, len, "%s%s", src, dot ? dot : "") < len;
        }
        if (k->kind != PN_SUBTREE || dot == NULL)
            return false; /* a sub-document only partly kept, or dropped */
        n = k;
        p = dot + 1;
    }
}
