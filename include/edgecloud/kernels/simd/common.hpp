// SPDX-License-Identifier: Apache-2.0
// Small helpers shared by the SIMD kernel headers. INTERNAL: included only by ../arch/*.cpp
// after xsimd; internal linkage (std::min/max are avoided on purpose: their instantiations
// would be emitted with external linkage under the unit's ISA).
#pragma once

namespace edgecloud::kernels::simd {
namespace {

template <class Arch>
using fbatch = xsimd::batch<float, Arch>;

inline float max_f(float a, float b) { return a < b ? b : a; }
inline size_t min_z(size_t a, size_t b) { return b < a ? b : a; }

}  // namespace
}  // namespace edgecloud::kernels::simd
