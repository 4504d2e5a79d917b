/*
 * main.c -- micad's entry point: parse the options, set up logging, check and
 * open storage on the dbpath, build the command table and the transport, serve until
 * SIGINT/SIGTERM or the shutdown command, then stop in order.
 *
 * Exit codes follow mongod's: 0 clean stop, 2 bad options, 48 the port is
 * taken, 100 the dbpath is missing or already in use, 1 anything else.
 */
#include "mongod/auth.h"
#include "mongod/cursors.h"
#include "mongod/db.h"
#include "mongod/micad.h"
#include "mongod/ops.h"
#include "mongod/parameters.h"
#include "mongod/repl/repl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MICAD_EXIT_BADOPTIONS 2
#define MICAD_EXIT_NET_ERROR  48
#define MICAD_EXIT_DBPATH     100

/* print_version -- what --version prints: the MongoDB version we speak, then ours. */
static void print_version(void)
{
    printf("db version v7.0.0\n");
    printf("mica version v%s\n", MICA_VERSION);
    printf("Build Info: {\n    \"version\": \"7.0.0\",\n    \"mica\": \"%s\",\n"
           "    \"storageEngines\": [\"wiredTiger\"]\n}\n",
           MICA_VERSION);
}

/*
 * open_storage -- open the engine on dbpath. It takes <dbpath>/mongod.lock
 * itself (a second server on the same files gets DBPathInUse) and empties it
 * again on a clean close, as mongod does.
 */
static int open_storage(micad_t *m, const char *dbpath, status_t *st)
{
    stor_options_t so;
    stor_options_init(&so);
    /*
     * A replica-set member runs storage in replicated mode (MongoDB's model):
     * collections are unlogged and start-up recovers from the stable checkpoint
     * plus the oplog (mongod/repl/recovery.c; mongod/repl/README.md, "Durability").
     * --setParameter replUnloggedTables=0 keeps every table logged; a standalone
     * always does.
     */
    so.mode = m->opts->repl_set != NULL && m->opts->params[OPTS_PARAM_replUnloggedTables] == 1
                  ? STOR_MODE_REPLICATED
                  : STOR_MODE_STANDALONE;
    if (m->opts->oplog_size_mb > 0)
        so.oplog_max_bytes = (int64_t)m->opts->oplog_size_mb * 1024 * 1024;
    micad_db_matcher_ops(&so.matcher_ops); /* partial indexes filter with query/'s matcher */
    micad_storage_options(m->opts, &so);
    return stor_engine_open(dbpath, &so, &m->engine, st);
}

/* write_pid_file -- processManagement.pidFilePath. */
static int write_pid_file(const char *path, status_t *st)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return status_set(st, ERR_FileOpenFailed, "cannot write pid file %s: %s", path,
                          strerror(errno));
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    return 0;
}

/* The write end of the --fork pipe in the server process (-1: not forked). */
static int g_fork_ready_fd = -1;

/*
 * fork_server -- processManagement.fork, as mongod: the parent prints the
 * child's pid and waits on a pipe. The child (a new session, stdin/stdout/
 * stderr on /dev/null: it logs to --logpath) writes one byte once it listens
 * (fork_ready); the parent then exits 0. If the child exits first, the pipe
 * ends empty and the parent exits with the child's exit code. Called before
 * any thread exists.
 */
static int fork_server(void)
{
    int fds[2];
    printf("about to fork child process, waiting until server is ready for connections.\n");
    fflush(stdout);
    if (pipe(fds) != 0) {
        fprintf(stderr, "ERROR: pipe() failed: %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ERROR: fork() failed: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) { /* the server */
        close(fds[0]);
        (void)setsid();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            (void)dup2(null, STDIN_FILENO);
            (void)dup2(null, STDOUT_FILENO);
            (void)dup2(null, STDERR_FILENO);
            if (null > STDERR_FILENO)
                close(null);
        }
        g_fork_ready_fd = fds[1];
        return -1;
    }
    close(fds[1]);
    printf("forked process: %d\n", (int)pid);
    fflush(stdout);
    char b;
    ssize_t n;
    do
        n = read(fds[0], &b, 1);
    while (n < 0 && errno == EINTR);
    close(fds[0]);
    if (n == 1) {
        printf("child process started successfully, parent exiting\n");
        return 0;
    }
    int wst = 0, code = 1;
    if (waitpid(pid, &wst, 0) == pid)
        code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 1;
    fprintf(stderr, "ERROR: child process failed, exited with %d\n", code);
    fprintf(stderr, "To see additional information in this output, start without the \"--fork\" "
                    "option.\n");
    return code != 0 ? code : 1;
}

