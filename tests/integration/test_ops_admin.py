"""test_ops_admin.py -- pymongo against micad: the operator's commands and
start-up options that change a running node's life.

- shutdown {timeoutSecs}: on a standalone, running operations get that long to
  finish on their own (a paused write commits instead of being interrupted);
  force stops at once; on the primary of a replica set with no
  secondary to catch up, shutdown is refused (ExceededTimeLimit) unless force.
- compact really gives space back: after deleting most documents the
  collection's files shrink, bytesFreed is the measured difference, and the
  remaining data is intact; refused on a replica-set primary without force.
- --fork: the parent exits 0 once the child listens, the child's pid is in
  --pidfilepath; --fork without --logpath is refused (exit code 2); YAML
  processManagement.fork does the same.
- opcounters count documents for insert and statements for update/delete, and
  metrics.commands lists every command with {failed, total}."""
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import AutoReconnect, OperationFailure  # noqa: E402

import harness  # noqa: E402
from harness import Server, collect_tests, run_tests  # noqa: E402

TEST_ARGS = ["--setParameter", "enableTestCommands=1"]


def expect_code(code, fn):
    try:
        fn()
    except OperationFailure as e:
        assert e.code == code, (code, e.details)
        return e.details
    raise AssertionError("expected error %d" % code)


def wait_for(pred, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def shutdown(c, **kw):
    try:
        c.admin.command("shutdown", 1, **kw)
    except AutoReconnect:
        pass  # the server closes the connection: a clean stop either way


def pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def paused_insert(c, coll, doc, box):
    """An insert that pauses before its commit (hangBeforeWriteCommit), in a thread."""
    def run():
        try:
            box["r"] = pymongo.MongoClient(c.address[0], c.address[1]).test[coll].insert_one(doc)
        except Exception as e:  # noqa: BLE001
            box["e"] = e
    count = c.admin.command("configureFailPoint", "hangBeforeWriteCommit",
                            mode="alwaysOn")["count"]
    t = threading.Thread(target=run)
    t.start()
    c.admin.command({"waitForFailPoint": "hangBeforeWriteCommit", "timesEntered": count + 1,
                     "maxTimeMS": 60000})
    return t


# ---- shutdown ----------------------------------------------------------------

def test_shutdown_timeout_secs_lets_running_operations_finish():
    s = Server(TEST_ARGS).start()
    c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=10000)
    box, done = {}, {}
    t = paused_insert(c, "quiesce", {"_id": 1}, box)

    def stop():
        try:
            shutdown(pymongo.MongoClient(s.uri), timeoutSecs=120)
        except Exception as e:  # noqa: BLE001
            done["e"] = e
    st = threading.Thread(target=stop)
    st.start()
    # the shutdown waits for the paused insert: the server still answers meanwhile
    wait_for(lambda: any(next(iter(o.get("command", {"": 0}))) == "shutdown"
                         for o in c.admin.command("currentOp")["inprog"]), "shutdown waiting")
    assert s.alive()
    c.admin.command("configureFailPoint", "hangBeforeWriteCommit", mode="off")
    t.join(120)
    st.join(120)
    assert "e" not in box, box  # committed, not interrupted
    assert s.wait(timeout=120) == 0
    c.close()
    # the write is durable: restart on the same files and read it
    s2 = Server(port=s.port)
    s2.dir = s2.dbpath = s.dbpath
    s2.logpath = os.path.join(s.dbpath, "micad2.log")
    s2.start()
    try:
        assert pymongo.MongoClient(s2.uri).test.quiesce.find_one() == {"_id": 1}
    finally:
        s2.stop()


def test_shutdown_force_interrupts_at_once():
    s = Server(TEST_ARGS).start()
    c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=10000)
    box = {}
    t = paused_insert(c, "forced", {"_id": 1}, box)
    # force: no quiesce -- the server stops although the insert is still paused (the
    # stop releases every failpoint pause; the insert then ends either way)
    shutdown(pymongo.MongoClient(s.uri), force=True, timeoutSecs=120)
    assert s.wait(timeout=120) == 0
    t.join(120)
    assert not t.is_alive() and ("r" in box or "e" in box), box
    s.stop()


def test_shutdown_bad_arguments():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        expect_code(14, lambda: c.admin.command("shutdown", 1, timeoutSecs="x"))
        expect_code(2, lambda: c.admin.command("shutdown", 1, timeoutSecs=-1))
        expect_code(14, lambda: c.admin.command("shutdown", 1, force="yes"))
        assert c.admin.command("ping")["ok"] == 1


