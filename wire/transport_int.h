/*
 * transport_int.h -- private to wire/'s server transport (transport.c,
 * conn.c, server.c, server_pool.c). Nothing outside wire/ includes it.
 *
 * The shape: wire_server_t owns N I/O loops (wire_loop_t, one thread each,
 * each with its own SO_REUSEPORT listening sockets) and one worker pool. A
 * connection (wire_conn_t) belongs to one loop for its whole life. A complete
 * frame becomes a job (wire_job_t) that runs on a worker and comes back to the
 * loop through the loop's completion queue and uv_async_send.
 */
#ifndef MICA_WIRE_TRANSPORT_INT_H
#define MICA_WIRE_TRANSPORT_INT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <uv.h>

#include "wire/wire.h"

/*
 * WIRE_READ_CHUNK -- one shared read buffer per loop: libuv reads into it and
 * the bytes are copied out at once (header into the connection, body into the
 * frame buffer), so an idle connection owns no read buffer at all. 64 KiB
 * matches a socket's typical receive window.
 */
#define WIRE_READ_CHUNK (64 * 1024)
/*
 * WIRE_STASH_MAX -- bytes of pipelined requests kept while one is in flight;
 * past this the connection stops reading and TCP pushes back on the client.
 */
#define WIRE_STASH_MAX (256 * 1024)

typedef struct wire_loop wire_loop_t;
typedef struct wire_conn wire_conn_t;
typedef struct wire_job wire_job_t;
typedef struct wire_tls wire_tls_t;

/* wire_job_t -- one request from frame to reply. */
struct wire_job {
    wire_job_t *next; /* completion queue / pool queue / parked list */
    wire_job_t **pprev_parked;
    wire_conn_t *conn; /* owning connection (a loop-thread object) */
    wire_loop_t *loop;
    uint8_t *frame; /* the whole message, owned */
    size_t frame_len;
    wire_request_t req;
    bool parsed;
    wire_opctx_t op;
    bson_t reply;
    wire_buf_t out;   /* the encoded reply */
    bool no_reply;    /* moreToCome request */
    uv_timer_t *park; /* while parked on the loop */
    uv_write_t wreq;
};

/* wire_conn_t -- one client connection; lives on its loop's thread only. */
struct wire_conn {
    uv_tcp_t tcp; /* first: the handle's data points back here */
    wire_loop_t *loop;
    wire_conn_info_t info;
    uint8_t hdr[WIRE_HEADER_LEN];
    uint8_t hdr_got;
    bool busy;    /* a job is in flight (worker, parked or writing) */
    bool closing; /* close asked; the handle closes once not busy */
    bool reading;
    uint8_t *frame; /* body being received (NULL between frames) */
    size_t frame_len, frame_got;
    uint8_t *stash; /* pipelined bytes received while busy */
    size_t stash_len;
    wire_job_t *job;          /* the job in flight */
    wire_conn_t *next, *prev; /* the loop's connections */
    wire_tls_t *tls;          /* TLS session (tls.c), NULL on a plain connection */
    bool tls_decided;         /* TLS-enabled server: the first bytes were looked at */
    uint8_t tls_npeek;
    uint8_t tls_peek[2];
};

/* wire_loop_t -- one I/O thread. */
struct wire_loop {
    wire_server_t *srv;
    int index;
    uv_loop_t loop;
    uv_async_t wakeup;
    pthread_t thread;
    uv_tcp_t *listeners;
    size_t n_listeners;
    uint8_t *rbuf;         /* WIRE_READ_CHUNK, shared by this loop's connections */
    pthread_mutex_t lock;  /* guards done_head/tail and the flags below */
    wire_job_t *done_head; /* jobs back from workers */
    wire_job_t *done_tail;
    bool stop_asked;
    bool wake_asked;
    bool draining;  /* listeners closed, waiting for in-flight jobs */
    int64_t n_busy; /* connections with a job in flight (loop thread only) */
    wire_job_t *parked;
    wire_conn_t *conns;
    bool finished; /* every handle closed or closing */
    bool started;  /* the thread runs */
};

typedef struct wire_pool wire_pool_t;

/* wire_server_t -- the whole transport. */
struct wire_server {
    wire_server_config_t cfg;
    char *bind_ip;
    wire_loop_t *loops;
    int n_loops;
    wire_pool_t *pool;
    uv_loop_t ctl;       /* the control loop on wire_server_run's thread */
    uv_async_t ctl_stop; /* wire_server_stop -> here */
    uv_signal_t sig_int, sig_term;
    pthread_mutex_t lock; /* stopping and the ctl_* flags */
    bool stopping;
    bool ctl_ready, ctl_running, ctl_closed;
    char stop_reason[64];
    SSL_CTX *tls_ctx; /* NULL: TLS disabled */
    int64_t next_conn_id;
    /* counters (atomics) */
    int64_t conns_current, conns_total, conns_active, conns_rejected, conns_awaiting;
    int64_t bytes_in, bytes_out, num_requests;
};

/* Worker pool (server_pool.c). */
int wire__pool_create(int min_threads, int max_threads, void (*run)(wire_job_t *),
                      wire_pool_t **out, status_t *st);
void wire__pool_submit(wire_pool_t *p, wire_job_t *job);
void wire__pool_destroy(wire_pool_t *p);

/* Loops and connections (transport.c, conn.c). */
int wire__loop_init(wire_server_t *srv, wire_loop_t *l, int index, const struct sockaddr **addrs,
                    size_t n_addrs, status_t *st);
int wire__loop_start(wire_loop_t *l, status_t *st);
void wire__loop_signal(wire_loop_t *l, bool stop, bool wake);
void wire__loop_join(wire_loop_t *l);
void wire__loop_destroy(wire_loop_t *l);
void wire__loop_finish_drain(wire_loop_t *l);
void wire__conn_close(wire_conn_t *c);
void wire__conn_accept(wire_loop_t *l, uv_stream_t *listener);
void wire__conn_job_done(wire_job_t *job);
void wire__conn_resume(wire_job_t *job);
void wire__job_run(wire_job_t *job);
void wire__job_free(wire_job_t *job);
/* wire__conn_feed -- plaintext into the read path (framing, jobs); conn.c. */
void wire__conn_feed(wire_conn_t *c, const uint8_t *data, size_t n);
/* wire__conn_write_done -- a reply's write finished (status from libuv); conn.c. */
void wire__conn_write_done(wire_job_t *job, int status);

/* TLS through memory BIOs (tls.c). */
int wire__tls_ctx_create(const wire_tls_config_t *cfg, SSL_CTX **out, status_t *st);
void wire__tls_first_bytes(wire_conn_t *c, const uint8_t *data, size_t n);
void wire__tls_on_read(wire_conn_t *c, const uint8_t *data, size_t n);
int wire__tls_write(wire_conn_t *c, wire_job_t *job);
void wire__tls_free(wire_tls_t *t);

#endif /* MICA_WIRE_TRANSPORT_INT_H */
