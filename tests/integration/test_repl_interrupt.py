"""test_repl_interrupt.py -- what a step-down does to the operations running on
the primary, as MongoDB 4.2+ does it (a three-member set, test commands on):

- a write in progress (an insert paused at its commit by the hangBeforeWriteCommit
  failpoint) fails as a whole with InterruptedDueToReplStateChange (11602), with
  the RetryableWriteError label when it is a retryable write (lsid + txnNumber);
  the connection stays open (a ping on it answers); nothing of it is written;
  serverStatus metrics.repl.stateTransition counts it;
- a multi-document update in progress, through pymongo, fails with 11602;
- pymongo's insert_many with retryWrites on the set's connection string, interrupted
  the same way, is retried by the driver on the new primary and succeeds;
- reads are not interrupted: a cursor opened before the step-down is read to its end
  with getMore afterwards, on the same connection; a new read without secondaryOk
  answers NotPrimaryNoSecondaryOk (13435), with secondaryOk it is served.

(A w: "majority" write waiting for its write concern when the primary steps down is
test_repl_stepdown.py's: a writeConcernError 11602 beside the done write.)"""
import os
import socket
import sys
import threading
import uuid
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from bson import Binary, Int64  # noqa: E402
from pymongo.write_concern import WriteConcern  # noqa: E402

from harness import op_msg, read_reply  # noqa: E402
from replset import SECONDARY_OK, run_suite, wait_for  # noqa: E402

rs = None
FP = "hangBeforeWriteCommit"


def fp(i, mode):
    return rs.direct(i).admin.command("configureFailPoint", FP, mode=mode)["count"]


def wait_entered(i, n):
    rs.direct(i).admin.command({"waitForFailPoint": FP, "timesEntered": n, "maxTimeMS": 120000})


def step_down(p):
    """Force a step-down of p and wait until it is a secondary and another member is
    primary; then thaw p, so that a later step-down always finds a member to elect."""
    rs.direct(p).admin.command("replSetStepDown", 60, secondaryCatchUpPeriodSecs=5, force=True)
    wait_for(lambda: rs.hello(p)["secondary"], what="member %d to step down" % p)
    q = rs.wait_primary(exclude=(p,))
    rs.direct(p).admin.command("replSetFreeze", 0)  # may stand again (the next test's step-down)
    return q


