#!/usr/bin/env bash
# Generates src/gen/ from proto/ with buf + ts-proto (both from node_modules; no network).
#   scripts/gen-proto.sh           regenerate src/gen/          (make proto)
#   scripts/gen-proto.sh --check   fail when src/gen/ is stale  (make lint)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
# buf keeps a cache in $HOME; keep it inside the checkout so the script works with a read-only home.
export BUF_CACHE_DIR="${BUF_CACHE_DIR:-$PWD/.cache/buf}"

mode="${1:-generate}"
case "$mode" in
  generate|--check) ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

buf lint
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
buf generate --template buf.gen.yaml -o "$tmp"

if [ "$mode" = "--check" ]; then
  if ! diff -r "$tmp/src/gen" src/gen >"$tmp/diff.txt" 2>&1; then
    cat "$tmp/diff.txt" >&2
    echo "src/gen/ is stale against proto/: run \`make proto\` and commit src/gen/." >&2
    exit 1
  fi
  echo "src/gen/ is up to date with proto/"
  exit 0
fi
rm -rf src/gen
mkdir -p src/gen
cp -r "$tmp/src/gen/." src/gen/
echo "generated $(find src/gen -name '*.ts' | wc -l) files in src/gen/"
