/*
 * test_options.c -- command-line and YAML option parsing (common/options.c):
 * good and bad command lines, config files, precedence, and the
 * getCmdLineOpts `parsed` document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

/* split -- a command line into argv (space-separated, no quoting). */
static int split(char *line, char **argv, int max)
{
    int n = 0;
    argv[n++] = "micad";
    for (char *tok = strtok(line, " "); tok != NULL && n < max; tok = strtok(NULL, " "))
        argv[n++] = tok;
    return n;
}

/* parse_line -- parse one command line into o; returns the status code. */
static int parse_line(const char *line, opts_t *o, status_t *st)
{
    char buf[512];
    char *argv[32];
    int argc;
    (void)snprintf(buf, sizeof(buf), "%s", line);
    argc = split(buf, argv, 32);
    opts_init(o);
    return opts_parse(o, argc, argv, st);
}

/* ---- command lines that parse ---- */

typedef struct good_case {
    const char *line;
    int port;
    const char *bind_ip;
    const char *dbpath;
    int max_conns;
    int slowms;
    int verbosity;
    bool quiet, logappend, bind_ip_all, help, version;
} good_case_t;

static const good_case_t good_cases[] = {
    {"", 27017, NULL, NULL, 1000000, 100, 0, false, false, false, false, false},
    {"--port 28000", 28000, NULL, NULL, 1000000, 100, 0},
    {"--port=28001", 28001, NULL, NULL, 1000000, 100, 0},
    {"--bind_ip 127.0.0.1,::1", 27017, "127.0.0.1,::1", NULL, 1000000, 100, 0},
    {"--bind_ip_all", 27017, NULL, NULL, 1000000, 100, 0, false, false, true},
    {"--dbpath /tmp/x --logappend", 27017, NULL, "/tmp/x", 1000000, 100, 0, false, true},
    {"--maxConns 5 --slowms -1", 27017, NULL, NULL, 5, -1, 0},
    {"-v", 27017, NULL, NULL, 1000000, 100, 1},
    {"-vvv", 27017, NULL, NULL, 1000000, 100, 3},
    {"--verbose=2", 27017, NULL, NULL, 1000000, 100, 2},
    {"--quiet", 27017, NULL, NULL, 1000000, 100, 0, true},
    {"--help", 27017, NULL, NULL, 1000000, 100, 0, false, false, false, true},
    {"-h", 27017, NULL, NULL, 1000000, 100, 0, false, false, false, true},
    {"--version", 27017, NULL, NULL, 1000000, 100, 0, false, false, false, false, true},
    {"--port 1 --port 2", 2, NULL, NULL, 1000000, 100, 0},
};

static void test_good_command_lines(void **state)
{
    for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const good_case_t *c = &good_cases[i];
        opts_t o;
        status_t st = STATUS_INIT;
        int rc = parse_line(c->line, &o, &st);
        if (rc != 0)
            fail_msg("'%s' failed: %s", c->line, st.msg);
        assert_int_equal(o.port, c->port);
        if (c->bind_ip)
            assert_string_equal(o.bind_ip, c->bind_ip);
        else
            assert_null(o.bind_ip);
        if (c->dbpath)
            assert_string_equal(o.dbpath, c->dbpath);
        assert_int_equal(o.max_conns, c->max_conns);
        assert_int_equal(o.slowms, c->slowms);
        assert_int_equal(o.verbosity, c->verbosity);
        assert_int_equal(o.quiet, c->quiet);
        assert_int_equal(o.logappend, c->logappend);
        assert_int_equal(o.bind_ip_all, c->bind_ip_all);
        assert_int_equal(o.help, c->help);
        assert_int_equal(o.version, c->version);
        opts_destroy(&o);
    }
}

/* ---- command lines that are rejected, with the message's telling part ---- */

typedef struct bad_case {
    const char *line;
    const char *msg_part;
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {"--nosuch", "unrecognised option '--nosuch'"},
    {"--nosuch=3", "unrecognised option '--nosuch'"},
    {"-x", "unrecognised option '-x'"},
    {"--port", "required argument for option '--port' is missing"},
    {"--port abc", "the argument ('abc') for option '--port' is invalid"},
    {"--port 70000", "the argument ('70000') for option '--port' is invalid"},
    {"--port 12x", "the argument ('12x') for option '--port' is invalid"},
    {"--maxConns 0", "for option '--maxConns' is invalid"},
    {"--dbpath=", "must not be empty"},
    {"--quiet=maybe", "for option '--quiet' is invalid"},
    {"stray", "too many positional options"},
    {"--bind_ip 1.2.3.4 --bind_ip_all", "exclusive"},
    {"--config /nonexistent/mica.yaml", "Error reading config file"},
    {"--storageEngine inMemory", "unsupported storage engine"},
    {"-vvvvvvv", "verbosity"},
};

