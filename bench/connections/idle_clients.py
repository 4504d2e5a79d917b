"""idle_clients.py PORT PID N -- open N connections to micad, each doing one
hello, keep them idle, and report micad's RSS growth per connection and the
latency of a fresh client's ping meanwhile. Figures only, no assertions."""
import socket
import struct
import sys
import time

import bson


def op_msg(doc, request_id=1):
    body = struct.pack("<I", 0) + b"\x00" + bson.BSON.encode(doc)
    return struct.pack("<iiii", 16 + len(body), request_id, 0, 2013) + body


def read_reply(s):
    hdr = b""
    while len(hdr) < 16:
        chunk = s.recv(16 - len(hdr))
        if not chunk:
            raise ConnectionError("closed")
        hdr += chunk
    length = struct.unpack("<i", hdr[:4])[0]
    body = b""
    while len(body) < length - 16:
        chunk = s.recv(length - 16 - len(body))
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return bson.BSON(body[5:]).decode()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_ready(port):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(op_msg({"hello": 1, "$db": "admin"}))
                if read_reply(s).get("ok") == 1:
                    return
        except OSError:
            time.sleep(0.05)
    sys.exit("micad did not start")


def ping_ms(port):
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(op_msg({"ping": 1, "$db": "admin"}))
        read_reply(s)
    return (time.perf_counter() - t0) * 1000


def main():
    port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    wait_ready(port)
    time.sleep(0.5)
    before = rss_kb(pid)
    ping_before = ping_ms(port)
    socks = []
    t0 = time.time()
    hello = op_msg({"hello": 1, "$db": "admin"})
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(hello)
        read_reply(s)
        socks.append(s)
    opened = time.time() - t0
    time.sleep(1.0)
    after = rss_kb(pid)
    pings = sorted(ping_ms(port) for _ in range(20))
    per_conn = (after - before) * 1024 / max(n, 1)
    print("idle connections:        %d (opened with a hello each in %.1f s)" % (n, opened))
    print("micad RSS before:        %.1f MiB" % (before / 1024))
    print("micad RSS after:         %.1f MiB" % (after / 1024))
    print("RSS per idle connection: %.0f bytes (%.1f KB; target < 20 KB)" % (per_conn, per_conn / 1024))
    print("new client ping:         %.2f ms before, %.2f ms median / %.2f ms max with %d idle"
          % (ping_before, pings[len(pings) // 2], pings[-1], n))
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
