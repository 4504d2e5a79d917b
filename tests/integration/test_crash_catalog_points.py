"""test_crash_catalog_points.py -- kill -9 at a named step of each catalog
operation, then restart and check the catalog is whole.

Where test_crash_catalog.py kills at random moments, this suite stops each
operation at an exact step with a failpoint (enableTestCommands), kills the
server there with SIGKILL, restarts it on the same dbpath, and checks:

- the operation either happened or did not, as the step says: paused before
  its catalog row commits -> not there; paused after -> there (create, drop,
  rename, dropIndexes), and an index build paused after its table was set
  up, after it was filled, or before its catalog row commits leaves no index;
- listCollections and listIndexes agree with that, every collection's
  documents are intact, and `validate` (full) is clean for every collection.
"""
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import warnings  # noqa: E402
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import PyMongoError  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

TEST_ARGS = ["--setParameter", "enableTestCommands=1"]
DOCS = 300


def fp(c, name, mode, **kw):
    return c.admin.command("configureFailPoint", name, mode=mode, **kw)


def seed(c):
    """test.src (documents, index b_1) and test.keep (a bystander)."""
    c.test.src.insert_many([{"_id": i, "a": i, "b": i % 7} for i in range(DOCS)])
    c.test.src.create_index("b", name="b_1")
    c.test.keep.insert_many([{"_id": i} for i in range(10)])


def check_whole(c, want_colls, want_indexes):
    """The catalog as expected, documents intact, validate clean everywhere."""
    names = sorted(n for n in c.test.list_collection_names() if not n.startswith("system."))
    assert names == sorted(want_colls), (names, want_colls)
    for name in names:
        v = c.test.command("validate", name, full=True)
        assert v["valid"] is True, (name, v)
    for name, idx in want_indexes.items():
        got = sorted(i["name"] for i in c.test[name].list_indexes())
        assert got == sorted(idx), (name, got, idx)
    assert c.test.keep.count_documents({}) == 10
    for name in ("src", "dst"):
        if name in names:
            assert c.test[name].count_documents({}) == DOCS, name


def crash_at(point, ns, op, want_colls, want_indexes):
    """Seed a fresh server, pause op at point (for ns), kill -9, restart, check."""
    s = Server(TEST_ARGS).start()
    try:
        c = pymongo.MongoClient(s.uri)
        seed(c)
        count = fp(c, point, "alwaysOn", data={"ns": ns})["count"]

        def run():
            try:
                op(pymongo.MongoClient(s.uri, socketTimeoutMS=120000).test)
            except PyMongoError:
                pass  # the kill ends it
        t = threading.Thread(target=run, daemon=True)
        t.start()
        c.admin.command({"waitForFailPoint": point, "timesEntered": count + 1,
                         "maxTimeMS": 120000})
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        c.close()
        s.start()
        c = pymongo.MongoClient(s.uri)
        check_whole(c, want_colls, want_indexes)
        c.close()
    finally:
        s.stop()


BASE = ["src", "keep"]


def test_create_before_and_after_commit():
    crash_at("hangBeforeCatalogCommit", "test.fresh",
             lambda db: db.create_collection("fresh"), BASE, {"src": ["_id_", "b_1"]})
    crash_at("hangAfterCatalogCommit", "test.fresh",
             lambda db: db.create_collection("fresh"), BASE + ["fresh"], {"fresh": ["_id_"]})


def test_drop_before_and_after_commit():
    crash_at("hangBeforeCatalogCommit", "test.src", lambda db: db.src.drop(), BASE,
             {"src": ["_id_", "b_1"]})
    crash_at("hangAfterCatalogCommit", "test.src", lambda db: db.src.drop(), ["keep"], {})


def test_rename_before_and_after_commit():
    rename = lambda db: db.src.rename("dst")  # noqa: E731
    crash_at("hangBeforeCatalogCommit", "test.src", rename, BASE, {"src": ["_id_", "b_1"]})
    crash_at("hangAfterCatalogCommit", "test.src", rename, ["dst", "keep"],
             {"dst": ["_id_", "b_1"]})


def test_index_build_at_each_step():
    build = lambda db: db.src.create_index("a", name="a_1")  # noqa: E731
    for point in ("hangAfterSettingUpIndexBuild", "hangIndexBuildBeforeCommit",
                  "hangBeforeCatalogCommit"):
        crash_at(point, "test.src", build, BASE, {"src": ["_id_", "b_1"]})


def test_drop_index_before_and_after_commit():
    drop = lambda db: db.src.drop_index("b_1")  # noqa: E731
    crash_at("hangBeforeCatalogCommit", "test.src", drop, BASE, {"src": ["_id_", "b_1"]})
    crash_at("hangAfterCatalogCommit", "test.src", drop, BASE, {"src": ["_id_"]})


def main():
    failed = run_tests(collect_tests(globals()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
