#!/usr/bin/env bash
# Regenerates the key table at the end of docs/config.md from `trademl config keys --markdown`
# (e2e.config_cli fails when the two differ).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TRADEML_BIN:-build/trademl}
head=$(sed -n '1,/^| key | type |/p' docs/config.md | sed '$d')
{ printf '%s\n' "$head"; "$bin" config keys --markdown; } > docs/config.md.tmp
mv docs/config.md.tmp docs/config.md
