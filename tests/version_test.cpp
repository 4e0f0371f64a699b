// SPDX-License-Identifier: Apache-2.0
// The umbrella header compiles alone and the version in version.hpp is what CMake read: the
// three numbers, the string, and PROJECT_VERSION (parsed by CMakeLists.txt from the same
// header, passed here as EDGECLOUD_CMAKE_VERSION) all agree.
#include <edgecloud/edgecloud.hpp>
#include <gtest/gtest.h>

#include <string>

TEST(Version, StringMatchesNumbers) {
  const std::string expected = std::to_string(edgecloud::version_major) + "." +
                               std::to_string(edgecloud::version_minor) + "." +
                               std::to_string(edgecloud::version_patch);
  EXPECT_EQ(expected, edgecloud::version_string);
}

TEST(Version, IsWhatCMakeRead) {
  EXPECT_STREQ(edgecloud::version_string, EDGECLOUD_CMAKE_VERSION);
  const std::string macros = std::to_string(EDGECLOUD_VERSION_MAJOR) + "." +
                             std::to_string(EDGECLOUD_VERSION_MINOR) + "." +
                             std::to_string(EDGECLOUD_VERSION_PATCH);
  EXPECT_EQ(macros, EDGECLOUD_CMAKE_VERSION);
}
