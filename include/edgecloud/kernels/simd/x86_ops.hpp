// SPDX-License-Identifier: Apache-2.0
// x86-64 primitives and Q8_0 kernels for the AVX2 and AVX-512 units (raw intrinsics: xsimd 8.1
// has no fp16 loads and no int8 dot products). The unit defines EDGECLOUD_SIMD_AVX2 or
// EDGECLOUD_SIMD_AVX512_VNNI before including this.
//
// Q8_0 dot products (see types.hpp): per block, 32 int8 x int8 products summed exactly in
// int32, then scaled by d_w * d_x in float and accumulated in a float vector that is reduced
// once per output. The signed x signed product is formed with the unsigned x signed
// instructions by the sign trick |w| * (x * sign(w)): |w| <= 128 fits u8 and x * sign(w) stays in
// [-127, 127] because activations come from quantize_row_q8_0 (never -128).
//  - AVX2: vpmaddubsw (pairs into int16: 2 * 128 * 127 < 32767, no saturation) + vpmaddwd.
//  - AVX-512 VNNI: vpdpbusd sums four u8 x s8 products straight into int32.
//
// INTERNAL: included only by ../arch/x86_*.cpp; internal linkage throughout.
#pragma once

namespace edgecloud::kernels::simd {
namespace {

#if defined(EDGECLOUD_SIMD_AVX512_VNNI)
template <class Arch>
xsimd::batch<float, Arch> load_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
template <class Arch>
xsimd::batch<float, Arch> load_bf16(const uint16_t* p) {
  const __m512i wide =
      _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
#else
template <class Arch>
xsimd::batch<float, Arch> load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
template <class Arch>
xsimd::batch<float, Arch> load_bf16(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
#endif

inline float half_to_float(uint16_t h) {
  return _cvtsh_ss(h);
}

inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Eight int32 partial sums of the 32 products w[j] * x[j] of one block.
inline __m256i block_dot(__m256i abs_w, __m256i w, __m256i x) {
  const __m256i signed_x = _mm256_sign_epi8(x, w);
#if defined(EDGECLOUD_SIMD_AVX512_VNNI)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), abs_w, signed_x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, signed_x), _mm256_set1_epi16(1));
#endif
}

// R weight rows x T tokens, all nb blocks: each weight block is loaded once for T tokens, each
// activation block once for R rows. Decode (T = 1) is memory-bound: this streams W once.
//
// Prefetch: the R rows of a tile are one contiguous region of R * row_stride bytes, read at R
// points that advance 34 bytes per block; the next tile (rows R .. 2R-1, rows past the caller's
// range included: prefetches never fault) is the next contiguous region. Spreading prefetches of
// that whole region over this tile's blocks keeps the memory system busy a full tile ahead. The
// earlier scheme (1 KiB ahead inside each row) mostly touched lines the neighbouring row's
// stream had already loaded: sweeping 600 MB of Q8_0 rows with 2 threads it gave 7.5 GB/s, this
// one 21-24 GB/s (measured while other jobs ran; idle figures in docs/kernels.md).
template <int R, int T>
void q8_tile(const unsigned char* W, size_t row_stride, size_t nb, const block_q8_0* X,
             size_t x_stride, float* Y, size_t ldy) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < T; ++i) acc[r][i] = _mm256_setzero_ps();
  const char* next = reinterpret_cast<const char*>(W + R * row_stride);
  size_t prefetched = 0;  // bytes of the next tile already asked for
  for (size_t b = 0; b < nb; ++b) {
    for (const size_t target = (b + 1) * R * sizeof(block_q8_0); prefetched < target;
         prefetched += 64)
      _mm_prefetch(next + prefetched, _MM_HINT_T0);
    __m256i x[T];
    float dx[T];
    for (int i = 0; i < T; ++i) {
      const block_q8_0& xb = X[i * x_stride + b];
      x[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
      dx[i] = half_to_float(xb.d);
    }
    for (int r = 0; r < R; ++r) {
      const auto& wb = reinterpret_cast<const block_q8_0*>(W + r * row_stride)[b];
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qs));
      const __m256i abs_w = _mm256_abs_epi8(w);
      const float dw = half_to_float(wb.d);
      for (int i = 0; i < T; ++i) {
        const __m256 sums = _mm256_cvtepi32_ps(block_dot(abs_w, w, x[i]));
        acc[r][i] = _mm256_fmadd_ps(sums, _mm256_set1_ps(dw * dx[i]), acc[r][i]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < T; ++i) Y[i * ldy + r] = hsum256(acc[r][i]);
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

#if defined(EDGECLOUD_SIMD_AVX512_VNNI)
// Prefill on AVX-512 VNNI: a 16-row x TT-token register tile whose zmm lanes are the 16 weight
// rows. Weights are repacked once per (16 rows, KC blocks) into [block][dword t][row] order with
// a gather and offset to unsigned (w + 128, by xor 0x80); each vpdpbusd then multiplies the
// dword t of 16 rows by the same 4 activation bytes of one token, broadcast from memory. The
// offset adds 128 * sum(x) per block, removed exactly by starting the int32 sums at
// -128 * sum(x). Per block and token: 8 vpdpbusd (512 MACs), one int->float conversion and one
// FMA by d_w * d_x for 16 rows.
constexpr size_t vnni_kc = 32;   // blocks per column chunk: 16 KiB of packed weights
constexpr size_t vnni_mc = 128;  // tokens per chunk of per-token block sums
constexpr int vnni_tt = 8;       // tokens per register tile

struct vnni_packed_weights {
  alignas(64) uint8_t q[vnni_kc][8][64];  // [block][dword t][row lane: 4 bytes], w + 128
  alignas(64) float d[vnni_kc][16];       // d_w per block and row
};

inline void vnni_pack(const unsigned char* W, size_t stride, size_t rows, size_t b0, size_t kc,
                      vnni_packed_weights& pack) {
  const __mmask16 valid = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offsets =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(static_cast<int>(stride)));
  const __m512i to_unsigned = _mm512_set1_epi8(static_cast<char>(0x80));
  for (size_t kb = 0; kb < kc; ++kb) {
    const unsigned char* block = W + (b0 + kb) * sizeof(block_q8_0);
    const __m512i d = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, offsets, block, 1);
    _mm512_store_ps(pack.d[kb], _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d)));
    for (int t = 0; t < 8; ++t) {
      const __m512i q =
          _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, offsets, block + 2 + 4 * t, 1);
      _mm512_store_si512(pack.q[kb][t], _mm512_xor_si512(q, to_unsigned));  // absent rows: w = 0
    }
  }
}

