/*
 * logout.c -- {logout: 1}: de-authenticate the connection. With no
 * authentication configured nobody is logged in, so there is nothing to drop
 * and mongod answers ok, as here.
 */
#include "mongod/micad.h"

/* micad_cmd_logout -- ok: no user is authenticated on any connection yet. */
int micad_cmd_logout(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)op;
    (void)cmd;
    (void)reply;
    (void)st;
    return 0;
}
