// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for everything the transport reads from a peer or a user: SSE bytes split at
// an arbitrary point into the parser and the stream accumulator, completion and request JSON,
// error bodies, Retry-After values, fault specs and base URLs. Must never crash, hang or read
// out of bounds; errors are fine. The results are checked (a broken one traps):
//  - SSE: the events from the bytes fed in two pieces equal those from one piece (the parser
//    may not depend on where TCP splits a stream), and so does what the accumulator built;
//  - a request read from JSON, written and read again, is the same request;
//  - an accepted base URL re-parses from its own origin + path to the same parts, with a port
//    in 1..65535 and scheme http/https; Retry-After is never negative; a fault spec that parses
//    has its rates in [0, 1].
// Seeds: tests/fuzz/corpus/transport/ (first byte = split point).
#include <edgecloud/transport/fault_injection.hpp>
#include <edgecloud/transport/json.hpp>
#include <edgecloud/transport/retry.hpp>
#include <edgecloud/transport/sse.hpp>
#include <edgecloud/transport/url.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace et = edgecloud::transport;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % size;
  const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = std::min(split, all.size());

  // The same bytes through two parsers: split at `cut`, and whole.
  struct run {
    et::sse_parser parser{4096};
    et::stream_accumulator acc;
    et::chat_response out;
    std::string content, reasoning, errors;
    int touched = -1;
    std::vector<std::tuple<std::string, std::string, std::string>> events;
    bool stopped = false;
    bool feed(std::string_view bytes) {
      return parser.feed(bytes, [&](const et::sse_event& e) {
        events.emplace_back(e.event, e.data, e.id);
        if (e.data == "[DONE]") return stopped = true, false;
        const auto problem = acc.apply(e.data, out, content, reasoning, touched);
        errors += problem;
        return problem.empty() || (stopped = true, false);
      });
    }
  };
  run halves, whole;
  if (halves.feed(all.substr(0, cut))) halves.feed(all.substr(cut));
  whole.feed(all);
  // Until a callback stops the parse, both runs saw the same events; a parse error may be
  // noticed in the first piece before later events, so compare only error-free, unstopped runs
  // in full and otherwise the common prefix.
  const size_t common = std::min(halves.events.size(), whole.events.size());
  for (size_t i = 0; i < common; ++i)
    if (halves.events[i] != whole.events[i]) __builtin_trap();
  if (!halves.stopped && !whole.stopped && halves.parser.error().empty() && whole.parser.error().empty()) {
    if (halves.events.size() != whole.events.size()) __builtin_trap();
    if (halves.content != whole.content || halves.reasoning != whole.reasoning) __builtin_trap();
    if (halves.parser.has_partial_event() != whole.parser.has_partial_event()) __builtin_trap();
  }

  const auto json = nlohmann::json::parse(all, nullptr, false);
  if (!json.is_discarded()) {
    et::chat_response c;
    (void)et::completion_from_json(json, c);
    et::chat_request r;
    if (et::request_from_json(json, r).empty()) {
      const auto written = et::request_to_json(r, "m", et::findings_placement::body_field, true);
      (void)written.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      et::chat_request back;
      if (!et::request_from_json(written, back).empty()) __builtin_trap();
      if (back.messages.size() != r.messages.size()) __builtin_trap();
      for (size_t i = 0; i < r.messages.size(); ++i)
        if (back.messages[i].role != r.messages[i].role ||
            back.messages[i].content != r.messages[i].content)
          __builtin_trap();
      if (back.model != (r.model.empty() ? "m" : r.model) || back.stream != r.stream ||
          back.max_tokens != r.max_tokens || back.stop != r.stop || back.tool_choice != r.tool_choice ||
          back.tools.size() != r.tools.size())
        __builtin_trap();
    }
    (void)et::findings_from_json(json);
  }
  (void)et::error_message_from_body(all);
  if (const auto wait = et::parse_retry_after(all.substr(0, cut), all.substr(cut));
      wait && wait->count() < 0)
    __builtin_trap();
  try {
    const auto f = et::parse_fault_spec(all);
    if (!(f.error_rate >= 0 && f.error_rate <= 1 && f.break_rate >= 0 && f.break_rate <= 1))
      __builtin_trap();
  } catch (const edgecloud::config_error&) {
  }
  std::optional<et::base_url> url;
  try {
    url = et::parse_base_url(all);
  } catch (const edgecloud::config_error&) {
  }
  if (url) {
    if ((url->scheme != "http" && url->scheme != "https") || url->port < 1 || url->port > 65535 ||
        url->host.empty() || (!url->path.empty() && url->path.back() == '/'))
      __builtin_trap();
    const auto again = et::parse_base_url(url->origin() + url->path);  // must not throw
    if (again.scheme != url->scheme || again.host != url->host || again.port != url->port ||
        again.path != url->path)
      __builtin_trap();
  }
  return 0;
}
