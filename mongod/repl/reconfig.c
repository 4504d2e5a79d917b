/*
 * reconfig.c -- replSetReconfig and replSetStepUp, as MongoDB (4.4+) runs
 * them.
 *
 * A safe reconfig runs on the primary only, one at a time (ConfigurationInProgress
 * 109 for a second one). It first waits until the current config is
 * committed -- a majority of voters report its version in their heartbeat
 * answers, and the commit point has reached what this node held when it
 * installed it (CurrentConfigNotCommittedYet 308 when maxTimeMS runs out) --
 * then checks the new config against the old (config.c: a greater version,
 * same set name and replicaSetId, no _id or arbiterOnly flips, at most one
 * voter added or removed), stamps it with the current term, stores it,
 * installs it (the coordinator keeps its role, topology.c) and waits until a
 * majority of the new config's voters hold it. Heartbeats carry it: a member
 * whose last reported version is older gets it with the next heartbeat, and a
 * member answering with a newer one sends it back (node.c).
 *
 * force: true runs on any member, skips the voter rule and the waits, takes
 * the version up by 10000 + a random amount below 100000 and drops the term
 * (-1), so it wins over whatever config the rest of the set holds.
 */
#include "mongod/repl/repl_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define g repl__g

static bool g_reconfig_running; /* under g.lock */

/* ST_ERR_DONE -- on failure, keep the code and leave through `done`. */
#define ST_ERR_DONE(x)                                                                             \
    do {                                                                                           \
        if ((ret = (x)) != 0)                                                                      \
            goto done;                                                                             \
    } while (0)

/* wait_a_bit -- sleep on the state's condition for up to 100 ms (lock held). */
static void wait_a_bit(int64_t deadline_us)
{
    int64_t wait_us = 100000, now = time_mono_us();
    if (deadline_us != 0 && deadline_us - now < wait_us)
        wait_us = deadline_us - now;
    if (wait_us <= 0)
        return;
    int64_t wake_ms = time_now_ms() + wait_us / 1000 + 1;
    struct timespec ts = {wake_ms / 1000, (wake_ms % 1000) * 1000000};
    pthread_cond_timedwait(&g.cond, &g.lock, &ts);
}

/*
 * await_commitment -- the current config is held by a majority of voters
 * and, with oplog, the commit point reached `since` (lock held; released
 * while waiting). MaxTimeMSExpired 50 at the deadline, PrimarySteppedDown
 * 189 when this node stops being primary.
 */
static int await_commitment(micad_t *m, bool oplog, repl_optime_t since, int64_t deadline_us,
                            status_t *st)
{
    for (;;) {
        if (g.stopping || g.self < 0 || g.topo.state != REPL_PRIMARY)
            return status_set(st, ERR_PrimarySteppedDown,
                              "Primary stepped down while waiting for the config to be committed");
        bool ok = repl__config_committed();
        if (ok && oplog)
            ok = repl_optime_cmp(g.topo.commit_point, since) >= 0;
        if (ok)
            return 0;
        if (deadline_us != 0 && time_mono_us() >= deadline_us)
            return status_set(st, ERR_MaxTimeMSExpired,
                              "Timed out waiting for the current config { version: %lld, term: "
                              "%lld } to be committed on a majority of voting members",
                              (long long)g.config.version, (long long)g.config.term);
        repl__unlock();
        repl__refresh_own_position(m);
        repl__lock();
        wait_a_bit(deadline_us);
    }
}

/* the optime this node held when it installed its current config (oplog commitment) */
static repl_optime_t g_installed_at;

/* parse_new -- the new config, its replicaSetId defaulting to the old one (lock held). */
static int parse_new(const bson_t *doc, repl_config_t *c, status_t *st)
{
    ST_RET(repl_config_parse(doc, c, st));
    if (!c->has_replica_set_id && g.config.has_replica_set_id) {
        bson_oid_copy(&g.config.replica_set_id, &c->replica_set_id);
        c->has_replica_set_id = true;
    }
    return 0;
}

