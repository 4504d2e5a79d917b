"""test_ttl.py -- pymongo against micad: the TTL monitor deletes documents
whose indexed date (or earliest date of an array) is older than
expireAfterSeconds, leaves younger documents, non-dates and documents
without the field alone, keeps every index consistent (validate), follows
collMod's new expireAfterSeconds, ignores compound indexes, and logs what it
deleted. The server runs with --setParameter ttlMonitorSleepSecs=1 so a pass comes
every second."""
import datetime
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

server = None
client = None


def now():
    return datetime.datetime.utcnow()


def ago(secs):
    return now() - datetime.timedelta(seconds=secs)


def fresh(name):
    client.test.drop_collection(name)
    return client.test[name]


def wait_for(pred, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def ids(c):
    return sorted(d["_id"] for d in c.find())



def count(c):
    return client.test.command("count", c.name)["n"]  # count_documents needs aggregate


def settle(c):
    """Wait for two full passes after now, so anything due has been deleted."""
    t0 = time.time()
    time.sleep(2.5)
    assert time.time() - t0 >= 2.5


def test_expired_documents_are_deleted_and_young_ones_kept():
    c = fresh("t1")
    c.create_index("at", expireAfterSeconds=60)
    c.insert_many([
        {"_id": 1, "at": ago(3600)},       # expired
        {"_id": 2, "at": ago(61)},         # just expired
        {"_id": 3, "at": ago(10)},         # young
        {"_id": 4, "at": now() + datetime.timedelta(hours=1)},  # future
        {"_id": 5, "at": "not a date"},    # ignored
        {"_id": 6},                        # no field
        {"_id": 7, "at": 12345},           # a number is not a date
    ])
    assert wait_for(lambda: ids(c) == [3, 4, 5, 6, 7]), ids(c)
    r = client.test.command("validate", "t1")
    assert r["valid"] is True and r["keysPerIndex"]["at_1"] == 5, r


def test_array_expires_by_its_earliest_date():
    c = fresh("t2")
    c.create_index("at", expireAfterSeconds=30)
    c.insert_many([
        {"_id": 1, "at": [now(), ago(100)]},   # earliest is old: expired
        {"_id": 2, "at": [now(), ago(5)]},     # all young
        {"_id": 3, "at": ["x", ago(1000)]},    # a date among non-dates
    ])
    assert wait_for(lambda: ids(c) == [2]), ids(c)
    assert client.test.command("validate", "t2")["valid"] is True


def test_descending_ttl_index():
    c = fresh("t3")
    c.create_index([("at", -1)], expireAfterSeconds=10)
    c.insert_many([{"_id": i, "at": ago(100 if i % 2 else 0)} for i in range(10)])
    assert wait_for(lambda: ids(c) == [0, 2, 4, 6, 8]), ids(c)


def test_many_documents_are_deleted_in_batches():
    c = fresh("t4")
    c.create_index("at", expireAfterSeconds=0)
    c.create_index("k")
    c.insert_many([{"_id": i, "k": i % 7, "at": ago(5)} for i in range(2500)])
    c.insert_one({"_id": "keep", "at": now() + datetime.timedelta(days=1)})
    assert wait_for(lambda: count(c) == 1, timeout=60), count(c)
    r = client.test.command("validate", "t4")
    assert r["valid"] is True and r["nrecords"] == 1, r
    assert r["keysPerIndex"] == {"_id_": 1, "at_1": 1, "k_1": 1}, r


def test_collmod_shortens_the_expiry():
    c = fresh("t5")
    c.create_index("at", expireAfterSeconds=3600)
    c.insert_many([{"_id": 1, "at": ago(120)}, {"_id": 2, "at": ago(1)}])
    settle(c)
    assert ids(c) == [1, 2]
    client.test.command("collMod", "t5", index={"keyPattern": {"at": 1}, "expireAfterSeconds": 60})
    assert wait_for(lambda: ids(c) == [2]), ids(c)


def test_compound_and_plain_indexes_delete_nothing():
    c = fresh("t6")
    c.create_index([("at", 1), ("b", 1)], expireAfterSeconds=1)  # MongoDB ignores compound TTL
    c.create_index("other")
    c.insert_many([{"_id": 1, "at": ago(1000), "b": 1, "other": ago(1000)}])
    settle(c)
    assert ids(c) == [1]


def test_deletions_are_logged_and_counted():
    c = fresh("t7")
    c.create_index("at", expireAfterSeconds=1)
    c.insert_many([{"_id": i, "at": ago(50)} for i in range(3)])
    assert wait_for(lambda: count(c) == 0)
    log = client.admin.command("getLog", "global")["log"]
    assert any("Deleted expired documents" in line and "test.t7" in line for line in log), log[-5:]


def test_parameter_and_metrics_are_reported():
    r = client.admin.command("getParameter", 1, ttlMonitorSleepSecs=1)
    assert r["ttlMonitorSleepSecs"] == 1, r
    opts = client.admin.command("getCmdLineOpts")
    assert opts["parsed"]["setParameter"] == {"ttlMonitorSleepSecs": "1"}, opts
    assert wait_for(lambda: client.admin.command("serverStatus")["metrics"]["ttl"]["passes"] >= 1)


def main():
    global server, client
    with Server(extra_args=["--setParameter", "ttlMonitorSleepSecs=1"]) as s:
        server = s
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        tests = collect_tests(globals())
        failed = run_tests(tests, s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