// The same packing for a full tile of 16 rows without gathers: two rows per zmm (row k in the
// low 256 bits, row k + 8 in the high), then an 8 x 8 dword transpose inside each 256-bit half
// (unpack 32, unpack 64, then vpermt2q to pair 128-bit lanes), which leaves dword t of rows
// 0..15 in lane order in output t. About 3x fewer cycles than 8 gathers on Zen 4.
inline void vnni_pack_full(const unsigned char* W, size_t stride, size_t b0, size_t kc,
                           vnni_packed_weights& pack) {
  const __m512i offsets =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(static_cast<int>(stride)));
  const __m512i to_unsigned = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i lanes_even = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
  const __m512i lanes_odd = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (size_t kb = 0; kb < kc; ++kb) {
    const unsigned char* block = W + (b0 + kb) * sizeof(block_q8_0);
    const __m512i d = _mm512_i32gather_epi32(offsets, block, 1);
    _mm512_store_ps(pack.d[kb], _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d)));
    __m512i z[8], t[8], u[8];
    for (int k = 0; k < 8; ++k) {
      const auto* lo = reinterpret_cast<const __m256i*>(block + 2 + k * stride);
      const auto* hi = reinterpret_cast<const __m256i*>(block + 2 + (k + 8) * stride);
      z[k] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(lo)),
                                                 _mm256_loadu_si256(hi), 1),
                              to_unsigned);
    }
    for (int k = 0; k < 8; k += 2) {
      t[k] = _mm512_unpacklo_epi32(z[k], z[k + 1]);
      t[k + 1] = _mm512_unpackhi_epi32(z[k], z[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
      u[k] = _mm512_unpacklo_epi64(t[k], t[k + 2]);          // dword 0 (lane 0) / 4 (lane 1)
      u[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]);      // dword 1 / 5
      u[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]);  // dword 2 / 6
      u[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]);  // dword 3 / 7
    }
    for (int j = 0; j < 4; ++j) {
      _mm512_store_si512(pack.q[kb][j], _mm512_permutex2var_epi64(u[j], lanes_even, u[j + 4]));
      _mm512_store_si512(pack.q[kb][j + 4], _mm512_permutex2var_epi64(u[j], lanes_odd, u[j + 4]));
    }
  }
}

