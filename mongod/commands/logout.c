/*
 * logout.c -- {logout: 1}: de-authenticate the connection. MongoDB answers ok
 * whether or not anyone was authenticated; the privileges go at once.
 */
#include "mongod/auth.h"

/* micad_cmd_logout -- forget the connection's user. */
int micad_cmd_logout(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)cmd;
    (void)reply;
    (void)st;
    if (op->conn != NULL && op->conn->auth != NULL) {
        if (op->conn->auth->authenticated)
            LOG(INFO, ACCESS, 5286308, "Logged out", "client", BCON_UTF8(op->conn->remote), "user",
                BCON_UTF8(op->conn->auth->user), "db", BCON_UTF8(op->conn->auth->db));
        wire_auth_session_logout(op->conn->auth);
    }
    return 0;
}
