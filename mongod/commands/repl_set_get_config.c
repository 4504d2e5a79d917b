/*
 * repl_set_get_config.c -- {replSetGetConfig: 1, commitmentStatus?: bool}:
 * the configuration this member holds (mongod/repl/state.c).
 */
#include "mongod/repl/repl.h"

#include <string.h>

/* micad_cmd_repl_set_get_config -- parse, then repl_get_config. */
int micad_cmd_repl_set_get_config(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    bool commitment = false;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "commitmentStatus") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'replSetGetConfig.commitmentStatus' is the wrong "
                                  "type '%s', expected type 'bool'",
                                  bsonu_type_name(bson_iter_type(&it)));
            commitment = bson_iter_bool(&it);
        } else if (strcmp(k, "$db") != 0 && strcmp(k, "lsid") != 0 &&
                   strcmp(k, "$clusterTime") != 0 && strcmp(k, "$readPreference") != 0 &&
                   strcmp(k, "maxTimeMS") != 0 && strcmp(k, "comment") != 0 &&
                   strcmp(k, "apiVersion") != 0 && strcmp(k, "apiStrict") != 0 &&
                   strcmp(k, "apiDeprecationErrors") != 0) {
            return status_set(st, 40415, "BSON field 'replSetGetConfig.%s' is an unknown field.",
                              k);
        }
    }
    return repl_get_config(micad_of(op), commitment, reply, st);
}
