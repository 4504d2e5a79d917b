/*
 * index_build.c -- online ("hybrid") index builds, as MongoDB's since 4.2: the
 * indexes fill from a collection scan while writers go on; what the writers
 * change meanwhile goes to a side-writes table that the build drains into the
 * indexes, the last time with writers kept out, before the catalog names them.
 * README.md ("Index builds") tells the story and why it is correct.
 *
 *   side-writes table:  key = sequence (int64)
 *                       value = op ('i' insert / 'd' delete) | slot (1 byte) |
 *                               RecordId (8, BE) | the key as BSON {"": v, ...}
 *
 * A writer appends entries in its own transaction (stor__build_side_write), so
 * an aborted write leaves none. The drain reads what is committed, applies it
 * and removes it in one transaction per batch; an entry still uncommitted is
 * simply seen by a later drain. Applying is idempotent per record (an insert of
 * a key present is a no-op, a delete of a key absent too), and the entries of
 * one record are in commit order (WiredTiger serialises writers of a record),
 * so whatever state of a record the scan saw, the entries after it lead to the
 * record's last state.
 *
 * Unique indexes: during the build two records may hold one key for a while
 * (writers do not check an index that is not ready). Such a clash is recorded
 * (stor__build_note_dup) and the first holder keeps the entry; the commit, with
 * writers kept out and every side write applied, re-checks each recorded clash:
 * still a clash -> DuplicateKey 11000 and the build fails; else the entry is
 * put right.
 */
#include "storage/storage_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Records (scan) or side writes (drain) per transaction: bounds the dirty data one
 * transaction pins in cache, and is how often killOp and currentOp are served. */
#define STOR_BUILD_BATCH 1000
/* Log the scan's progress every this many records (MongoDB's progress meter logs by time). */
#define STOR_BUILD_PROGRESS_EVERY 100000

static stor_work_hook_fn g_work_hook; /* set once at start-up (stor_set_work_hook) */

/* stor_set_work_hook -- see storage.h. */
void stor_set_work_hook(stor_work_hook_fn fn)
{
    g_work_hook = fn;
}

static int hook(const char *what, int64_t done, int64_t total, status_t *st)
{
    return g_work_hook != NULL ? g_work_hook(what, done, total, st) : 0;
}

/* side_append -- one entry at the build's next sequence number. */
static int side_append(stor_session_t *sess, stor_index_t *idx, WT_CURSOR *c, char op,
                       const bson_t *key, int64_t rid, status_t *st)
{
    size_t len = 10 + key->len;
    uint8_t *val = malloc(len);
    INVARIANT(val != NULL);
    val[0] = (uint8_t)op;
    val[1] = (uint8_t)idx->build_slot;
    stor__put_rid(val + 2, rid);
    memcpy(val + 10, bson_get_data(key), key->len);
    WT_ITEM v = {.data = val, .size = len};
    c->set_key(c, atomic_fetch_add(&idx->build->side_seq, 1));
    c->set_value(c, &v);
    int ret = stor__wt_status(st, c->insert(c), "side write");
    free(val);
    (void)sess;
    return ret;
}

