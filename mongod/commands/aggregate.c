/*
 * aggregate.c -- {aggregate: "c" | 1, pipeline: [...], cursor: {batchSize},
 * explain, allowDiskUse, maxTimeMS, let, hint, comment, collation,
 * bypassDocumentValidation, readConcern, writeConcern}.
 *
 * The pipeline runs through mongod/agg.c (leading $match/$sort in the
 * planner, the rest as query/ stages) and answers as a cursor: the first
 * batch here, the rest parked in the cursor manager for getMore, as find
 * does. A missing collection is an empty input. With explain the plan comes
 * back in MongoDB's shape instead ({stages: [{$cursor: ...}, ...]}).
 */
#include "mongod/agg.h"
#include "mongod/views.h"

#include <string.h>
#include <unistd.h>

/* agg_args_t -- the parsed command. */
typedef struct agg_args {
    char ns[MICAD_NS_MAX + 1];
    const char *coll; /* NULL: {aggregate: 1} */
    char collbuf[MICAD_NS_MAX + 1];
    bson_t pipeline; /* view */
    bool has_pipeline;
    bool has_cursor;
    int64_t batch_size; /* -1: not given */
    bool explain;
    bson_t let; /* view */
    bool has_let;
    micad_agg_opts_t o;
} agg_args_t;

/* parse_cursor -- cursor: {batchSize: n >= 0}. */
static int parse_cursor(const bson_iter_t *it, agg_args_t *a, status_t *st)
{
    bson_t c;
    bson_iter_t ci;
    ST_RET(micad_db_arg_doc(it, "aggregate", &c, st));
    a->has_cursor = true;
    bson_iter_init(&ci, &c);
    while (bson_iter_next(&ci)) {
        const char *k = bson_iter_key(&ci);
        if (strcmp(k, "batchSize") == 0) {
            if (!bsonu_is_number(bson_iter_type(&ci)))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'aggregate.cursor.batchSize' is the wrong type "
                                  "'%s', expected types '[long, int, decimal, double]'",
                                  micad_db_bson_type_name(bson_iter_type(&ci)));
            ST_RET(micad_db_arg_int64(&ci, "aggregate.cursor", &a->batch_size, st));
            if (a->batch_size < 0)
                return status_set(st, 51024,
                                  "BSON field 'batchSize' value must be >= 0, actual value '%lld'",
                                  (long long)a->batch_size);
        } else {
            return micad_db_unknown_field("aggregate.cursor", k, st);
        }
    }
    return 0;
}

/*
 * check_collectionless -- {aggregate: 1} must start with a stage that makes
 * its own input: $documents and $currentOp here; $listLocalSessions is
 * MongoDB's other and is not implemented yet (238).
 */
static int check_collectionless(const bson_t *pipeline, status_t *st)
{
    bson_iter_t it, stage;
    if (!bson_iter_init(&it, pipeline) || !bson_iter_next(&it))
        return status_set(st, ERR_InvalidNamespace,
                          "{aggregate: 1} is not valid for an empty pipeline.");
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &stage) ||
        !bson_iter_next(&stage))
        return 0; /* the pipeline parser gives the stage's own error */
    const char *name = bson_iter_key(&stage);
    if (strcmp(name, "$documents") == 0 || strcmp(name, "$currentOp") == 0)
        return 0;
    if (strcmp(name, "$listLocalSessions") == 0)
        return status_set(st, ERR_NotImplemented, "%s is not supported yet", name);
    return status_set(st, ERR_InvalidNamespace,
                      "{aggregate: 1} is not valid for '%s'; a collection is required.", name);
}

/* parse_args -- the command's fields, IDL-strict (unknown fields are 40415). */
/* check_api_strict -- apiStrict: true refuses the stages outside API version 1 (323). */
static int check_api_strict(const wire_opctx_t *op, const bson_t *pipeline, status_t *st)
{
    bson_iter_t it, s;
    if (!op->api_strict)
        return 0;
    bson_iter_init(&it, pipeline);
    while (bson_iter_next(&it))
        if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &s) && bson_iter_next(&s))
            ST_RET(wire_stage_check_api_strict(op, bson_iter_key(&s), st));
    return 0;
}

