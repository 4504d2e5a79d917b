/*
 * db_hash.c -- {dbHash: 1, collections: [names], skipTempCollections: bool}:
 * an MD5 per collection over its documents' BSON bytes in _id order (natural
 * order for a capped collection without an _id index), and an MD5 of those hex
 * digests in collection-name order, so two replica-set members (or a member
 * before and after a restart) can be compared. Reply, as mongod's:
 *   {host, collections: {name: md5}, capped: [names], uuids: {name: UUID},
 *    md5, timeMillis, fromCache: []}
 * Every collection is read in one storage snapshot, so the hashes are of one
 * moment, as mongod's database S lock gives. Collections that are never
 * replicated are left out as mongod leaves them out: everything in `local`,
 * system.profile, tmp.mr.*, drop-pending namespaces. Digests come from
 * OpenSSL's EVP MD5.
 */
#include "mongod/db.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

typedef struct hash_coll {
    char name[MICAD_NS_MAX + 1];
    stor_collection_t *coll;
    bool capped;
    char md5[2 * 16 + 1];
} hash_coll_t;

/* hex -- lowercase hex of an MD5 digest, as mongod's digestToString. */
static void hex(const unsigned char *d, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const hash_coll_t *)a)->name, ((const hash_coll_t *)b)->name);
}

/* skipped -- the namespaces mongod's dbHash leaves out (never replicated). */
static bool skipped(const char *db, const char *name)
{
    return strcmp(db, "local") == 0 || strcmp(name, "system.profile") == 0 ||
           strncmp(name, "tmp.mr.", 7) == 0 || strncmp(name, "system.drop.", 12) == 0;
}

/* hash_collection -- MD5 of c's documents in _id order into c->md5. */
static int hash_collection(const wire_opctx_t *op, stor_session_t *sess, hash_coll_t *c,
                           EVP_MD_CTX *ctx, status_t *st)
{
    stor_index_t *idx = NULL;
    stor_index_cursor_t *icur = NULL;
    stor_cursor_t *cur = NULL;
    stor_index_bounds_t all = {.forward = true};
    status_t ist = STATUS_INIT;
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    int64_t n = 0;
    int ret = 0;

    if (stor_index_lookup(c->coll, "_id_", &idx, &ist) != 0)
        idx = NULL;
    if (idx == NULL && !c->capped) {
        snprintf(c->md5, sizeof(c->md5), "%s", "no _id _index"); /* mongod's text */
        return 0;
    }
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
        return status_set(st, ERR_InternalError, "EVP_DigestInit_ex(md5) failed");
    if (idx != NULL)
        ST_ERR(stor_index_cursor_open(sess, idx, &all, &icur, st));
    else
        ST_ERR(stor_cursor_open(sess, c->coll, true, &cur, st));
    for (;;) {
        int64_t rid;
        bool eof, found = true;
        bson_t doc;
        if ((++n & 1023) == 0)
            ST_ERR(micad_db_check_deadline(op, st));
        if (icur != NULL) {
            ST_ERR(stor_index_cursor_next(icur, &rid, NULL, &eof, st));
            if (eof)
                break;
            ST_ERR(stor_record_get(sess, c->coll, rid, &doc, &found, st));
            if (found)
                EVP_DigestUpdate(ctx, bson_get_data(&doc), doc.len);
            bson_destroy(&doc);
        } else {
            ST_ERR(stor_cursor_next(cur, &rid, &doc, &eof, st));
            if (eof)
                break;
            EVP_DigestUpdate(ctx, bson_get_data(&doc), doc.len);
        }
    }
    if (EVP_DigestFinal_ex(ctx, d, &dlen) != 1) {
        ret = status_set(st, ERR_InternalError, "EVP_DigestFinal_ex(md5) failed");
        goto err;
    }
    hex(d, dlen, c->md5);
err:
    stor_index_cursor_close(icur);
    stor_cursor_close(cur);
    return ret;
}

/* parse -- collections (array of strings; other types ignored, as mongod) and skipTempCollections.
 */
static int parse(const bson_t *cmd, bson_t *wanted, bool *has_wanted, bool *skip_temp, status_t *st)
{
    bson_iter_t it, a;

    *has_wanted = false;
    *skip_temp = false;
    if (bson_iter_init_find(&it, cmd, "collections") && BSON_ITER_HOLDS_ARRAY(&it)) {
        *has_wanted = true;
        bson_iter_recurse(&it, &a);
        while (bson_iter_next(&a)) {
            if (!BSON_ITER_HOLDS_UTF8(&a))
                return status_set(st, ERR_BadValue, "collections entries have to be strings");
            BSON_APPEND_BOOL(wanted, bson_iter_utf8(&a, NULL), true);
        }
    }
    if (bson_iter_init_find(&it, cmd, "skipTempCollections"))
        *skip_temp = bson_iter_as_bool(&it);
    return 0;
}

/* read_concern_ok -- dbHash reads at "local" only (mongod also allows snapshot in tests). */
static int read_concern_ok(const wire_opctx_t *op, status_t *st)
{
    bson_iter_t it;
    if (!op->has_read_concern || !bson_iter_init_find(&it, &op->read_concern, "level"))
        return 0;
    if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "local") == 0)
        return 0;
    return status_set(st, ERR_InvalidOptions, "read concern not supported");
}

