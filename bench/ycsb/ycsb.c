/*
 * ycsb.c -- bench_ycsb: a YCSB-style load generator for Mica (through
 * libmongoc, as an application would talk to it) and, when built with libpq,
 * for PostgreSQL (a JSONB table), run by the same code in the same process so
 * the figures are comparable.
 *
 * Records are YCSB's: key "user<fnv64(i)>", ten fields of 100 bytes (1 KB).
 * Workloads: load (bulk, every client), insert (new keys only), A (50% read,
 * 50% update), B (95/5), C (reads), E (95% short scans of 1..100 records from
 * a key, 5% inserts) and echo (Mica's test-only `echo` command: a do-nothing
 * request through the same transport, codecs and worker pool -- the ceiling
 * of what any command can reach). Keys are zipfian (YCSB's scrambled zipfian,
 * theta 0.99) or uniform. Each client is one thread with its own connection,
 * one request at a time (closed loop), as YCSB's threads are.
 *
 * Output: per cell (workload x clients x target) ops/s and p50/p99/p999 per
 * operation, then one side-by-side table with Mica as a fraction of the echo
 * ceiling measured in the same run. Figures only: nothing here asserts on
 * time. bench/ycsb/compare.sh starts the servers and runs this.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

/* YCSB's record: ten fields of 100 bytes. */
#define N_FIELDS  10
#define FIELD_LEN 100
/* E's scans are uniform in [1, MAX_SCAN] records (YCSB's default max is 1000; 100 keeps a cell
 * short). */
#define MAX_SCAN 100
/* YCSB's zipfian constant. */
#define ZIPF_THETA 0.99
#define MAX_CELLS  256

enum op { OP_READ, OP_UPDATE, OP_INSERT, OP_SCAN, OP_ECHO, N_OPS };
static const char *const op_names[N_OPS] = {"read", "update", "insert", "scan", "echo"};

enum target { T_MICA, T_MICA_J, T_PG_OFF, T_PG_ON, N_TARGETS };
static const char *const target_names[N_TARGETS] = {"mica", "mica-j", "pg-off", "pg-on"};

typedef struct workload {
    const char *name;
    double read, update, insert, scan, echo; /* proportions */
} workload_t;

static const workload_t workloads[] = {
    {"echo", 0, 0, 0, 0, 1},    {"insert", 0, 0, 1, 0, 0}, {"A", 0.5, 0.5, 0, 0, 0},
    {"B", 0.95, 0.05, 0, 0, 0}, {"C", 1, 0, 0, 0, 0},      {"E", 0, 0, 0.05, 0.95, 0},
};
#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

/* ---- configuration ---------------------------------------------------- */

static struct {
    const char *mica_uri;
    const char *pg_conninfo;
    int64_t records;
    double seconds;
    int clients[8];
    int n_clients;
    const char *workloads; /* comma list */
    const char *targets;   /* comma list */
    bool zipfian;
    bool no_load;
} cfg = {.records = 20000, .seconds = 2, .workloads = "echo,insert,A,C,E", .zipfian = true};

static atomic_int_fast64_t next_insert_key;

/* ---- keys and values -------------------------------------------------- */

static uint64_t fnv64(uint64_t v)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    for (int i = 0; i < 8; i++) {
        h ^= v & 0xff;
        h *= 1099511628211ULL;
        v >>= 8;
    }
    return h;
}

static void key_of(int64_t i, char *buf, size_t n)
{
    snprintf(buf, n, "user%" PRIu64, fnv64((uint64_t)i));
}

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r) /* xorshift64* */
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

static double rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static void rand_field(rng_t *r, char *buf)
{
    for (int i = 0; i < FIELD_LEN; i++)
        buf[i] = (char)('a' + rng_next(r) % 26);
    buf[FIELD_LEN] = '\0';
}

/* Zipfian over [0, n) (Gray et al., as YCSB's ZipfianGenerator), scrambled by a hash. */
static struct {
    double zetan, alpha, eta, theta;
    int64_t n;
} zipf;

