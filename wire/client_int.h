/*
 * client_int.h -- private to wire/'s intra-cluster client (client.c: the pool,
 * hosts, calls and deadlines; client_conn.c: one connection's set-up, reads and
 * writes). Nothing outside wire/ includes it.
 *
 * The shape: a wire_client_pool_t owns one I/O thread running a libuv loop.
 * Callers encode their command on their own thread into a call (wire_ccall_t)
 * and push it on the pool's submit queue (mutex + uv_async_send). On the loop
 * the call finds its host (wire_chost_t), takes an idle connection
 * (wire_cconn_t) or waits on the host's pending list while a new connection is
 * set up (TCP connect from bind_ip, hello, optional auth exchange). Everything
 * below the submit queue is touched by the loop thread only, so it needs no
 * lock; the counters are atomics read by wire_client_pool_stats.
 */
#ifndef MICA_WIRE_CLIENT_INT_H
#define MICA_WIRE_CLIENT_INT_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <uv.h>

#include "wire/wire.h"

/* A host string: a DNS name (253) or bracketed IPv6, ':' and a port. */
#define WIRE_CLIENT_HOST_MAX 272

/*
 * WIRE_CLIENT_DEFAULT_PER_HOST -- connections per host when the options say 0.
 * Replication needs a handful per peer (heartbeats, the oplog fetcher's awaitData
 * getMore, position reports, votes); 16 leaves room for a router's scatter of
 * concurrent operations without letting one slow host soak up descriptors.
 */
#define WIRE_CLIENT_DEFAULT_PER_HOST 16
/* WIRE_CLIENT_DEFAULT_CONNECT_MS -- MongoDB's default connectTimeoutMS (10 s). */
#define WIRE_CLIENT_DEFAULT_CONNECT_MS 10000
/*
 * Back-off after a failed connection set-up: 10 ms doubling to 1 s. A host that
 * refuses connections is dialled at most once a second instead of once per call;
 * 1 s stays under replication's 2 s heartbeat interval, so a restarted member is
 * seen again by the next heartbeat. Calls made during the back-off wait for it to
 * end (or their deadline) rather than fail at once.
 */
#define WIRE_CLIENT_BACKOFF_MIN_MS 10
#define WIRE_CLIENT_BACKOFF_MAX_MS 1000
/* WIRE_CLIENT_READ_CHUNK -- the loop's one read buffer, shared by its connections. */
#define WIRE_CLIENT_READ_CHUNK (64 * 1024)

typedef struct wire_ccall wire_ccall_t;
typedef struct wire_cconn wire_cconn_t;
typedef struct wire_chost wire_chost_t;

/* wire_ccall_t -- one call from submission to callback. */
struct wire_ccall {
    wire_ccall_t *next, *prev; /* submit queue (next only), then the host's pending list */
    wire_client_pool_t *pool;
    char host[WIRE_CLIENT_HOST_MAX];
    wire_buf_t msg; /* the encoded OP_MSG */
    int32_t request_id;
    int64_t deadline_us;
    wire_client_cb cb;
    void *arg;
    wire_chost_t *h;
    wire_cconn_t *conn; /* the connection it is in flight on */
    uv_timer_t timer;   /* the deadline */
    uv_write_t wreq;
    bool timer_open; /* initialised and its close callback not yet run */
    bool writing;    /* a uv_write of msg has not called back yet */
    bool pending;    /* on h's pending list */
    bool done;       /* cb has run */
};

/* Connection states, in set-up order. */
typedef enum wire_cconn_state {
    WIRE_CCONN_RESOLVING,
    WIRE_CCONN_CONNECTING,
    WIRE_CCONN_TLS, /* TLS handshake (pools with TLS only) */
    WIRE_CCONN_HELLO,
    WIRE_CCONN_AUTH,
    WIRE_CCONN_IDLE,
    WIRE_CCONN_BUSY,
    WIRE_CCONN_CLOSING,
} wire_cconn_state_t;

