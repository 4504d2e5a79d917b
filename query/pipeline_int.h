/*
 * pipeline_int.h -- private to the aggregation stages of query/: the parsed
 * stage record, the runtime iterator every stage implements, the stage
 * table, accumulators and spill files. query/README.md ("Pipelines") tells
 * the design.
 */
#ifndef MICA_QUERY_PIPELINE_INT_H
#define MICA_QUERY_PIPELINE_INT_H

#include "query/query.h"

#include <stdio.h>

typedef struct pl_stage pl_stage_t;
typedef struct pl_iter pl_iter_t;
typedef struct pl_run pl_run_t;

/* How a stage's output relates to its input, for the optimiser and dependencies. */
typedef enum pl_shape {
    PL_PASSTHROUGH, /* outputs (some of) its input documents unchanged */
    PL_MODIFIES,    /* input documents with the `writes` paths added/changed/removed */
    PL_REPLACES,    /* new documents built from `reads` only */
} pl_shape_t;

/* Position and placement rules of a stage kind. */
#define PL_F_FIRST    0x1u /* only as the first stage */
#define PL_F_LAST     0x2u /* only as the last stage */
#define PL_F_NO_FACET 0x4u /* not inside $facet */
#define PL_F_BLOCKING 0x8u /* consumes its whole input first */
/*
 * PL_F_MERGER -- cannot simply run once per shard: it must see the merged
 * stream ($skip, $sample, $count, $out, ...), or must be split into a shard
 * part and a merge part by the router ($group, $bucket, $sortByCount through
 * the accumulators' partial/merge steps).
 */
#define PL_F_MERGER    0x10u
#define PL_F_NO_SOURCE 0x20u /* ignores its source (generates documents) */
#define PL_F_NO_LOOKUP 0x40u /* not inside a $lookup/$unionWith sub-pipeline */

/* The table entry of one stage kind. */
typedef struct pl_stage_ops {
    const char *name;
    unsigned flags;
    /* parse -- fill s->data and the declarations from the argument. */
    int (*parse)(pl_stage_t *s, const bson_iter_t *arg, status_t *st);
    /* open -- a runtime iterator pulling from src (owned by the new iterator). */
    int (*open)(const pl_stage_t *s, pl_run_t *run, pl_iter_t *src, pl_iter_t **out, status_t *st);
    /* free -- free s->data. */
    void (*free)(void *data);
} pl_stage_ops_t;

/* A parsed stage: the data the optimiser and the router reason about. */
struct pl_stage {
    const pl_stage_ops_t *ops;
    bson_t *spec; /* {$name: arg}, owned (heap: bson_t wants 128-byte alignment) */
    void *data;   /* the ops' parsed form */
    pl_shape_t shape;
    bool needs_whole_doc;
    char **reads;
    size_t nreads;
    char **writes;
    size_t nwrites;
};

struct qry_pipeline {
    pl_stage_t **stages;
    size_t n;
    size_t cap;
    /* Top-level pipelines own the variable scope their stages were parsed in. */
    qry_expr_scope_t *scope;
    bool owns_scope;
};

/* Shared by every iterator of one run (and of its sub-pipelines). */
struct pl_run {
    const qry_pl_ctx_t *ctx;
    int64_t now_ms;
    uint64_t rng;            /* xorshift state for $sample/$rand */
    uint64_t spills;         /* runs written to disk */
    qry_expr_scope_t *scope; /* the top-level pipeline's variables */
    qry_expr_ctx_t *ex;      /* expression context: arena, variables, $$NOW */
    bson_t *let_vals;        /* the user variables' values {name: value} */
};

/*
 * pl_iter_t -- one stage at run time. next() follows qry_doc_source_t's rule:
 * *out is initialised in every case and holds a document when it returns 0
 * with *eof false. close frees the iterator and its source.
 */
struct pl_iter {
    int (*next)(pl_iter_t *it, bson_t *out, bool *eof, status_t *st);
    void (*close)(pl_iter_t *it);
    pl_iter_t *src;
    pl_run_t *run;
};

