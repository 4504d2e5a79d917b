"""test_views.py -- pymongo against micad: read-only views.

create with viewOn + pipeline (system.views, listCollections type "view"),
views on views, reads through find/aggregate/count/distinct (cursor ns is the
view's, getMore works), explain, $lookup/$unionWith from a view, collMod and
drop of a view, CommandNotSupportedOnView (166) for writes and index commands,
cycles (GraphContainsCycle 5), invalid pipelines, find options aggregation
cannot honour (168)."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure, WriteError  # noqa: E402

from harness import Server, run_tests  # noqa: E402

client = None
db = None


def expect_code(fn, code):
    try:
        fn()
    except (OperationFailure, WriteError) as e:
        assert e.code == code, (e.code, e.details)
        return e.details
    raise AssertionError("expected error code %d" % code)


def setup_data():
    db.drop_collection("orders")
    db.drop_collection("system.views")
    db.orders.insert_many([
        {"_id": i, "item": "abc" if i % 2 else "xyz", "qty": i, "tags": ["t%d" % (i % 3), "all"]}
        for i in range(1, 301)])


def test_create_and_list():
    setup_data()
    db.command("create", "big", viewOn="orders", pipeline=[{"$match": {"qty": {"$gt": 100}}}])
    infos = {c["name"]: c for c in db.list_collections()}
    assert infos["big"]["type"] == "view", infos["big"]
    assert infos["big"]["options"] == {"viewOn": "orders",
                                       "pipeline": [{"$match": {"qty": {"$gt": 100}}}]}
    assert infos["big"]["info"] == {"readOnly": True}
    assert infos["system.views"]["type"] == "collection"
    names = db.list_collection_names(filter={"type": "view"})
    assert names == ["big"], names
    stored = db["system.views"].find_one({"_id": "test.big"})
    assert stored["viewOn"] == "orders", stored
    # the same definition again is fine; another is NamespaceExists
    expect_code(lambda: db.command("create", "big", viewOn="orders", pipeline=[]), 48)
    expect_code(lambda: db.command("create", "orders", viewOn="big"), 48)
    expect_code(lambda: db.command("create", "big"), 48)


def test_find_getmore_count_distinct():
    v = db.big
    docs = list(v.find({"item": "abc"}, {"qty": 1}).sort("qty", -1).batch_size(50))
    assert len(docs) == 100 and docs[0] == {"_id": 299, "qty": 299}, docs[:2]
    assert v.count_documents({}) == 200
    assert db.command("count", "big", query={"item": "xyz"})["n"] == 100
    assert db.command("count", "big", skip=190)["n"] == 10
    r = db.command("find", "big", filter={}, batchSize=2)
    assert r["cursor"]["ns"] == "test.big" and r["cursor"]["id"] != 0, r
    more = db.command("getMore", r["cursor"]["id"], collection="big", batchSize=3)
    assert len(more["cursor"]["nextBatch"]) == 3 and more["cursor"]["ns"] == "test.big", more
    assert sorted(v.distinct("item")) == ["abc", "xyz"]
    assert sorted(v.distinct("tags", {"qty": {"$lt": 104}})) == ["all", "t0", "t1", "t2"]
    assert v.find_one({"_id": 150})["qty"] == 150


def test_views_on_views_and_aggregate():
    db.command("create", "bigabc", viewOn="big", pipeline=[{"$match": {"item": "abc"}},
                                                          {"$project": {"tags": 0}}])
    got = list(db.bigabc.aggregate([{"$group": {"_id": None, "n": {"$sum": 1},
                                                "max": {"$max": "$qty"}}}]))
    assert got == [{"_id": None, "n": 100, "max": 299}], got
    one = db.bigabc.find_one({}, sort=[("qty", 1)])
    assert one == {"_id": 101, "item": "abc", "qty": 101}, one


def test_lookup_and_union_with_views():
    db.drop_collection("items")
    db.items.insert_many([{"_id": "abc", "price": 10}, {"_id": "xyz", "price": 20}])
    db.command("create", "cheap", viewOn="items", pipeline=[{"$match": {"price": {"$lt": 15}}}])
    got = list(db.orders.aggregate([{"$match": {"_id": {"$in": [1, 2]}}},
                                    {"$lookup": {"from": "cheap", "localField": "item",
                                                 "foreignField": "_id", "as": "p"}},
                                    {"$sort": {"_id": 1}}]))
    assert [len(d["p"]) for d in got] == [1, 0], got
    got = list(db.items.aggregate([{"$unionWith": "cheap"}]))
    assert len(got) == 3, got


def test_explain_on_view():
    db.orders.create_index("qty")
    r = db.command("explain", {"find": "big", "filter": {"qty": 200}})
    plan = r["queryPlanner"]["winningPlan"]
    assert plan["inputStage"]["stage"] == "IXSCAN", plan  # the view's and reader's $match
    assert plan["inputStage"]["indexBounds"] == {"qty": ["[200, 200]"]}, plan
    assert r["queryPlanner"]["namespace"] == "test.orders", r
    db.orders.drop_index("qty_1")
    r = db.command("explain", {"count": "big", "query": {}}, verbosity="executionStats")
    assert r["ok"] == 1.0


def test_writes_and_indexes_refused():
    v = db.big
    for fn in [lambda: v.insert_one({"x": 1}),
               lambda: v.update_one({}, {"$set": {"x": 1}}),
               lambda: v.delete_many({}),
               lambda: v.find_one_and_delete({}),
               lambda: v.create_index("x"),
               lambda: v.drop_index("x_1"),
               lambda: list(v.list_indexes()),
               lambda: db.command("validate", "big"),
               lambda: db.command("collStats", "big"),
               lambda: client.admin.command("renameCollection", "test.big", to="test.big2")]:
        e = expect_code(fn, 166)
        assert e["errmsg"] == "Namespace test.big is a view, not a collection", e
    e = expect_code(lambda: list(db.orders.aggregate([{"$out": "big"}])), 166)


def test_cycles_depth_and_bad_pipelines():
    db.command("create", "c1", viewOn="c2", pipeline=[])
    db.command("create", "c2", viewOn="c3", pipeline=[])
    e = expect_code(lambda: db.command("create", "c3", viewOn="c1", pipeline=[]), 5)
    assert "View cycle detected" in e["errmsg"], e
    e = expect_code(lambda: db.command("collMod", "c2", viewOn="c1", pipeline=[]), 5)
    expect_code(lambda: db.command("create", "bad", viewOn="orders",
                                   pipeline=[{"$nope": 1}]), 40324)
    expect_code(lambda: db.command("create", "bad", viewOn="orders",
                                   pipeline=[{"$out": "x"}]), 167)
    expect_code(lambda: db.command("create", "bad", viewOn="orders", pipeline={}), 14)
    expect_code(lambda: db.command("create", "bad", pipeline=[]), 2)
    expect_code(lambda: db.command("create", "bad", viewOn="orders", capped=True), 72)
    expect_code(lambda: db.command("create", "bad", viewOn=""), 2)


def test_find_options_not_in_aggregation():
    for opts in [{"min": {"_id": 1}}, {"returnKey": True}, {"showRecordId": True},
                 {"tailable": True}, {"noCursorTimeout": True}]:
        expect_code(lambda: db.command("find", "big", **opts), 168)
    r = db.command("find", "big", limit=1, singleBatch=True)
    assert r["cursor"]["id"] == 0 and len(r["cursor"]["firstBatch"]) == 1, r
    expect_code(lambda: db.command("find", "big", limit=2, singleBatch=True), 168)


def test_coll_mod_and_drop_view():
    db.command("collMod", "big", viewOn="orders", pipeline=[{"$match": {"qty": {"$gt": 290}}}])
    assert db.big.count_documents({}) == 10
    info = db.command("listCollections", filter={"name": "big"})["cursor"]["firstBatch"][0]
    assert info["options"]["pipeline"] == [{"$match": {"qty": {"$gt": 290}}}], info
    expect_code(lambda: db.command("collMod", "big", validator={"a": 1}), 72)
    expect_code(lambda: db.command("collMod", "orders", viewOn="x", pipeline=[]), 72)
    r = db.command("drop", "bigabc")
    assert r["ns"] == "test.bigabc", r
    assert "bigabc" not in db.list_collection_names()
    assert list(db.bigabc.find()) == []  # an absent namespace reads as empty again


def test_view_survives_restart():
    global client, db
    client.close()
    server.proc.terminate()
    assert server.proc.wait(timeout=60) == 0
    server.proc.stdout.close()
    server.start()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=5000)
    db = client.test
    assert db.big.count_documents({}) == 10


server = None


def main():
    global client, db, server
    with Server() as s:
        server = s
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        db = client.test
        tests = [test_create_and_list, test_find_getmore_count_distinct,
                 test_views_on_views_and_aggregate, test_lookup_and_union_with_views,
                 test_explain_on_view, test_writes_and_indexes_refused,
                 test_cycles_depth_and_bad_pipelines, test_find_options_not_in_aggregation,
                 test_coll_mod_and_drop_view, test_view_survives_restart]
        failed = run_tests(tests, s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
