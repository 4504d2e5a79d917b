/*
 * coll_mod.c -- {collMod: "c", validator, validationLevel, validationAction,
 * cappedSize, cappedMax, index: {keyPattern | name, hidden, expireAfterSeconds}}:
 * change a collection's options or one index's options, persisted in the
 * catalog (storage/stats.c). The reply carries MongoDB's before/after fields
 * for index changes: expireAfterSeconds_old/_new, hidden_old/_new (the hidden
 * pair only when the value changes). Views, time series, clustered TTL,
 * unique/prepareUnique conversions and pre/post images answer NotImplemented
 * (238); anything else unknown is InvalidOptions (72), as MongoDB does.
 */
#include "mongod/views.h"
#include "mongod/write.h"
#include "mongod/ops.h"

#include <math.h>
#include <string.h>

/* The largest expireAfterSeconds MongoDB accepts (a signed 32-bit int). */
#define COLLMOD_MAX_EXPIRE 2147483647LL

/* collmod_req_t -- the parsed request: which fields to change, to what. */
typedef struct collmod_req {
    bool has_validator, has_level, has_action, has_capped_size, has_capped_max;
    bson_t validator; /* a view into the command */
    const char *level, *action;
    int64_t capped_size, capped_max;
    bool has_index;
    bson_t index;                /* a view into the command */
    bool has_expire, expire_off; /* a clustered collection's expireAfterSeconds (or "off") */
    int64_t expire;
} collmod_req_t;

/* check_enum -- MongoDB's IDL message for a bad enumeration value. */
static int check_enum(const bson_iter_t *it, const char *field, const char *const *ok,
                      const char **out, status_t *st)
{
    if (!BSON_ITER_HOLDS_UTF8(it))
        return micad_db_type_error(it, "collMod", "string", st);
    const char *v = bson_iter_utf8(it, NULL);
    for (int i = 0; ok[i]; i++) {
        if (strcmp(v, ok[i]) == 0) {
            *out = v;
            return 0;
        }
    }
    return status_set(st, ERR_BadValue,
                      "Enumeration value '%s' for field '%s' is not a valid value.", v, field);
}

/* parse -- every field after the first; nothing is changed yet. */
static int parse(const bson_t *cmd, collmod_req_t *r, status_t *st)
{
    static const char *const levels[] = {"off", "strict", "moderate", NULL};
    static const char *const actions[] = {"error", "warn", NULL};
    static const char *const later[] = {"timeseries", "changeStreamPreAndPostImages",
                                        "clusteredIndex", "dryRun", NULL};
    bson_iter_t it;
    memset(r, 0, sizeof(*r));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "validator") == 0) {
            qry_match_t *m = NULL;
            ST_RET(micad_db_arg_doc(&it, "collMod", &r->validator, st));
            ST_RET(qry_match_parse(&r->validator, NULL, &m, st));
            qry_match_destroy(m);
            r->has_validator = true;
        } else if (strcmp(k, "validationLevel") == 0) {
            ST_RET(check_enum(&it, k, levels, &r->level, st));
            r->has_level = true;
        } else if (strcmp(k, "validationAction") == 0) {
            ST_RET(check_enum(&it, k, actions, &r->action, st));
            r->has_action = true;
        } else if (strcmp(k, "cappedSize") == 0 || strcmp(k, "cappedMax") == 0) {
            int64_t v;
            ST_RET(micad_db_arg_int64(&it, "collMod", &v, st));
            bool size = strcmp(k, "cappedSize") == 0;
            if (v < 0 || (size && v == 0))
                return status_set(st, ERR_InvalidOptions, "%s must be %s", k,
                                  size ? "greater than 0" : "at least 0");
            if (size) {
                r->capped_size = v;
                r->has_capped_size = true;
            } else {
                r->capped_max = v;
                r->has_capped_max = true;
            }
        } else if (strcmp(k, "index") == 0) {
            ST_RET(micad_db_arg_doc(&it, "collMod", &r->index, st));
            r->has_index = true;
        } else if (strcmp(k, "expireAfterSeconds") == 0) {
            /* a clustered collection's TTL (checked against the collection later) */
            r->has_expire = true;
            if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "off") == 0) {
                r->expire_off = true;
            } else if (bsonu_is_number(bson_iter_type(&it))) {
                double d = bson_iter_as_double(&it);
                if (!(d >= 0) || d > (double)COLLMOD_MAX_EXPIRE)
                    return status_set(st, ERR_InvalidOptions,
                                      "TTL index 'expireAfterSeconds' option must be within an "
                                      "acceptable range, try a lower number");
                r->expire = (int64_t)d;
            } else {
                return status_set(st, ERR_InvalidOptions,
                                  "Invalid value for 'expireAfterSeconds': must be a number or "
                                  "'off'");
            }
        } else if (micad_db_is_generic_arg(k)) {
            continue;
        } else {
            for (int i = 0; later[i]; i++)
                if (strcmp(k, later[i]) == 0)
                    return status_set(st, ERR_NotImplemented,
                                      "collMod option '%s' is not supported yet", k);
            return status_set(st, ERR_InvalidOptions, "unknown option to collMod: %s", k);
        }
    }
    return 0;
}

