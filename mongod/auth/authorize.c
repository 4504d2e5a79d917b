/*
 * authorize.c -- the access check between dispatch and every handler
 * (wire_cmd_table_t.authorize): before authentication only the allow-list
 * (WIRE_CMD_NO_AUTH rows) and the localhost exception; after it, the
 * command's row of mongod/privileges.def against the session's privileges.
 *
 * Most rows are a fixed resource and action list. The few commands whose
 * needs depend on their arguments (an aggregation's $out or $lookup, an
 * upsert, explain of another command, the roles a user command grants) have
 * a function here that computes the requirements from the command document;
 * the handlers themselves never check privileges.
 */
#include "mongod/auth.h"
#include "mongod/db.h"

#include <string.h>

/* MICAD_AUTH_MAX_REQS -- requirements one command may have (a pipeline's namespaces...). */
#define MICAD_AUTH_MAX_REQS 32

/* reqs_t -- what a command needs: (resource, actions) pairs, all required. */
typedef struct reqs {
    wire_resource_t res[MICAD_AUTH_MAX_REQS];
    wire_actions_t acts[MICAD_AUTH_MAX_REQS];
    size_t n;
    bool overflow; /* more than fits: refuse rather than check half */
    bool allowed;  /* a function decided by itself (a user acting on itself) */
} reqs_t;

typedef int (*priv_fn)(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st);

typedef enum priv_kind {
    PRIV_NS = 1,
    PRIV_NS_FULL,
    PRIV_DB,
    PRIV_CLUSTER,
    PRIV_SELF,
    PRIV_FUNCTION,
} priv_kind_t;

/* need -- add one requirement. */
static void need(reqs_t *r, wire_res_kind_t kind, const char *db, const char *coll,
                 const char *actions)
{
    if (r->n == MICAD_AUTH_MAX_REQS) {
        r->overflow = true;
        return;
    }
    wire_resource_t *res = &r->res[r->n];
    memset(res, 0, sizeof(*res));
    res->kind = kind;
    (void)snprintf(res->db, sizeof(res->db), "%s", db ? db : "");
    (void)snprintf(res->coll, sizeof(res->coll), "%s", coll ? coll : "");
    INVARIANT(wire_actions_parse(actions, &r->acts[r->n]));
    r->n++;
}

/* need_ns -- on db.coll, or on the database when coll is not a usable name. */
static void need_ns(reqs_t *r, const char *db, const char *coll, const char *actions)
{
    if (coll == NULL || coll[0] == '\0')
        need(r, WIRE_RES_DB, db, "", actions);
    else
        need(r, WIRE_RES_NS, db, coll, actions);
}

/* need_full_ns -- "db.coll" split at its first dot. */
static void need_full_ns(reqs_t *r, const char *ns, const char *actions)
{
    char db[64];
    const char *dot = strchr(ns, '.');
    if (dot == NULL || (size_t)(dot - ns) >= sizeof(db)) {
        need(r, WIRE_RES_DB, ns, "", actions);
        return;
    }
    memcpy(db, ns, (size_t)(dot - ns));
    db[dot - ns] = '\0';
    need_ns(r, db, dot + 1, actions);
}

