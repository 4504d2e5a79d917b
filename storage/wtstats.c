/*
 * wtstats.c -- WiredTiger's connection statistics for serverStatus.wiredTiger
 * and the Prometheus exporter.
 *
 * The engine opens WiredTiger with statistics=(fast) (what mongod uses: cheap
 * counters, no tree walks). Each call opens a private WT session and a
 * "statistics:" cursor, so it never touches a worker's session, and groups the
 * values the way mongod does: a description "cache: bytes currently in the
 * cache" becomes {cache: {"bytes currently in the cache": N}}.
 */
#include "storage/storage_int.h"

#include <string.h>

/* stor_engine_wt_stats -- see storage.h. */
int stor_engine_wt_stats(stor_engine_t *eng, bson_t *out, status_t *st)
{
    WT_SESSION *s = NULL;
    WT_CURSOR *c = NULL;
    int wret, ret = 0;
    char section[64] = "";
    bson_t sub;
    bool open_sub = false;

    bson_init(out);
    wret = eng->conn->open_session(eng->conn, NULL, NULL, &s);
    if (wret != 0)
        return stor__wt_status(st, wret, "open_session (statistics)");
    wret = s->open_cursor(s, "statistics:", NULL, NULL, &c);
    if (wret != 0) {
        ret = stor__wt_status(st, wret, "open_cursor statistics:");
        goto err;
    }
    /* statistics are ordered by their key, which groups each section together */
    while ((wret = c->next(c)) == 0) {
        const char *desc, *pvalue;
        int64_t value;
        if ((wret = c->get_value(c, &desc, &pvalue, &value)) != 0)
            break;
        const char *colon = strchr(desc, ':');
        size_t n = colon ? (size_t)(colon - desc) : 0;
        const char *name = colon ? colon + 1 : desc;
        while (*name == ' ')
            name++;
        if (n >= sizeof(section))
            n = sizeof(section) - 1;
        if (!open_sub || strncmp(section, desc, n) != 0 || section[n] != '\0') {
            if (open_sub)
                bson_append_document_end(out, &sub);
            memcpy(section, desc, n);
            section[n] = '\0';
            bson_append_document_begin(out, n ? section : "other", -1, &sub);
            open_sub = true;
        }
        BSON_APPEND_INT64(&sub, name, value);
    }
    if (open_sub)
        bson_append_document_end(out, &sub);
    if (wret != WT_NOTFOUND)
        ret = stor__wt_status(st, wret, "statistics cursor");
err:
    if (c != NULL)
        c->close(c);
    s->close(s, NULL);
    return ret;
}
