# SPDX-License-Identifier: Apache-2.0
# Run-time ISA dispatch for the header-only edgecloud target (included by the top-level
# CMakeLists.txt after add_library(edgecloud INTERFACE)). Each per-architecture kernel unit in
# include/edgecloud/kernels/arch/ is an INTERFACE source: CMake compiles it into every target
# that links edgecloud::edgecloud, with that target's flags and no extra ones (each unit
# enables its ISA with a target pragma and compiles to nothing on other CPUs families). The
# units only hold internal-linkage code plus a static registrar, so several targets of one
# program may each carry them. See docs/kernels.md.
set(_ec_kernel_units x86_avx2.cpp x86_avx512_vnni.cpp arm_neon64.cpp)
foreach(_unit IN LISTS _ec_kernel_units)
  target_sources(edgecloud INTERFACE
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include/edgecloud/kernels/arch/${_unit}>
    $<INSTALL_INTERFACE:include/edgecloud/kernels/arch/${_unit}>)
endforeach()
