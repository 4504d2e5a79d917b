/*
 * counters.h -- private to mongod/: the process-wide counters serverStatus
 * reports under metrics (document, queryExecutor, operation, commands) and
 * the storageEngine section. Counters are relaxed atomics bumped where the
 * work happens (the write path, the executor, the cursor batches, command
 * dispatch) and only read by serverStatus; none is ever reset.
 *
 * Other sections of serverStatus (opLatencies, locks, wiredTiger, ...) add
 * their counters here the same way: a field, a bump function, and a line in
 * micad_counters_append_metrics.
 */
#ifndef MICA_MONGOD_COUNTERS_H
#define MICA_MONGOD_COUNTERS_H

#include "wire/wire.h"

/* micad_counters_document -- documents written by the write path (metrics.document). */
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
/* micad_counters_command -- one dispatched command and whether it failed (metrics.commands). */
void micad_counters_command(const char *name, int code);

/* micad_counters_append_metrics -- document, queryExecutor, operation, commands into metrics. */
void micad_counters_append_metrics(bson_t *metrics);
/* micad_counters_append_storage_engine -- serverStatus.storageEngine. */
void micad_counters_append_storage_engine(bson_t *reply);

#endif
