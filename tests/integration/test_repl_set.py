"""test_repl_set.py -- a real three-member set on loopback: replSetInitiate
with a config (quorum check by heartbeat, the config reaching the others
through heartbeats), an election, every kind of write and catalog change
replicated (each member ends with the same documents, indexes and oplog
entries), pymongo following the set's connection string, replSetGetStatus
showing every member healthy, and a failover: the primary killed with
SIGKILL, another member elected in a higher term, writes going on, and the
restarted member catching up as a secondary."""
import os
import signal
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402
from replset import direct, wait_for, primary_index as primary_of  # noqa: E402

SET = "rs0"
servers = []


def snapshot(s):
    """{collection: (documents, index names)} of the test database, read on s."""
    db = direct(s).get_database("test", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)
    out = {}
    for name in sorted(db.list_collection_names()):
        coll = db[name]
        docs = sorted(coll.find({}), key=lambda d: repr(d["_id"]))
        out[name] = (docs, sorted(i["name"] for i in coll.list_indexes()))
    return out


def test_initiate_three():
    hosts = ["127.0.0.1:%d" % s.port for s in servers]
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": i, "host": h} for i, h in enumerate(hosts)],
           "settings": {"electionTimeoutMillis": 2000, "heartbeatIntervalMillis": 300}}
    r = direct(servers[0]).admin.command("replSetInitiate", cfg)
    assert r["ok"] == 1, r
    wait_for(lambda: primary_of(servers) is not None, what="a primary")
    for s in servers:
        wait_for(lambda: direct(s).admin.command("hello").get("setName") == SET,
                 what="every member to take up the config")


def test_status_all_healthy():
    p = primary_of(servers)
    def healthy():
        st = direct(servers[p]).admin.command("replSetGetStatus")
        states = sorted(m["stateStr"] for m in st["members"])
        return states == ["PRIMARY", "SECONDARY", "SECONDARY"] and \
            all(m["health"] == 1 for m in st["members"])
    wait_for(healthy, what="all members healthy")


def uri():
    return "mongodb://%s/?replicaSet=%s" % (",".join("127.0.0.1:%d" % s.port for s in servers), SET)


def test_writes_replicate():
    c = pymongo.MongoClient(uri(), serverSelectionTimeoutMS=20000)
    t = c.test.items
    t.insert_many([{"_id": i, "v": i} for i in range(50)])
    t.update_many({"_id": {"$lt": 10}}, {"$set": {"w": 1}, "$inc": {"v": 100}})
    t.replace_one({"_id": 20}, {"replaced": True})
    t.delete_many({"_id": {"$gte": 40}})
    t.create_index([("v", 1)], name="v_1")
    c.test.other.insert_one({"_id": "x"})
    c.test.other.rename("renamed")
    c.test.gone.insert_one({"_id": 1})
    c.test.gone.drop()
    want = snapshot(servers[primary_of(servers)])
    assert "items" in want and "renamed" in want and "gone" not in want, want.keys()
    for s in servers:
        wait_for(lambda: snapshot(s) == want, what="member %d to match the primary" % s.port)
    # dbHash agrees on every member
    def dbhash(s):
        return direct(s).test.command("dbHash", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)["md5"]
    ref_hash = dbhash(servers[primary_of(servers)])
    for s in servers:
        wait_for(lambda: dbhash(s) == ref_hash, what="the same dbHash")
    # the oplog entries are the same on every member
    def oplog(s):
        return [(e["ts"], e["op"], e["ns"]) for e in direct(s).local["oplog.rs"].find()]
    ref = oplog(servers[primary_of(servers)])
    for s in servers:  # later entries (if any) may follow; these come first, the same
        try:
            wait_for(lambda: oplog(s)[:len(ref)] == ref, what="the same oplog")
        except AssertionError:
            got = oplog(s)
            diff = [(i, a, b) for i, (a, b) in enumerate(zip(ref, got)) if a != b][:5]
            raise AssertionError("oplog of %d differs: %d vs %d entries, first differences %r"
                                 % (s.port, len(ref), len(got), diff))
    c.close()


def test_secondary_refuses_writes_and_unflagged_reads():
    p = primary_of(servers)
    sec = servers[(p + 1) % 3]
    c = direct(sec)
    try:
        c.test.items.insert_one({"x": 1})
        raise AssertionError("a secondary accepted a write")
    except pymongo.errors.NotMasterError:
        pass
    except pymongo.errors.OperationFailure as e:
        assert e.code == 10107, e.details
    got = c.test.get_collection("items", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED) \
        .count_documents({})
    assert got == 40, got


