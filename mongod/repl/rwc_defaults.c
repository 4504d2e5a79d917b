/*
 * rwc_defaults.c -- the cluster-wide read/write concern defaults
 * (setDefaultRWConcern / getDefaultRWConcern, MongoDB 4.4+) and the write
 * concern resolver every write goes through on a member (micad_db_set_wc_resolver).
 *
 * The defaults live in config.settings as {_id: "ReadWriteConcernDefaults",
 * defaultReadConcern, defaultWriteConcern, updateOpTime, updateWallClockTime},
 * written on the primary through the write path, so the oplog carries them to
 * the other members. The primary keeps a copy for the resolver, loaded again
 * whenever the term changed (a new primary reads what it replicated).
 *
 * The resolver: a write without w takes the stored default's w (and j,
 * wtimeout); without a stored one, MongoDB 5.0's implicit default: w: 1 when
 * the set has arbiters and its data-bearing voters are no more than a
 * majority of voters, w: "majority" otherwise (repl_implicit_wc_majority,
 * pure). A custom mode (w: "<name>") must be one of the config's
 * settings.getLastErrorModes (UnknownReplWriteConcern 79).
 */
#include "mongod/repl/repl_int.h"
#include "mongod/write.h"

#include <string.h>

#define g      repl__g
#define NS_SET "config.settings"
#define DOC_ID "ReadWriteConcernDefaults"

/* the primary's copy of the stored defaults */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_loaded;
static int64_t g_loaded_term = -1;
static bson_t g_doc = BSON_INITIALIZER; /* the stored document ({} when none) */
static int64_t g_local_update_ms;

/*
 * find_stored -- in the session's unit of work, the defaults document of coll
 * copied into out (initialised by the caller) and its RecordId; *found false
 * when there is none.
 */
static int find_stored(stor_session_t *sess, stor_collection_t *coll, bson_t *out, int64_t *rid,
                       bool *found, status_t *st)
{
    stor_cursor_t *cur = NULL;
    int ret = 0;
    *found = false;
    ST_RET(stor_cursor_open(sess, coll, true, &cur, st));
    for (;;) {
        bson_t view;
        bool eof;
        bson_iter_t it;
        ST_ERR(stor_cursor_next(cur, rid, &view, &eof, st));
        if (eof)
            break;
        if (bson_iter_init_find(&it, &view, "_id") && BSON_ITER_HOLDS_UTF8(&it) &&
            strcmp(bson_iter_utf8(&it, NULL), DOC_ID) == 0) {
            bson_concat(out, &view);
            *found = true;
            break;
        }
    }
err:
    stor_cursor_close(cur);
    return ret;
}

/* read_stored -- the defaults document from config.settings into out ({} when none). */
static int read_stored(micad_t *m, bson_t *out, status_t *st)
{
    stor_session_t *sess;
    stor_collection_t *coll;
    stor_uow_t *uow;
    status_t ignored = STATUS_INIT;
    int64_t rid;
    bool found;
    bson_init(out);
    if (stor_collection_lookup(m->engine, NS_SET, &coll, &ignored) != 0)
        return 0;
    ST_RET(micad_db_session(m, &sess, st));
    ST_RET(stor_uow_begin(sess, 0, &uow, st));
    int ret = find_stored(sess, coll, out, &rid, &found, st);
    stor_uow_abort(uow);
    return ret;
}

/* cached_doc -- a copy of the primary's stored defaults, reloaded after a term change. */
static int cached_doc(micad_t *m, bson_t *out, status_t *st)
{
    repl__lock();
    int64_t term = g.has_config && g.self >= 0 ? g.topo.term : g.term;
    repl__unlock();
    pthread_mutex_lock(&g_lock);
    if (!g_loaded || g_loaded_term != term) {
        bson_t d;
        pthread_mutex_unlock(&g_lock);
        ST_RET(read_stored(m, &d, st));
        pthread_mutex_lock(&g_lock);
        bson_reinit(&g_doc);
        bson_concat(&g_doc, &d);
        bson_destroy(&d);
        g_loaded = true;
        g_loaded_term = term;
        g_local_update_ms = time_now_ms();
    }
    bson_copy_to(&g_doc, out);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

/* apply_default_wc -- the stored defaultWriteConcern {w, j, wtimeout} onto wc. */
static void apply_default_wc(micad_wc_t *wc, const bson_t *dwc)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, dwc, "w")) {
        if (BSON_ITER_HOLDS_UTF8(&it)) {
            const char *w = bson_iter_utf8(&it, NULL);
            if (strcmp(w, "majority") == 0) {
                wc->w = -1;
                wc->journal = true;
            } else {
                wc->w = -2;
                snprintf(wc->mode, sizeof(wc->mode), "%s", w);
            }
        } else {
            wc->w = bson_iter_as_int64(&it);
        }
    }
    if (bson_iter_init_find(&it, dwc, "j") && bson_iter_as_bool(&it))
        wc->journal = true;
    if (wc->wtimeout == 0 && bson_iter_init_find(&it, dwc, "wtimeout"))
        wc->wtimeout = bson_iter_as_int64(&it);
}

