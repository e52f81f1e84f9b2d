#!/usr/bin/env bash
# Runs Rollcall's whole test suite on a fresh machine: installs nats-server from the
# distribution's packages when it is missing (the JetStream tests start their own
# server on an ephemeral port), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "nats-server not found: installing it from the distribution's packages" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server
fi

export PATH="$PATH:/usr/sbin"
cargo test --workspace --locked "$@"
