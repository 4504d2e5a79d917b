"""test_no_silent_success.py -- nothing is acknowledged that was not done, and
nothing grows without bound, seen through pymongo:

- a write inside a transaction on a standalone answers IllegalOperation 20 and
  writes nothing (no write that can never be aborted);
- readConcern levels a standalone cannot give are refused, unknown ones are
  FailedToParse 9;
- invalid index key patterns are refused (67), text/hashed/geo answer 238,
  compound wildcard patterns 67 (never an index on a literal "$**" field);
- $indexStats counts the queries that used each index;
- find with allowDiskUse spills a blocking sort past the memory limit (the
  server runs with a 1 MiB limit) and returns every document in order;
- a log line with a huge attribute is truncated, so getLog stays small.
"""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import bson  # noqa: E402
import pymongo  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

SORT_LIMIT = 1024 * 1024
server = client = None


def code_of(fn):
    try:
        fn()
    except OperationFailure as e:
        return e.code
    return 0


def test_transaction_on_standalone_is_illegal_and_writes_nothing():
    db = client.nss
    db.txn.drop()
    lsid = {"id": bson.Binary(os.urandom(16), 4)}
    for extra in ({"txnNumber": bson.Int64(1), "startTransaction": True, "autocommit": False},
                  {"txnNumber": bson.Int64(2)},
                  {"autocommit": False}):
        cmd = {"insert": "txn", "documents": [{"_id": 1}], "lsid": lsid}
        cmd.update(extra)
        try:
            db.command(cmd)
            raise AssertionError("accepted %s" % extra)
        except OperationFailure as e:
            assert e.code == 20, e.details
            assert "only allowed on a replica set member or mongos" in e.details["errmsg"]
    assert db.txn.count_documents({}) == 0
    # through the driver: the session's transaction fails on its first write
    with client.start_session() as s:
        s.start_transaction()
        assert code_of(lambda: db.txn.insert_one({"_id": 2}, session=s)) == 20
    assert db.txn.count_documents({}) == 0


def test_read_concern_levels():
    db = client.nss
    cases = [({"level": "local"}, 0), ({"level": "available"}, 0), ({"level": "majority"}, 0),
             ({"level": "no-such-level"}, 9), ({"level": "linearizable"}, 123),
             ({"level": "snapshot"}, 123), ({"level": 1}, 14), ({"nosuch": 1}, 72),
             ({"afterClusterTime": bson.Timestamp(1, 1)}, 20)]
    for rc, want in cases:
        got = code_of(lambda: db.command({"find": "rc", "readConcern": rc}))
        assert got == want, (rc, got, want)


def test_invalid_index_keys_are_refused():
    coll = client.nss.keys
    coll.drop()
    coll.insert_one({"a": 1})
    cases = [({"$**": 1, "b": 1}, 67), ({"a.$**.b": 1}, 67), ({"a": "text"}, 238),
             ({"a": "hashed"}, 238), ({"a": "2dsphere"}, 238), ({"$foo": 1}, 67),
             ({"a.$b": 1}, 67), ({"a..b": 1}, 67), ({"": 1}, 67), ({"a": 0}, 67),
             ({"a": "nosuch"}, 67), ({"a": True}, 67), ({"a": {"x": 1}}, 67)]
    for key, want in cases:
        got = code_of(lambda: client.nss.command(
            {"createIndexes": "keys", "indexes": [{"key": key, "name": "k"}]}))
        assert got == want, (key, got, want)
    assert [ix["name"] for ix in coll.list_indexes()] == ["_id_"]


def test_index_stats_count_accesses():
    coll = client.nss.stats
    coll.drop()
    coll.insert_many([{"a": i % 10, "b": i} for i in range(200)])
    coll.create_index("a")
    coll.create_index("b")
    for _ in range(4):
        list(coll.find({"a": 3}))
    list(coll.find({"b": {"$gt": 150}}))
    list(coll.find({"c": 1}))  # a collection scan uses no index
    stats = {s["name"]: s["accesses"] for s in coll.aggregate([{"$indexStats": {}}])}
    assert stats["a_1"]["ops"] == 4, stats
    assert stats["b_1"]["ops"] == 1, stats
    assert stats["_id_"]["ops"] == 0, stats
    assert all(isinstance(s["since"], type(stats["a_1"]["since"])) for s in stats.values())


def test_find_sort_spills_with_allow_disk_use():
    coll = client.nss.spill
    coll.drop()
    n = 3000
    coll.insert_many([{"k": (i * 7919) % n, "pad": "p" * 1000} for i in range(n)])
    assert code_of(lambda: list(coll.find().sort("k", 1).allow_disk_use(False))) == 292
    got = [d["k"] for d in coll.find({}, {"k": 1}).sort("k", 1).allow_disk_use(True)]
    assert got == sorted(got) and len(got) == n, got[:10]
    # ties keep their order and skip/limit apply after the merge
    got = [d["k"] for d in coll.find().sort("k", -1).skip(10).limit(5).allow_disk_use(True)]
    assert got == [n - 11, n - 12, n - 13, n - 14, n - 15], got
    ex = client.nss.command("explain", {"find": "spill", "sort": {"k": 1}, "allowDiskUse": True},
                            verbosity="executionStats")
    stage = ex["executionStats"]["executionStages"]
    while stage.get("stage") != "SORT":
        stage = stage["inputStage"]
    assert stage["usedDisk"] is True and stage["spills"] > 1, stage
    assert stage["memLimit"] == SORT_LIMIT, stage


def test_huge_log_attribute_is_truncated():
    db = client.nss
    big = "z" * (2 * 1024 * 1024)
    # an error log line (or a slow query line) that would carry the document
    code_of(lambda: db.command({"find": "x", "filter": {"a": big}, "nosuchfield": 1}))
    log = client.admin.command("getLog", "global")
    assert max(len(line) for line in log["log"]) < 64 * 1024


def test_concurrent_upserts_of_one_new_key_all_succeed():
    import threading
    coll, coll2 = client.nss.ups, client.nss.ups2
    coll.drop()
    coll2.drop()
    coll2.create_index("u", unique=True)
    errors, keys, threads_n = [], 40, 6

    def worker(w):
        c = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=5000)
        try:
            col = c.nss.ups
            for k in range(keys):
                if (k + w) % 2:
                    col.update_one({"_id": k}, {"$inc": {"n": 1}}, upsert=True)
                else:
                    col.find_one_and_update({"_id": k}, {"$inc": {"n": 1}}, upsert=True)
                # a unique secondary key in the query is retried too
                c.nss.ups2.update_one({"u": k}, {"$inc": {"m": 1}}, upsert=True)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    for k in range(keys):
        assert coll.find_one({"_id": k})["n"] == threads_n, coll.find_one({"_id": k})
        assert coll2.find_one({"u": k})["m"] == threads_n, coll2.find_one({"u": k})
    # a duplicate on another key than the query's is not retried: DuplicateKey
    coll2.insert_one({"_id": "x", "u": "taken"})
    assert code_of(lambda: coll2.update_one({"_id": "y"}, {"$set": {"u": "taken"}},
                                            upsert=True)) == 11000


def main():
    global server, client
    args = ["--setParameter", "internalQueryMaxBlockingSortMemoryUsageBytes=%d" % SORT_LIMIT,
            "--slowms", "0"]
    with Server(extra_args=args) as s:
        server = s
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        failed = run_tests(collect_tests(globals()), s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