/* qry__pl_iter_init -- set an iterator's hooks and its place in the chain. */
static inline void qry__pl_iter_init(pl_iter_t *it,
                                     int (*next)(pl_iter_t *, bson_t *, bool *, status_t *),
                                     void (*close)(pl_iter_t *), pl_iter_t *src, pl_run_t *run)
{
    it->next = next;
    it->close = close;
    it->src = src;
    it->run = run;
}

/* qry__pl_iter_close -- close an iterator chain (NULL-safe). */
void qry__pl_iter_close(pl_iter_t *it);
/* qry__pl_pull -- it->next with the deadline check. */
int qry__pl_pull(pl_iter_t *it, bson_t *out, bool *eof, status_t *st);
/* qry__pl_iter_from_source -- wrap a caller's source as an iterator (takes ownership). */
pl_iter_t *qry__pl_iter_from_source(qry_doc_source_t src, pl_run_t *run);
/* qry__pl_iter_from_docs -- an iterator over borrowed docs[0..n). */
pl_iter_t *qry__pl_iter_from_docs(bson_t *const *docs, size_t n, pl_run_t *run);
/* qry__pl_chain -- open stages of p over src (owned); *out NULL on failure. */
int qry__pl_chain(const qry_pipeline_t *p, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                  status_t *st);
/* qry__pl_parse_sub -- parse a sub-pipeline ($facet, $lookup) with the context's rules. */
int qry__pl_parse_sub(const bson_iter_t *arr, bool in_facet, bool in_lookup, qry_pipeline_t **out,
                      status_t *st);
/* qry__pl_run_init -- a run over ctx for pipeline p (binds the let variables). */
int qry__pl_run_init(pl_run_t *run, const qry_pipeline_t *p, const qry_pl_ctx_t *ctx, status_t *st);
/* qry__pl_run_destroy -- free what qry__pl_run_init took. */
void qry__pl_run_destroy(pl_run_t *run);
/* qry__pl_parse_scoped -- parse arr as a pipeline in scope (borrowed, not owned by it). */
int qry__pl_parse_scoped(const bson_t *arr, qry_expr_scope_t *scope, bool in_lookup,
                         qry_pipeline_t **out, status_t *st);
/* qry__pl_parse_let -- the let document of the top-level pipeline being parsed (or NULL). */
const bson_t *qry__pl_parse_let(void);
/* qry__pl_scope -- the variable scope of the pipeline being parsed (stages parse with it). */
qry_expr_scope_t *qry__pl_scope(void);
/* qry__pl_expr -- parse the expression at it with the current scope, recording its reads in s. */
int qry__pl_expr(const bson_iter_t *it, pl_stage_t *s, qry_expr_t **out, status_t *st);
/* qry__pl_expr_value -- as qry__pl_expr from a value. */
int qry__pl_expr_value(const bson_value_t *v, pl_stage_t *s, qry_expr_t **out, status_t *st);
/* qry__pl_expr_deps -- record e's reads in s. */
void qry__pl_expr_deps(const qry_expr_t *e, pl_stage_t *s);
/* qry__pl_match_parse -- parse a filter with $expr hooks bound to run (NULL: parse-time check). */
int qry__pl_match_parse(const bson_t *filter, pl_run_t *run, qry_match_t **out, status_t *st);
/* qry__pl_add_read -- record a path the stage reads (copied). */
void qry__pl_add_read(pl_stage_t *s, const char *path);
/* qry__pl_add_write -- record a path the stage adds, changes or removes (copied). */
void qry__pl_add_write(pl_stage_t *s, const char *path);
/* qry__pl_set_spec -- replace a stage's spec with {name: value}. */
void qry__pl_set_spec(pl_stage_t *s, const char *name, const bson_value_t *v);
/* qry__pl_stage_free -- free a stage (NULL-safe). */
void qry__pl_stage_free(pl_stage_t *s);
/* qry__pl_stage_new -- parse one stage document {$name: arg}. */
int qry__pl_stage_new(const char *name, const bson_iter_t *arg, pl_stage_t **out, status_t *st);
/* qry__pl_stage_new_in -- qry__pl_stage_new parsing in scope (for the optimiser's rewrites). */
int qry__pl_stage_new_in(qry_expr_scope_t *scope, const char *name, const bson_iter_t *arg,
                         pl_stage_t **out, status_t *st);
