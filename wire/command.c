/*
 * command.c -- the command machinery micad and micas share: a command table
 * indexed by name, parsing a request's generic arguments once into an
 * operation context, dispatch with MongoDB's checks (unknown command,
 * admin-only, legacy OP_QUERY), and the one function that turns a status into
 * MongoDB's error reply. Handlers never build an error document themselves.
 */
#include "wire/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmp_cmd -- order rows by name for bsearch. */
static int cmp_cmd(const void *a, const void *b)
{
    const wire_command_t *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* wire_cmd_table_init -- build the sorted index and reject duplicates. */
int wire_cmd_table_init(wire_cmd_table_t *t, const wire_command_t *cmds, size_t n, status_t *st)
{
    memset(t, 0, sizeof(*t));
    t->cmds = cmds;
    t->n = n;
    t->sorted = bson_malloc0(sizeof(*t->sorted) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        if (cmds[i].name == NULL || cmds[i].name[0] == '\0' || cmds[i].fn == NULL) {
            wire_cmd_table_destroy(t);
            return status_set(st, ERR_BadValue, "command table row %zu has no name or handler", i);
        }
        t->sorted[i] = &cmds[i];
    }
    qsort(t->sorted, n, sizeof(*t->sorted), cmp_cmd);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(t->sorted[i - 1]->name, t->sorted[i]->name) == 0) {
            int rc = status_set(st, ERR_BadValue, "duplicate command name in table: %s",
                                t->sorted[i]->name);
            wire_cmd_table_destroy(t);
            return rc;
        }
    }
    return 0;
}

/* wire_cmd_table_destroy -- free the index. */
void wire_cmd_table_destroy(wire_cmd_table_t *t)
{
    if (t == NULL)
        return;
    bson_free(t->sorted);
    t->sorted = NULL;
    t->n = 0;
}

/* wire_cmd_find -- binary search by exact name. */
const wire_command_t *wire_cmd_find(const wire_cmd_table_t *t, const char *name)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t->sorted[mid]->name);
        if (c == 0)
            return t->sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* wire_opctx_init -- an empty context. */
void wire_opctx_init(wire_opctx_t *op, wire_conn_info_t *conn, struct wire_server *server,
                     void *app)
{
    memset(op, 0, sizeof(*op));
    op->conn = conn;
    op->server = server;
    op->app = app;
    op->start_us = time_mono_us();
    bson_init(&op->body);
}

/* wire_opctx_error_info -- see wire.h. */
bson_t *wire_opctx_error_info(wire_opctx_t *op)
{
    if (op->error_info == NULL)
        op->error_info = bson_new();
    return op->error_info;
}

/* sub_doc -- a static view of an embedded document field, or TypeMismatch. */
static int sub_doc(bson_iter_t *it, const char *name, bson_t *out, status_t *st)
{
    const uint8_t *data;
    uint32_t len;
    if (!BSON_ITER_HOLDS_DOCUMENT(it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field '%s' is the wrong type '%s', expected type 'object'", name,
                          bsonu_type_name(bson_iter_type(it)));
    bson_iter_document(it, &len, &data);
    if (!bson_init_static(out, data, len))
        return status_set(st, ERR_InvalidBSON, "invalid document in field '%s'", name);
    return 0;
}

/* parse_max_time -- maxTimeMS: a whole number in [0, INT32_MAX]. */
static int parse_max_time(bson_iter_t *it, int64_t *out, status_t *st)
{
    double d;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        d = bson_iter_int32(it);
        break;
    case BSON_TYPE_INT64:
        d = (double)bson_iter_int64(it);
        break;
    case BSON_TYPE_DOUBLE:
        d = bson_iter_double(it);
        break;
    default:
        return status_set(st, ERR_BadValue, "maxTimeMS must be a number");
    }
    if (!(d >= 0 && d <= 2147483647.0))
        return status_set(st, ERR_BadValue, "%g value for maxTimeMS is out of range [0, %d]", d,
                          2147483647);
    if (d != (double)(int64_t)d)
        return status_set(st, ERR_BadValue, "maxTimeMS has a fractional component: %g", d);
    *out = (int64_t)d;
    return 0;
}

