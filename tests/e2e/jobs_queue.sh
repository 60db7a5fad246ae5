#!/usr/bin/env bash
# Job queue against real processes (hidden `noop` job kind, TRADEML_TEST_JOBS=1): dedup, bad input,
# retry with backoff, wall-time limit -> timed_out and retried, cancel queued and running jobs,
# 200 jobs submitted by 4 processes at once each run exactly once by 2 worker processes, and the
# global concurrency limit never exceeded (recorded intervals + sampled counts), locked database.
source "$(dirname "$0")/lib/common.sh"
export TRADEML_TEST_JOBS=1 TRADEML_TRAINING_RETRY_BACKOFF_SECONDS=0 TRADEML_TRAINING_CANCEL_GRACE_SECONDS=1
export TRADEML_TRAINING_LEASE_SECONDS=3 TRADEML_TRAINING_MAX_CONCURRENT_JOBS=3
json_field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$2" | head -1 | tr -d '"'; }
wait_status() { # wait_status ID STATUS SECONDS
  for _ in $(seq 1 $(($3 * 10))); do
    st=$(json_field status "$("$BIN" jobs show "$1" --json --log-lines 0)")
    [[ $st == "$2" ]] && return 0
    sleep 0.1
  done
  fail "job $1 is $st, expected $2 within $3 s"
}

# Bad input.
expect_exit 2 "$BIN" jobs submit bogus --symbol BTCUSDT; expect_out "unknown job kind 'bogus'"
expect_exit 2 "$BIN" jobs submit train --symbol 'BTC USDT'; expect_out "not a valid symbol"
expect_exit 1 "$BIN" jobs submit train --symbol NOSUCH --interval 5m; expect_out "NOSUCH has no 5m candles"
expect_exit 2 "$BIN" jobs submit train --symbol BTCUSDT --interval 7m; expect_out "unknown interval '7m'"
expect_exit 2 "$BIN" jobs submit validate --symbol BTCUSDT --mode wild; expect_out "validate mode 'wild'"
expect_exit 2 "$BIN" jobs submit noop --params '[1]'; expect_out "expected a JSON object"
expect_exit 2 "$BIN" jobs list --status sleeping; expect_out "unknown job status 'sleeping'"
expect_exit 1 "$BIN" jobs show 999; expect_out "no job 999"
expect_exit 2 "$BIN" jobs submit noop --param dry-run=1; expect_out "noop jobs have no flag --dry-run"
expect_exit 2 "$BIN" jobs submit fetch --symbol BTCUSDT --param since=2024-01-01; expect_out "not a setting a job can carry"
expect_exit 2 "$BIN" jobs submit fetch --symbol BTCUSDT --param training.seed=x; expect_out "training.seed in the params of a fetch job"
expect_exit 2 "$BIN" --set training.seed config show; expect_out "expected KEY=VALUE"
expect_exit 0 "$BIN" --set training.seed=5 config show; expect_out "training.seed +5 +flag --set"
ok "bad input is refused with clear messages"


# Dedup: the same job twice is one job.
expect_exit 0 "$BIN" jobs submit noop --param seconds=0 --param tag=dup; expect_out "job 1 queued"
expect_exit 0 "$BIN" jobs submit noop --param tag=dup --param seconds=0; expect_out "job 1 already queued"
expect_exit 0 "$BIN" jobs cancel 1; expect_out "job 1 cancelled"
expect_exit 1 "$BIN" jobs cancel 1; expect_out "already cancelled"
expect_exit 0 "$BIN" jobs submit noop --param seconds=0 --param tag=dup; expect_out "job 2 queued"
expect_exit 0 "$BIN" jobs cancel 2
ok "identical job returned while queued; cancel of a queued job; resubmit after it ended"

# A locked database: wait with a bound, then a clear error.
if command -v python3 >/dev/null; then
  python3 - "$TRADEML_HOME/trademl.db" "$WORK/locked" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close(); time.sleep(4)
PY
  LOCKER=$!
  for _ in $(seq 1 100); do [[ -e $WORK/locked ]] && break; sleep 0.05; done
  t0=$(date +%s%N)
  TRADEML_DATA_BUSY_TIMEOUT=1 expect_exit 1 "$BIN" jobs submit noop --param tag=locked
  expect_out "is locked by another process \(waited 1000 ms"
  t1=$(date +%s%N)
  (( (t1 - t0) / 1000000 < 3500 )) || fail "locked database: waited $(( (t1 - t0) / 1000000 )) ms"
  wait $LOCKER
  ok "locked database: bounded wait then 'locked' error"
fi

