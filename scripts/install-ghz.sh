#!/usr/bin/env bash
# Installs ghz (github.com/bojand/ghz, a gRPC load generator written in Go) into .cache/bin from
# the Go module proxy, for bench/api: a lean client, so that the load generator does not eat the
# CPU the server under test needs (the grpc-js client spends ~150 µs per call on the same cores).
# Idempotent; scripts/run-bench.sh runs it before bench/api. Without Go the bench skips the ghz rows.
set -euo pipefail
cd "$(dirname "$0")/.."
GHZ_VERSION="${GHZ_VERSION:-v0.120.0}"
bin="$PWD/.cache/bin"
stamp="$bin/ghz.version"
if [ -x "$bin/ghz" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$GHZ_VERSION" ]; then exit 0; fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-ghz: Go is needed to build ghz from the Go module proxy; install Go 1.22+ and rerun (bench/api skips the ghz rows meanwhile)." >&2
  exit 1
fi
mkdir -p "$bin"
echo "installing ghz $GHZ_VERSION from the Go module proxy into .cache/bin (a first build takes a minute or two) …" >&2
# `go install` builds report "dev build" as their version, so a stamp file records what we built.
GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
echo "$GHZ_VERSION" >"$stamp"
