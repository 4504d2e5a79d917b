/*
 * log.c -- MongoDB 4.4+ structured JSON log lines:
 *   {"t":{"$date":"..."},"s":"I","c":"NETWORK","id":22943,"ctx":"listener",
 *    "msg":"Connection accepted","attr":{...}}
 *
 * One write(2) per line under a mutex, so lines from many threads never
 * interleave. The thread's ctx name lives in thread-local storage.
 */
#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const component_names[LOG_C_COUNT] = {
#define X(id, name) name,
    LOG_COMPONENTS(X)
#undef X
};

static const char *const severity_names[] = {"F", "E", "W", "I", "D1", "D2", "D3"};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = STDERR_FILENO;
static int log_verbosity = 0;
static __thread char log_ctx[64] = "main";
static void (*log_tap)(const char *line, size_t len, void *arg);
static void *log_tap_arg;

/* log_open -- send lines to path (NULL: stderr). */
int log_open(const char *path, bool append)
{
    int fd;

    if (path == NULL) {
        log_close();
        return 0;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0)
        return errno;
    pthread_mutex_lock(&log_lock);
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

/*
 * log_rotate -- rename the log file path to renamed and continue in a new file
 * at path, under the log lock so no line is lost or split. Returns 0 or errno
 * (the old file stays in use when the rename or the open fails).
 */
int log_rotate(const char *path, const char *renamed)
{
    int fd, rc = 0;
    pthread_mutex_lock(&log_lock);
    if (rename(path, renamed) != 0) {
        rc = errno;
        pthread_mutex_unlock(&log_lock);
        return rc;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_TRUNC, 0644);
    if (fd < 0) {
        rc = errno;
        (void)rename(renamed, path);
        pthread_mutex_unlock(&log_lock);
        return rc;
    }
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

/* log_close -- close the log file and go back to stderr. */
void log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fd != STDERR_FILENO) {
        (void)fsync(log_fd);
        close(log_fd);
    }
    log_fd = STDERR_FILENO;
    pthread_mutex_unlock(&log_lock);
}

/* log_set_verbosity -- -1 quiet, 0 info, 1..3 debug. */
void log_set_verbosity(int verbosity)
{
    __atomic_store_n(&log_verbosity, verbosity, __ATOMIC_RELAXED);
}

/* per-component verbosity; LOG_INHERIT: the global one (setParameter logComponentVerbosity) */
#define LOG_INHERIT (-2)
static int log_comp_verbosity[LOG_C_COUNT] = {
#define X(id, name) LOG_INHERIT,
    LOG_COMPONENTS(X)
#undef X
};

/* log_set_component_verbosity -- comp's level (-1 inherit the global one, 0..5). */
void log_set_component_verbosity(log_component_t comp, int verbosity)
{
    if (comp < LOG_C_COUNT)
        __atomic_store_n(&log_comp_verbosity[comp], verbosity < 0 ? LOG_INHERIT : verbosity,
                         __ATOMIC_RELAXED);
}

/* log_get_component_verbosity -- comp's own level, -1 when it inherits. */
int log_get_component_verbosity(log_component_t comp)
{
    int v = comp < LOG_C_COUNT ? __atomic_load_n(&log_comp_verbosity[comp], __ATOMIC_RELAXED)
                               : LOG_INHERIT;
    return v == LOG_INHERIT ? -1 : v;
}

/* log_get_verbosity -- the global level. */
int log_get_verbosity(void)
{
    return __atomic_load_n(&log_verbosity, __ATOMIC_RELAXED);
}

/* log_enabled -- whether a line at sev would be written. */
bool log_enabled(log_severity_t sev, log_component_t comp)
{
    int v = __atomic_load_n(&log_verbosity, __ATOMIC_RELAXED);
    if (comp < LOG_C_COUNT && v >= 0) {
        int cv = __atomic_load_n(&log_comp_verbosity[comp], __ATOMIC_RELAXED);
        if (cv != LOG_INHERIT)
            v = cv;
    }
    if (sev <= LOG_SEV_WARNING)
        return true;
    if (v < 0)
        return false;
    return (int)sev - (int)LOG_SEV_INFO <= v;
}

/* log_set_ctx -- name this thread's ctx. */
void log_set_ctx(const char *ctx)
{
    (void)snprintf(log_ctx, sizeof(log_ctx), "%s", ctx);
}

/* log_get_ctx -- this thread's ctx name. */
const char *log_get_ctx(void)
{
    return log_ctx;
}

/* append_json_string -- a JSON string literal with the escapes JSON requires. */
static void append_json_string(bson_string_t *out, const char *s)
{
    char *esc = bson_utf8_escape_for_json(s, -1);
    bson_string_append_c(out, '"');
    bson_string_append(out, esc ? esc : "");
    bson_string_append_c(out, '"');
    bson_free(esc);
}

/* append_json_doc -- ,"name":{...} */
static void append_json_doc(bson_string_t *out, const char *name, const bson_t *doc)
{
    size_t len;
    char *json = bson_as_relaxed_extended_json(doc, &len);
    if (json != NULL) {
        bson_string_append_printf(out, ",\"%s\":", name);
        bson_string_append(out, json);
        bson_free(json);
    }
}

