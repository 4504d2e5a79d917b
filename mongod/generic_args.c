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
 * built yet: multi-document transactions and snapshot/linearizable reads
 * answer NotImplemented until their issue lands.
 *
 * micad_command_gate is the command table's one gate: these checks, then the
 * replica-set member's (repl_command_gate: NotWritablePrimary, ...).
 */
#include "mongod/micad.h"
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
 * check_read_concern -- readConcern: a known level, known fields, and only
 * what a standalone can honour ("local", "available", and "majority", which on
 * a standalone is the same as local: every write is committed).
 */
static int check_read_concern(const wire_opctx_t *op, bool member, status_t *st)
{
    bson_iter_t it;

    if (!op->has_read_concern || !bson_iter_init(&it, &op->read_concern))
        return 0;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "level") == 0) {
            const char *level;
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return status_set(st, ERR_TypeMismatch,
                                  "BSON field 'readConcern.level' is the wrong type '%s', "
                                  "expected type 'string'",
                                  bsonu_type_name(bson_iter_type(&it)));
            level = bson_iter_utf8(&it, NULL);
            if (strcmp(level, "local") == 0 || strcmp(level, "available") == 0 ||
                strcmp(level, "majority") == 0)
                continue;
            if (member && (strcmp(level, "linearizable") == 0 || strcmp(level, "snapshot") == 0))
                return status_set(st, ERR_NotImplemented,
                                  "readConcern level '%s' is not implemented yet in Mica", level);
            if (strcmp(level, "linearizable") == 0)
                return status_set(st, ERR_NotAReplicaSet,
                                  "node needs to be a replica set member to use read concern");
            if (strcmp(level, "snapshot") == 0)
                return status_set(st, ERR_NotAReplicaSet,
                                  "node needs to be a replica set member to use readConcern: "
                                  "snapshot");
            return status_set(st, ERR_FailedToParse,
                              "BSON field 'readConcern.level' has an invalid value '%s': expected "
                              "local, majority, linearizable, available or snapshot",
                              level);
        } else if (strcmp(k, "afterClusterTime") == 0 || strcmp(k, "atClusterTime") == 0 ||
                   strcmp(k, "afterOpTime") == 0) {
            if (member)
                continue; /* a member reads at or after its own last applied optime */
            return status_set(st, ERR_NotAReplicaSet,
                              "node needs to be a replica set member to use read concern");
        } else if (strcmp(k, "provenance") == 0) {
            continue; /* where a default came from; informational */
        } else {
            return status_set(st, ERR_InvalidOptions, "Unrecognized option in readConcern: %s", k);
        }
    }
    return 0;
}

/* micad_command_gate -- the role-dependent checks, run before every command. */
int micad_command_gate(wire_opctx_t *op, const wire_command_t *cmd, status_t *st)
{
    bool member = repl_enabled();
    ST_RET(check_txn_args(op, member, st));
    ST_RET(check_read_concern(op, member, st));
    if (member)
        return repl_command_gate(op, cmd, st);
    return 0;
}
