/*
 * fuzz_wire_frame.c -- libFuzzer target for the wire-frame parser: header,
 * OP_MSG, OP_QUERY and OP_COMPRESSED (every compressor).
 *
 * Beyond "no crash, no leak, no read past the input" (ASan + LeakSanitizer),
 * every accepted frame must satisfy the parser's promises, checked here and
 * turned into an abort() when broken:
 *   - a failure carries a non-zero code and a message;
 *   - every document the parser accepted passes bson_validate, and a sequence
 *     yields exactly `count` documents;
 *   - an accepted OP_MSG re-encodes (body + sequences + flags) into a frame that
 *     parses again to the same body, plain and through every compressor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_wire_frame: property failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* walk -- touch every element (recursing into subdocuments) the way a command would. */
static void walk(const bson_t *doc, int depth)
{
    bson_iter_t it;
    CHECK(depth <= WIRE_MAX_BSON_DEPTH + 1);
    CHECK(bson_iter_init(&it, doc));
    while (bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            uint32_t len = 0;
            const uint8_t *data = NULL;
            bson_t sub;
            if (BSON_ITER_HOLDS_DOCUMENT(&it))
                bson_iter_document(&it, &len, &data);
            else
                bson_iter_array(&it, &len, &data);
            CHECK(bson_init_static(&sub, data, len));
            walk(&sub, depth + 1);
        }
    }
}

/*
 * libbson_accepts -- libbson's own verdict: bson_validate AND a full iteration
 * that ends without err_off. bson_validate alone is not enough: libbson 1.23
 * returns true for a document whose last string length runs over the
 * terminator, while its iterator stops there with err_off set.
 */
static bool libbson_accepts(const bson_t *doc, int depth)
{
    bson_iter_t it;
    if (depth > 4096 || !bson_validate(doc, BSON_VALIDATE_NONE, NULL) || !bson_iter_init(&it, doc))
        return false;
    while (bson_iter_next(&it)) {
        uint32_t len = 0, code_len = 0;
        const uint8_t *data = NULL;
        bson_t sub;
        if (BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &len, &data);
        else if (BSON_ITER_HOLDS_ARRAY(&it))
            bson_iter_array(&it, &len, &data);
        else if (BSON_ITER_HOLDS_CODEWSCOPE(&it))
            (void)bson_iter_codewscope(&it, &code_len, &len, &data);
        else
            continue;
        if (data == NULL || !bson_init_static(&sub, data, len) || !libbson_accepts(&sub, depth + 1))
            return false;
    }
    return it.err_off == 0;
}

/* reencode -- an accepted OP_MSG must survive encode -> (compress) -> parse. */
static void reencode(const wire_request_t *req)
{
    static bson_t docs[WIRE_MAX_DOC_SEQS][64];
    const bson_t *ptrs[WIRE_MAX_DOC_SEQS][64];
    wire_seq_spec_t seqs[WIRE_MAX_DOC_SEQS];
    for (size_t i = 0; i < req->n_seqs; i++) {
        if (req->seqs[i].count > 64)
            return; /* keep the property check cheap; the parse itself was checked */
        size_t off = 0;
        for (uint32_t k = 0; k < req->seqs[i].count; k++) {
            CHECK(wire_doc_seq_next(&req->seqs[i], &off, &docs[i][k]));
            ptrs[i][k] = &docs[i][k];
        }
        seqs[i] = (wire_seq_spec_t){req->seqs[i].identifier, ptrs[i], req->seqs[i].count};
    }
    wire_buf_t out;
    wire_buf_init(&out);
    status_t st = STATUS_INIT;
    CHECK(wire_encode_op_msg_seqs(&out, req->header.request_id, req->header.response_to, req->flags,
                                  &req->body, seqs, req->n_seqs, &st) == 0);
    for (int c = -1; c <= WIRE_COMPRESSOR_ZSTD; c++) {
        wire_buf_t z;
        wire_buf_init(&z);
        const uint8_t *m = out.data;
        size_t len = out.len;
        if (c >= 0) {
            CHECK(wire_compress(&z, (uint8_t)c, out.data, out.len, &st) == 0);
            m = z.data;
            len = z.len;
        }
        wire_request_t again;
        CHECK(wire_request_parse(m, len, &again, &st) == 0);
        CHECK(again.body.len == req->body.len);
        CHECK(memcmp(bson_get_data(&again.body), bson_get_data(&req->body), req->body.len) == 0);
        CHECK(again.n_seqs == req->n_seqs);
        for (size_t i = 0; i < req->n_seqs; i++)
            CHECK(again.seqs[i].count == req->seqs[i].count);
        wire_request_destroy(&again);
        wire_buf_destroy(&z);
    }
    wire_buf_destroy(&out);
}

/* LLVMFuzzerTestOneInput -- one frame. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    status_t st = STATUS_INIT;
    wire_header_t h;
    if (wire_parse_header(data, size, &h, &st) != 0)
        CHECK(st.code != 0 && st.msg[0] != '\0');

    size_t dl = 0;
    status_reset(&st);
    if (wire_bson_check(data, size, WIRE_MAX_COMMAND_BYTES, &dl, &st) == 0) {
        bson_t b;
        CHECK(dl <= size && bson_init_static(&b, data, dl));
        CHECK(bson_validate(&b, BSON_VALIDATE_NONE, NULL));
    } else if (st.code == ERR_InvalidBSON && size >= 5) {
        /*
         * Differential: our walker may refuse more than libbson only by depth
         * (Overflow). Inputs are small, so libbson's recursion is safe here.
         */
        int32_t len = (int32_t)((uint32_t)data[0] | (uint32_t)data[1] << 8 |
                                (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24);
        bson_t b;
        if (len >= 5 && (size_t)len <= size && bson_init_static(&b, data, (size_t)len) &&
            libbson_accepts(&b, 0)) {
            fprintf(stderr, "walker refused what libbson accepts: %s\n", st.msg);
            abort();
        }
    }

    wire_request_t req;
    status_reset(&st);
    int ret = wire_request_parse(data, size, &req, &st);
    if (ret != 0) {
        CHECK(st.code == ret && st.msg[0] != '\0');
        return 0;
    }
    CHECK(bson_validate(&req.body, BSON_VALIDATE_NONE, NULL));
    walk(&req.body, 0);
    if (req.has_return_fields)
        CHECK(bson_validate(&req.return_fields, BSON_VALIDATE_NONE, NULL));
    for (size_t i = 0; i < req.n_seqs; i++) {
        size_t off = 0;
        uint32_t n = 0;
        bson_t doc;
        while (wire_doc_seq_next(&req.seqs[i], &off, &doc)) {
            CHECK(bson_validate(&doc, BSON_VALIDATE_NONE, NULL));
            walk(&doc, 0);
            n++;
        }
        CHECK(n == req.seqs[i].count && off == req.seqs[i].len);
    }
    if (req.op_code == WIRE_OP_MSG)
        reencode(&req);
    wire_request_destroy(&req);
    return 0;
}
