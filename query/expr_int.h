/*
 * expr_int.h -- module-internal interface of the aggregation expression
 * framework (query/expr*.c): the tree node, the operator table format, the
 * evaluation context and the helpers operator files use.
 *
 * Operators are data. Each file of operators (expr_arith.c, expr_string.c,
 * ..., and expr_date.c written separately) defines one qry__expr_table_t of
 * qry__expr_op_t rows: a name, an arity, an optional parse function and an
 * eval function. The registry in expr.c looks a name up in every table listed
 * in qry__expr_tables (expr.c); adding a file of operators means defining its
 * table under the name declared below, never editing the parser.
 */
#ifndef MICA_QUERY_EXPR_INT_H
#define MICA_QUERY_EXPR_INT_H

#include "query/query_int.h"

/*
 * QRY__EXPR_MAX_DEPTH -- nesting limit for expressions, the same 100 levels
 * as filters and stored documents; parsing and evaluation recurse, so the
 * limit bounds stack use on hostile input.
 */
#define QRY__EXPR_MAX_DEPTH 100

/*
 * QRY__EXPR_MAX_MEMORY -- arena bytes one context may hold before evaluation
 * fails with ExceededMemoryLimit (146). MongoDB bounds a stage's memory at
 * 100 MB; without a bound, {$reduce} over {$range} with {$concatArrays}
 * grows quadratically and a single document could exhaust the server.
 */
#define QRY__EXPR_MAX_MEMORY (100u * 1024 * 1024)

/* Reserved slots for the system variables (user slots are >= 0). */
#define QRY__VAR_ROOT         (-1)
#define QRY__VAR_CURRENT      (-2)
#define QRY__VAR_REMOVE       (-3)
#define QRY__VAR_NOW          (-4)
#define QRY__VAR_CLUSTER_TIME (-5)

typedef enum qry__expr_kind {
    QRY__EXPR_CONST,  /* value: an owned constant (also folded subtrees) */
    QRY__EXPR_FIELD,  /* var (ROOT/CURRENT or a user slot) + path: "$a.b", "$$x.c" */
    QRY__EXPR_VAR,    /* var alone: "$$x", "$$ROOT", "$$NOW" */
    QRY__EXPR_OBJECT, /* names[i]: args[i] -- {a: <expr>, b: {...}} */
    QRY__EXPR_ARRAY,  /* args -- [<expr>, ...] */
    QRY__EXPR_OP,     /* op with args (NULL entries: optional arguments left out) */
} qry__expr_kind_t;

typedef struct qry__expr_op qry__expr_op_t;

/* A node. Operator nodes keep their arguments in args, in an order their op defines. */
struct qry_expr {
    qry__expr_kind_t kind;
    const qry__expr_op_t *op; /* OP */
    bson_value_t value;       /* CONST: owned copy */
    int var;                  /* FIELD / VAR: QRY__VAR_* or a user slot */
    char *path;               /* FIELD: dotted path after the variable, owned */
    qry_expr_t **args;        /* OBJECT / ARRAY / OP children, owned */
    char **names;             /* OBJECT: field names, owned; OP: op-defined, may be NULL */
    size_t nargs;
    int slots[3];      /* OP: variable slots bound by $let/$map/$filter/$reduce */
    int64_t n;         /* OP: op-defined integer (e.g. $round/$trunc mode) */
    void *data;        /* OP: op-defined payload, freed by op->free_data */
    bson_value_t spec; /* root only (spec_owned): the value parsed, for explain */
    bool spec_owned;
};

/* Parser state handed to parse functions. */
typedef struct qry__expr_parser {
    qry_expr_scope_t *scope; /* never NULL inside the parser */
    int depth;
} qry__expr_parser_t;

/*
 * qry__expr_parse_fn -- parse op's argument (the value of {"$op": arg}) into
 * node (kind OP, op set, no args yet). Use qry__expr_args_alloc and
 * qry__expr_parse_sub to fill args. NULL in a row means "the default": the
 * argument is an array of expressions (or one non-array expression), checked
 * against min_args/max_args with MongoDB's arity messages.
 */
typedef int (*qry__expr_parse_fn)(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                                  status_t *st);

/*
 * qry__expr_eval_fn -- compute node's value into *out (EOD for missing).
 * Evaluate arguments with qry__expr_eval; allocate result memory with
 * qry__expr_alloc / qry__expr_str / qry__expr_doc_finish.
 */
typedef int (*qry__expr_eval_fn)(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                                 status_t *st);

