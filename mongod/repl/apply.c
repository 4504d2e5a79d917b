/*
 * apply.c -- applying one fetched oplog entry on a secondary, through the
 * write path (mongod/write.h) in applying mode: the entry itself is appended
 * to this node's oplog, at its own timestamp, in the same unit of work as the
 * change it describes, so a crash mid-batch leaves the oplog and the data
 * agreeing and fetching resumes after the last entry applied.
 *
 * Every entry is idempotent to apply (a restart may replay one): an insert
 * of an existing _id replaces it, an update or delete of a missing document
 * does nothing, a create of an existing collection or a drop of a missing one
 * does nothing. Entries are applied one at a time, in order (correctness
 * first; parallel application by document is future work).
 */
#include "mongod/repl/repl_int.h"
#include "mongod/write.h"

#include <string.h>

/* find_id -- the RecordId of coll's document whose _id equals id (*found). */
static int find_id(stor_session_t *sess, stor_collection_t *coll, const bson_iter_t *id,
                   int64_t *rid, bool *found, status_t *st)
{
    stor_index_t *idx;
    stor_index_cursor_t *cur = NULL;
    bson_t key = BSON_INITIALIZER;
    int ret = 0;
    *found = false;
    if (stor_index_lookup(coll, "_id_", &idx, st) != 0) {
        bson_destroy(&key);
        return st->code;
    }
    bson_append_iter(&key, "", 0, id);
    stor_index_bounds_t b = {&key, true, &key, true, true};
    ST_ERR(stor_index_cursor_open(sess, idx, &b, &cur, st));
    bool eof;
    ST_ERR(stor_index_cursor_next(cur, rid, NULL, &eof, st));
    *found = !eof;
err:
    stor_index_cursor_close(cur);
    bson_destroy(&key);
    return ret;
}

/* apply_diff -- a $v: 2 top-level diff {d, u, i} over doc into out (initialised here). */
static int apply_diff(const bson_t *doc, const bson_t *diff, bson_t *out, status_t *st)
{
    bson_iter_t it, sec;
    bson_t d = BSON_INITIALIZER, u = BSON_INITIALIZER, ins = BSON_INITIALIZER;
    bson_init(out);
    bson_iter_init(&it, diff);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bson_t view;
        const uint8_t *data;
        uint32_t len;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            goto bad;
        bson_iter_document(&it, &len, &data);
        bson_init_static(&view, data, len);
        if (strcmp(k, "d") == 0)
            bson_concat(&d, &view);
        else if (strcmp(k, "u") == 0)
            bson_concat(&u, &view);
        else if (strcmp(k, "i") == 0)
            bson_concat(&ins, &view);
        else
            goto bad; /* sub-diffs ("s<field>") are not produced by Mica primaries */
    }
    bson_iter_init(&it, doc);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (bson_iter_init_find(&sec, &d, k) || bson_iter_init_find(&sec, &ins, k))
            continue;
        if (bson_iter_init_find(&sec, &u, k))
            bson_append_iter(out, k, -1, &sec);
        else
            bson_append_iter(out, k, -1, &it);
    }
    bson_iter_init(&it, &ins);
    while (bson_iter_next(&it))
        bson_append_iter(out, bson_iter_key(&it), -1, &it);
    bson_destroy(&d);
    bson_destroy(&u);
    bson_destroy(&ins);
    return 0;
bad:
    bson_destroy(&d);
    bson_destroy(&u);
    bson_destroy(&ins);
    return status_set(st, ERR_BadValue, "unsupported update diff in an oplog entry");
}

typedef struct doc_job {
    stor_collection_t *coll;
    char op;
    bson_t o, o2;
} doc_job_t;

