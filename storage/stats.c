/*
 * stats.c -- what collMod, collStats/dbStats and validate need from storage:
 * changing a collection's options or an index's spec in the catalog, the
 * on-disk size of a collection's and an index's WT file, and a consistency
 * check of an index against its collection (every entry points at a record
 * whose keys produce it; every record has an entry for each of its keys).
 */
#include "storage/storage_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* be64 -- the big-endian RecordId a unique index entry's value starts with. */
static int64_t be64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | p[i];
    return (int64_t)u;
}

/* catalog_change -- write coll's catalog row in a transaction of its own. */
static int catalog_change(stor_session_t *sess, stor_collection_t *coll, status_t *st)
{
    bool implicit;
    ST_RET(stor__uow_enter(sess, &implicit, st));
    int ret = stor__catalog_write(sess, coll, st);
    return stor__uow_leave(sess, implicit, ret, st);
}

/*
 * stor_collection_set_options -- replace coll's options and persist them. The
 * caller keeps writers out (they read the options without the catalog lock).
 */
int stor_collection_set_options(stor_session_t *sess, stor_collection_t *coll,
                                const bson_t *options, status_t *st)
{
    if (coll == NULL || coll->dropped)
        return status_set(st, ERR_NamespaceNotFound, "collection was dropped");
    if (sess->uow.active)
        return status_set(st, ERR_OperationNotSupportedInTransaction,
                          "catalog changes cannot run inside a unit of work");
    stor_engine_t *eng = sess->eng;
    bson_t old;
    pthread_rwlock_wrlock(&eng->cat_lock);
    bson_steal(&old, &coll->options);
    bson_copy_to(options, &coll->options);
    int ret = catalog_change(sess, coll, st);
    if (ret != 0) { /* the row did not change: neither does memory */
        bson_destroy(&coll->options);
        bson_steal(&coll->options, &old);
    } else {
        bson_destroy(&old);
    }
    pthread_rwlock_unlock(&eng->cat_lock);
    return ret;
}

/* same_field -- whether a and b agree on field (both absent counts as agreeing). */
static bool same_field(const bson_t *a, const bson_t *b, const char *field)
{
    bson_iter_t ia, ib;
    bool ha = bson_iter_init_find(&ia, a, field);
    bool hb = bson_iter_init_find(&ib, b, field);
    if (ha != hb)
        return false;
    return !ha || bsonu_equal_iter(&ia, &ib);
}

/*
 * stor_index_set_spec -- replace idx's spec with one that differs only in
 * options storage does not act on (hidden, expireAfterSeconds): key, name,
 * unique, sparse and partialFilterExpression must stay (BadValue otherwise).
 */
int stor_index_set_spec(stor_session_t *sess, stor_index_t *idx, const bson_t *spec, status_t *st)
{
    if (idx == NULL || idx->dropped || idx->coll->dropped)
        return status_set(st, ERR_NamespaceNotFound, "index or collection was dropped");
    if (sess->uow.active)
        return status_set(st, ERR_OperationNotSupportedInTransaction,
                          "catalog changes cannot run inside a unit of work");
    static const char *const fixed[] = {"key", "name", "unique", "sparse",
                                        "partialFilterExpression"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (!same_field(&idx->spec, spec, fixed[i]))
            return status_set(st, ERR_BadValue, "index spec change may not alter '%s'", fixed[i]);
    stor_engine_t *eng = sess->eng;
    bson_t old;
    pthread_rwlock_wrlock(&eng->cat_lock);
    bson_steal(&old, &idx->spec);
    bson_copy_to(spec, &idx->spec);
    int ret = catalog_change(sess, idx->coll, st);
    if (ret != 0) {
        bson_destroy(&idx->spec);
        bson_steal(&idx->spec, &old);
    } else {
        bson_destroy(&old);
    }
    pthread_rwlock_unlock(&eng->cat_lock);
    return ret;
}

/* file_size -- bytes of the WT file behind a "table:<ident>" (0 if not there yet). */
static int64_t file_size(const stor_engine_t *eng, const char *ident)
{
    char path[4096];
    struct stat sb;
    int n = snprintf(path, sizeof(path), "%s/%s.wt", eng->dbpath, ident);
    if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &sb) != 0)
        return 0;
    return (int64_t)sb.st_size;
}

