/*
 * test_compress.c -- OP_COMPRESSED: round trips through every compressor
 * (noop, snappy, zlib, zstd) for every request opcode, and a table of
 * malformed compressed frames, above all the CVE-2025-14847 family: a declared
 * uncompressedSize that differs from what decompression really produces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "wire/wire.h"

static const uint8_t all_compressors[] = {WIRE_COMPRESSOR_NOOP, WIRE_COMPRESSOR_SNAPPY,
                                          WIRE_COMPRESSOR_ZLIB, WIRE_COMPRESSOR_ZSTD};
#define N_COMPRESSORS (sizeof(all_compressors) / sizeof(all_compressors[0]))

/* Offsets inside an OP_COMPRESSED message. */
#define OFF_ORIGINAL   16
#define OFF_USIZE      20
#define OFF_COMPRESSOR 24
#define OFF_DATA       25

static bson_t *json(const char *s)
{
    bson_error_t err;
    bson_t *d = bson_new_from_json((const uint8_t *)s, -1, &err);
    assert_non_null(d);
    return d;
}

static void assert_bson_eq(const bson_t *a, const bson_t *b)
{
    assert_int_equal(a->len, b->len);
    assert_memory_equal(bson_get_data(a), bson_get_data(b), a->len);
}

static int32_t rd_i32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

static void wr_i32(uint8_t *p, int32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)((uint32_t)v >> (8 * i));
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */
/* ------------------------------------------------------------------------ */

/* compress_parse -- compress plain with c, parse it, check the framing fields. */
static void compress_parse(const wire_buf_t *plain, uint8_t c, wire_buf_t *z, wire_request_t *req)
{
    status_t st = STATUS_INIT;
    wire_buf_init(z);
    assert_int_equal(wire_compress(z, c, plain->data, plain->len, &st), 0);
    assert_int_equal(rd_i32(z->data), (int32_t)z->len);
    assert_int_equal(rd_i32(z->data + 12), WIRE_OP_COMPRESSED);
    assert_int_equal(rd_i32(z->data + OFF_ORIGINAL), rd_i32(plain->data + 12));
    assert_int_equal(rd_i32(z->data + OFF_USIZE), (int32_t)plain->len - 16);
    assert_int_equal(z->data[OFF_COMPRESSOR], c);
    int ret = wire_request_parse(z->data, z->len, req, &st);
    if (ret != 0)
        print_error("compressor %u: %s\n", c, st.msg);
    assert_int_equal(ret, 0);
    assert_true(req->compressed);
    assert_int_equal(req->compressor_id, c);
    assert_int_equal(req->header.op_code, WIRE_OP_COMPRESSED);
    assert_int_equal(req->header.message_length, (int32_t)z->len);
    assert_int_equal(req->header.request_id, rd_i32(plain->data + 4));
    assert_int_equal(req->op_code, rd_i32(plain->data + 12));
    assert_non_null(req->owned);
}

static void test_op_msg_round_trip_every_compressor(void **state)
{
    bson_t *body = json("{\"find\": \"c\", \"filter\": {\"x\": 1}, \"$db\": \"test\"}");
    for (size_t i = 0; i < N_COMPRESSORS; i++) {
        wire_buf_t plain, z;
        wire_buf_init(&plain);
        status_t st = STATUS_INIT;
        assert_int_equal(wire_encode_op_msg(&plain, 77, 0, 0, body, &st), 0);
        wire_request_t req;
        compress_parse(&plain, all_compressors[i], &z, &req);
        assert_bson_eq(&req.body, body);
        assert_int_equal(req.n_seqs, 0);
        wire_request_destroy(&req);
        wire_buf_destroy(&z);
        wire_buf_destroy(&plain);
    }
    bson_destroy(body);
}

static void test_op_msg_two_sequences_with_checksum_round_trip_every_compressor(void **state)
{
    bson_t *body = json("{\"update\": \"c\", \"$db\": \"test\"}");
    bson_t *u[2] = {json("{\"q\": {\"a\": 1}, \"u\": {\"$set\": {\"b\": 2}}}"),
                    json("{\"q\": {}, \"u\": {\"$inc\": {\"n\": 1}}, \"multi\": true}")};
    bson_t *l[1] = {json("{\"let\": 1}")};
    wire_seq_spec_t seqs[2] = {{"updates", (const bson_t *const *)u, 2},
                               {"extra", (const bson_t *const *)l, 1}};
    for (size_t i = 0; i < N_COMPRESSORS; i++) {
        wire_buf_t plain, z;
        wire_buf_init(&plain);
        status_t st = STATUS_INIT;
        assert_int_equal(
            wire_encode_op_msg_seqs(&plain, 5, 0, WIRE_MSG_CHECKSUM_PRESENT, body, seqs, 2, &st),
            0);
        wire_request_t req;
        compress_parse(&plain, all_compressors[i], &z, &req);
        assert_int_equal(req.flags, WIRE_MSG_CHECKSUM_PRESENT);
        assert_bson_eq(&req.body, body);
        assert_int_equal(req.n_seqs, 2);
        assert_string_equal(req.seqs[0].identifier, "updates");
        assert_int_equal(req.seqs[0].count, 2);
        assert_string_equal(req.seqs[1].identifier, "extra");
        size_t off = 0;
        bson_t d;
        assert_true(wire_doc_seq_next(&req.seqs[0], &off, &d));
        assert_bson_eq(&d, u[0]);
        assert_true(wire_doc_seq_next(&req.seqs[0], &off, &d));
        assert_bson_eq(&d, u[1]);
        wire_request_destroy(&req);
        wire_buf_destroy(&z);
        wire_buf_destroy(&plain);
    }
    bson_destroy(u[0]);
    bson_destroy(u[1]);
    bson_destroy(l[0]);
    bson_destroy(body);
}

