"""test_auth.py -- access control as a pymongo user meets it: with --auth an
unauthenticated client can run only the handshake; the localhost exception
creates the first user and then closes; SCRAM-SHA-256 and SCRAM-SHA-1 log in,
a wrong password and an unknown user fail alike (18); speculative
authentication in hello; every built-in role allowed and refused on a
representative command set (one table); custom roles; revocation takes effect
on an open connection; backup/restore roles run what mongodump/mongorestore
run; the keyFile rules; and no secret in the log or in getCmdLineOpts."""
import base64
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import warnings  # noqa: E402
warnings.simplefilter("ignore")

import bson  # noqa: E402
import pymongo  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, collect_tests, micad_path, op_msg, read_reply, run_tests  # noqa: E402

ROOT_PW = "r00t-S3cret-pw"
SRV = None


def client(user=None, pw=None, mech=None, db="admin"):
    uri = SRV.uri + "/"
    if user is not None:
        uri = "mongodb://%s:%s@127.0.0.1:%d/?authSource=%s" % (user, pw, SRV.port, db)
        if mech:
            uri += "&authMechanism=" + mech
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)


def code_of(fn):
    """0 when fn succeeds, else the server's error code."""
    try:
        fn()
        return 0
    except OperationFailure as e:
        return e.code


def root():
    return client("root", ROOT_PW)


# ---------------------------------------------------------------------------
# Before the first user

def test_unauthenticated_client_runs_only_the_handshake():
    c = client()
    for cmd in ("hello", "isMaster", "ping", "buildInfo", "connectionStatus", "whatsmyuri"):
        assert c.admin.command(cmd)["ok"] == 1, cmd
    refused = [
        lambda: c.test.c.find_one(),
        lambda: c.test.c.insert_one({"a": 1}),
        lambda: c.admin.command("listDatabases"),
        lambda: c.admin.command("serverStatus"),
        lambda: c.admin.command("getCmdLineOpts"),
        lambda: c.test.command("dbStats"),
        lambda: c.admin.command("usersInfo", 1),
    ]
    for fn in refused:
        assert code_of(fn) == 13
    try:
        c.test.c.find_one()
    except OperationFailure as e:
        assert e.details["codeName"] == "Unauthorized"
        assert "requires authentication" in e.details["errmsg"]


def test_localhost_exception_only_creates_a_user_on_admin():
    c = client()
    assert code_of(lambda: c.test.command("createUser", "x", pwd="x", roles=[])) == 13
    c.admin.command("createUser", "root", pwd=ROOT_PW, roles=["root"])


def test_localhost_exception_closes_once_a_user_exists():
    c = client()
    assert code_of(lambda: c.admin.command("createUser", "second", pwd="x", roles=["root"])) == 13
    assert code_of(lambda: c.test.c.find_one()) == 13


# ---------------------------------------------------------------------------
# SCRAM

def test_scram_sha256_sha1_and_default_log_in():
    r = root()
    r.admin.command("createUser", "both", pwd="pw1", roles=[{"role": "readWrite", "db": "test"}])
    r.admin.command("createUser", "only1", pwd="pw2", roles=[{"role": "read", "db": "test"}],
                    mechanisms=["SCRAM-SHA-1"])
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1", None):
        c = client("both", "pw1", mech)
        c.test.scram.insert_one({"mech": str(mech)})
        st = c.admin.command("connectionStatus")["authInfo"]
        assert st["authenticatedUsers"] == [{"user": "both", "db": "admin"}], st
        assert st["authenticatedUserRoles"] == [{"role": "readWrite", "db": "test"}], st
    assert client("only1", "pw2").test.scram.count_documents({}) == 3
    assert code_of(lambda: client("only1", "pw2", "SCRAM-SHA-256").test.scram.find_one()) == 18


def mongosh(uri, script):
    sh = os.environ.get("MONGOSH") or "mongosh"
    env = dict(os.environ, MONGOSH_NO_UPDATE_CHECK="1", DO_NOT_TRACK="1")
    env.pop("ASAN_OPTIONS", None)  # mongosh is node, not our code
    r = subprocess.run([sh, "--quiet", "--norc", uri, "--eval", script], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env, timeout=300)
    return r.returncode, r.stdout.decode(errors="replace")


