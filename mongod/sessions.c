/*
 * sessions.c -- validation of the session lists endSessions and killSessions
 * take. Mica keeps no server-side session state yet (sessions arrive with the
 * transactions issue), so after validation there is nothing to end or kill:
 * that is the true state, and mongod answers ok for unknown sessions too.
 */
#include "mongod/micad.h"

#include <string.h>

/* IDLFailedToParse -- a required field is missing (MongoDB's location code). */
#define MICAD_ERR_IDL_FAILED_TO_PARSE 40414
/* MICAD_MAX_SESSIONS_PER_CALL -- mongod's limit on one endSessions/killSessions. */
#define MICAD_MAX_SESSIONS_PER_CALL 10000

/* micad_check_session_list -- the first field is an array of {id: UUID[, uid: binData]}. */
int micad_check_session_list(const char *cmd_name, const bson_t *cmd, size_t *count, status_t *st)
{
    bson_iter_t it, arr;

    *count = 0;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (!BSON_ITER_HOLDS_ARRAY(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field '%s.%s' is the wrong type, expected type 'array'", cmd_name,
                          cmd_name);
    bson_iter_recurse(&it, &arr);
    while (bson_iter_next(&arr)) {
        bson_iter_t f;
        bool has_id = false;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
            return status_set(st, ERR_TypeMismatch, "BSON field '%s.%s' elements must be objects",
                              cmd_name, cmd_name);
        bson_iter_recurse(&arr, &f);
        while (bson_iter_next(&f)) {
            const char *k = bson_iter_key(&f);
            bson_subtype_t sub;
            uint32_t len;
            const uint8_t *data;
            if (strcmp(k, "id") == 0) {
                if (!BSON_ITER_HOLDS_BINARY(&f))
                    return status_set(st, ERR_TypeMismatch,
                                      "BSON field 'LogicalSessionFromClient.id' is the wrong "
                                      "type, expected type 'binData'");
                bson_iter_binary(&f, &sub, &len, &data);
                if (sub != BSON_SUBTYPE_UUID || len != 16)
                    return status_set(st, ERR_BadValue,
                                      "BSON field 'LogicalSessionFromClient.id' must be a UUID "
                                      "(binData subtype 4, 16 bytes)");
                has_id = true;
            } else if (strcmp(k, "uid") == 0) {
                if (!BSON_ITER_HOLDS_BINARY(&f))
                    return status_set(st, ERR_TypeMismatch,
                                      "BSON field 'LogicalSessionFromClient.uid' is the wrong "
                                      "type, expected type 'binData'");
            } else {
                return status_set(st, MICAD_ERR_IDL_FAILED_TO_PARSE,
                                  "BSON field 'LogicalSessionFromClient.%s' is an unknown field.",
                                  k);
            }
        }
        if (!has_id)
            return status_set(st, MICAD_ERR_IDL_FAILED_TO_PARSE,
                              "BSON field 'LogicalSessionFromClient.id' is missing but a "
                              "required field");
        if (++*count > MICAD_MAX_SESSIONS_PER_CALL)
            return status_set(st, ERR_BadValue, "Cannot %s more than %d sessions at once",
                              strcmp(cmd_name, "endSessions") == 0 ? "end" : "kill",
                              MICAD_MAX_SESSIONS_PER_CALL);
    }
    return 0;
}
