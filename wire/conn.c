/*
 * conn.c -- one client connection, from bytes to reply, and the job that
 * carries one request across threads.
 *
 * The read path on the loop thread is linear: read -> header (16 bytes,
 * validated by wire_parse_header before anything is allocated) -> body into a
 * buffer of exactly the declared length -> wire_request_parse -> a job for the
 * worker pool. One request is in flight per connection: bytes of pipelined
 * requests wait in a small stash (reading stops when it is full) and are fed
 * again once the reply is written, so replies keep the requests' order.
 *
 * On a worker, wire__job_run parses the generic arguments, dispatches through
 * the command table, logs slow operations and encodes (and compresses) the
 * reply; the job then goes back to its loop, which writes it. A handler that
 * asks to park (awaitable hello) comes back without a reply: the loop starts a
 * timer and resubmits the job when it fires or when the server is woken, so a
 * waiting hello holds no worker thread.
 */
#include "wire/transport_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* next_request_id -- ids for the replies we send. */
static int32_t next_request_id(void)
{
    static int32_t id;
    return __atomic_add_fetch(&id, 1, __ATOMIC_RELAXED) & 0x7fffffff;
}

/* wire__job_free -- everything a job owns. */
void wire__job_free(wire_job_t *job)
{
    if (job == NULL)
        return;
    if (job->parsed)
        wire_request_destroy(&job->req);
    bson_destroy(&job->reply);
    wire_buf_destroy(&job->out);
    bson_free(job->frame);
    bson_free(job);
}

/* log_slow -- "Slow query", as mongod words it, for commands over slowms. */
static void log_slow(wire_job_t *job, int64_t micros, int code)
{
    wire_server_t *srv = job->loop->srv;
    int64_t ms = micros / 1000;
    char ns[160];

    if (srv->cfg.slow_ms < 0 || ms < srv->cfg.slow_ms)
        return;
    if (!log_enabled(LOG_SEV_INFO, LOG_C_COMMAND))
        return;
    (void)snprintf(ns, sizeof(ns), "%s.$cmd", job->op.db);
    bson_t redacted = BSON_INITIALIZER; /* no password or SASL payload in a log line */
    wire_redact_command(&job->op.body, &redacted);
    bson_t *attr = BCON_NEW("type", BCON_UTF8("command"), "ns", BCON_UTF8(ns), "command",
                            BCON_DOCUMENT(&redacted), "ok", BCON_INT32(code == 0 ? 1 : 0),
                            "durationMillis", BCON_INT64(ms));
    bson_destroy(&redacted);
    if (code != 0)
        BSON_APPEND_INT32(attr, "errCode", code);
    LOG_DOC(INFO, COMMAND, 51803, "Slow query", attr);
    bson_destroy(attr);
}

/* encode_reply -- the reply in the request's framing, compressed like the request. */
static void encode_reply(wire_job_t *job)
{
    const wire_request_t *req = &job->req;
    wire_conn_info_t *info = &job->conn->info;
    status_t st = STATUS_INIT;
    wire_buf_t plain;
    int rc;

    wire_buf_init(&plain);
    for (int attempt = 0; attempt < 2; attempt++) {
        plain.len = 0;
        if (req->op_code == WIRE_OP_QUERY)
            rc = wire_encode_op_reply(&plain, next_request_id(), req->header.request_id, 0,
                                      &job->reply, &st);
        else
            rc = wire_encode_op_msg(&plain, next_request_id(), req->header.request_id, 0,
                                    &job->reply, &st);
        if (rc == 0)
            break;
        /* e.g. a reply over the size limit: answer with the error instead */
        wire_error_reply(&st, &job->op, &job->reply);
    }
    bool compress = false;
    if (req->compressed && req->compressor_id != WIRE_COMPRESSOR_NOOP &&
        !(job->op.cmd != NULL && (job->op.cmd->flags & WIRE_CMD_NO_COMPRESS))) {
        for (uint8_t i = 0; i < info->n_compressors; i++)
            compress |= info->compressors[i] == req->compressor_id;
    }
    if (compress && wire_compress(&job->out, req->compressor_id, plain.data, plain.len, &st) == 0) {
        wire_buf_destroy(&plain);
        return;
    }
    wire_buf_destroy(&job->out);
    job->out = plain; /* uncompressed is always acceptable */
}

