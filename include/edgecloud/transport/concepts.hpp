// SPDX-License-Identifier: Apache-2.0
// The plug-point concepts of the transport layer; re-exported by edgecloud/concepts.hpp.
//
// CloudTransport: what the assistant needs from "the cloud". One blocking call that always
// returns an answer (a completion, or a failure with a reason — network faults are results, not
// exceptions), safe to call from many threads at once, streaming through call_options::on_delta,
// cancellable through call_options::cancel; plus the circuit state, which the router reads to
// keep requests on the edge while the cloud is failing.
//
// Shipped models of it: openai_transport (HTTP, transport/openai_transport.hpp) and
// loopback_transport (in-process, transport/loopback_transport.hpp) for tests and offline demos.
#pragma once

#include <edgecloud/transport/circuit_breaker.hpp>
#include <edgecloud/transport/types.hpp>

#include <concepts>

namespace edgecloud::transport {

template <class T>
concept CloudTransport = requires(T& transport, const T& const_transport,
                                  const chat_request& request, const call_options& options) {
  { transport.complete(request, options) } -> std::same_as<chat_response>;
  { transport.complete(request) } -> std::same_as<chat_response>;
  { const_transport.circuit() } -> std::same_as<circuit_state>;
};

}  // namespace edgecloud::transport
