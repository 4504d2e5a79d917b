/*
 * catalog.c -- the durable catalog: one row per collection in
 * table:_mica_catalog (key = the collection's ident, value = BSON
 * {ns, uuid, options, ident, indexes: [{spec, ident, multikeyPaths}]}),
 * loaded into memory at open. create/drop/rename order their steps so a
 * crash leaves the old or the new state (README.md, "Crash consistency"):
 * tables are created before the row that names them and dropped after the
 * row is gone; the start-up sweep drops any table no row names.
 */
#include "storage/storage_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* stor__next_ident -- idents are never reused within a run; orphans are swept at start. */
void stor__next_ident(stor_engine_t *eng, const char *kind, char out[STOR_IDENT_MAX])
{
    uint64_t n = atomic_fetch_add(&eng->next_ident, 1);
    snprintf(out, STOR_IDENT_MAX, "%s-%" PRIu64, kind, n);
}

/* stor__index_free -- releases the matcher through the caller's ops. */
void stor__index_free(stor_engine_t *eng, stor_index_t *idx)
{
    if (idx == NULL)
        return;
    if (idx->matcher != NULL && eng->opts.matcher_ops.destroy != NULL)
        eng->opts.matcher_ops.destroy(idx->matcher);
    free(idx->name);
    bsonu_wc_proj_destroy(&idx->wc_proj);
    bson_destroy(&idx->spec);
    bson_destroy(&idx->key_pattern);
    bson_destroy(&idx->multikey_paths);
    free(idx);
}

static void collection_free(stor_engine_t *eng, stor_collection_t *coll)
{
    stor_index_t *lists[2] = {coll->indexes, coll->dropped_indexes};
    for (int l = 0; l < 2; l++) {
        while (lists[l]) {
            stor_index_t *i = lists[l];
            lists[l] = i->next;
            stor__index_free(eng, i);
        }
    }
    free(coll->ns);
    bson_destroy(&coll->options);
    free(coll);
}

/* stor__catalog_free -- at close; every handle dies here. */
void stor__catalog_free(stor_engine_t *eng)
{
    stor_collection_t *lists[2] = {eng->colls, eng->graveyard};
    for (int l = 0; l < 2; l++) {
        while (lists[l]) {
            stor_collection_t *c = lists[l];
            lists[l] = c->next;
            collection_free(eng, c);
        }
    }
    eng->colls = eng->graveyard = NULL;
}

/* stor__index_from_spec -- parse {key, name, unique, sparse, partialFilterExpression}. */
int stor__index_from_spec(stor_engine_t *eng, stor_collection_t *coll, const bson_t *spec,
                          const char *ident, const bson_t *mk_paths, stor_index_t **out,
                          status_t *st)
{
    *out = NULL;
    bson_iter_t it;
    const char *name = NULL;
    const uint8_t *kdata = NULL, *fdata = NULL, *wdata = NULL;
    uint32_t klen = 0, flen = 0, wlen = 0;
    bool unique = false, sparse = false;
    if (!bson_iter_init(&it, spec))
        return status_set(st, ERR_InvalidBSON, "invalid index spec");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "name") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            name = bson_iter_utf8(&it, NULL);
        else if (strcmp(k, "key") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &klen, &kdata);
        else if (strcmp(k, "unique") == 0)
            unique = bson_iter_as_bool(&it);
        else if (strcmp(k, "sparse") == 0)
            sparse = bson_iter_as_bool(&it);
        else if (strcmp(k, "partialFilterExpression") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &flen, &fdata);
        else if (strcmp(k, "wildcardProjection") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &wlen, &wdata);
    }
    if (name == NULL || name[0] == '\0')
        return status_set(st, ERR_CannotCreateIndex, "index spec must have a non-empty 'name'");
    if (kdata == NULL || klen <= 5)
        return status_set(st, ERR_CannotCreateIndex, "index spec 'key' must be a non-empty object");
    stor_index_t *idx = calloc(1, sizeof(*idx));
    INVARIANT(idx != NULL);
    idx->coll = coll;
    idx->since_ms = time_now_ms();
    bson_init(&idx->multikey_paths);
    idx->name = strdup(name);
    bson_copy_to(spec, &idx->spec);
    bson_t kp; /* a bson_t must never be copied by value: copy_to from a view */
    bson_init_static(&kp, kdata, klen);
    bson_copy_to(&kp, &idx->key_pattern);
    idx->nfields = (int)bson_count_keys(&idx->key_pattern);
    bson_iter_t kit;
    int fi = 0;
    bson_iter_init(&kit, &idx->key_pattern);
    while (bson_iter_next(&kit)) {
        int bad = 0;
        if (BSON_ITER_HOLDS_UTF8(&kit))
            bad = status_set(st, ERR_CannotCreateIndex, "Index type '%s' is not supported",
                             bson_iter_utf8(&kit, NULL));
        else if (!BSON_ITER_HOLDS_NUMBER(&kit))
            bad = status_set(st, ERR_CannotCreateIndex,
                             "Values in the index key pattern must be numbers: %s",
                             bson_iter_key(&kit));
        else if (bson_iter_as_double(&kit) == 0)
            bad = status_set(st, ERR_CannotCreateIndex,
                             "Values in v:2 index key pattern cannot be 0.");
        else if (fi >= BSONU_INDEX_MAX_FIELDS)
            bad = status_set(st, ERR_CannotCreateIndex, "Index key pattern has more than %d fields",
                             BSONU_INDEX_MAX_FIELDS);
        if (bad) {
            stor__index_free(eng, idx);
            return bad;
        }
        if (bson_iter_as_double(&kit) < 0)
            idx->desc_mask |= 1u << fi;
        fi++;
    }
    if (bsonu_is_wildcard_pattern(&idx->key_pattern)) {
        /* keys are {"": path, "": value}: the direction applies to the value (field 1) */
        bson_t wp;
        int ret = 0;
        if (idx->nfields != 1)
            ret =
                status_set(st, ERR_CannotCreateIndex, "wildcard indexes do not allow compounding");
        else if (wdata != NULL && !bson_init_static(&wp, wdata, wlen))
            ret = status_set(st, ERR_InvalidBSON, "invalid wildcardProjection");
        if (ret == 0)
            ret = bsonu_wc_proj_parse(&idx->key_pattern, wdata ? &wp : NULL, &idx->wc_proj, st);
        if (ret != 0) {
            stor__index_free(eng, idx);
            return ret;
        }
        idx->wildcard = true;
        idx->desc_mask = idx->desc_mask ? 2u : 0u;
    }
    idx->is_id = strcmp(name, "_id_") == 0;
    idx->unique = unique || idx->is_id;
    idx->sparse = sparse;
    snprintf(idx->ident, sizeof(idx->ident), "%s", ident);
    snprintf(idx->uri, sizeof(idx->uri), "table:%s", ident);
    if (mk_paths != NULL) {
        bson_destroy(&idx->multikey_paths);
        bson_copy_to(mk_paths, &idx->multikey_paths);
    }
    if (fdata != NULL) {
        idx->partial = true;
        const stor_matcher_ops_t *ops = &eng->opts.matcher_ops;
        if (ops->compile == NULL || ops->matches == NULL) {
            stor__index_free(eng, idx);
            return status_set(st, ERR_BadValue,
                              "partial indexes need a filter matcher (none configured)");
        }
        bson_t filter;
        bson_init_static(&filter, fdata, flen);
        int ret = ops->compile(ops->ctx, &filter, &idx->matcher, st);
        if (ret != 0) {
            idx->matcher = NULL;
            stor__index_free(eng, idx);
            return ret;
        }
    }
    *out = idx;
    return 0;
}

