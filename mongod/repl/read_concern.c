/*
 * read_concern.c -- parsing the readConcern argument and the per-command
 * rule of which levels are accepted (read_concern.h). Pure.
 */
#include "mongod/repl/read_concern.h"

#include "common/common.h"

#include <string.h>

static const char *const k_levels[] = {"local", "available", "majority", "linearizable",
                                       "snapshot"};

const char *repl_rc_level_name(repl_rc_level_t l)
{
    return (unsigned)l < sizeof(k_levels) / sizeof(k_levels[0]) ? k_levels[l] : "local";
}

/* want_ts -- a Timestamp field, or TypeMismatch as bsonExtractTimestampField says it. */
static int want_ts(bson_iter_t *it, const char *k, uint64_t *out, status_t *st)
{
    uint32_t t, i;
    if (!BSON_ITER_HOLDS_TIMESTAMP(it))
        return status_set(st, ERR_TypeMismatch,
                          "\"%s\" had the wrong type. Expected timestamp, found %s", k,
                          bsonu_type_name(bson_iter_type(it)));
    bson_iter_timestamp(it, &t, &i);
    *out = ((uint64_t)t << 32) | i;
    return 0;
}

/* parse_optime -- afterOpTime: {ts: Timestamp, t: number}. */
static int parse_optime(bson_iter_t *it, repl_optime_t *o, status_t *st)
{
    bson_iter_t sub;
    bool has_ts = false, has_t = false;
    if (!BSON_ITER_HOLDS_DOCUMENT(it))
        return status_set(st, ERR_TypeMismatch,
                          "\"afterOpTime\" had the wrong type. Expected object, found %s",
                          bsonu_type_name(bson_iter_type(it)));
    bson_iter_recurse(it, &sub);
    while (bson_iter_next(&sub)) {
        const char *k = bson_iter_key(&sub);
        if (strcmp(k, "ts") == 0) {
            ST_RET(want_ts(&sub, "ts", &o->ts, st));
            has_ts = true;
        } else if (strcmp(k, "t") == 0) {
            if (!BSON_ITER_HOLDS_NUMBER(&sub))
                return status_set(st, ERR_TypeMismatch,
                                  "\"t\" had the wrong type. Expected long, found %s",
                                  bsonu_type_name(bson_iter_type(&sub)));
            o->term = bson_iter_as_int64(&sub);
            has_t = true;
        }
    }
    if (!has_ts)
        return status_set(st, ERR_NoSuchKey, "Missing expected field \"ts\"");
    if (!has_t)
        return status_set(st, ERR_NoSuchKey, "Missing expected field \"t\"");
    return 0;
}

