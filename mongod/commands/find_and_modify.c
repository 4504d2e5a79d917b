/*
 * find_and_modify.c -- {findAndModify: "c", query, sort, remove, update,
 * new, fields, upsert, arrayFilters, bypassDocumentValidation, hint,
 * collation}: update or remove one document and return it (before, or after
 * with new: true). Reply {lastErrorObject: {n, updatedExisting?, upserted?},
 * value, ok}. Errors are command errors, not writeErrors.
 *
 * The document is chosen by a snapshot read (first in sort order), then
 * changed in a unit of work that reads it again; if it no longer matches
 * (a concurrent writer got there first) the choice is made again, as
 * MongoDB retries its plan.
 */
#include "mongod/agg.h"
#include "mongod/views.h"
#include "mongod/write.h"

#include <string.h>

/* MICAD_FAM_RETRIES -- re-choose at most this often when racing writers take our document. */
#define MICAD_FAM_RETRIES 100

typedef struct fam_args {
    bson_t query, sort, update, fields, af;
    bool has_sort, has_update, has_fields, has_af;
    bool update_is_pipeline; /* update: [{$set: ...}, ...] (mongod/agg.c) */
    bson_t let;              /* the command's let (view) */
    bool has_let;
    bool remove, new_, upsert, bypass;
} fam_args_t;

static int parse_args(micad_t *m, const bson_t *cmd, fam_args_t *a, status_t *st)
{
    bson_iter_t it;
    memset(a, 0, sizeof(*a));
    bson_init(&a->query);
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        const char *c = "findAndModify";
        if (strcmp(k, "query") == 0) {
            if (!BSON_ITER_HOLDS_NULL(&it))
                ST_RET(micad_db_arg_doc(&it, c, &a->query, st));
        } else if (strcmp(k, "sort") == 0) {
            if (!BSON_ITER_HOLDS_NULL(&it)) {
                ST_RET(micad_db_arg_doc(&it, c, &a->sort, st));
                a->has_sort = !bson_empty(&a->sort);
            }
        } else if (strcmp(k, "fields") == 0) {
            if (!BSON_ITER_HOLDS_NULL(&it)) {
                ST_RET(micad_db_arg_doc(&it, c, &a->fields, st));
                a->has_fields = !bson_empty(&a->fields);
            }
        } else if (strcmp(k, "update") == 0) {
            if (BSON_ITER_HOLDS_ARRAY(&it)) {
                const uint8_t *data;
                uint32_t len;
                bson_iter_array(&it, &len, &data);
                if (!bson_init_static(&a->update, data, len))
                    return status_set(st, ERR_InvalidBSON, "malformed update pipeline");
                a->has_update = a->update_is_pipeline = true;
            } else if (!BSON_ITER_HOLDS_NULL(&it)) {
                ST_RET(micad_db_arg_doc(&it, c, &a->update, st));
                a->has_update = true;
            }
        } else if (strcmp(k, "remove") == 0) {
            ST_RET(micad_db_arg_bool(&it, c, &a->remove, st));
        } else if (strcmp(k, "new") == 0) {
            ST_RET(micad_db_arg_bool(&it, c, &a->new_, st));
        } else if (strcmp(k, "upsert") == 0) {
            ST_RET(micad_db_arg_bool(&it, c, &a->upsert, st));
        } else if (strcmp(k, "bypassDocumentValidation") == 0) {
            ST_RET(micad_db_arg_bool(&it, c, &a->bypass, st));
        } else if (strcmp(k, "arrayFilters") == 0) {
            const uint8_t *data;
            uint32_t len;
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return micad_db_type_error(&it, c, "array", st);
            bson_iter_array(&it, &len, &data);
            if (!bson_init_static(&a->af, data, len))
                return status_set(st, ERR_InvalidBSON, "malformed arrayFilters");
            a->has_af = true;
        } else if (strcmp(k, "hint") == 0) {
            /* checked against the collection once it is known (below) */
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "let") == 0) {
            ST_RET(micad_db_arg_doc(&it, c, &a->let, st));
            a->has_let = true;
        } else if (strcmp(k, "stmtId") == 0 || strcmp(k, "collectionUUID") == 0 ||
                   strcmp(k, "isTimeseriesNamespace") == 0) {
            /* accepted */
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field(c, k, st);
        }
    }
    (void)m;
    if (a->remove && a->has_update)
        return status_set(st, ERR_FailedToParse, "Cannot specify both an update and remove=true");
    if (!a->remove && !a->has_update)
        return status_set(st, ERR_FailedToParse,
                          "Either an update or remove=true must be specified");
    if (a->remove && a->upsert)
        return status_set(st, ERR_FailedToParse, "Cannot specify both upsert=true and remove=true");
    if (a->remove && a->new_)
        return status_set(st, ERR_FailedToParse,
                          "Cannot specify both new=true and remove=true; 'remove' always returns "
                          "the deleted document");
    return 0;
}

