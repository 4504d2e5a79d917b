/*
 * keystring.c -- KeyString: the order-preserving byte encoding of index keys.
 *
 * memcmp order of two keys built with the same descending mask equals the
 * bsonu_compare_value order of their values, field by field (common/). Every
 * field's encoding is prefix-free (no field's bytes are a proper prefix of
 * another's), which is what makes compound keys and byte inversion for
 * descending fields work. Numbers use bsonu_num_t, the exact decimal form, so
 * all four number types share one encoding; what the order ignores (the
 * original number type, a decimal's trailing zeros, -0.0, string vs symbol)
 * goes to the type-bits stream. storage/keystring.md has the byte layout.
 */
#include "storage/storage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Value type bytes ("ctype"), ascending. All lie in 0x0A..0xF0, so inverted
 * (descending) ones lie in 0x0F..0xF5, clear of the discriminators. */
enum {
    KS_MINKEY = 0x0A,
    KS_UNDEFINED = 0x0F,
    KS_NULL = 0x14,
    KS_NUM_NAN = 0x1E,
    KS_NUM_NEG_INF = 0x1F,
    KS_NUM_NEG = 0x20,
    KS_NUM_ZERO = 0x21,
    KS_NUM_POS = 0x22,
    KS_NUM_POS_INF = 0x23,
    KS_STRING = 0x3C,
    KS_OBJECT = 0x46,
    KS_ARRAY = 0x50,
    KS_BINARY = 0x5A,
    KS_OID = 0x64,
    KS_FALSE = 0x6E,
    KS_TRUE = 0x6F,
    KS_DATE = 0x78,
    KS_TIMESTAMP = 0x82,
    KS_REGEX = 0x8C,
    KS_DBPOINTER = 0x96,
    KS_CODE = 0xA0,
    KS_CODEWSCOPE = 0xAA,
    KS_MAXKEY = 0xF0,
};

/* End of an embedded document or array (below every element's first byte). */
#define KS_DOC_END 0x00

/* Type bits: one tag per number and per string-like value, in encode order. */
enum {
    TB_INT32 = 0x01,
    TB_INT64 = 0x02,
    TB_DOUBLE = 0x03,
    TB_DOUBLE_NEG_ZERO = 0x04,
    TB_DECIMAL = 0x05, /* followed by the 16 raw bytes (low, high; little-endian) */
    TB_STRING = 0x10,
    TB_SYMBOL = 0x11,
};

/* Exponent bias: |exp| <= 6176 + 34 for decimals, so 16 bits suffice. */
#define KS_EXP_BIAS 0x8000

/* MongoDB caps compound indexes at 32 fields; desc_mask has one bit per field. */
#define KS_MAX_FIELDS 32

/* ------------------------------------------------------------------------ */
/* Buffers                                                                   */
/* ------------------------------------------------------------------------ */

/* buf_reserve -- make room for n more bytes. */
static void buf_reserve(uint8_t **buf, size_t *len, size_t *cap, size_t n)
{
    size_t want = *len + n;
    if (want <= *cap)
        return;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < want)
        ncap *= 2;
    *buf = bson_realloc(*buf, ncap);
    *cap = ncap;
}

static void key_put(stor_ks_t *ks, const void *p, size_t n)
{
    buf_reserve(&ks->key, &ks->key_len, &ks->key_cap, n);
    memcpy(ks->key + ks->key_len, p, n);
    ks->key_len += n;
}

static void key_byte(stor_ks_t *ks, uint8_t b)
{
    key_put(ks, &b, 1);
}

static void key_be32(stor_ks_t *ks, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    key_put(ks, b, 4);
}

static void key_be64(stor_ks_t *ks, uint64_t v)
{
    key_be32(ks, (uint32_t)(v >> 32));
    key_be32(ks, (uint32_t)v);
}

static void tb_put(stor_ks_t *ks, const void *p, size_t n)
{
    buf_reserve(&ks->tb, &ks->tb_len, &ks->tb_cap, n);
    memcpy(ks->tb + ks->tb_len, p, n);
    ks->tb_len += n;
}

static void tb_byte(stor_ks_t *ks, uint8_t b)
{
    tb_put(ks, &b, 1);
}

/* stor_ks_init -- an empty key. */
void stor_ks_init(stor_ks_t *ks)
{
    memset(ks, 0, sizeof(*ks));
}

