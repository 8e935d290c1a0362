#!/usr/bin/env bash
# `make run` (after `make build`): starts `aerofn serve` on the embedded defaults (event log and
# PGlite in ./data), with a development JWT secret kept in ./data/dev-secret, deploys the examples
# and prints commands to try them. Stays in the foreground; Ctrl-C stops the server (drained).
set -euo pipefail
cd "$(dirname "$0")/.."

export AEROFN_DATA_DIR="${AEROFN_DATA_DIR:-./data}"
export AEROFN_HTTP_PORT="${AEROFN_HTTP_PORT:-8080}"
export AEROFN_GRPC_PORT="${AEROFN_GRPC_PORT:-50051}"
export AEROFN_INIT_SQL="${AEROFN_INIT_SQL:-sdk/assemblyscript/examples/notes/schema.sql}"
export AEROFN_LOG_LEVEL="${AEROFN_LOG_LEVEL:-info}"
http="http://127.0.0.1:${AEROFN_HTTP_PORT}"
grpc="127.0.0.1:${AEROFN_GRPC_PORT}"
# Through its shebang, so the service starts with the Node flags the installed command has.
aerofn=(bin/aerofn.js)

if [ ! -f dist/main.js ]; then
  echo "run-dev: dist/ is missing; run \`make run\` (it builds first) or \`make build\`." >&2
  exit 1
fi
for example in hello on-note-insert tick notes; do
  if [ ! -f "sdk/assemblyscript/build/${example}.wasm" ]; then
    echo "run-dev: sdk/assemblyscript/build/${example}.wasm is missing; run \`make build-wasm\`." >&2
    exit 1
  fi
done

# A development secret, made once and kept with the data so tokens survive restarts.
mkdir -p "$AEROFN_DATA_DIR"
secret_file="$AEROFN_DATA_DIR/dev-secret"
if [ ! -s "$secret_file" ]; then
  (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))' >"$secret_file")
  echo "run-dev: generated a development JWT secret in $secret_file"
fi
export AEROFN_JWT_SECRET="${AEROFN_JWT_SECRET:-$(cat "$secret_file")}"

if curl -fsS -o /dev/null "$http/healthz" 2>/dev/null; then
  echo "run-dev: something already answers on $http; stop it or set AEROFN_HTTP_PORT / AEROFN_GRPC_PORT." >&2
  exit 1
fi

log_file="$AEROFN_DATA_DIR/aerofn.log"
# Logs go to the file, so the commands printed below stay readable (tail -f it to watch).
"${aerofn[@]}" serve >>"$log_file" 2>&1 &
server=$!
# Ctrl-C in a terminal signals the whole foreground group, the server included, so on INT we
# only wait for its drain (forwarding a second signal would make it exit without draining);
# a TERM sent to this script alone is passed on.
stop() {
  trap - INT TERM
  echo
  echo "run-dev: stopping the server (draining in-flight work)…"
  if [ "$1" = TERM ]; then kill -TERM "$server" 2>/dev/null || true; fi
  wait "$server" 2>/dev/null || true
  exit 0
}
trap 'stop INT' INT
trap 'stop TERM' TERM

printf 'run-dev: waiting for %s/readyz ' "$http"
for _ in $(seq 1 240); do
  if curl -fsS -o /dev/null "$http/readyz" 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo; echo "run-dev: the server exited during start; see $log_file" >&2
    wait "$server" || true
    exit 1
  fi
  printf '.'
  sleep 0.5
done
echo
if ! curl -fsS -o /dev/null "$http/readyz"; then
  echo "run-dev: the server did not become ready in 120 s; see $log_file" >&2
  kill -TERM "$server"; wait "$server" || true
  exit 1
fi

# Ready tokens: Supabase's anon and service_role keys, and a signed-in user for the notes example.
read -r anon service_role user_token user_id < <(node --input-type=module -e '
  import { randomUUID } from "node:crypto";
  const { mintToken } = await import("./dist/auth/index.js");
  const secret = process.env.AEROFN_JWT_SECRET;
  const day = 24 * 3600;
  const sub = "00000000-0000-4000-8000-000000000001";
  const tokens = await Promise.all([
    mintToken({ secret, role: "anon", expiresInSeconds: day }),
    mintToken({ secret, role: "service_role", expiresInSeconds: day }),
    mintToken({ secret, role: "authenticated", sub, expiresInSeconds: day }),
  ]);
  console.log([...tokens, sub].join(" "));
')
export AEROFN_URL="$grpc" AEROFN_TOKEN="$service_role"
# grpcurl as `make tools` installs it, else whatever is on PATH.
grpcurl=grpcurl
if [ -x .cache/bin/grpcurl ]; then grpcurl=.cache/bin/grpcurl; fi

for example in hello notes on-note-insert tick; do
  "${aerofn[@]}" deploy "sdk/assemblyscript/examples/$example"
done

cat <<EOF2

AeroDB Functions is running: REST $http, gRPC $grpc, data in $AEROFN_DATA_DIR (log: $log_file).
Tokens below are valid for 24 h (secret in $secret_file).

  export AEROFN_URL=$grpc
  export AEROFN_TOKEN=$service_role   # service_role
  ANON=$anon
  USER_TOKEN=$user_token   # role authenticated, sub $user_id

HTTP hello (no JWT needed):
  curl -s $http/functions/v1/hello -H 'content-type: application/json' -d '{"name":"Ada"}'
  $grpcurl -plaintext -d '{"name":"hello","payload":"{\"name\":\"Ada\"}"}' $grpc aerodb.functions.v1.Functions/Invoke
  node bin/aerofn.js invoke hello '{"name":"Ada"}'

Notes under row-level security (the insert also fires the database trigger of on-note-insert):
  curl -s $http/functions/v1/notes -H "authorization: Bearer \$USER_TOKEN" -H 'content-type: application/json' -d '{"body":"first note"}'
  curl -s "$http/functions/v1/on-note-insert/invocations?limit=5" -H "authorization: Bearer \$AEROFN_TOKEN"

Replay (runs again from their journals, compared with their records; docs/replay.md):
  node bin/aerofn.js replay notes                      # each run against its own version: match / diverged
  node bin/aerofn.js replay on-note-insert --against current

Scheduled (tick runs every minute, "* * * * *" in UTC, as the service role; docs/scheduler.md):
  curl -s "$http/functions/v1/tick/invocations?limit=5" -H "authorization: Bearer \$AEROFN_TOKEN"   # its runs, newest first (the first one at the next full minute)
  curl -s $http/metrics | grep aerofn_schedule
  node bin/aerofn.js get tick

Look around:
  node bin/aerofn.js ls
  node bin/aerofn.js registry history
  node bin/aerofn.js topology
  $http/topology          # open in a browser: the live stream-topology page (docs/topology.md)
  curl -s $http/metrics | grep aerofn_
  $grpcurl -plaintext $grpc list          # no grpcurl? \`make tools\` puts it in .cache/bin

Server logs: tail -f $log_file
Ctrl-C stops the server.
EOF2

wait "$server"
