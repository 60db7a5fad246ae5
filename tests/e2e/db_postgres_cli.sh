#!/usr/bin/env bash
# ctest-fixtures: pg
# trademl on PostgreSQL from the command line (docs/postgresql.md), on a throw-away PostgreSQL 15:
# db init / status (idempotent, versioned), candles imported and listed through the URL, the password
# masked everywhere, and bad input: malformed URL, wrong password, unreachable server, a schema newer
# than the binary; `db migrate-from` of candles: counts and checksums equal, re-runnable, and a
# target holding other data refused with nothing written.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/pg.sh"
need_data bybit-linear/SOLUSDT_5m.csv
pg_fresh_db e2e_db_cli
export TRADEML_DATABASE_URL=$PG_URL

# 1. init creates the schema; twice is fine; status names backend and versions, password masked.
expect_exit 0 "$BIN" db init
expect_out '^database +postgresql://trademl:\*+@127\.0\.0\.1:[0-9]+/e2e_db_cli_'
expect_out '^schema +candles 2, jobs 1, live 1, registry 2'
no_password
expect_exit 0 "$BIN" db init
expect_exit 0 "$BIN" db status --json
python3 - "$OUT" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["backend"] == "postgresql" and r["schema"] == "candles 2, jobs 1, live 1, registry 2", r
assert "********" in r["database"], r
PY
[[ $(pg_sql "SELECT string_agg(component || '=' || version, ',' ORDER BY component) FROM schema_version") == "candles=2,jobs=1,live=1,registry=2" ]] ||
  fail "schema_version: $(pg_sql 'SELECT * FROM schema_version')"
expect_exit 0 "$BIN" config show
expect_out '^data\.database +postgresql://trademl:\*+@127\.0\.0\.1'
no_password
ok "db init is idempotent and versioned; status and config show mask the password"

# 2. Candles through the URL.
expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
expect_out 'inserted 8000'
expect_exit 0 "$BIN" data list
expect_out '^SOLUSDT +5m +2024-12-03T21:20:00Z +2024-12-31T15:55:00Z +8000 '
[[ $(pg_sql "SELECT count(*) FROM candles WHERE symbol = 'SOLUSDT'") == 8000 ]] || fail "expected 8000 rows in PostgreSQL"
ok "data import and list go to PostgreSQL"

# 3. Bad input: every message names data.database and the fix, never the password.
TRADEML_DATABASE_URL="postgresql://trademl:$PG_PASSWORD@127.0.0.1:notaport/x" expect_exit 2 "$BIN" data list
expect_out 'data\.database \(from env TRADEML_DATABASE_URL\): malformed PostgreSQL URL'
no_password
TRADEML_DATABASE_URL="mysql://u@h/db" expect_exit 2 "$BIN" db status
expect_out 'not a supported database URL'
TRADEML_DATABASE_URL="${PG_URL/trademl:$PG_PASSWORD/trademl:wrong$PG_PASSWORD}" expect_exit 1 "$BIN" data list
expect_out 'cannot log in to PostgreSQL at postgresql://trademl:\*+@.*password authentication failed'
expect_out 'data\.database \(environment TRADEML_DATABASE_URL\)'
no_password
TRADEML_DATA_CONNECT_WAIT=1 TRADEML_DATABASE_URL="postgresql://trademl:$PG_PASSWORD@127.0.0.1:1/x" \
  expect_exit 1 "$BIN" data list
expect_out 'cannot reach PostgreSQL at postgresql://trademl:\*+@127\.0\.0\.1:1/x after [0-9]+ attempts'
expect_out 'data\.connect_wait'
no_password
TRADEML_DATABASE_URL="${PG_URL%/*}/no_such_db_$$" expect_exit 1 "$BIN" data list
expect_out 'database "no_such_db_[0-9]+" does not exist.*createdb'
# The job queue is on PostgreSQL (docs/cluster.md): it answers through the URL, never showing it.
expect_exit 0 "$BIN" jobs list
no_password
# The live tables are on PostgreSQL too (live_pg.c): a symbol with candles but no predictions lists nothing,
# one it never heard of is a usage error; neither echoes the URL.
expect_exit 0 "$BIN" predictions --symbol SOLUSDT --interval 5m --json
[[ $(tr -d ' \n' <<<"$OUT") == '[]' ]] || fail "expected no predictions: $OUT"
no_password
expect_exit 2 "$BIN" predictions --symbol NOPEUSDT --interval 5m
expect_out 'unknown symbol NOPEUSDT: no 5m candles and no live predictions stored'
no_password
ok "malformed URL (exit 2), wrong password, unreachable server, missing database: clear errors, no password"