/* stor__build_side_write -- the keys that differ between old_doc and new_doc, as entries. */
int stor__build_side_write(stor_session_t *sess, stor_index_t *idx, const bson_t *old_doc,
                           const bson_t *new_doc, int64_t rid, status_t *st)
{
    bsonu_index_keys_t ko, kn;
    int ret = stor__index_doc_keys(sess, idx, old_doc, false, &ko, st);
    bsonu_index_keys_init(&kn);
    if (ret == 0) /* notes multikey paths: published in idx at this writer's commit */
        ret = stor__index_doc_keys(sess, idx, new_doc, true, &kn, st);
    WT_CURSOR *c = NULL;
    if (ret == 0 && ko.n + kn.n > 0)
        ret = stor__cursor_get(sess, idx->build->side_uri, &c, st);
    size_t i = 0, j = 0;
    while (ret == 0 && c != NULL && (i < ko.n || j < kn.n)) {
        int cmp = i >= ko.n ? 1 : j >= kn.n ? -1 : bsonu_compare_doc(&ko.keys[i], &kn.keys[j]);
        if (cmp == 0 && bson_equal(&ko.keys[i], &kn.keys[j])) {
            i++;
            j++;
        } else if (cmp == 0) { /* same key, other bytes (1 vs 1.0): rewrite for the type bits */
            ret = side_append(sess, idx, c, 'd', &ko.keys[i++], rid, st);
            if (ret == 0)
                ret = side_append(sess, idx, c, 'i', &kn.keys[j++], rid, st);
        } else if (cmp < 0) {
            ret = side_append(sess, idx, c, 'd', &ko.keys[i++], rid, st);
        } else {
            ret = side_append(sess, idx, c, 'i', &kn.keys[j++], rid, st);
        }
    }
    stor__cursor_put(sess, c);
    bsonu_index_keys_destroy(&ko);
    bsonu_index_keys_destroy(&kn);
    return ret;
}

/* stor__build_note_dup -- called from the build's own thread only (scan, drain). */
int stor__build_note_dup(stor_index_t *idx, const bson_t *key, int64_t rid, status_t *st)
{
    stor_index_build_t *b = idx->build;
    (void)st;
    if (b->ndups == b->cap_dups) {
        size_t cap = b->cap_dups ? b->cap_dups * 2 : 16;
        stor_build_dup_t *d = realloc(b->dups, cap * sizeof(*d));
        INVARIANT(d != NULL);
        b->dups = d;
        b->cap_dups = cap;
    }
    stor_build_dup_t *d = &b->dups[b->ndups++];
    d->slot = idx->build_slot;
    d->rid = rid;
    bson_copy_to(key, &d->key);
    return 0;
}

static void build_free(stor_engine_t *eng, stor_index_build_t *b, bool free_indexes)
{
    for (size_t i = 0; i < b->ndups; i++)
        bson_destroy(&b->dups[i].key);
    free(b->dups);
    if (free_indexes)
        for (size_t i = 0; i < b->nidx; i++)
            stor__index_free(eng, b->idx[i]);
    free(b->idx);
    free(b);
}

/* check_spec_against -- where want stands against the live indexes, the other builds and the
 * specs before it in this build: *skip when an identical one exists (or was asked twice). */
static int check_spec_against(stor_collection_t *coll, stor_index_build_t *b, stor_index_t *want,
                              bool *skip, status_t *st)
{
    *skip = false;
    for (stor_index_t *i = coll->indexes; i; i = i->next) {
        int ret = stor__index_conflict(i, want, st);
        if (ret == ERR_IndexAlreadyExists) {
            status_reset(st);
            *skip = true;
            return 0;
        }
        if (ret != 0)
            return ret;
    }
    for (stor_index_build_t *o = coll->builds; o; o = o->next) {
        for (size_t k = 0; k < o->nidx; k++) {
            int ret = stor__index_conflict(o->idx[k], want, st);
            if (ret == ERR_IndexAlreadyExists)
                return status_set(st, ERR_IndexBuildAlreadyInProgress,
                                  "Index build already in progress: index %s on %s", want->name,
                                  coll->ns);
            if (ret != 0)
                return ret;
        }
    }
    for (size_t k = 0; k < b->nidx; k++) {
        int ret = stor__index_conflict(b->idx[k], want, st);
        if (ret == ERR_IndexAlreadyExists) {
            status_reset(st);
            *skip = true;
            return 0;
        }
        if (ret != 0)
            return ret;
    }
    return 0;
}

