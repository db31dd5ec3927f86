#!/usr/bin/env bash
# Local test servers without Docker: Redis, Apache Kafka (KRaft) and a MongoDB
# wire-protocol server, and for the CDC path (`up cdc`) PostgreSQL and Kafka Connect
# with Debezium, all bound to 127.0.0.1 only. One file per server in scripts/services/.
#
# Usage: scripts/services.sh up     [NAME...] [--keep-data]   install what is missing, start, await readiness
#        scripts/services.sh down   [NAME...]                 stop (SIGTERM, then SIGKILL after ~15 s)
#        scripts/services.sh status                           one line per server
#        scripts/services.sh env                              shell-sourceable connection variables
#        scripts/services.sh logs   [NAME...]                 tail of every server log (LOG_LINES, default 50)
#        scripts/services.sh browser                          install Debian's chromium if missing; print its path
#   NAME is redis, kafka, mongo (aliases: ferretdb, mongodb), postgres or connect; cdc = postgres connect;
#   redis-cluster (6 nodes: 3 masters, 3 replicas) or kafka-cluster (3 KRaft brokers); cluster = both.
#   up             starts redis, kafka and mongo where not running (the CDC servers only when named); Kafka/Mongo storage is formatted only when
#                  their data dir does not exist. After Kafka is ready the app topics are created.
#   up NAME        restarts just NAME with fresh storage; with --keep-data the Kafka log dirs /
#                  FerretDB SQLite files are kept (fault tests restarting the broker). Redis keeps
#                  nothing by design (no persistence).
#   down           stops everything this script started (by pid, never by name) and removes the run dirs.
#   down NAME      stops just NAME and keeps its data dir, so that `up NAME --keep-data` (or plain `up`)
#                  can bring it back with its data.
#   env NAME...    the variables of just those servers (`env cluster`: REDIS_CLUSTER_NODES, KAFKA_BROKERS
#                  of the 3 brokers and KAFKA_REPLICATION_FACTOR=3).
#   Example: set -a; . <(scripts/services.sh env); set +a
#
# Ports (env overrides): Redis 61379 (UAS_REDIS_PORT), Kafka broker 61092 (UAS_KAFKA_PORT),
#   Kafka controller 61093 (UAS_KAFKA_CONTROLLER_PORT), MongoDB wire 61017 (UAS_MONGO_PORT),
#   PostgreSQL 61432 (UAS_POSTGRES_PORT), Kafka Connect REST 61083 (UAS_CONNECT_PORT; needs Kafka up;
#   UAS_CONNECT_OFFSET_FLUSH_MS, default 10000, is how often it records how far it has sent).
#   Clusters: Redis nodes 61400-61405 (UAS_CLUSTER_REDIS_PORT, the first), their cluster bus 61410-61415
#   (UAS_CLUSTER_REDIS_BUS_PORT), failover after 2000 ms of silence (UAS_CLUSTER_REDIS_NODE_TIMEOUT);
#   Kafka brokers 61100-61102 (UAS_CLUSTER_KAFKA_PORT), controllers 61110-61112
#   (UAS_CLUSTER_KAFKA_CONTROLLER_PORT), heap 384m each (UAS_CLUSTER_KAFKA_HEAP). A cluster always
#   starts empty (no --keep-data).
#   Every default lies above Linux's ephemeral range (32768-60999): inside it, any outgoing connection
#   (the broker's own to its controller, say) may hold a server's port as its local end, and the server
#   then cannot bind it.
# Mongo server: FerretDB v1.24.2 (SQLite backend, built from the Go module proxy); if it cannot be
#   built here, de.bwaldvogel:mongo-java-server:1.47.0 (in-memory) from Maven Central.
#   UAS_MONGO_SERVER=ferretdb|mongo-java-server forces one. `status`/`env` say which one runs.
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/user-activity-subgraph (jars, ferretdb binary, compiled
#   helpers; kept across runs). Run dir: ${UAS_RUN_DIR:-<repo>/.run/services}/<name>/ holds pid,
#   data and logs of each server.
# Telemetry is off: APOLLO_TELEMETRY_DISABLED=1 and DO_NOT_TRACK=1 are exported to every process,
#   and FerretDB runs with --telemetry=disable.
set -euo pipefail
set +m # background servers stay plain children: $! is the server's own pid

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/user-activity-subgraph
RUN=${UAS_RUN_DIR:-$REPO/.run/services}
HOST=127.0.0.1
REDIS_PORT=${UAS_REDIS_PORT:-61379}
KAFKA_PORT=${UAS_KAFKA_PORT:-61092}
KAFKA_CONTROLLER_PORT=${UAS_KAFKA_CONTROLLER_PORT:-61093}
MONGO_PORT=${UAS_MONGO_PORT:-61017}
POSTGRES_PORT=${UAS_POSTGRES_PORT:-61432}
CONNECT_PORT=${UAS_CONNECT_PORT:-61083}
KAFKA_VERSION=3.9.1
FERRETDB_VERSION=v1.24.2
MJS_VERSION=1.47.0
# name:partitions, created idempotently after Kafka is ready
KAFKA_TOPICS=${UAS_KAFKA_TOPICS:-"user-activity:3 user-activity.retry:3 user-activity.dlq:1 user-profile:3 user-feature-updates:3"}
SERVERS=(redis kafka mongo)         # what a plain `up` starts
ALL_SERVERS=(redis kafka mongo postgres connect redis-cluster kafka-cluster) # what `down` and `status` cover
export APOLLO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

# One file per server, below scripts/services/; common.sh first.
# shellcheck source=/dev/null
for f in common redis kafka mongo cdc cluster; do . "$SCRIPT_DIR/services/$f.sh"; done

# ---------------------------------------------------------------- commands

cmd_up() {
  local explicit=$1 keep=$2 t0 s
  shift 2
  t0=$(now_ms)
  install_for "$@"
  for s in "$@"; do
    # shellcheck disable=SC2046 # one word per node
    if ((explicit)); then stop_servers $(members "$s"); elif server_pid "$s" >/dev/null; then continue; fi
    is_cluster "$s" && log "starting $s" || log "starting $s on $HOST:$(port_of "$s")"
    case $s in
      redis-cluster | kafka-cluster) "start_$s" ;;
      redis) start_redis ;;
      kafka) start_kafka "$((explicit ? keep : 1))" ;;
      mongo) start_mongo "$((explicit ? keep : 1))" ;;
      postgres) start_postgres "$((explicit ? keep : 1))" ;;
      connect)
        kafka_ready || die "connect needs Kafka: run '$0 up' first"
        start_connect "$((explicit ? keep : 1))"
        ;;
    esac
  done
  for s in "$@"; do
    case $s in
      redis) await redis 20 redis_ready ;;
      mongo) await mongo 30 mongo_ready ;;
      kafka) await kafka 120 kafka_ready && write_tools_log4j && create_topics ;;
      postgres) await postgres 60 postgres_ready && init_legacy_db ;;
      connect) await connect 180 connect_ready ;;
      redis-cluster | kafka-cluster)
        "await_$s"
        log "$s ready ($(cluster_env "$s" | head -n 1))"
        continue
        ;;
    esac
    log "$s ready (pid $(server_pid "$s"), $HOST:$(port_of "$s")$([[ $s == mongo ]] && echo ", $(<"$RUN/mongo/impl")"))"
  done
  log "up: $* ready in $(awk -v ms=$(($(now_ms) - t0)) 'BEGIN { printf "%.1f", ms / 1000 }') s"
}

