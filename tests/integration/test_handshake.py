"""test_handshake.py -- pymongo against micad: ping, hello, buildInfo, errors,
and a zlib-compressed conversation (Debian's pymongo has zlib built in)."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")  # pymongo warns about optional compressors it lacks

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, collect_tests, run_tests  # noqa: E402

server = None


def client(**kw):
    return pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=5000, **kw)


def test_admin_ping():
    with client() as c:
        assert c.admin.command("ping") == {"ok": 1.0}


def test_hello_fields():
    with client() as c:
        h = c.admin.command("hello")
        assert h["isWritablePrimary"] is True
        assert h["maxWireVersion"] == 21 and h["minWireVersion"] == 0
        assert h["maxBsonObjectSize"] == 16777216
        assert "topologyVersion" in h and "connectionId" in h
        assert "saslSupportedMechs" not in h


def test_server_info_through_driver():
    with client() as c:
        assert c.server_info()["version"] == "7.0.0"
        assert c.admin.command("buildInfo")["mica"]["version"]


def test_unknown_command_is_command_not_found():
    with client() as c:
        try:
            c.test.command("definitelyNotACommand")
        except OperationFailure as e:
            assert e.code == 59, e.details
            assert e.details["codeName"] == "CommandNotFound"
            assert e.details["errmsg"] == "no such command: 'definitelyNotACommand'"
        else:
            raise AssertionError("unknown command succeeded")


def test_zlib_compression_negotiated_and_used():
    with client(compressors="zlib") as c:
        # the driver's own handshake negotiated zlib; a hello asking again shows it
        h = c.admin.command({"hello": 1, "compression": ["snappy-nosuch", "zlib"]})
        assert h["compression"] == ["zlib"], h
        for _ in range(3):
            assert c.admin.command("ping")["ok"] == 1.0
            assert c.admin.command("getLog", "global")["totalLinesWritten"] > 0
        status = c.admin.command("serverStatus")
        assert status["network"]["numRequests"] > 0


def test_no_compression_when_client_offers_none():
    with client() as c:
        h = c.admin.command("hello")
        assert "compression" not in h


def main():
    global server
    with Server() as s:
        server = s
        failed = run_tests(collect_tests(globals()), s)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
