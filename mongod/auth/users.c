/*
 * users.c -- users and roles as documents: admin.system.users and
 * admin.system.roles in MongoDB's shapes, read and written through storage
 * in units of work; role resolution into privileges; logging a connection in.
 *
 * A user document: {_id: "<db>.<user>", userId: UUID, user, db,
 * credentials: {"SCRAM-SHA-1": {iterationCount, salt, storedKey, serverKey},
 * "SCRAM-SHA-256": {...}}, roles: [{role, db}], customData?}. A role
 * document: {_id: "<db>.<role>", role, db, privileges: [{resource, actions}],
 * roles: [{role, db}]}. These collections are small; reads scan them.
 *
 * Writes go through the one write path (mongod/write.c), so they are observed
 * (and replicated) like any other. Every change bumps a generation counter; a connection whose
 * privileges were resolved at an older generation resolves them again before its next command, so a
 * revoked role takes effect at once, as in MongoDB.
 */
#include "mongod/auth.h"
#include "mongod/db.h"
#include "mongod/write.h"

#include <string.h>

static bool g_enabled;
static char *g_keyfile_secret;
static int64_t g_generation = 1;

/* micad_auth_config -- once, at start-up. */
void micad_auth_config(bool enabled, char *keyfile_secret)
{
    g_enabled = enabled;
    g_keyfile_secret = keyfile_secret;
}

bool micad_auth_enabled(void)
{
    return g_enabled;
}

void micad_auth_shutdown(void)
{
    micad_cluster_shutdown(); /* the pools are gone (repl_stop ran) */
    wire_scram_wipe_free(g_keyfile_secret);
    g_keyfile_secret = NULL;
}

int64_t micad_auth_generation(void)
{
    return __atomic_load_n(&g_generation, __ATOMIC_ACQUIRE);
}

void micad_auth_bump_generation(void)
{
    __atomic_add_fetch(&g_generation, 1, __ATOMIC_ACQ_REL);
}

/* ------------------------------------------------------------------------ */
/* Documents                                                                 */
/* ------------------------------------------------------------------------ */

/* auth_ns -- "admin.<coll>". */
static void auth_ns(const char *coll, char *ns, size_t cap)
{
    (void)snprintf(ns, cap, "admin.%s", coll);
}

/* id_is -- whether doc's _id is the string id. */
static bool id_is(const bson_t *doc, const char *id)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it) &&
           strcmp(bson_iter_utf8(&it, NULL), id) == 0;
}

/* micad_auth_get -- scan for _id. */
int micad_auth_get(micad_t *m, const char *coll_name, const char *id, bson_t *out, bool *found,
                   status_t *st)
{
    char ns[64];
    stor_session_t *sess;
    stor_collection_t *coll;
    stor_uow_t *uow = NULL;
    stor_cursor_t *cur = NULL;
    status_t ignored = STATUS_INIT;
    int ret = 0;

    *found = false;
    bson_init(out);
    auth_ns(coll_name, ns, sizeof(ns));
    if (stor_collection_lookup(m->engine, ns, &coll, &ignored) != 0)
        return 0;
    ST_RET(micad_db_session(m, &sess, st));
    ST_ERR(stor_uow_begin(sess, 0, &uow, st));
    ST_ERR(stor_cursor_open(sess, coll, true, &cur, st));
    for (;;) {
        int64_t rid;
        bson_t doc;
        bool eof;
        ST_ERR(stor_cursor_next(cur, &rid, &doc, &eof, st));
        if (eof)
            break;
        if (id_is(&doc, id)) {
            bson_destroy(out);
            bson_copy_to(&doc, out);
            *found = true;
            break;
        }
    }
err:
    stor_cursor_close(cur);
    stor_uow_abort(uow);
    return ret;
}

