# Shared helpers for e2e scripts: sourced, not run. Each script gets a fresh state folder in $HOME_DIR,
# fails loudly with the command and its output, and skips (exit 77) when the real data is missing.
set -euo pipefail
BIN=${TRADEML_BIN:?TRADEML_BIN must point to the trademl binary}
SRC=${TML_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
DATA=${TRADEML_DATA_DIR:-$SRC/../shared/data}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tml-e2e.XXXXXX")
export TRADEML_HOME=$WORK/home
export OMP_WAIT_POLICY=passive
# train/validate/worker print a "progress: ..." line on stderr every logging.progress_seconds when it is
# not a terminal; expect_exit captures stderr with stdout, so keep those lines out of $OUT unless a
# test asks for them (tests/e2e/numbers_cli.sh sets 1).
export TRADEML_LOGGING_PROGRESS_SECONDS=${TRADEML_LOGGING_PROGRESS_SECONDS:-3600}
cleanup() { chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
PASSED=0

need_data() {
  for f in "$@"; do
    [[ -e "$DATA/$f" ]] || { echo "SKIP: real data file $DATA/$f is missing (set TRADEML_DATA_DIR)"; exit 77; }
  done
}
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
# expect_exit CODE CMD...: runs CMD, stores output in $OUT, fails unless it exits with CODE.
expect_exit() {
  local want=$1; shift
  set +e
  OUT=$("$@" 2>&1)
  local got=$?
  set -e
  [[ $got -eq $want ]] || fail "expected exit $want, got $got from: $*
$OUT"
}
# expect_out PATTERN: the last command's output must match the extended regex.
expect_out() { grep -Eq -- "$1" <<<"$OUT" || fail "output does not match /$1/:
$OUT"; }
finish() { echo "$PASSED passed, 0 failed"; }
