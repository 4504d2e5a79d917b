/*
 * engine.c -- the storage engine's life cycle: the dbpath lock file, opening
 * WiredTiger with the durability settings README.md argues for, the
 * background threads (checkpoints, deferred drops, oplog capping; the group
 * commit flusher), journal flushes shared between waiters, and the global
 * timestamps.
 */
#include "storage/storage_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Default WT cache: 256 MiB keeps a test machine running many engines at
 * once comfortable; mongod passes storage.wiredTiger.engineConfig.cacheSizeGB.
 */
#define STOR_DEFAULT_CACHE_MB 256
/* MongoDB's syncdelay: a checkpoint every 60 s bounds recovery work. */
#define STOR_DEFAULT_CHECKPOINT_S 60
/* MongoDB's journal commit interval: at most 100 ms of commits unsynced. */
#define STOR_DEFAULT_GROUP_COMMIT_MS 100
/* The housekeeper wakes once a second: drops, oplog cap, checkpoint clock. */
#define STOR_HOUSEKEEPING_MS 1000
/* 192 MiB: a small default oplog; mongod sizes it from --oplogSize. */
#define STOR_DEFAULT_OPLOG_BYTES (192LL * 1024 * 1024)

/* stor_options_init -- the defaults. */
void stor_options_init(stor_options_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->mode = STOR_MODE_STANDALONE;
    opts->cache_size_mb = STOR_DEFAULT_CACHE_MB;
    opts->checkpoint_interval_s = STOR_DEFAULT_CHECKPOINT_S;
    opts->group_commit_ms = STOR_DEFAULT_GROUP_COMMIT_MS;
    opts->oplog_max_bytes = STOR_DEFAULT_OPLOG_BYTES;
}

/* WT's messages go to our JSON log instead of stderr. */
static int wt_handle_error(WT_EVENT_HANDLER *h, WT_SESSION *s, int error, const char *message)
{
    /* EBUSY on drop is expected (the drop is deferred) and not worth a warning. */
    if (error == EBUSY) {
        LOG(DEBUG1, STORAGE, 22100, "WiredTiger busy", "message", BCON_UTF8(message));
        return 0;
    }
    LOG(WARNING, STORAGE, 22101, "WiredTiger error", "error", BCON_INT32(error), "message",
        BCON_UTF8(message));
    return 0;
}

static int wt_handle_message(WT_EVENT_HANDLER *h, WT_SESSION *s, const char *message)
{
    LOG(DEBUG1, STORAGE, 22102, "WiredTiger message", "message", BCON_UTF8(message));
    return 0;
}

static WT_EVENT_HANDLER wt_events = {wt_handle_error, wt_handle_message, NULL, NULL};

/* lock_dbpath -- flock mongod.lock; a second process (or open) gets DBPathInUse. */
static int lock_dbpath(stor_engine_t *eng, status_t *st)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/mongod.lock", eng->dbpath);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return status_set(st, ERR_DBPathInUse, "Unable to create/open the lock file: %s (%s).",
                          path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return status_set(st, ERR_DBPathInUse,
                          "Unable to lock the lock file: %s (%s). Another mongod instance is "
                          "already running on the %s directory",
                          path, strerror(e), eng->dbpath);
    }
    /* MongoDB's convention: a non-empty lock file means the last shutdown was unclean. */
    struct stat sb;
    eng->was_clean = fstat(fd, &sb) == 0 && sb.st_size == 0;
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return status_set(st, ERR_DBPathInUse, "Unable to write the lock file: %s (%s).", path,
                          strerror(e));
    }
    eng->lock_fd = fd;
    return 0;
}

/* unlock_dbpath -- empty the lock file (clean shutdown) and release it. */
static void unlock_dbpath(stor_engine_t *eng, bool clean)
{
    if (eng->lock_fd < 0)
        return;
    if (clean && ftruncate(eng->lock_fd, 0) == 0)
        (void)fsync(eng->lock_fd);
    close(eng->lock_fd);
    eng->lock_fd = -1;
}

/*
 * group_wait -- make every commit numbered <= seq reach g's level, sharing
 * the flush: a leader takes the round, flushes everything committed before
 * it started (wt->log_flush(cfg)) and wakes that round's waiters only; those
 * who came too late for it sleep on the next round's condition and one of
 * them leads it. Nobody spins and nobody wakes for a flush that did not
 * cover them. `also` (may be NULL) is a weaker level the flush satisfies too.
 */
