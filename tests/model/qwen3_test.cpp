// SPDX-License-Identifier: Apache-2.0
// The Qwen3 engine against llama.cpp's logits for the fixture models (../shared/fixtures/models,
// see its README): every logit of every position, greedy continuations, and the session's own
// invariants (batched prefill == token-by-token decode, truncate + re-prefill == fresh,
// thread count and batch size do not change results).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/fixtures.hpp"
#include "model/reference_forward.hpp"

namespace {

using edgecloud::kernels::dtype;
using edgecloud::model::logits_mode;
using edgecloud::model::qwen3;
using edgecloud::model::session;
using edgecloud::model::session_config;

struct ref_seq {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;
  std::vector<int32_t> greedy;
};

std::vector<ref_seq> load_ref(const std::string& path) {
  std::ifstream in(path);
  const auto j = nlohmann::json::parse(in);
  std::vector<ref_seq> out;
  for (const auto& s : j.at("seqs")) {
    ref_seq r;
    r.tokens = s.at("tokens").get<std::vector<int32_t>>();
    r.logits = s.at("logits").get<std::vector<std::vector<float>>>();
    r.greedy = s.at("greedy").get<std::vector<int32_t>>();
    out.push_back(std::move(r));
  }
  return out;
}

session_config test_config(dtype kv = dtype::f32, size_t threads = 2, size_t batch = 64) {
  session_config c;
  c.context = 256;
  c.kv_type = kv;
  c.threads = threads;
  c.max_batch = batch;
  c.logits_rows = 256;
  return c;
}

template <class Range>
double max_abs(const Range& v) {
  double m = 0;
  for (auto x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}
double max_abs_of(const std::vector<float>& v) {
  return max_abs(v);
}

double cosine(std::span<const float> a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < b.size(); ++i)
    ab += a[i] * double(b[i]), aa += a[i] * double(a[i]), bb += b[i] * double(b[i]);
  return ab / std::sqrt(aa * bb);
}

// Every position of every sequence within rel_tol * max|reference logit| of that position.
void expect_logits_close(const std::string& model_rel, const std::string& ref_rel, double rel_tol,
                         dtype kv, double min_cosine = 0) {
  const std::string model_path = edgecloud::testing::fixture(model_rel);
  const std::string ref_path = edgecloud::testing::fixture(ref_rel);
  ASSERT_FALSE(model_path.empty() || ref_path.empty());
  const qwen3 model = qwen3::load(model_path);
  session s(model, test_config(kv));
  for (const ref_seq& seq : load_ref(ref_path)) {
    s.clear();
    s.prefill(seq.tokens, logits_mode::all);
    ASSERT_EQ(seq.logits.size(), seq.tokens.size());
    double worst = 0;
    for (size_t p = 0; p < seq.tokens.size(); ++p) {
      auto got = s.logits(p);
      const auto& want = seq.logits[p];
      ASSERT_EQ(got.size(), want.size());
      const double scale = max_abs_of(want);
      for (size_t i = 0; i < want.size(); ++i) {
        const double err = std::fabs(double(got[i]) - want[i]) / scale;
        worst = std::max(worst, err);
        ASSERT_LE(err, rel_tol) << model_rel << " seq of " << seq.tokens.size()
                                << " tokens, position " << p << ", logit " << i << ": " << got[i]
                                << " vs " << want[i];
      }
      if (min_cosine > 0) {
        EXPECT_GE(cosine(got, want), min_cosine) << "position " << p;
      }
    }
    std::printf("  %s, %zu tokens: worst |err| / max|logit| = %.3g\n", model_rel.c_str(),
                seq.tokens.size(), worst);
  }
}

TEST(Qwen3Fixture, F32LogitsMatchLlamaCpp) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-f32.gguf");
  expect_logits_close("models/tiny-qwen3-f32.gguf", "models/tiny-qwen3-f32.ref.json", 1e-4,
                      dtype::f32);
}

TEST(Qwen3Fixture, F16LogitsMatchLlamaCpp) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-f16.gguf");
  expect_logits_close("models/tiny-qwen3-f16.gguf", "models/tiny-qwen3-f16.ref.json", 1e-3,
                      dtype::f32);
  // The default F16 KV cache stays within the same bound.
  expect_logits_close("models/tiny-qwen3-f16.gguf", "models/tiny-qwen3-f16.ref.json", 1e-3,
                      dtype::f16);
}

TEST(Qwen3Fixture, Q8LogitsMatchExactInt8Maths) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-q8_0.gguf");
  expect_logits_close("models/tiny-qwen3-q8_0.gguf", "models/tiny-qwen3-q8_0.exact.json", 1e-2,
                      dtype::f32, 0.9999);
}

