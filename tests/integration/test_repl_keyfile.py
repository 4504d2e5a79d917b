"""test_repl_keyfile.py -- internal authentication between replica-set members
with --keyFile: the members log in to each other as __system (SCRAM-SHA-256,
the key as the password) before their heartbeats, votes, oplog fetching and
position reports. A two-member set initiates (through the localhost
exception), elects, replicates and elects again after a step-down; a member
whose key differs cannot join (the quorum check's heartbeats fail
authentication, both logs say so, it never takes the config nor any data);
and a client that has not authenticated cannot run the members' internal
commands (Unauthorized)."""
import json
import os
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure, PyMongoError  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402
from replset import direct, primary_index, wait_for  # noqa: E402

SET = "rsk"
KEYDIR = tempfile.mkdtemp(prefix="mica-keyfile-")
servers = []  # s0, s1: the right key; s2: another key


def keyfile(name, content):
    path = os.path.join(KEYDIR, name)
    with open(path, "w") as f:
        f.write(content + "\n")
    os.chmod(path, 0o400)
    return path


ADMIN = ("admin", "admin-pw")


def hello(s):
    return direct(s).admin.command("hello")


def primary():
    i = primary_index(servers, (0, 1), direct)
    return None if i is None else servers[i]


def test_internal_commands_need_authentication():
    c = direct(servers[0])
    for cmd in ({"replSetHeartbeat": SET, "configVersion": -2, "from": "x:1", "checkEmpty": True},
                {"replSetRequestVotes": 1, "setName": SET, "dryRun": True, "term": 1,
                 "candidateIndex": 0, "configVersion": 1, "lastAppliedOpTime": {}},
                {"replSetUpdatePosition": 1, "optimes": []}):
        try:
            c.admin.command(cmd)
            raise AssertionError("%s ran without authentication" % next(iter(cmd)))
        except OperationFailure as e:
            assert e.code == 13, e.details


def test_wrong_key_cannot_join():
    hosts = ["127.0.0.1:%d" % s.port for s in servers]
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": i, "host": h} for i, h in enumerate(hosts)]}
    try:
        direct(servers[0]).admin.command("replSetInitiate", cfg)
        raise AssertionError("a set with a member holding another key was initiated")
    except OperationFailure as e:
        assert e.code == 74, e.details  # NodeNotFound: the quorum check failed
        assert hosts[2] in e.details["errmsg"], e.details
        assert "AuthenticationFailed" in e.details["errmsg"], e.details
    # the member with the other key refused __system (5286307 names the user, never the key)
    fails = wait_for(lambda: [d for d in servers[2].log_entries(5286307)
                              if d.get("attr", {}).get("user") == "__system"],
                     what="the wrong-key member to log the failed __system login")
    assert fails, fails
    # and the dialling member says why it could not reach it
    why = wait_for(lambda: [d for d in servers[0].log_entries(20101)
                            if "Authentication failed" in json.dumps(d)],
                   what="s0 to log the failed authentication")
    assert why, why
    assert "setName" not in hello(servers[2])


def test_two_members_initiate_and_elect():
    hosts = ["127.0.0.1:%d" % s.port for s in servers[:2]]
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": i, "host": h} for i, h in enumerate(hosts)],
           "settings": {"electionTimeoutMillis": 3000, "heartbeatIntervalMillis": 500}}
    # no user yet: the localhost exception allows replSetInitiate
    r = direct(servers[0]).admin.command("replSetInitiate", cfg)
    assert r["ok"] == 1, r
    p = wait_for(primary, what="a primary")
    # the first user, through the localhost exception on the primary
    direct(p).admin.command("createUser", ADMIN[0], pwd=ADMIN[1], roles=["root"])
    def healthy():
        st = direct(p, ADMIN).admin.command("replSetGetStatus")
        return sorted(m["stateStr"] for m in st["members"]) == ["PRIMARY", "SECONDARY"] and \
            all(m["health"] == 1 for m in st["members"])
    wait_for(healthy, what="both members healthy")


def test_writes_replicate():
    p = wait_for(primary, what="a primary")
    sec = servers[1] if p is servers[0] else servers[0]
    c = direct(p, ADMIN)
    c.test.items.insert_many([{"_id": i, "v": i} for i in range(20)])
    c.test.items.update_many({"_id": {"$lt": 5}}, {"$inc": {"v": 100}})
    c.test.items.delete_one({"_id": 19})
    c.test.items.create_index("v")
    c.test.get_collection("items", write_concern=pymongo.WriteConcern(w=2, wtimeout=60000)) \
        .insert_one({"_id": "w2"})
    want = sorted(c.test.items.find(), key=lambda d: repr(d["_id"]))
    sc = direct(sec, ADMIN)  # the user replicated too
    coll = sc.test.get_collection("items", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)
    wait_for(lambda: sorted(coll.find(), key=lambda d: repr(d["_id"])) == want,
             what="the secondary to hold the primary's documents")
    assert "v_1" in [i["name"] for i in coll.list_indexes()]
    # the members authenticated as __system (log 5286306, isClusterMember)
    for s in servers[:2]:
        assert [d for d in s.log_entries(5286306)
                if d.get("attr", {}).get("user") == "__system"], "no __system login on %d" % s.port


def test_step_down_elects_the_other():
    p = wait_for(primary, what="a primary")
    other = servers[1] if p is servers[0] else servers[0]
    term = direct(p, ADMIN).admin.command("replSetGetStatus")["term"]
    try:
        direct(p, ADMIN).admin.command("replSetStepDown", 60, secondaryCatchUpPeriodSecs=30)
    except pymongo.errors.AutoReconnect:
        pass
    wait_for(lambda: hello(other).get("isWritablePrimary"), what="the other member elected")
    assert direct(other, ADMIN).admin.command("replSetGetStatus")["term"] > term
    direct(other, ADMIN).test.items.insert_one({"_id": "after"})
    coll = direct(p, ADMIN).test.get_collection(
        "items", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)
    wait_for(lambda: coll.find_one({"_id": "after"}) is not None,
             what="the old primary to replicate from the new one")
    # the member with the other key never took the config nor any data
    assert "setName" not in hello(servers[2])
    assert direct(servers[2]).admin.command("ping")["ok"] == 1


def main():
    good = keyfile("good", "c2VjcmV0LWtleS1mb3ItbWljYS1zZXQtbWVtYmVycw==")
    bad = keyfile("bad", "YW5vdGhlci1rZXktdGhhdC1kb2VzLW5vdC1tYXRjaA==")
    for key in (good, good, bad):
        s = Server(["--replSet", SET, "--keyFile", key])
        s.start(timeout=60)
        servers.append(s)
    failed = run_tests(collect_tests(globals()))
    for s in servers:
        if failed:
            s.failed = True
        s.stop()
    for f in os.listdir(KEYDIR):
        os.chmod(os.path.join(KEYDIR, f), 0o600)
    import shutil
    shutil.rmtree(KEYDIR, ignore_errors=True)
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
