/*
 * parameters.c -- the server parameters at run time (see parameters.h): how
 * each row of common/parameters.def is read and set. INT and BOOL values live
 * in common's table (opts_param); setting one stores it there and, where a
 * module keeps its own copy, tells that module (logLevel -> the logger,
 * cursorTimeoutMillis -> the cursor reaper). CUSTOM rows are read and set here.
 */
#include "mongod/parameters.h"

#include "mongod/cursors.h"
#include "mongod/micad.h"

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
#define N_COMP (sizeof(comp_map) / sizeof(comp_map[0]))

/* The query engines MongoDB 7.0 names; Mica has the classic one only. */
#define ENGINE_CLASSIC "forceClassicEngine"

/* append_verbosity -- the current logComponentVerbosity document. */
static void append_verbosity(bson_t *out)
{
    BSON_APPEND_INT32(out, "verbosity", log_get_verbosity() < 0 ? 0 : log_get_verbosity());
    for (size_t i = 0; i < N_COMP; i++) {
        bson_t c;
        BSON_APPEND_DOCUMENT_BEGIN(out, comp_map[i].name, &c);
        BSON_APPEND_INT32(&c, "verbosity", log_get_component_verbosity(comp_map[i].comp));
        bson_append_document_end(out, &c);
    }
}

/* level_of -- a verbosity value: a number, or {verbosity: n}; -1..5. 1: none given. */
static int level_of(const bson_iter_t *in, const char *what, int *out, status_t *st)
{
    bson_iter_t sub, it = *in;
    int64_t v;
    if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        if (!bson_iter_recurse(&it, &sub) || !bson_iter_find(&sub, "verbosity"))
            return -1; /* a document without its own level: nothing to set */
        it = sub;
    }
    if (!bsonu_number_as_int64(bson_iter_value(&it), &v) || v < -1 || v > 5)
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
        size_t i = 0;
        while (i < N_COMP && strcmp(comp_map[i].name, k) != 0)
            i++;
        if (i == N_COMP)
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

/* micad_param_append -- see parameters.h. */
void micad_param_append(const micad_t *m, opts_param_id_t id, bson_t *out, const char *key)
{
    bson_t sub;
    switch (id) {
    case OPTS_PARAM_logLevel:
        BSON_APPEND_INT32(out, key, log_get_verbosity() < 0 ? 0 : log_get_verbosity());
        return;
    case OPTS_PARAM_logComponentVerbosity:
        BSON_APPEND_DOCUMENT_BEGIN(out, key, &sub);
        append_verbosity(&sub);
        bson_append_document_end(out, &sub);
        return;
    case OPTS_PARAM_internalQueryFrameworkControl:
        BSON_APPEND_UTF8(out, key, ENGINE_CLASSIC);
        return;
    case OPTS_PARAM_featureCompatibilityVersion:
        BSON_APPEND_DOCUMENT_BEGIN(out, key, &sub);
        BSON_APPEND_UTF8(&sub, "version", MICAD_FCV);
        bson_append_document_end(out, &sub);
        return;
    case OPTS_PARAM_logicalSessionTimeoutMinutes:
        BSON_APPEND_INT32(out, key, 30); /* what hello reports */
        return;
    case OPTS_PARAM_maxBSONDepth:
        BSON_APPEND_INT32(out, key, WIRE_MAX_BSON_DEPTH);
        return;
    case OPTS_PARAM_quiet:
        BSON_APPEND_BOOL(out, key, m != NULL && m->opts != NULL && m->opts->quiet);
        return;
    default:
        break;
    }
    int64_t v = opts_param(id);
    if (opts_param_kind(id) == OPTS_PK_BOOL)
        BSON_APPEND_BOOL(out, key, v != 0);
    else if (v >= INT32_MIN && v <= INT32_MAX)
        BSON_APPEND_INT32(out, key, (int32_t)v);
    else
        BSON_APPEND_INT64(out, key, v);
}

