// SPDX-License-Identifier: Apache-2.0
// LoRA adapters (model/lora.hpp) applied unmerged by the session, checked against the
// independent double-precision forward pass of reference_forward.hpp run on the merged weights
// W' = W + s B A computed here in double (s = scale * alpha / r, llama.cpp's rule): 0, 1 and 2
// adapters at scales 1.0 and 0.5, F32 (1e-4 of max |logit|) and Q8_0 (2e-2) bases and adapters,
// prefill against decode, switching sets on one session, two sessions on one base, partial
// adapters (some layers, some targets), and every malformed adapter refused with a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <edgecloud/model/gguf_random_qwen3.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/lora_merge.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <edgecloud/testing/lora_gguf.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/reference_forward.hpp"

namespace {

namespace gguf = edgecloud::gguf;
using edgecloud::config_error;
using edgecloud::model_error;
using edgecloud::kernels::dtype;
using edgecloud::kernels::dtype_name;
using edgecloud::model::logits_mode;
using edgecloud::model::lora_adapter;
using edgecloud::model::lora_set;
using edgecloud::model::lora_target;
using edgecloud::model::qwen3;
using edgecloud::model::session;
using edgecloud::model::session_config;
using edgecloud::testing::lora_spec;

// q_dim (128) != hidden (64) and n_ff (96) differs from both: an in/out mix-up cannot pass.
gguf::qwen3_shape test_shape() {
  gguf::qwen3_shape s = gguf::qwen3_shape::tiny(300);
  s.hidden = 64;
  s.ffn = 96;
  s.heads = 4;
  s.kv_heads = 2;
  s.head_dim = 32;
  s.tied_output = false;
  return s;
}

struct base_model {
  std::vector<std::byte> bytes;
  std::unique_ptr<qwen3> model;
};

std::unique_ptr<base_model> make_base(dtype weights, uint64_t seed = 7) {
  auto b = std::make_unique<base_model>();
  gguf::writer w;
  gguf::add_random_qwen3(w, test_shape(), static_cast<uint32_t>(weights), seed, 1);
  b->bytes = w.to_bytes();
  b->model = std::make_unique<qwen3>(gguf::file::from_memory(b->bytes));
  return b;
}

// The reference model with W += s B A for every pair of every binding, in double.
reftest::ref_model merged_reference(const qwen3& base, const lora_set& set) {
  reftest::ref_model ref(base.file());
  for (const auto& binding : set) {
    const lora_adapter& ad = *binding.adapter;
    for (size_t l = 0; l < ad.n_layers(); ++l) {
      for (size_t t = 0; t < edgecloud::model::n_lora_targets; ++t) {
        const auto target = static_cast<lora_target>(t);
        if (!ad.pair(l, target)) continue;
        const std::string name = "blk." + std::to_string(l) + "." +
                                 std::string(edgecloud::model::lora_target_names[t]) + ".weight";
        const auto* ta = ad.file().find_tensor(name + ".lora_a");
        const auto* tb = ad.file().find_tensor(name + ".lora_b");
        const std::vector<double> A = reftest::expand(*ta), B = reftest::expand(*tb);
        const size_t in = ta->dims[0], r = ta->dims[1], out = tb->dims[1];
        // llama.cpp: s = scale * alpha / r, or scale when alpha is 0.
        const double s = ad.alpha() != 0 ? binding.scale * double(ad.alpha()) / double(r)
                                         : double(binding.scale);
        reftest::ref_layer& L = ref.blk[l];
        std::vector<double>* W[] = {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down};
        std::vector<double>& w = *W[t];
        EXPECT_EQ(w.size(), in * out) << name;
        for (size_t row = 0; row < out; ++row)
          for (size_t k = 0; k < r; ++k) {
            const double bk = s * B[row * r + k];
            for (size_t c = 0; c < in; ++c) w[row * in + c] += bk * A[k * in + c];
          }
      }
    }
  }
  return ref;
}

const std::vector<int32_t> kPrompt = {3, 141, 59, 26, 5, 35, 89, 79, 32, 38, 46, 264, 33, 8, 27};

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Every position's logits by one prefill with all logits, and by decode steps, against `ref`.
void expect_matches(session& s, const reftest::ref_model& ref, double tol,
                    const std::string& what) {
  const auto expected = ref.logits(kPrompt);
  s.clear();
  s.prefill(kPrompt, logits_mode::all);
  for (size_t p = 0; p < kPrompt.size(); ++p) {
    const auto got = s.logits(p);
    const double scale = max_abs(expected[p]);
    double worst = 0;
    for (size_t v = 0; v < got.size(); ++v)
      worst = std::max(worst, std::fabs(got[v] - expected[p][v]) / scale);
    ASSERT_LT(worst, tol) << what << ": prefill position " << p;
  }
  s.clear();
  for (size_t p = 0; p < kPrompt.size(); ++p) {
    const auto got = s.decode_step(kPrompt[p]);
    const double scale = max_abs(expected[p]);
    double worst = 0;
    for (size_t v = 0; v < got.size(); ++v)
      worst = std::max(worst, std::fabs(got[v] - expected[p][v]) / scale);
    ASSERT_LT(worst, tol) << what << ": decode position " << p;
  }
}

// The largest relative difference between the logits of two sets (how much an adapter moves
// them), so a test can show that what it checks is not the base model again.
double logit_shift(const reftest::ref_model& a, const reftest::ref_model& b) {
  const auto la = a.logits(kPrompt), lb = b.logits(kPrompt);
  double worst = 0;
  for (size_t p = 0; p < la.size(); ++p) {
    const double scale = max_abs(la[p]);
    for (size_t v = 0; v < la[p].size(); ++v)
      worst = std::max(worst, std::fabs(la[p][v] - lb[p][v]) / scale);
  }
  return worst;
}

session_config small_session(size_t threads = 2) {
  session_config c;
  c.context = 64;
  c.threads = threads;
  c.max_batch = 8;  // two prefill chunks for the 15-token prompt
  c.logits_rows = 32;
  c.kv_type = dtype::f32;
  return c;
}

std::shared_ptr<const lora_adapter> make_adapter(const qwen3& base, lora_spec spec) {
  return lora_adapter::from_memory(edgecloud::testing::random_lora_bytes(base.config(), spec), base,
                                   "test-adapter-" + std::to_string(spec.seed));
}

TEST(Lora, F32MatchesMergedReference) {
  auto base = make_base(dtype::f32);
  const qwen3& m = *base->model;
  auto a = make_adapter(m, {.rank = 6, .alpha = 16, .seed = 11});
  auto b = make_adapter(m, {.rank = 4, .alpha = 0, .seed = 12});  // no alpha: s = scale
  EXPECT_EQ(a->max_rank(), 6u);
  EXPECT_EQ(a->n_pairs(), 2u * 7u);
  EXPECT_FLOAT_EQ(b->alpha(), 0.0f);
  session s(m, small_session());
  const std::vector<lora_set> sets = {
      {}, {{a, 1.0f}}, {{a, 0.5f}}, {{b, 1.0f}}, {{a, 1.0f}, {b, 0.5f}}, {{a, 0.5f}, {b, 1.0f}}};
  const auto base_ref = merged_reference(m, {});
  for (size_t i = 0; i < sets.size(); ++i) {
    s.set_adapters(sets[i]);
    const auto ref = merged_reference(m, sets[i]);
    if (i > 0) EXPECT_GT(logit_shift(base_ref, ref), 0.05) << "set " << i << " must matter";
    expect_matches(s, ref, 1e-4, "F32 set " + std::to_string(i));
  }
}

TEST(Lora, Q8BaseAndQ8AdaptersWithinTwoPercent) {
  auto base = make_base(dtype::q8_0);
  const qwen3& m = *base->model;
  // A in Q8_0 (rows of `in`), B in Q8_0 needs rank % 32 == 0; the other B in F16.
  auto a = make_adapter(
      m, {.rank = 32, .alpha = 32, .a_type = dtype::q8_0, .b_type = dtype::q8_0, .seed = 21});
  auto b = make_adapter(
      m, {.rank = 8, .alpha = 8, .a_type = dtype::q8_0, .b_type = dtype::f16, .seed = 22});
  auto c = make_adapter(
      m, {.rank = 8, .alpha = 16, .a_type = dtype::bf16, .b_type = dtype::f32, .seed = 23});
  session s(m, small_session());
  const std::vector<lora_set> sets = {
      {{a, 1.0f}}, {{b, 0.5f}}, {{a, 0.5f}, {b, 1.0f}}, {{c, 1.0f}}};
  for (size_t i = 0; i < sets.size(); ++i) {
    s.set_adapters(sets[i]);
    expect_matches(s, merged_reference(m, sets[i]), 2e-2, "Q8_0 set " + std::to_string(i));
  }
}

TEST(Lora, F32AdapterOnQ8BaseUsesFloatActivations) {
  // The base rounds activations to Q8_0 for its own products; an F32 adapter must not see
  // that rounding's absence break anything (and vice versa: a Q8_0 adapter on an F32 base).
  auto q8 = make_base(dtype::q8_0);
  auto f32 = make_base(dtype::f32);
  auto on_q8 = make_adapter(*q8->model, {.rank = 8, .seed = 31});
  auto on_f32 = make_adapter(*f32->model, {.rank = 8, .a_type = dtype::q8_0, .seed = 32});
  session s1(*q8->model, small_session());
  s1.set_adapters({{on_q8, 1.0f}});
  expect_matches(s1, merged_reference(*q8->model, {{on_q8, 1.0f}}), 2e-2, "F32 LoRA, Q8_0 base");
  session s2(*f32->model, small_session());
  s2.set_adapters({{on_f32, 1.0f}});
  expect_matches(s2, merged_reference(*f32->model, {{on_f32, 1.0f}}), 2e-2, "Q8 LoRA, F32 base");
}

TEST(Lora, PartialAdapterSomeLayersSomeTargets) {
  auto base = make_base(dtype::f32);
  const qwen3& m = *base->model;
  auto a = make_adapter(m, {.rank = 6,
                            .alpha = 12,
                            .targets = {lora_target::v, lora_target::o, lora_target::down},
                            .layers = {1},
                            .seed = 41});
  auto b = make_adapter(m, {.rank = 3,
                            .alpha = 3,
                            .targets = {lora_target::q, lora_target::gate, lora_target::up},
                            .layers = {0},
                            .seed = 42});
  EXPECT_EQ(a->n_pairs(), 3u);
  EXPECT_FALSE(a->pair(0, lora_target::v));
  EXPECT_TRUE(a->pair(1, lora_target::v));
  session s(m, small_session(3));
  s.set_adapters({{a, 1.0f}, {b, 1.0f}});
  expect_matches(s, merged_reference(m, {{a, 1.0f}, {b, 1.0f}}), 1e-4, "partial adapters");
}

TEST(Lora, SwitchingOnOneSessionAndTwoSessionsOnOneBase) {
  auto base = make_base(dtype::q8_0);
  const qwen3& m = *base->model;
  auto a = make_adapter(m, {.rank = 8, .seed = 51});
  auto b = make_adapter(m, {.rank = 16, .alpha = 8, .seed = 52});
  session plain(m, small_session());
  const auto pl = plain.prefill(kPrompt);
  const std::vector<float> base_last(pl.begin(), pl.end());

  // Reference logits of each set from fresh sessions.
  auto fresh = [&](const lora_set& set) {
    session f(m, small_session());
    f.set_adapters(set);
    const auto l = f.prefill(kPrompt);
    return std::vector<float>(l.begin(), l.end());
  };
  const auto with_a = fresh({{a, 1.0f}}), with_b = fresh({{b, 0.5f}});
  EXPECT_NE(with_a, with_b);

  session s(m, small_session());
  for (int round = 0; round < 2; ++round) {
    s.set_adapters({{a, 1.0f}});
    auto l = s.prefill(kPrompt);
    EXPECT_EQ(std::vector<float>(l.begin(), l.end()), with_a) << "round " << round;
    // Changing the set drops the positions computed under the old one.
    s.set_adapters({{b, 0.5f}});
    EXPECT_EQ(s.size(), 0u);
    l = s.prefill(kPrompt);
    EXPECT_EQ(std::vector<float>(l.begin(), l.end()), with_b) << "round " << round;
    s.clear_adapters();
    l = s.prefill(kPrompt);
    EXPECT_EQ(std::vector<float>(l.begin(), l.end()), fresh({})) << "no adapters = the base";
  }
  // Setting the same set again keeps the cache (nothing to recompute).
  s.set_adapters({{a, 1.0f}});
  s.prefill(kPrompt);
  s.set_adapters({{a, 1.0f}, {b, 0.0f}});  // scale 0 is no adapter at all
  EXPECT_EQ(s.size(), kPrompt.size());

  // Two sessions over one base, interleaved token by token, each with its own set.
  session s1(m, small_session()), s2(m, small_session());
  s1.set_adapters({{a, 1.0f}});
  s2.set_adapters({{b, 0.5f}});
  std::vector<float> l1, l2;
  for (int32_t t : kPrompt) {
    auto x = s1.decode_step(t);
    l1.assign(x.begin(), x.end());
    auto y = s2.decode_step(t);
    l2.assign(y.begin(), y.end());
  }
  const double scale = std::fabs(*std::max_element(with_a.begin(), with_a.end()));
  for (size_t v = 0; v < l1.size(); ++v) {
    ASSERT_NEAR(l1[v], with_a[v], 1e-3 * scale) << v;  // decode vs prefill rounding only
    ASSERT_NEAR(l2[v], with_b[v], 1e-3 * scale) << v;
  }
  EXPECT_NE(base_last, with_a);
}

TEST(Lora, KeysIdentifyTheComputation) {
  auto base = make_base(dtype::f32);
  auto a = make_adapter(*base->model, {.seed = 61});
  auto a2 = make_adapter(*base->model, {.seed = 61});  // same bytes, another load
  using edgecloud::model::make_lora_key;
  EXPECT_TRUE(make_lora_key({}).empty());
  EXPECT_TRUE(make_lora_key({{a, 0.0f}}).empty());
  EXPECT_EQ(make_lora_key({{a, 1.0f}}), make_lora_key({{a, 1.0f}}));
  EXPECT_NE(make_lora_key({{a, 1.0f}}), make_lora_key({{a, 0.5f}}));
  EXPECT_NE(make_lora_key({{a, 1.0f}}), make_lora_key({{a2, 1.0f}}));
  EXPECT_NE(a->id(), a2->id());
  // Memory reported: every A and B, F32: r*(in+out)*4 bytes per pair.
  const auto& c = base->model->config();
  const size_t per_layer =
      8 * ((c.n_embd + c.q_dim()) + 2 * (c.n_embd + c.kv_dim()) + (c.q_dim() + c.n_embd) +
           2 * (c.n_embd + c.n_ff) + (c.n_ff + c.n_embd));
  EXPECT_EQ(a->bytes(), c.n_layers * per_layer * sizeof(float));
}

TEST(Lora, MergedModelMatchesUnmergedAndTheReference) {
  for (dtype type : {dtype::f32, dtype::q8_0, dtype::f16}) {
    auto base = make_base(type);
    const qwen3& m = *base->model;
    auto a = make_adapter(m, {.rank = 8, .alpha = 16, .layers = {1}, .seed = 81});
    auto b = make_adapter(m, {.rank = 4,
                              .alpha = 4,
                              .targets = {lora_target::k, lora_target::down},
                              .layers = {0},
                              .seed = 82});
    const lora_set set = {{a, 1.0f}, {b, 0.5f}};
    std::optional<qwen3> merged;
    merged.emplace(edgecloud::model::merge_lora(m, set));
    // Untouched weights still point into the base's mapping; touched ones do not.
    EXPECT_NE(merged->layer(0).wk.data, m.layer(0).wk.data);
    EXPECT_EQ(merged->layer(0).wq.data, m.layer(0).wq.data) << "nothing adapts layer 0's q";
    EXPECT_NE(merged->layer(1).wq.data, m.layer(1).wq.data);
    session s(*merged, small_session());
    const double tol = type == dtype::f32 ? 1e-4 : 2e-2;
    expect_matches(s, merged_reference(m, set), tol, "merged " + std::string(dtype_name(type)));
    // Merged vs unmerged on the same base: float rounding for F32, one more rounding otherwise.
    session u(m, small_session());
    u.set_adapters(set);
    const auto lu = u.prefill(kPrompt);
    const std::vector<float> unmerged(lu.begin(), lu.end());
    s.clear();
    const auto lm = s.prefill(kPrompt);
    double worst = 0, scale = 0;
    for (size_t v = 0; v < lm.size(); ++v) {
      worst = std::max(worst, double(std::fabs(lm[v] - unmerged[v])));
      scale = std::max(scale, double(std::fabs(unmerged[v])));
    }
    EXPECT_LT(worst / scale, type == dtype::f32 ? 1e-5 : 2e-2) << dtype_name(type);
    // The base is unchanged and the merged model outlives what it was made from.
    session plain(m, small_session());
    expect_matches(plain, merged_reference(m, {}), tol, "base after merging");
    // The merged model shares the base's gguf::file (and its mapping, for a file on disk); this
    // base lives in memory, and gguf::file::from_memory borrows its bytes, so they stay (moved:
    // the same buffer) while the base model and the adapters go.
    const std::vector<std::byte> borrowed_bytes = std::move(base->bytes);
    a.reset();
    b.reset();
    base.reset();
    s.clear();
    const auto again = s.prefill(kPrompt);
    EXPECT_EQ(std::vector<float>(again.begin(), again.end()),
              std::vector<float>(lm.begin(), lm.end()));
  }
}

// --- malformed adapters -----------------------------------------------------------------------

struct bad_case {
  std::string what;     // expected in the message
  gguf::writer writer;  // the file
};

void add_pair(gguf::writer& w, const std::string& name, uint64_t in, uint64_t r, uint64_t out,
              dtype at = dtype::f32) {
  std::vector<float> a(in * r, 0.01f), b(r * out, 0.02f);
  w.add_tensor(name + ".lora_a", {in, r}, static_cast<uint32_t>(at),
               edgecloud::testing::detail::encode_matrix(a, r, in, at));
  w.add_tensor(name + ".lora_b", {r, out}, std::span<const float>(b));
}

std::string load_error(const qwen3& base, const gguf::writer& w) {
  try {
    lora_adapter::from_memory(w.to_bytes(), base, "bad.gguf");
  } catch (const model_error& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(Lora, MalformedAdaptersAreRefusedClearly) {
  auto base = make_base(dtype::f32);
  const qwen3& m = *base->model;
  const auto& c = m.config();
  const uint64_t E = c.n_embd, Q = c.q_dim();
  using edgecloud::testing::add_lora_metadata;
  std::vector<bad_case> cases;
  auto with_meta = [&](std::string what, auto&& body, std::string arch = "qwen3",
                       float alpha = 8.0f) {
    gguf::writer w;
    add_lora_metadata(w, arch, alpha);
    body(w);
    cases.push_back({std::move(what), std::move(w)});
  };
  {
    gguf::writer w;
    w.add_string("general.architecture", "qwen3");
    add_pair(w, "blk.0.attn_q.weight", E, 4, Q);
    cases.push_back({"general.type is missing", std::move(w)});
  }
  {
    gguf::writer w;
    w.add_string("general.architecture", "qwen3");
    w.add_string("general.type", "model");
    add_pair(w, "blk.0.attn_q.weight", E, 4, Q);
    cases.push_back({"general.type is 'model'", std::move(w)});
  }
  {
    gguf::writer w;
    w.add_string("general.architecture", "qwen3");
    w.add_string("general.type", "adapter");
    w.add_string("adapter.type", "control_vector");
    add_pair(w, "blk.0.attn_q.weight", E, 4, Q);
    cases.push_back({"adapter.type is 'control_vector'", std::move(w)});
  }
  with_meta(
      "architecture 'llama' does not match",
      [&](gguf::writer& w) { add_pair(w, "blk.0.attn_q.weight", E, 4, Q); }, "llama");
  with_meta(
      "adapter.lora.alpha", [&](gguf::writer& w) { add_pair(w, "blk.0.attn_q.weight", E, 4, Q); },
      "qwen3", -2.0f);
  with_meta("holds no LoRA tensors", [](gguf::writer&) {});
  with_meta("layer 2 does not exist",
            [&](gguf::writer& w) { add_pair(w, "blk.2.attn_q.weight", E, 4, Q); });
  with_meta("LoRA on attn_norm.weight is not supported",
            [&](gguf::writer& w) { add_pair(w, "blk.0.attn_norm.weight", E, 4, E); });
  with_meta("LoRA on token_embd.weight is not supported",
            [&](gguf::writer& w) { add_pair(w, "token_embd.weight", E, 4, 300); });
  with_meta("unexpected name", [&](gguf::writer& w) {
    add_pair(w, "blk.0.attn_q.weight", E, 4, Q);
    std::vector<float> x(E, 0.0f);
    w.add_tensor("blk.0.attn_q.weight.scale", {E}, std::span<const float>(x));
  });
  with_meta("blk.0.attn_k.weight.lora_b is missing", [&](gguf::writer& w) {
    std::vector<float> a(E * 4, 0.01f);
    w.add_tensor("blk.0.attn_k.weight.lora_a", {E, 4}, std::span<const float>(a));
  });
  with_meta("blk.1.ffn_up.weight.lora_a is missing", [&](gguf::writer& w) {
    std::vector<float> b(4 * c.n_ff, 0.01f);
    w.add_tensor("blk.1.ffn_up.weight.lora_b", {4, c.n_ff}, std::span<const float>(b));
  });
  with_meta("lora_a and lora_b swapped", [&](gguf::writer& w) {
    // A given as {r, out} and B as {in, r}: llama.cpp's "maybe swapped" case.
    std::vector<float> a(4 * Q, 0.01f), b(E * 4, 0.02f);
    w.add_tensor("blk.0.attn_q.weight.lora_a", {4, Q}, std::span<const float>(a));
    w.add_tensor("blk.0.attn_q.weight.lora_b", {E, 4}, std::span<const float>(b));
  });
  with_meta("attn_output.weight has 128 columns", [&](gguf::writer& w) {
    add_pair(w, "blk.0.attn_output.weight", E, 4, E);  // o's input is q_dim, not hidden
  });
  with_meta("attn_q.weight has 128 rows",
            [&](gguf::writer& w) { add_pair(w, "blk.0.attn_q.weight", E, 4, E); });
  with_meta("disagree on the rank", [&](gguf::writer& w) {
    std::vector<float> a(E * 4, 0.01f), b(5 * Q, 0.02f);
    w.add_tensor("blk.0.attn_q.weight.lora_a", {E, 4}, std::span<const float>(a));
    w.add_tensor("blk.0.attn_q.weight.lora_b", {5, Q}, std::span<const float>(b));
  });
  with_meta("expected 2 dims", [&](gguf::writer& w) {
    std::vector<float> a(E * 4, 0.01f), b(4 * Q, 0.02f);
    w.add_tensor("blk.0.attn_q.weight.lora_a", {E, 4, 1}, std::span<const float>(a));
    w.add_tensor("blk.0.attn_q.weight.lora_b", {4, Q}, std::span<const float>(b));
  });
  with_meta("Q4_0 is not supported for LoRA", [&](gguf::writer& w) {
    std::vector<std::byte> a(E / 32 * 18 * 4, std::byte{0});  // Q4_0: 18-byte blocks of 32
    std::vector<float> b(4 * Q, 0.02f);
    w.add_tensor("blk.0.attn_q.weight.lora_a", {E, 4}, 2u, a);
    w.add_tensor("blk.0.attn_q.weight.lora_b", {4, Q}, std::span<const float>(b));
  });
  for (const auto& k : cases) {
    const std::string msg = load_error(m, k.writer);
    EXPECT_NE(msg.find(k.what), std::string::npos) << "expected '" << k.what << "' in: " << msg;
    EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << "the message names the file: " << msg;
  }

  // Truncated and non-GGUF bytes: the GGUF reader's errors, with the name.
  auto good = edgecloud::testing::random_lora_bytes(c, {.rank = 4});
  good.resize(good.size() - 100);
  EXPECT_THROW(lora_adapter::from_memory(good, m, "cut.gguf"), model_error);
  const std::vector<std::byte> junk(64, std::byte{'x'});
  try {
    lora_adapter::from_memory(junk, m, "junk.gguf");
    ADD_FAILURE() << "junk loaded";
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find("junk.gguf"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lora_adapter::load("/nonexistent/adapter.gguf", m), edgecloud::error);

  // An adapter validated against another base shape is refused by the session; a null adapter
  // or a non-finite scale too, leaving the set as it was.
  gguf::qwen3_shape other = test_shape();
  other.ffn = 128;
  gguf::writer ow;
  gguf::add_random_qwen3(ow, other, gguf::type_f32, 3, 1);
  const auto other_bytes = ow.to_bytes();
  const qwen3 other_model(gguf::file::from_memory(other_bytes));
  auto foreign = make_adapter(other_model, {.rank = 4});
  auto mine = make_adapter(m, {.rank = 4});
  session s(m, small_session());
  s.set_adapters({{mine, 1.0f}});
  EXPECT_THROW(s.set_adapters({{foreign, 1.0f}}), model_error);
  EXPECT_THROW(s.set_adapters({{nullptr, 1.0f}}), config_error);
  EXPECT_THROW(s.set_adapters({{mine, NAN}}), config_error);
  ASSERT_EQ(s.adapters().size(), 1u);
  EXPECT_EQ(s.adapters()[0].adapter, mine);
}

TEST(Lora, LoadsFromAFileAndKeepsItsMappingAlive) {
  auto base = make_base(dtype::f32);
  const qwen3& m = *base->model;
  const auto path = std::filesystem::temp_directory_path() /
                    ("edgecloud_lora_test_" + std::to_string(::getpid()) + ".gguf");
  edgecloud::testing::write_random_lora(path, m.config(), {.rank = 8, .alpha = 4, .seed = 71});
  session s(m, small_session());
  {
    auto a = lora_adapter::load(path, m);
    EXPECT_EQ(a->name(), path.string());
    s.set_adapters({{a, 0.5f}});
  }  // the session's set keeps the adapter alive
  std::filesystem::remove(path);
  auto ref_adapter = lora_adapter::from_memory(
      edgecloud::testing::random_lora_bytes(m.config(), {.rank = 8, .alpha = 4, .seed = 71}), m);
  expect_matches(s, merged_reference(m, {{ref_adapter, 0.5f}}), 1e-4, "loaded from a file");
}

}  // namespace
