/*
 * connection_status.c -- {connectionStatus: 1[, showPrivileges: true]}: who
 * is authenticated on this connection, with which roles, and (on request)
 * the privileges those roles resolve to.
 */
#include "mongod/auth.h"

/* micad_cmd_connection_status -- authInfo {authenticatedUsers, authenticatedUserRoles[, ...]}. */
int micad_cmd_connection_status(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    wire_auth_session_t *s = op->conn ? op->conn->auth : NULL;
    bson_iter_t it;
    bool show = false, who;
    bson_t info, arr, d;

    if (bson_iter_init_find(&it, cmd, "showPrivileges")) {
        if (!BSON_ITER_HOLDS_BOOL(&it) && !BSON_ITER_HOLDS_NUMBER(&it))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field 'connectionStatus.showPrivileges' is the wrong type, "
                              "expected type 'bool'");
        show = bson_iter_as_bool(&it);
    }
    if (op->app != NULL)
        ST_RET(micad_auth_refresh(micad_of(op), op, st));
    who = s != NULL && s->authenticated;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "authInfo", &info);
    BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUsers", &arr);
    if (who) {
        BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &d);
        BSON_APPEND_UTF8(&d, "user", s->user);
        BSON_APPEND_UTF8(&d, "db", s->db);
        bson_append_document_end(&arr, &d);
    }
    bson_append_array_end(&info, &arr);
    BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUserRoles", &arr);
    if (who) {
        bson_iter_t r;
        uint32_t n = 0;
        if (bson_iter_init(&r, &s->roles)) {
            while (bson_iter_next(&r)) {
                char key[16];
                (void)snprintf(key, sizeof(key), "%u", n++);
                if (BSON_ITER_HOLDS_DOCUMENT(&r)) {
                    bson_t rd;
                    uint32_t len;
                    const uint8_t *data;
                    bson_iter_document(&r, &len, &data);
                    if (bson_init_static(&rd, data, len))
                        BSON_APPEND_DOCUMENT(&arr, key, &rd);
                }
            }
        }
    }
    bson_append_array_end(&info, &arr);
    if (show) {
        BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUserPrivileges", &arr);
        if (who)
            wire_privset_to_bson(&s->privs, &arr);
        bson_append_array_end(&info, &arr);
    }
    bson_append_document_end(reply, &info);
    return 0;
}
