/*
 * agg.c -- aggregation pipelines on the data node (see agg.h): the document
 * source over the executor, the data-source callbacks for stages that touch
 * other namespaces, batches across getMores, and explain.
 *
 * Every pipeline -- the command's and each sub-pipeline of $lookup,
 * $graphLookup, $unionWith and $merge's look-ups -- is an agg_src_t: a parsed
 * and optimised qry_pipeline_t whose leading $match/$sort went to a
 * micad_exec_t (planner, indexes, own storage session), with the remaining
 * stages opened on top. All the sources of one run sit on one list in the
 * run's environment, so a batch boundary saves and restores all of them (a
 * $unionWith's sub-scan may stay open across getMores).
 */
#include "mongod/agg.h"
#include "mongod/repl/repl.h"
#include "mongod/ops.h"
#include "mongod/views.h"
#include "mongod/write.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct agg_env agg_env_t;

/* agg_src_t -- one pipeline over one namespace (or none: collectionless). */
typedef struct agg_src {
    agg_env_t *env;
    micad_exec_t *ex; /* NULL: collectionless */
    qry_pipeline_t *pl;
    qry_pl_ctx_t ctx;
    qry_pl_exec_t *run; /* NULL: every stage went to the executor */
    char db[128];
    char coll[MICAD_NS_MAX + 1];
    bson_t *let; /* the let the pipeline was parsed with (copy; heap: bson_t wants 128-byte
                    alignment) */
    bool has_let;
    bool in_batch;
    struct agg_src *prev, *next; /* the environment's open list */
} agg_src_t;

/* agg_env_t -- what every source of one run shares. */
struct agg_env {
    micad_t *m;
    const wire_opctx_t *op; /* the aggregate command while it runs; NULL after */
    int64_t deadline_us;    /* of the batch being run (0: none) */
    bool allow_disk_use;
    bool bypass_validation;
    size_t mem_limit;
    char tmp_dir[PATH_MAX];
    agg_src_t *open; /* every open source */
    bool in_batch;
    /* $out in progress: writes to out_target go to out_tmp until the rename */
    bool out_active;
    char out_target[MICAD_NS_MAX + 1];
    char out_tmp[MICAD_NS_MAX + 1];
};

struct micad_agg {
    agg_env_t env;
    agg_src_t *root;
};

static int src_open(agg_env_t *env, const char *db, const char *coll, const bson_t *pipeline,
                    const bson_t *let, const bson_value_t *hint, bool is_root, agg_src_t **out,
                    status_t *st);
static void src_destroy(agg_src_t *s);
static int ds_open(void *arg, const char *db, const char *coll, const bson_t *pipeline,
                   const bson_t *let_vars, qry_doc_source_t *out, status_t *st);
static int ds_write(void *arg, qry_pl_write_op_t op, const char *db, const char *coll,
                    const bson_t *filter, const bson_t *doc, status_t *st);
static int ds_stats(void *arg, qry_pl_stats_kind_t kind, const char *db, const char *coll,
                    const bson_t *spec, qry_doc_source_t *out, status_t *st);

/* The callbacks every source's stages get (arg: the run's environment). */
static const qry_pl_datasource_t g_ds = {ds_open, ds_write, ds_stats, NULL};

/* ------------------------------------------------------------------ limits and spills */

/*
 * micad_agg_max_memory -- see agg.h. The pipeline has one per-stage limit
 * for its blocking stages; MongoDB has one server parameter for $group and
 * one for sorts, so the smaller of the two applies (a test lowers either to
 * make a spill happen with little data).
 */
size_t micad_agg_max_memory(void)
{
    int64_t g = opts_param(OPTS_PARAM_internalDocumentSourceGroupMaxMemoryBytes);
    int64_t s = opts_param(OPTS_PARAM_internalQueryMaxBlockingSortMemoryUsageBytes);
    int64_t v = g < s ? g : s;
    return v > 0 ? (size_t)v : QRY_PL_MEM_LIMIT_DEFAULT;
}

/* The spill folder, prepared by the first aggregation of the process (under g_tmp_mu). */
static pthread_mutex_t g_tmp_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_tmp_dir[PATH_MAX];

/* tmp_prepare -- create dir and remove what an earlier process left there. */
static void tmp_prepare(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        LOG(WARNING, QUERY, 21600, "Cannot create the aggregation spill folder", "path",
            BCON_UTF8(dir), "errno", BCON_INT32(errno));
        return;
    }
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX + 256];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        (void)unlink(p);
    }
    closedir(d);
}

/* tmp_dir -- <dbpath>/_tmp into out, prepared once per process. */
static void tmp_dir(micad_t *m, char *out, size_t cap)
{
    pthread_mutex_lock(&g_tmp_mu);
    if (g_tmp_dir[0] == '\0') {
        const char *dbpath = m && m->opts && m->opts->dbpath ? m->opts->dbpath : "/data/db";
        snprintf(g_tmp_dir, sizeof(g_tmp_dir), "%s/%s", dbpath, MICAD_AGG_TMP_DIR);
        tmp_prepare(g_tmp_dir);
    }
    snprintf(out, cap, "%s", g_tmp_dir);
    pthread_mutex_unlock(&g_tmp_mu);
}

/* ------------------------------------------------------------------ batches */

static int src_begin(agg_src_t *s, status_t *st)
{
    if (s->in_batch)
        return 0;
    if (s->ex != NULL)
        ST_RET(micad_exec_begin_batch(s->ex, st));
    s->in_batch = true;
    return 0;
}

static void src_end(agg_src_t *s)
{
    if (!s->in_batch)
        return;
    if (s->ex != NULL)
        micad_exec_end_batch(s->ex);
    s->in_batch = false;
}

/* micad_agg_begin_batch -- see agg.h. */
int micad_agg_begin_batch(micad_agg_t *a, status_t *st)
{
    for (agg_src_t *s = a->env.open; s != NULL; s = s->next) {
        int ret = src_begin(s, st);
        if (ret != 0) {
            micad_agg_end_batch(a);
            return ret;
        }
    }
    a->env.in_batch = true;
    return 0;
}

/* micad_agg_end_batch -- see agg.h. */
void micad_agg_end_batch(micad_agg_t *a)
{
    for (agg_src_t *s = a->env.open; s != NULL; s = s->next)
        src_end(s);
    a->env.in_batch = false;
}

/* deadline_cb -- killOp and maxTimeMS, checked by the stages between documents. */
static int deadline_cb(void *arg, status_t *st)
{
    agg_env_t *env = arg;
    ST_RET(wire_curop_check(st));
    if (env->deadline_us > 0 && time_mono_us() > env->deadline_us)
        return status_set(st, ERR_MaxTimeMSExpired, "operation exceeded time limit");
    return 0;
}

/* ------------------------------------------------------------------ sources */

