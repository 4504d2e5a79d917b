/*
 * bench_replication.c -- bench_replication: a local three-member replica set of the
 * release micad, driven through libmongoc as an application would (issue 11, item 12).
 *
 *   1. inserts at w: 1 and w: "majority" with 1, 16 and 64 client threads (each thread its
 *      own connection, one insert at a time): ops/s, p50, p99;
 *   2. replication lag under a sustained w: 1 load (16 threads): every 200 ms the
 *      primary's last applied optime is read, then the time until each secondary has
 *      applied that optime is measured (what a reader of a secondary waits to see a write);
 *   3. failover time over N trials: kill -9 the primary, then retry one w: 1 insert through
 *      the set's connection string until one succeeds (on the new primary); the killed
 *      member is restarted and waited for as a secondary before the next trial.
 *
 * Each figure is printed beside its target from the issue: w: "majority" throughput at
 * least 50% of w: 1 at 16 threads; median failover at most 2 x electionTimeoutMillis.
 * Figures only: nothing here asserts on time (the exit status says whether the set ran).
 *
 * Usage: bench_replication --micad PATH [--seconds S] [--threads 1,16,64] [--trials N]
 *                          [--lag-seconds S] [--election-timeout MS]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_MEMBERS   3
#define MAX_THREADS 256

static struct {
    const char *micad;
    double seconds;
    int threads[8];
    int n_threads;
    int trials;
    double lag_seconds;
    int election_timeout_ms;
} cfg = {.seconds = 3,
         .threads = {1, 16, 64},
         .n_threads = 3,
         .trials = 10,
         .lag_seconds = 5,
         .election_timeout_ms = 2000};

typedef struct member {
    pid_t pid;
    int port;
    char dir[256];
    char log[300];
} member_t;

static member_t members[N_MEMBERS];
static char root[128];
static char set_uri[512];

/* ---- time and latencies ------------------------------------------------ */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

typedef struct lat {
    int64_t *us;
    size_t n, cap;
} lat_t;

static void lat_add(lat_t *l, int64_t us)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->us = realloc(l->us, l->cap * sizeof(*l->us));
        if (l->us == NULL)
            abort();
    }
    l->us[l->n++] = us;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(lat_t *l, double p) /* l sorted */
{
    if (l->n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return (double)l->us[i];
}

static void lat_merge(lat_t *into, lat_t *from)
{
    for (size_t i = 0; i < from->n; i++)
        lat_add(into, from->us[i]);
    free(from->us);
    memset(from, 0, sizeof(*from));
}

/* ---- the set ------------------------------------------------------------ */

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static mongoc_client_t *direct(int i)
{
    char uri[256];
    snprintf(uri, sizeof(uri),
             "mongodb://127.0.0.1:%d/?directConnection=true&serverSelectionTimeoutMS=2000&"
             "connectTimeoutMS=2000&socketTimeoutMS=10000",
             members[i].port);
    mongoc_client_t *c = mongoc_client_new(uri);
    mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    return c;
}

static bool admin(int i, const bson_t *cmd, bson_t *reply)
{
    mongoc_client_t *c = direct(i);
    bson_error_t err;
    bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, reply, &err);
    mongoc_client_destroy(c);
    return ok;
}

static bool alive(int i)
{
    int status;
    return members[i].pid > 0 && waitpid(members[i].pid, &status, WNOHANG) == 0;
}

static int spawn(int i)
{
    member_t *m = &members[i];
    char port[16];
    snprintf(port, sizeof(port), "%d", m->port);
    m->pid = fork();
    if (m->pid < 0)
        return -1;
    if (m->pid == 0) {
        execl(cfg.micad, cfg.micad, "--port", port, "--bind_ip", "127.0.0.1", "--dbpath", m->dir,
              "--logpath", m->log, "--logappend", "--replSet", "rs0", "--quiet", (char *)NULL);
        _exit(127);
    }
    for (int64_t deadline = now_us() + 120000000; now_us() < deadline; usleep(50000)) {
        bson_t *hello = BCON_NEW("hello", BCON_INT32(1)), reply;
        bool ok = admin(i, hello, &reply);
        bson_destroy(&reply);
        bson_destroy(hello);
        if (ok)
            return 0;
        if (!alive(i)) {
            fprintf(stderr, "member %d exited during start-up (log %s)\n", i, m->log);
            return -1;
        }
    }
    fprintf(stderr, "member %d did not answer hello\n", i);
    return -1;
}

static void kill_member(int i, int sig)
{
    int status;
    if (members[i].pid <= 0)
        return;
    kill(members[i].pid, sig);
    waitpid(members[i].pid, &status, 0);
    members[i].pid = 0;
}

