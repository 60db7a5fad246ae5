#!/usr/bin/env bash
# Strategy rl end to end on real BTCUSDT 15m candles (small budget): train -> registry folder ->
# a train job run by a worker -> predict (action + probabilities + value) -> validate (env.* trading metrics next to buy-and-hold,
# flat and the direction policy), and the bad-input paths of issue 15 (unknown action space or reward
# term, costs out of range, too few candles for one episode, a corrupted agent file).
source "$(dirname "$0")/lib/common.sh"
need_data binance-spot/BTCUSDT_15m_2023-2026.csv

expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_15m_2023-2026.csv" --symbol BTCUSDT --interval 15m
# a small budget: the e2e test checks the plumbing; tests/unit/rl checks that the agent learns
export TRADEML_RL_TOTAL_STEPS=4096 TRADEML_RL_HIDDEN=16 TRADEML_RL_N_ENVS=4 TRADEML_RL_ROLLOUT_STEPS=128
export TRADEML_RL_MINIBATCH=128 TRADEML_RL_EPISODE_CANDLES=256

models() { find "$TRADEML_HOME/models" -name metadata.json 2>/dev/null | wc -l; }

expect_exit 0 "$BIN" train --strategy rl --symbol BTCUSDT --interval 15m --days 60
expect_out '^save +.*/models/rl/BTCUSDT/15m/[0-9]{8}T[0-9]{6}Z'
dir=$(ls -d "$TRADEML_HOME"/models/rl/BTCUSDT/15m/*/)
[[ -s $dir/rl_agent.bin && -s $dir/rl_heads.json ]] || fail "rl_agent.bin / rl_heads.json missing in $dir"
python3 - "$dir/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["strategy"] == "rl", m["strategy"]
d = m["strategy_details"]
assert d["agent"] == "ppo" and d["action_space"] == "five" and d["training"]["env_steps"] >= 4096, d
PY
ok "train --strategy rl writes models/rl/BTCUSDT/15m/<version> with the agent, its heads and metadata"

expect_exit 0 "$BIN" predict --strategy rl --symbol BTCUSDT --interval 15m
python3 - <<PY
import json
r = json.loads('''$(grep '^{' <<<"$OUT")''')
a = r["action"]
p = a["probabilities"]
assert set(p) == {"neutral", "enter_long", "exit_long", "enter_short", "exit_short"}, p
assert abs(sum(p.values()) - 1) < 1e-4 and isinstance(a["value"], float), a
pos = a["position"]  # the paper position the agent's own decisions built over the stored candles
assert pos["side"] in ("flat", "long", "short") and pos["equity"] > 0 and pos["trades"] >= 0 and pos["hold_candles"] >= 0, pos
if pos["side"] == "flat":   # moves that do not apply to the position are masked
    assert p["exit_long"] == 0 and p["exit_short"] == 0 and pos["entry_price"] == 0 and pos["hold_candles"] == 0, a
    assert a["name"] in ("neutral", "enter_long", "enter_short"), a
    d = r["predictions"]["direction"]["probabilities"]  # the direction head: the decision from the flat state
    assert abs(d["up"] - p["enter_long"]) < 1e-5 and abs(d["down"] - p["enter_short"]) < 1e-5, (d, p)
else:
    held = "long" if pos["side"] == "long" else "short"
    other = "short" if held == "long" else "long"
    assert p["enter_long"] == 0 and p["enter_short"] == 0 and p["exit_" + other] == 0, a
    assert a["name"] in ("neutral", "exit_" + held) and pos["entry_price"] > 0 and pos["hold_candles"] >= 1, a
print("position carried:", pos)
PY
ok "predict --strategy rl prints the action, its probabilities, the value and the position the agent carries"

expect_exit 3 "$BIN" validate --strategy rl --symbol BTCUSDT --interval 15m --mode quick --quick-folds 1 \
  --test-period-days 20 --window fixed --train-window-days 60
expect_out '^env\.net_return +-?[0-9]'
expect_out '^env\.buy_hold_net_return +-?[0-9]'
expect_out '^env\.direction_net_return +-?[0-9]'
report=$(ls "$TRADEML_HOME"/reports/*/report.json | head -1)
python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = r["folds"][0]["metrics"]
assert f["env.flat_net_return"] == 0 and f["env.trades"] >= 0 and 0 <= f["env.exposure"] <= 1, f
assert f["env.fees_paid"] >= 0 and -1 <= f["env.net_return"], f
PY
ok "validate --strategy rl reports the agent's trading next to buy-and-hold, flat and the direction policy"

expect_exit 0 "$BIN" validate --compare xgb5,rl --symbol BTCUSDT --interval 15m --mode quick --quick-folds 1 \
  --test-period-days 20 --window fixed --train-window-days 60 --num-boost-round 30
