"""test_crash_durability.py -- nothing acknowledged with j: true is lost
across kill -9. Three rounds: a pymongo client inserts {_id: i, k: i} with
j: true into a collection with a unique index on k, the server is killed
with SIGKILL at a random moment, restarted on the same dbpath, and every
acknowledged document is checked through both indexes: a delete by _id
(the _id_ index point lookup) must find it, and re-inserting its k must
fail with DuplicateKey on k_1 (its entry is in the secondary index). Before
those probes (which change the data) `validate` must report the collection
and both indexes consistent: every index entry points at a document that
produces it and every document has all its entries."""
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

ROUNDS = 3


def writer(uri, start, acked, stop):
    c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=2000, retryWrites=False)
    coll = c.test.get_collection("crash", write_concern=pymongo.WriteConcern(j=True))
    i = start
    try:
        while not stop.is_set():
            coll.insert_one({"_id": i, "k": i, "pad": "x" * 100})
            acked.append(i)
            i += 1
    except PyMongoError:
        pass
    finally:
        c.close()


def validate(uri):
    """The validate command's verdict on the crashed collection (full scan)."""
    c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        return c.test.command("validate", "crash", full=True)
    finally:
        c.close()


def check(uri, acked):
    c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    db = c.test
    missing = []
    for i in acked:
        try:
            db.crash.insert_one({"k": i})
            missing.append(("k_1", i))
        except pymongo.errors.DuplicateKeyError as e:
            assert "k_1" in str(e), e
    for i in acked:
        r = db.command("delete", "crash", deletes=[{"q": {"_id": i}, "limit": 1}])
        if r["n"] != 1:
            missing.append(("_id_", i))
    c.close()
    return missing


def main():
    server = Server()
    server.start()
    c = pymongo.MongoClient(server.uri)
    c.test.crash.create_index("k", unique=True)
    c.close()
    failed = False
    next_id = 0
    for rnd in range(ROUNDS):
        acked, stop = [], threading.Event()
        t = threading.Thread(target=writer, args=(server.uri, next_id, acked, stop))
        t.start()
        time.sleep(random.uniform(0.5, 2.0))
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        stop.set()
        t.join()
        server.start()
        v = validate(server.uri)
        if not v["valid"] or v["nIndexes"] != 2 or v["nrecords"] < len(acked) or \
                set(v["keysPerIndex"].values()) != {v["nrecords"]}:
            print("round %d: validate failed: %s" % (rnd, v))
            failed = True
        missing = check(server.uri, acked)
        print("round %d: %d acknowledged, %d missing" % (rnd, len(acked), len(missing)))
        if not acked or missing:
            print("missing (index, _id):", missing[:20])
            failed = True
        next_id += len(acked) + 100000
    server.failed = failed
    server.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
