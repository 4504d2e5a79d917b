/*
 * options.c -- mongod-compatible start-up options: the command line
 * (`--port 27017`, `--port=27017`, `-f file`, `-vv`) and the YAML config file
 * (`net.port: 27017`), with the command line winning over the file.
 *
 * Every option is one row of opt_table: its command-line name, its YAML path,
 * its type and where it lands in opts_t. Parsing, --help text and the
 * getCmdLineOpts `parsed` document are all generated from that table, so adding
 * an option is adding a row. The parser is a pure function of argv and the
 * config file (no exit, no printing) so micas can reuse it.
 */
#include "common/common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef enum opt_type {
    OPT_INT,     /* an integer within [min, max] */
    OPT_STRING,  /* any string */
    OPT_FLAG,    /* on the command line takes no value; in YAML a boolean */
    OPT_BOOL,    /* takes true/false everywhere */
    OPT_DOUBLE,  /* a number within [min, max] (fractions allowed) */
    OPT_VERBOSE, /* -v, -vv, ...: a level; in YAML systemLog.verbosity: int */
    OPT_PARAM    /* --setParameter name=value (repeatable); YAML setParameter: {name: value} */
} opt_type_t;

typedef struct opt_spec {
    const char *name;  /* command-line long name without "--" (NULL: YAML only) */
    const char *alias; /* another long name or a one-letter short name */
    const char *yaml;  /* dotted YAML path (NULL: command line only) */
    opt_type_t type;
    size_t off; /* offset of the field in opts_t */
    int min, max;
    const char *help;
    /*
     * not_yet -- Mica parses the option but does not carry it out yet: giving
     * it refuses to start (exit 2) with a message naming it, rather than
     * starting without what the operator asked for. The issue that implements
     * an option clears its flag.
     */
    bool not_yet;
} opt_spec_t;

#define NOT_YET  true /* the last field of a row: see opt_spec_t.not_yet */
#define NO_FIELD 0    /* the offset of a row that has no field in opts_t (yet) */

#define F(field) offsetof(opts_t, field)

/*
 * opt_table -- the options. mongod spells them this way; an operator's config
 * file for mongod should load unchanged as long as it only uses what Mica
 * implements (anything else is rejected rather than silently ignored).
 */
