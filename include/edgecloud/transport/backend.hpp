// SPDX-License-Identifier: Apache-2.0
// What stands behind an OpenAI-compatible endpoint: a generation callback. openai_server and
// loopback_transport call one; `edgecloud serve` plugs the SDK's own engine in, tests and demos
// use echo_backend, a deterministic stand-in that needs no model.
//
// Contract of a generate_function: called with the parsed request; calls `on_delta(text)` for
// each piece of the answer in order (may be never, for a tool call); stops early when on_delta
// returns false (the client went away or cancelled); returns the whole completion. May be
// called from many threads at once (one per HTTP request): serialise inside if the engine
// needs it.
#pragma once

#include <edgecloud/transport/types.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace edgecloud::transport {

struct generation_result {
  std::string content;
  std::vector<tool_call> tool_calls;
  std::string finish_reason = "stop";  // "stop", "length", "tool_calls"
  token_usage usage;
};

using delta_sink = std::function<bool(std::string_view text)>;
using generate_function = std::function<generation_result(const chat_request&, const delta_sink&)>;

struct echo_backend_config {
  std::string prefix = "echo: ";
  std::chrono::milliseconds per_piece_delay{0};  // simulated decode time per piece
};

// Deterministic stand-in generator:
//  - answers prefix + the last user message, in word pieces ("echo: ", "hello ", "world");
//  - honours max_tokens (one piece = one token; finish_reason "length" when cut);
//  - when tools are offered and the last user message reads "call <tool> <json args>", or
//    tool_choice names a tool / is "required", returns a tool call instead (id "call_0",
//    arguments the given JSON, or {"query": <message>}), finish_reason "tool_calls";
//  - usage: prompt tokens = whitespace-separated words of all messages, completion = pieces.
class echo_backend {
 public:
  explicit echo_backend(echo_backend_config config = {}) : config_(std::move(config)) {}

  generation_result operator()(const chat_request& request, const delta_sink& on_delta) const {
    generation_result result;
    std::string user_text;
    for (const auto& m : request.messages) {
      result.usage.prompt_tokens += count_words(m.content);
      if (m.role == "user") user_text = m.content;
    }
    if (auto call = tool_call_for(request, user_text)) {
      result.tool_calls.push_back(std::move(*call));
      result.finish_reason = "tool_calls";
      result.usage.completion_tokens = 1;
      return result;
    }
    const std::vector<std::string> pieces = split_pieces(config_.prefix + user_text);
    const std::size_t limit =
        request.max_tokens && *request.max_tokens >= 0 ? static_cast<std::size_t>(*request.max_tokens)
                                                       : pieces.size();
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (i >= limit) {
        result.finish_reason = "length";
        break;
      }
      if (config_.per_piece_delay.count() > 0) std::this_thread::sleep_for(config_.per_piece_delay);
      result.content += pieces[i];
      ++result.usage.completion_tokens;
      if (on_delta && !on_delta(pieces[i])) {
        result.finish_reason = "stop";
        break;
      }
    }
    return result;
  }

  // "a b  c" → {"a ", "b  ", "c"}: every piece keeps its trailing whitespace, so the pieces
  // concatenate back to the input exactly.
  static std::vector<std::string> split_pieces(const std::string& text) {
    std::vector<std::string> pieces;
    std::string cur;
    bool in_space = false;
    for (char c : text) {
      const bool space = c == ' ' || c == '\n' || c == '\t';
      if (!space && in_space) {
        pieces.push_back(std::move(cur));
        cur.clear();
      }
      in_space = space;
      cur += c;
    }
    if (!cur.empty()) pieces.push_back(std::move(cur));
    return pieces;
  }

  static std::int64_t count_words(const std::string& text) {
    std::int64_t n = 0;
    bool in_word = false;
    for (char c : text) {
      const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
      if (!space && !in_word) ++n;
      in_word = !space;
    }
    return n;
  }

 private:
  static std::optional<tool_call> tool_call_for(const chat_request& request,
                                                const std::string& user_text) {
    if (request.tools.empty() || request.tool_choice == "none") return std::nullopt;
    if (user_text.rfind("call ", 0) == 0) {
      const std::string rest = user_text.substr(5);
      const auto space = rest.find(' ');
      const std::string name = rest.substr(0, space);
      for (const auto& t : request.tools)
        if (t.name == name)
          return tool_call{"call_0", name, space == std::string::npos ? "{}" : rest.substr(space + 1)};
    }
    const tool_definition* chosen = nullptr;
    if (request.tool_choice == "required") chosen = &request.tools.front();
    for (const auto& t : request.tools)
      if (t.name == request.tool_choice) chosen = &t;
    if (!chosen) return std::nullopt;
    nlohmann::json args = {{"query", user_text}};
    return tool_call{"call_0", chosen->name, args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  }

  echo_backend_config config_;
};

}  // namespace edgecloud::transport
