/*
 * msg.c -- the wire-protocol message codecs: the standard header, OP_MSG
 * (kind-0 body, kind-1 document sequences, CRC-32C checksum), OP_QUERY for the
 * legacy isMaster/hello handshake, OP_COMPRESSED framing, and the encoders for
 * OP_MSG, OP_REPLY and OP_QUERY.
 *
 * Parsing never trusts a length: every count and size is compared with the
 * bytes that remain before it is used, and every limit is checked before the
 * allocation it guards (the only allocation is the decompression buffer).
 * Parsed requests are views into the caller's buffer; see wire/README.md
 * ("## Codecs") for the formats and the order of the checks.
 */
#include "wire/codec_int.h"

#include <stdlib.h>
#include <string.h>

/* OP_COMPRESSED's own header: originalOpcode, uncompressedSize, compressorId. */
#define COMPRESSION_HEADER_LEN 9
/* OP_MSG flag bits 0-15 must be understood by the receiver; 16-31 may be ignored. */
#define MSG_REQUIRED_FLAGS_MASK 0xffffu
#define MSG_KNOWN_FLAGS         (WIRE_MSG_CHECKSUM_PRESENT | WIRE_MSG_MORE_TO_COME)
#define CRC_LEN                 4
/* Smallest BSON document (length + NUL): used for minimum message sizes. */
#define MIN_DOC 5

/* ------------------------------------------------------------------------ */
/* Output buffer                                                             */
/* ------------------------------------------------------------------------ */

