"""test_repl_reconfig.py -- membership changes on a real set on loopback:
replSetReconfig's rules (primary only, a greater version, one voter at a
time, ConfigurationInProgress / NotWritablePrimary codes), mongosh's rs.add(),
rs.remove(), rs.addArb() and rs.reconfig() (the new config reaching every
member through heartbeats, a removed member going REMOVED, an arbiter voting
but holding no data), replSetStepUp, and a force reconfig on a secondary."""
import os
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402
from replset import code_of, direct, wait_for  # noqa: E402

SET = "rsr"
servers = []


def host(i):
    return "127.0.0.1:%d" % servers[i].port


def hello(i):
    return direct(servers[i]).admin.command("hello")


def primary_index(among=None):
    for i in (among if among is not None else range(len(servers))):
        try:
            if hello(i).get("isWritablePrimary"):
                return i
        except pymongo.errors.PyMongoError:
            pass
    return None


def config_of(i):
    return direct(servers[i]).admin.command("replSetGetConfig")["config"]


def mongosh(i, script):
    sh = os.environ.get("MONGOSH") or "mongosh"
    env = dict(os.environ, MONGOSH_NO_UPDATE_CHECK="1", DO_NOT_TRACK="1")
    env.pop("ASAN_OPTIONS", None)  # mongosh is node, not our code
    uri = "mongodb://%s/?directConnection=true" % host(i)
    r = subprocess.run([sh, "--quiet", "--norc", uri, "--eval", script], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env, timeout=300)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    return out


def test_initiate_two():
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": 0, "host": host(0)}, {"_id": 1, "host": host(1)}],
           "settings": {"electionTimeoutMillis": 2000, "heartbeatIntervalMillis": 300}}
    assert direct(servers[0]).admin.command("replSetInitiate", cfg)["ok"] == 1
    wait_for(lambda: primary_index([0, 1]) is not None, what="a primary")
    wait_for(lambda: hello(1).get("setName") == SET, what="member 1 to take up the config")


def test_reconfig_rules():
    p = primary_index([0, 1])
    s = 1 - p
    cfg = config_of(p)
    cfg["version"] += 1
    # only a primary reconfigures (without force)
    assert code_of(lambda: direct(servers[s]).admin.command("replSetReconfig", cfg)) == 10107
    # the version must go up
    old = dict(cfg, version=cfg["version"] - 1)
    assert code_of(lambda: direct(servers[p]).admin.command("replSetReconfig", old)) == 103
    # two voters at once: refused (MongoDB 7.0's InvalidReplicaSetConfig)
    two = dict(cfg, members=cfg["members"] + [{"_id": 2, "host": host(2)},
                                              {"_id": 3, "host": host(3)}])
    assert code_of(lambda: direct(servers[p]).admin.command("replSetReconfig", two)) == 93
    # a host may not change its _id
    moved = dict(cfg, members=[cfg["members"][0], dict(cfg["members"][1], _id=7)])
    assert code_of(lambda: direct(servers[p]).admin.command("replSetReconfig", moved)) == 103
    # the primary must stay electable
    me = [m for m in cfg["members"] if m["host"] == host(p)][0]
    unelect = dict(cfg, members=[dict(m, priority=0) if m is me else m for m in cfg["members"]])
    assert code_of(lambda: direct(servers[p]).admin.command("replSetReconfig", unelect)) == 104
    # not a document
    assert code_of(lambda: direct(servers[p]).admin.command("replSetReconfig", 1)) == 14
    # a priority change is fine; every member ends with the new version and the term stamped
    ok = dict(cfg, members=[dict(m, priority=2) if m is me else m for m in cfg["members"]])
    assert direct(servers[p]).admin.command("replSetReconfig", ok)["ok"] == 1
    term = direct(servers[p]).admin.command("replSetGetStatus")["term"]
    for i in (0, 1):
        wait_for(lambda: config_of(i)["version"] == cfg["version"], what="the new config everywhere")
    assert config_of(p)["term"] == term


