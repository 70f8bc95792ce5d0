#!/usr/bin/env bash
# Installs what the tests and the local stack need, once, into a project-local virtualenv, all
# pinned: moto (the AWS emulator, with its server extra), schemathesis (the API fuzzer), cfn-lint
# (the template's linter) and cargo-lambda (with zig, for the Lambda packages). Safe to run
# again: it does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
SCHEMATHESIS_VERSION="4.32.5"
CFN_LINT_VERSION="1.58.0"
CARGO_LAMBDA_VERSION="1.9.2"
VENV=".venv"

installed() {
  [ -x "$VENV/bin/moto_server" ] && [ -x "$VENV/bin/st" ] && "$VENV/bin/python" - <<PY 2>/dev/null
import sys
from importlib.metadata import version
wanted = {"moto": "$MOTO_VERSION", "schemathesis": "$SCHEMATHESIS_VERSION", "cfn-lint": "$CFN_LINT_VERSION", "cargo-lambda": "$CARGO_LAMBDA_VERSION"}
sys.exit(any(version(name) != v for name, v in wanted.items()))
PY
}

if installed; then
  exit 0
fi
command -v python3 >/dev/null || { echo "setup: python3 is required" >&2; exit 1; }
echo "setup: installing moto, schemathesis, cfn-lint and cargo-lambda into $VENV" >&2
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "schemathesis==$SCHEMATHESIS_VERSION" \
  "cfn-lint==$CFN_LINT_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION"
