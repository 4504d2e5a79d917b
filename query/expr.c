/*
 * expr.c -- the aggregation expression framework: variable scopes, the
 * evaluation context and its arena, the parser (field paths, variables,
 * object and array expressions, operator dispatch through the tables of
 * expr_int.h), constant folding, evaluation of the non-operator nodes,
 * dependency analysis, $let and $literal, and the $expr hooks for match.
 *
 * Memory: a tree owns its nodes, names, paths and constants. Results live
 * in the context's arena, a list of blocks freed together on reset (or back
 * to a mark), so operators allocate freely and never free: the per-document
 * reset is one walk over a few blocks.
 */
#include "query/expr_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- scopes -------------------------------------------------------------- */

typedef struct scope_var {
    char *name;
    int slot;
} scope_var_t;

struct qry_expr_scope {
    scope_var_t *vars; /* visible names; later ones shadow earlier ones */
    size_t n, cap;
    int nslots;
};

/* qry_expr_scope_new -- an empty scope. */
qry_expr_scope_t *qry_expr_scope_new(void)
{
    qry_expr_scope_t *s = calloc(1, sizeof(*s));
    INVARIANT(s != NULL);
    return s;
}

/* qry_expr_scope_destroy -- free a scope. */
void qry_expr_scope_destroy(qry_expr_scope_t *scope)
{
    if (scope == NULL)
        return;
    for (size_t i = 0; i < scope->n; i++)
        free(scope->vars[i].name);
    free(scope->vars);
    free(scope);
}

/*
 * MongoDB's user variable name rules: a lowercase ASCII letter or a non-ASCII
 * byte first, then letters, digits, '_' or non-ASCII. MongoDB 5.0+ reports a
 * bad name as FailedToParse (older versions used 16866..16871).
 */
static int validate_var_name(const char *name, status_t *st)
{
    const unsigned char *p = (const unsigned char *)name;
    if (*p == '\0')
        return status_set(st, ERR_FailedToParse, "empty variable names are not allowed");
    if (!((*p >= 'a' && *p <= 'z') || *p >= 0x80))
        return status_set(st, ERR_FailedToParse,
                          "'%s' starts with an invalid character for a user variable name", name);
    for (p++; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p >= 0x80))
            return status_set(st, ERR_FailedToParse,
                              "'%s' contains an invalid character for a variable name: '%c'", name,
                              *p);
    }
    return 0;
}

/* Make name visible with a new slot (no name check: $let may rebind CURRENT). */
static int scope_push(qry_expr_scope_t *scope, const char *name)
{
    if (scope->n == scope->cap) {
        scope->cap = scope->cap ? scope->cap * 2 : 8;
        scope->vars = realloc(scope->vars, scope->cap * sizeof(*scope->vars));
        INVARIANT(scope->vars != NULL);
    }
    scope->vars[scope->n].name = strdup(name);
    INVARIANT(scope->vars[scope->n].name != NULL);
    scope->vars[scope->n].slot = scope->nslots++;
    return scope->vars[scope->n++].slot;
}

/* qry_expr_scope_define -- define a user variable and give it a slot. */
int qry_expr_scope_define(qry_expr_scope_t *scope, const char *name, int *slot, status_t *st)
{
    ST_RET(validate_var_name(name, st));
    *slot = scope_push(scope, name);
    return 0;
}

/* qry_expr_scope_lookup -- the innermost slot named name, -1 if none. */
int qry_expr_scope_lookup(const qry_expr_scope_t *scope, const char *name)
{
    if (scope == NULL)
        return -1;
    for (size_t i = scope->n; i-- > 0;)
        if (strcmp(scope->vars[i].name, name) == 0)
            return scope->vars[i].slot;
    return -1;
}

/* qry_expr_scope_nslots -- slots handed out so far. */
int qry_expr_scope_nslots(const qry_expr_scope_t *scope)
{
    return scope ? scope->nslots : 0;
}

/* qry__expr_scope_mark -- the visible-name count. */
size_t qry__expr_scope_mark(const qry_expr_scope_t *scope)
{
    return scope->n;
}

/* qry__expr_scope_pop -- forget names defined after mark. */
void qry__expr_scope_pop(qry_expr_scope_t *scope, size_t mark)
{
    while (scope->n > mark)
        free(scope->vars[--scope->n].name);
}

/*
 * qry__expr_define_var -- define a variable in the parser's scope. Inside an
 * expression ($let vars, $map/$filter "as") CURRENT may be rebound too.
 */
int qry__expr_define_var(qry__expr_parser_t *p, const char *name, int *slot, status_t *st)
{
    if (strcmp(name, "CURRENT") == 0) {
        *slot = scope_push(p->scope, "CURRENT");
        return 0;
    }
    return qry_expr_scope_define(p->scope, name, slot, st);
}

/* ---- the arena and contexts ---------------------------------------------- */

/*
 * ARENA_BLOCK -- 16 KiB holds the results of a typical document's
 * expressions in one block; bigger values get a block of their own.
 */
#define ARENA_BLOCK 16384

typedef struct arena_block {
    struct arena_block *prev;
    uint64_t base; /* arena position of data[0] */
    size_t size, used;
    _Alignas(16) unsigned char data[];
} arena_block_t;

typedef struct slot_val {
    bson_value_t v;   /* current binding (may point into the arena) */
    bson_value_t own; /* qry_expr_ctx_set_var's copy (EOD if none) */
} slot_val_t;

struct qry_expr_ctx {
    arena_block_t *top;
    size_t arena_bytes; /* sum of live block sizes, checked against QRY__EXPR_MAX_MEMORY */
    slot_val_t *slots;
    int nslots;
    int64_t now_ms;
    bool has_cluster_time;
    uint32_t ct_t, ct_i;
    uint64_t rng;
    int depth;
    const bson_t *root;
    bson_value_t root_value;
    qry_expr_scope_t *scope; /* for $expr parsed through the match hooks */
    qry_meta_fn meta;        /* {$meta: ...} source, may be NULL */
    void *meta_arg;
};

