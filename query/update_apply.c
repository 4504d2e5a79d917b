/*
 * update_apply.c -- run a parsed update plan (update.c) against one document,
 * and build upsert documents.
 *
 * The document is read into the mutable tree of update_dom.c. Each operation
 * walks its path: fields are looked up or created, numeric components index
 * arrays (padding with nulls when a creating operator writes past the end),
 * `$` becomes the matched index, `$[]` fans out over every element and
 * `$[id]` over the elements its array filter matches. The leaf operation
 * edits the tree and records the concrete path it changed. Afterwards _id
 * must be unchanged (ImmutableField) unless the document is being inserted.
 */
#include "query/expr_int.h"
#include "query/update_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arrays may be padded this far past their end, as MongoDB limits it (1.5M). */
#define UPD_MAX_PAD 1500000

typedef struct actx {
    const qry_update_t *u;
    const qry_update_ctx_t *c;
    status_t *st;
    const bson_t *orig;
    const char *comps[256]; /* resolved path of the current walk */
    char compbuf[256][24];
    size_t depth;
    char **paths;
    size_t npaths, cap;
    char pos[24]; /* the positional $ as text */
} actx_t;

/* id_desc -- "{_id: <value>}" of the input document, for messages. */
static char *id_desc(const actx_t *a)
{
    bson_iter_t it;
    if (a->orig && bson_iter_init_find(&it, a->orig, "_id")) {
        char *v = qry__fmt_value(bson_iter_value(&it));
        char *r = bson_strdup_printf("{_id: %s}", v);
        bson_free(v);
        return r;
    }
    return bson_strdup("{}");
}

/* record -- remember the current resolved path as changed. */
static void record(actx_t *a)
{
    bson_string_t *s = bson_string_new(NULL);
    for (size_t i = 0; i < a->depth; i++) {
        if (i)
            bson_string_append_c(s, '.');
        bson_string_append(s, a->comps[i]);
    }
    if (a->npaths == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->paths = bson_realloc(a->paths, a->cap * sizeof *a->paths);
    }
    a->paths[a->npaths++] = bson_string_free(s, false);
}

static int push_comp(actx_t *a, const char *c, status_t *st)
{
    if (a->depth == 256)
        return status_set(st, ERR_BadValue, "update path is too deep");
    a->comps[a->depth++] = c;
    return 0;
}

/* place -- put a new node into parent under name (arrays: at index name, padding with nulls). */
static int place(actx_t *a, udom_t *parent, const char *name, udom_t *node)
{
    if (parent->type == BSON_TYPE_ARRAY) {
        size_t idx = 0;
        qry__upd_is_index(name, &idx);
        if (idx > parent->n + UPD_MAX_PAD) {
            qry__udom_free(node);
            return status_set(a->st, ERR_BadValue,
                              "can't backfill array to larger than 1500000 elements");
        }
        bson_value_t null_v = {.value_type = BSON_TYPE_NULL};
        while (parent->n < idx)
            qry__udom_append(parent, qry__udom_new_value("", &null_v));
    }
    qry__udom_append(parent, node);
    return 0;
}

static bool is_number_type_value(bson_type_t t)
{
    return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE ||
           t == BSON_TYPE_DECIMAL128;
}

/* comp_text_of -- component i of p as written ("$", "$[]", "$[id]" or the field). */
static void comp_text_of(const upath_t *p, size_t i, char *buf, size_t len)
{
    if (p->kind[i] == UC_POS)
        snprintf(buf, len, "$");
    else if (p->kind[i] == UC_ALL)
        snprintf(buf, len, "$[]");
    else if (p->kind[i] == UC_FILTER)
        snprintf(buf, len, "$[%s]", p->comp[i]);
    else
        snprintf(buf, len, "%s", p->comp[i]);
}

/* ------------------------------------------------------------------------ */
/* Arithmetic                                                               */
/* ------------------------------------------------------------------------ */

/*
 * arith -- old (op) arg with MongoDB's promotion: int32 overflows into int64,
 * int64 overflow fails, any double makes a double. Decimal128 arithmetic
 * needs a decimal library that Mica does not link yet: refused clearly.
 * Returns 0, or 1 on int64 overflow. A decimal operand makes a decimal result,
 * computed exactly (query/expr_decimal.c) and rounded to 34 digits.
 */