/* stor_ks_destroy -- free the buffers (NULL-safe). */
void stor_ks_destroy(stor_ks_t *ks)
{
    if (ks == NULL)
        return;
    bson_free(ks->key);
    bson_free(ks->tb);
    memset(ks, 0, sizeof(*ks));
}

/* stor_ks_reset -- back to empty, keeping the buffers. */
void stor_ks_reset(stor_ks_t *ks)
{
    ks->key_len = 0;
    ks->tb_len = 0;
    ks->nfields = 0;
    ks->closed = false;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */
/* ------------------------------------------------------------------------ */

/* enc_escaped -- bytes with NUL as 00 FF, ended by 00 00: prefix-free, byte order kept. */
static void enc_escaped(stor_ks_t *ks, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == 0) {
            key_put(ks, s + start, i - start);
            key_byte(ks, 0x00);
            key_byte(ks, 0xFF);
            start = i + 1;
        }
    }
    key_put(ks, s + start, len - start);
    key_byte(ks, 0x00);
    key_byte(ks, 0x00);
}

/* enc_cstring -- a NUL-free C string (field name, regex) ended by one 00. */
static void enc_cstring(stor_ks_t *ks, const char *s)
{
    key_put(ks, s, strlen(s) + 1);
}

/* enc_number -- ctype by class, then for finite non-zero: exponent, digit pairs, 00. */
static int enc_number(stor_ks_t *ks, const bson_value_t *v, status_t *st)
{
    /* ~800 bytes: on the heap-free stack path, as deep recursion is bounded. */
    bsonu_num_t n;
    size_t start;

    ST_RET(bsonu_num_from_value(v, &n, st));
    switch (n.cls) {
    case BSONU_NUM_NAN:
        key_byte(ks, KS_NUM_NAN);
        break;
    case BSONU_NUM_NEG_INF:
        key_byte(ks, KS_NUM_NEG_INF);
        break;
    case BSONU_NUM_POS_INF:
        key_byte(ks, KS_NUM_POS_INF);
        break;
    case BSONU_NUM_ZERO:
        key_byte(ks, KS_NUM_ZERO);
        break;
    case BSONU_NUM_NEG:
    case BSONU_NUM_POS:
        key_byte(ks, n.cls == BSONU_NUM_POS ? KS_NUM_POS : KS_NUM_NEG);
        start = ks->key_len;
        {
            uint16_t e = (uint16_t)(n.exp + KS_EXP_BIAS);
            key_byte(ks, (uint8_t)(e >> 8));
            key_byte(ks, (uint8_t)e);
        }
        for (uint16_t i = 0; i < n.ndigits; i += 2) {
            unsigned lo = i + 1 < n.ndigits ? n.digits[i + 1] : 0;
            key_byte(ks, (uint8_t)(n.digits[i] * 10 + lo + 1));
        }
        key_byte(ks, 0x00);
        /* A larger magnitude is a smaller negative number: invert the body. */
        if (n.cls == BSONU_NUM_NEG)
            for (size_t i = start; i < ks->key_len; i++)
                ks->key[i] = (uint8_t)~ks->key[i];
        break;
    }

    switch (v->value_type) {
    case BSON_TYPE_INT32:
        tb_byte(ks, TB_INT32);
        break;
    case BSON_TYPE_INT64:
        tb_byte(ks, TB_INT64);
        break;
    case BSON_TYPE_DOUBLE:
        tb_byte(ks, v->value.v_double == 0 && signbit(v->value.v_double) ? TB_DOUBLE_NEG_ZERO
                                                                         : TB_DOUBLE);
        break;
    default: {
        uint8_t raw[16];
        uint64_t lo = v->value.v_decimal128.low, hi = v->value.v_decimal128.high;
        for (int i = 0; i < 8; i++) {
            raw[i] = (uint8_t)(lo >> (8 * i));
            raw[8 + i] = (uint8_t)(hi >> (8 * i));
        }
        tb_byte(ks, TB_DECIMAL);
        tb_put(ks, raw, 16);
        break;
    }
    }
    return 0;
}

static int enc_value(stor_ks_t *ks, const bson_value_t *v, int depth, status_t *st);