/* stor_collection_storage_size -- bytes of coll's record file on disk. */
int64_t stor_collection_storage_size(const stor_collection_t *coll)
{
    return file_size(coll->eng, coll->ident);
}

/* stor_oplog_storage_size -- bytes of the oplog's file on disk. */
int64_t stor_oplog_storage_size(const stor_engine_t *eng)
{
    return file_size(eng, &STOR_OPLOG_URI[sizeof("table:") - 1]);
}

/* stor_oplog_count / stor_oplog_max_bytes -- entries held (counters) and the cap. */
int64_t stor_oplog_count(const stor_engine_t *eng)
{
    return atomic_load(&((stor_engine_t *)eng)->op_count);
}

int64_t stor_oplog_max_bytes(const stor_engine_t *eng)
{
    return eng->opts.oplog_max_bytes;
}

/* stor_index_storage_size -- bytes of idx's file on disk. */
int64_t stor_index_storage_size(const stor_index_t *idx)
{
    return file_size(idx->coll->eng, idx->ident);
}

/* reuse_bytes -- WiredTiger's "file bytes available for reuse" of uri (-1: unknown). */
static int64_t reuse_bytes(WT_SESSION *wt, const char *uri)
{
    char suri[STOR_URI_MAX + 16];
    WT_CURSOR *c;
    int64_t v = -1;
    (void)snprintf(suri, sizeof(suri), "statistics:%s", uri);
    if (wt->open_cursor(wt, suri, NULL, NULL, &c) != 0) /* the engine's statistics setting */
        return -1;
    c->set_key(c, WT_STAT_DSRC_BLOCK_REUSE_BYTES);
    if (c->search(c) == 0) {
        const char *desc, *pvalue;
        int64_t value;
        if (c->get_value(c, &desc, &pvalue, &value) == 0)
            v = value;
    }
    c->close(c);
    return v;
}

/* stor_collection_compact -- see storage.h. */
int stor_collection_compact(stor_collection_t *coll, int64_t free_space_target,
                            int64_t *bytes_freed, status_t *st)
{
    stor_engine_t *eng = coll->eng;
    char(*uris)[STOR_URI_MAX] = NULL;
    char(*idents)[STOR_IDENT_MAX] = NULL;
    size_t n = 1, k = 0;
    int64_t before = 0, after = 0;
    WT_SESSION *wt = NULL;
    int ret = 0;

    *bytes_freed = 0;
    pthread_rwlock_rdlock(&eng->cat_lock);
    for (stor_index_t *idx = coll->indexes; idx != NULL; idx = idx->next)
        n++;
    uris = calloc(n, sizeof(*uris));
    idents = calloc(n, sizeof(*idents));
    INVARIANT(uris != NULL && idents != NULL);
    (void)snprintf(uris[k], STOR_URI_MAX, "%s", coll->uri);
    (void)snprintf(idents[k++], STOR_IDENT_MAX, "%s", coll->ident);
    for (stor_index_t *idx = coll->indexes; idx != NULL && k < n; idx = idx->next) {
        if (idx->building || idx->dropped)
            continue;
        (void)snprintf(uris[k], STOR_URI_MAX, "%s", idx->uri);
        (void)snprintf(idents[k++], STOR_IDENT_MAX, "%s", idx->ident);
    }
    pthread_rwlock_unlock(&eng->cat_lock);

    for (size_t i = 0; i < k; i++)
        before += file_size(eng, idents[i]);
    /* the deletes' pages are free for reuse only once a checkpoint no longer needs them */
    ret = stor_engine_checkpoint(eng, st);
    if (ret == 0) {
        int wret = eng->conn->open_session(eng->conn, NULL, NULL, &wt);
        if (wret != 0)
            ret = stor__wt_status(st, wret, "open_session");
    }
    for (size_t i = 0; ret == 0 && i < k; i++) {
        if (free_space_target > 0) {
            int64_t avail = reuse_bytes(wt, uris[i]);
            if (avail >= 0 && avail < free_space_target)
                continue;
        }
        int wret = wt->compact(wt, uris[i], NULL);
        if (wret != 0)
            ret = stor__wt_status(st, wret, "compact");
    }
    if (wt != NULL)
        wt->close(wt, NULL);
    if (ret == 0) {
        for (size_t i = 0; i < k; i++)
            after += file_size(eng, idents[i]);
        *bytes_freed = before > after ? before - after : 0;
    }
    free(uris);
    free(idents);
    return ret;
}

