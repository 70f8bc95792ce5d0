#!/usr/bin/env bash
# `make test`: the format and lint gates, the template's lint, then every unit and end-to-end test.
#
# Everything builds with one feature resolution for the whole workspace (`--workspace --tests`):
# any other selection resolves crate features (dev-dependencies included) differently and rebuilds
# the AWS SDK. The build also makes the `query` binary, which a test starts under a Lambda Runtime
# API; the release packages are `make package`'s and `make bench`'s. The emulator and tools
# install into .venv while cargo builds. The schemathesis run, the longest test by far and mostly
# waiting on the emulator, runs beside the others.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

scripts/setup.sh &
setup=$!
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --tests --bin query
wait "$setup"
echo "test: gates and build took $(($(date +%s) - started)) s"

.venv/bin/cfn-lint infra/template.yaml

fuzz=$(cargo test --workspace --tests --no-run --message-format=json 2>/dev/null |
  .venv/bin/python -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "fuzz" and m.get("executable"):
        print(m["executable"])')
[ -x "$fuzz" ] || { echo "test: the schemathesis test binary was not found" >&2; exit 1; }
fuzz_log=$(mktemp)
(cd tests && "$fuzz" >"$fuzz_log" 2>&1) &
fuzzing=$!

status=0
cargo test --workspace --tests -- --skip schemathesis_finds_no_server_error || status=$?
wait "$fuzzing" || status=$?
echo "     Running tests/fuzz.rs ($fuzz)"
cat "$fuzz_log"
echo "test: make test took $(($(date +%s) - started)) s"
exit "$status"
