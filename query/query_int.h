/*
 * query_int.h -- module-internal declarations of query/ (qry__ names). Never
 * included outside query/. Sections belong to the files that define them.
 */
#ifndef MICA_QUERY_INT_H
#define MICA_QUERY_INT_H

#include "query/query.h"

/* ------------------------------------------------------------------------ */
/* Regular expressions (query/regex.c): PCRE2 with MongoDB's flag letters    */
/* ------------------------------------------------------------------------ */

typedef struct qry__regex qry__regex_t;

/*
 * QRY__REGEX_MAX_LEN -- MongoDB refuses patterns longer than 32761 bytes
 * ("Regular expression is too long"); the limit also bounds PCRE2's compile
 * work on hostile input.
 */
#define QRY__REGEX_MAX_LEN 32761

/* qry__regex_compile -- compile pattern with flags "imsxu"; BadValue/51091/51108 on error. */
int qry__regex_compile(const char *pattern, size_t pattern_len, const char *flags,
                       qry__regex_t **out, status_t *st);
/* qry__regex_match -- whether the regex matches anywhere in subject. */
bool qry__regex_match(const qry__regex_t *re, const char *subject, size_t len);
/* qry__regex_destroy -- free (NULL-safe). */
void qry__regex_destroy(qry__regex_t *re);
/* qry__regex_pattern -- the source pattern (NUL-terminated). */
const char *qry__regex_pattern(const qry__regex_t *re);
/* qry__regex_flags -- the flags as given, sorted as BSON stores them. */
const char *qry__regex_flags(const qry__regex_t *re);

/* ------------------------------------------------------------------------ */
/* Match trees (query/match*.c)                                              */
/* ------------------------------------------------------------------------ */

/*
 * QRY__MATCH_MAX_DEPTH -- MongoDB's limit on query nesting (its
 * internalQueryMaxNestingDepth... the parser refuses trees deeper than 100);
 * parsing and evaluation recurse, so the limit also bounds stack use.
 */
#define QRY__MATCH_MAX_DEPTH 100

typedef struct qry__schema qry__schema_t;

/* A parsed node. Operands are views into the matcher's own copy of the filter. */
struct qry_match_node {
    qry_match_kind_t kind;
    const char *path; /* dotted path; "" for $elemMatch value children; NULL when pathless */
    bson_value_t operand;
    qry_match_node_t **kids;
    size_t nkids;
    size_t cap;
    union {
        struct {
            int64_t divisor;
            int64_t remainder;
        } mod;
        int64_t size;
        struct {
            uint8_t types[32]; /* bit (uint8_t)bson_type: 256 bits */
            bool all_numbers;
        } type;
        qry__regex_t *regex;
        struct {
            bson_value_t *vals; /* non-regex members */
            size_t nvals;
            qry__regex_t **regexes;
            size_t nregexes;
            bool has_null;
        } in;
        struct {
            uint8_t *mask; /* little-endian bit mask: bit i = mask[i/8] >> (i%8) */
            size_t nbytes;
        } bits;
        qry__schema_t *schema;
        void *expr; /* the hook's compiled expression */
    } u;
};

/* qry__match_hooks -- the matcher's $expr hooks (NULL when none). */
const qry_match_hooks_t *qry__match_hooks(const qry_match_t *m);
/* qry__node_new -- a zeroed node of kind on path (NULL on out-of-memory is fatal). */
qry_match_node_t *qry__node_new(qry_match_kind_t kind, const char *path);
/* qry__node_add -- append child to parent. */
void qry__node_add(qry_match_node_t *parent, qry_match_node_t *child);
/* qry__node_matches -- whether one node of m's tree matches doc ($expr errors: no match). */
bool qry__node_matches(const qry_match_t *m, const qry_match_node_t *n, const bson_t *doc);
/* qry__node_free -- free a node tree (NULL-safe); hooks free $expr payloads. */
void qry__node_free(qry_match_node_t *n, const qry_match_hooks_t *hooks);

/* qry__type_add -- parse one $type/bsonType entry (number or alias) into set. */
int qry__type_add(const bson_value_t *v, uint8_t types[32], bool *all_numbers, const char *op,
                  status_t *st);
/* qry__type_test -- whether type t is in the set. */
bool qry__type_test(const uint8_t types[32], bool all_numbers, bson_type_t t);

/* ------------------------------------------------------------------------ */
/* $jsonSchema (query/jsonschema.c)                                          */
/* ------------------------------------------------------------------------ */

/* qry__schema_parse -- parse a $jsonSchema document; FailedToParse/TypeMismatch/BadValue. */
int qry__schema_parse(const bson_t *schema, qry__schema_t **out, status_t *st);
/* qry__schema_matches -- whether the root document satisfies the schema. */
bool qry__schema_matches(const qry__schema_t *s, const bson_t *doc);
/* qry__schema_explain -- the $jsonSchema node's errInfo.details for doc, appended into out
 * (query/jsonschema_explain.c); inverted: the schema matched under a negation. */
void qry__schema_explain(const qry__schema_t *s, const bson_t *doc, bool inverted, bson_t *out);
/* qry__schema_free -- free (NULL-safe). */
void qry__schema_free(qry__schema_t *s);

/* ------------------------------------------------------------------------ */
/* the planner's internals shared with plan_wildcard.c                       */
/* ------------------------------------------------------------------------ */

/* qry__preds_t -- the leaves ANDed at the top of a filter (plan.c's collect). */
typedef struct qry__preds {
    const qry_match_node_t **v;
    size_t n, cap;
} qry__preds_t;

/* qry__ixscan_plan -- plan.c's IXSCAN of req->indexes[ixno] for the predicates (NULL: not a
 * candidate; force: a hint, build it anyway). */
qry_plan_t *qry__ixscan_plan(const qry_plan_request_t *req, size_t ixno, const qry__preds_t *p,
                             const bson_t *sort, bool force);
/* qry__wildcard_plan -- the best IXSCAN of the wildcard index req->indexes[ixno] over one of the
 * paths it covers (plan_wildcard.c); NULL when no predicate can use it. */
qry_plan_t *qry__wildcard_plan(const qry_plan_request_t *req, size_t ixno, const qry__preds_t *p,
                               const bson_t *sort, bool force);

#endif /* MICA_QUERY_INT_H */
