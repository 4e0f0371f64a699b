// SPDX-License-Identifier: Apache-2.0
// Shapes the fixtures lack, built with gguf::writer (random weights) and compared against the
// independent double-precision forward pass of reference_forward.hpp: other head counts, GQA
// ratios 1/2/4, head dims 32/64/128, q_dim != hidden, FFN sizes that are not powers of two,
// untied output, Qwen2 biases, BF16, sequences longer than 130 (several prefill chunks).
// Also: malformed models are refused with a message that names the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <edgecloud/model/gguf_writer.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <random>
#include <string>
#include <vector>

#include "model/reference_forward.hpp"

namespace {

namespace gguf = edgecloud::gguf;
using edgecloud::kernels::dtype;
using edgecloud::model::logits_mode;
using edgecloud::model::qwen3;
using edgecloud::model::session;
using edgecloud::model::session_config;

struct shape {
  std::string arch = "qwen3";
  size_t vocab = 300, embd = 128, layers = 2, ff = 96, heads = 4, kv_heads = 2, head_dim = 32;
  bool tied = true;
  dtype weights = dtype::f32;
  float rope_base = 1e6f;
  bool write_head_dim = true;  // key_length/value_length keys present
};

std::string describe(const shape& s) {
  return s.arch + " " + edgecloud::kernels::dtype_name(s.weights) + " E" + std::to_string(s.embd) +
         " F" + std::to_string(s.ff) + " H" + std::to_string(s.heads) + "/" +
         std::to_string(s.kv_heads) + " D" + std::to_string(s.head_dim) +
         (s.tied ? " tied" : " untied");
}

// Encodes `rows` x `cols` floats as `t` (GGUF layout).
std::vector<std::byte> encode(const std::vector<float>& v, dtype t) {
  std::vector<std::byte> out;
  auto put = [&](const void* p, size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out.insert(out.end(), b, b + n);
  };
  switch (t) {
    case dtype::f32:
      put(v.data(), v.size() * 4);
      break;
    case dtype::f16:
    case dtype::bf16:
      for (float f : v) {
        const uint16_t h = t == dtype::f16 ? edgecloud::kernels::fp32_to_fp16(f)
                                           : edgecloud::kernels::fp32_to_bf16(f);
        put(&h, 2);
      }
      break;
    case dtype::q8_0:
      for (size_t b = 0; b < v.size() / 32; ++b) {
        float amax = 0;
        for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[b * 32 + j]));
        const float d = amax / 127.0f;
        const uint16_t dh = edgecloud::kernels::fp32_to_fp16(d);
        put(&dh, 2);
        for (size_t j = 0; j < 32; ++j) {
          const int8_t q = static_cast<int8_t>(d == 0 ? 0 : std::lround(v[b * 32 + j] / d));
          put(&q, 1);
        }
      }
      break;
  }
  return out;
}

