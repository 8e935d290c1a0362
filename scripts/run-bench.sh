#!/usr/bin/env bash
# Runs every benchmark (bench/<name>/index.ts) one after another, or the ones named:
#   scripts/run-bench.sh invoke registry
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@")
if [ ${#names[@]} -eq 0 ]; then mapfile -t names < <(find bench -mindepth 2 -maxdepth 2 -name index.ts -printf '%h\n' | xargs -n1 basename | sort); fi
node_flags=$(sed -n '1s|^#!/usr/bin/env -S node||p' bin/aerofn.js)
for name in "${names[@]}"; do
  echo "=== bench/$name ==="
  # bench/api drives gRPC with ghz (Go, from the Go module proxy); without Go it skips those rows.
  if [ "$name" = api ]; then bash scripts/install-ghz.sh || true; fi
  # The product's Node flags, from the shebang of the command that starts it (bin/aerofn.js).
  node $node_flags --import tsx --import ./bench/use-compiled.mjs --expose-gc "bench/$name/index.ts"
done
