"""test_crud_read.py -- pymongo against micad: the read side of CRUD.

find (filter, projection, sort, skip, limit, batchSize, singleBatch, hint,
min/max, returnKey, showRecordId, maxTimeMS, tailable/awaitData, errors),
getMore over thousands of documents, killCursors and CursorNotFound, count,
distinct, explain (queryPlanner / executionStats / allPlansExecution), the
plan chosen for indexes, and readers racing writers (an index scan never
misses a document the collection scan returns once the writes are done)."""
import os
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import bson  # noqa: E402
import pymongo  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

server = None


def client(**kw):
    return pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=5000, **kw)


def expect_code(fn, code, msg=None):
    try:
        fn()
    except OperationFailure as e:
        assert e.code == code, (e.code, e.details)
        if msg is not None:
            assert msg in e.details["errmsg"], e.details
        return e
    raise AssertionError("expected error code %d" % code)


def fresh(c, name, n=0, **kw):
    coll = c.rd[name]
    coll.drop()
    if n:
        coll.insert_many([{"_id": i, "a": i % 10, "b": i, "s": "x%04d" % i} for i in range(n)])
    return coll


def test_find_all_and_filter():
    with client() as c:
        coll = fresh(c, "f1", 100)
        assert len(list(coll.find())) == 100
        assert [d["_id"] for d in coll.find({"a": 3})] == list(range(3, 100, 10))
        assert [d["_id"] for d in coll.find({"b": {"$gte": 95}})] == [95, 96, 97, 98, 99]
        assert list(coll.find({"nope": 1})) == []


def test_missing_collection_is_empty():
    with client() as c:
        c.rd.never_created.drop()
        reply = c.rd.command("find", "never_created")
        assert reply["cursor"]["firstBatch"] == [] and reply["cursor"]["id"] == 0
        assert reply["cursor"]["ns"] == "rd.never_created"
        assert c.rd.command("count", "never_created")["n"] == 0
        assert c.rd.command("distinct", "never_created", key="a")["values"] == []


def test_projection_sort_skip_limit():
    with client() as c:
        coll = fresh(c, "f2", 50)
        docs = list(coll.find({}, {"b": 1, "_id": 0}).sort("b", -1).skip(2).limit(3))
        assert docs == [{"b": 47}, {"b": 46}, {"b": 45}], docs
        docs = list(coll.find({"a": 1}, {"s": 0, "a": 0}).sort([("b", 1)]).limit(2))
        assert docs == [{"_id": 1, "b": 1}, {"_id": 11, "b": 11}], docs
        # huge skip + limit do not overflow
        r = c.rd.command("find", "f2", sort={"b": 1}, skip=2**63 - 2, limit=2**63 - 1)
        assert r["cursor"]["firstBatch"] == [] and r["cursor"]["id"] == 0
        docs = list(coll.find().sort([("a", 1), ("b", -1)]).limit(3))
        assert [d["_id"] for d in docs] == [40, 30, 20]


def test_positional_projection():
    with client() as c:
        coll = fresh(c, "f3")
        coll.insert_one({"_id": 1, "arr": [1, 5, 9]})
        assert list(coll.find({"arr": {"$gt": 4}}, {"arr.$": 1})) == [{"_id": 1, "arr": [5]}]


def test_first_batch_default_101_and_getmore():
    with client() as c:
        coll = fresh(c, "g1", 3000)
        r = c.rd.command("find", "g1")
        assert len(r["cursor"]["firstBatch"]) == 101
        cid = r["cursor"]["id"]
        assert isinstance(cid, Int64) and cid != 0
        seen = len(r["cursor"]["firstBatch"])
        while cid:
            r = c.rd.command("getMore", Int64(cid), collection="g1", batchSize=500)
            assert len(r["cursor"]["nextBatch"]) <= 500
            seen += len(r["cursor"]["nextBatch"])
            cid = r["cursor"]["id"]
        assert seen == 3000
        # through the driver, small batches: every document exactly once
        ids = [d["_id"] for d in coll.find().batch_size(7)]
        assert ids == list(range(3000))