std::vector<std::byte> build_model(const shape& s, unsigned seed,
                                   const std::string& skip_tensor = {},
                                   const std::string& misshape_tensor = {}) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto random = [&](size_t n, float scale, float offset = 0.0f) {
    std::vector<float> v(n);
    for (auto& x : v) x = offset + scale * normal(rng);
    return v;
  };
  gguf::writer w;
  const std::string a = s.arch + ".";
  w.add_string("general.architecture", s.arch);
  w.add_u32(a + "block_count", static_cast<uint32_t>(s.layers));
  w.add_u32(a + "embedding_length", static_cast<uint32_t>(s.embd));
  w.add_u32(a + "feed_forward_length", static_cast<uint32_t>(s.ff));
  w.add_u32(a + "attention.head_count", static_cast<uint32_t>(s.heads));
  w.add_u32(a + "attention.head_count_kv", static_cast<uint32_t>(s.kv_heads));
  if (s.write_head_dim) {
    w.add_u32(a + "attention.key_length", static_cast<uint32_t>(s.head_dim));
    w.add_u32(a + "attention.value_length", static_cast<uint32_t>(s.head_dim));
  }
  w.add_u32(a + "context_length", 4096);
  w.add_f32(a + "rope.freq_base", s.rope_base);
  w.add_f32(a + "attention.layer_norm_rms_epsilon", 1e-6f);

  auto matrix = [&](const std::string& name, size_t rows, size_t cols, float scale) {
    if (name == skip_tensor) return;
    const auto v = random(rows * cols, scale);
    const uint64_t r = name == misshape_tensor ? rows + 1 : rows;
    const auto bytes = encode(v, s.weights);
    if (name == misshape_tensor) {
      std::vector<std::byte> longer = encode(random(r * cols, scale), s.weights);
      w.add_tensor(name, {cols, r}, static_cast<uint32_t>(s.weights), longer);
    } else {
      w.add_tensor(name, {cols, rows}, static_cast<uint32_t>(s.weights), bytes);
    }
  };
  auto vec = [&](const std::string& name, size_t n, float scale, float offset) {
    if (name == skip_tensor) return;
    const auto v = random(n, scale, offset);
    w.add_tensor(name, {n}, std::span<const float>(v));
  };
  const size_t qd = s.heads * s.head_dim, kvd = s.kv_heads * s.head_dim;
  matrix("token_embd.weight", s.vocab, s.embd, 1.0f);
  vec("output_norm.weight", s.embd, 0.1f, 1.0f);
  if (!s.tied) matrix("output.weight", s.vocab, s.embd, 0.05f);
  for (size_t l = 0; l < s.layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    vec(p + "attn_norm.weight", s.embd, 0.1f, 1.0f);
    matrix(p + "attn_q.weight", qd, s.embd, 0.05f);
    matrix(p + "attn_k.weight", kvd, s.embd, 0.05f);
    matrix(p + "attn_v.weight", kvd, s.embd, 0.05f);
    matrix(p + "attn_output.weight", s.embd, qd, 0.05f);
    if (s.arch == "qwen3") {
      vec(p + "attn_q_norm.weight", s.head_dim, 0.1f, 1.0f);
      vec(p + "attn_k_norm.weight", s.head_dim, 0.1f, 1.0f);
    } else {
      vec(p + "attn_q.bias", qd, 0.5f, 0.0f);
      vec(p + "attn_k.bias", kvd, 0.5f, 0.0f);
      vec(p + "attn_v.bias", kvd, 0.5f, 0.0f);
    }
    vec(p + "ffn_norm.weight", s.embd, 0.1f, 1.0f);
    matrix(p + "ffn_gate.weight", s.ff, s.embd, 0.05f);
    matrix(p + "ffn_up.weight", s.ff, s.embd, 0.05f);
    matrix(p + "ffn_down.weight", s.embd, s.ff, 0.05f);
  }
  return w.to_bytes();
}

std::vector<int32_t> tokens_for(size_t n, size_t vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng() % vocab);
  return t;
}

struct tolerance {
  double rel;  // |engine - reference| <= rel * max|reference logit| of the position
  double min_cosine;
};

tolerance tolerance_for(dtype t) {
  switch (t) {
    case dtype::f32:
      return {1e-4, 0.999999};
    case dtype::f16:
      return {1e-3, 0.99999};
    case dtype::bf16:
      return {1e-3, 0.99999};
    default:
      return {1e-2, 0.9999};  // Q8_0: activations rounded to 8 bits
  }
}

void expect_matches_reference(const shape& s, size_t n_tokens, dtype kv = dtype::f32,
                              size_t batch = 64, size_t threads = 2) {
  SCOPED_TRACE(describe(s) + ", " + std::to_string(n_tokens) + " tokens");
  const std::vector<std::byte> bytes = build_model(s, 42);
  const qwen3 model(gguf::file::from_memory(bytes));
  EXPECT_EQ(model.config().head_dim, s.head_dim);
  EXPECT_EQ(model.config().tied_output, s.tied);
  const reftest::ref_model ref(model.file());
  const auto tokens = tokens_for(n_tokens, s.vocab, 7);
  const auto want = ref.logits(tokens);

  session_config c;
  c.context = n_tokens + 8;
  c.kv_type = kv;
  c.threads = threads;
  c.max_batch = batch;
  c.logits_rows = n_tokens;
  session sess(model, c);
  sess.prefill(tokens, logits_mode::all);
  tolerance tol = tolerance_for(s.weights);
  if (kv == dtype::f16) tol.rel = std::max(tol.rel, 2e-3);
  double worst = 0;
  for (size_t p = 0; p < n_tokens; ++p) {
    const auto got = sess.logits(p);
    double scale = 0, ab = 0, aa = 0, bb = 0;
    for (double x : want[p]) scale = std::max(scale, std::fabs(x));
    for (size_t i = 0; i < got.size(); ++i) {
      const double err = std::fabs(got[i] - want[p][i]) / scale;
      worst = std::max(worst, err);
      ASSERT_LE(err, tol.rel) << "position " << p << " logit " << i << ": " << got[i] << " vs "
                              << want[p][i];
      ab += got[i] * want[p][i], aa += double(got[i]) * got[i], bb += want[p][i] * want[p][i];
    }
    ASSERT_GE(ab / std::sqrt(aa * bb), tol.min_cosine) << "position " << p;
  }
  std::printf("  %s, %zu tokens: worst |err| / max|logit| = %.3g\n", describe(s).c_str(), n_tokens,
              worst);

  // The last position through decode_step after a prefill of the others gives the same.
  sess.clear();
  sess.prefill(std::span(tokens).first(n_tokens - 1));
  const auto last = sess.decode_step(tokens.back());
  const auto& w = want.back();
  double scale = 0;
  for (double x : w) scale = std::max(scale, std::fabs(x));
  for (size_t i = 0; i < last.size(); ++i) ASSERT_NEAR(last[i], w[i], tol.rel * scale) << i;
}

