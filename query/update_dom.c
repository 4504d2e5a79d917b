/*
 * update_dom.c -- a small mutable document tree for the update operators.
 *
 * libbson documents are append-only, so an update that edits the middle of a
 * document is easiest as: read the document into a tree of nodes, edit the
 * tree (insert, replace, remove, pad arrays), write it back out. Field order
 * is the tree's child order, so untouched fields keep their places and new
 * fields are appended. Values that no operator descends into are kept as
 * copied bson_value_t (embedded documents stay opaque until a path enters
 * them), which keeps a large document with a one-field $set cheap.
 */
#include "query/update_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The tree is never deeper than a stored document may be (100 levels) plus
 * what a path can add; 200 is a hard stop against a malicious input.
 */
#define UDOM_MAX_DEPTH 200

/* qry__udom_new -- an empty node of type (document or array: no children yet). */
udom_t *qry__udom_new(const char *name, bson_type_t type)
{
    udom_t *n = bson_malloc0(sizeof *n);
    n->name = bson_strdup(name ? name : "");
    n->type = type;
    n->expanded = (type == BSON_TYPE_DOCUMENT || type == BSON_TYPE_ARRAY);
    return n;
}

/* qry__udom_new_value -- a node holding a copy of v (documents stay unexpanded). */
udom_t *qry__udom_new_value(const char *name, const bson_value_t *v)
{
    udom_t *n = bson_malloc0(sizeof *n);
    n->name = bson_strdup(name ? name : "");
    n->type = v->value_type;
    bson_value_copy(v, &n->val);
    n->has_val = true;
    return n;
}

/* qry__udom_free -- free a node and its subtree (NULL is a no-op). */
void qry__udom_free(udom_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        qry__udom_free(n->kids[i]);
    bson_free(n->kids);
    if (n->has_val)
        bson_value_destroy(&n->val);
    bson_free(n->name);
    bson_free(n);
}

/* udom_reserve -- room for one more child. */
static void udom_reserve(udom_t *n)
{
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 8;
        n->kids = bson_realloc(n->kids, n->cap * sizeof *n->kids);
    }
}

/* qry__udom_append -- append child to a document or array node. */
void qry__udom_append(udom_t *parent, udom_t *child)
{
    udom_reserve(parent);
    parent->kids[parent->n++] = child;
}

/* qry__udom_insert -- insert child at position pos (0..n). */
void qry__udom_insert(udom_t *parent, size_t pos, udom_t *child)
{
    udom_reserve(parent);
    if (pos > parent->n)
        pos = parent->n;
    memmove(&parent->kids[pos + 1], &parent->kids[pos], (parent->n - pos) * sizeof *parent->kids);
    parent->kids[pos] = child;
    parent->n++;
}

/* qry__udom_remove -- detach and return child i (the caller frees it). */
udom_t *qry__udom_remove(udom_t *parent, size_t i)
{
    udom_t *c = parent->kids[i];
    memmove(&parent->kids[i], &parent->kids[i + 1], (parent->n - i - 1) * sizeof *parent->kids);
    parent->n--;
    return c;
}

/* udom_from_iter -- build the children of n from a document/array iterator. */
static int udom_fill(udom_t *n, bson_iter_t *it, status_t *st)
{
    while (bson_iter_next(it)) {
        const bson_value_t *v = bson_iter_value(it);
        qry__udom_append(n, qry__udom_new_value(bson_iter_key(it), v));
    }
    return 0;
}

/* qry__udom_expand -- turn an opaque embedded document/array value into children. */
int qry__udom_expand(udom_t *n, status_t *st)
{
    if (n->expanded)
        return 0;
    if (n->type != BSON_TYPE_DOCUMENT && n->type != BSON_TYPE_ARRAY)
        return 0;
    bson_t sub;
    bson_iter_t it;
    if (!bson_init_static(&sub, n->val.value.v_doc.data, n->val.value.v_doc.data_len) ||
        !bson_iter_init(&it, &sub))
        return status_set(st, ERR_InvalidBSON, "invalid embedded document in field '%s'", n->name);
    ST_RET(udom_fill(n, &it, st));
    bson_value_destroy(&n->val);
    n->has_val = false;
    n->expanded = true;
    return 0;
}

/* qry__udom_from_bson -- a document node with doc's top-level fields. */
int qry__udom_from_bson(const bson_t *doc, udom_t **out, status_t *st)
{
    bson_iter_t it;
    *out = NULL;
    if (!bson_iter_init(&it, doc))
        return status_set(st, ERR_InvalidBSON, "invalid BSON document");
    udom_t *root = qry__udom_new("", BSON_TYPE_DOCUMENT);
    int ret = udom_fill(root, &it, st);
    if (ret != 0) {
        qry__udom_free(root);
        return ret;
    }
    *out = root;
    return 0;
}