static const opt_spec_t opt_table[] = {
    {"config", "f", NULL, OPT_STRING, F(config_path), 0, 0, "configuration file (YAML)"},
    {"help", "h", NULL, OPT_FLAG, F(help), 0, 0, "show this usage information"},
    {"version", NULL, NULL, OPT_FLAG, F(version), 0, 0, "show version information"},
    {"verbose", "v", "systemLog.verbosity", OPT_VERBOSE, F(verbosity), 0, 5,
     "more verbose logging (-v, -vv, ... or --verbose=N)"},
    {"quiet", NULL, "systemLog.quiet", OPT_FLAG, F(quiet), 0, 0, "quieter output"},
    {"port", NULL, "net.port", OPT_INT, F(port), 0, 65535, "port to listen on (27017)"},
    {"bind_ip", NULL, "net.bindIp", OPT_STRING, F(bind_ip), 0, 0,
     "comma-separated addresses to listen on (127.0.0.1)"},
    {"bind_ip_all", NULL, "net.bindIpAll", OPT_FLAG, F(bind_ip_all), 0, 0,
     "listen on all IPv4 addresses"},
    {"maxConns", NULL, "net.maxIncomingConnections", OPT_INT, F(max_conns), 1, INT_MAX,
     "maximum number of simultaneous connections (1000000)"},
    {"logpath", NULL, "systemLog.path", OPT_STRING, F(logpath), 0, 0,
     "log file to send write to instead of stdout"},
    {"logappend", NULL, "systemLog.logAppend", OPT_FLAG, F(logappend), 0, 0,
     "append to the log file instead of overwriting it"},
    {NULL, NULL, "systemLog.destination", OPT_STRING, F(log_dest), 0, 0, "\"file\""},
    {"dbpath", NULL, "storage.dbPath", OPT_STRING, F(dbpath), 0, 0,
     "directory for datafiles (/data/db)"},
    {NULL, NULL, "storage.journal.enabled", OPT_BOOL, F(journal), 0, 0,
     "true only: the journal is always on"},
    {NULL, NULL, "storage.journal.commitIntervalMs", OPT_INT, F(commit_interval_ms), 1, 500,
     "milliseconds between journal flushes (100)"},
    {"wiredTigerCacheSizeGB", NULL, "storage.wiredTiger.engineConfig.cacheSizeGB", OPT_DOUBLE,
     F(cache_size_gb), 0, 10000,
     "WiredTiger cache size in GB, 0.25 to 10000 (50% of (RAM - 1 GB), at least 0.25)"},
    {"wiredTigerJournalCompressor", NULL, "storage.wiredTiger.engineConfig.journalCompressor",
     OPT_STRING, F(journal_compressor), 0, 0, "journal compressor: snappy (default), zlib, none"},
    {"wiredTigerCollectionBlockCompressor", NULL,
     "storage.wiredTiger.collectionConfig.blockCompressor", OPT_STRING, F(block_compressor), 0, 0,
     "collection block compressor: snappy (default), zlib, none"},
    {"storageEngine", NULL, "storage.engine", OPT_STRING, F(engine), 0, 0,
     "storage engine (wiredTiger)"},
    {"slowms", NULL, "operationProfiling.slowOpThresholdMs", OPT_INT, F(slowms), INT_MIN, INT_MAX,
     "operations slower than this many ms are logged (100)"},
    {"replSet", NULL, "replication.replSetName", OPT_STRING, F(repl_set), 0, 0, "replica set name"},
    {"oplogSize", NULL, "replication.oplogSizeMB", OPT_INT, F(oplog_size_mb), 1, 1024 * 1024,
     "size to use (in MB) for replication op log (default: 192 MB here)"},
    {NULL, NULL, "sharding.clusterRole", OPT_STRING, F(cluster_role), 0, 0, "shardsvr or configsvr",
     NOT_YET},
    {"keyFile", NULL, "security.keyFile", OPT_STRING, F(key_file), 0, 0,
     "private key for cluster authentication"},
    {"auth", NULL, NULL, OPT_FLAG, F(auth), 0, 0,
     "run with access control (security.authorization: enabled)"},
    {NULL, NULL, "security.authorization", OPT_STRING, F(authorization), 0, 0,
     "\"enabled\" or \"disabled\" (access control)"},
    {"clusterAuthMode", NULL, "security.clusterAuthMode", OPT_STRING, F(cluster_auth_mode), 0, 0,
     "authentication between members: keyFile or x509"},
    {"tlsMode", NULL, "net.tls.mode", OPT_STRING, F(tls_mode), 0, 0,
     "disabled, allowTLS, preferTLS or requireTLS"},
    {"tlsCertificateKeyFile", NULL, "net.tls.certificateKeyFile", OPT_STRING,
     F(tls_certificate_key_file), 0, 0, "PEM file with the server's certificate and key"},
    {"tlsCAFile", NULL, "net.tls.CAFile", OPT_STRING, F(tls_ca_file), 0, 0,
     "certificate authority file, to verify client certificates"},
    {"tlsAllowInvalidCertificates", NULL, "net.tls.allowInvalidCertificates", OPT_FLAG,
     F(tls_allow_invalid_certificates), 0, 0, "accept client certificates that fail validation"},
    {"tlsAllowConnectionsWithoutCertificates", NULL, "net.tls.allowConnectionsWithoutCertificates",
     OPT_FLAG, F(tls_allow_no_certificates), 0, 0, "clients need not present a certificate"},
    {"tlsClusterFile", NULL, "net.tls.clusterFile", OPT_STRING, F(tls_cluster_file), 0, 0,
     "PEM this member presents when it connects to other members (tlsCertificateKeyFile)"},
    {"tlsClusterCAFile", NULL, "net.tls.clusterCAFile", OPT_STRING, F(tls_cluster_ca_file), 0, 0,
     "CA file that verifies the certificates of incoming connections (needs tlsCAFile)"},
    {"tlsAllowInvalidHostnames", NULL, "net.tls.allowInvalidHostnames", OPT_FLAG,
     F(tls_allow_invalid_hostnames), 0, 0,
     "do not check the host names in other members' certificates"},
    {"pidfilepath", NULL, "processManagement.pidFilePath", OPT_STRING, F(pid_file), 0, 0,
     "file to write the process id to"},
    {"fork", NULL, "processManagement.fork", OPT_FLAG, F(fork), 0, 0,
     "fork server process (needs --logpath); the parent exits 0 once the server listens"},
    {"metricsPort", NULL, "metrics.port", OPT_INT, F(metrics_port), 0, 65535,
     "serve Prometheus /metrics over HTTP on this port (0: off, the default)"},
    {"metricsBindIp", NULL, "metrics.bindIp", OPT_STRING, F(metrics_bind_ip), 0, 0,
     "address the /metrics listener binds to (127.0.0.1)"},
    /* --shardsvr / --configsvr are spelled as flags that set sharding.clusterRole. */
    {"setParameter", NULL, NULL, OPT_PARAM, 0, 0, 0, "set a server parameter: name=value"},
    {"shardsvr", NULL, NULL, OPT_FLAG, 0, 0, 0, "member of a shard (clusterRole: shardsvr)",
     NOT_YET},
    {"configsvr", NULL, NULL, OPT_FLAG, 0, 0, 0,
     "member of the config servers (clusterRole: configsvr)", NOT_YET},
};

