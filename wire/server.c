/*
 * server.c -- the server's life: resolve and probe the bind addresses, build
 * the loops and the worker pool (wire_server_create), run until a stop
 * (wire_server_run, on the caller's thread, which also takes SIGINT/SIGTERM),
 * then drain and join. Counters for serverStatus live here too.
 */
#include "wire/transport_int.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* WIRE_MAX_BIND_ADDRS -- addresses one server listens on (mongod users list a few). */
#define WIRE_MAX_BIND_ADDRS 16

/* resolve -- every address of the comma list, as sockaddrs. */
static int resolve(const char *list, int port, struct sockaddr_storage *out, size_t *n,
                   status_t *st)
{
    char *copy = bson_strdup(list), *save = NULL;
    char service[16];
    int ret = 0;

    *n = 0;
    (void)snprintf(service, sizeof(service), "%d", port);
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        struct addrinfo hints, *res = NULL;
        int rc;
        while (*tok == ' ')
            tok++;
        size_t tl = strlen(tok);
        while (tl > 0 && tok[tl - 1] == ' ')
            tok[--tl] = '\0';
        if (tl == 0)
            continue;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        if ((rc = getaddrinfo(tok, service, &hints, &res)) != 0) {
            ret = status_set(st, ERR_BadValue, "cannot resolve bind address '%s': %s", tok,
                             gai_strerror(rc));
            goto err;
        }
        for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
            bool dup = false;
            if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                continue;
            for (size_t i = 0; i < *n; i++)
                dup |= memcmp(&out[i], ai->ai_addr, ai->ai_addrlen) == 0;
            if (dup)
                continue;
            if (*n == WIRE_MAX_BIND_ADDRS) {
                freeaddrinfo(res);
                ret = status_set(st, ERR_BadValue, "too many bind addresses (at most %d)",
                                 WIRE_MAX_BIND_ADDRS);
                goto err;
            }
            memset(&out[*n], 0, sizeof(out[*n]));
            memcpy(&out[*n], ai->ai_addr, ai->ai_addrlen);
            (*n)++;
        }
        freeaddrinfo(res);
    }
    if (*n == 0)
        ret = status_set(st, ERR_BadValue, "no address to listen on in '%s'", list);
err:
    bson_free(copy);
    return ret;
}

/*
 * probe -- bind once WITHOUT SO_REUSEPORT: it fails if anyone already listens
 * there. Without it a second server would silently share the port with the
 * first through SO_REUSEPORT.
 */
static int probe(const struct sockaddr_storage *a, const char *list, int port, status_t *st)
{
    socklen_t alen =
        a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd = socket(a->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    int ret = 0;

    if (fd < 0)
        return status_set(st, WIRE_ERR_SOCKET, "socket(): %s", strerror(errno));
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)a, alen) != 0)
        ret = status_set(st, WIRE_ERR_SOCKET, "Failed to set up listener on %s:%d: %s", list, port,
                         strerror(errno));
    close(fd);
    return ret;
}

/* wire_server_create -- resolve, probe, and build loops and workers. */
int wire_server_create(const wire_server_config_t *cfg, wire_server_t **out, status_t *st)
{
    wire_server_t *srv = bson_malloc0(sizeof(*srv));
    struct sockaddr_storage addrs[WIRE_MAX_BIND_ADDRS];
    const struct sockaddr *ptrs[WIRE_MAX_BIND_ADDRS];
    size_t n_addrs = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int ret = 0;

    *out = NULL;
    pthread_mutex_init(&srv->lock, NULL);
    if (ncpu < 1)
        ncpu = 1;
    srv->cfg = *cfg;
    if (cfg->table == NULL)
        ST_ERR(status_set(st, ERR_BadValue, "a server needs a command table"));
    if (cfg->port <= 0 || cfg->port > 65535)
        ST_ERR(status_set(st, ERR_BadValue, "port must be between 1 and 65535, not %d", cfg->port));
    srv->bind_ip = bson_strdup(cfg->bind_ip_all ? "0.0.0.0"
                               : cfg->bind_ip   ? cfg->bind_ip
                                                : "127.0.0.1");
    srv->cfg.bind_ip = srv->bind_ip;
    if (srv->cfg.max_conns <= 0)
        srv->cfg.max_conns = 1000000;
    srv->n_loops = cfg->n_loops > 0 ? cfg->n_loops : (int)(ncpu > 64 ? 64 : ncpu);
    ST_ERR(wire__tls_ctx_create(cfg->tls, &srv->tls_ctx, st));
    ST_ERR(resolve(srv->bind_ip, cfg->port, addrs, &n_addrs, st));
    for (size_t i = 0; i < n_addrs; i++) {
        ST_ERR(probe(&addrs[i], srv->bind_ip, cfg->port, st));
        ptrs[i] = (const struct sockaddr *)&addrs[i];
    }
    uv_loop_init(&srv->ctl);
    srv->ctl_ready = true;
    srv->loops = bson_malloc0(sizeof(*srv->loops) * (size_t)srv->n_loops);
    for (int i = 0; i < srv->n_loops; i++)
        ST_ERR(wire__loop_init(srv, &srv->loops[i], i, ptrs, n_addrs, st));
    ST_ERR(wire__pool_create(cfg->min_workers > 0 ? cfg->min_workers : (int)ncpu * 2,
                             cfg->max_workers > 0 ? cfg->max_workers : 256, wire__job_run,
                             &srv->pool, st));
    *out = srv;
    return 0;
err:
    wire_server_destroy(srv);
    return ret;
}

/* on_ctl_closed -- control handles are embedded in the server. */
static void on_ctl_closed(uv_handle_t *h)
{
    (void)h;
}

