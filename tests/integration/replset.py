"""replset.py -- a real replica set for Python integration tests and the
failover writers that load it.

ReplSet(n, settings) starts n micad members (harness.Server, --replSet) on
loopback ports, initiates them with the given settings and waits for a
primary. It kills (SIGKILL), pauses (SIGSTOP/SIGCONT) and restarts members on
their own port and dbpath, finds the primary, and checks that members agree
(dbHash, documents). Writers(rs) runs threads that insert w: "majority"
documents with unique _ids through the set's connection string and keeps
what each insert's outcome was, so a test can check afterwards that no
acknowledged write is missing anywhere.

Nothing here asserts on time: every wait is a wait-until with a generous
deadline (the machines running the suite are loaded).

A member killed or paused while it was primary may hold entries nobody else
fetched. When it comes back its log has diverged from the new primary's and,
until rollback exists (issue 12), it stops in RECOVERING (log id 21363).
resync() is MongoDB's documented remedy for a member that cannot roll back:
empty its data directory and restart it, so that it syncs from the others
again. The writes it held alone were never acknowledged at w: "majority"; the
tests check exactly that before resyncing (lost_on()).
"""
import os
import shutil
import signal
import threading
import time

import pymongo
from pymongo.errors import (ConnectionFailure, DuplicateKeyError,
                            OperationFailure, PyMongoError, WriteConcernError)
from pymongo.write_concern import WriteConcern

from harness import Server, collect_tests, run_tests

SECONDARY_OK = pymongo.ReadPreference.SECONDARY_PREFERRED

# The codes after which MongoDB's drivers retry a write (the RetryableWriteError
# category) -- the writers retry on them too when the driver's one retry was not enough.
RETRYABLE_CODES = {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}


def wait_for(pred, timeout=120, what="condition", interval=0.1):
    """Call pred until it returns something true (errors count as false); the value."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except PyMongoError as e:
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %ds waiting for %s (last: %r)" % (timeout, what, last))


def direct(s, user=None, timeout_ms=20000):
    """A client on member s alone (directConnection); user = (name, password) logs in on admin."""
    kw = dict(directConnection=True, serverSelectionTimeoutMS=timeout_ms)
    if user:
        kw.update(username=user[0], password=user[1], authSource="admin")
    return pymongo.MongoClient(s.uri, **kw)


def primary_index(servers, among=None, connect=direct):
    """The index in servers of the member that says it is a writable primary, or None."""
    for i in (among if among is not None else range(len(servers))):
        s = servers[i]
        if not s.alive():
            continue
        try:
            if connect(s).admin.command("hello").get("isWritablePrimary"):
                return i
        except PyMongoError:
            pass
    return None


def code_of(fn):
    """0 when fn succeeds, else the server's error code (NotPrimary errors included)."""
    try:
        fn()
    except PyMongoError as e:
        code = getattr(e, "code", None)
        if code is None:
            code = (getattr(e, "details", None) or {}).get("code")
        return code
    return 0


