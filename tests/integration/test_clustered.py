"""test_clustered.py -- pymongo against micad: clustered collections.

create with clusteredIndex {key: {_id: 1}, unique: true, name?} (and the
create errors with MongoDB 7.0's codes), documents returned in _id order by
collection scans (and reversed by $natural: -1), _id predicates answered by a
bounded CLUSTERED_IXSCAN (explain with minRecord/maxRecord, planSummary),
listCollections (options.clusteredIndex, no idIndex) and listIndexes (the
cluster key with clustered: true), secondary indexes, writes, restart, the
TTL monitor expiring by _id date with expireAfterSeconds, and capped
collections unaffected."""
import datetime
import os
import signal
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

client = None
db = None
server = None

SPEC = {"key": {"_id": 1}, "unique": True}


def expect_code(fn, code):
    try:
        fn()
    except OperationFailure as e:
        assert e.code == code, (e.code, e.details)
        return e.details
    raise AssertionError("expected error code %d" % code)


def explain(flt, coll="cl", **extra):
    cmd = {"find": coll, "filter": flt}
    cmd.update(extra)
    return db.command("explain", cmd, verbosity="executionStats")


def test_create_and_order():
    db.drop_collection("cl")
    assert db.command("create", "cl", clusteredIndex=dict(SPEC, name="by_id"))["ok"] == 1
    ids = [7, 3, 11, 1, 9, 5, "s", 2.5]
    db.cl.insert_many([{"_id": i, "v": str(i)} for i in ids])
    got = [d["_id"] for d in db.cl.find()]
    assert got == [1, 2.5, 3, 5, 7, 9, 11, "s"], got
    got = [d["_id"] for d in db.cl.find().hint([("$natural", -1)])]
    assert got == ["s", 11, 9, 7, 5, 3, 2.5, 1], got
    # the same create again is a no-op; other options are NamespaceExists
    assert db.command("create", "cl", clusteredIndex=dict(SPEC, name="by_id"))["ok"] == 1
    expect_code(lambda: db.command("create", "cl"), 48)


def test_list_collections_and_indexes():
    info = list(db.list_collections(filter={"name": "cl"}))[0]
    assert info["options"] == {"clusteredIndex": {"v": 2, "key": {"_id": 1}, "name": "by_id",
                                                  "unique": True}}, info
    assert "idIndex" not in info, info
    ixs = list(db.cl.list_indexes())
    assert ixs[0] == {"v": 2, "key": {"_id": 1}, "name": "by_id", "unique": True,
                      "clustered": True}, ixs


def test_id_ranges_are_bounded_scans():
    ex = explain({"_id": {"$gte": 3, "$lte": 9}})
    plan = ex["queryPlanner"]["winningPlan"]
    assert plan["stage"] == "CLUSTERED_IXSCAN", plan
    assert plan["minRecord"] == 3 and plan["maxRecord"] == 9, plan
    assert plan["direction"] == "forward"
    assert ex["executionStats"]["nReturned"] == 4
    # only the range was read, not the collection
    assert ex["executionStats"]["totalDocsExamined"] == 4, ex["executionStats"]
    ex = explain({"_id": 5})
    assert ex["queryPlanner"]["winningPlan"]["stage"] == "CLUSTERED_IXSCAN"
    assert ex["executionStats"]["totalDocsExamined"] == 1
    got = [d["_id"] for d in db.cl.find({"_id": {"$gt": 3}}).sort("_id", -1)]
    assert got == [11, 9, 7, 5], got
    # the cluster key's name and key pattern can be hinted
    got = [d["_id"] for d in db.cl.find({"_id": {"$lt": 3}}).hint("by_id")]
    assert got == [1, 2.5], got
    got = [d["_id"] for d in db.cl.find({"_id": {"$lt": 3}}).hint([("_id", 1)])]
    assert got == [1, 2.5], got
    # a sort on _id alone is the clustered collection scan, with no SORT stage
    plan = explain({}, sort={"_id": -1})["queryPlanner"]["winningPlan"]
    assert plan["stage"] == "COLLSCAN" and plan["direction"] == "backward", plan
    # a filter on another field scans the whole collection, in _id order
    plan = explain({"v": "5"})["queryPlanner"]["winningPlan"]
    assert plan["stage"] == "COLLSCAN", plan


def test_writes_secondary_indexes_restart():
    global client, db
    db.cl.create_index("v")
    db.cl.update_one({"_id": 3}, {"$set": {"v": "three"}})
    db.cl.delete_one({"_id": 9})
    db.cl.insert_one({"_id": 0, "v": "zero"})
    expect_code(lambda: db.cl.insert_one({"_id": 0}), 11000)
    assert db.cl.find_one({"v": "three"})["_id"] == 3
    ex = explain({"v": "three"})
    assert ex["queryPlanner"]["winningPlan"]["inputStage"]["indexName"] == "v_1", ex
    server.restart()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=30000)
    db = client.test
    got = [d["_id"] for d in db.cl.find()]
    assert got == [0, 1, 2.5, 3, 5, 7, 11, "s"], got
    assert list(db.cl.list_indexes())[0]["clustered"] is True
    assert db.command("validate", "cl")["valid"] is True


