/*
 * create_indexes.c -- {createIndexes: "c", indexes: [{key, name, unique,
 * sparse, partialFilterExpression, expireAfterSeconds, hidden, collation}]}:
 * build indexes online, as MongoDB's hybrid builds (storage/README.md "Index
 * builds"): the namespace is held exclusively only to register the build and,
 * at the end, for the last drain of the side writes and the commit; the
 * collection scan and the drains before run while writers go on. Every spec
 * of one command is one build (one scan; all commit or none). Creates the
 * collection if needed. Reply {numIndexesBefore, numIndexesAfter,
 * createdCollectionAutomatically, note?}. Conflicts come from storage with
 * MongoDB's codes: IndexOptionsConflict 85, IndexKeySpecsConflict 86; an
 * identical existing index is not an error ("all indexes already exist").
 */
#include "mongod/db.h"
#include "mongod/views.h"
#include "mongod/write.h"
#include "mongod/ops.h"
#include "mongod/repl/repl.h"

#include <string.h>
#include <time.h>

/* gen_name -- MongoDB's default name: "a_1_b_-1", "t_text". */
static void gen_name(const bson_t *key, bson_string_t *out)
{
    bson_iter_t it;
    bool first = true;
    bson_iter_init(&it, key);
    while (bson_iter_next(&it)) {
        if (!first)
            bson_string_append(out, "_");
        first = false;
        bson_string_append(out, bson_iter_key(&it));
        bson_string_append(out, "_");
        if (BSON_ITER_HOLDS_UTF8(&it)) {
            bson_string_append(out, bson_iter_utf8(&it, NULL));
        } else {
            double d = 0;
            (void)bsonu_number_as_double(bson_iter_value(&it), &d);
            if (d == (double)(int64_t)d)
                bson_string_append_printf(out, "%lld", (long long)d);
            else
                bson_string_append_printf(out, "%g", d);
        }
    }
}

/* is_id_pattern -- {_id: 1}: the key pattern of the _id index (MongoDB's isIdIndexPattern). */
static bool is_id_pattern(const bson_t *key)
{
    bson_iter_t it;
    double d = 0;
    return bson_iter_init(&it, key) && bson_iter_next(&it) &&
           strcmp(bson_iter_key(&it), "_id") == 0 &&
           bsonu_number_as_double(bson_iter_value(&it), &d) && d == 1.0 && !bson_iter_next(&it);
}

/*
 * check_id_index -- the _id index takes no options but key, name, ns, v,
 * collation (and the dropped background/dropDups); the name "_id_" belongs to
 * it alone (jstests/core/index/index_id_options.js).
 */
static int check_id_index(const bson_t *in, const bson_t *key, bool id_index, status_t *st)
{
    bson_iter_t it;
    if (!id_index) {
        if (bson_iter_init_find(&it, in, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
            strcmp(bson_iter_utf8(&it, NULL), "_id_") == 0) {
            char *json = bson_as_relaxed_extended_json(key, NULL);
            status_set(st, ERR_BadValue,
                       "The index name '_id_' is reserved for the _id index, which must have key "
                       "pattern {_id: 1}, found key: %s",
                       json ? json : "");
            bson_free(json);
            return st->code;
        }
        return 0;
    }
    bson_iter_init(&it, in);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "key") != 0 && strcmp(k, "name") != 0 && strcmp(k, "ns") != 0 &&
            strcmp(k, "v") != 0 && strcmp(k, "collation") != 0 && strcmp(k, "background") != 0 &&
            strcmp(k, "dropDups") != 0) {
            char *json = bson_as_relaxed_extended_json(in, NULL);
            status_set(st, ERR_InvalidIndexSpecificationOption,
                       "The field '%s' is not valid for an _id index specification. "
                       "Specification: %s",
                       k, json ? json : "");
            bson_free(json);
            return st->code;
        }
    }
    return 0;
}

