/*
 * query.h -- the public header of query/: MongoDB's query language as pure
 * functions over libbson values -- match expressions, projection, sort, update
 * operators (and, later, aggregation expressions and stages, the planner).
 *
 * query/ sees data only through bson_t documents and iterator interfaces; it
 * never includes a storage/ header. It depends on common/ and PCRE2.
 */
#ifndef MICA_QUERY_H
#define MICA_QUERY_H

#include "common/common.h"

/* ------------------------------------------------------------------------ */
/* Collations (query/collation.c): ICU behind this interface only            */
/* ------------------------------------------------------------------------ */

/* qry_collation_t -- a parsed, validated collation; NULL means "simple" (byte order). */
typedef struct qry_collation qry_collation_t;

/*
 * qry_collation_parse -- validate a collation document as MongoDB does
 * (locale, caseLevel, caseFirst, strength, numericOrdering, alternate,
 * maxVariable, normalization, backwards, version) and build its collator;
 * {locale: "simple"} gives *out == NULL. Errors: BadValue (locale, bad
 * combinations), FailedToParse (enumerations, unknown fields), TypeMismatch,
 * IncompatibleCollationVersion.
 */
int qry_collation_parse(const bson_t *spec, qry_collation_t **out, status_t *st);
/* qry_collation_destroy -- NULL-safe. */
void qry_collation_destroy(qry_collation_t *c);
/* qry_collation_spec -- the full specification (defaults filled in) appended to out. */
void qry_collation_spec(const qry_collation_t *c, bson_t *out);
/* qry_collation_compare -- <0, 0, >0 for two UTF-8 strings under c (NULL: bytes). */
int qry_collation_compare(const qry_collation_t *c, const char *a, size_t alen, const char *b,
                          size_t blen);
/* qry_collation_sort_key -- c's sort key of s into out (at most cap bytes written); returns
 * its full length. memcmp of sort keys orders as qry_collation_compare does. */
size_t qry_collation_sort_key(const qry_collation_t *c, const char *s, size_t len, uint8_t *out,
                              size_t cap);

/* QRY_MATCH_SECTION_BEGIN -- match expressions (query/match*.c) */

/*
 * A filter ({a: 5, b: {$gt: 1}, $or: [...]}) is parsed once into a tree of
 * qry_match_node_t and evaluated many times. Logical nodes (AND, OR, NOR, NOT)
 * have children and no path; leaf nodes test the values a dotted path reaches,
 * with MongoDB's implicit array traversal. $ne, $nin and {$exists: false} are
 * NOT nodes over EQ, IN and EXISTS, as in MongoDB, so the planner sees one
 * shape per predicate. query/README.md tells the design.
 */
typedef enum qry_match_kind {
    QRY_MATCH_AND,          /* children; empty AND is always true */
    QRY_MATCH_OR,           /* children */
    QRY_MATCH_NOR,          /* children */
    QRY_MATCH_NOT,          /* one child */
    QRY_MATCH_ALWAYS_FALSE, /* e.g. {$all: []} */
    QRY_MATCH_EQ,           /* operand: the value */
    QRY_MATCH_LT,
    QRY_MATCH_LTE,
    QRY_MATCH_GT,
    QRY_MATCH_GTE,
    QRY_MATCH_IN,                /* operand: the array (regex members match as $regex) */
    QRY_MATCH_EXISTS,            /* operand: true */
    QRY_MATCH_TYPE,              /* operand: the $type argument */
    QRY_MATCH_MOD,               /* operand: [divisor, remainder] */
    QRY_MATCH_REGEX,             /* operand: a BSON regex (pattern, options) */
    QRY_MATCH_SIZE,              /* operand: the size (int64) */
    QRY_MATCH_ELEM_MATCH_OBJECT, /* one child, a filter over each element document */
    QRY_MATCH_ELEM_MATCH_VALUE,  /* children with path "", applied to each element */
    QRY_MATCH_BITS_ALL_SET,      /* operand: the mask as given */
    QRY_MATCH_BITS_ALL_CLEAR,
    QRY_MATCH_BITS_ANY_SET,
    QRY_MATCH_BITS_ANY_CLEAR,
    QRY_MATCH_EXPR,        /* operand: the $expr argument (pathless) */
    QRY_MATCH_JSON_SCHEMA, /* operand: the schema document (pathless) */
} qry_match_kind_t;

typedef struct qry_match qry_match_t;
typedef struct qry_match_node qry_match_node_t;

/*
 * $expr hook -- filled by the aggregation work. parse compiles the argument
 * (the value lives as long as the matcher), eval computes the truth of it for
 * one document, destroy frees a compiled expression. Without hooks $expr is
 * refused at parse time with NotImplemented.
 */
typedef struct qry_match_hooks {
    int (*expr_parse)(void *ctx, const bson_value_t *expr, void **compiled, status_t *st);
    int (*expr_eval)(void *ctx, const void *compiled, const bson_t *doc, bool *result,
                     status_t *st);
    void (*expr_destroy)(void *ctx, void *compiled);
    void *ctx;
} qry_match_hooks_t;

/*
 * Match details, for the positional $ of projection and update: when the
 * match went through an array, elem_match_key is the index of the matching
 * element in the first array on the path (MongoDB's elemMatchKey). Only AND
 * and leaf nodes report it; OR/NOR/NOT don't (as in MongoDB).
 */
typedef struct qry_match_details {
    bool has_elem_match_key;
    uint32_t elem_match_key;
} qry_match_details_t;

/* qry_match_parse -- parse filter into *out (NULL on error); hooks may be NULL (copied). */
int qry_match_parse(const bson_t *filter, const qry_match_hooks_t *hooks, qry_match_t **out,
                    status_t *st);
