/*
 * user_management.c -- createUser, updateUser, dropUser,
 * dropAllUsersFromDatabase, usersInfo, grantRolesToUser, revokeRolesFromUser:
 * documents of admin.system.users in MongoDB's shape (see mongod/auth/users.c).
 *
 * The seven commands share their parsing (a user name, a roles array, the
 * credentials a password makes) and one document shape, so they live in one
 * file rather than seven. Passwords never reach a log line or an error
 * message: the command document is logged by nobody here, and the slow-query
 * log redacts these commands (wire/conn.c).
 */
#include "mongod/auth.h"
#include "mongod/db.h"

#include <openssl/rand.h>
#include <string.h>

/* user_id -- "<db>.<user>", system.users' _id. */
static void user_id(const char *db, const char *user, char *out, size_t cap)
{
    (void)snprintf(out, cap, "%s.%s", db, user);
}

/* name_arg -- the command's first field: a non-empty user or role name. */
static int name_arg(const bson_t *cmd, const char *cmd_name, const char **name, status_t *st)
{
    bson_iter_t it;
    uint32_t len;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field '%s' is the wrong type, expected type 'string'", cmd_name);
    *name = bson_iter_utf8(&it, &len);
    if (len == 0 || strlen(*name) != len || len > WIRE_SCRAM_MAX_USER)
        return status_set(st, ERR_BadValue, "User and role names must be non-empty strings");
    return 0;
}

/* mechanisms_t -- which SCRAM credentials to keep. */
typedef struct mechanisms {
    bool sha1, sha256;
} mechanisms_t;

/* parse_mechanisms -- a subset of ["SCRAM-SHA-1", "SCRAM-SHA-256"]; default both. */
static int parse_mechanisms(const bson_iter_t *it, mechanisms_t *mm, status_t *st)
{
    bson_iter_t arr;
    mm->sha1 = mm->sha256 = false;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr))
        return status_set(st, ERR_TypeMismatch, "mechanisms field must be an array");
    while (bson_iter_next(&arr)) {
        wire_scram_mech_t m = BSON_ITER_HOLDS_UTF8(&arr)
                                  ? wire_scram_mech_by_name(bson_iter_utf8(&arr, NULL))
                                  : (wire_scram_mech_t)0;
        if (m == 0)
            return status_set(st, ERR_BadValue, "Unknown auth mechanism");
        if (m == WIRE_SCRAM_SHA1)
            mm->sha1 = true;
        else
            mm->sha256 = true;
    }
    if (!mm->sha1 && !mm->sha256)
        return status_set(st, ERR_BadValue, "mechanisms field must not be empty");
    return 0;
}

/* append_credentials -- credentials: {SCRAM-SHA-1: {...}, SCRAM-SHA-256: {...}}. */
static int append_credentials(const char *user, const char *pwd, bool digest_password,
                              const mechanisms_t *mm, bson_t *doc, status_t *st)
{
    bson_t creds, c;
    int ret = 0;

    if (pwd == NULL || pwd[0] == '\0')
        return status_set(st, ERR_BadValue, "Password cannot be empty");
    if (!digest_password && mm->sha256)
        return status_set(st, ERR_BadValue, "Use of SCRAM-SHA-256 requires undigested passwords");
    BSON_APPEND_DOCUMENT_BEGIN(doc, "credentials", &creds);
    if (mm->sha1) {
        wire_scram_cred_t cred;
        if (digest_password) {
            ret = wire_scram_cred_new(WIRE_SCRAM_SHA1, user, pwd, WIRE_SCRAM_SHA1_ITERATIONS, &cred,
                                      st);
        } else { /* the client sent MongoDB's SHA-1 digest itself */
            uint8_t salt[16];
            if (RAND_bytes(salt, sizeof(salt)) != 1)
                ret = status_set(st, ERR_InternalError, "RAND_bytes failed");
            else
                ret = wire_scram_cred_derive(WIRE_SCRAM_SHA1, pwd, salt, sizeof(salt),
                                             WIRE_SCRAM_SHA1_ITERATIONS, &cred, st);
        }
        if (ret == 0) {
            BSON_APPEND_DOCUMENT_BEGIN(&creds, "SCRAM-SHA-1", &c);
            wire_scram_cred_to_bson(&cred, &c);
            bson_append_document_end(&creds, &c);
        }
        OPENSSL_cleanse(&cred, sizeof(cred));
    }
    if (ret == 0 && mm->sha256) {
        wire_scram_cred_t cred;
        ret = wire_scram_cred_new(WIRE_SCRAM_SHA256, user, pwd, WIRE_SCRAM_SHA256_ITERATIONS, &cred,
                                  st);
        if (ret == 0) {
            BSON_APPEND_DOCUMENT_BEGIN(&creds, "SCRAM-SHA-256", &c);
            wire_scram_cred_to_bson(&cred, &c);
            bson_append_document_end(&creds, &c);
        }
        OPENSSL_cleanse(&cred, sizeof(cred));
    }
    bson_append_document_end(doc, &creds);
    return ret;
}

