/*
 * wire.h -- the public header of wire/: MongoDB wire-protocol message codecs
 * (OP_MSG, OP_QUERY/OP_REPLY for the legacy handshake, OP_COMPRESSED), the
 * libuv server transport with its worker pool, and the command machinery that
 * micad and micas share (command table format, generic arguments, error replies).
 *
 * Depends on common/ only (plus libuv, zlib, zstd, snappy, OpenSSL).
 */
#ifndef MICA_WIRE_H
#define MICA_WIRE_H

#include "common/common.h"

/* ======================================================================== */
/* Codecs (wire/msg.c, wire/compress.c, wire/crc32c.c)                       */
/* ======================================================================== */

/* Limits MongoDB documents; checked before any allocation they guard. */
#define WIRE_MAX_MESSAGE_BYTES 48000000
#define WIRE_MAX_BSON_BYTES    (16 * 1024 * 1024)
/* A command document may exceed a stored document by 16 KiB (MongoDB's BSONObjMaxInternalSize). */
#define WIRE_MAX_COMMAND_BYTES (WIRE_MAX_BSON_BYTES + 16 * 1024)
#define WIRE_HEADER_LEN        16
#define WIRE_MAX_WRITE_BATCH   100000

enum wire_opcode {
    WIRE_OP_REPLY = 1,
    WIRE_OP_UPDATE = 2001,
    WIRE_OP_INSERT = 2002,
    WIRE_OP_QUERY = 2004,
    WIRE_OP_GET_MORE = 2005,
    WIRE_OP_DELETE = 2006,
    WIRE_OP_KILL_CURSORS = 2007,
    WIRE_OP_COMPRESSED = 2012,
    WIRE_OP_MSG = 2013,
};

/* OP_MSG flagBits. Bits 0-15 are "required": an unknown one is an error. */
#define WIRE_MSG_CHECKSUM_PRESENT (1u << 0)
#define WIRE_MSG_MORE_TO_COME     (1u << 1)
#define WIRE_MSG_EXHAUST_ALLOWED  (1u << 16)

/* OP_COMPRESSED compressor ids. */
enum wire_compressor {
    WIRE_COMPRESSOR_NOOP = 0,
    WIRE_COMPRESSOR_SNAPPY = 1,
    WIRE_COMPRESSOR_ZLIB = 2,
    WIRE_COMPRESSOR_ZSTD = 3,
};

/* wire_header_t -- the 16-byte standard message header, host byte order. */
typedef struct wire_header {
    int32_t message_length;
    int32_t request_id;
    int32_t response_to;
    int32_t op_code;
} wire_header_t;

/* Maximum number of kind-1 sections in one OP_MSG (MongoDB allows one per identifier). */
#define WIRE_MAX_DOC_SEQS 8

/*
 * WIRE_MAX_BSON_DEPTH -- nesting levels accepted in a request document (MongoDB's
 * maxBSONDepth default, 200). The validator walks documents iteratively with a
 * fixed stack of this size, so a 48 MB frame of nested documents cannot exhaust
 * the C stack; deeper documents are an Overflow error. Storage enforces its own,
 * lower limit (100) on what it stores.
 */
#define WIRE_MAX_BSON_DEPTH 200

/*
 * MongoDB's "location" error codes for malformed OP_MSG sections; they have no
 * name in error_codes.def (MongoDB's codeName reads "Location<code>").
 */
#define WIRE_ERR_MULTIPLE_BODIES 40430 /* "Multiple body sections in message" */
#define WIRE_ERR_DUPLICATE_SEQ   40431 /* "Duplicate document sequence: <id>" */
#define WIRE_ERR_UNKNOWN_SECTION 40432 /* "Unknown section kind <n>" */
#define WIRE_ERR_DUPLICATE_FIELD 40433 /* identifier also a field of the body */
#define WIRE_ERR_NO_BODY         40587 /* "OP_MSG messages must have a body" */

/* wire_doc_seq_t -- an OP_MSG kind-1 section: identifier + concatenated BSON documents. */
typedef struct wire_doc_seq {
    const char *identifier; /* NUL-terminated, points into the message */
    const uint8_t *docs;    /* first document */
    size_t len;             /* bytes of documents */
    uint32_t count;         /* number of documents (validated while parsing) */
} wire_doc_seq_t;

/*
 * wire_request_t -- a parsed request. Every pointer and bson_t is a static
 * view into the message buffer (or the decompressed copy in `owned`), which
 * must outlive the request. Never copy a parsed request by value (memcpy or
 * struct assignment): a static bson_t points into itself, so the copy's `body`
 * would still read through the original. Parse into the request's final home,
 * or copy the message and parse again.
 */
typedef struct wire_request {
    wire_header_t header;  /* the header as received (op_code may be OP_COMPRESSED) */
    int32_t op_code;       /* the original opcode after decompression */
    uint8_t compressor_id; /* compressor the request used, to answer in kind */
    bool compressed;
    uint32_t flags; /* OP_MSG flagBits, or OP_QUERY flags */
    bson_t body;    /* OP_MSG kind-0 body, or OP_QUERY's query document */
    size_t n_seqs;
    wire_doc_seq_t seqs[WIRE_MAX_DOC_SEQS];
    /* OP_QUERY only */
    const char *full_collection_name;
    int32_t number_to_skip;
    int32_t number_to_return;
    bool has_return_fields;
    bson_t return_fields;
    uint8_t *owned; /* decompressed message, freed by wire_request_destroy */
} wire_request_t;

/*
 * wire_parse_header -- read and validate a header from at least 16 bytes:
 * message_length must be within [16 + minimum body, WIRE_MAX_MESSAGE_BYTES].
 * Used by the transport before it allocates the rest of the frame.
 */
int wire_parse_header(const uint8_t *buf, size_t len, wire_header_t *h, status_t *st);

/*
 * wire_request_parse -- parse one complete message (header included). Validates
 * every length, every BSON document (bson_validate), the OP_MSG checksum when
 * present (CRC-32C), and OP_COMPRESSED's declared size against what
 * decompression produced. On failure returns a code (ProtocolError,
 * InvalidBSON, ChecksumMismatch, ...) and req needs no destroy.
 */
int wire_request_parse(const uint8_t *msg, size_t len, wire_request_t *req, status_t *st);
/* wire_request_destroy -- free what the request owns; NULL-safe. */
void wire_request_destroy(wire_request_t *req);
/* wire_doc_seq_next -- iterate the documents of a kind-1 section; *off starts at 0. */
bool wire_doc_seq_next(const wire_doc_seq_t *seq, size_t *off, bson_t *doc);

/* wire_buf_t -- a growable output buffer for encoded messages. */
typedef struct wire_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} wire_buf_t;

