/*
 * util.c -- small helpers of storage/: WiredTiger errors as MongoDB statuses,
 * timestamps as WT hex strings, UUIDs, namespace checks.
 */
#include "storage/storage_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* stor__wt_status -- map a WT error: WT_ROLLBACK is WriteConflict so callers retry. */
int stor__wt_status(status_t *st, int wtret, const char *what)
{
    switch (wtret) {
    case 0:
        return 0;
    case WT_ROLLBACK:
        return status_set(st, ERR_WriteConflict,
                          "WriteConflict error: this operation conflicted with another "
                          "operation. Please retry your operation or multi-document transaction.");
    case EBUSY:
        return status_set(st, ERR_ObjectIsBusy, "%s: %s", what, wiredtiger_strerror(wtret));
    case ENOSPC:
        return status_set(st, ERR_OutOfDiskSpace, "%s: %s", what, wiredtiger_strerror(wtret));
    case WT_CACHE_FULL:
        return status_set(st, ERR_ExceededMemoryLimit, "%s: %s", what, wiredtiger_strerror(wtret));
    default:
        return status_set(st, ERR_InternalError, "%s: WiredTiger error %d: %s", what, wtret,
                          wiredtiger_strerror(wtret));
    }
}

/* stor__ts_hex -- WT takes timestamps as hex strings without a prefix. */
void stor__ts_hex(uint64_t ts, char buf[17])
{
    snprintf(buf, 17, "%" PRIx64, ts);
}

/* stor__ts_parse -- the inverse of stor__ts_hex. */
uint64_t stor__ts_parse(const char *hex)
{
    return strtoull(hex, NULL, 16);
}

/* stor__gen_uuid -- 16 random bytes shaped as an RFC 4122 version 4 UUID. */
void stor__gen_uuid(uint8_t uuid[16])
{
    size_t got = 0;
    while (got < 16) {
        ssize_t n = getrandom(uuid + got, 16 - got, 0);
        if (n < 0) {
            INVARIANT(errno == EINTR);
            continue;
        }
        got += (size_t)n;
    }
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

/* stor__ns_db_len -- "db.coll" with a non-empty db and collection, no NUL tricks. */
int stor__ns_db_len(const char *ns)
{
    if (ns == NULL)
        return -1;
    const char *dot = strchr(ns, '.');
    if (dot == NULL || dot == ns || dot[1] == '\0')
        return -1;
    if (strlen(ns) > 255)
        return -1;
    for (const char *p = ns; p < dot; p++)
        if (*p == '/' || *p == '\\' || *p == ' ' || *p == '"' || *p == '$')
            return -1;
    return (int)(dot - ns);
}
