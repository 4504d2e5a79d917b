"""test_robustness.py -- raw bytes on micad's socket. Every malformed frame
closes only that connection; after each case the same server process (same
pid) still answers a new client. Also checks the well-formed edge cases:
moreToCome (no reply) and pipelined requests (replies in order)."""
import os
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))

import bson  # noqa: E402

from harness import OP_COMPRESSED, OP_MSG, Server, op_msg, raw_command, read_reply, collect_tests, run_tests  # noqa: E402

server = None
PING = {"ping": 1, "$db": "admin"}


def connect():
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return s


def expect_closed(s):
    """The server closes the connection (EOF or reset) rather than answering."""
    s.settimeout(10)
    try:
        data = s.recv(65536)
    except ConnectionResetError:
        data = b""
    assert data == b"", "expected the connection to be closed, got %r" % data[:64]


def still_serving():
    assert server.alive(), "micad died"
    reply = raw_command(server.port, PING)
    assert reply["ok"] == 1.0, reply


def header(length, opcode, request_id=7):
    return struct.pack("<iiii", length, request_id, 0, opcode)


def test_truncated_frame_then_client_leaves():
    frame = op_msg(PING)
    s = connect()
    s.sendall(frame[: len(frame) // 2])
    s.close()
    still_serving()


def test_truncated_header_then_client_leaves():
    s = connect()
    s.sendall(b"\x10\x00\x00")
    s.close()
    still_serving()


def test_length_too_short_for_opcode():
    frame = op_msg(PING)
    bad = struct.pack("<i", 20) + frame[4:]
    s = connect()
    s.sendall(bad)
    expect_closed(s)
    s.close()
    still_serving()


def test_length_below_header_size():
    s = connect()
    s.sendall(header(4, OP_MSG))
    expect_closed(s)
    s.close()
    still_serving()


def test_negative_length():
    s = connect()
    s.sendall(header(-1, OP_MSG))
    expect_closed(s)
    s.close()
    still_serving()


def test_unknown_opcode():
    body = b"\x00" * 32
    s = connect()
    s.sendall(header(16 + len(body), 9999) + body)
    expect_closed(s)
    s.close()
    still_serving()


def test_invalid_bson_body():
    doc = bson.BSON.encode(PING)
    broken = struct.pack("<i", len(doc) + 50) + doc[4:]  # the document lies about its size
    body = struct.pack("<I", 0) + b"\x00" + broken
    s = connect()
    s.sendall(header(16 + len(body), OP_MSG) + body)
    expect_closed(s)
    s.close()
    still_serving()


def test_bson_with_bad_type_byte():
    doc = bytearray(bson.BSON.encode({"ping": 1, "$db": "admin"}))
    doc[4] = 0x7A  # no such BSON type
    body = struct.pack("<I", 0) + b"\x00" + bytes(doc)
    s = connect()
    s.sendall(header(16 + len(body), OP_MSG) + body)
    expect_closed(s)
    s.close()
    still_serving()


def test_100mb_length_header_is_refused_before_allocation():
    s = connect()
    s.sendall(header(100 * 1000 * 1000, OP_MSG) + b"\x00" * 64)
    expect_closed(s)
    s.close()
    still_serving()


def test_stalled_connection_does_not_block_others():
    frame = op_msg(PING)
    s = connect()
    s.sendall(frame[:20])  # header and a little: then nothing
    time.sleep(0.3)
    still_serving()
    still_serving()
    s.close()
    still_serving()


def test_op_compressed_with_lying_size():
    inner = op_msg(PING)
    payload = zlib.compress(inner[16:])
    for declared in (len(inner) - 16 + 100, len(inner) - 16 - 5, 100 * 1000 * 1000):
        body = struct.pack("<iiB", OP_MSG, declared, 2) + payload
        s = connect()
        s.sendall(header(16 + len(body), OP_COMPRESSED) + body)
        expect_closed(s)
        s.close()
        still_serving()


def test_op_compressed_with_unknown_compressor():
    inner = op_msg(PING)
    body = struct.pack("<iiB", OP_MSG, len(inner) - 16, 77) + inner[16:]
    s = connect()
    s.sendall(header(16 + len(body), OP_COMPRESSED) + body)
    expect_closed(s)
    s.close()
    still_serving()


def test_bad_checksum():
    frame = bytearray(op_msg(PING, flags=1) + b"\x00\x00\x00\x00")  # checksumPresent, CRC 0
    struct.pack_into("<i", frame, 0, len(frame))
    s = connect()
    s.sendall(bytes(frame))
    expect_closed(s)
    s.close()
    still_serving()


def test_garbage_bytes():
    s = connect()
    s.sendall(os.urandom(4096))
    s.settimeout(10)
    try:
        s.recv(65536)  # closed, or (very unlikely) an error reply: either way no crash
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    still_serving()


def test_more_to_come_gets_no_reply_and_order_is_kept():
    s = connect()
    s.sendall(op_msg(PING, request_id=1, flags=2))  # moreToCome: no reply
    s.sendall(op_msg({"buildInfo": 1, "$db": "admin"}, request_id=2))
    reply = read_reply(s)
    assert reply.get("version") == "7.0.0", reply
    s.close()


def test_pipelined_requests_answer_in_order():
    s = connect()
    s.sendall(op_msg({"buildInfo": 1, "$db": "admin"}, request_id=11) +
              op_msg(PING, request_id=12) +
              op_msg({"whatsmyuri": 1, "$db": "admin"}, request_id=13))
    r1, r2, r3 = read_reply(s), read_reply(s), read_reply(s)
    assert r1.get("version") == "7.0.0"
    assert r2 == {"ok": 1.0}
    assert "you" in r3
    s.close()


def test_missing_db_is_an_error_reply_not_a_close():
    s = connect()
    s.sendall(op_msg({"ping": 1}))
    r = read_reply(s)
    assert r["ok"] == 0 and r["code"] == 40571, r
    s.sendall(op_msg(PING))
    assert read_reply(s)["ok"] == 1.0
    s.close()


def main():
    global server
    with Server() as s:
        server = s
        pid = s.proc.pid
        failed = run_tests(collect_tests(globals()), s)
        if not s.alive() or s.proc.pid != pid:
            print("[FAIL] the server is not the same process any more")
            failed += 1
            s.failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
