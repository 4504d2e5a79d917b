/*
 * common.h -- the public header of common/: statuses and MongoDB error codes,
 * JSON logging, BSON helpers (canonical comparison, hashing, dotted paths),
 * and small utilities shared by every other module.
 *
 * common/ depends on libbson, libyaml and libc only. Everything above it
 * (wire, query, storage, mongod, config, router) includes this header.
 */
#ifndef MICA_COMMON_H
#define MICA_COMMON_H

#include <bson/bson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Error codes and statuses                                                  */
/* ------------------------------------------------------------------------ */

/* Every MongoDB error code Mica uses, as ERR_<Name> = <code>. */
enum {
#define X(code, name) ERR_##name = code,
#include "common/error_codes.def"
#undef X
};

/*
 * STATUS_MSG_MAX -- the message buffer is fixed so that reporting an error
 * never allocates (an out-of-memory path must still be able to say so). 512
 * bytes holds MongoDB's longest common messages (DuplicateKey with its key).
 */
#define STATUS_MSG_MAX 512

/* status_t -- an error code (0 = OK) and a message. */
typedef struct status {
    int code;
    char msg[STATUS_MSG_MAX];
} status_t;

#define STATUS_INIT {0, {0}}

/* status_code_name -- MongoDB's codeName for code ("UnknownError" if unknown). */
const char *status_code_name(int code);
/* status_code_known -- whether code is in the table. */
bool status_code_known(int code);
/* status_set -- record code and a printf-style message; returns code. */
int status_set(status_t *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* status_setv -- status_set with a va_list. */
int status_setv(status_t *st, int code, const char *fmt, va_list ap);
/* status_reset -- back to OK with an empty message. */
void status_reset(status_t *st);
/* status_copy -- copy src into dst; returns src->code. */
int status_copy(status_t *dst, const status_t *src);
/* status_prefix -- prepend "prefix" to the message (keeps the code). */
void status_prefix(status_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline bool status_is_ok(const status_t *st)
{
    return st->code == 0;
}

/*
 * Propagation in WiredTiger's style: functions return 0 or an error code and
 * fill a status_t for the message.
 *   ST_RET(x)   return x's code if it failed.
 *   ST_ERR(x)   on failure store the code in `ret` and goto err.
 *   ST_TRET(x)  in cleanup: keep the first error, remember a later one.
 */
#define ST_RET(x)                                                                                  \
    do {                                                                                           \
        int __r = (x);                                                                             \
        if (__r != 0)                                                                              \
            return __r;                                                                            \
    } while (0)
#define ST_ERR(x)                                                                                  \
    do {                                                                                           \
        if ((ret = (x)) != 0)                                                                      \
            goto err;                                                                              \
    } while (0)
#define ST_TRET(x)                                                                                 \
    do {                                                                                           \
        int __r = (x);                                                                             \
        if (__r != 0 && ret == 0)                                                                  \
            ret = __r;                                                                             \
    } while (0)

/*
 * INVARIANT -- always on, for states where going on could corrupt data. Bad
 * user input is a status, never an INVARIANT.
 */
#define INVARIANT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            invariant_failed(#cond, __FILE__, __LINE__);                                           \
    } while (0)
__attribute__((noreturn)) void invariant_failed(const char *expr, const char *file, int line);

/* ------------------------------------------------------------------------ */
/* Logging: MongoDB 4.4+ JSON lines {t, s, c, id, ctx, msg, attr}            */
/* ------------------------------------------------------------------------ */

typedef enum log_severity {
    LOG_SEV_FATAL = 0, /* "F" */
    LOG_SEV_ERROR,     /* "E" */
    LOG_SEV_WARNING,   /* "W" */
    LOG_SEV_INFO,      /* "I" */
    LOG_SEV_DEBUG1,    /* "D1" */
    LOG_SEV_DEBUG2,    /* "D2" */
    LOG_SEV_DEBUG3,    /* "D3" */
} log_severity_t;

/* Components, as MongoDB names them in "c". */
#define LOG_COMPONENTS(X)                                                                          \
    X(DEFAULT, "-")                                                                                \
    X(CONTROL, "CONTROL")                                                                          \
    X(NETWORK, "NETWORK")                                                                          \
    X(COMMAND, "COMMAND")                                                                          \
    X(QUERY, "QUERY")                                                                              \
    X(WRITE, "WRITE")                                                                              \
    X(INDEX, "INDEX")                                                                              \
    X(STORAGE, "STORAGE")                                                                          \
    X(RECOVERY, "RECOVERY")                                                                        \
    X(REPL, "REPL")                                                                                \
    X(ELECTION, "ELECTION")                                                                        \
    X(SHARDING, "SHARDING")                                                                        \
    X(ACCESS, "ACCESS")                                                                            \
    X(EXECUTOR, "EXECUTOR")                                                                        \
    X(FTDC, "FTDC")

typedef enum log_component {
#define X(id, name) LOG_C_##id,
    LOG_COMPONENTS(X)
#undef X
        LOG_C_COUNT
} log_component_t;

/*
 * log_open -- send log lines to path (NULL: stderr), appending or truncating.
 * Returns 0 or errno. Safe to call once at start-up, before threads.
 */
int log_open(const char *path, bool append);
/* log_close -- flush and close the log file (back to stderr). */
void log_close(void);
/* log_set_verbosity -- 0 = info and above, 1..3 = debug levels; -1 = quiet (warnings+). */
void log_set_verbosity(int verbosity);
/* log_enabled -- whether a line at sev for comp would be written. */
bool log_enabled(log_severity_t sev, log_component_t comp);
/* log_set_ctx -- name this thread's "ctx" (e.g. "conn12", "listener"). Copied. */
void log_set_ctx(const char *ctx);
/* log_get_ctx -- this thread's ctx name. */
const char *log_get_ctx(void);
/* log_write -- write one line; attr may be NULL. Thread-safe; one write(2) per line. */
void log_write(log_severity_t sev, log_component_t comp, int id, const char *msg,
               const bson_t *attr);
/* log_format -- format one line into out (initialised by the caller); for tests. */
void log_format(bson_string_t *out, log_severity_t sev, log_component_t comp, int id,
                const char *ctx, const char *msg, const bson_t *attr);

/*
 * LOG(sev, comp, id, msg, attrs...) -- attrs are BCON pairs:
 *   LOG(INFO, NETWORK, 22943, "Connection accepted", "remote", BCON_UTF8(r), "connectionId",
 *       BCON_INT64(n));
 * The level is checked before any attribute is built. `id` is unique per call
 * site, from the module's range (docs/logging.md).
 */
#define LOG(sev, comp, id, msg, ...)                                                               \
    do {                                                                                           \
        if (log_enabled(LOG_SEV_##sev, LOG_C_##comp)) {                                            \
            bson_t *__attr = bcon_new(NULL, ##__VA_ARGS__, (void *)NULL);                          \
            log_write(LOG_SEV_##sev, LOG_C_##comp, id, msg, __attr);                               \
            bson_destroy(__attr);                                                                  \
        }                                                                                          \
    } while (0)

/* LOG_DOC -- as LOG with a ready attr document (may be NULL). */
#define LOG_DOC(sev, comp, id, msg, attr)                                                          \
    do {                                                                                           \
        if (log_enabled(LOG_SEV_##sev, LOG_C_##comp))                                              \
            log_write(LOG_SEV_##sev, LOG_C_##comp, id, msg, attr);                                 \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Time                                                                      */
/* ------------------------------------------------------------------------ */

/* time_now_ms -- wall clock, milliseconds since the epoch. */
int64_t time_now_ms(void);
/* time_mono_us -- monotonic clock, microseconds. */
int64_t time_mono_us(void);

/* ------------------------------------------------------------------------ */
/* BSON helpers (bsonu_)                                                     */
/*   canonical comparison, equality, hashing, dotted paths                   */
/* ------------------------------------------------------------------------ */

/* BSONU_SECTION_BEGIN -- owned by common/bson_compare.c and common/bson_path.c */
/* BSONU_SECTION_END */

#endif /* MICA_COMMON_H */
