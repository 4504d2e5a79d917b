/*
 * curop.c -- the registry of running operations behind currentOp and killOp,
 * shared by micad and micas.
 *
 * Dispatch registers each command's wire_opctx_t for the length of its handler
 * (wire_curop_begin/_end) and points a thread-local at it, so code far below
 * the handler -- the executor, pipelines, index builds, write retries -- reaches
 * "the operation I am running for" without threading a pointer through every
 * call. killOp only sets the op's kill_code; the operation notices it at its next
 * yield point through wire_curop_check and unwinds with Interrupted (11601), as
 * MongoDB's checkForInterrupt does. Nothing is ever cancelled from outside.
 *
 * One mutex guards both lists (operations, connections) and the strings of
 * each op's info; counters are relaxed atomics. currentOp holds the mutex while
 * it copies the documents out, which is short and never blocks on storage.
 */
#include "wire/wire.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static wire_opctx_t *g_ops;         /* running operations, newest first */
static wire_conn_info_t *g_conns;   /* open connections */
static int64_t g_next_opid;         /* under g_lock */
static int64_t g_n_ops;             /* under g_lock */
static __thread wire_opctx_t *t_op; /* the op this thread runs for */

/* first_string -- the command's first field when it names a collection. */
static const char *first_string(const wire_opctx_t *op)
{
    bson_iter_t it;
    if (bson_iter_init(&it, &op->body) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

/* initial_info -- ns and op type as MongoDB's currentOp shows them before the handler refines. */
static void initial_info(wire_opctx_t *op)
{
    const char *name = op->name ? op->name : "";
    const char *coll = first_string(op);
    bson_iter_t it;
    const char *type = "command";

    if (strcmp(name, "find") == 0)
        type = "query";
    else if (strcmp(name, "getMore") == 0)
        type = "getmore";
    else if (strcmp(name, "insert") == 0)
        type = "insert";
    else if (strcmp(name, "update") == 0)
        type = "update";
    else if (strcmp(name, "delete") == 0)
        type = "remove";
    (void)snprintf(op->info.op, sizeof(op->info.op), "%s", type);
    if (strcmp(name, "getMore") == 0 && bson_iter_init_find(&it, &op->body, "collection") &&
        BSON_ITER_HOLDS_UTF8(&it))
        coll = bson_iter_utf8(&it, NULL);
    if (coll != NULL && coll[0] != '\0')
        (void)snprintf(op->info.ns, sizeof(op->info.ns), "%s.%s", op->db, coll);
    else
        (void)snprintf(op->info.ns, sizeof(op->info.ns), "%s.$cmd", op->db);
}

/* wire_curop_begin -- list op, give it an opid, make it this thread's. */
void wire_curop_begin(wire_opctx_t *op)
{
    if (op->opid == 0 && !op->resumed)
        initial_info(op);
    pthread_mutex_lock(&g_lock);
    op->opid = ++g_next_opid;
    op->cur_prev = NULL;
    op->cur_next = g_ops;
    if (g_ops != NULL)
        g_ops->cur_prev = op;
    g_ops = op;
    g_n_ops++;
    if (op->conn != NULL)
        op->conn->op = op;
    pthread_mutex_unlock(&g_lock);
    t_op = op;
}

/* wire_curop_end -- unlist op; from here killOp cannot find it. */
void wire_curop_end(wire_opctx_t *op)
{
    if (op->opid == 0)
        return;
    pthread_mutex_lock(&g_lock);
    if (op->cur_prev != NULL)
        op->cur_prev->cur_next = op->cur_next;
    else
        g_ops = op->cur_next;
    if (op->cur_next != NULL)
        op->cur_next->cur_prev = op->cur_prev;
    op->cur_next = op->cur_prev = NULL;
    g_n_ops--;
    if (op->conn != NULL && op->conn->op == op)
        op->conn->op = NULL;
    op->opid = 0;
    pthread_mutex_unlock(&g_lock);
    if (t_op == op)
        t_op = NULL;
}

/* wire_curop_self -- this thread's op. */
wire_opctx_t *wire_curop_self(void)
{
    return t_op;
}

/* wire_curop_check_op -- Interrupted / InterruptedAtShutdown once killed. */
int wire_curop_check_op(const wire_opctx_t *op, status_t *st)
{
    int code;
    if (op == NULL)
        return 0;
    code = __atomic_load_n(&op->kill_code, __ATOMIC_RELAXED);
    if (code == 0)
        return 0;
    if (code == ERR_InterruptedAtShutdown)
        return status_set(st, code, "interrupted at shutdown");
    if (code == ERR_IndexBuildAborted)
        return status_set(st, code, "Index build aborted: dropIndexes was run meanwhile");
    return status_set(st, code, "operation was interrupted");
}

/* wire_curop_check -- the interrupt check of this thread's op. */
int wire_curop_check(status_t *st)
{
    return wire_curop_check_op(t_op, st);
}

/* wire_curop_kill -- killOp. */
bool wire_curop_kill(int64_t opid)
{
    bool found = false;
    pthread_mutex_lock(&g_lock);
    for (wire_opctx_t *op = g_ops; op != NULL; op = op->cur_next) {
        if (op->opid == opid) {
            __atomic_store_n(&op->kill_code, ERR_Interrupted, __ATOMIC_RELAXED);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return found;
}

/* wire_curop_kill_all -- every running op (shutdown). */
void wire_curop_kill_all(int code)
{
    pthread_mutex_lock(&g_lock);
    for (wire_opctx_t *op = g_ops; op != NULL; op = op->cur_next)
        __atomic_store_n(&op->kill_code, code, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g_lock);
}

/* wire_curop_count -- registered operations. */
int64_t wire_curop_count(void)
{
    pthread_mutex_lock(&g_lock);
    int64_t n = g_n_ops;
    pthread_mutex_unlock(&g_lock);
    return n;
}

/* set_str -- write a string of this thread's op's info under the lock. */
static void set_str(char *dst, size_t len, const char *src)
{
    pthread_mutex_lock(&g_lock);
    (void)snprintf(dst, len, "%s", src ? src : "");
    pthread_mutex_unlock(&g_lock);
}

/* wire_curop_set_ns -- the namespace the op works on. */
void wire_curop_set_ns(const char *ns)
{
    if (t_op != NULL)
        set_str(t_op->info.ns, sizeof(t_op->info.ns), ns);
}

/* wire_curop_set_op -- the op type (query, insert, ...). */
void wire_curop_set_op(const char *op_type)
{
    if (t_op != NULL)
        set_str(t_op->info.op, sizeof(t_op->info.op), op_type);
}

/* wire_curop_set_plan_summary -- "COLLSCAN", "IXSCAN { a: 1 }". */
void wire_curop_set_plan_summary(const char *summary)
{
    if (t_op != NULL)
        set_str(t_op->info.plan_summary, sizeof(t_op->info.plan_summary), summary);
}

/* wire_curop_set_progress -- long work's progress for currentOp. */
void wire_curop_set_progress(const char *msg, int64_t done, int64_t total)
{
    if (t_op == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    (void)snprintf(t_op->info.progress_msg, sizeof(t_op->info.progress_msg), "%s", msg ? msg : "");
    t_op->info.progress_done = done;
    t_op->info.progress_total = total;
    pthread_mutex_unlock(&g_lock);
}

/* wire_curop_set_waiting_for_lock -- currentOp's waitingForLock. */
void wire_curop_set_waiting_for_lock(bool waiting)
{
    if (t_op != NULL)
        __atomic_store_n(&t_op->info.waiting_for_lock, waiting ? 1 : 0, __ATOMIC_RELAXED);
}

/* wire_curop_add -- bump one counter of the running op. */
void wire_curop_add(int64_t *field, int64_t n)
{
    if (field != NULL && n != 0)
        __atomic_add_fetch(field, n, __ATOMIC_RELAXED);
}

/* wire_conn_set_client_metadata -- hello's client document, kept for currentOp. */
void wire_conn_set_client_metadata(wire_conn_info_t *conn, const bson_t *client)
{
    bson_iter_t it, sub;
    if (conn == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    if (conn->client_metadata != NULL)
        bson_destroy(conn->client_metadata);
    conn->client_metadata = bson_copy(client);
    if (bson_iter_init(&it, client) && bson_iter_find_descendant(&it, "application.name", &sub) &&
        BSON_ITER_HOLDS_UTF8(&sub))
        (void)snprintf(conn->app_name, sizeof(conn->app_name), "%s", bson_iter_utf8(&sub, NULL));
    pthread_mutex_unlock(&g_lock);
}

/* wire__conn_listed -- a connection was accepted. */
void wire__conn_listed(wire_conn_info_t *conn)
{
    pthread_mutex_lock(&g_lock);
    conn->cur_prev = NULL;
    conn->cur_next = g_conns;
    if (g_conns != NULL)
        g_conns->cur_prev = conn;
    g_conns = conn;
    conn->cur_listed = true;
    pthread_mutex_unlock(&g_lock);
}

/* wire__conn_unlisted -- a connection closed; its metadata goes with it. */
void wire__conn_unlisted(wire_conn_info_t *conn)
{
    pthread_mutex_lock(&g_lock);
    if (conn->cur_listed) {
        if (conn->cur_prev != NULL)
            conn->cur_prev->cur_next = conn->cur_next;
        else
            g_conns = conn->cur_next;
        if (conn->cur_next != NULL)
            conn->cur_next->cur_prev = conn->cur_prev;
        conn->cur_listed = false;
    }
    if (conn->client_metadata != NULL)
        bson_destroy(conn->client_metadata);
    conn->client_metadata = NULL;
    pthread_mutex_unlock(&g_lock);
}

/* iso_now -- currentOpTime: local ISO-8601 with milliseconds and offset. */
static void iso_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char zone[8];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(zone, sizeof(zone), "%z", &tm); /* +0000 -> +00:00 */
    char date[40];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    (void)snprintf(buf, len, "%s.%03ld%.3s:%.2s", date, ts.tv_nsec / 1000000, zone, zone + 3);
}

/* append_conn -- the connection fields of a currentOp document. */
static void append_conn(bson_t *d, const char *host, const wire_conn_info_t *c)
{
    char desc[40];
    BSON_APPEND_UTF8(d, "type", "op");
    BSON_APPEND_UTF8(d, "host", host);
    if (c == NULL)
        return;
    (void)snprintf(desc, sizeof(desc), "conn%lld", (long long)c->id);
    BSON_APPEND_UTF8(d, "desc", desc);
    BSON_APPEND_INT64(d, "connectionId", c->id);
    BSON_APPEND_UTF8(d, "client", c->remote);
    if (c->app_name[0] != '\0')
        BSON_APPEND_UTF8(d, "appName", c->app_name);
    if (c->client_metadata != NULL)
        BSON_APPEND_DOCUMENT(d, "clientMetadata", c->client_metadata);
}

/* LOADI -- a relaxed read of a counter another thread bumps. */
#define LOADI(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* append_op -- one running operation as currentOp shows it. */
static void append_op(bson_t *d, const char *host, const wire_opctx_t *op, const char *now)
{
    int64_t us = time_mono_us() - op->start_us;
    bson_t sub;

    append_conn(d, host, op->conn);
    BSON_APPEND_BOOL(d, "active", true);
    BSON_APPEND_UTF8(d, "currentOpTime", now);
    BSON_APPEND_INT64(d, "opid", op->opid);
    if (op->has_lsid)
        BSON_APPEND_DOCUMENT(d, "lsid", &op->lsid);
    if (op->has_txn_number && op->has_autocommit) {
        BSON_APPEND_DOCUMENT_BEGIN(d, "transaction", &sub);
        bson_t p;
        BSON_APPEND_DOCUMENT_BEGIN(&sub, "parameters", &p);
        BSON_APPEND_INT64(&p, "txnNumber", op->txn_number);
        BSON_APPEND_BOOL(&p, "autocommit", op->autocommit);
        bson_append_document_end(&sub, &p);
        bson_append_document_end(d, &sub);
    }
    BSON_APPEND_INT64(d, "secs_running", us / 1000000);
    BSON_APPEND_INT64(d, "microsecs_running", us);
    BSON_APPEND_UTF8(d, "op", op->info.op);
    BSON_APPEND_UTF8(d, "ns", op->info.ns);
    BSON_APPEND_BOOL(d, "redacted", false);
    bson_t redacted = BSON_INITIALIZER; /* currentOp shows no password */
    wire_redact_command(&op->body, &redacted);
    BSON_APPEND_DOCUMENT(d, "command", &redacted);
    bson_destroy(&redacted);
    if (op->info.plan_summary[0] != '\0')
        BSON_APPEND_UTF8(d, "planSummary", op->info.plan_summary);
    BSON_APPEND_INT64(d, "numYields", LOADI(op->info.num_yields));
    if (op->info.progress_msg[0] != '\0') {
        BSON_APPEND_UTF8(d, "msg", op->info.progress_msg);
        BSON_APPEND_DOCUMENT_BEGIN(d, "progress", &sub);
        BSON_APPEND_INT64(&sub, "done", op->info.progress_done);
        BSON_APPEND_INT64(&sub, "total", op->info.progress_total);
        bson_append_document_end(d, &sub);
    }
    if (LOADI(op->kill_code) != 0)
        BSON_APPEND_BOOL(d, "killPending", true);
    BSON_APPEND_DOCUMENT_BEGIN(d, "locks", &sub);
    bson_append_document_end(d, &sub);
    BSON_APPEND_BOOL(d, "waitingForLock", LOADI(op->info.waiting_for_lock) != 0);
    BSON_APPEND_DOCUMENT_BEGIN(d, "lockStats", &sub);
    bson_append_document_end(d, &sub);
    BSON_APPEND_BOOL(d, "waitingForFlowControl", false);
    BSON_APPEND_DOCUMENT_BEGIN(d, "flowControlStats", &sub);
    bson_append_document_end(d, &sub);
}

/* wire_curop_snapshot -- currentOp's documents. */
void wire_curop_snapshot(bool idle_conns, const char *host, bson_t *out, uint32_t *n)
{
    char now[64], key[16];
    const char *k;
    bson_t d;

    iso_now(now, sizeof(now));
    pthread_mutex_lock(&g_lock);
    for (const wire_opctx_t *op = g_ops; op != NULL; op = op->cur_next) {
        bson_uint32_to_string((*n)++, &k, key, sizeof(key));
        bson_append_document_begin(out, k, -1, &d);
        append_op(&d, host, op, now);
        bson_append_document_end(out, &d);
    }
    if (idle_conns) {
        for (const wire_conn_info_t *c = g_conns; c != NULL; c = c->cur_next) {
            if (c->op != NULL)
                continue;
            bson_uint32_to_string((*n)++, &k, key, sizeof(key));
            bson_append_document_begin(out, k, -1, &d);
            append_conn(&d, host, c);
            BSON_APPEND_BOOL(&d, "active", false);
            BSON_APPEND_UTF8(&d, "currentOpTime", now);
            bson_append_document_end(out, &d);
        }
    }
    pthread_mutex_unlock(&g_lock);
}

/* wire_curop_counts -- running operations that read (query, getmore) and write. */
void wire_curop_counts(int64_t *readers, int64_t *writers, int64_t *total)
{
    *readers = *writers = *total = 0;
    pthread_mutex_lock(&g_lock);
    for (const wire_opctx_t *op = g_ops; op != NULL; op = op->cur_next) {
        const char *t = op->info.op;
        (*total)++;
        if (strcmp(t, "query") == 0 || strcmp(t, "getmore") == 0)
            (*readers)++;
        else if (strcmp(t, "insert") == 0 || strcmp(t, "update") == 0 || strcmp(t, "remove") == 0)
            (*writers)++;
    }
    pthread_mutex_unlock(&g_lock);
}

/* wire_curop_kill_if -- mark every running op that pred accepts killed with code; how many. */
int wire_curop_kill_if(bool (*pred)(const wire_opctx_t *op, void *arg), void *arg, int code)
{
    int n = 0;
    pthread_mutex_lock(&g_lock);
    for (wire_opctx_t *op = g_ops; op != NULL; op = op->cur_next) {
        if (pred(op, arg)) {
            __atomic_store_n(&op->kill_code, code, __ATOMIC_RELAXED);
            n++;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return n;
}
