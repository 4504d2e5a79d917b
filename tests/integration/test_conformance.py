"""test_conformance.py -- answers that must be MongoDB 7.0's (issue #20).

Each test is one numbered item of the issue; the tables state MongoDB's answer
for each input, checked against MongoDB's public jstests (named beside each
table) and source. pymongo against a real micad."""
import os
import struct
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import bson  # noqa: E402
import pymongo  # noqa: E402
from bson.dbref import DBRef  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402
from bson.son import SON  # noqa: E402
from pymongo.errors import OperationFailure, WriteError  # noqa: E402

from harness import Server, collect_tests, micad_path, raw_command, run_tests  # noqa: E402

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
def stages(plan):
    """The stage names of a plan from the top, following inputStage."""
    out = []
    while plan:
        out.append(plan.get("stage"))
        plan = plan.get("inputStage")
    return out

# 4. DBRef fields ($id, $ref, $db) below the top level are fields an update
#    may set (jstests/core/write/update/update_dbref.js).
def test_04_dbref_fields_in_updates():
    with client() as c:
        coll = fresh(c, "n4")
        c.conform.command("insert", "n4", documents=[{"_id": 1, "a": SON([("$ref", "foo"),
                                                                          ("$id", 1)])}])
        coll.update_one({"_id": 1}, {"$set": {"a.$id": 2}})
        assert coll.find_one()["a"] == DBRef("foo", 2)  # pymongo reads {$ref, $id} as a DBRef
        coll.update_one({"_id": 1}, {"$set": {"a.$ref": "bar", "a.$db": "d"}})
        assert coll.find_one()["a"] == DBRef("bar", 2, database="d")
        expect_code(lambda: coll.update_one({"_id": 1}, {"$set": {"a.$foo": 1}}), 52)


# 5. A replacement upsert takes _id from the query only as a whole
#    (NotExactValueField 111, src/mongo/db/field_ref_set.cpp).
def test_05_replacement_upsert_id_parts():
    with client() as c:
        coll = fresh(c, "n5")
        expect_code(lambda: coll.replace_one({"_id.x": 1, "_id.y": 2}, {"z": 1}, upsert=True),
                    111)
        assert coll.count_documents({}) == 0
        coll.replace_one({"_id": {"x": 1, "y": 2}, "a": 1}, {"z": 1}, upsert=True)
        assert coll.find_one() == {"_id": {"x": 1, "y": 2}, "z": 1}

# 11. A validator is checked when the collection is created, and a
#     replacement that changes nothing is still validated (121,
#     jstests/core/doc_validation/doc_validation.js).
def test_11_validators():
    with client() as c:
        db = c.conform
        db.drop_collection("n11")
        expect_code(lambda: db.command("create", "n11", validator={"a": {"$foo": 1}}), 2)
        assert "n11" not in db.list_collection_names()
        db.n11.insert_one({"_id": 1})
        db.command("collMod", "n11", validator={"$jsonSchema": {"allOf": [{"type": "string"}]}})
        r = db.command("update", "n11", updates=[{"q": {"_id": 1}, "u": {"_id": 1}}])
        assert r["writeErrors"][0]["code"] == 121, r
        r = db.command("update", "n11", updates=[{"q": {"_id": 1}, "u": {"$set": {"_id": 1}}}])
        assert "writeErrors" not in r, r  # an operator update that changes nothing is not checked


# 12. An upsert whose document passes 16 MiB answers 17420.
def test_12_upsert_too_large():
    with client() as c:
        coll = fresh(c, "n12")
        big = "x" * (6 * 1024 * 1024)
        expect_code(lambda: coll.update_one({"_id": 1, "a": big},
                                            [{"$set": {"b": {"$concat": ["$a", "$a"]}}}],
                                            upsert=True), 17420)
        assert coll.count_documents({}) == 0


# 17. A failed insert leaves no collection behind (jstests/core/write/insert/
#     insert_id_undefined.js).
def test_17_failed_insert_creates_nothing():
    with client() as c:
        db = c.conform
        db.drop_collection("n17")
        body = {"insert": "n17", "$db": "conform", "documents": [with_undefined({}, "_id")]}
        r = raw_command(server.port, body)
        assert r["ok"] == 1 and r["n"] == 0 and r["writeErrors"][0]["code"] == 2, r
        assert "n17" not in db.list_collection_names()
        # an unordered batch with one good document does create it
        db.n17.insert_many([{"_id": 1}], ordered=False)
        assert "n17" in db.list_collection_names()


# 18. findAndModify: a replacement ignores arrayFilters; a positional
#     projection uses the query's matched position, and cannot come with
#     new: true (jstests/core/query/find_and_modify/find_and_modify_server6865.js).
def test_18_find_and_modify_projection_and_filters():
    with client() as c:
        db = c.conform
        fresh(c, "n18", [{"_id": 42, "a": [1, 2]}])
        r = db.command("findAndModify", "n18", query={"_id": 42}, update={"b": 1},
                       arrayFilters=[{"i": 0}], new=True)
        assert r["value"] == {"_id": 42, "b": 1}, r
        fresh(c, "n18", [{"_id": 42, "a": [1, 2]}])
        r = db.command("findAndModify", "n18", query={"a": 2}, fields={"a.$": 1},
                       update={"$set": {"b.kind": "xyz"}}, new=False)
        assert r["value"] == {"_id": 42, "a": [2]}, r
        fresh(c, "n18", [{"_id": 42, "a": [1, 2]}])
        r = db.command("findAndModify", "n18", query={"a": 2}, fields={"a.$": 1}, remove=True)
        assert r["value"] == {"_id": 42, "a": [2]}, r
        fresh(c, "n18", [{"_id": 42, "a": [1, 2]}])
        expect_code(lambda: db.command("findAndModify", "n18", query={"a": 2},
                                       fields={"a.$": 1}, update={"$set": {"c": 1}}, new=True), 2)
        assert db.n18.find_one() == {"_id": 42, "a": [1, 2]}  # nothing written