/* A remove: read, re-match, keep a copy, delete. */
/* append_value -- "value": the document projected with fields, or null. */
static int append_value(const qry_projection_t *proj, const qry_match_t *match, const bson_t *doc,
                        bson_t *reply, status_t *st)
{
    if (doc == NULL) {
        BSON_APPEND_NULL(reply, "value");
        return 0;
    }
    if (proj == NULL) {
        BSON_APPEND_DOCUMENT(reply, "value", doc);
        return 0;
    }
    bson_t out;
    qry_projection_ctx_t ctx = QRY_PROJECTION_CTX_INIT;
    /* a positional projection ('a.$') takes the array position the query matched */
    qry_match_details_t det = {0};
    bool matched = false;
    if (match != NULL && qry_match_exec(match, doc, &det, &matched, st) == 0 && matched &&
        det.has_elem_match_key)
        ctx.matched_index = (int32_t)det.elem_match_key;
    status_reset(st);
    int ret = qry_projection_apply(proj, doc, &ctx, &out, st);
    if (ret == 0)
        BSON_APPEND_DOCUMENT(reply, "value", &out);
    bson_destroy(&out);
    return ret;
}

/* has_positional -- whether a projection spec has a positional ('a.$') field. */
static bool has_positional(const bson_t *fields)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, fields))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        size_t n = strlen(k);
        if ((n >= 2 && strcmp(k + n - 2, ".$") == 0) || strstr(k, ".$.") != NULL)
            return true;
    }
    return false;
}

/* micad_cmd_find_and_modify -- see the file comment. */
int micad_cmd_find_and_modify(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1], db[128];
    const char *cname;
    fam_args_t a;
    micad_wc_t wc;
    stor_session_t *sess;
    stor_collection_t *coll = NULL;
    micad_validator_t val = {0};
    qry_match_t *match = NULL;
    qry_sort_t *sort = NULL;
    qry_update_t *upd = NULL;
    micad_upd_pipeline_t *pl = NULL;
    micad_let_t *let = NULL;
    qry_projection_t *proj = NULL;
    micad_update_job_t job;
    bson_t removed;
    status_t ignored = STATUS_INIT;
    bson_iter_t it;
    bson_t lerr, inserted;
    bool done = false, has_inserted = false;
    int ret = 0;

    micad_update_job_init(&job);
    bson_init(&removed);
    bson_init(&inserted);
    ST_ERR(micad_db_cmd_ns(op, cmd, ns, st));
    ST_ERR(micad_db_split_ns(ns, db, &cname, st));
    ST_ERR(parse_args(m, cmd, &a, st));
    ST_ERR(micad_db_write_concern(op, &wc, st));
    ST_ERR(micad_db_check_user_write(db, cname, st));
    if (a.has_let)
        ST_ERR(micad_let_open(&a.let, &let, st));
    qry_match_hooks_t hooks = micad_let_hooks(let);
    ST_ERR(qry_match_parse(&a.query, &hooks, &match, st));
    if (a.has_sort)
        ST_ERR(qry_sort_parse(&a.sort, &sort, st));
    if (a.has_fields)
        ST_ERR(qry_projection_parse(&a.fields, &proj, st));
    if (a.has_fields && a.new_ && !a.remove && has_positional(&a.fields)) {
        /* MongoDB refuses it before writing: the new document has no matched position */
        ret = status_set(st, ERR_BadValue,
                         "Cannot use a positional projection and return the new document");
        goto err;
    }
    if (a.has_update && a.update_is_pipeline && a.has_af) {
        ret = status_set(st, ERR_FailedToParse,
                         "arrayFilters may not be specified for pipeline-style updates");
        goto err;
    }
    if (a.has_update && a.update_is_pipeline)
        ST_ERR(micad_agg_update_parse(&a.update, NULL, micad_let_values(let), &pl, st));
    else if (a.has_update)
        ST_ERR(qry_update_parse(&a.update, a.has_af ? &a.af : NULL, &upd, st));
    ST_ERR(micad_db_session(m, &sess, st));

    micad_db_lock_ns(ns, false);
    if (micad_db_get_collection(m, ns, &coll, &ignored) != 0 && a.upsert) {
        bool created;
        ret = micad_write_get_or_create(m, sess, ns, &coll, &created, st);
    }
    if (ret == 0 && coll != NULL && bson_iter_init_find(&it, cmd, "hint"))
        ret = micad_db_check_hint(m, coll, &it, st);
    if (ret == 0 && coll != NULL && !a.bypass)
        ret = micad_validator_load(coll, &val, st);
    int upsert_attempt = 0;
