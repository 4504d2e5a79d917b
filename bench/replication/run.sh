#!/usr/bin/env bash
# run.sh [BUILD_DIR] -- `make bench`'s replication run: bench_replication against a local
# three-member set of the release micad (BUILD_DIR/bin/micad, default build/) that it starts
# itself under /tmp: inserts at w:1 and w:"majority" with 1, 16 and 64 threads, replication
# lag under load, failover time over 10 trials with electionTimeoutMillis 2000. Each figure
# is printed beside its target from issue 11; nothing asserts on time.
# MICA_BENCH_SECS (default 3) is the length of one insert cell; MICA_BENCH_TRIALS (default
# 10) the number of failovers. A full run takes about three minutes.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
for f in "$BUILD/bin/micad" "$BUILD/bin/bench_replication"; do
  if [ ! -x "$f" ]; then
    echo "no $f: run 'make build' first" >&2
    exit 1
  fi
done
exec "$BUILD/bin/bench_replication" --micad "$BUILD/bin/micad" \
  --seconds "${MICA_BENCH_SECS:-3}" --threads 1,16,64 --trials "${MICA_BENCH_TRIALS:-10}" \
  --lag-seconds 5 --election-timeout 2000
