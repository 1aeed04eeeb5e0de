#!/usr/bin/env bash
# The API checked by the GraphQL community's own tools, against a real server: a fresh embedded
# database seeded with the demo, then the graphql-http audit (MUST and SHOULD all pass), the
# graphql-ws reference client (subscribe, pings, 4403 on token expiry, reconnect with a fresh
# token), and GraphiQL (built from web/) in headless Chromium: sign in, a query, a
# subscription. Before the server: TypeScript types generated for examples/operations and
# compiled, and the schema's evolution checked against the previous commit. Takes about 2
# minutes, most of it waiting for a one-minute access token to expire.
#
#   bash conformance/run.sh [path to the xqt binary, default target/debug/xqt]
set -euo pipefail
# The binary as given from where this was called; then work from conformance/.
bin=$(realpath "${1:-$(dirname "$0")/../target/debug/xqt}")
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
npm --prefix ../web ci --no-audit --no-fund --loglevel=error
npm --prefix ../web run build

# Typed clients and schema evolution: TypeScript types for examples/operations from the
# committed SDL (an operation that does not validate fails), compiled strictly with a client
# that uses them; then graphql-inspector against the previous commit's SDL.
npx graphql-codegen --config codegen.ts --silent
npx tsc --noEmit --strict --target es2022 --module es2022 --moduleResolution bundler --lib es2022,dom \
  typed-client.ts generated/operations.ts
echo "typed client: $(grep -cE '^export type [A-Za-z]+(Query|Mutation|Subscription) = ' generated/operations.ts) operations typed and compiled"
node schema-evolution.mjs

source ./serve.sh
start_demo_server "$bin" conformance-token-secret-of-at-least-32-chars \
  XQT_GRAPHIQL_DIR="$(realpath ../web/dist)" XQT_ACCOUNTS__ACCESS_TOKEN_MINUTES=1 XQT_WEBSOCKET__PING_INTERVAL_SECS=2

node http-audit.mjs "$base/graphql"
CONFORMANCE_XQT="$bin" node ws-client.mjs "$base"
CONFORMANCE_XQT="$bin" node ../web/browser-test.mjs "$base"
