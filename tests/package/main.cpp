// SPDX-License-Identifier: Apache-2.0
// Built against the install tree by CTest (package_consumer): the umbrella header must compile
// on its own and the version must match the one CMake reports.
#include <edgecloud/edgecloud.hpp>

#include <cstdio>

int main() {
  std::printf("edgecloud %s\n", edgecloud::version_string);
  return edgecloud::version_major == EDGECLOUD_VERSION_MAJOR ? 0 : 1;
}