/* fork_ready -- the forked server listens: let the parent go. */
static void fork_ready(void)
{
    if (g_fork_ready_fd < 0)
        return;
    char b = 1;
    ssize_t n;
    do
        n = write(g_fork_ready_fd, &b, 1);
    while (n < 0 && errno == EINTR);
    close(g_fork_ready_fd);
    g_fork_ready_fd = -1;
}

/*
 * setup_auth -- access control: on with --auth / security.authorization:
 * enabled, or implied by a keyFile (loaded and checked here; a bad one stops
 * the start, as in mongod).
 */
static int setup_auth(const opts_t *o)
{
    status_t st = STATUS_INIT;
    char *secret = NULL;
    bool enabled = o->authorization != NULL && strcmp(o->authorization, "enabled") == 0;

    if (o->key_file != NULL) {
        if (micad_auth_load_keyfile(o->key_file, &secret, &st) != 0) {
            LOG(FATAL, ACCESS, 20254, "Unable to acquire security key[s]", "error",
                BCON_UTF8(st.msg));
            fprintf(stderr, "%s\n", st.msg);
            return 1;
        }
        enabled = enabled || o->authorization == NULL; /* a keyFile implies --auth */
    }
    if (o->cluster_auth_mode != NULL && strcmp(o->cluster_auth_mode, "x509") == 0)
        enabled = enabled || o->authorization == NULL; /* as does x.509 membership */
    if (micad_cluster_config(o, &st) != 0) {
        LOG(FATAL, ACCESS, 20254, "Unable to acquire security key[s]", "error", BCON_UTF8(st.msg));
        fprintf(stderr, "%s\n", st.msg);
        wire_scram_wipe_free(secret);
        return 1;
    }
    micad_auth_config(enabled, secret);
    return 0;
}