/* find_index -- the index the request names by keyPattern or name; IndexNotFound 27. */
static int find_index(stor_engine_t *eng, stor_collection_t *coll, const char *ns,
                      const bson_t *spec, stor_index_t **out, status_t *st)
{
    bson_iter_t kp, nm;
    bool has_kp = bson_iter_init_find(&kp, spec, "keyPattern");
    bool has_nm = bson_iter_init_find(&nm, spec, "name");
    if (has_kp && has_nm)
        return status_set(st, ERR_InvalidOptions, "Cannot specify both key pattern and name.");
    if (!has_kp && !has_nm)
        return status_set(st, ERR_InvalidOptions,
                          "must specify either index name or key pattern for collMod");
    if (has_nm) {
        if (!BSON_ITER_HOLDS_UTF8(&nm))
            return micad_db_type_error(&nm, "collMod.index", "string", st);
        const char *name = bson_iter_utf8(&nm, NULL);
        if (stor_index_lookup(coll, name, out, st) != 0)
            return status_set(st, ERR_IndexNotFound, "cannot find index %s for ns %s", name, ns);
        return 0;
    }
    bson_t key;
    ST_RET(micad_db_arg_doc(&kp, "collMod.index", &key, st));
    bson_t list;
    bson_iter_t it;
    const char *found = NULL;
    int nfound = 0;
    ST_RET(stor_list_indexes(eng, ns, &list, st));
    bson_iter_init(&it, &list);
    while (bson_iter_next(&it)) {
        bson_t spec_i;
        if (micad_db_arg_doc(&it, "listIndexes", &spec_i, st) != 0)
            continue;
        bson_iter_t k, n;
        if (bson_iter_init_find(&k, &spec_i, "key") && BSON_ITER_HOLDS_DOCUMENT(&k) &&
            bson_iter_init_find(&n, &spec_i, "name")) {
            bson_t key_i;
            micad_db_arg_doc(&k, "listIndexes", &key_i, st);
            if (bson_equal(&key_i, &key)) {
                found = bson_iter_utf8(&n, NULL);
                nfound++;
            }
        }
    }
    status_reset(st);
    int ret = 0;
    if (nfound == 0) {
        char *json = bson_as_relaxed_extended_json(&key, NULL);
        ret = status_set(st, ERR_IndexNotFound, "cannot find index %s for ns %s", json, ns);
        bson_free(json);
    } else if (nfound > 1) {
        ret = status_set(st, ERR_AmbiguousIndexKeyPattern,
                         "index keyPattern matches %d indexes, must use index name", nfound);
    } else {
        ret = stor_index_lookup(coll, found, out, st);
    }
    bson_destroy(&list);
    return ret;
}

/* append_seconds -- expireAfterSeconds (<= INT32_MAX after the range check) as an int, as
 * clients wrote it. */
static void append_seconds(bson_t *doc, const char *key, int64_t secs)
{
    BSON_APPEND_INT32(doc, key, (int32_t)secs);
}

