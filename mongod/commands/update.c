/*
 * update.c -- {update: "c", updates: [{q, u, multi, upsert, arrayFilters,
 * hint, collation}], ordered, bypassDocumentValidation}: the batch update
 * command. Reply {n, nModified, upserted?: [{index, _id}], writeErrors?}.
 *
 * Each statement finds its documents (db.c's micad_db_find_rids: the _id_
 * index for {_id: v}, else a scan), then updates each one in its own unit of
 * work: the document is read again there and re-matched (it may have changed
 * since the scan), the update applied with query/'s qry_update_apply, the
 * result validated and written through the write path (mongod/write.c),
 * which maintains every index and observes the write. A write conflict re-runs that document's
 * unit. With upsert and no match, the document qry_update_upsert builds is inserted.
 *
 * micad_update_one and micad_upsert_insert (write.c) are shared with findAndModify.
 *
 * A pipeline-style update (u: [{$set: ...}, ...], with `c` constants) runs
 * through mongod/agg.c's micad_agg_update_apply in the same unit of work.
 *
 * The command's `let` is evaluated once (mongod/agg.c's micad_let_open):
 * $expr in q and the update pipelines read its values as $$name.
 *
 * Not supported (NotImplemented 238, never silently ignored): collations
 * other than "simple".
 */
#include "mongod/agg.h"
#include "mongod/views.h"
#include "mongod/write.h"

#include <string.h>

/* Per-batch state. */
typedef struct batch {
    wire_opctx_t *op;
    micad_t *m;
    const char *ns;
    stor_session_t *sess;
    stor_collection_t *coll; /* NULL until needed (upsert creates it) */
    micad_validator_t val;
    micad_let_t *let; /* the command's let (NULL: none) */
    bool bypass;
    int64_t n, n_modified;
    bson_t upserted;
    uint32_t n_upserted;
} batch_t;

/* parse_stmt -- one element of "updates" into its parts. */
static int parse_stmt(batch_t *b, const bson_t *s, bson_t *q, bson_t *u, bool *is_pl, bson_t *c,
                      bool *has_c, bool *has_af, bson_t *af, bool *multi, bool *upsert,
                      status_t *st)
{
    bson_iter_t it;
    bool has_q = false, has_u = false;
    *has_af = *multi = *upsert = *is_pl = *has_c = false;
    if (!bson_iter_init(&it, s))
        return status_set(st, ERR_InvalidBSON, "malformed update statement");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "q") == 0) {
            ST_RET(micad_db_arg_doc(&it, "update.updates", q, st));
            has_q = true;
        } else if (strcmp(k, "u") == 0) {
            if (BSON_ITER_HOLDS_ARRAY(&it)) {
                const uint8_t *data;
                uint32_t len;
                bson_iter_array(&it, &len, &data);
                if (!bson_init_static(u, data, len))
                    return status_set(st, ERR_InvalidBSON, "malformed update pipeline");
                *is_pl = true;
            } else {
                ST_RET(micad_db_arg_doc(&it, "update.updates", u, st));
            }
            has_u = true;
        } else if (strcmp(k, "multi") == 0) {
            ST_RET(micad_db_arg_bool(&it, "update.updates", multi, st));
        } else if (strcmp(k, "upsert") == 0) {
            ST_RET(micad_db_arg_bool(&it, "update.updates", upsert, st));
        } else if (strcmp(k, "arrayFilters") == 0) {
            const uint8_t *data;
            uint32_t len;
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return micad_db_type_error(&it, "update.updates", "array", st);
            bson_iter_array(&it, &len, &data);
            if (!bson_init_static(af, data, len))
                return status_set(st, ERR_InvalidBSON, "malformed arrayFilters");
            *has_af = true;
        } else if (strcmp(k, "hint") == 0) {
            ST_RET(micad_db_check_hint(b->m, b->coll, &it, st));
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "c") == 0) {
            ST_RET(micad_db_arg_doc(&it, "update.updates", c, st));
            *has_c = true;
        } else if (strcmp(k, "upsertSupplied") == 0 || strcmp(k, "sampleId") == 0) {
            /* internal fields mongos adds; accepted */
        } else {
            return micad_db_unknown_field("update.updates", k, st);
        }
    }
    if (!has_q)
        return status_set(st, 40414,
                          "BSON field 'update.updates.q' is missing but a required field");
    if (!has_u)
        return status_set(st, 40414,
                          "BSON field 'update.updates.u' is missing but a required field");
    if (*has_c && !*is_pl)
        return status_set(st, ERR_FailedToParse,
                          "Constant values may only be specified for pipeline updates");
    if (*has_af && *is_pl)
        return status_set(st, ERR_FailedToParse,
                          "arrayFilters may not be specified for pipeline-style updates");
    return 0;
}

