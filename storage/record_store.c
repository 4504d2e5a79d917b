/*
 * record_store.c -- collections as WT tables RecordId (int64, 'q') -> BSON
 * ('u'). Every write also maintains the collection's indexes in the same
 * transaction and records a size delta that reaches the in-memory counters
 * only at commit. Cursors scan in RecordId order and survive yields by
 * remembering the last RecordId returned.
 */
#include "storage/storage_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* MongoDB's 16 MiB user document limit (plus room for its internal fields). */
#define STOR_MAX_DOC_BYTES (16 * 1024 * 1024 + 16 * 1024)

struct stor_cursor {
    stor_session_t *sess;
    stor_collection_t *coll;
    WT_CURSOR *c; /* NULL while saved */
    bool forward;
    bool started;
    bool seek_pending;
    int64_t seek_rid;
    bool have_last;
    int64_t last_rid;
};

static int check_coll(stor_collection_t *coll, status_t *st)
{
    if (coll == NULL || coll->dropped)
        return status_set(st, ERR_NamespaceNotFound, "collection was dropped");
    return 0;
}

/* index_all -- move rid from old_doc's keys to new_doc's (either NULL) in every index of coll;
 * a running build's indexes get side writes instead (under the catalog read lock). */
static int index_all(stor_session_t *sess, stor_collection_t *coll, const bson_t *old_doc,
                     const bson_t *new_doc, int64_t rid, status_t *st)
{
    int ret = 0;
    pthread_rwlock_rdlock(&sess->eng->cat_lock);
    for (stor_index_t *idx = coll->indexes; idx && ret == 0; idx = idx->next)
        ret = stor__index_update_doc(sess, idx, old_doc, new_doc, rid, st);
    for (stor_index_build_t *b = coll->builds; b && ret == 0; b = b->next)
        for (size_t i = 0; i < b->nidx && ret == 0; i++)
            ret = stor__build_side_write(sess, b->idx[i], old_doc, new_doc, rid, st);
    pthread_rwlock_unlock(&sess->eng->cat_lock);
    return ret;
}

/* read_record -- copy rid's value into out (initialised here) if present. */
static int read_record(stor_session_t *sess, stor_collection_t *coll, int64_t rid, bson_t *out,
                       bool *found, status_t *st)
{
    WT_CURSOR *c;
    *found = false;
    bson_init(out);
    ST_RET(stor__cursor_get(sess, coll->uri, &c, st));
    c->set_key(c, rid);
    int ret = 0, wret = c->search(c);
    WT_ITEM v;
    if (wret == 0)
        wret = c->get_value(c, &v);
    if (wret == 0) {
        bson_t view;
        if (bson_init_static(&view, v.data, v.size)) {
            bson_destroy(out);
            bson_copy_to(&view, out);
            *found = true;
        } else {
            ret = status_set(st, ERR_DataCorruptionDetected, "record %" PRId64 " of %s is not BSON",
                             rid, coll->ns);
        }
    } else if (wret != WT_NOTFOUND) {
        ret = stor__wt_status(st, wret, "record search");
    }
    stor__cursor_put(sess, c);
    return ret;
}

static int write_record(stor_session_t *sess, stor_collection_t *coll, int64_t rid,
                        const bson_t *doc, status_t *st)
{
    WT_CURSOR *c;
    ST_RET(stor__cursor_get(sess, coll->uri, &c, st));
    WT_ITEM v = {.data = bson_get_data(doc), .size = doc->len};
    c->set_key(c, rid);
    c->set_value(c, &v);
    int ret = c->insert(c);
    stor__cursor_put(sess, c);
    return stor__wt_status(st, ret, "record write");
}

static int check_doc(const bson_t *doc, status_t *st)
{
    if (doc == NULL)
        return status_set(st, ERR_BadValue, "no document");
    if (doc->len > STOR_MAX_DOC_BYTES)
        return status_set(st, ERR_BSONObjectTooLarge,
                          "object to insert too large. size in bytes: %u, max size: %d", doc->len,
                          16 * 1024 * 1024);
    return 0;
}

