#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for tests and benchmarks (Debian's postgresql-15 package, from
# scripts/setup.sh --test): a fresh cluster in a temporary data directory, owned by an unprivileged
# user (the invoking user, or `postgres`/`nobody` when run as root), listening on loopback only
# (127.0.0.1) on a free TCP port, password authentication (scram-sha-256).
#
#   scripts/pg-test-server.sh start STATE_DIR   # exit 77 (and says why) when PostgreSQL 15 is missing
#   scripts/pg-test-server.sh stop STATE_DIR    # stops the server and removes its data; always exit 0
#   scripts/pg-test-server.sh status STATE_DIR
#
# start writes, in STATE_DIR:
#   url        postgresql://trademl:<password>@127.0.0.1:<port>/trademl   (the application role; owns db trademl)
#   admin_url  the same for the superuser tml_admin on database postgres   (tests create databases with it)
#   port, datadir, pid, log
# Scripts that start a server stop it from a trap so that a failure cannot leave it running:
#   trap 'scripts/pg-test-server.sh stop "$state"' EXIT
set -euo pipefail

PGBIN=${TML_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
state=${2:-}
[[ -n "$cmd" && -n "$state" ]] || { echo "usage: $0 start|stop|status STATE_DIR" >&2; exit 2; }

as_owner() { # runs a command as the unprivileged owner of the cluster
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

pick_owner() {
  owner=$(id -un)
  if [[ $(id -u) -eq 0 ]]; then
    if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

case "$cmd" in
start)
  for b in initdb pg_ctl postgres; do
    if [[ ! -x "$PGBIN/$b" ]]; then
      echo "SKIP: PostgreSQL 15 is not installed ($PGBIN/$b missing; scripts/setup.sh --test installs postgresql-15)" >&2
      exit 77
    fi
  done
  command -v python3 >/dev/null || { echo "SKIP: python3 is needed to pick a free port" >&2; exit 77; }
  pick_owner
  mkdir -p "$state"
  if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    echo "pg-test-server: a server already runs for $state (pid $(cat "$state/pid"))" >&2
    exit 1
  fi
  datadir=$(mktemp -d /tmp/trademl-pg.XXXXXX)
  echo "$datadir" >"$state/datadir"
  chmod 700 "$datadir"
  [[ $(id -u) -eq 0 ]] && chown "$owner" "$datadir"
  admin_pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  app_pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$admin_pw" >"$datadir/.pw"
  [[ $(id -u) -eq 0 ]] && chown "$owner" "$datadir/.pw"
  if ! as_owner "$PGBIN/initdb" -D "$datadir/data" -U tml_admin --pwfile="$datadir/.pw" --auth-host=scram-sha-256 \
      --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 -N >"$state/log" 2>&1; then
    echo "pg-test-server: initdb failed; see $state/log" >&2
    cat "$state/log" >&2
    exit 1
  fi
  rm -f "$datadir/.pw"
  started=0
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # fsync off: a throw-away server whose data need not survive a power cut; everything else default.
    if as_owner "$PGBIN/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$datadir -c fsync=off -c max_connections=200" \
        start >>"$state/log" 2>&1; then
      started=1
      break
    fi
  done
  if [[ $started -ne 1 ]]; then
    echo "pg-test-server: the server did not start; see $state/log and $datadir/server.log" >&2
    cat "$datadir/server.log" >&2 || true
    exit 1
  fi
  head -1 "$datadir/data/postmaster.pid" >"$state/pid"
  echo "$port" >"$state/port"
  PGPASSWORD=$admin_pw "$PGBIN/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U tml_admin -d postgres \
    -c "CREATE ROLE trademl LOGIN CREATEDB PASSWORD '$app_pw'" -c "CREATE DATABASE trademl OWNER trademl" >>"$state/log"
  echo "postgresql://trademl:$app_pw@127.0.0.1:$port/trademl" >"$state/url"
  echo "postgresql://tml_admin:$admin_pw@127.0.0.1:$port/postgres" >"$state/admin_url"
  chmod 600 "$state/url" "$state/admin_url"
  echo "pg-test-server: PostgreSQL 15 on 127.0.0.1:$port (data $datadir, owner $owner)"
  ;;
stop)
  pick_owner
  if [[ -f "$state/datadir" ]]; then
    datadir=$(cat "$state/datadir")
    if [[ -d "$datadir/data" ]]; then
      as_owner "$PGBIN/pg_ctl" -D "$datadir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    # Should pg_ctl fail, the postmaster is stopped by its pid (ours: from the state folder).
    if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      kill -QUIT "$(cat "$state/pid")" 2>/dev/null || true
    fi
    case "$datadir" in /tmp/trademl-pg.*) rm -rf "$datadir" ;; esac
  fi
  rm -f "$state/url" "$state/admin_url" "$state/pid" "$state/port" "$state/datadir"
  exit 0
  ;;
status)
  [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null && { echo "running on port $(cat "$state/port")"; exit 0; }
  echo "not running"
  exit 1
  ;;
*)
  echo "usage: $0 start|stop|status STATE_DIR" >&2
  exit 2
  ;;
esac
