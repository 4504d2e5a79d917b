/*
 * views.c -- read-only views, stored as MongoDB stores them: one document
 * {_id: "db.view", viewOn: "coll", pipeline: [...]} per view in the
 * database's system.views collection (so listCollections, mongodump and
 * dropDatabase see them as MongoDB's tools expect).
 *
 * Reads resolve the chain at every command (a view may be defined on a view,
 * up to MICAD_VIEW_MAX_DEPTH) and become an aggregation over the collection
 * at the end of the chain: the pipelines innermost first, then the reader's
 * own stages -- find, count and distinct are rewritten the way MongoDB's
 * asAggregationCommand rewrites them. The cursor reports the view's
 * namespace, so getMore and killCursors name the view as the driver expects.
 *
 * The definitions are written through the write path (mongod/write.c) in one
 * unit of work, under the exclusive lock of the system.views namespace.
 */
#include "mongod/views.h"

#include "mongod/agg.h"
#include "mongod/write.h"

#include <string.h>

/* views_ns -- "db.system.views" for the database of ns. */
static int views_ns(const char *ns, char *out, char *db, status_t *st)
{
    const char *coll;
    ST_RET(micad_db_split_ns(ns, db, &coll, st));
    snprintf(out, MICAD_NS_MAX + 1, "%s.system.views", db);
    return 0;
}

/* id_is -- whether a definition's _id is ns. */
static bool id_is(const bson_t *doc, const char *ns)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it) &&
           strcmp(bson_iter_utf8(&it, NULL), ns) == 0;
}

/*
 * view_get -- ns's definition from system.views (copied into def, initialised
 * here) and its RecordId; *found false when ns is not a view. Reads in the
 * session's open unit of work if there is one, else in a snapshot of its own.
 */
static int view_get(micad_t *m, const char *ns, bson_t *def, int64_t *rid_out, bool *found,
                    status_t *st)
{
    char vns[MICAD_NS_MAX + 1], db[128];
    stor_collection_t *coll;
    stor_session_t *sess;
    stor_uow_t *uow = NULL;
    stor_cursor_t *cur = NULL;
    status_t ignored = STATUS_INIT;
    int ret = 0;

    bson_init(def);
    *found = false;
    ST_RET(views_ns(ns, vns, db, st));
    if (stor_collection_lookup(m->engine, vns, &coll, &ignored) != 0)
        return 0; /* no system.views: no views */
    ST_RET(micad_db_session(m, &sess, st));
    if (stor_session_uow(sess) == NULL)
        ST_ERR(stor_uow_begin(sess, 0, &uow, st));
    ST_ERR(stor_cursor_open(sess, coll, true, &cur, st));
    for (;;) {
        int64_t rid;
        bool eof;
        bson_t doc;
        ST_ERR(stor_cursor_next(cur, &rid, &doc, &eof, st));
        if (eof)
            break;
        if (id_is(&doc, ns)) {
            bson_destroy(def);
            bson_copy_to(&doc, def);
            if (rid_out != NULL)
                *rid_out = rid;
            *found = true;
            break;
        }
    }
err:
    stor_cursor_close(cur);
    stor_uow_abort(uow);
    return ret;
}

/* def_view_on / def_pipeline -- the fields of a stored definition. */
static const char *def_view_on(const bson_t *def)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, def, "viewOn") && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

static bool def_pipeline(const bson_t *def, bson_t *out)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (!bson_iter_init_find(&it, def, "pipeline") || !BSON_ITER_HOLDS_ARRAY(&it))
        return false;
    bson_iter_array(&it, &len, &data);
    return bson_init_static(out, data, len);
}

/* append_stages -- the stages of array src at the end of array dst (*n its next index). */
static void append_stages(bson_t *dst, uint32_t *n, const bson_t *src)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, src))
        return;
    while (bson_iter_next(&it)) {
        char buf[16];
        const char *key;
        bson_uint32_to_string((*n)++, &key, buf, sizeof(buf));
        bson_append_iter(dst, key, -1, &it);
    }
}

