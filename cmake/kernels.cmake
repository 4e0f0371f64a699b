# SPDX-License-Identifier: Apache-2.0
# Run-time ISA dispatch for the header-only edgecloud target (included by the top-level
# CMakeLists.txt after add_library(edgecloud INTERFACE)). See docs/kernels.md.
#
# The per-architecture kernel units in include/edgecloud/kernels/arch/*.cpp need no compiler
# flags: each enables its ISA with a target pragma and compiles to nothing on other CPU
# families. They hold only internal-linkage code plus a static registrar, so several targets of
# one program may each carry them without duplicate symbols.
#  - Build tree: compiled once, as the OBJECT library edgecloud_kernel_units, whose objects are
#    linked into every target that links edgecloud::edgecloud (saves ~15 s of compilation per
#    test/example target).
#  - Install tree: the .cpp files themselves are INTERFACE sources, compiled into each consumer
#    target with that target's flags (install(DIRECTORY include/) ships them).
set(_ec_kernel_units x86_avx2.cpp x86_avx512_vnni.cpp arm_neon64.cpp)
set(_ec_kernel_unit_paths "")
foreach(_unit IN LISTS _ec_kernel_units)
  list(APPEND _ec_kernel_unit_paths ${CMAKE_CURRENT_SOURCE_DIR}/include/edgecloud/kernels/arch/${_unit})
  target_sources(edgecloud INTERFACE $<INSTALL_INTERFACE:include/edgecloud/kernels/arch/${_unit}>)
endforeach()

add_library(edgecloud_kernel_units OBJECT ${_ec_kernel_unit_paths})
target_compile_features(edgecloud_kernel_units PRIVATE cxx_std_20)
target_include_directories(edgecloud_kernel_units PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include)
target_link_libraries(edgecloud_kernel_units PRIVATE xsimd)
set_target_properties(edgecloud_kernel_units PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_sources(edgecloud INTERFACE $<BUILD_INTERFACE:$<TARGET_OBJECTS:edgecloud_kernel_units>>)
