// SPDX-License-Identifier: Apache-2.0
// Token masks against brute force, and constrained generation under thousands of seeded and
// adversarial logit streams: every output parses, satisfies its schema (independent validator)
// and ends within the token budget. Synthetic vocabularies here; the real Qwen3 vocabulary when
// the tokenizer fixture is present. The sampler's draws against the exact softmax and nucleus,
// computed independently in double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <edgecloud/generate/sampler.hpp>
#include <edgecloud/generate/vocab_bytes.hpp>
#include <limits>
#include <memory>
#include <random>

#include "common/fixtures.hpp"
#include "generate/test_support.hpp"

namespace eg = edgecloud::generate;
using eg::test::ojson;
using eg::test::profile;

namespace {

const char* kIntentSchema = R"({"type":"object","properties":{
  "intent":{"enum":["weather","music","navigation","other"]},
  "confidence":{"type":"number","minimum":0,"maximum":1}},"required":["intent","confidence"]})";

const char* kSafetySchema = R"({"type":"object","properties":{"safe":{"type":"boolean"},
  "reason":{"enum":["none","violence","self_harm","pii","other"]}},"required":["safe","reason"],
  "additionalProperties":false})";

const char* kNestedSchema = R"({"type":"object","properties":{
  "title":{"type":"string","maxLength":12},
  "count":{"type":"integer","minimum":-50,"maximum":1200},
  "ratio":{"type":"number","minimum":-2.5,"maximum":3.75},
  "tags":{"type":"array","items":{"type":"string","minLength":1,"maxLength":6},"maxItems":3},
  "points":{"type":"array","items":{"type":"object","properties":{
      "x":{"type":"integer","minimum":0,"maximum":99},"label":{"type":["string","null"],"maxLength":4}},
      "required":["x"]},"maxItems":2},
  "mode":{"anyOf":[{"type":"string","maxLength":5},{"type":"integer","exclusiveMinimum":0,
      "exclusiveMaximum":10},{"type":"null"}]},
  "城市":{"enum":["北京","上海","café"]},
  "ok":{"type":"boolean"}},"required":["title","count","城市"]})";

const char* kMatrixSchema = R"({"type":"array","items":{"type":"array","items":{"type":"integer",
  "minimum":-9,"maximum":9},"minItems":1,"maxItems":3},"maxItems":3})";

const char* kTools = R"([
  {"type":"function","function":{"name":"get_weather","description":"Weather for a city",
    "parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":20},
    "units":{"enum":["celsius","fahrenheit"]}},"required":["city"]}}},
  {"name":"search","parameters":{"type":"object","properties":{"query":{"type":"string",
    "maxLength":30},"limit":{"type":"integer","minimum":1,"maximum":20}},"required":["query"]}},
  {"name":"send_email","parameters":{"type":"object","properties":{"to":{"type":"string",
    "maxLength":16},"subject":{"type":"string","maxLength":16},"urgent":{"type":"boolean"}},
    "required":["to","subject"]}},
  {"name":"now"}])";

// Checks every bit of allowed() against the definition, along random walks with random budgets.
void expect_masks_match_brute_force(eg::token_constraint& c, uint64_t seed, int walks) {
  std::mt19937_64 rng(seed);
  const size_t v = c.vocab_size();
  for (int w = 0; w < walks; ++w) {
    const size_t budget = c.tokens_to_finish(c.start()) + rng() % 40;
    eg::constrained_decoder dec(c, budget);
    while (!dec.done()) {
      const auto s = dec.state();
      const size_t r = dec.remaining();
      const eg::token_mask& m = dec.mask();
      std::vector<int32_t> allowed;
      for (size_t id = 0; id < v; ++id) {
        const auto t = c.next(s, static_cast<int32_t>(id));
        const bool expect = (static_cast<int32_t>(id) == c.end_token() && c.can_end(s)) ||
                            (t != eg::byte_dfa::dead && c.tokens_to_finish(t) + 1 <= r);
        ASSERT_EQ(m.test(static_cast<int32_t>(id)), expect)
            << "state " << s << " remaining " << r << " token " << id;
        if (expect) allowed.push_back(static_cast<int32_t>(id));
      }
      ASSERT_EQ(m.count, allowed.size());
      ASSERT_FALSE(allowed.empty());
      const int32_t forced = dec.forced();
      if (forced >= 0) {
        ASSERT_TRUE(c.next(s, forced) != eg::byte_dfa::dead || forced == c.end_token());
        dec.accept(forced);
      } else {
        ASSERT_GT(allowed.size(), 1u);
        dec.accept(allowed[rng() % allowed.size()]);
      }
    }
  }
}

