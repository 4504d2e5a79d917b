/*
 * oplog.c -- the oplog writer and reader.
 *
 * Writer: the write path's observer (mongod/write.h). Every document write
 * and catalog change outside the `local` database becomes one entry in
 * MongoDB's shape -- {op, ns, ui, o, o2, ts, t, v: 2, wall} -- appended to
 * local.oplog.rs inside the write's own storage transaction, so the entry
 * commits with the write or not at all.
 *
 * Timestamps and holes: an append takes its timestamp from the cluster clock
 * and registers it with storage under one mutex (g_reserve), so timestamps
 * reach storage in increasing order; the transactions then commit in any
 * order. Storage keeps the reserved-but-uncommitted timestamps as holes and
 * never shows a reader an entry past the first hole (storage/README.md, "The
 * oplog"), so a tailing secondary never skips an entry that commits late.
 *
 * Reader: find on local.oplog.rs runs over storage's oplog cursor (the oplog
 * is not a catalog collection): a top-level `ts` bound picks the start,
 * the whole filter is matched, $natural: -1 reads backwards, and a tailable
 * cursor stays open at the visible end.
 */
#include "mongod/repl/repl_int.h"
#include "mongod/write.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_reserve = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool g_enabled;
static _Atomic int64_t g_term;

/* repl_oplog_enable -- see repl.h. */
void repl_oplog_enable(bool on, int64_t term)
{
    atomic_store(&g_term, term);
    atomic_store(&g_enabled, on);
}

/* ======================================================================== */
/* Entries                                                                   */
/* ======================================================================== */

/* same_value -- equal in type and value (an update to 1.0 from 1 is a change). */
static bool same_value(const bson_iter_t *a, const bson_iter_t *b)
{
    return bson_iter_type(a) == bson_iter_type(b) && bsonu_equal_iter(a, b);
}

/*
 * update_diff -- a $v: 2 diff {d: {f: false}, u: {f: v}, i: {f: v}} from
 * before to after when after keeps before's remaining fields in order and
 * appends new ones at the end (what $set/$unset/$inc... produce); false
 * otherwise, and the caller logs the whole document as a replacement.
 */
static bool update_diff(const bson_t *before, const bson_t *after, bson_t *diff)
{
    bson_t d = BSON_INITIALIZER, u = BSON_INITIALIZER, ins = BSON_INITIALIZER;
    bson_iter_t ai, bi;
    bool ok = true, appending = false;
    bson_iter_init(&bi, before);
    bool b_more = bson_iter_next(&bi);
    bson_iter_init(&ai, after);
    while (ok && bson_iter_next(&ai)) {
        const char *k = bson_iter_key(&ai);
        bson_iter_t found;
        if (!bson_iter_init_find(&found, before, k)) {
            bson_append_iter(&ins, k, -1, &ai);
            appending = true;
            continue;
        }
        if (appending) {
            ok = false; /* an old field after a new one: order changed */
            break;
        }
        /* fields of before up to k that after skipped were removed */
        while (b_more && strcmp(bson_iter_key(&bi), k) != 0) {
            bson_iter_t again;
            if (bson_iter_init_find(&again, after, bson_iter_key(&bi))) {
                ok = false; /* still present later: reordered */
                break;
            }
            BSON_APPEND_BOOL(&d, bson_iter_key(&bi), false);
            b_more = bson_iter_next(&bi);
        }
        if (!ok || !b_more)
            break;
        if (!same_value(&ai, &bi))
            bson_append_iter(&u, k, -1, &ai);
        b_more = bson_iter_next(&bi);
    }
    while (ok && b_more) {
        bson_iter_t again;
        if (bson_iter_init_find(&again, after, bson_iter_key(&bi))) {
            ok = false;
            break;
        }
        BSON_APPEND_BOOL(&d, bson_iter_key(&bi), false);
        b_more = bson_iter_next(&bi);
    }
    if (ok) {
        if (!bson_empty(&d))
            BSON_APPEND_DOCUMENT(diff, "d", &d);
        if (!bson_empty(&u))
            BSON_APPEND_DOCUMENT(diff, "u", &u);
        if (!bson_empty(&ins))
            BSON_APPEND_DOCUMENT(diff, "i", &ins);
    }
    bson_destroy(&d);
    bson_destroy(&u);
    bson_destroy(&ins);
    return ok;
}

