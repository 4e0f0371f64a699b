// SPDX-License-Identifier: Apache-2.0
// vocab_data sources: the Hugging Face reader against the real Qwen3 files, and the synthetic
// vocabulary's layout (ids of added tokens, merges consistent with the tokens, determinism).
#include <edgecloud/text/vocab.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include "common/fixtures.hpp"

namespace {

using edgecloud::text::vocab_data;
namespace text = edgecloud::text;

void expect_qwen3_added_tokens(const vocab_data& v) {
  ASSERT_EQ(v.tokens.size(), 151669u);
  ASSERT_EQ(v.token_types.size(), v.tokens.size());
  EXPECT_EQ(v.tokens[151643], "<|endoftext|>");
  EXPECT_EQ(v.tokens[151644], "<|im_start|>");
  EXPECT_EQ(v.tokens[151645], "<|im_end|>");
  EXPECT_EQ(v.tokens[151657], "<tool_call>");
  EXPECT_EQ(v.tokens[151667], "<think>");
  EXPECT_EQ(v.tokens[151668], "</think>");
  for (int id = 151643; id <= 151656; ++id) EXPECT_EQ(v.token_types[id], 3) << id;
  for (int id = 151657; id <= 151668; ++id) EXPECT_EQ(v.token_types[id], 4) << id;
  for (int id = 0; id < 151643; ++id) ASSERT_EQ(v.token_types[id], 1) << id;
  EXPECT_EQ(v.eos_id, 151645);
  EXPECT_EQ(v.pad_id, 151643);
  EXPECT_EQ(v.pre, "qwen2");
}

TEST(SyntheticVocab, HasQwen3LayoutAndTemplate) {
  const vocab_data v = text::make_synthetic_vocab();
  expect_qwen3_added_tokens(v);
  EXPECT_EQ(v.chat_template, std::string(text::qwen3_chat_template));
  EXPECT_GE(v.merges.size(), 500u);
  EXPECT_LE(v.merges.size(), 4000u);
}

TEST(SyntheticVocab, MergesAreConsistentAndTokensUnique) {
  const vocab_data v = text::make_synthetic_vocab();
  std::unordered_set<std::string> seen;
  for (const auto& t : v.tokens) EXPECT_TRUE(seen.insert(t).second) << "duplicate token " << t;
  // All 256 byte symbols are tokens, so every text is encodable.
  for (int b = 0; b < 256; ++b)
    EXPECT_TRUE(seen.count(text::byte_level::encode(std::string(1, static_cast<char>(b))))) << b;
  // Every merge joins two existing tokens into an existing token, learnt before it is used.
  std::unordered_set<std::string> known;
  for (int b = 0; b < 256; ++b) known.insert(text::byte_level::encode(std::string(1, char(b))));
  for (const auto& m : v.merges) {
    const auto sp = m.find(' ');
    ASSERT_NE(sp, std::string::npos) << m;
    const std::string a = m.substr(0, sp), b = m.substr(sp + 1);
    EXPECT_TRUE(known.count(a)) << m;
    EXPECT_TRUE(known.count(b)) << m;
    EXPECT_TRUE(seen.count(a + b)) << m;
    known.insert(a + b);
  }
  // Normal tokens are byte-level strings.
  for (int id = 0; id < 151643; ++id) ASSERT_TRUE(text::byte_level::decode(v.tokens[id])) << id;
  // Learnt from English and Chinese: " the" and a common CJK character are single tokens.
  EXPECT_TRUE(seen.count(text::byte_level::encode(" the")));
  EXPECT_TRUE(seen.count(text::byte_level::encode("的")));
}

TEST(SyntheticVocab, IsDeterministic) {
  const vocab_data a = text::make_synthetic_vocab(), b = text::make_synthetic_vocab();
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.merges, b.merges);
}

TEST(ByteLevel, AlphabetRoundTrips) {
  EXPECT_EQ(text::byte_level::encode(" "), "Ġ");
  EXPECT_EQ(text::byte_level::encode("\n"), "Ċ");
  EXPECT_EQ(text::byte_level::encode("a!"), "a!");
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(text::byte_level::decode(text::byte_level::encode(all)), all);
  EXPECT_FALSE(text::byte_level::decode("<|im_start|>x\xff"));
  EXPECT_FALSE(text::byte_level::decode("日"));  // outside the alphabet
}

TEST(ReadHfTokenizer, ReadsQwen3Files) {
  EDGECLOUD_FIXTURE(path, "tokenizer/tokenizer.json");
  const vocab_data v = text::read_hf_tokenizer(path);
  expect_qwen3_added_tokens(v);
  EXPECT_EQ(v.merges.size(), 151387u);
  EXPECT_EQ(v.merges[0], "Ġ Ġ");
  EXPECT_EQ(v.tokens[0], "!");
  EXPECT_EQ(v.bos_id, -1);  // tokenizer_config.json: "bos_token": null
  // The embedded template is byte-identical to the official one.
  EXPECT_EQ(v.chat_template, std::string(text::qwen3_chat_template));
}

TEST(ReadHfTokenizer, RejectsBadFilesWithTextError) {
  const auto dir = std::filesystem::temp_directory_path() / "edgecloud_vocab_test";
  std::filesystem::create_directories(dir);
  EXPECT_THROW(text::read_hf_tokenizer(dir / "missing.json"), edgecloud::text_error);
  auto write = [&](const char* name, const std::string& body) {
    std::ofstream(dir / name) << body;
    return dir / name;
  };
  EXPECT_THROW(text::read_hf_tokenizer(write("bad.json", "{\"model\": ")), edgecloud::text_error);
  EXPECT_THROW(text::read_hf_tokenizer(write("nomodel.json", "{}")), edgecloud::text_error);
  const std::string wordpiece =
      R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}, "pre_tokenizer": null})";
  EXPECT_THROW(text::read_hf_tokenizer(write("wp.json", wordpiece)), edgecloud::text_error);
  const std::string holes = std::string(R"({"pre_tokenizer": {"pattern": )") +
                            nlohmann::json(std::string(text::qwen2_pretokenizer_regex)).dump() +
                            R"(}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []}})";
  EXPECT_THROW(text::read_hf_tokenizer(write("holes.json", holes)), edgecloud::text_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