def test_batch_size_zero_and_single_batch():
    with client() as c:
        fresh(c, "g2", 30)
        r = c.rd.command("find", "g2", batchSize=0)
        assert r["cursor"]["firstBatch"] == [] and r["cursor"]["id"] != 0
        c.rd.command("killCursors", "g2", cursors=[r["cursor"]["id"]])
        r = c.rd.command("find", "g2", batchSize=5, singleBatch=True)
        assert len(r["cursor"]["firstBatch"]) == 5 and r["cursor"]["id"] == 0
        r = c.rd.command("find", "g2", limit=7)
        assert len(r["cursor"]["firstBatch"]) == 7 and r["cursor"]["id"] == 0
        r = c.rd.command("find", "g2", limit=-4)
        assert len(r["cursor"]["firstBatch"]) == 4 and r["cursor"]["id"] == 0


def test_batches_stop_at_16mib():
    with client() as c:
        coll = fresh(c, "g3")
        big = "x" * (1024 * 1024)
        coll.insert_many([{"_id": i, "p": big} for i in range(40)])
        r = c.rd.command("find", "g3", batchSize=1000)
        n = len(r["cursor"]["firstBatch"])
        assert 10 <= n < 17, n
        total = n
        cid = r["cursor"]["id"]
        while cid:
            r = c.rd.command("getMore", Int64(cid), collection="g3")
            total += len(r["cursor"]["nextBatch"])
            cid = r["cursor"]["id"]
        assert total == 40


def test_getmore_errors():
    with client() as c:
        fresh(c, "g4", 300)
        r = c.rd.command("find", "g4", batchSize=2)
        cid = r["cursor"]["id"]
        expect_code(lambda: c.rd.command("getMore", Int64(cid), collection="other"), 13,
                    "Requested getMore on namespace 'rd.other', but cursor belongs to a "
                    "different namespace rd.g4")
        expect_code(lambda: c.rd.command("getMore", Int64(12345), collection="g4"), 43,
                    "cursor id 12345 not found")
        expect_code(lambda: c.rd.command("getMore", Int64(cid)), 40414)
        expect_code(lambda: c.rd.command("getMore", "x", collection="g4"), 14)
        r = c.rd.command("killCursors", "g4", cursors=[Int64(cid), Int64(777)])
        assert r["cursorsKilled"] == [cid] and r["cursorsNotFound"] == [777], r
        assert r["cursorsAlive"] == [] and r["cursorsUnknown"] == []
        expect_code(lambda: c.rd.command("getMore", Int64(cid), collection="g4"), 43,
                    "cursor id %d not found" % cid)


def test_kill_cursors_through_driver():
    with client() as c:
        coll = fresh(c, "g5", 500)
        cur = coll.find().batch_size(10)
        next(cur)
        cid = cur.cursor_id
        cur.close()
        expect_code(lambda: c.rd.command("getMore", Int64(cid), collection="g5"), 43)


def test_drop_under_open_cursor():
    with client() as c:
        for name, hint in (("dr1", None), ("dr2", "a_1")):
            coll = fresh(c, name, 200)
            coll.create_index("a")
            args = {"batchSize": 3}
            if hint:
                args["hint"] = hint
            r = c.rd.command("find", name, **args)
            cid = r["cursor"]["id"]
            coll.drop()
            expect_code(lambda: c.rd.command("getMore", Int64(cid), collection=name), 175)
            expect_code(lambda: c.rd.command("getMore", Int64(cid), collection=name), 43)


