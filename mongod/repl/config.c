/*
 * config.c -- replica-set configurations: parse, validate (MongoDB's
 * ReplSetConfig rules and messages), normalise. See config.h.
 */
#include "mongod/repl/config.h"

#include <math.h>
#include <string.h>

/* Defaults of settings, as MongoDB's. */
#define DEF_ELECTION_TIMEOUT_MS   10000
#define DEF_HEARTBEAT_INTERVAL_MS 2000
#define DEF_HEARTBEAT_TIMEOUT_S   10
#define DEF_CATCH_UP_TIMEOUT_MS   (-1)

void repl_config_init(repl_config_t *c)
{
    memset(c, 0, sizeof(*c));
    c->term = -1;
    bson_init(&c->raw);
}

void repl_config_destroy(repl_config_t *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->nmembers; i++)
        bson_destroy(&c->members[i].tags);
    c->nmembers = 0;
    bson_destroy(&c->raw);
}

/* repl_config_move -- dst takes src's contents; src is left empty. */
void repl_config_move(repl_config_t *dst, repl_config_t *src)
{
    /* bson_t must not be copied by value (libbson points into the struct) */
    memcpy(dst, src, sizeof(*dst));
    bson_copy_to(&src->raw, &dst->raw);
    for (int i = 0; i < src->nmembers; i++)
        bson_copy_to(&src->members[i].tags, &dst->members[i].tags);
    repl_config_destroy(src);
    repl_config_init(src);
}

/* num -- a whole or fractional number of any numeric type. */
static bool num(const bson_iter_t *it, double *out)
{
    return bsonu_is_number(bson_iter_type(it)) &&
           bsonu_number_as_double(bson_iter_value((bson_iter_t *)it), out);
}

static int type_error(const char *where, const char *field, const char *want, status_t *st)
{
    return status_set(st, ERR_TypeMismatch, "%s field \"%s\" must be of type %s", where, field,
                      want);
}

