/*
 * wire.h -- the public header of wire/: MongoDB wire-protocol message codecs
 * (OP_MSG, OP_QUERY/OP_REPLY for the legacy handshake, OP_COMPRESSED), the
 * libuv server transport with its worker pool, and the command machinery that
 * micad and micas share (command table format, generic arguments, error replies).
 *
 * Depends on common/ only (plus libuv, zlib, zstd, snappy, OpenSSL).
 */
#ifndef MICA_WIRE_H
#define MICA_WIRE_H

#include "common/common.h"

/* ======================================================================== */
/* Codecs (wire/msg.c, wire/compress.c, wire/crc32c.c)                       */
/* ======================================================================== */

/* Limits MongoDB documents; checked before any allocation they guard. */
#define WIRE_MAX_MESSAGE_BYTES 48000000
#define WIRE_MAX_BSON_BYTES (16 * 1024 * 1024)
/* A command document may exceed a stored document by 16 KiB (MongoDB's BSONObjMaxInternalSize). */
#define WIRE_MAX_COMMAND_BYTES (WIRE_MAX_BSON_BYTES + 16 * 1024)
#define WIRE_HEADER_LEN 16
#define WIRE_MAX_WRITE_BATCH 100000

enum wire_opcode {
    WIRE_OP_REPLY = 1,
    WIRE_OP_UPDATE = 2001,
    WIRE_OP_INSERT = 2002,
    WIRE_OP_QUERY = 2004,
    WIRE_OP_GET_MORE = 2005,
    WIRE_OP_DELETE = 2006,
    WIRE_OP_KILL_CURSORS = 2007,
    WIRE_OP_COMPRESSED = 2012,
    WIRE_OP_MSG = 2013,
};

/* OP_MSG flagBits. Bits 0-15 are "required": an unknown one is an error. */
#define WIRE_MSG_CHECKSUM_PRESENT (1u << 0)
#define WIRE_MSG_MORE_TO_COME (1u << 1)
#define WIRE_MSG_EXHAUST_ALLOWED (1u << 16)

/* OP_COMPRESSED compressor ids. */
enum wire_compressor {
    WIRE_COMPRESSOR_NOOP = 0,
    WIRE_COMPRESSOR_SNAPPY = 1,
    WIRE_COMPRESSOR_ZLIB = 2,
    WIRE_COMPRESSOR_ZSTD = 3,
};

/* wire_header_t -- the 16-byte standard message header, host byte order. */
typedef struct wire_header {
    int32_t message_length;
    int32_t request_id;
    int32_t response_to;
    int32_t op_code;
} wire_header_t;

/* Maximum number of kind-1 sections in one OP_MSG (MongoDB allows one per identifier). */
#define WIRE_MAX_DOC_SEQS 8

/* wire_doc_seq_t -- an OP_MSG kind-1 section: identifier + concatenated BSON documents. */
typedef struct wire_doc_seq {
    const char *identifier; /* NUL-terminated, points into the message */
    const uint8_t *docs;    /* first document */
    size_t len;             /* bytes of documents */
    uint32_t count;         /* number of documents (validated while parsing) */
} wire_doc_seq_t;

/*
 * wire_request_t -- a parsed request. Every pointer and bson_t is a static
 * view into the message buffer (or the decompressed copy in `owned`), which
 * must outlive the request.
 */
typedef struct wire_request {
    wire_header_t header;   /* the header as received (op_code may be OP_COMPRESSED) */
    int32_t op_code;        /* the original opcode after decompression */
    uint8_t compressor_id;  /* compressor the request used, to answer in kind */
    bool compressed;
    uint32_t flags;         /* OP_MSG flagBits, or OP_QUERY flags */
    bson_t body;            /* OP_MSG kind-0 body, or OP_QUERY's query document */
    size_t n_seqs;
    wire_doc_seq_t seqs[WIRE_MAX_DOC_SEQS];
    /* OP_QUERY only */
    const char *full_collection_name;
    int32_t number_to_skip;
    int32_t number_to_return;
    bool has_return_fields;
    bson_t return_fields;
    uint8_t *owned;         /* decompressed message, freed by wire_request_destroy */
} wire_request_t;

