/*
 * match_eval.c -- evaluate a parsed match tree against documents.
 *
 * Leaf nodes look at the values their path reaches, exactly as MongoDB's
 * BSONElementIterator yields them (see walk_doc below): a missing field
 * yields "missing" (which null matches), a leaf array yields each element and
 * then the array itself, arrays in the middle of a path are traversed into
 * their document elements, and numeric components also index arrays. Each
 * yielded value carries the index of the element of the first array the walk
 * went through: that is the elemMatchKey reported for positional $.
 *
 * common/'s bsonu_path_walk visits nothing for a missing path, which loses
 * the difference between {a: [1]} and {a: [{}]} for {"a.b": null}; this file
 * keeps a small walker with MongoDB's "yield missing" rule and uses common/'s
 * comparator for every value comparison.
 */
#include "query/query_int.h"

#include <math.h>
#include <string.h>

/*
 * QRY_WALK_MAX_DEPTH -- nested arrays on a path recurse; BSON allows far more
 * nesting than any real query path, so deeper levels read as "no value"
 * instead of risking the stack.
 */
#define QRY_WALK_MAX_DEPTH 200

typedef struct ectx {
    const qry_match_hooks_t *hooks;
    status_t *st;
    int err;
} ectx_t;

static bool eval_node(ectx_t *e, const qry_match_node_t *n, const bson_t *doc,
                      qry_match_details_t *details, int depth);
static bool single(ectx_t *e, const qry_match_node_t *n, const bson_value_t *v, int32_t *inner_key,
                   int depth);

/* Whether v is a NaN double or decimal. */
static bool is_nan(const bson_value_t *v)
{
    if (v->value_type == BSON_TYPE_DOUBLE)
        return isnan(v->value.v_double);
    if (v->value_type == BSON_TYPE_DECIMAL128) {
        bsonu_dec128_parts_t parts;
        bsonu_dec128_decode(&v->value.v_decimal128, &parts);
        return parts.is_nan;
    }
    return false;
}

/* $eq/$lt/$lte/$gt/$gte on one value: same canonical type only, MinKey/MaxKey aside. */
static bool compare_single(const qry_match_node_t *n, const bson_value_t *v)
{
    static const bson_value_t null_value = {.value_type = BSON_TYPE_NULL};
    const bson_value_t *rhs = &n->operand;
    if (v == NULL)
        v = &null_value; /* a missing field compares as null */
    int lt = bsonu_canonical_type(v->value_type);
    int rt = bsonu_canonical_type(rhs->value_type);
    if (lt != rt) {
        /* null and undefined are one bracket for equality */
        if (lt + rt == BSONU_CANON_NULL + BSONU_CANON_UNDEFINED)
            return n->kind == QRY_MATCH_EQ || n->kind == QRY_MATCH_LTE || n->kind == QRY_MATCH_GTE;
        if (rhs->value_type == BSON_TYPE_MAXKEY)
            return n->kind == QRY_MATCH_LT || n->kind == QRY_MATCH_LTE;
        if (rhs->value_type == BSON_TYPE_MINKEY)
            return n->kind == QRY_MATCH_GT || n->kind == QRY_MATCH_GTE;
        return false;
    }
    if (lt == BSONU_CANON_NUMBER && (is_nan(v) || is_nan(rhs))) {
        /* NaN equals NaN and is neither less nor greater than anything */
        bool both = is_nan(v) && is_nan(rhs);
        return both &&
               (n->kind == QRY_MATCH_EQ || n->kind == QRY_MATCH_LTE || n->kind == QRY_MATCH_GTE);
    }
    int c = bsonu_compare_value(v, rhs);
    switch (n->kind) {
    case QRY_MATCH_EQ:
        return c == 0;
    case QRY_MATCH_LT:
        return c < 0;
    case QRY_MATCH_LTE:
        return c <= 0;
    case QRY_MATCH_GT:
        return c > 0;
    case QRY_MATCH_GTE:
        return c >= 0;
    default:
        return false;
    }
}