def test_find_argument_errors():
    with client() as c:
        fresh(c, "e1", 5)
        expect_code(lambda: c.rd.command("find", "e1", filter=5), 14)
        expect_code(lambda: c.rd.command("find", "e1", skip=-1), 51024)
        expect_code(lambda: c.rd.command("find", "e1", batchSize=-1), 51024)
        expect_code(lambda: c.rd.command("find", "e1", nosuchOption=1), 40415)
        expect_code(lambda: c.rd.command("find", "e1", filter={"a": {"$bogus": 1}}), 2)
        expect_code(lambda: c.rd.command("find", "e1", sort={"a": 5}), 15975)
        expect_code(lambda: c.rd.command("find", "e1", hint="nope"), 2,
                    "hint provided does not correspond to an existing index")
        expect_code(lambda: c.rd.command("find", "e1", min={"a": 1}), 51173)
        expect_code(lambda: c.rd.command("find", "e1", awaitData=True), 9)
        expect_code(lambda: c.rd.command("find", "e1", tailable=True), 2)


def test_hint_and_min_max():
    with client() as c:
        coll = fresh(c, "h1", 100)
        coll.create_index([("a", 1), ("b", 1)], name="ab")
        assert len(list(coll.find({"a": 2}).hint("ab"))) == 10
        assert len(list(coll.find({"a": 2}).hint([("a", 1), ("b", 1)]))) == 10
        plan = coll.find({"b": 5}).hint("ab").explain()["queryPlanner"]["winningPlan"]
        assert plan["inputStage"]["indexName"] == "ab"
        nat = coll.find({"a": 2}).hint([("$natural", -1)]).explain()
        assert nat["queryPlanner"]["winningPlan"]["stage"] == "COLLSCAN"
        assert [d["_id"] for d in coll.find({"a": 2}).hint([("$natural", -1)])][0] == 92
        # sort {$natural: -1} is the scan direction, not a field
        assert [d["_id"] for d in coll.find({"a": 2}).sort("$natural", -1)][:2] == [92, 82]
        docs = list(coll.find().hint("ab").min([("a", 3), ("b", 0)]).max([("a", 4), ("b", 0)]))
        assert sorted(d["_id"] for d in docs) == list(range(3, 100, 10))


def test_return_key_and_show_record_id():
    with client() as c:
        coll = fresh(c, "k1", 20)
        coll.create_index("a")
        docs = list(coll.find({"a": 4}, return_key=True).hint("a_1"))
        assert docs == [{"a": 4}, {"a": 4}], docs
        docs = list(coll.find({"_id": 3}, show_record_id=True))
        assert "$recordId" in docs[0] and docs[0]["_id"] == 3


def test_sort_memory_limit():
    with client() as c:
        coll = fresh(c, "m1")
        big = "y" * (512 * 1024)
        for k in range(5):
            coll.insert_many([{"_id": k * 50 + i, "p": big, "r": (k * 50 + i) * 7 % 250}
                              for i in range(50)])
        expect_code(lambda: list(coll.find().sort("r", 1).allow_disk_use(False)), 292)
        n = 0
        for _ in coll.find({}, {"p": 0}).sort("r", 1).allow_disk_use(True):
            n += 1
        assert n == 250
        # a limit keeps only the top k: no memory error
        assert len(list(coll.find().sort("r", 1).limit(3))) == 3


def test_max_time_ms_on_big_scan():
    with client() as c:
        coll = fresh(c, "t1")
        for k in range(20):
            coll.insert_many([{"k": k, "i": i, "pad": "z" * 200} for i in range(5000)])
        expect_code(lambda: c.rd.command("find", "t1", filter={"nomatch": 1}, maxTimeMS=1), 50)
        expect_code(lambda: c.rd.command("count", "t1", query={"nomatch": 1}, maxTimeMS=1), 50)
        # without a limit it finishes
        assert c.rd.command("count", "t1", query={"nomatch": 1})["n"] == 0


def test_count():
    with client() as c:
        coll = fresh(c, "c1", 100)
        assert c.rd.command("count", "c1")["n"] == 100
        assert c.rd.command("count", "c1", query={"a": 1})["n"] == 10
        assert c.rd.command("count", "c1", skip=95)["n"] == 5
        assert c.rd.command("count", "c1", limit=7)["n"] == 7
        assert c.rd.command("count", "c1", limit=-7)["n"] == 7
        assert c.rd.command("count", "c1", query={"a": 1}, skip=8, limit=5)["n"] == 2
        coll.create_index("a")
        assert c.rd.command("count", "c1", query={"a": {"$in": [1, 2]}}, hint="a_1")["n"] == 20
        expect_code(lambda: c.rd.command("count", "c1", hint="zz"), 2)
        expect_code(lambda: c.rd.command("count", "c1", query=3), 14)
        assert coll.estimated_document_count() == 100


