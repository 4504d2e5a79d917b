"""test_tls.py -- TLS through pymongo, mongosh and the raw wire: the test makes
its own CA, server and client certificates with the openssl command line (no
key is committed), then checks requireTLS (TLS works, plain is refused),
allowTLS/preferTLS (both work on one port), SCRAM-SHA-256 and SHA-1 over TLS,
client certificates (required, optional, invalid ones), TLS 1.2 as the
floor, MONGODB-X509 mapping the certificate subject to a $external user, and
bad TLS options refusing to start."""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import warnings  # noqa: E402
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure, PyMongoError  # noqa: E402

import time  # noqa: E402

from harness import collect_tests, micad_path, op_msg, run_tests  # noqa: E402
from tlscerts import Certs, TlsServer  # noqa: E402

CERTS = Certs("mica-tls-")
p = CERTS.p
CLIENT_SUBJECT = "CN=client,OU=tests,O=Mica"


def make_certs():
    """ca.pem; server.pem (cert + key, SAN localhost/127.0.0.1); client.pem; rogue.pem."""
    CERTS.ca("ca", "/CN=Mica Test CA")
    CERTS.issue("server", "/CN=localhost", san=True)
    CERTS.issue("client", "/O=Mica/OU=tests/CN=client")
    CERTS.self_signed("rogue", "/CN=rogue")  # a client certificate no CA vouches for
    CERTS.lock_down()


def tls_client(port, cert="client.pem", **kw):
    args = dict(tls=True, tlsCAFile=p("ca.pem"), serverSelectionTimeoutMS=5000)
    if cert:
        args["tlsCertificateKeyFile"] = p(cert)
    args.update(kw)
    return pymongo.MongoClient("mongodb://localhost:%d/" % port, **args)