/* A regex against one value: strings and symbols by pattern, stored regexes by identity. */
static bool regex_single(const qry__regex_t *re, const bson_value_t *v)
{
    if (v == NULL)
        return false;
    switch (v->value_type) {
    case BSON_TYPE_UTF8:
        return qry__regex_match(re, v->value.v_utf8.str, v->value.v_utf8.len);
    case BSON_TYPE_SYMBOL:
        return qry__regex_match(re, v->value.v_symbol.symbol, v->value.v_symbol.len);
    case BSON_TYPE_REGEX:
        return strcmp(v->value.v_regex.regex, qry__regex_pattern(re)) == 0 &&
               strcmp(v->value.v_regex.options, qry__regex_flags(re)) == 0;
    default:
        return false;
    }
}

/* $in on one value. */
static bool in_single(const qry_match_node_t *n, const bson_value_t *v)
{
    if (v == NULL)
        return n->u.in.has_null;
    /* null in $in also matches undefined, as {a: null} does */
    if (v->value_type == BSON_TYPE_UNDEFINED && n->u.in.has_null)
        return true;
    /* members are sorted by bsonu_compare_value; compare == 0 implies one type bracket */
    size_t lo = 0, hi = n->u.in.nvals;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = bsonu_compare_value(&n->u.in.vals[mid], v);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < n->u.in.nregexes; i++)
        if (regex_single(n->u.in.regexes[i], v))
            return true;
    return false;
}

/* $mod on one value: numbers truncated to integers, as MongoDB does. */
static bool mod_single(const qry_match_node_t *n, const bson_value_t *v)
{
    int64_t x = 0;
    double d = 0;
    if (v == NULL || !bsonu_is_number(v->value_type))
        return false;
    if (!bsonu_number_as_int64(v, &x)) {
        if (!bsonu_number_as_double(v, &d) || !isfinite(d))
            return false;
        d = trunc(d);
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
            return false;
        x = (int64_t)d;
    }
    if (n->u.mod.divisor == -1)
        return n->u.mod.remainder == 0; /* avoids INT64_MIN % -1 */
    return x % n->u.mod.divisor == n->u.mod.remainder;
}

/* Bit i of one value: numbers are two's complement, sign-extended past bit 63. */
static bool bit_of(const bson_value_t *v, int64_t num, size_t i)
{
    if (v->value_type == BSON_TYPE_BINARY) {
        if (i / 8 >= v->value.v_binary.data_len)
            return false;
        return (v->value.v_binary.data[i / 8] >> (i % 8)) & 1u;
    }
    if (i >= 64)
        return num < 0;
    return ((uint64_t)num >> i) & 1u;
}

/* $bitsAllSet & co on one value: integral numbers and BinData only. */
static bool bits_single(const qry_match_node_t *n, const bson_value_t *v)
{
    int64_t num = 0;
    if (v == NULL)
        return false;
    if (v->value_type != BSON_TYPE_BINARY) {
        if (!bsonu_is_number(v->value_type) || !bsonu_number_as_int64(v, &num))
            return false;
    }
    bool want_set = n->kind == QRY_MATCH_BITS_ALL_SET || n->kind == QRY_MATCH_BITS_ANY_SET;
    bool all = n->kind == QRY_MATCH_BITS_ALL_SET || n->kind == QRY_MATCH_BITS_ALL_CLEAR;
    for (size_t byte = 0; byte < n->u.bits.nbytes; byte++) {
        if (n->u.bits.mask[byte] == 0)
            continue;
        for (size_t b = 0; b < 8; b++) {
            if (!((n->u.bits.mask[byte] >> b) & 1u))
                continue;
            bool ok = bit_of(v, num, byte * 8 + b) == want_set;
            if (all && !ok)
                return false;
            if (!all && ok)
                return true;
        }
    }
    return all;
}

/* Static view of an embedded document or array value. */
static bool view_of(const bson_value_t *v, bson_t *out)
{
    if (v->value.v_doc.data == NULL ||
        !bson_init_static(out, v->value.v_doc.data, v->value.v_doc.data_len)) {
        bson_init(out); /* malformed: read as empty */
        return false;
    }
    return true;
}

