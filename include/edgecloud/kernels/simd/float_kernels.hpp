// SPDX-License-Identifier: Apache-2.0
// The kernels written once over xsimd::batch<float, Arch>: quantize/dequantize, float-weight
// matvec/matmul, rmsnorm, rope_neox, softmax, silu_mul, attention_head. Each has a scalar tail
// and computes what the matching function in reference.hpp defines.
//
// INTERNAL: included only by the per-architecture units in ../arch/, after xsimd and the arch's
// primitives (load_f16 / load_bf16 for the unit's Arch). Everything here has internal linkage
// (anonymous namespace): each unit owns its copy, compiled for its ISA, so no inline function
// compiled for AVX-512 can be picked by the linker for code that runs on other CPUs.
#pragma once

namespace edgecloud::kernels::simd {
namespace {

template <class Arch>
float reduce_max(const fbatch<Arch>& v) {
  alignas(64) float lanes[fbatch<Arch>::size];
  v.store_aligned(lanes);
  float m = lanes[0];
  for (size_t i = 1; i < fbatch<Arch>::size; ++i) m = max_f(m, lanes[i]);
  return m;
}

// One weight element or one batch of them, for the float weight types.
template <class Arch>
fbatch<Arch> load_weights(dtype t, const void* row, size_t i) {
  if (t == dtype::f16) return load_f16<Arch>(static_cast<const uint16_t*>(row) + i);
  if (t == dtype::bf16) return load_bf16<Arch>(static_cast<const uint16_t*>(row) + i);
  return fbatch<Arch>::load_unaligned(static_cast<const float*>(row) + i);
}
inline float load_weight(dtype t, const void* row, size_t i) {
  if (t == dtype::f16) return fp16_to_fp32(static_cast<const uint16_t*>(row)[i]);
  if (t == dtype::bf16) return bf16_to_fp32(static_cast<const uint16_t*>(row)[i]);
  return static_cast<const float*>(row)[i];
}

template <class Arch>
EDGECLOUD_SIMD_ENTRY void quantize_row_q8_0(const float* x, block_q8_0* y, size_t n) {
  using B = fbatch<Arch>;
  constexpr size_t W = B::size;
  static_assert(q8_0_block_size % W == 0);
  for (size_t b = 0; b < n / q8_0_block_size; ++b) {
    const float* xb = x + b * q8_0_block_size;
    B amax(0.0f);
    for (size_t j = 0; j < q8_0_block_size; j += W)
      amax = xsimd::max(amax, xsimd::abs(B::load_unaligned(xb + j)));
    const float d = reduce_max<Arch>(amax) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (size_t j = 0; j < q8_0_block_size; j += W) {
      // xsimd::round rounds halves away from zero, as std::lround in the reference
      const auto q = xsimd::to_int(xsimd::round(B::load_unaligned(xb + j) * B(id)));
      alignas(64) int32_t lanes[W];
      q.store_aligned(lanes);
      for (size_t k = 0; k < W; ++k) y[b].qs[j + k] = static_cast<int8_t>(lanes[k]);
    }
  }
}

template <class Arch>
EDGECLOUD_SIMD_ENTRY void dequantize_row(dtype t, const void* row, float* out, size_t n) {
  using B = fbatch<Arch>;
  if (t == dtype::q8_0) {
    reference::dequantize_row(t, row, out, n);  // only for embedding lookups: one row per token
    return;
  }
  size_t i = 0;
  for (; i + B::size <= n; i += B::size) load_weights<Arch>(t, row, i).store_unaligned(out + i);
  for (; i < n; ++i) out[i] = load_weight(t, row, i);
}

// R weight rows x T activation rows of float-weight dot products, one batch of columns at a
// time: each weight batch is converted once and used T times, each activation batch R times.
template <class Arch, int R, int T>
void float_tile(dtype t, const unsigned char* W, size_t row_stride, size_t n, const float* X,
                float* Y, size_t ldy) {
  using B = fbatch<Arch>;
  B acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < T; ++i) acc[r][i] = B(0.0f);
  size_t k = 0;
  for (; k + B::size <= n; k += B::size) {
    B x[T];
    for (int i = 0; i < T; ++i) x[i] = B::load_unaligned(X + i * n + k);
    for (int r = 0; r < R; ++r) {
      const B w = load_weights<Arch>(t, W + r * row_stride, k);
      for (int i = 0; i < T; ++i) acc[r][i] = xsimd::fma(w, x[i], acc[r][i]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < T; ++i) {
      float sum = xsimd::hadd(acc[r][i]);
      for (size_t j = k; j < n; ++j) sum += load_weight(t, W + r * row_stride, j) * X[i * n + j];
      Y[i * ldy + r] = sum;
    }
  }
}

template <class Arch>
void float_matmul(dtype t, const void* W, size_t n, size_t m, const float* X, float* Y, size_t ldy,
                  size_t r0, size_t r1) {
  constexpr int R = 4, T = fbatch<Arch>::size >= 16 ? 4 : 2;
  const size_t stride =
      n * (t == dtype::f32 ? 4 : 2);  // f32, f16 or bf16 (no throwing row_bytes here)
  const auto* w = static_cast<const unsigned char*>(W);
  size_t i = 0;
  for (; i + T <= m; i += T) {
    size_t r = r0;
    for (; r + R <= r1; r += R)
      float_tile<Arch, R, T>(t, w + r * stride, stride, n, X + i * n, Y + i * ldy + r, ldy);
    for (; r < r1; ++r)
      float_tile<Arch, 1, T>(t, w + r * stride, stride, n, X + i * n, Y + i * ldy + r, ldy);
  }
  for (; i < m; ++i) {
    size_t r = r0;
    for (; r + R <= r1; r += R)
      float_tile<Arch, R, 1>(t, w + r * stride, stride, n, X + i * n, Y + i * ldy + r, ldy);
    for (; r < r1; ++r)
      float_tile<Arch, 1, 1>(t, w + r * stride, stride, n, X + i * n, Y + i * ldy + r, ldy);
  }
}

template <class Arch>
EDGECLOUD_SIMD_ENTRY void rmsnorm(const float* x, const float* w, float* y, size_t n, float eps) {
  using B = fbatch<Arch>;
  B acc(0.0f);
  size_t i = 0;
  for (; i + B::size <= n; i += B::size) {
    const B v = B::load_unaligned(x + i);
    acc = xsimd::fma(v, v, acc);
  }
  float sum_sq = xsimd::hadd(acc);
  for (; i < n; ++i) sum_sq += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(sum_sq / static_cast<float>(n) + eps);
  i = 0;
  for (; i + B::size <= n; i += B::size) {
    (B::load_unaligned(x + i) * B(scale) * B::load_unaligned(w + i)).store_unaligned(y + i);
  }
  for (; i < n; ++i) y[i] = x[i] * scale * w[i];
}

// sin and cos of |r| <= pi (Cephes sinf/cosf: quadrant by round(r * 2/pi), three-part
// Cody-Waite reduction to |y| <= pi/4, degree-7/8 minimax polynomials; about 1 ulp). Written
// here rather than xsimd::sincos, whose huge-argument path instantiates non-inline-able scalar
// helpers that are not specific to the ISA (see scripts/check-kernel-units.sh).
template <class Arch>
void sincos_reduced(const fbatch<Arch>& r, fbatch<Arch>& sin_out, fbatch<Arch>& cos_out) {
  using B = fbatch<Arch>;
  const B j = xsimd::nearbyint(r * B(0.63661977236758134308f));  // quadrant, in [-2, 2]
  B y = xsimd::fnma(j, B(1.5703125f), r);
  y = xsimd::fnma(j, B(4.837512969970703125e-4f), y);
  y = xsimd::fnma(j, B(7.54978995489188216e-8f), y);
  const B z = y * y;
  const B s = xsimd::fma(xsimd::fma(xsimd::fma(B(-1.9515295891e-4f), z, B(8.3321608736e-3f)), z,
                                    B(-1.6666654611e-1f)) *
                             z,
                         y, y);
  const B c =
      xsimd::fma(xsimd::fma(xsimd::fma(B(2.443315711809948e-5f), z, B(-1.388731625493765e-3f)), z,
                            B(4.166664568298827e-2f)) *
                     z,
                 z, xsimd::fnma(B(0.5f), z, B(1.0f)));
  const B q = j - B(4.0f) * xsimd::floor(j * B(0.25f));  // quadrant mod 4, in {0, 1, 2, 3}
  const auto odd = (q == B(1.0f)) || (q == B(3.0f));
  const B sin_base = xsimd::select(odd, c, s), cos_base = xsimd::select(odd, s, c);
  sin_out = xsimd::select(q >= B(2.0f), -sin_base, sin_base);
  cos_out = xsimd::select((q == B(1.0f)) || (q == B(2.0f)), -cos_base, cos_base);
}

template <class Arch>
EDGECLOUD_SIMD_ENTRY void rope_neox(float* x, size_t n_heads, size_t head_dim, int pos,
                                    float freq_base) {
  using B = fbatch<Arch>;
  constexpr size_t max_half = 256;
  const size_t half = head_dim / 2;
  if (half > max_half) {
    reference::rope_neox(x, n_heads, head_dim, pos, freq_base);
    return;
  }
  // The angles once per call: theta_i = pos * base^(-2i/d) in double (the frequencies by
  // repeated multiplication: 64 steps cost ~1e-14 relative), reduced to [-pi, pi] in double, so
  // that a float sin/cos sees a small, accurate argument (a float angle would already be off
  // by ~2e-3 rad at pos 3e4). 1.7 -> 0.25 us per call versus double pow/sin/cos per pair.
  alignas(64) float cos_t[max_half], sin_t[max_half];
  constexpr double two_pi = 6.283185307179586476925286766559;
  const double ratio = std::pow(double(freq_base), -2.0 / double(head_dim));
  double inv_freq = 1.0;
  const size_t padded = (half + B::size - 1) / B::size * B::size;  // max_half is a multiple
  for (size_t i = 0; i < padded; ++i, inv_freq *= ratio) {
    const double theta = i < half ? pos * inv_freq : 0.0;
    sin_t[i] = static_cast<float>(theta - std::nearbyint(theta / two_pi) * two_pi);
  }
  for (size_t j = 0; j < padded; j += B::size) {
    B sin_v, cos_v;
    sincos_reduced<Arch>(B::load_aligned(sin_t + j), sin_v, cos_v);
    sin_v.store_aligned(sin_t + j);
    cos_v.store_aligned(cos_t + j);
  }
  for (size_t h = 0; h < n_heads; ++h) {
    float* lo = x + h * head_dim;
    float* hi = lo + half;
    size_t i = 0;
    for (; i + B::size <= half; i += B::size) {
      const B a = B::load_unaligned(lo + i), b = B::load_unaligned(hi + i);
      const B c = B::load_aligned(cos_t + i), s = B::load_aligned(sin_t + i);
      xsimd::fms(a, c, b * s).store_unaligned(lo + i);
      xsimd::fma(a, s, b * c).store_unaligned(hi + i);
    }
    for (; i < half; ++i) {
      const float a = lo[i], b = hi[i];
      lo[i] = a * cos_t[i] - b * sin_t[i];
      hi[i] = a * sin_t[i] + b * cos_t[i];
    }
  }
}

template <class Arch>
EDGECLOUD_SIMD_ENTRY void softmax(float* x, size_t n) {
  using B = fbatch<Arch>;
  if (n == 0) return;
  float max = x[0];
  size_t i = 0;
  if (n >= B::size) {
    B vmax = B::load_unaligned(x);
    for (i = B::size; i + B::size <= n; i += B::size)
      vmax = xsimd::max(vmax, B::load_unaligned(x + i));
    max = reduce_max<Arch>(vmax);
  }
  for (; i < n; ++i) max = max_f(max, x[i]);
  B vsum(0.0f);
  i = 0;
  for (; i + B::size <= n; i += B::size) {
    const B e = xsimd::exp(B::load_unaligned(x + i) - B(max));
    e.store_unaligned(x + i);
    vsum += e;
  }
  float sum = xsimd::hadd(vsum);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  i = 0;
  for (; i + B::size <= n; i += B::size) (B::load_unaligned(x + i) * B(inv)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= inv;
}

template <class Arch>
EDGECLOUD_SIMD_ENTRY void silu_mul(const float* gate, const float* up, float* y, size_t n) {
  using B = fbatch<Arch>;
  size_t i = 0;
  for (; i + B::size <= n; i += B::size) {
    const B g = B::load_unaligned(gate + i);
    (g / (B(1.0f) + xsimd::exp(-g)) * B::load_unaligned(up + i)).store_unaligned(y + i);
  }
  for (; i < n; ++i) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// attention_head for one K/V element type (float or uint16_t = f16), so no type test runs in
// the inner loops.
//  - Scores: 4 positions at a time, independent accumulators (xsimd 8.1's haddp, which would
//    reduce B::size of them at once, returns its AVX-512 lanes out of order: not used).
//  - Output: kept in 4 registers per pass over the positions (no load/store of `out` per
//    position).
// Profiled on intent classification (23 new positions after a ~80-token cached prefix): the old
// per-position loop was 15 % of the request's CPU time.
template <class Arch, class KvT>
void attention_head_typed(const float* q, const KvT* K, const KvT* V, size_t stride, size_t n_pos,
                          size_t head_dim, float scale, float* scores, float* out) {
  using B = fbatch<Arch>;
  constexpr size_t W = B::size;
  auto load = [](const KvT* p) {
    if constexpr (std::is_same_v<KvT, uint16_t>) {
      return load_f16<Arch>(p);
    } else {
      return B::load_unaligned(p);
    }
  };
  auto load1 = [](const KvT* p) {
    if constexpr (std::is_same_v<KvT, uint16_t>) {
      return fp16_to_fp32(*p);
    } else {
      return *p;
    }
  };
  const size_t vec_end = head_dim - head_dim % W;
  size_t p = 0;
  for (; p + 4 <= n_pos; p += 4) {
    B a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    const KvT* k = K + p * stride;
    for (size_t i = 0; i < vec_end; i += W) {
      const B qi = B::load_unaligned(q + i);
      a0 = xsimd::fma(qi, load(k + i), a0);
      a1 = xsimd::fma(qi, load(k + stride + i), a1);
      a2 = xsimd::fma(qi, load(k + 2 * stride + i), a2);
      a3 = xsimd::fma(qi, load(k + 3 * stride + i), a3);
    }
    float d[4] = {xsimd::hadd(a0), xsimd::hadd(a1), xsimd::hadd(a2), xsimd::hadd(a3)};
    for (size_t j = 0; j < 4; ++j) {
      for (size_t i = vec_end; i < head_dim; ++i) d[j] += q[i] * load1(k + j * stride + i);
      scores[p + j] = d[j] * scale;
    }
  }
  for (; p < n_pos; ++p) {
    const KvT* k = K + p * stride;
    B acc(0.0f);
    for (size_t i = 0; i < vec_end; i += W)
      acc = xsimd::fma(B::load_unaligned(q + i), load(k + i), acc);
    float dot = xsimd::hadd(acc);
    for (size_t i = vec_end; i < head_dim; ++i) dot += q[i] * load1(k + i);
    scores[p] = dot * scale;
  }
  softmax<Arch>(scores, n_pos);
  size_t i = 0;
  for (; i + 4 * W <= head_dim; i += 4 * W) {
    B a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    for (size_t t = 0; t < n_pos; ++t) {
      const B w(scores[t]);
      const KvT* v = V + t * stride + i;
      a0 = xsimd::fma(w, load(v), a0);
      a1 = xsimd::fma(w, load(v + W), a1);
      a2 = xsimd::fma(w, load(v + 2 * W), a2);
      a3 = xsimd::fma(w, load(v + 3 * W), a3);
    }
    a0.store_unaligned(out + i);
    a1.store_unaligned(out + i + W);
    a2.store_unaligned(out + i + 2 * W);
    a3.store_unaligned(out + i + 3 * W);
  }
  for (; i + W <= head_dim; i += W) {
    B a(0.0f);
    for (size_t t = 0; t < n_pos; ++t) a = xsimd::fma(B(scores[t]), load(V + t * stride + i), a);
    a.store_unaligned(out + i);
  }
  for (; i < head_dim; ++i) {
    float a = 0.0f;
    for (size_t t = 0; t < n_pos; ++t) a += scores[t] * load1(V + t * stride + i);
    out[i] = a;
  }
}

template <class Arch>
EDGECLOUD_SIMD_ENTRY void attention_head(const float* q, const void* K, const void* V, dtype kv,
                                         size_t stride, size_t n_pos, size_t head_dim, float scale,
                                         float* scores, float* out) {
  if (kv == dtype::f16) {
    attention_head_typed<Arch>(q, static_cast<const uint16_t*>(K), static_cast<const uint16_t*>(V),
                               stride, n_pos, head_dim, scale, scores, out);
  } else {
    attention_head_typed<Arch>(q, static_cast<const float*>(K), static_cast<const float*>(V),
                               stride, n_pos, head_dim, scale, scores, out);
  }
}

}  // namespace
}  // namespace edgecloud::kernels::simd
