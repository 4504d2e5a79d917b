/*
 * validate.c -- {validate: "c", full, background, repair, metadata,
 * checkBSONConformance}: check a collection and every index against it, in
 * MongoDB's reply shape: ns, uuid, nInvalidDocuments, nNonCompliantDocuments,
 * nrecords, nIndexes, keysPerIndex, indexDetails {name: {valid}}, valid,
 * repaired: false, warnings, errors, extraIndexEntries, missingIndexEntries,
 * corruptRecords.
 *
 * Every record must be valid BSON; every index entry must point at a record
 * whose keys produce it and every key of every record must have its entry
 * (storage's stor_index_validate, one snapshot per index). `full` is
 * accepted and runs the same checks (WiredTiger's own verify would need the
 * tables closed). A count counter that disagrees with the records is a
 * warning, as in MongoDB. repair / metadata: NotImplemented (238).
 */
#include "mongod/db.h"
#include "mongod/views.h"

#include <inttypes.h>
#include <string.h>

/* check_records -- scan the collection: records, invalid BSON documents. */
static int check_records(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                         int64_t *nrecords, int64_t *ninvalid, bson_t *corrupt, status_t *st)
{
    stor_uow_t *uow = NULL;
    stor_cursor_t *cur = NULL;
    int ret = stor_uow_begin(sess, 0, &uow, st);
    if (ret == 0)
        ret = stor_cursor_open(sess, coll, true, &cur, st);
    while (ret == 0) {
        int64_t rid;
        bson_t doc;
        bool eof;
        ret = stor_cursor_next(cur, &rid, &doc, &eof, st);
        if (ret != 0 || eof)
            break;
        if ((*nrecords & 1023) == 0 && (ret = micad_db_check_deadline(op, st)) != 0)
            break;
        (*nrecords)++;
        if (!bson_validate(&doc, BSON_VALIDATE_NONE, NULL)) {
            char key[24];
            const char *k;
            bson_uint32_to_string((uint32_t)*ninvalid, &k, key, sizeof(key));
            micad_append_number(corrupt, k, rid);
            (*ninvalid)++;
        }
    }
    stor_cursor_close(cur);
    stor_uow_abort(uow);
    return ret;
}

/* add_msg -- append a string to an array being built. */
static void add_msg(bson_t *arr, uint32_t *n, const char *msg)
{
    char key[24];
    const char *k;
    bson_uint32_to_string((*n)++, &k, key, sizeof(key));
    BSON_APPEND_UTF8(arr, k, msg);
}