def test_distinct():
    with client() as c:
        coll = fresh(c, "d1")
        coll.insert_many([{"a": 1}, {"a": 1.0}, {"a": Int64(1)}, {"a": [2, 3, [4]]},
                          {"a": {"x": 1}}, {"b": 1}, {"a": "s"}, {"a": None},
                          {"a": [{"x": 1}, 2]}])
        vals = coll.distinct("a")
        assert len(vals) == 7, vals
        assert 1 in vals and 2 in vals and 3 in vals and [4] in vals and {"x": 1} in vals
        assert "s" in vals and None in vals
        # every value of the matching documents, not only those that matched
        vals = coll.distinct("a", {"a": {"$gte": 2}})
        assert len(vals) == 4 and 2 in vals and 3 in vals and [4] in vals and {"x": 1} in vals
        coll.insert_many([{"p": {"q": [7, 8]}}, {"p": [{"q": 9}]}])
        assert sorted(coll.distinct("p.q")) == [7, 8, 9]
        expect_code(lambda: c.rd.command("distinct", "d1"), 40414)
        expect_code(lambda: c.rd.command("distinct", "d1", key=1), 14)


def test_explain_shapes():
    with client() as c:
        coll = fresh(c, "x1", 200)
        e = coll.find({"a": 3}).explain()
        assert e["explainVersion"] == "1"
        qp = e["queryPlanner"]
        assert qp["namespace"] == "rd.x1" and qp["indexFilterSet"] is False
        assert qp["parsedQuery"] == {"a": {"$eq": 3}}
        assert qp["winningPlan"]["stage"] == "COLLSCAN"
        es = e["executionStats"]
        assert es["executionSuccess"] is True and es["nReturned"] == 20
        assert es["totalDocsExamined"] == 200 and es["totalKeysExamined"] == 0
        assert "executionTimeMillis" in es and "executionStages" in es
        assert e["serverInfo"]["version"] == "7.0.0" and e["command"]["find"] == "x1"
        coll.create_index("a")
        e = c.rd.command("explain", {"find": "x1", "filter": {"a": 3}}, verbosity="executionStats")
        wp = e["queryPlanner"]["winningPlan"]
        assert wp["stage"] == "FETCH" and wp["inputStage"]["stage"] == "IXSCAN"
        ix = wp["inputStage"]
        assert ix["keyPattern"] == {"a": 1} and ix["indexName"] == "a_1"
        assert ix["isMultiKey"] is False and ix["direction"] == "forward"
        assert ix["indexBounds"] == {"a": ["[3, 3]"]}
        assert e["executionStats"]["totalKeysExamined"] == 20
        assert e["executionStats"]["totalDocsExamined"] == 20
        e = c.rd.command("explain", {"find": "x1", "filter": {}, "sort": {"b": 1}, "skip": 1,
                                     "limit": 2, "projection": {"b": 1}},
                         verbosity="queryPlanner")
        stages = []
        s = e["queryPlanner"]["winningPlan"]
        while s:
            stages.append(s["stage"])
            s = s.get("inputStage")
        assert stages == ["PROJECTION_SIMPLE", "SKIP", "SORT", "COLLSCAN"], stages
        assert "executionStats" not in e
        e = c.rd.command("explain", {"count": "x1", "query": {"a": 1}}, verbosity="queryPlanner")
        assert e["queryPlanner"]["winningPlan"]["stage"] == "COUNT"
        e = c.rd.command("explain", {"distinct": "x1", "key": "b", "query": {"a": 1}})
        # distinct reads only its key, as MongoDB: {b: 1, _id: 0} over the fetch
        assert e["queryPlanner"]["winningPlan"]["stage"] == "PROJECTION_SIMPLE"
        assert e["queryPlanner"]["winningPlan"]["inputStage"]["stage"] == "FETCH"
        expect_code(lambda: c.rd.command("explain", {"find": "x1"}, verbosity="loud"), 2)
        expect_code(lambda: c.rd.command("explain", {"update": "x1", "updates": []}), 16)


