// SPDX-License-Identifier: Apache-2.0
// Glue between the model and text layers: a tokenizer from a GGUF file's `tokenizer.ggml.*`
// metadata (as llama.cpp's convert_hf_to_gguf.py writes it), or from either source by path.
//
// GGUF layout read here: tokenizer.ggml.model = "gpt2" (byte-level BPE), .pre = "qwen2",
// .tokens (string array), .token_type (int array, optional), .merges (string array), .bos/eos/
// padding_token_id, tokenizer.chat_template. llama.cpp pads the token list to the model's logit
// count with "[PAD<id>]" entries (Qwen3: 151,669 tokens padded to 151,936); those padding entries
// at the end are dropped, so the tokenizer's size is the real one and padding ids are rejected
// like any id outside the vocabulary.
//
// Ownership: read_gguf_vocab copies what it needs out of the mapping; the gguf::file can be
// closed afterwards.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/text/tokenizer.hpp>
#include <edgecloud/text/vocab.hpp>

#include <charconv>
#include <filesystem>
#include <string>
#include <string_view>

namespace edgecloud::generate {

namespace detail {
// "[PAD151669]" at index 151669: llama.cpp's filler for ids beyond the tokenizer.
inline bool is_llama_cpp_padding(std::string_view token, size_t index) {
  if (token.size() < 6 || !token.starts_with("[PAD") || token.back() != ']') return false;
  const std::string_view digits = token.substr(4, token.size() - 5);
  size_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return ec == std::errc() && end == digits.data() + digits.size() && value == index;
}
}  // namespace detail

// The tokenizer description stored in a GGUF file. Throws text_error when the file has no
// tokenizer or one of another family, model_error when the metadata is malformed.
inline text::vocab_data read_gguf_vocab(const gguf::file& f) {
  const auto model = f.get_string("tokenizer.ggml.model");
  if (!model)
    throw text_error("GGUF file has no tokenizer (tokenizer.ggml.model is missing)");
  if (*model != "gpt2")
    throw text_error("GGUF tokenizer model '" + std::string(*model) +
                     "' is not supported (only byte-level BPE, 'gpt2', of the Qwen2/Qwen3 family)");
  text::vocab_data v;
  v.pre = std::string(f.get_string("tokenizer.ggml.pre").value_or("qwen2"));
  const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  if (tokens.empty()) throw text_error("GGUF tokenizer has no tokenizer.ggml.tokens");
  const auto types = f.get_int_array("tokenizer.ggml.token_type");
  if (!types.empty() && types.size() != tokens.size())
    throw text_error("GGUF tokenizer: " + std::to_string(types.size()) + " token types for " +
                     std::to_string(tokens.size()) + " tokens");
  size_t n = tokens.size();
  while (n > 1 && detail::is_llama_cpp_padding(tokens[n - 1], n - 1)) --n;
  v.tokens.reserve(n);
  v.token_types.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    v.tokens.emplace_back(tokens[id]);
    const int64_t t = types.empty() ? 1 : types[id];
    v.token_types.push_back(t >= 0 && t <= 6 ? static_cast<int32_t>(t) : 0);
  }
  const auto merges = f.get_string_array("tokenizer.ggml.merges");
  v.merges.reserve(merges.size());
  for (auto m : merges) v.merges.emplace_back(m);
  auto id_or_none = [&](const char* key) -> int32_t {
    const auto id = f.get_uint(key);
    return id && *id < n ? static_cast<int32_t>(*id) : -1;
  };
  v.bos_id = id_or_none("tokenizer.ggml.bos_token_id");
  v.eos_id = id_or_none("tokenizer.ggml.eos_token_id");
  v.pad_id = id_or_none("tokenizer.ggml.padding_token_id");
  v.chat_template = std::string(f.get_string("tokenizer.chat_template").value_or(""));
  return v;
}

inline text::tokenizer load_tokenizer(const gguf::file& f) { return text::tokenizer(read_gguf_vocab(f)); }

// From a .gguf model file or a Hugging Face tokenizer.json (by extension; tokenizer_config.json
// beside it is read too).
inline text::vocab_data read_vocab(const std::filesystem::path& p) {
  if (p.extension() == ".json") return text::read_hf_tokenizer(p);
  return read_gguf_vocab(gguf::file::open(p));
}
inline text::tokenizer load_tokenizer(const std::filesystem::path& p) {
  return text::tokenizer(read_vocab(p));
}

}  // namespace edgecloud::generate
