// SPDX-License-Identifier: Apache-2.0
// Small statistics shared by telemetry, evaluation and calibration, so every percentile the SDK
// reports means the same thing: the linear-interpolation quantile (Hyndman & Fan type 7, the
// default of numpy.quantile, which RouteLLM's threshold calibration uses):
//   h = (n - 1) q,  Q(q) = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]),
// over the sorted sample x[0..n). Empty input gives NaN.
#pragma once

#include <algorithm>
#include <cmath>
#include <edgecloud/error.hpp>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::routing {

// q in [0, 1]; `sorted` ascending.
inline double quantile_sorted(std::span<const double> sorted, double q) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (!(q >= 0.0 && q <= 1.0))
    throw config_error("quantile: q must be in [0, 1], got " + std::to_string(q));
  double h = (static_cast<double>(sorted.size()) - 1.0) * q;
  size_t lo = static_cast<size_t>(std::floor(h));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

inline double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return quantile_sorted(values, q);
}

// p in [0, 100].
inline double percentile(std::vector<double> values, double p) {
  return quantile(std::move(values), p / 100.0);
}

}  // namespace edgecloud::routing
