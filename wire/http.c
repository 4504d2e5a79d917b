/*
 * http.c -- a small HTTP/1.1 listener for scrape endpoints (Prometheus /metrics),
 * on a libuv loop of its own, apart from the wire-protocol transport.
 *
 * One request per connection: read the head (at most WIRE_HTTP_MAX_HEAD bytes),
 * take the method and path, build the body on libuv's thread pool
 * (uv_queue_work -- the loop thread never runs the handler, which may read
 * storage statistics), write the answer with Connection: close and close. A
 * scraper's every-15-seconds request does not need keep-alive, and closing
 * keeps the loop free of per-connection state between scrapes.
 */
#include "wire/wire.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* WIRE_HTTP_MAX_HEAD -- a scrape request's head is a few hundred bytes; more is refused. */
#define WIRE_HTTP_MAX_HEAD 8192
/* WIRE_HTTP_MAX_CONNS -- scrapers are few; beyond this a connection is closed at once. */
#define WIRE_HTTP_MAX_CONNS 64

typedef struct http_conn http_conn_t;

struct wire_http {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t stop;
    pthread_t thread;
    bool started;
    int port;
    int n_conns;
    wire_http_fn fn;
    void *arg;
    http_conn_t *conns;
};

struct http_conn {
    uv_tcp_t tcp;
    wire_http_t *h;
    char head[WIRE_HTTP_MAX_HEAD + 1];
    size_t got;
    bool working; /* the handler runs on the pool */
    bool closing;
    char method[16];
    char path[256];
    int status;
    const char *content_type;
    wire_buf_t body;
    char *out; /* the whole answer */
    uv_work_t work;
    uv_write_t wreq;
    http_conn_t *next, *prev;
};

/* on_conn_closed -- free a connection once its handle is gone. */
static void on_conn_closed(uv_handle_t *hd)
{
    http_conn_t *c = hd->data;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->h->n_conns--;
    wire_buf_destroy(&c->body);
    free(c->out);
    free(c);
}

/* conn_close -- close unless the handler still runs (after_work closes it then). */
static void conn_close(http_conn_t *c)
{
    c->closing = true;
    if (c->working)
        return;
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* on_written -- the answer is out: done with this connection. */
static void on_written(uv_write_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

/* reason -- the reason phrase of the statuses we send. */
static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Internal Server Error";
    }
}

/* respond -- write status + body and close after. */
static void respond(http_conn_t *c, int status, const char *ctype, const uint8_t *body, size_t len)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason(status), ctype ? ctype : "text/plain; charset=utf-8", len);
    bool head_only = strcmp(c->method, "HEAD") == 0;
    size_t total = (size_t)n + (head_only ? 0 : len);
    c->out = malloc(total ? total : 1);
    INVARIANT(c->out != NULL);
    memcpy(c->out, hdr, (size_t)n);
    if (!head_only && len > 0)
        memcpy(c->out + n, body, len);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)total);
    c->wreq.data = c;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        conn_close(c);
}

/* work_run -- on libuv's pool: the handler builds the body. */
static void work_run(uv_work_t *w)
{
    http_conn_t *c = w->data;
    c->content_type = NULL;
    c->status = c->h->fn(c->h->arg, c->method, c->path, &c->body, &c->content_type);
}

/* work_done -- back on the loop: send what the handler made. */
static void work_done(uv_work_t *w, int status)
{
    http_conn_t *c = w->data;
    c->working = false;
    if (c->closing || status != 0) {
        conn_close(c);
        return;
    }
    respond(c, c->status, c->content_type, c->body.data, c->body.len);
}

/* parse_head -- "GET /metrics?x HTTP/1.1": method and path (query string dropped). */
static bool parse_head(http_conn_t *c)
{
    char target[512];
    if (sscanf(c->head, "%15s %511s HTTP/1.%*c", c->method, target) != 2)
        return false;
    char *q = strchr(target, '?');
    if (q != NULL)
        *q = '\0';
    (void)snprintf(c->path, sizeof(c->path), "%s", target);
    return true;
}

/* on_alloc -- read straight into the head buffer. */
static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    http_conn_t *c = hd->data;
    (void)suggested;
    buf->base = c->head + c->got;
    buf->len = WIRE_HTTP_MAX_HEAD - c->got;
}