def test_mongosh_logs_in_with_sha256_and_sha1():
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        uri = "mongodb://both:pw1@127.0.0.1:%d/test?authSource=admin&authMechanism=%s" % (
            SRV.port, mech)
        code, out = mongosh(uri, "db.sh.insertOne({m: '%s'}); print('n=' + db.sh.countDocuments({}));"
                                 "print(JSON.stringify(db.runCommand({connectionStatus: 1}).authInfo"
                                 ".authenticatedUsers))" % mech)
        assert code == 0, out
        assert '[{"user":"both","db":"admin"}]' in out, out
    code, out = mongosh("mongodb://both:nope@127.0.0.1:%d/test?authSource=admin" % SRV.port,
                        "db.sh.findOne()")
    assert code != 0 and "Authentication failed" in out, out


def test_wrong_password_and_unknown_user_fail_alike():
    errs = []
    for user, pw in (("both", "wrong"), ("nobody", "pw1")):
        try:
            client(user, pw).test.c.find_one()
            raise AssertionError("authenticated")
        except OperationFailure as e:
            errs.append((e.code, e.details.get("errmsg"), e.details.get("codeName")))
    assert errs[0] == errs[1] == (18, "Authentication failed.", "AuthenticationFailed"), errs
    log = SRV.log_text()
    assert '"id":5286307' in log and '"user":"nobody"' in log.replace(" ", "")
    assert '"client":"127.0.0.1:' in log.replace(" ", "")


def test_hello_saslSupportedMechs():
    c = client()
    h = c.admin.command("hello", saslSupportedMechs="admin.only1")
    assert h["saslSupportedMechs"] == ["SCRAM-SHA-1"], h
    h = c.admin.command("hello", saslSupportedMechs="admin.both")
    assert sorted(h["saslSupportedMechs"]) == ["SCRAM-SHA-1", "SCRAM-SHA-256"]
    assert "saslSupportedMechs" not in c.admin.command("hello", saslSupportedMechs="admin.nobody")


def _hi(pw, salt, i):
    return hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, i)


def test_speculative_authentication_in_hello():
    """hello carries saslStart; one saslContinue on the same socket finishes it."""
    nonce = base64.b64encode(os.urandom(24)).decode()
    first_bare = "n=both,r=" + nonce
    with socket.create_connection(("127.0.0.1", SRV.port), timeout=10) as s:
        s.sendall(op_msg({"hello": 1, "$db": "admin", "speculativeAuthenticate": {
            "saslStart": 1, "mechanism": "SCRAM-SHA-256", "db": "admin",
            "payload": bson.Binary(("n,," + first_bare).encode()),
            "options": {"skipEmptyExchange": True}}}))
        spec = read_reply(s)["speculativeAuthenticate"]
        server_first = bytes(spec["payload"]).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert attrs["r"].startswith(nonce) and int(attrs["i"]) == 15000
        salted = _hi("pw1", base64.b64decode(attrs["s"]), int(attrs["i"]))
        ckey = hmac.new(salted, b"Client Key", "sha256").digest()
        final_np = "c=biws,r=" + attrs["r"]
        auth = ",".join([first_bare, server_first, final_np]).encode()
        sig = hmac.new(hashlib.sha256(ckey).digest(), auth, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(ckey, sig))
        s.sendall(op_msg({"saslContinue": 1, "$db": "admin", "conversationId": spec["conversationId"],
                          "payload": bson.Binary((final_np + ",p=" + base64.b64encode(proof).decode()).encode())}, 2))
        r = read_reply(s)
        assert r["ok"] == 1 and r["done"] is True, r
        skey = hmac.new(salted, b"Server Key", "sha256").digest()
        assert bytes(r["payload"]).decode() == "v=" + base64.b64encode(
            hmac.new(skey, auth, "sha256").digest()).decode()
        s.sendall(op_msg({"connectionStatus": 1, "$db": "admin"}, 3))
        assert read_reply(s)["authInfo"]["authenticatedUsers"] == [{"user": "both", "db": "admin"}]