#define OPT_COUNT (sizeof(opt_table) / sizeof(opt_table[0]))

/* opts_init -- defaults, as mongod's. */
void opts_init(opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->port = 27017;
    o->max_conns = 1000000;
    o->slowms = 100;
    o->journal = true;
    o->commit_interval_ms = 100;
    {
        static const int64_t defaults[OPTS_PARAM_COUNT] = {
#define PARAM(name, kind, def, min, max, at, help) def,
#include "common/parameters.def"
#undef PARAM
        };
        memcpy(o->params, defaults, sizeof(defaults));
    }
    bson_init(&o->argv);
    bson_init(&o->parsed);
}

/* opts_destroy -- free what opts_t owns. */
void opts_destroy(opts_t *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < OPT_COUNT; i++) {
        if (opt_table[i].type == OPT_STRING && opt_table[i].off != NO_FIELD) {
            char **p = (char **)((char *)o + opt_table[i].off);
            bson_free(*p);
            *p = NULL;
        }
    }
    for (int i = 0; i < OPTS_PARAM_COUNT; i++) {
        bson_free(o->param_text[i]);
        o->param_text[i] = NULL;
    }
    bson_destroy(&o->argv);
    bson_destroy(&o->parsed);
}

static int find_yaml(const char *path);

/* parse_int -- a whole decimal integer within [min, max]. */
static bool parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