/* enc_doc -- elements of a document (rank byte, name, value) or array (value), then 00. */
static int enc_doc(stor_ks_t *ks, const uint8_t *data, uint32_t len, bool with_names, int depth,
                   status_t *st)
{
    bson_iter_t it;

    if (depth >= STOR_KS_MAX_DEPTH)
        return status_set(st, ERR_BadValue, "KeyString: value nests deeper than %d levels",
                          STOR_KS_MAX_DEPTH);
    if (!bson_iter_init_from_data(&it, data, len))
        return status_set(st, ERR_BadValue, "KeyString: invalid embedded document");
    while (bson_iter_next(&it)) {
        if (with_names) {
            /* Rank (not the value's ctype) first: documents order by rank, then name. */
            key_byte(ks, (uint8_t)(bsonu_canonical_type(bson_iter_type(&it)) + 2));
            enc_cstring(ks, bson_iter_key(&it));
        }
        ST_RET(enc_value(ks, bson_iter_value(&it), depth + 1, st));
    }
    key_byte(ks, KS_DOC_END);
    return 0;
}

/* enc_value -- one value: ctype, then its body. */
static int enc_value(stor_ks_t *ks, const bson_value_t *v, int depth, status_t *st)
{
    switch (v->value_type) {
    case BSON_TYPE_MINKEY:
        key_byte(ks, KS_MINKEY);
        return 0;
    case BSON_TYPE_MAXKEY:
        key_byte(ks, KS_MAXKEY);
        return 0;
    case BSON_TYPE_UNDEFINED:
        key_byte(ks, KS_UNDEFINED);
        return 0;
    case BSON_TYPE_NULL:
        key_byte(ks, KS_NULL);
        return 0;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
        return enc_number(ks, v, st);
    case BSON_TYPE_UTF8:
        key_byte(ks, KS_STRING);
        enc_escaped(ks, v->value.v_utf8.str, v->value.v_utf8.len);
        tb_byte(ks, TB_STRING);
        return 0;
    case BSON_TYPE_SYMBOL:
        key_byte(ks, KS_STRING);
        enc_escaped(ks, v->value.v_symbol.symbol, v->value.v_symbol.len);
        tb_byte(ks, TB_SYMBOL);
        return 0;
    case BSON_TYPE_DOCUMENT:
        key_byte(ks, KS_OBJECT);
        return enc_doc(ks, v->value.v_doc.data, v->value.v_doc.data_len, true, depth, st);
    case BSON_TYPE_ARRAY:
        key_byte(ks, KS_ARRAY);
        return enc_doc(ks, v->value.v_doc.data, v->value.v_doc.data_len, false, depth, st);
    case BSON_TYPE_BINARY:
        key_byte(ks, KS_BINARY);
        key_be32(ks, v->value.v_binary.data_len);
        key_byte(ks, (uint8_t)v->value.v_binary.subtype);
        key_put(ks, v->value.v_binary.data, v->value.v_binary.data_len);
        return 0;
    case BSON_TYPE_OID:
        key_byte(ks, KS_OID);
        key_put(ks, v->value.v_oid.bytes, 12);
        return 0;
    case BSON_TYPE_BOOL:
        key_byte(ks, v->value.v_bool ? KS_TRUE : KS_FALSE);
        return 0;
    case BSON_TYPE_DATE_TIME:
        key_byte(ks, KS_DATE);
        key_be64(ks, (uint64_t)v->value.v_datetime ^ (1ULL << 63));
        return 0;
    case BSON_TYPE_TIMESTAMP:
        key_byte(ks, KS_TIMESTAMP);
        key_be32(ks, v->value.v_timestamp.timestamp);
        key_be32(ks, v->value.v_timestamp.increment);
        return 0;
    case BSON_TYPE_REGEX:
        key_byte(ks, KS_REGEX);
        enc_cstring(ks, v->value.v_regex.regex);
        enc_cstring(ks, v->value.v_regex.options);
        return 0;
    case BSON_TYPE_DBPOINTER:
        key_byte(ks, KS_DBPOINTER);
        key_be32(ks, v->value.v_dbpointer.collection_len);
        key_put(ks, v->value.v_dbpointer.collection, v->value.v_dbpointer.collection_len);
        key_put(ks, v->value.v_dbpointer.oid.bytes, 12);
        return 0;
    case BSON_TYPE_CODE:
        key_byte(ks, KS_CODE);
        enc_escaped(ks, v->value.v_code.code, v->value.v_code.code_len);
        return 0;
    case BSON_TYPE_CODEWSCOPE:
        key_byte(ks, KS_CODEWSCOPE);
        enc_escaped(ks, v->value.v_codewscope.code, v->value.v_codewscope.code_len);
        return enc_doc(ks, v->value.v_codewscope.scope_data, v->value.v_codewscope.scope_len, true,
                       depth, st);
    case BSON_TYPE_EOD:
        break;
    }
    return status_set(st, ERR_BadValue, "KeyString: cannot encode BSON type %d",
                      (int)v->value_type);
}

