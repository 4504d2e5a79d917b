/*
 * write.c -- the one write path (see write.h): document primitives that
 * report every write to the observer inside its unit of work, the document
 * operations the write commands, $out/$merge and the TTL monitor share
 * (insert with capped trimming, update one document, upsert, delete one
 * document), and the catalog changes, each reported as a command in the
 * oplog's shape. Nothing here builds a reply or knows a command's syntax.
 */
#include "mongod/write.h"

#include "mongod/ops.h"
#include "mongod/opstats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* The observer                                                              */
/* ======================================================================== */

/*
 * One observer, installed at start-up before the listener opens and left in
 * place until the process exits, so readers need no lock: the pointers are
 * written once while only the main thread runs.
 */
static micad_write_observer_fn g_observer;
static void *g_observer_ctx;

/* micad_write_set_observer -- before any write can happen (start-up). */
void micad_write_set_observer(micad_write_observer_fn fn, void *ctx)
{
    g_observer = fn;
    g_observer_ctx = ctx;
}

/* observe -- the one hook point: every write passes here. */
static int observe(stor_session_t *sess, const micad_write_event_t *ev, status_t *st)
{
    if (g_observer == NULL)
        return 0;
    return g_observer(g_observer_ctx, sess, ev, st);
}

static int observe_fn(stor_session_t *sess, void *arg, status_t *st)
{
    return observe(sess, arg, st);
}

/*
 * observe_command -- a catalog change is not transactional in storage, so
 * its event runs in a unit of work of its own just after the change. A crash
 * between the two leaves the change without its oplog entry: the window is
 * the commit of one small transaction (docs/replication.md lists it).
 */
static int observe_command(stor_session_t *sess, const char *ns, const uint8_t *uuid,
                           const bson_t *o, const bson_t *o2, status_t *st)
{
    if (g_observer == NULL)
        return 0;
    micad_write_event_t ev = {.kind = MICAD_WEV_COMMAND, .ns = ns, .uuid = uuid, .o = o, .o2 = o2};
    return micad_db_run_uow(NULL, sess, observe_fn, &ev, st);
}

/* coll_of -- the collection part of "db.coll". */
/*
 * Creates in flight. A collection is visible to other writers as soon as storage has
 * created it, but its create entry is logged right after, in a unit of work of its own:
 * another writer's insert could take an earlier timestamp than the create entry, and a
 * secondary, applying in timestamp order, would meet the insert before the collection
 * exists and skip it -- a write acknowledged at w: "majority" that the majority does not
 * hold. So a namespace is "pending" from before its storage create until its create entry
 * is logged, and a writer that finds the collection waits for that (pending_wait).
 */
typedef struct pending_create {
    struct pending_create *next;
    char ns[];
} pending_create_t;
static pthread_mutex_t g_pending_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_pending_cond = PTHREAD_COND_INITIALIZER;
static pending_create_t *g_pending;
static atomic_int g_pending_n; /* entries in g_pending: the common case reads only this */

static pending_create_t *pending_add(const char *ns)
{
    size_t len = strlen(ns) + 1;
    pending_create_t *p = malloc(sizeof(*p) + len);
    if (p == NULL)
        return NULL;
    memcpy(p->ns, ns, len);
    pthread_mutex_lock(&g_pending_lock);
    p->next = g_pending;
    g_pending = p;
    atomic_fetch_add(&g_pending_n, 1);
    pthread_mutex_unlock(&g_pending_lock);
    return p;
}

static void pending_remove(pending_create_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&g_pending_lock);
    for (pending_create_t **pp = &g_pending; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            atomic_fetch_sub(&g_pending_n, 1);
            break;
        }
    pthread_cond_broadcast(&g_pending_cond);
    pthread_mutex_unlock(&g_pending_lock);
    free(p);
}

