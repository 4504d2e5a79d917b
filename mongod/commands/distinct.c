/*
 * distinct.c -- {distinct: "c", key: "a.b", query, hint?, collation?}: the
 * distinct values of a path among the matching documents. Arrays on the path
 * are unwound as MongoDB does (each element counts; an array nested in an
 * array is a value of its own); values are de-duplicated with the canonical
 * equality and hash of common/ (1, 1.0 and NumberLong(1) are one value) and
 * returned in canonical order. Reply {values: [...]}; 16 MiB cap (17217).
 */
#include "mongod/cursors.h"
#include "mongod/views.h"

#include <stdlib.h>
#include <string.h>

/* A value set: open addressing over copies. */
typedef struct vset {
    bson_value_t *v;
    uint64_t *h;
    bool *used;
    size_t cap, n;
    size_t bytes;
} vset_t;

static void vset_free(vset_t *s)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->used[i])
            bson_value_destroy(&s->v[i]);
    free(s->v);
    free(s->h);
    free(s->used);
}

static void vset_add(vset_t *s, const bson_value_t *v)
{
    if ((s->n + 1) * 2 > s->cap) {
        vset_t ns = {0};
        ns.cap = s->cap ? s->cap * 2 : 64;
        ns.v = calloc(ns.cap, sizeof(*ns.v));
        ns.h = calloc(ns.cap, sizeof(*ns.h));
        ns.used = calloc(ns.cap, sizeof(*ns.used));
        INVARIANT(ns.v && ns.h && ns.used);
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->used[i])
                continue;
            size_t j = s->h[i] & (ns.cap - 1);
            while (ns.used[j])
                j = (j + 1) & (ns.cap - 1);
            ns.used[j] = true;
            ns.v[j] = s->v[i];
            ns.h[j] = s->h[i];
        }
        ns.n = s->n;
        ns.bytes = s->bytes;
        free(s->v);
        free(s->h);
        free(s->used);
        *s = ns;
    }
    uint64_t h = bsonu_hash_value(v, 0);
    size_t j = h & (s->cap - 1);
    while (s->used[j]) {
        if (s->h[j] == h && bsonu_equal_value(&s->v[j], v))
            return;
        j = (j + 1) & (s->cap - 1);
    }
    s->used[j] = true;
    s->h[j] = h;
    bson_value_copy(v, &s->v[j]);
    /* libbson copies an empty binary as NULL; memcmp on NULL is undefined even for 0 bytes. */
    if (s->v[j].value_type == BSON_TYPE_BINARY && s->v[j].value.v_binary.data == NULL)
        s->v[j].value.v_binary.data = bson_malloc0(1);
    s->n++;
    bson_t tmp = BSON_INITIALIZER;
    bson_append_value(&tmp, "0", 1, v);
    s->bytes += tmp.len;
    bson_destroy(&tmp);
}

static int visit(void *ctx, const bsonu_path_leaf_t *leaf)
{
    /* The array itself is not a value when its elements were visited. */
    if (leaf->is_array && !leaf->from_leaf_expansion)
        return 0;
    vset_add(ctx, bson_iter_value((bson_iter_t *)&leaf->iter));
    return 0;
}

static int vcmp(const void *a, const void *b)
{
    return bsonu_compare_value(*(const bson_value_t *const *)a, *(const bson_value_t *const *)b);
}

/* has_numeric_component -- whether a dotted path has an all-digit component ("a.0.b"). */
static bool has_numeric_component(const char *path)
{
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '.');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool digits = n > 0;
        for (size_t i = 0; i < n; i++)
            digits = digits && p[i] >= '0' && p[i] <= '9';
        if (digits)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

