#!/usr/bin/env bash
# The Bybit bot's new-symbol queue file (data/new_symbol_training_queue.json) exactly as it is on disk:
# `trademl queue import FILE` reads it (naive times are UTC, a symbol may lack a queued_at entry) and
# `trademl queue export FILE` writes the same format back, atomically, so the bot's own tools keep reading it.
source "$(dirname "$0")/lib/common.sh"

# The file as the bot writes it (the seed's example, one symbol without queued_at).
cat >queue.json <<'J'
{"queued_symbols": ["LTCUSDT", "AVAXUSDT"], "queued_at": {"LTCUSDT": "2025-12-04T03:19:03.423000"}}
J
before=$(date -u +%s)
expect_exit 0 "$BIN" queue import queue.json
expect_out '^2 symbols imported from queue.json'
expect_exit 0 "$BIN" queue list --json
python3 - "$before" <<PY
import json, sys, datetime
q = json.loads('''$OUT''')["queue"]
assert [e["symbol"] for e in q] == ["LTCUSDT", "AVAXUSDT"], q
assert q[0]["added_at"] == "2025-12-04T03:19:03.423Z", q[0]   # naive = UTC, milliseconds kept
t = datetime.datetime.fromisoformat(q[1]["added_at"].replace("Z", "+00:00")).timestamp()
assert t >= int(sys.argv[1]) - 1, (t, sys.argv[1])            # no queued_at: queued at import time
PY
ok "the Bybit queue file imports: naive time read as UTC, missing queued_at = import time"

expect_exit 0 "$BIN" queue import queue.json
expect_out '^0 symbols imported'
ok "importing the same file again adds nothing"

# Export: the bot's format, readable with json.load, same symbols and the same time for LTCUSDT.
expect_exit 0 "$BIN" queue export out.json
expect_out '^2 symbols exported to out.json'
python3 - <<'PY'
import json, datetime
q = json.load(open("out.json"))
assert set(q) == {"queued_symbols", "queued_at"}, q
assert q["queued_symbols"] == ["LTCUSDT", "AVAXUSDT"], q
assert q["queued_at"]["LTCUSDT"] == "2025-12-04T03:19:03.423000", q
datetime.datetime.fromisoformat(q["queued_at"]["AVAXUSDT"])   # naive ISO time, as datetime.utcnow().isoformat()
PY
ls -a | grep -q 'out.json.tmp' && fail "temporary file left behind"
ok "export writes the Bybit format back"

# Round trip: a file written by the bot's own code (json.dump indent=2) comes back byte for byte.
python3 - <<'PY'
import json
q = {"queued_symbols": ["LTCUSDT", "AVAXUSDT", "BNBUSDT"],
     "queued_at": {"LTCUSDT": "2025-12-04T03:19:03.423000", "AVAXUSDT": "2025-12-04T03:19:04",
                   "BNBUSDT": "2025-12-05T10:00:00.001000"}}
json.dump(q, open("bot.json", "w"), indent=2)
PY
export TRADEML_HOME=$WORK/home2
expect_exit 0 "$BIN" queue import bot.json
expect_exit 0 "$BIN" queue export back.json
cmp bot.json back.json || fail "round trip changed the file: $(diff bot.json back.json)"
ok "import then export gives back the bot's file byte for byte"

# An empty queue exports as the bot's 'clear queue' file.
expect_exit 0 "$BIN" queue clear
expect_exit 0 "$BIN" queue export empty.json
python3 -c 'import json; assert json.load(open("empty.json")) == {"queued_symbols": [], "queued_at": {}}'
# export replaces an existing file atomically (the old content never half-overwritten)
expect_exit 0 "$BIN" queue export back.json
python3 -c 'import json; assert json.load(open("back.json"))["queued_symbols"] == []'
expect_exit 1 "$BIN" queue export "$WORK/no/such/dir/q.json"
expect_out "no/such/dir/q.json"
ok "empty queue exports as {\"queued_symbols\": [], \"queued_at\": {}}; unwritable path is an error naming it"

# Malformed files: the error names the file, the place and the fix; nothing is imported.
bad() { printf '%s' "$2" >"$1"; expect_exit 1 "$BIN" queue import "$1"; }
bad b1.json '{"queued_symbols": ["LTCUSDT",}'
expect_out "queue file 'b1.json': not valid JSON \(line 1"
bad b2.json '{"queued_symbols": "LTCUSDT"}'
expect_out "queue file 'b2.json': \"queued_symbols\" must be a list of symbol strings; the Bybit queue file looks like"
bad b3.json '{"queued_symbols": ["LTCUSDT"], "queued_at": {"LTCUSDT": "04/12/2025 03:19"}}'
expect_out "queue file 'b3.json': \"queued_at\".\"LTCUSDT\" is not a time like 2025-12-04T03:19:03.423000 \(naive = UTC\); fix or remove that entry"
bad b4.json '{"queued_symbols": ["LTCUSDT", 7]}'
expect_out "queue file 'b4.json': \"queued_symbols\"\[1\] is not a symbol string"
bad b5.json '{"queued_symbols": ["LTC USDT!"]}'
expect_out "\"queued_symbols\"\[0\] 'LTC USDT!' is not a valid symbol"
bad b6.json '{"queued_symbols": ["LTCUSDT"], "queued_at": ["LTCUSDT"]}'
expect_out "\"queued_at\" must be an object mapping each symbol"
expect_exit 0 "$BIN" queue list
expect_out '^0 queued'
ok "malformed queue files are refused naming file, place and fix; nothing imported"
finish