/* check_spec -- validate one spec and produce what storage gets (v: 2, key, name, ...). */
static int check_spec(const bson_t *in, bson_t *spec, status_t *st)
{
    static const char *const known[] = {"key",
                                        "name",
                                        "unique",
                                        "sparse",
                                        "partialFilterExpression",
                                        "expireAfterSeconds",
                                        "hidden",
                                        "background",
                                        "v",
                                        "ns",
                                        "collation",
                                        "storageEngine",
                                        "weights",
                                        "default_language",
                                        "language_override",
                                        "textIndexVersion",
                                        "2dsphereIndexVersion",
                                        "bits",
                                        "min",
                                        "max",
                                        "bucketSize",
                                        "wildcardProjection",
                                        "dropDups",
                                        NULL};
    bson_iter_t it;
    bson_t key;
    bool has_key = false, has_name = false;
    bson_init(spec);
    BSON_APPEND_INT32(spec, "v", 2);
    if (!bson_iter_init(&it, in))
        return status_set(st, ERR_InvalidBSON, "malformed index specification");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok = ok || strcmp(k, known[i]) == 0;
        if (!ok) {
            char *json = bson_as_relaxed_extended_json(in, NULL);
            status_set(st, ERR_InvalidIndexSpecificationOption,
                       "The field '%s' is not valid for an index specification. Specification: %s",
                       k, json ? json : "");
            bson_free(json);
            return st->code;
        }
        if (strcmp(k, "key") == 0) {
            ST_RET(micad_db_arg_doc(&it, "createIndexes.indexes", &key, st));
            if (bson_empty(&key))
                return status_set(st, ERR_CannotCreateIndex, "Index keys cannot be empty.");
            ST_RET(micad_index_key_validate(&key, st));
            has_key = true;
        } else if (strcmp(k, "name") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return micad_db_type_error(&it, "createIndexes.indexes", "string", st);
            if (bson_iter_utf8(&it, NULL)[0] == '\0')
                return status_set(st, ERR_CannotCreateIndex, "index name cannot be empty");
            has_name = true;
        } else if (strcmp(k, "collation") == 0) {
            ST_RET(micad_db_check_collation(&it, st));
        } else if (strcmp(k, "partialFilterExpression") == 0) {
            bson_t f;
            qry_match_t *m = NULL;
            ST_RET(micad_db_arg_doc(&it, "createIndexes.indexes", &f, st));
            ST_RET(qry_match_parse(&f, NULL, &m, st));
            qry_match_destroy(m);
        } else if (strcmp(k, "expireAfterSeconds") == 0) {
            if (!bsonu_is_number(bson_iter_type(&it)))
                return status_set(st, ERR_CannotCreateIndex,
                                  "TTL index 'expireAfterSeconds' option must be numeric");
        } else if (strcmp(k, "dropDups") == 0) {
            /* obsolete since 3.0: MongoDB 7.0 drops it from the spec with a warning */
            LOG(WARNING, INDEX, 21549, "Ignoring obsolete index option", "option",
                BCON_UTF8("dropDups"));
        } else if (strcmp(k, "v") == 0 || strcmp(k, "ns") == 0 || strcmp(k, "background") == 0) {
            continue; /* v is always 2; ns and background are legacy and dropped */
        }
    }
    if (!has_key)
        return status_set(st, ERR_FailedToParse,
                          "The 'key' field is a required property of an index specification");
    ST_RET(micad_index_wildcard_check_spec(in, &key, st));
    bool id_index = is_id_pattern(&key);
    ST_RET(check_id_index(in, &key, id_index, st));
    bson_iter_init_find(&it, in, "key");
    bson_append_iter(spec, "key", 3, &it);
    if (id_index) {
        BSON_APPEND_UTF8(spec, "name", "_id_"); /* MongoDB corrects the _id index's name */
    } else if (has_name) {
        bson_iter_init_find(&it, in, "name");
        bson_append_iter(spec, "name", 4, &it);
    } else {
        bson_string_t *name = bson_string_new(NULL);
        gen_name(&key, name);
        BSON_APPEND_UTF8(spec, "name", name->str);
        bson_string_free(name, true);
    }
    bson_iter_init(&it, in);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "key") != 0 && strcmp(k, "name") != 0 && strcmp(k, "v") != 0 &&
            strcmp(k, "ns") != 0 && strcmp(k, "background") != 0 && strcmp(k, "collation") != 0 &&
            strcmp(k, "dropDups") != 0)
            bson_append_iter(spec, k, -1, &it);
    }
    return 0;
}

/* count_indexes -- how many indexes ns has now. */
static int count_indexes(micad_t *m, const char *ns)
{
    bson_t list;
    status_t ignored = STATUS_INIT;
    int n = 0;
    if (stor_list_indexes(m->engine, ns, &list, &ignored) == 0) {
        n = (int)bson_count_keys(&list);
        bson_destroy(&list);
    }
    return n;
}

