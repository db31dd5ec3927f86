# A MongoDB wire-protocol server: FerretDB (SQLite) built with Go, or mongo-java-server. Sourced by scripts/services.sh.

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
    launch mongo "${JVM[@]}" -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true \
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