static int arith(bool mul, const bson_value_t *x, const bson_value_t *y, bson_value_t *out)
{
    bson_type_t tx = x->value_type, ty = y->value_type;
    if (tx == BSON_TYPE_DECIMAL128 || ty == BSON_TYPE_DECIMAL128) {
        qry__dec_t a, b, r;
        qry__dec_from_value(x, &a);
        qry__dec_from_value(y, &b);
        if (mul)
            qry__dec_mul(&a, &b, &r);
        else
            qry__dec_add(&a, &b, false, &r);
        qry__dec_to_value(&r, out);
        return 0;
    }
    if (tx == BSON_TYPE_DOUBLE || ty == BSON_TYPE_DOUBLE) {
        double a, b;
        bsonu_number_as_double(x, &a);
        bsonu_number_as_double(y, &b);
        out->value_type = BSON_TYPE_DOUBLE;
        out->value.v_double = mul ? a * b : a + b;
        return 0;
    }
    if (tx == BSON_TYPE_INT32 && ty == BSON_TYPE_INT32) {
        int32_t r;
        bool ovf = mul ? __builtin_mul_overflow(x->value.v_int32, y->value.v_int32, &r)
                       : __builtin_add_overflow(x->value.v_int32, y->value.v_int32, &r);
        if (!ovf) {
            out->value_type = BSON_TYPE_INT32;
            out->value.v_int32 = r;
            return 0;
        }
    }
    int64_t a = tx == BSON_TYPE_INT32 ? x->value.v_int32 : x->value.v_int64;
    int64_t b = ty == BSON_TYPE_INT32 ? y->value.v_int32 : y->value.v_int64;
    int64_t r;
    if (mul ? __builtin_mul_overflow(a, b, &r) : __builtin_add_overflow(a, b, &r))
        return 1;
    out->value_type = BSON_TYPE_INT64;
    out->value.v_int64 = r;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Leaf operations                                                          */
/* ------------------------------------------------------------------------ */

/* set_leaf -- set parent[name] to v; changed only if the value differs bit for bit. */
static int set_leaf(actx_t *a, udom_t *parent, const char *name, udom_t *child,
                    const bson_value_t *v)
{
    if (child) {
        bson_t scratch;
        bson_value_t cur;
        int ret = qry__udom_value(child, &cur, &scratch, a->st);
        bool same = ret == 0 && qry__value_same(&cur, v);
        bson_destroy(&scratch);
        if (ret)
            return ret;
        if (same)
            return 0;
        qry__udom_set_value(child, v);
    } else {
        ST_RET(place(a, parent, name, qry__udom_new_value(name, v)));
    }
    record(a);
    return 0;
}

static int leaf_arith(actx_t *a, const uop_t *op, udom_t *parent, const char *name, udom_t *child)
{
    bool mul = op->kind == U_MUL;
    bson_value_t r;
    if (!child) {
        if (!mul)
            return set_leaf(a, parent, name, NULL, &op->arg);
        /* $mul on a missing field sets a zero of the argument's type */
        r.value_type = op->arg.value_type;
        switch (r.value_type) {
        case BSON_TYPE_INT32:
            r.value.v_int32 = 0;
            break;
        case BSON_TYPE_INT64:
            r.value.v_int64 = 0;
            break;
        case BSON_TYPE_DOUBLE:
            r.value.v_double = 0;
            break;
        default:
            bson_decimal128_from_string("0", &r.value.v_decimal128);
        }
        return set_leaf(a, parent, name, NULL, &r);
    }
    if (!is_number_type_value(child->type)) {
        char *id = id_desc(a);
        status_set(a->st, ERR_TypeMismatch,
                   "Cannot apply %s to a value of non-numeric type. %s has the field '%s' of "
                   "non-numeric type %s",
                   op->opname, id, name, bsonu_type_name(child->type));
        bson_free(id);
        return a->st->code;
    }
    int rc = arith(mul, &child->val, &op->arg, &r);
    if (rc == 1) {
        char *id = id_desc(a);
        status_set(a->st, ERR_BadValue,
                   "Failed to apply %s operations to current value ((NumberLong)%lld) for "
                   "document %s",
                   op->opname, (long long)child->val.value.v_int64, id);
        bson_free(id);
        return a->st->code;
    }
    return set_leaf(a, parent, name, child, &r);
}

static int leaf_minmax(actx_t *a, const uop_t *op, udom_t *parent, const char *name, udom_t *child)
{
    if (!child)
        return set_leaf(a, parent, name, NULL, &op->arg);
    bson_t scratch;
    bson_value_t cur;
    int ret = qry__udom_value(child, &cur, &scratch, a->st);
    int c = ret == 0 ? bsonu_compare_value(&op->arg, &cur) : 0;
    bson_destroy(&scratch);
    if (ret)
        return ret;
    if ((op->kind == U_MIN && c < 0) || (op->kind == U_MAX && c > 0))
        return set_leaf(a, parent, name, child, &op->arg);
    return 0;
}

static int leaf_curdate(actx_t *a, const uop_t *op, udom_t *parent, const char *name, udom_t *child)
{
    bson_value_t v;
    int64_t now = a->c->now_ms ? a->c->now_ms : time_now_ms();
    if (op->cur_ts) {
        v.value_type = BSON_TYPE_TIMESTAMP;
        v.value.v_timestamp.timestamp = a->c->ts_t ? a->c->ts_t : (uint32_t)(now / 1000);
        v.value.v_timestamp.increment = a->c->ts_t ? a->c->ts_i : 1;
    } else {
        v.value_type = BSON_TYPE_DATE_TIME;
        v.value.v_datetime = now;
    }
    return set_leaf(a, parent, name, child, &v);
}

static int leaf_bit(actx_t *a, const uop_t *op, udom_t *parent, const char *name, udom_t *child)
{
    bson_value_t r = {.value_type = BSON_TYPE_INT32};
    if (child) {
        if (child->type != BSON_TYPE_INT32 && child->type != BSON_TYPE_INT64) {
            char *id = id_desc(a);
            status_set(a->st, ERR_BadValue,
                       "Cannot apply $bit to a value of non-integral type.%s has the field %s of "
                       "non-integer type %s",
                       id, name, bsonu_type_name(child->type));
            bson_free(id);
            return a->st->code;
        }
        r = child->val;
    }
    for (int i = 0; i < op->nbits; i++) {
        const bson_value_t *b = &op->bit_val[i];
        bool wide = r.value_type == BSON_TYPE_INT64 || b->value_type == BSON_TYPE_INT64;
        int64_t x = r.value_type == BSON_TYPE_INT32 ? r.value.v_int32 : r.value.v_int64;
        int64_t y = b->value_type == BSON_TYPE_INT32 ? b->value.v_int32 : b->value.v_int64;
        int64_t z = op->bit_op[i] == BIT_AND  ? (x & y)
                    : op->bit_op[i] == BIT_OR ? (x | y)
                                              : (x ^ y);
        if (wide) {
            r.value_type = BSON_TYPE_INT64;
            r.value.v_int64 = z;
        } else {
            r.value_type = BSON_TYPE_INT32;
            r.value.v_int32 = (int32_t)z;
        }
    }
    return set_leaf(a, parent, name, child, &r);
}

/* node_value_cmp -- canonical comparison of two nodes' values. */
static int node_cmp(const udom_t *x, const udom_t *y)
{
    bson_t sx, sy;
    bson_value_t vx, vy;
    status_t st = STATUS_INIT;
    int c = 0;
    if (qry__udom_value(x, &vx, &sx, &st) == 0 && qry__udom_value(y, &vy, &sy, &st) == 0)
        c = bsonu_compare_value(&vx, &vy);
    bson_destroy(&sx);
    bson_destroy(&sy);
    return c;
}

typedef struct sort_ctx {
    const uop_t *op;
} sort_ctx_t;

/* elem_cmp -- $push's $sort between two array elements. */
static int elem_cmp(const uop_t *op, const udom_t *x, const udom_t *y)
{
    if (op->sort_mode == 1)
        return op->sort_dir * node_cmp(x, y);
    bson_t sx, sy, ex = BSON_INITIALIZER, ey = BSON_INITIALIZER;
    bson_value_t vx, vy;
    status_t st = STATUS_INIT;
    int c = 0;
    if (qry__udom_value(x, &vx, &sx, &st) == 0 && qry__udom_value(y, &vy, &sy, &st) == 0) {
        bson_t dx, dy;
        const bson_t *px = &ex, *py = &ey;
        if (vx.value_type == BSON_TYPE_DOCUMENT &&
            bson_init_static(&dx, vx.value.v_doc.data, vx.value.v_doc.data_len))
            px = &dx;
        if (vy.value_type == BSON_TYPE_DOCUMENT &&
            bson_init_static(&dy, vy.value.v_doc.data, vy.value.v_doc.data_len))
            py = &dy;
        c = qry_sort_compare(op->sort, px, py);
    }
    bson_destroy(&sx);
    bson_destroy(&sy);
    return c;
}

/* stable insertion-merge sort of array children (arrays in documents are small). */
static void sort_kids(const uop_t *op, udom_t **kids, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_kids(op, kids, h);
    sort_kids(op, kids + h, n - h);
    udom_t **tmp = bson_malloc(n * sizeof *tmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = elem_cmp(op, kids[j], kids[i]) < 0 ? kids[j++] : kids[i++];
    while (i < h)
        tmp[k++] = kids[i++];
    while (j < n)
        tmp[k++] = kids[j++];
    memcpy(kids, tmp, n * sizeof *tmp);
    bson_free(tmp);
}

/* node_digest -- serialise a node for before/after comparison. */
static void node_bytes(const udom_t *n, bson_t *out)
{
    status_t st = STATUS_INIT;
    bson_init(out);
    if (n->expanded)
        qry__udom_write_children(n, out, 0, &st);
    else
        bson_append_value(out, "v", 1, &n->val);
}

static bool bytes_equal(const bson_t *x, const bson_t *y)
{
    return x->len == y->len && memcmp(bson_get_data(x), bson_get_data(y), x->len) == 0;
}

/* each_values -- the values $push/$addToSet add: $each's elements or the one argument. */
static void add_values(const uop_t *op, udom_t *arr)
{
    if (op->has_each) {
        bson_t d;
        bson_iter_t it;
        qry__view(op->each.value.v_doc.data, op->each.value.v_doc.data_len, &d);
        bson_iter_init(&it, &d);
        while (bson_iter_next(&it))
            qry__udom_append(arr, qry__udom_new_value("", bson_iter_value(&it)));
    } else {
        qry__udom_append(arr, qry__udom_new_value("", &op->arg));
    }
}

static int leaf_push(actx_t *a, const uop_t *op, udom_t *parent, const char *name, udom_t *child)
{
    bool created = false;
    if (!child) {
        child = qry__udom_new(name, BSON_TYPE_ARRAY);
        ST_RET(place(a, parent, name, child));
        created = true;
    } else {
        ST_RET(qry__udom_expand(child, a->st));
    }
    if (child->type != BSON_TYPE_ARRAY) {
        char *id = id_desc(a);
        if (op->kind == U_PUSH)
            status_set(a->st, ERR_BadValue,
                       "The field '%s' must be an array but is of type %s in document %s", name,
                       bsonu_type_name(child->type), id);
        else
            status_set(a->st, ERR_BadValue,
                       "Cannot apply $addToSet to non-array field. Field named '%s' has non-array "
                       "type %s",
                       name, bsonu_type_name(child->type));
        bson_free(id);
        return a->st->code;
    }
    bson_t before;
    node_bytes(child, &before);
    udom_t *add = qry__udom_new("", BSON_TYPE_ARRAY);
    add_values(op, add);
    if (op->kind == U_ADDTOSET) {
        for (size_t i = 0; i < add->n; i++) {
            bool dup = false;
            for (size_t j = 0; j < child->n && !dup; j++)
                dup = node_cmp(child->kids[j], add->kids[i]) == 0;
            if (!dup)
                qry__udom_append(child, qry__udom_new_value("", &add->kids[i]->val));
        }
    } else {
        size_t pos = child->n;
        if (op->has_position) {
            int64_t p = op->position;
            if (p < 0)
                pos = (size_t)(-p) >= child->n ? 0 : child->n - (size_t)(-p);
            else if ((uint64_t)p < child->n)
                pos = (size_t)p;
        }
        for (size_t i = 0; i < add->n; i++) {
            qry__udom_insert(child, pos + i, add->kids[i]);
            add->kids[i] = NULL;
        }
        add->n = 0;
        if (op->sort_mode)
            sort_kids(op, child->kids, child->n);
        if (op->has_slice) {
            int64_t s = op->slice;
            if (s >= 0) {
                while (child->n > (uint64_t)s)
                    qry__udom_free(qry__udom_remove(child, child->n - 1));
            } else {
                while (child->n > (uint64_t)(-(s + 1)) + 1)
                    qry__udom_free(qry__udom_remove(child, 0));
            }
        }
    }
    qry__udom_free(add);
    bson_t after;
    node_bytes(child, &after);
    if (created || !bytes_equal(&before, &after))
        record(a);
    bson_destroy(&before);
    bson_destroy(&after);
    return 0;
}

/*
 * match_view -- qry_match_eval on a static view of b's bytes. Matchers are
 * only ever handed read-only views, so a built document is passed the same
 * way as one read from storage.
 */
static bool match_view(const qry_match_t *m, const bson_t *b)
{
    bson_t view;
    if (!bson_init_static(&view, bson_get_data(b), b->len))
        return false;
    return qry_match_eval(m, &view, NULL);
}

/* pull_matches -- whether array element e satisfies $pull's condition. */
static bool pull_matches(const uop_t *op, const udom_t *e)
{
    bson_t scratch;
    bson_value_t v;
    status_t st = STATUS_INIT;
    bool m = false;
    if (qry__udom_value(e, &v, &scratch, &st) != 0) {
        bson_destroy(&scratch);
        return false;
    }
    if (op->kind == U_PULLALL) {
        bson_t d;
        bson_iter_t it;
        qry__view(op->arg.value.v_doc.data, op->arg.value.v_doc.data_len, &d);
        bson_iter_init(&it, &d);
        while (!m && bson_iter_next(&it))
            m = bsonu_equal_value(bson_iter_value(&it), &v);
    } else if (op->pull_doc) {
        bson_t d;
        if (v.value_type == BSON_TYPE_DOCUMENT &&
            bson_init_static(&d, v.value.v_doc.data, v.value.v_doc.data_len))
            m = qry_match_eval(op->pull_m, &d, NULL);
    } else if (op->pull_wrap) {
        bson_t w = BSON_INITIALIZER;
        bson_append_value(&w, "v", 1, &v);
        m = match_view(op->pull_m, &w);
        bson_destroy(&w);
    } else {
        m = bsonu_equal_value(&op->arg, &v);
    }
    bson_destroy(&scratch);
    return m;
}

static int leaf_pull(actx_t *a, const uop_t *op, udom_t *parent, const char *name, udom_t *child)
{
    if (!child)
        return 0;
    ST_RET(qry__udom_expand(child, a->st));
    if (child->type != BSON_TYPE_ARRAY)
        return status_set(a->st, ERR_BadValue, "Cannot apply %s to a non-array value",
                          op->kind == U_PULLALL ? "$pullAll" : "$pull");
    bool changed = false;
    for (size_t i = 0; i < child->n;) {
        if (pull_matches(op, child->kids[i])) {
            qry__udom_free(qry__udom_remove(child, i));
            changed = true;
        } else {
            i++;
        }
    }
    if (changed)
        record(a);
    return 0;
}

static int leaf_pop(actx_t *a, const uop_t *op, udom_t *parent, const char *name, udom_t *child)
{
    if (!child)
        return 0;
    ST_RET(qry__udom_expand(child, a->st));
    if (child->type != BSON_TYPE_ARRAY)
        return status_set(a->st, ERR_TypeMismatch,
                          "Path '%s' contains an element of non-array type '%s'",
                          a->depth ? a->comps[a->depth - 1] : name, bsonu_type_name(child->type));
    if (child->n == 0)
        return 0;
    qry__udom_free(qry__udom_remove(child, op->pop_dir > 0 ? child->n - 1 : 0));
    record(a);
    return 0;
}

static int leaf_unset(actx_t *a, udom_t *parent, const char *name, udom_t *child, size_t pos)
{
    if (!child)
        return 0;
    if (parent->type == BSON_TYPE_ARRAY) {
        /* unsetting an array element leaves a null in its place */
        bson_value_t null_v = {.value_type = BSON_TYPE_NULL};
        return set_leaf(a, parent, name, child, &null_v);
    }
    qry__udom_free(qry__udom_remove(parent, pos));
    record(a);
    return 0;
}

/* do_leaf -- apply op to parent[name] (child: the existing node or NULL; pos: its index). */
static int do_leaf(actx_t *a, const uop_t *op, const bson_value_t *setv, udom_t *parent,
                   const char *name, udom_t *child, size_t pos)
{
    switch (op->kind) {
    case U_SET:
    case U_SETONINSERT:
        return set_leaf(a, parent, name, child, setv ? setv : &op->arg);
    case U_RENAME:
        return set_leaf(a, parent, name, child, setv);
    case U_UNSET:
        return leaf_unset(a, parent, name, child, pos);
    case U_INC:
    case U_MUL:
        return leaf_arith(a, op, parent, name, child);
    case U_MIN:
    case U_MAX:
        return leaf_minmax(a, op, parent, name, child);
    case U_CURDATE:
        return leaf_curdate(a, op, parent, name, child);
    case U_PUSH:
    case U_ADDTOSET:
        return leaf_push(a, op, parent, name, child);
    case U_POP:
        return leaf_pop(a, op, parent, name, child);
    case U_PULL:
    case U_PULLALL:
        return leaf_pull(a, op, parent, name, child);
    case U_BIT:
        return leaf_bit(a, op, parent, name, child);
    }
    return 0;
}

/* creates -- whether the operator creates missing fields on its path. */
static bool creates(ukind_t k)
{
    return k != U_UNSET && k != U_POP && k != U_PULL && k != U_PULLALL;
}

/* filter_matches -- whether element e passes the array filter named id. */
static bool filter_matches(const actx_t *a, const char *id, const udom_t *e)
{
    for (size_t f = 0; f < a->u->nfilters; f++) {
        if (strcmp(a->u->filters[f].id, id) != 0)
            continue;
        bson_t scratch, w = BSON_INITIALIZER;
        bson_value_t v;
        status_t st = STATUS_INIT;
        bool m = false;
        if (qry__udom_value(e, &v, &scratch, &st) == 0) {
            bson_append_value(&w, id, -1, &v);
            m = match_view(a->u->filters[f].m, &w);
        }
        bson_destroy(&w);
        bson_destroy(&scratch);
        return m;
    }
    return false;
}

/* prefix_text -- the written path up to component i (exclusive), for messages. */
static char *prefix_text(const upath_t *p, size_t n)
{
    bson_string_t *s = bson_string_new(NULL);
    for (size_t i = 0; i < n; i++) {
        char buf[280];
        if (p->kind[i] == UC_POS)
            snprintf(buf, sizeof buf, "$");
        else if (p->kind[i] == UC_ALL)
            snprintf(buf, sizeof buf, "$[]");
        else if (p->kind[i] == UC_FILTER)
            snprintf(buf, sizeof buf, "$[%s]", p->comp[i]);
        else
            snprintf(buf, sizeof buf, "%s", p->comp[i]);
        if (i)
            bson_string_append_c(s, '.');
        bson_string_append(s, buf);
    }
    return bson_string_free(s, false);
}

static int not_viable(actx_t *a, const char *field, const udom_t *elem)
{
    char *e = qry__fmt_node(elem);
    status_set(a->st, ERR_PathNotViable, "Cannot create field '%s' in element %s", field, e);
    bson_free(e);
    return a->st->code;
}

static int walk(actx_t *a, const uop_t *op, const upath_t *p, const bson_value_t *setv, udom_t *cur,
                size_t i);

/* descend -- go on from child (found at cur[name]) to component i + 1. */
static int descend(actx_t *a, const uop_t *op, const upath_t *p, const bson_value_t *setv,
                   udom_t *cur, const char *name, udom_t *child, size_t pos, size_t i)
{
    bool create = creates(op->kind);
    int ret = 0;
    ST_RET(push_comp(a, name, a->st));
    if (i + 1 == p->n) {
        ret = do_leaf(a, op, setv, cur, name, child, pos);
    } else if (!child) {
        if (create) {
            for (size_t j = i + 1; j < p->n; j++) {
                if (p->kind[j] == UC_ALL || p->kind[j] == UC_FILTER) {
                    char *t = prefix_text(p, j);
                    status_set(a->st, ERR_BadValue,
                               "The path '%s' must exist in the document in order to apply array "
                               "updates.",
                               t);
                    bson_free(t);
                    a->depth--;
                    return a->st->code;
                }
            }
            udom_t *nd = qry__udom_new(name, BSON_TYPE_DOCUMENT);
            ret = place(a, cur, name, nd);
            if (ret == 0)
                ret = walk(a, op, p, setv, nd, i + 1);
        }
    } else if (child->type == BSON_TYPE_DOCUMENT || child->type == BSON_TYPE_ARRAY) {
        ret = walk(a, op, p, setv, child, i + 1);
    } else if (p->kind[i + 1] == UC_ALL || p->kind[i + 1] == UC_FILTER) {
        char *e = qry__fmt_node(child);
        status_set(a->st, ERR_BadValue, "Cannot apply array updates to non-array element %s", e);
        bson_free(e);
        ret = a->st->code;
    } else if (create) {
        char buf[280];
        comp_text_of(p, i + 1, buf, sizeof buf);
        ret = not_viable(a, buf, child);
    }
    a->depth--;
    return ret;
}

static int walk(actx_t *a, const uop_t *op, const upath_t *p, const bson_value_t *setv, udom_t *cur,
                size_t i)
{
    ST_RET(qry__udom_expand(cur, a->st));
    int kind = p->kind[i];
    const char *comp = p->comp[i];
    if (kind == UC_POS) {
        comp = a->pos;
        kind = UC_FIELD;
    }
    if (kind == UC_ALL || kind == UC_FILTER) {
        if (cur->type != BSON_TYPE_ARRAY) {
            char *e = qry__fmt_node(cur);
            status_set(a->st, ERR_BadValue, "Cannot apply array updates to non-array element %s",
                       e);
            bson_free(e);
            return a->st->code;
        }
        for (size_t j = 0; j < cur->n; j++) {
            if (kind == UC_FILTER && !filter_matches(a, comp, cur->kids[j]))
                continue;
            char *idx = a->compbuf[a->depth];
            snprintf(idx, sizeof a->compbuf[0], "%zu", j);
            ST_RET(descend(a, op, p, setv, cur, idx, cur->kids[j], j, i));
        }
        return 0;
    }
    if (cur->type == BSON_TYPE_ARRAY) {
        size_t idx;
        if (!qry__upd_is_index(comp, &idx)) {
            if (!creates(op->kind))
                return 0;
            return not_viable(a, comp, cur);
        }
        udom_t *child = idx < cur->n ? cur->kids[idx] : NULL;
        return descend(a, op, p, setv, cur, comp, child, idx, i);
    }
    size_t pos = 0;
    udom_t *child = qry__udom_find(cur, comp, &pos);
    return descend(a, op, p, setv, cur, comp, child, pos, i);
}

/* ------------------------------------------------------------------------ */
/* $rename                                                                  */
/* ------------------------------------------------------------------------ */

/* rename_op -- move the value at op->path to op->to; neither may go through an array. */
static int rename_op(actx_t *a, const uop_t *op, udom_t *root)
{
    udom_t *cur = root, *parent = NULL;
    size_t pos = 0;
    for (size_t i = 0; i < op->path.n; i++) {
        ST_RET(qry__udom_expand(cur, a->st));
        if (cur->type == BSON_TYPE_ARRAY) {
            char *e = qry__fmt_node(cur);
            status_set(a->st, ERR_BadValue,
                       "The source field cannot be an array element, '%s' in doc with %s has an "
                       "array field called '%s'",
                       op->path.dotted, e, cur->name);
            bson_free(e);
            return a->st->code;
        }
        udom_t *child = qry__udom_find(cur, op->path.comp[i], &pos);
        if (!child)
            return 0;
        if (i + 1 < op->path.n && child->type != BSON_TYPE_DOCUMENT &&
            child->type != BSON_TYPE_ARRAY)
            return 0;
        parent = cur;
        cur = child;
    }
    /* the destination may not pass through an array either */
    udom_t *d = root;
    for (size_t i = 0; i + 1 < op->to.n && d; i++) {
        ST_RET(qry__udom_expand(d, a->st));
        udom_t *c = qry__udom_find(d, op->to.comp[i], NULL);
        if (c && c->type == BSON_TYPE_ARRAY) {
            char *e = qry__fmt_node(c);
            status_set(a->st, ERR_BadValue,
                       "The destination field cannot be an array element, '%s' in doc with %s "
                       "has an array field called '%s'",
                       op->to.dotted, e, c->name);
            bson_free(e);
            return a->st->code;
        }
        d = c && c->type == BSON_TYPE_DOCUMENT ? c : NULL;
    }
    udom_t *moved = qry__udom_remove(parent, pos);
    bson_t scratch;
    bson_value_t v;
    int ret = qry__udom_value(moved, &v, &scratch, a->st);
    if (ret == 0) {
        a->depth = 0;
        ST_RET(push_comp(a, op->path.dotted, a->st));
        record(a);
        a->depth = 0;
        ret = walk(a, op, &op->to, &v, root, 0);
    }
    bson_destroy(&scratch);
    qry__udom_free(moved);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                             */
/* ------------------------------------------------------------------------ */

/* id_first -- move _id to the front of a document node (inserted documents). */
static void id_first(udom_t *root)
{
    size_t pos;
    if (qry__udom_find(root, "_id", &pos) && pos > 0)
        qry__udom_insert(root, 0, qry__udom_remove(root, pos));
}

static void result_init(qry_update_result_t *res)
{
    memset(res, 0, sizeof *res);
    bson_init(&res->doc);
}

static void add_path(qry_update_result_t *res, const char *p)
{
    res->paths = bson_realloc(res->paths, (res->npaths + 1) * sizeof *res->paths);
    res->paths[res->npaths++] = bson_strdup(p);
}

/* apply_replacement -- the replacement document, keeping the original _id. */
static int apply_replacement(const qry_update_t *u, const bson_t *doc, qry_update_result_t *res,
                             status_t *st)
{
    bson_iter_t oid, nid;
    bool has_old = bson_iter_init_find(&oid, doc, "_id");
    bool has_new = bson_iter_init_find(&nid, u->repl, "_id");
    if (has_old && has_new && !bsonu_equal_value(bson_iter_value(&oid), bson_iter_value(&nid))) {
        char *v = qry__fmt_value(bson_iter_value(&nid));
        status_set(st, ERR_ImmutableField,
                   "After applying the update, the (immutable) field '_id' was found to have been "
                   "altered to _id: %s",
                   v);
        bson_free(v);
        return st->code;
    }
    if (has_old && !has_new)
        bson_append_value(&res->doc, "_id", 3, bson_iter_value(&oid));
    bson_concat(&res->doc, u->repl);
    /* changed paths: top-level fields removed, added or altered */
    bson_iter_t it, f;
    bson_iter_init(&it, doc);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!bson_iter_init_find(&f, &res->doc, k) ||
            !qry__value_same(bson_iter_value(&it), bson_iter_value(&f)))
            add_path(res, k);
    }
    bson_iter_init(&it, &res->doc);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!bson_iter_init_find(&f, doc, k))
            add_path(res, k);
    }
    res->changed = !(doc->len == res->doc.len &&
                     memcmp(bson_get_data(doc), bson_get_data(&res->doc), doc->len) == 0);
    return 0;
}

