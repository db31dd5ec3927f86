#!/usr/bin/env bash
# Local test servers without Docker: Redis, Apache Kafka (KRaft) and a MongoDB
# wire-protocol server, all bound to 127.0.0.1 only.
#
# Usage: scripts/services.sh up     [NAME...] [--keep-data]   install what is missing, start, await readiness
#        scripts/services.sh down   [NAME...]                 stop (SIGTERM, then SIGKILL after ~15 s)
#        scripts/services.sh status                           one line per server
#        scripts/services.sh env                              shell-sourceable connection variables
#        scripts/services.sh logs   [NAME...]                 tail of every server log (LOG_LINES, default 50)
#        scripts/services.sh browser                          install Debian's chromium if missing; print its path
#   NAME is redis, kafka or mongo (aliases: ferretdb, mongodb).
#   up             starts the servers that are not running; Kafka/Mongo storage is formatted only when
#                  their data dir does not exist. After Kafka is ready the app topics are created.
#   up NAME        restarts just NAME with fresh storage; with --keep-data the Kafka log dirs /
#                  FerretDB SQLite files are kept (fault tests restarting the broker). Redis keeps
#                  nothing by design (no persistence).
#   down           stops everything this script started (by pid, never by name) and removes the run dirs.
#   down NAME      stops just NAME and keeps its data dir, so that `up NAME --keep-data` (or plain `up`)
#                  can bring it back with its data.
#   Example: set -a; . <(scripts/services.sh env); set +a
#
# Ports (env overrides): Redis 56379 (UAS_REDIS_PORT), Kafka broker 59092 (UAS_KAFKA_PORT),
#   Kafka controller 59093 (UAS_KAFKA_CONTROLLER_PORT), MongoDB wire 57017 (UAS_MONGO_PORT).
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
REDIS_PORT=${UAS_REDIS_PORT:-56379}
KAFKA_PORT=${UAS_KAFKA_PORT:-59092}
KAFKA_CONTROLLER_PORT=${UAS_KAFKA_CONTROLLER_PORT:-59093}
MONGO_PORT=${UAS_MONGO_PORT:-57017}
KAFKA_VERSION=3.9.1
FERRETDB_VERSION=v1.24.2
MJS_VERSION=1.47.0
# name:partitions, created idempotently after Kafka is ready
KAFKA_TOPICS=${UAS_KAFKA_TOPICS:-"user-activity:3 user-activity.retry:3 user-activity.dlq:1 user-profile:3 user-feature-updates:3"}
SERVERS=(redis kafka mongo)
export APOLLO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

log() { echo "[services] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }

# ---------------------------------------------------------------- helpers

canon() { # canonical server name
  case $1 in
    redis) echo redis ;;
    kafka) echo kafka ;;
    mongo | mongodb | ferretdb | mongo-java-server) echo mongo ;;
    *) die "unknown server '$1' (expected redis, kafka or mongo)" ;;
  esac
}

port_of() {
  case $1 in redis) echo "$REDIS_PORT" ;; kafka) echo "$KAFKA_PORT" ;; mongo) echo "$MONGO_PORT" ;; esac
}

