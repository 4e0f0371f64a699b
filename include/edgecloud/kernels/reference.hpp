// SPDX-License-Identifier: Apache-2.0
// Scalar reference kernels: the definition of what every SIMD kernel computes, written for
// clarity, not speed. Tests hold each SIMD instantiation against these, and these against an
// independent double-precision computation. They are also the "generic" dispatch entry, used on
// CPUs without any SIMD instantiation. Callers own all buffers; nothing is allocated.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "edgecloud/kernels/types.hpp"

namespace edgecloud::kernels::reference {

// GGML's quantize_row_q8_0_ref: d = max|x|/127, q = round(x/d) in [-127, 127].
inline void quantize_row_q8_0(const float* x, block_q8_0* y, size_t n) {
  for (size_t b = 0; b < n / q8_0_block_size; ++b) {
    const float* xb = x + b * q8_0_block_size;
    float amax = 0.0f;
    for (size_t j = 0; j < q8_0_block_size; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (size_t j = 0; j < q8_0_block_size; ++j) {
      y[b].qs[j] = static_cast<int8_t>(std::lround(xb[j] * id));
    }
  }
}

inline void dequantize_row(dtype t, const void* row, float* out, size_t n) {
  switch (t) {
    case dtype::f32:
      std::memcpy(out, row, n * sizeof(float));
      return;
    case dtype::f16: {
      const auto* h = static_cast<const uint16_t*>(row);
      for (size_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(h[i]);
      return;
    }
    case dtype::bf16: {
      const auto* h = static_cast<const uint16_t*>(row);
      for (size_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(h[i]);
      return;
    }
    case dtype::q8_0: {
      const auto* blocks = static_cast<const block_q8_0*>(row);
      for (size_t i = 0; i < n; ++i) {
        const block_q8_0& blk = blocks[i / q8_0_block_size];
        out[i] = fp16_to_fp32(blk.d) * static_cast<float>(blk.qs[i % q8_0_block_size]);
      }
      return;
    }
  }
}

namespace detail {

inline float weight_at(dtype t, const void* row, size_t i) {
  switch (t) {
    case dtype::f32:
      return static_cast<const float*>(row)[i];
    case dtype::f16:
      return fp16_to_fp32(static_cast<const uint16_t*>(row)[i]);
    case dtype::bf16:
      return bf16_to_fp32(static_cast<const uint16_t*>(row)[i]);
    case dtype::q8_0:
      break;
  }
  return 0.0f;
}

// W[r,:]·x. Q8_0: sum over blocks of d_w * d_x * (integer dot of the 32 q pairs), as GGML's
// ggml_vec_dot_q8_0_q8_0; the integer part is exact, only the scaling and block sum round.
inline float row_dot(dtype t, const void* W, size_t n, size_t r, const float* x,
                     const block_q8_0* xq) {
  const auto* row = static_cast<const unsigned char*>(W) + r * row_bytes(t, n);
  if (t == dtype::q8_0) {
    const auto* w = reinterpret_cast<const block_q8_0*>(row);
    float sum = 0.0f;
    for (size_t b = 0; b < n / q8_0_block_size; ++b) {
      int32_t isum = 0;
      for (size_t j = 0; j < q8_0_block_size; ++j) {
        isum += static_cast<int32_t>(w[b].qs[j]) * static_cast<int32_t>(xq[b].qs[j]);
      }
      sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(xq[b].d) * static_cast<float>(isum);
    }
    return sum;
  }
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) sum += weight_at(t, row, i) * x[i];
  return sum;
}

}  // namespace detail

inline void matvec(dtype t, const void* W, size_t n, const float* x, const block_q8_0* xq, float* y,
                   size_t r0, size_t r1) {
  for (size_t r = r0; r < r1; ++r) y[r] = detail::row_dot(t, W, n, r, x, xq);
}

inline void matmul(dtype t, const void* W, size_t n, size_t m, const float* X, const block_q8_0* Xq,
                   float* Y, size_t ldy, size_t r0, size_t r1) {
  for (size_t i = 0; i < m; ++i) {
    const float* x = X ? X + i * n : nullptr;
    const block_q8_0* xq = Xq ? Xq + i * (n / q8_0_block_size) : nullptr;
    for (size_t r = r0; r < r1; ++r) Y[i * ldy + r] = detail::row_dot(t, W, n, r, x, xq);
  }
}

// RMSNorm: y = x / sqrt(mean(x^2) + eps) * w.
inline void rmsnorm(const float* x, const float* w, float* y, size_t n, float eps) {
  float sum_sq = 0.0f;
  for (size_t i = 0; i < n; ++i) sum_sq += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(sum_sq / static_cast<float>(n) + eps);
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

// NeoX rotary embedding: the pair (x[i], x[i + d/2]) of every head is rotated by the angle
// pos * freq_base^(-2i/d), i < d/2 (the "rotate_half" form of GPT-NeoX / Qwen / Llama-HF).
inline void rope_neox(float* x, size_t n_heads, size_t head_dim, int pos, float freq_base) {
  const size_t half = head_dim / 2;
  for (size_t i = 0; i < half; ++i) {
    // The angle in double: at pos ~ 3e4 a float angle would already be off by ~2e-3 rad.
    const double theta = pos * std::pow(double(freq_base), -2.0 * double(i) / double(head_dim));
    const auto c = static_cast<float>(std::cos(theta)), s = static_cast<float>(std::sin(theta));
    for (size_t h = 0; h < n_heads; ++h) {
      float* head = x + h * head_dim;
      const float a = head[i], b = head[i + half];
      head[i] = a * c - b * s;
      head[i + half] = a * s + b * c;
    }
  }
}

// Softmax, stabilised by subtracting the maximum (exp never overflows; the largest term is 1).
inline void softmax(float* x, size_t n) {
  if (n == 0) return;
  float max = x[0];
  for (size_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

// SwiGLU gate: y = silu(g) * u with silu(g) = g / (1 + e^-g).
inline void silu_mul(const float* gate, const float* up, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// One query head against n_pos cached keys/values: out = softmax(scale * K q)^T V.
inline void attention_head(const float* q, const void* K, const void* V, dtype kv, size_t stride,
                           size_t n_pos, size_t head_dim, float scale, float* scores, float* out) {
  const size_t elem = kv == dtype::f16 ? 2 : 4;
  const auto* k_bytes = static_cast<const unsigned char*>(K);
  const auto* v_bytes = static_cast<const unsigned char*>(V);
  for (size_t p = 0; p < n_pos; ++p) {
    const void* k = k_bytes + p * stride * elem;
    float dot = 0.0f;
    for (size_t i = 0; i < head_dim; ++i) dot += q[i] * detail::weight_at(kv, k, i);
    scores[p] = dot * scale;
  }
  softmax(scores, n_pos);
  for (size_t i = 0; i < head_dim; ++i) out[i] = 0.0f;
  for (size_t p = 0; p < n_pos; ++p) {
    const void* v = v_bytes + p * stride * elem;
    for (size_t i = 0; i < head_dim; ++i) out[i] += scores[p] * detail::weight_at(kv, v, i);
  }
}

}  // namespace edgecloud::kernels::reference
