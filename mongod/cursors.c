/*
 * cursors.c -- the cursor manager (see cursors.h): a hash table of parked
 * cursors under one mutex, random ids, check-out/check-in, kills by id,
 * session or age, and the reaper thread.
 *
 * Destroying an executor closes storage cursors and a session, which can take
 * a moment: it always happens outside the table lock.
 */
#include "mongod/cursors.h"
#include "mongod/opstats.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define NBUCKETS 1024
/* The reaper looks at most this often; idle limits are minutes, so a few seconds is exact enough.
 */
#define REAP_EVERY_MS 2000

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static micad_cursor_t *g_buckets[NBUCKETS];
static size_t g_open;
static int64_t g_timed_out;
static int64_t g_timeout_ms = MICAD_CURSOR_TIMEOUT_MS;
static bool g_reaper_running, g_stopping;
static pthread_t g_reaper;

static int64_t now_ms(void)
{
    return time_mono_us() / 1000;
}

static size_t bucket(int64_t id)
{
    return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 54) & (NBUCKETS - 1);
}

static micad_cursor_t *find_locked(int64_t id)
{
    for (micad_cursor_t *c = g_buckets[bucket(id)]; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void unlink_locked(micad_cursor_t *c)
{
    micad_cursor_t **pp = &g_buckets[bucket(c->id)];
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
    g_open--;
}

static void cursor_free(micad_cursor_t *c)
{
    if (c == NULL)
        return;
    micad_exec_destroy(c->exec);
    if (c->has_lsid)
        bson_destroy(&c->lsid);
    free(c);
}

/* new_id -- a random positive non-zero id not in use (ids must not be guessable). */
static int64_t new_id_locked(void)
{
    for (;;) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r = (uint64_t)time_mono_us() * 0x9E3779B97F4A7C15ull ^ (uint64_t)rand();
        int64_t id = (int64_t)(r & (uint64_t)INT64_MAX);
        if (id != 0 && find_locked(id) == NULL)
            return id;
    }
}

static void *reaper_main(void *arg)
{
    (void)arg;
    log_set_ctx("clientcursormon");
    pthread_mutex_lock(&g_lock);
    while (!g_stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += REAP_EVERY_MS / 1000;
        pthread_cond_timedwait(&g_cond, &g_lock, &ts);
        if (g_stopping)
            break;
        int64_t timeout = g_timeout_ms;
        pthread_mutex_unlock(&g_lock);
        size_t n = micad_cursors_reap(now_ms(), timeout);
        if (n > 0)
            LOG(INFO, QUERY, 20528, "Cursors timed out", "numTimedOut", BCON_INT64((int64_t)n));
        pthread_mutex_lock(&g_lock);
    }
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

/* micad_cursors_add -- see cursors.h. */
int64_t micad_cursors_add(micad_exec_t *ex, const char *ns, const wire_opctx_t *op,
                          const micad_cursor_opts_t *o)
{
    micad_cursor_t *c = calloc(1, sizeof(*c));
    INVARIANT(c != NULL);
    c->exec = ex;
    snprintf(c->ns, sizeof(c->ns), "%s", ns);
    c->batch_size = o->batch_size;
    c->tailable = o->tailable;
    c->await_data = o->await_data;
    c->no_timeout = o->no_timeout;
    c->n_returned = o->n_returned;
    c->last_used_ms = now_ms();
    if (op != NULL && op->has_lsid) {
        bson_copy_to(&op->lsid, &c->lsid);
        c->has_lsid = true;
    }
    pthread_mutex_lock(&g_lock);
    c->id = new_id_locked();
    size_t b = bucket(c->id);
    c->next = g_buckets[b];
    g_buckets[b] = c;
    g_open++;
    if (!g_reaper_running && !g_stopping) {
        if (pthread_create(&g_reaper, NULL, reaper_main, NULL) == 0)
            g_reaper_running = true;
    }
    int64_t id = c->id;
    pthread_mutex_unlock(&g_lock);
    return id;
}

/* lsid_equal -- same session: the "id" fields (UUIDs) are equal. */
static bool lsid_equal(const bson_t *a, const bson_t *b)
{
    bson_iter_t x, y;
    if (!bson_iter_init_find(&x, a, "id") || !bson_iter_init_find(&y, b, "id"))
        return bson_equal(a, b);
    return bsonu_compare_iter(&x, &y) == 0;
}

/* micad_cursors_checkout -- see cursors.h. */
int micad_cursors_checkout(int64_t id, const char *ns, const wire_opctx_t *op, micad_cursor_t **out,
                           status_t *st)
{
    *out = NULL;
    pthread_mutex_lock(&g_lock);
    micad_cursor_t *c = find_locked(id);
    int ret = 0;
    if (c == NULL || c->killed)
        ret = status_set(st, ERR_CursorNotFound, "cursor id %lld not found", (long long)id);
    else if (strcmp(c->ns, ns) != 0)
        ret = status_set(st, ERR_Unauthorized,
                         "Requested getMore on namespace '%s', but cursor belongs to a different "
                         "namespace %s",
                         ns, c->ns);
    else if (c->in_use)
        ret = status_set(st, ERR_CursorInUse, "cursor id %lld is already in use", (long long)id);
    else if (c->has_lsid && (op == NULL || !op->has_lsid || !lsid_equal(&c->lsid, &op->lsid)))
        ret = status_set(st, 50738,
                         "Cannot run getMore on cursor %lld, which was created in a different "
                         "session",
                         (long long)id);
    if (ret == 0) {
        c->in_use = true;
        *out = c;
    }
    pthread_mutex_unlock(&g_lock);
    return ret;
}

/* micad_cursors_checkin -- see cursors.h. */
void micad_cursors_checkin(micad_cursor_t *c)
{
    pthread_mutex_lock(&g_lock);
    c->in_use = false;
    c->last_used_ms = now_ms();
    bool dead = c->killed;
    if (dead)
        unlink_locked(c);
    pthread_mutex_unlock(&g_lock);
    if (dead)
        cursor_free(c);
}

/* micad_cursors_release -- see cursors.h. */
void micad_cursors_release(micad_cursor_t *c)
{
    pthread_mutex_lock(&g_lock);
    unlink_locked(c);
    pthread_mutex_unlock(&g_lock);
    cursor_free(c);
}

/* kill_where -- kill cursors pred selects; idle ones are destroyed, in-use ones marked. */
static size_t kill_where(bool (*pred)(const micad_cursor_t *, const void *), const void *arg)
{
    micad_cursor_t *dead = NULL;
    size_t n = 0;
    pthread_mutex_lock(&g_lock);
    for (size_t b = 0; b < NBUCKETS; b++) {
        micad_cursor_t **pp = &g_buckets[b];
        while (*pp) {
            micad_cursor_t *c = *pp;
            if (c->killed || !pred(c, arg)) {
                pp = &c->next;
                continue;
            }
            n++;
            if (c->in_use) {
                c->killed = true;
                pp = &c->next;
                continue;
            }
            *pp = c->next;
            g_open--;
            c->next = dead;
            dead = c;
        }
    }
    pthread_mutex_unlock(&g_lock);
    while (dead) {
        micad_cursor_t *c = dead;
        dead = c->next;
        cursor_free(c);
    }
    return n;
}

typedef struct idns {
    int64_t id;
    const char *ns;
} idns_t;

static bool pred_id(const micad_cursor_t *c, const void *arg)
{
    const idns_t *a = arg;
    return c->id == a->id && strcmp(c->ns, a->ns) == 0;
}

/* micad_cursors_kill -- see cursors.h. */
micad_kill_result_t micad_cursors_kill(int64_t id, const char *ns)
{
    idns_t a = {id, ns};
    return kill_where(pred_id, &a) > 0 ? MICAD_KILL_KILLED : MICAD_KILL_NOT_FOUND;
}

static bool pred_session(const micad_cursor_t *c, const void *arg)
{
    return c->has_lsid && lsid_equal(&c->lsid, (const bson_t *)arg);
}

/* micad_cursors_kill_session -- see cursors.h. */
size_t micad_cursors_kill_session(const bson_t *lsid)
{
    return kill_where(pred_session, lsid);
}

static bool pred_any_session(const micad_cursor_t *c, const void *arg)
{
    (void)arg;
    return c->has_lsid;
}

/* micad_cursors_kill_session_list -- see cursors.h. */
size_t micad_cursors_kill_session_list(const bson_t *cmd, bool kill_all_if_empty)
{
    bson_iter_t it, arr;
    size_t n = 0, listed = 0;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return 0;
    while (bson_iter_next(&arr)) {
        bson_t lsid;
        uint32_t len;
        const uint8_t *data;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
            continue;
        bson_iter_document(&arr, &len, &data);
        if (bson_init_static(&lsid, data, len))
            n += micad_cursors_kill_session(&lsid);
        listed++;
    }
    if (listed == 0 && kill_all_if_empty)
        n += kill_where(pred_any_session, NULL);
    return n;
}

static bool pred_all(const micad_cursor_t *c, const void *arg)
{
    (void)c;
    (void)arg;
    return true;
}

/* micad_cursors_kill_all -- see cursors.h. */
size_t micad_cursors_kill_all(void)
{
    return kill_where(pred_all, NULL);
}

typedef struct age {
    int64_t now, timeout;
} age_t;

static bool pred_idle(const micad_cursor_t *c, const void *arg)
{
    const age_t *a = arg;
    return !c->in_use && !c->no_timeout && a->now - c->last_used_ms >= a->timeout;
}

/* micad_cursors_reap -- see cursors.h. */
size_t micad_cursors_reap(int64_t now, int64_t timeout_ms)
{
    age_t a = {now, timeout_ms};
    size_t n = kill_where(pred_idle, &a);
    pthread_mutex_lock(&g_lock);
    g_timed_out += (int64_t)n;
    pthread_mutex_unlock(&g_lock);
    return n;
}

/* micad_cursors_set_timeout -- see cursors.h. */
void micad_cursors_set_timeout(int64_t timeout_ms)
{
    pthread_mutex_lock(&g_lock);
    g_timeout_ms = timeout_ms;
    pthread_mutex_unlock(&g_lock);
}

/* micad_cursors_open_count -- see cursors.h. */
size_t micad_cursors_open_count(void)
{
    pthread_mutex_lock(&g_lock);
    size_t n = g_open;
    pthread_mutex_unlock(&g_lock);
    return n;
}

/* micad_cursors_timed_out_count -- see cursors.h. */
int64_t micad_cursors_timed_out_count(void)
{
    pthread_mutex_lock(&g_lock);
    int64_t n = g_timed_out;
    pthread_mutex_unlock(&g_lock);
    return n;
}

/* micad_cursors_shutdown -- see cursors.h. */
void micad_cursors_shutdown(void)
{
    pthread_mutex_lock(&g_lock);
    g_stopping = true;
    bool join = g_reaper_running;
    g_reaper_running = false;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
    if (join)
        pthread_join(g_reaper, NULL);
    /* Workers have stopped: nothing is in use any more. */
    micad_cursor_t *dead = NULL;
    pthread_mutex_lock(&g_lock);
    for (size_t b = 0; b < NBUCKETS; b++) {
        while (g_buckets[b]) {
            micad_cursor_t *c = g_buckets[b];
            g_buckets[b] = c->next;
            c->next = dead;
            dead = c;
        }
    }
    g_open = 0;
    g_stopping = false;
    pthread_mutex_unlock(&g_lock);
    while (dead) {
        micad_cursor_t *c = dead;
        dead = c->next;
        cursor_free(c);
    }
}

/* has_natural -- whether doc names $natural; *alone when it is its only field. */
static bool has_natural(const bson_t *doc, bool *alone)
{
    bson_iter_t it;
    bool found = false;
    uint32_t n = 0;
    if (bson_iter_init(&it, doc))
        while (bson_iter_next(&it)) {
            n++;
            if (strcmp(bson_iter_key(&it), "$natural") == 0)
                found = true;
        }
    *alone = found && n == 1;
    return found;
}

/* micad_query_natural_sort -- see cursors.h. */
int micad_query_natural_sort(micad_query_t *q, status_t *st)
{
    bson_iter_t it;
    bool hint_natural = false, alone = false;
    if (q->has_hint && q->hint.value_type == BSON_TYPE_DOCUMENT) {
        bson_t h;
        if (bson_init_static(&h, q->hint.value.v_doc.data, q->hint.value.v_doc.data_len) &&
            has_natural(&h, &alone)) {
            if (!alone)
                return status_set(st, ERR_BadValue,
                                  "$natural hint cannot be combined with other hint fields");
            hint_natural = true;
        }
    }
    if (!q->has_sort || !has_natural(&q->sort, &alone))
        return 0;
    if (!alone)
        return status_set(st, ERR_BadValue,
                          "$natural sort cannot be combined with other sort fields");
    if (q->has_hint && !hint_natural)
        return status_set(st, ERR_BadValue, "$natural sort cannot be set with an index hint");
    bson_iter_init(&it, &q->sort);
    bson_iter_next(&it);
    double d = 1;
    (void)bsonu_number_as_double(bson_iter_value(&it), &d);
    if (!q->has_hint) {
        bson_t h = BSON_INITIALIZER;
        BSON_APPEND_INT32(&h, "$natural", d < 0 ? -1 : 1);
        bson_value_t v;
        memset(&v, 0, sizeof(v));
        v.value_type = BSON_TYPE_DOCUMENT;
        v.value.v_doc.data = (uint8_t *)bson_get_data(&h);
        v.value.v_doc.data_len = h.len;
        bson_value_copy(&v, &q->hint);
        q->has_hint = true;
        bson_destroy(&h);
    }
    bson_reinit(&q->sort);
    q->has_sort = false;
    return 0;
}

/* micad_batch_fill -- see cursors.h. */
int micad_batch_fill(micad_exec_t *ex, int64_t max_docs, int64_t deadline_us, bson_t *arr,
                     int64_t *n, status_t *st)
{
    int ret = 0;
    size_t bytes = 0;
    *n = 0;
    ST_RET(micad_exec_begin_batch(ex, st));
    while (max_docs <= 0 || *n < max_docs) {
        bson_t doc;
        bool eof = false;
        ST_ERR(micad_exec_next(ex, deadline_us, &doc, &eof, st));
        if (eof)
            break;
        if (*n > 0 && bytes + doc.len > MICAD_BATCH_BYTES) {
            micad_exec_unget(ex, &doc);
            bson_destroy(&doc);
            break;
        }
        char ib[24];
        const char *ik;
        bson_uint32_to_string((uint32_t)*n, &ik, ib, sizeof(ib));
        bson_append_document(arr, ik, -1, &doc);
        bytes += doc.len;
        bson_destroy(&doc);
        (*n)++;
    }
err:
    micad_exec_end_batch(ex);
    micad_counters_returned(*n);
    return ret;
}
