/*
 * bsoncheck.c -- validation of BSON documents received off the wire.
 *
 * Every document in a request is checked here before anything looks inside it:
 * the declared length against the limit and the bytes that remain (so a lying
 * length never makes us read past the frame), then an iterative walk of the
 * whole structure with an explicit stack of WIRE_MAX_BSON_DEPTH frames, then
 * libbson's bson_validate. The walk comes first because bson_validate recurses
 * once per nesting level with no limit: a 16 MB document nested two million
 * levels deep would overflow the C stack inside libbson. With the depth proven
 * bounded, bson_validate's recursion is harmless, and it keeps us in agreement
 * with the libbson iterators every later consumer uses.
 */
#include "wire/wire.h"

#include <string.h>

/* BSON's smallest document: int32 length + terminating NUL. */
#define BSON_MIN_DOC 5

/* rd_i32 -- little-endian int32 at p. */
static int32_t rd_i32(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (int32_t)v;
}

/* bad -- an InvalidBSON status naming where the walk stopped. */
static int bad(status_t *st, const char *what, size_t off)
{
    return status_set(st, ERR_InvalidBSON, "Invalid BSON: %s at offset %zu", what, off);
}

/* check_string -- a BSON string (int32 length incl. NUL, bytes, NUL) at p[0..room). */
static int check_string(const uint8_t *p, size_t room, size_t *used)
{
    if (room < 4)
        return -1;
    int32_t l = rd_i32(p);
    if (l < 1 || (size_t)l > room - 4 || p[4 + l - 1] != '\0')
        return -1;
    *used = 4 + (size_t)l;
    return 0;
}

/*
 * walk -- check the structure of doc[0..len) (len already checked against the
 * buffer). ends[] holds the end offset of each open document; code-with-scope
 * scopes are pushed like subdocuments.
 */