/* on_stop -- on the control loop: tell every I/O loop, then let uv_run return. */
static void on_stop(uv_async_t *a)
{
    wire_server_t *srv = a->data;
    LOG(INFO, CONTROL, 20010, "Stopping the transport", "reason", BCON_UTF8(srv->stop_reason));
    for (int i = 0; i < srv->n_loops; i++)
        wire__loop_signal(&srv->loops[i], true, false);
    pthread_mutex_lock(&srv->lock);
    srv->ctl_closed = true;
    pthread_mutex_unlock(&srv->lock);
    uv_close((uv_handle_t *)&srv->ctl_stop, on_ctl_closed);
    if (srv->cfg.handle_signals) {
        uv_close((uv_handle_t *)&srv->sig_int, on_ctl_closed);
        uv_close((uv_handle_t *)&srv->sig_term, on_ctl_closed);
    }
}

/* on_signal -- SIGINT / SIGTERM: a clean stop, as mongod does. */
static void on_signal(uv_signal_t *s, int signum)
{
    wire_server_t *srv = s->data;
    LOG(INFO, CONTROL, 23377, "Received signal", "signal", BCON_INT32(signum), "error",
        BCON_UTF8(strsignal(signum)));
    wire_server_stop(srv, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* wire_server_run -- serve until stopped; returns once everything is drained. */
int wire_server_run(wire_server_t *srv, status_t *st)
{
    int ret = 0;

    uv_async_init(&srv->ctl, &srv->ctl_stop, on_stop);
    srv->ctl_stop.data = srv;
    if (srv->cfg.handle_signals) {
        uv_signal_init(&srv->ctl, &srv->sig_int);
        uv_signal_init(&srv->ctl, &srv->sig_term);
        srv->sig_int.data = srv->sig_term.data = srv;
        uv_signal_start(&srv->sig_int, on_signal, SIGINT);
        uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
    }
    pthread_mutex_lock(&srv->lock);
    srv->ctl_running = true;
    bool early = srv->stopping;
    pthread_mutex_unlock(&srv->lock);
    if (early)
        uv_async_send(&srv->ctl_stop);
    for (int i = 0; i < srv->n_loops; i++) {
        if ((ret = wire__loop_start(&srv->loops[i], st)) != 0) {
            wire_server_stop(srv, "start-up failure");
            break;
        }
    }
    if (ret == 0)
        LOG(INFO, NETWORK, 23016, "Waiting for connections", "port", BCON_INT32(srv->cfg.port),
            "ssl", BCON_UTF8(srv->tls_ctx != NULL ? "on" : "off"));
    uv_run(&srv->ctl, UV_RUN_DEFAULT);
    for (int i = 0; i < srv->n_loops; i++)
        wire__loop_join(&srv->loops[i]);
    wire__pool_destroy(srv->pool);
    srv->pool = NULL;
    LOG(INFO, NETWORK, 20011, "Transport stopped");
    return ret;
}

/* wire_server_stop -- thread-safe stop request. */
void wire_server_stop(wire_server_t *srv, const char *reason)
{
    /* running operations stop at their next yield point (InterruptedAtShutdown), as mongod's */
    wire_curop_kill_all(ERR_InterruptedAtShutdown);
    /* a command paused at a failpoint must not hold the drain up */
    fp_release_all();
    pthread_mutex_lock(&srv->lock);
    if (!srv->stopping) {
        __atomic_store_n(&srv->stopping, true, __ATOMIC_RELAXED); /* read without the lock */
        (void)snprintf(srv->stop_reason, sizeof(srv->stop_reason), "%s", reason);
    }
    if (srv->ctl_running && !srv->ctl_closed)
        uv_async_send(&srv->ctl_stop);
    pthread_mutex_unlock(&srv->lock);
}

/* wire_server_stopping -- whether a stop was asked. */
bool wire_server_stopping(const wire_server_t *srv)
{
    return __atomic_load_n(&srv->stopping, __ATOMIC_RELAXED);
}

/* wire_server_wake -- parked awaitable commands re-run now (topology changed). */
void wire_server_wake(wire_server_t *srv)
{
    for (int i = 0; i < srv->n_loops; i++)
        wire__loop_signal(&srv->loops[i], false, true);
}

#define LOAD(x) __atomic_load_n(&srv->x, __ATOMIC_RELAXED)

/* wire_server_stats -- a snapshot of the counters. */
void wire_server_stats(const wire_server_t *srv, wire_server_stats_t *out)
{
    out->conns_current = LOAD(conns_current);
    out->conns_total = LOAD(conns_total);
    out->conns_awaiting = LOAD(conns_awaiting);
    out->conns_active = LOAD(conns_active) - out->conns_awaiting;
    out->conns_rejected = LOAD(conns_rejected);
    out->bytes_in = LOAD(bytes_in);
    out->bytes_out = LOAD(bytes_out);
    out->num_requests = LOAD(num_requests);
}

/* wire_server_max_conns -- the configured limit. */
int wire_server_max_conns(const wire_server_t *srv)
{
    return srv->cfg.max_conns;
}

/* wire_server_destroy -- free a server that is not running. */
void wire_server_destroy(wire_server_t *srv)
{
    if (srv == NULL)
        return;
    wire__pool_destroy(srv->pool);
    for (int i = 0; srv->loops != NULL && i < srv->n_loops; i++)
        wire__loop_destroy(&srv->loops[i]);
    if (srv->ctl_ready) {
        uv_run(&srv->ctl, UV_RUN_DEFAULT);
        (void)uv_loop_close(&srv->ctl);
    }
    bson_free(srv->loops);
    bson_free(srv->bind_ip);
    SSL_CTX_free(srv->tls_ctx);
    pthread_mutex_destroy(&srv->lock);
    bson_free(srv);
}