static void test_bad_command_lines_are_rejected(void **state)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        opts_t o;
        status_t st = STATUS_INIT;
        int rc = parse_line(bad_cases[i].line, &o, &st);
        if (rc == 0)
            fail_msg("'%s' was accepted", bad_cases[i].line);
        assert_int_equal(rc, ERR_BadValue);
        if (strstr(st.msg, bad_cases[i].msg_part) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", bad_cases[i].line, st.msg,
                     bad_cases[i].msg_part);
        opts_destroy(&o);
    }
}

/* ---- YAML texts ---- */

typedef struct yaml_case {
    const char *name;
    const char *text;
    int code; /* 0 or the expected error */
    int port;
    const char *bind_ip;
    const char *dbpath;
    int slowms;
} yaml_case_t;

static const yaml_case_t yaml_cases[] = {
    {"empty file sets nothing", "", 0, 27017, NULL, NULL, 100},
    {"net and storage", "net:\n  port: 29000\n  bindIp: 0.0.0.0\nstorage:\n  dbPath: /d\n", 0,
     29000, "0.0.0.0", "/d", 100},
    {"profiling threshold", "operationProfiling:\n  slowOpThresholdMs: 7\n", 0, 27017, NULL, NULL,
     7},
    {"clusterRole is not implemented yet", "sharding:\n  clusterRole: shardsvr\n", ERR_BadValue},
    {"journal accepted", "storage:\n  journal:\n    enabled: true\n", 0, 27017, NULL, NULL, 100},
    {"unknown key", "net:\n  nosuch: 1\n", ERR_BadValue},
    {"bad integer", "net:\n  port: eighty\n", ERR_BadValue},
    {"sequence value", "net:\n  port: [1, 2]\n", ERR_BadValue},
    {"syntax error", "net:\n  port: 1\n bad: [\n", ERR_BadValue},
    {"top level not a mapping", "- a\n- b\n", ERR_BadValue},
    {"journal off is refused by opts_parse only", "storage:\n  journal:\n    enabled: false\n", 0,
     27017, NULL, NULL, 100},
};

static void test_yaml_texts(void **state)
{
    for (size_t i = 0; i < sizeof(yaml_cases) / sizeof(yaml_cases[0]); i++) {
        const yaml_case_t *c = &yaml_cases[i];
        opts_t o;
        status_t st = STATUS_INIT;
        opts_init(&o);
        int rc = opts_load_yaml(&o, c->text, strlen(c->text), &st);
        if (rc != c->code)
            fail_msg("%s: got %d (%s), want %d", c->name, rc, st.msg, c->code);
        if (rc == 0) {
            assert_int_equal(o.port, c->port);
            if (c->bind_ip)
                assert_string_equal(o.bind_ip, c->bind_ip);
            if (c->dbpath)
                assert_string_equal(o.dbpath, c->dbpath);
            assert_int_equal(o.slowms, c->slowms);
        }
        opts_destroy(&o);
    }
}