/* catalog_doc -- serialise coll as its catalog row, with this unit's multikey paths. */
static void catalog_doc(stor_session_t *sess, stor_collection_t *coll, bson_t *out)
{
    bson_init(out);
    BSON_APPEND_UTF8(out, "ns", coll->ns);
    BSON_APPEND_BINARY(out, "uuid", BSON_SUBTYPE_UUID, coll->uuid, 16);
    BSON_APPEND_DOCUMENT(out, "options", &coll->options);
    BSON_APPEND_UTF8(out, "ident", coll->ident);
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(out, "indexes", &arr);
    int n = 0;
    for (stor_index_t *idx = coll->indexes; idx; idx = idx->next, n++) {
        char key[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)n, &kp, key, sizeof(key));
        bson_t e, mk;
        bson_append_document_begin(&arr, kp, -1, &e);
        BSON_APPEND_DOCUMENT(&e, "spec", &idx->spec);
        BSON_APPEND_UTF8(&e, "ident", idx->ident);
        BSON_APPEND_DOCUMENT_BEGIN(&e, "multikeyPaths", &mk);
        bson_iter_t it;
        bson_iter_init(&it, &idx->multikey_paths);
        while (bson_iter_next(&it))
            BSON_APPEND_BOOL(&mk, bson_iter_key(&it), true);
        if (sess != NULL) {
            for (size_t i = 0; i < sess->uow.nmk; i++) {
                if (sess->uow.mk[i].idx != idx)
                    continue;
                if (!bson_iter_init_find(&it, &idx->multikey_paths, sess->uow.mk[i].path))
                    BSON_APPEND_BOOL(&mk, sess->uow.mk[i].path, true);
            }
        }
        bson_append_document_end(&e, &mk);
        bson_append_document_end(&arr, &e);
    }
    bson_append_array_end(out, &arr);
}

static int catalog_put(WT_SESSION *wt, WT_CURSOR *c, const char *key, const bson_t *doc,
                       status_t *st)
{
    WT_ITEM v = {.data = bson_get_data(doc), .size = doc->len};
    c->set_key(c, key);
    c->set_value(c, &v);
    return stor__wt_status(st, c->insert(c), "catalog write");
}

/* stor__catalog_write -- within the session's (implicit or explicit) transaction. */
int stor__catalog_write(stor_session_t *sess, stor_collection_t *coll, status_t *st)
{
    WT_CURSOR *c;
    ST_RET(stor__cursor_get(sess, STOR_CATALOG_URI, &c, st));
    bson_t doc;
    catalog_doc(sess, coll, &doc);
    int ret = catalog_put(sess->wt, c, coll->ident, &doc, st);
    bson_destroy(&doc);
    stor__cursor_put(sess, c);
    return ret;
}

