/*
 * storage_options.c -- the storage.* options of micad's configuration turned
 * into the engine's options: the WiredTiger cache (mongod's default when not
 * given: 50 % of (memory - 1 GB), at least 256 MB, memory being the cgroup's
 * limit when there is one), the journal and collection compressors (snappy
 * by default, as mongod) and the journal flush interval (commitIntervalMs).
 */
#include "mongod/micad.h"

/* micad_storage_options -- fill so from the parsed options. */
void micad_storage_options(const opts_t *o, stor_options_t *so)
{
    if (o->cache_size_gb > 0)
        so->cache_size_mb = (uint64_t)(o->cache_size_gb * 1024.0);
    else
        so->cache_size_mb = stor_cache_default_mb(stor_memory_bytes());
    so->journal_compressor = o->journal_compressor ? o->journal_compressor : "snappy";
    so->block_compressor = o->block_compressor ? o->block_compressor : "snappy";
    so->group_commit_ms = o->commit_interval_ms;
}

/* micad_storage_options_check -- the compressors this build has (BadValue: exit 2). */
int micad_storage_options_check(const opts_t *o, status_t *st)
{
    ST_RET(stor_compressor_check(o->journal_compressor, st));
    ST_RET(stor_compressor_check(o->block_compressor, st));
    return 0;
}
