/*
 * compress.c -- OP_COMPRESSED bodies: snappy, zlib, zstd and noop, both ways.
 *
 * Decompression always writes into a buffer of exactly the declared size and
 * succeeds only when the compressor produced exactly that many bytes. That is
 * the whole defence against MongoDB's CVE-2025-14847, where a message whose
 * real decompressed length was shorter than the declared uncompressedSize was
 * parsed with the tail of a heap buffer never written, echoing stale memory to
 * an unauthenticated client. Here "short" and "long" are both errors, and a
 * failed buffer is freed by the caller without being looked at.
 *
 * Framing (the 9-byte compression header, nesting, limits) lives in msg.c;
 * this file only knows the compressors.
 */
#include "wire/codec_int.h"

#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/*
 * Compression levels for replies: zlib's default (6) and zstd's default (3) are
 * what MongoDB uses; both are a good ratio for BSON at a cost well below the
 * time spent building the reply.
 */
#define WIRE_ZLIB_LEVEL Z_DEFAULT_COMPRESSION
#define WIRE_ZSTD_LEVEL ZSTD_CLEVEL_DEFAULT

static const struct {
    uint8_t id;
    const char *name;
} compressors[] = {
    {WIRE_COMPRESSOR_NOOP, "noop"},
    {WIRE_COMPRESSOR_SNAPPY, "snappy"},
    {WIRE_COMPRESSOR_ZLIB, "zlib"},
    {WIRE_COMPRESSOR_ZSTD, "zstd"},
};
#define N_COMPRESSORS (sizeof(compressors) / sizeof(compressors[0]))

/* wire_compressor_name -- the negotiation name of compressor id, NULL if unknown. */
const char *wire_compressor_name(uint8_t id)
{
    for (size_t i = 0; i < N_COMPRESSORS; i++)
        if (compressors[i].id == id)
            return compressors[i].name;
    return NULL;
}

/* wire_compressor_by_name -- the id of a compressor name ("snappy", ...), -1 if unknown. */
int wire_compressor_by_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < N_COMPRESSORS; i++)
        if (strcmp(compressors[i].name, name) == 0)
            return compressors[i].id;
    return -1;
}

/* size_mismatch -- MongoDB's wording for a decompressed size other than the declared one. */
static int size_mismatch(status_t *st, bool more)
{
    return status_set(st, ERR_BadValue, "Decompressing message returned %s data than expected",
                      more ? "more" : "less");
}

/* corrupt -- the compressed bytes could not be decoded. */
static int corrupt(status_t *st, const char *compressor)
{
    return status_set(st, ERR_BadValue, "Compressed message was invalid or corrupted (%s)",
                      compressor);
}

/* wire__decompress -- decompress into exactly out_len bytes, or fail. */
int wire__decompress(uint8_t compressor, const uint8_t *in, size_t in_len, uint8_t *out,
                     size_t out_len, status_t *st)
{
    switch (compressor) {
    case WIRE_COMPRESSOR_NOOP:
        if (in_len != out_len)
            return size_mismatch(st, in_len > out_len);
        if (out_len > 0)
            memcpy(out, in, out_len);
        return 0;

    case WIRE_COMPRESSOR_SNAPPY: {
        size_t real = 0;
        /* Snappy's preamble states its length: compare before writing anything. */
        if (snappy_uncompressed_length((const char *)in, in_len, &real) != SNAPPY_OK)
            return corrupt(st, "snappy");
        if (real != out_len)
            return size_mismatch(st, real > out_len);
        size_t produced = out_len;
        /* snappy_uncompress fails unless it wrote exactly the preamble's length. */
        if (snappy_uncompress((const char *)in, in_len, (char *)out, &produced) != SNAPPY_OK)
            return corrupt(st, "snappy");
        if (produced != out_len)
            return size_mismatch(st, produced > out_len);
        return 0;
    }

    case WIRE_COMPRESSOR_ZLIB: {
        uLongf produced = (uLongf)out_len;
        uLong consumed = (uLong)in_len;
        int zr = uncompress2(out, &produced, in, &consumed);
        /*
         * Z_BUF_ERROR means "no progress possible": with input left over the
         * output was full (more data than declared); with all input consumed the
         * stream was cut short.
         */
        if (zr == Z_BUF_ERROR)
            return consumed < in_len ? size_mismatch(st, true) : corrupt(st, "zlib");
        if (zr != Z_OK)
            return corrupt(st, "zlib");
        if (produced != out_len)
            return size_mismatch(st, produced > out_len);
        /* Bytes after the end of the zlib stream would be silently ignored: refuse them. */
        if (consumed != in_len)
            return status_set(st, ERR_BadValue,
                              "Compressed message has %zu bytes after the zlib stream",
                              in_len - (size_t)consumed);
        return 0;
    }

    case WIRE_COMPRESSOR_ZSTD: {
        unsigned long long fcs = ZSTD_getFrameContentSize(in, in_len);
        if (fcs == ZSTD_CONTENTSIZE_ERROR)
            return corrupt(st, "zstd");
        /* Only the first frame's size is known here; a larger one is wrong already. */
        if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs > out_len)
            return size_mismatch(st, true);
        size_t produced = ZSTD_decompress(out, out_len, in, in_len);
        if (ZSTD_isError(produced)) {
            if (ZSTD_getErrorCode(produced) == ZSTD_error_dstSize_tooSmall)
                return size_mismatch(st, true);
            return corrupt(st, "zstd");
        }
        if (produced != out_len)
            return size_mismatch(st, produced > out_len);
        return 0;
    }

    default:
        return status_set(st, ERR_ProtocolError,
                          "Compression algorithm %u specified in message is not available",
                          (unsigned)compressor);
    }
}

