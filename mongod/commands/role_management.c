/*
 * role_management.c -- createRole, updateRole, dropRole,
 * dropAllRolesFromDatabase, rolesInfo, grantPrivilegesToRole,
 * revokePrivilegesFromRole, grantRolesToRole, revokeRolesFromRole: the custom
 * roles of admin.system.roles ({_id: "<db>.<role>", role, db, privileges,
 * roles}) and the built-in ones (wire/authz.c) for rolesInfo. Grouped in one
 * file because they share one document shape and its parsers.
 */
#include "mongod/auth.h"
#include "mongod/db.h"

#include <string.h>

/* role_name -- the first field: a role name (not a built-in one when creating). */
static int role_name(const bson_t *cmd, const char *cmd_name, const char **name, status_t *st)
{
    bson_iter_t it;
    uint32_t len;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field '%s' is the wrong type, expected type 'string'", cmd_name);
    *name = bson_iter_utf8(&it, &len);
    if (len == 0 || strlen(*name) != len || len > 128)
        return status_set(st, ERR_BadValue, "Role names must be non-empty strings");
    return 0;
}

/* parse_privileges -- cmd.privileges into privs; a role off admin stays in its database. */
static int parse_privileges(const bson_iter_t *it, const char *db, wire_privset_t *privs,
                            status_t *st)
{
    bson_iter_t arr;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr))
        return status_set(st, ERR_TypeMismatch, "privileges must be an array");
    while (bson_iter_next(&arr)) {
        bson_t d;
        wire_privilege_t p;
        ST_RET(micad_db_arg_doc(&arr, "privileges", &d, st));
        ST_RET(wire_privilege_from_bson(&d, &p, st));
        if (strcmp(db, "admin") != 0 &&
            ((p.res.kind != WIRE_RES_DB && p.res.kind != WIRE_RES_NS) || strcmp(p.res.db, db) != 0))
            return status_set(st, ERR_InvalidRoleModification,
                              "Roles on the '%s' database cannot be granted privileges that "
                              "target other databases or the cluster",
                              db);
        wire_privset_add(privs, &p.res, &p.actions);
    }
    return 0;
}

/* build_role -- the stored document. */
static void build_role(const char *name, const char *db, const wire_privset_t *privs,
                       const bson_t *roles, bson_t *doc)
{
    char id[200];
    bson_t arr;
    (void)snprintf(id, sizeof(id), "%s.%s", db, name);
    BSON_APPEND_UTF8(doc, "_id", id);
    BSON_APPEND_UTF8(doc, "role", name);
    BSON_APPEND_UTF8(doc, "db", db);
    BSON_APPEND_ARRAY_BEGIN(doc, "privileges", &arr);
    wire_privset_to_bson(privs, &arr);
    bson_append_array_end(doc, &arr);
    BSON_APPEND_ARRAY(doc, "roles", roles);
}

/* load_role -- a custom role's privileges and roles; RoleNotFound 31. */
static int load_role(micad_t *m, const char *name, const char *db, wire_privset_t *privs,
                     bson_t *roles, status_t *st)
{
    char id[200];
    bson_t doc;
    bson_iter_t it, arr;
    bool found;
    int ret = 0;

    (void)snprintf(id, sizeof(id), "%s.%s", db, name);
    ST_RET(micad_auth_get(m, "system.roles", id, &doc, &found, st));
    if (!found) {
        bson_destroy(&doc);
        if (wire_builtin_role(name, db, NULL))
            return status_set(st, ERR_InvalidRoleModification, "Cannot update built-in role: %s@%s",
                              name, db);
        return status_set(st, ERR_RoleNotFound, "Role %s@%s not found", name, db);
    }
    if (bson_iter_init_find(&it, &doc, "privileges") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            bson_t d;
            wire_privilege_t p;
            if (micad_db_arg_doc(&arr, "privileges", &d, st) == 0 &&
                wire_privilege_from_bson(&d, &p, st) == 0)
                wire_privset_add(privs, &p.res, &p.actions);
            status_reset(st);
        }
    }
    if (bson_iter_init_find(&it, &doc, "roles") && BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_t r;
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&it, &len, &data);
        if (bson_init_static(&r, data, len)) {
            bson_destroy(roles);
            bson_copy_to(&r, roles);
        }
    }
    bson_destroy(&doc);
    return ret;
}

