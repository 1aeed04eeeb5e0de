#!/usr/bin/env bash
# Schemathesis (PyPI) fuzzes the running server from the committed SDL: every root field with
# generated arguments, anonymously, as a signed-in student and as a company owner of the demo.
# Passes when no answer is a 5xx or an error without a code or with INTERNAL (the check in
# schemathesis_hooks.py, which also generates our custom scalars) and, read from the server's
# /metrics afterwards, none was counted there either; prints how many examples ran.
#
#   bash conformance/schemathesis.sh [path to the xqt binary] [examples per field and viewer]
set -euo pipefail
bin=$(realpath "${1:-$(dirname "$0")/../target/debug/xqt}")
per_field=${2:-4}
cd "$(dirname "$0")"
sdl=$(realpath ../schema/schema.graphql)

venv=${SCHEMATHESIS_VENV:-$(mktemp -d)/venv}
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'schemathesis==4.32.5'
fi

source ./serve.sh
# Tokens outlive the run; the SMS code limits do not stop three sign-ins.
start_demo_server "$bin" schemathesis-token-secret-of-at-least-32-chars XQT_ACCOUNTS__ACCESS_TOKEN_MINUTES=120

sign_in() {
  local phone=$1 code
  curl -sf "$base/graphql" -H 'content-type: application/json' \
    -d "{\"query\":\"mutation { requestSignInCode(phone: \\\"$phone\\\") }\"}" >/dev/null
  code=$("$bin" sms last --phone "$phone" | sed -n 's/^code: \([0-9]\{6\}\)$/\1/p')
  curl -sf "$base/graphql" -H 'content-type: application/json' \
    -d "{\"query\":\"mutation { signInWithCode(input: { phone: \\\"$phone\\\", code: \\\"$code\\\", device: { deviceId: \\\"fuzz-$phone\\\" } }) { accessToken } }\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["signInWithCode"]["accessToken"])'
}
student=$(sign_in 13800000005)
owner=$(sign_in 13800000001)

run() {
  local who=$1 out
  shift
  out=$(mktemp)
  # Fields that end the viewer's own session or account would leave the rest of the run
  # anonymous; they are fuzzed anonymously and in the end-to-end tests.
  if ! SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$PWD" \
    "$venv/bin/schemathesis" --no-color run "$sdl" --url "$base/graphql" --phases examples,fuzzing \
    --checks no_internal_error --max-examples "$per_field" --workers 2 --request-timeout 10 \
    --exclude-name-regex 'signOut|cancelAccount|requestAccountCancellation|submitPrivacyRequest|revokeSession' \
    "$@" >"$out" 2>&1; then
    cat "$out"
    echo "schemathesis FAILED as $who" >&2
    exit 1
  fi
  echo "schemathesis as $who: $(grep -E '^  [0-9]+ generated' "$out" | xargs) ($(grep -E '^Seed:' "$out"))"
  rm -f "$out"
}
run anonymous
run "a student" -H "Authorization: Bearer $student"
run "a company owner" -H "Authorization: Bearer $owner"

metrics=$(curl -sf "$base/metrics")
requests=$(printf '%s\n' "$metrics" | awk '/^xqt_http_requests_total\{route="\/graphql"/ { n += $2 } END { print n + 0 }')
internal=$(printf '%s\n' "$metrics" | awk '/^xqt_graphql_errors_total\{code="INTERNAL"\}/ { n += $2 } END { print n + 0 }')
server_errors=$(printf '%s\n' "$metrics" | awk '/^xqt_http_requests_total\{.*status="5/ { n += $2 } END { print n + 0 }')
echo "schemathesis: $requests requests to /graphql, $internal INTERNAL errors, $server_errors 5xx answers"
if [ "$requests" -lt 500 ]; then
  echo "schemathesis FAILED: fewer than 500 examples ran" >&2
  exit 1
fi
if [ "$internal" -ne 0 ] || [ "$server_errors" -ne 0 ]; then
  echo "schemathesis FAILED: the server answered INTERNAL or 5xx; its log:" >&2
  grep -i 'internal\|error' "$dir/server.log" | tail -n 20 >&2 || true
  exit 1
fi
