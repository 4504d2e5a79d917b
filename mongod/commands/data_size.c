/*
 * data_size.c -- {dataSize: "db.c", keyPattern, min, max, estimate, maxSize,
 * maxObjects}: bytes and documents of a collection, or of the range
 * [min, max) of an index whose key starts with keyPattern (inferred from
 * min's fields when absent). Without a range the answer is the collection's
 * counters; with one the range is scanned and every document's size summed
 * (estimate: true multiplies the entries by the average document size
 * instead). Reply {size, numObjects, millis[, maxReached]}; a missing
 * collection answers zeros, as MongoDB does.
 */
#include "mongod/db.h"

#include <string.h>

/* datasize_req_t -- the parsed request. */
typedef struct datasize_req {
    bson_t key_pattern, min, max; /* views; key_pattern may be built from min */
    bool has_kp, has_min, has_max, estimate;
    int64_t max_size, max_objects; /* 0: no limit */
} datasize_req_t;

/* parse -- the fields after the namespace. */
static int parse(const bson_t *cmd, datasize_req_t *r, status_t *st)
{
    bson_iter_t it;
    memset(r, 0, sizeof(*r));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "keyPattern") == 0) {
            ST_RET(micad_db_arg_doc(&it, "dataSize", &r->key_pattern, st));
            r->has_kp = !bson_empty(&r->key_pattern);
        } else if (strcmp(k, "min") == 0) {
            ST_RET(micad_db_arg_doc(&it, "dataSize", &r->min, st));
            r->has_min = !bson_empty(&r->min);
        } else if (strcmp(k, "max") == 0) {
            ST_RET(micad_db_arg_doc(&it, "dataSize", &r->max, st));
            r->has_max = !bson_empty(&r->max);
        } else if (strcmp(k, "estimate") == 0) {
            ST_RET(micad_db_arg_bool(&it, "dataSize", &r->estimate, st));
        } else if (strcmp(k, "maxSize") == 0) {
            ST_RET(micad_db_arg_int64(&it, "dataSize", &r->max_size, st));
        } else if (strcmp(k, "maxObjects") == 0) {
            ST_RET(micad_db_arg_int64(&it, "dataSize", &r->max_objects, st));
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("dataSize", k, st);
        }
    }
    if (r->has_min != r->has_max)
        return status_set(st, ERR_BadValue, "only one of min or max specified");
    return 0;
}

/* bound_values -- {"": v, ...} of a range bound, in key order (missing fields: BadValue). */
static int bound_values(const bson_t *kp, const bson_t *bound, bson_t *out, status_t *st)
{
    bson_iter_t k, b;
    bson_init(out);
    if (bson_count_keys(bound) != bson_count_keys(kp))
        return status_set(st, ERR_BadValue, "min and max must have the key pattern's fields");
    bson_iter_init(&k, kp);
    while (bson_iter_next(&k)) {
        if (!bson_iter_init_find(&b, bound, bson_iter_key(&k)))
            return status_set(st, ERR_BadValue, "min and max must have the key pattern's fields");
        bson_append_iter(out, "", 0, &b);
    }
    return 0;
}

/* pick_index -- an index whose key pattern starts with kp (OperationFailed 96 otherwise). */
static int pick_index(micad_t *m, stor_collection_t *coll, const char *ns, const bson_t *kp,
                      stor_index_t **out, status_t *st)
{
    bson_t list;
    bson_iter_t it;
    *out = NULL;
    ST_RET(stor_list_indexes(m->engine, ns, &list, st));
    bson_iter_init(&it, &list);
    while (*out == NULL && bson_iter_next(&it)) {
        bson_t spec;
        bson_iter_t n;
        status_t ist = STATUS_INIT;
        stor_index_t *idx;
        if (micad_db_arg_doc(&it, "listIndexes", &spec, &ist) != 0 ||
            !bson_iter_init_find(&n, &spec, "name") || !BSON_ITER_HOLDS_UTF8(&n) ||
            stor_index_lookup(coll, bson_iter_utf8(&n, NULL), &idx, &ist) != 0)
            continue;
        bson_iter_t a, b;
        bson_iter_init(&a, kp);
        bson_iter_init(&b, stor_index_key_pattern(idx));
        bool prefix = true;
        while (prefix && bson_iter_next(&a))
            prefix = bson_iter_next(&b) && strcmp(bson_iter_key(&a), bson_iter_key(&b)) == 0 &&
                     bsonu_equal_iter(&a, &b);
        if (prefix && !stor_index_is_multikey(idx))
            *out = idx;
    }
    bson_destroy(&list);
    if (*out == NULL)
        return status_set(st, ERR_OperationFailed,
                          "couldn't find valid index containing key pattern");
    return 0;
}