/* set_engine -- internalQueryFrameworkControl: the names MongoDB 7.0 takes; classic only. */
static int set_engine(const char *v, status_t *st)
{
    if (strcmp(v, ENGINE_CLASSIC) == 0)
        return 0;
    if (strcmp(v, "trySbeEngine") == 0 || strcmp(v, "trySbeRestricted") == 0)
        return status_set(st, ERR_NotImplemented,
                          "internalQueryFrameworkControl: the slot-based execution engine (%s) is "
                          "not implemented; Mica has the classic engine only (forceClassicEngine)",
                          v);
    return status_set(st, ERR_BadValue,
                      "Enumeration value '%s' for field 'internalQueryFrameworkControl' is not a "
                      "valid value.",
                      v);
}

/* changed -- tell the module that keeps its own copy of a parameter. */
static void changed(opts_param_id_t id, int64_t v)
{
    if (id == OPTS_PARAM_logLevel)
        log_set_verbosity((int)v);
    else if (id == OPTS_PARAM_cursorTimeoutMillis)
        micad_cursors_set_timeout(v);
}

/* micad_param_set -- see parameters.h. */
int micad_param_set(opts_param_id_t id, const bson_iter_t *v, status_t *st)
{
    const char *name = opts_param_name(id);
    int64_t n = 0, lo, hi;

    switch (id) {
    case OPTS_PARAM_logComponentVerbosity:
        ST_RET(set_components(v, false, st));
        return set_components(v, true, st);
    case OPTS_PARAM_internalQueryFrameworkControl:
        if (!BSON_ITER_HOLDS_UTF8(v))
            return status_set(st, ERR_TypeMismatch,
                              "internalQueryFrameworkControl must be a string");
        return set_engine(bson_iter_utf8(v, NULL), st);
    default:
        break;
    }
    switch (opts_param_kind(id)) {
    case OPTS_PK_BOOL:
        if (BSON_ITER_HOLDS_BOOL(v))
            n = bson_iter_bool(v) ? 1 : 0;
        else if (bsonu_number_as_int64(bson_iter_value((bson_iter_t *)v), &n))
            n = n != 0;
        else
            return status_set(st, ERR_BadValue, "Invalid value for parameter %s: expected a bool",
                              name);
        break;
    case OPTS_PK_INT:
        if (!bsonu_number_as_int64(bson_iter_value((bson_iter_t *)v), &n))
            return status_set(st, ERR_BadValue,
                              "Invalid value for parameter %s: expected a whole number", name);
        opts_param_range(id, &lo, &hi);
        if (n < lo)
            return status_set(st, ERR_BadValue,
                              "Invalid value for parameter %s: %lld is not greater than or equal "
                              "to %lld",
                              name, (long long)n, (long long)lo);
        if (n > hi)
            return status_set(st, ERR_BadValue,
                              "Invalid value for parameter %s: %lld is not less than or equal to "
                              "%lld",
                              name, (long long)n, (long long)hi);
        break;
    default:
        return status_set(st, ERR_IllegalOperation, "not allowed to change [%s] at runtime", name);
    }
    opts_param_store(id, n);
    changed(id, n);
    return 0;
}

/* micad_params_startup -- see parameters.h. */
int micad_params_startup(const opts_t *o, status_t *st)
{
    if (o->params_set & (1ull << OPTS_PARAM_logLevel))
        changed(OPTS_PARAM_logLevel, o->params[OPTS_PARAM_logLevel]);
    if ((o->params_set & (1ull << OPTS_PARAM_internalQueryFrameworkControl)) &&
        set_engine(o->param_text[OPTS_PARAM_internalQueryFrameworkControl], st) != 0)
        return st->code;
    return 0;
}

/*
 * micad_param_no_table_scan -- as MongoDB's get_executor: notablescan leaves out
 * queries with an empty filter, system collections and the internal databases
 * (admin, local, config).
 */
bool micad_param_no_table_scan(const char *ns, bool empty_filter)
{
    if (opts_param(OPTS_PARAM_notablescan) == 0 || empty_filter)
        return false;
    const char *dot = strchr(ns, '.');
    size_t dl = dot != NULL ? (size_t)(dot - ns) : strlen(ns);
    if ((dl == 5 && strncmp(ns, "admin", 5) == 0) || (dl == 5 && strncmp(ns, "local", 5) == 0) ||
        (dl == 6 && strncmp(ns, "config", 6) == 0))
        return false;
    if (dot != NULL && strncmp(dot + 1, "system.", 7) == 0)
        return false;
    return true;
}