/* doc_fn -- one document entry, in its unit of work (re-runnable). */
static int doc_fn(stor_session_t *sess, void *arg, status_t *st)
{
    doc_job_t *j = arg;
    bson_iter_t id;
    int64_t rid;
    bool found = false;
    int ret = 0;
    repl__oplog_apply_reset();
    const bson_t *idsrc = j->op == 'u' ? &j->o2 : &j->o;
    if (!bson_iter_init_find(&id, idsrc, "_id"))
        return status_set(st, ERR_BadValue, "oplog entry without _id");
    ST_RET(find_id(sess, j->coll, &id, &rid, &found, st));
    if (j->op == 'i') {
        if (!found)
            return micad_write_insert(sess, j->coll, &j->o, NULL, st);
        bson_t old;
        bool f;
        ST_RET(stor_record_get(sess, j->coll, rid, &old, &f, st));
        ret = micad_write_update(sess, j->coll, rid, &old, &j->o, st);
        bson_destroy(&old);
        return ret;
    }
    if (!found) /* already gone or not there yet: nothing to change, the entry still counts */
        return repl__oplog_append_applied(sess, st);
    bson_t old;
    bool f;
    ST_RET(stor_record_get(sess, j->coll, rid, &old, &f, st));
    if (j->op == 'd') {
        ret = micad_write_delete(sess, j->coll, rid, &old, st);
    } else {
        bson_iter_t v, dv;
        bson_t after;
        if (bson_iter_init_find(&v, &j->o, "$v") && bson_iter_init_find(&dv, &j->o, "diff") &&
            BSON_ITER_HOLDS_DOCUMENT(&dv)) {
            bson_t diff;
            const uint8_t *data;
            uint32_t len;
            bson_iter_document(&dv, &len, &data);
            bson_init_static(&diff, data, len);
            ret = apply_diff(&old, &diff, &after, st);
        } else {
            /* a replacement: the stored _id stays first */
            bson_iter_t oid, it;
            bson_init(&after);
            if (bson_iter_init_find(&oid, &old, "_id"))
                bson_append_iter(&after, "_id", 3, &oid);
            bson_iter_init(&it, &j->o);
            while (bson_iter_next(&it))
                if (strcmp(bson_iter_key(&it), "_id") != 0)
                    bson_append_iter(&after, bson_iter_key(&it), -1, &it);
        }
        if (ret == 0)
            ret = micad_write_update(sess, j->coll, rid, &old, &after, st);
        bson_destroy(&after);
    }
    bson_destroy(&old);
    return ret;
}

static int append_fn(stor_session_t *sess, void *arg, status_t *st)
{
    (void)arg;
    repl__oplog_apply_reset();
    return repl__oplog_append_applied(sess, st);
}

/* sub_doc -- field k of e as a view (an empty document when absent). */
static void sub_doc(const bson_t *e, const char *k, bson_t *out)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (bson_iter_init_find(&it, e, k) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(out, data, len))
            return;
    }
    bson_init_static(out, (const uint8_t *)"\x05\x00\x00\x00\x00", 5);
}

/* apply_command -- catalog entries; a change already made is not an error. */
/* Start-up recovery (recovery.c): the renames after the recovery point. */
static const repl_rename_t *g_renames;
static size_t g_nrenames;

/* repl__apply_set_renames -- see repl_int.h (start-up only, before any other thread). */
void repl__apply_set_renames(const repl_rename_t *r, size_t n)
{
    g_renames = r;
    g_nrenames = n;
}

/*
 * later_name -- while recovering: ns as the renames after ts left it. The
 * catalog is journaled and so already at its newest state, while the data
 * replays from the stable checkpoint: an entry written before a rename finds
 * its collection under the later name.
 */
static void later_name(char *ns, size_t len, uint64_t ts)
{
    if (!repl__oplog_recovering())
        return;
    for (size_t i = 0; i < g_nrenames; i++) {
        if (g_renames[i].ts <= ts)
            continue;
        if (g_renames[i].drop_target && strcmp(ns, g_renames[i].to) == 0) {
            snprintf(ns, len, "%s", "local.$dropped"); /* gone with the rename's target */
            return;
        }
        if (strcmp(ns, g_renames[i].from) == 0)
            snprintf(ns, len, "%s", g_renames[i].to);
    }
}

static uint64_t t_entry_ts; /* the entry being applied (one applier thread at a time) */

