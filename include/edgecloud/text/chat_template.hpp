// SPDX-License-Identifier: Apache-2.0
// Chat prompts rendered exactly as the official Qwen3 Jinja template does under Hugging Face's
// apply_chat_template (trim_blocks, lstrip_blocks, `tojson` = json.dumps(ensure_ascii=False):
// keys in the order given, ", " and ": " separators, non-ASCII unescaped), without a Jinja
// engine: render_qwen3() below follows the template statement by statement.
//
// Supported, as the template does it: system prompt (first message), user, assistant, tool
// messages; tool definitions (`tools`, rendered with tojson in a system block); assistant
// tool calls (OpenAI {"type":"function","function":{...}} or bare {"name","arguments"};
// arguments as a JSON object -> tojson, as a string -> verbatim); consecutive tool responses
// grouped into one user turn; <think> history: reasoning_content, or "<think>...</think>" inside
// an assistant content, is kept only for assistant turns after the last real user query;
// add_generation_prompt; enable_thinking=false (empty think block).
// Not supported, text_error: non-string content (multimodal lists), roles other than system/
// user/assistant/tool, an empty conversation, any template other than Qwen3's.
// Extension: content null or missing is rendered as "" (Jinja would fail on None).
//
// A rendered prompt remembers which byte ranges the template itself wrote: encode_chat() lets
// control tokens come only from those, so "<|im_start|>" typed inside a message stays text,
// while the ids are otherwise exactly those of the whole string (as HF's tokenize=True).
// Plain values; nothing is owned beyond the returned strings.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/text/qwen3_chat_template.hpp>
#include <edgecloud/text/tokenizer.hpp>

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::text {

using ordered_json = nlohmann::ordered_json;

struct chat_options {
  bool add_generation_prompt = true;
  std::optional<bool> enable_thinking;  // nullopt: not passed to the template
};

struct chat_tool_call {
  std::string name;
  ordered_json arguments = ordered_json::object();  // an object, or a string written verbatim
};

struct chat_message {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
  std::optional<std::string> reasoning_content;  // assistant only
  std::vector<chat_tool_call> tool_calls;        // assistant only
};

struct chat_prompt {
  std::string text;                      // byte-identical to the Jinja rendering
  std::vector<byte_range> template_ranges;  // bytes written by the template itself (trusted)
};

// Python's json.dumps(value, ensure_ascii=False): the `tojson` of HF chat templates.
inline std::string python_json_dumps(const ordered_json& v) {
  using t = ordered_json::value_t;
  switch (v.type()) {
    case t::object: {
      std::string s = "{";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) s += ", ";
        first = false;
        s += ordered_json(it.key()).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
        s += ": ";
        s += python_json_dumps(it.value());
      }
      return s + "}";
    }
    case t::array: {
      std::string s = "[";
      for (size_t k = 0; k < v.size(); ++k) {
        if (k) s += ", ";
        s += python_json_dumps(v[k]);
      }
      return s + "]";
    }
    default:  // strings (escapes as Python), numbers (shortest round trip), true/false/null
      return v.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  }
}

