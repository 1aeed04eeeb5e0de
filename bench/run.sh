#!/usr/bin/env bash
# Builds release binaries, runs every benchmark and rewrites BENCHMARKS.md with the numbers.
# With XQT_TEST_DATABASE_URL / XQT_TEST_REDIS_URL set, the load runs on PostgreSQL + Redis too.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p xqt -p xqt-bench
startup=$(bash bench/startup.sh target/release/xqt)
load=$(target/release/xqt-bench)
cat > BENCHMARKS.md <<MD
# Benchmarks

Written by \`bash bench/run.sh\` (release build; loopback only; bounded request counts).
Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m); $(date -u +%Y-%m-%d).
Backends: *embedded* = SQLite file + in-process cache and bus; *postgres+redis* = the
machine's PostgreSQL 15 and Redis 7 (set \`XQT_TEST_DATABASE_URL\` / \`XQT_TEST_REDIS_URL\`).

## Start-up (embedded default, fresh data dir, exec → first 200 on /readyz)

Command: \`bash bench/startup.sh target/release/xqt\`

    $startup

## Load

Command: \`target/release/xqt-bench\` (harness: \`bench/src/main.rs\`)

$load
MD
cat BENCHMARKS.md
