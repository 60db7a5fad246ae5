#!/usr/bin/env bash
# trademl serve: the API contract without training (the daemon runs with --no-workers so jobs stay
# queued): the issue's start request, job listing/paging/filters, detail, cancel, models, coverage,
# queue, schedule, health and metrics; every kind of bad and hostile request gets a 4xx JSON error and
# leaves the daemon healthy; the token rules; SIGTERM exits cleanly.
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"
need_data binance-spot/BTCUSDT_15m_2023-2026.csv

expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_15m_2023-2026.csv" --symbol BTCUSDT --interval 15m
start_server --no-workers

# ---- health and metrics ----
api GET /health
expect_code 200
python3 - "$BODY" <<'PY'
import json, sys
h = json.loads(sys.argv[1])
assert h["status"] == "ok", h
assert h["database"]["reachable"] is True, h
assert h["scheduler"]["heartbeat_age_seconds"] < 5, h
assert h["workers"] == {"busy": 0, "idle": 0, "total": 0}, h["workers"]
assert h["queue_depth"] == 0 and h["last_successful_training"] is None, h
PY
ok "GET /health reports status, heartbeat, database, workers, queue depth, last training"

# ---- the issue's start request ----
START='{"symbol":"BTC/USDT","timeframe":"M15","training_mode":"quick","test_period_days":60,"min_train_days":180,"use_expanding_window":false}'
api POST /api/training/start "$START"
expect_code 201
id=$(jget '["job_id"]')
[[ $(jget '["url"]') == "/api/training/jobs/$id" ]] || fail "job url: $BODY"
python3 - "$BODY" <<'PY'
import json, sys
j = json.loads(sys.argv[1])["job"]
assert j["kind"] == "validate" and j["mode"] == "quick" and j["status"] == "queued", j
assert j["interval"] == "15m", j
assert "BTCUSDT" in json.dumps(j["symbols"]), j
p = j["params"] if isinstance(j["params"], dict) else json.loads(j["params"])
assert p == {"validation.test_period_days": 60, "validation.min_train_days": 180, "validation.window": "fixed"}, p
PY
ok "POST /api/training/start takes the bots' body (BTC/USDT, M15, quick) and returns the job id and URL"

api POST /api/training/start "$START"
expect_code 200
[[ $(jget '["job_id"]') == "$id" && $(jget '["existed"]') == "True" ]] || fail "duplicate start: $BODY"
ok "an identical start request returns the queued job (deduplicated)"

api POST /api/training/start '{"symbol":"BTCUSDT","interval":"15m","days":30,"num_boost_round":60}'
expect_code 201
train_id=$(jget '["job_id"]')
[[ $(jget '["job"]["kind"]') == "train" ]] || fail "plain train kind: $BODY"
ok "a request without training_mode is a plain train job"

api GET '/api/training/jobs?status=queued&limit=1'
expect_code 200
[[ $(jget '["total"]') == 2 && $(jget '["jobs"].__len__()') == 1 && $(jget '["jobs"][0]["id"]') == "$train_id" ]] ||
  fail "paging: $BODY"
api GET '/api/training/jobs?status=queued&limit=1&offset=1'
[[ $(jget '["jobs"][0]["id"]') == "$id" ]] || fail "offset: $BODY"
api GET '/api/training/jobs?status=running'
expect_code 200
[[ $(jget '["total"]') == 0 ]] || fail "status filter: $BODY"
api GET '/api/training/jobs?kind=validate&symbol=BTC/USDT'
[[ $(jget '["total"]') == 1 ]] || fail "kind+symbol filter: $BODY"
ok "GET /api/training/jobs filters by status, kind and symbol and pages with limit/offset"

api GET "/api/training/jobs/$id"
expect_code 200
python3 - "$BODY" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
for k in ("status", "progress", "folds", "log_tail", "attempts_history"):
    assert k in j, k
PY
ok "GET /api/training/jobs/{id} shows status, progress, folds and log tail"

# A running validation's folds come from its log as they finish, in any order (the largest run first):
# the API lists them by stage, then fold number.
mkdir -p "$TRADEML_HOME/logs/jobs"
for k in 3 1 2; do
  echo "fold-metrics {\"stage\":\"quick\",\"fold\":$k,\"of\":3,\"metrics\":{\"direction.accuracy\":{\"value\":0.4$k,\"baseline\":0.3}}}"
