/*
 * update.c -- MongoDB's update operators: parse an update document (and its
 * arrayFilters) once into a plan of operations, then apply the plan to
 * documents.
 *
 * A plan is a list of (operator, path, argument) operations. Parsing checks
 * everything that does not depend on the document: operator names, argument
 * types, path syntax, conflicting paths (ConflictingUpdateOperators 40),
 * array filter identifiers. Operations are then ordered by path (MongoDB 5.0+
 * applies fields in lexicographic order, numeric components numerically), so
 * new fields are appended in that order.
 *
 * Applying reads the document into the mutable tree of update_dom.c, walks
 * each operation's path (creating intermediate documents, padding arrays,
 * expanding `$`, `$[]` and `$[id]`), edits the leaf, and writes the tree back.
 * Each operation records the concrete paths it changed; no-op detection
 * compares values bit for bit, as MongoDB does for nModified.
 */
#include "query/update_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    ukind_t kind;
} upd_ops[] = {
    {"$set", U_SET},
    {"$unset", U_UNSET},
    {"$inc", U_INC},
    {"$mul", U_MUL},
    {"$min", U_MIN},
    {"$max", U_MAX},
    {"$rename", U_RENAME},
    {"$currentDate", U_CURDATE},
    {"$setOnInsert", U_SETONINSERT},
    {"$push", U_PUSH},
    {"$addToSet", U_ADDTOSET},
    {"$pop", U_POP},
    {"$pull", U_PULL},
    {"$pullAll", U_PULLALL},
    {"$bit", U_BIT},
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

/* qry__upd_is_index -- whether s is an array index (digits only, no sign). */
bool qry__upd_is_index(const char *s, size_t *out)
{
    size_t v = 0;
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *out = v;
    return true;
}

static bool is_number_type(bson_type_t t)
{
    return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE ||
           t == BSON_TYPE_DECIMAL128;
}

/* fmt_field -- "{name: value}" for messages. */
static char *fmt_field(const char *name, const bson_value_t *v)
{
    char *val = qry__fmt_value(v);
    char *r = bson_strdup_printf("{%s: %s}", name, val);
    bson_free(val);
    return r;
}

static void upath_free(upath_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        bson_free(p->comp[i]);
    bson_free(p->comp);
    bson_free(p->kind);
    bson_free(p->dotted);
    memset(p, 0, sizeof *p);
}

/*
 * upath_parse -- split a dotted update path and classify its components.
 * allow_array: whether `$`, `$[]` and `$[id]` may appear ($rename refuses them).
 */
static int upath_parse(const char *s, upath_t *p, status_t *st)
{
    memset(p, 0, sizeof *p);
    p->dotted = bson_strdup(s);
    if (!*s)
        return status_set(st, ERR_EmptyFieldName, "An empty update path is not valid.");
    size_t cap = 1;
    for (const char *c = s; *c; c++)
        cap += *c == '.';
    p->comp = bson_malloc0(cap * sizeof *p->comp);
    p->kind = bson_malloc0(cap);
    const char *start = s;
    int npos = 0;
    for (;;) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        if (len == 0)
            return status_set(st, ERR_EmptyFieldName,
                              "The update path '%s' contains an empty field name, which is not "
                              "allowed.",
                              s);
        char *c = bson_strndup(start, len);
        uint8_t kind = UC_FIELD;
        if (c[0] == '$') {
            if (strcmp(c, "$") == 0) {
                kind = UC_POS;
                npos++;
            } else if (strcmp(c, "$[]") == 0) {
                kind = UC_ALL;
            } else if (len > 3 && c[1] == '[' && c[len - 1] == ']') {
                kind = UC_FILTER;
                memmove(c, c + 2, len - 3);
                c[len - 3] = '\0';
            } else if (p->n > 0 &&
                       (strcmp(c, "$id") == 0 || strcmp(c, "$ref") == 0 || strcmp(c, "$db") == 0)) {
                /* DBRef fields below the top level are plain fields (MongoDB's isDBRefField) */
                kind = UC_FIELD;
            } else {
                p->comp[p->n] = c;
                p->kind[p->n++] = kind;
                return status_set(st, ERR_DollarPrefixedFieldName,
                                  "The dollar ($) prefixed field '%s' in '%s' is not valid for "
                                  "storage.",
                                  c, s);
            }
            if (p->n == 0) {
                bson_free(c);
                return status_set(st, ERR_BadValue,
                                  "Cannot have array filter identifier (i.e. '$[<id>]') element "
                                  "in the first position in path '%s'",
                                  s);
            }
        }
        p->comp[p->n] = c;
        p->kind[p->n++] = kind;
        if (!dot)
            break;
        start = dot + 1;
    }
    if (npos > 1)
        return status_set(st, ERR_BadValue,
                          "Too many positional (i.e. '$') elements found in path '%s'", s);
    return 0;
}

