# A Redis Cluster (6 nodes: 3 masters, 3 replicas) and a 3-broker KRaft Kafka, for the tests that
# prove the service on more than one node. Started only when named (`up cluster`, or
# `up redis-cluster` / `up kafka-cluster`); never by a plain `up`. Sourced by scripts/services.sh
# after common.sh, redis.sh and kafka.sh: same binaries, same jars, same launch/await/stop rules.
# Every node is a server of its own for the generic helpers: its run dir is
# RUN/redis-cluster/<port> or RUN/kafka-cluster/<node id>, holding its pid, data and logs.

RCLUSTER_PORT=${UAS_CLUSTER_REDIS_PORT:-61400}         # client ports P..P+5
RCLUSTER_BUS_PORT=${UAS_CLUSTER_REDIS_BUS_PORT:-61410} # cluster bus B..B+5 (the default P+10000 would pass 65535)
RCLUSTER_NODE_TIMEOUT=${UAS_CLUSTER_REDIS_NODE_TIMEOUT:-2000} # a master silent this long is failed over
KCLUSTER_PORT=${UAS_CLUSTER_KAFKA_PORT:-61100}         # broker listeners K..K+2
KCLUSTER_CONTROLLER_PORT=${UAS_CLUSTER_KAFKA_CONTROLLER_PORT:-61110} # controllers C..C+2
KCLUSTER_HEAP=${UAS_CLUSTER_KAFKA_HEAP:-384m}

rcluster_ports() { local i; for i in 0 1 2 3 4 5; do echo $((RCLUSTER_PORT + i)); done; }
rcluster_nodes() { local p s=""; for p in $(rcluster_ports); do s+="${s:+,}$HOST:$p"; done; echo "$s"; }
kcluster_brokers() { local i s=""; for i in 0 1 2; do s+="${s:+,}$HOST:$((KCLUSTER_PORT + i))"; done; echo "$s"; }

# members NAME: the servers (run dir names) NAME stands for; a single server stands for itself.
members() {
  local p i
  case $1 in
    redis-cluster) for p in $(rcluster_ports); do echo "redis-cluster/$p"; done ;;
    kafka-cluster) for i in 1 2 3; do echo "kafka-cluster/$i"; done ;;
    *) echo "$1" ;;
  esac
}

is_cluster() { [[ $1 == redis-cluster || $1 == kafka-cluster ]]; }

ensure_redis-cluster() { ensure_redis; }
ensure_kafka-cluster() { ensure_kafka; }

# cluster_fail NAME WHY: like `fail`, for every node of NAME.
cluster_fail() {
  local m
  log "ERROR: $1: $2. Last log lines:"
  for m in $(members "$1"); do show_logs "$m" >&2; done
  [[ -s $RUN/$1/setup.log ]] && tail -n "${LOG_LINES:-50}" "$RUN/$1/setup.log" >&2
  # shellcheck disable=SC2046 # one word per node
  stop_servers $(members "$1")
  log "other servers are left as they are; run '$0 down' to stop everything"
  exit 1
}

# cluster_await NAME SECONDS PROBE...: like `await`, failing as soon as any node has died.
cluster_await() {
  local name=$1 secs=$2 deadline m
  shift 2
  deadline=$((SECONDS + secs))
  until "$@"; do
    for m in $(members "$name"); do server_pid "$m" >/dev/null || cluster_fail "$name" "$m exited before the cluster was ready"; done
    ((SECONDS < deadline)) || cluster_fail "$name" "not ready after ${secs}s"
    sleep 0.2
  done
}

# ---------------------------------------------------------------- Redis Cluster

start_redis-cluster() {
  local p i=0 dir
  rm -rf "${RUN:?}/redis-cluster"
  for p in $(rcluster_ports); do
    check_port_free redis-cluster "$p"
    check_port_free redis-cluster "$((RCLUSTER_BUS_PORT + i))"
    prepare_dir "redis-cluster/$p" 0
    dir=$RUN/redis-cluster/$p
    launch "redis-cluster/$p" redis-server --bind "$HOST" --port "$p" --cluster-enabled yes \
      --cluster-port "$((RCLUSTER_BUS_PORT + i))" --cluster-config-file "nodes-$p.conf" --cluster-node-timeout "$RCLUSTER_NODE_TIMEOUT" \
      --save "" --appendonly no --daemonize no --dir "$dir" --logfile "$dir/redis.log"
    i=$((i + 1))
  done
}