/* index_changes -- the new spec for idx and the reply's old/new fields. */
static int index_changes(stor_index_t *idx, const bson_t *req, bson_t *spec, bson_t *fields,
                         bool *changed, status_t *st)
{
    const bson_t *old = stor_index_spec(idx);
    bson_iter_t it, o;
    bool has_hidden = false, hidden = false, has_expire = false;
    int64_t expire = 0;
    *changed = false;
    bson_iter_init(&it, req);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "keyPattern") == 0 || strcmp(k, "name") == 0) {
            continue;
        } else if (strcmp(k, "hidden") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it))
                return micad_db_type_error(&it, "collMod.index", "bool", st);
            has_hidden = true;
            hidden = bson_iter_bool(&it);
        } else if (strcmp(k, "expireAfterSeconds") == 0) {
            if (!bsonu_is_number(bson_iter_type(&it)))
                return micad_db_type_error(&it, "collMod.index", "long", st);
            double d = bson_iter_as_double(&it);
            if (isnan(d) || d < 0 || d > (double)COLLMOD_MAX_EXPIRE)
                return status_set(st, ERR_InvalidOptions,
                                  "TTL index 'expireAfterSeconds' option must be within an "
                                  "acceptable range, try a lower number");
            has_expire = true;
            expire = bson_iter_as_int64(&it);
        } else if (strcmp(k, "unique") == 0 || strcmp(k, "prepareUnique") == 0 ||
                   strcmp(k, "forceNonUnique") == 0) {
            return status_set(st, ERR_NotImplemented,
                              "collMod index option '%s' is not "
                              "supported yet",
                              k);
        } else {
            return status_set(st, ERR_InvalidOptions, "unknown collMod index option: %s", k);
        }
    }
    if (!has_hidden && !has_expire)
        return status_set(st, ERR_InvalidOptions,
                          "no expireAfterSeconds, hidden, unique, or prepareUnique field");
    if (strcmp(stor_index_name(idx), "_id_") == 0) {
        if (has_hidden)
            return status_set(st, ERR_BadValue, "can't hide _id index");
        return status_set(st, ERR_InvalidOptions, "the _id index cannot be a TTL index");
    }
    if (has_expire && bson_count_keys(stor_index_key_pattern(idx)) != 1)
        return status_set(st, ERR_InvalidOptions,
                          "TTL indexes are single-field indexes, compound indexes do not "
                          "support TTL");
    bool old_hidden = bson_iter_init_find(&o, old, "hidden") && bson_iter_as_bool(&o);
    bool had_expire = bson_iter_init_find(&o, old, "expireAfterSeconds");
    if (has_expire) {
        if (had_expire)
            bson_append_iter(fields, "expireAfterSeconds_old", -1, &o);
        append_seconds(fields, "expireAfterSeconds_new", expire);
        if (!had_expire || bson_iter_as_int64(&o) != expire ||
            bson_iter_type(&o) != BSON_TYPE_INT32)
            *changed = true;
    }
    if (has_hidden && hidden != old_hidden) {
        BSON_APPEND_BOOL(fields, "hidden_old", old_hidden);
        BSON_APPEND_BOOL(fields, "hidden_new", hidden);
        *changed = true;
    }
    /* the new spec: the old one with these two fields replaced (hidden: false is dropped) */
    bson_iter_init(&o, old);
    while (bson_iter_next(&o)) {
        const char *k = bson_iter_key(&o);
        if ((has_hidden && strcmp(k, "hidden") == 0) ||
            (has_expire && strcmp(k, "expireAfterSeconds") == 0))
            continue;
        bson_append_iter(spec, k, -1, &o);
    }
    if (has_expire)
        append_seconds(spec, "expireAfterSeconds", expire);
    if (has_hidden ? hidden : old_hidden)
        BSON_APPEND_BOOL(spec, "hidden", true);
    return 0;
}

/* collection_changes -- the new options document: old options with the request's replaced. */
static int collection_changes(stor_collection_t *coll, const collmod_req_t *r, bson_t *opts,
                              bool *changed, status_t *st)
{
    const bson_t *old = stor_collection_options(coll);
    bson_iter_t it;
    bool capped = bson_iter_init_find(&it, old, "capped") && bson_iter_as_bool(&it);
    *changed = r->has_validator || r->has_level || r->has_action || r->has_capped_size ||
               r->has_capped_max || r->has_expire;
    if (r->has_expire && !micad_clustered_spec(old, NULL))
        return status_set(st, ERR_InvalidOptions,
                          "collMod 'expireAfterSeconds' option is only supported on time-series "
                          "collections or clustered collections");
    if ((r->has_capped_size || r->has_capped_max) && !capped)
        return status_set(st, ERR_InvalidOptions,
                          "Cannot change the size of a non-capped collection");
    bson_iter_init(&it, old);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if ((r->has_validator && strcmp(k, "validator") == 0) ||
            (r->has_level && strcmp(k, "validationLevel") == 0) ||
            (r->has_action && strcmp(k, "validationAction") == 0) ||
            (r->has_capped_size && strcmp(k, "size") == 0) ||
            (r->has_capped_max && strcmp(k, "max") == 0) ||
            (r->has_expire && strcmp(k, "expireAfterSeconds") == 0))
            continue;
        bson_append_iter(opts, k, -1, &it);
    }
    if (r->has_validator)
        BSON_APPEND_DOCUMENT(opts, "validator", &r->validator);
    if (r->has_level)
        BSON_APPEND_UTF8(opts, "validationLevel", r->level);
    if (r->has_action)
        BSON_APPEND_UTF8(opts, "validationAction", r->action);
    if (r->has_capped_size)
        BSON_APPEND_INT64(opts, "size", r->capped_size);
    if (r->has_capped_max)
        BSON_APPEND_INT64(opts, "max", r->capped_max);
    if (r->has_expire && !r->expire_off)
        BSON_APPEND_INT64(opts, "expireAfterSeconds", r->expire);
    return 0;
}