/* stor_ks_append_value -- append one field's value, inverted when descending. */
int stor_ks_append_value(stor_ks_t *ks, const bson_value_t *v, bool descending, status_t *st)
{
    size_t key_start = ks->key_len, tb_start = ks->tb_len;
    int ret;

    if (ks->closed)
        return status_set(st, ERR_InternalError, "KeyString: field appended after the end");
    if (ks->nfields >= KS_MAX_FIELDS)
        return status_set(st, ERR_BadValue, "KeyString: more than %d fields", KS_MAX_FIELDS);
    if ((ret = enc_value(ks, v, 0, st)) != 0) {
        /* Leave the key as it was: a failed append adds nothing. */
        ks->key_len = key_start;
        ks->tb_len = tb_start;
        return ret;
    }
    if (descending)
        for (size_t i = key_start; i < ks->key_len; i++)
            ks->key[i] = (uint8_t)~ks->key[i];
    ks->nfields++;
    return 0;
}

/* stor_ks_append_iter -- stor_ks_append_value of the value at an iterator. */
int stor_ks_append_iter(stor_ks_t *ks, const bson_iter_t *it, bool descending, status_t *st)
{
    return stor_ks_append_value(ks, bson_iter_value((bson_iter_t *)it), descending, st);
}

/* stor_ks_close -- append the discriminator; no fields may follow. */
int stor_ks_close(stor_ks_t *ks, stor_ks_disc_t disc, status_t *st)
{
    if (ks->closed)
        return status_set(st, ERR_InternalError, "KeyString: already closed");
    if (disc != STOR_KS_BEFORE && disc != STOR_KS_END && disc != STOR_KS_AFTER)
        return status_set(st, ERR_BadValue, "KeyString: bad discriminator %d", (int)disc);
    key_byte(ks, (uint8_t)disc);
    ks->closed = true;
    return 0;
}

/* stor_ks_build -- reset, append every value of values, close with disc. */
int stor_ks_build(stor_ks_t *ks, const bson_t *values, uint32_t desc_mask, stor_ks_disc_t disc,
                  status_t *st)
{
    bson_iter_t it;
    uint32_t i = 0;

    stor_ks_reset(ks);
    if (!bson_iter_init(&it, values))
        return status_set(st, ERR_BadValue, "KeyString: invalid key document");
    while (bson_iter_next(&it)) {
        bool desc = i < KS_MAX_FIELDS && (desc_mask >> i) & 1;
        ST_RET(stor_ks_append_iter(ks, &it, desc, st));
        i++;
    }
    return stor_ks_close(ks, disc, st);
}

/* stor_ks_append_record_id -- append the RecordId suffix (after close). */
int stor_ks_append_record_id(stor_ks_t *ks, int64_t record_id, status_t *st)
{
    if (!ks->closed)
        return status_set(st, ERR_InternalError, "KeyString: RecordId before the end");
    /* Sign bit flipped, big-endian: memcmp order is signed order. */
    key_be64(ks, (uint64_t)record_id ^ (1ULL << 63));
    return 0;
}

/* stor_ks_strip_record_id -- length of the key without its RecordId suffix. */
int stor_ks_strip_record_id(const uint8_t *key, size_t len, size_t *out_len, status_t *st)
{
    if (len < 9 || key[len - 9] != STOR_KS_END)
        return status_set(st, ERR_BadValue, "KeyString: key has no RecordId suffix");
    *out_len = len - 8;
    return 0;
}