static void zipf_init(int64_t n)
{
    double zeta2 = 1 + pow(0.5, ZIPF_THETA), zetan = 0;
    for (int64_t i = 1; i <= n; i++)
        zetan += 1 / pow((double)i, ZIPF_THETA);
    zipf.n = n;
    zipf.theta = ZIPF_THETA;
    zipf.zetan = zetan;
    zipf.alpha = 1 / (1 - ZIPF_THETA);
    zipf.eta = (1 - pow(2.0 / (double)n, 1 - ZIPF_THETA)) / (1 - zeta2 / zetan);
}

static int64_t next_keynum(rng_t *r)
{
    int64_t n = cfg.records;
    if (!cfg.zipfian)
        return (int64_t)(rng_next(r) % (uint64_t)n);
    double u = rng_unit(r), uz = u * zipf.zetan, v;
    if (uz < 1)
        v = 0;
    else if (uz < 1 + pow(0.5, zipf.theta))
        v = 1;
    else
        v = (double)zipf.n * pow(zipf.eta * u - zipf.eta + 1, zipf.alpha);
    return (int64_t)(fnv64((uint64_t)v) % (uint64_t)n);
}

/* ---- latencies -------------------------------------------------------- */

typedef struct lat {
    uint32_t *v; /* tenths of a microsecond */
    size_t n, cap;
} lat_t;