static bool upath_has_array_ops(const upath_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->kind[i] != UC_FIELD)
            return true;
    return false;
}

/* comp_text -- the component as written ("$", "$[]", "$[id]" or the field). */
static void comp_text(const upath_t *p, size_t i, char *buf, size_t len)
{
    switch (p->kind[i]) {
    case UC_POS:
        snprintf(buf, len, "$");
        break;
    case UC_ALL:
        snprintf(buf, len, "$[]");
        break;
    case UC_FILTER:
        snprintf(buf, len, "$[%s]", p->comp[i]);
        break;
    default:
        snprintf(buf, len, "%s", p->comp[i]);
    }
}

/* comp_eq -- two components are the same as written. */
static bool comp_eq(const upath_t *a, size_t i, const upath_t *b, size_t j)
{
    return a->kind[i] == b->kind[j] && strcmp(a->comp[i], b->comp[j]) == 0;
}

/*
 * comp_order -- MongoDB 5.0+ field order: numeric names numerically, other
 * names lexicographically (bytewise).
 */
static int comp_order(const char *a, const char *b)
{
    size_t ia, ib;
    if (qry__upd_is_index(a, &ia) && qry__upd_is_index(b, &ib)) {
        size_t la = strlen(a), lb = strlen(b);
        if (la != lb)
            return la < lb ? -1 : 1;
    }
    return strcmp(a, b);
}

static int upath_order(const upath_t *a, const upath_t *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        char ba[256], bb[256];
        comp_text(a, i, ba, sizeof ba);
        comp_text(b, i, bb, sizeof bb);
        int c = comp_order(a->kind[i] == UC_FIELD ? a->comp[i] : ba,
                           b->kind[i] == UC_FIELD ? b->comp[i] : bb);
        if (c)
            return c;
    }
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

/* prefix_len -- the number of leading components of a that prefix b, or 0 if not a prefix. */
static bool upath_is_prefix(const upath_t *a, const upath_t *b)
{
    if (a->n > b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!comp_eq(a, i, b, i))
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

static void uop_free(uop_t *op)
{
    upath_free(&op->path);
    upath_free(&op->to);
    if (op->arg.value_type)
        bson_value_destroy(&op->arg);
    if (op->has_each)
        bson_value_destroy(&op->each);
    qry_sort_destroy(op->sort);
    qry_match_destroy(op->pull_m);
    for (int i = 0; i < op->nbits; i++)
        bson_value_destroy(&op->bit_val[i]);
}

/* qry_update_destroy -- free a plan (NULL is a no-op). */
void qry_update_destroy(qry_update_t *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->nops; i++)
        uop_free(&u->ops[i]);
    bson_free(u->ops);
    for (size_t i = 0; i < u->nfilters; i++) {
        bson_free(u->filters[i].id);
        qry_match_destroy(u->filters[i].m);
    }
    bson_free(u->filters);
    if (u->repl)
        bson_destroy(u->repl);
    bson_free(u);
}

/* check_conflict -- ConflictingUpdateOperators if p overlaps a path already in the plan. */
static int check_conflict(const qry_update_t *u, const upath_t *p, status_t *st)
{
    for (size_t i = 0; i < u->nops; i++) {
        const upath_t *others[2] = {&u->ops[i].path, &u->ops[i].to};
        for (int k = 0; k < 2; k++) {
            const upath_t *q = others[k];
            if (q->n == 0)
                continue;
            if (upath_is_prefix(q, p))
                return status_set(st, ERR_ConflictingUpdateOperators,
                                  "Updating the path '%s' would create a conflict at '%s'",
                                  p->dotted, q->dotted);
            if (upath_is_prefix(p, q))
                return status_set(st, ERR_ConflictingUpdateOperators,
                                  "Updating the path '%s' would create a conflict at '%s'",
                                  p->dotted, p->dotted);
        }
    }
    return 0;
}

