#!/usr/bin/env bash
# GET /api/predict throughput of the daemon, one client vs two clients on two symbols at once, on real
# BTCUSDT and ETHUSDT 15m candles (the whole 2023-2026 history, ~109k candles each, so a prediction
# is mostly feature streaming, not HTTP). With no lock held across a prediction, two clients should
# get up to ~2x the throughput of one on 2 free cores; a daemon that predicts one request at a time
# stays at ~1x.
# Usage: bench/bench_predict_concurrency.sh [BASELINE_BIN]   (TRADEML_BIN, default build/trademl)
# With BASELINE_BIN (e.g. a build of an older commit), both binaries are measured in the same run on
# the same models; each figure is the min and median of 5 repeats.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TRADEML_BIN:-$PWD/build/trademl}
BASE_BIN=${1:-}
DATA=${TRADEML_DATA_DIR:-../shared/data}/binance-spot
for s in BTCUSDT ETHUSDT; do [[ -e $DATA/${s}_15m_2023-2026.csv ]] || { echo "missing $DATA/${s}_15m_2023-2026.csv" >&2; exit 77; }; done
WORK=$(mktemp -d /tmp/tml-bench.XXXXXX)
PID=""
trap '[[ -n $PID ]] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
export TRADEML_HOME=$WORK/home OMP_WAIT_POLICY=passive
echo "== machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in BTCUSDT ETHUSDT; do
  "$BIN" data import "$DATA/${s}_15m_2023-2026.csv" --symbol $s --interval 15m >/dev/null
  "$BIN" train --symbol $s --interval 15m --days 60 --num-boost-round 50 --early-stopping-rounds 0 >/dev/null
done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

measure() { # measure NAME BINARY
  "$2" serve --listen 127.0.0.1:$PORT --no-workers >"$WORK/serve.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
  python3 - "$1" "$PORT" <<'PY'
import http.client, statistics, sys, threading, time
name, port = sys.argv[1], int(sys.argv[2])
N = 40  # requests per run
def run(symbols):
    def client(sym, n):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(n):
            c.request("GET", f"/api/predict/{sym}?interval=15m")
            r = c.getresponse(); r.read()
            assert r.status == 200, r.status
        c.close()
    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(s, N // len(symbols))) for s in symbols]
    for t in ts: t.start()
    for t in ts: t.join()
    return N / (time.monotonic() - t0)
run(["BTCUSDT", "ETHUSDT"])  # warm the model cache and the page cache
one = [run(["BTCUSDT"]) for _ in range(5)]
two = [run(["BTCUSDT", "ETHUSDT"]) for _ in range(5)]
print(f"{name}: 1 client {min(one):.1f}/{statistics.median(one):.1f} req/s (min/median), "
      f"2 clients on 2 symbols {min(two):.1f}/{statistics.median(two):.1f} req/s; "
      f"ratio of medians {statistics.median(two) / statistics.median(one):.2f}x")
PY
  kill $PID; wait $PID 2>/dev/null || true; PID=""
}
[[ -n $BASE_BIN ]] && measure baseline "$BASE_BIN"
measure this "$BIN"
