/*
 * expr_logic.c -- comparison ($cmp $eq $ne $gt $gte $lt $lte), boolean
 * ($and $or $not) and conditional ($cond $ifNull $switch) operators.
 *
 * Comparison is common/'s canonical BSON order over whole values, across
 * types (a string is greater than any number); missing compares equal to
 * undefined and below null, as MongoDB's Value comparison does. Boolean
 * operators use MongoDB's truthiness (qry_expr_truthy) and short-circuit.
 */
#include "query/expr_int.h"

#include <string.h>

/* Which comparison an op row means: node->op->name decides, kept in a small table. */
static int cmp_args(qry_expr_ctx_t *cx, const qry_expr_t *node, int *c, status_t *st)
{
    bson_value_t a, b;
    ST_RET(qry__expr_eval(cx, node->args[0], &a, st));
    ST_RET(qry__expr_eval(cx, node->args[1], &b, st));
    *c = bsonu_compare_value(&a, &b);
    return 0;
}

static int eval_cmp(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    int c;
    ST_RET(cmp_args(cx, node, &c, st));
    qry__expr_set_int(out, c < 0 ? -1 : c > 0 ? 1 : 0);
    return 0;
}

#define CMP_OP(fn, test)                                                                           \
    static int fn(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)     \
    {                                                                                              \
        int c;                                                                                     \
        ST_RET(cmp_args(cx, node, &c, st));                                                        \
        qry__expr_set_bool(out, test);                                                             \
        return 0;                                                                                  \
    }
CMP_OP(eval_eq, c == 0)
CMP_OP(eval_ne, c != 0)
CMP_OP(eval_gt, c > 0)
CMP_OP(eval_gte, c >= 0)
CMP_OP(eval_lt, c < 0)
CMP_OP(eval_lte, c <= 0)

static int eval_and(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    for (size_t i = 0; i < node->nargs; i++) {
        bson_value_t v;
        ST_RET(qry__expr_eval(cx, node->args[i], &v, st));
        if (!qry_expr_truthy(&v)) {
            qry__expr_set_bool(out, false);
            return 0;
        }
    }
    qry__expr_set_bool(out, true);
    return 0;
}

static int eval_or(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    for (size_t i = 0; i < node->nargs; i++) {
        bson_value_t v;
        ST_RET(qry__expr_eval(cx, node->args[i], &v, st));
        if (qry_expr_truthy(&v)) {
            qry__expr_set_bool(out, true);
            return 0;
        }
    }
    qry__expr_set_bool(out, false);
    return 0;
}

static int eval_not(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t v;
    ST_RET(qry__expr_eval(cx, node->args[0], &v, st));
    qry__expr_set_bool(out, !qry_expr_truthy(&v));
    return 0;
}

/* $cond: [if, then, else] or {if, then, else}; args in that order. */
static int parse_cond(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                      status_t *st)
{
    static const char *const names[] = {"if", "then", "else"};
    if (arg->value_type == BSON_TYPE_DOCUMENT) {
        bson_t view;
        bson_iter_t it;
        qry__expr_view(arg, &view);
        qry__expr_args_alloc(node, 3);
        if (bson_iter_init(&it, &view)) {
            while (bson_iter_next(&it)) {
                const char *k = bson_iter_key(&it);
                size_t i;
                for (i = 0; i < 3 && strcmp(k, names[i]) != 0; i++)
                    ;
                if (i == 3)
                    return status_set(st, 17083, "Unrecognized parameter to $cond: %s", k);
                qry_expr_destroy(node->args[i]);
                node->args[i] = NULL;
                ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[i], st));
            }
        }
        for (size_t i = 0; i < 3; i++)
            if (node->args[i] == NULL)
                return status_set(st, 17080 + (int)i, "Missing '%s' parameter to $cond", names[i]);
        return 0;
    }
    bson_t view;
    bson_iter_t it;
    size_t n = 1;
    if (arg->value_type == BSON_TYPE_ARRAY) {
        qry__expr_view(arg, &view);
        n = bson_count_keys(&view);
    }
    if (n != 3)
        return status_set(st, 16020,
                          "Expression $cond takes exactly 3 arguments. %zu were passed in.", n);
    qry__expr_args_alloc(node, 3);
    size_t i = 0;
    if (bson_iter_init(&it, &view))
        while (bson_iter_next(&it) && i < 3)
            ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[i++], st));
    return 0;
}

static int eval_cond(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    bson_value_t c;
    ST_RET(qry__expr_eval(cx, node->args[0], &c, st));
    return qry__expr_eval(cx, node->args[qry_expr_truthy(&c) ? 1 : 2], out, st);
}

static int parse_ifnull(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                        status_t *st)
{
    bson_t view;
    bson_iter_t it;
    size_t n = 1;
    if (arg->value_type == BSON_TYPE_ARRAY) {
        qry__expr_view(arg, &view);
        n = bson_count_keys(&view);
    }
    if (n < 2)
        return status_set(st, 1257300, "$ifNull needs at least two arguments, had: %zu", n);
    qry__expr_args_alloc(node, n);
    size_t i = 0;
    if (bson_iter_init(&it, &view))
        while (bson_iter_next(&it) && i < n)
            ST_RET(qry__expr_parse_sub(p, bson_iter_value(&it), &node->args[i++], st));
    return 0;
}

