// SPDX-License-Identifier: Apache-2.0
// Assembles one architecture's kernel_table from the templates instantiated for Arch.
// INTERNAL: included only by ../arch/*.cpp, last among the kernel headers.
#pragma once

namespace edgecloud::kernels::simd {
namespace {

template <class Arch>
EDGECLOUD_SIMD_ENTRY void matvec(dtype t, const void* W, size_t n, const float* x,
                                 const block_q8_0* xq, float* y, size_t r0, size_t r1) {
  if (t == dtype::q8_0) {
    q8_matmul<Arch>(W, n, 1, xq, y, 0, r0, r1);
  } else {
    float_matmul<Arch>(t, W, n, 1, x, y, 0, r0, r1);
  }
}

template <class Arch>
EDGECLOUD_SIMD_ENTRY void matmul(dtype t, const void* W, size_t n, size_t m, const float* X,
                                 const block_q8_0* Xq, float* Y, size_t ldy, size_t r0, size_t r1) {
  if (t == dtype::q8_0) {
    q8_matmul<Arch>(W, n, m, Xq, Y, ldy, r0, r1);
  } else {
    float_matmul<Arch>(t, W, n, m, X, Y, ldy, r0, r1);
  }
}

template <class Arch>
constexpr kernel_table make_table(const char* isa, int rank, uint32_t features) {
  return kernel_table{isa,
                      rank,
                      features,
                      &quantize_row_q8_0<Arch>,
                      &dequantize_row<Arch>,
                      &matvec<Arch>,
                      &matmul<Arch>,
                      &rmsnorm<Arch>,
                      &rope_neox<Arch>,
                      &softmax<Arch>,
                      &silu_mul<Arch>,
                      &attention_head<Arch>};
}

}  // namespace
}  // namespace edgecloud::kernels::simd
