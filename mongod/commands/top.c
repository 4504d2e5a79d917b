/*
 * top.c -- {top: 1} on admin: time (microseconds) and count per namespace and
 * kind of operation since start-up, from opstats.c's counters, in mongod's
 * shape -- what mongotop polls and diffs.
 */
#include "mongod/ops.h"

/* append_pair -- {time, count}. */
static void append_pair(bson_t *d, const char *key, const micad_top_pair_t *p)
{
    bson_t sub;
    BSON_APPEND_DOCUMENT_BEGIN(d, key, &sub);
    BSON_APPEND_INT64(&sub, "time", p->time);
    BSON_APPEND_INT64(&sub, "count", p->count);
    bson_append_document_end(d, &sub);
}

/* append_ns -- one namespace's document. */
static void append_ns(const char *ns, const micad_top_t *t, void *arg)
{
    bson_t *totals = arg, d;
    BSON_APPEND_DOCUMENT_BEGIN(totals, ns, &d);
    append_pair(&d, "total", &t->total);
    append_pair(&d, "readLock", &t->read_lock);
    append_pair(&d, "writeLock", &t->write_lock);
    append_pair(&d, "queries", &t->queries);
    append_pair(&d, "getmore", &t->getmore);
    append_pair(&d, "insert", &t->insert);
    append_pair(&d, "update", &t->update);
    append_pair(&d, "remove", &t->remove);
    append_pair(&d, "commands", &t->commands);
    bson_append_document_end(totals, &d);
}

/* micad_cmd_top -- the top command. */
int micad_cmd_top(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_t totals;
    (void)op;
    (void)cmd;
    (void)st;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "totals", &totals);
    BSON_APPEND_UTF8(&totals, "note", "all times in microseconds");
    micad_top_foreach(append_ns, &totals);
    bson_append_document_end(reply, &totals);
    return 0;
}