/* qry_match_destroy -- free a matcher (NULL-safe). */
void qry_match_destroy(qry_match_t *m);
/* qry_match_eval -- whether doc matches; details may be NULL. An $expr error reads as false. */
bool qry_match_eval(const qry_match_t *m, const bson_t *doc, qry_match_details_t *details);
/* qry_match_exec -- as qry_match_eval, reporting $expr evaluation errors in st. */
int qry_match_exec(const qry_match_t *m, const bson_t *doc, qry_match_details_t *details,
                   bool *matched, status_t *st);
/*
 * qry_match_explain_failure -- why doc does not match m, as MongoDB's errInfo.details of
 * DocumentValidationFailure ({operatorName, specifiedAs, reason, consideredValue, ...},
 * nested through $and/$or/$nor/$not and $jsonSchema's schemaRulesNotSatisfied).
 * details is initialised here; the caller destroys it. (query/match_explain.c)
 */
void qry_match_explain_failure(const qry_match_t *m, const bson_t *doc, bson_t *details);
/* qry_match_filter -- the matcher's own copy of the filter it was parsed from. */
const bson_t *qry_match_filter(const qry_match_t *m);

/* Walking the tree (planner, partial indexes, explain). */
/* qry_match_root -- the root node (an AND for a multi-field filter). */
const qry_match_node_t *qry_match_root(const qry_match_t *m);
/* qry_match_node_kind -- the node's kind. */
qry_match_kind_t qry_match_node_kind(const qry_match_node_t *n);
/* qry_match_node_path -- dotted path of a leaf; NULL for logical and pathless nodes. */
const char *qry_match_node_path(const qry_match_node_t *n);
/* qry_match_node_operand -- the operand as written (see qry_match_kind_t); NULL if none. */
const bson_value_t *qry_match_node_operand(const qry_match_node_t *n);
/* qry_match_node_nchildren -- number of children. */
size_t qry_match_node_nchildren(const qry_match_node_t *n);
/* qry_match_node_child -- child i (NULL if out of range). */
const qry_match_node_t *qry_match_node_child(const qry_match_node_t *n, size_t i);
/* qry_match_kind_name -- "$eq", "$and", "$elemMatch", ... for explain. */
const char *qry_match_kind_name(qry_match_kind_t kind);

/* Equality fields, for upsert documents: {a: 1, b: {$eq: 2}, $and: [{c: 3}]} -> a, b, c. */
typedef int (*qry_match_eq_fn)(void *ctx, const char *path, const bson_value_t *value,
                               status_t *st);
/*
 * qry_match_equalities -- call fn for each path the filter pins to one value:
 * top-level (or nested $and) $eq and one-element $in, in filter order. A path
 * pinned twice, or a path and its prefix ('a' and 'a.b'), fail with
 * NotSingleValueField (54), as MongoDB's upsert does. Regexes and
 * documents holding $-operators are not equalities.
 */
int qry_match_equalities(const qry_match_t *m, qry_match_eq_fn fn, void *ctx, status_t *st);

/* QRY_MATCH_SECTION_END */

/* QRY_PROJECTION_SECTION_BEGIN -- projection (query/projection.c) */

/*
 * A find projection, parsed once (qry_projection_parse) and applied to many
 * documents (qry_projection_apply). Inclusion or exclusion, _id rules, dotted
 * paths through arrays of documents, $slice, $elemMatch, the positional `$`
 * and {$meta: ...}. Output fields follow the input document's order.
 */
typedef struct qry_projection qry_projection_t;

/*
 * qry_meta_fn -- supplies a {$meta: name} value for one document ("textScore",
 * "indexKey", "recordId", "searchScore", ...). Fill *out (the callee owns
 * nothing after return: out is copied) or return a status code.
 */
typedef int (*qry_meta_fn)(void *arg, const char *name, const bson_t *doc, bson_value_t *out,
                           status_t *st);

/* Per-document inputs that only the executor knows. */
typedef struct qry_projection_ctx {
    /* Array index the query's match found for the positional `$` (-1: none). */
    int32_t matched_index;
    qry_meta_fn meta;
    void *meta_arg;
} qry_projection_ctx_t;

#define QRY_PROJECTION_CTX_INIT                                                                    \
    {                                                                                              \
        -1, NULL, NULL                                                                             \
    }

/* qry_projection_parse -- parse a find projection spec; *out is NULL on failure. */
int qry_projection_parse(const bson_t *spec, qry_projection_t **out, status_t *st);
/* qry_projection_apply -- project doc into out (initialised here, even on failure). */
int qry_projection_apply(const qry_projection_t *proj, const bson_t *doc,
                         const qry_projection_ctx_t *ctx, bson_t *out, status_t *st);
/* qry_projection_is_inclusion -- whether the projection lists fields to keep. */
bool qry_projection_is_inclusion(const qry_projection_t *proj);
/* qry_projection_uses_positional -- whether apply needs ctx->matched_index. */
bool qry_projection_uses_positional(const qry_projection_t *proj);
/* qry_projection_destroy -- free a parsed projection (NULL is a no-op). */
void qry_projection_destroy(qry_projection_t *proj);

/* QRY_PROJECTION_SECTION_END */

/* QRY_SORT_SECTION_BEGIN -- sort (query/sort.c) */

/*
 * A sort specification ({a: 1, b: -1, s: {$meta: "textScore"}}) parsed once.
 * Documents compare by their sort keys: one value per part, taken with
 * MongoDB's array rule (ascending uses an array's smallest element,
 * descending its largest; a missing field is null). The executor compares
 * documents; the router's merge compares keys extracted on the shards.
 */
