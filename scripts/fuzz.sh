#!/usr/bin/env bash
# Fuzzes the running binary's HTTP API from its own /openapi.json with
# schemathesis (installed from PyPI when missing), once with the operator token
# and once with a member token, a bounded number of examples per operation.
# Fails on a server error, an answer that does not match the document, or a
# request the document allows that the server refuses.
#
#   scripts/fuzz.sh            # 10 examples per operation
#   FUZZ_EXAMPLES=50 scripts/fuzz.sh
#
# Not yet part of .ci/run: the document still disagrees with the server in
# places (see the issue on fuzzing), so the run reports those first.
set -euo pipefail
cd "$(dirname "$0")/.."

examples="${FUZZ_EXAMPLES:-10}"
limit="${FUZZ_TIME_LIMIT_SECS:-240}"
operator="fuzz-operator-token-0123456789abcdef"
secret="fuzz-jwt-secret-0123456789abcdef0123456789abcdef"

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "schemathesis not found: installing it from PyPI" >&2
  python3 -m pip install --quiet "schemathesis==4.32.5"
fi

cargo build --locked --quiet --bin rollcall
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
ROLLCALL_OPERATOR_TOKEN="$operator" ROLLCALL_JWT_SECRET="$secret" \
  ROLLCALL_COMMANDS_PER_MEMBER=100000 ROLLCALL_COMMANDS_PER_IP=100000 RUST_LOG=error \
  target/debug/rollcall serve --listen "127.0.0.1:$port" --data-dir "$data" >"$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

# A tenant, so that the member token names a real member.
created="$(curl -fsS -X POST "$base/v1/tenants" -H "Authorization: Bearer $operator" \
  -H 'Content-Type: application/json' \
  -d '{"name": "Fuzz", "catalog": "jtek", "owner": {"email": "owner@fuzz.test", "display_name": "Owner"}}')"
tenant="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["tenant_id"])' "$created")"
owner="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["owner_id"])' "$created")"
member="$(ROLLCALL_JWT_SECRET="$secret" target/debug/rollcall token --tenant "$tenant" --user "$owner" --data-dir "$data")"

status=0
for token in "$operator" "$member"; do
  # From the temp dir: schemathesis keeps its cache in the working directory.
  (cd "$data" && timeout "$limit" schemathesis run "$base/openapi.json" \
    --header "Authorization: Bearer $token" \
    --max-examples "$examples" \
    --checks not_a_server_error,response_schema_conformance,positive_data_acceptance \
    --generation-deterministic) \
    || status=$?
done
exit "$status"
