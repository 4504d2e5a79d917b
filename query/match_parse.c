/*
 * match_parse.c -- parse a filter document into a qry_match_node_t tree.
 *
 * The shape follows MongoDB's MatchExpressionParser so that the planner sees
 * the same predicates MongoDB's does: a document is an AND of its fields
 * (collapsed when it has one); {$ne: x} is NOT(EQ x), {$nin: [...]} is
 * NOT(IN), {$exists: false} is NOT(EXISTS); $all is an AND of EQ/REGEX (or of
 * $elemMatch); $not over a document is NOT(AND of its operators). Error codes
 * and messages are MongoDB's. The matcher keeps its own copy of the filter
 * and every operand and path is a view into it, so a tree costs one
 * allocation per node and none per value.
 */
#include "query/query_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct qry_match {
    bson_t *filter;
    qry_match_node_t *root;
    qry_match_hooks_t hooks;
    bool has_hooks;
};

typedef struct pctx {
    const qry_match_t *m;
    status_t *st;
} pctx_t;

/* Parse levels, as MongoDB's DocumentParseLevel: some operators only work at the top. */
enum { LEVEL_TOP = 0, LEVEL_SUBDOC = 1 };

static int parse_doc(pctx_t *p, const bson_t *doc, int level, int depth, qry_match_node_t **out);
static int parse_sub(pctx_t *p, const char *path, const bson_t *obj, qry_match_node_t *and_node,
                     int level, int depth);

static const char *const kUnknownTopSuffix =
    ". If you have a field name that starts with a '$' symbol, consider using $getField or "
    "$setField.";

/* qry__node_new -- a zeroed node. */
qry_match_node_t *qry__node_new(qry_match_kind_t kind, const char *path)
{
    qry_match_node_t *n = calloc(1, sizeof(*n));
    INVARIANT(n != NULL);
    n->kind = kind;
    n->path = path;
    n->operand.value_type = BSON_TYPE_EOD;
    return n;
}

/* qry__node_add -- append a child. */
void qry__node_add(qry_match_node_t *parent, qry_match_node_t *child)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        qry_match_node_t **k = realloc(parent->kids, cap * sizeof(*k));
        INVARIANT(k != NULL);
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->nkids++] = child;
}

/* qry__node_free -- free a tree. */
void qry__node_free(qry_match_node_t *n, const qry_match_hooks_t *hooks)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        qry__node_free(n->kids[i], hooks);
    free(n->kids);
    switch (n->kind) {
    case QRY_MATCH_REGEX:
        qry__regex_destroy(n->u.regex);
        break;
    case QRY_MATCH_IN:
        free(n->u.in.vals);
        for (size_t i = 0; i < n->u.in.nregexes; i++)
            qry__regex_destroy(n->u.in.regexes[i]);
        free(n->u.in.regexes);
        break;
    case QRY_MATCH_BITS_ALL_SET:
    case QRY_MATCH_BITS_ALL_CLEAR:
    case QRY_MATCH_BITS_ANY_SET:
    case QRY_MATCH_BITS_ANY_CLEAR:
        free(n->u.bits.mask);
        break;
    case QRY_MATCH_JSON_SCHEMA:
        qry__schema_free(n->u.schema);
        break;
    case QRY_MATCH_EXPR:
        if (n->u.expr != NULL && hooks != NULL && hooks->expr_destroy != NULL)
            hooks->expr_destroy(hooks->ctx, n->u.expr);
        break;
    default:
        break;
    }
    free(n);
}

/* collapse -- an AND with exactly one child becomes that child (MongoDB does the same). */
static qry_match_node_t *collapse(qry_match_node_t *and_node)
{
    if (and_node->kind == QRY_MATCH_AND && and_node->nkids == 1) {
        qry_match_node_t *c = and_node->kids[0];
        and_node->nkids = 0;
        qry__node_free(and_node, NULL);
        return c;
    }
    return and_node;
}

/* Static view of the document or array at an iterator. */
static bool view_iter(const bson_iter_t *it, bson_t *out)
{
    uint32_t len = 0;
    const uint8_t *data = NULL;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &len, &data);
    else if (BSON_ITER_HOLDS_ARRAY(it))
        bson_iter_array(it, &len, &data);
    else
        data = NULL;
    /* A malformed value reads as an empty document, never as uninitialised memory. */
    if (data == NULL || !bson_init_static(out, data, len)) {
        bson_init(out);
        return false;
    }
    return true;
}

/* Number of elements of a document or array view. */
static uint32_t count_keys(const bson_t *b)
{
    return bson_count_keys(b);
}

/* First key of a document (NULL if empty or malformed). */
static const char *first_key(const bson_t *b)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, b) || !bson_iter_next(&it))
        return NULL;
    return bson_iter_key(&it);
}

/* Pathless ("top level") operator names, without the '$'. */
static bool is_pathless_name(const char *name)
{
    static const char *const names[] = {
        "and",        "or",          "nor",        "where", "text", "comment", "expr", "jsonSchema",
        "alwaysTrue", "alwaysFalse", "sampleRate", "id",    "ref",  "db",      NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* MongoDB's isDBRefDocument: $ref and $id (or any of $ref/$id/$db when incomplete allowed). */
static bool is_dbref_doc(const bson_t *obj, bool allow_incomplete)
{
    bool ref = false, id = false, db = false;
    bson_iter_t it;
    if (!bson_iter_init(&it, obj))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "$ref") == 0)
            ref = true;
        else if (strcmp(k, "$id") == 0)
            id = true;
        else if (strcmp(k, "$db") == 0)
            db = true;
    }
    return allow_incomplete ? (ref || id || db) : (ref && id);
}