/* pending_wait -- until no create of ns is in flight (only with an observer). */
static void pending_wait(const char *ns)
{
    if (g_observer == NULL || atomic_load(&g_pending_n) == 0)
        return;
    pthread_mutex_lock(&g_pending_lock);
    for (;;) {
        pending_create_t *p = g_pending;
        while (p != NULL && strcmp(p->ns, ns) != 0)
            p = p->next;
        if (p == NULL)
            break;
        pthread_cond_wait(&g_pending_cond, &g_pending_lock);
    }
    pthread_mutex_unlock(&g_pending_lock);
}

static const char *coll_of(const char *ns)
{
    const char *dot = strchr(ns, '.');
    return dot ? dot + 1 : ns;
}

/* ======================================================================== */
/* Document primitives                                                       */
/* ======================================================================== */

/* micad_write_insert -- record + indexes, then the event in the same unit. */
int micad_write_insert(stor_session_t *sess, stor_collection_t *coll, const bson_t *doc,
                       int64_t *rid, status_t *st)
{
    int64_t r;
    ST_RET(stor_record_insert(sess, coll, doc, &r, st));
    if (rid != NULL)
        *rid = r;
    micad_write_event_t ev = {.kind = MICAD_WEV_INSERT,
                              .ns = stor_collection_ns(coll),
                              .uuid = stor_collection_uuid(coll),
                              .doc = doc};
    ST_RET(observe(sess, &ev, st));
    micad_counters_inserted(1);
    return 0;
}

/* micad_write_update -- replace, then the event with both images. */
int micad_write_update(stor_session_t *sess, stor_collection_t *coll, int64_t rid,
                       const bson_t *before, const bson_t *after, status_t *st)
{
    ST_RET(stor_record_update(sess, coll, rid, after, st));
    micad_write_event_t ev = {.kind = MICAD_WEV_UPDATE,
                              .ns = stor_collection_ns(coll),
                              .uuid = stor_collection_uuid(coll),
                              .doc = after,
                              .before = before};
    ST_RET(observe(sess, &ev, st));
    micad_counters_updated(1);
    return 0;
}

/* micad_write_delete -- remove, then the event with the removed document. */
int micad_write_delete(stor_session_t *sess, stor_collection_t *coll, int64_t rid,
                       const bson_t *doc, status_t *st)
{
    ST_RET(stor_record_delete(sess, coll, rid, st));
    micad_write_event_t ev = {.kind = MICAD_WEV_DELETE,
                              .ns = stor_collection_ns(coll),
                              .uuid = stor_collection_uuid(coll),
                              .before = doc};
    ST_RET(observe(sess, &ev, st));
    micad_counters_deleted(1);
    return 0;
}

/* ======================================================================== */
/* Insert (with capped trimming)                                             */
/* ======================================================================== */

/* Capped-collection limits read from the collection's options. */
typedef struct capped {
    bool on;
    int64_t size; /* bytes */
    int64_t max;  /* documents, 0: none */
} capped_t;

static void capped_read(stor_collection_t *coll, capped_t *c)
{
    const bson_t *o = stor_collection_options(coll);
    bson_iter_t it;
    memset(c, 0, sizeof(*c));
    if (o == NULL || !bson_iter_init_find(&it, o, "capped") || !bson_iter_as_bool(&it))
        return;
    c->on = true;
    if (bson_iter_init_find(&it, o, "size"))
        c->size = bson_iter_as_int64(&it);
    if (bson_iter_init_find(&it, o, "max"))
        c->max = bson_iter_as_int64(&it);
}

/* micad_write_is_capped -- options.capped. */
bool micad_write_is_capped(stor_collection_t *coll)
{
    capped_t c;
    capped_read(coll, &c);
    return c.on;
}

/*
 * trim -- delete the oldest records while the collection (with the record
 * just inserted, not yet in the committed counters) is over its limits. The
 * new record itself is never removed. The deletes are observed like any
 * other, so members that apply the oplog do not trim on their own.
 */