/*
 * post_back -- hand a job back to its loop. Only the job that finds the
 * queue empty wakes the loop: the loop takes the whole queue per wake-up, so
 * the others ride along. Besides saving an eventfd write per reply, this
 * keeps the loop out of libuv's uv__async_spin, which sched_yields while a
 * sender is between marking the handle and writing the eventfd -- on two
 * busy cores that sender is often preempted there.
 */
static void post_back(wire_job_t *job)
{
    wire_loop_t *l = job->loop;
    pthread_mutex_lock(&l->lock);
    job->next = NULL;
    bool first = l->done_head == NULL;
    if (l->done_tail)
        l->done_tail->next = job;
    else
        l->done_head = job;
    l->done_tail = job;
    pthread_mutex_unlock(&l->lock);
    if (first)
        uv_async_send(&l->wakeup);
}

/* wire__job_run -- a worker runs one request (or re-runs a parked one). */
void wire__job_run(wire_job_t *job)
{
    wire_server_t *srv = job->loop->srv;
    status_t st = STATUS_INIT;
    char ctx[32];
    int code;

    (void)snprintf(ctx, sizeof(ctx), "conn%lld", (long long)job->conn->info.id);
    log_set_ctx(ctx);
    if (!job->op.resumed) {
        wire_opctx_init(&job->op, &job->conn->info, srv, srv->cfg.app);
        bson_init(&job->reply);
        code = wire_opctx_parse(&job->op, &job->req, &st);
        if (code != 0) {
            wire_error_reply(&st, &job->op, &job->reply);
            goto done;
        }
    } else {
        bson_reinit(&job->reply);
        job->op.park_ms = 0;
    }
    if (!job->op.resumed && log_enabled(LOG_SEV_DEBUG2, LOG_C_COMMAND)) {
        bson_t redacted = BSON_INITIALIZER;
        wire_redact_command(&job->op.body, &redacted);
        LOG(DEBUG2, COMMAND, 20003, "About to run the command", "db", BCON_UTF8(job->op.db),
            "commandArgs", BCON_DOCUMENT(&redacted));
        bson_destroy(&redacted);
    }
    code = wire_cmd_dispatch(srv->cfg.table, &job->op, &job->reply);
    if (job->op.park_ms > 0 && !job->op.resumed) {
        post_back(job); /* parked: no reply yet */
        log_set_ctx("worker");
        return;
    }
done:
    /* the binary's statistics see every command once (a parked one when it
     * resumes); an awaitable command's wait is its purpose, not slowness */
    if (srv->cfg.op_done != NULL)
        srv->cfg.op_done(&job->op, &job->reply, code, time_mono_us() - job->op.start_us);
    else if (!job->op.resumed)
        log_slow(job, time_mono_us() - job->op.start_us, code);
    if (!job->no_reply)
        encode_reply(job);
    log_set_ctx("worker");
    post_back(job);
}

/* on_closed -- the handle is gone: account and free. */
static void on_closed(uv_handle_t *h)
{
    wire_conn_t *c = h->data;
    wire_server_t *srv = c->loop->srv;
    int64_t left = __atomic_sub_fetch(&srv->conns_current, 1, __ATOMIC_RELAXED);

    wire__conn_unlisted(&c->info);
    if (c->info.id > 0)
        LOG(INFO, NETWORK, 22944, "Connection ended", "remote", BCON_UTF8(c->info.remote),
            "connectionId", BCON_INT64(c->info.id), "connectionCount", BCON_INT64(left));
    if (c->prev)
        c->prev->next = c->next;
    else
        c->loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    wire_auth_session_free(c->info.auth);
    wire__tls_free(c->tls);
    bson_free(c->info.tls_subject);
    bson_free(c->frame);
    bson_free(c->stash);
    bson_free(c);
}

