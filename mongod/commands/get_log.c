/*
 * get_log.c -- {getLog: '*' | 'global' | 'startupWarnings'}: the in-memory
 * log (mongod/logbuf.c). mongosh asks for startupWarnings when it connects.
 */
#include "mongod/micad.h"

#include <string.h>

/* micad_cmd_get_log -- names, or the lines of one log. */
int micad_cmd_get_log(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    const char *name;

    (void)op;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_TypeMismatch,
                          "Argument to getLog must be of type String; found %s",
                          bson_iter_type(&it) == BSON_TYPE_DOUBLE ? "a double" : "another type");
    name = bson_iter_utf8(&it, NULL);
    if (strcmp(name, "*") == 0) {
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(reply, "names", &arr);
        BSON_APPEND_UTF8(&arr, "0", "global");
        BSON_APPEND_UTF8(&arr, "1", "startupWarnings");
        bson_append_array_end(reply, &arr);
        return 0;
    }
    if (strcmp(name, "global") == 0 || strcmp(name, "startupWarnings") == 0) {
        micad_logbuf_append(reply, strcmp(name, "startupWarnings") == 0);
        return 0;
    }
    return status_set(st, ERR_OperationFailed, "No log named '%s'", name);
}