/* micad_cmd_db_hash -- see the file comment. */
int micad_cmd_db_hash(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    int64_t t0 = time_mono_us();
    bson_t wanted = BSON_INITIALIZER, list, sub;
    bool has_wanted, skip_temp;
    hash_coll_t *colls = NULL;
    size_t n = 0, cap = 0;
    stor_session_t *sess;
    stor_uow_t *uow = NULL;
    EVP_MD_CTX *ctx = NULL;
    bson_iter_t it;
    int ret = 0;

    bson_init(&list);
    ST_ERR(parse(cmd, &wanted, &has_wanted, &skip_temp, st));
    ST_ERR(micad_db_check_db_name(op->db, st));
    ST_ERR(read_concern_ok(op, st));
    bson_destroy(&list);
    ST_ERR(stor_list_collections(m->engine, op->db, &list, st));

    bson_iter_init(&it, &list);
    while (bson_iter_next(&it)) {
        bson_t info;
        bson_iter_t f;
        const char *name;
        char ns[MICAD_NS_MAX + 1];
        stor_collection_t *coll;
        status_t ist = STATUS_INIT;
        if (micad_db_arg_doc(&it, "listCollections", &info, &ist) != 0 ||
            !bson_iter_init_find(&f, &info, "name") || !BSON_ITER_HOLDS_UTF8(&f))
            continue;
        name = bson_iter_utf8(&f, NULL);
        if (bson_iter_init_find(&f, &info, "type") && BSON_ITER_HOLDS_UTF8(&f) &&
            strcmp(bson_iter_utf8(&f, NULL), "collection") != 0)
            continue; /* views hold no documents of their own */
        if (skipped(op->db, name) || (has_wanted && !bson_has_field(&wanted, name)))
            continue;
        if (micad_db_make_ns(op->db, name, ns, &ist) != 0 ||
            micad_db_get_collection(m, ns, &coll, &ist) != 0)
            continue; /* dropped meanwhile */
        const bson_t *opts = stor_collection_options(coll);
        if (skip_temp && bson_iter_init_find(&f, opts, "temp") && bson_iter_as_bool(&f))
            continue;
        if (n == cap) {
            hash_coll_t *grown = realloc(colls, (cap = cap ? 2 * cap : 16) * sizeof(*colls));
            if (grown == NULL) {
                ret = status_set(st, ERR_InternalError, "out of memory");
                goto err;
            }
            colls = grown;
        }
        memset(&colls[n], 0, sizeof(colls[n]));
        snprintf(colls[n].name, sizeof(colls[n].name), "%s", name);
        colls[n].coll = coll;
        colls[n].capped = bson_iter_init_find(&f, opts, "capped") && bson_iter_as_bool(&f);
        n++;
    }
    if (n > 0)
        qsort(colls, n, sizeof(*colls), by_name);

    if ((ctx = EVP_MD_CTX_new()) == NULL) {
        ret = status_set(st, ERR_InternalError, "EVP_MD_CTX_new failed");
        goto err;
    }
    ST_ERR(micad_db_session(m, &sess, st));
    ST_ERR(stor_uow_begin(sess, 0, &uow, st)); /* one snapshot for every collection */
    for (size_t i = 0; i < n; i++)
        ST_ERR(hash_collection(op, sess, &colls[i], ctx, st));
    stor_uow_abort(uow);
    uow = NULL;

    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    char total[2 * 16 + 1];
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
        ret = status_set(st, ERR_InternalError, "EVP_DigestInit_ex(md5) failed");
        goto err;
    }
    for (size_t i = 0; i < n; i++)
        EVP_DigestUpdate(ctx, colls[i].md5, strlen(colls[i].md5));
    EVP_DigestFinal_ex(ctx, d, &dlen);
    hex(d, dlen, total);

    BSON_APPEND_UTF8(reply, "host", m->host);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "collections", &sub);
    for (size_t i = 0; i < n; i++)
        BSON_APPEND_UTF8(&sub, colls[i].name, colls[i].md5);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_ARRAY_BEGIN(reply, "capped", &sub);
    for (size_t i = 0, k = 0; i < n; i++) {
        if (colls[i].capped) {
            char key[16];
            const char *kp;
            bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof(key));
            BSON_APPEND_UTF8(&sub, kp, colls[i].name);
        }
    }
    bson_append_array_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "uuids", &sub);
    for (size_t i = 0; i < n; i++)
        BSON_APPEND_BINARY(&sub, colls[i].name, BSON_SUBTYPE_UUID,
                           stor_collection_uuid(colls[i].coll), 16);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_UTF8(reply, "md5", total);
    micad_append_number(reply, "timeMillis", (time_mono_us() - t0) / 1000);
    BSON_APPEND_ARRAY_BEGIN(reply, "fromCache", &sub);
    bson_append_array_end(reply, &sub);
err:
    if (uow != NULL)
        stor_uow_abort(uow);
    EVP_MD_CTX_free(ctx);
    free(colls);
    bson_destroy(&list);
    bson_destroy(&wanted);
    return ret;
}
