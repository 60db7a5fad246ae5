#!/usr/bin/env bash
# ctest-labels: heavy
# The dashboard in headless Chromium (Debian's chromium driven by playwright-core): the page loads with
# no console errors, shows a job started through the API while it is open, shows its progress advancing
# without a reload, queues and cancels a job with its own form and button (POSTs that pass the daemon's
# cross-site checks) while a page of another origin cannot cancel it, and a screenshot is written (its
# path is printed). Skips when chromium or playwright-core is missing (scripts/setup.sh --test).
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"
need_data binance-spot/BTCUSDT_15m_2023-2026.csv
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
finish
