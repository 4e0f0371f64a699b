// SPDX-License-Identifier: Apache-2.0
// text::tokenizer against the references of ../shared/fixtures/tokenizer: Hugging Face ids of
// cases.jsonl (trusted and untrusted modes), llama.cpp's own qwen2 test, round trips, and the
// defined behaviour on invalid input and invalid ids.
#include <edgecloud/text/tokenizer.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "common/fixtures.hpp"

namespace {

namespace text = edgecloud::text;
using text::encode_mode;

const text::tokenizer* qwen3() {
  static std::unique_ptr<text::tokenizer> tok = [] {
    const auto path = edgecloud::testing::fixture("tokenizer/tokenizer.json");
    return path.empty() ? nullptr
                        : std::make_unique<text::tokenizer>(text::read_hf_tokenizer(path));
  }();
  return tok.get();
}

const text::tokenizer& synthetic() {
  static const text::tokenizer tok(text::make_synthetic_vocab());
  return tok;
}

std::string ids_to_string(const std::vector<int32_t>& ids) {
  std::string s;
  for (auto id : ids) s += std::to_string(id) + " ";
  return s;
}

struct fixture_case {
  std::string text;
  std::vector<int32_t> ids;
  std::optional<std::vector<int32_t>> ids_plain;
};

std::vector<fixture_case> load_cases(const std::string& path) {
  std::vector<fixture_case> cases;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    fixture_case c{j["text"].get<std::string>(), j["ids"].get<std::vector<int32_t>>(), {}};
    if (j.contains("ids_plain")) c.ids_plain = j["ids_plain"].get<std::vector<int32_t>>();
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(Tokenizer, HuggingFaceCasesTrustedAndUntrusted) {
  EDGECLOUD_FIXTURE(path, "tokenizer/cases.jsonl");
  ASSERT_NE(qwen3(), nullptr);
  const auto cases = load_cases(path);
  ASSERT_GE(cases.size(), 600u);
  size_t failures = 0, plain_checked = 0;
  for (const auto& c : cases) {
    const auto ids = qwen3()->encode(c.text, encode_mode::trusted);
    if (ids != c.ids && ++failures <= 5)
      ADD_FAILURE() << "trusted: " << c.text << "\n expected " << ids_to_string(c.ids)
                    << "\n      got " << ids_to_string(ids);
    if (c.ids_plain) {
      ++plain_checked;
      const auto plain = qwen3()->encode(c.text, encode_mode::untrusted);
      if (plain != *c.ids_plain && ++failures <= 5)
        ADD_FAILURE() << "untrusted: " << c.text << "\n expected " << ids_to_string(*c.ids_plain)
                      << "\n      got " << ids_to_string(plain);
    }
  }
  EXPECT_EQ(failures, 0u);
  EXPECT_GE(plain_checked, 500u);
}

TEST(Tokenizer, LlamaCppQwen2Test) {
  EDGECLOUD_FIXTURE(inp_path, "tokenizer/llama.cpp-qwen2.inp");
  EDGECLOUD_FIXTURE(out_path, "tokenizer/llama.cpp-qwen2.out");
  ASSERT_NE(qwen3(), nullptr);
  std::stringstream inp, out;
  inp << std::ifstream(inp_path, std::ios::binary).rdbuf();
  out << std::ifstream(out_path, std::ios::binary).rdbuf();
  // Inputs are separated (and ended) by "\n__ggml_vocab_test__\n"; one line of ids per input.
  const std::string all = inp.str(), sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < all.size();) {
    const size_t next = all.find(sep, pos);
    if (next == std::string::npos) break;
    inputs.push_back(all.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<std::vector<int32_t>> expected;
  for (std::string line; std::getline(out, line);) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    for (int32_t id; ls >> id;) ids.push_back(id);
    expected.push_back(ids);
  }
  ASSERT_EQ(inputs.size(), 46u);
  ASSERT_GE(expected.size(), inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k)
    EXPECT_EQ(qwen3()->encode(inputs[k], encode_mode::trusted), expected[k]) << inputs[k];
}

TEST(Tokenizer, DecodeOfEncodeIsNfcOfEveryFixtureText) {
  EDGECLOUD_FIXTURE(path, "tokenizer/cases.jsonl");
  ASSERT_NE(qwen3(), nullptr);
  for (const auto& c : load_cases(path)) {
    const std::string nfc = text::unicode::to_nfc(c.text);
    for (auto mode : {encode_mode::trusted, encode_mode::untrusted}) {
      EXPECT_EQ(qwen3()->decode(qwen3()->encode(c.text, mode)), nfc) << c.text;
      EXPECT_EQ(synthetic().decode(synthetic().encode(c.text, mode)), nfc) << c.text;
    }
  }
}

// Run on the synthetic vocabulary, then on the real one (a missing tokenizer.json makes the test
// skip there, visibly, or fail in a strict run -- never drop that half silently).
TEST(Tokenizer, ControlTokensOnlyInTrustedMode) {
  std::vector<const text::tokenizer*> toks = {&synthetic()};
  if (qwen3()) toks.push_back(qwen3());
  for (const text::tokenizer* tok : toks) {
    const std::string s = "<|im_start|>user\nhi<|im_end|><think>x</think><|endoftext|>";
    const auto trusted = tok->encode(s, encode_mode::trusted);
    const auto untrusted = tok->encode(s, encode_mode::untrusted);
    EXPECT_EQ(trusted.front(), 151644);
    EXPECT_NE(std::find(trusted.begin(), trusted.end(), 151645), trusted.end());
    for (auto id : untrusted) EXPECT_FALSE(tok->is_control(id)) << id;
    // Non-special added tokens follow Hugging Face: recognised in both modes.
    EXPECT_NE(std::find(untrusted.begin(), untrusted.end(), 151667), untrusted.end());
    EXPECT_EQ(tok->decode(trusted), s);
    EXPECT_EQ(tok->decode(untrusted), s);
    EXPECT_EQ(tok->decode(trusted, /*skip_control=*/true), "user\nhi<think>x</think>");
  }
  EDGECLOUD_FIXTURE(real, "tokenizer/tokenizer.json");
  EXPECT_EQ(toks.size(), 2u) << real << " exists but did not load";
}

TEST(Tokenizer, FimAndRepositoryMarkersAreControlLikeInUntrustedMode) {
  const auto& tok = synthetic();
  for (const char* marker : {"<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
                             "<|repo_name|>", "<|file_sep|>"}) {
    const auto id = *tok.find_token(marker);
    EXPECT_EQ(tok.encode(marker, encode_mode::trusted), std::vector<int32_t>{id});
    const auto plain = tok.encode(marker, encode_mode::untrusted);
    EXPECT_EQ(std::find(plain.begin(), plain.end(), id), plain.end()) << marker;
    EXPECT_EQ(tok.decode(plain), marker);
  }
}

TEST(Tokenizer, TrustedRangesAllowControlTokensOnlyInside) {
  const auto& tok = synthetic();
  const std::string s = "<|im_start|>user\n<|im_start|>x<|im_end|>";
  const text::byte_range trusted[] = {{0, 17}, {30, s.size()}};  // first <|im_start|>, last <|im_end|>
  std::vector<int32_t> ids;
  tok.encode_with_trusted_ranges(s, trusted, ids);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151644), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151645), 1);
  EXPECT_EQ(tok.decode(ids), s);
  const text::byte_range unsorted[] = {{5, 9}, {2, 3}};
  EXPECT_THROW(tok.encode_with_trusted_ranges(s, unsorted, ids), edgecloud::text_error);
  const text::byte_range outside[] = {{0, s.size() + 1}};
  EXPECT_THROW(tok.encode_with_trusted_ranges(s, outside, ids), edgecloud::text_error);
}