/* touches_id -- the first operation path (source or destination) that starts at _id. */
static const char *touches_id(const qry_update_t *u)
{
    for (size_t i = 0; i < u->nops; i++) {
        const upath_t *ps[2] = {&u->ops[i].path, &u->ops[i].to};
        for (int k = 0; k < 2; k++)
            if (ps[k]->n && ps[k]->kind[0] == UC_FIELD && strcmp(ps[k]->comp[0], "_id") == 0)
                return ps[k]->dotted;
    }
    return NULL;
}

/* check_id -- ImmutableField if _id of before and after differ. */
static int check_id(const qry_update_t *u, const bson_t *before, const bson_t *after, status_t *st)
{
    bson_iter_t oid, nid;
    if (!bson_iter_init_find(&oid, before, "_id"))
        return 0;
    bool has_new = bson_iter_init_find(&nid, after, "_id");
    if (has_new && qry__value_same(bson_iter_value(&oid), bson_iter_value(&nid)))
        return 0;
    const char *p = touches_id(u);
    return status_set(st, ERR_ImmutableField,
                      "Performing an update on the path '%s' would modify the immutable field "
                      "'_id'",
                      p ? p : "_id");
}

/* qry_update_apply -- apply a plan to doc; res is initialised here. */
int qry_update_apply(const qry_update_t *u, const bson_t *doc, const qry_update_ctx_t *ctx,
                     qry_update_result_t *res, status_t *st)
{
    static const qry_update_ctx_t defctx = QRY_UPDATE_CTX_INIT;
    result_init(res);
    if (!ctx)
        ctx = &defctx;
    if (u->replacement)
        return apply_replacement(u, doc, res, st);

    actx_t *a = bson_malloc0(sizeof *a);
    a->u = u;
    a->c = ctx;
    a->st = st;
    a->orig = doc;
    udom_t *root = NULL;
    int ret = 0;
    if (u->positional) {
        if (ctx->matched_index < 0) {
            ret = status_set(st, ERR_BadValue,
                             "The positional operator did not find the match needed from the "
                             "query.");
            goto err;
        }
        snprintf(a->pos, sizeof a->pos, "%d", (int)ctx->matched_index);
    }
    ST_ERR(qry__udom_from_bson(doc, &root, st));
    for (size_t i = 0; i < u->nops; i++) {
        const uop_t *op = &u->ops[i];
        if (op->kind == U_SETONINSERT && !ctx->is_insert)
            continue;
        a->depth = 0;
        if (op->kind == U_RENAME)
            ST_ERR(rename_op(a, op, root));
        else
            ST_ERR(walk(a, op, &op->path, NULL, root, 0));
    }
    if (ctx->is_insert)
        id_first(root);
    ST_ERR(qry__udom_to_bson(root, &res->doc, st));
    if (!ctx->is_insert)
        ST_ERR(check_id(u, doc, &res->doc, st));
    res->changed = !(doc->len == res->doc.len &&
                     memcmp(bson_get_data(doc), bson_get_data(&res->doc), doc->len) == 0);
    res->paths = a->paths;
    res->npaths = a->npaths;
    a->paths = NULL;
    a->npaths = 0;
err:
    for (size_t i = 0; i < a->npaths; i++)
        bson_free(a->paths[i]);
    bson_free(a->paths);
    bson_free(a);
    qry__udom_free(root);
    return ret;
}