/* wc_resolve -- installed with micad_db_set_wc_resolver (see the file's comment). */
static int wc_resolve(micad_wc_t *wc, status_t *st)
{
    if (wc->implicit) {
        bson_t doc;
        bson_iter_t it;
        ST_RET(cached_doc(g.m, &doc, st));
        if (bson_iter_init_find(&it, &doc, "defaultWriteConcern") &&
            BSON_ITER_HOLDS_DOCUMENT(&it)) {
            const uint8_t *data;
            uint32_t len;
            bson_t dwc;
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&dwc, data, len))
                apply_default_wc(wc, &dwc);
        } else {
            repl__lock();
            bool majority = !g.has_config || repl_implicit_wc_majority(&g.config);
            repl__unlock();
            if (majority) {
                wc->w = -1;
                wc->journal = true;
            } else {
                wc->w = 1;
            }
        }
        bson_destroy(&doc);
    }
    if (wc->w == -2) {
        repl__lock();
        bool known = g.has_config && repl_config_find_mode(&g.config, wc->mode) != NULL;
        repl__unlock();
        if (!known)
            return status_set(st, ERR_UnknownReplWriteConcern,
                              "No write concern mode named '%s' found in replica set "
                              "configuration",
                              wc->mode);
    }
    return 0;
}

/* repl__install_wc_resolver -- at start-up on a member. */
void repl__install_wc_resolver(void)
{
    micad_db_set_wc_resolver(wc_resolve);
}

/* append_reply -- getDefaultRWConcern's fields from the stored document doc. */
static void append_reply(const bson_t *doc, int64_t local_ms, bson_t *reply)
{
    bson_iter_t it;
    bool has_rc =
        bson_iter_init_find(&it, doc, "defaultReadConcern") && BSON_ITER_HOLDS_DOCUMENT(&it);
    if (has_rc) {
        bson_value_t v;
        bson_value_copy(bson_iter_value(&it), &v);
        BSON_APPEND_VALUE(reply, "defaultReadConcern", &v);
        bson_value_destroy(&v);
    } else {
        bson_t rc;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "defaultReadConcern", &rc);
        BSON_APPEND_UTF8(&rc, "level", "local");
        bson_append_document_end(reply, &rc);
    }
    bool has_wc =
        bson_iter_init_find(&it, doc, "defaultWriteConcern") && BSON_ITER_HOLDS_DOCUMENT(&it);
    if (has_wc) {
        bson_value_t v;
        bson_value_copy(bson_iter_value(&it), &v);
        BSON_APPEND_VALUE(reply, "defaultWriteConcern", &v);
        bson_value_destroy(&v);
    } else {
        repl__lock();
        bool majority = !g.has_config || repl_implicit_wc_majority(&g.config);
        repl__unlock();
        if (majority) {
            bson_t wc;
            BSON_APPEND_DOCUMENT_BEGIN(reply, "defaultWriteConcern", &wc);
            BSON_APPEND_UTF8(&wc, "w", "majority");
            BSON_APPEND_INT32(&wc, "wtimeout", 0);
            bson_append_document_end(reply, &wc);
        }
    }
    if (bson_iter_init_find(&it, doc, "updateOpTime")) {
        bson_value_t v;
        bson_value_copy(bson_iter_value(&it), &v);
        BSON_APPEND_VALUE(reply, "updateOpTime", &v);
        bson_value_destroy(&v);
    }
    if (bson_iter_init_find(&it, doc, "updateWallClockTime")) {
        bson_value_t v;
        bson_value_copy(bson_iter_value(&it), &v);
        BSON_APPEND_VALUE(reply, "updateWallClockTime", &v);
        bson_value_destroy(&v);
    }
    BSON_APPEND_UTF8(reply, "defaultWriteConcernSource", has_wc ? "global" : "implicit");
    BSON_APPEND_UTF8(reply, "defaultReadConcernSource", has_rc ? "global" : "implicit");
    BSON_APPEND_DATE_TIME(reply, "localUpdateWallClockTime", local_ms);
}