static int trim(stor_session_t *sess, stor_collection_t *coll, const capped_t *c, int64_t new_rid,
                int64_t added_bytes, status_t *st)
{
    int64_t count = stor_collection_count(coll) + 1;
    int64_t size = stor_collection_data_size(coll) + added_bytes;
    if (!((c->max > 0 && count > c->max) || (c->size > 0 && size > c->size)))
        return 0;
    stor_cursor_t *cur = NULL;
    int ret = 0;
    ST_RET(stor_cursor_open(sess, coll, true, &cur, st));
    while ((c->max > 0 && count > c->max) || (c->size > 0 && size > c->size)) {
        int64_t rid;
        bson_t view, doc;
        bool eof;
        ST_ERR(stor_cursor_next(cur, &rid, &view, &eof, st));
        if (eof || rid == new_rid)
            break;
        int64_t len = view.len;
        bson_copy_to(&view, &doc); /* the view dies at the delete */
        ret = micad_write_delete(sess, coll, rid, &doc, st);
        bson_destroy(&doc);
        if (ret != 0)
            goto err;
        count--;
        size -= len;
    }
err:
    stor_cursor_close(cur);
    return ret;
}

typedef struct insert_job {
    stor_collection_t *coll;
    const bson_t *doc;
    capped_t capped;
} insert_job_t;

static int insert_fn(stor_session_t *sess, void *arg, status_t *st)
{
    insert_job_t *j = arg;
    int64_t rid;
    ST_RET(micad_write_insert(sess, j->coll, j->doc, &rid, st));
    if (j->capped.on)
        ST_RET(trim(sess, j->coll, &j->capped, rid, j->doc->len, st));
    return 0;
}

/* micad_write_insert_one -- one unit of work: the insert and any trimming. */
int micad_write_insert_one(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                           const bson_t *doc, status_t *st)
{
    insert_job_t j = {coll, doc, {0}};
    capped_read(coll, &j.capped);
    return micad_db_run_uow(op, sess, insert_fn, &j, st);
}

/* ======================================================================== */
/* Update one document                                                       */
/* ======================================================================== */

/* update_doc_fn -- the unit of work for one document. */
static int update_doc_fn(stor_session_t *sess, void *arg, status_t *st)
{
    micad_update_job_t *j = arg;
    bson_t doc;
    bool found;
    int ret = 0;
    qry_match_details_t det = {0};

    j->matched = j->modified = false;
    bson_reinit(&j->before);
    bson_reinit(&j->after);
    ST_RET(stor_record_get(sess, j->coll, j->rid, &doc, &found, st));
    if (!found || !qry_match_eval(j->match, &doc, &det)) {
        bson_destroy(&doc);
        return 0; /* deleted or changed since the scan: no longer ours */
    }
    j->matched = true;
    qry_update_ctx_t ctx = QRY_UPDATE_CTX_INIT;
    ctx.matched_index = det.has_elem_match_key ? (int32_t)det.elem_match_key : -1;
    qry_update_result_t res;
    if (j->transform != NULL)
        ret = j->transform(j->transform_arg, &doc, &res, st);
    else
        ret = qry_update_apply(j->upd, &doc, &ctx, &res, st);
    /* a replacement is validated even when it changes nothing, as in MongoDB */
    bool validate_noop = ret == 0 && !res.changed && j->upd != NULL && j->transform == NULL &&
                         qry_update_is_replacement(j->upd) && j->val != NULL;
    if (validate_noop) {
        bson_t errinfo;
        bool has_errinfo = false;
        ret = micad_validator_check(j->val, stor_collection_ns(j->coll), &doc, NULL, &errinfo,
                                    &has_errinfo, st);
        if (has_errinfo) {
            bson_destroy(&j->errinfo);
            bson_copy_to(&errinfo, &j->errinfo);
            j->has_errinfo = true;
            bson_destroy(&errinfo);
        }
    }
    if (ret == 0 && res.changed) {
        bson_t errinfo;
        bool has_errinfo = false;
        ret = micad_db_check_stored_size(&res.doc, st);
        if (ret == 0 && j->val != NULL) {
            ret = micad_validator_check(j->val, stor_collection_ns(j->coll), &res.doc, &doc,
                                        &errinfo, &has_errinfo, st);
            if (has_errinfo) {
                bson_destroy(&j->errinfo);
                bson_copy_to(&errinfo, &j->errinfo);
                j->has_errinfo = true;
                bson_destroy(&errinfo);
            }
        }
        if (ret == 0)
            ret = micad_write_update(sess, j->coll, j->rid, &doc, &res.doc, st);
        if (ret == 0)
            j->modified = true;
    }
    if (ret == 0) {
        bson_concat(&j->before, &doc);
        bson_concat(&j->after, res.changed ? &res.doc : &doc);
    }
    qry_update_result_destroy(&res);
    bson_destroy(&doc);
    return ret;
}