void wire_buf_init(wire_buf_t *b);
void wire_buf_destroy(wire_buf_t *b);
/* wire_buf_append -- append n bytes (grows; fails only on overflow or out of memory). */
int wire_buf_append(wire_buf_t *b, const void *p, size_t n, status_t *st);

/*
 * wire_encode_op_msg -- append an OP_MSG with a kind-0 body (and a CRC-32C
 * checksum when flags has WIRE_MSG_CHECKSUM_PRESENT).
 */
int wire_encode_op_msg(wire_buf_t *out, int32_t request_id, int32_t response_to, uint32_t flags,
                       const bson_t *body, status_t *st);
/* wire_encode_op_msg_seq -- as above plus one kind-1 section (for clients and tests). */
int wire_encode_op_msg_seq(wire_buf_t *out, int32_t request_id, int32_t response_to, uint32_t flags,
                           const bson_t *body, const char *identifier, const bson_t *const *docs,
                           size_t n_docs, status_t *st);
/* wire_seq_spec_t -- one kind-1 section to encode: identifier and its documents. */
typedef struct wire_seq_spec {
    const char *identifier;
    const bson_t *const *docs;
    size_t n_docs;
} wire_seq_spec_t;
/*
 * wire_encode_op_msg_seqs -- as wire_encode_op_msg plus n_seqs (<= WIRE_MAX_DOC_SEQS)
 * kind-1 sections, written before the body as MongoDB's own builder does.
 */
int wire_encode_op_msg_seqs(wire_buf_t *out, int32_t request_id, int32_t response_to,
                            uint32_t flags, const bson_t *body, const wire_seq_spec_t *seqs,
                            size_t n_seqs, status_t *st);
/* wire_encode_op_reply -- append an OP_REPLY with one document (legacy handshake). */
int wire_encode_op_reply(wire_buf_t *out, int32_t request_id, int32_t response_to,
                         int32_t response_flags, const bson_t *doc, status_t *st);
/* wire_encode_op_query -- append an OP_QUERY (for tests and the legacy handshake client). */
int wire_encode_op_query(wire_buf_t *out, int32_t request_id, int32_t flags,
                         const char *full_collection_name, int32_t skip, int32_t n_return,
                         const bson_t *query, status_t *st);
/*
 * wire_compress -- wrap the complete message msg[0..len) into an OP_COMPRESSED
 * appended to out, with compressor id.
 */
int wire_compress(wire_buf_t *out, uint8_t compressor, const uint8_t *msg, size_t len,
                  status_t *st);
/*
 * wire_compressor_name / wire_compressor_by_name -- "snappy", "zlib", "zstd",
 * "noop" (the names hello's `compression` negotiates); NULL / -1 if unknown.
 */
const char *wire_compressor_name(uint8_t id);
int wire_compressor_by_name(const char *name); /* -1 if unknown */

/*
 * wire_crc32c -- CRC-32C (Castagnoli), as OP_MSG's checksum uses. Start with
 * crc = 0; feeding the result back in continues the same checksum, so
 * wire_crc32c(wire_crc32c(0, a, n), b, m) equals the checksum of a then b.
 * Uses the SSE4.2 instruction when the CPU has it, else slicing-by-8 tables.
 */
uint32_t wire_crc32c(uint32_t crc, const void *data, size_t len);
/* wire_crc32c_sw -- the portable table-driven path (same results); for tests and benchmarks. */
uint32_t wire_crc32c_sw(uint32_t crc, const void *data, size_t len);

/*
 * wire_bson_check -- validate one BSON document at doc[0..avail): its declared
 * length (>= 5, <= max_len, <= avail), its structure (walked iteratively, at most
 * WIRE_MAX_BSON_DEPTH levels), then bson_validate. On success *doc_len is the
 * document's length. Errors: InvalidBSON, BSONObjectTooLarge, Overflow (depth).
 */
int wire_bson_check(const uint8_t *doc, size_t avail, size_t max_len, size_t *doc_len,
                    status_t *st);

/* ======================================================================== */
/* Intra-cluster client (wire/client.c, wire/client_conn.c)                  */
/* ======================================================================== */

/*
 * One pool per process role (replication, routing, ...): a single I/O thread
 * runs a libuv loop that owns every connection; callers on any thread hand it
 * requests. Connections are pooled per host ("host:port"), one request in
 * flight on each. See wire/README.md, "Intra-cluster client".
 */
typedef struct wire_client_pool wire_client_pool_t;

/*
 * wire_tls_client_config_t -- TLS on the pool's connections (the cluster's
 * members dialling each other under preferTLS / requireTLS). The peer's
 * certificate is verified against ca_file and its name against the host
 * dialled (DNS name or IP address in the subjectAltName), TLS 1.2 at least.
 */
typedef struct wire_tls_client_config {
    const char *certificate_key_file; /* PEM presented to the peer; NULL = none */
    const char *ca_file;              /* PEM of the CAs the peer must chain to; NULL = system */
    bool allow_invalid_certificates;  /* do not verify the peer's chain (tests only) */
    bool allow_invalid_hostnames;     /* do not match the peer's name against the host */
} wire_tls_client_config_t;

/* wire_client_opts_t -- pool settings; zero values take the defaults noted. */
typedef struct wire_client_opts {
    const char *bind_ip;    /* bind before connect (numeric address), NULL = any */
    int max_per_host;       /* connections per host, 0 = 16 */
    int connect_timeout_ms; /* TCP connect + TLS + hello + auth, 0 = 10000 */
    const char *app_name;   /* client.application.name in hello, NULL = none */
    /* TLS on every connection (read at create: files loaded then); NULL = plain */
    const wire_tls_client_config_t *tls;
} wire_client_opts_t;

/*
 * wire_client_pool_create -- start a pool and its I/O thread. BadValue for a bad bind_ip,
 * InvalidSSLConfiguration for TLS files that cannot be read.
 */
int wire_client_pool_create(const wire_client_opts_t *o, wire_client_pool_t **out, status_t *st);
/*
 * wire_client_pool_destroy -- fail every outstanding call with ShutdownInProgress
 * (their callbacks run), close every connection, join the I/O thread. NULL-safe.
 * Never call it from the pool's own I/O thread (a callback).
 */
void wire_client_pool_destroy(wire_client_pool_t *p);

/*
 * wire_client_run -- run one command on host "h:p" and block the calling thread until the
 * reply or deadline_us (absolute, time_mono_us clock). *reply is always initialised by the
 * callee and destroyed by the caller. Network errors: HostUnreachable(6)/NetworkTimeout(89);
 * a reply with ok:0 returns its code as the status, and *reply still holds the document.
 * A malformed reply is its parse error (InvalidBSON, ProtocolError, ...). `$db` is appended
 * to cmd unless it has one. Safe from any thread but the pool's I/O thread (IllegalOperation).
 */