/* append_id -- {_id: <doc's _id>} (the whole document when it has none). */
static void append_id(bson_t *out, const char *key, const bson_t *doc)
{
    bson_iter_t it;
    bson_t o;
    if (!bson_iter_init_find(&it, doc, "_id")) {
        BSON_APPEND_DOCUMENT(out, key, doc);
        return;
    }
    BSON_APPEND_DOCUMENT_BEGIN(out, key, &o);
    bson_append_iter(&o, "_id", 3, &it);
    bson_append_document_end(out, &o);
}

/* body -- the entry's fields before ts: {op, ns, ui, o, o2}. */
static void body(const micad_write_event_t *ev, bson_t *b)
{
    char ns[MICAD_NS_MAX + 8];
    switch (ev->kind) {
    case MICAD_WEV_INSERT:
        BSON_APPEND_UTF8(b, "op", "i");
        BSON_APPEND_UTF8(b, "ns", ev->ns);
        break;
    case MICAD_WEV_UPDATE:
        BSON_APPEND_UTF8(b, "op", "u");
        BSON_APPEND_UTF8(b, "ns", ev->ns);
        break;
    case MICAD_WEV_DELETE:
        BSON_APPEND_UTF8(b, "op", "d");
        BSON_APPEND_UTF8(b, "ns", ev->ns);
        break;
    case MICAD_WEV_COMMAND: {
        const char *dot = strchr(ev->ns, '.');
        int dl = dot ? (int)(dot - ev->ns) : (int)strlen(ev->ns);
        snprintf(ns, sizeof(ns), "%.*s.$cmd", dl, ev->ns);
        BSON_APPEND_UTF8(b, "op", "c");
        BSON_APPEND_UTF8(b, "ns", ns);
        break;
    }
    }
    if (ev->uuid != NULL)
        BSON_APPEND_BINARY(b, "ui", BSON_SUBTYPE_UUID, ev->uuid, 16);
    switch (ev->kind) {
    case MICAD_WEV_INSERT:
        BSON_APPEND_DOCUMENT(b, "o", ev->doc);
        append_id(b, "o2", ev->doc);
        break;
    case MICAD_WEV_UPDATE: {
        bson_t diff = BSON_INITIALIZER;
        if (update_diff(ev->before, ev->doc, &diff)) {
            bson_t o;
            BSON_APPEND_DOCUMENT_BEGIN(b, "o", &o);
            BSON_APPEND_INT32(&o, "$v", 2);
            BSON_APPEND_DOCUMENT(&o, "diff", &diff);
            bson_append_document_end(b, &o);
        } else {
            BSON_APPEND_DOCUMENT(b, "o", ev->doc); /* a full replacement */
        }
        bson_destroy(&diff);
        append_id(b, "o2", ev->doc);
        break;
    }
    case MICAD_WEV_DELETE:
        append_id(b, "o", ev->before);
        break;
    case MICAD_WEV_COMMAND:
        BSON_APPEND_DOCUMENT(b, "o", ev->o);
        if (ev->o2 != NULL && !bson_empty(ev->o2))
            BSON_APPEND_DOCUMENT(b, "o2", ev->o2);
        break;
    }
}

/*
 * append_entry -- reserve a timestamp, finish the entry with it and hand it
 * to storage in the caller's unit of work. Under g_reserve, so timestamps
 * reach storage in the order they were issued.
 */
static int append_entry(stor_session_t *sess, const bson_t *b, int64_t term, repl_optime_t *at,
                        status_t *st)
{
    pthread_mutex_lock(&g_reserve);
    uint64_t ts = repl_clock_tick();
    bson_t e = BSON_INITIALIZER;
    bson_concat(&e, b);
    BSON_APPEND_TIMESTAMP(&e, "ts", repl_ts_secs(ts), repl_ts_inc(ts));
    BSON_APPEND_INT64(&e, "t", term);
    BSON_APPEND_INT32(&e, "v", 2);
    BSON_APPEND_DATE_TIME(&e, "wall", time_now_ms());
    int ret = stor_oplog_append(sess, ts, &e, st);
    pthread_mutex_unlock(&g_reserve);
    bson_destroy(&e);
    if (ret == 0)
        repl__note_client_op(ts, term); /* this command's operationTime */
    if (ret == 0 && at != NULL) {
        at->term = term;
        at->ts = ts;
    }
    return ret;
}

/*
 * Applying mode (apply.c, on a secondary): the entry fetched from the sync
 * source is appended as it is, at its own timestamp, by the first write it
 * causes -- in that write's unit of work -- and the primary-only check does
 * not apply. Thread-local: only the applier's thread is in it.
 */
