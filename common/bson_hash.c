/*
 * bson_hash.c -- 64-bit hashes of BSON values consistent with
 * bsonu_compare_value equality, for $group, $addToSet, distinct and hash
 * joins. Equal values must hash equal, so every number hashes as its nearest
 * double (two equal values, of any types, round to the same double), strings
 * and symbols hash alike, and documents hash names and values in order
 * (field order matters for document equality, as in MongoDB).
 */
#include "common/common.h"

#include <math.h>
#include <string.h>

/* Deep values past this depth hash as their rank only (equality still holds). */
#define BSONU_HASH_MAX_DEPTH 256

/* mix64 -- splitmix64's finaliser: a cheap, well-spread 64-bit mix. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* hash_u64 -- fold one 64-bit word into h. */
static uint64_t hash_u64(uint64_t h, uint64_t v)
{
    return mix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

/* hash_bytes -- fold a byte string (and its length) into h. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t i = 0;

    h = hash_u64(h, len);
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = hash_u64(h, w);
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, p + i, len - i);
        h = hash_u64(h, w);
    }
    return h;
}

static uint64_t hash_value_depth(uint64_t h, const bson_value_t *v, int depth);

/* hash_doc_bytes -- fold a document (with names) or an array (values only) into h. */
static uint64_t hash_doc_bytes(uint64_t h, const uint8_t *data, uint32_t len, bool with_names,
                               int depth)
{
    bson_iter_t it;

    if (depth > BSONU_HASH_MAX_DEPTH || !bson_iter_init_from_data(&it, data, len))
        return h;
    while (bson_iter_next(&it)) {
        if (with_names) {
            const char *k = bson_iter_key(&it);
            h = hash_bytes(h, k, strlen(k));
        }
        h = hash_value_depth(h, bson_iter_value(&it), depth + 1);
    }
    return hash_u64(h, 0xe0d);
}

/* hash_value_depth -- fold a value (its rank, then its contents) into h. */
static uint64_t hash_value_depth(uint64_t h, const bson_value_t *v, int depth)
{
    int rank = bsonu_canonical_type(v->value_type);
    double d;

    h = hash_u64(h, (uint64_t)(int64_t)rank);
    switch (rank) {
    case BSONU_CANON_NUMBER:
        bsonu_number_as_double(v, &d);
        if (isnan(d))
            return hash_u64(h, 0x7ff8000000000000ULL);
        if (d == 0)
            d = 0.0; /* -0 == 0 */
        {
            uint64_t bits;
            memcpy(&bits, &d, 8);
            return hash_u64(h, bits);
        }
    case BSONU_CANON_STRING:
        if (v->value_type == BSON_TYPE_UTF8)
            return hash_bytes(h, v->value.v_utf8.str, v->value.v_utf8.len);
        return hash_bytes(h, v->value.v_symbol.symbol, v->value.v_symbol.len);
    case BSONU_CANON_OBJECT:
        return hash_doc_bytes(h, v->value.v_doc.data, v->value.v_doc.data_len, true, depth);
    case BSONU_CANON_ARRAY:
        return hash_doc_bytes(h, v->value.v_doc.data, v->value.v_doc.data_len, false, depth);
    case BSONU_CANON_BINARY:
        h = hash_u64(h, v->value.v_binary.subtype);
        return hash_bytes(h, v->value.v_binary.data, v->value.v_binary.data_len);
    case BSONU_CANON_OID:
        return hash_bytes(h, v->value.v_oid.bytes, 12);
    case BSONU_CANON_BOOL:
        return hash_u64(h, v->value.v_bool ? 1 : 0);
    case BSONU_CANON_DATE:
        return hash_u64(h, (uint64_t)v->value.v_datetime);
    case BSONU_CANON_TIMESTAMP:
        return hash_u64(h, ((uint64_t)v->value.v_timestamp.timestamp << 32) |
                               v->value.v_timestamp.increment);
    case BSONU_CANON_REGEX:
        h = hash_bytes(h, v->value.v_regex.regex, strlen(v->value.v_regex.regex));
        return hash_bytes(h, v->value.v_regex.options, strlen(v->value.v_regex.options));
    case BSONU_CANON_DBPOINTER:
        h = hash_bytes(h, v->value.v_dbpointer.collection, v->value.v_dbpointer.collection_len);
        return hash_bytes(h, v->value.v_dbpointer.oid.bytes, 12);
    case BSONU_CANON_CODE:
        return hash_bytes(h, v->value.v_code.code, v->value.v_code.code_len);
    case BSONU_CANON_CODEWSCOPE:
        h = hash_bytes(h, v->value.v_codewscope.code, v->value.v_codewscope.code_len);
        return hash_doc_bytes(h, v->value.v_codewscope.scope_data, v->value.v_codewscope.scope_len,
                              true, depth);
    default:
        /* MinKey, MaxKey, null, undefined: the rank is the whole value. */
        return h;
    }
}

/* bsonu_hash_value -- 64-bit hash of a value, mixed with seed. */
uint64_t bsonu_hash_value(const bson_value_t *v, uint64_t seed)
{
    return hash_value_depth(mix64(seed), v, 0);
}

/* bsonu_hash_iter -- bsonu_hash_value of the value at an iterator. */
uint64_t bsonu_hash_iter(const bson_iter_t *it, uint64_t seed)
{
    return bsonu_hash_value(bson_iter_value((bson_iter_t *)it), seed);
}

/* bsonu_hash_doc -- hash of a whole document (field names and values, in order). */
uint64_t bsonu_hash_doc(const bson_t *doc, uint64_t seed)
{
    return hash_doc_bytes(mix64(seed), bson_get_data(doc), doc->len, true, 0);
}
