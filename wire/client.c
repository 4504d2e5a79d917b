/*
 * client.c -- the intra-cluster client: pool life cycle, the public calls
 * (wire_client_run / _run_async), hosts with their pending calls and back-off,
 * and call deadlines. One connection's own life (connect, hello, auth, reads,
 * writes) is in client_conn.c. The design is told in wire/README.md,
 * "Intra-cluster client"; the private types are in client_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/client_int.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* ms_until -- whole milliseconds from now to deadline_us, rounded up, at least 0. */
static uint64_t ms_until(int64_t deadline_us, int64_t now)
{
    if (deadline_us <= now)
        return 0;
    return (uint64_t)((deadline_us - now + 999) / 1000);
}

/* wire__client_parse_host -- "name:port", "[v6]:port" or "name" (port 27017). */
int wire__client_parse_host(const char *s, char *name, size_t name_len, int *port, status_t *st)
{
    const char *end, *colon;
    size_t n;

    if (s == NULL || *s == '\0')
        return status_set(st, ERR_BadValue, "empty host name");
    if (strlen(s) >= WIRE_CLIENT_HOST_MAX)
        return status_set(st, ERR_BadValue, "host name too long: %.64s...", s);
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (end == NULL || end == s + 1)
            return status_set(st, ERR_BadValue, "bad IPv6 host '%s'", s);
        n = (size_t)(end - s - 1);
        memcpy(name, s + 1, n);
        name[n] = '\0';
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] != '\0' && colon == NULL)
            return status_set(st, ERR_BadValue, "bad host '%s'", s);
    } else {
        colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL)
            return status_set(st, ERR_BadValue,
                              "bad host '%s': an IPv6 address needs brackets, [addr]:port", s);
        n = colon != NULL ? (size_t)(colon - s) : strlen(s);
        if (n == 0)
            return status_set(st, ERR_BadValue, "bad host '%s': empty name", s);
        memcpy(name, s, n);
        name[n] = '\0';
    }
    (void)name_len;
    *port = 27017;
    if (colon != NULL) {
        char *e;
        long v = strtol(colon + 1, &e, 10);
        if (colon[1] == '\0' || *e != '\0' || v < 1 || v > 65535)
            return status_set(st, ERR_BadValue, "bad port in host '%s'", s);
        *port = (int)v;
    }
    return 0;
}

/* wire__client_reply_status -- a reply's {ok, code, errmsg} as a status (MongoDB's rules). */
int wire__client_reply_status(const bson_t *reply, status_t *st)
{
    bson_iter_t it;
    int64_t code = ERR_UnknownError;
    const char *msg = "command failed";

    if (bson_iter_init_find(&it, reply, "ok") && bson_iter_as_bool(&it)) {
        status_reset(st);
        return 0;
    }
    if (bson_iter_init_find(&it, reply, "code") && BSON_ITER_HOLDS_NUMBER(&it)) {
        code = bson_iter_as_int64(&it);
        if (code <= 0 || code > INT32_MAX)
            code = ERR_UnknownError;
    }
    if (bson_iter_init_find(&it, reply, "errmsg") && BSON_ITER_HOLDS_UTF8(&it))
        msg = bson_iter_utf8(&it, NULL);
    return status_set(st, (int)code, "%s", msg);
}

/* ------------------------------------------------------------------------ */
/* Calls                                                                     */
/* ------------------------------------------------------------------------ */

/* call_maybe_free -- free a finished call once its timer and write called back. */
static void call_maybe_free(wire_ccall_t *c)
{
    if (!c->done || c->timer_open || c->writing)
        return;
    wire_buf_destroy(&c->msg);
    free(c);
}

static void on_call_timer_closed(uv_handle_t *h)
{
    wire_ccall_t *c = h->data;
    c->timer_open = false;
    call_maybe_free(c);
}

/* wire__ccall_write_done -- the call's uv_write called back (client_conn.c). */
void wire__ccall_write_done(wire_ccall_t *c)
{
    c->writing = false;
    call_maybe_free(c);
}

/* pending_unlink -- take c off its host's pending list. */
static void pending_unlink(wire_chost_t *h, wire_ccall_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->pending_head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        h->pending_tail = c->prev;
    c->next = c->prev = NULL;
    c->pending = false;
    h->n_pending--;
}