typedef struct qry_sort qry_sort_t;

/* qry_sort_parse -- parse a sort spec; *out is NULL on failure. */
int qry_sort_parse(const bson_t *spec, qry_sort_t **out, status_t *st);
/* qry_sort_destroy -- free a parsed sort (NULL is a no-op). */
void qry_sort_destroy(qry_sort_t *sort);
/* qry_sort_nparts -- number of key parts. */
size_t qry_sort_nparts(const qry_sort_t *sort);
/* qry_sort_set_meta -- supply $meta values for key extraction (NULL: $meta parts are null). */
void qry_sort_set_meta(qry_sort_t *sort, qry_meta_fn meta, void *arg);
/*
 * qry_sort_key -- the sort key of doc: {"": v1, "": v2, ...}, one value per
 * part in spec order (out initialised here, even on failure).
 */
int qry_sort_key(const qry_sort_t *sort, const bson_t *doc, bson_t *out, status_t *st);
/* qry_sort_compare_keys -- <0, 0, >0 comparing two keys from qry_sort_key. */
int qry_sort_compare_keys(const qry_sort_t *sort, const bson_t *ka, const bson_t *kb);
/* qry_sort_compare -- <0, 0, >0 comparing two documents under sort. */
int qry_sort_compare(const qry_sort_t *sort, const bson_t *a, const bson_t *b);

/*
 * Top-k for sort + limit: a bounded heap holding the k smallest documents
 * seen so far (O(n log k), memory for k documents). Ties keep arrival order.
 */
typedef struct qry_topk qry_topk_t;

/* qry_topk_new -- a heap for the first k documents under sort (k >= 1). */
qry_topk_t *qry_topk_new(const qry_sort_t *sort, size_t k);
/* qry_topk_push -- offer a document (copied if kept). */
int qry_topk_push(qry_topk_t *tk, const bson_t *doc, status_t *st);
/* qry_topk_count -- documents currently held. */
size_t qry_topk_count(const qry_topk_t *tk);
/*
 * qry_topk_finish -- the kept documents in sort order; *docs is an array of
 * *n bson_t* that the caller frees with qry_topk_free_docs. Empties the heap.
 */
void qry_topk_finish(qry_topk_t *tk, bson_t ***docs, size_t *n);
/* qry_topk_free_docs -- free what qry_topk_finish returned. */
void qry_topk_free_docs(bson_t **docs, size_t n);
/* qry_topk_destroy -- free the heap (NULL is a no-op). */
void qry_topk_destroy(qry_topk_t *tk);

/*
 * External sort of (key, payload) pairs, for a blocking sort outside the
 * pipeline (find with allowDiskUse): held in memory up to mem_limit bytes,
 * then spilled as sorted runs to a temp file in tmp_dir (NULL: $TMPDIR or
 * /tmp) and merged. Stable: equal keys keep the order they were added in.
 */
typedef struct qry_ext_sort qry_ext_sort_t;

/* qry_ext_sort_new -- an empty sorter ordering keys from qry_sort_key(sort, ...). */
qry_ext_sort_t *qry_ext_sort_new(const qry_sort_t *sort, size_t mem_limit, const char *tmp_dir);
/* qry_ext_sort_add -- add a copy of (key, payload); may write a run to disk. */
int qry_ext_sort_add(qry_ext_sort_t *x, const bson_t *key, const bson_t *payload, status_t *st);
/* qry_ext_sort_finish -- the input is complete; call before qry_ext_sort_next. */
int qry_ext_sort_finish(qry_ext_sort_t *x, status_t *st);
/* qry_ext_sort_next -- the next payload in order (*payload initialised in every case). */
int qry_ext_sort_next(qry_ext_sort_t *x, bson_t *payload, bool *eof, status_t *st);
/* qry_ext_sort_runs -- runs written to disk (0: everything fitted in memory). */
uint64_t qry_ext_sort_runs(const qry_ext_sort_t *x);
/* qry_ext_sort_destroy -- free it and remove its temp file (NULL is a no-op). */
void qry_ext_sort_destroy(qry_ext_sort_t *x);

/* QRY_SORT_SECTION_END */

/* QRY_UPDATE_SECTION_BEGIN -- update operators (query/update*.c) */

/*
 * An update (operator document such as {$set: ..., $inc: ...} or a
 * replacement document) parsed once with its arrayFilters into a plan, then
 * applied to many documents. Applying produces a new document, whether
 * anything changed (for nModified) and the list of paths it changed (for
 * index maintenance and the oplog's diff).
 */
typedef struct qry_update qry_update_t;

/* Per-document inputs of qry_update_apply. */
typedef struct qry_update_ctx {
    /* Array index the query's match found, for the positional `$` (-1: none). */
    int32_t matched_index;
    /* The document is being inserted by an upsert: $setOnInsert applies. */
    bool is_insert;
    /* $currentDate's clock: milliseconds since the epoch (0: read the clock). */
    int64_t now_ms;
    /* $currentDate {$type: "timestamp"}: the operation's timestamp (t = 0: from now_ms). */
    uint32_t ts_t, ts_i;
} qry_update_ctx_t;

#define QRY_UPDATE_CTX_INIT                                                                        \
    {                                                                                              \
        -1, false, 0, 0, 0                                                                         \
    }

/* What qry_update_apply produced. */
typedef struct qry_update_result {
    bson_t doc;   /* the updated document (initialised by apply, even on failure) */
    bool changed; /* the document differs from the input */
    char **paths; /* dotted paths changed, array indexes resolved ("a.2.b") */
    size_t npaths;
} qry_update_result_t;