/* $elemMatch on one value: v must be an array; *inner_key is the matching element's index. */
static bool elem_match_single(ectx_t *e, const qry_match_node_t *n, const bson_value_t *v,
                              int32_t *inner_key, int depth)
{
    bson_t arr;
    bson_iter_t it;
    if (v == NULL || v->value_type != BSON_TYPE_ARRAY || !view_of(v, &arr) ||
        !bson_iter_init(&it, &arr))
        return false;
    for (int32_t i = 0; bson_iter_next(&it); i++) {
        const bson_value_t *x = bson_iter_value(&it);
        bool ok;
        if (n->kind == QRY_MATCH_ELEM_MATCH_OBJECT) {
            bson_t sub;
            if (x->value_type != BSON_TYPE_DOCUMENT && x->value_type != BSON_TYPE_ARRAY)
                continue;
            if (!view_of(x, &sub))
                continue;
            ok = eval_node(e, n->kids[0], &sub, NULL, depth + 1);
        } else {
            ok = true;
            for (size_t k = 0; k < n->nkids && ok; k++)
                ok = single(e, n->kids[k], x, NULL, depth + 1);
        }
        if (ok) {
            if (inner_key)
                *inner_key = i;
            return true;
        }
    }
    return false;
}

/*
 * single -- the node's predicate on one value (NULL: missing), with no path
 * traversal: MongoDB's matchesSingleElement. Logical nodes combine their
 * children on the same value ($elemMatch value form, $not inside it).
 */
static bool single(ectx_t *e, const qry_match_node_t *n, const bson_value_t *v, int32_t *inner_key,
                   int depth)
{
    if (depth > QRY__MATCH_MAX_DEPTH * 2)
        return false;
    switch (n->kind) {
    case QRY_MATCH_AND:
        for (size_t i = 0; i < n->nkids; i++)
            if (!single(e, n->kids[i], v, NULL, depth + 1))
                return false;
        return true;
    case QRY_MATCH_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (single(e, n->kids[i], v, NULL, depth + 1))
                return true;
        return false;
    case QRY_MATCH_NOR:
        for (size_t i = 0; i < n->nkids; i++)
            if (single(e, n->kids[i], v, NULL, depth + 1))
                return false;
        return true;
    case QRY_MATCH_NOT:
        return !single(e, n->kids[0], v, NULL, depth + 1);
    case QRY_MATCH_ALWAYS_FALSE:
        return false;
    case QRY_MATCH_EQ:
    case QRY_MATCH_LT:
    case QRY_MATCH_LTE:
    case QRY_MATCH_GT:
    case QRY_MATCH_GTE:
        return compare_single(n, v);
    case QRY_MATCH_IN:
        return in_single(n, v);
    case QRY_MATCH_EXISTS:
        return v != NULL;
    case QRY_MATCH_TYPE:
        return v != NULL && qry__type_test(n->u.type.types, n->u.type.all_numbers, v->value_type);
    case QRY_MATCH_MOD:
        return mod_single(n, v);
    case QRY_MATCH_REGEX:
        return regex_single(n->u.regex, v);
    case QRY_MATCH_SIZE: {
        bson_t arr;
        return v != NULL && v->value_type == BSON_TYPE_ARRAY && view_of(v, &arr) &&
               (int64_t)bson_count_keys(&arr) == n->u.size;
    }
    case QRY_MATCH_ELEM_MATCH_OBJECT:
    case QRY_MATCH_ELEM_MATCH_VALUE:
        return elem_match_single(e, n, v, inner_key, depth);
    case QRY_MATCH_BITS_ALL_SET:
    case QRY_MATCH_BITS_ALL_CLEAR:
    case QRY_MATCH_BITS_ANY_SET:
    case QRY_MATCH_BITS_ANY_CLEAR:
        return bits_single(n, v);
    case QRY_MATCH_EXPR:
    case QRY_MATCH_JSON_SCHEMA:
        return false; /* pathless: never applied to a single value */
    }
    return false;
}

