/*
 * index.c -- index tables keyed by KeyString (storage/keystring.md).
 *
 *   non-unique:  key = KeyString(values) END RecordId   value = type bits
 *   unique:      key = KeyString(values) END            value = RecordId(8, BE) type bits
 *
 * Keys come from bsonu_index_keys_get (one per array element for multikey
 * paths); entries change in the caller's transaction, so a record and its
 * entries commit or roll back together. A unique index checks for an
 * existing key before inserting; two concurrent inserters of one key collide
 * in WT (WriteConflict) and the retry sees the duplicate. There is no key
 * size limit (MongoDB 4.2+ with FCV >= 4.2 has none); the 16 MiB document
 * limit bounds a key.
 */
#include "storage/storage_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* stor__put_rid -- see storage_int.h. */
void stor__put_rid(uint8_t *p, int64_t rid)
{
    uint64_t u = (uint64_t)rid;
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(u & 0xff);
        u >>= 8;
    }
}

/* stor__get_rid -- see storage_int.h. */
int64_t stor__get_rid(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | p[i];
    return (int64_t)u;
}

/* append_value_text -- a value as MongoDB prints it in "dup key: { a: 1 }". */
static void append_value_text(bson_string_t *s, const bson_iter_t *it)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        bson_string_append_printf(s, "%d", bson_iter_int32(it));
        return;
    case BSON_TYPE_INT64:
        bson_string_append_printf(s, "%" PRId64, bson_iter_int64(it));
        return;
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
            bson_string_append_printf(s, "%.1f", d);
        else
            bson_string_append_printf(s, "%.17g", d);
        return;
    }
    case BSON_TYPE_UTF8:
        bson_string_append_printf(s, "\"%s\"", bson_iter_utf8(it, NULL));
        return;
    case BSON_TYPE_NULL:
        bson_string_append(s, "null");
        return;
    case BSON_TYPE_BOOL:
        bson_string_append(s, bson_iter_bool(it) ? "true" : "false");
        return;
    case BSON_TYPE_OID: {
        char hex[25];
        bson_oid_to_string(bson_iter_oid(it), hex);
        bson_string_append_printf(s, "ObjectId('%s')", hex);
        return;
    }
    default: {
        bson_t tmp = BSON_INITIALIZER;
        bson_append_iter(&tmp, "v", 1, it);
        char *json = bson_as_relaxed_extended_json(&tmp, NULL);
        /* json is { "v" : <value> }: keep the value. */
        const char *p = json ? strstr(json, ": ") : NULL;
        if (p != NULL) {
            size_t n = strlen(p + 2);
            bson_string_append_printf(s, "%.*s", (int)(n > 2 ? n - 2 : n), p + 2);
        }
        bson_free(json);
        bson_destroy(&tmp);
        return;
    }
    }
}

/* stor__dup_key_error -- DuplicateKey 11000 in MongoDB's words; keyPattern/keyValue kept. */
int stor__dup_key_error(stor_session_t *sess, stor_index_t *idx, const bson_t *key, status_t *st)
{
    if (sess->has_dup) {
        bson_destroy(&sess->dup_pattern);
        bson_destroy(&sess->dup_value);
    }
    bson_copy_to(&idx->key_pattern, &sess->dup_pattern);
    bson_init(&sess->dup_value);
    sess->has_dup = true;
    bson_string_t *s = bson_string_new("{ ");
    bson_iter_t kp, kv;
    bson_iter_init(&kp, &idx->key_pattern);
    bson_iter_init(&kv, key);
    bool first = true;
    while (bson_iter_next(&kp) && bson_iter_next(&kv)) {
        bson_append_iter(&sess->dup_value, bson_iter_key(&kp), -1, &kv);
        bson_string_append_printf(s, "%s%s: ", first ? "" : ", ", bson_iter_key(&kp));
        append_value_text(s, &kv);
        first = false;
    }
    bson_string_append(s, " }");
    int ret = status_set(st, ERR_DuplicateKey,
                         "E11000 duplicate key error collection: %s index: %s dup key: %s",
                         idx->coll->ns, idx->name, s->str);
    bson_string_free(s, true);
    return ret;
}