/* exec_source_next -- the executor's documents as the pipeline's input. */
static int exec_source_next(void *arg, bson_t *out, bool *eof, status_t *st)
{
    agg_src_t *s = arg;
    *eof = false;
    if (s->ex == NULL) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    int ret = micad_exec_next(s->ex, s->env->deadline_us, out, eof, st);
    if (ret != 0 || *eof) {
        bson_init(out);
        *eof = ret == 0;
    }
    return ret;
}

/* src_pull -- the next output of a source: its stages', or the executor's directly. */
static int src_pull(agg_src_t *s, bson_t *out, bool *eof, status_t *st)
{
    if (s->run != NULL)
        return qry_pl_exec_next(s->run, out, eof, st);
    return exec_source_next(s, out, eof, st);
}

static int sub_next(void *arg, bson_t *out, bool *eof, status_t *st)
{
    return src_pull(arg, out, eof, st);
}

static void sub_close(void *arg)
{
    src_destroy(arg);
}

/*
 * needs_projection -- the dependency projection to fetch with, or false when
 * whole documents are needed. A pipeline that needs no field at all ($count)
 * still gets {_id: 1}: an {_id: 0} alone would read as an exclusion.
 */
static bool needs_projection(const qry_pipeline_t *pl, bson_t *proj)
{
    bool whole = true;
    bson_init(proj);
    /*
     * A prefix that reads no field before a stage that replaces the document
     * ({$group: {_id: null, n: {$sum: 1}}}) needs only something per
     * document: {_id: 1}. The dependency walk would say {_id: 0}, which as a
     * find projection is an exclusion and fetches everything else.
     */
    size_t nreads = 0, n = qry_pipeline_nstages(pl);
    for (size_t i = 0; i < n; i++) {
        qry_pl_stage_info_t info;
        qry_pipeline_stage_info(pl, i, &info);
        if (info.needs_whole_doc)
            break;
        nreads += info.nreads;
        if (info.replaces_doc) {
            if (nreads == 0) {
                BSON_APPEND_INT32(proj, "_id", 1);
                return true;
            }
            break;
        }
    }
    qry_pipeline_dependencies(pl, proj, &whole);
    if (whole) {
        bson_reinit(proj);
        return false;
    }
    bson_iter_t it;
    bool other = false;
    bson_iter_init(&it, proj);
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "_id") != 0)
            other = true;
    if (!other) {
        bson_reinit(proj);
        BSON_APPEND_INT32(proj, "_id", 1);
    }
    return true;
}

/* merge_on_fields -- $merge's `on` as a list of paths (default _id) into an array doc. */
static void merge_target(const bson_t *spec, const char *dflt_db, char *db, size_t dbcap,
                         char *coll, size_t collcap, bson_t *on)
{
    bson_iter_t m, it;
    db[0] = coll[0] = '\0';
    bson_init(on);
    if (!bson_iter_init_find(&m, spec, "$merge"))
        return;
    snprintf(db, dbcap, "%s", dflt_db);
    if (BSON_ITER_HOLDS_UTF8(&m)) {
        snprintf(coll, collcap, "%s", bson_iter_utf8(&m, NULL));
        return;
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(&m))
        return;
    bson_iter_t in;
    bson_iter_recurse(&m, &in);
    while (bson_iter_next(&in)) {
        const char *k = bson_iter_key(&in);
        if (strcmp(k, "into") == 0 && BSON_ITER_HOLDS_UTF8(&in)) {
            snprintf(coll, collcap, "%s", bson_iter_utf8(&in, NULL));
        } else if (strcmp(k, "into") == 0 && BSON_ITER_HOLDS_DOCUMENT(&in)) {
            bson_iter_recurse(&in, &it);
            while (bson_iter_next(&it)) {
                if (strcmp(bson_iter_key(&it), "db") == 0 && BSON_ITER_HOLDS_UTF8(&it))
                    snprintf(db, dbcap, "%s", bson_iter_utf8(&it, NULL));
                else if (strcmp(bson_iter_key(&it), "coll") == 0 && BSON_ITER_HOLDS_UTF8(&it))
                    snprintf(coll, collcap, "%s", bson_iter_utf8(&it, NULL));
            }
        } else if (strcmp(k, "on") == 0 && BSON_ITER_HOLDS_UTF8(&in)) {
            BSON_APPEND_UTF8(on, "0", bson_iter_utf8(&in, NULL));
        } else if (strcmp(k, "on") == 0 && BSON_ITER_HOLDS_ARRAY(&in)) {
            bson_iter_recurse(&in, &it);
            while (bson_iter_next(&it))
                if (BSON_ITER_HOLDS_UTF8(&it))
                    bson_append_iter(on, bson_iter_key(&it), -1, &it);
        }
    }
}

/*
 * check_merge_on -- MongoDB's rule: $merge's `on` fields (other than the
 * default _id) need a unique index on exactly those fields in the target,
 * else 51183 "Cannot find index to verify that join fields will be unique".
 */
static int check_merge_on(agg_env_t *env, const qry_pipeline_t *pl, const char *dflt_db,
                          status_t *st)
{
    size_t n = qry_pipeline_nstages(pl);
    if (n == 0)
        return 0;
    qry_pl_stage_info_t info;
    qry_pipeline_stage_info(pl, n - 1, &info);
    if (info.name == NULL || strcmp(info.name, "$merge") != 0 || info.spec == NULL)
        return 0;
    char db[128], coll[MICAD_NS_MAX + 1], ns[MICAD_NS_MAX + 1];
    bson_t on;
    merge_target(info.spec, dflt_db, db, sizeof(db), coll, sizeof(coll), &on);
    int ret = 0;
    size_t non = bson_count_keys(&on);
    bson_iter_t it;
    if (non == 0 || (non == 1 && bson_iter_init_find(&it, &on, "0") &&
                     strcmp(bson_iter_utf8(&it, NULL), "_id") == 0))
        goto done;
    ST_ERR(micad_db_make_ns(db, coll, ns, st));
    bson_t ixs = BSON_INITIALIZER;
    status_t ignored = STATUS_INIT;
    bool found = false;
    if (stor_list_indexes(env->m->engine, ns, &ixs, &ignored) == 0) {
        bson_iter_t ix;
        bson_iter_init(&ix, &ixs);
        while (!found && bson_iter_next(&ix)) {
            bson_t spec;
            uint32_t len;
            const uint8_t *data;
            if (!BSON_ITER_HOLDS_DOCUMENT(&ix))
                continue;
            bson_iter_document(&ix, &len, &data);
            bson_init_static(&spec, data, len);
            bson_iter_t u, k, kf;
            bool unique = bson_iter_init_find(&u, &spec, "unique") && bson_iter_as_bool(&u);
            bool is_id = bson_iter_init_find(&u, &spec, "name") && BSON_ITER_HOLDS_UTF8(&u) &&
                         strcmp(bson_iter_utf8(&u, NULL), "_id_") == 0;
            if (!(unique || is_id) || bson_iter_init_find(&u, &spec, "partialFilterExpression") ||
                !bson_iter_init_find(&k, &spec, "key") || !BSON_ITER_HOLDS_DOCUMENT(&k))
                continue;
            /* the key's fields must be exactly the `on` set (any order) */
            size_t nk = 0;
            bool all = true;
            bson_iter_recurse(&k, &kf);
            while (bson_iter_next(&kf)) {
                nk++;
                bool in_on = false;
                bson_iter_t o;
                bson_iter_init(&o, &on);
                while (bson_iter_next(&o))
                    if (strcmp(bson_iter_utf8(&o, NULL), bson_iter_key(&kf)) == 0)
                        in_on = true;
                all = all && in_on;
            }
            found = all && nk == non;
        }
    }
    bson_destroy(&ixs);
    if (!found)
        ret = status_set(st, 51183, "Cannot find index to verify that join fields will be unique");
done:
err:
    bson_destroy(&on);
    return ret;
}