/* serve -- everything between a checked configuration and the exit code. */
static int serve(micad_t *m, opts_t *o)
{
    status_t st = STATUS_INIT;
    const char *dbpath = o->dbpath ? o->dbpath : "/data/db";
    struct stat sb;
    int code = 0;
    char hostname[256] = "localhost";

    bson_oid_init(&m->process_id, NULL);
    micad_profile_init(o);
    stor_set_work_hook(micad_work_hook);      /* index builds: progress, killOp, dropIndexes */
    fp_set_interrupt_check(wire_curop_check); /* a paused op: killOp, step-down, shutdown */
    m->start_ms = time_now_ms();
    m->start_us = time_mono_us();
    (void)gethostname(hostname, sizeof(hostname) - 1);
    (void)snprintf(m->host, sizeof(m->host), "%s:%d", hostname, o->port);

    LOG(INFO, CONTROL, 21001, "Mica starting", "pid", BCON_INT64((int64_t)getpid()), "port",
        BCON_INT32(o->port), "dbPath", BCON_UTF8(dbpath), "host", BCON_UTF8(hostname));
    LOG(INFO, CONTROL, 21002, "Build Info", "version", BCON_UTF8("7.0.0"), "mica",
        BCON_UTF8(MICA_VERSION));
    LOG(INFO, CONTROL, 21003, "Options set by command line", "options", BCON_DOCUMENT(&o->parsed));

    if ((code = setup_auth(o)) != 0) /* a bad keyFile stops the start before storage opens */
        return code;
    if (stat(dbpath, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        LOG(FATAL, STORAGE, 21004, "Data directory not found", "dbPath", BCON_UTF8(dbpath));
        fprintf(stderr,
                "Data directory %s not found. Create the missing directory or specify another "
                "path using (1) the --dbpath command line option, or (2) by adding the "
                "'storage.dbPath' option in the configuration file.\n",
                dbpath);
        return MICAD_EXIT_DBPATH;
    }
    if (open_storage(m, dbpath, &st) != 0) {
        LOG(FATAL, STORAGE, 21005, "Cannot open the storage engine", "error", BCON_UTF8(st.msg),
            "code", BCON_INT32(st.code));
        fprintf(stderr, "%s\n", st.msg);
        return MICAD_EXIT_DBPATH;
    }
    if (o->pid_file != NULL && write_pid_file(o->pid_file, &st) != 0) {
        LOG(FATAL, CONTROL, 21006, "Cannot write the pid file", "error", BCON_UTF8(st.msg));
        code = 1;
        goto out;
    }
    if (!micad_auth_enabled())
        LOG(WARNING, CONTROL, 22120,
            "Access control is not enabled for the database. Read and write access to data and "
            "configuration is unrestricted");
    if (o->bind_ip_all && !micad_auth_enabled())
        LOG(WARNING, CONTROL, 21007,
            "This server is bound to all interfaces and access control is not enabled");

    if (repl_start(m, &st) != 0) {
        LOG(FATAL, REPL, 21014, "Cannot start replication", "error", BCON_UTF8(st.msg), "code",
            BCON_INT32(st.code));
        fprintf(stderr, "%s\n", st.msg);
        code = 1;
        goto out;
    }
    if (wire_cmd_table_init(&m->table, micad_commands, micad_n_commands, &st) != 0) {
        LOG(FATAL, CONTROL, 21008, "Bad command table", "error", BCON_UTF8(st.msg));
        code = 1;
        goto out;
    }
    m->table.authorize = micad_authorize;
    micad_auth_check_table(&m->table);
    wire_tls_config_t tls = {
        .mode =
            o->tls_mode ? (wire_tls_mode_t)wire_tls_mode_by_name(o->tls_mode) : WIRE_TLS_DISABLED,
        .certificate_key_file = o->tls_certificate_key_file,
        .ca_file = o->tls_ca_file,
        .cluster_ca_file = o->tls_cluster_ca_file,
        .allow_invalid_certificates = o->tls_allow_invalid_certificates,
        .allow_connections_without_certificates = o->tls_allow_no_certificates,
    };
    m->table.gate = micad_command_gate; /* generic arguments, then the replica-set gate */
    m->table.after = micad_command_after;
    m->table.decorate = micad_reply_decorate;
    wire_server_config_t cfg = {
        .bind_ip = o->bind_ip,
        .bind_ip_all = o->bind_ip_all,
        .port = o->port,
        .max_conns = o->max_conns,
        .slow_ms = o->slowms,
        .handle_signals = true,
        .op_done = micad_op_done, /* profiler, slow log, top, metrics */
        .table = &m->table,
        .app = m,
        .tls = &tls,
    };
    if (wire_server_create(&cfg, &m->server, &st) != 0) {
        LOG(ERROR, NETWORK, 21009, "Failed to set up listener", "error", BCON_UTF8(st.msg));
        fprintf(stderr, "Failed to set up listener: %s\n", st.msg);
        code = st.code == WIRE_ERR_SOCKET ? MICAD_EXIT_NET_ERROR : 1;
        goto out;
    }
    if (micad_metrics_start(m, &st) != 0) {
        LOG(ERROR, NETWORK, 21704, "Failed to set up the metrics listener", "error",
            BCON_UTF8(st.msg));
        fprintf(stderr, "Failed to set up the metrics listener: %s\n", st.msg);
        code = st.code == WIRE_ERR_SOCKET ? MICAD_EXIT_NET_ERROR : 1;
        goto out;
    }
    micad_logbuf_end_startup();
    fork_ready(); /* the listeners are bound and listening: --fork's parent may exit */
    if (micad_ttl_start(m, &st) != 0) /* expired documents then simply stay */
        LOG(WARNING, INDEX, 21567, "TTL monitor not started", "error", BCON_UTF8(st.msg));
    status_reset(&st);
    if (wire_server_run(m->server, &st) != 0) {
        LOG(ERROR, CONTROL, 21010, "Transport failed", "error", BCON_UTF8(st.msg));
        code = 1;
    }
    LOG(INFO, CONTROL, 21011, "Shutting down: the transport is stopped");
out:
    micad_metrics_stop(m); /* its handler reads the engine and the transport */
    wire_server_destroy(m->server);
    m->server = NULL;
    wire_cmd_table_destroy(&m->table);
    repl_stop();
    micad_ttl_stop();         /* its thread's storage session closes as it exits */
    micad_cursors_shutdown(); /* parked cursors hold storage sessions of their own */
    micad_db_shutdown();      /* worker sessions must be closed before the engine */
    LOG(INFO, STORAGE, 21012, "Closing the storage engine", "dbPath", BCON_UTF8(dbpath));
    if (stor_engine_close(m->engine, &st) != 0) {
        LOG(ERROR, STORAGE, 21013, "Storage engine close failed", "error", BCON_UTF8(st.msg));
        if (code == 0)
            code = 1;
    }
    m->engine = NULL;
    micad_auth_shutdown();
    if (o->pid_file != NULL)
        (void)unlink(o->pid_file);
    return code;
}

/* main -- options, logging, serve, exit code. */
int main(int argc, char **argv)
{
    opts_t o;
    status_t st = STATUS_INIT;
    micad_t m;
    int code;

    signal(SIGPIPE, SIG_IGN);      /* a vanished client is an error code, not a signal */
    micad_runtime_block_signals(); /* SIGUSR1 goes to the log-rotation thread only */
    opts_init(&o);
    if (opts_parse(&o, argc, argv, &st) != 0) {
        fprintf(stderr, "%s\ntry '%s --help' for more information\n", st.msg, argv[0]);
        opts_destroy(&o);
        return MICAD_EXIT_BADOPTIONS;
    }
    if (micad_storage_options_check(&o, &st) != 0) {
        fprintf(stderr, "%s\ntry '%s --help' for more information\n", st.msg, argv[0]);
        opts_destroy(&o);
        return MICAD_EXIT_BADOPTIONS;
    }
    opts_params_publish(&o); /* --setParameter values, readable process-wide */
    micad_cursors_set_timeout(opts_param(OPTS_PARAM_cursorTimeoutMillis));
    if (o.help) {
        bson_string_t *s = bson_string_new(NULL);
        opts_help(s, argv[0]);
        fputs(s->str, stdout);
        bson_string_free(s, true);
        opts_destroy(&o);
        return 0;
    }
    if (o.version) {
        print_version();
        opts_destroy(&o);
        return 0;
    }
    if (o.fork) {
        code = fork_server();
        if (code >= 0) { /* the parent: the child listens (0) or failed (its code) */
            opts_destroy(&o);
            return code;
        }
    }
    if (o.logpath != NULL) {
        int rc = log_open(o.logpath, o.logappend);
        if (rc != 0) {
            fprintf(stderr, "Failed to open log file %s: %s\n", o.logpath, strerror(rc));
            opts_destroy(&o);
            return 1;
        }
    }
    log_set_verbosity(o.quiet ? -1 : o.verbosity);
    if (micad_params_startup(&o, &st) != 0) { /* --setParameter logLevel=, engine= */
        fprintf(stderr, "%s\ntry '%s --help' for more information\n", st.msg, argv[0]);
        log_close();
        opts_destroy(&o);
        return MICAD_EXIT_BADOPTIONS;
    }
    micad_logbuf_start();
    micad_runtime_start(&o);

    memset(&m, 0, sizeof(m));
    m.opts = &o;
    code = serve(&m, &o);

    LOG(INFO, CONTROL, 23138, "Shutting down", "exitCode", BCON_INT32(code));
    micad_runtime_stop();
    micad_logbuf_stop();
    log_close();
    opts_destroy(&o);
    return code;
}
