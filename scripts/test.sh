#!/usr/bin/env bash
# Runs Rollcall's whole test suite on a fresh machine: installs what the tests run
# besides cargo from the distribution's packages when it is missing — nats-server
# (the JetStream tests start their own server on an ephemeral port), curl and
# python3 (the docs' walk-throughs run as written, tests/e2e/walkthrough.rs), and
# Chromium with its WebDriver (the console's browser test, tests/e2e/console.rs) —
# then runs every test of the workspace, and (without arguments) fuzzes the HTTP
# API from its OpenAPI document (scripts/fuzz.sh: schemathesis, from PyPI when
# missing, bounded to a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  missing+=(nats-server)
fi
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "${missing[*]} not found: installing from the distribution's packages" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

export PATH="$PATH:/usr/sbin"
cargo test --workspace --locked "$@"
if [ $# -eq 0 ]; then
  ./scripts/fuzz.sh
fi