/* wire_buf_init -- an empty buffer; allocates nothing. */
void wire_buf_init(wire_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* wire_buf_destroy -- free the buffer's memory; NULL-safe. */
void wire_buf_destroy(wire_buf_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    wire_buf_init(b);
}

/* wire__buf_reserve -- make room for extra more bytes, doubling to amortise appends. */
int wire__buf_reserve(wire_buf_t *b, size_t extra, status_t *st)
{
    if (extra > SIZE_MAX - b->len)
        return status_set(st, ERR_InternalError, "wire buffer size overflow");
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *d = realloc(b->data, cap);
    if (d == NULL)
        return status_set(st, ERR_InternalError, "out of memory growing a wire buffer to %zu", cap);
    b->data = d;
    b->cap = cap;
    return 0;
}

/* wire_buf_append -- append n bytes, growing the buffer. */
int wire_buf_append(wire_buf_t *b, const void *p, size_t n, status_t *st)
{
    ST_RET(wire__buf_reserve(b, n, st));
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* put -- append n bytes at the end of b (room already reserved). */
static void put(wire_buf_t *b, const void *p, size_t n)
{
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* put_i32 -- append a little-endian int32 (room already reserved). */
static void put_i32(wire_buf_t *b, int32_t v)
{
    wire__wr_i32(b->data + b->len, v);
    b->len += 4;
}

/* put_header -- append a standard header for a message of total bytes. */
static void put_header(wire_buf_t *b, size_t total, int32_t request_id, int32_t response_to,
                       int32_t op_code)
{
    put_i32(b, (int32_t)total);
    put_i32(b, request_id);
    put_i32(b, response_to);
    put_i32(b, op_code);
}

/* ------------------------------------------------------------------------ */
/* Header                                                                    */
/* ------------------------------------------------------------------------ */

/* min_body -- the fewest body bytes a well-formed message of op_code can have. */
static size_t min_body(int32_t op_code)
{
    switch (op_code) {
    case WIRE_OP_MSG:
        return 4 + 1 + MIN_DOC; /* flags, kind byte, body document */
    case WIRE_OP_QUERY:
        return 4 + 1 + 8 + MIN_DOC; /* flags, empty cstring, skip + nReturn, query */
    case WIRE_OP_COMPRESSED:
        return COMPRESSION_HEADER_LEN;
    default:
        return 0; /* rejected by wire_request_parse with a clearer message */
    }
}

/* wire_parse_header -- read and bound-check the 16-byte header at buf. */
int wire_parse_header(const uint8_t *buf, size_t len, wire_header_t *h, status_t *st)
{
    if (buf == NULL || len < WIRE_HEADER_LEN)
        return status_set(st, ERR_ProtocolError,
                          "Message header truncated: %zu bytes, a header has %d", len,
                          WIRE_HEADER_LEN);
    h->message_length = wire__rd_i32(buf);
    h->request_id = wire__rd_i32(buf + 4);
    h->response_to = wire__rd_i32(buf + 8);
    h->op_code = wire__rd_i32(buf + 12);
    if (h->message_length < WIRE_HEADER_LEN || h->message_length > WIRE_MAX_MESSAGE_BYTES)
        return status_set(st, ERR_ProtocolError,
                          "recv(): message msgLen %d is invalid. Min %d Max: %d", h->message_length,
                          WIRE_HEADER_LEN, WIRE_MAX_MESSAGE_BYTES);
    size_t body = (size_t)h->message_length - WIRE_HEADER_LEN;
    if (body < min_body(h->op_code))
        return status_set(st, ERR_ProtocolError,
                          "Message of %d bytes is too short for opcode %d (at least %zu)",
                          h->message_length, h->op_code, WIRE_HEADER_LEN + min_body(h->op_code));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

/* flag_bits -- flags as "0b" + 32 binary digits, as MongoDB prints them. */
static void flag_bits(uint32_t flags, char out[35])
{
    out[0] = '0';
    out[1] = 'b';
    for (int i = 0; i < 32; i++)
        out[2 + i] = (flags >> (31 - i)) & 1 ? '1' : '0';
    out[34] = '\0';
}

/* parse_doc_seq -- one kind-1 section starting at p[*pos] (after the kind byte). */
static int parse_doc_seq(wire_request_t *req, const uint8_t *p, size_t end, size_t *pos,
                         status_t *st)
{
    size_t at = *pos;
    if (req->n_seqs >= WIRE_MAX_DOC_SEQS)
        return status_set(st, ERR_TooManyDocumentSequences,
                          "Too many document sequences in OP_MSG (at most %d)", WIRE_MAX_DOC_SEQS);
    if (end - at < 4)
        return status_set(st, ERR_ProtocolError, "Document sequence size truncated: %zu bytes left",
                          end - at);
    int32_t size = wire__rd_i32(p + at);
    /* The size counts itself and the identifier's NUL at least. */
    if (size < 5)
        return status_set(st, ERR_ProtocolError, "Invalid document sequence size %d", size);
    if ((size_t)size > end - at)
        return status_set(st, ERR_ProtocolError,
                          "Document sequence of %d bytes overruns the message (%zu bytes left)",
                          size, end - at);
    size_t seq_end = at + (size_t)size;
    const char *id = (const char *)p + at + 4;
    const uint8_t *nul = memchr(id, 0, (size_t)size - 4);
    if (nul == NULL)
        return status_set(st, ERR_ProtocolError,
                          "Document sequence identifier is not NUL-terminated");
    if (id[0] == '\0')
        return status_set(st, ERR_ProtocolError, "Document sequence identifier is empty");
    for (size_t i = 0; i < req->n_seqs; i++)
        if (strcmp(req->seqs[i].identifier, id) == 0)
            return status_set(st, WIRE_ERR_DUPLICATE_SEQ, "Duplicate document sequence: %s", id);

    size_t docs = (size_t)(nul - p) + 1, off = docs;
    uint32_t count = 0;
    while (off < seq_end) {
        size_t dl = 0;
        int ret = wire_bson_check(p + off, seq_end - off, WIRE_MAX_COMMAND_BYTES, &dl, st);
        if (ret != 0) {
            status_prefix(st, "in document %u of sequence '%s': ", count, id);
            return ret;
        }
        off += dl;
        count++;
    }
    wire_doc_seq_t *s = &req->seqs[req->n_seqs++];
    s->identifier = id;
    s->docs = p + docs;
    s->len = seq_end - docs;
    s->count = count;
    *pos = seq_end;
    return 0;
}

/*
 * parse_op_msg -- the body of an OP_MSG at p[0..n). Order: flags, checksum
 * (before the sections, so that corruption in transit reads as a checksum
 * error and not as whatever malformation the flipped bits imitate), sections,
 * body present, identifiers not also body fields.
 */
static int parse_op_msg(wire_request_t *req, const uint8_t *msg, size_t len, status_t *st)
{
    const uint8_t *p = msg + WIRE_HEADER_LEN;
    size_t n = len - WIRE_HEADER_LEN;
    if (n < 4)
        return status_set(st, ERR_ProtocolError, "OP_MSG is too short for its flags");
    uint32_t flags = (uint32_t)wire__rd_i32(p);
    if ((flags & MSG_REQUIRED_FLAGS_MASK & ~MSG_KNOWN_FLAGS) != 0) {
        char bits[35];
        flag_bits(flags, bits);
        return status_set(st, ERR_IllegalOpMsgFlag, "Message contains illegal flags value: %s",
                          bits);
    }
    size_t end = n;
    if (flags & WIRE_MSG_CHECKSUM_PRESENT) {
        /* Room for flags, one section with the smallest body, and the checksum. */
        if (n < 4 + 1 + MIN_DOC + CRC_LEN)
            return status_set(st, ERR_ProtocolError,
                              "OP_MSG has checksumPresent set but no room for the checksum");
        end = n - CRC_LEN;
        uint32_t want = (uint32_t)wire__rd_i32(p + end);
        uint32_t got = wire_crc32c(0, msg, len - CRC_LEN);
        if (want != got)
            return status_set(st, ERR_ChecksumMismatch, "OP_MSG checksum does not match contents");
    }

    bool have_body = false;
    size_t pos = 4;
    while (pos < end) {
        uint8_t kind = p[pos++];
        if (kind == 0) {
            if (have_body)
                return status_set(st, WIRE_ERR_MULTIPLE_BODIES,
                                  "Multiple body sections in message");
            size_t dl = 0;
            int ret = wire_bson_check(p + pos, end - pos, WIRE_MAX_COMMAND_BYTES, &dl, st);
            if (ret != 0) {
                status_prefix(st, "in the OP_MSG body: ");
                return ret;
            }
            if (!bson_init_static(&req->body, p + pos, dl))
                return status_set(st, ERR_InvalidBSON, "OP_MSG body is not a BSON document");
            have_body = true;
            pos += dl;
        } else if (kind == 1) {
            ST_RET(parse_doc_seq(req, p, end, &pos, st));
        } else {
            return status_set(st, WIRE_ERR_UNKNOWN_SECTION, "Unknown section kind %u",
                              (unsigned)kind);
        }
    }
    if (!have_body)
        return status_set(st, WIRE_ERR_NO_BODY, "OP_MSG messages must have a body");

    /* A command's argument comes from the body or from a sequence, never both. */
    for (size_t i = 0; i < req->n_seqs; i++) {
        bson_iter_t it, child;
        if (bson_iter_init(&it, &req->body) &&
            bson_iter_find_descendant(&it, req->seqs[i].identifier, &child))
            return status_set(st, WIRE_ERR_DUPLICATE_FIELD,
                              "Duplicate field between body and document sequence %s",
                              req->seqs[i].identifier);
    }
    req->flags = flags;
    return 0;
}

/*
 * parse_op_query -- the body of a legacy OP_QUERY: flags, fullCollectionName,
 * numberToSkip, numberToReturn, query, optional returnFieldsSelector, and
 * nothing after.
 */
static int parse_op_query(wire_request_t *req, const uint8_t *msg, size_t len, status_t *st)
{
    const uint8_t *p = msg + WIRE_HEADER_LEN;
    size_t n = len - WIRE_HEADER_LEN, pos = 4, dl = 0;
    if (n < 4)
        return status_set(st, ERR_ProtocolError, "OP_QUERY is too short for its flags");
    req->flags = (uint32_t)wire__rd_i32(p);
    const uint8_t *nul = memchr(p + pos, 0, n - pos);
    if (nul == NULL)
        return status_set(st, ERR_ProtocolError,
                          "OP_QUERY fullCollectionName is not NUL-terminated");
    req->full_collection_name = (const char *)p + pos;
    pos = (size_t)(nul - p) + 1;
    if (n - pos < 8)
        return status_set(st, ERR_ProtocolError,
                          "OP_QUERY truncated before numberToSkip/numberToReturn");
    req->number_to_skip = wire__rd_i32(p + pos);
    req->number_to_return = wire__rd_i32(p + pos + 4);
    pos += 8;

    int ret = wire_bson_check(p + pos, n - pos, WIRE_MAX_COMMAND_BYTES, &dl, st);
    if (ret != 0) {
        status_prefix(st, "in the OP_QUERY query: ");
        return ret;
    }
    if (!bson_init_static(&req->body, p + pos, dl))
        return status_set(st, ERR_InvalidBSON, "OP_QUERY query is not a BSON document");
    pos += dl;
    if (pos < n) {
        ret = wire_bson_check(p + pos, n - pos, WIRE_MAX_COMMAND_BYTES, &dl, st);
        if (ret != 0) {
            status_prefix(st, "in the OP_QUERY returnFieldsSelector: ");
            return ret;
        }
        if (!bson_init_static(&req->return_fields, p + pos, dl))
            return status_set(st, ERR_InvalidBSON, "OP_QUERY returnFieldsSelector is invalid");
        req->has_return_fields = true;
        pos += dl;
    }
    if (pos != n)
        return status_set(st, ERR_ProtocolError, "OP_QUERY has %zu bytes after its documents",
                          n - pos);
    return 0;
}

/* legacy_name -- the name of a legacy opcode Mica does not serve, NULL if none. */
static const char *legacy_name(int32_t op_code)
{
    switch (op_code) {
    case WIRE_OP_REPLY:
        return "OP_REPLY";
    case WIRE_OP_UPDATE:
        return "OP_UPDATE";
    case WIRE_OP_INSERT:
        return "OP_INSERT";
    case WIRE_OP_GET_MORE:
        return "OP_GET_MORE";
    case WIRE_OP_DELETE:
        return "OP_DELETE";
    case WIRE_OP_KILL_CURSORS:
        return "OP_KILL_CURSORS";
    default:
        return NULL;
    }
}

static int parse_frame(wire_request_t *req, const uint8_t *msg, size_t len, bool outer,
                       status_t *st);

/*
 * parse_compressed -- OP_COMPRESSED: check the 9-byte header and the declared
 * size (before allocating), decompress into a fresh message with its own
 * header, and parse that in place of the original.
 */
static int parse_compressed(wire_request_t *req, const uint8_t *msg, size_t len, status_t *st)
{
    const uint8_t *p = msg + WIRE_HEADER_LEN;
    size_t n = len - WIRE_HEADER_LEN;
    if (n < COMPRESSION_HEADER_LEN)
        return status_set(st, ERR_BadValue, "Invalid compressed message header");
    int32_t original = wire__rd_i32(p);
    int32_t usize = wire__rd_i32(p + 4);
    uint8_t compressor = p[8];
    if (original == WIRE_OP_COMPRESSED)
        return status_set(st, ERR_ProtocolError, "Nested OP_COMPRESSED messages are not allowed");
    if (wire_compressor_name(compressor) == NULL)
        return status_set(st, ERR_ProtocolError,
                          "Compression algorithm %u specified in message is not available",
                          (unsigned)compressor);
    if (usize < 0 || (size_t)usize > WIRE_MAX_MESSAGE_BYTES - WIRE_HEADER_LEN)
        return status_set(st, ERR_BadValue,
                          "Decompressed message would be larger than maximum message size "
                          "(uncompressedSize %d)",
                          usize);

    size_t total = WIRE_HEADER_LEN + (size_t)usize;
    uint8_t *owned = malloc(total);
    if (owned == NULL)
        return status_set(st, ERR_InternalError, "out of memory decompressing %zu bytes", total);
    int ret = wire__decompress(compressor, p + COMPRESSION_HEADER_LEN, n - COMPRESSION_HEADER_LEN,
                               owned + WIRE_HEADER_LEN, (size_t)usize, st);
    if (ret != 0) {
        free(owned);
        return ret;
    }
    wire__wr_i32(owned, (int32_t)total);
    memcpy(owned + 4, msg + 4, 8); /* requestID, responseTo */
    wire__wr_i32(owned + 12, original);

    wire_header_t outer = req->header;
    ret = parse_frame(req, owned, total, false, st);
    if (ret != 0) {
        free(owned);
        return ret;
    }
    req->header = outer;
    req->owned = owned;
    req->compressed = true;
    req->compressor_id = compressor;
    return 0;
}

/* parse_frame -- parse a complete message; outer is false inside OP_COMPRESSED. */
static int parse_frame(wire_request_t *req, const uint8_t *msg, size_t len, bool outer,
                       status_t *st)
{
    wire_header_t h;
    ST_RET(wire_parse_header(msg, len, &h, st));
    if ((size_t)h.message_length != len)
        return status_set(st, ERR_ProtocolError,
                          "Message length %d does not match the %zu bytes of the message",
                          h.message_length, len);
    req->header = h;
    req->op_code = h.op_code;
    switch (h.op_code) {
    case WIRE_OP_MSG:
        return parse_op_msg(req, msg, len, st);
    case WIRE_OP_QUERY:
        return parse_op_query(req, msg, len, st);
    case WIRE_OP_COMPRESSED:
        if (!outer)
            return status_set(st, ERR_ProtocolError,
                              "Nested OP_COMPRESSED messages are not allowed");
        return parse_compressed(req, msg, len, st);
    default: {
        const char *legacy = legacy_name(h.op_code);
        if (legacy != NULL)
            return status_set(st, ERR_ProtocolError,
                              "Unsupported legacy opcode %s (%d): use OP_MSG", legacy, h.op_code);
        return status_set(st, ERR_ProtocolError, "Unknown opcode %d", h.op_code);
    }
    }
}

/* wire_request_parse -- parse one complete message into req (views into msg or req->owned). */
int wire_request_parse(const uint8_t *msg, size_t len, wire_request_t *req, status_t *st)
{
    memset(req, 0, sizeof(*req));
    int ret = parse_frame(req, msg, len, true, st);
    if (ret != 0) {
        /* parse_compressed frees its buffer on failure; leave nothing that needs destroy. */
        memset(req, 0, sizeof(*req));
    }
    return ret;
}

/* wire_request_destroy -- free the decompressed copy, if any; NULL-safe. */
void wire_request_destroy(wire_request_t *req)
{
    if (req == NULL)
        return;
    free(req->owned);
    req->owned = NULL;
}

/* wire_doc_seq_next -- the next document of seq at *off (validated while parsing). */
bool wire_doc_seq_next(const wire_doc_seq_t *seq, size_t *off, bson_t *doc)
{
    if (*off >= seq->len || seq->len - *off < 4)
        return false;
    int32_t dl = wire__rd_i32(seq->docs + *off);
    /* The parser validated every length; re-check so a corrupted seq cannot read past it. */
    if (dl < MIN_DOC || (size_t)dl > seq->len - *off)
        return false;
    if (!bson_init_static(doc, seq->docs + *off, (size_t)dl))
        return false;
    *off += (size_t)dl;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */
/* ------------------------------------------------------------------------ */

/* check_doc -- a document we are about to send is within limit. */
static int check_doc(const bson_t *doc, const char *what, status_t *st)
{
    if (doc == NULL)
        return status_set(st, ERR_BadValue, "%s document is missing", what);
    if (doc->len > WIRE_MAX_COMMAND_BYTES)
        return status_set(st, ERR_BSONObjectTooLarge,
                          "%s document of %u bytes exceeds the maximum of %d", what, doc->len,
                          WIRE_MAX_COMMAND_BYTES);
    return 0;
}

/* check_total -- an encoded message of total bytes fits maxMessageSizeBytes. */
static int check_total(size_t total, status_t *st)
{
    if (total > WIRE_MAX_MESSAGE_BYTES)
        return status_set(st, ERR_BSONObjectTooLarge,
                          "Message of %zu bytes exceeds maxMessageSizeBytes %d", total,
                          WIRE_MAX_MESSAGE_BYTES);
    return 0;
}

/* wire_encode_op_msg_seqs -- append an OP_MSG with n_seqs kind-1 sections and a body. */
int wire_encode_op_msg_seqs(wire_buf_t *out, int32_t request_id, int32_t response_to,
                            uint32_t flags, const bson_t *body, const wire_seq_spec_t *seqs,
                            size_t n_seqs, status_t *st)
{
    if ((flags & MSG_REQUIRED_FLAGS_MASK & ~MSG_KNOWN_FLAGS) != 0)
        return status_set(st, ERR_BadValue, "Cannot encode unknown required OP_MSG flags 0x%x",
                          flags & MSG_REQUIRED_FLAGS_MASK & ~MSG_KNOWN_FLAGS);
    if (n_seqs > WIRE_MAX_DOC_SEQS)
        return status_set(st, ERR_TooManyDocumentSequences,
                          "Too many document sequences in OP_MSG (at most %d)", WIRE_MAX_DOC_SEQS);
    ST_RET(check_doc(body, "OP_MSG body", st));

    /* Size everything first: one reservation, and nothing appended on error. */
    size_t total = WIRE_HEADER_LEN + 4 + 1 + body->len;
    for (size_t i = 0; i < n_seqs; i++) {
        const char *id = seqs[i].identifier;
        if (id == NULL || id[0] == '\0')
            return status_set(st, ERR_BadValue, "Document sequence identifier is empty");
        for (size_t j = 0; j < i; j++)
            if (strcmp(seqs[j].identifier, id) == 0)
                return status_set(st, WIRE_ERR_DUPLICATE_SEQ, "Duplicate document sequence: %s",
                                  id);
        if (seqs[i].n_docs > 0 && seqs[i].docs == NULL)
            return status_set(st, ERR_BadValue, "Document sequence '%s' has no document array", id);
        size_t seq = 4 + strlen(id) + 1;
        for (size_t d = 0; d < seqs[i].n_docs; d++) {
            ST_RET(check_doc(seqs[i].docs[d], "Document sequence", st));
            seq += seqs[i].docs[d]->len;
            /* Bail out as soon as the message cannot fit, before any sum can overflow. */
            ST_RET(check_total(seq, st));
        }
        total += 1 + seq;
        ST_RET(check_total(total, st));
    }
    if (flags & WIRE_MSG_CHECKSUM_PRESENT)
        total += CRC_LEN;
    ST_RET(check_total(total, st));
    ST_RET(wire__buf_reserve(out, total, st));

    size_t start = out->len;
    put_header(out, total, request_id, response_to, WIRE_OP_MSG);
    put_i32(out, (int32_t)flags);
    for (size_t i = 0; i < n_seqs; i++) {
        size_t size_at = out->len + 1;
        uint8_t kind = 1;
        put(out, &kind, 1);
        put_i32(out, 0); /* patched below */
        put(out, seqs[i].identifier, strlen(seqs[i].identifier) + 1);
        for (size_t d = 0; d < seqs[i].n_docs; d++)
            put(out, bson_get_data(seqs[i].docs[d]), seqs[i].docs[d]->len);
        wire__wr_i32(out->data + size_at, (int32_t)(out->len - size_at));
    }
    uint8_t kind = 0;
    put(out, &kind, 1);
    put(out, bson_get_data(body), body->len);
    if (flags & WIRE_MSG_CHECKSUM_PRESENT) {
        /* The checksum covers everything before it, header included. */
        uint32_t crc = wire_crc32c(0, out->data + start, out->len - start);
        put_i32(out, (int32_t)crc);
    }
    INVARIANT(out->len - start == total);
    return 0;
}

/* wire_encode_op_msg -- append an OP_MSG with a kind-0 body only. */
int wire_encode_op_msg(wire_buf_t *out, int32_t request_id, int32_t response_to, uint32_t flags,
                       const bson_t *body, status_t *st)
{
    return wire_encode_op_msg_seqs(out, request_id, response_to, flags, body, NULL, 0, st);
}

/* wire_encode_op_msg_seq -- append an OP_MSG with one kind-1 section and a body. */
int wire_encode_op_msg_seq(wire_buf_t *out, int32_t request_id, int32_t response_to, uint32_t flags,
                           const bson_t *body, const char *identifier, const bson_t *const *docs,
                           size_t n_docs, status_t *st)
{
    wire_seq_spec_t seq = {identifier, docs, n_docs};
    return wire_encode_op_msg_seqs(out, request_id, response_to, flags, body, &seq, 1, st);
}

/* wire_encode_op_reply -- append an OP_REPLY carrying one document (cursorId 0). */
int wire_encode_op_reply(wire_buf_t *out, int32_t request_id, int32_t response_to,
                         int32_t response_flags, const bson_t *doc, status_t *st)
{
    ST_RET(check_doc(doc, "OP_REPLY", st));
    /* responseFlags, cursorID (int64), startingFrom, numberReturned */
    size_t total = WIRE_HEADER_LEN + 4 + 8 + 4 + 4 + doc->len;
    ST_RET(check_total(total, st));
    ST_RET(wire__buf_reserve(out, total, st));
    put_header(out, total, request_id, response_to, WIRE_OP_REPLY);
    put_i32(out, response_flags);
    put_i32(out, 0); /* cursorID low */
    put_i32(out, 0); /* cursorID high */
    put_i32(out, 0); /* startingFrom */
    put_i32(out, 1); /* numberReturned */
    put(out, bson_get_data(doc), doc->len);
    return 0;
}

/* wire_encode_op_query -- append an OP_QUERY (no returnFieldsSelector). */
int wire_encode_op_query(wire_buf_t *out, int32_t request_id, int32_t flags,
                         const char *full_collection_name, int32_t skip, int32_t n_return,
                         const bson_t *query, status_t *st)
{
    ST_RET(check_doc(query, "OP_QUERY query", st));
    if (full_collection_name == NULL)
        return status_set(st, ERR_BadValue, "OP_QUERY needs a fullCollectionName");
    size_t name_len = strlen(full_collection_name);
    if (name_len > WIRE_MAX_MESSAGE_BYTES)
        return check_total(name_len, st);
    size_t total = WIRE_HEADER_LEN + 4 + name_len + 1 + 8 + query->len;
    ST_RET(check_total(total, st));
    ST_RET(wire__buf_reserve(out, total, st));
    put_header(out, total, request_id, 0, WIRE_OP_QUERY);
    put_i32(out, flags);
    put(out, full_collection_name, name_len + 1);
    put_i32(out, skip);
    put_i32(out, n_return);
    put(out, bson_get_data(query), query->len);
    return 0;
}
