/*
 * jsonschema.c -- $jsonSchema: parse a JSON Schema (draft 4 subset, with
 * MongoDB's bsonType) into a tree and validate documents against it.
 *
 * As in MongoDB, keywords that concern one JSON type apply only to values of
 * that type (minimum ignores strings; properties ignores arrays), properties
 * that are absent are not validated (only "required" demands presence), and
 * keywords MongoDB does not implement ($ref, $schema, default, definitions,
 * format, id) are refused with FailedToParse rather than silently ignored.
 * The schema tree holds views into the matcher's copy of the filter.
 */
#include "query/jsonschema_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int parse_schema(const bson_t *doc, int depth, bool top, qry__schema_t **out, status_t *st);
#define validate qry__schema_validate

/* qry__schema_free -- free a schema tree. */
void qry__schema_free(qry__schema_t *s)
{
    if (s == NULL)
        return;
    qry__regex_destroy(s->pattern);
    for (size_t i = 0; i < s->nprops; i++)
        qry__schema_free(s->props[i].schema);
    free(s->props);
    free(s->required);
    qry__schema_free(s->additional_schema);
    for (size_t i = 0; i < s->npattern_props; i++) {
        qry__regex_destroy(s->pattern_props[i].re);
        qry__schema_free(s->pattern_props[i].schema);
    }
    free(s->pattern_props);
    for (size_t i = 0; i < s->ndeps; i++) {
        qry__schema_free(s->deps[i].schema);
        free(s->deps[i].required);
    }
    free(s->deps);
    qry__schema_free(s->items);
    schema_list_t *lists[] = {&s->tuple, &s->all_of, &s->any_of, &s->one_of};
    for (size_t l = 0; l < 4; l++) {
        for (size_t i = 0; i < lists[l]->n; i++)
            qry__schema_free(lists[l]->items[i]);
        free(lists[l]->items);
    }
    qry__schema_free(s->additional_items_schema);
    free(s->enum_vals);
    qry__schema_free(s->not_schema);
    free(s);
}

/* View of the document or array at an iterator. */
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

/* A keyword taking a non-negative integer (minLength, maxItems, ...). */
static int parse_count(const bson_iter_t *it, int64_t *out, status_t *st)
{
    const char *kw = bson_iter_key(it);
    const bson_value_t *v = bson_iter_value((bson_iter_t *)it);
    if (!bsonu_is_number(v->value_type))
        return status_set(st, ERR_TypeMismatch, "$jsonSchema keyword '%s' must be a number", kw);
    if (!bsonu_number_as_int64(v, out))
        return status_set(st, ERR_FailedToParse,
                          "$jsonSchema keyword '%s' must be a representable as a long integer", kw);
    if (*out < 0)
        return status_set(st, ERR_FailedToParse,
                          "$jsonSchema keyword '%s' must be a non-negative integer", kw);
    return 0;
}

/* A keyword taking a schema object. */
static int parse_subschema(const bson_iter_t *it, int depth, qry__schema_t **out, status_t *st)
{
    bson_t sub;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !view_iter(it, &sub))
        return status_set(st, ERR_TypeMismatch, "$jsonSchema keyword '%s' must be an object",
                          bson_iter_key(it));
    return parse_schema(&sub, depth + 1, false, out, st);
}

/* allOf / anyOf / oneOf: a non-empty array of schema objects. */
static int parse_list(const bson_iter_t *it, int depth, schema_list_t *out, status_t *st)
{
    const char *kw = bson_iter_key(it);
    bson_t arr;
    bson_iter_t ai;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !view_iter(it, &arr))
        return status_set(st, ERR_TypeMismatch, "$jsonSchema keyword '%s' must be an array", kw);
    uint32_t n = bson_count_keys(&arr);
    if (n == 0)
        return status_set(st, ERR_BadValue, "$jsonSchema keyword '%s' must be a non-empty array",
                          kw);
    out->items = calloc(n, sizeof(*out->items));
    INVARIANT(out->items != NULL);
    bson_iter_init(&ai, &arr);
    while (bson_iter_next(&ai)) {
        bson_t sub;
        if (!BSON_ITER_HOLDS_DOCUMENT(&ai) || !view_iter(&ai, &sub))
            return status_set(st, ERR_TypeMismatch,
                              "$jsonSchema keyword '%s' must be an array of objects, but found "
                              "an element of type %d",
                              kw, (int)bson_iter_type(&ai));
        ST_RET(parse_schema(&sub, depth + 1, false, &out->items[out->n], st));
        out->n++;
    }
    return 0;
}

