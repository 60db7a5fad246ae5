#!/usr/bin/env bash
# trademl cluster status on the embedded SQLite database (a worker's heartbeat row appears while it
# runs, goes on a clean stop), and bad database settings for the queue's commands: an unreachable or
# malformed PostgreSQL URL is refused with a message naming data.database, the password never shown,
# and nothing written.
source "$(dirname "$0")/lib/common.sh"
export TRADEML_TEST_JOBS=1
expect_exit 0 "$BIN" cluster status
expect_out "\(sqlite\): 0 queued, 0 running"
expect_out "no daemon or worker has heartbeated"
expect_exit 2 "$BIN" cluster; expect_out "cluster needs the verb 'status'"
"$BIN" jobs submit noop --param seconds=4 --param tag=beat >/dev/null
"$BIN" worker --concurrency 2 >"$WORK/w.log" 2>&1 &
W=$!
for _ in $(seq 1 60); do
  OUT=$("$BIN" cluster status --json)
  grep -q '"running":1,"jobs":\[1\]' <<<"$OUT" && break
  sleep 0.1
done
expect_out '"role":"worker","pid":'"$W"','
expect_out '"alive":true,"running":1,"jobs":\[1\]'
kill -TERM $W
wait $W || true
expect_exit 0 "$BIN" cluster status --json
expect_out '"processes":\[\]'
ok "cluster status shows a running worker (pid, job 1) and drops it on a clean stop"

export TRADEML_DATA_CONNECT_WAIT=1
export TRADEML_DATABASE_URL='postgresql://trademl:s3cr3t-pw@127.0.0.1:1/trademl'
for cmd in "jobs submit noop --param tag=x" "cluster status" "worker --exit-when-idle"; do
  # shellcheck disable=SC2086
  expect_exit 1 "$BIN" $cmd
  expect_out "cannot reach PostgreSQL at postgresql://trademl:\*\*\*\*\*\*\*\*@127\.0\.0\.1:1/trademl"
  expect_out "data\.database \(environment TRADEML_DATABASE_URL\)"
  [[ $OUT != *s3cr3t-pw* ]] || fail "the password leaked: $OUT"
done
export TRADEML_DATABASE_URL='postgresql://trademl:s3cr3t-pw@127.0.0.1:notaport/trademl'
expect_exit 2 "$BIN" jobs submit noop --param tag=x
expect_out "data\.database"
[[ $OUT != *s3cr3t-pw* ]] || fail "the password leaked: $OUT"
unset TRADEML_DATABASE_URL
expect_exit 0 "$BIN" jobs counts --json
expect_out '"queued":1,"running":0,"succeeded":0,"failed":0' # job 1, given back by the stopped worker
ok "unreachable or malformed database URL: clear error naming data.database, password hidden, nothing queued"
finish
