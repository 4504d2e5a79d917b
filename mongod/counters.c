/*
 * counters.c -- serverStatus's operation counters (see counters.h): relaxed
 * atomics for the fixed counters, and a small table of per-command
 * {total, failed} guarded by a mutex (commands are a few dozen names; the
 * lookup is a linear scan over interned names, cheaper than the command).
 */
#include "mongod/counters.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static atomic_llong g_inserted, g_updated, g_deleted, g_returned;
static atomic_llong g_scanned, g_scanned_objects, g_collscans, g_collscans_nontailable;
static atomic_llong g_scan_and_order, g_write_conflicts;

/*
 * The command table holds at most this many distinct names: Mica's command
 * table has fewer than a hundred rows; names past it (unknown commands) are
 * counted under <UNKNOWN> as MongoDB does.
 */
#define COUNTERS_MAX_COMMANDS 256

typedef struct cmd_count {
    char name[64];
    int64_t total, failed;
} cmd_count_t;

static pthread_mutex_t g_cmd_lock = PTHREAD_MUTEX_INITIALIZER;
static cmd_count_t g_cmds[COUNTERS_MAX_COMMANDS];
static size_t g_ncmds;
static int64_t g_unknown;

void micad_counters_inserted(int64_t n)
{
    atomic_fetch_add_explicit(&g_inserted, n, memory_order_relaxed);
}

void micad_counters_updated(int64_t n)
{
    atomic_fetch_add_explicit(&g_updated, n, memory_order_relaxed);
}

void micad_counters_deleted(int64_t n)
{
    atomic_fetch_add_explicit(&g_deleted, n, memory_order_relaxed);
}

void micad_counters_returned(int64_t n)
{
    atomic_fetch_add_explicit(&g_returned, n, memory_order_relaxed);
}

/* micad_counters_query -- see counters.h. */
void micad_counters_query(int64_t keys, int64_t docs, bool collscan, bool tailable, bool sorted)
{
    atomic_fetch_add_explicit(&g_scanned, keys, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_scanned_objects, docs, memory_order_relaxed);
    if (collscan) {
        atomic_fetch_add_explicit(&g_collscans, 1, memory_order_relaxed);
        if (!tailable)
            atomic_fetch_add_explicit(&g_collscans_nontailable, 1, memory_order_relaxed);
    }
    if (sorted)
        atomic_fetch_add_explicit(&g_scan_and_order, 1, memory_order_relaxed);
}

void micad_counters_write_conflict(void)
{
    atomic_fetch_add_explicit(&g_write_conflicts, 1, memory_order_relaxed);
}

/* micad_counters_command -- see counters.h; code is the command's result (0: success). */
void micad_counters_command(const char *name, int code)
{
    bool unknown = code == ERR_CommandNotFound;
    pthread_mutex_lock(&g_cmd_lock);
    cmd_count_t *c = NULL;
    if (!unknown && name != NULL && strlen(name) < sizeof(g_cmds[0].name)) {
        for (size_t i = 0; i < g_ncmds && c == NULL; i++)
            if (strcmp(g_cmds[i].name, name) == 0)
                c = &g_cmds[i];
        if (c == NULL && g_ncmds < COUNTERS_MAX_COMMANDS) {
            c = &g_cmds[g_ncmds++];
            snprintf(c->name, sizeof(c->name), "%s", name);
        }
    }
    if (c == NULL) {
        g_unknown++;
    } else {
        c->total++;
        if (code != 0)
            c->failed++;
    }
    pthread_mutex_unlock(&g_cmd_lock);
}

static int64_t ld(atomic_llong *a)
{
    return (int64_t)atomic_load_explicit(a, memory_order_relaxed);
}

/* micad_counters_append_metrics -- see counters.h. */
void micad_counters_append_metrics(bson_t *metrics)
{
    bson_t d, q, cs, op, cmds;
    BSON_APPEND_DOCUMENT_BEGIN(metrics, "document", &d);
    BSON_APPEND_INT64(&d, "deleted", ld(&g_deleted));
    BSON_APPEND_INT64(&d, "inserted", ld(&g_inserted));
    BSON_APPEND_INT64(&d, "returned", ld(&g_returned));
    BSON_APPEND_INT64(&d, "updated", ld(&g_updated));
    bson_append_document_end(metrics, &d);

    BSON_APPEND_DOCUMENT_BEGIN(metrics, "queryExecutor", &q);
    BSON_APPEND_INT64(&q, "scanned", ld(&g_scanned));
    BSON_APPEND_INT64(&q, "scannedObjects", ld(&g_scanned_objects));
    BSON_APPEND_DOCUMENT_BEGIN(&q, "collectionScans", &cs);
    BSON_APPEND_INT64(&cs, "nonTailable", ld(&g_collscans_nontailable));
    BSON_APPEND_INT64(&cs, "total", ld(&g_collscans));
    bson_append_document_end(&q, &cs);
    bson_append_document_end(metrics, &q);

    BSON_APPEND_DOCUMENT_BEGIN(metrics, "operation", &op);
    BSON_APPEND_INT64(&op, "scanAndOrder", ld(&g_scan_and_order));
    BSON_APPEND_INT64(&op, "writeConflicts", ld(&g_write_conflicts));
    bson_append_document_end(metrics, &op);

    BSON_APPEND_DOCUMENT_BEGIN(metrics, "commands", &cmds);
    pthread_mutex_lock(&g_cmd_lock);
    BSON_APPEND_INT64(&cmds, "<UNKNOWN>", g_unknown);
    for (size_t i = 0; i < g_ncmds; i++) {
        bson_t c;
        bson_append_document_begin(&cmds, g_cmds[i].name, -1, &c);
        BSON_APPEND_INT64(&c, "failed", g_cmds[i].failed);
        BSON_APPEND_INT64(&c, "total", g_cmds[i].total);
        bson_append_document_end(&cmds, &c);
    }
    pthread_mutex_unlock(&g_cmd_lock);
    bson_append_document_end(metrics, &cmds);
}

/* micad_counters_append_storage_engine -- the engine Mica runs (WiredTiger), as MongoDB names it.
 */
void micad_counters_append_storage_engine(bson_t *reply)
{
    bson_t se;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "storageEngine", &se);
    BSON_APPEND_UTF8(&se, "name", "wiredTiger");
    BSON_APPEND_BOOL(&se, "supportsCommittedReads", true);
    BSON_APPEND_BOOL(&se, "supportsSnapshotReadConcern", true);
    BSON_APPEND_BOOL(&se, "readOnly", false);
    BSON_APPEND_BOOL(&se, "persistent", true);
    BSON_APPEND_BOOL(&se, "backupCursorOpen", false);
    bson_append_document_end(reply, &se);
}