static int apply_command(micad_t *m, stor_session_t *sess, const char *db, const bson_t *o,
                         const bson_t *o2, const uint8_t *ui, status_t *st)
{
    bson_iter_t it;
    char ns[MICAD_NS_MAX + 1], to[MICAD_NS_MAX + 1];
    stor_collection_t *coll = NULL;
    status_t ignored = STATUS_INIT;
    int ret = 0;
    if (!bson_iter_init(&it, o) || !bson_iter_next(&it))
        return status_set(st, ERR_BadValue, "empty command entry");
    const char *name = bson_iter_key(&it);
    const char *arg = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
    snprintf(ns, sizeof(ns), "%s.%s", db, arg);
    if (strcmp(name, "create") == 0 || strcmp(name, "drop") == 0)
        later_name(ns, sizeof(ns), t_entry_ts); /* recovering: one incarnation, one name */
    if (strcmp(name, "create") == 0) {
        bson_t opts = BSON_INITIALIZER;
        bson_iter_t f;
        bson_iter_init(&f, o);
        bson_iter_next(&f);
        while (bson_iter_next(&f))
            bson_append_iter(&opts, bson_iter_key(&f), -1, &f);
        micad_db_lock_ns(ns, true);
        /* the primary's UUID (the entry's ui), so every member names it alike */
        ret = micad_write_create_collection_uuid(sess, ns, &opts, ui, NULL, st);
        micad_db_unlock_ns(ns, true);
        bson_destroy(&opts);
        if (ret == ERR_NamespaceExists)
            status_reset(st), ret = 0;
    } else if (strcmp(name, "drop") == 0) {
        micad_db_lock_ns(ns, true);
        ret = micad_write_drop_collection(sess, ns, st);
        micad_db_unlock_ns(ns, true);
        if (ret == ERR_NamespaceNotFound)
            status_reset(st), ret = 0;
    } else if (strcmp(name, "renameCollection") == 0 && repl__oplog_recovering()) {
        /* the journaled catalog has every rename already; later_name maps the entries */
        ret = micad_db_run_uow(NULL, sess, append_fn, NULL, st);
    } else if (strcmp(name, "renameCollection") == 0) {
        bson_iter_t t, dt;
        if (!bson_iter_init_find(&t, o, "to") || !BSON_ITER_HOLDS_UTF8(&t))
            return status_set(st, ERR_BadValue, "renameCollection entry without 'to'");
        snprintf(ns, sizeof(ns), "%s", arg);
        snprintf(to, sizeof(to), "%s", bson_iter_utf8(&t, NULL));
        bool drop_target = bson_iter_init_find(&dt, o, "dropTarget") &&
                           (BSON_ITER_HOLDS_BINARY(&dt) || bson_iter_as_bool(&dt));
        micad_db_lock_ns_pair(ns, to);
        ret = micad_write_rename_collection(sess, ns, to, drop_target, st);
        micad_db_unlock_ns_pair(ns, to);
        if (ret == ERR_NamespaceNotFound)
            status_reset(st), ret = 0;
    } else if (strcmp(name, "createIndexes") == 0 || strcmp(name, "dropIndexes") == 0 ||
               strcmp(name, "collMod") == 0) {
        later_name(ns, sizeof(ns), t_entry_ts);
        micad_db_lock_ns(ns, true);
        if (stor_collection_lookup(m->engine, ns, &coll, &ignored) != 0) {
            micad_db_unlock_ns(ns, true);
            goto done; /* dropped later in the oplog: nothing to do */
        }
        if (strcmp(name, "createIndexes") == 0) {
            bson_t spec = BSON_INITIALIZER;
            bson_iter_t f;
            bson_iter_init(&f, o);
            bson_iter_next(&f);
            while (bson_iter_next(&f))
                bson_append_iter(&spec, bson_iter_key(&f), -1, &f);
            bson_iter_t nm;
            stor_index_t *have;
            /* Recovering: an index built after the stable checkpoint has its catalog row
             * (journaled) but not its entries (unlogged): build it again from the data as
             * replayed up to here; the entries replayed after it keep it up to date. */
            if (repl__oplog_recovering() && bson_iter_init_find(&nm, &spec, "name") &&
                BSON_ITER_HOLDS_UTF8(&nm) && strcmp(bson_iter_utf8(&nm, NULL), "_id_") != 0 &&
                stor_index_lookup(coll, bson_iter_utf8(&nm, NULL), &have, &ignored) == 0)
                ret = micad_write_drop_index(sess, coll, bson_iter_utf8(&nm, NULL), st);
            if (ret == 0)
                ret = micad_write_create_index(sess, coll, &spec, st);
            bson_destroy(&spec);
            if (ret == ERR_IndexAlreadyExists)
                status_reset(st), ret = 0;
        } else if (strcmp(name, "dropIndexes") == 0) {
            bson_iter_t ix;
            if (bson_iter_init_find(&ix, o, "index") && BSON_ITER_HOLDS_UTF8(&ix))
                ret = micad_write_drop_index(sess, coll, bson_iter_utf8(&ix, NULL), st);
            if (ret == ERR_IndexNotFound)
                status_reset(st), ret = 0;
        } else {
            /* collMod: merge the options over ours; index hidden / expireAfterSeconds */
            bson_t opts = BSON_INITIALIZER, spec = BSON_INITIALIZER;
            bson_iter_t f, cur;
            stor_index_t *idx = NULL;
            const bson_t *old = stor_collection_options(coll);
            if (old != NULL && bson_iter_init(&cur, old))
                while (bson_iter_next(&cur))
                    if (!bson_iter_init_find(&f, o, bson_iter_key(&cur)))
                        bson_append_iter(&opts, bson_iter_key(&cur), -1, &cur);
            bson_iter_init(&f, o);
            bson_iter_next(&f);
            while (bson_iter_next(&f))
                if (strcmp(bson_iter_key(&f), "index") != 0)
                    bson_append_iter(&opts, bson_iter_key(&f), -1, &f);
            bson_t ixdoc;
            sub_doc(o, "index", &ixdoc);
            bson_iter_t nm;
            if (bson_iter_init_find(&nm, &ixdoc, "name") && BSON_ITER_HOLDS_UTF8(&nm) &&
                stor_index_lookup(coll, bson_iter_utf8(&nm, NULL), &idx, &ignored) == 0) {
                bson_iter_t sp;
                bson_iter_init(&sp, stor_index_spec(idx));
                while (bson_iter_next(&sp)) {
                    const char *k = bson_iter_key(&sp);
                    if (strcmp(k, "hidden") != 0 && strcmp(k, "expireAfterSeconds") != 0)
                        bson_append_iter(&spec, k, -1, &sp);
                }
                bson_iter_t h;
                if (bson_iter_init_find(&h, &ixdoc, "hidden") && bson_iter_as_bool(&h))
                    BSON_APPEND_BOOL(&spec, "hidden", true);
                if (bson_iter_init_find(&h, &ixdoc, "expireAfterSeconds"))
                    bson_append_iter(&spec, "expireAfterSeconds", -1, &h);
            } else {
                idx = NULL;
            }
            ret = micad_write_coll_mod(sess, coll, &opts, idx, idx ? &spec : NULL, st);
            bson_destroy(&opts);
            bson_destroy(&spec);
        }
        micad_db_unlock_ns(ns, true);
    } else {
        return status_set(st, ERR_BadValue, "unsupported command in an oplog entry: %s", name);
    }
    (void)o2;
done:
    if (ret == 0 && !repl__oplog_apply_appended())
        ret = micad_db_run_uow(NULL, sess, append_fn, NULL, st);
    return ret;
}