TEST(Qwen3Fixture, IndependentReferenceAgreesWithLlamaCpp) {
  // The double-precision reference of reference_forward.hpp is what the shape tests trust; check
  // it first against llama.cpp on the fixture.
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-f32.gguf");
  EDGECLOUD_FIXTURE(r, "models/tiny-qwen3-f32.ref.json");
  const auto file = edgecloud::gguf::file::open(m);
  const reftest::ref_model ref(file);
  // Every sequence, the 130-token one too: positions past 32 are where a RoPE or causal-mask
  // error in either implementation would show.
  size_t checked = 0;
  for (const ref_seq& seq : load_ref(r)) {
    ++checked;
    const auto got = ref.logits(seq.tokens);
    ASSERT_EQ(got.size(), seq.tokens.size());
    for (size_t p = 0; p < seq.tokens.size(); ++p) {
      const double scale = max_abs_of(seq.logits[p]);
      for (size_t i = 0; i < got[p].size(); ++i)
        ASSERT_NEAR(got[p][i], seq.logits[p][i], 1e-4 * scale)
            << "position " << p << " logit " << i;
    }
  }
  EXPECT_EQ(checked, 4u) << r;
}

void expect_greedy_equal(const std::string& model_rel, const std::string& ref_rel, dtype kv) {
  const qwen3 model = qwen3::load(edgecloud::testing::fixture(model_rel));
  session s(model, test_config(kv));
  for (const ref_seq& seq : load_ref(edgecloud::testing::fixture(ref_rel))) {
    s.clear();
    EXPECT_EQ(s.generate(seq.tokens, seq.greedy.size()), seq.greedy)
        << model_rel << ", prompt of " << seq.tokens.size();
  }
}

TEST(Qwen3Fixture, GreedyMatchesLlamaCppF32AndF16) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-f32.gguf");
  EDGECLOUD_FIXTURE(h, "models/tiny-qwen3-f16.gguf");
  expect_greedy_equal("models/tiny-qwen3-f32.gguf", "models/tiny-qwen3-f32.ref.json", dtype::f32);
  expect_greedy_equal("models/tiny-qwen3-f16.gguf", "models/tiny-qwen3-f16.ref.json", dtype::f32);
  expect_greedy_equal("models/tiny-qwen3-f16.gguf", "models/tiny-qwen3-f16.ref.json", dtype::f16);
}

// Q8_0: the greedy ids may leave the exact-maths reference only at a step where the reference's
// two best logits are closer than the INT8 error. The reference logits at that step come from
// the independent double-precision forward pass over the dequantized weights (the same maths as
// exact.json), and the INT8 error is the bound the logits test holds: 1e-2 * max|logit|.
TEST(Qwen3Fixture, Q8GreedyLeavesReferenceOnlyOnNearTies) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-q8_0.gguf");
  EDGECLOUD_FIXTURE(r, "models/tiny-qwen3-q8_0.exact.json");
  const qwen3 model = qwen3::load(m);
  const reftest::ref_model ref(model.file());
  session s(model, test_config());
  for (const ref_seq& seq : load_ref(r)) {
    s.clear();
    const auto got = s.generate(seq.tokens, seq.greedy.size());
    ASSERT_EQ(got.size(), seq.greedy.size());
    for (size_t k = 0; k < got.size(); ++k) {
      if (got[k] == seq.greedy[k]) continue;
      std::vector<int32_t> prefix = seq.tokens;
      prefix.insert(prefix.end(), seq.greedy.begin(), seq.greedy.begin() + static_cast<long>(k));
      const std::vector<double> l = ref.logits(prefix).back();
      std::vector<double> sorted = l;
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
      const double int8_error = 1e-2 * max_abs(l);
      EXPECT_LT(sorted[0] - sorted[1], int8_error)
          << "prompt of " << seq.tokens.size() << ": step " << k << " chose " << got[k]
          << " but the reference's " << seq.greedy[k] << " leads by more than the INT8 error";
      EXPECT_NEAR(l[static_cast<size_t>(got[k])], sorted[0], int8_error);
      break;  // after a legitimate divergence the two continuations are different sequences
    }
  }
}

