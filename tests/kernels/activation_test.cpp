// SPDX-License-Identifier: Apache-2.0
// softmax and silu_mul: references against double precision, every ISA against the reference.
// Bounds: a SIMD exp may be off by a few ulp (we allow e = 4u); softmax element i then has
// relative error <= 2e + gamma_n + 2u (its exp, the sum of positive terms, the division), plus
// u |x_i - max| from rounding the exponent x_i - max (exp turns an absolute error of the
// argument into the same relative error of the result);
// silu_mul is a fixed chain of ~5 operations on one element: relative 16u.
#include <gtest/gtest.h>

#include <limits>

#include "kernel_test_support.hpp"

using namespace edgecloud::testing;

namespace {
constexpr size_t sizes[] = {1, 2, 7, 16, 17, 100, 1000, 1031};
double softmax_rel_tol(const std::vector<float>& x, size_t i) {
  float max = x[0];
  for (float v : x) max = std::max(max, v);
  const double shift = std::isinf(x[i]) ? 0.0 : std::fabs(double(x[i]) - max);
  return gamma_n(double(x.size())) + (10 + shift) * unit_roundoff;
}

std::vector<double> exact_softmax(const std::vector<float>& x) {
  double max = -std::numeric_limits<double>::infinity();
  for (float v : x) max = std::max(max, double(v));
  std::vector<double> p(x.size());
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += p[i] = std::exp(double(x[i]) - max);
  for (auto& v : p) v /= sum;
  return p;
}

std::vector<std::vector<float>> softmax_inputs() {
  std::vector<std::vector<float>> inputs;
  for (size_t n : sizes) inputs.push_back(random_floats(n, uint32_t(n), -20.0f, 20.0f));
  inputs.push_back(random_floats(33, 5, 900.0f, 1000.0f));    // naive exp would overflow
  inputs.push_back(random_floats(33, 6, -1000.0f, -900.0f));  // naive exp would underflow to 0/0
  auto masked = random_floats(40, 7, -5.0f, 5.0f);
  for (size_t i = 20; i < 40; ++i) masked[i] = -std::numeric_limits<float>::infinity();
  inputs.push_back(masked);  // causal masking with -inf
  inputs.push_back(std::vector<float>(19, 3.0f));
  inputs.push_back(random_floats(50, 8, -120.0f, 0.0f));  // exp results near float's range end
  return inputs;
}
}  // namespace

TEST(SoftmaxReference, MatchesDouble) {
  for (const auto& x : softmax_inputs()) {
    auto p = x;
    k::reference::softmax(p.data(), p.size());
    const auto e = exact_softmax(x);
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_NEAR(p[i], e[i], e[i] * softmax_rel_tol(x, i) + 2e-38) << x.size() << " " << i;
    }
  }
}

TEST(SiluMulReference, MatchesDouble) {
  const auto g = random_floats(1001, 1, -30.0f, 30.0f), u = random_floats(1001, 2, -3.0f, 3.0f);
  std::vector<float> y(g.size());
  k::reference::silu_mul(g.data(), u.data(), y.data(), g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    const double e = double(g[i]) / (1.0 + std::exp(-double(g[i]))) * u[i];
    EXPECT_NEAR(y[i], e, std::fabs(e) * 16 * unit_roundoff + 1e-38);
  }
}

class ActivationPerIsa : public ::testing::TestWithParam<const k::kernel_table*> {};

TEST_P(ActivationPerIsa, SoftmaxMatchesReference) {
  for (const auto& x : softmax_inputs()) {
    auto got = x, want = x;
    got.push_back(42.0f);
    GetParam()->softmax(got.data(), x.size());
    k::reference::softmax(want.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 2 * want[i] * softmax_rel_tol(x, i) + 2e-38)
          << x.size() << " " << i;
    }
    EXPECT_EQ(got.back(), 42.0f);
  }
  GetParam()->softmax(nullptr, 0);  // empty is a no-op
}

TEST_P(ActivationPerIsa, SiluMulMatchesReference) {
  for (size_t n : sizes) {
    auto g = random_floats(n, uint32_t(n), -30.0f, 30.0f);
    const auto u = random_floats(n, uint32_t(n + 1), -3.0f, 3.0f);
    if (n > 5) g[3] = -100.0f, g[4] = 100.0f, g[5] = 0.0f;  // saturation ends and zero
    std::vector<float> got(n + 1, 5.0f), want(n);
    GetParam()->silu_mul(g.data(), u.data(), got.data(), n);
    k::reference::silu_mul(g.data(), u.data(), want.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], want[i], std::fabs(want[i]) * 32 * unit_roundoff + 1e-38)
          << n << " " << i;
    }
    EXPECT_EQ(got[n], 5.0f);
  }
}

EDGECLOUD_INSTANTIATE_PER_ISA(ActivationPerIsa);
