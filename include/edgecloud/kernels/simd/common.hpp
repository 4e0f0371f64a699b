// SPDX-License-Identifier: Apache-2.0
// Small helpers shared by the SIMD kernel headers. INTERNAL: included only by ../arch/*.cpp
// after xsimd; internal linkage (std::min/max are avoided on purpose: their instantiations
// would be emitted with external linkage under the unit's ISA).
#pragma once

// Every kernel entry point (what a kernel_table points to) is flattened: all calls inside it,
// recursively, are inlined, at any optimisation level. GCC does not apply a `#pragma GCC
// target` to the hidden-friend operators of xsimd::batch (operator+, *, <<, ...), so an
// out-of-line call to one would pass the AVX register arguments by the baseline ABI (wrong
// results at -O0, seen in testing). Inlined into the entry, they compile under the entry's ISA.
#if defined(__GNUC__) || defined(__clang__)
#define EDGECLOUD_SIMD_ENTRY __attribute__((flatten))
#else
#define EDGECLOUD_SIMD_ENTRY
#endif

namespace edgecloud::kernels::simd {
namespace {

template <class Arch>
using fbatch = xsimd::batch<float, Arch>;

inline float max_f(float a, float b) {
  return a < b ? b : a;
}
inline size_t min_z(size_t a, size_t b) {
  return b < a ? b : a;
}

}  // namespace
}  // namespace edgecloud::kernels::simd
