#!/usr/bin/env bash
# Claim throughput, 8 concurrent claimers on no-op jobs, SQLite and PostgreSQL in the same run
# (issue 16: >= 1,000 jobs/s on PostgreSQL). SQLite (the embedded default) is the baseline.
#   bench/bench_claims.sh [JOBS] [REPEATS]        defaults 4000 jobs, 3 repeats
# Starts a throw-away PostgreSQL 15 (scripts/pg-test-server.sh: loopback, fsync off) and stops it on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-4000}
REPEATS=${2:-3}
[[ -x build/bench/bench_claims ]] || scripts/build.sh release
WORK=$(mktemp -d /tmp/tml-bench-claims.XXXXXX)
trap 'scripts/pg-test-server.sh stop "$WORK/pg" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
scripts/pg-test-server.sh start "$WORK/pg" >/dev/null
echo "== machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== claim + finish, $JOBS no-op jobs, 8 claimer threads (one connection each), $REPEATS repeats"
build/bench/bench_claims "$JOBS" 8 "$REPEATS" "$WORK/claims.db" "$(cat "$WORK/pg/url")"
