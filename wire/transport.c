/*
 * transport.c -- the I/O loops: each loop thread owns its own listening
 * sockets (SO_REUSEPORT, so the kernel spreads new connections over the
 * loops; libuv 1.44 has no UV_TCP_REUSEPORT, so the sockets are made here and
 * handed over with uv_tcp_open), its connections, and a completion queue that
 * workers fill and uv_async_send drains.
 *
 * Stopping a loop: close the listeners, re-run parked commands at once, let
 * in-flight jobs finish and their replies be written (draining), then close
 * every connection and the wakeup handle so uv_run returns.
 */
#include "wire/transport_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* on_connection -- a listener has a client to accept. */
static void on_connection(uv_stream_t *server, int status)
{
    wire_loop_t *l = server->data;
    if (status < 0) {
        LOG(WARNING, NETWORK, 20002, "Error accepting new connection", "error",
            BCON_UTF8(uv_strerror(status)));
        return;
    }
    wire__conn_accept(l, server);
}

/* on_listener_closed -- nothing to free: listeners live in the loop's array. */
static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* close_listeners -- stop accepting on this loop. */
static void close_listeners(wire_loop_t *l)
{
    for (size_t i = 0; i < l->n_listeners; i++)
        if (!uv_is_closing((uv_handle_t *)&l->listeners[i]))
            uv_close((uv_handle_t *)&l->listeners[i], on_handle_closed);
}

/* wire__loop_finish_drain -- nothing in flight: close every connection and the loop. */
void wire__loop_finish_drain(wire_loop_t *l)
{
    pthread_mutex_lock(&l->lock);
    if (l->finished) {
        pthread_mutex_unlock(&l->lock);
        return;
    }
    l->finished = true;
    pthread_mutex_unlock(&l->lock);
    for (wire_conn_t *c = l->conns; c != NULL; c = c->next)
        wire__conn_close(c);
    close_listeners(l);
    uv_close((uv_handle_t *)&l->wakeup, on_handle_closed);
}

/* on_wakeup -- completions from workers, and stop/wake requests. */
static void on_wakeup(uv_async_t *a)
{
    wire_loop_t *l = a->data;
    wire_job_t *done;
    bool stop, wake;

    pthread_mutex_lock(&l->lock);
    done = l->done_head;
    l->done_head = l->done_tail = NULL;
    stop = l->stop_asked;
    wake = l->wake_asked;
    l->wake_asked = false;
    pthread_mutex_unlock(&l->lock);
    while (done != NULL) {
        wire_job_t *next = done->next;
        done->next = NULL;
        wire__conn_job_done(done);
        done = next;
    }
    if (wake || stop)
        while (l->parked != NULL)
            wire__conn_resume(l->parked);
    if (stop && !l->draining) {
        l->draining = true;
        close_listeners(l);
        if (l->n_busy == 0)
            wire__loop_finish_drain(l);
    }
}

/* wire__loop_signal -- ask a loop (from any thread) to stop and/or wake parked jobs. */
void wire__loop_signal(wire_loop_t *l, bool stop, bool wake)
{
    pthread_mutex_lock(&l->lock);
    l->stop_asked |= stop;
    l->wake_asked |= wake;
    if (!l->finished)
        uv_async_send(&l->wakeup);
    pthread_mutex_unlock(&l->lock);
}

/* open_listener -- one SO_REUSEPORT socket bound to addr, adopted by libuv. */
static int open_listener(wire_loop_t *l, uv_tcp_t *h, const struct sockaddr *addr, status_t *st)
{
    int one = 1;
    socklen_t alen =
        addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc;

    if (fd < 0)
        return status_set(st, WIRE_ERR_SOCKET, "socket(): %s", strerror(errno));
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (addr->sa_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, addr, alen) != 0) {
        int e = errno;
        close(fd);
        return status_set(st, WIRE_ERR_SOCKET, "bind() failed: %s", strerror(e));
    }
    if ((rc = uv_tcp_open(h, fd)) != 0) {
        close(fd);
        return status_set(st, WIRE_ERR_SOCKET, "uv_tcp_open: %s", uv_strerror(rc));
    }
    /* SOMAXCONN: bursts of thousands of connects (drivers' pools, the bench) must not be
     * refused by a short accept queue. */
    if ((rc = uv_listen((uv_stream_t *)h, SOMAXCONN, on_connection)) != 0)
        return status_set(st, WIRE_ERR_SOCKET, "listen(): %s", uv_strerror(rc));
    return 0;
}

/* wire__loop_init -- a loop with its listeners, not yet running. */
int wire__loop_init(wire_server_t *srv, wire_loop_t *l, int index, const struct sockaddr **addrs,
                    size_t n_addrs, status_t *st)
{
    int rc;

    l->srv = srv;
    l->index = index;
    pthread_mutex_init(&l->lock, NULL);
    if ((rc = uv_loop_init(&l->loop)) != 0)
        return status_set(st, ERR_InternalError, "uv_loop_init: %s", uv_strerror(rc));
    uv_async_init(&l->loop, &l->wakeup, on_wakeup);
    l->wakeup.data = l;
    l->rbuf = bson_malloc(WIRE_READ_CHUNK);
    l->listeners = bson_malloc0(sizeof(*l->listeners) * (n_addrs ? n_addrs : 1));
    for (size_t i = 0; i < n_addrs; i++) {
        /* initialised first, so that a failure below still closes it */
        uv_tcp_init(&l->loop, &l->listeners[i]);
        l->listeners[i].data = l;
        l->n_listeners++;
        ST_RET(open_listener(l, &l->listeners[i], addrs[i], st));
    }
    return 0;
}

/* loop_main -- the I/O thread. */
static void *loop_main(void *arg)
{
    wire_loop_t *l = arg;
    char ctx[32];
    (void)snprintf(ctx, sizeof(ctx), "listener%d", l->index);
    log_set_ctx(ctx);
    uv_run(&l->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* wire__loop_start -- run the loop on its own thread. */
int wire__loop_start(wire_loop_t *l, status_t *st)
{
    int rc = pthread_create(&l->thread, NULL, loop_main, l);
    if (rc != 0)
        return status_set(st, ERR_InternalError, "cannot start an I/O thread: %s", strerror(rc));
    l->started = true;
    return 0;
}

/* wire__loop_join -- wait for a stopped loop's thread. */
void wire__loop_join(wire_loop_t *l)
{
    if (l->started) {
        pthread_join(l->thread, NULL);
        l->started = false;
    }
}

/* wire__loop_destroy -- close what is left (a loop that never ran) and free. */
void wire__loop_destroy(wire_loop_t *l)
{
    if (l->srv == NULL)
        return;
    if (!l->finished) {
        l->finished = true;
        close_listeners(l);
        if (!uv_is_closing((uv_handle_t *)&l->wakeup))
            uv_close((uv_handle_t *)&l->wakeup, on_handle_closed);
    }
    uv_run(&l->loop, UV_RUN_DEFAULT); /* runs the close callbacks */
    (void)uv_loop_close(&l->loop);
    bson_free(l->listeners);
    bson_free(l->rbuf);
    pthread_mutex_destroy(&l->lock);
    l->srv = NULL;
}
