/*
 * list_indexes.c -- {listIndexes: "c"}: the collection's index specs
 * ({v: 2, key, name, ...}) as a one-batch cursor on the collection's
 * namespace. A missing collection is NamespaceNotFound (26)
 * "ns does not exist: db.c", as MongoDB answers. Indexes still being built
 * are left out unless asked for: includeBuildUUIDs adds them as
 * {spec, buildUUID}; includeIndexBuildInfo shows every index as {spec} and
 * the building ones as {spec, indexBuildInfo: {buildUUID}}; both at once is
 * InvalidOptions 72.
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
    bool with_uuids = false, with_info = false;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "cursor") == 0) {
            bson_t c;
            ST_RET(micad_db_arg_doc(&it, "listIndexes", &c, st));
        } else if (strcmp(k, "includeBuildUUIDs") == 0 || strcmp(k, "includeIndexBuildInfo") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it) && !bsonu_is_number(bson_iter_type(&it)))
                return micad_db_type_error(&it, "listIndexes", "bool", st);
            if (bson_iter_as_bool(&it)) {
                with_uuids = with_uuids || strcmp(k, "includeBuildUUIDs") == 0;
                with_info = with_info || strcmp(k, "includeIndexBuildInfo") == 0;
            }
        } else if (!micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("listIndexes", k, st);
        }
    }
    if (with_uuids && with_info)
        return status_set(st, ERR_InvalidOptions,
                          "The includeBuildUUIDs flag and includeBuildIndexInfo flag cannot both "
                          "be set to true");
    if (micad_db_get_collection(m, ns, &coll, &ignored) != 0)
        return status_set(st, ERR_NamespaceNotFound, "ns does not exist: %s", ns);
    ST_RET(stor_list_indexes(m->engine, ns, &list, st));
    if (with_uuids || with_info) {
        bson_t builds, all = BSON_INITIALIZER;
        bson_iter_t li, bi;
        uint32_t n = 0;
        if (stor_list_index_builds(m->engine, ns, &builds, &ignored) != 0)
            bson_reinit(&builds);
        bson_iter_init(&li, &list);
        while (bson_iter_next(&li)) {
            char key[16];
            const char *kp;
            bson_t d, spec;
            bson_uint32_to_string(n++, &kp, key, sizeof(key));
            if (!with_info) {
                bson_append_iter(&all, kp, -1, &li);
                continue;
            }
            ST_RET(micad_db_arg_doc(&li, "listIndexes", &spec, st));
            bson_append_document_begin(&all, kp, -1, &d);
            BSON_APPEND_DOCUMENT(&d, "spec", &spec);
            bson_append_document_end(&all, &d);
        }
        bson_iter_init(&bi, &builds);
        while (bson_iter_next(&bi)) { /* {spec, buildUUID} */
            char key[16];
            const char *kp;
            bson_t d, b;
            bson_iter_t f;
            bson_uint32_to_string(n++, &kp, key, sizeof(key));
            ST_RET(micad_db_arg_doc(&bi, "listIndexes", &b, st));
            if (!with_info) {
                BSON_APPEND_DOCUMENT(&all, kp, &b);
                continue;
            }
            bson_append_document_begin(&all, kp, -1, &d);
            if (bson_iter_init_find(&f, &b, "spec"))
                bson_append_iter(&d, "spec", -1, &f);
            bson_t info;
            BSON_APPEND_DOCUMENT_BEGIN(&d, "indexBuildInfo", &info);
            if (bson_iter_init_find(&f, &b, "buildUUID"))
                bson_append_iter(&info, "buildUUID", -1, &f);
            bson_append_document_end(&d, &info);
            bson_append_document_end(&all, &d);
        }
        bson_destroy(&builds);
        bson_destroy(&list);
        bson_steal(&list, &all);
    }
    bson_t shown;
    micad_clustered_list_indexes(stor_collection_options(coll), &list, &shown);
    micad_db_cursor_reply(reply, ns, &shown);
    bson_destroy(&shown);
    bson_destroy(&list);
    return 0;
}
