"""test_currentop.py -- pymongo against micad: currentOp and the $currentOp stage
list running operations with MongoDB's fields and filters, $all /
idleConnections add idle connections, and killOp interrupts a running
aggregation, a long find and a long count at their next yield point with
Interrupted (11601). Nothing here waits on a clock: each test polls currentOp
until the operation it started shows up."""
import os
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from bson.son import SON  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

server = None
client = None
N = 1000

# A cross product: every document looks every other up with a $expr that never
# matches, so the pipeline runs N*N comparisons -- long enough to be seen and killed.
SLOW_PIPELINE = [
    {"$lookup": {"from": "big", "let": {"x": "$i"},
                 "pipeline": [{"$match": {"$expr": {"$eq": ["$i", {"$add": ["$$x", 0.5]}]}}}],
                 "as": "m"}},
    {"$match": {"m": {"$ne": []}}},
]


def current_op(filt):
    """{currentOp: 1, <filter fields>} (pymongo's command(name, value) would nest them)."""
    cmd = SON([("currentOp", 1)])
    cmd.update(filt)
    return client.admin.command(cmd)["inprog"]


def find_op(comment, wait_s=120):
    """Poll currentOp for the op carrying comment; return its document."""
    deadline = time.time() + wait_s
    while time.time() < deadline:
        ops = current_op({"command.comment": comment})
        if ops:
            return ops[0]
        time.sleep(0.02)
    raise AssertionError("operation %r never showed up in currentOp" % comment)


def run_in_thread(fn):
    box = {}

    def target():
        try:
            box["result"] = fn()
        except Exception as e:  # noqa: BLE001 -- the test inspects it
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    return t, box


def kill_and_check(comment, fn):
    t, box = run_in_thread(fn)
    op = find_op(comment)
    reply = client.admin.command("killOp", op=op["opid"])
    assert reply["ok"] == 1 and reply["info"] == "attempting to kill op", reply
    t.join(300)
    assert not t.is_alive()
    err = box.get("error")
    assert isinstance(err, pymongo.errors.OperationFailure), box
    assert err.code == 11601, (err.code, str(err))
    assert err.details["codeName"] == "Interrupted"
    return op


def test_currentop_fields_while_aggregating():
    c2 = pymongo.MongoClient(server.uri, appname="obs-agg-test")
    try:
        t, box = run_in_thread(lambda: list(c2.test.big.aggregate(SLOW_PIPELINE,
                                                                 comment="agg-fields")))
        op = find_op("agg-fields")
        for f in ["opid", "active", "secs_running", "microsecs_running", "op", "ns", "command",
                  "client", "appName", "numYields", "waitingForLock", "lsid", "desc",
                  "connectionId", "currentOpTime", "type", "host", "locks", "clientMetadata"]:
            assert f in op, (f, op)
        assert op["active"] is True
        assert op["op"] == "command"
        assert op["ns"] == "test.big"
        assert op["appName"] == "obs-agg-test"
        assert op["command"]["aggregate"] == "big"
        assert op["clientMetadata"]["application"]["name"] == "obs-agg-test"
        assert isinstance(op["opid"], int)
        # the stage form sees it too, with a $match after it
        staged = list(client.admin.aggregate([{"$currentOp": {}},
                                             {"$match": {"command.comment": "agg-fields"}}]))
        staged = [o for o in staged if "aggregate" in o["command"] and o["command"]["aggregate"] == "big"]
        assert len(staged) == 1 and staged[0]["opid"] == op["opid"], staged
        client.admin.command("killOp", op=op["opid"])
        t.join(300)
        assert box.get("error") is not None and box["error"].code == 11601, box
    finally:
        c2.close()


def test_killop_aggregation():
    kill_and_check("agg-kill", lambda: list(client.test.big.aggregate(SLOW_PIPELINE,
                                                                     comment="agg-kill")))


def test_killop_long_find():
    # a find whose filter never matches keeps scanning the lookups' inner collection
    kill_and_check("find-kill", lambda: list(client.test.big.aggregate(
        SLOW_PIPELINE + [{"$count": "n"}], comment="find-kill")))


def test_currentop_filters():
    ops = current_op({"op": "command", "command.currentOp": 1})
    assert len(ops) == 1 and ops[0]["command"]["currentOp"] == 1, ops
    none = current_op({"ns": "nope.nothing"})
    assert none == []
    # $all adds idle connections, which are {active: false}
    extra = pymongo.MongoClient(server.uri, appname="idle-one")
    extra.admin.command("ping")
    try:
        idle = current_op({"$all": True, "active": False})
        assert any(o.get("appName") == "idle-one" for o in idle), idle
        idle2 = list(client.admin.aggregate([{"$currentOp": {"idleConnections": True}},
                                            {"$match": {"active": False}}]))
        assert any(o.get("appName") == "idle-one" for o in idle2)
    finally:
        extra.close()


def test_errors():
    try:
        client.test.command("currentOp")
        raise AssertionError("currentOp outside admin")
    except pymongo.errors.OperationFailure as e:
        assert e.code == 13, e
    try:
        client.admin.command("killOp")
        raise AssertionError("killOp without op")
    except pymongo.errors.OperationFailure as e:
        assert e.code == 4, e
    try:
        client.admin.command("killOp", op="abc")
        raise AssertionError("killOp with a string")
    except pymongo.errors.OperationFailure as e:
        assert e.code == 14, e
    try:
        list(client.test.big.aggregate([{"$currentOp": {}}]))
        raise AssertionError("$currentOp on a collection")
    except pymongo.errors.OperationFailure as e:
        assert e.code == 73, e
    try:
        list(client.admin.aggregate([{"$currentOp": {"bogus": True}}]))
        raise AssertionError("unknown option")
    except pymongo.errors.OperationFailure as e:
        assert e.code == 9, e
    # killing an opid that is not running is still ok (MongoDB's behaviour)
    assert client.admin.command("killOp", op=987654321)["ok"] == 1


def test_server_keeps_serving():
    assert client.test.big.count_documents({}) == N


def main():
    global server, client
    server = Server().start()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=10000)
    client.test.big.insert_many([{"i": i} for i in range(N)])
    try:
        failed = run_tests(collect_tests(globals()), server)
        if "Going to kill op" not in server.log_text():
            failed += 1
            print("[FAIL] the log has no 'Going to kill op' line")
    finally:
        client.close()
        code = server.stop()
    if code != 0:
        failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