/* parse_bool -- YAML and command-line spellings of a boolean. */
static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "1", "yes", "on"};
    static const char *const no[] = {"false", "False", "FALSE", "0", "no", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* param_table -- the server parameters, generated from common/parameters.def. */
static const struct {
    const char *name;
    opts_param_kind_t kind;
    int64_t def, min, max;
    int at;
} param_table[OPTS_PARAM_COUNT] = {
#define PARAM(name, kind, def, min, max, at, help)                                                 \
    {#name, OPTS_PK_##kind, def, min, max, OPTS_AT_##at},
#include "common/parameters.def"
#undef PARAM
};

/* The process-wide values: published at start-up, changed by setParameter; lock-free. */
static int64_t param_values[OPTS_PARAM_COUNT] = {
#define PARAM(name, kind, def, min, max, at, help) def,
#include "common/parameters.def"
#undef PARAM
};

/* opts_param_name -- a parameter's name. */
const char *opts_param_name(opts_param_id_t id)
{
    return (unsigned)id < OPTS_PARAM_COUNT ? param_table[id].name : "";
}

/* opts_param_lookup -- the id of a parameter name, or -1. */
int opts_param_lookup(const char *name)
{
    for (int i = 0; i < OPTS_PARAM_COUNT; i++)
        if (strcmp(param_table[i].name, name) == 0)
            return i;
    return -1;
}

/* opts_params_publish -- make o's parameters the process-wide values. */
void opts_params_publish(const opts_t *o)
{
    for (int i = 0; i < OPTS_PARAM_COUNT; i++)
        __atomic_store_n(&param_values[i], o->params[i], __ATOMIC_RELAXED);
}

/* opts_param -- the process-wide value of a parameter. */
int64_t opts_param(opts_param_id_t id)
{
    INVARIANT((unsigned)id < OPTS_PARAM_COUNT);
    return __atomic_load_n(&param_values[id], __ATOMIC_RELAXED);
}

/* opts_param_store -- see common.h. */
void opts_param_store(opts_param_id_t id, int64_t v)
{
    INVARIANT((unsigned)id < OPTS_PARAM_COUNT);
    __atomic_store_n(&param_values[id], v, __ATOMIC_RELAXED);
}

/* opts_param_kind -- see common.h. */
opts_param_kind_t opts_param_kind(opts_param_id_t id)
{
    INVARIANT((unsigned)id < OPTS_PARAM_COUNT);
    return param_table[id].kind;
}

/* opts_param_settable -- see common.h. */
int opts_param_settable(opts_param_id_t id)
{
    INVARIANT((unsigned)id < OPTS_PARAM_COUNT);
    return param_table[id].at;
}

/* opts_param_range -- see common.h. */
void opts_param_range(opts_param_id_t id, int64_t *min, int64_t *max)
{
    INVARIANT((unsigned)id < OPTS_PARAM_COUNT);
    *min = param_table[id].min;
    *max = param_table[id].max;
}

/* param_apply -- set parameter `name` from its text value; errors as mongod words them. */
static int param_apply(opts_t *o, const char *name, size_t name_len, const char *value,
                       status_t *st)
{
    char key[128];
    char *end;
    long long v;
    int id;

    if (name_len == 0 || name_len >= sizeof(key))
        return status_set(st, ERR_BadValue, "Illegal --setParameter parameter: \"%.*s\"",
                          (int)name_len, name);
    memcpy(key, name, name_len);
    key[name_len] = '\0';
    id = opts_param_lookup(key);
    if (id < 0)
        return status_set(st, ERR_BadValue, "Unknown --setParameter '%s'", key);
    if (!(param_table[id].at & OPTS_AT_STARTUP))
        return status_set(st, ERR_BadValue, "Cannot use --setParameter to set \"%s\" at startup",
                          key);
    switch (param_table[id].kind) {
    case OPTS_PK_BOOL: {
        bool b;
        if (!parse_bool(value, &b))
            return status_set(st, ERR_BadValue,
                              "Bad value for parameter \"%s\": '%s' (true or false)", key, value);
        v = b ? 1 : 0;
        break;
    }
    case OPTS_PK_INT:
        errno = 0;
        v = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno != 0 || v < param_table[id].min ||
            v > param_table[id].max)
            return status_set(st, ERR_BadValue,
                              "Bad value for parameter \"%s\": '%s' (an integer in [%lld, %lld])",
                              key, value, (long long)param_table[id].min,
                              (long long)param_table[id].max);
        break;
    default:
        v = 0; /* CUSTOM: mongod/parameters.c checks and applies the text at start-up */
        break;
    }
    o->params[id] = v;
    o->params_set |= 1ull << id;
    bson_free(o->param_text[id]);
    o->param_text[id] = bson_strdup(value);
    return 0;
}

/*
 * opt_apply -- store value (a string as typed) into the option's field.
 * `shown` is how the caller names the option in a message ("--port" or
 * "net.port").
 */
static int opt_apply(opts_t *o, size_t idx, const char *value, const char *shown, status_t *st)
{
    const opt_spec_t *sp = &opt_table[idx];
    void *field = (char *)o + sp->off;

    if (sp->not_yet)
        return status_set(st, ERR_BadValue,
                          "%s is not implemented yet in Mica: refusing to start rather than run "
                          "without it",
                          shown);
    switch (sp->type) {
    case OPT_INT:
    case OPT_VERBOSE: {
        int v;
        if (!parse_int(value, sp->min, sp->max, &v))
            return status_set(st, ERR_BadValue, "the argument ('%s') for option '%s' is invalid",
                              value, shown);
        *(int *)field = v;
        break;
    }
    case OPT_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        /* the cache floor is mongod's: 0.25 GB */
        if (*value == '\0' || *end != '\0' || errno != 0 || !(v >= 0.25 && v <= sp->max))
            return status_set(st, ERR_BadValue,
                              "the argument ('%s') for option '%s' is invalid: a number from "
                              "0.25 to %d",
                              value, shown, sp->max);
        *(double *)field = v;
        break;
    }
    case OPT_STRING:
        if (*value == '\0')
            return status_set(st, ERR_BadValue, "the argument for option '%s' must not be empty",
                              shown);
        bson_free(*(char **)field);
        *(char **)field = bson_strdup(value);
        break;
    case OPT_PARAM: {
        const char *eq = strchr(value, '=');
        if (eq == NULL)
            return status_set(st, ERR_BadValue,
                              "Illegal option assignment: \"%s\" (expected name=value)", value);
        return param_apply(o, value, (size_t)(eq - value), eq + 1, st);
    }
    case OPT_FLAG:
    case OPT_BOOL: {
        bool v;
        if (!parse_bool(value, &v))
            return status_set(st, ERR_BadValue, "the argument ('%s') for option '%s' is invalid",
                              value, shown);
        /* --shardsvr / --configsvr have no field of their own: they set the role. */
        if (sp->yaml == NULL && sp->off == 0) {
            if (v) {
                bson_free(o->cluster_role);
                o->cluster_role = bson_strdup(sp->name);
                o->set_mask |= 1ull << find_yaml("sharding.clusterRole");
            }
            return 0;
        }
        *(bool *)field = v;
        break;
    }
    }
    o->set_mask |= 1ull << idx;
    return 0;
}

