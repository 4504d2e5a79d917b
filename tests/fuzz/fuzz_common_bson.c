/*
 * fuzz_common_bson.c -- libFuzzer target for the bsonu_ helpers: any valid
 * BSON document must compare equal to itself, compare antisymmetrically with
 * its sub-documents, hash consistently with equality, and survive path walks
 * and index key generation over paths taken from its own field names,
 * without crashes, leaks or sanitizer reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_leaf(void *ctx, const bsonu_path_leaf_t *leaf)
{
    int *n = ctx;
    if (leaf->in_array != (leaf->array_index >= 0))
        abort();
    return ++*n > 10000 ? 1 : 0;
}

/* check_pair -- antisymmetry, and equal values hash equal. */
static void check_pair(const bson_iter_t *a, const bson_iter_t *b)
{
    int ab = bsonu_compare_iter(a, b), ba = bsonu_compare_iter(b, a);
    if ((ab > 0) != (ba < 0) || (ab == 0) != (ba == 0))
        abort();
    if (ab == 0 && bsonu_hash_iter(a, 7) != bsonu_hash_iter(b, 7))
        abort();
}

/* first_path -- "k1.k2..." following first fields down to 4 levels. */
static void first_path(const bson_t *doc, char *out, size_t cap)
{
    bson_iter_t it;
    size_t len = 0;
    out[0] = 0;
    if (!bson_iter_init(&it, doc))
        return;
    for (int depth = 0; depth < 4 && bson_iter_next(&it); depth++) {
        const char *k = bson_iter_key(&it);
        size_t kl = strlen(k);
        if (kl == 0 || strchr(k, '.') || len + kl + 2 > cap)
            break;
        if (len)
            out[len++] = '.';
        memcpy(out + len, k, kl + 1);
        len += kl;
        if (!(BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)))
            break;
        {
            bson_iter_t child;
            if (!bson_iter_recurse(&it, &child))
                break;
            it = child;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t doc, pattern;
    bson_iter_t it, prev;
    bool have_prev = false;
    size_t offset;
    char path[256];
    int n = 0;
    bsonu_index_keys_t keys;
    status_t st = STATUS_INIT;

    if (!bson_init_static(&doc, data, size) || !bson_validate(&doc, BSON_VALIDATE_NONE, &offset))
        return 0;
    if (bsonu_compare_doc(&doc, &doc) != 0)
        abort();
    if (bsonu_hash_doc(&doc, 1) != bsonu_hash_doc(&doc, 1))
        abort();
    if (bson_iter_init(&it, &doc)) {
        while (bson_iter_next(&it)) {
            check_pair(&it, &it);
            if (have_prev)
                check_pair(&prev, &it);
            prev = it;
            have_prev = true;
        }
    }
    first_path(&doc, path, sizeof(path));
    if (path[0]) {
        bsonu_path_walk(&doc, path, 0, count_leaf, &n);
        bsonu_path_walk(&doc, path, BSONU_PATH_EXPAND_LEAF_ARRAY, count_leaf, &n);
        bson_iter_t g;
        bsonu_path_get(&doc, path, &g);
        bson_init(&pattern);
        bson_append_int32(&pattern, path, -1, 1);
        if (bson_iter_init(&it, &doc) && bson_iter_next(&it) && strchr(path, '.') &&
            bson_iter_key(&it)[0] && !strchr(bson_iter_key(&it), '.'))
            bson_append_int32(&pattern, bson_iter_key(&it), -1, -1);
        bsonu_index_keys_init(&keys);
        if (bsonu_index_keys_get(&pattern, &doc, &keys, &st) == 0) {
            for (size_t i = 1; i < keys.n; i++)
                if (bsonu_compare_doc(&keys.keys[i - 1], &keys.keys[i]) >= 0)
                    abort();
        }
        bsonu_index_keys_destroy(&keys);
        bson_destroy(&pattern);
    }
    return 0;
}
