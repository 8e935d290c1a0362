#!/usr/bin/env bash
# Installs the test peers we did not write into .cache/bin (idempotent; `make tools`):
#   grpcurl — from the Go module proxy, to prove reflection, health and Invoke work with a
#             client that is not ours (test/e2e/api-grpcurl.test.ts).
#   helm    — from the Go module proxy, to lint and render helm/aerodb-functions (test/e2e/helm-chart.test.ts).
#   kcat    — Debian's librdkafka client, to prove our topics hold plain Kafka records
#             (test/e2e/pipeline-kcat.test.ts).
#   chromium — Debian's browser, driven by playwright-core to test the /topology page
#             (test/e2e/topology-page.test.ts; AEROFN_CHROMIUM overrides /usr/bin/chromium).
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

# A browser of your own in AEROFN_CHROMIUM is used as it is; otherwise Debian's at /usr/bin/chromium.
if [ -z "${AEROFN_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium from Debian's packages (for test/e2e/topology-page.test.ts) …"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-tools: Go is needed to build grpcurl from the Go module proxy; install Go 1.22+ (https://go.dev/dl/) and run make tools again." >&2
  exit 1
fi
# go_tool NAME MODULE/CMD VERSION: `go install` into .cache/bin once per version. Builds report
# "dev build" as their version, so a stamp file records what we built.
go_tool() {
  local name="$1" package="$2" version="$3" stamp="$bin/$1.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    echo "$name $version already in .cache/bin"
    return
  fi
  echo "installing $name $version from the Go module proxy into .cache/bin (a first build takes a few minutes) …"
  GOBIN="$bin" GOFLAGS=-mod=mod go install "$package@$version"
  echo "$version" >"$stamp"
}

go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
go_tool helm helm.sh/helm/v3/cmd/helm "${HELM_VERSION:-v3.22.0}"