/* user_args_t -- the optional fields of createUser / updateUser. */
typedef struct user_args {
    const char *pwd;
    bool has_custom;
    bson_t custom;
    bool has_roles;
    bson_t roles; /* [{role, db}], initialised always */
    bool has_mechs;
    mechanisms_t mechs;
    bool digest;
} user_args_t;

/* parse_user_args -- every field of createUser/updateUser, unknown ones refused. */
static int parse_user_args(micad_t *m, wire_opctx_t *op, const bson_t *cmd, user_args_t *a,
                           status_t *st)
{
    bson_iter_t it;
    memset(a, 0, sizeof(*a));
    bson_init(&a->roles);
    a->digest = true;
    a->mechs.sha1 = a->mechs.sha256 = true;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it))
        return status_set(st, ERR_BadValue, "empty command");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "pwd") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return status_set(st, ERR_TypeMismatch, "pwd must be a string");
            a->pwd = bson_iter_utf8(&it, NULL);
        } else if (strcmp(k, "customData") == 0) {
            ST_RET(micad_db_arg_doc(&it, op->name, &a->custom, st));
            a->has_custom = true;
        } else if (strcmp(k, "roles") == 0) {
            ST_RET(micad_auth_parse_role_list(m, &it, op->db, op->name, &a->roles, st));
            a->has_roles = true;
        } else if (strcmp(k, "mechanisms") == 0) {
            ST_RET(parse_mechanisms(&it, &a->mechs, st));
            a->has_mechs = true;
        } else if (strcmp(k, "digestPassword") == 0) {
            ST_RET(micad_db_arg_bool(&it, op->name, &a->digest, st));
        } else if (strcmp(k, "authenticationRestrictions") == 0) {
            return status_set(st, ERR_NotImplemented,
                              "authenticationRestrictions are not supported");
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field(op->name, k, st);
        }
    }
    return 0;
}

/* append_uuid -- userId: a random UUID (binary subtype 4). */
static void append_uuid(bson_t *doc)
{
    uint8_t u[16];
    if (RAND_bytes(u, sizeof(u)) != 1)
        memset(u, 0, sizeof(u));
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    BSON_APPEND_BINARY(doc, "userId", BSON_SUBTYPE_UUID, u, sizeof(u));
}

