// SPDX-License-Identifier: Apache-2.0
// Everything of the routing layer (see ../shared/STYLE.md for what it may include).
#pragma once

#include <edgecloud/routing/budget.hpp>
#include <edgecloud/routing/calibration.hpp>
#include <edgecloud/routing/concepts.hpp>
#include <edgecloud/routing/confidence_policy.hpp>
#include <edgecloud/routing/evaluation.hpp>
#include <edgecloud/routing/json.hpp>
#include <edgecloud/routing/stats.hpp>
#include <edgecloud/routing/telemetry.hpp>
#include <edgecloud/routing/types.hpp>

namespace edgecloud::routing {
static_assert(RoutingPolicy<confidence_policy>);
}  // namespace edgecloud::routing