def test_explain_write_commands_without_writing():
    with client() as c:
        coll = fresh(c, "xw", 200)
        coll.create_index("a")
        e = c.rd.command("explain", {"update": "xw", "updates": [
            {"q": {"a": 3}, "u": {"$set": {"z": 1}}, "multi": True}]}, verbosity="executionStats")
        wp = e["queryPlanner"]["winningPlan"]
        assert wp["stage"] == "UPDATE", wp
        assert wp["inputStage"]["stage"] == "FETCH", wp
        assert wp["inputStage"]["inputStage"]["stage"] == "IXSCAN", wp
        assert e["executionStats"]["totalKeysExamined"] == 20, e["executionStats"]
        e = c.rd.command("explain", {"delete": "xw", "deletes": [{"q": {"b": 7}, "limit": 1}]},
                         verbosity="queryPlanner")
        assert e["queryPlanner"]["winningPlan"]["stage"] == "DELETE"
        assert e["queryPlanner"]["winningPlan"]["inputStage"]["stage"] == "COLLSCAN"
        e = c.rd.command("explain", {"findAndModify": "xw", "query": {"a": 1}, "sort": {"b": -1},
                                     "remove": True})
        assert e["queryPlanner"]["winningPlan"]["stage"] == "DELETE"
        # nothing was written
        assert coll.count_documents({"z": 1}) == 0 and coll.count_documents({}) == 200
        expect_code(lambda: c.rd.command("explain", {"delete": "xw", "deletes": [
            {"q": {}, "limit": 0}, {"q": {}, "limit": 0}]}), 16)


def test_point_read_by_id():
    with client() as c:
        coll = fresh(c, "id1", 50)
        coll.create_index("a")
        assert coll.find_one({"_id": 7})["b"] == 7
        assert coll.find_one({"_id": 70}) is None
        e = coll.find({"_id": 7}).explain()
        ix = e["queryPlanner"]["winningPlan"]["inputStage"]
        assert ix["indexName"] == "_id_" and ix["indexBounds"] == {"_id": ["[7, 7]"]}
        assert e["executionStats"]["totalDocsExamined"] == 1


def test_planner_choices():
    with client() as c:
        coll = fresh(c, "p1", 1000)
        coll.create_index("a")
        coll.create_index("b")
        coll.create_index([("a", 1), ("b", 1)], name="ab")
        e = coll.find({"a": 3, "b": {"$gt": 990}}).explain()
        assert e["queryPlanner"]["winningPlan"]["inputStage"]["indexName"] in ("b_1", "ab")
        assert len(e["queryPlanner"]["rejectedPlans"]) >= 1
        assert len(e["executionStats"]["allPlansExecution"]) >= 2
        # the index gives the sort: no SORT stage
        wp = coll.find({"a": 3}).sort("b", 1).explain()["queryPlanner"]["winningPlan"]
        assert wp["stage"] == "FETCH" and wp["inputStage"]["indexName"] == "ab", wp
        docs = list(coll.find({"a": 3}).sort("b", -1).limit(2))
        assert [d["_id"] for d in docs] == [993, 983]
        # $in as several point ranges
        wp = coll.find({"b": {"$in": [5, 7]}}).explain()["queryPlanner"]["winningPlan"]
        assert wp["inputStage"]["indexBounds"] == {"b": ["[5, 5]", "[7, 7]"]}
        # $or with an index per branch
        wp = coll.find({"$or": [{"a": 1, "b": 1}, {"b": 500}]}).explain()
        ids = sorted(d["_id"] for d in coll.find({"$or": [{"a": 1}, {"b": 500}]}))
        assert ids == sorted(set(list(range(1, 1000, 10)) + [500]))
        # results agree with a collection scan
        q = {"a": {"$in": [2, 4]}, "b": {"$lt": 300}}
        assert sorted(d["_id"] for d in coll.find(q)) == sorted(
            d["_id"] for d in coll.find(q).hint([("$natural", 1)]))