expect_out '^  env\.net_return +nan +-?[0-9.]+ +-?[0-9.]+ +(xgb5|rl)'
expect_out '^  env\.buy_hold_net_return +nan +(-?[0-9.]+) +\1 '
cmp=$(ls "$TRADEML_HOME"/reports/*compare*/compare.json | head -1)
python3 - "$cmp" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = {m["metric"]: m for m in r["heads"]["env"]}  # next to "trading", as the report lays them out
n = rows["env.net_return"]["strategies"]
assert set(n) == {"xgb5", "rl"} and all(isinstance(v["mean"], float) for v in n.values()), n
b = rows["env.buy_hold_net_return"]["strategies"]
assert b["xgb5"]["mean"] == b["rl"]["mean"], b  # the same test rows and costs
PY
ok "validate --compare xgb5,rl: the agent's trading next to xgb5's direction policy, same folds, rows and costs"

expect_exit 0 "$BIN" jobs submit train --strategy rl --symbol BTCUSDT --interval 15m --days 60
expect_exit 0 "$BIN" worker --exit-when-idle --concurrency 1
expect_out '1 succeeded, 0 failed'
[[ $(ls -d "$TRADEML_HOME"/models/rl/BTCUSDT/15m/*/ | wc -l) -eq 2 ]] || fail "the job did not add a second rl version"
ok "a train job with strategy rl runs in a worker and registers models/rl/BTCUSDT/15m/<version>"

TRADEML_RL_NETWORK=lstm TRADEML_RL_WINDOW=4 TRADEML_RL_LSTM_HIDDEN=8 expect_exit 0 "$BIN" train --strategy rl --symbol BTCUSDT --interval 15m --days 60
lstm_dir=$(ls -td "$TRADEML_HOME"/models/rl/BTCUSDT/15m/*/ | head -1)
python3 - "$lstm_dir/metadata.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["strategy_details"]
assert d["network"] == "lstm" and d["window"] == 4 and d["lstm_hidden"] == 8, d
PY
expect_exit 0 "$BIN" predict --strategy rl --symbol BTCUSDT --interval 15m --model "$lstm_dir"
grep '^{' <<<"$OUT" | python3 -c 'import json,sys; a=json.load(sys.stdin)["action"]; assert a["position"]["side"] in ("flat","long","short"), a'
ok "rl.network lstm: trained, recorded in metadata (network, window, lstm_hidden) and predicts with its position"

before=$(models)
rows_before=$(sqlite3 "$TRADEML_HOME/trademl.db" "SELECT count(*) FROM models WHERE strategy = 'rl'")
files_before=$(find "$TRADEML_HOME/models" | sort)
TRADEML_RL_REWARD=equity,sharpe expect_exit 2 "$BIN" train --strategy rl --symbol BTCUSDT --interval 15m --days 60
expect_out "rl.reward: unknown reward term 'sharpe'"
TRADEML_RL_ACTION_SPACE=seven expect_exit 2 "$BIN" train --strategy rl --symbol BTCUSDT --interval 15m --days 60
expect_out 'rl.action_space'
TRADEML_RL_FEE_RATE=0.5 expect_exit 2 "$BIN" train --strategy rl --symbol BTCUSDT --interval 15m --days 60
expect_out 'rl.fee_rate'
TRADEML_RL_EPISODE_CANDLES=100000 expect_exit 2 "$BIN" train --strategy rl --symbol BTCUSDT --interval 15m --days 60
expect_out 'one episode needs rl.episode_candles \+ 1 = 100001'
TRADEML_RL_NETWORK=gru expect_exit 2 "$BIN" train --strategy rl --symbol BTCUSDT --interval 15m --days 60
expect_out "rl.network"
TRADEML_RL_NETWORK=lstm TRADEML_RL_WINDOW=0 expect_exit 2 "$BIN" train --strategy rl --symbol BTCUSDT --interval 15m --days 60
expect_out "rl.window"
[[ $(models) -eq $before ]] || fail "a refused training registered a model"
[[ $(sqlite3 "$TRADEML_HOME/trademl.db" "SELECT count(*) FROM models WHERE strategy = 'rl'") -eq $rows_before ]] ||
  fail "a refused training added a registry row"
[[ $(find "$TRADEML_HOME/models" | sort) == "$files_before" ]] || fail "a refused training left files: $(find "$TRADEML_HOME/models")"
ok "unknown action space / reward term / network, fee or window out of range, too few candles: exit 2 naming the setting, nothing registered"

for f in "$TRADEML_HOME"/models/rl/BTCUSDT/15m/*/rl_agent.bin; do
  python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(bytes(b))
PY
done
expect_exit 2 "$BIN" predict --strategy rl --symbol BTCUSDT --interval 15m
expect_out "rl_agent.bin': checksum mismatch: the file is truncated or corrupt; train the model again"
f=$(ls "$TRADEML_HOME"/models/rl/BTCUSDT/15m/*/rl_agent.bin | head -1)
head -c 100 "$f" >"$WORK/short.bin" && cp "$WORK/short.bin" "$f"
expect_exit 2 "$BIN" predict --strategy rl --symbol BTCUSDT --interval 15m --model "$(dirname "$f")"
expect_out "rl_agent.bin': checksum mismatch"
ok "a corrupted or truncated agent file is refused naming the file and the fix (exit 2)"
finish
