"""test_collmod_stats.py -- pymongo against micad: collMod (validator, levels,
actions, capped sizes, index hidden / expireAfterSeconds with MongoDB's
before/after reply fields, errors), collStats, dbStats, dataSize and validate
(reply shapes, scale, missing namespaces), and that collMod's changes survive
a restart."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import bson  # noqa: E402
import pymongo  # noqa: E402
from pymongo.errors import OperationFailure, WriteError  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

server = None
client = None


def fresh(name, **opts):
    db = client.test
    db.drop_collection(name)
    db.create_collection(name, **opts)
    return db[name]


def expect_code(fn, code):
    try:
        fn()
    except (OperationFailure, WriteError) as e:
        assert e.code == code, (e.code, e.details)
        return e.details
    raise AssertionError("expected error code %d" % code)


def coll_options(name):
    for c in client.test.list_collections(filter={"name": name}):
        return c["options"]
    raise AssertionError("no collection %s" % name)


def index_spec(coll, name):
    for i in client.test[coll].list_indexes():
        if i["name"] == name:
            return i
    raise AssertionError("no index %s" % name)


# ---- collMod: collection options ----

def test_collmod_sets_validator_and_enforces_it():
    c = fresh("cm1")
    c.insert_one({"a": "old, not a number"})
    r = client.test.command("collMod", "cm1", validator={"a": {"$type": "number"}})
    assert r == {"ok": 1.0}, r
    assert coll_options("cm1")["validator"] == {"a": {"$type": "number"}}
    expect_code(lambda: c.insert_one({"a": "x"}), 121)
    c.insert_one({"a": 5})


def test_collmod_validation_level_and_action():
    c = fresh("cm2", validator={"a": {"$exists": True}})
    client.test.command("collMod", "cm2", validationAction="warn")
    c.insert_one({"b": 1})  # warn: logged, not refused
    client.test.command("collMod", "cm2", validationAction="error", validationLevel="off")
    c.insert_one({"b": 2})
    client.test.command("collMod", "cm2", validationLevel="strict")
    expect_code(lambda: c.insert_one({"b": 3}), 121)
    o = coll_options("cm2")
    assert o["validationLevel"] == "strict" and o["validationAction"] == "error", o


def test_collmod_bad_enum_is_bad_value():
    fresh("cm3")
    expect_code(lambda: client.test.command("collMod", "cm3", validationLevel="sometimes"), 2)
    expect_code(lambda: client.test.command("collMod", "cm3", validationAction="shout"), 2)


def test_collmod_bad_validator_is_refused_and_changes_nothing():
    fresh("cm4", validator={"a": 1})
    expect_code(lambda: client.test.command("collMod", "cm4", validator={"$bogus": 1}), 2)
    assert coll_options("cm4")["validator"] == {"a": 1}


def test_collmod_unknown_option_is_invalid_options():
    fresh("cm5")
    expect_code(lambda: client.test.command("collMod", "cm5", noSuchOption=1), 72)


def test_collmod_missing_collection_is_namespace_not_found():
    client.test.drop_collection("cm_missing")
    expect_code(lambda: client.test.command("collMod", "cm_missing", validator={}), 26)


def test_collmod_view_options_need_a_view():
    fresh("cm6")
    expect_code(lambda: client.test.command("collMod", "cm6", viewOn="x", pipeline=[]), 72)


def test_collmod_capped_size_only_for_capped():
    fresh("cm7")
    expect_code(lambda: client.test.command("collMod", "cm7", cappedSize=4096), 72)
    fresh("cm8", capped=True, size=100000, max=100)
    client.test.command("collMod", "cm8", cappedMax=3)
    for i in range(6):
        client.test.cm8.insert_one({"i": i})
    assert [d["i"] for d in client.test.cm8.find()] == [3, 4, 5]


# ---- collMod: index options ----

def test_collmod_index_expire_after_seconds_reply():
    c = fresh("ci1")
    c.create_index("t", expireAfterSeconds=100)
    r = client.test.command("collMod", "ci1",
                            index={"keyPattern": {"t": 1}, "expireAfterSeconds": 50})
    assert r["expireAfterSeconds_old"] == 100 and r["expireAfterSeconds_new"] == 50, r
    assert index_spec("ci1", "t_1")["expireAfterSeconds"] == 50


def test_collmod_index_hidden_by_name_reports_only_changes():
    c = fresh("ci2")
    c.create_index("a")
    r = client.test.command("collMod", "ci2", index={"name": "a_1", "hidden": True})
    assert r["hidden_old"] is False and r["hidden_new"] is True, r
    assert index_spec("ci2", "a_1")["hidden"] is True
    r = client.test.command("collMod", "ci2", index={"name": "a_1", "hidden": True})
    assert "hidden_old" not in r and "hidden_new" not in r, r
    r = client.test.command("collMod", "ci2", index={"name": "a_1", "hidden": False})
    assert r["hidden_old"] is True and r["hidden_new"] is False, r
    assert "hidden" not in index_spec("ci2", "a_1")


def test_collmod_hidden_index_is_not_used_by_the_planner():
    c = fresh("ci3")
    c.create_index("a")
    c.insert_many([{"a": i} for i in range(10)])
    client.test.command("collMod", "ci3", index={"name": "a_1", "hidden": True})
    plan = c.find({"a": 3}).explain()["queryPlanner"]["winningPlan"]
    assert "IXSCAN" not in str(plan), plan
    client.test.command("collMod", "ci3", index={"name": "a_1", "hidden": False})
    plan = c.find({"a": 3}).explain()["queryPlanner"]["winningPlan"]
    assert "IXSCAN" in str(plan), plan


def test_collmod_index_errors():
    c = fresh("ci4")
    c.create_index("a")
    c.create_index([("x", 1), ("y", 1)])
    expect_code(lambda: client.test.command("collMod", "ci4", index={"name": "zz", "hidden": True}),
                27)
    expect_code(lambda: client.test.command("collMod", "ci4",
                                            index={"keyPattern": {"q": 1}, "hidden": True}), 27)
    expect_code(lambda: client.test.command("collMod", "ci4",
                                            index={"name": "a_1", "keyPattern": {"a": 1},
                                                   "hidden": True}), 72)
    expect_code(lambda: client.test.command("collMod", "ci4", index={"name": "a_1"}), 72)
    expect_code(lambda: client.test.command("collMod", "ci4",
                                            index={"name": "a_1", "expireAfterSeconds": -1}), 72)
    expect_code(lambda: client.test.command("collMod", "ci4",
                                            index={"name": "x_1_y_1", "expireAfterSeconds": 5}),
                72)
    expect_code(lambda: client.test.command("collMod", "ci4",
                                            index={"name": "_id_", "hidden": True}), 2)
    expect_code(lambda: client.test.command("collMod", "ci4",
                                            index={"name": "a_1", "unique": True}), 238)


# ---- collStats ----

def test_coll_stats_shape_and_counts():
    c = fresh("cs1")
    c.create_index("a")
    c.insert_many([{"a": i, "pad": "x" * 100} for i in range(50)])
    r = client.test.command("collStats", "cs1")
    for f in ("ns", "size", "count", "avgObjSize", "storageSize", "totalIndexSize", "totalSize",
              "indexSizes", "nindexes", "capped", "scaleFactor"):
        assert f in r, (f, r)
    assert r["ns"] == "test.cs1" and r["count"] == 50 and r["nindexes"] == 2, r
    assert r["size"] == sum(len(bson.BSON.encode(d)) for d in c.find()), r
    assert r["avgObjSize"] == r["size"] // 50
    assert set(r["indexSizes"]) == {"_id_", "a_1"}, r
    assert r["totalIndexSize"] == sum(r["indexSizes"].values())
    assert r["totalSize"] == r["storageSize"] + r["totalIndexSize"]
    assert r["capped"] is False and r["scaleFactor"] == 1


def test_coll_stats_scale_divides_sizes():
    c = fresh("cs2")
    c.insert_many([{"pad": "y" * 1000} for _ in range(20)])
    one = client.test.command("collStats", "cs2")
    kb = client.test.command("collStats", "cs2", scale=1024)
    assert kb["scaleFactor"] == 1024 and kb["size"] == one["size"] // 1024, (one, kb)
    assert kb["avgObjSize"] == one["avgObjSize"]  # not scaled, as MongoDB
    expect_code(lambda: client.test.command("collStats", "cs2", scale=0), 51024)


def test_coll_stats_capped_reports_limits():
    fresh("cs3", capped=True, size=8192, max=10)
    r = client.test.command("collStats", "cs3")
    assert r["capped"] is True and r["max"] == 10 and r["maxSize"] == 8192, r


def test_coll_stats_missing_collection_is_zeros():
    client.test.drop_collection("cs_missing")
    r = client.test.command("collStats", "cs_missing")
    assert r["ns"] == "test.cs_missing" and r["count"] == 0 and r["size"] == 0, r
    assert r["indexSizes"] == {}, r


# ---- dbStats ----

def test_db_stats_totals():
    db = client.statsdb
    client.drop_database("statsdb")
    db.a.insert_many([{"x": i} for i in range(10)])
    db.b.insert_many([{"x": i} for i in range(5)])
    db.b.create_index("x")
    r = db.command("dbStats")
    for f in ("db", "collections", "views", "objects", "avgObjSize", "dataSize", "storageSize",
              "indexes", "indexSize", "totalSize", "scaleFactor", "fsUsedSize", "fsTotalSize"):
        assert f in r, (f, r)
    assert r["db"] == "statsdb" and r["collections"] == 2 and r["views"] == 0, r
    assert r["objects"] == 15 and r["indexes"] == 3, r
    sa = db.command("collStats", "a")
    sb = db.command("collStats", "b")
    assert r["dataSize"] == sa["size"] + sb["size"], r
    assert r["fsTotalSize"] >= r["fsUsedSize"] > 0, r


def test_db_stats_missing_database_is_zeros():
    r = client.nosuchdb_stats.command("dbStats")
    assert r["collections"] == 0 and r["objects"] == 0 and r["dataSize"] == 0, r


# ---- dataSize ----

def test_data_size_whole_collection():
    c = fresh("ds1")
    c.insert_many([{"a": i} for i in range(30)])
    r = client.test.command("dataSize", "test.ds1")
    assert r["numObjects"] == 30, r
    assert r["size"] == client.test.command("collStats", "ds1")["size"], r


def test_data_size_range_over_an_index():
    c = fresh("ds2")
    c.create_index("a")
    c.insert_many([{"a": i} for i in range(30)])
    r = client.test.command("dataSize", "test.ds2", keyPattern={"a": 1}, min={"a": 10},
                            max={"a": 20})
    assert r["numObjects"] == 10, r
    each = len(bson.BSON.encode(c.find_one({"a": 10})))
    assert r["size"] == 10 * each, (r, each)
    est = client.test.command("dataSize", "test.ds2", keyPattern={"a": 1}, min={"a": 10},
                              max={"a": 20}, estimate=True)
    assert est["numObjects"] == 10, est


def test_data_size_without_index_fails():
    c = fresh("ds3")
    c.insert_one({"b": 1})
    expect_code(lambda: client.test.command("dataSize", "test.ds3", keyPattern={"b": 1},
                                            min={"b": 0}, max={"b": 5}), 96)


def test_data_size_missing_collection_is_zero():
    r = client.test.command("dataSize", "test.ds_missing")
    assert r["size"] == 0 and r["numObjects"] == 0, r


# ---- validate ----

def test_validate_shape_on_healthy_collection():
    c = fresh("v1")
    c.create_index("a")
    c.create_index("tags")
    c.insert_many([{"a": i, "tags": [i, i + 1]} for i in range(40)])
    c.delete_many({"a": {"$lt": 5}})
    c.update_many({"a": {"$gt": 30}}, {"$set": {"tags": ["z"]}})
    for full in (False, True):
        r = client.test.command("validate", "v1", full=full)
        assert r["valid"] is True and r["repaired"] is False, r
        assert r["ns"] == "test.v1" and r["nrecords"] == 35 and r["nIndexes"] == 3, r
        assert r["nInvalidDocuments"] == 0 and r["errors"] == [] and r["warnings"] == [], r
        assert r["keysPerIndex"]["_id_"] == 35 and r["keysPerIndex"]["a_1"] == 35, r
        assert r["keysPerIndex"]["tags_1"] == 26 * 2 + 9, r
        assert r["indexDetails"]["a_1"]["valid"] is True, r


def test_validate_missing_collection():
    client.test.drop_collection("v_missing")
    expect_code(lambda: client.test.command("validate", "v_missing"), 26)


def test_validate_repair_is_not_implemented():
    fresh("v2")
    expect_code(lambda: client.test.command("validate", "v2", repair=True), 238)


# ---- persistence ----

def test_collmod_changes_survive_restart():
    global client
    c = fresh("p1", validator={"a": {"$exists": True}})
    c.create_index("t", expireAfterSeconds=3600)
    c.create_index("h")
    client.test.command("collMod", "p1", validationAction="warn",
                        index={"name": "t_1", "expireAfterSeconds": 7})
    client.test.command("collMod", "p1", index={"name": "h_1", "hidden": True})
    client.close()
    server.proc.terminate()  # a clean shutdown that keeps the dbpath (stop() removes it)
    assert server.proc.wait(timeout=30) == 0
    server.start()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=5000)
    o = coll_options("p1")
    assert o["validationAction"] == "warn" and o["validator"] == {"a": {"$exists": True}}, o
    assert index_spec("p1", "t_1")["expireAfterSeconds"] == 7
    assert index_spec("p1", "h_1")["hidden"] is True
    assert client.test.command("validate", "p1")["valid"] is True


def main():
    global server, client
    with Server() as s:
        server = s
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        tests = collect_tests(globals())
        # the restart test last: it replaces the client
        tests.sort(key=lambda t: t.__name__ == "test_collmod_changes_survive_restart")
        failed = run_tests(tests, s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