/* stor_ks_record_id -- the RecordId at the end of a key built with one. */
int stor_ks_record_id(const uint8_t *key, size_t len, int64_t *record_id, status_t *st)
{
    uint64_t v = 0;
    size_t n = 0;

    ST_RET(stor_ks_strip_record_id(key, len, &n, st));
    for (size_t i = n; i < len; i++)
        v = (v << 8) | key[i];
    *record_id = (int64_t)(v ^ (1ULL << 63));
    return 0;
}

/* stor_ks_compare -- memcmp order, then length. */
int stor_ks_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct ks_reader {
    const uint8_t *key;
    size_t len;
    size_t pos;
    const uint8_t *tb; /* NULL: no type bits, decode to default types */
    size_t tb_len;
    size_t tb_pos;
    uint8_t inv; /* 0xFF while reading a descending field */
    status_t *st;
} ks_reader_t;

static int corrupt(ks_reader_t *r, const char *what)
{
    return status_set(r->st, ERR_BadValue, "KeyString: corrupt key (%s at byte %zu)", what, r->pos);
}

static int rd_byte(ks_reader_t *r, uint8_t *b)
{
    if (r->pos >= r->len)
        return corrupt(r, "truncated");
    *b = r->key[r->pos++] ^ r->inv;
    return 0;
}

static int rd_bytes(ks_reader_t *r, uint8_t *out, size_t n)
{
    if (r->len - r->pos < n)
        return corrupt(r, "truncated");
    for (size_t i = 0; i < n; i++)
        out[i] = r->key[r->pos + i] ^ r->inv;
    r->pos += n;
    return 0;
}

static int rd_be32(ks_reader_t *r, uint32_t *v)
{
    uint8_t b[4];
    ST_RET(rd_bytes(r, b, 4));
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    return 0;
}

/* tb_next -- the next type-bits tag, or 0 without type bits. */
static int tb_next(ks_reader_t *r, uint8_t *tag)
{
    if (r->tb == NULL) {
        *tag = 0;
        return 0;
    }
    if (r->tb_pos >= r->tb_len)
        return status_set(r->st, ERR_BadValue, "KeyString: type bits too short");
    *tag = r->tb[r->tb_pos++];
    return 0;
}

