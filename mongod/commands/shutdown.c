/*
 * shutdown.c -- {shutdown: 1[, force: bool][, timeoutSecs: n]} on admin: a
 * clean stop. The transport stops accepting, finishes in-flight commands and
 * writes their replies (this one included), closes connections; main then
 * closes storage and exits 0. A standalone has no secondaries to wait for, so
 * `force` changes nothing here but is accepted as mongod accepts it.
 */
#include "mongod/micad.h"

#include <string.h>

/* micad_cmd_shutdown -- validate, then ask the server to stop. */
int micad_cmd_shutdown(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    bool force = false;

    (void)reply;
    if (bson_iter_init_find(&it, cmd, "force")) {
        if (!BSON_ITER_HOLDS_BOOL(&it) && !BSON_ITER_HOLDS_NUMBER(&it))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field 'shutdown.force' is the wrong type, expected type "
                              "'bool'");
        force = bson_iter_as_bool(&it);
    }
    if (bson_iter_init_find(&it, cmd, "timeoutSecs") && !BSON_ITER_HOLDS_NUMBER(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'shutdown.timeoutSecs' is the wrong type, expected a "
                          "number");
    LOG(INFO, COMMAND, 21100, "Received shutdown command", "force", BCON_BOOL(force), "remote",
        BCON_UTF8(op->conn ? op->conn->remote : ""));
    if (op->server != NULL)
        wire_server_stop(op->server, "shutdown command");
    return 0;
}
