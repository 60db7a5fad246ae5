#!/usr/bin/env bash
# ctest-labels: heavy
# trademl serve under faults, on loopback only: kill -9 while jobs train, then a restart (no job lost,
# the interrupted jobs are retried and succeed, the scheduled slot is not fired twice); SIGTERM while
# jobs train (no new work is accepted, running jobs are requeued without losing an attempt, exit 0).
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"
need_data binance-spot/BTCUSDT_15m_2023-2026.csv binance-spot/ETHUSDT_15m_2023-2026.csv

expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_15m_2023-2026.csv" --symbol BTCUSDT --interval 15m
expect_exit 0 "$BIN" data import "$DATA/binance-spot/ETHUSDT_15m_2023-2026.csv" --symbol ETHUSDT --interval 15m
# Short leases so a dead daemon's jobs come back within seconds; no retry backoff.
export TRADEML_TRAINING_LEASE_SECONDS=3 TRADEML_TRAINING_RETRY_BACKOFF_SECONDS=0 TRADEML_LOGGING_LEVEL=info
LONG=',"days":60,"num_boost_round":300,"early_stopping_rounds":0'

# children_of_home: training processes still running for this test's state folder.
children_of_home() { pgrep -f -- "--home $TRADEML_HOME train" || true; }

# ---- kill -9 while two jobs train ----
start_server --workers 2
ids=()
for s in BTCUSDT ETHUSDT; do
  api POST /api/training/start "{\"symbol\":\"$s\",\"timeframe\":\"15m\"$LONG}"
  expect_code 201
  ids+=("$(jget '["job_id"]')")
done
for id in "${ids[@]}"; do wait_job "$id" running 30; done
sleep 1
stop_server KILL
for _ in $(seq 1 50); do [[ -z "$(children_of_home)" ]] && break; sleep 0.1; done
[[ -z "$(children_of_home)" ]] || fail "training children outlived the killed daemon: $(children_of_home)"
ok "kill -9 while two jobs train: their worker processes die with the daemon"

start_server --workers 2
for id in "${ids[@]}"; do wait_job "$id" succeeded 300; done
for id in "${ids[@]}"; do
  api GET "/api/training/jobs/$id"
  [[ $(jget '["attempts"]') -ge 2 ]] || fail "job $id was not retried: $BODY"
done
api GET /api/training/jobs
[[ $(jget '["total"]') == 2 ]] || fail "job count changed after the crash: $BODY"
api GET /api/models
[[ $(jget '["total"]') == 2 ]] || fail "expected one model per job: $BODY"
ok "after a restart no job is lost: the interrupted jobs are retried and succeed"

# ---- the schedule does not fire twice for one slot across a crash ----
# A cron firing every minute: wait for a scheduled run, kill -9 right after it, restart at once.
stop_server TERM
export TRADEML_TRAINING_CRON_SCHEDULE='* * * * *'
start_server --workers 2 --drain-grace 2
for _ in $(seq 1 750); do grep -q 'scheduled run for slot' "$SERVER_LOG" && break; sleep 0.1; done
slot=$(sed -n 's/.*scheduled run for slot \([^ ]*Z\):.*/\1/p' "$SERVER_LOG" | tail -1)
[[ -n "$slot" ]] || fail "no scheduled run within 75 s: $(tail -5 "$SERVER_LOG")"
stop_server KILL
start_server --workers 2 --drain-grace 2
sleep 2
n=$(grep -c "scheduled run for slot $slot" "$SERVER_LOG" || true)
[[ "$n" == 1 ]] || fail "slot $slot ran $n times across a kill -9 and restart: $(grep 'scheduled run' "$SERVER_LOG")"
api GET /api/schedule
[[ $(jget '["cron"]') == '* * * * *' && $(jget '["last_slot"]') != None ]] || fail "schedule: $BODY"
unset TRADEML_TRAINING_CRON_SCHEDULE
ok "the scheduled slot $slot ran once across a kill -9 and an immediate restart"

# ---- SIGTERM while a job trains: requeued, clean exit ----
api POST /api/training/start "{\"symbol\":\"BTCUSDT\",\"timeframe\":\"15m\"$LONG}"
expect_code 201
id=$(jget '["job_id"]')
wait_job "$id" running 30
sleep 1
kill -TERM "$SERVER_PID"
# While stopping, the daemon refuses new work (if it still answers at all).
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data '{"symbol":"ETHUSDT","timeframe":"15m"}' "$BASE/api/training/start" || true)
[[ "$CODE" == 503 || "$CODE" == 000 ]] || fail "a start request during shutdown got $CODE"
t0=$(date +%s)
stop_server TERM
[[ "$SERVER_RC" == 0 ]] || fail "SIGTERM exit code $SERVER_RC: $(tail -5 "$SERVER_LOG")"
grep -Eq 'stopped \(1 running job requeued\)' "$SERVER_LOG" || fail "no requeue message: $(tail -5 "$SERVER_LOG")"
[[ -z "$(children_of_home)" ]] || fail "a training child survived SIGTERM"
ok "SIGTERM: no new work accepted, the running job requeued, exit 0 in $(( $(date +%s) - t0 )) s"
start_server --workers 1
api GET "/api/training/jobs/$id"
[[ $(jget '["status"]') =~ ^(queued|running)$ ]] || fail "the requeued job is not queued/running: $BODY"
wait_job "$id" succeeded 300
ok "the requeued job runs after the restart and succeeds"
stop_server TERM
finish
