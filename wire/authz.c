/*
 * authz.c -- the authorization model shared by micad and micas: MongoDB's
 * action types, resource patterns and their matching, privilege sets, the
 * built-in roles as data, and a connection's authentication session.
 *
 * The built-in roles below follow MongoDB 7.0's documentation ("Built-In
 * Roles"), one row per role, each privilege written as a resource pattern and
 * a space-separated list of action names -- parsed once and checked against
 * the action table, so a typo is a start-up failure in every test rather than
 * a silent hole. Which command needs what is the other half of the model and
 * lives beside each binary's command table (mongod/privileges.def).
 */
#include "wire/wire.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[WIRE_ACT_COUNT] = {
#define WIRE_ACTION(a) #a,
#include "wire/auth_actions.def"
#undef WIRE_ACTION
};

/* wire_action_name -- the MongoDB name. */
const char *wire_action_name(wire_action_t a)
{
    return (unsigned)a < WIRE_ACT_COUNT ? action_names[a] : "";
}

/* wire_action_by_name -- linear: called while parsing roles, never per command. */
int wire_action_by_name(const char *name)
{
    for (int i = 0; i < WIRE_ACT_COUNT; i++)
        if (strcmp(action_names[i], name) == 0)
            return i;
    return -1;
}

/* wire_actions_add -- set one bit. */
void wire_actions_add(wire_actions_t *s, wire_action_t a)
{
    s->bits[a / 64] |= 1ull << (a % 64);
}

/* wire_actions_has -- test one bit. */
bool wire_actions_has(const wire_actions_t *s, wire_action_t a)
{
    return (s->bits[a / 64] >> (a % 64)) & 1;
}

