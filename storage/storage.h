/*
 * storage.h -- the public header of storage/: the only module that talks to
 * WiredTiger. Engine, catalog, record stores, KeyString, indexes, units of
 * work with timestamps, durability, the oplog table. No knowledge of commands
 * or the wire. Depends on common/ and libwiredtiger.
 */
#ifndef MICA_STORAGE_H
#define MICA_STORAGE_H

#include "common/common.h"

/* STOR_KEYSTRING_SECTION_BEGIN -- KeyString encoding (storage/keystring.c) */

/*
 * KeyString: an order-preserving byte encoding of index keys. For keys built
 * with the same descending mask, memcmp order (then length) of the key bytes
 * equals bsonu_compare order of the value lists, field by field. Type
 * information that the order ignores (int32 vs int64 vs double vs decimal and
 * the decimal's exact digits, -0.0, string vs symbol) goes to a separate
 * "type bits" stream, stored beside the key (in the index entry's value) and
 * needed only to decode. storage/keystring.md describes the format.
 *
 * Key layout: field encodings, then one discriminator byte, then (non-unique
 * indexes) an 8-byte RecordId. Field start bytes lie in 0x0A..0xF5, so
 * BEFORE (0x01) < END (0x04) < any further field < AFTER (0xFE): a bound built
 * from a prefix of the fields with BEFORE/AFTER sorts before/after every key
 * that starts with that prefix, whatever follows.
 */
typedef enum stor_ks_disc {
    STOR_KS_BEFORE = 0x01, /* bound: before every key with this prefix */
    STOR_KS_END = 0x04,    /* a stored key: all fields present */
    STOR_KS_AFTER = 0xFE,  /* bound: after every key with this prefix */
} stor_ks_disc_t;

/* Keys nest at most this deep (documents in documents); deeper is BadValue. */
#define STOR_KS_MAX_DEPTH 200

typedef struct stor_ks {
    uint8_t *key; /* the order-preserving bytes */
    size_t key_len;
    size_t key_cap;
    uint8_t *tb; /* type bits */
    size_t tb_len;
    size_t tb_cap;
    uint32_t nfields; /* fields appended so far */
    bool closed;      /* a discriminator has been appended */
} stor_ks_t;

/* stor_ks_init -- an empty key. */
void stor_ks_init(stor_ks_t *ks);
/* stor_ks_destroy -- free the buffers (NULL-safe). */
void stor_ks_destroy(stor_ks_t *ks);
/* stor_ks_reset -- back to empty, keeping the buffers. */
void stor_ks_reset(stor_ks_t *ks);
/* stor_ks_append_value -- append one field's value, inverted when descending. */
int stor_ks_append_value(stor_ks_t *ks, const bson_value_t *v, bool descending, status_t *st);
/* stor_ks_append_iter -- stor_ks_append_value of the value at an iterator. */
int stor_ks_append_iter(stor_ks_t *ks, const bson_iter_t *it, bool descending, status_t *st);
/* stor_ks_close -- append the discriminator; no fields may follow. */
int stor_ks_close(stor_ks_t *ks, stor_ks_disc_t disc, status_t *st);
/*
 * stor_ks_build -- reset, append every value of `values` (a document whose
 * field names are ignored, e.g. {"": 1, "": "x"}); field i descending when
 * bit i of desc_mask is set; then close with disc.
 */
int stor_ks_build(stor_ks_t *ks, const bson_t *values, uint32_t desc_mask, stor_ks_disc_t disc,
                  status_t *st);
/* stor_ks_append_record_id -- append the RecordId suffix (after close). */
int stor_ks_append_record_id(stor_ks_t *ks, int64_t record_id, status_t *st);
/* stor_ks_record_id -- the RecordId at the end of a key built with one. */
int stor_ks_record_id(const uint8_t *key, size_t len, int64_t *record_id, status_t *st);
/* stor_ks_strip_record_id -- length of the key without its RecordId suffix. */
int stor_ks_strip_record_id(const uint8_t *key, size_t len, size_t *out_len, status_t *st);
/*
 * stor_ks_decode -- the values of a key as {"": v1, "": v2, ...} into out
 * (initialised by the callee, even on failure). tb may be NULL: then numbers
 * decode as the narrowest of int32, int64, double that holds them exactly
 * (else decimal128) and string-likes as strings. desc_mask as when built.
 * Stops at the discriminator; a RecordId suffix is ignored.
 */
int stor_ks_decode(const uint8_t *key, size_t key_len, const uint8_t *tb, size_t tb_len,
                   uint32_t desc_mask, bson_t *out, status_t *st);
/* stor_ks_compare -- memcmp order, then length: the order WiredTiger gives the keys. */
int stor_ks_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* STOR_KEYSTRING_SECTION_END */

/* STOR_ENGINE_SECTION_BEGIN -- engine, catalog, record stores, indexes, oplog */
/* STOR_ENGINE_SECTION_END */

#endif /* MICA_STORAGE_H */