/* parse_int_arg -- an integral number (int32, int64, or integral double) as int64. */
static bool int_arg(const bson_value_t *v, int64_t *out)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        *out = v->value.v_int32;
        return true;
    case BSON_TYPE_INT64:
        *out = v->value.v_int64;
        return true;
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: {
        double d;
        if (!bsonu_number_as_double(v, &d) || d != floor(d) || d < -9.2e18 || d > 9.2e18)
            return false;
        *out = (int64_t)d;
        return true;
    }
    default:
        return false;
    }
}

/* parse_push -- $push / $addToSet argument: a value, or {$each: [...], modifiers}. */
static int parse_push(uop_t *op, const bson_value_t *v, status_t *st)
{
    bool is_push = op->kind == U_PUSH;
    bson_t d;
    bson_iter_t it;
    bool modifier_form = false;
    if (v->value_type == BSON_TYPE_DOCUMENT &&
        bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len) &&
        bson_iter_init_find(&it, &d, "$each"))
        modifier_form = true;
    if (!modifier_form) {
        bson_value_copy(v, &op->arg);
        return 0;
    }
    bson_iter_init(&it, &d);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        const bson_value_t *x = bson_iter_value(&it);
        if (strcmp(k, "$each") == 0) {
            if (x->value_type != BSON_TYPE_ARRAY)
                return status_set(st, ERR_BadValue,
                                  "The argument to $each in %s must be an array but it was of "
                                  "type: %s",
                                  op->opname, bsonu_type_name(x->value_type));
            if (op->has_each) /* a repeated key: the last one wins */
                bson_value_destroy(&op->each);
            bson_value_copy(x, &op->each);
            op->has_each = true;
        } else if (is_push && strcmp(k, "$slice") == 0) {
            if (!int_arg(x, &op->slice))
                return status_set(st, ERR_BadValue,
                                  "The value for $slice must be an integer value but was given "
                                  "type: %s",
                                  bsonu_type_name(x->value_type));
            op->has_slice = true;
        } else if (is_push && strcmp(k, "$position") == 0) {
            if (!int_arg(x, &op->position))
                return status_set(st, ERR_BadValue,
                                  "The value for $position must be an integer value, not of "
                                  "type: %s",
                                  bsonu_type_name(x->value_type));
            op->has_position = true;
        } else if (is_push && strcmp(k, "$sort") == 0) {
            int64_t dir;
            if (x->value_type == BSON_TYPE_DOCUMENT) {
                bson_t spec;
                qry__view(x->value.v_doc.data, x->value.v_doc.data_len, &spec);
                if (bson_empty(&spec))
                    return status_set(st, ERR_BadValue,
                                      "The $sort pattern is empty when it should be a set of "
                                      "fields.");
                bson_iter_t si;
                bson_iter_init(&si, &spec);
                while (bson_iter_next(&si)) {
                    const char *f = bson_iter_key(&si);
                    if (f[0] == '$' || f[0] == '.' || !*f || f[strlen(f) - 1] == '.')
                        return status_set(st, ERR_BadValue,
                                          "The $sort field is a dotted field but has an empty "
                                          "part: %s",
                                          f);
                    int64_t sv;
                    if (!int_arg(bson_iter_value(&si), &sv) || (sv != 1 && sv != -1))
                        return status_set(st, ERR_BadValue,
                                          "The $sort element value must be either 1 or -1");
                }
                qry_sort_destroy(op->sort);
                op->sort = NULL;
                ST_RET(qry_sort_parse(&spec, &op->sort, st));
                op->sort_mode = 2;
            } else if (int_arg(x, &dir) && (dir == 1 || dir == -1)) {
                op->sort_mode = 1;
                op->sort_dir = (int)dir;
            } else {
                return status_set(st, ERR_BadValue,
                                  "The $sort is invalid: use 1/-1 to sort the whole element, or "
                                  "{field:1/-1} to sort embedded fields");
            }
        } else {
            return status_set(st, ERR_BadValue, "Unrecognized clause in %s: %s", op->opname, k);
        }
    }
    return 0;
}