/* exists_visit -- any leaf at all means the field is present. */
static int exists_visit(void *ctx, const bsonu_path_leaf_t *leaf)
{
    (void)ctx;
    (void)leaf;
    return 1;
}

/* indexed -- the rule index.c applies: partial filter, then sparse presence. */
static bool indexed(stor_engine_t *eng, stor_index_t *idx, const bson_t *doc)
{
    if (idx->partial && !eng->opts.matcher_ops.matches(idx->matcher, doc))
        return false;
    if (!idx->sparse)
        return true;
    bson_iter_t it;
    bson_iter_init(&it, &idx->key_pattern);
    while (bson_iter_next(&it))
        if (bsonu_path_walk(doc, bson_iter_key(&it), 0, exists_visit, NULL) != 0)
            return true;
    return false;
}

/* note -- count one problem and keep the first message. */
static void note(stor_index_validation_t *res, int64_t *counter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(stor_index_validation_t *res, int64_t *counter, const char *fmt, ...)
{
    (*counter)++;
    if (res->first_error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(res->first_error, sizeof(res->first_error), fmt, ap);
    va_end(ap);
}

/* expected_keys -- the entry keys (KeyString, + RecordId when non-unique) of doc, in ks[]. */
static int expected_keys(stor_session_t *sess, stor_index_t *idx, const bson_t *doc, int64_t rid,
                         bsonu_index_keys_t *keys, stor_ks_t **ks, status_t *st)
{
    *ks = NULL;
    bsonu_index_keys_init(keys);
    if (!indexed(sess->eng, idx, doc))
        return 0;
    ST_RET(stor__index_keys(idx, doc, keys, NULL, st));
    if (keys->n == 0)
        return 0;
    *ks = calloc(keys->n, sizeof(stor_ks_t));
    INVARIANT(*ks != NULL);
    for (size_t i = 0; i < keys->n; i++) {
        stor_ks_init(&(*ks)[i]);
        ST_RET(stor_ks_build(&(*ks)[i], &keys->keys[i], idx->desc_mask, STOR_KS_END, st));
        if (!idx->unique)
            ST_RET(stor_ks_append_record_id(&(*ks)[i], rid, st));
    }
    return 0;
}

static void free_keys(bsonu_index_keys_t *keys, stor_ks_t *ks)
{
    for (size_t i = 0; ks != NULL && i < keys->n; i++)
        stor_ks_destroy(&ks[i]);
    free(ks);
    bsonu_index_keys_destroy(keys);
}

/* entries_pass -- every index entry must point at a record whose keys include it. */
static int entries_pass(stor_session_t *sess, stor_index_t *idx, WT_CURSOR *ic, WT_CURSOR *rc,
                        stor_index_validation_t *res, status_t *st)
{
    int wret, ret = 0;
    while (ret == 0 && (wret = ic->next(ic)) == 0) {
        WT_ITEM k, v;
        if ((wret = ic->get_key(ic, &k)) != 0 || (wret = ic->get_value(ic, &v)) != 0)
            return stor__wt_status(st, wret, "validate: index entry");
        res->nkeys++;
        int64_t rid = 0;
        if (idx->unique) {
            if (v.size < 8) {
                note(res, &res->bad_entries, "index %s has an entry without a RecordId", idx->name);
                continue;
            }
            rid = be64(v.data);
        } else if (stor_ks_record_id(k.data, k.size, &rid, st) != 0) {
            status_reset(st);
            note(res, &res->bad_entries, "index %s has an entry without a RecordId", idx->name);
            continue;
        }
        rc->set_key(rc, rid);
        wret = rc->search(rc);
        if (wret == WT_NOTFOUND) {
            note(res, &res->bad_entries,
                 "index %s has an entry for RecordId %" PRId64 " which does not exist", idx->name,
                 rid);
            continue;
        }
        WT_ITEM d;
        if (wret != 0 || (wret = rc->get_value(rc, &d)) != 0)
            return stor__wt_status(st, wret, "validate: record lookup");
        bson_t doc;
        if (!bson_init_static(&doc, d.data, d.size)) {
            note(res, &res->bad_entries,
                 "index %s points at RecordId %" PRId64 " which is not BSON", idx->name, rid);
            continue;
        }
        bsonu_index_keys_t keys;
        stor_ks_t *ks = NULL;
        ret = expected_keys(sess, idx, &doc, rid, &keys, &ks, st);
        bool found = false;
        for (size_t i = 0; ret == 0 && i < keys.n && !found; i++)
            found = stor_ks_compare(ks[i].key, ks[i].key_len, k.data, k.size) == 0;
        free_keys(&keys, ks);
        if (ret != 0) { /* a document whose keys cannot be computed is itself the problem */
            note(res, &res->bad_entries, "RecordId %" PRId64 ": %s", rid, st->msg);
            status_reset(st);
            ret = 0;
        } else if (!found) {
            note(res, &res->bad_entries,
                 "index %s has an entry for RecordId %" PRId64
                 " that its document does not produce",
                 idx->name, rid);
        }
    }
    if (ret == 0 && wret != WT_NOTFOUND)
        ret = stor__wt_status(st, wret, "validate: index scan");
    return ret;
}

/* records_pass -- every key of every record must have its entry (pointing back, if unique). */
static int records_pass(stor_session_t *sess, stor_index_t *idx, WT_CURSOR *ic, WT_CURSOR *rc,
                        stor_index_validation_t *res, status_t *st)
{
    int wret, ret = 0;
    while (ret == 0 && (wret = rc->next(rc)) == 0) {
        int64_t rid;
        WT_ITEM d;
        if ((wret = rc->get_key(rc, &rid)) != 0 || (wret = rc->get_value(rc, &d)) != 0)
            return stor__wt_status(st, wret, "validate: record");
        res->nrecords++;
        bson_t doc;
        if (!bson_init_static(&doc, d.data, d.size))
            continue; /* the collection check reports it */
        bsonu_index_keys_t keys;
        stor_ks_t *ks = NULL;
        if (expected_keys(sess, idx, &doc, rid, &keys, &ks, st) != 0) {
            /* keys that cannot be computed: the entries pass reports such documents */
            status_reset(st);
            free_keys(&keys, ks);
            continue;
        }
        for (size_t i = 0; ret == 0 && i < keys.n; i++) {
            WT_ITEM k = {.data = ks[i].key, .size = ks[i].key_len};
            ic->set_key(ic, &k);
            wret = ic->search(ic);
            bool ok = wret == 0;
            if (wret == 0 && idx->unique) {
                WT_ITEM v;
                ok = ic->get_value(ic, &v) == 0 && v.size >= 8 && be64(v.data) == rid;
            } else if (wret != 0 && wret != WT_NOTFOUND) {
                ret = stor__wt_status(st, wret, "validate: index lookup");
                break;
            }
            if (!ok)
                note(res, &res->missing_keys,
                     "index %s lacks an entry for RecordId %" PRId64 " (key %zu of %zu)", idx->name,
                     rid, i + 1, keys.n);
        }
        free_keys(&keys, ks);
        wret = 0;
    }
    if (ret == 0 && wret != WT_NOTFOUND)
        ret = stor__wt_status(st, wret, "validate: record scan");
    return ret;
}

/*
 * stor_index_validate -- check idx against its collection in one snapshot:
 * entries pointing at missing records or at records that do not produce
 * them (bad_entries), record keys without an entry (missing_keys). Read only.
 */
int stor_index_validate(stor_session_t *sess, stor_index_t *idx, stor_index_validation_t *res,
                        status_t *st)
{
    memset(res, 0, sizeof(*res));
    if (idx == NULL || idx->dropped || idx->coll->dropped)
        return status_set(st, ERR_NamespaceNotFound, "index or collection was dropped");
    bool implicit;
    ST_RET(stor__uow_enter(sess, &implicit, st));
    WT_CURSOR *ic = NULL, *rc = NULL;
    int ret = stor__cursor_get(sess, idx->uri, &ic, st);
    if (ret == 0)
        ret = stor__cursor_get(sess, idx->coll->uri, &rc, st);
    if (ret == 0)
        ret = entries_pass(sess, idx, ic, rc, res, st);
    if (ret == 0) {
        rc->reset(rc);
        ret = records_pass(sess, idx, ic, rc, res, st);
    }
    stor__cursor_put(sess, ic);
    stor__cursor_put(sess, rc);
    if (implicit) /* read only: nothing to commit */
        stor_uow_abort(&sess->uow);
    return ret;
}
