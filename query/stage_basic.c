/*
 * stage_basic.c -- the streaming stages that hold no state between
 * documents, or only a counter: $match, $limit, $skip, $count, $sample,
 * $documents, $replaceRoot/$replaceWith, $redact, $collStats, $indexStats.
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

static void no_free(void *data)
{
    (void)data;
}

/* A stage iterator whose state is one pointer to the parsed stage and a counter. */
typedef struct simple_iter {
    pl_iter_t base;
    const pl_stage_t *stage;
    int64_t n;
    bool done;
    qry_match_t *match;
} simple_iter_t;

static void simple_close(pl_iter_t *it)
{
    simple_iter_t *s = (simple_iter_t *)it;
    qry__pl_iter_close(it->src);
    qry_match_destroy(s->match);
    free(s);
}

static simple_iter_t *simple_new(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src,
                                 int (*next)(pl_iter_t *, bson_t *, bool *, status_t *))
{
    simple_iter_t *s = calloc(1, sizeof *s);
    INVARIANT(s != NULL);
    qry__pl_iter_init(&s->base, next, simple_close, src, run);
    s->stage = stage;
    return s;
}

static bool view_doc(const bson_iter_t *it, bson_t *out)
{
    uint32_t len;
    const uint8_t *data;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) && !BSON_ITER_HOLDS_ARRAY(it))
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &len, &data);
    else
        bson_iter_array(it, &len, &data);
    if (!data || !bson_init_static(out, data, len)) {
        bson_init(out);
        return true;
    }
    return true;
}

/* ---- $match ------------------------------------------------------------ */

typedef struct match_data {
    bson_t *filter;
} match_data_t;

static void match_free(void *data)
{
    match_data_t *m = data;
    bson_destroy(m->filter);
    free(m);
}

static int match_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    bson_t f;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !view_doc(arg, &f))
        return status_set(st, 15959, "the match filter must be an expression in an object");
    match_data_t *m = calloc(1, sizeof *m);
    INVARIANT(m != NULL);
    m->filter = bson_copy(&f);
    s->data = m;
    /* Parse-time check (errors), then a plain parse for the paths it reads. */
    qry_match_t *check = NULL;
    ST_RET(qry__pl_match_parse(m->filter, NULL, &check, st));
    s->shape = PL_PASSTHROUGH;
    qry_match_hooks_t h = qry_expr_match_hooks(NULL);
    status_t tmp = STATUS_INIT;
    if (qry_match_parse(m->filter, &h, &check, &tmp) != 0)
        check = NULL; /* $expr over let variables: paths unknowable anyway */
    if (!check || !qry__pl_match_paths(check, s))
        s->needs_whole_doc = true;
    qry_match_destroy(check);
    return 0;
}

static int match_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    simple_iter_t *s = (simple_iter_t *)it;
    for (;;) {
        ST_RET(qry__pl_pull(it->src, out, eof, st));
        if (*eof)
            return 0;
        bool matched = false;
        uint64_t mark = qry_expr_ctx_mark(it->run->ex);
        int ret = qry_match_exec(s->match, out, NULL, &matched, st);
        qry_expr_ctx_release(it->run->ex, mark);
        if (ret != 0) {
            *eof = true;
            return ret;
        }
        if (matched)
            return 0;
        bson_destroy(out);
    }
}

static int match_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    simple_iter_t *s = simple_new(stage, run, src, match_next);
    const match_data_t *m = stage->data;
    int ret = qry__pl_match_parse(m->filter, run, &s->match, st);
    if (ret != 0) {
        simple_close(&s->base);
        return ret;
    }
    *out = &s->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_match = {"$match", 0, match_parse, match_open, match_free};

/* ---- $limit / $skip ---------------------------------------------------- */

static int count_arg(const bson_iter_t *arg, const char *stage, int64_t *n, status_t *st)
{
    const bson_value_t *v = bson_iter_value((bson_iter_t *)arg);
    double d;
    if (!bsonu_number_as_double(v, &d))
        return status_set(st, 15957, "the %s must be specified as a number", stage);
    if (!bsonu_number_as_int64(v, n))
        return status_set(st, 15958,
                          "the %s must be a whole number that fits in a 64-bit "
                          "integer",
                          stage);
    return 0;
}

