// SPDX-License-Identifier: Apache-2.0
// RMSNorm: the reference against double precision, every ISA against the reference.
// Bound: the sum of squares (positive terms) has relative error <= gamma_n; mean, +eps, sqrt,
// reciprocal and the two products add a few u each: |y_i| (gamma_n + 8u) per element.
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

using namespace edgecloud::testing;

namespace {
std::vector<double> exact_rmsnorm(const std::vector<float>& x, const std::vector<float>& w,
                                  float eps) {
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double scale = 1.0 / std::sqrt(ss / double(x.size()) + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
  return y;
}
constexpr size_t sizes[] = {1, 3, 8, 17, 33, 128, 1000, 1024, 3071};
}  // namespace

TEST(RmsnormReference, MatchesDouble) {
  for (size_t n : sizes) {
    const auto x = random_floats(n, uint32_t(n), -4.0f, 4.0f), w = random_floats(n, 9, 0.5f, 2.0f);
    std::vector<float> y(n);
    k::reference::rmsnorm(x.data(), w.data(), y.data(), n, 1e-6f);
    const auto e = exact_rmsnorm(x, w, 1e-6f);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_NEAR(y[i], e[i], std::fabs(e[i]) * (gamma_n(double(n)) + 8 * unit_roundoff)) << n;
    }
  }
}

class RmsnormPerIsa : public ::testing::TestWithParam<const k::kernel_table*> {};

TEST_P(RmsnormPerIsa, MatchesReference) {
  for (size_t n : sizes) {
    const auto x = random_floats(n, uint32_t(n + 1), -4.0f, 4.0f),
               w = random_floats(n, 2, -2.0f, 2.0f);
    std::vector<float> got(n + 1, 99.0f), want(n);
    GetParam()->rmsnorm(x.data(), w.data(), got.data(), n, 1e-6f);
    k::reference::rmsnorm(x.data(), w.data(), want.data(), n, 1e-6f);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], want[i],
                  2 * std::fabs(want[i]) * (gamma_n(double(n)) + 8 * unit_roundoff))
          << n << " " << i;
    }
    EXPECT_EQ(got[n], 99.0f);
    // in place (the model normalises its residual copy in place)
    auto inplace = x;
    GetParam()->rmsnorm(inplace.data(), w.data(), inplace.data(), n, 1e-6f);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(inplace[i], got[i]);
  }
}

EDGECLOUD_INSTANTIATE_PER_ISA(RmsnormPerIsa);