/*
 * MongoDB's limit of indexes per collection (_id's included). A 65th index
 * answers CannotCreateIndex; asking again for an existing one is still fine.
 */
#define MICAD_MAX_INDEXES 64

/*
 * Drains without the lock before the final one under it: each drains what writers committed
 * meanwhile, so under a steady load the backlog shrinks to what arrives during one drain. A
 * drain that leaves fewer than MICAD_BUILD_DRAIN_CAUGHT_UP entries (one storage batch) means
 * the last drain, under the exclusive hold, is one batch long; the round limit bounds the
 * build under a write load faster than the drain, where the hold absorbs the rest.
 */
#define MICAD_BUILD_DRAIN_ROUNDS    10
#define MICAD_BUILD_DRAIN_CAUGHT_UP 1000

/* count_builds -- indexes of ns being built now (they count towards the limit, as MongoDB's). */
static int count_builds(micad_t *m, const char *ns)
{
    bson_t list;
    status_t ignored = STATUS_INIT;
    int n = 0;
    if (stor_list_index_builds(m->engine, ns, &list, &ignored) == 0)
        n = (int)bson_count_keys(&list);
    bson_destroy(&list);
    return n;
}

/* check_index_limit -- CannotCreateIndex when spec would be a 65th index on ns (ahead: the
 * specs before it in this command). */
static int check_index_limit(micad_t *m, stor_collection_t *coll, const char *ns,
                             const bson_t *spec, int ahead, status_t *st)
{
    bson_iter_t it;
    stor_index_t *idx = NULL;
    status_t ignored = STATUS_INIT;
    if (count_indexes(m, ns) + count_builds(m, ns) + ahead < MICAD_MAX_INDEXES)
        return 0;
    if (bson_iter_init_find(&it, spec, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
        stor_index_lookup(coll, bson_iter_utf8(&it, NULL), &idx, &ignored) == 0)
        return 0; /* exists: storage answers it as before */
    char *key = NULL;
    if (bson_iter_init_find(&it, spec, "key") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_t k;
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&k, data, len))
            key = bson_as_relaxed_extended_json(&k, NULL);
    }
    status_set(st, ERR_CannotCreateIndex, "add index fails, too many indexes for %s key:%s", ns,
               key ? key : "{}");
    bson_free(key);
    return st->code;
}

