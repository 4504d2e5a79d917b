/*
 * tls.c -- TLS for the server transport through OpenSSL memory BIOs.
 *
 * libuv owns the socket; OpenSSL never touches it. Ciphertext read by libuv
 * goes into the connection's read BIO, SSL_read turns it into plaintext that
 * the ordinary read path (wire__conn_feed) frames and parses; a reply's
 * plaintext goes through SSL_write into the write BIO and what comes out is
 * written with uv_write. So the rest of the transport -- framing, jobs,
 * workers, parking -- is the same with and without TLS, and the two hooks in
 * conn.c are one call each (on read, on write).
 *
 * Modes, as mongod's net.tls.mode:
 *   disabled    no TLS at all;
 *   allowTLS    plain and TLS both accepted (intra-cluster calls stay plain);
 *   preferTLS   plain and TLS both accepted (intra-cluster calls use TLS);
 *   requireTLS  only TLS; a plain connection is logged and closed.
 * In the two mixed modes the first bytes decide: a TLS record header
 * (0x16 0x03) starts a handshake, anything else is the wire protocol (whose
 * first bytes are a message length; a plain message of exactly that length
 * prefix would have to be over 200 KB long with a specific size, as mongod
 * accepts too).
 *
 * TLS 1.2 is the least version offered. Client certificates are asked for
 * when a CA file is given; without allowConnectionsWithoutCertificates a
 * client without one fails the handshake; allowInvalidCertificates accepts
 * any certificate (for tests and private set-ups). The subject of a verified
 * client certificate (RFC 2253) is kept on the connection for MONGODB-X509.
 */
#include "wire/transport_int.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* WIRE_TLS_CHUNK -- plaintext / ciphertext moved per OpenSSL call (one TLS record is 16 KB). */
#define WIRE_TLS_CHUNK (32 * 1024)

/* wire_tls_t -- one connection's TLS state (loop thread only). */
struct wire_tls {
    SSL *ssl;
    BIO *rbio; /* ciphertext from the peer */
    BIO *wbio; /* ciphertext to the peer */
    bool handshake_done;
};

/* tls_write_t -- one uv_write of ciphertext; job is the reply it carries, if any. */
typedef struct tls_write {
    uv_write_t req;
    wire_job_t *job;
    size_t plain_len;
    size_t len;
    uint8_t data[];
} tls_write_t;

/* wire_tls_mode_by_name -- the --tlsMode value, or -1. */
int wire_tls_mode_by_name(const char *name)
{
    static const char *const names[] = {"disabled", "allowTLS", "preferTLS", "requireTLS"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* ssl_error -- OpenSSL's queued error as text (and the queue emptied). */
static const char *ssl_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        return "unknown TLS error";
    ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* accept_any -- tlsAllowInvalidCertificates: the chain is not held against the peer. */
static int accept_any(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1;
}

/* wire__tls_ctx_create -- the server's SSL_CTX from the configuration. */
int wire__tls_ctx_create(const wire_tls_config_t *cfg, SSL_CTX **out, status_t *st)
{
    SSL_CTX *ctx;
    char err[256];

    *out = NULL;
    if (cfg == NULL || cfg->mode == WIRE_TLS_DISABLED)
        return 0;
    if (cfg->certificate_key_file == NULL)
        return status_set(st, ERR_BadValue,
                          "need tlsCertificateKeyFile or certificateSelector when TLS is enabled");
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return status_set(st, ERR_InvalidSSLConfiguration, "SSL_CTX_new: %s",
                          ssl_error(err, sizeof(err)));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->certificate_key_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg->certificate_key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        status_set(st, ERR_InvalidSSLConfiguration, "cannot read PEM key file %s: %s",
                   cfg->certificate_key_file, ssl_error(err, sizeof(err)));
        SSL_CTX_free(ctx);
        return st->code;
    }
    /* tlsClusterCAFile, when given, is what verifies the certificates of incoming
     * connections (members and clients); tlsCAFile then verifies the peers this
     * member dials (the cluster client, wire/client_conn.c) */
    const char *ca = cfg->cluster_ca_file != NULL ? cfg->cluster_ca_file : cfg->ca_file;
    if (ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
            status_set(st, ERR_InvalidSSLConfiguration,
                       "cannot read certificate authority file %s: %s", ca,
                       ssl_error(err, sizeof(err)));
            SSL_CTX_free(ctx);
            return st->code;
        }
        int mode = SSL_VERIFY_PEER;
        if (!cfg->allow_connections_without_certificates)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, cfg->allow_invalid_certificates ? accept_any : NULL);
    }
    *out = ctx;
    return 0;
}