static __thread struct {
    bool on;
    bool recovering; /* start-up replay: the entry is in the oplog already */
    bool appended;
    const bson_t *entry;
    uint64_t ts;
} t_apply;

void repl__oplog_apply_begin(const bson_t *entry, uint64_t ts)
{
    t_apply.on = true;
    t_apply.appended = false;
    t_apply.entry = entry;
    t_apply.ts = ts;
}

void repl__oplog_recover_begin(const bson_t *entry, uint64_t ts)
{
    repl__oplog_apply_begin(entry, ts);
    t_apply.recovering = true;
}

bool repl__oplog_recovering(void)
{
    return t_apply.recovering;
}

void repl__oplog_apply_reset(void)
{
    t_apply.appended = false;
}

bool repl__oplog_apply_appended(void)
{
    return t_apply.appended;
}

void repl__oplog_apply_end(void)
{
    memset(&t_apply, 0, sizeof(t_apply));
}

/* repl__oplog_append_applied -- in the caller's unit; once per entry. */
int repl__oplog_append_applied(stor_session_t *sess, status_t *st)
{
    if (!t_apply.on || t_apply.appended)
        return 0;
    if (t_apply.recovering) {
        /* the entry is in the (journaled) oplog: the writes only take its timestamp */
        stor_uow_t *uow = stor_session_uow(sess);
        int ret = uow != NULL ? stor_uow_set_commit_ts(uow, t_apply.ts, st) : 0;
        if (ret == 0)
            t_apply.appended = true;
        return ret;
    }
    pthread_mutex_lock(&g_reserve);
    repl_clock_advance(t_apply.ts);
    int ret = stor_oplog_append(sess, t_apply.ts, t_apply.entry, st);
    pthread_mutex_unlock(&g_reserve);
    if (ret == 0)
        t_apply.appended = true;
    return ret;
}

/* observe -- the write path's observer: one entry per write outside `local`. */
static int observe(void *ctx, stor_session_t *sess, const micad_write_event_t *ev, status_t *st)
{
    (void)ctx;
    if (t_apply.on)
        return repl__oplog_append_applied(sess, st);
    if (strncmp(ev->ns, "local.", 6) == 0)
        return 0; /* the local database is this node's own, never replicated */
    /* A client operation that writes is one a step-down interrupts, marked before the
     * flag is read (the step-down clears the flag, then sweeps: see state.c). */
    wire_opctx_t *self = wire_curop_self();
    if (self != NULL)
        __atomic_store_n(&self->interrupt_at_stepdown, 1, __ATOMIC_SEQ_CST);
    if (!atomic_load(&g_enabled)) {    /* every replicated write needs its entry: primary only */
        if (wire_curop_check(st) != 0) /* interrupted by the step-down: say so (11602) */
            return st->code;
        return status_set(st, ERR_NotWritablePrimary, "not primary");
    }
    bson_t b = BSON_INITIALIZER;
    body(ev, &b);
    int ret = append_entry(sess, &b, atomic_load(&g_term), NULL, st);
    bson_destroy(&b);
    return ret;
}

typedef struct noop_job {
    const char *msg;
    int64_t term;
    repl_optime_t at;
} noop_job_t;

static int noop_fn(stor_session_t *sess, void *arg, status_t *st)
{
    noop_job_t *j = arg;
    if (j->term < 0) { /* as the primary, in its term: the same check as a document write */
        if (!atomic_load(&g_enabled))
            return status_set(st, ERR_NotWritablePrimary, "not primary");
        j->term = atomic_load(&g_term);
    }
    bson_t b = BSON_INITIALIZER, o;
    BSON_APPEND_UTF8(&b, "op", "n");
    BSON_APPEND_UTF8(&b, "ns", "");
    BSON_APPEND_DOCUMENT_BEGIN(&b, "o", &o);
    BSON_APPEND_UTF8(&o, "msg", j->msg);
    bson_append_document_end(&b, &o);
    int ret = append_entry(sess, &b, j->term, &j->at, st);
    bson_destroy(&b);
    return ret;
}

/* repl_oplog_noop -- see repl.h. */
int repl_oplog_noop(micad_t *m, const char *msg, int64_t term, repl_optime_t *at, status_t *st)
{
    stor_session_t *sess;
    noop_job_t j = {msg, term, {0, 0}};
    ST_RET(micad_db_session(m, &sess, st));
    ST_RET(micad_db_run_uow(NULL, sess, noop_fn, &j, st));
    if (at != NULL)
        *at = j.at;
    return 0;
}