/* micad_auth_list -- every document, in storage order. */
int micad_auth_list(micad_t *m, const char *coll_name, bson_t *arr, status_t *st)
{
    char ns[64];
    stor_session_t *sess;
    stor_collection_t *coll;
    stor_uow_t *uow = NULL;
    stor_cursor_t *cur = NULL;
    status_t ignored = STATUS_INIT;
    uint32_t n = 0;
    int ret = 0;

    auth_ns(coll_name, ns, sizeof(ns));
    if (stor_collection_lookup(m->engine, ns, &coll, &ignored) != 0)
        return 0;
    ST_RET(micad_db_session(m, &sess, st));
    ST_ERR(stor_uow_begin(sess, 0, &uow, st));
    ST_ERR(stor_cursor_open(sess, coll, true, &cur, st));
    for (;;) {
        int64_t rid;
        bson_t doc;
        bool eof;
        char key[16];
        ST_ERR(stor_cursor_next(cur, &rid, &doc, &eof, st));
        if (eof)
            break;
        (void)snprintf(key, sizeof(key), "%u", n++);
        BSON_APPEND_DOCUMENT(arr, key, &doc);
    }
err:
    stor_cursor_close(cur);
    stor_uow_abort(uow);
    return ret;
}

/* put_job_t -- one upsert-by-_id in a unit of work. */
typedef struct put_job {
    stor_collection_t *coll;
    const bson_t *doc;
    const char *id;
    bool must_be_new;
    bool *exists;
} put_job_t;

/* put_fn -- find the _id; insert or replace (re-runnable on a write conflict). */
static int put_fn(stor_session_t *sess, void *arg, status_t *st)
{
    put_job_t *j = arg;
    stor_cursor_t *cur = NULL;
    int64_t found_rid = -1, rid;
    bson_t before = BSON_INITIALIZER;
    int ret = 0;

    *j->exists = false;
    ST_ERR(stor_cursor_open(sess, j->coll, true, &cur, st));
    for (;;) {
        bson_t doc;
        bool eof;
        ST_ERR(stor_cursor_next(cur, &rid, &doc, &eof, st));
        if (eof)
            break;
        if (id_is(&doc, j->id)) {
            found_rid = rid;
            bson_destroy(&before);
            bson_copy_to(&doc, &before);
            break;
        }
    }
    stor_cursor_close(cur);
    cur = NULL;
    if (found_rid >= 0) {
        *j->exists = true;
        if (!j->must_be_new)
            ret = micad_write_update(sess, j->coll, found_rid, &before, j->doc, st);
    } else {
        ret = micad_write_insert(sess, j->coll, j->doc, &rid, st);
    }
err:
    stor_cursor_close(cur);
    bson_destroy(&before);
    return ret;
}

/* auth_coll -- admin.<coll>, created on first use (system collections are ours to create). */
static int auth_coll(micad_t *m, stor_session_t *sess, const char *ns, stor_collection_t **coll,
                     status_t *st)
{
    status_t ignored = STATUS_INIT;
    if (stor_collection_lookup(m->engine, ns, coll, &ignored) == 0)
        return 0;
    int ret = micad_write_create_collection(sess, ns, NULL, coll, st);
    if (ret == ERR_NamespaceExists) {
        status_reset(st);
        return stor_collection_lookup(m->engine, ns, coll, st);
    }
    return ret;
}

/* micad_auth_put -- insert or replace one document by its _id. */
int micad_auth_put(micad_t *m, const char *coll_name, const bson_t *doc, bool must_be_new,
                   bool *exists, status_t *st)
{
    char ns[64];
    stor_session_t *sess;
    stor_collection_t *coll;
    bson_iter_t it;
    int ret;

    auth_ns(coll_name, ns, sizeof(ns));
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_InternalError, "auth document without a string _id");
    ST_RET(micad_db_session(m, &sess, st));
    micad_db_lock_ns(ns, true);
    ret = auth_coll(m, sess, ns, &coll, st);
    if (ret == 0) {
        put_job_t j = {coll, doc, bson_iter_utf8(&it, NULL), must_be_new, exists};
        ret = micad_db_run_uow(NULL, sess, put_fn, &j, st);
    }
    micad_db_unlock_ns(ns, true);
    if (ret == 0)
        micad_auth_bump_generation();
    return ret;
}

