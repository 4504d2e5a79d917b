/*
 * shutdown.c -- {shutdown: 1[, force: bool][, timeoutSecs: n]} on admin: a
 * clean stop, as mongod 5.0+ does it.
 *
 *   - On the primary of a replica set it first steps down, waiting up to
 *     timeoutSecs (default 15) for an electable secondary to catch up. None
 *     caught up: without force the command fails (ExceededTimeLimit 262, the
 *     step-down's error) and the node keeps running as primary; with force it
 *     steps down anyway and stops.
 *   - Then, when timeoutSecs was given and force was not, running operations
 *     get up to timeoutSecs to finish on their own (mongod's quiesce period);
 *     force, or no timeoutSecs on a standalone, interrupts them at once.
 *   - Then the transport stops accepting, interrupts what still runs
 *     (InterruptedAtShutdown 11600), writes the in-flight replies (this one
 *     included) and closes connections; main closes storage and exits 0.
 *
 * killOp of the shutdown command while it waits abandons the shutdown.
 */
#include "mongod/micad.h"
#include "mongod/repl/repl.h"

#include <string.h>
#include <time.h>

/* MICAD_SHUTDOWN_DEFAULT_SECS -- mongod's default timeoutSecs (5.0+). */
#define MICAD_SHUTDOWN_DEFAULT_SECS 15

/* quiesce -- wait until this command is the only operation running, or the deadline. */
static int quiesce(int64_t deadline_us, status_t *st)
{
    int64_t waited_for = 0;
    while (wire_curop_count() > 1 && time_mono_us() < deadline_us) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        waited_for = wire_curop_count() - 1;
        ST_RET(wire_curop_check(st));
        wire_worker_block_begin();
        nanosleep(&ts, NULL);
        wire_worker_block_end();
    }
    if (waited_for > 0)
        LOG(INFO, COMMAND, 4695102, "Quiesce period over", "operationsLeft",
            BCON_INT64(wire_curop_count() - 1));
    return 0;
}

/* micad_cmd_shutdown -- validate, step down (replica-set primary), quiesce, stop. */
int micad_cmd_shutdown(wire_opctx_t *op, const bson_t *cmd, bson_t *reply, status_t *st)
{
    bson_iter_t it;
    bool force = false, has_timeout = false;
    int64_t timeout_secs = MICAD_SHUTDOWN_DEFAULT_SECS;

    (void)reply;
    if (bson_iter_init_find(&it, cmd, "force")) {
        if (!BSON_ITER_HOLDS_BOOL(&it) && !BSON_ITER_HOLDS_NUMBER(&it))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field 'shutdown.force' is the wrong type, expected type "
                              "'bool'");
        force = bson_iter_as_bool(&it);
    }
    if (bson_iter_init_find(&it, cmd, "timeoutSecs")) {
        if (!BSON_ITER_HOLDS_NUMBER(&it))
            return status_set(st, ERR_TypeMismatch,
                              "BSON field 'shutdown.timeoutSecs' is the wrong type, expected a "
                              "number");
        timeout_secs = bson_iter_as_int64(&it);
        if (timeout_secs < 0)
            return status_set(st, ERR_BadValue, "timeoutSecs must be non-negative, got %lld",
                              (long long)timeout_secs);
        has_timeout = true;
    }
    LOG(INFO, COMMAND, 21100, "Received shutdown command", "force", BCON_BOOL(force), "timeoutSecs",
        BCON_INT64(timeout_secs), "remote", BCON_UTF8(op->conn ? op->conn->remote : ""));

    if (repl_enabled() && repl_is_writable_primary()) {
        status_t sd = STATUS_INIT;
        int64_t step_down_secs = timeout_secs > 120 ? timeout_secs : 120;
        int ret = repl_step_down(micad_of(op), step_down_secs, timeout_secs, force, &sd);
        if (ret != 0 && ret != ERR_NotWritablePrimary) {
            if (!force) {
                LOG(INFO, COMMAND, 4695100, "Shutdown refused: step-down failed", "error",
                    BCON_UTF8(sd.msg));
                return status_set(st, ret, "%s", sd.msg);
            }
            LOG(WARNING, COMMAND, 4695101, "Step-down failed; shutting down anyway (force)",
                "error", BCON_UTF8(sd.msg));
        }
    }
    if (has_timeout && !force && timeout_secs > 0)
        ST_RET(quiesce(time_mono_us() + timeout_secs * 1000000, st));
    if (op->server != NULL)
        wire_server_stop(op->server, "shutdown command");
    return 0;
}