/* stor_index_build_start -- see storage.h; the caller keeps coll's writers out. */
int stor_index_build_start(stor_session_t *sess, stor_collection_t *coll, const bson_t *specs,
                           size_t n, stor_index_build_t **out, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    *out = NULL;
    if (coll == NULL || coll->dropped)
        return status_set(st, ERR_NamespaceNotFound, "collection was dropped");
    if (sess->uow.active)
        return status_set(st, ERR_OperationNotSupportedInTransaction,
                          "index builds cannot run inside a unit of work");
    stor_index_build_t *b = calloc(1, sizeof(*b));
    INVARIANT(b != NULL);
    b->eng = eng;
    b->coll = coll;
    b->idx = calloc(n ? n : 1, sizeof(*b->idx));
    INVARIANT(b->idx != NULL);
    atomic_store(&b->side_seq, 1);
    b->t0_us = time_mono_us();
    stor__gen_uuid(b->uuid);
    int ret = 0;
    pthread_rwlock_rdlock(&eng->cat_lock);
    for (size_t i = 0; i < n && ret == 0; i++) {
        char ident[STOR_IDENT_MAX];
        stor_index_t *idx;
        stor__next_ident(eng, "index", ident);
        ret = stor__index_from_spec(eng, coll, &specs[i], ident, NULL, &idx, st);
        if (ret != 0)
            break;
        bool skip;
        ret = check_spec_against(coll, b, idx, &skip, st);
        if (ret != 0 || skip) {
            stor__index_free(eng, idx);
            continue;
        }
        idx->building = true;
        idx->build = b;
        idx->build_slot = (int)b->nidx;
        b->idx[b->nidx++] = idx;
    }
    pthread_rwlock_unlock(&eng->cat_lock);
    if (ret != 0 || b->nidx == 0) {
        build_free(eng, b, true);
        return ret;
    }
    INVARIANT(b->nidx < 256); /* the slot is one byte; createIndexes allows 64 indexes */
    /* tables first: a crash from here on leaves tables no row names, swept at start-up */
    for (size_t i = 0; i < b->nidx && ret == 0; i++) {
        int wret =
            sess->wt->create(sess->wt, b->idx[i]->uri, stor__table_config(eng, true, coll->ns));
        if (wret != 0)
            ret = stor__wt_status(st, wret, "create index table");
    }
    if (ret == 0) {
        stor__next_ident(eng, "sidewrites", b->side_ident);
        snprintf(b->side_uri, sizeof(b->side_uri), "table:%s", b->side_ident);
        int wret =
            sess->wt->create(sess->wt, b->side_uri, stor__table_config(eng, false, coll->ns));
        if (wret != 0)
            ret = stor__wt_status(st, wret, "create side-writes table");
    }
    if (ret == 0) {
        pthread_rwlock_wrlock(&eng->cat_lock);
        if (coll->dropped) {
            ret = status_set(st, ERR_NamespaceNotFound, "collection was dropped");
        } else {
            b->next = coll->builds;
            coll->builds = b;
        }
        pthread_rwlock_unlock(&eng->cat_lock);
    }
    if (ret != 0) {
        for (size_t i = 0; i < b->nidx; i++)
            stor__drop_uri(eng, sess->wt, b->idx[i]->uri);
        if (b->side_uri[0] != '\0')
            stor__drop_uri(eng, sess->wt, b->side_uri);
        build_free(eng, b, true);
        return ret;
    }
    LOG(INFO, INDEX, 20438, "Index build: registering", "buildUUID",
        BCON_BIN(BSON_SUBTYPE_UUID, b->uuid, 16), "namespace", BCON_UTF8(coll->ns),
        "collectionUUID", BCON_BIN(BSON_SUBTYPE_UUID, coll->uuid, 16), "indexes",
        BCON_INT32((int32_t)b->nidx), "firstIndex", "{", "name", BCON_UTF8(b->idx[0]->name), "}");
    for (size_t i = 0; i < b->nidx; i++)
        LOG(INFO, INDEX, 20384, "Index build: starting", "buildUUID",
            BCON_BIN(BSON_SUBTYPE_UUID, b->uuid, 16), "namespace", BCON_UTF8(coll->ns),
            "properties", BCON_DOCUMENT(&b->idx[i]->spec), "specIndex", BCON_INT32((int32_t)i),
            "numSpecs", BCON_INT32((int32_t)b->nidx), "method", BCON_UTF8("Hybrid"), "ident",
            BCON_UTF8(b->idx[i]->ident), "sideWritesIdent", BCON_UTF8(b->side_ident));
    *out = b;
    return 0;
}

