#!/usr/bin/env bash
# Provides the full Temporal server, its SQL schema tool and the Web UI server (the cluster profile,
# FLEET_STACK=cluster): the cached build, else `go install` of go.temporal.io/server and
# github.com/temporalio/ui-server/v2 (neither go.mod has a `replace` directive) into the tools cache.
# Prints the folder holding `temporal-server`, `temporal-sql-tool` and `temporal-ui-server` on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin="$TEMPORAL_SERVER_DIR/bin"
if [ -x "$bin/temporal-server" ] && [ -x "$bin/temporal-sql-tool" ] && [ -x "$bin/temporal-ui-server" ]; then echo "$bin"; exit 0; fi
if ! command -v go >/dev/null 2>&1; then
  log "The Temporal server is not built and Go is not installed: install Go >= 1.25, then re-run: npm run postinstall"
  exit 1
fi
log "building Temporal server $TEMPORAL_SERVER_VERSION, temporal-sql-tool and UI server $TEMPORAL_UI_VERSION with go install (first time only, several minutes)"
mkdir -p "$bin"
tmp="$(mktemp -d "$TEMPORAL_SERVER_DIR/build.XXXXXX")"
# One module, one version: both commands in one go install. Built into a temp dir and moved into
# place, so an interrupted build never leaves a broken binary.
GOBIN="$tmp" GOFLAGS=-mod=mod go install \
  "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" \
  "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" >&2
# The UI's command is also called `server`: its own folder.
GOBIN="$tmp/ui" GOFLAGS=-mod=mod go install "github.com/temporalio/ui-server/v2/cmd/server@$TEMPORAL_UI_VERSION" >&2
mv "$tmp/sql" "$bin/temporal-sql-tool"
mv "$tmp/ui/server" "$bin/temporal-ui-server"
mv "$tmp/server" "$bin/temporal-server"
rm -rf "$tmp"
log "Temporal server ready: $bin"
echo "$bin"