/* micad_cmd_create_role -- {createRole, privileges, roles}. */
int micad_cmd_create_role(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    const char *name;
    wire_privset_t privs;
    bson_t roles = BSON_INITIALIZER, doc = BSON_INITIALIZER;
    bson_iter_t it;
    bool exists;
    int ret = 0;

    (void)reply;
    wire_privset_init(&privs);
    ST_ERR(role_name(cmd, "createRole", &name, st));
    if (wire_builtin_role(name, op->db, NULL) || wire_builtin_role(name, "admin", NULL))
        ST_ERR(status_set(st, ERR_BadValue,
                          "Cannot create roles with the same name as a built-in role"));
    if (!bson_iter_init_find(&it, cmd, "privileges"))
        ST_ERR(status_set(st, ERR_BadValue,
                          "\"createRole\" command requires a \"privileges\" "
                          "array"));
    ST_ERR(parse_privileges(&it, op->db, &privs, st));
    if (!bson_iter_init_find(&it, cmd, "roles"))
        ST_ERR(status_set(st, ERR_BadValue, "\"createRole\" command requires a \"roles\" array"));
    ST_ERR(micad_auth_parse_role_list(m, &it, op->db, "createRole", &roles, st));
    build_role(name, op->db, &privs, &roles, &doc);
    ST_ERR(micad_auth_put(m, "system.roles", &doc, true, &exists, st));
    if (exists)
        ST_ERR(
            status_set(st, MICAD_ERR_ROLE_EXISTS, "Role \"%s@%s\" already exists", name, op->db));
err:
    wire_privset_destroy(&privs);
    bson_destroy(&roles);
    bson_destroy(&doc);
    return ret;
}

/* privset_remove -- take acts away from pattern res (entries left empty disappear). */
static void privset_remove(wire_privset_t *p, const wire_privilege_t *rm)
{
    size_t o = 0;
    for (size_t i = 0; i < p->n; i++) {
        wire_privilege_t *e = &p->v[i];
        if (e->res.kind == rm->res.kind && strcmp(e->res.db, rm->res.db) == 0 &&
            strcmp(e->res.coll, rm->res.coll) == 0) {
            e->actions.bits[0] &= ~rm->actions.bits[0];
            e->actions.bits[1] &= ~rm->actions.bits[1];
        }
        if (e->actions.bits[0] != 0 || e->actions.bits[1] != 0)
            p->v[o++] = *e;
    }
    p->n = o;
}

/* same_role -- {role, db} documents equal. */
static bool in_roles(const bson_t *roles, const bson_t *rd)
{
    bson_iter_t it;
    bson_iter_init(&it, roles);
    while (bson_iter_next(&it)) {
        bson_t d;
        status_t ignored = STATUS_INIT;
        if (micad_db_arg_doc(&it, "roles", &d, &ignored) == 0 && bson_equal(&d, rd))
            return true;
    }
    return false;
}

