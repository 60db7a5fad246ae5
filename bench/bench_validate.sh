#!/usr/bin/env bash
# Walk-forward validation speed and memory on real BTCUSDT 15m candles (2023-2026, ~109k candles):
# quick and full mode, five heads, 500 rounds with early stopping 50, under /usr/bin/time -v.
# Usage: bench/bench_validate.sh [quick|full|both] [validate options...] (default both), e.g.
#   bench/bench_validate.sh full --max-bin 256     # the default before 64, as a baseline
# Prints wall time, peak RSS, the report's time split (features, per-stage row preparation, XGBoost
# training, prediction, metrics) and the mean out-of-sample metrics, so parameter changes that buy
# speed can be checked for what they cost in model quality.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TRADEML_BIN:-build/trademl}
DATA=${TRADEML_DATA_DIR:-../shared/data}/binance-spot/BTCUSDT_15m_2023-2026.csv
[[ -e $DATA ]] || { echo "missing $DATA" >&2; exit 77; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "work folder $WORK (progress: $WORK/<mode>.time)"
export TRADEML_HOME=$WORK/home OMP_WAIT_POLICY=passive
"$BIN" data import "$DATA" --symbol BTCUSDT --interval 15m >/dev/null
what=${1:-both}
shift || true
for mode in quick full; do
  [[ $what == both || $what == "$mode" ]] || continue
  set +e
  /usr/bin/time -v "$BIN" validate --symbol BTCUSDT --interval 15m --mode "$mode" --num-boost-round 500 \
    --early-stopping-rounds 50 "$@" >"$WORK/$mode.out" 2>"$WORK/$mode.time"
  rc=$?
  set -e
  [[ $rc -eq 0 || $rc -eq 3 ]] || { cat "$WORK/$mode.time" >&2; exit 1; }
  report=$(ls -td "$TRADEML_HOME"/reports/*-"$mode"-*/ | head -1)/report.json
  python3 - "$mode" "$WORK/$mode.time" "$report" <<'PY'
import json, re, sys
mode, tfile, rfile = sys.argv[1:]
t = open(tfile).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
r = json.load(open(rfile))
run = r["run"]
ts = run["thread_seconds"]
folds = len(r["folds"])
later = run["rounds"] - 5 * folds  # round 0 of each of the five heads of every fold is counted apart
print(f"{mode:5s} folds {folds:3d}  wall {wall}  peak RSS {rss/1024:.0f} MiB  CPU {cpu:.0f} s  threads {run['threads']}")
print(f"      features+targets {run['features_seconds']:.1f} s (once); stage {run['seconds']:.1f} s wall; thread-seconds:"
      f" prepare {ts['prepare']:.1f}, XGBoost train {ts['xgboost_train']:.1f}"
      f" (DMatrix + sketch + round 0: {ts['xgboost_round0']:.1f}; the other {later} rounds:"
      f" {1000 * (ts['xgboost_train'] - ts['xgboost_round0']) / max(later, 1):.1f} ms each),"
      f" predict {ts['predict']:.1f}, metrics {ts['metrics']:.2f}")
s = r["summary"]
print("      best iterations (mean): " + ", ".join(f"{h} {s[h + '.best_iteration']['mean']:.0f}"
      for h in ("direction", "volatility", "timing", "stop_loss", "position_size")))
keys = ("direction.accuracy", "direction.roc_auc", "direction.roc_auc.up", "direction.logloss", "direction.macro_f1",
        "volatility.accuracy", "volatility.logloss", "timing.accuracy", "timing.logloss",
        "stop_loss.rmse", "stop_loss.r2", "position_size.rmse", "position_size.r2")
print("      out-of-sample mean (std over folds):")
for k in keys:
    if k in s:
        print(f"        {k:22s} {s[k]['mean']:.4f} ({s[k]['std']:.4f})")
PY
done