/* state -- the member's own stateStr ("" when unreachable). */
static void state(int i, char *buf, size_t len)
{
    bson_t *cmd = BCON_NEW("replSetGetStatus", BCON_INT32(1)), reply = BSON_INITIALIZER;
    bson_iter_t it, ms;
    buf[0] = '\0';
    if (alive(i) && admin(i, cmd, &reply) && bson_iter_init_find(&it, &reply, "members") &&
        bson_iter_recurse(&it, &ms))
        while (bson_iter_next(&ms)) {
            bson_iter_t f, s;
            if (bson_iter_recurse(&ms, &f) && bson_iter_find(&f, "self") && bson_iter_as_bool(&f) &&
                bson_iter_recurse(&ms, &s) && bson_iter_find(&s, "stateStr"))
                snprintf(buf, len, "%s", bson_iter_utf8(&s, NULL));
        }
    bson_destroy(&reply);
    bson_destroy(cmd);
}

static int primary(void)
{
    char st[32];
    for (int i = 0; i < N_MEMBERS; i++) {
        state(i, st, sizeof(st));
        if (strcmp(st, "PRIMARY") == 0)
            return i;
    }
    return -1;
}

static bool wait_state(int i, const char *want, int timeout_s)
{
    char st[32];
    for (int64_t deadline = now_us() + (int64_t)timeout_s * 1000000; now_us() < deadline;
         usleep(100000)) {
        state(i, st, sizeof(st));
        if (strcmp(st, want) == 0)
            return true;
    }
    return false;
}

static int wait_primary(int timeout_s)
{
    for (int64_t deadline = now_us() + (int64_t)timeout_s * 1000000; now_us() < deadline;
         usleep(100000)) {
        int p = primary();
        if (p >= 0)
            return p;
    }
    return -1;
}

/* applied_ts -- the member's appliedOpTime.ts as a 64-bit (secs << 32 | inc), 0 on error. */
static uint64_t applied_ts(mongoc_client_t *c)
{
    bson_t *cmd = BCON_NEW("replSetGetStatus", BCON_INT32(1)), reply;
    bson_error_t err;
    bson_iter_t it;
    uint64_t ts = 0;
    if (mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, &err) &&
        bson_iter_init_find(&it, &reply, "optimes") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_t o, a;
        if (bson_iter_recurse(&it, &o) && bson_iter_find(&o, "appliedOpTime") &&
            bson_iter_recurse(&o, &a) && bson_iter_find(&a, "ts") &&
            BSON_ITER_HOLDS_TIMESTAMP(&a)) {
            uint32_t s, n;
            bson_iter_timestamp(&a, &s, &n);
            ts = ((uint64_t)s << 32) | n;
        }
    }
    bson_destroy(&reply);
    bson_destroy(cmd);
    return ts;
}

/* wait_caught_up -- until every secondary has applied what the primary has now (so that a
 * cell does not pay for the backlog the previous one left). */
static void wait_caught_up(void)
{
    int p = primary();
    if (p < 0)
        return;
    mongoc_client_t *pc = direct(p);
    uint64_t target = applied_ts(pc);
    mongoc_client_destroy(pc);
    for (int i = 0; i < N_MEMBERS; i++) {
        if (i == p)
            continue;
        mongoc_client_t *c = direct(i);
        for (int64_t deadline = now_us() + 120000000; now_us() < deadline; usleep(20000))
            if (applied_ts(c) >= target)
                break;
        mongoc_client_destroy(c);
    }
}