# 4. A schema newer than this binary is refused, naming both versions; nothing changes.
pg_sql "UPDATE schema_version SET version = 9 WHERE component = 'registry'" >/dev/null
expect_exit 1 "$BIN" models list
expect_out 'has registry schema version 9, but this trademl knows versions up to 2: upgrade trademl'
[[ $(pg_sql "SELECT version FROM schema_version WHERE component = 'registry'") == 9 ]] || fail "version changed"
pg_sql "UPDATE schema_version SET version = 2 WHERE component = 'registry'" >/dev/null
ok "a schema newer than the binary is refused"

# 5. migrate-from: a SQLite install's candles move with equal counts and checksums.
export -n TRADEML_DATABASE_URL
SQLITE_HOME=$WORK/sqlite-home
TRADEML_HOME=$SQLITE_HOME expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
TRADEML_HOME=$SQLITE_HOME expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol ETHUSDT --interval 5m
pg_fresh_db e2e_db_migrate
export TRADEML_DATABASE_URL=$PG_URL
expect_exit 0 "$BIN" db migrate-from "$SQLITE_HOME/trademl.db" --json
no_password
python3 - "$OUT" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
t = {x["table"]: x for x in r["tables"]}
c = t["candles"]
assert c["outcome"] == "copied" and c["source_rows"] == 16000 == c["target_rows"], c
assert c["source_checksum"] == c["target_checksum"] != "0000000000000000", c
PY
[[ $(pg_sql "SELECT count(*) FROM candles") == 16000 ]] || fail "expected 16000 candles"
# An independent check, row by row: every value equal (doubles compared exactly).
pg_sql "SELECT symbol, interval_ms, open_time, open, high, low, close, volume FROM candles" >"$WORK/pg.rows"
python3 - "$SQLITE_HOME/trademl.db" "$WORK/pg.rows" <<'PY'
import sqlite3, sys
src = sorted(sqlite3.connect(sys.argv[1]).execute(
    "SELECT symbol, interval_ms, open_time, open, high, low, close, volume FROM candles").fetchall())
dst = []
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("|")
    dst.append((f[0], int(f[1]), int(f[2])) + tuple(float(x) for x in f[3:]))
dst.sort()
assert len(src) == len(dst) == 16000, (len(src), len(dst))
bad = [(a, b) for a, b in zip(src, dst) if a != b]
assert not bad, bad[:3]
PY
ok "migrate-from copies candles with equal counts and checksums"

# 6. Re-runnable; a target holding other data is refused and left as it was.
expect_exit 0 "$BIN" db migrate-from "$SQLITE_HOME/trademl.db"
expect_out '^candles +16000 +16000 .* already there'
pg_sql "DELETE FROM candles WHERE symbol = 'ETHUSDT' AND open_time = (SELECT max(open_time) FROM candles)" >/dev/null
expect_exit 1 "$BIN" db migrate-from "$SQLITE_HOME/trademl.db"
expect_out 'its table candles already holds 15999 rows .* not the 16000 rows .*nothing was written'
no_password
[[ $(pg_sql "SELECT count(*) FROM candles") == 15999 ]] || fail "the refused migration changed the target"
expect_exit 1 "$BIN" db migrate-from "$WORK/nope.db"
expect_out "no SQLite database at '$WORK/nope.db'"
export -n TRADEML_DATABASE_URL
expect_exit 2 "$BIN" db migrate-from "$SQLITE_HOME/trademl.db"
expect_out 'set data\.database \(or TRADEML_DATABASE_URL\) to the target postgresql:// URL first'
ok "migrate-from is re-runnable and refuses a target with other data"
finish
