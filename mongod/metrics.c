/*
 * metrics.c -- the Prometheus endpoint of micad: GET /metrics on
 * --metricsPort (metrics.port), in the text exposition format 0.0.4.
 *
 * The listener is wire/'s HTTP loop; the body is built on libuv's thread pool
 * (never on the loop thread) by walking a table of providers, each writing
 * whole metric families (# HELP, # TYPE, samples). Transactions and sharding
 * add rows to `providers` as they land, without touching the others; emit_repl
 * is replication's (member state, term, elections, commit-point age, oplog
 * window, lag and health per member).
 *
 * Cardinality is bounded by construction: label values come from fixed sets
 * (command names of the command table, families, states) or from collection
 * names, and the per-collection families stop after MICAD_METRICS_MAX_COLLS
 * collections (mica_collection_metrics_truncated says so).
 */
#include "mongod/cursors.h"
#include "mongod/db.h"
#include "mongod/ops.h"
#include "mongod/opstats.h"
#include "mongod/repl/repl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * MICAD_METRICS_MAX_COLLS -- collections with per-collection series. Each adds
 * ~3 + indexes series; 500 keeps a scrape under ~100 KB and a Prometheus
 * server's series count sane even on a node with thousands of collections.
 */
#define MICAD_METRICS_MAX_COLLS 500

typedef struct mw {
    bson_string_t *s;
    micad_t *m;
} mw_t;

/* family -- "# HELP name help\n# TYPE name type\n". */
static void family(mw_t *w, const char *name, const char *type, const char *help)
{
    bson_string_append_printf(w->s, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* escape -- a label value with \, " and newline escaped. */
static void escape(bson_string_t *s, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            bson_string_append(s, "\\\\");
        else if (*v == '"')
            bson_string_append(s, "\\\"");
        else if (*v == '\n')
            bson_string_append(s, "\\n");
        else
            bson_string_append_c(s, *v);
    }
}

/*
 * sample -- one line: name{k1="v1",...} value. labels is a NULL-terminated list
 * of key, value pairs (may be NULL).
 */
static void sample(mw_t *w, const char *name, const char *const *labels, double value)
{
    bson_string_append(w->s, name);
    if (labels != NULL && labels[0] != NULL) {
        bson_string_append_c(w->s, '{');
        for (size_t i = 0; labels[i] != NULL; i += 2) {
            bson_string_append_printf(w->s, "%s%s=\"", i ? "," : "", labels[i]);
            escape(w->s, labels[i + 1]);
            bson_string_append_c(w->s, '"');
        }
        bson_string_append_c(w->s, '}');
    }
    if (value == (double)(int64_t)value)
        bson_string_append_printf(w->s, " %lld\n", (long long)value);
    else
        bson_string_append_printf(w->s, " %.9g\n", value);
}

/* sample1 -- a sample with one label. */
static void sample1(mw_t *w, const char *name, const char *k, const char *v, double value)
{
    const char *l[] = {k, v, NULL};
    sample(w, name, l, value);
}

/* doc_int -- an integer at a dotted path of doc (0 when absent). */
static int64_t doc_int(const bson_t *doc, const char *path)
{
    bson_iter_t it, f;
    if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, path, &f) &&
        BSON_ITER_HOLDS_NUMBER(&f))
        return bson_iter_as_int64(&f);
    return 0;
}

/* ---- providers ---------------------------------------------------------- */

/* emit_process -- build info, uptime, memory. */
static void emit_process(mw_t *w)
{
    const char *l[] = {"version", "7.0.0", "mica", MICA_VERSION, NULL};
    long long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    long page = sysconf(_SC_PAGESIZE);
    family(w, "mica_build_info", "gauge", "MongoDB version spoken and Mica version (always 1).");
    sample(w, "mica_build_info", l, 1);
    family(w, "mica_uptime_seconds", "gauge", "Seconds since the process started.");
    sample(w, "mica_uptime_seconds", NULL, (double)((time_mono_us() - w->m->start_us) / 1000000));
    if (f != NULL) {
        if (fscanf(f, "%lld %lld", &size, &res) != 2)
            size = res = 0;
        fclose(f);
    }
    family(w, "mica_memory_bytes", "gauge", "Process memory by type (resident, virtual).");
    sample1(w, "mica_memory_bytes", "type", "resident", (double)(res * page));
    sample1(w, "mica_memory_bytes", "type", "virtual", (double)(size * page));
}