static int start_set(void)
{
    char buf[1024];
    size_t off = 0;
    snprintf(root, sizeof(root), "/tmp/mica-bench-rs-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    for (int i = 0; i < N_MEMBERS; i++) {
        member_t *m = &members[i];
        m->port = free_port();
        snprintf(m->dir, sizeof(m->dir), "%s/rs%d", root, i);
        snprintf(m->log, sizeof(m->log), "%s/rs%d.log", root, i);
        if (mkdir(m->dir, 0700) != 0 || spawn(i) != 0)
            return -1;
    }
    off += (size_t)snprintf(buf + off, sizeof(buf) - off,
                            "{\"replSetInitiate\": {\"_id\": \"rs0\", \"version\": 1, "
                            "\"settings\": {\"electionTimeoutMillis\": %d}, \"members\": [",
                            cfg.election_timeout_ms);
    for (int i = 0; i < N_MEMBERS; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off,
                                "%s{\"_id\": %d, \"host\": \"127.0.0.1:%d\"}", i ? ", " : "", i,
                                members[i].port);
    snprintf(buf + off, sizeof(buf) - off, "]}}");
    bson_error_t err;
    bson_t *cmd = bson_new_from_json((const uint8_t *)buf, -1, &err), reply;
    bool ok = cmd != NULL && admin(0, cmd, &reply);
    if (cmd != NULL) {
        if (!ok) {
            char *j = bson_as_relaxed_extended_json(&reply, NULL);
            fprintf(stderr, "replSetInitiate: %s\n", j);
            bson_free(j);
        }
        bson_destroy(&reply);
        bson_destroy(cmd);
    }
    if (!ok || wait_primary(120) < 0)
        return -1;
    for (int i = 0; i < N_MEMBERS; i++) {
        char st[32];
        for (int64_t deadline = now_us() + 120000000; now_us() < deadline; usleep(100000)) {
            state(i, st, sizeof(st));
            if (!strcmp(st, "PRIMARY") || !strcmp(st, "SECONDARY"))
                break;
        }
    }
    off = (size_t)snprintf(set_uri, sizeof(set_uri), "mongodb://");
    for (int i = 0; i < N_MEMBERS; i++)
        off += (size_t)snprintf(set_uri + off, sizeof(set_uri) - off, "%s127.0.0.1:%d",
                                i ? "," : "", members[i].port);
    snprintf(set_uri + off, sizeof(set_uri) - off, "/?replicaSet=rs0");
    return 0;
}

static void stop_set(void)
{
    char cmd[200];
    for (int i = 0; i < N_MEMBERS; i++)
        kill_member(i, SIGTERM);
    if (strncmp(root, "/tmp/mica-bench-rs-", 19) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", root);
    }
}

/* ---- 1. insert throughput ---------------------------------------------- */

typedef struct worker {
    pthread_t th;
    mongoc_client_pool_t *pool;
    bson_t *opts;
    int id;
    int64_t until_us;
    int64_t ops, errors;
    lat_t lat;
} worker_t;

static atomic_int_fast64_t next_id;

static void *insert_worker(void *arg)
{
    worker_t *w = arg;
    mongoc_client_t *c = mongoc_client_pool_pop(w->pool);
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "bench", "repl");
    char pad[101];
    memset(pad, 'x', 100);
    pad[100] = '\0';
    while (now_us() < w->until_us) {
        bson_t *doc = BCON_NEW("_id", BCON_INT64(atomic_fetch_add(&next_id, 1)), "t",
                               BCON_INT32(w->id), "pad", BCON_UTF8(pad));
        bson_error_t err;
        int64_t t0 = now_us();
        bool ok = mongoc_collection_insert_one(coll, doc, w->opts, NULL, &err);
        int64_t t1 = now_us();
        bson_destroy(doc);
        if (ok) {
            w->ops++;
            lat_add(&w->lat, t1 - t0);
        } else if (w->errors++ == 0) {
            fprintf(stderr, "insert: %s\n", err.message);
        }
    }
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(w->pool, c);
    return NULL;
}

typedef struct cell {
    double ops_s, p50_us, p99_us;
    int64_t errors;
} cell_t;

/* run_inserts -- n threads inserting at wc ("1" or "majority") for secs. */
static cell_t run_inserts(mongoc_client_pool_t *pool, const char *wc, int n, double secs)
{
    worker_t *ws = calloc((size_t)n, sizeof(*ws));
    bson_t *opts = strcmp(wc, "majority") == 0
                       ? BCON_NEW("writeConcern", "{", "w", "majority", "}")
                       : BCON_NEW("writeConcern", "{", "w", BCON_INT32(1), "}");
    lat_t all = {0};
    cell_t r = {0};
    int64_t t0 = now_us(), until = t0 + (int64_t)(secs * 1e6);
    for (int i = 0; i < n; i++) {
        ws[i] = (worker_t){.pool = pool, .opts = opts, .id = i, .until_us = until};
        pthread_create(&ws[i].th, NULL, insert_worker, &ws[i]);
    }
    int64_t ops = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(ws[i].th, NULL);
        ops += ws[i].ops;
        r.errors += ws[i].errors;
        lat_merge(&all, &ws[i].lat);
    }
    double elapsed = (double)(now_us() - t0) / 1e6;
    qsort(all.us, all.n, sizeof(*all.us), cmp_i64);
    r.ops_s = (double)ops / elapsed;
    r.p50_us = pct(&all, 0.50);
    r.p99_us = pct(&all, 0.99);
    free(all.us);
    bson_destroy(opts);
    free(ws);
    return r;
}

/* ---- 2. replication lag --------------------------------------------------- */

