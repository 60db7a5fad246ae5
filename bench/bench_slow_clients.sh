#!/usr/bin/env bash
# /health latency of `trademl serve` while slow clients hold half-open connections ("GET /health
# HTTP/1.1\r\n", then nothing) from several loopback addresses, against the same daemon with no slow
# client (the baseline, measured in the same run). Loopback only.
# Usage: bench/bench_slow_clients.sh [CONNECTIONS] [SOURCES] [REPEATS]   (default 512 8 3)
#   BASELINE_BIN=/path/to/older/trademl bench/bench_slow_clients.sh    also runs an older binary
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TRADEML_BIN:-$PWD/build/trademl}
conns=${1:-512} sources=${2:-8} repeats=${3:-3}
WORK=$(mktemp -d /tmp/tml-bench-slow.XXXXXX)
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$WORK"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
echo "== machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

run() { # run LABEL BINARY
  local label=$1 bin=$2
  TRADEML_HOME=$WORK/home-$label "$bin" serve --listen "127.0.0.1:$port" --no-workers >"$WORK/$label.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  for n in 0 "$conns"; do
    for r in $(seq 1 "$repeats"); do
      python3 tests/e2e/lib/slowclients.py --port "$port" --conns "$n" --sources "$sources" --probes 100 \
        --max-ms 100 --deadline 40 >"$WORK/$label-$n-$r.json" 2>/dev/null || true
      sleep 1
    done
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  python3 - "$label" "$conns" "$repeats" "$WORK" <<'PY'
import json, statistics, sys
label, conns, repeats, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def load(n):
    return [json.load(open(f"{work}/{label}-{n}-{r}.json")) for r in range(1, repeats + 1)]
base, slow = load(0), load(conns)
med = lambda rs: statistics.median(r["health_ms"]["median"] for r in rs if r["health_ms"]["median"] is not None) \
    if any(r["health_ms"]["median"] is not None for r in rs) else None
mx = lambda rs: min(r["health_ms"]["max"] for r in rs if r["health_ms"]["max"] is not None) \
    if any(r["health_ms"]["max"] is not None for r in rs) else None
b, s = med(base), med(slow)
print(f"{label}: {conns} half-open connections, held {min(r['held_through_probes'] for r in slow)}; "
      f"/health median {s} ms vs {b} ms without them"
      + (f" (x{s / b:.2f})" if b and s else "")
      + f"; max (best of {repeats}) {mx(slow)} ms; failed probes {sum(len(r['failures']) for r in slow)} of "
      f"{100 * repeats}")
PY
}
run new "$BIN"
[[ -n "${BASELINE_BIN:-}" ]] && run baseline "$BASELINE_BIN"
exit 0
