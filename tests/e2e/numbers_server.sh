#!/usr/bin/env bash
# The daemon's side of issue 11 (numbers that must not mislead): /api/predict marks a stale candle and
# refuses it with 409 under max_age, defaults to the only model's interval, answers BTC%2FUSDT as
# docs/api.md says; /metrics, /api/coverage and /api/models give both model ages; the dashboard shows
# 99.96 % as 99.96.
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"
D=binance-usdm-2025h2
need_data $D/BTCUSDT_15m.csv
export TRADEML_TRAINING_NUM_BOOST_ROUND=20 TRADEML_TRAINING_EARLY_STOPPING_ROUNDS=5
expect_exit 0 "$BIN" data import "$DATA/$D/BTCUSDT_15m.csv" --symbol BTCUSDT --interval 15m
expect_exit 0 "$BIN" data resample --symbol BTCUSDT --from 15m --to 1h
expect_exit 0 "$BIN" train --symbol BTCUSDT --interval 1h --no-fetch --json
start_server --no-workers

# api_predict_on_a_stale_candle_says_so_and_max_age_refuses_with_409: the data end on 2025-12-31, so
# the candle is months old: stale: true with its age; max_age (query or predict.max_age) gives 409.
# The interval is the only model's (1h) although data.interval defaults to 15m.
api GET /api/predict/BTCUSDT
expect_code 200
python3 - "$BODY" <<'PY' || fail "stale prediction: $BODY"
import json, sys
p = json.loads(sys.argv[1])
assert p["interval"] == "1h", p["interval"]
assert p["stale"] is True and p["candle_age_seconds"] > 30 * 86400 and p["stale_after_seconds"] == 3 * 3600, p
PY
api GET '/api/predict/BTCUSDT?max_age=2h'
expect_code 409
expect_body '"code":"ESTALE"'
expect_body 'older than the allowed 2h 00m'
api GET '/api/predict/BTCUSDT?max_age=soon'
expect_code 400
expect_body "query parameter 'max_age'"
api GET '/api/predict/BTCUSDT?interval=4h'
expect_code 404
expect_body 'no 4h model for BTCUSDT; models exist for 1h'
ok "api_predict_on_a_stale_candle_says_so_and_max_age_refuses_with_409"

# api_predict_accepts_an_url_encoded_slash: BTC%2FUSDT is BTC/USDT is BTCUSDT.
api GET '/api/predict/BTC%2FUSDT?interval=1h'
expect_code 200
expect_body '"symbol":"BTCUSDT"'
api GET '/api/predict/BTC-USDT?interval=1h'
expect_code 200
ok "api_predict_accepts_an_url_encoded_slash"

# model_ages_in_metrics_coverage_and_models_api: time since training (seconds here) and the age of
# the newest candle trained on (months), side by side.
api GET /metrics
expect_code 200
python3 - "$BODY" <<'PY' || fail "metrics ages: $BODY"
import re, sys
m = sys.argv[1]
age = re.search(r'^trademl_model_age_seconds\{symbol="BTCUSDT",interval="1h",strategy="xgb5"\} (\d+)$', m, re.M)
data = re.search(r'^trademl_model_data_age_seconds\{symbol="BTCUSDT",interval="1h",strategy="xgb5"\} (\d+)$', m, re.M)
assert age and data, m
assert int(age.group(1)) < 600 and int(data.group(1)) > 30 * 86400, (age.group(1), data.group(1))
assert "Time since the active model was trained" in m
PY
api GET '/api/coverage?interval=1h'
expect_code 200
python3 - "$BODY" <<'PY' || fail "coverage ages: $BODY"
import json, sys
c = {r["symbol"]: r for r in json.loads(sys.argv[1])["symbols"]}["BTCUSDT"]
assert c["model_age_days"] < 0.01 and c["model_data_age_days"] > 30, c
PY
api GET /api/models
expect_code 200
python3 - "$BODY" <<'PY' || fail "models ages: $BODY"
import json, sys
m = json.loads(sys.argv[1])["models"][0]
assert m["age_seconds"] < 600 and m["data_age_seconds"] > 30 * 86400, m
PY
ok "model_ages_in_metrics_coverage_and_models_api"

# dashboard_percent_never_rounds_up_to_100: the dashboard's formatter, as served, on the numbers that
# used to mislead.
api GET /assets/app.js
expect_code 200
if command -v node >/dev/null; then
  node - "$WORK/resp" <<'JS' || fail "dashboard percent formatting"
const src = require('fs').readFileSync(process.argv[2], 'utf8');
const m = src.match(/function fmtPct\([\s\S]*?\n\}/);
if (!m) { console.error('no fmtPct in app.js'); process.exit(1); }
const fmtPct = new Function(m[0] + '; return fmtPct;')();
const cases = [[99.96, 2, '99.96'], [99.996, 2, '99.99'], [100, 2, '100.00'], [95.5, 2, '95.50'], [99.6, 0, '99'],
               [0, 2, '0.00'], [NaN, 2, ''], [null, 2, '']];
for (const [x, d, want] of cases) {
  const got = fmtPct(x, d);
  if (got !== want) { console.error(`fmtPct(${x}, ${d}) = ${got}, want ${want}`); process.exit(1); }
}
if (!/fmtPct\(c\.coverage_pct, 2\)/.test(src)) { console.error('coverage column does not use fmtPct'); process.exit(1); }
JS
  ok "dashboard_percent_never_rounds_up_to_100"
else
  echo "skip - dashboard_percent_never_rounds_up_to_100 (node is not installed)"
fi

stop_server
finish