def test_create_errors():
    db.drop_collection("bad")
    cases = [
        ({"clusteredIndex": {"key": {"a": 1}, "unique": True}}, 197),
        ({"clusteredIndex": {"key": {"_id": -1}, "unique": True}}, 197),
        ({"clusteredIndex": {"key": {"_id": 1}, "unique": False}}, 5979700),
        ({"clusteredIndex": {"key": {"_id": 1}}}, 40414),
        ({"clusteredIndex": {"unique": True}}, 40414),
        ({"clusteredIndex": {"key": {"_id": 1}, "unique": True, "x": 1}}, 40415),
        ({"clusteredIndex": {"key": {"_id": 1}, "unique": True, "v": 1}}, 5979704),
        ({"clusteredIndex": True}, 5979703),
        ({"clusteredIndex": 5}, 5979702),
        ({"expireAfterSeconds": 10}, 72),
        ({"clusteredIndex": SPEC, "capped": True, "size": 1000}, 6049200),
        ({"clusteredIndex": SPEC, "max": 10}, 6049204),
        ({"clusteredIndex": SPEC, "capped": True}, 6127800),
        ({"clusteredIndex": SPEC, "autoIndexId": False}, 6026501),
        ({"clusteredIndex": SPEC, "idIndex": {"key": {"_id": 1}, "name": "_id_", "v": 2}}, 72),
        ({"clusteredIndex": SPEC, "expireAfterSeconds": -1}, 72),
    ]
    for opts, code in cases:
        expect_code(lambda: db.command("create", "bad", **opts), code)
    assert "bad" not in db.list_collection_names()
    # clusteredIndex: false is an ordinary collection
    db.command("create", "plain", clusteredIndex=False)
    info = list(db.list_collections(filter={"name": "plain"}))[0]
    assert "clusteredIndex" not in info["options"] and "idIndex" in info, info


def test_ttl_by_id():
    db.drop_collection("tt")
    db.command("create", "tt", clusteredIndex=SPEC, expireAfterSeconds=1)
    info = list(db.list_collections(filter={"name": "tt"}))[0]
    assert info["options"]["expireAfterSeconds"] == 1, info
    now = datetime.datetime.utcnow()
    db.tt.insert_many([{"_id": now - datetime.timedelta(hours=2)},
                       {"_id": now - datetime.timedelta(hours=1)},
                       {"_id": now + datetime.timedelta(days=1)},
                       {"_id": "not a date"}])
    deadline = time.time() + 120
    while time.time() < deadline and db.tt.count_documents({}) != 2:
        time.sleep(0.5)
    left = [d["_id"] for d in db.tt.find()]
    assert len(left) == 2 and "not a date" in left, left
    # collMod changes or turns off the TTL of a clustered collection only
    db.command("collMod", "tt", expireAfterSeconds=7200)
    info = list(db.list_collections(filter={"name": "tt"}))[0]
    assert info["options"]["expireAfterSeconds"] == 7200, info
    db.command("collMod", "tt", expireAfterSeconds="off")
    info = list(db.list_collections(filter={"name": "tt"}))[0]
    assert "expireAfterSeconds" not in info["options"], info
    expect_code(lambda: db.command("collMod", "tt", expireAfterSeconds=-5), 72)
    expect_code(lambda: db.command("collMod", "tt", expireAfterSeconds="soon"), 72)
    db.drop_collection("plain2")
    db.create_collection("plain2")
    expect_code(lambda: db.command("collMod", "plain2", expireAfterSeconds=5), 72)


def test_capped_still_works():
    db.drop_collection("cap")
    db.create_collection("cap", capped=True, size=4096, max=3)
    db.cap.insert_many([{"_id": i} for i in range(5)])
    assert [d["_id"] for d in db.cap.find()] == [2, 3, 4]
    info = list(db.list_collections(filter={"name": "cap"}))[0]
    assert "clusteredIndex" not in info["options"]


collect = collect_tests(globals())


class _Server(Server):
    def restart(self):
        """A clean restart on the same dbpath (Server.stop would remove it)."""
        client.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.proc.stdout.close()
        self.proc = None
        self.start(timeout=120)


def main():
    global client, db, server
    with _Server(extra_args=["--setParameter", "ttlMonitorSleepSecs=1"]) as s:
        server = s
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=30000)
        db = client.test
        failed = run_tests(collect, s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
