/*
 * stage_unwind.c -- $unwind: one output document per element of the array
 * at a path ("$a.b" or {path, includeArrayIndex, preserveNullAndEmptyArrays}).
 * A non-array value is a one-element array; null, missing and [] yield
 * nothing unless preserveNullAndEmptyArrays (then the document passes, an
 * empty array's field removed, with a null index). The path goes through
 * documents only, as MongoDB's does.
 */
#include "query/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct unwind_data {
    char *path;
    char *index_field;
    bool preserve;
} unwind_data_t;

static void unwind_free(void *data)
{
    unwind_data_t *d = data;
    free(d->path);
    free(d->index_field);
    free(d);
}

static int unwind_parse(pl_stage_t *s, const bson_iter_t *arg, status_t *st)
{
    unwind_data_t *d = calloc(1, sizeof *d);
    INVARIANT(d != NULL);
    s->data = d;
    const char *path = NULL;
    if (BSON_ITER_HOLDS_UTF8(arg)) {
        path = bson_iter_utf8(arg, NULL);
    } else if (BSON_ITER_HOLDS_DOCUMENT(arg)) {
        bson_iter_t it;
        bson_iter_recurse(arg, &it);
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "path") == 0) {
                if (!BSON_ITER_HOLDS_UTF8(&it))
                    return status_set(st, 28808,
                                      "expected a string as the path for $unwind "
                                      "stage");
                path = bson_iter_utf8(&it, NULL);
            } else if (strcmp(k, "includeArrayIndex") == 0) {
                if (!BSON_ITER_HOLDS_UTF8(&it) || bson_iter_utf8(&it, NULL)[0] == '\0')
                    return status_set(st, 28810,
                                      "expected a non-empty string for the "
                                      "includeArrayIndex option to $unwind stage");
                const char *f = bson_iter_utf8(&it, NULL);
                if (f[0] == '$')
                    return status_set(st, 28822,
                                      "includeArrayIndex option to $unwind stage "
                                      "should not be prefixed with a '$': %s",
                                      f);
                free(d->index_field);
                d->index_field = strdup(f);
            } else if (strcmp(k, "preserveNullAndEmptyArrays") == 0) {
                if (!BSON_ITER_HOLDS_BOOL(&it))
                    return status_set(st, 28809,
                                      "expected a boolean for the "
                                      "preserveNullAndEmptyArrays option to $unwind "
                                      "stage");
                d->preserve = bson_iter_bool(&it);
            } else {
                return status_set(st, 28811, "unrecognized option to $unwind stage: %s", k);
            }
        }
        if (!path)
            return status_set(st, 28812, "no path specified to $unwind stage");
    } else {
        return status_set(st, 15981,
                          "expected either a string or an object as specification "
                          "for $unwind stage");
    }
    if (path[0] != '$')
        return status_set(st, 28818,
                          "path option to $unwind stage should be prefixed with a "
                          "'$': %s",
                          path);
    if (path[1] == '\0' || path[1] == '$')
        return status_set(st, 40352, "FieldPath cannot be constructed with empty string");
    d->path = strdup(path + 1);
    s->shape = PL_MODIFIES;
    qry__pl_add_read(s, d->path);
    qry__pl_add_write(s, d->path);
    if (d->index_field)
        qry__pl_add_write(s, d->index_field);
    return 0;
}

typedef struct unwind_iter {
    pl_iter_t base;
    const unwind_data_t *d;
    bson_t *cur; /* the document being unwound */
    bool have;
    bson_iter_t arr; /* positioned in cur's array */
    int64_t idx;
} unwind_iter_t;

static void emit(const unwind_data_t *d, const bson_t *doc, const bson_value_t *v,
                 const bson_value_t *idx, bson_t *out)
{
    if (!d->index_field) {
        qry__pl_set_path(doc, d->path, v, out);
        return;
    }
    bson_t tmp;
    qry__pl_set_path(doc, d->path, v, &tmp);
    qry__pl_set_path(&tmp, d->index_field, idx, out);
    bson_destroy(&tmp);
}

static int unwind_next(pl_iter_t *it, bson_t *out, bool *eof, status_t *st)
{
    unwind_iter_t *u = (unwind_iter_t *)it;
    const unwind_data_t *d = u->d;
    bson_value_t nullv = {.value_type = BSON_TYPE_NULL};
    for (;;) {
        if (u->have) {
            if (bson_iter_next(&u->arr)) {
                bson_value_t idx = {.value_type = BSON_TYPE_INT64, .value.v_int64 = u->idx++};
                emit(d, u->cur, bson_iter_value(&u->arr), &idx, out);
                *eof = false;
                return 0;
            }
            bson_destroy(u->cur);
            u->cur = NULL;
            u->have = false;
        }
        bson_t in;
        ST_RET(qry__pl_pull(it->src, &in, eof, st));
        if (*eof) {
            bson_steal(out, &in);
            return 0;
        }
        bson_value_t v;
        bool found = qry__pl_path_get(&in, d->path, &v);
        if (found && v.value_type == BSON_TYPE_ARRAY) {
            bson_t view;
            bool nonempty = v.value.v_doc.data_len > 5;
            if (nonempty) {
                u->cur = bson_copy(&in);
                bson_destroy(&in);
                /* re-find the array inside our own copy so the iterator stays valid */
                bson_iter_t pi;
                if (bsonu_path_get(u->cur, d->path, &pi) && bson_iter_recurse(&pi, &u->arr)) {
                    u->have = true;
                    u->idx = 0;
                } else {
                    bson_destroy(u->cur);
                    u->cur = NULL;
                }
                continue;
            }
            (void)view;
            if (d->preserve) {
                emit(d, &in, NULL, &nullv, out);
                bson_destroy(&in);
                *eof = false;
                return 0;
            }
            bson_destroy(&in);
            continue;
        }
        if (!found || v.value_type == BSON_TYPE_NULL || v.value_type == BSON_TYPE_UNDEFINED) {
            if (d->preserve) {
                if (d->index_field) {
                    qry__pl_set_path(&in, d->index_field, &nullv, out);
                    bson_destroy(&in);
                } else {
                    bson_steal(out, &in);
                }
                *eof = false;
                return 0;
            }
            bson_destroy(&in);
            continue;
        }
        /* a scalar unwinds to itself */
        if (d->index_field) {
            qry__pl_set_path(&in, d->index_field, &nullv, out);
            bson_destroy(&in);
        } else {
            bson_steal(out, &in);
        }
        *eof = false;
        return 0;
    }
}

static void unwind_close(pl_iter_t *it)
{
    unwind_iter_t *u = (unwind_iter_t *)it;
    qry__pl_iter_close(it->src);
    bson_destroy(u->cur);
    free(u);
}

static int unwind_open(const pl_stage_t *stage, pl_run_t *run, pl_iter_t *src, pl_iter_t **out,
                       status_t *st)
{
    unwind_iter_t *u = qry__pl_zalloc(sizeof *u);
    qry__pl_iter_init(&u->base, unwind_next, unwind_close, src, run);
    u->d = stage->data;
    *out = &u->base;
    (void)st;
    return 0;
}

const pl_stage_ops_t qry__pl_stage_unwind = {"$unwind", 0, unwind_parse, unwind_open, unwind_free};