/*
 * wire__ccall_complete -- finish a call once: detach it, stop its deadline, run
 * the callback. reply NULL means no reply came (a local failure); cb then sees
 * an empty document.
 */
void wire__ccall_complete(wire_ccall_t *c, const bson_t *reply, const status_t *st)
{
    wire_client_pool_t *p = c->pool;
    bson_t empty = BSON_INITIALIZER;

    if (c->done)
        return;
    c->done = true;
    if (c->pending)
        pending_unlink(c->h, c);
    if (c->conn != NULL) {
        c->conn->call = NULL;
        c->conn = NULL;
    }
    if (c->timer_open && !uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, on_call_timer_closed);
    WIRE_CLIENT_STAT_ADD(p, calls, 1);
    if (reply == NULL)
        WIRE_CLIENT_STAT_ADD(p, calls_failed, 1);
    c->cb(c->arg, reply != NULL ? reply : &empty, st);
    bson_destroy(&empty);
    call_maybe_free(c);
}

/* fail_call -- complete c with a local error. */
static void fail_call(wire_ccall_t *c, int code, const char *fmt, const char *arg)
{
    status_t st = STATUS_INIT;
    status_set(&st, code, fmt, arg);
    wire__ccall_complete(c, NULL, &st);
}

/* on_deadline -- a call's deadline passed before its reply. */
static void on_deadline(uv_timer_t *t)
{
    wire_ccall_t *c = t->data;
    wire_chost_t *h = c->h;
    status_t st = STATUS_INIT;

    if (c->done)
        return;
    WIRE_CLIENT_STAT_ADD(c->pool, calls_timed_out, 1);
    if (c->pending) {
        if (h->failures > 0 && h->retry_at_us > time_mono_us())
            status_set(&st, ERR_HostUnreachable, "%s", h->last_error.msg);
        else
            status_set(&st, ERR_NetworkTimeout, "Request to %s timed out waiting for a connection",
                       h->name);
        wire__ccall_complete(c, NULL, &st);
        return;
    }
    /* In flight: the reply may still come, so the connection cannot be reused. */
    wire_cconn_t *conn = c->conn;
    status_set(&st, ERR_NetworkTimeout, "Request to %s timed out waiting for the reply", h->name);
    wire__ccall_complete(c, NULL, &st);
    if (conn != NULL)
        wire__cconn_fail(conn, &st);
}

/* ------------------------------------------------------------------------ */
/* Hosts                                                                     */
/* ------------------------------------------------------------------------ */

static void host_maybe_connect(wire_chost_t *h);

static void on_retry(uv_timer_t *t)
{
    host_maybe_connect(t->data);
}

