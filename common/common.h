/*
 * common.h -- the public header of common/: statuses and MongoDB error codes,
 * JSON logging, BSON helpers (canonical comparison, hashing, dotted paths),
 * and small utilities shared by every other module.
 *
 * common/ depends on libbson, libyaml and libc only. Everything above it
 * (wire, query, storage, mongod, config, router) includes this header.
 */
#ifndef MICA_COMMON_H
#define MICA_COMMON_H

#include <bson/bson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Error codes and statuses                                                  */
/* ------------------------------------------------------------------------ */

/* Every MongoDB error code Mica uses, as ERR_<Name> = <code>. */
enum {
#define X(code, name) ERR_##name = code,
#include "common/error_codes.def"
#undef X
};

/*
 * STATUS_MSG_MAX -- the message buffer is fixed so that reporting an error
 * never allocates (an out-of-memory path must still be able to say so). 512
 * bytes holds MongoDB's longest common messages (DuplicateKey with its key).
 */
#define STATUS_MSG_MAX 512

/* status_t -- an error code (0 = OK) and a message. */
typedef struct status {
    int code;
    char msg[STATUS_MSG_MAX];
} status_t;

#define STATUS_INIT                                                                                \
    {                                                                                              \
        0,                                                                                         \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* status_code_name -- MongoDB's codeName for code ("Location<code>" if not in the table). */
const char *status_code_name(int code);
/* status_code_known -- whether code is in the table. */
bool status_code_known(int code);
/* status_set -- record code and a printf-style message; returns code. */
int status_set(status_t *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* status_setv -- status_set with a va_list. */
int status_setv(status_t *st, int code, const char *fmt, va_list ap);
/* status_reset -- back to OK with an empty message. */
void status_reset(status_t *st);
/* status_copy -- copy src into dst; returns src->code. */
int status_copy(status_t *dst, const status_t *src);
/* status_prefix -- prepend "prefix" to the message (keeps the code). */
void status_prefix(status_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline bool status_is_ok(const status_t *st)
{
    return st->code == 0;
}

/*
 * Propagation in WiredTiger's style: functions return 0 or an error code and
 * fill a status_t for the message.
 *   ST_RET(x)   return x's code if it failed.
 *   ST_ERR(x)   on failure store the code in `ret` and goto err.
 *   ST_TRET(x)  in cleanup: keep the first error, remember a later one.
 */
#define ST_RET(x)                                                                                  \
    do {                                                                                           \
        int __r = (x);                                                                             \
        if (__r != 0)                                                                              \
            return __r;                                                                            \
    } while (0)
#define ST_ERR(x)                                                                                  \
    do {                                                                                           \
        if ((ret = (x)) != 0)                                                                      \
            goto err;                                                                              \
    } while (0)
#define ST_TRET(x)                                                                                 \
    do {                                                                                           \
        int __r = (x);                                                                             \
        if (__r != 0 && ret == 0)                                                                  \
            ret = __r;                                                                             \
    } while (0)

/*
 * INVARIANT -- always on, for states where going on could corrupt data. Bad
 * user input is a status, never an INVARIANT.
 */
#define INVARIANT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            invariant_failed(#cond, __FILE__, __LINE__);                                           \
    } while (0)
__attribute__((noreturn)) void invariant_failed(const char *expr, const char *file, int line);

/* ------------------------------------------------------------------------ */
/* Logging: MongoDB 4.4+ JSON lines {t, s, c, id, ctx, msg, attr}            */
/* ------------------------------------------------------------------------ */

typedef enum log_severity {
    LOG_SEV_FATAL = 0, /* "F" */
    LOG_SEV_ERROR,     /* "E" */
    LOG_SEV_WARNING,   /* "W" */
    LOG_SEV_INFO,      /* "I" */
    LOG_SEV_DEBUG1,    /* "D1" */
    LOG_SEV_DEBUG2,    /* "D2" */
    LOG_SEV_DEBUG3,    /* "D3" */
} log_severity_t;

/* Components, as MongoDB names them in "c". */
#define LOG_COMPONENTS(X)                                                                          \
    X(DEFAULT, "-")                                                                                \
    X(CONTROL, "CONTROL")                                                                          \
    X(NETWORK, "NETWORK")                                                                          \
    X(COMMAND, "COMMAND")                                                                          \
    X(QUERY, "QUERY")                                                                              \
    X(WRITE, "WRITE")                                                                              \
    X(INDEX, "INDEX")                                                                              \
    X(STORAGE, "STORAGE")                                                                          \
    X(RECOVERY, "RECOVERY")                                                                        \
    X(REPL, "REPL")                                                                                \
    X(ELECTION, "ELECTION")                                                                        \
    X(SHARDING, "SHARDING")                                                                        \
    X(ACCESS, "ACCESS")                                                                            \
    X(EXECUTOR, "EXECUTOR")                                                                        \
    X(FTDC, "FTDC")

typedef enum log_component {
#define X(id, name) LOG_C_##id,
    LOG_COMPONENTS(X)
#undef X
        LOG_C_COUNT
} log_component_t;

/*
 * log_open -- send log lines to path (NULL: stderr), appending or truncating.
 * Returns 0 or errno. Safe to call once at start-up, before threads.
 */
int log_open(const char *path, bool append);
/* log_close -- flush and close the log file (back to stderr). */
void log_close(void);
/* log_rotate -- rename the log file to renamed and reopen path empty; 0 or errno. */
int log_rotate(const char *path, const char *renamed);
/* log_set_verbosity -- 0 = info and above, 1..3 = debug levels; -1 = quiet (warnings+). */
void log_set_verbosity(int verbosity);
/* log_set_component_verbosity -- comp's own level (0..5), or -1 to follow the global one. */
void log_set_component_verbosity(log_component_t comp, int verbosity);
/* log_get_component_verbosity -- comp's own level, -1 when it follows the global one. */
int log_get_component_verbosity(log_component_t comp);
/* log_get_verbosity -- the global level (-1 quiet). */
int log_get_verbosity(void);
/* log_enabled -- whether a line at sev for comp would be written. */
bool log_enabled(log_severity_t sev, log_component_t comp);
/* log_set_ctx -- name this thread's "ctx" (e.g. "conn12", "listener"). Copied. */
void log_set_ctx(const char *ctx);
/* log_get_ctx -- this thread's ctx name. */
const char *log_get_ctx(void);
/* log_write -- write one line; attr may be NULL. Thread-safe; one write(2) per line. */
void log_write(log_severity_t sev, log_component_t comp, int id, const char *msg,
               const bson_t *attr);
/*
 * LOG_MAX_ATTR_BYTES -- MongoDB's maxLogSizeKB default (10 KB): an attribute
 * larger than this is truncated in the log line (log_truncate_attrs), so a
 * large document never produces a multi-megabyte line and getLog's ring of
 * recent lines stays small enough to return.
 */
#define LOG_MAX_ATTR_BYTES (10 * 1024)
/* log_truncate_attrs -- cut attributes over max bytes; see log.c. */
bool log_truncate_attrs(const bson_t *attr, size_t max, bson_t *out, bson_t *truncated,
                        bson_t *sizes);
/* log_format -- format one line into out (initialised by the caller); for tests. */
void log_format(bson_string_t *out, log_severity_t sev, log_component_t comp, int id,
                const char *ctx, const char *msg, const bson_t *attr);

/*
 * log_set_tap -- also hand every written line (with its newline) to fn, under
 * the log lock, so fn must not log. NULL removes it. micad keeps recent lines
 * for getLog this way.
 */
void log_set_tap(void (*fn)(const char *line, size_t len, void *arg), void *arg);

/*
 * LOG(sev, comp, id, msg, attrs...) -- attrs are BCON pairs:
 *   LOG(INFO, NETWORK, 22943, "Connection accepted", "remote", BCON_UTF8(r), "connectionId",
 *       BCON_INT64(n));
 * The level is checked before any attribute is built. `id` is unique per call
 * site, from the module's range (docs/logging.md).
 */
#define LOG(sev, comp, id, msg, ...)                                                               \
    do {                                                                                           \
        if (log_enabled(LOG_SEV_##sev, LOG_C_##comp)) {                                            \
            bson_t *__attr = bcon_new(NULL, ##__VA_ARGS__, (void *)NULL);                          \
            log_write(LOG_SEV_##sev, LOG_C_##comp, id, msg, __attr);                               \
            bson_destroy(__attr);                                                                  \
        }                                                                                          \
    } while (0)

/* LOG_DOC -- as LOG with a ready attr document (may be NULL). */
#define LOG_DOC(sev, comp, id, msg, attr)                                                          \
    do {                                                                                           \
        if (log_enabled(LOG_SEV_##sev, LOG_C_##comp))                                              \
            log_write(LOG_SEV_##sev, LOG_C_##comp, id, msg, attr);                                 \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Time                                                                      */
/* ------------------------------------------------------------------------ */

/* time_now_ms -- wall clock, milliseconds since the epoch. */
int64_t time_now_ms(void);
/* time_mono_us -- monotonic clock, microseconds. */
int64_t time_mono_us(void);

/* ------------------------------------------------------------------------ */
/* BSON helpers (bsonu_)                                                     */
/*   canonical comparison, equality, hashing, dotted paths                   */
/* ------------------------------------------------------------------------ */

/* BSONU_SECTION_BEGIN -- owned by common/bson_compare.c and common/bson_path.c */

/*
 * Canonical type ranks: MongoDB's canonicalizeBSONType. Values of different
 * rank order by rank; values of one rank compare by value (all four number
 * types share a rank, as do string and symbol). Undefined ranks below null.
 */
typedef enum bsonu_canon {
    BSONU_CANON_MINKEY = -1,
    BSONU_CANON_UNDEFINED = 0,
    BSONU_CANON_NULL = 5,
    BSONU_CANON_NUMBER = 10,
    BSONU_CANON_STRING = 15, /* string and symbol */
    BSONU_CANON_OBJECT = 20,
    BSONU_CANON_ARRAY = 25,
    BSONU_CANON_BINARY = 30,
    BSONU_CANON_OID = 35,
    BSONU_CANON_BOOL = 40,
    BSONU_CANON_DATE = 45,
    BSONU_CANON_TIMESTAMP = 47,
    BSONU_CANON_REGEX = 50,
    BSONU_CANON_DBPOINTER = 55,
    BSONU_CANON_CODE = 60,
    BSONU_CANON_CODEWSCOPE = 65,
    BSONU_CANON_MAXKEY = 127,
} bsonu_canon_t;

/* bsonu_canonical_type -- the canonical rank of a BSON type (EOD ranks as undefined). */
int bsonu_canonical_type(bson_type_t type);
/* bsonu_is_number -- int32, int64, double or decimal128. */
bool bsonu_is_number(bson_type_t type);

/*
 * Comparison under the simple collation. All return <0, 0, >0. Malformed
 * embedded documents compare as empty documents (inputs are validated BSON;
 * this only keeps a corrupt value from crashing the process).
 */
/* bsonu_compare_value -- compare two values (type rank, then value). */
int bsonu_compare_value(const bson_value_t *a, const bson_value_t *b);
/* bsonu_compare_iter -- compare the values at two iterators (names ignored). */
int bsonu_compare_iter(const bson_iter_t *a, const bson_iter_t *b);
/* bsonu_compare_element -- compare elements: type rank, then field name, then value. */
int bsonu_compare_element(const bson_iter_t *a, const bson_iter_t *b);
/* bsonu_compare_doc -- whole-document compare (BSONObj::woCompare with field names). */
int bsonu_compare_doc(const bson_t *a, const bson_t *b);
/* bsonu_equal_value -- equality as $eq sees it (compare == 0, 1 == 1.0, NaN == NaN). */
bool bsonu_equal_value(const bson_value_t *a, const bson_value_t *b);
/* bsonu_equal_iter -- bsonu_equal_value on the values at two iterators. */
bool bsonu_equal_iter(const bson_iter_t *a, const bson_iter_t *b);

/*
 * Hashing consistent with equality: equal values (1, 1.0, NumberLong(1),
 * NumberDecimal("1.00")) hash equal; documents hash their field names and
 * values in order; arrays hash their elements in order. Not stable across
 * versions of Mica: never persist these hashes.
 */
/* bsonu_hash_value -- 64-bit hash of a value, mixed with seed. */
uint64_t bsonu_hash_value(const bson_value_t *v, uint64_t seed);
/* bsonu_hash_iter -- bsonu_hash_value of the value at an iterator. */
uint64_t bsonu_hash_iter(const bson_iter_t *it, uint64_t seed);
/* bsonu_hash_doc -- hash of a whole document (field names and values, in order). */
uint64_t bsonu_hash_doc(const bson_t *doc, uint64_t seed);

/*
 * Exact numbers. Every int32/int64/double/decimal128 value maps to one
 * canonical form: a class, and for finite non-zero values the decimal digits
 * d1 d2 ... dn (d1 != 0, dn != 0) and exponent x with |value| = 0.d1..dn * 10^x.
 * Equal values have identical forms, so the form serves comparison, hashing
 * and KeyString. A double's exact expansion has at most 767 significant digits.
 */
#define BSONU_NUM_MAX_DIGITS 800

typedef enum bsonu_num_class {
    BSONU_NUM_NAN = 0, /* every NaN (double or decimal, any sign/payload) */
    BSONU_NUM_NEG_INF,
    BSONU_NUM_NEG,  /* finite, < 0 */
    BSONU_NUM_ZERO, /* +0, -0, decimal zeros of any exponent */
    BSONU_NUM_POS,
    BSONU_NUM_POS_INF,
} bsonu_num_class_t;

typedef struct bsonu_num {
    bsonu_num_class_t cls;
    int32_t exp;                          /* x above; 0 unless NEG/POS */
    uint16_t ndigits;                     /* 0 unless NEG/POS */
    uint8_t digits[BSONU_NUM_MAX_DIGITS]; /* values 0..9, not ASCII */
} bsonu_num_t;

/* bsonu_num_from_value -- canonical form of a number; BadValue if v is not a number. */
int bsonu_num_from_value(const bson_value_t *v, bsonu_num_t *out, status_t *st);
/* bsonu_num_compare -- compare two canonical forms (NaN lowest, NaN == NaN). */
int bsonu_num_compare(const bsonu_num_t *a, const bsonu_num_t *b);
/* bsonu_num_to_double -- nearest double (correctly rounded; NaN/Inf kept). */
double bsonu_num_to_double(const bsonu_num_t *n);
/* bsonu_number_as_double -- nearest double of any number value; false if not a number. */
bool bsonu_number_as_double(const bson_value_t *v, double *out);
/* bsonu_number_as_int64 -- exact int64 of an integral number value in range; else false. */
bool bsonu_number_as_int64(const bson_value_t *v, int64_t *out);

/*
 * Decimal128 fields (IEEE 754-2008 BID, as libbson stores it). Non-canonical
 * coefficients (> 10^34 - 1) read as zero, as the standard says.
 */
typedef struct bsonu_dec128_parts {
    bool negative;
    bool is_nan;
    bool is_inf;
    int32_t exponent; /* unbiased: value = coefficient * 10^exponent */
    unsigned __int128 coefficient;
} bsonu_dec128_parts_t;

/* bsonu_dec128_decode -- split a decimal128 into sign, exponent and coefficient. */
void bsonu_dec128_decode(const bson_decimal128_t *d, bsonu_dec128_parts_t *out);

/*
 * Dotted paths ("a.b.0.c") with MongoDB's implicit array traversal.
 *
 * bsonu_path_walk visits every value a path reaches, the way match sees it:
 *  - a component on a document looks up that field;
 *  - a component on an array (not the last array level of an array of
 *    arrays: nested arrays are not traversed implicitly) looks up the field
 *    in every element that is a document;
 *  - a numeric component on an array ALSO takes that element by position
 *    ("a.0.b": a[0].b, plus a[i]["0"].b for document elements).
 * Each visited leaf says whether an array was traversed on the way, the index
 * in the first traversed array (for the positional $ operator), and whether
 * the leaf is itself an array (match tests the array and its elements; with
 * BSONU_PATH_EXPAND_LEAF_ARRAY the walk also visits each element of a leaf
 * array, before the array itself, with from_leaf_expansion set).
 * Missing paths visit nothing.
 */
typedef struct bsonu_path_leaf {
    bson_iter_t iter;         /* positioned on the leaf value */
    bool in_array;            /* reached through at least one array */
    int32_t array_index;      /* element index in the first array traversed; -1 if none */
    bool is_array;            /* the leaf is an array */
    bool from_leaf_expansion; /* an element of a leaf array (EXPAND_LEAF_ARRAY) */
} bsonu_path_leaf_t;

/* Visitor: return 0 to go on, non-zero to stop the walk (the walk returns it). */
typedef int (*bsonu_path_visit_fn)(void *ctx, const bsonu_path_leaf_t *leaf);

#define BSONU_PATH_EXPAND_LEAF_ARRAY 0x1u

/* bsonu_path_walk -- visit every leaf of path in doc; returns the visitor's stop value or 0. */
int bsonu_path_walk(const bson_t *doc, const char *path, unsigned flags, bsonu_path_visit_fn fn,
                    void *ctx);
/* bsonu_path_walk_value -- as bsonu_path_walk, from a document or array value. */
int bsonu_path_walk_value(const bson_value_t *root, const char *path, unsigned flags,
                          bsonu_path_visit_fn fn, void *ctx);

/*
 * bsonu_path_get -- the single value at a dotted path through documents only
 * (numeric components index arrays by position; no implicit traversal).
 * Returns true and positions *out on it, false if missing or if the path
 * would need to traverse an array.
 */
bool bsonu_path_get(const bson_t *doc, const char *path, bson_iter_t *out);

/*
 * Index keys. For a key pattern ({a: 1, "b.c": -1, ...}; the values are the
 * caller's business) and a document, the sorted, de-duplicated set of keys:
 * each key a document {"": v1, "": v2, ...} with one value per pattern field.
 * Missing fields give null; an array on a path gives one key per element (an
 * empty terminal array gives undefined, an empty array with path left gives
 * null); fields that reach the same array expand it together; two fields that
 * reach different arrays fail with CannotIndexParallelArrays (171) "cannot
 * index parallel arrays [a] [b]". multikey_paths[i] has bit j set when
 * component j of field i's path was an array that was expanded.
 */
#define BSONU_INDEX_MAX_FIELDS 32

typedef struct bsonu_index_keys {
    bson_t *keys; /* keys[0..n) sorted by bsonu_compare_doc, distinct */
    size_t n;
    size_t cap;
    size_t nfields;
    bool multikey;
    uint32_t multikey_paths[BSONU_INDEX_MAX_FIELDS];
} bsonu_index_keys_t;

/* bsonu_index_keys_init -- an empty key set. */
void bsonu_index_keys_init(bsonu_index_keys_t *k);
/* bsonu_index_keys_destroy -- free the keys (NULL-safe; leaves an empty set). */
void bsonu_index_keys_destroy(bsonu_index_keys_t *k);
/* bsonu_index_keys_get -- fill k (re-initialised first) with doc's keys for key_pattern. */
int bsonu_index_keys_get(const bson_t *key_pattern, const bson_t *doc, bsonu_index_keys_t *k,
                         status_t *st);
/*
 * Wildcard index keys (bson_wildcard.c): {"$**": 1}, {"a.$**": 1} and
 * wildcardProjection, as MongoDB's WildcardKeyGenerator makes them. Each key
 * is {"": "path.to.leaf", "": value}; array elements share their array's path;
 * {} and [] (undefined) are leaves; a nested array is a value; every array met
 * is a multikey path.
 */
typedef struct bsonu_wc_proj {
    bool inclusion; /* true: only paths[] (and below) are indexed; false: all but paths[] */
    char **paths;   /* _id is in the exclusion list unless the projection says _id: 1 */
    size_t n;
} bsonu_wc_proj_t;

/* bsonu_strlist_t -- a list of owned strings (multikey paths). */
typedef struct bsonu_strlist {
    char **v;
    size_t n;
} bsonu_strlist_t;

/* bsonu_wc_proj_parse -- the projection of a wildcard key pattern (and its wildcardProjection,
 * NULL if none); MongoDB's projection errors (31249, 31253, 31254, FailedToParse). */
int bsonu_wc_proj_parse(const bson_t *key_pattern, const bson_t *projection, bsonu_wc_proj_t *p,
                        status_t *st);
/* bsonu_wc_proj_destroy -- free p (NULL-safe). */
void bsonu_wc_proj_destroy(bsonu_wc_proj_t *p);
/* bsonu_wc_proj_covers -- whether the index holds every value at path (and below it). */
bool bsonu_wc_proj_covers(const bsonu_wc_proj_t *p, const char *path);
/* bsonu_wildcard_keys_get -- doc's keys (sorted, distinct) into k; multikey paths appended to
 * multikey (may be NULL; the caller initialises and frees it). */
int bsonu_wildcard_keys_get(const bsonu_wc_proj_t *proj, const bson_t *doc, bsonu_index_keys_t *k,
                            bsonu_strlist_t *multikey, status_t *st);
/* bsonu_strlist_destroy -- free the strings and the list (NULL-safe). */
void bsonu_strlist_destroy(bsonu_strlist_t *l);
/* bsonu_is_wildcard_pattern -- whether a key pattern has a "$**" or "path.$**" field with a
 * numeric value (a wildcard index; {"$**": "text"} is a text index). */
bool bsonu_is_wildcard_pattern(const bson_t *key_pattern);

/* bsonu_type_name -- MongoDB's $type alias of t ("double", "string", ..., "maxKey"); "missing"
 * for BSON_TYPE_EOD or anything unknown. */
const char *bsonu_type_name(bson_type_t t);
/* bsonu_type_by_name -- the BSON type a $type alias names, or -1 ("number" is not a type). */
int bsonu_type_by_name(const char *name);

/* BSONU_SECTION_END */

/* ------------------------------------------------------------------------ */
/* Failpoints (fp_): named hooks that tests turn on (configureFailPoint)     */
/* ------------------------------------------------------------------------ */

/* FAILPOINT_SECTION_BEGIN -- owned by common/failpoint.c */

/* fp_id_t -- one per row of common/failpoint.def: FP_<name>. */
typedef enum fp_id {
#define X(name, help) FP_##name,
#include "common/failpoint.def"
#undef X
    FP_COUNT
} fp_id_t;

/* fp__on -- non-zero while a failpoint's mode is not off; read without a lock. */
extern int fp__on[FP_COUNT];

/* fp_maybe -- the cheap check: one relaxed atomic load, false while the failpoint is off. */
static inline bool fp_maybe(fp_id_t id)
{
    return __builtin_expect(__atomic_load_n(&fp__on[id], __ATOMIC_RELAXED) != 0, 0);
}

/*
 * fp_fire -- evaluate failpoint id by its mode (alwaysOn, times, skip,
 * activationProbability); true when it fires, which counts one entry
 * (timesEntered). When ns is not NULL and the failpoint's data has a string
 * field "ns" that differs, it neither fires nor counts nor uses up a `times`.
 * When it fires and data is not NULL, *data is a copy of its data document
 * (the caller destroys it). Use FP_FIRE, which checks fp_maybe first.
 */
bool fp_fire(fp_id_t id, const char *ns, bson_t *data);
/*
 * fp_pause -- MongoDB's pauseWhileSet: if the failpoint fires (one entry), wait
 * while it keeps evaluating on (re-checked every 100 ms and on every
 * configureFailPoint, without counting entries) or until deadline_us
 * (time_mono_us; 0 = none): MaxTimeMSExpired. Returns 0 otherwise, also when
 * fp_release_all runs (shutdown).
 */
int fp_pause(fp_id_t id, const char *ns, int64_t deadline_us, status_t *st);
/*
 * fp_set_interrupt_check -- the binary's interrupt check (micad: killOp, a step-down,
 * shutdown), which fp_pause calls at each recheck so that a paused operation can be
 * interrupted, as MongoDB's waitWhileFailPointEnabled is. NULL: none.
 */
void fp_set_interrupt_check(int (*check)(status_t *st));

#define FP_FIRE(name, ns, data) (fp_maybe(FP_##name) && fp_fire(FP_##name, (ns), (data)))
#define FP_PAUSE(name, ns, deadline_us, st)                                                        \
    (fp_maybe(FP_##name) ? fp_pause(FP_##name, (ns), (deadline_us), (st)) : 0)

/* fp_lookup -- the id of a failpoint name (case-sensitive), or -1. */
int fp_lookup(const char *name);
/* fp_name -- a failpoint's name. */
const char *fp_name(fp_id_t id);
/* fp_help -- a failpoint's one-line description. */
const char *fp_help(fp_id_t id);
/*
 * fp_configure -- set a failpoint from a configureFailPoint command document
 * ({mode: "off" | "alwaysOn" | {times: n} | {skip: n} | {activationProbability: p},
 * data: {...}}), with MongoDB's errors. *times_entered is the count of entries
 * before the change (configureFailPoint's reply `count`).
 */
int fp_configure(fp_id_t id, const bson_t *cmd, int64_t *times_entered, status_t *st);
/*
 * fp_wait_entered -- wait until the failpoint was entered at least n times in all
 * (waitForFailPoint), or deadline_us (0 = none): MaxTimeMSExpired.
 */
int fp_wait_entered(fp_id_t id, int64_t n, int64_t deadline_us, status_t *st);
/* fp_append_info -- append {mode, data, timesEntered} of a failpoint to out. */
void fp_append_info(fp_id_t id, bson_t *out);
/* fp_release_all -- turn every failpoint off and wake every pause (server shutdown). */
void fp_release_all(void);

/* FAILPOINT_SECTION_END */

/* ------------------------------------------------------------------------ */
/* Options (opts_): mongod-style command line + YAML config file             */
/* ------------------------------------------------------------------------ */

/* OPTIONS_SECTION_BEGIN -- owned by common/options.c */

/*
 * Server parameters: `--setParameter name=value` on the command line and
 * `setParameter: {name: value}` in YAML at start-up, getParameter/setParameter
 * at run time, all from one table (common/parameters.def: name, kind, default,
 * range, where settable). An unknown name is an error. Reading an INT or BOOL
 * parameter anywhere in the process: opts_param(OPTS_PARAM_<name>).
 */
typedef enum opts_param_kind {
    OPTS_PK_INT,   /* a whole number in [min, max] */
    OPTS_PK_BOOL,  /* 0 or 1 */
    OPTS_PK_CUSTOM /* kept elsewhere (mongod/parameters.c); start-up text in param_text */
} opts_param_kind_t;

/* Where a parameter may be set (bits). */
#define OPTS_AT_NONE    0
#define OPTS_AT_STARTUP 1
#define OPTS_AT_RUNTIME 2
#define OPTS_AT_BOTH    3

typedef enum opts_param_id {
#define PARAM(name, kind, def, min, max, at, help) OPTS_PARAM_##name,
#include "common/parameters.def"
#undef PARAM
    OPTS_PARAM_COUNT
} opts_param_id_t;

/*
 * opts_t -- the parsed start-up options of a server process. Strings are owned
 * (opts_destroy frees them). `parsed` mirrors what getCmdLineOpts reports:
 * only the options that were set, nested by their YAML path.
 */
typedef struct opts {
    int port;                            /* net.port (27017) */
    char *bind_ip;                       /* net.bindIp, comma list ("127.0.0.1") */
    bool bind_ip_all;                    /* net.bindIpAll */
    int max_conns;                       /* net.maxIncomingConnections (1000000) */
    char *dbpath;                        /* storage.dbPath ("/data/db") */
    bool journal;                        /* storage.journal.enabled (true only; always on) */
    int commit_interval_ms;              /* storage.journal.commitIntervalMs (100) */
    double cache_size_gb;                /* ...engineConfig.cacheSizeGB (0: mongod's default) */
    char *journal_compressor;            /* ...engineConfig.journalCompressor (NULL: snappy) */
    char *block_compressor;              /* ...collectionConfig.blockCompressor (NULL: snappy) */
    char *engine;                        /* storage.engine ("wiredTiger" only) */
    char *logpath;                       /* systemLog.path (NULL: stderr) */
    bool logappend;                      /* systemLog.logAppend */
    char *log_dest;                      /* systemLog.destination ("file"; NULL: stderr) */
    bool quiet;                          /* systemLog.quiet */
    int verbosity;                       /* systemLog.verbosity, -v = 1, -vv = 2 ... */
    int slowms;                          /* operationProfiling.slowOpThresholdMs (100) */
    char *repl_set;                      /* replication.replSetName (--replSet) */
    int oplog_size_mb;                   /* replication.oplogSizeMB (--oplogSize; 0: default) */
    char *cluster_role;                  /* sharding.clusterRole ("shardsvr" | "configsvr") */
    char *key_file;                      /* security.keyFile (implies authorization) */
    bool auth;                           /* --auth */
    char *authorization;                 /* security.authorization: "enabled" | "disabled" */
    char *cluster_auth_mode;             /* security.clusterAuthMode: "keyFile" | "x509" */
    char *tls_mode;                      /* net.tls.mode ("disabled" when NULL) */
    char *tls_certificate_key_file;      /* net.tls.certificateKeyFile */
    char *tls_ca_file;                   /* net.tls.CAFile */
    bool tls_allow_invalid_certificates; /* net.tls.allowInvalidCertificates */
    bool tls_allow_no_certificates;      /* net.tls.allowConnectionsWithoutCertificates */
    char *tls_cluster_file;              /* net.tls.clusterFile: presented to other members */
    char *tls_cluster_ca_file;           /* net.tls.clusterCAFile: verifies incoming certs */
    bool tls_allow_invalid_hostnames;    /* net.tls.allowInvalidHostnames (member names) */
    int metrics_port;                    /* metrics.port: Prometheus /metrics (0: off) */
    char *metrics_bind_ip;               /* metrics.bindIp ("127.0.0.1") */
    char *pid_file;                      /* processManagement.pidFilePath */
    bool fork;                           /* processManagement.fork (--fork) */
    char *config_path;                   /* --config / -f */
    bool help;                           /* --help / -h: print opts_help and exit 0 */
    bool version;                        /* --version: print the version and exit 0 */
    uint64_t set_mask;                   /* bit i: table entry i was given (file or command line) */
    int64_t params[OPTS_PARAM_COUNT];    /* server parameters (defaults unless set) */
    char *param_text[OPTS_PARAM_COUNT];  /* each given parameter's text, as typed */
    uint64_t params_set;                 /* bit i: params[i] was given */
    bson_t argv;                         /* the command line as an array of strings */
    bson_t parsed;                       /* {config, net: {...}, storage: {...}, ...} */
} opts_t;

/* opts_init -- defaults; always pair with opts_destroy. */
void opts_init(opts_t *o);
/* opts_destroy -- free owned strings and documents; NULL-safe. */
void opts_destroy(opts_t *o);
/*
 * opts_parse -- parse argv (argv[0] is the program) and the YAML file it names
 * with --config, command line over file. Pure apart from reading that file: no
 * exit, no printing. On failure returns BadValue (2) with a message meant for
 * stderr; the process should then exit with code 2, as mongod does.
 */
int opts_parse(opts_t *o, int argc, char *const *argv, status_t *st);
/* opts_load_yaml -- apply a YAML config text (for --config and for tests). */
int opts_load_yaml(opts_t *o, const char *text, size_t len, status_t *st);
/* opts_param_name -- a parameter's name ("ttlMonitorSleepSecs"). */
const char *opts_param_name(opts_param_id_t id);
/* opts_param_lookup -- the id of a parameter name, or -1. */
int opts_param_lookup(const char *name);
/* opts_params_publish -- make o's parameters the process-wide values (at start-up). */
void opts_params_publish(const opts_t *o);
/* opts_param -- the process-wide value of a parameter (its default until published). */
int64_t opts_param(opts_param_id_t id);
/* opts_param_store -- change the process-wide value (setParameter; already range-checked). */
void opts_param_store(opts_param_id_t id, int64_t v);
/* opts_param_kind -- INT, BOOL or CUSTOM. */
opts_param_kind_t opts_param_kind(opts_param_id_t id);
/* opts_param_settable -- OPTS_AT_* bits: where the parameter may be set. */
int opts_param_settable(opts_param_id_t id);
/* opts_param_range -- the [min, max] of an INT parameter. */
void opts_param_range(opts_param_id_t id, int64_t *min, int64_t *max);
/* opts_help -- append the --help text (generated from the option table). */
void opts_help(bson_string_t *out, const char *prog);

/* OPTIONS_SECTION_END */

#endif /* MICA_COMMON_H */
