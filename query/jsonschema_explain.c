/*
 * jsonschema_explain.c -- why a document fails a $jsonSchema, in the shape
 * MongoDB 5.0+ reports under errInfo.details of DocumentValidationFailure (121):
 *
 *   {operatorName: "$jsonSchema", schemaRulesNotSatisfied: [
 *      {operatorName: "properties", propertiesNotSatisfied: [
 *         {propertyName: "a", details: [{operatorName: "minimum",
 *            specifiedAs: {minimum: 1}, reason: "comparison failed", consideredValue: 0}]}]},
 *      {operatorName: "required", specifiedAs: {required: [...]}, missingProperties: [...]}]}
 *
 * A schema's failing keywords are listed in the order MongoDB's schema parser
 * builds them: scalar keywords (maximum, minimum, maxLength, minLength, pattern,
 * multipleOf), array keywords, object keywords, logical keywords, then type.
 * Like MongoDB, a keyword only explains a value of the JSON type it concerns
 * (minimum says nothing about a string: an explicit type keyword does).
 * specifiedAs quotes the keyword from the schema as written (s->src).
 */
#include "query/jsonschema_int.h"

#include <string.h>

/* an array under construction: bson_t plus the next index key */
typedef struct arr {
    bson_t b;
    uint32_t n;
} arr_t;

static void arr_doc_begin(arr_t *a, bson_t *child)
{
    char buf[16];
    const char *key;
    bson_uint32_to_string(a->n++, &key, buf, sizeof(buf));
    bson_append_document_begin(&a->b, key, -1, child);
}

static void arr_value(arr_t *a, const bson_value_t *v)
{
    char buf[16];
    const char *key;
    bson_uint32_to_string(a->n++, &key, buf, sizeof(buf));
    bson_append_value(&a->b, key, -1, v);
}

static void arr_utf8(arr_t *a, const char *s)
{
    char buf[16];
    const char *key;
    bson_uint32_to_string(a->n++, &key, buf, sizeof(buf));
    bson_append_utf8(&a->b, key, -1, s, -1);
}

static void arr_int(arr_t *a, int32_t i)
{
    char buf[16];
    const char *key;
    bson_uint32_to_string(a->n++, &key, buf, sizeof(buf));
    bson_append_int32(&a->b, key, -1, i);
}

static void schema_errors(const qry__schema_t *s, const bson_value_t *v, int depth, arr_t *out);

/* The keyword element of the schema as written; false if absent. */
static bool src_find(const qry__schema_t *s, const char *kw, bson_iter_t *it)
{
    bson_t src;
    return s->src != NULL && bson_init_static(&src, s->src, s->src_len) &&
           bson_iter_init_find(it, &src, kw);
}

/* specifiedAs: {kw: <as written>[, extra: <as written>]}. */
static void specified_as(bson_t *e, const qry__schema_t *s, const char *kw, const char *extra)
{
    bson_t spec;
    bson_iter_t it;
    BSON_APPEND_DOCUMENT_BEGIN(e, "specifiedAs", &spec);
    if (src_find(s, kw, &it))
        bson_append_iter(&spec, kw, -1, &it);
    if (extra != NULL && src_find(s, extra, &it))
        bson_append_iter(&spec, extra, -1, &it);
    bson_append_document_end(e, &spec);
}

/* title and description of a subschema, which MongoDB copies beside its errors. */
static void annotations(bson_t *e, const qry__schema_t *s)
{
    bson_iter_t it;
    if (src_find(s, "title", &it))
        bson_append_iter(e, "title", -1, &it);
    if (src_find(s, "description", &it))
        bson_append_iter(e, "description", -1, &it);
}

/* A leaf keyword error: {operatorName, specifiedAs, reason, consideredValue}. */
static void leaf_error(arr_t *out, const qry__schema_t *s, const char *kw, const char *extra,
                       const char *reason, const bson_value_t *v)
{
    bson_t e;
    arr_doc_begin(out, &e);
    BSON_APPEND_UTF8(&e, "operatorName", kw);
    specified_as(&e, s, kw, extra);
    BSON_APPEND_UTF8(&e, "reason", reason);
    bson_append_value(&e, "consideredValue", -1, v);
    bson_append_document_end(&out->b, &e);
}

