/*
 * drop_database.c -- {dropDatabase: 1}: drop every collection of the
 * database. Reply {dropped: "<db>"}. Dropping "admin" is refused as MongoDB
 * refuses it; "local" and "config" may be dropped on a standalone.
 */
#include "mongod/write.h"
#include "mongod/ops.h"

#include <string.h>

/* micad_cmd_drop_database -- see the file comment. */
static int drop_database_run(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    micad_wc_t wc;
    stor_session_t *sess;
    bson_t list;
    bson_iter_t it;
    int ret = 0;

    (void)cmd;
    ST_RET(micad_db_check_db_name(op->db, st));
    if (strcmp(op->db, "admin") == 0)
        return status_set(st, ERR_IllegalOperation, "Dropping the 'admin' database is prohibited.");
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_session(m, &sess, st));
    ST_RET(stor_list_collections(m->engine, op->db, &list, st));
    if (bson_iter_init(&it, &list)) {
        while (ret == 0 && bson_iter_next(&it)) {
            bson_t e;
            bson_iter_t name;
            char ns[MICAD_NS_MAX + 2];
            if (micad_db_arg_doc(&it, "dropDatabase", &e, st) != 0 ||
                !bson_iter_init_find(&name, &e, "name") || !BSON_ITER_HOLDS_UTF8(&name))
                continue;
            snprintf(ns, sizeof(ns), "%s.%s", op->db, bson_iter_utf8(&name, NULL));
            if (strcmp(ns, "local.oplog.rs") == 0)
                continue; /* managed by storage's oplog API */
            micad_db_lock_ns(ns, true);
            ret = micad_write_drop_collection(sess, ns, st);
            if (ret == ERR_NamespaceNotFound) {
                status_reset(st);
                ret = 0;
            }
            micad_db_unlock_ns(ns, true);
        }
    }
    bson_destroy(&list);
    if (ret == 0) {
        BSON_APPEND_UTF8(reply, "dropped", op->db);
        micad_db_finish_write(sess, &wc, reply);
    }
    return ret;
}

/* micad_cmd_drop_database -- the command inside a write slot: an fsync lock holds it out. */
MICAD_CATALOG_CMD(micad_cmd_drop_database, drop_database_run)
