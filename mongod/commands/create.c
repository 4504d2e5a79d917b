/*
 * create.c -- {create: "c", capped, size, max, validator, validationLevel,
 * validationAction, ...}: create a collection explicitly (with its _id_
 * index). As in MongoDB 7.0, creating an existing collection with the same
 * options succeeds; with other options it is NamespaceExists (48). With
 * viewOn it creates a view (mongod/views.c). clusteredIndex and
 * expireAfterSeconds make a clustered collection (mongod/clustered.c). Time
 * series collections answer NotImplemented (238).
 */
#include "mongod/views.h"
#include "mongod/write.h"
#include "mongod/ops.h"

#include <string.h>

/* check_enum -- MongoDB's IDL message for a bad enumeration value. */
static int check_enum(const bson_iter_t *it, const char *field, const char *const *ok, status_t *st)
{
    if (!BSON_ITER_HOLDS_UTF8(it))
        return micad_db_type_error(it, "create", "string", st);
    const char *v = bson_iter_utf8(it, NULL);
    for (int i = 0; ok[i]; i++)
        if (strcmp(v, ok[i]) == 0)
            return 0;
    return status_set(st, ERR_BadValue,
                      "Enumeration value '%s' for field '%s' is not a valid value.", v, field);
}

/* build_options -- the stored options document, from the command's own fields. */
static int build_options(const bson_t *cmd, bson_t *opts, status_t *st)
{
    static const char *const levels[] = {"off", "strict", "moderate", NULL};
    static const char *const actions[] = {"error", "warn", NULL};
    bson_iter_t it;
    bool capped = false, has_size = false;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "capped") == 0) {
            ST_RET(micad_db_arg_bool(&it, "create", &capped, st));
            BSON_APPEND_BOOL(opts, "capped", capped);
        } else if (strcmp(k, "size") == 0 || strcmp(k, "max") == 0) {
            int64_t v;
            ST_RET(micad_db_arg_int64(&it, "create", &v, st));
            if (v < 0)
                return status_set(st, 51024,
                                  "BSON field '%s' value must be >= 0, actual value '%lld'", k,
                                  (long long)v);
            if (strcmp(k, "size") == 0)
                has_size = true;
            BSON_APPEND_INT64(opts, k, v);
        } else if (strcmp(k, "validator") == 0) {
            bson_t f;
            qry_match_t *m = NULL;
            ST_RET(micad_db_arg_doc(&it, "create", &f, st));
            ST_RET(qry_match_parse(&f, NULL, &m, st));
            qry_match_destroy(m);
            BSON_APPEND_DOCUMENT(opts, "validator", &f);
        } else if (strcmp(k, "validationLevel") == 0) {
            ST_RET(check_enum(&it, k, levels, st));
            bson_append_iter(opts, k, -1, &it);
        } else if (strcmp(k, "validationAction") == 0) {
            ST_RET(check_enum(&it, k, actions, st));
            bson_append_iter(opts, k, -1, &it);
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "viewOn") == 0 || strcmp(k, "pipeline") == 0) {
            /* a view: create_view handled it */
        } else if (strcmp(k, "clusteredIndex") == 0 || strcmp(k, "expireAfterSeconds") == 0) {
            /* micad_clustered_create_options, below */
        } else if (strcmp(k, "timeseries") == 0 || strcmp(k, "changeStreamPreAndPostImages") == 0 ||
                   strcmp(k, "encryptedFields") == 0) {
            return status_set(st, ERR_NotImplemented, "create option '%s' is not supported yet", k);
        } else if (strcmp(k, "storageEngine") == 0 || strcmp(k, "indexOptionDefaults") == 0 ||
                   strcmp(k, "idIndex") == 0 || strcmp(k, "flags") == 0 ||
                   strcmp(k, "autoIndexId") == 0) {
            /* accepted and kept, as MongoDB reports them back in listCollections */
            bson_append_iter(opts, k, -1, &it);
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("create", k, st);
        }
    }
    ST_RET(micad_clustered_create_options(cmd, opts, st));
    if (capped && !has_size)
        return status_set(st, ERR_InvalidOptions,
                          "the 'size' field is required when 'capped' is true");
    if (!capped && has_size) {
        bson_iter_t s;
        if (bson_iter_init_find(&s, cmd, "size"))
            return status_set(st, ERR_InvalidOptions,
                              "the 'size' field is only valid for capped collections");
    }
    return 0;
}

