// SPDX-License-Identifier: Apache-2.0
// The one source of the version: CMake parses these three lines.
#pragma once

#define EDGECLOUD_VERSION_MAJOR 0
#define EDGECLOUD_VERSION_MINOR 1
#define EDGECLOUD_VERSION_PATCH 0

namespace edgecloud {
inline constexpr int version_major = EDGECLOUD_VERSION_MAJOR;
inline constexpr int version_minor = EDGECLOUD_VERSION_MINOR;
inline constexpr int version_patch = EDGECLOUD_VERSION_PATCH;
inline constexpr const char* version_string = "0.1.0";
}  // namespace edgecloud