static int exists_visit(void *ctx, const bsonu_path_leaf_t *leaf)
{
    return 1;
}

/* indexed -- sparse skips documents with none of the fields; partial asks the matcher. */
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

/* note_multikey -- first sight of an array path: catalog row in this transaction. */
static int note_multikey(stor_session_t *sess, stor_index_t *idx, const bsonu_index_keys_t *keys,
                         status_t *st)
{
    bson_iter_t it;
    bson_iter_init(&it, &idx->key_pattern);
    bool changed = false;
    for (size_t f = 0; f < keys->nfields && bson_iter_next(&it); f++) {
        uint32_t bits = keys->multikey_paths[f];
        if (bits == 0)
            continue;
        const char *path = bson_iter_key(&it);
        char prefix[1024];
        size_t comp = 0, len = strlen(path);
        for (size_t i = 0; i <= len; i++) {
            if (path[i] != '.' && path[i] != '\0')
                continue;
            if (comp < 32 && (bits & (1u << comp)) && i < sizeof(prefix)) {
                memcpy(prefix, path, i);
                prefix[i] = '\0';
                bson_iter_t found;
                if (!bson_iter_init_find(&found, &idx->multikey_paths, prefix) &&
                    !stor__uow_has_multikey(&sess->uow, idx, prefix)) {
                    ST_RET(stor__uow_add_multikey(&sess->uow, idx, prefix, st));
                    changed = true;
                }
            }
            comp++;
        }
    }
    if (changed && !idx->building)
        return stor__catalog_write(sess, idx->coll, st);
    return 0;
}

/* entry -- the WT key and value of one index entry. */
static int entry(stor_index_t *idx, stor_ks_t *ks, const bson_t *key, int64_t rid, uint8_t **val,
                 size_t *vlen, status_t *st)
{
    ST_RET(stor_ks_build(ks, key, idx->desc_mask, STOR_KS_END, st));
    size_t pre = idx->unique ? 8 : 0;
    *vlen = pre + ks->tb_len;
    *val = malloc(*vlen ? *vlen : 1);
    INVARIANT(*val != NULL);
    if (idx->unique)
        stor__put_rid(*val, rid);
    else
        ST_RET(stor_ks_append_record_id(ks, rid, st));
    if (ks->tb_len)
        memcpy(*val + pre, ks->tb, ks->tb_len);
    return 0;
}

/* stor__index_put_key -- one entry; a unique index refuses a key another RecordId holds
 * (while building, the clash is remembered for the commit's re-check instead). */
int stor__index_put_key(stor_session_t *sess, stor_index_t *idx, WT_CURSOR *c, stor_ks_t *ks,
                        const bson_t *key, int64_t rid, status_t *st)
{
    uint8_t *val = NULL;
    size_t vlen = 0;
    int ret = entry(idx, ks, key, rid, &val, &vlen, st);
    if (ret != 0) {
        free(val);
        return ret;
    }
    WT_ITEM k = {.data = ks->key, .size = ks->key_len}, v = {.data = val, .size = vlen};
    c->set_key(c, &k);
    if (idx->unique) {
        int wret = c->search(c);
        if (wret == 0) {
            WT_ITEM old;
            wret = c->get_value(c, &old);
            if (wret == 0 && (old.size < 8 || stor__get_rid(old.data) != rid)) {
                free(val);
                if (idx->build != NULL && !idx->build->checking)
                    return stor__build_note_dup(idx, key, rid, st);
                return stor__dup_key_error(sess, idx, key, st);
            } else if (wret == 0) /* already ours: refresh the type bits */
                wret = WT_NOTFOUND;
        }
        if (wret != WT_NOTFOUND || ret != 0) {
            free(val);
            return ret != 0 ? ret : stor__wt_status(st, wret, "index search");
        }
        c->set_key(c, &k);
    }
    c->set_value(c, &v);
    ret = stor__wt_status(st, c->insert(c), "index insert");
    free(val);
    return ret;
}

