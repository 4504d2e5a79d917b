/*
 * kill_cursors.c -- {killCursors: "c", cursors: [ids]}: destroy parked
 * cursors of db.c. Reply {cursorsKilled, cursorsNotFound, cursorsAlive,
 * cursorsUnknown} as MongoDB lists them; a cursor in use by another
 * operation is killed when that operation hands it back.
 */
#include "mongod/cursors.h"

#include <string.h>

/* micad_cmd_kill_cursors -- the killCursors command. */
int micad_cmd_kill_cursors(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    const char *C = "killCursors";
    char ns[MICAD_NS_MAX + 1];
    bson_iter_t it, ids;
    bool have = false;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    /* MongoDB's killCursors parser answers BadValue for a non-string collection. */
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return status_set(st, ERR_BadValue, "collection name has invalid type %s",
                          micad_db_bson_type_name(bson_iter_type(&it)));
    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "cursors") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return micad_db_type_error(&it, C, "array", st);
            bson_iter_recurse(&it, &ids);
            bson_iter_t chk = ids;
            while (bson_iter_next(&chk))
                if (!BSON_ITER_HOLDS_INT64(&chk) && !BSON_ITER_HOLDS_INT32(&chk))
                    return status_set(st, ERR_TypeMismatch,
                                      "BSON field 'killCursors.cursors.%s' is the wrong type "
                                      "'%s', expected type 'long'",
                                      bson_iter_key(&chk),
                                      micad_db_bson_type_name(bson_iter_type(&chk)));
            have = true;
        } else if (!micad_db_is_generic_arg(k) && strcmp(k, "comment") != 0 &&
                   strcmp(k, "maxTimeMS") != 0) {
            return micad_db_unknown_field(C, k, st);
        }
    }
    if (!have)
        return status_set(st, 40414,
                          "BSON field 'killCursors.cursors' is missing but a required field");
    bson_t killed, notfound, alive, unknown;
    bson_t k_arr = BSON_INITIALIZER, nf_arr = BSON_INITIALIZER;
    uint32_t nk = 0, nn = 0;
    while (bson_iter_next(&ids)) {
        int64_t id = bson_iter_as_int64(&ids);
        char ib[16];
        const char *ik;
        if (micad_cursors_kill(id, ns) == MICAD_KILL_KILLED) {
            bson_uint32_to_string(nk++, &ik, ib, sizeof(ib));
            bson_append_int64(&k_arr, ik, -1, id);
        } else {
            bson_uint32_to_string(nn++, &ik, ib, sizeof(ib));
            bson_append_int64(&nf_arr, ik, -1, id);
        }
    }
    BSON_APPEND_ARRAY_BEGIN(reply, "cursorsKilled", &killed);
    bson_concat(&killed, &k_arr);
    bson_append_array_end(reply, &killed);
    BSON_APPEND_ARRAY_BEGIN(reply, "cursorsNotFound", &notfound);
    bson_concat(&notfound, &nf_arr);
    bson_append_array_end(reply, &notfound);
    BSON_APPEND_ARRAY_BEGIN(reply, "cursorsAlive", &alive);
    bson_append_array_end(reply, &alive);
    BSON_APPEND_ARRAY_BEGIN(reply, "cursorsUnknown", &unknown);
    bson_append_array_end(reply, &unknown);
    bson_destroy(&k_arr);
    bson_destroy(&nf_arr);
    return 0;
}