/* wire_actions_parse -- space-separated names. */
bool wire_actions_parse(const char *list, wire_actions_t *out)
{
    char name[64];
    const char *p = list;

    memset(out, 0, sizeof(*out));
    while (*p) {
        size_t n = 0;
        while (*p == ' ')
            p++;
        while (*p && *p != ' ' && n + 1 < sizeof(name))
            name[n++] = *p++;
        name[n] = '\0';
        if (n == 0)
            continue;
        int a = wire_action_by_name(name);
        if (a < 0)
            return false;
        wire_actions_add(out, (wire_action_t)a);
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Privilege sets                                                            */
/* ------------------------------------------------------------------------ */

void wire_privset_init(wire_privset_t *p)
{
    memset(p, 0, sizeof(*p));
}

void wire_privset_destroy(wire_privset_t *p)
{
    if (p == NULL)
        return;
    bson_free(p->v);
    memset(p, 0, sizeof(*p));
}

/* same_res -- two patterns are the same pattern. */
static bool same_res(const wire_resource_t *a, const wire_resource_t *b)
{
    return a->kind == b->kind && strcmp(a->db, b->db) == 0 && strcmp(a->coll, b->coll) == 0;
}

/* wire_privset_add -- merge by pattern, as MongoDB's privilege vectors do. */
void wire_privset_add(wire_privset_t *p, const wire_resource_t *res, const wire_actions_t *acts)
{
    for (size_t i = 0; i < p->n; i++) {
        if (same_res(&p->v[i].res, res)) {
            p->v[i].actions.bits[0] |= acts->bits[0];
            p->v[i].actions.bits[1] |= acts->bits[1];
            return;
        }
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = bson_realloc(p->v, p->cap * sizeof(*p->v));
    }
    p->v[p->n].res = *res;
    p->v[p->n].actions = *acts;
    p->n++;
}

/* is_system_coll -- "system." collections are outside every "normal" pattern. */
static bool is_system_coll(const char *coll)
{
    return strncmp(coll, "system.", 7) == 0;
}

/* wire_resource_matches -- MongoDB's ResourcePattern rules (see wire.h). */
bool wire_resource_matches(const wire_resource_t *pat, const wire_resource_t *req)
{
    switch (pat->kind) {
    case WIRE_RES_ANY:
        return true;
    case WIRE_RES_CLUSTER:
        return req->kind == WIRE_RES_CLUSTER;
    case WIRE_RES_ANY_NORMAL: /* a requirement on every normal resource is one too */
        return req->kind == WIRE_RES_ANY_NORMAL || req->kind == WIRE_RES_DB ||
               (req->kind == WIRE_RES_NS && !is_system_coll(req->coll));
    case WIRE_RES_DB:
        if (req->kind == WIRE_RES_DB)
            return strcmp(pat->db, req->db) == 0;
        return req->kind == WIRE_RES_NS && strcmp(pat->db, req->db) == 0 &&
               !is_system_coll(req->coll);
    case WIRE_RES_NS:
        return req->kind == WIRE_RES_NS && strcmp(pat->db, req->db) == 0 &&
               strcmp(pat->coll, req->coll) == 0;
    case WIRE_RES_COLL:
        return req->kind == WIRE_RES_NS && strcmp(pat->coll, req->coll) == 0;
    }
    return false;
}

/* wire_privset_allows -- the union of matching privileges covers acts. */
bool wire_privset_allows(const wire_privset_t *p, const wire_resource_t *req,
                         const wire_actions_t *acts)
{
    wire_actions_t have = {{0, 0}};
    for (size_t i = 0; i < p->n; i++) {
        if (!wire_resource_matches(&p->v[i].res, req))
            continue;
        if (wire_actions_has(&p->v[i].actions, WIRE_ACT_anyAction))
            return true;
        have.bits[0] |= p->v[i].actions.bits[0];
        have.bits[1] |= p->v[i].actions.bits[1];
    }
    return (acts->bits[0] & ~have.bits[0]) == 0 && (acts->bits[1] & ~have.bits[1]) == 0;
}

/* wire_resource_to_bson -- the pattern as MongoDB writes it. */
void wire_resource_to_bson(const wire_resource_t *r, bson_t *out)
{
    switch (r->kind) {
    case WIRE_RES_CLUSTER:
        BSON_APPEND_BOOL(out, "cluster", true);
        return;
    case WIRE_RES_ANY:
        BSON_APPEND_BOOL(out, "anyResource", true);
        return;
    case WIRE_RES_DB:
    case WIRE_RES_NS:
    case WIRE_RES_COLL:
    case WIRE_RES_ANY_NORMAL:
        BSON_APPEND_UTF8(out, "db", r->db);
        BSON_APPEND_UTF8(out, "collection", r->coll);
        return;
    }
}

/* wire_privset_to_bson -- one {resource, actions} per pattern, in order. */
void wire_privset_to_bson(const wire_privset_t *p, bson_t *arr)
{
    for (size_t i = 0; i < p->n; i++) {
        char key[16], k2[16];
        bson_t doc, res, acts;
        uint32_t n = 0;
        (void)snprintf(key, sizeof(key), "%zu", i);
        BSON_APPEND_DOCUMENT_BEGIN(arr, key, &doc);
        BSON_APPEND_DOCUMENT_BEGIN(&doc, "resource", &res);
        wire_resource_to_bson(&p->v[i].res, &res);
        bson_append_document_end(&doc, &res);
        BSON_APPEND_ARRAY_BEGIN(&doc, "actions", &acts);
        for (int a = 0; a < WIRE_ACT_COUNT; a++) {
            if (!wire_actions_has(&p->v[i].actions, (wire_action_t)a))
                continue;
            (void)snprintf(k2, sizeof(k2), "%u", n++);
            BSON_APPEND_UTF8(&acts, k2, action_names[a]);
        }
        bson_append_array_end(&doc, &acts);
        bson_append_document_end(arr, &doc);
    }
}

/* copy_str -- a string field into a fixed buffer; false if it does not fit. */
static bool copy_str(const bson_iter_t *it, char *out, size_t cap)
{
    uint32_t len;
    const char *s = bson_iter_utf8(it, &len);
    if (len >= cap || strlen(s) != len)
        return false;
    memcpy(out, s, len + 1);
    return true;
}

/* wire_privilege_from_bson -- {resource: {...}, actions: [...]}. */
int wire_privilege_from_bson(const bson_t *doc, wire_privilege_t *out, status_t *st)
{
    bson_iter_t it, sub;
    bool has_db = false, has_coll = false;

    memset(out, 0, sizeof(*out));
    if (!bson_iter_init_find(&it, doc, "resource") || !BSON_ITER_HOLDS_DOCUMENT(&it))
        return status_set(st, ERR_FailedToParse, "Privilege must have a 'resource' document");
    bson_iter_recurse(&it, &sub);
    while (bson_iter_next(&sub)) {
        const char *k = bson_iter_key(&sub);
        if (strcmp(k, "cluster") == 0 && BSON_ITER_HOLDS_BOOL(&sub) && bson_iter_bool(&sub)) {
            out->res.kind = WIRE_RES_CLUSTER;
        } else if (strcmp(k, "anyResource") == 0 && BSON_ITER_HOLDS_BOOL(&sub) &&
                   bson_iter_bool(&sub)) {
            out->res.kind = WIRE_RES_ANY;
        } else if (strcmp(k, "db") == 0 && BSON_ITER_HOLDS_UTF8(&sub)) {
            if (!copy_str(&sub, out->res.db, sizeof(out->res.db)))
                return status_set(st, ERR_BadValue, "resource db name too long");
            has_db = true;
        } else if (strcmp(k, "collection") == 0 && BSON_ITER_HOLDS_UTF8(&sub)) {
            if (!copy_str(&sub, out->res.coll, sizeof(out->res.coll)))
                return status_set(st, ERR_BadValue, "resource collection name too long");
            has_coll = true;
        } else {
            return status_set(st, ERR_BadValue, "Unknown field in resource pattern: %s", k);
        }
    }
    if (out->res.kind != 0) {
        if (has_db || has_coll)
            return status_set(st, ERR_BadValue,
                              "Resource patterns with cluster or anyResource may not also name a "
                              "db or collection");
    } else {
        if (!has_db || !has_coll)
            return status_set(st, ERR_BadValue,
                              "Resource pattern must contain 'db' and 'collection' fields");
        out->res.kind = out->res.db[0] ? (out->res.coll[0] ? WIRE_RES_NS : WIRE_RES_DB)
                                       : (out->res.coll[0] ? WIRE_RES_COLL : WIRE_RES_ANY_NORMAL);
    }
    if (!bson_iter_init_find(&it, doc, "actions") || !BSON_ITER_HOLDS_ARRAY(&it))
        return status_set(st, ERR_FailedToParse, "Privilege must have an 'actions' array");
    bson_iter_recurse(&it, &sub);
    while (bson_iter_next(&sub)) {
        int a;
        if (!BSON_ITER_HOLDS_UTF8(&sub))
            return status_set(st, ERR_BadValue, "action names must be strings");
        if ((a = wire_action_by_name(bson_iter_utf8(&sub, NULL))) < 0)
            return status_set(st, ERR_BadValue, "Unrecognized action privilege string: %s",
                              bson_iter_utf8(&sub, NULL));
        wire_actions_add(&out->actions, (wire_action_t)a);
    }
    if (out->actions.bits[0] == 0 && out->actions.bits[1] == 0)
        return status_set(st, ERR_BadValue, "Privileges must have at least one action");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Built-in roles                                                            */
/* ------------------------------------------------------------------------ */

/*
 * rspec_t -- one privilege of a built-in role: a pattern and action names.
 * db NULL means the database the role is granted on.
 */
typedef struct rspec {
    wire_res_kind_t kind;
    const char *db;
    const char *coll;
    const char *actions;
} rspec_t;

#define READ_ACTS                                                                                  \
    "changeStream collStats dbHash dbStats find killCursors listIndexes listCollections"
#define WRITE_ACTS                                                                                 \
    READ_ACTS " convertToCapped createCollection dropCollection createIndex dropIndex insert "     \
              "remove renameCollectionSameDB update"
#define DBADMIN_ACTS                                                                               \
    "bypassDocumentValidation collMod collStats compact convertToCapped createCollection "         \
    "createIndex dbStats dropCollection dropDatabase dropIndex enableProfiler listCollections "    \
    "listIndexes planCacheRead planCacheWrite reIndex renameCollectionSameDB storageDetails "      \
    "validate"
#define DBADMIN_PROFILE_ACTS                                                                       \
    "changeStream collStats convertToCapped createCollection dbHash dbStats dropCollection find "  \
    "killCursors listCollections listIndexes planCacheRead"
#define USERADMIN_ACTS                                                                             \
    "changeCustomData changePassword createRole createUser dropRole dropUser grantRole "           \
    "revokeRole setAuthenticationRestriction viewRole viewUser"
#define MONITOR_CLUSTER_ACTS                                                                       \
    "connPoolStats getCmdLineOpts getDefaultRWConcern getLog getParameter getShardMap hostInfo "   \
    "inprog listDatabases listSessions listShards netstat replSetGetConfig replSetGetStatus "      \
    "serverStatus top useUUID"
#define HOSTMGR_CLUSTER_ACTS                                                                       \
    "applicationMessage connPoolSync cpuProfiler dropConnections flushRouterConfig fsync "         \
    "invalidateUserCache killAnyCursor killAnySession killop logRotate resync setParameter "       \
    "shutdown touch unlock"
#define CLUSTERMGR_CLUSTER_ACTS                                                                    \
    "addShard appendOplogNote applicationMessage cleanupOrphaned flushRouterConfig "               \
    "getDefaultRWConcern listSessions listShards removeShard replSetConfigure replSetGetConfig "   \
    "replSetGetStatus replSetStateChange resync setDefaultRWConcern "                              \
    "setFeatureCompatibilityVersion"
#define RESTORE_ACTS                                                                               \
    "bypassDocumentValidation changeCustomData changePassword collMod convertToCapped "            \
    "createCollection createIndex createRole createUser dropCollection dropRole dropUser "         \
    "grantRole insert revokeRole viewRole viewUser"

static const rspec_t r_read[] = {
    {WIRE_RES_DB, NULL, "", READ_ACTS},
    {WIRE_RES_NS, NULL, "system.js", READ_ACTS},
};
static const rspec_t r_read_write[] = {
    {WIRE_RES_DB, NULL, "", WRITE_ACTS},
    {WIRE_RES_NS, NULL, "system.js", WRITE_ACTS},
};
static const rspec_t r_db_admin[] = {
    {WIRE_RES_DB, NULL, "", DBADMIN_ACTS},
    {WIRE_RES_NS, NULL, "system.profile", DBADMIN_PROFILE_ACTS},
};
static const rspec_t r_user_admin[] = {
    {WIRE_RES_DB, NULL, "", USERADMIN_ACTS},
};
static const rspec_t r_cluster_monitor[] = {
    {WIRE_RES_CLUSTER, "", "", MONITOR_CLUSTER_ACTS},
    {WIRE_RES_ANY_NORMAL, "", "",
     "collStats dbHash dbStats indexStats listCollections listIndexes "
     "useUUID"},
    {WIRE_RES_NS, "local", "system.replset", "find"},
    {WIRE_RES_COLL, "", "system.profile", "find"},
};
static const rspec_t r_host_manager[] = {
    {WIRE_RES_CLUSTER, "", "", HOSTMGR_CLUSTER_ACTS},
    {WIRE_RES_ANY_NORMAL, "", "", "killCursors"},
};
static const rspec_t r_cluster_manager[] = {
    {WIRE_RES_CLUSTER, "", "", CLUSTERMGR_CLUSTER_ACTS},
    {WIRE_RES_ANY_NORMAL, "", "", "enableSharding moveChunk splitChunk"},
    {WIRE_RES_DB, "config", "", "find insert remove update"},
    {WIRE_RES_DB, "local", "", "find"},
};
static const rspec_t r_cluster_admin[] = {
    {WIRE_RES_ANY_NORMAL, "", "", "dropDatabase"},
};
static const rspec_t r_backup[] = {
    {WIRE_RES_CLUSTER, "", "",
     "appendOplogNote getParameter listDatabases serverStatus useUUID listSessions"},
    {WIRE_RES_ANY_NORMAL, "", "",
     "collStats dbHash dbStats find killCursors listCollections "
     "listIndexes"},
    {WIRE_RES_COLL, "", "system.js", "find listIndexes collStats"},
    {WIRE_RES_COLL, "", "system.views", "find listIndexes collStats"},
    {WIRE_RES_NS, "admin", "system.users", "find listIndexes collStats"},
    {WIRE_RES_NS, "admin", "system.roles", "find listIndexes collStats"},
    {WIRE_RES_NS, "admin", "system.version", "find listIndexes collStats"},
};
static const rspec_t r_restore[] = {
    {WIRE_RES_CLUSTER, "", "", "getParameter listDatabases"},
    {WIRE_RES_ANY_NORMAL, "", "", RESTORE_ACTS " listCollections listIndexes"},
    {WIRE_RES_COLL, "", "system.js", RESTORE_ACTS " find update remove"},
    {WIRE_RES_COLL, "", "system.views", "createCollection find insert remove update collMod"},
    {WIRE_RES_NS, "admin", "system.users",
     "createCollection createIndex find insert remove update"},
    {WIRE_RES_NS, "admin", "system.roles",
     "createCollection createIndex find insert remove update"},
};
static const rspec_t r_read_any[] = {
    {WIRE_RES_CLUSTER, "", "", "listDatabases"},
    {WIRE_RES_ANY_NORMAL, "", "", READ_ACTS},
    {WIRE_RES_COLL, "", "system.js", READ_ACTS},
};
static const rspec_t r_read_write_any[] = {
    {WIRE_RES_CLUSTER, "", "", "listDatabases"},
    {WIRE_RES_ANY_NORMAL, "", "", WRITE_ACTS},
    {WIRE_RES_COLL, "", "system.js", WRITE_ACTS},
};
static const rspec_t r_user_admin_any[] = {
    {WIRE_RES_CLUSTER, "", "",
     "authSchemaUpgrade invalidateUserCache listDatabases viewUser "
     "viewRole"},
    {WIRE_RES_ANY_NORMAL, "", "", USERADMIN_ACTS},
    {WIRE_RES_NS, "admin", "system.users", "find insert update remove createIndex dropIndex"},
    {WIRE_RES_NS, "admin", "system.roles", "find insert update remove createIndex dropIndex"},
};
static const rspec_t r_db_admin_any[] = {
    {WIRE_RES_CLUSTER, "", "", "listDatabases"},
    {WIRE_RES_ANY_NORMAL, "", "", DBADMIN_ACTS},
    {WIRE_RES_COLL, "", "system.profile", DBADMIN_PROFILE_ACTS},
};
static const rspec_t r_root[] = {
    {WIRE_RES_COLL, "", "system.users", "validate collStats listIndexes"},
    {WIRE_RES_COLL, "", "system.roles", "validate collStats listIndexes"},
};
static const rspec_t r_system[] = {
    {WIRE_RES_ANY, "", "", "anyAction"},
};

/* builtin_t -- a built-in role: its privileges and the roles it includes. */
typedef struct builtin {
    const char *name;
    bool admin_only;
    const char *includes; /* space-separated built-in roles on the same database */
    const rspec_t *privs;
    size_t n;
} builtin_t;

#define R(arr) arr, sizeof(arr) / sizeof(arr[0])
static const builtin_t builtins[] = {
    {"read", false, "", R(r_read)},
    {"readWrite", false, "", R(r_read_write)},
    {"dbAdmin", false, "", R(r_db_admin)},
    {"userAdmin", false, "", R(r_user_admin)},
    {"dbOwner", false, "readWrite dbAdmin userAdmin", NULL, 0},
    {"clusterMonitor", true, "", R(r_cluster_monitor)},
    {"hostManager", true, "", R(r_host_manager)},
    {"clusterManager", true, "", R(r_cluster_manager)},
    {"clusterAdmin", true, "clusterManager clusterMonitor hostManager", R(r_cluster_admin)},
    {"backup", true, "", R(r_backup)},
    {"restore", true, "", R(r_restore)},
    {"readAnyDatabase", true, "", R(r_read_any)},
    {"readWriteAnyDatabase", true, "", R(r_read_write_any)},
    {"userAdminAnyDatabase", true, "", R(r_user_admin_any)},
    {"dbAdminAnyDatabase", true, "", R(r_db_admin_any)},
    {"root", true,
     "readWriteAnyDatabase dbAdminAnyDatabase userAdminAnyDatabase clusterAdmin restore backup",
     R(r_root)},
    {"__system", true, "", R(r_system)},
};
#undef R
#define N_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

/* parsed action sets of every rspec, filled once */
static wire_actions_t *parsed[N_BUILTINS];
static pthread_once_t parse_once = PTHREAD_ONCE_INIT;

/* parse_builtins -- every action name must exist: a typo stops the process at once. */
static void parse_builtins(void)
{
    for (size_t i = 0; i < N_BUILTINS; i++) {
        parsed[i] = bson_malloc0(sizeof(wire_actions_t) * (builtins[i].n ? builtins[i].n : 1));
        for (size_t j = 0; j < builtins[i].n; j++)
            INVARIANT(wire_actions_parse(builtins[i].privs[j].actions, &parsed[i][j]));
    }
}

/* find_builtin -- the row of a name valid on db, or NULL. */
static const builtin_t *find_builtin(const char *role, const char *db, size_t *index)
{
    for (size_t i = 0; i < N_BUILTINS; i++) {
        if (strcmp(builtins[i].name, role) != 0)
            continue;
        if (builtins[i].admin_only && strcmp(db, "admin") != 0)
            return NULL;
        *index = i;
        return &builtins[i];
    }
    return NULL;
}

/* add_builtin -- a role's privileges, then those of the roles it includes. */
static void add_builtin(size_t i, const char *db, wire_privset_t *privs)
{
    const builtin_t *b = &builtins[i];
    for (size_t j = 0; j < b->n; j++) {
        wire_resource_t r;
        memset(&r, 0, sizeof(r));
        r.kind = b->privs[j].kind;
        (void)snprintf(r.db, sizeof(r.db), "%s", b->privs[j].db ? b->privs[j].db : db);
        (void)snprintf(r.coll, sizeof(r.coll), "%s", b->privs[j].coll);
        wire_privset_add(privs, &r, &parsed[i][j]);
    }
    const char *p = b->includes;
    while (*p) {
        char name[64];
        size_t n = 0, k;
        while (*p == ' ')
            p++;
        while (*p && *p != ' ' && n + 1 < sizeof(name))
            name[n++] = *p++;
        name[n] = '\0';
        if (n > 0 && find_builtin(name, db, &k) != NULL)
            add_builtin(k, db, privs);
    }
}

/* wire_builtin_role -- recognise (and optionally expand) a built-in role. */
bool wire_builtin_role(const char *role, const char *db, wire_privset_t *privs)
{
    size_t i;
    pthread_once(&parse_once, parse_builtins);
    if (find_builtin(role, db, &i) == NULL)
        return false;
    if (privs != NULL)
        add_builtin(i, db, privs);
    return true;
}

/* wire_builtin_role_names -- rolesInfo's showBuiltinRoles. */
void wire_builtin_role_names(const char *db, bson_t *arr)
{
    uint32_t n = 0;
    for (size_t i = 0; i < N_BUILTINS; i++) {
        char key[16];
        if (builtins[i].admin_only && strcmp(db, "admin") != 0)
            continue;
        if (strcmp(builtins[i].name, "__system") == 0)
            continue; /* MongoDB does not list it */
        (void)snprintf(key, sizeof(key), "%u", n++);
        BSON_APPEND_UTF8(arr, key, builtins[i].name);
    }
}

/* wire_redact_command -- secrets out, everything else as it came. */
void wire_redact_command(const bson_t *cmd, bson_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, cmd))
        return;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "pwd") == 0 || strcmp(k, "payload") == 0 ||
            strcmp(k, "speculativeAuthenticate") == 0)
            BSON_APPEND_UTF8(out, k, "xxx");
        else
            bson_append_iter(out, NULL, 0, &it);
    }
}

