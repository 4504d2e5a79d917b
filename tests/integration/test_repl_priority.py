"""test_repl_priority.py -- a three-member set whose member 2 has priority 3
(the others 1): priority takeover and a restarted member catching up.

- member 2 ends up primary (elected, or by priority takeover);
- stopped cleanly (SIGTERM), another member is elected and takes writes;
- restarted, member 2 catches up on what it missed as a secondary, then -- being
  caught up and of a higher priority than the primary -- stands and takes over,
  in a higher term; the writes made while it was down are all there."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

from pymongo.write_concern import WriteConcern  # noqa: E402

from replset import run_suite, wait_for  # noqa: E402

rs = None
HIGH = 2


def test_high_priority_member_is_primary():
    wait_for(lambda: rs.primary_index() == HIGH, what="member 2 (priority 3) to be primary")


def test_restarted_member_catches_up_and_takes_over():
    c = rs.client()
    coll = c.test.get_collection("pt", write_concern=WriteConcern(w="majority", wtimeout=60000))
    coll.insert_many([{"_id": i} for i in range(10)])
    term = rs.term(HIGH)
    rs.shutdown(HIGH)  # SIGTERM; the dbpath stays
    q = rs.wait_primary(exclude=(HIGH,))
    assert q != HIGH
    coll.insert_many([{"_id": i} for i in range(10, 110)])  # while member 2 is down
    assert rs.term(q) > term
    rs.restart(HIGH)
    # it catches up, then takes over
    wait_for(lambda: rs.primary_index() == HIGH, timeout=180, what="the priority takeover")
    assert rs.term(HIGH) > term
    assert rs.coll(HIGH, "test", "pt").count_documents({}) == 110
    coll.insert_one({"_id": "after"})
    rs.wait_agree("test")
    c.close()


def main():
    return run_suite(globals(), 3, members=[{}, {}, {"priority": 3}],
                     settings={"electionTimeoutMillis": 1500, "heartbeatIntervalMillis": 300})


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
