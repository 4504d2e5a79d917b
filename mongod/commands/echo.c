/*
 * echo.c -- {echo: ...}: a test-only command (MongoDB has one by that name)
 * that does nothing but answer {echo: <the command>, ok: 1}. It runs through
 * the same loops, codecs and worker pool as every command, so bench/ycsb
 * uses it as the transport's ceiling. Off unless the server was started with
 * --setParameter enableTestCommands=1; otherwise it answers exactly as an
 * unknown command does.
 */
#include "mongod/micad.h"

/* micad_cmd_echo -- the request body back, when test commands are enabled. */
int micad_cmd_echo(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)op;
    if (opts_param(OPTS_PARAM_enableTestCommands) == 0)
        return status_set(st, ERR_CommandNotFound, "no such command: 'echo'");
    BSON_APPEND_DOCUMENT(reply, "echo", cmd);
    return 0;
}