/* first_string -- the command's first field when it is a string, else NULL. */
static const char *first_string(const bson_t *cmd)
{
    bson_iter_t it;
    if (bson_iter_init(&it, cmd) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

/* field_true -- a boolean-ish field that is set. */
static bool field_true(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, key) && bson_iter_as_bool(&it);
}

/* ------------------------------------------------------------------------ */
/* Commands whose needs depend on their arguments                            */
/* ------------------------------------------------------------------------ */

static void pipeline_needs(const char *db, const char *coll, const bson_iter_t *pipeline, reqs_t *r,
                           int depth);

/* sub_pipeline -- recurse into a stage's "pipeline" array (or a $facet's arrays). */
static void sub_pipeline(const char *db, const char *coll, bson_iter_t *it, reqs_t *r, int depth)
{
    if (BSON_ITER_HOLDS_ARRAY(it))
        pipeline_needs(db, coll, it, r, depth + 1);
}

/* target_ns -- $out / $merge / $unionWith target: "coll" or {db, coll}. */
static void target_ns(const char *db, bson_iter_t *it, const char *coll_key, reqs_t *r,
                      const char *actions)
{
    if (BSON_ITER_HOLDS_UTF8(it)) {
        need_ns(r, db, bson_iter_utf8(it, NULL), actions);
    } else if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_iter_t sub;
        const char *tdb = db, *tcoll = NULL;
        bson_iter_recurse(it, &sub);
        while (bson_iter_next(&sub)) {
            if (strcmp(bson_iter_key(&sub), "db") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                tdb = bson_iter_utf8(&sub, NULL);
            else if (strcmp(bson_iter_key(&sub), coll_key) == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                tcoll = bson_iter_utf8(&sub, NULL);
        }
        if (tcoll != NULL)
            need_ns(r, tdb, tcoll, actions);
    }
}

/* pipeline_needs -- each stage's requirement (MongoDB's per-stage privileges). */
static void pipeline_needs(const char *db, const char *coll, const bson_iter_t *pipeline, reqs_t *r,
                           int depth)
{
    bson_iter_t stages, stage, it;

    if (depth > 8) {
        r->overflow = true;
        return;
    }
    if (!bson_iter_recurse(pipeline, &stages))
        return;
    while (bson_iter_next(&stages)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&stages) || !bson_iter_recurse(&stages, &stage) ||
            !bson_iter_next(&stage))
            continue;
        const char *name = bson_iter_key(&stage);
        if (strcmp(name, "$out") == 0) {
            target_ns(db, &stage, "coll", r, "insert remove");
        } else if (strcmp(name, "$merge") == 0) {
            if (BSON_ITER_HOLDS_DOCUMENT(&stage)) {
                bson_iter_recurse(&stage, &it);
                if (bson_iter_find(&it, "into"))
                    target_ns(db, &it, "coll", r, "insert update");
            } else {
                target_ns(db, &stage, "coll", r, "insert update");
            }
        } else if (strcmp(name, "$lookup") == 0 || strcmp(name, "$graphLookup") == 0) {
            if (BSON_ITER_HOLDS_DOCUMENT(&stage)) {
                bson_iter_recurse(&stage, &it);
                while (bson_iter_next(&it)) {
                    if (strcmp(bson_iter_key(&it), "from") == 0)
                        target_ns(db, &it, "coll", r, "find");
                    else if (strcmp(bson_iter_key(&it), "pipeline") == 0)
                        sub_pipeline(db, coll, &it, r, depth);
                }
            }
        } else if (strcmp(name, "$unionWith") == 0) {
            if (BSON_ITER_HOLDS_UTF8(&stage)) {
                target_ns(db, &stage, "coll", r, "find");
            } else if (BSON_ITER_HOLDS_DOCUMENT(&stage)) {
                bson_iter_recurse(&stage, &it);
                while (bson_iter_next(&it)) {
                    if (strcmp(bson_iter_key(&it), "coll") == 0)
                        need_ns(r, db, BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "",
                                "find");
                    else if (strcmp(bson_iter_key(&it), "pipeline") == 0)
                        sub_pipeline(db, coll, &it, r, depth);
                }
            }
        } else if (strcmp(name, "$facet") == 0 && BSON_ITER_HOLDS_DOCUMENT(&stage)) {
            bson_iter_recurse(&stage, &it);
            while (bson_iter_next(&it))
                sub_pipeline(db, coll, &it, r, depth);
        } else if (strcmp(name, "$collStats") == 0) {
            need_ns(r, db, coll, "collStats");
        } else if (strcmp(name, "$indexStats") == 0) {
            need_ns(r, db, coll, "indexStats");
        } else if (strcmp(name, "$currentOp") == 0) {
            need(r, WIRE_RES_CLUSTER, "", "", "inprog");
        } else if (strcmp(name, "$listSessions") == 0 || strcmp(name, "$listLocalSessions") == 0) {
            need(r, WIRE_RES_CLUSTER, "", "", "listSessions");
        } else if (strcmp(name, "$planCacheStats") == 0) {
            need_ns(r, db, coll, "planCacheRead");
        } else if (strcmp(name, "$changeStream") == 0) {
            need_ns(r, db, coll, "changeStream find");
        }
    }
}