# 6. Explain's figures are the real ones: count has nCounted (and a fast count
#    is RECORD_STORE_FAST_COUNT), distinct's DISTINCT_SCAN examines one key per
#    value (src/mongo/db/exec/count.cpp, record_store_fast_count.cpp,
#    distinct_scan.cpp stats).
def test_06_explain_figures():
    with client() as c:
        coll = fresh(c, "n6", [{"_id": i, "a": i % 10, "b": i} for i in range(1000)])
        db = c.conform
        r = db.command("explain", {"count": "n6", "query": {"a": 3}}, verbosity="executionStats")
        es = r["executionStats"]
        assert es["nReturned"] == 0 and es["totalDocsExamined"] == 1000, es
        top = es["executionStages"]
        assert top["stage"] == "COUNT" and top["nCounted"] == 100, top
        assert top["inputStage"]["docsExamined"] == 1000, top
        r = db.command("explain", {"count": "n6"}, verbosity="executionStats")
        assert r["queryPlanner"]["winningPlan"]["stage"] == "RECORD_STORE_FAST_COUNT", r
        assert r["executionStats"]["executionStages"]["nCounted"] == 1000, r
        r = db.command("explain", {"count": "n6", "skip": 10, "limit": 5},
                       verbosity="executionStats")
        assert r["executionStats"]["executionStages"]["nCounted"] == 5, r
        # a collection scan reports every document it read
        r = db.command("explain", {"find": "n6", "filter": {"b": {"$gte": 990}}},
                       verbosity="executionStats")
        assert r["executionStats"]["totalDocsExamined"] == 1000, r
        assert r["executionStats"]["nReturned"] == 10, r
        coll.create_index("a")
        r = db.command("explain", {"distinct": "n6", "key": "a"}, verbosity="executionStats")
        es = r["executionStats"]
        assert stages(r["queryPlanner"]["winningPlan"]) == ["PROJECTION_COVERED", "DISTINCT_SCAN"]
        assert es["nReturned"] == 10 and es["totalDocsExamined"] == 0, es
        assert es["totalKeysExamined"] <= 11, es
        assert coll.distinct("a") == list(range(10))


# 7. explain of an $in with 1,000,000 values answers (MongoDB truncates the
#    bounds it prints), rather than failing on its own reply's size
#    (jstests/core/query/explain/explain_large_bounds.js). Slow under ASan (about a
#    minute on a loaded machine), never timed.
def test_07_explain_huge_in():
    with client() as c:
        coll = fresh(c, "n7", [{"_id": i, "a": i} for i in range(10)])
        coll.create_index("a")
        vals = list(range(1000000))
        r = c.conform.command("explain", {"find": "n7", "filter": {"a": {"$in": vals}}},
                              verbosity="queryPlanner")
        assert r["ok"] == 1
        assert len(bson.BSON.encode(r)) < 5 * 1024 * 1024, len(bson.BSON.encode(r))
        bounds = r["queryPlanner"]["winningPlan"]["inputStage"]["indexBounds"]["a"]
        assert bounds[0] == "[0, 0]" and "not shown" in bounds[-1], bounds[-1]
        r = c.conform.command("explain", {"find": "n7", "filter": {"a": {"$in": vals[:1000]}}},
                              verbosity="executionStats")
        assert r["executionStats"]["nReturned"] == 10, r["executionStats"]


# 8. A sort past the memory limit under explain("executionStats") reports the
#    failure inside the explain (executionSuccess: false, errorCode 292).
def test_08_explain_sort_memory_error():
    with client() as c:
        big = "x" * 1000000
        fresh(c, "n8", [{"_id": i, "a": i, "s": big} for i in range(120)])
        db = c.conform
        expect_code(lambda: list(db.n8.find().sort("a", -1).allow_disk_use(False)), 292)
        r = db.command("explain", {"find": "n8", "sort": {"a": -1}, "allowDiskUse": False},
                       verbosity="executionStats")
        es = r["executionStats"]
        assert r["ok"] == 1 and es["executionSuccess"] is False, es
        assert es["errorCode"] == 292 and "errorMessage" in es, es

