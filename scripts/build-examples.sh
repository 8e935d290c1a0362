#!/usr/bin/env bash
# Builds the AssemblyScript SDK examples into sdk/assemblyscript/build/<name>.wasm with asc from
# node_modules (`make build-wasm`). Outputs newer than their sources are kept; --force rebuilds all.
# Each module is checked against guest ABI v1 (exports memory/alloc/handler, imports only aerodb.*
# and env.abort) before it is put in place.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node sdk/assemblyscript/scripts/build.mjs "$@"
