/*
 * rw_concern_defaults.c -- {getDefaultRWConcern: 1, inMemory} and
 * {setDefaultRWConcern: 1, defaultReadConcern, defaultWriteConcern,
 * writeConcern}: the cluster-wide defaults, kept in config.settings
 * (mongod/repl/rwc_defaults.c).
 */
#include "mongod/db.h"
#include "mongod/repl/repl.h"

#include <string.h>

/* micad_cmd_get_default_rw_concern -- inMemory (a bool) changes nothing here: one copy. */
int micad_cmd_get_default_rw_concern(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                     status_t *st)
{
    bson_iter_t it;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "inMemory") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'getDefaultRWConcern.inMemory' is the wrong type "
                                  "'%s', expected type 'bool'",
                                  bsonu_type_name(bson_iter_type(&it)));
        } else if (!micad_db_is_generic_arg(k)) {
            return status_set(st, 40415, "BSON field 'getDefaultRWConcern.%s' is an unknown field.",
                              k);
        }
    }
    return repl_get_default_rw_concern(micad_of(op), reply, st);
}

/* micad_cmd_set_default_rw_concern -- unknown fields are refused (IDL strict). */
int micad_cmd_set_default_rw_concern(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                     status_t *st)
{
    bson_iter_t it;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "defaultReadConcern") != 0 && strcmp(k, "defaultWriteConcern") != 0 &&
            !micad_db_is_generic_arg(k))
            return status_set(st, 40415, "BSON field 'setDefaultRWConcern.%s' is an unknown field.",
                              k);
    }
    return repl_set_default_rw_concern(micad_of(op), op, cmd, reply, st);
}