done >"$TRADEML_HOME/logs/jobs/$id.log"
api GET "/api/training/jobs/$id"
expect_code 200
python3 - "$BODY" <<'PY' || fail "fold order: $BODY"
import json, sys
f = json.loads(sys.argv[1])["folds"]
assert [x["fold"] for x in f] == [1, 2, 3], [x["fold"] for x in f]
assert f[0]["metrics"]["direction.accuracy"]["value"] == 0.41, f[0]
PY
rm -f "$TRADEML_HOME/logs/jobs/$id.log"
ok "a running validation's folds are listed in fold order whatever order they finished in"

api POST "/api/training/jobs/$train_id/cancel"
expect_code 200
[[ $(jget '["status"]') == cancelled ]] || fail "cancel: $BODY"
api POST "/api/training/jobs/$train_id/cancel"
expect_code 409
expect_body '"code":"ECONFLICT"'
api POST /api/training/jobs/999999/cancel
expect_code 404
ok "POST .../cancel cancels a queued job; a finished or unknown job is 409/404"

# ---- models, coverage, queue, schedule, predict ----
api GET /api/models
expect_code 200
[[ $(jget '["total"]') == 0 ]] || fail "models: $BODY"
api GET /api/models/42
expect_code 404
api POST /api/models/42/activate
expect_code 404
api GET /api/coverage
expect_code 200
expect_body '"interval"'
api POST /api/queue '{"symbols":["LTC/USDT","DOGEUSDT"]}'
[[ "$CODE" =~ ^20[01]$ ]] || fail "queue add: $CODE $BODY"
api GET /api/queue
expect_code 200
expect_body 'LTCUSDT'
api DELETE /api/queue '{"symbol":"LTCUSDT"}'
expect_code 200
api DELETE /api/queue '{}'
expect_code 400
api GET /api/schedule
expect_code 200
[[ $(jget '["next_runs"].__len__()') -ge 1 ]] || fail "schedule: $BODY"
api GET '/api/predict/BTCUSDT?interval=15m'
expect_code 404
expect_body 'train'
ok "models, coverage, queue, schedule and predict routes answer (404 with a hint where nothing exists)"

# ---- validation errors, each named ----
check() { # check CODE PATTERN METHOD PATH [BODY]
  local want=$1 pat=$2
  shift 2
  api "$@"
  expect_code "$want"
  expect_body '^\{"error":\{"code":"[A-Z_]+","message":'
  expect_body "$pat"
}
check 400 'malformed JSON at line 1' POST /api/training/start '{"symbol":'
check 400 "unknown field 'colour'" POST /api/training/start '{"symbol":"BTCUSDT","colour":"red"}'
check 400 "field 'test_period_days' must be an integer, got a string" POST /api/training/start \
  '{"symbol":"BTCUSDT","training_mode":"quick","test_period_days":"60"}'
check 400 "field 'test_period_days' is 0" POST /api/training/start '{"symbol":"BTCUSDT","training_mode":"quick","test_period_days":0}'
check 400 "field 'training_mode' is 'fast'" POST /api/training/start '{"symbol":"BTCUSDT","training_mode":"fast"}'
check 400 "field 'timeframe'.*M7" POST /api/training/start '{"symbol":"BTCUSDT","timeframe":"M7"}'
check 400 "missing field 'symbol'" POST /api/training/start '{}'
check 400 'must be a JSON object' POST /api/training/start '[1,2]'
check 422 'ZZZUSDT' POST /api/training/start '{"symbol":"ZZZ/USDT","timeframe":"M15"}'
check 400 "query parameter 'status'" GET '/api/training/jobs?status=sleeping'
check 400 "query parameter 'limit'" GET '/api/training/jobs?limit=0'
check 400 "invalid id 'abc'" GET /api/training/jobs/abc
check 404 'no route' GET /api/nothing
check 405 'allowed: GET' DELETE /health
check 415 'Content-Type' POST /api/training/start '{"symbol":"BTCUSDT"}' -H 'Content-Type: text/plain'
ok "malformed JSON, unknown fields, wrong types, out-of-range values, unknown symbols: 4xx naming each"