# 23. serverStatus sections that move with every operation: opcounters,
#     metrics.document/queryExecutor/operation/commands, storageEngine.
def test_23_server_status_counters():
    with client() as c:
        db = c.conform
        before = c.admin.command("serverStatus")
        coll = fresh(c, "n23", [{"_id": i, "a": i} for i in range(20)])
        coll.update_many({"a": {"$lt": 5}}, {"$set": {"b": 1}})
        coll.delete_many({"a": {"$gte": 15}})
        assert len(list(coll.find({"a": {"$gte": 0}}).sort("a", -1))) == 15
        db.command("ping")
        expect_code(lambda: db.command("find", "n23", filter={"$foo": 1}), 2)
        after = c.admin.command("serverStatus")
        d0, d1 = before["metrics"]["document"], after["metrics"]["document"]
        assert d1["inserted"] - d0["inserted"] == 20, (d0, d1)
        assert d1["updated"] - d0["updated"] == 5, (d0, d1)
        assert d1["deleted"] - d0["deleted"] == 5, (d0, d1)
        assert d1["returned"] - d0["returned"] >= 15, (d0, d1)
        q0, q1 = before["metrics"]["queryExecutor"], after["metrics"]["queryExecutor"]
        assert q1["scannedObjects"] > q0["scannedObjects"], (q0, q1)
        assert q1["collectionScans"]["total"] > q0["collectionScans"]["total"], (q0, q1)
        assert (after["metrics"]["operation"]["scanAndOrder"] >
                before["metrics"]["operation"]["scanAndOrder"])
        cm0, cm1 = before["metrics"]["commands"], after["metrics"]["commands"]
        assert cm1["find"]["failed"] - cm0.get("find", {}).get("failed", 0) >= 1, cm1["find"]
        assert cm1["ping"]["total"] > cm0.get("ping", {}).get("total", 0), cm1
        assert after["opcounters"]["insert"] - before["opcounters"]["insert"] >= 1
        assert after["storageEngine"]["name"] == "wiredTiger", after["storageEngine"]


# 26. Covered plans and DISTINCT_SCAN; $match/$project pushed into the
#     executor (jstests/core/query/covered_index_*.js, distinct_index1.js).
def test_26_covered_and_distinct_scan():
    with client() as c:
        coll = fresh(c, "n26", [{"_id": i, "a": i % 7, "b": i, "c": "c%d" % i}
                                for i in range(500)])
        coll.insert_many([{"_id": 1000, "b": 1000}, {"_id": 1001, "a": None, "b": 1001}])
        coll.create_index([("b", 1), ("c", 1)])
        coll.create_index("a")
        db = c.conform
        cases = [
            # (filter, projection, covered)
            ({"b": {"$gte": 495, "$lt": 1000}}, {"b": 1, "c": 1, "_id": 0}, True),
            ({"b": {"$in": [1, 2, 3]}, "c": "c2"}, {"c": 1, "_id": 0}, True),
            ({"b": {"$gte": 495}}, {"b": 1, "c": 1}, False),        # _id is not in the index
            ({"b": {"$gte": 495}}, {"b": 1, "a": 1, "_id": 0}, False),  # a is not either
            ({"b": {"$gte": 495}, "a": 1}, {"b": 1, "_id": 0}, False),
        ]
        for flt, proj, covered in cases:
            r = db.command("explain", {"find": "n26", "filter": flt, "projection": proj},
                           verbosity="executionStats")
            names = stages(r["queryPlanner"]["winningPlan"])
            es = r["executionStats"]
            want = list(coll.find(flt, proj).hint([("$natural", 1)]))
            got = list(coll.find(flt, proj))
            assert sorted(map(str, got)) == sorted(map(str, want)), (flt, proj, got, want)
            if covered:
                assert names == ["PROJECTION_COVERED", "IXSCAN"], (flt, names)
                assert es["totalDocsExamined"] == 0, (flt, es)
            else:
                assert "FETCH" in names or "COLLSCAN" in names, (flt, names)
        # missing and null keys are read from the document: answers never change
        got = list(coll.find({"b": {"$gte": 999}}, {"b": 1, "c": 1, "_id": 0}))
        assert got == [{"b": 1000}, {"b": 1001}], got
        # distinct on an indexed field: DISTINCT_SCAN, same values as a scan
        r = db.command("explain", {"distinct": "n26", "key": "a"}, verbosity="executionStats")
        assert stages(r["queryPlanner"]["winningPlan"])[-1] == "DISTINCT_SCAN", r
        assert coll.distinct("a") == [None, 0, 1, 2, 3, 4, 5, 6]
        assert coll.distinct("a", {"a": {"$gte": 5}}) == [5, 6]
        assert coll.distinct("b", {"b": {"$gt": 497}}) == [498, 499, 1000, 1001]
        r = db.command("explain", {"distinct": "n26", "key": "b"}, verbosity="executionStats")
        assert stages(r["queryPlanner"]["winningPlan"])[-1] == "DISTINCT_SCAN", r
        # an aggregation's $match + $project run covered inside the executor
        r = db.command("explain", {"aggregate": "n26", "pipeline": [
            {"$match": {"b": {"$gte": 495, "$lt": 1000}}}, {"$project": {"c": 1, "_id": 0}}],
            "cursor": {}},
            verbosity="executionStats")
        cur = r["stages"][0]["$cursor"] if "stages" in r else r
        assert "PROJECTION_COVERED" in stages(cur["queryPlanner"]["winningPlan"]), r
        assert cur["executionStats"]["totalDocsExamined"] == 0, cur["executionStats"]
        res = list(coll.aggregate([{"$match": {"b": {"$gte": 495}}},
                                   {"$project": {"c": 1, "_id": 0}}]))
        assert len(res) == 7 and {"c": "c499"} in res and {} in res, res