std::shared_ptr<const eg::token_vocabulary> synthetic(size_t short_bytes = 16) {
  static const auto v = eg::test::make_synthetic_vocab(11);
  return std::make_shared<const eg::token_vocabulary>(v.bytes, short_bytes);
}

TEST(TokenMasks, EqualBruteForceOnSyntheticVocab) {
  const auto raw = eg::test::make_synthetic_vocab(11);
  for (size_t short_bytes : {size_t{4}, size_t{16}}) {
    auto vocab = synthetic(short_bytes);
    for (const char* schema : {kIntentSchema, kNestedSchema, kMatrixSchema}) {
      eg::token_constraint c(eg::byte_dfa::compile(eg::json_schema_constraint_from_text(schema)),
                             vocab, raw.end_id);
      expect_masks_match_brute_force(c, 5, 12);
    }
    eg::token_constraint tools(
        eg::byte_dfa::compile(eg::tool_call_constraint(ojson::parse(kTools))), vocab);
    expect_masks_match_brute_force(tools, 6, 12);
    eg::token_constraint labels(
        eg::byte_dfa::compile(eg::constraint::choice({"neg", "negative", "positive", "中文"})),
        vocab, raw.end_id);
    expect_masks_match_brute_force(labels, 7, 30);
  }
}

TEST(TokenMasks, MaskedArgmaxMatchesScalarReference) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng() % 700;
    eg::token_mask m(n + (trial % 3 == 0 ? 70 : 0));  // sometimes wider than the logits
    std::vector<float> z(n);
    const int density = static_cast<int>(rng() % 4);
    for (size_t i = 0; i < n; ++i) {
      z[i] = static_cast<float>(static_cast<int>(rng() % 41) - 20);  // ties on purpose
      if (rng() % 50 == 0) z[i] = std::numeric_limits<float>::quiet_NaN();
      if (rng() % 60 == 0) z[i] = -std::numeric_limits<float>::infinity();
      if (density == 3 || (density > 0 && rng() % (density * 3) == 0))
        m.set(static_cast<int32_t>(i));
    }
    for (size_t i = n; i < m.words.size() * 64 && i < n + 70; ++i)
      if (rng() % 2) m.set(static_cast<int32_t>(i));
    m.finish();
    int32_t expect = -1, first = -1;
    float best = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < n; ++i)
      if (m.test(static_cast<int32_t>(i))) {
        if (first < 0) first = static_cast<int32_t>(i);
        if (z[i] > best) {
          best = z[i];
          expect = static_cast<int32_t>(i);
        }
      }
    if (expect < 0) expect = first;
    ASSERT_EQ(eg::masked_argmax(z, m), expect) << trial;
    std::vector<float> masked = z;
    eg::apply_mask(masked, m);
    for (size_t i = 0; i < n; ++i)
      if (!m.test(static_cast<int32_t>(i))) ASSERT_TRUE(std::isinf(masked[i]) && masked[i] < 0);
  }
}

struct stream_case {
  std::string name;
  eg::constraint constraint;
  std::function<std::string(const nlohmann::json&)> check;  // "" when valid
};

std::vector<stream_case> json_cases() {
  std::vector<stream_case> cases;
  for (const char* s : {kIntentSchema, kSafetySchema, kNestedSchema, kMatrixSchema}) {
    const auto schema = ojson::parse(s);
    cases.push_back({s, eg::json_schema_constraint(schema),
                     [schema](const nlohmann::json& v) { return eg::test::validate(v, schema); }});
  }
  const auto tools = ojson::parse(kTools);
  cases.push_back(
      {"tools", eg::tool_call_constraint(tools), [tools](const nlohmann::json& v) {
         if (!v.is_object() || v.size() != 2 || !v.contains("name") || !v.contains("arguments"))
           return std::string("not a tool call");
         for (const auto& t : tools) {
           const auto& f = t.contains("function") ? t["function"] : t;
           if (f["name"] != v["name"]) continue;
           const ojson params =
               f.contains("parameters") ? f["parameters"] : ojson::parse(R"({"type":"object"})");
           return eg::test::validate(v["arguments"], params);
         }
         return std::string("unknown tool");
       }});
  return cases;
}

