"""test_repl_failover_long.py -- mica-test: long (run by `make test-long`, not `make test`).

A three-member set under a steady w: "majority" insert load (four pymongo
writer threads through the set's connection string) goes through five
faults in a row: the primary killed with SIGKILL three times and paused with
SIGSTOP twice (held until another member is elected, then SIGCONT: the old
primary wakes up in an old term, must step down, and its waiting writes end
with an error, never an acknowledgement). After each fault a new primary is
elected in a higher term, the writers make progress on it, and the faulted
member comes back: restarted or resumed, caught up as a secondary (or shown to
hold only unacknowledged entries and resynced, see replset.py). At the end
every acknowledged write is on every member and their dbHashes agree."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

from replset import Writers, lost_on, run_suite, wait_for  # noqa: E402

rs = None


def bring_back(i, ref, writers, paused):
    if paused:
        rs.resume(i)
    else:
        rs.restart(i)
    if rs.wait_rejoined(i) == "diverged":
        extra = lost_on(rs, i, writers, ref)
        print("member %d diverged (%d entries nobody else has, none acknowledged): resynced"
              % (i, len(extra)))
        print(rs.divergence_report(i))
        rs.resync(i)
        wait_for(lambda: rs.state(i) == "SECONDARY", timeout=300, what="the resynced member")


def test_five_faults_under_load():
    w = Writers(rs, n=4).start()
    try:
        w.wait_more(40, what="writes before the first fault")
        for fault in ["kill", "pause", "kill", "pause", "kill"]:
            p = rs.wait_primary()
            term = rs.term(p)
            w.wait_more(20, what="writes before the %s" % fault)
            if fault == "kill":
                rs.kill(p)
            else:
                rs.pause(p)
            q = rs.wait_primary(exclude=(p,), timeout=180)
            assert rs.term(q) > term, (fault, rs.term(q), term)
            w.wait_more(30, timeout=300, what="writes on the new primary after a %s" % fault)
            bring_back(p, q, w, paused=(fault == "pause"))
            print("%s of member %d: member %d primary in term %d; %d acknowledged so far"
                  % (fault, p, q, rs.term(q), w.count()))
        w.wait_more(20, what="writes at the end")
    finally:
        acked = w.stop()
    print("acknowledged %d, landed after a retry %d, errors retried %r"
          % (len(acked), len(w.landed), w.errors))
    rs.wait_agree("test", timeout=300)
    w.check_all_present()


def main():
    return run_suite(globals(), 3, settings={"electionTimeoutMillis": 1500, "heartbeatIntervalMillis": 300})


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
