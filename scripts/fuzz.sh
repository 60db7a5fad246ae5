#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz (docs/fuzzing.md), built with clang under ASan + UBSan in build-fuzz/.
#   scripts/fuzz.sh [target...]           build, then run every target (or the named ones: cron, import,
#                                         ...) for a short fixed budget: what scripts/test.sh runs
#                                         (TML_FUZZ_SECONDS per target, default 12)
#   scripts/fuzz.sh --soak SECONDS [T..]  run each target (or only the named ones) for SECONDS, keeping
#                                         the grown corpus in build-fuzz/corpus/<target> between soaks
#   scripts/fuzz.sh --build               only build
# A crash, leak, sanitizer report, timeout (> 10 s on one input) or out-of-memory fails the run; the
# input that did it is saved under build-fuzz/findings/<target>/ and the run exits 1. Reproduce one
# with `build-fuzz/tests/fuzz/fuzz_<target> build-fuzz/findings/<target>/crash-...`.
# The last line per target ("fuzz <target>: N inputs in S s") is what docs/fuzzing.md records.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=ci
seconds=${TML_FUZZ_SECONDS:-12}
case "${1:-}" in
  --soak) mode=soak; seconds=${2:?"usage: scripts/fuzz.sh --soak SECONDS [target...]"}; shift 2 ;;
  --build) mode=build; shift ;;
  -*) echo "usage: scripts/fuzz.sh [target...] | --soak SECONDS [target...] | --build" >&2; exit 2 ;;
esac
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz: SECONDS must be a positive whole number, got '$seconds'" >&2; exit 2; }
command -v clang >/dev/null || { echo "fuzz: clang is missing: run scripts/setup.sh --test" >&2; exit 1; }

dir=build-fuzz
werror=OFF
[[ -n "${CI:-}" || -n "${TML_WERROR:-}" ]] && werror=ON
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DTML_FUZZ=ON -DTML_WERROR=$werror >/dev/null
if ! nice cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
  grep -vE '^\[ *[0-9]+%\]' "$dir/build.log" >&2
  echo "fuzz: build failed; full log in $dir/build.log" >&2
  exit 1
fi
grep -E 'warning:' "$dir/build.log" >&2 || true
[[ $mode == build ]] && exit 0

targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    targets+=("${t#fuzz_}")
  done
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  exe=$dir/tests/fuzz/fuzz_$t
  seeds=tests/fuzz/corpus/$t
  [[ -x $exe ]] || { echo "fuzz: no target '$t' (tests/fuzz/fuzz_$t.c)" >&2; status=1; continue; }
  [[ -d $seeds ]] || { echo "fuzz: no seed corpus $seeds (tests/fuzz/make-corpus.sh)" >&2; status=1; continue; }
  # The first corpus folder receives the new inputs; the committed seeds are only read.
  if [[ $mode == soak ]]; then
    corpus=$dir/corpus/$t
  else
    corpus=$dir/run/$t
    rm -rf "$corpus"
  fi
  findings=$dir/findings/$t
  scratch=$dir/tmp/$t
  mkdir -p "$corpus" "$findings" "$scratch"
  log=$dir/fuzz-$t.log
  max_len=4096
  case $t in import|import_gz|modelset|nn_model) max_len=16384 ;; esac
  # Dictionaries (tests/fuzz/dict/): the target's own, else the shared JSON one for JSON inputs.
  dict=()
  case $t in queue) d=json ;; *) d=$t ;; esac
  [[ -f tests/fuzz/dict/$d.dict ]] && dict=(-dict="tests/fuzz/dict/$d.dict")
  rc=0
  TMPDIR=$PWD/$scratch nice "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
    "${dict[@]}" -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
  rm -rf "$scratch"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  if ((rc != 0)); then
    status=1
    echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} inputs; input saved in $findings/, log $log:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==|Test unit written' "$log" | head -20 >&2
  else
    echo "fuzz $t: ${runs:-?} inputs in ${secs:-$seconds} s, corpus $(find "$corpus" -type f | wc -l) + $(find "$seeds" -type f | wc -l) seeds, no findings"
  fi
done
exit $status
