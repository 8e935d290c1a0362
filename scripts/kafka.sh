#!/usr/bin/env bash
# The test broker: Apache Kafka 3.9 as one combined KRaft node on 127.0.0.1, fetched from Maven
# Central (no Docker here). Everything lives in .cache/kafka/ (gitignored); the jars are reused.
#   bash scripts/kafka.sh up       # fetch once, format, start, wait until it answers (no-op if it does)
#   bash scripts/kafka.sh down     # stop the broker we started and remove its data
#   bash scripts/kafka.sh status   # exit 0 when the port answers
# Settings: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_START_TIMEOUT_S (90),
#           KAFKA_HEAP_OPTS (-Xms256m -Xmx1g).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/scripts/kafka/pom.xml")"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
CACHE="$ROOT/.cache/kafka"
JARS="$CACHE/jars"
JARS_DONE="$JARS/.complete-$KAFKA_VERSION"
RUN="$CACHE/run-$PORT"            # per-port so two brokers on different ports can coexist
DATA="$RUN/data"
PROPS="$RUN/server.properties"
PID_FILE="$RUN/kafka.pid"
TIMEOUT_S="${KAFKA_START_TIMEOUT_S:-90}"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

log_tail() {
  echo "--- last lines of $RUN/server.log ---" >&2
  tail -n 40 "$RUN/server.log" 2>/dev/null >&2 || true
  echo "--- last lines of $RUN/stdout.log ---" >&2
  tail -n 20 "$RUN/stdout.log" 2>/dev/null >&2 || true
}

fetch_jars() {
  if [ -f "$JARS_DONE" ]; then return; fi
  command -v java >/dev/null || { echo "kafka.sh: java not found; install a JDK 17 (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "kafka.sh: mvn not found; install Maven (apt-get install maven)" >&2; exit 1; }
  echo "kafka.sh: fetching Apache Kafka $KAFKA_VERSION and its runtime jars from Maven Central into $JARS"
  rm -rf "$JARS" && mkdir -p "$JARS"
  mvn -q -B -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$JARS"
  touch "$JARS_DONE"
}

java_args() {
  local heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
  # shellcheck disable=SC2206
  JAVA_ARGS=($heap -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$ROOT/scripts/kafka/log4j.properties" "-Dkafka.logs.dir=$RUN"
    -cp "$JARS/*")
}

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

up() {
  if answers "$PORT"; then
    echo "kafka.sh: 127.0.0.1:$PORT already answers; leaving it as it is"
    return 0
  fi
  if pid="$(running_pid)"; then
    echo "kafka.sh: broker pid $pid is starting; waiting for it"
  else
    fetch_jars
    mkdir -p "$RUN"
    rm -rf "$DATA"
    sed -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" -e "s|@DATA_DIR@|$DATA|g" \
      "$ROOT/scripts/kafka/server.properties.template" > "$PROPS"
    : > "$RUN/server.log"
    local cluster_id
    java_args
    cluster_id="$(java "${JAVA_ARGS[@]}" kafka.tools.StorageTool random-uuid | tail -n 1)"
    java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" > "$RUN/format.log" 2>&1 \
      || { echo "kafka.sh: formatting $DATA failed:" >&2; cat "$RUN/format.log" >&2; exit 1; }
    # setsid + nohup: the broker outlives this shell and the make target that started it.
    setsid nohup java "${JAVA_ARGS[@]}" kafka.Kafka "$PROPS" > "$RUN/stdout.log" 2>&1 < /dev/null &
    echo $! > "$PID_FILE"
    echo "kafka.sh: started Kafka $KAFKA_VERSION (pid $(cat "$PID_FILE")) on 127.0.0.1:$PORT, logs in $RUN"
  fi
  local deadline=$((SECONDS + TIMEOUT_S))
  until answers "$PORT" && grep -q "Kafka Server started" "$RUN/server.log" 2>/dev/null; do
    if ! running_pid >/dev/null; then
      echo "kafka.sh: the broker exited while starting" >&2; log_tail; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "kafka.sh: 127.0.0.1:$PORT did not answer within ${TIMEOUT_S}s (raise KAFKA_START_TIMEOUT_S or read the log)" >&2
      log_tail; exit 1
    fi
    sleep 0.5
  done
  echo "kafka.sh: 127.0.0.1:$PORT answers"
}

down() {
  if pid="$(running_pid)"; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then echo "kafka.sh: pid $pid ignored SIGTERM for 30 s; sending SIGKILL"; kill -9 "$pid" || true; fi
    echo "kafka.sh: stopped broker pid $pid"
  elif answers "$PORT"; then
    echo "kafka.sh: 127.0.0.1:$PORT answers but was not started by this script ($PID_FILE missing); leaving it" >&2
  else
    echo "kafka.sh: no broker running on 127.0.0.1:$PORT"
  fi
  rm -f "$PID_FILE"
  rm -rf "$DATA"
}

status() {
  if answers "$PORT"; then echo "kafka.sh: 127.0.0.1:$PORT answers"; exit 0; fi
  echo "kafka.sh: nothing answers on 127.0.0.1:$PORT"; exit 1
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: bash scripts/kafka.sh up|down|status" >&2; exit 2 ;;
esac
