// SPDX-License-Identifier: Apache-2.0
// openai_transport: the shipped CloudTransport, speaking the OpenAI-compatible Chat Completions
// API (vLLM, SGLang, llama.cpp's server, hosted endpoints) over cpp-httplib, http or https
// (OpenSSL; the peer's certificate is verified against the system store by default).
//
// One call = up to retry.max_attempts HTTP attempts inside one total deadline:
//   - each attempt gets a permit from the circuit breaker (open → refused without network);
//   - a watchdog thread per attempt enforces the connect / first-byte / idle timeouts, the total
//     deadline and the app's cancellation by shutting the socket down (httplib's documented
//     thread-safe way to abort a request), so a slow drip can never stretch a call past its
//     deadline; the body receivers also check the deadline on every chunk;
//   - 429, 408, 5xx, connection errors, early closes and timeouts of one attempt are retried
//     with exponential backoff and jitter, or after the server's Retry-After, never past the
//     deadline; a streamed answer that has already reached the app's callback is not retried
//     (the app would see text twice): it fails and keeps the partial text for diagnosis;
//   - response bodies and SSE events are capped (max_response_bytes).
// complete() never throws for network or protocol faults: the chat_response says what happened.
// complete_or_throw() turns a failure into edgecloud::transport_error.
//
// Thread safety: any number of threads may call complete() on one transport at once. Each call
// borrows a connection (httplib client) from a small pool and returns it only after a clean
// exchange; the breaker, the stats and the jitter generator are synchronised.
// Ownership: the transport owns its pooled clients; a call owns its request body and response.
// The transport must outlive every call made on it (join the calling threads before destroying
// it); the app's on_delta callback runs on the calling thread and must not call back into
// complete() on the same call.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/transport/circuit_breaker.hpp>
#include <edgecloud/transport/concepts.hpp>
#include <edgecloud/transport/detail/resolve.hpp>
#include <edgecloud/transport/json.hpp>
#include <edgecloud/transport/retry.hpp>
#include <edgecloud/transport/sse.hpp>
#include <edgecloud/transport/types.hpp>
#include <edgecloud/transport/url.hpp>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace edgecloud::transport {

struct transport_timeouts {
  std::chrono::milliseconds connect{5000};      // TCP connect + TLS handshake, per attempt
  std::chrono::milliseconds first_byte{30000};  // request sent → response headers, per attempt
  std::chrono::milliseconds idle{30000};        // longest silence inside a response body
  std::chrono::milliseconds total{60000};       // the whole call, retries and backoff included
};

struct tls_options {
  bool verify_peer = true;
  std::string ca_cert_file;  // PEM bundle; empty = the system's default store
  std::string ca_cert_dir;
};

struct openai_transport_config {
  std::string base_url = "http://127.0.0.1:8080/v1";
  std::string model;    // default model when a request names none
  std::string api_key;  // sent as "Authorization: Bearer <key>" when not empty
  transport_timeouts timeouts;
  retry_config retry;
  circuit_breaker_config breaker;
  tls_options tls;
  findings_placement findings = findings_placement::body_field;
  bool stream_usage = true;          // ask for usage in streams (stream_options.include_usage)
  bool require_done_marker = false;  // a stream with finish_reason but no [DONE] is accepted
  std::size_t max_response_bytes = std::size_t(8) << 20;
  std::size_t max_idle_connections = 8;
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  std::uint64_t jitter_seed = 0;                             // 0 = seeded from std::random_device
  // Host name resolution (skipped for IP literals). It runs on a helper thread and counts
  // against the connect timeout and the deadline: a hanging resolver cannot hold a call past
  // them. The answer is reused for dns_cache_ttl, or until connecting to it fails. `resolver`
  // replaces the system's getaddrinfo (tests, custom DNS): it returns a numeric address or
  // throws with the reason.
  std::chrono::milliseconds dns_cache_ttl{60000};
  std::function<std::string(const std::string& host)> resolver;
  // The circuit breaker's clock (open_duration is measured on it); empty = steady_clock. Tests
  // inject one to step through open -> half-open without sleeping.
  circuit_breaker::now_function breaker_clock;
};