// Runs `runs` streams per case over all adversarial profiles; returns forced-token count.
void run_streams(const std::shared_ptr<const eg::token_vocabulary>& vocab, int32_t end_id,
                 const std::vector<std::string>& raw, int runs, size_t noisy_ids, size_t& forced) {
  std::vector<std::vector<float>> biases;
  for (int p = 0; p < static_cast<int>(profile::count); ++p)
    biases.push_back(eg::test::profile_bias(raw, static_cast<profile>(p)));
  forced = 0;
  std::mt19937_64 rng(99);
  for (auto& sc : json_cases()) {
    eg::token_constraint c(eg::byte_dfa::compile(sc.constraint), vocab, end_id);
    const size_t minimum = c.tokens_to_finish(c.start());
    for (int run = 0; run < runs; ++run) {
      const auto p = static_cast<profile>(run % static_cast<int>(profile::count));
      const size_t budget = run % 4 == 0   ? minimum + rng() % 4
                            : run % 4 == 1 ? minimum + rng() % 40
                                           : minimum + 60 + rng() % 200;
      eg::test::random_logits_source src(biases[static_cast<size_t>(p)], rng(), p, noisy_ids);
      const auto out = eg::constrained_generate(src, c, budget);
      forced += out.forced_tokens;
      ASSERT_LE(out.tokens.size() + (out.ended_with_end_token ? 1 : 0), budget) << sc.name;
      ASSERT_EQ(src.tokens, out.tokens);
      for (int32_t t : out.tokens) ASSERT_FALSE(vocab->bytes(t).empty()) << "special token emitted";
      nlohmann::json parsed;
      try {
        parsed = nlohmann::json::parse(out.bytes);
      } catch (const std::exception& e) {
        FAIL() << sc.name << "\nprofile " << static_cast<int>(p) << " budget " << budget
               << "\noutput does not parse: " << out.bytes << "\n"
               << e.what();
      }
      const std::string why = sc.check(parsed);
      ASSERT_EQ(why, "") << sc.name << "\noutput: " << out.bytes;
    }
  }
}

TEST(ConstrainedGenerate, RandomAndAdversarialStreamsAlwaysParseAndFinish) {
  const auto raw = eg::test::make_synthetic_vocab(11);
  auto vocab = synthetic();
  // 5 constraints x 450 runs (9 profiles x 50) = 2,250 generations, a quarter at the minimum
  // budget plus 0..3 tokens.
  size_t forced = 0;
  run_streams(vocab, raw.end_id, raw.bytes, 450, 0, forced);
  EXPECT_GT(forced, 0u);
  // Without an end token too (top-level objects and arrays end by themselves).
  run_streams(vocab, eg::token_constraint::no_end_token, raw.bytes, 45, 0, forced);
}

TEST(ConstrainedGenerate, LabelsWithEndToken) {
  const auto raw = eg::test::make_synthetic_vocab(11);
  auto vocab = synthetic();
  const std::vector<std::string> labels = {"neg", "negative", "positive", "neutral", "中文"};
  eg::token_constraint c(eg::byte_dfa::compile(eg::constraint::choice(labels)), vocab, raw.end_id);
  std::mt19937_64 rng(4);
  std::set<std::string> seen;
  for (int run = 0; run < 1800; ++run) {
    const auto p = static_cast<profile>(run % static_cast<int>(profile::count));
    const auto bias = eg::test::profile_bias(raw.bytes, p);
    eg::test::random_logits_source src(bias, rng(), p);
    const size_t budget = 1 + rng() % 12;
    if (budget < c.tokens_to_finish(c.start())) {
      EXPECT_THROW(eg::constrained_generate(src, c, budget), edgecloud::capacity_error);
      continue;
    }
    const auto out = eg::constrained_generate(src, c, budget);
    ASSERT_TRUE(std::find(labels.begin(), labels.end(), out.bytes) != labels.end()) << out.bytes;
    ASSERT_LE(out.tokens.size() + out.ended_with_end_token, budget);
    seen.insert(out.bytes);
  }
  EXPECT_EQ(seen.size(), labels.size());  // every label reachable, "neg" via the end token
  // Without an end token the output stops at the first complete label.
  eg::token_constraint shortest(eg::byte_dfa::compile(eg::constraint::choice({"neg", "negative"})),
                                vocab);
  const auto bias = eg::test::profile_bias(raw.bytes, profile::never_ending);
  eg::test::random_logits_source src(bias, 1, profile::never_ending);
  EXPECT_EQ(eg::constrained_generate(src, shortest, 20).bytes, "neg");
}

