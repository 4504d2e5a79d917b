/*
 * server_status.c -- {serverStatus: 1}: uptime, connections and network from
 * the transport's counters, memory from /proc, opcounters and metrics from
 * opstats.c (the one set of operation statistics).
 */
#include "mongod/cursors.h"
#include "mongod/db.h"
#include "mongod/micad.h"
#include "mongod/ops.h"
#include "mongod/opstats.h"
#include "mongod/repl/repl.h"

#include <stdio.h>
#include <unistd.h>

/* read_mem_mb -- resident and virtual size in MiB from /proc/self/statm. */
static void read_mem_mb(int64_t *resident, int64_t *virt)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, res = 0;
    long page = sysconf(_SC_PAGESIZE);
    *resident = *virt = 0;
    if (f == NULL)
        return;
    if (fscanf(f, "%lld %lld", &size, &res) == 2) {
        *virt = size * page / (1024 * 1024);
        *resident = res * page / (1024 * 1024);
    }
    fclose(f);
}

/* micad_cmd_server_status -- the sections drivers and tools read. */
int micad_cmd_server_status(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    wire_server_stats_t s = {0};
    int64_t up_us = time_mono_us() - m->start_us;
    int64_t resident, virt;
    bson_t sub;

    (void)st;
    if (op->server != NULL)
        wire_server_stats(op->server, &s);
    BSON_APPEND_UTF8(reply, "host", m->host);
    BSON_APPEND_UTF8(reply, "version", "7.0.0");
    BSON_APPEND_UTF8(reply, "process", "micad");
    BSON_APPEND_INT64(reply, "pid", (int64_t)getpid());
    BSON_APPEND_DOUBLE(reply, "uptime", (double)(up_us / 1000000));
    BSON_APPEND_INT64(reply, "uptimeMillis", up_us / 1000);
    BSON_APPEND_INT64(reply, "uptimeEstimate", up_us / 1000000);
    BSON_APPEND_DATE_TIME(reply, "localTime", time_now_ms());

    BSON_APPEND_DOCUMENT_BEGIN(reply, "connections", &sub);
    BSON_APPEND_INT32(&sub, "current", (int32_t)s.conns_current);
    BSON_APPEND_INT32(&sub, "available",
                      (int32_t)(m->opts->max_conns - s.conns_current > 0
                                    ? m->opts->max_conns - s.conns_current
                                    : 0));
    BSON_APPEND_INT32(&sub, "totalCreated", (int32_t)s.conns_total);
    BSON_APPEND_INT32(&sub, "rejected", (int32_t)s.conns_rejected);
    BSON_APPEND_INT32(&sub, "active", (int32_t)s.conns_active);
    BSON_APPEND_INT32(&sub, "awaitingTopologyChanges", (int32_t)s.conns_awaiting);
    bson_append_document_end(reply, &sub);

    micad_counters_append_opcounters(reply); /* opstats.c */

    BSON_APPEND_DOCUMENT_BEGIN(reply, "network", &sub);
    BSON_APPEND_INT64(&sub, "bytesIn", s.bytes_in);
    BSON_APPEND_INT64(&sub, "bytesOut", s.bytes_out);
    BSON_APPEND_INT64(&sub, "numRequests", s.num_requests);
    bson_append_document_end(reply, &sub);

    read_mem_mb(&resident, &virt);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "mem", &sub);
    BSON_APPEND_INT32(&sub, "bits", (int32_t)(sizeof(void *) * 8));
    BSON_APPEND_INT64(&sub, "resident", resident);
    BSON_APPEND_INT64(&sub, "virtual", virt);
    BSON_APPEND_BOOL(&sub, "supported", true);
    bson_append_document_end(reply, &sub);

    {
        bson_t cursor, open;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "metrics", &sub);
        BSON_APPEND_DOCUMENT_BEGIN(&sub, "cursor", &cursor);
        BSON_APPEND_INT64(&cursor, "timedOut", micad_cursors_timed_out_count());
        BSON_APPEND_DOCUMENT_BEGIN(&cursor, "open", &open);
        BSON_APPEND_INT64(&open, "total", (int64_t)micad_cursors_open_count());
        bson_append_document_end(&cursor, &open);
        bson_append_document_end(&sub, &cursor);
        BSON_APPEND_DOCUMENT_BEGIN(&sub, "ttl", &open);
        micad_ttl_stats(&open);
        bson_append_document_end(&sub, &open);
        repl_append_metrics(&sub); /* metrics.repl.stateTransition on a member */
        micad_counters_append_metrics(&sub);
        bson_append_document_end(reply, &sub);
    }
    repl_append_election_metrics(reply); /* on a member */
    micad_status_obs(m, cmd, reply);     /* opLatencies, globalLock, locks, wiredTiger */
    micad_counters_append_storage_engine(reply);
    return 0;
}
