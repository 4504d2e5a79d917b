/*
 * get_parameter.c -- {getParameter: 1, <name>: 1, ...}, {getParameter: '*'} and
 * {getParameter: {allParameters: true, showDetails: true}, ...}: the server
 * parameters of common/parameters.def. As mongod: names it does not know are
 * skipped, and a request that finds none is InvalidOptions "no option found to
 * get"; showDetails gives {value, settableAtRuntime, settableAtStartup}.
 */
#include "mongod/db.h"
#include "mongod/micad.h"
#include "mongod/parameters.h"

#include <string.h>

/* append_one -- a parameter's value, or its details. */
static void append_one(const micad_t *m, opts_param_id_t id, bool details, bson_t *reply)
{
    bson_t d;
    if (!details) {
        micad_param_append(m, id, reply, opts_param_name(id));
        return;
    }
    int at = opts_param_settable(id);
    BSON_APPEND_DOCUMENT_BEGIN(reply, opts_param_name(id), &d);
    micad_param_append(m, id, &d, "value");
    BSON_APPEND_BOOL(&d, "settableAtRuntime", (at & OPTS_AT_RUNTIME) != 0);
    BSON_APPEND_BOOL(&d, "settableAtStartup", (at & OPTS_AT_STARTUP) != 0);
    bson_append_document_end(reply, &d);
}

/* parse_options -- getParameter's value: '*', or {allParameters, showDetails}. */
static int parse_options(const bson_iter_t *first, bool *all, bool *details, status_t *st)
{
    bson_iter_t opt;
    *all = *details = false;
    if (BSON_ITER_HOLDS_UTF8(first) && strcmp(bson_iter_utf8(first, NULL), "*") == 0) {
        *all = true;
        return 0;
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(first))
        return 0;
    bson_iter_recurse(first, &opt);
    while (bson_iter_next(&opt)) {
        const char *k = bson_iter_key(&opt);
        bool *dst = strcmp(k, "allParameters") == 0 ? all
                    : strcmp(k, "showDetails") == 0 ? details
                                                    : NULL;
        if (dst == NULL)
            return micad_db_unknown_field("getParameter", k, st);
        ST_RET(micad_db_arg_bool(&opt, "getParameter", dst, st));
    }
    return 0;
}

/* micad_cmd_get_parameter -- the named parameters, or all of them. */
int micad_cmd_get_parameter(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it;
    bool all, details;
    int found = 0;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it); /* getParameter itself */
    ST_RET(parse_options(&it, &all, &details, st));
    for (int i = 0; i < OPTS_PARAM_COUNT; i++) {
        bool want = all;
        if (!want) {
            bson_iter_t f;
            want = bson_iter_init_find(&f, cmd, opts_param_name((opts_param_id_t)i)) &&
                   !micad_db_is_generic_arg(opts_param_name((opts_param_id_t)i));
        }
        if (want) {
            append_one(m, (opts_param_id_t)i, details, reply);
            found++;
        }
    }
    if (found == 0)
        return status_set(st, ERR_InvalidOptions, "no option found to get");
    return 0;
}