static void lat_add(lat_t *l, int64_t ns)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (l->v == NULL)
            abort();
    }
    int64_t t = ns / 100;
    l->v[l->n++] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const lat_t *l, double p)
{
    if (l->n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return l->v[i] / 10.0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- clients ---------------------------------------------------------- */

typedef struct client {
    int target;
    rng_t rng;
    mongoc_client_t *mc;
    mongoc_collection_t *coll;
#ifdef HAVE_LIBPQ
    PGconn *pg;
#endif
    char err[512];
} client_t;

static int client_open(client_t *c, int target, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    c->target = target;
    c->rng.s = seed * 0x9E3779B97F4A7C15ULL + 1;
    if (target == T_MICA || target == T_MICA_J) {
        bson_error_t e;
        mongoc_uri_t *uri = mongoc_uri_new_with_error(cfg.mica_uri, &e);
        if (uri == NULL) {
            snprintf(c->err, sizeof(c->err), "bad URI: %s", e.message);
            return -1;
        }
        c->mc = mongoc_client_new_from_uri(uri);
        mongoc_uri_destroy(uri);
        mongoc_client_set_error_api(c->mc, MONGOC_ERROR_API_VERSION_2);
        c->coll = mongoc_client_get_collection(c->mc, "ycsb", "usertable");
        if (target == T_MICA_J) {
            mongoc_write_concern_t *wc = mongoc_write_concern_new();
            mongoc_write_concern_set_journal(wc, true);
            mongoc_collection_set_write_concern(c->coll, wc);
            mongoc_write_concern_destroy(wc);
        }
        return 0;
    }
#ifdef HAVE_LIBPQ
    c->pg = PQconnectdb(cfg.pg_conninfo);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        snprintf(c->err, sizeof(c->err), "%s", PQerrorMessage(c->pg));
        return -1;
    }
    PGresult *r = PQexec(c->pg, target == T_PG_ON ? "SET synchronous_commit = on"
                                                  : "SET synchronous_commit = off");
    PQclear(r);
    static const char *const prep[][2] = {
        {"rd", "SELECT doc FROM usertable WHERE ycsb_key = $1"},
        {"up", "UPDATE usertable SET doc = jsonb_set(doc, $3::text[], to_jsonb($2::text)) "
               "WHERE ycsb_key = $1"},
        {"in", "INSERT INTO usertable (ycsb_key, doc) VALUES ($1, $2::jsonb)"},
        {"sc", "SELECT doc FROM usertable WHERE ycsb_key >= $1 ORDER BY ycsb_key LIMIT $2"},
    };
    for (size_t i = 0; i < sizeof(prep) / sizeof(prep[0]); i++) {
        r = PQprepare(c->pg, prep[i][0], prep[i][1], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(c->err, sizeof(c->err), "prepare %s: %s", prep[i][0], PQerrorMessage(c->pg));
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    return 0;
#else
    snprintf(c->err, sizeof(c->err), "built without libpq");
    return -1;
#endif
}

static void client_close(client_t *c)
{
    if (c->coll)
        mongoc_collection_destroy(c->coll);
    if (c->mc)
        mongoc_client_destroy(c->mc);
#ifdef HAVE_LIBPQ
    if (c->pg)
        PQfinish(c->pg);
#endif
}

/* build_doc -- the 1 KB record; json (for PostgreSQL) when json != NULL. */
static void build_doc(client_t *c, const char *key, bson_t *doc, char *json, size_t json_cap)
{
    char f[FIELD_LEN + 1], name[16];
    size_t off = 0;
    if (doc)
        BSON_APPEND_UTF8(doc, "_id", key);
    if (json)
        off += (size_t)snprintf(json + off, json_cap - off, "{");
    for (int i = 0; i < N_FIELDS; i++) {
        rand_field(&c->rng, f);
        snprintf(name, sizeof(name), "field%d", i);
        if (doc)
            BSON_APPEND_UTF8(doc, name, f);
        if (json)
            off += (size_t)snprintf(json + off, json_cap - off, "%s\"%s\": \"%s\"", i ? ", " : "",
                                    name, f);
    }
    if (json)
        snprintf(json + off, json_cap - off, "}");
}

/* do_op -- one operation; 0 or -1 with c->err. */
static int do_op(client_t *c, int op)
{
    char key[32];
    bson_error_t e;
    int64_t k;

    if (op == OP_INSERT)
        k = atomic_fetch_add(&next_insert_key, 1);
    else
        k = next_keynum(&c->rng);
    key_of(k, key, sizeof(key));
    if (c->mc != NULL) {
        bool ok = true;
        bson_t q = BSON_INITIALIZER;
        switch (op) {
        case OP_ECHO: {
            bson_t cmd = BSON_INITIALIZER, reply;
            BSON_APPEND_INT32(&cmd, "echo", 1);
            ok = mongoc_client_command_simple(c->mc, "admin", &cmd, NULL, &reply, &e);
            bson_destroy(&cmd);
            bson_destroy(&reply);
            break;
        }
        case OP_READ:
        case OP_SCAN: {
            bson_t opts = BSON_INITIALIZER, sub;
            const bson_t *d;
            if (op == OP_READ) {
                BSON_APPEND_UTF8(&q, "_id", key);
                BSON_APPEND_INT64(&opts, "limit", 1);
                BSON_APPEND_BOOL(&opts, "singleBatch", true);
            } else {
                int len = 1 + (int)(rng_next(&c->rng) % MAX_SCAN);
                BSON_APPEND_DOCUMENT_BEGIN(&q, "_id", &sub);
                BSON_APPEND_UTF8(&sub, "$gte", key);
                bson_append_document_end(&q, &sub);
                BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sub);
                BSON_APPEND_INT32(&sub, "_id", 1);
                bson_append_document_end(&opts, &sub);
                BSON_APPEND_INT64(&opts, "limit", len);
                BSON_APPEND_INT64(&opts, "batchSize", len);
            }
            mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c->coll, &q, &opts, NULL);
            int n = 0;
            while (mongoc_cursor_next(cur, &d))
                n++;
            if (mongoc_cursor_error(cur, &e))
                ok = false;
            else if (op == OP_READ && n != 1) {
                snprintf(e.message, sizeof(e.message), "read of %s found %d documents", key, n);
                ok = false;
            }
            mongoc_cursor_destroy(cur);
            bson_destroy(&opts);
            break;
        }
        case OP_UPDATE: {
            bson_t u = BSON_INITIALIZER, set, reply;
            char f[FIELD_LEN + 1], name[16];
            rand_field(&c->rng, f);
            snprintf(name, sizeof(name), "field%d", (int)(rng_next(&c->rng) % N_FIELDS));
            BSON_APPEND_UTF8(&q, "_id", key);
            BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
            BSON_APPEND_UTF8(&set, name, f);
            bson_append_document_end(&u, &set);
            ok = mongoc_collection_update_one(c->coll, &q, &u, NULL, &reply, &e);
            bson_destroy(&u);
            bson_destroy(&reply);
            break;
        }
        case OP_INSERT: {
            bson_t reply;
            build_doc(c, key, &q, NULL, 0);
            ok = mongoc_collection_insert_one(c->coll, &q, NULL, &reply, &e);
            bson_destroy(&reply);
            break;
        }
        }
        bson_destroy(&q);
        if (!ok) {
            snprintf(c->err, sizeof(c->err), "%s: %s", op_names[op], e.message);
            return -1;
        }
        return 0;
    }
#ifdef HAVE_LIBPQ
    PGresult *r = NULL;
    ExecStatusType want = PGRES_TUPLES_OK;
    switch (op) {
    case OP_ECHO:
        r = PQexec(c->pg, "SELECT 1");
        break;
    case OP_READ: {
        const char *p[1] = {key};
        r = PQexecPrepared(c->pg, "rd", 1, p, NULL, NULL, 0);
        break;
    }
    case OP_SCAN: {
        char len[16];
        snprintf(len, sizeof(len), "%d", 1 + (int)(rng_next(&c->rng) % MAX_SCAN));
        const char *p[2] = {key, len};
        r = PQexecPrepared(c->pg, "sc", 2, p, NULL, NULL, 0);
        break;
    }
    case OP_UPDATE: {
        char f[FIELD_LEN + 1], path[24];
        rand_field(&c->rng, f);
        snprintf(path, sizeof(path), "{field%d}", (int)(rng_next(&c->rng) % N_FIELDS));
        const char *p[3] = {key, f, path};
        r = PQexecPrepared(c->pg, "up", 3, p, NULL, NULL, 0);
        want = PGRES_COMMAND_OK;
        break;
    }
    case OP_INSERT: {
        char json[2048];
        build_doc(c, key, NULL, json, sizeof(json));
        const char *p[2] = {key, json};
        r = PQexecPrepared(c->pg, "in", 2, p, NULL, NULL, 0);
        want = PGRES_COMMAND_OK;
        break;
    }
    }
    int ret = 0;
    if (PQresultStatus(r) != want) {
        snprintf(c->err, sizeof(c->err), "%s: %s", op_names[op], PQerrorMessage(c->pg));
        ret = -1;
    } else if (op == OP_READ && PQntuples(r) != 1) {
        snprintf(c->err, sizeof(c->err), "read of %s found %d rows", key, PQntuples(r));
        ret = -1;
    }
    PQclear(r);
    return ret;
#else
    return -1;
#endif
}

/* ---- one cell: a workload at a client count against a target ----------- */

typedef struct worker {
    pthread_t th;
    client_t c;
    const workload_t *w;
    lat_t lat[N_OPS];
    int64_t ops, errors;
    char err[512];
} worker_t;

static atomic_int phase; /* 0 wait, 1 run, 2 stop */

static void *worker_main(void *arg)
{
    worker_t *wk = arg;
    const workload_t *w = wk->w;
    double cut[N_OPS] = {w->read, w->read + w->update, w->read + w->update + w->insert,
                         w->read + w->update + w->insert + w->scan, 1.0};
    while (atomic_load(&phase) == 0)
        usleep(100);
    while (atomic_load_explicit(&phase, memory_order_relaxed) == 1) {
        double u = rng_unit(&wk->c.rng);
        int op = 0;
        while (op < N_OPS - 1 && u >= cut[op])
            op++;
        int64_t t0 = now_ns();
        if (do_op(&wk->c, op) != 0) {
            if (wk->errors++ == 0)
                snprintf(wk->err, sizeof(wk->err), "%s", wk->c.err);
            continue;
        }
        lat_add(&wk->lat[op], now_ns() - t0);
        wk->ops++;
    }
    return NULL;
}

typedef struct cell {
    const char *workload;
    int clients, target;
    double ops_s;
    double p50[N_OPS], p99[N_OPS], p999[N_OPS];
    int64_t n[N_OPS];
    int64_t errors;
    bool ran;
} cell_t;

static cell_t cells[MAX_CELLS];
static int n_cells;

static int run_cell(const workload_t *w, int nclients, int target)
{
    worker_t *wk = calloc((size_t)nclients, sizeof(*wk));
    cell_t *cell = &cells[n_cells++];
    int started = 0, ret = 0;

    memset(cell, 0, sizeof(*cell));
    cell->workload = w->name;
    cell->clients = nclients;
    cell->target = target;
    atomic_store(&phase, 0);
    for (int i = 0; i < nclients; i++) {
        wk[i].w = w;
        if (client_open(&wk[i].c, target, (uint64_t)now_ns() + (uint64_t)i * 7919) != 0) {
            fprintf(stderr, "bench_ycsb: %s: %s\n", target_names[target], wk[i].c.err);
            client_close(&wk[i].c);
            ret = -1;
            break;
        }
        pthread_create(&wk[i].th, NULL, worker_main, &wk[i]);
        started++;
    }
    int64_t t0 = now_ns();
    atomic_store(&phase, ret == 0 ? 1 : 2);
    if (ret == 0)
        usleep((useconds_t)(cfg.seconds * 1e6));
    atomic_store(&phase, 2);
    for (int i = 0; i < started; i++)
        pthread_join(wk[i].th, NULL);
    double el = (double)(now_ns() - t0) / 1e9;
    int64_t ops = 0;
    for (int op = 0; op < N_OPS; op++) {
        lat_t all = {0};
        for (int i = 0; i < started; i++) {
            for (size_t j = 0; j < wk[i].lat[op].n; j++)
                lat_add(&all, (int64_t)wk[i].lat[op].v[j] * 100);
        }
        if (all.n > 0) {
            qsort(all.v, all.n, sizeof(*all.v), cmp_u32);
            cell->p50[op] = pct_us(&all, 0.5);
            cell->p99[op] = pct_us(&all, 0.99);
            cell->p999[op] = pct_us(&all, 0.999);
            cell->n[op] = (int64_t)all.n;
        }
        free(all.v);
    }
    for (int i = 0; i < started; i++) {
        ops += wk[i].ops;
        cell->errors += wk[i].errors;
        if (wk[i].errors > 0 && cell->errors == wk[i].errors)
            fprintf(stderr, "bench_ycsb: %s %s: %" PRId64 " errors, first: %s\n", w->name,
                    target_names[target], wk[i].errors, wk[i].err);
        for (int op = 0; op < N_OPS; op++)
            free(wk[i].lat[op].v);
        client_close(&wk[i].c);
    }
    free(wk);
    if (ret != 0) {
        n_cells--;
        return ret;
    }
    cell->ops_s = (double)ops / el;
    cell->ran = true;
    printf("%-7s %-7s clients %3d  %9.0f ops/s", w->name, target_names[target], nclients,
           cell->ops_s);
    for (int op = 0; op < N_OPS; op++)
        if (cell->n[op] > 0)
            printf("  %s p50/p99/p999 %.0f/%.0f/%.0f us", op_names[op], cell->p50[op],
                   cell->p99[op], cell->p999[op]);
    if (cell->errors)
        printf("  (%" PRId64 " errors)", cell->errors);
    printf("\n");
    fflush(stdout);
    return 0;
}

/* ---- load ------------------------------------------------------------- */

typedef struct loader {
    pthread_t th;
    client_t c;
    int64_t from, to;
    int rc;
} loader_t;

static void *load_main(void *arg)
{
    loader_t *l = arg;
    char key[32];
    const int batch = 100;
    for (int64_t i = l->from; i < l->to && l->rc == 0; i += batch) {
        int64_t end = i + batch < l->to ? i + batch : l->to;
        if (l->c.mc != NULL) {
            mongoc_bulk_operation_t *b =
                mongoc_collection_create_bulk_operation_with_opts(l->c.coll, NULL);
            for (int64_t k = i; k < end; k++) {
                bson_t d = BSON_INITIALIZER;
                key_of(k, key, sizeof(key));
                build_doc(&l->c, key, &d, NULL, 0);
                mongoc_bulk_operation_insert(b, &d);
                bson_destroy(&d);
            }
            bson_error_t e;
            if (!mongoc_bulk_operation_execute(b, NULL, &e)) {
                fprintf(stderr, "bench_ycsb: load: %s\n", e.message);
                l->rc = -1;
            }
            mongoc_bulk_operation_destroy(b);
            continue;
        }
#ifdef HAVE_LIBPQ
        PGresult *r = PQexec(l->c.pg, "BEGIN");
        PQclear(r);
        for (int64_t k = i; k < end && l->rc == 0; k++) {
            char json[2048];
            key_of(k, key, sizeof(key));
            build_doc(&l->c, key, NULL, json, sizeof(json));
            const char *p[2] = {key, json};
            r = PQexecPrepared(l->c.pg, "in", 2, p, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                fprintf(stderr, "bench_ycsb: load: %s\n", PQerrorMessage(l->c.pg));
                l->rc = -1;
            }
            PQclear(r);
        }
        r = PQexec(l->c.pg, "COMMIT");
        PQclear(r);
#endif
    }
    return NULL;
}

/* reset_and_load -- an empty table, then cfg.records records from 4 parallel loaders. */
static int reset_and_load(int target)
{
    if (target == T_MICA || target == T_MICA_J) {
        client_t c;
        if (client_open(&c, target, 1) != 0) {
            fprintf(stderr, "bench_ycsb: %s: %s\n", target_names[target], c.err);
            client_close(&c);
            return -1;
        }
        bson_error_t e;
        (void)mongoc_collection_drop(c.coll, &e); /* NamespaceNotFound is fine */
        client_close(&c);
    }
#ifdef HAVE_LIBPQ
    else {
        PGconn *pg = PQconnectdb(cfg.pg_conninfo);
        PGresult *r = PQexec(pg, "DROP TABLE IF EXISTS usertable; CREATE TABLE usertable "
                                 "(ycsb_key text PRIMARY KEY COLLATE \"C\", doc jsonb NOT NULL)");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench_ycsb: create table: %s\n", PQerrorMessage(pg));
            PQclear(r);
            PQfinish(pg);
            return -1;
        }
        PQclear(r);
        PQfinish(pg);
    }
#endif
    enum { NL = 4 };
    loader_t l[NL];
    int64_t t0 = now_ns();
    int rc = 0;
    for (int i = 0; i < NL; i++) {
        memset(&l[i], 0, sizeof(l[i]));
        if (client_open(&l[i].c, target == T_PG_ON ? T_PG_OFF : target, (uint64_t)i + 2) != 0) {
            fprintf(stderr, "bench_ycsb: %s\n", l[i].c.err);
            return -1;
        }
        l[i].from = cfg.records * i / NL;
        l[i].to = cfg.records * (i + 1) / NL;
        pthread_create(&l[i].th, NULL, load_main, &l[i]);
    }
    for (int i = 0; i < NL; i++) {
        pthread_join(l[i].th, NULL);
        rc |= l[i].rc;
        client_close(&l[i].c);
    }
    double el = (double)(now_ns() - t0) / 1e9;
    printf("load    %-7s %" PRId64 " records in %.1f s (%.0f records/s)\n", target_names[target],
           cfg.records, el, (double)cfg.records / el);
    if (target != T_MICA && target != T_MICA_J) {
        client_t a;
        if (client_open(&a, T_PG_OFF, 1) == 0) {
#ifdef HAVE_LIBPQ
            PQclear(PQexec(a.pg, "VACUUM ANALYZE usertable"));
#endif
        }
        client_close(&a);
    }
    return rc;
}