/*
 * src_open -- parse pipeline for db.coll, push its leading $match/$sort into
 * the executor, fetch only the fields the rest needs, open the rest, and
 * put the source on env's list (begun at once when a batch is running).
 */
static int src_open(agg_env_t *env, const char *db, const char *coll, const bson_t *pipeline,
                    const bson_t *let, const bson_value_t *hint, bool is_root, agg_src_t **out,
                    status_t *st)
{
    int ret = 0;
    agg_src_t *s = calloc(1, sizeof(*s));
    INVARIANT(s != NULL);
    *out = NULL;
    s->env = env;
    snprintf(s->db, sizeof(s->db), "%s", db);
    if (coll != NULL)
        snprintf(s->coll, sizeof(s->coll), "%s", coll);
    s->let = bson_new();
    if (let != NULL) {
        bson_concat(s->let, let);
        s->has_let = true;
    }
    micad_query_t q;
    micad_query_init(&q);
    qry_pl_pushdown_t pd;
    bool has_pd = false;
    bson_t proj;
    bson_init(&proj);

    ST_ERR(qry_pipeline_parse(pipeline, s->has_let ? s->let : NULL, &s->pl, st));
    if (is_root)
        ST_ERR(check_merge_on(env, s->pl, db, st));
    ST_ERR(qry_pipeline_optimize(s->pl, st));

    if (coll != NULL) {
        ST_ERR(micad_db_make_ns(db, coll, q.ns, st));
        qry_pipeline_pushdown(s->pl, &pd);
        has_pd = true;
        /* the executor evaluates the let too, for $$vars in a pushed-down $expr */
        bool push = pd.nstages > 0;
        if (s->has_let)
            q.let = bson_copy(s->let);
        size_t pushed = 0;
        if (hint != NULL) {
            bson_value_copy(hint, &q.hint);
            q.has_hint = true;
        }
        q.allow_disk_use = env->allow_disk_use;
        if (push) {
            if (pd.has_filter) {
                bson_reinit(&q.filter);
                bson_concat(&q.filter, &pd.filter);
            }
            pushed = pd.nstages;
            if (pd.has_sort) {
                /*
                 * The $sort goes to the planner only when an index gives the
                 * order: a blocking sort stays a pipeline stage, which keeps
                 * to the memory limit and spills under allowDiskUse.
                 */
                bson_concat(&q.sort, &pd.sort);
                q.has_sort = true;
                if (pd.limit > 0)
                    q.limit = pd.limit;
                ST_ERR(micad_exec_create(env->m, env->op, &q, &s->ex, st));
                bool blocking = micad_exec_needs_sort(s->ex);
                micad_exec_destroy(s->ex);
                s->ex = NULL;
                if (blocking) {
                    bson_reinit(&q.sort);
                    q.has_sort = false;
                    q.limit = 0;
                    pushed--;
                }
            }
            qry_pipeline_remove_prefix(s->pl, pushed);
        }
        if (qry_pipeline_nstages(s->pl) > 0 && needs_projection(s->pl, &proj)) {
            bson_concat(&q.projection, &proj);
            q.has_projection = true;
        }
        ST_ERR(micad_exec_create(env->m, env->op, &q, &s->ex, st));
    }

    if (qry_pipeline_nstages(s->pl) > 0 || coll == NULL) {
        qry_pl_ctx_init(&s->ctx);
        s->ctx.db = s->db;
        s->ctx.coll = coll != NULL ? s->coll : NULL;
        s->ctx.let = s->has_let ? s->let : NULL;
        s->ctx.mem_limit = env->mem_limit;
        s->ctx.allow_disk_use = env->allow_disk_use;
        s->ctx.tmp_dir = env->tmp_dir;
        s->ctx.deadline = deadline_cb;
        s->ctx.deadline_arg = env;
        s->ctx.ds = g_ds;
        s->ctx.ds.arg = env;
        qry_doc_source_t src = {exec_source_next, NULL, s};
        ST_ERR(qry_pipeline_open(s->pl, &s->ctx, src, &s->run, st));
    }

    /* on the list, and into the running batch */
    s->next = env->open;
    if (env->open != NULL)
        env->open->prev = s;
    env->open = s;
    if (env->in_batch) {
        ret = src_begin(s, st);
        if (ret != 0) {
            src_destroy(s);
            s = NULL;
            goto done;
        }
    }
    *out = s;
    s = NULL;
    goto done;
err:
    src_destroy(s);
done:
    if (has_pd)
        qry_pl_pushdown_destroy(&pd);
    bson_destroy(&proj);
    micad_query_destroy(&q);
    return ret;
}

/* src_destroy -- off the list, stages closed, executor destroyed. */
static void src_destroy(agg_src_t *s)
{
    if (s == NULL)
        return;
    agg_env_t *env = s->env;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else if (env->open == s)
        env->open = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    qry_pl_exec_destroy(s->run);
    src_end(s);
    micad_exec_destroy(s->ex);
    qry_pipeline_destroy(s->pl);
    bson_destroy(s->let);
    free(s);
}

/* ------------------------------------------------------------------ data-source callbacks */