int wire_client_run(wire_client_pool_t *p, const char *host, const char *db, const bson_t *cmd,
                    int64_t deadline_us, bson_t *reply, status_t *st);

/* async variant: cb runs on the pool's own I/O thread */
typedef void (*wire_client_cb)(void *arg, const bson_t *reply, const status_t *st);
/*
 * wire_client_run_async -- as wire_client_run, but returns at once: 0 when the call
 * was queued (then cb runs exactly once, on the I/O thread, with the reply -- an empty
 * document after a network error -- borrowed for the call, and the status as
 * wire_client_run would return it), or an error (BadValue, ShutdownInProgress) and
 * cb never runs. cb must not block: it may queue more calls, never wait for one.
 */
int wire_client_run_async(wire_client_pool_t *p, const char *host, const char *db,
                          const bson_t *cmd, int64_t deadline_us, wire_client_cb cb, void *arg,
                          status_t *st);

/*
 * wire_client_auth_t -- an exchange (keyFile / SCRAM) run on every new connection
 * after its hello and before its first command. step runs on the I/O thread: first
 * with the hello reply and *state NULL, then with the reply to each command it asked
 * for. It either appends the next command to next_cmd (empty on entry; `$db` defaults
 * to "admin"), leaves next_cmd empty when the connection is authenticated, or returns
 * an error code (the connection is closed, and the calls waiting for that host fail
 * with that status). A reply with ok:0 fails the connection before step sees it.
 * free_state (may be NULL) runs once per connection that had a non-NULL *state.
 */
typedef struct wire_client_auth {
    int (*step)(void *arg, void **state, const char *host, const bson_t *reply, bson_t *next_cmd,
                status_t *st);
    void (*free_state)(void *arg, void *state);
    void *arg;
} wire_client_auth_t;

/* wire_client_pool_set_auth -- use auth (copied; NULL removes it) on connections made from now. */
void wire_client_pool_set_auth(wire_client_pool_t *p, const wire_client_auth_t *auth);

/*
 * wire_client_drop_host -- close host's idle connections now and its busy ones as
 * their calls finish (after a member left the set, or a failed call that leaves the
 * connection's state unknown). Asynchronous; later calls open fresh connections.
 */
void wire_client_drop_host(wire_client_pool_t *p, const char *host);

/* wire_client_stats_t -- counters for serverStatus / connPoolStats (a snapshot). */
typedef struct wire_client_stats {
    int64_t hosts;           /* hosts the pool has dialled */
    int64_t conns_in_use;    /* a call in flight (MongoDB's totalInUse) */
    int64_t conns_idle;      /* pooled, ready (totalAvailable) */
    int64_t conns_setup;     /* connecting / hello / auth (totalRefreshing) */
    int64_t conns_created;   /* ever completed setup (totalCreated) */
    int64_t conns_failed;    /* setups that failed */
    int64_t calls;           /* calls completed */
    int64_t calls_failed;    /* ... with a network, protocol or shutdown error */
    int64_t calls_timed_out; /* ... of which deadline expiries */
} wire_client_stats_t;

/* wire_client_pool_stats -- a snapshot of the counters (any thread). */
void wire_client_pool_stats(wire_client_pool_t *p, wire_client_stats_t *out);

/* ======================================================================== */
/* Transport and command machinery -- see the sections below                 */
/* ======================================================================== */

/* WIRE_TRANSPORT_SECTION_BEGIN */

/* ------------------------------------------------------------------------ */
/* Command machinery (wire/command.c): shared by micad and micas             */
/* ------------------------------------------------------------------------ */

/* wire_command_t.flags */
#define WIRE_CMD_ADMIN_ONLY    (1u << 0) /* only against the admin database */
#define WIRE_CMD_OK_SECONDARY  (1u << 1) /* may run on a secondary */
#define WIRE_CMD_NO_AUTH       (1u << 2) /* allowed before authentication */
#define WIRE_CMD_REQUIRES_AUTH (1u << 3) /* needs an authenticated user once auth is on */
#define WIRE_CMD_WRITE         (1u << 4) /* writes data (retryable-write labels apply) */
#define WIRE_CMD_LEGACY_OK     (1u << 5) /* may arrive as OP_QUERY (hello / isMaster) */
#define WIRE_CMD_NO_COMPRESS   (1u << 6) /* reply never compressed (handshake, SASL) */

/* UnsupportedOpQueryCommand: OP_QUERY carrying anything but the handshake. */
#define WIRE_ERR_UNSUPPORTED_OP_QUERY 352
/* SocketException: a listener cannot be set up (mongod then exits with code 48). */
#define WIRE_ERR_SOCKET 9001
/* OP_MSG without $db: MongoDB's location code (codeName "Location40571"). */
#define WIRE_ERR_MISSING_DB 40571

struct wire_server;

/*
 * wire_conn_info_t -- what a command may know and set about its connection.
 * Touched only by the command running for it (one request in flight per
 * connection), so it needs no lock.
 */
typedef struct wire_conn_info {
    int64_t id;             /* connectionId, from 1 */
    char remote[64];        /* "127.0.0.1:53122" */
    uint8_t compressors[3]; /* negotiated in hello, the client's order */
    uint8_t n_compressors;
    bool hello_done; /* a hello/isMaster was answered on it */
    /* currentOp's view of the connection (wire/curop.c; under its registry lock) */
    char app_name[128];      /* hello's client.application.name */
    bson_t *client_metadata; /* hello's client document, owned; NULL until sent */
    struct wire_opctx *op;   /* the operation running on it, NULL when idle */
    struct wire_conn_info *cur_next, *cur_prev;
    bool cur_listed;
    bool loopback;     /* the peer is 127.0.0.0/8 or ::1 (the localhost exception) */
    bool tls;          /* the connection completed a TLS handshake */
    char *tls_subject; /* verified client certificate subject (RFC 2253), or NULL */
    /* who is authenticated, SASL state (wire/authz.c); NULL: nobody */
    struct wire_auth_session *auth;
} wire_conn_info_t;

/*
 * wire_curop_info_t -- what an operation reports while it runs: currentOp's
 * planSummary/numYields/progress and the profiler's counters. The running thread
 * writes it through the wire_curop_* setters; strings are written under the
 * registry lock, counters are relaxed atomics, so currentOp may read any time.
 */