/* micad_priv_aggregate -- find on the collection, plus what each stage reads or writes. */
static int micad_priv_aggregate(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    const char *coll = first_string(cmd);
    bson_iter_t it;
    (void)st;
    if (coll != NULL)
        need_ns(r, op->db, coll, "find");
    if (bson_iter_init_find(&it, cmd, "pipeline") && BSON_ITER_HOLDS_ARRAY(&it))
        pipeline_needs(op->db, coll, &it, r, 0);
    if (field_true(cmd, "bypassDocumentValidation"))
        need(r, WIRE_RES_DB, op->db, "", "bypassDocumentValidation");
    return 0;
}

/* micad_priv_insert -- insert (and bypassDocumentValidation when asked). */
static int micad_priv_insert(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    (void)st;
    need_ns(r, op->db, first_string(cmd), "insert");
    if (field_true(cmd, "bypassDocumentValidation"))
        need_ns(r, op->db, first_string(cmd), "bypassDocumentValidation");
    return 0;
}

/* micad_priv_update -- update, and insert when a statement upserts. */
static int micad_priv_update(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    micad_db_docs_t d;
    status_t ignored = STATUS_INIT;
    bool upsert = false;
    bson_t stmt;
    (void)st;
    need_ns(r, op->db, first_string(cmd), "update");
    if (micad_db_docs_init(op, cmd, "updates", &d, &ignored) == 0)
        while (micad_db_docs_next(&d, &stmt))
            upsert |= field_true(&stmt, "upsert");
    if (upsert)
        need_ns(r, op->db, first_string(cmd), "insert");
    if (field_true(cmd, "bypassDocumentValidation"))
        need_ns(r, op->db, first_string(cmd), "bypassDocumentValidation");
    return 0;
}

/* micad_priv_find_and_modify -- find + remove, or find + update (+ insert for upsert). */
static int micad_priv_find_and_modify(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    (void)st;
    const char *coll = first_string(cmd);
    if (field_true(cmd, "remove")) {
        need_ns(r, op->db, coll, "find remove");
    } else {
        need_ns(r, op->db, coll, "find update");
        if (field_true(cmd, "upsert"))
            need_ns(r, op->db, coll, "insert");
    }
    if (field_true(cmd, "bypassDocumentValidation"))
        need_ns(r, op->db, coll, "bypassDocumentValidation");
    return 0;
}

/* micad_priv_get_more -- find on {getMore: id, collection: "c"}. */
static int micad_priv_get_more(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    bson_iter_t it;
    (void)st;
    if (bson_iter_init_find(&it, cmd, "collection") && BSON_ITER_HOLDS_UTF8(&it))
        need_ns(r, op->db, bson_iter_utf8(&it, NULL), "find");
    else
        need(r, WIRE_RES_DB, op->db, "", "find");
    return 0;
}

/* micad_priv_rename_collection -- MongoDB's rules for the same and for another database. */
static int micad_priv_rename_collection(wire_opctx_t *op, const bson_t *cmd, reqs_t *r,
                                        status_t *st)
{
    const char *from = first_string(cmd), *to = NULL;
    bson_iter_t it;
    (void)op;
    (void)st;
    if (bson_iter_init_find(&it, cmd, "to") && BSON_ITER_HOLDS_UTF8(&it))
        to = bson_iter_utf8(&it, NULL);
    if (from == NULL || to == NULL) {
        need(r, WIRE_RES_CLUSTER, "", "", "internal"); /* malformed: the handler explains */
        return 0;
    }
    const char *fd = strchr(from, '.'), *td = strchr(to, '.');
    bool same = fd && td && fd - from == td - to && memcmp(from, to, (size_t)(fd - from)) == 0;
    if (same) {
        need_full_ns(r, from, "renameCollectionSameDB");
        need_full_ns(r, to, "renameCollectionSameDB");
    } else {
        need_full_ns(r, from, "find dropCollection");
        need_full_ns(r, to, "insert createIndex createCollection");
    }
    if (field_true(cmd, "dropTarget"))
        need_full_ns(r, to, "dropCollection");
    return 0;
}