/*
 * qry_update_parse -- parse an update document (array_filters may be NULL:
 * the update command's arrayFilters array). *out is NULL on failure.
 */
int qry_update_parse(const bson_t *update, const bson_t *array_filters, qry_update_t **out,
                     status_t *st);
/* qry_update_is_replacement -- whether the update is a replacement document. */
bool qry_update_is_replacement(const qry_update_t *upd);
/* qry_update_uses_positional -- whether apply needs ctx->matched_index. */
bool qry_update_uses_positional(const qry_update_t *upd);
/* qry_update_apply -- apply to doc; res is initialised here and freed by the caller. */
int qry_update_apply(const qry_update_t *upd, const bson_t *doc, const qry_update_ctx_t *ctx,
                     qry_update_result_t *res, status_t *st);
/* qry_update_result_destroy -- free a result's document and paths. */
void qry_update_result_destroy(qry_update_result_t *res);
/* qry_update_destroy -- free a plan (NULL is a no-op). */
void qry_update_destroy(qry_update_t *upd);

/*
 * qry_update_upsert_seed -- the document an upsert starts from: the query's
 * equality clauses ({a: 1, "b.c": 2, $and: [...]} -> {a: 1, b: {c: 2}}), _id
 * first. out is initialised here. Conflicting clauses are NotSingleValueField.
 */
int qry_update_upsert_seed(const bson_t *query, bson_t *out, status_t *st);
/*
 * qry_update_upsert -- the document an upsert inserts: the seed from query,
 * then upd applied as an insert ($setOnInsert applies); a replacement keeps
 * only the query's _id. res is initialised here.
 */
int qry_update_upsert(const qry_update_t *upd, const bson_t *query, const qry_update_ctx_t *ctx,
                      qry_update_result_t *res, status_t *st);

/* QRY_UPDATE_SECTION_END */

/* QRY_PLAN_SECTION_BEGIN -- the query planner (query/plan*.c) */

/*
 * The planner is a pure function: given a parsed filter, a sort spec, a hint
 * and the collection's index descriptions it returns candidate plans with
 * their index bounds. It never touches storage; mongod/exec*.c runs the plans
 * (and a trial run when several fit). The residual filter is always applied
 * after an index scan, so bounds only ever need to be a superset.
 */

/* qry_index_info_t -- one index as the planner sees it (all borrowed). */
typedef struct qry_index_info {
    const char *name;
    const bson_t *key_pattern;
    bool multikey;
    const bson_t *multikey_paths; /* {path: true, ...}; NULL: none known */
    bool sparse;
    bool unique;
    const qry_match_t *partial;        /* partialFilterExpression; NULL if not partial */
    const bson_t *wildcard_projection; /* wildcardProjection of a $** index; NULL: none */
} qry_index_info_t;

/* qry_interval_t -- one interval of one key field, in ascending value order. */
typedef struct qry_interval {
    bson_value_t lo, hi; /* owned copies */
    bool lo_incl, hi_incl;
} qry_interval_t;

/* qry_oil_t -- an ordered, disjoint list of intervals for one key field. */
typedef struct qry_oil {
    qry_interval_t *iv;
    size_t n;
} qry_oil_t;

/* qry_ixrange_t -- one contiguous index range, in scan order (start is scanned first). */
typedef struct qry_ixrange {
    bool has_start, has_end; /* false: from / to the index's edge */
    bson_t start, end;       /* {"": v, ...} prefix of the key values */
    bool start_incl, end_incl;
} qry_ixrange_t;

typedef enum qry_plan_kind {
    QRY_PLAN_COLLSCAN,
    QRY_PLAN_IXSCAN,
    QRY_PLAN_OR,
} qry_plan_kind_t;

/* qry_plan_t -- a candidate plan (a tree only for OR). */
typedef struct qry_plan {
    qry_plan_kind_t kind;
    int direction;     /* COLLSCAN / IXSCAN: 1 forward, -1 backward */
    size_t index;      /* IXSCAN: position in the request's index list */
    qry_oil_t *bounds; /* IXSCAN: per key-pattern field (for explain) */
    size_t nfields;
    qry_ixrange_t *ranges; /* IXSCAN: the ranges to scan, in scan order */
    size_t nranges;
    bool dedup;                 /* the scan can return a RecordId twice (multikey, OR) */
    struct qry_plan **children; /* OR: one IXSCAN per branch */
    size_t nchildren;
    bool provides_sort;  /* root: the requested sort needs no SORT stage */
    char summary[256];   /* e.g. "IXSCAN a_1" -- the plan cache's identity */
    bson_t *key_pattern; /* IXSCAN of a wildcard index: {$_path: 1, path: 1} (owned), the
                          * fields bounds[] and the keys follow; NULL: the index's own */
} qry_plan_t;

/* Cap on ranges one IXSCAN explodes into ($in x $in ...); past it later fields stay open. */
#define QRY_PLAN_MAX_RANGES 4096

/* qry_plan_request_t -- what to plan. */
typedef struct qry_plan_request {
    const qry_match_t *filter; /* required */
    const bson_t *sort;        /* NULL or {} : none */
    const bson_value_t *hint;  /* NULL: none; a string (name) or a document */
    const bson_t *min, *max;   /* find's min/max (need a hint); NULL: none */
    const qry_index_info_t *indexes;
    size_t nindexes;
    bool no_table_scan; /* notablescan: a plan needing a COLLSCAN is an error (291) */
} qry_plan_request_t;