/* QRY__EXPR_ARGS_ANY -- max_args of a variadic operator. */
#define QRY__EXPR_ARGS_ANY (-1)

/* Row flags. */
#define QRY__EXPR_OP_NONDETERMINISTIC 0x1u /* $rand: never folded, marks deps.uses_now */
#define QRY__EXPR_OP_NOFOLD           0x2u /* $meta: reads the context, never folded */

/* One operator: a row of a table. */
struct qry__expr_op {
    const char *name;         /* "$add" */
    int min_args;             /* default parse only */
    int max_args;             /* default parse only; QRY__EXPR_ARGS_ANY: no upper bound */
    qry__expr_parse_fn parse; /* NULL: default */
    qry__expr_eval_fn eval;
    void (*free_data)(void *data); /* NULL if the op never sets node->data */
    unsigned flags;
};

/* A table of operators, defined by one file. */
typedef struct qry__expr_table {
    const qry__expr_op_t *ops;
    size_t n;
} qry__expr_table_t;

/*
 * The tables the registry consults (expr.c lists them). query/expr_date.c
 * must define qry__expr_date_table (the registry references it, so the date
 * file is always linked in); the rest are this framework's.
 */
extern const qry__expr_table_t qry__expr_core_table;   /* expr.c: $let $literal ... */
extern const qry__expr_table_t qry__expr_arith_table;  /* expr_arith.c */
extern const qry__expr_table_t qry__expr_cmp_table;    /* expr_logic.c: cmp, bool, cond */
extern const qry__expr_table_t qry__expr_string_table; /* expr_string.c */
extern const qry__expr_table_t qry__expr_array_table;  /* expr_array.c: array and set */
extern const qry__expr_table_t qry__expr_type_table;   /* expr_type.c: type, object, $rand */
extern const qry__expr_table_t qry__expr_misc_table;   /* expr_misc.c: $sum.., trig, bits */
extern const qry__expr_table_t qry__expr_date_table;   /* expr_date.c */

/* qry__expr_find_op -- the row for an operator name ("$add"), NULL if unknown. */
const qry__expr_op_t *qry__expr_find_op(const char *name);

/* ---- parsing helpers ---------------------------------------------------- */

/* qry__expr_parse_sub -- parse a child expression one level deeper (depth-checked). */
int qry__expr_parse_sub(qry__expr_parser_t *p, const bson_value_t *spec, qry_expr_t **out,
                        status_t *st);
/* qry__expr_args_alloc -- give node n NULL argument slots (replaces none; call once). */
void qry__expr_args_alloc(qry_expr_t *node, size_t n);
/*
 * qry__expr_parse_named -- parse an object argument {k1: e1, k2: e2, ...}:
 * names[i] goes to node->args[i] (allocated here, absent ones NULL). Fields not
 * in names fail with code unknown_code "<op> found an unknown argument: k";
 * names marked required ('!' prefix in names[i]) fail with required_code
 * "<op> requires '<k>' to be specified" when absent. A non-document arg fails
 * with notobj_code "<op> only supports an object as its argument".
 */
int qry__expr_parse_named(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                          const char *const *names, size_t nnames, int notobj_code,
                          int unknown_code, int required_code, status_t *st);
/* qry__expr_define_var -- define name in p's scope (user-name rules, or CURRENT); its slot. */
int qry__expr_define_var(qry__expr_parser_t *p, const char *name, int *slot, status_t *st);
/* qry__expr_scope_mark -- the scope's current visible-name count, to pop to later. */
size_t qry__expr_scope_mark(const qry_expr_scope_t *scope);
/* qry__expr_scope_pop -- forget names defined after mark (their slots stay taken). */
void qry__expr_scope_pop(qry_expr_scope_t *scope, size_t mark);

/* ---- evaluation helpers ------------------------------------------------- */

/* qry__expr_eval -- evaluate a child (depth-checked); a NULL child is missing. */
int qry__expr_eval(qry_expr_ctx_t *cx, const qry_expr_t *e, bson_value_t *out, status_t *st);
/* qry__expr_alloc -- n bytes from the context's arena (8-aligned; never NULL). */
void *qry__expr_alloc(qry_expr_ctx_t *cx, size_t n);
/* qry__expr_str -- a UTF-8 result value holding a copy of s[0..len). */
void qry__expr_str(qry_expr_ctx_t *cx, const char *s, size_t len, bson_value_t *out);
/*
 * qry__expr_doc_finish -- turn a bson_t built by the op (document or array,
 * by as_array) into a result in the arena, and destroy the bson_t.
 */