static int eval_ifnull(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    for (size_t i = 0; i + 1 < node->nargs; i++) {
        ST_RET(qry__expr_eval(cx, node->args[i], out, st));
        if (!qry__expr_is_nullish(out))
            return 0;
    }
    return qry__expr_eval(cx, node->args[node->nargs - 1], out, st);
}

/* $switch: args = case0, then0, case1, then1, ..., default (NULL if none). */
static int parse_switch(qry__expr_parser_t *p, qry_expr_t *node, const bson_value_t *arg,
                        status_t *st)
{
    bson_t view, branches;
    bson_iter_t it, bit;
    bson_value_t branches_s, default_s; /* copies: bson_iter_value points into the iterator */
    const bson_value_t *branches_v = NULL, *default_v = NULL;
    if (arg->value_type != BSON_TYPE_DOCUMENT)
        return status_set(st, 40060, "$switch requires an object as an argument, found: %s",
                          qry__expr_type_name(arg));
    qry__expr_view(arg, &view);
    if (bson_iter_init(&it, &view)) {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "branches") == 0) {
                branches_s = *bson_iter_value(&it);
                branches_v = &branches_s;
            } else if (strcmp(k, "default") == 0) {
                default_s = *bson_iter_value(&it);
                default_v = &default_s;
            } else
                return status_set(st, 40067, "$switch found an unknown argument: %s", k);
        }
    }
    size_t nb = 0;
    if (branches_v != NULL) {
        if (branches_v->value_type != BSON_TYPE_ARRAY)
            return status_set(st, 40061, "$switch expected an array for 'branches', found: %s",
                              qry__expr_type_name(branches_v));
        qry__expr_view(branches_v, &branches);
        nb = bson_count_keys(&branches);
    }
    if (nb == 0)
        return status_set(st, 40068, "$switch requires at least one branch");
    qry__expr_args_alloc(node, 2 * nb + 1);
    size_t i = 0;
    if (bson_iter_init(&bit, &branches)) {
        while (bson_iter_next(&bit) && i < nb) {
            const bson_value_t *b = bson_iter_value(&bit);
            bson_t bview;
            bson_iter_t kit;
            if (b->value_type != BSON_TYPE_DOCUMENT)
                return status_set(st, 40061,
                                  "$switch expected each branch to be an object, found: %s",
                                  qry__expr_type_name(b));
            qry__expr_view(b, &bview);
            if (bson_iter_init(&kit, &bview)) {
                while (bson_iter_next(&kit)) {
                    const char *k = bson_iter_key(&kit);
                    size_t slot;
                    if (strcmp(k, "case") == 0)
                        slot = 2 * i;
                    else if (strcmp(k, "then") == 0)
                        slot = 2 * i + 1;
                    else
                        return status_set(st, 40063,
                                          "$switch found an unknown argument to a branch: %s", k);
                    qry_expr_destroy(node->args[slot]);
                    node->args[slot] = NULL;
                    ST_RET(qry__expr_parse_sub(p, bson_iter_value(&kit), &node->args[slot], st));
                }
            }
            if (node->args[2 * i] == NULL)
                return status_set(st, 40064,
                                  "$switch requires each branch have a 'case' expression");
            if (node->args[2 * i + 1] == NULL)
                return status_set(st, 40065,
                                  "$switch requires each branch have a 'then' expression.");
            i++;
        }
    }
    if (default_v != NULL)
        ST_RET(qry__expr_parse_sub(p, default_v, &node->args[2 * nb], st));
    return 0;
}

static int eval_switch(qry_expr_ctx_t *cx, const qry_expr_t *node, bson_value_t *out, status_t *st)
{
    size_t nb = node->nargs / 2;
    for (size_t i = 0; i < nb; i++) {
        bson_value_t c;
        ST_RET(qry__expr_eval(cx, node->args[2 * i], &c, st));
        if (qry_expr_truthy(&c))
            return qry__expr_eval(cx, node->args[2 * i + 1], out, st);
    }
    if (node->args[2 * nb] == NULL)
        return status_set(st, 40066,
                          "$switch could not find a matching branch for an input, and "
                          "no default was specified.");
    return qry__expr_eval(cx, node->args[2 * nb], out, st);
}

static const qry__expr_op_t cmp_ops[] = {
    {"$cmp", 2, 2, NULL, eval_cmp, NULL, 0},
    {"$eq", 2, 2, NULL, eval_eq, NULL, 0},
    {"$ne", 2, 2, NULL, eval_ne, NULL, 0},
    {"$gt", 2, 2, NULL, eval_gt, NULL, 0},
    {"$gte", 2, 2, NULL, eval_gte, NULL, 0},
    {"$lt", 2, 2, NULL, eval_lt, NULL, 0},
    {"$lte", 2, 2, NULL, eval_lte, NULL, 0},
    {"$and", 0, QRY__EXPR_ARGS_ANY, NULL, eval_and, NULL, 0},
    {"$or", 0, QRY__EXPR_ARGS_ANY, NULL, eval_or, NULL, 0},
    {"$not", 1, 1, NULL, eval_not, NULL, 0},
    {"$cond", 0, 0, parse_cond, eval_cond, NULL, 0},
    {"$ifNull", 0, 0, parse_ifnull, eval_ifnull, NULL, 0},
    {"$switch", 0, 0, parse_switch, eval_switch, NULL, 0},
};

const qry__expr_table_t qry__expr_cmp_table = {cmp_ops, sizeof(cmp_ops) / sizeof(cmp_ops[0])};
