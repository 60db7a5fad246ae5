#!/usr/bin/env bash
# ctest-labels: heavy
# ctest-labels: postgresql
# ctest-timeout: 900
# Several hosts on one PostgreSQL database. Each worker "host" runs in its own network namespace made
# here (ip netns), with its own state folder, reaching the database over a veth link (10.2xx.N.0/24,
# private addresses inside this machine only). The daemon (API + scheduler, no workers) runs in the
# host namespace. Checks:
#   1. 200 noop jobs submitted through the API by 4 clients at once while workers run on 3 hosts: each
#      job runs exactly once (one attempt header across all hosts' job logs, attempts = 1).
#   2. kill -9 of every process of host 1 mid-job: its jobs are retried on the other hosts and finish once.
#   3. host 2's link cut mid-job, restored after its lease expired: the job finishes once elsewhere and
#      host 2's late outcome is refused by its fencing token (host 2's log says so).
#   4. the database server stopped mid-run: /health says degraded; started again, nothing is lost.
#   5. a real training job, every process of its host killed mid-training: retried on another host, one
#      model registered (by the second attempt), nothing from the killed one.
# Needs root (network namespaces) and PostgreSQL 15; skips (77) saying why otherwise. Everything made
# here (namespaces, links, processes, the server) is removed on exit, also on failure.
source "$(dirname "$0")/lib/common.sh"
PGBIN=${TML_PG_BIN:-/usr/lib/postgresql/15/bin}
[[ $(id -u) -eq 0 ]] || { echo "SKIP: network namespaces need root"; exit 77; }
[[ -x $PGBIN/postgres ]] || { echo "SKIP: PostgreSQL 15 is not installed ($PGBIN/postgres)"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: iproute2 (ip) is not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is needed for the API clients"; exit 77; }
need_data bybit-linear/SOLUSDT_5m.csv

TAG=tq$(($$ % 10000))
NET=10.$((200 + $$ % 50)) # 10.2xx.N.0/24: private, inside this machine; varies so two runs cannot collide
NS=("${TAG}h1" "${TAG}h2" "${TAG}h3")
PGSTATE=$WORK/pg
SERVE_PID=
cleanup_cluster() {
  set +e
  for ns in "${NS[@]}"; do
    if ip netns list | grep -qw "$ns"; then
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
      ip netns del "$ns" 2>/dev/null
    fi
  done
  for i in 1 2 3; do ip link del "${TAG}v$i" 2>/dev/null; done
  [[ -n $SERVE_PID ]] && kill -9 "$SERVE_PID" 2>/dev/null
  [[ -n ${WATCHDOG:-} ]] && kill "$WATCHDOG" 2>/dev/null
  "$SRC/scripts/pg-test-server.sh" stop "$PGSTATE" >/dev/null 2>&1
  cleanup
}
trap cleanup_cluster EXIT
# ctest kills a test that outlives its timeout with SIGKILL, which no trap sees: stop first, cleanly.
trap 'echo "FAIL: cluster_multihost stopped after 840 s" >&2; exit 1' TERM
MAIN=$$
( trap 'kill "$sp" 2>/dev/null; exit 0' TERM; sleep 840 & sp=$!; wait "$sp" && kill -TERM "$MAIN" 2>/dev/null ) &
WATCHDOG=$!

# --- the hosts' network: one namespace and one veth pair each ---
ip netns add "${NS[0]}" 2>/dev/null || { echo "SKIP: cannot create network namespaces here (ip netns add)"; exit 77; }
ip netns add "${NS[1]}"
ip netns add "${NS[2]}"
for i in 1 2 3; do
  ns=${NS[$((i - 1))]}
  ip link add "${TAG}v$i" type veth peer name "${TAG}p$i"
  ip link set "${TAG}p$i" netns "$ns"
  ip addr add "$NET.$i.1/24" dev "${TAG}v$i"
  ip link set "${TAG}v$i" up
  ip -n "$ns" addr add "$NET.$i.2/24" dev "${TAG}p$i"
  ip -n "$ns" link set "${TAG}p$i" up
  ip -n "$ns" link set lo up
done

# --- PostgreSQL listening on loopback and on the three links ---
"$SRC/scripts/pg-test-server.sh" start "$PGSTATE" >/dev/null
PGDATA_DIR=$(cat "$PGSTATE/datadir")
PORT=$(cat "$PGSTATE/port")
URL=$(cat "$PGSTATE/url")
owner=$(stat -c %U "$PGDATA_DIR/data")
echo "host all all $NET.0.0/16 scram-sha-256" >>"$PGDATA_DIR/data/pg_hba.conf"
pg_ctl_run() { (cd / && runuser -u "$owner" -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR/data" "$@" >/dev/null); }
PGOPTS="-c listen_addresses=127.0.0.1,$NET.1.1,$NET.2.1,$NET.3.1 -p $PORT -c unix_socket_directories=$PGDATA_DIR -c fsync=off -c max_connections=200"
pg_ctl_run -m fast -w stop
pg_ctl_run -l "$PGDATA_DIR/server.log" -w -t 30 -o "$PGOPTS" start
host_url() { sed "s/@127.0.0.1:/@$NET.$1.1:/" <<<"$URL"; }

export TRADEML_TEST_JOBS=1 TRADEML_TRAINING_LEASE_SECONDS=3 TRADEML_TRAINING_RETRY_BACKOFF_SECONDS=0
export TRADEML_DATA_CONNECT_WAIT=30
HOME1=$WORK/host1 HOME2=$WORK/host2 HOME3=$WORK/host3
declare -A WPID
start_worker() { # start_worker N: trademl worker on host N (its namespace, its own state folder)
  local i=$1 ns=${NS[$(($1 - 1))]}
  ip netns exec "$ns" env TRADEML_HOME="$WORK/host$i" TRADEML_DATABASE_URL="$(host_url "$i")" \
    "$BIN" worker --concurrency 3 >>"$WORK/worker$i.log" 2>&1 &
  WPID[$i]=$!
}
db() { TRADEML_DATABASE_URL=$URL "$BIN" "$@"; }
json_field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$2" | head -1 | tr -d '"'; }
wait_counts() { # wait_counts SUCCEEDED SECONDS
  local c
  for _ in $(seq 1 $(($2 * 5))); do
    c=$(db jobs counts --json)
    [[ $(json_field succeeded "$c") -ge $1 && $(json_field queued "$c") -eq 0 && $(json_field running "$c") -eq 0 ]] && return 0
    sleep 0.2
  done
  fail "expected $1 succeeded within $2 s: $c"
}
# Attempt headers of job ID across every host's job logs: the number of times it was started.
starts() { cat "$HOME1/logs/jobs/$1.log" "$HOME2/logs/jobs/$1.log" "$HOME3/logs/jobs/$1.log" 2>/dev/null | grep -c "^=== job $1 attempt" || true; }
# Host (1..3) whose worker holds job ID now, from its worker id "<host>:<pid>#k"; 0 when none.
holder() {
  local w
  w=$(json_field worker_id "$(db jobs show "$1" --json --log-lines 0)")
  for i in 1 2 3; do [[ $w == *":${WPID[$i]}#"* ]] && { echo "$i"; return; }; done
  echo 0
}

APIPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
API=http://127.0.0.1:$APIPORT
TRADEML_DATABASE_URL=$URL "$BIN" serve --listen "127.0.0.1:$APIPORT" --no-workers >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "$API/health" && break; sleep 0.1; done
curl -sf -o /dev/null "$API/health" || fail "the daemon did not start: $(cat "$WORK/serve.log")"
start_worker 1
start_worker 2
start_worker 3
T0=$SECONDS
ok "3 hosts in their own network namespaces, PostgreSQL over veth links, the API in the host namespace"

# --- 1. 200 jobs through the API from 4 clients while the 3 hosts work ---
client() {
  for i in $(seq "$1" "$2"); do
    local sym
    sym=$(printf 'T%03dUSDT' "$i")
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' -X POST "$API/api/training/start" \
      -d "{\"symbol\":\"$sym\",\"training_mode\":\"noop\",\"test_seconds\":0.05}"
  done >"$WORK/client$1.codes"
}
client 1 50 & c1=$!
client 51 100 & c2=$!
client 101 150 & c3=$!
client 151 200 & c4=$!
wait $c1 $c2 $c3 $c4
codes=$(cat "$WORK"/client*.codes | sort | uniq -c | tr -s ' ')
[[ $(cat "$WORK"/client*.codes | grep -c '^201$') -eq 200 ]] || fail "API answers: $codes"
wait_counts 200 120
expect_exit 0 db jobs list --status succeeded --limit 1000 --json
for id in $(seq 1 200); do
  n=$(starts "$id")
  [[ $n -eq 1 ]] || fail "job $id was started $n times"
done
[[ $(grep -o '"attempts":1,' <<<"$OUT" | wc -l) -eq 200 ]] || fail "every job should have used one attempt"
hosts_used=0
for i in 1 2 3; do [[ -n $(ls "$WORK/host$i/logs/jobs/" 2>/dev/null) ]] && hosts_used=$((hosts_used + 1)); done
[[ $hosts_used -eq 3 ]] || fail "expected all 3 hosts to run jobs, $hosts_used did"
ok "200 jobs from 4 API clients ran exactly once across 3 hosts ($((SECONDS - T0)) s)"

expect_exit 0 db cluster status --json
[[ $(grep -o '"role":"worker"' <<<"$OUT" | wc -l) -eq 3 && $(grep -o '"alive":true' <<<"$OUT" | wc -l) -ge 3 ]] ||
  fail "cluster status should list 3 live workers: $OUT"
ok "cluster status lists the 3 workers alive"

# --- 2. every process of host 1 killed mid-job ---
# Hosts 2 and 3 step aside (idle: a clean stop gives nothing back) so that host 1 takes jobs, then return.
kill -TERM "${WPID[2]}" "${WPID[3]}"
wait "${WPID[2]}" "${WPID[3]}" 2>/dev/null || true
for i in $(seq 1 6); do db jobs submit noop --param seconds=5 --param tag="kill$i" >/dev/null; done
first=201
victim=
for _ in $(seq 1 100); do
  for id in $(seq $first $((first + 5))); do [[ $(holder "$id") == 1 ]] && victim=$id && break; done
  [[ -n $victim ]] && break
  sleep 0.1
done
[[ -n $victim ]] || fail "host 1 (pid ${WPID[1]}) never took one of jobs $first..$((first + 5)): $(db jobs list --limit 8)"
start_worker 2
start_worker 3
sleep 1
for p in $(ip netns pids "${NS[0]}"); do kill -9 "$p" 2>/dev/null || true; done
wait "${WPID[1]}" 2>/dev/null || true
wait_counts 206 60
expect_exit 0 db jobs show "$victim" --json --log-lines 0
expect_out '"status":"succeeded"'
expect_out '"attempts":2'
expect_out '"outcome":"failed".*lease expired.*"outcome":"succeeded"'
for id in $(seq $first $((first + 5))); do
  ends=$(cat "$HOME1/logs/jobs/$id.log" "$HOME2/logs/jobs/$id.log" "$HOME3/logs/jobs/$id.log" 2>/dev/null | grep -c "^noop: attempt" || true)
  [[ $(json_field status "$(db jobs show "$id" --json --log-lines 0)") == succeeded ]] || fail "job $id did not succeed"
  [[ $(holder "$id") != 1 ]] || fail "job $id is still held by the dead host"
  [[ $ends -ge 1 ]] || fail "job $id never ran"
done
ok "every process of host 1 killed mid-job (job $victim): retried on the other hosts, each finished once"

# --- 3. host 2 partitioned mid-job, back after its lease expired ---
# Host 3 steps aside (a clean stop gives nothing back: it is idle) so that host 2 takes the job.
kill -TERM "${WPID[3]}"
wait "${WPID[3]}" 2>/dev/null || true
db jobs submit noop --param seconds=4 --param tag=partition >/dev/null
pj=207
for _ in $(seq 1 100); do [[ $(holder $pj) != 0 ]] && break; sleep 0.1; done
start_worker 3
[[ $(holder $pj) == 2 ]] || fail "host 2 did not take job $pj (holder $(holder $pj))"
fence_before=$(json_field fence "$(db jobs show $pj --json --log-lines 0)")
sleep 0.5
ip link set "${TAG}v2" down
# Lease 3 s: host 3 takes the job again and runs it to the end while host 2 is cut off.
for _ in $(seq 1 300); do
  [[ $(json_field status "$(db jobs show $pj --json --log-lines 0)") == succeeded ]] && break
  sleep 0.1
done
expect_exit 0 db jobs show $pj --json --log-lines 0
expect_out '"status":"succeeded"'
expect_out '"attempts":2'
fence_after=$(json_field fence "$OUT")
(( fence_after > fence_before )) || fail "the new claim should carry a larger fencing token ($fence_before -> $fence_after)"
ip link set "${TAG}v2" up
for _ in $(seq 1 300); do
  grep -q "job $pj: result under stale fencing token $fence_before refused" "$WORK/worker2.log" && break
  sleep 0.1
done
grep -q "job $pj: result under stale fencing token $fence_before refused" "$WORK/worker2.log" || fail "host 2's late outcome of job $pj was not refused by its token: $(tail -20 "$WORK/worker2.log")"
expect_exit 0 db jobs show $pj --json --log-lines 0
expect_out '"status":"succeeded"'
expect_out '"attempts":2'
how=$(grep -o "job $pj: result under stale fencing token [0-9]* refused" "$WORK/worker2.log" | head -1)
ok "host 2 cut off mid-job $pj: finished once on host 3 (token $fence_before -> $fence_after); host 2 logged: $how"

# --- 4. the database server stopped mid-run, then started again ---
before=$(json_field succeeded "$(db jobs counts --json)")
for i in $(seq 1 30); do db jobs submit noop --param seconds=0.5 --param tag="restart$i" >/dev/null; done
sleep 1
pg_ctl_run -m fast -w stop
degraded=
for _ in $(seq 1 50); do
  h=$(curl -s "$API/health" || true)
  [[ $h == *'"status":"degraded"'* ]] && degraded=1 && break
  sleep 0.1
done
[[ -n $degraded ]] || fail "/health should say degraded while the database is down: $h"
sleep 2
pg_ctl_run -l "$PGDATA_DIR/server.log" -w -t 30 -o "$PGOPTS" start
wait_counts $((before + 30)) 90
for _ in $(seq 1 50); do
  h=$(curl -s "$API/health" || true)
  [[ $h == *'"status":"ok"'* ]] && break
  sleep 0.2
done
[[ $h == *'"status":"ok"'* ]] || fail "/health should recover after the restart: $h"
ok "database stopped mid-run (/health degraded), started again: all 30 jobs finished, nothing lost"
# --- 5. every process of a host killed mid-training ---
expect_exit 0 db data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
kill -TERM "${WPID[3]}"
wait "${WPID[3]}" 2>/dev/null || true
expect_exit 0 db jobs submit train --symbol SOLUSDT --interval 5m --days 30 --param num-boost-round=120 \
  --param early-stopping-rounds=0 --json
tj=$(sed -n 's/.*"job":{"id":\([0-9]*\).*/\1/p' <<<"$OUT")
progress=0
for _ in $(seq 1 600); do
  out=$(db jobs show "$tj" --json --log-lines 0)
  progress=$(json_field progress "$out")
  awk "BEGIN {exit !($progress >= 12)}" && break
  sleep 0.1
done
awk "BEGIN {exit !($progress >= 12)}" || fail "no training progress on host 2: $out"
[[ $(holder "$tj") == 2 ]] || fail "host 2 should hold training job $tj"
start_worker 3
for p in $(ip netns pids "${NS[1]}"); do kill -9 "$p" 2>/dev/null || true; done
for _ in $(seq 1 1200); do
  [[ $(json_field status "$(db jobs show "$tj" --json --log-lines 0)") == succeeded ]] && break
  sleep 0.1
done
expect_exit 0 db jobs show "$tj" --json --log-lines 0
expect_out '"status":"succeeded"'
expect_out '"attempts":2'
expect_out '"outcome":"failed".*lease expired.*"outcome":"succeeded"'
expect_exit 0 db models list --all --json
[[ $(grep -o "\"job_id\":$tj[,}]" <<<"$OUT" | wc -l) -eq 1 ]] || fail "expected one model registered by job $tj: $OUT"
sets=$(ls "$HOME2/models/xgb5/SOLUSDT/5m/" 2>/dev/null | grep -vc '^\.' || true)
[[ $sets -eq 0 ]] || fail "the killed host left $sets finished model set(s) in its folder"
ok "every process of host 2 killed at ${progress}% of training job $tj: retried on host 3, one model registered, none from the killed attempt"
finish
