// SPDX-License-Identifier: Apache-2.0
// AArch64 NEON primitives and the Q8_0 kernel for the neon64 unit (raw intrinsics where
// xsimd 8.1 has no fp16 loads or int8 dot products).
//
// Q8_0 block dot: with the ARMv8.2 dot-product extension (compile-time __ARM_FEATURE_DOTPROD)
// vdotq_s32 sums four int8 products into int32; otherwise vmull_s8/vmlal_s8 form int16 sums of
// two products (|w x| <= 128 * 127, two fit int16) widened by vpadalq_s16. Exact either way.
//
// INTERNAL: included only by ../arch/arm_neon64.cpp; internal linkage throughout.
#pragma once

namespace edgecloud::kernels::simd {
namespace {

template <class Arch>
xsimd::batch<float, Arch> load_f16(const uint16_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
template <class Arch>
xsimd::batch<float, Arch> load_bf16(const uint16_t* p) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

inline int32x4_t block_dot(const int8_t* w, const int8_t* x) {
  int32x4_t sum = vdupq_n_s32(0);
  for (int h = 0; h < 32; h += 16) {
    const int8x16_t a = vld1q_s8(w + h), b = vld1q_s8(x + h);
#if defined(__ARM_FEATURE_DOTPROD)
    sum = vdotq_s32(sum, a, b);
#else
    int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    p = vmlal_s8(p, vget_high_s8(a), vget_high_s8(b));  // |sum of 2 products| <= 32512
    sum = vpadalq_s16(sum, p);
#endif
  }
  return sum;
}

template <int R, int T>
void q8_tile(const unsigned char* W, size_t row_stride, size_t nb, const block_q8_0* X,
             size_t x_stride, float* Y, size_t ldy) {
  float32x4_t acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < T; ++i) acc[r][i] = vdupq_n_f32(0.0f);
  // Prefetch the next tile's contiguous region over this tile's blocks (see x86_ops.hpp).
  const char* next = reinterpret_cast<const char*>(W + R * row_stride);
  size_t prefetched = 0;
  for (size_t b = 0; b < nb; ++b) {
    for (const size_t target = (b + 1) * R * sizeof(block_q8_0); prefetched < target;
         prefetched += 64)
      __builtin_prefetch(next + prefetched);
    for (int r = 0; r < R; ++r) {
      const auto& wb = reinterpret_cast<const block_q8_0*>(W + r * row_stride)[b];
      const float dw = fp16_to_fp32(wb.d);
      for (int i = 0; i < T; ++i) {
        const block_q8_0& xb = X[i * x_stride + b];
        const float32x4_t sums = vcvtq_f32_s32(block_dot(wb.qs, xb.qs));
        acc[r][i] = vfmaq_n_f32(acc[r][i], sums, dw * fp16_to_fp32(xb.d));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < T; ++i) Y[i * ldy + r] = vaddvq_f32(acc[r][i]);
}

template <int R, int T>
void q8_tiles(const unsigned char* W, size_t stride, size_t nb, size_t m, const block_q8_0* Xq,
              float* Y, size_t ldy, size_t r0, size_t r1, size_t& i) {
  for (; i + T <= m; i += T) {
    size_t r = r0;
    for (; r + R <= r1; r += R)
      q8_tile<R, T>(W + r * stride, stride, nb, Xq + i * nb, nb, Y + i * ldy + r, ldy);
    for (; r < r1; ++r)
      q8_tile<1, T>(W + r * stride, stride, nb, Xq + i * nb, nb, Y + i * ldy + r, ldy);
  }
}

template <class Arch>
void q8_matmul(const void* W, size_t n, size_t m, const block_q8_0* Xq, float* Y, size_t ldy,
               size_t r0, size_t r1) {
  const auto* w = static_cast<const unsigned char*>(W);
  const size_t nb = n / q8_0_block_size, stride = nb * sizeof(block_q8_0);
  size_t i = 0;
  q8_tiles<4, 2>(w, stride, nb, m, Xq, Y, ldy, r0, r1, i);
  q8_tiles<4, 1>(w, stride, nb, m, Xq, Y, ldy, r0, r1, i);
}

}  // namespace
}  // namespace edgecloud::kernels::simd
