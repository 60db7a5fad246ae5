# Shared by the PostgreSQL e2e scripts ("# ctest-fixtures: pg"): the throw-away server that ctest's pg.start
# started (scripts/pg-test-server.sh, state folder $TML_TEST_PG_STATE). Source after common.sh.
#   pg_fresh_db NAME  -> $PG_URL: a new empty database NAME_<pid> owned by the application role
#   pg_sql SQL        -> runs SQL on $PG_URL with psql (unaligned, tuples only) and prints the result
PGBIN=${TML_PG_BIN:-/usr/lib/postgresql/15/bin}
state=${TML_TEST_PG_STATE:-}
if [[ -z $state || ! -s $state/url ]]; then
  if [[ ! -x $PGBIN/postgres ]]; then
    echo "SKIP: PostgreSQL 15 is not installed ($PGBIN/postgres; scripts/setup.sh --test installs postgresql-15)"
    exit 77
  fi
  fail "PostgreSQL 15 is installed but the test server is not running (run through ctest: fixture pg, test pg.start)"
fi
PG_ADMIN_URL=$(cat "$state/admin_url")
PG_APP_URL=$(cat "$state/url")
PG_PASSWORD=${PG_APP_URL#postgresql://trademl:}
PG_PASSWORD=${PG_PASSWORD%%@*}
pg_fresh_db() {
  local name=$1_$$
  PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -q -X -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $name" \
    -c "CREATE DATABASE $name OWNER trademl" >/dev/null
  PG_URL=${PG_APP_URL%/*}/$name
}
pg_sql() { "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"; }
# no_password: the last command's output ($OUT) must not contain the database password.
no_password() { [[ $OUT != *"$PG_PASSWORD"* ]] || fail "the database password leaked into the output: $OUT"; }