/* ------------------------------------------------------------------------ */
/* Sessions                                                                  */
/* ------------------------------------------------------------------------ */

/* wire_auth_session_get -- lazily created: most connections never authenticate. */
wire_auth_session_t *wire_auth_session_get(wire_conn_info_t *conn)
{
    if (conn->auth == NULL) {
        conn->auth = bson_malloc0(sizeof(*conn->auth));
        bson_init(&conn->auth->roles);
        wire_privset_init(&conn->auth->privs);
    }
    return conn->auth;
}

/* end_conversation -- drop a SASL conversation's state (its keys are wiped). */
static void end_conversation(wire_auth_session_t *s)
{
    if (s->conv_active)
        wire_scram_server_destroy(&s->scram);
    s->conv_active = false;
}

/* wire_auth_session_logout -- nobody is authenticated any more. */
void wire_auth_session_logout(wire_auth_session_t *s)
{
    if (s == NULL)
        return;
    end_conversation(s);
    s->authenticated = false;
    s->is_system = false;
    s->user[0] = s->db[0] = '\0';
    bson_reinit(&s->roles);
    wire_privset_destroy(&s->privs);
    s->generation = 0;
}

/* wire_auth_session_free -- the connection is gone. */
void wire_auth_session_free(wire_auth_session_t *s)
{
    if (s == NULL)
        return;
    wire_auth_session_logout(s);
    bson_destroy(&s->roles);
    bson_free(s);
}
