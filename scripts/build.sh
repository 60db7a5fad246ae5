#!/usr/bin/env bash
# Configures and builds one flavour: scripts/build.sh [release|asan] -> build/ or build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=$(nproc)
case "$flavour" in
  release) dir=build; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; extra=(-DCMAKE_BUILD_TYPE=Debug -DTML_SANITIZE=ON) ;;
  *) echo "unknown flavour '$flavour' (release|asan)" >&2; exit 2 ;;
esac
werror=OFF
[[ -n "${CI:-}" || -n "${TML_WERROR:-}" ]] && werror=ON
cmake -S . -B "$dir" -DTML_WERROR=$werror "${extra[@]}" >/dev/null
# Progress lines are noise; warnings and errors are not. Fail when the build fails.
if ! cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
  grep -vE '^\[ *[0-9]+%\]' "$dir/build.log" >&2
  echo "build ($flavour) failed; full log in $dir/build.log" >&2
  exit 1
fi
grep -E 'warning:' "$dir/build.log" >&2 || true
