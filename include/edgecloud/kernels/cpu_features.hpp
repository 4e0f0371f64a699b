// SPDX-License-Identifier: Apache-2.0
// Run-time CPU feature detection for kernel dispatch (CPUID + XGETBV on x86-64, compile-time
// on aarch64 where NEON is baseline). Compiled with the consumer's flags, so it is safe to call
// on any CPU. xsimd 8.1 does not report AVX-512 VNNI, hence this small own probe.
#pragma once

#include <cstdint>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define EDGECLOUD_KERNELS_X86 1
#endif

namespace edgecloud::kernels {

// Bit set of what a kernel table needs. Each bit implies the OS saves the registers involved.
enum cpu_feature : uint32_t {
  cpu_avx2 = 1u << 0,         // AVX2 + FMA + F16C (Haswell, Zen 1 and later)
  cpu_avx512 = 1u << 1,       // AVX-512 F/BW/DQ/VL/CD (Skylake-X, Zen 4 and later)
  cpu_avx512_vnni = 1u << 2,  // AVX-512 VNNI vpdpbusd (Cascade Lake, Ice Lake, Zen 4)
  cpu_avx512_bf16 = 1u << 3,  // AVX-512 BF16 (Cooper Lake, Zen 4)
  cpu_neon64 = 1u << 4,       // AArch64 Advanced SIMD
};

namespace detail {

#if defined(EDGECLOUD_KERNELS_X86)
inline uint64_t read_xcr0() noexcept {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
#endif

inline uint32_t probe_cpu_features() noexcept {
  uint32_t features = 0;
#if defined(EDGECLOUD_KERNELS_X86)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28),
             f16c = c & (1u << 29);
  if (!osxsave || !avx) return 0;
  const uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;              // XMM and YMM state
  const bool os_zmm = os_ymm && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & (1u << 5);
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 28)) &&
                      (b & (1u << 30)) && (b & (1u << 31));  // F, DQ, CD, BW, VL
  const bool vnni = c & (1u << 11);
  __cpuid_count(7, 1, a, b, c, d);
  const bool bf16 = a & (1u << 5);
  if (os_ymm && avx2 && fma && f16c) features |= cpu_avx2;
  if (os_zmm && avx512 && (features & cpu_avx2)) {
    features |= cpu_avx512;
    if (vnni) features |= cpu_avx512_vnni;
    if (bf16) features |= cpu_avx512_bf16;
  }
#elif defined(__aarch64__)
  features |= cpu_neon64;
#endif
  return features;
}

}  // namespace detail

// Features of the CPU this process runs on (probed once).
inline uint32_t cpu_features() noexcept {
  static const uint32_t features = detail::probe_cpu_features();
  return features;
}

}  // namespace edgecloud::kernels