static int parse_args(const wire_opctx_t *op, const bson_t *cmd, agg_args_t *a, status_t *st)
{
    bson_iter_t it;
    const char *C = "aggregate";
    memset(a, 0, sizeof(*a));
    a->batch_size = -1;
    a->o.allow_disk_use = opts_param(OPTS_PARAM_allowDiskUseByDefault) != 0;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (BSON_ITER_HOLDS_UTF8(&it)) {
        ST_RET(micad_db_cmd_ns(op, cmd, a->ns, st));
        snprintf(a->collbuf, sizeof(a->collbuf), "%s", bson_iter_utf8(&it, NULL));
        a->coll = a->collbuf;
    } else if (bsonu_is_number(bson_iter_type(&it))) {
        double d = 0;
        if (!bsonu_number_as_double(bson_iter_value(&it), &d) || d != 1.0)
            return status_set(st, ERR_FailedToParse,
                              "Invalid command format: the 'aggregate' field must specify a "
                              "collection name or 1");
        ST_RET(micad_db_check_db_name(op->db, st));
        snprintf(a->ns, sizeof(a->ns), "%s.$cmd.aggregate", op->db);
    } else {
        return status_set(st, ERR_FailedToParse,
                          "Invalid command format: the 'aggregate' field must specify a "
                          "collection name or 1");
    }
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "pipeline") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return micad_db_type_error(&it, C, "array", st);
            uint32_t len;
            const uint8_t *data;
            bson_iter_array(&it, &len, &data);
            if (!bson_init_static(&a->pipeline, data, len))
                return status_set(st, ERR_BadValue, "invalid pipeline array");
            a->has_pipeline = true;
        } else if (strcmp(k, "cursor") == 0) {
            ST_RET(parse_cursor(&it, a, st));
        } else if (strcmp(k, "explain") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &a->explain, st));
        } else if (strcmp(k, "allowDiskUse") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &a->o.allow_disk_use, st));
        } else if (strcmp(k, "bypassDocumentValidation") == 0) {
            ST_RET(micad_db_arg_bool(&it, C, &a->o.bypass_validation, st));
        } else if (strcmp(k, "let") == 0) {
            ST_RET(micad_db_arg_doc(&it, C, &a->let, st));
            a->has_let = true;
            a->o.let = &a->let;
        } else if (strcmp(k, "hint") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it) && !BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_FailedToParse,
                                  "hint must be specified as a string representing an index "
                                  "name, or an object representing an index's key pattern");
            a->o.hint = *bson_iter_value(&it);
            a->o.has_hint =
                !(BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_value(&it)->value.v_doc.data_len <= 5);
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "fromMongos") == 0 || strcmp(k, "needsMerge") == 0 ||
                   strcmp(k, "collectionUUID") == 0 || strcmp(k, "isMapReduceCommand") == 0) {
            /* accepted: router-internal flags, meaningful once sharding exists */
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field(C, k, st);
        }
    }
    if (!a->has_pipeline)
        return status_set(st, 40414,
                          "BSON field 'aggregate.pipeline' is missing but a required field");
    if (!a->has_cursor && !a->explain)
        return status_set(st, ERR_FailedToParse,
                          "The 'cursor' option is required, except for aggregate with the "
                          "explain argument");
    a->o.max_time_ms = op->max_time_ms;
    ST_RET(check_api_strict(op, &a->pipeline, st));
    if (a->coll == NULL)
        ST_RET(check_collectionless(&a->pipeline, st));
    return 0;
}

/* has_write_stage -- whether the pipeline ends in $out or $merge (write concern applies). */
static bool has_write_stage(const bson_t *pipeline)
{
    bson_iter_t it, st;
    const char *last = NULL;
    bson_iter_init(&it, pipeline);
    while (bson_iter_next(&it))
        if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &st) && bson_iter_next(&st))
            last = bson_iter_key(&st);
    return last != NULL && (strcmp(last, "$out") == 0 || strcmp(last, "$merge") == 0);
}

/* run_all -- run the pipeline to its end (executionStats), discarding results. */
static int run_all(micad_agg_t *ag, int64_t deadline_us, status_t *st)
{
    int ret = 0;
    ST_RET(micad_agg_begin_batch(ag, st));
    for (;;) {
        bson_t doc;
        bool eof = false;
        ret = micad_agg_next(ag, deadline_us, &doc, &eof, st);
        bson_destroy(&doc);
        if (ret != 0 || eof)
            break;
    }
    micad_agg_end_batch(ag);
    return ret;
}

/* append_server_info -- explain's serverInfo. */
static void append_server_info(const wire_opctx_t *op, bson_t *reply)
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

/*
 * micad_agg_explain_cmd -- explain of an aggregate command document (for
 * {aggregate, explain: true} and for the explain command): explainVersion
 * and the stages (or a find-shaped queryPlanner when the planner took the
 * whole pipeline) into reply.
 */