def test_write_concern():
    from pymongo.write_concern import WriteConcern
    c = pymongo.MongoClient(uri(), serverSelectionTimeoutMS=20000)
    db = c.test
    maj = db.get_collection("wc", write_concern=WriteConcern(w="majority", wtimeout=20000))
    maj.insert_one({"_id": "m"})
    # acknowledged at w: majority means a majority holds it: a secondary has it already
    p = primary_of(servers)
    ok = 0
    for i, s in enumerate(servers):
        if i != p and direct(s).test.get_collection(
                "wc", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED).find_one({"_id": "m"}):
            ok += 1
    assert ok >= 1, ok
    db.get_collection("wc", write_concern=WriteConcern(w=3, wtimeout=20000)).insert_one({"_id": 3})
    r = db.command("insert", "wc", documents=[{"_id": 4}], writeConcern={"w": 4})
    assert r["writeConcernError"]["code"] == 100, r
    try:
        db.command("insert", "wc", documents=[{"_id": 5}], writeConcern={"w": "nosuchtag"})
        raise AssertionError("an unknown w mode was accepted")
    except pymongo.errors.OperationFailure as e:
        assert e.code == 79, e.details
    # a stopped secondary: w: 3 times out with a writeConcernError beside the write
    sec = servers[(p + 1) % 3]
    sec.proc.send_signal(signal.SIGSTOP)
    try:
        r = db.command("insert", "wc", documents=[{"_id": 6}],
                       writeConcern={"w": 3, "wtimeout": 300})
        assert r["n"] == 1 and r["writeConcernError"]["code"] == 64, r
        # majority still holds with two of three
        r = db.command("insert", "wc", documents=[{"_id": 7}],
                       writeConcern={"w": "majority", "wtimeout": 20000})
        assert r["n"] == 1 and "writeConcernError" not in r, r
    finally:
        sec.proc.send_signal(signal.SIGCONT)
    c.close()


def test_step_down_and_freeze():
    p = primary_of(servers)
    pc = direct(servers[p])
    try:
        pc.admin.command("replSetFreeze", 30)
        raise AssertionError("a primary froze")
    except pymongo.errors.OperationFailure as e:
        assert e.code == 95, e.details
    # freeze the third member, so the stepped-down primary's place goes to the other
    third = (p + 2) % 3
    direct(servers[third]).admin.command("replSetFreeze", 30)
    try:
        pc.admin.command("replSetStepDown", 30, secondaryCatchUpPeriodSecs=10)
    except pymongo.errors.AutoReconnect:
        pass  # MongoDB may close the connection; Mica answers ok
    newp = wait_for(lambda: (lambda i: [i] if i is not None and i != p else None)(primary_of(servers)),
                    what="another primary after the step-down")[0]
    assert newp == (p + 1) % 3, (p, newp)
    direct(servers[third]).admin.command("replSetFreeze", 0)


def test_failover():
    p = primary_of(servers)
    old_term = direct(servers[p]).admin.command("replSetGetStatus")["term"]
    c = pymongo.MongoClient(uri(), serverSelectionTimeoutMS=30000, retryWrites=True)
    c.test.fo.insert_one({"_id": "before"})
    for i, s in enumerate(servers):  # replicated before the kill (no w: majority yet)
        if i != p:
            wait_for(lambda: direct(s).test.get_collection(
                "fo", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED
            ).count_documents({}) == 1, what="'before' on every member")
    killed = servers[p]
    killed.proc.send_signal(signal.SIGKILL)
    killed.proc.wait()
    newp = wait_for(lambda: (lambda i: [i] if i is not None else None)(primary_of(servers)),
                    what="a new primary")[0]
    assert newp != p
    term = direct(servers[newp]).admin.command("replSetGetStatus")["term"]
    assert term > old_term, (term, old_term)
    # an upsert: a retry after a lost reply must not fail on its own first try
    wait_for(lambda: c.test.fo.update_one({"_id": "after"}, {"$set": {"v": 1}}, upsert=True)
             is not None, what="a write after failover")
    # the killed member comes back and catches up as a secondary
    killed.proc = None
    killed.start()
    wait_for(lambda: direct(killed).admin.command("hello").get("secondary"), what="rejoin")
    wait_for(lambda: direct(killed).test.get_collection(
        "fo", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED).count_documents({}) == 2,
        what="the restarted member to catch up")
    c.close()


def main():
    for _ in range(3):
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
