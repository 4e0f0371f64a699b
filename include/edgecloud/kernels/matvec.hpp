// SPDX-License-Identifier: Apache-2.0
// Weight matrix times activations, the hot path of the model (decode: matvec, memory-bound;
// prefill: matmul, compute-bound). W is `rows` rows of n columns, row-major, each row
// row_bytes(t, n) bytes (GGUF dims {n, rows}). Only rows [r0, r1) are computed so threads can
// split the rows. The caller owns W, the activations and the outputs.
//
// Q8_0 weights: activations must come quantized with quantize_row_q8_0 (xq / Xq); the result
// is sum_b d_w[b] * d_x[b] * sum_j q_w[b][j] * q_x[b][j] (GGML's q8_0 x q8_0 dot product).
// Float weights (f32, f16, bf16): activations in x / X as floats (xq / Xq may be null).
#pragma once

#include <string>

#include "edgecloud/kernels/dispatch.hpp"

namespace edgecloud::kernels {

namespace detail {
inline void check_weights(dtype t, size_t n, const void* x, const block_q8_0* xq) {
  if (!is_supported_dtype(static_cast<uint32_t>(t))) {
    throw config_error("matvec: unsupported weight type id " +
                       std::to_string(static_cast<uint32_t>(t)));
  }
  if (t == dtype::q8_0 && (n % q8_0_block_size != 0 || xq == nullptr)) {
    throw config_error("matvec: Q8_0 weights need n % 32 == 0 and Q8_0-quantized activations");
  }
  if (t != dtype::q8_0 && x == nullptr) {
    throw config_error(std::string("matvec: ") + dtype_name(t) + " weights need float activations");
  }
}
}  // namespace detail

// y[r] = W[r,:]·x for r in [r0, r1).
inline void matvec(dtype t, const void* W, size_t n, const float* x, const block_q8_0* xq, float* y,
                   size_t r0, size_t r1) {
  detail::check_weights(t, n, x, xq);
  active_table().matvec(t, W, n, x, xq, y, r0, r1);
}

// Y[i*ldy + r] = W[r,:]·X[i,:] for i < m, r in [r0, r1). X is m x n row-major; Xq holds m rows
// of n/32 blocks.
inline void matmul(dtype t, const void* W, size_t n, size_t m, const float* X, const block_q8_0* Xq,
                   float* Y, size_t ldy, size_t r0, size_t r1) {
  detail::check_weights(t, n, X, Xq);
  active_table().matmul(t, W, n, m, X, Xq, Y, ldy, r0, r1);
}

}  // namespace edgecloud::kernels