static int group_wait(stor_engine_t *eng, stor_group_t *g, stor_group_t *also, WT_SESSION *wt,
                      const char *cfg, uint64_t seq, status_t *st)
{
    int ret = 0;
    pthread_mutex_lock(&eng->dur_lock);
    while (g->done < seq) {
        if (g->busy) {
            int p = (int)((seq <= g->upto ? g->round : g->round + 1) & 1);
            g->waiting[p]++;
            pthread_cond_wait(&g->cond[p], &eng->dur_lock);
            g->waiting[p]--;
            continue;
        }
        g->busy = true;
        uint64_t r = ++g->round;
        uint64_t upto = atomic_load(&eng->commit_seq);
        g->upto = upto;
        pthread_mutex_unlock(&eng->dur_lock);
        int wret = wt->log_flush(wt, cfg);
        pthread_mutex_lock(&eng->dur_lock);
        g->busy = false;
        if (wret == 0) {
            g->flushes++;
            if (upto > g->done)
                g->done = upto;
            if (also != NULL && upto > also->done)
                also->done = upto;
        }
        pthread_cond_broadcast(&g->cond[r & 1]);
        if (g->waiting[(r + 1) & 1] > 0)
            pthread_cond_signal(&g->cond[(r + 1) & 1]); /* the next round's leader */
        if (wret != 0) {
            ret = stor__wt_status(st, wret, "journal flush");
            break;
        }
    }
    pthread_mutex_unlock(&eng->dur_lock);
    return ret;
}

/* stor__commit_written -- number the commit, then the shared write to the OS. */
int stor__commit_written(stor_session_t *sess, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    uint64_t seq = atomic_fetch_add(&eng->commit_seq, 1) + 1;
    sess->last_commit_seq = seq;
    return group_wait(eng, &eng->written, NULL, sess->wt, "sync=off", seq, st);
}

/* stor_wait_durable -- j:true: wait for a journal fsync covering this session's commits. */
int stor_wait_durable(stor_session_t *sess, status_t *st)
{
    stor_engine_t *eng = sess->eng;
    return group_wait(eng, &eng->synced, &eng->written, sess->wt, "sync=on", sess->last_commit_seq,
                      st);
}

/* checkpoint_wt -- one checkpoint; WT honours the stable timestamp for unlogged tables. */
static int checkpoint_wt(stor_engine_t *eng, WT_SESSION *wt, status_t *st)
{
    int64_t t0 = time_mono_us();
    int ret = wt->checkpoint(wt, NULL);
    if (ret != 0)
        return stor__wt_status(st, ret, "checkpoint");
    atomic_fetch_add(&eng->checkpoints, 1);
    LOG(DEBUG1, STORAGE, 22103, "Checkpoint taken", "durationMicros",
        BCON_INT64(time_mono_us() - t0));
    return 0;
}

/* stor_engine_checkpoint -- checkpoint now with a private session. */
int stor_engine_checkpoint(stor_engine_t *eng, status_t *st)
{
    WT_SESSION *wt;
    int ret = eng->conn->open_session(eng->conn, NULL, NULL, &wt);
    if (ret != 0)
        return stor__wt_status(st, ret, "open_session");
    ret = checkpoint_wt(eng, wt, st);
    wt->close(wt, NULL);
    return ret;
}