/* last_rid -- the largest RecordId of a table (0 if empty). */
static int last_rid(WT_SESSION *wt, const char *uri, int64_t *rid, status_t *st)
{
    WT_CURSOR *c;
    *rid = 0;
    int ret = wt->open_cursor(wt, uri, NULL, NULL, &c);
    if (ret != 0)
        return stor__wt_status(st, ret, "open_cursor");
    ret = c->prev(c);
    if (ret == 0)
        ret = c->get_key(c, rid);
    else if (ret == WT_NOTFOUND)
        ret = 0;
    c->close(c);
    return stor__wt_status(st, ret, "last record");
}

/* parse_row -- one catalog row into a collection structure. */
static int parse_row(stor_engine_t *eng, const char *key, const bson_t *doc,
                     stor_collection_t **out, status_t *st)
{
    bson_iter_t it, arr;
    *out = NULL;
    stor_collection_t *coll = calloc(1, sizeof(*coll));
    INVARIANT(coll != NULL);
    coll->eng = eng;
    bson_init(&coll->options);
    snprintf(coll->ident, sizeof(coll->ident), "%s", key);
    snprintf(coll->uri, sizeof(coll->uri), "table:%s", key);
    stor_index_t **tail = &coll->indexes;
    int ret = 0;
    if (!bson_iter_init(&it, doc)) {
        ret = status_set(st, ERR_DataCorruptionDetected, "catalog row %s is not BSON", key);
        goto err;
    }
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "ns") == 0 && BSON_ITER_HOLDS_UTF8(&it)) {
            coll->ns = strdup(bson_iter_utf8(&it, NULL));
        } else if (strcmp(k, "uuid") == 0 && BSON_ITER_HOLDS_BINARY(&it)) {
            const uint8_t *b;
            uint32_t n;
            bson_iter_binary(&it, NULL, &n, &b);
            if (n == 16)
                memcpy(coll->uuid, b, 16);
        } else if (strcmp(k, "options") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            const uint8_t *d;
            uint32_t n;
            bson_iter_document(&it, &n, &d);
            bson_destroy(&coll->options);
            bson_t tmp;
            bson_init_static(&tmp, d, n);
            bson_copy_to(&tmp, &coll->options);
        } else if (strcmp(k, "indexes") == 0 && BSON_ITER_HOLDS_ARRAY(&it) &&
                   bson_iter_recurse(&it, &arr)) {
            while (bson_iter_next(&arr)) {
                bson_iter_t e;
                bson_t spec, mk;
                const char *ident = NULL;
                bool have_spec = false, have_mk = false;
                if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &e))
                    continue;
                while (bson_iter_next(&e)) {
                    const uint8_t *d;
                    uint32_t n;
                    const char *ek = bson_iter_key(&e);
                    if (strcmp(ek, "spec") == 0 && BSON_ITER_HOLDS_DOCUMENT(&e)) {
                        bson_iter_document(&e, &n, &d);
                        have_spec = bson_init_static(&spec, d, n);
                    } else if (strcmp(ek, "multikeyPaths") == 0 && BSON_ITER_HOLDS_DOCUMENT(&e)) {
                        bson_iter_document(&e, &n, &d);
                        have_mk = bson_init_static(&mk, d, n);
                    } else if (strcmp(ek, "ident") == 0 && BSON_ITER_HOLDS_UTF8(&e)) {
                        ident = bson_iter_utf8(&e, NULL);
                    }
                }
                if (!have_spec || ident == NULL) {
                    ret = status_set(st, ERR_DataCorruptionDetected,
                                     "catalog row %s has a malformed index", key);
                    goto err;
                }
                stor_index_t *idx;
                ST_ERR(
                    stor__index_from_spec(eng, coll, &spec, ident, have_mk ? &mk : NULL, &idx, st));
                *tail = idx;
                tail = &idx->next;
            }
        }
    }
    if (coll->ns == NULL) {
        ret = status_set(st, ERR_DataCorruptionDetected, "catalog row %s has no ns", key);
        goto err;
    }
    *out = coll;
    return 0;
err:
    collection_free(eng, coll);
    return ret;
}

static bool ident_known(stor_engine_t *eng, const char *ident)
{
    for (stor_collection_t *c = eng->colls; c; c = c->next) {
        if (strcmp(c->ident, ident) == 0)
            return true;
        for (stor_index_t *i = c->indexes; i; i = i->next)
            if (strcmp(i->ident, ident) == 0)
                return true;
    }
    return false;
}

