#!/usr/bin/env bash
# `make run`: the whole service on this machine. Starts moto on a free port, builds and starts
# the gateway (which creates the table, queues and sender from infra/template.yaml), prints the
# URL once /health answers 200. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# The same feature resolution as `make test` (`--workspace --tests`): after it, this builds nothing
# new; any narrower selection would build the AWS SDK a second time.
cargo build --quiet --workspace --tests --bin local-gateway

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MOTO_PORT="${MOTO_PORT:-$(free_port)}"
export PORT="${PORT:-3000}"
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

mkdir -p .local
# IAM enforced: each function runs as a user with its template role's actions (moto_server.py).
CPPO_IAM_TEMPLATE=infra/template.yaml .venv/bin/python scripts/moto_server.py 127.0.0.1 "$MOTO_PORT" > .local/moto.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done

target/debug/local-gateway serve > .local/gateway.log 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
    echo "CPPO service is up at http://127.0.0.1:$PORT (emulator at $AWS_ENDPOINT_URL; logs in .local/)"
    echo "Press Ctrl-C to stop."
    wait -n "${pids[@]}"
    echo "a process of the local stack exited; see .local/*.log" >&2
    exit 1
  fi
  kill -0 "${pids[1]}" 2>/dev/null || { echo "the gateway failed to start:" >&2; tail -20 .local/gateway.log >&2; exit 1; }
  sleep 0.2
done
echo "the gateway did not become healthy; see .local/gateway.log" >&2
exit 1