// A source that fails the test if its logits are read.
struct no_model {
  std::vector<int32_t> tokens;
  std::span<const float> logits() {
    ADD_FAILURE() << "model consulted for a forced token";
    static std::vector<float> z(5000, 0.0f);
    return z;
  }
  void advance(int32_t t) { tokens.push_back(t); }
};

TEST(ConstrainedGenerate, ForcedTokensSkipTheModel) {
  const auto raw = eg::test::make_synthetic_vocab(11);
  auto vocab = synthetic();
  // A const object: the whole output is forced.
  eg::token_constraint k(eg::byte_dfa::compile(eg::json_schema_constraint_from_text(
                             R"({"const":{"name":"search","arguments":{"query":"x"}}})")),
                         vocab, raw.end_id);
  no_model m;
  const auto out = eg::constrained_generate(m, k, 64);
  EXPECT_EQ(out.bytes, R"({"name":"search","arguments":{"query":"x"}})");
  EXPECT_EQ(out.model_steps, 0u);
  EXPECT_EQ(out.forced_tokens, out.tokens.size());
  EXPECT_LT(out.tokens.size(), out.bytes.size());  // multi-byte tokens were used for the run
  // One label: forced; longest-prefix tokens ("positive" is one token of the vocabulary).
  eg::token_constraint one(eg::byte_dfa::compile(eg::constraint::choice({"positive"})), vocab);
  no_model m2;
  const auto out2 = eg::constrained_generate(m2, one, 8);
  EXPECT_EQ(out2.bytes, "positive");
  EXPECT_EQ(out2.tokens.size(), 1u);
  // A single tool: `{"name": "now", "arguments": {}}` needs the model only where a space may go.
  eg::token_constraint tool(
      eg::byte_dfa::compile(eg::tool_call_constraint(ojson::parse(R"([{"name":"now"}])"))), vocab);
  eg::test::random_logits_source src(eg::test::profile_bias(raw.bytes, profile::random), 3,
                                     profile::random);
  const auto out3 = eg::constrained_generate(src, tool, 64);
  EXPECT_TRUE(nlohmann::json::parse(out3.bytes) ==
              nlohmann::json::parse(R"({"name":"now","arguments":{}})"))
      << out3.bytes;
  EXPECT_GT(out3.forced_tokens, 0u);
  EXPECT_EQ(src.calls, out3.model_steps);
  // Forced token at a mask with exactly one bit: choice {"ab", "ac"} with only single bytes for
  // 'b'/'c' after "a" is not forced, but "a" is.
  eg::token_constraint two(eg::byte_dfa::compile(eg::constraint::choice({"xab", "xac"})), vocab);
  EXPECT_EQ(two.forced_token(two.start(), 5), vocab->longest_prefix("x"));
}

