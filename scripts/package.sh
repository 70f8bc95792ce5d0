#!/usr/bin/env bash
# Builds a release Lambda package per function with cargo-lambda, linking with zig against the
# Lambda runtime's glibc: target/lambda/<function>/bootstrap.zip, what `sam build` would make.
# ARCH=arm64 builds for Graviton where the aarch64-unknown-linux-gnu target is installed
# (`rustup target add aarch64-unknown-linux-gnu`); this machine only has x86_64.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
source scripts/release_env.sh

case "${ARCH:-x86_64}" in
  x86_64) arch_flag="--x86-64" ;;
  arm64) arch_flag="--arm64" ;;
  *) echo "package: ARCH must be x86_64 or arm64" >&2; exit 2 ;;
esac

# Every function crate's binary is named after its folder.
bins=()
for dir in functions/*/; do
  bins+=(--bin "$(basename "$dir")")
done
cargo lambda build --release "$arch_flag" --output-format zip "${bins[@]}"
for dir in functions/*/; do
  name="$(basename "$dir")"
  ls -l "target/lambda/$name/bootstrap.zip" | awk -v n="$name" '{printf "package: %-20s %8d bytes\n", n, $5}'
done
