/*
 * set_parameter.c -- {setParameter: 1, <name>: <value>, ...} on admin, over the
 * parameter table (common/parameters.def, mongod/parameters.c). As mongod: every
 * name is checked first (unknown: InvalidOptions 72; not settable at run time:
 * IllegalOperation 20; named twice: 72), then each is set in turn; the reply
 * carries {was: <previous value>} of the first one. No name at all: 72.
 */
#include "mongod/db.h"
#include "mongod/micad.h"
#include "mongod/parameters.h"

#include <string.h>

/* micad_cmd_set_parameter -- the setParameter command. */
int micad_cmd_set_parameter(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it;
    uint64_t seen = 0;
    int n = 0;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (micad_db_is_generic_arg(k) || strcmp(k, "comment") == 0)
            continue;
        int id = opts_param_lookup(k);
        if (id < 0)
            return status_set(st, ERR_InvalidOptions,
                              "attempted to set unrecognized parameter [%s], use help:true to "
                              "see options ",
                              k);
        if (!(opts_param_settable((opts_param_id_t)id) & OPTS_AT_RUNTIME))
            return status_set(st, ERR_IllegalOperation, "not allowed to change [%s] at runtime", k);
        if (seen & (1ull << id))
            return status_set(st, ERR_InvalidOptions,
                              "attempted to set parameter [%s] twice in the same setParameter "
                              "command",
                              k);
        seen |= 1ull << id;
    }
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (micad_db_is_generic_arg(k) || strcmp(k, "comment") == 0)
            continue;
        opts_param_id_t id = (opts_param_id_t)opts_param_lookup(k);
        if (n == 0)
            micad_param_append(m, id, reply, "was");
        ST_RET(micad_param_set(id, &it, st));
        n++;
        LOG(INFO, COMMAND, 21708, "Setting parameter", "name", BCON_UTF8(k));
    }
    if (n == 0)
        return status_set(st, ERR_InvalidOptions,
                          "no option found to set, use help:true to see "
                          "options ");
    return 0;
}