typedef struct wire_curop_info {
    char ns[256]; /* "<db>.<collection>" or "<db>.$cmd" */
    char op[16];  /* command, query, getmore, insert, update, remove */
    char plan_summary[192];
    char progress_msg[96]; /* "Index Build: scanning collection"; "" when none */
    int64_t progress_done, progress_total;
    int64_t num_yields, keys_examined, docs_examined, nreturned;
    int64_t ninserted, nmatched, nmodified, ndeleted, keys_inserted, keys_deleted;
    bool has_sort_stage;
    int waiting_for_lock;
} wire_curop_info_t;

/*
 * wire_opctx_t -- one command execution: the request's database and command
 * name, the generic arguments parsed once by wire_opctx_parse, the
 * connection, the server, and the park/resume state of an awaitable command.
 * Every pointer and bson_t is a view into the request, which outlives it.
 */
typedef struct wire_opctx {
    char db[128];     /* $db, or the database of OP_QUERY's "<db>.$cmd" */
    const char *name; /* the command name: the body's first field */
    const struct wire_command *cmd;
    bson_t body;               /* the command document (unwrapped from $query) */
    const wire_request_t *req; /* document sequences live here */
    bool legacy;               /* arrived as OP_QUERY */
    /* generic arguments */
    bool has_lsid;
    bson_t lsid;
    bool has_txn_number;
    int64_t txn_number;
    bool has_autocommit;
    bool autocommit;
    bool start_transaction;
    bool has_read_concern;
    bson_t read_concern;
    bool has_write_concern;
    bson_t write_concern;
    bool has_read_pref;
    bson_t read_pref;
    int64_t max_time_ms; /* 0: no limit */
    int64_t deadline_us; /* time_mono_us() deadline, 0: none */
    bool has_comment;
    bson_iter_t comment;     /* any type */
    const char *api_version; /* "1" or NULL */
    bool api_strict;
    bool api_deprecation_errors;
    /* where it runs */
    wire_conn_info_t *conn;     /* NULL in unit tests without a connection */
    struct wire_server *server; /* NULL in unit tests */
    void *app;                  /* the binary's state (wire_server_config_t.app) */
    int64_t start_us;
    /* awaitable commands: a handler sets park_ms and returns 0 with an empty
     * reply; the transport re-runs it with resumed = true after that long, or
     * sooner when wire_server_wake is called (topology change, shutdown). */
    int64_t park_ms;
    bool resumed;
    /* currentOp / killOp (wire/curop.c) */
    int64_t opid;  /* from 1 while registered; 0 otherwise */
    int kill_code; /* atomic: 0, or Interrupted/InterruptedAtShutdown once killed */
    /* atomic: 1 when a replica-set step-down must interrupt it (the op writes, or reads
     * linearizably); set by the binary (mongod/repl), read by its step-down sweep */
    int interrupt_at_stepdown;
    wire_curop_info_t info;
    struct wire_opctx *cur_next, *cur_prev;
    /* fields a failing handler adds to its error reply after codeName (MongoDB's
     * ErrorExtraInfo, e.g. DuplicateKey's keyPattern/keyValue): set through
     * wire_opctx_error_info, appended by wire_error_reply, freed by dispatch */
    bson_t *error_info;
} wire_opctx_t;

/* ------------------------------------------------------------------------ */
/* Running operations: currentOp / killOp (wire/curop.c)                     */
/* ------------------------------------------------------------------------ */

/*
 * wire_curop_begin / wire_curop_end -- register op as running on this thread
 * (a fresh opid, listed by currentOp, reachable by killOp) and take it off.
 * Dispatch calls them around every handler; work that runs outside a command
 * (the TTL monitor) has no op.
 */
void wire_curop_begin(wire_opctx_t *op);
void wire_curop_end(wire_opctx_t *op);
/* wire_curop_self -- the operation running on the calling thread, or NULL. */
wire_opctx_t *wire_curop_self(void);
/*
 * wire_curop_check -- THE interrupt check, called at every yield point (executor
 * works, pipeline stages, index-build scans, write retries, waits): Interrupted
 * 11601 "operation was interrupted" after killOp, InterruptedAtShutdown 11600
 * during shutdown, else 0. Cheap (one atomic load); no-op without an op.
 */
int wire_curop_check(status_t *st);
/* wire_curop_check_op -- the same for an explicit op (NULL: 0). */
int wire_curop_check_op(const wire_opctx_t *op, status_t *st);
/* wire_curop_kill -- mark opid killed; false when no such operation runs. */
bool wire_curop_kill(int64_t opid);
/* wire_curop_kill_all -- mark every running operation killed with code (shutdown). */
void wire_curop_kill_all(int code);
/*
 * wire_curop_kill_if -- mark killed, with code, every running op pred accepts
 * (pred runs under the registry lock: look at op, do not block). Returns how many.
 * IndexBuildAborted (276) reads "Index build aborted: dropIndexes was run meanwhile".
 */
int wire_curop_kill_if(bool (*pred)(const wire_opctx_t *op, void *arg), void *arg, int code);
/* wire_curop_count -- how many operations are registered now. */
int64_t wire_curop_count(void);
/* wire_curop_counts -- running ops that read (query/getmore), write (insert/update/remove), all. */
void wire_curop_counts(int64_t *readers, int64_t *writers, int64_t *total);

/* Setters for the running thread's op (all no-ops without one). */
void wire_curop_set_ns(const char *ns);
void wire_curop_set_op(const char *op_type);
void wire_curop_set_plan_summary(const char *summary);
/* wire_curop_set_progress -- long work's progress (msg NULL or "" clears it). */
void wire_curop_set_progress(const char *msg, int64_t done, int64_t total);
void wire_curop_set_waiting_for_lock(bool waiting);
/* wire_curop_add -- add to one counter of the running op (field: &info.x of the op). */
void wire_curop_add(int64_t *field, int64_t n);

/*
 * wire_curop_snapshot -- one document per running operation in currentOp's
 * shape (type, host, desc, connectionId, client, appName, clientMetadata,
 * active, currentOpTime, opid, secs_running, microsecs_running, op, ns,
 * command, planSummary, numYields, locks, waitingForLock, lsid, progress,
 * killPending, ...), appended to the array out with keys from *n on. With
 * idle_conns, connections with no running operation appear as
 * {active: false}. host is the server's "host:port".
 */
void wire_curop_snapshot(bool idle_conns, const char *host, bson_t *out, uint32_t *n);

/* wire_conn_set_client_metadata -- keep hello's client document for currentOp. */
void wire_conn_set_client_metadata(wire_conn_info_t *conn, const bson_t *client);
/* wire__conn_listed / wire__conn_unlisted -- the transport adds and removes connections. */
void wire__conn_listed(wire_conn_info_t *conn);
void wire__conn_unlisted(wire_conn_info_t *conn);