/* qry_expr_ctx_new -- a context. */
qry_expr_ctx_t *qry_expr_ctx_new(void)
{
    qry_expr_ctx_t *cx = calloc(1, sizeof(*cx));
    INVARIANT(cx != NULL);
    cx->now_ms = time_now_ms();
    cx->rng = (uint64_t)time_mono_us() ^ ((uint64_t)(uintptr_t)cx << 17) ^ 0x9e3779b97f4a7c15ULL;
    if (cx->rng == 0)
        cx->rng = 1;
    return cx;
}

/* qry_expr_ctx_release -- free blocks and bytes past mark (the first block is kept). */
void qry_expr_ctx_release(qry_expr_ctx_t *cx, uint64_t mark)
{
    while (cx->top != NULL && cx->top->prev != NULL && cx->top->base >= mark) {
        arena_block_t *b = cx->top;
        cx->top = b->prev;
        cx->arena_bytes -= b->size;
        free(b);
    }
    if (cx->top != NULL) {
        uint64_t keep = mark > cx->top->base ? mark - cx->top->base : 0;
        if (keep < cx->top->used)
            cx->top->used = (size_t)keep;
    }
}

/* qry_expr_ctx_mark -- the arena's current position. */
uint64_t qry_expr_ctx_mark(qry_expr_ctx_t *cx)
{
    return cx->top ? cx->top->base + cx->top->used : 0;
}

/* qry_expr_ctx_reset -- free every result. */
void qry_expr_ctx_reset(qry_expr_ctx_t *cx)
{
    qry_expr_ctx_release(cx, 0);
}

/* qry_expr_ctx_destroy -- free the context. */
void qry_expr_ctx_destroy(qry_expr_ctx_t *cx)
{
    if (cx == NULL)
        return;
    while (cx->top != NULL) {
        arena_block_t *b = cx->top;
        cx->top = b->prev;
        free(b);
    }
    for (int i = 0; i < cx->nslots; i++)
        if (cx->slots[i].own.value_type != BSON_TYPE_EOD)
            bson_value_destroy(&cx->slots[i].own);
    free(cx->slots);
    free(cx);
}

/* qry__expr_alloc -- n bytes from the arena, 16-aligned. */
void *qry__expr_alloc(qry_expr_ctx_t *cx, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need == 0)
        need = 16;
    if (cx->top == NULL || cx->top->size - cx->top->used < need) {
        size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        arena_block_t *b = malloc(sizeof(*b) + size);
        INVARIANT(b != NULL);
        /* positions grow monotonically across blocks, so a mark orders them */
        b->base = cx->top ? cx->top->base + cx->top->size : 0;
        b->size = size;
        b->used = 0;
        cx->arena_bytes += size;
        b->prev = cx->top;
        cx->top = b;
    }
    void *p = cx->top->data + cx->top->used;
    cx->top->used += need;
    return p;
}

static void grow_slots(qry_expr_ctx_t *cx, int slot)
{
    if (slot < cx->nslots)
        return;
    int n = cx->nslots ? cx->nslots : 8;
    while (n <= slot)
        n *= 2;
    cx->slots = realloc(cx->slots, (size_t)n * sizeof(*cx->slots));
    INVARIANT(cx->slots != NULL);
    memset(cx->slots + cx->nslots, 0, (size_t)(n - cx->nslots) * sizeof(*cx->slots));
    cx->nslots = n;
}

/* qry_expr_ctx_set_now -- $$NOW. */
void qry_expr_ctx_set_now(qry_expr_ctx_t *cx, int64_t now_ms)
{
    cx->now_ms = now_ms;
}

/* qry_expr_ctx_set_cluster_time -- $$CLUSTER_TIME. */
void qry_expr_ctx_set_cluster_time(qry_expr_ctx_t *cx, uint32_t t, uint32_t i)
{
    cx->has_cluster_time = true;
    cx->ct_t = t;
    cx->ct_i = i;
}

/* qry_expr_ctx_set_meta -- the $meta source. */
void qry_expr_ctx_set_meta(qry_expr_ctx_t *cx, qry_meta_fn fn, void *arg)
{
    cx->meta = fn;
    cx->meta_arg = arg;
}

/* qry__expr_meta -- read metadata through the callback and copy it into the arena. */
int qry__expr_meta(qry_expr_ctx_t *cx, const char *name, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    memset(out, 0, sizeof(*out));
    if (cx->meta == NULL)
        return 0;
    memset(&v, 0, sizeof(v));
    ST_RET(cx->meta(cx->meta_arg, name, cx->root, &v, st));
    if (v.value_type == BSON_TYPE_EOD)
        return 0;
    /* the callback's value is ours to free: keep an arena copy instead */
    bson_t b = BSON_INITIALIZER;
    bson_value_t wrapped;
    bson_iter_t it;
    bson_t view;
    bson_append_value(&b, "v", 1, &v);
    bson_value_destroy(&v);
    qry__expr_doc_finish(cx, &b, false, &wrapped);
    qry__expr_view(&wrapped, &view);
    if (bson_iter_init_find(&it, &view, "v"))
        *out = *bson_iter_value(&it);
    return 0;
}

