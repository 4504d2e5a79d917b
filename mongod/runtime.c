/*
 * runtime.c -- operating a running micad without a restart: log rotation
 * (logRotate and SIGUSR1), the fsync lock (fsync {lock: true} / fsyncUnlock)
 * that holds writers out for a file-system snapshot, and interrupting every
 * running operation at shutdown.
 *
 * SIGUSR1 is blocked in every thread from the start (main calls
 * micad_runtime_block_signals before any thread exists) and taken by one
 * thread with sigwait, so a rotation never runs inside a signal handler.
 *
 * The fsync lock is a counter, not a mutex: the command that takes it returns
 * once it holds it and a later fsyncUnlock, on any connection, releases it.
 * What it holds out is every write: each unit of work that writes documents
 * (micad_db_run_uow) and each catalog command (create, drop, dropDatabase,
 * createIndexes, dropIndexes, renameCollection, collMod) passes a door and
 * holds a "write slot" until it ends; reads never wait. Taking the lock is two
 * steps, like mongod's global S lock behind running writers:
 *   1. draining -- catalog commands stop entering (they hold no lock yet at
 *      their door); units of work still enter, so a writer that holds a
 *      namespace lock a running catalog command waits for always finishes;
 *   2. locked -- once no slot is held, every door is shut; the checkpoint
 *      then sees a quiet database.
 * A thread inside a slot passes every inner door (a catalog command's own
 * units of work), so nothing waits for itself. Door waits are marked
 * waitingForLock in currentOp, killable and bound by maxTimeMS; so is the
 * drain of the fsync command.
 */
#include "mongod/db.h"
#include "mongod/ops.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_unlocked = PTHREAD_COND_INITIALIZER;
static int g_fsync_locks;         /* fsync {lock: true} taken and not yet released */
static int g_draining;            /* fsync {lock: true} commands waiting for the slots to empty */
static int g_slots;               /* write slots held (threads inside a write) */
static __thread int t_slot_depth; /* this thread's nesting inside its write slot */
static char g_logpath[4096];      /* "" when logging to stderr */
static bool g_logappend;
static pthread_t g_sig_thread;
static bool g_sig_started;
static volatile bool g_sig_stop;

/* micad_runtime_block_signals -- SIGUSR1 for the rotation thread only. */
void micad_runtime_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* micad_log_rotate -- rename the log to <path>.<UTC time> and start a new one (mongod's rename). */
int micad_log_rotate(status_t *st)
{
    char renamed[4200], stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    if (g_logpath[0] == '\0')
        return status_set(st, ERR_IllegalOperation,
                          "logRotate needs a log file: the server logs to stderr (--logpath)");
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H-%M-%S", &tm);
    (void)snprintf(renamed, sizeof(renamed), "%s.%s", g_logpath, stamp);
    LOG(INFO, CONTROL, 23166, "Log rotation initiated", "renamedTo", BCON_UTF8(renamed));
    int rc = log_rotate(g_logpath, renamed);
    if (rc != 0)
        return status_set(st, ERR_FileRenameFailed, "Failed to rename %s to %s: %s", g_logpath,
                          renamed, strerror(rc));
    LOG(INFO, CONTROL, 21705, "Log rotated; this is the new log file", "previous",
        BCON_UTF8(renamed));
    return 0;
}

/* sig_main -- the thread that waits for SIGUSR1. */
static void *sig_main(void *arg)
{
    sigset_t set;
    (void)arg;
    log_set_ctx("signalProcessingThread");
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (g_sig_stop)
            break;
        status_t st = STATUS_INIT;
        LOG(INFO, CONTROL, 23377, "Received signal", "signal", BCON_INT32(sig), "error",
            BCON_UTF8("User defined signal 1"));
        if (micad_log_rotate(&st) != 0)
            LOG(WARNING, CONTROL, 21706, "Log rotation failed", "error", BCON_UTF8(st.msg));
    }
    return NULL;
}

/* micad_runtime_start -- remember the log path; start the SIGUSR1 thread. */
void micad_runtime_start(const opts_t *o)
{
    (void)snprintf(g_logpath, sizeof(g_logpath), "%s", o->logpath ? o->logpath : "");
    g_logappend = o->logappend;
    g_sig_stop = false;
    g_sig_started = pthread_create(&g_sig_thread, NULL, sig_main, NULL) == 0;
}

