// SPDX-License-Identifier: Apache-2.0
// Kernel instantiation unit for AArch64 Advanced SIMD (NEON is part of the AArch64 baseline, so
// no target pragma is needed). Compiled into every target that links edgecloud::edgecloud
// (see cmake/kernels.cmake); registers its table at static initialisation. Internal linkage
// throughout. With -march=armv8.2-a+dotprod (or later) the Q8_0 dot uses SDOT.
#if defined(__aarch64__) && !defined(EDGECLOUD_KERNELS_NO_DISPATCH)

// The order below is the mechanism (prologue, pragma, ISA macros, xsimd): do not sort.
// clang-format off
#include "edgecloud/kernels/arch/unit_prologue.hpp"

#include <xsimd/xsimd.hpp>

#define EDGECLOUD_SIMD_NEON64 1
#include "edgecloud/kernels/simd/common.hpp"
#include "edgecloud/kernels/simd/neon_ops.hpp"
#include "edgecloud/kernels/simd/float_kernels.hpp"
#include "edgecloud/kernels/simd/table.hpp"

namespace {
constexpr edgecloud::kernels::kernel_table neon64_table =
    edgecloud::kernels::simd::make_table<xsimd::neon64>("neon64", 20, edgecloud::kernels::cpu_neon64);

const struct neon64_registrar {
  neon64_registrar() noexcept { edgecloud::kernels::detail::register_table(neon64_table); }
} neon64_registration;
}  // namespace

// clang-format on
#endif
