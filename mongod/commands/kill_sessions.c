/*
 * kill_sessions.c -- {killSessions: [{id: UUID}, ...]}: kill the sessions'
 * operations and cursors. Cursors are the only per-session state so far; an
 * empty list means "all sessions", as it does for an unauthenticated server.
 */
#include "mongod/cursors.h"
#include "mongod/micad.h"

/* micad_cmd_kill_sessions -- validate the list and kill the sessions' cursors. */
int micad_cmd_kill_sessions(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    size_t n, killed;
    (void)op;
    (void)reply;
    ST_RET(micad_check_session_list("killSessions", cmd, &n, st));
    killed = micad_cursors_kill_session_list(cmd, true);
    LOG(DEBUG1, COMMAND, 21111, "Killing sessions", "count", BCON_INT64((int64_t)n),
        "cursorsKilled", BCON_INT64((int64_t)killed));
    return 0;
}