/* qry__pl_zalloc -- zeroed memory aligned for embedded bson_t/bson_iter_t (free with free). */
void *qry__pl_zalloc(size_t size);
/* qry__pl_rand -- next pseudo-random 64 bits of the run. */
uint64_t qry__pl_rand(pl_run_t *run);
/* qry__pl_doc_mem -- approximate memory a held document costs. */
size_t qry__pl_doc_mem(const bson_t *doc);
/* qry__pl_mem_limit -- the context's per-stage limit (default when 0). */
size_t qry__pl_mem_limit(const pl_run_t *run);
/* qry__pl_paths_overlap -- whether one path is a prefix (by component) of the other. */
bool qry__pl_paths_overlap(const char *a, const char *b);
/* qry__pl_match_paths -- collect the paths a match filter reads; false if not knowable. */
bool qry__pl_match_paths(const qry_match_t *m, pl_stage_t *s);
/* qry__pl_path_get -- the single value at a dotted path (no array traversal); false if missing. */
bool qry__pl_path_get(const bson_t *doc, const char *path, bson_value_t *out);
/* qry__pl_set_path -- copy doc into out with path set to v (NULL: removed). */
void qry__pl_set_path(const bson_t *doc, const char *path, const bson_value_t *v, bson_t *out);

/* Stage tables, one per stage file. */
extern const pl_stage_ops_t qry__pl_stage_match, qry__pl_stage_limit, qry__pl_stage_skip,
    qry__pl_stage_count, qry__pl_stage_sample, qry__pl_stage_unset, qry__pl_stage_documents,
    qry__pl_stage_sort, qry__pl_stage_unwind, qry__pl_stage_group, qry__pl_stage_sortbycount,
    qry__pl_stage_project, qry__pl_stage_addfields, qry__pl_stage_set, qry__pl_stage_replaceroot,
    qry__pl_stage_replacewith, qry__pl_stage_facet, qry__pl_stage_lookup, qry__pl_stage_unionwith,
    qry__pl_stage_graphlookup, qry__pl_stage_out, qry__pl_stage_merge, qry__pl_stage_collstats,
    qry__pl_stage_indexstats, qry__pl_stage_currentop, qry__pl_stage_bucket,
    qry__pl_stage_bucketauto, qry__pl_stage_redact, qry__pl_stage_window, qry__pl_stage_fill,
    qry__pl_stage_densify;

/* Time units ($setWindowFields range windows, $derivative/$integral, $densify). */
typedef enum qry__pl_unit {
    QRY__PL_UNIT_NONE,
    QRY__PL_UNIT_MS,
    QRY__PL_UNIT_SECOND,
    QRY__PL_UNIT_MINUTE,
    QRY__PL_UNIT_HOUR,
    QRY__PL_UNIT_DAY,
    QRY__PL_UNIT_WEEK,
    QRY__PL_UNIT_MONTH,
    QRY__PL_UNIT_QUARTER,
    QRY__PL_UNIT_YEAR,
} qry__pl_unit_t;

/* qry__pl_unit_parse -- a unit name ("day"); calendar units only when calendar_ok. */
int qry__pl_unit_parse(const bson_iter_t *it, bool calendar_ok, qry__pl_unit_t *u, status_t *st);
/* qry__pl_unit_ms -- milliseconds in a fixed unit (0 for month, quarter, year). */
int64_t qry__pl_unit_ms(qry__pl_unit_t u);
/* qry__pl_date_shift -- ms moved by n units (calendar units clamp the day, as $dateAdd). */
double qry__pl_date_shift(int64_t ms, qry__pl_unit_t u, double n);

/* Sort stage internals shared with $sortByCount and $bucketAuto. */
/* qry__pl_sort_set_limit -- make a $sort a top-k of limit documents (the optimiser). */
void qry__pl_sort_set_limit(pl_stage_t *s, int64_t limit);
/*
 * qry__pl_project_source -- for an inclusion $project s: the input path whose
 * value the output holds unchanged at `path` (path itself when the projection
 * keeps it, x.rest for a path y.rest under a {y: "$x"} rename), into buf.
 * False when the projection drops, computes or only partly keeps it.
 */