/* MongoDB's isExpressionDocument: an object whose first field is a $-operator. */
static bool is_expression_doc(const bson_iter_t *it, bool allow_incomplete_dbref)
{
    bson_t obj;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !view_iter(it, &obj))
        return false;
    const char *k = first_key(&obj);
    if (k == NULL || k[0] != '$')
        return false;
    return !is_dbref_doc(&obj, allow_incomplete_dbref);
}

/* The element's value as a view into the filter copy. */
static void set_operand(qry_match_node_t *n, const bson_iter_t *it)
{
    n->operand = *bson_iter_value((bson_iter_t *)it);
}

/* A comparison leaf: $eq/$lt/$lte/$gt/$gte (and the implicit equality). */
static int parse_comparison(pctx_t *p, qry_match_kind_t kind, const char *path,
                            const bson_iter_t *it, qry_match_node_t **out)
{
    *out = NULL;
    if (kind != QRY_MATCH_EQ && BSON_ITER_HOLDS_REGEX(it))
        return status_set(p->st, ERR_BadValue,
                          "Can't have RegEx as arg to predicate over field '%s'.", path);
    qry_match_node_t *n = qry__node_new(kind, path);
    set_operand(n, it);
    *out = n;
    return 0;
}

/* A REGEX leaf from pattern and flags. */
static int make_regex(pctx_t *p, const char *path, const char *pattern, size_t len,
                      const char *flags, qry_match_node_t **out)
{
    qry__regex_t *re = NULL;
    *out = NULL;
    ST_RET(qry__regex_compile(pattern, len, flags, &re, p->st));
    qry_match_node_t *n = qry__node_new(QRY_MATCH_REGEX, path);
    n->u.regex = re;
    /* The operand is a BSON regex value; pattern and flags live in the compiled regex. */
    n->operand.value_type = BSON_TYPE_REGEX;
    n->operand.value.v_regex.regex = (char *)qry__regex_pattern(re);
    n->operand.value.v_regex.options = (char *)qry__regex_flags(re);
    *out = n;
    return 0;
}

/* A REGEX leaf from a BSON regex element. */
static int parse_regex_element(pctx_t *p, const char *path, const bson_iter_t *it,
                               qry_match_node_t **out)
{
    const char *flags = NULL;
    const char *pat = bson_iter_regex(it, &flags);
    return make_regex(p, path, pat, strlen(pat), flags, out);
}

/* {$regex: ..., $options: ...} -- read both from the operator document. */
static int parse_regex_doc(pctx_t *p, const char *path, const bson_t *ctx, qry_match_node_t **out)
{
    const char *pattern = "", *options = "";
    size_t plen = 0;
    bson_iter_t it;
    *out = NULL;
    bson_iter_init(&it, ctx);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "$regex") == 0) {
            if (BSON_ITER_HOLDS_UTF8(&it)) {
                uint32_t l = 0;
                pattern = bson_iter_utf8(&it, &l);
                plen = l;
                if (strlen(pattern) != l)
                    return status_set(p->st, ERR_BadValue,
                                      "Regular expression cannot contain an embedded null byte");
            } else if (BSON_ITER_HOLDS_REGEX(&it)) {
                const char *f = NULL;
                pattern = bson_iter_regex(&it, &f);
                plen = strlen(pattern);
                if (f[0] != '\0') {
                    if (options[0] != '\0')
                        return status_set(p->st, 51074, "options set in both $regex and $options");
                    options = f;
                }
            } else {
                return status_set(p->st, ERR_BadValue, "$regex has to be a string");
            }
        } else if (strcmp(k, "$options") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return status_set(p->st, ERR_BadValue, "$options has to be a string");
            if (options[0] != '\0')
                return status_set(p->st, 51075, "options set in both $regex and $options");
            uint32_t ol = 0;
            options = bson_iter_utf8(&it, &ol);
            if (strlen(options) != ol)
                return status_set(p->st, ERR_BadValue,
                                  "Regular expression options string cannot contain an embedded "
                                  "null byte");
        }
    }
    return make_regex(p, path, pattern, plen, options, out);
}

/* qsort comparator over bson_value_t in canonical BSON order. */
static int cmp_values(const void *a, const void *b)
{
    return bsonu_compare_value(a, b);
}