// Asks for the source of the next pack (16 row segments of kc blocks at the row stride) a few
// cache lines at a time while the current pack's tiles compute. For short prompts (m = 16) a
// pack's compute is about half the time its 17 KiB take to arrive from DRAM, so without this
// the packing loads stall; with it the next segments are in flight during the tiles.
struct vnni_prefetcher {
  const char* base = nullptr;  // first byte of the next pack's first segment
  size_t stride = 0;           // row stride
  size_t segment_lines = 0;    // cache lines per segment (kc * 34 bytes, not line aligned)
  size_t row = 0, line = 0;    // the next line to ask for
  void step(size_t lines) noexcept {
    for (; lines > 0 && row < 16; --lines) {
      _mm_prefetch(base + row * stride + line * 64, _MM_HINT_T0);
      if (++line == segment_lines) line = 0, ++row;
    }
  }
};

template <int TT>
EDGECLOUD_SIMD_ENTRY void vnni_tile(const vnni_packed_weights& pack, size_t kc, const block_q8_0* X,
                                    size_t x_stride, const int32_t* corr, const float* dx,
                                    size_t aux_stride, float* Y, size_t ldy, __mmask16 rows,
                                    bool accumulate, vnni_prefetcher& next_pack,
                                    size_t prefetch_per_block) {
  vnni_prefetcher prefetch = next_pack;  // a local copy stays in registers
  __m512 acc[TT];
  for (int i = 0; i < TT; ++i) acc[i] = _mm512_setzero_ps();
  for (size_t kb = 0; kb < kc; ++kb) {
    prefetch.step(prefetch_per_block);
    __m512i isum[TT];
    for (int i = 0; i < TT; ++i) isum[i] = _mm512_set1_epi32(corr[i * aux_stride + kb]);
    for (int t = 0; t < 8; ++t) {
      const __m512i w = _mm512_load_si512(pack.q[kb][t]);
      for (int i = 0; i < TT; ++i) {
        int32_t xd;
        std::memcpy(&xd, X[i * x_stride + kb].qs + 4 * t, 4);
        isum[i] = _mm512_dpbusd_epi32(isum[i], w, _mm512_set1_epi32(xd));
      }
    }
    const __m512 dw = _mm512_load_ps(pack.d[kb]);
    for (int i = 0; i < TT; ++i) {
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(dx[i * aux_stride + kb]));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), scale, acc[i]);
    }
  }
  for (int i = 0; i < TT; ++i) {
    float* y = Y + i * ldy;
    if (accumulate) acc[i] = _mm512_add_ps(acc[i], _mm512_maskz_loadu_ps(rows, y));
    _mm512_mask_storeu_ps(y, rows, acc[i]);
  }
  next_pack = prefetch;
}

using vnni_tile_fn = void (*)(const vnni_packed_weights&, size_t, const block_q8_0*, size_t,
                              const int32_t*, const float*, size_t, float*, size_t, __mmask16, bool,
                              vnni_prefetcher&, size_t);
constexpr vnni_tile_fn vnni_tiles[vnni_tt + 1] = {nullptr,       &vnni_tile<1>, &vnni_tile<2>,
                                                  &vnni_tile<3>, &vnni_tile<4>, &vnni_tile<5>,
                                                  &vnni_tile<6>, &vnni_tile<7>, &vnni_tile<8>};

