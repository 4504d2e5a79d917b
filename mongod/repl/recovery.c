/*
 * recovery.c -- start-up recovery of a member whose storage runs in
 * replicated mode (a member's default; --setParameter replUnloggedTables=0 turns it off):
 * collections and indexes are unlogged, so after a restart (clean or not)
 * they hold what the last stable checkpoint held; the oplog, the catalog and
 * the local database are journaled and hold everything. Recovery sets the
 * stable and oldest timestamps to the checkpoint's and replays every oplog
 * entry after it through the applier in recovery mode (the entry is not
 * appended again; the writes take its timestamp), which is idempotent:
 *
 *   - the catalog is already at its newest state, so an entry written before
 *     a rename finds its collection under the later name (the renames after
 *     the checkpoint are collected first; rename entries themselves are
 *     no-ops), entries of a collection dropped later are skipped, and an
 *     index created after the checkpoint is built again when its entry
 *     replays;
 *   - with no stable checkpoint yet (timestamp 0) every entry replays.
 *
 * In standalone mode (a standalone, or replUnloggedTables=0) nothing happens here.
 */
#include "mongod/repl/repl_int.h"

#include <stdlib.h>
#include <string.h>

/* collect_renames -- the renameCollection entries after `after`, oldest first. */
static int collect_renames(stor_session_t *sess, uint64_t after, repl_rename_t **out, size_t *n,
                           status_t *st)
{
    stor_oplog_cursor_t *cur;
    size_t cap = 0;
    int ret = 0;
    *out = NULL;
    *n = 0;
    ST_RET(stor_oplog_cursor_open(sess, after + 1, &cur, st));
    for (;;) {
        uint64_t ts;
        bson_t e;
        bool eof;
        bson_iter_t it, o, f;
        ST_ERR(stor_oplog_cursor_next(cur, &ts, &e, &eof, st));
        if (eof)
            break;
        if (!bson_iter_init_find(&it, &e, "op") || !BSON_ITER_HOLDS_UTF8(&it) ||
            strcmp(bson_iter_utf8(&it, NULL), "c") != 0 || !bson_iter_init_find(&o, &e, "o") ||
            !BSON_ITER_HOLDS_DOCUMENT(&o) || !bson_iter_recurse(&o, &f) ||
            !bson_iter_find(&f, "renameCollection") || !BSON_ITER_HOLDS_UTF8(&f))
            continue;
        repl_rename_t r;
        memset(&r, 0, sizeof(r));
        r.ts = ts;
        snprintf(r.from, sizeof(r.from), "%s", bson_iter_utf8(&f, NULL));
        bson_iter_recurse(&o, &f);
        if (bson_iter_find(&f, "to") && BSON_ITER_HOLDS_UTF8(&f))
            snprintf(r.to, sizeof(r.to), "%s", bson_iter_utf8(&f, NULL));
        bson_iter_recurse(&o, &f);
        r.drop_target = bson_iter_find(&f, "dropTarget") &&
                        (BSON_ITER_HOLDS_BINARY(&f) || bson_iter_as_bool(&f));
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = realloc(*out, cap * sizeof(**out));
            INVARIANT(*out != NULL);
        }
        (*out)[(*n)++] = r;
    }
err:
    stor_oplog_cursor_close(cur);
    return ret;
}

/* repl__recover -- see repl_int.h. */
int repl__recover(micad_t *m, status_t *st)
{
    if (stor_engine_mode(m->engine) != STOR_MODE_REPLICATED)
        return 0;
    stor_session_t *sess;
    uint64_t rec = 0;
    ST_RET(stor_engine_get_ts(m->engine, "recovery", &rec, st));
    if (rec != 0) {
        ST_RET(stor_engine_set_stable_ts(m->engine, rec, st));
        ST_RET(stor_engine_set_oldest_ts(m->engine, rec, st));
    }
    ST_RET(micad_db_session(m, &sess, st));
    repl_rename_t *renames = NULL;
    size_t nrenames = 0;
    ST_RET(collect_renames(sess, rec, &renames, &nrenames, st));
    repl__apply_set_renames(renames, nrenames);
    /* Entries are copied out before applying: the applier uses this thread's session. */
    uint64_t from = rec + 1, last = rec;
    int64_t replayed = 0;
    int ret = 0;
    for (;;) {
        stor_oplog_cursor_t *cur;
        bson_t *batch[256];
        uint64_t tss[256];
        size_t n = 0;
        bool eof = false;
        ST_ERR(stor_oplog_cursor_open(sess, from, &cur, st));
        while (n < 256) {
            bson_t e;
            ret = stor_oplog_cursor_next(cur, &tss[n], &e, &eof, st);
            if (ret != 0 || eof)
                break;
            batch[n++] = bson_copy(&e);
        }
        stor_oplog_cursor_close(cur);
        for (size_t i = 0; i < n; i++) {
            if (ret == 0) {
                repl__oplog_recover_begin(batch[i], tss[i]);
                ret = repl__apply_entry(m, batch[i], st);
                repl__oplog_apply_end();
                if (ret == 0)
                    replayed++, last = tss[i];
            }
            bson_destroy(batch[i]);
        }
        if (ret != 0 || n == 0 || eof)
            break;
        from = last + 1;
    }
    if (ret == 0)
        LOG(INFO, REPL, 21371, "Recovered from the stable checkpoint by replaying the oplog",
            "stableTimestamp", BCON_INT64((int64_t)rec), "entriesReplayed", BCON_INT64(replayed),
            "lastReplayed", BCON_INT64((int64_t)last));
    else
        LOG(ERROR, REPL, 21372, "Replaying the oplog at start-up failed", "error",
            BCON_UTF8(st->msg));
err:
    repl__apply_set_renames(NULL, 0);
    free(renames);
    return ret;
}
