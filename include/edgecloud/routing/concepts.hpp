// SPDX-License-Identifier: Apache-2.0
// The plug-point concepts of the routing layer; re-exported by edgecloud/concepts.hpp.
//
// RoutingPolicy: decides, per request, where it is answered, from plain request features (task
// results, never engine types), and returns a `decision` record explaining why. The assistant
// calls `decide` before any cloud call and `settle` afterwards with what the call really cost
// (0 when it never happened), so policies that keep a budget can reconcile their estimate.
// Both may be called from many threads at once: a policy is thread-safe or it is not a policy.
#pragma once

#include <concepts>
#include <edgecloud/routing/types.hpp>

namespace edgecloud::routing {

template <class P>
concept RoutingPolicy = requires(P& policy, const request_features& features, const decision& d,
                                 double actual_cost) {
  { policy.decide(features) } -> std::same_as<decision>;
  { policy.settle(d, actual_cost) } -> std::same_as<void>;
};

}  // namespace edgecloud::routing