inline void q8_matmul_vnni(const unsigned char* W, size_t stride, size_t nb, size_t m,
                           const block_q8_0* Xq, float* Y, size_t ldy, size_t r0, size_t r1) {
  vnni_packed_weights pack;
  alignas(64) int32_t corr[vnni_mc * vnni_kc];  // -128 * sum of the block's activations
  alignas(64) float dx[vnni_mc * vnni_kc];      // activation scales as float
  for (size_t i0 = 0; i0 < m; i0 += vnni_mc) {
    const size_t mc = min_z(vnni_mc, m - i0);
    for (size_t b0 = 0; b0 < nb; b0 += vnni_kc) {
      const size_t kc = min_z(vnni_kc, nb - b0);
      for (size_t i = 0; i < mc; ++i) {
        for (size_t kb = 0; kb < kc; ++kb) {
          const block_q8_0& xb = Xq[(i0 + i) * nb + b0 + kb];
          // sum of 32 signed bytes: sum((x ^ 0x80) as unsigned) - 32 * 128, by vpsadbw
          const __m256i u =
              _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs)),
                               _mm256_set1_epi8(static_cast<char>(0x80)));
          const __m256i sad = _mm256_sad_epu8(u, _mm256_setzero_si256());
          const __m128i s =
              _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
          const int32_t sum =
              static_cast<int32_t>(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1)) - 32 * 128;
          corr[i * vnni_kc + kb] = -128 * sum;
          dx[i * vnni_kc + kb] = half_to_float(xb.d);
        }
      }
      const size_t segment_lines = (kc * sizeof(block_q8_0) + 63) / 64 + 1;
      const size_t tiles = (mc + vnni_tt - 1) / vnni_tt;
      // Spread the next pack's 16 segments evenly over the blocks of this pack's tiles.
      const size_t per_block =
          std::max<size_t>(1, (16 * segment_lines + tiles * kc - 1) / (tiles * kc));
      for (size_t r = r0; r < r1; r += 16) {
        const size_t rows = min_z(16, r1 - r);
        if (rows == 16) {
          vnni_pack_full(W + r * stride, stride, b0, kc, pack);
        } else {
          vnni_pack(W + r * stride, stride, rows, b0, kc, pack);
        }
        // The next pack: the next 16 rows of this column chunk, or the first rows of the next
        // chunk (rows outside [r0, r1) included: prefetches never fault).
        vnni_prefetcher prefetch;
        prefetch.base = reinterpret_cast<const char*>(W) +
                        (r + 16 < r1 ? (r + 16) * stride + b0 * sizeof(block_q8_0)
                                     : r0 * stride + (b0 + kc) * sizeof(block_q8_0));
        prefetch.stride = stride;
        prefetch.segment_lines = segment_lines;
        const auto row_mask = static_cast<__mmask16>((1u << rows) - 1u);
        for (size_t i = 0; i < mc; i += vnni_tt) {
          const size_t tt = min_z(vnni_tt, mc - i);
          vnni_tiles[tt](pack, kc, Xq + (i0 + i) * nb + b0, nb, corr + i * vnni_kc,
                         dx + i * vnni_kc, vnni_kc, Y + (i0 + i) * ldy + r, ldy, row_mask, b0 != 0,
                         prefetch, per_block);
        }
      }
    }
  }
}
#endif

template <class Arch>
void q8_matmul(const void* W, size_t n, size_t m, const block_q8_0* Xq, float* Y, size_t ldy,
               size_t r0, size_t r1) {
  const auto* w = static_cast<const unsigned char*>(W);
  const size_t nb = n / q8_0_block_size, stride = nb * sizeof(block_q8_0);
#if defined(EDGECLOUD_SIMD_AVX512_VNNI)
  if (m >= 4) {
    q8_matmul_vnni(w, stride, nb, m, Xq, Y, ldy, r0, r1);
    return;
  }
#endif
  size_t i = 0;
  q8_tiles<4, 2>(w, stride, nb, m, Xq, Y, ldy, r0, r1, i);
  // Decode: 8 concurrent row streams (vs 4: 44-49 vs 53 ms of CPU per 632 MB, noisy box).
  q8_tiles<8, 1>(w, stride, nb, m, Xq, Y, ldy, r0, r1, i);
}

}  // namespace
}  // namespace edgecloud::kernels::simd