/* An array of distinct field names (required, property dependencies). */
static int parse_names(const bson_iter_t *it, const char ***out, size_t *n, status_t *st)
{
    const char *kw = bson_iter_key(it);
    bson_t arr;
    bson_iter_t ai;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !view_iter(it, &arr))
        return status_set(st, ERR_TypeMismatch, "$jsonSchema keyword '%s' must be an array", kw);
    uint32_t cnt = bson_count_keys(&arr);
    if (cnt == 0)
        return status_set(st, ERR_FailedToParse,
                          "$jsonSchema keyword '%s' cannot be an empty array", kw);
    *out = calloc(cnt, sizeof(char *));
    INVARIANT(*out != NULL);
    bson_iter_init(&ai, &arr);
    while (bson_iter_next(&ai)) {
        if (!BSON_ITER_HOLDS_UTF8(&ai))
            return status_set(st, ERR_TypeMismatch,
                              "$jsonSchema keyword '%s' must contain only strings", kw);
        const char *name = bson_iter_utf8(&ai, NULL);
        for (size_t i = 0; i < *n; i++)
            if (strcmp((*out)[i], name) == 0)
                return status_set(st, ERR_FailedToParse,
                                  "$jsonSchema keyword '%s' array cannot contain duplicate values",
                                  kw);
        (*out)[(*n)++] = name;
    }
    return 0;
}

/* JSON Schema's "type" names (MongoDB does not support "integer"). */
static int add_json_type(qry__schema_t *s, const bson_value_t *v, status_t *st)
{
    if (v->value_type != BSON_TYPE_UTF8)
        return status_set(st, ERR_TypeMismatch,
                          "$jsonSchema keyword 'type' must be either a string or an array of "
                          "strings");
    const char *t = v->value.v_utf8.str;
    if (strcmp(t, "integer") == 0)
        return status_set(st, ERR_FailedToParse,
                          "$jsonSchema type 'integer' is not currently supported.");
    static const struct {
        const char *name;
        const char *alias;
    } map[] = {{"object", "object"}, {"array", "array"}, {"string", "string"},
               {"boolean", "bool"},  {"null", "null"},   {"number", "number"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, t) == 0) {
            bson_value_t a = {.value_type = BSON_TYPE_UTF8};
            a.value.v_utf8.str = (char *)map[i].alias;
            a.value.v_utf8.len = (uint32_t)strlen(map[i].alias);
            return qry__type_add(&a, s->types, &s->all_numbers, "type", st);
        }
    return status_set(st, ERR_BadValue, "Unknown type name alias: %s", t);
}

/* "type" or "bsonType": a name or a non-empty array of names. */
static int parse_type_kw(qry__schema_t *s, const bson_iter_t *it, bool json, status_t *st)
{
    const char *kw = bson_iter_key(it);
    if (BSON_ITER_HOLDS_ARRAY(it)) {
        bson_t arr;
        bson_iter_t ai;
        view_iter(it, &arr);
        if (bson_empty(&arr))
            return status_set(st, ERR_FailedToParse,
                              "$jsonSchema keyword '%s' must name at least one type", kw);
        bson_iter_init(&ai, &arr);
        while (bson_iter_next(&ai)) {
            const bson_value_t *v = bson_iter_value(&ai);
            if (json)
                ST_RET(add_json_type(s, v, st));
            else if (v->value_type != BSON_TYPE_UTF8)
                return status_set(st, ERR_TypeMismatch,
                                  "$jsonSchema keyword 'bsonType' must be either a string or an "
                                  "array of strings");
            else
                ST_RET(qry__type_add(v, s->types, &s->all_numbers, "bsonType", st));
        }
    } else if (json) {
        ST_RET(add_json_type(s, bson_iter_value((bson_iter_t *)it), st));
    } else {
        if (!BSON_ITER_HOLDS_UTF8(it))
            return status_set(st, ERR_TypeMismatch,
                              "$jsonSchema keyword 'bsonType' must be either a string or an "
                              "array of strings");
        ST_RET(qry__type_add(bson_iter_value((bson_iter_t *)it), s->types, &s->all_numbers,
                             "bsonType", st));
    }
    s->has_type = true;
    return 0;
}