/* check_alive -- IndexBuildAborted once the collection is gone under the build. */
static int check_alive(stor_index_build_t *b, status_t *st)
{
    if (b->coll->dropped)
        return status_set(st, ERR_IndexBuildAborted,
                          "Index build aborted: collection %s was dropped", b->coll->ns);
    return 0;
}

/* stor_index_build_scan -- batches in RecordId order, each its own transaction. */
int stor_index_build_scan(stor_session_t *sess, stor_index_build_t *b, status_t *st)
{
    stor_collection_t *coll = b->coll;
    int64_t last = 0, t0 = time_mono_us();
    bool more = true;
    int ret = FP_PAUSE(hangAfterSettingUpIndexBuild, coll->ns, 0, st);
    if (ret == 0)
        ret = hook("Index Build: scanning collection", 0, stor_collection_count(coll), st);
    while (more && ret == 0) {
        ST_ERR(check_alive(b, st));
        bool implicit;
        ST_ERR(stor__uow_enter(sess, &implicit, st));
        WT_CURSOR *c;
        ret = stor__cursor_get(sess, coll->uri, &c, st);
        if (ret != 0) {
            ret = stor__uow_leave(sess, implicit, ret, st);
            break;
        }
        c->set_key(c, last + 1);
        int exact, wret = c->search_near(c, &exact);
        if (wret == 0 && exact < 0)
            wret = c->next(c);
        for (int n = 0; wret == 0 && n < STOR_BUILD_BATCH && ret == 0; n++) {
            int64_t rid;
            WT_ITEM v;
            bson_t doc;
            if ((wret = c->get_key(c, &rid)) != 0 || (wret = c->get_value(c, &v)) != 0)
                break;
            if (!bson_init_static(&doc, v.data, v.size)) {
                ret = status_set(st, ERR_DataCorruptionDetected, "record %" PRId64 " is not BSON",
                                 rid);
                break;
            }
            for (size_t i = 0; i < b->nidx && ret == 0; i++)
                ret = stor__index_insert_doc(sess, b->idx[i], &doc, rid, st);
            last = rid;
            if (++b->scanned % STOR_BUILD_PROGRESS_EVERY == 0) {
                int64_t total = stor_collection_count(coll);
                LOG(INFO, INDEX, 51773, "progress meter", "name",
                    BCON_UTF8("Index Build: scanning collection"), "done", BCON_INT64(b->scanned),
                    "total", BCON_INT64(total), "percent",
                    BCON_INT64(total > 0 ? b->scanned * 100 / total : 100));
            }
            if (ret == 0)
                wret = c->next(c);
        }
        if (wret == WT_NOTFOUND)
            more = false;
        else if (wret != 0 && ret == 0)
            ret = stor__wt_status(st, wret, "index build scan");
        stor__cursor_put(sess, c);
        ret = stor__uow_leave(sess, implicit, ret, st);
        /* between batches: progress for currentOp, and the caller's chance to abort */
        if (ret == 0)
            ret = hook("Index Build: scanning collection", b->scanned, stor_collection_count(coll),
                       st);
    }
err:
    if (ret != 0) {
        LOG(INFO, INDEX, 4984704, "Index build: collection scan stopped", "buildUUID",
            BCON_BIN(BSON_SUBTYPE_UUID, b->uuid, 16), "namespace", BCON_UTF8(coll->ns),
            "totalRecords", BCON_INT64(b->scanned), "durationMillis",
            BCON_INT64((time_mono_us() - t0) / 1000), "error", BCON_UTF8(st->msg));
        return ret;
    }
    LOG(INFO, INDEX, 20391, "Index build: collection scan done", "buildUUID",
        BCON_BIN(BSON_SUBTYPE_UUID, b->uuid, 16), "namespace", BCON_UTF8(coll->ns), "totalRecords",
        BCON_INT64(b->scanned), "durationMillis", BCON_INT64((time_mono_us() - t0) / 1000));
    return 0;
}

