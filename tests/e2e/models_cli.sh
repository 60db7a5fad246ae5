#!/usr/bin/env bash
# ctest-labels: heavy
# trademl models end to end on real SOLUSDT 5m candles: train registers every set, activation by the
# configured metric, rollback with activate, predict follows the active model, retention, a folder
# deleted behind the registry's back, and a database locked by the sqlite3 CLI.
source "$(dirname "$0")/lib/common.sh"
need_data bybit-linear/SOLUSDT_5m.csv
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 CLI not installed"; exit 77; }

expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
FAST=(--num-boost-round 60 --early-stopping-rounds 10)
DB=$TRADEML_HOME/trademl.db
q() { sqlite3 "$DB" "$1"; }

expect_exit 0 "$BIN" models list
expect_out '^no active models registered'

# 1. The first set is registered and active.
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 "${FAST[@]}"
expect_out '^registered as model 1 \(active: first active model for xgb5 SOLUSDT 5m\)'
ok "train registers its set as active"

# 2. Activation by a metric: with stop_loss.rmse (lower is better) and a huge required improvement
#    the next set stays inactive with the reason; --json carries id, active and reason.
sleep 1
export TRADEML_MODEL_ACTIVATION_METRIC=stop_loss.rmse TRADEML_MODEL_ACTIVATION_MIN_IMPROVEMENT=1
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 20 "${FAST[@]}" --json
python3 - "$OUT" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["model_id"] == 2 and r["active"] is False, r
assert r["status_reason"].startswith("stop_loss.rmse "), r["status_reason"]
assert "does not beat" in r["status_reason"] or "is worse than" in r["status_reason"], r["status_reason"]
PY
unset TRADEML_MODEL_ACTIVATION_METRIC TRADEML_MODEL_ACTIVATION_MIN_IMPROVEMENT
[[ $(q "SELECT count(*) FROM models WHERE active = 1") == 1 ]] || fail "expected exactly one active row"
ok "a set that does not improve enough stays inactive with the reason"

# 3. Gates required but no report: inactive.
sleep 1
TRADEML_MODEL_ACTIVATION_REQUIRE_GATES=true expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 25 "${FAST[@]}"
expect_out '^registered as model 3 \(inactive: no walk-forward report \(model.activation.require_gates is true\)\)'
ok "require_gates without a report keeps the set inactive"

# list / show
expect_exit 0 "$BIN" models list
expect_out '^ +1 active +xgb5 +SOLUSDT +5m'
expect_out '2 inactive versions not shown'
expect_exit 0 "$BIN" models list --all --symbol SOLUSDT --interval 5m
[[ $(grep -cE '^ +[0-9]+ ' <<<"$OUT") == 3 ]] || fail "list --all should show 3 rows: $OUT"
expect_exit 0 "$BIN" models list --all --symbol BTCUSDT
expect_out 'no models registered matching'
expect_exit 0 "$BIN" models show 2 --json
python3 - "$OUT" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["id"] == 2 and r["symbols"] == ["SOLUSDT"] and r["interval"] == "5m", r
assert r["metric"] == "stop_loss.rmse" and r["score"] > 0 and len(r["input_hash"]) == 16, r
assert r["has_report"] is False and r["gates_passed"] is None and r["folder_missing"] is False, r
assert "rmse" in r["metrics"]["stop_loss"] and "roc_auc_macro" in r["metrics"]["direction"], r["metrics"]
PY
expect_exit 0 "$BIN" models show 1
expect_out '^status +first active model'
expect_exit 1 "$BIN" models show 99
expect_out 'no model with id 99'
expect_exit 2 "$BIN" models show abc
ok "list, show and their errors"

# 4. predict uses the active model; rollback/forward by hand moves it.
v1=$(q "SELECT version FROM models WHERE id = 1")
v2=$(q "SELECT version FROM models WHERE id = 2")
expect_exit 0 "$BIN" predict --symbol SOLUSDT --interval 5m --now 2024-12-20T00:02:00Z
python3 -c "import json,sys; p=json.loads(sys.argv[1]); assert sys.argv[2] in json.dumps(p), p" "$OUT" "$v1" ||
  fail "predict did not use the active model $v1: $OUT"
