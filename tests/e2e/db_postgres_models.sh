#!/usr/bin/env bash
# ctest-labels: heavy
# ctest-fixtures: pg
# A SQLite install with a trained model moves to PostgreSQL (`db migrate-from`): counts and checksums
# equal; the users' queries on ml_model_registry / ml_training_metrics / ml_training_jobs return the
# expected rows; and "host B" (another home, no shared files) serves the model from the database
# with exactly host A's predictions, through `predict` and through the daemon ("host D": /api/predict
# fetches the set into its own models folder, with or without ?interval=; /api/models/1 points there).
# Then host B trains against PostgreSQL and host C serves that.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/pg.sh"
source "$(dirname "$0")/lib/server.sh"
need_data bybit-linear/SOLUSDT_5m.csv
FAST=(--num-boost-round 40 --early-stopping-rounds 10)
HOME_A=$WORK/host-a
export TRADEML_HOME=$HOME_A
expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 20 "${FAST[@]}"
expect_out '^registered as model 1 \(active'
expect_exit 0 "$BIN" jobs submit train --symbol SOLUSDT --interval 5m
expect_exit 0 "$BIN" predict --symbol SOLUSDT --interval 5m
PRED_A=$(grep '^{' <<<"$OUT")
[[ $(sqlite3 "$HOME_A/trademl.db" "SELECT count(*) FROM ml_model_registry WHERE is_active = TRUE") == 1 ]] ||
  fail "SQLite view ml_model_registry"
[[ $(sqlite3 "$HOME_A/trademl.db" "SELECT count(*) FROM ml_training_jobs WHERE status = 'queued'") == 1 ]] ||
  fail "SQLite view ml_training_jobs"
ok "host A (SQLite) trained model 1; its views answer the users' queries"

pg_fresh_db e2e_db_models
export TRADEML_DATABASE_URL=$PG_URL
expect_exit 0 "$BIN" db migrate-from "$HOME_A/trademl.db" --json
no_password
python3 - "$OUT" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
t = {x["table"]: x for x in r["tables"]}
for name in ("candles", "models", "model_symbols"):
    x = t[name]
    assert x["outcome"] == "copied" and x["source_rows"] == x["target_rows"] > 0, x
    assert x["source_checksum"] == x["target_checksum"], x
j = t["jobs"]
assert j["outcome"] == "copied" and j["source_rows"] == j["target_rows"] == 1, j
assert j["source_checksum"] == j["target_checksum"], j
assert r["model_files_uploaded"] == 1 and r["model_folders_missing"] == 0, r
PY
q='SELECT model_id, strategy_type, symbol, is_active FROM ml_model_registry WHERE is_active = TRUE ORDER BY created_at DESC'
[[ $(pg_sql "$q") == "1|xgb5|SOLUSDT|t" ]] || fail "ml_model_registry: $(pg_sql "$q")"
q="SELECT count(DISTINCT head) FROM ml_training_metrics WHERE model_id = 1 AND head IN ('direction', 'volatility',
 'timing', 'stop_loss', 'position_size')"
[[ $(pg_sql "$q") == 5 ]] || fail "ml_training_metrics: $(pg_sql "SELECT head, metric_name FROM ml_training_metrics")"
q="SELECT metric_value > 0 AND metric_value < 1 FROM ml_training_metrics WHERE model_id = 1 AND head = 'direction'
 AND metric_name = 'roc_auc_macro'"
[[ $(pg_sql "$q") == t ]] || fail "no direction roc_auc_macro in ml_training_metrics"
q='SELECT job_id, strategy_type, symbol, status, created_at IS NOT NULL, completed_at FROM ml_training_jobs ORDER BY created_at DESC LIMIT 10'
[[ $(pg_sql "$q") == "1|xgb5|SOLUSDT|queued|t|" ]] || fail "ml_training_jobs: $(pg_sql "$q")"
[[ $(pg_sql "SELECT count(*) FROM model_files WHERE model_id = 1 AND name = 'metadata.json'") == 1 ]] ||
  fail "model files not stored"
ok "migrate-from: equal counts and checksums, model files stored, the users' queries work on PostgreSQL"

# Host B: another home, nothing on disk; the model comes from the database, predictions are host A's.
export TRADEML_HOME=$WORK/host-b
expect_exit 0 "$BIN" predict --symbol SOLUSDT --interval 5m
PRED_B=$(grep '^{' <<<"$OUT")
python3 - "$PRED_A" "$PRED_B" "$WORK/host-b" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["predictions"] == b["predictions"], (a["predictions"], b["predictions"])
assert b["model"]["path"].startswith(sys.argv[3] + "/models/xgb5/SOLUSDT/5m/"), b["model"]["path"]
PY
ok "host B serves host A's model from the database with identical predictions"

# Host D: the daemon, on another home with nothing on disk, serves the same model through the API.
export TRADEML_HOME=$WORK/host-d
SERVER_LOG=$WORK/serve-d.log
TRADEML_LOGGING_LEVEL=info start_server --no-workers
for q in '?interval=5m' ''; do # no interval: the registry's rows name 5m (data.interval is 15m)
  api GET "/api/predict/SOLUSDT$q"
  expect_code 200
  python3 - "$PRED_A" "$BODY" "$WORK/host-d" <<'PY'
import json, sys
a, d = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["predictions"] == d["predictions"], (a["predictions"], d["predictions"])
assert d["model"]["path"].startswith(sys.argv[3] + "/models/xgb5/SOLUSDT/5m/"), d["model"]["path"]
PY
done
api GET /api/models/1
expect_code 200
python3 - "$BODY" "$WORK/host-d" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r = r.get("model", r)
assert r["id"] == 1 and r["folder_missing"] is False and r["path"].startswith(sys.argv[2] + "/models/"), r
PY
[[ -f $(ls -d "$WORK"/host-d/models/xgb5/SOLUSDT/5m/*/ | head -1)/metadata.json ]] || fail "host D's cache has no model set"
grep -q "model 1: fetched [0-9]* files" "$SERVER_LOG" || fail "the daemon did not log the fetch: $(cat "$SERVER_LOG")"
stop_server
ok "host D's daemon serves host A's model from its own cache folder (/api/predict, /api/models/1)"

# Host B trains against PostgreSQL (candles read from it, model registered into it); host C serves it.
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 25 "${FAST[@]}"
expect_out '^registered as model 2 '
[[ $(pg_sql "SELECT count(*) FROM model_files WHERE model_id = 2") -gt 5 ]] || fail "model 2's files not stored"
export TRADEML_HOME=$WORK/host-c
expect_exit 0 "$BIN" models show 2 --json
python3 - "$OUT" "$WORK/host-c" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["id"] == 2 and r["folder_missing"] is False and r["path"].startswith(sys.argv[2]), r
PY
ok "a model trained on host B against PostgreSQL is served on host C"
finish