/* emit_transport -- connections, network and opcounters (opstats.c's). */
static void emit_transport(mw_t *w)
{
    wire_server_stats_t s = {0};
    if (w->m->server != NULL)
        wire_server_stats(w->m->server, &s);
    int64_t avail = w->m->opts->max_conns - s.conns_current;
    family(w, "mica_connections", "gauge", "Client connections by state.");
    sample1(w, "mica_connections", "state", "current", (double)s.conns_current);
    sample1(w, "mica_connections", "state", "available", (double)(avail > 0 ? avail : 0));
    sample1(w, "mica_connections", "state", "active", (double)s.conns_active);
    sample1(w, "mica_connections", "state", "awaiting_topology", (double)s.conns_awaiting);
    family(w, "mica_connections_created_total", "counter", "Connections accepted since start.");
    sample(w, "mica_connections_created_total", NULL, (double)s.conns_total);
    family(w, "mica_connections_rejected_total", "counter",
           "Connections refused over net.maxIncomingConnections.");
    sample(w, "mica_connections_rejected_total", NULL, (double)s.conns_rejected);
    family(w, "mica_network_bytes_total", "counter", "Bytes received (in) and sent (out).");
    sample1(w, "mica_network_bytes_total", "direction", "in", (double)s.bytes_in);
    sample1(w, "mica_network_bytes_total", "direction", "out", (double)s.bytes_out);
    family(w, "mica_network_requests_total", "counter", "Requests received.");
    sample(w, "mica_network_requests_total", NULL, (double)s.num_requests);
    micad_opcounters_t oc;
    micad_opcounters_snapshot(&oc);
    family(w, "mica_opcounters_total", "counter",
           "Operations by type, as serverStatus opcounters.");
    sample1(w, "mica_opcounters_total", "type", "insert", (double)oc.insert);
    sample1(w, "mica_opcounters_total", "type", "query", (double)oc.query);
    sample1(w, "mica_opcounters_total", "type", "update", (double)oc.update);
    sample1(w, "mica_opcounters_total", "type", "delete", (double)oc.del);
    sample1(w, "mica_opcounters_total", "type", "getmore", (double)oc.getmore);
    sample1(w, "mica_opcounters_total", "type", "command", (double)oc.command);
}

/* emit_commands -- per command and result, and latency histograms per family. */
static void emit_commands(mw_t *w)
{
    family(w, "mica_commands_total", "counter",
           "Commands run, by command name and result (ok, failed).");
    for (size_t i = 0; i <= micad_n_commands; i++) {
        int64_t total, failed;
        micad_cmd_counts(i, &total, &failed);
        if (total == 0)
            continue;
        const char *name = i < micad_n_commands ? micad_commands[i].name : "unknown";
        const char *ok[] = {"command", name, "result", "ok", NULL};
        const char *bad[] = {"command", name, "result", "failed", NULL};
        sample(w, "mica_commands_total", ok, (double)(total - failed));
        sample(w, "mica_commands_total", bad, (double)failed);
    }
    family(w, "mica_command_latency_seconds", "histogram",
           "Command latency by family (reads, writes, commands, transactions), as opLatencies.");
    for (int f = 0; f < MICAD_FAM_COUNT; f++) {
        micad_lat_t l;
        int64_t cum = 0;
        char le[32];
        micad_latency_snapshot(f, &l);
        for (int b = 0; b < MICAD_LAT_NBUCKETS; b++) {
            cum += l.buckets[b];
            (void)snprintf(le, sizeof(le), "%g", (double)micad_lat_bounds_us[b] / 1e6);
            const char *lb[] = {"family", micad_fam_name(f), "le", le, NULL};
            sample(w, "mica_command_latency_seconds_bucket", lb, (double)cum);
        }
        cum += l.buckets[MICAD_LAT_NBUCKETS];
        const char *inf[] = {"family", micad_fam_name(f), "le", "+Inf", NULL};
        sample(w, "mica_command_latency_seconds_bucket", inf, (double)cum);
        sample1(w, "mica_command_latency_seconds_sum", "family", micad_fam_name(f),
                (double)l.micros / 1e6);
        sample1(w, "mica_command_latency_seconds_count", "family", micad_fam_name(f), (double)cum);
    }
    family(w, "mica_operations_active", "gauge", "Operations running now (currentOp).");
    sample(w, "mica_operations_active", NULL, (double)wire_curop_count());
}

