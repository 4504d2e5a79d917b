"""test_repl_oplog.py -- pymongo against a one-member replica set: hello
before and after replSetInitiate (topologyVersion bumps, an awaitable hello
wakes on the change), config validation with MongoDB's codes, the gates
(NotWritablePrimary before initiation), every kind of write and catalog
change producing its local.oplog.rs entry in MongoDB's shape with
increasing timestamps, tailing the oplog with a tailable awaitData cursor,
replSetGetConfig / replSetGetStatus, a restart taking up the config
again in a higher term, and kill -9 of a member in both storage modes
(replicated, the default, and replUnloggedTables=0) and of a standalone."""
import os
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from bson import Timestamp  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

server = None
client = None


def admin(cmd, *args, **kw):
    return client.admin.command(cmd, *args, **kw)


def expect_code(code, fn):
    try:
        fn()
    except (OperationFailure, pymongo.errors.AutoReconnect) as e:
        details = getattr(e, "details", None) or getattr(e, "errors", None) or {}
        got = details.get("code") if isinstance(details, dict) else None
        assert got == code, "expected code %d, got %s" % (code, details)
        return e
    raise AssertionError("expected error %d" % code)


def entries(**flt):
    return list(client.local["oplog.rs"].find(flt))


def test_hello_before_initiate():
    h = admin("hello")
    assert h["isWritablePrimary"] is False and h["secondary"] is False, h
    assert h["isreplicaset"] is True and "setName" not in h, h
    assert h["info"] == "Does not have a valid replica set config", h


def test_writes_refused_before_initiate():
    expect_code(10107, lambda: client.test.c.insert_one({"a": 1}))
    expect_code(13436, lambda: client.test.c.find_one())


def test_status_before_initiate():
    expect_code(94, lambda: admin("replSetGetStatus"))
    expect_code(94, lambda: admin("replSetGetConfig"))


def test_initiate_validation():
    me = "127.0.0.1:%d" % server.port
    cases = [
        ({"_id": "other", "version": 1, "members": [{"_id": 0, "host": me}]}, 93),
        ({"_id": "rs0", "version": 1, "members": []}, 93),
        ({"_id": "rs0", "version": 1,
          "members": [{"_id": 0, "host": me}, {"_id": 0, "host": "127.0.0.1:1"}]}, 93),
        ({"_id": "rs0", "version": 1,
          "members": [{"_id": 0, "host": me}, {"_id": 1, "host": me}]}, 93),
        ({"_id": "rs0", "version": 1, "members": [{"_id": 0, "host": me, "votes": 2}]}, 93),
        ({"_id": "rs0", "version": 1, "members": [{"_id": 0, "host": me, "priority": 1001}]}, 93),
        ({"_id": "rs0", "version": 1,
          "members": [{"_id": 0, "host": me, "hidden": True}]}, 93),
        ({"_id": "rs0", "version": 1,
          "members": [{"_id": 0, "host": me, "votes": 0, "priority": 1}]}, 93),
        ({"_id": "rs0", "version": 1,
          "members": [{"_id": i, "host": "127.0.0.1:%d" % (1000 + i)} for i in range(8)]}, 93),
        ({"_id": "rs0", "version": 1, "members": [{"_id": 0, "host": "127.0.0.1:1"}]}, 93),
        ({"_id": "rs0", "version": 1, "members": [{"_id": 0, "host": me, "bogus": 1}]}, 40415),
        ({"_id": "rs0", "members": [{"_id": 0, "host": me}]}, 40414),
        ({"_id": "rs0", "version": 1, "members": [{"_id": 0, "host": me}],
          "settings": {"electionTimeoutMillis": 0}}, 2),
    ]
    for cfg, code in cases:
        expect_code(code, lambda: admin("replSetInitiate", cfg))