/* parse_member -- one members[] element. */
static int parse_member(const bson_iter_t *elem, int idx, repl_member_cfg_t *m, status_t *st)
{
    bson_iter_t it;
    bool has_id = false, has_host = false, has_priority = false;
    memset(m, 0, sizeof(*m));
    bson_init(&m->tags);
    m->votes = 1;
    m->priority = 1;
    m->build_indexes = true;
    if (!BSON_ITER_HOLDS_DOCUMENT(elem) || !bson_iter_recurse(elem, &it))
        return status_set(st, ERR_TypeMismatch,
                          "Expected type object for members.%d of replica set configuration", idx);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        double d;
        if (strcmp(k, "_id") == 0) {
            if (!num(&it, &d) || d != floor(d))
                return type_error("replica set member configuration", "_id", "int", st);
            if (d < 0 || d > 255)
                return status_set(st, ERR_BadValue,
                                  "_id field value of %g is out of range [0, 255] in members.%d", d,
                                  idx);
            m->id = (int32_t)d;
            has_id = true;
        } else if (strcmp(k, "host") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return type_error("replica set member configuration", "host", "string", st);
            const char *h = bson_iter_utf8(&it, NULL);
            if (h[0] == '\0' || strlen(h) >= sizeof(m->host))
                return status_set(st, ERR_FailedToParse, "Empty or too long host in members.%d",
                                  idx);
            snprintf(m->host, sizeof(m->host), "%s", h);
            if (strchr(m->host, ':') == NULL) /* MongoDB's default port */
                snprintf(m->host, sizeof(m->host), "%s:27017", h);
            has_host = true;
        } else if (strcmp(k, "votes") == 0) {
            if (!num(&it, &d))
                return type_error("replica set member configuration", "votes", "int", st);
            if (d != 0 && d != 1)
                return status_set(st, ERR_InvalidReplicaSetConfig,
                                  "votes field value is %g but must be 0 or 1 in members.%d", d,
                                  idx);
            m->votes = (int32_t)d;
        } else if (strcmp(k, "priority") == 0) {
            if (!num(&it, &d))
                return type_error("replica set member configuration", "priority", "double", st);
            if (!(d >= 0 && d <= 1000))
                return status_set(st, ERR_InvalidReplicaSetConfig,
                                  "priority field value of %g is out of range [0, 1000] in "
                                  "members.%d",
                                  d, idx);
            m->priority = d;
            has_priority = true;
        } else if (strcmp(k, "arbiterOnly") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it) && !bsonu_is_number(bson_iter_type(&it)))
                return type_error("replica set member configuration", "arbiterOnly", "bool", st);
            m->arbiter_only = bson_iter_as_bool(&it);
        } else if (strcmp(k, "hidden") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it) && !bsonu_is_number(bson_iter_type(&it)))
                return type_error("replica set member configuration", "hidden", "bool", st);
            m->hidden = bson_iter_as_bool(&it);
        } else if (strcmp(k, "buildIndexes") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it) && !bsonu_is_number(bson_iter_type(&it)))
                return type_error("replica set member configuration", "buildIndexes", "bool", st);
            m->build_indexes = bson_iter_as_bool(&it);
        } else if (strcmp(k, "secondaryDelaySecs") == 0 || strcmp(k, "slaveDelay") == 0) {
            if (!num(&it, &d) || d != floor(d))
                return type_error("replica set member configuration", k, "int", st);
            if (d < 0 || d > 3600.0 * 24 * 366)
                return status_set(st, ERR_BadValue,
                                  "secondaryDelaySecs field value of %g is out of range in "
                                  "members.%d",
                                  d, idx);
            m->secondary_delay_secs = (int64_t)d;
        } else if (strcmp(k, "tags") == 0) {
            bson_iter_t t;
            if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &t))
                return type_error("replica set member configuration", "tags", "object", st);
            while (bson_iter_next(&t))
                if (!BSON_ITER_HOLDS_UTF8(&t))
                    return status_set(st, ERR_TypeMismatch,
                                      "tags.%s field has non-string value of type %s in members.%d",
                                      bson_iter_key(&t), bsonu_type_name(bson_iter_type(&t)), idx);
            const uint8_t *data;
            uint32_t len;
            bson_t view;
            bson_iter_document(&it, &len, &data);
            bson_init_static(&view, data, len);
            bson_destroy(&m->tags);
            bson_copy_to(&view, &m->tags);
        } else {
            return status_set(st, 40415, "BSON field 'MemberConfig.%s' is an unknown field.", k);
        }
    }
    if (!has_id)
        return status_set(st, 40414,
                          "BSON field 'MemberConfig._id' is missing but a required field");
    if (!has_host)
        return status_set(st, 40414,
                          "BSON field 'MemberConfig.host' is missing but a required field");
    if (m->arbiter_only && !has_priority)
        m->priority = 0;
    /* MongoDB's member rules */
    if (m->arbiter_only && m->priority != 0)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "priority must be 0 when arbiterOnly=true in members.%d", idx);
    if (m->arbiter_only && m->votes != 1)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "Arbiter must vote (cannot have 0 votes) in members.%d", idx);
    if (m->votes == 0 && m->priority != 0)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "priority must be 0 when non-voting (votes:0) in members.%d", idx);
    if (m->hidden && m->priority != 0)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "priority must be 0 when hidden=true in members.%d", idx);
    if (m->secondary_delay_secs > 0 && m->priority != 0)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "priority must be 0 when secondaryDelaySecs is used in members.%d", idx);
    if (!m->build_indexes && m->priority != 0)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "priority must be 0 when buildIndexes=false in members.%d", idx);
    if (m->arbiter_only && (m->hidden || m->secondary_delay_secs > 0 || !m->build_indexes))
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "an arbiter cannot be hidden, delayed or without indexes in members.%d",
                          idx);
    return 0;
}

