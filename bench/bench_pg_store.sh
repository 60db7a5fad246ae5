#!/usr/bin/env bash
# Candle store on both backends in one run (issue 16): bulk load rate (candles/s; PostgreSQL uses COPY)
# and the time to load 200k candles of one symbol, SQLite (temporary file) beside PostgreSQL 15 (a
# throw-away server from scripts/pg-test-server.sh on loopback, fsync off like the tests; stopped at
# the end even on failure). Targets: PostgreSQL bulk load >= 200k candles/s, 200k-candle read <= 150 ms.
# Usage: bench/bench_pg_store.sh [candles=200000] [repeats=7]   (build first: scripts/build.sh release)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
reps=${2:-7}
bench=build/bench/bench_store
[[ -x $bench ]] || { echo "build first: scripts/build.sh release" >&2; exit 2; }
state=$(mktemp -d /tmp/tml-bench-pg.XXXXXX)
trap 'scripts/pg-test-server.sh stop "$state" >/dev/null; rm -rf "$state"' EXIT
scripts/pg-test-server.sh start "$state" >/dev/null
echo "== machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
sq=$("$bench" "$n" "$reps")
pg=$("$bench" "$n" "$reps" "$(cat "$state/url")")
printf '%s\n%s\n' "$sq" "$pg"
python3 - "$sq" "$pg" <<'PY'
import re, sys
def figs(text):
    put = float(re.search(r"put: .*median (\d+)", text).group(1))
    load = float(re.search(r"load: .*median ([\d.]+) ms", text).group(1))
    return put, load
(sp, sl), (pp, pl) = figs(sys.argv[1]), figs(sys.argv[2])
print(f"PostgreSQL / SQLite: bulk load {pp / sp:.2f}x the rate, 200k read {pl / sl:.2f}x the time")
print(f"targets: PostgreSQL bulk load {pp:.0f}/s >= 200000/s: {'met' if pp >= 200000 else 'MISSED'}; "
      f"read {pl:.1f} ms <= 150 ms: {'met' if pl <= 150 else 'MISSED'}")
PY
