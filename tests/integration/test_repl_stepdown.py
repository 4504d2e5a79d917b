"""test_repl_stepdown.py -- a three-member set: what test_repl_set.py does not
cover of step-down, freeze and write-concern timeouts, and a regression test.

- concurrent inserts into a collection that does not exist yet (each one may
  create it): every acknowledged w: "majority" insert is on every member (the
  create entry used to be logged after another writer's first insert, which a
  secondary then skipped);
- w: "majority" with both secondaries paused: a writeConcernError 64 beside a
  successful write (n: 1, the document on the primary);
- replSetStepDown while no secondary has caught up: ExceededTimeLimit 262
  after secondaryCatchUpPeriodSecs, the primary still primary; with force: true
  it steps down anyway, a retryable write waiting for a majority is interrupted:
  a writeConcernError InterruptedDueToReplStateChange (11602, as MongoDB 4.2+
  answers; its own test accepts PrimarySteppedDown 189 too) beside the done write,
  with the RetryableWriteError label (and the old primary, holding writes nobody
  else has, is resynced);
- replSetFreeze 0 thaws: with both other members unable to stand (one frozen,
  one just stepped down), the member that is thawed is the one elected.

electionTimeoutMillis is 5000 here so that the paused secondaries are not
given up on (heartbeat timeout, then the liveness check) while the test runs."""
import os
import sys
import threading
import uuid
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from bson import Binary, Int64  # noqa: E402
from pymongo.write_concern import WriteConcern  # noqa: E402

from harness import raw_command  # noqa: E402
from replset import run_suite, wait_for  # noqa: E402

rs = None


def expect_code(code, fn):
    try:
        r = fn()
    except pymongo.errors.OperationFailure as e:
        assert e.code == code, e.details
        return e.details
    raise AssertionError("expected error %d, got %r" % (code, r))


def test_concurrent_implicit_creates_replicate():
    c = rs.client()
    for round_ in range(4):
        coll = c.test.get_collection("new%d" % round_,
                                     write_concern=WriteConcern(w="majority", wtimeout=60000))
        errors = []

        def insert(t):
            try:
                coll.insert_one({"_id": t})
            except pymongo.errors.PyMongoError as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=insert, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors
    # every acknowledged insert is on every member (majority: two already; all three soon)
    for i in range(3):
        for round_ in range(4):
            wait_for(lambda: rs.coll(i, "test", "new%d" % round_).count_documents({}) == 8,
                     what="test.new%d's 8 documents on member %d" % (round_, i))
    rs.wait_agree("test")
    c.close()


def test_majority_timeout_is_a_write_concern_error_beside_the_write():
    p = rs.wait_primary()
    secs = [i for i in range(3) if i != p]
    for i in secs:
        rs.pause(i)
    try:
        r = rs.direct(p).test.command("insert", "wt", documents=[{"_id": "alone"}],
                                      writeConcern={"w": "majority", "wtimeout": 1000})
        assert r["ok"] == 1 and r["n"] == 1, r
        assert r["writeConcernError"]["code"] == 64, r
        assert r["writeConcernError"]["codeName"] == "WriteConcernFailed", r
        assert rs.direct(p).test.wt.find_one({"_id": "alone"}) is not None
        test_majority_timeout_is_a_write_concern_error_beside_the_write.paused = (p, secs)
    except BaseException:
        for i in secs:
            rs.resume(i)
        raise


def test_step_down_waits_for_a_caught_up_secondary():
    p, secs = test_majority_timeout_is_a_write_concern_error_beside_the_write.paused
    waiter = {}

    def retryable_insert():  # a retryable write (lsid + txnNumber) waiting for a majority
        try:
            waiter["reply"] = raw_command(rs.servers[p].port, {
                "insert": "wt", "documents": [{"_id": "waiting"}],
                "writeConcern": {"w": "majority"}, "lsid": {"id": Binary(uuid.uuid4().bytes, 4)},
                "txnNumber": Int64(1), "$db": "test"}, timeout=300)
        except Exception as e:  # noqa: BLE001 -- reported by the assertion below
            waiter["error"] = repr(e)
    th = threading.Thread(target=retryable_insert)
    th.start()
    try:
        # nobody holds "alone": no electable secondary is caught up within the period
        expect_code(262, lambda: rs.direct(p).admin.command(
            "replSetStepDown", 60, secondaryCatchUpPeriodSecs=1))
        assert rs.hello(p)["isWritablePrimary"] is True
        # force: steps down anyway
        try:
            rs.direct(p).admin.command("replSetStepDown", 60, secondaryCatchUpPeriodSecs=1,
                                       force=True)
        except pymongo.errors.AutoReconnect:
            pass  # MongoDB closes connections on a step-down
        wait_for(lambda: rs.hello(p)["secondary"], what="the forced step-down")
        # the waiting write ends: done, but the step-down interrupted its write-concern
        # wait (InterruptedDueToReplStateChange), labelled for drivers to retry
        th.join(timeout=300)
        r = waiter.get("reply")
        assert r is not None, waiter
        assert r["ok"] == 1 and r["n"] == 1, r
        assert r["writeConcernError"]["code"] == 11602, r
        assert r["writeConcernError"]["codeName"] == "InterruptedDueToReplStateChange", r
        assert "RetryableWriteError" in r.get("errorLabels", []), r
    finally:
        for i in secs:
            rs.resume(i)
        th.join(timeout=300)
    q = rs.wait_primary(exclude=(p,))
    assert q != p
    # p held a write nobody else has: it catches up if a secondary fetched it, else it
    # has diverged (rollback is issue 12) and is resynced
    if rs.wait_rejoined(p) == "diverged":
        rs.resync(p)
        wait_for(lambda: rs.state(p) == "SECONDARY", timeout=180, what="the resynced member")
    rs.wait_agree("test")


def test_freeze_zero_thaws():
    p = rs.wait_primary()
    a, b = [i for i in range(3) if i != p]
    rs.direct(a).admin.command("replSetFreeze", 120)
    rs.direct(b).admin.command("replSetFreeze", 120)
    try:
        rs.direct(p).admin.command("replSetStepDown", 120, secondaryCatchUpPeriodSecs=30)
    except pymongo.errors.AutoReconnect:
        pass
    wait_for(lambda: rs.hello(p)["secondary"], what="the step-down")
    # nobody may stand now; thaw b: b is the one elected
    rs.direct(b).admin.command("replSetFreeze", 0)
    q = rs.wait_primary()
    assert q == b, (p, a, b, q)
    rs.direct(a).admin.command("replSetFreeze", 0)


def main():
    return run_suite(globals(), 3, settings={"electionTimeoutMillis": 5000, "heartbeatIntervalMillis": 300})


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
