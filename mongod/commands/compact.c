/*
 * compact.c -- {compact: "c"[, force: bool][, freeSpaceTargetMB: n]}: rewrite
 * the collection's WiredTiger files so that the space freed by deletes goes
 * back to the file system (WT_SESSION::compact on the record table and every
 * index table). The reply's bytesFreed is measured: the files' size on disk
 * before minus after.
 *
 * As mongod: refused on the primary of a replica set unless force
 * (IllegalOperation 20), on system collections (InvalidNamespace 73) and on
 * views (CommandNotSupportedOnView 166); a missing collection is
 * NamespaceNotFound. freeSpaceTargetMB (default 20) skips a table whose space
 * available for reuse is below it. The namespace lock is taken shared: index
 * builds and drops wait, writers and readers go on.
 */
#include "mongod/db.h"
#include "mongod/ops.h"
#include "mongod/repl/repl.h"
#include "mongod/views.h"

#include <string.h>

/* MICAD_COMPACT_DEFAULT_TARGET_MB -- mongod's default freeSpaceTargetMB. */
#define MICAD_COMPACT_DEFAULT_TARGET_MB 20

/* micad_cmd_compact -- parse, check, compact, report bytesFreed. */
int micad_cmd_compact(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1];
    stor_collection_t *coll;
    bson_iter_t it;
    bool force = false;
    int64_t target_mb = MICAD_COMPACT_DEFAULT_TARGET_MB, freed = 0;

    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "force") == 0) {
            ST_RET(micad_db_arg_bool(&it, "compact", &force, st));
        } else if (strcmp(k, "freeSpaceTargetMB") == 0) {
            ST_RET(micad_db_arg_int64(&it, "compact", &target_mb, st));
            if (target_mb < 1)
                return status_set(st, ERR_BadValue,
                                  "BSON field 'compact.freeSpaceTargetMB' value must be >= 1, "
                                  "actual value '%lld'",
                                  (long long)target_mb);
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("compact", k, st);
        }
    }
    if (repl_enabled() && repl_is_writable_primary() && !force)
        return status_set(st, ERR_IllegalOperation,
                          "will not run compact on an active replica set primary as this will "
                          "slow down other running operations. use force:true to force");
    const char *dot = strchr(ns, '.');
    if (dot != NULL && micad_db_is_system(dot + 1))
        return status_set(st, ERR_InvalidNamespace, "can't compact a system namespace");
    if (micad_db_get_collection(m, ns, &coll, st) != 0)
        return status_set(st, ERR_NamespaceNotFound, "collection does not exist");

    LOG(INFO, STORAGE, 20284, "Compacting collection", "namespace", BCON_UTF8(ns));
    micad_db_lock_ns(ns, false); /* keeps index builds and drops out, not writers */
    int ret = stor_collection_compact(coll, target_mb * 1024 * 1024, &freed, st);
    micad_db_unlock_ns(ns, false);
    if (ret != 0)
        return ret;
    LOG(INFO, STORAGE, 20286, "Compact end", "namespace", BCON_UTF8(ns), "bytesFreed",
        BCON_INT64(freed));
    BSON_APPEND_INT64(reply, "bytesFreed", freed);
    return 0;
}