/* wire_cconn_t -- one pooled connection (loop thread only). */
struct wire_cconn {
    uv_tcp_t tcp;
    uv_timer_t timer; /* set-up deadline (connect_timeout_ms) */
    uv_connect_t connect;
    uv_getaddrinfo_t gai;
    int open_handles; /* tcp and timer until their close callbacks ran */
    bool gai_active;  /* a uv_getaddrinfo has not called back yet */
    bool drop;        /* close instead of going idle (wire_client_drop_host) */
    wire_cconn_state_t state;
    wire_chost_t *h;
    wire_ccall_t *call; /* in flight */
    int32_t expect_id;  /* responseTo of the reply awaited */
    wire_client_auth_t auth;
    void *auth_state;
    SSL *ssl;      /* TLS session on memory BIOs (pool has a tls_ctx), else NULL */
    BIO *tls_rbio; /* ciphertext from the peer (owned by ssl) */
    BIO *tls_wbio; /* ciphertext to the peer (owned by ssl) */
    uint8_t hdr[WIRE_HEADER_LEN];
    size_t hdr_got;
    uint8_t *frame; /* reply being received (NULL between frames) */
    size_t frame_len, frame_got;
    wire_cconn_t *next, *prev;           /* h's connections */
    wire_cconn_t *idle_next, *idle_prev; /* h's idle stack */
    bool idle;
};

/* wire_chost_t -- one peer: its connections, idle stack, waiting calls and back-off. */
struct wire_chost {
    wire_client_pool_t *pool;
    char name[WIRE_CLIENT_HOST_MAX]; /* as callers spell it: "h:p" */
    char hostname[WIRE_CLIENT_HOST_MAX];
    int port;
    wire_cconn_t *conns;
    wire_cconn_t *idle;
    int n_conns; /* all, set-up ones included */
    int n_setup;
    wire_ccall_t *pending_head, *pending_tail;
    int n_pending;
    int failures;        /* consecutive failed set-ups */
    int64_t retry_at_us; /* no new connection before this (back-off) */
    status_t last_error; /* of the last failed set-up */
    uv_timer_t retry;    /* fires at retry_at_us while calls wait */
    wire_chost_t *next;
};

/* wire_client_pool_t -- the pool. */
struct wire_client_pool {
    wire_client_opts_t opts; /* strings point into the copies below */
    char *bind_ip;
    char *app_name;
    SSL_CTX *tls_ctx; /* opts.tls loaded; NULL: plain connections */
    bool tls_check_host;
    struct sockaddr_storage bind_addr;
    bool has_bind;
    uv_loop_t loop;
    uv_async_t wakeup;
    pthread_t thread;
    pthread_mutex_t lock;      /* guards the fields down to auth */
    wire_ccall_t *submit_head; /* calls handed over by callers */
    wire_ccall_t *submit_tail;
    char **drops; /* hosts to drop (wire_client_drop_host) */
    size_t n_drops;
    bool stopping;
    wire_client_auth_t auth;
    /* loop thread only */
    bool stopped; /* the loop has begun closing everything */
    wire_chost_t *hosts;
    uint8_t *rbuf;             /* WIRE_CLIENT_READ_CHUNK */
    int32_t next_request_id;   /* atomic */
    wire_client_stats_t stats; /* atomics */
};

/* client.c, used by client_conn.c */
void wire__ccall_complete(wire_ccall_t *c, const bson_t *reply, const status_t *st);
void wire__ccall_write_done(wire_ccall_t *c);
void wire__chost_conn_ready(wire_chost_t *h, wire_cconn_t *conn, bool was_setup);
void wire__chost_conn_closed(wire_chost_t *h, wire_cconn_t *conn, bool was_setup,
                             const status_t *st);
int wire__client_reply_status(const bson_t *reply, status_t *st);

/* client_conn.c */
int wire__client_tls_ctx(const wire_tls_client_config_t *cfg, SSL_CTX **out, status_t *st);
int wire__cconn_start(wire_chost_t *h, status_t *st);
void wire__cconn_send(wire_cconn_t *conn, wire_ccall_t *c);
void wire__cconn_fail(wire_cconn_t *conn, const status_t *st);

/* wire__client_parse_host -- "name:port", "[v6]:port" or "name" (port 27017). */
int wire__client_parse_host(const char *s, char *name, size_t name_len, int *port, status_t *st);

#define WIRE_CLIENT_STAT_ADD(p, field, n)                                                          \
    __atomic_add_fetch(&(p)->stats.field, (n), __ATOMIC_RELAXED)

#endif /* MICA_WIRE_CLIENT_INT_H */