/* sweep_orphans -- tables a crash left between their create/drop and the catalog row. */
static int sweep_orphans(stor_engine_t *eng, WT_SESSION *wt, status_t *st)
{
    WT_CURSOR *c;
    int ret = wt->open_cursor(wt, "metadata:", NULL, NULL, &c);
    if (ret != 0)
        return stor__wt_status(st, ret, "open metadata");
    char **orphans = NULL;
    size_t n = 0;
    uint64_t max_ident = 0;
    while ((ret = c->next(c)) == 0) {
        const char *key;
        if (c->get_key(c, &key) != 0)
            continue;
        if (strncmp(key, "table:", 6) != 0)
            continue;
        const char *ident = key + 6;
        const char *dash = NULL;
        if (strncmp(ident, "collection-", 11) == 0)
            dash = ident + 10;
        else if (strncmp(ident, "index-", 6) == 0)
            dash = ident + 5;
        else if (strncmp(ident, "sidewrites-", 11) == 0)
            dash = ident + 10; /* an index build's side table: never named by a row */
        if (dash == NULL)
            continue;
        uint64_t num = strtoull(dash + 1, NULL, 10);
        if (num > max_ident)
            max_ident = num;
        if (!ident_known(eng, ident)) {
            orphans = realloc(orphans, (n + 1) * sizeof(*orphans));
            INVARIANT(orphans != NULL);
            orphans[n++] = strdup(key);
        }
    }
    c->close(c);
    atomic_store(&eng->next_ident, max_ident + 1);
    for (size_t i = 0; i < n; i++) {
        int dret = wt->drop(wt, orphans[i], "force=true");
        LOG(INFO, STORAGE, 22112, "Dropped orphan table", "uri", BCON_UTF8(orphans[i]), "result",
            BCON_INT32(dret));
        free(orphans[i]);
    }
    free(orphans);
    return ret == WT_NOTFOUND ? 0 : stor__wt_status(st, ret, "metadata scan");
}

/* align_logging -- a dbpath opened in the other mode: switch its tables' logging. */
static int align_logging(stor_engine_t *eng, WT_SESSION *wt, const char *ns, const char *ident,
                         status_t *st)
{
    bool want_logged = stor__ns_logged(eng, ns);
    WT_CURSOR *m;
    int ret = wt->open_cursor(wt, "metadata:", NULL, NULL, &m);
    if (ret != 0)
        return stor__wt_status(st, ret, "open metadata");
    char key[STOR_URI_MAX + 8];
    snprintf(key, sizeof(key), "file:%s.wt", ident);
    m->set_key(m, key);
    const char *cfg = NULL;
    bool logged = true;
    if ((ret = m->search(m)) == 0 && (ret = m->get_value(m, &cfg)) == 0)
        logged = strstr(cfg, "log=(enabled=false)") == NULL;
    m->close(m);
    if (ret != 0)
        return stor__wt_status(st, ret, "read table metadata");
    if (logged == want_logged)
        return 0;
    char uri[STOR_URI_MAX];
    snprintf(uri, sizeof(uri), "table:%s", ident);
    ret = wt->alter(wt, uri, want_logged ? "log=(enabled=true)" : "log=(enabled=false)");
    if (ret != 0)
        return stor__wt_status(st, ret, "alter table logging");
    LOG(INFO, STORAGE, 22117, "Changed table logging for the storage mode", "uri", BCON_UTF8(uri),
        "logged", BCON_BOOL(want_logged));
    return 0;
}

/* stor__catalog_load -- read every row, then sweep orphans and recover RecordIds. */
int stor__catalog_load(stor_engine_t *eng, WT_SESSION *wt, status_t *st)
{
    WT_CURSOR *c;
    int ret = wt->open_cursor(wt, STOR_CATALOG_URI, NULL, NULL, &c);
    if (ret != 0)
        return stor__wt_status(st, ret, "open catalog");
    stor_collection_t **tail = &eng->colls;
    while ((ret = c->next(c)) == 0) {
        const char *key;
        WT_ITEM v;
        if ((ret = c->get_key(c, &key)) != 0 || (ret = c->get_value(c, &v)) != 0)
            break;
        if (strcmp(key, STOR_SIZES_KEY) == 0)
            continue;
        bson_t doc;
        if (!bson_init_static(&doc, v.data, v.size)) {
            c->close(c);
            return status_set(st, ERR_DataCorruptionDetected, "catalog row %s is not BSON", key);
        }
        stor_collection_t *coll;
        if (parse_row(eng, key, &doc, &coll, st) != 0) {
            c->close(c);
            return st->code;
        }
        *tail = coll;
        tail = &coll->next;
    }
    c->close(c);
    if (ret != WT_NOTFOUND)
        return stor__wt_status(st, ret, "catalog scan");
    ST_RET(sweep_orphans(eng, wt, st));
    for (stor_collection_t *coll = eng->colls; coll; coll = coll->next) {
        ST_RET(align_logging(eng, wt, coll->ns, coll->ident, st));
        for (stor_index_t *idx = coll->indexes; idx; idx = idx->next)
            ST_RET(align_logging(eng, wt, coll->ns, idx->ident, st));
        int64_t rid;
        ST_RET(last_rid(wt, coll->uri, &rid, st));
        atomic_store(&coll->next_rid, rid + 1);
    }
    return 0;
}