/* del_job_t -- delete every document matching a predicate. */
typedef struct del_job {
    stor_collection_t *coll;
    bool (*pred)(const bson_t *, void *);
    void *arg;
    int64_t n;
} del_job_t;

/* del_fn -- collect matching RecordIds, then delete them. */
static int del_fn(stor_session_t *sess, void *arg, status_t *st)
{
    del_job_t *j = arg;
    stor_cursor_t *cur = NULL;
    int64_t *rids = NULL;
    bson_t *docs = NULL;
    size_t n = 0, cap = 0;
    int ret = 0;

    j->n = 0;
    ST_ERR(stor_cursor_open(sess, j->coll, true, &cur, st));
    for (;;) {
        int64_t rid;
        bson_t doc;
        bool eof;
        ST_ERR(stor_cursor_next(cur, &rid, &doc, &eof, st));
        if (eof)
            break;
        if (!j->pred(&doc, j->arg))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            rids = bson_realloc(rids, cap * sizeof(*rids));
            docs = bson_realloc(docs, cap * sizeof(*docs));
        }
        bson_copy_to(&doc, &docs[n]);
        rids[n++] = rid;
    }
    stor_cursor_close(cur);
    cur = NULL;
    for (size_t i = 0; i < n; i++)
        ST_ERR(micad_write_delete(sess, j->coll, rids[i], &docs[i], st));
    j->n = (int64_t)n;
err:
    stor_cursor_close(cur);
    for (size_t i = 0; i < n; i++)
        bson_destroy(&docs[i]);
    bson_free(docs);
    bson_free(rids);
    return ret;
}

/* micad_auth_delete -- remove what pred selects. */
int micad_auth_delete(micad_t *m, const char *coll_name, bool (*pred)(const bson_t *, void *),
                      void *arg, int64_t *n, status_t *st)
{
    char ns[64];
    stor_session_t *sess;
    stor_collection_t *coll;
    status_t ignored = STATUS_INIT;
    int ret;

    *n = 0;
    auth_ns(coll_name, ns, sizeof(ns));
    if (stor_collection_lookup(m->engine, ns, &coll, &ignored) != 0)
        return 0;
    ST_RET(micad_db_session(m, &sess, st));
    micad_db_lock_ns(ns, true);
    del_job_t j = {coll, pred, arg, 0};
    ret = micad_db_run_uow(NULL, sess, del_fn, &j, st);
    micad_db_unlock_ns(ns, true);
    *n = j.n;
    if (ret == 0 && j.n > 0)
        micad_auth_bump_generation();
    return ret;
}

/* micad_auth_any_user -- the localhost exception closes once this is true. */
bool micad_auth_any_user(micad_t *m)
{
    stor_collection_t *coll;
    status_t st = STATUS_INIT;
    if (stor_collection_lookup(m->engine, "admin.system.users", &coll, &st) != 0)
        return false;
    return stor_collection_count(coll) > 0;
}

/* ------------------------------------------------------------------------ */
/* Roles                                                                     */
/* ------------------------------------------------------------------------ */

/* MICAD_AUTH_MAX_ROLE_DEPTH -- custom roles inheriting deeper than this are cut (cycles too). */
#define MICAD_AUTH_MAX_ROLE_DEPTH 32

