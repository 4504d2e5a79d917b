/*
 * match_explain.c -- why a document does not match a filter, in the shape
 * MongoDB 5.0+ returns as errInfo.details of DocumentValidationFailure (121)
 * (MongoDB's doc_validation_error): one object per operator that explains the
 * failure, nested through the logical operators:
 *
 *   {operatorName: "$and", clausesNotSatisfied: [{index: 1, details:
 *      {operatorName: "$gt", specifiedAs: {a: {$gt: 5}}, reason: "comparison failed",
 *       consideredValue: 3}}]}
 *
 * The walk keeps an "inverted" flag: below $not, $nor (and the NOT of $ne, $nin,
 * $exists: false) a leaf explains why it *did* match ("comparison succeeded").
 * An AND lists the clauses that failed, an OR every clause, a NOR the clauses
 * that matched. A leaf reports the values its path reached (consideredValue, or
 * consideredValues when an array was traversed), "field was missing" when it
 * reached none, and "type did not match" when no value had a type the operator
 * can apply to. $jsonSchema nodes are explained by jsonschema_explain.c.
 */
#include "query/query_int.h"

#include <string.h>

/*
 * QRY_EXPLAIN_MAX_VALUES -- at most this many consideredValues per leaf (then
 * consideredValuesTruncated: true), so that a huge array in a rejected
 * document does not make the error reply larger than the document itself.
 */
#define QRY_EXPLAIN_MAX_VALUES 10

/*
 * QRY_EXPLAIN_MAX_BYTES -- past this size the details are rebuilt without
 * specifiedAs and considered values (MongoDB truncates the same way), keeping
 * the whole error reply under the 16 MiB reply limit.
 */
#define QRY_EXPLAIN_MAX_BYTES (12 * 1024 * 1024)

typedef struct xctx {
    const qry_match_t *m;
    bool truncate;
} xctx_t;

static bool explain_node(xctx_t *x, const qry_match_node_t *n, const bson_t *doc, bool inverted,
                         bson_t *out, int depth);

/* ------------------------------------------------------------------------ */
/* The values a leaf's path reaches                                          */
/* ------------------------------------------------------------------------ */

typedef struct values {
    bson_t arr;
    uint32_t n;
    bool exists;    /* the path reached something (an empty array counts) */
    bool truncated; /* more than QRY_EXPLAIN_MAX_VALUES */
    bool omit_array;
    uint8_t seen_types[32];
} values_t;

static int collect_visit(void *ctx, const bsonu_path_leaf_t *leaf)
{
    values_t *vs = ctx;
    vs->exists = true;
    /* the leaf array itself is not a considered value when its elements are */
    if (vs->omit_array && leaf->is_array && !leaf->from_leaf_expansion)
        return 0;
    const bson_value_t *v = bson_iter_value((bson_iter_t *)&leaf->iter);
    vs->seen_types[(uint8_t)v->value_type / 8] |= (uint8_t)(1u << ((uint8_t)v->value_type % 8));
    if (vs->n >= QRY_EXPLAIN_MAX_VALUES) {
        vs->truncated = true;
        return 0;
    }
    char buf[16];
    const char *key;
    bson_uint32_to_string(vs->n++, &key, buf, sizeof(buf));
    bson_append_value(&vs->arr, key, -1, v);
    return 0;
}

/* collect -- the values path reaches in doc; omit_array: a leaf array yields its elements. */
static void collect(const bson_t *doc, const char *path, bool omit_array, values_t *vs)
{
    memset(vs, 0, sizeof(*vs));
    bson_init(&vs->arr);
    vs->omit_array = omit_array;
    if (path == NULL || path[0] == '\0') {
        bson_append_document(&vs->arr, "0", 1, doc);
        vs->n = 1;
        vs->exists = true;
        vs->seen_types[BSON_TYPE_DOCUMENT / 8] |= 1u << (BSON_TYPE_DOCUMENT % 8);
        return;
    }
    (void)bsonu_path_walk(doc, path, omit_array ? BSONU_PATH_EXPAND_LEAF_ARRAY : 0, collect_visit,
                          vs);
}

