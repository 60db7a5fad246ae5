#!/usr/bin/env bash
# The seed job of issue 13: `train` on the last 30 days of DOGEUSDT 5m, five heads, 500 rounds with
# early stopping 50, on a fresh home each run (so no earlier model is loaded for comparison), both
# engines alternating in the same session:
#   bench/bench_seed_job.sh [RUNS]        (default 7 pairs)
# DAYS=90 trains on the last 90 days instead of 30 (a longer volatility head: see the idle-workers
# lever in docs/validation.md).
# Prints per engine the min / median of wall and CPU (user + system) seconds, and the median of the
# per-pair ratios native / XGBoost. Needs ../shared/data (or TRADEML_DATA_DIR) and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TRADEML_BIN:-build/trademl}
DATA=${TRADEML_DATA_DIR:-../shared/data}/bybit-linear/DOGEUSDT_5m.csv
[[ -e $DATA ]] || { echo "missing $DATA: skipped" >&2; exit 77; }
runs=${1:-7}
days=${DAYS:-30}
[[ $days =~ ^[1-9][0-9]*$ ]] || { echo "DAYS must be a positive integer, not '$days'" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer, not '$runs'" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TRADEML_HOME=$WORK/base "$BIN" data import "$DATA" --symbol DOGEUSDT --interval 5m >/dev/null
for _ in $(seq "$runs"); do
  for engine in native xgboost; do
    rm -rf "$WORK/run"
    cp -r "$WORK/base" "$WORK/run"
    TRADEML_HOME=$WORK/run /usr/bin/time -f "%e %U %S" -o "$WORK/t" "$BIN" train --symbol DOGEUSDT --interval 5m \
      --days "$days" --num-boost-round 500 --early-stopping-rounds 50 --engine "$engine" >/dev/null
    echo "$engine $(cat "$WORK/t")" >>"$WORK/all"
  done
done
python3 - "$WORK/all" "$days" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for e, wall, user, sys_ in rows:
    by.setdefault(e, []).append((float(wall), float(user) + float(sys_)))
print(f"seed job (DOGEUSDT 5m, {sys.argv[2]} days, five heads, fresh home), {len(by['native'])} pairs, min / median:")
for e in ("native", "xgboost"):
    w = [x[0] for x in by[e]]
    c = [x[1] for x in by[e]]
    print(f"  {e:8s} wall {min(w):6.2f} / {statistics.median(w):6.2f} s   CPU {min(c):6.2f} / {statistics.median(c):6.2f} s")
rw = [n[0] / x[0] for n, x in zip(by["native"], by["xgboost"])]
rc = [n[1] / x[1] for n, x in zip(by["native"], by["xgboost"])]
print(f"  native / xgboost, median of pairs: wall {statistics.median(rw):.3f}, CPU {statistics.median(rc):.3f}")
PY