/* wire_cmd_fn -- a handler: fill reply (initialised by the caller) or return an error. */
typedef int (*wire_cmd_fn)(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st);

/* wire_command_t -- one row of a binary's command table. */
typedef struct wire_command {
    const char *name;
    wire_cmd_fn fn;
    uint32_t flags; /* WIRE_CMD_* */
    const char *help;
} wire_command_t;

/* wire_cmd_table_t -- a command table indexed for lookup by name. */
typedef struct wire_cmd_table {
    const wire_command_t *cmds; /* the rows as given (listCommands order) */
    size_t n;
    const wire_command_t **sorted; /* by name, for binary search */
    /*
     * authorize -- set by the binary once access control matters: called by
     * wire_cmd_dispatch after the table's own checks and before the handler;
     * a non-zero return (Unauthorized 13) is the reply. NULL: everything runs.
     */
    int (*authorize)(struct wire_opctx *op, status_t *st);
    /* gate (optional): checked before every handler (a replica-set member's
     * NotWritablePrimary / NotPrimaryNoSecondaryOk); set after init */
    int (*gate)(wire_opctx_t *op, const struct wire_command *cmd, status_t *st);
    /* after (optional): called when a handler succeeded (and did not park), before
     * ok: 1 is appended; a non-zero return turns the reply into that error (a
     * linearizable read confirms here that this node is still primary) */
    int (*after)(wire_opctx_t *op, bson_t *reply, status_t *st);
    /* decorate (optional): appends fields to every finished reply, success or error
     * (a replica-set member's operationTime and $clusterTime) */
    void (*decorate)(wire_opctx_t *op, bson_t *reply);
} wire_cmd_table_t;

/* wire_cmd_table_init -- index rows; fails (BadValue) on a duplicate or empty name. */
int wire_cmd_table_init(wire_cmd_table_t *t, const wire_command_t *cmds, size_t n, status_t *st);
/* wire_cmd_table_destroy -- free the index; NULL-safe. */
void wire_cmd_table_destroy(wire_cmd_table_t *t);
/* wire_cmd_find -- the row named exactly name (case-sensitive), or NULL. */
const wire_command_t *wire_cmd_find(const wire_cmd_table_t *t, const char *name);

/* wire_opctx_init -- an empty context bound to a connection/server (both may be NULL). */
void wire_opctx_init(wire_opctx_t *op, wire_conn_info_t *conn, struct wire_server *server,
                     void *app);
/*
 * wire_opctx_parse -- fill op from a parsed request: database, command name,
 * generic arguments (types checked, maxTimeMS validated). OP_QUERY is accepted
 * for "<db>.$cmd" only. Errors are statuses for an error reply.
 */
int wire_opctx_parse(wire_opctx_t *op, const wire_request_t *req, status_t *st);
/* wire_opctx_error_info -- the (created on first use) extra fields of op's error reply. */
bson_t *wire_opctx_error_info(wire_opctx_t *op);
/* wire_opctx_parse_body -- as wire_opctx_parse for a body and database alone (tests, micas). */
int wire_opctx_parse_body(wire_opctx_t *op, const char *db, const bson_t *body, status_t *st);

/*
 * wire_cmd_dispatch -- run op's command from table t: look it up (CommandNotFound),
 * check admin-only and legacy rules, call the handler, and append ok: 1.0 on
 * success or turn the status into the error reply. reply is initialised by the
 * caller and always holds a complete answer (unless the handler parked).
 * Returns 0 or the command's error code.
 */
int wire_cmd_dispatch(const wire_cmd_table_t *t, wire_opctx_t *op, bson_t *reply);

/* wire_cmd_in_api_v1 -- whether the command is part of the Stable API version 1 (cmd_rules.c). */
bool wire_cmd_in_api_v1(const char *name);
/*
 * wire_cmd_check_generic_rules -- checks before any command-specific
 * validation: a txnNumber outside a transaction on a command that is not a
 * retryable write (50768), apiStrict on a command outside API version 1 (323),
 * a writeConcern on a read command (72).
 */
int wire_cmd_check_generic_rules(const wire_opctx_t *op, const char *name, status_t *st);
/* wire_stage_check_api_strict -- APIStrictError (323) for an aggregation stage outside API v1. */
int wire_stage_check_api_strict(const wire_opctx_t *op, const char *stage, status_t *st);

/*
 * wire_error_reply -- THE function that turns a status into
 * {ok: 0.0, errmsg, code, codeName} (+ errorLabels), replacing reply's content.
 * op may be NULL; it decides retryable-write labels.
 */
void wire_error_reply(const status_t *st, const wire_opctx_t *op, bson_t *reply);
/* wire_code_name -- MongoDB's codeName, "Location<code>" for unnamed location codes. */
const char *wire_code_name(int code, char *buf, size_t len);

/*
 * wire_negotiate_compression -- hello's `compression`: the client's list
 * intersected with ours (snappy, zstd, zlib) in the client's order, stored on
 * the connection and appended to reply (nothing appended when empty).
 */
int wire_negotiate_compression(wire_opctx_t *op, const bson_t *hello, bson_t *reply, status_t *st);

/* ------------------------------------------------------------------------ */
/* Server transport (wire/transport*.c, wire/server*.c, wire/conn*.c)        */
/* ------------------------------------------------------------------------ */

typedef struct wire_server wire_server_t;

/* wire_tls_mode_t -- net.tls.mode. */
typedef enum wire_tls_mode {
    WIRE_TLS_DISABLED = 0,
    WIRE_TLS_ALLOW,
    WIRE_TLS_PREFER,
    WIRE_TLS_REQUIRE,
} wire_tls_mode_t;

/* wire_tls_config_t -- the TLS options (wire/tls.c tells the rules). */
typedef struct wire_tls_config {
    wire_tls_mode_t mode;
    const char *certificate_key_file; /* PEM: certificate chain and private key */
    const char *ca_file;              /* verify client certificates against it */
    const char *cluster_ca_file; /* tlsClusterCAFile: verify client certificates (not ca_file) */
    bool allow_invalid_certificates;
    bool allow_connections_without_certificates;
} wire_tls_config_t;

/* wire_tls_mode_by_name -- "disabled", "allowTLS", "preferTLS", "requireTLS"; -1 if unknown. */
int wire_tls_mode_by_name(const char *name);
/* wire_tls_pem_subject -- the subject (RFC 2253, bson_free'd) of a PEM file's first certificate. */
int wire_tls_pem_subject(const char *path, char **out, status_t *st);
/*
 * wire_x509_member_attrs -- the O, OU and DC attributes of an RFC 2253 subject,
 * sorted and joined with ',' ("" when it has none or they do not fit): what
 * MongoDB compares to tell a cluster member's certificate (clusterAuthMode x509).
 */