static int walk(const uint8_t *doc, size_t len, status_t *st)
{
    size_t ends[WIRE_MAX_BSON_DEPTH + 1];
    int depth = 0;
    size_t pos = 4;

    ends[0] = len;
    for (;;) {
        size_t end = ends[depth];
        if (pos >= end)
            return bad(st, "document not terminated", pos);
        uint8_t type = doc[pos++];
        if (type == 0) {
            /* The terminator must be the last byte of its document. */
            if (pos != end)
                return bad(st, "terminator before the end of the document", pos - 1);
            if (depth == 0)
                return 0;
            depth--;
            continue;
        }
        const uint8_t *key_end = memchr(doc + pos, 0, end - pos);
        if (key_end == NULL)
            return bad(st, "unterminated field name", pos);
        pos = (size_t)(key_end - doc) + 1;

        size_t room = end - pos, need = 0, used = 0;
        const uint8_t *p = doc + pos;
        switch (type) {
        case BSON_TYPE_DOUBLE:
        case BSON_TYPE_DATE_TIME:
        case BSON_TYPE_TIMESTAMP:
        case BSON_TYPE_INT64:
            need = 8;
            break;
        case BSON_TYPE_INT32:
            need = 4;
            break;
        case BSON_TYPE_OID:
            need = 12;
            break;
        case BSON_TYPE_DECIMAL128:
            need = 16;
            break;
        case BSON_TYPE_UNDEFINED:
        case BSON_TYPE_NULL:
        case BSON_TYPE_MINKEY:
        case BSON_TYPE_MAXKEY:
            need = 0;
            break;
        case BSON_TYPE_BOOL:
            if (room < 1 || p[0] > 1)
                return bad(st, "bad boolean", pos);
            need = 1;
            break;
        case BSON_TYPE_UTF8:
        case BSON_TYPE_CODE:
        case BSON_TYPE_SYMBOL:
            if (check_string(p, room, &used) != 0)
                return bad(st, "bad string length", pos);
            need = used;
            break;
        case BSON_TYPE_DBPOINTER:
            if (check_string(p, room, &used) != 0 || room - used < 12)
                return bad(st, "bad DBPointer", pos);
            need = used + 12;
            break;
        case BSON_TYPE_BINARY: {
            if (room < 5)
                return bad(st, "truncated binary", pos);
            int32_t l = rd_i32(p);
            if (l < 0 || (size_t)l > room - 5)
                return bad(st, "bad binary length", pos);
            /* Subtype 2 (old binary) repeats the length inside the payload. */
            if (p[4] == BSON_SUBTYPE_BINARY_DEPRECATED && (l < 4 || rd_i32(p + 5) != l - 4))
                return bad(st, "bad old-binary length", pos);
            need = 5 + (size_t)l;
            break;
        }
        case BSON_TYPE_REGEX: {
            const uint8_t *e1 = memchr(p, 0, room);
            if (e1 == NULL)
                return bad(st, "unterminated regex", pos);
            size_t first = (size_t)(e1 - p) + 1;
            const uint8_t *e2 = memchr(p + first, 0, room - first);
            if (e2 == NULL)
                return bad(st, "unterminated regex options", pos);
            need = (size_t)(e2 - p) + 1;
            break;
        }
        case BSON_TYPE_DOCUMENT:
        case BSON_TYPE_ARRAY: {
            if (room < 4)
                return bad(st, "truncated subdocument", pos);
            int32_t l = rd_i32(p);
            if (l < BSON_MIN_DOC || (size_t)l > room)
                return bad(st, "bad subdocument length", pos);
            if (depth + 1 > WIRE_MAX_BSON_DEPTH)
                return status_set(st, ERR_Overflow,
                                  "BSONObj exceeds maximum nested object depth: %d",
                                  WIRE_MAX_BSON_DEPTH);
            ends[++depth] = pos + (size_t)l;
            pos += 4;
            continue;
        }
        case BSON_TYPE_CODEWSCOPE: {
            /* int32 total, string code, document scope; total covers all three. */
            if (room < 4)
                return bad(st, "truncated code with scope", pos);
            int32_t total = rd_i32(p);
            if (total < 4 + 5 + BSON_MIN_DOC || (size_t)total > room)
                return bad(st, "bad code with scope length", pos);
            if (check_string(p + 4, (size_t)total - 4, &used) != 0)
                return bad(st, "bad code with scope string", pos);
            size_t scope_off = 4 + used;
            if ((size_t)total - scope_off < BSON_MIN_DOC ||
                rd_i32(p + scope_off) != (int32_t)((size_t)total - scope_off))
                return bad(st, "bad code with scope document", pos);
            if (depth + 1 > WIRE_MAX_BSON_DEPTH)
                return status_set(st, ERR_Overflow,
                                  "BSONObj exceeds maximum nested object depth: %d",
                                  WIRE_MAX_BSON_DEPTH);
            ends[++depth] = pos + (size_t)total;
            pos += scope_off + 4;
            continue;
        }
        default:
            return status_set(st, ERR_InvalidBSON,
                              "Invalid BSON: unknown type 0x%02x at offset %zu", type, pos);
        }
        if (need > room)
            return bad(st, "truncated value", pos);
        pos += need;
    }
}

/* wire_bson_check -- validate the BSON document at doc[0..avail). */
int wire_bson_check(const uint8_t *doc, size_t avail, size_t max_len, size_t *doc_len, status_t *st)
{
    if (avail < 4)
        return status_set(st, ERR_InvalidBSON,
                          "Invalid BSON: %zu bytes left, too few for a document length", avail);
    int32_t len = rd_i32(doc);
    /* The size limit comes first: MongoDB reports an oversized object as such, not as invalid. */
    if (len >= 0 && (size_t)len > max_len)
        return status_set(
            st, ERR_BSONObjectTooLarge,
            "BSONObj size: %d (0x%x) is invalid. Size must be between 0 and %zu(%zuMB)", len,
            (unsigned)len, max_len, max_len >> 20);
    if (len < BSON_MIN_DOC)
        return status_set(st, ERR_InvalidBSON, "Invalid BSON: document length %d is too small",
                          len);
    if ((size_t)len > avail)
        return status_set(st, ERR_InvalidBSON,
                          "Invalid BSON: document length %d overruns the %zu bytes left", len,
                          avail);
    int ret = walk(doc, (size_t)len, st);
    if (ret != 0)
        return ret;

    bson_t b;
    size_t err_off = 0;
    if (!bson_init_static(&b, doc, (size_t)len))
        return status_set(st, ERR_InvalidBSON, "Invalid BSON: libbson rejects the document");
    if (!bson_validate(&b, BSON_VALIDATE_NONE, &err_off))
        return bad(st, "libbson validation failed", err_off);
    *doc_len = (size_t)len;
    return 0;
}
