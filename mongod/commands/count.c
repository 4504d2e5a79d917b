/*
 * count.c -- {count: "c", query, limit, skip, hint, maxTimeMS, ...}: how many
 * documents match. Without a query the collection's kept count answers at
 * once (the fast path; skip and limit still apply); otherwise the planner
 * picks a plan and the executor counts. Reply {n}.
 */
#include "mongod/cursors.h"
#include "mongod/views.h"

#include <string.h>

/*
 * micad_count_parse -- count's arguments into q (the explain command reuses
 * it). limit: negative means the same as positive, as MongoDB counts it.
 */
int micad_count_parse(const wire_opctx_t *op, const bson_t *cmd, micad_query_t *q, status_t *st)
{
    const char *C = "count";
    bson_iter_t it;
    ST_RET(micad_db_cmd_ns(op, cmd, q->ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bson_t d;
        if (strcmp(k, "query") == 0) {
            if (BSON_ITER_HOLDS_NULL(&it))
                continue;
            ST_RET(micad_db_arg_doc(&it, C, &d, st));
            bson_reinit(&q->filter);
            bson_concat(&q->filter, &d);
        } else if (strcmp(k, "limit") == 0) {
            int64_t l;
            ST_RET(micad_db_arg_int64(&it, C, &l, st));
            q->limit = l < 0 ? (l == INT64_MIN ? INT64_MAX : -l) : l;
        } else if (strcmp(k, "skip") == 0) {
            ST_RET(micad_db_arg_int64(&it, C, &q->skip, st));
            if (q->skip < 0)
                return status_set(st, 51024,
                                  "BSON field 'skip' value must be >= 0, actual value '%lld'",
                                  (long long)q->skip);
        } else if (strcmp(k, "hint") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it) && !BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_FailedToParse,
                                  "hint must be either a string or nested object");
            bson_value_copy(bson_iter_value(&it), &q->hint);
            q->has_hint = !(BSON_ITER_HOLDS_DOCUMENT(&it) && q->hint.value.v_doc.data_len <= 5) &&
                          !(BSON_ITER_HOLDS_UTF8(&it) && q->hint.value.v_utf8.len == 0);
            if (!q->has_hint)
                bson_value_destroy(&q->hint);
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "fields") == 0 || strcmp(k, "query") == 0 ||
                   strcmp(k, "maxTimeMS") == 0 || strcmp(k, "comment") == 0 ||
                   micad_db_is_generic_arg(k)) {
            continue;
        } else {
            return micad_db_unknown_field(C, k, st);
        }
    }
    return 0;
}

int micad_count_run(micad_exec_t *ex, const micad_query_t *q, int64_t deadline_us, int64_t *n,
                    status_t *st)
{
    int ret = 0;
    *n = 0;
    int64_t fast = q->has_hint ? -1 : micad_exec_count_fast(ex);
    if (fast >= 0) {
        int64_t c = fast - q->skip;
        if (c < 0)
            c = 0;
        if (q->limit > 0 && c > q->limit)
            c = q->limit;
        *n = c;
        micad_exec_set_counted(ex, c, q->skip < fast ? q->skip : fast, true);
        return 0;
    }
    ST_RET(micad_exec_begin_batch(ex, st));
    for (;;) {
        bson_t doc;
        bool eof = false;
        ST_ERR(micad_exec_next(ex, deadline_us, &doc, &eof, st));
        if (eof)
            break;
        bson_destroy(&doc);
        (*n)++;
    }
err:
    micad_exec_end_batch(ex);
    micad_exec_set_counted(ex, *n, -1, false); /* -1: the scan's own skip count */
    return ret;
}

/* micad_cmd_count -- the count command. */
int micad_cmd_count(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bool view_handled;
    int view_ret = micad_view_dispatch(op, cmd, reply, &view_handled, st);
    if (view_ret != 0 || view_handled)
        return view_ret;
    micad_query_t q;
    micad_exec_t *ex = NULL;
    int64_t n = 0;
    int ret = 0;
    micad_query_init(&q);
    ST_ERR(micad_count_parse(op, cmd, &q, st));
    ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
    ST_ERR(micad_count_run(ex, &q, op->deadline_us, &n, st));
    if (n <= INT32_MAX)
        BSON_APPEND_INT32(reply, "n", (int32_t)n);
    else
        BSON_APPEND_INT64(reply, "n", n);
err:
    micad_exec_destroy(ex);
    micad_query_destroy(&q);
    return ret;
}
