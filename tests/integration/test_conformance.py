"""test_conformance.py -- answers that must be MongoDB 7.0's (issue #20).

Each test is one numbered item of the issue; the tables state MongoDB's answer
for each input, checked against MongoDB's public jstests (named beside each
table) and source. pymongo against a real micad."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import bson  # noqa: E402
import pymongo  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from bson.son import SON  # noqa: E402
from pymongo.errors import OperationFailure, WriteError  # noqa: E402

from harness import Server, run_tests  # noqa: E402

server = None


def client(**kw):
    return pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=5000, **kw)


def expect_code(fn, codes, msg=None):
    """fn must fail with one of codes (an int or a tuple); returns the error."""
    codes = codes if isinstance(codes, tuple) else (codes,)
    try:
        fn()
    except (OperationFailure, WriteError) as e:
        assert e.code in codes, (codes, e.code, e.details)
        if msg is not None:
            assert msg in str(e.details), e.details
        return e
    raise AssertionError("expected error code %s" % (codes,))


def fresh(c, name, docs=()):
    coll = c.conform[name]
    coll.drop()
    if docs:
        coll.insert_many([dict(d) for d in docs])
    return coll


# 1. Numeric path components over arrays of arrays (jstests/core/write/update/
#    update_array_offset_positional.js; src/mongo/db/matcher/path.cpp: a
#    positional component reaching a nested array traverses that array).
MATCH_NESTED = [
    # (document, filter, matches)
    ({"a": [[{"b": "old"}]]}, {"a.0.b": "old"}, True),
    ({"a": [[0]]}, {"a.0.0": 0}, True),
    ({"a": [[0]]}, {"a.0.0": 1}, False),
    ({"b": [[0]]}, {"b.0.0": 0}, True),
    ({"a": [[[0]]]}, {"a.0.0.0": 0}, True),
    ({"a": [{"b": [0]}]}, {"a.0.b.0": 0}, True),
    ({"a": [[{"b": "old"}]]}, {"a.b": "old"}, False),  # no implicit traversal of nested arrays
    ({"a": [[{"b": 1}, {"b": 2}]]}, {"a.0.b": 2}, True),
    ({"a": [[0, 1]]}, {"a.0.1": 1}, True),
]


def test_01_nested_array_paths():
    with client() as c:
        for i, (doc, flt, want) in enumerate(MATCH_NESTED):
            coll = fresh(c, "n1", [dict(doc, _id=i)])
            got = coll.find_one(flt) is not None
            assert got == want, (doc, flt, got)
            # the same answer through an index on the path
            coll.create_index([(list(flt)[0], 1)])
            got = coll.find_one(flt) is not None
            assert got == want, ("indexed", doc, flt, got)
        # update and projection follow the same rules
        coll = fresh(c, "n1u", [{"_id": 0, "a": [[0]]}])
        coll.update_one({"_id": 0}, {"$set": {"a.0.0": 1}})
        assert coll.find_one()["a"] == [[1]]
        assert coll.find_one({"a.0.0": 1}, {"_id": 0})["a"] == [[1]]


# 2. find's $slice below an array of arrays leaves the nested array alone
#    (src/mongo/db/exec/projection_executor_utils.cpp,
#    applyFindSliceProjectionToArray: only documents are descended).
SLICE_CASES = [
    ({"a": [[{"b": [1, 2, 3]}]]}, {"a.b": {"$slice": [1, 1]}}, [[{"b": [1, 2, 3]}]]),
    ({"a": [{"b": [1, 2, 3]}]}, {"a.b": {"$slice": [1, 1]}}, [{"b": [2]}]),
    ({"a": [{"b": [1, 2, 3]}, [{"b": [1, 2, 3]}]]}, {"a.b": {"$slice": 1}},
     [{"b": [1]}, [{"b": [1, 2, 3]}]]),
    ({"a": {"b": [1, 2, 3]}}, {"a": {"b": {"$slice": [1, 1]}}}, {"b": [2]}),
]


def test_02_slice_below_nested_arrays():
    with client() as c:
        coll = fresh(c, "n2")
        for i, (doc, proj, want) in enumerate(SLICE_CASES):
            coll.insert_one(dict(doc, _id=i))
            got = coll.find_one({"_id": i}, proj)["a"]
            assert got == want, (doc, proj, got)


# 3. Positional updates need an implicit traversal; 16746 for an ambiguous
#    numeric field under an indexed positional path
#    (jstests/core/write/update/update_array_offset_positional.js,
#    jstests/core/write/update/update_numeric_field_name.js).
def test_03_positional_and_ambiguous_field():
    with client() as c:
        cases = [
            ({"_id": 0, "a": [0]}, {"_id": 0, "a.0": 0}, {"$set": {"a.$": 1}}),
            ({"_id": 0, "a": [{"b": 0}]}, {"_id": 0, "a.0.b": 0}, {"$set": {"a.$.b": 1}}),
            ({"_id": 0, "a": [[0]]}, {"_id": 0, "a.0.0": 0}, {"$set": {"a.$.0": 1}}),
            ({"_id": 0, "a": [{"b": [0]}]}, {"_id": 0, "a.0.b.0": 0}, {"$set": {"a.$.b.0": 1}}),
        ]
        for doc, q, u in cases:
            coll = fresh(c, "n3", [doc])
            expect_code(lambda: coll.update_one(q, u), 2)
            assert coll.find_one() == doc
        ok_cases = [
            ({"_id": 0, "a": [{"b": [0, 1]}]}, {"_id": 0, "a.0.b": 1}, {"$set": {"a.0.b.$": 2}},
             {"_id": 0, "a": [{"b": [0, 2]}]}),
            ({"_id": 0, "a": [0, 1], "b": [[0]]}, {"_id": 0, "a": 1, "b.0.0": 0},
             {"$set": {"a.$": 2}}, {"_id": 0, "a": [0, 2], "b": [[0]]}),
        ]
        for doc, q, u, want in ok_cases:
            coll = fresh(c, "n3", [doc])
            coll.update_one(q, u)
            assert coll.find_one() == want, coll.find_one()
        coll = fresh(c, "n3b", [{"_id": 0, "a": [{}]}])
        coll.create_index([("a.0.c", 1)])
        expect_code(lambda: coll.update_one({"_id": 0}, {"$set": {"a.0.0": 1}}), 16746)
        expect_code(lambda: coll.update_one({"_id": 0}, {"$set": {"a.0.0.b": 1}}), 16746)
        assert coll.find_one() == {"_id": 0, "a": [{}]}
        assert c.conform.command("validate", "n3b")["valid"]
        coll.update_one({"_id": 0}, {"$set": {"a.1.b.0.0": 1}})
        assert c.conform.command("validate", "n3b")["valid"]
        expect_code(lambda: coll.insert_one({"a": [2, {"0": 3}]}), 16746)


# 13. writeConcern on a read command; maxTimeMS on a getMore of a
#     non-awaitData cursor (src/mongo/db/commands/getmore_cmd.cpp).
def test_13_read_write_concern_and_getmore_max_time():
    with client() as c:
        coll = fresh(c, "n13", [{"_id": i} for i in range(10)])
        for cmd in [SON([("find", "n13")]), SON([("count", "n13")]),
                    SON([("distinct", "n13"), ("key", "_id")])]:
            cmd["writeConcern"] = {"w": 1}
            expect_code(lambda: c.conform.command(cmd), 72)
        res = c.conform.command("find", "n13", batchSize=2)
        cid = res["cursor"]["id"]
        expect_code(lambda: c.conform.command("getMore", cid, collection="n13", maxTimeMS=100),
                    2, "non-awaitData")
        # the cursor is still there
        assert len(c.conform.command("getMore", cid, collection="n13")["cursor"]["nextBatch"]) == 8
        assert coll.count_documents({}) == 10


# 15. killCursors with a non-string collection (jstests/core/query/kill_cursors.js).
def test_15_kill_cursors_bad_collection():
    with client() as c:
        expect_code(lambda: c.conform.command(SON([("killCursors", {"foo": "bad"}),
                                                   ("cursors", [Int64(1)])])), (2, 14))


# 20. txnNumber outside a transaction on a command that is not a retryable
#     write (jstests/core/txns/commands_banning_txnnumber_outside_transactions.js).
def test_20_txn_number_outside_transactions():
    with client() as c:
        with c.start_session() as s:
            lsid = s.session_id
            for cmd in [{"aggregate": 1}, {"distinct": "c"}, {"find": "c"},
                        {"getMore": Int64(1), "collection": "c"}, {"killCursors": 1},
                        {"count": 1}, {"explain": {"find": "c"}}, {"isMaster": 1},
                        {"buildInfo": 1}, {"ping": 1}, {"listCommands": 1}, {"create": "c"},
                        {"drop": 1}, {"createIndexes": 1},
                        {"commitTransaction": 1}]:
                body = SON(list(cmd.items()) + [("txnNumber", Int64(0)), ("lsid", lsid)])
                r = c.admin.command(body, check=False)
                assert r["ok"] == 0 and r["code"] in (50768, 50889), (cmd, r)


# 21. apiStrict refuses commands and stages outside API version 1.
def test_21_api_strict():
    with client() as c:
        fresh(c, "n21", [{"_id": 1}])
        db = c.conform
        for body, code in [
            (SON([("aggregate", "n21"), ("pipeline", [{"$collStats": {"count": {}}}]),
                  ("cursor", {})]), 323),
            (SON([("aggregate", "n21"), ("pipeline", [{"$indexStats": {}}]), ("cursor", {})]), 323),
            (SON([("collStats", "n21")]), 323),
            (SON([("dbStats", 1)]), 323),
            (SON([("isMaster", 1)]), 323),
            (SON([("find", "n21")]), 0),
            (SON([("aggregate", "n21"), ("pipeline", [{"$match": {}}]), ("cursor", {})]), 0),
            (SON([("ping", 1)]), 0),
        ]:
            body["apiVersion"] = "1"
            body["apiStrict"] = True
            r = db.command(body, check=False)
            if code:
                assert r["ok"] == 0 and r["code"] == code, (body, r)
            else:
                assert r["ok"] == 1, (body, r)
        # without apiStrict the same commands run
        r = db.command(SON([("collStats", "n21"), ("apiVersion", "1")]), check=False)
        assert r["ok"] == 1, r


def main():
    global server
    with Server() as s:
        server = s
        failed = run_tests([
            test_01_nested_array_paths,
            test_02_slice_below_nested_arrays,
            test_03_positional_and_ambiguous_field,
            test_13_read_write_concern_and_getmore_max_time,
            test_15_kill_cursors_bad_collection,
            test_20_txn_number_outside_transactions,
            test_21_api_strict,
        ], s)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
