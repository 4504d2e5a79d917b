"""test_repl_wc.py -- write concern beyond numbers on a real set: tag-set
modes (settings.getLastErrorModes, w: "<mode>", UnknownReplWriteConcern for
an unknown one), getDefaultRWConcern / setDefaultRWConcern (reply shapes,
validation, the stored default replicated and applied to writes that name no
write concern), and MongoDB 5.0's implicit default for a set with an
arbiter (P-S-A: w: 1)."""
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import bson  # noqa: E402
import pymongo  # noqa: E402
from pymongo.write_concern import WriteConcern  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402
from replset import code_of, direct, wait_for  # noqa: E402

SET = "rswc"
servers = []


def host(i):
    return "127.0.0.1:%d" % servers[i].port


def primary():
    for i in (0, 1):
        try:
            if direct(servers[i]).admin.command("hello").get("isWritablePrimary"):
                return i
        except pymongo.errors.PyMongoError:
            pass
    return None


def test_initiate_tagged():
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": 0, "host": host(0), "tags": {"dc": "east"}},
                       {"_id": 1, "host": host(1), "tags": {"dc": "west"}}],
           "settings": {"electionTimeoutMillis": 2000, "heartbeatIntervalMillis": 300,
                        "getLastErrorModes": {"bothDCs": {"dc": 2}}}}
    assert direct(servers[0]).admin.command("replSetInitiate", cfg)["ok"] == 1
    wait_for(lambda: primary() is not None, what="a primary")

    def zero_primary():  # replSetStepUp (no dry run) puts member 0 in charge if it is not
        if primary() != 0:
            code_of(lambda: direct(servers[0]).admin.command("replSetStepUp", skipDryRun=True))
        return primary() == 0
    wait_for(zero_primary, what="member 0 primary")
    wait_for(lambda: direct(servers[1]).admin.command("hello").get("secondary"),
             what="member 1 secondary")
    got = direct(servers[0]).admin.command("replSetGetConfig")["config"]["settings"]
    assert got["getLastErrorModes"] == {"bothDCs": {"dc": 2}}, got


def test_tag_mode_waits_for_both_dcs():
    coll = direct(servers[0]).test.get_collection(
        "t", write_concern=WriteConcern(w="bothDCs", wtimeout=60000))
    coll.insert_one({"_id": 1})
    # acknowledged with both DCs: the west member holds it already
    sec = direct(servers[1]).test.get_collection(
        "t", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)
    assert sec.count_documents({"_id": 1}) == 1
    # an unknown mode is refused before the write
    bad = direct(servers[0]).test.get_collection("t", write_concern=WriteConcern(w="nope"))
    assert code_of(lambda: bad.insert_one({"_id": 2})) == 79
    assert direct(servers[0]).test.t.count_documents({"_id": 2}) == 0


def test_implicit_default():
    r = direct(servers[0]).admin.command("getDefaultRWConcern")
    assert r["defaultWriteConcern"] == {"w": "majority", "wtimeout": 0}, r
    assert r["defaultReadConcern"] == {"level": "local"}, r
    assert r["defaultWriteConcernSource"] == "implicit", r
    assert r["defaultReadConcernSource"] == "implicit", r
    assert "localUpdateWallClockTime" in r and "updateOpTime" not in r, r


def test_arbiter_makes_implicit_default_w1():
    p = direct(servers[0])
    cfg = p.admin.command("replSetGetConfig")["config"]
    cfg["version"] += 1
    cfg["members"].append({"_id": 2, "host": host(2), "arbiterOnly": True})
    assert p.admin.command("replSetReconfig", cfg)["ok"] == 1
    wait_for(lambda: direct(servers[2]).admin.command("hello").get("arbiterOnly"),
             what="the arbiter")
    r = p.admin.command("getDefaultRWConcern")
    # P-S-A: the implicit default is w: 1, which MongoDB shows as no defaultWriteConcern
    assert "defaultWriteConcern" not in r, r
    assert r["defaultWriteConcernSource"] == "implicit", r


def test_set_default_validation():
    a = direct(servers[0]).admin
    assert code_of(lambda: a.command("setDefaultRWConcern")) == 2
    assert code_of(lambda: a.command("setDefaultRWConcern", defaultWriteConcern={"w": 0})) == 2
    assert code_of(lambda: a.command("setDefaultRWConcern", defaultWriteConcern={"j": True})) == 2
    assert code_of(lambda: a.command("setDefaultRWConcern",
                                     defaultWriteConcern={"w": "nope"})) == 79
    assert code_of(lambda: a.command("setDefaultRWConcern",
                                     defaultReadConcern={"level": "snapshot"})) == 2
    assert code_of(lambda: a.command("setDefaultRWConcern", defaultReadConcern={"level": "local"},
                                     bogus=1)) == 40415
    # only the primary takes it
    assert code_of(lambda: direct(servers[1]).admin.command(
        "setDefaultRWConcern", defaultReadConcern={"level": "local"})) == 10107


def test_set_default_and_read_back():
    a = direct(servers[0]).admin
    r = a.command("setDefaultRWConcern", defaultWriteConcern={"w": "bothDCs", "wtimeout": 5000},
                  defaultReadConcern={"level": "majority"})
    assert r["defaultWriteConcern"] == {"w": "bothDCs", "wtimeout": 5000}, r
    assert r["defaultReadConcern"] == {"level": "majority"}, r
    assert r["defaultWriteConcernSource"] == "global", r
    assert r["defaultReadConcernSource"] == "global", r
    assert isinstance(r["updateOpTime"], bson.timestamp.Timestamp), r
    assert "updateWallClockTime" in r and "localUpdateWallClockTime" in r, r
    # kept in config.settings, and replicated
    doc = direct(servers[0]).config.settings.find_one({"_id": "ReadWriteConcernDefaults"})
    assert doc["defaultWriteConcern"] == {"w": "bothDCs", "wtimeout": 5000}, doc
    wait_for(lambda: direct(servers[1]).admin.command("getDefaultRWConcern")
             .get("defaultWriteConcernSource") == "global", what="the defaults on the secondary")
    # a later call changing only the read concern keeps the write concern
    r = a.command("setDefaultRWConcern", defaultReadConcern={"level": "local"})
    assert r["defaultWriteConcern"] == {"w": "bothDCs", "wtimeout": 5000}, r
    # once set, the default write concern cannot be unset
    assert code_of(lambda: a.command("setDefaultRWConcern", defaultWriteConcern={})) == 20


def test_default_applies_to_writes_without_write_concern():
    c = direct(servers[0])
    c.test.d.insert_one({"_id": "both"})  # bothDCs by default: the west member has it
    assert direct(servers[1]).test.get_collection(
        "d", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED
    ).count_documents({"_id": "both"}) == 1
    # with the west member down, the default (bothDCs, wtimeout 5000) cannot be met
    servers[1].stop()
    try:
        c.test.d.insert_one({"_id": "east-only"})
        raise AssertionError("the default write concern was not applied")
    except pymongo.errors.WriteConcernError as e:
        assert e.code == 64, e.details
    # an explicit w: 1 still goes through at once
    c.test.get_collection("d", write_concern=WriteConcern(w=1)).insert_one({"_id": "w1"})


def main():
    for _ in range(3):
        s = Server(["--replSet", SET])
        s.start()
        servers.append(s)
    failed = run_tests(collect_tests(globals()))
    for s in servers:
        if failed:
            s.failed = True
        if s.alive():
            s.stop()
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
