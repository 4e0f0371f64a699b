// SPDX-License-Identifier: Apache-2.0
// Q8_0 quantization and row dequantization: the reference against the definition, and every
// ISA table against the reference (bit-exact: the same float operations in the same order per
// element, so any difference is a bug).
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

using namespace edgecloud::testing;

TEST(QuantizeReference, MeetsTheQ8_0Definition) {
  for (size_t n : {32u, 64u, 32u * 33u}) {
    auto x = random_floats(n, 1, -3.0f, 3.0f);
    x[5] = 0.0f;
    std::vector<k::block_q8_0> q(n / 32);
    k::reference::quantize_row_q8_0(x.data(), q.data(), n);
    for (size_t b = 0; b < n / 32; ++b) {
      double amax = 0;
      for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(double(x[b * 32 + j])));
      const double d = k::fp16_to_fp32(q[b].d);
      // d is amax/127 rounded to fp16 (relative error <= 2^-11)
      EXPECT_NEAR(d, amax / 127.0, amax / 127.0 * 0x1p-11);
      int max_abs_q = 0;
      for (size_t j = 0; j < 32; ++j) {
        max_abs_q = std::max(max_abs_q, std::abs(int(q[b].qs[j])));
        // q = round(x * 127/amax): |x - q*d_exact| <= d/2 (plus float rounding of x*id)
        const double d_exact = amax / 127.0;
        EXPECT_LE(std::fabs(x[b * 32 + j] - q[b].qs[j] * d_exact), d_exact * (0.5 + 1e-5));
      }
      EXPECT_EQ(max_abs_q, 127);
    }
  }
}

TEST(QuantizeReference, ZeroBlockHasZeroScale) {
  std::vector<float> x(32, 0.0f);
  k::block_q8_0 q{};
  k::reference::quantize_row_q8_0(x.data(), &q, 32);
  EXPECT_EQ(q.d, 0);
  for (auto v : q.qs) EXPECT_EQ(v, 0);
}

class QuantizePerIsa : public ::testing::TestWithParam<const k::kernel_table*> {};

TEST_P(QuantizePerIsa, QuantizeMatchesReferenceBitExactly) {
  const auto& table = *GetParam();
  for (size_t n : {32u, 96u, 32u * 17u, 1024u, 3072u}) {
    auto x = random_floats(n, uint32_t(n), -10.0f, 10.0f);
    for (size_t i = 0; i < 32; ++i) x[i] = 0.0f;  // an all-zero block
    if (n >= 64) {
      for (size_t i = 32; i < 64; ++i) x[i] *= 1e-30f;  // a block whose scale underflows fp16
    }
    std::vector<k::block_q8_0> got(n / 32), want(n / 32);
    table.quantize_row_q8_0(x.data(), got.data(), n);
    k::reference::quantize_row_q8_0(x.data(), want.data(), n);
    for (size_t b = 0; b < n / 32; ++b) {
      ASSERT_EQ(got[b].d, want[b].d) << "block " << b;
      for (size_t j = 0; j < 32; ++j) ASSERT_EQ(got[b].qs[j], want[b].qs[j]) << b << "," << j;
    }
  }
}

TEST_P(QuantizePerIsa, DequantizeMatchesReferenceBitExactly) {
  const auto& table = *GetParam();
  for (k::dtype t : {k::dtype::f32, k::dtype::f16, k::dtype::bf16, k::dtype::q8_0}) {
    for (size_t n : {32u, 64u, 96u, 1024u, 32u * 31u}) {
      const auto w = random_weights(t, 1, n, 3);
      std::vector<float> got(n, -1.0f), want(n);
      table.dequantize_row(t, w.data(), got.data(), n);
      k::reference::dequantize_row(t, w.data(), want.data(), n);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], want[i]) << k::dtype_name(t) << " " << i;
    }
  }
  // float types also at odd lengths
  for (k::dtype t : {k::dtype::f32, k::dtype::f16, k::dtype::bf16}) {
    for (size_t n : {1u, 7u, 17u, 33u, 1027u}) {
      const auto w = random_weights(t, 1, n, 4);
      std::vector<float> got(n + 1, -7.0f), want(n);
      table.dequantize_row(t, w.data(), got.data(), n);
      k::reference::dequantize_row(t, w.data(), want.data(), n);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], want[i]) << k::dtype_name(t) << " " << i;
      EXPECT_EQ(got[n], -7.0f) << "wrote past the end";
    }
  }
}

EDGECLOUD_INSTANTIATE_PER_ISA(QuantizePerIsa);