def initiate_single(s):
    c = pymongo.MongoClient(s.uri, directConnection=True, serverSelectionTimeoutMS=10000)
    c.admin.command("replSetInitiate", {"_id": "solo", "version": 1,
                                        "members": [{"_id": 0, "host": "127.0.0.1:%d" % s.port}]})
    wait_for(lambda: c.admin.command("hello").get("isWritablePrimary"), "a primary")
    return c


def test_primary_refuses_shutdown_and_compact_unless_force():
    s = Server(["--replSet", "solo"]).start()
    try:
        c = initiate_single(s)
        c.test.rs.insert_one({"_id": 1})
        d = expect_code(20, lambda: c.test.command("compact", "rs"))
        assert "use force:true to force" in d["errmsg"], d
        assert c.test.command("compact", "rs", force=True)["ok"] == 1
        # no secondary can catch up: refused, and the node is still primary
        d = expect_code(262, lambda: c.admin.command("shutdown", 1, timeoutSecs=1))
        assert s.alive() and c.admin.command("hello")["isWritablePrimary"], d
        shutdown(c, force=True, timeoutSecs=0)
        assert s.wait(timeout=120) == 0
    finally:
        s.stop()


# ---- compact -----------------------------------------------------------------

def test_compact_gives_space_back():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        coll = c.test.big
        # incompressible documents: the file size follows the data
        for base in range(0, 12000, 1000):
            coll.insert_many([{"_id": i, "pad": os.urandom(2048)}
                              for i in range(base, base + 1000)])
        keep = coll.find_one({"_id": 599})
        c.admin.command("fsync", 1)
        full = c.test.command("collStats", "big")
        coll.delete_many({"_id": {"$gte": 600}})
        c.admin.command("fsync", 1)
        before = c.test.command("collStats", "big")
        r = c.test.command("compact", "big")
        after = c.test.command("collStats", "big")
        assert r["ok"] == 1 and r["bytesFreed"] > 0, r
        # the record file shrank to a fraction of its full size
        assert after["storageSize"] < full["storageSize"] / 4, (full["storageSize"],
                                                                after["storageSize"])
        # measured, not made up: bytesFreed is what the files lost (give or take what
        # compact's own checkpoint writes)
        lost = (before["storageSize"] + before["totalIndexSize"] -
                after["storageSize"] - after["totalIndexSize"])
        assert abs(r["bytesFreed"] - lost) <= 65536, (r, lost)
        assert coll.count_documents({}) == 600
        assert coll.find_one({"_id": 599}) == keep
        assert c.test.command("validate", "big")["valid"] is True
        # nothing left to give back: a second compact frees nothing (or close to it)
        assert c.test.command("compact", "big")["bytesFreed"] >= 0


def test_compact_errors():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        c.test.create_collection("v_src")
        c.test.command("create", "v", viewOn="v_src", pipeline=[])
        expect_code(26, lambda: c.test.command("compact", "missing"))
        expect_code(166, lambda: c.test.command("compact", "v"))
        c.test.command("profile", 2)
        c.test.v_src.find_one()
        c.test.command("profile", 0)
        expect_code(73, lambda: c.test.command("compact", "system.profile"))
        expect_code(40415, lambda: c.test.command("compact", "v_src", bogus=1))
        expect_code(2, lambda: c.test.command("compact", "v_src", freeSpaceTargetMB=0))
        assert c.test.command("compact", "v_src", freeSpaceTargetMB=1)["bytesFreed"] >= 0


# ---- --fork ------------------------------------------------------------------

def run_fork(args):
    return subprocess.run([harness.micad_path()] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120)


def wait_pid_gone(pid):
    wait_for(lambda: pid_gone(pid), "process %d to exit" % pid)


def test_fork_parent_exits_once_child_listens():
    s = Server()
    pidfile = os.path.join(s.dir, "micad.pid")
    p = run_fork(["--fork", "--port", str(s.port), "--bind_ip", "127.0.0.1", "--dbpath",
                  s.dbpath, "--logpath", s.logpath, "--pidfilepath", pidfile])
    out = p.stdout.decode()
    assert p.returncode == 0, out
    assert "child process started successfully, parent exiting" in out, out
    with open(pidfile) as f:
        pid = int(f.read().strip())
    assert ("forked process: %d" % pid) in out, out
    try:
        # the parent returned only once the child listens: it answers right away
        c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=10000)
        assert c.admin.command("serverStatus")["pid"] == pid
        c.close()
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_pid_gone(pid)
    assert not os.path.exists(pidfile)


