#!/usr/bin/env bash
# install-deps.sh -- install what Mica needs to build and test, skipping what is present.
#
# Idempotent and fast when everything is there: it asks dpkg which packages are
# missing and runs apt-get only for those, and installs mongosh from the npm
# registry into tools/node (git-ignored) only when it is not there yet.
set -euo pipefail

cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake pkg-config git
  libbson-dev libmongoc-dev libuv1-dev libwiredtiger-dev wiredtiger
  libssl-dev libcmocka-dev zlib1g-dev libzstd-dev libsnappy-dev libpcre2-dev
  libicu-dev
  libyaml-dev tzdata
  python3 python3-pymongo
  clang libclang-rt-dev clang-format
  prometheus  # promtool + a throwaway server for the /metrics tests (never run as a service)
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# mongosh from the npm registry, into a local folder (tools/node, git-ignored).
MONGOSH_DIR=tools/node
if [ ! -x "$MONGOSH_DIR/node_modules/.bin/mongosh" ]; then
  echo "install-deps: installing mongosh into $MONGOSH_DIR"
  mkdir -p "$MONGOSH_DIR"
  (cd "$MONGOSH_DIR" && { [ -f package.json ] || echo '{"name":"mica-test-tools","private":true}' > package.json; } &&
    npm install --no-audit --no-fund --loglevel=error mongosh@2)
fi