static void test_op_query_round_trip_every_compressor(void **state)
{
    bson_t *q = json("{\"isMaster\": 1}");
    for (size_t i = 0; i < N_COMPRESSORS; i++) {
        wire_buf_t plain, z;
        wire_buf_init(&plain);
        status_t st = STATUS_INIT;
        assert_int_equal(wire_encode_op_query(&plain, 3, 0, "admin.$cmd", 0, -1, q, &st), 0);
        wire_request_t req;
        compress_parse(&plain, all_compressors[i], &z, &req);
        assert_string_equal(req.full_collection_name, "admin.$cmd");
        assert_int_equal(req.number_to_return, -1);
        assert_bson_eq(&req.body, q);
        wire_request_destroy(&req);
        wire_buf_destroy(&z);
        wire_buf_destroy(&plain);
    }
    bson_destroy(q);
}

/* A 1 MiB repetitive body really shrinks with every real compressor and comes back intact. */
static void test_large_body_shrinks_and_round_trips(void **state)
{
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = "mica-wire-"[i % 10];
    s[n] = '\0';
    bson_t body = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&body, "insert", "c");
    BSON_APPEND_UTF8(&body, "payload", s);
    free(s);
    for (size_t i = 1; i < N_COMPRESSORS; i++) {
        wire_buf_t plain, z;
        wire_buf_init(&plain);
        status_t st = STATUS_INIT;
        assert_int_equal(wire_encode_op_msg(&plain, 1, 0, 0, &body, &st), 0);
        wire_request_t req;
        compress_parse(&plain, all_compressors[i], &z, &req);
        assert_true(z.len < plain.len / 4);
        assert_bson_eq(&req.body, &body);
        wire_request_destroy(&req);
        wire_buf_destroy(&z);
        wire_buf_destroy(&plain);
    }
    bson_destroy(&body);
}

/* A zstd frame that does not record its content size still decompresses. */
static void test_zstd_frame_without_content_size(void **state)
{
    bson_t *body = json("{\"ping\": 1}");
    wire_buf_t plain;
    wire_buf_init(&plain);
    status_t st = STATUS_INIT;
    assert_int_equal(wire_encode_op_msg(&plain, 1, 0, 0, body, &st), 0);

    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
    uint8_t zbuf[512];
    ZSTD_outBuffer ob = {zbuf + OFF_DATA, sizeof(zbuf) - OFF_DATA, 0};
    ZSTD_inBuffer ib = {plain.data + 16, plain.len - 16, 0};
    assert_int_equal(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end), 0);
    ZSTD_freeCCtx(cctx);
    assert_int_equal(ZSTD_getFrameContentSize(zbuf + OFF_DATA, ob.pos), ZSTD_CONTENTSIZE_UNKNOWN);

    size_t total = OFF_DATA + ob.pos;
    memcpy(zbuf, plain.data, 16);
    wr_i32(zbuf, (int32_t)total);
    wr_i32(zbuf + 12, WIRE_OP_COMPRESSED);
    wr_i32(zbuf + OFF_ORIGINAL, WIRE_OP_MSG);
    wr_i32(zbuf + OFF_USIZE, (int32_t)plain.len - 16);
    zbuf[OFF_COMPRESSOR] = WIRE_COMPRESSOR_ZSTD;
    wire_request_t req;
    assert_int_equal(wire_request_parse(zbuf, total, &req, &st), 0);
    assert_bson_eq(&req.body, body);
    wire_request_destroy(&req);

    /* Declaring one byte more than the frame holds is caught after decompression. */
    wr_i32(zbuf + OFF_USIZE, (int32_t)plain.len - 16 + 1);
    assert_int_equal(wire_request_parse(zbuf, total, &req, &st), ERR_BadValue);
    assert_null(req.owned);
    wire_buf_destroy(&plain);
    bson_destroy(body);
}

