// SPDX-License-Identifier: Apache-2.0
// NeoX RoPE: the reference against a double-precision rotation, every ISA against the
// reference. Per output: cos/sin rounded to float (u each) and a*c - b*s (3 roundings):
// |error| <= 6u (|a| + |b|). Head sizes include odd head counts and head_dim 128 (Qwen3) / 64.
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

using namespace edgecloud::testing;

namespace {
struct shape {
  size_t heads, dim;
};
constexpr shape shapes[] = {{1, 2}, {3, 16}, {1, 64}, {16, 128}, {8, 128}, {5, 96}};
constexpr int positions[] = {0, 1, 7, 1000, 32767};
}  // namespace

TEST(RopeReference, RotatesPairsByTheNeoxAngles) {
  for (auto [heads, dim] : shapes) {
    for (int pos : positions) {
      const auto x = random_floats(heads * dim, uint32_t(pos + dim));
      auto y = x;
      k::reference::rope_neox(y.data(), heads, dim, pos, 1e6f);
      const size_t half = dim / 2;
      for (size_t h = 0; h < heads; ++h) {
        for (size_t i = 0; i < half; ++i) {
          const double theta = pos * std::pow(1e6, -2.0 * double(i) / double(dim));
          const double a = x[h * dim + i], b = x[h * dim + i + half];
          const double tol = 6 * unit_roundoff * (std::fabs(a) + std::fabs(b));
          EXPECT_NEAR(y[h * dim + i], a * std::cos(theta) - b * std::sin(theta), tol);
          EXPECT_NEAR(y[h * dim + i + half], a * std::sin(theta) + b * std::cos(theta), tol);
        }
      }
    }
  }
}

class RopePerIsa : public ::testing::TestWithParam<const k::kernel_table*> {};

TEST_P(RopePerIsa, MatchesReference) {
  for (auto [heads, dim] : shapes) {
    for (int pos : positions) {
      for (float base : {10000.0f, 1e6f}) {
        const auto x = random_floats(heads * dim + 1, uint32_t(pos * 3 + dim), -3.0f, 3.0f);
        auto got = x, want = x;
        GetParam()->rope_neox(got.data(), heads, dim, pos, base);
        k::reference::rope_neox(want.data(), heads, dim, pos, base);
        const size_t half = dim / 2;
        for (size_t h = 0; h < heads; ++h) {
          for (size_t i = 0; i < half; ++i) {
            const double mag = std::fabs(x[h * dim + i]) + std::fabs(x[h * dim + i + half]);
            ASSERT_NEAR(got[h * dim + i], want[h * dim + i], 12 * unit_roundoff * mag);
            ASSERT_NEAR(got[h * dim + i + half], want[h * dim + i + half],
                        12 * unit_roundoff * mag);
          }
        }
        EXPECT_EQ(got.back(), x.back()) << "touched past the last head";
      }
    }
  }
}

EDGECLOUD_INSTANTIATE_PER_ISA(RopePerIsa);
