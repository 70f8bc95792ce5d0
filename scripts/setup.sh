#!/usr/bin/env bash
# Installs what the tests and the local stack need, once, into a project-local virtualenv: moto
# (the AWS emulator, with its server extra) and schemathesis (the API fuzzer), both pinned. Safe to
# run again: it does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
SCHEMATHESIS_VERSION="4.32.5"
VENV=".venv"

installed() {
  [ -x "$VENV/bin/moto_server" ] && [ -x "$VENV/bin/st" ] && "$VENV/bin/python" - <<PY 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(version("moto") != "$MOTO_VERSION" or version("schemathesis") != "$SCHEMATHESIS_VERSION")
PY
}

if installed; then
  exit 0
fi
command -v python3 >/dev/null || { echo "setup: python3 is required" >&2; exit 1; }
echo "setup: installing moto[server]==$MOTO_VERSION and schemathesis==$SCHEMATHESIS_VERSION into $VENV" >&2
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
