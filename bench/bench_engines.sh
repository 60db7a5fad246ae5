#!/usr/bin/env bash
# The native engine against XGBoost on the same walk-forward (issue 13's quality standard):
#   bench/bench_engines.sh [quick|full] [SYMBOL] [validate options...]    (default: quick BTCUSDT)
# Runs `trademl validate` on ../shared/data/binance-spot/<SYMBOL>_15m_2023-2026.csv once per engine
# in the same session (same folds, same parameters), each under /usr/bin/time -v, and prints per
# head metric the two out-of-sample means, XGBoost's fold-to-fold std, whether the difference is
# within a sixth of that std, and the CPU and wall ratios.
# ENGINES=native (or xgboost) runs one engine only and prints its CPU, wall and metric means (to set
# beside the other engine's figures from an earlier run of the same session).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TRADEML_BIN:-build/trademl}
mode=${1:-quick}
symbol=${2:-BTCUSDT}
shift 2 || shift $#
DATA=${TRADEML_DATA_DIR:-../shared/data}/binance-spot/${symbol}_15m_2023-2026.csv
[[ -e $DATA ]] || { echo "missing $DATA" >&2; exit 77; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export TRADEML_HOME=$WORK/home OMP_WAIT_POLICY=passive
"$BIN" data import "$DATA" --symbol "$symbol" --interval 15m >/dev/null
ENGINES=${ENGINES:-xgboost native}
for engine in $ENGINES; do
  set +e
  /usr/bin/time -v "$BIN" validate --symbol "$symbol" --interval 15m --mode "$mode" --num-boost-round 500 \
    --early-stopping-rounds 50 --engine "$engine" "$@" >"$WORK/$engine.out" 2>"$WORK/$engine.time"
  rc=$?
  set -e
  [[ $rc -eq 0 || $rc -eq 3 ]] || { cat "$WORK/$engine.time" >&2; exit 1; }
  ls -td "$TRADEML_HOME"/reports/*-"$mode"-*/ | head -1 >"$WORK/$engine.dir"
done
python3 - "$WORK" "$mode" "$symbol" $ENGINES <<'PY'
import json, re, sys
work, mode, symbol = sys.argv[1:4]
engines = sys.argv[4:]
res = {}
for e in engines:
    t = open(f"{work}/{e}.time").read()
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
    parts = [float(x) for x in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    r = json.load(open(open(f"{work}/{e}.dir").read().strip() + "report.json"))
    assert r["parameters"]["engine"] == e, r["parameters"].get("engine")
    res[e] = (cpu, secs, r)
keys = [f"{h}.{m}" for h in ("direction", "volatility", "timing") for m in ("accuracy", "roc_auc", "logloss")] + \
       [f"{h}.rmse" for h in ("stop_loss", "position_size")]
if len(engines) == 1:
    e = engines[0]
    cpu, secs, r = res[e]
    print(f"{symbol} 15m, {mode}: {len(r['folds'])} folds, {e} only")
    print(f"  CPU {cpu:.1f} s, wall {secs:.1f} s")
    print(f"  {'metric':22s} {'mean':>8s} {'std':>7s}")
    for k in keys:
        print(f"  {k:22s} {r['summary'][k]['mean']:8.4f} {r['summary'][k]['std']:7.4f}")
    sys.exit(0)
folds = len(res["xgboost"][2]["folds"])
print(f"{symbol} 15m, {mode}: {folds} folds")
print(f"  CPU  xgboost {res['xgboost'][0]:.1f} s, native {res['native'][0]:.1f} s: {res['xgboost'][0] / res['native'][0]:.2f}x less")
print(f"  wall xgboost {res['xgboost'][1]:.1f} s, native {res['native'][1]:.1f} s: {res['xgboost'][1] / res['native'][1]:.2f}x")
sx, sn = res["xgboost"][2]["summary"], res["native"][2]["summary"]
bad = 0
print(f"  {'metric':22s} {'xgboost':>8s} {'native':>8s} {'std':>7s} {'|diff|/std':>10s}")
for k in keys:
    mx, mn, sd = sx[k]["mean"], sn[k]["mean"], sx[k]["std"]
    ratio = abs(mn - mx) / sd if sd > 0 else float("inf")
    ok = ratio <= 1 / 6
    bad += not ok
    print(f"  {k:22s} {mx:8.4f} {mn:8.4f} {sd:7.4f} {ratio:10.3f} {'ok' if ok else 'OUTSIDE 1/6'}")
print(f"  {len(keys) - bad} of {len(keys)} metrics within a sixth of XGBoost's fold-to-fold std")
PY
