/*
 * list_databases.c -- {listDatabases: 1, filter, nameOnly,
 * authorizedDatabases} on admin: {databases: [{name, sizeOnDisk, empty}],
 * totalSize, totalSizeMb}. filter is a match expression over each entry;
 * nameOnly keeps only names (and drops the totals), as MongoDB does.
 */
#include "mongod/db.h"

#include <string.h>

/* micad_cmd_list_databases -- see the file comment. */
int micad_cmd_list_databases(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it;
    bson_t filter = BSON_INITIALIZER, list, out = BSON_INITIALIZER;
    bool name_only = false, authorized = false;
    qry_match_t *match = NULL;
    int64_t total = 0;
    uint32_t n = 0;
    int ret = 0;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "filter") == 0) {
            if (!BSON_ITER_HOLDS_NULL(&it)) {
                bson_t f;
                ST_ERR(micad_db_arg_doc(&it, "listDatabases", &f, st));
                bson_destroy(&filter);
                bson_copy_to(&f, &filter);
            }
        } else if (strcmp(k, "nameOnly") == 0) {
            ST_ERR(micad_db_arg_bool(&it, "listDatabases", &name_only, st));
        } else if (strcmp(k, "authorizedDatabases") == 0) {
            ST_ERR(micad_db_arg_bool(&it, "listDatabases", &authorized, st));
        } else if (!micad_db_is_generic_arg(k)) {
            ret = micad_db_unknown_field("listDatabases", k, st);
            goto err;
        }
    }
    ST_ERR(qry_match_parse(&filter, NULL, &match, st));
    ST_ERR(stor_list_databases(m->engine, &list, st));
    if (bson_iter_init(&it, &list)) {
        while (bson_iter_next(&it)) {
            bson_t e, doc = BSON_INITIALIZER;
            bson_iter_t f;
            int64_t size = 0;
            if (micad_db_arg_doc(&it, "listDatabases", &e, st) != 0) {
                bson_destroy(&doc);
                continue;
            }
            if (bson_iter_init_find(&f, &e, "name"))
                bson_append_iter(&doc, "name", 4, &f);
            if (!name_only) {
                if (bson_iter_init_find(&f, &e, "sizeOnDisk"))
                    size = bson_iter_as_int64(&f);
                BSON_APPEND_INT64(&doc, "sizeOnDisk", size);
                BSON_APPEND_BOOL(&doc, "empty",
                                 bson_iter_init_find(&f, &e, "empty") && bson_iter_as_bool(&f));
            }
            if (qry_match_eval(match, &doc, NULL)) {
                char key[16];
                const char *k;
                bson_uint32_to_string(n++, &k, key, sizeof(key));
                BSON_APPEND_DOCUMENT(&out, k, &doc);
                total += size;
            }
            bson_destroy(&doc);
        }
    }
    bson_destroy(&list);
    BSON_APPEND_ARRAY(reply, "databases", &out);
    if (!name_only) {
        BSON_APPEND_INT64(reply, "totalSize", total);
        BSON_APPEND_INT64(reply, "totalSizeMb", total / (1024 * 1024));
    }
err:
    qry_match_destroy(match);
    bson_destroy(&filter);
    bson_destroy(&out);
    return ret;
}
