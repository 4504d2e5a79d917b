/*
 * failpoint.c -- the failpoint registry: the names of common/failpoint.def,
 * each with a mode, a data document and an entry count, set by
 * configureFailPoint and read by the code they instrument. The instrumented
 * code pays one relaxed atomic load while a failpoint is off (fp_maybe); the
 * rest takes one process-wide mutex, which is fine for a test-only mechanism.
 * The story is in common/README.md, "Failpoints".
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

typedef enum fp_mode {
    FP_MODE_OFF = 0,
    FP_MODE_ALWAYS_ON,
    FP_MODE_TIMES,
    FP_MODE_SKIP,
    FP_MODE_RANDOM,
} fp_mode_t;

typedef struct fp_state {
    fp_mode_t mode;
    int64_t n;   /* times left (TIMES) / evaluations left to skip (SKIP) */
    double p;    /* activationProbability (RANDOM) */
    bson_t data; /* valid once data_init */
    bool data_init;
    int64_t entered; /* timesEntered */
} fp_state_t;

static const struct {
    const char *name;
    const char *help;
} fp_table[FP_COUNT] = {
#define X(name, help) {#name, help},
#include "common/failpoint.def"
#undef X
};

int fp__on[FP_COUNT];
static fp_state_t fp_states[FP_COUNT];
static pthread_mutex_t fp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fp_cond; /* CLOCK_MONOTONIC; any change or entry broadcasts */
static pthread_once_t fp_once = PTHREAD_ONCE_INIT;
static int64_t fp_release_gen;                  /* bumped by fp_release_all */
static int (*fp_interrupt_check)(status_t *st); /* fp_set_interrupt_check */

/*
 * FP_PAUSE_RECHECK_MS -- a paused thread re-evaluates its failpoint this often,
 * as MongoDB's pauseWhileSet does (100 ms), so `times`/`skip` modes run out as
 * they do there; configureFailPoint also wakes it at once.
 */
#define FP_PAUSE_RECHECK_MS 100

static void fp_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&fp_cond, &a);
    pthread_condattr_destroy(&a);
}

/* wait_until -- wait on fp_cond (fp_lock held) until abs_us on the monotonic clock. */
static void wait_until(int64_t abs_us)
{
    struct timespec ts = {.tv_sec = abs_us / 1000000, .tv_nsec = (abs_us % 1000000) * 1000};
    pthread_cond_timedwait(&fp_cond, &fp_lock, &ts);
}

/* set_mode_locked -- the mode and its on flag. */
static void set_mode_locked(fp_id_t id, fp_mode_t mode)
{
    fp_states[id].mode = mode;
    __atomic_store_n(&fp__on[id], mode != FP_MODE_OFF, __ATOMIC_RELAXED);
}

/* ns_matches -- whether the failpoint's data lets it fire for ns (see fp_fire). */
static bool ns_matches(const fp_state_t *f, const char *ns)
{
    bson_iter_t it;
    if (ns == NULL || !f->data_init || !bson_iter_init_find(&it, &f->data, "ns") ||
        !BSON_ITER_HOLDS_UTF8(&it))
        return true;
    return strcmp(bson_iter_utf8(&it, NULL), ns) == 0;
}

/* eval_locked -- whether the failpoint fires now, consuming times/skip as MongoDB does. */
static bool eval_locked(fp_id_t id)
{
    fp_state_t *f = &fp_states[id];
    static __thread unsigned seed;

    switch (f->mode) {
    case FP_MODE_ALWAYS_ON:
        return true;
    case FP_MODE_TIMES:
        if (f->n <= 0) {
            set_mode_locked(id, FP_MODE_OFF);
            return false;
        }
        if (--f->n == 0)
            set_mode_locked(id, FP_MODE_OFF);
        return true;
    case FP_MODE_SKIP:
        if (f->n > 0) {
            f->n--;
            return false;
        }
        return true;
    case FP_MODE_RANDOM:
        if (seed == 0)
            seed = (unsigned)time_mono_us() ^ (unsigned)(uintptr_t)&seed;
        return (double)rand_r(&seed) / ((double)RAND_MAX + 1.0) < f->p;
    default:
        return false;
    }
}

/* fp_fire -- evaluate and count one entry when it fires. */
bool fp_fire(fp_id_t id, const char *ns, bson_t *data)
{
    bool hit;

    if ((unsigned)id >= FP_COUNT)
        return false;
    pthread_once(&fp_once, fp_init);
    pthread_mutex_lock(&fp_lock);
    hit = fp_states[id].mode != FP_MODE_OFF && ns_matches(&fp_states[id], ns) && eval_locked(id);
    if (hit) {
        fp_states[id].entered++;
        if (data != NULL) {
            if (fp_states[id].data_init)
                bson_copy_to(&fp_states[id].data, data);
            else
                bson_init(data);
        }
        pthread_cond_broadcast(&fp_cond); /* waitForFailPoint */
    }
    pthread_mutex_unlock(&fp_lock);
    return hit;
}