/* $in / $nin members: equalities plus regexes; no operator documents. */
static int parse_in(pctx_t *p, const char *path, const bson_iter_t *it, const char *op,
                    qry_match_node_t **out)
{
    bson_t arr;
    bson_iter_t ai;
    *out = NULL;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !view_iter(it, &arr))
        return status_set(p->st, ERR_BadValue, "%s needs an array", op);
    qry_match_node_t *n = qry__node_new(QRY_MATCH_IN, path);
    set_operand(n, it);
    uint32_t cnt = count_keys(&arr);
    if (cnt > 0) {
        n->u.in.vals = calloc(cnt, sizeof(bson_value_t));
        INVARIANT(n->u.in.vals != NULL);
    }
    bson_iter_init(&ai, &arr);
    while (bson_iter_next(&ai)) {
        if (is_expression_doc(&ai, false)) {
            qry__node_free(n, NULL);
            return status_set(p->st, ERR_BadValue, "cannot nest $ under $in");
        }
        if (BSON_ITER_HOLDS_REGEX(&ai)) {
            const char *flags = NULL;
            const char *pat = bson_iter_regex(&ai, &flags);
            qry__regex_t *re = NULL;
            if (qry__regex_compile(pat, strlen(pat), flags, &re, p->st) != 0) {
                qry__node_free(n, NULL);
                return p->st->code;
            }
            qry__regex_t **r =
                realloc(n->u.in.regexes, (n->u.in.nregexes + 1) * sizeof(qry__regex_t *));
            INVARIANT(r != NULL);
            n->u.in.regexes = r;
            n->u.in.regexes[n->u.in.nregexes++] = re;
            continue;
        }
        const bson_value_t *v = bson_iter_value(&ai);
        if (v->value_type == BSON_TYPE_NULL)
            n->u.in.has_null = true;
        n->u.in.vals[n->u.in.nvals++] = *v;
    }
    /* sorted once so that evaluation is a binary search, not a scan of a long $in */
    if (n->u.in.nvals > 1)
        qsort(n->u.in.vals, n->u.in.nvals, sizeof(bson_value_t), cmp_values);
    *out = n;
    return 0;
}

static void type_set(uint8_t types[32], bson_type_t t)
{
    uint8_t b = (uint8_t)t;
    types[b / 8] |= (uint8_t)(1u << (b % 8));
}

/* qry__type_test -- whether t is in the set. */
bool qry__type_test(const uint8_t types[32], bool all_numbers, bson_type_t t)
{
    uint8_t b = (uint8_t)t;
    if (all_numbers && (t == BSON_TYPE_DOUBLE || t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 ||
                        t == BSON_TYPE_DECIMAL128))
        return true;
    return (types[b / 8] >> (b % 8)) & 1u;
}

/* Whether code is a BSON type code MongoDB knows. */
static bool valid_type_code(int64_t c)
{
    return (c >= 1 && c <= 19) || c == -1 || c == 127;
}

/* qry__type_add -- one $type entry (a number or an alias) into the set. */
int qry__type_add(const bson_value_t *v, uint8_t types[32], bool *all_numbers, const char *op,
                  status_t *st)
{
    if (v->value_type == BSON_TYPE_UTF8) {
        const char *s = v->value.v_utf8.str;
        if (strlen(s) != v->value.v_utf8.len)
            return status_set(st, ERR_BadValue, "Unknown type name alias: %s", s);
        if (strcmp(s, "number") == 0) {
            *all_numbers = true;
            return 0;
        }
        int t = bsonu_type_by_name(s);
        if (t >= 0) {
            type_set(types, (bson_type_t)t);
            return 0;
        }
        return status_set(st, ERR_BadValue, "Unknown type name alias: %s", s);
    }
    if (bsonu_is_number(v->value_type)) {
        int64_t c = 0;
        double d = 0;
        if (!bsonu_number_as_int64(v, &c)) {
            bsonu_number_as_double(v, &d);
            return status_set(st, ERR_BadValue, "Invalid numerical type code: %g", d);
        }
        if (!valid_type_code(c))
            return status_set(st, ERR_BadValue, "Invalid numerical type code: %lld", (long long)c);
        type_set(types, (bson_type_t)(uint8_t)(int8_t)c);
        return 0;
    }
    return status_set(st, ERR_TypeMismatch, "%s must be represented as a number or a string", op);
}

/* $type: a number, an alias, or an array of them. */
static int parse_type(pctx_t *p, const char *path, const bson_iter_t *it, qry_match_node_t **out)
{
    qry_match_node_t *n = qry__node_new(QRY_MATCH_TYPE, path);
    set_operand(n, it);
    *out = NULL;
    bool any = false;
    if (BSON_ITER_HOLDS_ARRAY(it)) {
        bson_t arr;
        bson_iter_t ai;
        view_iter(it, &arr);
        bson_iter_init(&ai, &arr);
        while (bson_iter_next(&ai)) {
            if (qry__type_add(bson_iter_value(&ai), n->u.type.types, &n->u.type.all_numbers, "type",
                              p->st) != 0) {
                qry__node_free(n, NULL);
                return p->st->code;
            }
            any = true;
        }
    } else {
        if (qry__type_add(bson_iter_value((bson_iter_t *)it), n->u.type.types,
                          &n->u.type.all_numbers, "type", p->st) != 0) {
            qry__node_free(n, NULL);
            return p->st->code;
        }
        any = true;
    }
    if (!any) {
        qry__node_free(n, NULL);
        return status_set(p->st, ERR_FailedToParse, "%s must match at least one type", path);
    }
    *out = n;
    return 0;
}

/* An integral number as int64 (truncating doubles, as MongoDB's numberLong does). */
static bool coerce_int64(const bson_value_t *v, int64_t *out)
{
    double d;
    if (bsonu_number_as_int64(v, out))
        return true;
    if (!bsonu_number_as_double(v, &d) || !isfinite(d))
        return false;
    d = trunc(d);
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return false;
    *out = (int64_t)d;
    return true;
}

