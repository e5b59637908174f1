#!/usr/bin/env bash
# Provides the Temporal CLI (dev server). Order: $FLEET_TEMPORAL_CLI, `temporal` on PATH,
# the cached build, then `go install` into the cache. Prints the binary's path on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -n "${FLEET_TEMPORAL_CLI:-}" ]; then
  [ -x "$FLEET_TEMPORAL_CLI" ] || { log "FLEET_TEMPORAL_CLI=$FLEET_TEMPORAL_CLI is not an executable"; exit 1; }
  echo "$FLEET_TEMPORAL_CLI"; exit 0
fi
if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi
bin="$TEMPORAL_CLI_DIR/bin/temporal"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<MSG
[toolchain] No Temporal CLI found and Go is not installed, so it cannot be built.
[toolchain] Provide one of:
[toolchain]   - a 'temporal' binary on PATH (https://docs.temporal.io/cli), or
[toolchain]   - FLEET_TEMPORAL_CLI=/path/to/temporal, or
[toolchain]   - Go >= 1.23, then re-run: npm run postinstall
MSG
  exit 1
fi
log "building Temporal CLI $TEMPORAL_CLI_VERSION with go install (first time only, a few minutes)"
mkdir -p "$TEMPORAL_CLI_DIR/bin"
tmp="$(mktemp -d "$TEMPORAL_CLI_DIR/build.XXXXXX")"
# Build into a temp dir and move into place, so an interrupted build never leaves a broken binary.
GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" >&2
mv "$tmp/temporal" "$bin"
rm -rf "$tmp"
log "Temporal CLI ready: $bin"
echo "$bin"
