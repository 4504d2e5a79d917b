"""test_error_details.py -- pymongo against micad: the error details drivers read.

DocumentValidationFailure (121) carries errInfo.details in MongoDB's shape
(operatorName / specifiedAs / reason / consideredValue, $jsonSchema's
schemaRulesNotSatisfied); every DuplicateKey carries keyPattern and keyValue
(write errors, findAndModify, $merge, unique index builds); unknown fields in
commands are refused as 7.0 refuses them (Location40415)."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure, WriteError  # noqa: E402

from harness import Server, run_tests  # noqa: E402

client = None


def fresh(name, **opts):
    client.test.drop_collection(name)
    client.test.command("create", name, **opts)
    return client.test[name]


def expect_code(fn, code):
    try:
        fn()
    except (OperationFailure, WriteError) as e:
        assert e.code == code, (e.code, e.details)
        return e.details
    raise AssertionError("expected error code %d" % code)


def details_of(coll, doc):
    e = expect_code(lambda: coll.insert_one(doc), 121)
    assert e["errInfo"]["failingDocumentId"] == doc["_id"], e
    return e["errInfo"]["details"]


# ---- DocumentValidationFailure: query operators ----

def test_single_comparison():
    c = fresh("v1", validator={"a": {"$gt": 5}})
    d = details_of(c, {"_id": 1, "a": 3})
    assert d == {"operatorName": "$gt", "specifiedAs": {"a": {"$gt": 5}},
                 "reason": "comparison failed", "consideredValue": 3}, d


def test_and_lists_failing_clauses():
    c = fresh("v2", validator={"a": {"$gt": 5}, "b": {"$exists": True}, "c": 1})
    d = details_of(c, {"_id": 1, "a": 9, "c": 2})
    assert d["operatorName"] == "$and", d
    cl = d["clausesNotSatisfied"]
    assert [x["index"] for x in cl] == [1, 2], d
    assert cl[0]["details"] == {"operatorName": "$exists",
                                "specifiedAs": {"b": {"$exists": True}},
                                "reason": "path does not exist"}, d
    assert cl[1]["details"] == {"operatorName": "$eq", "specifiedAs": {"c": 1},
                                "reason": "comparison failed", "consideredValue": 2}, d


def test_missing_field_and_array_values():
    c = fresh("v3", validator={"a": {"$gte": 10}})
    d = details_of(c, {"_id": 1})
    assert d["reason"] == "field was missing" and "consideredValue" not in d, d
    d = details_of(c, {"_id": 2, "a": [1, 2]})
    assert d["consideredValues"] == [1, 2], d


def test_or_nor_not_ne():
    c = fresh("v4", validator={"$or": [{"a": 1}, {"b": {"$type": "string"}}]})
    d = details_of(c, {"_id": 1, "a": 2, "b": 3})
    assert d["operatorName"] == "$or" and len(d["clausesNotSatisfied"]) == 2, d
    assert d["clausesNotSatisfied"][1]["details"] == {
        "operatorName": "$type", "specifiedAs": {"b": {"$type": "string"}},
        "reason": "type did not match", "consideredValue": 3, "consideredType": "int"}, d
    c = fresh("v5", validator={"$nor": [{"a": 1}, {"b": 2}]})
    d = details_of(c, {"_id": 1, "a": 1, "b": 3})
    assert d == {"operatorName": "$nor", "clausesSatisfied": [
        {"index": 0, "details": {"operatorName": "$eq", "specifiedAs": {"a": 1},
                                 "reason": "comparison succeeded", "consideredValue": 1}}]}, d
    c = fresh("v6", validator={"a": {"$ne": 4}})
    d = details_of(c, {"_id": 1, "a": 4})
    assert d == {"operatorName": "$ne", "specifiedAs": {"a": {"$ne": 4}},
                 "reason": "comparison succeeded", "consideredValue": 4}, d
    c = fresh("v7", validator={"a": {"$not": {"$lt": 3}}})
    d = details_of(c, {"_id": 1, "a": 1})
    assert d["operatorName"] == "$not", d
    assert d["details"]["reason"] == "comparison succeeded", d


def test_regex_type_mismatch():
    c = fresh("v8", validator={"name": {"$regex": "^A"}})
    d = details_of(c, {"_id": 1, "name": 5})
    assert d["reason"] == "type did not match", d
    assert d["consideredType"] == "int" and d["expectedTypes"] == ["regex", "string", "symbol"], d


# ---- DocumentValidationFailure: $jsonSchema ----

STUDENTS = {"$jsonSchema": {
    "bsonType": "object",
    "title": "Student Object Validation",
    "required": ["address", "major", "name", "year"],
    "properties": {
        "name": {"bsonType": "string", "description": "'name' must be a string and is required"},
        "year": {"bsonType": "int", "minimum": 2017, "maximum": 3017,
                 "description": "'year' must be an integer in [ 2017, 3017 ] and is required"},
        "gpa": {"bsonType": ["double"], "description": "'gpa' must be a double if the field exists"},
    }}}


def test_jsonschema_documentation_example():
    # MongoDB's "Specify JSON Schema Validation" example and its documented error
    c = fresh("students", validator=STUDENTS)
    d = details_of(c, {"_id": 1, "name": "Alice", "year": 2019, "major": "History",
                       "gpa": 3, "address": {"city": "NYC", "street": "33rd Street"}})
    assert d == {"operatorName": "$jsonSchema", "title": "Student Object Validation",
                 "schemaRulesNotSatisfied": [
                     {"operatorName": "properties", "propertiesNotSatisfied": [
                         {"propertyName": "gpa",
                          "description": "'gpa' must be a double if the field exists",
                          "details": [{"operatorName": "bsonType",
                                       "specifiedAs": {"bsonType": ["double"]},
                                       "reason": "type did not match",
                                       "consideredValue": 3, "consideredType": "int"}]}]}]}, d


def test_jsonschema_required_and_ranges():
    c = fresh("students2", validator=STUDENTS)
    d = details_of(c, {"_id": 2, "name": "Bob", "year": 2000})
    rules = d["schemaRulesNotSatisfied"]
    assert rules[0]["operatorName"] == "properties", d
    year = rules[0]["propertiesNotSatisfied"][0]
    assert year["propertyName"] == "year", d
    assert year["details"] == [{"operatorName": "minimum", "specifiedAs": {"minimum": 2017},
                                "reason": "comparison failed", "consideredValue": 2000}], d
    assert rules[1] == {"operatorName": "required",
                        "specifiedAs": {"required": ["address", "major", "name", "year"]},
                        "missingProperties": ["address", "major"]}, d


def test_jsonschema_keywords():
    schema = {"$jsonSchema": {
        "additionalProperties": False,
        "properties": {"_id": {}, "s": {"minLength": 3, "pattern": "^x"},
                       "arr": {"minItems": 2, "uniqueItems": True,
                               "items": {"bsonType": "int"}},
                       "e": {"enum": [1, 2]}, "m": {"multipleOf": 2},
                       "o": {"not": {"bsonType": "string"}},
                       "one": {"oneOf": [{"minimum": 1}, {"maximum": 3}]}}}}
    c = fresh("kw", validator=schema)
    d = details_of(c, {"_id": 1, "s": "ab", "arr": [1, 1, "z"], "e": 3, "m": 3, "o": "str",
                       "one": 2, "zz": 1})
    rules = {r["operatorName"]: r for r in d["schemaRulesNotSatisfied"]}
    props = {p["propertyName"]: p["details"] for p in rules["properties"]["propertiesNotSatisfied"]}
    assert [x["operatorName"] for x in props["s"]] == ["minLength", "pattern"], props
    assert props["s"][0]["reason"] == "specified string length was not satisfied", props
    arr = {x["operatorName"]: x for x in props["arr"]}
    assert arr["uniqueItems"]["duplicatedValue"] == 1, arr
    assert arr["items"]["itemIndex"] == 2, arr
    assert arr["items"]["details"][0]["consideredType"] == "string", arr
    assert props["e"][0]["reason"] == "value was not found in enum", props
    assert props["m"][0]["reason"] == \
        "considered value is not a multiple of the specified value", props
    assert props["o"] == [{"operatorName": "not", "reason": "child expression matched"}], props
    assert props["one"][0]["matchingSchemaIndexes"] == [0, 1], props
    assert rules["additionalProperties"]["additionalProperties"] == ["zz"], rules


def test_jsonschema_top_level_type_never_matches():
    c = fresh("kw2", validator={"$jsonSchema": {"bsonType": "string"}})
    d = details_of(c, {"_id": 1})
    assert d["reason"] == "expression always evaluates to false", d


def test_validation_failure_on_update():
    c = fresh("vu", validator={"a": {"$lt": 10}})
    c.insert_one({"_id": 1, "a": 1})
    e = expect_code(lambda: c.update_one({"_id": 1}, {"$set": {"a": 11}}), 121)
    assert e["errInfo"]["details"]["consideredValue"] == 11, e


# ---- DuplicateKey details ----

def test_dup_key_write_error():
    c = fresh("dk1")
    c.create_index("email", unique=True)
    c.insert_one({"_id": 1, "email": "a@x"})
    e = expect_code(lambda: c.insert_one({"_id": 2, "email": "a@x"}), 11000)
    assert e["keyPattern"] == {"email": 1} and e["keyValue"] == {"email": "a@x"}, e
    e = expect_code(lambda: c.update_one({"_id": 3}, {"$set": {"email": "a@x"}}, upsert=True),
                    11000)
    assert e["keyPattern"] == {"email": 1} and e["keyValue"] == {"email": "a@x"}, e


def test_dup_key_find_and_modify():
    c = fresh("dk2")
    c.create_index([("a", 1), ("b", -1)], unique=True)
    c.insert_many([{"_id": 1, "a": 1, "b": 1}, {"_id": 2, "a": 2, "b": 2}])
    e = expect_code(lambda: c.find_one_and_update({"_id": 2}, {"$set": {"a": 1, "b": 1}}), 11000)
    assert e["keyPattern"] == {"a": 1, "b": -1}, e
    assert e["keyValue"] == {"a": 1, "b": 1}, e
    e = expect_code(lambda: c.find_one_and_update({"_id": 9}, {"$set": {"a": 2, "b": 2}},
                                                  upsert=True), 11000)
    assert e["keyValue"] == {"a": 2, "b": 2}, e


def test_dup_key_merge():
    src = fresh("dk3src")
    dst = fresh("dk3dst")
    dst.create_index("k", unique=True)
    dst.insert_one({"_id": 1, "k": 5})
    src.insert_one({"_id": 2, "k": 5})
    e = expect_code(lambda: list(src.aggregate([{"$merge": {"into": "dk3dst"}}])), 11000)
    assert e["keyPattern"] == {"k": 1} and e["keyValue"] == {"k": 5}, e


def test_dup_key_unique_index_build():
    c = fresh("dk4")
    c.insert_many([{"_id": 1, "x": 1}, {"_id": 2, "x": 1}])
    e = expect_code(lambda: c.create_index("x", unique=True), 11000)
    assert e["keyPattern"] == {"x": 1} and e["keyValue"] == {"x": 1}, e


# ---- unknown fields (7.0 IDL) ----

def test_unknown_fields_rejected():
    fresh("uf").insert_one({"_id": 1})
    db = client.test
    cases = [
        # an 8.0 option: sort on an update statement
        lambda: db.command("update", "uf", updates=[{"q": {}, "u": {"$set": {"a": 1}},
                                                      "sort": {"_id": 1}}]),
        lambda: db.command("delete", "uf", deletes=[{"q": {}, "limit": 1, "bogus": 1}]),
        lambda: db.command("insert", "uf", documents=[{}], bogus=1),
        lambda: db.command("find", "uf", bogus=1),
        lambda: db.command("findAndModify", "uf", query={}, remove=True, bogus=1),
        lambda: db.command("count", "uf", bogus=1),
        lambda: db.command("distinct", "uf", key="a", bogus=1),
        lambda: db.command("aggregate", "uf", pipeline=[], cursor={}, bogus=1),
        lambda: db.command("createIndexes", "uf", indexes=[{"key": {"a": 1}, "name": "a_1"}],
                           bogus=1),
        lambda: db.command("listIndexes", "uf", bogus=1),
        lambda: db.command("create", "uf2", bogus=1),
    ]
    for fn in cases:
        e = expect_code(fn, 40415)
        assert "is an unknown field" in e["errmsg"], e


def main():
    global client
    with Server() as s:
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
        failed = run_tests(tests, s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
