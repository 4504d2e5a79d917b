/*
 * set_fcv.c -- {setFeatureCompatibilityVersion: "7.0", confirm: true} on admin.
 * Mica implements one feature set, MongoDB 7.0's (getParameter
 * featureCompatibilityVersion answers {version: "7.0"}): asking for 7.0 is
 * already true and answers ok; moving to another version (downgrade to 6.0,
 * upgrade past 7.0) needs the features of that version, which Mica does not
 * have, so it answers NotImplemented (238) and changes nothing. As MongoDB 7.0,
 * a change of version needs `confirm: true` first (7369100).
 */
#include "mongod/db.h"
#include "mongod/micad.h"
#include "mongod/parameters.h"

#include <string.h>

/* micad_cmd_set_fcv -- the setFeatureCompatibilityVersion command. */
int micad_cmd_set_fcv(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    const char *C = "setFeatureCompatibilityVersion";
    bson_iter_t it;
    const char *version;
    bool confirm = false;

    (void)op;
    (void)reply;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return micad_db_type_error(&it, C, "string", st);
    version = bson_iter_utf8(&it, NULL);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "confirm") == 0)
            ST_RET(micad_db_arg_bool(&it, C, &confirm, st));
        else if (strcmp(k, "fromConfigServer") == 0 || strcmp(k, "writeConcern") == 0 ||
                 micad_db_is_generic_arg(k) || strcmp(k, "comment") == 0)
            continue;
        else
            return micad_db_unknown_field(C, k, st);
    }
    if (strcmp(version, "6.0") != 0 && strcmp(version, "7.0") != 0)
        return status_set(
            st, ERR_BadValue,
            "Invalid feature compatibility version value '%s'; expected '6.0' or "
            "'7.0'. See https://docs.mongodb.com/master/release-notes/7.0-compatibility"
            "/#feature-compatibility.",
            version);
    if (strcmp(version, MICAD_FCV) == 0)
        return 0; /* already this version: nothing to change */
    if (!confirm)
        return status_set(st, 7369100,
                          "Once you have downgraded the FCV, if you choose to downgrade the binary "
                          "version, it will require support assistance. Please re-run this command "
                          "with 'confirm: true' to acknowledge this and continue with the FCV "
                          "downgrade.");
    return status_set(st, ERR_NotImplemented,
                      "setFeatureCompatibilityVersion: Mica implements feature compatibility "
                      "version %s only; downgrading to %s is not implemented",
                      MICAD_FCV, version);
}