/* run_stmt -- one statement; st is its write error if it fails. */
static int run_stmt(batch_t *b, int32_t index, const bson_t *s, bson_t *errinfo, bool *has_errinfo,
                    status_t *st)
{
    bson_t q, u, af, c;
    bool has_af, multi, upsert, created, is_pl, has_c;
    qry_match_t *match = NULL;
    qry_update_t *upd = NULL;
    micad_upd_pipeline_t *pl = NULL;
    int64_t *rids = NULL;
    size_t nrids = 0;
    int ret = 0;
    micad_update_job_t job;

    *has_errinfo = false;
    micad_update_job_init(&job);
    ST_ERR(parse_stmt(b, s, &q, &u, &is_pl, &c, &has_c, &has_af, &af, &multi, &upsert, st));
    qry_match_hooks_t hooks = micad_let_hooks(b->let);
    ST_ERR(qry_match_parse(&q, &hooks, &match, st));
    if (is_pl)
        ST_ERR(micad_agg_update_parse(&u, has_c ? &c : NULL, micad_let_values(b->let), &pl, st));
    else
        ST_ERR(qry_update_parse(&u, has_af ? &af : NULL, &upd, st));
    if (!is_pl && multi && qry_update_is_replacement(upd)) {
        ret = status_set(st, ERR_FailedToParse,
                         "multi update is not supported for replacement-style update");
        goto err;
    }
    int attempt = 0;
retry:
    if (b->coll != NULL)
        ST_ERR(micad_db_find_rids(b->op, b->sess, b->coll, match, NULL, multi ? 0 : 1, &rids,
                                  &nrids, st));
    int64_t matched = 0;
    job.coll = b->coll;
    job.match = match;
    job.upd = upd;
    job.transform = pl != NULL ? micad_agg_update_transform : NULL;
    job.transform_arg = pl;
    job.val = b->bypass ? NULL : &b->val;
    for (size_t i = 0; i < nrids; i++) {
        ST_ERR(micad_db_check_deadline(b->op, st)); /* killOp, a step-down, maxTimeMS */
        job.rid = rids[i];
        ret = micad_update_one(b->op, b->sess, &job, st);
        if (ret != 0) {
            if (job.has_errinfo) {
                bson_copy_to(&job.errinfo, errinfo);
                *has_errinfo = true;
            }
            goto err;
        }
        if (job.matched)
            matched++;
        if (job.modified)
            b->n_modified++;
    }
    b->n += matched;
    if (matched == 0 && upsert) {
        bson_t inserted;
        if (b->coll == NULL) {
            ST_ERR(micad_write_get_or_create(b->m, b->sess, b->ns, &b->coll, &created, st));
            if (!b->bypass)
                ST_ERR(micad_validator_load(b->coll, &b->val, st));
        }
        ret = micad_upsert_insert(b->op, b->sess, b->coll, b->bypass ? NULL : &b->val, upd,
                                  pl != NULL ? micad_agg_update_transform : NULL, pl, &q, &inserted,
                                  errinfo, has_errinfo, st);
        if (ret != 0 && attempt < MICAD_UPSERT_RETRIES &&
            micad_upsert_should_retry(b->sess, &q, ret)) {
            /* lost the insert race on our own key: the winner's document now matches */
            attempt++;
            bson_destroy(&inserted);
            bson_free(rids);
            rids = NULL;
            nrids = 0;
            status_reset(st);
            ret = 0;
            goto retry;
        }
        if (ret == 0) {
            bson_iter_t id;
            char key[16];
            const char *k;
            bson_t e;
            bson_uint32_to_string(b->n_upserted++, &k, key, sizeof(key));
            bson_append_document_begin(&b->upserted, k, -1, &e);
            BSON_APPEND_INT32(&e, "index", index);
            if (bson_iter_init_find(&id, &inserted, "_id"))
                bson_append_iter(&e, "_id", 3, &id);
            bson_append_document_end(&b->upserted, &e);
            b->n++;
        }
        bson_destroy(&inserted);
    }
err:
    micad_update_job_destroy(&job);
    bson_free(rids);
    qry_update_destroy(upd);
    micad_agg_update_destroy(pl);
    qry_match_destroy(match);
    return ret;
}

