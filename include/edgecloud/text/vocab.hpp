// SPDX-License-Identifier: Apache-2.0
// vocab_data: the plain description of a Qwen2/Qwen3 byte-level BPE tokenizer (token strings,
// token types, merges by rank, special ids, chat template), the common form of its two sources:
// a Hugging Face tokenizer.json (+ tokenizer_config.json beside it), read here, and a GGUF file's
// `tokenizer.ggml.*` metadata, read by generate/tokenizer_loader.hpp (text never includes model
// headers). text::tokenizer (tokenizer.hpp) is built from it.
//
// make_synthetic_vocab() builds a vocabulary of our own with the same layout as Qwen3's (256
// byte-level symbols, merges, the 26 added tokens at ids 151643..151668, the Qwen3 chat template),
// so models written by `edgecloud make-model` carry a tokenizer that encodes any text. Its merges
// are learnt by byte-level BPE training on a small embedded text (detail/synthetic_corpus.hpp);
// nothing in it comes from Qwen's vocabulary.
//
// Ownership: vocab_data owns all its strings (plain value type).
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/text/byte_level.hpp>
#include <edgecloud/text/detail/synthetic_corpus.hpp>
#include <edgecloud/text/qwen3_chat_template.hpp>

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace edgecloud::text {

// GGUF token types (llama.cpp's llama_token_type); only these three occur in Qwen vocabularies.
enum class token_type : int32_t { normal = 1, control = 3, user_defined = 4 };

struct vocab_data {
  std::vector<std::string> tokens;   // GGUF/GPT-2 byte-level token strings ("Ġthe"), index = id
  std::vector<int32_t> token_types;  // GGUF: 1 normal, 3 control, 4 user-defined
  std::vector<std::string> merges;   // "Ġ t" by rank
  int32_t bos_id = -1, eos_id = -1, pad_id = -1;
  std::string pre = "qwen2";  // GGUF tokenizer.ggml.pre
  // Unicode NFC before pre-tokenization (tokenizer.json `normalizer`: {"type": "NFC"} in every
  // Qwen2/Qwen3 release; null turns it off). GGUF files do not record the normalizer; they are
  // read with NFC on, as Hugging Face runs those models.
  bool nfc = true;
  std::string chat_template;  // may be empty
};

// The Qwen2/Qwen3 pre-tokenizer regex (tokenizer.json `pre_tokenizer`), the only one supported.
inline constexpr std::string_view qwen2_pretokenizer_regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen3's 26 added tokens, ids qwen3_first_added_id + index. `special` ones are control tokens
// (GGUF type 3) recognised only in trusted text; the others are user-defined (type 4) and, as in
// Hugging Face tokenizers, recognised in any text.
struct added_token_spec {
  std::string_view content;
  bool special;
};
inline constexpr int32_t qwen3_first_added_id = 151643;
inline constexpr std::array<added_token_spec, 26> qwen3_added_tokens = {{
    {"<|endoftext|>", true},      {"<|im_start|>", true},       {"<|im_end|>", true},
    {"<|object_ref_start|>", true}, {"<|object_ref_end|>", true}, {"<|box_start|>", true},
    {"<|box_end|>", true},        {"<|quad_start|>", true},     {"<|quad_end|>", true},
    {"<|vision_start|>", true},   {"<|vision_end|>", true},     {"<|vision_pad|>", true},
    {"<|image_pad|>", true},      {"<|video_pad|>", true},      {"<tool_call>", false},
    {"</tool_call>", false},      {"<|fim_prefix|>", false},    {"<|fim_middle|>", false},
    {"<|fim_suffix|>", false},    {"<|fim_pad|>", false},       {"<|repo_name|>", false},
    {"<|file_sep|>", false},      {"<tool_response>", false},   {"</tool_response>", false},
    {"<think>", false},           {"</think>", false},
}};

namespace detail {

inline std::string read_whole_file(const std::filesystem::path& p, const char* what) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw text_error(std::string("cannot open ") + what + " " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// tokenizer_config.json names special tokens as a string or as {"content": ...}.
inline std::string token_name(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string())
    return j["content"].get<std::string>();
  return {};
}

// The vocabulary, merges, added tokens and options of a parsed tokenizer.json (`where` names the
// file in errors). nlohmann type errors (a string where a number belongs...) escape from here and
// become text_error in read_hf_tokenizer.
inline vocab_data vocab_from_hf_json(const nlohmann::json& j, const std::string& where) {
  auto fail = [&](const std::string& msg) { throw text_error(where + ": " + msg); };
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    fail("no \"model\" object (is this a Hugging Face tokenizer.json?)");
  const auto& model = j["model"];
  if (model.value("type", std::string("BPE")) != "BPE")
    fail("model type " + model.value("type", std::string()) + " is not supported (only BPE)");
  const std::string pre_tokenizer = j.contains("pre_tokenizer") ? j["pre_tokenizer"].dump() : "";
  if (pre_tokenizer.find(nlohmann::json(std::string(qwen2_pretokenizer_regex)).dump()) ==
      std::string::npos)
    fail("pre-tokenizer is not the Qwen2/Qwen3 byte-level regex; only that family is supported");
  if (pre_tokenizer.find("\"add_prefix_space\":true") != std::string::npos)
    fail("pre-tokenizer add_prefix_space = true is not supported");
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("model.vocab missing");
  vocab_data v;
  // Options of the model that would change the ids and that no Qwen tokenizer sets: refuse them
  // rather than tokenize differently from Hugging Face.
  auto string_option = [&](const char* key) {
    return model.contains(key) && model[key].is_string() ? model[key].get<std::string>() : "";
  };
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (!string_option(key).empty()) fail(std::string("model.") + key + " is not supported");
  if (model.contains("dropout") && !model["dropout"].is_null() &&
      !(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0))
    fail("model.dropout is not supported (BPE dropout is for training, not inference)");
  if (model.value("ignore_merges", false)) fail("model.ignore_merges = true is not supported");
  if (model.value("byte_fallback", false)) fail("model.byte_fallback = true is not supported");
  // Normalizer: none or NFC (alone or in a Sequence); anything else changes the text in ways
  // this tokenizer does not implement.
  {
    const nlohmann::json norm = j.contains("normalizer") ? j["normalizer"] : nlohmann::json();
    auto is_nfc = [](const nlohmann::json& n) {
      return n.is_object() && n.value("type", std::string()) == "NFC";
    };
    if (norm.is_null()) {
      v.nfc = false;
    } else if (is_nfc(norm)) {
      v.nfc = true;
    } else if (norm.is_object() && norm.value("type", std::string()) == "Sequence" &&
               norm.contains("normalizers") && norm["normalizers"].is_array() &&
               std::all_of(norm["normalizers"].begin(), norm["normalizers"].end(), is_nfc)) {
      v.nfc = !norm["normalizers"].empty();
    } else {
      fail("normalizer " + norm.dump() + " is not supported (only NFC or none)");
    }
  }
  if (!model.contains("merges") || !model["merges"].is_array()) fail("model.merges missing");

  std::vector<std::pair<int64_t, std::string>> entries;
  int64_t max_id = -1;
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it.value().is_number_integer()) fail("vocab entry " + it.key() + " has no integer id");
    const int64_t id = it.value().get<int64_t>();
    entries.emplace_back(id, it.key());
    max_id = std::max(max_id, id);
  }
  struct added {
    int64_t id;
    std::string content;
    bool special;
  };
  std::vector<added> added_tokens;
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a.contains("content"))
        fail("added_tokens entry without id/content");
      // Hugging Face strips whitespace around, or requires word boundaries at, tokens with these
      // flags; no Qwen tokenizer sets them, and matching them plainly would give other ids.
      for (const char* flag : {"lstrip", "rstrip", "single_word"})
        if (a.value(flag, false))
          fail("added token " + a["content"].dump() + " has " + flag +
               " = true, which is not supported");
      added_tokens.push_back(
          {a["id"].get<int64_t>(), a["content"].get<std::string>(), a.value("special", false)});
      max_id = std::max(max_id, added_tokens.back().id);
    }
  }
  if (max_id < 0 || max_id >= (int64_t{1} << 24)) fail("token ids out of range");
  const size_t n = static_cast<size_t>(max_id + 1);
  v.tokens.assign(n, std::string());
  v.token_types.assign(n, 0);
  for (auto& [id, s] : entries) {
    if (id < 0) fail("negative token id");
    if (v.token_types[id] != 0) fail("token id " + std::to_string(id) + " used twice");
    v.tokens[id] = std::move(s);
    v.token_types[id] = static_cast<int32_t>(token_type::normal);
  }
  for (auto& a : added_tokens) {
    if (a.id < 0) fail("negative added token id");
    if (v.token_types[a.id] != 0 && v.tokens[a.id] != a.content)
      fail("added token " + a.content + " collides with vocabulary id " + std::to_string(a.id));
    v.tokens[a.id] = a.content;
    v.token_types[a.id] =
        static_cast<int32_t>(a.special ? token_type::control : token_type::user_defined);
  }
  for (size_t id = 0; id < n; ++id)
    if (v.token_types[id] == 0) fail("no token with id " + std::to_string(id) + " (ids must be dense)");

  v.merges.reserve(model["merges"].size());
  for (const auto& m : model["merges"]) {
    if (m.is_string()) {
      v.merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      fail("merge entry " + m.dump() + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  return v;
}

}  // namespace detail

// Reads a Hugging Face tokenizer.json of the Qwen2/Qwen3 family (byte-level BPE with the Qwen2
// pre-tokenizer regex) and, when present beside it, tokenizer_config.json (chat template, eos,
// pad and bos tokens). Throws text_error naming the file and the problem.
inline vocab_data read_hf_tokenizer(const std::filesystem::path& tokenizer_json) {
  const std::string where = tokenizer_json.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(detail::read_whole_file(tokenizer_json, "tokenizer file"));
  } catch (const nlohmann::json::exception& e) {
    throw text_error(where + ": not valid JSON: " + e.what());
  }
  vocab_data v;
  try {
    v = detail::vocab_from_hf_json(j, where);
  } catch (const nlohmann::json::exception& e) {
    throw text_error(where + ": a value has the wrong type: " + e.what());
  }
  const size_t n = v.tokens.size();
  const auto config_path = tokenizer_json.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    nlohmann::json c;
    try {
      c = nlohmann::json::parse(detail::read_whole_file(config_path, "tokenizer config"));
    } catch (const nlohmann::json::exception& e) {
      throw text_error(config_path.string() + ": not valid JSON: " + e.what());
    }
    if (c.contains("chat_template")) {
      const auto& t = c["chat_template"];
      if (t.is_string()) {
        v.chat_template = t.get<std::string>();
      } else if (t.is_array()) {  // [{"name": "default", "template": ...}, ...]
        for (const auto& e : t)
          if (e.is_object() && e.contains("name") && e["name"] == "default" &&
              e.contains("template") && e["template"].is_string())
            v.chat_template = e["template"].get<std::string>();
      }
    }
    auto find_id = [&](const char* key) -> int32_t {
      if (!c.contains(key)) return -1;
      const std::string name = detail::token_name(c[key]);
      if (name.empty()) return -1;
      for (size_t id = 0; id < n; ++id)
        if (v.token_types[id] != static_cast<int32_t>(token_type::normal) && v.tokens[id] == name)
          return static_cast<int32_t>(id);
      for (size_t id = 0; id < n; ++id)
        if (v.tokens[id] == name) return static_cast<int32_t>(id);
      throw text_error(config_path.string() + ": " + key + " " + name + " is not in the vocabulary");
    };
    v.bos_id = find_id("bos_token");
    v.eos_id = find_id("eos_token");
    v.pad_id = find_id("pad_token");
  }
  return v;
}