/* micad_runtime_stop -- end the SIGUSR1 thread; release an fsync lock left held. */
void micad_runtime_stop(void)
{
    if (g_sig_started) {
        g_sig_stop = true;
        pthread_kill(g_sig_thread, SIGUSR1);
        pthread_join(g_sig_thread, NULL);
        g_sig_started = false;
    }
    pthread_mutex_lock(&g_lock);
    g_fsync_locks = 0;
    pthread_cond_broadcast(&g_unlocked);
    pthread_mutex_unlock(&g_lock);
}

/* timed_wait -- wait on g_unlocked (g_lock held) up to 100 ms, then check kills and deadlines. */
static int timed_wait(const wire_opctx_t *op, status_t *st)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000; /* re-check kills and deadlines 10 times a second */
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&g_unlocked, &g_lock, &ts);
    pthread_mutex_unlock(&g_lock);
    /* no op given: this thread's own (an implicit create), or none (internal work) */
    int ret = op != NULL ? micad_db_check_deadline(op, st) : wire_curop_check(st);
    pthread_mutex_lock(&g_lock);
    return ret;
}

/* door -- enter a write slot; catalog doors also stay shut while a lock drains. */
static int door(const wire_opctx_t *op, bool catalog, status_t *st)
{
    int ret = 0;
    if (t_slot_depth > 0) {
        t_slot_depth++;
        return 0;
    }
    pthread_mutex_lock(&g_lock);
    if (g_fsync_locks > 0 || (catalog && g_draining > 0)) {
        wire_curop_set_waiting_for_lock(true);
        while (ret == 0 && (g_fsync_locks > 0 || (catalog && g_draining > 0)))
            ret = timed_wait(op, st);
        wire_curop_set_waiting_for_lock(false);
    }
    if (ret == 0) {
        g_slots++;
        t_slot_depth = 1;
    }
    pthread_mutex_unlock(&g_lock);
    return ret;
}

/* micad_fsync_wait -- a unit of work's door (micad_db_run_uow); micad_fsync_leave after it. */
int micad_fsync_wait(const wire_opctx_t *op, status_t *st)
{
    return door(op, false, st);
}

/* micad_catalog_begin -- a catalog command's door; micad_fsync_leave when it ends. */
int micad_catalog_begin(const wire_opctx_t *op, status_t *st)
{
    return door(op, true, st);
}

/* micad_fsync_leave -- leave the write slot entered by the matching door. */
void micad_fsync_leave(void)
{
    INVARIANT(t_slot_depth > 0);
    if (--t_slot_depth > 0)
        return;
    pthread_mutex_lock(&g_lock);
    g_slots--;
    pthread_cond_broadcast(&g_unlocked);
    pthread_mutex_unlock(&g_lock);
}

/* fsync_lock -- take one fsync lock: drain the write slots, then shut every door. */
static int fsync_lock(const wire_opctx_t *op, status_t *st)
{
    int ret = 0;
    pthread_mutex_lock(&g_lock);
    if (g_fsync_locks == 0) {
        g_draining++;
        if (g_slots > 0) {
            wire_curop_set_waiting_for_lock(true);
            while (ret == 0 && g_slots > 0 && g_fsync_locks == 0)
                ret = timed_wait(op, st);
            wire_curop_set_waiting_for_lock(false);
        }
        g_draining--;
        pthread_cond_broadcast(&g_unlocked); /* catalog doors re-check */
    }
    if (ret == 0)
        g_fsync_locks++;
    pthread_mutex_unlock(&g_lock);
    return ret;
}

/* fsync_unlock -- release one fsync lock; the count left. */
static int fsync_unlock(void)
{
    pthread_mutex_lock(&g_lock);
    int left = --g_fsync_locks;
    pthread_cond_broadcast(&g_unlocked);
    pthread_mutex_unlock(&g_lock);
    return left;
}

/* micad_fsync_lock_count -- fsyncLock's lockCount. */
int micad_fsync_lock_count(void)
{
    return __atomic_load_n(&g_fsync_locks, __ATOMIC_RELAXED);
}

/* micad_cmd_log_rotate -- {logRotate: 1 | "server"}. */
int micad_cmd_log_rotate(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    (void)op;
    (void)reply;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "server") != 0)
        return status_set(st, ERR_NoSuchKey, "Unknown log type for rotate: %s",
                          bson_iter_utf8(&it, NULL));
    return micad_log_rotate(st);
}