/* micad_cmd_validate -- see the file comment. */
int micad_cmd_validate(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1];
    stor_session_t *sess;
    stor_collection_t *coll;
    bson_iter_t it;
    bool flag;
    int ret = 0;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "full") == 0 || strcmp(k, "background") == 0 ||
            strcmp(k, "checkBSONConformance") == 0 || strcmp(k, "scandata") == 0) {
            ST_RET(micad_db_arg_bool(&it, "validate", &flag, st));
        } else if (strcmp(k, "repair") == 0 || strcmp(k, "metadata") == 0) {
            ST_RET(micad_db_arg_bool(&it, "validate", &flag, st));
            if (flag)
                return status_set(st, ERR_NotImplemented,
                                  "validate with %s: true is not "
                                  "supported",
                                  k);
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("validate", k, st);
        }
    }
    if (micad_db_get_collection(m, ns, &coll, st) != 0)
        return status_set(st, ERR_NamespaceNotFound, "Collection '%s' does not exist to validate.",
                          ns);
    ST_RET(micad_db_session(m, &sess, st));

    bson_t warnings = BSON_INITIALIZER, errors = BSON_INITIALIZER, corrupt = BSON_INITIALIZER;
    bson_t keys = BSON_INITIALIZER, details = BSON_INITIALIZER, list;
    uint32_t nwarn = 0, nerr = 0;
    int64_t nrecords = 0, ninvalid = 0;
    int nindexes = 0;
    bool valid = true;

    micad_db_lock_ns(ns, false); /* keeps index builds and drops out, not writers */
    ret = check_records(op, sess, coll, &nrecords, &ninvalid, &corrupt, st);
    if (ret == 0 && ninvalid > 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Detected %" PRId64 " invalid BSON documents", ninvalid);
        add_msg(&errors, &nerr, msg);
        valid = false;
    }
    if (ret == 0)
        ret = stor_list_indexes(m->engine, ns, &list, st);
    else
        bson_init(&list);
    bson_iter_init(&it, &list);
    while (ret == 0 && bson_iter_next(&it)) {
        bson_t spec;
        bson_iter_t n;
        stor_index_t *idx;
        status_t ist = STATUS_INIT;
        if (micad_db_arg_doc(&it, "listIndexes", &spec, &ist) != 0 ||
            !bson_iter_init_find(&n, &spec, "name") || !BSON_ITER_HOLDS_UTF8(&n) ||
            stor_index_lookup(coll, bson_iter_utf8(&n, NULL), &idx, &ist) != 0)
            continue;
        stor_index_validation_t res;
        ret = stor_index_validate(sess, idx, &res, st);
        if (ret != 0)
            break;
        nindexes++;
        bool ok = res.bad_entries == 0 && res.missing_keys == 0;
        const char *name = stor_index_name(idx);
        micad_append_number(&keys, name, res.nkeys);
        bson_t d;
        BSON_APPEND_DOCUMENT_BEGIN(&details, name, &d);
        BSON_APPEND_BOOL(&d, "valid", ok);
        bson_append_document_end(&details, &d);
        if (!ok) {
            char msg[512];
            valid = false;
            snprintf(msg, sizeof(msg),
                     "Index %s: %" PRId64 " extra index entries, %" PRId64
                     " missing index entries; first: %s",
                     name, res.bad_entries, res.missing_keys, res.first_error);
            add_msg(&errors, &nerr, msg);
            LOG(WARNING, STORAGE, 21561, "Index inconsistent with its collection", "namespace",
                BCON_UTF8(ns), "index", BCON_UTF8(name), "extraEntries",
                BCON_INT64(res.bad_entries), "missingEntries", BCON_INT64(res.missing_keys),
                "first", BCON_UTF8(res.first_error));
        }
    }
    micad_db_unlock_ns(ns, false);
    bson_destroy(&list);
    if (ret == 0) {
        int64_t counted = stor_collection_count(coll);
        if (counted != nrecords) {
            /* writers may have committed between the counter read and the scan, so a
             * difference is a warning (MongoDB too warns and fixes the counter) */
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "The collection's record count (%" PRId64 ") differs from the records "
                     "scanned (%" PRId64 ")",
                     counted, nrecords);
            add_msg(&warnings, &nwarn, msg);
        }
        BSON_APPEND_UTF8(reply, "ns", ns);
        BSON_APPEND_BINARY(reply, "uuid", BSON_SUBTYPE_UUID, stor_collection_uuid(coll), 16);
        micad_append_number(reply, "nInvalidDocuments", ninvalid);
        micad_append_number(reply, "nNonCompliantDocuments", ninvalid);
        micad_append_number(reply, "nrecords", nrecords);
        BSON_APPEND_INT32(reply, "nIndexes", nindexes);
        BSON_APPEND_DOCUMENT(reply, "keysPerIndex", &keys);
        BSON_APPEND_DOCUMENT(reply, "indexDetails", &details);
        BSON_APPEND_BOOL(reply, "valid", valid);
        BSON_APPEND_BOOL(reply, "repaired", false);
        BSON_APPEND_ARRAY(reply, "warnings", &warnings);
        BSON_APPEND_ARRAY(reply, "errors", &errors);
        bson_t empty;
        BSON_APPEND_ARRAY_BEGIN(reply, "extraIndexEntries", &empty);
        bson_append_array_end(reply, &empty);
        BSON_APPEND_ARRAY_BEGIN(reply, "missingIndexEntries", &empty);
        bson_append_array_end(reply, &empty);
        BSON_APPEND_ARRAY(reply, "corruptRecords", &corrupt);
    }
    bson_destroy(&warnings);
    bson_destroy(&errors);
    bson_destroy(&corrupt);
    bson_destroy(&keys);
    bson_destroy(&details);
    return ret;
}
