/*
 * crc32c.c -- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of OP_MSG's checksumPresent flag.
 *
 * Two implementations with identical results: the SSE4.2 `crc32` instruction
 * (8 bytes per instruction) chosen once at first use when the CPU reports it,
 * and a portable slicing-by-8 table walk (8 bytes per step, 8 KiB of tables
 * built once). Both work on the inverted register, so the public function can
 * be chained: wire_crc32c(wire_crc32c(0, a), b) == crc of a||b.
 */
#include "wire/wire.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <nmmintrin.h>
#define CRC32C_HAVE_X86 1
#endif

/* The reflected Castagnoli polynomial. */
#define CRC32C_POLY 0x82F63B78u

/* table[k][b] -- the CRC of byte b followed by k zero bytes (slicing-by-8). */
static uint32_t table[8][256];

typedef uint32_t (*crc_fn)(uint32_t crc, const uint8_t *p, size_t len);
static crc_fn crc_impl;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* crc_sw -- slicing-by-8 over the inverted register. */
static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
    /* Byte steps until p is 8-aligned keep the 8-byte loop on aligned reads. */
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        /* Assemble little-endian words byte by byte: no alignment or endianness assumptions. */
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        uint32_t hi =
            (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#ifdef CRC32C_HAVE_X86
/* crc_hw -- the SSE4.2 crc32 instruction; only called after the CPU check. */
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof(w)); /* x86 is little-endian, as the CRC wants */
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return (uint32_t)c;
}
#endif

/* crc_init -- build the tables and pick the implementation, once per process. */
static void crc_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        table[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int b = 0; b < 256; b++)
            table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];

    crc_impl = crc_sw;
#ifdef CRC32C_HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        crc_impl = crc_hw;
#endif
}

/* wire_crc32c -- CRC-32C of data, continuing from crc (0 to start). */
uint32_t wire_crc32c(uint32_t crc, const void *data, size_t len)
{
    (void)pthread_once(&crc_once, crc_init);
    return ~crc_impl(~crc, (const uint8_t *)data, len);
}

/* wire_crc32c_sw -- the same checksum through the portable table path. */
uint32_t wire_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    (void)pthread_once(&crc_once, crc_init);
    return ~crc_sw(~crc, (const uint8_t *)data, len);
}