# Retry, timeout, cancel while running: one worker.
"$BIN" jobs submit noop --param seconds=0.2 --param fail-attempts=2 --max-attempts 3 >/dev/null  # 3
"$BIN" jobs submit noop --param seconds=30 --param tag=slow --timeout 1 --max-attempts 2 >/dev/null  # 4
"$BIN" jobs submit noop --param seconds=30 --param tag=cancel-me >/dev/null  # 5
"$BIN" worker --concurrency 3 >"$WORK/w1.log" 2>&1 &
W1=$!
wait_status 5 running 10
sleep 0.5
expect_exit 0 "$BIN" jobs cancel 5; expect_out "cancel requested"
wait_status 5 cancelled 5
wait_status 3 succeeded 10
wait_status 4 timed_out 15
"$BIN" jobs show 3 --json >"$WORK/j3.json"
grep -q '"attempts":3' "$WORK/j3.json" || fail "job 3 should have used 3 attempts: $(cat "$WORK/j3.json")"
grep -o '"outcome":"[a-z_]*"' "$WORK/j3.json" | tr '\n' ' ' | grep -q 'failed.*failed.*succeeded' || fail "attempts of job 3"
"$BIN" jobs show 4 --json >"$WORK/j4.json"
[[ $(grep -o '"outcome":"timed_out"' "$WORK/j4.json" | wc -l) -eq 2 ]] || fail "job 4: two timed-out attempts: $(cat "$WORK/j4.json")"
grep -q 'timed out after 1 s' "$WORK/j4.json" || fail "job 4 error"
pgrep -f 'tag cancel-me' >/dev/null && fail "cancelled job's process still alive"
pgrep -f 'tag slow' >/dev/null && fail "timed-out job's process still alive"
kill -TERM $W1; wait $W1 || true
ok "failure retried until success; wall-time limit kills and marks timed_out, retried per policy; running job cancelled"

# 200 jobs from 4 processes at once (each submits 100 tags, overlapping), run by 2 workers.
REC=$WORK/record.txt
submitter() { for i in $(seq "$1" $(($1 + 99))); do "$BIN" jobs submit noop --param tag=$((i % 200)) --param record="$REC" >/dev/null || exit 1; done; }
submitter 0 & P1=$!; submitter 50 & P2=$!; submitter 100 & P3=$!; submitter 150 & P4=$!
wait $P1 $P2 $P3 $P4
before=$("$BIN" jobs counts --json)
[[ $(json_field queued "$before") -eq 200 ]] || fail "expected 200 distinct queued jobs, got $before"
"$BIN" worker --concurrency 3 --exit-when-idle >"$WORK/w2.log" 2>&1 & W2=$!
"$BIN" worker --concurrency 3 --exit-when-idle >"$WORK/w3.log" 2>&1 & W3=$!
maxseen=0
while kill -0 $W2 2>/dev/null || kill -0 $W3 2>/dev/null; do
  r=$(json_field running "$("$BIN" jobs counts --json)")
  (( r > maxseen )) && maxseen=$r
  sleep 0.05
done
wait $W2 $W3 || true
after=$("$BIN" jobs counts --json)
[[ $(json_field succeeded "$after") -eq 201 ]] || fail "expected 201 succeeded (200 + job 3), got $after"
starts=$(grep -c '^start' "$REC"); [[ $starts -eq 200 ]] || fail "expected 200 runs, got $starts"
dups=$(grep '^start' "$REC" | awk '{print $4}' | sort | uniq -d | wc -l); [[ $dups -eq 0 ]] || fail "$dups jobs ran twice"
overlap=$(awk '{print $2, ($1=="start" ? 1 : -1)}' "$REC" | sort -n -k1,1 -k2,2 | awk '{c+=$2; if (c>m) m=c} END {print m}')
(( overlap <= 3 && maxseen <= 3 )) || fail "concurrency limit 3 exceeded: overlap $overlap, sampled $maxseen"
ok "200 jobs from 4 processes ran exactly once; at most $overlap at once (sampled max $maxseen, limit 3)"
# Params are stored as configuration keys: a flag is translated at submit time through the command's
# own option table (validate --num-boost-round -> training.num_boost_round).
expect_exit 0 "$BIN" jobs submit fetch --symbol BTCUSDT --param training.seed=3 --json
expect_out '"params":\{"training.seed":3\}'
expect_exit 0 "$BIN" jobs submit noop --param fail-attempts=0 --param tag=keys --json
expect_out '"params":\{"fail_attempts":0,"tag":"keys"\}'
ok "params stored as configuration keys and job options"
finish
