/*
 * opstats.c -- what happens after every command: the counters and latencies
 * behind serverStatus (opLatencies), `top`, the Prometheus families, the
 * slow-operation log line (51803) and the profiler (profiler.c).
 *
 * The transport calls micad_op_done on the worker that ran the command, with
 * the reply and the duration. Everything here is counters under short locks or
 * relaxed atomics; the only blocking work (a profiler insert) happens on the
 * same worker after the reply document is complete, the way mongod profiles
 * before answering.
 */
#include "mongod/db.h"
#include "mongod/ops.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Latency buckets in microseconds, shared by opLatencies' histogram and the
 * Prometheus histogram: from 100 us (an in-cache point read) to 10 s (a scan
 * or index build), roughly x2-x5 apart so a p99 is readable at every scale.
 */
const int64_t micad_lat_bounds_us[MICAD_LAT_NBUCKETS] = {
    100,   250,    500,    1000,   2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 5000000, 10000000};

static const char *const fam_names[MICAD_FAM_COUNT] = {"reads", "writes", "commands",
                                                       "transactions"};

static micad_lat_t g_lat[MICAD_FAM_COUNT];
/* per command row of micad_commands, plus one for names not in the table */
static int64_t *g_cmd_total, *g_cmd_failed;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* top: per namespace, a small chained hash under one mutex */
#define TOP_BUCKETS 256
typedef struct top_entry {
    char ns[MICAD_NS_MAX + 1];
    micad_top_t t;
    struct top_entry *next;
} top_entry_t;
static pthread_mutex_t g_top_lock = PTHREAD_MUTEX_INITIALIZER;
static top_entry_t *g_top[TOP_BUCKETS];

/* init_counters -- one slot per command row. */
static void init_counters(void)
{
    g_cmd_total = calloc(micad_n_commands + 1, sizeof(int64_t));
    g_cmd_failed = calloc(micad_n_commands + 1, sizeof(int64_t));
    INVARIANT(g_cmd_total != NULL && g_cmd_failed != NULL);
}

/* micad_fam_name -- "reads", "writes", "commands", "transactions". */
const char *micad_fam_name(int fam)
{
    return fam >= 0 && fam < MICAD_FAM_COUNT ? fam_names[fam] : "commands";
}

/*
 * micad_cmd_family -- opLatencies' family of a command, as MongoDB's
 * ReadWriteType: find/getMore/aggregate/count/distinct read, the write
 * commands write, commit/abort are transactions, everything else a command.
 */
int micad_cmd_family(const char *name)
{
    static const char *const reads[] = {"find", "getMore", "aggregate", "count", "distinct"};
    static const char *const writes[] = {"insert", "update", "delete", "findAndModify"};
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        if (strcmp(name, reads[i]) == 0)
            return MICAD_FAM_READS;
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
        if (strcmp(name, writes[i]) == 0)
            return MICAD_FAM_WRITES;
    if (strcmp(name, "commitTransaction") == 0 || strcmp(name, "abortTransaction") == 0)
        return MICAD_FAM_TRANSACTIONS;
    return MICAD_FAM_COMMANDS;
}

/* lat_add -- one operation into a latency record. */
static void lat_add(micad_lat_t *l, int64_t micros)
{
    int b = 0;
    while (b < MICAD_LAT_NBUCKETS && micros > micad_lat_bounds_us[b])
        b++;
    __atomic_add_fetch(&l->ops, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&l->micros, micros, __ATOMIC_RELAXED);
    __atomic_add_fetch(&l->buckets[b], 1, __ATOMIC_RELAXED);
}

/* micad_latency_snapshot -- a copy of one family's record. */
void micad_latency_snapshot(int fam, micad_lat_t *out)
{
    const micad_lat_t *l = &g_lat[fam];
    out->ops = __atomic_load_n(&l->ops, __ATOMIC_RELAXED);
    out->micros = __atomic_load_n(&l->micros, __ATOMIC_RELAXED);
    for (int b = 0; b <= MICAD_LAT_NBUCKETS; b++)
        out->buckets[b] = __atomic_load_n(&l->buckets[b], __ATOMIC_RELAXED);
}

/* micad_cmd_counts -- total and failed runs of row i (micad_n_commands: unknown names). */
void micad_cmd_counts(size_t i, int64_t *total, int64_t *failed)
{
    pthread_once(&g_once, init_counters);
    *total = __atomic_load_n(&g_cmd_total[i], __ATOMIC_RELAXED);
    *failed = __atomic_load_n(&g_cmd_failed[i], __ATOMIC_RELAXED);
}

