// SPDX-License-Identifier: Apache-2.0
// Activation quantization to Q8_0 and weight-row dequantization (see types.hpp for the Q8_0
// layout). Callers own the buffers.
#pragma once

#include "edgecloud/kernels/dispatch.hpp"

namespace edgecloud::kernels {

// Quantizes n floats (n % 32 == 0) to n/32 blocks: d = max|x|/127, q = round(x/d).
inline void quantize_row_q8_0(const float* x, block_q8_0* y, size_t n) {
  active_table().quantize_row_q8_0(x, y, n);
}

// Expands one row of n values of type t to floats.
inline void dequantize_row(dtype t, const void* row, float* out, size_t n) {
  active_table().dequantize_row(t, row, out, n);
}

}  // namespace edgecloud::kernels