TEST(ConstrainedGenerate, BudgetErrorsAndIllegalTokens) {
  const auto raw = eg::test::make_synthetic_vocab(11);
  auto vocab = synthetic();
  eg::token_constraint c(eg::byte_dfa::compile(eg::json_schema_constraint_from_text(kSafetySchema)),
                         vocab, raw.end_id);
  const size_t minimum = c.tokens_to_finish(c.start());
  EXPECT_EQ(minimum, std::string(R"({"safe":true,"reason":"pii"})").size());
  eg::test::random_logits_source src(eg::test::profile_bias(raw.bytes, profile::random), 1,
                                     profile::random);
  EXPECT_THROW(eg::constrained_generate(src, c, minimum - 1), edgecloud::capacity_error);
  eg::constrained_decoder d(c, minimum + 5);
  EXPECT_THROW(d.accept(vocab->longest_prefix("[")), edgecloud::config_error);
  EXPECT_THROW(d.accept(raw.specials[0]), edgecloud::config_error);
  EXPECT_THROW(eg::token_constraint(eg::byte_dfa::compile(eg::constraint::choice({"a"})), vocab, 0),
               edgecloud::config_error);  // end token with bytes
  // A vocabulary without single-byte tokens for the needed bytes cannot promise the budget.
  auto poor =
      std::make_shared<const eg::token_vocabulary>(std::vector<std::string>{"ab", "b", "x"});
  EXPECT_THROW(eg::token_constraint(eg::byte_dfa::compile(eg::constraint::choice({"ab"})), poor),
               edgecloud::config_error);
}

// ---- the real Qwen3 vocabulary -------------------------------------------------------------

TEST(ConstrainedGenerateQwen3, MasksAndStreamsOnTheFullVocabulary) {
  EDGECLOUD_FIXTURE(path, "tokenizer/tokenizer.json");
  const auto vocab_data = edgecloud::text::read_hf_tokenizer(path);
  const auto bytes = eg::token_bytes(vocab_data, 151936);
  ASSERT_EQ(bytes.size(), 151936u);
  auto vocab = std::make_shared<const eg::token_vocabulary>(bytes);
  for (int b = 0; b < 256; ++b) ASSERT_GE(vocab->single_byte_token(static_cast<uint8_t>(b)), 0);
  size_t spanning = 0;
  for (const auto& t : bytes) spanning += t.find("\":") != std::string::npos;
  EXPECT_GT(spanning, 10u);  // tokens like `":"` exist and are exercised
  const int32_t im_end = 151645;
  EXPECT_TRUE(bytes[im_end].empty());
  EXPECT_TRUE(bytes[151700].empty());
  // Masks equal brute force on walks through two constraints.
  eg::token_constraint nested(
      eg::byte_dfa::compile(eg::json_schema_constraint_from_text(kNestedSchema)), vocab, im_end);
  expect_masks_match_brute_force(nested, 1, 1);
  eg::token_constraint tools(eg::byte_dfa::compile(eg::tool_call_constraint(ojson::parse(kTools))),
                             vocab, im_end);
  expect_masks_match_brute_force(tools, 2, 1);
  // Streams: 5 constraints x 108 runs, noise on 2,048 random ids per step.
  size_t forced = 0;
  run_streams(vocab, im_end, bytes, 108, 2048, forced);
  EXPECT_GT(forced, 0u);
}

// ---- sampling (generate/sampler.hpp) --------------------------------------------------------

// Exact softmax of `l` at temperature t over the ids `allowed` (double precision).
std::vector<double> softmax_over(const std::vector<float>& l, double t, const std::vector<int32_t>& allowed) {
  std::vector<double> p(l.size(), 0.0);
  double top = -1e300, z = 0;
  for (int32_t id : allowed) top = std::max(top, static_cast<double>(l[static_cast<size_t>(id)]));
  for (int32_t id : allowed) z += p[static_cast<size_t>(id)] = std::exp((l[static_cast<size_t>(id)] - top) / t);
  for (double& x : p) x /= z;
  return p;
}

// The nucleus by its definition: ids by probability (ties: lower id), the fewest reaching q.
std::vector<int32_t> nucleus(const std::vector<double>& p, double q) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0) ids.push_back(static_cast<int32_t>(i));
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
  double mass = 0;
  size_t k = 0;
  while (k < ids.size() && mass < q - 1e-12) mass += p[ids[k++]];
  ids.resize(k);
  return ids;
}

