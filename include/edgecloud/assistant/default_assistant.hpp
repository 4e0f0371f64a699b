// SPDX-License-Identifier: Apache-2.0
// The default assistant in one line: the SDK's own engine on the device (local_edge), the
// default routing policy and the OpenAI-compatible cloud transport.
//
//   auto a = edgecloud::make_assistant("qwen3-0.6b-q8_0.gguf", "http://127.0.0.1:8080/v1");
//   edgecloud::assistant_response r = a.ask("明天北京天气怎么样？");
//   // r.route, r.fallback, r.decision.reason, r.answer, r.latency_ms
//
// basic_assistant is neither copyable nor movable; make_assistant returns it as a prvalue, so
// `auto a = make_assistant(...)` constructs it in place (C++17 guaranteed copy elision).
#pragma once

#include <edgecloud/assistant.hpp>
#include <edgecloud/assistant/local_edge.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace edgecloud {

using default_assistant = basic_assistant<local_edge>;

struct assistant_options {
  std::string cloud_url;    // e.g. "http://127.0.0.1:8080/v1"; "" = offline (the edge answers all)
  std::string cloud_model;  // "" = the server's default model
  std::string api_key;      // "" = $EDGECLOUD_API_KEY when set
  local_edge_config edge{};
  routing::policy_config policy{};
  assistant_config assistant{};
  transport::openai_transport_config transport{};  // base_url/model/api_key are filled from above
};

inline default_assistant make_assistant(const std::filesystem::path& model, assistant_options options) {
  transport::openai_transport_config tc = options.transport;
  // Offline: a placeholder address that is never called (the assistant is marked offline).
  tc.base_url = options.cloud_url.empty() ? "http://127.0.0.1:9/v1" : options.cloud_url;
  tc.model = options.cloud_model;
  tc.api_key = options.api_key;
  if (tc.api_key.empty())
    if (const char* k = std::getenv("EDGECLOUD_API_KEY")) tc.api_key = k;
  if (options.cloud_url.empty()) options.assistant.start_online = false;
  return default_assistant(local_edge(model, std::move(options.edge)), tc, std::move(options.policy),
                           std::move(options.assistant));
}

inline default_assistant make_assistant(const std::filesystem::path& model, std::string cloud_url = {}) {
  assistant_options o;
  o.cloud_url = std::move(cloud_url);
  return make_assistant(model, std::move(o));
}

}  // namespace edgecloud
