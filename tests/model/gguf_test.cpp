// SPDX-License-Identifier: Apache-2.0
// gguf::file on the fixture models: the values listed in ../shared/fixtures/README.md (written by
// an independent numpy GGUF writer), tensor directory, data placement and the typed accessors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <edgecloud/model/gguf.hpp>
#include <map>
#include <string>

#include "common/fixtures.hpp"

namespace gguf = edgecloud::gguf;
using edgecloud::model_error;

namespace {

// The tensors of a Qwen3 model with the fixture shapes (hidden 64, FFN 128, 4/2 heads of 16).
std::map<std::string, std::vector<uint64_t>> expected_shapes(uint64_t vocab) {
  std::map<std::string, std::vector<uint64_t>> m;
  m["token_embd.weight"] = {64, vocab};
  m["output_norm.weight"] = {64};
  for (int l = 0; l < 2; ++l) {
    std::string b = "blk." + std::to_string(l) + ".";
    m[b + "attn_norm.weight"] = {64};
    m[b + "attn_q.weight"] = {64, 64};
    m[b + "attn_k.weight"] = {64, 32};
    m[b + "attn_v.weight"] = {64, 32};
    m[b + "attn_output.weight"] = {64, 64};
    m[b + "attn_q_norm.weight"] = {16};
    m[b + "attn_k_norm.weight"] = {16};
    m[b + "ffn_norm.weight"] = {64};
    m[b + "ffn_gate.weight"] = {64, 128};
    m[b + "ffn_up.weight"] = {64, 128};
    m[b + "ffn_down.weight"] = {128, 64};
  }
  return m;
}

void check_tiny_model(const gguf::file& f, uint64_t vocab, uint32_t matrix_type) {
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "qwen3");
  EXPECT_EQ(f.get_uint("qwen3.embedding_length"), 64u);
  EXPECT_EQ(f.get_uint("qwen3.block_count"), 2u);
  EXPECT_EQ(f.get_uint("qwen3.feed_forward_length"), 128u);
  EXPECT_EQ(f.get_uint("qwen3.attention.head_count"), 4u);
  EXPECT_EQ(f.get_uint("qwen3.attention.head_count_kv"), 2u);
  EXPECT_EQ(f.get_uint("qwen3.attention.key_length"), 16u);
  EXPECT_EQ(f.get_int("qwen3.attention.value_length"), 16);
  EXPECT_DOUBLE_EQ(*f.get_float("qwen3.rope.freq_base"), 1e6);
  EXPECT_FLOAT_EQ(static_cast<float>(*f.get_float("qwen3.attention.layer_norm_rms_epsilon")),
                  1e-6f);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(f.get_bool("tokenizer.ggml.add_bos_token"), false);
  EXPECT_EQ(f.alignment(), 32u);

  auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), vocab);
  EXPECT_EQ(tokens[0], "!");
  EXPECT_EQ(tokens[1], "\"");
  EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type").size(), vocab);
  auto merges = f.get_string_array("tokenizer.ggml.merges");
  ASSERT_FALSE(merges.empty());
  EXPECT_EQ(merges[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ"
  // The three special tokens the README names.
  auto eos = f.get_uint("tokenizer.ggml.eos_token_id");
  ASSERT_TRUE(eos);
  EXPECT_EQ(tokens[*eos], "<|im_end|>");
  EXPECT_EQ(tokens[*f.get_uint("tokenizer.ggml.bos_token_id")], "<|endoftext|>");

  auto shapes = expected_shapes(vocab);
  ASSERT_EQ(f.tensors().size(), shapes.size());
  for (const auto& [name, dims] : shapes) {
    const gguf::tensor_info* t = f.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->dims, dims) << name;
    const uint32_t want = dims.size() == 1 ? gguf::type_f32 : matrix_type;
    EXPECT_EQ(t->type, want) << name;
    EXPECT_EQ(t->n_bytes, *gguf::tensor_bytes(t->type, t->dims)) << name;
    EXPECT_EQ(t->data, f.bytes().data() + f.data_offset() + t->offset) << name;
    EXPECT_EQ(t->offset % 32, 0u) << name;
    EXPECT_EQ(&f.require_tensor(name, {}, {}), t);
  }
  EXPECT_EQ(f.data_offset() % 32, 0u);
  // RMSNorm weights are ~1 +- 0.1 (README): a check that data points at the right bytes.
  const auto& norm = *f.find_tensor("output_norm.weight");
  for (size_t i = 0; i < 64; ++i) {
    float w;
    std::memcpy(&w, norm.data + 4 * i, 4);
    EXPECT_GT(w, 0.5f);
    EXPECT_LT(w, 1.5f);
  }
  EXPECT_EQ(f.find_tensor("no.such.tensor"), nullptr);
  EXPECT_FALSE(f.has("no.such.key"));
  EXPECT_EQ(f.get_uint("no.such.key"), std::nullopt);
  EXPECT_TRUE(f.get_string_array("no.such.key").empty());
}

}  // namespace

