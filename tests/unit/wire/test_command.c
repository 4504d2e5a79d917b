/*
 * test_command.c -- the shared command machinery (wire/command.c): table
 * lookup, dispatch checks, generic-argument parsing, the error reply, and
 * hello's compression negotiation. No sockets: requests are built in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "wire/wire.h"

/* ---- a small table for dispatch ---- */

static int ok_handler(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    BSON_APPEND_UTF8(reply, "ran", op->name);
    return 0;
}

static int failing_handler(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    return status_set(st, ERR_NotWritablePrimary, "not primary");
}

static int silent_failure(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    return ERR_BadValue; /* no message: dispatch must still produce a complete reply */
}

static int parking_handler(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    if (!op->resumed) {
        op->park_ms = 1000;
        return 0;
    }
    BSON_APPEND_BOOL(reply, "waited", true);
    return 0;
}

static const wire_command_t cmds[] = {
    {"ping", ok_handler, WIRE_CMD_NO_AUTH, "ping"},
    {"hello", ok_handler, WIRE_CMD_LEGACY_OK, "hello"},
    {"isMaster", ok_handler, WIRE_CMD_LEGACY_OK, "legacy hello"},
    {"shutdown", ok_handler, WIRE_CMD_ADMIN_ONLY, "stop"},
    {"insert", failing_handler, WIRE_CMD_WRITE, "write"},
    {"fail", failing_handler, 0, "fails"},
    {"silent", silent_failure, 0, "fails without a message"},
    {"await", parking_handler, 0, "parks"},
};

static wire_cmd_table_t table;

static int setup(void **state)
{
    status_t st = STATUS_INIT;
    return wire_cmd_table_init(&table, cmds, sizeof(cmds) / sizeof(cmds[0]), &st);
}

static int teardown(void **state)
{
    wire_cmd_table_destroy(&table);
    return 0;
}

/* field helpers */
static int64_t i64(const bson_t *d, const char *k)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, d, k))
        fail_msg("no field %s", k);
    return bson_iter_as_int64(&it);
}

static const char *str(const bson_t *d, const char *k)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, d, k) || !BSON_ITER_HOLDS_UTF8(&it))
        fail_msg("no string field %s", k);
    return bson_iter_utf8(&it, NULL);
}

/* dispatch_json -- parse a body on db and dispatch it; reply initialised here. */
static int dispatch_json(const char *db, const char *json, bson_t *reply, status_t *st)
{
    bson_error_t err;
    bson_t *body = bson_new_from_json((const uint8_t *)json, -1, &err);
    wire_opctx_t op;
    int rc;
    assert_non_null(body);
    wire_opctx_init(&op, NULL, NULL, NULL);
    bson_init(reply);
    rc = wire_opctx_parse_body(&op, db, body, st);
    if (rc == 0)
        rc = wire_cmd_dispatch(&table, &op, reply);
    else
        wire_error_reply(st, &op, reply);
    bson_destroy(body);
    return rc;
}

/* ---- dispatch cases ---- */

typedef struct dispatch_case {
    const char *name;
    const char *db;
    const char *json;
    int code;
    const char *code_name;
    const char *errmsg;
} dispatch_case_t;

static const dispatch_case_t dispatch_cases[] = {
    {"known command runs", "test", "{\"ping\": 1}", 0, NULL, NULL},
    {"unknown command", "test", "{\"nosuch\": 1}", 59, "CommandNotFound",
     "no such command: 'nosuch'"},
    {"names are case-sensitive", "test", "{\"Ping\": 1}", 59, "CommandNotFound",
     "no such command: 'Ping'"},
    {"empty body", "test", "{}", 59, "CommandNotFound", "no such command: ''"},
    {"admin-only elsewhere", "test", "{\"shutdown\": 1}", 13, "Unauthorized",
     "shutdown may only be run against the admin database."},
    {"admin-only on admin", "admin", "{\"shutdown\": 1}", 0, NULL, NULL},
    {"handler error", "test", "{\"fail\": 1}", 10107, "NotWritablePrimary", "not primary"},
    {"handler error without message", "test", "{\"silent\": 1}", 2, "BadValue", "silent failed"},
    {"negative maxTimeMS", "test", "{\"ping\": 1, \"maxTimeMS\": -1}", 2, "BadValue", NULL},
    {"fractional maxTimeMS", "test", "{\"ping\": 1, \"maxTimeMS\": 1.5}", 2, "BadValue", NULL},
    {"string maxTimeMS", "test", "{\"ping\": 1, \"maxTimeMS\": \"10\"}", 2, "BadValue",
     "maxTimeMS must be a number"},
    {"huge maxTimeMS", "test", "{\"ping\": 1, \"maxTimeMS\": 3000000000}", 2, "BadValue", NULL},
    {"readConcern not a document", "test", "{\"ping\": 1, \"readConcern\": 1}", 14, "TypeMismatch",
     NULL},
    {"writeConcern not a document", "test", "{\"ping\": 1, \"writeConcern\": \"x\"}", 14,
     "TypeMismatch", NULL},
    {"lsid not a document", "test", "{\"ping\": 1, \"lsid\": 5}", 14, "TypeMismatch", NULL},
    {"txnNumber not a long", "test", "{\"ping\": 1, \"txnNumber\": 1}", 14, "TypeMismatch", NULL},
    {"unknown apiVersion", "test", "{\"ping\": 1, \"apiVersion\": \"2\"}", 322, "APIVersionError",
     NULL},
    {"apiStrict without apiVersion", "test", "{\"ping\": 1, \"apiStrict\": true}", 322,
     "APIVersionError", NULL},
    {"good generic arguments", "test",
     "{\"ping\": 1, \"maxTimeMS\": 100, \"comment\": [1], \"readConcern\": {\"level\": "
     "\"local\"}, \"lsid\": {\"id\": 1}, "
     "\"apiVersion\": \"1\", \"apiStrict\": false}",
     0, NULL, NULL},
};

