"""test_repl_read.py -- the read side of a two-member replica set on loopback:
operationTime and $clusterTime on every reply (and $clusterTime gossip
moving a member's clock), read concern majority not seeing a write that is
not majority-committed (the secondary stopped with SIGSTOP), linearizable
reads (refused on a secondary, confirmed by a majority on the primary),
afterClusterTime waits (satisfied, bounded by maxTimeMS), pymongo's causally
consistent sessions reading their own writes on a secondary, and the errors
for read concerns a command does not take."""
import os
import signal
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import bson  # noqa: E402
import pymongo  # noqa: E402
from pymongo.read_concern import ReadConcern  # noqa: E402

from harness import Server, collect_tests, raw_command, run_tests  # noqa: E402
from replset import code_of, direct, wait_for  # noqa: E402

SET = "rsread"
servers = []
SECONDARY = pymongo.ReadPreference.SECONDARY_PREFERRED


def is_primary(s):
    try:
        return direct(s).admin.command("hello").get("isWritablePrimary")
    except pymongo.errors.PyMongoError:
        return False


def roles():
    """(primary, secondary) servers, once the set has both."""
    def find():
        p = [s for s in servers if is_primary(s)]
        o = [s for s in servers if s not in p]
        if len(p) == 1 and direct(o[0]).admin.command("hello").get("secondary"):
            return p[0], o[0]
        return None
    return wait_for(find, what="a primary and a secondary")


SIG = {"hash": b"\x00" * 20, "keyId": 0}


def raw(s, doc):
    """A command on a fresh socket: pymongo replaces a command's $clusterTime with its own."""
    doc = dict(doc)
    doc.setdefault("$db", "admin")
    return raw_command(s.port, doc, timeout=90)


def test_initiate():
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": i, "host": "127.0.0.1:%d" % s.port} for i, s in enumerate(servers)],
           # a long election timeout: the primary keeps its role while the secondary is
           # stopped for a moment below (it steps down only after a timeout without a majority)
           "settings": {"electionTimeoutMillis": 10000, "heartbeatIntervalMillis": 300}}
    # the second member is priority 0, so the first one is the primary throughout
    cfg["members"][1]["priority"] = 0
    assert direct(servers[0]).admin.command("replSetInitiate", cfg)["ok"] == 1
    roles()


def test_replies_carry_cluster_time():
    p, s = roles()
    for node in (p, s):
        # a secondary's clock comes from the primary's heartbeat replies
        r = wait_for(lambda: (lambda r: r if "$clusterTime" in r else None)(
            direct(node).admin.command("ping")), what="$clusterTime in a reply")
        ct = r["$clusterTime"]
        assert isinstance(ct["clusterTime"], bson.Timestamp), r
        assert ct["signature"] == SIG, ct
        assert isinstance(r["operationTime"], bson.Timestamp), r
    # a write's operationTime is its own oplog entry's timestamp
    c = direct(p)
    r = c.test.command("insert", "ct", documents=[{"_id": 1}])
    last = c.local["oplog.rs"].find_one({"ns": "test.ct", "o._id": 1})
    assert last is not None and r["operationTime"] == last["ts"], (r, last)
    # error replies carry them too
    r = raw(p, {"nosuchcommand": 1})
    assert r["ok"] == 0 and "$clusterTime" in r and "operationTime" in r, r


def test_cluster_time_gossip():
    p, s = roles()
    now = raw(s, {"ping": 1})["$clusterTime"]["clusterTime"]
    ahead = bson.Timestamp(now.time + 100, 7)
    r = raw(s, {"ping": 1, "$clusterTime": {"clusterTime": ahead, "signature": SIG}})
    assert r["$clusterTime"]["clusterTime"] >= ahead, r
    far = bson.Timestamp(now.time + 2 * 365 * 24 * 3600, 1)
    r = raw(s, {"ping": 1, "$clusterTime": {"clusterTime": far, "signature": SIG}})
    assert r["ok"] == 0 and r["code"] == 205, r
    r = raw(s, {"ping": 1, "$clusterTime": 5})
    assert r["ok"] == 0 and r["code"] == 14, r


def test_read_concern_errors():
    p, s = roles()
    db = direct(p).test
    cases = [({"level": "nosuch"}, "find", 9), ({"level": 1}, "find", 14),
             ({"nosuch": 1}, "find", 72),
             ({"level": "linearizable", "afterClusterTime": bson.Timestamp(1, 1)}, "find", 72),
             ({"level": "majority"}, "insert", 72), ({"level": "available"}, "ping", 72),
             ({"level": "snapshot"}, "count", 72),
             ({"level": "linearizable", "afterOpTime": {"ts": bson.Timestamp(1, 1), "t": 1}},
              "find", 9)]
    for rc, cmd, want in cases:
        body = {cmd: "rc"} if cmd != "ping" else {"ping": 1}
        if cmd == "insert":
            body["documents"] = [{"x": 1}]
        body["readConcern"] = rc
        got = code_of(lambda: db.command(body))
        assert got == want, (rc, cmd, got, want)
    # a cluster time this set has not reached yet
    now = db.command("ping")["$clusterTime"]["clusterTime"]
    later = bson.Timestamp(now.time + 1000, 1)
    assert code_of(lambda: db.command({"find": "rc", "readConcern": {
        "afterClusterTime": later}})) == 72


