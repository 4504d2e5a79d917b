/*
 * apply_ops.c -- {applyOps: [<oplog entry>...]} as MongoDB 7.0 applies it on a
 * standalone (src/mongo/db/repl/apply_ops.cpp): each CRUD entry in turn,
 * through the insert / update / delete commands on the entry's namespace
 * (which may be in another database):
 *   {op: "i", ns, o: <document>}          insert o
 *   {op: "u", ns, o2: <query>, o: <update>} update one document (a replacement
 *                                         or update operators); no match is a
 *                                         failed entry
 *   {op: "d", ns, o: <query>}             delete one (a missing collection is fine)
 *   {op: "n", ...}                        nothing, and not counted
 * The reply is {applied: n, results: [true|false...]}; entries that fail as an
 * update without a match leave `false` and the command then answers
 * UnknownError 8 "applyOps had one or more errors applying ops"; an entry that
 * raises an error (a duplicate key, a missing collection for i/u, a bad entry)
 * stops there with that error, `applied` counting it and `results` ending in
 * false, as MongoDB reports it. Not implemented: command entries (op "c") and
 * $v: 2 delta updates answer NotImplemented 238 and stop.
 */
#include "mongod/db.h"
#include "mongod/micad.h"

#include <stdio.h>
#include <string.h>

/* entry_t -- one oplog entry's fields. */
typedef struct entry {
    const char *op, *ns;
    bson_t o, o2;
    bool has_o, has_o2;
} entry_t;

/* parse_entry -- the fields of one entry; BadValue / TypeMismatch / 40414 as IDL words them. */
static int parse_entry(const bson_iter_t *el, entry_t *e, status_t *st)
{
    bson_iter_t it;
    memset(e, 0, sizeof(*e));
    if (!BSON_ITER_HOLDS_DOCUMENT(el))
        return status_set(st, ERR_TypeMismatch, "applyOps entries must be objects");
    bson_iter_recurse(el, &it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "op") == 0 || strcmp(k, "ns") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return micad_db_type_error(&it, "applyOps", "string", st);
            *(strcmp(k, "op") == 0 ? &e->op : &e->ns) = bson_iter_utf8(&it, NULL);
        } else if (strcmp(k, "o") == 0 || strcmp(k, "o2") == 0) {
            /* straight into the entry: a static bson_t must not be copied */
            bool is_o = strcmp(k, "o") == 0;
            ST_RET(micad_db_arg_doc(&it, "applyOps", is_o ? &e->o : &e->o2, st));
            *(is_o ? &e->has_o : &e->has_o2) = true;
        }
    }
    if (e->op == NULL)
        return status_set(st, 40414,
                          "BSON field 'OplogEntryBase.op' is missing but a required field");
    if (strcmp(e->op, "n") == 0)
        return 0;
    if (strcmp(e->op, "i") != 0 && strcmp(e->op, "u") != 0 && strcmp(e->op, "d") != 0 &&
        strcmp(e->op, "c") != 0)
        return status_set(st, ERR_BadValue,
                          "Enumeration value '%s' for field 'op' is not a valid value.", e->op);
    if (e->ns == NULL)
        return status_set(st, 40414,
                          "BSON field 'OplogEntryBase.ns' is missing but a required field");
    if (!e->has_o)
        return status_set(st, 40414,
                          "BSON field 'OplogEntryBase.o' is missing but a required field");
    if (strcmp(e->op, "c") == 0)
        return status_set(st, ERR_NotImplemented,
                          "applyOps: command entries (op 'c') are not implemented");
    if (strcmp(e->op, "u") == 0) {
        bson_iter_t v;
        if (!e->has_o2)
            return status_set(st, ERR_NoSuchKey, "Missing expected field 'o2'");
        if (bson_iter_init_find(&v, &e->o, "$v"))
            return status_set(st, ERR_NotImplemented,
                              "applyOps: $v: 2 delta updates are not implemented; use a "
                              "replacement document or update operators");
    }
    return 0;
}

/* first_write_error -- the code and message of reply's first writeErrors entry, or 0. */
static int first_write_error(const bson_t *reply, status_t *st)
{
    bson_iter_t it, f;
    if (!bson_iter_init(&it, reply) || !bson_iter_find_descendant(&it, "writeErrors.0", &f))
        return 0;
    bson_iter_t code, msg;
    bson_iter_recurse(&f, &code);
    bson_iter_recurse(&f, &msg);
    int c = bson_iter_find(&code, "code") ? bson_iter_int32(&code) : ERR_UnknownError;
    return status_set(st, c, "%s",
                      bson_iter_find(&msg, "errmsg") && BSON_ITER_HOLDS_UTF8(&msg)
                          ? bson_iter_utf8(&msg, NULL)
                          : "write error");
}