/* parse_bit -- {and: n, or: n, xor: n} with int32/int64 operands. */
static int parse_bit(uop_t *op, const char *field, const bson_value_t *v, status_t *st)
{
    if (v->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, ERR_BadValue,
                          "The $bit modifier is not compatible with a %s. You must pass in an "
                          "embedded document: {$bit: {field: {and/or/xor: #}}",
                          bsonu_type_name(v->value_type));
    bson_t d;
    bson_iter_t it;
    qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &d);
    bson_iter_init(&it, &d);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        const bson_value_t *x = bson_iter_value(&it);
        int bop;
        if (strcmp(k, "and") == 0)
            bop = BIT_AND;
        else if (strcmp(k, "or") == 0)
            bop = BIT_OR;
        else if (strcmp(k, "xor") == 0)
            bop = BIT_XOR;
        else {
            char *f = qry__fmt_value(v);
            status_set(st, ERR_BadValue,
                       "The $bit modifier only supports 'and', 'or', and 'xor', not '%s' which is "
                       "an unknown operator: %s",
                       k, f);
            bson_free(f);
            return st->code;
        }
        if (x->value_type != BSON_TYPE_INT32 && x->value_type != BSON_TYPE_INT64) {
            char *f = qry__fmt_value(v);
            status_set(st, ERR_BadValue,
                       "The $bit modifier field must be an Integer(32/64 bit); a '%s' is not "
                       "supported here: %s",
                       bsonu_type_name(x->value_type), f);
            bson_free(f);
            return st->code;
        }
        if (op->nbits == UOP_MAX_BITS)
            return status_set(st, ERR_BadValue, "too many $bit operations on field '%s'", field);
        op->bit_op[op->nbits] = bop;
        bson_value_copy(x, &op->bit_val[op->nbits++]);
    }
    if (op->nbits == 0)
        return status_set(st, ERR_BadValue,
                          "You must pass in at least one bitwise operation. The format is: "
                          "{$bit: {field: {and/or/xor: #}}");
    return 0;
}

/* wrap_filter -- {v: cond} as a document, for matching values that are not documents. */
static void wrap_value(const bson_value_t *v, bson_t *out)
{
    bson_init(out);
    bson_append_value(out, "v", 1, v);
}

/* parse_pull -- $pull's condition: a value, a query on document elements, or operators. */
static int parse_pull(uop_t *op, const bson_value_t *v, status_t *st)
{
    bson_value_copy(v, &op->arg);
    if (v->value_type != BSON_TYPE_DOCUMENT && v->value_type != BSON_TYPE_REGEX)
        return 0;
    bson_t d, wrapped;
    int ret;
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_t it;
        qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &d);
        if (bson_iter_init(&it, &d) && bson_iter_next(&it) && bson_iter_key(&it)[0] == '$' &&
            strcmp(bson_iter_key(&it), "$and") != 0 && strcmp(bson_iter_key(&it), "$or") != 0 &&
            strcmp(bson_iter_key(&it), "$nor") != 0 && strcmp(bson_iter_key(&it), "$expr") != 0) {
            op->pull_wrap = true;
        } else {
            op->pull_doc = true;
            return qry_match_parse(&d, NULL, &op->pull_m, st);
        }
    } else {
        op->pull_wrap = true;
    }
    wrap_value(v, &wrapped);
    ret = qry_match_parse(&wrapped, NULL, &op->pull_m, st);
    bson_destroy(&wrapped);
    return ret;
}

