/*
 * hello.c -- hello and its legacy names isMaster / ismaster: the handshake
 * every driver starts with and repeats to monitor the server.
 *
 * A standalone is always writable primary. The awaitable form (topologyVersion
 * + maxAwaitTimeMS, sent by drivers' monitors) must not answer at once while
 * the client's topologyVersion is current, or every driver spins: the handler
 * parks the request (op->park_ms) and the transport re-runs it when the time
 * is up or the topology changes, without holding a worker meanwhile.
 */
#include "mongod/auth.h"
#include "mongod/db.h"
#include "mongod/repl/repl.h"

#include <string.h>

/* MongoDB's location codes for malformed awaitable hello arguments. */
#define MICAD_ERR_AWAIT_PAIR     31368 /* topologyVersion and maxAwaitTimeMS go together */
#define MICAD_ERR_IDL_COMPARISON 51024 /* maxAwaitTimeMS < 0 */

/* as_int64 -- a whole number of any numeric type. */
static bool as_int64(const bson_iter_t *it, int64_t *out)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        *out = bson_iter_int32(it);
        return true;
    case BSON_TYPE_INT64:
        *out = bson_iter_int64(it);
        return true;
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double)(int64_t)d)
            return false;
        *out = (int64_t)d;
        return true;
    }
    default:
        return false;
    }
}

/* parse_topology_version -- {processId: ObjectId, counter: long}. */
static int parse_topology_version(bson_iter_t *it, bson_oid_t *pid, int64_t *counter, status_t *st)
{
    bson_iter_t sub;
    bool has_pid = false, has_counter = false;

    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'hello.topologyVersion' is the wrong type, expected type "
                          "'object'");
    while (bson_iter_next(&sub)) {
        if (strcmp(bson_iter_key(&sub), "processId") == 0 && BSON_ITER_HOLDS_OID(&sub)) {
            bson_oid_copy(bson_iter_oid(&sub), pid);
            has_pid = true;
        } else if (strcmp(bson_iter_key(&sub), "counter") == 0 && as_int64(&sub, counter)) {
            has_counter = true;
        }
    }
    if (!has_pid || !has_counter)
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'hello.topologyVersion' needs an ObjectId 'processId' and "
                          "a long 'counter'");
    if (*counter < 0)
        return status_set(st, MICAD_ERR_IDL_COMPARISON,
                          "BSON field 'TopologyVersion.counter' value must be >= 0, actual value "
                          "'%lld'",
                          (long long)*counter);
    return 0;
}

/* micad_hello_reply -- validate, maybe park, else the handshake document. */
int micad_hello_reply(wire_opctx_t *op, const bson_t *cmd, bool legacy_names, bson_t *reply,
                      status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it;
    bool has_tv = false, has_await = false, hello_ok = false;
    bson_oid_t pid;
    int64_t counter = 0, await_ms = 0;
    int64_t topo = __atomic_load_n(&m->topology_counter, __ATOMIC_RELAXED);

    if (bson_iter_init_find(&it, cmd, "client")) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field 'hello.client' is the wrong type, expected type "
                              "'object'");
        if (op->conn != NULL && op->conn->hello_done)
            return status_set(st, ERR_ClientMetadataCannotBeMutated,
                              "The client metadata document may only be sent in the first hello");
        if (!op->resumed) {
            bson_t client;
            const uint8_t *data;
            uint32_t len;
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&client, data, len))
                wire_conn_set_client_metadata(op->conn, &client);
            if (bson_init_static(&client, data, len))
                LOG(INFO, NETWORK, 51800, "client metadata", "remote",
                    BCON_UTF8(op->conn ? op->conn->remote : ""), "doc", BCON_DOCUMENT(&client));
        }
    }
    if (bson_iter_init_find(&it, cmd, "helloOk"))
        hello_ok = bson_iter_as_bool(&it);
    if (bson_iter_init_find(&it, cmd, "topologyVersion")) {
        ST_RET(parse_topology_version(&it, &pid, &counter, st));
        has_tv = true;
    }
    if (bson_iter_init_find(&it, cmd, "maxAwaitTimeMS")) {
        if (!as_int64(&it, &await_ms))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field 'hello.maxAwaitTimeMS' is the wrong type, expected "
                              "type 'long'");
        if (await_ms < 0)
            return status_set(st, MICAD_ERR_IDL_COMPARISON,
                              "BSON field 'maxAwaitTimeMS' value must be >= 0, actual value "
                              "'%lld'",
                              (long long)await_ms);
        has_await = true;
    }
    if (has_tv != has_await)
        return status_set(st, MICAD_ERR_AWAIT_PAIR,
                          has_tv ? "A request with a 'topologyVersion' must include "
                                   "'maxAwaitTimeMS'"
                                 : "A request with 'maxAwaitTimeMS' must include a "
                                   "'topologyVersion'");
    /* Current topology: wait for a change (or the time limit) before answering. */
    if (has_tv && !op->resumed && await_ms > 0 && bson_oid_equal(&pid, &m->process_id) &&
        counter == topo && (op->server == NULL || !wire_server_stopping(op->server))) {
        op->park_ms = await_ms;
        return 0;
    }

    if (hello_ok)
        BSON_APPEND_BOOL(reply, "helloOk", true);
    if (repl_enabled())
        repl_hello_append(m, reply, legacy_names); /* the replica-set fields */
    else
        BSON_APPEND_BOOL(reply, legacy_names ? "ismaster" : "isWritablePrimary", true);
    {
        bson_t tv;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "topologyVersion", &tv);
        BSON_APPEND_OID(&tv, "processId", &m->process_id);
        BSON_APPEND_INT64(&tv, "counter", topo);
        bson_append_document_end(reply, &tv);
    }
    BSON_APPEND_INT32(reply, "maxBsonObjectSize", WIRE_MAX_BSON_BYTES);
    BSON_APPEND_INT32(reply, "maxMessageSizeBytes", WIRE_MAX_MESSAGE_BYTES);
    BSON_APPEND_INT32(reply, "maxWriteBatchSize", WIRE_MAX_WRITE_BATCH);
    BSON_APPEND_DATE_TIME(reply, "localTime", time_now_ms());
    BSON_APPEND_INT32(reply, "logicalSessionTimeoutMinutes", 30);
    BSON_APPEND_INT64(reply, "connectionId", op->conn != NULL ? op->conn->id : 0);
    BSON_APPEND_INT32(reply, "minWireVersion", 0);
    BSON_APPEND_INT32(reply, "maxWireVersion", 21);
    BSON_APPEND_BOOL(reply, "readOnly", false);
    ST_RET(wire_negotiate_compression(op, cmd, reply, st));
    if (bson_iter_init_find(&it, cmd, "saslSupportedMechs"))
        micad_sasl_supported_mechs(op, &it, reply);
    if (op->conn != NULL && bson_iter_init_find(&it, cmd, "speculativeAuthenticate") &&
        BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_t spec;
        if (micad_db_arg_doc(&it, "hello", &spec, st) == 0)
            micad_sasl_speculative(op, &spec, reply);
        status_reset(st);
    }
    if (op->conn != NULL)
        op->conn->hello_done = true;
    return 0;
}

/* micad_cmd_hello -- {hello: 1}: isWritablePrimary. */
int micad_cmd_hello(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    return micad_hello_reply(op, cmd, false, reply, st);
}

/* micad_cmd_is_master -- {isMaster: 1} / {ismaster: 1}: the legacy field name ismaster. */
int micad_cmd_is_master(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    return micad_hello_reply(op, cmd, true, reply, st);
}