/* wire__tls_free -- at connection close; NULL-safe. */
void wire__tls_free(wire_tls_t *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl); /* frees both BIOs */
    bson_free(t);
}

/* on_tls_write -- ciphertext is out; a reply's write finishes its job as a plain one would. */
static void on_tls_write(uv_write_t *w, int status)
{
    tls_write_t *tw = (tls_write_t *)w;
    wire_job_t *job = tw->job;
    wire_conn_t *c = w->data;
    if (job != NULL) {
        wire__conn_write_done(job, status);
    } else if (status != 0) {
        wire__conn_close(c);
    }
    bson_free(tw);
}

/* flush -- send whatever OpenSSL wrote into the write BIO (job: the reply it ends). */
static int flush(wire_conn_t *c, wire_job_t *job)
{
    wire_tls_t *t = c->tls;
    size_t pending = BIO_ctrl_pending(t->wbio);
    tls_write_t *tw;
    uv_buf_t b;

    if (pending == 0 && job == NULL)
        return 0;
    tw = bson_malloc(sizeof(*tw) + (pending ? pending : 1));
    tw->job = job;
    tw->len = pending > 0 ? (size_t)BIO_read(t->wbio, tw->data, (int)pending) : 0;
    tw->req.data = c;
    b = uv_buf_init((char *)tw->data, (unsigned)tw->len);
    if (uv_write(&tw->req, (uv_stream_t *)&c->tcp, &b, 1, on_tls_write) != 0) {
        bson_free(tw);
        return -1;
    }
    return 0;
}

/* tls_fail -- log why and close the connection. */
static void tls_fail(wire_conn_t *c, const char *what)
{
    char err[256];
    LOG(WARNING, NETWORK, 22988,
        "Error receiving request from client. Ending connection from remote", "error",
        BCON_UTF8(ssl_error(err, sizeof(err))), "stage", BCON_UTF8(what), "remote",
        BCON_UTF8(c->info.remote), "connectionId", BCON_INT64(c->info.id));
    wire__conn_close(c);
}

/* subject_rfc2253 -- a certificate's subject as MongoDB writes it (RFC 2253); NULL if odd. */
static char *subject_rfc2253(X509 *cert)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    long n;

    if (mem == NULL)
        return NULL;
    X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0,
                       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    n = BIO_get_mem_data(mem, &data);
    if (n > 0 && n < 4096) {
        out = bson_malloc((size_t)n + 1);
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(mem);
    return out;
}

/* peer_subject -- after the handshake: the client certificate's subject, RFC 2253. */
static void peer_subject(wire_conn_t *c)
{
    X509 *cert = SSL_get1_peer_certificate(c->tls->ssl);

    if (cert == NULL)
        return;
    if (SSL_get_verify_result(c->tls->ssl) != X509_V_OK &&
        !c->loop->srv->cfg.tls->allow_invalid_certificates) {
        X509_free(cert);
        return;
    }
    c->info.tls_subject = subject_rfc2253(cert);
    X509_free(cert);
}

/* wire_tls_pem_subject -- the subject of the first certificate of a PEM file. */
int wire_tls_pem_subject(const char *path, char **out, status_t *st)
{
    char err[256];
    FILE *f = fopen(path, "r");
    X509 *cert;

    *out = NULL;
    if (f == NULL)
        return status_set(st, ERR_InvalidSSLConfiguration, "cannot read PEM file %s", path);
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL)
        return status_set(st, ERR_InvalidSSLConfiguration, "no certificate in PEM file %s: %s",
                          path, ssl_error(err, sizeof(err)));
    *out = subject_rfc2253(cert);
    X509_free(cert);
    if (*out == NULL)
        return status_set(st, ERR_InvalidSSLConfiguration, "unreadable subject in %s", path);
    return 0;
}