/* micad_update_one -- update rid under the job's plan; sets matched/modified/before/after. */
int micad_update_one(const wire_opctx_t *op, stor_session_t *sess, micad_update_job_t *j,
                     status_t *st)
{
    return micad_db_run_uow(op, sess, update_doc_fn, j, st);
}

void micad_update_job_init(micad_update_job_t *j)
{
    memset(j, 0, sizeof(*j));
    bson_init(&j->before);
    bson_init(&j->after);
    bson_init(&j->errinfo);
}

void micad_update_job_destroy(micad_update_job_t *j)
{
    bson_destroy(&j->before);
    bson_destroy(&j->after);
    bson_destroy(&j->errinfo);
}

/* micad_upsert_insert -- build the upsert document from q and upd, check it, insert it. */
int micad_upsert_insert(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                        const micad_validator_t *val, const qry_update_t *upd,
                        micad_doc_transform_fn transform, const void *transform_arg,
                        const bson_t *q, bson_t *inserted, bson_t *errinfo, bool *has_errinfo,
                        status_t *st)
{
    qry_update_result_t res;
    qry_update_ctx_t ctx = QRY_UPDATE_CTX_INIT;
    int ret;
    ctx.is_insert = true;
    *has_errinfo = false;
    bson_init(inserted);
    if (transform != NULL) {
        /* MongoDB's rule: the query's equalities, then the pipeline over them */
        bson_t seed;
        memset(&res, 0, sizeof(res));
        bson_init(&res.doc);
        ret = qry_update_upsert_seed(q, &seed, st);
        if (ret == 0) {
            bson_destroy(&res.doc);
            ret = transform(transform_arg, &seed, &res, st);
        }
        bson_destroy(&seed);
    } else {
        ret = qry_update_upsert(upd, q, &ctx, &res, st);
    }
    /* MongoDB's upsert reports a too large result as 17420, whichever step found it */
    if ((ret == 0 && res.doc.len > WIRE_MAX_BSON_BYTES) || ret == ERR_BSONObjectTooLarge)
        ret = status_set(st, 17420, "Document to upsert is larger than %d", WIRE_MAX_BSON_BYTES);
    if (ret == 0) {
        bson_destroy(inserted);
        ret = micad_db_prepare_insert(&res.doc, inserted, st);
    }
    qry_update_result_destroy(&res);
    if (ret == 0 && val != NULL)
        ret = micad_validator_check(val, stor_collection_ns(coll), inserted, NULL, errinfo,
                                    has_errinfo, st);
    if (ret == 0)
        ret = micad_write_insert_one(op, sess, coll, inserted, st);
    return ret;
}

/* ======================================================================== */
/* Delete one document                                                       */
/* ======================================================================== */

typedef struct del_job {
    stor_collection_t *coll;
    const qry_match_t *match;
    int64_t rid;
    bool deleted;
    bson_t *removed;
} del_job_t;

/* delete_fn -- re-read, re-match, delete. */
static int delete_fn(stor_session_t *sess, void *arg, status_t *st)
{
    del_job_t *j = arg;
    bson_t doc;
    bool found;
    int ret = 0;
    j->deleted = false;
    if (j->removed != NULL)
        bson_reinit(j->removed);
    ST_RET(stor_record_get(sess, j->coll, j->rid, &doc, &found, st));
    if (found && qry_match_eval(j->match, &doc, NULL)) {
        ret = micad_write_delete(sess, j->coll, j->rid, &doc, st);
        if (ret == 0) {
            j->deleted = true;
            if (j->removed != NULL)
                bson_concat(j->removed, &doc);
        }
    }
    bson_destroy(&doc);
    return ret;
}

