"""test_index_build_ops.py -- pymongo against micad: online (hybrid) index
builds. A build shows its progress in currentOp ({msg, progress: {done,
total}}); killOp and dropIndexes abort it cleanly (Interrupted 11601 /
IndexBuildAborted 276, no index left, validate clean); writers keep going
while a build runs (counted while the build is held at a failpoint and over
the whole build) and the index is consistent afterwards (validate, and a query
through the index answers as a collection scan); a unique build fails on a
duplicate inserted during the build that is still there at commit (11000, no
index left) and passes one that went away; listIndexes shows a running build
only with includeBuildUUIDs / includeIndexBuildInfo; kill -9 mid-build (with
side writes pending) leaves no half index after a restart."""
import os
import signal
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


def build_in_thread(coll, key, name, **opts):
    box = {}

    def run():
        try:
            box["r"] = coll.create_index(key, name=name, **opts)
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


TEST_ARGS = ["--setParameter", "enableTestCommands=1"]


def fp(c, name, mode, **kw):
    return c.admin.command("configureFailPoint", name, mode=mode, **kw)


def pause_builds(ns):
    """Hold the next build of ns after its registration, before its scan; returns the count."""
    return fp(client, "hangAfterSettingUpIndexBuild", "alwaysOn", data={"ns": ns})["count"]


def wait_paused(count, point="hangAfterSettingUpIndexBuild", c=None):
    (c or client).admin.command({"waitForFailPoint": point, "timesEntered": count + 1,
                                 "maxTimeMS": 120000})


