/*
 * test_failpoint.c -- the failpoint registry (common/failpoint.c): each mode's
 * firing pattern, entry counts, the ns filter, data copies, configure errors,
 * pausing (released by configure from another thread, or by a deadline),
 * waiting for entries, and fp_release_all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

static void configure(fp_id_t id, const char *json)
{
    bson_error_t err;
    bson_t *cmd = bson_new_from_json((const uint8_t *)json, -1, &err);
    status_t st = STATUS_INIT;
    int64_t count;
    assert_non_null(cmd);
    if (fp_configure(id, cmd, &count, &st) != 0)
        fail_msg("configure %s: %s", json, st.msg);
    bson_destroy(cmd);
}

static void test_modes_fire_as_mongodb_says(void **state)
{
    static const struct {
        const char *mode;
        const char *pattern; /* '1' fires, '0' not, for 6 evaluations */
    } cases[] = {
        {"{\"mode\": \"off\"}", "000000"},
        {"{\"mode\": \"alwaysOn\"}", "111111"},
        {"{\"mode\": {\"times\": 2}}", "110000"},
        {"{\"mode\": {\"times\": 0}}", "000000"},
        {"{\"mode\": {\"skip\": 2}}", "001111"},
        {"{\"mode\": {\"activationProbability\": 0}}", "000000"},
        {"{\"mode\": {\"activationProbability\": 1}}", "111111"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[7] = {0};
        configure(FP_dummy, cases[i].mode);
        for (int j = 0; j < 6; j++)
            got[j] = FP_FIRE(dummy, NULL, NULL) ? '1' : '0';
        if (strcmp(got, cases[i].pattern) != 0)
            fail_msg("%s: fired %s, want %s", cases[i].mode, got, cases[i].pattern);
    }
    configure(FP_dummy, "{\"mode\": \"off\"}");
    assert_false(fp_maybe(FP_dummy));
}

static void test_count_is_entries_before_the_change(void **state)
{
    bson_t *off = BCON_NEW("mode", BCON_UTF8("off"));
    status_t st = STATUS_INIT;
    int64_t before, after;
    configure(FP_dummy, "{\"mode\": \"off\"}");
    assert_int_equal(fp_configure(FP_dummy, off, &before, &st), 0);
    configure(FP_dummy, "{\"mode\": {\"times\": 3}}");
    for (int i = 0; i < 5; i++)
        (void)FP_FIRE(dummy, NULL, NULL);
    assert_int_equal(fp_configure(FP_dummy, off, &after, &st), 0);
    assert_int_equal(after - before, 3);
    bson_destroy(off);
}

static void test_ns_filter_and_data(void **state)
{
    bson_t data;
    bson_iter_t it;
    configure(FP_dummy, "{\"mode\": {\"times\": 1}, \"data\": {\"ns\": \"a.b\", \"x\": 7}}");
    assert_false(FP_FIRE(dummy, "a.c", &data)); /* other ns: no fire, times kept */
    assert_true(FP_FIRE(dummy, "a.b", &data));
    assert_true(bson_iter_init_find(&it, &data, "x"));
    assert_int_equal(bson_iter_int32(&it), 7);
    bson_destroy(&data);
    assert_false(fp_maybe(FP_dummy)); /* times used up */
}

static void test_configure_errors(void **state)
{
    static const struct {
        const char *json;
        int code;
    } cases[] = {
        {"{}", ERR_IllegalOperation},
        {"{\"mode\": \"sometimes\"}", ERR_BadValue},
        {"{\"mode\": 1}", ERR_TypeMismatch},
        {"{\"mode\": {}}", ERR_BadValue},
        {"{\"mode\": {\"times\": -1}}", ERR_BadValue},
        {"{\"mode\": {\"times\": 1.5}}", ERR_BadValue},
        {"{\"mode\": {\"times\": \"1\"}}", ERR_TypeMismatch},
        {"{\"mode\": {\"skip\": 3000000000}}", ERR_BadValue},
        {"{\"mode\": {\"activationProbability\": 1.5}}", ERR_BadValue},
        {"{\"mode\": {\"activationProbability\": \"x\"}}", ERR_TypeMismatch},
        {"{\"mode\": \"alwaysOn\", \"data\": 1}", ERR_TypeMismatch},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bson_error_t err;
        bson_t *cmd = bson_new_from_json((const uint8_t *)cases[i].json, -1, &err);
        status_t st = STATUS_INIT;
        int64_t count;
        assert_non_null(cmd);
        if (fp_configure(FP_dummy, cmd, &count, &st) != cases[i].code)
            fail_msg("%s: got %d (%s), want %d", cases[i].json, st.code, st.msg, cases[i].code);
        bson_destroy(cmd);
    }
    assert_int_equal(fp_lookup("dummy"), FP_dummy);
    assert_int_equal(fp_lookup("noSuchFailPoint"), -1);
    assert_string_equal(fp_name(FP_hangBeforeCatalogCommit), "hangBeforeCatalogCommit");
}

static void *pauser(void *arg)
{
    status_t st = STATUS_INIT;
    *(int *)arg = fp_pause(FP_dummy, NULL, 0, &st);
    return NULL;
}

static void test_pause_until_turned_off(void **state)
{
    pthread_t t;
    int rc = -1;
    status_t st = STATUS_INIT;
    bson_t info = BSON_INITIALIZER;
    bson_iter_t it;
    int64_t base;

    configure(FP_dummy, "{\"mode\": \"off\"}");
    fp_append_info(FP_dummy, &info);
    assert_true(bson_iter_init_find(&it, &info, "timesEntered"));
    base = bson_iter_as_int64(&it);
    bson_destroy(&info);

    configure(FP_dummy, "{\"mode\": \"alwaysOn\"}");
    pthread_create(&t, NULL, pauser, &rc);
    assert_int_equal(fp_wait_entered(FP_dummy, base + 1, 0, &st), 0);
    /* still paused; a second wait for one more entry times out */
    assert_int_equal(fp_wait_entered(FP_dummy, base + 2, time_mono_us() + 50000, &st),
                     ERR_MaxTimeMSExpired);
    configure(FP_dummy, "{\"mode\": \"off\"}");
    pthread_join(t, NULL);
    assert_int_equal(rc, 0);

    /* a deadline ends a pause */
    configure(FP_dummy, "{\"mode\": \"alwaysOn\"}");
    assert_int_equal(fp_pause(FP_dummy, NULL, time_mono_us() + 50000, &st), ERR_MaxTimeMSExpired);
    /* and so does fp_release_all, which also turns everything off */
    pthread_create(&t, NULL, pauser, &rc);
    assert_int_equal(fp_wait_entered(FP_dummy, base + 3, 0, &st), 0);
    fp_release_all();
    pthread_join(t, NULL);
    assert_int_equal(rc, 0);
    assert_false(fp_maybe(FP_dummy));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