static int check_command(wire_opctx_t *op, const char *name, const bson_t *cmd, int depth,
                         status_t *st);

/* micad_priv_explain -- exactly what the explained command needs. */
static int micad_priv_explain(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    bson_iter_t it, inner;
    bson_t doc;
    if (!bson_iter_init_find(&it, cmd, "explain") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        micad_db_arg_doc(&it, "explain", &doc, st) != 0 || !bson_iter_init(&inner, &doc) ||
        !bson_iter_next(&inner)) {
        status_reset(st);
        need(r, WIRE_RES_DB, op->db, "", "find"); /* malformed: the handler explains */
        return 0;
    }
    if (strcmp(bson_iter_key(&inner), "explain") == 0)
        return status_set(st, ERR_Unauthorized, "explain may not explain itself");
    ST_RET(check_command(op, bson_iter_key(&inner), &doc, 1, st));
    r->allowed = true;
    return 0;
}

/* role_dbs -- for each role of cmd[key] ("name" or {role, db}), need actions on its db. */
static void role_dbs(wire_opctx_t *op, const bson_t *cmd, const char *key, reqs_t *r,
                     const char *actions)
{
    bson_iter_t it, arr, sub;
    if (!bson_iter_init_find(&it, cmd, key) || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return;
    while (bson_iter_next(&arr)) {
        const char *db = op->db;
        if (BSON_ITER_HOLDS_DOCUMENT(&arr) && bson_iter_recurse(&arr, &sub) &&
            bson_iter_find(&sub, "db") && BSON_ITER_HOLDS_UTF8(&sub))
            db = bson_iter_utf8(&sub, NULL);
        need(r, WIRE_RES_DB, db, "", actions);
    }
}

/* session_allows -- a single check against the calling session. */
static bool session_allows(const wire_opctx_t *op, wire_res_kind_t kind, const char *db,
                           const char *actions)
{
    wire_resource_t res;
    memset(&res, 0, sizeof(res));
    res.kind = kind;
    (void)snprintf(res.db, sizeof(res.db), "%s", db);
    return micad_auth_session_allows(op, &res, actions);
}

/* targets_only_self -- usersInfo / updateUser naming exactly the caller. */
static bool targets_only_self(const wire_opctx_t *op, const bson_t *cmd)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it))
        return false;
    if (BSON_ITER_HOLDS_UTF8(&it))
        return micad_auth_is_self(op, bson_iter_utf8(&it, NULL), op->db);
    if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_t sub;
        const char *u = NULL, *d = NULL;
        bson_iter_recurse(&it, &sub);
        while (bson_iter_next(&sub)) {
            if (strcmp(bson_iter_key(&sub), "user") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                u = bson_iter_utf8(&sub, NULL);
            else if (strcmp(bson_iter_key(&sub), "db") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                d = bson_iter_utf8(&sub, NULL);
        }
        return u && d && micad_auth_is_self(op, u, d);
    }
    return false;
}