static bool has_type(const values_t *vs, bson_type_t t)
{
    return (vs->seen_types[(uint8_t)t / 8] >> ((uint8_t)t % 8)) & 1u;
}

/* consideredValue (one) or consideredValues (several or none). */
static void append_considered(const xctx_t *x, const values_t *vs, bson_t *out)
{
    if (!vs->exists || x->truncate)
        return;
    bson_iter_t it;
    if (vs->n == 1 && bson_iter_init(&it, &vs->arr) && bson_iter_next(&it))
        bson_append_iter(out, "consideredValue", -1, &it);
    else
        BSON_APPEND_ARRAY(out, "consideredValues", &vs->arr);
    if (vs->truncated)
        BSON_APPEND_BOOL(out, "consideredValuesTruncated", true);
}

/* consideredType / consideredTypes: the distinct type names, sorted (as MongoDB's std::set). */
static void append_considered_types(const values_t *vs, bson_t *out)
{
    const char *names[256];
    size_t n = 0;
    for (int t = 1; t < 256; t++) {
        if (!has_type(vs, (bson_type_t)t))
            continue;
        const char *name = bsonu_type_name((bson_type_t)t);
        size_t i = n;
        while (i > 0 && strcmp(names[i - 1], name) > 0) {
            names[i] = names[i - 1];
            i--;
        }
        names[i] = name;
        n++;
    }
    if (n == 0)
        return;
    if (n == 1) {
        BSON_APPEND_UTF8(out, "consideredType", names[0]);
        return;
    }
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(out, "consideredTypes", &arr);
    for (size_t i = 0; i < n; i++) {
        char buf[16];
        const char *key;
        bson_uint32_to_string((uint32_t)i, &key, buf, sizeof(buf));
        bson_append_utf8(&arr, key, -1, names[i], -1);
    }
    bson_append_array_end(out, &arr);
}

/* ------------------------------------------------------------------------ */
/* Leaves                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct leaf_info {
    const char *name;            /* operatorName */
    const char *normal;          /* reason when the leaf failed */
    const char *inverted;        /* reason when it matched under a negation */
    const char *const *expected; /* type names it applies to, sorted; NULL: any */
    bool no_traversal;           /* looks at a leaf array whole ($size, $elemMatch) */
} leaf_info_t;

static const char *const k_numbers[] = {"decimal", "double", "int", "long", NULL};
static const char *const k_bits[] = {"binData", "decimal", "double", "int", "long", NULL};
static const char *const k_strings[] = {"regex", "string", "symbol", NULL};
static const char *const k_array[] = {"array", NULL};

static bool leaf_info(qry_match_kind_t k, leaf_info_t *li)
{
    static const char *cmp_n = "comparison failed", *cmp_i = "comparison succeeded";
    memset(li, 0, sizeof(*li));
    li->name = qry_match_kind_name(k);
    switch (k) {
    case QRY_MATCH_EQ:
    case QRY_MATCH_LT:
    case QRY_MATCH_LTE:
    case QRY_MATCH_GT:
    case QRY_MATCH_GTE:
        li->normal = cmp_n;
        li->inverted = cmp_i;
        return true;
    case QRY_MATCH_IN:
        li->normal = "no matching value found in array";
        li->inverted = "matching value found in array";
        return true;
    case QRY_MATCH_REGEX:
        li->normal = "regular expression did not match";
        li->inverted = "regular expression did match";
        li->expected = k_strings;
        return true;
    case QRY_MATCH_MOD:
        li->normal = "$mod did not evaluate to expected remainder";
        li->inverted = "$mod did evaluate to expected remainder";
        li->expected = k_numbers;
        return true;
    case QRY_MATCH_SIZE:
        li->normal = "array length was not equal to given size";
        li->inverted = "array length was equal to given size";
        li->expected = k_array;
        li->no_traversal = true;
        return true;
    case QRY_MATCH_ELEM_MATCH_OBJECT:
    case QRY_MATCH_ELEM_MATCH_VALUE:
        li->normal = "array did not satisfy the child predicate";
        li->inverted = "array did satisfy the child predicate";
        li->expected = k_array;
        li->no_traversal = true;
        return true;
    case QRY_MATCH_BITS_ALL_SET:
    case QRY_MATCH_BITS_ALL_CLEAR:
    case QRY_MATCH_BITS_ANY_SET:
    case QRY_MATCH_BITS_ANY_CLEAR:
        li->normal = "bitwise operator failed to match";
        li->inverted = "bitwise operator matched successfully";
        li->expected = k_bits;
        return true;
    default:
        return false;
    }
}

