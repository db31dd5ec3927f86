# Shared by the server files: logging, pids, launch and readiness, installs, run dirs.
# Sourced by scripts/services.sh, which sets HOST, RUN, CACHE and the ports first.

log() { echo "[services] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }

# Every JVM starts through this. HotSpot's perf-data file (hsperfdata) is created with a
# chdir into its directory and back, so a JVM in its first moments briefly has another working
# directory, and server_pid (which knows a server by its working directory) took it for a dead
# server. Nothing here reads perf data (jps, jstat).
JVM=(java -XX:-UsePerfData)

# ---------------------------------------------------------------- helpers

canon() { # canonical server name
  case $1 in
    redis) echo redis ;;
    kafka) echo kafka ;;
    mongo | mongodb | ferretdb | mongo-java-server) echo mongo ;;
    postgres | postgresql) echo postgres ;;
    connect | kafka-connect) echo connect ;;
    *) die "unknown server '$1' (expected redis, kafka, mongo, postgres, connect or cdc)" ;;
  esac
}

port_of() {
  case $1 in
    redis) echo "$REDIS_PORT" ;; kafka) echo "$KAFKA_PORT" ;; mongo) echo "$MONGO_PORT" ;;
    postgres) echo "$POSTGRES_PORT" ;; connect) echo "$CONNECT_PORT" ;;
  esac
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
# The child is forked inside RUN/NAME: server_pid knows a server by its working directory, so a
# child that changed directory only after the fork could be taken for a dead server meanwhile.
launch() {
  local name=$1 dir=$RUN/$1 back=$PWD
  shift
  cd "$dir" || die "$name: cannot enter $dir"
  "$@" </dev/null >>"$dir/stdout.log" 2>&1 &
  echo $! >"$dir/pid"
  cd "$back" || die "cannot return to $back"
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

install_for() { # serialised across concurrent invocations
  local s
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.install.lock"
  flock 9 2>/dev/null || true
  for s in "$@"; do "ensure_$s"; done
  exec 9>&-
}

# write_file_log4j FILE LOGFILE: a reload4j config logging INFO and up to LOGFILE (a JVM property
# reference such as ${kafka.logs.dir}/server.log, resolved by the JVM).
write_file_log4j() {
  printf '%s\n' 'log4j.rootLogger=INFO, f' 'log4j.appender.f=org.apache.log4j.FileAppender' "log4j.appender.f.File=$2" \
    'log4j.appender.f.layout=org.apache.log4j.PatternLayout' 'log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n' >"$1"
}

# ---------------------------------------------------------------- run dirs

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