/* compress_bound -- the most bytes compressor may produce for len input bytes. */
static size_t compress_bound(uint8_t compressor, size_t len)
{
    switch (compressor) {
    case WIRE_COMPRESSOR_SNAPPY:
        return snappy_max_compressed_length(len);
    case WIRE_COMPRESSOR_ZLIB:
        return (size_t)compressBound((uLong)len);
    case WIRE_COMPRESSOR_ZSTD:
        return ZSTD_compressBound(len);
    default:
        return len;
    }
}

/* compress_into -- compress in[0..len) to dst (room for compress_bound bytes). */
static int compress_into(uint8_t compressor, const uint8_t *in, size_t len, uint8_t *dst,
                         size_t room, size_t *produced, status_t *st)
{
    switch (compressor) {
    case WIRE_COMPRESSOR_NOOP:
        if (len > 0)
            memcpy(dst, in, len);
        *produced = len;
        return 0;
    case WIRE_COMPRESSOR_SNAPPY: {
        size_t n = room;
        if (snappy_compress((const char *)in, len, (char *)dst, &n) != SNAPPY_OK)
            return status_set(st, ERR_InternalError, "snappy compression failed");
        *produced = n;
        return 0;
    }
    case WIRE_COMPRESSOR_ZLIB: {
        uLongf n = (uLongf)room;
        if (compress2(dst, &n, in, (uLong)len, WIRE_ZLIB_LEVEL) != Z_OK)
            return status_set(st, ERR_InternalError, "zlib compression failed");
        *produced = (size_t)n;
        return 0;
    }
    case WIRE_COMPRESSOR_ZSTD: {
        size_t n = ZSTD_compress(dst, room, in, len, WIRE_ZSTD_LEVEL);
        if (ZSTD_isError(n))
            return status_set(st, ERR_InternalError, "zstd compression failed: %s",
                              ZSTD_getErrorName(n));
        *produced = n;
        return 0;
    }
    default:
        return status_set(st, ERR_BadValue, "Unknown compressor id %u", (unsigned)compressor);
    }
}

/*
 * wire_compress -- append msg as an OP_COMPRESSED. As MongoDB does, a message
 * whose worst-case compressed form would exceed the message size limit is
 * appended unchanged instead (still a valid reply, just not compressed).
 */
int wire_compress(wire_buf_t *out, uint8_t compressor, const uint8_t *msg, size_t len, status_t *st)
{
    if (wire_compressor_name(compressor) == NULL)
        return status_set(st, ERR_BadValue, "Unknown compressor id %u", (unsigned)compressor);
    if (msg == NULL || len < WIRE_HEADER_LEN)
        return status_set(st, ERR_BadValue, "Message to compress is shorter than a header");
    int32_t declared = wire__rd_i32(msg);
    int32_t op_code = wire__rd_i32(msg + 12);
    if (declared < 0 || (size_t)declared != len)
        return status_set(st, ERR_BadValue, "Message to compress declares %d bytes but has %zu",
                          declared, len);
    if (op_code == WIRE_OP_COMPRESSED)
        return status_set(st, ERR_BadValue, "Cannot compress an OP_COMPRESSED message");

    size_t body_len = len - WIRE_HEADER_LEN;
    size_t bound = WIRE_HEADER_LEN + 9 + compress_bound(compressor, body_len);
    if (bound > WIRE_MAX_MESSAGE_BYTES) {
        ST_RET(wire__buf_reserve(out, len, st));
        memcpy(out->data + out->len, msg, len);
        out->len += len;
        return 0;
    }

    ST_RET(wire__buf_reserve(out, bound, st));
    uint8_t *m = out->data + out->len;
    size_t produced = 0;
    ST_RET(compress_into(compressor, msg + WIRE_HEADER_LEN, body_len, m + WIRE_HEADER_LEN + 9,
                         bound - WIRE_HEADER_LEN - 9, &produced, st));
    size_t total = WIRE_HEADER_LEN + 9 + produced;
    wire__wr_i32(m, (int32_t)total);
    memcpy(m + 4, msg + 4, 8); /* requestID and responseTo, unchanged */
    wire__wr_i32(m + 12, WIRE_OP_COMPRESSED);
    wire__wr_i32(m + 16, op_code);
    wire__wr_i32(m + 20, (int32_t)body_len);
    m[24] = compressor;
    out->len += total;
    return 0;
}
