/*
 * client_conn.c -- one connection of the intra-cluster client, on the pool's
 * loop thread: resolve, bind to bind_ip, connect, the TLS handshake when the
 * pool has TLS, hello (with the client metadata), the optional auth exchange,
 * then calls one at a time. TLS runs on memory BIOs as the server's does
 * (wire/tls.c): libuv moves ciphertext, OpenSSL never touches the socket, and
 * everything above the two hooks (tls_send on the way out, tls_feed on the
 * way in) is the same with and without it. Replies are
 * framed with wire_parse_header and parsed with wire_request_parse, which
 * checks every BSON document (wire_bson_check) before anyone reads it; any
 * malformation closes the connection and fails its call with the parse error.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/client_int.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* setup_write_t -- a hello or auth message being written (set-up is rare: allocate). */
typedef struct setup_write {
    uv_write_t w;
    wire_buf_t buf;
} setup_write_t;

/* stat_gauge -- the counter a state is counted in, or NULL. */
static int64_t *stat_gauge(wire_client_pool_t *p, wire_cconn_state_t s)
{
    switch (s) {
    case WIRE_CCONN_RESOLVING:
    case WIRE_CCONN_CONNECTING:
    case WIRE_CCONN_TLS:
    case WIRE_CCONN_HELLO:
    case WIRE_CCONN_AUTH:
        return &p->stats.conns_setup;
    case WIRE_CCONN_IDLE:
        return &p->stats.conns_idle;
    case WIRE_CCONN_BUSY:
        return &p->stats.conns_in_use;
    default:
        return NULL;
    }
}

/* set_state -- move conn to s, keeping the gauges in step. */
static void set_state(wire_cconn_t *conn, wire_cconn_state_t s)
{
    int64_t *from = stat_gauge(conn->h->pool, conn->state), *to = stat_gauge(conn->h->pool, s);
    if (from != NULL)
        __atomic_sub_fetch(from, 1, __ATOMIC_RELAXED);
    if (to != NULL)
        __atomic_add_fetch(to, 1, __ATOMIC_RELAXED);
    conn->state = s;
}

/* conn_maybe_free -- free conn once its handles closed and no lookup is out. */
static void conn_maybe_free(wire_cconn_t *conn)
{
    if (conn->open_handles > 0 || conn->gai_active)
        return;
    if (conn->auth_state != NULL && conn->auth.free_state != NULL)
        conn->auth.free_state(conn->auth.arg, conn->auth_state);
    SSL_free(conn->ssl); /* and both BIOs */
    free(conn->frame);
    free(conn);
}

static void on_handle_closed(uv_handle_t *h)
{
    wire_cconn_t *conn = h->data;
    conn->open_handles--;
    conn_maybe_free(conn);
}

/*
 * wire__cconn_fail -- close conn: its call (if any) fails with st, its handles
 * close, the host forgets it (a failed set-up starts the host's back-off).
 */
void wire__cconn_fail(wire_cconn_t *conn, const status_t *st)
{
    bool was_setup;

    if (conn->state == WIRE_CCONN_CLOSING)
        return;
    was_setup = conn->state < WIRE_CCONN_IDLE;
    if (conn->call != NULL)
        wire__ccall_complete(conn->call, NULL, st);
    set_state(conn, WIRE_CCONN_CLOSING);
    LOG(DEBUG1, NETWORK, 20103, "Closing a cluster connection", "host", BCON_UTF8(conn->h->name),
        "reason", BCON_UTF8(st->msg));
    if (conn->gai_active)
        uv_cancel((uv_req_t *)&conn->gai);
    uv_close((uv_handle_t *)&conn->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&conn->timer, on_handle_closed);
    wire__chost_conn_closed(conn->h, conn, was_setup, st);
}

/* fail_errno -- close conn with a HostUnreachable built from a libuv error. */
static void fail_uv(wire_cconn_t *conn, const char *what, int uverr)
{
    status_t st = STATUS_INIT;
    status_set(&st, ERR_HostUnreachable, "%s %s :: caused by :: %s", what, conn->h->name,
               uv_strerror(uverr));
    wire__cconn_fail(conn, &st);
}