/* micad_delete_rid -- delete rid if it still matches; *deleted says whether it did. */
int micad_delete_rid(const wire_opctx_t *op, stor_session_t *sess, stor_collection_t *coll,
                     const qry_match_t *match, int64_t rid, bool *deleted, bson_t *removed,
                     status_t *st)
{
    if (removed != NULL)
        bson_init(removed);
    del_job_t j = {coll, match, rid, false, removed};
    int ret = micad_db_run_uow(op, sess, delete_fn, &j, st);
    *deleted = ret == 0 && j.deleted;
    return ret;
}

/* ======================================================================== */
/* Catalog changes                                                           */
/* ======================================================================== */

/* append_create_o -- {create: "c", <options>}, MongoDB's create entry. */
static void append_create_o(bson_t *o, const char *ns, const bson_t *options)
{
    BSON_APPEND_UTF8(o, "create", coll_of(ns));
    if (options != NULL)
        bson_concat(o, options);
}

/* micad_write_create_collection -- storage, then the create entry. */
int micad_write_create_collection(stor_session_t *sess, const char *ns, const bson_t *options,
                                  stor_collection_t **out, status_t *st)
{
    return micad_write_create_collection_uuid(sess, ns, options, NULL, out, st);
}

/* micad_write_create_collection_uuid -- see write.h. */
int micad_write_create_collection_uuid(stor_session_t *sess, const char *ns, const bson_t *options,
                                       const uint8_t *uuid, stor_collection_t **out, status_t *st)
{
    stor_collection_t *c;
    /* an implicit create (first insert, $out) is a catalog change: the fsync lock holds it */
    ST_RET(micad_fsync_wait(NULL, st));
    if (g_observer == NULL) {
        int cret = stor_collection_create_uuid(sess, ns, options, uuid, &c, st);
        micad_fsync_leave();
        ST_RET(cret);
        if (out != NULL)
            *out = c;
        return 0;
    }
    pending_create_t *pending = pending_add(ns);
    if (pending == NULL) {
        micad_fsync_leave();
        return status_set(st, ERR_ExceededMemoryLimit, "out of memory");
    }
    int cret = stor_collection_create_uuid(sess, ns, options, uuid, &c, st);
    micad_fsync_leave();
    if (cret != 0) {
        pending_remove(pending);
        return st->code;
    }
    if (out != NULL)
        *out = c;
    bson_t o = BSON_INITIALIZER, o2 = BSON_INITIALIZER;
    append_create_o(&o, ns, stor_collection_options(c));
    /* the _id index the create made, so an applier builds the same one */
    bson_t ixs;
    status_t ignored = STATUS_INIT;
    bson_iter_t it;
    if (stor_list_indexes(stor_session_engine(sess), ns, &ixs, &ignored) == 0) {
        if (bson_iter_init(&it, &ixs) && bson_iter_next(&it) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_t spec;
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&spec, data, len))
                BSON_APPEND_DOCUMENT(&o2, "idIndex", &spec);
        }
        bson_destroy(&ixs);
    }
    int ret = observe_command(sess, ns, stor_collection_uuid(c), &o, &o2, st);
    bson_destroy(&o);
    bson_destroy(&o2);
    pending_remove(pending);
    return ret;
}

/* micad_write_get_or_create -- lookup; create on miss; a lost race reads the winner's
 * (once the winner's create entry is logged: pending_wait). */
