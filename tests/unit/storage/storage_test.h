/*
 * storage_test.h -- helpers shared by the storage unit tests: temporary
 * dbpaths under /tmp (removed afterwards) and engine open/close shortcuts.
 * Header-only so each test_*.c stays its own executable.
 */
#ifndef MICA_STORAGE_TEST_H
#define MICA_STORAGE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/storage.h"

static int st__rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* st_tmpdir -- a fresh directory under /tmp. */
static inline char *st_tmpdir(void)
{
    char tmpl[] = "/tmp/mica-stor-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

/* st_rmdir -- remove a test directory tree and free its name. */
static inline void st_rmdir(char *dir)
{
    if (dir == NULL)
        return;
    nftw(dir, st__rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* st_open -- open an engine on dir in mode, failing the test on error. */
static inline stor_engine_t *st_open(const char *dir, stor_mode_t mode)
{
    stor_options_t o;
    stor_options_init(&o);
    o.mode = mode;
    o.cache_size_mb = 64;
    stor_engine_t *eng = NULL;
    status_t st = STATUS_INIT;
    int ret = stor_engine_open(dir, &o, &eng, &st);
    if (ret != 0)
        fail_msg("open %s: %d %s", dir, ret, st.msg);
    return eng;
}

/* st_close -- close, failing the test on error. */
static inline void st_close(stor_engine_t *eng)
{
    status_t st = STATUS_INIT;
    int ret = stor_engine_close(eng, &st);
    if (ret != 0)
        fail_msg("close: %d %s", ret, st.msg);
}

/* st_ok -- assert a call succeeded, printing its status otherwise. */
#define st_ok(call, st)                                                                            \
    do {                                                                                           \
        int __r = (call);                                                                          \
        if (__r != 0)                                                                              \
            fail_msg("%s -> %d %s", #call, __r, (st)->msg);                                        \
    } while (0)

/* st_doc -- {_id: id, v: v, pad: n bytes}. Caller destroys. */
static inline bson_t *st_doc(int id, int v)
{
    bson_t *d = bson_new();
    BSON_APPEND_INT32(d, "_id", id);
    BSON_APPEND_INT32(d, "v", v);
    return d;
}

#endif /* MICA_STORAGE_TEST_H */
