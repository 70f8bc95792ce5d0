#!/usr/bin/env bash
# Installs what the local stack needs, once: moto (pinned, with its server extra) in a
# project-local virtualenv. Safe to run again: it does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
VENV=".venv"

if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  exit 0
fi
command -v python3 >/dev/null || { echo "setup: python3 is required" >&2; exit 1; }
echo "setup: installing moto[server]==$MOTO_VERSION into $VENV" >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