/* modify_role -- every command that changes an existing custom role. */
static int modify_role(wire_opctx_t *op, const bson_t *cmd, status_t *st)
{
    micad_t *m = micad_of(op);
    const char *name, *n = op->name;
    wire_privset_t privs, given;
    bson_t roles = BSON_INITIALIZER, groles = BSON_INITIALIZER, doc = BSON_INITIALIZER;
    bson_t merged = BSON_INITIALIZER;
    bson_iter_t it;
    bool exists;
    int ret = 0;

    wire_privset_init(&privs);
    wire_privset_init(&given);
    ST_ERR(role_name(cmd, n, &name, st));
    ST_ERR(load_role(m, name, op->db, &privs, &roles, st));
    bool upd = strcmp(n, "updateRole") == 0;
    bool has_privs = bson_iter_init_find(&it, cmd, "privileges");
    if (has_privs)
        ST_ERR(parse_privileges(&it, op->db, &given, st));
    bool has_roles = bson_iter_init_find(&it, cmd, "roles");
    if (has_roles)
        ST_ERR(micad_auth_parse_role_list(m, &it, op->db, n, &groles, st));
    if (upd) {
        if (!has_privs && !has_roles)
            ST_ERR(status_set(st, ERR_BadValue,
                              "Must specify at least one field to update in "
                              "updateRole"));
        if (has_privs) {
            wire_privset_destroy(&privs);
            privs = given;
            wire_privset_init(&given);
        }
        if (has_roles)
            bson_copy_to_excluding_noinit(&groles, &merged, "", NULL);
        else
            bson_copy_to_excluding_noinit(&roles, &merged, "", NULL);
    } else if (strcmp(n, "grantPrivilegesToRole") == 0 ||
               strcmp(n, "revokePrivilegesFromRole") == 0) {
        if (!has_privs)
            ST_ERR(status_set(st, ERR_BadValue,
                              "\"%s\" command requires a non-empty "
                              "\"privileges\" array",
                              n));
        for (size_t i = 0; i < given.n; i++) {
            if (n[0] == 'g')
                wire_privset_add(&privs, &given.v[i].res, &given.v[i].actions);
            else
                privset_remove(&privs, &given.v[i]);
        }
        bson_copy_to_excluding_noinit(&roles, &merged, "", NULL);
    } else { /* grantRolesToRole / revokeRolesFromRole */
        bool grant = n[0] == 'g';
        uint32_t k = 0;
        if (!has_roles)
            ST_ERR(status_set(st, ERR_BadValue,
                              "\"%s\" command requires a non-empty \"roles\" "
                              "array",
                              n));
        bson_iter_init(&it, &roles);
        while (bson_iter_next(&it)) {
            bson_t d;
            char key[16];
            if (micad_db_arg_doc(&it, "roles", &d, st) != 0)
                continue;
            if (!grant && in_roles(&groles, &d))
                continue;
            (void)snprintf(key, sizeof(key), "%u", k++);
            BSON_APPEND_DOCUMENT(&merged, key, &d);
        }
        if (grant) {
            bson_iter_init(&it, &groles);
            while (bson_iter_next(&it)) {
                bson_t d;
                char key[16];
                if (micad_db_arg_doc(&it, "roles", &d, st) != 0 || in_roles(&merged, &d))
                    continue;
                (void)snprintf(key, sizeof(key), "%u", k++);
                BSON_APPEND_DOCUMENT(&merged, key, &d);
            }
        }
    }
    build_role(name, op->db, &privs, &merged, &doc);
    ST_ERR(micad_auth_put(m, "system.roles", &doc, false, &exists, st));
err:
    wire_privset_destroy(&privs);
    wire_privset_destroy(&given);
    bson_destroy(&roles);
    bson_destroy(&groles);
    bson_destroy(&merged);
    bson_destroy(&doc);
    return ret;
}

/* micad_cmd_update_role -- {updateRole, privileges?, roles?}: replaces what is given. */
int micad_cmd_update_role(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)reply;
    return modify_role(op, cmd, st);
}

/* micad_cmd_grant_privileges_to_role -- {grantPrivilegesToRole, privileges}. */
int micad_cmd_grant_privileges_to_role(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                       status_t *st)
{
    (void)reply;
    return modify_role(op, cmd, st);
}

/* micad_cmd_revoke_privileges_from_role -- {revokePrivilegesFromRole, privileges}. */
int micad_cmd_revoke_privileges_from_role(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                          status_t *st)
{
    (void)reply;
    return modify_role(op, cmd, st);
}

/* micad_cmd_grant_roles_to_role -- {grantRolesToRole, roles}. */
int micad_cmd_grant_roles_to_role(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    (void)reply;
    return modify_role(op, cmd, st);
}

/* micad_cmd_revoke_roles_from_role -- {revokeRolesFromRole, roles}. */
int micad_cmd_revoke_roles_from_role(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                     status_t *st)
{
    (void)reply;
    return modify_role(op, cmd, st);
}

/* pred_role_id / pred_role_db -- deletion selectors. */
static bool pred_role_id(const bson_t *doc, void *arg)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it) &&
           strcmp(bson_iter_utf8(&it, NULL), (const char *)arg) == 0;
}

static bool pred_role_db(const bson_t *doc, void *arg)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "db") && BSON_ITER_HOLDS_UTF8(&it) &&
           strcmp(bson_iter_utf8(&it, NULL), (const char *)arg) == 0;
}