static void measure_lag(mongoc_client_pool_t *pool)
{
    int p = primary();
    if (p < 0) {
        printf("lag: no primary\n");
        return;
    }
    int n = 16;
    worker_t *ws = calloc((size_t)n, sizeof(*ws));
    bson_t *opts = BCON_NEW("writeConcern", "{", "w", BCON_INT32(1), "}");
    int64_t t0 = now_us(), until = t0 + (int64_t)(cfg.lag_seconds * 1e6);
    for (int i = 0; i < n; i++) {
        ws[i] = (worker_t){.pool = pool, .opts = opts, .id = i, .until_us = until};
        pthread_create(&ws[i].th, NULL, insert_worker, &ws[i]);
    }
    mongoc_client_t *pc = direct(p), *sc[N_MEMBERS] = {0};
    lat_t lag = {0};
    int64_t behind_max = 0;
    for (int i = 0; i < N_MEMBERS; i++)
        if (i != p)
            sc[i] = direct(i);
    usleep(500000); /* the load has started */
    while (now_us() < until - 500000) {
        uint64_t target = applied_ts(pc);
        int64_t ts0 = now_us();
        for (int i = 0; i < N_MEMBERS; i++) {
            if (sc[i] == NULL || target == 0)
                continue;
            while (applied_ts(sc[i]) < target && now_us() - ts0 < 30000000)
                usleep(1000);
            int64_t l = now_us() - ts0;
            lat_add(&lag, l);
            if (l > behind_max)
                behind_max = l;
        }
        usleep(200000);
    }
    int64_t ops = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(ws[i].th, NULL);
        ops += ws[i].ops;
        free(ws[i].lat.us);
    }
    qsort(lag.us, lag.n, sizeof(*lag.us), cmp_i64);
    printf("replication lag under %d threads of w:1 inserts (%.0f ops/s), %zu samples: "
           "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           n, (double)ops / ((double)(now_us() - t0) / 1e6), lag.n, pct(&lag, 0.5) / 1000,
           pct(&lag, 0.99) / 1000, (double)behind_max / 1000);
    free(lag.us);
    mongoc_client_destroy(pc);
    for (int i = 0; i < N_MEMBERS; i++)
        if (sc[i])
            mongoc_client_destroy(sc[i]);
    bson_destroy(opts);
    free(ws);
}

/* ---- 3. failover ------------------------------------------------------- */

static int resync(int i)
{
    char cmd[400];
    kill_member(i, SIGKILL);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", members[i].dir, members[i].dir);
    if (system(cmd) != 0)
        return -1;
    return spawn(i);
}