/* rd_escaped -- an escaped string into a growing buffer (caller frees *out). */
static int rd_escaped(ks_reader_t *r, char **out, size_t *out_len)
{
    size_t cap = 32, n = 0;
    char *s = bson_malloc(cap);
    uint8_t b = 0, b2 = 0;
    int ret;

    for (;;) {
        ST_ERR(rd_byte(r, &b));
        if (b == 0x00) {
            ST_ERR(rd_byte(r, &b2));
            if (b2 == 0x00)
                break;
            if (b2 != 0xFF) {
                ret = corrupt(r, "bad string escape");
                goto err;
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            s = bson_realloc(s, cap);
        }
        s[n++] = (char)b;
    }
    s[n] = 0;
    *out = s;
    *out_len = n;
    return 0;
err:
    bson_free(s);
    return ret;
}

/* rd_cstring -- a 00-ended string (caller frees *out). */
static int rd_cstring(ks_reader_t *r, char **out)
{
    size_t start = r->pos, n = 0;
    uint8_t b = 0;

    do {
        ST_RET(rd_byte(r, &b));
        n++;
    } while (b != 0);
    r->pos = start;
    *out = bson_malloc(n);
    return rd_bytes(r, (uint8_t *)*out, n);
}

/* num_to_int64 -- the exact int64 of an integral canonical form, from its digits. */
static bool num_to_int64(const bsonu_num_t *n, int64_t *out)
{
    uint64_t mag = 0;

    if (n->cls == BSONU_NUM_ZERO) {
        *out = 0;
        return true;
    }
    if ((n->cls != BSONU_NUM_POS && n->cls != BSONU_NUM_NEG) || n->exp < n->ndigits || n->exp > 19)
        return false;
    for (int32_t i = 0; i < n->exp; i++) {
        unsigned dg = i < n->ndigits ? n->digits[i] : 0;
        if (mag > (UINT64_MAX - dg) / 10)
            return false;
        mag = mag * 10 + dg;
    }
    if (n->cls == BSONU_NUM_POS) {
        if (mag > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX + 1)
            return false;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    }
    return true;
}

/* dec_number -- rebuild a number from its class/digits and its type-bits tag. */
static int dec_number(ks_reader_t *r, uint8_t ctype, bson_t *out, const char *key)
{
    bsonu_num_t n;
    uint8_t tag = 0, raw[16];
    double d;
    int64_t i64 = 0;
    bool integral = false;
    bson_value_t v;

    memset(&n, 0, sizeof(n));
    n.cls = ctype == KS_NUM_NAN       ? BSONU_NUM_NAN
            : ctype == KS_NUM_NEG_INF ? BSONU_NUM_NEG_INF
            : ctype == KS_NUM_NEG     ? BSONU_NUM_NEG
            : ctype == KS_NUM_ZERO    ? BSONU_NUM_ZERO
            : ctype == KS_NUM_POS     ? BSONU_NUM_POS
                                      : BSONU_NUM_POS_INF;
    if (n.cls == BSONU_NUM_NEG || n.cls == BSONU_NUM_POS) {
        uint8_t save = r->inv, e[2] = {0, 0}, b = 0;
        if (n.cls == BSONU_NUM_NEG)
            r->inv ^= 0xFF;
        ST_RET(rd_bytes(r, e, 2));
        n.exp = (int32_t)(((unsigned)e[0] << 8) | e[1]) - KS_EXP_BIAS;
        for (;;) {
            ST_RET(rd_byte(r, &b));
            if (b == 0)
                break;
            if (b > 100 || n.ndigits + 2 > BSONU_NUM_MAX_DIGITS)
                return corrupt(r, "bad digits");
            n.digits[n.ndigits++] = (uint8_t)((b - 1) / 10);
            n.digits[n.ndigits++] = (uint8_t)((b - 1) % 10);
        }
        r->inv = save;
        while (n.ndigits > 0 && n.digits[n.ndigits - 1] == 0)
            n.ndigits--;
        if (n.ndigits == 0 || n.digits[0] == 0)
            return corrupt(r, "non-canonical number");
    }
    ST_RET(tb_next(r, &tag));
    if (tag == TB_DECIMAL) {
        if (r->tb_len - r->tb_pos < 16)
            return status_set(r->st, ERR_BadValue, "KeyString: type bits too short");
        memcpy(raw, r->tb + r->tb_pos, 16);
        r->tb_pos += 16;
        bson_decimal128_t dec = {0, 0};
        for (int i = 7; i >= 0; i--) {
            dec.low = (dec.low << 8) | raw[i];
            dec.high = (dec.high << 8) | raw[8 + i];
        }
        bson_append_decimal128(out, key, -1, &dec);
        return 0;
    }
    v.value_type = BSON_TYPE_DOUBLE;
    d = bsonu_num_to_double(&n);
    v.value.v_double = d;
    integral = num_to_int64(&n, &i64);
    switch (tag) {
    case TB_INT32:
        if (!integral || i64 < INT32_MIN || i64 > INT32_MAX)
            return status_set(r->st, ERR_BadValue, "KeyString: int32 type bits on a non-int32");
        bson_append_int32(out, key, -1, (int32_t)i64);
        return 0;
    case TB_INT64:
        if (!integral)
            return status_set(r->st, ERR_BadValue, "KeyString: int64 type bits on a non-int64");
        bson_append_int64(out, key, -1, i64);
        return 0;
    case TB_DOUBLE:
        bson_append_double(out, key, -1, d);
        return 0;
    case TB_DOUBLE_NEG_ZERO:
        bson_append_double(out, key, -1, -0.0);
        return 0;
    case 0:
        break;
    default:
        return status_set(r->st, ERR_BadValue, "KeyString: bad number type bits %d", tag);
    }
    /* No type bits: the narrowest type that holds the value exactly. */
    if (integral && i64 >= INT32_MIN && i64 <= INT32_MAX) {
        bson_append_int32(out, key, -1, (int32_t)i64);
        return 0;
    }
    if (integral) {
        bson_append_int64(out, key, -1, i64);
        return 0;
    }
    {
        bsonu_num_t back;
        status_t st2 = STATUS_INIT;
        bsonu_num_from_value(&v, &back, &st2);
        if (bsonu_num_compare(&back, &n) != 0 && n.ndigits <= 34) {
            char buf[64];
            size_t k = 0;
            bson_decimal128_t dec;
            if (n.cls == BSONU_NUM_NEG)
                buf[k++] = '-';
            for (uint16_t i = 0; i < n.ndigits; i++)
                buf[k++] = (char)('0' + n.digits[i]);
            snprintf(buf + k, sizeof(buf) - k, "E%d", (int)(n.exp - n.ndigits));
            if (bson_decimal128_from_string(buf, &dec)) {
                bson_append_decimal128(out, key, -1, &dec);
                return 0;
            }
        }
    }
    bson_append_double(out, key, -1, d);
    return 0;
}

static int dec_value(ks_reader_t *r, uint8_t ctype, bson_t *out, const char *key, int depth);

/* dec_doc_body -- elements until the 00 end marker, appended to out. */
static int dec_doc_body(ks_reader_t *r, bson_t *out, bool with_names, int depth)
{
    char idx[16];
    uint32_t n = 0;
    uint8_t b = 0;

    if (depth >= STOR_KS_MAX_DEPTH)
        return corrupt(r, "nesting too deep");
    for (;;) {
        char *name = NULL;
        int ret;
        ST_RET(rd_byte(r, &b));
        if (b == KS_DOC_END)
            return 0;
        if (with_names) {
            /* b is the rank byte; the name and the value's own ctype follow. */
            ST_RET(rd_cstring(r, &name));
            ret = rd_byte(r, &b);
            if (ret == 0)
                ret = dec_value(r, b, out, name, depth + 1);
            bson_free(name);
            ST_RET(ret);
        } else {
            snprintf(idx, sizeof(idx), "%u", n);
            ST_RET(dec_value(r, b, out, idx, depth + 1));
        }
        n++;
    }
}

/* dec_value -- the body of a value whose ctype was read, appended as key. */
static int dec_value(ks_reader_t *r, uint8_t ctype, bson_t *out, const char *key, int depth)
{
    uint8_t tag = 0, oid[12], sub = 0;
    uint32_t len, t, i;
    char *s = NULL, *s2 = NULL;
    size_t slen;
    int ret = 0;

    switch (ctype) {
    case KS_MINKEY:
        bson_append_minkey(out, key, -1);
        return 0;
    case KS_MAXKEY:
        bson_append_maxkey(out, key, -1);
        return 0;
    case KS_UNDEFINED:
        bson_append_undefined(out, key, -1);
        return 0;
    case KS_NULL:
        bson_append_null(out, key, -1);
        return 0;
    case KS_NUM_NAN:
    case KS_NUM_NEG_INF:
    case KS_NUM_NEG:
    case KS_NUM_ZERO:
    case KS_NUM_POS:
    case KS_NUM_POS_INF:
        return dec_number(r, ctype, out, key);
    case KS_STRING:
        ST_RET(rd_escaped(r, &s, &slen));
        ret = tb_next(r, &tag);
        if (ret == 0 && tag == TB_SYMBOL)
            bson_append_symbol(out, key, -1, s, (int)slen);
        else if (ret == 0 && (tag == TB_STRING || tag == 0))
            bson_append_utf8(out, key, -1, s, (int)slen);
        else if (ret == 0)
            ret = status_set(r->st, ERR_BadValue, "KeyString: bad string type bits %d", tag);
        bson_free(s);
        return ret;
    case KS_OBJECT:
    case KS_ARRAY: {
        bson_t child;
        if (ctype == KS_OBJECT)
            bson_append_document_begin(out, key, -1, &child);
        else
            bson_append_array_begin(out, key, -1, &child);
        ret = dec_doc_body(r, &child, ctype == KS_OBJECT, depth);
        if (ctype == KS_OBJECT)
            bson_append_document_end(out, &child);
        else
            bson_append_array_end(out, &child);
        return ret;
    }
    case KS_BINARY: {
        uint8_t *data;
        ST_RET(rd_be32(r, &len));
        ST_RET(rd_byte(r, &sub));
        if (r->len - r->pos < len)
            return corrupt(r, "truncated binary");
        data = bson_malloc(len ? len : 1);
        ret = rd_bytes(r, data, len);
        if (ret == 0)
            bson_append_binary(out, key, -1, (bson_subtype_t)sub, data, len);
        bson_free(data);
        return ret;
    }
    case KS_OID: {
        bson_oid_t o;
        ST_RET(rd_bytes(r, oid, 12));
        bson_oid_init_from_data(&o, oid);
        bson_append_oid(out, key, -1, &o);
        return 0;
    }
    case KS_FALSE:
    case KS_TRUE:
        bson_append_bool(out, key, -1, ctype == KS_TRUE);
        return 0;
    case KS_DATE: {
        uint32_t hi, lo;
        ST_RET(rd_be32(r, &hi));
        ST_RET(rd_be32(r, &lo));
        bson_append_date_time(out, key, -1, (int64_t)((((uint64_t)hi << 32) | lo) ^ (1ULL << 63)));
        return 0;
    }
    case KS_TIMESTAMP:
        ST_RET(rd_be32(r, &t));
        ST_RET(rd_be32(r, &i));
        bson_append_timestamp(out, key, -1, t, i);
        return 0;
    case KS_REGEX:
        ST_RET(rd_cstring(r, &s));
        ret = rd_cstring(r, &s2);
        if (ret == 0)
            bson_append_regex(out, key, -1, s, s2);
        bson_free(s);
        bson_free(s2);
        return ret;
    case KS_DBPOINTER: {
        bson_oid_t o;
        ST_RET(rd_be32(r, &len));
        if (r->len - r->pos < (size_t)len + 12)
            return corrupt(r, "truncated dbpointer");
        s = bson_malloc((size_t)len + 1);
        ret = rd_bytes(r, (uint8_t *)s, len);
        s[len] = 0;
        if (ret == 0)
            ret = rd_bytes(r, oid, 12);
        if (ret == 0) {
            bson_oid_init_from_data(&o, oid);
            bson_append_dbpointer(out, key, -1, s, &o);
        }
        bson_free(s);
        return ret;
    }
    case KS_CODE:
        ST_RET(rd_escaped(r, &s, &slen));
        /* libbson's code API takes a C string; code with NULs cannot round-trip. */
        bson_append_code(out, key, -1, s);
        bson_free(s);
        return 0;
    case KS_CODEWSCOPE: {
        bson_t scope;
        ST_RET(rd_escaped(r, &s, &slen));
        bson_init(&scope);
        ret = dec_doc_body(r, &scope, true, depth);
        if (ret == 0)
            bson_append_code_with_scope(out, key, -1, s, &scope);
        bson_destroy(&scope);
        bson_free(s);
        return ret;
    }
    default:
        return corrupt(r, "unknown type byte");
    }
}

/* stor_ks_decode -- the values of a key as {"": v1, "": v2, ...} into out. */
int stor_ks_decode(const uint8_t *key, size_t key_len, const uint8_t *tb, size_t tb_len,
                   uint32_t desc_mask, bson_t *out, status_t *st)
{
    ks_reader_t r = {key, key_len, 0, tb, tb_len, 0, 0, st};
    uint32_t field = 0;

    bson_init(out);
    for (;;) {
        uint8_t b = 0;
        if (r.pos >= r.len)
            return corrupt(&r, "missing discriminator");
        b = key[r.pos];
        if (b == STOR_KS_BEFORE || b == STOR_KS_END || b == STOR_KS_AFTER)
            return 0;
        if (field >= KS_MAX_FIELDS)
            return corrupt(&r, "too many fields");
        r.inv = ((desc_mask >> field) & 1) ? 0xFF : 0x00;
        ST_RET(rd_byte(&r, &b));
        ST_RET(dec_value(&r, b, out, "", 0));
        field++;
    }
}

/* stor_ks_desc_mask -- the desc_mask of an index key pattern. */
int stor_ks_desc_mask(const bson_t *key_pattern, uint32_t *mask, status_t *st)
{
    bson_iter_t it;
    uint32_t i = 0;
    double d;

    *mask = 0;
    if (!bson_iter_init(&it, key_pattern))
        return status_set(st, ERR_BadValue, "invalid index key pattern");
    while (bson_iter_next(&it)) {
        if (i >= KS_MAX_FIELDS)
            return status_set(st, ERR_BadValue, "index key pattern has more than %d fields",
                              KS_MAX_FIELDS);
        if (bsonu_number_as_double(bson_iter_value(&it), &d) && d < 0)
            *mask |= 1u << i;
        i++;
    }
    return 0;
}