/* role_ref -- {role, db} of an array element; false if malformed. */
static bool role_ref(const bson_iter_t *el, const char **role, const char **db)
{
    bson_iter_t sub;
    *role = *db = NULL;
    if (!BSON_ITER_HOLDS_DOCUMENT(el) || !bson_iter_recurse(el, &sub))
        return false;
    while (bson_iter_next(&sub)) {
        if (strcmp(bson_iter_key(&sub), "role") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
            *role = bson_iter_utf8(&sub, NULL);
        else if (strcmp(bson_iter_key(&sub), "db") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
            *db = bson_iter_utf8(&sub, NULL);
    }
    return *role != NULL && *db != NULL;
}

/* seen_t -- roles already expanded (cycle guard). */
typedef struct seen {
    char ids[64][200];
    size_t n;
} seen_t;

/* append_role -- {role, db} into the all_roles array. */
static void append_role(bson_t *arr, const char *role, const char *db)
{
    char key[16];
    bson_t d;
    (void)snprintf(key, sizeof(key), "%u", bson_count_keys(arr));
    BSON_APPEND_DOCUMENT_BEGIN(arr, key, &d);
    BSON_APPEND_UTF8(&d, "role", role);
    BSON_APPEND_UTF8(&d, "db", db);
    bson_append_document_end(arr, &d);
}

/* expand -- one role into privs, recursively through custom roles. */
static int expand(micad_t *m, const char *role, const char *db, int depth, seen_t *seen,
                  wire_privset_t *privs, bson_t *all_roles, status_t *st)
{
    char id[200];
    bson_t doc;
    bool found;
    bson_iter_t it, arr;
    int ret = 0;

    (void)snprintf(id, sizeof(id), "%s.%s", db, role);
    for (size_t i = 0; i < seen->n; i++)
        if (strcmp(seen->ids[i], id) == 0)
            return 0;
    if (seen->n < sizeof(seen->ids) / sizeof(seen->ids[0]))
        memcpy(seen->ids[seen->n++], id, sizeof(id));
    if (depth > MICAD_AUTH_MAX_ROLE_DEPTH)
        return 0;
    if (wire_builtin_role(role, db, privs)) {
        if (all_roles)
            append_role(all_roles, role, db);
        return 0;
    }
    ST_RET(micad_auth_get(m, "system.roles", id, &doc, &found, st));
    if (!found)
        goto out;
    if (all_roles)
        append_role(all_roles, role, db);
    if (bson_iter_init_find(&it, &doc, "privileges") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            bson_t pd;
            wire_privilege_t p;
            status_t ignored = STATUS_INIT;
            if (micad_db_arg_doc(&arr, "privileges", &pd, &ignored) != 0)
                continue;
            if (wire_privilege_from_bson(&pd, &p, &ignored) == 0)
                wire_privset_add(privs, &p.res, &p.actions);
        }
    }
    if (bson_iter_init_find(&it, &doc, "roles") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            const char *r, *d;
            if (role_ref(&arr, &r, &d))
                ST_ERR(expand(m, r, d, depth + 1, seen, privs, all_roles, st));
        }
    }
out:
err:
    bson_destroy(&doc);
    return ret;
}

/* micad_auth_resolve_roles -- every role of the array, expanded. */
int micad_auth_resolve_roles(micad_t *m, const bson_t *roles, wire_privset_t *privs,
                             bson_t *all_roles, status_t *st)
{
    bson_iter_t it;
    seen_t *seen = bson_malloc0(sizeof(*seen));
    int ret = 0;

    if (bson_iter_init(&it, roles)) {
        while (bson_iter_next(&it)) {
            const char *r, *d;
            if (role_ref(&it, &r, &d))
                ST_ERR(expand(m, r, d, 0, seen, privs, all_roles, st));
        }
    }
err:
    bson_free(seen);
    return ret;
}

/* micad_auth_role_exists -- built in, or a document in admin.system.roles. */
bool micad_auth_role_exists(micad_t *m, const char *role, const char *db)
{
    char id[200];
    bson_t doc;
    bool found = false;
    status_t st = STATUS_INIT;
    if (wire_builtin_role(role, db, NULL))
        return true;
    (void)snprintf(id, sizeof(id), "%s.%s", db, role);
    (void)micad_auth_get(m, "system.roles", id, &doc, &found, &st);
    bson_destroy(&doc);
    return found;
}