/* "properties": {name: schema, ...}. */
static int parse_properties(qry__schema_t *s, const bson_iter_t *it, int depth, status_t *st)
{
    bson_t obj;
    bson_iter_t oi;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !view_iter(it, &obj))
        return status_set(st, ERR_TypeMismatch,
                          "$jsonSchema keyword 'properties' must be an object");
    uint32_t n = bson_count_keys(&obj);
    s->props = calloc(n ? n : 1, sizeof(prop_t));
    INVARIANT(s->props != NULL);
    bson_iter_init(&oi, &obj);
    while (bson_iter_next(&oi)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&oi))
            return status_set(st, ERR_TypeMismatch,
                              "Nested schema for $jsonSchema property '%s' must be an object",
                              bson_iter_key(&oi));
        s->props[s->nprops].name = bson_iter_key(&oi);
        ST_RET(parse_subschema(&oi, depth, &s->props[s->nprops].schema, st));
        s->nprops++;
    }
    return 0;
}

/* "patternProperties": {regex: schema, ...}. */
static int parse_pattern_properties(qry__schema_t *s, const bson_iter_t *it, int depth,
                                    status_t *st)
{
    bson_t obj;
    bson_iter_t oi;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !view_iter(it, &obj))
        return status_set(st, ERR_TypeMismatch,
                          "$jsonSchema keyword 'patternProperties' must be an object");
    uint32_t n = bson_count_keys(&obj);
    s->pattern_props = calloc(n ? n : 1, sizeof(pattern_prop_t));
    INVARIANT(s->pattern_props != NULL);
    bson_iter_init(&oi, &obj);
    while (bson_iter_next(&oi)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&oi))
            return status_set(st, ERR_TypeMismatch,
                              "$jsonSchema keyword 'patternProperties' has property '%s' which "
                              "is not an object",
                              bson_iter_key(&oi));
        const char *k = bson_iter_key(&oi);
        pattern_prop_t *pp = &s->pattern_props[s->npattern_props];
        ST_RET(qry__regex_compile(k, strlen(k), "", &pp->re, st));
        s->npattern_props++;
        ST_RET(parse_subschema(&oi, depth, &pp->schema, st));
    }
    return 0;
}

/* "dependencies": {name: schema | [names]}. */
static int parse_dependencies(qry__schema_t *s, const bson_iter_t *it, int depth, status_t *st)
{
    bson_t obj;
    bson_iter_t oi;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !view_iter(it, &obj))
        return status_set(st, ERR_TypeMismatch,
                          "$jsonSchema keyword 'dependencies' must be an object");
    uint32_t n = bson_count_keys(&obj);
    s->deps = calloc(n ? n : 1, sizeof(dependency_t));
    INVARIANT(s->deps != NULL);
    bson_iter_init(&oi, &obj);
    while (bson_iter_next(&oi)) {
        dependency_t *d = &s->deps[s->ndeps++];
        d->name = bson_iter_key(&oi);
        if (BSON_ITER_HOLDS_DOCUMENT(&oi))
            ST_RET(parse_subschema(&oi, depth, &d->schema, st));
        else if (BSON_ITER_HOLDS_ARRAY(&oi))
            ST_RET(parse_names(&oi, &d->required, &d->nrequired, st));
        else
            return status_set(st, ERR_TypeMismatch,
                              "property '%s' in $jsonSchema keyword 'dependencies' must be "
                              "either an object or an array",
                              d->name);
    }
    return 0;
}

/* "enum": a non-empty array of values. */
static int parse_enum(qry__schema_t *s, const bson_iter_t *it, status_t *st)
{
    bson_t arr;
    bson_iter_t ai;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !view_iter(it, &arr))
        return status_set(st, ERR_TypeMismatch, "$jsonSchema keyword 'enum' must be an array");
    uint32_t n = bson_count_keys(&arr);
    if (n == 0)
        return status_set(st, ERR_FailedToParse,
                          "$jsonSchema keyword 'enum' cannot be an empty array");
    s->enum_vals = calloc(n, sizeof(bson_value_t));
    INVARIANT(s->enum_vals != NULL);
    bson_iter_init(&ai, &arr);
    while (bson_iter_next(&ai)) {
        for (size_t i = 0; i < s->nenum; i++)
            if (bsonu_equal_value(&s->enum_vals[i], bson_iter_value(&ai)))
                return status_set(st, ERR_FailedToParse,
                                  "$jsonSchema keyword 'enum' array cannot contain duplicate "
                                  "values");
        s->enum_vals[s->nenum++] = *bson_iter_value(&ai);
    }
    return 0;
}