static int limit_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    int64_t n;
    ST_RET(count_arg(arg, "limit", &n, st));
    if (n <= 0)
        return status_set(st, 15958, "the limit must be positive");
    bson_value_t v = {.value_type = BSON_TYPE_INT64, .value.v_int64 = n};
    qry__pl_set_spec(s, "$limit", &v);
    return 0;
}

static int limit_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    simple_iter_t *s = (simple_iter_t *)it;
    bson_iter_t a;
    bson_iter_init(&a, s->stage->spec);
    bson_iter_next(&a);
    if (s->n >= bson_iter_as_int64(&a)) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    ST_RET(qry__pl_pull(it->src, out, eof, st));
    if (!*eof)
        s->n++;
    return 0;
}

static int limit_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    *out = &simple_new(stage, run, src, limit_next)->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_limit = {"$limit", 0, limit_parse, limit_open, no_free};

static int skip_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    int64_t n;
    const bson_value_t *v = bson_iter_value((bson_iter_t *)arg);
    double d;
    if (!bsonu_number_as_double(v, &d))
        return status_set(st, 15972, "Argument to $skip must be a number");
    if (!bsonu_number_as_int64(v, &n))
        return status_set(st, 15972,
                          "invalid argument to $skip stage: Cannot represent as a "
                          "64-bit integer");
    if (n < 0)
        return status_set(st, 15956, "Argument to $skip cannot be negative");
    bson_value_t nv = {.value_type = BSON_TYPE_INT64, .value.v_int64 = n};
    qry__pl_set_spec(s, "$skip", &nv);
    return 0;
}

static int skip_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    simple_iter_t *s = (simple_iter_t *)it;
    if (!s->done) {
        bson_iter_t a;
        bson_iter_init(&a, s->stage->spec);
        bson_iter_next(&a);
        int64_t skip = bson_iter_as_int64(&a);
        s->done = true;
        for (int64_t i = 0; i < skip; i++) {
            ST_RET(qry__pl_pull(it->src, out, eof, st));
            if (*eof)
                return 0;
            bson_destroy(out);
        }
    }
    return qry__pl_pull(it->src, out, eof, st);
}

static int skip_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                     status_t *st)
{
    *out = &simple_new(stage, run, src, skip_next)->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_skip = {"$skip", PL_F_MERGER, skip_parse, skip_open, no_free};

/* ---- $count ------------------------------------------------------------ */

static int count_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    if (!BSON_ITER_HOLDS_UTF8(arg))
        return status_set(st, 40156, "the count field must be a non-empty string");
    uint32_t len;
    const char *name = bson_iter_utf8(arg, &len);
    if (len == 0)
        return status_set(st, 40156, "the count field must be a non-empty string");
    if (strlen(name) != len)
        return status_set(st, 40159, "the count field cannot contain a null byte");
    if (name[0] == '$')
        return status_set(st, 40158, "the count field cannot be a $-prefixed path");
    if (strchr(name, '.'))
        return status_set(st, 40160, "the count field cannot contain '.'");
    s->shape = PL_REPLACES;
    return 0;
}

static int count_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    simple_iter_t *s = (simple_iter_t *)it;
    if (s->done) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    int64_t n = 0;
    for (;;) {
        ST_RET(qry__pl_pull(it->src, out, eof, st));
        if (*eof)
            break;
        bson_destroy(out);
        n++;
    }
    s->done = true;
    bson_destroy(out);
    bson_init(out);
    if (n == 0) {
        *eof = true; /* $count of nothing outputs no document, as MongoDB */
        return 0;
    }
    bson_iter_t a;
    bson_iter_init(&a, s->stage->spec);
    bson_iter_next(&a);
    if (n <= INT32_MAX)
        BSON_APPEND_INT32(out, bson_iter_utf8(&a, NULL), (int32_t)n);
    else
        BSON_APPEND_INT64(out, bson_iter_utf8(&a, NULL), n);
    *eof = false;
    return 0;
}

