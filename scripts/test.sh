#!/usr/bin/env bash
# `make test`: the format and lint gates, the template's lint, then every unit and end-to-end test.
#
# Everything builds with one feature resolution for the whole workspace (`--workspace --tests`):
# any other selection resolves crate features (dev-dependencies included) differently and rebuilds
# the AWS SDK. The build also makes the `query` binary, which a test starts under a Lambda Runtime
# API; the release packages are `make package`'s and `make bench`'s. The emulator and tools
# install into .venv while cargo builds.
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
cargo test --workspace --tests
echo "test: make test took $(($(date +%s) - started)) s"
