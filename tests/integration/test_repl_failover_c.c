/*
 * test_repl_failover_c.c -- libmongoc follows a kill -9 failover: a client on the
 * three-member set's connection string inserts unique _ids at w: "majority" from a
 * writer thread (retrying, with the same _id, what fails with an error drivers retry
 * on); the primary is killed mid-load; another member is elected; the writer carries on
 * through the same client; every acknowledged insert is then on both survivors, and the
 * killed member comes back (as a secondary that catches up, or stopped as diverged when
 * it held entries nobody fetched -- rollback is issue 12).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness_repl.h"

#define MAX_ACKED 200000

static itest_rs_t rs;

static struct {
    mongoc_client_pool_t *pool;
    atomic_bool stop;
    atomic_int n_acked;
    int acked[MAX_ACKED]; /* the acknowledged _ids, in order */
    atomic_int retried;
    char failure[512];
} w;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* retryable -- the errors after which a driver retries a write (and so does the writer). */
static bool retryable(const bson_error_t *e)
{
    switch (e->code) {
    case 6:
    case 7:
    case 89:
    case 91:
    case 189:
    case 262:
    case 9001:
    case 10107:
    case 11600:
    case 11602:
    case 13435:
    case 13436:
    case 64: /* WriteConcernFailed: wtimeout (60 s) ran out while the set was electing */
        return true;
    default:
        return e->domain == MONGOC_ERROR_STREAM || e->domain == MONGOC_ERROR_SERVER_SELECTION ||
               strstr(e->message, "RetryableWriteError") != NULL;
    }
}

static void *writer(void *arg)
{
    (void)arg;
    mongoc_client_t *c = mongoc_client_pool_pop(w.pool);
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "test", "fo");
    bson_t *opts =
        BCON_NEW("writeConcern", "{", "w", "majority", "wtimeout", BCON_INT32(60000), "}");
    for (int id = 0; !atomic_load(&w.stop) && id < MAX_ACKED; id++) {
        for (int tries = 1;; tries++) {
            bson_t *doc = BCON_NEW("_id", BCON_INT32(id));
            bson_error_t err;
            bson_t reply;
            bool ok = mongoc_collection_insert_one(coll, doc, opts, &reply, &err);
            bson_destroy(&reply);
            bson_destroy(doc);
            if (ok) {
                w.acked[atomic_load(&w.n_acked)] = id;
                atomic_fetch_add(&w.n_acked, 1);
                break;
            }
            if (err.code == 11000)
                break; /* an earlier try landed (the driver's own retry is not deduplicated) */
            if (!retryable(&err) || tries > 2000) {
                snprintf(w.failure, sizeof(w.failure), "insert %d: %u/%u %s", id, err.domain,
                         err.code, err.message);
                goto out;
            }
            atomic_fetch_add(&w.retried, 1);
            usleep(50 * 1000);
        }
    }
out:
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(w.pool, c);
    return NULL;
}

/* wait_acked -- until k more inserts are acknowledged (or the writer failed). */
static void wait_acked(int k)
{
    int base = atomic_load(&w.n_acked);
    for (int64_t deadline = mono_ms() + 180000; mono_ms() < deadline;) {
        if (atomic_load(&w.n_acked) >= base + k || w.failure[0])
            break;
        usleep(50 * 1000);
    }
    if (w.failure[0])
        fail_msg("the writer failed: %s", w.failure);
    if (atomic_load(&w.n_acked) < base + k)
        fail_msg("only %d of %d more inserts acknowledged in 180 s", atomic_load(&w.n_acked) - base,
                 k);
}

/* has_all_on -- how many acknowledged _ids member i lacks (read secondaryPreferred). */
static int64_t has_all_on(int i)
{
    mongoc_client_t *c = itest_rs_direct(&rs, i);
    mongoc_read_prefs_t *rp = mongoc_read_prefs_new(MONGOC_READ_SECONDARY_PREFERRED);
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "test", "fo");
    int n = atomic_load(&w.n_acked), missing = 0;
    for (int k = 0; k < n; k++) {
        bson_t *q = BCON_NEW("_id", BCON_INT32(w.acked[k]));
        bson_error_t err;
        int64_t got = mongoc_collection_count_documents(coll, q, NULL, rp, NULL, &err);
        if (got != 1)
            missing++;
        bson_destroy(q);
    }
    mongoc_collection_destroy(coll);
    mongoc_read_prefs_destroy(rp);
    mongoc_client_destroy(c);
    return missing;
}

static void wait_all_on(int i)
{
    int64_t missing = -1;
    for (int64_t deadline = mono_ms() + 180000; mono_ms() < deadline;) {
        missing = has_all_on(i);
        if (missing == 0)
            return;
        usleep(500 * 1000);
    }
    fail_msg("member %d lacks %lld acknowledged inserts", i, (long long)missing);
}

static void test_libmongoc_follows_a_kill(void **state)
{
    (void)state;
    pthread_t th;
    mongoc_uri_t *uri;
    char u[600];
    char st[32] = "";

    snprintf(u, sizeof(u), "%s&serverSelectionTimeoutMS=60000&retryWrites=true", rs.uri);
    uri = mongoc_uri_new(u);
    assert_non_null(uri);
    w.pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_set_error_api(w.pool, MONGOC_ERROR_API_VERSION_2);
    assert_int_equal(pthread_create(&th, NULL, writer, NULL), 0);

    int p = itest_rs_wait_primary(&rs, -1, 120);
    assert_true(p >= 0);
    wait_acked(30);
    itest_rs_kill(&rs, p);
    int q = itest_rs_wait_primary(&rs, p, 120);
    assert_true(q >= 0 && q != p);
    wait_acked(30);
    atomic_store(&w.stop, true);
    pthread_join(th, NULL);
    if (w.failure[0])
        fail_msg("the writer failed: %s", w.failure);
    printf("acknowledged %d inserts, %d retried by the test\n", atomic_load(&w.n_acked),
           atomic_load(&w.retried));
    for (int i = 0; i < rs.n; i++)
        if (i != p)
            wait_all_on(i);

    /* the killed member comes back: a secondary that catches up, or diverged */
    /* a restarted member says SECONDARY before its fetcher has met the sync source (and may
     * find its log diverged then): wait for RECOVERING, or SECONDARY with every write */
    assert_int_equal(itest_rs_restart(&rs, p), 0);
    bool caught_up = false;
    for (int64_t deadline = mono_ms() + 180000; mono_ms() < deadline; usleep(200 * 1000)) {
        if (!itest_rs_state(&rs, p, st, sizeof(st)))
            continue;
        if (!strcmp(st, "RECOVERING"))
            break;
        if (!strcmp(st, "SECONDARY") && has_all_on(p) == 0) {
            caught_up = true;
            break;
        }
    }
    if (!caught_up)
        printf("the killed member diverged (state %s): it needs rollback (issue 12)\n", st);
    assert_true(caught_up || !strcmp(st, "RECOVERING"));
    mongoc_client_pool_destroy(w.pool);
    mongoc_uri_destroy(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    int failed;

    mongoc_init();
    if (itest_rs_start(&rs, 3, "rs0",
                       "{\"electionTimeoutMillis\": 1500, \"heartbeatIntervalMillis\": 300}") != 0)
        return 1;
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < rs.n; i++)
        if (rs.m[i].pid > 0 && !itest_server_alive(&rs.m[i])) {
            fprintf(stderr, "member %d died during the tests\n", i);
            failed++;
        }
    itest_rs_stop(&rs, failed > 0);
    mongoc_cleanup();
    return failed ? 1 : 0;
}