retry:
    for (int attempt = 0; ret == 0 && coll != NULL && !done && attempt < MICAD_FAM_RETRIES;
         attempt++) {
        int64_t *rids = NULL;
        size_t n = 0;
        ret = micad_db_find_rids(op, sess, coll, match, sort, 1, &rids, &n, st);
        if (ret != 0 || n == 0) {
            bson_free(rids);
            break;
        }
        if (a.remove) {
            bson_destroy(&removed);
            ret = micad_delete_rid(op, sess, coll, match, rids[0], &done, &removed, st);
        } else {
            job.coll = coll;
            job.match = match;
            job.upd = upd;
            job.transform = pl != NULL ? micad_agg_update_transform : NULL;
            job.transform_arg = pl;
            job.val = a.bypass ? NULL : &val;
            job.rid = rids[0];
            ret = micad_update_one(op, sess, &job, st);
            done = ret == 0 && job.matched;
        }
        bson_free(rids);
    }
    if (ret == 0 && !done && a.upsert) {
        bson_t errinfo;
        bool has_errinfo = false;
        bson_destroy(&inserted);
        ret = micad_upsert_insert(op, sess, coll, a.bypass ? NULL : &val, upd,
                                  pl != NULL ? micad_agg_update_transform : NULL, pl, &a.query,
                                  &inserted, &errinfo, &has_errinfo, st);
        if (has_errinfo)
            bson_destroy(&errinfo);
        has_inserted = ret == 0;
        if (ret != 0 && upsert_attempt < MICAD_UPSERT_RETRIES &&
            micad_upsert_should_retry(sess, &a.query, ret)) {
            /* lost the insert race on our own key: the winner's document now matches */
            upsert_attempt++;
            status_reset(st);
            ret = 0;
            goto retry;
        }
    }
    micad_db_unlock_ns(ns, false);
    if (ret != 0)
        goto err;

    BSON_APPEND_DOCUMENT_BEGIN(reply, "lastErrorObject", &lerr);
    BSON_APPEND_INT32(&lerr, "n", done || has_inserted ? 1 : 0);
    if (!a.remove)
        BSON_APPEND_BOOL(&lerr, "updatedExisting", done);
    if (has_inserted && bson_iter_init_find(&it, &inserted, "_id"))
        bson_append_iter(&lerr, "upserted", -1, &it);
    bson_append_document_end(reply, &lerr);
    if (a.remove)
        ret = append_value(proj, match, done ? &removed : NULL, reply, st);
    else if (done)
        ret =
            append_value(proj, a.new_ ? NULL : match, a.new_ ? &job.after : &job.before, reply, st);
    else
        ret = append_value(proj, NULL, has_inserted && a.new_ ? &inserted : NULL, reply, st);
    if (ret == 0)
        micad_db_finish_write(sess, &wc, reply);
err:
    micad_update_job_destroy(&job);
    bson_destroy(&removed);
    bson_destroy(&inserted);
    micad_validator_destroy(&val);
    qry_match_destroy(match);
    micad_let_destroy(let);
    qry_sort_destroy(sort);
    qry_update_destroy(upd);
    micad_agg_update_destroy(pl);
    qry_projection_destroy(proj);
    micad_db_dup_key_reply(op, ret, st);
    return ret;
}
