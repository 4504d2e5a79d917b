"""test_repl_index_build.py -- an online index build on a three-member replica
set's primary under a w: "majority" insert load: the writers keep being
acknowledged while the build runs, the createIndexes entry reaches the
secondaries (written once, at the commit), every member ends with the index,
the same dbHash and a clean `validate` whose key count for the new index
equals the documents."""
import os
import sys
import threading
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

from pymongo import ReadPreference  # noqa: E402

from replset import Writers, run_suite, wait_for  # noqa: E402

rs = None  # set by run_suite
N = 20000


def test_build_under_majority_writes_replicates():
    c = rs.client()
    c.test.fo.insert_many([{"_id": "seed-%d" % i, "t": -1, "n": i} for i in range(N)])
    w = Writers(rs, n=2).start()
    box = {}
    try:
        w.wait_more(20, what="writes before the build")

        def build():
            box["r"] = c.test.fo.create_index([("n", 1), ("t", 1)], name="n_t")
        t = threading.Thread(target=build)
        t.start()
        before = w.count()
        t.join(600)
        during = w.count() - before
        w.wait_more(20, what="writes after the build")
    finally:
        acked = w.stop()
    assert box.get("r") == "n_t", box
    print("  majority-acknowledged inserts during the build: %d" % during)
    primary = rs.primary_index()
    entries = list(rs.direct(primary).local["oplog.rs"].find(
        {"op": "c", "o.createIndexes": "fo"}))
    assert len(entries) == 1 and entries[0]["o"]["name"] == "n_t", entries
    rs.wait_agree("test")
    w.check_all_present()
    for i in range(3):
        coll = rs.direct(i).get_database("test", read_preference=ReadPreference.SECONDARY_PREFERRED).fo
        wait_for(lambda: "n_t" in [ix["name"] for ix in coll.list_indexes()],
                 what="n_t on member %d" % i)
        v = rs.direct(i).test.command("validate", "fo", full=True,
                                      read_preference=ReadPreference.SECONDARY_PREFERRED)
        assert v["valid"] is True, (i, v)
        assert v["keysPerIndex"]["n_t"] == N + len(acked | w.landed) == v["nrecords"], (i, v)
    c.close()



def test_commit_quorum_refused():
    # Builds are single-phase (one createIndexes entry at commit): MongoDB refuses
    # commitQuorum for such builds with BadValue, and so do we, rather than ignore it.
    c = rs.client()
    for q in ("majority", "votingMembers", 2, 0):
        r = c.test.command({"createIndexes": "cq", "indexes": [{"key": {"q": 1}, "name": "q_1"}],
                            "commitQuorum": q}, check=False)
        assert r["ok"] == 0 and r["code"] == 2 and "two phase" in r["errmsg"], (q, r)
    assert "cq" not in c.test.list_collection_names()
    c.close()

if __name__ == "__main__":
    sys.exit(1 if run_suite(globals(), n=3) else 0)
