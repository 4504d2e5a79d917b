/*
 * match_util.c -- read-only views of a parsed match tree for the planner,
 * partial indexes and explain (node kind, path, operand, children), and the
 * equality fields an upsert seeds its new document from.
 */
#include "query/query_int.h"

#include <stdlib.h>
#include <string.h>

/* qry_match_node_kind -- the node's kind. */
qry_match_kind_t qry_match_node_kind(const qry_match_node_t *n)
{
    return n->kind;
}

/* qry_match_node_path -- the leaf's path (NULL for logical and pathless nodes). */
const char *qry_match_node_path(const qry_match_node_t *n)
{
    return n->path;
}

/* qry_match_node_operand -- the operand as written, NULL when the node has none. */
const bson_value_t *qry_match_node_operand(const qry_match_node_t *n)
{
    return n->operand.value_type == BSON_TYPE_EOD ? NULL : &n->operand;
}

/* qry_match_node_nchildren -- number of children. */
size_t qry_match_node_nchildren(const qry_match_node_t *n)
{
    return n->nkids;
}

/* qry_match_node_child -- child i, NULL when out of range. */
const qry_match_node_t *qry_match_node_child(const qry_match_node_t *n, size_t i)
{
    return i < n->nkids ? n->kids[i] : NULL;
}

/* qry_match_kind_name -- the operator name MongoDB's explain uses for the kind. */
const char *qry_match_kind_name(qry_match_kind_t kind)
{
    switch (kind) {
    case QRY_MATCH_AND:
        return "$and";
    case QRY_MATCH_OR:
        return "$or";
    case QRY_MATCH_NOR:
        return "$nor";
    case QRY_MATCH_NOT:
        return "$not";
    case QRY_MATCH_ALWAYS_FALSE:
        return "$alwaysFalse";
    case QRY_MATCH_EQ:
        return "$eq";
    case QRY_MATCH_LT:
        return "$lt";
    case QRY_MATCH_LTE:
        return "$lte";
    case QRY_MATCH_GT:
        return "$gt";
    case QRY_MATCH_GTE:
        return "$gte";
    case QRY_MATCH_IN:
        return "$in";
    case QRY_MATCH_EXISTS:
        return "$exists";
    case QRY_MATCH_TYPE:
        return "$type";
    case QRY_MATCH_MOD:
        return "$mod";
    case QRY_MATCH_REGEX:
        return "$regex";
    case QRY_MATCH_SIZE:
        return "$size";
    case QRY_MATCH_ELEM_MATCH_OBJECT:
    case QRY_MATCH_ELEM_MATCH_VALUE:
        return "$elemMatch";
    case QRY_MATCH_BITS_ALL_SET:
        return "$bitsAllSet";
    case QRY_MATCH_BITS_ALL_CLEAR:
        return "$bitsAllClear";
    case QRY_MATCH_BITS_ANY_SET:
        return "$bitsAnySet";
    case QRY_MATCH_BITS_ANY_CLEAR:
        return "$bitsAnyClear";
    case QRY_MATCH_EXPR:
        return "$expr";
    case QRY_MATCH_JSON_SCHEMA:
        return "$jsonSchema";
    }
    return "unknown";
}

/* Paths already pinned, to refuse ambiguous upsert seeds. */
typedef struct eqstate {
    const char **paths;
    size_t n, cap;
    qry_match_eq_fn fn;
    void *ctx;
} eqstate_t;

/* Whether a is b or a dotted prefix of b ("a" of "a.b"). */
static bool is_prefix(const char *a, const char *b)
{
    size_t la = strlen(a);
    return strncmp(a, b, la) == 0 && b[la] == '.';
}

/* Record one equality, refusing a path pinned twice or together with its prefix. */
static int add_equality(eqstate_t *s, const char *path, const bson_value_t *v, status_t *st)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->paths[i], path) == 0)
            return status_set(st, ERR_NotSingleValueField,
                              "cannot infer query fields to set, path '%s' is matched twice", path);
        if (is_prefix(s->paths[i], path) || is_prefix(path, s->paths[i]))
            return status_set(st, ERR_NotSingleValueField,
                              "cannot infer query fields to set, both paths '%s' and '%s' are "
                              "matched",
                              s->paths[i], path);
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        const char **p = realloc(s->paths, cap * sizeof(*p));
        INVARIANT(p != NULL);
        s->paths = p;
        s->cap = cap;
    }
    s->paths[s->n++] = path;
    return s->fn(s->ctx, path, v, st);
}

/* Equalities under an AND (and single-child OR, which MongoDB simplifies away). */
static int collect(eqstate_t *s, const qry_match_node_t *n, status_t *st)
{
    switch (n->kind) {
    case QRY_MATCH_AND:
        for (size_t i = 0; i < n->nkids; i++)
            ST_RET(collect(s, n->kids[i], st));
        return 0;
    case QRY_MATCH_OR:
        return n->nkids == 1 ? collect(s, n->kids[0], st) : 0;
    case QRY_MATCH_EQ:
        return add_equality(s, n->path, &n->operand, st);
    case QRY_MATCH_IN:
        if (n->u.in.nvals == 1 && n->u.in.nregexes == 0)
            return add_equality(s, n->path, &n->u.in.vals[0], st);
        return 0;
    default:
        return 0;
    }
}

/* qry_match_equalities -- visit the paths the filter pins to one value. */
int qry_match_equalities(const qry_match_t *m, qry_match_eq_fn fn, void *ctx, status_t *st)
{
    eqstate_t s = {NULL, 0, 0, fn, ctx};
    int ret = collect(&s, qry_match_root(m), st);
    free(s.paths);
    return ret;
}
