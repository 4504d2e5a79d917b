/*
 * engine_config.c -- what the operator chooses about WiredTiger: the cache
 * size (mongod's default: half of the memory less 1 GB, at least 256 MB,
 * within a cgroup's limit when there is one) and the compressors of the
 * journal and of collection tables, turned into WiredTiger configuration.
 *
 * Debian's WiredTiger 3.2.1 ships the snappy and zlib compressors as
 * extension libraries beside libwiredtiger.so; they are loaded only when
 * chosen. zstd is not built there, so asking for it is an error rather than
 * a silent "none".
 */
#include "storage/storage_int.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 256 MB: mongod's floor for the cache, and the size for small machines. */
#define STOR_MIN_CACHE_MB 256

/* stor_cache_default_mb -- 50 % of (memory - 1 GB), at least 256 MB (mongod's rule). */
uint64_t stor_cache_default_mb(uint64_t mem_bytes)
{
    const uint64_t gb = 1024ull * 1024 * 1024;
    uint64_t mb = mem_bytes > gb ? (mem_bytes - gb) / 2 / (1024 * 1024) : 0;
    return mb < STOR_MIN_CACHE_MB ? STOR_MIN_CACHE_MB : mb;
}

/* read_u64 -- the first number in a one-line file ("max" or unreadable: 0). */
static uint64_t read_u64(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

/* stor_memory_bytes -- physical memory, lowered to the cgroup (v2 or v1) limit if any. */
uint64_t stor_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    uint64_t mem = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    uint64_t lim = read_u64("/sys/fs/cgroup/memory.max");
    if (lim == 0)
        lim = read_u64("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (lim > 0 && (mem == 0 || lim < mem))
        mem = lim;
    return mem;
}

/* stor_compressor_check -- "none", "snappy" or "zlib" (what this WiredTiger has). */
int stor_compressor_check(const char *name, status_t *st)
{
    if (name == NULL || strcmp(name, "none") == 0 || strcmp(name, "snappy") == 0 ||
        strcmp(name, "zlib") == 0)
        return 0;
    if (strcmp(name, "zstd") == 0)
        return status_set(st, ERR_BadValue,
                          "compressor zstd is not available: this WiredTiger (Debian's 3.2.1) "
                          "ships only snappy and zlib");
    return status_set(st, ERR_BadValue,
                      "unknown compressor '%s': expected snappy, zlib, zstd or none", name);
}

/* uses -- whether compressor `name` is configured (NULL and "none" are not). */
static bool uses(const char *cfg, const char *name)
{
    return cfg != NULL && strcmp(cfg, name) == 0;
}

/* ext_path -- <directory of libwiredtiger>/libwiredtiger_<name>.so */
static void ext_path(const char *name, char *out, size_t len)
{
    Dl_info info;
    char dir[4096] = "/usr/lib";
    if (dladdr((void *)wiredtiger_open, &info) != 0 && info.dli_fname != NULL) {
        char tmp[4096];
        (void)snprintf(tmp, sizeof(tmp), "%s", info.dli_fname);
        (void)snprintf(dir, sizeof(dir), "%s", dirname(tmp));
    }
    (void)snprintf(out, len, "%s/libwiredtiger_%s.so", dir, name);
}

/* stor__conn_config -- the wiredtiger_open configuration from the engine's options. */
int stor__conn_config(const stor_engine_t *eng, char *out, size_t len, status_t *st)
{
    const stor_options_t *o = &eng->opts;
    char ext[2][4200], exts[8500] = "";
    int n = 0;

    ST_RET(stor_compressor_check(o->journal_compressor, st));
    ST_RET(stor_compressor_check(o->block_compressor, st));
    static const char *const names[] = {"snappy", "zlib"};
    for (int i = 0; i < 2; i++) {
        if (!uses(o->journal_compressor, names[i]) && !uses(o->block_compressor, names[i]))
            continue;
        char path[4096];
        ext_path(names[i], path, sizeof(path));
        if (access(path, R_OK) != 0)
            return status_set(st, ERR_BadValue, "compressor %s is not installed (%s)", names[i],
                              path);
        (void)snprintf(ext[n++], sizeof(ext[0]), "\"%s\"", path);
    }
    if (n > 0)
        (void)snprintf(exts, sizeof(exts), "extensions=[%s%s%s],", ext[0], n > 1 ? "," : "",
                       n > 1 ? ext[1] : "");
    /*
     * transaction_sync off: WT's commit leaves the log record in its buffers
     * and stor_uow_commit hands it to the OS itself, in a group with every
     * concurrent committer (stor__commit_written: one log_flush sync=off per
     * round), so a kill -9 still loses no acknowledged commit. WT 3.2's own
     * per-commit write (method=none) made each committer wait for the slots
     * before it by spinning on sched_yield: with many clients on few cores
     * throughput fell as clients were added. fsync is log_flush sync=on on
     * demand (j:true) or every group_commit_ms. checkpoint is ours
     * (housekeeper), not WT's timer.
     */
    int w = snprintf(out, len,
                     "create,cache_size=%" PRIu64 "M,session_max=20000,%s"
                     "log=(enabled=true,archive=true,path=journal,compressor=%s),"
                     "transaction_sync=(enabled=false),"
                     "file_manager=(close_idle_time=600),statistics=(fast)",
                     o->cache_size_mb, exts,
                     o->journal_compressor == NULL || uses(o->journal_compressor, "none")
                         ? ""
                         : o->journal_compressor);
    if (w < 0 || (size_t)w >= len)
        return status_set(st, ERR_InternalError, "WiredTiger configuration too long");
    return 0;
}

/* stor__ns_logged -- standalone: every table; replicated: only the `local` database's (this
 * node's own state -- the config, the last vote -- never replayed from the oplog). */
bool stor__ns_logged(const stor_engine_t *eng, const char *ns)
{
    return eng->opts.mode == STOR_MODE_STANDALONE || (ns != NULL && strncmp(ns, "local.", 6) == 0);
}

/* stor__table_config -- collections get the block compressor; replicated mode keeps data
 * tables unlogged (rollback_to_stable), except the local database's. */
const char *stor__table_config(const stor_engine_t *eng, bool index, const char *ns)
{
    bool local = ns != NULL && strncmp(ns, "local.", 6) == 0;
    return eng->table_cfg[(index ? 2 : 0) + (local ? 1 : 0)];
}

/* stor__table_configs_init -- build the table configurations once, at open. */
void stor__table_configs_init(stor_engine_t *eng)
{
    const char *bc = eng->opts.block_compressor;
    bool repl = eng->opts.mode == STOR_MODE_REPLICATED;
    for (int local = 0; local < 2; local++) {
        bool unlogged = repl && !local;
        (void)snprintf(eng->table_cfg[local], sizeof(eng->table_cfg[0]),
                       "key_format=q,value_format=u%s%s%s", unlogged ? ",log=(enabled=false)" : "",
                       bc != NULL && strcmp(bc, "none") != 0 ? ",block_compressor=" : "",
                       bc != NULL && strcmp(bc, "none") != 0 ? bc : "");
        (void)snprintf(eng->table_cfg[2 + local], sizeof(eng->table_cfg[0]),
                       "key_format=u,value_format=u%s", unlogged ? ",log=(enabled=false)" : "");
    }
}