/* emit_cursors_ttl -- cursors and the TTL monitor. */
static void emit_cursors_ttl(mw_t *w)
{
    bson_t ttl = BSON_INITIALIZER;
    family(w, "mica_cursors_open", "gauge", "Cursors open (parked or in use).");
    sample(w, "mica_cursors_open", NULL, (double)micad_cursors_open_count());
    family(w, "mica_cursors_timed_out_total", "counter", "Idle cursors the reaper killed.");
    sample(w, "mica_cursors_timed_out_total", NULL, (double)micad_cursors_timed_out_count());
    micad_ttl_stats(&ttl);
    family(w, "mica_ttl_deleted_documents_total", "counter", "Documents the TTL monitor deleted.");
    sample(w, "mica_ttl_deleted_documents_total", NULL, (double)doc_int(&ttl, "deletedDocuments"));
    family(w, "mica_ttl_passes_total", "counter", "TTL monitor passes.");
    sample(w, "mica_ttl_passes_total", NULL, (double)doc_int(&ttl, "passes"));
    bson_destroy(&ttl);
}

/* emit_storage -- WiredTiger cache, checkpoints, journal. */
static void emit_storage(mw_t *w)
{
    bson_t wt, eng;
    status_t st = STATUS_INIT;
    stor_engine_stats(w->m->engine, &eng);
    (void)stor_engine_wt_stats(w->m->engine, &wt, &st);
    family(w, "mica_wiredtiger_cache_bytes", "gauge",
           "WiredTiger cache contents by state (used, dirty).");
    sample1(w, "mica_wiredtiger_cache_bytes", "state", "used",
            (double)doc_int(&wt, "cache.bytes currently in the cache"));
    sample1(w, "mica_wiredtiger_cache_bytes", "state", "dirty",
            (double)doc_int(&wt, "cache.tracked dirty bytes in the cache"));
    family(w, "mica_wiredtiger_cache_max_bytes", "gauge", "WiredTiger cache size configured.");
    sample(w, "mica_wiredtiger_cache_max_bytes", NULL,
           (double)doc_int(&wt, "cache.maximum bytes configured"));
    family(w, "mica_wiredtiger_cache_evicted_pages_total", "counter",
           "Pages evicted from the WiredTiger cache (modified or not).");
    sample1(w, "mica_wiredtiger_cache_evicted_pages_total", "kind", "modified",
            (double)doc_int(&wt, "cache.modified pages evicted"));
    sample1(w, "mica_wiredtiger_cache_evicted_pages_total", "kind", "unmodified",
            (double)doc_int(&wt, "cache.unmodified pages evicted"));
    family(w, "mica_checkpoints_total", "counter", "Checkpoints taken.");
    sample(w, "mica_checkpoints_total", NULL, (double)doc_int(&eng, "checkpoints"));
    family(w, "mica_journal_syncs_total", "counter",
           "Journal flushes to disk (j:true waits and group commits).");
    sample(w, "mica_journal_syncs_total", NULL, (double)doc_int(&eng, "journalFlushes"));
    family(w, "mica_storage_commits_total", "counter", "Storage transactions committed.");
    sample(w, "mica_storage_commits_total", NULL, (double)doc_int(&eng, "commits"));
    family(w, "mica_wiredtiger_transactions_total", "counter",
           "WiredTiger transactions by outcome (committed, rolled_back).");
    sample1(w, "mica_wiredtiger_transactions_total", "outcome", "committed",
            (double)doc_int(&wt, "transaction.transactions committed"));
    sample1(w, "mica_wiredtiger_transactions_total", "outcome", "rolled_back",
            (double)doc_int(&wt, "transaction.transactions rolled back"));
    bson_destroy(&wt);
    bson_destroy(&eng);
}