def wait_until(cond, what, wait_s=120):
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Writers:
    """Threads inserting, updating (by _id) and deleting on coll until stopped; done counts."""

    def __init__(self, coll_name, n=2):
        self.stop_ev = threading.Event()
        self.done = [0] * n
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(k, coll_name)) for k in range(n)]
        for t in self.threads:
            t.start()

    def run(self, k, coll_name):
        c = pymongo.MongoClient(server.uri)
        coll = c.test[coll_name]
        i = 0
        try:
            while not self.stop_ev.is_set():
                _id = "w%d-%d" % (k, i)
                coll.insert_one({"_id": _id, "i": i, "s": "w%07d" % i})
                coll.update_one({"_id": _id}, {"$set": {"s": "u%07d" % i}})
                coll.update_one({"_id": (k * 7919 + i * 31) % N}, {"$set": {"s": "x%07d" % i}})
                if i % 3 == 0:
                    coll.delete_one({"_id": "w%d-%d" % (k, i // 2)})
                i += 1
                self.done[k] = i
        except Exception as e:  # noqa: BLE001 -- reported by stop()
            self.errors.append(e)
        c.close()

    def total(self):
        return sum(self.done)

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(120)
        assert not self.errors, self.errors


def check_clean(name):
    names = [ix["name"] for ix in client.test.big.list_indexes()]
    assert name not in names, names
    v = client.test.command("validate", "big")
    assert v["valid"] is True, v


def test_commit_quorum_refused_on_a_standalone():
    # MongoDB: BadValue "Standalones can't specify commitQuorum"
    r = client.test.command(SON([("createIndexes", "big"),
                                 ("indexes", [{"key": {"q": 1}, "name": "q_1"}]),
                                 ("commitQuorum", "majority")]), check=False)
    assert r["ok"] == 0 and r["code"] == 2 and "Standalones" in r["errmsg"], r
    assert "q_1" not in [ix["name"] for ix in client.test.big.list_indexes()]


def test_killop_aborts_build():
    box = abort_build("s_kill", lambda op: client.admin.command("killOp", op=op["opid"]))
    assert "e" in box and box["e"].code == 11601, box
    check_clean("s_kill")
    assert "Index build: failed" in server.log_text()


def test_drop_indexes_aborts_build():
    box = abort_build("s_drop", lambda op: client.test.big.drop_index("s_drop"))
    # dropIndexes either aborted the build (276) or, if the build won, dropped the result
    if "e" in box:
        assert box["e"].code == 276, box
    check_clean("s_drop")


def test_writers_go_on_during_build_and_index_is_consistent():
    count = pause_builds("test.big")
    w = Writers("big")
    t = box = None
    try:
        wait_until(lambda: w.total() > 20, "the writers to start")
        t, box = build_in_thread(client.test.big, [("s", 1), ("i", -1)], "s_i")
        wait_paused(count)
        # the build is registered (side writes on) and held: writes must still complete
        held_at = w.total()
        wait_until(lambda: w.total() >= held_at + 100, "writes while the build is held")
        assert t.is_alive()
        names = [ix["name"] for ix in client.test.big.list_indexes()]
        assert "s_i" not in names, names
        with_uuid = list(client.test.command("listIndexes", "big", includeBuildUUIDs=True)
                         ["cursor"]["firstBatch"])
        building = [ix for ix in with_uuid if "buildUUID" in ix]
        assert len(building) == 1 and building[0]["spec"]["name"] == "s_i", with_uuid
        info = client.test.command("listIndexes", "big", includeIndexBuildInfo=True)
        info = info["cursor"]["firstBatch"]
        assert all("spec" in ix for ix in info), info
        assert [ix["spec"]["name"] for ix in info if "indexBuildInfo" in ix] == ["s_i"], info
        try:
            client.test.command("listIndexes", "big", includeBuildUUIDs=True,
                                includeIndexBuildInfo=True)
            raise AssertionError("both flags accepted")
        except pymongo.errors.OperationFailure as e:
            assert e.code == 72, e
        started_at = w.total()
        fp(client, "hangAfterSettingUpIndexBuild", "off")
        t.join(600)
        during = w.total() - started_at
    finally:
        fp(client, "hangAfterSettingUpIndexBuild", "off")
        w.stop()
        if t is not None:
            t.join(600)
    assert "r" in box, box
    print("  writes completed while the build was held: >= 100; during the scan and drains: %d"
          % during)
    v = client.test.command("validate", "big", full=True)
    assert v["valid"] is True, v
    total = client.test.big.count_documents({})
    assert v["keysPerIndex"]["s_i"] == total, (v["keysPerIndex"], total)
    # a query through the new index answers as a collection scan
    flt = {"s": {"$gte": "u", "$lt": "y"}}
    by_index = sorted(str(d["_id"]) for d in client.test.big.find(flt, {"_id": 1}).hint("s_i"))
    by_scan = sorted(str(d["_id"]) for d in
                     client.test.big.find(flt, {"_id": 1}).hint([("$natural", 1)]))
    assert by_index == by_scan and len(by_index) > 0, (len(by_index), len(by_scan))
    plan = client.test.big.find(flt).hint("s_i").explain()
    assert "s_i" in str(plan["queryPlanner"]["winningPlan"]), plan
    for log_id in (20438, 20384, 20391, 20345, 20663):
        assert server.log_entries(log_id), log_id
    client.test.big.drop_index("s_i")


def seed_unique(name, n=3000):
    coll = client.test[name]
    coll.drop()
    coll.insert_many([{"_id": i, "u": i} for i in range(n)])
    return coll


def test_unique_build_fails_on_duplicate_inserted_during_build():
    coll = seed_unique("uq")
    count = pause_builds("test.uq")
    t, box = build_in_thread(coll, [("u", 1)], "u_1", unique=True)
    try:
        wait_paused(count)
        coll.insert_one({"_id": "dup", "u": 7})  # u: 7 is held by _id 7: writers do not check
    finally:
        fp(client, "hangAfterSettingUpIndexBuild", "off")
    t.join(600)
    assert "e" in box and box["e"].code == 11000, box
    assert "dup key: { u: 7 }" in str(box["e"]), box["e"]
    assert [ix["name"] for ix in coll.list_indexes()] == ["_id_"]
    v = client.test.command("validate", "uq", full=True)
    assert v["valid"] is True, v
    assert server.log_entries(20649)  # Index build: failed


def test_unique_build_passes_when_duplicate_is_gone_by_commit():
    coll = seed_unique("uq2")
    count = pause_builds("test.uq2")
    t, box = build_in_thread(coll, [("u", 1)], "u_1", unique=True)
    try:
        wait_paused(count)
        coll.insert_one({"_id": "dup", "u": 7})
        coll.update_one({"_id": 7}, {"$set": {"u": -7}})  # the first holder lets it go
    finally:
        fp(client, "hangAfterSettingUpIndexBuild", "off")
    t.join(600)
    assert "r" in box, box
    v = client.test.command("validate", "uq2", full=True)
    assert v["valid"] is True and v["keysPerIndex"]["u_1"] == 3001, v
    try:
        coll.insert_one({"u": 8})
        raise AssertionError("the unique index does not hold")
    except pymongo.errors.DuplicateKeyError:
        pass
    assert coll.find_one({"u": 7}, hint="u_1")["_id"] == "dup"


def test_killop_of_a_held_build():
    count = pause_builds("test.big")
    t, box = build_in_thread(client.test.big, [("s", 1)], "s_held")
    try:
        wait_paused(count)
        ops = client.admin.command(SON([("currentOp", 1), ("command.createIndexes", "big")]))
        op = [o for o in ops["inprog"]
              if any(s.get("name") == "s_held" for s in o["command"].get("indexes", []))]
        assert len(op) == 1, ops
        client.admin.command("killOp", op=op[0]["opid"])
    finally:
        fp(client, "hangAfterSettingUpIndexBuild", "off")
    t.join(600)
    assert "e" in box and box["e"].code == 11601, box
    check_clean("s_held")


def test_rename_refused_and_drop_aborts_during_build():
    coll = seed_unique("dd", 2000)
    count = pause_builds("test.dd")
    t, box = build_in_thread(coll, [("u", 1)], "u_1")
    try:
        wait_paused(count)
        try:
            client.admin.command("renameCollection", "test.dd", to="test.dd2")
            raise AssertionError("rename during a build accepted")
        except pymongo.errors.OperationFailure as e:
            assert e.code == 12587, e  # BackgroundOperationInProgressForNamespace
        coll.drop()
    finally:
        fp(client, "hangAfterSettingUpIndexBuild", "off")
    t.join(600)
    assert "e" in box and box["e"].code == 276, box  # IndexBuildAborted
    assert "dd" not in client.test.list_collection_names()


def test_kill9_mid_build_leaves_no_half_index():
    s = Server(TEST_ARGS).start()
    try:
        c = pymongo.MongoClient(s.uri)
        c.test.k.insert_many([{"_id": i, "a": i % 101} for i in range(20000)])
        count = fp(c, "hangIndexBuildBeforeCommit", "alwaysOn", data={"ns": "test.k"})["count"]

        def run():
            try:
                pymongo.MongoClient(s.uri, socketTimeoutMS=600000).test.k.create_index(
                    "a", name="a_1")
            except pymongo.errors.PyMongoError:
                pass  # the kill ends it
        t = threading.Thread(target=run, daemon=True)
        t.start()
        wait_paused(count, "hangIndexBuildBeforeCommit", c)
        # scanned, not committed: these writes sit in the side table
        c.test.k.insert_many([{"_id": -i, "a": i} for i in range(1, 500)])
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        c.close()
        s.start()
        c = pymongo.MongoClient(s.uri)
        assert [ix["name"] for ix in c.test.k.list_indexes()] == ["_id_"]
        builds = c.test.command("listIndexes", "k", includeBuildUUIDs=True)
        assert len(builds["cursor"]["firstBatch"]) == 1, builds
        assert c.test.k.count_documents({}) == 20499
        v = c.test.command("validate", "k", full=True)
        assert v["valid"] is True, v
        swept = [e["attr"]["uri"] for e in s.log_entries(22112)]
        assert any(u.startswith("table:sidewrites-") for u in swept), swept
        assert any(u.startswith("table:index-") for u in swept), swept
        c.test.k.create_index("a", name="a_1")  # and it builds again from scratch
        v = c.test.command("validate", "k", full=True)
        assert v["valid"] is True and v["keysPerIndex"]["a_1"] == 20499, v
        c.close()
    finally:
        s.stop()


def main():
    global server, client
    server = Server(TEST_ARGS).start()
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
