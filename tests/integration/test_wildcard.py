"""test_wildcard.py -- pymongo against micad: wildcard indexes.

{"$**": 1}, {"path.$**": 1} and wildcardProjection: the keys as MongoDB makes
them (checked through validate and through the queries that find them), the
planner's use of the index for single-field predicates (explain shows an
IXSCAN over {$_path: 1, <path>: 1} with MongoDB's bounds), the predicates it
cannot answer (COLLSCAN; a hint answers NoQueryExecutionPlans 291), sort,
multikey paths, listIndexes/$indexStats, and the spec errors with MongoDB's
codes (sparse/unique/TTL 67, wildcardProjection 2/9/14, projection 31253/
31254, compound 67)."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

client = None
db = None


def expect_code(fn, code):
    try:
        fn()
    except OperationFailure as e:
        assert e.code == code, (e.code, e.details)
        return e.details
    raise AssertionError("expected error code %d" % code)


def stages(plan, out=None):
    """Every stage document of a plan tree, root first."""
    out = [] if out is None else out
    out.append(plan)
    for k in ("inputStage",):
        if k in plan:
            stages(plan[k], out)
    for k in ("inputStages",):
        for p in plan.get(k, []):
            stages(p, out)
    return out


def winning_ixscan(explain):
    plan = explain["queryPlanner"]["winningPlan"]
    ix = [s for s in stages(plan) if s["stage"] == "IXSCAN"]
    return ix[0] if ix else None


def explain_find(coll, flt, **kw):
    return coll.find(flt, **kw).explain()


def test_all_fields_index_and_explain():
    c = db.wc_all
    c.drop()
    c.insert_many([
        {"_id": 1, "a": 1, "b": {"c": "x", "d": [1, 2]}, "e": {}},
        {"_id": 2, "a": 2, "b": {"c": "y", "d": []}},
        {"_id": 3, "a": "s", "b": [{"c": "x"}, {"c": "z"}, [5]]},
        {"_id": 4, "x": None},
    ])
    assert c.create_index([("$**", 1)]) == "$**_1"
    specs = {i["name"]: i for i in c.list_indexes()}
    assert specs["$**_1"]["key"] == {"$**": 1}, specs
    # equality on a top-level field
    ex = explain_find(c, {"a": 1})
    ix = winning_ixscan(ex)
    assert ix is not None, ex
    assert ix["keyPattern"] == {"$_path": 1, "a": 1}, ix
    assert ix["indexName"] == "$**_1"
    assert ix["indexBounds"] == {"$_path": ['["a", "a"]'], "a": ["[1, 1]"]}, ix
    assert ix["isMultiKey"] is False and ix["multiKeyPaths"] == {"$_path": [], "a": []}, ix
    assert ex["queryPlanner"]["winningPlan"]["stage"] == "FETCH"
    assert [d["_id"] for d in c.find({"a": 1})] == [1]
    # a nested path whose parent is an array: multikey
    ix = winning_ixscan(explain_find(c, {"b.c": "x"}))
    assert ix["keyPattern"] == {"$_path": 1, "b.c": 1}, ix
    assert ix["isMultiKey"] is True and ix["multiKeyPaths"]["b.c"] == ["b"], ix
    assert sorted(d["_id"] for d in c.find({"b.c": "x"})) == [1, 3]
    # ranges and $in
    ix = winning_ixscan(explain_find(c, {"a": {"$gt": 1}}))
    assert ix["indexBounds"]["a"] == ["(1, inf.0]"], ix
    assert [d["_id"] for d in c.find({"a": {"$gt": 1}})] == [2]
    assert sorted(d["_id"] for d in c.find({"a": {"$in": [1, "s"]}})) == [1, 3]
    # $exists: true reaches the paths below: ["b", "b"] and ["b.", "b/")
    ix = winning_ixscan(explain_find(c, {"b": {"$exists": True}}))
    assert ix["indexBounds"] == {"$_path": ['["b", "b"]', '["b.", "b/")'],
                                 "b": ["[MinKey, MaxKey]"]}, ix
    assert sorted(d["_id"] for d in c.find({"b": {"$exists": True}})) == [1, 2, 3]
    # the empty document is a value the index holds
    assert [d["_id"] for d in c.find({"e": {}})] == [1]
    assert winning_ixscan(explain_find(c, {"e": {}})) is not None
    # a nested array is a value; an array element is under its array's path
    assert [d["_id"] for d in c.find({"b": [5]})] == [3]
    assert sorted(d["_id"] for d in c.find({"b.d": 2})) == [1]
    # _id is not in a $** index
    assert winning_ixscan(explain_find(c, {"_id": 1}))["indexName"] == "_id_"
    expect_code(lambda: list(c.find({"_id": 1}, hint=[("$**", 1)])), 291)
    v = db.command("validate", "wc_all")
    assert v["valid"] is True, v


def test_predicates_it_cannot_answer():
    c = db.wc_all
    for flt in [{"a": None}, {"a": {"$exists": False}}, {"b": {"c": "x"}}, {"b.d": [1, 2]},
                {"a": {"$ne": 1}}, {"a": {"$nin": [1]}}, {"a": {"$in": [1, None]}},
                {"b": {"$elemMatch": {"c": "x"}}}]:
        ex = explain_find(c, flt)
        assert winning_ixscan(ex) is None, (flt, ex["queryPlanner"]["winningPlan"])
        # issue 20 item 22: hinting it answers NoQueryExecutionPlans
        expect_code(lambda: list(c.find(flt, hint=[("$**", 1)])), 291)
        expect_code(lambda: list(c.find(flt, hint="$**_1")), 291)
    expect_code(lambda: list(c.find({}, hint=[("$**", 1)])), 291)
    # min/max cannot use a wildcard index (MongoDB's wildcard_index_minmax.js)
    for extra in [{"min": {"a": 0.5}}, {"max": {"$**": 1}}, {"min": {"$**": 0}, "max": {"$**": 5}}]:
        cmd = {"find": "wc_all", "hint": {"$**": 1}}
        cmd.update(extra)
        expect_code(lambda: db.command(cmd), 51174)
    # answers stay right without the index
    assert [d["_id"] for d in c.find({"a": None})] == [4]
    assert sorted(d["_id"] for d in c.find({"a": {"$exists": False}})) == [4]
    # a hint of a path it can answer works
    assert [d["_id"] for d in c.find({"a": 2}, hint=[("$**", 1)])] == [2]


def test_subtree_index_and_projection():
    c = db.wc_sub
    c.drop()
    c.insert_many([
        {"_id": 1, "attrs": {"color": "red", "size": 3}, "other": 1},
        {"_id": 2, "attrs": {"color": "blue", "dims": {"h": 2}}, "other": 2},
        {"_id": 3, "attrs": "plain", "other": 3},
    ])
    c.create_index([("attrs.$**", 1)])
    assert winning_ixscan(explain_find(c, {"other": 1})) is None
    ix = winning_ixscan(explain_find(c, {"attrs.dims.h": 2}))
    assert ix["indexName"] == "attrs.$**_1" and ix["keyPattern"] == {"$_path": 1,
                                                                     "attrs.dims.h": 1}, ix
    assert [d["_id"] for d in c.find({"attrs.dims.h": 2})] == [2]
    assert [d["_id"] for d in c.find({"attrs": "plain"})] == [3]
    # wildcardProjection: inclusion
    d = db.wc_proj
    d.drop()
    d.insert_many([{"_id": i, "a": {"x": i, "y": i}, "b": i, "c": {"z": i}} for i in range(20)])
    d.create_index([("$**", 1)], wildcardProjection={"a.x": 1, "b": 1}, name="wp")
    spec = [i for i in d.list_indexes() if i["name"] == "wp"][0]
    assert spec["wildcardProjection"] == {"a.x": 1, "b": 1}, spec
    assert winning_ixscan(explain_find(d, {"a.x": 3}))["indexName"] == "wp"
    assert winning_ixscan(explain_find(d, {"b": 3}))["indexName"] == "wp"
    for flt in [{"a.y": 3}, {"c.z": 3}, {"a": {"$exists": True}}]:
        assert winning_ixscan(explain_find(d, flt)) is None, flt
    assert [x["_id"] for x in d.find({"a.x": {"$gte": 18}})] == [18, 19]
    # exclusion, with _id included explicitly
    d.create_index([("$**", 1)], wildcardProjection={"a": 0, "_id": 1}, name="wx")
    assert winning_ixscan(explain_find(d, {"c.z": 4}, hint="wx"))["indexName"] == "wx"
    assert [x["_id"] for x in d.find({"_id": 5}, hint="wx")] == [5]
    expect_code(lambda: list(d.find({"a.x": 4}, hint="wx")), 291)
    assert db.command("validate", "wc_proj")["valid"] is True


def test_writes_keep_the_index_right():
    c = db.wc_w
    c.drop()
    c.create_index([("$**", 1)])
    c.insert_many([{"_id": i, "k": i % 5, "t": {"n": [i, i + 100]}} for i in range(200)])
    c.update_many({"k": 1}, {"$set": {"k": 11, "t.n": "moved"}})
    c.delete_many({"k": 2})
    assert c.count_documents({"k": 11}) == 40
    assert c.count_documents({"k": 2}) == 0
    assert c.count_documents({"t.n": "moved"}) == 40
    assert c.count_documents({"t.n": {"$gte": 150}}) == sum(
        1 for i in range(200) if i % 5 not in (1, 2) and (i >= 150 or i + 100 >= 150))
    ix = winning_ixscan(explain_find(c, {"t.n": {"$gte": 150}}))
    assert ix["isMultiKey"] is True, ix
    ex = db.command("explain", {"find": "wc_w", "filter": {"k": 3}}, verbosity="executionStats")
    assert ex["executionStats"]["totalKeysExamined"] == 40, ex["executionStats"]
    assert ex["executionStats"]["totalDocsExamined"] == 40
    assert db.command("validate", "wc_w")["valid"] is True


def test_sort_uses_index_only_with_predicate_on_field():
    c = db.wc_sort
    c.drop()
    c.insert_many([{"_id": i, "v": (i * 7) % 30, "w": i} for i in range(30)])
    c.create_index([("$**", 1)])
    ex = c.find({"v": {"$gte": 10}}).sort("v", -1).explain()
    plan = ex["queryPlanner"]["winningPlan"]
    assert all(s["stage"] != "SORT" for s in stages(plan)), plan
    assert winning_ixscan(ex)["direction"] == "backward"
    got = [d["v"] for d in c.find({"v": {"$gte": 10}}).sort("v", -1)]
    assert got == sorted(got, reverse=True) and len(got) == 20
    # a sort on another field needs a SORT stage
    ex = c.find({"v": {"$gte": 10}}).sort("w", 1).explain()
    assert any(s["stage"] == "SORT" for s in stages(ex["queryPlanner"]["winningPlan"]))
    # no predicate: the index is not used for the sort alone
    ex = c.find({}).sort("v", 1).explain()
    assert winning_ixscan(ex) is None


def test_index_stats_and_drop():
    c = db.wc_all
    list(c.find({"a": 1}))
    stats = {s["name"]: s for s in c.aggregate([{"$indexStats": {}}])}
    assert stats["$**_1"]["key"] == {"$**": 1}, stats
    assert stats["$**_1"]["accesses"]["ops"] >= 1, stats
    c.drop_index("$**_1")
    assert winning_ixscan(explain_find(c, {"a": 1})) is None


def test_spec_errors():
    c = db.wc_err
    c.drop()
    c.insert_one({"a": 1})
    expect_code(lambda: c.create_index([("$**", 1)], sparse=True), 67)
    expect_code(lambda: c.create_index([("$**", 1)], unique=True), 67)
    expect_code(lambda: c.create_index([("$**", 1)], expireAfterSeconds=10), 67)
    expect_code(lambda: c.create_index([("a", 1)], wildcardProjection={"a": 1}), 2)
    expect_code(lambda: c.create_index([("a.$**", 1)], wildcardProjection={"a": 1}), 9)
    expect_code(lambda: c.create_index([("$**", 1)], wildcardProjection={}), 9)
    expect_code(lambda: c.create_index([("$**", 1)], wildcardProjection=5), 14)
    expect_code(lambda: c.create_index([("$**", 1)], wildcardProjection={"a": 1, "b": 0}), 31254)
    expect_code(lambda: c.create_index([("$**", 1)], wildcardProjection={"a": 0, "b": 1}), 31253)
    expect_code(lambda: c.create_index([("$**", 1)], wildcardProjection={"a": 1, "a.b": 1}),
                31249)
    expect_code(lambda: c.create_index([("$**", 0)]), 67)
    expect_code(lambda: c.create_index([("a.$**.b", 1)]), 67)
    expect_code(lambda: c.create_index([("$**", 1), ("b", 1)]), 67)
    expect_code(lambda: c.create_index([("b", 1), ("a.$**", 1)]), 67)
    assert [i["name"] for i in c.list_indexes()] == ["_id_"]
    # descending is allowed, and the same key with another projection is another index
    c.create_index([("$**", -1)])
    c.create_index([("$**", 1)], wildcardProjection={"a": 1}, name="p1")
    c.create_index([("$**", 1)], wildcardProjection={"b": 1}, name="p2")
    expect_code(lambda: c.create_index([("$**", 1)], wildcardProjection={"c": 1}, name="p1"), 85)
    assert [d["a"] for d in c.find({"a": 1}, hint="$**_-1")] == [1]


collect = collect_tests(globals())


def main():
    global client, db
    with Server() as s:
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        db = client.test
        failed = run_tests(collect, s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