/* A side-writes entry read out of its table (the value copied). */
typedef struct side_entry {
    int64_t seq;
    uint8_t *val;
    size_t len;
} side_entry_t;

/* apply_entry -- one entry into its index. */
static int apply_entry(stor_session_t *sess, stor_index_build_t *b, const side_entry_t *e,
                       stor_ks_t *ks, status_t *st)
{
    bson_t key;
    if (e->len < 10 || (e->val[0] != 'i' && e->val[0] != 'd') || e->val[1] >= b->nidx ||
        !bson_init_static(&key, e->val + 10, e->len - 10))
        return status_set(st, ERR_DataCorruptionDetected,
                          "side-writes entry %" PRId64 " of %s is malformed", e->seq, b->side_uri);
    stor_index_t *idx = b->idx[e->val[1]];
    int64_t rid = stor__get_rid(e->val + 2);
    WT_CURSOR *c;
    ST_RET(stor__cursor_get(sess, idx->uri, &c, st));
    int ret = e->val[0] == 'i' ? stor__index_put_key(sess, idx, c, ks, &key, rid, st)
                               : stor__index_del_key(sess, idx, c, ks, &key, rid, st);
    stor__cursor_put(sess, c);
    return ret;
}

/* drain_batch -- up to a batch of committed entries: apply and remove them in one transaction. */
static int drain_batch(stor_session_t *sess, stor_index_build_t *b, int64_t *n, status_t *st)
{
    side_entry_t *batch = calloc(STOR_BUILD_BATCH, sizeof(*batch));
    INVARIANT(batch != NULL);
    size_t nb = 0;
    *n = 0;
    bool implicit;
    int ret = stor__uow_enter(sess, &implicit, st);
    if (ret != 0) {
        free(batch);
        return ret;
    }
    WT_CURSOR *c = NULL;
    ret = stor__cursor_get(sess, b->side_uri, &c, st);
    int wret = 0;
    while (ret == 0 && nb < STOR_BUILD_BATCH && (wret = c->next(c)) == 0) {
        WT_ITEM v;
        int64_t seq;
        if ((wret = c->get_key(c, &seq)) != 0 || (wret = c->get_value(c, &v)) != 0)
            break;
        batch[nb].seq = seq;
        batch[nb].len = v.size;
        batch[nb].val = malloc(v.size ? v.size : 1);
        INVARIANT(batch[nb].val != NULL);
        memcpy(batch[nb].val, v.data, v.size);
        nb++;
    }
    if (ret == 0 && wret != 0 && wret != WT_NOTFOUND)
        ret = stor__wt_status(st, wret, "side-writes scan");
    if (ret == 0)
        c->reset(c);
    stor_ks_t ks;
    stor_ks_init(&ks);
    for (size_t i = 0; i < nb && ret == 0; i++) {
        ret = apply_entry(sess, b, &batch[i], &ks, st);
        if (ret == 0) {
            c->set_key(c, batch[i].seq);
            ret = stor__wt_status(st, c->remove(c), "side-writes remove");
        }
    }
    stor_ks_destroy(&ks);
    for (size_t i = 0; i < nb; i++)
        free(batch[i].val);
    free(batch);
    stor__cursor_put(sess, c);
    ret = stor__uow_leave(sess, implicit, ret, st);
    if (ret == 0)
        *n = (int64_t)nb;
    return ret;
}

/* stor_index_build_pending -- sequence numbers handed out minus entries applied. */
int64_t stor_index_build_pending(const stor_index_build_t *b)
{
    int64_t p = atomic_load(&b->side_seq) - 1 - b->side_applied;
    return p > 0 ? p : 0;
}