/* qry_update_result_destroy -- free a result's document and paths. */
void qry_update_result_destroy(qry_update_result_t *res)
{
    if (!res)
        return;
    bson_destroy(&res->doc);
    for (size_t i = 0; i < res->npaths; i++)
        bson_free(res->paths[i]);
    bson_free(res->paths);
    res->paths = NULL;
    res->npaths = 0;
    bson_init(&res->doc);
}

/* seed_put -- add one equality (path = value) to the seed tree. */
static int seed_put(void *arg, const char *path, const bson_value_t *value, status_t *st)
{
    udom_t *cur = arg;
    const char *start = path;
    for (;;) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        char *name = bson_strndup(start, len);
        if (name[0] == '$') {
            /* positional and operator components cannot seed a document */
            bson_free(name);
            return 0;
        }
        int ret = qry__udom_expand(cur, st);
        if (ret) {
            bson_free(name);
            return ret;
        }
        udom_t *child = qry__udom_find(cur, name, NULL);
        if (!dot) {
            if (child) {
                bson_free(name);
                return status_set(st, ERR_NotSingleValueField,
                                  "cannot infer query fields to set, path '%s' is matched twice",
                                  path);
            }
            qry__udom_append(cur, qry__udom_new_value(name, value));
            bson_free(name);
            return 0;
        }
        if (!child) {
            child = qry__udom_new(name, BSON_TYPE_DOCUMENT);
            qry__udom_append(cur, child);
        } else if (child->type != BSON_TYPE_DOCUMENT) {
            bson_free(name);
            return status_set(st, ERR_NotExactValueField,
                              "cannot infer query fields to set, both paths '%s' and '%.*s' are "
                              "matched",
                              path, (int)(dot - path), path);
        }
        bson_free(name);
        cur = child;
        start = dot + 1;
    }
}