/* repl_reconfig -- see repl.h. */
int repl_reconfig(micad_t *m, const bson_t *doc, bool force, int64_t deadline_us, bson_t *reply,
                  status_t *st)
{
    (void)reply;
    int ret = 0;
    repl_config_t c;
    if (!g.enabled)
        return status_set(st, ERR_NoReplicationEnabled,
                          "This node was not started with replication enabled.");
    repl_config_init(&c);
    repl__lock();
    if (!g.has_config) {
        ret = status_set(st, ERR_NotYetInitialized, "no replset config has been received");
        goto out;
    }
    if (g_reconfig_running) {
        ret = status_set(st, ERR_ConfigurationInProgress,
                         "Cannot run replSetReconfig because the node is currently updating its "
                         "configuration");
        goto out;
    }
    if (!force && g.state != REPL_PRIMARY) {
        ret = status_set(st, ERR_NotWritablePrimary,
                         "replSetReconfig should only be run on a writable PRIMARY. Current "
                         "state %s;",
                         repl_state_str(g.state));
        goto out;
    }
    g_reconfig_running = true;
    if (!force) {
        /* the config in force must be committed before another may follow it */
        ret = await_commitment(m, g.config.term != -1, g_installed_at, deadline_us, st);
        if (ret == ERR_MaxTimeMSExpired) {
            char msg[sizeof(st->msg)];
            snprintf(msg, sizeof(msg), "%s", st->msg);
            status_reset(st);
            ret = status_set(st, ERR_CurrentConfigNotCommittedYet,
                             "New config is rejected :: caused by :: %s", msg);
        } else if (ret == ERR_PrimarySteppedDown) {
            status_reset(st);
            ret = status_set(st, ERR_NotWritablePrimary,
                             "New config is rejected :: caused by :: Primary stepped down while "
                             "waiting for the current config to be committed");
        }
        if (ret != 0)
            goto done;
    }
    ST_ERR_DONE(parse_new(doc, &c, st));
    if (force) {
        int64_t v = c.version > g.config.version ? c.version : g.config.version;
        c.version = v + 10000 + (int64_t)(random() % 100000);
        c.term = -1;
    } else {
        if (c.version <= g.config.version) {
            ret = status_set(st, ERR_NewReplicaSetConfigurationIncompatible,
                             "New replica set configuration version and term must be greater "
                             "than old, but { version: %lld, term: %lld } is not greater than { "
                             "version: %lld, term: %lld } for replica set %s",
                             (long long)c.version, (long long)g.topo.term,
                             (long long)g.config.version, (long long)g.config.term, c.set_name);
            goto done;
        }
        c.term = g.topo.term;
    }
    ST_ERR_DONE(repl_config_check_reconfig(&g.config, &c, force, st));
    int self = repl__find_self(m, &c);
    if (self < 0) {
        ret = status_set(st, ERR_NodeNotFound,
                         "No host described in new configuration with { version: %lld, term: "
                         "%lld } for replica set %s maps to this node",
                         (long long)c.version, (long long)c.term, c.set_name);
        goto done;
    }
    const repl_member_cfg_t *me = &c.members[self];
    if (!force && (me->votes == 0 || me->priority == 0 || me->arbiter_only)) {
        ret = status_set(st, ERR_NodeNotElectable,
                         "This node, %s, with _id %d is not electable under the new "
                         "configuration with { version: %lld, term: %lld } for replica set %s",
                         me->host, me->id, (long long)c.version, (long long)c.term, c.set_name);
        goto done;
    }
    repl_config_normalise(&c);
    ST_ERR_DONE(repl__put_local(m, "local.system.replset", &c.raw, st));
    LOG(INFO, REPL, 21353, "replSetReconfig config object parses ok", "force", BCON_BOOL(force),
        "config", BCON_DOCUMENT(&c.raw));
    g_installed_at = g.applied;
    ST_ERR_DONE(repl__take_up_config(m, &c, self, st));
    if (!force) {
        /* MongoDB 4.4+: answer once a majority of the new config's voters hold it */
        ret = await_commitment(m, false, g_installed_at, deadline_us, st);
        if (ret != 0) {
            char msg[sizeof(st->msg)];
            int code = st->code;
            snprintf(msg, sizeof(msg), "%s", st->msg);
            status_reset(st);
            ret = status_set(st, code,
                             "Reconfig finished but failed to propagate to a majority :: caused "
                             "by :: %s",
                             msg);
        }
    }
done:
    g_reconfig_running = false;
out:
    repl__unlock();
    repl_config_destroy(&c);
    return ret;
}

/*
 * repl_step_up -- replSetStepUp: stand now (the heartbeat thread runs the
 * rounds), wait for the candidacy to end, then answer ok only as primary.
 */
int repl_step_up(micad_t *m, bool skip_dry_run, status_t *st)
{
    (void)m;
    if (!g.enabled)
        return status_set(st, ERR_NoReplicationEnabled,
                          "This node was not started with replication enabled.");
    repl__lock();
    if (!g.has_config || g.self < 0) {
        repl__unlock();
        return status_set(st, ERR_NotYetInitialized, "no replset config has been received");
    }
    LOG(INFO, ELECTION, 21581, "Received replSetStepUp request", "skipDryRun",
        BCON_BOOL(skip_dry_run));
    repl_actions_t a = {0};
    int ret = repl_topo_step_up(&g.topo, skip_dry_run, &a, st);
    repl__handle(&a);
    if (ret == 0) {
        pthread_cond_broadcast(&g.cond); /* the heartbeat thread runs the vote rounds */
        /* the rounds end within two election timeouts (each waits one at most) */
        int64_t deadline = time_mono_us() + (g.config.election_timeout_ms * 2 + 5000) * 1000;
        while (g.topo.candidate && !g.stopping && time_mono_us() < deadline)
            wait_a_bit(deadline);
        if (g.topo.state != REPL_PRIMARY)
            ret = status_set(st, ERR_CommandFailed, "Election failed.");
    }
    if (ret != 0)
        LOG(INFO, ELECTION, 21582, "replSetStepUp request failed", "error", BCON_UTF8(st->msg));
    repl__unlock();
    return ret;
}
