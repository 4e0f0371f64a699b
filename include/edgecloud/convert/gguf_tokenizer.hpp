// SPDX-License-Identifier: Apache-2.0
// A Qwen2/Qwen3 byte-level BPE tokenizer as GGUF `tokenizer.*` metadata, the way llama.cpp's
// convert_hf_to_gguf.py writes it (Model.get_vocab_base + gguf-py's SpecialVocab):
//   tokenizer.ggml.model = "gpt2", tokenizer.ggml.pre = "qwen2"
//   tokenizer.ggml.tokens       one string per id 0..vocab_size-1; ids the tokenizer does not
//                               define become "[PAD<id>]" (the embedding has more rows than the
//                               vocabulary: 151,936 vs 151,669 for Qwen3)
//   tokenizer.ggml.token_type   i32: 1 normal; an added token 3 (control) when tokenizer.json
//                               marks it special or it "looks special" (<|...|>, <｜...｜>,
//                               <pad>, <mask>, <2mass>, [@BOS@], <unused...>), else 4
//                               (user-defined); padding 5 (unused)
//   tokenizer.ggml.merges       "a b" by rank
//   tokenizer.ggml.<typ>_token_id (u32)  from tokenizer_config.json's <typ>_token (looked up
//                               among the tokens), then config.json's <typ>_token_id for the
//                               types still unset, typ in bos, eos, unknown, seperator (sic),
//                               padding, cls, mask
//   tokenizer.ggml.add_bos_token / add_eos_token (bool) when tokenizer_config.json says
//   tokenizer.chat_template    when there is one
// Used by `edgecloud convert` and `edgecloud make-model` (one writer of tokenizer metadata).
//
// Ownership: gguf_vocab is a plain value type owning its strings.
#pragma once

#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <edgecloud/text/vocab.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgecloud::convert {

// llama.cpp's gguf.TokenType values.
inline constexpr int32_t token_normal = 1, token_control = 3, token_user_defined = 4,
                         token_unused = 5;

struct gguf_vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<std::string> merges;
  std::string pre = "qwen2";
  // ("bos", id), ("eos", id), ... in the order llama.cpp writes them.
  std::vector<std::pair<std::string, uint32_t>> special_ids;
  std::vector<std::pair<std::string, bool>> add_special;  // ("bos", false): add_bos_token
  std::string chat_template;
};

// llama.cpp's Model.does_token_look_special.
inline bool token_looks_special(std::string_view t) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") || wrapped("<unused", ">");
}

// Special ids not set by the tokenizer files come from config.json (`bos_token_id`, ...).
struct config_special_ids {
  std::optional<int64_t> bos, eos, unk, sep, pad, cls, mask;
};

// Builds the GGUF token list for a model with `vocab_rows` embedding rows. `tokenizer_ids` are
// the ids tokenizer_config.json names (vocab_data's bos/eos/pad, -1 = none). Throws text_error
// when the tokenizer has more tokens than the model has rows.
inline gguf_vocab to_gguf_vocab(const text::vocab_data& v, uint64_t vocab_rows,
                                const config_special_ids& config = {},
                                std::vector<std::pair<std::string, bool>> add_special = {}) {
  if (v.tokens.size() > vocab_rows)
    throw text_error("the tokenizer has " + std::to_string(v.tokens.size()) +
                     " tokens, more than the model's vocab_size of " + std::to_string(vocab_rows) +
                     " embedding rows");
  gguf_vocab g;
  g.pre = v.pre;
  g.tokens.reserve(vocab_rows);
  g.types.reserve(vocab_rows);
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    g.tokens.push_back(v.tokens[id]);
    const int32_t t = v.token_types[id];
    if (t == token_normal)
      g.types.push_back(token_normal);
    else if (t == token_control || token_looks_special(v.tokens[id]))
      g.types.push_back(token_control);
    else
      g.types.push_back(token_user_defined);
  }
  for (uint64_t id = v.tokens.size(); id < vocab_rows; ++id) {
    g.tokens.push_back("[PAD" + std::to_string(id) + "]");
    g.types.push_back(token_unused);
  }
  g.merges = v.merges;
  // SpecialVocab: tokenizer_config.json first (in special_token_types order), then config.json
  // for the types still missing; ids must be below the vocabulary size.
  auto set = [&](const std::string& typ, std::optional<int64_t> id) {
    if (!id || *id < 0 || static_cast<uint64_t>(*id) >= vocab_rows) return;
    for (const auto& [t, x] : g.special_ids)
      if (t == typ) return;
    g.special_ids.emplace_back(typ, static_cast<uint32_t>(*id));
  };
  auto from_vocab = [](int32_t id) { return id >= 0 ? std::optional<int64_t>(id) : std::nullopt; };
  set("bos", from_vocab(v.bos_id));
  set("eos", from_vocab(v.eos_id));
  set("padding", from_vocab(v.pad_id));
  set("bos", config.bos);
  set("eos", config.eos);
  set("unknown", config.unk);
  set("seperator", config.sep);  // sic: gguf-py spells the key so
  set("padding", config.pad);
  set("cls", config.cls);
  set("mask", config.mask);
  g.add_special = std::move(add_special);
  g.chat_template = v.chat_template;
  return g;
}

inline void add_tokenizer_metadata(gguf::writer& w, const gguf_vocab& g) {
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", g.pre);
  w.add_string_array("tokenizer.ggml.tokens", g.tokens);
  w.add_array("tokenizer.ggml.token_type", g.types);
  w.add_string_array("tokenizer.ggml.merges", g.merges);
  for (const auto& [typ, id] : g.special_ids) w.add_u32("tokenizer.ggml." + typ + "_token_id", id);
  for (const auto& [typ, on] : g.add_special)
    w.add_bool("tokenizer.ggml.add_" + typ + "_token", on);
  if (!g.chat_template.empty()) w.add_string("tokenizer.chat_template", g.chat_template);
}

}  // namespace edgecloud::convert
