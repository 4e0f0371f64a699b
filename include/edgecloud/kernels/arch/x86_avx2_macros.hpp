// SPDX-License-Identifier: Apache-2.0
// The ISA macros of AVX2 + FMA + F16C and everything below, defined where the compiler flags
// did not (the unit enabled the instructions with a target pragma). xsimd reads them to
// decide which architectures it may instantiate. Included only by ../arch/x86_*.cpp.
#pragma once

#ifndef __AVX2__
#define __AVX2__ 1
#endif
#ifndef __AVX__
#define __AVX__ 1
#endif
#ifndef __FMA__
#define __FMA__ 1
#endif
#ifndef __F16C__
#define __F16C__ 1
#endif
#ifndef __SSE4_2__
#define __SSE4_2__ 1
#endif
#ifndef __SSE4_1__
#define __SSE4_1__ 1
#endif
#ifndef __SSSE3__
#define __SSSE3__ 1
#endif
#ifndef __SSE3__
#define __SSE3__ 1
#endif