// Every draw's frequency within 5 standard deviations of its probability (restricted to
// `keep`, renormalised), and nothing drawn outside `keep`.
void expect_frequencies(eg::sampler& pick, const std::vector<float>& l, const eg::token_mask* mask,
                        std::vector<double> p, const std::vector<int32_t>& keep, int draws) {
  std::vector<double> q(p.size(), 0.0);
  double z = 0;
  for (int32_t id : keep) z += p[static_cast<size_t>(id)];
  for (int32_t id : keep) q[static_cast<size_t>(id)] = p[static_cast<size_t>(id)] / z;
  std::vector<int> seen(p.size(), 0);
  for (int i = 0; i < draws; ++i) {
    const int32_t t = mask ? pick(l, *mask) : pick(l);
    ASSERT_GE(t, 0);
    ASSERT_LT(static_cast<size_t>(t), p.size());
    ASSERT_GT(q[static_cast<size_t>(t)], 0.0) << "drew id " << t << " outside the allowed nucleus";
    ++seen[static_cast<size_t>(t)];
  }
  for (size_t i = 0; i < p.size(); ++i) {
    const double f = static_cast<double>(seen[i]) / draws;
    const double sd = std::sqrt(q[i] * (1 - q[i]) / draws);
    EXPECT_NEAR(f, q[i], 5 * sd + 1e-9) << "id " << i;
  }
}

TEST(Sampler, TemperatureZeroIsTheGreedyArgmax) {
  std::mt19937_64 rng(3);
  eg::sampler pick;  // default options: greedy
  EXPECT_TRUE(pick.greedy());
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + rng() % 300;
    std::vector<float> l(n);
    for (float& x : l) x = static_cast<float>(static_cast<int>(rng() % 21) - 10);  // ties
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
      if (l[i] > l[best]) best = i;
    EXPECT_EQ(pick(l), static_cast<int32_t>(best));
    eg::token_mask m(n);
    for (size_t i = 0; i < n; ++i)
      if (rng() % 3 == 0) m.set(static_cast<int32_t>(i));
    m.set(static_cast<int32_t>(rng() % n));
    m.finish();
    int32_t mbest = -1;
    for (size_t i = 0; i < n; ++i)
      if (m.test(static_cast<int32_t>(i)) && (mbest < 0 || l[i] > l[static_cast<size_t>(mbest)]))
        mbest = static_cast<int32_t>(i);
    EXPECT_EQ(pick(l, m), mbest);
  }
}

TEST(Sampler, TheSameSeedGivesTheSameTokensAndOthersDiffer) {
  std::mt19937_64 rng(5);
  std::vector<float> l(500);
  for (float& x : l) x = static_cast<float>(rng() % 1000) / 250.0f;
  const eg::sampling_options o{.temperature = 1.0, .top_p = 0.95, .seed = 42};
  eg::sampler a(o), b(o), c({.temperature = 1.0, .top_p = 0.95, .seed = 43});
  EXPECT_EQ(a.seed(), 42u);
  EXPECT_FALSE(a.greedy());
  std::vector<int32_t> ta, tb, tc;
  for (int i = 0; i < 300; ++i) {
    ta.push_back(a(l));
    tb.push_back(b(l));
    tc.push_back(c(l));
  }
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
  // The generator's sequence is the standard's: the 10000th mt19937_64 output is fixed by
  // [rand.predef]; uniform() is its top 53 bits.
  std::mt19937_64 ref(42);
  ref.discard(9999);
  eg::sampler d({.temperature = 1.0, .seed = 42});
  for (int i = 0; i < 9999; ++i) (void)d.uniform();
  EXPECT_EQ(d.uniform(), static_cast<double>(ref() >> 11) * 0x1.0p-53);
  std::mt19937_64 std10000;
  std10000.discard(9999);
  EXPECT_EQ(std10000(), 9981545732273789042ull);
  // Without a seed, each sampler draws its own and says which.
  eg::sampler e({.temperature = 1.0}), f({.temperature = 1.0});
  EXPECT_NE(e.seed(), f.seed());
  eg::sampler g({.temperature = 1.0, .seed = e.seed()});
  for (int i = 0; i < 50; ++i) EXPECT_EQ(e(l), g(l));
}