/* parse_field -- one field of one operator's argument document. */
static int parse_field(qry_update_t *u, ukind_t kind, const char *opname, const char *field,
                       const bson_value_t *v, status_t *st)
{
    if (u->nops == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 8;
        u->ops = bson_realloc(u->ops, u->cap * sizeof *u->ops);
    }
    uop_t *op = &u->ops[u->nops];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->opname = opname;
    int ret = upath_parse(field, &op->path, st);
    if (ret == 0)
        ret = check_conflict(u, &op->path, st);
    if (ret != 0)
        goto err;

    switch (kind) {
    case U_SET:
    case U_SETONINSERT:
    case U_MIN:
    case U_MAX:
    case U_UNSET:
        bson_value_copy(v, &op->arg);
        break;
    case U_INC:
    case U_MUL:
        if (!is_number_type(v->value_type)) {
            char *f = fmt_field(field, v);
            status_set(st, ERR_TypeMismatch, "Cannot %s with non-numeric argument: %s",
                       kind == U_INC ? "increment" : "multiply", f);
            bson_free(f);
            ret = st->code;
            goto err;
        }
        bson_value_copy(v, &op->arg);
        break;
    case U_CURDATE: {
        bool ok = v->value_type == BSON_TYPE_BOOL;
        if (v->value_type == BSON_TYPE_DOCUMENT) {
            bson_t d;
            bson_iter_t it;
            qry__view(v->value.v_doc.data, v->value.v_doc.data_len, &d);
            if (!bson_iter_init(&it, &d) || !bson_iter_next(&it) ||
                strcmp(bson_iter_key(&it), "$type") != 0 || !BSON_ITER_HOLDS_UTF8(&it) ||
                bson_iter_next(&it)) {
                ret = status_set(st, ERR_BadValue,
                                 "The only valid field of the option is '$type': "
                                 "{$currentDate: {field : {$type: 'date/timestamp'}}}");
                goto err;
            }
            bson_iter_init_find(&it, &d, "$type");
            const char *t = bson_iter_utf8(&it, NULL);
            if (strcmp(t, "timestamp") == 0)
                op->cur_ts = true;
            else if (strcmp(t, "date") != 0) {
                ret = status_set(st, ERR_BadValue,
                                 "The '$type' string field is required to be 'date' or "
                                 "'timestamp': {$currentDate: {field : {$type: 'date'}}}");
                goto err;
            }
            ok = true;
        }
        if (!ok) {
            ret = status_set(st, ERR_BadValue,
                             "%s is not valid type for $currentDate. Please use a boolean ('true') "
                             "or a $type expression ({$type: 'timestamp/date'}).",
                             bsonu_type_name(v->value_type));
            goto err;
        }
        break;
    }
    case U_RENAME: {
        if (v->value_type != BSON_TYPE_UTF8) {
            char *f = fmt_field(field, v);
            status_set(st, ERR_BadValue, "The 'to' field for $rename must be a string: %s", f);
            bson_free(f);
            ret = st->code;
            goto err;
        }
        if (upath_has_array_ops(&op->path)) {
            ret = status_set(st, ERR_BadValue,
                             "The source field for $rename may not be dynamic: %s", field);
            goto err;
        }
        if ((ret = upath_parse(v->value.v_utf8.str, &op->to, st)) != 0)
            goto err;
        if (upath_has_array_ops(&op->to)) {
            ret = status_set(st, ERR_BadValue,
                             "The destination field for $rename may not be dynamic: %s",
                             v->value.v_utf8.str);
            goto err;
        }
        if (strcmp(field, v->value.v_utf8.str) == 0) {
            ret = status_set(st, ERR_BadValue,
                             "The source and target field for $rename must differ: %s: \"%s\"",
                             field, v->value.v_utf8.str);
            goto err;
        }
        if (upath_is_prefix(&op->path, &op->to) || upath_is_prefix(&op->to, &op->path)) {
            ret = status_set(st, ERR_BadValue,
                             "The source and target field for $rename must not be on the same "
                             "path: %s: \"%s\"",
                             field, v->value.v_utf8.str);
            goto err;
        }
        if ((ret = check_conflict(u, &op->to, st)) != 0)
            goto err;
        break;
    }
    case U_PUSH:
    case U_ADDTOSET:
        if ((ret = parse_push(op, v, st)) != 0)
            goto err;
        break;
    case U_POP: {
        double d;
        if (!bsonu_number_as_double(v, &d)) {
            char *f = fmt_field(field, v);
            status_set(st, ERR_FailedToParse, "Expected a number in: %s", f);
            bson_free(f);
            ret = st->code;
            goto err;
        }
        if (d != 1 && d != -1) {
            char *f = qry__fmt_value(v);
            status_set(st, ERR_FailedToParse, "$pop expects 1 or -1, found: %s", f);
            bson_free(f);
            ret = st->code;
            goto err;
        }
        op->pop_dir = d > 0 ? 1 : -1;
        break;
    }
    case U_PULL:
        if ((ret = parse_pull(op, v, st)) != 0)
            goto err;
        break;
    case U_PULLALL:
        if (v->value_type != BSON_TYPE_ARRAY) {
            ret = status_set(st, ERR_BadValue,
                             "$pullAll requires an array argument but was given a %s",
                             bsonu_type_name(v->value_type));
            goto err;
        }
        bson_value_copy(v, &op->arg);
        break;
    case U_BIT:
        if ((ret = parse_bit(op, field, v, st)) != 0)
            goto err;
        break;
    }
    for (size_t i = 0; i < op->path.n; i++)
        if (op->path.kind[i] == UC_POS)
            u->positional = true;
    u->nops++;
    return 0;
err:
    uop_free(op);
    return ret;
}

