// SPDX-License-Identifier: Apache-2.0
// openai_server: an OpenAI-compatible HTTP server (cpp-httplib) in front of a generation
// callback — the local stand-in cloud behind `edgecloud serve`, and the real HTTP peer of the
// transport's tests.
//
//   POST /v1/chat/completions   non-streamed JSON or SSE (`data: {chunk}` ... `data: [DONE]`)
//   GET  /v1/models             the configured model names
//   GET  /health                {"status":"ok"}
//   GET  /lora-adapters         [{"id":0,"path":"...","scale":1.0}] (llama.cpp's server form)
//   POST /lora-adapters         [{"id":0,"scale":0.5}]: new server-wide scales (unnamed: 0)
//
// LoRA (llama.cpp's server semantics): the adapters the backend loaded are listed in
// config.lora_adapters. A chat request's "lora": [{"id": 0, "scale": 1.0}] sets the scales for
// that request (adapters it does not name: 0); without it the server-wide scales apply. Unknown
// ids and malformed entries are 400. The backend receives chat_request::lora resolved: every
// adapter with its effective scale.
//
// Loopback (127.0.0.1) by default; HTTPS when a certificate and key are given; a bearer API key
// when configured. The edge's findings are read from the `edgecloud` body field or the
// X-Edgecloud-Findings header and handed to the callback in chat_request::findings.
// Fault injection (transport/fault_injection.hpp) per server and per request header
// X-Edgecloud-Fault. Counters of what was served: stats().
//
// Ownership: the server owns the httplib server, its worker pool and its listening thread; the
// generation callback is copied in and must stay callable until stop() returns. stop() (also
// run by the destructor) wakes sleeping fault delays, stops accepting and joins every thread.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/transport/backend.hpp>
#include <edgecloud/transport/fault_injection.hpp>
#include <edgecloud/transport/json.hpp>
#include <edgecloud/transport/types.hpp>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace edgecloud::transport {

inline constexpr std::string_view fault_header = "X-Edgecloud-Fault";

struct openai_server_config {
  std::string host = "127.0.0.1";           // loopback unless the operator says otherwise
  int port = 0;                             // 0 = any free port (see port() after start())
  std::vector<std::string> models = {"edgecloud-echo"};
  std::string api_key;                      // when set, requests need "Authorization: Bearer <key>"
  fault_config faults;                      // server-wide faults (default: none)
  bool allow_fault_header = true;           // honour X-Edgecloud-Fault per request
  std::size_t worker_threads = 16;          // concurrent connections served
  int keep_alive_timeout_s = 2;
  std::size_t max_request_bytes = std::size_t(4) << 20;
  std::string tls_cert_file, tls_key_file;  // both set = HTTPS
  std::uint64_t fault_seed = 42;            // makes rate-based faults reproducible
  std::vector<lora_adapter_info> lora_adapters;  // ids 0..n-1, in order (the backend's)
  // What the backend can honour. Requests asking for more are refused with a 400 naming the
  // field (never silently served otherwise): temperature > 0 or top_p < 1 without `sampling`
  // (the SDK's engine and the echo backend decode greedily), n > 1, a JSON response_format.
  bool sampling = false;
};

// Everything counts once per POST /v1/chat/completions that reached a handler:
//   chat_completions = completed + injected_errors + injected_breaks + rejected
//                      + client_disconnects + generator_errors
struct server_stats {
  std::uint64_t requests = 0;           // every HTTP request, any path
  std::uint64_t chat_completions = 0;
  std::uint64_t streamed = 0;           // chat completions asked to stream
  std::uint64_t completed = 0;          // answered in full
  std::uint64_t injected_errors = 0;    // answered with an injected HTTP error
  std::uint64_t injected_breaks = 0;    // bodies broken or oversized on purpose
  std::uint64_t rejected = 0;           // 400 / 401 answers
  std::uint64_t client_disconnects = 0; // the client went away mid-answer
  std::uint64_t generator_errors = 0;   // the callback threw
};

class openai_server {
 public:
  openai_server(openai_server_config config, generate_function generate)
      : config_(std::move(config)), generate_(std::move(generate)), rng_(config_.fault_seed),
        faults_(config_.faults) {
    if (!generate_) throw config_error("openai_server needs a generation callback");
    if (config_.models.empty()) throw config_error("openai_server needs at least one model name");
  }
  ~openai_server() { stop(); }
  openai_server(const openai_server&) = delete;
  openai_server& operator=(const openai_server&) = delete;

