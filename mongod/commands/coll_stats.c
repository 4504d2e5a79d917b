/*
 * coll_stats.c -- {collStats: "c", scale}: a collection's sizes, in the shape
 * MongoDB 7.0 still answers the deprecated command with: ns, size, count,
 * avgObjSize, numOrphanDocs, storageSize, freeStorageSize, capped (max,
 * maxSize), nindexes, indexBuilds, totalIndexSize, totalSize, indexSizes,
 * scaleFactor. Sizes come from storage's counters (size, count) and the WT
 * files on disk (storageSize, index sizes); every byte figure but avgObjSize
 * is divided by `scale`. A missing collection answers zeros, as MongoDB 5.0+.
 * The shared helpers for `scale` live here too (db_stats.c uses them).
 */
#include "mongod/db.h"
#include "mongod/repl/repl.h"
#include "mongod/views.h"

#include <string.h>

/* micad_append_number -- the narrowest integer type, so shells print plain numbers. */
void micad_append_number(bson_t *doc, const char *key, int64_t n)
{
    if (n >= INT32_MIN && n <= INT32_MAX)
        BSON_APPEND_INT32(doc, key, (int32_t)n);
    else
        BSON_APPEND_INT64(doc, key, n); /* was a call to itself: endless recursion above 2^31 */
}

/* micad_stats_scale -- parse `scale` (default 1); MongoDB's IDL rule is >= 1. */
int micad_stats_scale(const bson_t *cmd, const char *cmd_name, int64_t *scale, status_t *st)
{
    bson_iter_t it;
    *scale = 1;
    /* undefined (the shells' helpers send scale: undefined) reads as absent, as in MongoDB */
    if (!bson_iter_init_find(&it, cmd, "scale") || BSON_ITER_HOLDS_UNDEFINED(&it))
        return 0;
    if (!bsonu_is_number(bson_iter_type(&it)))
        return micad_db_type_error(&it, cmd_name, "long", st);
    int64_t v = bson_iter_as_int64(&it);
    if (v < 1)
        return status_set(st, 51024, "BSON field 'scale' value must be >= 1, actual value '%lld'",
                          (long long)v);
    *scale = v;
    return 0;
}

/* micad_coll_index_sizes -- {name: bytes/scale} into out (opened by the caller); the total. */
int64_t micad_coll_index_sizes(stor_collection_t *coll, const char *ns, micad_t *m, int64_t scale,
                               bson_t *out, int *nindexes)
{
    bson_t list;
    bson_iter_t it;
    status_t st = STATUS_INIT;
    int64_t total = 0;
    *nindexes = 0;
    if (stor_list_indexes(m->engine, ns, &list, &st) != 0)
        return 0;
    bson_iter_init(&it, &list);
    while (bson_iter_next(&it)) {
        bson_t spec;
        bson_iter_t n;
        stor_index_t *idx;
        if (micad_db_arg_doc(&it, "listIndexes", &spec, &st) != 0 ||
            !bson_iter_init_find(&n, &spec, "name") || !BSON_ITER_HOLDS_UTF8(&n) ||
            stor_index_lookup(coll, bson_iter_utf8(&n, NULL), &idx, &st) != 0) {
            status_reset(&st);
            continue;
        }
        int64_t sz = stor_index_storage_size(idx);
        total += sz;
        (*nindexes)++;
        if (out != NULL)
            micad_append_number(out, stor_index_name(idx), sz / scale);
    }
    bson_destroy(&list);
    return total;
}

/*
 * micad_oplog_stats -- local.oplog.rs on a member: storage's counters (entries,
 * bytes), the oplog file's size and its cap, as MongoDB reports the capped
 * oplog (no indexes). prefix: the collStats top level or $collStats'
 * storageStats.
 */