/* repl__oplog_noop_as_primary -- see repl_int.h. */
int repl__oplog_noop_as_primary(micad_t *m, const char *msg, repl_optime_t *at, status_t *st)
{
    return repl_oplog_noop(m, msg, -1, at, st);
}

/* repl_oplog_last -- read the newest entry's t. */
int repl_oplog_last(micad_t *m, repl_optime_t *out, status_t *st)
{
    stor_session_t *sess;
    stor_oplog_cursor_t *cur = NULL;
    uint64_t ts = 0;
    int ret = 0;
    out->term = 0;
    out->ts = 0;
    ST_RET(micad_db_session(m, &sess, st));
    ST_RET(stor_oplog_last_ts(sess, &ts, st));
    if (ts == 0)
        return 0;
    ST_RET(stor_oplog_cursor_open(sess, ts, &cur, st));
    bson_t e;
    bool eof;
    uint64_t got;
    ST_ERR(stor_oplog_cursor_next(cur, &got, &e, &eof, st));
    if (!eof) {
        bson_iter_t it;
        out->ts = got;
        if (bson_iter_init_find(&it, &e, "t") && BSON_ITER_HOLDS_INT64(&it))
            out->term = bson_iter_int64(&it);
    }
err:
    stor_oplog_cursor_close(cur);
    return ret;
}

/* repl_oplog_start -- the clock starts above the newest entry; the observer goes in. */
int repl_oplog_start(micad_t *m, status_t *st)
{
    stor_session_t *sess;
    uint64_t last = 0;
    ST_RET(micad_db_session(m, &sess, st));
    ST_RET(stor_oplog_last_ts(sess, &last, st));
    repl_clock_advance(last);
    micad_write_set_observer(observe, m);
    return 0;
}

/* ======================================================================== */
/* Reading: find on local.oplog.rs                                          */
/* ======================================================================== */

typedef struct oplog_find {
    stor_session_t *sess;
    stor_oplog_cursor_t *cur;
    qry_match_t *match;
    qry_projection_t *proj;
    int64_t skip_left;
    int64_t limit_left; /* -1: none */
    bool tailable;
    bool reverse;
    bool reversed; /* the backward result is built */
    bson_t **rev;  /* backward: the matching entries, oldest first */
    size_t nrev, caprev, revpos;
} oplog_find_t;

static void of_destroy(void *arg)
{
    oplog_find_t *f = arg;
    if (f == NULL)
        return;
    stor_oplog_cursor_close(f->cur);
    stor_session_close(f->sess);
    qry_match_destroy(f->match);
    qry_projection_destroy(f->proj);
    for (size_t i = f->revpos; i < f->nrev; i++)
        bson_destroy(f->rev[i]);
    free(f->rev);
    free(f);
}

static int of_begin(void *arg, status_t *st)
{
    (void)arg;
    (void)st;
    return 0;
}

static void of_end(void *arg)
{
    (void)arg;
}

/* of_forward -- the next matching visible entry, or *eof. */
static int of_forward(oplog_find_t *f, bson_t *out, bool *eof, status_t *st)
{
    for (;;) {
        uint64_t ts;
        bson_t e;
        ST_RET(stor_oplog_cursor_next(f->cur, &ts, &e, eof, st));
        if (*eof)
            return 0;
        if (qry_match_eval(f->match, &e, NULL)) {
            bson_copy_to(&e, out);
            return 0;
        }
    }
}

/*
 * of_build_reverse -- backward reads scan forward once, keeping only the last
 * skip + limit matches (all of them without a limit), then hand them out
 * newest first. Storage's oplog cursor runs forward only.
 */
static int of_build_reverse(oplog_find_t *f, int64_t deadline_us, status_t *st)
{
    size_t keep = f->limit_left >= 0 ? (size_t)(f->limit_left + f->skip_left) : 0;
    int64_t n = 0;
    for (;;) {
        bson_t doc;
        bool eof;
        ST_RET(of_forward(f, &doc, &eof, st));
        if (eof)
            break;
        if (keep > 0 && f->nrev == keep) {
            bson_destroy(f->rev[0]);
            memmove(f->rev, f->rev + 1, (f->nrev - 1) * sizeof(*f->rev));
            f->nrev--;
        }
        if (f->nrev == f->caprev) {
            f->caprev = f->caprev ? f->caprev * 2 : 16;
            f->rev = realloc(f->rev, f->caprev * sizeof(*f->rev));
            INVARIANT(f->rev != NULL);
        }
        f->rev[f->nrev++] = bson_copy(&doc);
        bson_destroy(&doc);
        if ((++n & 127) == 0 && deadline_us != 0 && time_mono_us() >= deadline_us)
            return status_set(st, ERR_MaxTimeMSExpired, "operation exceeded time limit");
    }
    f->reversed = true;
    return 0;
}