int micad_write_get_or_create(micad_t *m, stor_session_t *sess, const char *ns,
                              stor_collection_t **out, bool *created, status_t *st)
{
    status_t ignored = STATUS_INIT;
    *created = false;
    if (stor_collection_lookup(m->engine, ns, out, &ignored) == 0) {
        pending_wait(ns);
        return 0;
    }
    char db[128];
    const char *coll;
    ST_RET(micad_db_split_ns(ns, db, &coll, st));
    if (micad_db_is_system(coll) && strcmp(coll, "system.js") != 0)
        return status_set(st, ERR_InvalidNamespace, "cannot write to '%s'", ns);
    int ret = micad_write_create_collection(sess, ns, NULL, out, st);
    if (ret == ERR_NamespaceExists) {
        status_reset(st);
        pending_wait(ns);
        return micad_db_get_collection(m, ns, out, st);
    }
    if (ret == 0) {
        *created = true;
        LOG(INFO, STORAGE, 21500, "Collection created implicitly by a write", "namespace",
            BCON_UTF8(ns));
    }
    return ret;
}

/* micad_write_drop_collection -- storage, then {drop: "c"} with o2 {numRecords}. */
int micad_write_drop_collection(stor_session_t *sess, const char *ns, status_t *st)
{
    stor_collection_t *c = NULL;
    uint8_t uuid[16];
    int64_t n = 0;
    if (g_observer != NULL && stor_collection_lookup(stor_session_engine(sess), ns, &c, st) == 0) {
        memcpy(uuid, stor_collection_uuid(c), 16);
        n = stor_collection_count(c);
    }
    status_reset(st);
    ST_RET(micad_fsync_wait(NULL, st)); /* the fsync lock holds internal catalog changes too */
    int dret = stor_collection_drop(sess, ns, st);
    micad_fsync_leave();
    ST_RET(dret);
    if (g_observer == NULL || c == NULL)
        return 0;
    bson_t o = BSON_INITIALIZER, o2 = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&o, "drop", coll_of(ns));
    BSON_APPEND_INT64(&o2, "numRecords", n);
    int ret = observe_command(sess, ns, uuid, &o, &o2, st);
    bson_destroy(&o);
    bson_destroy(&o2);
    return ret;
}

/* micad_write_rename_collection -- {renameCollection: from, to, stayTemp, dropTarget}. */
int micad_write_rename_collection(stor_session_t *sess, const char *from, const char *to,
                                  bool drop_target, status_t *st)
{
    stor_collection_t *c = NULL, *t = NULL;
    uint8_t uuid[16], tuuid[16];
    status_t ignored = STATUS_INIT;
    stor_engine_t *eng = stor_session_engine(sess);
    if (g_observer != NULL && stor_collection_lookup(eng, from, &c, &ignored) == 0)
        memcpy(uuid, stor_collection_uuid(c), 16);
    if (g_observer != NULL && stor_collection_lookup(eng, to, &t, &ignored) == 0)
        memcpy(tuuid, stor_collection_uuid(t), 16);
    ST_RET(micad_fsync_wait(NULL, st)); /* the fsync lock holds internal catalog changes too */
    int rret = stor_collection_rename(sess, from, to, drop_target, st);
    micad_fsync_leave();
    ST_RET(rret);
    if (g_observer == NULL || c == NULL)
        return 0;
    bson_t o = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&o, "renameCollection", from);
    BSON_APPEND_UTF8(&o, "to", to);
    BSON_APPEND_BOOL(&o, "stayTemp", false);
    if (drop_target && t != NULL)
        BSON_APPEND_BINARY(&o, "dropTarget", BSON_SUBTYPE_UUID, tuuid, 16);
    else
        BSON_APPEND_BOOL(&o, "dropTarget", false);
    int ret = observe_command(sess, from, uuid, &o, NULL, st);
    bson_destroy(&o);
    return ret;
}

/* micad_write_create_index -- {createIndexes: "c", <spec>}. */
int micad_write_create_index(stor_session_t *sess, stor_collection_t *coll, const bson_t *spec,
                             status_t *st)
{
    stor_index_t *idx;
    ST_RET(stor_index_create(sess, coll, spec, &idx, st));
    return micad_write_index_built(sess, coll, idx, st);
}