/* micad_cmd_create_indexes -- see the file comment. */
static int create_indexes_run(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    ST_RET(micad_view_refuse_cmd(op, cmd, st));
    micad_t *m = micad_of(op);
    char ns[MICAD_NS_MAX + 1], db[128];
    const char *cname;
    micad_wc_t wc;
    stor_session_t *sess;
    stor_collection_t *coll;
    bson_iter_t it, ix;
    bool created = false, locked = false;
    int before = 0, ret = 0, nspecs = 0, nparsed = 0;
    bson_t *specs = NULL;
    stor_index_build_t *build = NULL;

    ST_RET(micad_db_cmd_ns(op, cmd, ns, st));
    ST_RET(micad_db_split_ns(ns, db, &cname, st));
    ST_RET(micad_db_check_user_write(db, cname, st));
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "indexes") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&it))
                return micad_db_type_error(&it, "createIndexes", "array", st);
        } else if (strcmp(k, "commitQuorum") == 0) {
            /* MongoDB answers these for a build that is not two-phase; ours are
             * single-phase (one createIndexes oplog entry at commit), so no quorum
             * of members can gate the commit. */
            if (!repl_enabled())
                return status_set(st, ERR_BadValue, "Standalones can't specify commitQuorum");
            return status_set(st, ERR_BadValue,
                              "commitQuorum is supported only for two phase index builds with "
                              "commit quorum support enabled ");
        } else if (strcmp(k, "ignoreUnknownIndexOptions") != 0 &&
                   strcmp(k, "isTimeseriesNamespace") != 0 && !micad_db_is_generic_arg(k)) {
            return micad_db_unknown_field("createIndexes", k, st);
        }
    }
    if (!bson_iter_init_find(&it, cmd, "indexes"))
        return status_set(st, 40414,
                          "BSON field 'createIndexes.indexes' is missing but a required field");
    bson_iter_recurse(&it, &ix);
    {
        bson_iter_t c = ix;
        while (bson_iter_next(&c)) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&c))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'createIndexes.indexes.%s' is the wrong type '%s', "
                                  "expected type 'object'",
                                  bson_iter_key(&c), micad_db_bson_type_name(bson_iter_type(&c)));
            nspecs++;
            /* key patterns first: a refused one creates no collection either */
            bson_iter_t spec_it, key_it;
            if (bson_iter_recurse(&c, &spec_it) && bson_iter_find(&spec_it, "key") &&
                BSON_ITER_HOLDS_DOCUMENT(&spec_it) && bson_iter_recurse(&spec_it, &key_it)) {
                uint32_t klen;
                const uint8_t *kdata;
                bson_t key;
                bson_iter_document(&spec_it, &klen, &kdata);
                if (bson_init_static(&key, kdata, klen))
                    ST_RET(micad_index_key_validate(&key, st));
            }
        }
    }
    if (nspecs == 0)
        return status_set(st, ERR_BadValue, "Must specify at least one index to create");
    ST_RET(micad_db_write_concern(op, &wc, st));
    ST_RET(micad_db_session(m, &sess, st));

    micad_db_lock_ns(ns, true);
    locked = true;
    ST_ERR(micad_write_get_or_create(m, sess, ns, &coll, &created, st));
    before = created ? 1 : count_indexes(m, ns);
    specs = bson_malloc0((size_t)nspecs * sizeof(*specs));
    while (bson_iter_next(&ix)) {
        bson_t in;
        ST_ERR(micad_db_arg_doc(&ix, "createIndexes", &in, st));
        ret = check_spec(&in, &specs[nparsed], st);
        nparsed++;
        if (ret == 0)
            ret = check_index_limit(m, coll, ns, &specs[nparsed - 1], nparsed - 1, st);
        if (ret != 0)
            goto err;
    }
    /* an identical index being built by another createIndexes: wait for it, then again */
    while ((ret = stor_index_build_start(sess, coll, specs, (size_t)nparsed, &build, st)) ==
           ERR_IndexBuildAlreadyInProgress) {
        status_reset(st);
        micad_db_unlock_ns(ns, true);
        locked = false;
        wire_curop_set_progress("Index Build: waiting for a build of the same index", 0, 0);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ST_ERR(micad_db_check_deadline(op, st));
        micad_db_lock_ns(ns, true);
        locked = true;
        ST_ERR(micad_db_get_collection(m, ns, &coll, st));
    }
    if (ret != 0)
        goto err;
    if (build != NULL) {
        /* writers go on from here: they record their key changes in the build's side table */
        micad_db_unlock_ns(ns, true);
        locked = false;
        ST_ERR(stor_index_build_scan(sess, build, st));
        /* drain while writers run until a drain catches up, so the exclusive hold is short */
        int64_t applied = 0;
        for (int round = 0; round < MICAD_BUILD_DRAIN_ROUNDS; round++) {
            ST_ERR(stor_index_build_drain(sess, build, &applied, st));
            if (stor_index_build_pending(build) < MICAD_BUILD_DRAIN_CAUGHT_UP)
                break;
        }
        ST_ERR(FP_PAUSE(hangIndexBuildBeforeCommit, ns, 0, st));
        micad_db_lock_ns(ns, true);
        locked = true;
        ST_ERR(stor_index_build_commit(sess, build, st));
        for (size_t i = 0; i < stor_index_build_count(build); i++)
            ST_ERR(micad_write_index_built(sess, coll, stor_index_build_index(build, i), st));
    }
    micad_db_unlock_ns(ns, true);
    locked = false;
    stor_index_build_release(sess, build, st);
    build = NULL;
    int after = count_indexes(m, ns);
    BSON_APPEND_INT32(reply, "numIndexesBefore", before);
    BSON_APPEND_INT32(reply, "numIndexesAfter", after);
    if (after == before)
        BSON_APPEND_UTF8(reply, "note", "all indexes already exist");
    BSON_APPEND_BOOL(reply, "createdCollectionAutomatically", created);
    micad_db_finish_write(sess, &wc, reply);
err:
    if (locked)
        micad_db_unlock_ns(ns, true);
    if (build != NULL)
        stor_index_build_release(sess, build, st); /* aborted: its tables go, nothing is left */
    for (int i = 0; i < nparsed; i++)
        bson_destroy(&specs[i]);
    bson_free(specs);
    micad_db_dup_key_reply(op, ret, st);
    return ret;
}

/* micad_cmd_create_indexes -- the command inside a write slot: an fsync lock holds it out. */
MICAD_CATALOG_CMD(micad_cmd_create_indexes, create_indexes_run)
