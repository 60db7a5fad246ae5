#!/usr/bin/env bash
# trademl benchmarks (issue figures): feature matrix, store load, the seed job and a 3-year train.
# Usage: bench/run.sh [quick]   -- "quick" skips the 3-year BTCUSDT 15m train.
# Prints wall times, peak memory (/usr/bin/time -v) and the XGBoost share, each with a baseline
# measured in the same run. Needs ../shared/data (or TRADEML_DATA_DIR), hyperfine and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${TRADEML_DATA_DIR:-../shared/data}
export OMP_WAIT_POLICY=passive
scripts/build.sh release
BIN=$PWD/build/trademl
WORK=$(mktemp -d /tmp/tml-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export TRADEML_HOME=$WORK/home

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== feature matrix, 200k candles (one core)"
build/bench/bench_features "$DATA/binance-spot/BTCUSDT_15m_2023-2026.csv" 15
echo "== store load, 200k candles"
build/bench/bench_store 200000 9 | tail -1

"$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m >/dev/null
"$BIN" data import "$DATA/binance-spot/BTCUSDT_15m_2023-2026.csv" --symbol BTCUSDT --interval 15m >/dev/null

# train_bench NAME ARGS...: peak RSS and timings from one run with --json, then hyperfine on 2 vs 1 threads.
train_bench() {
  local name=$1; shift
  /usr/bin/time -v "$BIN" train "$@" --json >"$WORK/$name.json" 2>"$WORK/$name.time"
  python3 - "$WORK/$name.json" "$WORK/$name.time" "$name" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))["result"]
t = r["timings"]; txt = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt).group(1)) / 1024
wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", txt).group(1)
heads = {h: v["best_iteration"] for h, v in r["heads"].items()}
print(f"{sys.argv[3]}: wall {wall}, peak RSS {rss:.0f} MiB, rows {r['data']['rows']} "
      f"(train {r['data']['train_rows']}, valid {r['data']['valid_rows']})")
print(f"  stages: load {t['load_s']:.2f}s, features+labels {t['features_labels_s']:.2f}s, "
      f"training {t['train_s']:.2f}s, save {t['save_s']:.2f}s, total {t['total_s']:.2f}s")
print(f"  XGBoost share of wall time: {100 * t['train_s'] / t['total_s']:.1f}% "
      f"(boosting summed over heads {t['xgboost_s']:.2f}s on {2} worker threads); best iterations {heads}")
PY
  if command -v hyperfine >/dev/null; then
    hyperfine --style basic --runs "${RUNS:-3}" --export-markdown "$WORK/$name.md" \
      -n "$name threads=2" "$BIN train $* --threads 2" \
      -n "$name threads=1 (baseline)" "$BIN train $* --threads 1" 2>&1 | grep -E "Time|±|faster|threads" || true
  fi
}
echo "== seed job: SOLUSDT 5m, 30 days, 5 heads, 500 rounds, early stopping 50"
train_bench seed --symbol SOLUSDT --interval 5m --days 30 --num-boost-round 500 --early-stopping-rounds 50
if [[ "${1:-}" != quick ]]; then
  echo "== BTCUSDT 15m 2023-2026 (binance-spot, all history), 5 heads, 500 rounds, early stopping 50"
  RUNS=1 train_bench btc15m --symbol BTCUSDT --interval 15m --days 0 --num-boost-round 500 --early-stopping-rounds 50
fi
