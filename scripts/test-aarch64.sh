#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-compiles the kernel tests (tests/kernels/*_test.cpp, with the neon64 unit) for aarch64
# with g++-aarch64-linux-gnu and runs them under qemu-aarch64, so the NEON kernels are checked
# against the scalar reference on every CI run. GoogleTest is not packaged for arm64 here, so it
# is compiled from /usr/src/googletest. xsimd and Eigen are header-only and shared with the host.
# Usage: scripts/test-aarch64.sh [build-dir]   (default build-aarch64; reruns are incremental)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-build-aarch64}
CXX=${CXX_AARCH64:-aarch64-linux-gnu-g++}
QEMU=${QEMU_AARCH64:-qemu-aarch64}
GTEST_SRC=${GTEST_SRC:-/usr/src/googletest}
for tool in "$CXX" "$QEMU"; do
  command -v "$tool" >/dev/null || { echo "test-aarch64: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)"; exit 1; }
done
[ -d "$GTEST_SRC/googletest" ] || { echo "test-aarch64: no GoogleTest sources in $GTEST_SRC (apt-get install googletest)"; exit 1; }

mkdir -p "$out/include"
# Only the header-only libraries the kernel tests use, never the host's whole /usr/include.
ln -sfn /usr/include/xsimd "$out/include/xsimd"
ln -sfn /usr/include/eigen3/Eigen "$out/include/Eigen"
flags=(-std=c++20 -O2 -pthread -I"$root/include" -I"$root/tests" -I"$out/include"
       -isystem "$GTEST_SRC/googletest/include" -isystem "$GTEST_SRC/googlemock/include"
       -DEDGECLOUD_SOURCE_DIR="\"$root\"" -DEDGECLOUD_BINARY_DIR="\"$root/$out\"")

compile() {  # compile SRC OBJ, skipped when OBJ is newer than SRC and every header under include/
  local src=$1 obj=$2
  if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && [ -z "$(find include tests/kernels -newer "$obj" -print -quit)" ]; then return; fi
  "$CXX" "${flags[@]}" -c "$src" -o "$obj"
}

echo "== aarch64: GoogleTest"
[ -f "$out/gtest-all.o" ] || "$CXX" "${flags[@]}" -I"$GTEST_SRC/googletest" -c "$GTEST_SRC/googletest/src/gtest-all.cc" -o "$out/gtest-all.o"
[ -f "$out/gtest_main.o" ] || "$CXX" "${flags[@]}" -c "$GTEST_SRC/googletest/src/gtest_main.cc" -o "$out/gtest_main.o"
compile include/edgecloud/kernels/arch/arm_neon64.cpp "$out/arm_neon64.o"

tests=(tests/kernels/*_test.cpp)
export CXX out root
export -f compile 2>/dev/null || true
# Compile the test objects two at a time (the CI machine has two cores).
printf '%s\n' "${tests[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c '
  set -e; src={}; name=kernels_$(basename "$src" .cpp)
  '"$(declare -p flags)"'
  '"$(declare -f compile)"'
  compile "$src" "$out/$name.o"'

status=0
for src in "${tests[@]}"; do
  name=kernels_$(basename "$src" .cpp)
  echo "== aarch64: $name"
  "$CXX" -pthread "$out/$name.o" "$out/arm_neon64.o" "$out/gtest-all.o" "$out/gtest_main.o" -o "$out/$name"
  # The dispatch test asserts the neon64 table is present, so a silently missing unit fails.
  if ! timeout 240 "$QEMU" -L /usr/aarch64-linux-gnu "$out/$name" --gtest_brief=1; then
    echo "FAILED: $name under qemu-aarch64"
    status=1
  fi
done
[ $status = 0 ] && echo "== aarch64: all kernel tests passed"
exit $status