/* micad_view_resolve -- see views.h. */
int micad_view_resolve(micad_t *m, const char *ns, micad_view_t *v, status_t *st)
{
    bson_t *defs[MICAD_VIEW_MAX_DEPTH]; /* heap copies: a bson_t struct must not be copied */
    int ndefs = 0, ret = 0;
    char cur[MICAD_NS_MAX + 1], db[128];
    const char *coll;

    memset(v, 0, sizeof(*v));
    bson_init(&v->pipeline);
    snprintf(v->ns, sizeof(v->ns), "%s", ns);
    snprintf(cur, sizeof(cur), "%s", ns);
    ST_RET(micad_db_split_ns(ns, db, &coll, st));
    for (;;) {
        bson_t def;
        bool found;
        ST_ERR(view_get(m, cur, &def, NULL, &found, st));
        if (!found) {
            bson_destroy(&def);
            break;
        }
        if (ndefs == MICAD_VIEW_MAX_DEPTH) {
            bson_destroy(&def);
            ret = status_set(st, ERR_ViewDepthLimitExceeded,
                             "View depth too deep or view cycle detected. Maximum depth is %d",
                             MICAD_VIEW_MAX_DEPTH);
            goto err;
        }
        defs[ndefs++] = bson_copy(&def);
        bson_destroy(&def);
        const char *on = def_view_on(defs[ndefs - 1]);
        if (on == NULL) {
            ret = status_set(st, ERR_InvalidViewDefinition, "invalid view definition for %s", cur);
            goto err;
        }
        snprintf(cur, sizeof(cur), "%s.%s", db, on);
    }
    v->is_view = ndefs > 0;
    snprintf(v->backing, sizeof(v->backing), "%s", cur);
    v->backing_coll = v->backing + strlen(db) + 1;
    uint32_t n = 0;
    for (int i = ndefs - 1; i >= 0; i--) {
        bson_t pl;
        if (def_pipeline(defs[i], &pl))
            append_stages(&v->pipeline, &n, &pl);
    }
err:
    for (int i = 0; i < ndefs; i++)
        bson_destroy(defs[i]);
    return ret;
}

/* micad_view_destroy -- see views.h. */
void micad_view_destroy(micad_view_t *v)
{
    if (v == NULL)
        return;
    bson_destroy(&v->pipeline);
    bson_init(&v->pipeline);
}

/* micad_view_is_view -- see views.h. */
bool micad_view_is_view(micad_t *m, const char *ns)
{
    bson_t def;
    bool found = false;
    status_t ignored = STATUS_INIT;
    if (view_get(m, ns, &def, NULL, &found, &ignored) != 0)
        found = false;
    bson_destroy(&def);
    return found;
}

/* micad_view_refuse -- see views.h. */
int micad_view_refuse(micad_t *m, const char *ns, status_t *st)
{
    if (micad_view_is_view(m, ns))
        return status_set(st, ERR_CommandNotSupportedOnView,
                          "Namespace %s is a view, not a collection", ns);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Definitions                                                               */
/* ------------------------------------------------------------------------ */

/* check_pipeline -- a view's pipeline parses and writes nothing. */
static int check_pipeline(const bson_t *pipeline, status_t *st)
{
    qry_pipeline_t *p = NULL;
    bson_iter_t it, stage;
    if (bson_iter_init(&it, pipeline)) {
        while (bson_iter_next(&it)) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &stage) ||
                !bson_iter_next(&stage))
                continue; /* the parser reports it */
            const char *name = bson_iter_key(&stage);
            if (strcmp(name, "$out") == 0 || strcmp(name, "$merge") == 0)
                return status_set(st, ERR_OptionNotSupportedOnView,
                                  "%s cannot be used in a view definition", name);
        }
    }
    ST_RET(qry_pipeline_parse(pipeline, NULL, &p, st));
    qry_pipeline_destroy(p);
    return 0;
}