namespace detail {

// Splits training text roughly as the Qwen2 regex does (letters with one optional leading
// non-letter, single digits, runs of other characters, whitespace runs); training only needs
// sensible words, not the exact regex.
inline std::vector<std::string> training_words(std::string_view text) {
  enum class kind { letter, digit, space, other };
  std::vector<std::pair<kind, std::string_view>> chars;
  size_t i = 0;
  while (i < text.size()) {
    utf8proc_int32_t cp = 0;
    auto len = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                                static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    if (len <= 0) len = 1, cp = 0xFFFD;
    const auto cat = utf8proc_category(cp);
    kind k = kind::other;
    if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) k = kind::letter;
    else if (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) k = kind::digit;
    else if (cp == ' ' || cp == '\n' || cp == '\t' || cp == '\r') k = kind::space;
    chars.emplace_back(k, text.substr(i, static_cast<size_t>(len)));
    i += static_cast<size_t>(len);
  }
  std::vector<std::string> words;
  size_t p = 0;
  while (p < chars.size()) {
    std::string w(chars[p].second);
    size_t q = p + 1;
    const kind k = chars[p].first;
    if (k == kind::letter || (k != kind::digit && chars[p].second != "\n" && q < chars.size() &&
                              chars[q].first == kind::letter)) {
      while (q < chars.size() && chars[q].first == kind::letter) w += chars[q++].second;
    } else if (k == kind::other || k == kind::space) {
      while (q < chars.size() && chars[q].first == k) w += chars[q++].second;
    }
    words.push_back(std::move(w));
    p = q;
  }
  return words;
}

}  // namespace detail

