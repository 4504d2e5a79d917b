/*
 * end_sessions.c -- {endSessions: [{id: UUID}, ...]}: drivers send it when a
 * client closes. The sessions' cursors are killed; no other per-session state
 * exists yet (retryable writes and transactions come with replication).
 */
#include "mongod/cursors.h"
#include "mongod/micad.h"

/* micad_cmd_end_sessions -- validate the list and kill the sessions' cursors. */
int micad_cmd_end_sessions(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    size_t n, killed;
    (void)op;
    (void)reply;
    ST_RET(micad_check_session_list("endSessions", cmd, &n, st));
    killed = micad_cursors_kill_session_list(cmd, false);
    LOG(DEBUG1, COMMAND, 21110, "Ending sessions", "count", BCON_INT64((int64_t)n), "cursorsKilled",
        BCON_INT64((int64_t)killed));
    return 0;
}