def test_initiate_wakes_awaitable_hello():
    h = admin("hello")
    tv = h["topologyVersion"]
    result = {}

    def waiter():
        c2 = pymongo.MongoClient(server.uri, directConnection=True)
        result["reply"] = c2.admin.command({"hello": 1, "topologyVersion": tv,
                                            "maxAwaitTimeMS": 20000})
        c2.close()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.3)
    r = admin("replSetInitiate")
    assert r["ok"] == 1 and "info2" in r, r
    t.join(30)
    assert not t.is_alive(), "the awaitable hello did not wake"
    assert result["reply"]["topologyVersion"]["counter"] > tv["counter"], result


def test_hello_after_initiate():
    deadline = time.time() + 10
    while time.time() < deadline and not admin("hello")["isWritablePrimary"]:
        time.sleep(0.05)
    h = admin("hello")
    assert h["isWritablePrimary"] is True and h["secondary"] is False, h
    assert h["setName"] == "rs0" and h["setVersion"] == 1, h
    assert h["primary"] == h["me"] and h["hosts"] == [h["me"]], h
    assert str(h["electionId"]) == "7fffffff0000000000000001", h
    assert h["lastWrite"]["opTime"]["t"] == 1, h
    expect_code(23, lambda: admin("replSetInitiate"))


def test_initiate_entries():
    msgs = [e["o"]["msg"] for e in entries(op="n")]
    assert msgs[:2] == ["initiating set", "new primary"], msgs


def test_every_write_has_its_entry():
    c = client.test.c
    c.insert_one({"_id": 1, "a": 1})
    c.update_one({"_id": 1}, {"$set": {"b": 2}, "$unset": {"a": ""}})
    c.replace_one({"_id": 1}, {"b": 3, "z": 1})
    c.insert_many([{"_id": 2}, {"_id": 3}])
    c.delete_many({"_id": {"$in": [2, 3]}})
    c.create_index("z")
    c.drop_index("z_1")
    client.test.command("collMod", "c", validator={"z": {"$exists": True}})
    c.rename("d")
    client.test.d.drop()
    es = [e for e in entries() if e["ns"].startswith("test.")]
    ops = [(e["op"], e["ns"], next(iter(e["o"])) if e["op"] == "c" else None) for e in es]
    assert ops == [
        ("c", "test.$cmd", "create"),
        ("i", "test.c", None),
        ("u", "test.c", None),
        ("u", "test.c", None),
        ("i", "test.c", None),
        ("i", "test.c", None),
        ("d", "test.c", None),
        ("d", "test.c", None),
        ("c", "test.$cmd", "createIndexes"),
        ("c", "test.$cmd", "dropIndexes"),
        ("c", "test.$cmd", "collMod"),
        ("c", "test.$cmd", "renameCollection"),
        ("c", "test.$cmd", "drop"),
    ], ops
    for e in es:
        assert e["v"] == 2 and e["t"] == 1 and isinstance(e["ts"], Timestamp), e
        assert "wall" in e and "ui" in e, e
    ts = [e["ts"] for e in es]
    assert ts == sorted(ts) and len(set(ts)) == len(ts), ts
    assert es[1]["o"] == {"_id": 1, "a": 1} and es[1]["o2"] == {"_id": 1}
    assert es[2]["o"] == {"$v": 2, "diff": {"d": {"a": False}, "i": {"b": 2}}}, es[2]
    assert es[2]["o2"] == {"_id": 1}
    assert es[6]["o"] == {"_id": 2}, es[6]
    assert es[8]["o"]["key"] == {"z": 1} and es[8]["o"]["name"] == "z_1", es[8]
    assert es[11]["o"]["to"] == "test.d", es[11]


def test_tailable_await_data():
    last = list(client.local["oplog.rs"].find().sort("$natural", -1).limit(1))[0]["ts"]
    cur = client.local["oplog.rs"].find({"ts": {"$gt": last}},
                                        cursor_type=pymongo.CursorType.TAILABLE_AWAIT)
    cur.max_await_time_ms(2000)
    client.test.t.insert_one({"_id": "tail"})
    got = None
    deadline = time.time() + 20
    while time.time() < deadline and got is None:
        for e in cur:
            if e["op"] == "i" and e["ns"] == "test.t":
                got = e
                break
    assert got is not None and got["o"] == {"_id": "tail"}, got
    assert cur.alive
    cur.close()