/* fp_pause -- pauseWhileSet with a deadline. */
int fp_pause(fp_id_t id, const char *ns, int64_t deadline_us, status_t *st)
{
    int ret = 0;

    if (!fp_fire(id, ns, NULL))
        return 0;
    LOG(INFO, CONTROL, 19001, "Paused at failpoint", "failPointName", BCON_UTF8(fp_table[id].name),
        "ns", BCON_UTF8(ns ? ns : ""));
    pthread_mutex_lock(&fp_lock);
    int64_t gen = fp_release_gen;
    for (;;) {
        int64_t now = time_mono_us(), until = now + FP_PAUSE_RECHECK_MS * 1000;
        if (deadline_us > 0 && now >= deadline_us) {
            ret = status_set(st, ERR_MaxTimeMSExpired,
                             "operation exceeded time limit while paused at failpoint %s",
                             fp_table[id].name);
            break;
        }
        if (deadline_us > 0 && deadline_us < until)
            until = deadline_us;
        wait_until(until);
        if (fp_release_gen != gen || fp_states[id].mode == FP_MODE_OFF ||
            !ns_matches(&fp_states[id], ns) || !eval_locked(id))
            break;
        int (*check)(status_t *) = __atomic_load_n(&fp_interrupt_check, __ATOMIC_ACQUIRE);
        if (check != NULL && (ret = check(st)) != 0)
            break; /* killOp, a step-down, shutdown: the paused operation ends */
    }
    pthread_mutex_unlock(&fp_lock);
    return ret;
}

/* fp_set_interrupt_check -- see common.h. */
void fp_set_interrupt_check(int (*check)(status_t *st))
{
    __atomic_store_n(&fp_interrupt_check, check, __ATOMIC_RELEASE);
}

/* fp_lookup -- name to id, or -1. */
int fp_lookup(const char *name)
{
    for (int i = 0; name != NULL && i < FP_COUNT; i++)
        if (strcmp(fp_table[i].name, name) == 0)
            return i;
    return -1;
}

/* fp_name -- a failpoint's name. */
const char *fp_name(fp_id_t id)
{
    return (unsigned)id < FP_COUNT ? fp_table[id].name : "";
}

/* fp_help -- a failpoint's description. */
const char *fp_help(fp_id_t id)
{
    return (unsigned)id < FP_COUNT ? fp_table[id].help : "";
}

/* mode_count -- an integral times/skip value as MongoDB checks it. */
static int mode_count(const bson_iter_t *it, const char *field, int64_t *out, status_t *st)
{
    if (!bsonu_is_number(bson_iter_type(it)))
        return status_set(st, ERR_TypeMismatch,
                          "\"%s\" had the wrong type. Expected number, found %s", field,
                          bsonu_type_name(bson_iter_type(it)));
    if (!bsonu_number_as_int64(bson_iter_value((bson_iter_t *)it), out))
        return status_set(st, ERR_BadValue,
                          "Expected field \"%s\" to have a value exactly representable as a "
                          "64-bit integer",
                          field);
    if (*out < 0)
        return status_set(st, ERR_BadValue, "'%s' option to 'mode' must be positive", field);
    if (*out > INT_MAX)
        return status_set(st, ERR_BadValue, "'%s' option to 'mode' is too large", field);
    return 0;
}