/* ds_open -- $lookup / $graphLookup / $unionWith / $merge look-ups: a sub-pipeline. */
static int ds_open(void *arg, const char *db, const char *coll, const bson_t *pipeline,
                   const bson_t *let_vars, qry_doc_source_t *out, status_t *st)
{
    agg_env_t *env = arg;
    char ns[MICAD_NS_MAX + 1];
    agg_src_t *s;
    memset(out, 0, sizeof(*out));
    ST_RET(micad_db_make_ns(db, coll, ns, st));
    bson_t empty = BSON_INITIALIZER;
    /* a view: its pipeline (mongod/views.c) runs before the stage's own */
    micad_view_t v;
    bson_t combined = BSON_INITIALIZER;
    ST_RET(micad_view_resolve(env->m, ns, &v, st));
    if (v.is_view) {
        bson_iter_t it;
        uint32_t n = 0;
        bson_iter_init(&it, &v.pipeline);
        while (bson_iter_next(&it)) {
            char buf[16];
            const char *key;
            bson_uint32_to_string(n++, &key, buf, sizeof(buf));
            bson_append_iter(&combined, key, -1, &it);
        }
        if (pipeline != NULL && bson_iter_init(&it, pipeline)) {
            while (bson_iter_next(&it)) {
                char buf[16];
                const char *key;
                bson_uint32_to_string(n++, &key, buf, sizeof(buf));
                bson_append_iter(&combined, key, -1, &it);
            }
        }
        coll = v.backing_coll;
        pipeline = &combined;
    }
    int ret = src_open(env, db, coll, pipeline != NULL ? pipeline : &empty, let_vars, NULL, false,
                       &s, st);
    micad_view_destroy(&v);
    bson_destroy(&combined);
    bson_destroy(&empty);
    if (ret != 0)
        return ret;
    out->next = sub_next;
    out->close = sub_close;
    out->arg = s;
    return 0;
}

/* write_insert -- one document into ns (created on first write), checked and validated. */
static int write_insert(agg_env_t *env, stor_session_t *sess, const char *ns, const bson_t *doc,
                        status_t *st)
{
    stor_collection_t *coll;
    micad_validator_t val = {0};
    bool created;
    bson_t stored, errinfo;
    bool has_errinfo = false, exclusive = false;
    int ret = 0;
    bson_init(&stored);
    micad_db_lock_ns(ns, false);
    ST_ERR(micad_write_get_or_create(env->m, sess, ns, &coll, &created, st));
    if (micad_write_is_capped(coll)) {
        /* capped inserts trim the oldest records: serialised, as the insert command does */
        micad_db_unlock_ns(ns, false);
        micad_db_lock_ns(ns, true);
        exclusive = true;
        ST_ERR(micad_db_get_collection(env->m, ns, &coll, st));
    }
    if (!env->bypass_validation)
        ST_ERR(micad_validator_load(coll, &val, st));
    bson_destroy(&stored);
    ST_ERR(micad_db_prepare_insert(doc, &stored, st));
    ret = micad_validator_check(&val, ns, &stored, NULL, &errinfo, &has_errinfo, st);
    if (has_errinfo)
        bson_destroy(&errinfo);
    if (ret != 0)
        goto err;
    ret = micad_write_insert_one(env->op, sess, coll, &stored, st);
err:
    micad_db_unlock_ns(ns, exclusive);
    micad_validator_destroy(&val);
    bson_destroy(&stored);
    return ret;
}

/* write_replace -- replace the document matching filter by doc ($merge's whenMatched). */
static int write_replace(agg_env_t *env, stor_session_t *sess, const char *ns, const bson_t *filter,
                         const bson_t *doc, status_t *st)
{
    stor_collection_t *coll;
    micad_validator_t val = {0};
    qry_match_t *match = NULL;
    qry_update_t *upd = NULL;
    int64_t *rids = NULL;
    size_t n = 0;
    int ret = 0;
    micad_update_job_t job;
    micad_update_job_init(&job);
    micad_db_lock_ns(ns, false);
    ST_ERR(micad_db_get_collection(env->m, ns, &coll, st));
    if (!env->bypass_validation)
        ST_ERR(micad_validator_load(coll, &val, st));
    ST_ERR(micad_db_check_stored_size(doc, st));
    ST_ERR(qry_match_parse(filter, NULL, &match, st));
    ST_ERR(qry_update_parse(doc, NULL, &upd, st));
    ST_ERR(micad_db_find_rids(env->op, sess, coll, match, NULL, 1, &rids, &n, st));
    if (n == 0)
        goto err; /* removed meanwhile: nothing to replace */
    job.coll = coll;
    job.match = match;
    job.upd = upd;
    job.val = env->bypass_validation ? NULL : &val;
    job.rid = rids[0];
    ST_ERR(micad_update_one(env->op, sess, &job, st));
err:
    micad_db_unlock_ns(ns, false);
    micad_update_job_destroy(&job);
    bson_free(rids);
    qry_update_destroy(upd);
    qry_match_destroy(match);
    micad_validator_destroy(&val);
    return ret;
}

/*
 * out_begin -- $out writes into tmp.agg_out.<id> of the target's database,
 * created with the target's options and indexes so the rename keeps them.
 */
static int out_begin(agg_env_t *env, stor_session_t *sess, const char *db, const char *target,
                     status_t *st)
{
    char tmp[MICAD_NS_MAX + 1], hex[25];
    bson_oid_t oid;
    stor_collection_t *tc = NULL, *c = NULL;
    status_t ignored = STATUS_INIT;
    bson_t ixs = BSON_INITIALIZER;
    int ret = 0;
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, hex);
    snprintf(tmp, sizeof(tmp), "%s.tmp.agg_out.%s", db, hex);
    if (stor_collection_lookup(env->m->engine, target, &tc, &ignored) == 0) {
        const bson_t *o = stor_collection_options(tc);
        bson_iter_t it;
        if (o != NULL && bson_iter_init_find(&it, o, "capped") && bson_iter_as_bool(&it))
            return status_set(st, 17152, "namespace '%s' is capped so it can't be used for $out",
                              target);
    }
    micad_db_lock_ns(tmp, true);
    ST_ERR(micad_write_create_collection(sess, tmp, tc != NULL ? stor_collection_options(tc) : NULL,
                                         &c, st));
    if (tc != NULL && stor_list_indexes(env->m->engine, target, &ixs, &ignored) == 0) {
        bson_iter_t ix;
        bson_iter_init(&ix, &ixs);
        while (bson_iter_next(&ix)) {
            bson_t spec;
            uint32_t len;
            const uint8_t *data;
            bson_iter_t nm;
            if (!BSON_ITER_HOLDS_DOCUMENT(&ix))
                continue;
            bson_iter_document(&ix, &len, &data);
            bson_init_static(&spec, data, len);
            if (bson_iter_init_find(&nm, &spec, "name") && BSON_ITER_HOLDS_UTF8(&nm) &&
                strcmp(bson_iter_utf8(&nm, NULL), "_id_") == 0)
                continue;
            ret = micad_write_create_index(sess, c, &spec, st);
            if (ret == ERR_IndexAlreadyExists) {
                status_reset(st);
                ret = 0;
            }
            if (ret != 0) {
                status_t s2 = STATUS_INIT;
                (void)micad_write_drop_collection(sess, tmp, &s2);
                goto err;
            }
        }
    }
    env->out_active = true;
    snprintf(env->out_target, sizeof(env->out_target), "%s", target);
    snprintf(env->out_tmp, sizeof(env->out_tmp), "%s", tmp);
