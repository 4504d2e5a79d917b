"""test_runtime_ops.py -- pymongo against micad: operating a running node.
logRotate and SIGUSR1 rename the log file with a UTC time suffix and continue in
a new one; fsync {lock: true} holds writers and catalog changes (shown in
currentOp as waitingForLock, still killable) while reads are served, until
fsyncUnlock; a
shutdown interrupts running operations with InterruptedAtShutdown (11600)."""
import glob
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


def expect_code(fn, code):
    try:
        fn()
    except pymongo.errors.OperationFailure as e:
        assert e.code == code, (e.code, str(e))
        return
    raise AssertionError("expected error code %d" % code)


def rotated():
    return sorted(glob.glob(server.logpath + ".*"))


def wait_for(pred, what, wait_s=60):
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("never happened: " + what)


def test_log_rotate_command():
    before = rotated()
    assert client.admin.command("logRotate", 1)["ok"] == 1
    after = rotated()
    assert len(after) == len(before) + 1, (before, after)
    with open(after[-1]) as f:
        assert "Log rotation initiated" in f.read()
    client.admin.command("ping")
    assert "Log rotated; this is the new log file" in server.log_text()
    expect_code(lambda: client.admin.command("logRotate", "audit"), 4)
    expect_code(lambda: client.test.command("logRotate", 1), 13)


def test_sigusr1_rotates():
    before = rotated()
    # rotation names have one-second resolution: step past the last one
    time.sleep(1.1)
    server.proc.send_signal(signal.SIGUSR1)
    wait_for(lambda: len(rotated()) == len(before) + 1, "SIGUSR1 rotation")
    assert server.alive()
    client.admin.command("ping")


def test_fsync_lock_holds_writers():
    client.fs.c.insert_one({"_id": 0})
    r = client.admin.command("fsync", lock=True)
    assert r["lockCount"] == 1 and "info" in r, r
    box = {}
    t = threading.Thread(target=lambda: box.update(r=client.fs.c.insert_one({"_id": 1,
                                                                          "w": "blocked"})))
    t.start()

    def waiting():
        cmd = SON([("currentOp", 1), ("ns", "fs.c"), ("waitingForLock", True)])
        return client.admin.command(cmd)["inprog"]

    wait_for(waiting, "a writer waiting for the fsync lock")
    # reads are served meanwhile
    assert client.fs.c.find_one({"_id": 0}) == {"_id": 0}
    assert client.fs.c.count_documents({}) == 1
    r = client.admin.command("fsyncUnlock")
    assert r["lockCount"] == 0, r
    t.join(60)
    assert not t.is_alive() and "r" in box, box
    assert client.fs.c.count_documents({}) == 2
    expect_code(lambda: client.admin.command("fsyncUnlock"), 20)


def test_fsync_locked_writer_can_be_killed():
    client.admin.command("fsync", lock=True)
    box = {}

    def write():
        try:
            client.fs.c.insert_one({"_id": 2})
        except pymongo.errors.OperationFailure as e:
            box["e"] = e

    t = threading.Thread(target=write)
    t.start()
    cmd = SON([("currentOp", 1), ("ns", "fs.c"), ("waitingForLock", True)])
    wait_for(lambda: client.admin.command(cmd)["inprog"], "a waiting writer")
    op = client.admin.command(cmd)["inprog"][0]
    client.admin.command("killOp", op=op["opid"])
    t.join(60)
    client.admin.command("fsyncUnlock")
    assert box.get("e") is not None and box["e"].code == 11601, box
    assert client.fs.c.count_documents({"_id": 2}) == 0


def test_fsync_plain():
    r = client.admin.command("fsync")
    assert r["ok"] == 1 and "lockCount" not in r
    expect_code(lambda: client.test.command("fsync"), 13)


def test_set_parameter_log_verbosity():
    r = client.admin.command("setParameter", 1, logComponentVerbosity={"query": {"verbosity": 2}})
    assert r["was"]["query"]["verbosity"] == -1, r
    r = client.admin.command("setParameter", 1, logComponentVerbosity={"query": -1, "verbosity": 0})
    assert r["was"]["query"]["verbosity"] == 2, r
    r = client.admin.command("setParameter", 1, logLevel=1)
    assert r["was"] == 0, r
    client.admin.command("setParameter", 1, logLevel=0)
    expect_code(lambda: client.admin.command("setParameter", 1, noSuchParameterX=1), 72)
    expect_code(lambda: client.admin.command("setParameter", 1, logLevel=9), 2)
    expect_code(lambda: client.admin.command("setParameter", 1,
                                             logComponentVerbosity={"bogus": 1}), 2)