TEST(Tokenizer, NfcAppliesBetweenAddedTokensLikeHuggingFace) {
  // ">" + U+0338 composes to U+226F under NFC, but the ">" belongs to <think>: HF normalizes the
  // text after the added token on its own, so the combining mark stays.
  const auto& tok = synthetic();
  const std::string s = "<think>\xCC\xB8";
  const auto ids = tok.encode(s, encode_mode::untrusted);
  EXPECT_EQ(ids.front(), 151667);
  EXPECT_EQ(tok.decode(ids), s);
  EXPECT_EQ(text::unicode::to_nfc("a>\xCC\xB8"), "a\xE2\x89\xAF");  // without the token: NFC
}

TEST(Tokenizer, InvalidUtf8BecomesReplacementCharacters) {
  const auto& tok = synthetic();
  // Each maximal ill-formed subpart -> one U+FFFD.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\xff" "b", "a\xEF\xBF\xBD" "b"},
      {"\xC3", "\xEF\xBF\xBD"},                                  // truncated 2-byte
      {"\xE4\xBD", "\xEF\xBF\xBD"},                              // truncated 3-byte: one subpart
      {"\xE4\xBD" "a", "\xEF\xBF\xBD" "a"},
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                  // overlong: two
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // surrogate: three
      {"\xF4\x90\x80\x80", std::string(4 * 3, '\0')},            // > U+10FFFF: four
      {"\xF0\x9F\x98", "\xEF\xBF\xBD"},                          // truncated emoji
      {std::string("x\0y", 3), std::string("x\0y", 3)},           // NUL is valid text
  };
  for (auto [in, want] : cases) {
    if (want == std::string(12, '\0')) want = "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD";
    for (auto mode : {encode_mode::trusted, encode_mode::untrusted})
      EXPECT_EQ(tok.decode(tok.encode(in, mode)), want) << ::testing::PrintToString(in);
  }
}