/* specifiedAs: {path: {$op: operand}}; an equality is quoted as {path: value}. */
static void specified_as(const xctx_t *x, const qry_match_node_t *n, const char *opname,
                         bson_t *out)
{
    if (x->truncate)
        return;
    const bson_value_t *operand = qry_match_node_operand(n);
    const char *path = qry_match_node_path(n);
    bson_t spec, inner;
    BSON_APPEND_DOCUMENT_BEGIN(out, "specifiedAs", &spec);
    if (qry_match_node_kind(n) == QRY_MATCH_EQ && operand != NULL) {
        bson_append_value(&spec, path, -1, operand);
    } else {
        bson_append_document_begin(&spec, path, -1, &inner);
        if (operand != NULL && operand->value_type != BSON_TYPE_EOD)
            bson_append_value(&inner, opname, -1, operand);
        else
            bson_append_bool(&inner, opname, -1, true);
        bson_append_document_end(&spec, &inner);
    }
    bson_append_document_end(out, &spec);
}

/* A path leaf (MongoDB's generatePathError). */
static void explain_leaf(xctx_t *x, const qry_match_node_t *n, const leaf_info_t *li,
                         const char *opname, const bson_t *doc, bool inverted, bson_t *out)
{
    values_t vs;
    BSON_APPEND_UTF8(out, "operatorName", opname);
    specified_as(x, n, opname, out);
    collect(doc, qry_match_node_path(n), !li->no_traversal, &vs);
    bool has_reason = false;
    if (!vs.exists) {
        BSON_APPEND_UTF8(out, "reason", "field was missing");
        has_reason = true;
    } else if (li->expected != NULL) {
        bool any = false;
        for (int i = 0; li->expected[i] != NULL && !any; i++)
            any = has_type(&vs, (bson_type_t)bsonu_type_by_name(li->expected[i]));
        if (!any) {
            BSON_APPEND_UTF8(out, "reason", "type did not match");
            append_considered_types(&vs, out);
            if (li->expected[1] == NULL) {
                BSON_APPEND_UTF8(out, "expectedType", li->expected[0]);
            } else {
                bson_t arr;
                BSON_APPEND_ARRAY_BEGIN(out, "expectedTypes", &arr);
                for (uint32_t i = 0; li->expected[i] != NULL; i++) {
                    char buf[16];
                    const char *key;
                    bson_uint32_to_string(i, &key, buf, sizeof(buf));
                    bson_append_utf8(&arr, key, -1, li->expected[i], -1);
                }
                bson_append_array_end(out, &arr);
            }
            has_reason = true;
        }
    }
    if (!has_reason)
        BSON_APPEND_UTF8(out, "reason", inverted ? li->inverted : li->normal);
    append_considered(x, &vs, out);
    bson_destroy(&vs.arr);
}

/* $type (MongoDB's generateTypeError): values, then their types. */
static void explain_type(xctx_t *x, const qry_match_node_t *n, const bson_t *doc, bool inverted,
                         bson_t *out)
{
    values_t vs;
    BSON_APPEND_UTF8(out, "operatorName", "$type");
    specified_as(x, n, "$type", out);
    collect(doc, qry_match_node_path(n), true, &vs);
    if (!vs.exists)
        BSON_APPEND_UTF8(out, "reason", "field was missing");
    else
        BSON_APPEND_UTF8(out, "reason", inverted ? "type did match" : "type did not match");
    append_considered(x, &vs, out);
    append_considered_types(&vs, out);
    bson_destroy(&vs.arr);
}

