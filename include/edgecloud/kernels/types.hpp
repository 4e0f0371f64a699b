// SPDX-License-Identifier: Apache-2.0
// Element types of weights and activations, the GGML Q8_0 block, and scalar fp16/bf16
// conversions. Plain values only: nothing here owns memory.
//
// Q8_0 (GGML): a row of n values is n/32 blocks; block k holds an fp16 scale d and 32 int8 q,
// value j of the block is d * q[j]. Quantization picks d = max|x| / 127 so q spans [-127, 127].
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "edgecloud/error.hpp"

namespace edgecloud::kernels {

// GGML type ids (the values GGUF stores in a tensor's type field).
enum class dtype : uint32_t { f32 = 0, f16 = 1, q8_0 = 8, bf16 = 30 };

inline constexpr size_t q8_0_block_size = 32;

struct block_q8_0 {
  uint16_t d;     // IEEE binary16 scale
  int8_t qs[32];  // quantized values
};
static_assert(sizeof(block_q8_0) == 34, "GGML Q8_0 blocks are 34 bytes, packed");
static_assert(alignof(block_q8_0) == 2);

inline const char* dtype_name(dtype t) noexcept {
  switch (t) {
    case dtype::f32:
      return "F32";
    case dtype::f16:
      return "F16";
    case dtype::q8_0:
      return "Q8_0";
    case dtype::bf16:
      return "BF16";
  }
  return "unknown";
}

inline bool is_supported_dtype(uint32_t id) noexcept {
  return id == 0 || id == 1 || id == 8 || id == 30;
}

// IEEE binary16 -> binary32, exact for every input (subnormals, infinities, NaN payloads).
inline float fp16_to_fp32(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

// binary32 -> binary16 rounding to nearest, ties to even (as F16C's vcvtps2ph with imm 0).
inline uint16_t fp32_to_fp16(float f) noexcept {
  uint32_t x = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) {  // inf or NaN (NaN stays a quiet NaN)
    return static_cast<uint16_t>(sign | 0x7c00u |
                                 (x > 0x7f800000u ? 0x200u | ((x >> 13) & 0x3ffu) : 0u));
  }
  if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (x < 0x38800000u) {
    // below 2^-14: the result is subnormal (or the smallest normal after rounding); scaling by
    // 2^24 is exact, nearbyint rounds ties to even in the default rounding mode.
    const float scaled = std::bit_cast<float>(x) * 0x1p24f;
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  // normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even
  const uint32_t odd = (x >> 13) & 1u;
  x += 0xc8000fffu + odd;
  return static_cast<uint16_t>(sign | (x >> 13));
}

inline float bf16_to_fp32(uint16_t h) noexcept {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

// binary32 -> bfloat16, round to nearest even; NaN stays NaN.
inline uint16_t fp32_to_bf16(float f) noexcept {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// Bytes of one weight row of n_cols values. Throws config_error for Q8_0 when n_cols is not a
// multiple of 32 (GGUF can not store such a row) and for an unknown type.
inline size_t row_bytes(dtype t, size_t n_cols) {
  switch (t) {
    case dtype::f32:
      return n_cols * 4;
    case dtype::f16:
    case dtype::bf16:
      return n_cols * 2;
    case dtype::q8_0:
      if (n_cols % q8_0_block_size != 0) {
        throw config_error("Q8_0 rows need a multiple of 32 columns, got " +
                           std::to_string(n_cols));
      }
      return n_cols / q8_0_block_size * sizeof(block_q8_0);
  }
  throw config_error("unsupported element type id " + std::to_string(static_cast<uint32_t>(t)));
}

}  // namespace edgecloud::kernels
