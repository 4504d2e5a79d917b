/*
 * insert.c -- {insert: "c", documents: [...], ordered, bypassDocumentValidation}:
 * the batch insert command. Documents come as the body's array or as an
 * OP_MSG kind-1 sequence. Each document is checked (db.c's
 * micad_db_prepare_insert: _id first, generated when missing), validated
 * against the collection's validator, and inserted in its own unit of work
 * with every index maintained by storage; a write conflict retries inside.
 * Reply {n, writeErrors?: [{index, code, errmsg, keyPattern?, keyValue?}]}.
 *
 * Capped collections ({capped, size, max}) are trimmed from the oldest record
 * in the same unit of work as the insert (write.c); capped inserts hold the
 * namespace exclusively so the oldest-first order and the size bound hold.
 */
#include "mongod/db.h"
#include "mongod/views.h"
#include "mongod/write.h"

#include <string.h>

/* parse_args -- the command's own fields; anything unknown is an error, as IDL makes it. */
static int parse_args(const bson_t *cmd, bool *ordered, bool *bypass, status_t *st)
{
    bson_iter_t it;
    *ordered = true;
    *bypass = false;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it); /* the collection */
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "documents") == 0) {
            continue;
        } else if (strcmp(k, "ordered") == 0) {
            ST_RET(micad_db_arg_bool(&it, "insert", ordered, st));
        } else if (strcmp(k, "bypassDocumentValidation") == 0) {
            ST_RET(micad_db_arg_bool(&it, "insert", bypass, st));
        } else if (strcmp(k, "stmtId") == 0 || strcmp(k, "stmtIds") == 0 ||
                   strcmp(k, "isTimeseriesNamespace") == 0 || strcmp(k, "collectionUUID") == 0 ||
                   strcmp(k, "let") == 0) {
            /* accepted (retryable-write statement ids; UUID checks come with sharding) */
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("insert", k, st);
        }
    }
    return 0;
}

/*
 * any_insertable -- whether the batch has a document that passes
 * micad_db_prepare_insert before the first one that stops it (ordered). A
 * batch that would insert nothing must not create the collection, as in
 * MongoDB (insert({_id: undefined}) leaves no collection behind).
 */
static int any_insertable(const wire_opctx_t *op, const bson_t *cmd, bool ordered, bool *any,
                          status_t *st)
{
    micad_db_docs_t docs;
    bson_t doc;
    *any = false;
    ST_RET(micad_db_docs_init(op, cmd, "documents", &docs, st));
    while (!*any && micad_db_docs_next(&docs, &doc)) {
        status_t es = STATUS_INIT;
        bson_t stored;
        *any = micad_db_prepare_insert(&doc, &stored, &es) == 0;
        bson_destroy(&stored);
        if (!*any && ordered)
            break;
    }
    return 0;
}

/* micad_cmd_insert -- see the file comment. */
int micad_cmd_insert(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1], db[128];
    const char *cname;
    bool ordered, bypass, created = false, locked = false, exclusive = false;
    micad_wc_t wc;
    micad_db_docs_t docs;
    stor_session_t *sess = NULL;
    stor_collection_t *coll = NULL;
    micad_validator_t val = {0};
    micad_write_errors_t we;
    int64_t n = 0;
    int32_t index = 0;
    bson_t doc;
    int ret = 0;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    ST_RET(micad_db_split_ns(ns, db, &cname, st));
    ST_RET(parse_args(cmd, &ordered, &bypass, st));
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_docs_init(op, cmd, "documents", &docs, st));
    if (docs.count == 0 || docs.count > WIRE_MAX_WRITE_BATCH)
        return status_set(st, ERR_InvalidLength,
                          "Write batch sizes must be between 1 and %d. Got %u operations.",
                          WIRE_MAX_WRITE_BATCH, docs.count);
    ST_RET(micad_db_check_user_write(db, cname, st));
    ST_RET(micad_db_session(m, &sess, st));

    micad_write_errors_init(&we);
    micad_db_lock_ns(ns, false);
    locked = true;
    {
        status_t ignored = STATUS_INIT;
        bool any = true;
        if (stor_collection_lookup(m->engine, ns, &coll, &ignored) != 0)
            ST_ERR(any_insertable(op, cmd, ordered, &any, st));
        if (!any) {
            /* nothing can be inserted: report each document's error, create nothing */
            while (micad_db_docs_next(&docs, &doc)) {
                status_t es = STATUS_INIT;
                bson_t stored;
                if (micad_db_prepare_insert(&doc, &stored, &es) != 0) {
                    micad_write_errors_add(&we, index, &es, sess, NULL);
                    if (ordered) {
                        bson_destroy(&stored);
                        break;
                    }
                }
                bson_destroy(&stored);
                index++;
            }
            micad_db_unlock_ns(ns, false);
            locked = false;
            BSON_APPEND_INT32(reply, "n", 0);
            micad_write_errors_append(&we, reply);
            micad_db_finish_write(sess, &wc, reply);
            goto err;
        }
    }
    ST_ERR(micad_write_get_or_create(m, sess, ns, &coll, &created, st));
    if (micad_write_is_capped(coll)) {
        /* capped inserts are serialised: re-take the lock exclusively */
        micad_db_unlock_ns(ns, false);
        micad_db_lock_ns(ns, true);
        exclusive = true;
        ST_ERR(micad_db_get_collection(m, ns, &coll, st));
    }
    if (!bypass)
        ST_ERR(micad_validator_load(coll, &val, st));

    while (micad_db_docs_next(&docs, &doc)) {
        status_t es = STATUS_INIT;
        bson_t stored, errinfo;
        bool has_errinfo = false;
        int r = micad_db_check_deadline(op, &es); /* killOp, a step-down, maxTimeMS */
        if (r != 0) {
            ret = status_copy(st, &es);
            break;
        }
        r = micad_db_prepare_insert(&doc, &stored, &es);
        if (r == 0)
            r = micad_validator_check(&val, ns, &stored, NULL, &errinfo, &has_errinfo, &es);
        if (r == 0) {
            r = micad_write_insert_one(op, sess, coll, &stored, &es);
        }
        bson_destroy(&stored);
        if (r == 0) {
            n++;
        } else if (micad_db_is_interruption(r)) {
            ret = status_copy(st, &es); /* the whole command fails */
            break;
        } else {
            micad_write_errors_add(&we, index, &es, sess, has_errinfo ? &errinfo : NULL);
            if (has_errinfo)
                bson_destroy(&errinfo);
            if (ordered || micad_db_is_fatal_batch_error(r))
                break;
        }
        index++;
    }
    micad_db_unlock_ns(ns, exclusive);
    locked = false;
    if (ret != 0)
        goto err;

    BSON_APPEND_INT32(reply, "n", (int32_t)n);
    micad_write_errors_append(&we, reply);
    micad_db_finish_write(sess, &wc, reply);
err:
    if (locked)
        micad_db_unlock_ns(ns, exclusive);
    micad_validator_destroy(&val);
    micad_write_errors_destroy(&we);
    return ret;
}