/* find_long -- the table row for a command-line name (long or alias). */
static int find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const opt_spec_t *sp = &opt_table[i];
        if (sp->name != NULL && strlen(sp->name) == len && strncmp(sp->name, name, len) == 0)
            return (int)i;
        if (sp->alias != NULL && strlen(sp->alias) > 1 && strlen(sp->alias) == len &&
            strncmp(sp->alias, name, len) == 0)
            return (int)i;
    }
    return -1;
}

/* find_short -- the table row for a one-letter option. */
static int find_short(char c)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const char *a = opt_table[i].alias;
        if (a != NULL && a[0] == c && a[1] == '\0')
            return (int)i;
    }
    return -1;
}

/* find_yaml -- the table row for a dotted YAML path. */
static int find_yaml(const char *path)
{
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (opt_table[i].yaml != NULL && strcmp(opt_table[i].yaml, path) == 0)
            return (int)i;
    return -1;
}

/* A command-line option recognised in the first pass, applied in the second. */
typedef struct cl_item {
    int idx;
    const char *value; /* points into argv, or a literal */
    char shown[64];
} cl_item_t;

/*
 * scan_argv -- recognise every option and its value without applying any, so
 * that --config can be found first and the file applied under the command line.
 */
static int scan_argv(int argc, char *const *argv, cl_item_t *items, int *n_items, status_t *st)
{
    int n = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int idx;
        const char *value = NULL;

        if (a[0] != '-' || a[1] == '\0')
            return status_set(st, ERR_BadValue,
                              "Error parsing command line: too many positional options have "
                              "been specified on the command line");
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            idx = find_long(name, len);
            if (idx < 0)
                return status_set(st, ERR_BadValue,
                                  "Error parsing command line: unrecognised option '%.*s'",
                                  (int)(len + 2), a);
            if (eq != NULL)
                value = eq + 1;
        } else {
            /* -v, -vv, -vvv: the count of v's is the level. */
            if (a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
                idx = find_short('v');
                static const char *const levels[] = {"0", "1", "2", "3", "4", "5"};
                size_t lvl = strlen(a + 1);
                if (lvl > 5)
                    return status_set(st, ERR_BadValue,
                                      "Error parsing command line: too much verbosity '%s'", a);
                value = levels[lvl];
            } else {
                idx = a[2] == '\0' ? find_short(a[1]) : -1;
                if (idx < 0)
                    return status_set(st, ERR_BadValue,
                                      "Error parsing command line: unrecognised option '%s'", a);
            }
        }
        const opt_spec_t *sp = &opt_table[idx];
        if (value == NULL) {
            if (sp->type == OPT_FLAG)
                value = "true";
            else if (sp->type == OPT_VERBOSE)
                value = "1";
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return status_set(st, ERR_BadValue,
                                  "Error parsing command line: the required argument for option "
                                  "'--%s' is missing",
                                  sp->name);
        }
        items[n].idx = idx;
        items[n].value = value;
        (void)snprintf(items[n].shown, sizeof(items[n].shown), "--%s", sp->name);
        n++;
    }
    *n_items = n;
    return 0;
}

/* yaml_walk -- apply every scalar under node, named by its dotted path. */
static int yaml_walk(opts_t *o, yaml_document_t *doc, yaml_node_t *node, const char *prefix,
                     status_t *st)
{
    if (node->type != YAML_MAPPING_NODE)
        return status_set(st, ERR_BadValue,
                          "Error parsing YAML config file: '%s' must be a mapping",
                          *prefix ? prefix : "the document");
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        char path[256];
        if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
            return status_set(st, ERR_BadValue, "Error parsing YAML config file: bad key");
        if (snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
                     (const char *)k->data.scalar.value) >= (int)sizeof(path))
            return status_set(st, ERR_BadValue, "Error parsing YAML config file: key too long");
        if (v->type == YAML_MAPPING_NODE && strcmp(path, "setParameter") == 0) {
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
                 q++) {
                yaml_node_t *pk = yaml_document_get_node(doc, q->key);
                yaml_node_t *pv = yaml_document_get_node(doc, q->value);
                if (pk == NULL || pv == NULL || pk->type != YAML_SCALAR_NODE ||
                    pv->type != YAML_SCALAR_NODE)
                    return status_set(st, ERR_BadValue,
                                      "Error parsing YAML config file: setParameter values must "
                                      "be scalars");
                const char *pname = (const char *)pk->data.scalar.value;
                ST_RET(
                    param_apply(o, pname, strlen(pname), (const char *)pv->data.scalar.value, st));
            }
            continue;
        }
        if (v->type == YAML_MAPPING_NODE) {
            ST_RET(yaml_walk(o, doc, v, path, st));
            continue;
        }
        int idx = find_yaml(path);
        if (idx < 0)
            return status_set(st, ERR_BadValue, "Unrecognized option: %s", path);
        if (v->type != YAML_SCALAR_NODE)
            return status_set(st, ERR_BadValue,
                              "Error parsing YAML config file: '%s' must be a single value", path);
        ST_RET(opt_apply(o, (size_t)idx, (const char *)v->data.scalar.value, path, st));
    }
    return 0;
}