static int count_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st)
{
    *out = &simple_new(stage, run, src, count_next)->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_count = {"$count", PL_F_BLOCKING | PL_F_MERGER, count_parse,
                                            count_open, no_free};

/* ---- $sample ----------------------------------------------------------- */

/*
 * $sample {size: n}: a reservoir of n documents (Algorithm R), shuffled at
 * the end, so any n of the input are equally likely and come in random order.
 */
typedef struct sample_iter {
    pl_iter_t base;
    int64_t size;
    bson_t **res;
    size_t n, pos;
    bool filled;
} sample_iter_t;

static int sample_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    bson_t spec;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !view_doc(arg, &spec))
        return status_set(st, 28745, "the $sample stage specification must be an object");
    bson_iter_t it;
    bool have = false;
    bson_iter_init(&it, &spec);
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "size") != 0)
            return status_set(st, 28748, "unrecognized option to $sample: %s", bson_iter_key(&it));
        int64_t n;
        double d;
        if (!bsonu_number_as_double(bson_iter_value(&it), &d))
            return status_set(st, 28746, "size argument to $sample must be a number");
        if (d < 0)
            return status_set(st, 28747, "size argument to $sample must not be negative");
        if (!bsonu_number_as_int64(bson_iter_value(&it), &n))
            n = (int64_t)d;
        have = true;
    }
    if (!have)
        return status_set(st, 28749, "$sample stage must specify a size");
    return 0;
}

static void sample_close(pl_iter_t *it)
{
    sample_iter_t *s = (sample_iter_t *)it;
    qry__pl_iter_close(it->src);
    for (size_t i = s->pos; i < s->n; i++)
        bson_destroy(s->res[i]);
    free(s->res);
    free(s);
}

static int sample_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    sample_iter_t *s = (sample_iter_t *)it;
    if (!s->filled) {
        int64_t seen = 0;
        for (;;) {
            bson_t d;
            ST_RET(qry__pl_pull(it->src, &d, eof, st));
            if (*eof) {
                bson_destroy(&d);
                break;
            }
            seen++;
            if ((int64_t)s->n < s->size) {
                s->res = realloc(s->res, (s->n + 1) * sizeof *s->res);
                INVARIANT(s->res != NULL);
                s->res[s->n++] = bson_copy(&d);
            } else {
                uint64_t j = qry__pl_rand(it->run) % (uint64_t)seen;
                if (j < (uint64_t)s->size) {
                    bson_destroy(s->res[j]);
                    s->res[j] = bson_copy(&d);
                }
            }
            bson_destroy(&d);
        }
        for (size_t i = s->n; i > 1; i--) {
            size_t j = (size_t)(qry__pl_rand(it->run) % i);
            bson_t *t = s->res[i - 1];
            s->res[i - 1] = s->res[j];
            s->res[j] = t;
        }
        s->filled = true;
    }
    if (s->pos >= s->n) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    bson_steal(out, s->res[s->pos++]);
    *eof = false;
    return 0;
}

static int sample_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                       status_t *st)
{
    sample_iter_t *s = calloc(1, sizeof *s);
    INVARIANT(s != NULL);
    qry__pl_iter_init(&s->base, sample_next, sample_close, src, run);
    bson_iter_t a, f;
    bson_iter_init(&a, stage->spec);
    bson_iter_next(&a);
    s->size = 0;
    if (bson_iter_recurse(&a, &f) && bson_iter_find(&f, "size")) {
        double d = 0;
        bsonu_number_as_double(bson_iter_value(&f), &d);
        s->size = d > (double)INT64_MAX ? INT64_MAX : (int64_t)d;
    }
    *out = &s->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_sample = {"$sample", PL_F_BLOCKING | PL_F_MERGER, sample_parse,
                                             sample_open, no_free};

/* ---- $documents -------------------------------------------------------- */

typedef struct docs_data {
    qry_expr_t *expr;
} docs_data_t;

static void documents_free(void *data)
{
    docs_data_t *d = data;
    qry_expr_destroy(d->expr);
    free(d);
}

static int documents_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    docs_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    s->data = d;
    ST_RET(qry__pl_expr(arg, NULL, &d->expr, st));
    s->shape = PL_REPLACES;
    return 0;
}

typedef struct documents_iter {
    pl_iter_t base;
    bson_t *arr;
    bson_iter_t it;
} documents_iter_t;