rcluster_all() { # rcluster_all CHECK: CHECK PORT holds for every node
  local p
  for p in $(rcluster_ports); do "$1" "$p" || return 1; done
}
rnode_answers() { [[ $(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null) == PONG ]]; }
rnode_ok() { redis-cli -h "$HOST" -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }
# The node's own view has 3 masters and 3 replicas: right after `--cluster create` a replica can
# still look like an empty master to some nodes (its role travels by gossip) while the slots are ok.
rnode_agrees() {
  local view
  view=$(redis-cli -h "$HOST" -p "$1" cluster nodes 2>/dev/null) || return 1
  [[ $(awk '$3 ~ /(^|,)master(,|$)/ && $3 !~ /fail/ && NF > 8' <<<"$view" | wc -l) == 3 &&
    $(awk '$3 ~ /(^|,)slave(,|$)/ && $3 !~ /fail/ && $8 == "connected"' <<<"$view" | wc -l) == 3 ]]
}
rnode_ready() { rnode_ok "$1" && rnode_agrees "$1"; }

# Slots are assigned once every node answers; ready when every node sees the whole cluster as ok,
# with three masters serving slots and three connected replicas.
await_redis-cluster() {
  local addrs=() p
  cluster_await redis-cluster 20 rcluster_all rnode_answers
  for p in $(rcluster_ports); do addrs+=("$HOST:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$RUN/redis-cluster/setup.log" 2>&1 ||
    cluster_fail redis-cluster "redis-cli --cluster create failed"
  cluster_await redis-cluster 30 rcluster_all rnode_ready
}

# ---------------------------------------------------------------- Kafka, three KRaft nodes

write_kcluster_config() { # write_kcluster_config NODE_ID
  local id=$1 dir=$RUN/kafka-cluster/$1 voters="" i
  for i in 1 2 3; do voters+="${voters:+,}$i@$HOST:$((KCLUSTER_CONTROLLER_PORT + i - 1))"; done
  write_file_log4j "$dir/log4j.properties" '${kafka.logs.dir}/server.log'
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://$HOST:$((KCLUSTER_PORT + id - 1)),CONTROLLER://$HOST:$((KCLUSTER_CONTROLLER_PORT + id - 1))
advertised.listeners=PLAINTEXT://$HOST:$((KCLUSTER_PORT + id - 1))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
auto.create.topics.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
num.network.threads=2
num.io.threads=2
log.cleaner.dedupe.buffer.size=1048577
EOF
}

# All three nodes are formatted with one cluster id, then started together: the controller
# quorum needs two of the three voters before any broker registers.
start_kafka-cluster() {
  local id dir cid="" jopts formats=() f
  rm -rf "${RUN:?}/kafka-cluster"
  until [[ ${cid:-} =~ ^[A-Za-z0-9_] ]]; do cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
  for id in 1 2 3; do
    check_port_free kafka-cluster "$((KCLUSTER_PORT + id - 1))"
    check_port_free kafka-cluster "$((KCLUSTER_CONTROLLER_PORT + id - 1))"
    prepare_dir "kafka-cluster/$id" 0
    write_kcluster_config "$id"
  done
  for id in 1 2 3; do
    dir=$RUN/kafka-cluster/$id
    jopts=(-Xms64m "-Xmx$KCLUSTER_HEAP" -XX:+UseSerialGC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
      -Dkafka.logs.dir="$dir/logs" -Dlog4j.configuration="file:$dir/log4j.properties")
    "${JVM[@]}" "${jopts[@]}" -XX:TieredStopAtLevel=1 -cp "$CACHE/kafka/libs/*" kafka.tools.StorageTool \
      format -t "$cid" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 &
    formats+=($!)
  done
  for f in "${formats[@]}"; do wait "$f" || true; done # each outcome is checked by its meta.properties below
  for id in 1 2 3; do
    dir=$RUN/kafka-cluster/$id
    grep -q "cluster.id=$cid" "$dir/data/meta.properties" 2>/dev/null || cluster_fail kafka-cluster "storage format of node $id failed"
    jopts=(-Xms64m "-Xmx$KCLUSTER_HEAP" -XX:+UseSerialGC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
      -Dkafka.logs.dir="$dir/logs" -Dlog4j.configuration="file:$dir/log4j.properties")
    launch "kafka-cluster/$id" "${JVM[@]}" "${jopts[@]}" -cp "$CACHE/kafka/libs/*" kafka.Kafka "$dir/server.properties"
  done
}

knode_started() { grep -q 'Kafka Server started' "$RUN/kafka-cluster/$1/logs/server.log" 2>/dev/null; }
kcluster_started() { knode_started 1 && knode_started 2 && knode_started 3; }

# Ready when the cluster metadata lists all three brokers and a topic with replication factor 3
# (`cluster-ready`) exists with all three replicas in sync: one kafkajs admin call, retried
# until the deadline.
await_kafka-cluster() {
  [[ -d $REPO/node_modules/kafkajs ]] || die "kafka-cluster: its readiness check needs node_modules/kafkajs (npm ci)"
  cluster_await kafka-cluster 120 kcluster_started
  # shellcheck disable=SC2016 # JS source in single quotes
  (cd "$REPO" && node --input-type=module -e '
    import { Kafka, logLevel } from "kafkajs";
    const brokers = process.argv[1].split(",");
    const admin = new Kafka({ clientId: "uas-services", brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    const deadline = Date.now() + 60_000;
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.connect();
        const { brokers: seen } = await admin.describeCluster();
        if (seen.length !== brokers.length) throw new Error(`${seen.length} of ${brokers.length} brokers registered`);
        const have = await admin.listTopics();
        if (!have.includes("cluster-ready")) await admin.createTopics({ topics: [{ topic: "cluster-ready", numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true, timeout: 20_000 });
        const { topics } = await admin.fetchTopicMetadata({ topics: ["cluster-ready"] });
        const short = topics[0].partitions.filter((p) => p.replicas.length !== 3 || p.isr.length !== 3);
        if (short.length > 0) throw new Error(`partitions ${short.map((p) => p.partitionId)} not fully replicated yet`);
        console.log(`brokers ${seen.map((b) => b.nodeId).sort().join(",")} registered; cluster-ready has 3 replicas in sync (try ${attempt})`);
        break;
      } catch (e) {
        if (Date.now() > deadline) { console.error(e.message); process.exit(1); }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await admin.disconnect();
  ' "$(kcluster_brokers)") >"$RUN/kafka-cluster/setup.log" 2>&1 || cluster_fail kafka-cluster "brokers did not form a cluster"
  log "kafka-cluster: $(tail -n 1 "$RUN/kafka-cluster/setup.log")"
}

# ---------------------------------------------------------------- status and env

cluster_status() { # one line per node, or one for the whole cluster when none of it runs
  local m pid state
  for m in $(members "$1"); do server_pid "$m" >/dev/null && break; m=""; done
  if [[ -z $m ]]; then
    printf '%-20s %-8s %s\n' "$1" stopped "$([[ $1 == redis-cluster ]] && rcluster_nodes || kcluster_brokers)"
    return 0
  fi
  for m in $(members "$1"); do
    if pid=$(server_pid "$m"); then state=running; else state=stopped pid=-; fi
    case $m in
      redis-cluster/*) printf '%-20s %-8s pid=%-8s %s:%s%s\n' "$m" "$state" "$pid" "$HOST" "${m#*/}" \
        "$([[ $state == running ]] && redis-cli -h "$HOST" -p "${m#*/}" role 2>/dev/null | head -n 1 | sed 's/^/ role=/')" ;;
      kafka-cluster/*) printf '%-20s %-8s pid=%-8s %s:%s\n' "$m" "$state" "$pid" "$HOST" "$((KCLUSTER_PORT + ${m#*/} - 1))" ;;
    esac
  done
}

cluster_env() {
  case $1 in
    redis-cluster) echo "REDIS_CLUSTER_NODES=$(rcluster_nodes)" ;;
    kafka-cluster)
      echo "KAFKA_BROKERS=$(kcluster_brokers)"
      echo "KAFKA_REPLICATION_FACTOR=3"
      ;;
  esac
}
