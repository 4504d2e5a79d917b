#!/usr/bin/env bash
# compare.sh [BUILD_DIR] [bench_ycsb options...] -- YCSB-style figures for the
# release micad beside its own transport ceiling (the test-only `echo`
# command) and, when PostgreSQL is installed and bench_ycsb was built with
# libpq, beside a throwaway PostgreSQL (JSONB table; synchronous_commit off
# and on), all from one client process in one run.
#
# Everything lives in a temp directory: micad on a free loopback port with
# --setParameter enableTestCommands=1, PostgreSQL initialised there and
# started on another free loopback port (never as a system service), both
# stopped and removed on exit. Figures only; nothing asserts on time.
#
#   bash bench/ycsb/compare.sh build --records 100000 --seconds 10 \
#        --clients 1,4,16,64 --workloads echo,insert,A,B,C,E
#
# Environment: NO_PG=1 skips PostgreSQL; MICAD_ARGS adds micad options;
# PIN=1 pins the servers to the first half of the cores and the client to the
# other half (taskset), as a server with cores of its own would run -- without
# it, on a small machine a 64-thread client takes CPU share from a server with
# a handful of threads (the scheduler is fair per thread), which is part of
# what the default, shared, figures show.
set -euo pipefail
BUILD=${1:-build}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/../.."
BIN=$BUILD/bin
[ -x "$BIN/micad" ] && [ -x "$BIN/bench_ycsb" ] || {
  echo "compare.sh: build $BIN/micad and $BIN/bench_ycsb first (make build)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/mica-ycsb.XXXXXX)
MICAD_PID=
PG_BIN=
cleanup() {
  if [ -n "$MICAD_PID" ]; then kill "$MICAD_PID" 2>/dev/null || true; wait "$MICAD_PID" 2>/dev/null || true; fi
  if [ -n "$PG_BIN" ] && [ -f "$TMP/pg/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 300); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# initdb and postgres refuse to run as root: run them as the postgres user then.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

SRV=()
CLI=()
if [ -n "${PIN:-}" ]; then
  n=$(nproc)
  if [ "$n" -ge 2 ]; then
    SRV=(taskset -c "0-$((n / 2 - 1))")
    CLI=(taskset -c "$((n / 2))-$((n - 1))")
  fi
fi

MPORT=$(free_port)
mkdir -p "$TMP/mica"
"${SRV[@]}" "$BIN/micad" --port "$MPORT" --bind_ip 127.0.0.1 --dbpath "$TMP/mica" --logpath "$TMP/micad.log" \
  --setParameter enableTestCommands=1 ${MICAD_ARGS:-} &
MICAD_PID=$!
wait_port "$MPORT" || { echo "compare.sh: micad did not start" >&2; cat "$TMP/micad.log" >&2; exit 1; }
ARGS=(--mica "mongodb://127.0.0.1:$MPORT/?serverSelectionTimeoutMS=20000")

PG_CTL=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1 || true)
if [ -z "${NO_PG:-}" ] && [ -n "$PG_CTL" ] && "$BIN/bench_ycsb" --has-libpq; then
  PG_BIN=$(dirname "$PG_CTL")
  PPORT=$(free_port)
  mkdir -p "$TMP/pg"
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$TMP" && chmod 755 "$TMP"
  as_pg "$PG_BIN/initdb" -D "$TMP/pg" -U postgres -A trust --no-sync >/dev/null
  # The same cache as micad's default (256 MiB); fsync stays on (synchronous_commit=on must mean it).
  as_pg "${SRV[@]}" "$PG_BIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pg.log" -w -o \
    "-p $PPORT -k $TMP -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_connections=300" \
    start >/dev/null
  ARGS+=(--pg "host=127.0.0.1 port=$PPORT dbname=postgres user=postgres")
  echo "compare.sh: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PPORT, micad on 127.0.0.1:$MPORT"
else
  echo "compare.sh: PostgreSQL not compared (not installed, NO_PG set, or bench_ycsb built without libpq)"
fi
"${CLI[@]}" "$BIN/bench_ycsb" "${ARGS[@]}" "$@"