/* apply_one -- run one CRUD entry; *ok false for an update without a match. */
static int apply_one(wire_opctx_t *op, const entry_t *e, bool bypass, bool *ok, status_t *st)
{
    micad_t *m = micad_of(op);
    wire_opctx_t sub = *op;
    char dbname[128];
    const char *coll;
    bson_t *cmd, reply;
    stor_collection_t *c;
    status_t ignored = STATUS_INIT;
    int ret;

    *ok = true;
    ST_RET(micad_db_split_ns(e->ns, dbname, &coll, st));
    if (micad_db_get_collection(m, e->ns, &c, &ignored) != 0) {
        if (strcmp(e->op, "d") == 0)
            return 0; /* idempotent: nothing to delete */
        return status_set(st, ERR_NamespaceNotFound,
                          "cannot apply insert or update operation on a non-existent namespace %s",
                          e->ns);
    }
    (void)snprintf(sub.db, sizeof(sub.db), "%s", dbname);
    cmd = bson_new();
    {
        bson_t arr, stmt;
        const char *verb = strcmp(e->op, "i") == 0   ? "insert"
                           : strcmp(e->op, "u") == 0 ? "update"
                                                     : "delete";
        BSON_APPEND_UTF8(cmd, verb, coll);
        BSON_APPEND_ARRAY_BEGIN(cmd,
                                verb[0] == 'i'   ? "documents"
                                : verb[0] == 'u' ? "updates"
                                                 : "deletes",
                                &arr);
        if (verb[0] == 'i') {
            BSON_APPEND_DOCUMENT(&arr, "0", &e->o);
        } else {
            BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &stmt);
            BSON_APPEND_DOCUMENT(&stmt, "q", verb[0] == 'u' ? &e->o2 : &e->o);
            if (verb[0] == 'u')
                BSON_APPEND_DOCUMENT(&stmt, "u", &e->o);
            else
                BSON_APPEND_INT32(&stmt, "limit", 1);
            bson_append_document_end(&arr, &stmt);
        }
        bson_append_array_end(cmd, &arr);
        if (verb[0] != 'd')
            BSON_APPEND_BOOL(cmd, "bypassDocumentValidation", bypass);
    }
    bson_init(&reply);
    if (strcmp(e->op, "i") == 0)
        ret = micad_cmd_insert(&sub, cmd, &reply, st);
    else if (strcmp(e->op, "u") == 0)
        ret = micad_cmd_update(&sub, cmd, &reply, st);
    else
        ret = micad_cmd_delete(&sub, cmd, &reply, st);
    if (ret == 0)
        ret = first_write_error(&reply, st);
    if (ret == 0 && strcmp(e->op, "u") == 0) {
        bson_iter_t n;
        *ok = bson_iter_init_find(&n, &reply, "n") && bson_iter_as_int64(&n) > 0;
    }
    bson_destroy(&reply);
    bson_destroy(cmd);
    return ret;
}

/* micad_cmd_apply_ops -- see the file comment. */
int micad_cmd_apply_ops(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it, ops;
    bool bypass = false;
    int applied = 0, errors = 0, ret = 0, i = 0;
    bson_t results;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (!BSON_ITER_HOLDS_ARRAY(&it))
        return micad_db_type_error(&it, "applyOps", "array", st);
    bson_iter_recurse(&it, &ops);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "bypassDocumentValidation") == 0)
            ST_RET(micad_db_arg_bool(&it, "applyOps", &bypass, st));
        else if (strcmp(k, "prepare") == 0)
            return status_set(st, ERR_BadValue, "applyOps command can't have 'prepare' field");
        else if (strcmp(k, "partialTxn") == 0)
            return status_set(st, 31056, "applyOps command can't have 'partialTxn' field.");
        else if (strcmp(k, "count") == 0)
            return status_set(st, 31240, "applyOps command can't have 'count' field.");
        else if (strcmp(k, "preCondition") == 0)
            return status_set(st, ERR_NotImplemented, "applyOps: preCondition is not implemented");
        else if (!micad_db_is_generic_arg(k))
            return micad_db_unknown_field("applyOps", k, st);
    }
    bson_init(&results);
    while (bson_iter_next(&ops)) {
        entry_t e;
        bool ok = true;
        char key[16];
        ret = parse_entry(&ops, &e, st);
        if (ret == 0 && strcmp(e.op, "n") == 0)
            continue;
        if (ret == 0)
            ret = apply_one(op, &e, bypass, &ok, st);
        (void)snprintf(key, sizeof key, "%d", i++);
        BSON_APPEND_BOOL(&results, key, ret == 0 && ok);
        applied++;
        if (ret != 0)
            break;
        if (!ok)
            errors++;
    }
    if (ret == 0 && errors > 0)
        ret = status_set(st, ERR_UnknownError, "applyOps had one or more errors applying ops");
    /* an error reply carries them too, as MongoDB's does */
    bson_t *out = ret == 0 ? reply : wire_opctx_error_info(op);
    BSON_APPEND_INT32(out, "applied", applied);
    BSON_APPEND_ARRAY(out, "results", &results);
    bson_destroy(&results);
    return ret;
}