/* stor_index_build_drain -- batches until none is visible. */
int stor_index_build_drain(stor_session_t *sess, stor_index_build_t *b, int64_t *applied,
                           status_t *st)
{
    const char *msg = "Index Build: draining writes received during build";
    int64_t t0 = time_mono_us(), total = 0, n = 0;
    int ret = 0;
    if (applied)
        *applied = 0;
    do {
        ST_RET(check_alive(b, st));
        ret = drain_batch(sess, b, &n, st);
        if (ret == 0) {
            total += n;
            b->side_applied += n;
            ret = hook(msg, total, total + stor_index_build_pending(b), st);
        }
    } while (ret == 0 && n == STOR_BUILD_BATCH);
    if (ret == 0 && total > 0)
        LOG(INFO, INDEX, 20689, "Index build: drained side writes", "buildUUID",
            BCON_BIN(BSON_SUBTYPE_UUID, b->uuid, 16), "namespace", BCON_UTF8(b->coll->ns),
            "numApplied", BCON_INT64(total), "totalApplied", BCON_INT64(b->side_applied),
            "durationMillis", BCON_INT64((time_mono_us() - t0) / 1000));
    if (applied)
        *applied = total;
    return ret;
}

/* record_has_key -- whether rid's document (now) produces key for idx. */
static int record_has_key(stor_session_t *sess, stor_index_t *idx, int64_t rid, const bson_t *key,
                          bool *has, status_t *st)
{
    bson_t doc;
    bool found;
    *has = false;
    int ret = stor_record_get(sess, idx->coll, rid, &doc, &found, st);
    bsonu_index_keys_t keys;
    if (ret == 0) /* an empty set when the record is gone */
        ret = stor__index_doc_keys(sess, idx, found ? &doc : NULL, false, &keys, st);
    else
        bsonu_index_keys_init(&keys);
    for (size_t i = 0; ret == 0 && i < keys.n && !*has; i++)
        *has = bsonu_compare_doc(&keys.keys[i], key) == 0;
    bsonu_index_keys_destroy(&keys);
    bson_destroy(&doc);
    return ret;
}

/* recheck_dups -- every clash recorded: a real duplicate fails; else the entry is put right. */
static int recheck_dups(stor_session_t *sess, stor_index_build_t *b, status_t *st)
{
    if (b->ndups == 0)
        return 0;
    bool implicit;
    ST_RET(stor__uow_enter(sess, &implicit, st));
    b->checking = true;
    int ret = 0;
    stor_ks_t ks;
    stor_ks_init(&ks);
    for (size_t i = 0; i < b->ndups && ret == 0; i++) {
        stor_build_dup_t *d = &b->dups[i];
        stor_index_t *idx = b->idx[d->slot];
        bool has, found;
        int64_t owner;
        ret = record_has_key(sess, idx, d->rid, &d->key, &has, st);
        if (ret != 0 || !has)
            continue; /* the record let the key go: no clash left */
        ret = stor__index_key_owner(sess, idx, &d->key, &owner, &found, st);
        if (ret == 0 && found && owner != d->rid)
            ret = stor__dup_key_error(sess, idx, &d->key, st); /* both hold it still */
        if (ret == 0 && !found) { /* the holder let it go: this record takes it */
            WT_CURSOR *c;
            ret = stor__cursor_get(sess, idx->uri, &c, st);
            if (ret == 0) {
                ret = stor__index_put_key(sess, idx, c, &ks, &d->key, d->rid, st);
                stor__cursor_put(sess, c);
            }
        }
    }
    stor_ks_destroy(&ks);
    b->checking = false;
    return stor__uow_leave(sess, implicit, ret, st);
}

