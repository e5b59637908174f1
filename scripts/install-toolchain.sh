#!/usr/bin/env bash
# Run by `npm install` / `npm ci` (postinstall): makes sure the Temporal dev server, the
# time-skipping test server and the full Temporal server (cluster profile) are available. Idempotent and fast once cached.
set -euo pipefail
cd "$(dirname "$0")"
[ "${FLEET_SKIP_TOOLCHAIN:-}" = "1" ] && { echo "[toolchain] FLEET_SKIP_TOOLCHAIN=1: skipped" >&2; exit 0; }
cli="$(bash ensure-temporal-cli.sh)"
ts="$(bash ensure-test-server.sh)"
# Only the cluster profile needs it: without Go the rest still installs, and the cluster profile says why it cannot start.
server="$(bash ensure-temporal-server.sh)" || server="not available (see the message above)"
echo "[toolchain] temporal CLI: $cli ($("$cli" --version 2>/dev/null | head -1))" >&2
echo "[toolchain] test server launcher: $ts" >&2
echo "[toolchain] Temporal server (cluster profile): $server" >&2