/* stor__recount -- a full scan per collection; only after an unclean shutdown or rollback. */
int stor__recount(stor_engine_t *eng, WT_SESSION *wt, status_t *st)
{
    int ret = 0;
    pthread_rwlock_rdlock(&eng->cat_lock);
    for (stor_collection_t *coll = eng->colls; coll && ret == 0; coll = coll->next) {
        WT_CURSOR *c;
        int wret = wt->open_cursor(wt, coll->uri, NULL, NULL, &c);
        if (wret != 0) {
            ret = stor__wt_status(st, wret, "open_cursor");
            break;
        }
        int64_t n = 0, size = 0, rid = 0;
        while ((wret = c->next(c)) == 0) {
            WT_ITEM v;
            c->get_key(c, &rid);
            c->get_value(c, &v);
            n++;
            size += (int64_t)v.size;
        }
        c->close(c);
        if (wret != WT_NOTFOUND) {
            ret = stor__wt_status(st, wret, "recount");
            break;
        }
        atomic_store(&coll->count, n);
        atomic_store(&coll->data_size, size);
        if (atomic_load(&coll->next_rid) <= rid)
            atomic_store(&coll->next_rid, rid + 1);
    }
    pthread_rwlock_unlock(&eng->cat_lock);
    if (ret == 0)
        LOG(INFO, STORAGE, 22113, "Recounted collection sizes");
    return ret;
}

/* stor__save_sizes -- {ident: {count, size}} in the catalog's sizes row. */
int stor__save_sizes(stor_engine_t *eng, WT_SESSION *wt, status_t *st)
{
    bson_t doc;
    bson_init(&doc);
    for (stor_collection_t *coll = eng->colls; coll; coll = coll->next) {
        bson_t e;
        BSON_APPEND_DOCUMENT_BEGIN(&doc, coll->ident, &e);
        BSON_APPEND_INT64(&e, "count", atomic_load(&coll->count));
        BSON_APPEND_INT64(&e, "size", atomic_load(&coll->data_size));
        bson_append_document_end(&doc, &e);
    }
    WT_CURSOR *c;
    int ret = wt->open_cursor(wt, STOR_CATALOG_URI, NULL, NULL, &c);
    if (ret == 0) {
        ret = catalog_put(wt, c, STOR_SIZES_KEY, &doc, st);
        c->close(c);
    } else {
        ret = stor__wt_status(st, ret, "open catalog");
    }
    bson_destroy(&doc);
    return ret;
}

/* stor__load_sizes -- *ok only if every collection has a saved entry. */
int stor__load_sizes(stor_engine_t *eng, WT_SESSION *wt, bool *ok, status_t *st)
{
    *ok = false;
    WT_CURSOR *c;
    int ret = wt->open_cursor(wt, STOR_CATALOG_URI, NULL, NULL, &c);
    if (ret != 0)
        return stor__wt_status(st, ret, "open catalog");
    c->set_key(c, STOR_SIZES_KEY);
    ret = c->search(c);
    if (ret == WT_NOTFOUND) {
        c->close(c);
        return 0;
    }
    WT_ITEM v;
    if (ret == 0)
        ret = c->get_value(c, &v);
    if (ret != 0) {
        c->close(c);
        return stor__wt_status(st, ret, "read sizes");
    }
    bson_t doc;
    bool all = bson_init_static(&doc, v.data, v.size);
    for (stor_collection_t *coll = eng->colls; coll && all; coll = coll->next) {
        bson_iter_t it, e;
        int64_t n = -1, size = -1;
        if (bson_iter_init_find(&it, &doc, coll->ident) && BSON_ITER_HOLDS_DOCUMENT(&it) &&
            bson_iter_recurse(&it, &e)) {
            while (bson_iter_next(&e)) {
                if (strcmp(bson_iter_key(&e), "count") == 0)
                    n = bson_iter_as_int64(&e);
                else if (strcmp(bson_iter_key(&e), "size") == 0)
                    size = bson_iter_as_int64(&e);
            }
        }
        if (n < 0 || size < 0)
            all = false;
        atomic_store(&coll->count, n);
        atomic_store(&coll->data_size, size);
    }
    c->close(c);
    *ok = all;
    return 0;
}

/* find_ns -- under the catalog lock. */
static stor_collection_t *find_ns(stor_engine_t *eng, const char *ns)
{
    for (stor_collection_t *c = eng->colls; c; c = c->next)
        if (strcmp(c->ns, ns) == 0)
            return c;
    return NULL;
}

/*
 * find_db_other_case -- a collection of a database whose name differs from
 * ns's database only in case (MongoDB refuses to create such a database:
 * DatabaseDifferCase, 13297, since names map to case-insensitive file systems).
 */
static const stor_collection_t *find_db_other_case(stor_engine_t *eng, const char *ns)
{
    int nl = stor__ns_db_len(ns);
    for (const stor_collection_t *c = eng->colls; c; c = c->next) {
        int cl = stor__ns_db_len(c->ns);
        if (cl == nl && strncmp(c->ns, ns, (size_t)nl) != 0 &&
            strncasecmp(c->ns, ns, (size_t)nl) == 0)
            return c;
    }
    return NULL;
}