/* stor_index_build_commit -- the caller keeps writers out: nothing is added meanwhile. */
int stor_index_build_commit(stor_session_t *sess, stor_index_build_t *b, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    stor_collection_t *coll = b->coll;
    int64_t applied = 0;
    ST_RET(stor_index_build_drain(sess, b, &applied, st));
    ST_RET(recheck_dups(sess, b, st));
    int ret = 0;
    pthread_rwlock_wrlock(&eng->cat_lock);
    if (coll->dropped)
        ret = check_alive(b, st);
    for (size_t i = 0; i < b->nidx && ret == 0; i++)
        for (stor_index_t *x = coll->indexes; x && ret == 0; x = x->next)
            ret = stor__index_conflict(x, b->idx[i], st);
    stor_index_t **tail = &coll->indexes;
    while (*tail)
        tail = &(*tail)->next;
    if (ret == 0) {
        for (size_t i = 0; i < b->nidx; i++) {
            stor_index_t *idx = b->idx[i];
            idx->next = i + 1 < b->nidx ? b->idx[i + 1] : NULL;
            idx->building = false;
        }
        *tail = b->idx[0];
        bool implicit;
        ret = stor__uow_enter(sess, &implicit, st);
        if (ret == 0) {
            ret = stor__catalog_write(sess, coll, st);
            if (ret == 0)
                (void)FP_PAUSE(hangBeforeCatalogCommit, coll->ns, 0, NULL);
            ret = stor__uow_leave(sess, implicit, ret, st);
        }
        if (ret != 0) {
            *tail = NULL;
            for (size_t i = 0; i < b->nidx; i++) {
                b->idx[i]->next = NULL;
                b->idx[i]->building = true;
            }
        }
    }
    if (ret == 0) {
        for (stor_index_build_t **pp = &coll->builds; *pp; pp = &(*pp)->next)
            if (*pp == b) {
                *pp = b->next;
                break;
            }
        for (size_t i = 0; i < b->nidx; i++)
            b->idx[i]->build = NULL;
        b->committed = true;
    }
    int nafter = 0;
    for (stor_index_t *x = coll->indexes; x; x = x->next)
        nafter++;
    pthread_rwlock_unlock(&eng->cat_lock);
    if (ret != 0)
        return ret;
    bson_t names = BSON_INITIALIZER;
    for (size_t i = 0; i < b->nidx; i++) {
        char k[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)i, &kp, k, sizeof(k));
        BSON_APPEND_UTF8(&names, kp, b->idx[i]->name);
        LOG(INFO, INDEX, 20345, "Index build: done building", "buildUUID",
            BCON_BIN(BSON_SUBTYPE_UUID, b->uuid, 16), "namespace", BCON_UTF8(coll->ns), "index",
            BCON_UTF8(b->idx[i]->name), "ident", BCON_UTF8(b->idx[i]->ident));
    }
    LOG(INFO, INDEX, 20663, "Index build: completed successfully", "buildUUID",
        BCON_BIN(BSON_SUBTYPE_UUID, b->uuid, 16), "namespace", BCON_UTF8(coll->ns), "indexesBuilt",
        BCON_ARRAY(&names), "numIndexesBefore", BCON_INT32(nafter - (int32_t)b->nidx),
        "numIndexesAfter", BCON_INT32(nafter), "sideWritesApplied", BCON_INT64(b->side_applied),
        "durationMillis", BCON_INT64((time_mono_us() - b->t0_us) / 1000));
    bson_destroy(&names);
    return 0;
}

/* stor_index_build_release -- an uncommitted build leaves nothing: tables dropped. */
void stor_index_build_release(stor_session_t *sess, stor_index_build_t *b, const status_t *why)
{
    if (b == NULL)
        return;
    stor_engine_t *eng = sess->eng;
    stor_collection_t *coll = b->coll;
    if (!b->committed) {
        /* unlinked under the write lock: no writer reaches b after this; the indexes go to
         * dropped_indexes, since a writer's unit of work may still name them (multikey) */
        pthread_rwlock_wrlock(&eng->cat_lock);
        for (stor_index_build_t **pp = &coll->builds; *pp; pp = &(*pp)->next)
            if (*pp == b) {
                *pp = b->next;
                break;
            }
        for (size_t i = 0; i < b->nidx; i++) {
            stor_index_t *idx = b->idx[i];
            idx->build = NULL;
            idx->dropped = true;
            idx->next = coll->dropped_indexes;
            coll->dropped_indexes = idx;
        }
        pthread_rwlock_unlock(&eng->cat_lock);
        for (size_t i = 0; i < b->nidx; i++) {
            stor__session_close_cursors(sess, b->idx[i]->uri);
            stor__drop_uri(eng, sess->wt, b->idx[i]->uri);
        }
        LOG(INFO, INDEX, 20649, "Index build: failed", "buildUUID",
            BCON_BIN(BSON_SUBTYPE_UUID, b->uuid, 16), "namespace", BCON_UTF8(coll->ns), "error",
            "{", "code", BCON_INT32(why != NULL ? why->code : 0), "codeName",
            BCON_UTF8(why != NULL ? status_code_name(why->code) : ""), "errmsg",
            BCON_UTF8(why != NULL ? why->msg : ""), "}", "scanned", BCON_INT64(b->scanned),
            "sideWritesApplied", BCON_INT64(b->side_applied));
    }
    stor__session_close_cursors(sess, b->side_uri);
    stor__drop_uri(eng, sess->wt, b->side_uri);
    build_free(eng, b, false);
}

