/*
 * profiler.c -- the database profiler: the `profile` command's settings and
 * the documents it writes to <db>.system.profile.
 *
 * As in mongod, the level (0 off, 1 slow or filtered operations, 2 all) and the
 * filter belong to a database, while slowms and sampleRate are process-wide and
 * also decide the slow-operation log line. system.profile is a capped
 * collection of 1 MiB created on first use; profile documents are written on
 * the worker that ran the operation, after its reply is built, in a unit of work
 * of their own that trims the oldest documents. They are local bookkeeping, not
 * user data: like mongod's, they never go to the oplog.
 */
#include "mongod/db.h"
#include "mongod/ops.h"
#include "query/query.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* MICAD_PROFILE_SIZE -- system.profile's capped size, mongod's default (1 MiB). */
#define MICAD_PROFILE_SIZE (1024 * 1024)

typedef struct prof_db {
    char db[128];
    int level;
    bson_t *filter_doc;  /* NULL: none */
    qry_match_t *filter; /* parsed filter_doc */
    struct prof_db *next;
} prof_db_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static prof_db_t *g_dbs;
static int g_slowms = 100;
static double g_sample_rate = 1.0;
static int g_any_level; /* how many databases have level > 0 or a filter: a fast path */

/* micad_profile_init -- slowms from --slowms / operationProfiling.slowOpThresholdMs. */
void micad_profile_init(const opts_t *o)
{
    __atomic_store_n(&g_slowms, o->slowms, __ATOMIC_RELAXED);
}

/* micad_profile_slowms -- the current threshold. */
int micad_profile_slowms(void)
{
    return __atomic_load_n(&g_slowms, __ATOMIC_RELAXED);
}

/* micad_profile_is_slow -- over slowms (a negative slowms: nothing is slow... and 0: all). */
bool micad_profile_is_slow(int64_t micros)
{
    int ms = micad_profile_slowms();
    return ms >= 0 && micros / 1000 >= ms;
}

/* micad_profile_sampled -- one draw against sampleRate. */
bool micad_profile_sampled(void)
{
    double rate;
    uint32_t r = 0;
    pthread_mutex_lock(&g_lock);
    rate = g_sample_rate;
    pthread_mutex_unlock(&g_lock);
    if (rate >= 1.0)
        return true;
    if (rate <= 0.0)
        return false;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        return true;
    return (double)r / 4294967296.0 < rate;
}

/* find_db -- the settings of db (NULL: never set). Called with g_lock. */
static prof_db_t *find_db(const char *db, bool create)
{
    for (prof_db_t *p = g_dbs; p != NULL; p = p->next)
        if (strcmp(p->db, db) == 0)
            return p;
    if (!create)
        return NULL;
    prof_db_t *p = calloc(1, sizeof(*p));
    INVARIANT(p != NULL);
    (void)snprintf(p->db, sizeof(p->db), "%s", db);
    p->next = g_dbs;
    g_dbs = p;
    return p;
}