/* stor__index_del_key -- one entry; a unique entry goes only if it points at rid. */
int stor__index_del_key(stor_session_t *sess, stor_index_t *idx, WT_CURSOR *c, stor_ks_t *ks,
                        const bson_t *key, int64_t rid, status_t *st)
{
    uint8_t *val = NULL;
    size_t vlen = 0;
    int ret = entry(idx, ks, key, rid, &val, &vlen, st);
    free(val);
    if (ret != 0)
        return ret;
    WT_ITEM k = {.data = ks->key, .size = ks->key_len};
    c->set_key(c, &k);
    int wret = 0;
    if (idx->unique) {
        WT_ITEM old;
        wret = c->search(c);
        if (wret == 0 && (wret = c->get_value(c, &old)) == 0 &&
            (old.size < 8 || stor__get_rid(old.data) != rid))
            return 0;
        if (wret == 0)
            wret = c->remove(c);
    } else {
        wret = c->remove(c);
    }
    if (wret != 0 && wret != WT_NOTFOUND)
        return stor__wt_status(st, wret, "index remove");
    return 0;
}

/* stor__index_keys -- see storage_int.h. */
int stor__index_keys(stor_index_t *idx, const bson_t *doc, bsonu_index_keys_t *keys,
                     bsonu_strlist_t *multikey, status_t *st)
{
    if (idx->wildcard)
        return bsonu_wildcard_keys_get(&idx->wc_proj, doc, keys, multikey, st);
    return bsonu_index_keys_get(&idx->key_pattern, doc, keys, st);
}

/* note_wildcard_multikey -- a wildcard index's array paths, recorded as note_multikey does. */
static int note_wildcard_multikey(stor_session_t *sess, stor_index_t *idx,
                                  const bsonu_strlist_t *paths, status_t *st)
{
    bool changed = false;
    for (size_t i = 0; i < paths->n; i++) {
        bson_iter_t found;
        if (bson_iter_init_find(&found, &idx->multikey_paths, paths->v[i]) ||
            stor__uow_has_multikey(&sess->uow, idx, paths->v[i]))
            continue;
        ST_RET(stor__uow_add_multikey(&sess->uow, idx, paths->v[i], st));
        changed = true;
    }
    if (changed && !idx->building)
        return stor__catalog_write(sess, idx->coll, st);
    return 0;
}

/* stor__index_doc_keys -- doc's keys if idx indexes doc (else an empty set); notes multikey paths.
 */
int stor__index_doc_keys(stor_session_t *sess, stor_index_t *idx, const bson_t *doc, bool adding,
                         bsonu_index_keys_t *keys, status_t *st)
{
    bsonu_index_keys_init(keys);
    if (doc == NULL || !indexed(sess->eng, idx, doc))
        return 0;
    if (idx->wildcard) {
        bsonu_strlist_t mk = {0};
        int ret = stor__index_keys(idx, doc, keys, adding ? &mk : NULL, st);
        if (ret == 0 && mk.n > 0)
            ret = note_wildcard_multikey(sess, idx, &mk, st);
        bsonu_strlist_destroy(&mk);
        return ret;
    }
    ST_RET(stor__index_keys(idx, doc, keys, NULL, st));
    if (adding && keys->multikey)
        return note_multikey(sess, idx, keys, st);
    return 0;
}

/*
 * change -- move idx from old_doc's keys to new_doc's (either may be NULL).
 * Both key sets are sorted: a merge touches only the keys that differ, so an
 * update that leaves the indexed fields alone writes nothing here. Keys that
 * compare equal but differ in bytes (1 vs 1.0) are rewritten for their type bits.
 */