/* repl__apply_entry -- see repl_int.h. */
int repl__apply_entry(micad_t *m, const bson_t *e, status_t *st)
{
    bson_iter_t it;
    uint32_t t, i;
    char op = 0;
    const char *ns = "";
    stor_session_t *sess;
    int ret = 0;
    if (!bson_iter_init_find(&it, e, "ts") || !BSON_ITER_HOLDS_TIMESTAMP(&it))
        return status_set(st, ERR_BadValue, "oplog entry without ts");
    bson_iter_timestamp(&it, &t, &i);
    uint64_t ts = repl_ts_make(t, i);
    if (bson_iter_init_find(&it, e, "op") && BSON_ITER_HOLDS_UTF8(&it))
        op = bson_iter_utf8(&it, NULL)[0];
    if (bson_iter_init_find(&it, e, "ns") && BSON_ITER_HOLDS_UTF8(&it))
        ns = bson_iter_utf8(&it, NULL);
    char later[MICAD_NS_MAX + 1];
    snprintf(later, sizeof(later), "%s", ns);
    later_name(later, sizeof(later), ts);
    if (op == 'i' || op == 'u' || op == 'd')
        ns = later;
    t_entry_ts = ts;
    ST_RET(micad_db_session(m, &sess, st));
    if (!repl__oplog_recovering())
        repl__oplog_apply_begin(e, ts);
    switch (op) {
    case 'n':
        ret = micad_db_run_uow(NULL, sess, append_fn, NULL, st);
        break;
    case 'i':
    case 'u':
    case 'd': {
        doc_job_t j;
        memset(&j, 0, sizeof(j));
        j.op = op;
        sub_doc(e, "o", &j.o);
        sub_doc(e, "o2", &j.o2);
        micad_db_lock_ns(ns, false);
        ret = micad_db_get_collection(m, ns, &j.coll, st);
        if (ret == 0)
            ret = micad_db_run_uow(NULL, sess, doc_fn, &j, st);
        else if (ret == ERR_NamespaceNotFound) /* dropped later in the oplog (a replay) */
            status_reset(st), ret = micad_db_run_uow(NULL, sess, append_fn, NULL, st);
        micad_db_unlock_ns(ns, false);
        break;
    }
    case 'c': {
        char db[128];
        const char *dot = strchr(ns, '.');
        snprintf(db, sizeof(db), "%.*s", dot ? (int)(dot - ns) : (int)strlen(ns), ns);
        bson_t o, o2;
        sub_doc(e, "o", &o);
        sub_doc(e, "o2", &o2);
        const uint8_t *ui = NULL;
        bson_iter_t u;
        if (bson_iter_init_find(&u, e, "ui") && BSON_ITER_HOLDS_BINARY(&u)) {
            bson_subtype_t sub;
            uint32_t len;
            const uint8_t *data;
            bson_iter_binary(&u, &sub, &len, &data);
            if (sub == BSON_SUBTYPE_UUID && len == 16)
                ui = data;
        }
        ret = apply_command(m, sess, db, &o, &o2, ui, st);
        break;
    }
    default:
        ret = status_set(st, ERR_BadValue, "unknown oplog entry op '%c'", op ? op : '?');
    }
    repl__oplog_apply_end();
    return ret;
}