static void deadline_after_ms(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* housekeeper -- checkpoints, deferred drops and the oplog cap, off the request path. */
static void *housekeeper_main(void *arg)
{
    stor_engine_t *eng = arg;
    log_set_ctx("WTCheckpointThread");
    WT_SESSION *wt;
    if (eng->conn->open_session(eng->conn, NULL, NULL, &wt) != 0)
        return NULL;
    int64_t last_ckpt = time_mono_us();
    pthread_mutex_lock(&eng->bg_lock);
    while (!eng->stopping) {
        struct timespec ts;
        deadline_after_ms(&ts, STOR_HOUSEKEEPING_MS);
        pthread_cond_timedwait(&eng->bg_cond, &eng->bg_lock, &ts);
        if (eng->stopping)
            break;
        pthread_mutex_unlock(&eng->bg_lock);
        status_t st = STATUS_INIT;
        stor__retry_pending_drops(eng, wt);
        if (stor__oplog_cap_wt(eng, wt, &st) != 0) {
            LOG(WARNING, STORAGE, 22104, "Oplog truncation failed", "error", BCON_UTF8(st.msg));
            status_reset(&st);
        }
        int iv = eng->opts.checkpoint_interval_s;
        if (iv > 0 && time_mono_us() - last_ckpt >= (int64_t)iv * 1000000) {
            if (checkpoint_wt(eng, wt, &st) != 0)
                LOG(WARNING, STORAGE, 22105, "Checkpoint failed", "error", BCON_UTF8(st.msg));
            last_ckpt = time_mono_us();
        }
        pthread_mutex_lock(&eng->bg_lock);
    }
    pthread_mutex_unlock(&eng->bg_lock);
    wt->close(wt, NULL);
    return NULL;
}

/* flusher -- the group commit: fsync the journal at most every group_commit_ms. */
static void *flusher_main(void *arg)
{
    stor_engine_t *eng = arg;
    log_set_ctx("JournalFlusher");
    WT_SESSION *wt;
    if (eng->conn->open_session(eng->conn, NULL, NULL, &wt) != 0)
        return NULL;
    pthread_mutex_lock(&eng->bg_lock);
    while (!eng->stopping) {
        struct timespec ts;
        deadline_after_ms(&ts, eng->opts.group_commit_ms);
        pthread_cond_timedwait(&eng->bg_cond, &eng->bg_lock, &ts);
        if (eng->stopping)
            break;
        pthread_mutex_unlock(&eng->bg_lock);
        uint64_t target = atomic_load(&eng->commit_seq);
        pthread_mutex_lock(&eng->dur_lock);
        bool behind = eng->synced.done < target;
        pthread_mutex_unlock(&eng->dur_lock);
        status_t st = STATUS_INIT;
        if (behind && group_wait(eng, &eng->synced, &eng->written, wt, "sync=on", target, &st) != 0)
            LOG(WARNING, STORAGE, 22106, "Journal flush failed", "error", BCON_UTF8(st.msg));
        pthread_mutex_lock(&eng->bg_lock);
    }
    pthread_mutex_unlock(&eng->bg_lock);
    wt->close(wt, NULL);
    return NULL;
}

static void engine_free(stor_engine_t *eng)
{
    if (eng == NULL)
        return;
    stor__catalog_free(eng);
    while (eng->pending_drops) {
        stor_pending_drop_t *p = eng->pending_drops;
        eng->pending_drops = p->next;
        free(p);
    }
    pthread_rwlock_destroy(&eng->cat_lock);
    pthread_mutex_destroy(&eng->pool_lock);
    pthread_mutex_destroy(&eng->dur_lock);
    for (int i = 0; i < 2; i++) {
        pthread_cond_destroy(&eng->written.cond[i]);
        pthread_cond_destroy(&eng->synced.cond[i]);
    }
    pthread_mutex_destroy(&eng->bg_lock);
    pthread_cond_destroy(&eng->bg_cond);
    pthread_mutex_destroy(&eng->op_lock);
    pthread_mutex_destroy(&eng->op_cap_lock);
    pthread_cond_destroy(&eng->op_cond);
    free(eng->op_pending);
    free(eng->dbpath);
    free(eng);
}

/* stor_engine_open -- see storage.h; the order is lock, WT, catalog, sizes, threads. */
int stor_engine_open(const char *dbpath, const stor_options_t *opts, stor_engine_t **out,
                     status_t *st)
{
    int ret = 0;
    *out = NULL;
    stor_options_t defaults;
    if (opts == NULL) {
        stor_options_init(&defaults);
        opts = &defaults;
    }
    if (opts->read_only)
        return status_set(st, ERR_InvalidOptions, "read-only storage is not supported");
    if (opts->mode != STOR_MODE_STANDALONE && opts->mode != STOR_MODE_REPLICATED)
        return status_set(st, ERR_InvalidOptions, "unknown storage mode %d", (int)opts->mode);
    struct stat sb;
    if (dbpath == NULL || stat(dbpath, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return status_set(st, ERR_NonExistentPath,
                          "Data directory %s not found. Create the missing directory or "
                          "specify another path using (1) the --dbpath command line option, or "
                          "(2) by adding the 'storage.dbPath' option in the configuration file.",
                          dbpath ? dbpath : "(null)");

    stor_engine_t *eng = calloc(1, sizeof(*eng));
    INVARIANT(eng != NULL);
    eng->dbpath = strdup(dbpath);
    eng->opts = *opts;
    if (eng->opts.cache_size_mb == 0)
        eng->opts.cache_size_mb = STOR_DEFAULT_CACHE_MB;
    if (eng->opts.oplog_max_bytes <= 0)
        eng->opts.oplog_max_bytes = STOR_DEFAULT_OPLOG_BYTES;
    eng->lock_fd = -1;
    pthread_rwlock_init(&eng->cat_lock, NULL);
    pthread_mutex_init(&eng->pool_lock, NULL);
    pthread_mutex_init(&eng->dur_lock, NULL);
    for (int i = 0; i < 2; i++) {
        pthread_cond_init(&eng->written.cond[i], NULL);
        pthread_cond_init(&eng->synced.cond[i], NULL);
    }
    pthread_mutex_init(&eng->bg_lock, NULL);
    pthread_cond_init(&eng->bg_cond, NULL);
    pthread_mutex_init(&eng->op_lock, NULL);
    pthread_mutex_init(&eng->op_cap_lock, NULL);
    pthread_cond_init(&eng->op_cond, NULL);
    atomic_init(&eng->next_ident, 1);

    ST_ERR(lock_dbpath(eng, st));

    char jpath[4096];
    snprintf(jpath, sizeof(jpath), "%s/journal", dbpath);
    if (mkdir(jpath, 0700) != 0 && errno != EEXIST) {
        ret = status_set(st, ERR_FileOpenFailed, "cannot create %s: %s", jpath, strerror(errno));
        goto err;
    }
    char cfg[9000];
    ST_ERR(stor__conn_config(eng, cfg, sizeof(cfg), st));
    stor__table_configs_init(eng);
    int wret = wiredtiger_open(dbpath, &wt_events, cfg, &eng->conn);
    if (wret != 0) {
        ret = stor__wt_status(st, wret, "wiredtiger_open");
        eng->conn = NULL;
        goto err;
    }

    WT_SESSION *wt;
    wret = eng->conn->open_session(eng->conn, NULL, NULL, &wt);
    if (wret != 0) {
        ret = stor__wt_status(st, wret, "open_session");
        goto err;
    }
    wret = wt->create(wt, STOR_CATALOG_URI, "key_format=S,value_format=u");
    if (wret != 0)
        ret = stor__wt_status(st, wret, "create catalog");
    if (ret == 0)
        ret = stor__oplog_init(eng, wt, st);
    if (ret == 0)
        ret = stor__catalog_load(eng, wt, st);
    bool sizes_ok = false;
    /* Replicated: the checkpoint is at stable, counters from memory are not; recount. */
    if (ret == 0 && eng->was_clean && eng->opts.mode == STOR_MODE_STANDALONE)
        ret = stor__load_sizes(eng, wt, &sizes_ok, st);
    if (ret == 0 && !sizes_ok)
        ret = stor__recount(eng, wt, st);
    wt->close(wt, NULL);
    if (ret != 0)
        goto err;

    if (eng->opts.group_commit_ms > 0 &&
        pthread_create(&eng->flusher, NULL, flusher_main, eng) != 0) {
        ret = status_set(st, ERR_InternalError, "cannot start the journal flusher");
        goto err;
    }
    if (pthread_create(&eng->housekeeper, NULL, housekeeper_main, eng) != 0) {
        if (eng->opts.group_commit_ms > 0) {
            pthread_mutex_lock(&eng->bg_lock);
            eng->stopping = true;
            pthread_cond_broadcast(&eng->bg_cond);
            pthread_mutex_unlock(&eng->bg_lock);
            pthread_join(eng->flusher, NULL);
        }
        ret = status_set(st, ERR_InternalError, "cannot start the checkpoint thread");
        goto err;
    }
    eng->threads_started = true;
    LOG(INFO, STORAGE, 22107, "Storage engine opened", "dbpath", BCON_UTF8(dbpath), "mode",
        BCON_UTF8(eng->opts.mode == STOR_MODE_STANDALONE ? "standalone" : "replicated"),
        "cleanShutdown", BCON_BOOL(eng->was_clean), "cacheSizeMB",
        BCON_INT64((int64_t)eng->opts.cache_size_mb), "journalCompressor",
        BCON_UTF8(eng->opts.journal_compressor ? eng->opts.journal_compressor : "none"),
        "blockCompressor",
        BCON_UTF8(eng->opts.block_compressor ? eng->opts.block_compressor : "none"),
        "commitIntervalMs", BCON_INT32(eng->opts.group_commit_ms));
    *out = eng;
    return 0;

err:
    if (eng->conn != NULL)
        eng->conn->close(eng->conn, NULL);
    unlock_dbpath(eng, false);
    engine_free(eng);
    return ret;
}

/* stor_engine_close -- threads stop first so nothing races the final checkpoint. */
int stor_engine_close(stor_engine_t *eng, status_t *st)
{
    int ret = 0;
    if (eng == NULL)
        return 0;
    pthread_mutex_lock(&eng->pool_lock);
    int in_use = eng->sessions_in_use;
    pthread_mutex_unlock(&eng->pool_lock);
    if (in_use > 0)
        return status_set(st, ERR_IllegalOperation,
                          "cannot close the storage engine: %d sessions are still open", in_use);
    if (eng->threads_started) {
        pthread_mutex_lock(&eng->bg_lock);
        eng->stopping = true;
        pthread_cond_broadcast(&eng->bg_cond);
        pthread_mutex_unlock(&eng->bg_lock);
        if (eng->opts.group_commit_ms > 0)
            pthread_join(eng->flusher, NULL);
        pthread_join(eng->housekeeper, NULL);
    }
    /* Cached sessions: close their cursors and WT sessions. */
    pthread_mutex_lock(&eng->pool_lock);
    while (eng->all_sessions) {
        stor_session_t *s = eng->all_sessions;
        eng->all_sessions = s->next_all;
        stor__session_close_cursors(s, NULL);
        s->wt->close(s->wt, NULL);
        free(s->uow.deltas);
        free(s->uow.mk);
        if (s->has_dup) {
            bson_destroy(&s->dup_pattern);
            bson_destroy(&s->dup_value);
        }
        free(s);
    }
    eng->free_sessions = NULL;
    pthread_mutex_unlock(&eng->pool_lock);

    WT_SESSION *wt;
    int wret = eng->conn->open_session(eng->conn, NULL, NULL, &wt);
    if (wret == 0) {
        stor__retry_pending_drops(eng, wt);
        if (eng->opts.mode == STOR_MODE_STANDALONE)
            ST_TRET(stor__save_sizes(eng, wt, st));
        wt->close(wt, NULL);
    } else {
        ST_TRET(stor__wt_status(st, wret, "open_session"));
    }
    /* WT's close takes the final checkpoint (at the stable timestamp for unlogged tables). */
    wret = eng->conn->close(eng->conn, NULL);
    if (wret != 0)
        ST_TRET(stor__wt_status(st, wret, "close"));
    eng->conn = NULL;
    LOG(INFO, STORAGE, 22108, "Storage engine closed", "dbpath", BCON_UTF8(eng->dbpath));
    unlock_dbpath(eng, ret == 0);
    engine_free(eng);
    return ret;
}

/* stor_engine_mode -- the mode chosen at open. */
stor_mode_t stor_engine_mode(const stor_engine_t *eng)
{
    return eng->opts.mode;
}

/* stor_engine_was_clean -- from the lock file at open. */
bool stor_engine_was_clean(const stor_engine_t *eng)
{
    return eng->was_clean;
}

static int set_ts(stor_engine_t *eng, const char *name, uint64_t ts, status_t *st)
{
    if (ts == 0)
        return status_set(st, ERR_BadValue, "%s timestamp must be non-zero", name);
    char hex[17], cfg[64];
    stor__ts_hex(ts, hex);
    snprintf(cfg, sizeof(cfg), "%s_timestamp=%s", name, hex);
    int ret = eng->conn->set_timestamp(eng->conn, cfg);
    if (ret == EINVAL)
        return status_set(st, ERR_BadValue, "invalid %s timestamp %" PRIu64 " (%s)", name, ts,
                          wiredtiger_strerror(ret));
    return stor__wt_status(st, ret, "set_timestamp");
}

/* stor_engine_set_stable_ts -- WT ignores values older than the current one. */
int stor_engine_set_stable_ts(stor_engine_t *eng, uint64_t ts, status_t *st)
{
    return set_ts(eng, "stable", ts, st);
}

/* stor_engine_set_oldest_ts -- must not pass the stable timestamp. */
int stor_engine_set_oldest_ts(stor_engine_t *eng, uint64_t ts, status_t *st)
{
    return set_ts(eng, "oldest", ts, st);
}

/* stor_engine_get_ts -- query one of WT's global timestamps. */
int stor_engine_get_ts(stor_engine_t *eng, const char *which, uint64_t *ts, status_t *st)
{
    static const char *const allowed[] = {"stable", "oldest", "all_committed", "recovery",
                                          "last_checkpoint"};
    *ts = 0;
    bool ok = false;
    for (size_t i = 0; which != NULL && i < sizeof(allowed) / sizeof(allowed[0]); i++)
        ok = ok || strcmp(which, allowed[i]) == 0;
    if (!ok)
        return status_set(st, ERR_BadValue, "unknown timestamp kind '%s'",
                          which ? which : "(null)");
    char hex[32], cfg[64];
    snprintf(cfg, sizeof(cfg), "get=%s", which);
    int ret = eng->conn->query_timestamp(eng->conn, hex, cfg);
    if (ret == WT_NOTFOUND)
        return 0;
    if (ret != 0)
        return stor__wt_status(st, ret, "query_timestamp");
    *ts = stor__ts_parse(hex);
    return 0;
}

/* stor_engine_recover_to_stable -- rollback_to_stable, then the counters follow the data. */
int stor_engine_recover_to_stable(stor_engine_t *eng, status_t *st)
{
    if (eng->opts.mode != STOR_MODE_REPLICATED)
        return status_set(st, ERR_IllegalOperation,
                          "recover to stable needs the replicated mode (unlogged tables)");
    pthread_mutex_lock(&eng->pool_lock);
    for (stor_session_t *s = eng->all_sessions; s; s = s->next_all) {
        if (s->uow.active) {
            pthread_mutex_unlock(&eng->pool_lock);
            return status_set(st, ERR_ConflictingOperationInProgress,
                              "cannot recover to stable with a unit of work open");
        }
    }
    pthread_mutex_unlock(&eng->pool_lock);
    int ret = eng->conn->rollback_to_stable(eng->conn, NULL);
    if (ret != 0)
        return stor__wt_status(st, ret, "rollback_to_stable");
    WT_SESSION *wt;
    ret = eng->conn->open_session(eng->conn, NULL, NULL, &wt);
    if (ret != 0)
        return stor__wt_status(st, ret, "open_session");
    ret = stor__recount(eng, wt, st);
    wt->close(wt, NULL);
    LOG(INFO, STORAGE, 22109, "Rolled back to the stable timestamp");
    return ret;
}

/* stor_engine_stats -- counters for serverStatus; the pending-drop list is walked. */
void stor_engine_stats(stor_engine_t *eng, bson_t *out)
{
    bson_init(out);
    int64_t commits = (int64_t)atomic_load(&eng->commit_seq);
    pthread_mutex_lock(&eng->dur_lock);
    int64_t flushes = (int64_t)eng->synced.flushes, writes = (int64_t)eng->written.flushes;
    pthread_mutex_unlock(&eng->dur_lock);
    pthread_mutex_lock(&eng->pool_lock);
    int64_t drops = 0, sessions = 0;
    for (stor_pending_drop_t *p = eng->pending_drops; p; p = p->next)
        drops++;
    for (stor_session_t *s = eng->all_sessions; s; s = s->next_all)
        sessions++;
    int64_t in_use = eng->sessions_in_use;
    pthread_mutex_unlock(&eng->pool_lock);
    BSON_APPEND_INT64(out, "commits", commits);
    BSON_APPEND_INT64(out, "journalFlushes", flushes);
    BSON_APPEND_INT64(out, "journalWrites", writes);
    BSON_APPEND_INT64(out, "checkpoints", (int64_t)atomic_load(&eng->checkpoints));
    BSON_APPEND_INT64(out, "sessionsCached", sessions);
    BSON_APPEND_INT64(out, "sessionsInUse", in_use);
    BSON_APPEND_INT64(out, "pendingDrops", drops);
    BSON_APPEND_INT64(out, "oplogBytes", atomic_load(&eng->op_bytes));
    BSON_APPEND_INT64(out, "oplogEntries", atomic_load(&eng->op_count));
}