err:
    micad_db_unlock_ns(tmp, true);
    bson_destroy(&ixs);
    return ret;
}

/* ds_write -- $out and $merge writes through db.c's units of work and locks. */
static int ds_write(void *arg, qry_pl_write_op_t op, const char *db, const char *coll,
                    const bson_t *filter, const bson_t *doc, status_t *st)
{
    agg_env_t *env = arg;
    char ns[MICAD_NS_MAX + 1];
    stor_session_t *sess;
    int ret = 0;
    ST_RET(micad_db_make_ns(db, coll, ns, st));
    ST_RET(micad_db_check_user_write(db, coll, st));
    if (op == QRY_PL_WRITE_OUT_BEGIN || op == QRY_PL_WRITE_INSERT)
        ST_RET(micad_view_refuse(env->m, ns, st)); /* $out/$merge into a view */
    ST_RET(micad_db_session(env->m, &sess, st));
    switch (op) {
    case QRY_PL_WRITE_INSERT:
        if (env->out_active && strcmp(ns, env->out_target) == 0)
            return write_insert(env, sess, env->out_tmp, doc, st);
        return write_insert(env, sess, ns, doc, st);
    case QRY_PL_WRITE_REPLACE:
        if (filter == NULL || doc == NULL)
            return status_set(st, ERR_InternalError, "$merge replace without filter or document");
        return write_replace(env, sess, ns, filter, doc, st);
    case QRY_PL_WRITE_OUT_BEGIN:
        if (env->out_active)
            return status_set(st, ERR_InternalError, "$out already in progress");
        return out_begin(env, sess, db, ns, st);
    case QRY_PL_WRITE_OUT_COMMIT:
        if (!env->out_active)
            return status_set(st, ERR_InternalError, "$out commit without a begin");
        micad_db_lock_ns_pair(env->out_tmp, env->out_target);
        ret = micad_write_rename_collection(sess, env->out_tmp, env->out_target, true, st);
        micad_db_unlock_ns_pair(env->out_tmp, env->out_target);
        if (ret != 0) {
            status_t s2 = STATUS_INIT;
            micad_db_lock_ns(env->out_tmp, true);
            (void)micad_write_drop_collection(sess, env->out_tmp, &s2);
            micad_db_unlock_ns(env->out_tmp, true);
        }
        micad_plan_cache_clear(env->out_target);
        env->out_active = false;
        return ret;
    case QRY_PL_WRITE_OUT_ABORT:
        if (env->out_active) {
            status_t s2 = STATUS_INIT;
            micad_db_lock_ns(env->out_tmp, true);
            (void)micad_write_drop_collection(sess, env->out_tmp, &s2);
            micad_db_unlock_ns(env->out_tmp, true);
            env->out_active = false;
        }
        return 0;
    }
    return status_set(st, ERR_InternalError, "unknown pipeline write");
}

/* arr_src_t -- documents owned by a source ($collStats / $indexStats output). */
typedef struct arr_src {
    bson_t **docs;
    size_t n, pos;
} arr_src_t;

static int arr_next(void *arg, bson_t *out, bool *eof, status_t *st)
{
    arr_src_t *a = arg;
    if (a->pos >= a->n) {
        bson_init(out);
        *eof = true;
        return 0;
    }
    *eof = false;
    bson_copy_to(a->docs[a->pos++], out);
    return 0;
}

static void arr_close(void *arg)
{
    arr_src_t *a = arg;
    for (size_t i = 0; i < a->n; i++)
        bson_destroy(a->docs[i]);
    free(a->docs);
    free(a);
}

static bson_t *arr_push(arr_src_t *a)
{
    bson_t **nd = realloc(a->docs, (a->n + 1) * sizeof(bson_t *));
    INVARIANT(nd != NULL);
    a->docs = nd;
    a->docs[a->n] = bson_new();
    return a->docs[a->n++];
}

/* host_name -- "host:port" as the stats stages report it. */
static void host_name(micad_t *m, char *out, size_t cap)
{
    char h[256];
    if (gethostname(h, sizeof(h)) != 0)
        snprintf(h, sizeof(h), "localhost");
    h[sizeof(h) - 1] = '\0';
    snprintf(out, cap, "%s:%d", h, m && m->opts ? m->opts->port : 27017);
}

/* append_n -- a statistic as int32 when it fits, as MongoDB's appendNumber does. */
static void append_n(bson_t *d, const char *key, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX)
        BSON_APPEND_INT32(d, key, (int32_t)v);
    else
        BSON_APPEND_INT64(d, key, v);
}