/*
 * wire_parse_header -- read and validate a header from at least 16 bytes:
 * message_length must be within [16 + minimum body, WIRE_MAX_MESSAGE_BYTES].
 * Used by the transport before it allocates the rest of the frame.
 */
int wire_parse_header(const uint8_t *buf, size_t len, wire_header_t *h, status_t *st);

/*
 * wire_request_parse -- parse one complete message (header included). Validates
 * every length, every BSON document (bson_validate), the OP_MSG checksum when
 * present (CRC-32C), and OP_COMPRESSED's declared size against what
 * decompression produced. On failure returns a code (ProtocolError,
 * InvalidBSON, ChecksumMismatch, ...) and req needs no destroy.
 */
int wire_request_parse(const uint8_t *msg, size_t len, wire_request_t *req, status_t *st);
/* wire_request_destroy -- free what the request owns; NULL-safe. */
void wire_request_destroy(wire_request_t *req);
/* wire_doc_seq_next -- iterate the documents of a kind-1 section; *off starts at 0. */
bool wire_doc_seq_next(const wire_doc_seq_t *seq, size_t *off, bson_t *doc);

/* wire_buf_t -- a growable output buffer for encoded messages. */
typedef struct wire_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} wire_buf_t;

void wire_buf_init(wire_buf_t *b);
void wire_buf_destroy(wire_buf_t *b);

/*
 * wire_encode_op_msg -- append an OP_MSG with a kind-0 body (and a CRC-32C
 * checksum when flags has WIRE_MSG_CHECKSUM_PRESENT).
 */
int wire_encode_op_msg(wire_buf_t *out, int32_t request_id, int32_t response_to, uint32_t flags,
                       const bson_t *body, status_t *st);
/* wire_encode_op_msg_seq -- as above plus one kind-1 section (for clients and tests). */
int wire_encode_op_msg_seq(wire_buf_t *out, int32_t request_id, int32_t response_to,
                           uint32_t flags, const bson_t *body, const char *identifier,
                           const bson_t *const *docs, size_t n_docs, status_t *st);
/* wire_encode_op_reply -- append an OP_REPLY with one document (legacy handshake). */
int wire_encode_op_reply(wire_buf_t *out, int32_t request_id, int32_t response_to,
                         int32_t response_flags, const bson_t *doc, status_t *st);
/* wire_encode_op_query -- append an OP_QUERY (for tests and the legacy handshake client). */
int wire_encode_op_query(wire_buf_t *out, int32_t request_id, int32_t flags,
                         const char *full_collection_name, int32_t skip, int32_t n_return,
                         const bson_t *query, status_t *st);
/*
 * wire_compress -- wrap the complete message msg[0..len) into an OP_COMPRESSED
 * appended to out, with compressor id.
 */
int wire_compress(wire_buf_t *out, uint8_t compressor, const uint8_t *msg, size_t len,
                  status_t *st);
/* wire_compressor_name / wire_compressor_by_name -- "snappy", "zlib", "zstd", "noop". */
const char *wire_compressor_name(uint8_t id);
int wire_compressor_by_name(const char *name); /* -1 if unknown */

/* wire_crc32c -- CRC-32C (Castagnoli), as OP_MSG's checksum uses. */
uint32_t wire_crc32c(uint32_t crc, const void *data, size_t len);

/* ======================================================================== */
/* Transport and command machinery -- see the sections below                 */
/* ======================================================================== */

/* WIRE_TRANSPORT_SECTION_BEGIN */
/* WIRE_TRANSPORT_SECTION_END */

#endif /* MICA_WIRE_H */