/* ns_hash -- FNV-1a of a namespace. */
static uint32_t ns_hash(const char *ns)
{
    uint32_t h = 2166136261u;
    for (; *ns; ns++)
        h = (h ^ (uint8_t)*ns) * 16777619u;
    return h;
}

/* top_slot -- the entry of ns; created on first use. Called with g_top_lock held. */
static micad_top_t *top_slot(const char *ns)
{
    uint32_t b = ns_hash(ns) % TOP_BUCKETS;
    for (top_entry_t *e = g_top[b]; e != NULL; e = e->next)
        if (strcmp(e->ns, ns) == 0)
            return &e->t;
    top_entry_t *e = calloc(1, sizeof(*e));
    INVARIANT(e != NULL);
    (void)snprintf(e->ns, sizeof(e->ns), "%s", ns);
    e->next = g_top[b];
    g_top[b] = e;
    return &e->t;
}

/* top_add -- one op into ns's top counters (MongoDB's Top::record). */
static void top_add(const char *ns, const char *op_type, int fam, int64_t micros)
{
    pthread_mutex_lock(&g_top_lock);
    micad_top_t *t = top_slot(ns);
    micad_top_pair_t *kind = &t->commands;
    t->total.time += micros;
    t->total.count++;
    if (fam == MICAD_FAM_WRITES) {
        t->write_lock.time += micros;
        t->write_lock.count++;
    } else {
        t->read_lock.time += micros;
        t->read_lock.count++;
    }
    if (strcmp(op_type, "query") == 0)
        kind = &t->queries;
    else if (strcmp(op_type, "getmore") == 0)
        kind = &t->getmore;
    else if (strcmp(op_type, "insert") == 0)
        kind = &t->insert;
    else if (strcmp(op_type, "update") == 0)
        kind = &t->update;
    else if (strcmp(op_type, "remove") == 0)
        kind = &t->remove;
    kind->time += micros;
    kind->count++;
    pthread_mutex_unlock(&g_top_lock);
}

/* micad_top_foreach -- every namespace's counters (under the lock; fn must not block). */
void micad_top_foreach(void (*fn)(const char *ns, const micad_top_t *t, void *arg), void *arg)
{
    pthread_mutex_lock(&g_top_lock);
    for (int b = 0; b < TOP_BUCKETS; b++)
        for (top_entry_t *e = g_top[b]; e != NULL; e = e->next)
            fn(e->ns, &e->t, arg);
    pthread_mutex_unlock(&g_top_lock);
}

/* micad_top_forget -- drop ns's counters (collection dropped); prefix ends in "." for a db. */
void micad_top_forget(const char *ns_or_prefix, bool prefix)
{
    size_t n = strlen(ns_or_prefix);
    pthread_mutex_lock(&g_top_lock);
    for (int b = 0; b < TOP_BUCKETS; b++) {
        top_entry_t **pp = &g_top[b];
        while (*pp != NULL) {
            top_entry_t *e = *pp;
            bool hit =
                prefix ? strncmp(e->ns, ns_or_prefix, n) == 0 : strcmp(e->ns, ns_or_prefix) == 0;
            if (hit) {
                *pp = e->next;
                free(e);
            } else {
                pp = &e->next;
            }
        }
    }
    pthread_mutex_unlock(&g_top_lock);
}

/* batch_len -- documents in reply.cursor.firstBatch / nextBatch. */
static int64_t batch_len(const bson_t *reply)
{
    bson_iter_t it, arr;
    int64_t n = 0;
    if (!bson_iter_init(&it, reply))
        return 0;
    if (bson_iter_find_descendant(&it, "cursor.firstBatch", &arr) ||
        (bson_iter_init(&it, reply) && bson_iter_find_descendant(&it, "cursor.nextBatch", &arr))) {
        bson_iter_t sub;
        if (BSON_ITER_HOLDS_ARRAY(&arr) && bson_iter_recurse(&arr, &sub))
            while (bson_iter_next(&sub))
                n++;
    }
    return n;
}

/* reply_int -- an integer field of the reply (0 when absent). */
static int64_t reply_int(const bson_t *reply, const char *field)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, reply, field) && BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return 0;
}

/* micad_op_outcome -- the profiler's/slow log's figures taken from the reply. */
void micad_op_outcome(const wire_opctx_t *op, const bson_t *reply, micad_outcome_t *o)
{
    const char *name = op->name ? op->name : "";
    memset(o, 0, sizeof(*o));
    o->nreturned = -1;
    if (reply == NULL)
        return;
    o->reslen = reply->len;
    if (strcmp(name, "find") == 0 || strcmp(name, "getMore") == 0 || strcmp(name, "aggregate") == 0)
        o->nreturned = batch_len(reply);
    else if (strcmp(name, "insert") == 0)
        o->ninserted = reply_int(reply, "n");
    else if (strcmp(name, "update") == 0) {
        o->nmatched = reply_int(reply, "n");
        o->nmodified = reply_int(reply, "nModified");
    } else if (strcmp(name, "delete") == 0)
        o->ndeleted = reply_int(reply, "n");
}