def test_sasl_protocol_errors():
    c = client()
    assert code_of(lambda: c.admin.command("saslContinue", 1, conversationId=1,
                                           payload=bson.Binary(b"x"))) == 17
    assert code_of(lambda: c.admin.command("saslStart", 1, mechanism="PLAIN",
                                           payload=bson.Binary(b"x"))) == 334
    assert code_of(lambda: c.admin.command("saslStart", 1, mechanism="SCRAM-SHA-256",
                                           payload=bson.Binary(b"p=tls,,n=a,r=b"))) == 2


# ---------------------------------------------------------------------------
# Built-in roles: one table

DB_ROLES = ["read", "readWrite", "dbAdmin", "dbOwner", "userAdmin"]
ADMIN_ROLES = ["clusterMonitor", "clusterManager", "clusterAdmin", "hostManager", "backup",
               "restore", "readAnyDatabase", "readWriteAnyDatabase", "userAdminAnyDatabase",
               "dbAdminAnyDatabase", "root"]

# command name -> (function of a client, the roles that may run it)
ROLE_TABLE = [
    ("find", lambda c: c.test.c.find_one(),
     {"read", "readWrite", "dbOwner", "backup", "readAnyDatabase", "readWriteAnyDatabase", "root"}),
    ("insert", lambda c: c.test.c.insert_one({"x": 1}),
     {"readWrite", "dbOwner", "restore", "readWriteAnyDatabase", "root"}),
    ("update", lambda c: c.test.c.update_one({"x": 1}, {"$set": {"y": 1}}),
     {"readWrite", "dbOwner", "readWriteAnyDatabase", "root"}),
    ("upsert", lambda c: c.test.c.update_one({"x": 2}, {"$set": {"y": 1}}, upsert=True),
     {"readWrite", "dbOwner", "readWriteAnyDatabase", "root"}),
    ("delete", lambda c: c.test.c.delete_one({"x": 1}),
     {"readWrite", "dbOwner", "readWriteAnyDatabase", "root"}),
    ("createIndexes", lambda c: c.test.c.create_index("x"),
     {"readWrite", "dbAdmin", "dbOwner", "restore", "readWriteAnyDatabase", "dbAdminAnyDatabase",
      "root"}),
    ("aggregate $out", lambda c: list(c.test.c.aggregate([{"$out": "out"}])),
     {"readWrite", "dbOwner", "readWriteAnyDatabase", "root"}),
    ("listCollections", lambda c: c.test.list_collection_names(),
     {"read", "readWrite", "dbAdmin", "dbOwner", "clusterMonitor", "clusterAdmin", "backup",
      "restore", "readAnyDatabase", "readWriteAnyDatabase", "dbAdminAnyDatabase", "root"}),
    ("dbStats", lambda c: c.test.command("dbStats"),
     {"read", "readWrite", "dbAdmin", "dbOwner", "clusterMonitor", "clusterAdmin", "backup",
      "readAnyDatabase", "readWriteAnyDatabase", "dbAdminAnyDatabase", "root"}),
    ("validate", lambda c: c.test.command("validate", "c"),
     {"dbAdmin", "dbOwner", "dbAdminAnyDatabase", "root"}),
    ("listDatabases", lambda c: c.admin.command("listDatabases"),
     {"clusterMonitor", "clusterAdmin", "backup", "restore", "readAnyDatabase",
      "readWriteAnyDatabase", "userAdminAnyDatabase", "dbAdminAnyDatabase", "root"}),
    ("serverStatus", lambda c: c.admin.command("serverStatus"),
     {"clusterMonitor", "clusterAdmin", "backup", "root"}),
    ("getCmdLineOpts", lambda c: c.admin.command("getCmdLineOpts"),
     {"clusterMonitor", "clusterAdmin", "root"}),
    ("createUser", lambda c: c.test.command("createUser", "tmp", pwd="t", roles=[],
                                            mechanisms=["SCRAM-SHA-1"]),
     {"userAdmin", "dbOwner", "restore", "userAdminAnyDatabase", "root"}),
    ("usersInfo", lambda c: c.test.command("usersInfo", 1),
     {"userAdmin", "dbOwner", "restore", "userAdminAnyDatabase", "root"}),
    ("dropUser", lambda c: c.test.command("dropUser", "tmp"),
     {"userAdmin", "dbOwner", "restore", "userAdminAnyDatabase", "root"}),
    ("find admin.system.users", lambda c: c.admin.system.users.find_one(),
     {"backup", "restore", "userAdminAnyDatabase", "root"}),
    ("drop", lambda c: c.test.drop_collection("out"),
     {"readWrite", "dbAdmin", "dbOwner", "restore", "readWriteAnyDatabase", "dbAdminAnyDatabase",
      "root"}),
    ("dropDatabase", lambda c: c.drop_database("test"),
     {"dbAdmin", "dbOwner", "clusterAdmin", "dbAdminAnyDatabase", "root"}),
]