/* repl_get_default_rw_concern -- see repl.h. */
int repl_get_default_rw_concern(micad_t *m, bson_t *reply, status_t *st)
{
    bson_t doc;
    if (!g.enabled)
        return status_set(st, ERR_NoReplicationEnabled,
                          "getDefaultRWConcern is only supported on replica set members here");
    ST_RET(read_stored(m, &doc, st));
    pthread_mutex_lock(&g_lock);
    int64_t local_ms = g_loaded ? g_local_update_ms : time_now_ms();
    pthread_mutex_unlock(&g_lock);
    append_reply(&doc, local_ms, reply);
    bson_destroy(&doc);
    return 0;
}

/* check_rc -- a default read concern: level local / available / majority, no times. */
static int check_rc(const bson_t *rc, status_t *st)
{
    bson_iter_t it;
    bson_iter_init(&it, rc);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "level") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'ReadConcern.level' is the wrong type '%s', "
                                  "expected type 'string'",
                                  bsonu_type_name(bson_iter_type(&it)));
            const char *l = bson_iter_utf8(&it, NULL);
            if (strcmp(l, "snapshot") == 0 || strcmp(l, "linearizable") == 0)
                return status_set(st, ERR_BadValue,
                                  "level: '%s' is not suitable for the default read concern", l);
            if (strcmp(l, "local") != 0 && strcmp(l, "available") != 0 &&
                strcmp(l, "majority") != 0)
                return status_set(st, ERR_FailedToParse, "%s is not a valid read concern level", l);
        } else if (strcmp(k, "afterOpTime") == 0 || strcmp(k, "afterClusterTime") == 0 ||
                   strcmp(k, "atClusterTime") == 0) {
            return status_set(st, ERR_BadValue, "'%s' is not suitable for the default read concern",
                              k);
        } else if (strcmp(k, "provenance") == 0) {
            return status_set(st, ERR_BadValue,
                              "'provenance' must be unset in default read concern");
        } else {
            return status_set(st, ERR_FailedToParse, "unrecognized read concern field: %s", k);
        }
    }
    return 0;
}

/* check_wc -- a default write concern: w present, acknowledged, a known mode. */
static int check_wc(const bson_t *wc, status_t *st)
{
    bson_iter_t it;
    bool has_w = false;
    bson_iter_init(&it, wc);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "w") == 0) {
            has_w = true;
            if (BSON_ITER_HOLDS_UTF8(&it)) {
                const char *w = bson_iter_utf8(&it, NULL);
                if (strcmp(w, "majority") != 0) {
                    repl__lock();
                    bool known = g.has_config && repl_config_find_mode(&g.config, w) != NULL;
                    repl__unlock();
                    if (!known)
                        return status_set(st, ERR_UnknownReplWriteConcern,
                                          "No write concern mode named '%s' found in replica "
                                          "set configuration",
                                          w);
                }
            } else if (bsonu_is_number(bson_iter_type(&it))) {
                int64_t n = bson_iter_as_int64(&it);
                if (n < 0 || n > 50)
                    return status_set(st, ERR_FailedToParse,
                                      "w has to be a non-negative number and not greater than "
                                      "50; found: %lld",
                                      (long long)n);
                if (n == 0)
                    return status_set(st, ERR_BadValue,
                                      "Unacknowledged write concern is not suitable for the "
                                      "default write concern");
            } else {
                return status_set(st, ERR_FailedToParse, "w has to be a number or string");
            }
        } else if (strcmp(k, "j") == 0 || strcmp(k, "wtimeout") == 0 || strcmp(k, "fsync") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it) && !bsonu_is_number(bson_iter_type(&it)))
                return status_set(st, ERR_FailedToParse, "%s must be numeric or a boolean", k);
        } else if (strcmp(k, "provenance") == 0) {
            return status_set(st, ERR_BadValue,
                              "'provenance' must be unset in default write concern");
        } else {
            return status_set(st, ERR_FailedToParse, "unrecognized write concern field: %s", k);
        }
    }
    if (!has_w && !bson_empty(wc))
        return status_set(st, ERR_BadValue, "Default write concern must have 'w' field.");
    return 0;
}

typedef struct put_defaults {
    stor_collection_t *coll;
    const bson_t *doc;
} put_defaults_t;

/* put_fn -- replace (or insert) the defaults document, through the write path. */
static int put_fn(stor_session_t *sess, void *arg, status_t *st)
{
    put_defaults_t *p = arg;
    bson_t before = BSON_INITIALIZER;
    int64_t rid;
    bool found;
    int ret = find_stored(sess, p->coll, &before, &rid, &found, st);
    if (ret == 0)
        ret = found ? micad_write_update(sess, p->coll, rid, &before, p->doc, st)
                    : micad_write_insert(sess, p->coll, p->doc, NULL, st);
    bson_destroy(&before);
    return ret;
}