def test_mongosh_add_member():
    p = primary_index([0, 1])
    c = pymongo.MongoClient("mongodb://%s,%s/?replicaSet=%s" % (host(0), host(1), SET),
                            serverSelectionTimeoutMS=30000)
    c.test.items.insert_many([{"_id": i} for i in range(20)])
    out = mongosh(p, "const r = rs.add('%s'); print('ok=' + r.ok)" % host(2))
    assert "ok=1" in out, out
    wait_for(lambda: hello(2).get("secondary"), what="the added member to become a secondary")
    wait_for(lambda: direct(servers[2]).test.get_collection(
        "items", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED).count_documents({}) == 20,
        what="the added member to catch up")
    assert sorted(hello(p)["hosts"]) == sorted([host(0), host(1), host(2)])
    # the added member created the collection with the primary's UUID (the oplog's ui)
    def uuid_of(i):
        db = direct(servers[i]).get_database(
            "test", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)
        return [x for x in db.list_collections() if x["name"] == "items"][0]["info"]["uuid"]
    assert uuid_of(2) == uuid_of(p)
    dbh = [direct(servers[i]).test.command(
        "dbHash", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED) for i in (p, 2)]
    assert dbh[0]["uuids"]["items"] == dbh[1]["uuids"]["items"], dbh
    v = config_of(p)["version"]
    for i in (0, 1, 2):
        wait_for(lambda: config_of(i)["version"] == v, what="the same config on every member")
    # the primary sees the new member's state in its next heartbeat answer
    wait_for(lambda: sorted(m["stateStr"] for m in direct(servers[p]).admin.command(
        "replSetGetStatus")["members"]) == ["PRIMARY", "SECONDARY", "SECONDARY"],
        what="the primary to see every member up")
    c.close()


def test_mongosh_remove_member():
    p = primary_index([0, 1, 2])
    victim = [i for i in (0, 1, 2) if i != p][-1]
    out = mongosh(p, "const r = rs.remove('%s'); print('ok=' + r.ok)" % host(victim))
    assert "ok=1" in out, out
    assert host(victim) not in hello(p)["hosts"]
    wait_for(lambda: code_of(lambda: direct(servers[victim]).admin.command("replSetGetStatus")) == 93,
             what="the removed member to go REMOVED")
    h = hello(victim)
    assert h["isWritablePrimary"] is False and h["secondary"] is False, h
    assert h.get("info") == "Does not have a valid replica set config", h
    # it takes no writes and the set goes on without it
    c = direct(servers[p])
    c.test.items.insert_one({"_id": "after-remove"})


def test_mongosh_add_arbiter():
    p = primary_index([0, 1, 2])
    out = mongosh(p, "const r = rs.addArb('%s'); print('ok=' + r.ok)" % host(3))
    assert "ok=1" in out, out
    wait_for(lambda: hello(3).get("arbiterOnly") is True, what="the arbiter to take up its role")
    st = direct(servers[3]).admin.command("replSetGetStatus")
    me = [m for m in st["members"] if m.get("self")][0]
    assert me["stateStr"] == "ARBITER", me
    assert hello(p)["arbiters"] == [host(3)]
    assert host(3) not in hello(p)["hosts"]
    # it votes (majority counts it), holds no data
    assert st["votingMembersCount"] == 3, st
    # the primary's view of it
    wait_for(lambda: [m for m in direct(servers[p]).admin.command("replSetGetStatus")["members"]
                      if m["name"] == host(3)][0]["stateStr"] == "ARBITER",
             what="the primary to see the arbiter")
    c = direct(servers[p])
    c.test.items.insert_one({"_id": "with-arbiter"})
    # an arbiter applies nothing: its oplog stays empty, and it serves no reads
    assert direct(servers[3]).local["oplog.rs"].count_documents({}) == 0
    assert code_of(lambda: direct(servers[3]).test.items.find_one()) == 13436


def test_mongosh_reconfig():
    p = primary_index([0, 1, 2])
    v = config_of(p)["version"]
    # the primary's own priority goes up (another member's would start a priority takeover)
    out = mongosh(p, "const c = rs.conf(); c.members.find(m => m.host === '%s').priority = 3; "
                     "const r = rs.reconfig(c); print('ok=' + r.ok)" % host(p))
    assert "ok=1" in out, out
    cfg = config_of(p)
    assert cfg["version"] == v + 1
    assert [m for m in cfg["members"] if m["host"] == host(p)][0]["priority"] == 3