TEST(Qwen3Shapes, GqaRatio1HeadDim32) {
  shape s;
  s.heads = 4, s.kv_heads = 4, s.head_dim = 32;
  expect_matches_reference(s, 20);
}

TEST(Qwen3Shapes, GqaRatio2HeadDim64UntiedFfn176LongSequence) {
  shape s;
  s.embd = 128, s.heads = 4, s.kv_heads = 2, s.head_dim = 64, s.ff = 176, s.tied = false;
  expect_matches_reference(s, 140, dtype::f32, /*batch=*/64);  // chunks of 64, 64, 12
}

TEST(Qwen3Shapes, GqaRatio4HeadDim128QDimWiderThanHidden) {
  shape s;  // like Qwen3-0.6B: q_dim (1024) != hidden (128), head_dim 128
  s.embd = 128, s.heads = 8, s.kv_heads = 2, s.head_dim = 128, s.ff = 96, s.layers = 1;
  expect_matches_reference(s, 33);
}

TEST(Qwen3Shapes, F16WeightsAndF16Cache) {
  shape s;
  s.weights = dtype::f16, s.heads = 8, s.kv_heads = 4, s.head_dim = 32, s.ff = 176;
  expect_matches_reference(s, 40, dtype::f16);
}

TEST(Qwen3Shapes, Bf16Weights) {
  shape s;
  s.weights = dtype::bf16, s.tied = false;
  expect_matches_reference(s, 17);
}

TEST(Qwen3Shapes, Q8WeightsGqa4LongSequenceManyThreads) {
  shape s;
  s.weights = dtype::q8_0, s.embd = 128, s.heads = 8, s.kv_heads = 2, s.head_dim = 64, s.ff = 160;
  expect_matches_reference(s, 150, dtype::f16, /*batch=*/48, /*threads=*/3);
}

TEST(Qwen3Shapes, Qwen2WithBiasesAndNoQkNorm) {
  shape s;
  s.arch = "qwen2", s.rope_base = 1e4f, s.heads = 4, s.kv_heads = 2, s.ff = 176, s.tied = false;
  s.write_head_dim = false;  // default embd / heads = 32
  expect_matches_reference(s, 25);
  s.weights = dtype::q8_0, s.ff = 96;
  expect_matches_reference(s, 25);
}

void expect_model_error(const std::vector<std::byte>& bytes, const std::string& needle) {
  try {
    const qwen3 model(gguf::file::from_memory(bytes));
    ADD_FAILURE() << "expected model_error containing '" << needle << "'";
  } catch (const edgecloud::model_error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Qwen3Load, RefusesMissingOrMisshapedTensorsWithClearErrors) {
  shape s;
  expect_model_error(build_model(s, 1, "blk.1.ffn_up.weight"), "blk.1.ffn_up.weight");
  expect_model_error(build_model(s, 1, "blk.0.attn_k_norm.weight"), "blk.0.attn_k_norm.weight");
  expect_model_error(build_model(s, 1, "output_norm.weight"), "output_norm.weight");
  expect_model_error(build_model(s, 1, {}, "blk.0.attn_v.weight"), "blk.0.attn_v.weight");
  expect_model_error(build_model(s, 1, "token_embd.weight"), "token_embd.weight");
  shape q2 = s;
  q2.arch = "qwen2";
  expect_model_error(build_model(q2, 1, "blk.0.attn_q.bias"), "blk.0.attn_q.bias");
}

TEST(Qwen3Load, RefusesBadConfiguration) {
  gguf::writer w;
  w.add_string("general.architecture", "llama");
  expect_model_error(w.to_bytes(), "unsupported architecture 'llama'");

  gguf::writer missing;
  missing.add_string("general.architecture", "qwen3");
  missing.add_u32("qwen3.block_count", 2);
  expect_model_error(missing.to_bytes(), "qwen3.embedding_length");

  shape odd;
  odd.heads = 4, odd.kv_heads = 3;  // 4 % 3 != 0
  expect_model_error(build_model(odd, 1), "head_count_kv");

  gguf::writer huge;
  huge.add_string("general.architecture", "qwen3");
  huge.add_u32("qwen3.block_count", 2);
  huge.add_u64("qwen3.embedding_length", uint64_t{1} << 40);
  expect_model_error(huge.to_bytes(), "out of range");
}

}  // namespace
