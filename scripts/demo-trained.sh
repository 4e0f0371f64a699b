#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo on real weights (scripts/demo.sh runs this by default): the edge model trained on
# CLINC150 by scripts/train-edge-model (trained once, cached in $EDGECLOUD_DEMO_EDGE_DIR,
# default build/edge-model), the stand-in cloud (`edgecloud serve --backend echo`, or
# EDGECLOUD_DEMO_CLOUD_URL), every request through `edgecloud route --model`.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
EDGE_DIR=${EDGECLOUD_DEMO_EDGE_DIR:-$BUILD_DIR/edge-model}
THREADS=${EDGECLOUD_DEMO_THREADS:-2}
START=$(date +%s)

scripts/install-deps.sh build test train

echo "== build ($BUILD_DIR, Release, -j2)"
cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j2 --target edgecloud_cli
EC="$BUILD_DIR/bin/edgecloud"

if [[ ! -f "$EDGE_DIR/manifest.json" ]]; then
  echo "== training the edge model once (scripts/train-edge-model $EDGE_DIR; cached afterwards)"
  scripts/train-edge-model "$EDGE_DIR" --edgecloud "$EC"
fi
# The manifest's labels, comma-separated (any python3 reads JSON; torch is not needed here).
labels() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(",".join(m["tasks"][sys.argv[2]]["labels"]))' "$EDGE_DIR/manifest.json" "$1"; }
INTENTS=$(labels intent)
DOMAINS=$(labels domain)

source scripts/stand-in-cloud.sh
CLOUD_URL=${EDGECLOUD_DEMO_CLOUD_URL:-}
[[ -n "$CLOUD_URL" ]] || start_stand_in_cloud "$EC" "$BUILD_DIR/demo-serve.log" --backend echo

route() {  # route CONFIG LABELS [extra args]: JSON lines in, JSON lines out
  local config=$1 labels=$2; shift 2
  "$EC" route --model "$EDGE_DIR/edge-q8_0.gguf" --config "$EDGE_DIR/$config" --labels "$labels" \
    --cloud-url "$CLOUD_URL" --cloud-model "${EDGECLOUD_DEMO_CLOUD_MODEL:-}" --no-safety-check \
    --edge-max-tokens 1 --threads "$THREADS" --context 512 --jsonl "$@"
}

echo "== demo: $EDGE_DIR (trained on CLINC150), cloud $CLOUD_URL"
OUT="$BUILD_DIR/demo-trained.jsonl"
{
  # In scope: answered on the device with the engine's intent.
  printf '%s\n' '{"text": "what is the balance of my checking account"}' \
    '{"text": "set an alarm for 6 thirty tomorrow morning"}' \
    '{"text": "how do you say thank you very much in japanese"}' \
    '{"text": "my card got declined at the store, why"}' \
    '{"text": "play some music by the beatles"}' \
    '{"text": "what is the weather going to be like tomorrow"}' \
    '{"text": "book a table for four at an italian restaurant tonight"}' \
  | route routing-intent.json "$INTENTS" | sed 's/^/{"adapter": "base (intent)", "r": /; s/$/}/'
  # Out of scope: no device intent, the cloud answers.
  printf '%s\n' '{"text": "write me a short poem about the sea"}' \
    '{"text": "why did the roman empire fall"}' \
    '{"text": "what is the best way to learn to play chess"}' \
  | route routing-intent.json "$INTENTS" | sed 's/^/{"adapter": "base (intent)", "r": /; s/$/}/'
  # The second task on the same base, under the domain adapter.
  printf '%s\n' '{"text": "transfer 200 dollars from savings to checking"}' \
  | route routing-domain.json "$DOMAINS" --lora "$EDGE_DIR/domain.lora.gguf" \
  | sed 's/^/{"adapter": "domain.lora.gguf (domain)", "r": /; s/$/}/'
} >"$OUT"
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| request | served by | engine label | confidence | route | answer |")
print("|---|---|---|---|---|---|")
for row in rows:
    r = row["r"]
    text = r.get("rewritten_query") or ""
    answer = ("device action: " + r["intent"]) if r["route"] == "edge" else r.get("answer", "")
    print("| %s | %s | %s | %.3f | %s (%s) | %s |" % (
        text, row["adapter"], r["intent"], r["confidence"], r["route"], r["rule"],
        answer.replace("\n", " ")[:60]))
PY
echo
echo "== done in $(( $(date +%s) - START )) s (rows: $OUT)"