def test_each_builtin_role_allowed_and_refused():
    r = root()
    failures = []
    for role in DB_ROLES + ADMIN_ROLES:
        db = "test" if role in DB_ROLES else "admin"
        name = "u_" + role
        r.admin.command("createUser", name, pwd="pw", roles=[{"role": role, "db": db}],
                        mechanisms=["SCRAM-SHA-256"])
        r.test.c.insert_one({"x": 1})
        c = client(name, "pw")
        for label, fn, allowed in ROLE_TABLE:
            code = code_of(lambda: fn(c))
            if (code != 13) != (role in allowed):
                failures.append("%s %s: got %d" % (role, label, code))
        c.close()
    assert not failures, "\n".join(failures)


def test_connection_status_shows_privileges():
    c = client("u_read", "pw")
    info = c.admin.command("connectionStatus", showPrivileges=True)["authInfo"]
    privs = info["authenticatedUserPrivileges"]
    test_db = [p for p in privs if p["resource"] == {"db": "test", "collection": ""}]
    assert test_db and "find" in test_db[0]["actions"] and "insert" not in test_db[0]["actions"]


def test_logout_drops_privileges():
    c = client("u_read", "pw")
    db = c.admin
    db.command("logout")
    # pymongo re-authenticates its pooled sockets lazily; use a raw socket to see the state
    with socket.create_connection(("127.0.0.1", SRV.port), timeout=10) as s:
        s.sendall(op_msg({"logout": 1, "$db": "admin"}))
        assert read_reply(s)["ok"] == 1
        s.sendall(op_msg({"find": "c", "$db": "test"}, 2))
        assert read_reply(s)["code"] == 13


# ---------------------------------------------------------------------------
# Changing users and roles

def test_revoked_role_takes_effect_on_an_open_connection():
    r = root()
    r.admin.command("createUser", "rev", pwd="pw", roles=[{"role": "readWrite", "db": "test"}],
                    mechanisms=["SCRAM-SHA-256"])
    c = client("rev", "pw")
    c.test.rev.insert_one({"a": 1})
    r.admin.command("revokeRolesFromUser", "rev", roles=[{"role": "readWrite", "db": "test"}])
    assert code_of(lambda: c.test.rev.insert_one({"a": 2})) == 13
    r.admin.command("grantRolesToUser", "rev", roles=[{"role": "read", "db": "test"}])
    assert c.test.rev.find_one({}, {"_id": 0}) == {"a": 1}
    assert code_of(lambda: c.test.rev.insert_one({"a": 3})) == 13
    r.admin.command("updateUser", "rev", pwd="new-pw")
    assert code_of(lambda: client("rev", "pw").test.rev.find_one()) == 18
    assert client("rev", "new-pw").test.rev.find_one({}, {"_id": 0}) == {"a": 1}
    r.admin.command("dropUser", "rev")
    assert code_of(lambda: c.test.rev.find_one()) == 13
    assert code_of(lambda: r.admin.command("dropUser", "rev")) == 11


def test_user_and_role_management_errors():
    r = root()
    assert code_of(lambda: r.admin.command("createUser", "both", pwd="x", roles=[])) == 51003
    assert code_of(lambda: r.admin.command("createUser", "z", pwd="x", roles=["nosuch"])) == 31
    assert code_of(lambda: r.admin.command("createUser", "z", pwd="x")) == 2
    assert code_of(lambda: r.admin.command("createUser", "z", pwd="", roles=[])) == 2
    assert code_of(lambda: r.admin.command("createRole", "read", privileges=[], roles=[])) == 2
    assert code_of(lambda: r.test.command("createRole", "bad", roles=[], privileges=[
        {"resource": {"cluster": True}, "actions": ["serverStatus"]}])) == 49
    assert code_of(lambda: r.admin.command("createRole", "bad", roles=[], privileges=[
        {"resource": {"db": "a", "collection": ""}, "actions": ["fly"]}])) == 2
    assert code_of(lambda: r.admin.command("dropRole", "nosuch")) == 31