static void test_dispatch_cases(void **state)
{
    for (size_t i = 0; i < sizeof(dispatch_cases) / sizeof(dispatch_cases[0]); i++) {
        const dispatch_case_t *c = &dispatch_cases[i];
        status_t st = STATUS_INIT;
        bson_t reply;
        bson_iter_t it;
        int rc = dispatch_json(c->db, c->json, &reply, &st);
        if (rc != c->code)
            fail_msg("%s: code %d, want %d", c->name, rc, c->code);
        assert_true(bson_iter_init_find(&it, &reply, "ok"));
        assert_int_equal(bson_iter_type(&it), BSON_TYPE_DOUBLE);
        if (c->code == 0) {
            assert_true(bson_iter_double(&it) == 1.0);
        } else {
            assert_true(bson_iter_double(&it) == 0.0);
            assert_int_equal(i64(&reply, "code"), c->code);
            assert_string_equal(str(&reply, "codeName"), c->code_name);
            if (c->errmsg)
                assert_string_equal(str(&reply, "errmsg"), c->errmsg);
        }
        bson_destroy(&reply);
    }
}

static void test_generic_arguments_are_parsed_once(void **state)
{
    bson_error_t err;
    bson_t *body = bson_new_from_json(
        (const uint8_t *)"{\"find\": \"c\", \"maxTimeMS\": 250, \"comment\": \"hi\", "
                         "\"lsid\": {\"id\": 1}, \"txnNumber\": {\"$numberLong\": \"7\"}, "
                         "\"autocommit\": false, \"startTransaction\": true, "
                         "\"writeConcern\": {\"w\": 1}, \"$readPreference\": {\"mode\": "
                         "\"primary\"}}",
        -1, &err);
    wire_opctx_t op;
    status_t st = STATUS_INIT;
    wire_opctx_init(&op, NULL, NULL, NULL);
    assert_int_equal(wire_opctx_parse_body(&op, "db1", body, &st), 0);
    assert_string_equal(op.name, "find");
    assert_string_equal(op.db, "db1");
    assert_int_equal(op.max_time_ms, 250);
    assert_true(op.deadline_us > op.start_us);
    assert_true(op.has_comment && BSON_ITER_HOLDS_UTF8(&op.comment));
    assert_true(op.has_lsid);
    assert_true(op.has_txn_number);
    assert_int_equal(op.txn_number, 7);
    assert_true(op.has_autocommit && !op.autocommit && op.start_transaction);
    assert_true(op.has_write_concern && op.has_read_pref && !op.has_read_concern);
    bson_destroy(body);
}

static void test_op_msg_requires_db(void **state)
{
    wire_request_t req;
    wire_opctx_t op;
    status_t st = STATUS_INIT;
    bson_t *body = BCON_NEW("ping", BCON_INT32(1));
    bson_t reply = BSON_INITIALIZER;
    char buf[32];

    memset(&req, 0, sizeof(req));
    req.op_code = WIRE_OP_MSG;
    bson_init_static(&req.body, bson_get_data(body), body->len);
    wire_opctx_init(&op, NULL, NULL, NULL);
    assert_int_equal(wire_opctx_parse(&op, &req, &st), 40571);
    assert_string_equal(st.msg, "OP_MSG requests require a $db argument");
    wire_error_reply(&st, &op, &reply);
    assert_string_equal(str(&reply, "codeName"), "Location40571");
    assert_string_equal(wire_code_name(40571, buf, sizeof(buf)), "Location40571");
    bson_destroy(&reply);
    bson_destroy(body);
}