/* ---- report ----------------------------------------------------------- */

static const cell_t *find_cell(const char *w, int clients, int target)
{
    for (int i = 0; i < n_cells; i++)
        if (cells[i].ran && cells[i].clients == clients && cells[i].target == target &&
            strcmp(cells[i].workload, w) == 0)
            return &cells[i];
    return NULL;
}

/* p99 of the cell's slowest operation kind: the figure printed beside ops/s. */
static double cell_p99(const cell_t *c)
{
    double m = 0;
    for (int op = 0; op < N_OPS; op++)
        if (c->n[op] > 0 && c->p99[op] > m)
            m = c->p99[op];
    return m;
}

static void fmt_cell(char *buf, size_t n, const cell_t *c)
{
    if (c == NULL) {
        snprintf(buf, n, "-");
        return;
    }
    snprintf(buf, n, "%.1f k (p99 %.2f ms)", c->ops_s / 1000, cell_p99(c) / 1000);
}

static void report(bool *has_target)
{
    printf("\nYCSB, %" PRId64 " records of 1 KB, %s keys, %.0f s per cell; p99 is the slowest "
           "operation kind's\n\n",
           cfg.records, cfg.zipfian ? "zipfian" : "uniform", cfg.seconds);
    printf("| workload | clients | echo ceiling | Mica w:1 | of echo |");
    if (has_target[T_MICA_J])
        printf(" Mica j:true |");
    if (has_target[T_PG_OFF])
        printf(" PostgreSQL sync off |");
    if (has_target[T_PG_ON])
        printf(" PostgreSQL sync on |");
    printf("\n| --- | --- | --- | --- | --- |");
    for (int t = T_MICA_J; t < N_TARGETS; t++)
        if (has_target[t])
            printf(" --- |");
    printf("\n");
    for (size_t wi = 0; wi < N_WORKLOADS; wi++) {
        const char *w = workloads[wi].name;
        if (strcmp(w, "echo") == 0)
            continue;
        for (int ci = 0; ci < cfg.n_clients; ci++) {
            int nc = cfg.clients[ci];
            bool any = false;
            for (int t = 0; t < N_TARGETS; t++)
                any |= find_cell(w, nc, t) != NULL;
            if (!any)
                continue;
            char b[64];
            const cell_t *echo = find_cell("echo", nc, T_MICA);
            const cell_t *m = find_cell(w, nc, T_MICA);
            printf("| %s | %d |", w, nc);
            fmt_cell(b, sizeof(b), echo);
            printf(" %s |", b);
            fmt_cell(b, sizeof(b), m);
            printf(" %s |", b);
            if (echo && m)
                printf(" %.0f %% |", 100 * m->ops_s / echo->ops_s);
            else
                printf(" - |");
            for (int t = T_MICA_J; t < N_TARGETS; t++) {
                if (!has_target[t])
                    continue;
                fmt_cell(b, sizeof(b), find_cell(w, nc, t));
                printf(" %s |", b);
            }
            printf("\n");
        }
    }
    fflush(stdout);
}