/*
 * coll_mod_view -- collMod of a view: {collMod: "v", viewOn?, pipeline?}; any
 * other option is InvalidOptions, as for MongoDB.
 */
static int coll_mod_view(wire_opctx_t *op, const char *ns, const bson_t *cmd, bson_t *reply,
                         status_t *st)
{
    bson_iter_t it;
    const char *view_on = NULL;
    bson_t pipeline;
    bool has_pipeline = false;
    micad_wc_t wc;
    stor_session_t *sess;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "viewOn") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return micad_db_type_error(&it, "collMod", "string", st);
            view_on = bson_iter_utf8(&it, NULL);
        } else if (strcmp(k, "pipeline") == 0) {
            const uint8_t *data;
            uint32_t len;
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return micad_db_type_error(&it, "collMod", "array", st);
            bson_iter_array(&it, &len, &data);
            if (!bson_init_static(&pipeline, data, len))
                return status_set(st, ERR_InvalidBSON, "malformed pipeline");
            has_pipeline = true;
        } else if (!micad_db_is_generic_arg(k)) {
            return status_set(st, ERR_InvalidOptions, "option not supported on a view: %s", k);
        }
    }
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_view_modify(op, ns, view_on, has_pipeline ? &pipeline : NULL, st));
    ST_RET(micad_db_session(micad_of(op), &sess, st));
    micad_db_finish_write(sess, &wc, reply);
    return 0;
}

/* micad_cmd_coll_mod -- see the file comment. */
static int coll_mod_run(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1], db[128];
    const char *cname;
    collmod_req_t r;
    micad_wc_t wc;
    stor_session_t *sess;
    stor_collection_t *coll;
    stor_index_t *idx = NULL;
    bson_t opts = BSON_INITIALIZER, spec = BSON_INITIALIZER, fields = BSON_INITIALIZER;
    bool opts_changed = false, spec_changed = false;
    int ret = 0;

    ST_ERR(micad_db_cmd_ns(op, cmd, ns, st));
    ST_ERR(micad_db_split_ns(ns, db, &cname, st));
    if (micad_view_is_view(m, ns))
        return coll_mod_view(op, ns, cmd, reply, st);
    {
        bson_iter_t vi;
        if (bson_iter_init_find(&vi, cmd, "viewOn") || bson_iter_init_find(&vi, cmd, "pipeline")) {
            ret = status_set(st, ERR_InvalidOptions, "option %s is only supported on views",
                             bson_iter_key(&vi));
            goto err;
        }
    }
    ST_ERR(parse(cmd, &r, st));
    ST_ERR(micad_db_write_concern(op, &wc, st));
    ST_ERR(micad_db_session(m, &sess, st));
    micad_db_lock_ns(ns, true); /* writers read the options and specs without a lock */
    if (micad_db_get_collection(m, ns, &coll, st) != 0) {
        ret = status_set(st, ERR_NamespaceNotFound, "ns does not exist: %s", ns);
        goto unlock;
    }
    if (micad_db_is_system(cname) || strcmp(db, "local") == 0) {
        /* MongoDB refuses collMod on most system collections; be conservative */
        ret = status_set(st, ERR_InvalidNamespace, "cannot modify system collection %s", ns);
        goto unlock;
    }
    if (r.has_index) {
        ret = find_index(m->engine, coll, ns, &r.index, &idx, st);
        if (ret == 0)
            ret = index_changes(idx, &r.index, &spec, &fields, &spec_changed, st);
    }
    if (ret == 0)
        ret = collection_changes(coll, &r, &opts, &opts_changed, st);
    /* both checked before either is applied, so a bad request changes nothing */
    if (ret == 0 && (opts_changed || spec_changed))
        ret = micad_write_coll_mod(sess, coll, opts_changed ? &opts : NULL, idx,
                                   spec_changed ? &spec : NULL, st);
    if (ret == 0 && (opts_changed || spec_changed))
        LOG(INFO, COMMAND, 21560, "collMod", "namespace", BCON_UTF8(ns), "index",
            BCON_UTF8(idx ? stor_index_name(idx) : ""));
unlock:
    micad_db_unlock_ns(ns, true);
    if (ret == 0) {
        bson_concat(reply, &fields);
        micad_db_finish_write(sess, &wc, reply);
    }
err:
    bson_destroy(&opts);
    bson_destroy(&spec);
    bson_destroy(&fields);
    return ret;
}

/* micad_cmd_coll_mod -- the command inside a write slot: an fsync lock holds it out. */
MICAD_CATALOG_CMD(micad_cmd_coll_mod, coll_mod_run)
