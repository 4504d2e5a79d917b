/*
 * drop_indexes.c -- {dropIndexes: "c", index: "name" | {key} | ["n1", "n2"] |
 * "*"}: drop indexes. Reply {nIndexesWas}. "*" drops all but _id_; the _id_
 * index is InvalidOptions (72) "cannot drop _id index"; a missing one is
 * IndexNotFound (27) with MongoDB's messages.
 */
#include "mongod/ops.h"
#include "mongod/db.h"
#include "mongod/views.h"
#include "mongod/write.h"

#include <string.h>

/* name_for_key -- the name of the index whose key pattern equals key. */
static int name_for_key(micad_t *m, const char *ns, const bson_t *key, char *name, size_t len,
                        status_t *st)
{
    bson_t list;
    bson_iter_t it;
    bool found = false, many = false;
    ST_RET(stor_list_indexes(m->engine, ns, &list, st));
    bson_iter_init(&it, &list);
    while (bson_iter_next(&it)) {
        bson_t spec, k;
        bson_iter_t f;
        status_t ignored = STATUS_INIT;
        if (micad_db_arg_doc(&it, "dropIndexes", &spec, &ignored) == 0 &&
            bson_iter_init_find(&f, &spec, "key") &&
            micad_db_arg_doc(&f, "dropIndexes", &k, &ignored) == 0 &&
            bsonu_compare_doc(&k, key) == 0 && bson_iter_init_find(&f, &spec, "name")) {
            many = found;
            found = true;
            snprintf(name, len, "%s", bson_iter_utf8(&f, NULL));
        }
    }
    bson_destroy(&list);
    if (!found) {
        char *json = bson_as_relaxed_extended_json(key, NULL);
        status_set(st, ERR_IndexNotFound, "can't find index with key: %s", json ? json : "");
        bson_free(json);
        return st->code;
    }
    if (many)
        return status_set(st, ERR_AmbiguousIndexKeyPattern,
                          "%zu indexes found for key pattern, identify the index by name",
                          (size_t)2);
    return 0;
}

/* drop_all -- "*": every index but _id_. */
static int drop_all(stor_session_t *sess, micad_t *m, const char *ns, stor_collection_t *coll,
                    status_t *st)
{
    bson_t list;
    bson_iter_t it;
    int ret = 0;
    ST_RET(stor_list_indexes(m->engine, ns, &list, st));
    bson_iter_init(&it, &list);
    while (ret == 0 && bson_iter_next(&it)) {
        bson_t spec;
        bson_iter_t f;
        if (micad_db_arg_doc(&it, "dropIndexes", &spec, st) == 0 &&
            bson_iter_init_find(&f, &spec, "name") && BSON_ITER_HOLDS_UTF8(&f) &&
            strcmp(bson_iter_utf8(&f, NULL), "_id_") != 0)
            ret = micad_write_drop_index(sess, coll, bson_iter_utf8(&f, NULL), st);
    }
    bson_destroy(&list);
    return ret;
}

/* micad_cmd_drop_indexes -- see the file comment. */
static int drop_indexes_run(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1];
    micad_wc_t wc;
    stor_session_t *sess;
    stor_collection_t *coll;
    bson_iter_t it, idx;
    bool has_index = false;
    int ret = 0, was = 0;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "index") == 0) {
            idx = it;
            has_index = true;
        } else if (strcmp(k, "isTimeseriesNamespace") != 0 && !micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("dropIndexes", k, st);
        }
    }
    if (!has_index)
        return status_set(st, 40414,
                          "BSON field 'dropIndexes.index' is missing but a required field");
    if (!BSON_ITER_HOLDS_UTF8(&idx) && !BSON_ITER_HOLDS_DOCUMENT(&idx) &&
        !BSON_ITER_HOLDS_ARRAY(&idx))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'dropIndexes.index' is the wrong type '%s', expected types "
                          "'[string, object, array]'",
                          micad_db_bson_type_name(bson_iter_type(&idx)));
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_session(m, &sess, st));
    /* a build of what is dropped stops at its next batch instead of holding us behind it */
    int aborted = 0;
    if (BSON_ITER_HOLDS_UTF8(&idx))
        aborted = micad_abort_index_builds(ns, bson_iter_utf8(&idx, NULL));
    micad_db_lock_ns(ns, true);
    if (micad_db_get_collection(m, ns, &coll, st) != 0) {
        ret = status_set(st, ERR_NamespaceNotFound, "ns not found %s", ns);
        goto out;
    }
    {
        bson_t list;
        if (stor_list_indexes(m->engine, ns, &list, st) == 0) {
            was = (int)bson_count_keys(&list);
            bson_destroy(&list);
        }
    }
    if (BSON_ITER_HOLDS_UTF8(&idx)) {
        const char *name = bson_iter_utf8(&idx, NULL);
        if (strcmp(name, "*") == 0)
            ret = drop_all(sess, m, ns, coll, st);
        else
            ret = micad_write_drop_index(sess, coll, name, st);
        if (ret == ERR_IndexNotFound && aborted > 0) {
            status_reset(st); /* the build it named was aborted: that was the drop */
            ret = 0;
        }
    } else if (BSON_ITER_HOLDS_DOCUMENT(&idx)) {
        bson_t key;
        char name[1024];
        ret = micad_db_arg_doc(&idx, "dropIndexes", &key, st);
        if (ret == 0)
            ret = name_for_key(m, ns, &key, name, sizeof(name), st);
        if (ret == 0)
            ret = micad_write_drop_index(sess, coll, name, st);
    } else {
        /* a list: every name must exist before any is dropped, as MongoDB checks */
        bson_iter_t a;
        stor_index_t *ix;
        bson_iter_recurse(&idx, &a);
        while (ret == 0 && bson_iter_next(&a)) {
            if (!BSON_ITER_HOLDS_UTF8(&a))
                ret = status_set(st, ERR_TypeMismatch, "dropIndexes: index names must be strings");
            else if (strcmp(bson_iter_utf8(&a, NULL), "_id_") == 0)
                ret = status_set(st, ERR_InvalidOptions, "cannot drop _id index");
            else
                ret = stor_index_lookup(coll, bson_iter_utf8(&a, NULL), &ix, st);
        }
        bson_iter_recurse(&idx, &a);
        while (ret == 0 && bson_iter_next(&a))
            ret = micad_write_drop_index(sess, coll, bson_iter_utf8(&a, NULL), st);
    }
out:
    micad_db_unlock_ns(ns, true);
    if (ret == 0) {
        BSON_APPEND_INT32(reply, "nIndexesWas", was);
        micad_db_finish_write(sess, &wc, reply);
    }
    return ret;
}

/* micad_cmd_drop_indexes -- the command inside a write slot: an fsync lock holds it out. */
MICAD_CATALOG_CMD(micad_cmd_drop_indexes, drop_indexes_run)