/* qry_expr_ctx_set_seed -- seed $rand. */
void qry_expr_ctx_set_seed(qry_expr_ctx_t *cx, uint64_t seed)
{
    cx->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

/* qry_expr_ctx_set_var -- bind a user slot to a copy of v. */
int qry_expr_ctx_set_var(qry_expr_ctx_t *cx, int slot, const bson_value_t *v, status_t *st)
{
    if (slot < 0)
        return status_set(st, ERR_BadValue, "invalid variable slot %d", slot);
    grow_slots(cx, slot);
    slot_val_t *s = &cx->slots[slot];
    if (s->own.value_type != BSON_TYPE_EOD)
        bson_value_destroy(&s->own);
    memset(&s->own, 0, sizeof(s->own));
    if (v != NULL && v->value_type != BSON_TYPE_EOD)
        bson_value_copy(v, &s->own);
    s->v = s->own;
    return 0;
}

/* qry__expr_set_var -- bind a slot for this evaluation (no copy). */
void qry__expr_set_var(qry_expr_ctx_t *cx, int slot, const bson_value_t *v)
{
    grow_slots(cx, slot);
    cx->slots[slot].v = *v;
}

/* qry__expr_now -- $$NOW. */
int64_t qry__expr_now(const qry_expr_ctx_t *cx)
{
    return cx->now_ms;
}

/* qry__expr_rand -- xorshift64* in [0, 1). */
double qry__expr_rand(qry_expr_ctx_t *cx)
{
    uint64_t x = cx->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    cx->rng = x;
    return (double)((x * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- small value helpers --------------------------------------------------- */

/* qry__expr_str -- a string result copied into the arena. */
void qry__expr_str(qry_expr_ctx_t *cx, const char *s, size_t len, bson_value_t *out)
{
    char *p = qry__expr_alloc(cx, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_UTF8;
    out->value.v_utf8.str = p;
    out->value.v_utf8.len = (uint32_t)len;
}

/* qry__expr_doc_finish -- move a built document or array into the arena. */
void qry__expr_doc_finish(qry_expr_ctx_t *cx, bson_t *b, bool as_array, bson_value_t *out)
{
    uint8_t *p = qry__expr_alloc(cx, b->len);
    memcpy(p, bson_get_data(b), b->len);
    memset(out, 0, sizeof(*out));
    out->value_type = as_array ? BSON_TYPE_ARRAY : BSON_TYPE_DOCUMENT;
    out->value.v_doc.data = p;
    out->value.v_doc.data_len = b->len;
    bson_destroy(b);
}

/* qry__expr_view -- read-only bson_t over a document or array value. */
void qry__expr_view(const bson_value_t *v, bson_t *out)
{
    if ((v->value_type != BSON_TYPE_DOCUMENT && v->value_type != BSON_TYPE_ARRAY) ||
        !bson_init_static(out, v->value.v_doc.data, v->value.v_doc.data_len))
        bson_init(out);
}

/* qry__expr_set_int -- an int32 result. */
void qry__expr_set_int(bson_value_t *out, int32_t x)
{
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_INT32;
    out->value.v_int32 = x;
}

/* qry__expr_set_long -- an int64 result. */
void qry__expr_set_long(bson_value_t *out, int64_t x)
{
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_INT64;
    out->value.v_int64 = x;
}

/* qry__expr_set_double -- a double result. */
void qry__expr_set_double(bson_value_t *out, double x)
{
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_DOUBLE;
    out->value.v_double = x;
}

/* qry__expr_set_bool -- a bool result. */
void qry__expr_set_bool(bson_value_t *out, bool x)
{
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_BOOL;
    out->value.v_bool = x;
}

/* qry__expr_set_null -- a null result. */
void qry__expr_set_null(bson_value_t *out)
{
    memset(out, 0, sizeof(*out));
    out->value_type = BSON_TYPE_NULL;
}

/* qry__expr_is_nullish -- null, undefined or missing. */
bool qry__expr_is_nullish(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_NULL || v->value_type == BSON_TYPE_UNDEFINED ||
           v->value_type == BSON_TYPE_EOD;
}

/* qry__expr_type_name -- $type's names. */
const char *qry__expr_type_name(const bson_value_t *v)
{
    return bsonu_type_name(v->value_type);
}

/* qry_expr_truthy -- MongoDB's coerceToBool. */
bool qry_expr_truthy(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return false;
    case BSON_TYPE_BOOL:
        return v->value.v_bool;
    case BSON_TYPE_INT32:
        return v->value.v_int32 != 0;
    case BSON_TYPE_INT64:
        return v->value.v_int64 != 0;
    case BSON_TYPE_DOUBLE:
        return v->value.v_double != 0.0; /* NaN is true, as in MongoDB */
    case BSON_TYPE_DECIMAL128: {
        bsonu_dec128_parts_t d;
        bsonu_dec128_decode(&v->value.v_decimal128, &d);
        return d.is_nan || d.is_inf || d.coefficient != 0;
    }
    default:
        return true;
    }
}

/* qry_expr_append -- append a result (missing appends nothing). */
bool qry_expr_append(bson_t *doc, const char *key, int keylen, const bson_value_t *v)
{
    if (v->value_type == BSON_TYPE_EOD)
        return true;
    return bson_append_value(doc, key, keylen, v);
}

/* ---- the operator registry ------------------------------------------------ */

static const qry__expr_table_t *const tables[] = {
    &qry__expr_core_table,  &qry__expr_arith_table, &qry__expr_cmp_table,  &qry__expr_string_table,
    &qry__expr_array_table, &qry__expr_type_table,  &qry__expr_misc_table, &qry__expr_date_table,
};

/* qry__expr_find_op -- look a name up in every table. */
const qry__expr_op_t *qry__expr_find_op(const char *name)
{
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (size_t i = 0; i < tables[t]->n; i++)
            if (strcmp(tables[t]->ops[i].name, name) == 0)
                return &tables[t]->ops[i];
    return NULL;
}

/* ---- parsing --------------------------------------------------------------- */

static qry_expr_t *node_new(qry__expr_kind_t kind)
{
    qry_expr_t *e = calloc(1, sizeof(*e));
    INVARIANT(e != NULL);
    e->kind = kind;
    e->slots[0] = e->slots[1] = e->slots[2] = -1;
    return e;
}

/* qry_expr_destroy -- free a tree. */
void qry_expr_destroy(qry_expr_t *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nargs; i++) {
        qry_expr_destroy(e->args[i]);
        if (e->names)
            free(e->names[i]);
    }
    free(e->args);
    free(e->names);
    free(e->path);
    if (e->kind == QRY__EXPR_CONST)
        bson_value_destroy(&e->value);
    if (e->data != NULL && e->op != NULL && e->op->free_data != NULL)
        e->op->free_data(e->data);
    if (e->spec_owned)
        bson_value_destroy(&e->spec);
    free(e);
}

/* qry__expr_args_alloc -- n empty argument slots. */
void qry__expr_args_alloc(qry_expr_t *node, size_t n)
{
    INVARIANT(node->args == NULL);
    node->args = calloc(n ? n : 1, sizeof(*node->args));
    INVARIANT(node->args != NULL);
    node->nargs = n;
}

static void args_push(qry_expr_t *node, qry_expr_t *child, const char *name)
{
    node->args = realloc(node->args, (node->nargs + 1) * sizeof(*node->args));
    INVARIANT(node->args != NULL);
    if (name != NULL || node->names != NULL) {
        node->names = realloc(node->names, (node->nargs + 1) * sizeof(*node->names));
        INVARIANT(node->names != NULL);
        node->names[node->nargs] = name ? strdup(name) : NULL;
    }
    node->args[node->nargs++] = child;
}

/* Validate one component of a field path. */
static int check_path_component(const char *c, size_t len, status_t *st)
{
    if (len == 0)
        return status_set(st, 15998, "FieldPath field names may not be empty strings.");
    if (c[0] == '$')
        return status_set(st, 16410,
                          "FieldPath field names may not start with '$'. Consider using "
                          "$getField or $setField.");
    if (memchr(c, '\0', len) != NULL)
        return status_set(st, 16411, "FieldPath field names may not contain '\\0'.");
    return 0;
}

static int check_path(const char *path, status_t *st)
{
    const char *c = path;
    for (;;) {
        const char *dot = strchr(c, '.');
        size_t len = dot ? (size_t)(dot - c) : strlen(c);
        ST_RET(check_path_component(c, len, st));
        if (!dot)
            return 0;
        c = dot + 1;
    }
}

/* The variable "$a" and "$$CURRENT" read: the document, unless a $let rebound CURRENT. */
static int current_var(const qry__expr_parser_t *p)
{
    int slot = qry_expr_scope_lookup(p->scope, "CURRENT");
    return slot >= 0 ? slot : QRY__VAR_CURRENT;
}

/* "$a.b" or "$$var.a.b" */
static int parse_path_string(qry__expr_parser_t *p, const char *s, uint32_t len, qry_expr_t **out,
                             status_t *st)
{
    if (memchr(s, '\0', len) != NULL)
        return status_set(st, 16411, "FieldPath field names may not contain '\\0'.");
    if (len >= 2 && s[1] == '$') {
        const char *name = s + 2;
        const char *dot = strchr(name, '.');
        size_t nlen = dot ? (size_t)(dot - name) : strlen(name);
        char buf[256];
        if (nlen >= sizeof(buf))
            return status_set(st, 17276, "Use of undefined variable: %.200s", name);
        memcpy(buf, name, nlen);
        buf[nlen] = '\0';
        int var;
        if (strcmp(buf, "ROOT") == 0)
            var = QRY__VAR_ROOT;
        else if (strcmp(buf, "CURRENT") == 0)
            var = current_var(p);
        else if (strcmp(buf, "REMOVE") == 0)
            var = QRY__VAR_REMOVE;
        else if (strcmp(buf, "NOW") == 0)
            var = QRY__VAR_NOW;
        else if (strcmp(buf, "CLUSTER_TIME") == 0)
            var = QRY__VAR_CLUSTER_TIME;
        else {
            ST_RET(validate_var_name(buf, st));
            var = qry_expr_scope_lookup(p->scope, buf);
            if (var < 0)
                return status_set(st, 17276, "Use of undefined variable: %s", buf);
        }
        qry_expr_t *e;
        if (dot) {
            ST_RET(check_path(dot + 1, st));
            e = node_new(QRY__EXPR_FIELD);
            e->path = strdup(dot + 1);
            INVARIANT(e->path != NULL);
        } else {
            e = node_new(QRY__EXPR_VAR);
        }
        e->var = var;
        *out = e;
        return 0;
    }
    if (len == 1)
        return status_set(st, 16872, "'$' by itself is not a valid FieldPath");
    ST_RET(check_path(s + 1, st));
    qry_expr_t *e = node_new(QRY__EXPR_FIELD);
    e->var = current_var(p);
    e->path = strdup(s + 1);
    INVARIANT(e->path != NULL);
    *out = e;
    return 0;
}

static int parse_value(qry__expr_parser_t *p, const bson_value_t *spec, qry_expr_t **out,
                       status_t *st);

static int fold(qry_expr_t *e, status_t *st);

/* Parse a document's fields as an object expression. */
static int parse_object_fields(qry__expr_parser_t *p, const bson_t *doc, qry_expr_t **out,
                               status_t *st)
{
    bson_iter_t it;
    qry_expr_t *e = node_new(QRY__EXPR_OBJECT);
    int ret = 0;
    e->names = calloc(1, sizeof(char *));
    INVARIANT(e->names != NULL);
    if (!bson_iter_init(&it, doc)) {
        *out = e;
        return 0;
    }
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        qry_expr_t *child = NULL;
        if (k[0] == '\0')
            ST_ERR(status_set(st, 16410, "FieldPath field names may not be empty strings."));
        if (k[0] == '$')
            ST_ERR(status_set(st, 16410,
                              "FieldPath field names may not start with '$'. Consider using "
                              "$getField or $setField."));
        if (strchr(k, '.') != NULL)
            ST_ERR(status_set(st, 16412, "FieldPath field names may not contain '.'."));
        for (size_t i = 0; i < e->nargs; i++)
            if (strcmp(e->names[i], k) == 0)
                ST_ERR(status_set(st, 16406, "duplicate field name specified in object literal: %s",
                                  k));
        p->depth++;
        ret = parse_value(p, bson_iter_value(&it), &child, st);
        p->depth--;
        if (ret != 0)
            goto err;
        args_push(e, child, k);
    }
    *out = e;
    return 0;
err:
    qry_expr_destroy(e);
    return ret;
}

static int parse_operator(qry__expr_parser_t *p, const char *name, const bson_value_t *arg,
                          qry_expr_t **out, status_t *st)
{
    const qry__expr_op_t *op = qry__expr_find_op(name);
    int ret;
    if (op == NULL)
        return status_set(st, ERR_InvalidPipelineOperator, "Unrecognized expression '%s'", name);
    qry_expr_t *e = node_new(QRY__EXPR_OP);
    e->op = op;
    if (op->parse != NULL) {
        ST_ERR(op->parse(p, e, arg, st));
    } else {
        size_t n = 0;
        bson_t view;
        bson_iter_t it;
        if (arg->value_type == BSON_TYPE_ARRAY) {
            qry__expr_view(arg, &view);
            n = bson_count_keys(&view);
        } else {
            n = 1;
        }
        if (op->max_args != QRY__EXPR_ARGS_ANY && op->min_args == op->max_args &&
            (int)n != op->min_args)
            ST_ERR(status_set(st, 16020,
                              "Expression %s takes exactly %d arguments. %zu were passed in.", name,
                              op->min_args, n));
        if (op->max_args != QRY__EXPR_ARGS_ANY && op->min_args != op->max_args &&
            ((int)n < op->min_args || (int)n > op->max_args))
            ST_ERR(status_set(st, 28667,
                              "Expression %s takes at least %d arguments, and at most %d, but %zu "
                              "were passed in.",
                              name, op->min_args, op->max_args, n));
        if (op->max_args == QRY__EXPR_ARGS_ANY && (int)n < op->min_args)
            ST_ERR(status_set(st, 16021,
                              "Expression %s takes at least %d arguments, but %zu were passed in.",
                              name, op->min_args, n));
        qry__expr_args_alloc(e, n);
        if (arg->value_type == BSON_TYPE_ARRAY) {
            size_t i = 0;
            if (bson_iter_init(&it, &view))
                while (bson_iter_next(&it) && i < n)
                    ST_ERR(qry__expr_parse_sub(p, bson_iter_value(&it), &e->args[i++], st));
        } else {
            ST_ERR(qry__expr_parse_sub(p, arg, &e->args[0], st));
        }
    }
    *out = e;
    return 0;
err:
    qry_expr_destroy(e);
    return ret;
}

static int parse_value(qry__expr_parser_t *p, const bson_value_t *spec, qry_expr_t **out,
                       status_t *st)
{
    *out = NULL;
    if (p->depth > QRY__EXPR_MAX_DEPTH)
        return status_set(st, ERR_BadValue, "expression nesting exceeds the limit of %d levels",
                          QRY__EXPR_MAX_DEPTH);
    switch (spec->value_type) {
    case BSON_TYPE_UTF8:
        if (spec->value.v_utf8.len > 0 && spec->value.v_utf8.str[0] == '$')
            return parse_path_string(p, spec->value.v_utf8.str, spec->value.v_utf8.len, out, st);
        break;
    case BSON_TYPE_DOCUMENT: {
        bson_t view;
        bson_iter_t it;
        qry__expr_view(spec, &view);
        if (bson_iter_init(&it, &view) && bson_iter_next(&it) && bson_iter_key(&it)[0] == '$') {
            uint32_t n = bson_count_keys(&view);
            if (n != 1) {
                char *json = bson_as_relaxed_extended_json(&view, NULL);
                int r = status_set(st, 15983,
                                   "an expression specification must contain exactly one field, "
                                   "the name of the expression. Found %u fields in %.300s",
                                   n, json ? json : "");
                bson_free(json);
                return r;
            }
            ST_RET(parse_operator(p, bson_iter_key(&it), bson_iter_value(&it), out, st));
        } else {
            ST_RET(parse_object_fields(p, &view, out, st));
        }
        if (fold(*out, st) != 0) {
            qry_expr_destroy(*out);
            *out = NULL;
            return st->code;
        }
        return 0;
    }
    case BSON_TYPE_ARRAY: {
        bson_t view;
        bson_iter_t it;
        qry_expr_t *e = node_new(QRY__EXPR_ARRAY);
        qry__expr_view(spec, &view);
        if (bson_iter_init(&it, &view)) {
            while (bson_iter_next(&it)) {
                qry_expr_t *child = NULL;
                int ret = qry__expr_parse_sub(p, bson_iter_value(&it), &child, st);
                if (ret != 0) {
                    qry_expr_destroy(e);
                    return ret;
                }
                args_push(e, child, NULL);
            }
        }
        if (fold(e, st) != 0) {
            qry_expr_destroy(e);
            return st->code;
        }
        *out = e;
        return 0;
    }
    default:
        break;
    }
    qry_expr_t *e = node_new(QRY__EXPR_CONST);
    bson_value_copy(spec, &e->value);
    *out = e;
    return 0;
}

/* qry__expr_parse_sub -- parse a child one level deeper. */
int qry__expr_parse_sub(qry__expr_parser_t *p, const bson_value_t *spec, qry_expr_t **out,
                        status_t *st)
{
    p->depth++;
    int ret = parse_value(p, spec, out, st);
    p->depth--;
    return ret;
}

/* qry__expr_parse_named -- parse {k: expr, ...} arguments by name. */
int qry__expr_parse_named(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                          const char *const *names, size_t nnames, int notobj_code,
                          int unknown_code, int required_code, status_t *st)
{
    bson_t view;
    bson_iter_t it;
    const char *opname = node->op ? node->op->name : "expression";
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, notobj_code, "%s only supports an object as its argument", opname);
    qry__expr_args_alloc(node, nnames);
    qry__expr_view(arg, &view);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            size_t i;
            for (i = 0; i < nnames; i++) {
                const char *n = names[i][0] == '!' ? names[i] + 1 : names[i];
                if (strcmp(n, k) == 0)
                    break;
            }
            if (i == nnames)
                return status_set(st, unknown_code, "%s found an unknown argument: %s", opname, k);
            if (node->args[i] != NULL) {
                qry_expr_destroy(node->args[i]);
                node->args[i] = NULL;
            }
            ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[i], st));
        }
    }
    for (size_t i = 0; i < nnames; i++)
        if (names[i][0] == '!' && node->args[i] == NULL)
            return status_set(st, required_code, "%s requires '%s' to be specified", opname,
                              names[i] + 1);
    return 0;
}

