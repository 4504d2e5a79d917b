/*
 * delete.c -- {delete: "c", deletes: [{q, limit: 0|1, hint, collation}],
 * ordered}: the batch delete command. Reply {n, writeErrors?}.
 *
 * Each statement finds its documents (db.c's micad_db_find_rids), then
 * deletes each in its own unit of work after reading it again and
 * re-matching it (it may have changed or gone since the scan); storage
 * removes its index entries in the same transaction. A missing collection
 * deletes nothing, as in MongoDB.
 */
#include "mongod/agg.h"
#include "mongod/views.h"
#include "mongod/write.h"

#include <string.h>

/* run_stmt -- one element of "deletes". */
static int run_stmt(wire_opctx_t *op, micad_t *m, stor_session_t *sess, stor_collection_t *coll,
                    const micad_let_t *let, const bson_t *s, int64_t *n, status_t *st)
{
    bson_iter_t it;
    bson_t q;
    bool has_q = false, has_limit = false;
    int64_t limit = 0;
    qry_match_t *match = NULL;
    int64_t *rids = NULL;
    size_t nrids = 0;
    int ret = 0;

    if (!bson_iter_init(&it, s))
        return status_set(st, ERR_InvalidBSON, "malformed delete statement");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "q") == 0) {
            ST_RET(micad_db_arg_doc(&it, "delete.deletes", &q, st));
            has_q = true;
        } else if (strcmp(k, "limit") == 0) {
            ST_RET(micad_db_arg_int64(&it, "delete.deletes", &limit, st));
            if (limit != 0 && limit != 1)
                return status_set(st, ERR_FailedToParse,
                                  "The limit field in delete objects must be 0 or 1. Got %lld",
                                  (long long)limit);
            has_limit = true;
        } else if (strcmp(k, "hint") == 0) {
            ST_RET(micad_db_check_hint(m, coll, &it, st));
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "sampleId") == 0) {
            /* internal; accepted */
        } else {
            return micad_db_unknown_field("delete.deletes", k, st);
        }
    }
    if (!has_q)
        return status_set(st, 40414,
                          "BSON field 'delete.deletes.q' is missing but a required field");
    if (!has_limit)
        return status_set(st, 40414,
                          "BSON field 'delete.deletes.limit' is missing but a required field");
    qry_match_hooks_t hooks = micad_let_hooks(let); /* $expr in the filter, with let's $$vars */
    ST_RET(qry_match_parse(&q, &hooks, &match, st));
    if (coll != NULL)
        ST_ERR(micad_db_find_rids(op, sess, coll, match, NULL, limit, &rids, &nrids, st));
    for (size_t i = 0; i < nrids; i++) {
        bool deleted;
        ST_ERR(micad_db_check_deadline(op, st)); /* killOp, a step-down, maxTimeMS */
        ST_ERR(micad_delete_rid(op, sess, coll, match, rids[i], &deleted, NULL, st));
        if (deleted)
            (*n)++;
    }
err:
    bson_free(rids);
    qry_match_destroy(match);
    return ret;
}

/* parse_args -- the command's own fields. */
static int parse_args(const bson_t *cmd, bool *ordered, bson_t *let, bool *has_let, status_t *st)
{
    bson_iter_t it;
    *ordered = true;
    *has_let = false;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "deletes") == 0) {
            continue;
        } else if (strcmp(k, "ordered") == 0) {
            ST_RET(micad_db_arg_bool(&it, "delete", ordered, st));
        } else if (strcmp(k, "let") == 0) {
            ST_RET(micad_db_arg_doc(&it, "delete", let, st));
            *has_let = true;
        } else if (strcmp(k, "bypassDocumentValidation") == 0 || strcmp(k, "stmtId") == 0 ||
                   strcmp(k, "stmtIds") == 0 || strcmp(k, "isTimeseriesNamespace") == 0 ||
                   strcmp(k, "collectionUUID") == 0) {
            /* accepted */
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("delete", k, st);
        }
    }
    return 0;
}

/* micad_cmd_delete -- see the file comment. */
int micad_cmd_delete(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    static const char *const stmt_fields[] = {"q", "limit", "hint", "collation", "sampleId", NULL};
    ST_RET(micad_check_statement_fields(op, cmd, "deletes", stmt_fields, "delete.deletes", st));
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1], db[128];
    const char *cname;
    bool ordered;
    micad_wc_t wc;
    micad_db_docs_t stmts;
    micad_write_errors_t we;
    stor_session_t *sess;
    stor_collection_t *coll = NULL;
    status_t ignored = STATUS_INIT;
    int64_t n = 0;
    int32_t index = 0;
    bson_t s, letdoc;
    bool has_let;
    micad_let_t *let = NULL;
    int ret = 0;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    ST_RET(micad_db_split_ns(ns, db, &cname, st));
    ST_RET(parse_args(cmd, &ordered, &letdoc, &has_let, st));
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_docs_init(op, cmd, "deletes", &stmts, st));
    if (stmts.count == 0 || stmts.count > WIRE_MAX_WRITE_BATCH)
        return status_set(st, ERR_InvalidLength,
                          "Write batch sizes must be between 1 and %d. Got %u operations.",
                          WIRE_MAX_WRITE_BATCH, stmts.count);
    ST_RET(micad_db_check_user_write(db, cname, st));
    ST_RET(micad_db_session(m, &sess, st));
    if (has_let) /* mongod/agg.c: evaluated once, $$name in $expr */
        ST_RET(micad_let_open(&letdoc, &let, st));

    micad_write_errors_init(&we);
    micad_db_lock_ns(ns, false);
    (void)micad_db_get_collection(m, ns, &coll, &ignored);
    while (micad_db_docs_next(&stmts, &s)) {
        status_t es = STATUS_INIT;
        int r = run_stmt(op, m, sess, coll, let, &s, &n, &es);
        if (r != 0 && micad_db_is_interruption(r)) {
            ret = status_copy(st, &es); /* the whole command fails, as MongoDB's */
            break;
        }
        if (r != 0) {
            micad_write_errors_add(&we, index, &es, sess, NULL);
            if (ordered || micad_db_is_fatal_batch_error(r))
                break;
        }
        index++;
    }
    micad_db_unlock_ns(ns, false);
    if (ret == 0) {
        BSON_APPEND_INT32(reply, "n", (int32_t)n);
        micad_write_errors_append(&we, reply);
        micad_db_finish_write(sess, &wc, reply);
    }
    micad_write_errors_destroy(&we);
    micad_let_destroy(let);
    return ret;
}
