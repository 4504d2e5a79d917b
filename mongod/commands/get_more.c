/*
 * get_more.c -- {getMore: <cursor id>, collection: "c", batchSize, maxTimeMS}:
 * the next batch of a parked cursor. The executor resumes on this worker's
 * thread with its own storage session (cursors saved at the end of the last
 * batch are restored). Without batchSize a batch fills up to 16 MiB. An
 * awaitData cursor with nothing new waits up to maxTimeMS (default 1 s) for
 * documents to arrive. Reply: {cursor: {nextBatch: [...], id, ns}}; id 0
 * once exhausted.
 */
#include "mongod/cursors.h"

#include <string.h>
#include <unistd.h>

/* awaitData's wait without maxTimeMS (MongoDB's default for tailable awaitData getMores). */
#define AWAIT_DEFAULT_MS 1000
/* The longest an awaitData getMore sleeps between two looks for new documents; a commit
 * wakes it sooner (micad_db_wait_commit). */
#define AWAIT_POLL_US 10000

/* micad_cmd_get_more -- the getMore command. */
int micad_cmd_get_more(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    const char *C = "getMore";
    bson_iter_t it;
    int64_t id = 0, batch = -1;
    bool has_max_time = false;
    const char *coll = NULL;
    char ns[MICAD_NS_MAX + 1];

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (!BSON_ITER_HOLDS_INT64(&it) && !BSON_ITER_HOLDS_INT32(&it))
        return micad_db_type_error(&it, C, "long", st);
    id = bson_iter_as_int64(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "collection") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return micad_db_type_error(&it, C, "string", st);
            coll = bson_iter_utf8(&it, NULL);
        } else if (strcmp(k, "batchSize") == 0) {
            ST_RET(micad_db_arg_int64(&it, C, &batch, st));
            if (batch < 0)
                return status_set(st, 51024,
                                  "BSON field 'batchSize' value must be >= 0, actual value '%lld'",
                                  (long long)batch);
        } else if (strcmp(k, "maxTimeMS") == 0) {
            has_max_time = true;
        } else if (strcmp(k, "term") == 0 || strcmp(k, "lastKnownCommittedOpTime") == 0 ||
                   strcmp(k, "comment") == 0 || micad_db_is_generic_arg(k)) {
            continue;
        } else {
            return micad_db_unknown_field(C, k, st);
        }
    }
    if (coll == NULL)
        return status_set(st, 40414,
                          "BSON field 'getMore.collection' is missing but a required "
                          "field");
    if (strcmp(coll, "$cmd.aggregate") == 0) {
        /* a collectionless aggregate's cursor ({aggregate: 1}, mongod/agg.c) */
        ST_RET(micad_db_check_db_name(op->db, st));
        snprintf(ns, sizeof(ns), "%s.%s", op->db, coll);
    } else {
        ST_RET(micad_db_make_ns(op->db, coll, ns, st));
    }

    micad_cursor_t *c = NULL;
    ST_RET(micad_cursors_checkout(id, ns, op, &c, st));
    if (has_max_time && !c->await_data) {
        /* MongoDB refuses it before touching the cursor, which stays open. */
        micad_cursors_checkin(c);
        return status_set(st, ERR_BadValue,
                          "cannot set maxTimeMS on getMore command for a non-awaitData cursor");
    }
    int64_t max_docs = batch > 0 ? batch : c->batch_size;
    int64_t n = 0;
    int ret = 0;
    bson_t cur, arr;
    /* For awaitData cursors maxTimeMS is the wait, not a limit on the work. */
    int64_t deadline = c->await_data ? 0 : op->deadline_us;
    int64_t wait_until = 0;
    if (c->await_data)
        wait_until =
            time_mono_us() + (op->max_time_ms > 0 ? op->max_time_ms : AWAIT_DEFAULT_MS) * 1000;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cur);
    BSON_APPEND_ARRAY_BEGIN(&cur, "nextBatch", &arr);
    for (;;) {
        uint64_t seq = micad_db_commit_seq(); /* before the look: no commit is missed */
        ret = micad_batch_fill(c->exec, max_docs, deadline, &arr, &n, st);
        if (ret != 0 || n > 0 || !c->await_data || time_mono_us() >= wait_until ||
            (op->server != NULL && wire_server_stopping(op->server)))
            break;
        wire_worker_block_begin(); /* awaitData: the worker waits, another takes the queue */
        int64_t until = time_mono_us() + AWAIT_POLL_US;
        micad_db_wait_commit(seq, until < wait_until ? until : wait_until);
        wire_worker_block_end();
    }
    bson_append_array_end(&cur, &arr);
    if (ret != 0) {
        bson_append_document_end(reply, &cur);
        micad_cursors_release(c); /* an error kills the cursor, as in MongoDB */
        return ret;
    }
    c->n_returned += n;
    bool done = micad_exec_is_eof(c->exec);
    BSON_APPEND_INT64(&cur, "id", done ? 0 : id);
    BSON_APPEND_UTF8(&cur, "ns", ns);
    bson_append_document_end(reply, &cur);
    if (done)
        micad_cursors_release(c);
    else
        micad_cursors_checkin(c);
    return 0;
}
