#!/usr/bin/env bash
# The live loop's database work per candle on both backends in one run (issue 16): bench_live_store
# (store each symbol's prediction, resolve the outcomes whose horizon passed, read the rolling-metrics
# window, save the status of every symbol in one transaction) for SYMBOLS symbols, on a SQLite file and
# on PostgreSQL 15 (a throw-away server from scripts/pg-test-server.sh on loopback, fsync off like the
# tests; stopped at the end even on failure). The backends alternate, REPEATS runs each, on fresh
# databases; figures are the min and median over all timed candles of all runs, ratios PostgreSQL /
# SQLite. BASELINE=path/to/another/bench_live_store adds that binary's SQLite figures (e.g. one built
# from main: the SQLite backend before and after a change, same run).
# Usage: bench/bench_live_store.sh [symbols=300] [candles=20] [history=100] [repeats=3]
#        (build first: scripts/build.sh release)
set -euo pipefail
cd "$(dirname "$0")/.."
nsym=${1:-300}
ncand=${2:-20}
hist=${3:-100}
reps=${4:-3}
bench=build/bench/bench_live_store
[[ -x $bench ]] || { echo "build first: scripts/build.sh release" >&2; exit 2; }
state=$(mktemp -d /tmp/tml-bench-live-pg.XXXXXX)
trap 'scripts/pg-test-server.sh stop "$state" >/dev/null; rm -rf "$state"' EXIT
scripts/pg-test-server.sh start "$state" >/dev/null
PGBIN=${TML_PG_BIN:-/usr/lib/postgresql/15/bin}
admin=$(cat "$state/admin_url")
app=$(cat "$state/url")
echo "== machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $nsym symbols, $ncand candles after $hist, $reps runs each"
out=$state/out
: >"$out"
for r in $(seq 1 "$reps"); do
  rm -f "$state"/live.db*
  "$bench" "$state/live.db" "$nsym" "$ncand" "$hist" | sed "s/^/sqlite $r: /" >>"$out"
  if [[ -n ${BASELINE:-} ]]; then
    rm -f "$state"/base.db*
    "$BASELINE" "$state/base.db" "$nsym" "$ncand" "$hist" | sed "s/^/baseline $r: /" >>"$out"
  fi
  PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -q -X "$admin" -c "DROP DATABASE IF EXISTS bench_live" -c "CREATE DATABASE bench_live OWNER trademl" >/dev/null
  "$bench" "${app%/*}/bench_live" "$nsym" "$ncand" "$hist" | sed "s/^/postgresql $r: /" >>"$out"
done
python3 - "$out" <<'PY'
import re, sys, collections
rows = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) \d+:\s+(.+?)\s+min\s+([\d.]+)\s+median\s+([\d.]+) (\w+)", line)
    if m:
        rows[m.group(1)][(m.group(2), m.group(5))].append((float(m.group(3)), float(m.group(4))))
def fig(b, k):
    v = rows[b][k]
    return min(x[0] for x in v), sorted(x[1] for x in v)[len(v) // 2]
keys = list(rows["sqlite"].keys())
print(f"{'':36} {'SQLite min/med':>20} {'PostgreSQL min/med':>22} {'PG/SQLite (median)':>20}" +
      (f" {'baseline SQLite':>20} {'SQLite/baseline':>16}" if rows.get("baseline") else ""))
for k in keys:
    (smin, smed), (pmin, pmed) = fig("sqlite", k), fig("postgresql", k)
    line = f"{k[0] + ' (' + k[1] + ')':36} {smin:9.1f} / {smed:8.1f} {pmin:10.1f} / {pmed:9.1f} {pmed / smed:19.2f}x"
    if rows.get("baseline"):
        bmin, bmed = fig("baseline", k)
        line += f" {bmin:9.1f} / {bmed:8.1f} {smed / bmed:15.2f}x"
    print(line)
PY
