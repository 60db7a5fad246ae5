#!/usr/bin/env bash
# Walk-forward validation and training with the database on SQLite (baseline) and on PostgreSQL 15, in
# one run on the same candles (issue 16: the figures must not regress on PostgreSQL). Real BTCUSDT 15m
# candles (2023-2026, ~109k) are imported into a SQLite home and into a throw-away PostgreSQL server
# (scripts/pg-test-server.sh on loopback, fsync off like the tests; stopped at the end even on
# failure); then `trademl validate --mode quick` and `trademl train` run alternately on each backend,
# REPEATS times, and the wall times (min / median) and the PostgreSQL/SQLite ratios are printed with
# the load average before and after. Training settings are kept small (the database's share is what is
# measured: candle reads, registration with the model files); pass others after the repeats.
# Usage: bench/bench_pg_validate.sh [repeats=3] [extra validate/train options...]
#   (build first: scripts/build.sh release)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
shift || true
BIN=$PWD/${TRADEML_BIN:-build/trademl}
DATA=${TRADEML_DATA_DIR:-../shared/data}/binance-spot/BTCUSDT_15m_2023-2026.csv
[[ -x $BIN ]] || { echo "build first: scripts/build.sh release" >&2; exit 2; }
[[ -e $DATA ]] || { echo "SKIP: missing $DATA (set TRADEML_DATA_DIR)" >&2; exit 77; }
WORK=$(mktemp -d /tmp/tml-bench-pgv.XXXXXX)
trap 'scripts/pg-test-server.sh stop "$WORK/pg" >/dev/null; rm -rf "$WORK"' EXIT
scripts/pg-test-server.sh start "$WORK/pg" >/dev/null
URL=$(cat "$WORK/pg/url")
export OMP_WAIT_POLICY=passive
FAST=(--num-boost-round 40 --early-stopping-rounds 10)
VALIDATE=(validate --symbol BTCUSDT --interval 15m --mode quick --quick-folds 2 "${FAST[@]}" "$@")
TRAIN=(train --symbol BTCUSDT --interval 15m --days 365 --no-fetch "${FAST[@]}" "$@")

# run BACKEND NAME ARGS...: one timed command on SQLite (home $WORK/sqlite) or PostgreSQL (home
# $WORK/postgresql, data.database = the server); appends the wall seconds to $WORK/<backend>.<name>.
run() {
  local backend=$1 name=$2
  shift 2
  local env=(TRADEML_HOME="$WORK/$backend")
  [[ $backend == postgresql ]] && env+=(TRADEML_DATABASE_URL="$URL")
  local a b rc
  a=$(date +%s%N)
  set +e
  env "${env[@]}" "$BIN" "$@" >"$WORK/$backend.$name.out" 2>&1
  rc=$?
  set -e
  b=$(date +%s%N)
  # validate exits 3 when a gate did not pass (the figures are still the run's)
  [[ $rc -eq 0 || $rc -eq 3 ]] || { echo "$backend $name failed ($rc):" >&2; tail -20 "$WORK/$backend.$name.out" >&2; exit 1; }
  echo "$(((b - a) / 1000000))" >>"$WORK/$backend.$name" # ms
}

echo "== machine: $(nproc) cores; load before $(cut -d' ' -f1-3 /proc/loadavg)"
for backend in sqlite postgresql; do
  [[ $backend == postgresql ]] && env TRADEML_HOME="$WORK/$backend" TRADEML_DATABASE_URL="$URL" "$BIN" db init >/dev/null
  run "$backend" import data import "$DATA" --symbol BTCUSDT --interval 15m
done
n=$(/usr/lib/postgresql/15/bin/psql -X -A -t "$URL" -c "SELECT count(*) FROM candles WHERE symbol = 'BTCUSDT'")
echo "== candles in PostgreSQL: $n"
for ((r = 1; r <= reps; r++)); do
  for backend in sqlite postgresql; do # alternating, so both see the same load
    run "$backend" validate "${VALIDATE[@]}"
    run "$backend" train "${TRAIN[@]}"
  done
done
echo "== load after $(cut -d' ' -f1-3 /proc/loadavg)"
n=$(/usr/lib/postgresql/15/bin/psql -X -A -t "$URL" -c "SELECT count(*) FROM models")
echo "== models registered in PostgreSQL: $n (each with its files)"
python3 - "$WORK" "$reps" <<'PY'
import statistics, sys
work, reps = sys.argv[1], int(sys.argv[2])
def times(backend, name):
    return [int(x) / 1000 for x in open(f"{work}/{backend}.{name}").read().split()]
print(f"{'command':10s} {'SQLite min / median':>22s} {'PostgreSQL min / median':>26s} {'ratio PG/SQLite min, median':>30s}")
for name in ("import", "validate", "train"):
    s, p = times("sqlite", name), times("postgresql", name)
    sm, sd, pm, pd = min(s), statistics.median(s), min(p), statistics.median(p)
    print(f"{name:10s} {sm:9.2f} s / {sd:7.2f} s {pm:11.2f} s / {pd:7.2f} s {pm / sm:17.2f}x, {pd / sd:.2f}x"
          f"   ({len(s)} runs each)")
PY