/* want_bool -- a boolean generic argument, or TypeMismatch. */
static int want_bool(bson_iter_t *it, const char *name, bool *out, status_t *st)
{
    if (!BSON_ITER_HOLDS_BOOL(it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field '%s' is the wrong type '%s', expected type 'bool'", name,
                          bsonu_type_name(bson_iter_type(it)));
    *out = bson_iter_bool(it);
    return 0;
}

/* wire_opctx_parse_body -- command name and generic arguments from body. */
int wire_opctx_parse_body(wire_opctx_t *op, const char *db, const bson_t *body, status_t *st)
{
    bson_iter_t it;

    if (!bson_init_static(&op->body, bson_get_data(body), body->len))
        return status_set(st, ERR_InvalidBSON, "invalid command document");
    if (db == NULL || db[0] == '\0')
        return status_set(st, ERR_InvalidNamespace, "Invalid database name: ''");
    if (strlen(db) >= sizeof(op->db))
        return status_set(st, ERR_InvalidNamespace, "db name is too long");
    (void)snprintf(op->db, sizeof(op->db), "%s", db);
    if (!bson_iter_init(&it, &op->body) || !bson_iter_next(&it)) {
        op->name = "";
        return 0; /* dispatch answers CommandNotFound for '' */
    }
    op->name = bson_iter_key(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "lsid") == 0) {
            ST_RET(sub_doc(&it, k, &op->lsid, st));
            op->has_lsid = true;
        } else if (strcmp(k, "txnNumber") == 0) {
            if (!BSON_ITER_HOLDS_INT64(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'txnNumber' is the wrong type '%s', expected type "
                                  "'long'",
                                  bsonu_type_name(bson_iter_type(&it)));
            op->txn_number = bson_iter_int64(&it);
            if (op->txn_number < 0)
                return status_set(st, ERR_BadValue, "TxnNumber cannot be negative");
            op->has_txn_number = true;
        } else if (strcmp(k, "autocommit") == 0) {
            ST_RET(want_bool(&it, k, &op->autocommit, st));
            op->has_autocommit = true;
        } else if (strcmp(k, "startTransaction") == 0) {
            ST_RET(want_bool(&it, k, &op->start_transaction, st));
        } else if (strcmp(k, "readConcern") == 0) {
            ST_RET(sub_doc(&it, k, &op->read_concern, st));
            op->has_read_concern = true;
        } else if (strcmp(k, "writeConcern") == 0) {
            ST_RET(sub_doc(&it, k, &op->write_concern, st));
            op->has_write_concern = true;
        } else if (strcmp(k, "$readPreference") == 0) {
            ST_RET(sub_doc(&it, k, &op->read_pref, st));
            op->has_read_pref = true;
        } else if (strcmp(k, "maxTimeMS") == 0) {
            ST_RET(parse_max_time(&it, &op->max_time_ms, st));
            if (op->max_time_ms > 0)
                op->deadline_us = op->start_us + op->max_time_ms * 1000;
        } else if (strcmp(k, "comment") == 0) {
            op->comment = it;
            op->has_comment = true;
        } else if (strcmp(k, "apiVersion") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'apiVersion' is the wrong type '%s', expected type "
                                  "'string'",
                                  bsonu_type_name(bson_iter_type(&it)));
            op->api_version = bson_iter_utf8(&it, NULL);
            if (strcmp(op->api_version, "1") != 0)
                return status_set(st, ERR_APIVersionError,
                                  "API version must be \"1\" but got \"%s\"", op->api_version);
        } else if (strcmp(k, "apiStrict") == 0) {
            ST_RET(want_bool(&it, k, &op->api_strict, st));
        } else if (strcmp(k, "apiDeprecationErrors") == 0) {
            ST_RET(want_bool(&it, k, &op->api_deprecation_errors, st));
        }
    }
    if ((op->api_strict || op->api_deprecation_errors) && op->api_version == NULL)
        return status_set(st, ERR_APIVersionError,
                          "Setting apiStrict or apiDeprecationErrors without apiVersion is not "
                          "allowed");
    return 0;
}

/* unwrap_query -- OP_QUERY commands may be wrapped as {$query: {...}, $readPreference}. */
static int unwrap_query(const bson_t *q, bson_t *out, status_t *st)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, q, "$query") || bson_iter_init_find(&it, q, "query")) {
        bson_iter_t first;
        /* only when it is the wrapper, i.e. the first field */
        if (bson_iter_init(&first, q) && bson_iter_next(&first) &&
            (strcmp(bson_iter_key(&first), "$query") == 0 ||
             strcmp(bson_iter_key(&first), "query") == 0) &&
            BSON_ITER_HOLDS_DOCUMENT(&first))
            return sub_doc(&first, "$query", out, st);
    }
    if (!bson_init_static(out, bson_get_data(q), q->len))
        return status_set(st, ERR_InvalidBSON, "invalid query document");
    return 0;
}

