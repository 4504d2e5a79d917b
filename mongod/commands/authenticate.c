/*
 * authenticate.c -- {authenticate: 1, mechanism: "MONGODB-X509", user?}: log
 * in as the user of $external whose name is the subject of the client's
 * verified TLS certificate (RFC 2253, as mongod writes it). MongoDB 7.0 keeps
 * this command for X.509 only; every other mechanism goes through SASL.
 */
#include "mongod/auth.h"

#include <string.h>

/* micad_x509_login -- the certificate subject must name an existing $external user. */
int micad_x509_login(wire_opctx_t *op, const bson_t *cmd, const char *db, bson_t *reply,
                     status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it;
    const char *subject = op->conn ? op->conn->tls_subject : NULL;
    const char *why = NULL;
    char id[4200];
    bson_t doc;
    bool found = false;

    if (!bson_iter_init_find(&it, cmd, "mechanism") || !BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, 40414,
                          "BSON field 'authenticate.mechanism' is missing but a required field");
    if (strcmp(bson_iter_utf8(&it, NULL), "MONGODB-X509") != 0)
        return status_set(st, ERR_MechanismUnavailable,
                          "Received authentication for mechanism %s which is not enabled",
                          bson_iter_utf8(&it, NULL));
    if (strcmp(db, "$external") != 0)
        return status_set(st, ERR_ProtocolError,
                          "X.509 authentication must always use the $external database.");
    if (subject == NULL)
        why = "no verified client certificate on this connection";
    else if (bson_iter_init_find(&it, cmd, "user") && BSON_ITER_HOLDS_UTF8(&it) &&
             strcmp(bson_iter_utf8(&it, NULL), subject) != 0)
        why = "There is no x.509 client certificate matching the user.";
    if (why == NULL && micad_cluster_x509_member(subject)) {
        /* clusterAuthMode x509: a member's certificate logs in as __system */
        ST_RET(micad_auth_login(m, op, "__system", "local", "MONGODB-X509", st));
        BSON_APPEND_UTF8(reply, "dbname", "$external");
        BSON_APPEND_UTF8(reply, "user", subject);
        return 0;
    }
    if (why == NULL) {
        (void)snprintf(id, sizeof(id), "$external.%s", subject);
        ST_RET(micad_auth_get(m, "system.users", id, &doc, &found, st));
        bson_destroy(&doc);
        if (!found)
            why = "UserNotFound: no $external user for this certificate subject";
    }
    if (why != NULL) {
        LOG(INFO, ACCESS, 5286307, "Failed to authenticate", "client",
            BCON_UTF8(op->conn ? op->conn->remote : ""), "mechanism", BCON_UTF8("MONGODB-X509"),
            "user", BCON_UTF8(subject ? subject : ""), "db", BCON_UTF8(db), "error", BCON_UTF8(why),
            "result", BCON_INT32(ERR_AuthenticationFailed));
        return status_set(st, ERR_AuthenticationFailed, "Authentication failed.");
    }
    ST_RET(micad_auth_login(m, op, subject, "$external", "MONGODB-X509", st));
    BSON_APPEND_UTF8(reply, "dbname", "$external");
    BSON_APPEND_UTF8(reply, "user", subject);
    return 0;
}

/* micad_cmd_authenticate -- the command form. */
int micad_cmd_authenticate(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    return micad_x509_login(op, cmd, op->db, reply, st);
}