expect_exit 0 "$BIN" models activate 2
expect_out "^model 2 is active for xgb5 SOLUSDT 5m \($v2\)"
[[ $(q "SELECT id FROM models WHERE active = 1") == 2 ]] || fail "model 2 should be the only active row"
[[ $(q "SELECT status_reason FROM models WHERE id = 1") == "deactivated: model 2 activated by hand" ]] || fail "reason"
expect_exit 0 "$BIN" predict --symbol SOLUSDT --interval 5m --now 2024-12-20T00:02:00Z
python3 -c "import json,sys; p=json.loads(sys.argv[1]); assert sys.argv[2] in json.dumps(p), p" "$OUT" "$v2" ||
  fail "predict did not follow the activation to $v2: $OUT"
expect_exit 0 "$BIN" models activate 1
ok "activate rolls back and forward; predict follows the active model"

# 5. Check is clean; then a folder deleted behind the registry's back is reported, not a crash.
expect_exit 0 "$BIN" models check
expect_out 'registry and model folders agree'
p3=$(q "SELECT path FROM models WHERE id = 3")
rm -rf "$p3"
expect_exit 0 "$BIN" models list --all
expect_out 'FOLDER MISSING'
expect_out '1 model folder is missing'
expect_exit 1 "$BIN" models check
expect_out "^missing +model 3 $p3: folder is gone"
expect_exit 1 "$BIN" models activate 3
expect_out 'cannot be activated: its folder'
p1=$(q "SELECT path FROM models WHERE id = 1")
mv "$p1" "$p1.away"
expect_exit 2 "$BIN" predict --symbol SOLUSDT --interval 5m --now 2024-12-20T00:02:00Z
expect_out 'the active model 1 for SOLUSDT has no folder'
mv "$p1.away" "$p1"
ok "missing folders are reported by list, check, activate and predict"

# 6. Retention: everything is young: nothing goes. Age the rows, keep the newest 1: the active (1)
#    and the newest (3, folder already gone) stay; 2 is deleted with its folder.
expect_exit 0 "$BIN" models prune --dry-run
expect_out 'would delete 0 versions'
q "UPDATE models SET created_ms = created_ms - 40 * 86400000"
p2=$(q "SELECT path FROM models WHERE id = 2")
expect_exit 0 "$BIN" models prune --dry-run --keep-newest 1
expect_out '^would delete model 2 '
expect_out 'would delete 1 version; kept 1 active, 1 among the newest 1'
[[ -d $p2 ]] || fail "dry run deleted a folder"
MODEL_RETENTION_DAYS=60 expect_exit 0 "$BIN" models prune --keep-newest 1
expect_out 'deleted 0 versions'
expect_exit 0 "$BIN" models prune --keep-newest 1 --json
python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert [d['id'] for d in r['deleted']]==[2] and r['kept_active']==1, r" "$OUT"
[[ ! -e $p2 ]] || fail "pruned folder $p2 still exists"
[[ $(q "SELECT group_concat(id) FROM models ORDER BY id") == "1,3" ]] || fail "rows after prune: $(q 'SELECT id FROM models')"
ls -a "$(dirname "$p2")" | grep -q trash && fail "trash left behind"
ok "prune deletes old inactive folders and rows together, never the active or newest"

# 7. A database locked by another process: bounded wait, then a clear error.
mkfifo "$WORK/hold"
( { echo "BEGIN IMMEDIATE;"; echo "INSERT INTO models(strategy,key,symbols,nsymbols,interval_ms,version,path,created_ms) VALUES ('x','X','X',1,1,'v','/x',0);"; cat "$WORK/hold"; echo "ROLLBACK;"; } | sqlite3 "$DB" ) &
holder=$!
exec 7>"$WORK/hold"
sleep 1
t0=$(date +%s.%N)
expect_exit 1 "$BIN" models register "$p1"
t1=$(date +%s.%N)
expect_out "database '$DB' is locked by another process"
python3 -c "import sys; w=float(sys.argv[2])-float(sys.argv[1]); assert 4.5 <= w < 20, w" "$t0" "$t1" ||
  fail "expected a bounded wait of about 5 s"
expect_exit 0 "$BIN" models list   # readers are not blocked (WAL)
exec 7>&-
wait "$holder"
expect_exit 1 "$BIN" models register "$p1"
expect_out 'already registered as model 1'
ok "a locked database gives a bounded wait and a clear error"

finish
