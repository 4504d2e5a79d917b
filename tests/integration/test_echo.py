"""test_echo.py -- the test-only `echo` command that bench/ycsb measures as the
transport's ceiling: off by default (CommandNotFound, exactly as an unknown
command), on with --setParameter enableTestCommands=1 (the command comes back
under `echo`), and enableTestCommands takes only 0 or 1."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import warnings  # noqa: E402
warnings.simplefilter("ignore")

import pymongo  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

from harness import Server, micad_path, collect_tests, run_tests  # noqa: E402


def test_echo_is_not_found_by_default():
    with Server() as s:
        c = pymongo.MongoClient(s.uri)
        try:
            c.admin.command("echo", 1)
            raise AssertionError("echo answered without enableTestCommands")
        except OperationFailure as e:
            assert e.code == 59, e.details
            assert e.details["errmsg"] == "no such command: 'echo'", e.details
        c.close()


def test_echo_answers_with_test_commands():
    with Server(["--setParameter", "enableTestCommands=1"]) as s:
        c = pymongo.MongoClient(s.uri)
        r = c.admin.command({"echo": 1, "payload": {"a": [1, 2, "x" * 1000]}})
        assert r["ok"] == 1.0, r
        assert r["echo"]["echo"] == 1, r
        assert r["echo"]["payload"] == {"a": [1, 2, "x" * 1000]}, r
        c.close()


def test_enable_test_commands_takes_0_or_1():
    r = subprocess.run([micad_path(), "--setParameter", "enableTestCommands=2"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 2, r
    assert b"enableTestCommands" in r.stderr, r.stderr


def main():
    failed = run_tests(collect_tests(globals()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
