#!/usr/bin/env bash
# The lstm strategy's speed (issue 14), every figure a ratio against a baseline measured in the same run:
#  1. training with the default lstm.* settings on ~30 days of 5m candles (SOLUSDT, ~7.4k rows), 2 threads:
#     wall and CPU seconds (target: <= 60 s wall on 2 cores);
#  2. the same network trained by PyTorch (Debian's python3-torch, bench/lstm_torch.py) on the same
#     exported matrix: same layers, hidden size, sequence length, batch size, learning rate, clipping,
#     dropout and epochs (a fixed number: early stopping off on both sides, so both do the same work),
#     2 threads each; REPEATS runs of each, alternating, repeat r with seed r on both sides, min and
#     median; the ratio PyTorch / trademl and the median best validation losses (target: trademl >= 2x
#     faster at a validation loss within 2 %);
#  3. one new candle with carried state (five heads): microseconds per candle (target: <= 200 us).
# Usage: bench/bench_lstm.sh [REPEATS=3] [EPOCHS=12]. Needs ../shared/data (or TRADEML_DATA_DIR) and a
# release build (scripts/build.sh). The machine may be shared: wall times are noisy, CPU times less so.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${TRADEML_DATA_DIR:-../shared/data}
# Threads that wait sleep instead of spinning (PyTorch OpenMP), so CPU seconds count work on both sides.
export OMP_WAIT_POLICY=passive
CSV=$DATA/bybit-linear/SOLUSDT_5m.csv
REPEATS=${1:-3}
EPOCHS=${2:-12}
BENCH=build/bench/bench_lstm
PY=/usr/bin/python3
[[ -x $BENCH ]] || { echo "build first: scripts/build.sh release" >&2; exit 2; }
[[ -f $CSV ]] || { echo "missing $CSV (set TRADEML_DATA_DIR)" >&2; exit 2; }
$PY -c 'import torch' 2>/dev/null || { echo "PyTorch missing: apt-get install python3-torch" >&2; exit 2; }
WORK=$(mktemp -d /tmp/tml-bench-lstm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "== machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); torch $($PY -c 'import torch; print(torch.__version__)')"

echo "== 1. defaults (early stopping on), 2 threads, one-candle streaming"
$BENCH "$CSV" 30 threads=2 stream=1 2>/dev/null | tee "$WORK/defaults.json"

echo "== 2. same network, $EPOCHS epochs fixed, 2 threads each, $REPEATS repeats"
$BENCH "$CSV" 30 export="$WORK/export.bin" fit=0 >/dev/null
# Repeat r uses seed r on both sides: the times are of the same work, the losses a median over seeds.
for r in $(seq 1 "$REPEATS"); do
  $BENCH "$CSV" 30 threads=2 epochs="$EPOCHS" patience="$EPOCHS" seed="$r" 2>/dev/null >>"$WORK/c.jsonl"
  $PY bench/lstm_torch.py "$WORK/export.bin" --threads 2 --epochs "$EPOCHS" --patience "$EPOCHS" --seed "$r" \
    2>/dev/null >>"$WORK/torch.jsonl"
  echo "   repeat $r: trademl $(tail -1 "$WORK/c.jsonl" | $PY -c 'import json,sys; r=json.load(sys.stdin); print(r["fit_s"], "s wall", r["cpu_s"], "s cpu, loss", r["best_valid_loss"])'); pytorch $(tail -1 "$WORK/torch.jsonl" | $PY -c 'import json,sys; r=json.load(sys.stdin); print(r["fit_s"], "s wall", r["cpu_s"], "s cpu, loss", r["best_valid_loss"])')"
done
$PY - "$WORK/defaults.json" "$WORK/c.jsonl" "$WORK/torch.jsonl" <<'PY'
import json, statistics, sys
d = json.load(open(sys.argv[1]))
c = [json.loads(l) for l in open(sys.argv[2])]
t = [json.loads(l) for l in open(sys.argv[3])]
def mm(rs, k):
    v = [r[k] for r in rs]
    return min(v), statistics.median(v)
print(f"defaults: {d['fit_s']:.1f} s wall ({d['cpu_s']:.1f} s CPU), {d['epochs_run']} epochs (best {d['best_epoch']}), "
      f"rows {d['fit_rows']} fit + {d['stop_rows']} stop; target <= 60 s: {'met' if d['fit_s'] <= 60 else 'NOT met'}")
print(f"one new candle (five heads, carried state): {d['stream_step_us_min']:.0f} us min / "
      f"{d['stream_step_us_median']:.0f} us median wall, {d['stream_step_cpu_us_min']:.0f} / "
      f"{d['stream_step_cpu_us_median']:.0f} us CPU; target <= 200 us")
for k, name in (("fit_s", "wall"), ("cpu_s", "CPU")):
    cm, cmed = mm(c, k)
    tm, tmed = mm(t, k)
    print(f"training {name}: trademl min {cm:.2f} s median {cmed:.2f} s; pytorch min {tm:.2f} s median {tmed:.2f} s; "
          f"pytorch/trademl {tm / cm:.2f}x (min), {tmed / cmed:.2f}x (median)")
lc = statistics.median(r["best_valid_loss"] for r in c)
lt = statistics.median(r["best_valid_loss"] for r in t)
print(f"best validation loss (median over seeds 1..{len(c)}): trademl {lc:.4f}, pytorch {lt:.4f}, "
      f"difference {100 * (lc - lt) / lt:+.2f} % (target within 2 %)")
PY