/* cmp_str -- qsort on strings. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* wire_x509_member_attrs -- the O, OU and DC of an RFC 2253 subject, sorted. */
void wire_x509_member_attrs(const char *subject, char *out, size_t cap)
{
    char buf[4096], *parts[64];
    size_t n = 0, len = 0, start = 0;

    out[0] = '\0';
    if (subject == NULL || strlen(subject) >= sizeof(buf))
        return;
    memcpy(buf, subject, strlen(subject) + 1);
    /* split at the ',' and '+' that are not escaped by a backslash */
    for (size_t i = 0;; i++) {
        if (buf[i] == '\\' && buf[i + 1] != '\0') {
            i++;
            continue;
        }
        if (buf[i] != ',' && buf[i] != '+' && buf[i] != '\0')
            continue;
        bool end = buf[i] == '\0';
        buf[i] = '\0';
        char *rdn = buf + start;
        while (*rdn == ' ')
            rdn++;
        if ((strncmp(rdn, "O=", 2) == 0 || strncmp(rdn, "OU=", 3) == 0 ||
             strncmp(rdn, "DC=", 3) == 0) &&
            n < sizeof(parts) / sizeof(parts[0]))
            parts[n++] = rdn;
        if (end)
            break;
        start = i + 1;
    }
    qsort(parts, n, sizeof(parts[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? "," : "", parts[i]);
        if (w < 0 || (size_t)w >= cap - len) {
            out[0] = '\0'; /* too long to compare: matches nothing */
            return;
        }
        len += (size_t)w;
    }
}

/* wire__tls_on_read -- ciphertext from libuv: handshake, then plaintext to the read path. */
void wire__tls_on_read(wire_conn_t *c, const uint8_t *data, size_t n)
{
    wire_tls_t *t = c->tls;
    uint8_t plain[WIRE_TLS_CHUNK];

    if (BIO_write(t->rbio, data, (int)n) != (int)n) {
        tls_fail(c, "buffer");
        return;
    }
    if (!t->handshake_done) {
        int rc = SSL_do_handshake(t->ssl);
        if (flush(c, NULL) != 0) {
            wire__conn_close(c);
            return;
        }
        if (rc != 1) {
            int e = SSL_get_error(t->ssl, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                tls_fail(c, "handshake");
            return;
        }
        t->handshake_done = true;
        c->info.tls = true;
        peer_subject(c);
    }
    for (;;) {
        int r = SSL_read(t->ssl, plain, sizeof(plain));
        if (r > 0) {
            wire__conn_feed(c, plain, (size_t)r);
            if (c->closing)
                return;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify */
            wire__conn_close(c);
            return;
        }
        tls_fail(c, "read");
        return;
    }
    if (flush(c, NULL) != 0) /* e.g. session tickets produced while reading */
        wire__conn_close(c);
}

/* wire__tls_write -- encrypt a reply and write it; its job finishes in on_tls_write. */
int wire__tls_write(wire_conn_t *c, wire_job_t *job)
{
    wire_tls_t *t = c->tls;
    size_t off = 0;

    while (off < job->out.len) {
        size_t take = job->out.len - off;
        int w = SSL_write(t->ssl, job->out.data + off, (int)(take > INT32_MAX ? INT32_MAX : take));
        if (w <= 0)
            return -1; /* memory BIOs grow: anything else is a broken session */
        off += (size_t)w;
    }
    return flush(c, job);
}

/* start_session -- this connection speaks TLS: a fresh SSL on memory BIOs. */
static int start_session(wire_conn_t *c)
{
    wire_tls_t *t = bson_malloc0(sizeof(*t));
    t->ssl = SSL_new(c->loop->srv->tls_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        bson_free(t);
        return -1;
    }
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    c->tls = t;
    return 0;
}

/*
 * wire__tls_first_bytes -- the first bytes of a connection on a TLS-enabled
 * server decide: a TLS record header starts a session, anything else is the
 * plain wire protocol (refused under requireTLS). Then the bytes go on.
 */
void wire__tls_first_bytes(wire_conn_t *c, const uint8_t *data, size_t n)
{
    const wire_tls_config_t *cfg = c->loop->srv->cfg.tls;
    uint8_t first[2];
    size_t have = c->tls_npeek;

    while (have < 2 && n > 0) { /* at most two bytes are ever kept aside */
        c->tls_peek[have++] = *data++;
        n--;
    }
    c->tls_npeek = (uint8_t)have;
    if (have < 2)
        return;
    memcpy(first, c->tls_peek, 2);
    c->tls_decided = true;
    if (first[0] == 0x16 && first[1] == 0x03) {
        if (start_session(c) != 0) {
            wire__conn_close(c);
            return;
        }
        wire__tls_on_read(c, first, 2);
        if (n > 0 && !c->closing)
            wire__tls_on_read(c, data, n);
        return;
    }
    if (cfg->mode == WIRE_TLS_REQUIRE) {
        LOG(INFO, NETWORK, 23017, "Refusing a plain connection: TLS is required", "remote",
            BCON_UTF8(c->info.remote), "connectionId", BCON_INT64(c->info.id));
        wire__conn_close(c);
        return;
    }
    wire__conn_feed(c, first, 2);
    if (n > 0 && !c->closing)
        wire__conn_feed(c, data, n);
}
