#!/usr/bin/env bash
# ctest-fixtures: pg
# The live loop's state and predictions on PostgreSQL (issue 16), end to end with real processes, the
# mock exchange (real Bybit BTCUSDT 15m candles, its clock advanced by the test) and the throw-away
# PostgreSQL server:
# 1. host A runs the loop on SQLite (`trademl live --once` per candle; a worker trains the model);
# 2. `db migrate-from` moves A into PostgreSQL: live_predictions, live_symbols and live_loop with equal
#    counts and checksums; `trademl predictions` and `trademl live status` print exactly what they
#    printed on SQLite;
# 3. host B (another home, no files) runs the loop on PostgreSQL: the two candles that closed meanwhile
#    are backfilled from the migrated state (model files from the database), no gap, none twice;
# 4. the daemon with its loop (`serve --live`) on PostgreSQL: the server ends every session of the
#    database mid-run (a restart or a cut link); the loop reconnects and predicts every candle once;
#    /api/predictions and /api/live read them back; the password shows nowhere.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/pg.sh"
need_data bybit-linear/BTC_USDT_USDT-15m-futures.csv
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the JSON"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is needed to call the daemon"; exit 77; }
home=$WORK
source "$SRC/tests/e2e/lib/mock.sh"
source "$SRC/tests/e2e/lib/server.sh"
trap 'mock_stop; server_cleanup' EXIT

Q=900000                  # one 15m candle
T0=1717200000000          # 2024-06-01T00:00:00Z
clock=$((T0 + 5000))      # 5 s after the 23:45 candle closed
mock_start --now "$clock" --series "bybit:linear:BTCUSDT:15m:$DATA/bybit-linear/BTC_USDT_USDT-15m-futures.csv"
mock_get /mock/clock | grep -q '"now"' || { echo "SKIP: this mock exchange has no controllable clock"; exit 77; }
export TRADEML_DATA_DAYS=20 TRADEML_DATA_MIN_HISTORY_DAYS=4 TRADEML_DATA_MIN_COVERAGE_PCT=90
export TRADEML_TRAINING_NUM_BOOST_ROUND=10 TRADEML_TRAINING_MIN_TRAIN_ROWS=100 TRADEML_TRAINING_THREADS=1
export TRADEML_HTTP_RATE=500 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=2 TRADEML_HTTP_TIMEOUT_MS=3000
LIVE=(live --exchange bybit --category linear --interval 15m --symbols BTCUSDT --once)
advance() { clock=$(mock_clock_advance "$1"); }
# preds: the stored predictions of BTCUSDT as JSON (trademl predictions, through whichever database)
preds() { "$BIN" predictions --symbol BTCUSDT --interval 15m --json; }
# check_rows JSON N: N predictions of consecutive candles, none twice, the last one closed by $clock
check_rows() {
  python3 - "$1" "$2" "$clock" "$Q" <<'PY' || fail "predictions: $1"
import datetime, json, sys
rows, n, clock, q = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ms = lambda s: int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
t = [ms(r["candle_open_time"]) for r in rows]
assert len(t) == n, "expected %d predictions, got %d: %s" % (n, len(t), t)
assert len(set(t)) == len(t), "a candle predicted twice: %s" % t
assert all(b - a == q for a, b in zip(t, t[1:])), "a gap: %s" % t
assert t[-1] + q <= clock < t[-1] + 2 * q, "the last closed candle is not predicted: %s at %d" % (t[-1], clock)
PY
}

# ---- 1. host A: the loop on SQLite --------------------------------------------------------------------
export TRADEML_HOME=$WORK/host-a
expect_exit 0 "$BIN" "${LIVE[@]}"
expect_out "BTCUSDT: training: enough history \([0-9.]+ days\); job [0-9]+ submitted"
"$BIN" worker --exit-when-idle --concurrency 1 >"$WORK/worker.log" 2>&1 || fail "worker: $(cat "$WORK/worker.log")"
grep -q '1 succeeded, 0 failed' "$WORK/worker.log" || fail "the training job failed: $(cat "$WORK/worker.log")"
expect_exit 0 "$BIN" "${LIVE[@]}"
expect_out "BTCUSDT: model 1 \(.*\) loaded"
for _ in 1 2 3; do advance $Q; expect_exit 0 "$BIN" "${LIVE[@]}"; done
PREDS_A=$(preds)
check_rows "$PREDS_A" 4
STATUS_A=$("$BIN" live status --json --interval 15m)
ok "host A (SQLite): the model trained and loaded, 4 candles predicted"

# ---- 2. db migrate-from: the live tables move with equal counts and checksums -------------------------
pg_fresh_db e2e_live_pg
export TRADEML_DATABASE_URL=$PG_URL
expect_exit 0 "$BIN" db init
expect_out '^schema +.*live 1'
expect_exit 0 "$BIN" db migrate-from "$WORK/host-a/trademl.db" --json
no_password
python3 - "$OUT" <<'PY' || fail "migrate-from: $OUT"
import json, sys
t = {x["table"]: x for x in json.loads(sys.argv[1])["tables"]}
for name, rows in (("live_predictions", 4), ("live_symbols", 1), ("live_loop", 1)):
    x = t[name]
    assert x["outcome"] == "copied" and x["source_rows"] == x["target_rows"] == rows, x
    assert x["source_checksum"] == x["target_checksum"], x