/* $mod: [divisor, remainder]. */
static int parse_mod(pctx_t *p, const char *path, const bson_iter_t *it, qry_match_node_t **out)
{
    bson_t arr;
    bson_iter_t ai;
    bson_value_t d, r;
    *out = NULL;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !view_iter(it, &arr))
        return status_set(p->st, ERR_BadValue, "malformed mod, needs to be an array");
    bson_iter_init(&ai, &arr);
    if (!bson_iter_next(&ai))
        return status_set(p->st, ERR_BadValue, "malformed mod, not enough elements");
    d = *bson_iter_value(&ai);
    if (!bsonu_is_number(d.value_type))
        return status_set(p->st, ERR_BadValue, "malformed mod, divisor not a number");
    if (!bson_iter_next(&ai))
        return status_set(p->st, ERR_BadValue, "malformed mod, not enough elements");
    r = *bson_iter_value(&ai);
    if (!bsonu_is_number(r.value_type))
        return status_set(p->st, ERR_BadValue, "malformed mod, remainder not a number");
    if (bson_iter_next(&ai))
        return status_set(p->st, ERR_BadValue, "malformed mod, too many elements");
    int64_t dv = 0, rv = 0;
    if (!coerce_int64(&d, &dv))
        return status_set(p->st, ERR_BadValue,
                          "malformed mod, divisor value is invalid :: caused by :: Unable to "
                          "coerce NaN/Inf to integral type");
    if (!coerce_int64(&r, &rv))
        return status_set(p->st, ERR_BadValue,
                          "malformed mod, remainder value is invalid :: caused by :: Unable to "
                          "coerce NaN/Inf to integral type");
    if (dv == 0)
        return status_set(p->st, ERR_BadValue, "divisor cannot be 0");
    qry_match_node_t *n = qry__node_new(QRY_MATCH_MOD, path);
    set_operand(n, it);
    n->u.mod.divisor = dv;
    n->u.mod.remainder = rv;
    *out = n;
    return 0;
}

/* $size: a non-negative whole number that fits in 32 bits. */
static int parse_size(pctx_t *p, const char *path, const bson_iter_t *it, qry_match_node_t **out)
{
    const bson_value_t *v = bson_iter_value((bson_iter_t *)it);
    int64_t sz = 0;
    *out = NULL;
    if (!bsonu_is_number(v->value_type))
        return status_set(p->st, ERR_BadValue, "$size needs a number");
    if (!bsonu_number_as_int64(v, &sz)) {
        if (v->value_type == BSON_TYPE_INT64)
            return status_set(p->st, ERR_BadValue,
                              "$size must be representable as a 32-bit integer");
        return status_set(p->st, ERR_BadValue, "$size must be a whole number");
    }
    if (sz > INT32_MAX || sz < INT32_MIN)
        return status_set(p->st, ERR_BadValue, "$size must be representable as a 32-bit integer");
    if (sz < 0)
        return status_set(p->st, ERR_BadValue, "$size may not be negative");
    qry_match_node_t *n = qry__node_new(QRY_MATCH_SIZE, path);
    set_operand(n, it);
    n->u.size = sz;
    *out = n;
    return 0;
}

/* Set bit pos in a growable little-endian mask. */
static void mask_set(qry_match_node_t *n, uint32_t pos)
{
    size_t need = (size_t)pos / 8 + 1;
    if (need > n->u.bits.nbytes) {
        uint8_t *m = realloc(n->u.bits.mask, need);
        INVARIANT(m != NULL);
        memset(m + n->u.bits.nbytes, 0, need - n->u.bits.nbytes);
        n->u.bits.mask = m;
        n->u.bits.nbytes = need;
    }
    n->u.bits.mask[pos / 8] |= (uint8_t)(1u << (pos % 8));
}

/*
 * QRY_BITS_MAX_POSITION -- bit positions are 32-bit in MongoDB; the mask is
 * kept as bytes, so a position bounds an allocation: 2^31 bits is 256 MiB,
 * more than a 16 MiB document can ever test, so larger positions are stored
 * as this bound (they can only ever read as clear or as the sign bit).
 */
#define QRY_BITS_MAX_POSITION (16u * 1024 * 1024 * 8 + 64)