// Messages in the OpenAI / Hugging Face JSON form from the typed form.
inline ordered_json to_json(std::span<const chat_message> messages) {
  ordered_json out = ordered_json::array();
  for (const auto& m : messages) {
    ordered_json j = {{"role", m.role}, {"content", m.content}};
    if (m.reasoning_content) j["reasoning_content"] = *m.reasoning_content;
    if (!m.tool_calls.empty()) {
      ordered_json calls = ordered_json::array();
      for (const auto& c : m.tool_calls)
        calls.push_back({{"type", "function"},
                         {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
      j["tool_calls"] = std::move(calls);
    }
    out.push_back(std::move(j));
  }
  return out;
}

namespace detail {

inline std::string_view lstrip_newlines(std::string_view s) {
  while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  return s;
}
inline std::string_view rstrip_newlines(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}
// Python s.split(sep)[-1] and s.split(sep)[0].
inline std::string_view after_last(std::string_view s, std::string_view sep) {
  const size_t p = s.rfind(sep);
  return p == std::string_view::npos ? s : s.substr(p + sep.size());
}
inline std::string_view before_first(std::string_view s, std::string_view sep) {
  return s.substr(0, s.find(sep));
}

class prompt_writer {
 public:
  void trusted(std::string_view s) {
    if (s.empty()) return;
    if (!p_.template_ranges.empty() && p_.template_ranges.back().end == p_.text.size())
      p_.template_ranges.back().end += s.size();
    else
      p_.template_ranges.push_back({p_.text.size(), p_.text.size() + s.size()});
    p_.text += s;
  }
  void data(std::string_view s) { p_.text += s; }
  chat_prompt take() { return std::move(p_); }

 private:
  chat_prompt p_;
};

inline std::string string_field(const ordered_json& obj, const char* key, const char* what) {
  if (!obj.contains(key) || obj[key].is_null()) return {};
  if (!obj[key].is_string())
    throw text_error(std::string("chat template: ") + what + " \"" + key +
                     "\" must be a string (multimodal content is not supported)");
  return obj[key].get<std::string>();
}

}  // namespace detail

// Renders `messages` (a JSON array of {"role", "content", ["reasoning_content"],
// ["tool_calls"]}) and `tools` (array or null) as the Qwen3 template does.
inline chat_prompt render_qwen3(const ordered_json& messages, const ordered_json& tools = nullptr,
                                const chat_options& options = {}) {
  using detail::string_field;
  if (!messages.is_array() || messages.empty())
    throw text_error("chat template: messages must be a non-empty array");
  if (!tools.is_null() && !tools.is_array())
    throw text_error("chat template: tools must be an array or null");
  struct msg {
    std::string role, content;
    std::optional<std::string> reasoning;
    const ordered_json* tool_calls = nullptr;
  };
  std::vector<msg> ms;
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw text_error("chat template: every message needs a string \"role\"");
    msg x{m["role"].get<std::string>(), string_field(m, "content", "message"), {}, nullptr};
    if (x.role != "system" && x.role != "user" && x.role != "assistant" && x.role != "tool")
      throw text_error("chat template: role \"" + x.role +
                       "\" is not supported (system, user, assistant, tool)");
    if (m.contains("reasoning_content") && !m["reasoning_content"].is_null())
      x.reasoning = string_field(m, "reasoning_content", "message");
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (!m["tool_calls"].is_array())
        throw text_error("chat template: tool_calls must be an array");
      x.tool_calls = &m["tool_calls"];
    }
    ms.push_back(std::move(x));
  }

  detail::prompt_writer w;
  const bool has_tools = tools.is_array() && !tools.empty();
  if (has_tools) {
    w.trusted("<|im_start|>system\n");
    if (ms[0].role == "system") {
      w.data(ms[0].content);
      w.trusted("\n\n");
    }
    w.trusted(
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
    for (const auto& tool : tools) {
      w.trusted("\n");
      w.data(python_json_dumps(tool));
    }
    w.trusted(
        "\n</tools>\n\nFor each function call, return a json object with function name and "
        "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n");
  } else if (ms[0].role == "system") {
    w.trusted("<|im_start|>system\n");
    w.data(ms[0].content);
    w.trusted("<|im_end|>\n");
  }

  // The last user message that is a real query (not a wrapped tool response): reasoning is
  // kept only for assistant turns after it.
  bool multi_step_tool = true;
  size_t last_query_index = ms.size() - 1;
  for (size_t k = ms.size(); k-- > 0;) {
    const std::string_view c = ms[k].content;
    const bool wrapped_tool_response =
        c.starts_with("<tool_response>") && c.ends_with("</tool_response>");
    if (multi_step_tool && ms[k].role == "user" && !wrapped_tool_response) {
      multi_step_tool = false;
      last_query_index = k;
    }
  }

  for (size_t k = 0; k < ms.size(); ++k) {
    const msg& m = ms[k];
    const bool first = k == 0, last = k + 1 == ms.size();
    if (m.role == "user" || (m.role == "system" && !first)) {
      w.trusted("<|im_start|>" + m.role + "\n");
      w.data(m.content);
      w.trusted("<|im_end|>\n");
    } else if (m.role == "assistant") {
      std::string_view content = m.content;
      std::string_view reasoning;
      if (m.reasoning) {
        reasoning = *m.reasoning;
      } else if (content.find("</think>") != std::string_view::npos) {
        const std::string_view full = m.content;
        content = detail::lstrip_newlines(detail::after_last(full, "</think>"));
        reasoning = detail::lstrip_newlines(detail::after_last(
            detail::rstrip_newlines(detail::before_first(full, "</think>")), "<think>"));
      }
      if (k > last_query_index && (last || !reasoning.empty())) {
        w.trusted("<|im_start|>assistant\n<think>\n");
        w.data(detail::rstrip_newlines(detail::lstrip_newlines(reasoning)));
        w.trusted("\n</think>\n\n");
        w.data(detail::lstrip_newlines(content));
      } else {
        w.trusted("<|im_start|>assistant\n");
        w.data(content);
      }
      if (m.tool_calls) {
        bool first_call = true;
        for (const auto& call_json : *m.tool_calls) {
          if (!first_call || !content.empty()) w.trusted("\n");
          first_call = false;
          const ordered_json* call = &call_json;
          if (call->is_object() && call->contains("function") && !(*call)["function"].is_null())
            call = &(*call)["function"];
          if (!call->is_object())
            throw text_error("chat template: a tool call must be an object");
          w.trusted("<tool_call>\n{\"name\": \"");
          w.data(string_field(*call, "name", "tool call"));
          w.trusted("\", \"arguments\": ");
          if (call->contains("arguments") && (*call)["arguments"].is_string())
            w.data((*call)["arguments"].get<std::string>());
          else
            w.data(python_json_dumps(call->contains("arguments") ? (*call)["arguments"]
                                                                   : ordered_json()));
          w.trusted("}\n</tool_call>");
        }
      }
      w.trusted("<|im_end|>\n");
    } else if (m.role == "tool") {
      if (first || ms[k - 1].role != "tool") w.trusted("<|im_start|>user");
      w.trusted("\n<tool_response>\n");
      w.data(m.content);
      w.trusted("\n</tool_response>");
      if (last || ms[k + 1].role != "tool") w.trusted("<|im_end|>\n");
    }
    // A system message in first position was rendered above.
  }
  if (options.add_generation_prompt) {
    w.trusted("<|im_start|>assistant\n");
    if (options.enable_thinking && !*options.enable_thinking) w.trusted("<think>\n\n</think>\n\n");
  }
  return w.take();
}

inline chat_prompt render_qwen3(std::span<const chat_message> messages,
                                const ordered_json& tools = nullptr,
                                const chat_options& options = {}) {
  return render_qwen3(to_json(messages), tools, options);
}

// A chat template given as Jinja source (tokenizer_config.json, GGUF tokenizer.chat_template):
// accepted when it is the official Qwen3 template (or empty: Qwen3 is then assumed), since
// that is the one rendered natively; any other throws text_error naming the problem.
class chat_template {
 public:
  static chat_template qwen3() { return chat_template(); }
  static chat_template from_source(std::string_view jinja) {
    if (!jinja.empty() && jinja != qwen3_chat_template)
      throw text_error(
          "chat template: this model's template is not the official Qwen3 template, the only "
          "one rendered natively (no Jinja engine); use chat_template::qwen3() explicitly if the "
          "model follows Qwen3's ChatML format");
    return chat_template();
  }
  chat_prompt render(const ordered_json& messages, const ordered_json& tools = nullptr,
                     const chat_options& options = {}) const {
    return render_qwen3(messages, tools, options);
  }
  chat_prompt render(std::span<const chat_message> messages, const ordered_json& tools = nullptr,
                     const chat_options& options = {}) const {
    return render_qwen3(messages, tools, options);
  }

 private:
  chat_template() = default;
};

// The ids of a rendered prompt: control tokens only from the template's own text.
inline std::vector<int32_t> encode_chat(const tokenizer& tok, const chat_prompt& prompt) {
  std::vector<int32_t> ids;
  tok.encode_with_trusted_ranges(prompt.text, prompt.template_ranges, ids);
  return ids;
}

// The tool calls in a Qwen3 answer, the format the chat template asks for: blocks
// "<tool_call>\n{\"name\": ..., \"arguments\": {...}}\n</tool_call>" after the text. Returns the
// text before the first block (trailing whitespace dropped) and the calls, in order; when any
// block is not that (unclosed, not JSON, no string "name", "arguments" neither object nor
// string), no call is taken and `content` is the whole answer: a malformed call is shown, never
// half-executed.
struct parsed_tool_calls {
  std::string content;
  std::vector<chat_tool_call> calls;
};

inline parsed_tool_calls parse_tool_calls(std::string_view answer) {
  static constexpr std::string_view open = "<tool_call>", close = "</tool_call>";
  parsed_tool_calls out;
  const size_t first = answer.find(open);
  if (first == std::string_view::npos) {
    out.content = std::string(answer);
    return out;
  }
  size_t at = first;
  while (at != std::string_view::npos) {
    const size_t body = at + open.size();
    const size_t end = answer.find(close, body);
    if (end == std::string_view::npos) return {std::string(answer), {}};
    const auto j = ordered_json::parse(answer.substr(body, end - body), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string() ||
        j["name"].get<std::string>().empty())
      return {std::string(answer), {}};
    chat_tool_call call;
    call.name = j["name"].get<std::string>();
    if (auto a = j.find("arguments"); a != j.end()) {
      if (!a->is_object() && !a->is_string()) return {std::string(answer), {}};
      call.arguments = *a;
    }
    out.calls.push_back(std::move(call));
    at = answer.find_first_not_of(" \t\r\n", end + close.size());
    if (at == std::string_view::npos) break;
    if (answer.substr(at, open.size()) != open) return {std::string(answer), {}};  // text after
  }
  const std::string_view before = answer.substr(0, first);
  out.content = std::string(before.substr(0, before.find_last_not_of(" \t\r\n") + 1));  // npos + 1 = 0
  return out;
}

}  // namespace edgecloud::text