/* micad_priv_user_admin -- the user and role commands (MongoDB's per-command rules). */
static int micad_priv_user_admin(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    const char *n = op->name, *db = op->db;
    (void)st;
    if (strcmp(n, "createUser") == 0) {
        need(r, WIRE_RES_DB, db, "", "createUser");
        role_dbs(op, cmd, "roles", r, "grantRole");
    } else if (strcmp(n, "updateUser") == 0) {
        bool self = targets_only_self(op, cmd);
        if (bson_has_field(cmd, "pwd") && !session_allows(op, WIRE_RES_DB, db, "changePassword") &&
            !(self && session_allows(op, WIRE_RES_DB, db, "changeOwnPassword")))
            need(r, WIRE_RES_DB, db, "", "changePassword");
        if (bson_has_field(cmd, "customData") &&
            !session_allows(op, WIRE_RES_DB, db, "changeCustomData") &&
            !(self && session_allows(op, WIRE_RES_DB, db, "changeOwnCustomData")))
            need(r, WIRE_RES_DB, db, "", "changeCustomData");
        if (bson_has_field(cmd, "roles")) {
            need(r, WIRE_RES_DB, db, "", "revokeRole");
            role_dbs(op, cmd, "roles", r, "grantRole");
        }
        if (bson_has_field(cmd, "mechanisms") || bson_has_field(cmd, "authenticationRestrictions"))
            need(r, WIRE_RES_DB, db, "", "changePassword");
        r->allowed = r->n == 0;
    } else if (strcmp(n, "dropUser") == 0 || strcmp(n, "dropAllUsersFromDatabase") == 0) {
        need(r, WIRE_RES_DB, db, "", "dropUser");
    } else if (strcmp(n, "usersInfo") == 0) {
        bson_iter_t it;
        if (targets_only_self(op, cmd))
            r->allowed = true;
        else if (bson_iter_init_find(&it, cmd, "usersInfo") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
                 bson_iter_recurse(&it, &it) && bson_iter_find(&it, "forAllDBs"))
            need(r, WIRE_RES_CLUSTER, "", "", "viewUser");
        else
            need(r, WIRE_RES_DB, db, "", "viewUser");
    } else if (strcmp(n, "grantRolesToUser") == 0 || strcmp(n, "grantRolesToRole") == 0) {
        role_dbs(op, cmd, "roles", r, "grantRole");
        if (r->n == 0)
            need(r, WIRE_RES_DB, db, "", "grantRole");
    } else if (strcmp(n, "revokeRolesFromUser") == 0 || strcmp(n, "revokeRolesFromRole") == 0) {
        role_dbs(op, cmd, "roles", r, "revokeRole");
        if (r->n == 0)
            need(r, WIRE_RES_DB, db, "", "revokeRole");
    } else if (strcmp(n, "createRole") == 0) {
        need(r, WIRE_RES_DB, db, "", "createRole");
        role_dbs(op, cmd, "roles", r, "grantRole");
    } else if (strcmp(n, "updateRole") == 0) {
        need(r, WIRE_RES_DB, db, "", "grantRole revokeRole");
        role_dbs(op, cmd, "roles", r, "grantRole");
    } else if (strcmp(n, "dropRole") == 0 || strcmp(n, "dropAllRolesFromDatabase") == 0) {
        need(r, WIRE_RES_DB, db, "", "dropRole");
    } else if (strcmp(n, "rolesInfo") == 0) {
        need(r, WIRE_RES_DB, db, "", "viewRole");
    } else if (strcmp(n, "grantPrivilegesToRole") == 0) {
        need(r, WIRE_RES_DB, db, "", "grantRole");
    } else if (strcmp(n, "revokePrivilegesFromRole") == 0) {
        need(r, WIRE_RES_DB, db, "", "revokeRole");
    } else {
        need(r, WIRE_RES_CLUSTER, "", "", "internal");
    }
    return 0;
}

/*
 * micad_priv_profile -- MongoDB's rule: reading the level alone ({profile: -1}
 * without slowms / sampleRate / filter) needs only find on <db>.system.profile;
 * anything else needs enableProfiler on the database, and slowms / sampleRate
 * (process-wide settings) enableProfiler on every normal resource too.
 */
static int micad_priv_profile(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    bson_iter_t it;
    int64_t level = 0;
    bool global = bson_has_field(cmd, "slowms") || bson_has_field(cmd, "sampleRate");
    (void)st;
    if (bson_iter_init(&it, cmd) && bson_iter_next(&it) && BSON_ITER_HOLDS_NUMBER(&it))
        level = bson_iter_as_int64(&it);
    if (level == -1 && !global && !bson_has_field(cmd, "filter")) {
        wire_resource_t res;
        memset(&res, 0, sizeof(res));
        res.kind = WIRE_RES_NS;
        (void)snprintf(res.db, sizeof(res.db), "%s", op->db);
        (void)snprintf(res.coll, sizeof(res.coll), "system.profile");
        if (micad_auth_session_allows(op, &res, "find")) {
            r->allowed = true;
            return 0;
        }
    }
    need(r, WIRE_RES_DB, op->db, "", "enableProfiler");
    if (global)
        need(r, WIRE_RES_ANY_NORMAL, "", "", "enableProfiler");
    return 0;
}