def test_plan_cache_per_shape():
    with client() as c:
        coll = fresh(c, "pc", 500)
        coll.create_index("a")
        coll.create_index("b")
        q = {"a": 3, "b": {"$gt": 100}}
        first = coll.find(q).explain()
        assert len(first["executionStats"]["allPlansExecution"]) == 2
        # same shape, other values: the cached choice, no trial
        again = coll.find({"a": 4, "b": {"$gt": 7}}).explain()
        assert again["executionStats"]["allPlansExecution"] == []
        assert (again["queryPlanner"]["winningPlan"]["inputStage"]["indexName"] ==
                first["queryPlanner"]["winningPlan"]["inputStage"]["indexName"])
        # a new index invalidates the entry
        coll.create_index([("a", 1), ("b", 1)])
        third = coll.find(q).explain()
        assert len(third["executionStats"]["allPlansExecution"]) == 3
        assert sorted(d["_id"] for d in coll.find(q)) == list(range(103, 500, 10))


def test_multikey_and_sparse():
    with client() as c:
        coll = fresh(c, "mk")
        coll.insert_many([{"_id": 1, "t": [1, 10]}, {"_id": 2, "t": [5]}, {"_id": 3, "t": 20}])
        coll.create_index("t")
        assert sorted(d["_id"] for d in coll.find({"t": {"$gt": 3, "$lt": 8}})) == [1, 2]
        e = coll.find({"t": {"$gt": 3}}).explain()["queryPlanner"]["winningPlan"]["inputStage"]
        assert e["isMultiKey"] is True
        assert [d["_id"] for d in coll.find({"t": {"$gte": 1}})] == [1, 2, 3]  # no duplicates
        sp = fresh(c, "sp")
        sp.insert_many([{"_id": 1, "v": 1}, {"_id": 2}])
        sp.create_index("v", sparse=True)
        assert [d["_id"] for d in sp.find({"v": None})] == [2]
        assert [d["_id"] for d in sp.find().sort("v", 1)] == [2, 1]


def test_tailable_await_data():
    with client() as c:
        c.rd.capped1.drop()
        c.rd.create_collection("capped1", capped=True, size=100000)
        coll = c.rd.capped1
        coll.insert_many([{"_id": i} for i in range(3)])
        r = c.rd.command("find", "capped1", tailable=True, awaitData=True, batchSize=10)
        assert [d["_id"] for d in r["cursor"]["firstBatch"]] == [0, 1, 2]
        cid = r["cursor"]["id"]
        assert cid != 0
        t0 = time.time()
        r = c.rd.command("getMore", Int64(cid), collection="capped1", maxTimeMS=300)
        assert r["cursor"]["nextBatch"] == [] and r["cursor"]["id"] == cid
        assert time.time() - t0 >= 0.25
        def later():
            time.sleep(0.2)
            with client() as c2:
                c2.rd.capped1.insert_one({"_id": 99})
        th = threading.Thread(target=later)
        th.start()
        r = c.rd.command("getMore", Int64(cid), collection="capped1", maxTimeMS=3000)
        th.join()
        assert [d["_id"] for d in r["cursor"]["nextBatch"]] == [99], r
        c.rd.command("killCursors", "capped1", cursors=[Int64(cid)])


