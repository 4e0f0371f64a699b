#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian/Ubuntu packages the project needs: the one list, used by the README's first
# command (scripts/demo.sh), by .ci/run and by anyone setting up a machine by hand.
#
#   scripts/install-deps.sh [GROUP...]      groups: build test train ci (default: build test)
#   scripts/install-deps.sh --list GROUP... prints the packages, one a line, installs nothing
#
#   build  compiler, CMake, Ninja and the libraries the SDK's headers use
#   test   GoogleTest, Google Benchmark, PCRE2 (CMake's configure needs them when tests are on)
#   train  Python 3 with Debian's torch and numpy, and OpenBLAS (without it torch runs on the
#          reference BLAS, about 13x slower) for scripts/train-edge-model
#   ci     what .ci/run adds: clang for the fuzzers, qemu and an aarch64 cross compiler
#
# Packages already installed are skipped; the rest are installed with apt-get (through sudo when
# not root), after saying which. Node.js and npm (the optional `openai` client test) are not in
# any group: .ci/run installs them itself when the commands are missing.
set -euo pipefail

declare -A groups=(
  [build]="build-essential cmake ninja-build pkg-config git ca-certificates curl libxsimd-dev
           xtl-dev libeigen3-dev nlohmann-json3-dev libfmt-dev libutf8proc-dev libcpp-httplib-dev
           libssl-dev zlib1g-dev libbrotli-dev"
  [test]="libgtest-dev libgmock-dev libbenchmark-dev libpcre2-dev"
  [train]="python3 python3-torch python3-numpy libopenblas0-pthread"
  [ci]="clang-14 qemu-user g++-aarch64-linux-gnu"
)

list_only=0
if [[ "${1:-}" == "--list" ]]; then list_only=1; shift; fi
selected=("$@")
((${#selected[@]})) || selected=(build test)

packages=()
for g in "${selected[@]}"; do
  [[ -n "${groups[$g]:-}" ]] || { echo "install-deps: unknown group '$g' (build test train ci)" >&2; exit 2; }
  for p in ${groups[$g]}; do packages+=("$p"); done
done
if ((list_only)); then printf '%s\n' "${packages[@]}"; exit 0; fi

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: not a Debian/Ubuntu system (no dpkg/apt-get); install these by hand:" >&2
  printf '  %s\n' "${packages[@]}" >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "== packages: all ${#packages[@]} present (${selected[*]})"
  exit 0
fi
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
echo "== installing with apt-get (${selected[*]}): ${missing[*]}"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