static int parse_root(const bson_value_t *spec, qry_expr_scope_t *scope, bool as_object,
                      qry_expr_t **out, status_t *st)
{
    qry_expr_scope_t *own = NULL;
    qry__expr_parser_t p = {scope, 0};
    int ret;
    *out = NULL;
    if (scope == NULL)
        p.scope = own = qry_expr_scope_new();
    size_t mark = qry__expr_scope_mark(p.scope);
    if (as_object) {
        bson_t view;
        qry__expr_view(spec, &view);
        ret = parse_object_fields(&p, &view, out, st);
        if (ret == 0 && (ret = fold(*out, st)) != 0) {
            qry_expr_destroy(*out);
            *out = NULL;
        }
    } else {
        ret = parse_value(&p, spec, out, st);
    }
    qry__expr_scope_pop(p.scope, mark);
    qry_expr_scope_destroy(own);
    if (ret != 0)
        return ret;
    bson_value_copy(spec, &(*out)->spec);
    (*out)->spec_owned = true;
    return 0;
}

/* qry_expr_parse -- parse an expression. */
int qry_expr_parse(const bson_value_t *spec, qry_expr_scope_t *scope, qry_expr_t **out,
                   status_t *st)
{
    return parse_root(spec, scope, false, out, st);
}

/* qry_expr_parse_iter -- parse the value at an iterator. */
int qry_expr_parse_iter(const bson_iter_t *it, qry_expr_scope_t *scope, qry_expr_t **out,
                        status_t *st)
{
    return parse_root(bson_iter_value((bson_iter_t *)it), scope, false, out, st);
}

