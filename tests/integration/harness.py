"""harness.py -- start a real micad for Python integration tests.

Server() picks a free loopback port and a temp dbpath, spawns $MICAD with
--port/--bind_ip/--dbpath/--logpath, waits until hello answers, and on stop()
sends SIGTERM, reaps the process and (when asked, or when it did not exit 0)
prints its log. Use it as a context manager.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import bson


def free_port():
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def micad_path():
    path = os.environ.get("MICAD")
    if not path:
        sys.exit("MICAD is not set")
    return path


class Server:
    def __init__(self, extra_args=(), port=None):
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="mica-pytest-")
        self.dbpath = self.dir
        self.logpath = os.path.join(self.dir, "micad.log")
        self.proc = None
        self.failed = False

    @property
    def uri(self):
        return "mongodb://127.0.0.1:%d" % self.port

    def argv(self):
        return [micad_path(), "--port", str(self.port), "--bind_ip", "127.0.0.1",
                "--dbpath", self.dbpath, "--logpath", self.logpath] + self.extra_args

    def start(self, timeout=30):
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.print_log()
                raise RuntimeError("micad exited during start-up with %d: %s" %
                                   (self.proc.returncode, self.proc.stdout.read().decode()))
            try:
                if raw_command(self.port, {"hello": 1, "$db": "admin"}, timeout=1).get("ok") == 1:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop(print_log=True)
        raise RuntimeError("micad did not answer hello in %ds" % timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout=30):
        """Wait for the process to exit on its own; returns the exit code."""
        code = self.proc.wait(timeout=timeout)
        return code

    def stop(self, print_log=False, sig=signal.SIGTERM):
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                code = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
                print_log = True
            if code != 0:
                print_log = True
        if print_log or self.failed:
            self.print_log()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def print_log(self):
        sys.stderr.write("---- micad log (%s) ----\n" % self.logpath)
        try:
            with open(self.logpath) as f:
                sys.stderr.write(f.read())
        except OSError as e:
            sys.stderr.write("(no log: %s)\n" % e)
        sys.stderr.write("---- end of log ----\n")

    def log_text(self):
        with open(self.logpath) as f:
            return f.read()

    def log_entries(self, log_id):
        """The log's JSON lines with id log_id, parsed."""
        out = []
        for line in self.log_text().splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("id") == log_id:
                out.append(d)
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        self.stop()
        return False


# ---- raw wire helpers (for robustness tests and readiness checks) ----

OP_MSG = 2013
OP_COMPRESSED = 2012


def op_msg(doc, request_id=1, flags=0):
    """An OP_MSG frame with one kind-0 section."""
    body = struct.pack("<I", flags) + b"\x00" + bson.BSON.encode(doc)
    return struct.pack("<iiii", 16 + len(body), request_id, 0, OP_MSG) + body


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_reply(sock):
    """One OP_MSG reply (uncompressed) as a dict."""
    header = recv_exact(sock, 16)
    length, _, _, opcode = struct.unpack("<iiii", header)
    body = recv_exact(sock, length - 16)
    if opcode != OP_MSG:
        raise ValueError("unexpected opcode %d" % opcode)
    return bson.BSON(body[5:]).decode()


def raw_command(port, doc, timeout=5):
    """Send one OP_MSG command on a fresh socket and return the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(op_msg(doc))
        return read_reply(s)


def collect_tests(namespace):
    """Every test_* function defined in a test module (pass globals()), in the
    order of definition: suites never keep a hand-written list that could miss
    one."""
    name = namespace.get("__name__")
    return [v for k, v in namespace.items()
            if k.startswith("test_") and callable(v) and getattr(v, "__module__", None) == name]


def run_tests(tests, server=None):
    """Run test functions in order; print a summary; return the number of failures
    (marking server failed so its log is printed when it stops)."""
    failed = 0
    for t in tests:
        try:
            t()
            print("[ OK ] %s" % t.__name__)
        except Exception as e:  # noqa: BLE001 -- every failure is reported
            failed += 1
            import traceback
            traceback.print_exc()
            print("[FAIL] %s: %s" % (t.__name__, e))
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    if failed and server is not None:
        server.failed = True
    return failed
