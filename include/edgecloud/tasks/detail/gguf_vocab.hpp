// SPDX-License-Identifier: Apache-2.0
// Interim glue: text::vocab_data from a GGUF file's tokenizer.ggml.* keys (as llama.cpp writes
// them). The tokenizer work provides the maintained loader (generate/tokenizer_loader.hpp); this
// one exists so the tasks layer builds before that lands and is to be replaced by it.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/text/vocab.hpp>

#include <string>

namespace edgecloud::tasks::detail {

inline text::vocab_data vocab_from_gguf(const gguf::file& f) {
  text::vocab_data v;
  for (auto s : f.get_string_array("tokenizer.ggml.tokens")) v.tokens.emplace_back(s);
  if (v.tokens.empty())
    throw model_error("GGUF file has no tokenizer (tokenizer.ggml.tokens); pass a tokenizer.json");
  for (auto t : f.get_int_array("tokenizer.ggml.token_type"))
    v.token_types.push_back(static_cast<int32_t>(t));
  for (auto s : f.get_string_array("tokenizer.ggml.merges")) v.merges.emplace_back(s);
  auto id = [&](const char* key) {
    auto x = f.get_int(key);
    return x && *x >= 0 && *x < static_cast<int64_t>(v.tokens.size()) ? static_cast<int32_t>(*x)
                                                                      : -1;
  };
  v.bos_id = id("tokenizer.ggml.bos_token_id");
  v.eos_id = id("tokenizer.ggml.eos_token_id");
  v.pad_id = id("tokenizer.ggml.padding_token_id");
  if (auto pre = f.get_string("tokenizer.ggml.pre")) v.pre = std::string(*pre);
  if (auto t = f.get_string("tokenizer.chat_template")) v.chat_template = std::string(*t);
  return v;
}

}  // namespace edgecloud::tasks::detail