/* coll_cb_t -- state of the per-collection walk. */
typedef struct coll_walk {
    mw_t *w;
    int n;
    bool truncated;
    bson_string_t *docs, *size, *ix; /* series collected per family, emitted after */
} coll_walk_t;

/* series -- append one sample line to a side buffer. */
static void series(bson_string_t *s, const char *name, const char *const *labels, double v)
{
    mw_t tmp = {s, NULL};
    sample(&tmp, name, labels, v);
}

/* walk_db -- the collections of one database. */
static void walk_db(micad_t *m, const char *db, coll_walk_t *cw)
{
    bson_t colls;
    bson_iter_t it;
    status_t st = STATUS_INIT;
    if (stor_list_collections(m->engine, db, &colls, &st) != 0)
        return;
    bson_iter_init(&it, &colls);
    while (bson_iter_next(&it)) {
        bson_iter_t f;
        const char *name;
        char ns[MICAD_NS_MAX + 1];
        stor_collection_t *coll;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &f) ||
            !bson_iter_find(&f, "name") || !BSON_ITER_HOLDS_UTF8(&f))
            continue;
        name = bson_iter_utf8(&f, NULL);
        if (cw->n >= MICAD_METRICS_MAX_COLLS) {
            cw->truncated = true;
            break;
        }
        if (micad_db_make_ns(db, name, ns, &st) != 0 ||
            stor_collection_lookup(m->engine, ns, &coll, &st) != 0) {
            status_reset(&st);
            continue;
        }
        cw->n++;
        const char *l[] = {"db", db, "collection", name, NULL};
        series(cw->docs, "mica_collection_documents", l, (double)stor_collection_count(coll));
        const char *ld[] = {"db", db, "collection", name, "kind", "data", NULL};
        const char *ls[] = {"db", db, "collection", name, "kind", "storage", NULL};
        series(cw->size, "mica_collection_size_bytes", ld, (double)stor_collection_data_size(coll));
        series(cw->size, "mica_collection_size_bytes", ls,
               (double)stor_collection_storage_size(coll));
        bson_t sizes = BSON_INITIALIZER;
        int nix = 0;
        (void)micad_coll_index_sizes(coll, ns, m, 1, &sizes, &nix);
        bson_iter_t ix;
        bson_iter_init(&ix, &sizes);
        while (bson_iter_next(&ix)) {
            const char *li[] = {"db", db, "collection", name, "index", bson_iter_key(&ix), NULL};
            series(cw->ix, "mica_index_size_bytes", li, (double)bson_iter_as_int64(&ix));
        }
        bson_destroy(&sizes);
    }
    bson_destroy(&colls);
}

/* emit_collections -- documents and sizes per collection, index sizes (bounded). */
static void emit_collections(mw_t *w)
{
    bson_t dbs;
    bson_iter_t it;
    status_t st = STATUS_INIT;
    coll_walk_t cw = {
        w, 0, false, bson_string_new(NULL), bson_string_new(NULL), bson_string_new(NULL)};
    if (stor_list_databases(w->m->engine, &dbs, &st) == 0) {
        bson_iter_init(&it, &dbs);
        while (bson_iter_next(&it) && !cw.truncated) {
            bson_iter_t f;
            if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &f) &&
                bson_iter_find(&f, "name") && BSON_ITER_HOLDS_UTF8(&f))
                walk_db(w->m, bson_iter_utf8(&f, NULL), &cw);
            else if (BSON_ITER_HOLDS_UTF8(&it))
                walk_db(w->m, bson_iter_utf8(&it, NULL), &cw);
        }
        bson_destroy(&dbs);
    }
    family(w, "mica_collection_documents", "gauge", "Documents per collection.");
    bson_string_append(w->s, cw.docs->str);
    family(w, "mica_collection_size_bytes", "gauge",
           "Collection size by kind (data: BSON bytes, storage: file on disk).");
    bson_string_append(w->s, cw.size->str);
    family(w, "mica_index_size_bytes", "gauge", "Index file size on disk.");
    bson_string_append(w->s, cw.ix->str);
    family(w, "mica_collection_metrics_truncated", "gauge",
           "1 when more collections exist than get per-collection series.");
    sample(w, "mica_collection_metrics_truncated", NULL, cw.truncated ? 1 : 0);
    bson_string_free(cw.docs, true);
    bson_string_free(cw.size, true);
    bson_string_free(cw.ix, true);
}

