/*
 * list_collections.c -- {listCollections: 1, filter, nameOnly,
 * authorizedCollections}: the database's collections as a one-batch cursor
 * on "<db>.$cmd.listCollections", each {name, type: "collection", options,
 * info: {readOnly, uuid}, idIndex}; filter is a match expression over those
 * documents; nameOnly keeps {name, type}.
 */
#include "mongod/repl/repl.h"
#include "mongod/views.h"

#include <string.h>

/* micad_cmd_list_collections -- see the file comment. */
int micad_cmd_list_collections(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it;
    bson_t filter = BSON_INITIALIZER, list, out = BSON_INITIALIZER;
    bool name_only = false, authorized = false;
    qry_match_t *match = NULL;
    uint32_t n = 0;
    char cns[200];
    int ret = 0;

    ST_ERR(micad_db_check_db_name(op->db, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "filter") == 0) {
            if (!BSON_ITER_HOLDS_NULL(&it)) {
                bson_t f;
                ST_ERR(micad_db_arg_doc(&it, "listCollections", &f, st));
                bson_destroy(&filter);
                bson_copy_to(&f, &filter);
            }
        } else if (strcmp(k, "nameOnly") == 0) {
            ST_ERR(micad_db_arg_bool(&it, "listCollections", &name_only, st));
        } else if (strcmp(k, "authorizedCollections") == 0) {
            ST_ERR(micad_db_arg_bool(&it, "listCollections", &authorized, st));
        } else if (strcmp(k, "cursor") == 0) {
            bson_t c;
            ST_ERR(micad_db_arg_doc(&it, "listCollections", &c, st));
        } else if (!micad_db_is_generic_arg(k) && strcmp(k, "includePendingDrops") != 0) {
            ret = micad_db_unknown_field("listCollections", k, st);
            goto err;
        }
    }
    ST_ERR(qry_match_parse(&filter, NULL, &match, st));
    ST_ERR(stor_list_collections(m->engine, op->db, &list, st));
    if (bson_iter_init(&it, &list)) {
        while (bson_iter_next(&it)) {
            bson_t e, doc = BSON_INITIALIZER, sub;
            bson_iter_t f;
            if (micad_db_arg_doc(&it, "listCollections", &e, st) != 0)
                continue;
            if (bson_iter_init_find(&f, &e, "name"))
                bson_append_iter(&doc, "name", 4, &f);
            BSON_APPEND_UTF8(&doc, "type", "collection");
            if (!name_only) {
                if (bson_iter_init_find(&f, &e, "options"))
                    bson_append_iter(&doc, "options", 7, &f);
                else {
                    BSON_APPEND_DOCUMENT_BEGIN(&doc, "options", &sub);
                    bson_append_document_end(&doc, &sub);
                }
                BSON_APPEND_DOCUMENT_BEGIN(&doc, "info", &sub);
                BSON_APPEND_BOOL(&sub, "readOnly", false);
                bson_iter_t info, uuid;
                if (bson_iter_init_find(&info, &e, "info") && BSON_ITER_HOLDS_DOCUMENT(&info) &&
                    bson_iter_recurse(&info, &uuid) && bson_iter_find(&uuid, "uuid"))
                    bson_append_iter(&sub, "uuid", 4, &uuid);
                bson_append_document_end(&doc, &sub);
                bson_iter_t o, ci;
                bool clustered = bson_iter_init_find(&o, &e, "options") &&
                                 BSON_ITER_HOLDS_DOCUMENT(&o) && bson_iter_recurse(&o, &ci) &&
                                 bson_iter_find(&ci, "clusteredIndex");
                if (!clustered) { /* a clustered collection has no separate idIndex */
                    BSON_APPEND_DOCUMENT_BEGIN(&doc, "idIndex", &sub);
                    BSON_APPEND_INT32(&sub, "v", 2);
                    bson_t key;
                    BSON_APPEND_DOCUMENT_BEGIN(&sub, "key", &key);
                    BSON_APPEND_INT32(&key, "_id", 1);
                    bson_append_document_end(&sub, &key);
                    BSON_APPEND_UTF8(&sub, "name", "_id_");
                    bson_append_document_end(&doc, &sub);
                }
            }
            if (qry_match_eval(match, &doc, NULL)) {
                char key[16];
                const char *k;
                bson_uint32_to_string(n++, &k, key, sizeof(key));
                BSON_APPEND_DOCUMENT(&out, k, &doc);
            }
            bson_destroy(&doc);
        }
    }
    bson_destroy(&list);
    if (repl_enabled() && strcmp(op->db, "local") == 0) {
        /* a member's oplog: storage's own table, capped at --oplogSize, no _id index */
        bson_t doc = BSON_INITIALIZER, sub;
        BSON_APPEND_UTF8(&doc, "name", "oplog.rs");
        BSON_APPEND_UTF8(&doc, "type", "collection");
        if (!name_only) {
            BSON_APPEND_DOCUMENT_BEGIN(&doc, "options", &sub);
            BSON_APPEND_BOOL(&sub, "capped", true);
            BSON_APPEND_INT64(&sub, "size", stor_oplog_max_bytes(m->engine));
            BSON_APPEND_BOOL(&sub, "autoIndexId", false);
            bson_append_document_end(&doc, &sub);
            BSON_APPEND_DOCUMENT_BEGIN(&doc, "info", &sub);
            BSON_APPEND_BOOL(&sub, "readOnly", false);
            bson_append_document_end(&doc, &sub);
        }
        if (qry_match_eval(match, &doc, NULL)) {
            char key[16];
            const char *k;
            bson_uint32_to_string(n++, &k, key, sizeof(key));
            BSON_APPEND_DOCUMENT(&out, k, &doc);
        }
        bson_destroy(&doc);
    }
    ST_ERR(micad_view_list(m, op->db, name_only, match, &out, &n, st));
    snprintf(cns, sizeof(cns), "%s.$cmd.listCollections", op->db);
    micad_db_cursor_reply(reply, cns, &out);
err:
    qry_match_destroy(match);
    bson_destroy(&filter);
    bson_destroy(&out);
    return ret;
}