/* coll_stats_doc -- $collStats' one document: {ns, host, localTime, storageStats?, count?}. */
static int coll_stats_doc(agg_env_t *env, const char *ns, const bson_t *spec, bson_t *d,
                          status_t *st)
{
    stor_collection_t *coll = NULL;
    status_t ignored = STATUS_INIT;
    char host[300];
    bson_iter_t it;
    bool exists = stor_collection_lookup(env->m->engine, ns, &coll, &ignored) == 0;
    host_name(env->m, host, sizeof(host));
    BSON_APPEND_UTF8(d, "ns", ns);
    BSON_APPEND_UTF8(d, "host", host);
    BSON_APPEND_DATE_TIME(d, "localTime", time_now_ms());
    if (bson_iter_init_find(&it, spec, "latencyStats")) {
        bson_t ls, h;
        BSON_APPEND_DOCUMENT_BEGIN(d, "latencyStats", &ls);
        const char *kinds[] = {"reads", "writes", "commands", "transactions"};
        for (int i = 0; i < 4; i++) {
            BSON_APPEND_DOCUMENT_BEGIN(&ls, kinds[i], &h);
            append_n(&h, "latency", 0);
            append_n(&h, "ops", 0);
            bson_append_document_end(&ls, &h);
        }
        bson_append_document_end(d, &ls);
    }
    bool oplog = repl_enabled() && strcmp(ns, "local.oplog.rs") == 0;
    if (oplog && bson_iter_init_find(&it, spec, "storageStats")) {
        int64_t scale = 1;
        bson_iter_t sc;
        bson_t ss;
        if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &sc) &&
            bson_iter_find(&sc, "scale") &&
            (!bsonu_number_as_int64(bson_iter_value(&sc), &scale) || scale < 1))
            return status_set(st, 51024,
                              "BSON field 'scale' value must be >= 1, actual value '%lld'",
                              (long long)scale);
        BSON_APPEND_DOCUMENT_BEGIN(d, "storageStats", &ss);
        micad_oplog_stats(env->m, scale, &ss);
        bson_append_document_end(d, &ss);
    } else if (bson_iter_init_find(&it, spec, "storageStats")) {
        if (!exists)
            return status_set(st, ERR_NamespaceNotFound,
                              "Unable to retrieve storageStats in $collStats stage :: caused by "
                              ":: Collection [%s] not found.",
                              ns);
        int64_t scale = 1;
        bson_iter_t sc;
        if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &sc) &&
            bson_iter_find(&sc, "scale")) {
            if (!bsonu_number_as_int64(bson_iter_value(&sc), &scale) || scale < 1)
                return status_set(st, 51024,
                                  "BSON field 'scale' value must be >= 1, actual value '%lld'",
                                  (long long)scale);
        }
        int64_t count = stor_collection_count(coll);
        int64_t size = stor_collection_data_size(coll);
        int nix = 0;
        bson_t ss, sizes = BSON_INITIALIZER;
        int64_t total_ix = micad_coll_index_sizes(coll, ns, env->m, scale, &sizes, &nix);
        BSON_APPEND_DOCUMENT_BEGIN(d, "storageStats", &ss);
        append_n(&ss, "size", size / scale);
        append_n(&ss, "count", count);
        if (count > 0)
            append_n(&ss, "avgObjSize", size / count);
        append_n(&ss, "storageSize", stor_collection_storage_size(coll) / scale);
        append_n(&ss, "freeStorageSize", 0);
        BSON_APPEND_BOOL(&ss, "capped", false);
        BSON_APPEND_INT32(&ss, "nindexes", nix);
        append_n(&ss, "totalIndexSize", total_ix / scale);
        append_n(&ss, "totalSize", (stor_collection_storage_size(coll) + total_ix) / scale);
        BSON_APPEND_DOCUMENT(&ss, "indexSizes", &sizes);
        append_n(&ss, "scaleFactor", scale);
        bson_append_document_end(d, &ss);
        bson_destroy(&sizes);
    }
    if (oplog && bson_iter_init_find(&it, spec, "count")) {
        bson_t c;
        BSON_APPEND_DOCUMENT_BEGIN(d, "count", &c);
        append_n(&c, "count", stor_oplog_count(env->m->engine));
        bson_append_document_end(d, &c);
    } else if (bson_iter_init_find(&it, spec, "count")) {
        if (!exists)
            return status_set(st, ERR_NamespaceNotFound,
                              "Unable to retrieve count in $collStats stage :: caused by :: "
                              "Collection [%s] not found.",
                              ns);
        bson_t c;
        BSON_APPEND_DOCUMENT_BEGIN(d, "count", &c);
        append_n(&c, "count", stor_collection_count(coll));
        bson_append_document_end(d, &c);
    }
    if (bson_iter_init_find(&it, spec, "queryExecStats")) {
        bson_t q, cs;
        BSON_APPEND_DOCUMENT_BEGIN(d, "queryExecStats", &q);
        BSON_APPEND_DOCUMENT_BEGIN(&q, "collectionScans", &cs);
        append_n(&cs, "total", 0);
        append_n(&cs, "nonTailable", 0);
        bson_append_document_end(&q, &cs);
        bson_append_document_end(d, &q);
    }
    return 0;
}

/*
 * current_op_source -- $currentOp: {aggregate: 1} on admin only; idleConnections adds
 * connections with nothing running. The rest of the pipeline filters.
 */
static int current_op_source(agg_env_t *env, const char *db, const char *coll, const bson_t *spec,
                             qry_doc_source_t *out, status_t *st)
{
    bson_iter_t it;
    bool idle = false;
    bson_t arr = BSON_INITIALIZER;
    uint32_t n = 0;
    if (coll != NULL || strcmp(db, "admin") != 0)
        return status_set(st, ERR_InvalidNamespace,
                          "$currentOp must be run against the 'admin' database with "
                          "{aggregate: 1}");
    if (spec != NULL && bson_iter_init_find(&it, spec, "idleConnections"))
        idle = bson_iter_as_bool(&it);
    int ret = micad_current_op_docs(env->m, NULL, idle, &arr, &n, st);
    if (ret != 0) {
        bson_destroy(&arr);
        return ret;
    }
    arr_src_t *a = calloc(1, sizeof(*a));
    INVARIANT(a != NULL);
    bson_iter_init(&it, &arr);
    while (bson_iter_next(&it)) {
        const uint8_t *data;
        uint32_t len;
        bson_t d;
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&d, data, len))
            bson_concat(arr_push(a), &d);
    }
    bson_destroy(&arr);
    out->next = arr_next;
    out->close = arr_close;
    out->arg = a;
    return 0;
}

/* ds_stats -- $collStats / $indexStats documents for db.coll. */
static int ds_stats(void *arg, qry_pl_stats_kind_t kind, const char *db, const char *coll,
                    const bson_t *spec, qry_doc_source_t *out, status_t *st)
{
    agg_env_t *env = arg;
    char ns[MICAD_NS_MAX + 1];
    memset(out, 0, sizeof(*out));
    if (kind == QRY_PL_STATS_CURRENT_OP)
        return current_op_source(env, db, coll, spec, out, st);
    if (coll == NULL)
        return status_set(st, ERR_InvalidNamespace,
                          "%s cannot be used in a collectionless aggregation",
                          kind == QRY_PL_STATS_COLL ? "$collStats" : "$indexStats");
    ST_RET(micad_db_make_ns(db, coll, ns, st));
    arr_src_t *a = calloc(1, sizeof(*a));
    INVARIANT(a != NULL);
    int ret = 0;
    if (kind == QRY_PL_STATS_COLL) {
        bson_t empty = BSON_INITIALIZER;
        ret = coll_stats_doc(env, ns, spec != NULL ? spec : &empty, arr_push(a), st);
        bson_destroy(&empty);
    } else {
        bson_t ixs = BSON_INITIALIZER;
        status_t ignored = STATUS_INIT;
        char host[300];
        stor_collection_t *coll_h = NULL;
        host_name(env->m, host, sizeof(host));
        if (stor_list_indexes(env->m->engine, ns, &ixs, &ignored) == 0 &&
            stor_collection_lookup(env->m->engine, ns, &coll_h, &ignored) == 0) {
            bson_iter_t ix;
            bson_iter_init(&ix, &ixs);
            while (bson_iter_next(&ix)) {
                bson_t sp, acc;
                uint32_t len;
                const uint8_t *data;
                bson_iter_t f;
                if (!BSON_ITER_HOLDS_DOCUMENT(&ix))
                    continue;
                bson_iter_document(&ix, &len, &data);
                bson_init_static(&sp, data, len);
                bson_t *d = arr_push(a);
                if (bson_iter_init_find(&f, &sp, "name"))
                    bson_append_iter(d, "name", 4, &f);
                if (bson_iter_init_find(&f, &sp, "key"))
                    bson_append_iter(d, "key", 3, &f);
                BSON_APPEND_UTF8(d, "host", host);
                int64_t ops = 0, since = env->m->start_ms;
                stor_index_t *handle = NULL;
                status_t lst = STATUS_INIT;
                if (bson_iter_init_find(&f, &sp, "name") && BSON_ITER_HOLDS_UTF8(&f) &&
                    stor_index_lookup(coll_h, bson_iter_utf8(&f, NULL), &handle, &lst) == 0)
                    ops = stor_index_accesses(handle, &since);
                BSON_APPEND_DOCUMENT_BEGIN(d, "accesses", &acc);
                BSON_APPEND_INT64(&acc, "ops", ops);
                BSON_APPEND_DATE_TIME(&acc, "since", since);
                bson_append_document_end(d, &acc);
                BSON_APPEND_DOCUMENT(d, "spec", &sp);
            }
        }
        bson_destroy(&ixs);
    }
    if (ret != 0) {
        arr_close(a);
        return ret;
    }
    out->next = arr_next;
    out->close = arr_close;
    out->arg = a;
    return 0;
}

