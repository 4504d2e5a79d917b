"""run_jstest.py SCRIPT -- run one mongosh script against a fresh micad
(with the options its first line names after "// micad-args:", if any).

Starts micad on a free port with a temp dbpath (harness.Server), runs
  $MONGOSH --quiet --norc mongodb://127.0.0.1:PORT/test jstests/_lib/assert.js SCRIPT
and exits with mongosh's status; on failure prints mongosh's output and the
server log."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

from harness import Server  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: run_jstest.py SCRIPT")
    script = os.path.abspath(sys.argv[1])
    lib = os.path.join(os.path.dirname(script), "_lib", "assert.js")
    mongosh = os.environ.get("MONGOSH") or "mongosh"
    # a script may ask for server options in its first line: // micad-args: --x y
    with open(script) as f:
        first = f.readline()
    extra = first.split("micad-args:", 1)[1].split() if "micad-args:" in first else []
    with Server(extra_args=extra) as s:
        env = dict(os.environ, MONGOSH_NO_UPDATE_CHECK="1", DO_NOT_TRACK="1")
        env.pop("ASAN_OPTIONS", None)  # mongosh is node, not our code
        try:
            r = subprocess.run([mongosh, "--quiet", "--norc", s.uri + "/test", lib, script],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                               timeout=600)
            out, code = r.stdout.decode(errors="replace"), r.returncode
        except subprocess.TimeoutExpired as e:
            out, code = (e.stdout or b"").decode(errors="replace") + "\n(timed out)", 1
        sys.stdout.write(out)
        if code != 0 or not s.alive():
            s.failed = True
            print("jstest %s failed (mongosh exit %d)" % (os.path.basename(script), code))
            code = code or 1
    sys.exit(code)


if __name__ == "__main__":
    main()
