/*
 * jsonschema_int.h -- the parsed $jsonSchema tree, shared by jsonschema.c
 * (parse, validate) and jsonschema_explain.c (why a document failed, in
 * MongoDB's errInfo.details shape). Private to query/.
 */
#ifndef MICA_QUERY_JSONSCHEMA_INT_H
#define MICA_QUERY_JSONSCHEMA_INT_H

#include "query/query_int.h"

typedef struct prop {
    const char *name;
    qry__schema_t *schema;
} prop_t;

typedef struct pattern_prop {
    qry__regex_t *re;
    qry__schema_t *schema;
} pattern_prop_t;

typedef struct dependency {
    const char *name;
    qry__schema_t *schema; /* schema dependency, or NULL for a property list */
    const char **required;
    size_t nrequired;
} dependency_t;

typedef struct schema_list {
    qry__schema_t **items;
    size_t n;
} schema_list_t;

struct qry__schema {
    /* the schema object as written (a view into the matcher's filter copy):
     * error details quote its keywords as specifiedAs */
    const uint8_t *src;
    uint32_t src_len;

    bool has_type;
    uint8_t types[32];
    bool all_numbers;

    const bson_value_t *minimum, *maximum, *multiple_of;
    bson_value_t min_v, max_v, mult_v;
    bool exclusive_min, exclusive_max;

    int64_t min_length, max_length; /* -1: unset */
    qry__regex_t *pattern;

    prop_t *props;
    size_t nprops;
    const char **required;
    size_t nrequired;
    int additional; /* 0: any, 1: false, 2: schema */
    qry__schema_t *additional_schema;
    pattern_prop_t *pattern_props;
    size_t npattern_props;
    int64_t min_props, max_props;
    dependency_t *deps;
    size_t ndeps;

    qry__schema_t *items; /* one schema for every element */
    schema_list_t tuple;  /* items as an array: one schema per position */
    bool has_tuple;
    int additional_items; /* 0: any, 1: false, 2: schema */
    qry__schema_t *additional_items_schema;
    int64_t min_items, max_items;
    bool unique_items;

    bson_value_t *enum_vals;
    size_t nenum;

    schema_list_t all_of, any_of, one_of;
    qry__schema_t *not_schema;
};

/* qry__schema_validate -- whether v satisfies s (depth: recursion guard). */
bool qry__schema_validate(const qry__schema_t *s, const bson_value_t *v, int depth);
/* qry__schema_utf8_len -- a string's length in code points, as JSON Schema counts it. */
int64_t qry__schema_utf8_len(const char *s, uint32_t len);
/* qry__schema_same_value -- equality for enum/uniqueItems (same canonical type and equal). */
bool qry__schema_same_value(const bson_value_t *a, const bson_value_t *b);
/* qry__schema_multiple_ok -- whether number v is a multiple of s's multipleOf. */
bool qry__schema_multiple_ok(const qry__schema_t *s, const bson_value_t *v);

#endif /* MICA_QUERY_JSONSCHEMA_INT_H */
