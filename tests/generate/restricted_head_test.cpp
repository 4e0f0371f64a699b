// SPDX-License-Identifier: Apache-2.0
// The restricted head equals the full head on the requested ids.
#include <gtest/gtest.h>

#include <random>

#include "generate/test_support.hpp"

namespace eg = edgecloud::generate;

namespace {

TEST(RestrictedHead, EqualsFullHeadOnAllowedIds) {
  std::mt19937_64 rng(2);
  std::normal_distribution<float> n01;
  for (size_t cols : {size_t{1}, size_t{7}, size_t{64}, size_t{100}}) {
    const size_t rows = 3000;
    std::vector<float> w(rows * cols), h(cols);
    for (auto& x : w) x = n01(rng);
    for (auto& x : h) x = n01(rng);
    // Full head in double as the reference.
    std::vector<double> full(rows);
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < cols; ++c) full[r] += static_cast<double>(w[r * cols + c]) * h[c];
    const eg::dense_f32_head head{w.data(), rows, cols};
    std::vector<int32_t> ids;
    for (int k = 0; k < 40; ++k) ids.push_back(static_cast<int32_t>(rng() % rows));
    std::vector<float> out(ids.size());
    eg::restricted_logits(head, h, ids, out);
    for (size_t k = 0; k < ids.size(); ++k)
      EXPECT_NEAR(out[k], full[static_cast<size_t>(ids[k])], 1e-4 * (1 + std::abs(full[ids[k]])));
    // Greedy over a mask equals the argmax of the full head restricted to the mask.
    eg::token_mask m(rows);
    for (int32_t id : ids) m.set(id);
    m.finish();
    int32_t expect = -1;
    for (int32_t id : ids)
      if (expect < 0 || full[id] > full[expect] || (full[id] == full[expect] && id < expect))
        expect = id;
    EXPECT_EQ(eg::restricted_argmax(head, h, m), expect);
    // A callback head (how a model plugs in its quantised rows) gives the same numbers.
    auto cb = eg::callback_head<std::function<float(int32_t, std::span<const float>)>>{
        [&](int32_t r, std::span<const float> x) { return head.row_dot(r, x); }, rows, cols};
    std::vector<float> out2(ids.size());
    eg::restricted_logits(cb, h, ids, out2);
    EXPECT_EQ(out, out2);
  }
}

TEST(RestrictedHead, RejectsBadShapes) {
  std::vector<float> w(20, 1.0f), h(5, 1.0f), h_bad(4, 1.0f), out(1);
  const eg::dense_f32_head head{w.data(), 4, 5};
  const std::vector<int32_t> ok{3}, bad{4}, neg{-1};
  EXPECT_NO_THROW(eg::restricted_logits(head, h, ok, out));
  EXPECT_FLOAT_EQ(out[0], 5.0f);
  EXPECT_THROW(eg::restricted_logits(head, h, bad, out), edgecloud::config_error);
  EXPECT_THROW(eg::restricted_logits(head, h, neg, out), edgecloud::config_error);
  EXPECT_THROW(eg::restricted_logits(head, h_bad, ok, out), edgecloud::config_error);
}

}  // namespace
