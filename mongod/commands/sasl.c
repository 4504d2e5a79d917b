/*
 * sasl.c -- saslStart / saslContinue while access control is off. mongod then
 * has no users, so a SCRAM or PLAIN conversation fails as for an unknown user
 * (AuthenticationFailed, "Authentication failed."), a mechanism it does not
 * offer is MechanismUnavailable, and saslContinue without a conversation is a
 * ProtocolError. Real SCRAM arrives with the auth issue.
 */
#include "mongod/micad.h"

#include <string.h>

/* IDLFailedToParse: a required field is missing (MongoDB's location code). */
#define MICAD_ERR_IDL_FAILED_TO_PARSE 40414

/* micad_cmd_sasl -- both SASL commands. */
int micad_cmd_sasl(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    const char *mech;

    (void)reply;
    if (strcmp(op->name, "saslContinue") == 0)
        return status_set(st, ERR_ProtocolError, "No SASL session state found");
    if (!bson_iter_init_find(&it, cmd, "mechanism"))
        return status_set(st, MICAD_ERR_IDL_FAILED_TO_PARSE,
                          "BSON field 'saslStart.mechanism' is missing but a required field");
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'saslStart.mechanism' is the wrong type, expected type "
                          "'string'");
    mech = bson_iter_utf8(&it, NULL);
    if (strcmp(mech, "SCRAM-SHA-1") != 0 && strcmp(mech, "SCRAM-SHA-256") != 0 &&
        strcmp(mech, "PLAIN") != 0)
        return status_set(st, ERR_MechanismUnavailable,
                          "Received authentication for mechanism %s which is not enabled", mech);
    LOG(INFO, ACCESS, 21120, "Authentication failed", "mechanism", BCON_UTF8(mech), "db",
        BCON_UTF8(op->db), "error", BCON_UTF8("UserNotFound: access control is not enabled"));
    return status_set(st, ERR_AuthenticationFailed, "Authentication failed.");
}
