/*
 * ping.c -- {ping: 1}: the server is alive; the reply is just {ok: 1.0}.
 */
#include "mongod/micad.h"

/* micad_cmd_ping -- nothing to add; dispatch appends ok. */
int micad_cmd_ping(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)op;
    (void)cmd;
    (void)reply;
    (void)st;
    return 0;
}