/* ---- main ------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: bench_ycsb [--mica URI] [--pg CONNINFO] [--records N] [--seconds S]\n"
                    "                  [--clients 1,4,16,64] [--workloads echo,insert,A,B,C,E]\n"
                    "                  [--targets mica,mica-j,pg-off,pg-on] [--uniform]\n");
}

static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"mica", required_argument, NULL, 'm'},    {"pg", required_argument, NULL, 'p'},
        {"records", required_argument, NULL, 'r'}, {"seconds", required_argument, NULL, 's'},
        {"clients", required_argument, NULL, 'c'}, {"workloads", required_argument, NULL, 'w'},
        {"targets", required_argument, NULL, 't'}, {"uniform", no_argument, NULL, 'u'},
        {"has-libpq", no_argument, NULL, 'H'},     {NULL, 0, NULL, 0},
    };
    int o;
    const char *clients = "16";
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 'm':
            cfg.mica_uri = optarg;
            break;
        case 'p':
            cfg.pg_conninfo = optarg;
            break;
        case 'r':
            cfg.records = strtoll(optarg, NULL, 10);
            break;
        case 's':
            cfg.seconds = strtod(optarg, NULL);
            break;
        case 'c':
            clients = optarg;
            break;
        case 'w':
            cfg.workloads = optarg;
            break;
        case 't':
            cfg.targets = optarg;
            break;
        case 'u':
            cfg.zipfian = false;
            break;
#ifdef HAVE_LIBPQ
        case 'H':
            return 0;
#else
        case 'H':
            return 1;
#endif
        default:
            usage();
            return 2;
        }
    }
    for (const char *p = clients; p && *p && cfg.n_clients < 8;) {
        cfg.clients[cfg.n_clients++] = atoi(p);
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (cfg.records < 100 || cfg.seconds <= 0 || cfg.n_clients == 0 || cfg.clients[0] <= 0) {
        usage();
        return 2;
    }
    bool has_target[N_TARGETS] = {false};
    for (int t = 0; t < N_TARGETS; t++) {
        if (cfg.targets != NULL)
            has_target[t] = in_list(cfg.targets, target_names[t]);
        else
            has_target[t] = (t <= T_MICA_J) ? cfg.mica_uri != NULL : cfg.pg_conninfo != NULL;
        if (has_target[t] && t <= T_MICA_J && cfg.mica_uri == NULL)
            has_target[t] = false;
        if (has_target[t] && t >= T_PG_OFF && cfg.pg_conninfo == NULL)
            has_target[t] = false;
    }
#ifndef HAVE_LIBPQ
    if (has_target[T_PG_OFF] || has_target[T_PG_ON])
        fprintf(stderr, "bench_ycsb: built without libpq; PostgreSQL skipped\n");
    has_target[T_PG_OFF] = has_target[T_PG_ON] = false;
#endif
    mongoc_init();
    zipf_init(cfg.records);
    /*
     * Mica's targets share one collection, PostgreSQL's one table: load each
     * once, then run every cell against every target back to back, so the
     * columns of a row were measured minutes apart at most, not a whole run.
     */
    for (int first = T_MICA; first <= T_PG_OFF; first += 2) {
        if (!has_target[first] && !has_target[first + 1])
            continue;
        if (reset_and_load(has_target[first] ? first : first + 1) != 0)
            return 1;
    }
    atomic_store(&next_insert_key, cfg.records);
    for (size_t wi = 0; wi < N_WORKLOADS; wi++) {
        const workload_t *w = &workloads[wi];
        if (!in_list(cfg.workloads, w->name))
            continue;
        for (int ci = 0; ci < cfg.n_clients; ci++) {
            for (int t = 0; t < N_TARGETS; t++) {
                if (!has_target[t])
                    continue;
                bool writes = (w->update + w->insert) > 0;
                /* j:true and synchronous_commit change nothing for read-only cells */
                if ((t == T_MICA_J || t == T_PG_ON) && !writes)
                    continue;
                if (strcmp(w->name, "echo") == 0 && t != T_MICA && t != T_PG_OFF)
                    continue;
                if (run_cell(w, cfg.clients[ci], t) != 0)
                    return 1;
            }
        }
    }
    report(has_target);
    mongoc_cleanup();
    return 0;
}