/* ------------------------------------------------------------------------ */
/* TLS                                                                       */
/* ------------------------------------------------------------------------ */

/* tls_write_t -- one uv_write of ciphertext (owns its bytes). */
typedef struct tls_write {
    uv_write_t w;
    size_t len;
    uint8_t data[];
} tls_write_t;

/* ssl_error -- OpenSSL's queued error as text (the queue emptied). */
static const char *ssl_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return "the peer closed the connection during the handshake";
    ERR_error_string_n(e, buf, len);
    return buf;
}

/* wire__client_tls_ctx -- the pool's SSL_CTX: TLS 1.2+, our certificate, the CAs. */
int wire__client_tls_ctx(const wire_tls_client_config_t *cfg, SSL_CTX **out, status_t *st)
{
    char err[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    *out = NULL;
    if (ctx == NULL)
        return status_set(st, ERR_InvalidSSLConfiguration, "SSL_CTX_new: %s",
                          ssl_error(err, sizeof(err)));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (cfg->certificate_key_file != NULL &&
        (SSL_CTX_use_certificate_chain_file(ctx, cfg->certificate_key_file) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, cfg->certificate_key_file, SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(ctx) != 1)) {
        status_set(st, ERR_InvalidSSLConfiguration, "cannot read PEM key file %s: %s",
                   cfg->certificate_key_file, ssl_error(err, sizeof(err)));
        SSL_CTX_free(ctx);
        return st->code;
    }
    if ((cfg->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL)
                              : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
        status_set(st, ERR_InvalidSSLConfiguration, "cannot read certificate authority file %s: %s",
                   cfg->ca_file != NULL ? cfg->ca_file : "(system)", ssl_error(err, sizeof(err)));
        SSL_CTX_free(ctx);
        return st->code;
    }
    SSL_CTX_set_verify(ctx, cfg->allow_invalid_certificates ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       NULL);
    *out = ctx;
    return 0;
}

static void on_tls_written(uv_write_t *w, int status)
{
    wire_cconn_t *conn = w->handle->data;
    if (status < 0 && conn->state != WIRE_CCONN_CLOSING)
        fail_uv(conn, "Error sending to", status);
    free(w);
}

/* tls_flush -- write out whatever OpenSSL put in the write BIO. */
static void tls_flush(wire_cconn_t *conn)
{
    size_t pending = BIO_ctrl_pending(conn->tls_wbio);
    tls_write_t *tw;
    int rc;

    if (pending == 0 || conn->state == WIRE_CCONN_CLOSING)
        return;
    if ((tw = malloc(sizeof(*tw) + pending)) == NULL) {
        status_t st = STATUS_INIT;
        status_set(&st, ERR_InternalError, "out of memory");
        wire__cconn_fail(conn, &st);
        return;
    }
    tw->len = (size_t)BIO_read(conn->tls_wbio, tw->data, (int)pending);
    uv_buf_t b = uv_buf_init((char *)tw->data, (unsigned)tw->len);
    if ((rc = uv_write(&tw->w, (uv_stream_t *)&conn->tcp, &b, 1, on_tls_written)) != 0) {
        free(tw);
        fail_uv(conn, "Error sending to", rc);
    }
}

/* tls_send -- encrypt plaintext into the write BIO and send it (the caller keeps data). */
static void tls_send(wire_cconn_t *conn, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t take = len - off;
        int w = SSL_write(conn->ssl, data + off, (int)(take > INT32_MAX ? INT32_MAX : take));
        if (w <= 0) { /* memory BIOs grow: anything else is a broken session */
            char err[256];
            status_t st = STATUS_INIT;
            status_set(&st, ERR_HostUnreachable, "TLS error sending to %s: %s", conn->h->name,
                       ssl_error(err, sizeof(err)));
            wire__cconn_fail(conn, &st);
            return;
        }
        off += (size_t)w;
    }
    tls_flush(conn);
}