/* wire_opctx_parse -- the context of an OP_MSG or a legacy OP_QUERY command. */
int wire_opctx_parse(wire_opctx_t *op, const wire_request_t *req, status_t *st)
{
    bson_iter_t it;

    op->req = req;
    if (req->op_code == WIRE_OP_QUERY) {
        const char *ns = req->full_collection_name ? req->full_collection_name : "";
        const char *dot = strchr(ns, '.');
        char db[sizeof(op->db)];
        bson_t body;
        op->legacy = true;
        if (dot == NULL || strcmp(dot, ".$cmd") != 0 || dot == ns)
            return status_set(st, WIRE_ERR_UNSUPPORTED_OP_QUERY,
                              "Unsupported OP_QUERY command: find. The client driver may "
                              "require an upgrade. For more details see "
                              "https://dochub.mongodb.org/core/legacy-opcode-removal");
        if ((size_t)(dot - ns) >= sizeof(db))
            return status_set(st, ERR_InvalidNamespace, "db name is too long");
        (void)snprintf(db, sizeof(db), "%.*s", (int)(dot - ns), ns);
        ST_RET(unwrap_query(&req->body, &body, st));
        return wire_opctx_parse_body(op, db, &body, st);
    }
    if (req->op_code != WIRE_OP_MSG)
        return status_set(st, ERR_ProtocolError, "unsupported opcode %d", req->op_code);
    if (!bson_iter_init_find(&it, &req->body, "$db")) {
        /* still learn the name, for the log */
        (void)wire_opctx_parse_body(op, "admin", &req->body, st);
        return status_set(st, WIRE_ERR_MISSING_DB, "OP_MSG requests require a $db argument");
    }
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field '$db' is the wrong type '%s', expected type 'string'",
                          bsonu_type_name(bson_iter_type(&it)));
    return wire_opctx_parse_body(op, bson_iter_utf8(&it, NULL), &req->body, st);
}

/* wire_code_name -- a name for every code, as MongoDB prints it. */
const char *wire_code_name(int code, char *buf, size_t len)
{
    if (status_code_known(code))
        return status_code_name(code);
    if (code == WIRE_ERR_UNSUPPORTED_OP_QUERY)
        return "UnsupportedOpQueryCommand";
    if (code == WIRE_ERR_SOCKET)
        return "SocketException";
    (void)snprintf(buf, len, "Location%d", code);
    return buf;
}

/*
 * is_retryable_code -- the codes after which drivers retry a write (MongoDB's
 * RetryableWriteError category): stepdowns, shutdowns and network-ish errors.
 */
static bool is_retryable_code(int code)
{
    switch (code) {
    case ERR_HostUnreachable:
    case ERR_HostNotFound:
    case ERR_NetworkTimeout:
    case ERR_ShutdownInProgress:
    case ERR_PrimarySteppedDown:
    case ERR_ExceededTimeLimit:
    case ERR_NotWritablePrimary:
    case ERR_InterruptedAtShutdown:
    case ERR_InterruptedDueToReplStateChange:
    case ERR_NotPrimaryNoSecondaryOk:
    case ERR_NotPrimaryOrSecondary:
        return true;
    default:
        return false;
    }
}

/*
 * label_retryable_wce -- a write that succeeded but whose write concern failed with a
 * retryable code (the primary stepped down or shut down while it waited) carries the
 * RetryableWriteError label too, as MongoDB's does: drivers retry on the label alone.
 */
static void label_retryable_wce(const wire_opctx_t *op, bson_t *reply)
{
    bson_iter_t it, wce;
    if (!(op->cmd->flags & WIRE_CMD_WRITE) || !op->has_txn_number || op->has_autocommit ||
        bson_has_field(reply, "errorLabels") ||
        !bson_iter_init_find(&it, reply, "writeConcernError") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &wce) || !bson_iter_find(&wce, "code") ||
        !is_retryable_code(bson_iter_as_int64(&wce) > INT32_MAX ? 0
                                                                : (int)bson_iter_as_int64(&wce)))
        return;
    bson_t labels;
    BSON_APPEND_ARRAY_BEGIN(reply, "errorLabels", &labels);
    BSON_APPEND_UTF8(&labels, "0", "RetryableWriteError");
    bson_append_array_end(reply, &labels);
}

/* wire_error_reply -- {ok: 0.0, errmsg, code, codeName[, errorLabels]}. */
void wire_error_reply(const status_t *st, const wire_opctx_t *op, bson_t *reply)
{
    char buf[32];
    int code = st->code != 0 ? st->code : ERR_InternalError;

    bson_reinit(reply);
    BSON_APPEND_DOUBLE(reply, "ok", 0.0);
    BSON_APPEND_UTF8(reply, "errmsg", st->msg);
    BSON_APPEND_INT32(reply, "code", code);
    BSON_APPEND_UTF8(reply, "codeName", wire_code_name(code, buf, sizeof(buf)));
    if (op != NULL && op->error_info != NULL)
        bson_concat(reply, op->error_info);
    if (op != NULL && op->cmd != NULL && (op->cmd->flags & WIRE_CMD_WRITE) && op->has_txn_number &&
        !op->has_autocommit && is_retryable_code(code)) {
        bson_t labels;
        BSON_APPEND_ARRAY_BEGIN(reply, "errorLabels", &labels);
        BSON_APPEND_UTF8(&labels, "0", "RetryableWriteError");
        bson_append_array_end(reply, &labels);
    }
}