/* udom_append_to -- append node n to b under key. */
static int udom_append_to(bson_t *b, const char *key, size_t keylen, const udom_t *n, int depth,
                          status_t *st)
{
    if (depth > UDOM_MAX_DEPTH)
        return status_set(st, ERR_BadValue, "document is nested too deeply");
    if (!n->expanded) {
        bson_t check;
        if ((n->type == BSON_TYPE_DOCUMENT || n->type == BSON_TYPE_ARRAY) &&
            (!n->val.value.v_doc.data ||
             !bson_init_static(&check, n->val.value.v_doc.data, n->val.value.v_doc.data_len)))
            return status_set(st, ERR_InvalidBSON, "invalid embedded document in field '%s'",
                              n->name);
        if (!bson_append_value(b, key, (int)keylen, &n->val))
            return status_set(st, ERR_BSONObjectTooLarge, "document is too large");
        return 0;
    }
    bson_t child;
    bool ok = n->type == BSON_TYPE_ARRAY ? bson_append_array_begin(b, key, (int)keylen, &child)
                                         : bson_append_document_begin(b, key, (int)keylen, &child);
    if (!ok)
        return status_set(st, ERR_BSONObjectTooLarge, "document is too large");
    int ret = qry__udom_write_children(n, &child, depth + 1, st);
    ok = n->type == BSON_TYPE_ARRAY ? bson_append_array_end(b, &child)
                                    : bson_append_document_end(b, &child);
    if (ret == 0 && !ok)
        ret = status_set(st, ERR_BSONObjectTooLarge, "document is too large");
    return ret;
}

/* qry__udom_write_children -- append n's children to b (array keys renumbered). */
int qry__udom_write_children(const udom_t *n, bson_t *b, int depth, status_t *st)
{
    char buf[16];
    for (size_t i = 0; i < n->n; i++) {
        const char *key;
        size_t keylen;
        if (n->type == BSON_TYPE_ARRAY) {
            keylen = bson_uint32_to_string((uint32_t)i, &key, buf, sizeof buf);
        } else {
            key = n->kids[i]->name;
            keylen = strlen(key);
        }
        ST_RET(udom_append_to(b, key, keylen, n->kids[i], depth, st));
    }
    return 0;
}

/* qry__udom_to_bson -- write a document node into out (initialised by the caller). */
int qry__udom_to_bson(const udom_t *root, bson_t *out, status_t *st)
{
    return qry__udom_write_children(root, out, 0, st);
}

/* qry__udom_value -- n as a bson_value_t; documents are serialised into *scratch. */
int qry__udom_value(const udom_t *n, bson_value_t *out, bson_t *scratch, status_t *st)
{
    bson_init(scratch);
    if (!n->expanded) {
        *out = n->val;
        return 0;
    }
    ST_RET(qry__udom_write_children(n, scratch, 0, st));
    out->value_type = n->type;
    out->value.v_doc.data = (uint8_t *)bson_get_data(scratch);
    out->value.v_doc.data_len = scratch->len;
    return 0;
}

/* qry__udom_find -- the child named name of a document node, or NULL; *pos its index. */
udom_t *qry__udom_find(const udom_t *n, const char *name, size_t *pos)
{
    for (size_t i = 0; i < n->n; i++) {
        if (strcmp(n->kids[i]->name, name) == 0) {
            if (pos)
                *pos = i;
            return n->kids[i];
        }
    }
    return NULL;
}

/* qry__udom_set_value -- replace n's content with a copy of v (keeps its name). */
void qry__udom_set_value(udom_t *n, const bson_value_t *v)
{
    bson_value_t copy;
    bson_value_copy(v, &copy);
    for (size_t i = 0; i < n->n; i++)
        qry__udom_free(n->kids[i]);
    bson_free(n->kids);
    n->kids = NULL;
    n->n = n->cap = 0;
    if (n->has_val)
        bson_value_destroy(&n->val);
    n->val = copy;
    n->has_val = true;
    n->expanded = false;
    n->type = v->value_type;
}

/* qry__udom_same -- whether two nodes hold bit-identical values (type included). */
bool qry__udom_same(const udom_t *a, const udom_t *b)
{
    bson_t sa, sb;
    bson_value_t va, vb;
    status_t st = STATUS_INIT;
    bool same = false;
    if (qry__udom_value(a, &va, &sa, &st) == 0 && qry__udom_value(b, &vb, &sb, &st) == 0)
        same = qry__value_same(&va, &vb);
    bson_destroy(&sa);
    bson_destroy(&sb);
    return same;
}