/* host_find -- the host named name, or NULL. */
static wire_chost_t *host_find(wire_client_pool_t *p, const char *name)
{
    for (wire_chost_t *h = p->hosts; h != NULL; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h;
    return NULL;
}

/* host_get -- the host named name, created on first use; NULL on OOM. */
static wire_chost_t *host_get(wire_client_pool_t *p, const char *name)
{
    wire_chost_t *h = host_find(p, name);
    status_t st = STATUS_INIT;

    if (h != NULL)
        return h;
    if ((h = calloc(1, sizeof(*h))) == NULL)
        return NULL;
    h->pool = p;
    snprintf(h->name, sizeof(h->name), "%s", name);
    /* validated by the submitter already */
    if (wire__client_parse_host(name, h->hostname, sizeof(h->hostname), &h->port, &st) != 0) {
        free(h);
        return NULL;
    }
    uv_timer_init(&p->loop, &h->retry);
    h->retry.data = h;
    h->next = p->hosts;
    p->hosts = h;
    WIRE_CLIENT_STAT_ADD(p, hosts, 1);
    return h;
}

/*
 * host_maybe_connect -- start connections while calls wait that no set-up in
 * progress will serve, up to max_per_host; during a back-off arm the retry
 * timer instead.
 */
static void host_maybe_connect(wire_chost_t *h)
{
    wire_client_pool_t *p = h->pool;

    while (!p->stopped && h->n_pending > h->n_setup && h->n_conns < p->opts.max_per_host) {
        int64_t now = time_mono_us();
        status_t st = STATUS_INIT;
        if (now < h->retry_at_us) {
            uv_timer_start(&h->retry, on_retry, ms_until(h->retry_at_us, now), 0);
            return;
        }
        if (wire__cconn_start(h, &st) != 0) {
            while (h->pending_head != NULL)
                wire__ccall_complete(h->pending_head, NULL, &st);
            return;
        }
    }
}

/* wire__chost_conn_ready -- conn finished set-up or a call: serve a waiting call or idle. */
void wire__chost_conn_ready(wire_chost_t *h, wire_cconn_t *conn, bool was_setup)
{
    wire_client_pool_t *p = h->pool;

    if (was_setup) {
        h->n_setup--;
        h->failures = 0;
        h->retry_at_us = 0;
        WIRE_CLIENT_STAT_ADD(p, conns_created, 1);
    }
    if (p->stopped || conn->drop) {
        status_t st = STATUS_INIT;
        status_set(&st, ERR_HostUnreachable, "connection to %s dropped", h->name);
        wire__cconn_fail(conn, &st);
        return;
    }
    if (h->pending_head != NULL) {
        wire_ccall_t *c = h->pending_head;
        pending_unlink(h, c);
        wire__cconn_send(conn, c);
        return;
    }
    conn->idle = true;
    conn->idle_prev = NULL;
    conn->idle_next = h->idle;
    if (h->idle != NULL)
        h->idle->idle_prev = conn;
    h->idle = conn;
}

/* idle_pop -- the most recently used idle connection (LIFO keeps the surplus cold). */
static wire_cconn_t *idle_pop(wire_chost_t *h)
{
    wire_cconn_t *conn = h->idle;
    if (conn == NULL)
        return NULL;
    h->idle = conn->idle_next;
    if (h->idle != NULL)
        h->idle->idle_prev = NULL;
    conn->idle = false;
    conn->idle_next = conn->idle_prev = NULL;
    return conn;
}

/*
 * wire__chost_conn_closed -- conn is gone: unlink it; a failed set-up starts the
 * back-off and, when no working connection is left, fails the waiting calls
 * with its status (they were waiting for that host to answer).
 */
void wire__chost_conn_closed(wire_chost_t *h, wire_cconn_t *conn, bool was_setup,
                             const status_t *st)
{
    wire_client_pool_t *p = h->pool;

    if (conn->idle) {
        if (conn->idle_prev != NULL)
            conn->idle_prev->idle_next = conn->idle_next;
        else
            h->idle = conn->idle_next;
        if (conn->idle_next != NULL)
            conn->idle_next->idle_prev = conn->idle_prev;
        conn->idle = false;
    }
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        h->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    h->n_conns--;
    if (!was_setup) {
        host_maybe_connect(h);
        return;
    }
    h->n_setup--;
    WIRE_CLIENT_STAT_ADD(p, conns_failed, 1);
    if (h->failures == 0)
        LOG(INFO, NETWORK, 20101, "Failed to connect to a cluster member", "host",
            BCON_UTF8(h->name), "error", BCON_UTF8(st->msg), "code", BCON_INT32(st->code));
    else
        LOG(DEBUG1, NETWORK, 20102, "Failed to connect to a cluster member again", "host",
            BCON_UTF8(h->name), "error", BCON_UTF8(st->msg), "failures",
            BCON_INT32(h->failures + 1));
    h->failures++;
    int shift = h->failures - 1 < 10 ? h->failures - 1 : 10;
    int64_t backoff_ms = (int64_t)WIRE_CLIENT_BACKOFF_MIN_MS << shift;
    if (backoff_ms > WIRE_CLIENT_BACKOFF_MAX_MS)
        backoff_ms = WIRE_CLIENT_BACKOFF_MAX_MS;
    h->retry_at_us = time_mono_us() + backoff_ms * 1000;
    status_copy(&h->last_error, st);
    if (h->n_conns == h->n_setup)
        while (h->pending_head != NULL)
            wire__ccall_complete(h->pending_head, NULL, st);
    host_maybe_connect(h);
}

/* host_drop -- close h's idle connections, mark the others to close when done. */
static void host_drop(wire_chost_t *h)
{
    status_t st = STATUS_INIT;
    wire_cconn_t *conn, *next;

    status_set(&st, ERR_HostUnreachable, "connection to %s dropped", h->name);
    for (conn = h->conns; conn != NULL; conn = next) {
        next = conn->next;
        if (conn->state == WIRE_CCONN_IDLE)
            wire__cconn_fail(conn, &st);
        else
            conn->drop = true;
    }
}

/* ------------------------------------------------------------------------ */
/* The loop thread                                                           */
/* ------------------------------------------------------------------------ */

/* intake -- a submitted call arrives on the loop: deadline, then a connection or the queue. */
static void intake(wire_client_pool_t *p, wire_ccall_t *c)
{
    int64_t now = time_mono_us();
    wire_chost_t *h;
    wire_cconn_t *conn;

    if (p->stopped) {
        fail_call(c, ERR_ShutdownInProgress, "the client pool is shutting down%s", "");
        return;
    }
    if ((h = host_get(p, c->host)) == NULL) {
        fail_call(c, ERR_InternalError, "out of memory for host %s", c->host);
        return;
    }
    c->h = h;
    if (c->deadline_us <= now) {
        WIRE_CLIENT_STAT_ADD(p, calls_timed_out, 1);
        fail_call(c, ERR_NetworkTimeout, "Request to %s: the deadline passed before it was sent",
                  h->name);
        return;
    }
    uv_timer_init(&p->loop, &c->timer);
    c->timer.data = c;
    c->timer_open = true;
    uv_timer_start(&c->timer, on_deadline, ms_until(c->deadline_us, now), 0);
    if ((conn = idle_pop(h)) != NULL) {
        wire__cconn_send(conn, c);
        return;
    }
    c->pending = true;
    c->next = NULL;
    c->prev = h->pending_tail;
    if (h->pending_tail != NULL)
        h->pending_tail->next = c;
    else
        h->pending_head = c;
    h->pending_tail = c;
    h->n_pending++;
    host_maybe_connect(h);
}

/* shutdown_loop -- fail everything outstanding and close every handle. */
static void shutdown_loop(wire_client_pool_t *p)
{
    status_t st = STATUS_INIT;

    p->stopped = true;
    status_set(&st, ERR_ShutdownInProgress, "the client pool is shutting down");
    for (wire_chost_t *h = p->hosts; h != NULL; h = h->next) {
        while (h->pending_head != NULL)
            wire__ccall_complete(h->pending_head, NULL, &st);
        while (h->conns != NULL)
            wire__cconn_fail(h->conns, &st);
        uv_close((uv_handle_t *)&h->retry, NULL);
    }
    uv_close((uv_handle_t *)&p->wakeup, NULL);
}

/* on_wakeup -- take the submitted calls and drop requests; start shutting down if asked. */
static void on_wakeup(uv_async_t *a)
{
    wire_client_pool_t *p = a->data;
    wire_ccall_t *calls, *next;
    char **drops;
    size_t n_drops;
    bool stopping;

    pthread_mutex_lock(&p->lock);
    calls = p->submit_head;
    p->submit_head = p->submit_tail = NULL;
    drops = p->drops;
    n_drops = p->n_drops;
    p->drops = NULL;
    p->n_drops = 0;
    stopping = p->stopping;
    pthread_mutex_unlock(&p->lock);

    /* drops first: a caller that drops a host and then calls it wants a fresh connection */
    for (size_t i = 0; i < n_drops; i++) {
        wire_chost_t *h = p->stopped ? NULL : host_find(p, drops[i]);
        if (h != NULL)
            host_drop(h);
        free(drops[i]);
    }
    free(drops);
    for (; calls != NULL; calls = next) {
        next = calls->next;
        calls->next = NULL;
        intake(p, calls);
    }
    if (stopping && !p->stopped)
        shutdown_loop(p);
}

static void *pool_thread(void *arg)
{
    wire_client_pool_t *p = arg;
    log_set_ctx("ClusterClient");
    uv_run(&p->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */
/* ------------------------------------------------------------------------ */

/* wire_client_pool_create -- start a pool and its I/O thread. */
int wire_client_pool_create(const wire_client_opts_t *o, wire_client_pool_t **out, status_t *st)
{
    wire_client_opts_t defaults = {0};
    wire_client_pool_t *p;
    int rc;

    *out = NULL;
    if (o == NULL)
        o = &defaults;
    if (o->max_per_host < 0 || o->connect_timeout_ms < 0)
        return status_set(st, ERR_BadValue,
                          "max_per_host and connect_timeout_ms must not be negative");
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return status_set(st, ERR_InternalError, "out of memory");
    p->opts = *o;
    if (p->opts.max_per_host == 0)
        p->opts.max_per_host = WIRE_CLIENT_DEFAULT_PER_HOST;
    if (p->opts.connect_timeout_ms == 0)
        p->opts.connect_timeout_ms = WIRE_CLIENT_DEFAULT_CONNECT_MS;
    if (o->bind_ip != NULL && *o->bind_ip != '\0') {
        if (uv_ip4_addr(o->bind_ip, 0, (struct sockaddr_in *)&p->bind_addr) != 0 &&
            uv_ip6_addr(o->bind_ip, 0, (struct sockaddr_in6 *)&p->bind_addr) != 0) {
            free(p);
            return status_set(st, ERR_BadValue,
                              "bind_ip '%s' of the cluster client is not a numeric address",
                              o->bind_ip);
        }
        p->has_bind = true;
        p->bind_ip = strdup(o->bind_ip);
    }
    p->opts.bind_ip = p->bind_ip;
    if (o->app_name != NULL)
        p->app_name = strdup(o->app_name);
    p->opts.app_name = p->app_name;
    p->opts.tls = NULL; /* not kept: the files are loaded into tls_ctx now */
    if (o->tls != NULL) {
        if ((rc = wire__client_tls_ctx(o->tls, &p->tls_ctx, st)) != 0)
            goto err;
        p->tls_check_host = !o->tls->allow_invalid_hostnames;
    }
    p->rbuf = malloc(WIRE_CLIENT_READ_CHUNK);
    if (p->rbuf == NULL || (o->bind_ip != NULL && *o->bind_ip && p->bind_ip == NULL) ||
        (o->app_name != NULL && p->app_name == NULL)) {
        rc = status_set(st, ERR_InternalError, "out of memory");
        goto err;
    }
    pthread_mutex_init(&p->lock, NULL);
    if ((rc = uv_loop_init(&p->loop)) != 0) {
        pthread_mutex_destroy(&p->lock);
        rc = status_set(st, ERR_InternalError, "uv_loop_init: %s", uv_strerror(rc));
        goto err;
    }
    uv_async_init(&p->loop, &p->wakeup, on_wakeup);
    p->wakeup.data = p;
    if ((rc = pthread_create(&p->thread, NULL, pool_thread, p)) != 0) {
        uv_close((uv_handle_t *)&p->wakeup, NULL);
        uv_run(&p->loop, UV_RUN_DEFAULT);
        uv_loop_close(&p->loop);
        pthread_mutex_destroy(&p->lock);
        rc = status_set(st, ERR_InternalError, "cannot start the client thread: %s", strerror(rc));
        goto err;
    }
    *out = p;
    return 0;
err:
    SSL_CTX_free(p->tls_ctx);
    free(p->rbuf);
    free(p->bind_ip);
    free(p->app_name);
    free(p);
    return rc;
}

/* wire_client_pool_destroy -- fail what is outstanding, close everything, join. */
void wire_client_pool_destroy(wire_client_pool_t *p)
{
    if (p == NULL)
        return;
    INVARIANT(!pthread_equal(pthread_self(), p->thread));
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    uv_async_send(&p->wakeup);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    uv_loop_close(&p->loop);
    while (p->hosts != NULL) {
        wire_chost_t *h = p->hosts;
        p->hosts = h->next;
        free(h);
    }
    for (size_t i = 0; i < p->n_drops; i++)
        free(p->drops[i]);
    free(p->drops);
    pthread_mutex_destroy(&p->lock);
    SSL_CTX_free(p->tls_ctx);
    free(p->rbuf);
    free(p->bind_ip);
    free(p->app_name);
    free(p);
}

/* wire_client_run_async -- encode the call here, hand it to the I/O thread. */
int wire_client_run_async(wire_client_pool_t *p, const char *host, const char *db,
                          const bson_t *cmd, int64_t deadline_us, wire_client_cb cb, void *arg,
                          status_t *st)
{
    char name[WIRE_CLIENT_HOST_MAX];
    int port, rc;
    wire_ccall_t *c;
    bson_t body;

    if (p == NULL || cmd == NULL || cb == NULL)
        return status_set(st, ERR_BadValue, "a call needs a pool, a command and a callback");
    ST_RET(wire__client_parse_host(host, name, sizeof(name), &port, st));
    if (bson_empty(cmd))
        return status_set(st, ERR_BadValue, "empty command document");
    if (deadline_us <= 0)
        return status_set(st, ERR_BadValue, "every call needs a deadline");
    bool has_db = bson_has_field(cmd, "$db");
    if (!has_db && (db == NULL || *db == '\0'))
        return status_set(st, ERR_BadValue, "a call needs a database name");
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return status_set(st, ERR_InternalError, "out of memory");
    c->pool = p;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->deadline_us = deadline_us;
    c->cb = cb;
    c->arg = arg;
    c->request_id = __atomic_add_fetch(&p->next_request_id, 1, __ATOMIC_RELAXED) & 0x7fffffff;
    wire_buf_init(&c->msg);
    bson_copy_to(cmd, &body);
    if (!has_db)
        BSON_APPEND_UTF8(&body, "$db", db);
    rc = wire_encode_op_msg(&c->msg, c->request_id, 0, 0, &body, st);
    bson_destroy(&body);
    if (rc != 0) {
        wire_buf_destroy(&c->msg);
        free(c);
        return rc;
    }
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        wire_buf_destroy(&c->msg);
        free(c);
        return status_set(st, ERR_ShutdownInProgress, "the client pool is shutting down");
    }
    if (p->submit_tail != NULL)
        p->submit_tail->next = c;
    else
        p->submit_head = c;
    p->submit_tail = c;
    /* under the lock, so the handle is never signalled after shutdown closed it */
    uv_async_send(&p->wakeup);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* sync_wait_t -- a blocked wire_client_run caller. */
typedef struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    bson_t *reply;
    status_t *st;
} sync_wait_t;

static void sync_done(void *arg, const bson_t *reply, const status_t *st)
{
    sync_wait_t *w = arg;
    bson_destroy(w->reply);
    bson_copy_to(reply, w->reply);
    status_copy(w->st, st);
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* wire_client_run -- wire_client_run_async and wait; the I/O thread enforces the deadline. */
int wire_client_run(wire_client_pool_t *p, const char *host, const char *db, const bson_t *cmd,
                    int64_t deadline_us, bson_t *reply, status_t *st)
{
    sync_wait_t w = {.done = false, .reply = reply, .st = st};
    int rc;

    bson_init(reply);
    if (p != NULL && pthread_equal(pthread_self(), p->thread))
        return status_set(st, ERR_IllegalOperation,
                          "wire_client_run on the client's own I/O thread would deadlock");
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    rc = wire_client_run_async(p, host, db, cmd, deadline_us, sync_done, &w, st);
    if (rc == 0) {
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        rc = st->code;
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return rc;
}

/* wire_client_pool_set_auth -- the exchange for connections made from now on. */
void wire_client_pool_set_auth(wire_client_pool_t *p, const wire_client_auth_t *auth)
{
    pthread_mutex_lock(&p->lock);
    if (auth != NULL)
        p->auth = *auth;
    else
        memset(&p->auth, 0, sizeof(p->auth));
    pthread_mutex_unlock(&p->lock);
}

/* wire_client_drop_host -- ask the loop to drop host's connections. */
void wire_client_drop_host(wire_client_pool_t *p, const char *host)
{
    char *copy = strdup(host);
    if (copy == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    char **grown = p->stopping ? NULL : realloc(p->drops, (p->n_drops + 1) * sizeof(char *));
    if (grown == NULL) {
        pthread_mutex_unlock(&p->lock);
        free(copy);
        return;
    }
    p->drops = grown;
    p->drops[p->n_drops++] = copy;
    uv_async_send(&p->wakeup);
    pthread_mutex_unlock(&p->lock);
}

/* wire_client_pool_stats -- a snapshot of the counters. */
void wire_client_pool_stats(wire_client_pool_t *p, wire_client_stats_t *out)
{
    const int64_t *src = (const int64_t *)&p->stats;
    int64_t *dst = (int64_t *)out;
    for (size_t i = 0; i < sizeof(*out) / sizeof(int64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