/* "additionalProperties" / "additionalItems": a boolean or a schema. */
static int parse_additional(const bson_iter_t *it, int depth, int *mode, qry__schema_t **schema,
                            status_t *st)
{
    if (BSON_ITER_HOLDS_BOOL(it)) {
        *mode = bson_iter_bool(it) ? 0 : 1;
        return 0;
    }
    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        *mode = 2;
        return parse_subschema(it, depth, schema, st);
    }
    return status_set(st, ERR_TypeMismatch,
                      "$jsonSchema keyword '%s' must be either an object or a boolean",
                      bson_iter_key(it));
}

/* Whether kw is a keyword MongoDB knows but does not implement. */
static bool unsupported_kw(const char *kw)
{
    static const char *const kws[] = {"$ref",   "$schema", "default", "definitions",
                                      "format", "id",      NULL};
    for (int i = 0; kws[i]; i++)
        if (strcmp(kws[i], kw) == 0)
            return true;
    return false;
}

/* One keyword of a schema object. */
static int parse_keyword(qry__schema_t *s, const bson_iter_t *it, int depth, status_t *st)
{
    const char *kw = bson_iter_key(it);
    const bson_value_t *v = bson_iter_value((bson_iter_t *)it);

    if (strcmp(kw, "type") == 0)
        return parse_type_kw(s, it, true, st);
    if (strcmp(kw, "bsonType") == 0)
        return parse_type_kw(s, it, false, st);
    if (strcmp(kw, "minimum") == 0 || strcmp(kw, "maximum") == 0) {
        if (!bsonu_is_number(v->value_type))
            return status_set(st, ERR_TypeMismatch, "$jsonSchema keyword '%s' must be a number",
                              kw);
        if (kw[1] == 'i') {
            s->min_v = *v;
            s->minimum = &s->min_v;
        } else {
            s->max_v = *v;
            s->maximum = &s->max_v;
        }
        return 0;
    }
    if (strcmp(kw, "multipleOf") == 0) {
        if (!bsonu_is_number(v->value_type))
            return status_set(st, ERR_TypeMismatch,
                              "$jsonSchema keyword 'multipleOf' must be a number");
        bson_value_t zero = {.value_type = BSON_TYPE_INT32};
        zero.value.v_int32 = 0;
        double d = 0;
        if (bsonu_compare_value(v, &zero) <= 0 || (bsonu_number_as_double(v, &d) && d != d))
            return status_set(st, ERR_FailedToParse,
                              "$jsonSchema keyword 'multipleOf' must have a positive value");
        s->mult_v = *v;
        s->multiple_of = &s->mult_v;
        return 0;
    }
    if (strcmp(kw, "exclusiveMinimum") == 0 || strcmp(kw, "exclusiveMaximum") == 0) {
        if (!BSON_ITER_HOLDS_BOOL(it))
            return status_set(st, ERR_TypeMismatch, "$jsonSchema keyword '%s' must be a boolean",
                              kw);
        if (strcmp(kw, "exclusiveMinimum") == 0)
            s->exclusive_min = bson_iter_bool(it);
        else
            s->exclusive_max = bson_iter_bool(it);
        return 0;
    }
    if (strcmp(kw, "minLength") == 0)
        return parse_count(it, &s->min_length, st);
    if (strcmp(kw, "maxLength") == 0)
        return parse_count(it, &s->max_length, st);
    if (strcmp(kw, "pattern") == 0) {
        if (!BSON_ITER_HOLDS_UTF8(it))
            return status_set(st, ERR_TypeMismatch,
                              "$jsonSchema keyword 'pattern' must be a string");
        return qry__regex_compile(v->value.v_utf8.str, v->value.v_utf8.len, "", &s->pattern, st);
    }
    if (strcmp(kw, "properties") == 0)
        return parse_properties(s, it, depth, st);
    if (strcmp(kw, "required") == 0)
        return parse_names(it, &s->required, &s->nrequired, st);
    if (strcmp(kw, "additionalProperties") == 0)
        return parse_additional(it, depth, &s->additional, &s->additional_schema, st);
    if (strcmp(kw, "patternProperties") == 0)
        return parse_pattern_properties(s, it, depth, st);
    if (strcmp(kw, "minProperties") == 0)
        return parse_count(it, &s->min_props, st);
    if (strcmp(kw, "maxProperties") == 0)
        return parse_count(it, &s->max_props, st);
    if (strcmp(kw, "dependencies") == 0)
        return parse_dependencies(s, it, depth, st);
    if (strcmp(kw, "items") == 0) {
        if (BSON_ITER_HOLDS_DOCUMENT(it))
            return parse_subschema(it, depth, &s->items, st);
        if (BSON_ITER_HOLDS_ARRAY(it)) {
            bson_t arr;
            view_iter(it, &arr);
            s->has_tuple = true;
            if (bson_empty(&arr))
                return 0;
            return parse_list(it, depth, &s->tuple, st);
        }
        return status_set(st, ERR_TypeMismatch,
                          "$jsonSchema keyword 'items' must be an array or an object");
    }
    if (strcmp(kw, "additionalItems") == 0)
        return parse_additional(it, depth, &s->additional_items, &s->additional_items_schema, st);
    if (strcmp(kw, "minItems") == 0)
        return parse_count(it, &s->min_items, st);
    if (strcmp(kw, "maxItems") == 0)
        return parse_count(it, &s->max_items, st);
    if (strcmp(kw, "uniqueItems") == 0) {
        if (!BSON_ITER_HOLDS_BOOL(it))
            return status_set(st, ERR_TypeMismatch,
                              "$jsonSchema keyword 'uniqueItems' must be a boolean");
        s->unique_items = bson_iter_bool(it);
        return 0;
    }
    if (strcmp(kw, "enum") == 0)
        return parse_enum(s, it, st);
    if (strcmp(kw, "allOf") == 0)
        return parse_list(it, depth, &s->all_of, st);
    if (strcmp(kw, "anyOf") == 0)
        return parse_list(it, depth, &s->any_of, st);
    if (strcmp(kw, "oneOf") == 0)
        return parse_list(it, depth, &s->one_of, st);
    if (strcmp(kw, "not") == 0)
        return parse_subschema(it, depth, &s->not_schema, st);
    if (strcmp(kw, "title") == 0 || strcmp(kw, "description") == 0) {
        if (!BSON_ITER_HOLDS_UTF8(it))
            return status_set(st, ERR_TypeMismatch, "$jsonSchema keyword '%s' must be a string",
                              kw);
        return 0; /* annotations only */
    }
    if (unsupported_kw(kw))
        return status_set(st, ERR_FailedToParse,
                          "$jsonSchema keyword '%s' is not currently supported", kw);
    if (strcmp(kw, "encrypt") == 0 || strcmp(kw, "encryptMetadata") == 0)
        return status_set(st, ERR_NotImplemented,
                          "$jsonSchema keyword '%s' is not supported: Mica has no client-side "
                          "field level encryption",
                          kw);
    return status_set(st, ERR_FailedToParse, "Unknown $jsonSchema keyword: %s", kw);
}

