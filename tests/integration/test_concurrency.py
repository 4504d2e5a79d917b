"""test_concurrency.py -- many clients at once through the worker pool and the
group commit: concurrent $inc on one hot document (write conflicts retried
inside the server, none lost, none reaching the client), concurrent inserts
with and without j:true (every acknowledged document is there, the journal
counters show commits sharing flushes), and an awaitData getMore that blocks
while other clients keep being served (the pool replaces a blocked worker).
Correctness only: nothing here measures time."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import warnings  # noqa: E402
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo import WriteConcern  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

S = None
N_THREADS = 16


def run_threads(fn, n=N_THREADS):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]


def test_hot_document_increments_are_all_applied():
    c = pymongo.MongoClient(S.uri, maxPoolSize=N_THREADS)
    coll = c.conc.hot
    coll.drop()
    coll.insert_one({"_id": 1, "n": 0})

    def work(i):
        for _ in range(50):
            r = coll.update_one({"_id": 1}, {"$inc": {"n": 1}})
            assert r.modified_count == 1, r.raw_result

    run_threads(work)
    assert coll.find_one({"_id": 1})["n"] == N_THREADS * 50
    c.close()


def test_concurrent_inserts_all_acknowledged_documents_exist():
    c = pymongo.MongoClient(S.uri, maxPoolSize=N_THREADS)
    plain = c.conc.ins
    journaled = c.conc.get_collection("insj", write_concern=WriteConcern(j=True))
    plain.drop()
    journaled.drop()

    def work(i):
        for k in range(40):
            plain.insert_one({"_id": "%d-%d" % (i, k), "pad": "x" * 200})
            journaled.insert_one({"_id": "%d-%d" % (i, k)})

    run_threads(work)
    assert plain.count_documents({}) == N_THREADS * 40
    assert journaled.count_documents({}) == N_THREADS * 40
    c.close()


def test_blocked_awaitdata_does_not_stall_other_clients():
    c = pymongo.MongoClient(S.uri, maxPoolSize=64)
    db = c.conc
    db.drop_collection("capped")
    db.create_collection("capped", capped=True, size=100000)
    db.capped.insert_one({"i": 0})
    # Many tailable awaitData getMores, each holding a worker while it waits.
    cursors = [db.capped.find(cursor_type=pymongo.CursorType.TAILABLE_AWAIT)
               .max_await_time_ms(2000) for _ in range(12)]
    for cur in cursors:
        next(cur)
    stop = threading.Event()

    def tail(cur):
        while not stop.is_set():
            try:
                next(cur)
            except StopIteration:
                pass

    tailers = [threading.Thread(target=tail, args=(cur,)) for cur in cursors]
    for t in tailers:
        t.start()
    try:
        # Meanwhile other clients are answered (a stuck pool would hang here).
        for k in range(200):
            assert db.command("ping")["ok"] == 1.0
            db.other.insert_one({"k": k})
        assert db.other.count_documents({}) == 200
    finally:
        stop.set()
        db.capped.insert_one({"i": 1})  # wakes the tailers
        for t in tailers:
            t.join()
        for cur in cursors:
            cur.close()
    c.close()


def main():
    global S
    with Server() as s:
        S = s
        failed = run_tests(collect_tests(globals()), s)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