/* qry_expr_parse_object -- parse a document as an object expression. */
int qry_expr_parse_object(const bson_t *doc, qry_expr_scope_t *scope, qry_expr_t **out,
                          status_t *st)
{
    bson_value_t v;
    memset(&v, 0, sizeof(v));
    v.value_type = BSON_TYPE_DOCUMENT;
    v.value.v_doc.data = (uint8_t *)bson_get_data(doc);
    v.value.v_doc.data_len = doc->len;
    return parse_root(&v, scope, true, out, st);
}

/* qry_expr_constant -- the folded value, if any. */
const bson_value_t *qry_expr_constant(const qry_expr_t *e)
{
    return e->kind == QRY__EXPR_CONST ? &e->value : NULL;
}

/* qry_expr_field_path -- the path of a plain "$a.b". */
const char *qry_expr_field_path(const qry_expr_t *e)
{
    if (e->kind == QRY__EXPR_FIELD && (e->var == QRY__VAR_CURRENT || e->var == QRY__VAR_ROOT))
        return e->path;
    return NULL;
}

/* qry_expr_spec -- the parsed value. */
const bson_value_t *qry_expr_spec(const qry_expr_t *e)
{
    return e->spec_owned ? &e->spec : NULL;
}

/* ---- evaluation ------------------------------------------------------------- */

