/*
 * test_crc32c.c -- CRC-32C against published check values (the CRC catalogue's
 * "123456789" and RFC 3720's iSCSI vectors), chaining, and agreement between
 * the hardware and the slicing-by-8 paths at every length and alignment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "wire/wire.h"

typedef struct vector {
    const char *name;
    uint8_t data[48];
    size_t len;
    uint32_t crc;
} vector_t;

static vector_t vectors[] = {
    {"check_value_123456789", "123456789", 9, 0xE3069283u},
    {"empty_input_is_zero", "", 0, 0x00000000u},
    {"rfc3720_32_zero_bytes", {0}, 32, 0x8A9136AAu},
    {"rfc3720_32_ff_bytes", {0}, 32, 0x62A8AB43u},
    {"rfc3720_32_incrementing_bytes", {0}, 32, 0x46DD794Eu},
    {"rfc3720_32_decrementing_bytes", {0}, 32, 0x113FDB5Cu},
    {"rfc3720_iscsi_read_command_pdu",
     {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
     48,
     0xD9963A56u},
};

/* fill_rfc_vectors -- the RFC 3720 32-byte patterns, built rather than spelled out. */
static int fill_rfc_vectors(void **state)
{
    for (int i = 0; i < 32; i++) {
        vectors[3].data[i] = 0xff;
        vectors[4].data[i] = (uint8_t)i;
        vectors[5].data[i] = (uint8_t)(31 - i);
    }
    return 0;
}

static void run_vector(void **state)
{
    const vector_t *v = *state;
    assert_int_equal(wire_crc32c(0, v->data, v->len), v->crc);
    assert_int_equal(wire_crc32c_sw(0, v->data, v->len), v->crc);
}

/* Feeding the result back in continues the checksum, at every split point. */
static void test_chaining_equals_one_pass(void **state)
{
    const vector_t *v = &vectors[6];
    for (size_t cut = 0; cut <= v->len; cut++) {
        uint32_t a = wire_crc32c(0, v->data, cut);
        assert_int_equal(wire_crc32c(a, v->data + cut, v->len - cut), v->crc);
        uint32_t b = wire_crc32c_sw(0, v->data, cut);
        assert_int_equal(wire_crc32c_sw(b, v->data + cut, v->len - cut), v->crc);
    }
}

/* The fast path and the table path agree for all lengths 0..300 and all 8 alignments. */
static void test_hardware_and_table_paths_agree(void **state)
{
    static uint8_t buf[320];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t align = 0; align < 8; align++)
        for (size_t len = 0; len + align <= 308; len++)
            assert_int_equal(wire_crc32c(0, buf + align, len), wire_crc32c_sw(0, buf + align, len));
}

/* A NULL pointer with zero length is the empty input, not a crash. */
static void test_null_with_zero_length(void **state)
{
    assert_int_equal(wire_crc32c(0, NULL, 0), 0);
    assert_int_equal(wire_crc32c(0xE3069283u, NULL, 0), 0xE3069283u);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    enum { N_VEC = sizeof(vectors) / sizeof(vectors[0]) };
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]) };
    static struct CMUnitTest all[N_VEC + NFIXED];
    for (size_t i = 0; i < N_VEC; i++)
        all[i] = (struct CMUnitTest){vectors[i].name, run_vector, NULL, NULL, &vectors[i]};
    for (size_t i = 0; i < NFIXED; i++)
        all[N_VEC + i] = fixed[i];
    return _cmocka_run_group_tests("wire_crc32c", all, N_VEC + NFIXED, fill_rfc_vectors, NULL);
}
