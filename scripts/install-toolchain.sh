#!/usr/bin/env bash
# Run by `npm install` / `npm ci` (postinstall): makes sure the Temporal dev server and the
# time-skipping test server are available. Idempotent and fast once cached.
set -euo pipefail
cd "$(dirname "$0")"
[ "${FLEET_SKIP_TOOLCHAIN:-}" = "1" ] && { echo "[toolchain] FLEET_SKIP_TOOLCHAIN=1: skipped" >&2; exit 0; }
cli="$(bash ensure-temporal-cli.sh)"
ts="$(bash ensure-test-server.sh)"
echo "[toolchain] temporal CLI: $cli ($("$cli" --version 2>/dev/null | head -1))" >&2
echo "[toolchain] test server launcher: $ts" >&2
