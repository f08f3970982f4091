#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft) for local runs and tests, without Docker.
# The broker is the official org.apache.kafka:kafka_2.13 artifact from Maven Central, run with the machine's Java 17.
#   kafka.sh fetch|start|stop|status
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="${CIVICLOOP_RUN_DIR:-$root/.run}/kafka"
port="${CIVICLOOP_KAFKA_PORT:-21092}"
controller_port="${CIVICLOOP_KAFKA_CONTROLLER_PORT:-21093}"
# Clients are told to connect here; a fault test points it at a TCP proxy in front of the listener.
advertised_port="${CIVICLOOP_KAFKA_ADVERTISED_PORT:-$port}"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")"
libs="${CIVICLOOP_KAFKA_LIBS:-$run/libs-$version}"

log() { echo "kafka: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch() {
  if [ -f "$libs/.complete" ]; then return; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch Kafka"; exit 1; }
  command -v java >/dev/null || { log "Java 17 is required to run Kafka"; exit 1; }
  log "fetching org.apache.kafka:kafka_2.13:$version and its runtime dependencies from Maven Central"
  mkdir -p "$libs"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$libs" >"$run/mvn.log" 2>&1 \
    || { cat "$run/mvn.log" >&2; log "Maven could not fetch Kafka"; exit 1; }
  touch "$libs/.complete"
}

write_config() {
  cat >"$run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$advertised_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$run/data
num.partitions=6
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# The log is the record of truth: nothing expires.
log.retention.ms=-1
log.retention.bytes=-1
PROPS
}

pid_alive() { [ -f "$run/kafka.pid" ] && kill -0 "$(cat "$run/kafka.pid")" 2>/dev/null; }

start() {
  mkdir -p "$run"
  fetch
  if pid_alive && port_open "$port"; then log "already running on 127.0.0.1:$port"; return; fi
  if pid_alive && ! grep -q "^listeners=PLAINTEXT://127.0.0.1:$port," "$run/server.properties" 2>/dev/null; then
    # Started with other ports (an older default, say): a second broker on the same data would not start.
    log "the broker of this run directory (pid $(cat "$run/kafka.pid")) listens elsewhere ($(sed -n 's/^listeners=//p' "$run/server.properties")); stop it first: $0 stop"
    exit 1
  fi
  if port_open "$port"; then
    # Another checkout's broker (tests isolate themselves with topic prefixes): use it rather than fail.
    log "a broker of another run directory already listens on 127.0.0.1:$port; using it"; return
  fi
  write_config
  local cp="$libs/*"
  if [ ! -f "$run/data/meta.properties" ]; then
    mkdir -p "$run/data"
    local cluster_id
    cluster_id="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    java -cp "$cp" kafka.tools.StorageTool format -t "$cluster_id" -c "$run/server.properties" >"$run/format.log" 2>&1 \
      || { cat "$run/format.log" >&2; exit 1; }
    log "formatted storage (cluster $cluster_id)"
  fi
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
      -cp "$cp" kafka.Kafka "$run/server.properties" >"$run/kafka.log" 2>&1 &
  echo $! >"$run/kafka.pid"
  # Wait for the broker, not for a fixed time: the listener opens once the broker is registered.
  for _ in $(seq 1 240); do
    if port_open "$port"; then log "up on 127.0.0.1:$port (Kafka $version, KRaft)"; return; fi
    pid_alive || { tail -n 40 "$run/kafka.log" >&2; log "broker exited during start"; exit 1; }
    sleep 0.25
  done
  tail -n 40 "$run/kafka.log" >&2; log "broker did not open its port within 60 s"; exit 1
}

stop() {
  if pid_alive; then
    local pid; pid="$(cat "$run/kafka.pid")"
    kill "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped"
  fi
  rm -f "$run/kafka.pid"
}

status() { if pid_alive && port_open "$port"; then echo "kafka: up on 127.0.0.1:$port"; else echo "kafka: down"; return 1; fi; }

case "${1:-}" in
  fetch) mkdir -p "$run"; fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