/*
 * micad_priv_apply_ops -- MongoDB checks each entry as the operation it
 * applies: "i" insert, "u" update, "d" remove on the entry's namespace, "n"
 * appendOplogNote on the cluster; a command entry ("c") or an unknown op is
 * left to __system (Mica answers 238 for "c" anyway).
 */
static int micad_priv_apply_ops(wire_opctx_t *op, const bson_t *cmd, reqs_t *r, status_t *st)
{
    bson_iter_t it, arr, e;
    (void)st;
    if (!bson_iter_init_find(&it, cmd, "applyOps") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr)) {
        need(r, WIRE_RES_DB, op->db, "", "insert update remove"); /* malformed: the handler says */
        return 0;
    }
    while (bson_iter_next(&arr)) {
        const char *kind = NULL, *ns = NULL;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &e)) {
            need(r, WIRE_RES_CLUSTER, "", "", "internal");
            continue;
        }
        while (bson_iter_next(&e)) {
            if (strcmp(bson_iter_key(&e), "op") == 0 && BSON_ITER_HOLDS_UTF8(&e))
                kind = bson_iter_utf8(&e, NULL);
            else if (strcmp(bson_iter_key(&e), "ns") == 0 && BSON_ITER_HOLDS_UTF8(&e))
                ns = bson_iter_utf8(&e, NULL);
        }
        if (kind != NULL && strcmp(kind, "n") == 0)
            need(r, WIRE_RES_CLUSTER, "", "", "appendOplogNote");
        else if (kind == NULL || ns == NULL || strchr(ns, '.') == NULL)
            need(r, WIRE_RES_CLUSTER, "", "", "internal");
        else if (strcmp(kind, "i") == 0)
            need_full_ns(r, ns, "insert");
        else if (strcmp(kind, "u") == 0)
            need_full_ns(r, ns, "update");
        else if (strcmp(kind, "d") == 0)
            need_full_ns(r, ns, "remove");
        else
            need(r, WIRE_RES_CLUSTER, "", "", "internal");
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */

/* priv_row_t -- one row of privileges.def. */
typedef struct priv_row {
    const char *name;
    priv_kind_t kind;
    const char *actions;
    priv_fn fn;
} priv_row_t;

static const priv_row_t priv_rows[] = {
#define MICAD_PRIV(name, kind, actions) {name, kind, actions, NULL},
#define MICAD_PRIV_FN(name, fn)         {name, PRIV_FUNCTION, "", fn},
#include "mongod/privileges.def"
#undef MICAD_PRIV
#undef MICAD_PRIV_FN
};
#define N_PRIV_ROWS (sizeof(priv_rows) / sizeof(priv_rows[0]))

/* find_row -- linear over ~60 rows: cheaper than the command itself by far. */
static const priv_row_t *find_row(const char *name)
{
    for (size_t i = 0; i < N_PRIV_ROWS; i++)
        if (strcmp(priv_rows[i].name, name) == 0)
            return &priv_rows[i];
    return NULL;
}

/* micad_auth_check_table -- every command that needs a check has a row. */
void micad_auth_check_table(const wire_cmd_table_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        if ((t->cmds[i].flags & WIRE_CMD_NO_AUTH) || find_row(t->cmds[i].name) != NULL)
            continue;
        LOG(WARNING, ACCESS, 20436, "Command has no privilege row; only __system may run it",
            "command", BCON_UTF8(t->cmds[i].name));
    }
}

/* micad_auth_session_allows -- for the functions above and for handlers. */
bool micad_auth_session_allows(const wire_opctx_t *op, const wire_resource_t *res,
                               const char *actions)
{
    wire_auth_session_t *s = op->conn ? op->conn->auth : NULL;
    wire_actions_t acts;
    if (!micad_auth_enabled())
        return true;
    if (s == NULL || !s->authenticated)
        return false;
    if (s->is_system)
        return true;
    INVARIANT(wire_actions_parse(actions, &acts));
    return wire_privset_allows(&s->privs, res, &acts);
}

