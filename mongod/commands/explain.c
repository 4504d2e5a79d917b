/*
 * explain.c -- {explain: {find | count | distinct: ...}, verbosity}: the plan
 * the planner chose (queryPlanner), and with executionStats /
 * allPlansExecution the statistics of running it, in MongoDB's shape:
 * {explainVersion: "1", queryPlanner: {namespace, indexFilterSet,
 * parsedQuery, winningPlan, rejectedPlans}, executionStats: {...},
 * command, serverInfo}. aggregate is explained by mongod/agg.c. Write
 * commands (update, delete, findAndModify) are not explained yet:
 * NotImplemented.
 */
#include "mongod/agg.h"

#include <string.h>
#include <unistd.h>

/* run_all -- run the executor to the end (executionStats), discarding results. */
static int run_all(micad_exec_t *ex, int64_t deadline_us, status_t *st)
{
    int ret = 0;
    ST_RET(micad_exec_begin_batch(ex, st));
    for (;;) {
        bson_t doc;
        bool eof = false;
        ST_ERR(micad_exec_next(ex, deadline_us, &doc, &eof, st));
        if (eof)
            break;
        bson_destroy(&doc);
    }
err:
    micad_exec_end_batch(ex);
    return ret;
}

/* micad_cmd_explain -- the explain command. */
int micad_cmd_explain(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    bson_t inner;
    int verbosity = 2; /* MongoDB's default: allPlansExecution */
    int ret = 0;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    ST_RET(micad_db_arg_doc(&it, "explain", &inner, st));
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "verbosity") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return micad_db_type_error(&it, "explain", "string", st);
            const char *v = bson_iter_utf8(&it, NULL);
            if (strcmp(v, "queryPlanner") == 0)
                verbosity = 0;
            else if (strcmp(v, "executionStats") == 0)
                verbosity = 1;
            else if (strcmp(v, "allPlansExecution") == 0)
                verbosity = 2;
            else
                return status_set(st, ERR_BadValue,
                                  "Enumeration value '%s' for field 'explain.verbosity' is not a "
                                  "valid value.",
                                  v);
        } else if (strcmp(k, "maxTimeMS") != 0 && strcmp(k, "comment") != 0 &&
                   !micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("explain", k, st);
        }
    }
    bson_iter_t f;
    if (!bson_iter_init(&f, &inner) || !bson_iter_next(&f))
        return status_set(st, ERR_FailedToParse, "Explain failed due to unknown command: ");
    const char *name = bson_iter_key(&f);

    micad_query_t q;
    micad_exec_t *ex = NULL;
    micad_query_init(&q);
    int64_t t0 = time_mono_us();
    bson_t scratch = BSON_INITIALIZER;
    const char *top = NULL;
    if (strcmp(name, "find") == 0) {
        micad_find_opts_t fo;
        ST_ERR(micad_query_parse_find(op, &inner, &q, &fo, st));
        q.tailable = false;
        micad_query_natural_sort(&q);
        ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
        if (verbosity >= 1)
            ST_ERR(run_all(ex, op->deadline_us, st));
    } else if (strcmp(name, "count") == 0) {
        int64_t n;
        ST_ERR(micad_count_parse(op, &inner, &q, st));
        ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
        top = "COUNT";
        if (verbosity >= 1)
            ST_ERR(micad_count_run(ex, &q, op->deadline_us, &n, st));
    } else if (strcmp(name, "distinct") == 0) {
        const char *key;
        ST_ERR(micad_distinct_parse(op, &inner, &q, &key, st));
        ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
        if (verbosity >= 1)
            ST_ERR(micad_distinct_run(ex, key, op->deadline_us, &scratch, st));
    } else if (strcmp(name, "aggregate") == 0) {
        /* mongod/agg.c: {stages: [{$cursor: ...}, ...]} or a find-shaped plan */
        ST_ERR(micad_agg_explain_cmd(op, &inner, verbosity, reply, st));
        goto command;
    } else if (strcmp(name, "update") == 0 || strcmp(name, "delete") == 0 ||
               strcmp(name, "findAndModify") == 0 || strcmp(name, "findandmodify") == 0) {
        ret = status_set(st, ERR_NotImplemented, "explain of '%s' is not supported yet", name);
        goto err;
    } else {
        ret =
            status_set(st, ERR_CommandNotFound, "Explain failed due to unknown command: %s", name);
        goto err;
    }
    BSON_APPEND_UTF8(reply, "explainVersion", "1");
    micad_exec_explain(ex, verbosity, top, (time_mono_us() - t0) / 1000, reply);
command:
    /* the explained command as run, then where it ran */
    {
        bson_t c;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "command", &c);
        bson_iter_init(&f, &inner);
        while (bson_iter_next(&f))
            if (strcmp(bson_iter_key(&f), "$db") != 0 && strcmp(bson_iter_key(&f), "lsid") != 0)
                bson_append_iter(&c, NULL, 0, &f);
        BSON_APPEND_UTF8(&c, "$db", op->db);
        bson_append_document_end(reply, &c);
    }
    {
        micad_t *m = micad_of(op);
        bson_t si;
        char host[256];
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        BSON_APPEND_DOCUMENT_BEGIN(reply, "serverInfo", &si);
        BSON_APPEND_UTF8(&si, "host", host);
        BSON_APPEND_INT32(&si, "port", m && m->opts ? m->opts->port : 27017);
        BSON_APPEND_UTF8(&si, "version", "7.0.0");
        BSON_APPEND_UTF8(&si, "gitVersion", "mica-" MICA_VERSION);
        bson_append_document_end(reply, &si);
    }
err:
    bson_destroy(&scratch);
    micad_exec_destroy(ex);
    micad_query_destroy(&q);
    return ret;
}
