#!/usr/bin/env bash
# Start-up time of `xqt serve` on the embedded default, from exec to the first 200 on /readyz,
# on a fresh data dir each run (so it includes creating the SQLite file and migrating it).
set -euo pipefail
bin=${1:-target/release/xqt}
runs=${RUNS:-10}
port=18990
times=()
for _ in $(seq "$runs"); do
  dir=$(mktemp -d)
  start=$(date +%s%N)
  XQT_DATA_DIR="$dir" XQT_LISTEN="127.0.0.1:$port" XQT_LOG_FILTER=warn "$bin" serve &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.002; done
  end=$(date +%s%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "runs=$runs min=${sorted[0]}ms median=${sorted[$((runs / 2))]}ms max=${sorted[$((runs - 1))]}ms"
