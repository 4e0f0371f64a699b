// SPDX-License-Identifier: Apache-2.0
// Softmax (in place, max-subtracted so exp never overflows) and the SwiGLU gate
// y = silu(g) * u, silu(g) = g / (1 + e^-g). Callers own the buffers; y may alias gate or up.
#pragma once

#include "edgecloud/kernels/dispatch.hpp"

namespace edgecloud::kernels {

inline void softmax(float* x, size_t n) {
  active_table().softmax(x, n);
}

inline void silu_mul(const float* gate, const float* up, float* y, size_t n) {
  active_table().silu_mul(gate, up, y, n);
}

}  // namespace edgecloud::kernels
