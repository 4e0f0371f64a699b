// SPDX-License-Identifier: Apache-2.0
// Glue: a tokenizer vocabulary (text::vocab_data, GPT-2 byte-level strings) -> the raw byte
// string of every logit id, as token_vocabulary wants it.
//
// Only normal tokens get bytes. Control and user-defined tokens (<|im_end|>, <think>,
// <tool_call> ...) get none, so no constraint can ever produce them; neither do ids between the
// tokenizer's table and the model's logit count (Qwen3: 151,669 .. 151,935 are padding rows).
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/text/byte_level.hpp>
#include <edgecloud/text/vocab.hpp>
#include <string>
#include <vector>

namespace edgecloud::generate {

// `n_logits`: the model's vocabulary dimension (0 = the tokenizer's size).
inline std::vector<std::string> token_bytes(const text::vocab_data& vocab, size_t n_logits = 0) {
  const size_t n = n_logits ? n_logits : vocab.tokens.size();
  if (n < vocab.tokens.size())
    throw config_error("token_bytes: the model has " + std::to_string(n) +
                       " logits but the tokenizer " + std::to_string(vocab.tokens.size()) +
                       " tokens");
  std::vector<std::string> out(n);
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    const int32_t type = id < vocab.token_types.size()
                             ? vocab.token_types[id]
                             : static_cast<int32_t>(text::token_type::normal);
    if (type != static_cast<int32_t>(text::token_type::normal)) continue;
    auto bytes = text::byte_level::decode(vocab.tokens[id]);
    if (bytes) out[id] = std::move(*bytes);
  }
  return out;
}

}  // namespace edgecloud::generate
