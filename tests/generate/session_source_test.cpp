// SPDX-License-Identifier: Apache-2.0
// session_logits_source over a mock KV-cache session whose logits are a pure function of the
// cached tokens: forced tokens are batched into the next prefill, truncation restores exact
// logits, and label scoring through the adapter equals scoring on the plain source.
#include <gtest/gtest.h>

#include "generate/test_support.hpp"

namespace eg = edgecloud::generate;
using eg::test::ojson;

namespace {

struct mock_session {
  explicit mock_session(size_t vocab, uint64_t seed) : logits_(vocab), seed_(seed) {}
  size_t size() const { return cache.size(); }
  std::span<const float> prefill(std::span<const int32_t> tokens) {
    ++prefills;
    tokens_run += tokens.size();
    cache.insert(cache.end(), tokens.begin(), tokens.end());
    eg::test::history_source h(logits_.size(), seed_, cache);  // same function of the history
    const auto z = h.logits();
    std::copy(z.begin(), z.end(), logits_.begin());
    return logits_;
  }
  void truncate(size_t n) { cache.resize(std::min(n, cache.size())); }
  std::vector<int32_t> cache;
  size_t prefills = 0, tokens_run = 0;

 private:
  std::vector<float> logits_;
  uint64_t seed_;
};
static_assert(eg::PrefillSession<mock_session>);
static_assert(eg::RewindableLogitsSource<eg::session_logits_source<mock_session>>);

TEST(SessionSource, LabelScoresEqualThePlainSource) {
  const std::vector<int32_t> prompt = {5, 9, 2, 7};
  const std::vector<std::vector<int32_t>> labels = {{1, 2, 99}, {1, 3, 99}, {4, 99}, {1, 2, 5, 99}};
  mock_session session(100, 42);
  eg::session_logits_source<mock_session> src(session, prompt);
  const auto a = eg::score_labels(src, labels, {1.5});
  eg::test::history_source plain(100, 42, prompt);
  const auto b = eg::score_labels(plain, labels, {1.5});
  for (size_t k = 0; k < labels.size(); ++k) EXPECT_DOUBLE_EQ(a.log_probs[k], b.log_probs[k]);
  EXPECT_EQ(src.position(), prompt.size());
  EXPECT_EQ(session.cache, prompt);
  // Reading logits at the restored prefix re-runs only the last prompt token and equals fresh.
  const size_t before = session.tokens_run;
  const auto z = src.logits();
  EXPECT_EQ(session.tokens_run, before + 1);
  eg::test::history_source fresh(100, 42, prompt);
  const auto f = fresh.logits();
  EXPECT_TRUE(std::equal(z.begin(), z.end(), f.begin()));
}

TEST(SessionSource, ForcedTokensRideAlongWithTheNextPrefill) {
  const auto raw = eg::test::make_synthetic_vocab(11);
  auto vocab = std::make_shared<const eg::token_vocabulary>(raw.bytes);
  eg::token_constraint c(eg::byte_dfa::compile(eg::tool_call_constraint(ojson::parse(
                             R"([{"name":"get_weather","parameters":{"type":"object","properties":
                             {"city":{"type":"string","maxLength":8}},"required":["city"]}}])"))),
                         vocab, raw.end_id);
  mock_session session(vocab->size(), 3);
  eg::session_logits_source<mock_session> src(session, std::vector<int32_t>{1, 2, 3});
  const auto out = eg::constrained_generate(src, c, 64);
  // The bytes are a complete call of the one tool, checked here against the schema by hand:
  // {"name":"get_weather","arguments":{"city":<string of at most 8 characters>}}.
  const auto parsed = nlohmann::json::parse(out.bytes, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << out.bytes;
  ASSERT_TRUE(parsed.is_object()) << out.bytes;
  EXPECT_EQ(parsed.size(), 2u) << out.bytes;
  EXPECT_EQ(parsed.value("name", ""), "get_weather") << out.bytes;
  ASSERT_TRUE(parsed.contains("arguments") && parsed["arguments"].is_object()) << out.bytes;
  const auto& args = parsed["arguments"];
  ASSERT_TRUE(args.contains("city") && args["city"].is_string()) << out.bytes;
  EXPECT_EQ(args.size(), 1u) << out.bytes;  // no properties beyond the schema's
  // maxLength counts code points; the synthetic vocabulary's strings here are ASCII or UTF-8.
  const std::string city = args["city"].get<std::string>();
  size_t code_points = 0;
  for (unsigned char ch : city) code_points += (ch & 0xC0) != 0x80;
  EXPECT_LE(code_points, 8u) << out.bytes;
  EXPECT_GT(out.forced_tokens, 0u);
  // One prefill per model step: forced tokens never cost a pass of their own.
  EXPECT_EQ(session.prefills, out.model_steps);
  EXPECT_EQ(src.forward_passes(), out.model_steps);
  // The session holds the prompt and every emitted token but the still-queued tail.
  EXPECT_EQ(src.position(), 3 + out.tokens.size());
}

TEST(SessionSource, TruncateIntoQueuedAndCachedTokens) {
  mock_session session(50, 9);
  eg::session_logits_source<mock_session> src(session, std::vector<int32_t>{1, 2});
  (void)src.logits();
  src.advance(3);
  src.advance(4);
  EXPECT_EQ(src.position(), 4u);
  src.truncate(3);  // drops a queued token
  EXPECT_EQ(session.size(), 2u);
  const auto z = src.logits();
  eg::test::history_source h(50, 9, {1, 2, 3});
  const auto e = h.logits();
  EXPECT_TRUE(std::equal(z.begin(), z.end(), e.begin()));
  src.truncate(1);  // into the cache
  EXPECT_EQ(session.size(), 1u);
  const auto y = src.logits();
  eg::test::history_source g(50, 9, {1});
  const auto ye = g.logits();
  EXPECT_TRUE(std::equal(y.begin(), y.end(), ye.begin()));
  src.truncate(0);
  EXPECT_THROW(src.logits(), edgecloud::config_error);
}

}  // namespace