static int change(stor_session_t *sess, stor_index_t *idx, const bson_t *old_doc,
                  const bson_t *new_doc, int64_t rid, status_t *st)
{
    bsonu_index_keys_t ko, kn;
    int ret = stor__index_doc_keys(sess, idx, old_doc, false, &ko, st);
    bsonu_index_keys_init(&kn);
    if (ret == 0)
        ret = stor__index_doc_keys(sess, idx, new_doc, true, &kn, st);
    WT_CURSOR *c = NULL;
    if (ret == 0 && ko.n + kn.n > 0)
        ret = stor__cursor_get(sess, idx->uri, &c, st);
    stor_ks_t ks;
    stor_ks_init(&ks);
    size_t i = 0, j = 0;
    while (ret == 0 && c != NULL && (i < ko.n || j < kn.n)) {
        int cmp = i >= ko.n ? 1 : j >= kn.n ? -1 : bsonu_compare_doc(&ko.keys[i], &kn.keys[j]);
        if (cmp == 0 && bson_equal(&ko.keys[i], &kn.keys[j])) {
            i++;
            j++;
        } else if (cmp == 0) {
            ret = stor__index_del_key(sess, idx, c, &ks, &ko.keys[i++], rid, st);
            if (ret == 0)
                ret = stor__index_put_key(sess, idx, c, &ks, &kn.keys[j++], rid, st);
        } else if (cmp < 0) {
            ret = stor__index_del_key(sess, idx, c, &ks, &ko.keys[i++], rid, st);
        } else {
            ret = stor__index_put_key(sess, idx, c, &ks, &kn.keys[j++], rid, st);
        }
    }
    stor_ks_destroy(&ks);
    stor__cursor_put(sess, c);
    bsonu_index_keys_destroy(&ko);
    bsonu_index_keys_destroy(&kn);
    return ret;
}

/* stor__index_insert_doc -- every key of doc; DuplicateKey for a unique clash. */
int stor__index_insert_doc(stor_session_t *sess, stor_index_t *idx, const bson_t *doc, int64_t rid,
                           status_t *st)
{
    return change(sess, idx, NULL, doc, rid, st);
}

/* stor__index_remove_doc -- every key of doc. */
int stor__index_remove_doc(stor_session_t *sess, stor_index_t *idx, const bson_t *doc, int64_t rid,
                           status_t *st)
{
    return change(sess, idx, doc, NULL, rid, st);
}

/* stor__index_update_doc -- only the keys that differ between old_doc and new_doc. */
int stor__index_update_doc(stor_session_t *sess, stor_index_t *idx, const bson_t *old_doc,
                           const bson_t *new_doc, int64_t rid, status_t *st)
{
    return change(sess, idx, old_doc, new_doc, rid, st);
}

static bool same_options(const bson_t *a, const bson_t *b)
{
    static const char *const opts[] = {"unique", "sparse", "partialFilterExpression",
                                       "wildcardProjection"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        bson_iter_t ia, ib;
        bool ha = bson_iter_init_find(&ia, a, opts[i]);
        bool hb = bson_iter_init_find(&ib, b, opts[i]);
        bool va = ha && (BSON_ITER_HOLDS_DOCUMENT(&ia) || bson_iter_as_bool(&ia));
        bool vb = hb && (BSON_ITER_HOLDS_DOCUMENT(&ib) || bson_iter_as_bool(&ib));
        if (va != vb)
            return false;
        if (va && BSON_ITER_HOLDS_DOCUMENT(&ia) && !bsonu_equal_iter(&ia, &ib))
            return false;
    }
    return true;
}

/* stor__index_conflict -- MongoDB's answers for an index that clashes with an existing one. */
int stor__index_conflict(const stor_index_t *i, const stor_index_t *want, status_t *st)
{
    bool same_name = strcmp(i->name, want->name) == 0;
    bool same_key = bsonu_compare_doc(&i->key_pattern, &want->key_pattern) == 0;
    bool same_opts = same_options(&i->spec, &want->spec);
    if (same_name && same_key && same_opts)
        return status_set(st, ERR_IndexAlreadyExists, "index already exists: %s", i->name);
    if (same_name && !same_key)
        return status_set(st, ERR_IndexKeySpecsConflict,
                          "An existing index has the same name as the requested index. "
                          "When index names are not specified, they are auto generated and "
                          "can cause conflicts. Please refer to our documentation. "
                          "Existing index name: %s",
                          i->name);
    if (same_name)
        return status_set(st, ERR_IndexOptionsConflict,
                          "An equivalent index already exists with the same name but "
                          "different options. Existing index name: %s",
                          i->name);
    if (same_key && same_opts)
        return status_set(st, ERR_IndexOptionsConflict,
                          "Index already exists with a different name: %s", i->name);
    return 0;
}

