#!/usr/bin/env bash
# ctest-labels: heavy
# The dashboard in headless Chromium (Debian's chromium driven by playwright-core): the page loads with
# no console errors, shows a job started through the API while it is open, shows its progress advancing
# without a reload, queues and cancels a job with its own form and button (POSTs that pass the daemon's
# cross-site checks) while a page of another origin cannot cancel it, and a screenshot is written (its
# path is printed). Then the live panel: `serve --live` against the mock exchange (real Bybit BTCUSDT +
# WIFUSDT listed two days before), BTCUSDT trained by the daemon's worker and predicted, WIFUSDT blocked:
# the panel shows one active with its last prediction and the other blocked with its reason. Skips when
# chromium or playwright-core is missing (scripts/setup.sh --test installs both).
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"
need_data binance-spot/BTCUSDT_15m_2023-2026.csv bybit-linear/BTC_USDT_USDT-15m-futures.csv \
  bybit-linear/WIF_USDT_USDT-15m-futures.csv
[[ -x /usr/bin/chromium ]] || { echo "SKIP: /usr/bin/chromium is missing (apt-get install chromium)"; exit 77; }
[[ -d "$SRC/tests/e2e/browser/node_modules/playwright-core" ]] ||
  { echo "SKIP: playwright-core is not installed (scripts/setup.sh --test)"; exit 77; }

expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_15m_2023-2026.csv" --symbol BTCUSDT --interval 15m
start_server --workers 1
mkdir -p "$WORK/browser" "$WORK/evil"
# A page of another origin (another loopback port) that will try to post to the daemon.
echo '<!doctype html><title>another site</title><body>another site</body>' >"$WORK/evil/index.html"
EVIL_PORT=$(free_port)
python3 -m http.server "$EVIL_PORT" --bind 127.0.0.1 --directory "$WORK/evil" >"$WORK/evil.log" 2>&1 &
EVIL_PID=$!
trap 'kill "$EVIL_PID" 2>/dev/null || true; server_cleanup' EXIT
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$EVIL_PORT/" && break; sleep 0.1; done
set +e
(cd "$SRC/tests/e2e/browser" && timeout 240 node dashboard.js --url "$BASE/" --out "$WORK/browser" \
  --evil "http://127.0.0.1:$EVIL_PORT/" \
  --start '{"symbol":"BTC/USDT","timeframe":"M15","days":60,"num_boost_round":200,"early_stopping_rounds":0}')
rc=$?
set -e
[[ $rc -eq 0 ]] || fail "browser checks failed (exit $rc); daemon log:
$(tail -20 "$SERVER_LOG")"
[[ -s "$WORK/browser/dashboard.png" ]] || fail "no screenshot"
# Keep the screenshot past the temp dir's cleanup so it can be looked at.
shot=${TML_BINARY_DIR:-$WORK}/server_dashboard.png
cp "$WORK/browser/dashboard.png" "$shot"
echo "screenshot: $shot"
ok "dashboard: no console errors, job started through the API shown with advancing progress, the page's own start and cancel work while another origin's posts are refused, screenshot"
stop_server TERM
[[ "$SERVER_RC" == 0 ]] || fail "SIGTERM exit code $SERVER_RC"

# ---- the live panel --------------------------------------------------------------------------------
home=$WORK
source "$SRC/tests/e2e/lib/mock.sh"
kill "$EVIL_PID" 2>/dev/null || true # the other origin's page server is done with
wait "$EVIL_PID" 2>/dev/null || true
trap 'mock_stop; server_cleanup' EXIT
Q=900000
T0=1717200000000 # 2024-06-01T00:00:00Z
mock_start --now $((T0 + 5000)) \
  --series "bybit:linear:BTCUSDT:15m:$DATA/bybit-linear/BTC_USDT_USDT-15m-futures.csv" \
  --series "$(mock_listing "bybit:linear:WIFUSDT:15m:$DATA/bybit-linear/WIF_USDT_USDT-15m-futures.csv" $((T0 - 2 * 96 * Q)))"
export TRADEML_HOME=$WORK/live-home TRADEML_DATA_DAYS=20 TRADEML_DATA_MIN_HISTORY_DAYS=4
export TRADEML_TRAINING_NUM_BOOST_ROUND=10 TRADEML_TRAINING_MIN_TRAIN_ROWS=100 TRADEML_TRAINING_THREADS=1
export TRADEML_HTTP_RATE=500 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=2
export TRADEML_LIVE_EXCHANGE=bybit TRADEML_LIVE_CATEGORY=linear TRADEML_LIVE_INTERVAL=15m TRADEML_LIVE_UNIVERSE=all
export TRADEML_LIVE_POLL_MS=50
PORT=""
start_server --live --workers 1
job=""
for _ in $(seq 1 200); do
  api GET /api/live
  job=$(python3 -c "import json,sys; s=json.load(sys.stdin)['status']; print([y['job_id'] for y in s['symbols'] if y['symbol']=='BTCUSDT'][0])" <<<"$BODY" 2>/dev/null || true)
  [[ -n $job && $job != 0 ]] && break
  sleep 0.1
done
[[ -n $job && $job != 0 ]] || fail "the live loop submitted no BTCUSDT job: $BODY"
wait_job "$job" succeeded 120
mock_clock_advance $Q >/dev/null # the loop looks for activations (and predicts) on each candle
for _ in $(seq 1 200); do
  api GET "/api/predictions/latest?interval=15m"
  grep -q '"symbol":"BTCUSDT"' <<<"$BODY" && break
  sleep 0.1
done
grep -q '"symbol":"BTCUSDT"' <<<"$BODY" || fail "no BTCUSDT prediction: $BODY"
set +e
(cd "$SRC/tests/e2e/browser" && timeout 120 node dashboard.js --url "$BASE/" --out "$WORK/browser" --live BTCUSDT,WIFUSDT)
rc=$?
set -e
[[ $rc -eq 0 ]] || fail "live panel checks failed (exit $rc); daemon log:
$(tail -20 "$SERVER_LOG")"
cp "$WORK/browser/live.png" "${TML_BINARY_DIR:-$WORK}/server_dashboard_live.png"
echo "screenshot: ${TML_BINARY_DIR:-$WORK}/server_dashboard_live.png"
ok "live panel in headless Chromium: BTCUSDT active with its last prediction, WIFUSDT blocked with its reason"
stop_server TERM
[[ "$SERVER_RC" == 0 ]] || fail "SIGTERM exit code $SERVER_RC"
mock_stop
finish