/* parse_schema -- one schema object. */
static int parse_schema(const bson_t *doc, int depth, bool top, qry__schema_t **out, status_t *st)
{
    bson_iter_t it;
    *out = NULL;
    if (depth > QRY__MATCH_MAX_DEPTH)
        return status_set(st, ERR_BadValue, "exceeded maximum $jsonSchema depth of %d",
                          QRY__MATCH_MAX_DEPTH);
    if (bson_iter_init_find(&it, doc, "type") && bson_iter_init_find(&it, doc, "bsonType"))
        return status_set(st, ERR_FailedToParse,
                          "Cannot specify both $jsonSchema keywords 'type' and 'bsonType'");
    qry__schema_t *s = calloc(1, sizeof(*s));
    INVARIANT(s != NULL);
    s->min_length = s->max_length = -1;
    s->min_props = s->max_props = -1;
    s->min_items = s->max_items = -1;
    s->src = bson_get_data(doc);
    s->src_len = doc->len;
    int ret = 0;
    if (!bson_iter_init(&it, doc)) {
        ret = status_set(st, ERR_InvalidBSON, "invalid BSON in $jsonSchema");
        goto err;
    }
    while (bson_iter_next(&it))
        ST_ERR(parse_keyword(s, &it, depth, st));
    if (s->exclusive_min && s->minimum == NULL) {
        ret = status_set(st, ERR_FailedToParse,
                         "$jsonSchema keyword 'minimum' must be a present if exclusiveMinimum is "
                         "present");
        goto err;
    }
    if (s->exclusive_max && s->maximum == NULL) {
        ret = status_set(st, ERR_FailedToParse,
                         "$jsonSchema keyword 'maximum' must be a present if exclusiveMaximum is "
                         "present");
        goto err;
    }
    (void)top;
    *out = s;
    return 0;
err:
    qry__schema_free(s);
    return ret;
}