/* stor__index_key_owner -- the RecordId a unique entry for key points at. */
int stor__index_key_owner(stor_session_t *sess, stor_index_t *idx, const bson_t *key, int64_t *rid,
                          bool *found, status_t *st)
{
    *found = false;
    *rid = 0;
    stor_ks_t ks;
    stor_ks_init(&ks);
    int ret = stor_ks_build(&ks, key, idx->desc_mask, STOR_KS_END, st);
    WT_CURSOR *c = NULL;
    if (ret == 0)
        ret = stor__cursor_get(sess, idx->uri, &c, st);
    if (ret == 0) {
        WT_ITEM k = {.data = ks.key, .size = ks.key_len}, v;
        c->set_key(c, &k);
        int wret = c->search(c);
        if (wret == 0 && (wret = c->get_value(c, &v)) == 0 && v.size >= 8) {
            *rid = stor__get_rid(v.data);
            *found = true;
        }
        if (wret != 0 && wret != WT_NOTFOUND)
            ret = stor__wt_status(st, wret, "index search");
        stor__cursor_put(sess, c);
    }
    stor_ks_destroy(&ks);
    return ret;
}

/* stor_index_drop -- the row loses the index first, then the table goes. */
int stor_index_drop(stor_session_t *sess, stor_collection_t *coll, const char *name, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    if (coll == NULL || coll->dropped)
        return status_set(st, ERR_NamespaceNotFound, "collection was dropped");
    if (sess->uow.active)
        return status_set(st, ERR_OperationNotSupportedInTransaction,
                          "dropping an index cannot run inside a unit of work");
    pthread_rwlock_wrlock(&eng->cat_lock);
    stor_index_t **pp = &coll->indexes;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    stor_index_t *idx = *pp;
    int ret = 0;
    if (idx == NULL)
        ret = status_set(st, ERR_IndexNotFound, "index not found with name [%s]", name);
    else if (idx->is_id)
        ret = status_set(st, ERR_InvalidOptions, "cannot drop _id index");
    if (ret != 0) {
        pthread_rwlock_unlock(&eng->cat_lock);
        return ret;
    }
    *pp = idx->next;
    bool implicit;
    ret = stor__uow_enter(sess, &implicit, st);
    if (ret == 0) {
        ret = stor__catalog_write(sess, coll, st);
        if (ret == 0)
            (void)FP_PAUSE(hangBeforeCatalogCommit, coll->ns, 0, NULL);
        ret = stor__uow_leave(sess, implicit, ret, st);
    }
    if (ret != 0) {
        *pp = idx;
        pthread_rwlock_unlock(&eng->cat_lock);
        return ret;
    }
    idx->dropped = true;
    idx->next = coll->dropped_indexes;
    coll->dropped_indexes = idx;
    pthread_rwlock_unlock(&eng->cat_lock);
    (void)FP_PAUSE(hangAfterCatalogCommit, coll->ns, 0, NULL);
    stor__session_close_cursors(sess, idx->uri);
    stor__drop_uri(eng, sess->wt, idx->uri);
    LOG(INFO, INDEX, 22134, "dropIndex", "namespace", BCON_UTF8(coll->ns), "index",
        BCON_UTF8(name));
    return 0;
}

/* stor_index_lookup -- by name among live indexes. */
int stor_index_lookup(stor_collection_t *coll, const char *name, stor_index_t **out, status_t *st)
{
    *out = NULL;
    if (coll == NULL || coll->dropped)
        return status_set(st, ERR_NamespaceNotFound, "collection was dropped");
    pthread_rwlock_rdlock(&coll->eng->cat_lock);
    for (stor_index_t *i = coll->indexes; i; i = i->next)
        if (strcmp(i->name, name) == 0)
            *out = i;
    pthread_rwlock_unlock(&coll->eng->cat_lock);
    if (*out == NULL)
        return status_set(st, ERR_IndexNotFound, "index not found with name [%s]", name);
    return 0;
}

/* stor_index_name -- the spec's name. */
const char *stor_index_name(const stor_index_t *idx)
{
    return idx->name;
}

/* stor_index_spec -- the whole spec as created. */
const bson_t *stor_index_spec(const stor_index_t *idx)
{
    return &idx->spec;
}

