/*
 * status_obs.c -- the serverStatus sections about work and waiting:
 * opLatencies (opstats.c's families), globalLock and locks (the shapes
 * mongostat reads), and wiredTiger (WiredTiger's own statistics, grouped as
 * mongod groups them, plus concurrentTransactions).
 *
 * Mica has no global lock and no tickets: reads run on WiredTiger snapshots,
 * writers take a per-namespace stripe (db.c). globalLock therefore reports the
 * running operations as active clients and nothing queued, and
 * concurrentTransactions reports the running readers/writers as tickets out of
 * a notional 128 -- the figures mongostat's "ar|aw" and "qr|qw" columns show.
 */
#include "mongod/ops.h"

#include <string.h>

/* MICAD_NOTIONAL_TICKETS -- mongod's default read/write tickets, for concurrentTransactions. */
#define MICAD_NOTIONAL_TICKETS 128

/* append_latencies -- opLatencies: {reads|writes|commands|transactions: {latency, ops[,
 * histogram]}}. */
static void append_latencies(bson_t *reply, bool histograms)
{
    bson_t lat, f, h, b;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "opLatencies", &lat);
    for (int i = 0; i < MICAD_FAM_COUNT; i++) {
        micad_lat_t l;
        micad_latency_snapshot(i, &l);
        BSON_APPEND_DOCUMENT_BEGIN(&lat, micad_fam_name(i), &f);
        BSON_APPEND_INT64(&f, "latency", l.micros);
        BSON_APPEND_INT64(&f, "ops", l.ops);
        if (histograms) {
            uint32_t k = 0;
            BSON_APPEND_ARRAY_BEGIN(&f, "histogram", &h);
            for (int j = 0; j <= MICAD_LAT_NBUCKETS; j++) {
                char key[16];
                const char *kk;
                if (l.buckets[j] == 0)
                    continue;
                bson_uint32_to_string(k++, &kk, key, sizeof(key));
                BSON_APPEND_DOCUMENT_BEGIN(&h, kk, &b);
                BSON_APPEND_INT64(&b, "micros", j == 0 ? 0 : micad_lat_bounds_us[j - 1]);
                BSON_APPEND_INT64(&b, "count", l.buckets[j]);
                bson_append_document_end(&h, &b);
            }
            bson_append_array_end(&f, &h);
        }
        bson_append_document_end(&lat, &f);
    }
    bson_append_document_end(reply, &lat);
}

/* rw -- {r, w} or {total, readers, writers}. */
static void rw3(bson_t *d, const char *key, int64_t total, int64_t r, int64_t w)
{
    bson_t s;
    BSON_APPEND_DOCUMENT_BEGIN(d, key, &s);
    BSON_APPEND_INT64(&s, "total", total);
    BSON_APPEND_INT64(&s, "readers", r);
    BSON_APPEND_INT64(&s, "writers", w);
    bson_append_document_end(d, &s);
}

/* append_locks -- globalLock and locks. */
static void append_locks(micad_t *m, bson_t *reply, int64_t readers, int64_t writers, int64_t total)
{
    bson_t gl, locks, g, ac;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "globalLock", &gl);
    BSON_APPEND_INT64(&gl, "totalTime", time_mono_us() - m->start_us);
    rw3(&gl, "currentQueue", 0, 0, 0);
    rw3(&gl, "activeClients", total, readers, writers);
    bson_append_document_end(reply, &gl);

    /* per resource: what the top counters know, as acquireCount r (reads) / w (writes) */
    int64_t reads = 0, writes = 0;
    for (int i = 0; i < MICAD_FAM_COUNT; i++) {
        micad_lat_t l;
        micad_latency_snapshot(i, &l);
        if (i == MICAD_FAM_WRITES)
            writes += l.ops;
        else
            reads += l.ops;
    }
    BSON_APPEND_DOCUMENT_BEGIN(reply, "locks", &locks);
    static const char *const resources[] = {"Global", "Database", "Collection"};
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        BSON_APPEND_DOCUMENT_BEGIN(&locks, resources[i], &g);
        BSON_APPEND_DOCUMENT_BEGIN(&g, "acquireCount", &ac);
        BSON_APPEND_INT64(&ac, "r", reads);
        BSON_APPEND_INT64(&ac, "w", writes);
        bson_append_document_end(&g, &ac);
        bson_append_document_end(&locks, &g);
    }
    bson_append_document_end(reply, &locks);
}

/* tickets -- concurrentTransactions.read / .write. */
static void tickets(bson_t *d, const char *key, int64_t out)
{
    bson_t s;
    BSON_APPEND_DOCUMENT_BEGIN(d, key, &s);
    BSON_APPEND_INT64(&s, "out", out);
    BSON_APPEND_INT64(&s, "available",
                      out < MICAD_NOTIONAL_TICKETS ? MICAD_NOTIONAL_TICKETS - out : 0);
    BSON_APPEND_INT64(&s, "totalTickets", MICAD_NOTIONAL_TICKETS);
    bson_append_document_end(d, &s);
}

/* append_wired_tiger -- WiredTiger's statistics by section + concurrentTransactions. */
static void append_wired_tiger(micad_t *m, bson_t *reply, int64_t readers, int64_t writers)
{
    bson_t stats, wt, ct;
    status_t st = STATUS_INIT;
    bson_iter_t it;
    (void)stor_engine_wt_stats(m->engine, &stats, &st);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "wiredTiger", &wt);
    BSON_APPEND_UTF8(&wt, "uri", "statistics:");
    if (bson_iter_init(&it, &stats))
        while (bson_iter_next(&it))
            bson_append_iter(&wt, bson_iter_key(&it), -1, &it);
    BSON_APPEND_DOCUMENT_BEGIN(&wt, "concurrentTransactions", &ct);
    tickets(&ct, "write", writers);
    tickets(&ct, "read", readers);
    bson_append_document_end(&wt, &ct);
    bson_append_document_end(reply, &wt);
    bson_destroy(&stats);
}

/* section_wanted -- serverStatus' {section: 0} leaves a section out. */
static bool section_wanted(const bson_t *cmd, const char *name, bool *detail)
{
    bson_iter_t it, sub;
    *detail = false;
    if (!bson_iter_init_find(&it, cmd, name))
        return true;
    if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        if (bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "histograms"))
            *detail = bson_iter_as_bool(&sub);
        return true;
    }
    return bson_iter_as_bool(&it);
}

/* micad_status_obs -- the sections above, honouring {opLatencies: 0} etc. */
void micad_status_obs(micad_t *m, const bson_t *cmd, bson_t *reply)
{
    int64_t readers, writers, total;
    bool detail;
    wire_curop_counts(&readers, &writers, &total);
    if (section_wanted(cmd, "opLatencies", &detail))
        append_latencies(reply, detail);
    if (section_wanted(cmd, "locks", &detail))
        append_locks(m, reply, readers, writers, total);
    if (section_wanted(cmd, "wiredTiger", &detail))
        append_wired_tiger(m, reply, readers, writers);
}
