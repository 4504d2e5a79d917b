#!/usr/bin/env bash
# run.sh [BUILD_DIR] -- wire/'s intra-cluster client vs libmongoc: `ping` calls/s at
# 1 and 16 threads against the release micad (BUILD_DIR/bin/micad, default build/),
# both measured in the same run. Prints figures only; asserts nothing about time.
set -euo pipefail
BUILD=${1:-build}
SECS=${MICA_BENCH_SECS:-2}
cd "$(dirname "$0")/../.."
MICAD="$BUILD/bin/micad"
for f in "$MICAD" "$BUILD/bin/bench_wireclient"; do
  if [ ! -x "$f" ]; then
    echo "no $f: run 'make build' first" >&2
    exit 1
  fi
done
DIR=$(mktemp -d /tmp/mica-bench-wc-XXXXXX)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MICAD" --port "$PORT" --bind_ip 127.0.0.1 --dbpath "$DIR" --logpath "$DIR/micad.log" --quiet &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
  sleep 0.1
done
"$BUILD/bin/bench_wireclient" "$PORT" "$SECS"