/* qry__schema_parse -- parse a $jsonSchema document. */
int qry__schema_parse(const bson_t *schema, qry__schema_t **out, status_t *st)
{
    return parse_schema(schema, 0, true, out, st);
}

/* qry__schema_utf8_len -- length of a UTF-8 string in code points, as JSON Schema counts it. */
int64_t qry__schema_utf8_len(const char *s, uint32_t len)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < len; i++)
        if (((uint8_t)s[i] & 0xC0) != 0x80)
            n++;
    return n;
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

/* qry__schema_same_value -- v equals e for enum/uniqueItems: same canonical type and equal. */
bool qry__schema_same_value(const bson_value_t *a, const bson_value_t *b)
{
    return bsonu_canonical_type(a->value_type) == bsonu_canonical_type(b->value_type) &&
           bsonu_equal_value(a, b);
}

/* The object keywords on a document value. */
static bool validate_object(const qry__schema_t *s, const bson_t *obj, int depth)
{
    bson_iter_t it;
    for (size_t i = 0; i < s->nrequired; i++)
        if (!bson_iter_init_find(&it, obj, s->required[i]))
            return false;
    if (s->min_props >= 0 || s->max_props >= 0) {
        int64_t n = bson_count_keys(obj);
        if (s->min_props >= 0 && n < s->min_props)
            return false;
        if (s->max_props >= 0 && n > s->max_props)
            return false;
    }
    for (size_t i = 0; i < s->ndeps; i++) {
        const dependency_t *d = &s->deps[i];
        if (!bson_iter_init_find(&it, obj, d->name))
            continue;
        if (d->schema != NULL) {
            bson_value_t whole = {.value_type = BSON_TYPE_DOCUMENT};
            whole.value.v_doc.data = (uint8_t *)bson_get_data(obj);
            whole.value.v_doc.data_len = obj->len;
            if (!validate(d->schema, &whole, depth + 1))
                return false;
        }
        for (size_t r = 0; r < d->nrequired; r++)
            if (!bson_iter_init_find(&it, obj, d->required[r]))
                return false;
    }
    if (s->nprops == 0 && s->npattern_props == 0 && s->additional == 0)
        return true;
    if (!bson_iter_init(&it, obj))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        bool named = false;
        for (size_t i = 0; i < s->nprops; i++)
            if (strcmp(s->props[i].name, k) == 0) {
                named = true;
                if (!validate(s->props[i].schema, v, depth + 1))
                    return false;
            }
        for (size_t i = 0; i < s->npattern_props; i++)
            if (qry__regex_match(s->pattern_props[i].re, k, strlen(k))) {
                named = true;
                if (!validate(s->pattern_props[i].schema, v, depth + 1))
                    return false;
            }
        if (!named && s->additional == 1)
            return false;
        if (!named && s->additional == 2 && !validate(s->additional_schema, v, depth + 1))
            return false;
    }
    return true;
}

