#!/usr/bin/env bash
# Numbers that must not mislead and failures that must not hide (issue 11), on the CLI: permanent
# errors fail a job at once, error wording, stale predictions, model ages, prune counts, log lines.
source "$(dirname "$0")/lib/common.sh"
D=binance-usdm-2025h2
need_data $D/BTCUSDT_15m.csv
export TRADEML_TRAINING_NUM_BOOST_ROUND=20 TRADEML_TRAINING_EARLY_STOPPING_ROUNDS=5

# job_with_too_little_data_fails_at_once: 400 candles cannot make one training fold; retrying cannot
# help, so the job fails on its first attempt with that reason although 3 attempts are allowed.
head -n 401 "$DATA/$D/BTCUSDT_15m.csv" >"$WORK/short.csv"
expect_exit 0 "$BIN" data import "$WORK/short.csv" --symbol SHORTUSDT --interval 15m
expect_exit 0 "$BIN" jobs submit train --symbol SHORTUSDT --interval 15m --max-attempts 3 --json
short_job=$(grep -Eo '"id": *[0-9]+' <<<"$OUT" | head -1 | grep -Eo '[0-9]+$')
expect_exit 0 "$BIN" worker --exit-when-idle
expect_exit 0 "$BIN" jobs show "$short_job" --json --log-lines 0
python3 - "$OUT" <<'PY' || fail "short job: $OUT"
import json, sys
j = json.loads(sys.argv[1])
j = j.get("job", j)
assert j["status"] == "failed", j["status"]
assert j["attempts"] == 1, j["attempts"]
assert "not enough data" in j["error"] and "not retried" in j["error"], j["error"]
PY
ok "job_with_too_little_data_fails_at_once"

# fetch_of_a_symbol_the_exchange_does_not_list_fails_at_once: the (loopback mock) exchange answers
# "Not supported symbols"; a retry would get the same answer, so the job fails on its first attempt.
if [[ -n ${TML_MOCK_EXCHANGE:-} && -x $TML_MOCK_EXCHANGE && -e $DATA/bybit-linear/BNB_USDT_USDT-1d-futures.csv ]]; then
  home=$WORK/mockhome
  mkdir -p "$home"
  source "$(dirname "$0")/lib/mock.sh"
  trap 'mock_stop; cleanup' EXIT
  mock_start --series "bybit:linear:BNBUSDT:1d:$DATA/bybit-linear/BNB_USDT_USDT-1d-futures.csv"
  expect_exit 0 "$BIN" jobs submit fetch --symbol NOSUCHUSDT --interval 1d --days 30 --max-attempts 3 --json
  fetch_job=$(grep -Eo '"id": *[0-9]+' <<<"$OUT" | head -1 | grep -Eo '[0-9]+$')
  expect_exit 0 "$BIN" worker --exit-when-idle
  mock_stop
  expect_exit 0 "$BIN" jobs show "$fetch_job" --json --log-lines 0
  python3 - "$OUT" <<'PY' || fail "unknown-symbol fetch job: $OUT"
import json, sys
j = json.loads(sys.argv[1])["job"]
assert j["status"] == "failed" and j["attempts"] == 1, (j["status"], j["attempts"])
assert "Not supported symbols" in j["error"] and "not retried" in j["error"], j["error"]
PY
  ok "fetch_of_a_symbol_the_exchange_does_not_list_fails_at_once"
else
  echo "skip - fetch_of_a_symbol_the_exchange_does_not_list_fails_at_once (no mock exchange or data)"
fi

# error_wording_has_no_doubled_colons: a bad flag value is named once, with one separator.
expect_exit 2 "$BIN" data resample --symbol SHORTUSDT --from 15m --to 7m
expect_out "--to: unknown interval '7m'"
grep -q ': :' <<<"$OUT" && fail "doubled colon: $OUT"
# A missing queue file is a missing file, not "not valid JSON (line -1 ...)".
expect_exit 1 "$BIN" queue import "$WORK/no-such-queue.json"
expect_out "cannot read queue file '.*no-such-queue.json': No such file or directory"
grep -q 'line -1' <<<"$OUT" && fail "parse wording for a missing file: $OUT"
ok "error_wording_has_no_doubled_colons"

# One model, at 1h only (BTCUSDT 15m resampled): the last full hour closes 2025-12-31T11:00:00Z.
expect_exit 0 "$BIN" data import "$DATA/$D/BTCUSDT_15m.csv" --symbol BTCUSDT --interval 15m
expect_exit 0 "$BIN" data resample --symbol BTCUSDT --from 15m --to 1h
expect_exit 0 "$BIN" train --symbol BTCUSDT --interval 1h --no-fetch --json

# predict_interval_defaults_to_the_only_model: data.interval is 15m by default, but BTCUSDT has only
# a 1h model, so predict uses 1h; an interval asked for without a model names the ones that exist.
expect_exit 0 "$BIN" predict --symbol BTCUSDT --now 2025-12-31T11:10:00Z
expect_out '"interval":"1h"'
expect_out '"stale":false'
expect_exit 1 "$BIN" predict --symbol BTCUSDT --interval 4h --now 2025-12-31T11:10:00Z
expect_out "no 4h model for BTCUSDT; models exist for 1h: pass --interval 1h"
TRADEML_DATA_INTERVAL=15m expect_exit 1 "$BIN" predict --symbol BTCUSDT --now 2025-12-31T11:10:00Z
expect_out "no 15m model for BTCUSDT; models exist for 1h"
ok "predict_interval_defaults_to_the_only_model"

