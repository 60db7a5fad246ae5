#!/usr/bin/env bash
# ctest-labels: heavy
# A real training job through the worker: progress stored while it runs, kill -9 of the worker
# mid-training kills the training child too (no partial model set), the job is taken again when its
# lease expires and completes with exactly one model set and a result summary.
source "$(dirname "$0")/lib/common.sh"
need_data bybit-linear/SOLUSDT_5m.csv
export TRADEML_TRAINING_LEASE_SECONDS=3 TRADEML_TRAINING_RETRY_BACKOFF_SECONDS=0
expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
# Slow enough to be caught mid-training: more rounds, no early stop.
expect_exit 0 "$BIN" jobs submit train --symbol SOLUSDT --interval 5m --days 30 \
  --param num-boost-round=120 --param early-stopping-rounds=0
expect_out "job 1 queued"
"$BIN" worker --concurrency 1 >"$WORK/w1.log" 2>&1 &
W1=$!
progress=0
for _ in $(seq 1 300); do
  out=$("$BIN" jobs show 1 --json --log-lines 0)
  progress=$(sed -n 's/.*"progress":\([0-9.]*\).*/\1/p' <<<"$out")
  awk "BEGIN {exit !($progress >= 12)}" && break
  sleep 0.1
done
awk "BEGIN {exit !($progress >= 12)}" || fail "no training progress stored: $out"
child=$(pgrep -f -- "--home $TRADEML_HOME --set training.early_stopping_rounds=0 --set training.num_boost_round=120 train --symbol SOLUSDT" | head -1)
[[ -n $child ]] || fail "training child not found"
kill -9 $W1; wait $W1 2>/dev/null || true
sleep 0.5
state=$(ps -o stat= -p "$child" 2>/dev/null || true)
[[ -z $state || $state == Z* ]] || fail "training child $child survived its worker (state $state)"
ls "$TRADEML_HOME/models/xgb5/SOLUSDT/5m/" 2>/dev/null | grep -v '^\.' && fail "a model set was registered by the killed attempt"
expect_exit 0 "$BIN" models list --all --json
grep -q SOLUSDT <<<"$OUT" && fail "the killed attempt registered a model: $OUT"
ok "kill -9 of the worker at ${progress}% killed the training child; no model set written"

expect_exit 0 "$BIN" jobs show 1 --json --log-lines 0; expect_out '"status":"running"'
"$BIN" worker --concurrency 1 --exit-when-idle >"$WORK/w2.log" 2>&1 || fail "second worker: $(cat "$WORK/w2.log")"
expect_exit 0 "$BIN" jobs show 1 --json --log-lines 0
expect_out '"status":"succeeded"'
expect_out '"attempts":2'
expect_out '"outcome":"failed".*lease expired.*"outcome":"succeeded"'
expect_out '"result":\{"model_dir":".*/SOLUSDT/5m/[0-9]{8}T[0-9]{6}Z","version":"[0-9TZ]+","model_id":1,"active":(true|false),"accuracy":0\.[0-9]+'
sets=$(ls "$TRADEML_HOME/models/xgb5/SOLUSDT/5m/" | grep -vc '^\.' || true)
[[ $sets -eq 1 ]] || fail "expected exactly one model set, got $sets"
expect_exit 0 "$BIN" models list --all --json
[[ $(grep -o '"job_id":1' <<<"$OUT" | wc -l) -eq 1 ]] || fail "expected one registered model from job 1: $OUT"
expect_exit 0 "$BIN" jobs show 1
expect_out '=== job 1 attempt 2/4'
ok "job retried after the lease expired and completed: one model set, result summary, per-job log"
# A late attempt whose fencing token is no longer current (its lease expired and the job ended
# elsewhere) trains but may not register: the registry stays at one model.
TRADEML_JOB_ID=1 TRADEML_JOB_FENCE=1 expect_exit 1 "$BIN" --set training.num_boost_round=5 train --symbol SOLUSDT \
  --interval 5m --days 30 --json
expect_out "refusing to register: job 1: fencing token 1 is stale \(the job is succeeded under token 2"
expect_exit 0 "$BIN" models list --all --json
[[ $(grep -o '"job_id":1' <<<"$OUT" | wc -l) -eq 1 ]] || fail "the stale attempt registered a model: $OUT"
sets=$(ls "$TRADEML_HOME/models/xgb5/SOLUSDT/5m/" | grep -vc '^\.' || true)
[[ $sets -eq 1 ]] || fail "the stale attempt's model set was left on disk ($sets sets): $(ls -a "$TRADEML_HOME/models/xgb5/SOLUSDT/5m/")"
ok "a train run under a stale fencing token is refused at registration (logged), one model stays, its set removed"
finish
