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
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure, PyMongoError  # noqa: E402

from harness import Server, collect_tests, op_msg, read_reply, run_tests  # noqa: E402
from replset import wait_for  # noqa: E402

SET = "rst"
CERTS = tempfile.mkdtemp(prefix="mica-repl-tls-")
servers = []  # s0, s1: the set's CA; s2: certificates from another CA


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, cwd=CERTS)


def p(name):
    return os.path.join(CERTS, name)


def make_certs():
    with open(p("san.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                "/CN=%s" % ca, "-keyout", ca + ".key", "-out", ca + ".pem")
    for name, subj, ca, ext in (("server", "/CN=localhost", "ca", ["-extfile", "san.cnf"]),
                                ("member", "/O=Mica/OU=cluster/CN=member", "ca", []),
                                ("client", "/O=Mica/OU=tests/CN=client", "ca", []),
                                ("other-server", "/CN=localhost", "other-ca",
                                 ["-extfile", "san.cnf"])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", name + ".key",
                "-out", name + ".csr")
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-days", "2", "-out", name + ".crt", *ext)
        with open(p(name + ".pem"), "w") as out:
            for part in (name + ".crt", name + ".key"):
                with open(p(part)) as f:
                    out.write(f.read())
    for f in os.listdir(CERTS):
        os.chmod(p(f), 0o600)


def tls_ping(port, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(p(ca))
    ctx.load_cert_chain(p("client.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(op_msg({"ping": 1, "$db": "admin"}))
            return read_reply(s).get("ok") == 1


class TlsMember(Server):
    """A requireTLS member; its readiness check speaks TLS."""

    def __init__(self, args, ca):
        Server.__init__(self, args)
        self.ca = ca

    def start(self, timeout=60):
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.print_log()
                raise RuntimeError("micad exited during start-up with %d" % self.proc.returncode)
            try:
                if tls_ping(self.port, self.ca):
                    return self
            except (OSError, ssl.SSLError, ConnectionError):
                pass
            time.sleep(0.2)
        self.stop(print_log=True)
        raise RuntimeError("micad did not answer a TLS ping in %ds" % timeout)


def client(s):
    # the client certificate is from the set's CA: s2's server trusts only the other CA
    return pymongo.MongoClient("mongodb://localhost:%d/" % s.port, directConnection=True,
                               tls=True, tlsCAFile=p(s.ca), tlsCertificateKeyFile=p("client.pem"),
                               serverSelectionTimeoutMS=20000)


def primary():
    for s in servers[:2]:
        try:
            if client(s).admin.command("hello").get("isWritablePrimary"):
                return s
        except PyMongoError:
            pass
    return None


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
        s = TlsMember(args, ca)
        if ca == "other-ca.pem":  # its server trusts the client certificate's CA for clients
            s.extra_args += ["--tlsClusterCAFile", p("ca.pem")]
        s.start()
        servers.append(s)
    failed = run_tests(collect_tests(globals()))
    for s in servers:
        if failed:
            s.failed = True
        s.stop()
    shutil.rmtree(CERTS, ignore_errors=True)
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
