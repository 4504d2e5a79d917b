/*
 * status.c -- statuses carrying MongoDB error codes, and the code/name table
 * generated from error_codes.def.
 */
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct code_entry {
    int code;
    const char *name;
} code_entry_t;

static const code_entry_t code_table[] = {
#define X(code, name) {code, #name},
#include "common/error_codes.def"
#undef X
};

#define CODE_TABLE_LEN (sizeof(code_table) / sizeof(code_table[0]))

/* find_code -- binary search; the table is sorted by code (checked by a unit test). */
static const code_entry_t *find_code(int code)
{
    size_t lo = 0, hi = CODE_TABLE_LEN;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (code_table[mid].code == code)
            return &code_table[mid];
        if (code_table[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/*
 * status_code_name -- MongoDB's codeName for code. A code outside the table is
 * one of MongoDB's ad-hoc "location" codes (e.g. 51091 from the regex parser),
 * which MongoDB names "Location<code>"; the name is formatted into a
 * thread-local buffer, valid until this thread's next call.
 */
const char *status_code_name(int code)
{
    static __thread char location[32];
    const code_entry_t *e = find_code(code);

    if (e != NULL)
        return e->name;
    (void)snprintf(location, sizeof(location), "Location%d", code);
    return location;
}

/* status_code_known -- whether code is in the table. */
bool status_code_known(int code)
{
    return find_code(code) != NULL;
}

/* status_setv -- record code and a formatted message; returns code. */
int status_setv(status_t *st, int code, const char *fmt, va_list ap)
{
    st->code = code;
    if (fmt == NULL) {
        st->msg[0] = '\0';
        return code;
    }
    (void)vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
    return code;
}

/* status_set -- record code and a printf-style message; returns code. */
int status_set(status_t *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    status_setv(st, code, fmt, ap);
    va_end(ap);
    return code;
}

/* status_reset -- back to OK. */
void status_reset(status_t *st)
{
    st->code = 0;
    st->msg[0] = '\0';
}

/* status_copy -- copy src into dst; returns the code. */
int status_copy(status_t *dst, const status_t *src)
{
    if (dst != src)
        memcpy(dst, src, sizeof(*dst));
    return dst->code;
}

/* status_prefix -- prepend a formatted prefix to the message. */
void status_prefix(status_t *st, const char *fmt, ...)
{
    char prefix[STATUS_MSG_MAX];
    char old[STATUS_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, st->msg, sizeof(old));
    /* Truncation is intended: the message buffer is fixed. */
    size_t plen = strnlen(prefix, sizeof(st->msg) - 1);
    memcpy(st->msg, prefix, plen);
    size_t olen = strnlen(old, sizeof(st->msg) - 1 - plen);
    memcpy(st->msg + plen, old, olen);
    st->msg[plen + olen] = '\0';
}

/* invariant_failed -- log and abort: going on could corrupt data. */
void invariant_failed(const char *expr, const char *file, int line)
{
    LOG(FATAL, DEFAULT, 10001, "Invariant failure", "expr", BCON_UTF8(expr), "file",
        BCON_UTF8(file), "line", BCON_INT32(line));
    abort();
}
