/*
 * generic_args.c -- the rules on a command's generic arguments that depend on
 * what this node is, checked before every handler (wire_cmd_table_t.check).
 *
 * A standalone has no oplog, so it can neither run a multi-document
 * transaction nor give the read concerns that need one. MongoDB refuses them
 * rather than quietly running the command without the guarantee, and so do
 * we: a client that sent startTransaction must never have its writes applied
 * at once with no way to abort them, and one that asked for linearizable or
 * snapshot reads must not believe it got them. A replica set member lets a
 * bare txnNumber through (retryable writes) but still refuses what is not
 * built yet: multi-document transactions answer NotImplemented until their
 * issue lands; read concerns are honoured by repl/read.c.
 *
 * micad_command_gate is the command table's one gate: these checks, then the
 * replica-set member's (repl_command_gate: NotWritablePrimary, ...).
 */
#include "mongod/micad.h"
#include "mongod/repl/read_concern.h"
#include "mongod/repl/repl.h"

#include <string.h>

/* check_txn_args -- transaction numbers are for replica set members and routers only. */
static int check_txn_args(const wire_opctx_t *op, bool member, status_t *st)
{
    if (!member && (op->has_txn_number || op->has_autocommit || op->start_transaction))
        return status_set(st, ERR_IllegalOperation,
                          "Transaction numbers are only allowed on a replica set member or mongos");
    if (member && (op->has_autocommit || op->start_transaction))
        return status_set(st, ERR_NotImplemented,
                          "multi-document transactions are not implemented yet in Mica");
    return 0;
}

/*
 * check_read_concern -- readConcern: parsed with MongoDB's rules
 * (repl/read_concern.c), a level the command takes (InvalidOptions), and on a
 * standalone only what it can honour: "local", "available" and "majority"
 * (the same as local there: every write is committed); the others need an
 * oplog (NotAReplicaSet; cluster-time waits IllegalOperation, as MongoDB).
 */
static int check_read_concern(const wire_opctx_t *op, bool member, repl_rc_t *rc, status_t *st)
{
    ST_RET(repl_rc_parse(op->has_read_concern ? &op->read_concern : NULL, rc, st));
    if (!rc->present)
        return 0;
    ST_RET(repl_rc_check_support(op->name, rc, st));
    if (member)
        return 0;
    if (rc->level == REPL_RC_LINEARIZABLE)
        return status_set(st, ERR_NotAReplicaSet,
                          "node needs to be a replica set member to use read concern");
    if (rc->level == REPL_RC_SNAPSHOT)
        return status_set(st, ERR_NotAReplicaSet,
                          "node needs to be a replica set member to use readConcern: snapshot");
    if (rc->has_after_cluster_time || rc->has_at_cluster_time)
        return status_set(st, ERR_IllegalOperation,
                          "Cannot specify %s readConcern without replication enabled",
                          rc->has_after_cluster_time ? "afterClusterTime" : "atClusterTime");
    if (rc->has_after_optime)
        return status_set(st, ERR_NotAReplicaSet,
                          "node needs to be a replica set member to use read concern");
    return 0;
}

/* micad_command_gate -- the role-dependent checks, run before every command. */
int micad_command_gate(wire_opctx_t *op, const wire_command_t *cmd, status_t *st)
{
    bool member = repl_enabled();
    repl_rc_t rc;
    ST_RET(check_txn_args(op, member, st));
    ST_RET(check_read_concern(op, member, &rc, st));
    if (member)
        ST_RET(repl_command_gate(op, cmd, &rc, st));
    /* cluster-time gossip, read concern waits, the read source (repl/read.c) */
    return repl_read_begin(op, &rc, st);
}

/* micad_command_after -- after a successful handler: a linearizable read's confirmation. */
int micad_command_after(wire_opctx_t *op, bson_t *reply, status_t *st)
{
    (void)reply;
    return repl_read_after(op, st);
}

/* micad_reply_decorate -- a member's operationTime and $clusterTime on every reply. */
void micad_reply_decorate(wire_opctx_t *op, bson_t *reply)
{
    repl_reply_decorate(op, reply);
}
