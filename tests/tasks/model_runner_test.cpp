// SPDX-License-Identifier: Apache-2.0
// tasks/model_runner.hpp and generate/prefix_cache.hpp: prefix-cached runs give the logits of
// uncached ones, the restricted head equals the full head on the allowed ids, label scoring
// equals brute-force scoring of each label sequence with the model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <edgecloud/generate/prefix_cache.hpp>
#include <edgecloud/generate/restricted_head.hpp>
#include <edgecloud/tasks/decoding.hpp>
#include <edgecloud/tasks/engine.hpp>
#include <edgecloud/tasks/model_runner.hpp>
#include <random>
#include <set>
#include <vector>

#include "tasks/task_test_support.hpp"

namespace {

using namespace edgecloud;
using tasks::model_runner;

tasks::runner_config config(size_t cache_bytes, kernels::dtype kv = kernels::dtype::f32) {
  tasks::runner_config c;
  c.session.context = 512;
  c.session.threads = 1;
  c.session.kv_type = kv;
  c.prefix_cache.max_bytes = cache_bytes;
  c.prefix_cache.min_tokens = 4;
  return c;
}

std::vector<int32_t> random_tokens(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int32_t> d(0, 151000);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

// Logits of the last token of `tokens`, computed from scratch by a fresh session in one prefill.
std::vector<float> fresh_logits(const model::qwen3& m, std::span<const int32_t> tokens,
                                kernels::dtype kv = kernels::dtype::f32) {
  model::session s(m, {.context = 512, .kv_type = kv, .threads = 1});
  auto z = s.prefill(tokens);
  return {z.begin(), z.end()};
}

double max_abs(std::span<const float> z) {
  double m = 0;
  for (float v : z) m = std::max(m, std::fabs(static_cast<double>(v)));
  return m;
}

// Largest |a - b| relative to max|a|.
double rel_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
  return d / std::max(1e-30, max_abs(a));
}

TEST(PrefixCache, CachedRunsGiveUncachedLogits) {
  EDGECLOUD_TINY(w);
  std::mt19937 rng(7);
  const auto task_prefix = random_tokens(rng, 60);
  model_runner cached(w.model, config(64 << 20));
  model_runner uncached(w.model, config(0));
  for (int request = 0; request < 12; ++request) {
    auto prompt = task_prefix;
    const auto query = random_tokens(rng, 3 + request % 9);
    prompt.insert(prompt.end(), query.begin(), query.end());
    cached.begin(prompt, task_prefix.size());
    uncached.begin(prompt, task_prefix.size());
    const auto a = cached.logits();
    const std::vector<float> za(a.begin(), a.end());
    const auto ref = fresh_logits(w.model, prompt);
    // Same kernels on the same positions: equal up to float rounding of batch shapes.
    EXPECT_LT(rel_diff(ref, za), 1e-5) << "request " << request;
    const auto b = uncached.logits();
    EXPECT_LT(rel_diff(ref, {b.begin(), b.end()}), 1e-5);
  }
  // Every request after the first reused the 60-token prefix.
  EXPECT_GE(cached.stats().kept_tokens + cached.stats().restored_tokens, 11u * 60u);
}

TEST(PrefixCache, RestoreFromCacheIsBitExactAndLongestPrefixWins) {
  EDGECLOUD_TINY(w);
  std::mt19937 rng(11);
  const auto a = random_tokens(rng, 40), b = random_tokens(rng, 40);
  model_runner r(w.model, config(64 << 20));
  auto with = [](std::vector<int32_t> p, const std::vector<int32_t>& q) {
    p.insert(p.end(), q.begin(), q.end());
    return p;
  };
  const auto q1 = random_tokens(rng, 5), q2 = random_tokens(rng, 7);
  // Task A, then task B (evicts A from the session, not from the prefix cache), then A again:
  // A's prefix must come back from the prefix cache.
  r.begin(with(a, q1), a.size());
  const auto first = r.logits();
  const std::vector<float> z1(first.begin(), first.end());
  r.begin(with(b, q2), b.size());
  (void)r.logits();
  const size_t restored = r.stats().restored_tokens;
  r.begin(with(a, q1), a.size());
  EXPECT_EQ(r.stats().restored_tokens, restored + a.size());
  const auto again = r.logits();
  // The restored rows are the very bytes computed before: bit-exact.
  for (size_t i = 0; i < z1.size(); ++i) ASSERT_EQ(z1[i], again[i]) << i;

  // Multi-turn: history h1 is cached; turn 2 extends it and reuses its longest shared prefix.
  const auto h1 = random_tokens(rng, 30);
  auto h2 = with(h1, random_tokens(rng, 10));
  r.begin(with(h1, q1), h1.size());
  (void)r.logits();
  r.begin(with(b, q1), b.size());  // leave the session on something else
  (void)r.logits();
  const size_t before = r.stats().restored_tokens;
  r.begin(with(h2, q2), h2.size());
  EXPECT_EQ(r.stats().restored_tokens, before + h1.size());
  const auto z = r.logits();
  EXPECT_LT(rel_diff(fresh_logits(w.model, with(h2, q2)), {z.begin(), z.end()}), 1e-5);
}

TEST(PrefixCache, F16CacheAndEvictionUnderTheCap) {
  EDGECLOUD_TINY(w);
  std::mt19937 rng(3);
  // Per position: 2 layers x (K + V) x 2 heads x 16 dims x 2 bytes = 256 bytes.
  model_runner r(w.model, config(3 * 50 * 256 + 3 * 400, kernels::dtype::f16));
  std::vector<std::vector<int32_t>> prefixes;
  for (int i = 0; i < 6; ++i) prefixes.push_back(random_tokens(rng, 50));
  for (int round = 0; round < 2; ++round)
    for (const auto& p : prefixes) {
      auto prompt = p;
      prompt.push_back(42);
      prompt.push_back(43);
      r.begin(prompt, p.size());
      const auto z = r.logits();
      EXPECT_LT(rel_diff(fresh_logits(w.model, prompt, kernels::dtype::f16), {z.begin(), z.end()}),
                1e-5);
      EXPECT_LE(r.prefix_cache().bytes(), r.prefix_cache().config().max_bytes);
    }
  EXPECT_GT(r.prefix_cache().stats().evictions, 0u);
  EXPECT_LE(r.prefix_cache().size(), 3u);
}

TEST(PrefixCache, UnitBehaviour) {
  EDGECLOUD_TINY(w);
  model::session s(w.model, {.context = 64, .kv_type = kernels::dtype::f32, .threads = 1});
  std::vector<int32_t> t(20);
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int32_t>(100 + i);
  s.prefill(t);
  generate::prefix_cache c({.max_bytes = 1 << 20, .min_tokens = 4});
  EXPECT_FALSE(c.insert(std::span(t).first(3), s.cache()));  // shorter than min_tokens
  EXPECT_TRUE(c.insert(std::span(t).first(10), s.cache()));
  EXPECT_FALSE(c.insert(std::span(t).first(8), s.cache()));  // covered by the held entry
  EXPECT_TRUE(c.insert(std::span(t).first(16), s.cache()));  // supersedes it
  EXPECT_EQ(c.size(), 1u);
  auto probe = t;
  probe[12] = 7;
  const auto m = c.find(probe);
  EXPECT_EQ(m.length, 12u);
  model::session s2(w.model, {.context = 64, .kv_type = kernels::dtype::f32, .threads = 1});
  c.restore(m, s2.mutable_cache());
  EXPECT_EQ(s2.size(), 12u);
  model::session s16(w.model, {.context = 64, .kv_type = kernels::dtype::f16, .threads = 1});
  EXPECT_THROW(c.restore(m, s16.mutable_cache()), config_error);  // other element type
  EXPECT_THROW(c.insert(t, s2.cache()), config_error);            // more tokens than held
}

TEST(RestrictedHead, EqualsTheFullHeadOnTheAllowedIds) {
  EDGECLOUD_TINY(w);
  std::mt19937 rng(5);
  model_runner r(w.model, config(0));
  for (int trial = 0; trial < 10; ++trial) {
    r.begin(random_tokens(rng, 5 + trial), 0);
    std::vector<int32_t> ids = random_tokens(rng, 1 + trial * 7);
    ids.push_back(151935);  // a padding row past the tokenizer
    std::vector<float> restricted(ids.size());
    r.candidate_logits(ids, restricted);  // computes the hidden state only (no full head)
    const auto full = r.logits();         // recomputes with the head
    for (size_t k = 0; k < ids.size(); ++k)
      EXPECT_NEAR(restricted[k], full[static_cast<size_t>(ids[k])],
                  1e-6 * std::max(1.0, max_abs(full)))
          << "id " << ids[k];
    // Through the generic OutputHead interface too.
    std::vector<float> via(ids.size());
    generate::restricted_logits(r.output_head(), r.hidden(), ids, via);
    for (size_t k = 0; k < ids.size(); ++k) EXPECT_EQ(via[k], restricted[k]);
  }
}

// Brute force: each label appended to the prompt, one fresh session per label, sum of log
// softmax over the full vocabulary at every step.
std::vector<double> brute_force_log_probs(const model::qwen3& m, std::span<const int32_t> prompt,
                                          const std::vector<std::vector<int32_t>>& labels) {
  std::vector<double> out;
  for (const auto& l : labels) {
    model::session s(
        m, {.context = 512, .kv_type = kernels::dtype::f32, .threads = 1, .logits_rows = 64});
    std::vector<int32_t> seq(prompt.begin(), prompt.end());
    seq.insert(seq.end(), l.begin(), l.end() - 1);
    s.prefill(seq, model::logits_mode::all);
    double lp = 0;
    for (size_t i = 0; i < l.size(); ++i) {
      const auto z = s.logits(prompt.size() - 1 + i);
      lp += z[static_cast<size_t>(l[i])] - generate::log_sum_exp(z);
    }
    out.push_back(lp);
  }
  return out;
}

TEST(LabelScoring, FullHeadEqualsBruteForce) {
  EDGECLOUD_TINY(w);
  std::mt19937 rng(9);
  const int32_t end = *w.tok.find_token("<|im_end|>");
  const std::vector<std::string> names = {"weather", "music", "navigation",     "smart_home",
                                          "天气",    "音乐",  "weather_report", "phone call"};
  std::vector<std::vector<int32_t>> labels;
  for (const auto& n : names) {
    auto ids = w.tok.encode(n, text::encode_mode::untrusted);
    ids.push_back(end);
    labels.push_back(ids);
  }
  model_runner r(w.model, config(16 << 20));
  for (int trial = 0; trial < 4; ++trial) {
    const auto prompt = random_tokens(rng, 20 + trial);
    r.begin(prompt, 16);
    const auto s = generate::score_labels(r, labels, {.temperature = 1.0});
    const auto ref = brute_force_log_probs(w.model, prompt, labels);
    double total = 0;
    for (size_t k = 0; k < labels.size(); ++k) {
      EXPECT_NEAR(s.log_probs[k], ref[k], 1e-4) << names[k];
      total += std::exp(ref[k]);
    }
    EXPECT_NEAR(s.outside_mass, 1 - total, 1e-6);
    // The runner is back where it was: the same prompt's logits come out.
    EXPECT_EQ(r.position(), prompt.size());
  }
}

TEST(LabelScoring, RestrictedEqualsItsBruteForceDefinition) {
  EDGECLOUD_TINY(w);
  std::mt19937 rng(13);
  const int32_t end = *w.tok.find_token("<|im_end|>");
  const std::vector<std::string> names = {"weather", "weather_report", "weatherman", "music",
                                          "音乐",    "音乐会",         "navigation"};
  std::vector<std::vector<int32_t>> labels;
  for (const auto& n : names) {
    auto ids = w.tok.encode(n, text::encode_mode::untrusted);
    ids.push_back(end);
    labels.push_back(ids);
  }
  model_runner r(w.model, config(16 << 20));
  for (int trial = 0; trial < 3; ++trial) {
    const auto prompt = random_tokens(rng, 18 + trial);
    r.begin(prompt, 12);
    const size_t passes = r.stats().forward_passes;
    const auto s = tasks::score_labels_restricted(r, labels, {.temperature = 0.7});
    // Reference: at each step, softmax over the full vocabulary for the first token, over the
    // distinct next tokens of the labels sharing the path for later ones.
    for (size_t k = 0; k < labels.size(); ++k) {
      double lp = 0;
      for (size_t i = 0; i < labels[k].size(); ++i) {
        std::vector<int32_t> path(prompt.begin(), prompt.end());
        path.insert(path.end(), labels[k].begin(), labels[k].begin() + static_cast<long>(i));
        const auto z = fresh_logits(w.model, path);
        if (i == 0) {
          lp += z[static_cast<size_t>(labels[k][0])] - generate::log_sum_exp(z);
          continue;
        }
        std::set<int32_t> next;
        for (const auto& o : labels)
          if (o.size() > i &&
              std::equal(o.begin(), o.begin() + static_cast<long>(i), labels[k].begin()))
            next.insert(o[i]);
        if (next.size() == 1) continue;
        std::vector<float> sub;
        for (int32_t t : next) sub.push_back(z[static_cast<size_t>(t)]);
        lp += z[static_cast<size_t>(labels[k][i])] - generate::log_sum_exp(sub);
      }
      EXPECT_NEAR(s.log_probs[k], lp, 1e-4) << names[k];
    }
    double p = 0;
    for (double x : s.probabilities) p += x;
    EXPECT_NEAR(p, 1.0, 1e-9);
    // Forward passes: the prompt's prefill plus one per label-trie node with 2+ children
    // below the root -- never one per label.
    EXPECT_LT(r.stats().forward_passes - passes, labels.size());
  }
}

TEST(LabelScoring, RestrictedEqualsFullForSingleTokenLabels) {
  EDGECLOUD_TINY(w);
  std::mt19937 rng(17);
  std::vector<std::vector<int32_t>> labels = {{1000}, {2000}, {3000}, {4000}};
  model_runner r(w.model, config(0));
  r.begin(random_tokens(rng, 25), 0);
  const auto full = generate::score_labels(r, labels, {.temperature = 1.5});
  const auto restricted = tasks::score_labels_restricted(r, labels, {.temperature = 1.5});
  for (size_t k = 0; k < labels.size(); ++k) {
    EXPECT_NEAR(full.log_probs[k], restricted.log_probs[k], 1e-12);
    EXPECT_NEAR(full.probabilities[k], restricted.probabilities[k], 1e-12);
  }
  EXPECT_NEAR(full.outside_mass, restricted.outside_mass, 1e-9);
  EXPECT_EQ(full.best, restricted.best);
}

}  // namespace