// See the file comment. Deterministic: the same vocabulary on every call and every machine
// (training ties are broken by the byte order of the pair). Takes a few milliseconds.
inline vocab_data make_synthetic_vocab() {
  constexpr size_t max_merges = 1500;
  vocab_data v;
  std::unordered_map<std::string, int32_t> id_of;
  auto add_token = [&](std::string s, token_type t) {
    const auto id = static_cast<int32_t>(v.tokens.size());
    id_of.emplace(s, id);
    v.tokens.push_back(std::move(s));
    v.token_types.push_back(static_cast<int32_t>(t));
  };
  // Byte symbols in the order of the byte-level alphabet's code points ('!' first, as GPT-2).
  std::vector<std::pair<char32_t, unsigned>> alphabet;
  for (unsigned b = 0; b < 256; ++b) alphabet.emplace_back(byte_level::byte_to_code_point[b], b);
  std::sort(alphabet.begin(), alphabet.end());
  for (auto& [cp, b] : alphabet)
    add_token(byte_level::encode(std::string(1, static_cast<char>(b))), token_type::normal);

  // Byte-level BPE training: words -> symbol ids, repeatedly merge the most frequent adjacent
  // pair (ties: the pair whose token strings sort first) until max_merges or nothing is left to
  // merge; late merges join pairs seen once, so whole corpus words become tokens.
  std::map<std::string, int64_t> word_counts;
  for (auto& w : detail::training_words(detail::synthetic_corpus)) ++word_counts[w];
  std::vector<int32_t> byte_id(256);
  for (unsigned b = 0; b < 256; ++b)
    byte_id[b] = id_of.at(byte_level::encode(std::string(1, static_cast<char>(b))));
  struct word {
    std::vector<int32_t> symbols;
    int64_t count;
  };
  std::vector<word> words;
  for (auto& [w, count] : word_counts) {
    word entry{{}, count};
    for (unsigned char b : w) entry.symbols.push_back(byte_id[b]);
    words.push_back(std::move(entry));
  }
  std::unordered_map<uint64_t, int64_t> pair_counts;
  auto key = [](int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); };
  while (v.merges.size() < max_merges) {
    pair_counts.clear();
    for (const auto& w : words)
      for (size_t k = 0; k + 1 < w.symbols.size(); ++k)
        pair_counts[key(w.symbols[k], w.symbols[k + 1])] += w.count;
    uint64_t best = 0;
    int64_t best_count = 0;
    auto strings_of = [&](uint64_t k) {
      return std::make_pair(std::string_view(v.tokens[k >> 32]),
                            std::string_view(v.tokens[k & 0xFFFFFFFFu]));
    };
    for (const auto& [pair, count] : pair_counts)
      if (count > best_count || (count == best_count && strings_of(pair) < strings_of(best)))
        best = pair, best_count = count;
    if (best_count == 0) break;
    const auto left = static_cast<int32_t>(best >> 32);
    const auto right = static_cast<int32_t>(best & 0xFFFFFFFFu);
    std::string merged = v.tokens[left] + v.tokens[right];
    v.merges.push_back(v.tokens[left] + " " + v.tokens[right]);
    if (!id_of.count(merged)) add_token(merged, token_type::normal);
    const int32_t merged_id = id_of.at(merged);
    for (auto& w : words) {
      size_t out = 0;
      for (size_t k = 0; k < w.symbols.size(); ++k) {
        if (k + 1 < w.symbols.size() && w.symbols[k] == left && w.symbols[k + 1] == right) {
          w.symbols[out++] = merged_id;
          ++k;
        } else {
          w.symbols[out++] = w.symbols[k];
        }
      }
      w.symbols.resize(out);
    }
  }
  // Pad with unreachable tokens (no merge produces them) so the added tokens sit at Qwen3's ids.
  for (auto id = static_cast<int32_t>(v.tokens.size()); id < qwen3_first_added_id; ++id)
    add_token("[unused" + std::to_string(id) + "]", token_type::normal);
  for (const auto& a : qwen3_added_tokens)
    add_token(std::string(a.content), a.special ? token_type::control : token_type::user_defined);
  v.bos_id = qwen3_first_added_id;      // <|endoftext|>, as llama.cpp writes Qwen3 GGUFs
  v.eos_id = qwen3_first_added_id + 2;  // <|im_end|>
  v.pad_id = qwen3_first_added_id;      // <|endoftext|>
  v.pre = "qwen2";
  v.chat_template = std::string(qwen3_chat_template);
  return v;
}

}  // namespace edgecloud::text