/* $bitsAllSet & co: a non-negative integer mask, an array of positions, or BinData. */
static int parse_bits(pctx_t *p, qry_match_kind_t kind, const char *path, const char *op,
                      const bson_iter_t *it, qry_match_node_t **out)
{
    const bson_value_t *v = bson_iter_value((bson_iter_t *)it);
    qry_match_node_t *n = qry__node_new(kind, path);
    set_operand(n, it);
    *out = NULL;
    if (v->value_type == BSON_TYPE_ARRAY) {
        bson_t arr;
        bson_iter_t ai;
        view_iter(it, &arr);
        bson_iter_init(&ai, &arr);
        while (bson_iter_next(&ai)) {
            const bson_value_t *e = bson_iter_value(&ai);
            int64_t pos = 0;
            double d = 0;
            if (!bsonu_is_number(e->value_type)) {
                qry__node_free(n, NULL);
                return status_set(p->st, ERR_BadValue,
                                  "bit positions must be an integer but got: %s: <%s>",
                                  bson_iter_key(&ai), "non-number");
            }
            if (!bsonu_number_as_int64(e, &pos)) {
                bsonu_number_as_double(e, &d);
                qry__node_free(n, NULL);
                if (isnan(d))
                    return status_set(p->st, ERR_BadValue, "bit positions cannot take a NaN: %s",
                                      bson_iter_key(&ai));
                if (d > INT32_MAX || d < INT32_MIN)
                    return status_set(
                        p->st, ERR_BadValue,
                        "bit positions cannot be represented as a 32-bit signed integer: %s: %g",
                        bson_iter_key(&ai), d);
                return status_set(p->st, ERR_BadValue,
                                  "bit positions must be an integer but got: %s: %g",
                                  bson_iter_key(&ai), d);
            }
            if (pos > INT32_MAX || pos < INT32_MIN) {
                qry__node_free(n, NULL);
                return status_set(
                    p->st, ERR_BadValue,
                    "bit positions cannot be represented as a 32-bit signed integer: %s: %lld",
                    bson_iter_key(&ai), (long long)pos);
            }
            if (pos < 0) {
                qry__node_free(n, NULL);
                return status_set(p->st, ERR_BadValue,
                                  "bit positions must be >= 0 but got: %s: %lld",
                                  bson_iter_key(&ai), (long long)pos);
            }
            mask_set(n, pos > QRY_BITS_MAX_POSITION ? QRY_BITS_MAX_POSITION : (uint32_t)pos);
        }
    } else if (bsonu_is_number(v->value_type)) {
        int64_t mask = 0;
        double d = 0;
        if (!bsonu_number_as_int64(v, &mask)) {
            bsonu_number_as_double(v, &d);
            qry__node_free(n, NULL);
            if (isfinite(d) && trunc(d) == d)
                return status_set(p->st, ERR_BadValue,
                                  "Cannot represent as a 64-bit integer: %s: %g", op, d);
            return status_set(p->st, ERR_BadValue, "Expected an integer: %s: %g", op, d);
        }
        if (mask < 0) {
            qry__node_free(n, NULL);
            return status_set(p->st, ERR_BadValue, "Expected a positive number in: %s: %lld", op,
                              (long long)mask);
        }
        for (uint32_t b = 0; b < 63; b++)
            if ((mask >> b) & 1)
                mask_set(n, b);
    } else if (v->value_type == BSON_TYPE_BINARY) {
        const uint8_t *data = v->value.v_binary.data;
        for (uint32_t i = 0; i < v->value.v_binary.data_len; i++)
            for (uint32_t b = 0; b < 8; b++)
                if ((data[i] >> b) & 1)
                    mask_set(n, i * 8 + b);
    } else {
        qry__node_free(n, NULL);
        return status_set(p->st, ERR_BadValue,
                          "%s takes an Array, a number, or a BinData but received: %s: <%s>", op,
                          op, "value");
    }
    *out = n;
    return 0;
}

/* $elemMatch: the value form (operators on each element) or the object form (a filter). */
static int parse_elem_match(pctx_t *p, const char *path, const bson_iter_t *it, int depth,
                            qry_match_node_t **out)
{
    bson_t obj;
    *out = NULL;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !view_iter(it, &obj))
        return status_set(p->st, ERR_BadValue, "$elemMatch needs an Object");
    bool value_form = false;
    if (is_expression_doc(it, true))
        value_form = !is_pathless_name(first_key(&obj) + 1);
    if (value_form) {
        qry_match_node_t *n = qry__node_new(QRY_MATCH_ELEM_MATCH_VALUE, path);
        set_operand(n, it);
        int rc = parse_sub(p, "", &obj, n, LEVEL_SUBDOC, depth + 1);
        if (rc != 0) {
            qry__node_free(n, NULL);
            return rc;
        }
        *out = n;
        return 0;
    }
    qry_match_node_t *sub = NULL;
    ST_RET(parse_doc(p, &obj, LEVEL_SUBDOC, depth + 1, &sub));
    qry_match_node_t *n = qry__node_new(QRY_MATCH_ELEM_MATCH_OBJECT, path);
    set_operand(n, it);
    qry__node_add(n, sub);
    *out = n;
    return 0;
}

/* $all: equalities and regexes, or all $elemMatch; an empty $all matches nothing. */
static int parse_all(pctx_t *p, const char *path, const bson_iter_t *it, int depth,
                     qry_match_node_t **out)
{
    bson_t arr;
    bson_iter_t ai;
    *out = NULL;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !view_iter(it, &arr))
        return status_set(p->st, ERR_BadValue, "$all needs an array");
    qry_match_node_t *and_node = qry__node_new(QRY_MATCH_AND, NULL);
    bool elem_match_form = false;
    bson_iter_init(&ai, &arr);
    if (bson_iter_next(&ai) && BSON_ITER_HOLDS_DOCUMENT(&ai)) {
        bson_t first;
        view_iter(&ai, &first);
        const char *k = first_key(&first);
        elem_match_form = k != NULL && strcmp(k, "$elemMatch") == 0;
    }
    int rc = 0;
    bson_iter_init(&ai, &arr);
    while (bson_iter_next(&ai)) {
        qry_match_node_t *c = NULL;
        if (elem_match_form) {
            bson_t o;
            bson_iter_t oi;
            const char *k = NULL;
            if (BSON_ITER_HOLDS_DOCUMENT(&ai) && view_iter(&ai, &o))
                k = first_key(&o);
            if (k == NULL || strcmp(k, "$elemMatch") != 0) {
                rc = status_set(p->st, ERR_BadValue, "$all/$elemMatch has to be consistent");
                goto err;
            }
            bson_iter_init(&oi, &o);
            bson_iter_next(&oi);
            if ((rc = parse_elem_match(p, path, &oi, depth, &c)) != 0)
                goto err;
        } else if (BSON_ITER_HOLDS_REGEX(&ai)) {
            if ((rc = parse_regex_element(p, path, &ai, &c)) != 0)
                goto err;
        } else if (is_expression_doc(&ai, false)) {
            rc = status_set(p->st, ERR_BadValue, "no $ expressions in $all");
            goto err;
        } else {
            c = qry__node_new(QRY_MATCH_EQ, path);
            set_operand(c, &ai);
        }
        qry__node_add(and_node, c);
    }
    if (and_node->nkids == 0) {
        and_node->kind = QRY_MATCH_ALWAYS_FALSE;
        set_operand(and_node, it);
    }
    *out = and_node;
    return 0;
