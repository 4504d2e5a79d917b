/*
 * set_parameter.c -- {setParameter: 1, <name>: <value>} on admin, for the log
 * verbosity parameters only: logLevel (the global level, as `-v`) and
 * logComponentVerbosity ({verbosity: N, query: {verbosity: N}, command: N, ...},
 * what mongosh's db.setLogLevel(n, component) sends; -1 makes a component follow
 * the global level again). Reply {was: <previous value>}.
 *
 * A minimal, separate file: the data-driven parameter table for every parameter
 * (getParameter/setParameter) belongs to issue #20 and replaces this when it lands.
 * Any other name is InvalidOptions 72, as mongod answers an unknown parameter.
 */
#include "mongod/db.h"

#include <string.h>

/* comp_map -- logComponentVerbosity's names (mongod's) and our components. */
static const struct {
    const char *name;
    log_component_t comp;
} comp_map[] = {
    {"accessControl", LOG_C_ACCESS}, {"command", LOG_C_COMMAND}, {"control", LOG_C_CONTROL},
    {"executor", LOG_C_EXECUTOR},    {"ftdc", LOG_C_FTDC},       {"index", LOG_C_INDEX},
    {"network", LOG_C_NETWORK},      {"query", LOG_C_QUERY},     {"replication", LOG_C_REPL},
    {"sharding", LOG_C_SHARDING},    {"storage", LOG_C_STORAGE}, {"write", LOG_C_WRITE},
};

/* append_verbosity -- the current logComponentVerbosity document. */
static void append_verbosity(bson_t *out)
{
    BSON_APPEND_INT32(out, "verbosity", log_get_verbosity() < 0 ? 0 : log_get_verbosity());
    for (size_t i = 0; i < sizeof(comp_map) / sizeof(comp_map[0]); i++) {
        bson_t c;
        BSON_APPEND_DOCUMENT_BEGIN(out, comp_map[i].name, &c);
        BSON_APPEND_INT32(&c, "verbosity", log_get_component_verbosity(comp_map[i].comp));
        bson_append_document_end(out, &c);
    }
}

/* level_of -- a verbosity value: a number, or {verbosity: n}; -1..5. */
static int level_of(bson_iter_t *it, const char *what, int *out, status_t *st)
{
    bson_iter_t sub;
    int64_t v;
    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        if (!bson_iter_recurse(it, &sub) || !bson_iter_find(&sub, "verbosity"))
            return -1; /* a document without its own level: nothing to set */
        it = &sub;
    }
    if (!bsonu_number_as_int64(bson_iter_value(it), &v) || v < -1 || v > 5)
        return status_set(st, ERR_BadValue, "Invalid verbosity for %s: expected -1 to 5", what);
    *out = (int)v;
    return 0;
}

/* set_components -- apply a logComponentVerbosity document (checked first, then applied). */
static int set_components(const bson_iter_t *arg, bool apply, status_t *st)
{
    bson_iter_t it;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg))
        return status_set(st, ERR_TypeMismatch, "logComponentVerbosity must be an object");
    bson_iter_recurse(arg, &it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        int level = 0, r;
        if (strcmp(k, "verbosity") == 0) {
            r = level_of(&it, k, &level, st);
            if (r > 0)
                return r;
            if (r == 0 && apply)
                log_set_verbosity(level < 0 ? 0 : level);
            continue;
        }
        size_t i = 0, n = sizeof(comp_map) / sizeof(comp_map[0]);
        while (i < n && strcmp(comp_map[i].name, k) != 0)
            i++;
        if (i == n)
            return status_set(st, ERR_BadValue, "Invalid component name logComponentVerbosity.%s",
                              k);
        r = level_of(&it, k, &level, st);
        if (r > 0)
            return r;
        if (r == 0 && apply)
            log_set_component_verbosity(comp_map[i].comp, level);
    }
    return 0;
}

/* micad_cmd_set_parameter -- the setParameter command (log verbosity only). */
int micad_cmd_set_parameter(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    int n = 0;
    (void)op;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (micad_db_is_generic_arg(k) || strcmp(k, "comment") == 0)
            continue;
        n++;
        if (strcmp(k, "logLevel") == 0) {
            int level = 0;
            if (BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_TypeMismatch, "logLevel must be a number");
            ST_RET(level_of(&it, k, &level, st));
            BSON_APPEND_INT32(reply, "was", log_get_verbosity() < 0 ? 0 : log_get_verbosity());
            log_set_verbosity(level < 0 ? 0 : level);
        } else if (strcmp(k, "logComponentVerbosity") == 0) {
            bson_t was;
            ST_RET(set_components(&it, false, st));
            BSON_APPEND_DOCUMENT_BEGIN(reply, "was", &was);
            append_verbosity(&was);
            bson_append_document_end(reply, &was);
            ST_RET(set_components(&it, true, st));
        } else {
            return status_set(st, ERR_InvalidOptions,
                              "attempted to set unrecognized parameter [%s], use help:true to "
                              "see options ",
                              k);
        }
        LOG(INFO, COMMAND, 21708, "Setting parameter", "name", BCON_UTF8(k));
    }
    if (n == 0)
        return status_set(st, ERR_InvalidOptions,
                          "no option found to set, use help:true to see "
                          "options ");
    return 0;
}