static int documents_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    documents_iter_t *d = (documents_iter_t *)it;
    bson_init(out);
    if (!bson_iter_next(&d->it)) {
        *eof = true;
        return 0;
    }
    bson_t doc;
    if (!BSON_ITER_HOLDS_DOCUMENT(&d->it) || !view_doc(&d->it, &doc)) {
        *eof = true;
        return status_set(st, 40228,
                          "'$documents' expects each element of the array to be an object");
    }
    bson_concat(out, &doc);
    *eof = false;
    return 0;
}

static void documents_close(pl_iter_t *it)
{
    documents_iter_t *d = (documents_iter_t *)it;
    qry__pl_iter_close(it->src);
    bson_destroy(d->arr);
    free(d);
}

static int documents_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                          status_t *st)
{
    const docs_data_t *dd = stage->data;
    bson_value_t v;
    uint64_t mark = qry_expr_ctx_mark(run->ex);
    int ret = qry_expr_eval(dd->expr, run->ex, NULL, &v, st);
    if (ret == 0 && v.value_type != BSON_TYPE_ARRAY)
        ret = status_set(st, 5858203, "an array is expected");
    if (ret != 0) {
        qry_expr_ctx_release(run->ex, mark);
        qry__pl_iter_close(src);
        return ret;
    }
    documents_iter_t *d = qry__pl_zalloc(sizeof *d);
    qry__pl_iter_init(&d->base, documents_next, documents_close, src, run);
    bson_t view;
    if (bson_init_static(&view, v.value.v_doc.data, v.value.v_doc.data_len))
        d->arr = bson_copy(&view);
    else
        d->arr = bson_new();
    qry_expr_ctx_release(run->ex, mark);
    bson_iter_init(&d->it, d->arr);
    *out = &d->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_documents = {
    "$documents", PL_F_FIRST | PL_F_NO_SOURCE | PL_F_MERGER | PL_F_NO_FACET, documents_parse,
    documents_open, documents_free};

/* ---- $replaceRoot / $replaceWith ---------------------------------------- */

typedef struct rr_data {
    qry_expr_t *expr;
} rr_data_t;

static void rr_free(void *data)
{
    rr_data_t *d = data;
    qry_expr_destroy(d->expr);
    free(d);
}

static int rr_parse_value(pl_stage_t *s, const bson_value_t *v, status_t *st)
{
    rr_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    s->data = d;
    s->shape = PL_REPLACES;
    return qry__pl_expr_value(v, s, &d->expr, st);
}

static int replaceroot_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    bson_t spec;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !view_doc(arg, &spec))
        return status_set(st, 40229,
                          "expected an object as specification for $replaceRoot "
                          "stage, got %s",
                          "a non-object");
    bson_iter_t it;
    const bson_value_t *nr = NULL;
    bson_iter_init(&it, &spec);
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "newRoot") != 0)
            return status_set(st, 40415, "BSON field '$replaceRoot.%s' is an unknown field.",
                              bson_iter_key(&it));
        nr = bson_iter_value(&it);
    }
    if (!nr)
        return status_set(st, 40414,
                          "BSON field '$replaceRoot.newRoot' is missing but a required field");
    return rr_parse_value(s, nr, st);
}

static int replacewith_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    return rr_parse_value(s, bson_iter_value((bson_iter_t *)arg), st);
}

