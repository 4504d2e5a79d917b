/*
 * micad.h -- private to mongod/: the data node's process-wide state that
 * command handlers reach through op->app, the command table, and the in-memory
 * log buffer behind getLog.
 */
#ifndef MICA_MICAD_H
#define MICA_MICAD_H

#include "common/common.h"
#include "storage/storage.h"
#include "wire/wire.h"

/* micad_t -- the process: options, transport, identity for hello. */
typedef struct micad {
    opts_t *opts;
    wire_server_t *server;
    stor_engine_t *engine; /* WiredTiger on --dbpath (holds the mongod.lock) */
    wire_cmd_table_t table;
    bson_oid_t process_id;    /* topologyVersion.processId, new each start */
    int64_t topology_counter; /* topologyVersion.counter; bumps wake awaitable hellos */
    int64_t start_ms;         /* wall clock at start */
    int64_t start_us;         /* monotonic clock at start */
    char host[300];           /* "hostname:port" as serverStatus reports it */
    int exit_code;            /* what main returns after the server stops */
    wire_http_t *metrics;     /* the /metrics listener (NULL: metrics.port unset) */
} micad_t;

/* The handlers, declared from the table. */
#define MICAD_CMD(name, fn, flags, help)                                                           \
    int fn(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st);
#include "mongod/commands.def"
#undef MICAD_CMD

/* micad_commands / micad_n_commands -- the rows of commands.def. */
extern const wire_command_t micad_commands[];
extern const size_t micad_n_commands;

/* micad_of -- the process state behind a command. */
static inline micad_t *micad_of(const wire_opctx_t *op)
{
    return (micad_t *)op->app;
}

/* micad_hello_reply -- the handshake fields shared by hello / isMaster. */
int micad_hello_reply(wire_opctx_t *op, const bson_t *cmd, bool legacy_names, bson_t *reply,
                      status_t *st);

/* micad_command_gate -- the command table's gate: transactions and readConcern as this
 * node can give them, then repl_command_gate on a replica set member (generic_args.c). */
int micad_command_gate(wire_opctx_t *op, const wire_command_t *cmd, status_t *st);
/* micad_command_after / micad_reply_decorate -- the table's after and decorate hooks:
 * linearizable confirmation; operationTime and $clusterTime (generic_args.c). */
int micad_command_after(wire_opctx_t *op, bson_t *reply, status_t *st);
void micad_reply_decorate(wire_opctx_t *op, bson_t *reply);

/* MICAD_UPSERT_RETRIES -- how often an upsert that lost an insert race is retried (upsert_retry.c).
 */
#define MICAD_UPSERT_RETRIES 3
/* micad_upsert_should_retry -- DuplicateKey on the upsert query's own equality key: retry it. */
bool micad_upsert_should_retry(stor_session_t *sess, const bson_t *q, int code);

/* micad_index_key_validate -- an index key pattern as MongoDB checks it (index_key.c). */
int micad_index_key_validate(const bson_t *key, status_t *st);
/* micad_index_wildcard_check_key -- the wildcard rules of a key pattern (index_wildcard.c). */
int micad_index_wildcard_check_key(const bson_t *key, status_t *st);
/* micad_index_wildcard_check_spec -- wildcardProjection and the options a wildcard index refuses
 * (sparse, unique, TTL), with MongoDB's codes (index_wildcard.c). */
int micad_index_wildcard_check_spec(const bson_t *spec, const bson_t *key, status_t *st);

/* micad_storage_options -- storage.* options into the engine's (storage_options.c). */
void micad_storage_options(const opts_t *o, stor_options_t *so);
/* micad_storage_options_check -- BadValue for a compressor this build lacks (zstd). */
int micad_storage_options_check(const opts_t *o, status_t *st);

/*
 * micad_cluster_pool_create -- a client pool for connections to other members
 * (mongod/auth/cluster.c): TLS under preferTLS / requireTLS with the cluster
 * certificate, and the keyFile login as __system on every new connection.
 * co's tls field is filled here. Destroy with wire_client_pool_destroy.
 */
int micad_cluster_pool_create(const opts_t *o, const wire_client_opts_t *co,
                              wire_client_pool_t **out, status_t *st);
/* micad_cluster_shutdown -- once every cluster pool is gone: wipe the __system exchange. */
void micad_cluster_shutdown(void);
/*
 * micad_cluster_config -- at start-up: with clusterAuthMode x509, the O/OU/DC of
 * our server certificate, which a member's certificate must share.
 */
int micad_cluster_config(const opts_t *o, status_t *st);
/* micad_cluster_x509_member -- a verified client certificate subject is a cluster member's. */
bool micad_cluster_x509_member(const char *subject);

/* micad_check_session_list -- validate endSessions/killSessions' list (mongod/sessions.c). */
int micad_check_session_list(const char *cmd_name, const bson_t *cmd, size_t *count, status_t *st);

/* ---- log ring buffer (mongod/logbuf.c) ---- */

/* micad_logbuf_start -- keep recent log lines in memory (install the log tap). */
void micad_logbuf_start(void);
/* micad_logbuf_end_startup -- warnings after this are not "startupWarnings". */
void micad_logbuf_end_startup(void);
/* micad_logbuf_append -- {totalLinesWritten, log: [...]} for "global" or "startupWarnings". */
void micad_logbuf_append(bson_t *reply, bool startup_warnings);
/* micad_logbuf_stop -- uninstall the tap and free the lines. */
void micad_logbuf_stop(void);

#endif /* MICA_MICAD_H */