err:
    qry__node_free(and_node, NULL);
    return rc;
}

/* $not: a regex or a non-empty operator document. */
static int parse_not(pctx_t *p, const char *path, const bson_iter_t *it, int level, int depth,
                     qry_match_node_t **out)
{
    qry_match_node_t *c = NULL;
    *out = NULL;
    if (BSON_ITER_HOLDS_REGEX(it)) {
        ST_RET(parse_regex_element(p, path, it, &c));
    } else {
        bson_t obj;
        if (!BSON_ITER_HOLDS_DOCUMENT(it) || !view_iter(it, &obj))
            return status_set(p->st, ERR_BadValue, "$not needs a regex or a document");
        if (bson_empty(&obj))
            return status_set(p->st, ERR_BadValue, "$not cannot be empty");
        qry_match_node_t *and_node = qry__node_new(QRY_MATCH_AND, NULL);
        int rc = parse_sub(p, path, &obj, and_node, level, depth + 1);
        if (rc != 0) {
            qry__node_free(and_node, NULL);
            return rc;
        }
        c = collapse(and_node);
    }
    qry_match_node_t *n = qry__node_new(QRY_MATCH_NOT, NULL);
    qry__node_add(n, c);
    *out = n;
    return 0;
}

/* Wrap c in a NOT node. */
static qry_match_node_t *negate(qry_match_node_t *c)
{
    qry_match_node_t *n = qry__node_new(QRY_MATCH_NOT, NULL);
    qry__node_add(n, c);
    return n;
}

/* Geo and text operators: recognised, but Mica has no geo or text indexes. */
static bool is_geo_op(const char *op)
{
    static const char *const ops[] = {"$geoWithin",  "$within",   "$geoIntersects", "$near",
                                      "$nearSphere", "$box",      "$center",        "$centerSphere",
                                      "$polygon",    "$geometry", "$maxDistance",   "$minDistance",
                                      NULL};
    for (int i = 0; ops[i]; i++)
        if (strcmp(ops[i], op) == 0)
            return true;
    return false;
}

/* One operator of a field's operator document ({path: {op: arg, ...}}). */
static int parse_sub_field(pctx_t *p, const char *path, const bson_t *ctx, const bson_iter_t *it,
                           int level, int depth, qry_match_node_t **out)
{
    const char *op = bson_iter_key(it);
    *out = NULL;
    if (strcmp(op, "$eq") == 0)
        return parse_comparison(p, QRY_MATCH_EQ, path, it, out);
    if (strcmp(op, "$lt") == 0)
        return parse_comparison(p, QRY_MATCH_LT, path, it, out);
    if (strcmp(op, "$lte") == 0)
        return parse_comparison(p, QRY_MATCH_LTE, path, it, out);
    if (strcmp(op, "$gt") == 0)
        return parse_comparison(p, QRY_MATCH_GT, path, it, out);
    if (strcmp(op, "$gte") == 0)
        return parse_comparison(p, QRY_MATCH_GTE, path, it, out);
    if (strcmp(op, "$ne") == 0) {
        qry_match_node_t *c = NULL;
        if (BSON_ITER_HOLDS_REGEX(it))
            return status_set(p->st, ERR_BadValue, "Can't have regex as arg to $ne.");
        ST_RET(parse_comparison(p, QRY_MATCH_EQ, path, it, &c));
        *out = negate(c);
        return 0;
    }
    if (strcmp(op, "$not") == 0)
        return parse_not(p, path, it, level, depth, out);
    if (strcmp(op, "$in") == 0)
        return parse_in(p, path, it, "$in", out);
    if (strcmp(op, "$nin") == 0) {
        qry_match_node_t *c = NULL;
        ST_RET(parse_in(p, path, it, "$nin", &c));
        *out = negate(c);
        return 0;
    }
    if (strcmp(op, "$exists") == 0) {
        qry_match_node_t *c = qry__node_new(QRY_MATCH_EXISTS, path);
        c->operand.value_type = BSON_TYPE_BOOL;
        c->operand.value.v_bool = true;
        *out = bson_iter_as_bool(it) ? c : negate(c);
        return 0;
    }
    if (strcmp(op, "$type") == 0)
        return parse_type(p, path, it, out);
    if (strcmp(op, "$mod") == 0)
        return parse_mod(p, path, it, out);
    if (strcmp(op, "$size") == 0)
        return parse_size(p, path, it, out);
    if (strcmp(op, "$regex") == 0)
        return parse_regex_doc(p, path, ctx, out);
    if (strcmp(op, "$options") == 0) {
        bson_iter_t ci;
        if (bson_iter_init_find(&ci, ctx, "$regex"))
            return 0; /* read together with $regex */
        return status_set(p->st, ERR_BadValue, "$options needs a $regex");
    }
    if (strcmp(op, "$elemMatch") == 0)
        return parse_elem_match(p, path, it, depth, out);
    if (strcmp(op, "$all") == 0)
        return parse_all(p, path, it, depth, out);
    if (strcmp(op, "$bitsAllSet") == 0)
        return parse_bits(p, QRY_MATCH_BITS_ALL_SET, path, op, it, out);
    if (strcmp(op, "$bitsAllClear") == 0)
        return parse_bits(p, QRY_MATCH_BITS_ALL_CLEAR, path, op, it, out);
    if (strcmp(op, "$bitsAnySet") == 0)
        return parse_bits(p, QRY_MATCH_BITS_ANY_SET, path, op, it, out);
    if (strcmp(op, "$bitsAnyClear") == 0)
        return parse_bits(p, QRY_MATCH_BITS_ANY_CLEAR, path, op, it, out);
    if (strcmp(op, "$where") == 0)
        return status_set(p->st, ERR_BadValue, "$where cannot be applied to a field");
    if (is_geo_op(op))
        return status_set(p->st, ERR_NotImplemented,
                          "%s is not supported: Mica has no geospatial query support", op);
    return status_set(p->st, ERR_BadValue, "unknown operator: %s", op);
}

