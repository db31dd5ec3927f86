# Redis from Debian, no persistence. Sourced by scripts/services.sh.

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then apt_install redis-server redis-tools; fi
}

start_redis() {
  prepare_dir redis 0
  check_port_free redis "$REDIS_PORT"
  launch redis redis-server --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
    --daemonize no --dir "$RUN/redis" --logfile "$RUN/redis/redis.log"
}

redis_ready() { [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
