#!/usr/bin/env bash
# Installs what trademl needs from Debian's archive (only what is missing). Run as root on Debian 12.
# Usage: scripts/setup.sh [--test]   (--test adds what the test suite and benchmarks need)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libxgboost-dev libsqlite3-dev libjansson-dev libyaml-dev
      libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev libopenblas-dev libpq-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ "${1:-}" == "--test" ]]; then
  # Tools are checked by command, not by package: a machine may already have them from elsewhere
  # (e.g. Node.js with its own npm, which conflicts with Debian's npm package).
  while read -r cmd pkg; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done <<'TOOLS'
sqlite3 sqlite3
python3 python3
curl curl
hyperfine hyperfine
/usr/bin/time time
node nodejs
npm npm
chromium chromium
clang clang
/usr/lib/postgresql/15/bin/postgres postgresql-15
ip iproute2
TOOLS
  # postgresql-15 (above): the PostgreSQL backend tests start a throw-away server from it
  # (tests/lib/pg-test-server.sh); without it they skip. iproute2: the multi-host test's network
  # namespaces (tests/e2e/cluster_multihost.sh, as root).
  # libFuzzer and the sanitizer runtimes for clang (scripts/fuzz.sh); checked by package, as a clang
  # from elsewhere may lack them.
  dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'install ok installed' ||
    missing+=(libclang-rt-14-dev)
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ "${1:-}" == "--test" ]]; then
  # TA-Lib's own C core, built by npm's `talib`, is the reference for the indicator tests
  # (tests/talib/reference.js). Without it those tests skip, so a failure here is not fatal.
  talib_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/talib"
  if [[ ! -d "$talib_dir/node_modules" ]] && command -v npm >/dev/null; then
    (cd "$talib_dir" && npm ci --no-audit --no-fund) ||
      echo "setup: npm ci in tests/talib failed; the TA-Lib comparison tests will skip" >&2
  fi
  # playwright-core drives Debian's chromium for the dashboard test (tests/e2e/server_dashboard.sh); without
  # it that test skips.
  browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/browser"
  if [[ ! -d "$browser_dir/node_modules" ]] && command -v npm >/dev/null; then
    (cd "$browser_dir" && npm ci --no-audit --no-fund) ||
      echo "setup: npm ci in tests/e2e/browser failed; the dashboard browser test will skip" >&2
  fi
fi
