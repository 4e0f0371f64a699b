// SPDX-License-Identifier: Apache-2.0
// Label scoring equals brute-force scoring of each label sequence from a fresh source, is taken
// before masking, and branches from the shared prefix with one model step per trie node.
#include <gtest/gtest.h>

#include <random>

#include "generate/test_support.hpp"

namespace eg = edgecloud::generate;

namespace {

// log P(seq | prompt) from a fresh source, token by token, full-vocabulary softmax in double.
double brute_force(size_t vocab, uint64_t seed, const std::vector<int32_t>& prompt,
                   const std::vector<int32_t>& seq) {
  eg::test::history_source src(vocab, seed, prompt);
  double lp = 0;
  for (int32_t t : seq) {
    const auto z = src.logits();
    double m = -1e300;
    for (float v : z) m = std::max(m, static_cast<double>(v));
    double s = 0;
    for (float v : z) s += std::exp(static_cast<double>(v) - m);
    lp += static_cast<double>(z[static_cast<size_t>(t)]) - (m + std::log(s));
    src.advance(t);
  }
  return lp;
}

TEST(LabelScoring, EqualsBruteForceForMultiTokenLabels) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 40; ++trial) {
    const size_t vocab = 50 + rng() % 400;
    const uint64_t seed = rng();
    std::vector<int32_t> prompt(rng() % 6);
    for (auto& t : prompt) t = static_cast<int32_t>(rng() % vocab);
    // Labels sharing prefixes, 1..4 tokens, made prefix-free by a closing token.
    const int32_t close = static_cast<int32_t>(vocab - 1);
    std::set<std::vector<int32_t>> unique;
    while (unique.size() < 2 + rng() % 8) {
      std::vector<int32_t> l(rng() % 4);
      for (auto& t : l) t = static_cast<int32_t>(rng() % 6);  // small alphabet: shared prefixes
      l.push_back(close);
      unique.insert(l);
    }
    const std::vector<std::vector<int32_t>> labels(unique.begin(), unique.end());
    eg::test::history_source src(vocab, seed, prompt);
    const double temperature = 0.5 + (rng() % 4) * 0.5;
    const auto scores = eg::score_labels(src, labels, {temperature});
    EXPECT_EQ(src.position(), prompt.size());  // prefix restored
    double total = 0, norm = 0;
    std::vector<double> expect_lp;
    for (const auto& l : labels) {
      expect_lp.push_back(brute_force(vocab, seed, prompt, l));
      total += std::exp(expect_lp.back());
    }
    double m = -1e300;
    for (double lp : expect_lp) m = std::max(m, lp / temperature);
    for (double lp : expect_lp) norm += std::exp(lp / temperature - m);
    size_t best = 0;
    for (size_t k = 0; k < labels.size(); ++k) {
      EXPECT_NEAR(scores.log_probs[k], expect_lp[k], 1e-9) << trial << " " << k;
      EXPECT_NEAR(scores.probabilities[k], std::exp(expect_lp[k] / temperature - m) / norm, 1e-12);
      if (expect_lp[k] > expect_lp[best]) best = k;
    }
    EXPECT_EQ(scores.best, best);
    EXPECT_NEAR(scores.outside_mass, 1.0 - total, 1e-12);
    // First step: mass on tokens that begin no label.
    eg::test::history_source fresh(vocab, seed, prompt);
    const auto z = fresh.logits();
    std::set<int32_t> firsts;
    for (const auto& l : labels) firsts.insert(l[0]);
    double first = 0;
    for (int32_t t : firsts) first += std::exp(brute_force(vocab, seed, prompt, {t}));
    EXPECT_NEAR(scores.first_step_outside_mass, 1.0 - first, 1e-12);
    (void)z;
    // One model step per internal node of the label trie (distinct proper prefixes).
    std::set<std::vector<int32_t>> prefixes;
    for (const auto& l : labels)
      for (size_t n = 0; n < l.size(); ++n) prefixes.insert({l.begin(), l.begin() + n});
    EXPECT_EQ(scores.model_steps, prefixes.size());
  }
}

TEST(LabelScoring, ProbabilitiesAreTakenBeforeMasking) {
  // Two labels with tiny probability: normalised over the set they still sum to 1, but the
  // outside mass reports that the model wanted something else.
  struct fixed_source {
    std::vector<float> z = std::vector<float>(100, 0.0f);
    size_t pos = 0;
    std::span<const float> logits() { return z; }
    void advance(int32_t) { ++pos; }
    size_t position() const { return pos; }
    void truncate(size_t n) { pos = n; }
  } src;
  src.z[7] = 10.0f;  // the model's favourite, not a label
  src.z[1] = -5.0f;
  src.z[2] = -4.0f;
  const auto s = eg::score_labels(src, {{1}, {2}});
  EXPECT_NEAR(s.probabilities[0] + s.probabilities[1], 1.0, 1e-12);
  EXPECT_EQ(s.best, 1u);
  EXPECT_GT(s.first_step_outside_mass, 0.999);
  EXPECT_NEAR(s.outside_mass, s.first_step_outside_mass, 1e-12);
  // Higher temperature flattens, lower sharpens.
  const auto hot = eg::score_labels(src, {{1}, {2}}, {4.0});
  const auto cold = eg::score_labels(src, {{1}, {2}}, {0.25});
  EXPECT_LT(hot.probabilities[1], s.probabilities[1]);
  EXPECT_GT(cold.probabilities[1], s.probabilities[1]);
}

TEST(LabelScoring, RejectsAmbiguousLabelSets) {
  eg::test::history_source src(10, 1);
  EXPECT_THROW(eg::score_labels(src, {}), edgecloud::config_error);
  EXPECT_THROW(eg::score_labels(src, {{1}, {}}), edgecloud::config_error);
  EXPECT_THROW(eg::score_labels(src, {{1, 2}, {1, 2}}), edgecloud::config_error);
  EXPECT_THROW(eg::score_labels(src, {{1}, {1, 2}}), edgecloud::config_error);
  EXPECT_THROW(eg::score_labels(src, {{1, 2}, {1}}), edgecloud::config_error);
  EXPECT_THROW(eg::score_labels(src, {{1}, {2}}, {0.0}), edgecloud::config_error);
  EXPECT_THROW(eg::score_labels(src, {{1}, {20}}), edgecloud::config_error);
  EXPECT_EQ(src.position(), 0u);
}

}  // namespace
