/*
 * end_sessions.c -- {endSessions: [{id: UUID}, ...]}: drivers send it when a
 * client closes. The list is validated; no session holds server state yet.
 */
#include "mongod/micad.h"

/* micad_cmd_end_sessions -- validate the list; nothing is cached to end. */
int micad_cmd_end_sessions(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    size_t n;
    (void)op;
    (void)reply;
    ST_RET(micad_check_session_list("endSessions", cmd, &n, st));
    LOG(DEBUG1, COMMAND, 21110, "Ending sessions", "count", BCON_INT64((int64_t)n));
    return 0;
}