static void test_op_query_handshake_only(void **state)
{
    wire_request_t req;
    wire_opctx_t op;
    status_t st = STATUS_INIT;
    bson_t *wrapped = BCON_NEW("$query", "{", "isMaster", BCON_INT32(1), "}", "$readPreference",
                               "{", "mode", BCON_UTF8("primary"), "}");
    bson_t *find = BCON_NEW("ping", BCON_INT32(1));
    bson_t reply = BSON_INITIALIZER;

    memset(&req, 0, sizeof(req));
    req.op_code = WIRE_OP_QUERY;
    req.full_collection_name = "admin.$cmd";
    bson_init_static(&req.body, bson_get_data(wrapped), wrapped->len);
    wire_opctx_init(&op, NULL, NULL, NULL);
    assert_int_equal(wire_opctx_parse(&op, &req, &st), 0);
    assert_string_equal(op.name, "isMaster");
    assert_string_equal(op.db, "admin");
    assert_true(op.legacy);
    assert_int_equal(wire_cmd_dispatch(&table, &op, &reply), 0);

    /* a command that is not part of the handshake: UnsupportedOpQueryCommand */
    bson_init_static(&req.body, bson_get_data(find), find->len);
    wire_opctx_init(&op, NULL, NULL, NULL);
    assert_int_equal(wire_opctx_parse(&op, &req, &st), 0);
    assert_int_equal(wire_cmd_dispatch(&table, &op, &reply), 352);
    assert_string_equal(str(&reply, "codeName"), "UnsupportedOpQueryCommand");

    /* a query on a collection is not a command at all */
    req.full_collection_name = "test.coll";
    wire_opctx_init(&op, NULL, NULL, NULL);
    assert_int_equal(wire_opctx_parse(&op, &req, &st), 352);
    bson_destroy(&reply);
    bson_destroy(wrapped);
    bson_destroy(find);
}

static void test_retryable_write_error_gets_label(void **state)
{
    status_t st = STATUS_INIT;
    bson_t reply;
    bson_iter_t it;
    dispatch_json("test", "{\"insert\": \"c\", \"txnNumber\": {\"$numberLong\": \"1\"}}", &reply,
                  &st);
    assert_true(bson_iter_init_find(&it, &reply, "errorLabels"));
    bson_destroy(&reply);
    /* without txnNumber it is not a retryable write: no label */
    dispatch_json("test", "{\"insert\": \"c\"}", &reply, &st);
    assert_false(bson_iter_init_find(&it, &reply, "errorLabels"));
    bson_destroy(&reply);
    /* a non-write command never gets it */
    dispatch_json("test", "{\"fail\": 1, \"txnNumber\": {\"$numberLong\": \"1\"}}", &reply, &st);
    assert_false(bson_iter_init_find(&it, &reply, "errorLabels"));
    bson_destroy(&reply);
}

static void test_parked_command_has_no_reply_until_resumed(void **state)
{
    bson_t *body = BCON_NEW("await", BCON_INT32(1));
    wire_opctx_t op;
    status_t st = STATUS_INIT;
    bson_t reply = BSON_INITIALIZER;
    wire_opctx_init(&op, NULL, NULL, NULL);
    assert_int_equal(wire_opctx_parse_body(&op, "admin", body, &st), 0);
    assert_int_equal(wire_cmd_dispatch(&table, &op, &reply), 0);
    assert_int_equal(op.park_ms, 1000);
    assert_true(bson_empty(&reply));
    op.resumed = true;
    op.park_ms = 0;
    assert_int_equal(wire_cmd_dispatch(&table, &op, &reply), 0);
    assert_int_equal(i64(&reply, "ok"), 1);
    assert_int_equal(i64(&reply, "waited"), 1);
    bson_destroy(&reply);
    bson_destroy(body);
}

/* the after / decorate hooks: "ping" passes, "hello" is turned into an error by after */
static int hook_after(wire_opctx_t *op, bson_t *reply, status_t *st)
{
    (void)reply;
    if (strcmp(op->name, "hello") == 0)
        return status_set(st, ERR_LinearizableReadConcernError, "not confirmed");
    return 0;
}

static void hook_decorate(wire_opctx_t *op, bson_t *reply)
{
    (void)op;
    BSON_APPEND_INT32(reply, "decorated", 1);
}