/*
 * qry_plan_enumerate -- the candidate plans for req (at least one) into
 * *plans[0..*n) (free each with qry_plan_free and the array with free).
 * Errors: BadValue for a hint naming no index, 51173 for min/max without a
 * hint, 51174/51176 for min/max that do not fit the hinted index,
 * NoQueryExecutionPlans (291) when no_table_scan and only a COLLSCAN fits.
 */
int qry_plan_enumerate(const qry_plan_request_t *req, qry_plan_t ***plans, size_t *n, status_t *st);
/* qry_plan_free -- free a plan (NULL is a no-op). */
void qry_plan_free(qry_plan_t *p);
/* qry_plan_free_all -- free plans[0..n) and the array. */
void qry_plan_free_all(qry_plan_t **plans, size_t n);
/*
 * qry_plan_append_bounds -- explain's indexBounds of an IXSCAN:
 * {field: ["[1, 1]", "(3, inf.0]"], ...} appended as a document named key.
 */
void qry_plan_append_bounds(const qry_plan_t *p, const bson_t *key_pattern, bson_t *out,
                            const char *key);
/*
 * qry_plan_shape -- the query shape for the plan cache: the filter's tree
 * with operators and paths but no values, the sort and the projection spec.
 */
void qry_plan_shape(const qry_match_t *filter, const bson_t *sort, const bson_t *projection,
                    bson_string_t *out);
/* qry_plan_sort_provided -- whether an index key pattern scanned in direction gives sort
 * once the fields with a single point are skipped (points: bit i = field i is a point). */
bool qry_plan_sort_provided(const bson_t *key_pattern, uint32_t points, const bson_t *sort,
                            const bson_t *multikey_paths, int *direction);

/* QRY_PLAN_SECTION_END */

/* QRY_EXPR_SECTION_BEGIN -- aggregation expressions (query/expr*.c) */

/*
 * Aggregation expressions ("$a.b", {$add: [...]}, {x: {$let: ...}}, ...) are
 * parsed once into an immutable tree (qry_expr_t) and evaluated many times.
 * A tree holds no per-evaluation state, so one tree may be evaluated by many
 * threads at once, each with its own qry_expr_ctx_t.
 *
 * Values. A result is a bson_value_t. Its type BSON_TYPE_EOD means *missing*
 * (a field path that reaches nothing, $$REMOVE): a $project/$addFields leaves
 * such a field out, an array expression writes null in its place, and most
 * operators treat it like null. Everything a result points to (strings,
 * documents, arrays) lives in the context's arena -- or in the tree, for a
 * constant -- or in the input document: it stays valid while the input
 * document and the tree live and until qry_expr_ctx_reset (or _release to an
 * earlier mark) or _destroy, and the caller never frees it. To keep a value
 * longer (an accumulator's state), copy it with bson_value_copy and
 * bson_value_destroy it yourself.
 *
 * Variables. $$ROOT and $$CURRENT are the document given to qry_expr_eval;
 * $$REMOVE is missing; $$NOW (a date) and $$CLUSTER_TIME (a timestamp) come
 * from the context. User variables ($let, $map/$filter/$reduce "as", and a
 * command's `let` or $lookup's `let`) are numbered slots resolved at parse
 * time through a qry_expr_scope_t: the caller defines its own variables in a
 * scope (qry_expr_scope_define gives each a slot), parses with that scope,
 * then binds values per evaluation with qry_expr_ctx_set_var. A name that is
 * not in scope is a parse error (17276 "Use of undefined variable: x").
 *
 * Errors. Parse and evaluation errors are statuses with MongoDB's codes:
 * 168 InvalidPipelineOperator for unknown operators, 16020/28667/... for
 * arity, 16554/16556/... for type errors, 16608 for $divide by zero, and so
 * on (docs/aggregation.md lists them). Codes outside common/error_codes.def
 * print as Location<code>, as MongoDB does.
 */
typedef struct qry_expr qry_expr_t;
typedef struct qry_expr_scope qry_expr_scope_t;
typedef struct qry_expr_ctx qry_expr_ctx_t;

/* qry_expr_scope_new -- an empty variable scope (only the system variables). */
qry_expr_scope_t *qry_expr_scope_new(void);
/* qry_expr_scope_destroy -- free a scope (NULL-safe); parsed trees do not need it. */
void qry_expr_scope_destroy(qry_expr_scope_t *scope);
/*
 * qry_expr_scope_define -- make a user variable visible to later parses and
 * give it a new slot (*slot). Names follow MongoDB's rules (start with a
 * lowercase letter or a non-ASCII byte, then letters, digits, '_'); a bad
 * name is FailedToParse (9), as in MongoDB 5.0+.
 */
int qry_expr_scope_define(qry_expr_scope_t *scope, const char *name, int *slot, status_t *st);
/* qry_expr_scope_lookup -- the slot of a user variable in scope, -1 if none. */
int qry_expr_scope_lookup(const qry_expr_scope_t *scope, const char *name);
/* qry_expr_scope_nslots -- slots handed out so far (contexts grow to fit on their own). */
int qry_expr_scope_nslots(const qry_expr_scope_t *scope);

/*
 * qry_expr_parse -- parse an expression into *out (NULL on error). scope may
 * be NULL (no user variables); $let/$map/... inside the expression take new
 * slots from it. A string starting with '$' is a field path or variable, a
 * document with one $-field is an operator, any other document is an object
 * expression, an array is an array of expressions, anything else a constant.
 */
int qry_expr_parse(const bson_value_t *spec, qry_expr_scope_t *scope, qry_expr_t **out,
                   status_t *st);