/* Every operator of {path: {op: arg, ...}} into and_node. */
static int parse_sub(pctx_t *p, const char *path, const bson_t *obj, qry_match_node_t *and_node,
                     int level, int depth)
{
    bson_iter_t it;
    if (depth > QRY__MATCH_MAX_DEPTH)
        return status_set(p->st, ERR_BadValue, "exceeded maximum query tree depth of %d",
                          QRY__MATCH_MAX_DEPTH);
    if (!bson_iter_init(&it, obj))
        return status_set(p->st, ERR_InvalidBSON, "invalid BSON in a query operator document");
    while (bson_iter_next(&it)) {
        qry_match_node_t *c = NULL;
        ST_RET(parse_sub_field(p, path, obj, &it, level, depth, &c));
        if (c != NULL)
            qry__node_add(and_node, c);
    }
    return 0;
}

/* $and/$or/$nor: a non-empty array of filter documents. */
static int parse_tree(pctx_t *p, qry_match_kind_t kind, const bson_iter_t *it, int level, int depth,
                      qry_match_node_t **out)
{
    bson_t arr;
    bson_iter_t ai;
    *out = NULL;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !view_iter(it, &arr))
        return status_set(p->st, ERR_BadValue, "%s must be an array", bson_iter_key(it));
    if (bson_empty(&arr))
        return status_set(p->st, ERR_BadValue, "$and/$or/$nor must be a nonempty array");
    qry_match_node_t *n = qry__node_new(kind, NULL);
    bson_iter_init(&ai, &arr);
    while (bson_iter_next(&ai)) {
        bson_t sub;
        qry_match_node_t *c = NULL;
        if (!BSON_ITER_HOLDS_DOCUMENT(&ai) || !view_iter(&ai, &sub)) {
            qry__node_free(n, NULL);
            return status_set(p->st, ERR_BadValue, "$or/$and/$nor entries need to be full objects");
        }
        int rc = parse_doc(p, &sub, level, depth + 1, &c);
        if (rc != 0) {
            qry__node_free(n, NULL);
            return rc;
        }
        qry__node_add(n, c);
    }
    *out = n;
    return 0;
}

/* $alwaysTrue / $alwaysFalse take the integer 1. */
static int parse_always(pctx_t *p, const bson_iter_t *it, bool value, qry_match_node_t **out)
{
    int64_t v = 0;
    *out = NULL;
    if (!bsonu_is_number(bson_iter_type(it)) ||
        !bsonu_number_as_int64(bson_iter_value((bson_iter_t *)it), &v) || v != 1)
        return status_set(p->st, ERR_FailedToParse, "%s must be an integer value of 1",
                          bson_iter_key(it));
    *out = qry__node_new(value ? QRY_MATCH_AND : QRY_MATCH_ALWAYS_FALSE, NULL);
    return 0;
}