PY
[[ $(pg_sql "SELECT count(*) FROM live_predictions WHERE resolved_ms IS NULL AND NOT stale") == 4 ]] ||
  fail "live_predictions on PostgreSQL: $(pg_sql 'SELECT id, candle_ms, stale, resolved_ms FROM live_predictions')"
OUT=$(preds)
[[ $OUT == "$PREDS_A" ]] || fail "predictions differ after the migration:
SQLite:     $PREDS_A
PostgreSQL: $OUT"
OUT=$("$BIN" live status --json --interval 15m)
[[ $OUT == "$STATUS_A" ]] || fail "live status differs after the migration:
SQLite:     $STATUS_A
PostgreSQL: $OUT"
ok "migrate-from: live tables copied, counts and checksums equal; predictions and live status identical"

# ---- 3. host B: the loop on PostgreSQL continues from the migrated state -----------------------------
export TRADEML_HOME=$WORK/host-b
rm -rf "$WORK/host-a/models" # no shared files: host B gets the model from the database
advance $Q
advance $Q # two candles close while no loop runs
expect_exit 0 "$BIN" "${LIVE[@]}"
expect_out "BTCUSDT: model 1 \(.*\) loaded"
no_password
check_rows "$(preds)" 6
[[ $(pg_sql "SELECT max(id) FROM live_predictions") == 6 ]] || fail "ids: $(pg_sql 'SELECT id FROM live_predictions')"
OUT=$("$BIN" live status --json --interval 15m)
python3 - "$OUT" "$clock" <<'PY' || fail "live status on PostgreSQL: $OUT"
import json, sys
s = json.loads(sys.argv[1])
assert s["running"] is False and s["counters"]["predictions"] == 2 and s["counters"]["backfilled"] == 2, s
y = s["symbols"][0]
assert y["symbol"] == "BTCUSDT" and y["state"] == "active" and y["model"]["id"] == 1, y
PY
[[ -d $WORK/host-b/models/xgb5/BTCUSDT/15m ]] || fail "host B did not cache the model from the database"
ok "host B (PostgreSQL, no shared files): the 2 candles closed meanwhile predicted once each, no gap"

# ---- 4. the daemon's loop on PostgreSQL survives the database ending every session --------------------
export TRADEML_HOME=$WORK/host-c
export TRADEML_LIVE_EXCHANGE=bybit TRADEML_LIVE_CATEGORY=linear TRADEML_LIVE_INTERVAL=15m
export TRADEML_LIVE_SYMBOLS=BTCUSDT TRADEML_LIVE_POLL_MS=50 TRADEML_LOGGING_LEVEL=info
live_py() { api GET /api/live; expect_code 200; python3 -c "import json,sys; s=json.load(sys.stdin)['status']; print($1)" <<<"$BODY"; }
wait_predicted() { # wait_predicted N: until the loop stored its Nth prediction
  local end=$((SECONDS + 60)) got=0
  while [[ $SECONDS -le $end ]]; do
    got=$(live_py 's["counters"]["predictions"]' 2>/dev/null || echo 0)
    [[ $got -ge $1 ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the daemon died: $(tail -20 "$SERVER_LOG")"
    sleep 0.1
  done
  fail "the daemon's loop stored $got predictions, expected $1: $BODY
$(tail -20 "$SERVER_LOG")"
}
start_server --live
advance $Q
wait_predicted 1
PGBIN=${TML_PG_BIN:-/usr/lib/postgresql/15/bin}
ended=$("$PGBIN/psql" -X -q -A -t "$PG_ADMIN_URL" -c \
  "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${PG_URL##*/}'")
[[ $ended -ge 2 ]] || fail "expected to end the daemon's sessions, ended $ended"
advance $Q
wait_predicted 2
advance $Q
wait_predicted 3
grep -q "lost the connection to postgresql://trademl:\*\+@" "$SERVER_LOG" ||
  fail "no reconnect logged: $(tail -20 "$SERVER_LOG")"
grep -q "$PG_PASSWORD" "$SERVER_LOG" && fail "the password is in the daemon's log"
api GET "/api/predictions?symbol=BTCUSDT&interval=15m"
expect_code 200
python3 - "$BODY" "$clock" "$Q" <<'PY' || fail "/api/predictions: $BODY"
import datetime, json, sys
body, clock, q = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rows = body["predictions"] if isinstance(body, dict) else body
ms = lambda s: int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
t = [ms(r["candle_open_time"]) for r in rows]
assert len(t) == 9 and len(set(t)) == 9, t
assert all(b - a == q for a, b in zip(t, t[1:])), "a gap: %s" % t
assert t[-1] + q <= clock < t[-1] + 2 * q, (t[-1], clock)
PY
[[ $(live_py '[y["state"] for y in s["symbols"] if y["symbol"] == "BTCUSDT"][0]') == active ]] ||
  fail "/api/live: BTCUSDT not active: $BODY"
stop_server
check_rows "$(preds)" 9
[[ -d $WORK/host-c/models/xgb5/BTCUSDT/15m ]] || fail "host C did not cache the model from the database"
ok "serve --live on PostgreSQL: every session ended mid-run, the loop reconnected; 9 predictions, none lost or twice"
finish