def test_step_up():
    p = primary_index([0, 1, 2])
    s = [i for i in (0, 1) if i != p][0]
    # a primary has nothing to do
    assert direct(servers[p]).admin.command("replSetStepUp")["ok"] == 1
    # the arbiter cannot stand
    assert code_of(lambda: direct(servers[3]).admin.command("replSetStepUp")) == 125
    # equal priorities, so no priority takeover undoes the step-up
    cfg = config_of(p)
    cfg["version"] += 1
    for m in cfg["members"]:
        m["priority"] = 0 if m.get("arbiterOnly") else 1
    direct(servers[p]).admin.command("replSetReconfig", cfg)
    assert primary_index([0, 1]) == p
    wait_for(lambda: code_of(lambda: direct(servers[s]).admin.command("replSetStepUp",
                                                                      skipDryRun=True)) == 0
             and hello(s).get("isWritablePrimary"), what="the secondary to step up")
    wait_for(lambda: not hello(p).get("isWritablePrimary"), what="the old primary to step down")


def test_oplog_stats_and_mongosh_replication_info():
    p = primary_index([0, 1])
    s = 1 - p
    c = direct(servers[p])
    names = c.local.list_collection_names()
    assert "oplog.rs" in names, names
    info = [x for x in c.local.list_collections() if x["name"] == "oplog.rs"][0]
    assert info["options"]["capped"] is True, info
    st = c.local.command("collStats", "oplog.rs")
    assert st["capped"] is True and st["maxSize"] == info["options"]["size"], st
    n = len(list(c.local["oplog.rs"].find({}, {"_id": 0, "ts": 1})))
    assert st["count"] == n and st["size"] > 0 and st["storageSize"] > 0, (st, n)
    agg = list(c.local["oplog.rs"].aggregate([{"$collStats": {"storageStats": {}, "count": {}}}]))
    assert agg[0]["storageStats"]["capped"] is True, agg
    assert agg[0]["count"]["count"] == n, agg
    # a standalone-only name stays unknown elsewhere
    assert "oplog.rs" not in c.test.list_collection_names()
    show = "function show(r) { print(JSON.stringify(r && r.value !== undefined ? r.value : r)); } "
    out = mongosh(p, show + "show(rs.printReplicationInfo()); const i = db.getReplicationInfo(); "
                     "print('usedMB=' + i.usedMB + ' timeDiff=' + i.timeDiff); "
                     "show(rs.printSecondaryReplicationInfo())")
    assert "configured oplog size" in out and "log length start to end" in out, out
    assert "usedMB=" in out and "timeDiff=" in out and "undefined" not in out, out
    assert ("source: %s" % host(s)) in out and "syncedTo" in out, out
    # on a secondary, printReplicationInfo works from its own oplog too
    out = mongosh(s, show + "show(rs.printReplicationInfo())")
    assert "configured oplog size" in out, out


def test_force_reconfig_on_secondary():
    p = primary_index([0, 1])
    s = 1 - p
    cfg = config_of(s)
    v = cfg["version"]
    # a safe reconfig on a secondary is refused, a forced one is taken
    assert code_of(lambda: direct(servers[s]).admin.command("replSetReconfig", cfg)) == 10107
    r = direct(servers[s]).admin.command("replSetReconfig", cfg, force=True)
    assert r["ok"] == 1
    got = config_of(s)
    assert got["version"] >= v + 10000, (got["version"], v)
    assert "term" not in got or got["term"] == -1, got
    # the primary takes the forced config up through heartbeats
    wait_for(lambda: config_of(p)["version"] == got["version"], what="the forced config to spread")


def main():
    for _ in range(4):
        s = Server(["--replSet", SET])
        s.start()
        servers.append(s)
    failed = run_tests(collect_tests(globals()))
    for s in servers:
        if failed:
            s.failed = True
        s.stop()
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