/* stor_record_insert -- record, index entries and size delta in one transaction. */
int stor_record_insert(stor_session_t *sess, stor_collection_t *coll, const bson_t *doc,
                       int64_t *rid_out, status_t *st)
{
    ST_RET(check_coll(coll, st));
    ST_RET(check_doc(doc, st));
    bool implicit;
    ST_RET(stor__uow_enter(sess, &implicit, st));
    int64_t rid = atomic_fetch_add(&coll->next_rid, 1);
    int ret = write_record(sess, coll, rid, doc, st);
    if (ret == 0)
        ret = index_all(sess, coll, NULL, doc, rid, st);
    if (ret == 0)
        ret = stor__uow_add_delta(&sess->uow, coll, 1, doc->len, st);
    ret = stor__uow_leave(sess, implicit, ret, st);
    if (ret == 0 && rid_out)
        *rid_out = rid;
    return ret;
}

/* stor_record_update -- only index keys that changed move, same transaction. */
int stor_record_update(stor_session_t *sess, stor_collection_t *coll, int64_t rid,
                       const bson_t *doc, status_t *st)
{
    ST_RET(check_coll(coll, st));
    ST_RET(check_doc(doc, st));
    bool implicit, found;
    ST_RET(stor__uow_enter(sess, &implicit, st));
    bson_t old;
    int ret = read_record(sess, coll, rid, &old, &found, st);
    if (ret == 0 && !found)
        ret = status_set(st, ERR_NoSuchKey, "record %" PRId64 " not found", rid);
    if (ret == 0)
        ret = write_record(sess, coll, rid, doc, st);
    if (ret == 0)
        ret = index_all(sess, coll, &old, doc, rid, st);
    if (ret == 0)
        ret = stor__uow_add_delta(&sess->uow, coll, 0, (int64_t)doc->len - (int64_t)old.len, st);
    bson_destroy(&old);
    return stor__uow_leave(sess, implicit, ret, st);
}

/* stor_record_delete -- the record and its index entries. */
int stor_record_delete(stor_session_t *sess, stor_collection_t *coll, int64_t rid, status_t *st)
{
    ST_RET(check_coll(coll, st));
    bool implicit, found;
    ST_RET(stor__uow_enter(sess, &implicit, st));
    bson_t old;
    int ret = read_record(sess, coll, rid, &old, &found, st);
    if (ret == 0 && !found)
        ret = status_set(st, ERR_NoSuchKey, "record %" PRId64 " not found", rid);
    if (ret == 0)
        ret = index_all(sess, coll, &old, NULL, rid, st);
    if (ret == 0) {
        WT_CURSOR *c;
        ret = stor__cursor_get(sess, coll->uri, &c, st);
        if (ret == 0) {
            c->set_key(c, rid);
            ret = stor__wt_status(st, c->remove(c), "record remove");
            stor__cursor_put(sess, c);
        }
    }
    if (ret == 0)
        ret = stor__uow_add_delta(&sess->uow, coll, -1, -(int64_t)old.len, st);
    bson_destroy(&old);
    return stor__uow_leave(sess, implicit, ret, st);
}

/* stor_record_get -- a copy the caller owns. */
int stor_record_get(stor_session_t *sess, stor_collection_t *coll, int64_t rid, bson_t *out,
                    bool *found, status_t *st)
{
    *found = false;
    if (check_coll(coll, st) != 0) {
        bson_init(out);
        return st->code;
    }
    return read_record(sess, coll, rid, out, found, st);
}

/* stor_cursor_open -- positions lazily on the first next. */
int stor_cursor_open(stor_session_t *sess, stor_collection_t *coll, bool forward,
                     stor_cursor_t **out, status_t *st)
{
    *out = NULL;
    ST_RET(check_coll(coll, st));
    stor_cursor_t *cur = calloc(1, sizeof(*cur));
    INVARIANT(cur != NULL);
    cur->sess = sess;
    cur->coll = coll;
    cur->forward = forward;
    int ret = stor__cursor_get(sess, coll->uri, &cur->c, st);
    if (ret != 0) {
        free(cur);
        return ret;
    }
    *out = cur;
    return 0;
}

