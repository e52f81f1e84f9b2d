#!/usr/bin/env bash
# Fuzzes the running binary's HTTP API from its own /openapi.json with
# schemathesis (installed from PyPI when missing), once with the operator token
# and once with a member token, a bounded number of examples per operation, on a
# tenant it creates (scripts/schemathesis.toml). Fails on a server error, an
# answer that does not match the document, or a request the document allows
# that the server refuses (scripts/fuzz_hooks.py names what no document can
# say). scripts/test.sh runs it, so CI does.
#
#   scripts/fuzz.sh            # 30 examples per operation, each run at most 140 s
#   FUZZ_EXAMPLES=100 FUZZ_TIME_LIMIT_SECS=600 scripts/fuzz.sh
#   FUZZ_ARGS="--include-path-regex events" scripts/fuzz.sh   # more schemathesis options
set -euo pipefail
cd "$(dirname "$0")/.."

scripts="$PWD/scripts"
config="$scripts/schemathesis.toml"
examples="${FUZZ_EXAMPLES:-30}"
limit="${FUZZ_TIME_LIMIT_SECS:-140}"
operator="fuzz-operator-token-0123456789abcdef"
secret="fuzz-jwt-secret-0123456789abcdef0123456789abcdef"

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "schemathesis not found: installing it from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"
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
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
tenant="$(field "$created" tenant_id)"
owner="$(field "$created" owner_id)"
member="$(ROLLCALL_JWT_SECRET="$secret" target/debug/rollcall token --tenant "$tenant" --user "$owner" --data-dir "$data")"
# A second, active member for the operations on one member (`{u}`): invited,
# and accepted with the link the mailer wrote to the outbox.
curl -fsS -X POST "$base/v1/tenants/$tenant/invitations" -H "Authorization: Bearer $operator" \
  -H 'Content-Type: application/json' \
  -d '{"email": "second@fuzz.test", "display_name": "Second", "roles": ["user"]}' >/dev/null
for _ in $(seq 100); do
  ls "$data"/outbox/*.eml >/dev/null 2>&1 && break
  sleep 0.1
done
link_token="$(grep -ho 'token=[A-Za-z0-9._-]*' "$data"/outbox/*.eml | tail -1 | cut -d= -f2)"
accepted="$(curl -fsS -X POST "$base/v1/invitations/accept" -H 'Content-Type: application/json' \
  -d "{\"token\": \"$link_token\"}")"
export FUZZ_TENANT="$tenant" FUZZ_MEMBER="$(field "$accepted" user_id)"

status=0
for token in "$operator" "$member"; do
  # From the temp dir: schemathesis keeps its cache in the working directory.
  (cd "$data" && SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH="$scripts" timeout "$limit" schemathesis --config-file "$config" \
    run "$base/openapi.json" \
    --header "Authorization: Bearer $token" \
    --max-examples "$examples" \
    --checks not_a_server_error,response_schema_conformance,positive_data_acceptance \
    --generation-deterministic ${FUZZ_ARGS:-}) \
    || status=$?
done
exit "$status"