static int rr_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    simple_iter_t *s = (simple_iter_t *)it;
    const rr_data_t *d = s->stage->data;
    bson_t in;
    ST_RET(qry__pl_pull(it->src, &in, eof, st));
    if (*eof) {
        bson_steal(out, &in);
        return 0;
    }
    uint64_t mark = qry_expr_ctx_mark(it->run->ex);
    bson_value_t v;
    int ret = qry_expr_eval(d->expr, it->run->ex, &in, &v, st);
    bson_init(out);
    if (ret == 0 && v.value_type != BSON_TYPE_DOCUMENT) {
        bson_t tmp;
        bson_init(&tmp);
        if (v.value_type == BSON_TYPE_EOD)
            BSON_APPEND_UTF8(&tmp, "", "missing");
        else
            BSON_APPEND_VALUE(&tmp, "", &v);
        char *js = bson_as_relaxed_extended_json(&tmp, NULL);
        ret = status_set(st, 40228,
                         "'replacement document' must evaluate to an object, but resulting "
                         "value was: %s. Type of resulting value: '%s'. Input document: %s",
                         js ? js : "?", v.value_type == BSON_TYPE_EOD ? "missing" : "non-object",
                         "{...}");
        bson_free(js);
        bson_destroy(&tmp);
    }
    if (ret == 0) {
        bson_t view;
        if (bson_init_static(&view, v.value.v_doc.data, v.value.v_doc.data_len))
            bson_concat(out, &view);
    }
    qry_expr_ctx_release(it->run->ex, mark);
    bson_destroy(&in);
    *eof = ret != 0;
    return ret;
}

static int rr_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                   status_t *st)
{
    *out = &simple_new(stage, run, src, rr_next)->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_replaceroot = {"$replaceRoot", 0, replaceroot_parse, rr_open,
                                                  rr_free};
const pl_stage_ops_t qry__pl_stage_replacewith = {"$replaceWith", 0, replacewith_parse, rr_open,
                                                  rr_free};

/* ---- $redact ------------------------------------------------------------ */

/*
 * $redact evaluates its expression at the top level and, on $$DESCEND, at
 * every embedded document (also inside arrays), each time with $$CURRENT
 * being that sub-document. The expression compares against the system
 * variables $$DESCEND/$$PRUNE/$$KEEP, which the parse scope does not know, so
 * the stage rewrites them to the literal strings it then recognises.
 */
typedef struct redact_data {
    qry_expr_t *expr;
} redact_data_t;

static void rewrite_redact_vars(const bson_value_t *v, bson_t *out, const char *key)
{
    if (v->value_type == BSON_TYPE_UTF8) {
        const char *s = v->value.v_utf8.str;
        if (strcmp(s, "$$DESCEND") == 0 || strcmp(s, "$$PRUNE") == 0 || strcmp(s, "$$KEEP") == 0) {
            bson_t lit;
            bson_append_document_begin(out, key, -1, &lit);
            BSON_APPEND_UTF8(&lit, "$literal", s);
            bson_append_document_end(out, &lit);
            return;
        }
    }
    if (v->value_type == BSON_TYPE_DOCUMENT || v->value_type == BSON_TYPE_ARRAY) {
        bson_t in, child;
        bool is_doc = v->value_type == BSON_TYPE_DOCUMENT;
        if (is_doc)
            bson_append_document_begin(out, key, -1, &child);
        else
            bson_append_array_begin(out, key, -1, &child);
        if (bson_init_static(&in, v->value.v_doc.data, v->value.v_doc.data_len)) {
            bson_iter_t it;
            bson_iter_init(&it, &in);
            while (bson_iter_next(&it))
                rewrite_redact_vars(bson_iter_value(&it), &child, bson_iter_key(&it));
        }
        if (is_doc)
            bson_append_document_end(out, &child);
        else
            bson_append_array_end(out, &child);
        return;
    }
    bson_append_value(out, key, -1, v);
}

static void redact_free(void *data)
{
    redact_data_t *d = data;
    qry_expr_destroy(d->expr);
    free(d);
}

static int redact_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    redact_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    s->data = d;
    bson_t tmp;
    bson_init(&tmp);
    rewrite_redact_vars(bson_iter_value((bson_iter_t *)arg), &tmp, "x");
    bson_iter_t it;
    bson_iter_init_find(&it, &tmp, "x");
    int ret = qry__pl_expr(&it, NULL, &d->expr, st);
    bson_destroy(&tmp);
    s->needs_whole_doc = true;
    s->shape = PL_REPLACES;
    return ret;
}

static int redact_doc(const qry_expr_t *e, pl_run_t *run, const bson_t *doc, bson_t *out,
                      bool *keep, int depth, status_t *st);

