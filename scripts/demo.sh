#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command: build, make a model, start the stand-in cloud, run the demo.
#
#   scripts/demo.sh
#
# 0. installs the packages it needs (scripts/install-deps.sh: apt-get, sudo when not root);
# 1. configures and builds the CLI and the demo (Release, -j2);
# 2. writes a random-weight Qwen3-0.6B-shaped Q8_0 model if absent (the synthetic tokenizer is
#    built in: nothing to download);
# 3. starts `edgecloud serve` (the SDK's engine behind an OpenAI-compatible API) on a free
#    loopback port as the stand-in cloud, waits for /health, stops it on exit;
# 4. routes Chinese and English requests through the assistant and prints the table and the
#    telemetry.
#
# Environment:
#   EDGECLOUD_DEMO_SHAPE=tiny        a 14 MB model instead of the 0.6B shape (seconds instead of
#                                    a minute or two on 2 cores; same flow, smaller engine)
#   EDGECLOUD_DEMO_MODEL=path.gguf   use this model on the device (e.g. a real Qwen3-0.6B Q8_0)
#   EDGECLOUD_DEMO_CLOUD_URL=URL     use this cloud (e.g. a vLLM endpoint) instead of serve
#   EDGECLOUD_DEMO_CLOUD_MODEL=NAME  the model name the cloud expects
#   EDGECLOUD_DEMO_MAX_TOKENS=N      answer budget (32), EDGECLOUD_DEMO_THREADS=N (0 = all)
#   BUILD_DIR=build                  where to build
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
SHAPE=${EDGECLOUD_DEMO_SHAPE:-qwen3-0.6b}
START=$(date +%s)

scripts/install-deps.sh build test

echo "== build ($BUILD_DIR, Release, -j2)"
cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j2 --target edgecloud_cli assistant_demo

EC="$BUILD_DIR/bin/edgecloud"
MODEL=${EDGECLOUD_DEMO_MODEL:-$BUILD_DIR/models/$SHAPE-random-q8_0.gguf}
if [[ ! -f "$MODEL" ]]; then
  echo "== make-model $MODEL"
  mkdir -p "$(dirname "$MODEL")"
  "$EC" make-model --shape "$SHAPE" --dtype q8_0 "$MODEL"
fi

SERVE_PID=
cleanup() {
  if [[ -n "$SERVE_PID" ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
    kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

CLOUD_URL=${EDGECLOUD_DEMO_CLOUD_URL:-}
if [[ -z "$CLOUD_URL" ]]; then
  # A free loopback port: ask the kernel for one, then hand it to serve.
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
  LOG="$BUILD_DIR/demo-serve.log"
  echo "== stand-in cloud: $EC serve --model $MODEL --port $PORT (log: $LOG)"
  "$EC" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --model-name qwen3-stand-in \
        --threads "${EDGECLOUD_DEMO_THREADS:-0}" --context 1024 --max-tokens 64 >"$LOG" 2>&1 &
  SERVE_PID=$!
  CLOUD_URL="http://127.0.0.1:$PORT/v1"
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVE_PID" 2>/dev/null; then echo "serve exited:"; cat "$LOG"; exit 1; fi
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "serve did not become healthy"; cat "$LOG"; exit 1; }
fi

echo "== demo"
DEMO_START=$(date +%s.%N)
"$BUILD_DIR/bin/assistant_demo" "$MODEL" "$CLOUD_URL"
DEMO_END=$(date +%s.%N)
awk -v a="$DEMO_START" -v b="$DEMO_END" -v t=$(( $(date +%s) - START )) \
  'BEGIN { printf "\n== done: demo %.1f s, whole script %d s\n", b - a, t }'