/* qry_expr_parse_iter -- qry_expr_parse of the value at an iterator. */
int qry_expr_parse_iter(const bson_iter_t *it, qry_expr_scope_t *scope, qry_expr_t **out,
                        status_t *st);
/*
 * qry_expr_parse_object -- parse a document as an object expression
 * ({a: <expr>, b: {c: <expr>}}), never as an operator: what $replaceRoot's
 * newRoot or a stage's computed sub-document needs. $-prefixed field names
 * fail (16410), as in MongoDB.
 */
int qry_expr_parse_object(const bson_t *doc, qry_expr_scope_t *scope, qry_expr_t **out,
                          status_t *st);
/* qry_expr_destroy -- free a tree (NULL-safe). */
void qry_expr_destroy(qry_expr_t *e);
/* qry_expr_constant -- the folded value if e does not depend on the document, else NULL. */
const bson_value_t *qry_expr_constant(const qry_expr_t *e);
/* qry_expr_field_path -- "a.b" if e is exactly the field path "$a.b" (or $$CURRENT.a.b). */
const char *qry_expr_field_path(const qry_expr_t *e);
/* qry_expr_spec -- the value e was parsed from (a copy kept by the tree, for explain). */
const bson_value_t *qry_expr_spec(const qry_expr_t *e);

/*
 * Dependencies: which fields of the input document an expression reads, for
 * $project/$group optimisation and for the router's split. Paths are dotted
 * as written ("a.b" for "$a.b"); whole_doc is set when the expression reads
 * $$ROOT/$$CURRENT as a whole (then paths do not matter).
 */
typedef struct qry_expr_deps {
    bool whole_doc;
    bool uses_now; /* $$NOW, $$CLUSTER_TIME or $rand: not a pure function of the document */
    char **paths;  /* owned, distinct, in first-use order */
    size_t npaths;
    size_t cap;
} qry_expr_deps_t;

/* qry_expr_deps_init -- an empty dependency set. */
void qry_expr_deps_init(qry_expr_deps_t *d);
/* qry_expr_deps_add -- add what e reads to d. */
void qry_expr_deps_add(const qry_expr_t *e, qry_expr_deps_t *d);
/* qry_expr_deps_destroy -- free d's paths (leaves an empty set). */
void qry_expr_deps_destroy(qry_expr_deps_t *d);

/*
 * Evaluation contexts. One per operation (per thread): an arena for results,
 * the values of user variables, $$NOW/$$CLUSTER_TIME and $rand's state.
 */
/* qry_expr_ctx_new -- a context; $$NOW is the clock at creation until set. */
qry_expr_ctx_t *qry_expr_ctx_new(void);
/* qry_expr_ctx_destroy -- free the context and every value in its arena (NULL-safe). */
void qry_expr_ctx_destroy(qry_expr_ctx_t *ctx);
/* qry_expr_ctx_set_now -- $$NOW in milliseconds since the epoch. */
void qry_expr_ctx_set_now(qry_expr_ctx_t *ctx, int64_t now_ms);
/* qry_expr_ctx_set_cluster_time -- $$CLUSTER_TIME (unset: 51144 when read). */
void qry_expr_ctx_set_cluster_time(qry_expr_ctx_t *ctx, uint32_t t, uint32_t i);
/*
 * qry_expr_ctx_set_meta -- where {$meta: "<name>"} reads a document's metadata
 * ("textScore", "searchScore", "indexKey", "recordId", ...): fn fills a value
 * the context copies and then destroys (as projection's $meta). Without fn,
 * or when fn leaves EOD, $meta is missing -- except "textScore", which is
 * 40218 as in MongoDB when the query has no text score.
 */
void qry_expr_ctx_set_meta(qry_expr_ctx_t *ctx, qry_meta_fn fn, void *arg);
/* qry_expr_ctx_set_seed -- seed $rand (tests); default: from the clock and address. */
void qry_expr_ctx_set_seed(qry_expr_ctx_t *ctx, uint64_t seed);
/*
 * qry_expr_ctx_set_var -- bind slot (from qry_expr_scope_define) to a copy
 * of v (EOD: missing). The copy is the context's and survives resets.
 */
int qry_expr_ctx_set_var(qry_expr_ctx_t *ctx, int slot, const bson_value_t *v, status_t *st);
/* qry_expr_ctx_reset -- free every result evaluated since creation or the last reset. */
void qry_expr_ctx_reset(qry_expr_ctx_t *ctx);
/* qry_expr_ctx_mark -- a position in the arena, for qry_expr_ctx_release. */
uint64_t qry_expr_ctx_mark(qry_expr_ctx_t *ctx);
/* qry_expr_ctx_release -- free the results evaluated after mark (older ones stay). */
void qry_expr_ctx_release(qry_expr_ctx_t *ctx, uint64_t mark);

/*
 * qry_expr_eval -- evaluate e against doc ($$ROOT/$$CURRENT; NULL reads as an
 * empty document). *out is EOD when the result is missing; its memory is the
 * context's (see above). On error *out is EOD and st says why.
 */
int qry_expr_eval(const qry_expr_t *e, qry_expr_ctx_t *ctx, const bson_t *doc, bson_value_t *out,
                  status_t *st);
/* qry_expr_eval_bool -- evaluate and take the truth of the result ($cond, $match's $expr). */
int qry_expr_eval_bool(const qry_expr_t *e, qry_expr_ctx_t *ctx, const bson_t *doc, bool *out,
                       status_t *st);
/*
 * qry_expr_truthy -- MongoDB's truthiness: false, null, undefined, missing and
 * numeric zero (any type) are false; everything else (including "" and []) is true.
 */
