/*
 * clustered.c -- clustered collections ({create: "c", clusteredIndex: {key:
 * {_id: 1}, unique: true, name?}, expireAfterSeconds?}): the create options
 * checked as MongoDB 7.0 checks them (clustered_util::checkCreationOptions,
 * validateCollectionOptions, validateClusteredIndexSpec, with its codes), and
 * the way such a collection shows itself in listIndexes.
 *
 * How Mica stores one: a record store plus its unique _id index, as any
 * collection; the _id index is the cluster key. What makes it clustered is
 * what a user sees: every collection scan walks the _id index and fetches, so
 * documents come back in _id order (and in reverse for $natural: -1);
 * predicates on _id are answered by a bounded scan that explain shows as
 * CLUSTERED_IXSCAN (minRecord/maxRecord); the TTL monitor expires documents
 * by their _id date when the collection has expireAfterSeconds (ttl.c).
 * MongoDB keys the record store itself by the _id; Mica's RecordIds are
 * int64 throughout storage, the executor and the index entries, so it keeps
 * them and pays one _id index (docs/indexes.md#clustered-collections).
 */
#include "mongod/write.h"

#include <math.h>
#include <string.h>

/* check_spec -- the clusteredIndex document (MongoDB's ClusteredIndexSpec IDL + checks). */
static int check_spec(const bson_t *spec, bson_t *out, status_t *st)
{
    bson_iter_t it;
    bool has_key = false, has_unique = false, unique = false;
    const char *name = "_id_";
    int32_t v = 2;
    bson_t key;
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "key") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return micad_db_type_error(&it, "ClusteredIndexSpec", "object", st);
            ST_RET(micad_db_arg_doc(&it, "ClusteredIndexSpec", &key, st));
            has_key = true;
        } else if (strcmp(k, "unique") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it))
                return micad_db_type_error(&it, "ClusteredIndexSpec", "bool", st);
            unique = bson_iter_bool(&it);
            has_unique = true;
        } else if (strcmp(k, "name") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return micad_db_type_error(&it, "ClusteredIndexSpec", "string", st);
            name = bson_iter_utf8(&it, NULL);
        } else if (strcmp(k, "v") == 0) {
            if (!bsonu_is_number(bson_iter_type(&it)))
                return micad_db_type_error(&it, "ClusteredIndexSpec", "int", st);
            v = (int32_t)bson_iter_as_int64(&it);
        } else {
            return micad_db_unknown_field("ClusteredIndexSpec", k, st);
        }
    }
    if (!has_key)
        return status_set(st, 40414,
                          "BSON field 'ClusteredIndexSpec.key' is missing but a required field");
    if (!has_unique)
        return status_set(st, 40414,
                          "BSON field 'ClusteredIndexSpec.unique' is missing but a required field");
    if (!unique)
        return status_set(st, 5979700,
                          "The clusteredIndex option requires unique: true to be specified");
    bson_iter_t k;
    double d = 0;
    if (!bson_iter_init(&k, &key) || !bson_iter_next(&k) || strcmp(bson_iter_key(&k), "_id") != 0 ||
        !bsonu_number_as_double(bson_iter_value(&k), &d) || d != 1.0 || bson_iter_next(&k))
        return status_set(st, ERR_InvalidIndexSpecificationOption,
                          "The clusteredIndex option is only supported for key: {_id: 1}");
    if (v != 2) {
        char *js = bson_as_relaxed_extended_json(spec, NULL);
        status_set(st, 5979704,
                   "Invalid clusteredIndex specification %s; cannot create a clusteredIndex with "
                   "v=%d",
                   js ? js : "", v);
        bson_free(js);
        return st->code;
    }
    /* the canonical form MongoDB stores and lists */
    bson_init(out);
    BSON_APPEND_INT32(out, "v", 2);
    BSON_APPEND_DOCUMENT(out, "key", &key);
    BSON_APPEND_UTF8(out, "name", name);
    BSON_APPEND_BOOL(out, "unique", true);
    return 0;
}

