/*
 * sasl.c -- saslStart / saslContinue: SCRAM-SHA-256 and SCRAM-SHA-1 against
 * the users of admin.system.users (and __system with the keyFile), hello's
 * speculativeAuthenticate and saslSupportedMechs.
 *
 * The conversation state lives in the connection's auth session
 * (wire_auth_session_t); the SCRAM state machine is wire/scram.c. As in
 * MongoDB, authentication works whether or not access control is enforced,
 * and every failure -- unknown user, missing credential, wrong proof -- is
 * the same AuthenticationFailed 18 "Authentication failed.", so a client
 * cannot tell which users exist. The reason goes to the log (5286307), with
 * the user and the remote address but never a payload.
 */
#include "mongod/auth.h"
#include "mongod/db.h"

#include <string.h>

/* IDLFailedToParse: a required field is missing (MongoDB's location code). */
#define MICAD_ERR_IDL_FAILED_TO_PARSE 40414
/* MICAD_SASL_CONVERSATION_ID -- MongoDB answers every conversation with id 1. */
#define MICAD_SASL_CONVERSATION_ID 1

/* log_failure -- 5286307 with the real reason; the client only sees error 18. */
static int auth_failed(wire_opctx_t *op, const char *mech, const char *user, const char *db,
                       const char *why, status_t *st)
{
    LOG(INFO, ACCESS, 5286307, "Failed to authenticate", "client",
        BCON_UTF8(op->conn ? op->conn->remote : ""), "isSpeculative", BCON_BOOL(false), "mechanism",
        BCON_UTF8(mech), "user", BCON_UTF8(user), "db", BCON_UTF8(db), "error", BCON_UTF8(why),
        "result", BCON_INT32(ERR_AuthenticationFailed));
    return status_set(st, ERR_AuthenticationFailed, "Authentication failed.");
}

/* get_payload -- BinData (drivers) or a string (some shells) payload. */
static int get_payload(const bson_t *cmd, const char *cmd_name, const uint8_t **data, uint32_t *len,
                       status_t *st)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, "payload"))
        return status_set(st, MICAD_ERR_IDL_FAILED_TO_PARSE,
                          "BSON field '%s.payload' is missing but a required field", cmd_name);
    if (BSON_ITER_HOLDS_BINARY(&it)) {
        bson_subtype_t sub;
        bson_iter_binary(&it, &sub, len, data);
        return 0;
    }
    if (BSON_ITER_HOLDS_UTF8(&it)) {
        *data = (const uint8_t *)bson_iter_utf8(&it, len);
        return 0;
    }
    return status_set(st, ERR_TypeMismatch,
                      "BSON field '%s.payload' is the wrong type, expected types '[string, "
                      "binData]'",
                      cmd_name);
}

/* reply_step -- {conversationId, done, payload}. */
static void reply_step(bson_t *reply, bool done, const char *payload)
{
    BSON_APPEND_INT32(reply, "conversationId", MICAD_SASL_CONVERSATION_ID);
    BSON_APPEND_BOOL(reply, "done", done);
    BSON_APPEND_BINARY(reply, "payload", BSON_SUBTYPE_BINARY, (const uint8_t *)payload,
                       (uint32_t)strlen(payload));
}