/* The array keywords on an array value. */
static bool validate_array(const qry__schema_t *s, const bson_t *arr, int depth)
{
    bson_iter_t it;
    int64_t n = bson_count_keys(arr);
    if (s->min_items >= 0 && n < s->min_items)
        return false;
    if (s->max_items >= 0 && n > s->max_items)
        return false;
    if (!bson_iter_init(&it, arr))
        return false;
    for (size_t i = 0; bson_iter_next(&it); i++) {
        const bson_value_t *v = bson_iter_value(&it);
        if (s->items != NULL && !validate(s->items, v, depth + 1))
            return false;
        if (s->has_tuple) {
            if (i < s->tuple.n) {
                if (!validate(s->tuple.items[i], v, depth + 1))
                    return false;
            } else if (s->additional_items == 1) {
                return false;
            } else if (s->additional_items == 2 &&
                       !validate(s->additional_items_schema, v, depth + 1)) {
                return false;
            }
        }
        if (s->unique_items) {
            bson_iter_t prev;
            bson_iter_init(&prev, arr);
            for (size_t j = 0; j < i && bson_iter_next(&prev); j++)
                if (qry__schema_same_value(bson_iter_value(&prev), v))
                    return false;
        }
    }
    return true;
}

/* qry__schema_validate -- whether v satisfies s. */
bool qry__schema_validate(const qry__schema_t *s, const bson_value_t *v, int depth)
{
    if (depth > QRY__MATCH_MAX_DEPTH * 2)
        return false;
    if (s->has_type && !qry__type_test(s->types, s->all_numbers, v->value_type))
        return false;
    if (bsonu_is_number(v->value_type)) {
        if (s->minimum != NULL) {
            int c = bsonu_compare_value(v, s->minimum);
            if (c < 0 || (c == 0 && s->exclusive_min))
                return false;
        }
        if (s->maximum != NULL) {
            int c = bsonu_compare_value(v, s->maximum);
            if (c > 0 || (c == 0 && s->exclusive_max))
                return false;
        }
        if (s->multiple_of != NULL && !qry__schema_multiple_ok(s, v))
            return false;
    }
    if (v->value_type == BSON_TYPE_UTF8) {
        int64_t len = qry__schema_utf8_len(v->value.v_utf8.str, v->value.v_utf8.len);
        if (s->min_length >= 0 && len < s->min_length)
            return false;
        if (s->max_length >= 0 && len > s->max_length)
            return false;
        if (s->pattern != NULL &&
            !qry__regex_match(s->pattern, v->value.v_utf8.str, v->value.v_utf8.len))
            return false;
    }
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_t obj;
        if (!view_of(v, &obj) || !validate_object(s, &obj, depth))
            return false;
    }
    if (v->value_type == BSON_TYPE_ARRAY) {
        bson_t arr;
        if (!view_of(v, &arr) || !validate_array(s, &arr, depth))
            return false;
    }
    if (s->nenum > 0) {
        bool found = false;
        for (size_t i = 0; i < s->nenum && !found; i++)
            found = qry__schema_same_value(&s->enum_vals[i], v);
        if (!found)
            return false;
    }
    for (size_t i = 0; i < s->all_of.n; i++)
        if (!validate(s->all_of.items[i], v, depth + 1))
            return false;
    if (s->any_of.n > 0) {
        bool any = false;
        for (size_t i = 0; i < s->any_of.n && !any; i++)
            any = validate(s->any_of.items[i], v, depth + 1);
        if (!any)
            return false;
    }
    if (s->one_of.n > 0) {
        size_t count = 0;
        for (size_t i = 0; i < s->one_of.n && count < 2; i++)
            count += validate(s->one_of.items[i], v, depth + 1) ? 1 : 0;
        if (count != 1)
            return false;
    }
    if (s->not_schema != NULL && validate(s->not_schema, v, depth + 1))
        return false;
    return true;
}

/* qry__schema_multiple_ok -- v / multipleOf is a whole number (as doubles, as MongoDB's fmod). */
bool qry__schema_multiple_ok(const qry__schema_t *s, const bson_value_t *v)
{
    double x = 0, m = 1;
    if (s->multiple_of == NULL || !bsonu_number_as_double(v, &x) ||
        !bsonu_number_as_double(s->multiple_of, &m))
        return true;
    if (isnan(x) || isinf(x))
        return false;
    return fmod(x, m) == 0.0;
}

/* qry__schema_matches -- whether the root document satisfies the schema. */
bool qry__schema_matches(const qry__schema_t *s, const bson_t *doc)
{
    bson_value_t root = {.value_type = BSON_TYPE_DOCUMENT};
    root.value.v_doc.data = (uint8_t *)bson_get_data(doc);
    root.value.v_doc.data_len = doc->len;
    return validate(s, &root, 0);
}