/* micad_clustered_create_options -- see write.h. */
int micad_clustered_create_options(const bson_t *cmd, bson_t *opts, status_t *st)
{
    bson_iter_t ci, ex, it;
    bool has_ci = bson_iter_init_find(&ci, cmd, "clusteredIndex");
    bool has_ex = bson_iter_init_find(&ex, cmd, "expireAfterSeconds");
    bool clustered = false;
    if (has_ci) {
        if (!BSON_ITER_HOLDS_BOOL(&ci) && !BSON_ITER_HOLDS_DOCUMENT(&ci))
            return status_set(st, 5979702, "'clusteredIndex' has to be a boolean or object.");
        if (BSON_ITER_HOLDS_BOOL(&ci) && bson_iter_bool(&ci))
            return status_set(st, 5979703,
                              "The 'clusteredIndex' legacy format {clusteredIndex: <bool>} is only "
                              "supported for specific internal collections and vice versa");
        clustered = BSON_ITER_HOLDS_DOCUMENT(&ci);
    }
    if (has_ex && !clustered)
        return status_set(st, ERR_InvalidOptions,
                          "'expireAfterSeconds' can be used only for clustered collections or "
                          "timeseries collections");
    if (!clustered)
        return 0;
    /* clustered_util::checkCreationOptions */
    if (bson_iter_init_find(&it, cmd, "size"))
        return status_set(st, 6049200,
                          "'size' field for capped collections is not allowed on clustered "
                          "collections. Did you mean 'capped: true' with 'expireAfterSeconds'?");
    if (bson_iter_init_find(&it, cmd, "max"))
        return status_set(st, 6049204,
                          "'max' field for capped collections is not allowed on clustered "
                          "collections. Did you mean 'capped: true' with 'expireAfterSeconds'?");
    if (bson_iter_init_find(&it, cmd, "capped") && bson_iter_as_bool(&it)) {
        if (!opts_param(OPTS_PARAM_enableTestCommands))
            return status_set(st, 6127800,
                              "Clustered capped collection only available with "
                              "'enableTestCommands' server parameter");
        if (!has_ex)
            return status_set(st, 6049201,
                              "A capped clustered collection requires the 'expireAfterSeconds' "
                              "field");
        return status_set(st, ERR_NotImplemented,
                          "capped clustered collections are not implemented in Mica");
    }
    /* validateCollectionOptions */
    if (bson_iter_init_find(&it, cmd, "idIndex") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_t idx;
        if (micad_db_arg_doc(&it, "create", &idx, st) == 0 && !bson_empty(&idx))
            return status_set(st, ERR_InvalidOptions,
                              "The 'clusteredIndex' option is not supported with the 'idIndex' "
                              "option");
        status_reset(st);
    }
    if (bson_iter_init_find(&it, cmd, "autoIndexId") && !bson_iter_as_bool(&it))
        return status_set(st, 6026501,
                          "The 'clusteredIndex' option does not support {autoIndexId: false}");
    bson_t spec, canon;
    ST_RET(micad_db_arg_doc(&ci, "create", &spec, st));
    ST_RET(check_spec(&spec, &canon, st));
    BSON_APPEND_DOCUMENT(opts, "clusteredIndex", &canon);
    bson_destroy(&canon);
    if (has_ex) {
        if (!bsonu_is_number(bson_iter_type(&ex)))
            return micad_db_type_error(&ex, "create", "long", st);
        double d = bson_iter_as_double(&ex);
        if (isnan(d) || d < 0)
            return status_set(st, ERR_InvalidOptions,
                              "TTL index 'expireAfterSeconds' option must be within an acceptable "
                              "range, try a lower number");
        if (d > 2147483647.0)
            return status_set(st, ERR_InvalidOptions,
                              "TTL index 'expireAfterSeconds' option must be within an acceptable "
                              "range, try a lower number");
        BSON_APPEND_INT64(opts, "expireAfterSeconds", (int64_t)d);
    }
    return 0;
}

/* micad_clustered_spec -- see write.h. */
bool micad_clustered_spec(const bson_t *coll_options, bson_t *spec)
{
    bson_iter_t it;
    uint32_t len;
    const uint8_t *data;
    if (coll_options == NULL || !bson_iter_init_find(&it, coll_options, "clusteredIndex") ||
        !BSON_ITER_HOLDS_DOCUMENT(&it))
        return false;
    if (spec != NULL) {
        bson_iter_document(&it, &len, &data);
        return bson_init_static(spec, data, len);
    }
    return true;
}

/* micad_clustered_expire_after -- see write.h. */
bool micad_clustered_expire_after(const bson_t *coll_options, int64_t *secs)
{
    bson_iter_t it;
    if (!micad_clustered_spec(coll_options, NULL) ||
        !bson_iter_init_find(&it, coll_options, "expireAfterSeconds") ||
        !bsonu_is_number(bson_iter_type(&it)))
        return false;
    *secs = bson_iter_as_int64(&it);
    return *secs >= 0;
}

/* micad_clustered_list_indexes -- see write.h. */
void micad_clustered_list_indexes(const bson_t *coll_options, const bson_t *list, bson_t *out)
{
    bson_t spec;
    bson_iter_t it;
    uint32_t n = 0;
    bool clustered = micad_clustered_spec(coll_options, &spec);
    bson_init(out);
    if (!bson_iter_init(&it, list))
        return;
    while (bson_iter_next(&it)) {
        char key[16];
        const char *k;
        bson_uint32_to_string(n++, &k, key, sizeof(key));
        bson_iter_t name;
        if (clustered && BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &name) &&
            bson_iter_find(&name, "name") && BSON_ITER_HOLDS_UTF8(&name) &&
            strcmp(bson_iter_utf8(&name, NULL), "_id_") == 0) {
            /* the cluster key, as MongoDB lists it */
            bson_t d;
            bson_append_document_begin(out, k, -1, &d);
            bson_concat(&d, &spec);
            BSON_APPEND_BOOL(&d, "clustered", true);
            bson_append_document_end(out, &d);
            continue;
        }
        bson_append_iter(out, k, -1, &it);
    }
}
