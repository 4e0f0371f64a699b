// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for everything the transport reads from a peer or a user: SSE bytes split at
// an arbitrary point into the parser and the stream accumulator, completion and request JSON,
// error bodies, Retry-After values, fault specs and base URLs. Must never crash, hang or read
// out of bounds; errors are fine.
#include <edgecloud/transport/fault_injection.hpp>
#include <edgecloud/transport/json.hpp>
#include <edgecloud/transport/retry.hpp>
#include <edgecloud/transport/sse.hpp>
#include <edgecloud/transport/url.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace et = edgecloud::transport;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % size;
  const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = std::min(split, all.size());

  et::sse_parser parser(4096);
  et::stream_accumulator acc;
  et::chat_response out;
  std::string content, reasoning;
  int touched = -1;
  auto on_event = [&](const et::sse_event& e) {
    if (e.data == "[DONE]") return false;
    return acc.apply(e.data, out, content, reasoning, touched).empty();
  };
  if (parser.feed(all.substr(0, cut), on_event)) parser.feed(all.substr(cut), on_event);
  (void)parser.has_partial_event();

  const auto json = nlohmann::json::parse(all, nullptr, false);
  if (!json.is_discarded()) {
    et::chat_response c;
    (void)et::completion_from_json(json, c);
    et::chat_request r;
    if (et::request_from_json(json, r).empty())
      (void)et::request_to_json(r, "m", et::findings_placement::body_field, true)
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    (void)et::findings_from_json(json);
  }
  (void)et::error_message_from_body(all);
  (void)et::parse_retry_after(all.substr(0, cut), all.substr(cut));
  try {
    (void)et::parse_fault_spec(all);
  } catch (const edgecloud::config_error&) {
  }
  try {
    (void)et::parse_base_url(all);
  } catch (const edgecloud::config_error&) {
  }
  return 0;
}
