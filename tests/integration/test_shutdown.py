"""test_shutdown.py -- micad stops cleanly: the shutdown command (admin only),
SIGTERM and SIGINT all end with exit code 0, no process left behind, the
dbpath lock released (an empty mongod.lock), and an in-flight awaitable hello
answered rather than cut off."""
import os
import signal
import socket
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


def assert_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    raise AssertionError("process %d still exists" % pid)


def assert_clean_lock(dbpath):
    lock = os.path.join(dbpath, "mongod.lock")
    assert os.path.getsize(lock) == 0, "mongod.lock not emptied"


def test_shutdown_command_stops_with_exit_0():
    s = Server().start()
    pid = s.proc.pid
    c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
    try:
        c.admin.command("shutdown")
    except AutoReconnect:
        pass  # mongod closes the connection; either way is a clean stop
    code = s.wait(timeout=30)
    c.close()
    assert code == 0, code
    assert_gone(pid)
    assert_clean_lock(s.dbpath)
    assert "Shutting down" in s.log_text()
    s.stop()


def test_shutdown_is_admin_only():
    with Server() as s:
        c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        try:
            c.test.command("shutdown")
        except OperationFailure as e:
            assert e.code == 13, e.details
            assert e.details["errmsg"] == "shutdown may only be run against the admin database."
        else:
            raise AssertionError("shutdown ran on test")
        assert s.alive()
        c.close()


def test_signals_stop_with_exit_0():
    for sig in (signal.SIGTERM, signal.SIGINT):
        s = Server().start()
        pid = s.proc.pid
        dbpath = s.dbpath
        s.proc.send_signal(sig)
        code = s.wait(timeout=30)
        assert code == 0, (sig, code)
        assert_gone(pid)
        assert_clean_lock(dbpath)
        s.stop()


def test_parked_hello_is_answered_at_shutdown():
    s = Server().start()
    conn = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    conn.sendall(harness.op_msg({"hello": 1, "$db": "admin"}))
    tv = harness.read_reply(conn)["topologyVersion"]
    conn.sendall(harness.op_msg({"hello": 1, "$db": "admin", "topologyVersion": tv,
                                 "maxAwaitTimeMS": 60000}))
    time.sleep(0.3)  # let it park
    t0 = time.time()
    result = {}

    def reader():
        try:
            result["reply"] = harness.read_reply(conn)
        except Exception as e:  # noqa: BLE001
            result["error"] = e

    th = threading.Thread(target=reader)
    th.start()
    s.proc.send_signal(signal.SIGTERM)
    th.join(timeout=30)
    code = s.wait(timeout=30)
    conn.close()
    assert code == 0, code
    assert time.time() - t0 < 30, "shutdown waited for the awaitable hello's full time"
    assert "reply" in result and result["reply"]["ok"] == 1.0, result
    s.stop()


def main():
    failed = run_tests(collect_tests(globals()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