/* check_chain -- viewOn does not lead back to ns, and the chain stays within the limit. */
static int check_chain(micad_t *m, const char *ns, const char *db, const char *view_on,
                       status_t *st)
{
    char cur[MICAD_NS_MAX + 1];
    char path[1024];
    snprintf(cur, sizeof(cur), "%s.%s", db, view_on);
    snprintf(path, sizeof(path), "%s", ns);
    for (int depth = 1;; depth++) {
        size_t used = strlen(path);
        snprintf(path + used, sizeof(path) - used, " => %s", cur);
        if (strcmp(cur, ns) == 0)
            return status_set(st, ERR_GraphContainsCycle, "View cycle detected: %s", path);
        if (depth > MICAD_VIEW_MAX_DEPTH)
            return status_set(st, ERR_ViewDepthLimitExceeded,
                              "View depth too deep or view cycle detected. Maximum depth is %d",
                              MICAD_VIEW_MAX_DEPTH);
        bson_t def;
        bool found;
        ST_RET(view_get(m, cur, &def, NULL, &found, st));
        const char *on = found ? def_view_on(&def) : NULL;
        if (on != NULL)
            snprintf(cur, sizeof(cur), "%s.%s", db, on);
        bson_destroy(&def);
        if (on == NULL)
            return 0;
    }
}

/* the unit of work that stores, replaces or removes one definition, through the write
 * path (mongod/write.c), so the change is observed (oplog) like any document write */
typedef struct def_write {
    stor_collection_t *coll;
    const bson_t *doc;    /* the new definition; NULL: delete */
    const bson_t *before; /* the stored definition (update, delete) */
    int64_t rid;          /* 0: insert */
} def_write_t;

static int def_write_fn(stor_session_t *sess, void *arg, status_t *st)
{
    def_write_t *w = arg;
    if (w->rid == 0)
        return micad_write_insert(sess, w->coll, w->doc, NULL, st);
    if (w->doc == NULL)
        return micad_write_delete(sess, w->coll, w->rid, w->before, st);
    return micad_write_update(sess, w->coll, w->rid, w->before, w->doc, st);
}

/* build_def -- {_id: ns, viewOn, pipeline}. */
static void build_def(const char *ns, const char *view_on, const bson_t *pipeline, bson_t *out)
{
    bson_init(out);
    BSON_APPEND_UTF8(out, "_id", ns);
    BSON_APPEND_UTF8(out, "viewOn", view_on);
    BSON_APPEND_ARRAY(out, "pipeline", pipeline);
}

/* check_view_on -- MongoDB's rules for the viewOn name. */
static int check_view_on(const char *db, const char *view_on, status_t *st)
{
    char ns[MICAD_NS_MAX + 1];
    if (view_on[0] == '\0')
        return status_set(st, ERR_BadValue, "'viewOn' cannot be empty");
    return micad_db_make_ns(db, view_on, ns, st);
}

/* micad_view_create -- see views.h. */
int micad_view_create(wire_opctx_t *op, const char *ns, const char *view_on, const bson_t *pipeline,
                      status_t *st)
{
    micad_t *m = micad_of(op);
    char vns[MICAD_NS_MAX + 1], db[128];
    stor_session_t *sess;
    stor_collection_t *coll;
    status_t ignored = STATUS_INIT;
    bool found = false;
    bson_t def = BSON_INITIALIZER, old;
    int ret = 0;

    ST_RET(views_ns(ns, vns, db, st));
    ST_RET(check_view_on(db, view_on, st));
    ST_RET(check_pipeline(pipeline, st));
    ST_RET(micad_db_session(m, &sess, st));
    micad_db_lock_ns(vns, true);
    if (stor_collection_lookup(m->engine, ns, &coll, &ignored) == 0) {
        ret = status_set(st, ERR_NamespaceExists, "Namespace %s already exists", ns);
        goto err;
    }
    ST_ERR(view_get(m, ns, &old, NULL, &found, st));
    bson_destroy(&old);
    if (found) {
        ret = status_set(st, ERR_NamespaceExists, "Namespace %s already exists", ns);
        goto err;
    }
    ST_ERR(check_chain(m, ns, db, view_on, st));
    /* system.views is created on the first view (users cannot create it: db.c refuses) */
    if (stor_collection_lookup(m->engine, vns, &coll, &ignored) != 0) {
        ret = micad_write_create_collection(sess, vns, NULL, &coll, st);
        if (ret == ERR_NamespaceExists) {
            status_reset(st);
            ret = micad_db_get_collection(m, vns, &coll, st);
        }
        if (ret != 0)
            goto err;
    }
    bson_destroy(&def);
    build_def(ns, view_on, pipeline, &def);
    def_write_t w = {coll, &def, NULL, 0};
    ret = micad_db_run_uow(op, sess, def_write_fn, &w, st);
err:
    micad_db_unlock_ns(vns, true);
    bson_destroy(&def);
    return ret;
}