/* micad_cmd_create_user -- {createUser, pwd, roles, customData?, mechanisms?}. */
int micad_cmd_create_user(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    const char *name;
    char id[400];
    user_args_t a;
    bson_t doc = BSON_INITIALIZER;
    bool exists;
    int ret = 0;

    (void)reply;
    ST_RET(name_arg(cmd, "createUser", &name, st));
    ST_ERR(parse_user_args(m, op, cmd, &a, st));
    if (!bson_has_field(cmd, "roles"))
        ST_ERR(status_set(st, ERR_BadValue, "\"createUser\" command requires a \"roles\" array"));
    user_id(op->db, name, id, sizeof(id));
    BSON_APPEND_UTF8(&doc, "_id", id);
    append_uuid(&doc);
    BSON_APPEND_UTF8(&doc, "user", name);
    BSON_APPEND_UTF8(&doc, "db", op->db);
    if (strcmp(op->db, "$external") == 0) {
        if (a.pwd != NULL)
            ST_ERR(status_set(st, ERR_BadValue,
                              "Cannot set a password for users on the $external database"));
        bson_t none;
        BSON_APPEND_DOCUMENT_BEGIN(&doc, "credentials", &none);
        bson_append_document_end(&doc, &none);
    } else {
        if (a.pwd == NULL)
            ST_ERR(status_set(st, ERR_BadValue,
                              "Must provide a 'pwd' field for all user documents, "
                              "except those with '$external' as the user's "
                              "source db"));
        ST_ERR(append_credentials(name, a.pwd, a.digest, &a.mechs, &doc, st));
    }
    BSON_APPEND_ARRAY(&doc, "roles", &a.roles);
    if (a.has_custom)
        BSON_APPEND_DOCUMENT(&doc, "customData", &a.custom);
    ST_ERR(micad_auth_put(m, "system.users", &doc, true, &exists, st));
    if (exists)
        ST_ERR(
            status_set(st, MICAD_ERR_USER_EXISTS, "User \"%s@%s\" already exists", name, op->db));
    LOG(INFO, ACCESS, 20438, "Created user", "user", BCON_UTF8(name), "db", BCON_UTF8(op->db));
err:
    bson_destroy(&a.roles);
    bson_destroy(&doc);
    return ret;
}

/* load_user -- the user document of name@db; UserNotFound 11 with MongoDB's message. */
static int load_user(micad_t *m, const char *db, const char *name, bson_t *doc, status_t *st)
{
    char id[400];
    bool found;
    user_id(db, name, id, sizeof(id));
    ST_RET(micad_auth_get(m, "system.users", id, doc, &found, st));
    if (!found)
        return status_set(st, ERR_UserNotFound, "Could not find user \"%s@%s\"", name, db);
    return 0;
}

/* user_mechs -- the mechanisms a stored user has credentials for. */
static void user_mechs(const bson_t *doc, mechanisms_t *mm)
{
    bson_iter_t it;
    mm->sha1 = mm->sha256 = false;
    if (bson_iter_init_find(&it, doc, "credentials") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
        bson_iter_recurse(&it, &it)) {
        while (bson_iter_next(&it)) {
            mm->sha1 |= strcmp(bson_iter_key(&it), "SCRAM-SHA-1") == 0;
            mm->sha256 |= strcmp(bson_iter_key(&it), "SCRAM-SHA-256") == 0;
        }
    }
}

/* rewrite_user -- old with credentials / roles / customData replaced where given. */
static int rewrite_user(const bson_t *old, const char *name, const user_args_t *a,
                        const bson_t *roles, bson_t *out, status_t *st)
{
    bson_iter_t it;
    bool done_roles = false, done_custom = false;

    if (!bson_iter_init(&it, old))
        return status_set(st, ERR_InternalError, "bad user document");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "credentials") == 0) {
            if (a->pwd != NULL) {
                mechanisms_t mm = a->mechs;
                if (!a->has_mechs)
                    user_mechs(old, &mm);
                if (!mm.sha1 && !mm.sha256)
                    mm.sha1 = mm.sha256 = true;
                ST_RET(append_credentials(name, a->pwd, a->digest, &mm, out, st));
                continue;
            }
            if (a->has_mechs) { /* keep only the credentials still wanted */
                bson_t c;
                bson_iter_t ci;
                mechanisms_t have;
                user_mechs(old, &have);
                if ((a->mechs.sha1 && !have.sha1) || (a->mechs.sha256 && !have.sha256))
                    return status_set(st, ERR_BadValue,
                                      "mechanisms field must be a subset of previously set "
                                      "mechanisms");
                BSON_APPEND_DOCUMENT_BEGIN(out, "credentials", &c);
                if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &ci)) {
                    while (bson_iter_next(&ci)) {
                        wire_scram_mech_t mk = wire_scram_mech_by_name(bson_iter_key(&ci));
                        if ((mk == WIRE_SCRAM_SHA1 && a->mechs.sha1) ||
                            (mk == WIRE_SCRAM_SHA256 && a->mechs.sha256))
                            bson_append_iter(&c, NULL, 0, &ci);
                    }
                }
                bson_append_document_end(out, &c);
                continue;
            }
        } else if (strcmp(k, "roles") == 0 && roles != NULL) {
            BSON_APPEND_ARRAY(out, "roles", roles);
            done_roles = true;
            continue;
        } else if (strcmp(k, "customData") == 0 && a->has_custom) {
            BSON_APPEND_DOCUMENT(out, "customData", &a->custom);
            done_custom = true;
            continue;
        }
        bson_append_iter(out, NULL, 0, &it);
    }
    if (roles != NULL && !done_roles)
        BSON_APPEND_ARRAY(out, "roles", roles);
    if (a->has_custom && !done_custom)
        BSON_APPEND_DOCUMENT(out, "customData", &a->custom);
    return 0;
}

