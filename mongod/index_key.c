/*
 * index_key.c -- the rules for an index key pattern, checked by createIndexes
 * before anything is built (MongoDB's index_key_validate).
 *
 * Storage would index any field name it is given, so a pattern such as
 * {"$**": 1} would silently become an index on a literal field called "$**"
 * that no query ever uses. Every pattern is checked here first: field names
 * (no empty component, none starting with '$'), values (non-zero numbers, or
 * the name of an index type), and the index types Mica does not build yet
 * (text, geo, hashed) answer NotImplemented instead of building something
 * that only looks like them. Wildcard patterns ("$**", "a.$**") are checked
 * further in index_wildcard.c.
 */
#include "mongod/micad.h"

#include <math.h>
#include <string.h>

/* index types MongoDB has and Mica does not build yet */
static const char *const not_yet_types[] = {"text", "2d", "2dsphere", "geoHaystack", "hashed"};

/* check_field_name -- the name of one key pattern field. */
static int check_field_name(const char *name, status_t *st)
{
    const char *p = name;

    if (name[0] == '\0')
        return status_set(st, ERR_CannotCreateIndex, "Index keys cannot be an empty field.");
    if (strcmp(name, "$**") == 0)
        return 0; /* a wildcard (numeric value) or wildcard text index: check_value decides */
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0)
            return status_set(st, ERR_CannotCreateIndex,
                              "Index keys cannot contain an empty field: '%s'", name);
        /* "path.$**" (the last component) is a wildcard index on a subtree */
        if (p[0] == '$' && !(dot == NULL && strcmp(p, "$**") == 0 && p != name))
            return status_set(st, ERR_CannotCreateIndex,
                              "Index key contains an illegal field name: field name starts with "
                              "'$'.");
        if (dot == NULL)
            return 0;
        p = dot + 1;
    }
}

/* check_value -- the direction or type of one key pattern field. */
static int check_value(const bson_iter_t *it, status_t *st)
{
    if (BSON_ITER_HOLDS_UTF8(it)) {
        const char *type = bson_iter_utf8(it, NULL);
        for (size_t i = 0; i < sizeof(not_yet_types) / sizeof(not_yet_types[0]); i++)
            if (strcmp(type, not_yet_types[i]) == 0)
                return status_set(st, ERR_NotImplemented,
                                  "'%s' indexes are not implemented yet in Mica", type);
        return status_set(st, ERR_CannotCreateIndex, "Unknown index plugin '%s'", type);
    }
    if (!bsonu_is_number(bson_iter_type(it)))
        return status_set(st, ERR_CannotCreateIndex,
                          "Values in v:2 index key pattern cannot be of type %s. Only numbers > "
                          "0, numbers < 0, and strings are allowed.",
                          bsonu_type_name(bson_iter_type(it)));
    double d = bson_iter_as_double(it);
    if (isnan(d) || d == 0)
        return status_set(st, ERR_CannotCreateIndex,
                          "Values in the index key pattern must be numbers > 0 or < 0, not %g", d);
    return 0;
}

/* micad_index_key_validate -- refuse a key pattern MongoDB refuses, or one Mica cannot build. */
int micad_index_key_validate(const bson_t *key, status_t *st)
{
    bson_iter_t it;

    if (!bson_iter_init(&it, key))
        return status_set(st, ERR_InvalidBSON, "malformed index key pattern");
    while (bson_iter_next(&it)) {
        ST_RET(check_field_name(bson_iter_key(&it), st));
        ST_RET(check_value(&it, st));
    }
    return micad_index_wildcard_check_key(key, st);
}