/* Walk path components over v with MongoDB's ExpressionFieldPath array rule. */
static void eval_path(qry_expr_ctx_t *cx, const bson_value_t *v, const char *path,
                      bson_value_t *out)
{
    memset(out, 0, sizeof(*out));
    if (*path == '\0') {
        *out = *v;
        return;
    }
    const char *dot = strchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    const char *rest = dot ? dot + 1 : "";
    bson_t view;
    bson_iter_t it;
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        qry__expr_view(v, &view);
        if (!bson_iter_init(&it, &view))
            return;
        while (bson_iter_next(&it)) {
            if (bson_iter_key_len(&it) == len && memcmp(bson_iter_key(&it), path, len) == 0) {
                eval_path(cx, bson_iter_value(&it), rest, out);
                return;
            }
        }
        return;
    }
    if (v->value_type == BSON_TYPE_ARRAY) {
        bson_t arr;
        uint32_t i = 0;
        bson_init(&arr);
        qry__expr_view(v, &view);
        if (bson_iter_init(&it, &view)) {
            while (bson_iter_next(&it)) {
                /* only documents: scalars and nested arrays are skipped (MongoDB) */
                if (bson_iter_type(&it) != BSON_TYPE_DOCUMENT)
                    continue;
                bson_value_t sub;
                eval_path(cx, bson_iter_value(&it), path, &sub);
                if (sub.value_type == BSON_TYPE_EOD)
                    continue;
                char kb[16];
                const char *key;
                size_t kl = bson_uint32_to_string(i++, &key, kb, sizeof(kb));
                bson_append_value(&arr, key, (int)kl, &sub);
            }
        }
        qry__expr_doc_finish(cx, &arr, true, out);
    }
}

static int eval_var(qry_expr_ctx_t *cx, int var, bson_value_t *out, status_t *st)
{
    memset(out, 0, sizeof(*out));
    switch (var) {
    case QRY__VAR_ROOT:
    case QRY__VAR_CURRENT:
        *out = cx->root_value;
        return 0;
    case QRY__VAR_REMOVE:
        return 0;
    case QRY__VAR_NOW:
        out->value_type = BSON_TYPE_DATE_TIME;
        out->value.v_datetime = cx->now_ms;
        return 0;
    case QRY__VAR_CLUSTER_TIME:
        if (!cx->has_cluster_time)
            return status_set(st, 51144, "Builtin variable '$$CLUSTER_TIME' is not available");
        out->value_type = BSON_TYPE_TIMESTAMP;
        out->value.v_timestamp.timestamp = cx->ct_t;
        out->value.v_timestamp.increment = cx->ct_i;
        return 0;
    default:
        if (var >= 0 && var < cx->nslots)
            *out = cx->slots[var].v;
        return 0;
    }
}

/* Fail once the arena holds more than QRY__EXPR_MAX_MEMORY (checked after every node). */
static int check_memory(qry_expr_ctx_t *cx, status_t *st)
{
    if (cx->arena_bytes <= QRY__EXPR_MAX_MEMORY)
        return 0;
    return status_set(st, ERR_ExceededMemoryLimit,
                      "expression evaluation used more than %u bytes of memory",
                      QRY__EXPR_MAX_MEMORY);
}

