# SPDX-License-Identifier: Apache-2.0
# Sourced by the demo scripts: starts `edgecloud serve` on a free loopback port as the stand-in
# cloud, waits for /health, and stops it when the calling script exits.
#
#   source scripts/stand-in-cloud.sh
#   start_stand_in_cloud EC LOG [serve options...]   # sets SERVE_PID and CLOUD_URL
SERVE_PID=
stop_stand_in_cloud() {
  if [[ -n "$SERVE_PID" ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
    kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
  fi
}
trap stop_stand_in_cloud EXIT INT TERM

start_stand_in_cloud() {
  local ec=$1 log=$2 port
  shift 2
  # A free loopback port: ask the kernel for one, then hand it to serve.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
  echo "== stand-in cloud: $ec serve $* --port $port (log: $log)"
  "$ec" serve "$@" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
  SERVE_PID=$!
  CLOUD_URL="http://127.0.0.1:$port/v1"
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "serve exited:"; cat "$log"; exit 1; }
    sleep 0.2
  done
  echo "serve did not become healthy"; cat "$log"; exit 1
}