/* opts_load_yaml -- apply a YAML config text. */
int opts_load_yaml(opts_t *o, const char *text, size_t len, status_t *st)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    int ret = 0;

    if (!yaml_parser_initialize(&parser))
        return status_set(st, ERR_InternalError, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        ret = status_set(st, ERR_BadValue, "Error parsing YAML config file: %s at line %zu",
                         parser.problem ? parser.problem : "syntax error",
                         parser.problem_mark.line + 1);
        yaml_parser_delete(&parser);
        return ret;
    }
    root = yaml_document_get_root_node(&doc);
    if (root != NULL) /* an empty file sets nothing */
        ret = yaml_walk(o, &doc, root, "", st);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return ret;
}

/* read_file -- the whole config file into a NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *len, status_t *st)
{
    FILE *f = fopen(path, "rb");
    bson_string_t *s;
    char chunk[4096];
    size_t n;

    if (f == NULL)
        return status_set(st, ERR_BadValue, "Error reading config file: %s", strerror(errno));
    s = bson_string_new(NULL);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (s->len + n > 16 * 1024 * 1024) {
            fclose(f);
            bson_string_free(s, true);
            return status_set(st, ERR_BadValue, "Error reading config file: too large");
        }
        bson_string_append_printf(s, "%.*s", (int)n, chunk);
    }
    fclose(f);
    *len = s->len;
    *out = bson_string_free(s, false);
    return 0;
}

/* section_len -- the length of the first component of a dotted path. */
static size_t section_len(const char *path)
{
    const char *dot = strchr(path, '.');
    return dot ? (size_t)(dot - path) : strlen(path);
}

/* append_value -- one set option into the `parsed` document. */
static void append_value(bson_t *doc, const char *key, const opts_t *o, const opt_spec_t *sp)
{
    const void *field = (const char *)o + sp->off;
    switch (sp->type) {
    case OPT_INT:
    case OPT_VERBOSE:
        BSON_APPEND_INT32(doc, key, *(const int *)field);
        break;
    case OPT_STRING:
        BSON_APPEND_UTF8(doc, key, *(char *const *)field);
        break;
    case OPT_FLAG:
    case OPT_BOOL:
        BSON_APPEND_BOOL(doc, key, *(const bool *)field);
        break;
    case OPT_DOUBLE:
        BSON_APPEND_DOUBLE(doc, key, *(const double *)field);
        break;
    case OPT_PARAM: /* reported by build_parsed as its own section */
        break;
    }
}

/*
 * append_section -- the set options under `prefix` (e.g. "storage") as a
 * nested document, recursing for deeper paths (storage.journal.enabled).
 */
static void append_section(bson_t *parent, const opts_t *o, const char *prefix, size_t plen,
                           const char *key, size_t klen)
{
    bson_t sub;
    bool open = false;
    char done[OPT_COUNT][64];
    size_t n_done = 0;

    for (size_t i = 0; i < OPT_COUNT; i++) {
        const char *y = opt_table[i].yaml;
        if (y == NULL || !(o->set_mask & (1ull << i)) || strncmp(y, prefix, plen) != 0 ||
            y[plen] != '.')
            continue;
        const char *rest = y + plen + 1;
        size_t rl = section_len(rest);
        if (!open) {
            bson_append_document_begin(parent, key, (int)klen, &sub);
            open = true;
        }
        if (rest[rl] == '\0') {
            append_value(&sub, rest, o, &opt_table[i]);
            continue;
        }
        /* a deeper level: emit it once, when first seen */
        bool seen = false;
        for (size_t j = 0; j < n_done; j++)
            if (strlen(done[j]) == rl && strncmp(done[j], rest, rl) == 0)
                seen = true;
        if (seen || rl >= sizeof(done[0]))
            continue;
        (void)snprintf(done[n_done++], sizeof(done[0]), "%.*s", (int)rl, rest);
        append_section(&sub, o, y, plen + 1 + rl, rest, rl);
    }
    if (open)
        bson_append_document_end(parent, &sub);
}