/* write_temp -- a config file with text; returns its path (static buffer). */
static const char *write_temp(const char *text)
{
    static char path[64];
    (void)snprintf(path, sizeof(path), "/tmp/mica-opts-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_command_line_overrides_file(void **state)
{
    const char *path = write_temp("net:\n  port: 29001\n  bindIp: 10.0.0.1\n"
                                  "systemLog:\n  destination: file\n  path: /tmp/l.log\n");
    char line[256];
    opts_t o;
    status_t st = STATUS_INIT;
    (void)snprintf(line, sizeof(line), "-f %s --port 29002", path);
    assert_int_equal(parse_line(line, &o, &st), 0);
    assert_int_equal(o.port, 29002);
    assert_string_equal(o.bind_ip, "10.0.0.1");
    assert_string_equal(o.logpath, "/tmp/l.log");
    assert_string_equal(o.config_path, path);
    opts_destroy(&o);
    unlink(path);
}

static void test_parsed_document_nests_by_yaml_path(void **state)
{
    opts_t o;
    status_t st = STATUS_INIT;
    bson_iter_t it;
    assert_int_equal(parse_line("--port 29003 --dbpath /data --bind_ip 127.0.0.1", &o, &st), 0);
    assert_true(bson_iter_init_find(&it, &o.parsed, "net.port") || bson_iter_init(&it, &o.parsed));
    assert_true(bson_iter_init(&it, &o.parsed));
    bson_iter_t sub;
    assert_true(bson_iter_init(&it, &o.parsed) && bson_iter_find_descendant(&it, "net.port", &sub));
    assert_int_equal(bson_iter_int32(&sub), 29003);
    assert_true(bson_iter_init(&it, &o.parsed) &&
                bson_iter_find_descendant(&it, "net.bindIp", &sub));
    assert_string_equal(bson_iter_utf8(&sub, NULL), "127.0.0.1");
    assert_true(bson_iter_init(&it, &o.parsed) &&
                bson_iter_find_descendant(&it, "storage.dbPath", &sub));
    assert_string_equal(bson_iter_utf8(&sub, NULL), "/data");
    /* nothing unset appears */
    assert_false(bson_iter_init(&it, &o.parsed) &&
                 bson_iter_find_descendant(&it, "systemLog", &sub));
    /* argv is kept as given */
    assert_int_equal(bson_count_keys(&o.argv), 7);
    opts_destroy(&o);
}

static void test_nested_yaml_in_parsed(void **state)
{
    opts_t o;
    status_t st = STATUS_INIT;
    bson_iter_t it, sub;
    const char *path = write_temp("storage:\n  dbPath: /x\n  journal:\n    enabled: true\n");
    char line[128];
    (void)snprintf(line, sizeof(line), "--config=%s", path);
    assert_int_equal(parse_line(line, &o, &st), 0);
    assert_true(bson_iter_init(&it, &o.parsed) &&
                bson_iter_find_descendant(&it, "storage.journal.enabled", &sub));
    assert_true(bson_iter_bool(&sub));
    assert_true(bson_iter_init_find(&it, &o.parsed, "config"));
    opts_destroy(&o);
    unlink(path);
}

static void test_bad_role_rejected_by_parse(void **state)
{
    const char *path = write_temp("sharding:\n  clusterRole: router\n");
    char line[128];
    opts_t o;
    status_t st = STATUS_INIT;
    (void)snprintf(line, sizeof(line), "-f %s", path);
    assert_int_equal(parse_line(line, &o, &st), ERR_BadValue);
    assert_non_null(strstr(st.msg, "clusterRole"));
    opts_destroy(&o);
    unlink(path);
}

/*
 * test_not_yet_options_refuse_naming_the_option -- an option Mica parses but
 * does not carry out yet never starts a server that ignores it.
 */
static void test_not_yet_options_refuse_naming_the_option(void **state)
{
    static const struct {
        const char *line, *named;
    } cases[] = {
        {"--shardsvr", "--shardsvr"},
        {"--configsvr", "--configsvr"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        opts_t o;
        status_t st = STATUS_INIT;
        assert_int_equal(parse_line(cases[i].line, &o, &st), ERR_BadValue);
        assert_non_null(strstr(st.msg, cases[i].named));
        assert_non_null(strstr(st.msg, "not implemented"));
        opts_destroy(&o);
    }
}

static void test_journal_off_is_refused(void **state)
{
    const char *path = write_temp("storage:\n  journal:\n    enabled: false\n");
    char line[128];
    opts_t o;
    status_t st = STATUS_INIT;
    (void)snprintf(line, sizeof(line), "-f %s", path);
    assert_int_equal(parse_line(line, &o, &st), ERR_BadValue);
    assert_non_null(strstr(st.msg, "journal"));
    opts_destroy(&o);
    unlink(path);
}

static void test_help_lists_every_option(void **state)
{
    bson_string_t *s = bson_string_new(NULL);
    opts_help(s, "micad");
    assert_non_null(strstr(s->str, "--port arg"));
    assert_non_null(strstr(s->str, "-f [ --config ] arg"));
    assert_non_null(strstr(s->str, "--bind_ip_all"));
    assert_non_null(strstr(s->str, "net.maxIncomingConnections"));
    bson_string_free(s, true);
}

/* ---- server parameters (--setParameter / setParameter:) ---- */

typedef struct param_case {
    const char *line;
    int code;           /* 0: parses */
    opts_param_id_t id; /* checked when code == 0 */
    int64_t value;
} param_case_t;

static const param_case_t param_cases[] = {
    {"", 0, OPTS_PARAM_ttlMonitorSleepSecs, 60},
    {"", 0, OPTS_PARAM_internalDocumentSourceGroupMaxMemoryBytes, 104857600},
    {"--setParameter ttlMonitorSleepSecs=1", 0, OPTS_PARAM_ttlMonitorSleepSecs, 1},
    {"--setParameter=cursorTimeoutMillis=5000", 0, OPTS_PARAM_cursorTimeoutMillis, 5000},
    {"--setParameter ttlMonitorSleepSecs=2 --setParameter "
     "internalQueryMaxBlockingSortMemoryUsageBytes=4096",
     0, OPTS_PARAM_internalQueryMaxBlockingSortMemoryUsageBytes, 4096},
    {"--setParameter noSuchParameter=1", ERR_BadValue},
    {"--setParameter notablescan=true", 0, OPTS_PARAM_notablescan, 1},
    {"--setParameter allowDiskUseByDefault=0", 0, OPTS_PARAM_allowDiskUseByDefault, 0},
    {"", 0, OPTS_PARAM_allowDiskUseByDefault, 1},
    {"--setParameter logLevel=2", 0, OPTS_PARAM_logLevel, 2},
    {"--setParameter logLevel=6", ERR_BadValue},
    {"--setParameter notablescan=maybe", ERR_BadValue},
    /* not settable at start-up (run time only, or never) */
    {"--setParameter featureCompatibilityVersion=7.0", ERR_BadValue},
    {"--setParameter logComponentVerbosity={}", ERR_BadValue},
    {"--setParameter ttlMonitorSleepSecs", ERR_BadValue},
    {"--setParameter ttlMonitorSleepSecs=0", ERR_BadValue},
    {"--setParameter ttlMonitorSleepSecs=abc", ERR_BadValue},
    {"--setParameter ttlMonitorSleepSecs=", ERR_BadValue},
    {"--setParameter =1", ERR_BadValue},
    {"--setParameter", ERR_BadValue},
};

static void test_set_parameter_command_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(param_cases) / sizeof(param_cases[0]); i++) {
        const param_case_t *c = &param_cases[i];
        opts_t o;
        status_t st = STATUS_INIT;
        int code = parse_line(c->line, &o, &st);
        if (code != c->code)
            fail_msg("'%s': code %d (%s), want %d", c->line, code, st.msg, c->code);
        if (code == 0 && o.params[c->id] != c->value)
            fail_msg("'%s': %s = %lld, want %lld", c->line, opts_param_name(c->id),
                     (long long)o.params[c->id], (long long)c->value);
        opts_destroy(&o);
    }
}

static void test_set_parameter_yaml_and_parsed(void **state)
{
    static const char yaml[] = "setParameter:\n  ttlMonitorSleepSecs: 3\n"
                               "  cursorTimeoutMillis: 1000\n";
    opts_t o;
    status_t st = STATUS_INIT;
    bson_iter_t it;

    (void)state;
    opts_init(&o);
    assert_int_equal(opts_load_yaml(&o, yaml, sizeof(yaml) - 1, &st), 0);
    assert_int_equal(o.params[OPTS_PARAM_ttlMonitorSleepSecs], 3);
    assert_int_equal(o.params[OPTS_PARAM_cursorTimeoutMillis], 1000);
    opts_destroy(&o);

    static const char bad[] = "setParameter:\n  nope: 3\n";
    opts_init(&o);
    assert_int_equal(opts_load_yaml(&o, bad, sizeof(bad) - 1, &st), ERR_BadValue);
    opts_destroy(&o);

    assert_int_equal(parse_line("--setParameter ttlMonitorSleepSecs=7", &o, &st), 0);
    assert_true(bson_iter_init_find(&it, &o.parsed, "setParameter.ttlMonitorSleepSecs") ||
                bson_iter_init_find(&it, &o.parsed, "setParameter"));
    {
        bson_iter_t sub;
        assert_true(bson_iter_init_find(&it, &o.parsed, "setParameter"));
        assert_true(bson_iter_recurse(&it, &sub));
        assert_true(bson_iter_find(&sub, "ttlMonitorSleepSecs"));
        assert_string_equal(bson_iter_utf8(&sub, NULL), "7");
    }
    /* Publishing makes the values process-wide. */
    opts_params_publish(&o);
    assert_int_equal(opts_param(OPTS_PARAM_ttlMonitorSleepSecs), 7);
    assert_int_equal(opts_param_lookup("ttlMonitorSleepSecs"), OPTS_PARAM_ttlMonitorSleepSecs);
    assert_int_equal(opts_param_lookup("nope"), -1);
    opts_destroy(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