def plain_ping(port):
    """Raw plain OP_MSG ping; True if answered."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(op_msg({"ping": 1, "$db": "admin"}))
            return len(s.recv(16)) == 16
    except OSError:
        return False


def tls_server(args):
    """A server whose readiness check speaks TLS (a requireTLS server ignores plain hellos)."""
    return TlsServer(args, p("ca.pem"), p("client.pem"))


def server_args(mode, *extra):
    return ["--tlsMode", mode, "--tlsCertificateKeyFile", p("server.pem"), "--tlsCAFile",
            p("ca.pem")] + list(extra)


def test_require_tls_serves_tls_and_refuses_plain():
    with tls_server(server_args("requireTLS")) as s:
        c = tls_client(s.port)
        c.test.t.insert_one({"a": 1})
        assert c.test.t.find_one({}, {"_id": 0}) == {"a": 1}
        assert not plain_ping(s.port)
        assert '"ssl":"on"' in s.log_text().replace(" ", "")


def test_allow_and_prefer_tls_serve_both_on_one_port():
    for mode in ("allowTLS", "preferTLS"):
        with tls_server(server_args(mode)) as s:
            assert plain_ping(s.port)
            assert tls_client(s.port).admin.command("ping")["ok"] == 1
            plain = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
            assert plain.admin.command("ping")["ok"] == 1


def test_tls_1_2_is_the_floor_and_big_replies_cross():
    with tls_server(server_args("requireTLS")) as s:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(p("ca.pem"))
        ctx.load_cert_chain(p("client.pem"))
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost"):
                    pass
            raise AssertionError("TLS 1.1 handshake succeeded")
        except (ssl.SSLError, OSError):
            pass
        c = tls_client(s.port)
        big = "x" * (4 * 1024 * 1024)
        c.test.big.insert_many([{"i": i, "s": big} for i in range(3)])
        assert sum(len(d["s"]) for d in c.test.big.find()) == 3 * len(big)


def test_client_certificates_required_optional_invalid():
    with tls_server(server_args("requireTLS")) as s:
        try:
            tls_client(s.port, cert=None).admin.command("ping")
            raise AssertionError("connected without a client certificate")
        except PyMongoError:
            pass
        try:
            tls_client(s.port, cert="rogue.pem").admin.command("ping")
            raise AssertionError("connected with an unknown CA's certificate")
        except PyMongoError:
            pass
    with tls_server(server_args("requireTLS", "--tlsAllowConnectionsWithoutCertificates")) as s:
        assert tls_client(s.port, cert=None).admin.command("ping")["ok"] == 1
    with tls_server(server_args("requireTLS", "--tlsAllowInvalidCertificates")) as s:
        assert tls_client(s.port, cert="rogue.pem").admin.command("ping")["ok"] == 1


def test_scram_over_tls_and_x509():
    with tls_server(server_args("requireTLS", "--auth")) as s:
        c = tls_client(s.port)
        c.admin.command("createUser", "tu", pwd="tls-pw", roles=["root"])
        root = tls_client(s.port, username="tu", password="tls-pw", authSource="admin")
        root.get_database("$external").command("createUser", CLIENT_SUBJECT,
                                                roles=[{"role": "read", "db": "test"}])
        for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            u = tls_client(s.port, username="tu", password="tls-pw", authSource="admin",
                           authMechanism=mech)
            u.test.t.insert_one({"m": mech})
        x = tls_client(s.port, authMechanism="MONGODB-X509")
        assert x.test.t.count_documents({}) == 2
        st = x.admin.command("connectionStatus")["authInfo"]
        assert st["authenticatedUsers"] == [{"user": CLIENT_SUBJECT, "db": "$external"}], st
        try:
            x.test.t.insert_one({"no": 1})
            raise AssertionError("read-only x509 user wrote")
        except OperationFailure as e:
            assert e.code == 13
        # the subject must match an existing $external user
        c2 = tls_client(s.port, username="tu", password="tls-pw", authSource="admin")
        c2.get_database("$external").command("dropUser", CLIENT_SUBJECT)
        try:
            tls_client(s.port, authMechanism="MONGODB-X509").test.t.find_one()
            raise AssertionError("x509 without a user")
        except OperationFailure as e:
            assert e.code == 18


def test_mongosh_over_tls():
    sh = os.environ.get("MONGOSH") or "mongosh"
    env = dict(os.environ, MONGOSH_NO_UPDATE_CHECK="1", DO_NOT_TRACK="1")
    env.pop("ASAN_OPTIONS", None)
    with tls_server(server_args("requireTLS", "--auth")) as s:
        tls_client(s.port).admin.command("createUser", "sh", pwd="sh-pw", roles=["root"])
        for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            r = subprocess.run([sh, "--quiet", "--norc", "--tls", "--tlsCAFile", p("ca.pem"),
                                "--tlsCertificateKeyFile", p("client.pem"),
                                "mongodb://sh:sh-pw@localhost:%d/test?authSource=admin&authMechanism=%s"
                                % (s.port, mech),
                                "--eval", "db.t.insertOne({x: 1}); print('count=' + db.t.countDocuments({}))"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300)
            out = r.stdout.decode(errors="replace")
            assert r.returncode == 0 and "count=" in out, out


def test_bad_tls_options_refuse_to_start():
    def run(args):
        return subprocess.run([micad_path(), "--port", "1", "--dbpath", "/nonexistent"] + args,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    r = run(["--tlsMode", "sometimes"])
    assert r.returncode == 2 and b"Invalid value for tlsMode" in r.stderr, r.stderr
    r = run(["--tlsMode", "requireTLS"])
    assert r.returncode == 2 and b"need tlsCertificateKeyFile" in r.stderr, r.stderr
    d = tempfile.mkdtemp(prefix="mica-tls-bad-")
    try:
        r = subprocess.run([micad_path(), "--port", "1", "--dbpath", d, "--tlsMode", "requireTLS",
                            "--tlsCertificateKeyFile", p("ca.pem")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 1 and b"cannot read PEM key file" in r.stderr, r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    make_certs()
    try:
        failed = run_tests(collect_tests(globals()))
    finally:
        shutil.rmtree(CERTS.dir, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