/* micad_view_modify -- see views.h. */
int micad_view_modify(wire_opctx_t *op, const char *ns, const char *view_on, const bson_t *pipeline,
                      status_t *st)
{
    micad_t *m = micad_of(op);
    char vns[MICAD_NS_MAX + 1], db[128];
    stor_session_t *sess;
    stor_collection_t *coll;
    bool found = false;
    int64_t rid = 0;
    bson_t old, def = BSON_INITIALIZER, old_pl;
    int ret = 0;

    ST_RET(views_ns(ns, vns, db, st));
    if (view_on != NULL)
        ST_RET(check_view_on(db, view_on, st));
    if (pipeline != NULL)
        ST_RET(check_pipeline(pipeline, st));
    ST_RET(micad_db_session(m, &sess, st));
    micad_db_lock_ns(vns, true);
    ST_ERR(view_get(m, ns, &old, &rid, &found, st));
    if (!found) {
        ret = status_set(st, ERR_NamespaceNotFound, "ns does not exist: %s", ns);
        goto err;
    }
    const char *on = view_on != NULL ? view_on : def_view_on(&old);
    if (on == NULL) {
        ret = status_set(st, ERR_InvalidViewDefinition, "invalid view definition for %s", ns);
        goto err;
    }
    if (pipeline == NULL) {
        if (!def_pipeline(&old, &old_pl))
            bson_init(&old_pl);
        pipeline = &old_pl;
    }
    ST_ERR(check_chain(m, ns, db, on, st));
    ST_ERR(micad_db_get_collection(m, vns, &coll, st));
    bson_destroy(&def);
    build_def(ns, on, pipeline, &def);
    def_write_t w = {coll, &def, &old, rid};
    ret = micad_db_run_uow(op, sess, def_write_fn, &w, st);
err:
    micad_db_unlock_ns(vns, true);
    bson_destroy(&old);
    bson_destroy(&def);
    return ret;
}

/* micad_view_drop -- see views.h. */
int micad_view_drop(wire_opctx_t *op, const char *ns, bool *dropped, status_t *st)
{
    micad_t *m = micad_of(op);
    char vns[MICAD_NS_MAX + 1], db[128];
    stor_session_t *sess;
    stor_collection_t *coll;
    int64_t rid = 0;
    bson_t old;
    int ret = 0;

    *dropped = false;
    ST_RET(views_ns(ns, vns, db, st));
    ST_RET(micad_db_session(m, &sess, st));
    micad_db_lock_ns(vns, true);
    ST_ERR(view_get(m, ns, &old, &rid, dropped, st));
    if (*dropped) {
        ST_ERR(micad_db_get_collection(m, vns, &coll, st));
        def_write_t w = {coll, NULL, &old, rid};
        ret = micad_db_run_uow(op, sess, def_write_fn, &w, st);
        if (ret != 0)
            *dropped = false;
    }
err:
    micad_db_unlock_ns(vns, true);
    bson_destroy(&old);
    return ret;
}

