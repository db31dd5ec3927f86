# Apache Kafka (KRaft, one node) from Maven Central jars, and the app topics. Sourced by scripts/services.sh.

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

kafka_jopts() { # JVM options shared by the broker and the storage tool
  local dir=$RUN/kafka
  JOPTS=(-Xms128m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
    -Dkafka.logs.dir="$dir/logs" -Dlog4j.configuration="file:$dir/log4j.properties")
}

# broker.session.timeout.ms 9000 -> 4000: after a SIGKILL, a restart with the same log dirs waits
# for the old registration to expire (DUPLICATE_BROKER_REGISTRATION) -- 13 s with the default.
write_kafka_config() {
  local dir=$RUN/kafka
  write_file_log4j "$dir/log4j.properties" '${kafka.logs.dir}/server.log'
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
    "${JVM[@]}" "${JOPTS[@]}" -XX:TieredStopAtLevel=1 -cp "$CACHE/kafka/libs/*" kafka.tools.StorageTool \
      format -t "$cid" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 ||
      fail kafka "storage format failed"
  fi
  launch kafka "${JVM[@]}" "${JOPTS[@]}" -cp "$CACHE/kafka/libs/*" kafka.Kafka "$dir/server.properties"
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
    "${JVM[@]}" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$dir/log4j-tools.properties" \
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
