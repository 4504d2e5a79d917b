/*
 * explain.c -- {explain: {find | count | distinct: ...}, verbosity}: the plan
 * the planner chose (queryPlanner), and with executionStats /
 * allPlansExecution the statistics of running it, in MongoDB's shape:
 * {explainVersion: "1", queryPlanner: {namespace, indexFilterSet,
 * parsedQuery, winningPlan, rejectedPlans}, executionStats: {...},
 * command, serverInfo}. aggregate is explained by mongod/agg.c. Write
 * commands (update, delete, findAndModify) are explained as MongoDB does
 * without writing anything: the plan that selects their documents under an
 * UPDATE or DELETE stage; executionStats run that plan as a read only.
 */
#include "mongod/agg.h"
#include "mongod/views.h"

#include <string.h>
#include <strings.h>
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

/*
 * run_for_stats -- the result of running an explained plan: an error while
 * executing (a sort past its memory limit, a bad $expr value, ...) goes
 * into executionStats as MongoDB reports it; only a time limit or an
 * interrupt fails the command.
 */
static int run_for_stats(micad_exec_t *ex, int ret, status_t *st)
{
    if (ret == 0 || ex == NULL || st->code == ERR_MaxTimeMSExpired || st->code == ERR_Interrupted ||
        st->code == ERR_InterruptedAtShutdown)
        return ret;
    micad_exec_set_run_error(ex, st);
    status_reset(st);
    return 0;
}

/* set_hint -- a statement's hint (index name or key pattern) into q. */
static int set_hint(micad_query_t *q, const bson_iter_t *it, const char *cmd, status_t *st)
{
    if (!BSON_ITER_HOLDS_UTF8(it) && !BSON_ITER_HOLDS_DOCUMENT(it))
        return micad_db_type_error(it, cmd, "object", st);
    bson_value_copy(bson_iter_value((bson_iter_t *)it), &q->hint);
    q->has_hint = true;
    return 0;
}

/*
 * write_query -- the read part of an update, delete or findAndModify as a
 * query: filter, sort (findAndModify), limit (1 unless multi / limit 0) and
 * hint. *top is the stage MongoDB shows above the plan. Like MongoDB, a write
 * batch must hold exactly one statement to be explained.
 */