/* micad_cmd_drop_role -- {dropRole: name}. Grants of it stop counting at once (resolution skips
 * it). */
int micad_cmd_drop_role(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    const char *name;
    char id[200];
    int64_t n;
    (void)reply;
    ST_RET(role_name(cmd, "dropRole", &name, st));
    if (wire_builtin_role(name, op->db, NULL))
        return status_set(st, ERR_InvalidRoleModification, "Cannot drop built-in role: %s@%s", name,
                          op->db);
    (void)snprintf(id, sizeof(id), "%s.%s", op->db, name);
    ST_RET(micad_auth_delete(micad_of(op), "system.roles", pred_role_id, id, &n, st));
    if (n == 0)
        return status_set(st, ERR_RoleNotFound, "Role %s@%s not found", name, op->db);
    return 0;
}

/* micad_cmd_drop_all_roles_from_database -- {dropAllRolesFromDatabase: 1} -> {n}. */
int micad_cmd_drop_all_roles_from_database(wire_opctx_t *op, const bson_t *cmd, bson_t *reply,
                                           status_t *st)
{
    int64_t n;
    (void)cmd;
    ST_RET(micad_auth_delete(micad_of(op), "system.roles", pred_role_db, op->db, &n, st));
    micad_append_number(reply, "n", n);
    return 0;
}

/* role_info -- one rolesInfo entry. */
static void role_info(micad_t *m, const char *role, const char *db, bool builtin,
                      const bson_t *direct_roles, const wire_privset_t *direct, bool show_privs,
                      bson_t *out)
{
    bson_t one = BSON_INITIALIZER, inherited = BSON_INITIALIZER, arr;
    wire_privset_t all;
    status_t st = STATUS_INIT;
    char id[200];

    (void)snprintf(id, sizeof(id), "%s.%s", db, role);
    BSON_APPEND_UTF8(out, "_id", id);
    BSON_APPEND_UTF8(out, "role", role);
    BSON_APPEND_UTF8(out, "db", db);
    BSON_APPEND_BOOL(out, "isBuiltin", builtin);
    BSON_APPEND_ARRAY(out, "roles", direct_roles);
    wire_privset_init(&all);
    /* inherited: the role itself expanded, minus itself */
    BSON_APPEND_DOCUMENT_BEGIN(&one, "0", &arr);
    BSON_APPEND_UTF8(&arr, "role", role);
    BSON_APPEND_UTF8(&arr, "db", db);
    bson_append_document_end(&one, &arr);
    (void)micad_auth_resolve_roles(m, &one, &all, &inherited, &st);
    BSON_APPEND_ARRAY_BEGIN(out, "inheritedRoles", &arr);
    {
        bson_iter_t it;
        uint32_t n = 0;
        bson_iter_init(&it, &inherited);
        while (bson_iter_next(&it)) {
            bson_t d;
            bson_iter_t r;
            char key[16];
            if (micad_db_arg_doc(&it, "roles", &d, &st) != 0)
                continue;
            if (bson_iter_init_find(&r, &d, "role") &&
                strcmp(bson_iter_utf8(&r, NULL), role) == 0 && bson_iter_init_find(&r, &d, "db") &&
                strcmp(bson_iter_utf8(&r, NULL), db) == 0)
                continue;
            (void)snprintf(key, sizeof(key), "%u", n++);
            BSON_APPEND_DOCUMENT(&arr, key, &d);
        }
    }
    bson_append_array_end(out, &arr);
    if (show_privs) {
        BSON_APPEND_ARRAY_BEGIN(out, "privileges", &arr);
        wire_privset_to_bson(direct, &arr);
        bson_append_array_end(out, &arr);
        BSON_APPEND_ARRAY_BEGIN(out, "inheritedPrivileges", &arr);
        wire_privset_to_bson(&all, &arr);
        bson_append_array_end(out, &arr);
    }
    wire_privset_destroy(&all);
    bson_destroy(&one);
    bson_destroy(&inherited);
}