# 9. A database whose name differs only in case from an existing one
#    (DatabaseDifferCase 13297, jstests/core/dbcase.js).
def test_09_database_differ_case():
    with client() as c:
        c.drop_database("conformCase")
        c.drop_database("CONFORMcase")
        c.conformCase.c.insert_one({"_id": 1})
        expect_code(lambda: c.CONFORMcase.c.insert_one({"_id": 1}), 13297)
        expect_code(lambda: c.CONFORMcase.create_collection("d"), 13297)
        assert "CONFORMcase" not in c.list_database_names()
        c.conformCase.d.insert_one({"_id": 1})  # the same case is fine
        c.drop_database("conformCase")
        c.CONFORMcase.c.insert_one({"_id": 1})  # once it is gone, the other case may exist
        c.drop_database("CONFORMcase")


# 10. At most 64 indexes per collection (CannotCreateIndex 67,
#     jstests/core/index/index_many.js).
def test_10_index_limit():
    with client() as c:
        coll = fresh(c, "n10", [{"_id": 1}])
        for i in range(63):
            coll.create_index([("k%d" % i, 1)])
        assert len(list(coll.list_indexes())) == 64
        expect_code(lambda: coll.create_index([("k63", 1)]), 67)
        coll.create_index([("k0", 1)])  # an existing one is still fine
        assert len(list(coll.list_indexes())) == 64
        coll.drop_index("k0_1")
        coll.create_index([("k63", 1)])


# 16. createIndex({_id: 1}) on a collection without an _id index; dropDups is
#     ignored (jstests/core/index/index_id_options.js, index_dropdups_ignore.js).
def test_16_id_index_and_drop_dups():
    with client() as c:
        db = c.conform
        db.drop_collection("n16")
        db.command("create", "n16", autoIndexId=False)
        assert [i["name"] for i in db.n16.list_indexes()] == []
        expect_code(lambda: db.n16.create_index([("_id", -1)], name="_id_"), 2)
        expect_code(lambda: db.n16.create_index([("a", 1)], name="_id_"), 2)
        expect_code(lambda: db.n16.create_index([("_id", 1)], unique=True), 197)
        expect_code(lambda: db.n16.create_index([("_id", 1)], sparse=False), 197)
        db.n16.create_index([("_id", 1)], name="bad")  # the name is corrected to _id_
        assert [i["name"] for i in db.n16.list_indexes()] == ["_id_"]
        db.n16.insert_one({"_id": 1})
        expect_code(lambda: db.n16.insert_one({"_id": 1}), 11000)
        coll = fresh(c, "n16b", [{"_id": 1, "a": 1}, {"_id": 2, "a": 1}])
        r = db.command("createIndexes", "n16b",
                       indexes=[{"key": {"b": 1}, "name": "b_1", "dropDups": True}])
        assert r["ok"] == 1
        spec = [i for i in coll.list_indexes() if i["name"] == "b_1"][0]
        assert "dropDups" not in spec, spec
        expect_code(lambda: db.command("createIndexes", "n16b", indexes=[
            {"key": {"a": 1}, "name": "a_1", "unique": True, "dropDups": True}]), 11000)


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

# 14. Query errors: $natural sort with an index hint (jstests/core/query/
#     natural.js), positional projection with $elemMatch (31255/31256,
#     projection_ast parser), NUL bytes in $regex/$options (BadValue,
#     RegexMatchExpression), a constant $expr error at parse time (17041,
#     expression_match tests FailGracefullyOnInvalidExpression), a
#     non-string $meta sort (31138, sort_pattern).
def test_14_query_errors():
    with client() as c:
        coll = fresh(c, "n14", [{"_id": 1, "a": 3, "b": [1, 2], "c": [{"d": 1}]},
                                {"_id": 2, "a": 2}, {"_id": 3, "a": 1}])
        coll.create_index([("a", 1)])
        db = c.conform
        assert [d["_id"] for d in coll.find().hint([("$natural", 1)]).sort("a", 1)] == [3, 2, 1]
        assert [d["_id"] for d in coll.find().sort("$natural", -1)] == [3, 2, 1]
        cases = [
            (SON([("find", "n14"), ("hint", {"a": 1}), ("sort", {"$natural": 1})]), 2),
            (SON([("find", "n14"), ("hint", SON([("a", 1), ("$natural", 1)]))]), 2),
            (SON([("find", "n14"), ("sort", SON([("a", 1), ("$natural", 1)]))]), 2),
            (SON([("find", "n14"), ("filter", {"b": 1}),
                  ("projection", SON([("b.$", 1), ("c", {"$elemMatch": {"d": 1}})]))]), 31255),
            (SON([("find", "n14"), ("filter", {"b": 1}),
                  ("projection", SON([("c", {"$elemMatch": {"d": 1}}), ("b.$", 1)]))]), 31256),
            (SON([("find", "n14"), ("projection", {"c": {"$elemMatch": 1}})]), 31274),
            (SON([("find", "n14"), ("filter", {"a": {"$regex": "a", "$options": "i\x00"}})]), 2),
            (SON([("find", "n14"), ("filter", {"a": {"$regex": "a\x00b"}})]), 2),
            (SON([("find", "n14"), ("filter", {"$expr": {"$anyElementTrue": None}})]), 17041),
            (SON([("find", "n14"),
                  ("filter", {"$or": [{"a": 3}, {"$expr": {"$anyElementTrue": None}}]})]), 17041),
            (SON([("find", "n14"), ("sort", {"_id": {"$meta": 1}})]), 31138),
            (SON([("find", "n14"), ("sort", {"_id": {"$meta": "nope"}})]), 31138),
        ]
        for body, code in cases:
            r = db.command(body, check=False)
            assert r["ok"] == 0 and r["code"] == code, (body, r)
        # the same on an empty collection: the errors come from parsing, not documents
        fresh(c, "n14e")
        r = db.command(SON([("find", "n14e"), ("filter", {"$expr": {"$anyElementTrue": None}})]),
                       check=False)
        assert r["ok"] == 0 and r["code"] == 17041, r