static int check_ddl(stor_session_t *sess, const char *ns, status_t *st)
{
    if (stor__ns_db_len(ns) < 0)
        return status_set(st, ERR_InvalidNamespace, "Invalid namespace specified '%s'",
                          ns ? ns : "");
    if (strcmp(ns, STOR_OPLOG_NS) == 0)
        return status_set(st, ERR_IllegalOperation, "%s is managed by the oplog API", ns);
    if (sess->uow.active)
        return status_set(st, ERR_OperationNotSupportedInTransaction,
                          "catalog changes cannot run inside a unit of work");
    return 0;
}

/* stor_collection_create -- tables first, then the catalog row (README). */
int stor_collection_create(stor_session_t *sess, const char *ns, const bson_t *options,
                           stor_collection_t **out, status_t *st)
{
    return stor_collection_create_uuid(sess, ns, options, NULL, out, st);
}

/* stor_collection_create_uuid -- see storage.h (a secondary keeps the primary's UUID). */
int stor_collection_create_uuid(stor_session_t *sess, const char *ns, const bson_t *options,
                                const uint8_t *uuid, stor_collection_t **out, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    if (out)
        *out = NULL;
    ST_RET(check_ddl(sess, ns, st));
    int ret = 0;
    bool autoid = true;
    bson_iter_t it;
    if (options != NULL && bson_iter_init_find(&it, options, "autoIndexId"))
        autoid = bson_iter_as_bool(&it);

    pthread_rwlock_wrlock(&eng->cat_lock);
    if (find_ns(eng, ns) != NULL) {
        pthread_rwlock_unlock(&eng->cat_lock);
        return status_set(st, ERR_NamespaceExists, "Collection %s already exists.", ns);
    }
    const stor_collection_t *other = find_db_other_case(eng, ns);
    if (other != NULL) {
        int dl = stor__ns_db_len(other->ns), nl = stor__ns_db_len(ns);
        pthread_rwlock_unlock(&eng->cat_lock);
        return status_set(st, ERR_DatabaseDifferCase,
                          "db already exists with different case already have: [%.*s] trying to "
                          "create [%.*s]",
                          dl, other->ns, nl, ns);
    }
    stor_collection_t *coll = calloc(1, sizeof(*coll));
    INVARIANT(coll != NULL);
    coll->eng = eng;
    coll->ns = strdup(ns);
    if (uuid != NULL)
        memcpy(coll->uuid, uuid, 16);
    else
        stor__gen_uuid(coll->uuid);
    if (options)
        bson_copy_to(options, &coll->options);
    else
        bson_init(&coll->options);
    stor__next_ident(eng, "collection", coll->ident);
    snprintf(coll->uri, sizeof(coll->uri), "table:%s", coll->ident);
    atomic_init(&coll->next_rid, 1);
    bool created_coll = false;
    int wret = sess->wt->create(sess->wt, coll->uri, stor__table_config(eng, false, ns));
    if (wret != 0) {
        ret = stor__wt_status(st, wret, "create collection table");
        goto err;
    }
    created_coll = true;
    if (autoid) {
        char ident[STOR_IDENT_MAX];
        stor__next_ident(eng, "index", ident);
        bson_t spec = BSON_INITIALIZER;
        bson_t key;
        BSON_APPEND_INT32(&spec, "v", 2);
        BSON_APPEND_DOCUMENT_BEGIN(&spec, "key", &key);
        BSON_APPEND_INT32(&key, "_id", 1);
        bson_append_document_end(&spec, &key);
        BSON_APPEND_UTF8(&spec, "name", "_id_");
        ret = stor__index_from_spec(eng, coll, &spec, ident, NULL, &coll->indexes, st);
        bson_destroy(&spec);
        if (ret != 0)
            goto err;
        wret = sess->wt->create(sess->wt, coll->indexes->uri, stor__table_config(eng, true, ns));
        if (wret != 0) {
            ret = stor__wt_status(st, wret, "create index table");
            goto err;
        }
    }
    bool implicit;
    ST_ERR(stor__uow_enter(sess, &implicit, st));
    ret = stor__catalog_write(sess, coll, st);
    if (ret == 0)
        (void)FP_PAUSE(hangBeforeCatalogCommit, ns, 0, NULL);
    ST_ERR(stor__uow_leave(sess, implicit, ret, st));
    (void)FP_PAUSE(hangAfterCatalogCommit, ns, 0, NULL);
    coll->next = eng->colls;
    eng->colls = coll;
    pthread_rwlock_unlock(&eng->cat_lock);
    LOG(INFO, STORAGE, 22114, "createCollection", "namespace", BCON_UTF8(ns), "ident",
        BCON_UTF8(coll->ident));
    if (out)
        *out = coll;
    return 0;
err:
    pthread_rwlock_unlock(&eng->cat_lock);
    for (stor_index_t *i = coll->indexes; i; i = i->next)
        stor__drop_uri(eng, sess->wt, i->uri);
    if (created_coll)
        stor__drop_uri(eng, sess->wt, coll->uri);
    collection_free(eng, coll);
    return ret;
}

/* stor_collection_lookup -- a live handle by namespace. */
int stor_collection_lookup(stor_engine_t *eng, const char *ns, stor_collection_t **out,
                           status_t *st)
{
    pthread_rwlock_rdlock(&eng->cat_lock);
    *out = ns ? find_ns(eng, ns) : NULL;
    pthread_rwlock_unlock(&eng->cat_lock);
    if (*out == NULL)
        return status_set(st, ERR_NamespaceNotFound, "ns %s does not exist", ns ? ns : "");
    return 0;
}

