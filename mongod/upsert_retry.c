/*
 * upsert_retry.c -- when two upserts of the same new key race, both found no
 * document and both insert; the second insert fails with DuplicateKey. MongoDB
 * 4.2+ retries such an upsert inside the server, where it now finds the
 * document the winner inserted and updates it: both clients succeed, one
 * inserting and one updating. The retry is safe only when the conflict is on
 * the query's own equality key -- the retry is then certain to match the
 * document that caused it -- so that is the rule here too: every field of the
 * violated unique index has an equality predicate (a plain value or $eq) at the
 * top level of the query, with the value the insert tried to use.
 */
#include "mongod/db.h"

#include <string.h>

/* query_equality -- the value q requires for field f by equality, or NULL. */
static bool query_equality(const bson_t *q, const char *f, bson_iter_t *out)
{
    bson_iter_t it, op;
    if (!bson_iter_init_find(&it, q, f))
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &op) && bson_iter_next(&op) &&
        bson_iter_key(&op)[0] == '$') {
        /* {f: {$eq: v}} and nothing else */
        if (strcmp(bson_iter_key(&op), "$eq") != 0)
            return false;
        *out = op;
        return !bson_iter_next(&op);
    }
    if (BSON_ITER_HOLDS_REGEX(&it))
        return false;
    *out = it;
    return true;
}

/* micad_upsert_should_retry -- a DuplicateKey on the upsert's own equality key. */
bool micad_upsert_should_retry(stor_session_t *sess, const bson_t *q, int code)
{
    bson_t kp, kv;
    bson_iter_t k, v;
    bool ok = code == ERR_DuplicateKey;

    if (!ok)
        return false;
    stor_session_dup_key(sess, &kp, &kv);
    ok = bson_iter_init(&k, &kp) && bson_iter_init(&v, &kv) && !bson_empty(&kp);
    while (ok && bson_iter_next(&k)) {
        bson_iter_t want;
        ok = bson_iter_next(&v) && query_equality(q, bson_iter_key(&k), &want) &&
             bsonu_equal_value(bson_iter_value(&want), bson_iter_value(&v));
    }
    bson_destroy(&kp);
    bson_destroy(&kv);
    return ok;
}