bool qry_expr_truthy(const bson_value_t *v);
/*
 * qry_expr_append -- append a result to doc under key, the way $project and
 * $addFields store it: missing appends nothing. Returns false if bson refused.
 */
bool qry_expr_append(bson_t *doc, const char *key, int keylen, const bson_value_t *v);

/*
 * qry_expr_ctx_set_scope -- the scope $expr filters parsed through this
 * context's match hooks see (a command's `let` variables); NULL: none.
 */
void qry_expr_ctx_set_scope(qry_expr_ctx_t *ctx, qry_expr_scope_t *scope);
/*
 * qry_expr_match_hooks -- $expr hooks for qry_match_parse. ctx (may be NULL)
 * is the evaluation context whose scope, variables, $$NOW and arena the
 * matcher uses (each evaluation releases what it allocated); it must outlive
 * the matcher. With ctx NULL each evaluation uses a temporary context
 * (thread-safe; $$NOW is read then) and no user variables are in scope.
 */
qry_match_hooks_t qry_expr_match_hooks(qry_expr_ctx_t *ctx);

/* QRY_EXPR_SECTION_END */

/* QRY_PIPELINE_SECTION_BEGIN -- aggregation pipelines (query/pipeline*.c, stage_*.c, accum*.c) */

/*
 * A pipeline ([{$match: ..}, {$group: ..}, ...]) is parsed once into a list
 * of stages held as data (qry_pipeline_parse), rewritten by pure functions
 * (qry_pipeline_optimize), and instantiated into a pull-based chain of
 * iterators over a caller's document source (qry_pipeline_open). Stages that
 * read or write other collections ($lookup, $graphLookup, $unionWith, $out,
 * $merge, $collStats, $indexStats) do so only through the callbacks in
 * qry_pl_ctx_t, so mongod and the router drive the same code.
 */
typedef struct qry_pipeline qry_pipeline_t;
typedef struct qry_pl_exec qry_pl_exec_t;

/*
 * qry_doc_source_t -- a stream of documents. next() initialises *out in
 * every case (the caller always destroys it); it holds a document when the
 * call returns 0 with *eof false. close may be NULL.
 */
typedef struct qry_doc_source {
    int (*next)(void *arg, bson_t *out, bool *eof, status_t *st);
    void (*close)(void *arg);
    void *arg;
} qry_doc_source_t;

/* Writes of $out and $merge, one callback call each. */
typedef enum qry_pl_write_op {
    QRY_PL_WRITE_INSERT,     /* insert doc into ns (DuplicateKey is the caller's status) */
    QRY_PL_WRITE_REPLACE,    /* replace the one document matching filter by doc */
    QRY_PL_WRITE_OUT_BEGIN,  /* $out: start writing a new version of ns (a temp collection) */
    QRY_PL_WRITE_OUT_COMMIT, /* $out: atomically replace ns by what was inserted */
    QRY_PL_WRITE_OUT_ABORT,  /* $out: drop what was written */
} qry_pl_write_op_t;

/* Stats callback kinds. */
typedef enum qry_pl_stats_kind {
    QRY_PL_STATS_COLL,       /* $collStats: one document, spec is the stage's argument */
    QRY_PL_STATS_INDEX,      /* $indexStats: one document per index */
    QRY_PL_STATS_CURRENT_OP, /* $currentOp: one document per operation (collectionless, admin) */
} qry_pl_stats_kind_t;

/*
 * qry_pl_datasource_t -- what mongod (or the router) provides for stages that
 * touch other namespaces. Each may be NULL: a stage that needs a missing
 * callback fails with NotImplemented when the pipeline is opened.
 *  open   -- run pipeline (a BSON array; empty = a collection scan) over db.coll
 *            with let_vars as the command's let ({name: {$literal: value}}, may
 *            be NULL; parse it with qry_pipeline_parse's let) and hand back
 *            its output as a source (closed by the stage).
 *  write  -- perform one write on db.coll (filter: REPLACE only; doc: INSERT/REPLACE).
 *  stats  -- the documents of $collStats / $indexStats for db.coll, as a source.
 */
typedef struct qry_pl_datasource {
    int (*open)(void *arg, const char *db, const char *coll, const bson_t *pipeline,
                const bson_t *let_vars, qry_doc_source_t *out, status_t *st);
    int (*write)(void *arg, qry_pl_write_op_t op, const char *db, const char *coll,
                 const bson_t *filter, const bson_t *doc, status_t *st);
    int (*stats)(void *arg, qry_pl_stats_kind_t kind, const char *db, const char *coll,
                 const bson_t *spec, qry_doc_source_t *out, status_t *st);
    void *arg;
} qry_pl_datasource_t;

/*
 * QRY_PL_MEM_LIMIT_DEFAULT -- MongoDB's per-stage limit for $group and $sort
 * (internalQueryMaxBlockingSortMemoryUsageBytes and its $group sibling):
 * 100 MB. Past it a stage spills to tmp_dir or fails with 292.
 */
#define QRY_PL_MEM_LIMIT_DEFAULT (100u * 1024u * 1024u)

/* qry_pl_ctx_t -- what a pipeline run knows of its surroundings (all borrowed). */
typedef struct qry_pl_ctx {
    const char *db;      /* the namespace's database */
    const char *coll;    /* the source collection (NULL: collectionless, $documents) */
    const bson_t *let;   /* the command's let {name: expression}, evaluated at open */
    int64_t now_ms;      /* $$NOW (0: read the clock once at open) */
    size_t mem_limit;    /* bytes per blocking stage (QRY_PL_MEM_LIMIT_DEFAULT) */
    bool allow_disk_use; /* spill when over mem_limit (default true, as 6.0+) */
    const char *tmp_dir; /* where spills go (NULL: $TMPDIR or /tmp) */
    uint64_t seed;       /* $sample / $rand seed (0: from the clock) */
    /* deadline -- maxTimeMS check called between documents; non-zero stops the run. */
    int (*deadline)(void *arg, status_t *st);
    void *deadline_arg;
    qry_pl_datasource_t ds;
} qry_pl_ctx_t;