/* build_parsed -- the getCmdLineOpts `parsed` document from what was set. */
static void build_parsed(opts_t *o)
{
    char done[OPT_COUNT][64];
    size_t n_done = 0;

    bson_reinit(&o->parsed);
    if (o->config_path != NULL)
        BSON_APPEND_UTF8(&o->parsed, "config", o->config_path);
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const char *y = opt_table[i].yaml;
        bool seen = false;
        if (y == NULL || !(o->set_mask & (1ull << i)))
            continue;
        size_t sl = section_len(y);
        for (size_t j = 0; j < n_done; j++)
            if (strlen(done[j]) == sl && strncmp(done[j], y, sl) == 0)
                seen = true;
        if (seen)
            continue;
        (void)snprintf(done[n_done++], sizeof(done[0]), "%.*s", (int)sl, y);
        append_section(&o->parsed, o, y, sl, y, sl);
    }
    if (o->params_set != 0) {
        /* mongod reports setParameter values as the strings it was given. */
        bson_t sub;
        BSON_APPEND_DOCUMENT_BEGIN(&o->parsed, "setParameter", &sub);
        for (int i = 0; i < OPTS_PARAM_COUNT; i++) {
            if ((o->params_set & (1ull << i)) && o->param_text[i] != NULL)
                BSON_APPEND_UTF8(&sub, param_table[i].name, o->param_text[i]);
        }
        bson_append_document_end(&o->parsed, &sub);
    }
}

/* check_compressor -- one of the names mongod knows (whether this build has it is storage's). */
static int check_compressor(const char *v, const char *opt, status_t *st)
{
    static const char *const names[] = {"snappy", "zlib", "zstd", "none"};
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(v, names[i]) == 0)
            return 0;
    return status_set(st, ERR_BadValue,
                      "the argument ('%s') for option '%s' is invalid: snappy, zlib, zstd or none",
                      v, opt);
}

