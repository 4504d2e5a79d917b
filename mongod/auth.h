/*
 * auth.h -- private to mongod/: access control on the data node. Users and
 * roles live in admin.system.users / admin.system.roles in MongoDB's shapes
 * (mongod/auth/users.c); the dispatch hook checks each command against the
 * privilege table mongod/privileges.def (mongod/auth/authorize.c); the keyFile
 * gives the __system user its credentials (mongod/auth/keyfile.c).
 *
 * mongod/README.md ("Access control") tells the story.
 */
#ifndef MICA_MONGOD_AUTH_H
#define MICA_MONGOD_AUTH_H

#include "mongod/micad.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* MongoDB's location codes of the user/role commands (codeName "Location<n>"). */
#define MICAD_ERR_USER_EXISTS 51003 /* User "x@db" already exists */
#define MICAD_ERR_ROLE_EXISTS 51002 /* Role "x@db" already exists */

/*
 * micad_auth_config -- set once at start-up, before the transport runs:
 * whether access control is on (--auth, or implied by --keyFile) and the
 * keyFile's password input for __system (NULL without a keyFile; owned here).
 */
void micad_auth_config(bool enabled, char *keyfile_secret);
/* micad_auth_enabled -- whether commands are checked. */
bool micad_auth_enabled(void);
/* micad_auth_shutdown -- wipe and free the keyFile secret. */
void micad_auth_shutdown(void);

/* micad_auth_generation -- bumped by every user/role change; sessions re-resolve. */
int64_t micad_auth_generation(void);
void micad_auth_bump_generation(void);

/*
 * micad_auth_load_keyfile -- read and check a keyFile as mongod does: not
 * readable by group or others, 6..1024 base64 characters once whitespace is
 * removed. *secret (bson_malloc'd) is the key; BadValue with mongod's messages.
 */
int micad_auth_load_keyfile(const char *path, char **secret, status_t *st);

/* ---- documents (mongod/auth/users.c) ---- */

/* micad_auth_get -- the document of _id id in admin.<coll>; *found says whether. */
int micad_auth_get(micad_t *m, const char *coll, const char *id, bson_t *out, bool *found,
                   status_t *st);
/*
 * micad_auth_put -- insert (must_be_new) or replace by _id the document doc in
 * admin.<coll>. must_be_new and present: *exists = true, nothing written.
 */
int micad_auth_put(micad_t *m, const char *coll, const bson_t *doc, bool must_be_new, bool *exists,
                   status_t *st);
/* micad_auth_delete -- delete the documents for which pred is true; *n their number. */
int micad_auth_delete(micad_t *m, const char *coll, bool (*pred)(const bson_t *, void *), void *arg,
                      int64_t *n, status_t *st);
/* micad_auth_list -- every document of admin.<coll> into the array arr ("0", "1", ...). */
int micad_auth_list(micad_t *m, const char *coll, bson_t *arr, status_t *st);
/* micad_auth_any_user -- whether admin.system.users holds a user (the localhost exception). */
bool micad_auth_any_user(micad_t *m);

/*
 * micad_auth_resolve_roles -- expand roles ([{role, db}]) into privileges:
 * built-in roles directly, custom roles from admin.system.roles with the
 * roles they inherit (cycles stop). all_roles (may be NULL) receives every
 * role reached as {role, db}. A role that does not exist is skipped, as
 * MongoDB does for a role dropped after it was granted.
 */
int micad_auth_resolve_roles(micad_t *m, const bson_t *roles, wire_privset_t *privs,
                             bson_t *all_roles, status_t *st);
/* micad_auth_role_exists -- built-in or in admin.system.roles. */
bool micad_auth_role_exists(micad_t *m, const char *role, const char *db);
/*
 * micad_auth_parse_role_list -- a command's roles array: "name" (on dflt_db)
 * or {role, db}; each must exist (RoleNotFound 31). out is an initialised
 * array of {role, db}.
 */
int micad_auth_parse_role_list(micad_t *m, const bson_iter_t *it, const char *dflt_db,
                               const char *cmd, bson_t *out, status_t *st);

/*
 * micad_auth_login -- make the connection's session the user's (user doc
 * from system.users, or __system): resolve privileges, log 20250.
 */
int micad_auth_login(micad_t *m, wire_opctx_t *op, const char *user, const char *db,
                     const char *mech, status_t *st);
/* micad_auth_refresh -- re-resolve the session's privileges after a user/role change. */
int micad_auth_refresh(micad_t *m, wire_opctx_t *op, status_t *st);

/*
 * micad_auth_scram_cred -- the SCRAM credential of user@db for mech: from
 * system.users, or derived from the keyFile for __system@local / admin.
 * *found false: no such user or no credential of that mechanism.
 */
int micad_auth_scram_cred(micad_t *m, const char *user, const char *db, wire_scram_mech_t mech,
                          wire_scram_cred_t *cred, bool *found, status_t *st);

/*
 * micad_auth_internal_authenticate -- for the intra-cluster client (heartbeats,
 * oplog fetching, router -> shard): run the SCRAM-SHA-256 conversation as
 * __system@local with the keyFile over `call` (one command on the new
 * connection) before its first real command. A no-op without a keyFile.
 */
int micad_auth_internal_authenticate(wire_scram_call_fn call, void *ctx, status_t *st);
/*
 * micad_auth_internal_client_auth -- the same as a wire_client_auth_t for
 * wire_client_pool_set_auth (*enabled false without a keyFile: nothing to
 * set). Destroy with wire_scram_client_auth_destroy after the pool.
 */
int micad_auth_internal_client_auth(wire_client_auth_t *out, bool *enabled, status_t *st);

/* ---- the dispatch hook (mongod/auth/authorize.c) ---- */

/* micad_authorize -- wire_cmd_table_t.authorize for micad. */
int micad_authorize(wire_opctx_t *op, status_t *st);
/* micad_auth_check_table -- log (once, warning 20436) each command without a privilege row. */
void micad_auth_check_table(const wire_cmd_table_t *t);
/* micad_auth_session_allows -- whether op's session holds acts on res (for handlers). */
bool micad_auth_session_allows(const wire_opctx_t *op, const wire_resource_t *res,
                               const char *actions);
/* micad_auth_is_self -- whether op's session is user@db (usersInfo of oneself). */
bool micad_auth_is_self(const wire_opctx_t *op, const char *user, const char *db);

/* ---- the speculative authentication of hello (commands/sasl.c) ---- */

/*
 * micad_sasl_speculative -- hello's speculativeAuthenticate: run saslStart on
 * the given document and put its reply under speculativeAuthenticate in
 * reply; a failure is simply left out, as MongoDB does.
 */
void micad_sasl_speculative(wire_opctx_t *op, const bson_t *sasl_start, bson_t *reply);
/* micad_x509_login -- MONGODB-X509 on db (authenticate, or hello's speculative form). */
int micad_x509_login(wire_opctx_t *op, const bson_t *cmd, const char *db, bson_t *reply,
                     status_t *st);
/* micad_sasl_supported_mechs -- hello's saslSupportedMechs ("<db>.<user>") answered in reply. */
void micad_sasl_supported_mechs(wire_opctx_t *op, const bson_iter_t *it, bson_t *reply);

#endif /* MICA_MONGOD_AUTH_H */
