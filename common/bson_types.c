/*
 * bson_types.c -- MongoDB's names of BSON types (the `$type` aliases), which
 * error messages, `$type` in match and aggregation, and `$convert` all use.
 * One table, so every message names a type the same way.
 */
#include "common/common.h"

#include <string.h>

static const struct {
    const char *name;
    bson_type_t type;
} type_names[] = {
    {"double", BSON_TYPE_DOUBLE},
    {"string", BSON_TYPE_UTF8},
    {"object", BSON_TYPE_DOCUMENT},
    {"array", BSON_TYPE_ARRAY},
    {"binData", BSON_TYPE_BINARY},
    {"undefined", BSON_TYPE_UNDEFINED},
    {"objectId", BSON_TYPE_OID},
    {"bool", BSON_TYPE_BOOL},
    {"date", BSON_TYPE_DATE_TIME},
    {"null", BSON_TYPE_NULL},
    {"regex", BSON_TYPE_REGEX},
    {"dbPointer", BSON_TYPE_DBPOINTER},
    {"javascript", BSON_TYPE_CODE},
    {"symbol", BSON_TYPE_SYMBOL},
    {"javascriptWithScope", BSON_TYPE_CODEWSCOPE},
    {"int", BSON_TYPE_INT32},
    {"timestamp", BSON_TYPE_TIMESTAMP},
    {"long", BSON_TYPE_INT64},
    {"decimal", BSON_TYPE_DECIMAL128},
    {"minKey", BSON_TYPE_MINKEY},
    {"maxKey", BSON_TYPE_MAXKEY},
};

#define N_TYPE_NAMES (sizeof(type_names) / sizeof(type_names[0]))

/* bsonu_type_name -- MongoDB's alias of t; "missing" for anything else (EOD). */
const char *bsonu_type_name(bson_type_t t)
{
    for (size_t i = 0; i < N_TYPE_NAMES; i++)
        if (type_names[i].type == t)
            return type_names[i].name;
    return "missing";
}

/* bsonu_type_by_name -- the type a $type alias names, or -1 (also for "number"). */
int bsonu_type_by_name(const char *name)
{
    for (size_t i = 0; i < N_TYPE_NAMES; i++)
        if (strcmp(type_names[i].name, name) == 0)
            return (int)type_names[i].type;
    return -1;
}
