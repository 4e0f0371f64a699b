// SPDX-License-Identifier: Apache-2.0
// Plain aggregate request/response types of the transport layer, shared by every
// CloudTransport, the OpenAI-compatible server and the stand-in backends. They own their data
// (strings, vectors, JSON values by value); nothing here points into a socket buffer.
//
// The wire mapping (OpenAI Chat Completions JSON) lives in one place: transport/json.hpp.
//
// The edge's findings travel in a documented extension field (see docs/transport.md):
//   {"model": ..., "messages": [...], "edgecloud": {"intent": "weather", "confidence": 0.42,
//    "rewritten_query": "...", "retrieval_hint": "...", "task": "...", "route_reason": "..."}}
// OpenAI-compatible servers that do not know the field ignore it (vLLM logs a warning); for
// servers that reject unknown fields, `findings_placement::header` sends the same object as the
// `X-Edgecloud-Findings` header instead.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::transport {

// A function call requested by the model (OpenAI `tool_calls[i]`). `arguments` is the JSON text
// exactly as the model produced it: it may be invalid JSON, the caller validates.
struct tool_call {
  std::string id;
  std::string name;
  std::string arguments;
  friend bool operator==(const tool_call&, const tool_call&) = default;
};

// One chat message. role is "system", "user", "assistant" or "tool". Assistant messages may carry
// tool_calls (content may then be empty); tool messages answer one call by tool_call_id.
struct message {
  std::string role;
  std::string content;
  std::vector<tool_call> tool_calls;
  std::string tool_call_id;
  std::string name;  // optional participant / tool name
  friend bool operator==(const message&, const message&) = default;
};

// A tool offered to the model, in the OpenAI function schema: `parameters` is a JSON Schema
// object ({"type": "object", "properties": {...}, "required": [...]}).
struct tool_definition {
  std::string name;
  std::string description;
  nlohmann::json parameters = nlohmann::json::object();
};

// What the edge found out before deciding to ask the cloud. Every field is optional; an empty
// record is not sent at all.
struct edge_findings {
  std::string intent;               // intent label from the edge classifier
  std::optional<double> confidence; // its confidence in [0, 1]
  std::string rewritten_query;      // the edge's rewrite of the user's last turn
  std::string retrieval_hint;       // e.g. a search query or a document collection to consult
  std::string task;                 // task type as the router saw it ("open_dialogue", ...)
  std::string route_reason;         // the routing rule that sent this request to the cloud
  bool empty() const {
    return intent.empty() && !confidence && rewritten_query.empty() && retrieval_hint.empty() &&
           task.empty() && route_reason.empty();
  }
};

// LoRA adapters as llama.cpp's server names them: by the index of the adapter loaded at start.
// The transport only carries these numbers; what an id means is the backend's business.
struct lora_choice {
  std::int64_t id = 0;
  double scale = 1.0;
};
// What GET /lora-adapters lists: [{"id":0,"path":"...","scale":1.0}].
struct lora_adapter_info {
  std::int64_t id = 0;
  std::string path;
  double scale = 1.0;  // the server-wide scale (requests without "lora" use it)
};

// One Chat Completions request. Empty `model` means the transport's configured default.
struct chat_request {
  std::string model;
  std::vector<message> messages;
  std::vector<tool_definition> tools;
  std::string tool_choice;             // "", "auto", "none", "required" or a function name
  std::optional<int> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::vector<std::string> stop;
  std::optional<std::int64_t> seed;
  int n = 1;                           // choices asked for (servers here answer 1 and refuse more)
  std::string response_format;         // "", "text", "json_object" or "json_schema" (its type)
  bool stream = false;                 // SSE streaming when true
  edge_findings findings;              // sent in the "edgecloud" extension field
  // llama.cpp's per-request "lora": [{"id": 0, "scale": 1.0}]. Unset: the server's own scales.
  // A server resolves it before the backend sees it: then it lists every loaded adapter with
  // its effective scale (those the request did not name at 0, as llama.cpp's server does).
  std::optional<std::vector<lora_choice>> lora;
  // Extra top-level fields merged into the body verbatim, for server-specific options such as
  // vLLM's {"chat_template_kwargs": {"enable_thinking": false}} for Qwen3.
  nlohmann::json extra = nlohmann::json::object();
};

struct token_usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total() const { return prompt_tokens + completion_tokens; }
};

// Wall-clock figures of one call, all in milliseconds from the start of the call.
struct call_timing {
  double total_ms = 0;        // start of the call to its answer (success or failure)
  double first_byte_ms = -1;  // response headers of the successful attempt; -1 when none came
  double first_token_ms = -1; // first content/tool delta (streaming); -1 when none came
  double backoff_ms = 0;      // time slept between attempts
};

// How a call ended. Anything other than `ok` carries a message in chat_response::error.
enum class call_status {
  ok,
  http_error,         // a non-2xx answer that was not (or no longer) retried
  connection_error,   // connect/read/write failure, early close, TLS failure
  timeout,            // the total deadline or the first-byte timeout passed
  cancelled,          // the app's stop token was triggered
  circuit_open,       // refused without network because the breaker is open
  protocol_error,     // malformed JSON, broken or interleaved SSE, missing [DONE]
  body_too_large,     // the response exceeded the configured cap
};

inline const char* to_string(call_status s) {
  switch (s) {
    case call_status::ok: return "ok";
    case call_status::http_error: return "http_error";
    case call_status::connection_error: return "connection_error";
    case call_status::timeout: return "timeout";
    case call_status::cancelled: return "cancelled";
    case call_status::circuit_open: return "circuit_open";
    case call_status::protocol_error: return "protocol_error";
    case call_status::body_too_large: return "body_too_large";
  }
  return "unknown";
}

// The answer of one call: either status == ok with the completion, or a failure with `error`
// saying what went wrong ("HTTP 503 from http://host/v1/chat/completions after 3 attempts:
// ..."). Partial content received before a stream broke is kept in `content` for diagnosis;
// callers must not present it as an answer when !ok().
struct chat_response {
  call_status status = call_status::ok;
  std::string error;
  int http_status = 0;       // last HTTP status seen, 0 when none
  std::string id;            // server's completion id
  std::string model;         // model name the server reported
  std::string content;
  std::string reasoning_content;  // vLLM's reasoning parser output, when present
  std::vector<tool_call> tool_calls;
  std::string finish_reason; // "stop", "length", "tool_calls", ...
  token_usage usage;
  call_timing timing;
  int attempts = 0;          // HTTP attempts made (0 when refused by the breaker)
  bool ok() const { return status == call_status::ok; }
};

// Streaming callback: called once per content delta, in order, on the calling thread. Return
// false to stop the stream (the call then ends as `cancelled`).
struct stream_delta {
  std::string_view content;             // text appended to the answer (may be empty)
  std::string_view reasoning_content;   // reasoning text appended (vLLM), may be empty
  const tool_call* tool_call_update = nullptr;  // the accumulated call this delta touched
};
using delta_callback = std::function<bool(const stream_delta&)>;

// Per-call options that are not part of the wire request.
struct call_options {
  std::stop_token cancel;          // the app triggers its std::stop_source from any thread
  delta_callback on_delta;         // streaming only; may be empty
  std::optional<std::chrono::milliseconds> total_timeout;  // overrides the transport's
};

}  // namespace edgecloud::transport
