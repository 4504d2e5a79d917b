"""test_repl_recovery.py -- the replicated storage mode (a member's default,
named explicitly here: --setParameter replUnloggedTables=1: collections
unlogged, only the oplog, the catalog and the local database journaled) on a
three-member set: kill -9 a secondary and
then the primary in the middle of a write load (inserts, updates, an index
build, a rename), restart them, and check that each recovered from its stable
checkpoint by replaying the oplog, that every w: "majority" acknowledged write
is there, and that every member ends with the same dbHash."""
import os
import shutil
import signal
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402
from replset import direct, wait_for as wait_until  # noqa: E402


def wait_for(pred, timeout=180, what="condition"):
    return wait_until(pred, timeout, what)


SET = "rsrec"
ARGS = ["--replSet", SET, "--setParameter", "replUnloggedTables=1"]
CHECKPOINT_S = 60  # storage checkpoints every 60 s (MongoDB's syncdelay)
servers = []
acked = set()
stop = threading.Event()
SECONDARY = pymongo.ReadPreference.SECONDARY_PREFERRED


def primary():
    for s in servers:
        if not s.alive():
            continue
        try:
            if direct(s).admin.command("hello").get("isWritablePrimary"):
                return s
        except pymongo.errors.PyMongoError:
            pass
    return None


def uri():
    return "mongodb://%s/?replicaSet=%s" % (",".join("127.0.0.1:%d" % s.port for s in servers), SET)


def writer():
    c = pymongo.MongoClient(uri(), serverSelectionTimeoutMS=60000, retryWrites=True,
                            w="majority", wtimeoutMS=60000)
    i = 0
    while not stop.is_set():
        try:
            c.test.load.insert_one({"_id": i, "v": i})
            acked.add(i)
            if i % 7 == 0:
                c.test.load.update_one({"_id": i}, {"$set": {"u": True}})
        except pymongo.errors.PyMongoError:
            time.sleep(0.2)
        i += 1
    c.close()


def test_initiate():
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": i, "host": "127.0.0.1:%d" % s.port} for i, s in enumerate(servers)],
           "settings": {"electionTimeoutMillis": 2000, "heartbeatIntervalMillis": 300}}
    assert direct(servers[0]).admin.command("replSetInitiate", cfg)["ok"] == 1
    wait_for(primary, what="a primary")


def recoveries(s):
    """The stableTimestamp of each start-up recovery logged (log id 21371)."""
    import json
    out = []
    with open(s.logpath) as f:
        for line in f:
            if '"id":21371' in line.replace(" ", ""):
                out.append(json.loads(line)["attr"]["stableTimestamp"])
    return out


def restart(s):
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    time.sleep(1)
    s.proc = None
    s.start(timeout=120)
    got = recoveries(s)  # the log starts afresh with each start
    assert len(got) == 1, got
    # a secondary again, or stopped because its log diverged (settle() below handles it)
    wait_for(lambda: diverged(s) or direct(s).admin.command("hello").get("secondary"),
             what="rejoin")
    return got[-1]


def applied(s):
    return direct(s).admin.command("replSetGetStatus")["optimes"]["appliedOpTime"]["ts"]


def diverged(s):
    """The member stopped on a log that diverged from its sync source's (log id 21363)."""
    return '"id":21363' in s.log_text().replace(" ", "")


def settle(s, target):
    """Wait until member s applied target (a timestamp) as a SECONDARY -- "caught up" -- or
    stopped because its log diverged (21363) -- "diverged". A primary killed under load may
    hold entries nobody fetched: recovery replays them (they are in its journaled oplog),
    and the member then meets a sync source without them, which needs rollback (issue 12)."""
    def state():
        if diverged(s):
            return "diverged"
        st = direct(s).admin.command("replSetGetStatus")
        me = next(m for m in st["members"] if m.get("self"))
        return "caught up" if me["stateStr"] == "SECONDARY" and applied(s) >= target else None
    return wait_for(state, what="member %d to catch up or diverge" % s.port)


def only_on(s, ref):
    """The _ids of test.load inserts that member s's oplog holds and member ref's does not."""
    theirs = {(e["ts"], e["t"]) for e in direct(ref).local["oplog.rs"].find({}, {"ts": 1, "t": 1})}
    return {e["o"]["_id"] for e in direct(s).local["oplog.rs"].find({"op": "i", "ns": "test.load"})
            if (e["ts"], e["t"]) not in theirs}


def resync(s):
    """MongoDB's remedy for a member that cannot roll back: empty dbpath, restart."""
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    s.proc = None
    for name in os.listdir(s.dbpath):
        path = os.path.join(s.dbpath, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    s.start(timeout=120)


def test_kill_members_under_load():
    started = time.time()
    c = pymongo.MongoClient(uri(), serverSelectionTimeoutMS=60000, w="majority")
    c.test.moved.insert_many([{"_id": i} for i in range(100)])
    t = threading.Thread(target=writer)
    t.start()
    try:
        wait_for(lambda: len(acked) > 200, what="writes before the first kill")
        c.test.load.create_index("v")
        c.test.moved.rename("renamed")
        sec = [s for s in servers if s is not primary()][0]
        restart(sec)  # early: possibly no stable checkpoint yet (the whole oplog replays)
        n = len(acked)
        wait_for(lambda: len(acked) > n + 200, what="writes after the secondary's restart")
        # after a periodic checkpoint: the primary recovers from a stable checkpoint
        while time.time() < started + CHECKPOINT_S + 10:
            time.sleep(1)
        p = primary()
        assert restart(p) != 0, "the primary had no stable checkpoint"
        n = len(acked)
        wait_for(lambda: len(acked) > n + 200, what="writes after the primary's restart")
    finally:
        stop.set()
        t.join()
    ids = set(d["_id"] for d in c.test.load.find({}, {"_id": 1}))
    missing = acked - ids
    assert not missing, "acknowledged writes lost: %r" % sorted(missing)[:20]
    q = wait_for(primary, what="a primary")
    target = applied(q)
    for s in servers:
        if s is not q and settle(s, target) == "diverged":
            # what it held alone was never acknowledged at w: "majority"
            alone = only_on(s, q)
            assert not (alone & acked) - ids, sorted((alone & acked) - ids)[:5]
            print("member %d diverged (%d inserts only there, none acknowledged): resynced"
                  % (s.port, len(alone)))
            resync(s)
            settle(s, target)

    def hashes():
        return [direct(s).get_database("test", read_preference=SECONDARY).command("dbHash")["md5"]
                for s in servers]
    try:
        wait_for(lambda: len(set(hashes())) == 1, timeout=120, what="the same dbHash on every member")
    except AssertionError:
        for s in servers:
            db = direct(s).get_database("test", read_preference=SECONDARY)
            print(s.port, db.command("dbHash")["collections"],
                  {n: db[n].count_documents({}) for n in db.list_collection_names()})
        raise
    for s in servers:
        db = direct(s).get_database("test", read_preference=SECONDARY)
        assert db.renamed.count_documents({}) == 100
        assert "v_1" in [ix["name"] for ix in db.load.list_indexes()]
        # the index holds every document (rebuilt during recovery when needed)
        assert db.load.count_documents({"v": {"$gte": 0}}, hint="v_1") == \
            db.load.count_documents({})
    c.close()


def main():
    for _ in range(3):
        s = Server(ARGS)
        s.start()
        servers.append(s)
    failed = run_tests(collect_tests(globals()))
    for s in servers:
        if failed:
            s.failed = True
        s.stop()
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
