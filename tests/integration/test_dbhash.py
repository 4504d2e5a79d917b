"""test_dbhash.py -- dbHash through pymongo: the reply's shape (host, collections,
capped, uuids, md5, timeMillis, fromCache); the same data gives the same hashes
(two servers filled the same way, in a different insertion order, and one server
before and after a restart); any change (a field, a type, a new or removed
document) changes the collection's hash and md5; `collections` limits the set;
MD5 over the documents' BSON in _id order, checked against Python's hashlib;
bad arguments."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import warnings  # noqa: E402
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from bson.codec_options import CodecOptions  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402
from bson.son import SON  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def fill(db, order):
    db.create_collection("capped1", capped=True, size=4096)
    db.capped1.insert_many([{"_id": i, "v": "c%d" % i} for i in range(5)])
    docs = [SON([("_id", i), ("a", i * 2), ("s", "x" * i), ("sub", {"k": [i, None]})])
            for i in range(50)]
    for i in order:
        db.main.insert_one(docs[i])
    db.create_collection("empty")


def dbhash(db, **kw):
    cmd = SON([("dbHash", 1)])
    cmd.update(kw)
    return db.command(cmd)


def test_shape_and_same_data_same_hash():
    with Server() as s1, Server() as s2:
        c1, c2 = pymongo.MongoClient(s1.uri), pymongo.MongoClient(s2.uri)
        fill(c1.t, range(50))
        fill(c2.t, reversed(range(50)))  # another insertion order: same _id order
        h1, h2 = dbhash(c1.t), dbhash(c2.t)
        for k in ("host", "collections", "capped", "uuids", "md5", "timeMillis", "fromCache"):
            assert k in h1, (k, h1)
        assert h1["ok"] == 1.0
        assert sorted(h1["collections"]) == ["capped1", "empty", "main"], h1
        assert list(h1["collections"]) == sorted(h1["collections"])
        assert h1["capped"] == ["capped1"], h1
        assert h1["collections"]["empty"] == EMPTY_MD5, h1
        assert h1["collections"] == h2["collections"], (h1, h2)
        assert h1["md5"] == h2["md5"]
        assert h1["uuids"]["main"] != h2["uuids"]["main"]  # uuids differ; hashes do not
        assert h1["host"].endswith(":%d" % s1.port), h1["host"]
        assert h1["fromCache"] == []
        c1.close()
        c2.close()


def test_md5_is_over_bson_in_id_order():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        raw = c.t.get_collection("r", codec_options=CodecOptions(document_class=RawBSONDocument))
        c.t.r.insert_many([{"_id": 3, "x": 1}, {"_id": 1, "y": [1, 2]}, {"_id": "a"},
                           {"_id": 2.5, "z": {"q": None}}])
        m = hashlib.md5()
        for d in raw.find().sort("_id", 1):
            m.update(d.raw)
        h = dbhash(c.t)
        assert h["collections"]["r"] == m.hexdigest(), (h, m.hexdigest())
        whole = hashlib.md5(h["collections"]["r"].encode()).hexdigest()
        assert h["md5"] == whole, h
        c.close()


def test_changes_change_the_hash_and_restart_does_not():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        fill(c.t, range(50))
        base = dbhash(c.t)
        changes = [
            lambda: c.t.main.update_one({"_id": 7}, {"$set": {"a": 15}}),
            lambda: c.t.main.update_one({"_id": 7}, {"$set": {"a": 14.0}}),  # same value, double
            lambda: c.t.main.insert_one({"_id": 1000}),
            lambda: c.t.main.delete_one({"_id": 0}),
        ]
        seen = {base["collections"]["main"]}
        for change in changes:
            change()
            h = dbhash(c.t)
            assert h["collections"]["main"] not in seen, h
            assert h["collections"]["capped1"] == base["collections"]["capped1"]
            assert h["md5"] != base["md5"]
            seen.add(h["collections"]["main"])
        before = dbhash(c.t)
        c.close()
        s.proc.terminate()  # a clean stop that keeps the dbpath
        assert s.proc.wait(60) == 0
        s.start()
        c = pymongo.MongoClient(s.uri)
        after = dbhash(c.t)
        assert after["collections"] == before["collections"] and after["md5"] == before["md5"]
        assert after["uuids"] == before["uuids"]
        c.close()


def test_collections_filter_and_errors():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        fill(c.t, range(50))
        h = dbhash(c.t, collections=["main", "nosuch"])
        assert list(h["collections"]) == ["main"], h
        assert list(h["uuids"]) == ["main"] and h["capped"] == [], h
        full = dbhash(c.t)
        assert h["collections"]["main"] == full["collections"]["main"]
        try:
            dbhash(c.t, collections=["main", 5])
            raise AssertionError("a non-string collection name was accepted")
        except OperationFailure as e:
            assert e.code == 2 and "have to be strings" in str(e), e.details
        try:
            dbhash(c.t, readConcern={"level": "majority"})
            raise AssertionError("readConcern majority was accepted")
        except OperationFailure as e:
            assert e.code == 72, e.details
        assert dbhash(c.nosuchdb)["collections"] == {}
        assert dbhash(c.nosuchdb)["md5"] == EMPTY_MD5
        assert dbhash(c.local)["collections"] == {}  # never replicated: left out
        assert c.t.command("dbhash")["md5"] == full["md5"]  # the lower-case alias
        c.close()


if __name__ == "__main__":
    sys.exit(1 if run_tests(collect_tests(globals())) else 0)
