/*
 * exec.h -- private to mongod/: the query executor behind find, getMore,
 * count, distinct and explain. It asks query/'s planner for candidate plans,
 * picks one (plan cache, else a short trial run), and runs a fixed pipeline
 * of stages pulling from storage:
 *
 *   COLLSCAN | IXSCAN (+dedup) | OR(IXSCAN...)  ->  FETCH + filter
 *     -> SORT (blocking, only when no index gives the order) -> SKIP -> LIMIT
 *     -> PROJECTION / returnKey / showRecordId
 *
 * An executor owns its own storage session (not the worker thread's), so a
 * cursor parked between getMores can be resumed by whichever worker picks it
 * up: the storage cursors are saved (positions released, nothing pinned) at
 * the end of every batch and restored at the start of the next, one thread at
 * a time (the cursor manager's in-use flag guarantees it).
 */
#ifndef MICA_MONGOD_EXEC_H
#define MICA_MONGOD_EXEC_H

#include "mongod/db.h"

/*
 * MICAD_SORT_MEM_LIMIT -- bytes a blocking SORT may hold: the server parameter
 * internalQueryMaxBlockingSortMemoryUsageBytes (100 MB by default). Past it
 * without allowDiskUse: QueryExceededMemoryLimitNoDiskUseAllowed (292). With
 * allowDiskUse find keeps sorting in memory (no spill files; docs/crud.md).
 */
#define MICAD_SORT_MEM_LIMIT opts_param(OPTS_PARAM_internalQueryMaxBlockingSortMemoryUsageBytes)

/* micad_query_t -- a parsed read request (find's options; count/distinct use a subset). */
typedef struct micad_query {
    char ns[MICAD_NS_MAX + 1];
    bson_t filter;     /* owned copy ({} when none) */
    bson_t projection; /* owned copy */
    bool has_projection;
    bson_t sort; /* owned copy */
    bool has_sort;
    bson_value_t hint; /* owned copy */
    bool has_hint;
    bson_t min, max;
    bool has_min, has_max;
    int64_t skip;
    int64_t limit; /* 0: none */
    bool return_key;
    bool show_record_id;
    bool allow_disk_use;
    bool tailable;
    bson_t *let; /* find's let {name: expression} (owned copy; NULL: none) -- $$name in $expr */
    /* distinct's key (owned copy; NULL: not a distinct): an index whose first field it is
     * answers with a DISTINCT_SCAN, one key per value, no document read */
    char *distinct_key;
} micad_query_t;

/* micad_query_init / _destroy -- an empty request; destroy is NULL-safe. */
void micad_query_init(micad_query_t *q);
void micad_query_destroy(micad_query_t *q);

typedef struct micad_exec micad_exec_t;

/*
 * micad_exec_create -- parse, plan and prepare q against m's engine. A
 * missing collection gives an executor that is at EOF at once (find answers
 * an empty result, not an error). explain_all keeps every candidate's trial
 * statistics for allPlansExecution. q is copied.
 */
int micad_exec_create(micad_t *m, const wire_opctx_t *op, const micad_query_t *q,
                      micad_exec_t **out, status_t *st);
/* micad_exec_begin_batch -- start a unit of work and restore the storage cursors. */
int micad_exec_begin_batch(micad_exec_t *ex, status_t *st);
/* micad_exec_end_batch -- save the storage cursors and end the unit of work. */
void micad_exec_end_batch(micad_exec_t *ex);
/*
 * micad_exec_next -- the next result into out (initialised by the callee when
 * *eof is false), or *eof. deadline_us (time_mono_us clock, 0 none) is
 * checked every few hundred documents: MaxTimeMSExpired 50.
 */
int micad_exec_next(micad_exec_t *ex, int64_t deadline_us, bson_t *out, bool *eof, status_t *st);
/*
 * micad_exec_next_record -- for writers that need the documents a filter
 * selects (update/delete/findAndModify): the next matching document whole
 * (no projection; sort, skip and limit apply) and its RecordId. doc is
 * initialised by the callee when *eof is false. The document comes from the
 * executor's own snapshot: re-read and re-match it in the writing unit of work.
 */
int micad_exec_next_record(micad_exec_t *ex, int64_t deadline_us, int64_t *rid, bson_t *doc,
                           bool *eof, status_t *st);
/* micad_exec_unget -- hand one result back (it did not fit the batch); next returns it first. */
void micad_exec_unget(micad_exec_t *ex, const bson_t *doc);
/* micad_exec_is_eof -- whether the executor has nothing more (tailable ones never are). */
bool micad_exec_is_eof(const micad_exec_t *ex);
/* micad_exec_ns -- the namespace it reads. */
const char *micad_exec_ns(const micad_exec_t *ex);
/* micad_exec_count_fast -- for count without a filter: the collection's count (-1: no fast path).
 */
