/*
 * kill_op.c -- {killOp: 1, op: <opid>} on admin: mark the operation killed.
 * It stops at its next yield point with Interrupted (11601); killOp itself
 * answers at once and, as MongoDB does, succeeds whether or not the opid ran.
 */
#include "mongod/micad.h"

/* micad_cmd_kill_op -- the killOp command. */
int micad_cmd_kill_op(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    int64_t opid;

    if (!bson_iter_init_find(&it, cmd, "op"))
        return status_set(st, ERR_NoSuchKey, "Missing expected field \"op\"");
    if (!bsonu_number_as_int64(bson_iter_value(&it), &opid))
        return status_set(st, ERR_TypeMismatch,
                          "Expected field \"op\" to have a value exactly representable as a "
                          "64-bit integer, but found op: %s",
                          bsonu_type_name(bson_iter_type(&it)));
    LOG(INFO, COMMAND, 20482, "Going to kill op", "opId", BCON_INT64(opid));
    if (!wire_curop_kill(opid))
        LOG(DEBUG1, COMMAND, 21700, "killOp: no such operation", "opId", BCON_INT64(opid));
    (void)op;
    BSON_APPEND_UTF8(reply, "info", "attempting to kill op");
    return 0;
}