# 15. killCursors with a non-string collection (jstests/core/query/kill_cursors.js).
def test_15_kill_cursors_bad_collection():
    with client() as c:
        expect_code(lambda: c.conform.command(SON([("killCursors", {"foo": "bad"}),
                                                   ("cursors", [Int64(1)])])), (2, 14))

def with_undefined(doc, field):
    """doc (a dict) with field appended as BSON undefined (type 0x06), which
    pymongo cannot encode, as a RawBSONDocument to send with raw_command."""
    body = bson.BSON.encode(doc)[4:-1] + b"\x06" + field.encode() + b"\x00"
    raw = struct.pack("<i", len(body) + 5) + body + b"\x00"
    return RawBSONDocument(raw)


# 19. collStats/dbStats with scale: undefined treat it as absent.
def test_19_stats_scale_undefined():
    with client() as c:
        fresh(c, "n19", [{"_id": i} for i in range(3)])
    for cmd in [{"collStats": "n19", "$db": "conform"}, {"dbStats": 1, "$db": "conform"}]:
        r = raw_command(server.port, with_undefined(cmd, "scale"))
        assert r["ok"] == 1 and r["scaleFactor"] == 1, r
    r = raw_command(server.port, {"collStats": "n19", "scale": 0, "$db": "conform"})
    assert r["ok"] == 0 and r["code"] == 51024, r


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
                        {"drop": 1}, {"createIndexes": 1}]:
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


# 24. getParameter / setParameter over one parameter table (MongoDB's
#     src/mongo/db/commands/parameters.cpp: unknown names skipped, none found is
#     InvalidOptions 72 "no option found to get"; setParameter of an unknown one is
#     72 "attempted to set unrecognized parameter [x]", of one not settable at run
#     time IllegalOperation 20 "not allowed to change [x] at runtime"; showDetails).
def test_24_parameters():
    with client() as c:
        adm = c.admin
        r = adm.command("getParameter", 1, featureCompatibilityVersion=1)
        assert r["featureCompatibilityVersion"] == {"version": "7.0"}, r
        assert adm.command("buildInfo")["version"].startswith("7.0"), "buildInfo"
        expect_code(lambda: adm.command("getParameter", 1, noSuchParam=1), 72,
                    "no option found to get")
        r = adm.command("getParameter", 1, noSuchParam=1, notablescan=1)
        assert r["notablescan"] is False and "noSuchParam" not in r, r
        expect_code(lambda: adm.command("setParameter", 1, noSuchParam=1), 72,
                    "attempted to set unrecognized parameter [noSuchParam]")
        expect_code(lambda: adm.command("setParameter", 1), 72, "no option found to set")
        for name, val in [("featureCompatibilityVersion", "7.0"), ("enableTestCommands", 1),
                          ("maxBSONDepth", 10), ("logicalSessionTimeoutMinutes", 5)]:
            expect_code(lambda: adm.command("setParameter", 1, **{name: val}), 20,
                        "not allowed to change [%s] at runtime" % name)
        # '*' and allParameters: true give every parameter; showDetails its settability
        every = adm.command("getParameter", "*")
        assert every == adm.command("getParameter", {"allParameters": True}), every
        for name in ["featureCompatibilityVersion", "internalQueryFrameworkControl",
                     "notablescan", "internalQueryMaxBlockingSortMemoryUsageBytes",
                     "internalDocumentSourceGroupMaxMemoryBytes", "allowDiskUseByDefault",
                     "logLevel", "logComponentVerbosity", "cursorTimeoutMillis",
                     "ttlMonitorSleepSecs", "enableTestCommands"]:
            assert name in every, name
        d = adm.command("getParameter", {"showDetails": True}, notablescan=1,
                        featureCompatibilityVersion=1, enableTestCommands=1)
        assert d["notablescan"] == {"value": False, "settableAtRuntime": True,
                                    "settableAtStartup": True}, d
        assert d["featureCompatibilityVersion"]["settableAtRuntime"] is False, d
        assert d["featureCompatibilityVersion"]["value"] == {"version": "7.0"}, d
        assert d["enableTestCommands"]["settableAtRuntime"] is False, d
        assert d["enableTestCommands"]["settableAtStartup"] is True, d
        expect_code(lambda: adm.command("getParameter", {"bogus": True}, notablescan=1), 40415)
        # the query engine: the classic one, the only one Mica has
        r = adm.command("getParameter", 1, internalQueryFrameworkControl=1)
        assert r["internalQueryFrameworkControl"] == "forceClassicEngine", r
        r = adm.command("setParameter", 1, internalQueryFrameworkControl="forceClassicEngine")
        assert r["was"] == "forceClassicEngine", r
        expect_code(lambda: adm.command("setParameter", 1,
                                        internalQueryFrameworkControl="trySbeEngine"), 238)
        expect_code(lambda: adm.command("setParameter", 1,
                                        internalQueryFrameworkControl="nonsense"), 2)
        # values are checked against the parameter's type and range
        expect_code(lambda: adm.command("setParameter", 1, ttlMonitorSleepSecs=0), 2)
        expect_code(lambda: adm.command("setParameter", 1, notablescan="yes"), 2)
        # logLevel follows what is set, and {was} is the value before
        r = adm.command("setParameter", 1, logLevel=2)
        assert r["was"] == 0, r
        assert adm.command("getParameter", 1, logLevel=1)["logLevel"] == 2
        adm.command("setParameter", 1, logLevel=0)
        # setFeatureCompatibilityVersion: 7.0 is what Mica is; another version is not there
        assert adm.command("setFeatureCompatibilityVersion", "7.0", confirm=True)["ok"] == 1
        expect_code(lambda: adm.command("setFeatureCompatibilityVersion", "6.0"), 7369100)
        expect_code(lambda: adm.command("setFeatureCompatibilityVersion", "6.0", confirm=True),
                    238)
        expect_code(lambda: adm.command("setFeatureCompatibilityVersion", "5.9"), 2)
        r = adm.command("getParameter", 1, featureCompatibilityVersion=1)
        assert r["featureCompatibilityVersion"] == {"version": "7.0"}, r