/* bury -- unlink coll from the live list into the graveyard (under the write lock). */
static void bury(stor_engine_t *eng, stor_collection_t *coll)
{
    for (stor_collection_t **pp = &eng->colls; *pp; pp = &(*pp)->next) {
        if (*pp == coll) {
            *pp = coll->next;
            break;
        }
    }
    coll->dropped = true;
    for (stor_index_t *i = coll->indexes; i; i = i->next)
        i->dropped = true;
    coll->next = eng->graveyard;
    eng->graveyard = coll;
}

static void drop_tables(stor_session_t *sess, stor_collection_t *coll)
{
    for (stor_index_t *i = coll->indexes; i; i = i->next) {
        stor__session_close_cursors(sess, i->uri);
        stor__drop_uri(sess->eng, sess->wt, i->uri);
    }
    stor__session_close_cursors(sess, coll->uri);
    stor__drop_uri(sess->eng, sess->wt, coll->uri);
}

static int delete_row(stor_session_t *sess, const char *ident, status_t *st)
{
    WT_CURSOR *c;
    ST_RET(stor__cursor_get(sess, STOR_CATALOG_URI, &c, st));
    c->set_key(c, ident);
    int ret = stor__wt_status(st, c->remove(c), "catalog remove");
    stor__cursor_put(sess, c);
    return ret;
}

/* stor_collection_drop -- the row goes first (commit), then the tables. */
int stor_collection_drop(stor_session_t *sess, const char *ns, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    ST_RET(check_ddl(sess, ns, st));
    int ret = 0;
    pthread_rwlock_wrlock(&eng->cat_lock);
    stor_collection_t *coll = find_ns(eng, ns);
    if (coll == NULL) {
        pthread_rwlock_unlock(&eng->cat_lock);
        return status_set(st, ERR_NamespaceNotFound, "ns not found");
    }
    bool implicit;
    ST_ERR(stor__uow_enter(sess, &implicit, st));
    ret = delete_row(sess, coll->ident, st);
    if (ret == 0)
        (void)FP_PAUSE(hangBeforeCatalogCommit, ns, 0, NULL);
    ST_ERR(stor__uow_leave(sess, implicit, ret, st));
    bury(eng, coll);
    pthread_rwlock_unlock(&eng->cat_lock);
    (void)FP_PAUSE(hangAfterCatalogCommit, ns, 0, NULL);
    drop_tables(sess, coll);
    LOG(INFO, STORAGE, 22115, "dropCollection", "namespace", BCON_UTF8(ns));
    return 0;
err:
    pthread_rwlock_unlock(&eng->cat_lock);
    return ret;
}

/* stor_collection_rename -- a catalog-only change: one transaction rewrites the rows. */
int stor_collection_rename(stor_session_t *sess, const char *from, const char *to, bool drop_target,
                           status_t *st)
{
    stor_engine_t *eng = sess->eng;
    ST_RET(check_ddl(sess, from, st));
    ST_RET(check_ddl(sess, to, st));
    int ret = 0;
    pthread_rwlock_wrlock(&eng->cat_lock);
    stor_collection_t *src = find_ns(eng, from);
    stor_collection_t *dst = find_ns(eng, to);
    if (src == NULL) {
        pthread_rwlock_unlock(&eng->cat_lock);
        return status_set(st, ERR_NamespaceNotFound, "source namespace does not exist");
    }
    if (src == dst) {
        pthread_rwlock_unlock(&eng->cat_lock);
        return status_set(st, ERR_IllegalOperation, "Can't rename a collection to itself");
    }
    if (src->builds != NULL || (dst != NULL && dst->builds != NULL)) {
        pthread_rwlock_unlock(&eng->cat_lock);
        return status_set(st, ERR_BackgroundOperationInProgressForNamespace,
                          "cannot perform operation: an index build is currently running for "
                          "collection %s",
                          src->builds != NULL ? from : to);
    }
    if (dst != NULL && !drop_target) {
        pthread_rwlock_unlock(&eng->cat_lock);
        return status_set(st, ERR_NamespaceExists, "target namespace exists");
    }
    char *old_ns = src->ns;
    src->ns = strdup(to);
    bool implicit;
    ret = stor__uow_enter(sess, &implicit, st);
    if (ret != 0)
        goto err;
    if (dst != NULL)
        ret = delete_row(sess, dst->ident, st);
    if (ret == 0)
        ret = stor__catalog_write(sess, src, st);
    if (ret == 0)
        (void)FP_PAUSE(hangBeforeCatalogCommit, from, 0, NULL);
    ret = stor__uow_leave(sess, implicit, ret, st);
    if (ret != 0)
        goto err;
    (void)FP_PAUSE(hangAfterCatalogCommit, from, 0, NULL);
    free(old_ns);
    if (dst != NULL)
        bury(eng, dst);
    pthread_rwlock_unlock(&eng->cat_lock);
    if (dst != NULL)
        drop_tables(sess, dst);
    LOG(INFO, STORAGE, 22116, "renameCollection", "from", BCON_UTF8(from), "to", BCON_UTF8(to));
    return 0;
err:
    free(src->ns);
    src->ns = old_ns;
    pthread_rwlock_unlock(&eng->cat_lock);
    return ret;
}

