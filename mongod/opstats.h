/*
 * opstats.h -- private to mongod/: the one set of operation statistics
 * (opstats.c). Every figure serverStatus (opcounters, metrics.document,
 * metrics.queryExecutor, metrics.operation, metrics.commands, opLatencies),
 * `top` and the Prometheus families report is counted here and only here:
 *
 *   - per command, after it ran (micad_op_done, the transport's op_done hook):
 *     opcounters, metrics.commands {total, failed} per command-table row,
 *     the latency families and `top` (declared in ops.h with the hook);
 *   - where the work happens (the bump functions below): documents written
 *     by the write path, documents returned in cursor batches, keys and
 *     documents examined by each executed plan, write conflicts retried.
 *
 * Counters are relaxed atomics, never reset; readers take snapshots.
 */
#ifndef MICA_MONGOD_OPSTATS_H
#define MICA_MONGOD_OPSTATS_H

#include "wire/wire.h"

/* micad_counters_inserted/updated/deleted -- documents written (metrics.document). */
void micad_counters_inserted(int64_t n);
void micad_counters_updated(int64_t n);
void micad_counters_deleted(int64_t n);
/* micad_counters_returned -- documents handed to clients in cursor batches. */
void micad_counters_returned(int64_t n);
/*
 * micad_counters_query -- one executed plan: keys and documents it examined,
 * whether it was a collection scan (tailable or not) and whether it sorted in
 * memory (metrics.queryExecutor, metrics.operation.scanAndOrder).
 */
void micad_counters_query(int64_t keys, int64_t docs, bool collscan, bool tailable, bool sorted);
/* micad_counters_write_conflict -- a write conflict retried inside the server. */
void micad_counters_write_conflict(void);

/* micad_opcounters_t -- serverStatus.opcounters (and mica_opcounters_total). */
typedef struct micad_opcounters {
    int64_t insert, query, update, del, getmore, command;
} micad_opcounters_t;
/* micad_opcounters_snapshot -- the opcounters now. */
void micad_opcounters_snapshot(micad_opcounters_t *out);

/* micad_counters_append_opcounters -- serverStatus.opcounters. */
void micad_counters_append_opcounters(bson_t *reply);
/* micad_counters_append_metrics -- document, queryExecutor, operation, commands into metrics. */
void micad_counters_append_metrics(bson_t *metrics);
/* micad_counters_append_storage_engine -- serverStatus.storageEngine. */
void micad_counters_append_storage_engine(bson_t *reply);

#endif
