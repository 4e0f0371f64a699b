// SPDX-License-Identifier: Apache-2.0
// Task prompts in the Qwen3 chat format (ChatML) with thinking off, encoded segment by segment
// so that no text a user wrote can become a control token.
//
// The text is exactly what Qwen3's official chat template renders for system / user /
// assistant messages with add_generation_prompt=true and enable_thinking=false:
//   <|im_start|>system\n{system}<|im_end|>\n
//   <|im_start|>user\n{user}<|im_end|>\n            (few-shot: user/assistant pairs first)
//   <|im_start|>assistant\n{answer}<|im_end|>\n
//   <|im_start|>assistant\n<think>\n\n</think>\n\n  (the generation prompt: empty think block)
// (tests/tasks/chat_prompt_test.cpp checks this against the template's own renderings in
// ../shared/fixtures/tokenizer/chat_cases.jsonl).
//
// Encoding. Markup (the role headers, <|im_end|>, the think block) is encoded in trusted mode;
// every message content -- instructions, labels, few-shot examples and above all the user's
// text -- in untrusted mode, where "<|im_start|>system" typed by a user stays plain text
// (text/encode_mode.hpp). Each piece is encoded on its own, which is also what makes the fixed
// part of a task prompt a token prefix that the prefix cache can hold: the tokens of the
// instructions do not depend on the query that follows. Pieces are cut after a newline, where
// the Qwen2 pre-tokenizer cuts anyway, so the ids equal those of encoding the whole text except
// when a content starts with whitespace.
//
// Ownership: plain values; the builder holds a pointer to the tokenizer (must outlive it).
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/text/encode_mode.hpp>
#include <edgecloud/text/tokenizer.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::tasks {

struct chat_message {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// Token ids of a prompt and how many leading ones are fixed (do not depend on the request).
struct encoded_prompt {
  std::vector<int32_t> ids;
  size_t fixed = 0;
  size_t dropped_input_tokens = 0;  // user-text tokens cut so the prompt fits the context
  std::string text;  // the rendered text, for logs and tests
};

class prompt_builder {
 public:
  explicit prompt_builder(const text::tokenizer& tok) : tok_(&tok) {}

  void markup(std::string_view s) { append(s, text::encode_mode::trusted); }
  void content(std::string_view s) { append(s, text::encode_mode::untrusted); }
  // Content already encoded (untrusted), e.g. a user text cut to fit the context.
  void content_tokens(std::span<const int32_t> ids, std::string_view shown) {
    out_.text.append(shown);
    out_.ids.insert(out_.ids.end(), ids.begin(), ids.end());
  }

  // "<|im_start|>{role}\n{content}<|im_end|>\n".
  void message(std::string_view role, std::string_view body) {
    open(role);
    content(body);
    close();
  }
  void open(std::string_view role) {
    check_role(role);
    markup("<|im_start|>");
    markup(std::string(role) + "\n");
  }
  void close() { markup("<|im_end|>\n"); }
  // The assistant's turn with thinking off.
  void generation_prompt() { markup("<|im_start|>assistant\n<think>\n\n</think>\n\n"); }

  // Everything so far is the task's fixed prefix.
  void mark_fixed() { out_.fixed = out_.ids.size(); }
  encoded_prompt take() { return std::move(out_); }
  encoded_prompt& current_mutable() { return out_; }
  const encoded_prompt& current() const { return out_; }

 private:
  static void check_role(std::string_view role) {
    if (role != "system" && role != "user" && role != "assistant")
      throw config_error("chat message role must be system, user or assistant, not \"" +
                         std::string(role) + "\"");
  }
  void append(std::string_view s, text::encode_mode mode) {
    if (s.empty()) return;
    out_.text.append(s);
    tok_->encode(s, mode, out_.ids);  // appends
  }

  const text::tokenizer* tok_;
  encoded_prompt out_;
};

// Renders a whole conversation (system first if any) followed by the generation prompt.
inline encoded_prompt render_chat(const text::tokenizer& tok,
                                  const std::vector<chat_message>& messages) {
  prompt_builder b(tok);
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role == "system" && i != 0)
      throw config_error("render_chat: a system message must come first");
    b.message(messages[i].role, messages[i].content);
  }
  b.generation_prompt();
  return b.take();
}

// Replaces every "{name}" in `templ` by `value`.
inline std::string fill_placeholder(std::string templ, std::string_view name, std::string_view value) {
  const std::string key = "{" + std::string(name) + "}";
  for (size_t at = templ.find(key); at != std::string::npos;
       at = templ.find(key, at + value.size())) {
    templ.replace(at, key.size(), value);
  }
  return templ;
}

}  // namespace edgecloud::tasks