/* stor_collection_ns -- borrowed; changes on rename. */
const char *stor_collection_ns(const stor_collection_t *coll)
{
    return coll->ns;
}

/* stor_collection_uuid -- 16 bytes. */
const uint8_t *stor_collection_uuid(const stor_collection_t *coll)
{
    return coll->uuid;
}

/* stor_collection_options -- as given at create. */
const bson_t *stor_collection_options(const stor_collection_t *coll)
{
    return &coll->options;
}

/* stor_collection_count -- committed records. */
int64_t stor_collection_count(const stor_collection_t *coll)
{
    return atomic_load(&((stor_collection_t *)coll)->count);
}

/* stor_collection_data_size -- committed BSON bytes. */
int64_t stor_collection_data_size(const stor_collection_t *coll)
{
    return atomic_load(&((stor_collection_t *)coll)->data_size);
}

/* stor_list_databases -- databases exist while they hold a collection, as in MongoDB. */
int stor_list_databases(stor_engine_t *eng, bson_t *out, status_t *st)
{
    bson_init(out);
    bson_t names = BSON_INITIALIZER; /* name -> size, kept in first-seen order */
    pthread_rwlock_rdlock(&eng->cat_lock);
    for (stor_collection_t *c = eng->colls; c; c = c->next) {
        int dl = stor__ns_db_len(c->ns);
        char db[256];
        snprintf(db, sizeof(db), "%.*s", dl, c->ns);
        bson_iter_t it;
        int64_t size = atomic_load(&c->data_size);
        if (bson_iter_init_find(&it, &names, db))
            bson_iter_overwrite_int64(&it, bson_iter_int64(&it) + size);
        else
            BSON_APPEND_INT64(&names, db, size);
    }
    pthread_rwlock_unlock(&eng->cat_lock);
    bson_iter_t it;
    bson_iter_init(&it, &names);
    int n = 0;
    while (bson_iter_next(&it)) {
        char key[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)n++, &kp, key, sizeof(key));
        bson_t d;
        bson_append_document_begin(out, kp, -1, &d);
        BSON_APPEND_UTF8(&d, "name", bson_iter_key(&it));
        BSON_APPEND_INT64(&d, "sizeOnDisk", bson_iter_int64(&it));
        BSON_APPEND_BOOL(&d, "empty", bson_iter_int64(&it) == 0);
        bson_append_document_end(out, &d);
    }
    bson_destroy(&names);
    return 0;
}

/* stor_list_collections -- listCollections' shape per collection of db. */
int stor_list_collections(stor_engine_t *eng, const char *db, bson_t *out, status_t *st)
{
    bson_init(out);
    size_t dl = db ? strlen(db) : 0;
    int n = 0;
    pthread_rwlock_rdlock(&eng->cat_lock);
    for (stor_collection_t *c = eng->colls; c; c = c->next) {
        if (dl == 0 || strncmp(c->ns, db, dl) != 0 || c->ns[dl] != '.')
            continue;
        char key[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)n++, &kp, key, sizeof(key));
        bson_t d, info;
        bson_append_document_begin(out, kp, -1, &d);
        BSON_APPEND_UTF8(&d, "name", c->ns + dl + 1);
        BSON_APPEND_UTF8(&d, "type", "collection");
        BSON_APPEND_DOCUMENT(&d, "options", &c->options);
        BSON_APPEND_DOCUMENT_BEGIN(&d, "info", &info);
        BSON_APPEND_BOOL(&info, "readOnly", false);
        BSON_APPEND_BINARY(&info, "uuid", BSON_SUBTYPE_UUID, c->uuid, 16);
        bson_append_document_end(&d, &info);
        for (stor_index_t *i = c->indexes; i; i = i->next)
            if (i->is_id)
                BSON_APPEND_DOCUMENT(&d, "idIndex", &i->spec);
        bson_append_document_end(out, &d);
    }
    pthread_rwlock_unlock(&eng->cat_lock);
    return 0;
}

/* stor_list_indexes -- the specs, in creation order. */
int stor_list_indexes(stor_engine_t *eng, const char *ns, bson_t *out, status_t *st)
{
    bson_init(out);
    pthread_rwlock_rdlock(&eng->cat_lock);
    stor_collection_t *c = ns ? find_ns(eng, ns) : NULL;
    if (c == NULL) {
        pthread_rwlock_unlock(&eng->cat_lock);
        return status_set(st, ERR_NamespaceNotFound, "ns does not exist: %s", ns ? ns : "");
    }
    int n = 0;
    for (stor_index_t *i = c->indexes; i; i = i->next) {
        char key[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)n++, &kp, key, sizeof(key));
        BSON_APPEND_DOCUMENT(out, kp, &i->spec);
    }
    pthread_rwlock_unlock(&eng->cat_lock);
    return 0;
}
