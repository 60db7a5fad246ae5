#!/usr/bin/env bash
# Issue 13's four speed targets for the native engine, measured in one session, each with its verdict:
#   bench/bench_engine_targets.sh [RUNS] [SYMBOL]        (default 7 runs, BTCUSDT)
# 1. the full walk-forward (SYMBOL 15m 2023-2026) with both engines in the same run
#    (bench/bench_engines.sh full): >= 3x less CPU than XGBoost, 11 of 11 metrics within a sixth of
#    XGBoost's fold-to-fold std, and <= 90 s wall on a quiet machine;
# 2. quick mode (`validate --mode quick --engine native`), RUNS runs: <= 4 s wall;
# 3. the seed job (`train` on the last 30 days of DOGEUSDT 5m, five heads, fresh home), RUNS runs:
#    <= 0.5 s wall.
# Wall times depend on the machine: the issue's figures come from a quiet 2-core machine on which
# XGBoost ran this full walk-forward in 255 s. The report prints this machine's factor (XGBoost's
# wall here / 255 s) and the native figures divided by it, marked as estimates: a wall-time target
# counts as met only when measured, here. The issue's targets and its 255 s are BTCUSDT's: with
# another SYMBOL the verdicts are for comparison and no machine factor is printed. SKIP_FULL=1 skips
# part 1 (~10 minutes on 2 cores; no machine factor then). Needs ../shared/data (or TRADEML_DATA_DIR)
# and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TRADEML_BIN:-build/trademl}
runs=${1:-7}
symbol=${2:-BTCUSDT}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer, not '$runs'" >&2; exit 2; }
DATA=${TRADEML_DATA_DIR:-../shared/data}
FULL=$DATA/binance-spot/${symbol}_15m_2023-2026.csv
SEED=$DATA/bybit-linear/DOGEUSDT_5m.csv
for f in "$FULL" "$SEED"; do
  [[ -e $f ]] || { echo "missing $f: skipped" >&2; exit 77; }
done
[[ -x $BIN ]] || { echo "no $BIN: build it first (scripts/build.sh release)" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_WAIT_POLICY=passive
echo "== machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"

if [[ ${SKIP_FULL:-0} != 1 ]]; then
  echo "== full walk-forward, $symbol 15m, both engines (bench/bench_engines.sh full $symbol)"
  TRADEML_BIN=$BIN bench/bench_engines.sh full "$symbol" | tee "$WORK/full"
fi

TRADEML_HOME=$WORK/quick "$BIN" data import "$FULL" --symbol "$symbol" --interval 15m >/dev/null
TRADEML_HOME=$WORK/seed "$BIN" data import "$SEED" --symbol DOGEUSDT --interval 5m >/dev/null
echo "== quick mode and seed job, native engine, $runs runs each (alternating)"
for _ in $(seq "$runs"); do
  rm -rf "$WORK/run" && cp -r "$WORK/quick" "$WORK/run"
  set +e
  TRADEML_HOME=$WORK/run /usr/bin/time -f "%e" -o "$WORK/t" "$BIN" validate --symbol "$symbol" --interval 15m \
    --mode quick --num-boost-round 500 --early-stopping-rounds 50 --engine native >/dev/null 2>"$WORK/err"
  rc=$?
  set -e
  [[ $rc -eq 0 || $rc -eq 3 ]] || { cat "$WORK/err" >&2; exit 1; } # 3: the gates' verdict, not a failure
  echo "quick $(tail -1 "$WORK/t")" >>"$WORK/all"
  rm -rf "$WORK/run" && cp -r "$WORK/seed" "$WORK/run"
  TRADEML_HOME=$WORK/run /usr/bin/time -f "%e" -o "$WORK/t" "$BIN" train --symbol DOGEUSDT --interval 5m \
    --days 30 --num-boost-round 500 --early-stopping-rounds 50 --engine native >/dev/null
  echo "seed $(tail -1 "$WORK/t")" >>"$WORK/all"
done

python3 - "$WORK" "$symbol" <<'PY'
import os, re, statistics, sys
work, symbol = sys.argv[1:3]
times = {}
for line in open(f"{work}/all"):
    k, v = line.split()
    times.setdefault(k, []).append(float(v))
factor = None
rows = []
if os.path.exists(f"{work}/full"):
    full = open(f"{work}/full").read()
    cpu = re.search(r"CPU  xgboost ([\d.]+) s, native ([\d.]+) s", full)
    wall = re.search(r"wall xgboost ([\d.]+) s, native ([\d.]+) s", full)
    within = re.search(r"(\d+) of (\d+) metrics within", full)
    xc, nc, xw, nw = float(cpu.group(1)), float(cpu.group(2)), float(wall.group(1)), float(wall.group(2))
    factor = xw / 255.0 if symbol == "BTCUSDT" else None  # the issue's 255 s is BTCUSDT's
    rows.append(("full: CPU less than XGBoost", f"{xc / nc:.2f}x", ">= 3x", "met" if xc / nc >= 3 else "NOT MET"))
    rows.append(("full: metrics within 1/6 std", f"{within.group(1)} of {within.group(2)}", "all",
                 "met" if within.group(1) == within.group(2) else "NOT MET"))
    rows.append(("full: wall", f"{nw:.1f} s", "<= 90 s", "met" if nw <= 90 else "not met here"))
for key, name, bar in (("quick", "quick mode: wall", 4.0), ("seed", "seed job: wall", 0.5)):
    v = times[key]
    med = statistics.median(v)
    rows.append((name, f"{med:.2f} s median, {min(v):.2f} s min", f"<= {bar:g} s",
                 "met" if med <= bar else ("met at the minimum only" if min(v) <= bar else "not met here")))
print(f"== issue 13's speed targets, native engine, {symbol}"
      + ("" if symbol == "BTCUSDT" else " (the issue's bars are BTCUSDT's: for comparison)"))
for r in rows:
    print(f"  {r[0]:30s} {r[1]:28s} {r[2]:8s} {r[3]}")
if factor:
    print(f"  machine factor: XGBoost's full walk-forward took {xw:.1f} s here against 255 s on the issue's quiet")
    print(f"  machine ({factor:.2f}x). Divided by it (estimates, not measurements): full {nw / factor:.0f} s,"
          f" quick {statistics.median(times['quick']) / factor:.2f} s, seed job {statistics.median(times['seed']) / factor:.2f} s")
PY
