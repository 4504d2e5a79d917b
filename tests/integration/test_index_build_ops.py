"""test_index_build_ops.py -- pymongo against micad: an index build shows its
progress in currentOp ({msg, progress: {done, total}}), killOp and dropIndexes
abort it cleanly (Interrupted 11601 / IndexBuildAborted 276, no index left,
validate clean), and a build under a concurrent write load ends with every
index consistent with the collection (validate). Builds still hold the
namespace lock exclusively (writers wait for the build; see docs/operations.md),
so the writers' progress is not asserted here -- only consistency."""
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
N = 60000


def build_in_thread(coll, key, name):
    box = {}

    def run():
        try:
            box["r"] = coll.create_index(key, name=name)
        except pymongo.errors.OperationFailure as e:
            box["e"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, box


def find_build(name, t, wait_s=120):
    """The currentOp entry of a running build of index name (None if it already ended)."""
    deadline = time.time() + wait_s
    while time.time() < deadline and t.is_alive():
        cmd = SON([("currentOp", 1), ("command.createIndexes", "big")])
        for op in client.admin.command(cmd)["inprog"]:
            specs = op["command"].get("indexes", [])
            if any(s.get("name") == name for s in specs) and "progress" in op:
                return op
        time.sleep(0.005)
    return None


def abort_build(name, abort):
    """Start a build, catch it in currentOp with progress, abort it; retried if it won the race."""
    for _ in range(3):
        t, box = build_in_thread(client.test.big, [("s", 1)], name)
        op = find_build(name, t)
        if op is None:  # the build finished before we saw it: drop and try again
            t.join()
            client.test.big.drop_index(name)
            continue
        assert op["msg"].startswith("Index Build"), op
        assert op["progress"]["total"] == N and 0 <= op["progress"]["done"] <= N, op
        abort(op)
        t.join(300)
        return box
    raise AssertionError("the build always finished before currentOp saw it")


def check_clean(name):
    names = [ix["name"] for ix in client.test.big.list_indexes()]
    assert name not in names, names
    v = client.test.command("validate", "big")
    assert v["valid"] is True, v


def test_killop_aborts_build():
    box = abort_build("s_kill", lambda op: client.admin.command("killOp", op=op["opid"]))
    assert "e" in box and box["e"].code == 11601, box
    check_clean("s_kill")
    assert "Index build: aborted" in server.log_text()


def test_drop_indexes_aborts_build():
    box = abort_build("s_drop", lambda op: client.test.big.drop_index("s_drop"))
    # dropIndexes either aborted the build (276) or, if the build won, dropped the result
    if "e" in box:
        assert box["e"].code == 276, box
    check_clean("s_drop")


def test_build_under_write_load_is_consistent():
    stop = threading.Event()
    counts = [0, 0]

    def writer(k):
        c = pymongo.MongoClient(server.uri)
        i = 0
        while not stop.is_set():
            c.test.big.insert_one({"w": k, "i": i, "s": "w%d" % i})
            c.test.big.update_one({"i": i % 1000}, {"$set": {"s": "u%d" % i}})
            i += 1
            counts[k] = i
        c.close()

    ws = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for w in ws:
        w.start()
    try:
        client.test.big.create_index([("s", 1), ("i", -1)], name="s_i")
    finally:
        stop.set()
        for w in ws:
            w.join(120)
    assert sum(counts) > 0
    v = client.test.command("validate", "big", full=True)
    assert v["valid"] is True, v
    total = client.test.big.count_documents({})
    assert v["nIndexes"] >= 2
    assert v["keysPerIndex"]["s_i"] == total, (v["keysPerIndex"], total)


def main():
    global server, client
    server = Server().start()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=10000)
    docs = [{"i": i, "s": "v%07d" % ((i * 7919) % N)} for i in range(N)]
    for k in range(0, N, 5000):
        client.test.big.insert_many(docs[k:k + 5000])
    try:
        failed = run_tests(collect_tests(globals()), server)
    finally:
        client.close()
        code = server.stop()
    if code != 0:
        failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
