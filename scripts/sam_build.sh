#!/usr/bin/env bash
# `make sam-build`: runs `sam build` exactly as the README gives it, with aws-sam-cli in a
# virtualenv of its own (.venv-sam: its pins of boto3 and click clash with moto's) and
# cargo-lambda from .venv, then checks that every function of the template got its bootstrap.
# ARCH=arm64 builds for Graviton where the aarch64 target is installed; this machine has x86_64.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

SAM_VERSION="1.170.0"
VENV=".venv-sam"
if ! "$VENV/bin/python" -c "from importlib.metadata import version; import sys; sys.exit(version('aws-sam-cli') != '$SAM_VERSION')" 2>/dev/null; then
  echo "sam-build: installing aws-sam-cli $SAM_VERSION into $VENV" >&2
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_VERSION"
fi

export SAM_CLI_TELEMETRY=0 PATH="$PWD/.venv/bin:$PATH"
source scripts/release_env.sh
started=$(date +%s)
"$VENV/bin/sam" build --parameter-overrides "Architecture=${ARCH:-x86_64}"
echo "sam-build: sam build took $(($(date +%s) - started)) s"

# Every function resource of the template, built: .aws-sam/build/<LogicalId>/bootstrap.
functions=$(.venv/bin/python - <<'PY'
import yaml

class Loader(yaml.SafeLoader):
    pass

Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
template = yaml.load(open("infra/template.yaml"), Loader=Loader)
print(" ".join(name for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"))
PY
)
[ -n "$functions" ] || { echo "sam-build: the template has no functions" >&2; exit 1; }
for name in $functions; do
  bootstrap=".aws-sam/build/$name/bootstrap"
  [ -x "$bootstrap" ] || { echo "sam-build: $bootstrap is missing" >&2; exit 1; }
  printf 'sam-build: %-28s %9d bytes\n' "$name" "$(stat -c %s "$bootstrap")"
done