class Conn:
    """One client connection kept open across the step-down (raw OP_MSG)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.rid = 0

    def send(self, doc):
        self.rid += 1
        self.sock.sendall(op_msg(doc, request_id=self.rid))

    def command(self, doc):
        self.send(doc)
        return read_reply(self.sock)

    def close(self):
        self.sock.close()


def test_a_paused_retryable_insert_is_interrupted_and_the_connection_stays_open():
    p = rs.wait_primary()
    rs.client().test.ins.insert_one({"_id": "before"})  # the collection exists, w: majority
    conn = Conn(rs.servers[p].port)
    n = fp(p, "alwaysOn")
    try:
        conn.send({"insert": "ins", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}],
                   "lsid": {"id": Binary(uuid.uuid4().bytes, 4)}, "txnNumber": Int64(1),
                   "$db": "test"})
        wait_entered(p, n + 1)
        box = {}
        reader = threading.Thread(target=lambda: box.update(reply=read_reply(conn.sock)))
        reader.start()
        step_down(p)
        reader.join(timeout=300)
    finally:
        fp(p, "off")
    r = box.get("reply")
    assert r is not None, "no reply to the interrupted insert"
    assert r["ok"] == 0 and r["code"] == 11602, r
    assert r["codeName"] == "InterruptedDueToReplStateChange", r
    assert r["errmsg"] == "operation was interrupted", r
    assert r.get("errorLabels") == ["RetryableWriteError"], r
    assert "writeErrors" not in r and "n" not in r, r
    # the connection is still open and usable (MongoDB 4.2+ keeps it)
    assert conn.command({"ping": 1, "$db": "admin"})["ok"] == 1
    conn.close()
    # nothing of the interrupted batch was written anywhere
    for i in range(3):
        wait_for(lambda: rs.coll(i, "test", "ins").count_documents({}) == 1,
                 what="member %d to hold only 'before'" % i)
    m = rs.direct(p).admin.command("serverStatus")["metrics"]["repl"]["stateTransition"]
    assert m["lastStateTransition"] == "stepDown", m
    assert m["userOperationsKilled"] >= 1, m


def test_a_multi_update_is_interrupted_through_pymongo():
    p = rs.wait_primary()
    c = rs.client()
    c.test.upd.insert_many([{"_id": i, "x": 0} for i in range(200)])
    d = pymongo.MongoClient(rs.servers[p].uri, directConnection=True, retryWrites=False,
                            serverSelectionTimeoutMS=30000, socketTimeoutMS=300000)
    n = fp(p, "alwaysOn")
    box = {}

    def update():
        try:
            box["result"] = d.test.upd.update_many({}, {"$inc": {"x": 1}})
        except pymongo.errors.PyMongoError as e:
            box["error"] = e
    th = threading.Thread(target=update)
    th.start()
    try:
        wait_entered(p, n + 1)
        step_down(p)
        th.join(timeout=300)
    finally:
        fp(p, "off")
        th.join(timeout=300)
    e = box.get("error")
    # pymongo raises 11602 as NotMasterError (an AutoReconnect) with the reply as details
    assert isinstance(e, (pymongo.errors.OperationFailure, pymongo.errors.AutoReconnect)), box
    assert isinstance(e.details, dict) and e.details["code"] == 11602, (e, e.details)
    assert e.details["codeName"] == "InterruptedDueToReplStateChange", e.details
    # a multi-update is not a retryable write: no RetryableWriteError label
    assert "RetryableWriteError" not in e.details.get("errorLabels", []), e.details
    assert d.admin.command("ping")["ok"] == 1
    d.close()
    # the document paused at its commit was not updated; the set agrees
    rs.wait_agree("test")
    c.close()


def test_pymongo_retries_an_interrupted_insert_many_on_the_new_primary():
    p = rs.wait_primary()
    c = rs.client(retryWrites=True, socketTimeoutMS=300000)
    coll = c.test.get_collection("retried", write_concern=WriteConcern(w="majority"))
    coll.insert_one({"_id": "first"})
    n = fp(p, "alwaysOn")
    box = {}

    def insert():
        try:
            box["result"] = coll.insert_many([{"_id": i} for i in range(50)])
        except pymongo.errors.PyMongoError as e:
            box["error"] = e
    th = threading.Thread(target=insert)
    th.start()
    try:
        wait_entered(p, n + 1)
        q = step_down(p)
        th.join(timeout=300)
    finally:
        fp(p, "off")
        th.join(timeout=300)
    assert "error" not in box, box
    assert len(box["result"].inserted_ids) == 50
    assert coll.count_documents({}) == 51
    assert rs.coll(q, "test", "retried").count_documents({}) == 51
    c.close()


def test_reads_go_on_across_a_step_down():
    p = rs.wait_primary()
    c = rs.client()
    c.test.get_collection("rd", write_concern=WriteConcern(w=3, wtimeout=120000)).insert_many(
        [{"_id": i} for i in range(10)])
    conn = Conn(rs.servers[p].port)
    r = conn.command({"find": "rd", "batchSize": 2, "sort": {"_id": 1}, "$db": "test"})
    assert r["ok"] == 1, r
    cid = r["cursor"]["id"]
    seen = [d["_id"] for d in r["cursor"]["firstBatch"]]
    step_down(p)
    # the cursor opened on the primary is read to its end after the step-down
    while cid != 0:
        r = conn.command({"getMore": cid, "collection": "rd", "batchSize": 3, "$db": "test"})
        assert r["ok"] == 1, r
        seen += [d["_id"] for d in r["cursor"]["nextBatch"]]
        cid = r["cursor"]["id"]
    assert seen == list(range(10)), seen
    # a new read without secondaryOk: NotPrimaryNoSecondaryOk
    r = conn.command({"find": "rd", "$db": "test"})
    assert r["ok"] == 0 and r["code"] == 13435, r
    assert r["codeName"] == "NotPrimaryNoSecondaryOk", r
    conn.close()
    # with secondaryOk it is served
    got = rs.direct(p).test.get_collection("rd", read_preference=SECONDARY_OK).count_documents({})
    assert got == 10
    c.close()


def main():
    return run_suite(globals(), 3, args=["--setParameter", "enableTestCommands=1"],
                     settings={"electionTimeoutMillis": 3000, "heartbeatIntervalMillis": 500})


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