/* stor_index_key_pattern -- spec.key. */
const bson_t *stor_index_key_pattern(const stor_index_t *idx)
{
    return &idx->key_pattern;
}

/* stor_index_is_unique -- unique:true or the _id index. */
bool stor_index_is_unique(const stor_index_t *idx)
{
    return idx->unique;
}

/* stor_index_is_multikey -- some committed document had an array on a key path. */
bool stor_index_is_multikey(const stor_index_t *idx)
{
    pthread_rwlock_rdlock(&idx->coll->eng->cat_lock);
    bool mk = !bson_empty(&idx->multikey_paths);
    pthread_rwlock_unlock(&idx->coll->eng->cat_lock);
    return mk;
}

/* stor_index_record_access -- one more query planned onto idx. */
void stor_index_record_access(stor_index_t *idx)
{
    atomic_fetch_add_explicit(&idx->accesses, 1, memory_order_relaxed);
}

/* stor_index_accesses -- the count since since_ms. */
int64_t stor_index_accesses(const stor_index_t *idx, int64_t *since_ms)
{
    if (since_ms != NULL)
        *since_ms = idx->since_ms;
    return atomic_load_explicit(&idx->accesses, memory_order_relaxed);
}

/* stor_index_multikey_paths -- a copy of {path: true}. */
void stor_index_multikey_paths(const stor_index_t *idx, bson_t *out)
{
    pthread_rwlock_rdlock(&idx->coll->eng->cat_lock);
    bson_copy_to(&idx->multikey_paths, out);
    pthread_rwlock_unlock(&idx->coll->eng->cat_lock);
}

/* Index cursors ------------------------------------------------------------ */

struct stor_index_cursor {
    stor_session_t *sess;
    stor_index_t *idx;
    WT_CURSOR *c; /* NULL while saved */
    bool forward;
    stor_ks_t start; /* first key position (in scan order) */
    bool has_start;
    stor_ks_t end;
    bool has_end;
    bool started;
    bool done;
    uint8_t *last; /* the last key returned (for restore) */
    size_t last_len;
    bool resume; /* reposition strictly past `last` */
};

/* stor_index_cursor_open -- bound keys use BEFORE/AFTER so prefixes bound whole ranges. */
int stor_index_cursor_open(stor_session_t *sess, stor_index_t *idx,
                           const stor_index_bounds_t *bounds, stor_index_cursor_t **out,
                           status_t *st)
{
    *out = NULL;
    if (idx == NULL || idx->dropped || idx->coll->dropped)
        return status_set(st, ERR_QueryPlanKilled, "index dropped");
    stor_index_cursor_t *cur = calloc(1, sizeof(*cur));
    INVARIANT(cur != NULL);
    cur->sess = sess;
    cur->idx = idx;
    cur->forward = bounds ? bounds->forward : true;
    stor_ks_init(&cur->start);
    stor_ks_init(&cur->end);
    int ret = 0;
    if (bounds && bounds->start) {
        /* forward: inclusive starts before the prefix; backward: inclusive starts after. */
        stor_ks_disc_t d = cur->forward == bounds->start_inclusive ? STOR_KS_BEFORE : STOR_KS_AFTER;
        ret = stor_ks_build(&cur->start, bounds->start, idx->desc_mask, d, st);
        cur->has_start = true;
    }
    if (ret == 0 && bounds && bounds->end) {
        stor_ks_disc_t d = cur->forward == bounds->end_inclusive ? STOR_KS_AFTER : STOR_KS_BEFORE;
        ret = stor_ks_build(&cur->end, bounds->end, idx->desc_mask, d, st);
        cur->has_end = true;
    }
    if (ret == 0)
        ret = stor__cursor_get(sess, idx->uri, &cur->c, st);
    if (ret != 0) {
        stor_index_cursor_close(cur);
        return ret;
    }
    *out = cur;
    return 0;
}