static int of_next(void *arg, int64_t deadline_us, bson_t *out, bool *eof, status_t *st)
{
    oplog_find_t *f = arg;
    *eof = false;
    for (;;) {
        bson_t doc;
        if (f->limit_left == 0) {
            *eof = true;
            return 0;
        }
        if (f->reverse) {
            if (!f->reversed)
                ST_RET(of_build_reverse(f, deadline_us, st));
            if (f->revpos >= f->nrev) {
                *eof = true;
                return 0;
            }
            bson_t *d = f->rev[f->nrev - 1];
            f->nrev--;
            bson_copy_to(d, &doc);
            bson_destroy(d);
        } else {
            bool e;
            ST_RET(of_forward(f, &doc, &e, st));
            if (e) {
                *eof = true; /* for now only, when tailable (the executor knows) */
                return 0;
            }
        }
        if (f->skip_left > 0) {
            f->skip_left--;
            bson_destroy(&doc);
            continue;
        }
        if (f->limit_left > 0)
            f->limit_left--;
        if (f->proj == NULL) {
            bson_copy_to(&doc, out);
            bson_destroy(&doc);
            return 0;
        }
        qry_projection_ctx_t ctx = QRY_PROJECTION_CTX_INIT;
        int ret = qry_projection_apply(f->proj, &doc, &ctx, out, st);
        bson_destroy(&doc);
        return ret;
    }
}

/* start_ts -- the first timestamp the filter's top-level ts bound allows (0: the front). */
static uint64_t start_ts(const bson_t *filter)
{
    bson_iter_t it, sub;
    uint32_t t, i;
    if (!bson_iter_init_find(&it, filter, "ts"))
        return 0;
    if (BSON_ITER_HOLDS_TIMESTAMP(&it)) {
        bson_iter_timestamp(&it, &t, &i);
        return repl_ts_make(t, i);
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &sub))
        return 0;
    uint64_t best = 0;
    while (bson_iter_next(&sub)) {
        const char *k = bson_iter_key(&sub);
        if (!BSON_ITER_HOLDS_TIMESTAMP(&sub))
            continue;
        bson_iter_timestamp(&sub, &t, &i);
        uint64_t v = repl_ts_make(t, i);
        if (strcmp(k, "$gt") == 0)
            v++;
        else if (strcmp(k, "$gte") != 0 && strcmp(k, "$eq") != 0)
            continue;
        if (v > best)
            best = v;
    }
    return best;
}

/* repl_oplog_find -- see repl.h. */
int repl_oplog_find(micad_t *m, const micad_query_t *q, micad_exec_t **out, status_t *st)
{
    bson_iter_t it;
    int ret = 0;
    *out = NULL;
    if (q->has_sort && !bson_empty(&q->sort))
        return status_set(st, ERR_BadValue,
                          "the oplog can only be read in $natural order (sort {$natural: 1|-1})");
    oplog_find_t *f = calloc(1, sizeof(*f));
    INVARIANT(f != NULL);
    f->limit_left = q->limit > 0 ? q->limit : -1;
    f->skip_left = q->skip;
    f->tailable = q->tailable;
    if (q->has_hint && q->hint.value_type == BSON_TYPE_DOCUMENT) {
        bson_t h;
        if (bson_init_static(&h, q->hint.value.v_doc.data, q->hint.value.v_doc.data_len) &&
            bson_iter_init_find(&it, &h, "$natural")) {
            double d = 1;
            (void)bsonu_number_as_double(bson_iter_value(&it), &d);
            f->reverse = d < 0;
        }
    }
    if (f->reverse && f->tailable) {
        ret = status_set(st, ERR_BadValue, "a tailable cursor reads forward only");
        goto err;
    }
    ST_ERR(qry_match_parse(&q->filter, NULL, &f->match, st));
    if (q->has_projection && !bson_empty(&q->projection))
        ST_ERR(qry_projection_parse(&q->projection, &f->proj, st));
    ST_ERR(stor_session_open(m->engine, &f->sess, st));
    ST_ERR(stor_oplog_cursor_open(f->sess, start_ts(&q->filter), &f->cur, st));
    micad_exec_ext_t ext = {of_begin, of_end, of_next, of_destroy, f, f->tailable};
    micad_exec_create_ext(m, q->ns, &ext, out);
    return 0;
err:
    of_destroy(f);
    return ret;
}
