// SPDX-License-Identifier: Apache-2.0
// The token ids a task request feeds the model, as free functions over the tokenizer: the one
// place that turns a task configuration and a text into a prompt, used by tasks::engine for
// every request and by anything that must feed the model exactly what the engine feeds it --
// above all a trainer (`edgecloud task-prompt`), so training and inference cannot drift.
//
//   resolve_prompt:  the configured prompt_template, or the shipped default of the task/language
//   render_prompt:   fills the placeholders, splits the user turn at {text} (everything before it
//                    is the fixed prefix) and encodes it (chat_prompt.hpp), cutting the end of
//                    the text when the prompt would leave fewer than `reserve` positions free
//   intent_prompt:   classify's prompt ("- label" lines fill {labels}) and each label's token
//                    continuation: encode(label) (+ <|im_end|> when end_with_stop_token)
//
// Ownership: plain values; the tokenizer is borrowed for the call.
#pragma once

#include <algorithm>
#include <edgecloud/error.hpp>
#include <edgecloud/tasks/chat_prompt.hpp>
#include <edgecloud/tasks/config.hpp>
#include <edgecloud/text/tokenizer.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgecloud::tasks {

// The prompt a task runs with: `configured` if set, else the shipped default.
inline const prompt_template& resolve_prompt(const std::optional<prompt_template>& configured,
                                             task_kind k, language lang) {
  static const prompt_template defaults[6][2] = {
      {default_prompt(task_kind::intent, language::en),
       default_prompt(task_kind::intent, language::zh)},
      {default_prompt(task_kind::rewrite, language::en),
       default_prompt(task_kind::rewrite, language::zh)},
      {default_prompt(task_kind::summary, language::en),
       default_prompt(task_kind::summary, language::zh)},
      {default_prompt(task_kind::tool_selection, language::en),
       default_prompt(task_kind::tool_selection, language::zh)},
      {default_prompt(task_kind::safety, language::en),
       default_prompt(task_kind::safety, language::zh)},
      {default_prompt(task_kind::answer, language::en),
       default_prompt(task_kind::answer, language::zh)}};
  return configured ? *configured : defaults[static_cast<int>(k)][lang == language::zh ? 1 : 0];
}

using prompt_vars = std::vector<std::pair<std::string, std::string>>;

// Renders a task prompt: system (with vars), few-shot examples, the user turn with {text}
// (everything before it is the fixed prefix), the generation prompt. `context` 0 = no limit.
inline encoded_prompt render_prompt(const text::tokenizer& tok, const prompt_template& p,
                                    const prompt_vars& vars, std::string_view text,
                                    size_t context = 0, size_t reserve = 0) {
  const size_t at = p.user.find("{text}");
  if (at == std::string::npos) throw config_error("prompt_template.user must contain {text}");
  auto substitute = [&](std::string s) {
    for (const auto& [k, v] : vars) s = fill_placeholder(std::move(s), k, v);
    return s;
  };
  const std::string system = substitute(p.system), before = substitute(p.user.substr(0, at)),
                    after = substitute(p.user.substr(at + 6));
  return render_task_prompt(tok, system, p.examples, {before, text, after}, context, reserve);
}

// What classify feeds the model: the prompt, then each label's continuation is scored.
struct intent_request {
  encoded_prompt prompt;
  std::vector<std::vector<int32_t>> labels;  // per label: its ids (+ end_token), in label order
};

// `end_token` is the tokenizer's <|im_end|>; `context` the session's positions (0 = no limit).
inline intent_request intent_prompt(const text::tokenizer& tok, int32_t end_token,
                                    const intent_config& c, std::string_view text,
                                    size_t context = 0) {
  if (c.labels.empty()) throw config_error("classify: no labels");
  std::string list;
  for (const auto& l : c.labels) {
    if (l.empty()) throw config_error("classify: a label is empty");
    list += "- " + l + "\n";
  }
  if (!list.empty()) list.pop_back();
  intent_request r;
  size_t longest = 0;
  for (const auto& l : c.labels) {
    auto ids = tok.encode(l, text::encode_mode::untrusted);
    if (c.end_with_stop_token) ids.push_back(end_token);
    longest = std::max(longest, ids.size());
    r.labels.push_back(std::move(ids));
  }
  r.prompt = render_prompt(tok, resolve_prompt(c.prompt, task_kind::intent, c.lang),
                           {{"labels", list}}, text, context, longest);
  return r;
}

}  // namespace edgecloud::tasks