/* parse_filters -- arrayFilters: [{x: cond}, {"y.a": cond, "y.b": cond}, ...]. */
static int parse_filters(qry_update_t *u, const bson_t *af, status_t *st)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, af))
        return status_set(st, ERR_InvalidBSON, "invalid arrayFilters");
    uint32_t n = bson_count_keys(af);
    u->filters = bson_malloc0((n ? n : 1) * sizeof *u->filters);
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return status_set(st, ERR_TypeMismatch, "Each array filter must be an object, found %s",
                              bsonu_type_name(bson_iter_type(&it)));
        bson_t f;
        const uint8_t *data;
        uint32_t len;
        bson_iter_document(&it, &len, &data);
        qry__view(data, len, &f);
        char *id = NULL;
        bson_iter_t fi;
        bson_iter_init(&fi, &f);
        while (bson_iter_next(&fi)) {
            const char *k = bson_iter_key(&fi);
            if (k[0] == '$') {
                /* $and/$or/$nor carry no identifier of their own */
                continue;
            }
            const char *dot = strchr(k, '.');
            size_t l = dot ? (size_t)(dot - k) : strlen(k);
            if (!id) {
                id = bson_strndup(k, l);
            } else if (strlen(id) != l || strncmp(id, k, l) != 0) {
                char *other = bson_strndup(k, l);
                status_set(st, ERR_FailedToParse,
                           "Error parsing array filter :: caused by :: Expected a single "
                           "top-level field name, found '%s' and '%s'",
                           id, other);
                bson_free(other);
                bson_free(id);
                return st->code;
            }
        }
        if (!id)
            return status_set(st, ERR_FailedToParse,
                              "Cannot use an expression without a top-level field name in "
                              "arrayFilters");
        bool valid = id[0] >= 'a' && id[0] <= 'z';
        for (const char *c = id; *c && valid; c++)
            valid =
                (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
        if (!valid) {
            status_set(st, ERR_BadValue,
                       "Error parsing array filter :: caused by :: The top-level field name must "
                       "be an alphanumeric string beginning with a lowercase letter, found '%s'",
                       id);
            bson_free(id);
            return st->code;
        }
        for (size_t i = 0; i < u->nfilters; i++) {
            if (strcmp(u->filters[i].id, id) == 0) {
                status_set(st, ERR_FailedToParse,
                           "Found multiple array filters with the same top-level field name %s",
                           id);
                bson_free(id);
                return st->code;
            }
        }
        ufilter_t *uf = &u->filters[u->nfilters++];
        uf->id = id;
        int ret = qry_match_parse(&f, NULL, &uf->m, st);
        if (ret != 0) {
            status_prefix(st, "Error parsing array filter :: caused by :: ");
            return ret;
        }
    }
    return 0;
}

/* op_cmp -- application order: by path (numeric components numerically), then as written. */
static int op_cmp(const void *a, const void *b)
{
    const uop_t *x = a, *y = b;
    return upath_order(&x->path, &y->path);
}

