// SPDX-License-Identifier: Apache-2.0
// fp16/bf16 conversions against the compiler's own _Float16 / exhaustive round trips, and
// row_bytes.
#include "edgecloud/kernels/types.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace k = edgecloud::kernels;

TEST(Fp16, EveryHalfRoundTripsExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = k::fp16_to_fp32(static_cast<uint16_t>(h));
    const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
    if (nan) {
      EXPECT_TRUE(std::isnan(f)) << h;
      continue;
    }
    EXPECT_EQ(k::fp32_to_fp16(f), h) << "half 0x" << std::hex << h;
  }
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(k::fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(k::fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(k::fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(k::fp16_to_fp32(0x0001), 0x1p-24f);  // smallest subnormal
  EXPECT_EQ(k::fp16_to_fp32(0x0400), 0x1p-14f);  // smallest normal
  EXPECT_TRUE(std::isinf(k::fp16_to_fp32(0xfc00)));
  EXPECT_EQ(k::fp32_to_fp16(65519.0f), 0x7bff);             // below the halfway point to 65536
  EXPECT_EQ(k::fp32_to_fp16(65520.0f), 0x7c00);             // tie rounds to even = infinity
  EXPECT_EQ(k::fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);      // tie to even (down)
  EXPECT_EQ(k::fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);  // tie to even (up)
  EXPECT_EQ(k::fp32_to_fp16(0x1p-25f), 0x0000);             // half the smallest subnormal: tie to 0
  EXPECT_EQ(k::fp32_to_fp16(0x1.8p-25f), 0x0001);
  EXPECT_EQ(k::fp32_to_fp16(-0.0f), 0x8000);
}

#if defined(__aarch64__)
using compiler_half = __fp16;  // IEEE format by default on AArch64
#define EDGECLOUD_HAVE_COMPILER_HALF 1
#elif defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__i386__))
using compiler_half = _Float16;
#define EDGECLOUD_HAVE_COMPILER_HALF 1
#endif

#if defined(EDGECLOUD_HAVE_COMPILER_HALF)
// Independent reference: the compiler's IEEE binary16 type (round to nearest even).
TEST(Fp16, MatchesCompilerFloat16OnRandomFloats) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 2'000'000; ++i) {
    // random bit patterns cover every exponent; scale the range to hit halves often too
    float f = std::bit_cast<float>(bits(gen));
    if (i % 2) f = std::ldexp(std::fmod(f, 1.0f), static_cast<int>(bits(gen) % 48) - 30);
    if (std::isnan(f)) continue;
    const compiler_half h = static_cast<compiler_half>(f);
    uint16_t expected;
    std::memcpy(&expected, &h, 2);
    ASSERT_EQ(k::fp32_to_fp16(f), expected) << f;
  }
}
#endif

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(k::fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(k::bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(k::fp32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even below
  EXPECT_EQ(k::fp32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, even above
  EXPECT_EQ(k::fp32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_TRUE(
      std::isnan(k::bf16_to_fp32(k::fp32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // every bf16 round-trips
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;
    ASSERT_EQ(k::fp32_to_bf16(k::bf16_to_fp32(static_cast<uint16_t>(h))), h);
  }
}

TEST(RowBytes, MatchesGgml) {
  EXPECT_EQ(k::row_bytes(k::dtype::f32, 1024), 4096u);
  EXPECT_EQ(k::row_bytes(k::dtype::f16, 1024), 2048u);
  EXPECT_EQ(k::row_bytes(k::dtype::bf16, 3), 6u);
  EXPECT_EQ(k::row_bytes(k::dtype::q8_0, 1024), 32u * 34u);
  EXPECT_THROW(k::row_bytes(k::dtype::q8_0, 1000), edgecloud::config_error);
  EXPECT_THROW(k::row_bytes(static_cast<k::dtype>(2), 32), edgecloud::config_error);
}