# ---- hostile requests ----
head -c 200000 /dev/zero | tr '\0' 'a' >"$WORK/big"
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/big" "$BASE/api/training/start")
[[ "$CODE" == 413 ]] || fail "oversized body: $CODE $(cat "$WORK/resp")"
CODE=$(head -c 200000 /dev/zero | tr '\0' 'a' | curl -s -o "$WORK/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H 'Transfer-Encoding: chunked' --data-binary @- "$BASE/api/training/start")
[[ "$CODE" == 413 ]] || fail "oversized chunked body: $CODE $(cat "$WORK/resp")"
check 400 'nested deeper than 32' POST /api/training/start "$(python3 -c 'print("["*5000 + "]"*5000)')"
printf '{"symbol":"BTC\xff\xfeUSDT"}' >"$WORK/bad-utf8"
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/bad-utf8" "$BASE/api/training/start")
[[ "$CODE" == 400 ]] && grep -q 'decode' "$WORK/resp" || fail "invalid UTF-8: $CODE $(cat "$WORK/resp")"
check 400 "invalid symbol '../../etc/passwd'" POST /api/training/start '{"symbol":"../../etc/passwd"}'
check 400 "invalid symbol '...etc'" GET '/api/predict/..%2e%65tc?interval=15m'
check 400 "invalid symbol" GET '/api/training/jobs?symbol=BTC%27%3B%20DROP%20TABLE%20jobs%3B--'
for p in '/api/predict/..%2F..%2Fetc%2Fpasswd' '/assets/..%2F..%2Fsrc%2Fserver%2Fhttp.c' '/../../etc/passwd'; do
  CODE=$(curl -s --path-as-is -o "$WORK/resp" -w '%{http_code}' "$BASE$p")
  [[ "$CODE" =~ ^4 ]] || fail "path traversal $p: $CODE $(head -c 200 "$WORK/resp")"
done
api GET /health
expect_code 200
api GET '/api/training/jobs?status=queued'
[[ $(jget '["total"]') == 1 ]] || fail "the job table changed under hostile requests: $BODY"
ok "oversized, deeply nested, invalid UTF-8 and path-traversal requests get 4xx; the daemon stays healthy"

# ---- metrics ----
api GET /metrics
expect_code 200
for m in 'trademl_jobs\{status="queued"\} 1' 'trademl_queue_depth 1' 'trademl_job_duration_seconds_bucket\{le="\+Inf"\}' \
  'trademl_training_runs_total' 'trademl_training_runs_failed_total' 'trademl_active_models 0' \
  'trademl_model_age_seconds' 'trademl_blocked_symbols\{reason=' \
  'trademl_http_requests_total\{route="POST /api/training/start",code="400"\}' \
  'trademl_http_requests_total\{route="POST /api/training/start",code="413"\} 2'; do
  expect_body "$m"
done
ok "GET /metrics exposes jobs by status, queue depth, duration histogram, runs, models, blocked symbols, HTTP codes"

# ---- dashboard assets ----
CODE=$(curl -s -D "$WORK/hdr" -o "$WORK/index" -w '%{http_code}' "$BASE/")
[[ "$CODE" == 200 ]] && grep -qi '^content-security-policy:' "$WORK/hdr" && grep -q '/assets/app.js' "$WORK/index" ||
  fail "dashboard: $CODE"
for a in app.js style.css; do
  CODE=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/assets/$a")
  [[ "$CODE" == 200 ]] || fail "asset $a: $CODE"
done
grep -Eq 'https?://' "$WORK/index" && fail "the dashboard references an external URL"
ok "the dashboard and its assets are served from the binary with a CSP"

# ---- SIGTERM: clean exit ----
stop_server TERM
[[ "$SERVER_RC" == 0 ]] || fail "SIGTERM exit code $SERVER_RC: $(cat "$SERVER_LOG")"
grep -q 'stopped' "$SERVER_LOG" || fail "no stop message: $(cat "$SERVER_LOG")"
ok "SIGTERM stops the daemon cleanly (exit 0)"

# ---- token rules ----
export TRADEML_API_TOKEN=s3cret-token
start_server --no-workers
api POST /api/queue '{"symbol":"ADAUSDT"}'
expect_code 401
api POST /api/queue '{"symbol":"ADAUSDT"}' -H 'Authorization: Bearer wrong'
expect_code 401
api POST /api/queue '{"symbol":"ADAUSDT"}' -H 'Authorization: Bearer s3cret-token'
[[ "$CODE" =~ ^20[01]$ ]] || fail "with token: $CODE $BODY"
api GET /api/queue
expect_code 200
ok "with server.api_token set, mutating routes need 'Authorization: Bearer <token>'; reads do not"
stop_server TERM
[[ "$SERVER_RC" == 0 ]] || fail "SIGTERM exit code $SERVER_RC: $(tail -20 "$SERVER_LOG")"
unset TRADEML_API_TOKEN
expect_exit 1 "$BIN" serve --listen "0.0.0.0:$(free_port)"
expect_out 'refusing to listen on non-loopback address .0\.0\.0\.0. without a token'
expect_exit 2 "$BIN" serve --listen nonsense
ok "the daemon refuses a non-loopback address without a token"
finish