/* parse_settings -- settings.{electionTimeoutMillis, ...}. */
/* parse_modes -- settings.getLastErrorModes: {name: {tag: positive count}} (checked later). */
static int parse_modes(const bson_iter_t *elem, repl_config_t *c, status_t *st)
{
    bson_iter_t it, sub;
    bson_iter_recurse(elem, &it);
    while (bson_iter_next(&it)) {
        const char *name = bson_iter_key(&it);
        if (c->nmodes == REPL_MAX_WC_MODES)
            return status_set(st, ERR_InvalidReplicaSetConfig,
                              "settings.getLastErrorModes holds more than %d modes",
                              REPL_MAX_WC_MODES);
        if (strcmp(name, "majority") == 0)
            return status_set(st, ERR_InvalidReplicaSetConfig,
                              "Mode name \"majority\" is reserved, but is used in "
                              "settings.getLastErrorModes");
        if (strlen(name) >= sizeof(c->modes[0].name))
            return status_set(st, ERR_BadValue, "mode name %s is too long", name);
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return status_set(st, ERR_TypeMismatch,
                              "Expected settings.getLastErrorModes.%s to be an Object, not %s",
                              name, bsonu_type_name(bson_iter_type(&it)));
        repl_wc_mode_t *md = &c->modes[c->nmodes++];
        snprintf(md->name, sizeof(md->name), "%s", name);
        bson_iter_recurse(&it, &sub);
        while (bson_iter_next(&sub)) {
            const char *tag = bson_iter_key(&sub);
            double d;
            if (!num(&sub, &d))
                return status_set(st, ERR_TypeMismatch,
                                  "Expected settings.getLastErrorModes.%s.%s to be a number, not "
                                  "%s",
                                  name, tag, bsonu_type_name(bson_iter_type(&sub)));
            if (d <= 0 || d != floor(d) || d > REPL_MAX_MEMBERS)
                return status_set(st, ERR_BadValue,
                                  "Value of settings.getLastErrorModes.%s.%s must be positive, "
                                  "but found %g",
                                  name, tag, d);
            if (md->n == REPL_MAX_WC_CONSTRAINTS || strlen(tag) >= sizeof(md->c[0].tag))
                return status_set(st, ERR_BadValue,
                                  "settings.getLastErrorModes.%s has too many or too long tags",
                                  name);
            snprintf(md->c[md->n].tag, sizeof(md->c[0].tag), "%s", tag);
            md->c[md->n].count = (int)d;
            md->n++;
        }
    }
    return 0;
}

/* check_modes -- every tag a mode names is carried by some member (NoSuchKey 4). */
static int check_modes(const repl_config_t *c, status_t *st)
{
    for (int i = 0; i < c->nmodes; i++) {
        for (int j = 0; j < c->modes[i].n; j++) {
            bool found = false;
            bson_iter_t it;
            for (int k = 0; k < c->nmembers && !found; k++)
                found = bson_iter_init_find(&it, &c->members[k].tags, c->modes[i].c[j].tag);
            if (!found)
                return status_set(st, ERR_NoSuchKey,
                                  "No replica set member has tag with key \"%s\" (mode %s)",
                                  c->modes[i].c[j].tag, c->modes[i].name);
        }
    }
    return 0;
}

static int parse_settings(const bson_iter_t *elem, repl_config_t *c, status_t *st)
{
    bson_iter_t it;
    if (!BSON_ITER_HOLDS_DOCUMENT(elem) || !bson_iter_recurse(elem, &it))
        return type_error("replica set configuration", "settings", "object", st);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        double d;
        if (strcmp(k, "chainingAllowed") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it))
                return type_error("settings", k, "bool", st);
            c->chaining_allowed = bson_iter_bool(&it);
        } else if (strcmp(k, "electionTimeoutMillis") == 0 ||
                   strcmp(k, "heartbeatIntervalMillis") == 0 ||
                   strcmp(k, "heartbeatTimeoutSecs") == 0 ||
                   strcmp(k, "catchUpTimeoutMillis") == 0 ||
                   strcmp(k, "catchUpTakeoverDelayMillis") == 0) {
            if (!num(&it, &d) || d != floor(d))
                return type_error("settings", k, "int", st);
            if (strcmp(k, "catchUpTimeoutMillis") == 0 ||
                strcmp(k, "catchUpTakeoverDelayMillis") == 0) {
                if (d < -1)
                    return status_set(st, ERR_BadValue, "%s field value must be >= -1", k);
                if (strcmp(k, "catchUpTimeoutMillis") == 0)
                    c->catch_up_timeout_ms = (int64_t)d;
            } else {
                if (d <= 0)
                    return status_set(st, ERR_BadValue, "%s field value must be positive", k);
                if (strcmp(k, "electionTimeoutMillis") == 0)
                    c->election_timeout_ms = (int64_t)d;
                else if (strcmp(k, "heartbeatIntervalMillis") == 0)
                    c->heartbeat_interval_ms = (int64_t)d;
                else
                    c->heartbeat_timeout_secs = (int64_t)d;
            }
        } else if (strcmp(k, "replicaSetId") == 0) {
            if (!BSON_ITER_HOLDS_OID(&it))
                return type_error("settings", k, "objectId", st);
            bson_oid_copy(bson_iter_oid(&it), &c->replica_set_id);
            c->has_replica_set_id = true;
        } else if (strcmp(k, "getLastErrorModes") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return type_error("settings", k, "object", st);
            ST_RET(parse_modes(&it, c, st));
        } else if (strcmp(k, "getLastErrorDefaults") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                return type_error("settings", k, "object", st);
        } else {
            return status_set(st, 40415,
                              "BSON field 'ReplSetConfigSettings.%s' is an unknown field.", k);
        }
    }
    return 0;
}