/* details: [...] of a subschema on v; false (nothing appended) if v satisfies it. */
static bool sub_details(bson_t *e, const char *field, const qry__schema_t *sub,
                        const bson_value_t *v, int depth)
{
    arr_t d = {.n = 0};
    bson_init(&d.b);
    schema_errors(sub, v, depth + 1, &d);
    bool any = d.n > 0;
    if (any)
        BSON_APPEND_ARRAY(e, field, &d.b);
    bson_destroy(&d.b);
    return any;
}

static bool view_value(const bson_value_t *v, bson_t *out)
{
    if (v->value.v_doc.data == NULL ||
        !bson_init_static(out, v->value.v_doc.data, v->value.v_doc.data_len)) {
        bson_init(out);
        return false;
    }
    return true;
}

/* Scalar keywords: maximum, minimum, maxLength, minLength, pattern, multipleOf. */
static void scalar_errors(const qry__schema_t *s, const bson_value_t *v, arr_t *out)
{
    if (bsonu_is_number(v->value_type)) {
        if (s->maximum != NULL) {
            int c = bsonu_compare_value(v, s->maximum);
            if (c > 0 || (c == 0 && s->exclusive_max))
                leaf_error(out, s, "maximum", "exclusiveMaximum", "comparison failed", v);
        }
        if (s->minimum != NULL) {
            int c = bsonu_compare_value(v, s->minimum);
            if (c < 0 || (c == 0 && s->exclusive_min))
                leaf_error(out, s, "minimum", "exclusiveMinimum", "comparison failed", v);
        }
    }
    if (v->value_type == BSON_TYPE_UTF8) {
        int64_t len = qry__schema_utf8_len(v->value.v_utf8.str, v->value.v_utf8.len);
        if (s->max_length >= 0 && len > s->max_length)
            leaf_error(out, s, "maxLength", NULL, "specified string length was not satisfied", v);
        if (s->min_length >= 0 && len < s->min_length)
            leaf_error(out, s, "minLength", NULL, "specified string length was not satisfied", v);
        if (s->pattern != NULL &&
            !qry__regex_match(s->pattern, v->value.v_utf8.str, v->value.v_utf8.len))
            leaf_error(out, s, "pattern", NULL, "regular expression did not match", v);
    }
    if (bsonu_is_number(v->value_type) && s->multiple_of != NULL && !qry__schema_multiple_ok(s, v))
        leaf_error(out, s, "multipleOf", NULL,
                   "considered value is not a multiple of the specified value", v);
}

/* minItems / maxItems. */
static void items_count_error(arr_t *out, const qry__schema_t *s, const char *kw,
                              const bson_value_t *v, int64_t n)
{
    bson_t e;
    arr_doc_begin(out, &e);
    BSON_APPEND_UTF8(&e, "operatorName", kw);
    specified_as(&e, s, kw, NULL);
    BSON_APPEND_UTF8(&e, "reason", "array did not match specified length");
    bson_append_value(&e, "consideredValue", -1, v);
    BSON_APPEND_INT32(&e, "numberOfItems", (int32_t)n);
    bson_append_document_end(&out->b, &e);
}

/* One element failing a single-schema array keyword (items, additionalItems: {schema}). */
static void item_schema_error(arr_t *out, const char *kw, const char *reason,
                              const qry__schema_t *sub, int32_t index, const bson_value_t *elem,
                              int depth)
{
    bson_t e;
    arr_doc_begin(out, &e);
    BSON_APPEND_UTF8(&e, "operatorName", kw);
    annotations(&e, sub);
    BSON_APPEND_UTF8(&e, "reason", reason);
    BSON_APPEND_INT32(&e, "itemIndex", index);
    sub_details(&e, "details", sub, elem, depth);
    bson_append_document_end(&out->b, &e);
}

