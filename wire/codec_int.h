/*
 * codec_int.h -- private declarations shared by the codec files of wire/
 * (msg.c, compress.c). Nothing outside wire/ includes this header.
 */
#ifndef MICA_WIRE_CODEC_INT_H
#define MICA_WIRE_CODEC_INT_H

#include "wire/wire.h"

/* wire__rd_i32 / wire__wr_i32 -- little-endian int32 at p, whatever the host order. */
static inline int32_t wire__rd_i32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

static inline void wire__wr_i32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)u;
    p[1] = (uint8_t)(u >> 8);
    p[2] = (uint8_t)(u >> 16);
    p[3] = (uint8_t)(u >> 24);
}

/* wire__buf_reserve -- make room for extra more bytes in b (InternalError on overflow/OOM). */
int wire__buf_reserve(wire_buf_t *b, size_t extra, status_t *st);

/*
 * wire__decompress -- decompress in[0..in_len) with compressor into exactly
 * out_len bytes at out. Succeeds only when decompression produced exactly
 * out_len bytes, so every byte of out is written on success.
 */
int wire__decompress(uint8_t compressor, const uint8_t *in, size_t in_len, uint8_t *out,
                     size_t out_len, status_t *st);

#endif /* MICA_WIRE_CODEC_INT_H */
