"""test_options.py -- micad's command line and config file as an operator
meets them: bad options exit 2 with a message, --version and --help exit 0,
a YAML config file starts a server, the command line wins over the file, and
mongod's exit codes for a missing dbpath (100), a locked dbpath (100) and a
taken port (48)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import warnings  # noqa: E402
warnings.simplefilter("ignore")

import pymongo  # noqa: E402

from harness import Server, free_port, micad_path, collect_tests, run_tests  # noqa: E402


def run(args, timeout=30):
    return subprocess.run([micad_path()] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


BAD_LINES = [
    (["--nosuch"], "unrecognised option '--nosuch'"),
    (["--port"], "required argument for option '--port' is missing"),
    (["--port", "notaport"], "the argument ('notaport') for option '--port' is invalid"),
    (["--port=99999"], "for option '--port' is invalid"),
    (["--maxConns", "0"], "for option '--maxConns' is invalid"),
    (["positional"], "too many positional options"),
    (["--config", "/nonexistent/micad.yaml"], "Error reading config file"),
    # parsed but not carried out yet: refused, never ignored
    (["--shardsvr"], "--shardsvr is not implemented yet"),
    (["--configsvr"], "--configsvr is not implemented yet"),
    # storage options: checked before anything starts
    (["--wiredTigerCacheSizeGB", "0.1"], "for option '--wiredTigerCacheSizeGB' is invalid"),
    (["--wiredTigerCacheSizeGB", "lots"], "for option '--wiredTigerCacheSizeGB' is invalid"),
    (["--wiredTigerJournalCompressor", "lz4"], "snappy, zlib, zstd or none"),
    (["--wiredTigerCollectionBlockCompressor", "zstd"], "compressor zstd is not available"),
]


def test_bad_options_exit_2_with_a_message():
    for args, msg in BAD_LINES:
        r = run(args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert msg in r.stderr.decode(), (args, r.stderr)
        assert b"--help" in r.stderr


def test_bad_yaml_exits_2():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("net:\n  port: 1\n  nosuch: true\n")
    try:
        r = run(["-f", f.name])
        assert r.returncode == 2, r
        assert b"Unrecognized option: net.nosuch" in r.stderr, r.stderr
    finally:
        os.unlink(f.name)


def test_version_and_help_exit_0():
    r = run(["--version"])
    assert r.returncode == 0 and b"db version v7.0.0" in r.stdout, r
    r = run(["--help"])
    assert r.returncode == 0 and b"--port arg" in r.stdout and b"--dbpath arg" in r.stdout, r


def test_missing_dbpath_exits_100():
    r = run(["--port", str(free_port()), "--dbpath", "/nonexistent/mica-db"])
    assert r.returncode == 100, r
    assert b"Data directory /nonexistent/mica-db not found" in r.stderr, r.stderr


def test_config_file_starts_a_server_and_command_line_wins():
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="mica-cfg-") as d:
        cfg = os.path.join(d, "micad.yaml")
        with open(cfg, "w") as f:
            f.write("net:\n  port: 1\n  bindIp: 127.0.0.1\n  maxIncomingConnections: 50\n"
                    "storage:\n  dbPath: %s\nsystemLog:\n  destination: file\n"
                    "  path: %s/micad.log\n  logAppend: true\n"
                    "operationProfiling:\n  slowOpThresholdMs: 250\n" % (d, d))
        proc = subprocess.Popen([micad_path(), "--config", cfg, "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            c = pymongo.MongoClient("mongodb://127.0.0.1:%d" % port,
                                    serverSelectionTimeoutMS=20000)
            opts = c.admin.command("getCmdLineOpts")
            assert opts["parsed"]["net"]["port"] == port, opts
            assert opts["parsed"]["net"]["maxIncomingConnections"] == 50, opts
            assert opts["parsed"]["operationProfiling"]["slowOpThresholdMs"] == 250
            assert opts["parsed"]["config"] == cfg
            status = c.admin.command("serverStatus")
            assert status["connections"]["available"] <= 50
            c.close()
        finally:
            proc.terminate()
            assert proc.wait(timeout=30) == 0
            proc.stdout.close()


def engine_opened(log_text):
    """The attributes of the last "Storage engine opened" log line."""
    import json
    lines = [json.loads(line) for line in log_text.splitlines() if '"id":22107' in line]
    return lines[-1]["attr"]


def test_storage_cache_and_compressors_are_applied():
    yaml = ("storage:\n  journal:\n    commitIntervalMs: 50\n  wiredTiger:\n"
            "    engineConfig:\n      cacheSizeGB: 0.5\n      journalCompressor: zlib\n"
            "    collectionConfig:\n      blockCompressor: none\n")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(yaml)
    try:
        with Server(extra_args=["-f", f.name]) as s:
            c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
            c.t.c.insert_many([{"x": "y" * 100} for _ in range(100)])
            parsed = c.admin.command("getCmdLineOpts")["parsed"]["storage"]
            assert parsed["wiredTiger"]["engineConfig"]["cacheSizeGB"] == 0.5, parsed
            c.close()
            attr = engine_opened(s.log_text())
            assert attr["cacheSizeMB"] == 512 and attr["journalCompressor"] == "zlib", attr
            assert attr["blockCompressor"] == "none" and attr["commitIntervalMs"] == 50, attr
            with open(os.path.join(s.dbpath, "WiredTiger.basecfg")) as b:
                base = b.read()
            assert "cache_size=512M" in base and "compressor=zlib" in base, base
    finally:
        os.unlink(f.name)
    # the command line; the default cache follows mongod's rule (at least 256 MB)
    with Server(extra_args=["--wiredTigerCollectionBlockCompressor", "zlib"]) as s:
        c = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
        c.t.c.insert_many([{"x": "y" * 100} for _ in range(100)])
        assert c.t.c.count_documents({}) == 100
        c.close()
        attr = engine_opened(s.log_text())
        assert attr["blockCompressor"] == "zlib" and attr["journalCompressor"] == "snappy", attr
        assert attr["cacheSizeMB"] >= 256, attr


def test_second_server_on_same_dbpath_exits_100():
    with Server() as s:
        r = run(["--port", str(free_port()), "--bind_ip", "127.0.0.1", "--dbpath", s.dbpath])
        assert r.returncode == 100, r
        assert b"already running" in r.stderr or b"lock" in r.stderr, r.stderr


def test_taken_port_exits_48():
    with Server() as s, tempfile.TemporaryDirectory(prefix="mica-port-") as d:
        r = run(["--port", str(s.port), "--bind_ip", "127.0.0.1", "--dbpath", d])
        assert r.returncode == 48, r
        assert s.alive()


def test_max_conns_refuses_extra_connections():
    with Server(["--maxConns", "2"]) as s:
        import socket
        import harness
        import time

        def ping_on(sock):
            sock.sendall(harness.op_msg({"ping": 1, "$db": "admin"}))
            return harness.read_reply(sock)["ok"] == 1.0

        # The harness's own readiness probes may not be reaped by the server yet:
        # retry until two connections fit under the limit.
        deadline = time.time() + 10
        while True:
            a = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            b = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            try:
                if ping_on(a) and ping_on(b):
                    break
            except (ConnectionError, OSError):
                pass
            a.close()
            b.close()
            assert time.time() < deadline, "two connections never fit under --maxConns 2"
            time.sleep(0.1)
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        try:
            extra.sendall(harness.op_msg({"ping": 1, "$db": "admin"}))
            assert extra.recv(100) == b""
        except ConnectionResetError:
            pass
        extra.close()
        a.close()
        b.close()
        assert "too many open connections" in s.log_text()


def main():
    failed = run_tests(collect_tests(globals()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
