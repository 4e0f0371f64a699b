// SPDX-License-Identifier: Apache-2.0
// failover_transport: several cloud endpoints (two vLLM or SGLang deployments in different
// regions, say) behind one CloudTransport, with health-aware failover between them before the
// assistant falls back to the edge.
//
//   transport::failover_transport cloud(transport::failover_config{
//       .endpoints = {primary_config, secondary_config}});   // openai_transport_configs
//   basic_assistant<local_edge, routing::confidence_policy, transport::failover_transport> a(...);
//
// Each endpoint is a whole inner transport (for openai_transport: its own connection pool, DNS
// cache, retries and circuit breaker). One call tries them in order of health:
//   1. endpoints whose circuit is closed, in the configured order (the first is the primary);
//   2. then those half-open (the breaker lets a probe through);
//   3. an endpoint whose circuit is open is skipped without network.
// The next endpoint is tried when one fails in a way that says the endpoint is unwell:
// connection errors, timeouts of that endpoint, 5xx / 408 / 429 answers, protocol errors, an
// open circuit. It is not tried when the failure is the request's or the app's (a 4xx that
// every endpoint would give, cancellation, the app's callback stopping the stream, an answer
// too large), nor once any text reached the app's stream callback: a second endpoint would
// start the answer again, and the app would see text twice (the assistant resets and falls
// back to the edge instead). All endpoints share the call's one deadline (call_options::
// total_timeout, else the first endpoint's timeouts.total): each gets what is left of it.
// circuit() is open only when every endpoint's circuit is open, so the router keeps requests on
// the edge only when no endpoint can take them.
//
// Telemetry: stats() per endpoint (calls, ok, failures, failovers away from it, skipped while
// open, the circuit state), and to_json() for logs.
// Thread safety: as the inner transports (openai_transport: any number of threads at once);
// the counters are atomics. Ownership: owns its inner transports (stable addresses).
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/transport/concepts.hpp>
#include <edgecloud/transport/openai_transport.hpp>
#include <edgecloud/transport/types.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace edgecloud::transport {

template <class Inner = openai_transport>
struct basic_failover_config {
  std::vector<typename Inner::config_type> endpoints;  // in order of preference; at least one
};
using failover_config = basic_failover_config<openai_transport>;

struct endpoint_stats {
  std::string name;  // the endpoint's base URL (or its index when the inner type has none)
  std::uint64_t calls = 0, succeeded = 0, failed = 0;
  std::uint64_t failovers = 0;      // calls that moved on to the next endpoint after this one
  std::uint64_t skipped_open = 0;   // calls that skipped it because its circuit was open
  circuit_state circuit = circuit_state::closed;
};

// Whether a failure says the endpoint is unwell (another one may answer) rather than that the
// request or the app ended the call.
inline bool worth_another_endpoint(const chat_response& r) {
  switch (r.status) {
    case call_status::connection_error:
    case call_status::timeout:
    case call_status::protocol_error:
    case call_status::circuit_open:
      return true;
    case call_status::http_error:
      return r.http_status >= 500 || r.http_status == 408 || r.http_status == 429 ||
             r.http_status == 0;
    case call_status::ok:
    case call_status::cancelled:
    case call_status::body_too_large:
      return false;
  }
  return false;
}

template <class Inner = openai_transport>
class basic_failover_transport {
 public:
  using config_type = basic_failover_config<Inner>;
  using clock = std::chrono::steady_clock;

  explicit basic_failover_transport(config_type config) {
    if (config.endpoints.empty()) throw config_error("failover_transport: no endpoints given");
    for (auto& c : config.endpoints) {
      endpoints_.push_back(std::make_unique<endpoint>(std::move(c)));
    }
  }

  basic_failover_transport(const basic_failover_transport&) = delete;
  basic_failover_transport& operator=(const basic_failover_transport&) = delete;