/* profile_doc -- the system.profile document of one operation (mongod's shape). */
static void profile_doc(const wire_opctx_t *op, const micad_outcome_t *o, int code, int64_t micros,
                        bson_t *d)
{
    bson_t sub;
    char buf[32], client[64];
    BSON_APPEND_UTF8(d, "op", op->info.op);
    BSON_APPEND_UTF8(d, "ns", op->info.ns);
    bson_t redacted = BSON_INITIALIZER; /* system.profile holds no password either */
    wire_redact_command(&op->body, &redacted);
    BSON_APPEND_DOCUMENT(d, "command", &redacted);
    bson_destroy(&redacted);
    BSON_APPEND_INT64(d, "keysExamined", op->info.keys_examined);
    BSON_APPEND_INT64(d, "docsExamined", op->info.docs_examined);
    if (op->info.has_sort_stage)
        BSON_APPEND_BOOL(d, "hasSortStage", true);
    if (o->nreturned >= 0)
        BSON_APPEND_INT64(d, "nreturned", o->nreturned);
    if (strcmp(op->info.op, "insert") == 0)
        BSON_APPEND_INT64(d, "ninserted", o->ninserted);
    if (strcmp(op->info.op, "update") == 0) {
        BSON_APPEND_INT64(d, "nMatched", o->nmatched);
        BSON_APPEND_INT64(d, "nModified", o->nmodified);
    }
    if (strcmp(op->info.op, "remove") == 0)
        BSON_APPEND_INT64(d, "ndeleted", o->ndeleted);
    BSON_APPEND_INT64(d, "numYield", op->info.num_yields);
    BSON_APPEND_DOCUMENT_BEGIN(d, "locks", &sub);
    bson_append_document_end(d, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(d, "flowControl", &sub);
    bson_append_document_end(d, &sub);
    if (code != 0) {
        BSON_APPEND_DOUBLE(d, "ok", 0.0);
        BSON_APPEND_INT32(d, "errCode", code);
        BSON_APPEND_UTF8(d, "errName", wire_code_name(code, buf, sizeof(buf)));
    }
    BSON_APPEND_INT64(d, "responseLength", o->reslen);
    BSON_APPEND_UTF8(d, "protocol", op->legacy ? "op_query" : "op_msg");
    BSON_APPEND_INT64(d, "millis", micros / 1000);
    if (op->info.plan_summary[0] != '\0')
        BSON_APPEND_UTF8(d, "planSummary", op->info.plan_summary);
    BSON_APPEND_DATE_TIME(d, "ts", time_now_ms());
    /* client: the address without the port, as mongod writes it */
    (void)snprintf(client, sizeof(client), "%s", op->conn ? op->conn->remote : "");
    char *colon = strrchr(client, ':');
    if (colon != NULL)
        *colon = '\0';
    BSON_APPEND_UTF8(d, "client", client);
    if (op->conn != NULL && op->conn->app_name[0] != '\0')
        BSON_APPEND_UTF8(d, "appName", op->conn->app_name);
    BSON_APPEND_ARRAY_BEGIN(d, "allUsers", &sub);
    bson_append_array_end(d, &sub);
    BSON_APPEND_UTF8(d, "user", "");
}

typedef struct prof_job {
    stor_collection_t *coll;
    const bson_t *doc;
} prof_job_t;

/* insert_trim -- insert the document, then drop the oldest while over the capped size. */
static int insert_trim(stor_session_t *sess, void *arg, status_t *st)
{
    prof_job_t *j = arg;
    int64_t rid, size;
    stor_cursor_t *cur = NULL;
    int ret = 0;
    ST_RET(stor_record_insert(sess, j->coll, j->doc, &rid, st));
    size = stor_collection_data_size(j->coll) + j->doc->len;
    if (size <= MICAD_PROFILE_SIZE)
        return 0;
    ST_RET(stor_cursor_open(sess, j->coll, true, &cur, st));
    while (size > MICAD_PROFILE_SIZE) {
        int64_t old;
        bson_t doc;
        bool eof;
        ST_ERR(stor_cursor_next(cur, &old, &doc, &eof, st));
        if (eof || old == rid)
            break;
        size -= doc.len;
        ST_ERR(stor_record_delete(sess, j->coll, old, st));
    }
err:
    stor_cursor_close(cur);
    return ret;
}

/* write_profile -- append doc to db.system.profile, creating it capped on first use. */
static int write_profile(micad_t *m, const char *db, const bson_t *doc, status_t *st)
{
    char ns[MICAD_NS_MAX + 1];
    stor_session_t *sess;
    stor_collection_t *coll = NULL;
    status_t ignored = STATUS_INIT;
    int ret;

    ST_RET(micad_db_make_ns(db, "system.profile", ns, st));
    ST_RET(micad_db_session(m, &sess, st));
    if (stor_collection_lookup(m->engine, ns, &coll, &ignored) != 0) {
        /* no _id index: profile documents have no _id, as mongod's */
        bson_t *opts = BCON_NEW("capped", BCON_BOOL(true), "size", BCON_INT64(MICAD_PROFILE_SIZE),
                                "autoIndexId", BCON_BOOL(false));
        ret = stor_collection_create(sess, ns, opts, &coll, st);
        bson_destroy(opts);
        if (ret == ERR_NamespaceExists) {
            status_reset(st);
            ret = micad_db_get_collection(m, ns, &coll, st);
        }
        if (ret != 0)
            return ret;
    }
    prof_job_t job = {coll, doc};
    micad_db_lock_ns(ns, true); /* capped trimming is serialised, as capped inserts are */
    ret = micad_db_run_uow(NULL, sess, insert_trim, &job, st);
    micad_db_unlock_ns(ns, true);
    return ret;
}

/* micad_profile_record -- see ops.h. */
void micad_profile_record(micad_t *m, const wire_opctx_t *op, const micad_outcome_t *o, int code,
                          int64_t micros, bool slow, bool sampled)
{
    int level = 0;
    bool want;
    bson_t doc = BSON_INITIALIZER;
    status_t st = STATUS_INIT;

    if (__atomic_load_n(&g_any_level, __ATOMIC_RELAXED) == 0)
        return;
    profile_doc(op, o, code, micros, &doc);
    pthread_mutex_lock(&g_lock);
    prof_db_t *p = find_db(op->db, false);
    if (p != NULL) {
        level = p->level;
        if (level == 2)
            want = true;
        else if (level == 1 && p->filter != NULL)
            want = qry_match_eval(p->filter, &doc, NULL);
        else
            want = level == 1 && slow && sampled;
    } else {
        want = false;
    }
    pthread_mutex_unlock(&g_lock);
    if (want && write_profile(m, op->db, &doc, &st) != 0)
        LOG(WARNING, COMMAND, 21701, "Cannot write a profile document", "db", BCON_UTF8(op->db),
            "error", BCON_UTF8(st.msg));
    bson_destroy(&doc);
}

/* parse_filter -- profile's filter: a query document, or "unset". */
static int parse_filter(const bson_iter_t *it, bool *unset, bson_t **doc, qry_match_t **m,
                        status_t *st)
{
    *unset = false;
    *doc = NULL;
    *m = NULL;
    if (BSON_ITER_HOLDS_UTF8(it) && strcmp(bson_iter_utf8(it, NULL), "unset") == 0) {
        *unset = true;
        return 0;
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(it))
        return status_set(st, ERR_BadValue,
                          "'filter' must be an object or the string 'unset', got %s",
                          bsonu_type_name(bson_iter_type(it)));
    const uint8_t *data;
    uint32_t len;
    bson_t f;
    bson_iter_document(it, &len, &data);
    if (!bson_init_static(&f, data, len))
        return status_set(st, ERR_InvalidBSON, "invalid filter");
    ST_RET(qry_match_parse(&f, NULL, m, st));
    *doc = bson_copy(&f);
    return 0;
}

/* micad_cmd_profile -- {profile: -1|0|1|2, slowms?, sampleRate?, filter?}. */
int micad_cmd_profile(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    int64_t level = -1, slowms = 0;
    double rate = 0;
    bool has_slowms = false, has_rate = false, has_filter = false, unset = false;
    bson_t *fdoc = NULL;
    qry_match_t *fm = NULL;

    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    if (!bsonu_number_as_int64(bson_iter_value(&it), &level))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'profile' is the wrong type '%s', expected type 'int'",
                          bsonu_type_name(bson_iter_type(&it)));
    if (level < -1 || level > 2)
        return status_set(st, ERR_BadValue, "Invalid profiling level: %lld", (long long)level);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "slowms") == 0) {
            if (!bsonu_number_as_int64(bson_iter_value(&it), &slowms) || slowms < INT32_MIN ||
                slowms > INT32_MAX)
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'slowms' is the wrong type '%s', expected type 'int'",
                                  bsonu_type_name(bson_iter_type(&it)));
            has_slowms = true;
        } else if (strcmp(k, "sampleRate") == 0) {
            if (!BSON_ITER_HOLDS_NUMBER(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'sampleRate' is the wrong type '%s', expected type "
                                  "'double'",
                                  bsonu_type_name(bson_iter_type(&it)));
            rate = bson_iter_as_double(&it);
            if (!(rate >= 0.0 && rate <= 1.0))
                return status_set(st, ERR_BadValue,
                                  "'sampleRate' must be between 0.0 and 1.0 inclusive");
            has_rate = true;
        } else if (strcmp(k, "filter") == 0) {
            qry_match_destroy(fm);
            if (fdoc)
                bson_destroy(fdoc);
            ST_RET(parse_filter(&it, &unset, &fdoc, &fm, st));
            has_filter = true;
        } else if (!micad_db_is_generic_arg(k) && strcmp(k, "comment") != 0 &&
                   strcmp(k, "maxTimeMS") != 0) {
            qry_match_destroy(fm);
            if (fdoc)
                bson_destroy(fdoc);
            return micad_db_unknown_field("profile", k, st);
        }
    }

    pthread_mutex_lock(&g_lock);
    prof_db_t *p = find_db(op->db, level >= 0 || has_filter);
    int was = p ? p->level : 0;
    BSON_APPEND_INT32(reply, "was", was);
    BSON_APPEND_INT32(reply, "slowms", g_slowms);
    BSON_APPEND_DOUBLE(reply, "sampleRate", g_sample_rate);
    if (p != NULL && p->filter_doc != NULL)
        BSON_APPEND_DOCUMENT(reply, "filter", p->filter_doc);
    if (has_filter || (p != NULL && p->filter_doc != NULL && level >= 0))
        BSON_APPEND_UTF8(reply, "note",
                         "When a filter expression is set, slowms and sampleRate are not used "
                         "for profiling and slow-query log lines.");
    bool was_on = p != NULL && (p->level > 0 || p->filter != NULL);
    if (p != NULL && level >= 0)
        p->level = (int)level;
    if (p != NULL && has_filter) {
        qry_match_destroy(p->filter);
        if (p->filter_doc)
            bson_destroy(p->filter_doc);
        p->filter = fm;
        p->filter_doc = fdoc;
        fm = NULL;
        fdoc = NULL;
    }
    bool is_on = p != NULL && (p->level > 0 || p->filter != NULL);
    if (was_on != is_on)
        __atomic_add_fetch(&g_any_level, is_on ? 1 : -1, __ATOMIC_RELAXED);
    if (has_slowms)
        __atomic_store_n(&g_slowms, (int)slowms, __ATOMIC_RELAXED);
    if (has_rate)
        g_sample_rate = rate;
    pthread_mutex_unlock(&g_lock);
    qry_match_destroy(fm);
    if (fdoc)
        bson_destroy(fdoc);
    (void)unset;
    if (level >= 0 || has_slowms || has_rate || has_filter)
        LOG(INFO, COMMAND, 21702, "Profiler settings changed", "db", BCON_UTF8(op->db), "from",
            BCON_INT32(was), "to", BCON_INT32(level >= 0 ? (int)level : was));
    return 0;
}
