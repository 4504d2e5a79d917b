/*
 * logbuf.c -- the last MICAD_LOGBUF_LINES log lines in memory, for getLog
 * ("global"), plus the warnings written during start-up ("startupWarnings",
 * which mongosh prints when it connects). Filled through log.c's tap, so it
 * sees exactly the lines that reach the log file.
 */
#include "mongod/micad.h"

#include <pthread.h>
#include <string.h>

/* MICAD_LOGBUF_LINES -- mongod's RamLog keeps 1024 lines; so do we. */
#define MICAD_LOGBUF_LINES 1024
/* MICAD_STARTUP_WARNINGS -- start-up produces a handful; more would be a bug. */
#define MICAD_STARTUP_WARNINGS 64

static pthread_mutex_t buf_lock = PTHREAD_MUTEX_INITIALIZER;
static char *lines[MICAD_LOGBUF_LINES];
static int64_t total_lines;
static char *warnings[MICAD_STARTUP_WARNINGS];
static int n_warnings;
static bool in_startup = true;

/* tap -- called by log_write under the log lock, for every line. */
static void tap(const char *line, size_t len, void *arg)
{
    (void)arg;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    char *copy = bson_strndup(line, len);
    pthread_mutex_lock(&buf_lock);
    size_t slot = (size_t)(total_lines % MICAD_LOGBUF_LINES);
    bson_free(lines[slot]);
    lines[slot] = copy;
    total_lines++;
    if (in_startup && n_warnings < MICAD_STARTUP_WARNINGS && strstr(copy, "\"s\":\"W\"") != NULL)
        warnings[n_warnings++] = bson_strdup(copy);
    pthread_mutex_unlock(&buf_lock);
}

/* micad_logbuf_start -- install the tap. */
void micad_logbuf_start(void)
{
    log_set_tap(tap, NULL);
}

/* micad_logbuf_end_startup -- later warnings are not start-up warnings. */
void micad_logbuf_end_startup(void)
{
    pthread_mutex_lock(&buf_lock);
    in_startup = false;
    pthread_mutex_unlock(&buf_lock);
}

/* micad_logbuf_append -- totalLinesWritten and the lines, oldest first. */
void micad_logbuf_append(bson_t *reply, bool startup_warnings)
{
    bson_t arr;
    char key[16];
    const char *k;
    uint32_t idx = 0;

    pthread_mutex_lock(&buf_lock);
    if (startup_warnings) {
        BSON_APPEND_INT32(reply, "totalLinesWritten", n_warnings);
        BSON_APPEND_ARRAY_BEGIN(reply, "log", &arr);
        for (int i = 0; i < n_warnings; i++) {
            bson_uint32_to_string(idx++, &k, key, sizeof(key));
            BSON_APPEND_UTF8(&arr, k, warnings[i]);
        }
    } else {
        int64_t first = total_lines > MICAD_LOGBUF_LINES ? total_lines - MICAD_LOGBUF_LINES : 0;
        BSON_APPEND_INT32(reply, "totalLinesWritten", (int32_t)total_lines);
        BSON_APPEND_ARRAY_BEGIN(reply, "log", &arr);
        for (int64_t i = first; i < total_lines; i++) {
            bson_uint32_to_string(idx++, &k, key, sizeof(key));
            BSON_APPEND_UTF8(&arr, k, lines[i % MICAD_LOGBUF_LINES]);
        }
    }
    bson_append_array_end(reply, &arr);
    pthread_mutex_unlock(&buf_lock);
}

/* micad_logbuf_stop -- remove the tap, free every line. */
void micad_logbuf_stop(void)
{
    log_set_tap(NULL, NULL);
    pthread_mutex_lock(&buf_lock);
    for (int i = 0; i < MICAD_LOGBUF_LINES; i++) {
        bson_free(lines[i]);
        lines[i] = NULL;
    }
    for (int i = 0; i < n_warnings; i++)
        bson_free(warnings[i]);
    n_warnings = 0;
    total_lines = 0;
    pthread_mutex_unlock(&buf_lock);
}