/* seek_near -- position on the first record at/after (forward) or at/before rid. */
static int seek_near(stor_cursor_t *cur, int64_t rid)
{
    WT_CURSOR *c = cur->c;
    int exact;
    c->set_key(c, rid);
    int ret = c->search_near(c, &exact);
    if (ret != 0)
        return ret;
    if (cur->forward && exact < 0)
        return c->next(c);
    if (!cur->forward && exact > 0)
        return c->prev(c);
    return 0;
}

/* stor_cursor_next -- the doc is a view into WT's memory until the next call. */
int stor_cursor_next(stor_cursor_t *cur, int64_t *rid, bson_t *doc, bool *eof, status_t *st)
{
    *eof = false;
    if (cur->c == NULL)
        return status_set(st, ERR_IllegalOperation, "cursor is saved; restore it first");
    if (cur->coll->dropped)
        return status_set(st, ERR_QueryPlanKilled, "collection dropped during the scan");
    WT_CURSOR *c = cur->c;
    int ret;
    if (cur->seek_pending) {
        cur->seek_pending = false;
        ret = seek_near(cur, cur->seek_rid);
    } else {
        ret = cur->forward ? c->next(c) : c->prev(c);
    }
    cur->started = true;
    if (ret == WT_NOTFOUND) {
        *eof = true;
        /* Stay at the end: a later next after inserts continues from the last rid. */
        if (cur->have_last) {
            cur->seek_pending = true;
            cur->seek_rid = cur->forward ? cur->last_rid + 1 : cur->last_rid - 1;
        }
        c->reset(c);
        return 0;
    }
    if (ret != 0)
        return stor__wt_status(st, ret, "cursor next");
    WT_ITEM v;
    int64_t k;
    if ((ret = c->get_key(c, &k)) != 0 || (ret = c->get_value(c, &v)) != 0)
        return stor__wt_status(st, ret, "cursor read");
    if (!bson_init_static(doc, v.data, v.size))
        return status_set(st, ERR_DataCorruptionDetected, "record %" PRId64 " is not BSON", k);
    *rid = k;
    cur->have_last = true;
    cur->last_rid = k;
    return 0;
}

/* stor_cursor_seek -- the next call returns the first record at/after (before) rid. */
int stor_cursor_seek(stor_cursor_t *cur, int64_t rid, status_t *st)
{
    cur->seek_pending = true;
    cur->seek_rid = rid;
    return 0;
}

/* stor_cursor_save -- give the WT cursor back so the yield pins nothing. */
int stor_cursor_save(stor_cursor_t *cur, status_t *st)
{
    if (cur->c == NULL)
        return 0;
    stor__cursor_put(cur->sess, cur->c);
    cur->c = NULL;
    if (cur->have_last && !cur->seek_pending) {
        cur->seek_pending = true;
        cur->seek_rid = cur->forward ? cur->last_rid + 1 : cur->last_rid - 1;
    }
    return 0;
}

/* stor_cursor_restore -- re-acquire; the pending seek skips a record deleted meanwhile. */
int stor_cursor_restore(stor_cursor_t *cur, status_t *st)
{
    if (cur->c != NULL)
        return 0;
    if (cur->coll->dropped)
        return status_set(st, ERR_QueryPlanKilled, "collection dropped during the scan");
    return stor__cursor_get(cur->sess, cur->coll->uri, &cur->c, st);
}

/* stor_cursor_close -- NULL-safe. */
void stor_cursor_close(stor_cursor_t *cur)
{
    if (cur == NULL)
        return;
    if (cur->c != NULL)
        stor__cursor_put(cur->sess, cur->c);
    free(cur);
}
