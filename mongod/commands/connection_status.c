/*
 * connection_status.c -- {connectionStatus: 1[, showPrivileges: true]}: who is
 * authenticated on this connection. Without access control: nobody.
 */
#include "mongod/micad.h"

/* micad_cmd_connection_status -- authInfo with empty users and roles. */
int micad_cmd_connection_status(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    bool show = false;
    bson_t info, arr;

    (void)op;
    if (bson_iter_init_find(&it, cmd, "showPrivileges")) {
        if (!BSON_ITER_HOLDS_BOOL(&it) && !BSON_ITER_HOLDS_NUMBER(&it))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field 'connectionStatus.showPrivileges' is the wrong type, "
                              "expected type 'bool'");
        show = bson_iter_as_bool(&it);
    }
    BSON_APPEND_DOCUMENT_BEGIN(reply, "authInfo", &info);
    BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUsers", &arr);
    bson_append_array_end(&info, &arr);
    BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUserRoles", &arr);
    bson_append_array_end(&info, &arr);
    if (show) {
        BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUserPrivileges", &arr);
        bson_append_array_end(&info, &arr);
    }
    bson_append_document_end(reply, &info);
    return 0;
}