/* micad_cmd_fsync -- flush to disk (a checkpoint); with lock: true, also hold writers out. */
int micad_cmd_fsync(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    micad_t *m = micad_of(op);
    bson_iter_t it;
    bool lock = false;
    if (bson_iter_init_find(&it, cmd, "lock"))
        lock = bson_iter_as_bool(&it);
    if (bson_iter_init_find(&it, cmd, "async") && bson_iter_as_bool(&it))
        return status_set(st, ERR_IllegalOperation, "fsync: async is not supported");
    if (lock)
        ST_RET(fsync_lock(op, st)); /* running writes finish first; then none starts */
    int ret = stor_engine_checkpoint(m->engine, st);
    if (ret != 0) {
        if (lock)
            (void)fsync_unlock();
        return ret;
    }
    BSON_APPEND_INT32(reply, "numFiles", 1);
    if (lock) {
        BSON_APPEND_UTF8(reply, "info",
                         "now locked against writes, use db.fsyncUnlock() to unlock");
        BSON_APPEND_INT32(reply, "lockCount", micad_fsync_lock_count());
        BSON_APPEND_UTF8(reply, "seeAlso", "http://dochub.mongodb.org/core/fsynccommand");
        LOG(INFO, COMMAND, 20474, "Lock count is now", "lockCount",
            BCON_INT32(micad_fsync_lock_count()));
    }
    return 0;
}

/* micad_cmd_fsync_unlock -- release one fsync lock. */
int micad_cmd_fsync_unlock(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    int left;
    (void)op;
    (void)cmd;
    pthread_mutex_lock(&g_lock);
    if (g_fsync_locks == 0) {
        pthread_mutex_unlock(&g_lock);
        return status_set(st, ERR_IllegalOperation, "fsyncUnlock called when not locked");
    }
    left = --g_fsync_locks;
    pthread_cond_broadcast(&g_unlocked);
    pthread_mutex_unlock(&g_lock);
    LOG(INFO, COMMAND, 20465, "fsyncUnlock completed", "lockCount", BCON_INT32(left));
    BSON_APPEND_UTF8(reply, "info", left == 0 ? "fsyncUnlock completed" : "fsync lock still held");
    BSON_APPEND_INT32(reply, "lockCount", left);
    return 0;
}

/* micad_work_hook -- storage's hook between batches of an index build: currentOp's
 * progress, and killOp / dropIndexes / shutdown stopping the build. */
int micad_work_hook(const char *what, int64_t done, int64_t total, status_t *st)
{
    wire_curop_set_progress(what, done, total);
    return wire_curop_check(st);
}

typedef struct build_match {
    const char *ns;
    const char *name; /* NULL or "*": every build on ns */
} build_match_t;

/* is_build_of -- a createIndexes on m->ns building m->name (or any index). */
static bool is_build_of(const wire_opctx_t *op, void *arg)
{
    const build_match_t *m = arg;
    bson_iter_t it, ix;
    if (op->name == NULL || strcmp(op->name, "createIndexes") != 0 ||
        strcmp(op->info.ns, m->ns) != 0)
        return false;
    if (m->name == NULL || strcmp(m->name, "*") == 0)
        return true;
    if (!bson_iter_init_find(&it, &op->body, "indexes") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &ix))
        return false;
    while (bson_iter_next(&ix)) {
        bson_iter_t spec, nm;
        if (BSON_ITER_HOLDS_DOCUMENT(&ix) && bson_iter_recurse(&ix, &spec) &&
            bson_iter_find(&spec, "name") && BSON_ITER_HOLDS_UTF8(&spec) &&
            strcmp(bson_iter_utf8(&spec, NULL), m->name) == 0)
            return true;
        (void)nm;
    }
    return false;
}

/* micad_abort_index_builds -- dropIndexes aborts the builds of what it drops (IndexBuildAborted).
 */
int micad_abort_index_builds(const char *ns, const char *name)
{
    build_match_t m = {ns, name};
    int n = wire_curop_kill_if(is_build_of, &m, ERR_IndexBuildAborted);
    if (n > 0)
        LOG(INFO, INDEX, 21707, "Aborting index builds for dropIndexes", "namespace", BCON_UTF8(ns),
            "builds", BCON_INT32(n));
    return n;
}