class ReplSet:
    def __init__(self, n=3, name="rs0", settings=None, members=None, args=()):
        self.name = name
        self.settings = dict(settings or {})
        self.member_opts = members or [{} for _ in range(n)]
        self.servers = [Server(["--replSet", name] + list(args)) for _ in range(n)]
        self._direct = {}
        self.failed = False

    # ---- lifecycle ----
    def start(self):
        try:
            return self._start()
        except BaseException:
            self.failed = True
            self.stop()  # prints every member's log
            raise

    def _start(self):
        for s in self.servers:
            s.start()
        cfg = {"_id": self.name, "version": 1,
               "members": [dict({"_id": i, "host": self.host(i)}, **self.member_opts[i])
                           for i in range(len(self.servers))]}
        if self.settings:
            cfg["settings"] = self.settings
        self.direct(0).admin.command("replSetInitiate", cfg)
        self.wait_primary()
        for i in range(len(self.servers)):
            wait_for(lambda: self.state(i) in ("PRIMARY", "SECONDARY"), what="member %d up" % i)
        return self

    def stop(self):
        for c in self._direct.values():
            c.close()
        self._direct.clear()
        for s in self.servers:
            if s.alive():
                try:
                    os.kill(s.proc.pid, signal.SIGCONT)
                except OSError:
                    pass
            if self.failed:
                s.failed = True
            s.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        self.stop()
        return False

    # ---- addresses and clients ----
    def host(self, i):
        return "127.0.0.1:%d" % self.servers[i].port

    @property
    def uri(self):
        return "mongodb://%s/?replicaSet=%s" % (
            ",".join(self.host(i) for i in range(len(self.servers))), self.name)

    def client(self, **kw):
        opts = dict(serverSelectionTimeoutMS=60000, retryWrites=True)
        opts.update(kw)
        return pymongo.MongoClient(self.uri, **opts)

    def direct(self, i):
        c = self._direct.get(i)
        if c is None:
            c = pymongo.MongoClient(self.servers[i].uri, directConnection=True,
                                    serverSelectionTimeoutMS=5000, connectTimeoutMS=5000,
                                    socketTimeoutMS=30000)
            self._direct[i] = c
        return c

    def _drop_direct(self, i):
        c = self._direct.pop(i, None)
        if c is not None:
            c.close()

    # ---- states ----
    def hello(self, i):
        return self.direct(i).admin.command("hello")

    def state(self, i):
        if not self.servers[i].alive():
            return "DOWN"
        st = self.direct(i).admin.command("replSetGetStatus")
        return next(m["stateStr"] for m in st["members"] if m.get("self"))

    def primary_index(self, exclude=()):
        for i, s in enumerate(self.servers):
            if i in exclude or not s.alive():
                continue
            try:
                if self.hello(i).get("isWritablePrimary"):
                    return i
            except PyMongoError:
                pass
        return None

    def wait_primary(self, exclude=(), timeout=120):
        return wait_for(lambda: (lambda p: [p] if p is not None else None)(
            self.primary_index(exclude)), timeout=timeout, what="a primary (not %r)" % (exclude,))[0]

    def term(self, i):
        return self.direct(i).admin.command("replSetGetStatus")["term"]

    # ---- faults ----
    def kill(self, i):
        s = self.servers[i]
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        if s.proc.stdout:
            s.proc.stdout.close()
        s.proc = None
        self._drop_direct(i)

    def shutdown(self, i):
        """A clean stop (SIGTERM) that keeps the dbpath, for a restart()."""
        s = self.servers[i]
        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=120)
        if s.proc.stdout:
            s.proc.stdout.close()
        s.proc = None
        self._drop_direct(i)
        assert code == 0, "member %d exited with %d" % (i, code)

    def pause(self, i):
        self.servers[i].proc.send_signal(signal.SIGSTOP)

    def resume(self, i):
        self.servers[i].proc.send_signal(signal.SIGCONT)

    def restart(self, i):
        self._drop_direct(i)
        self.servers[i].start(timeout=120)

    def ensure_all_up(self):
        """Restart any member a failed test left down (so the next test has its majority)."""
        for i, s in enumerate(self.servers):
            if not s.alive():
                self.restart(i)
            else:
                self.resume(i)

    def diverged(self, i):
        """The member stopped in RECOVERING because its log diverged (needs rollback)."""
        try:
            return self.state(i) == "RECOVERING" and \
                "21363" in self.servers[i].log_text()
        except (PyMongoError, OSError):
            return False

    def divergence_report(self, i):
        """The member's last 21363 log line and its last applied optime (for the output)."""
        lines = [ln for ln in self.servers[i].log_text().splitlines() if '"id":21363' in ln]
        try:
            applied = self.applied(i)
        except PyMongoError as e:
            applied = repr(e)
        return "last applied %r; %s" % (applied, lines[-1] if lines else "(no 21363 line)")

    def resync(self, i):
        """MongoDB's remedy for a member that cannot roll back: empty dbpath, restart."""
        s = self.servers[i]
        if s.alive():
            s.proc.send_signal(signal.SIGKILL)
            s.proc.wait()
            if s.proc.stdout:
                s.proc.stdout.close()
            s.proc = None
        self._drop_direct(i)
        # keep the old log beside the new one, for a failure report
        log = s.log_text() if os.path.exists(s.logpath) else ""
        for name in os.listdir(s.dbpath):
            p = os.path.join(s.dbpath, name)
            if os.path.isdir(p):
                shutil.rmtree(p)
            else:
                os.remove(p)
        with open(os.path.join(s.dir, "micad.log.before-resync"), "w") as f:
            f.write(log)
        s.start(timeout=120)

    def applied(self, i):
        """The member's last applied optime as (ts, t)."""
        o = self.direct(i).admin.command("replSetGetStatus")["optimes"]["appliedOpTime"]
        return (o["ts"], o["t"])

    def wait_rejoined(self, i, timeout=180):
        """After a restart or a resume: 'secondary' once member i is a secondary that has
        applied at least what the primary had when this was called (a restarted member
        says SECONDARY before its fetcher has met the sync source), or 'diverged'."""
        p = self.wait_primary(exclude=(i,))
        ts, t = self.applied(p)
        target = (t, ts)  # optimes order by term, then timestamp

        def ok():
            if self.diverged(i):
                return "diverged"
            if self.state(i) != "SECONDARY":
                return None
            mts, mt = self.applied(i)
            # a restarted ex-primary's own entries of an older term may carry later
            # timestamps than the new primary's: those are not caught up (it diverged)
            return "secondary" if (mt, mts) >= target else None
        return wait_for(ok, timeout=timeout, what="member %d to rejoin" % i)

    # ---- agreement ----
    def coll(self, i, db, name):
        return self.direct(i).get_database(db, read_preference=SECONDARY_OK)[name]

    def ids(self, i, db, name):
        return {d["_id"] for d in self.coll(i, db, name).find({}, {"_id": 1})}

    def dbhash(self, i, db):
        return self.direct(i)[db].command("dbHash", read_preference=SECONDARY_OK)["md5"]

    def wait_agree(self, db, timeout=180):
        """Every member's dbHash of db equal (and equal to the primary's)."""
        def same():
            hashes = [self.dbhash(i, db) for i in range(len(self.servers))]
            return len(set(hashes)) == 1 and hashes
        try:
            return wait_for(same, timeout=timeout, what="the same dbHash of %s on every member" % db)
        except AssertionError:
            print(self.describe_difference(db))
            raise

    def describe_difference(self, db):
        """What differs between the members' copies of db (for a failure report)."""
        out = []
        ref = self.primary_index() or 0
        for name in self.direct(ref)[db].list_collection_names():
            docs = []
            for i in range(len(self.servers)):
                try:
                    docs.append({d["_id"]: d for d in self.coll(i, db, name).find()})
                except PyMongoError as e:
                    out.append("member %d: %r" % (i, e))
                    docs.append({})
            for i in range(len(self.servers)):
                only_ref = sorted(set(docs[ref]) - set(docs[i]), key=repr)
                only_i = sorted(set(docs[i]) - set(docs[ref]), key=repr)
                changed = sorted((k for k in set(docs[i]) & set(docs[ref])
                                  if docs[i][k] != docs[ref][k]), key=repr)
                try:
                    st = self.state(i)
                except PyMongoError as e:
                    st = repr(e)
                out.append("%s.%s member %d (%s) vs %d: %d docs, missing %d %r, extra %d %r, "
                           "changed %d %r" % (db, name, i, st, ref, len(docs[i]),
                                               len(only_ref), only_ref[:5], len(only_i),
                                               only_i[:5], len(changed), changed[:5]))
            hashes = []
            for i in range(len(self.servers)):
                try:
                    hashes.append(self.direct(i)[db].command(
                        "dbHash", read_preference=SECONDARY_OK).get("collections", {}).get(name))
                except PyMongoError as e:
                    hashes.append(repr(e))
            out.append("  per-collection hashes %r" % hashes)
        return "\n".join(out)