/* micad_view_list -- see views.h. */
int micad_view_list(micad_t *m, const char *db, bool name_only, const qry_match_t *filter,
                    bson_t *out, uint32_t *n, status_t *st)
{
    char vns[MICAD_NS_MAX + 1];
    stor_collection_t *coll;
    stor_session_t *sess;
    stor_uow_t *uow = NULL;
    stor_cursor_t *cur = NULL;
    status_t ignored = STATUS_INIT;
    size_t dblen = strlen(db);
    int ret = 0;

    snprintf(vns, sizeof(vns), "%s.system.views", db);
    if (stor_collection_lookup(m->engine, vns, &coll, &ignored) != 0)
        return 0;
    ST_RET(micad_db_session(m, &sess, st));
    ST_ERR(stor_uow_begin(sess, 0, &uow, st));
    ST_ERR(stor_cursor_open(sess, coll, true, &cur, st));
    for (;;) {
        int64_t rid;
        bool eof;
        bson_t def, pl, e = BSON_INITIALIZER, sub;
        bson_iter_t id;
        ST_ERR(stor_cursor_next(cur, &rid, &def, &eof, st));
        if (eof)
            break;
        const char *on = def_view_on(&def);
        if (!bson_iter_init_find(&id, &def, "_id") || !BSON_ITER_HOLDS_UTF8(&id) || on == NULL)
            continue;
        const char *vname = bson_iter_utf8(&id, NULL);
        if (strncmp(vname, db, dblen) != 0 || vname[dblen] != '.')
            continue;
        BSON_APPEND_UTF8(&e, "name", vname + dblen + 1);
        BSON_APPEND_UTF8(&e, "type", "view");
        if (!name_only) {
            BSON_APPEND_DOCUMENT_BEGIN(&e, "options", &sub);
            BSON_APPEND_UTF8(&sub, "viewOn", on);
            if (def_pipeline(&def, &pl))
                BSON_APPEND_ARRAY(&sub, "pipeline", &pl);
            bson_append_document_end(&e, &sub);
            BSON_APPEND_DOCUMENT_BEGIN(&e, "info", &sub);
            BSON_APPEND_BOOL(&sub, "readOnly", true);
            bson_append_document_end(&e, &sub);
        }
        if (filter == NULL || qry_match_eval(filter, &e, NULL)) {
            char buf[16];
            const char *key;
            bson_uint32_to_string((*n)++, &key, buf, sizeof(buf));
            BSON_APPEND_DOCUMENT(out, key, &e);
        }
        bson_destroy(&e);
    }
err:
    stor_cursor_close(cur);
    stor_uow_abort(uow);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Reads                                                                     */
/* ------------------------------------------------------------------------ */

/* stage -- append {name: <it's value>} to the pipeline array. */
static void stage_iter(bson_t *pl, uint32_t *n, const char *name, const bson_iter_t *it)
{
    char buf[16];
    const char *key;
    bson_t s;
    bson_uint32_to_string((*n)++, &key, buf, sizeof(buf));
    bson_append_document_begin(pl, key, -1, &s);
    bson_append_iter(&s, name, -1, it);
    bson_append_document_end(pl, &s);
}

/* find_refused -- the find options aggregation cannot honour (InvalidPipelineOperator). */
static int find_refused(const bson_t *cmd, bool *single_batch, status_t *st)
{
    static const char *const opts[] = {"min",
                                       "max",
                                       "returnKey",
                                       "showRecordId",
                                       "noCursorTimeout",
                                       "allowPartialResults",
                                       "readOnce",
                                       "allowSpeculativeMajorityRead",
                                       "$_requestResumeToken",
                                       "$_resumeAfter",
                                       NULL};
    bson_iter_t it;
    int64_t limit = 0;
    bool single = false;
    bson_iter_init(&it, cmd);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool set =
            !(BSON_ITER_HOLDS_BOOL(&it) && !bson_iter_bool(&it)) &&
            !(BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_value(&it)->value.v_doc.data_len <= 5);
        if (strcmp(k, "tailable") == 0 || strcmp(k, "awaitData") == 0) {
            if (set)
                return status_set(st, ERR_InvalidPipelineOperator,
                                  "Tailable cursors are not supported in aggregation.");
            continue;
        }
        if (strcmp(k, "singleBatch") == 0)
            single = BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
        if (strcmp(k, "limit") == 0)
            (void)bsonu_number_as_int64(bson_iter_value(&it), &limit);
        if (strcmp(k, "sort") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_iter_t s;
            if (bson_iter_recurse(&it, &s) && bson_iter_find(&s, "$natural"))
                return status_set(st, ERR_InvalidPipelineOperator,
                                  "Sort option $natural not supported in aggregation.");
        }
        for (int i = 0; opts[i] != NULL; i++)
            if (strcmp(k, opts[i]) == 0 && set)
                return status_set(st, ERR_InvalidPipelineOperator,
                                  "Option %s not supported in aggregation.", k);
    }
    if (single && limit != 1)
        return status_set(st, ERR_InvalidPipelineOperator,
                          "Option singleBatch not supported in aggregation.");
    *single_batch = single;
    return 0;
}