void wire_x509_member_attrs(const char *subject, char *out, size_t cap);

/* wire_server_config_t -- how to listen and what to run. */
typedef struct wire_server_config {
    const char *bind_ip; /* comma list of addresses or host names */
    bool bind_ip_all;    /* 0.0.0.0 and :: */
    int port;
    int n_loops;         /* I/O loops; 0: one per core */
    int max_conns;       /* beyond it: accept, log, close */
    int min_workers;     /* 0: 2 per core */
    int max_workers;     /* 0: 256 */
    int slow_ms;         /* "Slow query" threshold; < 0 logs none */
    bool handle_signals; /* SIGINT/SIGTERM stop wire_server_run */
    /*
     * op_done -- called on the worker after every command with its reply, result
     * code and duration (a parked awaitable command once, when it resumes, with
     * op->resumed set); the binary's counters (opcounters, metrics.commands),
     * profiler, slow-operation log, top and metrics hang here. When set, it
     * replaces the built-in "Slow query" line (slow_ms is then the binary's
     * business).
     */
    void (*op_done)(wire_opctx_t *op, const bson_t *reply, int code, int64_t micros);
    const wire_cmd_table_t *table;
    void *app;                    /* passed to handlers as op->app */
    const wire_tls_config_t *tls; /* NULL or mode disabled: plain only */
} wire_server_config_t;

/* wire_server_stats_t -- counters for serverStatus (a snapshot). */
typedef struct wire_server_stats {
    int64_t conns_current, conns_total, conns_active, conns_rejected;
    int64_t conns_awaiting; /* parked awaitable commands (not counted as active) */
    int64_t bytes_in, bytes_out, num_requests;
} wire_server_stats_t;

/*
 * wire_server_create -- bind every address (a busy port is an error here, not
 * later) and prepare the loops and workers; nothing runs until wire_server_run.
 */
int wire_server_create(const wire_server_config_t *cfg, wire_server_t **out, status_t *st);
/* wire_server_run -- serve until wire_server_stop or a signal; then drain and return 0. */
int wire_server_run(wire_server_t *srv, status_t *st);
/*
 * wire_server_stop -- ask the server to stop (thread-safe): listeners close,
 * in-flight commands finish and their replies are written, then connections close.
 */
void wire_server_stop(wire_server_t *srv, const char *reason);
/* wire_server_stopping -- whether a stop was asked. */
bool wire_server_stopping(const wire_server_t *srv);
/* wire_server_wake -- re-run every parked (awaitable) command now; thread-safe. */
void wire_server_wake(wire_server_t *srv);
/* wire_server_stats -- a snapshot of the counters. */
void wire_server_stats(const wire_server_t *srv, wire_server_stats_t *out);
/* wire_server_max_conns -- the configured connection limit. */
int wire_server_max_conns(const wire_server_t *srv);
/* wire_server_destroy -- free a server that is not running; NULL-safe. */
void wire_server_destroy(wire_server_t *srv);

/* ------------------------------------------------------------------------ */
/* HTTP scrape listener (wire/http.c)                                        */
/* ------------------------------------------------------------------------ */

typedef struct wire_http wire_http_t;

/*
 * wire_http_fn -- answer one GET/HEAD: append the body to body, set
 * *content_type (NULL: text/plain) and return the HTTP status. Runs on libuv's
 * thread pool, never on the listener's loop, so it may block briefly.
 */
typedef int (*wire_http_fn)(void *arg, const char *method, const char *path, wire_buf_t *body,
                            const char **content_type);

/*
 * wire_http_start -- listen on bind_ip:port (port 0: any free one) on a loop
 * thread of its own; a busy port is SocketException (9001) here.
 */
int wire_http_start(const char *bind_ip, int port, wire_http_fn fn, void *arg, wire_http_t **out,
                    status_t *st);
/* wire_http_port -- the port it listens on (the chosen one when started with 0). */
int wire_http_port(const wire_http_t *h);
/* wire_http_stop -- close the listener, let running handlers finish, free; NULL-safe. */
void wire_http_stop(wire_http_t *h);

/*
 * wire_worker_block_begin / _end -- bracket a wait that is not CPU work (a
 * journal fsync, awaitData, write concern, a remote call) on a worker
 * thread. The pool keeps a fixed number of *runnable* workers and grows only
 * to replace blocked ones, so an unmarked long wait holds a slot until the
 * pool's stall monitor (50 ms) adds a worker. No-ops off the pool's threads.
 */
void wire_worker_block_begin(void);
void wire_worker_block_end(void);

/* WIRE_TRANSPORT_SECTION_END */

/* ======================================================================== */
/* Authentication: SCRAM (wire/scram.c)                                      */
/* ======================================================================== */

/*
 * SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677) as MongoDB speaks them
 * over saslStart/saslContinue, both sides: the server's conversation (micad,
 * micas) and the client's (intra-cluster connections, tests). Pure state
 * machines over byte strings: no sockets, no storage. Every primitive is
 * OpenSSL's (PKCS5_PBKDF2_HMAC, HMAC, SHA-1/256, MD5 for SCRAM-SHA-1's
 * password digest, RAND_bytes, CRYPTO_memcmp, base64).
 */
typedef enum wire_scram_mech {
    WIRE_SCRAM_SHA1 = 1,
    WIRE_SCRAM_SHA256 = 2,
} wire_scram_mech_t;

/* WIRE_SCRAM_MAX_HASH -- the longest digest (SHA-256). */
#define WIRE_SCRAM_MAX_HASH 32
/* WIRE_SCRAM_MAX_SALT -- salts we store or accept (MongoDB makes 16 / 28 bytes). */
#define WIRE_SCRAM_MAX_SALT 64
/* WIRE_SCRAM_MAX_USER -- user names longer than this are refused while parsing. */
#define WIRE_SCRAM_MAX_USER 256
/*
 * Iteration counts: MongoDB's defaults (scramIterationCount 10000 and
 * scramSHA256IterationCount 15000), and the least a client accepts from a
 * server (4096, RFC 5802's example and MongoDB's minimum), so a hostile server
 * cannot make a client derive a weak key.
 */
#define WIRE_SCRAM_SHA1_ITERATIONS   10000
#define WIRE_SCRAM_SHA256_ITERATIONS 15000
#define WIRE_SCRAM_MIN_ITERATIONS    4096

/* wire_scram_cred_t -- one mechanism's stored credential, as system.users keeps it. */
typedef struct wire_scram_cred {
    wire_scram_mech_t mech;
    int iterations;
    uint8_t salt[WIRE_SCRAM_MAX_SALT];
    size_t salt_len;
    uint8_t stored_key[WIRE_SCRAM_MAX_HASH];
    uint8_t server_key[WIRE_SCRAM_MAX_HASH];
} wire_scram_cred_t;