class Writers:
    """Threads inserting {_id: "w<t>-<n>"} at w: "majority" through the set's
    connection string. An insert is retried (same _id) after any error drivers
    retry on, until it is acknowledged; a DuplicateKey answer means an earlier
    attempt did land, and the _id goes to `landed` (not acknowledged at w:
    "majority" by that answer, so not checked)."""

    def __init__(self, rs, n=4, db="test", coll="fo", wtimeout=60000):
        self.rs = rs
        self.n = n
        self.db = db
        self.collname = coll
        self.wtimeout = wtimeout
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.acked = set()
        self.landed = set()
        self.errors = {}
        self.failures = []
        self.threads = []
        # socketTimeoutMS: an insert sent to a paused (SIGSTOP) primary would otherwise wait
        # for ever (no connection is closed); it times out and is retried elsewhere
        self.client = rs.client(maxPoolSize=n + 2, socketTimeoutMS=20000)

    def _note(self, e):
        key = type(e).__name__ + (":%s" % e.code if getattr(e, "code", None) else "")
        with self.lock:
            self.errors[key] = self.errors.get(key, 0) + 1

    def _run(self, t):
        coll = self.client[self.db].get_collection(
            self.collname, write_concern=WriteConcern(w="majority", wtimeout=self.wtimeout))
        n = 0
        while not self.stop_flag.is_set():
            _id = "w%d-%d" % (t, n)
            tries = 0
            while True:
                tries += 1
                try:
                    coll.insert_one({"_id": _id, "t": t, "n": n})
                    with self.lock:
                        self.acked.add(_id)
                    break
                except DuplicateKeyError:
                    # The _id is this writer's alone: an earlier attempt landed -- ours, or
                    # the driver's own first try before its retry (the server does not
                    # deduplicate retryable writes yet, issue 13).
                    with self.lock:
                        self.landed.add(_id)
                    break
                except (ConnectionFailure, WriteConcernError) as e:  # NotMasterError included
                    self._note(e)
                except OperationFailure as e:
                    if e.code not in RETRYABLE_CODES:
                        self.failures.append("insert of %s: %r" % (_id, e.details))
                        return
                    self._note(e)
                if self.stop_flag.is_set() and tries > 1000:
                    return
                time.sleep(0.05)
            n += 1

    def start(self):
        for t in range(self.n):
            th = threading.Thread(target=self._run, args=(t,), daemon=True)
            th.start()
            self.threads.append(th)
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_more(self, k, timeout=180, what="writes"):
        """Wait until k more inserts are acknowledged than now."""
        base = self.count()
        wait_for(lambda: self.count() >= base + k or self.failures, timeout=timeout, what=what)
        assert not self.failures, self.failures

    def stop(self):
        self.stop_flag.set()
        for th in self.threads:
            th.join(timeout=300)
        assert not any(th.is_alive() for th in self.threads), "a writer did not finish"
        self.client.close()
        assert not self.failures, self.failures
        return self.acked

    def check_all_present(self, members=None):
        """Every acknowledged _id on every member (each member read directly)."""
        members = range(len(self.rs.servers)) if members is None else members
        for i in members:
            have = self.rs.ids(i, self.db, self.collname)
            missing = self.acked - have
            assert not missing, "member %d lacks %d acknowledged writes, e.g. %r" % (
                i, len(missing), sorted(missing)[:5])


