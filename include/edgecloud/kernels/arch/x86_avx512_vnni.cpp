// SPDX-License-Identifier: Apache-2.0
// Kernel instantiation unit for AVX-512 F/BW/DQ/VL/CD + VNNI (Ice Lake, Sapphire Rapids, Zen 4).
// Compiled into every target that links edgecloud::edgecloud (see cmake/kernels.cmake and
// docs/kernels.md): with no -m flags, the target pragma below enables the ISA for the kernels
// only, and the table registers itself at static initialisation; dispatch.hpp uses it only
// when CPUID says the CPU has all of it. Everything here has internal linkage.
//
// Only in optimised builds (__OPTIMIZE__, i.e. -O1 and up): GCC does not apply the target
// pragma to xsimd's hidden-friend operators, and unoptimised code calls them out of line with
// the wrong vector ABI; clang at -O0 emits weak copies of ISA-compiled xsimd helpers the linker
// could pick for other code. At -O1+ every kernel entry is flattened (simd/common.hpp) and the
// unit defines no weak or global function at all (scripts/check-kernel-units.sh verifies it).
// Unoptimised builds therefore use the scalar reference ("generic") on x86.
#if (defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))) && defined(__OPTIMIZE__) && \
    !defined(EDGECLOUD_KERNELS_NO_DISPATCH)

// The order below is the mechanism (prologue, pragma, ISA macros, xsimd): do not sort.
// clang-format off
#include "edgecloud/kernels/arch/unit_prologue.hpp"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx512vnni,avx2,avx,fma,f16c,bmi2,sse4.2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx512vnni,avx2,avx,fma,f16c,bmi2,sse4.2")
#endif
// xsimd picks its architectures from these macros, which -m flags would have defined.
#ifndef __AVX512F__
#define __AVX512F__ 1
#endif
#ifndef __AVX512BW__
#define __AVX512BW__ 1
#endif
#ifndef __AVX512DQ__
#define __AVX512DQ__ 1
#endif
#ifndef __AVX512CD__
#define __AVX512CD__ 1
#endif
#ifndef __AVX512VL__
#define __AVX512VL__ 1
#endif
#include "edgecloud/kernels/arch/x86_avx2_macros.hpp"

#include <xsimd/xsimd.hpp>

#define EDGECLOUD_SIMD_AVX512_VNNI 1
#include "edgecloud/kernels/simd/common.hpp"
#include "edgecloud/kernels/simd/x86_ops.hpp"
#include "edgecloud/kernels/simd/float_kernels.hpp"
#include "edgecloud/kernels/simd/table.hpp"

namespace {
constexpr edgecloud::kernels::kernel_table avx512_vnni_table =
    edgecloud::kernels::simd::make_table<xsimd::avx512bw>(
        "avx512_vnni", 30,
        edgecloud::kernels::cpu_avx2 | edgecloud::kernels::cpu_avx512 | edgecloud::kernels::cpu_avx512_vnni);
}  // namespace

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// Runs on every CPU at start-up, so it is compiled for the baseline ISA (after the pop).
namespace {
const struct avx512_vnni_registrar {
  avx512_vnni_registrar() noexcept { edgecloud::kernels::detail::register_table(avx512_vnni_table); }
} avx512_vnni_registration;
}  // namespace

// clang-format on
#endif
