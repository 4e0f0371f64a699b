// SPDX-License-Identifier: Apache-2.0
// Locates ../shared/fixtures (beside the project root). A user's clone has no ../shared: tests
// that need it skip with a message (CTest reports the binary as skipped), unless the run is strict
// (EDGECLOUD_REQUIRE_FIXTURES=1 or CI=true, see common/skip_policy.hpp), where a missing fixture
// is a failure.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/skip_policy.hpp"

namespace edgecloud::testing {

inline std::filesystem::path fixtures_dir() {
  if (const char* env = std::getenv("EDGECLOUD_FIXTURES")) return env;
  return std::filesystem::path(EDGECLOUD_SOURCE_DIR) / ".." / "shared" / "fixtures";
}

inline bool fixtures_required() { return strict_run(); }

// Path of a fixture file relative to fixtures/, or empty when it is missing.
inline std::string fixture(const std::string& rel) {
  auto p = fixtures_dir() / rel;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

}  // namespace edgecloud::testing

// Use at the top of a test: binds `var` to the fixture path or skips/fails when it is absent.
#define EDGECLOUD_FIXTURE(var, rel)                                                   \
  const std::string var = ::edgecloud::testing::fixture(rel);                         \
  if (var.empty()) {                                                                  \
    if (::edgecloud::testing::fixtures_required()) FAIL() << "missing fixture " << rel; \
    GTEST_SKIP() << "fixture " << rel << " not found (../shared/fixtures)";            \
  }
