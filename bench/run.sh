#!/usr/bin/env bash
# run.sh -- run every benchmark under bench/ against the release build in $1.
# Benchmarks print their own figures; none of them asserts on time.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
for b in bench/*/; do
  name=$(basename "$b")
  if [ -x "$b/run.sh" ]; then
    echo "== bench/$name"; bash "$b/run.sh" "$BUILD"
  elif [ -x "$BUILD/bin/bench_$name" ]; then
    echo "== bench/$name"; "$BUILD/bin/bench_$name"
  fi
done