int micad_distinct_parse(const wire_opctx_t *op, const bson_t *cmd, micad_query_t *q,
                         const char **key, status_t *st)
{
    const char *C = "distinct";
    bson_iter_t it;
    *key = NULL;
    ST_RET(micad_db_cmd_ns(op, cmd, q->ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bson_t d;
        if (strcmp(k, "key") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return micad_db_type_error(&it, C, "string", st);
            *key = bson_iter_utf8(&it, NULL);
        } else if (strcmp(k, "query") == 0) {
            if (BSON_ITER_HOLDS_NULL(&it))
                continue;
            ST_RET(micad_db_arg_doc(&it, C, &d, st));
            bson_reinit(&q->filter);
            bson_concat(&q->filter, &d);
        } else if (strcmp(k, "hint") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it) && !BSON_ITER_HOLDS_DOCUMENT(&it))
                return status_set(st, ERR_FailedToParse,
                                  "hint must be either a string or nested object");
            bson_value_copy(bson_iter_value(&it), &q->hint);
            q->has_hint = !(BSON_ITER_HOLDS_DOCUMENT(&it) && q->hint.value.v_doc.data_len <= 5) &&
                          !(BSON_ITER_HOLDS_UTF8(&it) && q->hint.value.v_utf8.len == 0);
            if (!q->has_hint)
                bson_value_destroy(&q->hint);
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "maxTimeMS") == 0 || strcmp(k, "comment") == 0 ||
                   micad_db_is_generic_arg(k)) {
            continue;
        } else {
            return micad_db_unknown_field(C, k, st);
        }
    }
    if (*key == NULL)
        return status_set(st, 40414, "BSON field 'distinct.key' is missing but a required field");
    if ((*key)[0] == '\0')
        return status_set(st, 40352, "FieldPath cannot be constructed with empty string");
    size_t kl = strlen(*key);
    if ((*key)[0] == '.' || (*key)[kl - 1] == '.' || strstr(*key, "..") != NULL)
        return status_set(st, 15998, "FieldPath field names may not be empty strings.");
    if ((*key)[0] == '$')
        return status_set(st, 16410,
                          "FieldPath field names may not start with '$'. Consider "
                          "using $getField or $setField.");
    /*
     * As MongoDB does, read only the key ({key: 1, _id: 0}): an index on it
     * then answers without documents (PROJECTION_COVERED over DISTINCT_SCAN).
     * Not for a key with a numeric component: a projection reads "a.0" as a
     * field name, the distinct path as a position.
     */
    free(q->distinct_key);
    q->distinct_key = strdup(*key);
    if (!has_numeric_component(*key)) {
        bson_reinit(&q->projection);
        BSON_APPEND_INT32(&q->projection, *key, 1);
        BSON_APPEND_INT32(&q->projection, "_id", 0);
        q->has_projection = true;
        if (strcmp(*key, "_id") == 0) {
            bson_reinit(&q->projection);
            BSON_APPEND_INT32(&q->projection, "_id", 1);
        }
    }
    return 0;
}

int micad_distinct_run(micad_exec_t *ex, const char *key, int64_t deadline_us, bson_t *reply,
                       status_t *st)
{
    vset_t s = {0};
    int ret = 0;
    ST_RET(micad_exec_begin_batch(ex, st));
    for (;;) {
        bson_t doc;
        bool eof = false;
        ST_ERR(micad_exec_next(ex, deadline_us, &doc, &eof, st));
        if (eof)
            break;
        bsonu_path_walk(&doc, key, BSONU_PATH_EXPAND_LEAF_ARRAY, visit, &s);
        bson_destroy(&doc);
        if (s.bytes > 16 * 1024 * 1024) {
            ret = status_set(st, 17217, "distinct too big, 16mb cap");
            goto err;
        }
    }
    micad_exec_end_batch(ex);
    {
        const bson_value_t **order = calloc(s.n ? s.n : 1, sizeof(*order));
        INVARIANT(order != NULL);
        size_t k = 0;
        for (size_t i = 0; i < s.cap; i++)
            if (s.used[i])
                order[k++] = &s.v[i];
        qsort(order, k, sizeof(*order), vcmp);
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(reply, "values", &arr);
        for (size_t i = 0; i < k; i++) {
            char ib[24];
            const char *ik;
            bson_uint32_to_string((uint32_t)i, &ik, ib, sizeof(ib));
            bson_append_value(&arr, ik, -1, order[i]);
        }
        bson_append_array_end(reply, &arr);
        free(order);
    }
    vset_free(&s);
    return 0;
err:
    micad_exec_end_batch(ex);
    vset_free(&s);
    return ret;
}

/* micad_cmd_distinct -- the distinct command. */
int micad_cmd_distinct(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bool view_handled;
    int view_ret = micad_view_dispatch(op, cmd, reply, &view_handled, st);
    if (view_ret != 0 || view_handled)
        return view_ret;
    micad_query_t q;
    micad_exec_t *ex = NULL;
    const char *key;
    int ret = 0;
    micad_query_init(&q);
    ST_ERR(micad_distinct_parse(op, cmd, &q, &key, st));
    ST_ERR(micad_exec_create(micad_of(op), op, &q, &ex, st));
    ST_ERR(micad_distinct_run(ex, key, op->deadline_us, reply, st));
err:
    micad_exec_destroy(ex);
    micad_query_destroy(&q);
    return ret;
}
