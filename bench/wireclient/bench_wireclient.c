/*
 * bench_wireclient.c -- calls/s of wire/'s intra-cluster client against a
 * micad's `ping`, at 1 and 16 calling threads, beside libmongoc (a client pool,
 * one client per thread) doing the same in the same run. Each variant runs for
 * a fixed time, alternated REPEATS times; the best run of each is printed with
 * the ratio. Never asserts on time. Usage: bench_wireclient PORT [seconds]
 * (bench/wireclient/run.sh starts the release micad).
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "wire/wire.h"

#define REPEATS     3
#define MAX_THREADS 16

typedef struct run {
    int port;
    int64_t end_us;
    wire_client_pool_t *wc;
    mongoc_client_pool_t *mc;
    int64_t calls[MAX_THREADS];
    int64_t errors[MAX_THREADS];
    int index;
} run_t;

typedef struct arg {
    run_t *r;
    int i;
} arg_t;

static void *wire_thread(void *p)
{
    arg_t *a = p;
    char host[64];
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    snprintf(host, sizeof(host), "127.0.0.1:%d", a->r->port);
    while (time_mono_us() < a->r->end_us) {
        bson_t reply;
        status_t st = STATUS_INIT;
        if (wire_client_run(a->r->wc, host, "admin", ping, time_mono_us() + 10000000, &reply,
                            &st) == 0)
            a->r->calls[a->i]++;
        else
            a->r->errors[a->i]++;
        bson_destroy(&reply);
    }
    bson_destroy(ping);
    return NULL;
}

static void *mongoc_thread(void *p)
{
    arg_t *a = p;
    mongoc_client_t *c = mongoc_client_pool_pop(a->r->mc);
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    while (time_mono_us() < a->r->end_us) {
        bson_t reply;
        bson_error_t err;
        if (mongoc_client_command_simple(c, "admin", ping, NULL, &reply, &err))
            a->r->calls[a->i]++;
        else
            a->r->errors[a->i]++;
        bson_destroy(&reply);
    }
    bson_destroy(ping);
    mongoc_client_pool_push(a->r->mc, c);
    return NULL;
}

/* measure -- calls/s with n threads running fn for secs seconds. */
static double measure(run_t *r, int n, void *(*fn)(void *), double secs, int64_t *errors)
{
    pthread_t th[MAX_THREADS];
    arg_t args[MAX_THREADS];
    int64_t t0 = time_mono_us(), total = 0;
    r->end_us = t0 + (int64_t)(secs * 1e6);
    for (int i = 0; i < n; i++) {
        r->calls[i] = r->errors[i] = 0;
        args[i] = (arg_t){r, i};
        pthread_create(&th[i], NULL, fn, &args[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += r->calls[i];
        *errors += r->errors[i];
    }
    return (double)total / ((double)(time_mono_us() - t0) / 1e6);
}

int main(int argc, char **argv)
{
    run_t r = {0};
    status_t st = STATUS_INIT;
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    static const int threads[] = {1, 16};
    char uri_s[128];

    if (argc < 2) {
        fprintf(stderr, "usage: bench_wireclient PORT [seconds]\n");
        return 2;
    }
    r.port = atoi(argv[1]);
    log_set_verbosity(-1);
    wire_client_opts_t o = {.max_per_host = MAX_THREADS, .app_name = "bench_wireclient"};
    if (wire_client_pool_create(&o, &r.wc, &st) != 0) {
        fprintf(stderr, "pool: %s\n", st.msg);
        return 1;
    }
    mongoc_init();
    snprintf(uri_s, sizeof(uri_s), "mongodb://127.0.0.1:%d/?maxPoolSize=%d", r.port, MAX_THREADS);
    mongoc_uri_t *uri = mongoc_uri_new(uri_s);
    r.mc = mongoc_client_pool_new(uri);

    printf("ping calls/s against micad (best of %d runs of %.1f s; 2-core machine shared with "
           "other work)\n",
           REPEATS, secs);
    printf("%8s %14s %14s %8s\n", "threads", "wire client", "libmongoc", "ratio");
    for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
        double best_w = 0, best_m = 0;
        int64_t errors = 0;
        for (int k = 0; k < REPEATS; k++) {
            double w = measure(&r, threads[t], wire_thread, secs, &errors);
            double m = measure(&r, threads[t], mongoc_thread, secs, &errors);
            best_w = w > best_w ? w : best_w;
            best_m = m > best_m ? m : best_m;
        }
        printf("%8d %14.0f %14.0f %7.2fx%s\n", threads[t], best_w, best_m,
               best_m > 0 ? best_w / best_m : 0.0, errors ? "  (errors!)" : "");
    }
    wire_client_stats_t s;
    wire_client_pool_stats(r.wc, &s);
    printf("wire client: %lld connections created, %lld calls, %lld failed\n",
           (long long)s.conns_created, (long long)s.calls, (long long)s.calls_failed);
    mongoc_client_pool_destroy(r.mc);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    wire_client_pool_destroy(r.wc);
    return 0;
}
