"""test_repl_tls.py -- replica-set members dial each other over TLS under
--tlsMode requireTLS (a plain connection would be refused), presenting their
--tlsClusterFile certificate and checking the peer's chain against
--tlsCAFile and its name against the host in the config. The test makes its
own CAs and certificates with the openssl command line (no key is
committed). A two-member set initiates, elects and replicates; a member whose
certificate another CA signed cannot join (the TLS handshake of the quorum
check fails, SSLHandshakeFailed)."""
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

SET = "rst"
CERTS = Certs("mica-repl-tls-")
p = CERTS.p
servers = []  # s0, s1: the set's CA; s2: certificates from another CA


def make_certs():
    for ca in ("ca", "other-ca"):
        CERTS.ca(ca)
    CERTS.issue("server", "/CN=localhost", "ca", san=True)
    CERTS.issue("member", "/O=Mica/OU=cluster/CN=member", "ca")
    CERTS.issue("client", "/O=Mica/OU=tests/CN=client", "ca")
    CERTS.issue("other-server", "/CN=localhost", "other-ca", san=True)
    CERTS.lock_down()


def client(s):
    # the client certificate is from the set's CA: s2's server trusts only the other CA
    return pymongo.MongoClient("mongodb://localhost:%d/" % s.port, directConnection=True,
                               tls=True, tlsCAFile=s.ca_pem, tlsCertificateKeyFile=p("client.pem"),
                               serverSelectionTimeoutMS=20000)


def primary():
    i = primary_index(servers, (0, 1), client)
    return None if i is None else servers[i]


def test_member_from_another_ca_cannot_join():
    hosts = ["127.0.0.1:%d" % s.port for s in servers]
    cfg = {"_id": SET, "version": 1, "members": [{"_id": i, "host": h} for i, h in enumerate(hosts)]}
    try:
        client(servers[0]).admin.command("replSetInitiate", cfg)
        raise AssertionError("a member with a certificate from another CA joined")
    except OperationFailure as e:
        assert e.code == 74, e.details
        assert hosts[2] in e.details["errmsg"] and "SSLHandshakeFailed" in e.details["errmsg"], \
            e.details


def test_tls_set_initiates_elects_replicates():
    hosts = ["127.0.0.1:%d" % s.port for s in servers[:2]]
    cfg = {"_id": SET, "version": 1,
           "members": [{"_id": i, "host": h} for i, h in enumerate(hosts)],
           "settings": {"electionTimeoutMillis": 3000, "heartbeatIntervalMillis": 500}}
    assert client(servers[0]).admin.command("replSetInitiate", cfg)["ok"] == 1
    pr = wait_for(primary, what="a primary")
    sec = servers[1] if pr is servers[0] else servers[0]

    def healthy():
        st = client(pr).admin.command("replSetGetStatus")
        return sorted(m["stateStr"] for m in st["members"]) == ["PRIMARY", "SECONDARY"] and \
            all(m["health"] == 1 for m in st["members"])
    wait_for(healthy, what="both members healthy over TLS")
    c = client(pr)
    c.test.t.insert_many([{"_id": i} for i in range(10)])
    c.test.get_collection("t", write_concern=pymongo.WriteConcern(w=2, wtimeout=60000)) \
        .insert_one({"_id": "w2"})
    coll = client(sec).test.get_collection(
        "t", read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)
    wait_for(lambda: coll.count_documents({}) == 11, what="the secondary to replicate over TLS")
    # nothing dialled the members in plain text (log 23017 on a refused plain connection)
    for s in servers[:2]:
        assert '"id":23017' not in s.log_text().replace(" ", ""), s.port


def main():
    make_certs()
    for pem, ca in (("server.pem", "ca.pem"), ("server.pem", "ca.pem"),
                    ("other-server.pem", "other-ca.pem")):
        args = ["--replSet", SET, "--tlsMode", "requireTLS", "--tlsCertificateKeyFile", p(pem),
                "--tlsCAFile", p(ca)]
        if ca == "ca.pem":
            args += ["--tlsClusterFile", p("member.pem")]
        s = TlsServer(args, p(ca), p("client.pem"))
        if ca == "other-ca.pem":  # its server trusts the client certificate's CA for clients
            s.extra_args += ["--tlsClusterCAFile", p("ca.pem")]
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
