# SPDX-License-Identifier: Apache-2.0
# The one place that finds edgecloud's dependencies. Used by the build tree and, installed, by
# edgecloudConfig.cmake, so a consumer's find_package(edgecloud) resolves exactly the same set.
# All come from Debian bookworm packages (see .ci/run for the apt-get line).
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(xtl)  # Debian's xsimd target links xtl by name
find_dependency(xsimd 8.1)
find_dependency(nlohmann_json 3.10)
find_dependency(fmt 9)
find_dependency(Eigen3 3.4 NO_MODULE)
find_dependency(OpenSSL)
find_dependency(PkgConfig)
# utf8proc (NFC, Unicode categories) and cpp-httplib (OpenAI-compatible transport) ship
# pkg-config files only on Debian.
if(NOT TARGET PkgConfig::utf8proc)
  pkg_check_modules(utf8proc REQUIRED IMPORTED_TARGET GLOBAL libutf8proc)
endif()
if(NOT TARGET PkgConfig::httplib)
  pkg_check_modules(httplib REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
endif()