/* scan -- sum the range's documents. */
static int scan(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                stor_index_t *idx, const bson_t *lo, const bson_t *hi, const datasize_req_t *r,
                int64_t *size, int64_t *nobj, bool *max_reached, status_t *st)
{
    stor_index_bounds_t b = {
        .start = lo, .start_inclusive = true, .end = hi, .end_inclusive = false, .forward = true};
    stor_index_cursor_t *cur = NULL;
    stor_uow_t *uow = NULL;
    int64_t avg = stor_collection_count(coll) > 0
                      ? stor_collection_data_size(coll) / stor_collection_count(coll)
                      : 0;
    int ret = stor_uow_begin(sess, 0, &uow, st);
    if (ret == 0)
        ret = stor_index_cursor_open(sess, idx, &b, &cur, st);
    while (ret == 0) {
        int64_t rid;
        bool eof;
        ret = stor_index_cursor_next(cur, &rid, NULL, &eof, st);
        if (ret != 0 || eof)
            break;
        if ((*nobj & 1023) == 0 && (ret = micad_db_check_deadline(op, st)) != 0)
            break;
        if (r->estimate) {
            *size += avg;
        } else {
            bson_t doc;
            bool found;
            ret = stor_record_get(sess, coll, rid, &doc, &found, st);
            if (ret == 0 && found)
                *size += doc.len;
            bson_destroy(&doc);
        }
        (*nobj)++;
        if ((r->max_size > 0 && *size > r->max_size) ||
            (r->max_objects > 0 && *nobj > r->max_objects)) {
            *max_reached = true;
            break;
        }
    }
    stor_index_cursor_close(cur);
    stor_uow_abort(uow);
    return ret;
}

/* micad_cmd_data_size -- see the file comment. */
int micad_cmd_data_size(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    int64_t t0 = time_mono_us();
    bson_iter_t it;
    char db[128];
    const char *cname;
    datasize_req_t r;
    stor_collection_t *coll;
    int64_t size = 0, nobj = 0;
    bool max_reached = false;
    bson_t kp = BSON_INITIALIZER, lo = BSON_INITIALIZER, hi = BSON_INITIALIZER;
    int ret = 0;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return micad_db_type_error(&it, "dataSize", "string", st);
    const char *ns = bson_iter_utf8(&it, NULL);
    ST_RET(micad_db_split_ns(ns, db, &cname, st));
    ST_RET(micad_db_check_coll_name(db, cname, st));
    ST_RET(parse(cmd, &r, st));
    if (micad_db_get_collection(m, ns, &coll, st) != 0) {
        status_reset(st);
    } else if (!r.has_min) {
        size = stor_collection_data_size(coll);
        nobj = stor_collection_count(coll);
    } else {
        stor_session_t *sess;
        stor_index_t *idx;
        if (r.has_kp) {
            bson_concat(&kp, &r.key_pattern);
        } else { /* MongoDB infers {field: 1, ...} from min */
            bson_iter_init(&it, &r.min);
            while (bson_iter_next(&it))
                BSON_APPEND_INT32(&kp, bson_iter_key(&it), 1);
        }
        bson_destroy(&lo);
        bson_destroy(&hi);
        ST_ERR(bound_values(&kp, &r.min, &lo, st));
        ST_ERR(bound_values(&kp, &r.max, &hi, st));
        ST_ERR(micad_db_session(m, &sess, st));
        ST_ERR(pick_index(m, coll, ns, &kp, &idx, st));
        ST_ERR(scan(op, sess, coll, idx, &lo, &hi, &r, &size, &nobj, &max_reached, st));
    }
    micad_append_number(reply, "size", size);
    micad_append_number(reply, "numObjects", nobj);
    micad_append_number(reply, "millis", (time_mono_us() - t0) / 1000);
    if (max_reached)
        BSON_APPEND_BOOL(reply, "maxReached", true);
err:
    bson_destroy(&kp);
    bson_destroy(&lo);
    bson_destroy(&hi);
    return ret;
}
