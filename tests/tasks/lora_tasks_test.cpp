// SPDX-License-Identifier: Apache-2.0
// LoRA through the stack: the prefix cache never reuses a prefix computed under another adapter
// set (generate/prefix_cache.hpp), the runner switches sets between requests, and the engine
// runs each task under the adapters its configuration names -- checked against fresh sessions
// and fresh engines that only ever saw one set.
#include <gtest/gtest.h>

#include <cmath>
#include <edgecloud/generate/prefix_cache.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/tasks/engine.hpp>
#include <edgecloud/tasks/model_runner.hpp>
#include <edgecloud/testing/lora_gguf.hpp>
#include <random>
#include <vector>

#include "tasks/task_test_support.hpp"

namespace {

using namespace edgecloud;
using model::lora_set;

std::shared_ptr<const model::lora_adapter> adapter(const model::qwen3& m, uint64_t seed,
                                                   size_t rank = 8) {
  return model::lora_adapter::from_memory(
      edgecloud::testing::random_lora_bytes(
          m.config(), {.rank = rank, .alpha = 16, .b_std = 0.2f, .seed = seed}),
      m);
}

std::vector<float> fresh_logits(const model::qwen3& m, const lora_set& set,
                                std::span<const int32_t> tokens) {
  model::session s(m, {.context = 512, .kv_type = kernels::dtype::f32, .threads = 1});
  s.set_adapters(set);
  const auto z = s.prefill(tokens);
  return {z.begin(), z.end()};
}

double rel_diff(std::span<const float> a, std::span<const float> b) {
  double d = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::fabs(double(a[i]) - b[i]));
    m = std::max(m, std::fabs(double(a[i])));
  }
  return d / m;
}

TEST(LoraPrefixCache, NeverReusesAPrefixOfAnotherSet) {
  EDGECLOUD_TINY(w);
  const auto a = adapter(w.model, 1), b = adapter(w.model, 2);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> d(0, 151000);
  std::vector<int32_t> prompt(70);
  for (auto& t : prompt) t = d(rng);
  const size_t keep = 60;

  tasks::runner_config cfg;
  cfg.session = {.context = 512, .kv_type = kernels::dtype::f32, .threads = 1};
  cfg.prefix_cache.min_tokens = 4;
  tasks::model_runner r(w.model, cfg);
  const std::vector<lora_set> sets = {{{a, 1.0f}}, {{b, 1.0f}}, {}, {{a, 0.5f}}, {{a, 1.0f}}};
  for (size_t i = 0; i < sets.size(); ++i) {
    r.set_adapters(sets[i]);
    const auto before = r.stats();
    r.begin(prompt, keep);
    const auto z = r.logits();
    const auto ref = fresh_logits(w.model, sets[i], prompt);
    EXPECT_LT(rel_diff(ref, {z.begin(), z.end()}), 1e-5) << "set " << i;
    const size_t reused = (r.stats().kept_tokens - before.kept_tokens) +
                          (r.stats().restored_tokens - before.restored_tokens);
    // Sets 0..3 are new (a at 0.5 is another computation than a at 1.0); set 4 is set 0 again
    // and gets its 60 positions back from the prefix cache.
    EXPECT_EQ(reused, i == 4 ? keep : 0u) << "set " << i;
  }
  EXPECT_EQ(r.prefix_cache().size(), 4u);  // one entry per distinct set
  // Same set again: the session's positions are kept, nothing is restored or recomputed.
  const auto before = r.stats();
  r.set_adapters({{a, 1.0f}});
  r.begin(prompt, keep);
  EXPECT_EQ(r.stats().kept_tokens - before.kept_tokens, prompt.size() - 1);
}

TEST(LoraPrefixCache, UnitKeysSeparateEntries) {
  model::kv_cache kv({1, 1, 32}, 64, kernels::dtype::f32);
  kv.advance(20);
  generate::prefix_cache c({.min_tokens = 4});
  std::vector<int32_t> t(20);
  for (size_t i = 0; i < t.size(); ++i) t[i] = int32_t(i);
  const model::lora_key ka = {7, 0x3f800000}, kb = {8, 0x3f800000};
  EXPECT_TRUE(c.insert(t, kv, ka));
  EXPECT_EQ(c.find(t).length, 0u) << "the base never sees an adapter's entry";
  EXPECT_EQ(c.find(t, kb).length, 0u);
  EXPECT_EQ(c.find(t, ka).length, 20u);
  EXPECT_FALSE(c.covers(t));
  EXPECT_TRUE(c.covers(t, ka));
  // The same tokens under another key are a separate entry, not "covered" nor superseding.
  EXPECT_TRUE(c.insert(std::span(t).first(10), kv, kb));
  EXPECT_TRUE(c.insert(t, kv));
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.find(t, kb).length, 10u);
}

TEST(LoraEngine, EachTaskRunsUnderItsOwnAdapters) {
  EDGECLOUD_TINY(w);
  const auto a = adapter(w.model, 11), b = adapter(w.model, 12);
  const tasks::engine_config ec{.runner = {.session = {.context = 1024, .threads = 1}}};
  tasks::intent_config intent{.labels = {"weather", "music", "navigation"}};
  tasks::safety_config safety{.detect_pii = false};
  const std::string text = "play something relaxing";

  // References: engines that only ever ran one set.
  tasks::engine only_a(w.model, w.tok, ec), only_b(w.model, w.tok, ec), base(w.model, w.tok, ec);
  only_a.set_adapters({{a, 1.0f}});
  only_b.set_adapters({{b, 1.0f}});
  const auto ia = only_a.classify(text, intent);
  const auto sb = only_b.check_safety(text, safety);
  const auto i0 = base.classify(text, intent);
  const auto s0 = base.check_safety(text, safety);
  EXPECT_GT(std::fabs(ia.log_probs[0] - i0.log_probs[0]), 1e-3) << "adapter a must matter";
  EXPECT_GT(std::fabs(sb.confidence - s0.confidence), 1e-4) << "adapter b must matter";

  // One engine, default base, intent under a and safety under b, twice (cached prefixes).
  tasks::engine e(w.model, w.tok, ec);
  auto intent_a = intent;
  intent_a.lora = lora_set{{a, 1.0f}};
  auto safety_b = safety;
  safety_b.lora = lora_set{{b, 1.0f}};
  for (int round = 0; round < 2; ++round) {
    const auto i = e.classify(text, intent_a);
    const auto s = e.check_safety(text, safety_b);
    const auto i_base = e.classify(text, intent);  // no lora in the config: the engine's (none)
    for (size_t k = 0; k < ia.log_probs.size(); ++k) {
      EXPECT_NEAR(i.log_probs[k], ia.log_probs[k], 1e-4) << "round " << round;
      EXPECT_NEAR(i_base.log_probs[k], i0.log_probs[k], 1e-4) << "round " << round;
    }
    EXPECT_EQ(s.raw, sb.raw);
    EXPECT_NEAR(s.confidence, sb.confidence, 1e-4) << "round " << round;
  }
  // The engine's default applies to tasks without their own; an empty set means the base.
  e.set_adapters({{b, 1.0f}});
  auto intent_none = intent;
  intent_none.lora = lora_set{};
  const auto i_none = e.classify(text, intent_none);
  EXPECT_NEAR(i_none.log_probs[0], i0.log_probs[0], 1e-4);
  EXPECT_NEAR(e.check_safety(text, safety).confidence, sb.confidence, 1e-4);
  EXPECT_THROW(e.set_adapters({{nullptr, 1.0f}}), config_error);
}

}  // namespace
