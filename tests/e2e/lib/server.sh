# Helpers for the daemon e2e scripts (sourced after common.sh): start `trademl serve` on a free
# loopback port, wait for /health, call the API, stop it. Every daemon started here is stopped on exit.
SERVER_PID=""
PORT=""
BASE=""
SERVER_LOG="$WORK/serve.log"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_server [serve flags...]: starts the daemon in the background and waits until /health answers.
start_server() {
  [[ -n "$PORT" ]] || PORT=$(free_port)
  BASE="http://127.0.0.1:$PORT"
  "$BIN" serve --listen "127.0.0.1:$PORT" "$@" >>"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$BASE/health" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "trademl serve exited at start:
$(cat "$SERVER_LOG")"
    sleep 0.1
  done
  fail "trademl serve did not answer /health within 10 s:
$(cat "$SERVER_LOG")"
}

# stop_server [SIGNAL]: signals the daemon (TERM by default) and waits for it; sets SERVER_RC.
stop_server() {
  local sig=${1:-TERM}
  [[ -n "$SERVER_PID" ]] || return 0
  kill -"$sig" "$SERVER_PID" 2>/dev/null || true
  set +e
  wait "$SERVER_PID"
  SERVER_RC=$?
  set -e
  SERVER_PID=""
}

server_cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  cleanup
}
trap server_cleanup EXIT

# api METHOD PATH [BODY] [extra curl args...]: sets $CODE and $BODY (response). Every method but GET
# carries 'Content-Type: application/json' (as the daemon requires, body or not) unless the extra
# arguments set a Content-Type of their own.
api() {
  local method=$1 path=$2 body=${3:-}
  shift 3 2>/dev/null || shift $#
  local args=(-s -o "$WORK/resp" -w '%{http_code}' -X "$method" "$@")
  if [[ "$method" != GET && "$*" != *[Cc]ontent-[Tt]ype:* ]]; then args+=(-H 'Content-Type: application/json'); fi
  [[ -n "$body" ]] && args+=(--data-binary "$body")
  CODE=$(curl "${args[@]}" "$BASE$path")
  BODY=$(cat "$WORK/resp")
}
# expect_code CODE: the last api call answered CODE.
expect_code() { [[ "$CODE" == "$1" ]] || fail "expected HTTP $1, got $CODE: $BODY"; }
# expect_body PATTERN: the last api response matches the extended regex.
expect_body() { grep -Eq -- "$1" <<<"$BODY" || fail "response does not match /$1/: $BODY"; }
# jq-like field access with python: jget EXPR (on $BODY), e.g. jget '["job_id"]'.
jget() { python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print(d$1)" <<<"$BODY"; }
# wait_job ID STATUS_REGEX SECONDS: polls the job until its status matches.
wait_job() {
  local id=$1 want=$2 secs=$3 st=""
  for _ in $(seq 1 $((secs * 5))); do
    api GET "/api/training/jobs/$id"
    st=$(jget '["status"]' 2>/dev/null || true)
    [[ "$st" =~ ^($want)$ ]] && return 0
    sleep 0.2
  done
  fail "job $id is '$st' after ${secs}s, expected /$want/: $BODY"
}
