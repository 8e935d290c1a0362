#!/usr/bin/env bash
# Installs the test peers we did not write into .cache/bin (idempotent; `make tools`):
#   grpcurl — from the Go module proxy, to prove reflection, health and Invoke work with a
#             client that is not ours (test/e2e/api-grpcurl.test.ts).
#   kcat    — Debian's librdkafka client, to prove our topics hold plain Kafka records
#             (test/e2e/pipeline-kcat.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
GRPCURL_VERSION="${GRPCURL_VERSION:-v1.9.3}"
bin="$PWD/.cache/bin"
mkdir -p "$bin"

# `go install` builds report "dev build" as their version, so a stamp file records what we built.
if ! command -v kcat >/dev/null 2>&1; then
  echo "installing kcat from Debian's packages …"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq kcat >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq kcat >/dev/null; }
fi

stamp="$bin/grpcurl.version"
if [ -x "$bin/grpcurl" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$GRPCURL_VERSION" ]; then
  echo "grpcurl ${GRPCURL_VERSION} already in .cache/bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-tools: Go is needed to build grpcurl from the Go module proxy; install Go 1.22+ (https://go.dev/dl/) and run make tools again." >&2
  exit 1
fi
echo "installing grpcurl ${GRPCURL_VERSION} from the Go module proxy into .cache/bin …"
GOBIN="$bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}"
echo "$GRPCURL_VERSION" >"$stamp"
echo "grpcurl ${GRPCURL_VERSION} installed in .cache/bin"
