// SPDX-License-Identifier: Apache-2.0
// The umbrella header compiles alone and the version in version.hpp is what CMake read.
#include <edgecloud/edgecloud.hpp>
#include <gtest/gtest.h>

#include <string>

TEST(Version, StringMatchesNumbers) {
  const std::string expected = std::to_string(edgecloud::version_major) + "." +
                               std::to_string(edgecloud::version_minor) + "." +
                               std::to_string(edgecloud::version_patch);
  EXPECT_EQ(expected, edgecloud::version_string);
}