def test_status_and_config():
    s = admin("replSetGetStatus")
    assert s["set"] == "rs0" and s["myState"] == 1 and s["term"] == 1, s
    me = s["members"][0]
    assert me["self"] and me["stateStr"] == "PRIMARY" and me["health"] == 1, me
    assert s["optimes"]["appliedOpTime"]["t"] == 1, s
    c = admin("replSetGetConfig")["config"]
    assert c["_id"] == "rs0" and c["version"] == 1 and c["protocolVersion"] == 1, c
    assert c["members"][0]["priority"] == 1 and c["members"][0]["votes"] == 1, c
    assert "replicaSetId" in c["settings"], c


def test_restart_new_term():
    """Last: restart on the same dbpath; the member takes up its config in a new term."""
    global server
    client.close()
    dbpath = server.dbpath
    server.proc.terminate()
    server.proc.wait(30)
    server2 = Server(["--replSet", "rs0"], port=server.port)
    server2.dbpath = dbpath
    server2.start()
    try:
        c = pymongo.MongoClient(server2.uri, directConnection=True)
        deadline = time.time() + 10
        while time.time() < deadline and not c.admin.command("hello")["isWritablePrimary"]:
            time.sleep(0.05)
        assert c.admin.command("replSetGetStatus")["term"] == 2
        c.test.after.insert_one({"x": 1})
        e = list(c.local["oplog.rs"].find({"ns": "test.after"}))
        assert len(e) == 1 and e[0]["t"] == 2, e
        c.close()
    finally:
        server2.stop()


def wait_writable(c):
    deadline = time.time() + 60
    while time.time() < deadline and not c.admin.command("hello")["isWritablePrimary"]:
        time.sleep(0.05)
    assert c.admin.command("hello")["isWritablePrimary"]


def test_kill9_in_both_storage_modes():
    """A one-member set killed with SIGKILL keeps its acknowledged writes in both storage
    modes: the default (replicated: recovery replays the oplog, log id 21371) and
    --setParameter replUnloggedTables=0 (every table journaled, no replay); a standalone
    never replays, whatever the parameter says."""
    for extra, replays in (([], True), (["--setParameter", "replUnloggedTables=0"], False)):
        s = Server(["--replSet", "rsk"] + extra)
        s.start()
        try:
            c = pymongo.MongoClient(s.uri, directConnection=True)
            c.admin.command("replSetInitiate")
            wait_writable(c)
            c.test.k.insert_many([{"_id": i} for i in range(100)])
            c.test.k.create_index("x")
            c.close()
            s.proc.kill()
            s.proc.wait(30)
            s.start()
            c = pymongo.MongoClient(s.uri, directConnection=True)
            wait_writable(c)
            assert c.test.k.count_documents({}) == 100, extra
            assert "x_1" in c.test.k.index_information(), extra
            assert bool(s.log_entries(21371)) == replays, (extra, s.log_entries(21371))
            c.close()
        finally:
            s.stop()
    s = Server(["--setParameter", "replUnloggedTables=1"])  # a standalone
    s.start()
    try:
        c = pymongo.MongoClient(s.uri)
        c.test.k.insert_many([{"_id": i} for i in range(100)])
        c.close()
        s.proc.kill()
        s.proc.wait(30)
        s.start()
        c = pymongo.MongoClient(s.uri)
        assert c.test.k.count_documents({}) == 100
        assert not s.log_entries(21371)
        c.close()
    finally:
        s.stop()


def main():
    global server, client
    server = Server(["--replSet", "rs0", "--oplogSize", "16"])
    server.start()
    client = pymongo.MongoClient(server.uri, directConnection=True)
    failed = run_tests(collect_tests(globals()), server)
    server.stop()
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
