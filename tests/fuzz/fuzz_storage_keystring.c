/*
 * fuzz_storage_keystring.c -- libFuzzer target for KeyString. The first byte
 * picks a mode and a descending mask. Mode 0: the rest is a BSON document
 * whose values become a key; it must decode back to values that compare
 * equal, with the same types, and keep its RecordId. Mode 1: the rest is an
 * arbitrary key (and type bits after a 0xFF 0xFF 0xFF marker) read from a
 * possibly corrupt index: decoding must fail cleanly or succeed, never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * libbson_normalises -- libbson's bson_append_regex keeps only the flags it
 * knows (ilmsux), sorted; a regex stored with other option bytes decodes with
 * the normalised options. Documented in storage/keystring.md.
 */
static bool libbson_normalises(const bson_iter_t *it)
{
    const char *opts = NULL;
    char prev = 0;

    if (bson_iter_type(it) != BSON_TYPE_REGEX)
        return false;
    bson_iter_regex(it, &opts);
    for (const char *p = opts; p != NULL && *p != '\0'; p++) {
        if (strchr("ilmsux", *p) == NULL || *p <= prev)
            return true;
        prev = *p;
    }
    return false;
}

static void roundtrip(const uint8_t *data, size_t size, uint32_t mask)
{
    bson_t doc, out;
    size_t offset;
    stor_ks_t ks;
    status_t st = STATUS_INIT;
    int64_t rid = 0;

    if (!bson_init_static(&doc, data, size) || !bson_validate(&doc, BSON_VALIDATE_NONE, &offset))
        return;
    stor_ks_init(&ks);
    if (stor_ks_build(&ks, &doc, mask, STOR_KS_END, &st) == 0) {
        bson_iter_t a, b;
        if (stor_ks_append_record_id(&ks, (int64_t)size - 7, &st) != 0 ||
            stor_ks_record_id(ks.key, ks.key_len, &rid, &st) != 0 || rid != (int64_t)size - 7)
            abort();
        if (stor_ks_decode(ks.key, ks.key_len, ks.tb, ks.tb_len, mask, &out, &st) != 0)
            abort();
        if (!bson_iter_init(&a, &doc) || !bson_iter_init(&b, &out))
            abort();
        while (bson_iter_next(&a)) {
            if (!bson_iter_next(&b) || bson_iter_type(&a) != bson_iter_type(&b))
                abort();
            /* Code containing a NUL is the documented exception (libbson truncates it). */
            if (bson_iter_type(&a) != BSON_TYPE_CODE && !libbson_normalises(&a) &&
                bsonu_compare_iter(&a, &b) != 0)
                abort();
        }
        if (bson_iter_next(&b))
            abort();
        bson_destroy(&out);
    }
    stor_ks_destroy(&ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t marker[3] = {0xFF, 0xFF, 0xFF};
    bson_t out;
    status_t st = STATUS_INIT;
    uint32_t mask;
    const uint8_t *tb = NULL;
    size_t key_len, tb_len = 0;

    if (size < 1)
        return 0;
    mask = (uint32_t)(data[0] >> 1) & 0x7;
    if ((data[0] & 1) == 0) {
        roundtrip(data + 1, size - 1, mask);
        return 0;
    }
    key_len = size - 1;
    for (size_t i = 1; i + 3 <= size; i++) {
        if (memcmp(data + i, marker, 3) == 0) {
            key_len = i - 1;
            tb = data + i + 3;
            tb_len = size - i - 3;
            break;
        }
    }
    stor_ks_decode(data + 1, key_len, tb, tb_len, mask, &out, &st);
    bson_destroy(&out);
    return 0;
}
