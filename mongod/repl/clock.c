/*
 * clock.c -- the cluster clock: a hybrid logical clock of MongoDB
 * Timestamps. One 64-bit value, advanced with compare-and-swap, so issuing a
 * time takes no lock. The wall clock contributes only the seconds half of a
 * new value when it is ahead; nothing is ever ordered by it.
 */
#include "mongod/repl/repl.h"

#include <stdatomic.h>

static _Atomic uint64_t g_clock;

/* repl_clock_now -- the last value issued or seen. */
uint64_t repl_clock_now(void)
{
    return atomic_load(&g_clock);
}

/* repl_clock_tick -- max(last + 1, (wall seconds, 1)). */
uint64_t repl_clock_tick(void)
{
    uint64_t cur = atomic_load(&g_clock), next;
    do {
        uint64_t wall = repl_ts_make((uint32_t)(time_now_ms() / 1000), 1);
        next = wall > cur ? wall : cur + 1;
    } while (!atomic_compare_exchange_weak(&g_clock, &cur, next));
    return next;
}

/* repl_clock_advance -- never backwards. */
void repl_clock_advance(uint64_t ts)
{
    uint64_t cur = atomic_load(&g_clock);
    while (ts > cur && !atomic_compare_exchange_weak(&g_clock, &cur, ts))
        ;
}

/* repl_append_optime -- MongoDB's {ts, t}. */
void repl_append_optime(bson_t *doc, const char *key, repl_optime_t o)
{
    bson_t d;
    BSON_APPEND_DOCUMENT_BEGIN(doc, key, &d);
    BSON_APPEND_TIMESTAMP(&d, "ts", repl_ts_secs(o.ts), repl_ts_inc(o.ts));
    BSON_APPEND_INT64(&d, "t", o.term);
    bson_append_document_end(doc, &d);
}