/* oplog_window_s -- seconds between the oldest and the newest oplog entry; -1: none. */
static double oplog_window_s(micad_t *m)
{
    stor_session_t *sess;
    status_t st = STATUS_INIT;
    uint64_t first = 0, last = 0;
    if (stor_session_open(m->engine, &sess, &st) != 0)
        return -1;
    int ret = stor_oplog_first_ts(sess, &first, &st);
    if (ret == 0)
        ret = stor_oplog_last_ts(sess, &last, &st);
    stor_session_close(sess);
    if (ret != 0 || first == 0 || last == 0)
        return -1;
    return (double)repl_ts_secs(last) - (double)repl_ts_secs(first);
}

/*
 * emit_lag -- per member of replSetGetStatus: up or down, and how far its last
 * applied entry is behind the primary's (the newest any member reports when no
 * primary is known), as rs.printSecondaryReplicationInfo() computes it.
 */
static void emit_lag(mw_t *w)
{
    struct {
        const char *name;
        double health;
        int64_t optime_ms; /* -1: not reported (down, arbiter) */
    } mem[REPL_MAX_MEMBERS];
    int n = 0;
    int64_t head = -1, primary = -1;
    bson_t status = BSON_INITIALIZER;
    status_t st = STATUS_INIT;
    bson_iter_t it, arr, f;
    if (repl_get_status(w->m, &status, &st) == 0 && bson_iter_init_find(&it, &status, "members") &&
        bson_iter_recurse(&it, &arr)) {
        while (n < REPL_MAX_MEMBERS && bson_iter_next(&arr)) {
            int64_t state = -1;
            mem[n].name = NULL;
            mem[n].health = 0;
            mem[n].optime_ms = -1;
            if (!bson_iter_recurse(&arr, &f))
                continue;
            while (bson_iter_next(&f)) {
                const char *k = bson_iter_key(&f);
                if (strcmp(k, "name") == 0 && BSON_ITER_HOLDS_UTF8(&f))
                    mem[n].name = bson_iter_utf8(&f, NULL);
                else if (strcmp(k, "health") == 0 && BSON_ITER_HOLDS_NUMBER(&f))
                    mem[n].health = bson_iter_as_double(&f);
                else if (strcmp(k, "state") == 0 && BSON_ITER_HOLDS_NUMBER(&f))
                    state = bson_iter_as_int64(&f);
                else if (strcmp(k, "optimeDate") == 0 && BSON_ITER_HOLDS_DATE_TIME(&f))
                    mem[n].optime_ms = bson_iter_date_time(&f);
            }
            if (mem[n].name == NULL)
                continue;
            if (mem[n].optime_ms > head)
                head = mem[n].optime_ms;
            if (state == REPL_PRIMARY)
                primary = mem[n].optime_ms;
            n++;
        }
    }
    if (primary >= 0)
        head = primary;
    if (n > 0) {
        family(w, "mica_repl_member_up", "gauge",
               "1 when the member answers heartbeats (replSetGetStatus health).");
        for (int i = 0; i < n; i++)
            sample1(w, "mica_repl_member_up", "member", mem[i].name, mem[i].health);
        family(w, "mica_repl_lag_seconds", "gauge",
               "How far the member's last applied entry is behind the primary's.");
        for (int i = 0; i < n; i++)
            if (mem[i].optime_ms >= 0)
                sample1(w, "mica_repl_lag_seconds", "member", mem[i].name,
                        head > mem[i].optime_ms ? (double)(head - mem[i].optime_ms) / 1000.0 : 0);
    }
    bson_destroy(&status); /* the names above point into it */
}