/* Array keywords: minItems, maxItems, uniqueItems, items, additionalItems. */
static void array_errors(const qry__schema_t *s, const bson_value_t *v, int depth, arr_t *out)
{
    bson_t arr;
    bson_iter_t it;
    if (!view_value(v, &arr))
        return;
    int64_t n = bson_count_keys(&arr);
    if (s->min_items >= 0 && n < s->min_items)
        items_count_error(out, s, "minItems", v, n);
    if (s->max_items >= 0 && n > s->max_items)
        items_count_error(out, s, "maxItems", v, n);
    if (s->unique_items && bson_iter_init(&it, &arr)) {
        const bson_value_t *dup = NULL;
        for (size_t i = 0; dup == NULL && bson_iter_next(&it); i++) {
            bson_iter_t prev;
            bson_iter_init(&prev, &arr);
            for (size_t j = 0; j < i && bson_iter_next(&prev); j++)
                if (qry__schema_same_value(bson_iter_value(&prev), bson_iter_value(&it))) {
                    dup = bson_iter_value(&it);
                    break;
                }
        }
        if (dup != NULL) {
            bson_t e;
            arr_doc_begin(out, &e);
            BSON_APPEND_UTF8(&e, "operatorName", "uniqueItems");
            specified_as(&e, s, "uniqueItems", NULL);
            BSON_APPEND_UTF8(&e, "reason", "found a duplicate item");
            bson_append_value(&e, "consideredValue", -1, v);
            bson_append_value(&e, "duplicatedValue", -1, dup);
            bson_append_document_end(&out->b, &e);
        }
    }
    if (s->items != NULL && bson_iter_init(&it, &arr)) {
        for (int32_t i = 0; bson_iter_next(&it); i++)
            if (!qry__schema_validate(s->items, bson_iter_value(&it), depth + 1)) {
                item_schema_error(out, "items", "At least one item did not match the sub-schema",
                                  s->items, i, bson_iter_value(&it), depth);
                break;
            }
    }
    if (s->has_tuple && bson_iter_init(&it, &arr)) {
        arr_t d = {.n = 0};
        bson_init(&d.b);
        for (int32_t i = 0; (size_t)i < s->tuple.n && bson_iter_next(&it); i++) {
            if (qry__schema_validate(s->tuple.items[i], bson_iter_value(&it), depth + 1))
                continue;
            bson_t e;
            arr_doc_begin(&d, &e);
            BSON_APPEND_INT32(&e, "itemIndex", i);
            sub_details(&e, "details", s->tuple.items[i], bson_iter_value(&it), depth);
            bson_append_document_end(&d.b, &e);
        }
        if (d.n > 0) {
            bson_t e;
            arr_doc_begin(out, &e);
            BSON_APPEND_UTF8(&e, "operatorName", "items");
            BSON_APPEND_ARRAY(&e, "details", &d.b);
            bson_append_document_end(&out->b, &e);
        }
        bson_destroy(&d.b);
        /* additionalItems: the elements past the tuple */
        if (s->additional_items == 1 && (size_t)n > s->tuple.n) {
            arr_t extra = {.n = 0};
            bson_init(&extra.b);
            bson_iter_init(&it, &arr);
            for (size_t i = 0; bson_iter_next(&it); i++)
                if (i >= s->tuple.n)
                    arr_value(&extra, bson_iter_value(&it));
            bson_t e;
            arr_doc_begin(out, &e);
            BSON_APPEND_UTF8(&e, "operatorName", "additionalItems");
            specified_as(&e, s, "additionalItems", NULL);
            BSON_APPEND_UTF8(&e, "reason", "found additional items");
            BSON_APPEND_ARRAY(&e, "additionalItems", &extra.b);
            bson_append_document_end(&out->b, &e);
            bson_destroy(&extra.b);
        } else if (s->additional_items == 2) {
            bson_iter_init(&it, &arr);
            for (int32_t i = 0; bson_iter_next(&it); i++) {
                if ((size_t)i < s->tuple.n || qry__schema_validate(s->additional_items_schema,
                                                                   bson_iter_value(&it), depth + 1))
                    continue;
                item_schema_error(out, "additionalItems",
                                  "At least one additional item did not match the sub-schema",
                                  s->additional_items_schema, i, bson_iter_value(&it), depth);
                break;
            }
        }
    }
}

/* Whether property k is named by properties or matched by a patternProperties regex. */
static bool is_named(const qry__schema_t *s, const char *k)
{
    for (size_t i = 0; i < s->nprops; i++)
        if (strcmp(s->props[i].name, k) == 0)
            return true;
    for (size_t i = 0; i < s->npattern_props; i++)
        if (qry__regex_match(s->pattern_props[i].re, k, strlen(k)))
            return true;
    return false;
}

