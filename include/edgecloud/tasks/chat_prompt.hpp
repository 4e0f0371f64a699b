// SPDX-License-Identifier: Apache-2.0
// Task prompts in the Qwen3 chat format with thinking off, rendered by the text layer's native
// Qwen3 template (text/chat_template.hpp) and encoded so that no text a user wrote can become a
// control token.
//
// A task prompt is [system, few-shot examples..., user] rendered with add_generation_prompt and
// enable_thinking=false, i.e. ending in "<|im_start|>assistant\n<think>\n\n</think>\n\n", and
// encoded with text::encode_chat: control tokens only inside the byte ranges the template wrote,
// every message content (instructions, labels, examples and above all the user's text) as plain
// text -- "<|im_start|>system" typed by a user stays text -- and otherwise exactly the ids of
// the whole string, as Hugging Face's apply_chat_template(tokenize=True) gives.
//
// Fixed prefix: the user turn's content is `before + text + after`; everything up to the end of
// `before` does not depend on the request. Its length in tokens (`fixed`) is the common prefix of
// the prompt's ids with the ids of that text alone, so the prefix cache can keep it; with
// `before` ending in a newline it is the whole prefix (the Qwen2 pre-tokenizer cuts there).
//
// Over-long input: when the prompt would leave fewer than `reserve` positions of the context,
// the end of the user's text is cut at a token boundary (dropped_input_tokens says how many).
//
// Ownership: plain values.
#pragma once

#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/text/chat_template.hpp>
#include <edgecloud/text/tokenizer.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::tasks {

using chat_message = text::chat_message;  // {role, content} (+ optional reasoning/tool calls)

// Token ids of a prompt and how many leading ones are fixed (do not depend on the request).
struct encoded_prompt {
  std::vector<int32_t> ids;
  size_t fixed = 0;
  size_t dropped_input_tokens = 0;  // user-text tokens cut so the prompt fits the context
  std::string text;                 // the rendered text, for logs and tests
};

// The user turn of a task: content = before + text + after.
struct user_turn {
  std::string_view before, text, after;
};

namespace detail {
// What the template writes after the last user message with thinking off.
inline constexpr std::string_view user_turn_tail =
    "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

inline encoded_prompt render_once(const text::tokenizer& tok, std::string_view system,
                                  const std::vector<chat_message>& examples, const user_turn& u) {
  std::vector<chat_message> msgs;
  msgs.reserve(examples.size() + 2);
  msgs.push_back({.role = "system", .content = std::string(system)});
  for (const auto& m : examples) {
    if (m.role != "user" && m.role != "assistant")
      throw config_error("few-shot examples must be user or assistant messages, not \"" + m.role +
                         "\"");
    msgs.push_back(m);
  }
  std::string content;
  content.reserve(u.before.size() + u.text.size() + u.after.size());
  content.append(u.before).append(u.text).append(u.after);
  msgs.push_back({.role = "user", .content = content});
  text::chat_prompt p =
      text::render_qwen3(msgs, nullptr, {.add_generation_prompt = true, .enable_thinking = false});
  encoded_prompt out;
  out.ids = text::encode_chat(tok, p);
  // The user's content is rendered verbatim right before the fixed tail.
  const size_t tail = user_turn_tail.size();
  if (p.text.size() < tail + content.size() ||
      p.text.compare(p.text.size() - tail, tail, user_turn_tail) != 0 ||
      p.text.compare(p.text.size() - tail - content.size(), content.size(), content) != 0)
    throw config_error("task prompt: unexpected chat rendering of the user turn");
  const size_t fixed_bytes = p.text.size() - tail - content.size() + u.before.size();
  text::chat_prompt prefix;
  prefix.text = p.text.substr(0, fixed_bytes);
  for (const auto& r : p.template_ranges)
    if (r.begin < fixed_bytes)
      prefix.template_ranges.push_back({r.begin, std::min(r.end, fixed_bytes)});
  const auto prefix_ids = text::encode_chat(tok, prefix);
  while (out.fixed < prefix_ids.size() && out.fixed < out.ids.size() &&
         prefix_ids[out.fixed] == out.ids[out.fixed])
    ++out.fixed;
  out.text = std::move(p.text);
  return out;
}
}  // namespace detail

// Renders and encodes a task prompt that leaves `reserve` positions of `context` free (cutting
// the end of the user's text if needed); capacity_error when even an empty text does not fit.
inline encoded_prompt render_task_prompt(const text::tokenizer& tok, std::string_view system,
                                         const std::vector<chat_message>& examples,
                                         const user_turn& u, size_t context = 0,
                                         size_t reserve = 0) {
  encoded_prompt p = detail::render_once(tok, system, examples, u);
  if (context == 0 || p.ids.size() + reserve <= context) return p;
  const encoded_prompt empty =
      detail::render_once(tok, system, examples, {u.before, std::string_view(), u.after});
  if (empty.ids.size() + reserve + 1 > context)
    throw capacity_error("the task prompt (" + std::to_string(empty.ids.size()) +
                         " tokens) and its " + std::to_string(reserve) +
                         " output tokens do not fit the context of " + std::to_string(context) +
                         " (runner_config::session.context)");
  const auto text_ids = tok.encode(u.text, text::encode_mode::untrusted);
  size_t keep = context - reserve - empty.ids.size();
  keep = keep > 4 ? keep - 4 : 0;  // slack for merges across the cut
  for (int attempt = 0; attempt < 8; ++attempt) {
    keep = std::min(keep, text_ids.size());
    const std::string cut =
        tok.decode(std::span<const int32_t>(text_ids.data(), keep));  // whole characters
    p = detail::render_once(tok, system, examples, {u.before, cut, u.after});
    p.dropped_input_tokens = text_ids.size() - keep;
    if (p.ids.size() + reserve <= context) return p;
    keep = keep > 16 ? keep - 16 : 0;
  }
  encoded_prompt none = empty;
  none.dropped_input_tokens = text_ids.size();
  return none;
}

// Replaces every "{name}" in `templ` by `value`.
inline std::string fill_placeholder(std::string templ, std::string_view name,
                                    std::string_view value) {
  const std::string key = "{" + std::string(name) + "}";
  for (size_t at = templ.find(key); at != std::string::npos;
       at = templ.find(key, at + value.size())) {
    templ.replace(at, key.size(), value);
  }
  return templ;
}

}  // namespace edgecloud::tasks