/* qry__expr_eval -- evaluate one node. */
int qry__expr_eval(qry_expr_ctx_t *cx, const qry_expr_t *e, bson_value_t *out, status_t *st)
{
    int ret = 0;
    memset(out, 0, sizeof(*out));
    if (e == NULL)
        return 0;
    switch (e->kind) {
    case QRY__EXPR_CONST:
        *out = e->value;
        return 0;
    case QRY__EXPR_VAR:
        return eval_var(cx, e->var, out, st);
    case QRY__EXPR_FIELD: {
        bson_value_t base;
        ST_RET(eval_var(cx, e->var, &base, st));
        eval_path(cx, &base, e->path, out);
        return check_memory(cx, st);
    }
    case QRY__EXPR_OBJECT: {
        bson_t b;
        bson_init(&b);
        for (size_t i = 0; i < e->nargs; i++) {
            bson_value_t v;
            if ((ret = qry__expr_eval(cx, e->args[i], &v, st)) != 0) {
                bson_destroy(&b);
                return ret;
            }
            if (!qry_expr_append(&b, e->names[i], -1, &v)) {
                bson_destroy(&b);
                return status_set(st, ERR_BSONObjectTooLarge, "object expression result too large");
            }
        }
        qry__expr_doc_finish(cx, &b, false, out);
        return check_memory(cx, st);
    }
    case QRY__EXPR_ARRAY: {
        bson_t b;
        bson_init(&b);
        for (size_t i = 0; i < e->nargs; i++) {
            bson_value_t v;
            char kb[16];
            const char *key;
            if ((ret = qry__expr_eval(cx, e->args[i], &v, st)) != 0) {
                bson_destroy(&b);
                return ret;
            }
            size_t kl = bson_uint32_to_string((uint32_t)i, &key, kb, sizeof(kb));
            if (v.value_type == BSON_TYPE_EOD)
                qry__expr_set_null(&v);
            if (!bson_append_value(&b, key, (int)kl, &v)) {
                bson_destroy(&b);
                return status_set(st, ERR_BSONObjectTooLarge, "array expression result too large");
            }
        }
        qry__expr_doc_finish(cx, &b, true, out);
        return check_memory(cx, st);
    }
    case QRY__EXPR_OP:
        if (++cx->depth > 4 * QRY__EXPR_MAX_DEPTH) {
            cx->depth--;
            return status_set(st, ERR_BadValue, "expression evaluation nested too deeply");
        }
        ret = e->op->eval(cx, e, out, st);
        cx->depth--;
        if (ret == 0)
            ret = check_memory(cx, st);
        if (ret != 0)
            memset(out, 0, sizeof(*out));
        return ret;
    }
    return status_set(st, ERR_InternalError, "bad expression node");
}

/* qry_expr_eval -- evaluate against doc. */
int qry_expr_eval(const qry_expr_t *e, qry_expr_ctx_t *cx, const bson_t *doc, bson_value_t *out,
                  status_t *st)
{
    static const uint8_t empty[5] = {5, 0, 0, 0, 0};
    const bson_t *saved_root = cx->root;
    bson_value_t saved_value = cx->root_value;
    memset(&cx->root_value, 0, sizeof(cx->root_value));
    cx->root = doc;
    cx->root_value.value_type = BSON_TYPE_DOCUMENT;
    cx->root_value.value.v_doc.data = doc ? (uint8_t *)bson_get_data(doc) : (uint8_t *)empty;
    cx->root_value.value.v_doc.data_len = doc ? doc->len : 5;
    int ret = qry__expr_eval(cx, e, out, st);
    cx->root = saved_root;
    cx->root_value = saved_value;
    return ret;
}

/* qry_expr_eval_bool -- evaluate and coerce to bool. */
int qry_expr_eval_bool(const qry_expr_t *e, qry_expr_ctx_t *cx, const bson_t *doc, bool *out,
                       status_t *st)
{
    bson_value_t v;
    *out = false;
    ST_RET(qry_expr_eval(e, cx, doc, &v, st));
    *out = qry_expr_truthy(&v);
    return 0;
}

/* ---- constant folding -------------------------------------------------------- */

static bool is_const(const qry_expr_t *e)
{
    return e == NULL || e->kind == QRY__EXPR_CONST;
}

/*
 * Fold a node whose children are all constants into a constant. Operators
 * that bind variables hold VAR children and never qualify; $rand is marked
 * non-deterministic. An error while folding is the parse's error, as MongoDB's
 * optimize() evaluates constant sub-expressions at parse time
 * ({$expr: {$anyElementTrue: undefined}} fails with 17041 even on an empty
 * collection).
 */
static int fold(qry_expr_t *e, status_t *st)
{
    if (e->kind == QRY__EXPR_CONST || e->kind == QRY__EXPR_FIELD || e->kind == QRY__EXPR_VAR)
        return 0;
    if (e->kind == QRY__EXPR_OP &&
        (e->op->flags & (QRY__EXPR_OP_NONDETERMINISTIC | QRY__EXPR_OP_NOFOLD)))
        return 0;
    if (e->kind == QRY__EXPR_OP && e->slots[0] >= 0)
        return 0;
    for (size_t i = 0; i < e->nargs; i++)
        if (!is_const(e->args[i]))
            return 0;
    qry_expr_ctx_t *cx = qry_expr_ctx_new();
    bson_value_t v;
    int ret = qry_expr_eval(e, cx, NULL, &v, st);
    if (ret == 0 && v.value_type != BSON_TYPE_EOD) {
        bson_value_t copy;
        bson_value_copy(&v, &copy);
        for (size_t i = 0; i < e->nargs; i++) {
            qry_expr_destroy(e->args[i]);
            if (e->names)
                free(e->names[i]);
        }
        free(e->args);
        free(e->names);
        if (e->data != NULL && e->op != NULL && e->op->free_data != NULL)
            e->op->free_data(e->data);
        e->args = NULL;
        e->names = NULL;
        e->data = NULL;
        e->nargs = 0;
        e->op = NULL;
        e->kind = QRY__EXPR_CONST;
        e->value = copy;
    }
    qry_expr_ctx_destroy(cx);
    return ret;
}

/* ---- dependencies ----------------------------------------------------------- */

/* qry_expr_deps_init -- empty set. */
void qry_expr_deps_init(qry_expr_deps_t *d)
{
    memset(d, 0, sizeof(*d));
}

/* qry_expr_deps_destroy -- free paths. */
void qry_expr_deps_destroy(qry_expr_deps_t *d)
{
    for (size_t i = 0; i < d->npaths; i++)
        free(d->paths[i]);
    free(d->paths);
    qry_expr_deps_init(d);
}

static void deps_add_path(qry_expr_deps_t *d, const char *path)
{
    for (size_t i = 0; i < d->npaths; i++)
        if (strcmp(d->paths[i], path) == 0)
            return;
    if (d->npaths == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->paths = realloc(d->paths, d->cap * sizeof(char *));
        INVARIANT(d->paths != NULL);
    }
    d->paths[d->npaths] = strdup(path);
    INVARIANT(d->paths[d->npaths] != NULL);
    d->npaths++;
}