/* qry_pl_ctx_init -- defaults: 100 MB, allowDiskUse true, no callbacks. */
void qry_pl_ctx_init(qry_pl_ctx_t *ctx);

/* What one stage declares about itself (for the optimiser, explain and the router). */
typedef struct qry_pl_stage_info {
    const char *name;     /* "$match" */
    const bson_t *spec;   /* {$match: {...}}: the stage as it now stands */
    bool blocking;        /* consumes all input before its first output */
    bool merger_only;     /* must run once over the merged stream (router split) */
    bool needs_whole_doc; /* reads the document as a whole ($$ROOT, $out, ...) */
    bool replaces_doc;    /* output documents are new ($group, inclusion $project) */
    size_t nreads;        /* dotted paths it reads */
    const char *const *reads;
    size_t nwrites; /* dotted paths it adds or changes (modifying stages) */
    const char *const *writes;
} qry_pl_stage_info_t;

/*
 * qry_pipeline_parse -- parse a pipeline array (a BSON array document) into
 * *out (NULL on failure). let (may be NULL) is the command's let: its names
 * become variables the stages may use ($$name); the values are evaluated by
 * qry_pipeline_open from ctx->let. Unknown stages are 40324; position rules
 * ($out last, $documents first, ...) and each stage's spec errors carry
 * MongoDB's codes.
 */
int qry_pipeline_parse(const bson_t *pipeline, const bson_t *let, qry_pipeline_t **out,
                       status_t *st);
/* qry_pipeline_destroy -- free a parsed pipeline (NULL is a no-op). */
void qry_pipeline_destroy(qry_pipeline_t *p);
/* qry_pipeline_nstages -- number of stages. */
size_t qry_pipeline_nstages(const qry_pipeline_t *p);
/* qry_pipeline_stage_info -- stage i's declaration (valid until the pipeline changes). */
void qry_pipeline_stage_info(const qry_pipeline_t *p, size_t i, qry_pl_stage_info_t *out);
/* qry_pipeline_serialize -- the stages as a BSON array appended to out under key. */
void qry_pipeline_serialize(const qry_pipeline_t *p, bson_t *out, const char *key);

/*
 * qry_pipeline_optimize -- MongoDB's pure rewrites: $match moved before
 * stages whose writes it does not read, adjacent $match merged, $skip/$limit
 * moved before one-to-one stages, $skip+$limit reordered, $sort+$limit
 * coalesced into a top-k sort, adjacent $limit/$skip folded.
 */
int qry_pipeline_optimize(qry_pipeline_t *p, status_t *st);

/* qry_pl_pushdown_t -- what the executor can hand its planner. */
typedef struct qry_pl_pushdown {
    bool has_filter;
    bson_t filter; /* the leading $match stages, merged (initialised always) */
    bool has_sort;
    bson_t sort;    /* a $sort right after them (initialised always) */
    int64_t limit;  /* the sort's coalesced limit (-1: none) */
    size_t nstages; /* leading stages these stand for */
} qry_pl_pushdown_t;

/* qry_pipeline_pushdown -- describe the leading $match/$sort (pd initialised here). */
void qry_pipeline_pushdown(const qry_pipeline_t *p, qry_pl_pushdown_t *pd);
/* qry_pl_pushdown_destroy -- free what qry_pipeline_pushdown filled. */
void qry_pl_pushdown_destroy(qry_pl_pushdown_t *pd);
/* qry_pipeline_remove_prefix -- drop the first n stages (after the planner took them). */
void qry_pipeline_remove_prefix(qry_pipeline_t *p, size_t n);

/*
 * qry_pipeline_dependencies -- the fields the pipeline needs from its
 * source as an inclusion projection ({a: 1, "b.c": 1, _id: 0|1}) appended to
 * out; *whole_doc is true when the source must supply whole documents (then
 * out is left empty).
 */
void qry_pipeline_dependencies(const qry_pipeline_t *p, bson_t *out, bool *whole_doc);

/*
 * qry_pipeline_open -- instantiate the stages over source (whose close is
 * called by qry_pl_exec_destroy). ctx must outlive the run. *out is NULL on
 * failure (and source is closed).
 */
int qry_pipeline_open(const qry_pipeline_t *p, const qry_pl_ctx_t *ctx, qry_doc_source_t source,
                      qry_pl_exec_t **out, status_t *st);
/* qry_pl_exec_next -- the next output document (see qry_doc_source_t for out's rule). */
int qry_pl_exec_next(qry_pl_exec_t *ex, bson_t *out, bool *eof, status_t *st);
/* qry_pl_exec_destroy -- close every stage and the source; removes temp files. */
void qry_pl_exec_destroy(qry_pl_exec_t *ex);
/* qry_pl_exec_spills -- number of runs the blocking stages wrote to disk (explain, tests). */
uint64_t qry_pl_exec_spills(const qry_pl_exec_t *ex);

/* qry_pl_source_array -- a source over docs[0..n) (borrowed, must outlive the source). */
qry_doc_source_t qry_pl_source_array(const bson_t *const *docs, size_t n);

/* QRY_PIPELINE_SECTION_END */

#endif /* MICA_QUERY_H */