// The real 151,936-entry vocabulary (hidden 64): llama.cpp's own Q8_0 path rounds activations
// differently from ours, so each is compared with the exact INT8 maths (the double reference over
// the dequantized weights) within the INT8 bound, and with each other within twice that.
TEST(Qwen3Fixture, FullVocabularyQ8MatchesExactMathsAndLlamaCpp) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  EDGECLOUD_FIXTURE(r, "models/tiny-qwen3-fullvocab-q8_0.ref.json");
  const qwen3 model = qwen3::load(m);
  ASSERT_EQ(model.config().n_vocab, 151936u);
  const reftest::ref_model ref(model.file());
  std::ifstream in(r);
  const auto j = nlohmann::json::parse(in);
  session s(model, test_config());
  for (const auto& seq : j.at("seqs")) {
    const auto tokens = seq.at("tokens").get<std::vector<int32_t>>();
    const auto llama = seq.at("logits").back().get<std::vector<float>>();
    const auto greedy = seq.at("greedy").get<std::vector<int32_t>>();
    s.clear();
    const auto got = s.prefill(tokens);
    const std::vector<double> exact = ref.logits(tokens).back();
    const double scale = max_abs(exact);
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < exact.size(); ++i) {
      ASSERT_NEAR(got[i], exact[i], 1e-2 * scale) << "logit " << i;
      ASSERT_NEAR(got[i], llama[i], 2e-2 * scale) << "logit " << i;
      ab += got[i] * exact[i], aa += double(got[i]) * got[i], bb += exact[i] * exact[i];
    }
    EXPECT_GE(ab / std::sqrt(aa * bb), 0.9999);
    EXPECT_GE(cosine(got, llama), 0.9995);

    s.clear();
    const auto out = s.generate(tokens, greedy.size());
    ASSERT_EQ(out.size(), greedy.size());
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k] == greedy[k]) continue;
      std::vector<int32_t> prefix = tokens;
      prefix.insert(prefix.end(), out.begin(), out.begin() + static_cast<long>(k));
      std::vector<double> l = ref.logits(prefix).back();
      const double err = 1e-2 * max_abs(l);
      std::partial_sort(l.begin(), l.begin() + 2, l.end(), std::greater<>());
      EXPECT_LT(l[0] - l[1], err) << "step " << k << ": " << out[k] << " vs llama.cpp's "
                                  << greedy[k];
      break;
    }
  }
}

std::vector<int32_t> test_tokens(size_t n, size_t vocab) {
  std::vector<int32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  return t;
}

// Batched prefill of all positions == one position at a time through decode_step.
void expect_prefill_equals_decode(const std::string& rel, double rel_tol) {
  const qwen3 model = qwen3::load(edgecloud::testing::fixture(rel));
  const auto tokens = test_tokens(40, model.config().n_vocab);
  session batched(model, test_config());
  batched.prefill(tokens, logits_mode::all);
  session stepwise(model, test_config());
  for (size_t p = 0; p < tokens.size(); ++p) {
    auto got = stepwise.decode_step(tokens[p]);
    auto want = batched.logits(p);
    const double scale = max_abs(want);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_NEAR(got[i], want[i], rel_tol * scale) << rel << " position " << p << " logit " << i;
  }
}

TEST(Qwen3Session, PrefillEqualsTokenByTokenDecode) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-f32.gguf");
  expect_prefill_equals_decode("models/tiny-qwen3-f32.gguf", 1e-5);
  // Q8_0: matmul and matvec may sum the per-block products in another order; a last-bit
  // difference that moves an activation across an 8-bit rounding boundary is then amplified to
  // ~1e-5..1e-4 of the largest logit, still far below the INT8 error itself (~4e-3).
  expect_prefill_equals_decode("models/tiny-qwen3-q8_0.gguf", 1e-3);
}

TEST(Qwen3Session, TruncateAndRePrefillEqualsFresh) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-q8_0.gguf");
  const qwen3 model = qwen3::load(m);
  const auto a = test_tokens(50, model.config().n_vocab);
  std::vector<int32_t> b = a;
  for (size_t i = 20; i < b.size(); ++i) b[i] = static_cast<int32_t>((b[i] + 101) % 1024);

  session s(model, test_config());
  s.prefill(std::span(a).first(20));
  s.prefill(std::span(a).subspan(20));  // a's tail now in the cache
  s.truncate(20);                       // keep the shared prefix
  EXPECT_EQ(s.size(), 20u);
  auto reused = s.prefill(std::span(b).subspan(20));
  const std::vector<float> reused_copy(reused.begin(), reused.end());

  session fresh(model, test_config());
  fresh.prefill(std::span(b).first(20));
  auto want = fresh.prefill(std::span(b).subspan(20));
  ASSERT_EQ(reused_copy.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(reused_copy[i], want[i]) << "logit " << i;
}