/* qry_expr_deps_add -- what e reads. */
void qry_expr_deps_add(const qry_expr_t *e, qry_expr_deps_t *d)
{
    if (e == NULL)
        return;
    switch (e->kind) {
    case QRY__EXPR_CONST:
        return;
    case QRY__EXPR_FIELD:
    case QRY__EXPR_VAR:
        if (e->var == QRY__VAR_ROOT || e->var == QRY__VAR_CURRENT) {
            if (e->kind == QRY__EXPR_FIELD)
                deps_add_path(d, e->path);
            else
                d->whole_doc = true;
        } else if (e->var == QRY__VAR_NOW || e->var == QRY__VAR_CLUSTER_TIME) {
            d->uses_now = true;
        }
        return;
    case QRY__EXPR_OP:
        if (e->op->flags & QRY__EXPR_OP_NONDETERMINISTIC)
            d->uses_now = true;
        /* fall through */
    case QRY__EXPR_OBJECT:
    case QRY__EXPR_ARRAY:
        for (size_t i = 0; i < e->nargs; i++)
            qry_expr_deps_add(e->args[i], d);
        return;
    }
}

/* ---- $let and $literal --------------------------------------------------------- */

/* $let: args[0] = in, args[1..] = vars; data = int slots[nargs - 1]. */
static int parse_let(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg, status_t *st)
{
    bson_t view, vars;
    bson_iter_t it;
    bson_value_t vars_s, in_s; /* copies: bson_iter_value points into the iterator */
    const bson_value_t *vars_v = NULL, *in_v = NULL;
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 16874, "$let only supports an object as its argument");
    qry__expr_view(arg, &view);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            if (strcmp(bson_iter_key(&it), "vars") == 0) {
                vars_s = *bson_iter_value(&it);
                vars_v = &vars_s;
            } else if (strcmp(bson_iter_key(&it), "in") == 0) {
                in_s = *bson_iter_value(&it);
                in_v = &in_s;
            } else
                return status_set(st, 16875, "Unrecognized parameter to $let: %s",
                                  bson_iter_key(&it));
        }
    }
    if (vars_v == NULL)
        return status_set(st, 16876, "Missing 'vars' parameter to $let");
    if (in_v == NULL)
        return status_set(st, 16877, "Missing 'in' parameter to $let");
    if (vars_v->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 10065, "invalid parameter: expected an object (vars)");
    qry__expr_view(vars_v, &vars);
    size_t n = bson_count_keys(&vars);
    qry__expr_args_alloc(node, n + 1);
    int *slots = calloc(n ? n : 1, sizeof(int));
    INVARIANT(slots != NULL);
    node->data = slots;
    node->slots[0] = 0; /* binds variables: never folded */
    size_t i = 0;
    /* The vars' expressions see the outer scope only. */
    if (bson_iter_init(&it, &vars))
        while (bson_iter_next(&it) && i < n)
            ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[1 + i++], st));
    size_t mark = qry__expr_scope_mark(p->scope);
    i = 0;
    int ret = 0;
    if (bson_iter_init(&it, &vars))
        while (ret == 0 && bson_iter_next(&it) && i < n)
            ret = qry__expr_define_var(p, bson_iter_key(&it), &slots[i++], st);
    if (ret == 0)
        ret = qry__expr_parse_sub(p, in_v, &node->args[0], st);
    qry__expr_scope_pop(p->scope, mark);
    return ret;
}

static int eval_let(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    const int *slots = node->data;
    size_t n = node->nargs - 1;
    bson_value_t *vals = qry__expr_alloc(cx, (n ? n : 1) * sizeof(bson_value_t));
    for (size_t i = 0; i < n; i++)
        ST_RET(qry__expr_eval(cx, node->args[1 + i], &vals[i], st));
    for (size_t i = 0; i < n; i++)
        qry__expr_set_var(cx, slots[i], &vals[i]);
    return qry__expr_eval(cx, node->args[0], out, st);
}

static int parse_literal(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                         status_t *st)
{
    /* Becomes a constant right away: the op row is only the parser's entry point. */
    node->kind = QRY__EXPR_CONST;
    node->op = NULL;
    bson_value_copy(arg, &node->value);
    return 0;
}

static int eval_unreachable(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out,
                            status_t *st)
{
    return status_set(st, ERR_InternalError, "%s evaluated as an operator", node->op->name);
}

static const qry__expr_op_t core_ops[] = {
    {"$let", 0, 0, parse_let, eval_let, free, 0},
    {"$literal", 0, 0, parse_literal, eval_unreachable, NULL, 0},
    {"$const", 0, 0, parse_literal, eval_unreachable, NULL, 0}, /* $literal's old name */
};

const qry__expr_table_t qry__expr_core_table = {core_ops, sizeof(core_ops) / sizeof(core_ops[0])};

/* ---- $expr hooks for match ------------------------------------------------------- */

static int hook_parse(void *arg, const bson_value_t *expr, void **compiled, status_t *st)
{
    qry_expr_ctx_t *cx = arg;
    qry_expr_t *e = NULL;
    ST_RET(qry_expr_parse(expr, cx ? cx->scope : NULL, &e, st));
    *compiled = e;
    return 0;
}

static int hook_eval(void *arg, const void *compiled, const bson_t *doc, bool *result, status_t *st)
{
    qry_expr_ctx_t *cx = arg;
    int ret;
    if (cx != NULL) {
        uint64_t mark = qry_expr_ctx_mark(cx);
        ret = qry_expr_eval_bool(compiled, cx, doc, result, st);
        qry_expr_ctx_release(cx, mark);
    } else {
        cx = qry_expr_ctx_new();
        ret = qry_expr_eval_bool(compiled, cx, doc, result, st);
        qry_expr_ctx_destroy(cx);
    }
    return ret;
}

static void hook_destroy(void *arg, void *compiled)
{
    qry_expr_destroy(compiled);
}

/* qry_expr_ctx_set_scope -- the scope $expr parses see. */
void qry_expr_ctx_set_scope(qry_expr_ctx_t *cx, qry_expr_scope_t *scope)
{
    cx->scope = scope;
}

/* qry_expr_match_hooks -- hooks that compile $expr with this framework. */
qry_match_hooks_t qry_expr_match_hooks(qry_expr_ctx_t *ctx)
{
    qry_match_hooks_t h = {hook_parse, hook_eval, hook_destroy, ctx};
    return h;
}