static void test_after_and_decorate_hooks(void **state)
{
    status_t st = STATUS_INIT;
    bson_t reply;
    bson_iter_t it;
    table.after = hook_after;
    table.decorate = hook_decorate;
    /* success: the handler's fields, ok, then the decoration */
    assert_int_equal(dispatch_json("admin", "{\"ping\": 1}", &reply, &st), 0);
    assert_int_equal(i64(&reply, "ok"), 1);
    assert_int_equal(i64(&reply, "decorated"), 1);
    assert_true(bson_iter_init_find(&it, &reply, "ran"));
    bson_destroy(&reply);
    /* after refuses: the reply is its error, decorated */
    assert_int_equal(dispatch_json("admin", "{\"hello\": 1}", &reply, &st),
                     ERR_LinearizableReadConcernError);
    assert_int_equal(i64(&reply, "ok"), 0);
    assert_string_equal(str(&reply, "codeName"), "LinearizableReadConcernError");
    assert_int_equal(i64(&reply, "decorated"), 1);
    bson_destroy(&reply);
    /* a handler's error and an unknown command are decorated too; after is not called */
    assert_int_equal(dispatch_json("admin", "{\"fail\": 1}", &reply, &st), ERR_NotWritablePrimary);
    assert_int_equal(i64(&reply, "decorated"), 1);
    bson_destroy(&reply);
    dispatch_json("admin", "{\"nosuch\": 1}", &reply, &st);
    assert_int_equal(i64(&reply, "code"), ERR_CommandNotFound);
    assert_int_equal(i64(&reply, "decorated"), 1);
    bson_destroy(&reply);
    table.after = NULL;
    table.decorate = NULL;
}

static void test_table_rejects_duplicates_and_finds_exactly(void **state)
{
    static const wire_command_t dup[] = {{"a", ok_handler, 0, ""}, {"a", ok_handler, 0, ""}};
    static const wire_command_t unnamed[] = {{"", ok_handler, 0, ""}};
    wire_cmd_table_t t;
    status_t st = STATUS_INIT;
    assert_int_equal(wire_cmd_table_init(&t, dup, 2, &st), ERR_BadValue);
    assert_int_equal(wire_cmd_table_init(&t, unnamed, 1, &st), ERR_BadValue);
    assert_non_null(wire_cmd_find(&table, "isMaster"));
    assert_null(wire_cmd_find(&table, "ismaster"));
    assert_null(wire_cmd_find(&table, "zzz"));
    assert_null(wire_cmd_find(&table, ""));
}

/* ---- compression negotiation ---- */

typedef struct comp_case {
    const char *name;
    const char *json;
    int code;
    const char *want[3]; /* the reply's list; NULL-terminated */
} comp_case_t;

static const comp_case_t comp_cases[] = {
    {"client order kept, unknown and duplicates dropped",
     "{\"hello\": 1, \"compression\": [\"zstd\", \"nosuch\", \"zlib\", \"zstd\"]}",
     0,
     {"zstd", "zlib", NULL}},
    {"all three",
     "{\"hello\": 1, \"compression\": [\"snappy\", \"zlib\", \"zstd\"]}",
     0,
     {"snappy", "zlib", "zstd"}},
    {"noop is not offered", "{\"hello\": 1, \"compression\": [\"noop\"]}", 0, {NULL}},
    {"none asked", "{\"hello\": 1}", 0, {NULL}},
    {"not an array", "{\"hello\": 1, \"compression\": \"zlib\"}", 14, {NULL}},
    {"not strings", "{\"hello\": 1, \"compression\": [1]}", 14, {NULL}},
};

static void test_compression_negotiation(void **state)
{
    for (size_t i = 0; i < sizeof(comp_cases) / sizeof(comp_cases[0]); i++) {
        const comp_case_t *c = &comp_cases[i];
        bson_error_t err;
        bson_t *body = bson_new_from_json((const uint8_t *)c->json, -1, &err);
        wire_conn_info_t conn;
        wire_opctx_t op;
        status_t st = STATUS_INIT;
        bson_t reply = BSON_INITIALIZER;
        bson_iter_t it, arr;
        size_t n = 0;

        memset(&conn, 0, sizeof(conn));
        wire_opctx_init(&op, &conn, NULL, NULL);
        int rc = wire_negotiate_compression(&op, body, &reply, &st);
        if (rc != c->code)
            fail_msg("%s: code %d want %d", c->name, rc, c->code);
        if (rc == 0) {
            if (bson_iter_init_find(&it, &reply, "compression")) {
                bson_iter_recurse(&it, &arr);
                while (bson_iter_next(&arr)) {
                    assert_non_null(c->want[n]);
                    assert_string_equal(bson_iter_utf8(&arr, NULL), c->want[n]);
                    assert_int_equal(conn.compressors[n], wire_compressor_by_name(c->want[n]));
                    n++;
                }
            }
            assert_true(n == 3 || c->want[n] == NULL);
            assert_int_equal(conn.n_compressors, n);
        }
        bson_destroy(&reply);
        bson_destroy(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MICA_TEST(fn) cmocka_unit_test(fn),
#include "tests.gen.h"
#undef MICA_TEST
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
