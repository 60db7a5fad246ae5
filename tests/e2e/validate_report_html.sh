#!/usr/bin/env bash
# ctest-labels: heavy
# report.html renders in headless Chromium: the DOM holds the charts, the gate table and the verdict,
# and the page logs no script errors (it has no script at all) and fetches nothing.
source "$(dirname "$0")/lib/common.sh"
need_data binance-spot/BTCUSDT_1h_2021-2026.csv
CHROME=$(command -v chromium || command -v chromium-browser || true)
[[ -n $CHROME ]] || { echo "SKIP: chromium is not installed (scripts/setup.sh --test installs it)"; exit 77; }

expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" --symbol BTCUSDT --interval 1h
expect_exit 3 "$BIN" validate --symbol BTCUSDT --interval 1h --quick-folds 3 --test-period-days 30 \
  --train-window-days 90 --num-boost-round 30 --early-stopping-rounds 5 --max-bin 64 --min-train-rows 500 \
  --signal-threshold 0.4
html=$(ls "$TRADEML_HOME"/reports/*/report.html)
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$WORK/chrome")
timeout 120 "$CHROME" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$html" >"$WORK/dom.html" \
  2>"$WORK/console.log" || fail "chromium failed: $(tail -5 "$WORK/console.log")"
for id in verdict gates summary folds chart-direction-accuracy chart-direction-roc_auc-up chart-equity \
          chart-importance; do
  grep -q "id=\"$id\"" "$WORK/dom.html" || fail "rendered DOM lacks #$id"
done
grep -q 'Verdict: gate not passed' "$WORK/dom.html" || fail "no verdict in the DOM"
[[ $(grep -o '<svg' "$WORK/dom.html" | wc -l) -ge 8 ]] || fail "fewer than 8 charts rendered"
grep -q '<polyline' "$WORK/dom.html" || fail "no chart lines"
if grep -iE 'Uncaught|CONSOLE\(|Failed to load resource|net::ERR' "$WORK/console.log"; then
  fail "console errors while rendering report.html"
fi
ok "report.html renders in headless Chromium with charts and verdicts, no console errors"
timeout 120 "$CHROME" "${flags[@]}" --window-size=1300,2000 --screenshot="$WORK/shot.png" "file://$html" \
  >/dev/null 2>&1 || fail "screenshot failed"
[[ $(stat -c %s "$WORK/shot.png") -gt 20000 ]] || fail "screenshot is suspiciously small"
ok "screenshot"
finish