static void measure_failover(void)
{
    char uri[600];
    lat_t times = {0};
    snprintf(uri, sizeof(uri), "%s&serverSelectionTimeoutMS=60000&retryWrites=true", set_uri);
    mongoc_client_t *c = mongoc_client_new(uri);
    mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "bench", "failover");
    bson_t *maj = BCON_NEW("writeConcern", "{", "w", "majority", "}");
    bson_t *w1 = BCON_NEW("writeConcern", "{", "w", BCON_INT32(1), "}");
    int resynced = 0;
    for (int trial = 0; trial < cfg.trials; trial++) {
        int p = wait_primary(120);
        bson_error_t err;
        if (p < 0) {
            printf("failover trial %d: no primary\n", trial);
            break;
        }
        /* every member up and holding everything before the kill */
        bson_t *d = BCON_NEW("trial", BCON_INT32(trial), "when", "before");
        for (int64_t deadline = now_us() + 120000000; now_us() < deadline; usleep(100000))
            if (mongoc_collection_insert_one(coll, d, maj, NULL, &err))
                break;
        bson_destroy(d);
        int64_t t0 = now_us();
        kill_member(p, SIGKILL);
        d = BCON_NEW("trial", BCON_INT32(trial), "when", "after");
        int64_t t1 = 0;
        for (int64_t deadline = now_us() + 120000000; now_us() < deadline; usleep(10000))
            if (mongoc_collection_insert_one(coll, d, w1, NULL, &err)) {
                t1 = now_us();
                break;
            }
        bson_destroy(d);
        if (t1 == 0) {
            printf("failover trial %d: no write succeeded within 120 s\n", trial);
            break;
        }
        lat_add(&times, t1 - t0);
        printf("failover trial %d: %.0f ms\n", trial, (double)(t1 - t0) / 1000);
        fflush(stdout);
        /* the killed member back as a secondary (resynced when its log diverged) */
        if (spawn(p) != 0)
            break;
        if (!wait_state(p, "SECONDARY", 60)) {
            resynced++;
            if (resync(p) != 0 || !wait_state(p, "SECONDARY", 180)) {
                printf("member %d did not come back\n", p);
                break;
            }
        }
    }
    if (times.n > 0) {
        double sum = 0;
        for (size_t i = 0; i < times.n; i++)
            sum += (double)times.us[i];
        qsort(times.us, times.n, sizeof(*times.us), cmp_i64);
        double median =
            times.n % 2 ? (double)times.us[times.n / 2]
                        : ((double)times.us[times.n / 2 - 1] + (double)times.us[times.n / 2]) / 2;
        printf("failover (kill -9 primary -> first w:1 write acknowledged by the new primary), "
               "%zu trials: median %.0f ms, mean %.0f ms, min %.0f ms, max %.0f ms; "
               "target: median <= 2 x electionTimeoutMillis = %d ms: %s\n",
               times.n, median / 1000, sum / (double)times.n / 1000, (double)times.us[0] / 1000,
               (double)times.us[times.n - 1] / 1000, 2 * cfg.election_timeout_ms,
               median / 1000 <= 2.0 * cfg.election_timeout_ms ? "met" : "NOT met");
        if (resynced)
            printf("(%d killed members had diverged and were resynced: rollback is issue 12)\n",
                   resynced);
    }
    free(times.us);
    bson_destroy(maj);
    bson_destroy(w1);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* ---- main ----------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: bench_replication --micad PATH [--seconds S] [--threads 1,16,64] "
                    "[--trials N] [--lag-seconds S] [--election-timeout MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"micad", required_argument, NULL, 'm'},
        {"seconds", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"trials", required_argument, NULL, 'n'},
        {"lag-seconds", required_argument, NULL, 'l'},
        {"election-timeout", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (o) {
        case 'm':
            cfg.micad = optarg;
            break;
        case 's':
            cfg.seconds = atof(optarg);
            break;
        case 'n':
            cfg.trials = atoi(optarg);
            break;
        case 'l':
            cfg.lag_seconds = atof(optarg);
            break;
        case 'e':
            cfg.election_timeout_ms = atoi(optarg);
            break;
        case 't': {
            cfg.n_threads = 0;
            for (char *s = strtok(optarg, ","); s && cfg.n_threads < 8; s = strtok(NULL, ","))
                cfg.threads[cfg.n_threads++] = atoi(s);
            break;
        }
        default:
            usage();
        }
    }
    if (cfg.micad == NULL || cfg.seconds <= 0 || cfg.n_threads == 0)
        usage();
    for (int i = 0; i < cfg.n_threads; i++)
        if (cfg.threads[i] < 1 || cfg.threads[i] > MAX_THREADS)
            usage();
    signal(SIGPIPE, SIG_IGN);
    mongoc_init();
    mongoc_log_set_handler(NULL, NULL); /* failovers make libmongoc chatty */
    if (start_set() != 0) {
        fprintf(stderr, "could not start the set (logs under %s)\n", root);
        stop_set();
        return 1;
    }
    printf("three-member set of %s, electionTimeoutMillis %d; %s\n", cfg.micad,
           cfg.election_timeout_ms, set_uri);

    mongoc_uri_t *uri = mongoc_uri_new(set_uri);
    mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_max_size(pool, MAX_THREADS + 4);

    cell_t cells[2][8];
    const char *wcs[2] = {"1", "majority"};
    printf("\n%-10s %8s %12s %10s %10s %8s\n", "w", "threads", "ops/s", "p50 ms", "p99 ms",
           "errors");
    for (int k = 0; k < cfg.n_threads; k++)
        for (int w = 0; w < 2; w++) {
            wait_caught_up();
            cells[w][k] = run_inserts(pool, wcs[w], cfg.threads[k], cfg.seconds);
            printf("%-10s %8d %12.0f %10.2f %10.2f %8" PRId64 "\n", wcs[w], cfg.threads[k],
                   cells[w][k].ops_s, cells[w][k].p50_us / 1000, cells[w][k].p99_us / 1000,
                   cells[w][k].errors);
            fflush(stdout);
        }
    for (int k = 0; k < cfg.n_threads; k++)
        if (cfg.threads[k] == 16) {
            double ratio = cells[0][k].ops_s > 0 ? cells[1][k].ops_s / cells[0][k].ops_s : 0;
            printf("w:majority / w:1 at 16 threads: %.0f%%; target >= 50%%: %s\n", ratio * 100,
                   ratio >= 0.5 ? "met" : "NOT met");
        }
    printf("\n");
    wait_caught_up();
    measure_lag(pool);
    mongoc_client_pool_destroy(pool);
    mongoc_uri_destroy(uri);
    printf("\n");
    measure_failover();
    stop_set();
    mongoc_cleanup();
    return 0;
}