TEST(Qwen3Session, ThreadsAndBatchSizeDoNotChangeResults) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-q8_0.gguf");
  const qwen3 model = qwen3::load(m);
  const auto tokens = test_tokens(45, model.config().n_vocab);
  session one(model, test_config(dtype::f16, 1, 64));
  const auto base = one.prefill(tokens, logits_mode::all);
  (void)base;
  for (size_t threads : {2u, 3u}) {
    session s(model, test_config(dtype::f16, threads, 64));
    s.prefill(tokens, logits_mode::all);
    for (size_t p = 0; p < tokens.size(); ++p) {
      auto a = one.logits(p), b = s.logits(p);
      ASSERT_TRUE(std::equal(a.begin(), a.end(), b.begin()))
          << threads << " threads, position " << p;
    }
  }
  // Smaller prefill chunks: same maths, possibly another summation order in matmul.
  session chunked(model, test_config(dtype::f16, 2, 7));
  chunked.prefill(tokens, logits_mode::all);
  for (size_t p = 0; p < tokens.size(); ++p) {
    auto a = one.logits(p), b = chunked.logits(p);
    const double scale = max_abs(a);
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * scale) << "position " << p;
  }
}

TEST(Qwen3Session, CompileTimeCapacityCacheGivesTheSameLogits) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-q8_0.gguf");
  const qwen3 model = qwen3::load(m);
  const auto tokens = test_tokens(30, model.config().n_vocab);
  session_config c = test_config(dtype::f16);
  c.context = 0;  // the static cache fixes it
  edgecloud::model::basic_session<edgecloud::model::static_kv_cache<64>> fixed(model, c);
  EXPECT_EQ(fixed.cache().capacity(), 64u);
  EXPECT_EQ(fixed.config().context, 64u);
  session dynamic(model, test_config(dtype::f16));
  auto a = fixed.prefill(tokens);
  auto b = dynamic.prefill(tokens);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin()));
  const auto more = test_tokens(35, model.config().n_vocab);
  EXPECT_THROW(fixed.prefill(more), edgecloud::capacity_error);  // 30 + 35 > 64
}

TEST(Qwen3Session, PrefaultedModelGivesTheSameLogits) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-q8_0.gguf");
  const qwen3 lazy = qwen3::load(m);
  const qwen3 eager = qwen3::load(m, /*prefault=*/true);
  eager.prefault();  // idempotent
  const auto tokens = test_tokens(9, lazy.config().n_vocab);
  session a(lazy, test_config()), b(eager, test_config());
  auto la = a.prefill(tokens);
  auto lb = b.prefill(tokens);
  EXPECT_TRUE(std::equal(la.begin(), la.end(), lb.begin()));
}

TEST(Qwen3Session, RefusesWhatDoesNotFit) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-f32.gguf");
  const qwen3 model = qwen3::load(m);
  session_config c = test_config();
  c.context = 16;
  c.logits_rows = 1;
  session s(model, c);
  const auto tokens = test_tokens(17, model.config().n_vocab);
  EXPECT_THROW(s.prefill(tokens), edgecloud::capacity_error);
  EXPECT_EQ(s.size(), 0u);  // nothing changed
  s.prefill(std::span(tokens).first(16));
  EXPECT_THROW(s.decode_step(1), edgecloud::capacity_error);
  s.truncate(15);
  EXPECT_NO_THROW(s.decode_step(1));
  EXPECT_THROW(s.logits(3), edgecloud::config_error);  // not kept

  s.clear();
  const int32_t bad[] = {1, 1024};
  EXPECT_THROW(s.prefill(bad), edgecloud::text_error);
  const int32_t negative[] = {-1};
  EXPECT_THROW(s.prefill(negative), edgecloud::text_error);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_THROW(s.prefill(std::span(tokens).first(2), logits_mode::all), edgecloud::capacity_error)
      << "all logits of more positions than logits_rows";
}

TEST(Qwen3Session, StopTokensAndCallback) {
  EDGECLOUD_FIXTURE(m, "models/tiny-qwen3-f32.gguf");
  EDGECLOUD_FIXTURE(r, "models/tiny-qwen3-f32.ref.json");
  const qwen3 model = qwen3::load(m);
  const ref_seq seq = load_ref(r)[2];
  session s(model, test_config());
  std::vector<int32_t> streamed;
  const int32_t stop[] = {seq.greedy[0]};
  EXPECT_TRUE(s.generate(seq.tokens, 8, stop, [&](int32_t t) { streamed.push_back(t); }).empty());
  EXPECT_TRUE(streamed.empty());
  s.clear();
  auto out = s.generate(seq.tokens, 8, {}, [&](int32_t t) {
    streamed.push_back(t);
    return streamed.size() < 3;  // stop after the third
  });
  EXPECT_EQ(out, streamed);
  EXPECT_EQ(out, std::vector<int32_t>(seq.greedy.begin(), seq.greedy.begin() + 3));

  // An empty prompt continues from the last logits; with none kept it is an error.
  s.clear();
  EXPECT_THROW(s.generate({}, 4), edgecloud::config_error);
  s.prefill(seq.tokens);
  EXPECT_EQ(s.generate({}, 4), std::vector<int32_t>(seq.greedy.begin(), seq.greedy.begin() + 4));
}

}  // namespace