/* position -- first entry at/after key (forward) or at/before it (backward). */
static int position(stor_index_cursor_t *cur, const uint8_t *key, size_t len, bool strict)
{
    WT_CURSOR *c = cur->c;
    WT_ITEM k = {.data = key, .size = len};
    int exact;
    c->set_key(c, &k);
    int ret = c->search_near(c, &exact);
    if (ret != 0)
        return ret;
    if (cur->forward && (exact < 0 || (strict && exact == 0)))
        return c->next(c);
    if (!cur->forward && (exact > 0 || (strict && exact == 0)))
        return c->prev(c);
    return 0;
}

/* stor_index_cursor_next -- stops at the end bound. */
int stor_index_cursor_next(stor_index_cursor_t *cur, int64_t *rid, bson_t *key, bool *eof,
                           status_t *st)
{
    *eof = false;
    if (key)
        bson_init(key);
    if (cur->done) {
        *eof = true;
        return 0;
    }
    if (cur->c == NULL)
        return status_set(st, ERR_IllegalOperation, "cursor is saved; restore it first");
    if (cur->idx->dropped)
        return status_set(st, ERR_QueryPlanKilled, "index dropped during the scan");
    WT_CURSOR *c = cur->c;
    int wret;
    if (cur->resume) {
        cur->resume = false;
        wret = position(cur, cur->last, cur->last_len, true);
    } else if (!cur->started && cur->has_start) {
        wret = position(cur, cur->start.key, cur->start.key_len, false);
    } else {
        wret = cur->forward ? c->next(c) : c->prev(c);
    }
    cur->started = true;
    if (wret == WT_NOTFOUND) {
        cur->done = true;
        *eof = true;
        return 0;
    }
    WT_ITEM k, v;
    if (wret == 0)
        wret = c->get_key(c, &k);
    if (wret == 0)
        wret = c->get_value(c, &v);
    if (wret != 0)
        return stor__wt_status(st, wret, "index cursor");
    if (cur->has_end) {
        int cmp = stor_ks_compare(k.data, k.size, cur->end.key, cur->end.key_len);
        if (cur->forward ? cmp > 0 : cmp < 0) {
            cur->done = true;
            *eof = true;
            return 0;
        }
    }
    const uint8_t *tb;
    size_t tblen;
    if (cur->idx->unique) {
        if (v.size < 8)
            return status_set(st, ERR_DataCorruptionDetected, "short unique index entry");
        *rid = stor__get_rid(v.data);
        tb = (const uint8_t *)v.data + 8;
        tblen = v.size - 8;
    } else {
        ST_RET(stor_ks_record_id(k.data, k.size, rid, st));
        tb = v.data;
        tblen = v.size;
    }
    if (key) {
        bson_destroy(key);
        ST_RET(stor_ks_decode(k.data, k.size, tb, tblen, cur->idx->desc_mask, key, st));
    }
    if (cur->last_len < k.size || cur->last == NULL) {
        free(cur->last);
        cur->last = malloc(k.size ? k.size : 1);
        INVARIANT(cur->last != NULL);
    }
    memcpy(cur->last, k.data, k.size);
    cur->last_len = k.size;
    return 0;
}

/* stor_index_cursor_save -- drop the WT position; the last key is remembered. */
int stor_index_cursor_save(stor_index_cursor_t *cur, status_t *st)
{
    if (cur->c == NULL)
        return 0;
    stor__cursor_put(cur->sess, cur->c);
    cur->c = NULL;
    if (cur->started && cur->last != NULL)
        cur->resume = true;
    return 0;
}

/* stor_index_cursor_restore -- the next call continues strictly after the last key. */
int stor_index_cursor_restore(stor_index_cursor_t *cur, status_t *st)
{
    if (cur->c != NULL)
        return 0;
    if (cur->idx->dropped)
        return status_set(st, ERR_QueryPlanKilled, "index dropped during the scan");
    return stor__cursor_get(cur->sess, cur->idx->uri, &cur->c, st);
}

/* stor_index_cursor_close -- NULL-safe. */
void stor_index_cursor_close(stor_index_cursor_t *cur)
{
    if (cur == NULL)
        return;
    if (cur->c != NULL)
        stor__cursor_put(cur->sess, cur->c);
    stor_ks_destroy(&cur->start);
    stor_ks_destroy(&cur->end);
    free(cur->last);
    free(cur);
}