/* on_read -- collect the head; at its end, hand the request to the pool. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    http_conn_t *c = s->data;
    (void)buf;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->got += (size_t)n;
    c->head[c->got] = '\0';
    if (strstr(c->head, "\r\n\r\n") == NULL && strstr(c->head, "\n\n") == NULL) {
        if (c->got >= WIRE_HTTP_MAX_HEAD) {
            (void)snprintf(c->method, sizeof(c->method), "GET");
            respond(c, 431, NULL, (const uint8_t *)"request head too large\n", 23);
        }
        return;
    }
    uv_read_stop(s);
    if (!parse_head(c)) {
        (void)snprintf(c->method, sizeof(c->method), "GET");
        respond(c, 400, NULL, (const uint8_t *)"bad request\n", 12);
        return;
    }
    if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
        respond(c, 405, NULL, (const uint8_t *)"only GET\n", 9);
        return;
    }
    c->working = true;
    c->work.data = c;
    if (uv_queue_work(&c->h->loop, &c->work, work_run, work_done) != 0) {
        c->working = false;
        respond(c, 500, NULL, (const uint8_t *)"cannot queue\n", 13);
    }
}

/* on_connection -- accept one scraper connection. */
static void on_connection(uv_stream_t *server, int status)
{
    wire_http_t *h = server->data;
    if (status != 0)
        return;
    http_conn_t *c = calloc(1, sizeof(*c));
    INVARIANT(c != NULL);
    c->h = h;
    wire_buf_init(&c->body);
    uv_tcp_init(&h->loop, &c->tcp);
    c->tcp.data = c;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || h->n_conns > WIRE_HTTP_MAX_CONNS) {
        conn_close(c);
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

/* on_stop -- close the listener and every idle connection; the loop then ends. */
static void on_stop(uv_async_t *a)
{
    wire_http_t *h = a->data;
    uv_close((uv_handle_t *)&h->stop, NULL);
    if (!uv_is_closing((uv_handle_t *)&h->listener))
        uv_close((uv_handle_t *)&h->listener, NULL);
    for (http_conn_t *c = h->conns, *next; c != NULL; c = next) {
        next = c->next;
        conn_close(c);
    }
}

/* loop_main -- the listener's thread. */
static void *loop_main(void *arg)
{
    wire_http_t *h = arg;
    log_set_ctx("metrics");
    uv_run(&h->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* wire_http_start -- see wire.h. */
int wire_http_start(const char *bind_ip, int port, wire_http_fn fn, void *arg, wire_http_t **out,
                    status_t *st)
{
    struct sockaddr_storage ss;
    wire_http_t *h;
    int rc;

    *out = NULL;
    if (uv_ip4_addr(bind_ip, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(bind_ip, port, (struct sockaddr_in6 *)&ss) != 0)
        return status_set(st, ERR_BadValue, "metrics: cannot parse address %s", bind_ip);
    h = calloc(1, sizeof(*h));
    INVARIANT(h != NULL);
    h->fn = fn;
    h->arg = arg;
    uv_loop_init(&h->loop);
    uv_tcp_init(&h->loop, &h->listener);
    h->listener.data = h;
    uv_async_init(&h->loop, &h->stop, on_stop);
    h->stop.data = h;
    rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 16, on_connection);
    if (rc != 0) {
        status_set(st, WIRE_ERR_SOCKET, "metrics: cannot listen on %s:%d: %s", bind_ip, port,
                   uv_strerror(rc));
        uv_close((uv_handle_t *)&h->listener, NULL);
        uv_close((uv_handle_t *)&h->stop, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        uv_loop_close(&h->loop);
        free(h);
        return st->code;
    }
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    h->port = port;
    if (uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &blen) == 0)
        h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    if (pthread_create(&h->thread, NULL, loop_main, h) != 0) {
        uv_close((uv_handle_t *)&h->listener, NULL);
        uv_close((uv_handle_t *)&h->stop, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        uv_loop_close(&h->loop);
        free(h);
        return status_set(st, ERR_InternalError, "metrics: cannot start its thread");
    }
    h->started = true;
    *out = h;
    return 0;
}

/* wire_http_port -- the port it listens on. */
int wire_http_port(const wire_http_t *h)
{
    return h ? h->port : 0;
}

/* wire_http_stop -- stop listening, wait for running handlers, free. */
void wire_http_stop(wire_http_t *h)
{
    if (h == NULL)
        return;
    uv_async_send(&h->stop);
    pthread_join(h->thread, NULL);
    uv_loop_close(&h->loop);
    free(h);
}