/* qry__value_same -- bit-identical values: same type and same bytes (1 and 1.0 differ). */
bool qry__value_same(const bson_value_t *a, const bson_value_t *b)
{
    if (a->value_type != b->value_type)
        return false;
    bson_t da = BSON_INITIALIZER, db = BSON_INITIALIZER;
    bson_append_value(&da, "", 0, a);
    bson_append_value(&db, "", 0, b);
    bool same = da.len == db.len && memcmp(bson_get_data(&da), bson_get_data(&db), da.len) == 0;
    bson_destroy(&da);
    bson_destroy(&db);
    return same;
}

/* fmt_value -- append a shell-style rendering of v ({a: 1}, "x", [1, 2]) to s. */
static void fmt_value(bson_string_t *s, const bson_value_t *v, int depth);

/* fmt_doc -- render the document/array bytes data as {k: v} or [v]. */
static void fmt_doc(bson_string_t *s, const uint8_t *data, uint32_t len, bool array, int depth)
{
    bson_t d;
    bson_iter_t it;
    if (!bson_init_static(&d, data, len) || !bson_iter_init(&it, &d)) {
        bson_string_append(s, "<invalid>");
        return;
    }
    bson_string_append(s, array ? "[" : "{");
    bool first = true;
    while (bson_iter_next(&it)) {
        if (s->len > STATUS_MSG_MAX)
            break;
        bson_string_append(s, first ? (array ? "" : " ") : ", ");
        first = false;
        if (!array)
            bson_string_append_printf(s, "%s: ", bson_iter_key(&it));
        fmt_value(s, bson_iter_value(&it), depth + 1);
    }
    bson_string_append(s, array ? "]" : (first ? "}" : " }"));
}

static void fmt_value(bson_string_t *s, const bson_value_t *v, int depth)
{
    if (depth > 20) {
        bson_string_append(s, "...");
        return;
    }
    switch (v->value_type) {
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        fmt_doc(s, v->value.v_doc.data, v->value.v_doc.data_len, v->value_type == BSON_TYPE_ARRAY,
                depth);
        return;
    case BSON_TYPE_UTF8:
        bson_string_append_printf(s, "\"%.*s\"", (int)v->value.v_utf8.len, v->value.v_utf8.str);
        return;
    case BSON_TYPE_INT32:
        bson_string_append_printf(s, "%d", v->value.v_int32);
        return;
    case BSON_TYPE_INT64:
        bson_string_append_printf(s, "%lld", (long long)v->value.v_int64);
        return;
    case BSON_TYPE_DOUBLE:
        bson_string_append_printf(s, "%.17g", v->value.v_double);
        return;
    case BSON_TYPE_BOOL:
        bson_string_append(s, v->value.v_bool ? "true" : "false");
        return;
    case BSON_TYPE_NULL:
        bson_string_append(s, "null");
        return;
    default: {
        bson_t d = BSON_INITIALIZER;
        bson_append_value(&d, "v", 1, v);
        char *j = bson_as_relaxed_extended_json(&d, NULL);
        if (j) {
            /* strip the wrapper `{ "v" : ` ... ` }` */
            size_t l = strlen(j);
            if (l > 10)
                bson_string_append_printf(s, "%.*s", (int)(l - 10), j + 8);
            bson_free(j);
        }
        bson_destroy(&d);
    }
    }
}

/* qry__fmt_value -- shell-style rendering of v, truncated to fit an error message. */
char *qry__fmt_value(const bson_value_t *v)
{
    bson_string_t *s = bson_string_new(NULL);
    fmt_value(s, v, 0);
    if (s->len > 200) {
        s->str[197] = s->str[198] = s->str[199] = '.';
        s->str[200] = '\0';
        s->len = 200;
    }
    return bson_string_free(s, false);
}

/* qry__fmt_node -- "{name: value}" rendering of a node, for error messages. */
char *qry__fmt_node(const udom_t *n)
{
    bson_t scratch;
    bson_value_t v;
    status_t st = STATUS_INIT;
    char *r;
    if (qry__udom_value(n, &v, &scratch, &st) != 0) {
        bson_destroy(&scratch);
        return bson_strdup("<invalid>");
    }
    char *val = qry__fmt_value(&v);
    r = bson_strdup_printf("{%s: %s}", n->name, val);
    bson_free(val);
    bson_destroy(&scratch);
    return r;
}
