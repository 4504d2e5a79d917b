/*
 * index_wildcard.c -- the rules of wildcard index specifications
 * ({"$**": 1}, {"a.$**": 1}, wildcardProjection), as MongoDB's
 * index_key_validate and index catalog check them, with its codes:
 *
 *   - a wildcard field is the only field: compound wildcard indexes (7.0)
 *     are not built by Mica (CannotCreateIndex, MongoDB 6.0's answer);
 *   - wildcardProjection on a non-wildcard index: BadValue; not an object:
 *     TypeMismatch; with "a.$**" or empty: FailedToParse; a projection
 *     MongoDB's parser refuses: its code, "Failed to parse projection";
 *   - sparse, unique, expireAfterSeconds: CannotCreateIndex.
 *
 * The keys themselves come from common/bson_wildcard.c (storage calls it).
 */
#include "mongod/micad.h"

#include <string.h>

/* micad_index_wildcard_check_key -- see micad.h. */
int micad_index_wildcard_check_key(const bson_t *key, status_t *st)
{
    bson_iter_t it;
    if (!bsonu_is_wildcard_pattern(key))
        return 0;
    if (bson_count_keys(key) != 1)
        return status_set(st, ERR_CannotCreateIndex,
                          "wildcard indexes do not allow compounding (compound wildcard indexes "
                          "are not implemented in Mica)");
    if (bson_iter_init(&it, key) && bson_iter_next(&it) && bsonu_is_number(bson_iter_type(&it)) &&
        bson_iter_as_double(&it) == 0)
        return status_set(st, ERR_CannotCreateIndex,
                          "Values in the index key pattern cannot be 0.");
    return 0;
}

/* micad_index_wildcard_check_spec -- see micad.h. */
int micad_index_wildcard_check_spec(const bson_t *spec, const bson_t *key, status_t *st)
{
    bson_iter_t it;
    bool wildcard = bsonu_is_wildcard_pattern(key);
    if (bson_iter_init_find(&it, spec, "wildcardProjection")) {
        if (!wildcard)
            return status_set(st, ERR_BadValue,
                              "The field 'wildcardProjection' is only allowed in 'wildcard' "
                              "indexes");
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return status_set(st, ERR_TypeMismatch,
                              "The field 'wildcardProjection' must be a non-empty object, but got "
                              "%s",
                              bsonu_type_name(bson_iter_type(&it)));
        bson_iter_t k;
        if (!bson_iter_init_find(&k, key, "$**"))
            return status_set(st, ERR_FailedToParse,
                              "The field 'wildcardProjection' is only allowed when 'key' is "
                              "{\"$**\": ±1} or {\"$**\": \"columnstore\"}");
        uint32_t len;
        const uint8_t *data;
        bson_t proj;
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&proj, data, len))
            return status_set(st, ERR_InvalidBSON, "invalid wildcardProjection");
        if (bson_empty(&proj))
            return status_set(st, ERR_FailedToParse,
                              "The 'wildcardProjection' field can't be an empty object");
        bsonu_wc_proj_t p;
        status_t pst = STATUS_INIT;
        if (bsonu_wc_proj_parse(key, &proj, &p, &pst) != 0)
            return status_set(st, pst.code,
                              "Failed to parse projection: wildcardProjection :: caused by :: %s",
                              pst.msg);
        bsonu_wc_proj_destroy(&p);
    }
    if (!wildcard)
        return 0;
    if (bson_iter_init_find(&it, spec, "sparse") && bson_iter_as_bool(&it))
        return status_set(st, ERR_CannotCreateIndex,
                          "Index type 'wildcard' does not support the sparse option");
    if (bson_iter_init_find(&it, spec, "unique") && bson_iter_as_bool(&it))
        return status_set(st, ERR_CannotCreateIndex,
                          "Index type 'wildcard' does not support the unique option");
    if (bson_iter_init_find(&it, spec, "expireAfterSeconds"))
        return status_set(st, ERR_CannotCreateIndex, "Index type 'wildcard' cannot be a TTL index");
    return 0;
}