static void test_compressor_names(void **state)
{
    static const struct {
        const char *name;
        int id;
    } names[] = {{"noop", 0}, {"snappy", 1}, {"zlib", 2}, {"zstd", 3}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(wire_compressor_by_name(names[i].name), names[i].id);
        assert_string_equal(wire_compressor_name((uint8_t)names[i].id), names[i].name);
    }
    assert_int_equal(wire_compressor_by_name("lz4"), -1);
    assert_int_equal(wire_compressor_by_name(NULL), -1);
    assert_null(wire_compressor_name(4));
}

static void test_compress_refuses_bad_input_and_appends_nothing(void **state)
{
    bson_t *body = json("{\"ping\": 1}");
    wire_buf_t plain, z;
    wire_buf_init(&plain);
    wire_buf_init(&z);
    status_t st = STATUS_INIT;
    assert_int_equal(wire_encode_op_msg(&plain, 1, 0, 0, body, &st), 0);

    assert_int_equal(wire_compress(&z, 9, plain.data, plain.len, &st), ERR_BadValue);
    assert_int_equal(wire_compress(&z, WIRE_COMPRESSOR_ZLIB, plain.data, 10, &st), ERR_BadValue);
    assert_int_equal(wire_compress(&z, WIRE_COMPRESSOR_ZLIB, plain.data, plain.len - 1, &st),
                     ERR_BadValue);
    wire_buf_t zz;
    wire_buf_init(&zz);
    assert_int_equal(wire_compress(&zz, WIRE_COMPRESSOR_NOOP, plain.data, plain.len, &st), 0);
    assert_int_equal(wire_compress(&z, WIRE_COMPRESSOR_ZLIB, zz.data, zz.len, &st), ERR_BadValue);
    assert_int_equal(z.len, 0);
    wire_buf_destroy(&zz);
    wire_buf_destroy(&z);
    wire_buf_destroy(&plain);
    bson_destroy(body);
}

/* ------------------------------------------------------------------------ */
/* Malformed compressed frames                                               */
/* ------------------------------------------------------------------------ */

typedef struct bad_case {
    const char *name;
    uint8_t compressor;
    /* patch -- damage a valid compressed message in place; returns its new length. */
    size_t (*patch)(uint8_t *m, size_t len, uint8_t compressor);
    int code;
} bad_case_t;

static size_t p_declared_plus_one(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m + OFF_USIZE, rd_i32(m + OFF_USIZE) + 1);
    return len;
}
static size_t p_declared_minus_one(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m + OFF_USIZE, rd_i32(m + OFF_USIZE) - 1);
    return len;
}
static size_t p_declared_much_larger(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m + OFF_USIZE, 1 << 20);
    return len;
}
static size_t p_declared_above_limit(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m + OFF_USIZE, WIRE_MAX_MESSAGE_BYTES);
    return len;
}
static size_t p_declared_negative(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m + OFF_USIZE, -1);
    return len;
}
static size_t p_unknown_compressor(uint8_t *m, size_t len, uint8_t c)
{
    m[OFF_COMPRESSOR] = 7;
    return len;
}
static size_t p_garbage_data(uint8_t *m, size_t len, uint8_t c)
{
    for (size_t i = OFF_DATA; i < len; i++)
        m[i] = (uint8_t)(0xff - i * 7);
    return len;
}
static size_t p_truncated_data(uint8_t *m, size_t len, uint8_t c)
{
    len -= 3;
    wr_i32(m, (int32_t)len);
    return len;
}
static size_t p_trailing_garbage(uint8_t *m, size_t len, uint8_t c)
{
    m[len] = 0xAB;
    m[len + 1] = 0xCD;
    len += 2;
    wr_i32(m, (int32_t)len);
    return len;
}
static size_t p_nested(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m + OFF_ORIGINAL, WIRE_OP_COMPRESSED);
    return len;
}
static size_t p_header_truncated(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m, 16 + 5);
    return 16 + 5;
}
/* The noop payload is the original body: make its flags illegal, so the inner parse fails. */
static size_t p_inner_illegal_flag(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m + OFF_DATA, 1 << 4);
    return len;
}
static size_t p_inner_unknown_opcode(uint8_t *m, size_t len, uint8_t c)
{
    wr_i32(m + OFF_ORIGINAL, 4242);
    return len;
}

#define SIZE_CASES(c, cname)                                                                       \
    {"declared_size_one_more_than_actual_" cname "_is_BadValue", c, p_declared_plus_one,           \
     ERR_BadValue},                                                                                \
        {"declared_size_one_less_than_actual_" cname "_is_BadValue", c, p_declared_minus_one,      \
         ERR_BadValue},                                                                            \
        {"declared_size_much_larger_" cname "_is_BadValue", c, p_declared_much_larger,             \
         ERR_BadValue},                                                                            \
    {                                                                                              \
        "truncated_compressed_data_" cname "_is_BadValue", c, p_truncated_data, ERR_BadValue       \
    }