/* micad_auth_is_self -- the session's own user. */
bool micad_auth_is_self(const wire_opctx_t *op, const char *user, const char *db)
{
    wire_auth_session_t *s = op->conn ? op->conn->auth : NULL;
    return s != NULL && s->authenticated && strcmp(s->user, user) == 0 && strcmp(s->db, db) == 0;
}

/* not_authorized -- MongoDB's message, without echoing arguments (they may hold secrets). */
static int not_authorized(const wire_opctx_t *op, const char *name, status_t *st)
{
    wire_auth_session_t *s = op->conn ? op->conn->auth : NULL;
    LOG(DEBUG1, ACCESS, 20437, "Unauthorized command", "command", BCON_UTF8(name), "db",
        BCON_UTF8(op->db), "user", BCON_UTF8(s && s->authenticated ? s->user : ""));
    return status_set(st, ERR_Unauthorized, "not authorized on %s to execute command { %s: ... }",
                      op->db, name);
}

/* check_command -- the row's requirements against the session. */
static int check_command(wire_opctx_t *op, const char *name, const bson_t *cmd, int depth,
                         status_t *st)
{
    wire_auth_session_t *s = op->conn->auth;
    const priv_row_t *row = find_row(name);
    reqs_t r;
    const char *coll;

    if (depth > 1)
        return not_authorized(op, name, st);
    if (row == NULL) /* no row: only __system (checked by the caller) */
        return not_authorized(op, name, st);
    memset(&r, 0, sizeof(r));
    switch (row->kind) {
    case PRIV_NS:
        coll = first_string(cmd);
        need_ns(&r, op->db, coll, row->actions);
        break;
    case PRIV_NS_FULL:
        coll = first_string(cmd);
        if (coll != NULL)
            need_full_ns(&r, coll, row->actions);
        else
            need(&r, WIRE_RES_DB, op->db, "", row->actions);
        break;
    case PRIV_DB:
        need(&r, WIRE_RES_DB, op->db, "", row->actions);
        break;
    case PRIV_CLUSTER:
        need(&r, WIRE_RES_CLUSTER, "", "", row->actions);
        break;
    case PRIV_SELF:
        return 0;
    case PRIV_FUNCTION:
        ST_RET(row->fn(op, cmd, &r, st));
        break;
    }
    if (r.overflow)
        return not_authorized(op, name, st);
    for (size_t i = 0; i < r.n; i++)
        if (!wire_privset_allows(&s->privs, &r.res[i], &r.acts[i]))
            return not_authorized(op, name, st);
    return 0;
}

/* localhost_exception -- with no user yet, a loopback client may create the first one. */
static bool localhost_exception(wire_opctx_t *op)
{
    if (op->conn == NULL || !op->conn->loopback || strcmp(op->db, "admin") != 0)
        return false;
    if (strcmp(op->name, "createUser") != 0 && strcmp(op->name, "createRole") != 0 &&
        strcmp(op->name, "replSetInitiate") != 0)
        return false;
    return !micad_auth_any_user(micad_of(op));
}

/* micad_authorize -- the hook: allow-list, authentication, privileges. */
int micad_authorize(wire_opctx_t *op, status_t *st)
{
    wire_auth_session_t *s;

    if (!micad_auth_enabled() || op->cmd == NULL || (op->cmd->flags & WIRE_CMD_NO_AUTH))
        return 0;
    s = op->conn ? op->conn->auth : NULL;
    if (s == NULL || !s->authenticated) {
        if (localhost_exception(op))
            return 0;
        return status_set(st, ERR_Unauthorized, "Command %s requires authentication", op->name);
    }
    ST_RET(micad_auth_refresh(micad_of(op), op, st));
    if (s->is_system)
        return 0;
    return check_command(op, op->name, &op->body, 0, st);
}
