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

$(cat bench/history.md 2>/dev/null)

## Reading the numbers

- Client and server share the machine's cores, so throughput is a floor, not a ceiling; runs
  vary by ±15 % (compare rows of one run, not across runs).
- *Signed in* adds the session check (one cache read: in-process, or one Redis round trip) and,
  on non-essential root fields, the privacy guard (one more cache read for the person's state;
  the major-version list is kept on each instance for 5 s). The guard row times that path alone.
- Every consent decision appends to one hash chain under the chain head's row lock, so appends
  are serialised across all people and instances: about a thousand a second here. Should that
  ever bind, the chain can be split per person without changing what \`xqt audit verify\` proves.
- A chat message takes its conversation's next sequence number in the transaction that stores
  it, so sends into one conversation queue on that counter (a row lock on PostgreSQL; SQLite has
  one writer for everything); sends into different conversations only share the database. The
  fan-out row is one sender to a group whose members all follow it live; its time ends when the
  last of them has the message.
- Start-up includes creating and migrating a fresh SQLite file and loading the first versions of
  the policy documents.
- The attendance rows are a morning rush: 400 members of one group, their consent given, check
  in at the factory gate on the next working day's 08:50 (the bench moves its clock there), 300
  of them at once from 16 clients, then 100 one at a time. A check-in reads the person's group
  role, organisation membership, location consent, the group's sites and their last check (for
  the travel check), then writes the record and the day's row in one transaction; on SQLite the
  transaction's first statement takes the one write lock, so the rush queues there. Every
  record is counted afterwards.
- The cooperation rows seed 100,000 published posts (twelve cities, sixteen fields, every kind;
  segmented by jieba as the module does) straight into the database, then time searches and
  nearby queries over HTTP as a signed-in person with the location consent. A keyword query is
  segmented the same way; on SQLite the full-text matches are taken first (a materialised CTE)
  and then joined, filtered and sorted; on PostgreSQL the GIN index on the \`simple\` tsvector
  does the same. Nearby reads the posts in a bounding box on the (latitude, longitude) index and
  ranks them by great-circle distance in the server.
MD
cat BENCHMARKS.md