static const bad_case_t bad_cases[] = {
    SIZE_CASES(WIRE_COMPRESSOR_NOOP, "noop"),
    SIZE_CASES(WIRE_COMPRESSOR_SNAPPY, "snappy"),
    SIZE_CASES(WIRE_COMPRESSOR_ZLIB, "zlib"),
    SIZE_CASES(WIRE_COMPRESSOR_ZSTD, "zstd"),
    {"garbage_data_snappy_is_BadValue", WIRE_COMPRESSOR_SNAPPY, p_garbage_data, ERR_BadValue},
    {"garbage_data_zlib_is_BadValue", WIRE_COMPRESSOR_ZLIB, p_garbage_data, ERR_BadValue},
    {"garbage_data_zstd_is_BadValue", WIRE_COMPRESSOR_ZSTD, p_garbage_data, ERR_BadValue},
    {"trailing_bytes_after_zlib_stream_is_BadValue", WIRE_COMPRESSOR_ZLIB, p_trailing_garbage,
     ERR_BadValue},
    {"trailing_bytes_after_zstd_frame_is_BadValue", WIRE_COMPRESSOR_ZSTD, p_trailing_garbage,
     ERR_BadValue},
    {"declared_size_above_48MB_is_BadValue", WIRE_COMPRESSOR_ZLIB, p_declared_above_limit,
     ERR_BadValue},
    {"declared_size_negative_is_BadValue", WIRE_COMPRESSOR_SNAPPY, p_declared_negative,
     ERR_BadValue},
    {"unknown_compressor_is_ProtocolError", WIRE_COMPRESSOR_ZLIB, p_unknown_compressor,
     ERR_ProtocolError},
    {"nested_op_compressed_is_ProtocolError", WIRE_COMPRESSOR_NOOP, p_nested, ERR_ProtocolError},
    {"compression_header_truncated_is_ProtocolError", WIRE_COMPRESSOR_ZLIB, p_header_truncated,
     ERR_ProtocolError},
    {"inner_op_msg_with_illegal_flag_is_IllegalOpMsgFlag", WIRE_COMPRESSOR_NOOP,
     p_inner_illegal_flag, ERR_IllegalOpMsgFlag},
    {"inner_unknown_opcode_is_ProtocolError", WIRE_COMPRESSOR_SNAPPY, p_inner_unknown_opcode,
     ERR_ProtocolError},
};

static void run_bad_case(void **state)
{
    const bad_case_t *c = *state;
    bson_t *body = json("{\"insert\": \"c\", \"documents\": [{\"_id\": 1, \"s\": \"some text\"}],"
                        " \"$db\": \"test\"}");
    wire_buf_t plain, z;
    wire_buf_init(&plain);
    wire_buf_init(&z);
    status_t st = STATUS_INIT;
    assert_int_equal(wire_encode_op_msg(&plain, 1, 0, 0, body, &st), 0);
    assert_int_equal(wire_compress(&z, c->compressor, plain.data, plain.len, &st), 0);

    /* Exact-size heap copy (plus room for appended bytes) so ASan sees any overread. */
    uint8_t *m = malloc(z.len + 2);
    assert_non_null(m);
    memcpy(m, z.data, z.len);
    size_t len = c->patch(m, z.len, c->compressor);
    uint8_t *exact = malloc(len);
    assert_non_null(exact);
    memcpy(exact, m, len);

    wire_request_t req;
    int ret = wire_request_parse(exact, len, &req, &st);
    if (ret != c->code)
        print_error("%s: got %d (%s), want %d\n", c->name, ret, st.msg, c->code);
    else
        print_message("%s -> %d: %s\n", c->name, ret, st.msg);
    assert_int_equal(ret, c->code);
    assert_true(strlen(st.msg) > 0);
    assert_null(req.owned);
    free(exact);
    free(m);
    wire_buf_destroy(&z);
    wire_buf_destroy(&plain);
    bson_destroy(body);
}

int main(void)
{
    const struct CMUnitTest fixed[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    enum {
        N_FIXED = sizeof(fixed) / sizeof(fixed[0]),
        N_BAD = sizeof(bad_cases) / sizeof(bad_cases[0])
    };
    static struct CMUnitTest all[N_FIXED + N_BAD];
    memcpy(all, fixed, sizeof(fixed));
    for (size_t i = 0; i < N_BAD; i++)
        all[N_FIXED + i] =
            (struct CMUnitTest){bad_cases[i].name, run_bad_case, NULL, NULL, (void *)&bad_cases[i]};
    return _cmocka_run_group_tests("wire_compress", all, N_FIXED + N_BAD, NULL, NULL);
}
