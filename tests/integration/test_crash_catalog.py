"""test_crash_catalog.py -- the catalog survives kill -9 in the middle of DDL.

A client runs a fixed sequence of catalog operations -- create, insert,
createIndexes on a fresh collection, renameCollection, createIndexes over a
5,000-document collection (a build that takes a while), dropIndexes and drop
-- and the server is killed with SIGKILL at a random moment, over several
rounds on the same dbpath. After each restart the state must be exactly the
one after the last acknowledged operation, or after the one in flight (it
either happened or it did not; never half): the same collections
(listCollections), each with the same documents and the same indexes
(listIndexes), and `validate` (full) clean for every collection -- every index
entry points at a document and every document has its entries.

No failpoint is needed: an operation in flight at the kill is in the middle of
whatever it was doing, and the rounds spread the kill over every step."""
import os
import random
import signal
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import PyMongoError  # noqa: E402

from harness import Server  # noqa: E402

ROUNDS = 6
BIG = 5000


def ops_for_round(r, steps):
    """The round's operations as (description, function(db), model change)."""
    ops = []
    for i in range(steps):
        t, u = "t%d_%d" % (r, i), "u%d_%d" % (r, i)
        prev = "u%d_%d" % (r, i - 1)
        ops += [
            ("create " + t, lambda db, t=t: db.create_collection(t),
             lambda m, t=t: m.__setitem__(t, (0, {"_id_"}))),
            ("insert into " + t,
             lambda db, t=t: db[t].insert_many([{"_id": k, "a": k} for k in range(50)]),
             lambda m, t=t: m.__setitem__(t, (50, m[t][1]))),
            ("createIndex a_1 on " + t, lambda db, t=t: db[t].create_index("a"),
             lambda m, t=t: m.__setitem__(t, (m[t][0], m[t][1] | {"a_1"}))),
            ("rename %s to %s" % (t, u),
             lambda db, t=t, u=u: db.client.admin.command("renameCollection", "crash." + t,
                                                          to="crash." + u),
             lambda m, t=t, u=u: m.__setitem__(u, m.pop(t))),
            ("createIndex x_1 on big", lambda db: db.big.create_index("x"),
             lambda m: m.__setitem__("big", (BIG, m["big"][1] | {"x_1"}))),
            ("dropIndex x_1 on big", lambda db: db.big.drop_index("x_1"),
             lambda m: m.__setitem__("big", (BIG, m["big"][1] - {"x_1"}))),
        ]
        if i > 0:
            ops.append(("drop " + prev, lambda db, p=prev: db.drop_collection(p),
                        lambda m, p=prev: m.pop(p)))
    return ops


def worker(uri, ops, acked, stop):
    c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=2000, retryWrites=False)
    db = c.crash
    try:
        for _, fn, _ in ops:
            if stop.is_set():
                break
            fn(db)
            acked[0] += 1
    except PyMongoError:
        pass
    finally:
        c.close()


def actual_state(uri):
    """{name: (count, {index names})} and the validate verdicts."""
    c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        db = c.crash
        state, bad = {}, []
        for info in db.list_collections():
            name = info["name"]
            idx = {ix["name"] for ix in db[name].list_indexes()}
            state[name] = (db[name].count_documents({}), idx)
            v = db.command("validate", name, full=True)
            if not v["valid"] or set(v["keysPerIndex"]) != idx or \
                    any(n != v["nrecords"] for n in v["keysPerIndex"].values()):
                bad.append((name, v))
        return state, bad
    finally:
        c.close()


def main():
    server = Server()
    server.start()
    c = pymongo.MongoClient(server.uri)
    c.crash.big.insert_many([{"_id": k, "x": k % 997} for k in range(BIG)])
    c.close()
    model = {"big": (BIG, {"_id_"})}
    failed = False
    rng = random.Random(int(os.environ.get("MICA_CRASH_SEED", time.time())))
    for rnd in range(ROUNDS):
        ops = ops_for_round(rnd, 6)
        acked, stop = [0], threading.Event()
        t = threading.Thread(target=worker, args=(server.uri, ops, acked, stop))
        t.start()
        time.sleep(rng.uniform(0.05, 3.0))
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        stop.set()
        t.join()
        server.start()
        done = acked[0]
        before = {k: (v[0], set(v[1])) for k, v in model.items()}
        for _, _, change in ops[:done]:
            change(before)
        after = None
        if done < len(ops):
            after = {k: (v[0], set(v[1])) for k, v in before.items()}
            ops[done][2](after)
        state, bad = actual_state(server.uri)
        in_flight = ops[done][0] if done < len(ops) else "nothing"
        if state == before:
            model = before
        elif after is not None and state == after:
            model = after
        else:
            print("round %d: after %d acknowledged operations (in flight: %s) the catalog is"
                  "\n  %s\nexpected\n  %s\nor\n  %s" % (rnd, done, in_flight, state, before,
                                                        after))
            failed = True
            model = state
        if bad:
            print("round %d: validate failed: %s" % (rnd, bad))
            failed = True
        print("round %d: %d operations acknowledged, killed during: %s -> %s" %
              (rnd, done, in_flight, "consistent" if not failed else "INCONSISTENT"))
    server.failed = failed
    server.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