/* stor_index_create -- every phase in a row (the caller keeps writers out throughout). */
int stor_index_create(stor_session_t *sess, stor_collection_t *coll, const bson_t *spec,
                      stor_index_t **out, status_t *st)
{
    stor_index_build_t *b = NULL;
    if (out)
        *out = NULL;
    int ret = stor_index_build_start(sess, coll, spec, 1, &b, st);
    if (ret == 0 && b == NULL) { /* an identical index exists */
        bson_iter_t it;
        stor_index_t *have = NULL;
        status_t ignored = STATUS_INIT;
        if (bson_iter_init_find(&it, spec, "name") && BSON_ITER_HOLDS_UTF8(&it))
            (void)stor_index_lookup(coll, bson_iter_utf8(&it, NULL), &have, &ignored);
        return status_set(st, ERR_IndexAlreadyExists, "index already exists: %s",
                          have != NULL ? have->name : "");
    }
    if (ret == 0)
        ret = stor_index_build_scan(sess, b, st);
    if (ret == 0)
        ret = FP_PAUSE(hangIndexBuildBeforeCommit, coll->ns, 0, st);
    if (ret == 0)
        ret = stor_index_build_commit(sess, b, st);
    if (ret == 0 && out)
        *out = b->idx[0];
    if (b != NULL)
        stor_index_build_release(sess, b, st);
    return ret;
}

/* stor_index_build_count -- see storage.h. */
size_t stor_index_build_count(const stor_index_build_t *b)
{
    return b->nidx;
}

/* stor_index_build_index -- see storage.h. */
stor_index_t *stor_index_build_index(const stor_index_build_t *b, size_t i)
{
    return i < b->nidx ? b->idx[i] : NULL;
}

/* stor_collection_has_builds -- see storage.h. */
bool stor_collection_has_builds(stor_collection_t *coll)
{
    pthread_rwlock_rdlock(&coll->eng->cat_lock);
    bool has = coll->builds != NULL;
    pthread_rwlock_unlock(&coll->eng->cat_lock);
    return has;
}

/* stor_list_index_builds -- oldest build first, its indexes in spec order. */
int stor_list_index_builds(stor_engine_t *eng, const char *ns, bson_t *out, status_t *st)
{
    bson_init(out);
    stor_collection_t *coll;
    ST_RET(stor_collection_lookup(eng, ns, &coll, st));
    pthread_rwlock_rdlock(&eng->cat_lock);
    stor_index_build_t *list[64];
    size_t nb = 0;
    for (stor_index_build_t *b = coll->builds; b && nb < 64; b = b->next)
        list[nb++] = b;
    uint32_t n = 0;
    while (nb > 0) {
        stor_index_build_t *b = list[--nb];
        for (size_t i = 0; i < b->nidx; i++) {
            char k[16];
            const char *kp;
            bson_t d;
            bson_uint32_to_string(n++, &kp, k, sizeof(k));
            bson_append_document_begin(out, kp, -1, &d);
            BSON_APPEND_DOCUMENT(&d, "spec", &b->idx[i]->spec);
            BSON_APPEND_BINARY(&d, "buildUUID", BSON_SUBTYPE_UUID, b->uuid, 16);
            bson_append_document_end(out, &d);
        }
    }
    pthread_rwlock_unlock(&eng->cat_lock);
    return 0;
}