def test_majority_read_does_not_see_uncommitted():
    """A w:1 write while the secondary is stopped is visible at local but not at majority."""
    for attempt in range(5):
        p, s = roles()
        coll = direct(p).test.get_collection("maj")
        coll.insert_one({"_id": "base-%d" % attempt}, )
        wait_for(lambda: coll.with_options(read_concern=ReadConcern("majority")).find_one(
            {"_id": "base-%d" % attempt}) is not None, what="the base write majority-committed")
        s.proc.send_signal(signal.SIGSTOP)
        try:
            key = "uncommitted-%d" % attempt
            coll.with_options(write_concern=pymongo.WriteConcern(w=1)).insert_one({"_id": key})
            local = coll.with_options(read_concern=ReadConcern("local")).find_one({"_id": key})
            assert local is not None
            try:
                maj = coll.with_options(read_concern=ReadConcern("majority")).find_one({"_id": key})
                n = coll.with_options(read_concern=ReadConcern("majority")).count_documents(
                    {"_id": key})
                agg = list(coll.with_options(read_concern=ReadConcern("majority")).aggregate(
                    [{"$match": {"_id": key}}]))
            except (pymongo.errors.NotPrimaryError, pymongo.errors.AutoReconnect):
                continue  # the primary stepped down meanwhile (a very slow machine): again
            assert maj is None, maj
            assert n == 0 and agg == [], (n, agg)
            # a linearizable read cannot be confirmed without the secondary
            got = code_of(lambda: coll.database.command(
                {"find": "maj", "filter": {"_id": key}, "readConcern": {"level": "linearizable"},
                 "maxTimeMS": 1500}))
            if got in (10107, 189, 11602):
                continue
            assert got == 187, got
        finally:
            s.proc.send_signal(signal.SIGCONT)
        # once the secondary is back, the write becomes majority-committed and visible
        wait_for(lambda: coll.with_options(read_concern=ReadConcern("majority")).find_one(
            {"_id": key}) is not None, what="the write to become majority-committed")
        return
    raise AssertionError("the primary never stayed primary long enough")


def test_linearizable():
    p, s = roles()
    coll = direct(p).test.lin
    coll.insert_one({"_id": 1, "v": "x"})
    r = coll.database.command({"find": "lin", "filter": {"_id": 1},
                               "readConcern": {"level": "linearizable"}})
    assert r["cursor"]["firstBatch"] == [{"_id": 1, "v": "x"}], r
    sdb = direct(s).get_database("test", read_preference=SECONDARY)
    assert code_of(lambda: sdb.command({"find": "lin", "readConcern": {
        "level": "linearizable"}})) == 10107


def test_after_cluster_time():
    p, s = roles()
    pc = direct(p)
    r = pc.test.command("insert", "act", documents=[{"_id": 1}])
    op = r["operationTime"]
    sdb = direct(s).get_database("test", read_preference=SECONDARY)
    # the secondary waits until it has applied the write, then reads it
    got = sdb.command({"find": "act", "filter": {"_id": 1},
                       "readConcern": {"afterClusterTime": op}, "maxTimeMS": 60000})
    assert got["cursor"]["firstBatch"] == [{"_id": 1}], got
    got = sdb.command({"find": "act", "filter": {"_id": 1},
                       "readConcern": {"level": "majority", "afterClusterTime": op},
                       "maxTimeMS": 60000})
    assert got["cursor"]["firstBatch"] == [{"_id": 1}], got
    # a time the secondary's clock knows (gossiped) but no entry reaches: maxTimeMS ends it
    ahead = bson.Timestamp(op.time + 50, 1)
    r = raw(s, {"find": "act", "$db": "test", "readConcern": {"afterClusterTime": ahead},
                "maxTimeMS": 500, "$readPreference": {"mode": "secondaryPreferred"},
                "$clusterTime": {"clusterTime": ahead, "signature": SIG}})
    assert r["ok"] == 0 and r["code"] == 50, r
    # the primary writes a no-op past such a time instead of waiting forever
    ahead2 = bson.Timestamp(op.time + 60, 1)
    r = raw(p, {"find": "act", "$db": "test", "readConcern": {"afterClusterTime": ahead2},
                "maxTimeMS": 60000, "$clusterTime": {"clusterTime": ahead2, "signature": SIG}})
    assert r["ok"] == 1 and r["operationTime"] >= ahead2, r


def test_causal_session_reads_its_writes_on_a_secondary():
    p, s = roles()
    uri = "mongodb://%s/?replicaSet=%s" % (",".join("127.0.0.1:%d" % x.port for x in servers), SET)
    c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=30000)
    coll = c.test.causal
    for i in range(5):
        with c.start_session(causal_consistency=True) as sess:
            coll.insert_one({"_id": i}, session=sess)
            assert sess.operation_time is not None and sess.cluster_time is not None
            doc = coll.with_options(read_preference=pymongo.ReadPreference.SECONDARY).find_one(
                {"_id": i}, session=sess)
            assert doc == {"_id": i}, (i, doc)
    c.close()


def main():
    for _ in range(2):
        s = Server(["--replSet", SET])
        s.start()
        servers.append(s)
    try:
        failed = run_tests(collect_tests(globals()))
    finally:
        for s in servers:
            if s.alive():
                s.proc.send_signal(signal.SIGCONT)
    for s in servers:
        if failed:
            s.failed = True
        s.stop()
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