/* emit_repl -- on a replica-set member with a config: state, term, elections, lag, oplog. */
static void emit_repl(mw_t *w)
{
    static const char *const reasons[REPL_ELECT_NREASONS] = {
        [REPL_ELECT_STEP_UP] = "stepUpCmd",
        [REPL_ELECT_PRIORITY_TAKEOVER] = "priorityTakeover",
        [REPL_ELECT_TIMEOUT] = "electionTimeout",
    };
    repl_metrics_t r;
    if (!repl_get_metrics(&r))
        return;
    family(w, "mica_repl_member_state", "gauge",
           "This member's replica-set state (1 PRIMARY, 2 SECONDARY, ... as replSetGetStatus "
           "myState).");
    sample1(w, "mica_repl_member_state", "state", repl_state_str((repl_member_state_t)r.state),
            (double)r.state);
    family(w, "mica_repl_term", "gauge",
           "The replica set's election term as this member knows it.");
    sample(w, "mica_repl_term", NULL, (double)r.term);
    family(w, "mica_repl_elections_total", "counter",
           "Elections this member stood in, by reason (serverStatus electionMetrics called).");
    for (int i = 0; i < REPL_ELECT_NREASONS; i++)
        sample1(w, "mica_repl_elections_total", "reason", reasons[i],
                (double)r.elections.called[i]);
    family(w, "mica_repl_elections_won_total", "counter",
           "Elections this member won, by reason (serverStatus electionMetrics successful).");
    for (int i = 0; i < REPL_ELECT_NREASONS; i++)
        sample1(w, "mica_repl_elections_won_total", "reason", reasons[i],
                (double)r.elections.successful[i]);
    if (r.committed_wall_ms > 0) {
        family(w, "mica_repl_commit_point_age_seconds", "gauge",
               "Seconds since the wall time of the majority commit point's entry.");
        double age = (double)(time_now_ms() - r.committed_wall_ms) / 1000.0;
        sample(w, "mica_repl_commit_point_age_seconds", NULL, age > 0 ? age : 0);
    }
    double window = oplog_window_s(w->m);
    if (window >= 0) {
        family(w, "mica_repl_oplog_window_seconds", "gauge",
               "Seconds between the oldest and the newest oplog entry.");
        sample(w, "mica_repl_oplog_window_seconds", NULL, window);
    }
    emit_lag(w);
}

/*
 * providers -- every family the endpoint exports, in order. Transactions and
 * sharding (chunks, migrations, balancer rounds, StaleConfig retries) each add
 * one row here.
 */
static void (*const providers[])(mw_t *) = {
    emit_process, emit_transport,   emit_commands, emit_cursors_ttl,
    emit_storage, emit_collections, emit_repl,
};

/* micad_metrics_text -- the whole exposition into s. */
void micad_metrics_text(micad_t *m, bson_string_t *s)
{
    mw_t w = {s, m};
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        providers[i](&w);
}

/* handle -- wire_http_fn: /metrics, and a tiny index at /. */
static int handle(void *arg, const char *method, const char *path, wire_buf_t *body,
                  const char **ctype)
{
    micad_t *m = arg;
    status_t st = STATUS_INIT;
    (void)method;
    if (strcmp(path, "/metrics") == 0) {
        bson_string_t *s = bson_string_new(NULL);
        micad_metrics_text(m, s);
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        int ret = wire_buf_append(body, s->str, s->len, &st);
        bson_string_free(s, true);
        return ret == 0 ? 200 : 500;
    }
    static const char idx[] = "micad: see /metrics\n";
    (void)wire_buf_append(body, idx, sizeof(idx) - 1, &st);
    return strcmp(path, "/") == 0 ? 200 : 404;
}

/* micad_metrics_start -- listen when metrics.port is set. */
int micad_metrics_start(micad_t *m, status_t *st)
{
    const char *ip = m->opts->metrics_bind_ip ? m->opts->metrics_bind_ip : "127.0.0.1";
    if (m->opts->metrics_port <= 0)
        return 0;
    ST_RET(wire_http_start(ip, m->opts->metrics_port, handle, m, &m->metrics, st));
    LOG(INFO, NETWORK, 21703, "Serving Prometheus metrics", "address", BCON_UTF8(ip), "port",
        BCON_INT32(wire_http_port(m->metrics)), "path", BCON_UTF8("/metrics"));
    return 0;
}

/* micad_metrics_stop -- stop the listener (before the engine closes). */
void micad_metrics_stop(micad_t *m)
{
    wire_http_stop(m->metrics);
    m->metrics = NULL;
}