/* utf8_cut -- the longest prefix of s[0..len) of at most max bytes ending on a character. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    while (n > 0 && n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/*
 * log_truncate_attrs -- MongoDB's maxLogSizeKB: an attribute whose value is
 * over max bytes is cut down to about max (a document or array keeps its
 * first elements that fit, a string its first max bytes) so that one large
 * document never makes a huge log line. Returns whether anything was cut;
 * then out holds the attributes as logged, truncated {attr: {omitted: n}} the
 * elements (or bytes) left out, and sizes {attr: original size}.
 */
bool log_truncate_attrs(const bson_t *attr, size_t max, bson_t *out, bson_t *truncated,
                        bson_t *sizes)
{
    bson_iter_t it;
    bool cut = false;

    if (!bson_iter_init(&it, attr))
        return false;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        size_t size = it.next_off - it.off;
        if (size <= max) {
            bson_append_iter(out, key, -1, &it);
            continue;
        }
        cut = true;
        int64_t omitted = 0;
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t child;
            bson_t sub;
            size_t kept = 0;
            bool array = BSON_ITER_HOLDS_ARRAY(&it);
            bson_iter_recurse(&it, &child);
            if (array)
                bson_append_array_begin(out, key, -1, &sub);
            else
                bson_append_document_begin(out, key, -1, &sub);
            while (bson_iter_next(&child)) {
                size_t csize = child.next_off - child.off;
                if (omitted == 0 && kept + csize <= max) {
                    bson_append_iter(&sub, bson_iter_key(&child), -1, &child);
                    kept += csize;
                } else {
                    omitted++;
                }
            }
            if (array)
                bson_append_array_end(out, &sub);
            else
                bson_append_document_end(out, &sub);
        } else if (BSON_ITER_HOLDS_UTF8(&it)) {
            uint32_t len;
            const char *str = bson_iter_utf8(&it, &len);
            size_t keep = utf8_cut(str, len, max);
            bson_append_utf8(out, key, -1, str, (int)keep);
            omitted = (int64_t)(len - keep);
        } else {
            omitted = 1;
            BSON_APPEND_UTF8(out, key, "(omitted: too large to log)");
        }
        bson_t t;
        BSON_APPEND_DOCUMENT_BEGIN(truncated, key, &t);
        BSON_APPEND_INT64(&t, "omitted", omitted);
        bson_append_document_end(truncated, &t);
        BSON_APPEND_INT64(sizes, key, (int64_t)size);
    }
    return cut;
}

/* log_format -- one line (with the trailing newline) into out. */
void log_format(bson_string_t *out, log_severity_t sev, log_component_t comp, int id,
                const char *ctx, const char *msg, const bson_t *attr)
{
    struct timeval tv;
    struct tm tm;
    char when[64];

    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    {
        char base[32], zone[8];
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        strftime(zone, sizeof(zone), "%z", &tm); /* +0000 -> +00:00 */
        (void)snprintf(when, sizeof(when), "%s.%03d%c%c%c:%c%c", base, (int)(tv.tv_usec / 1000),
                       zone[0], zone[1], zone[2], zone[3], zone[4]);
    }
    bson_string_append_printf(out, "{\"t\":{\"$date\":\"%s\"},\"s\":\"%s\",\"c\":\"%s\",", when,
                              severity_names[sev], component_names[comp]);
    bson_string_append_printf(out, "\"id\":%d,\"ctx\":", id);
    append_json_string(out, ctx);
    bson_string_append(out, ",\"msg\":");
    append_json_string(out, msg);
    if (attr != NULL && !bson_empty(attr)) {
        bson_t small = BSON_INITIALIZER, truncated = BSON_INITIALIZER, sizes = BSON_INITIALIZER;
        bool cut = log_truncate_attrs(attr, LOG_MAX_ATTR_BYTES, &small, &truncated, &sizes);
        append_json_doc(out, "attr", cut ? &small : attr);
        if (cut) {
            append_json_doc(out, "truncated", &truncated);
            append_json_doc(out, "size", &sizes);
        }
        bson_destroy(&small);
        bson_destroy(&truncated);
        bson_destroy(&sizes);
    }
    bson_string_append(out, "}\n");
}

/* log_write -- format and write one line. */
void log_write(log_severity_t sev, log_component_t comp, int id, const char *msg,
               const bson_t *attr)
{
    bson_string_t *line = bson_string_new(NULL);
    size_t off = 0;

    log_format(line, sev, comp, id, log_ctx, msg, attr);
    pthread_mutex_lock(&log_lock);
    while (off < line->len) {
        ssize_t n = write(log_fd, line->str + off, line->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += (size_t)n;
    }
    if (log_tap != NULL)
        log_tap(line->str, line->len, log_tap_arg);
    pthread_mutex_unlock(&log_lock);
    bson_string_free(line, true);
}

/* log_set_tap -- install (or remove, with NULL) the per-line tap. */
void log_set_tap(void (*fn)(const char *line, size_t len, void *arg), void *arg)
{
    pthread_mutex_lock(&log_lock);
    log_tap = fn;
    log_tap_arg = arg;
    pthread_mutex_unlock(&log_lock);
}

/* time_now_ms -- wall clock in milliseconds since the epoch. */
int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* time_mono_us -- monotonic microseconds. */
int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
