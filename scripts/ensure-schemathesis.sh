#!/usr/bin/env bash
# Provides schemathesis (PyPI, pinned by SCHEMATHESIS_VERSION in toolchain.env) in a Python venv in
# the per-user tools cache, for the API fuzz test. Idempotent: installs once, then only prints.
# Prints the path of its `st` CLI on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir="$FLEET_TOOLS_DIR/schemathesis-$SCHEMATHESIS_VERSION"
st="$dir/bin/st"
if [ -x "$st" ] && [ -f "$dir/.complete" ]; then echo "$st"; exit 0; fi

command -v python3 >/dev/null 2>&1 || { log "python3 (with the venv module) is required to install schemathesis"; exit 1; }
log "installing schemathesis $SCHEMATHESIS_VERSION into a venv (first time only)"
# A venv is not relocatable, so it is built in place; .complete marks a finished install, and a
# half-built one (interrupted) is removed and built again.
rm -rf "$dir"; mkdir -p "$FLEET_TOOLS_DIR"
python3 -m venv "$dir" >&2
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
"$st" --version >&2
touch "$dir/.complete"
log "schemathesis ready: $st"
echo "$st"
