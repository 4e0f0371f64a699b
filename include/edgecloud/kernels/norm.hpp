// SPDX-License-Identifier: Apache-2.0
// RMSNorm (Zhang & Sennrich 2019): y = x / sqrt(mean(x^2) + eps) * w. y may alias x.
#pragma once

#include "edgecloud/kernels/dispatch.hpp"

namespace edgecloud::kernels {

inline void rmsnorm(const float* x, const float* w, float* y, size_t n, float eps) {
  active_table().rmsnorm(x, w, y, n, eps);
}

}  // namespace edgecloud::kernels
