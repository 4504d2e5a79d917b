"""test_repl_x509.py -- --clusterAuthMode x509: replica-set members dial each
other over TLS and authenticate with MONGODB-X509 using their cluster
certificate; the accepting member takes a certificate whose O, OU and DC
equal its own server certificate's for a member and logs it in as __system.
The test makes its own CA and certificates with the openssl command line (no
key is committed). A two-member set initiates through the localhost
exception, elects and replicates; a member whose certificate has other
attributes cannot join (its peers' logins fail, AuthenticationFailed); a
client certificate from the same CA with other attributes is no member; an
unauthenticated client cannot run the members' commands."""
import os
import shutil
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure, PyMongoError  # noqa: E402

from harness import collect_tests, run_tests  # noqa: E402
from replset import primary_index, wait_for  # noqa: E402
from tlscerts import Certs, TlsServer  # noqa: E402

SET = "rsx"
CERTS = Certs("mica-repl-x509-")
p = CERTS.p
MEMBER = "CN=member,OU=cluster,O=Mica"
ADMIN = ("admin", "admin-pw")
servers = []  # s0, s1: O=Mica OU=cluster; s2: O=Other


def make_certs():
    CERTS.ca("ca")
    CERTS.issue("server", "/O=Mica/OU=cluster/CN=localhost", san=True)
    CERTS.issue("member", "/O=Mica/OU=cluster/CN=member")
    CERTS.issue("client", "/O=Mica/OU=tests/CN=client")
    CERTS.issue("other", "/O=Other/OU=cluster/CN=localhost", san=True)
    CERTS.lock_down()


def client(s, user=None, **kw):
    args = dict(directConnection=True, tls=True, tlsCAFile=p("ca.pem"),
                tlsCertificateKeyFile=p("client.pem"), serverSelectionTimeoutMS=20000)
    if user:
        args.update(username=user[0], password=user[1], authSource="admin")
    args.update(kw)
    return pymongo.MongoClient("mongodb://localhost:%d/" % s.port, **args)


def primary():
    i = primary_index(servers, (0, 1), client)
    return None if i is None else servers[i]


def test_unauthenticated_client_cannot_run_member_commands():
    try:
        client(servers[0]).admin.command({"replSetHeartbeat": SET, "configVersion": -2,
                                          "from": "x:1", "checkEmpty": True})
        raise AssertionError("replSetHeartbeat ran without authentication")
    except OperationFailure as e:
        assert e.code == 13, e.details


def test_client_certificate_with_other_attributes_is_no_member():
    c = client(servers[0])
    try:
        c["$external"].command({"authenticate": 1, "mechanism": "MONGODB-X509"})
        raise AssertionError("a client certificate (OU=tests) logged in as a member")
    except OperationFailure as e:
        assert e.code == 18, e.details


def test_member_with_other_attributes_cannot_join():
    hosts = ["127.0.0.1:%d" % s.port for s in servers]
    cfg = {"_id": SET, "version": 1, "members": [{"_id": i, "host": h} for i, h in enumerate(hosts)]}
    try:
        client(servers[0]).admin.command("replSetInitiate", cfg)
        raise AssertionError("a member whose certificate has O=Other joined")
    except OperationFailure as e:
        assert e.code == 74, e.details
        assert hosts[2] in e.details["errmsg"] and "AuthenticationFailed" in e.details["errmsg"], \
            e.details
    # s2 (O=Other) refused s0's member certificate and says which subject
    refused = wait_for(lambda: [d for d in servers[2].log_entries(5286307)
                                if d.get("attr", {}).get("user") == MEMBER],
                       what="the O=Other member to log the refused certificate")
    assert refused[0]["attr"]["mechanism"] == "MONGODB-X509", refused


def test_x509_set_initiates_elects_replicates():
    hosts = ["127.0.0.1:%d" % s.port for s in servers[:2]]
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": i, "host": h} for i, h in enumerate(hosts)],
           "settings": {"electionTimeoutMillis": 3000, "heartbeatIntervalMillis": 500}}
    assert client(servers[0]).admin.command("replSetInitiate", cfg)["ok"] == 1  # localhost exception
    pr = wait_for(primary, what="a primary")
    sec = servers[1] if pr is servers[0] else servers[0]
    client(pr).admin.command("createUser", ADMIN[0], pwd=ADMIN[1], roles=["root"])

    def healthy():
        st = client(pr, ADMIN).admin.command("replSetGetStatus")
        return sorted(m["stateStr"] for m in st["members"]) == ["PRIMARY", "SECONDARY"] and \
            all(m["health"] == 1 for m in st["members"])
    wait_for(healthy, what="both members healthy")
    c = client(pr, ADMIN)
    c.test.t.insert_many([{"_id": i} for i in range(10)])
    c.test.get_collection("t", write_concern=pymongo.WriteConcern(w=2, wtimeout=60000)) \
        .insert_one({"_id": "w2"})
    coll = client(sec, ADMIN).test.get_collection(
        "t", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)
    wait_for(lambda: coll.count_documents({}) == 11, what="the secondary to replicate")
    # the members logged each other in as __system with their certificates
    for s in servers[:2]:
        ok = [d for d in s.log_entries(5286306) if d.get("attr", {}).get("user") == "__system"]
        assert ok and ok[0]["attr"]["mechanism"] == "MONGODB-X509", s.port


def main():
    make_certs()
    for pem in ("server.pem", "server.pem", "other.pem"):
        s = TlsServer(["--replSet", SET, "--clusterAuthMode", "x509", "--tlsMode", "requireTLS",
                       "--tlsCertificateKeyFile", p(pem), "--tlsCAFile", p("ca.pem"),
                       "--tlsClusterFile", p("member.pem")], p("ca.pem"), p("client.pem"))
        s.start()
        servers.append(s)
    failed = run_tests(collect_tests(globals()))
    for s in servers:
        if failed:
            s.failed = True
        s.stop()
    shutil.rmtree(CERTS.dir, ignore_errors=True)
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
