/*
 * current_op.c -- {currentOp: 1, $all?, $ownOps?, <filter>...}: the operations
 * running now (wire/curop.c's registry) as MongoDB shows them, filtered by the
 * remaining fields read as a query ({secs_running: {$gte: 3}, op: "command"}).
 * Reply {inprog: [...]}. The $currentOp aggregation stage shares
 * micad_current_op_docs.
 */
#include "mongod/db.h"
#include "mongod/ops.h"
#include "query/query.h"

#include <string.h>

/* micad_current_op_docs -- see ops.h. */
int micad_current_op_docs(micad_t *m, const bson_t *filter, bool idle_conns, bson_t *out,
                          uint32_t *n, status_t *st)
{
    qry_match_t *match = NULL;
    bson_t all = BSON_INITIALIZER;
    uint32_t n_all = 0;
    bson_iter_t it;

    if (filter != NULL && !bson_empty(filter))
        ST_RET(qry_match_parse(filter, NULL, &match, st));
    wire_curop_snapshot(idle_conns, m->host, &all, &n_all);
    bson_iter_init(&it, &all);
    while (bson_iter_next(&it)) {
        bson_t d;
        const uint8_t *data;
        uint32_t len;
        char key[16];
        const char *k;
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&d, data, len))
            continue;
        if (match != NULL && !qry_match_eval(match, &d, NULL))
            continue;
        bson_uint32_to_string((*n)++, &k, key, sizeof(key));
        BSON_APPEND_DOCUMENT(out, k, &d);
    }
    qry_match_destroy(match);
    bson_destroy(&all);
    return 0;
}

/* micad_cmd_current_op -- the currentOp command. */
int micad_cmd_current_op(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_t filter = BSON_INITIALIZER, inprog;
    bool all = false;
    bson_iter_t it;
    uint32_t n = 0;
    int ret = 0;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "$all") == 0) {
            all = bson_iter_as_bool(&it);
        } else if (strcmp(k, "$ownOps") == 0) {
            /* without access control every operation is the caller's own */
        } else if (micad_db_is_generic_arg(k) || strcmp(k, "comment") == 0 ||
                   strcmp(k, "maxTimeMS") == 0) {
            continue;
        } else {
            bson_append_iter(&filter, k, -1, &it);
        }
    }
    BSON_APPEND_ARRAY_BEGIN(reply, "inprog", &inprog);
    ret = micad_current_op_docs(micad_of(op), &filter, all, &inprog, &n, st);
    bson_append_array_end(reply, &inprog);
    bson_destroy(&filter);
    return ret;
}