/* properties: one entry per failing property, in the schema's order. */
static void properties_error(const qry__schema_t *s, const bson_t *obj, int depth, arr_t *out)
{
    arr_t d = {.n = 0};
    bson_init(&d.b);
    for (size_t i = 0; i < s->nprops; i++) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, obj, s->props[i].name))
            continue;
        if (qry__schema_validate(s->props[i].schema, bson_iter_value(&it), depth + 1))
            continue;
        bson_t e;
        arr_doc_begin(&d, &e);
        BSON_APPEND_UTF8(&e, "propertyName", s->props[i].name);
        annotations(&e, s->props[i].schema);
        sub_details(&e, "details", s->props[i].schema, bson_iter_value(&it), depth);
        bson_append_document_end(&d.b, &e);
    }
    if (d.n > 0) {
        bson_t e;
        arr_doc_begin(out, &e);
        BSON_APPEND_UTF8(&e, "operatorName", "properties");
        BSON_APPEND_ARRAY(&e, "propertiesNotSatisfied", &d.b);
        bson_append_document_end(&out->b, &e);
    }
    bson_destroy(&d.b);
}

/* additionalProperties and patternProperties. */
static void allowed_properties_errors(const qry__schema_t *s, const bson_t *obj, int depth,
                                      arr_t *out)
{
    bson_iter_t it;
    if (s->additional == 1) {
        arr_t extra = {.n = 0};
        bson_init(&extra.b);
        bson_iter_init(&it, obj);
        while (bson_iter_next(&it))
            if (!is_named(s, bson_iter_key(&it)))
                arr_utf8(&extra, bson_iter_key(&it));
        if (extra.n > 0) {
            bson_t e;
            arr_doc_begin(out, &e);
            BSON_APPEND_UTF8(&e, "operatorName", "additionalProperties");
            specified_as(&e, s, "additionalProperties", NULL);
            BSON_APPEND_ARRAY(&e, "additionalProperties", &extra.b);
            bson_append_document_end(&out->b, &e);
        }
        bson_destroy(&extra.b);
    } else if (s->additional == 2) {
        bson_iter_init(&it, obj);
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (is_named(s, k) ||
                qry__schema_validate(s->additional_schema, bson_iter_value(&it), depth + 1))
                continue;
            bson_t e;
            arr_doc_begin(out, &e);
            BSON_APPEND_UTF8(&e, "operatorName", "additionalProperties");
            annotations(&e, s->additional_schema);
            BSON_APPEND_UTF8(&e, "reason",
                             "at least one additional property did not match the subschema");
            BSON_APPEND_UTF8(&e, "failingProperty", k);
            sub_details(&e, "details", s->additional_schema, bson_iter_value(&it), depth);
            bson_append_document_end(&out->b, &e);
            break;
        }
    }
    if (s->npattern_props == 0)
        return;
    arr_t d = {.n = 0};
    bson_init(&d.b);
    for (size_t p = 0; p < s->npattern_props; p++) {
        const pattern_prop_t *pp = &s->pattern_props[p];
        bson_iter_init(&it, obj);
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (!qry__regex_match(pp->re, k, strlen(k)) ||
                qry__schema_validate(pp->schema, bson_iter_value(&it), depth + 1))
                continue;
            bson_t e;
            arr_doc_begin(&d, &e);
            BSON_APPEND_UTF8(&e, "propertyName", k);
            annotations(&e, pp->schema);
            BSON_APPEND_UTF8(&e, "regexMatched", qry__regex_pattern(pp->re));
            sub_details(&e, "details", pp->schema, bson_iter_value(&it), depth);
            bson_append_document_end(&d.b, &e);
            break; /* the first failing property per pattern, as MongoDB */
        }
    }
    if (d.n > 0) {
        bson_t e;
        arr_doc_begin(out, &e);
        BSON_APPEND_UTF8(&e, "operatorName", "patternProperties");
        BSON_APPEND_ARRAY(&e, "details", &d.b);
        bson_append_document_end(&out->b, &e);
    }
    bson_destroy(&d.b);
}

/* missingProperties of a name list; false if none is missing. */
static bool missing_list(bson_t *e, const bson_t *obj, const char *const *names, size_t n)
{
    arr_t miss = {.n = 0};
    bson_iter_t it;
    bson_init(&miss.b);
    for (size_t i = 0; i < n; i++)
        if (!bson_iter_init_find(&it, obj, names[i]))
            arr_utf8(&miss, names[i]);
    bool any = miss.n > 0;
    if (any)
        BSON_APPEND_ARRAY(e, "missingProperties", &miss.b);
    bson_destroy(&miss.b);
    return any;
}

