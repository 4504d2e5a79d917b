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
import json
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

SET = "rsx"
CERTS = tempfile.mkdtemp(prefix="mica-repl-x509-")
MEMBER = "CN=member,OU=cluster,O=Mica"
ADMIN = ("admin", "admin-pw")
servers = []  # s0, s1: O=Mica OU=cluster; s2: O=Other


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, cwd=CERTS)


def p(name):
    return os.path.join(CERTS, name)


def make_certs():
    with open(p("san.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ca",
            "-keyout", "ca.key", "-out", "ca.pem")
    for name, subj, ext in (("server", "/O=Mica/OU=cluster/CN=localhost", ["-extfile", "san.cnf"]),
                            ("member", "/O=Mica/OU=cluster/CN=member", []),
                            ("client", "/O=Mica/OU=tests/CN=client", []),
                            ("other", "/O=Other/OU=cluster/CN=localhost", ["-extfile", "san.cnf"])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", name + ".key",
                "-out", name + ".csr")
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", name + ".crt", *ext)
        with open(p(name + ".pem"), "w") as out:
            for part in (name + ".crt", name + ".key"):
                with open(p(part)) as f:
                    out.write(f.read())
    for f in os.listdir(CERTS):
        os.chmod(p(f), 0o600)


def tls_ping(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(p("ca.pem"))
    ctx.load_cert_chain(p("client.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(op_msg({"ping": 1, "$db": "admin"}))
            return read_reply(s).get("ok") == 1


class X509Member(Server):
    def start(self, timeout=60):
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.print_log()
                raise RuntimeError("micad exited during start-up with %d" % self.proc.returncode)
            try:
                if tls_ping(self.port):
                    return self
            except (OSError, ssl.SSLError, ConnectionError):
                pass
            time.sleep(0.2)
        self.stop(print_log=True)
        raise RuntimeError("micad did not answer a TLS ping in %ds" % timeout)


def client(s, user=None, **kw):
    args = dict(directConnection=True, tls=True, tlsCAFile=p("ca.pem"),
                tlsCertificateKeyFile=p("client.pem"), serverSelectionTimeoutMS=20000)
    if user:
        args.update(username=user[0], password=user[1], authSource="admin")
    args.update(kw)
    return pymongo.MongoClient("mongodb://localhost:%d/" % s.port, **args)


def primary():
    for s in servers[:2]:
        try:
            if client(s).admin.command("hello").get("isWritablePrimary"):
                return s
        except PyMongoError:
            pass
    return None


def log_lines(s, log_id):
    out = []
    for line in s.log_text().splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("id") == log_id:
            out.append(d)
    return out


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
    refused = wait_for(lambda: [d for d in log_lines(servers[2], 5286307)
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
        ok = [d for d in log_lines(s, 5286306) if d.get("attr", {}).get("user") == "__system"]
        assert ok and ok[0]["attr"]["mechanism"] == "MONGODB-X509", s.port


def main():
    make_certs()
    for pem in ("server.pem", "server.pem", "other.pem"):
        s = X509Member(["--replSet", SET, "--clusterAuthMode", "x509", "--tlsMode", "requireTLS",
                        "--tlsCertificateKeyFile", p(pem), "--tlsCAFile", p("ca.pem"),
                        "--tlsClusterFile", p("member.pem")])
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
