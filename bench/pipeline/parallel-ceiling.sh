#!/usr/bin/env bash
# What a pipeline split over threads could reach on this machine, before anyone writes one:
# one embedded pipeline alone, then PARTIES pipelines in PARTIES processes (each its own log, change
# topic and sandbox workers) whose measured phases start together, alternating ROUNDS times.
# The aggregate is every process's events over the time from the first start to the last end.
#   bash bench/pipeline/parallel-ceiling.sh                      # 3 rounds, 2 processes of 1 sandbox worker each
#   ROUNDS=5 PARTIES=2 WORKERS=2 bash bench/pipeline/parallel-ceiling.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-3}
parties=${PARTIES:-2}
workers=${WORKERS:-1}
events=${BENCH_EVENTS:-100000}
node_flags=$(sed -n '1s|^#!/usr/bin/env -S node||p' bin/aerofn.js)
phase() { env PROFILE_WARMUP=1 BENCH_EVENTS="$events" "$@" node $node_flags --import tsx --import ./bench/use-compiled.mjs bench/pipeline/profile-phase.ts; }
rate() { grep -oE '^embedded, sandbox: [0-9]+' | grep -oE '[0-9]+$'; }
echo "embedded log, $events events per pipeline; alone: the configured sandbox workers; side by side: $parties processes of $workers worker(s)"
for round in $(seq "$rounds"); do
  alone=$(phase | rate)
  barrier=$(mktemp -d)
  outputs=()
  for party in $(seq "$parties"); do
    outputs+=("$barrier/out.$party")
    phase PROFILE_BARRIER="$barrier" PROFILE_PARTIES="$parties" PROFILE_WORKERS="$workers" >"$barrier/out.$party" 2>&1 &
  done
  wait
  together=$(cat "${outputs[@]}" | grep -oE 'phase: [0-9]+\.\.[0-9]+' | awk -F'[ .]+' -v n="$parties" -v e="$events" '
    { if (min == "" || $2 < min) min = $2; if ($3 > max) max = $3; count++ }
    END { if (count != n) { print "missing"; exit } printf "%d", n * e * 1000 / (max - min) }')
  each=$(cat "${outputs[@]}" | rate | paste -sd/ -)
  rm -rf "$barrier"
  if [ "$together" = missing ]; then echo "round $round: a side-by-side process failed"; exit 1; fi
  printf '[%s] round %d: alone %s events/s; side by side %s events/s in all (each %s), %.2f× alone\n' "$(date -u +%H:%M:%S)" "$round" "$alone" "$together" "$each" "$(awk -v a="$together" -v b="$alone" 'BEGIN { print a / b }')"
done