static int redact_value(const qry_expr_t *e, pl_run_t *run, bson_iter_t *it, bson_t *out,
                        const char *key, int depth, status_t *st)
{
    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_t sub, res;
        view_doc(it, &sub);
        bool keep;
        int ret = redact_doc(e, run, &sub, &res, &keep, depth + 1, st);
        if (ret == 0 && keep)
            bson_append_document(out, key, -1, &res);
        bson_destroy(&res);
        return ret;
    }
    if (BSON_ITER_HOLDS_ARRAY(it)) {
        bson_t child;
        bson_iter_t ai;
        bson_append_array_begin(out, key, -1, &child);
        uint32_t i = 0;
        int ret = 0;
        if (bson_iter_recurse(it, &ai)) {
            while (ret == 0 && bson_iter_next(&ai)) {
                char k[16];
                const char *kp;
                bson_uint32_to_string(i, &kp, k, sizeof k);
                bson_t probe;
                bson_init(&probe);
                ret = redact_value(e, run, &ai, &probe, kp, depth + 1, st);
                if (ret == 0 && !bson_empty(&probe)) {
                    bson_concat(&child, &probe);
                    i++;
                }
                bson_destroy(&probe);
            }
        }
        /* always close the child: a parent destroyed with an open child leaks */
        bson_append_array_end(out, &child);
        return ret;
    }
    bson_append_iter(out, key, -1, it);
    return 0;
}

static int redact_doc(const qry_expr_t *e, pl_run_t *run, const bson_t *doc, bson_t *out,
                      bool *keep, int depth, status_t *st)
{
    bson_init(out);
    *keep = false;
    if (depth > 150)
        return status_set(st, ERR_Overflow, "$redact: document nested too deeply");
    uint64_t mark = qry_expr_ctx_mark(run->ex);
    bson_value_t v;
    int ret = qry_expr_eval(e, run->ex, doc, &v, st);
    const char *what = v.value_type == BSON_TYPE_UTF8 ? v.value.v_utf8.str : "";
    if (ret == 0) {
        if (strcmp(what, "$$KEEP") == 0) {
            bson_concat(out, doc);
            *keep = true;
        } else if (strcmp(what, "$$PRUNE") == 0) {
            *keep = false;
        } else if (strcmp(what, "$$DESCEND") == 0) {
            *keep = true;
        } else {
            ret = status_set(st, 17053,
                             "$redact's expression should not return anything aside from the "
                             "variables $$KEEP, $$DESCEND, and $$PRUNE");
        }
    }
    qry_expr_ctx_release(run->ex, mark);
    if (ret != 0 || strcmp(what, "$$DESCEND") != 0)
        return ret;
    bson_iter_t it;
    bson_iter_init(&it, doc);
    while (bson_iter_next(&it))
        ST_RET(redact_value(e, run, &it, out, bson_iter_key(&it), depth, st));
    return 0;
}

static int redact_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    simple_iter_t *s = (simple_iter_t *)it;
    const redact_data_t *d = s->stage->data;
    for (;;) {
        bson_t in;
        ST_RET(qry__pl_pull(it->src, &in, eof, st));
        if (*eof) {
            bson_steal(out, &in);
            return 0;
        }
        bool keep;
        int ret = redact_doc(d->expr, it->run, &in, out, &keep, 0, st);
        bson_destroy(&in);
        if (ret != 0) {
            *eof = true;
            return ret;
        }
        if (keep)
            return 0;
        bson_destroy(out);
    }
}

static int redact_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                       status_t *st)
{
    *out = &simple_new(stage, run, src, redact_next)->base;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_redact = {"$redact", 0, redact_parse, redact_open, redact_free};

/* ---- $collStats / $indexStats ---------------------------------------------- */

typedef struct stats_iter {
    pl_iter_t base;
    qry_doc_source_t src;
} stats_iter_t;

static int stats_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    stats_iter_t *s = (stats_iter_t *)it;
    *eof = false;
    int ret = s->src.next(s->src.arg, out, eof, st);
    if (ret != 0)
        *eof = true;
    return ret;
}

static void stats_close(pl_iter_t *it)
{
    stats_iter_t *s = (stats_iter_t *)it;
    if (s->src.close)
        s->src.close(s->src.arg);
    qry__pl_iter_close(it->src);
    free(s);
}

