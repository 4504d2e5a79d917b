/*
 * repl_set_internal.c -- the commands members send each other:
 * replSetHeartbeat, replSetRequestVotes and replSetUpdatePosition. The
 * bodies are in mongod/repl/node.c (the coordinator decides).
 */
#include "mongod/repl/repl.h"

/* micad_cmd_repl_set_heartbeat -- {replSetHeartbeat: set, configVersion, term, from, ...}. */
int micad_cmd_repl_set_heartbeat(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    return repl_heartbeat(micad_of(op), cmd, reply, st);
}

/* micad_cmd_repl_set_request_votes -- {replSetRequestVotes, term, candidateIndex, ...}. */
int micad_cmd_repl_set_request_votes(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                     status_t *st)
{
    return repl_request_votes(micad_of(op), cmd, reply, st);
}

/* micad_cmd_repl_set_update_position -- {replSetUpdatePosition, optimes: [...]}. */
int micad_cmd_repl_set_update_position(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                       status_t *st)
{
    return repl_update_position(micad_of(op), cmd, reply, st);
}