/* opts_parse -- the command line and its config file; command line wins. */
int opts_parse(opts_t *o, int argc, char *const *argv, status_t *st)
{
    cl_item_t *items;
    int n_items = 0, ret = 0;
    char *text = NULL;
    size_t len = 0;

    _Static_assert(OPT_COUNT <= 64, "set_mask holds one bit per option");
    bson_reinit(&o->argv);
    for (int i = 0; i < argc; i++) {
        char key[16];
        const char *k;
        bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
        bson_append_utf8(&o->argv, k, -1, argv[i], -1);
    }
    items = bson_malloc0(sizeof(*items) * (size_t)(argc > 0 ? argc : 1));
    ST_ERR(scan_argv(argc, argv, items, &n_items, st));
    /* The file first, then the command line over it. */
    for (int i = 0; i < n_items; i++) {
        if (opt_table[items[i].idx].off == F(config_path) &&
            opt_table[items[i].idx].type == OPT_STRING)
            ST_ERR(opt_apply(o, (size_t)items[i].idx, items[i].value, items[i].shown, st));
    }
    if (o->config_path != NULL) {
        ST_ERR(read_file(o->config_path, &text, &len, st));
        ST_ERR(opts_load_yaml(o, text, len, st));
    }
    for (int i = 0; i < n_items; i++)
        ST_ERR(opt_apply(o, (size_t)items[i].idx, items[i].value, items[i].shown, st));
    if (o->log_dest != NULL && strcmp(o->log_dest, "file") != 0)
        ST_ERR(status_set(st, ERR_BadValue,
                          "systemLog.destination: only \"file\" is supported, not \"%s\"",
                          o->log_dest));
    if (o->log_dest != NULL && o->logpath == NULL)
        ST_ERR(status_set(st, ERR_BadValue,
                          "systemLog.path is required if systemLog.destination is to a file"));
    if (!o->journal)
        ST_ERR(status_set(st, ERR_BadValue,
                          "storage.journal.enabled: false is not supported: Mica always keeps "
                          "the journal"));
    ST_ERR(check_compressor(o->journal_compressor, "wiredTigerJournalCompressor", st));
    ST_ERR(check_compressor(o->block_compressor, "wiredTigerCollectionBlockCompressor", st));
    if (o->engine != NULL && strcmp(o->engine, "wiredTiger") != 0)
        ST_ERR(status_set(st, ERR_BadValue, "unsupported storage engine: %s", o->engine));
    if (o->bind_ip != NULL && o->bind_ip_all)
        ST_ERR(status_set(st, ERR_BadValue,
                          "Error parsing command line: bind_ip and bind_ip_all are exclusive"));
    if (o->fork && o->logpath == NULL)
        ST_ERR(status_set(st, ERR_BadValue, "--fork has to be used with --logpath or --syslog"));
    if (o->cluster_role != NULL && strcmp(o->cluster_role, "shardsvr") != 0 &&
        strcmp(o->cluster_role, "configsvr") != 0)
        ST_ERR(status_set(st, ERR_BadValue, "sharding.clusterRole must be shardsvr or configsvr"));
    if (o->auth) { /* --auth is reported as mongod does: security.authorization: enabled */
        bson_free(o->authorization);
        o->authorization = bson_strdup("enabled");
        o->set_mask |= 1ull << find_yaml("security.authorization");
    }
    if (o->authorization != NULL && strcmp(o->authorization, "enabled") != 0 &&
        strcmp(o->authorization, "disabled") != 0)
        ST_ERR(status_set(st, ERR_BadValue,
                          "security.authorization must be \"enabled\" or \"disabled\", not \"%s\"",
                          o->authorization));
    if (o->tls_mode != NULL && strcmp(o->tls_mode, "disabled") != 0 &&
        strcmp(o->tls_mode, "allowTLS") != 0 && strcmp(o->tls_mode, "preferTLS") != 0 &&
        strcmp(o->tls_mode, "requireTLS") != 0)
        ST_ERR(status_set(st, ERR_BadValue, "Invalid value for tlsMode: %s", o->tls_mode));
    if (o->tls_mode != NULL && strcmp(o->tls_mode, "disabled") != 0 &&
        o->tls_certificate_key_file == NULL)
        ST_ERR(status_set(st, ERR_BadValue,
                          "need tlsCertificateKeyFile or certificateSelector when TLS is enabled"));
    if (o->tls_cluster_ca_file != NULL && o->tls_ca_file == NULL)
        ST_ERR(status_set(st, ERR_BadValue,
                          "Specifying a tlsClusterCAFile requires a tlsCAFile also be specified"));
    if (o->cluster_auth_mode != NULL && strcmp(o->cluster_auth_mode, "keyFile") != 0 &&
        strcmp(o->cluster_auth_mode, "x509") != 0)
        ST_ERR(status_set(st, ERR_BadValue,
                          "security.clusterAuthMode \"%s\" is not supported (keyFile or x509)",
                          o->cluster_auth_mode));
    if (o->cluster_auth_mode != NULL && strcmp(o->cluster_auth_mode, "x509") == 0 &&
        (o->tls_mode == NULL ||
         (strcmp(o->tls_mode, "preferTLS") != 0 && strcmp(o->tls_mode, "requireTLS") != 0)))
        ST_ERR(status_set(st, ERR_BadValue,
                          "security.clusterAuthMode x509 requires TLS between the members "
                          "(net.tls.mode preferTLS or requireTLS)"));
    if (o->cluster_auth_mode != NULL && strcmp(o->cluster_auth_mode, "keyFile") == 0 &&
        o->key_file == NULL)
        ST_ERR(status_set(st, ERR_BadValue,
                          "security.clusterAuthMode keyFile requires "
                          "security.keyFile"));
    build_parsed(o);
err:
    bson_free(text);
    bson_free(items);
    return ret;
}

/* opts_help -- the usage text, from the table. */
void opts_help(bson_string_t *out, const char *prog)
{
    bson_string_append_printf(out, "Usage: %s [options]\n\nOptions:\n", prog);
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const opt_spec_t *sp = &opt_table[i];
        char left[64];
        if (sp->name == NULL)
            continue;
        if (sp->alias != NULL && sp->alias[1] == '\0')
            (void)snprintf(left, sizeof(left), "-%s [ --%s ]%s", sp->alias, sp->name,
                           sp->type == OPT_FLAG ? "" : " arg");
        else
            (void)snprintf(left, sizeof(left), "--%s%s", sp->name,
                           sp->type == OPT_FLAG || sp->type == OPT_VERBOSE ? "" : " arg");
        bson_string_append_printf(out, "  %-28s %s%s\n", left, sp->help,
                                  sp->not_yet ? " (not implemented yet: refused)" : "");
    }
    bson_string_append(out, "\nConfiguration file keys (YAML):\n");
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (opt_table[i].yaml != NULL)
            bson_string_append_printf(out, "  %s\n", opt_table[i].yaml);
}