/* micad_cmd_update_user -- {updateUser, pwd?, customData?, roles?, mechanisms?}. */
int micad_cmd_update_user(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    const char *name;
    user_args_t a;
    bson_t old, doc = BSON_INITIALIZER;
    bool exists;
    int ret = 0;

    (void)reply;
    bson_init(&old);
    ST_RET(name_arg(cmd, "updateUser", &name, st));
    ST_ERR(parse_user_args(m, op, cmd, &a, st));
    if (a.pwd == NULL && !a.has_custom && !a.has_roles && !a.has_mechs)
        ST_ERR(status_set(st, ERR_BadValue,
                          "Must specify at least one field to update in "
                          "updateUser"));
    bson_destroy(&old);
    ST_ERR(load_user(m, op->db, name, &old, st));
    ST_ERR(rewrite_user(&old, name, &a, a.has_roles ? &a.roles : NULL, &doc, st));
    ST_ERR(micad_auth_put(m, "system.users", &doc, false, &exists, st));
err:
    bson_destroy(&a.roles);
    bson_destroy(&old);
    bson_destroy(&doc);
    return ret;
}

/* pred_id_t / pred_id -- delete by _id. */
static bool pred_id(const bson_t *doc, void *arg)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it) &&
           strcmp(bson_iter_utf8(&it, NULL), (const char *)arg) == 0;
}

/* pred_db -- delete every document whose db field is arg. */
static bool pred_db(const bson_t *doc, void *arg)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "db") && BSON_ITER_HOLDS_UTF8(&it) &&
           strcmp(bson_iter_utf8(&it, NULL), (const char *)arg) == 0;
}

/* micad_cmd_drop_user -- {dropUser: name}. */
int micad_cmd_drop_user(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    const char *name;
    char id[400];
    int64_t n;
    (void)reply;
    ST_RET(name_arg(cmd, "dropUser", &name, st));
    user_id(op->db, name, id, sizeof(id));
    ST_RET(micad_auth_delete(micad_of(op), "system.users", pred_id, id, &n, st));
    if (n == 0)
        return status_set(st, ERR_UserNotFound, "Could not find user \"%s@%s\"", name, op->db);
    LOG(INFO, ACCESS, 20439, "Dropped user", "user", BCON_UTF8(name), "db", BCON_UTF8(op->db));
    return 0;
}

/* micad_cmd_drop_all_users_from_database -- {dropAllUsersFromDatabase: 1} -> {n}. */
int micad_cmd_drop_all_users_from_database(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                           status_t *st)
{
    int64_t n;
    (void)cmd;
    ST_RET(micad_auth_delete(micad_of(op), "system.users", pred_db, op->db, &n, st));
    micad_append_number(reply, "n", n);
    return 0;
}