void micad_oplog_stats(micad_t *m, int64_t scale, bson_t *out)
{
    int64_t count = stor_oplog_count(m->engine), size = stor_oplog_size(m->engine);
    int64_t storage = stor_oplog_storage_size(m->engine);
    bson_t empty;
    micad_append_number(out, "size", size / scale);
    micad_append_number(out, "count", count);
    if (count > 0)
        micad_append_number(out, "avgObjSize", size / count);
    BSON_APPEND_INT32(out, "numOrphanDocs", 0);
    micad_append_number(out, "storageSize", storage / scale);
    BSON_APPEND_INT32(out, "freeStorageSize", 0);
    BSON_APPEND_BOOL(out, "capped", true);
    BSON_APPEND_INT64(out, "maxSize", stor_oplog_max_bytes(m->engine) / scale);
    BSON_APPEND_INT32(out, "nindexes", 0);
    BSON_APPEND_ARRAY_BEGIN(out, "indexBuilds", &empty);
    bson_append_array_end(out, &empty);
    BSON_APPEND_INT32(out, "totalIndexSize", 0);
    micad_append_number(out, "totalSize", storage / scale);
    BSON_APPEND_DOCUMENT_BEGIN(out, "indexSizes", &empty);
    bson_append_document_end(out, &empty);
    micad_append_number(out, "scaleFactor", scale);
}

/* micad_cmd_coll_stats -- see the file comment. */
int micad_cmd_coll_stats(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1];
    int64_t scale;
    stor_collection_t *coll;
    bson_iter_t it;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    ST_RET(micad_stats_scale(cmd, "collStats", &scale, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "scale") != 0 && strcmp(k, "verbose") != 0 &&
            strcmp(k, "indexDetails") != 0 && strcmp(k, "indexDetailsKey") != 0 &&
            strcmp(k, "indexDetailsName") != 0 && !micad_db_is_generic_arg(k))
            return micad_db_unknown_field("collStats", k, st);
    }
    BSON_APPEND_UTF8(reply, "ns", ns);
    if (repl_enabled() && strcmp(ns, "local.oplog.rs") == 0) {
        micad_oplog_stats(m, scale, reply);
        return 0;
    }
    if (micad_db_get_collection(m, ns, &coll, st) != 0) {
        status_reset(st);
        BSON_APPEND_INT32(reply, "size", 0);
        BSON_APPEND_INT32(reply, "count", 0);
        BSON_APPEND_INT32(reply, "storageSize", 0);
        BSON_APPEND_INT32(reply, "totalIndexSize", 0);
        BSON_APPEND_INT32(reply, "totalSize", 0);
        bson_t empty;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "indexSizes", &empty);
        bson_append_document_end(reply, &empty);
        micad_append_number(reply, "scaleFactor", scale);
        return 0;
    }
    int64_t count = stor_collection_count(coll);
    int64_t size = stor_collection_data_size(coll);
    int64_t storage = stor_collection_storage_size(coll);
    micad_append_number(reply, "size", size / scale);
    micad_append_number(reply, "count", count);
    if (count > 0)
        micad_append_number(reply, "avgObjSize", size / count);
    BSON_APPEND_INT32(reply, "numOrphanDocs", 0);
    micad_append_number(reply, "storageSize", storage / scale);
    BSON_APPEND_INT32(reply, "freeStorageSize", 0);
    const bson_t *opts = stor_collection_options(coll);
    bool capped = bson_iter_init_find(&it, opts, "capped") && bson_iter_as_bool(&it);
    BSON_APPEND_BOOL(reply, "capped", capped);
    if (capped) {
        if (bson_iter_init_find(&it, opts, "max"))
            micad_append_number(reply, "max", bson_iter_as_int64(&it));
        if (bson_iter_init_find(&it, opts, "size"))
            micad_append_number(reply, "maxSize", bson_iter_as_int64(&it) / scale);
    }
    bson_t sizes, builds;
    int nindexes;
    bson_init(&sizes);
    int64_t total_index = micad_coll_index_sizes(coll, ns, m, scale, &sizes, &nindexes);
    BSON_APPEND_INT32(reply, "nindexes", nindexes);
    BSON_APPEND_ARRAY_BEGIN(reply, "indexBuilds", &builds); /* builds are foreground */
    bson_append_array_end(reply, &builds);
    micad_append_number(reply, "totalIndexSize", total_index / scale);
    micad_append_number(reply, "totalSize", (storage + total_index) / scale);
    BSON_APPEND_DOCUMENT(reply, "indexSizes", &sizes);
    bson_destroy(&sizes);
    micad_append_number(reply, "scaleFactor", scale);
    return 0;
}
