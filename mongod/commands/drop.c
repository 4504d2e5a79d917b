/*
 * drop.c -- {drop: "c"}: drop a collection and its indexes. Reply {nIndexesWas,
 * ns}. As in MongoDB 7.0, dropping a collection that does not exist succeeds
 * with an empty reply (earlier versions answered NamespaceNotFound "ns not found").
 * Dropping a view removes its definition from system.views (reply {ns}).
 */
#include "mongod/views.h"
#include "mongod/write.h"
#include "mongod/ops.h"

#include <string.h>

/* micad_cmd_drop -- see the file comment. */
static int drop_run(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1], db[128];
    const char *cname;
    micad_wc_t wc;
    stor_session_t *sess;
    stor_collection_t *coll;
    status_t ignored = STATUS_INIT;
    bson_t list;
    int ret = 0;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    ST_RET(micad_db_split_ns(ns, db, &cname, st));
    if (strcmp(db, "local") == 0 && strcmp(cname, "oplog.rs") == 0)
        return status_set(st, ERR_IllegalOperation, "can't drop live oplog while replicating");
    if (strcmp(db, "admin") == 0 && strcmp(cname, "system.version") == 0)
        return status_set(st, ERR_IllegalOperation, "can't drop %s", ns);
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_session(m, &sess, st));
    bool was_view = false;
    ST_RET(micad_view_drop(op, ns, &was_view, st));
    if (was_view) {
        BSON_APPEND_UTF8(reply, "ns", ns);
        micad_db_finish_write(sess, &wc, reply);
        return 0;
    }
    micad_db_lock_ns(ns, true);
    if (micad_db_get_collection(m, ns, &coll, &ignored) == 0) {
        int nidx = 0;
        if (stor_list_indexes(m->engine, ns, &list, &ignored) == 0) {
            nidx = (int)bson_count_keys(&list);
            bson_destroy(&list);
        }
        ret = micad_write_drop_collection(sess, ns, st);
        if (ret == 0) {
            BSON_APPEND_INT32(reply, "nIndexesWas", nidx);
            BSON_APPEND_UTF8(reply, "ns", ns);
        }
    }
    micad_db_unlock_ns(ns, true);
    if (ret == 0)
        micad_db_finish_write(sess, &wc, reply);
    return ret;
}

/* micad_cmd_drop -- the command inside a write slot: an fsync lock holds it out. */
MICAD_CATALOG_CMD(micad_cmd_drop, drop_run)
