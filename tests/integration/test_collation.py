"""test_collation.py -- pymongo against micad: collation documents on the commands
that take one are validated as MongoDB validates them (query/collation.c, ICU);
the simple collation works, and a valid non-simple one answers NotImplemented
(238) until comparisons follow collations (docs/collation.md)."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, run_tests  # noqa: E402

db = None


def expect_code(fn, code):
    try:
        fn()
    except OperationFailure as e:
        assert e.code == code, (e.code, e.details)
        return e.details
    raise AssertionError("expected error code %d" % code)


def test_simple_collation_works_everywhere():
    db.drop_collection("co")
    db.co.insert_many([{"_id": 1, "s": "a"}, {"_id": 2, "s": "B"}])
    simple = {"locale": "simple"}
    r = db.command("find", "co", sort={"s": 1}, collation=simple)
    assert [d["_id"] for d in r["cursor"]["firstBatch"]] == [2, 1], r  # byte order
    assert db.command("count", "co", collation=simple)["n"] == 2
    db.command("distinct", "co", key="s", collation=simple)
    db.command("aggregate", "co", pipeline=[], cursor={}, collation=simple)


def test_invalid_collations_refused_with_mongodb_codes():
    cases = [
        ({"strength": 2}, 2),                               # no locale
        ({"locale": 5}, 14),
        ({"locale": ""}, 2),
        ({"locale": "xx_bogus"}, 2),
        ({"locale": "simple", "strength": 2}, 9),
        ({"locale": "en", "strength": 6}, 9),
        ({"locale": "en", "caseFirst": "middle"}, 9),
        ({"locale": "en", "alternate": "x"}, 9),
        ({"locale": "en", "bogus": True}, 9),
        ({"locale": "en", "strength": 1, "backwards": True}, 2),
        ({"locale": "en", "strength": 2, "caseFirst": "upper"}, 2),
        ({"locale": "en", "version": "1.0"}, 161),
    ]
    for spec, code in cases:
        expect_code(lambda: db.command("find", "co", collation=spec), code)
        expect_code(lambda: db.command("count", "co", collation=spec), code)


def test_valid_non_simple_collation_not_implemented():
    for cmd in [lambda c: db.command("find", "co", collation=c),
                lambda c: db.command("aggregate", "co", pipeline=[], cursor={}, collation=c),
                lambda c: db.command("create", "co_ci", collation=c),
                lambda c: db.co.create_index("s", collation=c)]:
        expect_code(lambda: cmd({"locale": "en", "strength": 2}), 238)


def main():
    global db
    with Server() as s:
        client = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        db = client.test
        tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
        failed = run_tests(tests, s)
        client.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