TEST(GgufFixtures, TinyF32) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-f32.gguf");
  auto f = gguf::file::open(path);
  check_tiny_model(f, 1024, gguf::type_f32);
  EXPECT_EQ(f.size_bytes(), 586592u);
}

TEST(GgufFixtures, TinyF16) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-f16.gguf");
  check_tiny_model(gguf::file::open(path), 1024, gguf::type_f16);
}

TEST(GgufFixtures, TinyQ8_0) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-q8_0.gguf");
  auto f = gguf::file::open(path);
  check_tiny_model(f, 1024, gguf::type_q8_0);
  // Q8_0: 34 bytes per 32 weights.
  EXPECT_EQ(f.find_tensor("blk.0.ffn_down.weight")->n_bytes, 64u * 128 / 32 * 34);
}

TEST(GgufFixtures, FullVocabQ8_0) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  auto f = gguf::file::open(path);
  check_tiny_model(f, 151936, gguf::type_q8_0);
  auto tmpl = f.get_string("tokenizer.chat_template");
  ASSERT_TRUE(tmpl);
  EXPECT_NE(tmpl->find("<|im_start|>"), std::string_view::npos);
}

TEST(GgufFixtures, RequireTensorMessages) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-f16.gguf");
  auto f = gguf::file::open(path);
  EXPECT_EQ(f.require_tensor("blk.1.attn_k.weight", {64, 32}, {gguf::type_f16}).dims[1], 32u);
  try {
    f.require_tensor("blk.1.attn_q.weight", {64, 128}, {gguf::type_q8_0});
    FAIL() << "no throw";
  } catch (const model_error& e) {
    EXPECT_STREQ(e.what(), "tensor blk.1.attn_q.weight: expected 64x128 Q8_0, file has 64x64 F16");
  }
  try {
    f.require_tensor("blk.9.attn_q.weight", {64, 64}, {gguf::type_q8_0, gguf::type_f16});
    FAIL() << "no throw";
  } catch (const model_error& e) {
    EXPECT_STREQ(
        e.what(),
        "tensor blk.9.attn_q.weight: expected 64x64 Q8_0|F16, the file has no such tensor");
  }
}

TEST(GgufFixtures, TypedAccessorsRejectOtherTypes) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-f32.gguf");
  auto f = gguf::file::open(path);
  EXPECT_THROW(f.get_uint("general.architecture"), model_error);
  EXPECT_THROW(f.get_string("qwen3.block_count"), model_error);
  EXPECT_THROW(f.get_bool("qwen3.block_count"), model_error);
  EXPECT_THROW(f.get_string_array("tokenizer.ggml.token_type"), model_error);
  EXPECT_THROW(f.get_int_array("tokenizer.ggml.tokens"), model_error);
  EXPECT_EQ(f.get_float("qwen3.block_count"), 2.0);  // integers read as numbers
}

TEST(GgufOpen, MissingFileNamesPath) {
  try {
    gguf::file::open("/nonexistent/model.gguf");
    FAIL() << "no throw";
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

TEST(GgufOpen, MoveKeepsPointersValid) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-q8_0.gguf");
  auto a = gguf::file::open(path);
  const std::byte* data = a.find_tensor("token_embd.weight")->data;
  auto arch = *a.get_string("general.architecture");
  gguf::file b = std::move(a);
  EXPECT_EQ(b.find_tensor("token_embd.weight")->data, data);
  EXPECT_EQ(arch, "qwen3");
  EXPECT_EQ(b.get_string("general.architecture"), "qwen3");
}
