# Shared shell helpers for the toolchain scripts (sourced, not run).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=toolchain.env
. "$here/toolchain.env"
# Per-user cache so every clone on this machine reuses one build.
FLEET_TOOLS_DIR="${FLEET_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fleet-orchestrator}"
TEMPORAL_CLI_DIR="$FLEET_TOOLS_DIR/temporal-cli-$TEMPORAL_CLI_VERSION"
TEST_SERVER_DIR="$FLEET_TOOLS_DIR/temporal-test-server-$TEMPORAL_TEST_SERVER_VERSION"
log() { printf '[toolchain] %s\n' "$*" >&2; }
TEMPORAL_SERVER_DIR="$FLEET_TOOLS_DIR/temporal-server-$TEMPORAL_SERVER_VERSION"
