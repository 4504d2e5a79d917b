"""test_aggregate.py -- pymongo against micad: the aggregate command end to end.

The command's arguments and errors, cursors over large results (getMore),
the leading $match/$sort going to the planner (explain shows the index), the
stages that reach other collections ($lookup both forms, $graphLookup,
$unionWith, $out, $merge in every mode, $collStats, $indexStats), the other
stages over real data, `let`, find({$expr}), explain shapes, and
pipeline-style updates (update and findAndModify, upserts, `c` constants),
allowDiskUse: a $group over more data than the memory limit completes with
it and fails with 292 without it (a second micad started with small
--setParameter memory limits keeps that test fast)."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
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


def fresh(c, name, docs=()):
    coll = c.agg[name]
    coll.drop()
    if docs:
        coll.insert_many(list(docs))
    return coll


def agg(coll, pipeline, **kw):
    return list(coll.aggregate(pipeline, **kw))


# ---------------------------------------------------------------- the command


def test_match_group_sort_project():
    with client() as c:
        coll = fresh(c, "basic", [{"_id": i, "a": i % 3, "b": i} for i in range(30)])
        out = agg(coll, [{"$match": {"b": {"$gte": 3}}},
                         {"$group": {"_id": "$a", "n": {"$sum": 1}, "s": {"$sum": "$b"}}},
                         {"$sort": {"_id": 1}}, {"$project": {"n": 1, "s": 1}}])
        assert out == [{"_id": 0, "n": 9, "s": 135}, {"_id": 1, "n": 9, "s": 144},
                       {"_id": 2, "n": 9, "s": 153}], out


def test_missing_collection_is_empty_input():
    with client() as c:
        c.agg.nothere.drop()
        assert agg(c.agg.nothere, [{"$match": {"a": 1}}]) == []
        assert agg(c.agg.nothere, [{"$count": "n"}]) == []
        assert agg(c.agg.nothere, [{"$group": {"_id": None, "n": {"$sum": 1}}}]) == []


def test_cursor_option_is_required():
    with client() as c:
        expect_code(lambda: c.agg.command("aggregate", "basic", pipeline=[]), 9,
                    "The 'cursor' option is required")


def test_argument_errors():
    with client() as c:
        db = c.agg
        expect_code(lambda: db.command("aggregate", "basic", cursor={}), 40414)
        expect_code(lambda: db.command("aggregate", "basic", pipeline={}, cursor={}), 14)
        expect_code(lambda: db.command("aggregate", "basic", pipeline=[], cursor={}, bogus=1),
                    40415)
        expect_code(lambda: db.command("aggregate", "basic", pipeline=[],
                                       cursor={"batchSize": -1}), 51024)
        expect_code(lambda: db.command("aggregate", "basic", pipeline=[{"$nope": {}}],
                                       cursor={}), 40324)
        expect_code(lambda: db.command("aggregate", "basic", pipeline=[],
                                       cursor={}, collation={"locale": "fr"}), 238)
        expect_code(lambda: db.command("aggregate", 2, pipeline=[], cursor={}), 9)
        expect_code(lambda: db.command("aggregate", 1, pipeline=[{"$match": {}}], cursor={}), 73)
        expect_code(lambda: db.command("aggregate", 1, pipeline=[], cursor={}), 73)
        expect_code(lambda: c.admin.command("aggregate", 1, pipeline=[{"$listLocalSessions": {}}],
                                            cursor={}), 238)
        # $currentOp is collectionless but admin-only (test_currentop.py covers it)
        expect_code(lambda: db.command("aggregate", 1, pipeline=[{"$currentOp": {}}],
                                       cursor={}), 73)


def test_collation_simple_is_accepted():
    with client() as c:
        coll = fresh(c, "coll_simple", [{"_id": 1}])
        assert agg(coll, [], collation={"locale": "simple"}) == [{"_id": 1}]


def test_large_result_across_many_getmores():
    with client() as c:
        coll = fresh(c, "big", [{"_id": i, "v": i} for i in range(12000)])
        cur = coll.aggregate([{"$project": {"v": 1, "w": {"$multiply": ["$v", 2]}}}],
                             batchSize=250)
        seen = 0
        for d in cur:
            assert d["w"] == 2 * d["_id"]
            seen += 1
        assert seen == 12000
        # the raw command: first batch as asked, the rest through getMore
        r = c.agg.command("aggregate", "big", pipeline=[{"$match": {"v": {"$gte": 0}}}],
                          cursor={"batchSize": 7})
        assert len(r["cursor"]["firstBatch"]) == 7 and r["cursor"]["id"] != 0
        assert r["cursor"]["ns"] == "agg.big"
        more = c.agg.command("getMore", r["cursor"]["id"], collection="big", batchSize=5000)
        assert len(more["cursor"]["nextBatch"]) == 5000
        c.agg.command("killCursors", "big", cursors=[r["cursor"]["id"]])


def test_batch_size_zero_then_getmore():
    with client() as c:
        fresh(c, "bs0", [{"_id": i} for i in range(5)])
        r = c.agg.command("aggregate", "bs0", pipeline=[], cursor={"batchSize": 0})
        assert r["cursor"]["firstBatch"] == [] and r["cursor"]["id"] != 0
        more = c.agg.command("getMore", r["cursor"]["id"], collection="bs0")
        assert [d["_id"] for d in more["cursor"]["nextBatch"]] == [0, 1, 2, 3, 4]
        assert more["cursor"]["id"] == 0


def test_leading_match_and_sort_use_the_index():
    with client() as c:
        coll = fresh(c, "ix", [{"_id": i, "a": i, "b": i % 7} for i in range(500)])
        coll.create_index("a")
        exp = c.agg.command("aggregate", "ix", pipeline=[
            {"$match": {"a": {"$gte": 490}}}, {"$sort": {"a": -1}},
            {"$group": {"_id": "$b", "n": {"$sum": 1}}}], explain=True)
        cursor = exp["stages"][0]["$cursor"]
        plan = str(cursor["queryPlanner"]["winningPlan"])
        assert "IXSCAN" in plan and "a_1" in plan, plan
        assert "$group" in exp["stages"][1], exp["stages"]
        out = agg(coll, [{"$match": {"a": {"$gte": 490}}}, {"$sort": {"a": -1}},
                         {"$project": {"a": 1}}])
        assert [d["a"] for d in out] == list(range(499, 489, -1))


def test_whole_pipeline_pushed_down_explains_like_find():
    with client() as c:
        coll = fresh(c, "ix2", [{"_id": i, "a": i} for i in range(50)])
        coll.create_index("a")
        exp = c.agg.command("aggregate", "ix2", pipeline=[{"$match": {"a": 3}}], explain=True)
        assert "IXSCAN" in str(exp["queryPlanner"]["winningPlan"]), exp
        assert exp["explainVersion"] == "1" and "serverInfo" in exp and "command" in exp


def test_explain_command_verbosities():
    with client() as c:
        fresh(c, "exv", [{"_id": i, "a": i % 4} for i in range(40)])
        inner = {"aggregate": "exv", "pipeline": [{"$match": {"a": 1}},
                                                  {"$group": {"_id": "$a", "n": {"$sum": 1}}}],
                 "cursor": {}}
        qp = c.agg.command("explain", inner, verbosity="queryPlanner")
        assert "executionStats" not in qp["stages"][0]["$cursor"]
        es = c.agg.command("explain", inner, verbosity="executionStats")
        stats = es["stages"][0]["$cursor"]["executionStats"]
        assert stats["nReturned"] == 10 and stats["totalDocsExamined"] == 40, stats
        assert es["command"]["aggregate"] == "exv"
        # pymongo's explain through the aggregate helper
        ex2 = c.agg.command("aggregate", "exv", pipeline=[{"$count": "n"}], explain=True)
        assert [list(s)[0] for s in ex2["stages"]][0] == "$cursor"


def test_let_variables():
    with client() as c:
        coll = fresh(c, "letc", [{"_id": i, "a": i} for i in range(10)])
        out = agg(coll, [{"$match": {"$expr": {"$gt": ["$a", "$$lim"]}}},
                         {"$project": {"a": 1, "t": "$$tag"}}],
                  let={"lim": 7, "tag": "hi"})
        assert out == [{"_id": 8, "a": 8, "t": "hi"}, {"_id": 9, "a": 9, "t": "hi"}], out


def test_find_with_expr():
    with client() as c:
        coll = fresh(c, "fexpr", [{"_id": 1, "spent": 400, "budget": 450},
                                  {"_id": 2, "spent": 500, "budget": 400},
                                  {"_id": 3, "spent": 60, "budget": 50}])
        got = [d["_id"] for d in coll.find({"$expr": {"$gt": ["$spent", "$budget"]}})]
        assert got == [2, 3], got
        r = c.agg.command("find", "fexpr", filter={"$expr": {"$gt": ["$spent", "$$lim"]}},
                          let={"lim": 450}, batchSize=1)
        assert [d["_id"] for d in r["cursor"]["firstBatch"]] == [2], r
        more = c.agg.command("getMore", r["cursor"]["id"], collection="fexpr")
        assert more["cursor"]["nextBatch"] == [], more
        assert coll.count_documents({"$expr": {"$eq": ["$_id", 1]}}) == 1
        assert agg(coll, [{"$match": {"$expr": {"$lt": ["$spent", 100]}}}]) == [
            {"_id": 3, "spent": 60, "budget": 50}]


def test_max_time_ms():
    with client() as c:
        fresh(c, "slow", [{"_id": i, "v": i} for i in range(3000)])
        expect_code(lambda: c.agg.command(
            "aggregate", "slow", cursor={}, maxTimeMS=1,
            pipeline=[{"$lookup": {"from": "slow", "pipeline": [], "as": "all"}}]), 50)


# ---------------------------------------------------------------- stages with other namespaces


def test_lookup_equality_form_uses_foreign_index():
    with client() as c:
        orders = fresh(c, "orders", [{"_id": 1, "item": "almonds", "price": 12, "quantity": 2},
                                     {"_id": 2, "item": "pecans", "price": 20, "quantity": 1},
                                     {"_id": 3}])
        inv = fresh(c, "inventory", [
            {"_id": 1, "sku": "almonds", "description": "product 1", "instock": 120},
            {"_id": 2, "sku": "bread", "description": "product 2", "instock": 80},
            {"_id": 3, "sku": "cashews", "description": "product 3", "instock": 60},
            {"_id": 4, "sku": "pecans", "description": "product 4", "instock": 70},
            {"_id": 5, "sku": None, "description": "Incomplete"},
            {"_id": 6}])
        inv.create_index("sku")
        out = agg(orders, [{"$lookup": {"from": "inventory", "localField": "item",
                                        "foreignField": "sku", "as": "inventory_docs"}}])
        assert [len(d["inventory_docs"]) for d in out] == [1, 1, 2], out
        assert out[0]["inventory_docs"][0]["_id"] == 1
        assert sorted(x["_id"] for x in out[2]["inventory_docs"]) == [5, 6]


def test_lookup_pipeline_form_with_let():
    with client() as c:
        orders = fresh(c, "lorders", [{"_id": 1, "item": "almonds", "qty": 2},
                                      {"_id": 2, "item": "pecans", "qty": 10}])
        fresh(c, "lwh", [{"_id": 1, "stock_item": "almonds", "instock": 120},
                         {"_id": 2, "stock_item": "pecans", "instock": 5},
                         {"_id": 3, "stock_item": "pecans", "instock": 60}])
        out = agg(orders, [{"$lookup": {
            "from": "lwh", "let": {"it": "$item", "q": "$qty"},
            "pipeline": [{"$match": {"$expr": {"$and": [
                {"$eq": ["$stock_item", "$$it"]}, {"$gte": ["$instock", "$$q"]}]}}},
                {"$project": {"stock_item": 0, "_id": 0}}],
            "as": "stock"}}])
        assert out[0]["stock"] == [{"instock": 120}] and out[1]["stock"] == [{"instock": 60}], out


def test_graph_lookup():
    with client() as c:
        emp = fresh(c, "employees", [
            {"_id": 1, "name": "Dev"},
            {"_id": 2, "name": "Eliot", "reportsTo": "Dev"},
            {"_id": 3, "name": "Ron", "reportsTo": "Eliot"},
            {"_id": 4, "name": "Andrew", "reportsTo": "Eliot"},
            {"_id": 5, "name": "Asya", "reportsTo": "Ron"},
            {"_id": 6, "name": "Dan", "reportsTo": "Andrew"}])
        out = agg(emp, [{"$match": {"name": "Asya"}}, {"$graphLookup": {
            "from": "employees", "startWith": "$reportsTo", "connectFromField": "reportsTo",
            "connectToField": "name", "as": "reportingHierarchy", "depthField": "d"}}])
        chain = sorted((x["d"], x["name"]) for x in out[0]["reportingHierarchy"])
        assert chain == [(0, "Ron"), (1, "Eliot"), (2, "Dev")], chain


def test_union_with_across_batches():
    with client() as c:
        a = fresh(c, "ua", [{"_id": i, "src": "a"} for i in range(150)])
        fresh(c, "ub", [{"_id": i, "src": "b"} for i in range(150)])
        docs = list(a.aggregate([{"$unionWith": {"coll": "ub",
                                                 "pipeline": [{"$set": {"x": 1}}]}}],
                                batchSize=40))
        assert len(docs) == 300
        assert sum(1 for d in docs if d["src"] == "b" and d["x"] == 1) == 150


def test_out_replaces_target_and_keeps_its_indexes():
    with client() as c:
        src = fresh(c, "osrc", [{"_id": i, "a": i % 5} for i in range(100)])
        tgt = fresh(c, "otgt", [{"_id": "old"}])
        tgt.create_index("a", name="a_idx")
        r = agg(src, [{"$match": {"a": 2}}, {"$out": "otgt"}])
        assert r == []
        assert sorted(d["_id"] for d in tgt.find()) == list(range(2, 100, 5))
        assert "a_idx" in tgt.index_information()
        names = c.agg.list_collection_names()
        assert not [n for n in names if n.startswith("tmp.agg_out")], names
        # a failing $out leaves the old target as it was
        expect_code(lambda: agg(src, [{"$project": {"_id": {"$literal": 1}}}, {"$out": "otgt"}]),
                    11000)
        assert tgt.count_documents({}) == 20
        assert not [n for n in c.agg.list_collection_names() if n.startswith("tmp.agg_out")]


def test_out_to_another_database():
    with client() as c:
        src = fresh(c, "odb", [{"_id": 1}, {"_id": 2}])
        c.agg2.target.drop()
        agg(src, [{"$out": {"db": "agg2", "coll": "target"}}])
        assert c.agg2.target.count_documents({}) == 2


def merge_target(c):
    tgt = fresh(c, "mtgt", [{"_id": 1, "a": 1, "keep": "t1"}, {"_id": 2, "a": 2, "keep": "t2"}])
    src = fresh(c, "msrc", [{"_id": 2, "a": 20, "new": "s2"}, {"_id": 3, "a": 30, "new": "s3"}])
    return src, tgt


def test_merge_when_matched_modes():
    with client() as c:
        cases = [
            ("replace", {2: {"_id": 2, "a": 20, "new": "s2"}}),
            ("keepExisting", {2: {"_id": 2, "a": 2, "keep": "t2"}}),
            ("merge", {2: {"_id": 2, "a": 20, "keep": "t2", "new": "s2"}}),
            ([{"$set": {"a": {"$add": ["$a", "$$new.a"]}}}], {2: {"_id": 2, "a": 22, "keep": "t2"}}),
        ]
        for mode, want in cases:
            src, tgt = merge_target(c)
            agg(src, [{"$merge": {"into": "mtgt", "whenMatched": mode}}])
            got = {d["_id"]: d for d in tgt.find()}
            assert got[2] == want[2], (mode, got)
            assert got[1] == {"_id": 1, "a": 1, "keep": "t1"}
            assert 3 in got, (mode, got)


def test_merge_when_matched_fail():
    with client() as c:
        src, tgt = merge_target(c)
        expect_code(lambda: agg(src, [{"$merge": {"into": "mtgt", "whenMatched": "fail"}}]),
                    11000)


def test_merge_when_not_matched_modes():
    with client() as c:
        src, tgt = merge_target(c)
        agg(src, [{"$merge": {"into": "mtgt", "whenNotMatched": "discard"}}])
        assert sorted(d["_id"] for d in tgt.find()) == [1, 2]
        src, tgt = merge_target(c)
        expect_code(lambda: agg(src, [{"$merge": {"into": "mtgt", "whenNotMatched": "fail"}}]),
                    13113)
        src, tgt = merge_target(c)
        agg(src, [{"$merge": {"into": "mtgt", "whenNotMatched": "insert"}}])
        assert sorted(d["_id"] for d in tgt.find()) == [1, 2, 3]


def test_merge_on_needs_unique_index():
    with client() as c:
        src, tgt = merge_target(c)
        expect_code(lambda: agg(src, [{"$merge": {"into": "mtgt", "on": "a"}}]), 51183)
        tgt.create_index("a", unique=True)
        # new documents get new _ids: the sources' _id 2 would collide with the target's
        agg(src, [{"$project": {"_id": 0}}, {"$merge": {"into": "mtgt", "on": "a"}}])
        assert tgt.count_documents({}) == 4


def test_merge_into_new_collection():
    with client() as c:
        src = fresh(c, "mnew_src", [{"_id": i} for i in range(10)])
        c.agg.mnew.drop()
        agg(src, [{"$merge": "mnew"}])
        assert c.agg.mnew.count_documents({}) == 10


def test_coll_stats_and_index_stats():
    with client() as c:
        coll = fresh(c, "stats", [{"_id": i, "a": i} for i in range(25)])
        coll.create_index("a")
        out = agg(coll, [{"$collStats": {"count": {}, "storageStats": {}}}])
        assert out[0]["ns"] == "agg.stats" and out[0]["count"]["count"] == 25, out
        assert out[0]["storageStats"]["count"] == 25 and out[0]["storageStats"]["nindexes"] == 2
        ix = agg(coll, [{"$indexStats": {}}, {"$sort": {"name": 1}}])
        assert [d["name"] for d in ix] == ["_id_", "a_1"], ix
        assert ix[1]["key"] == {"a": 1} and "accesses" in ix[1]
        expect_code(lambda: agg(c.agg.nostats, [{"$collStats": {"count": {}}}]), 26)


def test_documents_collectionless():
    with client() as c:
        many = list(c.agg.aggregate([{"$documents": [{"x": i} for i in range(50)]}], batchSize=7))
        assert [d["x"] for d in many] == list(range(50)), many
        out = list(c.agg.aggregate([{"$documents": [{"x": 10}, {"x": 2}, {"x": 5}]},
                                    {"$sort": {"x": 1}}]))
        assert [d["x"] for d in out] == [2, 5, 10], out


# ---------------------------------------------------------------- the other stages over stored data


def test_unwind_facet_bucket_bucketauto():
    with client() as c:
        coll = fresh(c, "art", [
            {"_id": 1, "title": "The Pillars of Society", "year": 1926, "price": 199.99,
             "tags": ["painting", "satire", "Expressionism", "caricature"]},
            {"_id": 2, "title": "Melancholy III", "year": 1902, "price": 280.00,
             "tags": ["woodcut", "Expressionism"]},
            {"_id": 3, "title": "Dancer", "year": 1925, "price": 76.04,
             "tags": ["oil", "Surrealism", "painting"]},
            {"_id": 4, "title": "The Great Wave off Kanagawa", "price": 167.30,
             "tags": ["woodblock", "ukiyo-e"]},
            {"_id": 5, "title": "The Persistence of Memory", "year": 1931, "price": 483.00,
             "tags": ["Surrealism", "painting", "oil"]},
            {"_id": 6, "title": "Composition VII", "year": 1913, "price": 385.00,
             "tags": ["oil", "painting", "abstract"]},
            {"_id": 7, "title": "The Scream", "year": 1893, "tags": ["Expressionism", "painting",
                                                                      "oil"]},
            {"_id": 8, "title": "Blue Flower", "year": 1918, "price": 118.42,
             "tags": ["abstract", "painting"]}])
        assert len(agg(coll, [{"$unwind": "$tags"}])) == 22
        f = agg(coll, [{"$facet": {
            "categorizedByTags": [{"$unwind": "$tags"}, {"$sortByCount": "$tags"}],
            "categorizedByPrice": [{"$match": {"price": {"$exists": 1}}}, {"$bucket": {
                "groupBy": "$price", "boundaries": [0, 150, 200, 300, 400],
                "default": "Other", "output": {"count": {"$sum": 1}}}}],
            "categorizedByYears(Auto)": [{"$bucketAuto": {"groupBy": "$year", "buckets": 4}}]}}])
        tags = f[0]["categorizedByTags"]
        assert tags[0] == {"_id": "painting", "count": 6}, tags
        assert f[0]["categorizedByPrice"] == [
            {"_id": 0, "count": 2}, {"_id": 150, "count": 2}, {"_id": 200, "count": 1},
            {"_id": 300, "count": 1}, {"_id": "Other", "count": 1}], f[0]["categorizedByPrice"]
        assert len(f[0]["categorizedByYears(Auto)"]) == 4


def test_set_window_fields_count_replace_root_sample_redact():
    with client() as c:
        coll = fresh(c, "cakes", [
            {"_id": 0, "type": "chocolate", "state": "CA", "qty": 134},
            {"_id": 1, "type": "strawberry", "state": "CA", "qty": 104},
            {"_id": 2, "type": "vanilla", "state": "NY", "qty": 116},
            {"_id": 3, "type": "chocolate", "state": "NY", "qty": 140},
            {"_id": 4, "type": "strawberry", "state": "NY", "qty": 120}])
        w = agg(coll, [{"$setWindowFields": {
            "partitionBy": "$state", "sortBy": {"qty": 1},
            "output": {"cum": {"$sum": "$qty", "window": {"documents": ["unbounded", "current"]}}}}},
            {"$sort": {"_id": 1}}])
        assert [d["cum"] for d in w] == [238, 104, 116, 376, 236], w
        assert agg(coll, [{"$match": {"state": "NY"}}, {"$count": "n"}]) == [{"n": 3}]
        assert agg(coll, [{"$match": {"_id": 2}}, {"$replaceRoot": {"newRoot": {"t": "$type"}}}]) \
            == [{"t": "vanilla"}]
        s = agg(coll, [{"$sample": {"size": 3}}])
        assert len(s) == 3 and len({d["_id"] for d in s}) == 3
        r = agg(coll, [{"$redact": {"$cond": [{"$eq": ["$state", "CA"]}, "$$KEEP", "$$PRUNE"]}}])
        assert sorted(d["_id"] for d in r) == [0, 1]


# ---------------------------------------------------------------- memory limit and spilling


def test_group_spills_with_allow_disk_use():
    """A micad whose per-stage limits are 256 KiB: a $group with ~2 MB of state."""
    global server
    saved = server
    try:
        small = Server(["--setParameter", "internalDocumentSourceGroupMaxMemoryBytes=262144",
                        "--setParameter", "internalQueryMaxBlockingSortMemoryUsageBytes=262144"])
        # a spill file a crashed process left behind goes when aggregation starts
        os.makedirs(os.path.join(small.dbpath, "_tmp"))
        with open(os.path.join(small.dbpath, "_tmp", "stale.spill"), "w") as f:
            f.write("x")
        with small:
            server = small
            with client() as c:
                coll = fresh(c, "spill", [{"_id": i, "k": "key-%06d" % i, "pad": "x" * 100}
                                          for i in range(20000)])
                pipeline = [{"$group": {"_id": "$k", "pad": {"$first": "$pad"},
                                        "n": {"$sum": 1}}},
                            {"$group": {"_id": None, "groups": {"$sum": 1},
                                        "n": {"$sum": "$n"}}}]
                expect_code(lambda: agg(coll, pipeline, allowDiskUse=False), 292)
                out = agg(coll, pipeline, allowDiskUse=True)
                assert out == [{"_id": None, "groups": 20000, "n": 20000}], out
                out = agg(coll, pipeline)  # allowDiskUse defaults to true (6.0+)
                assert out[0]["groups"] == 20000
                expect_code(lambda: agg(coll, [{"$sort": {"pad": 1, "k": -1}}],
                                        allowDiskUse=False), 292)
                srt = list(coll.aggregate([{"$sort": {"k": -1}}, {"$project": {"k": 1}}],
                                          allowDiskUse=True, batchSize=1000))
                assert len(srt) == 20000 and srt[0]["k"] == "key-019999"
            tmp = os.path.join(small.dbpath, "_tmp")
            assert os.path.isdir(tmp) and os.listdir(tmp) == [], os.listdir(tmp)
    finally:
        server = saved


# ---------------------------------------------------------------- pipeline-style updates


def test_update_with_pipeline():
    with client() as c:
        coll = fresh(c, "pupd", [
            {"_id": 1, "student": "Skye", "points": 75, "commentsSemester1": "great at math",
             "commentsSemester2": "loses temper"},
            {"_id": 2, "student": "Elizabeth", "points": 60,
             "commentsSemester1": "well behaved", "commentsSemester2": "needs improvement"}])
        r = coll.update_one({"_id": 1}, [
            {"$set": {"status": "Modified", "comments": ["$commentsSemester1",
                                                        "$commentsSemester2"]}},
            {"$unset": ["commentsSemester1", "commentsSemester2"]}])
        assert r.matched_count == 1 and r.modified_count == 1
        assert coll.find_one({"_id": 1}) == {"_id": 1, "student": "Skye", "points": 75,
                                             "status": "Modified",
                                             "comments": ["great at math", "loses temper"]}
        r = coll.update_many({}, [{"$set": {"total": {"$add": ["$points", 5]}}}])
        assert r.modified_count == 2
        assert coll.find_one({"_id": 2})["total"] == 65
        # replaceWith keeps _id; a no-op pipeline modifies nothing
        coll.update_one({"_id": 2}, [{"$replaceWith": {"only": "$student"}}])
        assert coll.find_one({"_id": 2}) == {"_id": 2, "only": "Elizabeth"}
        r = coll.update_one({"_id": 2}, [{"$set": {"only": "Elizabeth"}}])
        assert r.matched_count == 1 and r.modified_count == 0


def test_update_pipeline_upsert_and_constants():
    with client() as c:
        coll = fresh(c, "pups")
        r = coll.update_one({"k": 7}, [{"$set": {"v": {"$multiply": ["$k", 2]}}}], upsert=True)
        assert r.upserted_id is not None
        d = coll.find_one({"k": 7})
        assert d["v"] == 14, d
        res = c.agg.command("update", "pups", updates=[
            {"q": {"k": 7}, "u": [{"$set": {"tag": "$$t"}}], "c": {"t": "const"}}])
        assert res["nModified"] == 1 and coll.find_one({"k": 7})["tag"] == "const"


def test_update_pipeline_errors():
    with client() as c:
        coll = fresh(c, "perr", [{"_id": 1, "a": 1}])
        res = c.agg.command("update", "perr", updates=[{"q": {}, "u": [{"$match": {}}]}])
        assert res["writeErrors"][0]["code"] == 72, res
        res = c.agg.command("update", "perr", updates=[
            {"q": {}, "u": [{"$set": {"_id": 5}}]}])
        assert res["writeErrors"][0]["code"] == 66, res
        res = c.agg.command("update", "perr", updates=[
            {"q": {}, "u": [{"$set": {"a": 2}}], "arrayFilters": [{"x": 1}]}])
        assert res["writeErrors"][0]["code"] == 9, res
        assert coll.find_one() == {"_id": 1, "a": 1}


def test_find_and_modify_with_pipeline():
    with client() as c:
        coll = fresh(c, "pfam", [{"_id": 1, "n": 1}])
        after = coll.find_one_and_update({"_id": 1}, [{"$set": {"n": {"$add": ["$n", 1]}}}],
                                         return_document=pymongo.ReturnDocument.AFTER)
        assert after == {"_id": 1, "n": 2}
        up = coll.find_one_and_update({"_id": 9}, [{"$set": {"n": 0}}], upsert=True,
                                      return_document=pymongo.ReturnDocument.AFTER)
        assert up == {"_id": 9, "n": 0}, up
        expect_code(lambda: coll.find_one_and_update({"_id": 1}, [{"$group": {"_id": 1}}]), 72)


def test_update_and_delete_filters_with_expr():
    with client() as c:
        coll = fresh(c, "uexpr", [{"_id": i, "a": i, "b": 5} for i in range(10)])
        r = coll.update_many({"$expr": {"$gt": ["$a", "$b"]}}, {"$set": {"big": True}})
        assert r.modified_count == 4
        assert coll.count_documents({"big": True}) == 4
        r = coll.delete_many({"$expr": {"$lt": ["$a", 2]}})
        assert r.deleted_count == 2
        assert c.agg.command("count", "uexpr", query={"$expr": {"$eq": ["$a", 9]}})["n"] == 1
        assert sorted(coll.distinct("a", {"$expr": {"$gte": ["$a", 8]}})) == [8, 9]


def test_let_in_update_delete_find_and_modify():
    with client() as c:
        coll = fresh(c, "wlet", [{"_id": i, "a": i} for i in range(6)])
        r = c.agg.command("update", "wlet", let={"lim": 3, "tag": "t"}, updates=[
            {"q": {"$expr": {"$gte": ["$a", "$$lim"]}}, "u": [{"$set": {"tag": "$$tag"}}],
             "multi": True}])
        assert r["n"] == 3 and r["nModified"] == 3, r
        assert coll.count_documents({"tag": "t"}) == 3
        r = c.agg.command("findAndModify", "wlet", let={"x": 1},
                          query={"$expr": {"$eq": ["$a", "$$x"]}},
                          update=[{"$set": {"hit": "$$x"}}], new=True)
        assert r["value"] == {"_id": 1, "a": 1, "hit": 1}, r
        r = c.agg.command("delete", "wlet", let={"top": 4}, deletes=[
            {"q": {"$expr": {"$gt": ["$a", "$$top"]}}, "limit": 0}])
        assert r["n"] == 1 and coll.count_documents({}) == 5, r
        r = c.agg.command("delete", "wlet", deletes=[
            {"q": {"$expr": {"$gt": ["$a", "$$nope"]}}, "limit": 0}])
        assert r["writeErrors"][0]["code"] == 17276, r


def main():
    global server
    with Server() as s:
        server = s
        failed = run_tests(collect_tests(globals()), s)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
