/*
 * convert_to_capped.c -- {convertToCapped: "c", size: <bytes>}: replace a
 * collection by a capped one holding its documents, as MongoDB does: a
 * temporary capped collection (`tmp.convertToCapped.<c>`) receives the
 * documents in natural order -- each insert trims as any capped insert does, so
 * a size smaller than the data keeps the newest documents -- and is then
 * renamed over the source. The result has only the _id index: the source's
 * other indexes are dropped, as MongoDB leaves them. Both namespaces are held
 * exclusively meanwhile. Errors as MongoDB: no size 40414, a size that is not
 * a positive whole number BadValue 2, a missing source NamespaceNotFound 26, a
 * view CommandNotSupportedOnView 166, system collections IllegalOperation 20.
 */
#include "mongod/db.h"
#include "mongod/micad.h"
#include "mongod/views.h"
#include "mongod/write.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* size_arg -- the capped size: a positive whole number of bytes within int64. */
static int size_arg(const bson_iter_t *it, int64_t *out, status_t *st)
{
    const bson_value_t *v = bson_iter_value((bson_iter_t *)it);
    if (v->value_type == BSON_TYPE_DOUBLE) {
        double d = v->value.v_double;
        if (!isfinite(d) || d < 1 || d >= 9.2e18)
            return status_set(st, ERR_BadValue, "Invalid size for a capped collection: %g", d);
        *out = (int64_t)d;
        return 0;
    }
    if (!bsonu_number_as_int64(v, out))
        return micad_db_type_error(it, "convertToCapped", "number", st);
    if (*out < 1)
        return status_set(st, ERR_BadValue, "Invalid size for a capped collection: %lld",
                          (long long)*out);
    return 0;
}

/* copy_docs -- every document of src, in natural order, into the capped dst. */
static int copy_docs(wire_opctx_t *op, micad_t *m, stor_session_t *sess, stor_collection_t *src,
                     stor_collection_t *dst, status_t *st)
{
    stor_session_t *rs = NULL;
    stor_cursor_t *cur = NULL;
    int ret;
    ST_RET(stor_session_open(m->engine, &rs, st));
    ret = stor_cursor_open(rs, src, true, &cur, st);
    while (ret == 0) {
        int64_t rid;
        bson_t doc;
        bool eof = false;
        ret = stor_cursor_next(cur, &rid, &doc, &eof, st);
        if (ret != 0 || eof)
            break;
        ret = micad_write_insert_one(op, sess, dst, &doc, st);
        if (ret == 0)
            ret = micad_db_check_deadline(op, st);
    }
    stor_cursor_close(cur);
    stor_session_close(rs);
    return ret;
}

/* micad_cmd_convert_to_capped -- see the file comment. */
int micad_cmd_convert_to_capped(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1], tmp[MICAD_NS_MAX + 64], db[128];
    const char *coll;
    int64_t size = 0;
    bool has_size = false;
    micad_wc_t wc;
    stor_session_t *sess;
    stor_collection_t *src, *dst = NULL;
    status_t ignored = STATUS_INIT;
    bson_iter_t it;
    int ret;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "size") == 0) {
            ST_RET(size_arg(&it, &size, st));
            has_size = true;
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("convertToCapped", k, st);
        }
    }
    if (!has_size)
        return status_set(st, 40414,
                          "BSON field 'convertToCapped.size' is missing but a required field");
    ST_RET(micad_db_split_ns(ns, db, &coll, st));
    if (micad_db_is_system(coll))
        return status_set(st, ERR_IllegalOperation, "Cannot convert system collection %s", ns);
    if (micad_view_is_view(m, ns))
        return status_set(st, ERR_CommandNotSupportedOnView,
                          "convertToCapped is not supported on a view: %s", ns);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.convertToCapped.%s", db, coll) > MICAD_NS_MAX)
        return status_set(st, ERR_InvalidNamespace, "namespace name too long: %s", ns);
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_session(m, &sess, st));
    micad_db_lock_ns_pair(ns, tmp);
    if (micad_db_get_collection(m, ns, &src, &ignored) != 0) {
        ret = status_set(st, ERR_NamespaceNotFound, "source collection %s does not exist", ns);
        goto out;
    }
    {
        bson_t opts = BSON_INITIALIZER;
        BSON_APPEND_BOOL(&opts, "capped", true);
        BSON_APPEND_INT64(&opts, "size", size);
        status_t gone = STATUS_INIT;
        (void)micad_write_drop_collection(sess, tmp, &gone); /* a left-over of a crash */
        ret = micad_write_create_collection(sess, tmp, &opts, &dst, st);
        bson_destroy(&opts);
    }
    if (ret == 0)
        ret = copy_docs(op, m, sess, src, dst, st);
    if (ret == 0)
        ret = micad_write_rename_collection(sess, tmp, ns, true, st);
    if (ret != 0) {
        status_t gone = STATUS_INIT;
        (void)micad_write_drop_collection(sess, tmp, &gone);
    }
out:
    micad_db_unlock_ns_pair(ns, tmp);
    if (ret == 0)
        micad_db_finish_write(sess, &wc, reply);
    return ret;
}
