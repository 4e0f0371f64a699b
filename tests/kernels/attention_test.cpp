// SPDX-License-Identifier: Apache-2.0
// attention_head with f32 and f16 K/V: the reference against double precision, every ISA
// against the reference, over position counts 1..~300 and head sizes 64/128/odd.
// Bound (first order): each score s_p = scale q·k_p has |error| <= ds_p = gamma_{d+1} scale
// sum|q k_p| (+ u |s_p - max| for the shifted exponent); softmax turns that into |dw_p| <= w_p (2
// max ds + gamma_n + 10u) (see activation_test.cpp); the weighted sum of V adds gamma_{n+1} sum_p
// w_p |v_p|. So per output dimension i: (2 max ds + gamma_n + gamma_{n+1} + 10u) sum_p w_p |v_pi|,
// doubled for margin.
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

using namespace edgecloud::testing;

namespace {

struct kv_cache {
  k::dtype type;
  size_t stride, n_pos, dim;
  std::vector<unsigned char> K, V;
  kv_cache(k::dtype t, size_t n_pos_, size_t dim_, size_t stride_, uint32_t seed)
      : type(t), stride(stride_), n_pos(n_pos_), dim(dim_) {
    const auto kf = random_floats(n_pos * stride, seed, -2.0f, 2.0f);
    const auto vf = random_floats(n_pos * stride, seed + 1, -2.0f, 2.0f);
    const size_t elem = t == k::dtype::f16 ? 2 : 4;
    K.resize(kf.size() * elem);
    V.resize(vf.size() * elem);
    for (size_t i = 0; i < kf.size(); ++i) {
      if (t == k::dtype::f16) {
        reinterpret_cast<uint16_t*>(K.data())[i] = k::fp32_to_fp16(kf[i]);
        reinterpret_cast<uint16_t*>(V.data())[i] = k::fp32_to_fp16(vf[i]);
      } else {
        reinterpret_cast<float*>(K.data())[i] = kf[i];
        reinterpret_cast<float*>(V.data())[i] = vf[i];
      }
    }
  }
  double at(const std::vector<unsigned char>& m, size_t p, size_t i) const {
    const size_t idx = p * stride + i;
    return type == k::dtype::f16 ? k::fp16_to_fp32(reinterpret_cast<const uint16_t*>(m.data())[idx])
                                 : reinterpret_cast<const float*>(m.data())[idx];
  }
};

struct exact_result {
  std::vector<double> out, weights, tol;
};

exact_result exact_attention(const std::vector<float>& q, const kv_cache& c, float scale) {
  exact_result r;
  std::vector<double> s(c.n_pos), ds(c.n_pos);
  double max_ds = 0, max = -1e300;
  for (size_t p = 0; p < c.n_pos; ++p) {
    double dot = 0, abs_dot = 0;
    for (size_t i = 0; i < c.dim; ++i) {
      dot += q[i] * c.at(c.K, p, i);
      abs_dot += std::fabs(q[i] * c.at(c.K, p, i));
    }
    s[p] = dot * scale;
    ds[p] = gamma_n(double(c.dim + 1)) * scale * abs_dot + unit_roundoff * std::fabs(s[p]);
    max = std::max(max, s[p]);
  }
  for (size_t p = 0; p < c.n_pos; ++p)
    max_ds = std::max(max_ds, ds[p] + unit_roundoff * (max - s[p]));
  double sum = 0;
  r.weights.resize(c.n_pos);
  for (size_t p = 0; p < c.n_pos; ++p) sum += r.weights[p] = std::exp(s[p] - max);
  for (auto& w : r.weights) w /= sum;
  const double rel =
      2 * max_ds + gamma_n(double(c.n_pos)) + gamma_n(double(c.n_pos + 1)) + 10 * unit_roundoff;
  r.out.assign(c.dim, 0.0);
  r.tol.assign(c.dim, 0.0);
  for (size_t p = 0; p < c.n_pos; ++p) {
    for (size_t i = 0; i < c.dim; ++i) {
      r.out[i] += r.weights[p] * c.at(c.V, p, i);
      r.tol[i] += r.weights[p] * std::fabs(c.at(c.V, p, i)) * rel * 2;
    }
  }
  return r;
}

struct config {
  size_t n_pos, dim, stride;
};
constexpr config configs[] = {{1, 128, 128}, {2, 64, 64 * 3}, {17, 128, 1024}, {300, 128, 256},
                              {33, 80, 80},  {5, 2, 6},       {40, 72, 72}};

}  // namespace

TEST(AttentionReference, MatchesDouble) {
  for (k::dtype t : {k::dtype::f32, k::dtype::f16}) {
    for (auto [n_pos, dim, stride] : configs) {
      kv_cache c(t, n_pos, dim, stride, uint32_t(n_pos + dim));
      const auto q = random_floats(dim, 3, -1.0f, 1.0f);
      const float scale = 1.0f / std::sqrt(float(dim));
      std::vector<float> scores(n_pos), out(dim);
      k::reference::attention_head(q.data(), c.K.data(), c.V.data(), t, stride, n_pos, dim, scale,
                                   scores.data(), out.data());
      const auto e = exact_attention(q, c, scale);
      for (size_t i = 0; i < dim; ++i) EXPECT_NEAR(out[i], e.out[i], e.tol[i] + 1e-30);
      for (size_t p = 0; p < n_pos; ++p)
        EXPECT_NEAR(scores[p], e.weights[p], 1e-5 * e.weights[p] + 1e-30);
    }
  }
}

class AttentionPerIsa : public ::testing::TestWithParam<const k::kernel_table*> {};

TEST_P(AttentionPerIsa, MatchesReference) {
  for (k::dtype t : {k::dtype::f32, k::dtype::f16}) {
    for (auto [n_pos, dim, stride] : configs) {
      kv_cache c(t, n_pos, dim, stride, uint32_t(n_pos * 3 + dim));
      const auto q = random_floats(dim, 4, -1.0f, 1.0f);
      const float scale = 1.0f / std::sqrt(float(dim));
      std::vector<float> scores(n_pos), got(dim + 1, 8.0f), want(dim), ref_scores(n_pos);
      GetParam()->attention_head(q.data(), c.K.data(), c.V.data(), t, stride, n_pos, dim, scale,
                                 scores.data(), got.data());
      k::reference::attention_head(q.data(), c.K.data(), c.V.data(), t, stride, n_pos, dim, scale,
                                   ref_scores.data(), want.data());
      const auto e = exact_attention(q, c, scale);
      for (size_t i = 0; i < dim; ++i) {
        ASSERT_NEAR(got[i], want[i], 2 * e.tol[i] + 1e-30)
            << k::dtype_name(t) << " n_pos=" << n_pos << " dim=" << dim << " i=" << i;
      }
      EXPECT_EQ(got[dim], 8.0f);
    }
  }
}

EDGECLOUD_INSTANTIATE_PER_ISA(AttentionPerIsa);

TEST(AttentionApi, RejectsQuantizedCache) {
  float q = 0, s = 0, o = 0;
  EXPECT_THROW(k::attention_head(&q, &q, &q, k::dtype::q8_0, 1, 1, 1, 1.0f, &s, &o),
               edgecloud::config_error);
}