/* repl_rc_parse -- see read_concern.h. */
int repl_rc_parse(const bson_t *rc, repl_rc_t *out, status_t *st)
{
    bson_iter_t it;
    memset(out, 0, sizeof(*out));
    if (rc == NULL)
        return 0;
    out->present = true;
    if (!bson_iter_init(&it, rc))
        return status_set(st, ERR_FailedToParse, "readConcern field should be an object");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "level") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "\"level\" had the wrong type. Expected string, found %s",
                                  bsonu_type_name(bson_iter_type(&it)));
            const char *v = bson_iter_utf8(&it, NULL);
            size_t i;
            for (i = 0; i < sizeof(k_levels) / sizeof(k_levels[0]); i++)
                if (strcmp(v, k_levels[i]) == 0)
                    break;
            if (i == sizeof(k_levels) / sizeof(k_levels[0]))
                return status_set(st, ERR_FailedToParse,
                                  "readConcern.level must be either 'local', 'majority', "
                                  "'linearizable', 'available', or 'snapshot'");
            out->level = (repl_rc_level_t)i;
            out->has_level = true;
        } else if (strcmp(k, "afterOpTime") == 0) {
            ST_RET(parse_optime(&it, &out->after_optime, st));
            out->has_after_optime = true;
        } else if (strcmp(k, "afterClusterTime") == 0) {
            ST_RET(want_ts(&it, k, &out->after_cluster_time, st));
            out->has_after_cluster_time = true;
        } else if (strcmp(k, "atClusterTime") == 0) {
            ST_RET(want_ts(&it, k, &out->at_cluster_time, st));
            out->has_at_cluster_time = true;
        } else if (strcmp(k, "provenance") == 0) {
            static const char *const sources[] = {"clientSupplied", "implicitDefault",
                                                  "customDefault", "getLastErrorDefaults",
                                                  "internalWriteDefault"};
            bool ok = false;
            if (BSON_ITER_HOLDS_UTF8(&it))
                for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
                    ok |= strcmp(bson_iter_utf8(&it, NULL), sources[i]) == 0;
            if (!ok)
                return status_set(st, ERR_BadValue,
                                  "BSON field 'ReadConcernArgs.provenance' has an invalid value");
        } else {
            return status_set(st, ERR_InvalidOptions, "Unrecognized option in readConcern: %s", k);
        }
    }
    if (out->has_after_cluster_time && out->has_after_optime)
        return status_set(st, ERR_InvalidOptions,
                          "Can not specify both afterClusterTime and afterOpTime");
    if (out->has_after_cluster_time && out->has_at_cluster_time)
        return status_set(st, ERR_InvalidOptions,
                          "Specifying a timestamp for readConcern snapshot in a causally "
                          "consistent session is not allowed. See "
                          "https://docs.mongodb.com/manual/core/read-isolation-consistency-recency/"
                          "#causal-consistency");
    if (out->has_after_cluster_time && out->level != REPL_RC_MAJORITY &&
        out->level != REPL_RC_LOCAL && out->level != REPL_RC_SNAPSHOT)
        return status_set(st, ERR_InvalidOptions,
                          "afterClusterTime field can be set only if level is equal to majority, "
                          "local, or snapshot");
    if (out->has_after_optime && out->level == REPL_RC_SNAPSHOT)
        return status_set(st, ERR_InvalidOptions,
                          "afterOpTime field cannot be set if level is equal to snapshot");
    if (out->has_at_cluster_time && out->level != REPL_RC_SNAPSHOT)
        return status_set(st, ERR_InvalidOptions,
                          "atClusterTime field can be set only if level is equal to snapshot");
    if (out->has_at_cluster_time && (out->at_cluster_time >> 32) == 0)
        return status_set(st, ERR_InvalidOptions, "atClusterTime cannot be a null timestamp");
    if (out->has_after_cluster_time && out->after_cluster_time == 0)
        return status_set(st, ERR_InvalidOptions, "afterClusterTime cannot be a null timestamp");
    return 0;
}

/* repl_rc_support_of -- see read_concern.h. */
repl_rc_support_t repl_rc_support_of(const char *command)
{
    if (command == NULL)
        return REPL_RC_SUPPORT_LOCAL_ONLY;
    if (strcmp(command, "find") == 0 || strcmp(command, "aggregate") == 0 ||
        strcmp(command, "distinct") == 0)
        return REPL_RC_SUPPORT_ALL;
    if (strcmp(command, "count") == 0)
        return REPL_RC_SUPPORT_ALL_BUT_SNAPSHOT;
    return REPL_RC_SUPPORT_LOCAL_ONLY;
}

/* repl_rc_check_support -- see read_concern.h. */
int repl_rc_check_support(const char *command, const repl_rc_t *rc, status_t *st)
{
    repl_rc_support_t s = repl_rc_support_of(command);
    bool ok = s == REPL_RC_SUPPORT_ALL ||
              (s == REPL_RC_SUPPORT_ALL_BUT_SNAPSHOT && rc->level != REPL_RC_SNAPSHOT) ||
              rc->level == REPL_RC_LOCAL;
    if (ok)
        return 0;
    return status_set(st, ERR_InvalidOptions,
                      "Command %s does not support { readConcern: { level: \"%s\" } } :: caused "
                      "by :: read concern not supported",
                      command, repl_rc_level_name(rc->level));
}