cmd_down() {
  local all=$1 s
  shift
  # shellcheck disable=SC2046 # one word per node
  stop_servers $(for s in "$@"; do members "$s"; done)
  for s in "$@"; do
    if ((all)); then rm -rf "${RUN:?}/$s"; fi
  done
  if ((all)) && rmdir "$RUN" 2>/dev/null && [[ -z ${UAS_RUN_DIR:-} ]]; then rmdir "$REPO/.run" 2>/dev/null || true; fi
}

cmd_status() {
  local s pid state extra
  for s in "${ALL_SERVERS[@]}"; do
    if is_cluster "$s"; then cluster_status "$s" && continue; fi
    if pid=$(server_pid "$s"); then state=running; else state=stopped pid=-; fi
    extra=""
    [[ $state == running ]] && extra=" process=$(ps -o comm= -p "$pid" 2>/dev/null || echo '?')"
    [[ $s == mongo ]] && extra+=" ($(mongo_impl_running))"
    printf '%-8s %-8s pid=%-8s %s:%s%s\n' "$s" "$state" "$pid" "$HOST" "$(port_of "$s")" "$extra"
  done
}

cmd_env() {
  local s
  if (($#)); then
    for s in "$@"; do
      case $s in
        redis) echo "REDIS_URL=redis://$HOST:$REDIS_PORT" ;;
        kafka) echo "KAFKA_BROKERS=$HOST:$KAFKA_PORT" ;;
        mongo) echo "MONGO_URL=mongodb://$HOST:$MONGO_PORT" && echo "MONGO_SERVER=$(mongo_impl_running)" ;;
        postgres) echo "POSTGRES_URL=postgres://postgres@$HOST:$POSTGRES_PORT/legacy" ;;
        connect) echo "KAFKA_CONNECT_URL=http://$HOST:$CONNECT_PORT" ;;
        *) cluster_env "$s" ;;
      esac
    done
    echo "APOLLO_TELEMETRY_DISABLED=1"
    echo "DO_NOT_TRACK=1"
    return
  fi
  echo "REDIS_URL=redis://$HOST:$REDIS_PORT"
  echo "KAFKA_BROKERS=$HOST:$KAFKA_PORT"
  echo "MONGO_URL=mongodb://$HOST:$MONGO_PORT"
  echo "MONGO_SERVER=$(mongo_impl_running)"
  echo "POSTGRES_URL=postgres://postgres@$HOST:$POSTGRES_PORT/legacy"
  echo "KAFKA_CONNECT_URL=http://$HOST:$CONNECT_PORT"
  echo "APOLLO_TELEMETRY_DISABLED=1"
  echo "DO_NOT_TRACK=1"
}

cmd_logs() {
  local s m
  for s in "$@"; do for m in $(members "$s"); do show_logs "$m"; done; done
}

main() {
  local cmd=${1:-} keep=0 names=() a
  [[ -n $cmd ]] && shift
  for a in "$@"; do
    case $a in
      --keep-data) keep=1 ;;
      -*) die "unknown option $a" ;;
      cdc) names+=(postgres connect) ;;
      cluster) names+=(redis-cluster kafka-cluster) ;;
      redis-cluster | kafka-cluster) names+=("$a") ;;
      *) names+=("$(canon "$a")") ;;
    esac
  done
  local explicit=$((${#names[@]} > 0))
  ((explicit)) || names=("${SERVERS[@]}")
  case $cmd in
    up) cmd_up "$explicit" "$keep" "${names[@]}" ;;
    down) if ((explicit)); then cmd_down 0 "${names[@]}"; else cmd_down 1 "${ALL_SERVERS[@]}"; fi ;;
    status) cmd_status ;;
    env) if ((explicit)); then cmd_env "${names[@]}"; else cmd_env; fi ;;
    logs) cmd_logs "${names[@]}" ;;
    browser) ensure_chromium ;;
    *)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
