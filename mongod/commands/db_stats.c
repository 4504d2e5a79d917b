/*
 * db_stats.c -- {dbStats: 1, scale, freeStorage}: a database's totals over
 * its collections: db, collections, views, objects, avgObjSize, dataSize,
 * storageSize, indexes, indexSize, totalSize, scaleFactor, fsUsedSize,
 * fsTotalSize (of the file system holding the dbpath). A database with no
 * collection answers zeros, as MongoDB does.
 */
#include "mongod/db.h"
#include "mongod/views.h"

#include <string.h>
#include <sys/statvfs.h>

/* micad_cmd_db_stats -- see the file comment. */
int micad_cmd_db_stats(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    int64_t scale;
    bool free_storage = false;
    bson_iter_t it;

    ST_RET(micad_db_check_db_name(op->db, st));
    ST_RET(micad_stats_scale(cmd, "dbStats", &scale, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "freeStorage") == 0)
            ST_RET(micad_db_arg_bool(&it, "dbStats", &free_storage, st));
        else if (strcmp(k, "scale") != 0 && !micad_db_is_generic_arg(k))
            return micad_db_unknown_field("dbStats", k, st);
    }

    bson_t list;
    ST_RET(stor_list_collections(m->engine, op->db, &list, st));
    int64_t ncoll = 0, objects = 0, data = 0, storage = 0, nindexes = 0, index_size = 0;
    bson_iter_init(&it, &list);
    while (bson_iter_next(&it)) {
        bson_t info;
        bson_iter_t n;
        char ns[MICAD_NS_MAX + 1];
        stor_collection_t *coll;
        status_t ist = STATUS_INIT;
        if (micad_db_arg_doc(&it, "listCollections", &info, &ist) != 0 ||
            !bson_iter_init_find(&n, &info, "name") || !BSON_ITER_HOLDS_UTF8(&n) ||
            micad_db_make_ns(op->db, bson_iter_utf8(&n, NULL), ns, &ist) != 0 ||
            micad_db_get_collection(m, ns, &coll, &ist) != 0)
            continue; /* dropped meanwhile */
        int nix;
        ncoll++;
        objects += stor_collection_count(coll);
        data += stor_collection_data_size(coll);
        storage += stor_collection_storage_size(coll);
        index_size += micad_coll_index_sizes(coll, ns, m, scale, NULL, &nix);
        nindexes += nix;
    }
    bson_destroy(&list);

    BSON_APPEND_UTF8(reply, "db", op->db);
    micad_append_number(reply, "collections", ncoll);
    {
        bson_t vl = BSON_INITIALIZER;
        uint32_t nviews = 0;
        status_t ignored = STATUS_INIT;
        (void)micad_view_list(micad_of(op), op->db, true, NULL, &vl, &nviews, &ignored);
        bson_destroy(&vl);
        micad_append_number(reply, "views", nviews);
    }
    micad_append_number(reply, "objects", objects);
    BSON_APPEND_DOUBLE(reply, "avgObjSize", objects > 0 ? (double)data / (double)objects : 0.0);
    BSON_APPEND_DOUBLE(reply, "dataSize", (double)(data / scale));
    BSON_APPEND_DOUBLE(reply, "storageSize", (double)(storage / scale));
    if (free_storage)
        BSON_APPEND_DOUBLE(reply, "freeStorageSize", 0.0);
    micad_append_number(reply, "indexes", nindexes);
    BSON_APPEND_DOUBLE(reply, "indexSize", (double)(index_size / scale));
    if (free_storage) {
        BSON_APPEND_DOUBLE(reply, "indexFreeStorageSize", 0.0);
        BSON_APPEND_DOUBLE(reply, "totalFreeStorageSize", 0.0);
    }
    BSON_APPEND_DOUBLE(reply, "totalSize", (double)((storage + index_size) / scale));
    micad_append_number(reply, "scaleFactor", scale);
    struct statvfs vfs;
    const char *dbpath = m->opts && m->opts->dbpath ? m->opts->dbpath : "/data/db";
    if (statvfs(dbpath, &vfs) == 0) {
        double total = (double)vfs.f_blocks * (double)vfs.f_frsize;
        double avail = (double)vfs.f_bfree * (double)vfs.f_frsize;
        BSON_APPEND_DOUBLE(reply, "fsUsedSize", (total - avail) / (double)scale);
        BSON_APPEND_DOUBLE(reply, "fsTotalSize", total / (double)scale);
    }
    return 0;
}
