/*
 * test_engine_config.c -- the storage cache default (mongod's rule: 50 % of
 * (memory - 1 GB), at least 256 MB) and the compressor names this WiredTiger
 * accepts; an engine opened with snappy everywhere reads back what it wrote.
 */
#include "storage_test.h"

#define MB (1024ull * 1024)
#define GB (1024ull * MB)

static void test_cache_default_follows_mongod_rule(void **state)
{
    static const struct {
        uint64_t mem, want_mb;
    } cases[] = {
        {0, 256},      {512 * MB, 256}, {GB, 256},       {GB + 512 * MB, 256},
        {2 * GB, 512}, {4 * GB, 1536},  {16 * GB, 7680}, {64 * GB, 32256},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(stor_cache_default_mb(cases[i].mem), cases[i].want_mb);
}

static void test_memory_is_known(void **state)
{
    assert_true(stor_memory_bytes() > 0);
}

static void test_compressor_names(void **state)
{
    status_t st = STATUS_INIT;
    assert_int_equal(stor_compressor_check(NULL, &st), 0);
    assert_int_equal(stor_compressor_check("none", &st), 0);
    assert_int_equal(stor_compressor_check("snappy", &st), 0);
    assert_int_equal(stor_compressor_check("zlib", &st), 0);
    assert_int_equal(stor_compressor_check("zstd", &st), ERR_BadValue);
    assert_non_null(strstr(st.msg, "zstd"));
    assert_int_equal(stor_compressor_check("lz4", &st), ERR_BadValue);
}

static void test_compressed_engine_round_trips(void **state)
{
    static const char *const comp[] = {"snappy", "zlib", "none"};
    for (size_t c = 0; c < sizeof(comp) / sizeof(comp[0]); c++) {
        char *dir = st_tmpdir();
        stor_options_t o;
        stor_engine_t *eng;
        stor_session_t *s;
        stor_collection_t *coll;
        status_t st = STATUS_INIT;
        stor_options_init(&o);
        o.journal_compressor = comp[c];
        o.block_compressor = comp[c];
        st_ok(stor_engine_open(dir, &o, &eng, &st), &st);
        st_ok(stor_session_open(eng, &s, &st), &st);
        st_ok(stor_collection_create(s, "db.c", NULL, &coll, &st), &st);
        stor_session_close(s);
        st_ok(stor_engine_close(eng, &st), &st);
        st_ok(stor_engine_open(dir, &o, &eng, &st), &st);
        st_ok(stor_session_open(eng, &s, &st), &st);
        st_ok(stor_collection_lookup(eng, "db.c", &coll, &st), &st);
        stor_session_close(s);
        st_ok(stor_engine_close(eng, &st), &st);
        st_rmdir(dir);
    }
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