/* micad_write_index_built -- {createIndexes: "c", <spec>}: one entry per index, written when
 * the build commits (MongoDB 4.4+ writes startIndexBuild/commitIndexBuild instead). */
int micad_write_index_built(stor_session_t *sess, stor_collection_t *coll, stor_index_t *idx,
                            status_t *st)
{
    if (g_observer == NULL)
        return 0;
    bson_t o = BSON_INITIALIZER;
    const char *ns = stor_collection_ns(coll);
    BSON_APPEND_UTF8(&o, "createIndexes", coll_of(ns));
    bson_iter_t it;
    if (bson_iter_init(&it, stor_index_spec(idx)))
        while (bson_iter_next(&it))
            if (strcmp(bson_iter_key(&it), "ns") != 0)
                bson_append_iter(&o, bson_iter_key(&it), -1, &it);
    int ret = observe_command(sess, ns, stor_collection_uuid(coll), &o, NULL, st);
    bson_destroy(&o);
    return ret;
}

/* micad_write_drop_index -- {dropIndexes: "c", index: name} with o2 the spec. */
int micad_write_drop_index(stor_session_t *sess, stor_collection_t *coll, const char *name,
                           status_t *st)
{
    bson_t spec = BSON_INITIALIZER;
    stor_index_t *idx;
    status_t ignored = STATUS_INIT;
    if (g_observer != NULL && stor_index_lookup(coll, name, &idx, &ignored) == 0) {
        bson_destroy(&spec);
        bson_copy_to(stor_index_spec(idx), &spec);
    }
    int ret = stor_index_drop(sess, coll, name, st);
    if (ret == 0 && g_observer != NULL) {
        bson_t o = BSON_INITIALIZER;
        const char *ns = stor_collection_ns(coll);
        BSON_APPEND_UTF8(&o, "dropIndexes", coll_of(ns));
        BSON_APPEND_UTF8(&o, "index", name);
        ret = observe_command(sess, ns, stor_collection_uuid(coll), &o, &spec, st);
        bson_destroy(&o);
    }
    bson_destroy(&spec);
    return ret;
}

/*
 * micad_write_coll_mod -- {collMod: "c", <the new options but capped/size/max>,
 * index: {name, hidden?, expireAfterSeconds?}}: an applier merges the options
 * over its own and sets the index fields, which gives the same catalog.
 */
int micad_write_coll_mod(stor_session_t *sess, stor_collection_t *coll, const bson_t *opts,
                         stor_index_t *idx, const bson_t *spec, status_t *st)
{
    if (opts != NULL)
        ST_RET(stor_collection_set_options(sess, coll, opts, st));
    if (idx != NULL && spec != NULL)
        ST_RET(stor_index_set_spec(sess, idx, spec, st));
    if (g_observer == NULL)
        return 0;
    bson_t o = BSON_INITIALIZER;
    bson_iter_t it;
    const char *ns = stor_collection_ns(coll);
    BSON_APPEND_UTF8(&o, "collMod", coll_of(ns));
    if (opts != NULL && bson_iter_init(&it, opts)) {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "capped") != 0 && strcmp(k, "size") != 0 && strcmp(k, "max") != 0 &&
                strcmp(k, "index") != 0)
                bson_append_iter(&o, k, -1, &it);
        }
    }
    if (idx != NULL && spec != NULL) {
        bson_t ix;
        BSON_APPEND_DOCUMENT_BEGIN(&o, "index", &ix);
        BSON_APPEND_UTF8(&ix, "name", stor_index_name(idx));
        if (bson_iter_init_find(&it, spec, "hidden"))
            bson_append_iter(&ix, "hidden", -1, &it);
        else
            BSON_APPEND_BOOL(&ix, "hidden", false);
        if (bson_iter_init_find(&it, spec, "expireAfterSeconds"))
            bson_append_iter(&ix, "expireAfterSeconds", -1, &it);
        bson_append_document_end(&o, &ix);
    }
    int ret = observe_command(sess, ns, stor_collection_uuid(coll), &o, NULL, st);
    bson_destroy(&o);
    return ret;
}
