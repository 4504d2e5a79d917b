"""test_failpoints.py -- configureFailPoint / waitForFailPoint through pymongo:
off without enableTestCommands (CommandNotFound, as mongod), MongoDB's errors
for bad arguments, the `count` reply, the modes (times, skip, alwaysOn, off),
`data` (errorCode, ns filter), pausing a write and a catalog change at an exact
step (and kill -9 there: a create paused before its catalog commit is gone after
restart, one paused after it is there), maxTimeMS while paused, and a clean
shutdown while a command is paused."""
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import warnings  # noqa: E402
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure, PyMongoError  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

TEST_ARGS = ["--setParameter", "enableTestCommands=1"]
CLIENT = None  # the shared server's client, set by main


def expect_code(code, fn):
    try:
        fn()
    except OperationFailure as e:
        assert e.code == code, (code, e.details)
        return e.details
    raise AssertionError("expected error %d" % code)


def fp(c, name, mode, **kw):
    return c.admin.command("configureFailPoint", name, mode=mode, **kw)


def wait_entered(c, name, n):
    c.admin.command({"waitForFailPoint": name, "timesEntered": n, "maxTimeMS": 60000})


def test_commands_are_not_found_without_enable_test_commands():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        d = expect_code(59, lambda: c.admin.command("configureFailPoint", "dummy", mode="alwaysOn"))
        assert d["errmsg"] == "no such command: 'configureFailPoint'", d
        expect_code(59, lambda: c.test.command("configureFailPoint", "dummy", mode="off"))
        expect_code(59, lambda: c.admin.command({"waitForFailPoint": "dummy", "timesEntered": 1,
                                                 "maxTimeMS": 10}))
        c.close()


def test_bad_arguments():
    c = CLIENT
    expect_code(266, lambda: fp(c, "noSuchFailPoint", "alwaysOn"))
    expect_code(20, lambda: c.admin.command("configureFailPoint", "dummy"))
    d = expect_code(2, lambda: fp(c, "dummy", "sometimes"))
    assert d["errmsg"] == "unknown mode: sometimes", d
    expect_code(14, lambda: fp(c, "dummy", 5))
    expect_code(2, lambda: fp(c, "dummy", {"times": -1}))
    expect_code(14, lambda: fp(c, "dummy", {"times": "x"}))
    expect_code(2, lambda: fp(c, "dummy", {"bogus": 1}))
    expect_code(2, lambda: fp(c, "dummy", {"activationProbability": 2}))
    expect_code(14, lambda: fp(c, "dummy", "alwaysOn", data=5))
    expect_code(13, lambda: c.test.command("configureFailPoint", "dummy", mode="off"))
    expect_code(40414, lambda: c.admin.command({"waitForFailPoint": "dummy", "maxTimeMS": 10}))
    expect_code(40414, lambda: c.admin.command({"waitForFailPoint": "dummy", "timesEntered": 1}))
    expect_code(50, lambda: c.admin.command({"waitForFailPoint": "dummy", "timesEntered": 1,
                                             "maxTimeMS": 50}))


def test_times_skip_count_and_error_code():
    c = CLIENT
    coll = c.test.fp_times
    r = fp(c, "failWriteCommit", {"times": 2}, data={"errorCode": 96})
    assert r["ok"] == 1.0 and r["count"] == 0, r
    for i in range(2):
        try:
            coll.insert_one({"_id": i})
            raise AssertionError("insert %d was not failed" % i)
        except PyMongoError as e:
            assert getattr(e, "code", None) == 96, e
    coll.insert_one({"_id": 2})  # times used up: the failpoint turned itself off
    assert sorted(d["_id"] for d in coll.find()) == [2]
    assert fp(c, "failWriteCommit", "off")["count"] == 2

    fp(c, "failWriteCommit", {"skip": 1})
    coll.insert_one({"_id": 3})  # skipped
    try:
        coll.insert_one({"_id": 4})
        raise AssertionError("insert after skip was not failed")
    except PyMongoError as e:
        assert getattr(e, "code", None) == 8, e  # no data.errorCode: UnknownError
    assert fp(c, "failWriteCommit", "off")["count"] == 3
    assert sorted(d["_id"] for d in coll.find()) == [2, 3]