/* ------------------------------------------------------------------ the run */

/* micad_agg_open -- see agg.h. */
int micad_agg_open(const wire_opctx_t *op, const char *db, const char *coll, const bson_t *pipeline,
                   const micad_agg_opts_t *o, micad_agg_t **out, status_t *st)
{
    micad_agg_t *a = calloc(1, sizeof(*a));
    INVARIANT(a != NULL);
    *out = NULL;
    a->env.m = micad_of(op);
    a->env.op = op;
    a->env.deadline_us = op->deadline_us;
    a->env.allow_disk_use = o->allow_disk_use;
    a->env.bypass_validation = o->bypass_validation;
    a->env.mem_limit = micad_agg_max_memory();
    tmp_dir(a->env.m, a->env.tmp_dir, sizeof(a->env.tmp_dir));
    int ret = src_open(&a->env, db, coll, pipeline, o->let, o->has_hint ? &o->hint : NULL, true,
                       &a->root, st);
    if (ret != 0) {
        micad_agg_destroy(a);
        return ret;
    }
    *out = a;
    return 0;
}

/* micad_agg_next -- see agg.h. */
int micad_agg_next(micad_agg_t *a, int64_t deadline_us, bson_t *out, bool *eof, status_t *st)
{
    a->env.deadline_us = deadline_us;
    int ret = src_pull(a->root, out, eof, st);
    if (ret != 0 || *eof) {
        bson_destroy(out);
        if (ret == 0)
            bson_init(out);
    }
    return ret;
}

/* micad_agg_detach -- see agg.h. */
void micad_agg_detach(micad_agg_t *a)
{
    a->env.op = NULL;
}

/* micad_agg_destroy -- see agg.h. */
void micad_agg_destroy(micad_agg_t *a)
{
    if (a == NULL)
        return;
    src_destroy(a->root);
    while (a->env.open != NULL) /* sub-sources a failed stage did not close */
        src_destroy(a->env.open);
    if (a->env.out_active) {
        stor_session_t *sess;
        status_t s2 = STATUS_INIT;
        if (micad_db_session(a->env.m, &sess, &s2) == 0) {
            micad_db_lock_ns(a->env.out_tmp, true);
            (void)micad_write_drop_collection(sess, a->env.out_tmp, &s2);
            micad_db_unlock_ns(a->env.out_tmp, true);
        }
    }
    free(a);
}

/* ext_* -- the run as a micad_exec_t for the cursor manager. */
static int ext_begin(void *arg, status_t *st)
{
    return micad_agg_begin_batch(arg, st);
}

static void ext_end(void *arg)
{
    micad_agg_end_batch(arg);
}

static int ext_next(void *arg, int64_t deadline_us, bson_t *out, bool *eof, status_t *st)
{
    bson_t d;
    int ret = micad_agg_next(arg, deadline_us, &d, eof, st);
    if (ret != 0 || *eof) {
        bson_destroy(&d);
        return ret;
    }
    bson_steal(out, &d);
    return 0;
}

static void ext_destroy(void *arg)
{
    micad_agg_destroy(arg);
}

/* micad_agg_to_exec -- see agg.h. */
void micad_agg_to_exec(micad_agg_t *a, const char *ns, micad_exec_t **out)
{
    micad_exec_ext_t ext = {ext_begin, ext_end, ext_next, ext_destroy, a};
    micad_exec_create_ext(a->env.m, ns, &ext, out);
}

/* ------------------------------------------------------------------ explain */

/* micad_agg_explain -- see agg.h. */
void micad_agg_explain(micad_agg_t *a, int verbosity, int64_t elapsed_ms, bson_t *reply)
{
    agg_src_t *s = a->root;
    if (s->run == NULL && s->ex != NULL) {
        micad_exec_explain(s->ex, verbosity, NULL, elapsed_ms, reply);
        return;
    }
    bson_t stages, rest = BSON_INITIALIZER;
    uint32_t i = 0;
    char ib[16];
    const char *ik;
    BSON_APPEND_ARRAY_BEGIN(reply, "stages", &stages);
    if (s->ex != NULL) {
        bson_t c, cur;
        bson_uint32_to_string(i++, &ik, ib, sizeof(ib));
        BSON_APPEND_DOCUMENT_BEGIN(&stages, ik, &c);
        BSON_APPEND_DOCUMENT_BEGIN(&c, "$cursor", &cur);
        micad_exec_explain(s->ex, verbosity, NULL, elapsed_ms, &cur);
        bson_append_document_end(&c, &cur);
        bson_append_document_end(&stages, &c);
    }
    qry_pipeline_serialize(s->pl, &rest, "stages");
    bson_iter_t it, el;
    if (bson_iter_init_find(&it, &rest, "stages") && bson_iter_recurse(&it, &el)) {
        while (bson_iter_next(&el)) {
            bson_uint32_to_string(i++, &ik, ib, sizeof(ib));
            bson_append_iter(&stages, ik, -1, &el);
        }
    }
    bson_append_array_end(reply, &stages);
    bson_destroy(&rest);
}

/* ------------------------------------------------------------------ pipeline-style updates */

/* A pipeline update: the stages and the `c` constants they may read as $$name. */
struct micad_upd_pipeline {
    qry_pipeline_t *pl;
    bson_t *let; /* {name: {$literal: value}} */
    bool has_let;
};

/* The stages MongoDB allows in an update pipeline. */
static const char *const g_update_stages[] = {"$addFields", "$set",         "$project",
                                              "$unset",     "$replaceRoot", "$replaceWith"};