void qry__expr_doc_finish(qry_expr_ctx_t *cx, bson_t *b, bool as_array, bson_value_t *out);
/* qry__expr_set_var -- bind slot for the rest of this evaluation (no copy). */
void qry__expr_set_var(qry_expr_ctx_t *cx, int slot, const bson_value_t *v);
/* qry__expr_meta -- the current document's metadata name (EOD if none), copied to the arena. */
int qry__expr_meta(qry_expr_ctx_t *cx, const char *name, bson_value_t *out, status_t *st);
/* qry__expr_now -- $$NOW in milliseconds. */
int64_t qry__expr_now(const qry_expr_ctx_t *cx);
/* qry__expr_rand -- a uniform double in [0, 1) from the context's generator. */
double qry__expr_rand(qry_expr_ctx_t *cx);

/*
 * qry__expr_coerce_string -- MongoDB's coerceToString ($substr, $toLower,
 * $strcasecmp, ...): strings as they are, numbers and dates as text, null and
 * missing as "", anything else 16007.
 */
int qry__expr_coerce_string(qry_expr_ctx_t *cx, const bson_value_t *v, bson_value_t *out,
                            const char *op, status_t *st);
/* qry__expr_is_nullish -- null, undefined or missing. */
bool qry__expr_is_nullish(const bson_value_t *v);
/* qry__expr_type_name -- MongoDB's $type name of v ("missing" for EOD). */
const char *qry__expr_type_name(const bson_value_t *v);
/* qry__expr_view -- a read-only bson_t over a document/array value (empty if malformed). */
void qry__expr_view(const bson_value_t *v, bson_t *out);
/* qry__expr_set_int / _long / _double / _bool / _null -- fill a scalar result. */
void qry__expr_set_int(bson_value_t *out, int32_t x);
void qry__expr_set_long(bson_value_t *out, int64_t x);
void qry__expr_set_double(bson_value_t *out, double x);
void qry__expr_set_bool(bson_value_t *out, bool x);
void qry__expr_set_null(bson_value_t *out);

/* ---- decimal128 arithmetic (expr_decimal.c) --------------------------------- */

/*
 * QRY__DEC_MAX_DIGITS -- room for a product of two 34-digit coefficients
 * plus the alignment of add and the scaling of divide.
 */
#define QRY__DEC_MAX_DIGITS 160

#define QRY__DEC_NAN 2
#define QRY__DEC_INF 1

#define QRY__DEC_ROUND_HALF_EVEN 0
#define QRY__DEC_ROUND_TRUNC     1
#define QRY__DEC_ROUND_CEIL      2
#define QRY__DEC_ROUND_FLOOR     3

/* A decimal: (-1)^neg * coefficient * 10^exp; digits little-endian; cls 0 finite. */
typedef struct qry__dec {
    int cls;
    bool neg;
    int32_t exp;
    uint16_t n;
    uint8_t d[QRY__DEC_MAX_DIGITS];
} qry__dec_t;

/* qry__dec_from_value -- a number as a decimal (doubles to 15 digits); false if not a number. */
bool qry__dec_from_value(const bson_value_t *v, qry__dec_t *d);
/* qry__dec_to_value -- a decimal128 result, rounded half-even to 34 digits. */
void qry__dec_to_value(const qry__dec_t *d, bson_value_t *out);
/* qry__dec_add -- a + b (a - b with negate_b). */
void qry__dec_add(const qry__dec_t *a, const qry__dec_t *b, bool negate_b, qry__dec_t *r);
/* qry__dec_mul -- a * b. */
void qry__dec_mul(const qry__dec_t *a, const qry__dec_t *b, qry__dec_t *r);
/* qry__dec_div -- a / b for b != 0. */
void qry__dec_div(const qry__dec_t *a, const qry__dec_t *b, qry__dec_t *r);
/* qry__dec_mod -- truncated remainder; false if b is zero. */
bool qry__dec_mod(const qry__dec_t *a, const qry__dec_t *b, qry__dec_t *r);
/* qry__dec_quantize -- round to 10^-place with a QRY__DEC_ROUND_* mode. */
void qry__dec_quantize(qry__dec_t *d, int64_t place, int mode, bool pad);
/* qry__dec_to_double -- nearest double. */
double qry__dec_to_double(const qry__dec_t *d);
/* qry__dec_is_zero -- a finite zero. */
bool qry__dec_is_zero(const qry__dec_t *d);

#endif /* MICA_QUERY_EXPR_INT_H */