def test_pause_a_write_before_commit():
    c = CLIENT
    coll = c.test.fp_pause
    count = fp(c, "hangBeforeWriteCommit", "alwaysOn")["count"]
    errors = []

    def writer():
        try:
            pymongo.MongoClient(c.address[0], c.address[1]).test.fp_pause.insert_one({"_id": 1})
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=writer)
    t.start()
    wait_entered(c, "hangBeforeWriteCommit", count + 1)
    assert coll.find_one({"_id": 1}) is None  # paused before its commit: not visible
    fp(c, "hangBeforeWriteCommit", "off")
    t.join(60)
    assert not t.is_alive() and not errors, errors
    assert coll.find_one({"_id": 1}) == {"_id": 1}


def test_max_time_ms_ends_a_pause():
    c = CLIENT
    fp(c, "hangBeforeWriteCommit", "alwaysOn")
    try:
        r = c.test.command("insert", "fp_maxtime", documents=[{"_id": 1}], maxTimeMS=200)
        codes = [w["code"] for w in r.get("writeErrors", [])]
        assert codes == [50], r
    except OperationFailure as e:
        assert e.code == 50, e.details
    finally:
        fp(c, "hangBeforeWriteCommit", "off")
    assert c.test.fp_maxtime.find_one() is None


def test_index_build_pause():
    c = CLIENT
    c.test.fp_idx.insert_many([{"a": i} for i in range(10)])
    count = fp(c, "hangIndexBuildBeforeCommit", "alwaysOn", data={"ns": "test.fp_idx"})["count"]
    t = threading.Thread(target=lambda: pymongo.MongoClient(*c.address).test.fp_idx.create_index("a"))
    t.start()
    wait_entered(c, "hangIndexBuildBeforeCommit", count + 1)
    assert "a_1" not in c.test.fp_idx.index_information()
    fp(c, "hangIndexBuildBeforeCommit", "off")
    t.join(60)
    assert "a_1" in c.test.fp_idx.index_information()


def test_catalog_ns_filter_and_kill_before_and_after_commit():
    for point, survives in (("hangBeforeCatalogCommit", False), ("hangAfterCatalogCommit", True)):
        s = Server(TEST_ARGS).start()
        try:
            c = pymongo.MongoClient(s.uri)
            count = fp(c, point, "alwaysOn", data={"ns": "test.victim"})["count"]
            c.test.create_collection("bystander")  # another namespace: not paused
            t = threading.Thread(
                target=lambda: pymongo.MongoClient(s.uri).test.create_collection("victim"),
                daemon=True)
            t.start()
            wait_entered(c, point, count + 1)
            s.proc.send_signal(signal.SIGKILL)
            s.proc.wait()
            c.close()
            s.start()
            c = pymongo.MongoClient(s.uri)
            names = c.test.list_collection_names()
            assert "bystander" in names, names
            assert ("victim" in names) == survives, (point, names)
            c.close()
        finally:
            s.stop()


def test_shutdown_while_paused():
    s = Server(TEST_ARGS).start()
    try:
        c = pymongo.MongoClient(s.uri)
        count = fp(c, "hangBeforeWriteCommit", "alwaysOn")["count"]
        t = threading.Thread(target=lambda: pymongo.MongoClient(s.uri).test.x.insert_one({}),
                             daemon=True)
        t.start()
        wait_entered(c, "hangBeforeWriteCommit", count + 1)
        c.close()
        s.proc.send_signal(signal.SIGTERM)
        assert s.wait(timeout=60) == 0  # the pause is released; the drain finishes
    finally:
        s.stop()


def main():
    # every test_* in order; those that need other options start their own server
    with Server(TEST_ARGS) as s:
        global CLIENT
        CLIENT = pymongo.MongoClient(s.uri)
        failed = run_tests(collect_tests(globals()), s)
        CLIENT.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