TEST(Sampler, FrequenciesFollowTheSoftmaxAtTheTemperature) {
  const std::vector<float> l = {1.0f, 2.5f, -0.5f, 2.5f, 0.0f, 3.0f, -2.0f, 1.7f};
  std::vector<int32_t> all(l.size());
  for (size_t i = 0; i < l.size(); ++i) all[i] = static_cast<int32_t>(i);
  for (double t : {0.5, 1.0, 1.8}) {
    eg::sampler pick({.temperature = t, .seed = 11});
    expect_frequencies(pick, l, nullptr, softmax_over(l, t, all), all, 100000);
  }
  // Under a mask the distribution is the softmax over the allowed ids only.
  eg::token_mask m(l.size());
  const std::vector<int32_t> allowed = {0, 2, 4, 7};
  for (int32_t id : allowed) m.set(id);
  m.finish();
  eg::sampler pick({.temperature = 0.9, .seed = 12});
  expect_frequencies(pick, l, &m, softmax_over(l, 0.9, allowed), allowed, 100000);
}

TEST(Sampler, TopPKeepsExactlyTheNucleus) {
  std::mt19937_64 rng(9);
  std::vector<float> l(300);
  for (float& x : l) x = static_cast<float>(rng() % 100000) / 12000.0f;  // distinct, spread
  std::vector<int32_t> all(l.size());
  for (size_t i = 0; i < l.size(); ++i) all[i] = static_cast<int32_t>(i);
  for (double q : {0.3, 0.75}) {
    const auto p = softmax_over(l, 0.8, all);
    const auto keep = nucleus(p, q);
    ASSERT_GT(keep.size(), 1u);
    eg::sampler pick({.temperature = 0.8, .top_p = q, .seed = 21});
    expect_frequencies(pick, l, nullptr, p, keep, 60000);
  }
  // With a mask, the nucleus is taken over the allowed ids.
  eg::token_mask m(l.size());
  std::vector<int32_t> allowed;
  for (int32_t i = 0; i < 300; i += 3) {
    m.set(i);
    allowed.push_back(i);
  }
  m.finish();
  const auto p = softmax_over(l, 0.8, allowed);
  eg::sampler pick({.temperature = 0.8, .top_p = 0.6, .seed = 22});
  expect_frequencies(pick, l, &m, p, nucleus(p, 0.6), 60000);
  // A flat distribution over 2,000 ids: the nucleus of 0.9 is the first 1,800 (ties go to the
  // lower id), past the first partial sort of 64.
  const std::vector<float> flat(2000, 0.25f);
  eg::sampler wide({.temperature = 1.3, .top_p = 0.9, .seed = 23});
  int32_t hi = 0;
  for (int i = 0; i < 8000; ++i) hi = std::max(hi, wide(flat));
  EXPECT_LE(hi, 1799);
  EXPECT_GE(hi, 1790);  // missing all of the last ten: p = (1 - 10/1800)^8000 < 1e-19
}

TEST(Sampler, NonFiniteLogitsAndBadOptions) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  eg::sampler pick({.temperature = 1.0, .top_p = 0.5, .seed = 1});
  const std::vector<float> dead = {-inf, nan, -inf, -inf};
  EXPECT_EQ(pick(dead), 0);  // nothing has weight: the lowest allowed id
  eg::token_mask m(4);
  m.set(2);
  m.set(3);
  m.finish();
  EXPECT_EQ(pick(dead, m), 2);
  const std::vector<float> sure = {0.0f, inf, 3.0f, inf};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(pick(sure), 1);
  const std::vector<float> some_nan = {nan, 0.0f, nan, 0.1f};
  for (int i = 0; i < 200; ++i) {
    const int32_t t = pick(some_nan);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
  eg::token_mask none(4);
  none.finish();
  EXPECT_THROW(pick(sure, none), edgecloud::config_error);
  EXPECT_THROW(eg::sampler{}(sure, none), edgecloud::config_error);
  eg::token_mask past(200);  // allows only an id beyond the logits
  past.set(150);
  past.finish();
  EXPECT_THROW(pick(sure, past), edgecloud::config_error);
  for (double t : {-0.1, static_cast<double>(nan), static_cast<double>(inf)})
    EXPECT_THROW(eg::sampler({.temperature = t}), edgecloud::config_error) << t;
  for (double q : {0.0, -0.5, 1.0000001, static_cast<double>(nan)})
    EXPECT_THROW(eg::sampler({.temperature = 1, .top_p = q}), edgecloud::config_error) << q;
}

}  // namespace
