#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks the link hygiene of the x86 kernel units (include/edgecloud/kernels/arch/x86_*.cpp),
# which are compiled into every target that links edgecloud with ISA-raising target pragmas:
#  1. at -O1/-O2/-O3/-Os they define no weak or global function (so the linker can never pick
#     an AVX-512-compiled copy of an inline function for other code, and two targets of one
#     program never clash), only local kernels and a registrar;
#  2. the static initializer (runs on every CPU) contains no VEX/EVEX instruction;
#  3. the AVX-512 unit really contains zmm code and vpdpbusd; the AVX2 unit no zmm;
#  4. at -O0 they compile to nothing (see the comment in the units).
# Usage: scripts/check-kernel-units.sh   (uses g++ and clang++-14 when present)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
for cxx in g++ clang++-14; do
  command -v "$cxx" >/dev/null || continue
  for opt in -O0 -O1 -O2 -O3 -Os; do
    for unit in x86_avx2 x86_avx512_vnni; do
      obj=$tmp/$unit.o
      "$cxx" -std=c++20 $opt -Iinclude -c include/edgecloud/kernels/arch/$unit.cpp -o "$obj"
      what="$cxx $opt $unit"
      if [ "$opt" = -O0 ]; then
        [ -z "$(nm "$obj" | grep -E ' [tT] ' || true)" ] || bad "$what: expected no code at -O0"
        continue
      fi
      # 1. only local symbols, plus references to the inline registry variables
      exported=$(nm -C "$obj" | grep -E ' [TWVDBRui] ' | grep -vE 'DW\.ref\.__gxx_personality|kernels::detail::(registry|active_cache)' || true)
      [ -z "$exported" ] || bad "$what exports: $exported"
      # 2. static initialisation runs on any CPU
      init=$(objdump -d --no-show-raw-insn "$obj" | awk '/<_GLOBAL__sub_I/{f=1} f&&/^$/{f=0} f')
      [ -n "$init" ] || bad "$what: no static initializer (registrar missing?)"
      if grep -qE '\s(v[a-z0-9]+)\s|[xyz]mm|%k[0-7]' <<<"$init"; then bad "$what: vector code in the static initializer"; fi
      # 3. the ISA actually used
      code=$(objdump -d --no-show-raw-insn "$obj")
      if [ $unit = x86_avx512_vnni ]; then
        grep -q zmm <<<"$code" || bad "$what: no zmm code"
        grep -q vpdpbusd <<<"$code" || bad "$what: no vpdpbusd"
      else
        if grep -q zmm <<<"$code"; then bad "$what: zmm code in the AVX2 unit"; fi
        grep -q ymm <<<"$code" || bad "$what: no ymm code"
      fi
      echo "ok: $what"
    done
  done
done
exit $fail