/* State of one path walk for one leaf node. */
typedef struct walk {
    ectx_t *e;
    const qry_match_node_t *n;
    bool expand_leaf;
    int depth;
    int32_t key; /* elemMatchKey of the match, -1 if none */
} walk_t;

/* yield -- test one value the path reached; off is the first array's element index or -1. */
static bool yield(walk_t *w, const bson_value_t *v, int32_t off)
{
    int32_t inner = -1;
    if (!single(w->e, w->n, v, &inner, w->depth))
        return false;
    w->key = off >= 0 ? off : inner;
    return true;
}

/* The length of the first component of path. */
static size_t comp_len(const char *path)
{
    const char *dot = strchr(path, '.');
    return dot ? (size_t)(dot - path) : strlen(path);
}

/* Whether a component is all digits (a possible array index). */
static bool is_numeric(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool walk_doc(walk_t *w, const bson_t *doc, const char *path, int32_t off, int level);

/* walk_array -- rest of the path continues below an array. */
static bool walk_array(walk_t *w, const bson_value_t *arrv, const char *rest, int32_t off,
                       int level)
{
    bson_t arr;
    bson_iter_t it;
    if (level > QRY_WALK_MAX_DEPTH || !view_of(arrv, &arr) || !bson_iter_init(&it, &arr))
        return false;
    size_t nlen = comp_len(rest);
    bool numeric = is_numeric(rest, nlen);
    bool entire = rest[nlen] == '\0';
    for (int32_t i = 0; bson_iter_next(&it); i++) {
        const bson_value_t *x = bson_iter_value(&it);
        const char *key = bson_iter_key(&it);
        bool offset_match = numeric && strlen(key) == nlen && memcmp(key, rest, nlen) == 0;
        if (x->value_type == BSON_TYPE_DOCUMENT) {
            bson_t sub;
            if (!view_of(x, &sub))
                continue;
            /* implicit traversal: the element's own field; report this element's index */
            if (walk_doc(w, &sub, rest, off >= 0 ? off : i, level + 1))
                return true;
            if (offset_match) {
                /* a positional component: not an implicit traversal, keep the outer offset */
                if (entire) {
                    if (yield(w, x, off))
                        return true;
                } else if (walk_doc(w, &sub, rest + nlen + 1, off, level + 1)) {
                    return true;
                }
            }
        } else if (offset_match && entire) {
            if (yield(w, x, off))
                return true;
        } else if (offset_match && x->value_type == BSON_TYPE_ARRAY) {
            /*
             * A positional component reaching a nested array: the rest of the
             * path traverses that array as its own (documents and positions),
             * as MongoDB's BSONElementIterator does -- "a.0.b" finds b in
             * a: [[{b: 1}]] and "a.0.0" finds 0 in a: [[0]].
             */
            if (walk_array(w, x, rest + nlen + 1, off, level + 1))
                return true;
        }
    }
    return false;
}

/* walk_doc -- MongoDB's getFieldDottedOrArray, then the leaf or array rules. */
static bool walk_doc(walk_t *w, const bson_t *doc, const char *path, int32_t off, int level)
{
    /*
     * Walk by (data, len) rather than by copying bson_t structs: an in-memory
     * bson_t keeps small documents inline, so a struct copy would be
     * overwritten while a view still points into it.
     */
    const uint8_t *data = bson_get_data(doc);
    uint32_t len = doc->len;
    const char *p = path;
    for (;;) {
        bson_t cur;
        bson_iter_t it;
        size_t clen = comp_len(p);
        if (!bson_init_static(&cur, data, len))
            return false;
        if (!bson_iter_init_find_w_len(&it, &cur, p, (int)clen))
            return yield(w, NULL, off);
        const bson_value_t *v = bson_iter_value(&it);
        if (p[clen] == '\0') {
            if (v->value_type == BSON_TYPE_ARRAY && w->expand_leaf) {
                bson_t arr;
                bson_iter_t ai;
                if (view_of(v, &arr) && bson_iter_init(&ai, &arr)) {
                    for (int32_t i = 0; bson_iter_next(&ai); i++)
                        if (yield(w, bson_iter_value(&ai), off >= 0 ? off : i))
                            return true;
                }
            }
            return yield(w, v, off);
        }
        if (v->value_type == BSON_TYPE_DOCUMENT) {
            if (v->value.v_doc.data == NULL)
                return false;
            data = v->value.v_doc.data;
            len = v->value.v_doc.data_len;
            p += clen + 1;
            continue;
        }
        if (v->value_type == BSON_TYPE_ARRAY)
            return walk_array(w, v, p + clen + 1, off, level + 1);
        return yield(w, NULL, off); /* a scalar in the middle of the path */
    }
}

/* eval_node -- the node on a whole document. */
static bool eval_node(ectx_t *e, const qry_match_node_t *n, const bson_t *doc,
                      qry_match_details_t *details, int depth)
{
    if (depth > QRY__MATCH_MAX_DEPTH * 2)
        return false;
    switch (n->kind) {
    case QRY_MATCH_AND:
        for (size_t i = 0; i < n->nkids; i++)
            if (!eval_node(e, n->kids[i], doc, details, depth + 1))
                return false;
        return true;
    case QRY_MATCH_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (eval_node(e, n->kids[i], doc, NULL, depth + 1))
                return true;
        return false;
    case QRY_MATCH_NOR:
        for (size_t i = 0; i < n->nkids; i++)
            if (eval_node(e, n->kids[i], doc, NULL, depth + 1))
                return false;
        return true;
    case QRY_MATCH_NOT:
        return !eval_node(e, n->kids[0], doc, NULL, depth + 1);
    case QRY_MATCH_ALWAYS_FALSE:
        return false;
    case QRY_MATCH_JSON_SCHEMA:
        return qry__schema_matches(n->u.schema, doc);
    case QRY_MATCH_EXPR: {
        bool r = false;
        if (e->err != 0 || e->hooks == NULL)
            return false;
        e->err = e->hooks->expr_eval(e->hooks->ctx, n->u.expr, doc, &r, e->st);
        return e->err == 0 && r;
    }
    default:
        break;
    }
    walk_t w = {e, n, true, depth, -1};
    /* $size and $elemMatch look at arrays whole, never at a leaf array's elements */
    if (n->kind == QRY_MATCH_SIZE || n->kind == QRY_MATCH_ELEM_MATCH_OBJECT ||
        n->kind == QRY_MATCH_ELEM_MATCH_VALUE)
        w.expand_leaf = false;
    if (!walk_doc(&w, doc, n->path, -1, 0))
        return false;
    if (details != NULL && w.key >= 0) {
        details->has_elem_match_key = true;
        details->elem_match_key = (uint32_t)w.key;
    }
    return true;
}

/* qry_match_exec -- evaluate, reporting $expr errors. */
int qry_match_exec(const qry_match_t *m, const bson_t *doc, qry_match_details_t *details,
                   bool *matched, status_t *st)
{
    ectx_t e = {qry__match_hooks(m), st, 0};
    if (details != NULL) {
        details->has_elem_match_key = false;
        details->elem_match_key = 0;
    }
    *matched = eval_node(&e, qry_match_root(m), doc, details, 0);
    if (e.err != 0) {
        *matched = false;
        return e.err;
    }
    return 0;
}

/* qry__node_matches -- one node of m's tree on doc (an $expr error reads as no match). */
bool qry__node_matches(const qry_match_t *m, const qry_match_node_t *n, const bson_t *doc)
{
    status_t st = STATUS_INIT;
    ectx_t e = {qry__match_hooks(m), &st, 0};
    bool r = eval_node(&e, n, doc, NULL, 0);
    return e.err == 0 && r;
}

/* qry_match_eval -- whether doc matches (an $expr error reads as no match). */
bool qry_match_eval(const qry_match_t *m, const bson_t *doc, qry_match_details_t *details)
{
    status_t st = STATUS_INIT;
    bool matched = false;
    if (qry_match_exec(m, doc, details, &matched, &st) != 0)
        return false;
    return matched;
}
