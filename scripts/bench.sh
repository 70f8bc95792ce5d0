#!/usr/bin/env bash
# `make bench`: builds every function's release package, the hello-world floor, the local gateway
# and the bench harness in one cargo-lambda build (one feature resolution, one target dir), then
# runs every benchmark: a table on stdout, target/bench/results.json for tools.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
source scripts/release_env.sh

started=$(date +%s)
bins=(--bin hello-floor --bin cppo-bench --bin local-gateway)
for dir in functions/*/; do
  bins+=(--bin "$(basename "$dir")")
done
cargo lambda build --release --x86-64 --output-format zip "${bins[@]}"
echo "bench: build took $(( $(date +%s) - started )) s"

target/x86_64-unknown-linux-gnu/release/cppo-bench
echo "bench: make bench took $(( $(date +%s) - started )) s"
