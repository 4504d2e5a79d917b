#!/usr/bin/env bash
# run.sh [BUILD_DIR] -- idle-connection cost of micad: start the release micad
# (BUILD_DIR/bin/micad, default build/), open N idle connections (10,000 by
# default; each does a hello first), report the server's RSS before and after
# and per connection, then time a new client's ping. Prints figures only; it
# asserts nothing about time. Target: under 20 KB per idle connection.
set -euo pipefail
BUILD=${1:-build}
N=${MICA_BENCH_CONNS:-10000}
cd "$(dirname "$0")/../.."
MICAD="$BUILD/bin/micad"
if [ ! -x "$MICAD" ]; then
  echo "no $MICAD: run 'make build' first" >&2
  exit 1
fi
# Both the server and the client hold N sockets: raise the soft limit to the hard one.
HARD=$(ulimit -Hn)
ulimit -n "$HARD"
if [ "$HARD" != unlimited ] && [ "$HARD" -lt $((N + 100)) ]; then
  echo "the fd limit ($HARD) is below $N connections; lowering N" >&2
  N=$((HARD - 100))
fi
DIR=$(mktemp -d /tmp/mica-bench-conns-XXXXXX)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MICAD" --port "$PORT" --bind_ip 127.0.0.1 --dbpath "$DIR" --logpath "$DIR/micad.log" --quiet &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
/usr/bin/python3 bench/connections/idle_clients.py "$PORT" "$PID" "$N"