/* sasl_start -- the first step, for saslStart and hello's speculative form. */
static int sasl_start(wire_opctx_t *op, const char *db, const bson_t *cmd, bson_t *reply,
                      status_t *st)
{
    micad_t *m = micad_of(op);
    wire_auth_session_t *s;
    wire_scram_mech_t mech;
    wire_scram_cred_t cred;
    const uint8_t *payload;
    uint32_t plen;
    bson_iter_t it, sub;
    char *out = NULL;
    bool found;
    int ret = 0;

    if (!bson_iter_init_find(&it, cmd, "mechanism"))
        return status_set(st, MICAD_ERR_IDL_FAILED_TO_PARSE,
                          "BSON field 'saslStart.mechanism' is missing but a required field");
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'saslStart.mechanism' is the wrong type, expected type "
                          "'string'");
    const char *mname = bson_iter_utf8(&it, NULL);
    mech = wire_scram_mech_by_name(mname);
    if (mech == 0)
        return status_set(st, ERR_MechanismUnavailable,
                          "Received authentication for mechanism %s which is not enabled", mname);
    ST_RET(get_payload(cmd, "saslStart", &payload, &plen, st));
    if (op->conn == NULL)
        return status_set(st, ERR_InternalError, "authentication needs a connection");
    s = wire_auth_session_get(op->conn);
    if (s->conv_active) { /* a new saslStart abandons the old conversation */
        wire_scram_server_destroy(&s->scram);
        s->conv_active = false;
    }
    wire_scram_server_init(&s->scram, mech);
    s->conv_active = true;
    s->skip_empty = false;
    if (bson_iter_init_find(&it, cmd, "options") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
        bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "skipEmptyExchange"))
        s->skip_empty = bson_iter_as_bool(&sub);
    (void)snprintf(s->conv_db, sizeof(s->conv_db), "%s", db);
    (void)snprintf(s->conv_mech, sizeof(s->conv_mech), "%s", mname);

    if (wire_scram_server_parse_first(&s->scram, payload, plen, st) != 0) {
        ret = st->code;
        goto fail;
    }
    if (strcmp(db, "$external") == 0) {
        ret = auth_failed(op, mname, s->scram.user, db, "SCRAM cannot authenticate $external users",
                          st);
        goto fail;
    }
    ST_ERR(micad_auth_scram_cred(m, s->scram.user, db, mech, &cred, &found, st));
    if (!found) {
        ret = auth_failed(op, mname, s->scram.user, db,
                          "UserNotFound: no such user, or no credential for this mechanism", st);
        goto fail;
    }
    ret = wire_scram_server_first(&s->scram, &cred, NULL, &out, st);
    OPENSSL_cleanse(&cred, sizeof(cred));
    ST_ERR(ret);
    reply_step(reply, false, out);
    bson_free(out);
    return 0;
err:
fail:
    wire_scram_server_destroy(&s->scram);
    s->conv_active = false;
    return ret;
}

/* sasl_continue -- the proof, then (unless skipped) the empty closing round. */
static int sasl_continue(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    wire_auth_session_t *s = op->conn ? op->conn->auth : NULL;
    const uint8_t *payload;
    uint32_t plen;
    bson_iter_t it;
    char *out = NULL;
    char user[WIRE_SCRAM_MAX_USER + 1], db[64], mech[32];
    int ret;

    if (s == NULL || !s->conv_active)
        return status_set(st, ERR_ProtocolError, "No SASL session state found");
    if (!bson_iter_init_find(&it, cmd, "conversationId") || !BSON_ITER_HOLDS_NUMBER(&it) ||
        bson_iter_as_int64(&it) != MICAD_SASL_CONVERSATION_ID)
        return status_set(st, ERR_ProtocolError, "Mismatched SASL conversation id");
    ST_RET(get_payload(cmd, "saslContinue", &payload, &plen, st));
    if (strcmp(op->db, s->conv_db) != 0)
        return status_set(st, ERR_ProtocolError,
                          "Attempt to switch database target during SASL authentication.");
    memcpy(user, s->scram.user, sizeof(user));
    memcpy(db, s->conv_db, sizeof(db));
    memcpy(mech, s->conv_mech, sizeof(mech));
    if (s->scram.step == 1) {
        ret = wire_scram_server_final(&s->scram, payload, plen, &out, st);
        if (ret != 0) {
            char why[STATUS_MSG_MAX];
            (void)snprintf(why, sizeof(why), "%s", st->msg);
            wire_scram_server_destroy(&s->scram);
            s->conv_active = false;
            status_reset(st);
            return auth_failed(op, mech, user, db, why, st);
        }
        if (!s->skip_empty) {
            reply_step(reply, false, out);
            bson_free(out);
            return 0;
        }
    } else if (s->scram.step == 2) {
        if (plen != 0) {
            wire_scram_server_destroy(&s->scram);
            s->conv_active = false;
            return auth_failed(op, mech, user, db, "unexpected payload in the last step", st);
        }
        out = bson_strdup("");
    } else {
        return status_set(st, ERR_ProtocolError, "SASL conversation in an unexpected state");
    }
    wire_scram_server_destroy(&s->scram);
    s->conv_active = false;
    ret = micad_auth_login(m, op, user, db, mech, st);
    if (ret == 0)
        reply_step(reply, true, out);
    bson_free(out);
    return ret;
}

