"""test_crud_write.py -- pymongo against micad: the write commands (insert,
update, delete, findAndModify), write concern, and the collection and index
commands, with MongoDB's reply shapes and error codes. Reads go through the
write commands' own replies (find belongs to the read-side suite)."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo import ReturnDocument  # noqa: E402
from pymongo.errors import BulkWriteError, OperationFailure, WriteError  # noqa: E402

from harness import Server, raw_command, collect_tests, run_tests  # noqa: E402

server = None
client = None


def fresh(name):
    db = client.test
    db.drop_collection(name)
    return db[name]


def expect_code(fn, code):
    try:
        fn()
    except (OperationFailure, WriteError) as e:
        assert e.code == code, (e.code, e.details)
        return e.details
    raise AssertionError("expected error code %d" % code)


# ---- insert ----

def test_insert_generates_objectid_first():
    c = fresh("ins1")
    r = client.test.command("insert", "ins1", documents=[{"a": 1}])
    assert r == {"n": 1, "ok": 1.0}, r
    r = client.test.command("findAndModify", "ins1", query={"a": 1}, update={"$set": {"b": 2}})
    doc = r["value"]
    assert list(doc.keys())[0] == "_id" and isinstance(doc["_id"], pymongo.collection.ObjectId)


def test_insert_moves_id_first():
    fresh("ins2")
    client.test.command("insert", "ins2", documents=[{"a": 1, "_id": 7}])
    r = client.test.command("findAndModify", "ins2", query={"_id": 7}, remove=True)
    assert list(r["value"].keys()) == ["_id", "a"], r


def test_insert_duplicate_key_shape():
    fresh("ins3")
    r = client.test.command("insert", "ins3", documents=[{"_id": 1}, {"_id": 1}, {"_id": 2}])
    assert r["n"] == 1
    we = r["writeErrors"]
    assert len(we) == 1 and we[0]["index"] == 1 and we[0]["code"] == 11000
    assert we[0]["errmsg"] == "E11000 duplicate key error collection: test.ins3 index: _id_ dup key: { _id: 1 }"
    assert we[0]["keyPattern"] == {"_id": 1} and we[0]["keyValue"] == {"_id": 1}


def test_insert_unordered_continues():
    fresh("ins4")
    r = client.test.command("insert", "ins4", documents=[{"_id": 1}, {"_id": 1}, {"_id": 2}],
                            ordered=False)
    assert r["n"] == 2 and [e["index"] for e in r["writeErrors"]] == [1]


def test_insert_many_through_driver_sequences():
    c = fresh("ins5")
    r = c.insert_many([{"i": i} for i in range(1000)])
    assert len(r.inserted_ids) == 1000
    r = client.test.command("delete", "ins5", deletes=[{"q": {}, "limit": 0}])
    assert r["n"] == 1000


def test_insert_bad_documents_are_write_errors():
    fresh("ins6")
    r = client.test.command("insert", "ins6", documents=[{"$a": 1}, {"_id": [1]}, {"_id": {"$regex": "x"}}], ordered=False)
    codes = [(e["index"], e["code"]) for e in r["writeErrors"]]
    assert r["n"] == 1 and codes == [(1, 2), (2, 52)], r
    assert r["writeErrors"][0]["errmsg"] == "can't use an array for _id"


def test_insert_stores_dollar_prefixed_fields():
    # MongoDB 5.0+: $-prefixed names are allowed top-level and nested on insert.
    fresh("ins_dollar")
    r = client.test.command("insert", "ins_dollar",
                            documents=[{"_id": 1, "$price": 50.0, "loc": {"$db": "x"}}])
    assert r["n"] == 1 and "writeErrors" not in r, r
    r = client.test.command("findAndModify", "ins_dollar", query={"_id": 1}, remove=True)
    assert r["value"] == {"_id": 1, "$price": 50.0, "loc": {"$db": "x"}}, r


def test_insert_empty_batch_is_invalid_length():
    # pymongo refuses an empty list itself: send the raw command
    r = raw_command(server.port, {"insert": "ins7", "documents": [], "$db": "test"})
    assert r["ok"] == 0 and r["code"] == 16, r
    assert r["errmsg"] == "Write batch sizes must be between 1 and 100000. Got 0 operations."


def test_insert_unknown_field():
    expect_code(lambda: client.test.command("insert", "ins7", documents=[{}], bogus=1), 40415)


def test_insert_invalid_namespace():
    expect_code(lambda: client.test.command("insert", "a$b", documents=[{}]), 73)
    expect_code(lambda: client.test.command("insert", "system.foo", documents=[{}]), 73)
    expect_code(lambda: client.test.command("insert", "", documents=[{}]), 73)


# ---- write concern ----

def test_write_concern_w2_on_standalone():
    d = expect_code(lambda: client.test.command("insert", "wc", documents=[{}],
                                                writeConcern={"w": 2}), 2)
    assert d["errmsg"] == "cannot use 'w' > 1 when a host is not replicated"


def test_write_concern_out_of_range():
    expect_code(lambda: client.test.command("insert", "wc", documents=[{}],
                                            writeConcern={"w": 99}), 9)


def test_write_concern_majority_and_journal_accepted():
    fresh("wc")
    r = client.test.command("insert", "wc", documents=[{"_id": 1}],
                            writeConcern={"w": "majority", "j": True})
    assert r == {"n": 1, "ok": 1.0}


def test_write_concern_w0_unacknowledged():
    c = fresh("wc0").with_options(write_concern=pymongo.WriteConcern(w=0))
    c.insert_one({"_id": 1})
    r = client.test.command("insert", "wc0", documents=[{"_id": 1}])
    assert r["writeErrors"][0]["code"] == 11000  # the w:0 insert happened


# ---- update ----

def test_update_multi_and_counts():
    c = fresh("up1")
    c.insert_many([{"_id": i, "a": i % 2} for i in range(6)])
    r = client.test.command("update", "up1", updates=[{"q": {"a": 1}, "u": {"$inc": {"b": 1}}, "multi": True}])
    assert r == {"n": 3, "nModified": 3, "ok": 1.0}, r
    r = client.test.command("update", "up1", updates=[{"q": {"_id": 0}, "u": {"$set": {"a": 0}}}])
    assert r == {"n": 1, "nModified": 0, "ok": 1.0}, r


def test_update_upsert_reports_index_and_id():
    fresh("up2")
    r = client.test.command("update", "up2", updates=[
        {"q": {"_id": 1}, "u": {"$set": {"x": 1}}},
        {"q": {"k": 5}, "u": {"$set": {"x": 2}}, "upsert": True}])
    assert r["n"] == 1 and r["nModified"] == 0
    assert r["upserted"][0]["index"] == 1 and "_id" in r["upserted"][0]


def test_update_replacement_keeps_id():
    c = fresh("up3")
    c.insert_one({"_id": 1, "a": 1})
    c.replace_one({"_id": 1}, {"b": 2})
    r = client.test.command("findAndModify", "up3", query={"_id": 1}, remove=True)
    assert r["value"] == {"_id": 1, "b": 2}


def test_update_immutable_id():
    c = fresh("up4")
    c.insert_one({"_id": 1})
    e = expect_code(lambda: c.update_one({"_id": 1}, {"$set": {"_id": 2}}), 66)


def test_update_array_filters_and_positional():
    c = fresh("up5")
    c.insert_one({"_id": 1, "a": [1, 5, 9]})
    c.update_one({"_id": 1}, {"$set": {"a.$[x]": 0}}, array_filters=[{"x": {"$gt": 4}}])
    c.update_one({"_id": 1, "a": 1}, {"$set": {"a.$": 7}})
    r = client.test.command("findAndModify", "up5", query={"_id": 1}, remove=True)
    assert r["value"]["a"] == [7, 0, 0], r


def test_update_pipeline_not_implemented():
    # pipeline-style updates now run (mongod/agg.c; test_aggregate.py covers them)
    fresh("up6").insert_one({"_id": 1})
    r = client.test.command("update", "up6", updates=[{"q": {}, "u": [{"$set": {"a": 1}}]}])
    assert r["nModified"] == 1 and "writeErrors" not in r, r
    assert client.test.up6.find_one() == {"_id": 1, "a": 1}


def test_update_bad_hint():
    fresh("up7").insert_one({})
    r = client.test.command("update", "up7", updates=[{"q": {}, "u": {"$set": {"a": 1}}, "hint": "nope"}])
    assert r["writeErrors"][0]["code"] == 2


def test_update_multi_replacement_refused():
    fresh("up8").insert_one({})
    r = client.test.command("update", "up8", updates=[{"q": {}, "u": {"a": 1}, "multi": True}])
    assert r["writeErrors"][0]["code"] == 9


# ---- delete ----

def test_delete_limit_one_and_all():
    c = fresh("del1")
    c.insert_many([{"a": 1}] * 1 + [{"a": 1} for _ in range(4)])
    assert c.delete_one({"a": 1}).deleted_count == 1
    assert c.delete_many({"a": 1}).deleted_count == 4
    assert c.delete_many({}).deleted_count == 0


def test_delete_bad_limit():
    r = client.test.command("delete", "del1", deletes=[{"q": {}, "limit": 5}])
    assert r["writeErrors"][0]["code"] == 9


def test_delete_missing_collection():
    assert client.test.command("delete", "nosuch", deletes=[{"q": {}, "limit": 0}]) == {"n": 0, "ok": 1.0}


# ---- findAndModify ----

def test_fam_sort_new_fields():
    c = fresh("fam1")
    c.insert_many([{"_id": i, "p": i} for i in range(5)])
    d = c.find_one_and_update({}, {"$inc": {"p": 10}}, sort=[("p", -1)],
                              return_document=ReturnDocument.AFTER, projection={"_id": 0})
    assert d == {"p": 14}, d
    r = client.test.command("findAndModify", "fam1", query={"_id": 0}, update={"$set": {"x": 1}})
    assert r["lastErrorObject"] == {"n": 1, "updatedExisting": True} and r["value"] == {"_id": 0, "p": 0}


def test_fam_upsert_and_remove():
    fresh("fam2")
    r = client.test.command("findAndModify", "fam2", query={"_id": 3}, update={"$set": {"y": 1}},
                            upsert=True, new=True)
    assert r["lastErrorObject"] == {"n": 1, "updatedExisting": False, "upserted": 3}, r
    assert r["value"] == {"_id": 3, "y": 1}
    r = client.test.command("findAndModify", "fam2", query={"_id": 3}, remove=True)
    assert r["lastErrorObject"] == {"n": 1} and r["value"] == {"_id": 3, "y": 1}
    r = client.test.command("findAndModify", "fam2", query={"_id": 3}, remove=True)
    assert r["lastErrorObject"] == {"n": 0} and r["value"] is None


def test_fam_argument_errors():
    expect_code(lambda: client.test.command("findAndModify", "fam2", query={}, remove=True,
                                            update={"$set": {"a": 1}}), 9)
    expect_code(lambda: client.test.command("findAndModify", "fam2", query={}), 9)
    expect_code(lambda: client.test.command("findAndModify", "fam2", query={}, remove=True,
                                            new=True), 9)


# ---- collections ----

def test_create_capped_trims_oldest():
    client.test.drop_collection("cap")
    client.test.command("create", "cap", capped=True, size=100000, max=3)
    for i in range(5):
        client.test.cap.insert_one({"_id": i})
    r = client.test.command("delete", "cap", deletes=[{"q": {"_id": {"$lt": 2}}, "limit": 0}])
    assert r["n"] == 0  # 0 and 1 were trimmed
    r = client.test.command("delete", "cap", deletes=[{"q": {}, "limit": 0}])
    assert r["n"] == 3


def test_create_capped_needs_size():
    expect_code(lambda: client.test.command("create", "cap2", capped=True), 72)


def test_create_existing():
    client.test.drop_collection("cr")
    client.test.command("create", "cr")
    client.test.command("create", "cr")  # same options: fine (7.0)
    d = expect_code(lambda: client.test.command("create", "cr", capped=True, size=10), 48)
    assert d["errmsg"] == "Collection test.cr already exists."


def test_create_view_is_read_only():
    client.test.command("create", "vw", viewOn="cr", pipeline=[])  # views: test_views.py
    expect_code(lambda: client.test.vw.insert_one({}), 166)


def test_validator_rejects_and_bypass():
    client.test.drop_collection("val")
    client.test.command("create", "val", validator={"a": {"$gt": 0}})
    e = expect_code(lambda: client.test.val.insert_one({"a": 0}), 121)
    assert e["errInfo"]["failingDocumentId"] is not None
    r = client.test.command("insert", "val", documents=[{"a": 0}], bypassDocumentValidation=True)
    assert r["n"] == 1
    client.test.val.insert_one({"_id": "ok", "a": 1})
    expect_code(lambda: client.test.val.update_one({"_id": "ok"}, {"$set": {"a": -1}}), 121)


def test_validator_warn_and_bad_level():
    client.test.drop_collection("valw")
    client.test.command("create", "valw", validator={"a": 1}, validationAction="warn")
    client.test.valw.insert_one({"a": 2})
    expect_code(lambda: client.test.command("create", "valx", validator={"a": 1},
                                            validationLevel="sometimes"), 2)


def test_drop_and_drop_missing():
    client.test.drop_collection("dr")
    client.test.dr.insert_one({})
    r = client.test.command("drop", "dr")
    assert r["nIndexesWas"] == 1 and r["ns"] == "test.dr"
    assert client.test.command("drop", "dr") == {"ok": 1.0}


def test_list_collections_filter_name_only():
    client.test.drop_collection("lc")
    client.test.lc.insert_one({})
    r = client.test.command("listCollections", filter={"name": "lc"})
    assert r["cursor"]["id"] == 0 and r["cursor"]["ns"] == "test.$cmd.listCollections"
    (e,) = r["cursor"]["firstBatch"]
    assert e["name"] == "lc" and e["type"] == "collection" and "uuid" in e["info"]
    r = client.test.command("listCollections", filter={"name": "lc"}, nameOnly=True)
    assert r["cursor"]["firstBatch"] == [{"name": "lc", "type": "collection"}]
    assert "lc" in client.test.list_collection_names()


def test_list_databases_and_drop_database():
    client.dbx.c.insert_one({})
    r = client.admin.command("listDatabases")
    names = [d["name"] for d in r["databases"]]
    assert "dbx" in names and "totalSize" in r and "totalSizeMb" in r
    r = client.admin.command("listDatabases", nameOnly=True, filter={"name": "dbx"})
    assert r["databases"] == [{"name": "dbx"}], r
    assert client.dbx.command("dropDatabase") == {"dropped": "dbx", "ok": 1.0}
    assert "dbx" not in client.list_database_names()
    expect_code(lambda: client.test.command("listDatabases"), 13)


def test_drop_admin_refused():
    expect_code(lambda: client.admin.command("dropDatabase"), 20)


def test_rename_collection():
    client.test.drop_collection("rn1")
    client.test.drop_collection("rn2")
    client.test.rn1.insert_one({"_id": 1})
    client.admin.command("renameCollection", "test.rn1", to="test.rn2")
    expect_code(lambda: client.admin.command("renameCollection", "test.rn1", to="test.rn3"), 26)
    client.test.rn1.insert_one({})
    expect_code(lambda: client.admin.command("renameCollection", "test.rn1", to="test.rn2"), 48)
    client.admin.command("renameCollection", "test.rn1", to="test.rn2", dropTarget=True)
    client.admin.command("renameCollection", "test.rn2", to="other.rn")
    r = client.other.command("delete", "rn", deletes=[{"q": {}, "limit": 0}])
    assert r["n"] == 1
    expect_code(lambda: client.test.command("renameCollection", "test.x", to="test.y"), 13)


# ---- indexes ----

def test_create_index_name_generation_and_counts():
    c = fresh("ix1")
    r = client.test.command("createIndexes", "ix1", indexes=[{"key": {"a": 1, "b": -1}, "name": "a_1_b_-1"}])
    assert r["numIndexesBefore"] == 1 and r["numIndexesAfter"] == 2
    assert r["createdCollectionAutomatically"] is True
    assert c.create_index([("a", 1), ("b", -1)]) == "a_1_b_-1"
    r = client.test.command("createIndexes", "ix1", indexes=[{"key": {"a": 1, "b": -1}, "name": "a_1_b_-1"}])
    assert r["note"] == "all indexes already exist" and r["numIndexesAfter"] == 2


def test_create_index_conflicts():
    c = fresh("ix2")
    c.create_index("a")
    expect_code(lambda: c.create_index("a", name="other"), 85)
    expect_code(lambda: c.create_index("b", name="a_1"), 86)
    expect_code(lambda: client.test.command("createIndexes", "ix2", indexes=[{"key": {"z": 1}, "name": "z", "bogus": 1}]), 197)
    expect_code(lambda: client.test.command("createIndexes", "ix2", indexes=[]), 2)


def test_unique_and_partial_indexes_enforced():
    c = fresh("ix3")
    c.create_index("u", unique=True, partialFilterExpression={"u": {"$exists": True}})
    c.insert_many([{}, {}])  # outside the partial filter: no conflict
    c.insert_one({"u": 1})
    e = expect_code(lambda: c.insert_one({"u": 1}), 11000)
    assert e["keyPattern"] == {"u": 1} and e["keyValue"] == {"u": 1}


def test_unique_index_on_existing_duplicates_fails():
    c = fresh("ix4")
    c.insert_many([{"a": 1}, {"a": 1}])
    expect_code(lambda: c.create_index("a", unique=True), 11000)


def test_list_indexes_shape():
    c = fresh("ix5")
    c.create_index("a", sparse=True, expireAfterSeconds=60)
    r = client.test.command("listIndexes", "ix5")
    assert r["cursor"]["ns"] == "test.ix5" and r["cursor"]["id"] == 0
    specs = {i["name"]: i for i in r["cursor"]["firstBatch"]}
    assert specs["_id_"] == {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    assert specs["a_1"]["sparse"] is True and specs["a_1"]["expireAfterSeconds"] == 60
    d = expect_code(lambda: client.test.command("listIndexes", "nosuch"), 26)
    assert d["errmsg"] == "ns does not exist: test.nosuch"


def test_drop_indexes_forms():
    c = fresh("ix6")
    for k in ("a", "b", "c", "d"):
        c.create_index(k)
    assert client.test.command("dropIndexes", "ix6", index="a_1")["nIndexesWas"] == 5
    client.test.command("dropIndexes", "ix6", index={"b": 1})
    client.test.command("dropIndexes", "ix6", index=["c_1"])
    expect_code(lambda: client.test.command("dropIndexes", "ix6", index="_id_"), 72)
    expect_code(lambda: client.test.command("dropIndexes", "ix6", index="nope"), 27)
    expect_code(lambda: client.test.command("dropIndexes", "ix6", index={"zz": 1}), 27)
    client.test.command("dropIndexes", "ix6", index="*")
    r = client.test.command("listIndexes", "ix6")
    assert [i["name"] for i in r["cursor"]["firstBatch"]] == ["_id_"]


def main():
    global server, client
    with Server() as s:
        server = s
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        tests = collect_tests(globals())
        failed = run_tests(tests, s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
