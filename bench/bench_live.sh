#!/usr/bin/env bash
# Live loop speed and scale (issue 10), all in one run:
#  1. compute alone: one new candle through tml_model_stream_push (features + 5 heads) vs the baseline
#     `trademl predict` path for the same candle (bench_live_push: min/median, ratio);
#  2. end to end: from a candle's close being available at the mock exchange (its clock advanced) to
#     the prediction arriving on the daemon's SSE stream, for N symbols (default 100) including the
#     fetch, over ROUNDS candles: p50/p99/max of the per-symbol latency, and per round the time until
#     the last symbol arrived; the daemon's RSS at start, middle and end of the rounds.
#
#   bench/bench_live.sh [N [ROUNDS]]       e.g. bench/bench_live.sh 100 20;  bench/bench_live.sh 300 1000
#
# Memory: the daemon's RSS is sampled every ROUNDS/10 candles and split by /proc/PID/smaps into anonymous
# memory (heap: SQLite page caches, models, buffers), the mappings of the database file (SQLite's mmap),
# the WAL index and the rest (code). "Steady" means: RSS at the last candle is less than 5 % above RSS
# at the middle one (the last half of the candles, e.g. the last 500 of 1000), printed as met / NOT met.
# Settings pass through the environment as usual, e.g. TRADEML_DATA_RESIDENT_CACHE_MIB=64
# TRADEML_DATA_RESIDENT_MMAP_MIB=1024 gives the daemon's connections the page cache and map that commands use.
# BENCH_LIVE_COMPUTE=0 skips part 1.
#
# Symbols beyond the real ones are synthetic: real Bybit 15m series served under other names (S001USDT...).
# Models are trained by the daemon's two workers (5 boosting rounds, 10 days: a speed setup, not a
# quality one). The mock has no rate limit and exchanges.http.rate is raised for it: against a real
# exchange its request budget adds to the fetch time. Needs ../shared/data (or TRADEML_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
ROUNDS=${2:-20}
DATA=${TRADEML_DATA_DIR:-../shared/data}
export OMP_WAIT_POLICY=passive
scripts/build.sh release >/dev/null
BIN=$PWD/build/trademl
MOCK=$PWD/build/tests/mock/mock_exchange
WORK=$(mktemp -d /tmp/tml-bench-live.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
export TRADEML_HOME=$WORK/home
echo "== machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $N symbols, $ROUNDS candles"

# ---- 1. compute alone ---------------------------------------------------------------------------------
if [[ ${BENCH_LIVE_COMPUTE:-1} != 0 ]]; then
csv=$DATA/bybit-linear/BTC_USDT_USDT-15m-futures.csv
"$BIN" data import "$csv" --symbol BTCUSDT --interval 15m >/dev/null
"$BIN" train --symbol BTCUSDT --interval 15m --days 90 --num-boost-round 200 --early-stopping-rounds 0 --threads 1 >/dev/null
model=$(ls -d "$TRADEML_HOME"/models/xgb5/BTCUSDT/15m/*/ | tail -1)
echo "== compute alone (BTCUSDT 15m, 200-round heads, one core)"
build/bench/bench_live_push "$TRADEML_HOME/trademl.db" "$model" BTCUSDT 500 5
rm -rf "$TRADEML_HOME"
fi

# ---- 2. end to end through the daemon ---------------------------------------------------------------
T0=1717200000000 # 2024-06-01T00:00:00Z: every file has history before and candles after it
# The mock keeps every series in memory: serve 11 days before T0 (10 are fetched) and enough after it.
files=()
for f in "$DATA"/bybit-linear/{BTC,ETH,SOL,BNB,WIF}_USDT_USDT-15m-futures.csv; do
  out=$WORK/$(basename "$f")
  awk -F, -v lo=$((T0 - 11 * 86400000)) -v hi=$((T0 + (ROUNDS + 10) * 900000)) \
    'NR == 1 || ($1 >= lo && $1 <= hi)' "$f" >"$out"
  files+=("$out")
done
args=()
syms=()
for i in $(seq 1 "$N"); do
  s=$(printf 'S%03dUSDT' "$i")
  syms+=("$s")
  args+=(--series "bybit:linear:$s:15m:${files[$(( (i - 1) % ${#files[@]} ))]}")
done
"$MOCK" --port-file "$WORK/mock.port" --max-seconds 7200 --now $((T0 + 1000)) "${args[@]}" >"$WORK/mock.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 1200); do [[ -s $WORK/mock.port ]] && break; sleep 0.1; done
[[ -s $WORK/mock.port ]] || { cat "$WORK/mock.log" >&2; echo "the mock exchange did not start" >&2; exit 1; }
MOCK_URL=http://127.0.0.1:$(cat "$WORK/mock.port")
export TRADEML_BYBIT_BASE_URL=$MOCK_URL
export TRADEML_DATA_DAYS=10 TRADEML_DATA_MIN_HISTORY_DAYS=4 TRADEML_DATA_MIN_COVERAGE_PCT=90
export TRADEML_TRAINING_NUM_BOOST_ROUND=5 TRADEML_TRAINING_MIN_TRAIN_ROWS=100 TRADEML_TRAINING_THREADS=1
export TRADEML_HTTP_RATE=100000 TRADEML_HTTP_RETRIES=2 TRADEML_HTTP_BACKOFF_MS=20
export TRADEML_LIVE_EXCHANGE=bybit TRADEML_LIVE_CATEGORY=linear TRADEML_LIVE_INTERVAL=15m TRADEML_LIVE_UNIVERSE=all
export TRADEML_LIVE_POLL_MS=50 TRADEML_LIVE_CLOSE_DELAY_SECONDS=0 TRADEML_LIVE_HEARTBEAT_SECONDS=86400
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$BIN" serve --listen "127.0.0.1:$PORT" --live --workers 2 >"$WORK/serve.log" 2>&1 &
SERVE=$!
PIDS+=($SERVE)
t_train=$(date +%s)
python3 - "http://127.0.0.1:$PORT" "$MOCK_URL" "$N" "$ROUNDS" "$SERVE" <<'PY'
import json, os, sys, threading, time, urllib.request
base, mock, n, rounds, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
Q = 900000
def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())
def rss_mib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
def mem_split():
    # VmRSS = RssAnon (heap: SQLite page caches, models, queues) + RssFile (the database file mapped by
    # SQLite's mmap_size, which grows with the file) + RssShmem (the WAL index); plus the file's size.
    d = {}
    for line in open(f"/proc/{pid}/status"):
        k = line.split(":")[0]
        if k in ("RssAnon", "RssFile", "RssShmem"):
            d[k] = int(line.split()[1]) / 1024
    db = os.path.join(os.environ["TRADEML_HOME"], "trademl.db")
    d["db"] = os.path.getsize(db) / 1048576 if os.path.exists(db) else 0
    # smaps: which mappings the resident pages are in (the database file mapped by each connection's mmap)
    m = {"heap": 0, "anon": 0, "dbmap": 0, "dbmaps": 0, "shm": 0, "other": 0}
    name = ""
    for line in open(f"/proc/{pid}/smaps"):
        f = line.split()
        if not f[0].endswith(":") or "-" in f[0]:
            name = f[5] if len(f) > 5 else ""
            if name.endswith("trademl.db"):
                m["dbmaps"] += 1
        elif f[0] == "Rss:":
            kb = int(f[1]) / 1024
            if name.endswith("trademl.db"):
                m["dbmap"] += kb
            elif name.endswith("-shm"):
                m["shm"] += kb
            elif name == "[heap]":
                m["heap"] += kb
            elif name == "" or name.startswith("[anon"):
                m["anon"] += kb
            else:
                m["other"] += kb
    return ("anon %.0f, file %.0f, shmem %.0f MiB; database %.0f MiB | smaps: heap %.0f, other anon %.0f, "
            "db file mapped %.0f (%d maps), wal index %.0f, code/other %.0f MiB" %
            (d.get("RssAnon", 0), d.get("RssFile", 0), d.get("RssShmem", 0), d["db"], m["heap"], m["anon"],
             m["dbmap"], m["dbmaps"], m["shm"], m["other"]))
for _ in range(600):
    try:
        get(base + "/health"); break
    except Exception:
        time.sleep(0.1)
# Wait until every symbol's train job is done, then one candle so the loop loads the models.
t0 = time.time()
while True:
    st = get(base + "/api/live")["status"]
    jobs = get(base + "/api/training/jobs?limit=1000")
    done = sum(1 for j in jobs["jobs"] if j["status"] in ("succeeded", "failed"))
    if len(st["symbols"]) == n and done >= n:
        break
    if time.time() - t0 > 1800:
        sys.exit("models not trained after 30 min: %s" % st["states"])
    time.sleep(1)
print("setup: %d models trained by 2 workers in %.0f s" % (n, time.time() - t0))
get(mock + "/mock/clock?advance=%d" % Q)
while get(base + "/api/live")["status"]["states"]["active"] < n:
    time.sleep(0.2)
events = []            # (receive time, symbol, candle open time)
lock = threading.Lock()
def reader():
    with urllib.request.urlopen(base + "/api/predictions/stream", timeout=3600) as r:
        ev = None
        for raw in r:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                ev = line[7:]
            elif line.startswith("data: ") and ev == "prediction":
                d = json.loads(line[6:])
                with lock:
                    events.append((time.time(), d["symbol"], d["candle_open_time"]))
threading.Thread(target=reader, daemon=True).start()
time.sleep(1)
lat, last = [], []
rss = {"start": rss_mib()}
split = {"start": mem_split()}
for k in range(rounds):
    with lock:
        events.clear()
    now = get(mock + "/mock/clock?advance=%d" % Q)["now"]
    t_avail = time.time()              # the candle that closed is available at the exchange from here
    want = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now // Q * Q - Q) / 1000))
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            got = [e for e in events if e[2] == want]
        if len(got) >= n:
            break
        time.sleep(0.002)
    if len(got) < n:
        sys.exit("round %d: %d of %d predictions for %s" % (k, len(got), n, want))
    ls = [e[0] - t_avail for e in got]
    lat += ls
    last.append(max(ls))
    if k == rounds // 2 - 1:               # after half of the candles
        rss["middle"] = rss_mib()
        split["middle"] = mem_split()
    if (k + 1) % max(1, rounds // 10) == 0:
        print("  after candle %4d: RSS %.0f MiB (%s)" % (k + 1, rss_mib(), mem_split()), flush=True)
rss["end"] = rss_mib()
split["end"] = mem_split()
lat.sort(); last.sort()
q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
print("close available -> prediction on the SSE stream, %d symbols x %d candles (fetch included):" % (n, rounds))
print("  per symbol: min %.0f ms, p50 %.0f ms, p99 %.0f ms, max %.0f ms" %
      (lat[0] * 1e3, q(lat, 0.5) * 1e3, q(lat, 0.99) * 1e3, lat[-1] * 1e3))
print("  whole universe (last symbol of a candle): min %.0f ms, median %.0f ms, max %.0f ms" %
      (last[0] * 1e3, q(last, 0.5) * 1e3, last[-1] * 1e3))
print("  p99 target <= 1000 ms: %s" % ("met" if q(lat, 0.99) <= 1.0 else "NOT met"))
print("daemon RSS: start %.0f MiB, middle %.0f MiB, end %.0f MiB (end/start %.3f)" %
      (rss["start"], rss.get("middle", rss["end"]), rss["end"], rss["end"] / rss["start"]))
for k in ("start", "middle", "end"):
    if k in split:
        print("  %-6s %s" % (k, split[k]))
growth = rss["end"] / rss.get("middle", rss["end"]) - 1
print("steady RSS (the last %d candles grow RSS < 5%%): %s (%+.1f%%)" %
      (rounds - rounds // 2, "met" if growth < 0.05 else "NOT met", growth * 100))
m = urllib.request.urlopen(base + "/metrics").read().decode()
for line in m.splitlines():
    if line.startswith(("trademl_live_tick_lag_seconds", "trademl_sse_dropped_total", "trademl_live_exchange_errors_total")):
        print("  " + line)
PY
