"""test_repl_failover.py -- kill -9 the primary of a three-member set under a
w: "majority" write load, with pymongo and with mongosh writing through the
set's connection string.

pymongo: four writer threads insert unique _ids at w: "majority" (retrying on
the errors drivers retry on); the primary is killed mid-load; another member
is elected in a higher term; the writers carry on there; the killed member is
restarted and catches up (or, when it held entries nobody fetched, stops as
diverged -- rollback is issue 12 -- and is resynced once it is shown that none
of those entries was acknowledged); then every acknowledged write is on every
member and every member's dbHash agrees.

mongosh: a script inserts 300 documents one by one at w: "majority" in a
loop, retrying what fails, while the primary is killed; it ends with the
right count.

The long variant (several kills, SIGSTOP pauses) is test_repl_failover_long.py
(`make test-long`)."""
import os
import subprocess
import sys
import tempfile
import threading
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

from replset import Writers, lost_on, run_suite, wait_for  # noqa: E402

rs = None


def rejoin(i, ref):
    """Restart member i (killed) and wait until it is a secondary again; resync it when
    it diverged, after checking that what it alone held was never acknowledged."""
    rs.restart(i)
    if rs.wait_rejoined(i) == "diverged":
        extra = lost_on(rs, i, rejoin.writers, ref) if rejoin.writers else set()
        print("member %d diverged (%d entries nobody else has, none acknowledged): resynced"
              % (i, len(extra)))
        print(rs.divergence_report(i))
        rs.resync(i)
        wait_for(lambda: rs.state(i) == "SECONDARY", timeout=180, what="the resynced member")


rejoin.writers = None


def test_pymongo_writers_follow_a_kill():
    p = rs.wait_primary()
    old_term = rs.term(p)
    w = Writers(rs, n=4).start()
    rejoin.writers = w
    try:
        w.wait_more(40, what="writes before the kill")
        rs.kill(p)
        q = rs.wait_primary(exclude=(p,))
        assert rs.term(q) > old_term, (rs.term(q), old_term)
        w.wait_more(40, what="writes on the new primary")
        rejoin(p, q)
        w.wait_more(10, what="writes after the restart")
    finally:
        acked = w.stop()
    print("acknowledged %d, landed after a retry %d, errors retried %r"
          % (len(acked), len(w.landed), w.errors))
    rs.wait_agree("test")
    w.check_all_present()
    rejoin.writers = None


MONGOSH_SCRIPT = r"""
const coll = db.getSiblingDB("test").getCollection("sh");
const N = %d;
let retries = 0;
for (let i = 0; i < N; i++) {
  let tries = 0;
  for (;;) {
    tries++;
    try {
      coll.insertOne({_id: i}, {writeConcern: {w: "majority", wtimeout: 60000}});
      break;
    } catch (e) {
      if (e.code === 11000 && tries > 1) break;  // an earlier try landed
      retries++;
      if (tries > 2000) throw e;
      sleep(100);
    }
  }
}
print("RETRIES " + retries);
print("COUNT " + coll.countDocuments({}));
"""


def test_mongosh_follows_a_kill():
    n = 300
    rs.ensure_all_up()
    p = rs.wait_primary()
    script = tempfile.NamedTemporaryFile("w", suffix=".js", delete=False)
    script.write(MONGOSH_SCRIPT % n)
    script.close()
    env = dict(os.environ, MONGOSH_NO_UPDATE_CHECK="1", DO_NOT_TRACK="1")
    env.pop("ASAN_OPTIONS", None)  # mongosh is node, not our code
    uri = rs.uri + "&serverSelectionTimeoutMS=60000"
    proc = subprocess.Popen([os.environ.get("MONGOSH") or "mongosh", "--quiet", "--norc", uri,
                             script.name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env)
    out = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read().decode(errors="replace")))
    reader.start()
    try:
        wait_for(lambda: proc.poll() is not None or rs.coll(p, "test", "sh").count_documents({}) >= 30,
                 timeout=180, what="mongosh's first inserts")
        assert proc.poll() is None, "mongosh finished before the kill: %s" % out
        rs.kill(p)
        q = rs.wait_primary(exclude=(p,))
        proc.wait(timeout=600)
        reader.join()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.unlink(script.name)
    text = "".join(out)
    assert proc.returncode == 0, text
    assert "COUNT %d" % n in text, text
    print(text.strip())
    rejoin(p, q)
    rs.wait_agree("test")
    for i in range(3):
        assert rs.coll(i, "test", "sh").count_documents({}) == n, i


def main():
    return run_suite(globals(), 3, settings={"electionTimeoutMillis": 1500, "heartbeatIntervalMillis": 300})


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
