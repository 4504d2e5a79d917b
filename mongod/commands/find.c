/*
 * find.c -- {find: "c", filter, projection, sort, skip, limit, batchSize,
 * singleBatch, hint, min, max, returnKey, showRecordId, allowDiskUse,
 * tailable, awaitData, noCursorTimeout, maxTimeMS, comment, ...}.
 *
 * Plans and runs the query (mongod/exec.c), returns the first batch (101
 * documents by default, or batchSize, never past 16 MiB) and parks the rest
 * in the cursor manager under a new id. A missing collection is an empty
 * result. Reply: {cursor: {firstBatch: [...], id, ns}}.
 */
#include "mongod/cursors.h"
#include "mongod/views.h"
#include "mongod/repl/repl.h"

#include <string.h>

/* micad_cmd_find -- the find command. */
int micad_cmd_find(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bool view_handled;
    int view_ret = micad_view_dispatch(op, cmd, reply, &view_handled, st);
    if (view_ret != 0 || view_handled)
        return view_ret;
    micad_t *m = micad_of(op);
    micad_query_t q;
    micad_find_opts_t fo;
    micad_exec_t *ex = NULL;
    int ret = 0;
    micad_query_init(&q);
    ST_ERR(micad_query_parse_find(op, cmd, &q, &fo, st));
    ST_ERR(micad_query_natural_sort(&q, st));
    if (strcmp(q.ns, "local.oplog.rs") == 0) /* not a catalog collection: repl reads it */
        ST_ERR(repl_oplog_find(m, &q, &ex, st));
    else
        ST_ERR(micad_exec_create(m, op, &q, &ex, st));

    int64_t first = fo.batch_size >= 0 ? fo.batch_size : MICAD_FIRST_BATCH_DOCS;
    if (fo.single_batch && fo.batch_size < 0)
        first = 0; /* one batch: everything up to 16 MiB (and the limit) */
    bson_t cur, arr;
    int64_t n = 0;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cur);
    BSON_APPEND_ARRAY_BEGIN(&cur, "firstBatch", &arr);
    if (first > 0 || fo.batch_size != 0)
        ret = micad_batch_fill(ex, first, op->deadline_us, &arr, &n, st);
    bson_append_array_end(&cur, &arr);
    if (ret != 0) {
        bson_append_document_end(reply, &cur);
        goto err;
    }
    int64_t id = 0;
    if (!fo.single_batch && !micad_exec_is_eof(ex)) {
        micad_cursor_opts_t co = {
            .batch_size = 0,
            .tailable = q.tailable,
            .await_data = fo.await_data,
            .no_timeout = fo.no_cursor_timeout,
            .n_returned = n,
        };
        id = micad_cursors_add(ex, q.ns, op, &co);
        ex = NULL;
    }
    BSON_APPEND_INT64(&cur, "id", id);
    BSON_APPEND_UTF8(&cur, "ns", q.ns);
    bson_append_document_end(reply, &cur);
err:
    micad_exec_destroy(ex);
    micad_query_destroy(&q);
    return ret;
}
