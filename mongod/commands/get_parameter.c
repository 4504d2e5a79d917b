/*
 * get_parameter.c -- {getParameter: 1, <name>: 1, ...} and {getParameter: '*'}
 * (also {getParameter: {allParameters: true}}): server parameters from a small
 * table. As in mongod, names it does not know are skipped, and a request that
 * finds none is InvalidOptions "no option found to get".
 */
#include "mongod/micad.h"

#include <string.h>

typedef void (*param_fn)(micad_t *m, bson_t *reply, const char *name);

/* fcv -- {version: "7.0"}: the feature set Mica implements. */
static void fcv(micad_t *m, bson_t *reply, const char *name)
{
    bson_t sub;
    (void)m;
    BSON_APPEND_DOCUMENT_BEGIN(reply, name, &sub);
    BSON_APPEND_UTF8(&sub, "version", "7.0");
    bson_append_document_end(reply, &sub);
}

/* log_level -- the verbosity set by -v or systemLog.verbosity. */
static void log_level(micad_t *m, bson_t *reply, const char *name)
{
    BSON_APPEND_INT32(reply, name, m->opts->verbosity);
}

/* quiet -- systemLog.quiet. */
static void quiet(micad_t *m, bson_t *reply, const char *name)
{
    BSON_APPEND_BOOL(reply, name, m->opts->quiet);
}

/* session_timeout -- logicalSessionTimeoutMinutes, as hello reports it. */
static void session_timeout(micad_t *m, bson_t *reply, const char *name)
{
    (void)m;
    BSON_APPEND_INT32(reply, name, 30);
}

/* max_bson_depth -- nesting accepted in requests (the wire validator's limit). */
static void max_bson_depth(micad_t *m, bson_t *reply, const char *name)
{
    (void)m;
    BSON_APPEND_INT32(reply, name, WIRE_MAX_BSON_DEPTH);
}

static const struct {
    const char *name;
    param_fn fn;
} params[] = {
    {"featureCompatibilityVersion", fcv},
    {"logLevel", log_level},
    {"logicalSessionTimeoutMinutes", session_timeout},
    {"maxBSONDepth", max_bson_depth},
    {"quiet", quiet},
};

#define N_PARAMS (sizeof(params) / sizeof(params[0]))

/* server_param -- a --setParameter parameter (common/options.c's table). */
static void server_param(bson_t *reply, opts_param_id_t id)
{
    int64_t v = opts_param(id);
    if (v >= INT32_MIN && v <= INT32_MAX)
        BSON_APPEND_INT32(reply, opts_param_name(id), (int32_t)v);
    else
        BSON_APPEND_INT64(reply, opts_param_name(id), v);
}

/* is_generic -- fields every command may carry, never parameter names. */
static bool is_generic(const char *k)
{
    static const char *const generic[] = {"$db",
                                          "lsid",
                                          "$clusterTime",
                                          "$readPreference",
                                          "comment",
                                          "maxTimeMS",
                                          "readConcern",
                                          "writeConcern",
                                          "apiVersion",
                                          "apiStrict",
                                          "apiDeprecationErrors",
                                          "txnNumber",
                                          "autocommit",
                                          "startTransaction"};
    for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
        if (strcmp(k, generic[i]) == 0)
            return true;
    return false;
}

/* micad_cmd_get_parameter -- the named parameters, or all of them. */
int micad_cmd_get_parameter(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it;
    bool all = false;
    int found = 0;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it); /* getParameter itself */
    if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "*") == 0) {
        all = true;
    } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_t opt;
        if (bson_iter_recurse(&it, &opt) && bson_iter_find(&opt, "allParameters"))
            all = bson_iter_as_bool(&opt);
    }
    if (all) {
        for (size_t i = 0; i < N_PARAMS; i++)
            params[i].fn(m, reply, params[i].name);
        for (int i = 0; i < OPTS_PARAM_COUNT; i++)
            server_param(reply, (opts_param_id_t)i);
        return 0;
    }
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (is_generic(k))
            continue;
        for (size_t i = 0; i < N_PARAMS; i++) {
            if (strcmp(k, params[i].name) == 0) {
                params[i].fn(m, reply, params[i].name);
                found++;
            }
        }
        int id = opts_param_lookup(k);
        if (id >= 0) {
            server_param(reply, (opts_param_id_t)id);
            found++;
        }
    }
    if (found == 0)
        return status_set(st, ERR_InvalidOptions, "no option found to get");
    return 0;
}