int micad_agg_explain_cmd(wire_opctx_t *op, const bson_t *cmd, int verbosity, bson_t *reply,
                          status_t *st)
{
    agg_args_t a;
    micad_agg_t *ag = NULL;
    int ret = 0;
    ST_RET(parse_args(op, cmd, &a, st));
    if (has_write_stage(&a.pipeline) && verbosity > 0)
        return status_set(st, ERR_InvalidOptions,
                          "Explain with executionStats or allPlansExecution is not supported "
                          "for a pipeline that ends in $out or $merge");
    int64_t t0 = time_mono_us();
    ST_RET(micad_agg_open(op, op->db, a.coll, &a.pipeline, &a.o, &ag, st));
    if (verbosity > 0)
        ST_ERR(run_all(ag, op->deadline_us, st));
    BSON_APPEND_UTF8(reply, "explainVersion", "1");
    micad_agg_explain(ag, verbosity, (time_mono_us() - t0) / 1000, reply);
err:
    micad_agg_destroy(ag);
    return ret;
}

/* micad_cmd_aggregate -- the aggregate command; on a view, over the view's pipeline. */
int micad_cmd_aggregate(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bool handled;
    int ret = micad_view_dispatch(op, cmd, reply, &handled, st);
    if (ret != 0 || handled)
        return ret;
    return micad_aggregate_run(op, cmd, NULL, reply, st);
}

/* micad_aggregate_run -- see views.h. */
int micad_aggregate_run(wire_opctx_t *op, const bson_t *cmd, const micad_agg_run_opts_t *ro,
                        bson_t *reply, status_t *st)
{
    agg_args_t a;
    micad_agg_t *ag = NULL;
    micad_exec_t *ex = NULL;
    micad_wc_t wc;
    bool writes;
    int ret = 0;

    ST_RET(parse_args(op, cmd, &a, st));
    if (a.explain) {
        ST_RET(micad_agg_explain_cmd(op, cmd, 0, reply, st));
        bson_t c;
        bson_iter_t f;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "command", &c);
        bson_iter_init(&f, cmd);
        while (bson_iter_next(&f))
            if (strcmp(bson_iter_key(&f), "$db") != 0 && strcmp(bson_iter_key(&f), "lsid") != 0 &&
                strcmp(bson_iter_key(&f), "explain") != 0)
                bson_append_iter(&c, NULL, 0, &f);
        BSON_APPEND_UTF8(&c, "$db", op->db);
        bson_append_document_end(reply, &c);
        append_server_info(op, reply);
        return 0;
    }
    writes = has_write_stage(&a.pipeline);
    if (writes)
        ST_RET(micad_db_write_concern(op, &wc, st));

    ST_RET(micad_agg_open(op, op->db, a.coll, &a.pipeline, &a.o, &ag, st));
    micad_agg_to_exec(ag, a.ns, &ex);
    int64_t first = a.batch_size >= 0 ? a.batch_size : MICAD_FIRST_BATCH_DOCS;
    bson_t cur, arr;
    int64_t n = 0;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cur);
    BSON_APPEND_ARRAY_BEGIN(&cur, "firstBatch", &arr);
    if (first > 0 || writes)
        ret = micad_batch_fill(ex, writes ? 0 : first, op->deadline_us, &arr, &n, st);
    bson_append_array_end(&cur, &arr);
    if (ret != 0) {
        bson_append_document_end(reply, &cur);
        goto err;
    }
    int64_t id = 0;
    const char *cursor_ns = ro != NULL && ro->cursor_ns != NULL ? ro->cursor_ns : a.ns;
    micad_agg_detach(ag);
    if (!micad_exec_is_eof(ex) && !(ro != NULL && ro->single_batch)) {
        micad_cursor_opts_t co = {.batch_size = 0, .n_returned = n};
        id = micad_cursors_add(ex, cursor_ns, op, &co);
        ex = NULL;
    }
    BSON_APPEND_INT64(&cur, "id", id);
    BSON_APPEND_UTF8(&cur, "ns", cursor_ns);
    bson_append_document_end(reply, &cur);
    if (writes) {
        stor_session_t *sess;
        if (micad_db_session(micad_of(op), &sess, st) == 0)
            micad_db_finish_write(sess, &wc, reply);
        else
            status_reset(st);
    }
err:
    micad_exec_destroy(ex);
    micad_db_dup_key_reply(op, ret, st);
    return ret;
}
