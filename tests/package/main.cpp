// SPDX-License-Identifier: Apache-2.0
// Built against the install tree by CTest (package_consumer) with no extra compiler flags: the
// umbrella header must compile on its own, the version must match, and the run-time kernel
// dispatch must work in an installed consumer (the per-ISA units are INTERFACE sources there).
#include <edgecloud/edgecloud.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  std::printf("edgecloud %s, kernels: %s\n", edgecloud::version_string,
              edgecloud::kernels::active_isa());
  if (edgecloud::version_major != EDGECLOUD_VERSION_MAJOR) return 1;
  // The dispatched kernel must agree with the scalar reference (n = 67: vector body + tail).
  const size_t n = 67;
  std::vector<float> x(n), w(n), y(n), y_ref(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f;
    w[i] = 1.0f + 0.01f * static_cast<float>(i % 7);
  }
  edgecloud::kernels::rmsnorm(x.data(), w.data(), y.data(), n, 1e-6f);
  edgecloud::kernels::reference::rmsnorm(x.data(), w.data(), y_ref.data(), n, 1e-6f);
  for (size_t i = 0; i < n; ++i)
    if (std::fabs(y[i] - y_ref[i]) > 1e-5f * (1.0f + std::fabs(y_ref[i]))) {
      std::printf("rmsnorm mismatch at %zu: %g vs %g\n", i, y[i], y_ref[i]);
      return 1;
    }
  return 0;
}
