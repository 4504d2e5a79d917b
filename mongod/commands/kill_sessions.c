/*
 * kill_sessions.c -- {killSessions: [{id: UUID}, ...]}: kill the sessions'
 * operations and cursors. None are tied to sessions yet, so after validation
 * there is nothing to kill; an empty list means "all of mine", also nothing.
 */
#include "mongod/micad.h"

/* micad_cmd_kill_sessions -- validate; no session owns an operation yet. */
int micad_cmd_kill_sessions(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    size_t n;
    (void)op;
    (void)reply;
    ST_RET(micad_check_session_list("killSessions", cmd, &n, st));
    LOG(DEBUG1, COMMAND, 21111, "Killing sessions", "count", BCON_INT64((int64_t)n));
    return 0;
}
