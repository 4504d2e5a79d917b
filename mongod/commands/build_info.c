/*
 * build_info.c -- {buildInfo: 1}: the version drivers and tools branch on.
 * Mica answers as MongoDB 7.0.0 (the surface it implements) and says what it
 * really is under `mica`.
 */
#include "mongod/micad.h"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#ifndef MICA_GIT_VERSION
#define MICA_GIT_VERSION "unknown"
#endif

/* micad_append_version_array -- [7, 0, 0, 0]. */
static void append_version_array(bson_t *reply)
{
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(reply, "versionArray", &arr);
    BSON_APPEND_INT32(&arr, "0", 7);
    BSON_APPEND_INT32(&arr, "1", 0);
    BSON_APPEND_INT32(&arr, "2", 0);
    BSON_APPEND_INT32(&arr, "3", 0);
    bson_append_array_end(reply, &arr);
}

/* micad_cmd_build_info -- version, build environment, limits. */
int micad_cmd_build_info(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_t sub, arr;
    (void)op;
    (void)cmd;
    (void)st;
    BSON_APPEND_UTF8(reply, "version", "7.0.0");
    BSON_APPEND_UTF8(reply, "gitVersion", MICA_GIT_VERSION);
    BSON_APPEND_ARRAY_BEGIN(reply, "modules", &arr);
    bson_append_array_end(reply, &arr);
    BSON_APPEND_UTF8(reply, "allocator", "system");
    BSON_APPEND_UTF8(reply, "javascriptEngine", "none");
    BSON_APPEND_UTF8(reply, "sysInfo", "deprecated");
    append_version_array(reply);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "openssl", &sub);
    BSON_APPEND_UTF8(&sub, "running", OpenSSL_version(OPENSSL_VERSION));
    BSON_APPEND_UTF8(&sub, "compiled", OPENSSL_VERSION_TEXT);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "buildEnvironment", &sub);
    BSON_APPEND_UTF8(&sub, "distmod", "debian");
#if defined(__x86_64__)
    BSON_APPEND_UTF8(&sub, "distarch", "x86_64");
    BSON_APPEND_UTF8(&sub, "target_arch", "x86_64");
#elif defined(__aarch64__)
    BSON_APPEND_UTF8(&sub, "distarch", "aarch64");
    BSON_APPEND_UTF8(&sub, "target_arch", "aarch64");
#endif
    BSON_APPEND_UTF8(&sub, "target_os", "linux");
    BSON_APPEND_UTF8(&sub, "cc", __VERSION__);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_INT32(reply, "bits", (int32_t)(sizeof(void *) * 8));
#ifdef NDEBUG
    BSON_APPEND_BOOL(reply, "debug", false);
#else
    BSON_APPEND_BOOL(reply, "debug", true);
#endif
    BSON_APPEND_INT32(reply, "maxBsonObjectSize", WIRE_MAX_BSON_BYTES);
    BSON_APPEND_ARRAY_BEGIN(reply, "storageEngines", &arr);
    BSON_APPEND_UTF8(&arr, "0", "wiredTiger");
    bson_append_array_end(reply, &arr);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "mica", &sub);
    BSON_APPEND_UTF8(&sub, "version", MICA_VERSION);
    bson_append_document_end(reply, &sub);
    return 0;
}