namespace {

// run_constrained (restricted head for small masks, no model for forced tokens) picks exactly
// the tokens of generate::constrained_generate over the full logits.
TEST(RunConstrained, SameTokensAsFullHeadConstrainedGenerate) {
  EDGECLOUD_TINY(w);
  tasks::engine e(w.model, w.tok, {.runner = config(0)});
  const auto schema = tasks::engine::safety_schema({});
  const nlohmann::ordered_json tools = nlohmann::ordered_json::parse(
      R"([{"name":"set_alarm","parameters":{"type":"object","properties":{"time":{"type":"string","maxLength":6},"mode":{"enum":["once","daily"]}},"required":["time","mode"]}},{"name":"get_time"}])");
  std::vector<std::pair<generate::constraint, int32_t>> cons;
  cons.emplace_back(generate::json_schema_constraint(schema["anyOf"][1]), -1);
  cons.emplace_back(generate::constraint::any_of({generate::tool_call_constraint(tools),
                                                  generate::constraint::choice({"none"})}),
                    -1);
  cons.emplace_back(tasks::text_constraint(false), *w.tok.find_token("<|im_end|>"));
  std::mt19937 rng(23);
  auto& r = e.runner();
  size_t restricted_steps = 0;
  for (auto& [c, end] : cons) {
    generate::token_constraint tc(generate::byte_dfa::compile(c), e.vocabulary(), end);
    for (int trial = 0; trial < 6; ++trial) {
      const auto prompt = random_tokens(rng, 10 + trial);
      const size_t budget = tc.tokens_to_finish(tc.start()) + 3 + trial * 5;
      r.begin(prompt, 0);
      const auto a = tasks::run_constrained(r, tc, budget, {.restricted_max = 100000});
      r.begin(prompt, 0);
      const auto b = generate::constrained_generate(r, tc, budget);
      EXPECT_EQ(a.tokens, b.tokens);
      EXPECT_EQ(a.bytes, b.bytes);
      EXPECT_LE(a.tokens.size(), budget);
      restricted_steps += a.model_steps;
    }
  }
  EXPECT_GT(restricted_steps, 0u);
}

}  // namespace
