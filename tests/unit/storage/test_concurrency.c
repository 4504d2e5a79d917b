/*
 * test_concurrency.c -- several threads, each with its own session from the
 * cache: racing inserts of the same unique keys end with each key exactly
 * once (DuplicateKey or WriteConflict-and-retry for the losers), and
 * read-modify-write increments retried on WriteConflict lose no update.
 */
#include "storage_test.h"

#include <pthread.h>

enum { THREADS = 4, KEYS = 200, INCREMENTS = 100 };

typedef struct shared {
    stor_engine_t *eng;
    stor_collection_t *coll;
    int64_t counter_rid;
    int failures;
    int conflicts;
    pthread_mutex_t lock;
} shared_t;

static void note(shared_t *sh, bool failure, bool conflict)
{
    pthread_mutex_lock(&sh->lock);
    sh->failures += failure;
    sh->conflicts += conflict;
    pthread_mutex_unlock(&sh->lock);
}

static void *racing_inserts(void *p)
{
    shared_t *sh = p;
    status_t st = STATUS_INIT;
    stor_session_t *s;
    if (stor_session_open(sh->eng, &s, &st) != 0) {
        note(sh, true, false);
        return NULL;
    }
    for (int i = 0; i < KEYS; i++) {
        bson_t *d = BCON_NEW("_id", BCON_INT32(i));
        for (;;) {
            int64_t rid;
            int ret = stor_record_insert(s, sh->coll, d, &rid, &st);
            if (ret == ERR_WriteConflict) {
                note(sh, false, true);
                continue;
            }
            if (ret != 0 && ret != ERR_DuplicateKey)
                note(sh, true, false);
            break;
        }
        bson_destroy(d);
    }
    stor_session_close(s);
    return NULL;
}

static void *increments(void *p)
{
    shared_t *sh = p;
    status_t st = STATUS_INIT;
    stor_session_t *s;
    if (stor_session_open(sh->eng, &s, &st) != 0) {
        note(sh, true, false);
        return NULL;
    }
    for (int i = 0; i < INCREMENTS; i++) {
        for (;;) {
            stor_uow_t *uow;
            bson_t cur;
            bool found;
            int ret = stor_uow_begin(s, 0, &uow, &st);
            if (ret != 0) {
                note(sh, true, false);
                break;
            }
            ret = stor_record_get(s, sh->coll, sh->counter_rid, &cur, &found, &st);
            bson_iter_t it;
            int n = ret == 0 && found && bson_iter_init_find(&it, &cur, "n") ? bson_iter_int32(&it)
                                                                             : -1;
            bson_destroy(&cur);
            bson_t *d = BCON_NEW("_id", BCON_UTF8("counter"), "n", BCON_INT32(n + 1));
            if (ret == 0)
                ret = stor_record_update(s, sh->coll, sh->counter_rid, d, &st);
            bson_destroy(d);
            if (ret == 0)
                ret = stor_uow_commit(uow, 0, &st);
            else
                stor_uow_abort(uow);
            if (ret == ERR_WriteConflict) {
                note(sh, false, true);
                continue;
            }
            if (ret != 0 || n < 0)
                note(sh, true, false);
            break;
        }
    }
    stor_session_close(s);
    return NULL;
}

static void run(shared_t *sh, void *(*fn)(void *))
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, fn, sh);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
}

static void test_racing_unique_inserts_keep_each_key_once(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_STANDALONE);
    status_t st = STATUS_INIT;
    stor_session_t *s;
    shared_t sh = {.eng = eng};
    pthread_mutex_init(&sh.lock, NULL);
    st_ok(stor_session_open(eng, &s, &st), &st);
    st_ok(stor_collection_create(s, "db.race", NULL, &sh.coll, &st), &st);
    run(&sh, racing_inserts);
    assert_int_equal(sh.failures, 0);
    assert_int_equal(stor_collection_count(sh.coll), KEYS);
    stor_index_t *idx;
    st_ok(stor_index_lookup(sh.coll, "_id_", &idx, &st), &st);
    stor_index_cursor_t *cur;
    st_ok(stor_index_cursor_open(s, idx, NULL, &cur, &st), &st);
    int n = 0;
    for (;;) {
        int64_t rid;
        bson_t key;
        bool eof;
        st_ok(stor_index_cursor_next(cur, &rid, &key, &eof, &st), &st);
        if (!eof) {
            bson_iter_t it;
            assert_true(bson_iter_init(&it, &key) && bson_iter_next(&it));
            assert_int_equal(bson_iter_int32(&it), n);
            n++;
        }
        bson_destroy(&key);
        if (eof)
            break;
    }
    stor_index_cursor_close(cur);
    assert_int_equal(n, KEYS);
    stor_session_close(s);
    st_close(eng);
    pthread_mutex_destroy(&sh.lock);
    st_rmdir(dir);
}

static void test_retried_increments_lose_no_update(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_STANDALONE);
    status_t st = STATUS_INIT;
    stor_session_t *s;
    shared_t sh = {.eng = eng};
    pthread_mutex_init(&sh.lock, NULL);
    st_ok(stor_session_open(eng, &s, &st), &st);
    st_ok(stor_collection_create(s, "db.counter", NULL, &sh.coll, &st), &st);
    bson_t *d = BCON_NEW("_id", BCON_UTF8("counter"), "n", BCON_INT32(0));
    st_ok(stor_record_insert(s, sh.coll, d, &sh.counter_rid, &st), &st);
    bson_destroy(d);
    run(&sh, increments);
    assert_int_equal(sh.failures, 0);
    bson_t out;
    bool found;
    st_ok(stor_record_get(s, sh.coll, sh.counter_rid, &out, &found, &st), &st);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &out, "n"));
    assert_int_equal(bson_iter_int32(&it), THREADS * INCREMENTS);
    bson_destroy(&out);
    bson_t stats;
    stor_engine_stats(eng, &stats);
    assert_true(bson_iter_init_find(&it, &stats, "commits"));
    assert_true(bson_iter_int64(&it) >= THREADS * INCREMENTS);
    bson_destroy(&stats);
    stor_session_close(s);
    st_close(eng);
    pthread_mutex_destroy(&sh.lock);
    st_rmdir(dir);
}

int main(void)
{
    log_set_verbosity(-1);
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