def test_cursor_in_use():
    with client() as c, c.start_session() as sess:
        c.rd.capped2.drop()
        c.rd.create_collection("capped2", capped=True, size=100000)
        c.rd.capped2.insert_one({"_id": 1})
        r = c.rd.command("find", "capped2", tailable=True, awaitData=True, session=sess)
        cid = r["cursor"]["id"]
        out = {}

        def waiter():
            try:
                out["r"] = c.rd.command("getMore", Int64(cid), collection="capped2",
                                        maxTimeMS=1500, session=sess)
            except Exception as e:  # noqa: BLE001
                out["e"] = e

        th = threading.Thread(target=waiter)
        th.start()
        time.sleep(0.5)
        expect_code(lambda: c.rd.command("getMore", Int64(cid), collection="capped2",
                                         session=sess), 143,
                    "cursor id %d is already in use" % cid)
        th.join()
        assert "e" not in out, out
        assert out["r"]["cursor"]["nextBatch"] == []
        r = c.rd.command("killCursors", "capped2", cursors=[Int64(cid)], session=sess)
        assert r["cursorsKilled"] == [cid]
        expect_code(lambda: c.rd.command("getMore", Int64(cid), collection="capped2",
                                         session=sess), 43)


def test_cursor_belongs_to_session():
    with client() as c:
        fresh(c, "s1", 50)
        with c.start_session() as s1:
            r = c.rd.command("find", "s1", batchSize=2, session=s1)
            cid = r["cursor"]["id"]
            with c.start_session() as s2:
                expect_code(lambda: c.rd.command("getMore", Int64(cid), collection="s1",
                                                 session=s2), 50738)
            r = c.rd.command("getMore", Int64(cid), collection="s1", session=s1)
            assert len(r["cursor"]["nextBatch"]) == 48


def test_end_and_kill_sessions_kill_their_cursors():
    with client() as c:
        fresh(c, "s2", 20)
        with c.start_session() as s1:
            r = c.rd.command("find", "s2", batchSize=2, session=s1)
            cid = r["cursor"]["id"]
            lsid = s1.session_id
            c.admin.command("endSessions", [lsid])
            expect_code(lambda: c.rd.command("getMore", Int64(cid), collection="s2",
                                             session=s1), 43)
        with c.start_session() as s2:
            r = c.rd.command("find", "s2", batchSize=2, session=s2)
            cid = r["cursor"]["id"]
            c.admin.command("killSessions", [s2.session_id])
            expect_code(lambda: c.rd.command("getMore", Int64(cid), collection="s2",
                                             session=s2), 43)


def test_server_status_cursor_metrics():
    with client() as c:
        fresh(c, "s3", 10)
        r = c.rd.command("find", "s3", batchSize=2)
        m = c.admin.command("serverStatus")["metrics"]
        assert m["cursor"]["open"]["total"] >= 1, m
        assert "timedOut" in m["cursor"] and "ttl" in m, m
        c.rd.command("killCursors", "s3", cursors=[Int64(r["cursor"]["id"])])


def test_concurrent_readers_and_writers():
    with client(maxPoolSize=20) as c:
        coll = fresh(c, "cc")
        coll.create_index("g")
        errors = []

        def writer(w):
            try:
                with client() as cw:
                    col = cw.rd.cc
                    for i in range(300):
                        col.insert_one({"_id": w * 10000 + i, "g": i % 7, "w": w})
                        if i % 10 == 0:
                            col.update_one({"_id": w * 10000 + i}, {"$set": {"g": 3}})
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        def reader():
            try:
                with client() as cr:
                    col = cr.rd.cc
                    for _ in range(30):
                        ids = [d["_id"] for d in col.find({"g": 3}).batch_size(20)]
                        assert len(ids) == len(set(ids)), "duplicate in an index scan"
                        list(col.find({"g": {"$gt": 4}}).sort("g", 1))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        threads += [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for g in range(7):
            by_index = sorted(d["_id"] for d in coll.find({"g": g}).hint("g_1"))
            by_scan = sorted(d["_id"] for d in coll.find({"g": g}).hint([("$natural", 1)]))
            assert by_index == by_scan, g
        assert c.rd.command("count", "cc")["n"] == 900


def main():
    global server
    with Server() as s:
        server = s
        failed = run_tests(collect_tests(globals()), s)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