// Counters since construction; read with stats().
struct transport_stats {
  std::uint64_t calls = 0, succeeded = 0, failed = 0, attempts = 0, retries = 0;
  std::uint64_t refused_by_breaker = 0, timeouts = 0, cancelled = 0;
};

class openai_transport {
 public:
  using config_type = openai_transport_config;
  using clock = std::chrono::steady_clock;

  explicit openai_transport(openai_transport_config config)
      : config_(std::move(config)),
        url_(parse_base_url(config_.base_url)),
        breaker_(config_.breaker, config_.breaker_clock),
        rng_(config_.jitter_seed ? config_.jitter_seed : std::random_device{}()) {
    if (config_.retry.max_attempts < 1) throw config_error("retry.max_attempts must be at least 1");
    if (config_.timeouts.total.count() <= 0) throw config_error("timeouts.total must be positive");
    if (config_.max_response_bytes < 1024) throw config_error("max_response_bytes must be >= 1024");
  }

  openai_transport(const openai_transport&) = delete;
  openai_transport& operator=(const openai_transport&) = delete;

  chat_response complete(const chat_request& request, const call_options& options = {});

  chat_response complete_or_throw(const chat_request& request, const call_options& options = {}) {
    chat_response r = complete(request, options);
    if (!r.ok()) throw transport_error(r.error);
    return r;
  }

  circuit_state circuit() const { return breaker_.state(); }
  circuit_breaker& breaker() { return breaker_; }
  const circuit_breaker& breaker() const { return breaker_; }
  const openai_transport_config& config() const { return config_; }
  const base_url& url() const { return url_; }
  std::string endpoint_url() const { return url_.origin() + url_.endpoint("/chat/completions"); }

  transport_stats stats() const {
    return {calls_.load(),   succeeded_.load(), failed_.load(),   attempts_.load(),
            retries_.load(), refused_.load(),   timeouts_.load(), cancelled_.load()};
  }

 private:
  // Why the watchdog or a receiver stopped an attempt.
  enum class abort_reason : int {
    none,
    deadline,
    first_byte,
    idle,
    cancelled,
    callback_stop,
    too_large,
    protocol
  };

  struct attempt_result {
    call_status status = call_status::ok;
    std::string error;
    bool retryable = false;
    bool reusable = false;            // the connection may go back to the pool
    bool server_health_known = true;  // false: cancelled / client-side, neutral for the breaker
    std::optional<std::chrono::milliseconds> retry_after;
  };

  detail::resolve_outcome resolve_host(clock::time_point limit, const std::stop_token& stop,
                                       std::string& address, std::string& error);
  void forget_resolved_address();
  std::unique_ptr<httplib::ClientImpl> acquire_client();
  void release_client(std::unique_ptr<httplib::ClientImpl> client, bool reusable);
  attempt_result run_attempt(httplib::ClientImpl& client, const std::string& body,
                             const httplib::Headers& headers, bool streaming,
                             const call_options& options, clock::time_point call_start,
                             clock::time_point deadline, chat_response& out, bool& delivered);
  double random_unit() {
    std::lock_guard lock(rng_mutex_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  static double ms_since(clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  }

  openai_transport_config config_;
  base_url url_;
  circuit_breaker breaker_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<httplib::ClientImpl>> idle_clients_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;
  const bool host_is_literal_ = detail::is_ip_literal(url_.host);
  // config_.resolver adapted, or getaddrinfo.
  const std::function<detail::resolved(const std::string&)> resolver_ =
      config_.resolver ? std::function<detail::resolved(const std::string&)>(
                             [custom = config_.resolver](const std::string& host) {
                               return detail::resolved{custom(host), ""};
                             })
                       : detail::resolve_with_getaddrinfo;
  std::mutex dns_mutex_;
  std::string dns_address_;
  clock::time_point dns_expires_{};
  std::atomic<std::uint64_t> calls_{0}, succeeded_{0}, failed_{0}, attempts_{0}, retries_{0},
      refused_{0}, timeouts_{0}, cancelled_{0};
};

}  // namespace edgecloud::transport

#include <edgecloud/transport/detail/openai_transport_impl.hpp>

namespace edgecloud::transport {
static_assert(CloudTransport<openai_transport>);
}  // namespace edgecloud::transport