# 24. Each settable query knob changes what the server does (a server of its own,
#     so the knobs never reach the other tests). notablescan: MongoDB's
#     jstests/core/notablescan.js and notablescan_capped.js.
def test_24_parameters_change_behaviour():
    with Server() as s:
        c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=10000)
        adm, db = c.admin, c.kn
        coll = db.t
        coll.insert_many([{"_id": i, "a": i % 10, "pad": "p" * 2000} for i in range(300)])
        db.create_collection("capped", capped=True, size=100000)
        db.capped.insert_one({"a": 1})
        r = adm.command("setParameter", 1, notablescan=True)
        assert r["was"] is False, r
        try:
            e = expect_code(lambda: list(coll.find({"a": 1})), 291)
            assert "No indexed plans available, and running with 'notablescan'" in str(e.details)
            expect_code(lambda: coll.count_documents({"a": 1}), 291)
            expect_code(lambda: list(coll.aggregate([{"$match": {"a": 1}}])), 291)
            expect_code(lambda: list(coll.find({"a": 1}).hint([("$natural", 1)])), 291,
                        "notablescan")
            r = db.command("find", "capped", filter={"a": 1}, tailable=True, check=False)
            assert r["ok"] == 0 and r["code"] == 291 and "tailable cursors" in r["errmsg"], r
            assert len(list(coll.find({}))) == 300  # an empty filter scans anyway
            adm.command("getParameter", 1, notablescan=1)
            c.admin.x.insert_one({"a": 1})  # the internal databases are not refused
            assert c.admin.x.find_one({"a": 1}) is not None
            c.admin.x.drop()
            coll.create_index("a")
            assert len(list(coll.find({"a": 1}))) == 30
            assert len(list(coll.find({"a": 1, "pad": {"$exists": True}}))) == 30
            assert coll.count_documents({"a": {"$in": []}}) == 0
        finally:
            adm.command("setParameter", 1, notablescan=False)
        assert len(list(coll.find({"pad": "x"}))) == 0
        coll.drop_index("a_1")

        # the memory limit of blocking sorts, and whether find/aggregate spill by default
        r = adm.command("setParameter", 1, internalQueryMaxBlockingSortMemoryUsageBytes=65536)
        assert r["was"] == 104857600, r
        expect_code(lambda: list(coll.find().sort("a", 1).allow_disk_use(False)), 292)
        got = [d["a"] for d in coll.find().sort("a", 1)]  # allowDiskUseByDefault: true
        assert got == sorted(got) and len(got) == 300
        assert adm.command("setParameter", 1, allowDiskUseByDefault=False)["was"] is True
        expect_code(lambda: list(coll.find().sort("a", 1)), 292)
        expect_code(lambda: list(coll.aggregate([{"$sort": {"a": 1}}])), 292)
        assert len(list(coll.find().sort("a", 1).allow_disk_use(True))) == 300
        adm.command("setParameter", 1, internalQueryMaxBlockingSortMemoryUsageBytes=104857600)
        assert len(list(coll.find().sort("a", 1))) == 300
        # the $group limit
        adm.command("setParameter", 1, internalDocumentSourceGroupMaxMemoryBytes=4096)
        grp = [{"$group": {"_id": "$_id", "p": {"$push": "$pad"}}}]
        expect_code(lambda: list(coll.aggregate(grp)), 292)
        adm.command("setParameter", 1, allowDiskUseByDefault=True)
        assert len(list(coll.aggregate(grp))) == 300
        adm.command("setParameter", 1, internalDocumentSourceGroupMaxMemoryBytes=104857600)
        # an idle cursor is killed after cursorTimeoutMillis
        # (left untouched until the reaper counts it: a getMore would make it busy again)
        timed_out = adm.command("serverStatus")["metrics"]["cursor"]["timedOut"]
        adm.command("setParameter", 1, cursorTimeoutMillis=500)
        cur = db.command("find", "t", batchSize=1)["cursor"]["id"]
        deadline = time.time() + 120
        while adm.command("serverStatus")["metrics"]["cursor"]["timedOut"] == timed_out:
            assert time.time() < deadline, "cursor never timed out"
            time.sleep(0.2)
        r = db.command("getMore", cur, collection="t", batchSize=1, check=False)
        assert r["ok"] == 0 and r["code"] == 43, r
        c.close()


