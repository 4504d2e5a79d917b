#!/usr/bin/env bash
# run.sh [BUILD_DIR] -- `make bench`'s short YCSB run: 20,000 records, 16
# clients, 2 s per cell, echo ceiling + inserts + workloads A, C, E (and j:true
# writes), beside PostgreSQL when it is installed. compare.sh takes the full
# matrix (see docs/performance.md).
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
exec bash bench/ycsb/compare.sh "$BUILD" --records 20000 --seconds 2 --clients 16 \
  --workloads echo,insert,A,C,E
