/*
 * fail_point.c -- the test-only failpoint commands (common/failpoint.c holds
 * the registry):
 *   {configureFailPoint: <name>, mode: ..., data: {...}} -> {count: <timesEntered before>}
 *   {waitForFailPoint: <name>, timesEntered: n, maxTimeMS: ms} -> {} once entered n times
 * Both exist only with --setParameter enableTestCommands=1; otherwise they
 * answer exactly as an unknown command (CommandNotFound 59), as mongod, where
 * they are not even registered. They are admin-only; that check is made here,
 * after the test-commands one, so a disabled command is "not found" on every db.
 */
#include "mongod/micad.h"

/* test_command_gate -- CommandNotFound when test commands are off, then admin-only. */
static int test_command_gate(const wire_opctx_t *op, const char *name, status_t *st)
{
    if (opts_param(OPTS_PARAM_enableTestCommands) == 0)
        return status_set(st, ERR_CommandNotFound, "no such command: '%s'", name);
    if (strcmp(op->db, "admin") != 0)
        return status_set(st, ERR_Unauthorized, "%s may only be run against the admin database.",
                          name);
    return 0;
}

/* failpoint_arg -- the failpoint the command's first field names. */
static int failpoint_arg(const bson_t *cmd, fp_id_t *id, status_t *st)
{
    bson_iter_t it;
    const char *name = "";
    int i;

    if (bson_iter_init(&it, cmd) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it))
        name = bson_iter_utf8(&it, NULL);
    if ((i = fp_lookup(name)) < 0)
        return status_set(st, ERR_FailPointSetFailed, "%s not found", name);
    *id = (fp_id_t)i;
    return 0;
}

/* micad_cmd_configure_fail_point -- set a failpoint's mode and data. */
int micad_cmd_configure_fail_point(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    fp_id_t id;
    int64_t count = 0;

    ST_RET(test_command_gate(op, "configureFailPoint", st));
    ST_RET(failpoint_arg(cmd, &id, st));
    ST_RET(fp_configure(id, cmd, &count, st));
    BSON_APPEND_INT64(reply, "count", count);
    return 0;
}

/* micad_cmd_wait_for_fail_point -- block until the failpoint was entered timesEntered times. */
int micad_cmd_wait_for_fail_point(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    fp_id_t id;
    bson_iter_t it;
    int64_t n;

    ST_RET(test_command_gate(op, "waitForFailPoint", st));
    if (!bson_iter_init_find(&it, cmd, "timesEntered"))
        return status_set(st, 40414,
                          "BSON field 'waitForFailPoint.timesEntered' is missing but a required "
                          "field");
    if (!bsonu_number_as_int64(bson_iter_value(&it), &n))
        return status_set(st, ERR_TypeMismatch,
                          "BSON field 'waitForFailPoint.timesEntered' is the wrong type '%s', "
                          "expected type 'long'",
                          bsonu_type_name(bson_iter_type(&it)));
    if (!bson_iter_init_find(&it, cmd, "maxTimeMS"))
        return status_set(st, 40414,
                          "BSON field 'waitForFailPoint.maxTimeMS' is missing but a required "
                          "field");
    ST_RET(failpoint_arg(cmd, &id, st));
    return fp_wait_entered(id, n, op->deadline_us, st);
}