/* qry_update_upsert_seed -- the query's equality clauses as a document, _id first. */
int qry_update_upsert_seed(const bson_t *query, bson_t *out, status_t *st)
{
    qry_match_t *m = NULL;
    udom_t *root = qry__udom_new("", BSON_TYPE_DOCUMENT);
    int ret = 0;
    bson_init(out);
    ST_ERR(qry_match_parse(query, NULL, &m, st));
    ST_ERR(qry_match_equalities(m, seed_put, root, st));
    id_first(root);
    ST_ERR(qry__udom_to_bson(root, out, st));
err:
    qry_match_destroy(m);
    qry__udom_free(root);
    return ret;
}

/*
 * id_subpath -- a replacement upsert takes only _id from the query, and only
 * as a whole: an equality on a part of it ({"_id.x": 1}) is MongoDB's
 * NotExactValueField for the immutable path _id.
 */
static int id_subpath(void *arg, const char *path, const bson_value_t *value, status_t *st)
{
    (void)arg;
    (void)value;
    if (strncmp(path, "_id.", 4) == 0)
        return status_set(st, ERR_NotExactValueField,
                          "field at '_id' must be exactly specified, field at sub-path '%s'found",
                          path);
    return 0;
}

/* qry_update_upsert -- the document an upsert inserts. */
int qry_update_upsert(const qry_update_t *u, const bson_t *query, const qry_update_ctx_t *ctx,
                      qry_update_result_t *res, status_t *st)
{
    static const qry_update_ctx_t defctx = QRY_UPDATE_CTX_INIT;
    bson_t seed;
    int ret = 0;
    if (!ctx)
        ctx = &defctx;
    result_init(res);
    ST_ERR(qry_update_upsert_seed(query, &seed, st));
    if (u->replacement) {
        bson_t only_id = BSON_INITIALIZER;
        bson_iter_t it;
        qry_match_t *m = NULL;
        ret = qry_match_parse(query, NULL, &m, st);
        if (ret == 0)
            ret = qry_match_equalities(m, id_subpath, NULL, st);
        qry_match_destroy(m);
        if (ret != 0) {
            bson_destroy(&only_id);
            goto err;
        }
        if (bson_iter_init_find(&it, &seed, "_id"))
            bson_append_value(&only_id, "_id", 3, bson_iter_value(&it));
        bson_destroy(&res->doc);
        ret = apply_replacement(u, &only_id, res, st);
        bson_destroy(&only_id);
        if (ret)
            goto err;
    } else {
        qry_update_ctx_t c = *ctx;
        c.is_insert = true;
        bson_destroy(&res->doc);
        ST_ERR(qry_update_apply(u, &seed, &c, res, st));
        ST_ERR(check_id(u, &seed, &res->doc, st));
    }
    res->changed = true;
err:
    bson_destroy(&seed);
    return ret;
}