/* A pathless ("top level") operator: $and, $or, $comment, $expr, ... */
static int parse_pathless(pctx_t *p, const bson_iter_t *it, int level, int depth,
                          qry_match_node_t **out)
{
    const char *op = bson_iter_key(it);
    *out = NULL;
    if (strcmp(op, "$and") == 0)
        return parse_tree(p, QRY_MATCH_AND, it, level, depth, out);
    if (strcmp(op, "$or") == 0)
        return parse_tree(p, QRY_MATCH_OR, it, level, depth, out);
    if (strcmp(op, "$nor") == 0)
        return parse_tree(p, QRY_MATCH_NOR, it, level, depth, out);
    if (strcmp(op, "$comment") == 0)
        return 0;
    if (strcmp(op, "$alwaysTrue") == 0)
        return parse_always(p, it, true, out);
    if (strcmp(op, "$alwaysFalse") == 0)
        return parse_always(p, it, false, out);
    if (strcmp(op, "$id") == 0 || strcmp(op, "$ref") == 0 || strcmp(op, "$db") == 0) {
        /* DBRef fields inside $elemMatch and sub-documents are plain equalities. */
        qry_match_node_t *n = qry__node_new(QRY_MATCH_EQ, op);
        set_operand(n, it);
        *out = n;
        return 0;
    }
    if (strcmp(op, "$where") == 0)
        return status_set(p->st, ERR_BadValue, "no globalScriptEngine in $where parsing");
    if (strcmp(op, "$text") == 0) {
        if (level == LEVEL_SUBDOC)
            return status_set(p->st, ERR_BadValue,
                              "$text can only be applied to the top-level document");
        return status_set(p->st, ERR_NotImplemented,
                          "$text is not supported: Mica has no text indexes");
    }
    if (strcmp(op, "$sampleRate") == 0)
        return status_set(p->st, ERR_NotImplemented, "$sampleRate is not supported");
    if (strcmp(op, "$jsonSchema") == 0) {
        bson_t schema;
        if (!BSON_ITER_HOLDS_DOCUMENT(it) || !view_iter(it, &schema))
            return status_set(p->st, ERR_TypeMismatch, "$jsonSchema must be an object");
        qry__schema_t *s = NULL;
        ST_RET(qry__schema_parse(&schema, &s, p->st));
        qry_match_node_t *n = qry__node_new(QRY_MATCH_JSON_SCHEMA, NULL);
        set_operand(n, it);
        n->u.schema = s;
        *out = n;
        return 0;
    }
    if (strcmp(op, "$expr") == 0) {
        if (level == LEVEL_SUBDOC)
            return status_set(p->st, ERR_BadValue,
                              "$expr can only be applied to the top-level document");
        if (!p->m->has_hooks || p->m->hooks.expr_parse == NULL || p->m->hooks.expr_eval == NULL)
            return status_set(p->st, ERR_NotImplemented,
                              "$expr is not supported: no aggregation expression evaluator is "
                              "available");
        qry_match_node_t *n = qry__node_new(QRY_MATCH_EXPR, NULL);
        set_operand(n, it);
        int rc = p->m->hooks.expr_parse(p->m->hooks.ctx, &n->operand, &n->u.expr, p->st);
        if (rc != 0) {
            free(n);
            return rc;
        }
        *out = n;
        return 0;
    }
    return status_set(p->st, ERR_BadValue, "unknown top level operator: %s%s", op,
                      kUnknownTopSuffix);
}

/* A filter document: an AND of its fields, collapsed when it has one. */
static int parse_doc(pctx_t *p, const bson_t *doc, int level, int depth, qry_match_node_t **out)
{
    bson_iter_t it;
    int rc = 0;
    *out = NULL;
    if (depth > QRY__MATCH_MAX_DEPTH)
        return status_set(p->st, ERR_BadValue, "exceeded maximum query tree depth of %d",
                          QRY__MATCH_MAX_DEPTH);
    if (!bson_iter_init(&it, doc))
        return status_set(p->st, ERR_InvalidBSON, "invalid BSON in a query");
    qry_match_node_t *root = qry__node_new(QRY_MATCH_AND, NULL);
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        qry_match_node_t *c = NULL;
        if (key[0] == '$') {
            if ((rc = parse_pathless(p, &it, level, depth, &c)) != 0)
                goto err;
            if (c != NULL)
                qry__node_add(root, c);
            continue;
        }
        if (is_expression_doc(&it, false)) {
            bson_t obj;
            view_iter(&it, &obj);
            if ((rc = parse_sub(p, key, &obj, root, LEVEL_SUBDOC, depth + 1)) != 0)
                goto err;
            continue;
        }
        if (BSON_ITER_HOLDS_REGEX(&it))
            rc = parse_regex_element(p, key, &it, &c);
        else
            rc = parse_comparison(p, QRY_MATCH_EQ, key, &it, &c);
        if (rc != 0)
            goto err;
        qry__node_add(root, c);
    }
    *out = collapse(root);
    return 0;
err:
    qry__node_free(root, p->m->has_hooks ? &p->m->hooks : NULL);
    return rc;
}

/* qry_match_parse -- parse a filter into a matcher. */
int qry_match_parse(const bson_t *filter, const qry_match_hooks_t *hooks, qry_match_t **out,
                    status_t *st)
{
    *out = NULL;
    if (filter == NULL)
        return status_set(st, ERR_BadValue, "a filter document is required");
    qry_match_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return status_set(st, ERR_ExceededMemoryLimit, "out of memory parsing a filter");
    if (hooks != NULL) {
        m->hooks = *hooks;
        m->has_hooks = true;
    }
    m->filter = bson_copy(filter);
    if (m->filter == NULL) {
        free(m);
        return status_set(st, ERR_ExceededMemoryLimit, "out of memory parsing a filter");
    }
    pctx_t p = {m, st};
    int rc = parse_doc(&p, m->filter, LEVEL_TOP, 0, &m->root);
    if (rc != 0) {
        qry_match_destroy(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* qry_match_destroy -- free a matcher. */
void qry_match_destroy(qry_match_t *m)
{
    if (m == NULL)
        return;
    qry__node_free(m->root, m->has_hooks ? &m->hooks : NULL);
    bson_destroy(m->filter);
    free(m);
}

/* qry_match_filter -- the filter copy. */
const bson_t *qry_match_filter(const qry_match_t *m)
{
    return m->filter;
}

/* qry_match_root -- the root node. */
const qry_match_node_t *qry_match_root(const qry_match_t *m)
{
    return m->root;
}

/* qry__match_hooks -- the matcher's hooks (NULL when none). */
const qry_match_hooks_t *qry__match_hooks(const qry_match_t *m)
{
    return m->has_hooks ? &m->hooks : NULL;
}