  // Binds and starts serving on a background thread; returns the port. Throws transport_error
  // when the address cannot be bound, config_error for unusable TLS files.
  int start();
  // Stops accepting, wakes injected delays, joins all threads. Idempotent.
  void stop();
  // Blocks until stop() is called from another thread.
  void wait() {
    std::unique_lock lock(state_mutex_);
    state_cv_.wait(lock, [&] { return stopping_; });
  }

  int port() const { return port_; }
  std::string base_url() const {
    const bool tls = !config_.tls_cert_file.empty();
    return std::string(tls ? "https" : "http") + "://" + config_.host + ":" + std::to_string(port_) + "/v1";
  }
  server_stats stats() const {
    return {requests_.load(), chat_.load(), streamed_.load(), completed_.load(), errors_.load(),
            breaks_.load(), rejected_.load(), disconnects_.load(), generator_errors_.load()};
  }
  void set_faults(const fault_config& faults) {
    std::lock_guard lock(fault_mutex_);
    faults_ = faults;
  }
  fault_config faults() const {
    std::lock_guard lock(fault_mutex_);
    return faults_;
  }
  // The server-wide LoRA scales (GET /lora-adapters).
  std::vector<lora_adapter_info> lora_adapters() const {
    std::lock_guard lock(lora_mutex_);
    return config_.lora_adapters;
  }
  // A request's "lora" list (or POST /lora-adapters') as every adapter with its scale, those
  // not named at 0; an error message for an unknown id.
  std::string resolve_lora(const std::vector<lora_choice>& given,
                           std::vector<lora_choice>& out) const {
    std::lock_guard lock(lora_mutex_);
    out.clear();
    for (const auto& a : config_.lora_adapters) out.push_back({a.id, 0.0});
    for (const auto& g : given) {
      if (g.id < 0 || g.id >= static_cast<std::int64_t>(out.size()))
        return "unknown LoRA adapter id " + std::to_string(g.id) + " (the server has " +
               std::to_string(out.size()) + "; GET /lora-adapters lists them)";
      out[static_cast<std::size_t>(g.id)].scale = g.scale;
    }
    return {};
  }
  // The next `count` chat requests are answered with `status` (and Retry-After when >= 0).
  void fail_next(int count, int status = 503, int retry_after_s = -1) {
    std::lock_guard lock(fault_mutex_);
    fail_next_ = count;
    fail_next_status_ = status;
    fail_next_retry_after_ = retry_after_s;
  }

 private:
  struct stream_job;
  void handle_chat(const httplib::Request& req, httplib::Response& res);
  void answer_plain(const std::shared_ptr<stream_job>& job, httplib::Response& res);
  void answer_stream(const std::shared_ptr<stream_job>& job, httplib::Response& res);
  void answer_huge(const std::shared_ptr<stream_job>& job, httplib::Response& res);
  bool authorized(const httplib::Request& req) const {
    return config_.api_key.empty() ||
           req.get_header_value("Authorization") == "Bearer " + config_.api_key;
  }
  // Sleeps unless the server is stopping; returns false when it is.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(state_mutex_);
    if (d.count() > 0) state_cv_.wait_for(lock, d, [&] { return stopping_; });
    return !stopping_;
  }
  bool chance(double rate) {
    if (rate <= 0) return false;
    if (rate >= 1) return true;
    std::lock_guard lock(rng_mutex_);
    return std::uniform_real_distribution<double>(0, 1)(rng_) < rate;
  }
  static void send_error(httplib::Response& res, int status, const std::string& message,
                         const std::string& type, const std::string& param = {}) {
    res.status = status;
    res.set_content(error_to_json(message, type, param).dump(), "application/json");
  }

  openai_server_config config_;
  generate_function generate_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::atomic<bool> listener_done_{false};
  int port_ = 0;
  std::mutex stop_mutex_;
  mutable std::mutex state_mutex_;
  std::condition_variable state_cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;
  mutable std::mutex lora_mutex_;  // guards config_.lora_adapters' scales
  mutable std::mutex fault_mutex_;
  fault_config faults_;
  int fail_next_ = 0, fail_next_status_ = 503, fail_next_retry_after_ = -1;
  std::atomic<std::uint64_t> next_id_{0};
  std::atomic<std::uint64_t> requests_{0}, chat_{0}, streamed_{0}, completed_{0}, errors_{0},
      breaks_{0}, rejected_{0}, disconnects_{0}, generator_errors_{0};
};

}  // namespace edgecloud::transport

#include <edgecloud/transport/detail/openai_server_impl.hpp>
