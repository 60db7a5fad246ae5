#!/usr/bin/env bash
# Temporary model folders (.tmp-*) left by killed trainings: `models check` reports them, `models prune`
# removes them (--dry-run lists them), and so do `trademl worker` and `trademl serve` at start. A folder
# whose training still runs (its process alive with the start time in its name) is kept everywhere, as
# is one younger than 10 minutes.
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"

parent="$TRADEML_HOME/models/xgb5/BTCUSDT/15m"
mkdir -p "$parent"
# A process that has exited, and one that is alive (standing in for a training writing its set).
sh -c 'exit 0' &
gone=$!
wait "$gone"
sleep 120 &
alive=$!
trap 'kill "$alive" 2>/dev/null || true; server_cleanup' EXIT
ticks=$(python3 -c 'import sys; s=open(f"/proc/{sys.argv[1]}/stat").read(); print(s[s.rindex(")")+2:].split()[19])' "$alive")

# stale_set: (re)creates the folders of killed attempts, an hour old.
stale_set() {
  mkdir -p "$parent/.tmp-$gone-1-killed/sub" "$parent/.tmp-$alive-1-reused"
  echo '{}' >"$parent/.tmp-$gone-1-killed/sub/direction_model.json"
  touch -d '1 hour ago' "$parent/.tmp-$gone-1-killed" "$parent/.tmp-$alive-1-reused"
}
stale_set
mkdir -p "$parent/.tmp-$alive-$ticks-writing" "$parent/.tmp-$gone-1-young"
touch -d '1 hour ago' "$parent/.tmp-$alive-$ticks-writing"
keep=("$parent/.tmp-$alive-$ticks-writing" "$parent/.tmp-$gone-1-young")
kept() { for k in "${keep[@]}"; do [[ -d "$k" ]] || fail "$1 removed $k (its training still runs, or it is too young)"; done; }

expect_exit 1 "$BIN" models check
expect_out "stale-tmp +$parent/\.tmp-$gone-1-killed: temporary folder of a killed training \(process $gone that created it is gone; last changed 60 min ago\)"
expect_out "stale-tmp +$parent/\.tmp-$alive-1-reused"
expect_out '2 problems found'
grep -q "writing\|young" <<<"$OUT" && fail "check reported a live or young folder: $OUT"
expect_exit 1 "$BIN" models check --json
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); k=[p["kind"] for p in d["problems"]]; assert k==["stale-tmp"]*2, d' "$OUT"
ok "models check reports the 2 stale temporary folders, not the one being written or the young one"

expect_exit 0 "$BIN" models prune --dry-run
expect_out "would remove stale temporary folder $parent/\.tmp-$gone-1-killed"
[[ -d "$parent/.tmp-$gone-1-killed" ]] || fail "--dry-run removed a folder"
expect_exit 0 "$BIN" models prune --json
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert len(d["stale_tmp"])==2 and "gone" in d["stale_tmp"][0]["detail"], d' "$OUT"
[[ ! -e "$parent/.tmp-$gone-1-killed" && ! -e "$parent/.tmp-$alive-1-reused" ]] || fail "prune left stale folders: $(ls -a "$parent")"
kept "models prune"
expect_exit 0 "$BIN" models check
ok "models prune removes them (--dry-run only lists them); check then finds nothing"

stale_set
expect_exit 0 "$BIN" worker --exit-when-idle
expect_out "worker: removed stale temporary folder $parent/\.tmp-$gone-1-killed"
[[ ! -e "$parent/.tmp-$gone-1-killed" && ! -e "$parent/.tmp-$alive-1-reused" ]] || fail "worker start left stale folders"
kept "worker start"
ok "trademl worker removes them at start"

stale_set
start_server --no-workers
[[ ! -e "$parent/.tmp-$gone-1-killed" && ! -e "$parent/.tmp-$alive-1-reused" ]] || fail "daemon start left stale folders"
kept "daemon start"
stop_server TERM
expect_exit 0 "$BIN" models check
ok "trademl serve removes them at start; the live and young folders survive all three"
finish