/* required, minProperties, maxProperties, dependencies. */
static void object_count_errors(const qry__schema_t *s, const bson_value_t *v, const bson_t *obj,
                                int depth, arr_t *out)
{
    if (s->nrequired > 0) {
        bson_t probe = BSON_INITIALIZER;
        if (missing_list(&probe, obj, s->required, s->nrequired)) {
            bson_t e;
            bson_iter_t mp;
            arr_doc_begin(out, &e);
            BSON_APPEND_UTF8(&e, "operatorName", "required");
            specified_as(&e, s, "required", NULL);
            if (bson_iter_init_find(&mp, &probe, "missingProperties"))
                bson_append_iter(&e, "missingProperties", -1, &mp);
            bson_append_document_end(&out->b, &e);
        }
        bson_destroy(&probe);
    }
    int64_t np = bson_count_keys(obj);
    const char *kws[2] = {"minProperties", "maxProperties"};
    bool fails[2] = {s->min_props >= 0 && np < s->min_props,
                     s->max_props >= 0 && np > s->max_props};
    for (int i = 0; i < 2; i++) {
        if (!fails[i])
            continue;
        bson_t e;
        arr_doc_begin(out, &e);
        BSON_APPEND_UTF8(&e, "operatorName", kws[i]);
        specified_as(&e, s, kws[i], NULL);
        BSON_APPEND_UTF8(&e, "reason", "specified number of properties was not satisfied");
        BSON_APPEND_INT32(&e, "numberOfProperties", (int32_t)np);
        bson_append_document_end(&out->b, &e);
    }
    if (s->ndeps == 0)
        return;
    arr_t d = {.n = 0};
    bson_init(&d.b);
    for (size_t i = 0; i < s->ndeps; i++) {
        const dependency_t *dep = &s->deps[i];
        bson_iter_t it;
        if (!bson_iter_init_find(&it, obj, dep->name))
            continue;
        bson_t e = BSON_INITIALIZER;
        bool failed = false;
        BSON_APPEND_UTF8(&e, "conditionalProperty", dep->name);
        if (dep->schema != NULL && !qry__schema_validate(dep->schema, v, depth + 1))
            failed = sub_details(&e, "details", dep->schema, v, depth);
        if (dep->nrequired > 0)
            failed |= missing_list(&e, obj, dep->required, dep->nrequired);
        if (failed) {
            bson_t slot;
            arr_doc_begin(&d, &slot);
            bson_concat(&slot, &e);
            bson_append_document_end(&d.b, &slot);
        }
        bson_destroy(&e);
    }
    if (d.n > 0) {
        bson_t e;
        arr_doc_begin(out, &e);
        BSON_APPEND_UTF8(&e, "operatorName", "dependencies");
        BSON_APPEND_ARRAY(&e, "failingDependencies", &d.b);
        bson_append_document_end(&out->b, &e);
    }
    bson_destroy(&d.b);
}

/* allOf / anyOf / oneOf's schemasNotSatisfied over the listed subschemas. */
static void list_error(arr_t *out, const char *kw, const schema_list_t *l, const bson_value_t *v,
                       int depth)
{
    arr_t d = {.n = 0};
    bson_init(&d.b);
    for (size_t i = 0; i < l->n; i++) {
        if (qry__schema_validate(l->items[i], v, depth + 1))
            continue;
        bson_t e;
        arr_doc_begin(&d, &e);
        BSON_APPEND_INT32(&e, "index", (int32_t)i);
        annotations(&e, l->items[i]);
        sub_details(&e, "details", l->items[i], v, depth);
        bson_append_document_end(&d.b, &e);
    }
    bson_t e;
    arr_doc_begin(out, &e);
    BSON_APPEND_UTF8(&e, "operatorName", kw);
    BSON_APPEND_ARRAY(&e, "schemasNotSatisfied", &d.b);
    bson_append_document_end(&out->b, &e);
    bson_destroy(&d.b);
}