def test_custom_role_on_one_collection():
    r = root()
    r.test.only.insert_one({"v": 1})
    r.test.other.insert_one({"v": 2})
    r.test.command("createRole", "onlyReader", roles=[], privileges=[
        {"resource": {"db": "test", "collection": "only"}, "actions": ["find"]}])
    r.test.command("createUser", "cr", pwd="pw", roles=["onlyReader"], mechanisms=["SCRAM-SHA-256"])
    c = client("cr", "pw", db="test")
    assert c.test.only.find_one({}, {"_id": 0}) == {"v": 1}
    assert code_of(lambda: c.test.other.find_one()) == 13
    r.test.command("grantPrivilegesToRole", "onlyReader", privileges=[
        {"resource": {"db": "test", "collection": "other"}, "actions": ["find"]}])
    assert c.test.other.find_one({}, {"_id": 0}) == {"v": 2}
    info = r.test.command("rolesInfo", "onlyReader", showPrivileges=True)["roles"][0]
    assert info["role"] == "onlyReader" and info["isBuiltin"] is False
    assert len(info["privileges"]) == 2
    r.test.command("revokePrivilegesFromRole", "onlyReader", privileges=[
        {"resource": {"db": "test", "collection": "only"}, "actions": ["find"]}])
    assert code_of(lambda: c.test.only.find_one()) == 13
    r.test.command("grantRolesToRole", "onlyReader", roles=["read"])
    assert c.test.only.find_one({}, {"_id": 0}) == {"v": 1}
    r.test.command("dropRole", "onlyReader")
    assert code_of(lambda: c.test.only.find_one()) == 13
    users = r.test.command("usersInfo", "cr", showPrivileges=True)["users"]
    assert users[0]["user"] == "cr" and users[0]["mechanisms"] == ["SCRAM-SHA-256"]
    assert "credentials" not in users[0]


def test_users_info_of_oneself_needs_no_privilege():
    c = client("u_read", "pw")
    u = c.admin.command("usersInfo", "u_read")["users"]
    assert u[0]["user"] == "u_read"
    assert code_of(lambda: c.admin.command("usersInfo", "root")) == 13


# ---------------------------------------------------------------------------
# What mongodump and mongorestore run, under backup and restore

def test_backup_and_restore_roles_run_dump_and_restore_commands():
    r = root()
    r.dumped.c.insert_many([{"i": i} for i in range(5)])
    r.dumped.c.create_index("i")
    r.admin.command("createUser", "bk", pwd="pw", roles=["backup"], mechanisms=["SCRAM-SHA-256"])
    r.admin.command("createUser", "rs", pwd="pw", roles=["restore"], mechanisms=["SCRAM-SHA-256"])
    bk = client("bk", "pw")
    # mongodump: listDatabases, listCollections, listIndexes, find (incl. users and roles)
    names = [d["name"] for d in bk.admin.command("listDatabases")["databases"]]
    assert "dumped" in names
    colls = bk.dumped.list_collection_names()
    idx = list(bk.dumped.c.list_indexes())
    docs = list(bk.dumped.c.find({}, {"_id": 0}))
    users = list(bk.admin.system.users.find())
    assert colls == ["c"] and len(idx) == 2 and len(docs) == 5 and users
    assert code_of(lambda: bk.dumped.c.insert_one({"i": 9})) == 13
    # mongorestore: create, insert, createIndexes, createUser
    rs = client("rs", "pw")
    rs.restored.command("create", "c")
    rs.restored.c.insert_many(docs)
    rs.restored.command("createIndexes", "c", indexes=[i for i in idx if i["name"] != "_id_"])
    rs.restored.command("createUser", "restoredUser", pwd="x", roles=[])
    assert r.restored.c.count_documents({}) == 5
    assert code_of(lambda: rs.restored.c.update_one({}, {"$set": {"z": 1}})) == 13


# ---------------------------------------------------------------------------
# Secrets