/* micad_view_rewrite -- see views.h. */
int micad_view_rewrite(const micad_view_t *v, const bson_t *cmd, bson_t *out, status_t *st)
{
    bson_iter_t it;
    bson_t pl;
    uint32_t n = 0;
    bool single = false;

    bson_init(out);
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it))
        return status_set(st, ERR_InvalidBSON, "empty command");
    const char *kind = bson_iter_key(&it);
    BSON_APPEND_UTF8(out, "aggregate", v->backing_coll);
    BSON_APPEND_ARRAY_BEGIN(out, "pipeline", &pl);
    append_stages(&pl, &n, &v->pipeline);

    if (strcmp(kind, "aggregate") == 0) {
        bson_iter_t p;
        if (bson_iter_init_find(&p, cmd, "pipeline") && BSON_ITER_HOLDS_ARRAY(&p)) {
            bson_t user;
            const uint8_t *data;
            uint32_t len;
            bson_iter_array(&p, &len, &data);
            if (bson_init_static(&user, data, len))
                append_stages(&pl, &n, &user);
        }
        bson_append_array_end(out, &pl);
        bson_iter_init(&it, cmd);
        bson_iter_next(&it);
        while (bson_iter_next(&it))
            if (strcmp(bson_iter_key(&it), "pipeline") != 0 && strcmp(bson_iter_key(&it), "$db"))
                bson_append_iter(out, NULL, 0, &it);
        return 0;
    }
    if (strcmp(kind, "find") == 0) {
        static const char *const order[] = {"filter", "sort", "skip", "limit", "projection"};
        static const char *const stages[] = {"$match", "$sort", "$skip", "$limit", "$project"};
        int ret = find_refused(cmd, &single, st);
        if (ret != 0) {
            bson_append_array_end(out, &pl);
            return ret;
        }
        for (int i = 0; i < 5; i++) {
            bson_iter_t f;
            if (!bson_iter_init_find(&f, cmd, order[i]) || BSON_ITER_HOLDS_NULL(&f))
                continue;
            if (BSON_ITER_HOLDS_DOCUMENT(&f) && bson_iter_value(&f)->value.v_doc.data_len <= 5)
                continue; /* an empty filter/sort/projection adds no stage */
            stage_iter(&pl, &n, stages[i], &f);
        }
        bson_append_array_end(out, &pl);
        bson_t cur;
        BSON_APPEND_DOCUMENT_BEGIN(out, "cursor", &cur);
        if (bson_iter_init_find(&it, cmd, "batchSize"))
            bson_append_iter(&cur, "batchSize", -1, &it);
        bson_append_document_end(out, &cur);
        static const char *const carry[] = {"collation", "hint", "allowDiskUse", "let", NULL};
        for (int i = 0; carry[i] != NULL; i++)
            if (bson_iter_init_find(&it, cmd, carry[i]))
                bson_append_iter(out, carry[i], -1, &it);
        return 0;
    }
    if (strcmp(kind, "count") == 0) {
        bson_iter_t f;
        if (bson_iter_init_find(&f, cmd, "query") && BSON_ITER_HOLDS_DOCUMENT(&f))
            stage_iter(&pl, &n, "$match", &f);
        if (bson_iter_init_find(&f, cmd, "skip") && bsonu_is_number(bson_iter_type(&f))) {
            int64_t skip = 0;
            if (bsonu_number_as_int64(bson_iter_value(&f), &skip) && skip > 0)
                stage_iter(&pl, &n, "$skip", &f);
        }
        if (bson_iter_init_find(&f, cmd, "limit") && bsonu_is_number(bson_iter_type(&f))) {
            int64_t limit = 0;
            if (bsonu_number_as_int64(bson_iter_value(&f), &limit) && limit != 0) {
                bson_t s;
                char buf[16];
                const char *key;
                bson_uint32_to_string(n++, &key, buf, sizeof(buf));
                bson_append_document_begin(&pl, key, -1, &s);
                BSON_APPEND_INT64(&s, "$limit", limit < 0 ? -limit : limit);
                bson_append_document_end(&pl, &s);
            }
        }
        bson_t s;
        char buf[16];
        const char *key;
        bson_uint32_to_string(n++, &key, buf, sizeof(buf));
        bson_append_document_begin(&pl, key, -1, &s);
        BSON_APPEND_UTF8(&s, "$count", "count");
        bson_append_document_end(&pl, &s);
        bson_append_array_end(out, &pl);
    } else if (strcmp(kind, "distinct") == 0) {
        bson_iter_t f;
        if (!bson_iter_init_find(&f, cmd, "key") || !BSON_ITER_HOLDS_UTF8(&f)) {
            bson_append_array_end(out, &pl);
            return status_set(st, 40414,
                              "BSON field 'distinct.key' is missing but a required "
                              "field");
        }
        char path[1024];
        snprintf(path, sizeof(path), "$%s", bson_iter_utf8(&f, NULL));
        if (bson_iter_init_find(&f, cmd, "query") && BSON_ITER_HOLDS_DOCUMENT(&f))
            stage_iter(&pl, &n, "$match", &f);
        char buf[16];
        const char *key;
        bson_t s, in, acc;
        bson_uint32_to_string(n++, &key, buf, sizeof(buf));
        bson_append_document_begin(&pl, key, -1, &s);
        BSON_APPEND_DOCUMENT_BEGIN(&s, "$unwind", &in);
        BSON_APPEND_UTF8(&in, "path", path);
        BSON_APPEND_BOOL(&in, "preserveNullAndEmptyArrays", true);
        bson_append_document_end(&s, &in);
        bson_append_document_end(&pl, &s);
        bson_uint32_to_string(n++, &key, buf, sizeof(buf));
        bson_append_document_begin(&pl, key, -1, &s);
        BSON_APPEND_DOCUMENT_BEGIN(&s, "$group", &in);
        BSON_APPEND_NULL(&in, "_id");
        BSON_APPEND_DOCUMENT_BEGIN(&in, "distinct", &acc);
        BSON_APPEND_UTF8(&acc, "$addToSet", path);
        bson_append_document_end(&in, &acc);
        bson_append_document_end(&s, &in);
        bson_append_document_end(&pl, &s);
        bson_append_array_end(out, &pl);
    } else {
        bson_append_array_end(out, &pl);
        return status_set(st, ERR_CommandNotSupportedOnView,
                          "Namespace %s is a view, not a collection", v->ns);
    }
    bson_t cur;
    BSON_APPEND_DOCUMENT_BEGIN(out, "cursor", &cur);
    bson_append_document_end(out, &cur);
    static const char *const carry[] = {"collation", "hint", NULL};
    for (int i = 0; carry[i] != NULL; i++)
        if (bson_iter_init_find(&it, cmd, carry[i]))
            bson_append_iter(out, carry[i], -1, &it);
    return 0;
}

