/*
 * fuzz_query_update.c -- libFuzzer target for the update parser and applier
 * (query/update*.c), plus projection and sort parsing.
 *
 * Input layout (validated as the wire layer does, UTF-8 included, which makes
 * libbson check every embedded document): one BSON document {u: <update>, f: <arrayFilters>, d:
 * <doc>, q: <query>} (each field optional). The update is parsed with the filters; on success it is
 * applied to d (or to a fixed document) with and without a positional match, and as an upsert from
 * q. The same bytes are also tried as a projection and a sort spec. Nothing may crash, leak or trip
 * UBSan, whatever the input.
 */
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_json[] =
    "{\"_id\": 1, \"a\": 1, \"b\": {\"c\": [1, 2, {\"d\": 3}]}, \"e\": [{\"f\": 1}, {\"f\": 2}],"
    " \"s\": \"x\", \"n\": null}";

static void sub(const bson_t *in, const char *key, bson_type_t type, bson_t *out, bool *has)
{
    bson_iter_t it;
    *has = false;
    if (bson_iter_init_find(&it, in, key) && bson_iter_type(&it) == type) {
        const uint8_t *d;
        uint32_t l;
        if (type == BSON_TYPE_ARRAY)
            bson_iter_array(&it, &l, &d);
        else
            bson_iter_document(&it, &l, &d);
        *has = bson_init_static(out, d, l);
    }
}

/*
 * well_formed -- every embedded document/array is a real document, as the
 * wire layer's own walk guarantees before anything reaches query/ (libbson's
 * bson_validate lets an embedded length below 5 through).
 */
static bool well_formed(const bson_t *b, int depth)
{
    bson_iter_t it;
    if (depth > 150 || !bson_iter_init(&it, b))
        return false;
    while (bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            const uint8_t *d;
            uint32_t l;
            bson_t sub;
            if (BSON_ITER_HOLDS_ARRAY(&it))
                bson_iter_array(&it, &l, &d);
            else
                bson_iter_document(&it, &l, &d);
            if (!d || !bson_init_static(&sub, d, l) || !well_formed(&sub, depth + 1))
                return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t in;
    if (!bson_init_static(&in, data, size) ||
        !bson_validate(&in, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL, NULL))
        return 0;
    if (!well_formed(&in, 0))
        return 0;

    bson_t upd, filters, doc, query;
    bool has_u, has_f, has_d, has_q;
    sub(&in, "u", BSON_TYPE_DOCUMENT, &upd, &has_u);
    sub(&in, "f", BSON_TYPE_ARRAY, &filters, &has_f);
    sub(&in, "d", BSON_TYPE_DOCUMENT, &doc, &has_d);
    sub(&in, "q", BSON_TYPE_DOCUMENT, &query, &has_q);
    if (has_d && !bson_validate(&doc, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL, NULL))
        has_d = false;

    bson_error_t err;
    bson_t *fixed = bson_new_from_json((const uint8_t *)fixed_json, -1, &err);
    status_t st = STATUS_INIT;

    if (has_u) {
        qry_update_t *u = NULL;
        if (qry_update_parse(&upd, has_f ? &filters : NULL, &u, &st) == 0) {
            for (int pos = -1; pos <= 1; pos++) {
                qry_update_ctx_t ctx = QRY_UPDATE_CTX_INIT;
                ctx.matched_index = pos;
                ctx.now_ms = 1;
                qry_update_result_t res;
                qry_update_apply(u, has_d ? &doc : fixed, &ctx, &res, &st);
                qry_update_result_destroy(&res);
            }
            if (has_q) {
                qry_update_result_t res;
                qry_update_upsert(u, &query, NULL, &res, &st);
                qry_update_result_destroy(&res);
            }
            qry_update_destroy(u);
        }

        qry_projection_t *p = NULL;
        if (qry_projection_parse(&upd, &p, &st) == 0) {
            bson_t out;
            qry_projection_ctx_t pctx = QRY_PROJECTION_CTX_INIT;
            pctx.matched_index = 0;
            qry_projection_apply(p, has_d ? &doc : fixed, &pctx, &out, &st);
            bson_destroy(&out);
            qry_projection_destroy(p);
        }

        qry_sort_t *s = NULL;
        if (qry_sort_parse(&upd, &s, &st) == 0) {
            qry_sort_compare(s, fixed, has_d ? &doc : fixed);
            qry_sort_destroy(s);
        }
    }
    bson_destroy(fixed);
    return 0;
}