/* tls_start -- the TCP connection is up: a client session that checks the peer's name. */
static int tls_start(wire_cconn_t *conn)
{
    wire_client_pool_t *p = conn->h->pool;
    const char *name = conn->h->hostname;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;

    conn->ssl = SSL_new(p->tls_ctx);
    conn->tls_rbio = BIO_new(BIO_s_mem());
    conn->tls_wbio = BIO_new(BIO_s_mem());
    if (conn->ssl == NULL || conn->tls_rbio == NULL || conn->tls_wbio == NULL) {
        BIO_free(conn->tls_rbio);
        BIO_free(conn->tls_wbio);
        conn->tls_rbio = conn->tls_wbio = NULL;
        return -1;
    }
    BIO_set_mem_eof_return(conn->tls_rbio, -1);
    BIO_set_mem_eof_return(conn->tls_wbio, -1);
    SSL_set_bio(conn->ssl, conn->tls_rbio, conn->tls_wbio);
    SSL_set_connect_state(conn->ssl);
    if (!is_ip)
        SSL_set_tlsext_host_name(conn->ssl, name);
    if (p->tls_check_host) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(conn->ssl);
        if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
                   : X509_VERIFY_PARAM_set1_host(vp, name, 0)) != 1)
            return -1;
    }
    return 0;
}

static void send_hello(wire_cconn_t *conn);
static void feed(wire_cconn_t *conn, const uint8_t *p, size_t n);

