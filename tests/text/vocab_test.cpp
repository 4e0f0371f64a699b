// SPDX-License-Identifier: Apache-2.0
// vocab_data sources: the Hugging Face reader against the real Qwen3 files, and the synthetic
// vocabulary's layout (ids of added tokens, merges consistent with the tokens, determinism).
#include <edgecloud/text/tokenizer.hpp>
#include <edgecloud/text/unicode.hpp>
#include <edgecloud/text/vocab.hpp>

#include <gmock/gmock.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include <unistd.h>

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

namespace {

// A minimal valid tokenizer.json: the 256 byte-level symbols, no merges, the Qwen2 regex.
nlohmann::json minimal_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[text::byte_level::encode(std::string(1, char(b)))] = b;
  return {{"normalizer", {{"type", "NFC"}}},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"},
               {"pattern", {{"Regex", std::string(text::qwen2_pretokenizer_regex)}}},
               {"behavior", "Isolated"}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
          {"added_tokens",
           {{{"id", 256}, {"content", "<|im_start|>"}, {"special", true}, {"lstrip", false},
             {"rstrip", false}, {"single_word", false}, {"normalized", false}}}},
          {"model",
           {{"type", "BPE"}, {"dropout", nullptr}, {"continuing_subword_prefix", ""},
            {"end_of_word_suffix", ""}, {"byte_fallback", false}, {"ignore_merges", false},
            {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
}

class TokenizerJsonOptions : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("edgecloud_vocab_options_" + std::to_string(::getpid()));
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const nlohmann::json& j) {
    const auto p = dir_ / "tokenizer.json";
    std::ofstream(p) << j.dump();
    return p;
  }
  // The text_error message of reading `j`, or "" when it loads.
  std::string error_of(const nlohmann::json& j) {
    try {
      text::read_hf_tokenizer(write(j));
    } catch (const edgecloud::text_error& e) {
      return e.what();
    }
    return "";
  }
};

}  // namespace

TEST_F(TokenizerJsonOptions, NormalizerNfcNoneOrSequence) {
  auto j = minimal_tokenizer_json();
  EXPECT_TRUE(text::read_hf_tokenizer(write(j)).nfc);
  j["normalizer"] = nullptr;
  EXPECT_FALSE(text::read_hf_tokenizer(write(j)).nfc);
  j.erase("normalizer");
  EXPECT_FALSE(text::read_hf_tokenizer(write(j)).nfc);
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}}}};
  EXPECT_TRUE(text::read_hf_tokenizer(write(j)).nfc);
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", nlohmann::json::array()}};
  EXPECT_FALSE(text::read_hf_tokenizer(write(j)).nfc);
  for (const char* other : {"NFKC", "NFD", "Lowercase", "Strip"}) {
    j["normalizer"] = {{"type", other}};
    EXPECT_THAT(error_of(j), ::testing::HasSubstr("normalizer")) << other;
  }
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}};
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("normalizer"));
}

TEST_F(TokenizerJsonOptions, NfcOffKeepsTheTextAsGiven) {
  auto j = minimal_tokenizer_json();
  const text::tokenizer with_nfc(text::read_hf_tokenizer(write(j)));
  j["normalizer"] = nullptr;
  const text::tokenizer without(text::read_hf_tokenizer(write(j)));
  EXPECT_TRUE(with_nfc.normalizes_nfc());
  EXPECT_FALSE(without.normalizes_nfc());
  const std::string decomposed = "Cafe\u0301 \u1100\u1161 <|im_start|>x";  // e + acute, Hangul jamo
  const std::string nfc = text::unicode::to_nfc(decomposed);
  ASSERT_NE(nfc, decomposed);
  for (auto mode : {text::encode_mode::trusted, text::encode_mode::untrusted}) {
    EXPECT_EQ(with_nfc.decode(with_nfc.encode(decomposed, mode)), nfc);
    EXPECT_EQ(without.decode(without.encode(decomposed, mode)), decomposed);
    // Without merges every byte is one token: the ids are the bytes of the text as given.
    EXPECT_EQ(without.encode(decomposed, text::encode_mode::untrusted).size(), decomposed.size());
    EXPECT_EQ(with_nfc.encode(nfc, mode), without.encode(nfc, mode));
  }
}

TEST_F(TokenizerJsonOptions, RefusesOptionsThatWouldChangeTheIds) {
  const auto base = minimal_tokenizer_json();
  EXPECT_EQ(error_of(base), "");
  auto expect_refused = [&](nlohmann::json j, const std::string& what) {
    EXPECT_THAT(error_of(j), ::testing::HasSubstr(what)) << j.dump().substr(0, 200);
  };
  for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
    auto j = base;
    j["added_tokens"][0][flag] = true;
    expect_refused(j, flag);
  }
  auto j = base;
  j["model"]["ignore_merges"] = true;
  expect_refused(j, "ignore_merges");
  j = base;
  j["model"]["byte_fallback"] = true;
  expect_refused(j, "byte_fallback");
  j = base;
  j["model"]["dropout"] = 0.1;
  expect_refused(j, "dropout");
  j = base;
  j["model"]["continuing_subword_prefix"] = "##";
  expect_refused(j, "continuing_subword_prefix");
  j = base;
  j["model"]["end_of_word_suffix"] = "</w>";
  expect_refused(j, "end_of_word_suffix");
  j = base;
  j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true;
  expect_refused(j, "add_prefix_space");
}

TEST_F(TokenizerJsonOptions, ValuesOfTheWrongTypeAreTextErrors) {
  const auto base = minimal_tokenizer_json();
  auto j = base;
  j["added_tokens"][0]["lstrip"] = "no";
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("wrong type"));
  j = base;
  j["added_tokens"][0]["id"] = "256";
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("wrong type"));
  j = base;
  j["model"]["ignore_merges"] = 1;
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("wrong type"));
  j = base;
  j["model"]["vocab"]["a"] = "x";
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("no integer id"));
}

TEST(ReadHfTokenizer, RealQwen3FileWithNfcOffMatchesOnNfcText) {
  EDGECLOUD_FIXTURE(path, "tokenizer/tokenizer.json");
  EDGECLOUD_FIXTURE(cases_path, "tokenizer/cases.jsonl");
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in);
  j["normalizer"] = nullptr;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("edgecloud_vocab_nfc_off_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << j.dump();
  const text::tokenizer with_nfc(text::read_hf_tokenizer(path));
  const text::tokenizer without(text::read_hf_tokenizer(dir / "tokenizer.json"));
  std::filesystem::remove_all(dir);
  size_t same = 0, changed = 0;
  std::ifstream cases(cases_path);
  for (std::string line; std::getline(cases, line);) {
    const auto c = nlohmann::json::parse(line);
    const std::string t = c["text"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    if (text::unicode::to_nfc(t) == t) {
      ++same;  // NFC changes nothing: the reference ids hold with NFC off too
      EXPECT_EQ(without.encode(t, text::encode_mode::trusted), ids) << t;
    } else {
      ++changed;  // the text is tokenized as given: it decodes to itself, not to its NFC
      EXPECT_EQ(without.decode(without.encode(t, text::encode_mode::trusted)), t);
      EXPECT_EQ(with_nfc.encode(t, text::encode_mode::trusted), ids) << t;
    }
  }
  EXPECT_GT(same, 500u);
  EXPECT_GT(changed, 10u);
}