  chat_response complete(const chat_request& request, const call_options& options = {}) {
    const auto start = clock::now();
    const auto budget = options.total_timeout ? *options.total_timeout : default_total();
    const auto deadline = start + budget;

    bool delivered = false;
    call_options inner_options = options;
    if (options.on_delta)
      inner_options.on_delta = [&](const stream_delta& d) {
        delivered = delivered || !d.content.empty() || d.tool_call_update;
        return options.on_delta(d);
      };

    chat_response last;
    std::string tried;  // "url: error; url: error" for the final message
    bool any_called = false;
    for (endpoint* e : by_health()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) break;
      inner_options.total_timeout = left;
      any_called = true;
      e->calls.fetch_add(1);
      last = e->inner.complete(request, inner_options);
      if (last.ok()) {
        e->succeeded.fetch_add(1);
        return last;
      }
      e->failed.fetch_add(1);
      if (!tried.empty()) tried += "; ";
      tried += name_of(*e) + ": " + last.error;
      if (delivered || !worth_another_endpoint(last)) break;
      e->failovers.fetch_add(1);
    }
    if (!any_called) {
      chat_response refused;
      refused.status = call_status::circuit_open;
      refused.error = "every endpoint's circuit breaker is open (" +
                      std::to_string(endpoints_.size()) + " endpoints)";
      if (!tried.empty()) refused.error += ": " + tried;
      if (clock::now() >= deadline) {
        refused.status = call_status::timeout;
        refused.error = "deadline passed before any endpoint could be tried";
      }
      return refused;
    }
    if (endpoints_.size() > 1) last.error = tried;
    return last;
  }

  // Open only when no endpoint would take a call; half-open when the best one is probing.
  circuit_state circuit() const {
    bool any_half_open = false;
    for (const auto& e : endpoints_) {
      const circuit_state s = e->inner.circuit();
      if (s == circuit_state::closed) return circuit_state::closed;
      any_half_open = any_half_open || s == circuit_state::half_open;
    }
    return any_half_open ? circuit_state::half_open : circuit_state::open;
  }

  size_t size() const noexcept { return endpoints_.size(); }
  Inner& endpoint_transport(size_t i) { return endpoints_.at(i)->inner; }
  const Inner& endpoint_transport(size_t i) const { return endpoints_.at(i)->inner; }

  std::vector<endpoint_stats> stats() const {
    std::vector<endpoint_stats> out;
    for (const auto& e : endpoints_)
      out.push_back({name_of(*e), e->calls.load(), e->succeeded.load(), e->failed.load(),
                     e->failovers.load(), e->skipped_open.load(), e->inner.circuit()});
    return out;
  }

  nlohmann::json to_json() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : stats())
      list.push_back({{"endpoint", s.name},
                      {"calls", s.calls},
                      {"succeeded", s.succeeded},
                      {"failed", s.failed},
                      {"failovers", s.failovers},
                      {"skipped_open", s.skipped_open},
                      {"circuit", to_string(s.circuit)}});
    return {{"endpoints", list}};
  }

 private:
  struct endpoint {
    explicit endpoint(typename Inner::config_type c) : inner(std::move(c)) {}
    Inner inner;
    std::atomic<std::uint64_t> calls{0}, succeeded{0}, failed{0}, failovers{0}, skipped_open{0};
  };

  std::string name_of(const endpoint& e) const {
    if constexpr (requires { e.inner.config().base_url; })
      return e.inner.config().base_url;
    else
      for (size_t i = 0; i < endpoints_.size(); ++i)
        if (endpoints_[i].get() == &e) return "endpoint " + std::to_string(i);
    return "endpoint";
  }

  std::chrono::milliseconds default_total() const {
    if constexpr (requires { endpoints_.front()->inner.config().timeouts.total; })
      return endpoints_.front()->inner.config().timeouts.total;
    else
      return std::chrono::milliseconds(60000);
  }

  // The endpoints to try: closed circuits first in the configured order, then half-open; open
  // ones are left out (and counted as skipped). Each state is read once, so an endpoint whose
  // breaker changes meanwhile is listed at most once.
  std::vector<endpoint*> by_health() const {
    auto rank = [](circuit_state s) {
      return s == circuit_state::closed ? 0 : s == circuit_state::half_open ? 1 : 2;
    };
    std::vector<std::pair<int, endpoint*>> ranked;
    ranked.reserve(endpoints_.size());
    for (const auto& e : endpoints_) ranked.emplace_back(rank(e->inner.circuit()), e.get());
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<endpoint*> order;
    for (const auto& r : ranked) {
      if (r.first == 2)
        r.second->skipped_open.fetch_add(1);
      else
        order.push_back(r.second);
    }
    return order;
  }

  std::vector<std::unique_ptr<endpoint>> endpoints_;
};

using failover_transport = basic_failover_transport<>;
static_assert(CloudTransport<failover_transport>);

}  // namespace edgecloud::transport