/* micad_auth_parse_role_list -- "name" or {role, db}; every role must exist. */
int micad_auth_parse_role_list(micad_t *m, const bson_iter_t *it, const char *dflt_db,
                               const char *cmd, bson_t *out, status_t *st)
{
    bson_iter_t arr;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field '%s.roles' is the wrong type, expected type 'array'", cmd);
    while (bson_iter_next(&arr)) {
        const char *role, *db;
        if (BSON_ITER_HOLDS_UTF8(&arr)) {
            role = bson_iter_utf8(&arr, NULL);
            db = dflt_db;
        } else if (!role_ref(&arr, &role, &db)) {
            return status_set(st, ERR_BadValue,
                              "Role names must be either strings or objects with 'role' and "
                              "'db' fields");
        }
        if (!micad_auth_role_exists(m, role, db))
            return status_set(st, ERR_RoleNotFound, "Could not find role: %s@%s", role, db);
        bool dup = false;
        bson_iter_t o;
        if (bson_iter_init(&o, out)) {
            while (bson_iter_next(&o)) {
                const char *r2, *d2;
                if (role_ref(&o, &r2, &d2) && strcmp(r2, role) == 0 && strcmp(d2, db) == 0)
                    dup = true;
            }
        }
        if (!dup)
            append_role(out, role, db);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Logging in                                                                */
/* ------------------------------------------------------------------------ */

/* is_system_user -- __system authenticates against local (or admin), with the keyFile. */
static bool is_system_user(const char *user, const char *db)
{
    return strcmp(user, "__system") == 0 && (strcmp(db, "local") == 0 || strcmp(db, "admin") == 0);
}

/* micad_auth_scram_cred -- system.users, or the keyFile for __system. */
int micad_auth_scram_cred(micad_t *m, const char *user, const char *db, wire_scram_mech_t mech,
                          wire_scram_cred_t *cred, bool *found, status_t *st)
{
    char id[400];
    bson_t doc, sub;
    bson_iter_t it;
    int ret = 0;

    *found = false;
    if (is_system_user(user, db)) {
        uint8_t salt[WIRE_SCRAM_MAX_HASH];
        char *input = NULL;
        if (g_keyfile_secret == NULL)
            return 0;
        /*
         * The salt is derived from the key itself (the first bytes of its
         * SHA-256), so every member derives the same credential without any
         * stored state; the key never leaves the process.
         */
        uint8_t digest[32];
        unsigned int dl = 0;
        if (EVP_Digest(g_keyfile_secret, strlen(g_keyfile_secret), digest, &dl, EVP_sha256(),
                       NULL) != 1)
            return status_set(st, ERR_InternalError, "digest failed");
        memcpy(salt, digest, wire_scram_hash_len(mech) - 4);
        ST_RET(wire_scram_password_input(mech, "__system", g_keyfile_secret, &input, st));
        ret = wire_scram_cred_derive(mech, input, salt, wire_scram_hash_len(mech) - 4,
                                     mech == WIRE_SCRAM_SHA1 ? WIRE_SCRAM_SHA1_ITERATIONS
                                                             : WIRE_SCRAM_SHA256_ITERATIONS,
                                     cred, st);
        wire_scram_wipe_free(input);
        OPENSSL_cleanse(digest, sizeof(digest));
        *found = ret == 0;
        return ret;
    }
    (void)snprintf(id, sizeof(id), "%s.%s", db, user);
    ST_RET(micad_auth_get(m, "system.users", id, &doc, found, st));
    if (*found) {
        *found = false;
        if (bson_iter_init_find(&it, &doc, "credentials") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
            bson_iter_recurse(&it, &it) && bson_iter_find(&it, wire_scram_mech_name(mech)) &&
            micad_db_arg_doc(&it, "credentials", &sub, st) == 0) {
            ret = wire_scram_cred_from_bson(mech, &sub, cred, st);
            *found = ret == 0;
        }
        status_reset(st);
        ret = 0;
    }
    bson_destroy(&doc);
    return ret;
}

/* resolve_session -- fill the session's roles and privileges for its user. */
static int resolve_session(micad_t *m, wire_auth_session_t *s, bool *gone, status_t *st)
{
    char id[400];
    bson_t doc;
    bson_iter_t it;
    bool found;
    int ret = 0;

    *gone = false;
    bson_reinit(&s->roles);
    wire_privset_destroy(&s->privs);
    s->generation = micad_auth_generation();
    if (is_system_user(s->user, s->db)) {
        s->is_system = true;
        append_role(&s->roles, "__system", "admin");
        return wire_builtin_role("__system", "admin", &s->privs) ? 0 : ERR_InternalError;
    }
    (void)snprintf(id, sizeof(id), "%s.%s", s->db, s->user);
    ST_RET(micad_auth_get(m, "system.users", id, &doc, &found, st));
    if (!found) {
        *gone = true;
        goto err;
    }
    if (bson_iter_init_find(&it, &doc, "roles") && BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_t roles;
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&it, &len, &data);
        if (bson_init_static(&roles, data, len)) {
            bson_t all = BSON_INITIALIZER;
            ret = micad_auth_resolve_roles(m, &roles, &s->privs, &all, st);
            bson_destroy(&all);
            bson_destroy(&s->roles);
            bson_copy_to(&roles, &s->roles);
        }
    }
err:
    bson_destroy(&doc);
    return ret;
}

/* micad_auth_login -- the conversation succeeded: the connection is this user now. */
int micad_auth_login(micad_t *m, wire_opctx_t *op, const char *user, const char *db,
                     const char *mech, status_t *st)
{
    wire_auth_session_t *s = wire_auth_session_get(op->conn);
    bool gone;

    wire_auth_session_logout(s);
    (void)snprintf(s->user, sizeof(s->user), "%s", user);
    (void)snprintf(s->db, sizeof(s->db), "%s", db);
    ST_RET(resolve_session(m, s, &gone, st));
    if (gone) {
        wire_auth_session_logout(s);
        return status_set(st, ERR_AuthenticationFailed, "Authentication failed.");
    }
    s->authenticated = true;
    LOG(INFO, ACCESS, 5286306, "Successfully authenticated", "client", BCON_UTF8(op->conn->remote),
        "isSpeculative", BCON_BOOL(false), "isClusterMember", BCON_BOOL(s->is_system), "mechanism",
        BCON_UTF8(mech), "user", BCON_UTF8(user), "db", BCON_UTF8(db));
    return 0;
}

/* micad_auth_refresh -- a user/role changed since the privileges were resolved. */
int micad_auth_refresh(micad_t *m, wire_opctx_t *op, status_t *st)
{
    wire_auth_session_t *s = op->conn ? op->conn->auth : NULL;
    bool gone;
    if (s == NULL || !s->authenticated || s->generation == micad_auth_generation())
        return 0;
    ST_RET(resolve_session(m, s, &gone, st));
    if (gone) /* the user was dropped: the connection keeps no privilege */
        wire_privset_destroy(&s->privs);
    return 0;
}

/* micad_auth_internal_authenticate -- authenticate a new intra-cluster connection as __system. */
int micad_auth_internal_authenticate(wire_scram_call_fn call, void *ctx, status_t *st)
{
    char *input = NULL;
    int ret;
    if (g_keyfile_secret == NULL)
        return 0; /* no keyFile: members talk without authenticating */
    ST_RET(wire_scram_password_input(WIRE_SCRAM_SHA256, "__system", g_keyfile_secret, &input, st));
    ret = wire_scram_authenticate(WIRE_SCRAM_SHA256, "local", "__system", input, call, ctx, st);
    wire_scram_wipe_free(input);
    return ret;
}

/* micad_auth_internal_client_auth -- the keyFile conversation for wire_client_pool_set_auth. */
int micad_auth_internal_client_auth(wire_client_auth_t *out, bool *enabled, status_t *st)
{
    char *input = NULL;
    int ret;
    memset(out, 0, sizeof(*out));
    *enabled = g_keyfile_secret != NULL;
    if (!*enabled)
        return 0;
    ST_RET(wire_scram_password_input(WIRE_SCRAM_SHA256, "__system", g_keyfile_secret, &input, st));
    ret = wire_scram_client_auth_init(out, WIRE_SCRAM_SHA256, "local", "__system", input, st);
    wire_scram_wipe_free(input);
    return ret;
}
