"""test_profiler.py -- pymongo against micad: the profiler (profile levels 0/1/2,
slowms, sampleRate, filter; system.profile as a capped collection with
MongoDB's document shape), the "Slow query" log line (51803) with the same
figures, `top`, and the serverStatus sections operator tools read
(opLatencies, globalLock, locks, wiredTiger.cache / .transaction /
.concurrentTransactions -- the fields mongostat's source reads)."""
import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from bson.son import SON  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

server = None
client = None


def profile(dbname, level, **kw):
    cmd = SON([("profile", level)])
    cmd.update(kw)
    return client[dbname].command(cmd)


def expect_code(fn, code):
    try:
        fn()
    except pymongo.errors.OperationFailure as e:
        assert e.code == code, (e.code, str(e))
        return
    raise AssertionError("expected error code %d" % code)


def test_level2_documents():
    db = client.prof
    assert profile("prof", 2)["was"] == 0
    db.c.insert_many([{"a": i, "b": i % 3} for i in range(30)])
    db.c.create_index("a")
    assert len(list(db.c.find({"a": {"$gte": 20}}))) == 10
    db.c.update_many({"b": 1}, {"$set": {"u": True}})
    db.c.delete_one({"a": 0})
    profile("prof", 0)
    docs = list(db.system.profile.find())
    ops = [d["op"] for d in docs]
    for op in ("insert", "query", "update", "remove"):
        assert op in ops, ops
    q = [d for d in docs if d["op"] == "query" and d["ns"] == "prof.c"][0]
    for f in ("op", "ns", "command", "keysExamined", "docsExamined", "nreturned", "millis",
              "planSummary", "ts", "client", "user", "allUsers", "numYield", "locks",
              "responseLength", "protocol"):
        assert f in q, (f, q)
    assert q["planSummary"] == "IXSCAN { a: 1 }", q["planSummary"]
    assert q["keysExamined"] == 10 and q["docsExamined"] == 10 and q["nreturned"] == 10, q
    assert q["command"]["find"] == "c"
    assert q["client"] == "127.0.0.1"
    u = [d for d in docs if d["op"] == "update"][0]
    assert u["nMatched"] == 10 and u["nModified"] == 10, u
    assert [d for d in docs if d["op"] == "insert"][0]["ninserted"] == 30
    opts = db.command("listCollections", filter={"name": "system.profile"})
    info = opts["cursor"]["firstBatch"][0]["options"]
    assert info.get("capped") is True and info.get("size") == 1048576, info


def test_profile_settings_and_errors():
    r = profile("prof", -1)
    assert r["was"] == 0 and "slowms" in r and "sampleRate" in r, r
    expect_code(lambda: profile("prof", 3), 2)
    expect_code(lambda: profile("prof", 1, sampleRate=2.0), 2)
    expect_code(lambda: profile("prof", 1, bogus=1), 40415)
    expect_code(lambda: profile("prof", "x"), 14)


def test_level1_slowms_samplerate_and_filter():
    db = client.prof1
    # slowms 0: every operation is slow; sampleRate 0: none is sampled
    profile("prof1", 1, slowms=0, sampleRate=0.0)
    db.c.insert_one({"x": 1})
    assert db.system.profile.count_documents({"op": "insert"}) == 0
    profile("prof1", 1, sampleRate=1.0)
    db.c.insert_one({"x": 2})
    assert db.system.profile.count_documents({"op": "insert"}) == 1
    # a filter decides alone
    r = profile("prof1", 1, filter={"op": "query"})
    assert r["was"] == 1
    db.c.insert_one({"x": 3})
    list(db.c.find({"x": 3}))
    assert db.system.profile.count_documents({"op": "insert"}) == 1
    assert db.system.profile.count_documents({"op": "query", "ns": "prof1.c"}) >= 1
    r = profile("prof1", 0, filter="unset", slowms=100)
    assert r["filter"] == {"op": "query"}, r
    assert "filter" not in profile("prof1", -1)


def test_system_profile_stays_capped():
    db = client.profcap
    profile("profcap", 2)
    big = "x" * 4000
    for i in range(400):
        db.c.insert_one({"i": i, "pad": big})
    profile("profcap", 0)
    size = db.command("collStats", "system.profile")["size"]
    assert size <= 1048576 + 20000, size


def test_slow_query_log():
    profile("admin", -1, slowms=0)
    client.slow.c.insert_one({"k": 1})
    list(client.slow.c.find({"k": 1}, comment="slowlog"))
    profile("admin", -1, slowms=100)
    lines = [json.loads(line) for line in server.log_text().splitlines() if '"id":51803' in line]
    found = [l for l in lines if l["attr"].get("command", {}).get("comment") == "slowlog"]
    assert found, lines[-3:]
    a = found[0]["attr"]
    for f in ("type", "ns", "command", "planSummary", "keysExamined", "docsExamined",
              "nreturned", "numYields", "reslen", "durationMillis", "locks", "protocol"):
        assert f in a, (f, a)
    assert a["ns"] == "slow.c" and a["planSummary"] == "COLLSCAN" and a["nreturned"] == 1


def test_top():
    client.topdb.t.insert_many([{"i": i} for i in range(5)])
    list(client.topdb.t.find())
    client.topdb.t.update_one({"i": 1}, {"$set": {"j": 1}})
    totals = client.admin.command("top")["totals"]
    assert totals["note"] == "all times in microseconds"
    t = totals["topdb.t"]
    for k in ("total", "readLock", "writeLock", "queries", "getmore", "insert", "update",
              "remove", "commands"):
        assert set(t[k]) == {"time", "count"}, (k, t[k])
    assert t["insert"]["count"] >= 1 and t["queries"]["count"] >= 1 and t["update"]["count"] >= 1
    assert t["total"]["count"] >= 3
    expect_code(lambda: client.topdb.command("top"), 13)


def test_server_status_sections():
    s = client.admin.command("serverStatus")
    for fam in ("reads", "writes", "commands", "transactions"):
        assert set(s["opLatencies"][fam]) >= {"latency", "ops"}, s["opLatencies"]
    assert s["opLatencies"]["reads"]["ops"] > 0 and s["opLatencies"]["writes"]["ops"] > 0
    h = client.admin.command(SON([("serverStatus", 1), ("opLatencies", {"histograms": True})]))
    assert "histogram" in h["opLatencies"]["reads"]
    # mongostat's reads (mongo-tools mongostat/status/server_status.go)
    wt = s["wiredTiger"]
    for f in ("tracked dirty bytes in the cache", "bytes currently in the cache",
              "maximum bytes configured"):
        assert isinstance(wt["cache"][f], int), f
    assert wt["cache"]["maximum bytes configured"] > 0
    assert "transaction checkpoints" in wt["transaction"]
    for rw in ("read", "write"):
        assert "out" in wt["concurrentTransactions"][rw]
    for k in ("readers", "writers", "total"):
        assert k in s["globalLock"]["currentQueue"] and k in s["globalLock"]["activeClients"]
    assert "acquireCount" in s["locks"]["Global"]
    trimmed = client.admin.command(SON([("serverStatus", 1), ("wiredTiger", 0), ("locks", 0)]))
    assert "wiredTiger" not in trimmed and "locks" not in trimmed


def main():
    global server, client
    server = Server().start()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=10000)
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
