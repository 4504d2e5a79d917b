/*
 * rename_collection.c -- {renameCollection: "db.a", to: "db2.b", dropTarget}
 * on admin: rename within a database or across databases (the catalog row
 * changes; the data and index tables stay, so it is one transaction either
 * way). Errors as MongoDB: NamespaceNotFound "Source collection db.a does
 * not exist", NamespaceExists "target namespace exists", IllegalOperation
 * for renaming onto itself.
 */
#include "mongod/db.h"
#include "mongod/views.h"
#include "mongod/write.h"
#include "mongod/ops.h"

#include <string.h>

/* ns_arg -- a full namespace argument, validated. */
static int ns_arg(const bson_iter_t *it, const char *field, char *ns, status_t *st)
{
    char db[128];
    const char *coll;
    if (!BSON_ITER_HOLDS_UTF8(it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'renameCollection.%s' is the wrong type '%s', expected "
                          "type 'string'",
                          field, micad_db_bson_type_name(bson_iter_type(it)));
    const char *v = bson_iter_utf8(it, NULL);
    if (strlen(v) > MICAD_NS_MAX)
        return status_set(st, ERR_InvalidNamespace, "Invalid %s namespace: %s", field, v);
    snprintf(ns, MICAD_NS_MAX + 1, "%s", v);
    if (micad_db_split_ns(ns, db, &coll, st) != 0)
        return status_set(st, ERR_InvalidNamespace, "Invalid %s namespace: %s", field, v);
    return 0;
}

/* micad_cmd_rename_collection -- see the file comment. */
static int rename_collection_run(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    char from[MICAD_NS_MAX + 1], to[MICAD_NS_MAX + 1], db[128];
    const char *coll;
    micad_wc_t wc;
    stor_session_t *sess;
    stor_collection_t *c;
    status_t ignored = STATUS_INIT;
    bson_iter_t it;
    bool has_to = false, drop_target = false;
    int ret;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    ST_RET(ns_arg(&it, "source", from, st));
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "to") == 0) {
            ST_RET(ns_arg(&it, "target", to, st));
            has_to = true;
        } else if (strcmp(k, "dropTarget") == 0) {
            if (BSON_ITER_HOLDS_BINARY(&it))
                drop_target = true; /* a UUID: drop the target if it has it (accepted) */
            else
                ST_RET(micad_db_arg_bool(&it, "renameCollection", &drop_target, st));
        } else if (strcmp(k, "stayTemp") != 0 && strcmp(k, "collectionUUID") != 0 &&
                   !micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("renameCollection", k, st);
        }
    }
    if (!has_to)
        return status_set(st, 40414,
                          "BSON field 'renameCollection.to' is missing but a required field");
    if (strcmp(from, to) == 0)
        return status_set(st, ERR_IllegalOperation, "Can't rename a collection to itself");
    ST_RET(micad_db_split_ns(from, db, &coll, st));
    if (micad_db_is_system(coll))
        return status_set(st, ERR_IllegalOperation,
                          "error with source namespace: cannot write to '%s'", from);
    ST_RET(micad_db_split_ns(to, db, &coll, st));
    if (micad_db_is_system(coll))
        return status_set(st, ERR_IllegalOperation,
                          "error with target namespace: cannot write to '%s'", to);
    ST_RET(micad_view_refuse(m, from, st));
    if (micad_view_is_view(m, to))
        return status_set(st, ERR_NamespaceExists, "target namespace exists");
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_session(m, &sess, st));
    micad_db_lock_ns_pair(from, to);
    if (micad_db_get_collection(m, from, &c, &ignored) != 0)
        ret = status_set(st, ERR_NamespaceNotFound, "Source collection %s does not exist", from);
    else
        ret = micad_write_rename_collection(sess, from, to, drop_target, st);
    micad_db_unlock_ns_pair(from, to);
    if (ret == 0)
        micad_db_finish_write(sess, &wc, reply);
    return ret;
}

/* micad_cmd_rename_collection -- the command inside a write slot: an fsync lock holds it out. */
MICAD_CATALOG_CMD(micad_cmd_rename_collection, rename_collection_run)