/* The negated leaves MongoDB names after the operator the user wrote. */
static bool explain_negated_leaf(xctx_t *x, const qry_match_node_t *child, const bson_t *doc,
                                 bool inverted, bson_t *out)
{
    qry_match_kind_t k = qry_match_node_kind(child);
    const char *path = qry_match_node_path(child);
    if (k == QRY_MATCH_EXISTS) {
        BSON_APPEND_UTF8(out, "operatorName", "$exists");
        if (!x->truncate) {
            bson_t spec, inner;
            BSON_APPEND_DOCUMENT_BEGIN(out, "specifiedAs", &spec);
            bson_append_document_begin(&spec, path, -1, &inner);
            BSON_APPEND_BOOL(&inner, "$exists", false);
            bson_append_document_end(&spec, &inner);
            bson_append_document_end(out, &spec);
        }
        /* a failing {$exists: false} found the path; inverted, it found none */
        BSON_APPEND_UTF8(out, "reason", inverted ? "path does not exist" : "path does exist");
        return true;
    }
    if (k != QRY_MATCH_EQ && k != QRY_MATCH_IN)
        return false;
    leaf_info_t li;
    leaf_info(k, &li);
    const char *name = k == QRY_MATCH_EQ ? "$ne" : "$nin";
    values_t vs;
    BSON_APPEND_UTF8(out, "operatorName", name);
    if (!x->truncate) {
        bson_t spec, inner;
        BSON_APPEND_DOCUMENT_BEGIN(out, "specifiedAs", &spec);
        bson_append_document_begin(&spec, path, -1, &inner);
        bson_append_value(&inner, name, -1, qry_match_node_operand(child));
        bson_append_document_end(&spec, &inner);
        bson_append_document_end(out, &spec);
    }
    collect(doc, path, true, &vs);
    if (!vs.exists)
        BSON_APPEND_UTF8(out, "reason", "field was missing");
    else /* the child's sense flips: a failing $ne means the equality held */
        BSON_APPEND_UTF8(out, "reason", inverted ? li.normal : li.inverted);
    append_considered(x, &vs, out);
    bson_destroy(&vs.arr);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Logical nodes                                                             */
/* ------------------------------------------------------------------------ */

/* $and/$or/$nor: {operatorName, clauses(Not)Satisfied: [{index, details}]}. */
static void explain_list(xctx_t *x, const qry_match_node_t *n, const char *name, const bson_t *doc,
                         bool inverted, bson_t *out, int depth)
{
    qry_match_kind_t k = qry_match_node_kind(n);
    /* the children explained are those whose outcome made the node fail (or, inverted,
     * match); a NOR flips its children's sense */
    bool child_inverted = k == QRY_MATCH_NOR ? !inverted : inverted;
    bool want_match = child_inverted; /* explain children that matched under a negation */
    const char *field = child_inverted ? "clausesSatisfied" : "clausesNotSatisfied";
    bson_t arr;
    uint32_t idx = 0;
    BSON_APPEND_UTF8(out, "operatorName", name);
    BSON_APPEND_ARRAY_BEGIN(out, field, &arr);
    for (size_t i = 0; i < qry_match_node_nchildren(n); i++) {
        const qry_match_node_t *c = qry_match_node_child(n, i);
        if (qry__node_matches(x->m, c, doc) != want_match)
            continue;
        char buf[16];
        const char *key;
        bson_t e, d;
        bson_uint32_to_string(idx++, &key, buf, sizeof(buf));
        bson_append_document_begin(&arr, key, -1, &e);
        BSON_APPEND_INT32(&e, "index", (int32_t)i);
        BSON_APPEND_DOCUMENT_BEGIN(&e, "details", &d);
        explain_node(x, c, doc, child_inverted, &d, depth + 1);
        bson_append_document_end(&e, &d);
        bson_append_document_end(&arr, &e);
    }
    bson_append_array_end(out, &arr);
}

/* explain_node -- append n's explanation to out; false if it has none. */
static bool explain_node(xctx_t *x, const qry_match_node_t *n, const bson_t *doc, bool inverted,
                         bson_t *out, int depth)
{
    if (depth > QRY__MATCH_MAX_DEPTH * 2)
        return false;
    qry_match_kind_t k = qry_match_node_kind(n);
    leaf_info_t li;
    switch (k) {
    case QRY_MATCH_AND:
        explain_list(x, n, "$and", doc, inverted, out, depth);
        return true;
    case QRY_MATCH_OR:
        explain_list(x, n, "$or", doc, inverted, out, depth);
        return true;
    case QRY_MATCH_NOR:
        explain_list(x, n, "$nor", doc, inverted, out, depth);
        return true;
    case QRY_MATCH_NOT: {
        const qry_match_node_t *c = qry_match_node_child(n, 0);
        if (explain_negated_leaf(x, c, doc, inverted, out))
            return true;
        bson_t d;
        BSON_APPEND_UTF8(out, "operatorName", "$not");
        BSON_APPEND_DOCUMENT_BEGIN(out, "details", &d);
        explain_node(x, c, doc, !inverted, &d, depth + 1);
        bson_append_document_end(out, &d);
        return true;
    }
    case QRY_MATCH_ALWAYS_FALSE:
        BSON_APPEND_UTF8(out, "operatorName", "$alwaysFalse");
        if (!x->truncate) {
            bson_t spec;
            BSON_APPEND_DOCUMENT_BEGIN(out, "specifiedAs", &spec);
            BSON_APPEND_INT32(&spec, "$alwaysFalse", 1);
            bson_append_document_end(out, &spec);
        }
        BSON_APPEND_UTF8(out, "reason", "expression always evaluates to false");
        return true;
    case QRY_MATCH_EXISTS:
        BSON_APPEND_UTF8(out, "operatorName", "$exists");
        specified_as(x, n, "$exists", out);
        BSON_APPEND_UTF8(out, "reason", inverted ? "path does exist" : "path does not exist");
        return true;
    case QRY_MATCH_TYPE:
        explain_type(x, n, doc, inverted, out);
        return true;
    case QRY_MATCH_EXPR: {
        BSON_APPEND_UTF8(out, "operatorName", "$expr");
        if (!x->truncate) {
            bson_t spec;
            BSON_APPEND_DOCUMENT_BEGIN(out, "specifiedAs", &spec);
            bson_append_value(&spec, "$expr", -1, qry_match_node_operand(n));
            bson_append_document_end(out, &spec);
        }
        BSON_APPEND_UTF8(out, "reason",
                         inverted ? "expression did match" : "expression did not match");
        return true;
    }
    case QRY_MATCH_JSON_SCHEMA:
        qry__schema_explain(n->u.schema, doc, inverted, out);
        return true;
    default:
        if (!leaf_info(k, &li))
            return false;
        explain_leaf(x, n, &li, li.name, doc, inverted, out);
        return true;
    }
}

/* The node MongoDB reports first: a one-clause top-level AND is its clause. */
static const qry_match_node_t *report_root(const qry_match_t *m)
{
    const qry_match_node_t *r = qry_match_root(m);
    while (qry_match_node_kind(r) == QRY_MATCH_AND && qry_match_node_nchildren(r) == 1)
        r = qry_match_node_child(r, 0);
    return r;
}

/* qry_match_explain_failure -- errInfo.details for a document m rejects. */
void qry_match_explain_failure(const qry_match_t *m, const bson_t *doc, bson_t *details)
{
    xctx_t x = {m, false};
    bson_init(details);
    explain_node(&x, report_root(m), doc, false, details, 0);
    if (details->len > QRY_EXPLAIN_MAX_BYTES) {
        bson_reinit(details);
        x.truncate = true;
        explain_node(&x, report_root(m), doc, false, details, 0);
    }
}