# predict_on_a_stale_candle_warns_and_max_age_refuses: 5 h after the last close (> 3 intervals) the
# prediction carries stale: true and its age, with a warning; --max-age (predict.max_age) refuses.
set +e
json=$("$BIN" predict --symbol BTCUSDT --now 2025-12-31T16:00:00Z 2>"$WORK/stale.err")
rc=$?
set -e
[[ $rc -eq 0 ]] || fail "stale predict exit $rc: $(cat "$WORK/stale.err")"
python3 - "$json" <<'PY' || fail "stale JSON: $json"
import json, sys
p = json.loads(sys.argv[1])
assert p["stale"] is True and p["candle_age_seconds"] == 5 * 3600 and p["stale_after_seconds"] == 3 * 3600, p
PY
grep -q "warning: stale prediction: the latest closed 1h candle of BTCUSDT closed at 2025-12-31T11:00:00Z, 5h 00m ago" \
  "$WORK/stale.err" || fail "no stale warning: $(cat "$WORK/stale.err")"
expect_exit 1 "$BIN" predict --symbol BTCUSDT --now 2025-12-31T16:00:00Z --max-age 2h
expect_out "5h 00m ago, older than the allowed 2h 00m \(predict.max_age / --max-age\)"
grep -q '"predictions"' <<<"$OUT" && fail "a refused prediction printed predictions: $OUT"
TRADEML_PREDICT_MAX_AGE=6h expect_exit 0 "$BIN" predict --symbol BTCUSDT --now 2025-12-31T16:00:00Z
expect_out '"stale":true'
ok "predict_on_a_stale_candle_warns_and_max_age_refuses"

# activation_scores_the_incumbent_on_the_challengers_rows: the same data and settings train the same
# set again; the active set is scored on the new set's validation rows with the new set's labels, so
# the two figures are equal, and the registry row and `models show` say which rows were used.
expect_exit 0 "$BIN" train --symbol BTCUSDT --interval 1h --no-fetch --json
python3 - "$OUT" "$TRADEML_HOME" <<'PY' || fail "comparison: $OUT"
import json, sys, glob
t = json.loads(sys.argv[1])
meta = json.load(open(t["model_dir"] + "/metadata.json"))
c = meta["comparison"]
assert c["rows"] == meta["data"]["valid_rows"], (c["rows"], meta["data"]["valid_rows"])
assert c["from"] == meta["data"]["validation_from"], (c["from"], meta["data"]["validation_from"])
mine = meta["heads"]["direction"]["metrics"]["roc_auc_macro"]
theirs = c["heads"]["direction"]["metrics"]["roc_auc_macro"]
assert abs(mine - theirs) < 1e-12, (mine, theirs)
assert t["active"] is True and "on the same %d validation rows" % c["rows"] in t["status_reason"], t["status_reason"]
PY
second=$(grep -Eo '"model_id": *[0-9]+' <<<"$OUT" | grep -Eo '[0-9]+$')
expect_exit 0 "$BIN" models show "$second"
expect_out "compared    direction.roc_auc_macro: this set [0-9.]+, active model 1 [0-9.]+, both on the same [0-9]+ validation rows"
expect_exit 0 "$BIN" models show "$second" --json
expect_out '"same_rows":true'
ok "activation_scores_the_incumbent_on_the_challengers_rows"

# model_age_is_time_since_training_and_data_age_is_separate: coverage and models list report the same
# two ages: days since training (minutes here) and days since the newest candle trained on.
expect_exit 0 "$BIN" coverage --interval 1h --json
cov=$OUT
expect_exit 0 "$BIN" models list --interval 1h --json
python3 - "$cov" "$OUT" <<'PY' || fail "model ages: $cov $OUT"
import json, sys, datetime
cov = {r["symbol"]: r for r in json.loads(sys.argv[1])}["BTCUSDT"]
m = json.loads(sys.argv[2])[0]
last = datetime.datetime.fromisoformat(m["data_to"].replace("Z", "+00:00"))
data_age = (datetime.datetime.now(datetime.timezone.utc) - last).total_seconds() / 86400
assert 0 <= cov["model_age_days"] < 0.05 and 0 <= m["age_days"] < 0.05, (cov["model_age_days"], m["age_days"])
assert abs(cov["model_data_age_days"] - data_age) < 0.05 and abs(m["data_age_days"] - data_age) < 0.05, \
    (cov["model_data_age_days"], m["data_age_days"], data_age)
PY
expect_exit 0 "$BIN" coverage --interval 1h
expect_out 'MODEL +TRAINED +DATA'
expect_exit 0 "$BIN" models list
expect_out 'CREATED +TRAINED +DATA'
expect_out ' 0\.0d +[0-9]+\.[0-9]d '
ok "model_age_is_time_since_training_and_data_age_is_separate"

# jobs_show_log_lines_are_n_readable_lines: a train job's log ends in its JSON result, one line of
# several kB; --log-lines 2 shows 2 lines, the JSON one summarised with its keys.
expect_exit 0 "$BIN" jobs submit train --symbol BTCUSDT --interval 1h --json
train_job=$(grep -Eo '"id": *[0-9]+' <<<"$OUT" | head -1 | grep -Eo '[0-9]+$')
expect_exit 0 "$BIN" worker --exit-when-idle
expect_exit 0 "$BIN" jobs show "$train_job" --log-lines 2
log=$(sed -n '/^log: /,$p' <<<"$OUT" | tail -n +2)
[[ $(wc -l <<<"$log") -eq 2 ]] || fail "expected 2 log lines, got: $log"
awk 'length($0) > 400 { exit 1 }' <<<"$log" || fail "a log line longer than 400 chars: $log"
grep -Eq '^\{"symbols":\["BTCUSDT"\].* \.\.\. \[JSON object, [0-9]+ chars; keys: symbols, interval, .*result; full line in the log\]$' <<<"$log" \
  || fail "JSON result line not summarised: $log"
ok "jobs_show_log_lines_are_n_readable_lines"

finish
