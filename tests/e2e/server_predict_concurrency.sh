#!/usr/bin/env bash
# GET /api/predict under concurrency, on loopback only: 6 clients hammer two symbols (BTCUSDT, ETHUSDT)
# at once, and every answer must equal what `trademl predict` prints for that symbol's latest candle
# (all fields but candle_age_seconds, which depends on the clock). Then the other BTCUSDT version is
# activated through the API while ETHUSDT keeps being served: BTCUSDT answers must switch to the newly
# active set (the server's model cache drops the old version) and ETHUSDT answers must not change.
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"
need_data binance-spot/BTCUSDT_15m_2023-2026.csv binance-spot/ETHUSDT_15m_2023-2026.csv

# The last 5,000 candles of each: enough history for training and a prediction that takes a while.
for s in BTCUSDT ETHUSDT; do
  { head -n 1 "$DATA/binance-spot/${s}_15m_2023-2026.csv"; tail -n 5000 "$DATA/binance-spot/${s}_15m_2023-2026.csv"; } >"$WORK/$s.csv"
  expect_exit 0 "$BIN" data import "$WORK/$s.csv" --symbol "$s" --interval 15m
done
FAST=(--interval 15m --num-boost-round 20 --early-stopping-rounds 0)
expect_exit 0 "$BIN" train --symbol BTCUSDT --days 30 "${FAST[@]}"
expect_exit 0 "$BIN" train --symbol ETHUSDT --days 30 "${FAST[@]}"
sleep 1 # model versions are named by the second
expect_exit 0 "$BIN" train --symbol BTCUSDT --days 40 "${FAST[@]}"

# References from the CLI: the active set of each symbol, and the BTCUSDT set that is not active.
expect_exit 0 "$BIN" predict --symbol BTCUSDT --interval 15m
echo "$OUT" >"$WORK/ref-BTCUSDT.json"
expect_exit 0 "$BIN" predict --symbol ETHUSDT --interval 15m
echo "$OUT" >"$WORK/ref-ETHUSDT.json"
expect_exit 0 "$BIN" models list --all --json
read -r other_id other_dir < <(python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
rows = rows["models"] if isinstance(rows, dict) else rows
cand = [r for r in rows if r["key"] == "BTCUSDT" and not r["active"]]
assert len(cand) == 1, rows
print(cand[0]["id"], cand[0]["path"])' "$OUT")
[[ -n "$other_dir" && -d "$other_dir" ]] || fail "no inactive BTCUSDT set to activate: $OUT"
expect_exit 0 "$BIN" predict --symbol BTCUSDT --interval 15m --model "$other_dir"
echo "$OUT" >"$WORK/ref2-BTCUSDT.json"
cmp -s <(grep -o '"predictions".*' "$WORK/ref-BTCUSDT.json") <(grep -o '"predictions".*' "$WORK/ref2-BTCUSDT.json") &&
  fail "the two BTCUSDT sets predict the same: the activation check below could not tell them apart"

start_server --no-workers

# hammer CLIENTS REQUESTS REF_BTC REF_ETH: every client alternates the two symbols (starting on
# different ones) on its own keep-alive connection; every answer is checked against its reference.
hammer() {
  python3 - "$BASE" "$@" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
base, clients, per, ref_btc, ref_eth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
u = urllib.parse.urlparse(base)
def norm(d):
    d = dict(d)
    d.pop("candle_age_seconds", None)
    return d
refs = {"BTCUSDT": norm(json.load(open(ref_btc))), "ETHUSDT": norm(json.load(open(ref_eth)))}
bad, lat, lock = [], [], threading.Lock()
def client(k):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    for i in range(per):
        sym = ("BTCUSDT", "ETHUSDT")[(i + k) % 2]
        t0 = time.monotonic()
        conn.request("GET", f"/api/predict/{sym}?interval=15m")
        r = conn.getresponse()
        body = r.read()
        with lock:
            lat.append(time.monotonic() - t0)
            if r.status != 200:
                bad.append(f"{sym}: HTTP {r.status}: {body[:300]!r}")
            elif norm(json.loads(body)) != refs[sym]:
                bad.append(f"{sym}: answer differs from `trademl predict`:\n  got  {body.decode()}\n  want {refs[sym]}")
    conn.close()
t0 = time.monotonic()
ts = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in ts: t.start()
for t in ts: t.join()
wall = time.monotonic() - t0
lat.sort()
print(f"{len(lat)} predictions from {clients} clients in {wall:.2f} s: median {lat[len(lat)//2]*1000:.0f} ms, "
      f"max {lat[-1]*1000:.0f} ms")
if bad or len(lat) != clients * per:
    print("\n".join(bad[:5]), file=sys.stderr)
    sys.exit(1)
PY
}

hammer 6 10 "$WORK/ref-BTCUSDT.json" "$WORK/ref-ETHUSDT.json" || fail "concurrent predictions"
ok "60 concurrent predictions of two symbols from 6 clients all equal \`trademl predict\`"

# Activate the other BTCUSDT set while ETHUSDT is being served; from then on BTCUSDT answers with it.
hammer 2 20 "$WORK/ref-BTCUSDT.json" "$WORK/ref-ETHUSDT.json" >/dev/null 2>&1 &
bg=$!
api POST "/api/models/$other_id/activate" '{}'
expect_code 200
wait "$bg" || true # answers during the switch may be either version; the check is below
hammer 4 6 "$WORK/ref2-BTCUSDT.json" "$WORK/ref-ETHUSDT.json" || fail "predictions after activation"
ok "after activating model $other_id, BTCUSDT answers with it and ETHUSDT is unchanged"

stop_server TERM
[[ "$SERVER_RC" == 0 ]] || fail "SIGTERM exit code $SERVER_RC: $(tail -n 20 "$SERVER_LOG")"
finish
