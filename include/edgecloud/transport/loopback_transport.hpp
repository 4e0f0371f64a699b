// SPDX-License-Identifier: Apache-2.0
// loopback_transport: a CloudTransport that calls a generation callback in-process — no HTTP,
// no sockets. For unit tests of the router and the assistant, and for offline demos; the
// circuit is always closed. Streams through call_options::on_delta and honours cancellation
// and the deadline between pieces, like the HTTP transport would.
//
// Owns a copy of the callback; thread-safe if the callback is.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/transport/backend.hpp>
#include <edgecloud/transport/circuit_breaker.hpp>
#include <edgecloud/transport/concepts.hpp>
#include <edgecloud/transport/types.hpp>

#include <atomic>
#include <chrono>

namespace edgecloud::transport {

class loopback_transport {
 public:
  explicit loopback_transport(generate_function generate = echo_backend{},
                              std::chrono::milliseconds total_timeout = std::chrono::seconds(60))
      : generate_(std::move(generate)), total_timeout_(total_timeout) {
    if (!generate_) throw config_error("loopback_transport needs a generation callback");
  }

  chat_response complete(const chat_request& request, const call_options& options = {}) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto deadline = start + options.total_timeout.value_or(total_timeout_);
    calls_.fetch_add(1);
    chat_response out;
    out.attempts = 1;
    out.http_status = 200;
    out.model = request.model.empty() ? "loopback" : request.model;
    enum { running, cancelled, timed_out, stopped } state = running;
    auto elapsed_ms = [&] {
      return std::chrono::duration<double, std::milli>(clock::now() - start).count();
    };
    generation_result g;
    try {
      g = generate_(request, [&](std::string_view text) {
        if (options.cancel.stop_requested()) return state = cancelled, false;
        if (clock::now() >= deadline) return state = timed_out, false;
        if (out.timing.first_token_ms < 0) out.timing.first_token_ms = elapsed_ms();
        out.content.append(text);
        if (request.stream && options.on_delta && !options.on_delta(stream_delta{text, {}, nullptr}))
          return state = stopped, false;
        return true;
      });
    } catch (const std::exception& e) {
      out.status = call_status::http_error;
      out.http_status = 500;
      out.error = std::string("loopback generation failed: ") + e.what();
      out.timing.total_ms = elapsed_ms();
      return out;
    }
    out.timing.total_ms = elapsed_ms();
    if (state != running || options.cancel.stop_requested()) {
      out.status = state == timed_out ? call_status::timeout : call_status::cancelled;
      out.error = state == timed_out ? "loopback deadline passed" : "cancelled by the app";
      return out;
    }
    out.content = g.content;
    out.tool_calls = g.tool_calls;
    out.finish_reason = g.finish_reason;
    out.usage = g.usage;
    if (request.stream && options.on_delta)
      for (const auto& c : out.tool_calls) options.on_delta(stream_delta{{}, {}, &c});
    return out;
  }

  circuit_state circuit() const { return circuit_state::closed; }
  std::uint64_t calls() const { return calls_.load(); }

 private:
  generate_function generate_;
  std::chrono::milliseconds total_timeout_;
  std::atomic<std::uint64_t> calls_{0};
};

static_assert(CloudTransport<loopback_transport>);

}  // namespace edgecloud::transport