/* really_close -- close the handle (the connection has no job in flight). */
static void really_close(wire_conn_t *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* wire__conn_close -- close a connection; deferred while a job is in flight. */
void wire__conn_close(wire_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (!c->busy) {
        really_close(c);
        return;
    }
    if (c->job != NULL && c->job->park != NULL)
        wire__conn_resume(c->job); /* answers at once; the reply is dropped */
}

static void feed(wire_conn_t *c, const uint8_t *data, size_t n);

/* on_alloc -- the loop's shared read buffer; read bytes are copied out at once. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    wire_conn_t *c = h->data;
    (void)suggested;
    buf->base = (char *)c->loop->rbuf;
    buf->len = WIRE_READ_CHUNK;
}

/* on_read -- bytes or the end of the stream. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    wire_conn_t *c = s->data;
    if (n < 0) {
        wire__conn_close(c);
        return;
    }
    if (n == 0)
        return;
    __atomic_add_fetch(&c->loop->srv->bytes_in, n, __ATOMIC_RELAXED);
    if (c->tls != NULL) /* ciphertext: tls.c decrypts, then feeds */
        wire__tls_on_read(c, (const uint8_t *)buf->base, (size_t)n);
    else if (c->loop->srv->tls_ctx != NULL && !c->tls_decided)
        wire__tls_first_bytes(c, (const uint8_t *)buf->base, (size_t)n);
    else
        feed(c, (const uint8_t *)buf->base, (size_t)n);
}

/* start_reading -- (re)start reading when the stash has room. */
static void start_reading(wire_conn_t *c)
{
    if (!c->reading && !c->closing && c->stash_len < WIRE_STASH_MAX) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = true;
    }
}

/* malformed -- a frame we cannot parse: log it and close that connection. */
static void malformed(wire_conn_t *c, const status_t *st)
{
    LOG(WARNING, NETWORK, 20001, "Malformed message, closing connection", "remote",
        BCON_UTF8(c->info.remote), "connectionId", BCON_INT64(c->info.id), "error",
        BCON_UTF8(st->msg), "code", BCON_INT32(st->code));
    wire__conn_close(c);
}

/* start_job -- a complete frame: parse it here on the loop, run it on a worker. */
static void start_job(wire_conn_t *c)
{
    wire_server_t *srv = c->loop->srv;
    wire_job_t *job = bson_malloc0(sizeof(*job));
    status_t st = STATUS_INIT;

    job->conn = c;
    job->loop = c->loop;
    job->frame = c->frame;
    job->frame_len = c->frame_len;
    bson_init(&job->reply);
    wire_buf_init(&job->out);
    c->frame = NULL;
    c->frame_len = c->frame_got = 0;
    if (wire_request_parse(job->frame, job->frame_len, &job->req, &st) != 0) {
        wire__job_free(job);
        malformed(c, &st);
        return;
    }
    if (job->req.op_code != WIRE_OP_MSG && job->req.op_code != WIRE_OP_QUERY) {
        status_set(&st, ERR_ProtocolError, "unsupported opcode %d", job->req.op_code);
        job->parsed = true;
        wire__job_free(job);
        malformed(c, &st);
        return;
    }
    job->parsed = true;
    job->no_reply = job->req.op_code == WIRE_OP_MSG && (job->req.flags & WIRE_MSG_MORE_TO_COME);
    __atomic_add_fetch(&srv->num_requests, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&srv->conns_active, 1, __ATOMIC_RELAXED);
    c->busy = true;
    c->job = job;
    c->loop->n_busy++;
    wire__pool_submit(srv->pool, job);
}