/*
 * create_view -- {create: "v", viewOn, pipeline, collation?}: *is_view when
 * the command defines a view; collection-only options are InvalidOptions.
 */
static int create_view(wire_opctx_t *op, const char *ns, const bson_t *cmd, bool *is_view,
                       status_t *st)
{
    bson_iter_t it;
    const char *view_on = NULL;
    bson_t pipeline = BSON_INITIALIZER;
    bool has_pipeline = false;
    *is_view = false;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "viewOn") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return micad_db_type_error(&it, "create", "string", st);
            view_on = bson_iter_utf8(&it, NULL);
        } else if (strcmp(k, "pipeline") == 0) {
            const uint8_t *data;
            uint32_t len;
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return micad_db_type_error(&it, "create", "array", st);
            bson_iter_array(&it, &len, &data);
            if (!bson_init_static(&pipeline, data, len))
                return status_set(st, ERR_InvalidBSON, "malformed pipeline");
            has_pipeline = true;
        }
    }
    if (view_on == NULL) {
        if (has_pipeline)
            return status_set(st, ERR_BadValue,
                              "'pipeline' requires 'viewOn' to also be specified");
        return 0;
    }
    *is_view = true;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "viewOn") == 0 || strcmp(k, "pipeline") == 0 || micad_db_is_generic_arg(k))
            continue;
        if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
            continue;
        }
        return status_set(st, ERR_InvalidOptions, "option '%s' is not allowed when creating a view",
                          k);
    }
    micad_wc_t wc;
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_view_create(op, ns, view_on, &pipeline, st));
    return 0;
}

/* micad_cmd_create -- see the file comment. */
static int create_run(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1], db[128];
    const char *cname;
    micad_wc_t wc;
    stor_session_t *sess;
    bson_t opts = BSON_INITIALIZER;
    int ret = 0;

    ST_ERR(micad_db_cmd_ns(op, cmd, ns, st));
    ST_ERR(micad_db_split_ns(ns, db, &cname, st));
    if (micad_db_is_system(cname) && strcmp(cname, "system.js") != 0 &&
        strcmp(cname, "system.profile") != 0) {
        ret = status_set(st, ERR_InvalidNamespace, "Invalid system namespace: %s", ns);
        goto err;
    }
    bool is_view = false;
    ST_ERR(create_view(op, ns, cmd, &is_view, st));
    if (is_view) {
        ST_ERR(micad_db_write_concern(op, &wc, st));
        ST_ERR(micad_db_session(m, &sess, st));
        micad_db_finish_write(sess, &wc, reply);
        goto err;
    }
    if (micad_view_is_view(m, ns)) {
        ret = status_set(st, ERR_NamespaceExists, "Namespace %s already exists", ns);
        goto err;
    }
    ST_ERR(build_options(cmd, &opts, st));
    ST_ERR(micad_db_write_concern(op, &wc, st));
    ST_ERR(micad_db_session(m, &sess, st));
    micad_db_lock_ns(ns, true);
    ret = micad_write_create_collection(sess, ns, &opts, NULL, st);
    if (ret == ERR_NamespaceExists) {
        stor_collection_t *coll;
        status_t ignored = STATUS_INIT;
        if (micad_db_get_collection(m, ns, &coll, &ignored) == 0 &&
            bsonu_compare_doc(stor_collection_options(coll), &opts) == 0) {
            status_reset(st);
            ret = 0;
        } else {
            status_set(st, ERR_NamespaceExists, "Collection %s already exists.", ns);
        }
    }
    micad_db_unlock_ns(ns, true);
    if (ret == 0)
        micad_db_finish_write(sess, &wc, reply);
err:
    bson_destroy(&opts);
    return ret;
}

/* micad_cmd_create -- the command inside a write slot: an fsync lock holds it out. */
MICAD_CATALOG_CMD(micad_cmd_create, create_run)