def test_no_secret_in_slow_log_profile_or_currentOp():
    """Every command logged as slow (slowms 0) and profiled: a password stays out
    of the log line, system.profile and the command as currentOp would show it."""
    c = root()
    c.admin.command("profile", 2, slowms=0)
    try:
        c.admin.command("createUser", "slowpoke", pwd="sl0w-S3cret", roles=[])
        c.admin.command("updateUser", "slowpoke", pwd="sl0w-N3w-S3cret")
    finally:
        c.admin.command("profile", 0, slowms=100)
    log = SRV.log_text()
    assert '"createUser" : "slowpoke"' in log, "the slow log line is missing"
    for secret in ("sl0w-S3cret", "sl0w-N3w-S3cret"):
        assert secret not in log, secret
        for doc in c.admin["system.profile"].find():
            assert secret not in str(doc), doc
    c.admin.command("dropUser", "slowpoke")


def test_no_secret_in_log_or_getCmdLineOpts():
    log = SRV.log_text()
    for secret in (ROOT_PW, "pw1", "new-pw"):
        assert ('"%s"' % secret) not in log, secret
    opts = root().admin.command("getCmdLineOpts")
    assert opts["parsed"]["security"] == {"authorization": "enabled"}, opts["parsed"]


# ---------------------------------------------------------------------------
# The keyFile

def write_key(mode, text):
    fd, path = tempfile.mkstemp(prefix="mica-key-")
    os.write(fd, text.encode())
    os.close(fd)
    os.chmod(path, mode)
    return path


def run_micad(args):
    return subprocess.run([micad_path(), "--port", "1", "--dbpath", "/nonexistent"] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def test_bad_key_files_refuse_to_start():
    cases = [
        (0o644, "abcdefghij", "permissions on"),
        (0o640, "abcdefghij", "permissions on"),
        (0o600, "abc", "must be between 6 and 1024"),
        (0o600, "a" * 1025, "must be between 6 and 1024"),
        (0o600, "abc$defgh", "invalid char in key file"),
    ]
    for mode, text, msg in cases:
        path = write_key(mode, text)
        try:
            res = run_micad(["--keyFile", path])
            assert res.returncode == 1, (text, res.returncode)
            assert msg in res.stderr.decode(), res.stderr
        finally:
            os.unlink(path)
    res = run_micad(["--clusterAuthMode", "x509"])
    assert res.returncode == 2 and b"not supported" in res.stderr
    res = run_micad(["--clusterAuthMode", "keyFile"])
    assert res.returncode == 2 and b"requires security.keyFile" in res.stderr


def test_key_file_implies_auth_and_authenticates_system():
    key = "c2VjcmV0a2V5\n  Zm9yIG1pY2E=\n"  # whitespace is ignored
    path = write_key(0o600, key)
    try:
        with Server(["--keyFile", path, "--clusterAuthMode", "keyFile"]) as s:
            anon = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
            assert code_of(lambda: anon.test.c.find_one()) == 13
            uri = "mongodb://__system:%s@127.0.0.1:%d/?authSource=local&authMechanism=SCRAM-SHA-256" % (
                "".join(key.split()), s.port)
            sysc = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
            sysc.test.c.insert_one({"a": 1})
            st = sysc.admin.command("connectionStatus")["authInfo"]
            assert st["authenticatedUsers"] == [{"user": "__system", "db": "local"}]
            wrong = pymongo.MongoClient(uri.replace("c2Vj", "XXXX"), serverSelectionTimeoutMS=5000)
            assert code_of(lambda: wrong.test.c.find_one()) == 18
            opts = sysc.admin.command("getCmdLineOpts")["parsed"]["security"]
            assert opts == {"keyFile": path, "clusterAuthMode": "keyFile"}, opts
            assert "c2VjcmV0a2V5" not in s.log_text()
    finally:
        os.unlink(path)


def main():
    global SRV
    with Server(["--auth"]) as s:
        SRV = s
        tests = collect_tests(globals())
        # these two start servers of their own (with --keyFile)
        own = (test_bad_key_files_refuse_to_start,
               test_key_file_implies_auth_and_authenticates_system)
        shared = [t for t in tests if t not in own]
        failed = run_tests(shared, s)
    separate = [t for t in tests if t in own]
    failed += run_tests(separate)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