/* qry_update_parse -- parse an update document and its arrayFilters into a plan. */
int qry_update_parse(const bson_t *update, const bson_t *array_filters, qry_update_t **out,
                     status_t *st)
{
    int ret = 0;
    bson_iter_t it;
    qry_update_t *u = bson_malloc0(sizeof *u);
    *out = NULL;
    if (!bson_iter_init(&it, update)) {
        ret = status_set(st, ERR_InvalidBSON, "invalid update document");
        goto err;
    }
    bson_iter_t first = it;
    if (!bson_iter_next(&first) || bson_iter_key(&first)[0] != '$') {
        /* Replacement document: no operators anywhere at the top level. */
        u->replacement = true;
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (k[0] == '$') {
                ret = status_set(st, ERR_DollarPrefixedFieldName,
                                 "The dollar ($) prefixed field '%s' in '%s' is not allowed in "
                                 "the context of an update's replacement document. Consider using "
                                 "an aggregation pipeline with $replaceWith.",
                                 k, k);
                goto err;
            }
        }
        u->repl = bson_copy(update);
    } else {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            size_t i;
            for (i = 0; i < sizeof upd_ops / sizeof upd_ops[0]; i++)
                if (strcmp(k, upd_ops[i].name) == 0)
                    break;
            if (i == sizeof upd_ops / sizeof upd_ops[0]) {
                ret = status_set(st, ERR_FailedToParse,
                                 "Unknown modifier: %s. Expected a valid update modifier or "
                                 "pipeline-style update specified as an array",
                                 k);
                goto err;
            }
            if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
                char *f = qry__fmt_value(bson_iter_value(&it));
                status_set(st, ERR_FailedToParse,
                           "Modifiers operate on fields but we found type %s instead. For "
                           "example: {$mod: {<field>: ...}} not {%s: %s}",
                           bsonu_type_name(bson_iter_type(&it)), k, f);
                bson_free(f);
                ret = st->code;
                goto err;
            }
            bson_iter_t sub;
            bson_iter_recurse(&it, &sub);
            while (bson_iter_next(&sub)) {
                ST_ERR(parse_field(u, upd_ops[i].kind, upd_ops[i].name, bson_iter_key(&sub),
                                   bson_iter_value(&sub), st));
            }
        }
    }
    if (array_filters)
        ST_ERR(parse_filters(u, array_filters, st));
    /* every $[id] must name a filter, every filter must be used */
    for (size_t i = 0; i < u->nops; i++) {
        const upath_t *p = &u->ops[i].path;
        for (size_t j = 0; j < p->n; j++) {
            if (p->kind[j] != UC_FILTER)
                continue;
            size_t f;
            for (f = 0; f < u->nfilters; f++)
                if (strcmp(u->filters[f].id, p->comp[j]) == 0)
                    break;
            if (f == u->nfilters) {
                ret = status_set(st, ERR_BadValue,
                                 "No array filter found for identifier '%s' in path '%s'",
                                 p->comp[j], p->dotted);
                goto err;
            }
            u->filters[f].used = true;
        }
    }
    /* a replacement uses no filters and MongoDB accepts (ignores) them there */
    for (size_t f = 0; f < u->nfilters && !u->replacement; f++) {
        if (!u->filters[f].used) {
            char *j = bson_as_relaxed_extended_json(update, NULL);
            status_set(st, ERR_FailedToParse,
                       "The array filter for identifier '%s' was not used in the update %s",
                       u->filters[f].id, j ? j : "");
            bson_free(j);
            ret = st->code;
            goto err;
        }
    }
    if (u->nops > 1)
        qsort(u->ops, u->nops, sizeof *u->ops, op_cmp);
    *out = u;
    return 0;
err:
    qry_update_destroy(u);
    return ret;
}

/* qry_update_is_replacement -- whether the update is a replacement document. */
bool qry_update_is_replacement(const qry_update_t *u)
{
    return u->replacement;
}

/* qry_update_uses_positional -- whether apply needs ctx->matched_index. */
bool qry_update_uses_positional(const qry_update_t *u)
{
    return u->positional;
}
