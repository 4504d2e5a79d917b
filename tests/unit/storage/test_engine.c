/*
 * test_engine.c -- the engine's life cycle: dbpath checks, the lock file
 * (same process and another process), clean-shutdown detection, the session
 * cache, checkpoints and global timestamps.
 */
#include "storage_test.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void test_open_missing_dbpath_is_nonexistentpath(void **state)
{
    stor_engine_t *eng = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(stor_engine_open("/tmp/mica-stor-does-not-exist-xyz", NULL, &eng, &st),
                     ERR_NonExistentPath);
    assert_null(eng);
    assert_non_null(strstr(st.msg, "Data directory /tmp/mica-stor-does-not-exist-xyz not found"));
}

static void test_second_open_same_process_is_dbpathinuse(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_STANDALONE);
    stor_engine_t *eng2 = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(stor_engine_open(dir, NULL, &eng2, &st), ERR_DBPathInUse);
    assert_non_null(strstr(st.msg, "Unable to lock the lock file"));
    assert_non_null(strstr(st.msg, "Another mongod instance is already running on the"));
    st_close(eng);
    st_rmdir(dir);
}

static void test_second_open_other_process_is_dbpathinuse(void **state)
{
    char *dir = st_tmpdir();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* child: hold the dbpath open until killed */
        stor_engine_t *eng = NULL;
        status_t st = STATUS_INIT;
        char c = stor_engine_open(dir, NULL, &eng, &st) == 0 ? 'y' : 'n';
        if (write(fds[1], &c, 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(fds[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    stor_engine_t *eng = NULL;
    status_t st = STATUS_INIT;
    assert_int_equal(stor_engine_open(dir, NULL, &eng, &st), ERR_DBPathInUse);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* the lock dies with the process; the killed child left an unclean shutdown */
    eng = st_open(dir, STOR_MODE_STANDALONE);
    assert_false(stor_engine_was_clean(eng));
    st_close(eng);
    close(fds[0]);
    close(fds[1]);
    st_rmdir(dir);
}

static void test_clean_close_empties_lock_file_and_reopen_is_clean(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_STANDALONE);
    assert_true(stor_engine_was_clean(eng)); /* fresh dbpath */
    char path[512];
    snprintf(path, sizeof(path), "%s/mongod.lock", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > 0); /* pid while open */
    st_close(eng);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    eng = st_open(dir, STOR_MODE_STANDALONE);
    assert_true(stor_engine_was_clean(eng));
    st_close(eng);
    st_rmdir(dir);
}

static void test_sessions_are_cached_and_reused(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_STANDALONE);
    status_t st = STATUS_INIT;
    stor_session_t *a, *b, *c;
    st_ok(stor_session_open(eng, &a, &st), &st);
    st_ok(stor_session_open(eng, &b, &st), &st);
    assert_ptr_not_equal(a, b);
    stor_session_close(a);
    st_ok(stor_session_open(eng, &c, &st), &st);
    assert_ptr_equal(a, c);
    stor_session_close(b);
    stor_session_close(c);
    stor_session_close(NULL);
    st_close(eng);
    st_rmdir(dir);
}

static void test_close_with_open_session_is_refused(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_STANDALONE);
    status_t st = STATUS_INIT;
    stor_session_t *s;
    st_ok(stor_session_open(eng, &s, &st), &st);
    assert_int_equal(stor_engine_close(eng, &st), ERR_IllegalOperation);
    stor_session_close(s);
    st_close(eng);
    st_rmdir(dir);
}

static void test_checkpoint_on_demand_succeeds(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_STANDALONE);
    status_t st = STATUS_INIT;
    st_ok(stor_engine_checkpoint(eng, &st), &st);
    st_close(eng);
    st_rmdir(dir);
}

static void test_timestamps_round_trip_and_reject_zero(void **state)
{
    char *dir = st_tmpdir();
    stor_engine_t *eng = st_open(dir, STOR_MODE_REPLICATED);
    status_t st = STATUS_INIT;
    uint64_t ts = 99;
    st_ok(stor_engine_get_ts(eng, "stable", &ts, &st), &st);
    assert_int_equal(ts, 0);
    uint64_t stable = (5ULL << 32) | 1, oldest = (4ULL << 32) | 7;
    st_ok(stor_engine_set_stable_ts(eng, stable, &st), &st);
    st_ok(stor_engine_set_oldest_ts(eng, oldest, &st), &st);
    st_ok(stor_engine_get_ts(eng, "stable", &ts, &st), &st);
    assert_int_equal(ts, stable);
    st_ok(stor_engine_get_ts(eng, "oldest", &ts, &st), &st);
    assert_int_equal(ts, oldest);
    assert_int_equal(stor_engine_set_stable_ts(eng, 0, &st), ERR_BadValue);
    assert_int_equal(stor_engine_get_ts(eng, "bogus", &ts, &st), ERR_BadValue);
    assert_int_equal(stor_engine_mode(eng), STOR_MODE_REPLICATED);
    st_close(eng);
    st_rmdir(dir);
}

static void test_close_null_is_noop(void **state)
{
    status_t st = STATUS_INIT;
    assert_int_equal(stor_engine_close(NULL, &st), 0);
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