def test_fork_from_yaml_and_failures():
    s = Server()
    cfg = os.path.join(s.dir, "micad.yaml")
    pidfile = os.path.join(s.dir, "y.pid")
    with open(cfg, "w") as f:
        f.write("net:\n  port: %d\n  bindIp: 127.0.0.1\nstorage:\n  dbPath: %s\n"
                "systemLog:\n  destination: file\n  path: %s\n"
                "processManagement:\n  fork: true\n  pidFilePath: %s\n"
                % (s.port, s.dbpath, s.logpath, pidfile))
    p = run_fork(["--config", cfg])
    assert p.returncode == 0, p.stdout.decode()
    with open(pidfile) as f:
        pid = int(f.read().strip())
    try:
        c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=10000)
        opts = c.admin.command("getCmdLineOpts")["parsed"]
        assert opts["processManagement"]["fork"] is True, opts
        # a second forked server on the same dbpath fails: the parent reports the child's code
        p2 = run_fork(["--fork", "--port", str(harness.free_port()), "--dbpath", s.dbpath,
                       "--logpath", os.path.join(s.dir, "second.log")])
        assert p2.returncode == 100, (p2.returncode, p2.stdout.decode())
        assert "ERROR: child process failed, exited with 100" in p2.stdout.decode()
        c.close()
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_pid_gone(pid)
    # --fork needs --logpath: a bad option, exit code 2, nothing forked
    p3 = run_fork(["--fork", "--dbpath", s.dbpath, "--port", str(s.port)])
    assert p3.returncode == 2, p3.stdout.decode()
    assert "--fork has to be used with --logpath or --syslog" in p3.stdout.decode()
    s.stop()


# ---- opcounters / metrics.commands --------------------------------------------

def test_opcounters_count_documents_and_statements():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        before = c.admin.command("serverStatus")
        c.test.oc.insert_many([{"_id": i} for i in range(7)])
        c.test.command("update", "oc", updates=[{"q": {"_id": 1}, "u": {"$set": {"a": 1}}},
                                                {"q": {"_id": 2}, "u": {"$set": {"a": 1}}}])
        c.test.command("delete", "oc", deletes=[{"q": {"_id": 3}, "limit": 1},
                                                {"q": {"_id": 4}, "limit": 1},
                                                {"q": {"_id": 5}, "limit": 1}])
        list(c.test.oc.find())
        after = c.admin.command("serverStatus")
        o0, o1 = before["opcounters"], after["opcounters"]
        assert o1["insert"] - o0["insert"] == 7, (o0, o1)
        assert o1["update"] - o0["update"] == 2, (o0, o1)
        assert o1["delete"] - o0["delete"] == 3, (o0, o1)
        assert o1["query"] - o0["query"] == 1, (o0, o1)
        cmds = after["metrics"]["commands"]
        # every command of the table is listed, run or not, with MongoDB's shape
        for name in ("insert", "find", "compact", "fsync", "shutdown", "serverStatus"):
            assert set(cmds[name]) == {"failed", "total"}, cmds.get(name)
        assert cmds["insert"]["total"] - before["metrics"]["commands"]["insert"]["total"] == 1
        assert cmds["update"]["total"] == 1 and cmds["delete"]["total"] == 1
        assert isinstance(cmds["<UNKNOWN>"], int)
        expect_code(59, lambda: c.test.command("noSuchCommandAtAll"))
        assert (c.admin.command("serverStatus")["metrics"]["commands"]["<UNKNOWN>"] ==
                cmds["<UNKNOWN>"] + 1)


def test_slow_log_and_profiler_redact_secrets():
    with Server(["--slowms", "0"]) as s:
        c = pymongo.MongoClient(s.uri)
        c.test.command("profile", 2)
        c.test.command("createUser", "u1", pwd="zz-S3cret-zz", roles=[])
        c.test.command("profile", 0)
        prof = [d for d in c.test.system.profile.find() if "createUser" in d["command"]]
        assert prof and prof[0]["command"]["pwd"] == "xxx", prof
        log = s.log_text()
        assert "zz-S3cret-zz" not in log
        assert '"createUser"' in log  # it was logged, redacted


def main():
    failed = run_tests(collect_tests(globals()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