/* wire_scram_mech_name -- "SCRAM-SHA-1" / "SCRAM-SHA-256". */
const char *wire_scram_mech_name(wire_scram_mech_t mech);
/* wire_scram_mech_by_name -- the mechanism of a name, or 0. */
wire_scram_mech_t wire_scram_mech_by_name(const char *name);
/* wire_scram_hash_len -- 20 or 32. */
size_t wire_scram_hash_len(wire_scram_mech_t mech);

/*
 * wire_scram_password_input -- the string SCRAM salts for mech: for SCRAM-SHA-1
 * MongoDB's digest hex(MD5(user ":mongo:" password)); for SCRAM-SHA-256 the
 * password itself (SASLprep of printable ASCII is the identity; other text is
 * used as given). out is bson_malloc'd and wiped by wire_scram_wipe_free.
 */
int wire_scram_password_input(wire_scram_mech_t mech, const char *user, const char *password,
                              char **out, status_t *st);
/* wire_scram_wipe_free -- zero a NUL-terminated secret and free it; NULL-safe. */
void wire_scram_wipe_free(char *secret);

/*
 * wire_scram_cred_derive -- StoredKey and ServerKey from a password input, a
 * salt and an iteration count (PBKDF2-HMAC).
 */
int wire_scram_cred_derive(wire_scram_mech_t mech, const char *password_input, const uint8_t *salt,
                           size_t salt_len, int iterations, wire_scram_cred_t *out, status_t *st);
/* wire_scram_cred_new -- a fresh random salt (hash length - 4 bytes) and the derived keys. */
int wire_scram_cred_new(wire_scram_mech_t mech, const char *user, const char *password,
                        int iterations, wire_scram_cred_t *out, status_t *st);
/* wire_scram_cred_to_bson -- {iterationCount, salt, storedKey, serverKey} (base64 strings). */
void wire_scram_cred_to_bson(const wire_scram_cred_t *c, bson_t *out);
/* wire_scram_cred_from_bson -- the inverse; BadValue for anything malformed. */
int wire_scram_cred_from_bson(wire_scram_mech_t mech, const bson_t *doc, wire_scram_cred_t *out,
                              status_t *st);

/*
 * wire_scram_b64_encode / _decode -- standard base64 with padding. decode
 * refuses anything but the canonical alphabet and padding (false), or output
 * past out_cap. encode returns the length written (NUL-terminated; 0 if
 * out_cap is too small).
 */
size_t wire_scram_b64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);
bool wire_scram_b64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap,
                           size_t *out_len);

/* wire_scram_server_t -- the server's side of one conversation. */
typedef struct wire_scram_server {
    wire_scram_mech_t mech;
    int step; /* 0 new, 1 server-first sent, 2 server-final sent, 3 done */
    char user[WIRE_SCRAM_MAX_USER + 1];
    char *client_first_bare;
    char *server_first;
    char *nonce; /* client nonce + server nonce */
    char gs2_header[WIRE_SCRAM_MAX_USER + 16];
    wire_scram_cred_t cred;
} wire_scram_server_t;

/* wire_scram_server_init / _destroy -- an empty conversation; destroy wipes and frees. */
void wire_scram_server_init(wire_scram_server_t *s, wire_scram_mech_t mech);
void wire_scram_server_destroy(wire_scram_server_t *s);
/*
 * wire_scram_server_parse_first -- parse client-first-message
 * ("n,,n=user,r=nonce"); the user name (with =2C / =3D decoded) lands in
 * s->user. Malformed input: BadValue; channel binding asked ("p="): BadValue.
 */
int wire_scram_server_parse_first(wire_scram_server_t *s, const uint8_t *msg, size_t len,
                                  status_t *st);
/*
 * wire_scram_server_first -- with the user's credential: server-first-message
 * ("r=<nonce>,s=<salt>,i=<n>") into *out (bson_malloc'd). server_nonce may be
 * NULL (24 random bytes, base64) -- tests pass RFC vectors.
 */
int wire_scram_server_first(wire_scram_server_t *s, const wire_scram_cred_t *cred,
                            const char *server_nonce, char **out, status_t *st);
/*
 * wire_scram_server_final -- check client-final-message (channel binding,
 * nonce, proof in constant time) and produce server-final-message
 * ("v=<signature>") into *out. A wrong proof is AuthenticationFailed.
 */
int wire_scram_server_final(wire_scram_server_t *s, const uint8_t *msg, size_t len, char **out,
                            status_t *st);

/* wire_scram_client_t -- the client's side of one conversation. */
typedef struct wire_scram_client {
    wire_scram_mech_t mech;
    int step;
    char *password_input; /* wiped on destroy */
    char *client_first_bare;
    char *client_nonce;
    uint8_t server_signature[WIRE_SCRAM_MAX_HASH];
} wire_scram_client_t;

/* wire_scram_client_init -- a conversation for user with its password (copied). */
int wire_scram_client_init(wire_scram_client_t *c, wire_scram_mech_t mech, const char *user,
                           const char *password, status_t *st);
/* wire_scram_client_init_input -- the same with the password input already computed. */
int wire_scram_client_init_input(wire_scram_client_t *c, wire_scram_mech_t mech,
                                 const char *password_input, status_t *st);
void wire_scram_client_destroy(wire_scram_client_t *c);
/* wire_scram_client_first -- client-first-message; nonce NULL: random. */
int wire_scram_client_first(wire_scram_client_t *c, const char *user, const char *nonce, char **out,
                            status_t *st);
/* wire_scram_client_final -- answer server-first-message with client-final-message. */
int wire_scram_client_final(wire_scram_client_t *c, const uint8_t *msg, size_t len, char **out,
                            status_t *st);
/* wire_scram_client_verify -- check server-final-message (the server knew the key). */
int wire_scram_client_verify(wire_scram_client_t *c, const uint8_t *msg, size_t len, status_t *st);

/*
 * wire_scram_authenticate -- the whole client conversation over any
 * transport: `call` runs one command on db and fills reply (initialised by
 * the callee). Sends saslStart (with skipEmptyExchange) and saslContinue until
 * done. Used on a new intra-cluster connection (as __system with the keyFile)
 * and by tests. An {ok: 0} reply becomes its status.
 */
typedef int (*wire_scram_call_fn)(void *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                                  status_t *st);
int wire_scram_authenticate(wire_scram_mech_t mech, const char *db, const char *user,
                            const char *password_input, wire_scram_call_fn call, void *ctx,
                            status_t *st);