/* stash_bytes -- keep pipelined bytes until the request in flight is answered. */
static void stash_bytes(wire_conn_t *c, const uint8_t *data, size_t n)
{
    c->stash = bson_realloc(c->stash, c->stash_len + n);
    memcpy(c->stash + c->stash_len, data, n);
    c->stash_len += n;
    if (c->stash_len >= WIRE_STASH_MAX && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* feed -- consume bytes: header, then body, then a job per complete frame. */
static void feed(wire_conn_t *c, const uint8_t *data, size_t n)
{
    while (!c->closing) {
        if (c->busy || c->loop->draining) {
            if (n > 0)
                stash_bytes(c, data, n);
            return;
        }
        if (c->frame == NULL) {
            size_t take = WIRE_HEADER_LEN - c->hdr_got;
            if (take > n)
                take = n;
            memcpy(c->hdr + c->hdr_got, data, take);
            c->hdr_got += (uint8_t)take;
            data += take;
            n -= take;
            if (c->hdr_got < WIRE_HEADER_LEN)
                return;
            wire_header_t h;
            status_t st = STATUS_INIT;
            c->hdr_got = 0;
            if (wire_parse_header(c->hdr, WIRE_HEADER_LEN, &h, &st) != 0) {
                malformed(c, &st);
                return;
            }
            /* the length is validated: now the body may be allocated */
            c->frame_len = (size_t)h.message_length;
            c->frame = bson_malloc(c->frame_len);
            memcpy(c->frame, c->hdr, WIRE_HEADER_LEN);
            c->frame_got = WIRE_HEADER_LEN;
        }
        size_t take = c->frame_len - c->frame_got;
        if (take > n)
            take = n;
        memcpy(c->frame + c->frame_got, data, take);
        c->frame_got += take;
        data += take;
        n -= take;
        if (c->frame_got < c->frame_len)
            return;
        start_job(c);
        if (n == 0 && !c->busy)
            return;
    }
}

/* on_park_timer_closed -- the timer of a parked job is freed. */
static void on_park_timer_closed(uv_handle_t *h)
{
    bson_free(h);
}

/* wire__conn_resume -- unpark a job and run it again on a worker. */
void wire__conn_resume(wire_job_t *job)
{
    wire_loop_t *l = job->loop;
    if (job->park != NULL) {
        uv_timer_stop(job->park);
        uv_close((uv_handle_t *)job->park, on_park_timer_closed);
        job->park = NULL;
        __atomic_sub_fetch(&l->srv->conns_awaiting, 1, __ATOMIC_RELAXED);
        *job->pprev_parked = job->next;
        if (job->next)
            job->next->pprev_parked = job->pprev_parked;
        job->next = NULL;
    }
    job->op.resumed = true;
    wire__pool_submit(l->srv->pool, job);
}

/* on_park_timeout -- the awaitable command's time is up. */
static void on_park_timeout(uv_timer_t *t)
{
    wire__conn_resume(t->data);
}

/* finish_job -- the request is over: free it, then serve what was pipelined. */
static void finish_job(wire_conn_t *c, wire_job_t *job)
{
    wire_loop_t *l = c->loop;
    wire__job_free(job);
    c->job = NULL;
    c->busy = false;
    l->n_busy--;
    __atomic_sub_fetch(&l->srv->conns_active, 1, __ATOMIC_RELAXED);
    if (c->closing) {
        really_close(c);
    } else if (!l->draining) {
        if (c->stash_len > 0) {
            uint8_t *s = c->stash;
            size_t n = c->stash_len;
            c->stash = NULL;
            c->stash_len = 0;
            feed(c, s, n);
            bson_free(s);
        }
        start_reading(c);
    }
    if (l->draining && l->n_busy == 0)
        wire__loop_finish_drain(l);
}

/* wire__conn_feed -- plaintext from tls.c into the same read path. */
void wire__conn_feed(wire_conn_t *c, const uint8_t *data, size_t n)
{
    feed(c, data, n);
}

/* on_write -- the reply is out (or the peer is gone). */
static void on_write(uv_write_t *w, int status)
{
    wire__conn_write_done(w->data, status);
}

/* wire__conn_write_done -- after a reply's write, plain or TLS. */
void wire__conn_write_done(wire_job_t *job, int status)
{
    wire_conn_t *c = job->conn;
    if (status == 0)
        __atomic_add_fetch(&c->loop->srv->bytes_out, (int64_t)job->out.len, __ATOMIC_RELAXED);
    else
        wire__conn_close(c);
    finish_job(c, job);
}

/* wire__conn_job_done -- a job is back from a worker, on its loop thread. */
void wire__conn_job_done(wire_job_t *job)
{
    wire_conn_t *c = job->conn;
    wire_loop_t *l = job->loop;

    if (job->op.park_ms > 0 && !job->op.resumed) {
        if (c->closing || l->draining || wire_server_stopping(l->srv)) {
            wire__conn_resume(job);
            return;
        }
        __atomic_add_fetch(&l->srv->conns_awaiting, 1, __ATOMIC_RELAXED);
        job->park = bson_malloc0(sizeof(*job->park));
        uv_timer_init(&l->loop, job->park);
        job->park->data = job;
        uv_timer_start(job->park, on_park_timeout, (uint64_t)job->op.park_ms, 0);
        job->next = l->parked;
        if (l->parked)
            l->parked->pprev_parked = &job->next;
        job->pprev_parked = &l->parked;
        l->parked = job;
        return;
    }
    if (c->closing || job->no_reply || job->out.len == 0) {
        finish_job(c, job);
        return;
    }
    if (c->tls != NULL) {
        if (wire__tls_write(c, job) != 0) {
            wire__conn_close(c);
            finish_job(c, job);
        }
        return;
    }
    uv_buf_t b = uv_buf_init((char *)job->out.data, (unsigned)job->out.len);
    job->wreq.data = job;
    if (uv_write(&job->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        wire__conn_close(c);
        finish_job(c, job);
    }
}

/* wire__conn_accept -- a new client on one of this loop's listeners. */
void wire__conn_accept(wire_loop_t *l, uv_stream_t *listener)
{
    wire_server_t *srv = l->srv;
    wire_conn_t *c = bson_malloc0(sizeof(*c));
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int64_t count;

    c->loop = l;
    uv_tcp_init(&l->loop, &c->tcp);
    c->tcp.data = c;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    count = __atomic_add_fetch(&srv->conns_current, 1, __ATOMIC_RELAXED);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        c->closing = true;
        really_close(c);
        return;
    }
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        char ip[INET6_ADDRSTRLEN] = "";
        int port = 0;
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            uv_ip6_name(a, ip, sizeof(ip));
            port = ntohs(a->sin6_port);
            c->info.loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            uv_ip4_name(a, ip, sizeof(ip));
            port = ntohs(a->sin_port);
            c->info.loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
        }
        (void)snprintf(c->info.remote, sizeof(c->info.remote), "%s:%d", ip, port);
    }
    if (count > srv->cfg.max_conns) {
        __atomic_add_fetch(&srv->conns_rejected, 1, __ATOMIC_RELAXED);
        LOG(INFO, NETWORK, 22942, "Connection refused because there are too many open connections",
            "remote", BCON_UTF8(c->info.remote), "connectionCount", BCON_INT64(count - 1));
        c->closing = true;
        really_close(c);
        return;
    }
    c->info.id = __atomic_add_fetch(&srv->next_conn_id, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&srv->conns_total, 1, __ATOMIC_RELAXED);
    wire__conn_listed(&c->info);
    LOG(INFO, NETWORK, 22943, "Connection accepted", "remote", BCON_UTF8(c->info.remote),
        "connectionId", BCON_INT64(c->info.id), "connectionCount", BCON_INT64(count));
    uv_tcp_nodelay(&c->tcp, 1);
    start_reading(c);
}