/* parse_args -- the command's own fields. */
static int parse_args(const bson_t *cmd, bool *ordered, bool *bypass, bson_t *let, bool *has_let,
                      status_t *st)
{
    bson_iter_t it;
    *ordered = true;
    *bypass = *has_let = false;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "updates") == 0) {
            continue;
        } else if (strcmp(k, "ordered") == 0) {
            ST_RET(micad_db_arg_bool(&it, "update", ordered, st));
        } else if (strcmp(k, "bypassDocumentValidation") == 0) {
            ST_RET(micad_db_arg_bool(&it, "update", bypass, st));
        } else if (strcmp(k, "let") == 0) {
            ST_RET(micad_db_arg_doc(&it, "update", let, st));
            *has_let = true;
        } else if (strcmp(k, "stmtId") == 0 || strcmp(k, "stmtIds") == 0 ||
                   strcmp(k, "isTimeseriesNamespace") == 0 || strcmp(k, "collectionUUID") == 0) {
            /* accepted */
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("update", k, st);
        }
    }
    return 0;
}

/* micad_cmd_update -- see the file comment. */
int micad_cmd_update(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    static const char *const stmt_fields[] = {
        "q",    "u",         "multi", "upsert",         "arrayFilters",
        "hint", "collation", "c",     "upsertSupplied", "sampleId",
        NULL};
    ST_RET(micad_check_statement_fields(op, cmd, "updates", stmt_fields, "update.updates", st));
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    char ns[MICAD_NS_MAX + 1], db[128];
    const char *cname;
    bool ordered;
    micad_wc_t wc;
    micad_db_docs_t stmts;
    micad_write_errors_t we;
    batch_t b;
    bson_t s, let;
    bool has_let;
    int32_t index = 0;
    status_t ignored = STATUS_INIT;
    int ret = 0;

    memset(&b, 0, sizeof(b));
    b.op = op;
    b.m = micad_of(op);
    b.ns = ns;
    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    ST_RET(micad_db_split_ns(ns, db, &cname, st));
    ST_RET(parse_args(cmd, &ordered, &b.bypass, &let, &has_let, st));
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_docs_init(op, cmd, "updates", &stmts, st));
    if (stmts.count == 0 || stmts.count > WIRE_MAX_WRITE_BATCH)
        return status_set(st, ERR_InvalidLength,
                          "Write batch sizes must be between 1 and %d. Got %u operations.",
                          WIRE_MAX_WRITE_BATCH, stmts.count);
    ST_RET(micad_db_check_user_write(db, cname, st));
    ST_RET(micad_db_session(b.m, &b.sess, st));
    if (has_let)
        ST_RET(micad_let_open(&let, &b.let, st));

    micad_write_errors_init(&we);
    bson_init(&b.upserted);
    micad_db_lock_ns(ns, false);
    if (micad_db_get_collection(b.m, ns, &b.coll, &ignored) == 0 && !b.bypass)
        ret = micad_validator_load(b.coll, &b.val, st);
    while (ret == 0 && micad_db_docs_next(&stmts, &s)) {
        status_t es = STATUS_INIT;
        bson_t errinfo;
        bool has_errinfo = false;
        int r = run_stmt(&b, index, &s, &errinfo, &has_errinfo, &es);
        if (r != 0 && micad_db_is_interruption(r)) {
            if (has_errinfo)
                bson_destroy(&errinfo);
            ret = status_copy(st, &es); /* the whole command fails, as MongoDB's */
            break;
        }
        if (r != 0) {
            micad_write_errors_add(&we, index, &es, b.sess, has_errinfo ? &errinfo : NULL);
            if (has_errinfo)
                bson_destroy(&errinfo);
            if (ordered || micad_db_is_fatal_batch_error(r))
                break;
        }
        index++;
    }
    micad_db_unlock_ns(ns, false);
    if (ret == 0) {
        BSON_APPEND_INT32(reply, "n", (int32_t)b.n);
        BSON_APPEND_INT32(reply, "nModified", (int32_t)b.n_modified);
        if (b.n_upserted > 0)
            BSON_APPEND_ARRAY(reply, "upserted", &b.upserted);
        micad_write_errors_append(&we, reply);
        micad_db_finish_write(b.sess, &wc, reply);
    }
    micad_validator_destroy(&b.val);
    micad_let_destroy(b.let);
    bson_destroy(&b.upserted);
    micad_write_errors_destroy(&we);
    return ret;
}