/* repl_config_normalise -- the document replSetGetConfig shows: every default written out. */
void repl_config_normalise(repl_config_t *c)
{
    bson_t *r = &c->raw, arr, s;
    bson_reinit(r);
    BSON_APPEND_UTF8(r, "_id", c->set_name);
    BSON_APPEND_INT32(r, "version", (int32_t)c->version);
    if (c->term >= 0)
        BSON_APPEND_INT64(r, "term", c->term);
    BSON_APPEND_INT64(r, "protocolVersion", 1);
    BSON_APPEND_BOOL(r, "writeConcernMajorityJournalDefault",
                     c->write_concern_majority_journal_default);
    BSON_APPEND_ARRAY_BEGIN(r, "members", &arr);
    for (int i = 0; i < c->nmembers; i++) {
        repl_member_cfg_t *m = &c->members[i];
        char key[16];
        const char *k;
        bson_t e;
        bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
        bson_append_document_begin(&arr, k, -1, &e);
        BSON_APPEND_INT32(&e, "_id", m->id);
        BSON_APPEND_UTF8(&e, "host", m->host);
        BSON_APPEND_BOOL(&e, "arbiterOnly", m->arbiter_only);
        BSON_APPEND_BOOL(&e, "buildIndexes", m->build_indexes);
        BSON_APPEND_BOOL(&e, "hidden", m->hidden);
        if (m->priority == floor(m->priority))
            BSON_APPEND_INT32(&e, "priority", (int32_t)m->priority);
        else
            BSON_APPEND_DOUBLE(&e, "priority", m->priority);
        BSON_APPEND_DOCUMENT(&e, "tags", &m->tags);
        BSON_APPEND_INT64(&e, "secondaryDelaySecs", m->secondary_delay_secs);
        BSON_APPEND_INT32(&e, "votes", m->votes);
        bson_append_document_end(&arr, &e);
    }
    bson_append_array_end(r, &arr);
    BSON_APPEND_DOCUMENT_BEGIN(r, "settings", &s);
    BSON_APPEND_BOOL(&s, "chainingAllowed", c->chaining_allowed);
    BSON_APPEND_INT32(&s, "heartbeatIntervalMillis", (int32_t)c->heartbeat_interval_ms);
    BSON_APPEND_INT32(&s, "heartbeatTimeoutSecs", (int32_t)c->heartbeat_timeout_secs);
    BSON_APPEND_INT32(&s, "electionTimeoutMillis", (int32_t)c->election_timeout_ms);
    BSON_APPEND_INT32(&s, "catchUpTimeoutMillis", (int32_t)c->catch_up_timeout_ms);
    BSON_APPEND_INT32(&s, "catchUpTakeoverDelayMillis", 30000);
    {
        bson_t e, md;
        BSON_APPEND_DOCUMENT_BEGIN(&s, "getLastErrorModes", &e);
        for (int i = 0; i < c->nmodes; i++) {
            BSON_APPEND_DOCUMENT_BEGIN(&e, c->modes[i].name, &md);
            for (int j = 0; j < c->modes[i].n; j++)
                BSON_APPEND_INT32(&md, c->modes[i].c[j].tag, c->modes[i].c[j].count);
            bson_append_document_end(&e, &md);
        }
        bson_append_document_end(&s, &e);
        BSON_APPEND_DOCUMENT_BEGIN(&s, "getLastErrorDefaults", &e);
        BSON_APPEND_INT32(&e, "w", 1);
        BSON_APPEND_INT32(&e, "wtimeout", 0);
        bson_append_document_end(&s, &e);
    }
    if (c->has_replica_set_id)
        BSON_APPEND_OID(&s, "replicaSetId", &c->replica_set_id);
    bson_append_document_end(r, &s);
}