/* tls_handshake -- one step; on completion the wire protocol starts with hello. */
static void tls_handshake(wire_cconn_t *conn)
{
    int rc = SSL_do_handshake(conn->ssl);
    tls_flush(conn);
    if (conn->state == WIRE_CCONN_CLOSING)
        return;
    if (rc == 1) {
        LOG(DEBUG1, NETWORK, 23210, "TLS handshake with a cluster member done", "host",
            BCON_UTF8(conn->h->name), "protocol", BCON_UTF8(SSL_get_version(conn->ssl)));
        send_hello(conn);
        return;
    }
    int e = SSL_get_error(conn->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return;
    char err[256];
    status_t st = STATUS_INIT;
    long vr = SSL_get_verify_result(conn->ssl);
    if (vr != X509_V_OK)
        status_set(&st, ERR_SSLHandshakeFailed,
                   "TLS handshake with %s failed: the peer's certificate: %s", conn->h->name,
                   X509_verify_cert_error_string(vr));
    else
        status_set(&st, ERR_SSLHandshakeFailed, "TLS handshake with %s failed: %s", conn->h->name,
                   ssl_error(err, sizeof(err)));
    ERR_clear_error();
    wire__cconn_fail(conn, &st);
}

/* tls_feed -- ciphertext from the socket: handshake, then plaintext to feed(). */
static void tls_feed(wire_cconn_t *conn, const uint8_t *data, size_t n)
{
    uint8_t plain[16 * 1024];

    if (BIO_write(conn->tls_rbio, data, (int)n) != (int)n) {
        status_t st = STATUS_INIT;
        status_set(&st, ERR_InternalError, "TLS buffer for %s: out of memory", conn->h->name);
        wire__cconn_fail(conn, &st);
        return;
    }
    if (conn->state == WIRE_CCONN_TLS) {
        tls_handshake(conn);
        if (conn->state == WIRE_CCONN_TLS || conn->state == WIRE_CCONN_CLOSING)
            return;
    }
    while (conn->state != WIRE_CCONN_CLOSING) {
        int r = SSL_read(conn->ssl, plain, sizeof(plain));
        if (r > 0) {
            feed(conn, plain, (size_t)r);
            continue;
        }
        int e = SSL_get_error(conn->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        char err[256];
        status_t st = STATUS_INIT;
        if (e == SSL_ERROR_ZERO_RETURN)
            status_set(&st, ERR_HostUnreachable, "Connection closed by peer %s", conn->h->name);
        else
            status_set(&st, ERR_HostUnreachable, "TLS error reading from %s: %s", conn->h->name,
                       ssl_error(err, sizeof(err)));
        wire__cconn_fail(conn, &st);
        return;
    }
    tls_flush(conn); /* e.g. a key update answered while reading */
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static void on_setup_written(uv_write_t *w, int status)
{
    setup_write_t *sw = (setup_write_t *)w;
    wire_cconn_t *conn = w->handle->data;
    if (status < 0 && conn->state != WIRE_CCONN_CLOSING)
        fail_uv(conn, "Error sending to", status);
    wire_buf_destroy(&sw->buf);
    free(sw);
}

/* send_setup -- write a hello or auth command (body gets $db if it has none). */
static void send_setup(wire_cconn_t *conn, bson_t *body)
{
    wire_client_pool_t *p = conn->h->pool;
    setup_write_t *sw = calloc(1, sizeof(*sw));
    status_t st = STATUS_INIT;
    int32_t id = __atomic_add_fetch(&p->next_request_id, 1, __ATOMIC_RELAXED) & 0x7fffffff;
    int rc;

    if (sw == NULL) {
        status_set(&st, ERR_InternalError, "out of memory");
        wire__cconn_fail(conn, &st);
        return;
    }
    if (!bson_has_field(body, "$db"))
        BSON_APPEND_UTF8(body, "$db", "admin");
    wire_buf_init(&sw->buf);
    if (wire_encode_op_msg(&sw->buf, id, 0, 0, body, &st) != 0) {
        free(sw);
        wire__cconn_fail(conn, &st);
        return;
    }
    conn->expect_id = id;
    if (conn->ssl != NULL) {
        tls_send(conn, sw->buf.data, sw->buf.len);
        wire_buf_destroy(&sw->buf);
        free(sw);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)sw->buf.data, (unsigned)sw->buf.len);
    if ((rc = uv_write(&sw->w, (uv_stream_t *)&conn->tcp, &b, 1, on_setup_written)) != 0) {
        wire_buf_destroy(&sw->buf);
        free(sw);
        fail_uv(conn, "Error sending to", rc);
    }
}

static void on_call_written(uv_write_t *w, int status)
{
    wire_ccall_t *c = w->data;
    wire_cconn_t *conn = w->handle->data;
    /* c is kept alive by c->writing until wire__ccall_write_done */
    if (status < 0 && !c->done && conn->state != WIRE_CCONN_CLOSING)
        fail_uv(conn, "Error sending to", status);
    wire__ccall_write_done(c);
}

/* wire__cconn_send -- put call c in flight on the ready connection conn. */
void wire__cconn_send(wire_cconn_t *conn, wire_ccall_t *c)
{
    int rc;

    c->conn = conn;
    conn->call = c;
    conn->expect_id = c->request_id;
    set_state(conn, WIRE_CCONN_BUSY);
    if (conn->ssl != NULL) { /* the ciphertext is a copy: c->msg is not held by a write */
        tls_send(conn, c->msg.data, c->msg.len);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)c->msg.data, (unsigned)c->msg.len);
    c->wreq.data = c;
    c->writing = true;
    if ((rc = uv_write(&c->wreq, (uv_stream_t *)&conn->tcp, &b, 1, on_call_written)) != 0) {
        c->writing = false;
        fail_uv(conn, "Error sending to", rc);
    }
}

/* ------------------------------------------------------------------------ */
/* Set-up: resolve, connect, hello, auth                                     */
/* ------------------------------------------------------------------------ */

/* ready -- set-up done: the host gives the connection a call or idles it. */
static void ready(wire_cconn_t *conn)
{
    uv_timer_stop(&conn->timer);
    set_state(conn, WIRE_CCONN_IDLE);
    wire__chost_conn_ready(conn->h, conn, true);
}

/* send_hello -- hello with the client metadata, as drivers and MongoDB's own client send it. */
static void send_hello(wire_cconn_t *conn)
{
    wire_client_pool_t *p = conn->h->pool;
    bson_t hello, client, driver, os, app;

    bson_init(&hello);
    BSON_APPEND_INT32(&hello, "hello", 1);
    BSON_APPEND_DOCUMENT_BEGIN(&hello, "client", &client);
    if (p->opts.app_name != NULL) {
        BSON_APPEND_DOCUMENT_BEGIN(&client, "application", &app);
        BSON_APPEND_UTF8(&app, "name", p->opts.app_name);
        bson_append_document_end(&client, &app);
    }
    BSON_APPEND_DOCUMENT_BEGIN(&client, "driver", &driver);
    BSON_APPEND_UTF8(&driver, "name", "MicaInternalClient");
    BSON_APPEND_UTF8(&driver, "version", MICA_VERSION);
    bson_append_document_end(&client, &driver);
    BSON_APPEND_DOCUMENT_BEGIN(&client, "os", &os);
    BSON_APPEND_UTF8(&os, "type", "Linux");
    bson_append_document_end(&client, &os);
    bson_append_document_end(&hello, &client);
    set_state(conn, WIRE_CCONN_HELLO);
    send_setup(conn, &hello);
    bson_destroy(&hello);
}

/* auth_step -- give the auth hook a reply; send what it asks next, or finish. */
static void auth_step(wire_cconn_t *conn, const bson_t *reply)
{
    bson_t next = BSON_INITIALIZER;
    status_t st = STATUS_INIT;
    int rc = conn->auth.step(conn->auth.arg, &conn->auth_state, conn->h->name, reply, &next, &st);

    if (rc != 0) {
        if (st.code == 0)
            status_set(&st, rc, "authentication with %s failed", conn->h->name);
        wire__cconn_fail(conn, &st);
    } else if (bson_empty(&next)) {
        ready(conn);
    } else {
        set_state(conn, WIRE_CCONN_AUTH);
        send_setup(conn, &next);
    }
    bson_destroy(&next);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    wire_cconn_t *conn = h->data;
    /* one read at a time on the loop thread, so one buffer serves every connection */
    *buf = uv_buf_init((char *)conn->h->pool->rbuf, WIRE_CLIENT_READ_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_connected(uv_connect_t *req, int status)
{
    wire_cconn_t *conn = req->data;
    int rc;

    if (conn->state == WIRE_CCONN_CLOSING)
        return;
    if (status < 0) {
        fail_uv(conn, "Error connecting to", status);
        return;
    }
    if ((rc = uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, on_read)) != 0) {
        fail_uv(conn, "Error reading from", rc);
        return;
    }
    if (conn->h->pool->tls_ctx != NULL) {
        set_state(conn, WIRE_CCONN_TLS);
        if (tls_start(conn) != 0) {
            char err[256];
            status_t st = STATUS_INIT;
            status_set(&st, ERR_SSLHandshakeFailed, "cannot start TLS with %s: %s", conn->h->name,
                       ssl_error(err, sizeof(err)));
            wire__cconn_fail(conn, &st);
            return;
        }
        tls_handshake(conn);
        return;
    }
    send_hello(conn);
}

/* connect_to -- bind to bind_ip when configured, then connect to addr. */
static void connect_to(wire_cconn_t *conn, const struct sockaddr *addr)
{
    wire_client_pool_t *p = conn->h->pool;
    int rc;

    if (p->has_bind) {
        if (p->bind_addr.ss_family != addr->sa_family) {
            status_t st = STATUS_INIT;
            status_set(&st, ERR_HostUnreachable,
                       "Error connecting to %s :: caused by :: its address family differs "
                       "from bind_ip %s",
                       conn->h->name, p->opts.bind_ip);
            wire__cconn_fail(conn, &st);
            return;
        }
        if ((rc = uv_tcp_bind(&conn->tcp, (const struct sockaddr *)&p->bind_addr, 0)) != 0) {
            fail_uv(conn, "Error binding to bind_ip to reach", rc);
            return;
        }
    }
    uv_tcp_nodelay(&conn->tcp, 1);
    uv_tcp_keepalive(&conn->tcp, 1, 120);
    set_state(conn, WIRE_CCONN_CONNECTING);
    conn->connect.data = conn;
    if ((rc = uv_tcp_connect(&conn->connect, &conn->tcp, addr, on_connected)) != 0)
        fail_uv(conn, "Error connecting to", rc);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    wire_cconn_t *conn = req->data;
    const struct addrinfo *ai = res;

    conn->gai_active = false;
    if (conn->state == WIRE_CCONN_CLOSING) {
        uv_freeaddrinfo(res);
        conn_maybe_free(conn);
        return;
    }
    if (status < 0) {
        fail_uv(conn, "Cannot resolve", status);
        uv_freeaddrinfo(res);
        return;
    }
    if (conn->h->pool->has_bind)
        while (ai != NULL && ai->ai_family != conn->h->pool->bind_addr.ss_family)
            ai = ai->ai_next;
    if (ai == NULL)
        ai = res;
    connect_to(conn, ai->ai_addr);
    uv_freeaddrinfo(res);
}

static void on_setup_timeout(uv_timer_t *t)
{
    wire_cconn_t *conn = t->data;
    status_t st = STATUS_INIT;

    if (conn->state >= WIRE_CCONN_IDLE)
        return;
    status_set(&st, ERR_NetworkTimeout, "Connecting to %s timed out after %d ms", conn->h->name,
               conn->h->pool->opts.connect_timeout_ms);
    wire__cconn_fail(conn, &st);
}

/* wire__cconn_start -- open a new connection to h (counted as set-up until ready). */
int wire__cconn_start(wire_chost_t *h, status_t *st)
{
    wire_client_pool_t *p = h->pool;
    struct sockaddr_storage addr;
    wire_cconn_t *conn = calloc(1, sizeof(*conn));
    int rc;

    if (conn == NULL)
        return status_set(st, ERR_InternalError, "out of memory for a connection to %s", h->name);
    conn->h = h;
    conn->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = conn;
    h->conns = conn;
    h->n_conns++;
    h->n_setup++;
    conn->state = WIRE_CCONN_CLOSING; /* counted in no gauge until set_state */
    set_state(conn, WIRE_CCONN_RESOLVING);
    pthread_mutex_lock(&p->lock);
    conn->auth = p->auth;
    pthread_mutex_unlock(&p->lock);
    uv_tcp_init(&p->loop, &conn->tcp);
    conn->tcp.data = conn;
    uv_timer_init(&p->loop, &conn->timer);
    conn->timer.data = conn;
    conn->open_handles = 2;
    uv_timer_start(&conn->timer, on_setup_timeout, (uint64_t)p->opts.connect_timeout_ms, 0);
    LOG(DEBUG1, NETWORK, 20104, "Connecting to a cluster member", "host", BCON_UTF8(h->name));

    if (uv_ip4_addr(h->hostname, h->port, (struct sockaddr_in *)&addr) == 0 ||
        uv_ip6_addr(h->hostname, h->port, (struct sockaddr_in6 *)&addr) == 0) {
        connect_to(conn, (const struct sockaddr *)&addr);
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    char port[8];
    snprintf(port, sizeof(port), "%d", h->port);
    conn->gai.data = conn;
    conn->gai_active = true;
    if ((rc = uv_getaddrinfo(&p->loop, &conn->gai, on_resolved, h->hostname, port, &hints)) != 0) {
        conn->gai_active = false;
        fail_uv(conn, "Cannot resolve", rc);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

/* fail_reply -- a malformed or unexpected reply: the connection cannot be trusted. */
static void fail_reply(wire_cconn_t *conn, status_t *st)
{
    status_prefix(st, "bad reply from %s: ", conn->h->name);
    wire__cconn_fail(conn, st);
}

/* on_frame -- one complete reply frame f[0..len) (valid for this call only). */
static void on_frame(wire_cconn_t *conn, const uint8_t *f, size_t len)
{
    wire_request_t req;
    status_t st = STATUS_INIT;

    if (wire_request_parse(f, len, &req, &st) != 0) {
        fail_reply(conn, &st);
        return;
    }
    if (req.op_code != WIRE_OP_MSG) {
        status_set(&st, ERR_ProtocolError, "opcode %d where OP_MSG was expected", req.op_code);
        fail_reply(conn, &st);
    } else if (req.header.response_to != conn->expect_id) {
        status_set(&st, ERR_ProtocolError, "it answers request %d, not %d", req.header.response_to,
                   conn->expect_id);
        fail_reply(conn, &st);
    } else if (req.flags & WIRE_MSG_MORE_TO_COME) {
        status_set(&st, ERR_ProtocolError, "moreToCome, but no exhaust was asked for");
        fail_reply(conn, &st);
    } else {
        conn->expect_id = 0;
        if (conn->state == WIRE_CCONN_BUSY) {
            /* the connection goes back first: the next waiting call is sent before the
             * callback runs, and the gauges are right by the time a caller wakes */
            wire_ccall_t *c = conn->call;
            conn->call = NULL;
            if (c != NULL)
                c->conn = NULL;
            set_state(conn, WIRE_CCONN_IDLE);
            wire__chost_conn_ready(conn->h, conn, false);
            wire__client_reply_status(&req.body, &st);
            if (c != NULL)
                wire__ccall_complete(c, &req.body, &st);
        } else if (wire__client_reply_status(&req.body, &st) != 0) {
            status_prefix(&st, "%s on %s failed: ",
                          conn->state == WIRE_CCONN_HELLO ? "hello" : "authentication",
                          conn->h->name);
            wire__cconn_fail(conn, &st);
        } else if (conn->auth.step != NULL) {
            auth_step(conn, &req.body);
        } else {
            ready(conn);
        }
    }
    wire_request_destroy(&req);
}

/* feed -- bytes from the socket: header, then the exact frame, then the next. */
static void feed(wire_cconn_t *conn, const uint8_t *p, size_t n)
{
    status_t st = STATUS_INIT;

    while (n > 0 && conn->state != WIRE_CCONN_CLOSING) {
        if (conn->frame == NULL) {
            wire_header_t hh;
            size_t take;
            if (conn->expect_id == 0) {
                status_set(&st, ERR_ProtocolError, "bytes arrived while no request was out");
                fail_reply(conn, &st);
                return;
            }
            take = WIRE_HEADER_LEN - conn->hdr_got < n ? WIRE_HEADER_LEN - conn->hdr_got : n;
            memcpy(conn->hdr + conn->hdr_got, p, take);
            conn->hdr_got += take;
            p += take;
            n -= take;
            if (conn->hdr_got < WIRE_HEADER_LEN)
                return;
            conn->hdr_got = 0;
            if (wire_parse_header(conn->hdr, WIRE_HEADER_LEN, &hh, &st) != 0) {
                fail_reply(conn, &st);
                return;
            }
            if ((conn->frame = malloc((size_t)hh.message_length)) == NULL) {
                status_set(&st, ERR_InternalError, "out of memory for a %d-byte reply",
                           hh.message_length);
                wire__cconn_fail(conn, &st);
                return;
            }
            memcpy(conn->frame, conn->hdr, WIRE_HEADER_LEN);
            conn->frame_len = (size_t)hh.message_length;
            conn->frame_got = WIRE_HEADER_LEN;
        }
        size_t want = conn->frame_len - conn->frame_got, take = want < n ? want : n;
        memcpy(conn->frame + conn->frame_got, p, take);
        conn->frame_got += take;
        p += take;
        n -= take;
        if (conn->frame_got == conn->frame_len) {
            uint8_t *f = conn->frame;
            conn->frame = NULL;
            on_frame(conn, f, conn->frame_len);
            free(f);
        }
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    wire_cconn_t *conn = s->data;

    if (nread == 0 || conn->state == WIRE_CCONN_CLOSING)
        return;
    if (nread < 0) {
        status_t st = STATUS_INIT;
        if (nread == UV_EOF)
            status_set(&st, ERR_HostUnreachable, "Connection closed by peer %s", conn->h->name);
        else
            status_set(&st, ERR_HostUnreachable, "Error reading from %s :: caused by :: %s",
                       conn->h->name, uv_strerror((int)nread));
        wire__cconn_fail(conn, &st);
        return;
    }
    if (conn->ssl != NULL)
        tls_feed(conn, (const uint8_t *)buf->base, (size_t)nread);
    else
        feed(conn, (const uint8_t *)buf->base, (size_t)nread);
}
