// SPDX-License-Identifier: Apache-2.0
// Whether text may contain control tokens. Every encode call names one: there is no default, so
// text typed by a user cannot become `<|im_start|>` by accident (prompt-injection guard).
#pragma once

namespace edgecloud::text {

enum class encode_mode {
  // Text the application wrote (a rendered chat template): control tokens such as <|im_start|>
  // and <|im_end|> are recognised, as Hugging Face tokenizers do by default.
  trusted,
  // Text from a user or the outside world: control tokens are never produced; "<|im_start|>"
  // stays plain text (Hugging Face's split_special_tokens=True / llama.cpp's parse_special=false).
  // Non-special added tokens (<think>, <tool_call>, ...) are still recognised, as in both; the
  // FIM and repository markers (<|fim_prefix|> ... <|file_sep|>), user-defined in Qwen's files
  // but forced to control type by llama.cpp, are not (both references of cases.jsonl agree).
  untrusted,
};

}  // namespace edgecloud::text