/* fp_configure -- configureFailPoint's {mode, data}. */
int fp_configure(fp_id_t id, const bson_t *cmd, int64_t *times_entered, status_t *st)
{
    bson_iter_t it;
    fp_mode_t mode;
    int64_t n = 0;
    double p = 0;
    bson_t data = BSON_INITIALIZER;

    if ((unsigned)id >= FP_COUNT)
        return status_set(st, ERR_FailPointSetFailed, "no such failpoint");
    if (!bson_iter_init_find(&it, cmd, "mode"))
        return status_set(st, ERR_IllegalOperation,
                          "When setting a failpoint, you must supply a 'mode'");
    if (BSON_ITER_HOLDS_UTF8(&it)) {
        const char *s = bson_iter_utf8(&it, NULL);
        if (strcmp(s, "off") == 0)
            mode = FP_MODE_OFF;
        else if (strcmp(s, "alwaysOn") == 0)
            mode = FP_MODE_ALWAYS_ON;
        else
            return status_set(st, ERR_BadValue, "unknown mode: %s", s);
    } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_t f;
        if (bson_iter_recurse(&it, &f) && bson_iter_find(&f, "times")) {
            mode = FP_MODE_TIMES;
            ST_RET(mode_count(&f, "times", &n, st));
        } else if (bson_iter_recurse(&it, &f) && bson_iter_find(&f, "skip")) {
            mode = FP_MODE_SKIP;
            ST_RET(mode_count(&f, "skip", &n, st));
        } else if (bson_iter_recurse(&it, &f) && bson_iter_find(&f, "activationProbability")) {
            mode = FP_MODE_RANDOM;
            if (!bsonu_number_as_double(bson_iter_value(&f), &p))
                return status_set(st, ERR_TypeMismatch,
                                  "the 'activationProbability' option to 'mode' must be a double "
                                  "between 0 and 1");
            if (!(p >= 0 && p <= 1))
                return status_set(st, ERR_BadValue,
                                  "activationProbability must be between 0.0 and 1.0; found %g", p);
        } else {
            return status_set(st, ERR_BadValue,
                              "'mode' must be one of 'off', 'alwaysOn', '{times:n}', '{skip:n}' "
                              "or '{activationProbability:p}'");
        }
    } else {
        return status_set(st, ERR_TypeMismatch, "'mode' must be a string or JSON object");
    }
    if (bson_iter_init_find(&it, cmd, "data")) {
        const uint8_t *d;
        uint32_t len;
        bson_t view;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return status_set(st, ERR_TypeMismatch, "the 'data' option must be a JSON object");
        bson_iter_document(&it, &len, &d);
        if (bson_init_static(&view, d, len))
            bson_concat(&data, &view);
    }
    /* {times: 0} never fires here (MongoDB's fires once, an off-by-one nobody relies on) */
    if (mode == FP_MODE_TIMES && n == 0)
        mode = FP_MODE_OFF;

    pthread_once(&fp_once, fp_init);
    pthread_mutex_lock(&fp_lock);
    fp_state_t *fs = &fp_states[id];
    *times_entered = fs->entered;
    if (fs->data_init)
        bson_destroy(&fs->data);
    bson_copy_to(&data, &fs->data);
    fs->data_init = true;
    fs->n = n;
    fs->p = p;
    set_mode_locked(id, mode);
    pthread_cond_broadcast(&fp_cond);
    pthread_mutex_unlock(&fp_lock);
    bson_destroy(&data);
    bson_t info = BSON_INITIALIZER;
    fp_append_info(id, &info);
    LOG(WARNING, CONTROL, 23829, "Set failpoint", "failPointName", BCON_UTF8(fp_table[id].name),
        "failPoint", BCON_DOCUMENT(&info));
    bson_destroy(&info);
    return 0;
}

/* fp_wait_entered -- waitForFailPoint. */
int fp_wait_entered(fp_id_t id, int64_t n, int64_t deadline_us, status_t *st)
{
    int ret = 0;

    if ((unsigned)id >= FP_COUNT)
        return status_set(st, ERR_FailPointSetFailed, "no such failpoint");
    pthread_once(&fp_once, fp_init);
    pthread_mutex_lock(&fp_lock);
    while (fp_states[id].entered < n) {
        int64_t now = time_mono_us(), until = now + FP_PAUSE_RECHECK_MS * 1000;
        if (deadline_us > 0 && now >= deadline_us) {
            ret = status_set(st, ERR_MaxTimeMSExpired, "operation exceeded time limit");
            break;
        }
        if (deadline_us > 0 && deadline_us < until)
            until = deadline_us;
        wait_until(until);
    }
    pthread_mutex_unlock(&fp_lock);
    return ret;
}

static const char *mode_name(fp_mode_t m)
{
    switch (m) {
    case FP_MODE_ALWAYS_ON:
        return "alwaysOn";
    case FP_MODE_TIMES:
        return "times";
    case FP_MODE_SKIP:
        return "skip";
    case FP_MODE_RANDOM:
        return "activationProbability";
    default:
        return "off";
    }
}

/* fp_append_info -- {mode, data, timesEntered}. */
void fp_append_info(fp_id_t id, bson_t *out)
{
    if ((unsigned)id >= FP_COUNT)
        return;
    pthread_once(&fp_once, fp_init);
    pthread_mutex_lock(&fp_lock);
    fp_state_t *f = &fp_states[id];
    BSON_APPEND_UTF8(out, "mode", mode_name(f->mode));
    if (f->mode == FP_MODE_TIMES || f->mode == FP_MODE_SKIP)
        BSON_APPEND_INT64(out, "n", f->n);
    if (f->mode == FP_MODE_RANDOM)
        BSON_APPEND_DOUBLE(out, "activationProbability", f->p);
    if (f->data_init)
        BSON_APPEND_DOCUMENT(out, "data", &f->data);
    else {
        bson_t empty = BSON_INITIALIZER;
        BSON_APPEND_DOCUMENT(out, "data", &empty);
    }
    BSON_APPEND_INT64(out, "timesEntered", f->entered);
    pthread_mutex_unlock(&fp_lock);
}

/* fp_release_all -- every failpoint off, every pause woken. */
void fp_release_all(void)
{
    pthread_once(&fp_once, fp_init);
    pthread_mutex_lock(&fp_lock);
    for (int i = 0; i < FP_COUNT; i++)
        set_mode_locked((fp_id_t)i, FP_MODE_OFF);
    fp_release_gen++;
    pthread_cond_broadcast(&fp_cond);
    pthread_mutex_unlock(&fp_lock);
}