/* repl_config_parse -- see config.h. */
int repl_config_parse(const bson_t *doc, repl_config_t *c, status_t *st)
{
    bson_iter_t it;
    bool has_id = false, has_version = false, has_members = false;
    c->election_timeout_ms = DEF_ELECTION_TIMEOUT_MS;
    c->heartbeat_interval_ms = DEF_HEARTBEAT_INTERVAL_MS;
    c->heartbeat_timeout_secs = DEF_HEARTBEAT_TIMEOUT_S;
    c->catch_up_timeout_ms = DEF_CATCH_UP_TIMEOUT_MS;
    c->chaining_allowed = true;
    c->write_concern_majority_journal_default = true;
    if (!bson_iter_init(&it, doc))
        return status_set(st, ERR_InvalidBSON, "invalid replica set configuration document");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        double d;
        if (strcmp(k, "_id") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return type_error("replica set configuration", "_id", "string", st);
            const char *n = bson_iter_utf8(&it, NULL);
            if (n[0] == '\0' || strlen(n) >= sizeof(c->set_name))
                return status_set(st, ERR_InvalidReplicaSetConfig,
                                  "Replica set configuration must have a non-empty _id field");
            snprintf(c->set_name, sizeof(c->set_name), "%s", n);
            has_id = true;
        } else if (strcmp(k, "version") == 0) {
            if (!num(&it, &d) || d != floor(d))
                return type_error("replica set configuration", "version", "int", st);
            if (d < 1 || d > INT32_MAX)
                return status_set(st, ERR_BadValue, "version field value of %g is out of range", d);
            c->version = (int64_t)d;
            has_version = true;
        } else if (strcmp(k, "term") == 0) {
            if (!num(&it, &d) || d != floor(d))
                return type_error("replica set configuration", "term", "long", st);
            c->term = (int64_t)d;
        } else if (strcmp(k, "protocolVersion") == 0) {
            if (!num(&it, &d) || d != 1)
                return status_set(st, ERR_InvalidReplicaSetConfig,
                                  "protocolVersion field value of %g is not 1",
                                  num(&it, &d) ? d : -1.0);
        } else if (strcmp(k, "writeConcernMajorityJournalDefault") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it))
                return type_error("replica set configuration", k, "bool", st);
            c->write_concern_majority_journal_default = bson_iter_bool(&it);
        } else if (strcmp(k, "members") == 0) {
            bson_iter_t m;
            if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &m))
                return type_error("replica set configuration", "members", "array", st);
            while (bson_iter_next(&m)) {
                if (c->nmembers == REPL_MAX_MEMBERS)
                    return status_set(st, ERR_InvalidReplicaSetConfig,
                                      "Replica set configuration contains more than %d members",
                                      REPL_MAX_MEMBERS);
                int r = parse_member(&m, c->nmembers, &c->members[c->nmembers], st);
                c->nmembers++;
                if (r != 0)
                    return r;
            }
            has_members = true;
        } else if (strcmp(k, "settings") == 0) {
            ST_RET(parse_settings(&it, c, st));
        } else if (strcmp(k, "configsvr") == 0) {
            if (bson_iter_as_bool(&it))
                return status_set(st, ERR_NotImplemented,
                                  "config server replica sets are not supported yet");
        } else {
            return status_set(st, 40415, "BSON field 'ReplSetConfig.%s' is an unknown field.", k);
        }
    }
    if (!has_id)
        return status_set(st, 40414,
                          "BSON field 'ReplSetConfig._id' is missing but a required field");
    if (!has_version)
        return status_set(st, 40414,
                          "BSON field 'ReplSetConfig.version' is missing but a required field");
    if (!has_members || c->nmembers == 0)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "Replica set configuration must contain at least one member");
    int voters = 0, electable = 0;
    for (int i = 0; i < c->nmembers; i++) {
        for (int j = 0; j < i; j++) {
            if (c->members[i].id == c->members[j].id)
                return status_set(st, ERR_InvalidReplicaSetConfig,
                                  "Found two member configurations with same _id field, "
                                  "members.%d._id == members.%d._id == %d",
                                  j, i, c->members[i].id);
            if (strcasecmp(c->members[i].host, c->members[j].host) == 0)
                return status_set(st, ERR_InvalidReplicaSetConfig,
                                  "Found two member configurations with same host field, "
                                  "members.%d.host == members.%d.host == %s",
                                  j, i, c->members[i].host);
        }
        voters += c->members[i].votes;
        if (c->members[i].votes > 0 && c->members[i].priority > 0 && !c->members[i].arbiter_only)
            electable++;
    }
    if (voters < 1 || voters > REPL_MAX_VOTERS)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "Replica set configuration contains %d voting members, but must be at "
                          "least 1 and no more than %d",
                          voters, REPL_MAX_VOTERS);
    if (electable == 0)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "Replica set configuration must contain at least one non-arbiter member "
                          "with priority > 0");
    ST_RET(check_modes(c, st));
    repl_config_normalise(c);
    return 0;
}