def test_fsync_lock_holds_catalog_changes():
    """create, drop, createIndexes and renameCollection wait for fsyncUnlock too."""
    db = client.fsddl
    db.drop_me.insert_one({"_id": 1})
    db.rename_me.insert_one({"_id": 1})
    db.indexed.insert_one({"_id": 1, "a": 1})
    before = sorted(db.list_collection_names())
    client.admin.command("fsync", lock=True)
    results, errors = {}, []

    def run(name, fn):
        try:
            results[name] = fn()
        except Exception as e:  # noqa: BLE001
            errors.append((name, e))

    work = {
        "create": lambda: db.command("create", "made"),
        "drop": lambda: db.command("drop", "drop_me"),
        "createIndexes": lambda: db.indexed.create_index("a"),
        "renameCollection": lambda: client.admin.command(
            "renameCollection", "fsddl.rename_me", to="fsddl.renamed"),
    }
    threads = [threading.Thread(target=run, args=(k, f)) for k, f in work.items()]
    try:
        for t in threads:
            t.start()

        def waiting():
            ops = client.admin.command(SON([("currentOp", 1), ("waitingForLock", True)]))["inprog"]
            names = {next(iter(o["command"])) for o in ops if "command" in o}
            return set(work) <= names

        wait_for(waiting, "every catalog change waiting for the fsync lock")
        # nothing changed while the lock is held, and reads are still served
        assert sorted(db.list_collection_names()) == before
        assert [i["name"] for i in db.indexed.list_indexes()] == ["_id_"]
        assert db.rename_me.find_one() == {"_id": 1}
    finally:
        client.admin.command("fsyncUnlock")
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert set(results) == set(work), results
    names = set(db.list_collection_names())
    assert {"made", "renamed", "indexed"} <= names and not {"drop_me", "rename_me"} & names
    assert "a_1" in [i["name"] for i in db.indexed.list_indexes()]


def test_fsync_locked_catalog_change_can_be_killed():
    client.admin.command("fsync", lock=True)
    box = {}

    def create():
        try:
            client.fsddl.command("create", "killed")
        except pymongo.errors.OperationFailure as e:
            box["e"] = e

    t = threading.Thread(target=create)
    t.start()
    cmd = SON([("currentOp", 1), ("command.create", "killed"), ("waitingForLock", True)])
    try:
        wait_for(lambda: client.admin.command(cmd)["inprog"], "a waiting create")
        client.admin.command("killOp", op=client.admin.command(cmd)["inprog"][0]["opid"])
        t.join(60)
    finally:
        client.admin.command("fsyncUnlock")
    assert box.get("e") is not None and box["e"].code == 11601, box
    assert "killed" not in client.fsddl.list_collection_names()


def test_shutdown_interrupts_running_operations():
    s2 = Server().start()
    c2 = pymongo.MongoClient(s2.uri, serverSelectionTimeoutMS=10000, retryReads=False)
    try:
        c2.test.big.insert_many([{"i": i} for i in range(1000)])
        box = {}

        def slow():
            try:
                list(c2.test.big.aggregate([
                    {"$lookup": {"from": "big", "let": {"x": "$i"},
                                 "pipeline": [{"$match": {"$expr": {"$eq": ["$i", {"$add": ["$$x", 0.5]}]}}}],
                                 "as": "m"}}], comment="shutdown-me"))
            except pymongo.errors.PyMongoError as e:
                box["e"] = e

        t = threading.Thread(target=slow)
        t.start()
        cmd = SON([("currentOp", 1), ("command.comment", "shutdown-me")])
        wait_for(lambda: [o for o in c2.admin.command(cmd)["inprog"]
                          if "aggregate" in o["command"]], "the aggregation")
        s2.proc.send_signal(signal.SIGTERM)
        t.join(120)
        assert not t.is_alive()
        e = box.get("e")
        assert e is not None, box
        if isinstance(e, pymongo.errors.OperationFailure):
            assert e.code == 11600, (e.code, str(e))
        assert s2.wait(60) == 0
    finally:
        c2.close()
        s2.stop()


def main():
    global server, client
    server = Server().start()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=10000)
    try:
        failed = run_tests(collect_tests(globals()), server)
    finally:
        client.close()
        for f in rotated():
            os.unlink(f)
        code = server.stop()
    if code != 0:
        failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
