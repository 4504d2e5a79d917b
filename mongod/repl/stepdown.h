/*
 * stepdown.h -- which running operations a step-down interrupts. Pure (no
 * state, no I/O): library mica_repl, tested in tests/unit/repl/test_stepdown.c.
 *
 * MongoDB 4.2+ (ReplicationCoordinatorImpl::_killConflictingOpsOnStepUpAndStepDown)
 * interrupts with InterruptedDueToReplStateChange (11602) every user operation
 * that took the global lock in a mode that conflicts with writes (IX or X: it
 * wrote or was about to), whether it is still writing or already waiting for
 * its write concern; reads (find, getMore, ...) keep running and open cursors
 * stay usable; connections stay open. A linearizable read writes a no-op, so
 * it is interrupted too. mongod/repl/node.c carries the rule out with the
 * killOp machinery (wire_curop_kill_if).
 */
#ifndef MICA_MONGOD_REPL_STEPDOWN_H
#define MICA_MONGOD_REPL_STEPDOWN_H

#include "mongod/repl/read_concern.h"

#include <bson/bson.h>
#include <stdbool.h>

/*
 * repl_stepdown_interrupts -- whether a step-down must interrupt the command
 * named name (body: the command document, for aggregate's pipeline), given
 * whether the command table marks it a write and its read concern level:
 * write commands; an aggregate whose last stage is $out or $merge (not an
 * explain: explain does not write); a linearizable read.
 */
bool repl_stepdown_interrupts(const char *name, bool write_cmd, const bson_t *body,
                              repl_rc_level_t level);

/*
 * repl_stepdown_victim -- the sweep's rule for one running operation: marked
 * by repl_stepdown_interrupts (or because it wrote), not the operation that
 * carries out the step-down itself (replSetStepDown, a reconfig that removes
 * this node), and not already killed.
 */
bool repl_stepdown_victim(bool marked, bool is_self, bool kill_pending);

#endif
