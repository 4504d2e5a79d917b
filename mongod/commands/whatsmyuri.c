/*
 * whatsmyuri.c -- {whatsmyuri: 1}: the client's address as the server sees it.
 */
#include "mongod/micad.h"

/* micad_cmd_whatsmyuri -- {you: "ip:port"}. */
int micad_cmd_whatsmyuri(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)cmd;
    (void)st;
    BSON_APPEND_UTF8(reply, "you", op->conn != NULL ? op->conn->remote : "");
    return 0;
}