/* micad_agg_update_parse -- see agg.h. */
int micad_agg_update_parse(const bson_t *pipeline, const bson_t *constants,
                           const bson_t *let_values, micad_upd_pipeline_t **out, status_t *st)
{
    bson_iter_t it, stage;
    *out = NULL;
    bson_iter_init(&it, pipeline);
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return status_set(st, ERR_TypeMismatch,
                              "Each element of the 'pipeline' array must be an object");
        if (!bson_iter_recurse(&it, &stage) || !bson_iter_next(&stage))
            return status_set(st, 40323,
                              "A pipeline stage specification object must contain exactly one "
                              "field.");
        const char *name = bson_iter_key(&stage);
        bool ok = false;
        for (size_t i = 0; i < sizeof(g_update_stages) / sizeof(g_update_stages[0]); i++)
            ok = ok || strcmp(name, g_update_stages[i]) == 0;
        if (!ok)
            return status_set(st, ERR_InvalidOptions,
                              "%s is not allowed to be used within an update", name);
    }
    micad_upd_pipeline_t *u = calloc(1, sizeof(*u));
    INVARIANT(u != NULL);
    u->let = bson_new();
    const bson_t *srcs[2] = {constants, let_values};
    for (int k = 0; k < 2; k++) {
        bson_iter_t c, dup;
        if (srcs[k] == NULL || !bson_iter_init(&c, srcs[k]))
            continue;
        while (bson_iter_next(&c)) {
            if (k == 1 && constants != NULL &&
                bson_iter_init_find(&dup, constants, bson_iter_key(&c)))
                continue;
            bson_t lit;
            BSON_APPEND_DOCUMENT_BEGIN(u->let, bson_iter_key(&c), &lit);
            bson_append_iter(&lit, "$literal", 8, &c);
            bson_append_document_end(u->let, &lit);
            u->has_let = true;
        }
    }
    int ret = qry_pipeline_parse(pipeline, u->has_let ? u->let : NULL, &u->pl, st);
    if (ret != 0) {
        micad_agg_update_destroy(u);
        return ret;
    }
    *out = u;
    return 0;
}

/* micad_agg_update_destroy -- see agg.h. */
void micad_agg_update_destroy(micad_upd_pipeline_t *u)
{
    if (u == NULL)
        return;
    qry_pipeline_destroy(u->pl);
    bson_destroy(u->let);
    free(u);
}

/* micad_agg_update_transform -- the write path calls pipeline updates through this. */
int micad_agg_update_transform(const void *arg, const bson_t *doc, qry_update_result_t *res,
                               status_t *st)
{
    return micad_agg_update_apply(arg, doc, res, st);
}

/* micad_agg_update_apply -- see agg.h. */
int micad_agg_update_apply(const micad_upd_pipeline_t *u, const bson_t *doc,
                           qry_update_result_t *res, status_t *st)
{
    qry_pl_ctx_t ctx;
    qry_pl_exec_t *ex = NULL;
    const bson_t *docs[1] = {doc};
    bson_t r;
    bool eof = false;
    int ret = 0;
    memset(res, 0, sizeof(*res));
    bson_init(&res->doc);
    qry_pl_ctx_init(&ctx);
    ctx.let = u->has_let ? u->let : NULL;
    ST_RET(qry_pipeline_open(u->pl, &ctx, qry_pl_source_array(docs, 1), &ex, st));
    ret = qry_pl_exec_next(ex, &r, &eof, st);
    if (ret == 0 && eof)
        ret = status_set(st, ERR_InternalError, "the update pipeline produced no document");
    if (ret == 0) {
        /* _id stays: kept when the pipeline dropped it, an error when it changed it */
        bson_iter_t oid, nid;
        bool had = bson_iter_init_find(&oid, doc, "_id");
        bool has = bson_iter_init_find(&nid, &r, "_id");
        if (had && has && !bsonu_equal_iter(&oid, &nid)) {
            ret = status_set(st, ERR_ImmutableField,
                             "Performing an update on the path '_id' would modify the immutable "
                             "field '_id'");
        } else {
            if (had && !has)
                bson_append_iter(&res->doc, "_id", 3, &oid);
            else if (has)
                bson_append_iter(&res->doc, "_id", 3, &nid);
            bson_iter_t f;
            bson_iter_init(&f, &r);
            while (bson_iter_next(&f))
                if (strcmp(bson_iter_key(&f), "_id") != 0)
                    bson_append_iter(&res->doc, NULL, 0, &f);
            res->changed = !(res->doc.len == doc->len &&
                             memcmp(bson_get_data(&res->doc), bson_get_data(doc), doc->len) == 0);
        }
    }
    bson_destroy(&r);
    qry_pl_exec_destroy(ex);
    return ret;
}

/* ------------------------------------------------------------------ a write command's let */

/* A command's `let`, evaluated once: the matcher's $expr sees the values as $$name. */
struct micad_let {
    qry_expr_ctx_t *ctx;
    qry_expr_scope_t *scope;
    bson_t *values; /* {name: value}: for update pipelines */
};

/* micad_let_open -- see agg.h. */
int micad_let_open(const bson_t *let, micad_let_t **out, status_t *st)
{
    micad_let_t *l = calloc(1, sizeof(*l));
    INVARIANT(l != NULL);
    *out = NULL;
    l->ctx = qry_expr_ctx_new();
    l->scope = qry_expr_scope_new();
    l->values = bson_new();
    int ret = 0;
    bson_iter_t it;
    if (let != NULL && bson_iter_init(&it, let)) {
        while (ret == 0 && bson_iter_next(&it)) {
            qry_expr_t *e = NULL;
            bson_value_t v;
            int slot;
            /* each value may use the variables before it, and $$NOW */
            ret = qry_expr_parse_iter(&it, l->scope, &e, st);
            if (ret == 0)
                ret = qry_expr_eval(e, l->ctx, NULL, &v, st);
            if (ret == 0)
                ret = qry_expr_scope_define(l->scope, bson_iter_key(&it), &slot, st);
            if (ret == 0)
                ret = qry_expr_ctx_set_var(l->ctx, slot, &v, st);
            if (ret == 0)
                qry_expr_append(l->values, bson_iter_key(&it), -1, &v);
            qry_expr_destroy(e);
        }
    }
    qry_expr_ctx_reset(l->ctx);
    if (ret != 0) {
        micad_let_destroy(l);
        return ret;
    }
    qry_expr_ctx_set_scope(l->ctx, l->scope);
    *out = l;
    return 0;
}

/* micad_let_hooks -- see agg.h. */
qry_match_hooks_t micad_let_hooks(const micad_let_t *l)
{
    return qry_expr_match_hooks(l != NULL ? l->ctx : NULL);
}

/* micad_let_values -- see agg.h. */
const bson_t *micad_let_values(const micad_let_t *l)
{
    return l != NULL ? l->values : NULL;
}

/* micad_let_destroy -- see agg.h. */
void micad_let_destroy(micad_let_t *l)
{
    if (l == NULL)
        return;
    qry_expr_ctx_destroy(l->ctx);
    qry_expr_scope_destroy(l->scope);
    bson_destroy(l->values);
    free(l);
}