/* micad_cmd_sasl -- both SASL commands. */
int micad_cmd_sasl(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    if (strcmp(op->name, "saslContinue") == 0)
        return sasl_continue(op, cmd, reply, st);
    return sasl_start(op, op->db, cmd, reply, st);
}

/* micad_sasl_speculative -- hello's speculativeAuthenticate: saslStart, failures left out. */
void micad_sasl_speculative(wire_opctx_t *op, const bson_t *doc, bson_t *reply)
{
    status_t st = STATUS_INIT;
    bson_iter_t it;
    bson_t sub = BSON_INITIALIZER;
    const char *db = "admin";

    if (bson_iter_init_find(&it, doc, "db") && BSON_ITER_HOLDS_UTF8(&it))
        db = bson_iter_utf8(&it, NULL);
    if (bson_iter_init_find(&it, doc, "authenticate")) { /* MONGODB-X509 */
        if (micad_x509_login(op, doc, db, &sub, &st) == 0)
            BSON_APPEND_DOCUMENT(reply, "speculativeAuthenticate", &sub);
        goto out;
    }
    if (!bson_iter_init_find(&it, doc, "saslStart"))
        goto out;
    if (sasl_start(op, db, doc, &sub, &st) == 0)
        BSON_APPEND_DOCUMENT(reply, "speculativeAuthenticate", &sub);
out:
    bson_destroy(&sub);
}

/* micad_sasl_supported_mechs -- hello's saslSupportedMechs: "<db>.<user>" -> its mechanisms. */
void micad_sasl_supported_mechs(wire_opctx_t *op, const bson_iter_t *it, bson_t *reply)
{
    micad_t *m = micad_of(op);
    const char *name, *dot;
    char db[64], id[400];
    bson_t doc, arr;
    bson_iter_t c;
    bool found = false;
    status_t st = STATUS_INIT;
    uint32_t n = 0;

    if (!BSON_ITER_HOLDS_UTF8(it))
        return;
    name = bson_iter_utf8(it, NULL);
    dot = strchr(name, '.');
    if (dot == NULL || (size_t)(dot - name) >= sizeof(db))
        return;
    memcpy(db, name, (size_t)(dot - name));
    db[dot - name] = '\0';
    (void)snprintf(id, sizeof(id), "%s", name);
    if (micad_auth_get(m, "system.users", id, &doc, &found, &st) != 0 || !found) {
        bson_destroy(&doc);
        return; /* MongoDB leaves the field out for an unknown user */
    }
    BSON_APPEND_ARRAY_BEGIN(reply, "saslSupportedMechs", &arr);
    if (bson_iter_init_find(&c, &doc, "credentials") && BSON_ITER_HOLDS_DOCUMENT(&c) &&
        bson_iter_recurse(&c, &c)) {
        while (bson_iter_next(&c)) {
            char key[8];
            if (wire_scram_mech_by_name(bson_iter_key(&c)) == 0)
                continue;
            (void)snprintf(key, sizeof(key), "%u", n++);
            BSON_APPEND_UTF8(&arr, key, bson_iter_key(&c));
        }
    }
    bson_append_array_end(reply, &arr);
    bson_destroy(&doc);
}
