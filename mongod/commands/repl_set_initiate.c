/*
 * repl_set_initiate.c -- {replSetInitiate: <config> | 1 | {}}: make this
 * --replSet node the first member of its set (mongod/repl/state.c acts).
 * Without a config document (1, null or {}), a one-member set on this node's
 * own host:port, as MongoDB does.
 */
#include "mongod/repl/repl.h"

/* micad_cmd_repl_set_initiate -- parse the argument, then repl_initiate. */
int micad_cmd_repl_set_initiate(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    bson_t config;
    bool has_config = false;
    if (bson_iter_init(&it, cmd) && bson_iter_next(&it) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        const uint8_t *data;
        uint32_t len;
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&config, data, len))
            return status_set(st, ERR_InvalidBSON, "malformed replica set configuration");
        has_config = !bson_empty(&config);
    }
    return repl_initiate(micad_of(op), &config, has_config, reply, st);
}