/* repl_config_find_member -- by host, case-insensitively. */
int repl_config_find_member(const repl_config_t *c, const char *host)
{
    for (int i = 0; i < c->nmembers; i++)
        if (strcasecmp(c->members[i].host, host) == 0)
            return i;
    return -1;
}

/* repl_config_voters -- members with votes: 1. */
int repl_config_voters(const repl_config_t *c)
{
    int n = 0;
    for (int i = 0; i < c->nmembers; i++)
        n += c->members[i].votes;
    return n;
}

/* repl_config_majority -- more than half the voters. */
int repl_config_majority(const repl_config_t *c)
{
    return repl_config_voters(c) / 2 + 1;
}

/* repl_config_cmp_version -- see config.h. */
int repl_config_cmp_version(int64_t v1, int64_t t1, int64_t v2, int64_t t2)
{
    if (t1 != -1 && t2 != -1 && t1 != t2)
        return t1 < t2 ? -1 : 1;
    return v1 < v2 ? -1 : v1 > v2 ? 1 : 0;
}

/* voter_ids -- the sorted _ids of c's voting members; returns how many. */
static int voter_ids(const repl_config_t *c, int32_t *out)
{
    int n = 0;
    for (int i = 0; i < c->nmembers; i++) {
        if (c->members[i].votes == 0)
            continue;
        int j = n++;
        while (j > 0 && out[j - 1] > c->members[i].id) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = c->members[i].id;
    }
    return n;
}

/* repl_config_voter_change -- see config.h. */
int repl_config_voter_change(const repl_config_t *old, const repl_config_t *new_c)
{
    int32_t a[REPL_MAX_MEMBERS], b[REPL_MAX_MEMBERS];
    int na = voter_ids(old, a), nb = voter_ids(new_c, b), i = 0, j = 0, diff = 0;
    while (i < na || j < nb) {
        if (j == nb || (i < na && a[i] < b[j])) {
            diff++;
            i++;
        } else if (i == na || b[j] < a[i]) {
            diff++;
            j++;
        } else {
            i++;
            j++;
        }
    }
    return diff;
}

