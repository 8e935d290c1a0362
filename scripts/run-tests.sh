#!/usr/bin/env bash
# Runs every test file with node's test runner (tsx for TypeScript). Arguments narrow the set:
#   scripts/run-tests.sh test/unit            # a folder
#   scripts/run-tests.sh test/unit/errors.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
roots=("$@")
[ ${#roots[@]} -gt 0 ] || roots=(test)
mapfile -t files < <(find "${roots[@]}" -name '*.test.ts' -type f | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files under ${roots[*]}" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-300000}" \
  --test-reporter=spec "${files[@]}"
