/*
 * repl_set_step_down.c -- {replSetStepDown: secs (60), secondaryCatchUpPeriodSecs (10),
 * force} and {replSetFreeze: secs}: the coordinator's rules (mongod/repl/topology.c),
 * carried out in mongod/repl/node.c.
 */
#include "mongod/repl/repl.h"

#include <string.h>

/* num_arg -- a whole number argument (TypeMismatch else). */
static int num_arg(const bson_iter_t *it, const char *cmd, int64_t *out, status_t *st)
{
    if (!bsonu_is_number(bson_iter_type(it)))
        return status_set(st, ERR_TypeMismatch, "BSON field '%s.%s' is the wrong type '%s'", cmd,
                          bson_iter_key(it), bsonu_type_name(bson_iter_type(it)));
    *out = bson_iter_as_int64(it);
    return 0;
}

/* micad_cmd_repl_set_step_down -- parse, then repl_step_down. */
int micad_cmd_repl_set_step_down(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)reply;
    bson_iter_t it;
    int64_t secs = 60, catch_up = 10;
    bool force = false, has_catch_up = false;
    bson_iter_init(&it, cmd);
    if (bson_iter_next(&it) && bsonu_is_number(bson_iter_type(&it)) && bson_iter_as_int64(&it) > 0)
        secs = bson_iter_as_int64(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "secondaryCatchUpPeriodSecs") == 0) {
            ST_RET(num_arg(&it, "replSetStepDown", &catch_up, st));
            has_catch_up = true;
        } else if (strcmp(k, "force") == 0) {
            force = bson_iter_as_bool(&it);
        }
    }
    if (force && !has_catch_up)
        catch_up = 0; /* MongoDB: force without a catch-up period steps down at once */
    if (catch_up > secs)
        catch_up = secs;
    return repl_step_down(micad_of(op), secs, catch_up, force, st);
}

/* micad_cmd_repl_set_freeze -- {replSetFreeze: secs}; 0 thaws. */
int micad_cmd_repl_set_freeze(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    int64_t secs = 0;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    ST_RET(num_arg(&it, "replSetFreeze", &secs, st));
    return repl_freeze(micad_of(op), secs, reply, st);
}