/* log_slow -- "Slow query" (51803) with mongod's attributes. */
static void log_slow(const wire_opctx_t *op, const micad_outcome_t *o, int code, int64_t micros)
{
    char buf[32];
    bson_t *attr;
    if (!log_enabled(LOG_SEV_INFO, LOG_C_COMMAND))
        return;
    attr = BCON_NEW("type", BCON_UTF8("command"), "ns", BCON_UTF8(op->info.ns));
    if (op->conn != NULL && op->conn->app_name[0] != '\0')
        BSON_APPEND_UTF8(attr, "appName", op->conn->app_name);
    bson_t redacted = BSON_INITIALIZER; /* no password or SASL payload in a log line */
    wire_redact_command(&op->body, &redacted);
    BSON_APPEND_DOCUMENT(attr, "command", &redacted);
    bson_destroy(&redacted);
    if (op->info.plan_summary[0] != '\0')
        BSON_APPEND_UTF8(attr, "planSummary", op->info.plan_summary);
    BSON_APPEND_INT64(attr, "keysExamined", op->info.keys_examined);
    BSON_APPEND_INT64(attr, "docsExamined", op->info.docs_examined);
    if (op->info.has_sort_stage)
        BSON_APPEND_BOOL(attr, "hasSortStage", true);
    if (o->nreturned >= 0)
        BSON_APPEND_INT64(attr, "nreturned", o->nreturned);
    if (o->ninserted > 0)
        BSON_APPEND_INT64(attr, "ninserted", o->ninserted);
    if (o->nmatched > 0 || o->nmodified > 0) {
        BSON_APPEND_INT64(attr, "nMatched", o->nmatched);
        BSON_APPEND_INT64(attr, "nModified", o->nmodified);
    }
    if (o->ndeleted > 0)
        BSON_APPEND_INT64(attr, "ndeleted", o->ndeleted);
    BSON_APPEND_INT64(attr, "numYields", op->info.num_yields);
    BSON_APPEND_INT32(attr, "ok", code == 0 ? 1 : 0);
    if (code != 0) {
        BSON_APPEND_INT32(attr, "errCode", code);
        BSON_APPEND_UTF8(attr, "errName", wire_code_name(code, buf, sizeof(buf)));
    }
    BSON_APPEND_INT64(attr, "reslen", o->reslen);
    bson_t locks; /* empty: the namespace lock stripes keep no per-operation statistics */
    BSON_APPEND_DOCUMENT_BEGIN(attr, "locks", &locks);
    bson_append_document_end(attr, &locks);
    BSON_APPEND_UTF8(attr, "protocol", op->legacy ? "op_query" : "op_msg");
    BSON_APPEND_INT64(attr, "durationMillis", micros / 1000);
    LOG_DOC(INFO, COMMAND, 51803, "Slow query", attr);
    bson_destroy(attr);
}

/* micad_op_done -- the transport's hook after every command. */
void micad_op_done(wire_opctx_t *op, const bson_t *reply, int code, int64_t micros)
{
    micad_t *m = micad_of(op);
    const char *name = op->name ? op->name : "";
    size_t row = micad_n_commands;
    int fam = micad_cmd_family(name);
    micad_outcome_t o;

    pthread_once(&g_once, init_counters);
    if (op->cmd != NULL && op->cmd >= micad_commands && op->cmd < micad_commands + micad_n_commands)
        row = (size_t)(op->cmd - micad_commands);
    __atomic_add_fetch(&g_cmd_total[row], 1, __ATOMIC_RELAXED);
    if (code != 0)
        __atomic_add_fetch(&g_cmd_failed[row], 1, __ATOMIC_RELAXED);
    if (op->cmd == NULL)
        return; /* unknown command or unparsable request: nothing ran */
    lat_add(&g_lat[fam], micros);
    top_add(op->info.ns, op->info.op, fam, micros);

    micad_op_outcome(op, reply, &o);
    bool slow = micad_profile_is_slow(micros);
    bool sampled = micad_profile_sampled();
    if (slow && sampled)
        log_slow(op, &o, code, micros);
    if (m != NULL)
        micad_profile_record(m, op, &o, code, micros, slow, sampled);
}