bool qry__pl_project_source(const pl_stage_t *s, const char *path, char *buf, size_t len);
/* qry__pl_sort_get_limit -- a $sort's coalesced limit (-1: none). */
int64_t qry__pl_sort_get_limit(const pl_stage_t *s);
/* qry__pl_sort_open -- a (spilling) sort of src by sort (borrowed), limit -1 = none. */
int qry__pl_sort_open(const qry_sort_t *sort, int64_t limit, pl_run_t *run, pl_iter_t *src,
                      pl_iter_t **out, status_t *st);

/* ------------------------------------------------------------------------ */
/* Spill files: sorted runs of BSON documents in one unlinked temp file.     */
/* ------------------------------------------------------------------------ */

typedef struct pl_spill pl_spill_t;
typedef struct pl_spill_reader pl_spill_reader_t;

/* qry__spill_new -- an empty spill file in dir (created and unlinked at once). */
int qry__spill_new(const char *dir, pl_spill_t **out, status_t *st);
/* qry__spill_write_run -- write docs[0..n) as one run. */
int qry__spill_write_run(pl_spill_t *sp, bson_t *const *docs, size_t n, status_t *st);
/* qry__spill_nruns -- runs written. */
size_t qry__spill_nruns(const pl_spill_t *sp);
/* qry__spill_reader -- a reader over run i. */
int qry__spill_reader(pl_spill_t *sp, size_t i, pl_spill_reader_t **out, status_t *st);
/* qry__spill_read -- next document of the run (*out NULL at the end or on error). */
int qry__spill_read(pl_spill_reader_t *r, bson_t **out, status_t *st);
/* qry__spill_reader_free -- free a reader (NULL-safe). */
void qry__spill_reader_free(pl_spill_reader_t *r);
/* qry__spill_free -- close (and so remove) the file (NULL-safe). */
void qry__spill_free(pl_spill_t *sp);

/* ------------------------------------------------------------------------ */
/* Accumulators ($group, $bucket, $setWindowFields)                          */
/* ------------------------------------------------------------------------ */

typedef struct pl_accum_spec pl_accum_spec_t;
typedef struct pl_accum pl_accum_t;

/* qry__accum_parse -- parse {$op: arg} for field name; *out NULL on failure. */
int qry__accum_parse(const char *field, const bson_iter_t *op, pl_accum_spec_t **out, status_t *st);
/* qry__accum_spec_free -- free a parsed accumulator (NULL-safe). */
void qry__accum_spec_free(pl_accum_spec_t *a);
/* qry__accum_name -- "$sum". */
const char *qry__accum_name(const pl_accum_spec_t *a);
/* qry__accum_field -- the output field name. */
const char *qry__accum_field(const pl_accum_spec_t *a);
/* qry__accum_deps -- record the paths the accumulator's argument reads into s. */
void qry__accum_deps(const pl_accum_spec_t *a, pl_stage_t *s);
/* qry__accum_new -- a fresh state. */
pl_accum_t *qry__accum_new(const pl_accum_spec_t *a);
/* qry__accum_add -- feed one document. */
int qry__accum_add(pl_accum_t *acc, const bson_t *doc, pl_run_t *run, status_t *st);
/* qry__accum_partial -- append the mergeable partial state under key. */
int qry__accum_partial(const pl_accum_t *acc, bson_t *out, const char *key, status_t *st);
/* qry__accum_merge -- fold a partial state (from qry__accum_partial) in. */
int qry__accum_merge(pl_accum_t *acc, const bson_value_t *partial, status_t *st);
/* qry__accum_final -- append the final value under key. */
int qry__accum_final(const pl_accum_t *acc, bson_t *out, const char *key, status_t *st);
/* qry__accum_mem -- approximate bytes the state holds. */
size_t qry__accum_mem(const pl_accum_t *acc);
/* qry__accum_free -- free a state (NULL-safe). */
void qry__accum_free(pl_accum_t *acc);

#endif /* MICA_QUERY_PIPELINE_INT_H */
