#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the release and the ASan/UBSan flavours
# with -Werror, runs every ctest test in both, then every fuzz target for a short budget
# (scripts/fuzz.sh). Exit status is non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export TML_WERROR=1
export OMP_WAIT_POLICY=passive
status=0
for flavour in release asan; do
  echo "=== build ($flavour)"
  scripts/build.sh "$flavour"
  dir=build; [[ $flavour == asan ]] && dir=build-asan
  echo "=== test ($flavour)"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  if [[ $flavour == asan ]]; then
    # Heavy end-to-end and benchmark-sized tests run once, in the release build.
    ctest --test-dir "$dir" --output-on-failure -j2 -LE heavy || status=1
  else
    ctest --test-dir "$dir" --output-on-failure -j2 || status=1
  fi
done
# The libFuzzer targets for a short fixed budget each under ASan/UBSan (build-fuzz/, docs/fuzzing.md):
# a crash, leak or sanitizer report fails the suite.
echo "=== fuzz"
scripts/fuzz.sh || status=1
exit $status