int64_t micad_exec_count_fast(const micad_exec_t *ex);
/*
 * micad_exec_set_counted -- what a count did, for its explain: n documents
 * counted, skip of them skipped, and whether the collection's record count
 * answered it (RECORD_STORE_FAST_COUNT) rather than a scan (COUNT).
 */
void micad_exec_set_counted(micad_exec_t *ex, int64_t n, int64_t skipped, bool fast);
/*
 * micad_exec_set_run_error -- the error that ended an explained run: explain
 * reports it inside executionStats (executionSuccess: false, errorMessage,
 * errorCode) as MongoDB does, instead of failing the command.
 */
void micad_exec_set_run_error(micad_exec_t *ex, const status_t *st);
/* micad_explain_append_capped -- append doc under key, arrays cut once the copy passes cap
 * bytes (a last string element says how many were left out): explain stays a valid reply. */
void micad_explain_append_capped(bson_t *out, const char *key, const bson_t *doc, size_t cap);
/*
 * micad_exec_explain -- {queryPlanner, executionStats?} of an executor that
 * ran (or did not) into reply. verbosity: 0 queryPlanner, 1 executionStats,
 * 2 allPlansExecution. top_stage wraps the tree (e.g. "COUNT"), may be NULL.
 */
void micad_exec_explain(micad_exec_t *ex, int verbosity, const char *top_stage, int64_t elapsed_ms,
                        bson_t *reply);
/*
 * micad_exec_ext_t -- an executor whose results come from elsewhere (the
 * aggregate command's pipeline, mongod/agg.c), so the cursor manager, getMore
 * and micad_batch_fill treat it like any other. begin/end bracket a batch
 * (restore/save the storage it reads); next follows micad_exec_next's rule;
 * destroy frees arg.
 */
typedef struct micad_exec_ext {
    int (*begin_batch)(void *arg, status_t *st);
    void (*end_batch)(void *arg);
    int (*next)(void *arg, int64_t deadline_us, bson_t *out, bool *eof, status_t *st);
    void (*destroy)(void *arg);
    void *arg;
    bool tailable; /* an EOF from next is for now only (a tailable cursor stays open) */
} micad_exec_ext_t;
/* micad_exec_create_ext -- an executor over ext for ns (ext->arg is owned from here on). */
void micad_exec_create_ext(micad_t *m, const char *ns, const micad_exec_ext_t *ext,
                           micad_exec_t **out);
/* micad_exec_needs_sort -- whether the chosen plan sorts in memory (no index gives the order). */
bool micad_exec_needs_sort(const micad_exec_t *ex);
/* micad_exec_destroy -- close cursors and the session; NULL-safe. */
void micad_exec_destroy(micad_exec_t *ex);

/* micad_plan_cache_clear -- drop cached plans of ns (NULL: all). Index changes also
 * invalidate entries on their own (the key includes the index set). */
void micad_plan_cache_clear(const char *ns);
/* micad_plan_cache_size -- entries cached (for tests and serverStatus). */
size_t micad_plan_cache_size(void);

/*
 * micad_query_parse_find -- find's arguments into q: filter, projection, sort,
 * hint, skip, limit (negative: single batch of |limit|), batchSize,
 * singleBatch, min, max, returnKey, showRecordId, allowDiskUse, tailable,
 * awaitData, noCursorTimeout, ... Unknown fields: Location40415. Batch options
 * come back through the pointers.
 */
typedef struct micad_find_opts {
    int64_t batch_size; /* -1: not given */
    bool single_batch;
    bool await_data;
    bool no_cursor_timeout;
} micad_find_opts_t;
int micad_query_parse_find(const wire_opctx_t *op, const bson_t *cmd, micad_query_t *q,
                           micad_find_opts_t *fo, status_t *st);

/* micad_count_parse -- count's arguments into q (commands/count.c; explain reuses it). */
int micad_count_parse(const wire_opctx_t *op, const bson_t *cmd, micad_query_t *q, status_t *st);
/* micad_count_run -- count ex's results (the collection's count when there is no filter). */
int micad_count_run(micad_exec_t *ex, const micad_query_t *q, int64_t deadline_us, int64_t *n,
                    status_t *st);
/* micad_distinct_parse -- distinct's arguments: q and the key (a view into cmd). */
int micad_distinct_parse(const wire_opctx_t *op, const bson_t *cmd, micad_query_t *q,
                         const char **key, status_t *st);
/* micad_distinct_run -- key's distinct values among ex's results as reply.values. */
int micad_distinct_run(micad_exec_t *ex, const char *key, int64_t deadline_us, bson_t *reply,
                       status_t *st);

#endif /* MICA_MONGOD_EXEC_H */
