// SPDX-License-Identifier: Apache-2.0
// First include of every per-architecture unit, BEFORE its target pragma: the standard headers
// xsimd and the kernels use, the intrinsics headers, and edgecloud's own ISA-neutral kernel
// headers. Whatever inline code they define is thereby compiled for the consumer's baseline
// ISA, even in a unit whose kernels are compiled for AVX-512 (the linker keeps one copy of an
// inline function for the whole program and must never pick an AVX-512 one).
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#if defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#endif

#include "edgecloud/kernels/dispatch.hpp"
#include "edgecloud/kernels/reference.hpp"
#include "edgecloud/kernels/types.hpp"
