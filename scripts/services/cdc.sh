# The CDC path's servers (`up cdc`): PostgreSQL from Debian with logical decoding, holding the
# legacy `user_activity` table and its publication (deploy/postgres/legacy.sql), and Kafka
# Connect (standalone worker, org.apache.kafka:connect-runtime from Maven Central) with the
# Debezium PostgreSQL connector on its classpath. Connectors are registered over Connect's REST
# API by whoever needs one (deploy/debezium/user-activity.json). Sourced by scripts/services.sh.

CONNECT_VERSION=4.3.1
DEBEZIUM_VERSION=3.6.1.Final

# The newest installed server's bin dir (a removed package can leave its directory behind).
pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    [[ -x $d/postgres && -x $d/initdb ]] && { echo "$d"; return 0; }
  done
  return 0
}

ensure_postgres() {
  if [[ -z $(pg_bin) ]]; then
    # Debian's package would start its own cluster on 5432: forbid service starts while installing.
    local policy=/usr/sbin/policy-rc.d added=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy" && added=1; fi
    apt_install postgresql
    ((added)) && as_root rm -f "$policy"
  fi
  [[ -n $(pg_bin) ]] || die "no PostgreSQL binaries under /usr/lib/postgresql"
}

# As root, PostgreSQL runs as the postgres user (it refuses root); setpriv execs, so the pid is the server's.
as_postgres() { if ((EUID == 0)); then setpriv --reuid postgres --regid postgres --init-groups -- "$@"; else "$@"; fi; }
AS_POSTGRES=()
((EUID == 0)) && AS_POSTGRES=(setpriv --reuid postgres --regid postgres --init-groups --)

start_postgres() { # $1=1 keeps the data dir
  local keep=$1 dir=$RUN/postgres bin
  bin=$(pg_bin)
  prepare_dir postgres "$keep"
  check_port_free postgres "$POSTGRES_PORT"
  ((EUID == 0)) && chown -R postgres:postgres "$dir"
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    rm -rf "$dir/data" && mkdir -p "$dir/data" && { ((EUID != 0)) || chown postgres:postgres "$dir/data"; }
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/logs/initdb.log" 2>&1 ||
      fail postgres "initdb failed"
  fi
  # Test settings: no fsync (a crash of the machine loses the test's data, never a process kill's).
  launch postgres "${AS_POSTGRES[@]}" "$bin/postgres" -D "$dir/data" -c listen_addresses="$HOST" -c port="$POSTGRES_PORT" \
    -c unix_socket_directories="$dir" -c wal_level=logical -c max_replication_slots=8 -c max_wal_senders=8 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c logging_collector=off \
    -c log_min_messages=warning
}

postgres_ready() { "$(pg_bin)/pg_isready" -q -h "$HOST" -p "$POSTGRES_PORT" -U postgres -t 1; }

# The `legacy` database with the table and publication, created if missing.
init_legacy_db() {
  local psql
  psql=("$(pg_bin)/psql" -v ON_ERROR_STOP=1 -q -h "$HOST" -p "$POSTGRES_PORT" -U postgres)
  "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'legacy'" | grep -q 1 ||
    "${psql[@]}" -d postgres -c 'CREATE DATABASE legacy' >/dev/null || fail postgres "CREATE DATABASE legacy failed"
  "${psql[@]}" -d legacy -f "$REPO/deploy/postgres/legacy.sql" >/dev/null || fail postgres "deploy/postgres/legacy.sql failed"
}

CONNECT_POM='<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>connect-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId><version>'$CONNECT_VERSION'</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId><version>'$CONNECT_VERSION'</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-transforms</artifactId><version>'$CONNECT_VERSION'</version></dependency>
    <dependency><groupId>io.debezium</groupId><artifactId>debezium-connector-postgres</artifactId><version>'$DEBEZIUM_VERSION'</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>'

ensure_connect() {
  ensure_jdk
  mvn_libs "$CACHE/connect" "$CONNECT_POM"
}

write_connect_config() {
  local dir=$RUN/connect
  cat >"$dir/worker.properties" <<EOP
bootstrap.servers=$HOST:$KAFKA_PORT
listeners=http://$HOST:$CONNECT_PORT
rest.advertised.host.name=$HOST
offset.storage.file.filename=$dir/data/offsets
offset.flush.interval.ms=${UAS_CONNECT_OFFSET_FLUSH_MS:-10000}
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
plugin.discovery=only_scan
EOP
  write_file_log4j "$dir/log4j.properties" '${connect.logs.dir}/connect.log'
}

start_connect() { # $1=1 keeps the stored source offsets (a restart re-sends from the last flush)
  local keep=$1 dir=$RUN/connect
  prepare_dir connect "$keep"
  check_port_free connect "$CONNECT_PORT"
  write_connect_config
  launch connect "${JVM[@]}" -Xms128m -Xmx768m -XX:+UseSerialGC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dconnect.logs.dir="$dir/logs" -Dlog4j.configuration="file:$dir/log4j.properties" \
    -cp "$CACHE/connect/libs/*" org.apache.kafka.connect.cli.ConnectStandalone "$dir/worker.properties"
}

connect_ready() { curl -fsS --max-time 2 "http://$HOST:$CONNECT_PORT/connector-plugins" 2>/dev/null | grep -q PostgresConnector; }