def oplog_entries(rs, i):
    """{(ts, t): entry} of member i's oplog (readable in any state: the local database
    is served in RECOVERING too)."""
    return {(e["ts"], e["t"]): e for e in rs.direct(i).local["oplog.rs"].find()}


def lost_on(rs, i, writers, ref):
    """The entries member i's oplog holds that member ref's does not: what a diverged
    member would roll back. Returns them. No insert among them may be an acknowledged
    w: "majority" write that ref lacks (a write the driver retried may be on ref under
    another timestamp: that is the retry's entry, not this one)."""
    mine, theirs = oplog_entries(rs, i), oplog_entries(rs, ref)
    extra = [e for k, e in mine.items() if k not in theirs]
    ns = "%s.%s" % (writers.db, writers.collname)
    ids = {e["o"]["_id"] for e in extra if e.get("op") == "i" and e.get("ns") == ns}
    missing = (ids & writers.acked) - rs.ids(ref, writers.db, writers.collname)
    assert not missing, "acknowledged w: majority writes only on a diverged member: %r" % (
        sorted(missing)[:5],)
    return extra


def run_suite(test_globals, n=3, **kw):
    """Start a ReplSet(n, **kw) as the suite's global `rs`, run its test_* in order, stop
    the set (printing the members' logs when something failed); the number of failures."""
    rs = ReplSet(n, **kw)
    test_globals["rs"] = rs
    rs.start()
    failed = run_tests(collect_tests(test_globals))
    rs.failed = bool(failed)
    rs.stop()
    return failed
