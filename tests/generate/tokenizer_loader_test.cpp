// SPDX-License-Identifier: Apache-2.0
// Tokenizer from GGUF metadata: the full-vocabulary fixture model gives the same vocabulary and
// the same ids as the Hugging Face tokenizer.json; files built with gguf::writer check padding
// removal and clear errors on a missing or foreign tokenizer.
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/model/gguf_writer.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/fixtures.hpp"

namespace {

namespace text = edgecloud::text;
namespace gguf = edgecloud::gguf;
using edgecloud::generate::read_gguf_vocab;

TEST(TokenizerLoader, GgufAndTokenizerJsonAgree) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  EDGECLOUD_FIXTURE(json, "tokenizer/tokenizer.json");
  EDGECLOUD_FIXTURE(cases, "tokenizer/cases.jsonl");
  const auto from_gguf = read_gguf_vocab(gguf::file::open(model));
  const auto from_json = text::read_hf_tokenizer(json);
  EXPECT_EQ(from_gguf.tokens.size(), 151669u);  // 151,936 in the file, padding dropped
  EXPECT_EQ(from_gguf.tokens, from_json.tokens);
  EXPECT_EQ(from_gguf.token_types, from_json.token_types);
  EXPECT_EQ(from_gguf.merges, from_json.merges);
  EXPECT_EQ(from_gguf.eos_id, from_json.eos_id);
  EXPECT_EQ(from_gguf.pad_id, from_json.pad_id);
  EXPECT_EQ(from_gguf.chat_template, from_json.chat_template);
  EXPECT_EQ(from_gguf.pre, "qwen2");

  const text::tokenizer a(from_gguf), b(from_json);
  std::ifstream in(cases);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    const auto t = j["text"].get<std::string>();
    for (auto mode : {text::encode_mode::trusted, text::encode_mode::untrusted})
      ASSERT_EQ(a.encode(t, mode), b.encode(t, mode)) << t;
    EXPECT_EQ(a.encode(t, text::encode_mode::trusted), j["ids"].get<std::vector<int32_t>>());
    ++n;
  }
  EXPECT_GE(n, 600u);
  // Ids of the model's padding rows are not tokens.
  EXPECT_THROW(a.token_bytes(151669), edgecloud::text_error);
  EXPECT_THROW(a.token_bytes(151935), edgecloud::text_error);
}

TEST(TokenizerLoader, FixtureRefPromptsEncodeToTheirIds) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  EDGECLOUD_FIXTURE(ref, "models/tiny-qwen3-fullvocab-q8_0.ref.json");
  const auto tok = edgecloud::generate::load_tokenizer(std::filesystem::path(model));
  std::ifstream in(ref);
  const auto j = nlohmann::json::parse(in);
  size_t checked = 0;
  for (const auto& s : j["seqs"]) {
    if (!s.contains("text")) continue;
    const auto ids = s["tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(s["text"].get<std::string>(), text::encode_mode::trusted), ids);
    ++checked;
  }
  EXPECT_GE(checked, 1u);
}

std::string write_to_temp(const gguf::writer& w, const char* name) {
  const auto p = std::filesystem::temp_directory_path() / name;
  w.write(p);
  return p.string();
}

void add_synthetic_tokenizer(gguf::writer& w, const text::vocab_data& v, size_t pad_to) {
  std::vector<std::string> tokens = v.tokens;
  std::vector<int32_t> types = v.token_types;
  for (size_t id = tokens.size(); id < pad_to; ++id) {
    tokens.push_back("[PAD" + std::to_string(id) + "]");
    types.push_back(4);
  }
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", "qwen2");
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", v.merges);
  w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos_id));
  w.add_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(pad_to + 5));  // invalid
  w.add_string("tokenizer.chat_template", v.chat_template);
}

TEST(TokenizerLoader, SyntheticVocabularyRoundTripsThroughGguf) {
  const auto v = text::make_synthetic_vocab();
  gguf::writer w;
  add_synthetic_tokenizer(w, v, 151936);
  const auto path = write_to_temp(w, "edgecloud_tokenizer_loader_synthetic.gguf");
  const auto back = read_gguf_vocab(gguf::file::open(path));
  EXPECT_EQ(back.tokens, v.tokens);
  EXPECT_EQ(back.token_types, v.token_types);
  EXPECT_EQ(back.merges, v.merges);
  EXPECT_EQ(back.eos_id, v.eos_id);
  EXPECT_EQ(back.pad_id, -1);  // out of range -> none
  EXPECT_EQ(back.chat_template, v.chat_template);
  const text::tokenizer tok(back);
  EXPECT_EQ(tok.size(), 151669u);
  EXPECT_EQ(tok.decode(tok.encode("Hello 世界 <|im_end|>", text::encode_mode::trusted)),
            "Hello 世界 <|im_end|>");
  std::filesystem::remove(path);
}

TEST(TokenizerLoader, MissingOrForeignTokenizerIsATextError) {
  {
    gguf::writer w;
    w.add_string("general.architecture", "qwen3");
    const auto path = write_to_temp(w, "edgecloud_tokenizer_loader_none.gguf");
    EXPECT_THROW(read_gguf_vocab(gguf::file::open(path)), edgecloud::text_error);
    std::filesystem::remove(path);
  }
  {
    gguf::writer w;
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_string_array("tokenizer.ggml.tokens", std::vector<std::string>{"a"});
    const auto path = write_to_temp(w, "edgecloud_tokenizer_loader_spm.gguf");
    EXPECT_THROW(read_gguf_vocab(gguf::file::open(path)), edgecloud::text_error);
    std::filesystem::remove(path);
  }
  {
    gguf::writer w;
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string_array("tokenizer.ggml.tokens", std::vector<std::string>{"a", "b"});
    w.add_array("tokenizer.ggml.token_type", std::vector<int32_t>{1});
    const auto path = write_to_temp(w, "edgecloud_tokenizer_loader_types.gguf");
    EXPECT_THROW(read_gguf_vocab(gguf::file::open(path)), edgecloud::text_error);
    std::filesystem::remove(path);
  }
  {
    // Tokens without the 256 byte symbols: the tokenizer refuses them.
    gguf::writer w;
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string_array("tokenizer.ggml.tokens", std::vector<std::string>{"a", "b"});
    const auto path = write_to_temp(w, "edgecloud_tokenizer_loader_bytes.gguf");
    EXPECT_THROW(edgecloud::generate::load_tokenizer(std::filesystem::path(path)),
                 edgecloud::text_error);
    std::filesystem::remove(path);
  }
}

}  // namespace
