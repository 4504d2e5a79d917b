"""tlscerts.py -- test certificates made at test time with the openssl command
line (no key is committed), and a micad Server whose readiness check speaks
TLS, for the TLS suites (test_tls.py, test_repl_tls.py, test_repl_x509.py).

Certs(prefix) makes a temp directory; ca(name) a self-signed CA (name.pem,
name.key); issue(name, subject, ca, san) a certificate signed by ca, written
as name.pem (certificate + key); self_signed(name, subject) one that no CA
vouches for; p(name) a file's path; lock_down() makes every file 0600.
"""
import os
import socket
import ssl
import subprocess
import tempfile
import time

from harness import Server, op_msg, read_reply


class Certs:
    def __init__(self, prefix):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        with open(self.p("san.cnf"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")

    def p(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=self.dir)

    def ca(self, name, subject=None):
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                     subject or "/CN=%s" % name, "-keyout", name + ".key", "-out", name + ".pem")

    def _bundle(self, name, crt):
        with open(self.p(name + ".pem"), "w") as out:
            for part in (crt, name + ".key"):
                with open(self.p(part)) as f:
                    out.write(f.read())

    def issue(self, name, subject, ca="ca", san=False):
        """name.pem: a certificate for subject signed by ca (SAN localhost/127.0.0.1 if san)."""
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout",
                     name + ".key", "-out", name + ".csr")
        self.openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
                     ca + ".key", "-CAcreateserial", "-days", "2", "-out", name + ".crt",
                     *(["-extfile", "san.cnf"] if san else []))
        self._bundle(name, name + ".crt")

    def self_signed(self, name, subject):
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                     subject, "-keyout", name + ".key", "-out", name + ".crt")
        self._bundle(name, name + ".crt")

    def lock_down(self):
        for f in os.listdir(self.dir):
            os.chmod(self.p(f), 0o600)


def tls_ping(port, ca_pem, client_pem):
    """One ping over a TLS connection that trusts ca_pem and shows client_pem."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca_pem)
    ctx.load_cert_chain(client_pem)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(op_msg({"ping": 1, "$db": "admin"}))
            return read_reply(s).get("ok") == 1


class TlsServer(Server):
    """A micad whose readiness check speaks TLS (a requireTLS server ignores plain hellos):
    it trusts ca_pem and shows client_pem."""

    start_timeout = 60

    def __init__(self, args, ca_pem, client_pem):
        Server.__init__(self, args)
        self.ca_pem = ca_pem
        self.client_pem = client_pem

    def start(self, timeout=None):
        timeout = timeout or self.start_timeout
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.print_log()
                raise RuntimeError("micad exited during start-up with %d" % self.proc.returncode)
            try:
                if tls_ping(self.port, self.ca_pem, self.client_pem):
                    return self
            except (OSError, ssl.SSLError, ConnectionError):
                pass
            time.sleep(0.1)
        self.stop(print_log=True)
        raise RuntimeError("micad did not answer a TLS ping in %ds" % timeout)