/* wire_cmd_dispatch -- find, check, run, and complete the reply. */
int wire_cmd_dispatch(const wire_cmd_table_t *t, wire_opctx_t *op, bson_t *reply)
{
    status_t st = STATUS_INIT;
    const wire_command_t *cmd = wire_cmd_find(t, op->name ? op->name : "");
    int ret;

    if (cmd == NULL) {
        status_set(&st, ERR_CommandNotFound, "no such command: '%s'", op->name ? op->name : "");
        goto err;
    }
    op->cmd = cmd;
    if (op->legacy && !(cmd->flags & WIRE_CMD_LEGACY_OK)) {
        status_set(&st, WIRE_ERR_UNSUPPORTED_OP_QUERY,
                   "Unsupported OP_QUERY command: %s. The client driver may require an upgrade. "
                   "For more details see https://dochub.mongodb.org/core/legacy-opcode-removal",
                   cmd->name);
        goto err;
    }
    if (wire_cmd_check_generic_rules(op, cmd->name, &st) != 0)
        goto err;
    if ((cmd->flags & WIRE_CMD_ADMIN_ONLY) && strcmp(op->db, "admin") != 0) {
        status_set(&st, ERR_Unauthorized, "%s may only be run against the admin database.",
                   cmd->name);
        goto err;
    }
    if (t->authorize != NULL && !op->resumed && t->authorize(op, &st) != 0)
        goto err;
    if (t->gate != NULL && t->gate(op, cmd, &st) != 0)
        goto err;
    bson_reinit(reply);
    wire_curop_begin(op);
    ret = cmd->fn(op, &op->body, reply, &st);
    wire_curop_end(op);
    if (ret != 0) {
        if (st.code == 0)
            status_set(&st, ret, "%s failed", cmd->name);
        goto err;
    }
    if (op->park_ms > 0 && !op->resumed)
        return 0; /* the transport re-runs it later */
    if (t->after != NULL && t->after(op, reply, &st) != 0)
        goto err;
    if (!bson_has_field(reply, "ok"))
        BSON_APPEND_DOUBLE(reply, "ok", 1.0);
    if (t->decorate != NULL)
        t->decorate(op, reply);
    label_retryable_wce(op, reply);
    bson_destroy(op->error_info);
    op->error_info = NULL;
    return 0;
err:
    wire_error_reply(&st, op, reply);
    if (t->decorate != NULL)
        t->decorate(op, reply);
    bson_destroy(op->error_info);
    op->error_info = NULL;
    return st.code;
}

/* wire_negotiate_compression -- intersect the client's list with ours. */
int wire_negotiate_compression(wire_opctx_t *op, const bson_t *hello, bson_t *reply, status_t *st)
{
    bson_iter_t it, arr;
    uint8_t chosen[3];
    size_t n = 0;

    if (!bson_iter_init_find(&it, hello, "compression"))
        return 0;
    if (!BSON_ITER_HOLDS_ARRAY(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'compression' is the wrong type '%s', expected type 'array'",
                          bsonu_type_name(bson_iter_type(&it)));
    bson_iter_recurse(&it, &arr);
    while (bson_iter_next(&arr)) {
        int id;
        bool dup = false;
        if (!BSON_ITER_HOLDS_UTF8(&arr))
            return status_set(st, ERR_TypeMismatch, "compression entries must be strings");
        id = wire_compressor_by_name(bson_iter_utf8(&arr, NULL));
        if (id <= WIRE_COMPRESSOR_NOOP || id > WIRE_COMPRESSOR_ZSTD)
            continue; /* a compressor we do not have is simply not chosen */
        for (size_t i = 0; i < n; i++)
            dup |= chosen[i] == (uint8_t)id;
        if (!dup && n < sizeof(chosen))
            chosen[n++] = (uint8_t)id;
    }
    if (op->conn != NULL) {
        memcpy(op->conn->compressors, chosen, n);
        op->conn->n_compressors = (uint8_t)n;
    }
    if (n > 0) {
        bson_t out;
        BSON_APPEND_ARRAY_BEGIN(reply, "compression", &out);
        for (size_t i = 0; i < n; i++) {
            char key[4];
            (void)snprintf(key, sizeof(key), "%zu", i);
            BSON_APPEND_UTF8(&out, key, wire_compressor_name(chosen[i]));
        }
        bson_append_array_end(reply, &out);
    }
    return 0;
}
