"""test_metrics.py -- micad's Prometheus endpoint (--metricsPort) checked by the
real tools: Debian's `promtool check metrics` over a scrape, and a throwaway
`prometheus` server (its own free loopback port, temp config and storage) that
scrapes the node and answers a query through its HTTP API. Also: the listener
is off by default, binds to loopback, answers 404 off /metrics, every family
has HELP and TYPE, the counters move with the work done, and every query of
the Grafana dashboard under docs/grafana/ names a metric the node exports.

promtool and prometheus come from Debian's `prometheus` package
(scripts/install-deps.sh installs it)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import warnings

sys.path.insert(0, os.path.dirname(__file__))
warnings.simplefilter("ignore")

import pymongo  # noqa: E402

from harness import Server, collect_tests, free_port, run_tests  # noqa: E402

server = None
client = None
mport = None


def scrape(path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (mport, path), timeout=30) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def families(text):
    """{name: type} from the # TYPE lines."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def value(text, series):
    """The value of one exact series line (name{labels})."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split(" ")[-1])
    raise AssertionError("series %s not in the scrape" % series)


def test_off_by_default():
    with Server() as s:
        log = s.log_text()
        assert "Serving Prometheus metrics" not in log


def test_scrape_shape():
    client.test.m.insert_many([{"i": i} for i in range(50)])
    client.test.m.create_index("i")
    list(client.test.m.find({"i": {"$gt": 10}}))
    status, ctype, text = scrape()
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    fams = families(text)
    for name, typ in [("mica_connections", "gauge"), ("mica_commands_total", "counter"),
                      ("mica_command_latency_seconds", "histogram"),
                      ("mica_wiredtiger_cache_bytes", "gauge"), ("mica_checkpoints_total", "counter"),
                      ("mica_journal_syncs_total", "counter"), ("mica_collection_documents", "gauge"),
                      ("mica_index_size_bytes", "gauge"), ("mica_ttl_deleted_documents_total", "counter"),
                      ("mica_cursors_open", "gauge"), ("mica_connections_created_total", "counter"),
                      ("mica_connections_rejected_total", "counter")]:
        assert fams.get(name) == typ, (name, fams.get(name))
        assert re.search(r"^# HELP %s \S" % re.escape(name), text, re.M), name
    assert value(text, 'mica_collection_documents{db="test",collection="m"}') == 50
    assert value(text, 'mica_commands_total{command="insert",result="ok"}') >= 1
    assert 'mica_index_size_bytes{db="test",collection="m",index="i_1"}' in text
    assert value(text, 'mica_wiredtiger_cache_bytes{state="used"}') > 0


def test_counters_move():
    _, _, before = scrape()
    n0 = value(before, 'mica_command_latency_seconds_count{family="reads"}')
    for _ in range(5):
        client.test.m.find_one({"i": 3})
    try:
        client.test.command("noSuchCommandHere")
    except pymongo.errors.OperationFailure:
        pass
    _, _, after = scrape()
    assert value(after, 'mica_command_latency_seconds_count{family="reads"}') >= n0 + 5
    assert value(after, 'mica_commands_total{command="unknown",result="failed"}') >= 1


def test_not_found_and_method():
    req = urllib.request.Request("http://127.0.0.1:%d/nope" % mport)
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % mport, data=b"x", method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("expected 405")
    except urllib.error.HTTPError as e:
        assert e.code == 405


def test_promtool_check_metrics():
    _, _, text = scrape()
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode()
    assert p.returncode == 0, out


def test_prometheus_scrapes_and_answers():
    d = tempfile.mkdtemp(prefix="mica-prom-")
    pport = free_port()
    cfg = os.path.join(d, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: micad\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % mport)
    log = open(os.path.join(d, "prometheus.log"), "w")
    proc = subprocess.Popen(["prometheus", "--config.file=" + cfg,
                             "--storage.tsdb.path=" + os.path.join(d, "data"),
                             "--web.listen-address=127.0.0.1:%d" % pport],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        result = None
        q = urllib.parse.urlencode({"query": 'mica_collection_documents{collection="m"}'})
        while time.time() < deadline:
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/query?%s" % (pport, q),
                                            timeout=5) as r:
                    body = json.loads(r.read().decode())
                if body.get("status") == "success" and body["data"]["result"]:
                    result = body["data"]["result"]
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert result is not None, "prometheus never returned the series"
        assert result[0]["metric"]["job"] == "micad"
        assert float(result[0]["value"][1]) == 50
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/targets" % pport,
                                    timeout=5) as r:
            targets = json.loads(r.read().decode())["data"]["activeTargets"]
        assert targets and targets[0]["health"] == "up", targets
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def test_replica_set_member():
    """A one-member set: its state, term, the election it won, the commit-point age,
    the oplog window and its own lag; promtool accepts the scrape; serverStatus's
    electionMetrics counts the same election."""
    port = free_port()
    with Server(["--replSet", "mrs", "--metricsPort", str(port)]) as s:
        c = pymongo.MongoClient(s.uri, directConnection=True, serverSelectionTimeoutMS=10000)
        try:
            c.admin.command("replSetInitiate")
            deadline = time.time() + 60
            while not c.admin.command("hello").get("isWritablePrimary"):
                assert time.time() < deadline, "no primary"
                time.sleep(0.1)
            c.test.m.insert_one({"x": 1})
            while True:  # the commit point follows the insert
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
                    text = r.read().decode()
                if "mica_repl_commit_point_age_seconds " in text or time.time() > deadline:
                    break
                time.sleep(0.1)
            fam = families(text)
            for name in ("mica_repl_member_state", "mica_repl_term", "mica_repl_lag_seconds",
                         "mica_repl_member_up", "mica_repl_oplog_window_seconds",
                         "mica_repl_commit_point_age_seconds"):
                assert fam.get(name) == "gauge", (name, fam)
            assert fam["mica_repl_elections_total"] == "counter", fam
            assert value(text, 'mica_repl_member_state{state="PRIMARY"}') == 1
            term = c.admin.command("replSetGetStatus")["term"]
            assert value(text, "mica_repl_term") == term
            assert value(text, 'mica_repl_elections_won_total{reason="electionTimeout"}') == 1
            assert value(text, 'mica_repl_elections_total{reason="stepUpCmd"}') == 0
            host = c.admin.command("replSetGetStatus")["members"][0]["name"]
            assert value(text, 'mica_repl_lag_seconds{member="%s"}' % host) == 0
            assert value(text, 'mica_repl_member_up{member="%s"}' % host) == 1
            assert value(text, "mica_repl_oplog_window_seconds") >= 0
            p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=60)
            assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
            em = c.admin.command("serverStatus")["electionMetrics"]
            assert em["electionTimeout"] == {"called": 1, "successful": 1}, em
            assert em["stepUpCmd"] == {"called": 0, "successful": 0}, em
            assert em["priorityTakeover"]["called"] == 0, em
            assert em["numStepDownsCausedByHigherTerm"] == 0, em
        finally:
            c.close()
    # a standalone exports no replication families
    _, _, text = scrape()
    assert "mica_repl_" not in text
    assert "electionMetrics" not in client.admin.command("serverStatus")


def test_grafana_dashboard_names_exported_metrics():
    src = os.environ.get("MICA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    gdir = os.path.join(src, "docs", "grafana")
    _, _, text = scrape()
    exported = set(families(text))
    # a histogram's series are name_bucket/_sum/_count
    for name, typ in list(families(text).items()):
        if typ == "histogram":
            exported |= {name + "_bucket", name + "_sum", name + "_count"}
    dashboards = [f for f in os.listdir(gdir) if f.endswith(".json")]
    assert dashboards
    n = 0
    for fname in dashboards:
        with open(os.path.join(gdir, fname)) as f:
            dash = json.load(f)
        exprs = [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]
        for var in dash.get("templating", {}).get("list", []):
            if var.get("type") == "query":
                q = var["query"]
                exprs.append((var["name"], q["query"] if isinstance(q, dict) else q))
        for title, expr in exprs:
            if True:
                names = set(re.findall(r"\bmica_[a-z0-9_]+", expr))
                assert names, (title, expr)
                for name in names:
                    assert name in exported, "%s: %s is not exported" % (title, name)
                    n += 1
    assert n > 5


def main():
    global server, client, mport
    mport = free_port()
    server = Server(["--metricsPort", str(mport)]).start()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=10000)
    try:
        failed = run_tests(collect_tests(globals()), server)
        # the metrics port is taken by the running node: a second one must not start
        second = Server(["--metricsPort", str(mport)])
        try:
            second.start(timeout=20)
            failed += 1
            print("[FAIL] test_busy_metrics_port: a second node started")
        except RuntimeError as e:
            ok = "with 48" in str(e)
            print("[ OK ] test_busy_metrics_port" if ok else "[FAIL] %s" % e)
            failed += 0 if ok else 1
        finally:
            second.proc = None
            shutil.rmtree(second.dir, ignore_errors=True)
    finally:
        client.close()
        code = server.stop()
    if code != 0:
        failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
