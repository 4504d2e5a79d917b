/*
 * list_indexes.c -- {listIndexes: "c"}: the collection's index specs
 * ({v: 2, key, name, ...}) as a one-batch cursor on the collection's
 * namespace. A missing collection is NamespaceNotFound (26)
 * "ns does not exist: db.c", as MongoDB answers.
 */
#include "mongod/db.h"
#include "mongod/views.h"
#include "mongod/write.h"

#include <string.h>

/* micad_cmd_list_indexes -- see the file comment. */
int micad_cmd_list_indexes(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1];
    stor_collection_t *coll;
    status_t ignored = STATUS_INIT;
    bson_iter_t it;
    bson_t list;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "cursor") == 0) {
            bson_t c;
            ST_RET(micad_db_arg_doc(&it, "listIndexes", &c, st));
        } else if (strcmp(k, "includeBuildUUIDs") != 0 && strcmp(k, "includeIndexBuildInfo") != 0 &&
                   !micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("listIndexes", k, st);
        }
    }
    if (micad_db_get_collection(m, ns, &coll, &ignored) != 0)
        return status_set(st, ERR_NamespaceNotFound, "ns does not exist: %s", ns);
    ST_RET(stor_list_indexes(m->engine, ns, &list, st));
    bson_t shown;
    micad_clustered_list_indexes(stor_collection_options(coll), &list, &shown);
    micad_db_cursor_reply(reply, ns, &shown);
    bson_destroy(&shown);
    bson_destroy(&list);
    return 0;
}
