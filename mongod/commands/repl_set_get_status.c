/*
 * repl_set_get_status.c -- {replSetGetStatus: 1}: the set as this member sees
 * it (mongod/repl/state.c builds the document).
 */
#include "mongod/repl/repl.h"

/* micad_cmd_repl_set_get_status -- everything is in repl_get_status. */
int micad_cmd_repl_set_get_status(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)cmd;
    return repl_get_status(micad_of(op), reply, st);
}