# 24. --setParameter at start-up: start-up settable parameters take their value,
#     the others refuse to start (exit code 2).
def test_24_set_parameter_at_startup():
    with Server(["--setParameter", "notablescan=true", "--setParameter", "logLevel=1",
                 "--setParameter", "internalQueryFrameworkControl=forceClassicEngine"]) as s:
        c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=10000)
        r = c.admin.command("getParameter", 1, notablescan=1, logLevel=1)
        assert r["notablescan"] is True and r["logLevel"] == 1, r
        c.kn.t.insert_one({"a": 1})
        opts = c.admin.command("getCmdLineOpts")
        assert opts["parsed"]["setParameter"]["notablescan"] == "true", opts
        expect_code(lambda: list(c.kn.t.find({"a": 1})), 291)
        c.close()
    for arg in ["featureCompatibilityVersion=7.0", "logComponentVerbosity={}",
                "internalQueryFrameworkControl=trySbeEngine", "notablescan=maybe",
                "noSuchParameter=1"]:
        r = subprocess.run([micad_path(), "--setParameter", arg, "--port", "1"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (arg, r.returncode, r.stderr)


# 25. convertToCapped really converts (jstests/core/convert_to_capped*.js,
#     capped_convertToCapped1.js): same name, capped, the documents in natural
#     order, only the _id index left; a size below the data keeps the newest.
def test_25_convert_to_capped():
    with client() as c:
        db = c.conform
        coll = fresh(c, "n25", [{"_id": i, "x": "v" * 100} for i in range(50)])
        coll.create_index("x")
        r = db.command("convertToCapped", "n25", size=100000)
        assert r["ok"] == 1, r
        assert db.command("collStats", "n25")["capped"] is True
        opts = coll.options()
        assert opts.get("capped") is True and opts.get("size", 0) >= 100000, opts
        assert [d["_id"] for d in coll.find().sort("$natural", 1)] == list(range(50))
        assert sorted(ix["name"] for ix in coll.list_indexes()) == ["_id_"]
        names = db.list_collection_names()
        assert "n25" in names and not any("convertToCapped" in n for n in names), names
        # capped from now on: a tailable cursor is accepted
        cur = coll.find(cursor_type=pymongo.CursorType.TAILABLE)
        assert len([d for d in cur]) == 50
        # a size smaller than the data keeps the newest documents, in order
        fresh(c, "n25b", [{"_id": i, "x": "v" * 1000} for i in range(100)])
        db.command("convertToCapped", "n25b", size=10000)
        ids = [d["_id"] for d in db.n25b.find()]
        assert 0 < len(ids) < 100 and ids == list(range(100 - len(ids), 100)), ids
        # errors
        expect_code(lambda: db.command("convertToCapped", "n25"), 40414)
        expect_code(lambda: db.command("convertToCapped", "nosuch25", size=1000), 26)
        expect_code(lambda: db.command("convertToCapped", "n25", size=-5), 2)
        expect_code(lambda: db.command("convertToCapped", "n25", size=5308156746568725891247.0), 2)
        expect_code(lambda: db.command("convertToCapped", "n25", size=1000, bogus=1), 40415)
        db.command("create", "v25", viewOn="n25", pipeline=[])
        expect_code(lambda: db.command("convertToCapped", "v25", size=1000), 166)
        db.v25.drop()
        # top answers per namespace, as mongotop reads it
        t = c.admin.command("top")["totals"]
        assert "conform.n25" in t and t["conform.n25"]["total"]["count"] > 0, t.get("conform.n25")
        for k in ["readLock", "writeLock", "queries", "getmore", "insert", "update", "remove",
                  "commands"]:
            assert set(t["conform.n25"][k]) == {"time", "count"}, k


# 26. $match after an inclusion $project moves before it when the projection keeps
#     or renames ({y: "$x"}) what the $match reads (MongoDB's
#     DocumentSourceMatch::splitSourceBy over the projection's modified paths):
#     the $match then reaches the planner; results never change.
def test_26_match_moves_before_project():
    with client() as c:
        coll = fresh(c, "n26m", [{"_id": i, "a": i % 10, "x": i, "s": {"t": i % 3}}
                                 for i in range(300)])
        coll.create_index("a")
        coll.create_index("x")
        db = c.conform

        def plan(pipeline):
            r = db.command("explain", {"aggregate": "n26m", "pipeline": pipeline, "cursor": {}},
                           verbosity="queryPlanner")
            first = r["stages"][0]["$cursor"] if "stages" in r else r
            return stages(first["queryPlanner"]["winningPlan"]), r

        def same(pipeline):
            got = list(coll.aggregate(pipeline))
            # the same pipeline with the $match kept after the $project by a $limit between
            want = list(coll.aggregate(pipeline[:1] + [{"$limit": 10 ** 9}] + pipeline[1:]))
            assert sorted(map(str, got)) == sorted(map(str, want)), (pipeline, got, want)
            return got

        cases = [
            ([{"$project": {"a": 1, "x": 1}}, {"$match": {"a": 5}}], "a_1"),
            ([{"$project": {"a": 1, "y": "$x"}}, {"$match": {"y": 42}}], "x_1"),
            ([{"$project": {"a": 1, "y": "$x"}}, {"$match": {"y": {"$gte": 290}, "a": 5}}],
             None),
            ([{"$project": {"y": "$x"}}, {"$match": {"_id": {"$in": [1, 2]}}}], "_id_"),
        ]
        for pipeline, index in cases:
            names, r = plan(pipeline)
            assert "COLLSCAN" not in names, (pipeline, names)
            if index is not None:
                assert "IXSCAN" in names, (pipeline, names)
            assert same(pipeline), pipeline
        got = same([{"$project": {"a": 1, "y": "$x"}}, {"$match": {"y": 42}}])
        assert got == [{"_id": 42, "a": 2, "y": 42}], got
        # fields the projection drops or computes keep the $match after it
        for pipeline in [[{"$project": {"a": 1}}, {"$match": {"x": None}}],
                         [{"$project": {"a": {"$add": ["$a", 1]}}}, {"$match": {"a": 5}}],
                         [{"$project": {"s.t": 1}}, {"$match": {"s": {"t": 1}}}]]:
            names, r = plan(pipeline)
            assert "IXSCAN" not in names, (pipeline, names)
            same(pipeline)
        assert len(list(coll.aggregate([{"$project": {"a": 1}}, {"$match": {"x": None}}]))) == 300


# 25. applyOps on a standalone as MongoDB 7.0 (src/mongo/db/repl/apply_ops.cpp):
#     CRUD entries applied in turn, {applied, results}; 'n' entries skipped and
#     not counted; an update without a match is a false result and UnknownError 8;
#     an entry that raises stops there.
def test_25_apply_ops():
    with client() as c:
        db = c.conform
        coll = fresh(c, "n25a", [{"_id": 1, "x": "init"}])
        other = c.conform2.n25o
        other.drop()
        other.insert_one({"_id": 0})
        ns = "conform.n25a"
        r = db.command("applyOps", [
            {"op": "i", "ns": ns, "o": {"_id": 2, "x": "new"}},
            {"op": "n", "ns": "", "o": {"msg": "noop"}},
            {"op": "u", "ns": ns, "o2": {"_id": 1}, "o": {"$set": {"x": "set"}}},
            {"op": "u", "ns": ns, "o2": {"_id": 2}, "o": {"_id": 2, "x": "replaced"}},
            {"op": "d", "ns": "conform2.n25o", "o": {"_id": 0}},
            {"op": "d", "ns": "conform.nosuch25", "o": {"_id": 0}},
        ])
        assert r["ok"] == 1 and r["applied"] == 5 and r["results"] == [True] * 5, r
        assert list(coll.find().sort("_id", 1)) == [{"_id": 1, "x": "set"},
                                                    {"_id": 2, "x": "replaced"}]
        assert other.count_documents({}) == 0
        # an update that matches nothing: false, the others still applied, UnknownError
        r = db.command("applyOps", [
            {"op": "u", "ns": ns, "o2": {"_id": 9}, "o": {"$set": {"x": 1}}},
            {"op": "i", "ns": ns, "o": {"_id": 3}}], check=False)
        assert r["ok"] == 0 and r["code"] == 8, r
        assert r["applied"] == 2 and r["results"] == [False, True], r
        assert coll.count_documents({"_id": 3}) == 1
        # an entry that raises stops there
        r = db.command("applyOps", [
            {"op": "i", "ns": ns, "o": {"_id": 4}},
            {"op": "i", "ns": ns, "o": {"_id": 4}},
            {"op": "i", "ns": ns, "o": {"_id": 5}}], check=False)
        assert r["ok"] == 0 and r["code"] == 11000, r
        assert r["applied"] == 2 and r["results"] == [True, False], r
        assert coll.count_documents({"_id": 5}) == 0
        r = db.command("applyOps", [{"op": "i", "ns": "conform.nosuch25", "o": {"_id": 1}}],
                       check=False)
        assert r["ok"] == 0 and r["code"] == 26, r
        # what Mica does not implement says so
        for ent in [{"op": "c", "ns": "conform.$cmd", "o": {"create": "x25"}},
                    {"op": "u", "ns": ns, "o2": {"_id": 1}, "o": {"$v": 2, "diff": {"u": {"x": 2}}}}]:
            r = db.command("applyOps", [ent], check=False)
            assert r["ok"] == 0 and r["code"] == 238, r
        expect_code(lambda: db.command("applyOps", [{"op": "z", "ns": ns, "o": {}}]), 2)
        expect_code(lambda: db.command("applyOps", 1), 14)
        expect_code(lambda: db.command("applyOps", [], prepare=True), 2)


def main():
    global server
    with Server() as s:
        server = s
        failed = run_tests(collect_tests(globals()), s)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