tcp_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# pid of a server we started, if it is still alive. The server runs with its run dir (or a
# dir below it: redis chdirs to --dir) as cwd, so a recycled pid (someone else's process) is never mistaken for ours.
server_pid() {
  local dir=$RUN/$1 pid cwd
  [[ -f $dir/pid ]] || return 1
  pid=$(<"$dir/pid")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) && dir=$(cd "$dir" && pwd -P) || return 1
  [[ $cwd == "$dir" || $cwd == "$dir"/* ]] || return 1
  echo "$pid"
}

# launch NAME CMD...: start CMD in the background in RUN/NAME, stdout/stderr to stdout.log.
launch() {
  local name=$1 dir=$RUN/$1
  shift
  (cd "$dir" && exec "$@" </dev/null >>"$dir/stdout.log" 2>&1) &
  echo $! >"$dir/pid"
}

# await NAME SECONDS PROBE...: poll PROBE until it succeeds; fail if the server dies or time runs out.
await() {
  local name=$1 secs=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@"; do
    server_pid "$name" >/dev/null || fail "$name" "process exited before it was ready"
    ((SECONDS < deadline)) || fail "$name" "not ready after ${secs}s"
    sleep 0.2
  done
}

# fail NAME WHY: show NAME's logs, stop it (its run dir stays for inspection) and exit 1.
fail() {
  log "ERROR: $1: $2. Last log lines:"
  show_logs "$1" >&2
  stop_servers "$1"
  log "other servers are left as they are; run '$0 down' to stop everything"
  exit 1
}

show_logs() {
  local f
  for f in "$RUN/$1"/*.log "$RUN/$1"/logs/*.log; do
    [[ -s $f ]] || continue
    echo "==> $f <=="
    tail -n "${LOG_LINES:-50}" "$f"
  done
}

# stop NAME...: SIGTERM to each (only the pids from our pid files), poll until all have exited,
# SIGKILL whatever is left after ~15 s. Stopping in parallel keeps `down` as short as the slowest.
stop_servers() {
  local name pid i pids=()
  for name in "$@"; do
    if pid=$(server_pid "$name"); then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$RUN/$name/pid"
  done
  for ((i = 0; i < 75 && ${#pids[@]}; i++)); do
    for pid in "${!pids[@]}"; do kill -0 "${pids[pid]}" 2>/dev/null || unset "pids[pid]"; done
    ((${#pids[@]})) && sleep 0.2
  done
  for pid in "${pids[@]}"; do
    log "pid $pid did not stop within 15 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 25 && ${#pids[@]}; i++)); do
    for pid in "${!pids[@]}"; do kill -0 "${pids[pid]}" 2>/dev/null || unset "pids[pid]"; done
    ((${#pids[@]})) && sleep 0.2
  done
  return 0
}

# ---------------------------------------------------------------- installs (cached, idempotent)

as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  local logf=$CACHE/apt.log
  log "apt-get install $* (log $logf)"
  {
    if ((APT_UPDATED == 0)); then as_root apt-get update && APT_UPDATED=1; fi &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  } >"$logf" 2>&1 || { tail -n 30 "$logf" >&2; die "apt-get install $* failed"; }
}

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then apt_install redis-server redis-tools; fi
}

# Browser tests drive the system Chromium (playwright-core): no browser is downloaded.
ensure_chromium() {
  command -v chromium >/dev/null || apt_install chromium
  command -v chromium
}

ensure_jdk() {
  if ! command -v java >/dev/null || ! command -v javac >/dev/null; then apt_install openjdk-17-jdk-headless; fi
  command -v mvn >/dev/null || apt_install maven
}

# mvn_libs DIR POM_TEXT: write DIR/pom.xml if it differs and copy its runtime dependencies into
# DIR/libs. A stamp holding the pom's checksum marks a complete copy.
mvn_libs() {
  local dir=$1 pom=$2 sum
  mkdir -p "$dir"
  [[ -f $dir/pom.xml && $(<"$dir/pom.xml") == "$pom" ]] || printf '%s\n' "$pom" >"$dir/pom.xml"
  sum=$(sha256sum "$dir/pom.xml" | cut -d' ' -f1)
  [[ -f $dir/libs/.stamp && $(<"$dir/libs/.stamp") == "$sum" ]] && return 0
  log "fetching jars for $dir/pom.xml from Maven Central"
  rm -rf "$dir/libs.tmp"
  mvn -B -q -f "$dir/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DoutputDirectory="$dir/libs.tmp" -DincludeScope=runtime >"$dir/mvn.log" 2>&1 ||
    { tail -n 50 "$dir/mvn.log" >&2; die "maven failed (log $dir/mvn.log)"; }
  echo "$sum" >"$dir/libs.tmp/.stamp"
  rm -rf "$dir/libs" && mv "$dir/libs.tmp" "$dir/libs"
}

# javac_cached DIR CLASSPATH NAME SOURCE: compile NAME.java into DIR/classes once per source.
javac_cached() {
  local dir=$1 cp=$2 name=$3 src=$4
  mkdir -p "$dir"
  if [[ -f $dir/classes/$name.class && -f $dir/$name.java && $(<"$dir/$name.java") == "$src" ]]; then return 0; fi
  printf '%s\n' "$src" >"$dir/$name.java"
  rm -rf "$dir/classes"
  javac -nowarn -d "$dir/classes" -cp "$cp" "$dir/$name.java" >&2
}

KAFKA_POM='<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>kafka-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>'$KAFKA_VERSION'</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>'

# Topic creation without kafka-tools (not in kafka_2.13's dependencies): one JVM, AdminClient from
# kafka-clients, creates the missing topics, waits until every partition has a leader and warms up
# the group coordinator (creates __consumer_offsets) so the first consumer joins quickly.
CREATE_TOPICS_JAVA='import java.util.*;
import java.util.concurrent.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;

public class CreateTopics {
  public static void main(String[] a) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", a[0]);
    p.put("default.api.timeout.ms", "30000");
    Map<String, Integer> want = new LinkedHashMap<>();
    for (int i = 1; i < a.length; i++) { String[] t = a[i].split(":"); want.put(t[0], Integer.parseInt(t[1])); }
    try (Admin admin = Admin.create(p)) {
      Set<String> have = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> create = new ArrayList<>();
      want.forEach((t, n) -> { if (!have.contains(t)) create.add(new NewTopic(t, n, (short) 1)); });
      for (KafkaFuture<Void> f : admin.createTopics(create).values().values()) {
        try { f.get(30, TimeUnit.SECONDS); }
        catch (ExecutionException e) { if (!(e.getCause() instanceof TopicExistsException)) throw e; }
      }
      long deadline = System.currentTimeMillis() + 30000;
      while (true) {
        boolean ok = true;
        for (TopicDescription d : admin.describeTopics(want.keySet()).allTopicNames().get(30, TimeUnit.SECONDS).values())
          for (TopicPartitionInfo pi : d.partitions()) ok &= pi.leader() != null && !pi.leader().isEmpty();
        if (ok) break;
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("topics have no leader");
        Thread.sleep(100);
      }
      try { admin.describeConsumerGroups(List.of("uas-warmup")).all().get(20, TimeUnit.SECONDS); }
      catch (Exception e) { System.err.println("coordinator warm-up: " + e); }
      System.out.println("topics ready: " + want + " (created " + create.size() + ")");
    }
  }
}'

ensure_kafka() {
  ensure_jdk
  mvn_libs "$CACHE/kafka" "$KAFKA_POM"
  javac_cached "$CACHE/kafka/tools" "$CACHE/kafka/libs/*" CreateTopics "$CREATE_TOPICS_JAVA"
}

MJS_POM='<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>mongo-java-server-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>de.bwaldvogel</groupId><artifactId>mongo-java-server</artifactId><version>'$MJS_VERSION'</version></dependency>
  </dependencies>
</project>'

# InMemoryMongoServer.main is hard-wired to localhost:27017 without oplog, hence this launcher.
# It also reports MongoDB 4.4 (wire 9): its own newest setting (ServerVersion.MONGO_5_0) still says
# wire 8, which the repo's Node driver (mongodb 7.x needs wire >= 9) refuses to talk to.
MONGO_MAIN_JAVA='public class MongoMain {
  public static void main(String[] a) throws Exception {
    var backend = new de.bwaldvogel.mongo.backend.memory.MemoryBackend();
    backend.version(new de.bwaldvogel.mongo.MongoVersion() {
      public java.util.List<Integer> getVersionArray() { return java.util.List.of(4, 4, 0); }
      public int getWireVersion() { return 9; }
    });
    var s = new de.bwaldvogel.mongo.MongoServer(backend);
    s.enableOplog();
    s.bind(a[0], Integer.parseInt(a[1]));
    Runtime.getRuntime().addShutdownHook(new Thread(s::shutdownNow));
    System.out.println("mongo-java-server listening on " + a[0] + ":" + a[1]);
    Thread.currentThread().join();
  }
}'

ensure_mongo_java() {
  ensure_jdk
  mvn_libs "$CACHE/mongo-java-server" "$MJS_POM"
  javac_cached "$CACHE/mongo-java-server" "$CACHE/mongo-java-server/libs/*" MongoMain "$MONGO_MAIN_JAVA"
}

ferretdb_ok() { [[ -x $CACHE/bin/ferretdb ]] && "$CACHE/bin/ferretdb" --version >/dev/null 2>&1; }

# FerretDB is built from a copy of the module source with build/version/version.txt added:
# `go install ...@v1.24.2` fails on a proxy that refuses the module's version list ("loading
# deprecation"), and a binary built without version.txt panics at start-up.
build_ferretdb() {
  local out=$CACHE/ferretdb-build src dir
  command -v go >/dev/null || { log "no Go toolchain"; return 1; }
  rm -rf "$out" && mkdir -p "$out" "$CACHE/bin"
  log "building FerretDB $FERRETDB_VERSION with Go (a few minutes, once; log $out/build.log)"
  {
    dir=$(cd "$out" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') && [[ -n $dir ]] &&
      src=$out/src && cp -r "$dir" "$src" && chmod -R u+w "$src" &&
      echo "$FERRETDB_VERSION" >"$src/build/version/version.txt" &&
      (cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -o "$CACHE/bin/ferretdb.tmp" ./cmd/ferretdb) &&
      mv "$CACHE/bin/ferretdb.tmp" "$CACHE/bin/ferretdb" && rm -rf "$src"
  } >"$out/build.log" 2>&1 && ferretdb_ok
}

# Which Mongo server `up` runs: FerretDB unless it cannot be built (then the Java server).
# A failed build is remembered in CACHE/ferretdb-build/FAILED so warm starts do not retry it.
mongo_impl_choice() {
  case ${UAS_MONGO_SERVER:-auto} in
    ferretdb) echo ferretdb ;;
    mongo-java-server | java) echo mongo-java-server ;;
    *) if ferretdb_ok; then echo ferretdb; elif [[ -f $CACHE/ferretdb-build/FAILED ]]; then echo mongo-java-server; else echo ferretdb; fi ;;
  esac
}

ensure_mongo() {
  MONGO_IMPL=$(mongo_impl_choice)
  if [[ $MONGO_IMPL == ferretdb ]] && ! ferretdb_ok; then
    if build_ferretdb; then
      rm -f "$CACHE/ferretdb-build/FAILED"
    else
      tail -n 20 "$CACHE/ferretdb-build/build.log" >&2 || true
      [[ ${UAS_MONGO_SERVER:-auto} == ferretdb ]] && die "FerretDB build failed"
      touch "$CACHE/ferretdb-build/FAILED"
      log "FerretDB build failed: falling back to mongo-java-server (rm $CACHE/ferretdb-build/FAILED to retry)"
      MONGO_IMPL=mongo-java-server
    fi
  fi
  [[ $MONGO_IMPL == mongo-java-server ]] && ensure_mongo_java
  return 0
}

install_for() { # serialised across concurrent invocations
  local s
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.install.lock"
  flock 9 2>/dev/null || true
  for s in "$@"; do "ensure_$s"; done
  exec 9>&-
}

# ---------------------------------------------------------------- servers

# prepare_dir NAME KEEP: (re)create RUN/NAME; wipe its data unless KEEP=1; rotate old logs.
prepare_dir() {
  local dir=$RUN/$1 keep=$2 f
  ((keep)) || rm -rf "$dir"
  mkdir -p "$dir/data" "$dir/logs"
  for f in "$dir"/*.log "$dir"/logs/*.log; do [[ -f $f ]] && mv -f "$f" "$f.prev"; done
  return 0
}

check_port_free() {
  tcp_open "$2" && die "$1: port $HOST:$2 is already in use by another process (set UAS_*_PORT)"
  return 0
}

start_redis() {
  prepare_dir redis 0
  check_port_free redis "$REDIS_PORT"
  launch redis redis-server --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
    --daemonize no --dir "$RUN/redis" --logfile "$RUN/redis/redis.log"
}

redis_ready() { [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

kafka_jopts() { # JVM options shared by the broker and the storage tool
  local dir=$RUN/kafka
  JOPTS=(-Xms128m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
    -Dkafka.logs.dir="$dir/logs" -Dlog4j.configuration="file:$dir/log4j.properties")
}

# broker.session.timeout.ms 9000 -> 4000: after a SIGKILL, a restart with the same log dirs waits
# for the old registration to expire (DUPLICATE_BROKER_REGISTRATION) -- 13 s with the default.
write_kafka_config() {
  local dir=$RUN/kafka
  cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, f
log4j.appender.f=org.apache.log4j.FileAppender
log4j.appender.f.File=${kafka.logs.dir}/server.log
log4j.appender.f.layout=org.apache.log4j.PatternLayout
log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
num.network.threads=2
num.io.threads=2
log.cleaner.dedupe.buffer.size=1048577
EOF
}

start_kafka() { # $1=1 keeps the log dirs (no reformat)
  local keep=$1 dir=$RUN/kafka cid="" JOPTS
  kafka_jopts
  prepare_dir kafka "$keep"
  check_port_free kafka "$KAFKA_PORT"
  check_port_free kafka "$KAFKA_CONTROLLER_PORT"
  write_kafka_config
  if [[ ! -f $dir/data/meta.properties ]]; then
    rm -rf "$dir/data" && mkdir -p "$dir/data"
    # same as `StorageTool random-uuid` (which also avoids a leading '-'), without a JVM
    until [[ ${cid:-} =~ ^[A-Za-z0-9_] ]]; do cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
    java "${JOPTS[@]}" -XX:TieredStopAtLevel=1 -cp "$CACHE/kafka/libs/*" kafka.tools.StorageTool \
      format -t "$cid" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 ||
      fail kafka "storage format failed"
  fi
  launch kafka java "${JOPTS[@]}" -cp "$CACHE/kafka/libs/*" kafka.Kafka "$dir/server.properties"
}

kafka_ready() { grep -q 'Kafka Server started' "$RUN/kafka/logs/server.log" 2>/dev/null && tcp_open "$KAFKA_PORT"; }

# Topics: kafkajs admin in one `node` call when the repo has node_modules/kafkajs (~0.5 s),
# else the cached CreateTopics class on kafka-clients (one JVM, ~2-3 s). Both are idempotent.
create_topics() {
  local dir=$RUN/kafka
  # shellcheck disable=SC2016,SC2086 # JS source in single quotes; topic list split on purpose
  if [[ -d $REPO/node_modules/kafkajs && ${UAS_TOPIC_TOOL:-} != java ]]; then
    (cd "$REPO" && node --input-type=module -e '
      import { Kafka, logLevel } from "kafkajs";
      const [broker, ...specs] = process.argv.slice(1);
      const want = specs.map((s) => { const [topic, n] = s.split(":"); return { topic, numPartitions: Number(n), replicationFactor: 1 }; });
      const admin = new Kafka({ clientId: "uas-services", brokers: [broker], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const have = new Set(await admin.listTopics());
      const missing = want.filter((t) => !have.has(t.topic));
      if (missing.length) await admin.createTopics({ topics: missing, waitForLeaders: true, timeout: 30000 });
      try { await admin.describeGroups(["uas-warmup"]); } catch (e) { console.error("coordinator warm-up:", e.message); }
      await admin.disconnect();
      console.log(`topics ready: ${specs.join(" ")} (created ${missing.length})`);
    ' "$HOST:$KAFKA_PORT" $KAFKA_TOPICS) >"$dir/logs/topics.log" 2>&1
  else
    java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$dir/log4j-tools.properties" \
      -cp "$CACHE/kafka/tools/classes:$CACHE/kafka/libs/*" CreateTopics "$HOST:$KAFKA_PORT" $KAFKA_TOPICS \
      >"$dir/logs/topics.log" 2>&1
  fi || fail kafka "topic creation failed"
  log "$(tail -n 1 "$dir/logs/topics.log")"
}

write_tools_log4j() {
  printf '%s\n' 'log4j.rootLogger=WARN, e' 'log4j.appender.e=org.apache.log4j.ConsoleAppender' \
    'log4j.appender.e.Target=System.err' 'log4j.appender.e.layout=org.apache.log4j.PatternLayout' \
    'log4j.appender.e.layout.ConversionPattern=%p %m (%c)%n' >"$RUN/kafka/log4j-tools.properties"
}

start_mongo() { # $1=1 keeps FerretDB's SQLite files
  local keep=$1 dir=$RUN/mongo
  prepare_dir mongo "$keep"
  check_port_free mongo "$MONGO_PORT"
  echo "$MONGO_IMPL" >"$dir/impl"
  if [[ $MONGO_IMPL == ferretdb ]]; then
    mkdir -p "$dir/state"
    launch mongo "$CACHE/bin/ferretdb" --handler=sqlite --sqlite-url="file:$dir/data/" \
      --listen-addr="$HOST:$MONGO_PORT" --state-dir="$dir/state" --debug-addr=- \
      --telemetry=disable --log-level=warn
  else
    launch mongo java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true \
      -cp "$CACHE/mongo-java-server/classes:$CACHE/mongo-java-server/libs/*" MongoMain "$HOST" "$MONGO_PORT"
  fi
}

# A real MongoDB `ping` over the wire protocol from bash (no driver needed): OP_MSG
# {ping: 1, $db: "admin"}, then look for ok: 1 in the reply.
mongo_ready() {
  local len hex
  tcp_open "$MONGO_PORT" || return 1
  { exec 3<>"/dev/tcp/$HOST/$MONGO_PORT"; } 2>/dev/null || return 1
  # shellcheck disable=SC2016 # a literal "$db" key
  printf '\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00' >&3 2>/dev/null
  len=$(timeout 3 dd bs=1 count=4 <&3 2>/dev/null | od -An -tu4 | tr -d ' \n')
  if [[ $len =~ ^[0-9]+$ ]] && ((len > 4 && len < 65536)); then
    hex=$(timeout 3 dd bs=1 count=$((len - 4)) <&3 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  fi
  exec 3<&-
  [[ ${hex:-} == *016f6b00000000000000f03f* || ${hex:-} == *106f6b0001000000* ]] # ok: 1.0 | ok: 1
}

mongo_impl_running() { cat "$RUN/mongo/impl" 2>/dev/null || mongo_impl_choice; }

# ---------------------------------------------------------------- commands

cmd_up() {
  local explicit=$1 keep=$2 t0 s
  shift 2
  t0=$(now_ms)
  install_for "$@"
  for s in "$@"; do
    if ((explicit)); then stop_servers "$s"; elif server_pid "$s" >/dev/null; then continue; fi
    log "starting $s on $HOST:$(port_of "$s")"
    case $s in
      redis) start_redis ;;
      kafka) start_kafka "$((explicit ? keep : 1))" ;;
      mongo) start_mongo "$((explicit ? keep : 1))" ;;
    esac
  done
  for s in "$@"; do
    case $s in
      redis) await redis 20 redis_ready ;;
      mongo) await mongo 30 mongo_ready ;;
      kafka) await kafka 120 kafka_ready && write_tools_log4j && create_topics ;;
    esac
    log "$s ready (pid $(server_pid "$s"), $HOST:$(port_of "$s")$([[ $s == mongo ]] && echo ", $(<"$RUN/mongo/impl")"))"
  done
  log "up: $* ready in $(awk -v ms=$(($(now_ms) - t0)) 'BEGIN { printf "%.1f", ms / 1000 }') s"
}

cmd_down() {
  local all=$1 s
  shift
  stop_servers "$@"
  for s in "$@"; do
    if ((all)); then rm -rf "${RUN:?}/$s"; fi
  done
  if ((all)) && rmdir "$RUN" 2>/dev/null && [[ -z ${UAS_RUN_DIR:-} ]]; then rmdir "$REPO/.run" 2>/dev/null || true; fi
}

cmd_status() {
  local s pid state extra
  for s in "${SERVERS[@]}"; do
    if pid=$(server_pid "$s"); then state=running; else state=stopped pid=-; fi
    extra=""
    [[ $state == running ]] && extra=" process=$(ps -o comm= -p "$pid" 2>/dev/null || echo '?')"
    [[ $s == mongo ]] && extra+=" ($(mongo_impl_running))"
    printf '%-6s %-8s pid=%-8s %s:%s%s\n' "$s" "$state" "$pid" "$HOST" "$(port_of "$s")" "$extra"
  done
}

cmd_env() {
  echo "REDIS_URL=redis://$HOST:$REDIS_PORT"
  echo "KAFKA_BROKERS=$HOST:$KAFKA_PORT"
  echo "MONGO_URL=mongodb://$HOST:$MONGO_PORT"
  echo "MONGO_SERVER=$(mongo_impl_running)"
  echo "APOLLO_TELEMETRY_DISABLED=1"
  echo "DO_NOT_TRACK=1"
}

cmd_logs() {
  local s
  for s in "$@"; do show_logs "$s"; done
}

main() {
  local cmd=${1:-} keep=0 names=() a
  [[ -n $cmd ]] && shift
  for a in "$@"; do
    case $a in
      --keep-data) keep=1 ;;
      -*) die "unknown option $a" ;;
      *) names+=("$(canon "$a")") ;;
    esac
  done
  local explicit=$((${#names[@]} > 0))
  ((explicit)) || names=("${SERVERS[@]}")
  case $cmd in
    up) cmd_up "$explicit" "$keep" "${names[@]}" ;;
    down) cmd_down "$((!explicit))" "${names[@]}" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs) cmd_logs "${names[@]}" ;;
    browser) ensure_chromium ;;
    *)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
