// SPDX-License-Identifier: Apache-2.0
// Run-time dispatch: the generic table is always there, the active table is the best one the
// CPU supports, and every ISA the CPU has is actually registered (so the per-ISA tests of the
// other files really ran it, rather than silently testing only the reference).
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include "kernel_test_support.hpp"

using namespace edgecloud::testing;

TEST(Dispatch, GenericIsAlwaysLastAndActiveIsFirst) {
  const auto tables = k::supported_tables();
  ASSERT_FALSE(tables.empty());
  EXPECT_STREQ(tables.back()->isa, "generic");
  const char* forced = std::getenv("EDGECLOUD_ISA");
  if (!forced || !*forced) EXPECT_EQ(&k::active_table(), tables.front());
  EXPECT_STREQ(k::active_isa(), k::active_table().isa);
}

TEST(Dispatch, EveryTableIsComplete) {
  for (const auto* t : k::supported_tables()) {
    EXPECT_TRUE(t->quantize_row_q8_0 && t->dequantize_row && t->matvec && t->matmul && t->rmsnorm &&
                t->rope_neox && t->softmax && t->silu_mul && t->attention_head)
        << t->isa;
  }
}

// The arch units are compiled into this test by cmake/kernels.cmake (or scripts/test-aarch64.sh);
// if one went missing, dispatch would silently fall back and the per-ISA tests would not run it.
TEST(Dispatch, EveryIsaOfThisCpuIsRegistered) {
#if defined(EDGECLOUD_KERNELS_NO_DISPATCH)
  GTEST_SKIP() << "built with EDGECLOUD_KERNELS_NO_DISPATCH";
#endif
#if !defined(__OPTIMIZE__) && !defined(__aarch64__)
  GTEST_SKIP()
      << "unoptimised build: the x86 SIMD units compile to nothing (see arch/x86_avx2.cpp)";
#endif
  std::set<std::string> isas;
  for (const auto* t : k::supported_tables()) isas.insert(t->isa);
  const uint32_t f = k::cpu_features();
  if (f & k::cpu_avx2) EXPECT_TRUE(isas.count("avx2"));
  if (f & k::cpu_avx512_vnni) EXPECT_TRUE(isas.count("avx512_vnni"));
  if (f & k::cpu_neon64) EXPECT_TRUE(isas.count("neon64"));
#if defined(__aarch64__)
  EXPECT_TRUE(f & k::cpu_neon64);
#endif
  std::string list;
  for (const auto& s : isas) list += s + " ";
  std::cout << "tables on this CPU: " << list << "(active: " << k::active_isa() << ")\n";
}

TEST(Dispatch, ForcedIsaNameIsHonoured) {
  // select_table() re-reads EDGECLOUD_ISA; the cache is reset by re-registering nothing new.
  const auto tables = k::supported_tables();
  for (const auto* t : tables) {
    ::setenv("EDGECLOUD_ISA", t->isa, 1);
    EXPECT_STREQ(k::detail::select_table()->isa, t->isa);
  }
  ::setenv("EDGECLOUD_ISA", "no-such-isa", 1);
  EXPECT_STREQ(k::detail::select_table()->isa, "generic");
  ::unsetenv("EDGECLOUD_ISA");
  EXPECT_EQ(k::detail::select_table(), tables.front());
}