/* first_result -- the first document of an aggregate reply's firstBatch, if any. */
static bool first_result(const bson_t *reply, bson_t *doc)
{
    bson_iter_t it, b;
    if (!bson_iter_init(&it, reply) || !bson_iter_find_descendant(&it, "cursor.firstBatch", &b) ||
        !BSON_ITER_HOLDS_ARRAY(&b) || !bson_iter_recurse(&b, &it) || !bson_iter_next(&it) ||
        !BSON_ITER_HOLDS_DOCUMENT(&it))
        return false;
    const uint8_t *data;
    uint32_t len;
    bson_iter_document(&it, &len, &data);
    return bson_init_static(doc, data, len);
}

/* micad_view_read -- see views.h. */
int micad_view_read(wire_opctx_t *op, const micad_view_t *v, const bson_t *cmd, bson_t *reply,
                    status_t *st)
{
    bson_t agg = BSON_INITIALIZER, tmp = BSON_INITIALIZER, first;
    bson_iter_t it;
    bool single = false;
    int ret = 0;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    const char *kind = bson_iter_key(&it);
    if (strcmp(kind, "find") == 0)
        ST_ERR(find_refused(cmd, &single, st));
    bson_destroy(&agg);
    ST_ERR(micad_view_rewrite(v, cmd, &agg, st));
    micad_agg_run_opts_t ro = {v->ns, single};
    if (strcmp(kind, "find") == 0 || strcmp(kind, "aggregate") == 0) {
        ret = micad_aggregate_run(op, &agg, &ro, reply, st);
        goto err;
    }
    ST_ERR(micad_aggregate_run(op, &agg, &ro, &tmp, st));
    bool have = first_result(&tmp, &first);
    if (strcmp(kind, "count") == 0) {
        int64_t n = 0;
        bson_iter_t c;
        if (have && bson_iter_init_find(&c, &first, "count"))
            (void)bsonu_number_as_int64(bson_iter_value(&c), &n);
        if (n <= INT32_MAX)
            BSON_APPEND_INT32(reply, "n", (int32_t)n);
        else
            BSON_APPEND_INT64(reply, "n", n);
    } else {
        bson_iter_t d;
        if (have && bson_iter_init_find(&d, &first, "distinct") && BSON_ITER_HOLDS_ARRAY(&d)) {
            bson_append_iter(reply, "values", -1, &d);
        } else {
            bson_t empty;
            BSON_APPEND_ARRAY_BEGIN(reply, "values", &empty);
            bson_append_array_end(reply, &empty);
        }
    }
err:
    bson_destroy(&agg);
    bson_destroy(&tmp);
    return ret;
}

