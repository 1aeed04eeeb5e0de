# Sourced by run.sh and schemathesis.sh: a fresh embedded database seeded with the demo, and
# `xqt serve` on a free port until the sourcing script exits (then stopped, its folder removed,
# and the last of its log shown if the script failed). Sets $dir, $port and $base.
#
#   start_demo_server <xqt binary> <token secret> [VAR=value … for `xqt serve` only]
start_demo_server() {
  local bin=$1 secret=$2
  shift 2
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  export XQT_DATA_DIR="$dir" XQT_LOG_FILTER=error XQT_ENV=development XQT_TOKEN_SECRET="$secret"
  unset XQT_DATABASE_URL XQT_REDIS_URL
  # Into a file, not a pipe: `| head -n 1` closes early and the demo's printing dies of SIGPIPE.
  "$bin" seed-demo >"$dir/seed.log"
  head -n 1 "$dir/seed.log"
  env XQT_LISTEN="127.0.0.1:$port" "$@" "$bin" serve >"$dir/server.log" 2>&1 &
  server=$!
  trap stop_demo_server EXIT
  for _ in $(seq 1 100); do
    curl -sf "$base/readyz" >/dev/null && break
    sleep 0.2
  done
}

stop_demo_server() {
  local status=$?
  kill "$server" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    echo "--- server log (last 40 lines)"
    tail -n 40 "$dir/server.log" || true
  fi
  rm -rf "$dir"
}
