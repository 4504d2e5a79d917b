/*
 * repl_set_reconfig.c -- {replSetReconfig: <config>, force, maxTimeMS} and
 * {replSetStepUp: 1, skipDryRun}: parsed here, carried out in
 * mongod/repl/reconfig.c.
 */
#include "mongod/repl/repl.h"

#include <string.h>

/* micad_cmd_repl_set_reconfig -- the config must be a document. */
int micad_cmd_repl_set_reconfig(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    bson_t config;
    bool force = false;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_DOCUMENT(&it))
        return status_set(st, ERR_TypeMismatch, "no configuration specified");
    const uint8_t *data;
    uint32_t len;
    bson_iter_document(&it, &len, &data);
    if (!bson_init_static(&config, data, len))
        return status_set(st, ERR_InvalidBSON, "malformed replica set configuration");
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "force") == 0)
            force = bson_iter_as_bool(&it);
    return repl_reconfig(micad_of(op), &config, force, op->deadline_us, reply, st);
}

/* micad_cmd_repl_set_step_up -- {replSetStepUp: 1, skipDryRun: bool}. */
int micad_cmd_repl_set_step_up(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)reply;
    bson_iter_t it;
    bool skip = bson_iter_init_find(&it, cmd, "skipDryRun") && bson_iter_as_bool(&it);
    return repl_step_up(micad_of(op), skip, st);
}