static int write_query(const wire_opctx_t *op, const char *name, const bson_t *inner,
                       micad_query_t *q, const char **top, status_t *st)
{
    bson_iter_t it;
    bool fam = strcasecmp(name, "findAndModify") == 0;
    bool is_update = strcmp(name, "update") == 0;

    ST_RET(micad_db_cmd_ns(op, inner, q->ns, st));
    *top = is_update ? "UPDATE" : "DELETE";
    q->limit = 1;
    if (fam) {
        bool remove = false;
        if (bson_iter_init(&it, inner)) {
            bson_iter_next(&it);
            while (bson_iter_next(&it)) {
                const char *k = bson_iter_key(&it);
                if (strcmp(k, "query") == 0) {
                    bson_t v;
                    ST_RET(micad_db_arg_doc(&it, name, &v, st));
                    bson_concat(&q->filter, &v);
                } else if (strcmp(k, "sort") == 0) {
                    bson_t v;
                    ST_RET(micad_db_arg_doc(&it, name, &v, st));
                    bson_concat(&q->sort, &v);
                    q->has_sort = !bson_empty(&v);
                } else if (strcmp(k, "remove") == 0) {
                    remove = bson_iter_as_bool(&it);
                } else if (strcmp(k, "hint") == 0) {
                    ST_RET(set_hint(q, &it, name, st));
                }
            }
        }
        *top = remove ? "DELETE" : "UPDATE";
        return 0;
    }
    const char *list = is_update ? "updates" : "deletes";
    bson_t stmts, stmt;
    bson_iter_t si;
    if (!bson_iter_init_find(&it, inner, list))
        return status_set(st, ERR_FailedToParse,
                          "BSON field '%s.%s' is missing but a required field", name, list);
    if (!BSON_ITER_HOLDS_ARRAY(&it))
        return micad_db_type_error(&it, name, "array", st);
    {
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&it, &len, &data);
        if (!bson_init_static(&stmts, data, len))
            return status_set(st, ERR_InvalidBSON, "invalid %s array", list);
    }
    if (bson_count_keys(&stmts) != 1)
        return status_set(st, ERR_InvalidLength, "explained write batches must be of size 1");
    bson_iter_init(&si, &stmts);
    bson_iter_next(&si);
    ST_RET(micad_db_arg_doc(&si, name, &stmt, st));
    if (!bson_iter_init(&it, &stmt))
        return status_set(st, ERR_InvalidBSON, "invalid %s statement", name);
    bool have_q = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "q") == 0) {
            bson_t v;
            ST_RET(micad_db_arg_doc(&it, name, &v, st));
            bson_concat(&q->filter, &v);
            have_q = true;
        } else if (strcmp(k, "multi") == 0 && is_update) {
            q->limit = bson_iter_as_bool(&it) ? 0 : 1;
        } else if (strcmp(k, "limit") == 0 && !is_update) {
            int64_t lim;
            ST_RET(micad_db_arg_int64(&it, name, &lim, st));
            if (lim != 0 && lim != 1)
                return status_set(st, ERR_FailedToParse,
                                  "The limit field in delete objects must be 0 or 1. Got %lld",
                                  (long long)lim);
            q->limit = lim;
        } else if (strcmp(k, "hint") == 0) {
            ST_RET(set_hint(q, &it, name, st));
        }
    }
    if (!have_q)
        return status_set(st, ERR_FailedToParse,
                          "BSON field '%s.q' is missing but a required field", list);
    return 0;
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
    if (BSON_ITER_HOLDS_UTF8(&f) &&
        (strcmp(name, "find") == 0 || strcmp(name, "count") == 0 || strcmp(name, "distinct") == 0 ||
         strcmp(name, "aggregate") == 0)) {
        /* a read of a view explains the aggregation it becomes (mongod/views.c) */
        char vns[MICAD_NS_MAX + 1];
        micad_view_t v;
        if (micad_db_make_ns(op->db, bson_iter_utf8(&f, NULL), vns, st) == 0) {
            ST_ERR(micad_view_resolve(micad_of(op), vns, &v, st));
            if (v.is_view) {
                ret = micad_view_explain(op, &v, &inner, verbosity, reply, st);
                micad_view_destroy(&v);
                if (ret != 0)
                    goto err;
                goto command;
            }
            micad_view_destroy(&v);
        }
        status_reset(st);
    }
    if (strcmp(name, "find") == 0) {
        micad_find_opts_t fo;
        ST_ERR(micad_query_parse_find(op, &inner, &q, &fo, st));
        q.tailable = false;
        ST_ERR(micad_query_natural_sort(&q, st));
        ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
        if (verbosity >= 1)
            ST_ERR(run_for_stats(ex, run_all(ex, op->deadline_us, st), st));
    } else if (strcmp(name, "count") == 0) {
        int64_t n;
        ST_ERR(micad_count_parse(op, &inner, &q, st));
        ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
        top = "COUNT";
        if (verbosity >= 1)
            ST_ERR(run_for_stats(ex, micad_count_run(ex, &q, op->deadline_us, &n, st), st));
        else
            micad_exec_set_counted(ex, 0, 0, !q.has_hint && micad_exec_count_fast(ex) >= 0);
    } else if (strcmp(name, "distinct") == 0) {
        const char *key;
        ST_ERR(micad_distinct_parse(op, &inner, &q, &key, st));
        ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
        if (verbosity >= 1)
            ST_ERR(
                run_for_stats(ex, micad_distinct_run(ex, key, op->deadline_us, &scratch, st), st));
    } else if (strcmp(name, "aggregate") == 0) {
        /* mongod/agg.c: {stages: [{$cursor: ...}, ...]} or a find-shaped plan */
        ST_ERR(micad_agg_explain_cmd(op, &inner, verbosity, reply, st));
        goto command;
    } else if (strcmp(name, "update") == 0 || strcmp(name, "delete") == 0 ||
               strcmp(name, "findAndModify") == 0 || strcmp(name, "findandmodify") == 0) {
        ST_ERR(write_query(op, name, &inner, &q, &top, st));
        ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
        if (verbosity >= 1)
            ST_ERR(run_for_stats(ex, run_all(ex, op->deadline_us, st), st));
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
        bson_t c = BSON_INITIALIZER;
        bson_iter_init(&f, &inner);
        while (bson_iter_next(&f))
            if (strcmp(bson_iter_key(&f), "$db") != 0 && strcmp(bson_iter_key(&f), "lsid") != 0)
                bson_append_iter(&c, NULL, 0, &f);
        BSON_APPEND_UTF8(&c, "$db", op->db);
        micad_explain_append_capped(reply, "command", &c, 1024 * 1024);
        bson_destroy(&c);
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