/* doc_arg -- cmd's field key as a document (absent: *has false). */
static int doc_arg(const bson_t *cmd, const char *key, bson_t *out, bool *has, status_t *st)
{
    bson_iter_t it;
    *has = false;
    if (!bson_iter_init_find(&it, cmd, key))
        return 0;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'setDefaultRWConcern.%s' is the wrong type '%s', expected "
                          "type 'object'",
                          key, bsonu_type_name(bson_iter_type(&it)));
    const uint8_t *data;
    uint32_t len;
    bson_iter_document(&it, &len, &data);
    if (!bson_init_static(out, data, len))
        return status_set(st, ERR_InvalidBSON, "malformed %s", key);
    *has = true;
    return 0;
}

/* repl_set_default_rw_concern -- see repl.h. */
int repl_set_default_rw_concern(micad_t *m, const wire_opctx_t *op, const bson_t *cmd,
                                bson_t *reply, status_t *st)
{
    bson_t rc, wc, current, doc = BSON_INITIALIZER;
    bool has_rc, has_wc;
    int ret = 0;
    if (!g.enabled)
        return status_set(st, ERR_NoReplicationEnabled,
                          "setDefaultRWConcern is only supported on replica set members here");
    ST_RET(doc_arg(cmd, "defaultReadConcern", &rc, &has_rc, st));
    ST_RET(doc_arg(cmd, "defaultWriteConcern", &wc, &has_wc, st));
    if (!has_rc && !has_wc)
        return status_set(st, ERR_BadValue,
                          "At least one of the \"defaultReadConcern\" or \"defaultWriteConcern\" "
                          "fields must be present");
    if (has_rc)
        ST_RET(check_rc(&rc, st));
    if (has_wc)
        ST_RET(check_wc(&wc, st));
    if (!repl_is_writable_primary())
        return status_set(st, ERR_NotWritablePrimary, "not primary");
    micad_wc_t cmd_wc;
    ST_RET(micad_db_write_concern(op, &cmd_wc, st));
    ST_RET(read_stored(m, &current, st));
    bson_iter_t it;
    bool cur_rc = bson_iter_init_find(&it, &current, "defaultReadConcern");
    bool cur_wc = bson_iter_init_find(&it, &current, "defaultWriteConcern");
    if (has_wc && bson_empty(&wc) && cur_wc) {
        bson_destroy(&current);
        return status_set(st, ERR_IllegalOperation,
                          "The global default write concern cannot be unset once it is set.");
    }
    /* the new document: given fields replace, absent ones keep the stored ones */
    BSON_APPEND_UTF8(&doc, "_id", DOC_ID);
    if (has_rc && !bson_empty(&rc))
        BSON_APPEND_DOCUMENT(&doc, "defaultReadConcern", &rc);
    else if (!has_rc && cur_rc && bson_iter_init_find(&it, &current, "defaultReadConcern"))
        BSON_APPEND_VALUE(&doc, "defaultReadConcern", bson_iter_value(&it));
    if (has_wc && !bson_empty(&wc))
        BSON_APPEND_DOCUMENT(&doc, "defaultWriteConcern", &wc);
    else if (!has_wc && cur_wc && bson_iter_init_find(&it, &current, "defaultWriteConcern"))
        BSON_APPEND_VALUE(&doc, "defaultWriteConcern", bson_iter_value(&it));
    bson_destroy(&current);
    uint64_t now_ts = repl_clock_now();
    BSON_APPEND_TIMESTAMP(&doc, "updateOpTime", repl_ts_secs(now_ts), repl_ts_inc(now_ts));
    BSON_APPEND_DATE_TIME(&doc, "updateWallClockTime", time_now_ms());
    stor_session_t *sess;
    stor_collection_t *coll;
    bool created;
    ST_ERR(micad_db_session(m, &sess, st));
    ST_ERR(micad_write_get_or_create(m, sess, NS_SET, &coll, &created, st));
    micad_db_lock_ns(NS_SET, false);
    put_defaults_t p = {coll, &doc};
    ret = micad_db_run_uow(op, sess, put_fn, &p, st);
    micad_db_unlock_ns(NS_SET, false);
    if (ret != 0)
        goto err;
    pthread_mutex_lock(&g_lock);
    bson_reinit(&g_doc);
    bson_concat(&g_doc, &doc);
    g_loaded = true;
    g_local_update_ms = time_now_ms();
    int64_t local_ms = g_local_update_ms;
    pthread_mutex_unlock(&g_lock);
    repl__lock();
    g_loaded_term = g.has_config && g.self >= 0 ? g.topo.term : g.term;
    repl__unlock();
    LOG(INFO, REPL, 20997, "Refreshed RWC defaults", "newDefaults", BCON_DOCUMENT(&doc));
    append_reply(&doc, local_ms, reply);
    micad_db_finish_write(sess, &cmd_wc, reply);
err:
    bson_destroy(&doc);
    return ret;
}
