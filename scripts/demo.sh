#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command: build, get a model, start the stand-in cloud, run the demo.
#
#   scripts/demo.sh
#
# By default the demo runs the edge model trained here on CLINC150 (docs/training.md):
# 0. installs the packages it needs (scripts/install-deps.sh build test train);
# 1. configures and builds the CLI (Release, -j2);
# 2. trains the model once if build/edge-model/manifest.json is absent (scripts/train-edge-model:
#    minutes), then reuses it;
# 3. starts `edgecloud serve --backend echo` on a free loopback port as the stand-in cloud;
# 4. routes requests through the assistant (`edgecloud route --model ... --config
#    routing-intent.json --labels <the manifest's>`): each row shows the engine's own intent and
#    confidence, in-scope requests are answered on the device (the device action is the
#    intent), out-of-scope ones go to the cloud; one request runs under the domain adapter
#    (--lora domain.lora.gguf); the table says which adapter served each row.
#
# The random-weight path (speed figures only; its intents are noise): EDGECLOUD_DEMO_RANDOM=1,
# or EDGECLOUD_DEMO_SHAPE / EDGECLOUD_DEMO_MODEL set:
#   EDGECLOUD_DEMO_SHAPE=tiny        a 14 MB model instead of the 0.6B shape (seconds instead of
#                                    a minute or two on 2 cores; same flow, smaller engine)
#   EDGECLOUD_DEMO_MODEL=path.gguf   use this model on the device (e.g. a real Qwen3-0.6B Q8_0)
#   EDGECLOUD_DEMO_CLOUD_URL=URL     use this cloud (e.g. a vLLM endpoint) instead of serve
#   EDGECLOUD_DEMO_CLOUD_MODEL=NAME  the model name the cloud expects
#   EDGECLOUD_DEMO_MAX_TOKENS=N      answer budget (32), EDGECLOUD_DEMO_THREADS=N (0 = all)
#   BUILD_DIR=build                  where to build
#   EDGECLOUD_DEMO_EDGE_DIR=DIR      the trained model's directory (default $BUILD_DIR/edge-model)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
SHAPE=${EDGECLOUD_DEMO_SHAPE:-qwen3-0.6b}
START=$(date +%s)

if [[ -z "${EDGECLOUD_DEMO_RANDOM:-}" && -z "${EDGECLOUD_DEMO_SHAPE:-}" && -z "${EDGECLOUD_DEMO_MODEL:-}" ]]; then
  exec scripts/demo-trained.sh
fi

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

source scripts/stand-in-cloud.sh
CLOUD_URL=${EDGECLOUD_DEMO_CLOUD_URL:-}
[[ -n "$CLOUD_URL" ]] || start_stand_in_cloud "$EC" "$BUILD_DIR/demo-serve.log" --model "$MODEL" \
  --model-name qwen3-stand-in --threads "${EDGECLOUD_DEMO_THREADS:-0}" --context 1024 --max-tokens 64

echo "== demo"
DEMO_START=$(date +%s.%N)
"$BUILD_DIR/bin/assistant_demo" "$MODEL" "$CLOUD_URL"
DEMO_END=$(date +%s.%N)
awk -v a="$DEMO_START" -v b="$DEMO_END" -v t=$(( $(date +%s) - START )) \
  'BEGIN { printf "\n== done: demo %.1f s, whole script %d s\n", b - a, t }'