/* repl_config_check_reconfig -- see config.h. */
int repl_config_check_reconfig(const repl_config_t *old, const repl_config_t *new_c, bool force,
                               status_t *st)
{
    if (repl_config_cmp_version(old->version, old->term, new_c->version, new_c->term) >= 0)
        return status_set(st, ERR_NewReplicaSetConfigurationIncompatible,
                          "New replica set configuration version and term must be greater than "
                          "old, but { version: %lld, term: %lld } is not greater than { version: "
                          "%lld, term: %lld } for replica set %s",
                          (long long)new_c->version, (long long)new_c->term,
                          (long long)old->version, (long long)old->term, new_c->set_name);
    if (strcmp(old->set_name, new_c->set_name) != 0)
        return status_set(st, ERR_NewReplicaSetConfigurationIncompatible,
                          "New and old configurations differ in replica set name; old was %s, "
                          "and new is %s",
                          old->set_name, new_c->set_name);
    if (old->has_replica_set_id && new_c->has_replica_set_id &&
        bson_oid_compare(&old->replica_set_id, &new_c->replica_set_id) != 0) {
        char a[25], b[25];
        bson_oid_to_string(&old->replica_set_id, a);
        bson_oid_to_string(&new_c->replica_set_id, b);
        return status_set(st, ERR_NewReplicaSetConfigurationIncompatible,
                          "New and old configurations differ in replica set ID; old was %s, and "
                          "new is %s",
                          a, b);
    }
    for (int i = 0; i < new_c->nmembers; i++) {
        const repl_member_cfg_t *mn = &new_c->members[i];
        for (int j = 0; j < old->nmembers; j++) {
            const repl_member_cfg_t *mo = &old->members[j];
            bool ids = mn->id == mo->id, hosts = strcasecmp(mn->host, mo->host) == 0;
            if (!ids && !hosts)
                continue;
            if (hosts && !ids)
                return status_set(st, ERR_NewReplicaSetConfigurationIncompatible,
                                  "New and old configurations both have members with host of %s "
                                  "but in the new configuration the _id field is %d and in the "
                                  "old configuration it is %d for replica set %s",
                                  mo->host, mn->id, mo->id, new_c->set_name);
            if (mn->build_indexes != mo->build_indexes)
                return status_set(st, ERR_NewReplicaSetConfigurationIncompatible,
                                  "New and old configurations differ in the setting of the "
                                  "buildIndexes field for member %s; to make this change, remove "
                                  "then re-add the member",
                                  mo->host);
            if (mn->arbiter_only != mo->arbiter_only)
                return status_set(st, ERR_NewReplicaSetConfigurationIncompatible,
                                  "New and old configurations differ in the setting of the "
                                  "arbiterOnly field for member %s; to make this change, remove "
                                  "then re-add the member",
                                  mo->host);
        }
    }
    if (!force && repl_config_voter_change(old, new_c) > 1)
        return status_set(st, ERR_InvalidReplicaSetConfig,
                          "Non force replica set reconfig can only add or remove at most 1 voting "
                          "member.");
    return 0;
}

/* repl_config_find_mode -- see config.h. */
const repl_wc_mode_t *repl_config_find_mode(const repl_config_t *c, const char *name)
{
    for (int i = 0; i < c->nmodes; i++)
        if (strcmp(c->modes[i].name, name) == 0)
            return &c->modes[i];
    return NULL;
}

/* repl_wc_mode_satisfied -- see config.h. */
bool repl_wc_mode_satisfied(const repl_config_t *c, const repl_wc_mode_t *mode, const bool *has)
{
    for (int j = 0; j < mode->n; j++) {
        const char *seen[REPL_MAX_MEMBERS];
        int nseen = 0;
        for (int i = 0; i < c->nmembers; i++) {
            bson_iter_t it;
            if (!has[i] || !bson_iter_init_find(&it, &c->members[i].tags, mode->c[j].tag) ||
                !BSON_ITER_HOLDS_UTF8(&it))
                continue;
            const char *v = bson_iter_utf8(&it, NULL);
            bool dup = false;
            for (int k = 0; k < nseen && !dup; k++)
                dup = strcmp(seen[k], v) == 0;
            if (!dup)
                seen[nseen++] = v;
        }
        if (nseen < mode->c[j].count)
            return false;
    }
    return true;
}

/* repl_implicit_wc_majority -- see config.h. */
bool repl_implicit_wc_majority(const repl_config_t *c)
{
    int arbiters = 0, voters = 0, data_voters = 0;
    for (int i = 0; i < c->nmembers; i++) {
        if (c->members[i].arbiter_only)
            arbiters++;
        if (c->members[i].votes > 0) {
            voters++;
            if (!c->members[i].arbiter_only)
                data_voters++;
        }
    }
    return !(arbiters > 0 && data_voters <= voters / 2 + 1);
}