/*
 * wire_scram_client_auth_init -- the same conversation as a wire_client_auth_t
 * step machine, for wire_client_pool_set_auth: every new intra-cluster
 * connection logs in (as __system@local with the keyFile) before its first
 * command. The password input is copied; destroy wipes it (after the pools).
 */
int wire_scram_client_auth_init(wire_client_auth_t *out, wire_scram_mech_t mech, const char *db,
                                const char *user, const char *password_input, status_t *st);
void wire_scram_client_auth_destroy(wire_client_auth_t *auth);

/* ======================================================================== */
/* Authorization: actions, resources, privileges, built-in roles (authz.c)   */
/* ======================================================================== */

/*
 * WIRE_AUTH_ACTIONS -- MongoDB's action types that Mica checks, by their
 * MongoDB names (the strings in system.roles privileges and rolesInfo).
 */
/* The action list is data: wire/auth_actions.def, one WIRE_ACTION(name) per row. */
typedef enum wire_action {
#define WIRE_ACTION(a) WIRE_ACT_##a,
#include "wire/auth_actions.def"
#undef WIRE_ACTION
    WIRE_ACT_COUNT
} wire_action_t;

/* wire_actions_t -- a set of actions (a bitset). */
typedef struct wire_actions {
    uint64_t bits[2];
} wire_actions_t;

/* wire_action_name / wire_action_by_name -- MongoDB's name; -1 when unknown. */
const char *wire_action_name(wire_action_t a);
int wire_action_by_name(const char *name);
/* wire_actions_add / _has -- one action into / in a set. */
void wire_actions_add(wire_actions_t *s, wire_action_t a);
bool wire_actions_has(const wire_actions_t *s, wire_action_t a);
/* wire_actions_parse -- "find insert ..." (space separated) into a set; false on an unknown name.
 */
bool wire_actions_parse(const char *list, wire_actions_t *out);

/*
 * wire_res_kind_t -- resource patterns, as MongoDB's ResourcePattern:
 *   DB        {db: D, collection: ""}: database D and its non-system collections
 *   NS        {db: D, collection: C}: exactly D.C
 *   COLL      {db: "", collection: C}: C in every database
 *   ANY_NORMAL {db: "", collection: ""}: every database and non-system collection
 *   CLUSTER   {cluster: true}
 *   ANY       {anyResource: true}: everything, system collections included
 */
typedef enum wire_res_kind {
    WIRE_RES_DB = 1,
    WIRE_RES_NS,
    WIRE_RES_COLL,
    WIRE_RES_ANY_NORMAL,
    WIRE_RES_CLUSTER,
    WIRE_RES_ANY,
} wire_res_kind_t;

/* wire_resource_t -- a pattern, or (DB / NS / CLUSTER) a resource a command needs. */
typedef struct wire_resource {
    wire_res_kind_t kind;
    char db[64];
    char coll[256];
} wire_resource_t;

/* wire_privilege_t -- actions on a resource pattern. */
typedef struct wire_privilege {
    wire_resource_t res;
    wire_actions_t actions;
} wire_privilege_t;

/* wire_privset_t -- a growable list of privileges (merged per pattern). */
typedef struct wire_privset {
    wire_privilege_t *v;
    size_t n, cap;
} wire_privset_t;

void wire_privset_init(wire_privset_t *p);
void wire_privset_destroy(wire_privset_t *p);
/* wire_privset_add -- union actions into the entry of the same pattern (or append). */
void wire_privset_add(wire_privset_t *p, const wire_resource_t *res, const wire_actions_t *acts);
/* wire_resource_matches -- whether pattern covers the required resource. */
bool wire_resource_matches(const wire_resource_t *pattern, const wire_resource_t *required);
/* wire_privset_allows -- whether the set grants every action of acts on the resource. */
bool wire_privset_allows(const wire_privset_t *p, const wire_resource_t *required,
                         const wire_actions_t *acts);
/* wire_privset_to_bson -- [{resource: {...}, actions: [...]}] appended to an array. */
void wire_privset_to_bson(const wire_privset_t *p, bson_t *arr);
/*
 * wire_privilege_from_bson -- one {resource, actions} of system.roles or a
 * role command; BadValue / FailedToParse with MongoDB's messages.
 */
int wire_privilege_from_bson(const bson_t *doc, wire_privilege_t *out, status_t *st);
/* wire_resource_to_bson -- {db, collection} / {cluster: true} / {anyResource: true}. */
void wire_resource_to_bson(const wire_resource_t *r, bson_t *out);

/*
 * wire_builtin_role -- whether (role, db) names a built-in role: the database
 * roles (read, readWrite, dbAdmin, dbOwner, userAdmin) on any database, the
 * others (clusterMonitor, clusterManager, clusterAdmin, hostManager, backup,
 * restore, *AnyDatabase, root, __system) on admin only. If privs is not NULL
 * the role's privileges are added to it (sub-roles included).
 */
bool wire_builtin_role(const char *role, const char *db, wire_privset_t *privs);
/* wire_builtin_role_names -- the built-in role names valid on db, as an array into arr. */
void wire_builtin_role_names(const char *db, bson_t *arr);

/*
 * wire_redact_command -- cmd copied into out (initialised by the caller) with
 * every secret replaced by "xxx": top-level pwd (createUser, updateUser),
 * payload (saslStart, saslContinue) and speculativeAuthenticate (hello), as
 * MongoDB redacts before logging or reporting a command.
 */
void wire_redact_command(const bson_t *cmd, bson_t *out);

/* wire_auth_session_t -- one connection's authentication state. */
typedef struct wire_auth_session {
    bool authenticated;
    char user[WIRE_SCRAM_MAX_USER + 1];
    char db[64];
    bool is_system; /* __system: every action on every resource */
    bson_t roles;   /* [{role, db}], every role held (inherited included) */
    wire_privset_t privs;
    int64_t generation; /* the user-cache generation these privileges were resolved at */
    /* a SASL conversation in progress */
    bool conv_active;
    int32_t conv_id;
    char conv_db[64];
    char conv_mech[32];
    bool skip_empty; /* saslStart options.skipEmptyExchange */
    wire_scram_server_t scram;
} wire_auth_session_t;

/* wire_auth_session_get -- the connection's session, created on first use. */
wire_auth_session_t *wire_auth_session_get(wire_conn_info_t *conn);
/* wire_auth_session_logout -- forget the user (and any conversation). */
void wire_auth_session_logout(wire_auth_session_t *s);
/* wire_auth_session_free -- at connection close; NULL-safe. */
void wire_auth_session_free(wire_auth_session_t *s);

#endif /* MICA_WIRE_H */