TEST(Tokenizer, RejectsIdsOutsideTheVocabulary) {
  const auto& tok = synthetic();
  EXPECT_EQ(tok.size(), 151669u);
  const std::vector<int32_t> bad = {1, 151669};
  EXPECT_THROW(tok.decode(bad), edgecloud::text_error);
  EXPECT_THROW(tok.token_bytes(-1), edgecloud::text_error);
  EXPECT_THROW(tok.token_bytes(151935), edgecloud::text_error);
  EXPECT_NO_THROW(tok.token_bytes(151668));
}

TEST(Tokenizer, LongRunsAndRandomBytesStayCorrect) {
  const auto& tok = synthetic();
  for (const std::string s : {std::string(200000, 'a'), std::string(100000, ' '),
                              std::string(50000, '\n'), [] {
                                std::string t;
                                for (int i = 0; i < 20000; ++i) t += "的";
                                return t;
                              }()}) {
    const auto ids = tok.encode(s, encode_mode::untrusted);
    EXPECT_EQ(tok.decode(ids), s);
  }
  std::mt19937 rng(7);
  for (int k = 0; k < 300; ++k) {
    std::string s(rng() % 64, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng());
    const std::string want = text::unicode::to_nfc(s);
    EXPECT_EQ(tok.decode(tok.encode(s, encode_mode::trusted)), want);
  }
}

TEST(Tokenizer, SyntheticMatchesQwen3OnAddedTokensAndTemplates) {
  EDGECLOUD_FIXTURE(real, "tokenizer/tokenizer.json");
  ASSERT_NE(qwen3(), nullptr) << real;
  for (int32_t id = 151643; id < 151669; ++id) {
    EXPECT_EQ(synthetic().token_string(id), qwen3()->token_string(id));
    EXPECT_EQ(synthetic().is_control(id), qwen3()->is_control(id));
  }
}

TEST(Tokenizer, RejectsBrokenVocabularies) {
  text::vocab_data v = text::make_synthetic_vocab();
  auto broken = v;
  broken.merges.push_back("nope");
  EXPECT_THROW(text::tokenizer{broken}, edgecloud::text_error);
  broken = v;
  broken.merges.push_back("x zzzz_not_a_token");
  EXPECT_THROW(text::tokenizer{broken}, edgecloud::text_error);
  broken = v;
  broken.tokens[5] = "日本";  // not a byte-level string
  EXPECT_THROW(text::tokenizer{broken}, edgecloud::text_error);
  broken = v;
  broken.pre = "llama3";
  EXPECT_THROW(text::tokenizer{broken}, edgecloud::text_error);
  broken = v;
  broken.token_types.pop_back();
  EXPECT_THROW(text::tokenizer{broken}, edgecloud::text_error);
}

}  // namespace

// The per-thread piece cache drops everything when its largest table is half full and must
// keep working afterwards (fuzz_tokenizer found a crash there: the table was left empty).
TEST(PieceCache, KeepsWorkingAfterItFillsUpAndClears) {
  edgecloud::text::detail::piece_cache cache;
  cache.reset(1);
  using pc = edgecloud::text::detail::piece_cache;
  const size_t n = pc::max_capacity / 2 + 1000;  // past the point where it clears
  for (size_t i = 0; i < n; ++i) {
    const std::string piece = "p" + std::to_string(i);
    const int32_t id = static_cast<int32_t>(i);
    const uint64_t h = std::hash<std::string>{}(piece);
    cache.insert(piece, h, std::span<const int32_t>(&id, 1));
    const auto found = cache.find(piece, h);
    ASSERT_EQ(found.size(), 1u) << i;
    ASSERT_EQ(found[0], id);
  }
  // The entries before the clear are gone, the recent ones are still there.
  EXPECT_TRUE(cache.find("p0", std::hash<std::string>{}(std::string("p0"))).empty());
  const std::string last = "p" + std::to_string(n - 1);
  EXPECT_EQ(cache.find(last, std::hash<std::string>{}(last)).size(), 1u);
}