/* append_role_entry -- look a role up (built-in or custom) and append its entry. */
static void append_role_entry(micad_t *m, const char *role, const char *db, bool show_privs,
                              bson_t *roles_out)
{
    char key[16];
    bson_t out, direct_roles = BSON_INITIALIZER;
    wire_privset_t direct;
    status_t st = STATUS_INIT;
    bool builtin = wire_builtin_role(role, db, NULL);

    wire_privset_init(&direct);
    if (builtin)
        wire_builtin_role(role, db, &direct);
    else if (load_role(m, role, db, &direct, &direct_roles, &st) != 0)
        goto out; /* MongoDB simply leaves unknown roles out */
    (void)snprintf(key, sizeof(key), "%u", bson_count_keys(roles_out));
    BSON_APPEND_DOCUMENT_BEGIN(roles_out, key, &out);
    role_info(m, role, db, builtin, &direct_roles, &direct, show_privs, &out);
    bson_append_document_end(roles_out, &out);
out:
    wire_privset_destroy(&direct);
    bson_destroy(&direct_roles);
}

/* micad_cmd_roles_info -- {rolesInfo: 1 | name | {role, db} | [...], showPrivileges,
 * showBuiltinRoles}. */
int micad_cmd_roles_info(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it, arr, sub;
    bool show_privs = false, show_builtin = false;
    bson_t roles;
    int ret = 0;

    if (bson_iter_init_find(&it, cmd, "showPrivileges"))
        show_privs = BSON_ITER_HOLDS_UTF8(&it) || bson_iter_as_bool(&it);
    if (bson_iter_init_find(&it, cmd, "showBuiltinRoles"))
        show_builtin = bson_iter_as_bool(&it);
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    BSON_APPEND_ARRAY_BEGIN(reply, "roles", &roles);
    if (BSON_ITER_HOLDS_NUMBER(&it)) {
        bson_t all = BSON_INITIALIZER, names = BSON_INITIALIZER;
        if (show_builtin) {
            wire_builtin_role_names(op->db, &names);
            bson_iter_init(&arr, &names);
            while (bson_iter_next(&arr))
                append_role_entry(m, bson_iter_utf8(&arr, NULL), op->db, show_privs, &roles);
        }
        ret = micad_auth_list(m, "system.roles", &all, st);
        bson_iter_init(&arr, &all);
        while (ret == 0 && bson_iter_next(&arr)) {
            bson_t d;
            const char *r = NULL, *db = NULL;
            if (micad_db_arg_doc(&arr, "roles", &d, st) != 0)
                continue;
            if (bson_iter_init_find(&sub, &d, "role") && BSON_ITER_HOLDS_UTF8(&sub))
                r = bson_iter_utf8(&sub, NULL);
            if (bson_iter_init_find(&sub, &d, "db") && BSON_ITER_HOLDS_UTF8(&sub))
                db = bson_iter_utf8(&sub, NULL);
            if (r && db && strcmp(db, op->db) == 0)
                append_role_entry(m, r, db, show_privs, &roles);
        }
        bson_destroy(&all);
        bson_destroy(&names);
    } else {
        bool is_arr = BSON_ITER_HOLDS_ARRAY(&it);
        if (is_arr)
            bson_iter_recurse(&it, &arr);
        else
            arr = it;
        bool more = is_arr ? bson_iter_next(&arr) : true;
        while (more) {
            const char *r = NULL, *db = op->db;
            if (BSON_ITER_HOLDS_UTF8(&arr)) {
                r = bson_iter_utf8(&arr, NULL);
            } else if (BSON_ITER_HOLDS_DOCUMENT(&arr) && bson_iter_recurse(&arr, &sub)) {
                while (bson_iter_next(&sub)) {
                    if (strcmp(bson_iter_key(&sub), "role") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                        r = bson_iter_utf8(&sub, NULL);
                    else if (strcmp(bson_iter_key(&sub), "db") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
                        db = bson_iter_utf8(&sub, NULL);
                }
            }
            if (r == NULL) {
                ret = status_set(st, ERR_BadValue,
                                 "Role names must be either strings or objects with 'role' and "
                                 "'db' fields");
                break;
            }
            append_role_entry(m, r, db, show_privs, &roles);
            more = is_arr && bson_iter_next(&arr);
        }
    }
    bson_append_array_end(reply, &roles);
    return ret;
}
