/*
 * host_info.c -- {hostInfo: 1}: the machine micad runs on (uname, sysconf).
 */
#include "mongod/micad.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

/* micad_cmd_host_info -- {system, os, extra}. */
int micad_cmd_host_info(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    struct utsname u;
    struct rlimit rl;
    char hostname[256] = "";
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    int64_t mem_mb = pages > 0 && page > 0 ? (int64_t)pages * page / (1024 * 1024) : 0;
    bson_t sub;

    (void)op;
    (void)cmd;
    (void)st;
    (void)gethostname(hostname, sizeof(hostname) - 1);
    if (uname(&u) != 0)
        memset(&u, 0, sizeof(u));
    BSON_APPEND_DOCUMENT_BEGIN(reply, "system", &sub);
    BSON_APPEND_DATE_TIME(&sub, "currentTime", time_now_ms());
    BSON_APPEND_UTF8(&sub, "hostname", hostname);
    BSON_APPEND_INT32(&sub, "cpuAddrSize", (int32_t)(sizeof(void *) * 8));
    BSON_APPEND_INT64(&sub, "memSizeMB", mem_mb);
    BSON_APPEND_INT64(&sub, "memLimitMB", mem_mb);
    BSON_APPEND_INT32(&sub, "numCores", (int32_t)sysconf(_SC_NPROCESSORS_ONLN));
    BSON_APPEND_UTF8(&sub, "cpuArch", u.machine);
    BSON_APPEND_BOOL(&sub, "numaEnabled", false);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "os", &sub);
    BSON_APPEND_UTF8(&sub, "type", "Linux");
    BSON_APPEND_UTF8(&sub, "name", u.sysname);
    BSON_APPEND_UTF8(&sub, "version", u.release);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "extra", &sub);
    BSON_APPEND_UTF8(&sub, "versionString", u.version);
    BSON_APPEND_UTF8(&sub, "kernelVersion", u.release);
    BSON_APPEND_INT64(&sub, "pageSize", page);
    BSON_APPEND_INT64(&sub, "numPages", pages);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        BSON_APPEND_INT64(&sub, "maxOpenFiles", (int64_t)rl.rlim_cur);
    bson_append_document_end(reply, &sub);
    return 0;
}
