/*
 * cmd_rules.c -- rules dispatch applies to every command before its handler
 * runs, kept as data: which commands belong to the Stable API version 1
 * (apiStrict: true refuses the others with APIStrictError 323), which are
 * retryable writes (the only commands that take a txnNumber outside a
 * multi-document transaction; the others answer 50768 before any other
 * validation, as MongoDB's service entry point does), and which aggregation
 * stages API version 1 leaves out.
 */
#include "wire/wire.h"

#include <string.h>

/*
 * MongoDB's API version 1 command set (the "apiVersions" of each command in
 * MongoDB 7.0; listed in MongoDB's documentation "Stable API Reference").
 */
static const char *const api_v1_commands[] = {
    "abortTransaction",
    "aggregate",
    "authenticate",
    "collMod",
    "commitTransaction",
    "count",
    "create",
    "createIndexes",
    "delete",
    "distinct",
    "drop",
    "dropDatabase",
    "dropIndexes",
    "endSessions",
    "explain",
    "find",
    "findAndModify",
    "getMore",
    "hello",
    "insert",
    "killCursors",
    "listCollections",
    "listDatabases",
    "listIndexes",
    "ping",
    "refreshSessions",
    "update",
};

/*
 * Stages that are never in API version 1 (MongoDB marks them
 * kNeverInVersion1 or internal). Every other stage Mica implements is.
 */
static const char *const api_v1_excluded_stages[] = {
    "$collStats",         "$currentOp",    "$indexStats",     "$listCatalog", "$listLocalSessions",
    "$listSearchIndexes", "$listSessions", "$planCacheStats", "$search",      "$searchMeta",
};

/*
 * Read commands, which do not take a writeConcern: MongoDB answers
 * InvalidOptions (72) "Command does not support writeConcern" when one is
 * given, instead of ignoring it.
 */
static const char *const no_write_concern_commands[] = {
    "collStats", "count",   "dataSize",    "datasize",        "dbStats",       "distinct",
    "find",      "getMore", "killCursors", "listCollections", "listDatabases", "listIndexes",
};

/* The commands that take a txnNumber without autocommit: false (retryable writes). */
static const char *const retryable_write_commands[] = {
    "delete", "findAndModify", "findandmodify", "insert", "update",
};

/* in_list -- whether name is one of the n names (the lists are short). */
static bool in_list(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* wire_cmd_in_api_v1 -- whether the command is part of the Stable API version 1. */
bool wire_cmd_in_api_v1(const char *name)
{
    return in_list(api_v1_commands, NELEM(api_v1_commands), name);
}

/* wire_stage_check_api_strict -- APIStrictError for a stage outside API version 1. */
int wire_stage_check_api_strict(const wire_opctx_t *op, const char *stage, status_t *st)
{
    if (op == NULL || !op->api_strict || op->api_version == NULL)
        return 0;
    for (size_t i = 0; i < NELEM(api_v1_excluded_stages); i++)
        if (strcmp(api_v1_excluded_stages[i], stage) == 0)
            return status_set(st, ERR_APIStrictError,
                              "%s is not allowed with 'apiStrict: true' in API Version %s", stage,
                              op->api_version);
    return 0;
}

/*
 * wire_cmd_check_generic_rules -- the checks that come before any
 * command-specific validation: txnNumber outside a transaction on a command
 * that is not a retryable write (50768), apiStrict on a command outside API
 * version 1 (323), and a writeConcern on a read command (72).
 */
int wire_cmd_check_generic_rules(const wire_opctx_t *op, const char *name, status_t *st)
{
    if (op->has_txn_number && !op->has_autocommit &&
        !in_list(retryable_write_commands, NELEM(retryable_write_commands), name))
        return status_set(st, 50768,
                          "txnNumber may only be provided for multi-document transactions and "
                          "retryable write commands. autocommit:false was not provided, and %s "
                          "is not a retryable write command.",
                          name);
    if (op->api_strict && op->api_version != NULL && !wire_cmd_in_api_v1(name))
        return status_set(st, ERR_APIStrictError,
                          "Provided apiStrict:true, but the command %s is not in API Version %s. "
                          "Information on supported commands and migrations in API Version %s "
                          "can be found at https://dochub.mongodb.org/core/manual-versioning",
                          name, op->api_version, op->api_version);
    if (op->has_write_concern &&
        in_list(no_write_concern_commands, NELEM(no_write_concern_commands), name))
        return status_set(st, ERR_InvalidOptions, "Command does not support writeConcern");
    return 0;
}
