#!/usr/bin/env bash
# ctest-labels: heavy
# ctest-serial
# trademl serve under load, on loopback only: 1,000 GET requests from 8 concurrent clients across the
# read routes while three training jobs run in worker processes. No request may fail, /health stays
# green throughout, and the p99 latency of the read routes must stay under 50 ms (printed).
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"
need_data binance-spot/BTCUSDT_15m_2023-2026.csv binance-spot/ETHUSDT_15m_2023-2026.csv binance-spot/SOLUSDT_1h_2021-2026.csv

expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_15m_2023-2026.csv" --symbol BTCUSDT --interval 15m
expect_exit 0 "$BIN" data import "$DATA/binance-spot/ETHUSDT_15m_2023-2026.csv" --symbol ETHUSDT --interval 15m
expect_exit 0 "$BIN" data import "$DATA/binance-spot/SOLUSDT_1h_2021-2026.csv" --symbol SOLUSDT --interval 1h
start_server --workers 3
ids=()
for req in '{"symbol":"BTC/USDT","timeframe":"M15","days":45,"num_boost_round":200,"early_stopping_rounds":0}' \
  '{"symbol":"ETHUSDT","timeframe":"15m","days":45,"num_boost_round":200,"early_stopping_rounds":0}' \
  '{"symbol":"SOLUSDT","timeframe":"H1","days":180,"num_boost_round":200,"early_stopping_rounds":0}'; do
  api POST /api/training/start "$req"
  expect_code 201
  ids+=("$(jget '["job_id"]')")
done
# Wait until training is under way, then load the API while it runs.
for _ in $(seq 1 50); do
  api GET '/api/training/jobs?status=running'
  [[ $(jget '["total"]') -ge 1 ]] && break
  sleep 0.2
done
[[ $(jget '["total"]') -ge 1 ]] || fail "no job started running: $BODY"
( while sleep 0.5; do curl -s -o /dev/null -w '%{http_code}\n' "$BASE/health" >>"$WORK/health-codes" || echo 000 >>"$WORK/health-codes"; done ) &
watcher=$!
set +e
python3 "$SRC/tests/e2e/lib/load.py" --base "$BASE" --requests 1000 --clients 8 >"$WORK/load.json" 2>"$WORK/load.err"
rc=$?
set -e
api GET '/api/training/jobs?status=running'
running_after=$(jget '["total"]')
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
cat "$WORK/load.json"
[[ $rc -eq 0 ]] || fail "requests failed: $(cat "$WORK/load.err")"
python3 - "$WORK/load.json" "$running_after" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["requests"] == 1000 and r["errors"] == 0, r
print(f"read routes: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms, {r['rps']} req/s "
      f"({r['clients']} clients; jobs still running after the load: {sys.argv[2]})")
assert r["p99_ms"] < 50, f"p99 {r['p99_ms']} ms >= 50 ms"
PY
bad=$(grep -vc '^200$' "$WORK/health-codes" || true)
[[ "$bad" == 0 ]] || fail "/health was not 200 during the load: $(sort "$WORK/health-codes" | uniq -c)"
ok "1000 requests from 8 clients while training: no errors, health green, p99 < 50 ms"
for id in "${ids[@]}"; do wait_job "$id" succeeded 240; done
api GET /health
expect_code 200
[[ $(jget '["last_successful_training"]') != None ]] || fail "no last successful training: $BODY"
ok "the three jobs trained successfully under load"
stop_server TERM
[[ "$SERVER_RC" == 0 ]] || fail "SIGTERM exit code $SERVER_RC"
finish