/* change_roles -- grantRolesToUser (add) / revokeRolesFromUser (remove). */
static int change_roles(wire_opctx_t *op, const bson_t *cmd, bool grant, status_t *st)
{
    micad_t *m = micad_of(op);
    const char *name;
    bson_iter_t it, cur;
    bson_t old, given = BSON_INITIALIZER, roles = BSON_INITIALIZER, doc = BSON_INITIALIZER;
    user_args_t none;
    bool exists;
    int ret = 0;

    memset(&none, 0, sizeof(none));
    bson_init(&old);
    ST_ERR(name_arg(cmd, op->name, &name, st));
    if (!bson_iter_init_find(&it, cmd, "roles"))
        ST_ERR(status_set(st, ERR_BadValue, "\"%s\" command requires a non-empty \"roles\" array",
                          op->name));
    if (grant) {
        ST_ERR(micad_auth_parse_role_list(m, &it, op->db, op->name, &given, st));
    } else { /* revoking a role that no longer exists is allowed */
        bson_iter_t arr;
        if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
            ST_ERR(status_set(st, ERR_TypeMismatch, "roles must be an array"));
        while (bson_iter_next(&arr)) {
            char key[16];
            bson_t d;
            bson_iter_t sub;
            const char *r = NULL, *db = op->db;
            if (BSON_ITER_HOLDS_UTF8(&arr)) {
                r = bson_iter_utf8(&arr, NULL);
            } else if (BSON_ITER_HOLDS_DOCUMENT(&arr) && bson_iter_recurse(&arr, &sub)) {
                while (bson_iter_next(&sub)) {
                    if (strcmp(bson_iter_key(&sub), "role") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                        r = bson_iter_utf8(&sub, NULL);
                    if (strcmp(bson_iter_key(&sub), "db") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                        db = bson_iter_utf8(&sub, NULL);
                }
            }
            if (r == NULL)
                ST_ERR(status_set(st, ERR_BadValue,
                                  "Role names must be either strings or "
                                  "objects with 'role' and 'db' fields"));
            (void)snprintf(key, sizeof(key), "%u", bson_count_keys(&given));
            BSON_APPEND_DOCUMENT_BEGIN(&given, key, &d);
            BSON_APPEND_UTF8(&d, "role", r);
            BSON_APPEND_UTF8(&d, "db", db);
            bson_append_document_end(&given, &d);
        }
    }
    ST_ERR(load_user(m, op->db, name, &old, st));
    /* the new list: the old roles (minus revoked ones), then granted ones not already there */
    uint32_t n = 0;
    if (bson_iter_init_find(&cur, &old, "roles") && BSON_ITER_HOLDS_ARRAY(&cur) &&
        bson_iter_recurse(&cur, &cur)) {
        while (bson_iter_next(&cur)) {
            bool listed = false;
            bson_iter_t g;
            bson_t rd;
            if (micad_db_arg_doc(&cur, "roles", &rd, st) != 0) {
                status_reset(st);
                continue;
            }
            bson_iter_init(&g, &given);
            while (bson_iter_next(&g)) {
                bson_t gd;
                if (micad_db_arg_doc(&g, "roles", &gd, st) == 0 && bson_equal(&gd, &rd))
                    listed = true;
            }
            if (grant || !listed) {
                char key[16];
                (void)snprintf(key, sizeof(key), "%u", n++);
                BSON_APPEND_DOCUMENT(&roles, key, &rd);
            }
        }
    }
    if (grant) {
        bson_iter_t g;
        bson_iter_init(&g, &given);
        while (bson_iter_next(&g)) {
            bson_t gd;
            bool have = false;
            if (micad_db_arg_doc(&g, "roles", &gd, st) != 0)
                continue;
            bson_iter_t r;
            bson_iter_init(&r, &roles);
            while (bson_iter_next(&r)) {
                bson_t rd;
                if (micad_db_arg_doc(&r, "roles", &rd, st) == 0 && bson_equal(&gd, &rd))
                    have = true;
            }
            if (!have) {
                char key[16];
                (void)snprintf(key, sizeof(key), "%u", n++);
                BSON_APPEND_DOCUMENT(&roles, key, &gd);
            }
        }
    }
    ST_ERR(rewrite_user(&old, name, &none, &roles, &doc, st));
    ST_ERR(micad_auth_put(m, "system.users", &doc, false, &exists, st));
err:
    bson_destroy(&old);
    bson_destroy(&given);
    bson_destroy(&roles);
    bson_destroy(&doc);
    return ret;
}

/* micad_cmd_grant_roles_to_user -- {grantRolesToUser: name, roles: [...]}. */
int micad_cmd_grant_roles_to_user(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)reply;
    return change_roles(op, cmd, true, st);
}

/* micad_cmd_revoke_roles_from_user -- {revokeRolesFromUser: name, roles: [...]}. */
int micad_cmd_revoke_roles_from_user(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                     status_t *st)
{
    (void)reply;
    return change_roles(op, cmd, false, st);
}

/* wanted_t -- usersInfo's selection. */
typedef struct wanted {
    bool all_dbs; /* {forAllDBs: true} */
    bool all;     /* usersInfo: 1 -- every user of $db */
    bson_t names; /* [{user, db}] */
} wanted_t;

/* add_wanted -- "name" (on $db) or {user, db}. */
static int add_wanted(const bson_iter_t *it, const char *db, bson_t *names, status_t *st)
{
    char key[16];
    bson_t d;
    const char *u = NULL, *udb = db;
    if (BSON_ITER_HOLDS_UTF8(it)) {
        u = bson_iter_utf8(it, NULL);
    } else if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_iter_t sub;
        bson_iter_recurse(it, &sub);
        while (bson_iter_next(&sub)) {
            if (strcmp(bson_iter_key(&sub), "user") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                u = bson_iter_utf8(&sub, NULL);
            else if (strcmp(bson_iter_key(&sub), "db") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                udb = bson_iter_utf8(&sub, NULL);
        }
    }
    if (u == NULL)
        return status_set(st, ERR_BadValue,
                          "User name must be either a string or an object with 'user' and 'db'");
    (void)snprintf(key, sizeof(key), "%u", bson_count_keys(names));
    BSON_APPEND_DOCUMENT_BEGIN(names, key, &d);
    BSON_APPEND_UTF8(&d, "user", u);
    BSON_APPEND_UTF8(&d, "db", udb);
    bson_append_document_end(names, &d);
    return 0;
}

/* is_wanted -- whether a stored user matches the selection. */
static bool is_wanted(const wanted_t *w, const char *db, const bson_t *doc)
{
    bson_iter_t it, n;
    const char *u = NULL, *d = NULL;
    if (bson_iter_init_find(&it, doc, "user") && BSON_ITER_HOLDS_UTF8(&it))
        u = bson_iter_utf8(&it, NULL);
    if (bson_iter_init_find(&it, doc, "db") && BSON_ITER_HOLDS_UTF8(&it))
        d = bson_iter_utf8(&it, NULL);
    if (u == NULL || d == NULL)
        return false;
    if (w->all_dbs)
        return true;
    if (w->all)
        return strcmp(d, db) == 0;
    bson_iter_init(&n, &w->names);
    while (bson_iter_next(&n)) {
        bson_iter_t sub;
        const char *wu = NULL, *wd = NULL;
        bson_iter_recurse(&n, &sub);
        while (bson_iter_next(&sub)) {
            if (strcmp(bson_iter_key(&sub), "user") == 0)
                wu = bson_iter_utf8(&sub, NULL);
            else
                wd = bson_iter_utf8(&sub, NULL);
        }
        if (wu && wd && strcmp(wu, u) == 0 && strcmp(wd, d) == 0)
            return true;
    }
    return false;
}

/* micad_cmd_users_info -- {usersInfo: 1 | name | {user, db} | [...] | {forAllDBs: true}}. */
int micad_cmd_users_info(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it, arr;
    bool show_creds = false, show_privs = false;
    wanted_t w;
    bson_t all = BSON_INITIALIZER, users;
    uint32_t n = 0;
    int ret = 0;

    memset(&w, 0, sizeof(w));
    bson_init(&w.names);
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (BSON_ITER_HOLDS_NUMBER(&it)) {
        w.all = true;
    } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_iter_recurse(&it, &arr);
        while (bson_iter_next(&arr))
            ST_ERR(add_wanted(&arr, op->db, &w.names, st));
    } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_t sub;
        bson_iter_recurse(&it, &sub);
        if (bson_iter_find(&sub, "forAllDBs"))
            w.all_dbs = bson_iter_as_bool(&sub);
        else
            ST_ERR(add_wanted(&it, op->db, &w.names, st));
    } else {
        ST_ERR(add_wanted(&it, op->db, &w.names, st));
    }
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "showCredentials") == 0)
            show_creds = bson_iter_as_bool(&it);
        else if (strcmp(k, "showPrivileges") == 0)
            show_privs = bson_iter_as_bool(&it);
        else if (strcmp(k, "showAuthenticationRestrictions") == 0 ||
                 strcmp(k, "showCustomData") == 0 || strcmp(k, "filter") == 0)
            continue;
        else if (!micad_db_is_generic_arg(k))
            ST_ERR(micad_db_unknown_field("usersInfo", k, st));
    }
    ST_ERR(micad_auth_list(m, "system.users", &all, st));
    BSON_APPEND_ARRAY_BEGIN(reply, "users", &users);
    bson_iter_init(&arr, &all);
    while (bson_iter_next(&arr)) {
        bson_t doc, out, mechs;
        bson_iter_t f;
        char key[16];
        uint32_t nm = 0;
        if (micad_db_arg_doc(&arr, "users", &doc, st) != 0 || !is_wanted(&w, op->db, &doc))
            continue;
        (void)snprintf(key, sizeof(key), "%u", n++);
        BSON_APPEND_DOCUMENT_BEGIN(&users, key, &out);
        bson_iter_init(&f, &doc);
        while (bson_iter_next(&f)) {
            if (strcmp(bson_iter_key(&f), "credentials") == 0 && !show_creds)
                continue;
            bson_append_iter(&out, NULL, 0, &f);
        }
        BSON_APPEND_ARRAY_BEGIN(&out, "mechanisms", &mechs);
        if (bson_iter_init_find(&f, &doc, "credentials") && BSON_ITER_HOLDS_DOCUMENT(&f) &&
            bson_iter_recurse(&f, &f)) {
            while (bson_iter_next(&f)) {
                char mk[8];
                (void)snprintf(mk, sizeof(mk), "%u", nm++);
                BSON_APPEND_UTF8(&mechs, mk, bson_iter_key(&f));
            }
        }
        bson_append_array_end(&out, &mechs);
        if (show_privs && bson_iter_init_find(&f, &doc, "roles") && BSON_ITER_HOLDS_ARRAY(&f)) {
            wire_privset_t privs;
            bson_t roles, inherited = BSON_INITIALIZER, pa;
            uint32_t len;
            const uint8_t *data;
            wire_privset_init(&privs);
            bson_iter_array(&f, &len, &data);
            if (bson_init_static(&roles, data, len) &&
                micad_auth_resolve_roles(m, &roles, &privs, &inherited, st) == 0) {
                BSON_APPEND_ARRAY(&out, "inheritedRoles", &inherited);
                BSON_APPEND_ARRAY_BEGIN(&out, "inheritedPrivileges", &pa);
                wire_privset_to_bson(&privs, &pa);
                bson_append_array_end(&out, &pa);
            }
            status_reset(st);
            bson_destroy(&inherited);
            wire_privset_destroy(&privs);
        }
        bson_append_document_end(&users, &out);
    }
    bson_append_array_end(reply, &users);
err:
    bson_destroy(&all);
    bson_destroy(&w.names);
    return ret;
}