/* Logical keywords: allOf, anyOf, oneOf, not, enum. */
static void logical_errors(const qry__schema_t *s, const bson_value_t *v, int depth, arr_t *out)
{
    bool all = true, any = s->any_of.n == 0;
    for (size_t i = 0; i < s->all_of.n; i++)
        all &= qry__schema_validate(s->all_of.items[i], v, depth + 1);
    if (!all)
        list_error(out, "allOf", &s->all_of, v, depth);
    for (size_t i = 0; i < s->any_of.n && !any; i++)
        any = qry__schema_validate(s->any_of.items[i], v, depth + 1);
    if (!any)
        list_error(out, "anyOf", &s->any_of, v, depth);
    if (s->one_of.n > 0) {
        arr_t matching = {.n = 0};
        bson_init(&matching.b);
        for (size_t i = 0; i < s->one_of.n; i++)
            if (qry__schema_validate(s->one_of.items[i], v, depth + 1))
                arr_int(&matching, (int32_t)i);
        if (matching.n == 0) {
            list_error(out, "oneOf", &s->one_of, v, depth);
        } else if (matching.n > 1) {
            bson_t e;
            arr_doc_begin(out, &e);
            BSON_APPEND_UTF8(&e, "operatorName", "oneOf");
            BSON_APPEND_UTF8(&e, "reason", "more than one subschema matched");
            BSON_APPEND_ARRAY(&e, "matchingSchemaIndexes", &matching.b);
            bson_append_document_end(&out->b, &e);
        }
        bson_destroy(&matching.b);
    }
    if (s->not_schema != NULL && qry__schema_validate(s->not_schema, v, depth + 1)) {
        bson_t e;
        arr_doc_begin(out, &e);
        BSON_APPEND_UTF8(&e, "operatorName", "not");
        BSON_APPEND_UTF8(&e, "reason", "child expression matched");
        bson_append_document_end(&out->b, &e);
    }
    if (s->nenum > 0) {
        bool found = false;
        for (size_t i = 0; i < s->nenum && !found; i++)
            found = qry__schema_same_value(&s->enum_vals[i], v);
        if (!found)
            leaf_error(out, s, "enum", NULL, "value was not found in enum", v);
    }
}

/* schema_errors -- the failing keywords of s on value v, appended to out. */
static void schema_errors(const qry__schema_t *s, const bson_value_t *v, int depth, arr_t *out)
{
    if (depth > QRY__MATCH_MAX_DEPTH * 2)
        return;
    scalar_errors(s, v, out);
    if (v->value_type == BSON_TYPE_ARRAY)
        array_errors(s, v, depth, out);
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_t obj;
        if (view_value(v, &obj)) {
            properties_error(s, &obj, depth, out);
            allowed_properties_errors(s, &obj, depth, out);
            object_count_errors(s, v, &obj, depth, out);
        }
    }
    logical_errors(s, v, depth, out);
    if (depth > 0 && s->has_type && !qry__type_test(s->types, s->all_numbers, v->value_type)) {
        bson_iter_t it;
        bson_t e;
        const char *kw = src_find(s, "bsonType", &it) ? "bsonType" : "type";
        arr_doc_begin(out, &e);
        BSON_APPEND_UTF8(&e, "operatorName", kw);
        specified_as(&e, s, kw, NULL);
        BSON_APPEND_UTF8(&e, "reason", "type did not match");
        bson_append_value(&e, "consideredValue", -1, v);
        BSON_APPEND_UTF8(&e, "consideredType", bsonu_type_name(v->value_type));
        bson_append_document_end(&out->b, &e);
    }
}

/* qry__schema_explain -- the $jsonSchema node's error object for doc, appended into out. */
void qry__schema_explain(const qry__schema_t *s, const bson_t *doc, bool inverted, bson_t *out)
{
    BSON_APPEND_UTF8(out, "operatorName", "$jsonSchema");
    annotations(out, s);
    if (inverted) {
        BSON_APPEND_UTF8(out, "reason", "schema matched");
        return;
    }
    /* a top-level type that excludes "object" can match no document */
    if (s->has_type && !qry__type_test(s->types, s->all_numbers, BSON_TYPE_DOCUMENT)) {
        bson_t spec, whole;
        BSON_APPEND_DOCUMENT_BEGIN(out, "specifiedAs", &spec);
        if (s->src != NULL && bson_init_static(&whole, s->src, s->src_len))
            BSON_APPEND_DOCUMENT(&spec, "$jsonSchema", &whole);
        bson_append_document_end(out, &spec);
        BSON_APPEND_UTF8(out, "reason", "expression always evaluates to false");
        return;
    }
    bson_value_t root = {.value_type = BSON_TYPE_DOCUMENT};
    root.value.v_doc.data = (uint8_t *)bson_get_data(doc);
    root.value.v_doc.data_len = doc->len;
    arr_t rules = {.n = 0};
    bson_init(&rules.b);
    schema_errors(s, &root, 0, &rules);
    BSON_APPEND_ARRAY(out, "schemaRulesNotSatisfied", &rules.b);
    bson_destroy(&rules.b);
}