/* micad_view_explain -- see views.h. */
int micad_view_explain(wire_opctx_t *op, const micad_view_t *v, const bson_t *cmd, int verbosity,
                       bson_t *reply, status_t *st)
{
    bson_t agg;
    int ret = micad_view_rewrite(v, cmd, &agg, st);
    if (ret == 0)
        ret = micad_agg_explain_cmd(op, &agg, verbosity, reply, st);
    bson_destroy(&agg);
    return ret;
}

/* micad_view_dispatch -- see views.h. */
int micad_view_dispatch(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, bool *handled,
                        status_t *st)
{
    bson_iter_t it;
    char ns[MICAD_NS_MAX + 1];
    micad_view_t v;
    int ret;
    *handled = false;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it))
        return 0;
    if (micad_db_cmd_ns(op, cmd, ns, st) != 0) {
        status_reset(st);
        return 0; /* the command's own parse reports a bad namespace */
    }
    ST_RET(micad_view_resolve(micad_of(op), ns, &v, st));
    if (v.is_view) {
        *handled = true;
        ret = micad_view_read(op, &v, cmd, reply, st);
    } else {
        ret = 0;
    }
    micad_view_destroy(&v);
    return ret;
}

/* micad_view_refuse_cmd -- micad_view_refuse for the namespace cmd names. */
int micad_view_refuse_cmd(wire_opctx_t *op, const bson_t *cmd, status_t *st)
{
    bson_iter_t it;
    char ns[MICAD_NS_MAX + 1];
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it))
        return 0;
    if (micad_db_cmd_ns(op, cmd, ns, st) != 0) {
        status_reset(st);
        return 0;
    }
    return micad_view_refuse(micad_of(op), ns, st);
}