static int stats_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                      status_t *st, qry_pl_stats_kind_t kind)
{
    const qry_pl_ctx_t *ctx = run->ctx;
    if (!ctx->ds.stats) {
        qry__pl_iter_close(src);
        return status_set(st, ERR_NotImplemented, "%s is not available here", stage->ops->name);
    }
    bson_iter_t a;
    bson_t spec;
    bson_iter_init(&a, stage->spec);
    bson_iter_next(&a);
    view_doc(&a, &spec);
    stats_iter_t *s = calloc(1, sizeof *s);
    INVARIANT(s != NULL);
    qry__pl_iter_init(&s->base, stats_next, stats_close, src, run);
    int ret = ctx->ds.stats(ctx->ds.arg, kind, ctx->db, ctx->coll, &spec, &s->src, st);
    if (ret != 0) {
        s->src.close = NULL;
        stats_close(&s->base);
        return ret;
    }
    *out = &s->base;
    return 0;
}

static int collstats_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    bson_t spec;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !view_doc(arg, &spec))
        return status_set(st, 5447000, "$collStats must take a nested object but found: %s",
                          "a non-object");
    bson_iter_t it;
    bson_iter_init(&it, &spec);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "latencyStats") && strcmp(k, "storageStats") && strcmp(k, "count") &&
            strcmp(k, "queryExecStats"))
            return status_set(st, 40415, "BSON field '$collStats.%s' is an unknown field.", k);
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field '$collStats.%s' is the wrong type '%s', expected "
                              "type 'object'",
                              k, "non-object");
    }
    s->shape = PL_REPLACES;
    return 0;
}

static int collstats_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                          status_t *st)
{
    return stats_open(stage, run, src, out, st, QRY_PL_STATS_COLL);
}

const pl_stage_ops_t qry__pl_stage_collstats = {"$collStats",
                                                PL_F_FIRST | PL_F_NO_SOURCE | PL_F_NO_FACET,
                                                collstats_parse, collstats_open, no_free};

static int indexstats_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    bson_t spec;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !view_doc(arg, &spec) || !bson_empty(&spec))
        return status_set(st, 28803,
                          "The $indexStats stage specification must be an empty "
                          "object");
    s->shape = PL_REPLACES;
    return 0;
}

static int indexstats_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                           status_t *st)
{
    return stats_open(stage, run, src, out, st, QRY_PL_STATS_INDEX);
}

const pl_stage_ops_t qry__pl_stage_indexstats = {"$indexStats",
                                                 PL_F_FIRST | PL_F_NO_SOURCE | PL_F_NO_FACET,
                                                 indexstats_parse, indexstats_open, no_free};

/* ---- $currentOp ------------------------------------------------------------- */

/* currentop_parse -- {allUsers, idleConnections, idleCursors, idleSessions, localOps,
 * truncateOps, backtrace}: booleans, checked here; the data node reads them. */
static int currentop_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    static const char *const known[] = {"allUsers",     "idleConnections", "idleCursors",
                                        "idleSessions", "localOps",        "truncateOps",
                                        "backtrace",    "targetAllNodes"};
    bson_t spec;
    bson_iter_t it;
    if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !view_doc(arg, &spec))
        return status_set(st, ERR_FailedToParse,
                          "$currentOp options must be specified in an object, but found: %s",
                          bsonu_type_name(bson_iter_type(arg)));
    bson_iter_init(&it, &spec);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok)
            return status_set(st, ERR_FailedToParse,
                              "Unrecognized option '%s' in $currentOp stage.", k);
        if (!BSON_ITER_HOLDS_BOOL(&it))
            return status_set(st, ERR_FailedToParse,
                              "The '%s' parameter of the $currentOp stage must be a boolean "
                              "value, but found: %s",
                              k, bsonu_type_name(bson_iter_type(&it)));
    }
    s->shape = PL_REPLACES;
    return 0;
}

static int currentop_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                          status_t *st)
{
    return stats_open(stage, run, src, out, st, QRY_PL_STATS_CURRENT_OP);
}

const pl_stage_ops_t qry__pl_stage_currentop = {"$currentOp",
                                                PL_F_FIRST | PL_F_NO_SOURCE | PL_F_NO_FACET,
                                                currentop_parse, currentop_open, no_free};
